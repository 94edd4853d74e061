"""Archive stage, the write side: hashed media into the archive, one transaction a batch.

`add` hashes files (in parallel) and writes them in batches, so a killed ingest keeps
every committed batch and a re-run skips files already in the archive (by sha256)
without re-hashing. `write_batch` is the one place rows are written: items, their frames,
sub-views and local features (robust.py), provenance (provenance.py).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from osintkit import errors
from osintkit.archive import provenance
from osintkit.archive.models import AddResult, clean_hashes, parse_date
from osintkit.errors import ArchiveError, ErrorInfo

Progress = Callable[[AddResult], None]
Record = tuple[Any, dict[str, Any]]  # (HashResult or KnownFile, meta)


@dataclass
class KnownFile:
    """A file whose sha256 is already archived: only its provenance is merged."""

    path: Path
    sha256: str
    ok: bool = True
    kind: str | None = None
    md5: str | None = None
    hashes: dict[str, Any] = field(default_factory=dict)
    frames: list[Any] = field(default_factory=list)


def knows(db: Any, sha256: str) -> bool:
    """Is a record with this key (sha256) archived?"""
    return bool(db.query("SELECT 1 FROM items WHERE key = ?", (sha256,)))


def add(db: Any, paths: Iterable[str | os.PathLike[str]], meta: dict[str, Any], jobs: int = 1,
        progress: Progress | None = None, batch_size: int = 32,
        on_skip: Callable[[Path, str], None] | None = None) -> list[AddResult]:
    """Hash files/directories and store them with `meta` (source, first_seen, title,
    tags); one result per input, bad files fail alone."""
    from osintkit.match.hashfile import file_digests, hash_paths
    from osintkit.media.probe import Input, iter_inputs

    sink = _Sink(db, batch_size, progress)
    todo: list[Input] = []
    for inp in iter_inputs(paths, on_skip):
        if inp.error:
            sink.done(AddResult(inp.path, False, "failed", error=inp.error))
            continue
        try:
            sha256, _ = file_digests(inp.path)
        except OSError as exc:
            sink.done(AddResult(inp.path, False, "failed", error=ErrorInfo(
                errors.UNREADABLE, f"{inp.path}: cannot read ({exc.strerror})")))
            continue
        if knows(db, sha256):  # re-add: merge provenance, skip hashing
            sink.push((KnownFile(inp.path, sha256), meta))
        else:
            todo.append(inp)
    from osintkit.archive import videostore

    for res in hash_paths(todo, jobs=jobs, pixels="archive"):
        videostore.attach(res)  # a video's shots and strip now: its kept pixels are dropped
        if not res.ok:
            sink.done(AddResult(res.path, False, "failed", kind=res.kind, error=res.error))
        else:
            sink.push((res, meta))
    sink.flush()
    return sink.results


class _Sink:
    """Results in input order; records written `size` at a time."""

    def __init__(self, db: Any, size: int, progress: Progress | None) -> None:
        self.db, self.size, self.progress = db, size, progress
        self.results: list[AddResult] = []
        self.pending: list[Record] = []

    def done(self, res: AddResult) -> None:
        self.results.append(res)
        if self.progress:
            self.progress(res)

    def push(self, record: Record) -> None:
        self.pending.append(record)
        if len(self.pending) >= self.size:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        try:
            written = write_batch(self.db, batch)
        except ArchiveError as exc:  # the batch is rolled back; report each file in it
            written = [AddResult(Path(r.path), False, "failed", sha256=r.sha256,
                                 error=exc.info()) for r, _ in batch]
        for res in written:
            self.done(res)


def add_meta(source: str | None, first_seen: Any, title: str | None = None,
             tags: Sequence[str] = ()) -> dict[str, Any]:
    """The provenance of an add: first_seen checked (ArchiveError on a bad date)."""
    return {"source": source, "first_seen": parse_date(first_seen), "title": title,
            "tags": list(tags)}


def write_batch(db: Any, batch: list[Record], strict: bool = False,
                after: Callable[[Any], None] | None = None) -> list[AddResult]:
    """Upsert (HashResult-like, meta) records in ONE transaction, results in input order.
    `strict`: one failed record rolls the batch back (ArchiveError); `after(cursor)` runs
    last in the same transaction."""
    from osintkit.archive import robust, videostore

    extras = {id(res): robust.index_extras(res) for res, _ in batch}  # decoded outside the lock
    for res, _ in batch:
        videostore.attach(res)  # a video's shots and strip (decoded again if not kept)

    def run(cur: Any) -> list[AddResult]:
        out = [_upsert(db, cur, res, meta, extras[id(res)]) for res, meta in  # one lock order
               sorted(batch, key=lambda b: getattr(b[0], "key", None) or b[0].sha256 or "")]
        bad = [r for r in out if not r.ok and r.error]
        if strict and bad:
            raise ArchiveError(bad[0].error.message)  # roll the whole batch back
        if after is not None:
            after(cur)
        if any(r.status != "unchanged" for r in out):
            db.bump(cur)
        return out
    by_path = {str(r.path): r for r in db.write(run)}
    return [by_path[str(res.path)] for res, _ in batch]


def _upsert(db: Any, cur: Any, res: Any, meta: dict[str, Any], extras: Any) -> AddResult:
    path = Path(res.path)
    key = getattr(res, "key", None) or res.sha256
    for _ in range(3):
        row = _lock_row(db, cur, key)
        if row is not None:
            status = provenance.after_merge(db, cur, row, meta, _merge(db, cur, row, meta))
            return AddResult(path, True, status, int(row[0]), res.sha256, row[4])
        if isinstance(res, KnownFile):
            break  # removed since we looked: hash it on the next run
        item_id = _insert(db, cur, res, meta, path, extras)
        if item_id is not None:
            return AddResult(path, True, "added", item_id, res.sha256, res.kind)
    return AddResult(path, False, "failed", sha256=res.sha256, error=ErrorInfo(
        errors.INTERNAL, f"{path}: changed concurrently, run the command again"))


def _lock_row(db: Any, cur: Any, key: str) -> tuple | None:
    lock = " FOR UPDATE" if db.pg else ""
    return db.execute(cur, "SELECT id, first_seen, source, tags, kind, title "
                           f"FROM items WHERE key = ?{lock}", (key,)).fetchone()


def _merge(db: Any, cur: Any, row: tuple, meta: dict[str, Any]) -> str:
    """Keep the earliest first_seen (with its source), add new tags, keep a title."""
    item_id, first_seen, source, tags, _, title = row
    old_tags = json.loads(tags or "[]")
    new_tags = old_tags + [t for t in meta["tags"] if t not in old_tags]
    new_first, new_source = first_seen, source
    if meta["first_seen"] and (not first_seen or meta["first_seen"] < first_seen):
        new_first, new_source = meta["first_seen"], meta["source"] or source
    new_title = title or meta.get("title")
    if (new_first, new_source, new_tags, new_title) == (first_seen, source, old_tags, title):
        return "unchanged"
    db.execute(cur, "UPDATE items SET first_seen = ?, source = ?, tags = ?, title = ? "
                    "WHERE id = ?", (new_first, new_source, json.dumps(new_tags), new_title,
                                     item_id))
    return "updated"


def _insert(db: Any, cur: Any, res: Any, meta: dict[str, Any], path: Path,
            extras: Any) -> int | None:
    h = clean_hashes(dict(res.hashes))
    key = getattr(res, "key", None) or res.sha256
    name = meta.get("name", path.name)  # hash-list imports have no file name
    origin = meta.get("origin", str(path))
    values = (key, res.sha256, res.md5, name, origin, meta["source"], meta["first_seen"],
              meta["title"], json.dumps(meta["tags"]), res.kind or "image",
              meta.get("added_at") or _now(),
              h.get("pdq"), h.get("pdq_quality"), h.get("phash"), h.get("dhash"))
    row = db.execute(
        cur, "INSERT INTO items (key, sha256, md5, name, origin, source, first_seen, title,"
             " tags, kind, added_at, pdq, pdq_quality, phash, dhash)"
             " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
             " ON CONFLICT (key) DO NOTHING RETURNING id", values).fetchone()
    if row is None:
        return None  # another process inserted it first: merge instead
    item_id = int(row[0])
    if meta.get("source_url"):
        provenance.set_source_url(db, cur, item_id, meta["source_url"])
    _insert_frames(db, cur, item_id, res.frames or [])
    from osintkit.archive import robust, videostore

    robust.insert_rows(db, cur, item_id, extras)
    videostore.insert_rows(db, cur, item_id, res)
    return item_id


def _insert_frames(db: Any, cur: Any, item_id: int, frames: Iterable[Any]) -> None:
    rows = {}
    for f in frames:
        h = clean_hashes(dict(f.hashes))
        rows[float(f.t)] = (item_id, float(f.t), h.get("pdq"), h.get("pdq_quality"),
                            h.get("phash"), h.get("dhash"))
    if rows:
        cur.executemany(db.sql("INSERT INTO frames (item_id, t, pdq, pdq_quality, "
                               "phash, dhash) VALUES (?, ?, ?, ?, ?, ?)"), list(rows.values()))


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
