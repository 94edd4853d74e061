"""Archive stage, after search: turn frame-level matches into matched segments.

A query video's sampled frames are matched (PDQ distance) against an archived video's
frames; a reused clip shows up as a run of matches at a constant time offset
(`item_t - query_t`). We vote for offsets, take the strongest, keep each query frame's
best match at that offset, split the matches into runs along the query's time line, and
report segments: query start-end <-> archive start-end, with the share of query frames
matched. Against an archived image the runs say when, in the query, the image appears.

Each sampled frame stands for the time up to the next sampled frame, so a segment ends
where the first unmatched frame after it begins: with a frame at each scene change (see
`media/frames.py`) the boundaries fall on the cuts.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from osintkit.match.hashing import HASHERS

# ThreatExchange's vPDQ frame rules are PDQ's own (osintkit/match/hashing.py HASHERS):
PDQ_MAX_DISTANCE = HASHERS["pdq"].threshold  # a frame matches at distance <= this
PDQ_MIN_QUALITY = HASHERS["pdq"].min_quality  # frames of lower PDQ quality are ignored
OFFSET_BIN = 0.5  # seconds: offset votes are counted in bins this wide (plus neighbours)
# Hysteresis: a segment is seeded by frames within PDQ_MAX_DISTANCE and extended, at the
# same offset, by frames within EXTEND_DISTANCE (a re-encoded, logo-stamped copy sampled
# one frame off in a pan lands around 50). Unrelated PDQ hashes sit around 128 +- 8.
EXTEND_DISTANCE = 64


@dataclass(frozen=True)
class FrameMatch:
    """One query frame matching one archived frame (item_t None: the item is an image)."""

    query_t: float
    item_t: float | None
    distance: int
    transform: str = "none"  # of the query frame: "mirror" when a flipped copy matched


@dataclass
class Segment:
    """A stretch of the query found in an item: query start-end <-> item start-end (s).

    `share`: matched query frames in this segment / all query frames; `density`: matched
    query frames / query frames within the segment's span. For an image item, item_start
    and item_end are None and the segment says when the image appears in the query.
    """

    query_start: float
    query_end: float
    item_start: float | None
    item_end: float | None
    frames: int
    share: float
    density: float
    distance: int  # best PDQ distance in the segment
    mean_distance: float
    matches: list[FrameMatch]
    transform: str = "none"  # "mirror": the query shows the footage flipped left-right

    @property
    def offset(self) -> float | None:
        """item time - query time (None for an image item)."""
        return None if self.item_start is None else self.item_start - self.query_start

    def to_dict(self, with_frames: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {
            "query_start": round(self.query_start, 3), "query_end": round(self.query_end, 3),
            "item_start": None if self.item_start is None else round(self.item_start, 3),
            "item_end": None if self.item_end is None else round(self.item_end, 3),
            "frames": self.frames, "share": round(self.share, 4),
            "density": round(self.density, 4), "distance": self.distance,
            "mean_distance": round(self.mean_distance, 2), "transform": self.transform}
        if with_frames:
            d["matches"] = [{"query_t": m.query_t, "item_t": m.item_t, "distance": m.distance,
                             "transform": m.transform} for m in self.matches]
        return d


# ------------------------------------------------------------------ inputs
def _frame_tuple(f: Any) -> tuple[float | None, str, int | None]:
    """(t, pdq hex, quality) from a tuple, FrameHashes, VpdqFeature, SavedFrame or dict."""
    if isinstance(f, tuple | list):
        return (f[0], f[1], f[2] if len(f) > 2 else None)
    if isinstance(f, dict):
        h = f.get("hashes") or f
        return (f.get("t"), h["pdq"], h.get("pdq_quality"))
    if hasattr(f, "hashes"):
        return (f.t, f.hashes["pdq"], f.hashes.get("pdq_quality"))
    if hasattr(f, "pdq"):
        return (f.timestamp, f.pdq, f.quality)
    raise TypeError(f"not a frame with a PDQ hash: {f!r}")


def _frames(frames: Iterable[Any], min_quality: int) -> list[tuple[float | None, str, Any]]:
    out = []
    for f in frames:
        t, pdq, q = _frame_tuple(f)
        if q is not None and q < min_quality:
            continue  # flat frames (black, fades) match each other and say nothing
        variants = getattr(f, "variants", None) or \
            (f.get("pdq_variants") if isinstance(f, dict) else None) or {}
        out.append((t, pdq, variants))
    return out


def _bits(hexes: Sequence[str]) -> Any:
    import numpy as np

    raw = b"".join(bytes.fromhex(h) for h in hexes)
    return np.frombuffer(raw, dtype=">u8").reshape(len(hexes), -1).astype(np.uint64)


def distance_matrix(a: Sequence[str], b: Sequence[str]) -> Any:
    """Hamming distances between two lists of equal-length hex hashes (numpy, len(a) x len(b))."""
    import numpy as np

    if not a or not b:
        return np.zeros((len(a), len(b)), dtype=np.int32)
    x, y = _bits(a), _bits(b)
    out = np.empty((len(a), len(b)), dtype=np.int32)
    step = max(1, 4_000_000 // (len(b) * x.shape[1]))  # bound the temporary array
    for i in range(0, len(a), step):
        out[i:i + step] = np.bitwise_count(x[i:i + step, None, :] ^ y[None, :, :]).sum(axis=2)
    return out


# ------------------------------------------------------------------ matching
def frame_matches(query_frames: Iterable[Any], item_frames: Iterable[Any],
                  max_distance: int = PDQ_MAX_DISTANCE,
                  min_quality: int = PDQ_MIN_QUALITY,
                  transforms: Sequence[str] = ("none", "mirror"),
                  ) -> tuple[list[FrameMatch], list[float]]:
    """All query/item frame pairs within `max_distance`; also the query's frame times.

    Query frames that carry PDQ dihedral variants (`FrameHashes.variants`) are also
    tried under `transforms` ("mirror": a flipped re-upload); each pair keeps its best.
    """
    import numpy as np

    q = _frames(query_frames, min_quality)
    it = _frames(item_frames, min_quality)
    items = [h for _, h, _ in it]
    dist = distance_matrix([h for _, h, _ in q], items)
    how = np.zeros(dist.shape, dtype=np.int8)
    for k, name in enumerate(transforms):
        rows = [i for i, (_, _, v) in enumerate(q) if name != "none" and v.get(name)]
        if rows and items:
            d = distance_matrix([q[i][2][name] for i in rows], items)
            better = d < dist[rows]
            dist[rows] = np.where(better, d, dist[rows])
            how[rows] = np.where(better, k, how[rows])
    qi, ii = np.nonzero(dist <= max_distance)
    pairs = [FrameMatch(float(q[a][0] or 0.0), None if it[b][0] is None else float(it[b][0]),
                        int(dist[a, b]), transforms[how[a, b]] if how[a, b] else "none")
             for a, b in zip(qi.tolist(), ii.tolist(), strict=True)]
    return pairs, [float(t or 0.0) for t, _, _ in q]


def match_frame_lists(query_frames: Iterable[Any], item_frames: Iterable[Any],
                      max_distance: int = PDQ_MAX_DISTANCE,
                      min_quality: int = PDQ_MIN_QUALITY,
                      query_duration: float | None = None,
                      extend_distance: int = EXTEND_DISTANCE) -> list[Segment]:
    """Segments of the query video found in the item (a video, or an image: t None).

    Frames are (t, pdq_hex[, quality]) tuples, FrameHashes, vPDQ features or frame dicts.
    Frames below `min_quality` are ignored when their quality is known. Segments hold at
    least one frame within `max_distance`; neighbours at the same offset may be within
    `extend_distance`.
    """
    loose = max(max_distance, extend_distance)
    pairs, qtimes = frame_matches(query_frames, item_frames, loose, min_quality)
    return segments_from_matches(pairs, qtimes, query_duration, max_distance)


def segments_from_matches(matches: Iterable[Any], query_times: Sequence[float] | None = None,
                          query_duration: float | None = None,
                          max_distance: int | None = None) -> list[Segment]:
    """Group frame-level matches (query_t, item_t, distance) into segments, by query time.

    `query_times`: every sampled query frame's time (matched or not); without it, the
    matched times are all we know and `share`/`density` count matched frames only.
    `max_distance`: a segment needs one match this close (None: any match will do).
    """
    ms = [_as_match(m) for m in matches]
    times = sorted(set(query_times) if query_times else {m.query_t for m in ms})
    ms = _snap(ms, times) if query_times else ms
    limit = max_distance if max_distance is not None else 256
    if not ms or not times:
        return []
    if all(m.item_t is None for m in ms):
        best = _best_per_query(ms, lambda m: 0.0)
        segs = _runs(best, times, None, query_duration)
    else:
        segs = []
        left = [m for m in ms if m.item_t is not None]
        tol = max(OFFSET_BIN * 2, _step(times))
        while seeds := [m for m in left if m.distance <= limit]:
            offset = _strongest_offset(seeds)
            near = [m for m in left if abs(m.item_t - m.query_t - offset) <= tol]
            best = _best_per_query(near, lambda m, o=offset: abs(m.item_t - m.query_t - o))
            segs.extend(_runs(best, times, offset, query_duration))
            used = {m.query_t for m in best}
            left = [m for m in left if m.query_t not in used]
    segs = [s for s in segs if s.distance <= limit]
    return sorted(segs, key=lambda s: (s.query_start, s.item_start or 0.0))


def _as_match(m: Any) -> FrameMatch:
    if isinstance(m, FrameMatch):
        return m
    if isinstance(m, tuple | list):
        return FrameMatch(float(m[0]), None if m[1] is None else float(m[1]), int(m[2]))
    dist = m.distance
    if isinstance(dist, dict):  # archive matches: {"pdq": 12, "phash": 4}
        dist = dist.get("pdq", min(dist.values(), default=0))
    return FrameMatch(float(m.query_t or 0.0), None if m.item_t is None else float(m.item_t),
                      int(dist), str(getattr(m, "transform", None) or "none"))


def _snap(ms: list[FrameMatch], times: list[float]) -> list[FrameMatch]:
    """Match times onto the query's frame times (JSON and databases round them)."""
    import bisect

    out = []
    for m in ms:
        i = bisect.bisect_left(times, m.query_t)
        near = min((times[j] for j in (i - 1, i) if 0 <= j < len(times)),
                   key=lambda t: abs(t - m.query_t))
        t = near if abs(near - m.query_t) <= 0.02 else m.query_t
        out.append(m if t == m.query_t else FrameMatch(t, m.item_t, m.distance, m.transform))
    return out


