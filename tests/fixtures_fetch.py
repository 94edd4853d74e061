"""A real HTTP server on 127.0.0.1 for tests (pytest plugin, auto-loaded by conftest.py).

Reusable by any stage that needs to serve pages or files (the VERIFY tests serve a claim
page with it). The server runs in a thread on port 0 (the OS picks a free port), is
polled until it accepts connections (no fixed ports, no sleeps), and is shut down at the
end of the test.

Fixtures
    http_server   function-scoped `TestServer` (fresh routes for every test)
    https_server  the same over TLS; its self-signed certificate is `tls_cert[0]` (trust it
                  with REQUESTS_CA_BUNDLE); skipped when openssl is missing
    socks_proxy   a minimal SOCKS5 proxy (`.url` is socks5h://127.0.0.1:<port>; `.aliases`
                  maps names it is asked for to addresses; `.targets` logs them)
    fetch_media   session-scoped dict of small generated media: "jpeg_a", "jpeg_b" (distinct
                  96x64 JPEGs), "jpeg_c" (160x120 JPEG), "png" (PNG), "mp4" (1 s MPEG-4)
For a server with a wider scope use the context manager: `with serve() as server: ...`.
In a test module: `from fixtures_fetch import Reply, TestServer, serve` (tests/ is on the
path). Remember the server is on 127.0.0.1: `fetch(..., allow_private=True)`.

Routes (configure per test; a route answers GET and HEAD for its exact path, the query
string is ignored; unknown paths get 404):
    server.route("/a.jpg", body=b"...", content_type="image/jpeg")   # static bytes
    server.route("/f", file=Path("x.mp4"))                           # a file's bytes
    server.route("/p", Reply(200, html_text, "text/html; charset=utf-8"))
    server.route("/flaky", [Reply(500), Reply(200, b"ok")])  # status sequence: the n-th
                                                   # request gets the n-th reply, then the last
    server.route("/busy", Reply(429, headers={"Retry-After": "1"}))
    server.redirect("/old", "/new", status=302)    # Location as given (relative or absolute)
    server.route("/slow", Reply(200, body, trickle=0.05, chunk=10))  # 10 bytes every 50 ms
    server.route("/stall", Reply(200, body, stall=5))   # headers, then nothing for 5 s
    server.route("/lie", Reply(200, body, content_length=10_000))   # lying Content-Length
    server.route("/eof", Reply(200, body, content_length=-1))   # no length, ends at close
    server.route("/ch", Reply(200, body, chunked=True))   # Transfer-Encoding: chunked
    server.route("/dyn", lambda req: Reply(200, req.headers["User-Agent"].encode()))
Then: `server.url("/a.jpg")` -> "http://127.0.0.1:<port>/a.jpg"; `server.hits("/flaky")`
-> number of requests; `server.requests` -> every `Request(method, path, headers,
absolute)` in order (`absolute` is True when the request line held a full URL, as a
client talking to a forward proxy sends: the server also acts as an HTTP proxy that
answers from its own routes).
"""

from __future__ import annotations

import contextlib
import io
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest


@dataclass
class Reply:
    """What the server answers: status, body, headers and how it sends the body."""

    status: int = 200
    body: bytes | str = b""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    trickle: float | None = None  # seconds between chunks
    chunk: int = 1  # bytes per trickled chunk
    stall: float = 0.0  # seconds of silence after the headers
    content_length: int | None = None  # override (a lying one); -1: none, close at the end
    chunked: bool = False  # Transfer-Encoding: chunked (4 KB chunks)

    def data(self) -> bytes:
        return self.body.encode("utf-8") if isinstance(self.body, str) else self.body


@dataclass(frozen=True)
class Request:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    absolute: bool  # request line held a full URL (proxy form)


