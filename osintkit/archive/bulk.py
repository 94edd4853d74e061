"""Archive stage: bulk import of validated rows through a staging table (issue 17).

Partners' hash lists run to millions of rows. Going through `Archive.write_records` (one
SELECT ... FOR UPDATE, one INSERT and a Python merge per row, every record kept in
memory) took 166 s and 2 GB for 1M rows. Here:

  1. rows stream into a temporary staging table as they are validated (SQLite: batched
     executemany in one transaction; PostgreSQL: COPY), so memory stays flat;
  2. a file with any bad row stops there: the staging table is dropped, nothing written;
  3. otherwise ONE transaction merges the staging table into the archive: a single
     INSERT ... SELECT adds every new key (its first line in the file), ordered by key,
     with the secondary indexes rebuilt afterwards when the archive is small next to the
     import; keys that already existed (or repeat in the file) are merged with the same
     rules as `archive add` (earliest first_seen and its source, tags merged, title kept).
A killed import leaves the archive as it was: the merge is one transaction and the staging
table is temporary (gone with the connection).
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Callable, Iterable
from typing import Any

from osintkit.archive import provenance
from osintkit.errors import ArchiveError

STAGE_COLUMNS = ("line", "key", "sha256", "md5", "name", "origin", "source", "first_seen",
                 "title", "tags", "kind", "added_at", "pdq", "pdq_quality", "phash", "dhash",
                 "source_url")
ITEM_INSERT = ("key", "sha256", "md5", "name", "origin", "source", "first_seen", "title",
               "tags", "kind", "added_at", "pdq", "pdq_quality", "phash", "dhash")
SECONDARY = {"items_sha256": "items (sha256)", "items_md5": "items (md5)",
             "items_first_seen": "items (first_seen)"}
BATCH = 20_000
REBUILD_RATIO = 1.0  # rebuild secondary indexes when importing >= this many x the archive


SIDE = {  # staging table -> columns: rows that belong to an item of `stage` by its line
    "stage_frames": ("line", "t", "pdq", "pdq_quality", "phash", "dhash"),
    "stage_views": ("line", "view", "pdq", "pdq_quality"),
    "stage_features": ("line", "orb"),
}
Pending = Callable[[], tuple[list[tuple], list[tuple], list[tuple]]]


class Staging:
    """Temporary staging tables on the archive's own connection."""

    def __init__(self, archive: Any) -> None:
        self.archive, self.db = archive, archive.db
        self.pg = self.db.pg
        self.rows = 0
        self.side = dict.fromkeys(SIDE, 0)  # rows staged per side table
        self.urls = 0  # rows with a source_url
        real = "DOUBLE PRECISION" if self.pg else "REAL"
        line = "BIGINT" if self.pg else "INTEGER"  # SQLite: the rowid itself, no extra index
        self._run([*(f"DROP TABLE IF EXISTS {t}" for t in ("stage", *SIDE)),
                   f"CREATE TEMP TABLE stage (line {line} PRIMARY KEY, key TEXT NOT NULL, "
                   "sha256 TEXT, md5 TEXT, name TEXT, origin TEXT, source TEXT, first_seen TEXT,"
                   " title TEXT, tags TEXT, kind TEXT, added_at TEXT, pdq TEXT, "
                   "pdq_quality INTEGER, phash TEXT, dhash TEXT, source_url TEXT)",
                   f"CREATE TEMP TABLE stage_frames (line BIGINT NOT NULL, t {real} NOT NULL,"
                   " pdq TEXT, pdq_quality INTEGER, phash TEXT, dhash TEXT)",
                   "CREATE TEMP TABLE stage_views (line BIGINT NOT NULL, view TEXT NOT NULL, "
                   "pdq TEXT NOT NULL, pdq_quality INTEGER)",
                   "CREATE TEMP TABLE stage_features (line BIGINT NOT NULL, orb TEXT NOT NULL)"])

    def _tx(self, fn: Any) -> None:
        """One transaction on the staging tables only. Not `Store.write`: that retries by
        running `fn` again, and `fn` consumes a stream of rows. (Temporary tables are the
        connection's own, so no other writer ever holds their lock.)"""
        cur = self.db.cursor()
        try:
            if not self.pg:
                cur.execute("BEGIN")
            fn(cur)
            self.db.conn.commit()
        except BaseException:
            self.db.conn.rollback()
            raise
        finally:
            cur.close()

    def _run(self, statements: list[str]) -> None:
        def run(cur: Any) -> None:
            for stmt in statements:
                self.db.execute(cur, stmt)
        self._tx(run)

    def load(self, rows: Iterable[tuple], pending: Pending | None = None) -> None:
        """Stage validated rows (STAGE_COLUMNS) in batches; after each batch, the side rows
        `pending()` hands over (frames, views, features of those rows)."""
        it = iter(rows)

        def run(cur: Any) -> None:
            while batch := list(itertools.islice(it, BATCH)):
                self._write(cur, "stage", STAGE_COLUMNS, batch)
                self.rows += len(batch)
                self.urls += sum(1 for row in batch if row[-1])
                for table, side in zip(SIDE, pending() if pending else ((), (), ()),
                                       strict=True):
                    if side:
                        self._write(cur, table, SIDE[table], side)
                        self.side[table] += len(side)
        self._tx(run)
        if self.pg and self.rows > 1000:
            self._run(["ANALYZE stage"])  # plans of the merge

    def _write(self, cur: Any, table: str, cols: tuple[str, ...], rows: list[tuple]) -> None:
        if self.pg:  # COPY: PostgreSQL's bulk path
            with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cur.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES "
                            f"({', '.join('?' * len(cols))})", rows)

    def drop(self) -> None:
        self._run([f"DROP TABLE IF EXISTS {t}" for t in ("stage", *SIDE)])

    # ---------------------------------------------------------------- the merge
    def merge(self) -> dict[str, int]:
        """One transaction: new keys inserted, known keys merged. {added, updated, unchanged}."""
        return self.db.write(self._merge)

    def _merge(self, cur: Any) -> dict[str, int]:
        ex = self.db.execute
        top, count = ex(cur, "SELECT COALESCE(MAX(id), 0), COUNT(*) FROM items").fetchone()
        top = int(top)
        rebuild = self.rows >= REBUILD_RATIO * max(1, int(count)) and self.rows > 10_000
        if rebuild:  # a bulk load into a small archive: indexes built once, afterwards
            for name in SECONDARY:
                ex(cur, f"DROP INDEX IF EXISTS {name}")
        if self.pg:  # the key-ordered merge sorts in the server's memory, not on disk
            ex(cur, "SET LOCAL work_mem = '256MB'")
        self._insert_new(cur, fast=rebuild)
        added = int(ex(cur, "SELECT COUNT(*) FROM items WHERE id > ?", (top,)).fetchone()[0])
        if rebuild:
            for name, target in SECONDARY.items():
                ex(cur, f"CREATE INDEX IF NOT EXISTS {name} ON {target}")
        counts = {"added": added, "updated": 0, "unchanged": 0}
        simple = added == self.rows  # every row a new key: nothing to merge (the usual case)
        if not simple:
            ex(cur, "CREATE INDEX stage_key ON stage (key, line)")
        # the row each new item came from: its key's first line
        first = "" if simple else \
            " AND s.line = (SELECT MIN(s2.line) FROM stage s2 WHERE s2.key = s.key)"
        self._insert_side(cur, top, first)
        if not simple:
            self._merge_known(cur, top, first, counts)
            ex(cur, "DROP INDEX stage_key")
        if counts["added"] or counts["updated"]:
            self.db.bump(cur)
        return counts

    def _insert_side(self, cur: Any, top: int, first: str) -> None:
        """A new item's frames, sub-views, ORB signature and source URL, from its row."""
        ex = self.db.execute
        for table, target in (("stage_frames", "frames (item_id, t, pdq, pdq_quality, phash, "
                                                "dhash)"),
                              ("stage_views", "views (item_id, view, pdq, pdq_quality)"),
                              ("stage_features", "features (item_id, orb)")):
            if self.side[table]:
                cols = ", ".join(f"x.{c}" for c in SIDE[table][1:])
                ex(cur, f"INSERT INTO {target} SELECT i.id, {cols} FROM {table} x "
                        f"JOIN stage s ON s.line = x.line JOIN items i ON i.key = s.key "
                        f"WHERE i.id > ?{first}", (top,))
        if self.urls:
            ex(cur, "INSERT INTO item_sources (item_id, source_url) SELECT i.id, s.source_url "
                    "FROM stage s JOIN items i ON i.key = s.key "
                    f"WHERE i.id > ? AND s.source_url IS NOT NULL{first}", (top,))

    def _insert_new(self, cur: Any, fast: bool) -> None:
        """Every new key, from its first line, in key order (the unique index fills
        sequentially). `fast`: first try without ON CONFLICT (PostgreSQL's speculative
        insertion costs per row); a key already there or repeated falls back to it."""
        ex = self.db.execute
        cols = ", ".join(ITEM_INSERT)
        sql = f"INSERT INTO items ({cols}) SELECT {cols} FROM stage WHERE true ORDER BY key, line"
        if fast:
            ex(cur, "SAVEPOINT bulk_fast")
            try:
                unique = self._drop_unique_key(cur)
                # without the unique index, key order buys nothing: it is rebuilt by a sort
                ex(cur, sql.replace(" ORDER BY key, line", "") if unique else sql)
                if unique:  # rebuilt by one sort; a repeated key fails here, as it should
                    ex(cur, f'ALTER TABLE items ADD CONSTRAINT "{unique}" UNIQUE (key)')
                ex(cur, "RELEASE SAVEPOINT bulk_fast")
                return
            except ArchiveError as exc:
                if not _unique_violation(exc):
                    raise
                ex(cur, "ROLLBACK TO SAVEPOINT bulk_fast")
        ex(cur, f"{sql} ON CONFLICT (key) DO NOTHING")

    def _drop_unique_key(self, cur: Any) -> str | None:
        """PostgreSQL: drop the UNIQUE (key) constraint for the load (its name, to add it
        back). SQLite cannot drop it: it stays, and fills in key order anyway."""
        if not self.pg:
            return None
        row = self.db.execute(cur, "SELECT conname FROM pg_constraint WHERE conrelid = "
                                   "'items'::regclass AND contype = 'u'").fetchone()
        if row is None:
            return None
        self.db.execute(cur, f'ALTER TABLE items DROP CONSTRAINT "{row[0]}"')
        return str(row[0])

    def _merge_known(self, cur: Any, top: int, first: str, counts: dict[str, int]) -> None:
        """Rows whose key was archived before, or repeats in the file: merged in file order
        per key, as `Archive.add` merges a file added again. Rows that cannot change their
        item (no earlier date, no new tag, no title to fill, no URL) are counted in SQL."""
        known = f"FROM stage s JOIN items i ON i.key = s.key WHERE NOT (i.id > ?{first})"
        inert = ("(s.first_seen IS NULL OR (i.first_seen IS NOT NULL AND "
                 "s.first_seen >= i.first_seen)) AND (s.title IS NULL OR i.title IS NOT NULL) "
                 "AND (s.tags = '[]' OR s.tags = i.tags) AND s.source_url IS NULL")
        ex = self.db.execute
        counts["unchanged"] += int(ex(cur, f"SELECT COUNT(*) {known} AND {inert}",
                                      (top,)).fetchone()[0])
        reader = self.db.conn.cursor(name="osintkit_merge") if self.pg else self.db.cursor()
        try:
            ex(reader, "SELECT s.key, s.first_seen, s.source, s.tags, s.title, s.source_url, "
                       f"i.id, i.first_seen, i.source, i.tags, i.title {known} AND NOT ({inert})"
                       " ORDER BY s.key, s.line", (top,))
            self._apply(cur, reader, counts)
        finally:
            reader.close()

    def _apply(self, cur: Any, rows: Any, counts: dict[str, int]) -> None:
        updates: list[tuple] = []
        state: list[Any] | None = None
        last = None
        for key, first, source, tags, title, url, item_id, *old in rows:
            if key != last:
                if state is not None and state[-1]:
                    updates.append((*state[1:5], state[0]))
                state, last = [item_id, *old, False], key
            before = state[1]
            status = _merge_into(state, first, source, json.loads(tags or "[]"), title)
            if url:  # the source URL moves with first_seen (archive/provenance.py)
                status = provenance.after_merge(self.db, cur, (item_id, before),
                                                {"source_url": url, "first_seen": first},
                                                status)
            counts[status] += 1
            if len(updates) >= BATCH:
                self._update(cur, updates)
        if state is not None and state[-1]:
            updates.append((*state[1:5], state[0]))
        self._update(cur, updates)

    def _update(self, cur: Any, updates: list[tuple]) -> None:
        if updates:
            cur.executemany(self.db.sql("UPDATE items SET first_seen = ?, source = ?, tags = ?,"
                                        " title = ? WHERE id = ?"), updates)
            updates.clear()


def _unique_violation(exc: ArchiveError) -> bool:
    cause = exc.__cause__
    if isinstance(cause, sqlite3.IntegrityError):
        return True
    return type(cause).__name__ == "UniqueViolation"


def _merge_into(state: list[Any], first: str | None, source: str | None, tags: list[str],
                title: str | None) -> str:
    """Apply one row to an item's running state [id, first_seen, source, tags_json, title,
    changed]: the rules of core.Archive._merge. Returns "updated" or "unchanged"."""
    _, old_first, old_source, old_tags_json, old_title, _ = state
    old_tags = json.loads(old_tags_json or "[]")
    new_tags = old_tags + [t for t in tags if t not in old_tags]
    new_first, new_source = old_first, old_source
    if first and (not old_first or first < old_first):
        new_first, new_source = first, source or old_source
    new_title = old_title or title
    if (new_first, new_source, new_tags, new_title) == (old_first, old_source, old_tags,
                                                         old_title):
        return "unchanged"
    state[1:6] = [new_first, new_source, json.dumps(new_tags), new_title, True]
    return "updated"
