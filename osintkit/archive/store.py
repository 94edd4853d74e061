"""Archive stage: the database. One schema on SQLite (embedded) and PostgreSQL (shared).

`connect(url)` parses `sqlite:///relative.db`, `sqlite:////abs/path.db` (SQLAlchemy's
convention), a bare path, or `postgresql://...` and returns a
`Store`: a connection, the dialect's SQL differences, the versioned migrations of
schema.py and
`write(fn)`, which runs `fn(cursor)` in one transaction and retries it when another
process holds the lock (SQLite WAL + busy timeout; PostgreSQL serialization failures).
A process killed mid-transaction leaves the previous committed state: both engines roll
the open transaction back.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from osintkit.archive.schema import FRAME_COLUMNS, ITEM_COLUMNS, MIGRATIONS, SCHEMA_VERSION
from osintkit.errors import ArchiveError
from osintkit.redact import redact

T = TypeVar("T")
__all__ = ["FRAME_COLUMNS", "ITEM_COLUMNS", "SCHEMA_VERSION", "Store", "Target", "connect",
           "parse_url"]

_RETRIES = 8
_PG_LOCK_ID = 0x05170001  # advisory lock serializing migrations across clients

def default_path() -> Path:
    """The default archive file: `archive.sqlite` in the user data directory."""
    import platformdirs

    return platformdirs.user_data_path("osintkit") / "archive.sqlite"


def default_url() -> str:
    """sqlite URL of the default archive (absolute: `sqlite:////home/...`)."""
    return sqlite_url(default_path())


def sqlite_url(path: str | os.PathLike[str]) -> str:
    """The SQLAlchemy-style URL of an SQLite file: `sqlite:///rel.db` or `sqlite:////abs.db`."""
    return f"sqlite:///{Path(path)}"


@dataclass(frozen=True)
class Target:
    """A parsed archive URL."""

    dialect: str  # "sqlite" | "postgresql"
    url: str  # as given (normalized), for messages and psycopg
    path: Path | None  # the SQLite file

    @property
    def display(self) -> str:
        """What to show a person: the SQLite file's path, or the URL without its password."""
        return str(self.path) if self.path is not None else redact(self.url)


def parse_url(url: str | None) -> Target:
    """Where the archive is, following SQLAlchemy's convention (what Python users know):

    - `sqlite:///relative.db` is relative to the working directory,
    - `sqlite:////abs/path.db` is absolute (four slashes),
    - a plain path (`archive.sqlite`, `/data/a.sqlite`, `~/a.sqlite`) works too,
    - `postgresql://user:pass@host/db` (or `postgres://`).
    None means the default archive in the user data directory.
    """
    url = url or default_url()
    if url.startswith(("postgresql://", "postgres://")):
        return Target("postgresql", url, None)
    if url.startswith("sqlite:"):
        rest = url[len("sqlite:"):]
        if rest.startswith("//"):
            rest = rest[2:]
            if rest and not rest.startswith("/"):  # sqlite://host/... : SQLite has no host
                raise ArchiveError(f"{url}: an SQLite URL has three slashes before a relative "
                                   "path (sqlite:///archive.sqlite) or four before an absolute "
                                   "one (sqlite:////data/archive.sqlite)")
            rest = rest[1:]  # sqlite:///rel -> rel ; sqlite:////abs -> /abs
        if not rest or rest in (":memory:",):
            raise ArchiveError(f"{url}: no file in the SQLite URL (use sqlite:///archive.sqlite "
                               "or sqlite:////absolute/path.sqlite)")
        path = _absolute(Path(rest).expanduser())
        return Target("sqlite", sqlite_url(path), path)
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", url)
    if scheme:
        raise ArchiveError(f"{redact(url)}: unknown archive URL scheme {scheme.group(1)!r} "
                           "(use sqlite:///path or postgresql://...)")
    path = _absolute(Path(url).expanduser())
    return Target("sqlite", sqlite_url(path), path)


def _absolute(path: Path) -> Path:
    """The path made absolute against the working directory, without resolving symlinks
    (so `//x` never appears and a message shows the path the user meant)."""
    return Path(os.path.abspath(path))


