"""Archive stage, candidate index over local features: an inverted file of visual words.

Each archived image is the set of vocabulary words of its stored ORB descriptors
(`localfeat.word_set`, ~300 distinct words). A query's words (of its own descriptors and
of its mirror image's) vote for the images that share them, each word weighted by its
inverse document frequency; the best few go on to geometric confirmation. This replaces a
linear scan of descriptors (2.2 s per query at 30,000 images): one query reads only the
posting lists of its ~1,000 words -- a few million entries at 1,000,000 images.

Chosen over faiss's binary IVF / HNSW of raw descriptors after measuring both
(scripts/bench_matching.py, docs/robust-matching.md): raw descriptors cost 32 bytes + an 8-byte id
each (~10 KB per image at 256 of them) in memory, a word posting 4 bytes.

Words per row are kept CSR-style by word: `offsets` (K + 1) into `postings` (row
numbers, uint32) -- `rows` maps a row to its item id. Built from the database's word
lists, cached on disk as `.npz` (no pickle) next to the hash index, caught up by
appending when the archive only grew.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from osintkit.archive.index import read_cache, save_cache

STOP_SHARE = 0.02  # words in more than 2% of images are too common to vote (~stop words)
MIN_SCORE_WORDS = 3  # an image needs this many shared words to be a candidate


@dataclass
class Candidate:
    """An archived item and its vote (sum of idf of the shared words)."""

    item_id: int
    score: float
    shared: int
    scores: tuple[float, ...] = ()  # the vote of each word set (query, its mirror image)

    @property
    def best_set(self) -> int:
        """Which word set voted most (1: the mirror image's)."""
        return max(range(len(self.scores)), key=lambda i: self.scores[i]) if self.scores else 0


class WordIndex:
    """Inverted file: word -> rows (archived images) holding it."""

    def __init__(self, rows: np.ndarray, offsets: np.ndarray, postings: np.ndarray,
                 nwords: int, base: tuple[int, int] = (0, 0)) -> None:
        self.rows = rows.astype(np.int64)  # row -> item id
        self.offsets = offsets.astype(np.int64)
        self.postings = postings.astype(np.uint32)
        self.nwords = int(nwords)
        self.base = (int(base[0]), int(base[1]))
        df = np.diff(self.offsets).astype(np.float64)
        n = max(1, len(self.rows))
        self.idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)  # BM25's idf
        self.stop = df > max(50.0, STOP_SHARE * n)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def nbytes(self) -> int:
        return int(self.rows.nbytes + self.offsets.nbytes + self.postings.nbytes +
                   self.idf.nbytes + self.stop.nbytes)

    @classmethod
    def build(cls, item_ids: list[int] | np.ndarray, word_lists: list[np.ndarray],
              nwords: int, base: tuple[int, int] = (0, 0)) -> WordIndex:
        """From one array of (distinct) words per item."""
        rows = np.asarray(item_ids, dtype=np.int64)
        if not len(word_lists):
            return cls(rows, np.zeros(nwords + 1, np.int64), np.zeros(0, np.uint32), nwords,
                       base)
        lengths = np.array([len(w) for w in word_lists], dtype=np.int64)
        flat = np.concatenate(word_lists).astype(np.int64) if lengths.sum() else \
            np.zeros(0, np.int64)
        row_of = np.repeat(np.arange(len(rows), dtype=np.uint32), lengths)
        order = np.argsort(flat, kind="stable")  # rows stay ascending within a word
        counts = np.bincount(flat, minlength=nwords)
        offsets = np.zeros(nwords + 1, np.int64)
        np.cumsum(counts, out=offsets[1:])
        return cls(rows, offsets, row_of[order], nwords, base)

    @classmethod
    def build_chunks(cls, chunks: Iterable[tuple[np.ndarray, list[np.ndarray]]], nwords: int,
                     base: tuple[int, int] = (0, 0)) -> WordIndex:
        """As `build`, from (item ids, word arrays) chunks, in bounded memory: each chunk
        is sorted by word on its own, then every word's postings are laid end to end
        (a million images hold ~300 million postings; one argsort of them all would take
        2.4 GB of indexes)."""
        parts = [cls.build(ids, lists, nwords) for ids, lists in chunks]
        if not parts:
            return cls.build([], [], nwords, base)
        rows = np.concatenate([p.rows for p in parts])
        counts = sum(np.diff(p.offsets) for p in parts)
        offsets = np.zeros(nwords + 1, np.int64)
        np.cumsum(counts, out=offsets[1:])
        postings = np.empty(int(offsets[-1]), np.uint32)
        fill = offsets[:-1].copy()
        shift = 0
        for p in parts:
            lengths = np.diff(p.offsets)
            dest = np.repeat(fill - p.offsets[:-1], lengths) + \
                np.arange(len(p.postings), dtype=np.int64)
            postings[dest] = p.postings + np.uint32(shift)
            fill += lengths
            shift += len(p.rows)
        return cls(rows, offsets, postings, nwords, base)

    def extend(self, more: WordIndex, base: tuple[int, int]) -> WordIndex:
        """This index with `more`'s rows appended (items added since it was built)."""
        shift = len(self.rows)
        a_len, b_len = np.diff(self.offsets), np.diff(more.offsets)
        offsets = np.zeros(self.nwords + 1, np.int64)
        np.cumsum(a_len + b_len, out=offsets[1:])
        postings = np.empty(len(self.postings) + len(more.postings), np.uint32)
        # per word: the old postings, then the new ones (all larger row numbers)
        pos_a = np.repeat(offsets[:-1] - self.offsets[:-1], a_len) + \
            np.arange(len(self.postings), dtype=np.int64)
        pos_b = np.repeat(offsets[:-1] + a_len - more.offsets[:-1], b_len) + \
            np.arange(len(more.postings), dtype=np.int64)
        postings[pos_a] = self.postings
        postings[pos_b] = more.postings.astype(np.int64) + shift
        return WordIndex(np.concatenate([self.rows, more.rows]), offsets, postings,
                         self.nwords, base)

    def _vote(self, ws: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """(score, shared words) per row for one set of query words."""
        ws = np.unique(np.asarray(ws, dtype=np.int64))
        ws = ws[ws < self.nwords]
        ws = ws[~self.stop[ws]]
        starts, ends = self.offsets[ws], self.offsets[ws + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        if not total:
            return None
        first = np.cumsum(lengths) - lengths
        pos = np.repeat(starts - first, lengths) + np.arange(total, dtype=np.int64)
        hit = self.postings[pos]
        score = np.bincount(hit, weights=np.repeat(self.idf[ws], lengths),
                            minlength=len(self.rows))
        return score, np.bincount(hit, minlength=len(self.rows))

    def query(self, word_sets: list[np.ndarray], k: int,
              exclude: set[int] | None = None) -> list[Candidate]:
        """The k items with the highest vote for any of the query's word sets (the query
        and its mirror image), best first."""
        if not len(self.rows) or k <= 0:
            return []
        best, shared = np.zeros(len(self.rows)), np.zeros(len(self.rows), np.int64)
        per_set = []
        for ws in word_sets:
            got = self._vote(ws)
            per_set.append(got[0] if got is not None else None)
            if got is not None:
                better = got[0] > best
                best = np.where(better, got[0], best)
                shared = np.where(better, got[1], shared)
        best[shared < MIN_SCORE_WORDS] = 0.0
        want = min(len(best), k + len(exclude or ()))
        top = np.argpartition(-best, want - 1)[:want] if want < len(best) else \
            np.arange(len(best))
        out = []
        for r in top[np.argsort(-best[top], kind="stable")].tolist():
            if best[r] <= 0:
                break
            item = int(self.rows[r])
            if not exclude or item not in exclude:
                scores = tuple(0.0 if v is None else float(v[r]) for v in per_set)
                out.append(Candidate(item, float(best[r]), int(shared[r]), scores))
            if len(out) == k:
                break
        return out

    # ------------------------------------------------------------ cache
    def save(self, path: Path, stamp: str) -> None:
        save_cache(path, stamp, {"rows": self.rows, "offsets": self.offsets,
                                 "postings": self.postings,
                                 "meta": np.array([self.nwords, *self.base], np.int64)})

    @classmethod
    def load(cls, path: Path) -> tuple[str, WordIndex] | None:
        got = read_cache(path)
        if got is None or not {"rows", "offsets", "postings", "meta"} <= set(got[1]):
            return None
        d = got[1]
        meta = d["meta"]
        return got[0], cls(d["rows"], d["offsets"], d["postings"], int(meta[0]),
                           (int(meta[1]), int(meta[2])))


# ---------------------------------------------------------------- the archive's index
def snapshot_stamp(db: Any, cur: Any) -> str:
    """"<archive_id>:<generation>" read in the caller's snapshot (what an index is built at)."""
    gen = db.execute(cur, "SELECT value FROM meta WHERE key = 'generation'").fetchone()[0]
    aid = db.execute(cur, "SELECT value FROM meta WHERE key = 'archive_id'").fetchone()[0]
    return f"{aid}:{gen}"


def archive_words(db: Any, stamp: str, cache: Path | None,
                  base: tuple[str, WordIndex] | None) -> tuple[str, WordIndex]:
    """(stamp, word index) of an archive: `base` (what the caller holds) when current, else
    its `.words.npz` cache (`cache`), caught up by appending when items were only added, or
    rebuilt from the `local` table (in chunks: bounded memory for a million images)."""
    from osintkit.match.localfeat import vocabulary

    if base is not None and base[0] == stamp:
        return base
    if base is None and cache is not None:
        base = WordIndex.load(cache)
        if base is not None and base[0].split(":")[0] != stamp.split(":")[0]:
            base = None  # a cache of another archive (file replaced)
    if base is not None and base[0] == stamp:
        return base
    nwords = len(vocabulary())
    old = base[1] if base is not None and base[1].nwords == nwords else None
    got = db.snapshot(lambda cur: _refresh(db, cur, old, nwords))
    if cache is not None:
        got[1].save(cache, got[0])
    return got


def _refresh(db: Any, cur: Any, old: WordIndex | None, nwords: int) -> tuple[str, WordIndex]:
    """(stamp, index) read in one snapshot, appending to `old` when nothing was removed
    or backfilled below its last item."""
    from osintkit.archive.local import word_rows

    stamp = snapshot_stamp(db, cur)
    after = 0
    if old is not None:
        kept = db.execute(cur, "SELECT COUNT(*) FROM local WHERE status = 'ok' AND "
                               "item_id <= ?", (old.base[0],)).fetchone()[0]
        after = old.base[0] if int(kept) == old.base[1] else 0
    ids, lists = word_rows(db, cur, after)
    top = max([after, *ids]) if ids else after
    step = 100_000
    more = WordIndex.build_chunks(((ids[i:i + step], lists[i:i + step])
                                   for i in range(0, len(ids), step)), nwords)
    if after and old is not None:
        index = old.extend(more, (top, old.base[1] + len(ids)))
    else:
        index = WordIndex(more.rows, more.offsets, more.postings, nwords, (top, len(ids)))
    return stamp, index
