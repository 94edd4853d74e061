"""Archive stage: `Archive` — add hashed media, search it, list/remove records.

Flow position: after media (hashing.py), before checks. `add` hashes files (in parallel)
and writes them in one transaction per batch, so a killed ingest keeps every committed
batch and a re-run skips files already in the archive (by sha256) without re-hashing.
`search` looks up exact digests, then near matches in the packed index (index.py),
cached next to an SQLite archive and rebuilt when the archive's change counter moves.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from osintkit import errors
from osintkit.archive import provenance
from osintkit.archive import robust as _robust
from osintkit.archive import store as st
from osintkit.archive import videosearch as _video
from osintkit.archive import videostore as _vstore
from osintkit.archive.models import (
    AddResult,
    FrameMatch,
    Item,
    Match,
    SearchResult,
    clean_hashes,
    parse_date,
)
from osintkit.archive.search import (
    DEFAULT_MAX,
    FRAME_DISTANCE,
    Pair,
    QueryUnit,
    RowSet,
    loose_pairs,
    match_units,
    row_t,
    units_of,
)
from osintkit.errors import ArchiveError, ErrorInfo, error_info

Progress = Callable[[AddResult], None]
_COLS = ", ".join(st.ITEM_COLUMNS)
# Test hook: pause inside the Nth write transaction (after its first insert) so a test can
# kill a real `archive add` mid-batch. Prints PAUSE_MARKER to stderr, then waits forever.
PAUSE_ENV = "OSINTKIT_ARCHIVE_TEST_PAUSE_IN_BATCH"
PAUSE_MARKER = "osintkit-archive-paused"


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


class Archive:
    """An archive of known material in SQLite or PostgreSQL (see `open_archive`)."""

    def __init__(self, db: st.Store) -> None:
        self.db = db
        self.url = db.target.url
        self._rows: RowSet | None = None
        self._stamp: str | None = None
        self._words: tuple[str, Any] | None = None  # (stamp, bow.WordIndex)
        self._counts: tuple[str, dict[str, int]] | None = None
        self._batches = 0
        self.last_notes: list[str] = []  # what the last search skipped or could not do

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ add
    def add(self, paths: Iterable[str | os.PathLike[str]], source: str | None,
            first_seen: Any, title: str | None = None, tags: Sequence[str] = (),
            jobs: int = 1, progress: Progress | None = None, batch_size: int = 32,
            on_skip: Callable[[Path, str], None] | None = None) -> list[AddResult]:
        """Hash files/directories and store them; idempotent (re-adding keeps the earliest
        first_seen, merges tags). One result per input; bad files fail alone."""
        from osintkit.hashing import file_digests, hash_paths
        from osintkit.media.probe import Input, iter_inputs

        seen = parse_date(first_seen)
        meta = {"source": source, "first_seen": seen, "title": title, "tags": list(tags)}
        results: list[AddResult] = []
        todo: list[Input] = []
        pending: list[tuple[Any, dict[str, Any]]] = []
        for inp in iter_inputs(paths, on_skip):
            if inp.error:
                self._done(results, AddResult(inp.path, False, "failed", error=inp.error),
                           progress)
                continue
            try:
                sha256, _ = file_digests(inp.path)
            except OSError as exc:
                info = ErrorInfo(errors.UNREADABLE, f"{inp.path}: cannot read ({exc.strerror})")
                self._done(results, AddResult(inp.path, False, "failed", error=info), progress)
                continue
            if self._known(sha256):  # re-add: merge provenance, skip hashing
                pending.append((_Known(inp.path, sha256), meta))
                self._flush_if(pending, batch_size, results, progress)
            else:
                todo.append(inp)
        for res in hash_paths(todo, jobs=jobs, pixels="archive"):
            _vstore.attach(res)  # a video's shots and strip now: its pixels are dropped
            if not res.ok:
                self._done(results, AddResult(res.path, False, "failed", kind=res.kind,
                                              error=res.error), progress)
                continue
            pending.append((res, meta))
            self._flush_if(pending, batch_size, results, progress)
        self._flush_if(pending, 1, results, progress)
        return results

    def add_hashed(self, result: Any, source: str | None, first_seen: Any,
                   title: str | None = None, tags: Sequence[str] = (),
                   name: str | None = None, origin: str | None = None) -> AddResult:
        """Store one already computed HashResult (e.g. from `osintkit fetch`)."""
        if not result.ok:
            return AddResult(Path(result.path), False, "failed", error=result.error)
        meta = {"source": source, "first_seen": parse_date(first_seen), "title": title,
                "tags": list(tags), "name": name or Path(result.path).name,
                "origin": origin or str(result.path)}
        return self._write_batch([(result, meta)])[0]

    def write_records(self, records: list[tuple[Any, dict[str, Any]]],
                      after: Callable[[Any], None] | None = None) -> list[AddResult]:
        """Upsert (HashResult-like, meta) pairs in ONE transaction: all or nothing.

        `after(cursor)` runs last in the same transaction (e.g. marking a post archived).
        `meta["source_url"]`: the post or page the copy came from (archive/provenance.py).
        """
        if not records and after is None:
            return []
        return self._write_batch(records, strict=True, after=after)

    def _known(self, sha256: str) -> bool:
        return bool(self.db.query("SELECT 1 FROM items WHERE key = ?", (sha256,)))

    def _done(self, results: list[AddResult], res: AddResult, progress: Progress | None) -> None:
        results.append(res)
        if progress:
            progress(res)

    def _flush_if(self, pending: list, size: int, results: list[AddResult],
                  progress: Progress | None) -> None:
        if pending and len(pending) >= size:
            batch = list(pending)
            pending.clear()
            try:
                written = self._write_batch(batch)
            except ArchiveError as exc:  # the batch is rolled back; report each file in it
                written = [AddResult(Path(r.path), False, "failed", sha256=r.sha256,
                                     error=exc.info()) for r, _ in batch]
            for res in written:
                self._done(results, res, progress)

    def _write_batch(self, batch: list[tuple[Any, dict[str, Any]]],
                     strict: bool = False,
                     after: Callable[[Any], None] | None = None) -> list[AddResult]:
        self._batches += 1
        number = self._batches
        for res, _ in batch:  # decode for sub-views and features outside the write lock
            _robust.attach(res)
            _vstore.attach(res)

        def run(cur: Any) -> list[AddResult]:
            out = [self._upsert(cur, res, meta) for res, meta in  # same lock order everywhere
                   sorted(batch, key=lambda b: getattr(b[0], "key", None) or b[0].sha256 or "")]
            _maybe_pause(number)
            bad = [r for r in out if not r.ok and r.error]
            if strict and bad:
                raise ArchiveError(bad[0].error.message)  # roll the whole batch back
            if after is not None:
                after(cur)
            if any(r.status != "unchanged" for r in out):
                self.db.bump(cur)
            return out
        by_path = {str(r.path): r for r in self.db.write(run)}
        return [by_path[str(res.path)] for res, _ in batch]

    def _upsert(self, cur: Any, res: Any, meta: dict[str, Any]) -> AddResult:
        path = Path(res.path)
        key = getattr(res, "key", None) or res.sha256
        for _ in range(3):
            row = self._lock_row(cur, key)
            if row is not None:
                status = provenance.after_merge(self.db, cur, row, meta,
                                                self._merge(cur, row, meta))
                return AddResult(path, True, status, int(row[0]), res.sha256, row[4])
            if isinstance(res, _Known):
                break  # removed since we looked: hash it on the next run
            item_id = self._insert(cur, res, meta, path)
            if item_id is not None:
                return AddResult(path, True, "added", item_id, res.sha256, res.kind)
        return AddResult(path, False, "failed", sha256=res.sha256, error=ErrorInfo(
            errors.INTERNAL, f"{path}: changed concurrently, run the command again"))

    def _lock_row(self, cur: Any, key: str) -> tuple | None:
        lock = " FOR UPDATE" if self.db.pg else ""
        return self.db.execute(cur, "SELECT id, first_seen, source, tags, kind, title "
                                    f"FROM items WHERE key = ?{lock}", (key,)).fetchone()

    def _merge(self, cur: Any, row: tuple, meta: dict[str, Any]) -> str:
        item_id, first_seen, source, tags, _, title = row
        old_tags = json.loads(tags or "[]")
        new_tags = old_tags + [t for t in meta["tags"] if t not in old_tags]
        new_first, new_source = first_seen, source
        if meta["first_seen"] and (not first_seen or meta["first_seen"] < first_seen):
            new_first, new_source = meta["first_seen"], meta["source"] or source
        new_title = title or meta.get("title")
        if (new_first, new_source, new_tags, new_title) == (first_seen, source, old_tags, title):
            return "unchanged"
        self.db.execute(cur, "UPDATE items SET first_seen = ?, source = ?, tags = ?, title = ? "
                             "WHERE id = ?",
                        (new_first, new_source, json.dumps(new_tags), new_title, item_id))
        return "updated"

    def _insert(self, cur: Any, res: Any, meta: dict[str, Any], path: Path) -> int | None:
        h = clean_hashes(dict(res.hashes))
        key = getattr(res, "key", None) or res.sha256
        name = meta.get("name", path.name)  # hash-list imports have no file name
        origin = meta.get("origin", str(path))
        values = (key, res.sha256, res.md5, name, origin, meta["source"], meta["first_seen"],
                  meta["title"], json.dumps(meta["tags"]), res.kind or "image",
                  meta.get("added_at") or _now(),
                  h.get("pdq"), h.get("pdq_quality"), h.get("phash"), h.get("dhash"))
        row = self.db.execute(
            cur, "INSERT INTO items (key, sha256, md5, name, origin, source, first_seen, title,"
                 " tags, kind, added_at, pdq, pdq_quality, phash, dhash)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                 " ON CONFLICT (key) DO NOTHING RETURNING id", values).fetchone()
        if row is None:
            return None  # another process inserted it first: merge instead
        item_id = int(row[0])
        if meta.get("source_url"):
            provenance.set_source_url(self.db, cur, item_id, meta["source_url"])
        self._insert_frames(cur, item_id, res.frames or [])
        _robust.insert_rows(self.db, cur, item_id, res)
        _vstore.insert_rows(self.db, cur, item_id, res)
        return item_id

    def _insert_frames(self, cur: Any, item_id: int, frames: Iterable[Any]) -> None:
        rows = {}
        for f in frames:
            h = clean_hashes(dict(f.hashes))
            rows[float(f.t)] = (item_id, float(f.t), h.get("pdq"), h.get("pdq_quality"),
                                h.get("phash"), h.get("dhash"))
        if rows:
            cur.executemany(self.db.sql("INSERT INTO frames (item_id, t, pdq, pdq_quality, "
                                        "phash, dhash) VALUES (?, ?, ?, ?, ?, ?)"),
                            list(rows.values()))

    # ------------------------------------------------------------------ search
    def search(self, result: Any, max_distance: int | dict[str, int] | None = None,
               limit: int = 20, variants: dict[str, str] | None = None,
               with_views: bool = True, robust: bool = True,
               frame_distance: int = FRAME_DISTANCE, picture: Any = None,
               candidates: int | None = None, deep: bool | int | None = None) -> list[Match]:
        """Matches of one HashResult, best first: exact (sha256/md5), near (a copy), then
        scene (another shot of the same scene). Notes on skipped steps: `last_notes`.

        Hashes: PDQ over 8 dihedral transforms, pHash untransformed; video frames against
        images/frames. When a video is involved, `Match.frame_matches` lists every frame
        pair of that item within max_distance, plus (for video items) those within
        `frame_distance` PDQ bits in the best match's transform (segments.py).

        `with_views`: an image query also searches its content region and sub-views
        against archived sub-views (views.py). `robust` (the default): then candidates
        from the local-feature index, geometric confirmation on the stored features and
        the copy-or-scene decision (robust.py); off, it is the hash views only (`--fast`:
        no scene verdict, and pHash-only or low-detail matches are dropped). `picture`:
        the query as a robust.QueryPicture (made from the file when not given).
        `candidates`: how many the word index proposes (default robust.CANDIDATES).
        `deep` is the former name of `robust` (an int sets `candidates`)."""
        if deep is not None:
            robust, candidates = bool(deep), (int(deep) if deep is not True and deep else
                                              candidates)
        self.last_notes = []
        limits = _limits(max_distance)
        matches = self._exact(result)
        units = units_of(result, variants)
        is_image = bool(units) and all(u.t is None for u in units)
        qp = picture
        if qp is None and (with_views or robust) and is_image:
            qp = _robust.query_picture(result)
        video = _video.query(result) if robust and not is_image else None
        if with_views:
            units += _robust.view_units(qp) + _video.box_units(video)
        near = self._hash_matches(result, units, limits, matches, frame_distance)
        exact = [m for m in matches if m.match == "exact"]
        if not is_image and units:  # a video: segments, and its robust search (videosearch.py)
            near, notes = _video.search(self, result, video, near, exact, candidates)
            self.last_notes += notes
        else:
            near = self._judge(result, qp, near, exact, robust, is_image, candidates)
        out = exact + near
        out = out[:limit] if limit else out
        provenance.attach(self.db, out)  # the post each archived copy came from
        return out

    def _hash_matches(self, result: Any, units: list[QueryUnit], limits: dict[str, int],
                      matches: list[Match], frame_distance: int) -> list[Match]:
        """Near matches by the hash index (appended to `matches` beside the exact ones),
        with their frame pairs; returns the near ones, best first."""
        seen = {m.item_id for m in matches}
        rows = self.rows()
        by_item = match_units(rows, units, limits) if units and len(rows) else {}
        _robust.prefer_simple(by_item, units, limits["pdq"])
        near_ids = [i for i in by_item if i not in seen]
        items = self._items(near_ids)
        for item_id in near_ids:
            if item_id in items:
                matches.append(_near(items[item_id], by_item[item_id], rows, units))
        for m in matches:  # every frame pair near enough to extend a segment
            if m.item_id in by_item:
                pairs = by_item[m.item_id]
                known = {(p.unit, p.row) for p in pairs}
                loose = [p for p in loose_pairs(rows, units, m.item_id, pairs[0].transform,
                                                max(frame_distance, limits["pdq"]))
                         if (p.unit, p.row) not in known]
                m.frame_matches = _frames(pairs + loose, rows, units)
        near = sorted((m for m in matches if m.match == "near"), key=_match_key)
        _robust.annotate(self.db, near, rows, {i: p[0].row for i, p in by_item.items()})
        return near

    def _judge(self, result: Any, qp: Any, near: list[Match], exact: list[Match],
               robust: bool, is_image: bool, candidates: int | None) -> list[Match]:
        """Robust: candidates, fits and copy/scene (robust.run). Fast: hashes only, no
        lone weak hash."""
        if robust and qp is not None:
            near, notes = _robust.run(self, result, qp, near, {m.item_id for m in exact},
                                      candidates or _robust.CANDIDATES)
            self.last_notes += notes
            return near
        if not is_image:
            return near
        if robust:
            self.last_notes.append("the query picture could not be decoded again: "
                                   "hashes only, no geometric confirmation")
        qh = getattr(result, "hashes", None) or {}
        got = self._items([m.item_id for m in near])
        near = [m for m in near if _robust.hash_trust(m, qh, got.get(m.item_id))[0]]
        for m in near:
            m.basis = "hashes"
        return near

    def search_picture(self, img: Any, max_distance: int | dict[str, int] | None = None,
                       limit: int = 20, robust: bool = True) -> list[Match]:
        """Search a decoded picture (a photo, a video frame): the same robust path as a
        file, for callers that already hold the pixels."""
        from osintkit.hashing import HashResult, hash_with_variants, shrink, to_rgb

        img = to_rgb(img)
        hashes, variants = hash_with_variants(shrink(img), ("pdq", "phash", "dhash"))
        res = HashResult(Path("<picture>"), True, "image", hashes=hashes, variants=variants,
                         width=img.width, height=img.height)
        qp = _robust.QueryPicture.of(img) if robust else None
        return self.search(res, max_distance, limit, robust=robust, picture=qp)

    def search_paths(self, paths: Iterable[str | os.PathLike[str]],
                     max_distance: int | dict[str, int] | None = None, limit: int = 20,
                     jobs: int = 1, on_skip: Callable[[Path, str], None] | None = None,
                     robust: bool = True, candidates: int | None = None) -> list[SearchResult]:
        """Hash each file (directories expanded) and search it; bad files fail alone."""
        from osintkit.hashing import hash_paths
        from osintkit.media.probe import iter_inputs

        out = []
        for res in hash_paths(list(iter_inputs(paths, on_skip)), jobs=jobs, pixels=robust):
            if not res.ok:
                out.append(SearchResult(Path(res.path), False, error=res.error, kind=res.kind))
                continue
            try:
                matches = self.search(res, max_distance, limit, robust=robust,
                                      candidates=candidates)
            except ArchiveError:
                raise  # the archive itself failed: no point trying the next file
            except Exception as exc:  # one bad query never stops the batch
                info = error_info(exc)
                out.append(SearchResult(Path(res.path), False, error=ErrorInfo(
                    info.code, f"{res.path}: {info.message}"), kind=res.kind))
                continue
            out.append(SearchResult(Path(res.path), True, matches, kind=res.kind,
                                    sha256=res.sha256, notes=list(self.last_notes)))
        return out

    def _exact(self, result: Any) -> list[Match]:
        conds, params = [], []
        for col in ("sha256", "md5"):
            if getattr(result, col, None):
                conds.append(f"{col} = ?")
                params.append(getattr(result, col))
        if not conds:
            return []
        rows = self.db.query(f"SELECT {_COLS} FROM items WHERE {' OR '.join(conds)} "
                             "ORDER BY first_seen, id", params)
        out = []
        for row in rows:
            item = Item.from_row(row)
            dist = {k: 0 for k in ("pdq", "phash", "dhash") if k in item.hashes}
            if item.kind == "video":
                dist = {}
            out.append(_match(item, dist, "none", "exact", None, None))
        return out

    def _items(self, ids: list[int]) -> dict[int, Item]:
        out: dict[int, Item] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ", ".join("?" * len(chunk))
            for row in self.db.query(f"SELECT {_COLS} FROM items WHERE id IN ({marks})", chunk):
                item = Item.from_row(row)
                out[item.id] = item
        return out

    # ------------------------------------------------------------------ index
    def stamp(self) -> str:
        """Changes whenever the archive's content changes (archive id + change counter)."""
        meta = self.db.meta()
        return f"{meta.get('archive_id')}:{meta.get('generation')}"

    def cache_path(self) -> Path | None:
        """Where the packed index is cached: next to an SQLite archive; for PostgreSQL in
        the user cache directory, one file per archive id (None if that cannot be made)."""
        path = self.db.target.path
        if path is not None:
            return path.with_name(path.name + ".index.npz")
        import platformdirs

        archive_id = self.db.meta().get("archive_id", "unknown")
        folder = platformdirs.user_cache_path("osintkit")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return None
        return folder / f"index-{archive_id}.npz"

    def rows(self) -> RowSet:
        """The packed index: from memory, the on-disk cache, caught up by appending the
        items added since (when none were removed), or rebuilt from the database."""
        stamp = self.stamp()
        if self._rows is not None and self._stamp == stamp:
            return self._rows
        cache = self.cache_path()
        base = (self._stamp, self._rows) if self._rows is not None else None
        if base is None and cache is not None:
            base = RowSet.load(cache)
            if base is not None and base[0].split(":")[0] != stamp.split(":")[0]:
                base = None  # a cache of another archive (file replaced)
        if base is not None and base[0] == stamp:
            self._stamp, self._rows = base
            return base[1]
        stamp, rows = self.db.snapshot(lambda cur: self._refresh(cur, base[1] if base else None))
        if cache is not None:
            rows.save(cache, stamp)
        self._rows, self._stamp = rows, stamp
        return rows

    def words(self) -> Any:
        """The candidate index over local features (bow.WordIndex), kept up to date."""
        from osintkit.archive.bow import archive_words

        return archive_words(self)

    def local_counts(self) -> dict[str, int]:
        """Archived images by local-feature status (cached until the archive changes)."""
        from osintkit.archive.local import counts

        stamp = self.stamp()
        if self._counts is None or self._counts[0] != stamp:
            self._counts = (stamp, counts(self.db))
        return self._counts[1]

    def backfill(self, retry: bool = False, limit: int | None = None, jobs: int = 1,
                 progress: Callable[[int, str], None] | None = None) -> Any:
        """Local features for archived images that have none (archive/local.py)."""
        from osintkit.archive.local import backfill

        return backfill(self, retry=retry, limit=limit, jobs=jobs, progress=progress)

    def _refresh(self, cur: Any, base: RowSet | None) -> tuple[str, RowSet]:
        """(stamp, index) read in one snapshot, appending to `base` when it is a prefix."""
        ex = self.db.execute
        generation = ex(cur, "SELECT value FROM meta WHERE key = 'generation'").fetchone()[0]
        archive_id = ex(cur, "SELECT value FROM meta WHERE key = 'archive_id'").fetchone()[0]
        top, count = ex(cur, "SELECT COALESCE(MAX(id), 0), COUNT(*) FROM items").fetchone()
        now = (int(top), int(count))
        after = 0
        if base is not None and base.base[0] <= now[0]:
            kept = ex(cur, "SELECT COUNT(*) FROM items WHERE id <= ?", (base.base[0],)).fetchone()
            after = base.base[0] if int(kept[0]) == base.base[1] else 0  # nothing removed
        new = RowSet.from_rows(ex(cur, _ROWS_SQL, (after, after, after)).fetchall(), now)
        rows = base.extend(new, now) if after and base is not None else new
        return f"{archive_id}:{generation}", rows

    # ------------------------------------------------------------------ records
    def get(self, item_id: int) -> Item | None:
        """One full record with its frames."""
        rows = self.db.query(f"SELECT {_COLS} FROM items WHERE id = ?", (item_id,))
        if not rows:
            return None
        item = Item.from_row(rows[0])
        item.frames = self.frames_of([item.id]).get(item.id, [])
        provenance.attach(self.db, [item])
        return item

    def frames_of(self, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
        """item id -> [{"t", "hashes"}] for the given (video) items."""
        out: dict[int, list[dict[str, Any]]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ", ".join("?" * len(chunk))
            for item_id, t, pdq, quality, phash, dhash in self.db.query(
                    f"SELECT {', '.join(st.FRAME_COLUMNS)} FROM frames "
                    f"WHERE item_id IN ({marks}) ORDER BY item_id, t", chunk):
                hashes = {k: v for k, v in (("pdq", pdq), ("pdq_quality", quality),
                                            ("phash", phash), ("dhash", dhash)) if v is not None}
                out.setdefault(int(item_id), []).append({"t": t, "hashes": hashes})
        return out

    def list(self, limit: int | None = None, source: str | None = None,
             with_frames: bool = False) -> list[Item]:
        """Records, oldest first_seen first."""
        where, params = ("WHERE source = ?", [source]) if source else ("", [])
        tail = f" LIMIT {int(limit)}" if limit else ""
        items = [Item.from_row(r) for r in self.db.query(
            f"SELECT {_COLS} FROM items {where} ORDER BY first_seen, id{tail}", params)]
        if with_frames:
            frames = self.frames_of([i.id for i in items if i.kind == "video"])
            for item in items:
                item.frames = frames.get(item.id, [])
        provenance.attach(self.db, items)
        return items

    def stats(self) -> dict[str, Any]:
        """Counts by kind and source, date range, schema version, engine."""
        q = self.db.query
        kinds = dict(q("SELECT kind, COUNT(*) FROM items GROUP BY kind"))
        sources = dict(q("SELECT COALESCE(source, ''), COUNT(*) FROM items GROUP BY source"))
        first, last = q("SELECT MIN(first_seen), MAX(first_seen) FROM items")[0]
        meta = self.db.meta()
        return {"db": st.redact(self.url), "engine": self.db.dialect,
                "schema_version": int(meta.get("schema_version", 0)),
                "items": sum(kinds.values()), "kinds": kinds, "sources": sources,
                "frames": q("SELECT COUNT(*) FROM frames")[0][0],
                "local_features": self.local_counts(),
                "first_seen_min": first, "first_seen_max": last}

    def remove(self, ids: Iterable[int] = (), sha256s: Iterable[str] = ()) -> int:
        """Delete records by id or sha256 (with their frames); returns how many went."""
        ids, shas = [int(i) for i in ids], [s.lower() for s in sha256s]

        def run(cur: Any) -> int:
            n = 0
            for col, values in (("id", ids), ("sha256", shas)):
                for v in values:
                    found = self.db.execute(cur, f"SELECT id FROM items WHERE {col} = ?",
                                            (v,)).fetchall()
                    for (item_id,) in found:
                        self.db.execute(cur, "DELETE FROM frames WHERE item_id = ?", (item_id,))
                        self.db.execute(cur, "DELETE FROM items WHERE id = ?", (item_id,))
                        n += 1
            if n:
                self.db.bump(cur)
            return n
        return self.db.write(run)


_ROWS_SQL = ("SELECT id, NULL, pdq, phash FROM items WHERE id > ? AND kind <> 'video' AND "
             "(pdq IS NOT NULL OR phash IS NOT NULL) "
             "UNION ALL SELECT item_id, t, pdq, phash FROM frames WHERE item_id > ? "
             "UNION ALL SELECT item_id, NULL, pdq, NULL FROM views WHERE item_id > ?")


class _Known:
    """A file whose sha256 is already archived: only its provenance is merged."""

    def __init__(self, path: Path, sha256: str) -> None:
        self.path, self.sha256 = path, sha256
        self.ok, self.kind, self.md5, self.hashes, self.frames = True, None, None, {}, []


def _maybe_pause(batch_number: int) -> None:
    want = os.environ.get(PAUSE_ENV)
    if want and want.isdigit() and int(want) == batch_number:
        sys.stderr.write(PAUSE_MARKER + "\n")
        sys.stderr.flush()
        while True:  # until the test kills us
            time.sleep(60)


def _limits(max_distance: int | dict[str, int] | None) -> dict[str, int]:
    limits = dict(DEFAULT_MAX)
    if isinstance(max_distance, int):
        limits["pdq"] = max_distance
    elif max_distance:
        unknown = set(max_distance) - set(limits)
        if unknown:
            raise ArchiveError(f"unknown hash kind(s) in --max-distance: "
                               f"{', '.join(sorted(unknown))} (use pdq, phash)", code="usage")
        limits.update({k: int(v) for k, v in max_distance.items()})
    return limits


def _match(item: Item, distance: dict[str, int], transform: str, kind: str,
           query_t: float | None, item_t: float | None) -> Match:
    return Match(item.id, item.name, item.sha256, item.source, item.first_seen, item.kind,
                 distance, transform, kind, query_t, item_t, item.title, item.tags, item.md5)


def _dist(pair: Pair) -> dict[str, int]:
    return {k: v for k, v in (("pdq", pair.pdq), ("phash", pair.phash)) if v is not None}


def _frames(pairs: list[Pair], rows: RowSet, units: list[QueryUnit]) -> list[FrameMatch]:
    if all(units[p.unit].t is None and row_t(rows, p.row) is None for p in pairs):
        return []  # image against image: nothing beyond the match itself
    out = [FrameMatch(units[p.unit].t, row_t(rows, p.row), _dist(p), p.transform)
           for p in pairs]
    return sorted(out, key=lambda f: (f.query_t or 0.0, f.item_t or 0.0))


def _near(item: Item, pairs: list[Pair], rows: RowSet, units: list[QueryUnit]) -> Match:
    best = pairs[0]
    m = _match(item, _dist(best), best.transform, "near", units[best.unit].t,
               row_t(rows, best.row))
    m.frame_matches = _frames(pairs, rows, units)
    m.query_view, m.query_region = units[best.unit].view, units[best.unit].region
    return m


def _match_key(m: Match) -> tuple:
    d = m.distance.get("pdq")
    score = d if d is not None else 4 * m.distance.get("phash", 64)
    return (score, m.first_seen or "9999", m.item_id)


def open_archive(url: str | None = None, create: bool = True) -> Archive:
    """Open the archive at `url` (sqlite:///path, a path, postgresql://...; None = the
    default file in the user data directory). ArchiveError (one line) when unusable."""
    archive = Archive(st.connect(url, create=create))
    try:  # a small archive from before schema v6 gets its local features right away
        from osintkit.archive.local import AUTO_BACKFILL

        pending = archive.local_counts().get("pending", 0)
        if 0 < pending <= AUTO_BACKFILL:
            archive.backfill()
    except ArchiveError:
        pass  # e.g. a read-only archive: searches say what is missing
    return archive