class Store:
    """A connection with the dialect's SQL differences papered over (`?` placeholders)."""

    def __init__(self, target: Target, conn: Any) -> None:
        self.target = target
        self.dialect = target.dialect
        self.conn = conn
        self.pg = target.dialect == "postgresql"
        self.least = "LEAST" if self.pg else "MIN"

    # -------------------------------------------------------------- sql helpers
    def sql(self, text: str) -> str:
        return text.replace("?", "%s") if self.pg else text

    def cursor(self) -> Any:
        return self.conn.cursor()

    def execute(self, cur: Any, text: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement on `cur` (placeholders are `?` for both engines)."""
        try:
            cur.execute(self.sql(text), tuple(params))
        except Exception as exc:
            self._reraise(exc)
        return cur

    def query(self, text: str, params: Sequence[Any] = ()) -> list[tuple]:
        """All rows of a read-only statement (autocommit / its own short transaction)."""
        def run(cur: Any) -> list[tuple]:
            return list(self.execute(cur, text, params).fetchall())
        return self.read(run)

    def read(self, fn: Callable[[Any], T]) -> T:
        """Run `fn(cursor)` outside any write lock."""
        cur = self.cursor()
        try:
            return fn(cur)
        finally:
            cur.close()
            if self.pg:
                self.conn.rollback()  # end the implicit read transaction

    def snapshot(self, fn: Callable[[Any], T]) -> T:
        """Run `fn(cursor)` on one consistent read snapshot (several SELECTs agree)."""
        cur = self.cursor()
        try:
            self.execute(cur, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ" if self.pg
                         else "BEGIN")
            return fn(cur)
        finally:
            cur.close()
            self.conn.rollback()

    # -------------------------------------------------------------- transactions
    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        cur = self.cursor()
        try:
            if self.pg:
                pass  # psycopg opens a transaction on the first statement
            else:
                cur.execute("BEGIN IMMEDIATE")  # take the write lock now, not on upgrade
            yield cur
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise
        finally:
            cur.close()

    def write(self, fn: Callable[[Any], T]) -> T:
        """Run `fn(cursor)` in one transaction; retried while another writer holds a lock."""
        delay = 0.05
        for attempt in range(_RETRIES):
            try:
                with self._transaction() as cur:
                    return fn(cur)
            except Exception as exc:
                if attempt == _RETRIES - 1 or not self._is_retryable(exc):
                    self._reraise(exc)
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
        raise AssertionError("unreachable")

    def _is_retryable(self, exc: BaseException) -> bool:
        if isinstance(exc, ArchiveError):
            exc = exc.__cause__ or exc
        if isinstance(exc, sqlite3.OperationalError):
            return "locked" in str(exc) or "busy" in str(exc)
        if self.pg:
            import psycopg

            return isinstance(exc, psycopg.errors.SerializationFailure
                              | psycopg.errors.DeadlockDetected)
        return False

    def _reraise(self, exc: BaseException) -> None:
        if isinstance(exc, ArchiveError):
            raise exc
        if isinstance(exc, sqlite3.DatabaseError) or _is_pg_error(exc):
            reason = " ".join(str(exc).split())
            raise ArchiveError(f"{self.target.display}: {reason}") from exc
        raise exc

    def close(self) -> None:
        with suppress(Exception):  # closing a broken connection must not mask the real error
            self.conn.close()

    # -------------------------------------------------------------- schema
    def migrate(self) -> None:
        """Create or upgrade the schema to SCHEMA_VERSION, one transaction per step."""
        pk = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY" if self.pg else \
            "INTEGER PRIMARY KEY AUTOINCREMENT"
        real = "DOUBLE PRECISION" if self.pg else "REAL"
        while True:
            def step(cur: Any) -> bool:
                if self.pg:
                    cur.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_LOCK_ID,))
                self.execute(cur, "CREATE TABLE IF NOT EXISTS meta "
                                  "(key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                version = self._version(cur)
                if version > SCHEMA_VERSION:
                    raise ArchiveError(
                        f"{self.target.display}: archive schema v{version} is newer than "
                        f"this osintkit understands (v{SCHEMA_VERSION}); upgrade osintkit")
                if version == SCHEMA_VERSION:
                    return False
                for stmt in MIGRATIONS[version](pk, real):
                    self.execute(cur, stmt)
                if version == 0:
                    for key, value in (("archive_id", uuid.uuid4().hex), ("generation", "0")):
                        self.execute(cur, "INSERT INTO meta (key, value) VALUES (?, ?)",
                                     (key, value))
                self._set_meta(cur, "schema_version", str(version + 1))
                return True
            if not self.write(step):
                return

    def has_archive(self) -> bool:
        """True when the database holds an osintkit archive (its meta table)."""
        sql = ("SELECT to_regclass('meta') IS NOT NULL" if self.pg else
               "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'")
        return bool(self.query(sql)[0][0])

    def _version(self, cur: Any) -> int:
        row = self.execute(cur, "SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else 0

    def _set_meta(self, cur: Any, key: str, value: str) -> None:
        self.execute(cur, "DELETE FROM meta WHERE key = ?", (key,))
        self.execute(cur, "INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))

    def meta(self) -> dict[str, str]:
        """The meta table (schema_version, archive_id, generation)."""
        return dict(self.query("SELECT key, value FROM meta"))

    def bump(self, cur: Any) -> None:
        """Count a change (inside a write transaction): cached indexes see they are stale."""
        self.execute(cur, "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) "
                          "WHERE key = 'generation'")


def status_counts(db: Store, table: str, kind: str) -> dict[str, int]:
    """Rows of a per-item side table (`local`, `strips`) by status, and `pending`: the
    archived items of `kind` that have no row there yet. `table` and `kind` are ours,
    never user input."""
    out = {k: int(v) for k, v in db.query(f"SELECT status, COUNT(*) FROM {table} GROUP BY status")}
    out["pending"] = int(db.query(
        f"SELECT COUNT(*) FROM items i WHERE i.kind = '{kind}' AND NOT EXISTS "
        f"(SELECT 1 FROM {table} t WHERE t.item_id = i.id)")[0][0])
    return out


def _is_pg_error(exc: BaseException) -> bool:
    mod = type(exc).__module__ or ""
    return mod.startswith("psycopg")


def connect(url: str | None, create: bool = True) -> Store:
    """Open the archive at `url` and migrate it; ArchiveError with one line if unusable.

    `create=True` (writers: `archive add`, `import`) creates a missing SQLite file (and its
    folder) or the schema in an empty PostgreSQL database. `create=False` (every reader,
    `verify` and `batch`) never creates anything: a missing file, an empty file or a
    database without an osintkit archive is an error, so a typo never becomes an empty
    archive that finds nothing.
    """
    target = parse_url(url)
    store = _connect_pg(target) if target.dialect == "postgresql" else \
        _connect_sqlite(target, create)
    try:
        if not create and not store.has_archive():
            raise ArchiveError(f"{target.display}: no osintkit archive in this database "
                               "(create one with `osintkit archive add`)", code=NO_ARCHIVE)
        store.migrate()
    except BaseException:
        store.close()
        raise
    return store


NO_ARCHIVE = "no_archive"  # error code: the archive does not exist (nothing was created)


def missing_archive_message(target: Target) -> str:
    """One line saying there is no archive at `target`, and what to do."""
    hint = "build one with `osintkit archive add FILES --db URL`"
    where = target.path.parent if target.path is not None else None
    if where is not None and not where.is_dir():
        return f"{target.display}: no archive there, and no folder {where} ({hint})"
    near = _nearby(target.path) if target.path is not None else None
    if near:
        hint = f"did you mean {near}? or {hint}"
    return f"{target.display}: no archive there ({hint})"


def _nearby(path: Path) -> Path | None:
    """An existing file beside `path` whose name is close to it (a typo'd --db)."""
    import difflib

    try:
        names = [p.name for p in path.parent.iterdir() if p.is_file()
                 and not p.name.endswith(("-wal", "-shm", ".npz"))][:2000]
    except OSError:
        return None
    close = difflib.get_close_matches(path.name, names, n=1, cutoff=0.8)
    return path.with_name(close[0]) if close else None


def _connect_sqlite(target: Target, create: bool) -> Store:
    path = target.path
    assert path is not None
    if not path.exists():
        if not create:
            raise ArchiveError(missing_archive_message(target), code=NO_ARCHIVE)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ArchiveError(f"{path}: cannot create the archive ({exc.strerror})") from None
    elif path.is_dir():
        raise ArchiveError(f"{path}: is a directory, not an SQLite archive")
    elif not create and path.stat().st_size == 0:
        raise ArchiveError(f"{path}: empty file, not an archive (create one with "
                           "`osintkit archive add`)", code=NO_ARCHIVE)
    conn = None
    try:
        conn = sqlite3.connect(path, timeout=30.0, isolation_level=None,
                               check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 30000")
        # WAL: readers never block the writer, and a killed writer's transaction is simply
        # not in the log. (On a read-only medium the mode stays as it was: reads still work.)
        conn.execute("PRAGMA journal_mode = WAL").fetchone()
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")  # safe with WAL: durable at checkpoints
    except sqlite3.DatabaseError as exc:
        if conn is not None:
            conn.close()
        reason = " ".join(str(exc).split())
        raise ArchiveError(f"{path}: not a usable SQLite archive ({reason})") from None
    return Store(target, _SqliteConn(conn))


class _SqliteConn:
    """sqlite3 in autocommit mode with explicit BEGIN, so `commit()` means our COMMIT."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.raw = conn

    def cursor(self) -> sqlite3.Cursor:
        return self.raw.cursor()

    def commit(self) -> None:
        if self.raw.in_transaction:
            self.raw.execute("COMMIT")

    def rollback(self) -> None:
        if self.raw.in_transaction:
            self.raw.execute("ROLLBACK")

    def close(self) -> None:
        self.raw.close()


def _connect_pg(target: Target) -> Store:
    import psycopg

    try:
        conn = psycopg.connect(target.url, connect_timeout=int(
            os.environ.get("OSINTKIT_DB_TIMEOUT", "10")))
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ArchiveError(f"{redact(target.url)}: cannot connect to the PostgreSQL "
                           f"archive ({reason})") from None
    return Store(target, conn)
