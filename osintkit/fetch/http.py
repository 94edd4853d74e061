"""Fetch stage: a safe HTTP client on requests for hostile URLs.

- SSRF guard: every hop's host is resolved and refused when any address is not public
  (private, loopback, link-local, multicast, reserved, unspecified, shared, and v4 hidden
  in v6 forms), unless `allow_private`. The connection is then re-checked against the
  address it really reached (`SafeAdapter`), so a DNS answer that changes between the
  check and the connect (DNS rebinding) is refused too. Through a proxy the proxy
  connects, so only the first check applies, and a name the proxy resolves itself
  (socks5h, .onion) is let through.
- Caps: connect and read timeouts, a total time cap over the whole exchange (every hop
  and retry, response headers included: a watchdog closes the socket of a server that
  trickles its headers), a byte cap enforced while streaming to a temp file (renamed by
  the caller only once complete).
- Fail fast: retries with exponential backoff only for timeouts, 429 and 5xx (honouring
  a bounded `Retry-After`); a refused connection or a name that does not resolve fails
  at once, and later requests to that host in the same client fail without trying.
  Redirects are followed by hand (each hop checked), with a limit and loop detection.
- Every request and response is handed to a `recorder` (the WARC writer).
"""

from __future__ import annotations

import contextlib
import email.utils
import ipaddress
import os
import re
import socket
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from osintkit import __version__, errors
from osintkit.errors import FetchError
from osintkit.fileio import digests

USER_AGENT = f"osintkit/{__version__} (evidence capture; +https://github.com/osintkit)"
SELECTED_HEADERS = ("Date", "Last-Modified", "ETag", "Content-Type", "Content-Length", "Server")
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
RETRY_CODES = frozenset({429, 500, 502, 503, 504})
CHUNK = 64 * 1024
ERROR_BODY_CAP = 256 * 1024  # bodies of redirects and error pages kept for the WARC
HEAD_BYTES = 64

Recorder = Callable[["Exchange"], None]


# ------------------------------------------------------------------ SSRF guard
def _unwrap(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> Any:
    """The IPv4 address hidden in IPv4-mapped, 6to4 and Teredo IPv6 forms."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return ip.ipv4_mapped
        if ip.sixtofour:
            return ip.sixtofour
        if ip.teredo:
            return ip.teredo[1]
    return ip


def address_problem(ip_text: str) -> str | None:
    """Why an address must not be fetched ("loopback", "private"...), None when public."""
    try:
        ip = _unwrap(ipaddress.ip_address(ip_text.split("%", 1)[0]))
    except ValueError:
        return "not an IP address"
    for attr in ("is_unspecified", "is_loopback", "is_link_local", "is_multicast",
                 "is_reserved", "is_private"):
        if getattr(ip, attr):
            return attr.removeprefix("is_").replace("_", "-")
    if not ip.is_global:  # shared (100.64/10), documentation, benchmarking ranges...
        return "non-public"
    return None


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses may be fetched: public only, plus `allow_networks` exemptions."""

    allow_private: bool = False
    allow_networks: tuple[Any, ...] = ()

    @classmethod
    def make(cls, allow_private: bool = False, allow_networks: Iterable[str] = ()) -> AddressPolicy:
        """Build a policy; `allow_networks` are CIDRs ("10.1.2.0/24") that are allowed anyway."""
        nets = tuple(ipaddress.ip_network(n, strict=False) for n in allow_networks)
        return cls(allow_private, nets)

    def problem(self, ip_text: str) -> str | None:
        """Why this address is refused, or None."""
        if self.allow_private:
            return None
        problem = address_problem(ip_text)
        if problem and self.allow_networks:
            ip = ipaddress.ip_address(ip_text.split("%", 1)[0])
            if any(ip.version == n.version and ip in n for n in self.allow_networks):
                return None
        return problem

    def check_host(self, url: str, host: str, port: int, proxied: bool) -> None:
        """Resolve `host` and raise FetchError(blocked) when any address is refused."""
        if self.allow_private:
            return
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            if proxied:  # the proxy resolves it (socks5h, .onion): nothing local to check
                return
            raise FetchError(f"{url}: cannot resolve host {host!r} ({exc})",
                             code=errors.NETWORK) from None
        for info in infos:
            ip = str(info[4][0])
            problem = self.problem(ip)
            if problem:
                what = f"{ip} is" if ip == host else f"{host} resolves to {ip},"
                raise FetchError(f"{url}: refused, {what} a {problem} address "
                                 "(use --allow-private to fetch it)", code=errors.BLOCKED)


_deadline = threading.local()  # .at: monotonic time the current exchange must end by


class _PeerCheck:
    """Mixin for urllib3 connections: refuse the socket if its peer is not allowed, and
    hold the exchange's total deadline while the response headers arrive."""

    policy: AddressPolicy = AddressPolicy()

    def getresponse(self) -> Any:
        # http.client reads the headers line by line, each read within the read timeout:
        # a server sending one line every 1.5 s defeats a 2 s timeout. A timer closes the
        # socket when the exchange's deadline passes, which ends the read at once.
        at = getattr(_deadline, "at", None)
        sock = getattr(self, "sock", None)
        flag = getattr(_deadline, "cut", None)
        if at is None or sock is None or flag is None:
            return super().getresponse()  # type: ignore[misc]

        def cut() -> None:  # runs in the timer's thread: mark the caller's flag
            flag[0] = True
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

        timer = threading.Timer(max(0.0, at - time.monotonic()), cut)
        timer.daemon = True
        timer.start()
        try:
            return super().getresponse()  # type: ignore[misc]
        finally:
            timer.cancel()

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # type: ignore[misc]
        try:
            peer = str(sock.getpeername()[0])
        except OSError:
            peer = ""
        problem = self.policy.problem(peer) if peer else None
        if problem:
            sock.close()
            raise BlockedAddress(f"connected to {peer}, a {problem} address")
        return sock


class BlockedAddress(OSError):
    """Raised inside urllib3 when a connection reached a refused address."""


class SafeAdapter(HTTPAdapter):
    """requests adapter whose direct connections are pinned to allowed peer addresses."""

    def __init__(self, policy: AddressPolicy, **kwargs: Any) -> None:
        conn = type("GuardedHTTPConnection", (_PeerCheck, HTTPConnection), {"policy": policy})
        sconn = type("GuardedHTTPSConnection", (_PeerCheck, HTTPSConnection), {"policy": policy})
        self._pools = {
            "http": type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": conn}),
            "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": sconn}),
        }
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(self._pools)