Route = Reply | list[Reply] | Callable[[Request], Reply]


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: clients that give up or fail the TLS handshake are what tests provoke."""


class TestServer:
    """Routes, request log and URLs of a running test server."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    def __init__(self, host: str = "127.0.0.1", tls: tuple[Path, Path] | None = None) -> None:
        self._routes: dict[str, Route] = {}
        self._hits: dict[str, int] = {}
        self._lock = threading.Lock()
        self.requests: list[Request] = []
        self.stopping = threading.Event()
        self.httpd = _Server((host, 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.test_server = self  # type: ignore[attr-defined]
        self.host, self.port = host, self.httpd.server_address[1]
        self.scheme = "https" if tls else "http"
        if tls:  # handshake in the handler thread, so a bad client cannot block accept()
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True,
                                                do_handshake_on_connect=False)

    # ---- configuration
    def route(self, path: str, reply: Route | None = None, *, body: bytes | str = b"",
              content_type: str | None = None, status: int = 200,
              headers: dict[str, str] | None = None, file: Path | None = None) -> str:
        """Serve `reply` (or a Reply built from the keywords) at `path`; return its URL."""
        if reply is None:
            data = file.read_bytes() if file is not None else body
            reply = Reply(status, data, content_type, dict(headers or {}))
        with self._lock:
            self._routes[path] = reply
        return self.url(path)

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        """Answer `path` with a redirect to `location`; return the URL of `path`."""
        return self.route(path, Reply(status, b"", "text/plain", {"Location": location}))

    def url(self, path: str = "/") -> str:
        """Absolute URL of a path on this server."""
        return f"{self.scheme}://{self.host}:{self.port}{path}"

    def hits(self, path: str) -> int:
        """How many requests `path` received."""
        with self._lock:
            return self._hits.get(path, 0)

    # ---- serving
    def reply_for(self, req: Request) -> Reply:
        with self._lock:
            n = self._hits.get(req.path, 0)
            self._hits[req.path] = n + 1
            self.requests.append(req)
            route = self._routes.get(req.path)
        if route is None:
            return Reply(404, b"not found", "text/plain")
        if isinstance(route, list):
            return route[min(n, len(route) - 1)]
        if callable(route):
            return route(req)
        return route

    def start(self) -> TestServer:
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        deadline = time.monotonic() + 10
        while True:  # readiness polling: connect until the server accepts
            try:
                socket.create_connection((self.host, self.port), timeout=0.5).close()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("test HTTP server did not start") from None
                self.stopping.wait(0.01)

    def stop(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    """Answers from the routes of `self.server.test_server`."""

    protocol_version = "HTTP/1.1"

    @property
    def routes(self) -> TestServer:
        return self.server.test_server  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def _serve(self, head: bool) -> None:
        absolute = self.path.startswith(("http://", "https://"))
        path = urlsplit(self.path).path or "/"
        req = Request(self.command, path, dict(self.headers.items()), absolute)
        try:
            self._send(self.routes.reply_for(req), head)
        except OSError:  # broken pipe, reset, timeout: the client gave up, as tests make it
            self.close_connection = True

    def _headers(self, reply: Reply, data: bytes) -> None:
        self.send_response(reply.status)
        if reply.content_type:
            self.send_header("Content-Type", reply.content_type)
        for key, value in reply.headers.items():
            self.send_header(key, value)
        length = reply.content_length if reply.content_length is not None else len(data)
        if reply.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif length >= 0:
            self.send_header("Content-Length", str(length))
        else:  # no length: the body ends when the connection closes
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.flush()

    def _send(self, reply: Reply, head: bool) -> None:
        data = reply.data()
        self._headers(reply, data)
        if reply.chunked:
            parts = [data[i:i + 4096] for i in range(0, len(data), 4096)] + [b""]
            data = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts)
        if (reply.stall and self.routes.stopping.wait(reply.stall)) or head:
            return
        if reply.trickle is None:
            self.wfile.write(data)
        else:
            self._trickle(io.BytesIO(data), reply)
        if reply.content_length is not None and reply.content_length != len(data):
            self.close_connection = True

    def _trickle(self, src: io.BytesIO, reply: Reply) -> None:
        while chunk := src.read(reply.chunk):
            self.wfile.write(chunk)
            self.wfile.flush()
            if self.routes.stopping.wait(reply.trickle or 0):
                return


@contextlib.contextmanager
def serve(host: str = "127.0.0.1", tls: tuple[Path, Path] | None = None) -> Iterator[TestServer]:
    """A started TestServer (HTTPS with `tls=(cert, key)`), stopped on exit."""
    server = TestServer(host, tls).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def http_server() -> Iterator[TestServer]:
    """A real HTTP server on 127.0.0.1 (port 0) with per-test routes; see the module doc."""
    with serve() as server:
        yield server


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cert.pem, key.pem), made with openssl."""
    tmp = tmp_path_factory.mktemp("tls")
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                        "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(key), "-out", str(cert)], check=True,
                       capture_output=True, timeout=60)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"openssl cannot make a test certificate: {exc}")
    return cert, key


@pytest.fixture
def https_server(tls_cert: tuple[Path, Path]) -> Iterator[TestServer]:
    """Like `http_server`, over TLS with the `tls_cert` certificate (trust it explicitly)."""
    with serve(tls=tls_cert) as server:
        yield server


# ------------------------------------------------------------------ SOCKS5
class Socks5Proxy:
    """A minimal SOCKS5 proxy (no auth, CONNECT) on 127.0.0.1:port, in threads.

    `aliases` maps host names the client sends (socks5h: the proxy resolves names) to
    real addresses; `targets` records every (host, port) asked for.
    """

    def __init__(self, aliases: dict[str, str] | None = None) -> None:
        self.aliases = dict(aliases or {})
        self.targets: list[tuple[str, int]] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"socks5h://127.0.0.1:{self.port}"
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _target(self, client: socket.socket) -> tuple[str, int]:
        _ver, nmethods = client.recv(2)
        client.recv(nmethods)
        client.sendall(b"\x05\x00")  # no authentication
        _ver, _cmd, _rsv, atyp = client.recv(4)
        if atyp == 3:
            host = client.recv(client.recv(1)[0]).decode()
        elif atyp == 1:
            host = socket.inet_ntoa(client.recv(4))
        else:
            host = socket.inet_ntop(socket.AF_INET6, client.recv(16))
        return host, int.from_bytes(client.recv(2), "big")

    def _serve(self, client: socket.socket) -> None:
        with contextlib.ExitStack() as stack:
            stack.enter_context(client)
            try:
                host, port = self._target(client)
                self.targets.append((host, port))
                upstream = stack.enter_context(socket.create_connection(
                    (self.aliases.get(host, host), port), timeout=5))
            except (OSError, ValueError):
                with contextlib.suppress(OSError):
                    client.sendall(b"\x05\x04\x00\x01" + bytes(6))  # host unreachable
                return
            client.sendall(b"\x05\x00\x00\x01" + bytes(6))
            _relay(client, upstream, self._stop)

    def close(self) -> None:
        self._stop.set()
        self.sock.close()


def _relay(a: socket.socket, b: socket.socket, stop: threading.Event) -> None:
    import selectors

    with selectors.DefaultSelector() as sel:
        sel.register(a, selectors.EVENT_READ, b)
        sel.register(b, selectors.EVENT_READ, a)
        while not stop.is_set():
            for key, _ in sel.select(timeout=0.2):
                try:
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return
                    key.data.sendall(data)
                except OSError:
                    return


@pytest.fixture
def socks_proxy() -> Iterator[Socks5Proxy]:
    """A SOCKS5 proxy on 127.0.0.1; set `socks_proxy.aliases[name] = "127.0.0.1"`."""
    proxy = Socks5Proxy()
    try:
        yield proxy
    finally:
        proxy.close()


# ------------------------------------------------------------------ media
def _jpeg(seed: int, size: tuple[int, int] = (96, 64), fmt: str = "JPEG") -> bytes:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([(xx * (seed + 3)) % 256, (yy * (seed + 5)) % 256,
                     ((xx + yy) * (seed + 7)) % 256], axis=-1)
    arr = (base + rng.integers(0, 40, (h, w, 3))).clip(0, 255).astype("uint8")
    out = io.BytesIO()
    Image.fromarray(arr).save(out, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return out.getvalue()


def _mp4(path: Path) -> bytes:
    import av
    import numpy as np

    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(10):
            arr = np.full((48, 64, 3), (i * 25, 100, 200 - i * 20), np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")))
        out.mux(stream.encode(None))
    return path.read_bytes()


@pytest.fixture(scope="session")
def fetch_media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Small generated media bytes: jpeg_a/jpeg_b/jpeg_c (JPEG), png, mp4 (1 s video)."""
    tmp = tmp_path_factory.mktemp("fetch_media")
    return {"jpeg_a": _jpeg(1), "jpeg_b": _jpeg(2), "jpeg_c": _jpeg(3, (160, 120)),
            "png": _jpeg(4, fmt="PNG"), "mp4": _mp4(tmp / "clip.mp4")}
