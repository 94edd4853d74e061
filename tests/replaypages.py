"""Replay the labelled real pages of tests/data/pages from a local server (bench and tests).

Each page is served at its own host name and path on 127.0.0.1 over plain HTTP: the
first-party hosts (the page's and those of its labelled claim media) are rewritten in
the HTML to `http://<host>:<port>` and resolve to 127.0.0.1; every other host does not
resolve (name resolution is simulated in-process, no DNS query leaves the machine: see
`offline_dns` for why it is not a real mechanism yet), as when third-party hosts are
unreachable. Pictures are drawn (a gradient and the URL's
hash), videos are a generated MP4: no real media is stored.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PAGES = Path(__file__).resolve().parent / "data" / "pages"
VIDEO = re.compile(r"\.(mp4|m4v|mov|webm)(\?|$)", re.I)


@dataclass
class Page:
    name: str
    url: str
    kind: str
    claim: list[str]
    html: bytes
    held_out: bool = False
    hosts: set[str] = field(default_factory=set)


def load_pages() -> list[Page]:
    data = json.loads((PAGES / "pages.json").read_text(encoding="utf-8"))
    out = []
    for p in data["pages"]:
        page = Page(p["name"], p["url"], p["kind"], p["claim"],
                    gzip.decompress((PAGES / p["file"]).read_bytes()), p.get("held_out", False))
        page.hosts = {urlsplit(u).hostname or "" for u in [p["url"], *p["claim"]]}
        out.append(page)
    return out


def norm(url: str) -> str:
    """A URL without scheme and port: the replayed and the original URL compare equal."""
    parts = urlsplit(url)
    return f"{parts.hostname}{parts.path}" + (f"?{parts.query}" if parts.query else "")


def drawn_jpeg(key: str) -> bytes:
    from PIL import Image, ImageDraw

    seed = hashlib.sha256(key.encode()).digest()
    img = Image.new("RGB", (96, 64), tuple(seed[:3]))
    draw = ImageDraw.Draw(img)
    for n in range(6):
        x, y = seed[3 + n] % 96, seed[9 + n] % 64
        draw.rectangle([x, y, x + 20, y + 14], fill=tuple(seed[15 + n: 18 + n]))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        replay: Replay = self.server.replay  # type: ignore[attr-defined]
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
        status, ctype, body = replay.answer(host, self.path)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Replay:
    """A server for one page at a time; `.page_url` is where to fetch it."""

    def __init__(self, page: Page, mp4: bytes) -> None:
        self.page, self.mp4 = page, mp4
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.replay = self  # type: ignore[attr-defined]
        self.port = self.httpd.server_address[1]
        self.html = self._rewrite(page.html)
        parts = urlsplit(page.url)
        self.page_path = parts.path + (f"?{parts.query}" if parts.query else "")
        self.page_url = f"http://{parts.hostname}:{self.port}{self.page_path}"
        self.hits: list[str] = []

    def _rewrite(self, html: bytes) -> bytes:
        for host in sorted(self.page.hosts, key=len, reverse=True):
            pat = re.compile(rb"(?:https?:)?//" + re.escape(host.encode()) + rb"(?![\w.-])")
            html = pat.sub(f"http://{host}:{self.port}".encode(), html)
        return html

    def answer(self, host: str, path: str) -> tuple[int, str, bytes]:
        self.hits.append(f"{host}{path}")
        if host not in self.page.hosts:
            return 404, "text/plain", b"not here"
        if host == urlsplit(self.page.url).hostname and path.split("?")[0] == \
                self.page_path.split("?")[0]:
            return 200, "text/html; charset=utf-8", self.html
        if VIDEO.search(path):
            return 200, "video/mp4", self.mp4
        return 200, "image/jpeg", drawn_jpeg(host + path)

    def __enter__(self) -> Replay:
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextlib.contextmanager
def offline_dns(local: set[str]) -> Iterator[list[str]]:
    """Names in `local` resolve to 127.0.0.1, every other name fails as DNS does for an
    unknown host; yields the list of failed look-ups.

    This replaces `socket.getaddrinfo` in this process, the one substitution left in the
    fetch tests, kept on purpose: the saved pages carry their real host names (news
    sites, CDNs, t.me) and the replay must reach the page's own hosts and have every
    other one fail, without a single query leaving the machine. The real mechanisms
    were weighed:
    - `--proxy` to a local proxy serving the pages: the address guard still resolves
      every host locally before handing it to the proxy (so real names would be looked
      up on the machine's resolver, online in CI), and a name that does not resolve is
      passed to the proxy instead of failing, so the path the bench measures (the
      client's own lookups, fail-fast, dead hosts skipped) would not run at all.
    - /etc/hosts and resolv.conf bind-mounted in a private mount+network namespace
      (tests/dnsblackhole.py does this for the DNS-timeout tests): real, but each page
      would have to be replayed and scored in a child process inside the namespace
      (needs root or user namespaces), which this module's callers
      (tests/test_pages_replay.py, scripts/bench_fetch.py) do not do yet.
    The unresolvable-host tests themselves use real lookups of `.invalid` names."""
    real = socket.getaddrinfo
    failed: list[str] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name in local:
            return real("127.0.0.1", port, *args, **kwargs)
        if name in ("127.0.0.1", "localhost", "::1"):
            return real(host, port, *args, **kwargs)
        failed.append(name)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    socket.getaddrinfo = getaddrinfo
    try:
        yield failed
    finally:
        socket.getaddrinfo = real


def score(page: Page, claim_urls: list[str]) -> dict[str, Any]:
    """Labelled claim media found, and furniture kept as claim, for one page."""
    want = {norm(u) for u in page.claim}
    got = [norm(u) for u in claim_urls]
    return {"labelled": len(want), "found": len(want & set(got)), "claimed": len(set(got)),
            "false": len(set(got) - want), "missed": sorted(want - set(got))}