def _strongest_offset(ms: list[FrameMatch]) -> float:
    """The offset (item_t - query_t) most query frames agree on (binned, +-1 bin)."""
    bins: dict[int, set[float]] = defaultdict(set)
    for m in ms:
        bins[round((m.item_t - m.query_t) / OFFSET_BIN)].add(m.query_t)
    score = {b: len(bins[b]) * 2 + len(bins.get(b - 1, ())) + len(bins.get(b + 1, ()))
             for b in bins}
    top = max(score, key=lambda b: (score[b], -abs(b)))
    near = [m.item_t - m.query_t for m in ms
            if abs((m.item_t - m.query_t) / OFFSET_BIN - top) <= 1]
    return statistics.median(near)


def _best_per_query(ms: list[FrameMatch], tie: Any) -> list[FrameMatch]:
    best: dict[float, FrameMatch] = {}
    for m in ms:
        cur = best.get(m.query_t)
        if cur is None or (m.distance, tie(m)) < (cur.distance, tie(cur)):
            best[m.query_t] = m
    return [best[t] for t in sorted(best)]


def _step(times: Sequence[float]) -> float:
    gaps = [b - a for a, b in pairwise(times) if b > a]
    return statistics.median(gaps) if gaps else 1.0


def _runs(best: list[FrameMatch], times: list[float], offset: float | None,
          query_duration: float | None) -> list[Segment]:
    """Split matches into runs of query frames with at most one unmatched frame between."""
    index = {t: i for i, t in enumerate(times)}
    runs: list[list[FrameMatch]] = []
    for m in best:
        i = index.get(m.query_t)
        if runs and i is not None and i - index[runs[-1][-1].query_t] <= 2:
            runs[-1].append(m)
        else:
            runs.append([m])
    return [_segment(r, times, index, offset, query_duration) for r in runs]


