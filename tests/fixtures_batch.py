"""Fixtures for the batch tests: a server that never answers, a real Dask LocalCluster,
fresh samples (scripts/make_samples.py) and the sample archive in a real SQLite file.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Hanging:
    """A server that never answers: its URL; events set when a request arrived and when
    the client dropped the connection (its process died: the kernel closed the socket)."""

    url: str
    requested: threading.Event
    dropped: threading.Event


@pytest.fixture
def hanging_server() -> Iterator[Hanging]:
    """http://127.0.0.1:PORT/ whose handler never answers until the test ends.

    A claim pointing there hangs deterministically in its fetch (fetch timeouts are far
    longer than the --claim-timeout the test uses): the way a dead mirror looks.
    """
    release, requested, dropped = threading.Event(), threading.Event(), threading.Event()

    class Stall(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requested.set()
            self.connection.settimeout(0.2)
            while not release.is_set():  # answer nothing; notice when the client is gone
                try:
                    if not self.connection.recv(1):
                        break
                except TimeoutError:
                    continue
                except OSError:
                    break
            dropped.set()

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
        yield Hanging(f"http://{host}:{port}/", requested, dropped)
    finally:
        release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real distributed.LocalCluster (2 worker processes on 127.0.0.1); its address.

    The workers' user cache (PostgreSQL archive indexes) is a temporary folder. The
    scheduler's HTTP server gets a free port: with dashboard_address=None it still tries
    8787 and warns when another cluster holds it.
    """
    distributed = pytest.importorskip("distributed")
    cache = tmp_path_factory.mktemp("dask-cache")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                  env={"XDG_CACHE_HOME": str(cache)}) as cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="session")
def batch_samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Fresh samples (claims/, media/, archive/) from scripts/make_samples.py (deterministic)."""
    out = tmp_path_factory.mktemp("batch-samples")
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_samples.py"), "--out", str(out)],
                   check=True, capture_output=True, timeout=300)
    assert len(sorted((out / "claims").glob("*.yaml"))) >= 4
    return out


@pytest.fixture(scope="session")
def batch_archive(batch_samples: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The sample archive (samples/archive/known.yaml) in a real SQLite file; its URL."""
    import yaml

    from osintkit.archive import open_archive

    known = yaml.safe_load((batch_samples / "archive" / "known.yaml").read_text())
    url = f"sqlite:///{tmp_path_factory.mktemp('batch-archive') / 'known.sqlite'}"
    with open_archive(url) as archive:
        for item in known["items"]:
            results = archive.add([batch_samples / "archive" / item["file"]],
                                  source=item["source"], first_seen=str(item["first_seen"]),
                                  title=item["title"])
            assert all(r.ok for r in results), results
    return url