# ------------------------------------------------------------------ results
@dataclass
class Exchange:
    """One request and its response (if any), as the WARC records them."""

    url: str
    method: str
    request_headers: list[tuple[str, str]]
    started_at: str
    status: int | None = None
    reason: str = ""
    http_version: str = "HTTP/1.1"
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    body_path: Path | None = None  # raw body as received (content-encoding kept)
    peer: str | None = None
    error: str | None = None


@dataclass
class Response:
    """A completed download: the decoded body is in `path` (a temp file the caller owns)."""

    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    redirects: list[str]
    path: Path
    size: int
    sha256: str
    md5: str
    head: bytes
    fetched_at: str
    ip: str | None = None  # the address that served the final response (direct connections)

    def selected_headers(self) -> dict[str, str]:
        """The headers kept in the manifest (Date, Last-Modified, ETag, Content-Type...)."""
        low = {k.lower(): v for k, v in self.headers.items()}
        return {h: low[h.lower()] for h in SELECTED_HEADERS if h.lower() in low}


class _Retry(Exception):
    def __init__(self, error: FetchError, wait: float | None = None) -> None:
        super().__init__(error.message)
        self.error, self.wait = error, wait


def now_utc() -> str:
    """The current UTC time, ISO 8601 with 'Z'."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def redact_url(url: str | None) -> str | None:
    """A URL with its password replaced by '***' (proxy URLs in logs and manifests)."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.rsplit("@", 1)
        user = netloc[0].split(":", 1)[0]
        return parts._replace(netloc=f"{user}:***@{netloc[1]}").geturl()
    except ValueError:
        return re.sub(r"//([^:/@]*):[^@/]*@", r"//\1:***@", url)


