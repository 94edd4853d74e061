"""Fetch stage, the transfer helpers of the HTTP client (http.py): URLs checked and
redacted, bodies streamed under caps and decoded, request failures turned into one-line
FetchErrors (transient ones into `RetryLater`).
"""

from __future__ import annotations

import contextlib
import email.utils
import os
import re
import tempfile
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urljoin, urlsplit

import requests

from osintkit import errors
from osintkit.errors import FetchError
from osintkit.fetch.guard import BlockedAddress
from osintkit.fetch.resolver import DnsTimeout

CHUNK = 64 * 1024


class RetryLater(Exception):
    """A transient failure: the client waits (`wait` s, else its backoff) and tries again."""

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


def fmt_bytes(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return str(n)


def peer_of(resp: requests.Response) -> str | None:
    """The IP address the response came from (the proxy's, when one is used)."""
    try:
        return str(resp.raw.connection.sock.getpeername()[0])
    except (AttributeError, OSError, IndexError, TypeError):
        return None


def reason_of(exc: BaseException) -> str:
    seen = exc
    while seen.__context__ is not None or seen.__cause__ is not None:
        nxt = seen.__cause__ or seen.__context__
        if isinstance(nxt, BlockedAddress | DnsTimeout):
            return str(nxt)
        seen = nxt  # type: ignore[assignment]
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "No route to host",
                   "timed out", "Connection reset", "Temporary failure in name resolution",
                   "No address associated with hostname"):
        if marker in text:
            return marker
    return " ".join(text.split())[:200] or type(exc).__name__


DEAD_HOST_REASONS = frozenset({"Connection refused", "Name or service not known",
                                "No route to host", "Temporary failure in name resolution",
                                "No address associated with hostname"})


def is_dead_host(reason: str) -> bool:
    """Whether a failure (`reason_of`) means the host is down or its name unknown or not
    answered in time: later requests to it in the same capture fail without trying."""
    return reason in DEAD_HOST_REASONS or reason.startswith("DNS lookup timed out")


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def redirect_target(current: str, location: str) -> str:
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


def raise_request_error(url: str, exc: Exception, timeout: float) -> None:
    if not isinstance(exc, requests.RequestException):  # ValueError from http.client
        raise FetchError(f"{url}: malformed URL ({' '.join(str(exc).split())[:200]})",
                         code=errors.UNSUPPORTED) from None
    reason = reason_of(exc)
    if reason.startswith("connected to "):
        raise FetchError(f"{url}: refused, {reason} (use --allow-private to fetch it)",
                         code=errors.BLOCKED) from None
    if isinstance(exc, requests.Timeout):
        raise RetryLater(FetchError(f"{url}: timed out connecting or waiting for a response "
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


def stream_body(resp: requests.Response, fh: BinaryIO, url: str, cap: int, deadline: float,
            timeout: float, total: float) -> None:
    """Copy the raw body to `fh`; enforce the byte cap and the total deadline per chunk."""
    import urllib3.exceptions as u3

    raw = resp.raw
    size = 0
    try:
        while True:
            if time.monotonic() > deadline:
                raise FetchError(f"{url}: download took longer than the {total:g} s total "
                                 f"time cap ({fmt_bytes(size)} received)", code=errors.TIMEOUT)
            # read1 returns what has arrived: a trickling server cannot hold us in one read.
            chunk = raw.read1(CHUNK, decode_content=False)
            if not chunk:
                break
            size += len(chunk)
            if size > cap:
                raise FetchError(f"{url}: body over the size cap of {fmt_bytes(cap)} "
                                 "(--max-bytes)", code=errors.TOO_LARGE)
            fh.write(chunk)
    except (u3.ReadTimeoutError, TimeoutError):
        raise FetchError(f"{url}: timed out, no data for {timeout:g} s "
                         f"({fmt_bytes(size)} received)", code=errors.TIMEOUT) from None
    except (u3.ProtocolError, u3.IncompleteRead, ConnectionError) as exc:
        raise FetchError(f"{url}: connection broken after {fmt_bytes(size)} ({reason_of(exc)})",
                         code=errors.TRUNCATED) from None
    declared = resp.headers.get("Content-Length", "")
    if declared.isdigit() and "Content-Encoding" not in resp.headers and size < int(declared):
        raise FetchError(f"{url}: truncated, got {size} of {declared} bytes",
                         code=errors.TRUNCATED)


def decode_body(raw_path: Path, encoding: str, dest_dir: Path, cap: int, url: str) -> Path:
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
                                         f"{fmt_bytes(cap)} (--max-bytes)", code=errors.TOO_LARGE)
                    out.write(data)
                    if not dec.unconsumed_tail:
                        break
                    data = dec.decompress(dec.unconsumed_tail, CHUNK)
    except zlib.error as exc:
        unlink_quietly(out_path)
        raise FetchError(f"{url}: corrupt {encoding} body ({exc})", code=errors.CORRUPT) from None
    except BaseException:
        unlink_quietly(out_path)
        raise
    return out_path


def unlink_quietly(path: Path | None) -> None:
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
