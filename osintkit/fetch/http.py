"""Fetch stage: a safe HTTP client on requests for hostile URLs.

- SSRF guard (guard.py): every hop's host is resolved and refused when any address is
  not public, unless `allow_private`; the connection is re-checked against the address
  it really reached (DNS rebinding). Through a proxy the proxy connects, so only the
  first check applies, and a name the proxy resolves itself (socks5h, .onion) is let
  through.
- Caps: connect and read timeouts, a total time cap over the whole exchange (every hop
  and retry, every DNS lookup (resolver.py: a resolver that does not answer cannot hold
  the fetch), response headers included: a watchdog closes the socket of a server that
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
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import requests

from osintkit import __version__, errors
from osintkit.errors import FetchError
from osintkit.fetch.guard import DEADLINE, AddressPolicy, SafeAdapter
from osintkit.fetch.transfer import (
    CHUNK,
    RetryLater,
    check_url,
    decode_body,
    fmt_bytes,
    is_dead_host,
    now_utc,
    peer_of,
    raise_request_error,
    reason_of,
    redact_url,
    redirect_target,
    retry_after,
    stream_body,
    unlink_quietly,
)
from osintkit.fileio import digests

__all__ = ["AddressPolicy", "Exchange", "HttpClient", "Response", "check_url", "now_utc",
           "redact_url"]

USER_AGENT = f"osintkit/{__version__} (evidence capture; +https://github.com/osintkit)"
SELECTED_HEADERS = ("Date", "Last-Modified", "ETag", "Content-Type", "Content-Length", "Server")
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
RETRY_CODES = frozenset({429, 500, 502, 503, 504})
ERROR_BODY_CAP = 256 * 1024  # bodies of redirects and error pages kept for the WARC
HEAD_BYTES = 64

Recorder = Callable[["Exchange"], None]


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
            left = start + self.total_timeout - time.monotonic()
            if left <= 0:
                raise FetchError(f"{current}: took longer than the {self.total_timeout:g} s "
                                 "total time cap", code=errors.TIMEOUT)
            self._check_host(current, host, port, min(self.timeout, left))
            result = self._hop_with_retries(current, dest_dir, cap, start)
            if isinstance(result, Response):
                result.url, result.redirects = url, chain[1:]
                return result
            nxt = redirect_target(current, result)
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
        self._check_host(url, host, port, self.timeout)
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
                    raise FetchError(f"{url}: answer over {fmt_bytes(max_bytes)}",
                                     code=errors.TOO_LARGE)
            return resp.status_code, dict(resp.headers), body

    def _check_host(self, url: str, host: str, port: int, timeout: float) -> None:
        try:
            self.policy.check_host(url, host, port, self._proxied(url), timeout)
        except FetchError as exc:
            if "cannot resolve host" in exc.message:  # unknown name or no answer in time
                slow = "DNS lookup timed out" in exc.message
                self.dead_hosts[f"{host}:{port}"] = ("cannot resolve host, DNS lookup timed "
                                                     "out" if slow else "cannot resolve host")
            raise

    def _hop_with_retries(self, url: str, dest_dir: Path, cap: int,
                          start: float) -> Response | str:
        attempt = 0
        while True:
            try:
                return self._hop(url, dest_dir, cap, start)
            except RetryLater as retry:
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
        DEADLINE.at, DEADLINE.cut = start + self.total_timeout, [False]
        try:
            resp = self.session.get(url, stream=True, allow_redirects=False,
                                    timeout=(min(self.timeout, left), min(self.timeout, left)),
                                    proxies=self.proxies or None)
        except (requests.RequestException, ValueError) as exc:
            ex.error = reason_of(exc)
            self._record(ex)
            if DEADLINE.cut[0]:
                raise FetchError(f"{url}: no complete response within the "
                                 f"{self.total_timeout:g} s total time cap (the server sent "
                                 "its headers too slowly)", code=errors.TIMEOUT) from None
            self._raise_request_error(url, exc)
        finally:
            DEADLINE.at = None
        if DEADLINE.cut[0]:  # the watchdog ended a header read mid-way
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
            ex.peer = peer_of(resp)
            return self._handle(resp, ex, dest_dir, cap, start)
        finally:
            resp.close()

    def _raise_request_error(self, url: str, exc: Exception) -> None:
        try:
            raise_request_error(url, exc, self.timeout)
        except FetchError as err:
            reason = reason_of(exc)
            if is_dead_host(reason):  # the host is down or unknown: skip it from now on
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
                raise RetryLater(err, retry_after(resp.headers.get("Retry-After")))
            raise err
        declared = resp.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            self._record(ex)
            raise FetchError(f"{url}: {fmt_bytes(int(declared))} is over the size cap of "
                             f"{fmt_bytes(cap)} (--max-bytes)", code=errors.TOO_LARGE)
        raw_path = self._download(resp, ex, dest_dir, cap, start)
        return self._finish(resp, ex, raw_path, dest_dir, cap)

    def _keep_small_body(self, resp: requests.Response, ex: Exchange, dest_dir: Path,
                         start: float) -> None:
        with contextlib.suppress(FetchError):
            ex.body_path = self._download(resp, ex, dest_dir, ERROR_BODY_CAP, start,
                                          record_errors=False)
        self._record(ex)
        unlink_quietly(ex.body_path)

    def _download(self, resp: requests.Response, ex: Exchange, dest_dir: Path, cap: int,
                  start: float, record_errors: bool = True) -> Path:
        fd, name = tempfile.mkstemp(prefix=".part-", dir=dest_dir)
        path = Path(name)
        try:
            with os.fdopen(fd, "wb") as fh:
                stream_body(resp, fh, ex.url, cap, start + self.total_timeout,
                        self.timeout, self.total_timeout)
        except FetchError as exc:
            if record_errors:
                ex.error = exc.message
                ex.body_path = path
                self._record(ex)
            unlink_quietly(path)
            raise
        except BaseException:
            unlink_quietly(path)
            raise
        return path

    def _finish(self, resp: requests.Response, ex: Exchange, raw_path: Path, dest_dir: Path,
                cap: int) -> Response:
        ex.body_path = raw_path
        self._record(ex)
        encoding = (resp.headers.get("Content-Encoding") or "identity").strip().lower()
        try:
            body = decode_body(raw_path, encoding, dest_dir, cap, ex.url)
        finally:
            if encoding not in ("identity", ""):
                unlink_quietly(raw_path)
        got = digests(body, head=HEAD_BYTES)
        size, sha, md5, head = got.size, got.sha256, got.md5, got.head
        return Response(url=ex.url, final_url=ex.url, status=ex.status or 0,
                        headers=dict(resp.headers), redirects=[], path=body, size=size,
                        sha256=sha, md5=md5, head=head, fetched_at=ex.started_at, ip=ex.peer)

    def _record(self, ex: Exchange) -> None:
        if self.recorder is not None:
            self.recorder(ex)


