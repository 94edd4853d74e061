"""Archive stage: the database. One schema on SQLite (embedded) and PostgreSQL (shared).

`connect(url)` parses `sqlite:///relative.db`, `sqlite:////abs/path.db` (SQLAlchemy's
convention), a bare path, or `postgresql://...` and returns a
`Store`: a connection, the dialect's SQL differences, versioned migrations and
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

from osintkit.errors import ArchiveError
from osintkit.redact import redact

T = TypeVar("T")

_RETRIES = 8
_PG_LOCK_ID = 0x05170001  # advisory lock serializing migrations across clients

ITEM_COLUMNS = ("id", "key", "sha256", "md5", "name", "origin", "source", "first_seen",
                "title", "tags", "kind", "added_at", "pdq", "pdq_quality", "phash", "dhash",
                "extra")
FRAME_COLUMNS = ("item_id", "t", "pdq", "pdq_quality", "phash", "dhash")


def _migration_1(pk: str, real: str) -> list[str]:
    return [
        "CREATE TABLE IF NOT EXISTS items ("
        f" id {pk},"
        " key TEXT NOT NULL UNIQUE,"  # sha256, or md5:/pdq: for entries from hash lists
        " sha256 TEXT, md5 TEXT, name TEXT, origin TEXT, source TEXT,"
        " first_seen TEXT, title TEXT, tags TEXT NOT NULL DEFAULT '[]',"
        " kind TEXT NOT NULL, added_at TEXT NOT NULL,"
        " pdq TEXT, pdq_quality INTEGER, phash TEXT, dhash TEXT,"
        " extra TEXT NOT NULL DEFAULT '{}')",
        "CREATE TABLE IF NOT EXISTS frames ("
        " item_id BIGINT NOT NULL REFERENCES items(id) ON DELETE CASCADE,"
        f" t {real} NOT NULL, pdq TEXT, pdq_quality INTEGER, phash TEXT, dhash TEXT,"
        " PRIMARY KEY (item_id, t))",
    ]


def _migration_2(pk: str, real: str) -> list[str]:
    return [
        "CREATE INDEX IF NOT EXISTS items_sha256 ON items (sha256)",
        "CREATE INDEX IF NOT EXISTS items_md5 ON items (md5)",
        "CREATE INDEX IF NOT EXISTS items_first_seen ON items (first_seen)",
    ]


def _migration_3(pk: str, real: str) -> list[str]:
    # Sub-view hashes of archived images (osintkit/views.py SUB_VIEWS): a cropped copy
    # finds its original through the same index. Older items simply have none.
    return [
        "CREATE TABLE IF NOT EXISTS views ("
        " item_id BIGINT NOT NULL REFERENCES items(id) ON DELETE CASCADE,"
        " view TEXT NOT NULL, pdq TEXT NOT NULL, pdq_quality INTEGER,"
        " PRIMARY KEY (item_id, view))",
    ]


def _migration_4(pk: str, real: str) -> list[str]:
    # The strongest ORB descriptors of each archived image (hex, 32 bytes each): the deep
    # search votes with them for its candidates (osintkit/geometry.py `signature`).
    return [
        "CREATE TABLE IF NOT EXISTS features ("
        " item_id BIGINT PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,"
        " orb TEXT NOT NULL)",
    ]


def _migration_source_posts(pk: str, real: str) -> list[str]:
    # Where archived media was published (issue 17, `archive add URL`): the post or page
    # that carried an item's earliest copy (it moves with first_seen, like `source`); the
    # posts a channel walk archived completely (what a resumed walk skips), with their text;
    # and per walked channel the stretch of post numbers already done (where to resume).
    return [
        "CREATE TABLE IF NOT EXISTS item_sources ("
        " item_id BIGINT PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,"
        " source_url TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS item_sources_url ON item_sources (source_url)",
        "CREATE TABLE IF NOT EXISTS posts ("
        " url TEXT PRIMARY KEY, channel TEXT, number BIGINT, posted_at TEXT, text TEXT,"
        " forwarded_from TEXT, edited INTEGER NOT NULL DEFAULT 0, views BIGINT,"
        " media INTEGER NOT NULL DEFAULT 0, archived_at TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS posts_channel_number ON posts (channel, number)",
        "CREATE TABLE IF NOT EXISTS walks ("
        " source TEXT PRIMARY KEY, low BIGINT, high BIGINT, updated_at TEXT NOT NULL)",
    ]


def _migration_local_features(pk: str, real: str) -> list[str]:
    # What confirmation needs, kept in the archive itself (osintkit/localfeat.py): packed
    # ORB features, the distinct visual words (the candidate index is rebuilt from them)
    # and a small JPEG thumbnail (the copy/scene pixel check, the report's picture).
    # status: ok | missing (file unreadable when backfilled) | changed (the file at
    # `origin` is no longer the archived one) | empty (no features: a flat picture).
    # Items added before v6 are backfilled from their files (archive/local.py).
    blob = "BYTEA" if real == "DOUBLE PRECISION" else "BLOB"
    return [
        "CREATE TABLE IF NOT EXISTS local ("
        " item_id BIGINT PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,"
        f" status TEXT NOT NULL, features {blob}, words {blob}, thumb {blob})",
    ]


def _migration_video_shots(pk: str, real: str) -> list[str]:
    # What robust video matching needs of an archived video (archive/videostore.py): per
    # shot, the local features, words and thumbnail of the frame representing it (the
    # candidate index of video frames is rebuilt from `shots.words`); per video, a small
    # grey thumbnail of every sampled frame (`strips`: the time alignment of a cropped or
    # screen-recorded copy). strips.status: ok | missing | changed | empty, as local's;
    # a video without a strips row was added before v7 (`archive backfill`).
    blob = "BYTEA" if real == "DOUBLE PRECISION" else "BLOB"
    return [
        "CREATE TABLE IF NOT EXISTS shots ("
        f" id {pk},"
        " item_id BIGINT NOT NULL REFERENCES items(id) ON DELETE CASCADE,"
        f" t {real} NOT NULL, t0 {real} NOT NULL, t1 {real} NOT NULL,"
        f" features {blob}, words {blob}, thumb {blob})",
        "CREATE INDEX IF NOT EXISTS shots_item ON shots (item_id)",
        "CREATE TABLE IF NOT EXISTS strips ("
        " item_id BIGINT PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,"
        " status TEXT NOT NULL, width INTEGER, height INTEGER,"
        f" times {blob}, thumbs {blob})",
    ]


# Version n is reached by running MIGRATIONS[n - 1]. Append, never edit.
MIGRATIONS: list[Callable[[str, str], list[str]]] = [_migration_1, _migration_2, _migration_3,
                                                     _migration_4, _migration_source_posts,
                                                     _migration_local_features,
                                                     _migration_video_shots]
SCHEMA_VERSION = len(MIGRATIONS)  # renumbering a migration is moving it in this list


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
