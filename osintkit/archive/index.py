"""Archive stage: fast Hamming search over packed hashes (PDQ 256 bits, pHash 64 bits).

`HammingIndex.query(queries, max_distance)` returns every (query, row, distance) within
the radius. Two strategies behind the same call:

* a linear scan: vectorized XOR + `np.bitwise_count` over uint64 words, in row blocks
  that stay in cache (the baseline, and the fallback for wide radii);
* multi-index hashing (Norouzi et al.): the code is cut into 16-bit chunks, each with a
  sorted table; by pigeonhole, a code within distance d of the query has at least one
  chunk within floor(d / chunks) bits, so probing those buckets finds every match.
  PDQ at d <= 31 probes 16 chunks x 17 values, then checks a few thousand candidates.

Hand-written because faiss `IndexBinaryFlat` is a linear scan (slower at 1M, see
scripts/bench_archive.py) and faiss's own multi-hash index misses matches; faiss stays
an optional benchmark baseline. The packed codes are cached on disk as `.npz` (never
pickle) with a stamp, so reopening a large archive does not re-read every row.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np

from osintkit.fileio import atomic_open

CACHE_FORMAT = 1
_BLOCK = 32768  # rows per linear-scan block (8 queries x 32k rows x 4 words fits in L2)
_CHUNK_VALUES = 1 << 16
_MIH_MIN_ROWS = 4096  # below this a linear scan is as fast and needs no tables


def pack_hex(hexes: list[str], nbytes: int) -> np.ndarray:
    """Hex strings (all `2*nbytes` long, already validated) -> (N, nbytes) uint8."""
    if not hexes:
        return np.zeros((0, nbytes), dtype=np.uint8)
    raw = bytes.fromhex("".join(hexes))
    return np.frombuffer(raw, dtype=np.uint8).reshape(len(hexes), nbytes).copy()


def _masks(radius: int) -> np.ndarray:
    """All 16-bit values with at most `radius` bits set (the probes around a chunk)."""
    out = [0]
    for r in range(1, radius + 1):
        for bits in combinations(range(16), r):
            out.append(sum(1 << b for b in bits))
    return np.array(out, dtype=np.uint16)


@dataclass
class Hits:
    """Matches of a query batch: parallel arrays, one entry per (query, row) pair."""

    query: np.ndarray  # int64 query numbers
    row: np.ndarray  # int64 row numbers in the index
    distance: np.ndarray  # int64 Hamming distances


class HammingIndex:
    """Packed binary codes with exact radius search (linear scan or multi-index)."""

    def __init__(self, codes: np.ndarray,
                 tables: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        codes = np.ascontiguousarray(codes, dtype=np.uint8)
        if codes.ndim != 2 or codes.shape[1] % 8:
            raise ValueError("codes must be (N, 8k) uint8")
        self.codes = codes
        self.words = codes.view("<u8")  # (N, W)
        self.nbits = codes.shape[1] * 8
        if tables is not None and (len(tables[0]) != self.nchunks * len(codes) or
                                   len(tables[1]) != self.nchunks * _CHUNK_VALUES + 1):
            tables = None  # not these codes' tables: rebuild
        self._tables: tuple[np.ndarray, np.ndarray] | None = tables

    def uses_tables(self) -> bool:
        """Whether radius queries go through the multi-index tables (large enough index)."""
        return len(self) >= _MIH_MIN_ROWS

    def tables(self) -> tuple[np.ndarray, np.ndarray]:
        """The multi-index tables (row order per chunk, bucket offsets), built on demand;
        cached on disk with the codes, since building them costs ~0.5 s per million rows."""
        return self._build_tables()

    def __len__(self) -> int:
        return int(self.codes.shape[0])

    @property
    def nchunks(self) -> int:
        return self.codes.shape[1] // 2

    def _build_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """Per 16-bit chunk: rows sorted by chunk value and bucket offsets (flattened)."""
        if self._tables is None:
            n, chunks = len(self), self.nchunks
            values = self.codes.view("<u2")  # (N, C)
            order = np.empty(chunks * n, dtype=np.int64 if n >= 2**31 else np.uint32)
            offsets = np.empty(chunks * _CHUNK_VALUES + 1, dtype=np.int64)
            for j in range(chunks):
                col = values[:, j]
                order[j * n:(j + 1) * n] = np.argsort(col, kind="stable")
                counts = np.bincount(col, minlength=_CHUNK_VALUES)
                start = j * _CHUNK_VALUES
                offsets[start] = j * n
                np.cumsum(counts[:-1], out=offsets[start + 1:start + _CHUNK_VALUES])
                offsets[start + 1:start + _CHUNK_VALUES] += j * n
            offsets[-1] = chunks * n
            self._tables = (order, offsets)
        return self._tables

    def query(self, queries: np.ndarray, max_distance: int, method: str = "auto") -> Hits:
        """Every (query, row) with Hamming distance <= max_distance.

        `queries` is (Q, nbytes) uint8. `method`: "auto", "mih" or "linear".
        """
        queries = np.ascontiguousarray(queries, dtype=np.uint8).reshape(-1, self.codes.shape[1])
        if len(self) == 0 or len(queries) == 0 or max_distance < 0:
            empty = np.zeros(0, dtype=np.int64)
            return Hits(empty, empty, empty)
        radius = max_distance // self.nchunks
        if method == "auto":
            method = "mih" if radius <= 2 and self.uses_tables() else "linear"
        if method == "mih":
            hits = self._query_mih(queries, max_distance, radius)
            if hits is not None:
                return hits
        return self._query_linear(queries, max_distance)

    def _query_linear(self, queries: np.ndarray, max_distance: int) -> Hits:
        qw = queries.view("<u8")  # (Q, W)
        qs, rows, dists = [], [], []
        for start in range(0, len(self), _BLOCK):
            block = self.words[start:start + _BLOCK]
            # one word at a time into a small accumulator: 4x fewer temporaries than a
            # (Q, B, W) XOR followed by a sum
            d = np.zeros((len(qw), len(block)), dtype=np.uint16)
            for k in range(qw.shape[1]):
                d += np.bitwise_count(block[:, k][None, :] ^ qw[:, k][:, None])
            qi, ri = np.nonzero(d <= max_distance)
            qs.append(qi)
            rows.append(ri + start)
            dists.append(d[qi, ri].astype(np.int64))
        return Hits(np.concatenate(qs).astype(np.int64), np.concatenate(rows).astype(np.int64),
                    np.concatenate(dists))

    def _query_mih(self, queries: np.ndarray, max_distance: int, radius: int) -> Hits | None:
        order, offsets = self._build_tables()
        n, chunks, nq = len(self), self.nchunks, len(queries)
        masks = _masks(radius)
        qchunks = queries.view("<u2")  # (Q, C)
        probes = (qchunks[:, :, None] ^ masks[None, None, :]).astype(np.int64)
        buckets = probes + (np.arange(chunks, dtype=np.int64) * _CHUNK_VALUES)[None, :, None]
        buckets = buckets.reshape(nq, -1)
        starts, ends = offsets[buckets], offsets[buckets + 1]
        lengths = (ends - starts).ravel()
        total = int(lengths.sum())
        if total > n * nq // 4:  # crowded buckets (near-blank images): scanning is cheaper
            return None
        first = np.cumsum(lengths) - lengths
        pos = np.repeat(starts.ravel() - first, lengths) + np.arange(total, dtype=np.int64)
        rows = order[pos]
        qids = np.repeat(np.repeat(np.arange(nq, dtype=np.int32), buckets.shape[1]), lengths)
        # Check every candidate, then de-duplicate only the hits: a random row rarely sits
        # in two probed buckets, so sorting all candidates first would be wasted work.
        # np.take, not words[rows]: 50x faster for a 2-D gather by uint32 indexes
        cand = np.take(self.words, rows, axis=0)
        cand ^= np.take(queries.view("<u8"), qids, axis=0)
        d = np.bitwise_count(cand).sum(axis=1, dtype=np.int64)
        keep = np.flatnonzero(d <= max_distance)
        pairs, first_hit = np.unique(qids[keep].astype(np.int64) * n + rows[keep],
                                     return_index=True)
        return Hits(pairs // n, pairs % n, d[keep][first_hit])


# ---------------------------------------------------------------- on-disk cache
def save_cache(path: Path, stamp: str, arrays: dict[str, np.ndarray]) -> None:
    """Write arrays + stamp atomically as an uncompressed .npz (no pickle)."""
    try:
        with atomic_open(path) as fh:
            np.savez(fh, _format=np.array(CACHE_FORMAT), _stamp=np.array(stamp), **arrays)
    except OSError:  # a read-only directory only costs the cache, never the search
        pass


def read_cache(path: Path) -> tuple[str, dict[str, np.ndarray]] | None:
    """(stamp, arrays) of a cache file of our format; None when absent or unreadable."""
    try:  # open the file ourselves: np.load leaks its handle when the zip is broken
        with path.open("rb") as fh, np.load(fh, allow_pickle=False) as data:
            if int(data["_format"]) != CACHE_FORMAT:
                return None
            return str(data["_stamp"]), {k: data[k] for k in data.files if not k.startswith("_")}
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError):
        return None


def load_cache(path: Path, stamp: str) -> dict[str, np.ndarray] | None:
    """The cached arrays when the file exists and carries this stamp, else None."""
    got = read_cache(path)
    return got[1] if got is not None and got[0] == stamp else None
