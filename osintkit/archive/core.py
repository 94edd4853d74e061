"""Archive stage: `Archive` — add hashed media, search it, list/remove records.

Flow position: after media (hashing.py), before checks. `add` and `write_records` go to
write.py (one transaction per batch: a killed ingest keeps every committed batch).
`search` looks up exact digests, then near matches in the packed index (index.py, turned
into matches by matches.py), cached next to an SQLite archive and rebuilt when the
archive's change counter moves; then the robust stage (robust.py) judges them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from osintkit.archive import lookup as hits
from osintkit.archive import provenance, write
from osintkit.archive import store as st
from osintkit.archive.models import AddResult, Item, Match, SearchResult
from osintkit.archive.write import Progress
from osintkit.errors import ArchiveError, ErrorInfo, error_info

if TYPE_CHECKING:  # numpy-backed (search.py, robust.py): imported by the searches themselves
    from osintkit.archive.search import QueryUnit, RowSet


class Archive:
    """An archive of known material in SQLite or PostgreSQL (see `open_archive`)."""

    def __init__(self, db: st.Store) -> None:
        self.db = db
        self.url = db.target.url
        self._rows: RowSet | None = None
        self._stamp: str | None = None
        self._words: tuple[str, Any] | None = None  # (stamp, bow.WordIndex)
        self._counts: tuple[str, dict[str, int]] | None = None
        self.last_notes: list[str] = []  # what the last search skipped or could not do
        # indexes other modules build over this archive, with the stamp they were built at
        # (archive/videostore.py shot_words): dropped with the Archive
        self.memo: dict[str, Any] = {}

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ add (write.py)
    def add(self, paths: Iterable[str | os.PathLike[str]], source: str | None,
            first_seen: Any, title: str | None = None, tags: Sequence[str] = (),
            jobs: int = 1, progress: Progress | None = None, batch_size: int = 32,
            on_skip: Callable[[Path, str], None] | None = None) -> list[AddResult]:
        """Hash files/directories and store them; idempotent (re-adding keeps the earliest
        first_seen, merges tags). One result per input; bad files fail alone."""
        meta = write.add_meta(source, first_seen, title, tags)
        return write.add(self.db, paths, meta, jobs=jobs, progress=progress,
                         batch_size=batch_size, on_skip=on_skip)

    def add_hashed(self, result: Any, source: str | None, first_seen: Any,
                   title: str | None = None, tags: Sequence[str] = (),
                   name: str | None = None, origin: str | None = None) -> AddResult:
        """Store one already computed HashResult (e.g. from `osintkit fetch`)."""
        if not result.ok:
            return AddResult(Path(result.path), False, "failed", error=result.error)
        meta = {**write.add_meta(source, first_seen, title, tags),
                "name": name or Path(result.path).name, "origin": origin or str(result.path)}
        return write.write_batch(self.db, [(result, meta)])[0]

    def write_records(self, records: list[tuple[Any, dict[str, Any]]],
                      after: Callable[[Any], None] | None = None) -> list[AddResult]:
        """Upsert (HashResult-like, meta) pairs in ONE transaction: all or nothing.

        `after(cursor)` runs last in the same transaction (e.g. marking a post archived).
        `meta["source_url"]`: the post or page the copy came from (archive/provenance.py).
        """
        if not records and after is None:
            return []
        return write.write_batch(self.db, records, strict=True, after=after)

    def knows(self, sha256: str) -> bool:
        """Is a file with this sha256 archived?"""
        return write.knows(self.db, sha256)

    # ------------------------------------------------------------------ search
    def search(self, result: Any, max_distance: int | dict[str, int] | None = None,
               limit: int = 20, variants: dict[str, str] | None = None,
               with_views: bool = True, robust: bool = True,
               frame_distance: int | None = None, picture: Any = None,
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
        `deep` is the former name of `robust` (an int sets `candidates`).
        `frame_distance`: None is search.FRAME_DISTANCE."""
        from osintkit.archive import robust as _robust
        from osintkit.archive import videosearch as _video
        from osintkit.archive.search import FRAME_DISTANCE, units_of

        if frame_distance is None:
            frame_distance = FRAME_DISTANCE
        if deep is not None:
            robust, candidates = bool(deep), (int(deep) if deep is not True and deep else
                                              candidates)
        self.last_notes = []
        limits = hits.limits(max_distance)
        matches = hits.exact(self.db, result)
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
        from osintkit.archive import robust as _robust
        from osintkit.archive.search import loose_pairs, match_units

        seen = {m.item_id for m in matches}
        rows = self.rows()
        by_item = match_units(rows, units, limits) if units and len(rows) else {}
        _robust.prefer_simple(by_item, units, limits["pdq"])
        near_ids = [i for i in by_item if i not in seen]
        items = self.items(near_ids)
        for item_id in near_ids:
            if item_id in items:
                matches.append(hits.near(items[item_id], by_item[item_id], rows, units))
        for m in matches:  # every frame pair near enough to extend a segment
            if m.item_id in by_item:
                pairs = by_item[m.item_id]
                known = {(p.unit, p.row) for p in pairs}
                loose = [p for p in loose_pairs(rows, units, m.item_id, pairs[0].transform,
                                                max(frame_distance, limits["pdq"]))
                         if (p.unit, p.row) not in known]
                m.frame_matches = hits.frame_pairs(pairs + loose, rows, units)
        near = sorted((m for m in matches if m.match == "near"), key=hits.rank)
        _robust.annotate(self.db, near, rows, {i: p[0].row for i, p in by_item.items()})
        return near

    def _judge(self, result: Any, qp: Any, near: list[Match], exact: list[Match],
               robust: bool, is_image: bool, candidates: int | None) -> list[Match]:
        """Robust: candidates, fits and copy/scene (robust.run). Fast: hashes only, no
        lone weak hash. (Videos go to videosearch.py.)"""
        from osintkit.archive import robust as _robust

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
        got = self.items([m.item_id for m in near])
        near = [m for m in near if _robust.hash_trust(m, qh, got.get(m.item_id))[0]]
        for m in near:
            m.basis = "hashes"
        return near

    def search_picture(self, img: Any, max_distance: int | dict[str, int] | None = None,
                       limit: int = 20, robust: bool = True) -> list[Match]:
        """Search a decoded picture (a photo, a video frame): the same robust path as a
        file, for callers that already hold the pixels."""
        from osintkit.archive import robust as _robust
        from osintkit.match.hashfile import HashResult
        from osintkit.match.hashing import hash_with_variants, shrink, to_rgb

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
        from osintkit.match.hashfile import hash_paths
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

    def items(self, ids: list[int]) -> dict[int, Item]:
        """id -> record for these ids (without frames)."""
        return hits.items(self.db, ids)

    def local_features(self, ids: list[int]) -> dict[int, Any]:
        """id -> stored local features and thumbnail (localfeat.LocalPicture) of these
        items, for those that have them (archive/local.py)."""
        from osintkit.archive.local import load

        return load(self.db, ids)

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
        from osintkit.archive.search import RowSet

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
        stamp, rows = self.db.snapshot(
            lambda cur: hits.read_rows(self.db, cur, base[1] if base else None))
        if cache is not None:
            rows.save(cache, stamp)
        self._rows, self._stamp = rows, stamp
        return rows

    def words(self) -> Any:
        """The candidate index over local features (bow.WordIndex), kept up to date:
        from memory, its `.words.npz` cache beside the packed index, or rebuilt."""
        from osintkit.archive.bow import archive_words

        cache = self.cache_path()
        if cache is not None:
            cache = cache.with_name(cache.name.replace(".index.npz", ".words.npz")
                                    .replace("index-", "words-"))
        self._words = archive_words(self.db, self.stamp(), cache, self._words)
        return self._words[1]

    def video_counts(self) -> dict[str, int]:
        """Archived videos by shot/strip status (`pending`: added before schema v7)."""
        from osintkit.archive.videostore import counts

        return counts(self.db)

    def local_counts(self) -> dict[str, int]:
        """Archived images by local-feature status (cached until the archive changes)."""
        from osintkit.archive.local import counts

        stamp = self.stamp()
        if self._counts is None or self._counts[0] != stamp:
            self._counts = (stamp, counts(self.db))
        return self._counts[1]

    def backfill(self, retry: bool = False, limit: int | None = None, jobs: int = 1,
                 progress: Callable[[int, str], None] | None = None) -> Any:
        """Local features for archived images that have none (archive/local.py), then
        shots and strips for archived videos that have none (archive/videostore.py);
        `done` counts videos under "video <status>"."""
        from osintkit.archive import videostore
        from osintkit.archive.local import backfill

        report = backfill(self, retry=retry, limit=limit, jobs=jobs, progress=progress)
        for status, n in videostore.backfill(self, retry=retry, limit=limit).items():
            report.done[f"video {status}"] = report.done.get(f"video {status}", 0) + n
        return report

    # ------------------------------------------------------------------ records
    def get(self, item_id: int) -> Item | None:
        """One full record with its frames."""
        rows = self.db.query(f"{hits.ITEM_SQL} WHERE id = ?", (item_id,))
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
            f"{hits.ITEM_SQL} {where} ORDER BY first_seen, id{tail}", params)]
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