def check_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL; FetchError for other schemes or bad URLs."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchError(f"{url}: malformed URL ({exc})", code=errors.UNSUPPORTED) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        what = f"scheme {scheme + '://'!r}" if scheme else "no scheme"
        raise FetchError(f"{url}: unsupported URL, {what} (only http:// and https://)",
                         code=errors.UNSUPPORTED)
    if not parts.hostname:
        raise FetchError(f"{url}: malformed URL (no host)", code=errors.UNSUPPORTED)
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80)


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta seconds or HTTP date), None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _fmt_bytes(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return str(n)


# ------------------------------------------------------------------ the client
class HttpClient:
    """GET with SSRF checks, caps, retries and manual redirects. Use as a context manager."""

    def __init__(self, *, allow_private: bool = False, allow_networks: Iterable[str] = (),
                 proxy: str | None = None, timeout: float = 30.0,
                 total_timeout: float = 600.0, max_bytes: int = 200_000_000,
                 retries: int = 2, backoff: float = 0.5, max_retry_after: float = 30.0,
                 max_redirects: int = 10, recorder: Recorder | None = None) -> None:
        self.policy = AddressPolicy.make(allow_private, allow_networks)
        self.timeout, self.total_timeout, self.max_bytes = timeout, total_timeout, max_bytes
        self.retries, self.backoff, self.max_retry_after = retries, backoff, max_retry_after
        self.max_redirects, self.recorder = max_redirects, recorder
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept": "*/*",
                                     "Accept-Encoding": "gzip, deflate, identity"})
        for prefix in ("http://", "https://"):  # also with allow_private: the deadline watchdog
            self.session.mount(prefix, SafeAdapter(self.policy))
        self.proxies = {"http": proxy, "https": proxy} if proxy else {}
        self.dead_hosts: dict[str, str] = {}  # "host:port" -> why it failed (refused, no DNS)

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close pooled connections."""
        self.session.close()

    def _proxied(self, url: str) -> bool:
        if self.proxies:
            return True
        env = requests.utils.get_environ_proxies(url) if self.session.trust_env else {}
        return bool(requests.utils.select_proxy(url, env))

    def get(self, url: str, dest_dir: Path, *, max_bytes: int | None = None) -> Response:
        """Download `url` (following redirects) into a temp file in `dest_dir`.

        The whole exchange (every hop and retry) ends within `total_timeout`.
        Raises FetchError with code network/timeout/too_large/blocked/unsupported/not_found.
        """
        cap = self.max_bytes if max_bytes is None else max_bytes
        chain = [url]
        current = url
        start = time.monotonic()
        while True:
            _, host, port = check_url(current)
            if f"{host}:{port}" in self.dead_hosts:
                raise FetchError(f"{current}: {self.dead_hosts[f'{host}:{port}']} (failed "
                                 "earlier in this capture, not tried again)",
                                 code=errors.NETWORK)
            self._check_host(current, host, port)
            result = self._hop_with_retries(current, dest_dir, cap, start)
            if isinstance(result, Response):
                result.url, result.redirects = url, chain[1:]
                return result
            nxt = _redirect_target(current, result)
            if nxt in chain:
                loop = " -> ".join([*chain[chain.index(nxt):], nxt])
                raise FetchError(f"{url}: redirect loop ({loop})", code=errors.NETWORK)
            if len(chain) > self.max_redirects:
                raise FetchError(f"{url}: more than {self.max_redirects} redirects",
                                 code=errors.NETWORK)
            chain.append(nxt)
            current = nxt

    def post(self, url: str, data: bytes, content_type: str, *,
             max_bytes: int = 1_000_000) -> tuple[int, dict[str, str], bytes]:
        """One POST (no redirects, no retries), SSRF-checked and capped: (status, headers,
        body). Used for RFC 3161 timestamp requests."""
        _, host, port = check_url(url)
        self._check_host(url, host, port)
        try:
            resp = self.session.post(url, data=data, headers={"Content-Type": content_type},
                                     stream=True, allow_redirects=False,
                                     timeout=(self.timeout, self.timeout),
                                     proxies=self.proxies or None)
        except (requests.RequestException, ValueError) as exc:
            self._raise_request_error(url, exc)
        with resp:
            body = b""
            for chunk in resp.iter_content(CHUNK):
                body += chunk
                if len(body) > max_bytes:
                    raise FetchError(f"{url}: answer over {_fmt_bytes(max_bytes)}",
                                     code=errors.TOO_LARGE)
            return resp.status_code, dict(resp.headers), body

    def _check_host(self, url: str, host: str, port: int) -> None:
        try:
            self.policy.check_host(url, host, port, self._proxied(url))
        except FetchError as exc:
            if "cannot resolve host" in exc.message:
                self.dead_hosts[f"{host}:{port}"] = "cannot resolve host"
            raise

    def _hop_with_retries(self, url: str, dest_dir: Path, cap: int,
                          start: float) -> Response | str:
        attempt = 0
        while True:
            try:
                return self._hop(url, dest_dir, cap, start)
            except _Retry as retry:
                left = start + self.total_timeout - time.monotonic()
                if attempt >= self.retries:
                    raise FetchError(f"{retry.error.message} (after {attempt + 1} attempts)",
                                     code=retry.error.code) from None
                wait = retry.wait if retry.wait is not None else self.backoff * 2 ** attempt
                if wait > self.max_retry_after:
                    raise FetchError(
                        f"{retry.error.message}; the server asks to retry after {wait:.0f} s, "
                        f"more than the {self.max_retry_after:.0f} s we wait",
                        code=retry.error.code) from None
                if wait >= left:
                    raise FetchError(f"{retry.error.message} (no time left to retry within "
                                     f"the {self.total_timeout:g} s total time cap)",
                                     code=retry.error.code) from None
                time.sleep(wait)
                attempt += 1

    def _hop(self, url: str, dest_dir: Path, cap: int, start: float) -> Response | str:
        """One request: a Response, a redirect target (str), or an exception."""
        ex = Exchange(url, "GET", list(self.session.headers.items()), now_utc())
        left = start + self.total_timeout - time.monotonic()
        if left <= 0:
            raise FetchError(f"{url}: took longer than the {self.total_timeout:g} s total time "
                             "cap", code=errors.TIMEOUT)
        _deadline.at, _deadline.cut = start + self.total_timeout, [False]
        try:
            resp = self.session.get(url, stream=True, allow_redirects=False,
                                    timeout=(min(self.timeout, left), min(self.timeout, left)),
                                    proxies=self.proxies or None)
        except (requests.RequestException, ValueError) as exc:
            ex.error = _reason(exc)
            self._record(ex)
            if _deadline.cut[0]:
                raise FetchError(f"{url}: no complete response within the "
                                 f"{self.total_timeout:g} s total time cap (the server sent "
                                 "its headers too slowly)", code=errors.TIMEOUT) from None
            self._raise_request_error(url, exc)
        finally:
            _deadline.at = None
        if _deadline.cut[0]:  # the watchdog ended a header read mid-way
            resp.close()
            ex.error = "headers too slow"
            self._record(ex)
            raise FetchError(f"{url}: no complete response within the {self.total_timeout:g} s "
                             "total time cap (the server sent its headers too slowly)",
                             code=errors.TIMEOUT)
        try:
            ex.request_headers = list(resp.request.headers.items())
            ex.status, ex.reason = resp.status_code, resp.reason or ""
            ex.http_version = "HTTP/1.0" if resp.raw.version == 10 else "HTTP/1.1"
            ex.response_headers = list(resp.raw.headers.items())
            ex.peer = _peer(resp)
            return self._handle(resp, ex, dest_dir, cap, start)
        finally:
            resp.close()

    def _raise_request_error(self, url: str, exc: Exception) -> None:
        try:
            _raise_request_error(url, exc, self.timeout)
        except FetchError as err:
            reason = _reason(exc)
            if reason in _DEAD_HOST_REASONS:  # the host is down or unknown: skip it from now on
                with contextlib.suppress(FetchError):
                    _, host, port = check_url(url)
                    self.dead_hosts[f"{host}:{port}"] = f"connection failed ({reason})"
            raise err from None

    def _handle(self, resp: requests.Response, ex: Exchange, dest_dir: Path, cap: int,
                start: float) -> Response | str:
        url, status = ex.url, ex.status or 0
        if not 200 <= status < 300 or status in (204, 205, 206):  # no whole body to keep
            self._keep_small_body(resp, ex, dest_dir, start)
            location = resp.headers.get("Location")
            if status in REDIRECT_CODES and location:
                return location
            err = FetchError(f"{url}: HTTP {status} {ex.reason}".rstrip(),
                             code=errors.NOT_FOUND if status in (404, 410) else errors.NETWORK)
            if status in RETRY_CODES:
                raise _Retry(err, retry_after(resp.headers.get("Retry-After")))
            raise err
        declared = resp.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            self._record(ex)
            raise FetchError(f"{url}: {_fmt_bytes(int(declared))} is over the size cap of "
                             f"{_fmt_bytes(cap)} (--max-bytes)", code=errors.TOO_LARGE)
        raw_path = self._download(resp, ex, dest_dir, cap, start)
        return self._finish(resp, ex, raw_path, dest_dir, cap)

    def _keep_small_body(self, resp: requests.Response, ex: Exchange, dest_dir: Path,
                         start: float) -> None:
        with contextlib.suppress(FetchError):
            ex.body_path = self._download(resp, ex, dest_dir, ERROR_BODY_CAP, start,
                                          record_errors=False)
        self._record(ex)
        _unlink(ex.body_path)

    def _download(self, resp: requests.Response, ex: Exchange, dest_dir: Path, cap: int,
                  start: float, record_errors: bool = True) -> Path:
        fd, name = tempfile.mkstemp(prefix=".part-", dir=dest_dir)
        path = Path(name)
        try:
            with os.fdopen(fd, "wb") as fh:
                _stream(resp, fh, ex.url, cap, start + self.total_timeout,
                        self.timeout, self.total_timeout)
        except FetchError as exc:
            if record_errors:
                ex.error = exc.message
                ex.body_path = path
                self._record(ex)
            _unlink(path)
            raise
        except BaseException:
            _unlink(path)
            raise
        return path

    def _finish(self, resp: requests.Response, ex: Exchange, raw_path: Path, dest_dir: Path,
                cap: int) -> Response:
        ex.body_path = raw_path
        self._record(ex)
        encoding = (resp.headers.get("Content-Encoding") or "identity").strip().lower()
        try:
            body = _decode(raw_path, encoding, dest_dir, cap, ex.url)
        finally:
            if encoding not in ("identity", ""):
                _unlink(raw_path)
        got = digests(body, head=HEAD_BYTES)
        size, sha, md5, head = got.size, got.sha256, got.md5, got.head
        return Response(url=ex.url, final_url=ex.url, status=ex.status or 0,
                        headers=dict(resp.headers), redirects=[], path=body, size=size,
                        sha256=sha, md5=md5, head=head, fetched_at=ex.started_at, ip=ex.peer)

    def _record(self, ex: Exchange) -> None:
        if self.recorder is not None:
            self.recorder(ex)


# ------------------------------------------------------------------ streaming helpers
def _peer(resp: requests.Response) -> str | None:
    """The IP address the response came from (the proxy's, when one is used)."""
    try:
        return str(resp.raw.connection.sock.getpeername()[0])
    except (AttributeError, OSError, IndexError, TypeError):
        return None


def _reason(exc: BaseException) -> str:
    seen = exc
    while seen.__context__ is not None or seen.__cause__ is not None:
        nxt = seen.__cause__ or seen.__context__
        if isinstance(nxt, BlockedAddress):
            return str(nxt)
        seen = nxt  # type: ignore[assignment]
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "No route to host",
                   "timed out", "Connection reset", "Temporary failure in name resolution",
                   "No address associated with hostname"):
        if marker in text:
            return marker
    return " ".join(text.split())[:200] or type(exc).__name__


_DEAD_HOST_REASONS = frozenset({"Connection refused", "Name or service not known",
                                "No route to host", "Temporary failure in name resolution",
                                "No address associated with hostname"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _redirect_target(current: str, location: str) -> str:
    """The absolute URL a Location header points to; FetchError when it is malformed."""
    if _CONTROL.search(location.strip()):
        raise FetchError(f"{current}: redirect to a malformed Location "
                         f"{location.encode('unicode_escape').decode()[:200]!r} "
                         "(control characters)", code=errors.UNSUPPORTED)
    try:
        return urljoin(current, location.strip())
    except ValueError as exc:
        raise FetchError(f"{current}: redirect to a malformed Location ({exc})",
                         code=errors.UNSUPPORTED) from None


def _raise_request_error(url: str, exc: Exception, timeout: float) -> None:
    if not isinstance(exc, requests.RequestException):  # ValueError from http.client
        raise FetchError(f"{url}: malformed URL ({' '.join(str(exc).split())[:200]})",
                         code=errors.UNSUPPORTED) from None
    reason = _reason(exc)
    if reason.startswith("connected to "):
        raise FetchError(f"{url}: refused, {reason} (use --allow-private to fetch it)",
                         code=errors.BLOCKED) from None
    if isinstance(exc, requests.Timeout):
        raise _Retry(FetchError(f"{url}: timed out connecting or waiting for a response "
                                f"({timeout:g} s)", code=errors.TIMEOUT))
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.InvalidSchema):
        raise FetchError(f"{url}: malformed URL ({reason})", code=errors.UNSUPPORTED) from None
    if isinstance(exc, requests.exceptions.SSLError):  # not transient: no retry
        m = re.search(r"certificate verify failed[^'\")\]]*", str(exc))
        detail = re.sub(r"\s*\(_ssl\.c:\d+$", "", m.group(0).strip()) if m else reason
        raise FetchError(f"{url}: TLS failed ({detail})",
                         code=errors.NETWORK) from None
    if isinstance(exc, requests.exceptions.ProxyError):
        raise FetchError(f"{url}: proxy failed ({reason})", code=errors.NETWORK) from None
    # Refused, unresolvable, unreachable, reset: retrying the same host seconds later
    # only multiplies the wait (the 45 s article); timeouts and 5xx are retried.
    raise FetchError(f"{url}: connection failed ({reason})", code=errors.NETWORK) from None


def _stream(resp: requests.Response, fh: BinaryIO, url: str, cap: int, deadline: float,
            timeout: float, total: float) -> None:
    """Copy the raw body to `fh`; enforce the byte cap and the total deadline per chunk."""
    import urllib3.exceptions as u3

    raw = resp.raw
    size = 0
    try:
        while True:
            if time.monotonic() > deadline:
                raise FetchError(f"{url}: download took longer than the {total:g} s total "
                                 f"time cap ({_fmt_bytes(size)} received)", code=errors.TIMEOUT)
            # read1 returns what has arrived: a trickling server cannot hold us in one read.
            chunk = raw.read1(CHUNK, decode_content=False)
            if not chunk:
                break
            size += len(chunk)
            if size > cap:
                raise FetchError(f"{url}: body over the size cap of {_fmt_bytes(cap)} "
                                 "(--max-bytes)", code=errors.TOO_LARGE)
            fh.write(chunk)
    except (u3.ReadTimeoutError, TimeoutError):
        raise FetchError(f"{url}: timed out, no data for {timeout:g} s "
                         f"({_fmt_bytes(size)} received)", code=errors.TIMEOUT) from None
    except (u3.ProtocolError, u3.IncompleteRead, ConnectionError) as exc:
        raise FetchError(f"{url}: connection broken after {_fmt_bytes(size)} ({_reason(exc)})",
                         code=errors.TRUNCATED) from None
    declared = resp.headers.get("Content-Length", "")
    if declared.isdigit() and "Content-Encoding" not in resp.headers and size < int(declared):
        raise FetchError(f"{url}: truncated, got {size} of {declared} bytes",
                         code=errors.TRUNCATED)


def _decode(raw_path: Path, encoding: str, dest_dir: Path, cap: int, url: str) -> Path:
    """The body with its Content-Encoding removed (gzip/deflate), capped at `cap` bytes."""
    if encoding in ("identity", ""):
        return raw_path
    if encoding in ("gzip", "x-gzip"):
        dec = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        dec = zlib.decompressobj()
    else:
        raise FetchError(f"{url}: unsupported Content-Encoding {encoding!r}",
                         code=errors.UNSUPPORTED)
    fd, name = tempfile.mkstemp(prefix=".part-", dir=dest_dir)
    out_path, size = Path(name), 0
    try:
        with os.fdopen(fd, "wb") as out, raw_path.open("rb") as src:
            while chunk := src.read(CHUNK):
                # max_length bounds each step, so a compression bomb cannot fill memory.
                data = dec.decompress(chunk, CHUNK)
                while True:
                    size += len(data)
                    if size > cap:
                        raise FetchError(f"{url}: decoded body over the size cap of "
                                         f"{_fmt_bytes(cap)} (--max-bytes)", code=errors.TOO_LARGE)
                    out.write(data)
                    if not dec.unconsumed_tail:
                        break
                    data = dec.decompress(dec.unconsumed_tail, CHUNK)
    except zlib.error as exc:
        _unlink(out_path)
        raise FetchError(f"{url}: corrupt {encoding} body ({exc})", code=errors.CORRUPT) from None
    except BaseException:
        _unlink(out_path)
        raise
    return out_path


def _unlink(path: Path | None) -> None:
    if path is not None:
        with contextlib.suppress(OSError):
            path.unlink()


def parse_size(text: str) -> int:
    """Bytes from '200M', '1.5G', '500k', '1000' (decimal units); ValueError if malformed."""
    text = text.strip().upper().removesuffix("B")
    factor = {"K": 10**3, "M": 10**6, "G": 10**9}.get(text[-1:], 1)
    number = text[:-1] if factor != 1 else text
    value = int(float(number) * factor)
    if value <= 0:
        raise ValueError(f"size must be positive: {text!r}")
    return value
