"""Archive fixtures: a real PostgreSQL server for the session, and archive URLs per engine.

The server is Debian's `postgresql` package (initdb + pg_ctl from /usr/lib/postgresql/*/bin)
in a temporary directory on a free port. PostgreSQL refuses to run as root, so under root it
runs as `nobody` via setpriv. When CI=true the server must start: the tests fail, not skip.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_counter = itertools.count()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres_user() -> tuple[list[str], int | None, int | None]:
    """Command prefix (and uid/gid to chown to) so that PostgreSQL does not run as root."""
    if os.geteuid() != 0:
        return [], None, None
    import pwd

    user = pwd.getpwnam("nobody")
    return (["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"],
            user.pw_uid, user.pw_gid)


class PostgresServer:
    """A throwaway PostgreSQL cluster; `new_database()` gives an isolated URL per test."""

    def __init__(self) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not bins:
            raise RuntimeError("PostgreSQL is not installed (/usr/lib/postgresql/*/bin/initdb); "
                               "`.ci/run` installs the Debian `postgresql` package")
        self.bin = Path(bins[-1]).parent
        self.prefix, uid, gid = _as_postgres_user()
        self.root = Path(tempfile.mkdtemp(prefix="osintkit-pg-"))
        os.chmod(self.root, 0o755)  # the unprivileged server user must reach its data dir
        self.data, self.run = self.root / "data", self.root / "run"
        for d in (self.data, self.run):
            d.mkdir()
            if uid is not None:
                os.chown(d, uid, gid)
        self.port = 0

    def _cmd(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*self.prefix, *args], capture_output=True, text=True,
                              timeout=60, cwd="/")

    def start(self) -> None:
        init = self._cmd(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                         "-A", "trust", "-E", "UTF8", "--no-sync")
        if init.returncode:
            raise RuntimeError(f"initdb failed: {init.stderr.strip()[-500:]}")
        for _ in range(5):  # a free port can be taken between probing and binding: retry
            self.port = _free_port()
            opts = (f"-p {self.port} -h 127.0.0.1 -k {self.run} -F "
                    "-c fsync=off -c full_page_writes=off -c synchronous_commit=off")
            res = self._cmd(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l",
                            str(self.run / "log"), "-w", "-t", "30", "-o", opts, "start")
            if res.returncode == 0:
                return
        log = (self.run / "log").read_text(errors="replace")[-800:] if (self.run / "log").exists() \
            else res.stderr
        raise RuntimeError(f"pg_ctl start failed: {log.strip()}")

    def stop(self) -> None:
        self._cmd(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def new_database(self) -> str:
        """URL of an isolated, empty archive: its own schema in one shared test database.

        (A schema costs nothing; a database per test would copy a template each time and
        leave thousands of files to delete at the end.)
        """
        import psycopg

        base = f"postgresql://postgres@127.0.0.1:{self.port}/osintkit_tests"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'osintkit_tests'"
                                ).fetchone():
                conn.execute("CREATE DATABASE osintkit_tests")
        name = f"t_{os.getpid()}_{next(_counter)}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')
        return f"{base}?options=-csearch_path%3D{name}"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the whole session (fails, not skips, when CI=true)."""
    server = PostgresServer() if glob.glob("/usr/lib/postgresql/*/bin/initdb") else None
    try:
        if server is None:
            raise RuntimeError("PostgreSQL is not installed (/usr/lib/postgresql/*/bin)")
        server.start()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        if server is not None:
            server.stop()
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL test server did not start: {exc}")
        pytest.skip(f"PostgreSQL test server did not start: {exc}")
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def archive_url(request: pytest.FixtureRequest, tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty archive URL on each engine: an SQLite file, or a fresh PostgreSQL database.

    The index cache of a PostgreSQL archive goes to the user cache dir: a temporary one here.
    """
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'archive.sqlite'}"
    return request.getfixturevalue("postgres_server").new_database()
