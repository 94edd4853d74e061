"""Archive stage: near-duplicate matching of query hashes against the packed index.

Rows are images and video frames (item id + time). A query is a list of units (the image,
or one unit per video frame), each with its PDQ under up to 8 dihedral transforms and its
pHash. All PDQ variants of all units go to the index in one batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from osintkit.archive.index import HammingIndex, pack_hex, read_cache, save_cache
from osintkit.archive.models import check_hex
from osintkit.match.hashing import HASHERS, TRANSFORMS  # "none" first: it wins ties
from osintkit.match.segments import EXTEND_DISTANCE

# The hash kinds the index holds, one packed column each (PDQ is searched under its
# dihedral variants, pHash as is); their default limits are the kinds' own thresholds.
INDEXED = ("pdq", "phash")
DEFAULT_MAX = {kind: HASHERS[kind].threshold for kind in INDEXED}
NBYTES = {kind: HASHERS[kind].bits // 8 for kind in INDEXED}
# Frame pairs of a matched video item are reported up to the PDQ distance segments.py
# extends a segment with (it seeds one within PDQ's threshold; unrelated frames sit
# near 128).
FRAME_DISTANCE = EXTEND_DISTANCE


@dataclass
class QueryUnit:
    """One image or video frame of a query."""

    t: float | None
    pdq: dict[str, str] = field(default_factory=dict)  # transform -> hex
    phash: str | None = None
    view: str | None = None  # a view of an image query (osintkit/match/views.py); None = whole
    region: tuple[int, int, int, int] | None = None  # that view's (x, y, w, h) in the query


@dataclass
class Pair:
    """A query unit matching an index row."""

    unit: int
    row: int
    pdq: int | None = None
    transform: str = "none"
    phash: int | None = None


class RowSet:
    """The index: one row per archived image or video frame, PDQ and pHash packed.

    `base` = (largest item id, item count) of the archive state it was built from, so a
    later state that only added items can be caught up by appending (`extend`).
    """

    def __init__(self, item: np.ndarray, t: np.ndarray, pdq: np.ndarray, has_pdq: np.ndarray,
                 phash: np.ndarray, has_phash: np.ndarray,
                 base: tuple[int, int] = (0, 0),
                 tables: dict[str, np.ndarray] | None = None) -> None:
        self.item, self.t = item.astype(np.int64), t.astype(np.float64)
        self.pdq, self.has_pdq = pdq, has_pdq.astype(bool)
        self.phash, self.has_phash = phash, has_phash.astype(bool)
        self.base = (int(base[0]), int(base[1]))
        self.pdq_rows = np.flatnonzero(self.has_pdq)
        self.phash_rows = np.flatnonzero(self.has_phash)
        # one index per hash kind; no copy when every row has the hash (the usual case)
        tables = tables or {}
        self.indexes: dict[str, HammingIndex] = {}
        for kind in INDEXED:
            codes, have = getattr(self, kind), getattr(self, f"{kind}_rows")
            self.indexes[kind] = HammingIndex(codes if len(have) == len(self.item)
                                              else codes[have], _pair(tables, kind))
        self.pdq_index, self.phash_index = self.indexes["pdq"], self.indexes["phash"]

    def __len__(self) -> int:
        return len(self.item)

    @classmethod
    def from_rows(cls, rows: list[tuple[int, float | None, str | None, str | None]],
                  base: tuple[int, int] = (0, 0)) -> RowSet:
        """Rows of (item_id, t or None, pdq hex or None, phash hex or None)."""
        if not rows:
            return cls(np.zeros(0, np.int64), np.zeros(0),
                       np.zeros((0, NBYTES["pdq"]), np.uint8), np.zeros(0, bool),
                       np.zeros((0, NBYTES["phash"]), np.uint8), np.zeros(0, bool), base)
        # one comprehension per column: zip(*rows) with a million arguments is 30x slower
        items, times = [r[0] for r in rows], [r[1] for r in rows]
        pdqs, phashes = [r[2] for r in rows], [r[3] for r in rows]
        t = np.array([math.nan if x is None else x for x in times], dtype=np.float64)
        has_pdq = np.array([x is not None for x in pdqs], dtype=bool)
        has_phash = np.array([x is not None for x in phashes], dtype=bool)
        pdq = pack_hex([x or "0" * HASHERS["pdq"].hex_len for x in pdqs], NBYTES["pdq"])
        phash = pack_hex([x or "0" * HASHERS["phash"].hex_len for x in phashes],
                         NBYTES["phash"])
        return cls(np.array(items, dtype=np.int64), t, pdq, has_pdq, phash, has_phash, base)

    def extend(self, more: RowSet, base: tuple[int, int]) -> RowSet:
        """This index with `more` rows appended (items added since it was built)."""
        if not len(more):
            return RowSet(self.item, self.t, self.pdq, self.has_pdq, self.phash,
                          self.has_phash, base)
        parts = [self.arrays(), more.arrays()]
        cat = {k: np.concatenate([p[k] for p in parts]) for k in _ROW_ARRAYS}
        return RowSet(**cat, base=base)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"item": self.item, "t": self.t, "pdq": self.pdq, "has_pdq": self.has_pdq,
                "phash": self.phash, "has_phash": self.has_phash,
                "base": np.array(self.base, dtype=np.int64)}

    def save(self, path: Path, stamp: str) -> None:
        """Cache on disk (.npz, no pickle), with the multi-index tables of large indexes."""
        arrays = self.arrays()
        for name, index in self.indexes.items():
            if index.uses_tables():
                arrays[f"{name}_order"], arrays[f"{name}_offsets"] = index.tables()
        save_cache(path, stamp, arrays)

    @classmethod
    def load(cls, path: Path, stamp: str | None = None) -> tuple[str, RowSet] | None:
        """(stamp, index) from the cache (only if it carries `stamp`, when given)."""
        got = read_cache(path)
        if got is None or (stamp is not None and got[0] != stamp):
            return None
        data = got[1]
        if not {*_ROW_ARRAYS, "base"} <= set(data):
            return None
        base = data["base"]
        tables = {k: v for k, v in data.items() if k.endswith(("_order", "_offsets"))}
        return got[0], cls(**{k: data[k] for k in _ROW_ARRAYS},
                           base=(int(base[0]), int(base[1])), tables=tables)


_ROW_ARRAYS = ("item", "t", *(col for kind in INDEXED for col in (kind, f"has_{kind}")))


def _pair(tables: dict[str, np.ndarray], name: str) -> tuple[np.ndarray, np.ndarray] | None:
    if f"{name}_order" in tables and f"{name}_offsets" in tables:
        return tables[f"{name}_order"], tables[f"{name}_offsets"]
    return None


def _hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def _pdq_pairs(rows: RowSet, units: list[QueryUnit], max_pdq: int) -> dict[tuple[int, int], Pair]:
    hexes, unit_of, tr_of = [], [], []
    for ui, unit in enumerate(units):
        for ti, name in enumerate(TRANSFORMS):
            if unit.pdq.get(name):
                hexes.append(unit.pdq[name])
                unit_of.append(ui)
                tr_of.append(ti)
    pairs: dict[tuple[int, int], Pair] = {}
    if not hexes or not len(rows.pdq_rows):
        return pairs
    hits = rows.pdq_index.query(pack_hex(hexes, NBYTES["pdq"]), max_pdq)
    u = np.asarray(unit_of, dtype=np.int64)[hits.query]
    tr = np.asarray(tr_of, dtype=np.int64)[hits.query]
    r = rows.pdq_rows[hits.row]
    for i in np.lexsort((tr, hits.distance, r, u)):  # best (distance, transform) first
        key = (int(u[i]), int(r[i]))
        if key not in pairs:
            pairs[key] = Pair(key[0], key[1], int(hits.distance[i]), TRANSFORMS[int(tr[i])])
    return pairs


def _phash_pairs(rows: RowSet, units: list[QueryUnit], max_phash: int,
                 pairs: dict[tuple[int, int], Pair]) -> None:
    have = [(ui, unit.phash) for ui, unit in enumerate(units) if unit.phash]
    if not have or not len(rows.phash_rows):
        return
    hits = rows.phash_index.query(pack_hex([h for _, h in have], NBYTES["phash"]), max_phash)
    for q, row, d in zip(hits.query.tolist(), hits.row.tolist(), hits.distance.tolist(),
                         strict=True):
        key = (have[q][0], int(rows.phash_rows[row]))
        pair = pairs.setdefault(key, Pair(*key))
        pair.phash = int(d)


def _fill(rows: RowSet, units: list[QueryUnit], pair: Pair) -> None:
    """Distances the index did not report (the other hash kind of the same pair)."""
    unit = units[pair.unit]
    if pair.phash is None and unit.phash and rows.has_phash[pair.row]:
        pair.phash = _hamming(unit.phash, rows.phash[pair.row].tobytes().hex())
    if pair.pdq is None and unit.pdq and rows.has_pdq[pair.row]:
        target = rows.pdq[pair.row].tobytes().hex()
        dist, name = min((_hamming(h, target), TRANSFORMS.index(n)) for n, h in unit.pdq.items())
        pair.pdq, pair.transform = dist, TRANSFORMS[name]


def pair_score(pair: Pair) -> tuple[float, int]:
    """Sort key: PDQ distance, or pHash scaled to PDQ's 256 bits; untransformed first."""
    d = pair.pdq if pair.pdq is not None else 4 * (pair.phash if pair.phash is not None else 64)
    return (float(d), TRANSFORMS.index(pair.transform))


