"""`--screenshot`: headless Chromium renders the claim page; the PNG joins the evidence.

Chromium fetches the page and everything it loads itself, so it must not become a way
around the SSRF rules: it is started with `--proxy-server` pointing at a small forward
proxy in this process (`GuardProxy`) that resolves every host, refuses private,
loopback and link-local addresses exactly as the fetch client does (unless
--allow-private / --allow-net), and connects to the address it checked. Its lookups
(resolver.py) end by the screenshot's deadline, so a resolver that does not answer
cannot hold it. Loopback is
not bypassed (`--proxy-bypass-list=<-loopback>`) and WebRTC may not leave the proxy.
The browser runs with a fresh profile in a temp directory and no background services.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from osintkit import errors
from osintkit.errors import FetchError
from osintkit.fetch.guard import AddressPolicy
from osintkit.fetch.resolver import resolve
from osintkit.fileio import file_hashes

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-extensions", "--disable-default-apps",
                  "--mute-audio", "--hide-scrollbars", "--no-default-browser-check",
                  "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
                  "--proxy-bypass-list=<-loopback>")
WINDOW = (1280, 2000)
CONNECT_TIMEOUT = 15.0  # the guard proxy's lookup and connect, each, per upstream


def find_chromium() -> str | None:
    """Path of a Chromium binary (OSINTKIT_CHROMIUM, else the usual names on PATH)."""
    env = os.environ.get("OSINTKIT_CHROMIUM")
    if env:
        return env if Path(env).exists() else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


# ------------------------------------------------------------------ the guard proxy
class GuardProxy:
    """An HTTP forward proxy (CONNECT and absolute GET) that applies an AddressPolicy.

    `refused` lists the (host, reason) pairs it turned away. Name lookups end by
    `deadline` (time.monotonic()), and each within CONNECT_TIMEOUT.
    """

    def __init__(self, policy: AddressPolicy, deadline: float | None = None) -> None:
        self.policy, self.deadline = policy, deadline
        self.refused: list[tuple[str, str]] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self.sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _target(self, host: str, port: int) -> str:
        """The checked address to connect to; FetchError when refused."""
        limit = CONNECT_TIMEOUT
        if self.deadline is not None:
            limit = min(limit, self.deadline - time.monotonic())
        infos = resolve(host, port, limit)  # DnsTimeout (an OSError): 403 to the browser
        for info in infos:
            problem = self.policy.problem(str(info[4][0]))
            if problem:
                self.refused.append((host, problem))
                raise FetchError(f"{host} is a {problem} address", code=errors.BLOCKED)
        return str(infos[0][4][0])

    def _serve(self, client: socket.socket) -> None:
        with contextlib.ExitStack() as stack:
            stack.enter_context(client)
            client.settimeout(30)
            try:
                head = _read_head(client)
                line, _, rest = head.partition(b"\r\n")
                method, target, version = line.decode("latin-1").split(" ", 2)
                if method == "CONNECT":
                    host, _, port = target.rpartition(":")
                    upstream = socket.create_connection((self._target(host.strip("[]"),
                                                                      int(port)), int(port)),
                                                        CONNECT_TIMEOUT)
                    stack.enter_context(upstream)
                    client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    payload = b""
                else:
                    parts = urlsplit(target)
                    port = parts.port or 80
                    upstream = socket.create_connection(
                        (self._target(parts.hostname or "", port), port), CONNECT_TIMEOUT)
                    stack.enter_context(upstream)
                    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
                    payload = f"{method} {path} {version}\r\n".encode("latin-1") + rest
                    upstream.sendall(payload)
            except (OSError, ValueError, FetchError):
                with contextlib.suppress(OSError):
                    client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n"
                                   b"Connection: close\r\n\r\n")
                return
            _relay(client, upstream, self._stop)


def _read_head(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise OSError("closed")
        data += chunk
        if len(data) > 65536:
            raise OSError("request head too large")
    return data


def _relay(a: socket.socket, b: socket.socket, stop: threading.Event) -> None:
    import selectors

    with selectors.DefaultSelector() as sel:
        sel.register(a, selectors.EVENT_READ, b)
        sel.register(b, selectors.EVENT_READ, a)
        while not stop.is_set():
            events = sel.select(timeout=30)
            if not events:
                return
            for key, _ in events:
                try:
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return
                    key.data.sendall(data)
                except OSError:
                    return


# ------------------------------------------------------------------ the screenshot
def take_screenshot(url: str, out_dir: Path, *, policy: AddressPolicy,
                    proxy: str | None = None, timeout: float = 60.0,
                    window: tuple[int, int] = WINDOW) -> Path:
    """Render `url` in headless Chromium; return `<sha256>.png` in `out_dir`.

    Raises FetchError (unsupported when no Chromium, timeout, network).
    """
    binary = find_chromium()
    if binary is None:
        raise FetchError(f"{url}: no Chromium found for --screenshot (install chromium, or "
                         "set OSINTKIT_CHROMIUM)", code=errors.UNSUPPORTED)
    if proxy:  # through the user's proxy the guard cannot see addresses: refuse plainly
        raise FetchError(f"{url}: --screenshot does not go through --proxy yet",
                         code=errors.UNSUPPORTED)
    guard = GuardProxy(policy, deadline=time.monotonic() + timeout)
    with tempfile.TemporaryDirectory(prefix="osintkit-chromium-") as tmp:
        shot = Path(tmp) / "shot.png"
        cmd = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={tmp}/profile",
               f"--proxy-server=http://127.0.0.1:{guard.port}",
               f"--window-size={window[0]},{window[1]}", f"--screenshot={shot}",
               "--virtual-time-budget=8000", url]
        try:
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
            try:
                _, err = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
                raise FetchError(f"{url}: Chromium did not finish the screenshot within "
                                 f"{timeout:g} s", code=errors.TIMEOUT) from None
        finally:
            guard.close()
        if not shot.is_file() or shot.stat().st_size == 0:
            detail = " ".join(err.decode("utf-8", "replace").split())[-200:] if err else ""
            raise FetchError(f"{url}: Chromium wrote no screenshot ({detail or 'no output'})",
                             code=errors.NETWORK)
        digest = file_hashes(shot)["sha256"]
        dest = Path(out_dir) / f"{digest}.png"
        if not dest.exists():
            shutil.move(str(shot), dest)
        return dest