def _segment(run: list[FrameMatch], times: list[float], index: dict[float, int],
             offset: float | None, query_duration: float | None) -> Segment:
    first, last = run[0].query_t, run[-1].query_t
    j = index.get(last, len(times) - 1) + 1
    if j < len(times):
        end = times[j]  # a frame stands for the time up to the next sampled frame
    else:
        end = query_duration if query_duration and query_duration > last \
            else last + min(_step(times), 2.0)
    span = [t for t in times if first <= t < end]
    dists = [m.distance for m in run]
    if offset is not None:  # the run's own offset: robust to sampling jitter
        offset = statistics.median(m.item_t - m.query_t for m in run)
    kinds = [m.transform for m in run]
    return Segment(
        transform=max(set(kinds), key=kinds.count),
        query_start=first, query_end=end,
        item_start=None if offset is None else max(0.0, first + offset),
        item_end=None if offset is None else end + offset,
        frames=len(run), share=len(run) / len(times), density=len(run) / max(1, len(span)),
        distance=min(dists), mean_distance=statistics.fmean(dists), matches=run)


# ------------------------------------------------------------------ archive matches
def group_matches(matches: Iterable[Any], query_times: Sequence[float] | None = None,
                  query_duration: float | None = None) -> dict[Any, list[Segment]]:
    """Segments per archived item from frame-level archive matches.

    `matches`: objects with `item_id`, `query_t`, `item_t` and `distance` (an int or a
    dict with "pdq"), e.g. `archive.Match` (whose `frame_matches` are used when present);
    pairs without `query_t` (the query was an image) are left out.
    """
    by_item: dict[Any, list[FrameMatch]] = defaultdict(list)
    for m in matches:
        # A Match carries its best pair; all its frame pairs are in `frame_matches`.
        for fm in getattr(m, "frame_matches", None) or [m]:
            if getattr(fm, "query_t", None) is not None:
                by_item[m.item_id].append(_as_match(fm))
    return {item: segments_from_matches(ms, query_times, query_duration)
            for item, ms in by_item.items()}


def query_share(segments: Iterable[Segment]) -> float:
    """Share of the query's frames matched, over all segments (0..1)."""
    return min(1.0, sum(s.share for s in segments))