def match_units(rows: RowSet, units: list[QueryUnit],
                max_distance: dict[str, int]) -> dict[int, list[Pair]]:
    """item id -> its matching pairs, best first. Only PDQ matches may be transformed."""
    max_pdq, max_phash = max_distance["pdq"], max_distance["phash"]
    pairs = _pdq_pairs(rows, units, max_pdq)
    _phash_pairs(rows, units, max_phash, pairs)
    out: dict[int, list[Pair]] = {}
    for pair in pairs.values():
        _fill(rows, units, pair)
        ok_pdq = pair.pdq is not None and pair.pdq <= max_pdq
        ok_phash = pair.phash is not None and pair.phash <= max_phash
        if ok_pdq or ok_phash:
            out.setdefault(int(rows.item[pair.row]), []).append(pair)
    for lst in out.values():
        lst.sort(key=lambda p: (pair_score(p), units[p.unit].t or 0.0))
    return out


def loose_pairs(rows: RowSet, units: list[QueryUnit], item_id: int, transform: str,
                limit: int) -> list[Pair]:
    """Every (query frame, archived frame) pair of one matched item within `limit` PDQ bits,
    in the transform of its best match: the looser evidence that segment grouping
    (segments.py) needs to extend a shot past re-encoding noise."""
    # video frames only: an image item's other rows are its sub-views (views.py)
    mine = np.flatnonzero((rows.item == item_id) & rows.has_pdq & ~np.isnan(rows.t))
    have = [(ui, u.pdq[transform]) for ui, u in enumerate(units) if u.pdq.get(transform)]
    if not len(mine) or not have:
        return []
    q = pack_hex([h for _, h in have], NBYTES["pdq"]).view("<u8")  # (U, 4)
    d = np.bitwise_count(rows.pdq[mine].view("<u8")[None, :, :] ^ q[:, None, :]).sum(
        axis=2, dtype=np.int64)  # (U, R): one video against one video, small
    out = []
    for qi, ri in zip(*np.nonzero(d <= limit), strict=True):
        pair = Pair(have[qi][0], int(mine[ri]), int(d[qi, ri]), transform)
        _fill(rows, units, pair)
        out.append(pair)
    return out


