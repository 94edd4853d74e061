"""A real RFC 3161 timestamp authority on 127.0.0.1 (pytest plugin, loaded by conftest.py).

`tsa_server` is a session fixture: a throwaway CA and TSA certificate made with
`openssl req`/`openssl x509`, answering POSTed timestamp queries with `openssl ts -reply`
behind a ThreadingHTTPServer on port 0. `.url` is its address, `.ca` the CA certificate
(PEM) to trust, `.requests` counts the queries it answered. Skipped without openssl.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

TS_CONFIG = """
[ tsa ]
default_tsa = tsa_config1
[ tsa_config1 ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.crt
certs = $dir/ca.crt
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
other_policies = 1.2.3.4.5.6
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_tsa(root: Path, name: str = "Test TSA") -> Path:
    """CA + TSA key pair and openssl ts config in `root`; returns the config file."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
             "ca.crt", "-days", "2", "-subj", f"/CN={name} CA", "-addext",
             "basicConstraints=critical,CA:TRUE", "-addext",
             "keyUsage=critical,keyCertSign,cRLSign", cwd=root)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "tsa.key", "-out", "tsa.csr",
             "-subj", f"/CN={name}", cwd=root)
    (root / "ext.cnf").write_text("extendedKeyUsage=critical,timeStamping\n"
                                  "keyUsage=critical,digitalSignature\n"
                                  "basicConstraints=CA:FALSE\n")
    _openssl("x509", "-req", "-in", "tsa.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "tsa.crt", "-days", "2", "-extfile", "ext.cnf", cwd=root)
    (root / "serial").write_text("01\n")
    config = root / "ts.cnf"
    config.write_text(TS_CONFIG.format(dir=root))
    return config


@dataclass
class Tsa:
    url: str
    ca: Path
    root: Path
    requests: list[int] = field(default_factory=list)  # HTTP status of each answer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        tsa: Tsa = self.server.tsa  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        query = self.rfile.read(length)
        with tempfile.TemporaryDirectory(dir=tsa.root) as tmp:
            req, resp = Path(tmp) / "q.tsq", Path(tmp) / "r.tsr"
            req.write_bytes(query)
            proc = subprocess.run(["openssl", "ts", "-reply", "-config", str(tsa.root / "ts.cnf"),
                                   "-queryfile", str(req), "-out", str(resp)],
                                  capture_output=True, timeout=60)
            ok = proc.returncode == 0 and resp.exists()
            body = resp.read_bytes() if ok else proc.stderr
        status = 200 if ok else 400
        tsa.requests.append(status)
        self.send_response(status)
        self.send_header("Content-Type", "application/timestamp-reply" if ok else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="session")
def tsa_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tsa]:
    """A local RFC 3161 TSA (openssl ts) over HTTP on 127.0.0.1."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    root = tmp_path_factory.mktemp("tsa")
    make_tsa(root)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    tsa = Tsa(f"http://127.0.0.1:{httpd.server_address[1]}/tsr", root / "ca.crt", root)
    httpd.tsa = tsa  # type: ignore[attr-defined]
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    try:
        yield tsa
    finally:
        httpd.shutdown()
        httpd.server_close()
