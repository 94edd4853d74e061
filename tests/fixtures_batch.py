"""Fixtures for the batch tests: a server that never answers, a real Dask LocalCluster,
and manifests built from the sample claims (samples/claims/*.yaml, scripts/make_samples.py).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_CLAIMS = ROOT / "samples" / "claims"


@pytest.fixture
def hanging_server() -> Iterator[str]:
    """http://127.0.0.1:PORT/ whose handler never answers until the test ends.

    A claim pointing there hangs deterministically in its fetch (fetch timeouts are far
    longer than the --claim-timeout the test uses): the way a dead mirror looks.
    """
    release = threading.Event()

    class Stall(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            release.wait(120)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Stall)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    with socket.create_connection((host, port), timeout=5):  # readiness: it accepts
        pass
    try:
        yield f"http://{host}:{port}/"
    finally:
        release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def dask_cluster() -> Iterator[str]:
    """A real distributed.LocalCluster (2 worker processes on 127.0.0.1); its address."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="session")
def sample_claims() -> list[Path]:
    """The sample claim files, regenerated when missing."""
    if not sorted(SAMPLE_CLAIMS.glob("*.yaml")):
        subprocess.run([sys.executable, str(ROOT / "scripts" / "make_samples.py")],
                       check=True, capture_output=True, timeout=300)
    claims = sorted(SAMPLE_CLAIMS.glob("*.yaml"))
    assert len(claims) >= 4, "expected sample claims covering each verdict"
    return claims