def units_of(result: Any, variants: dict[str, str] | None = None) -> list[QueryUnit]:
    """Query units of a HashResult (image: one unit; video: one per frame).

    PDQ variants come from `variants`, else the result's own (`HashResult.variants`,
    `FrameHashes.variants`), else only the untransformed PDQ is searched.
    """
    units = []
    hashes = getattr(result, "hashes", None) or {}
    frames = getattr(result, "frames", None) or []
    if (hashes.get("pdq") or hashes.get("phash")) and not frames:
        pdq = dict(variants or getattr(result, "variants", None) or {})
        if hashes.get("pdq"):
            pdq["none"] = check_hex("pdq", hashes["pdq"])
        units.append(QueryUnit(None, pdq, _str(hashes.get("phash"))))
    for frame in frames:
        fh = frame.hashes
        pdq = dict(getattr(frame, "variants", None) or {})
        if fh.get("pdq"):
            pdq["none"] = check_hex("pdq", fh["pdq"])
        units.append(QueryUnit(float(frame.t), pdq, _str(fh.get("phash"))))
    return units


def _str(value: Any) -> str | None:
    return check_hex("phash", value) if value else None


def row_t(rows: RowSet, row: int) -> float | None:
    """The frame time of a row (None for images)."""
    t = float(rows.t[row])
    return None if math.isnan(t) else t
