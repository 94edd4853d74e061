"""Match stage (media -> match -> archive): turn frame-level matches into segments.

A query video's sampled frames are matched (PDQ distance, or the pixels after a fit:
archive/videomatch.py) against an archived video's frames; a reused clip shows up as a
run of matches along a line `item_t = speed x query_t + offset`, the speed 1 unless the copy
was sped up or slowed down (up to +-12%). We vote for lines (speed, offset), take the
strongest, refine it by least squares on each query frame's best match near it, split
the matches into runs along the query's time line (one unmatched frame in between is
tolerated: a cross-fade, a flash), and report segments: query start-end <-> archive
start-end, with the share of query frames matched. Then the next line, so re-cut shots
give one segment each. Against an archived image the runs say when, in the query, the
image appears.

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
# Speeds voted for: a copy sped up or slowed down by up to 12% (players' 1.1x, 0.9x).
# Speed 1 is kept unless another speed explains clearly more frames (SPEED_MARGIN).
SPEEDS = tuple(round(0.88 + 0.01 * k, 2) for k in range(25))
SPEED_MARGIN = (2, 0.2)  # at least 2 more votes and 20% more than speed 1's best line
RUN_GAP = 2.5  # seconds between two matched frames of one segment at most (on one line)
NEAR_TIE = 6  # bits: matches this close to a frame's best are as good (a still shot)
SPEED_SPAN = 8.0  # seconds of query: shorter, a 10% speed change moves times < 0.8 s
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
    source: str = "pdq"  # what matched: "pdq" | "pixels" (after a fit) | "fit" (features)


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
    speed: float = 1.0  # archive seconds per query second (1.1: the copy was slowed down)
    # the footage looks alike at other moments: where in the item is uncertain
    # (match/videoalign.py mark_approximate)
    approximate: bool = False

    @property
    def offset(self) -> float | None:
        """item time - query time at the segment's start (None for an image item)."""
        return None if self.item_start is None else self.item_start - self.query_start

    def to_dict(self, with_frames: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {
            "query_start": round(self.query_start, 3), "query_end": round(self.query_end, 3),
            "item_start": None if self.item_start is None else round(self.item_start, 3),
            "item_end": None if self.item_end is None else round(self.item_end, 3),
            "frames": self.frames, "share": round(self.share, 4),
            "density": round(self.density, 4), "distance": self.distance,
            "mean_distance": round(self.mean_distance, 2), "transform": self.transform,
            "speed": round(self.speed, 3), "approximate": self.approximate}
        if with_frames:
            d["matches"] = [{"query_t": m.query_t, "item_t": m.item_t, "distance": m.distance,
                             "transform": m.transform, "source": m.source}
                            for m in self.matches]
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
            speed, offset = _strongest_line(seeds)
            best = _on_line(left, speed, offset, tol)
            speed, offset = _refine(best, speed, offset)
            best = _on_line(left, speed, offset, tol)
            if not best:
                left = [m for m in left if m not in seeds]
                continue
            new = _runs(best, times, (speed, offset), query_duration)
            segs.extend(new)
            # the frames inside a segment are its own, matched or not (a flash, a blur)
            used = {m.query_t for m in best} | \
                {t for sg in new for t in times if sg.query_start <= t < sg.query_end}
            left = [m for m in left if m.query_t not in used]
    segs = [s for s in segs if s.distance <= limit]
    return sorted(segs, key=lambda s: (s.query_start, s.item_start or 0.0))


def _as_match(m: Any) -> FrameMatch:
    if isinstance(m, FrameMatch):
        return m
    if isinstance(m, tuple | list):
        return FrameMatch(float(m[0]), None if m[1] is None else float(m[1]), int(m[2]),
                          *(str(x) for x in m[3:5]))
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
        out.append(m if t == m.query_t else FrameMatch(t, m.item_t, m.distance, m.transform,
                                                       m.source))
    return out


def _votes(ms: list[FrameMatch], speed: float) -> tuple[float, int]:
    """(score, bin) of the best offset bin at this speed: each query frame's best weight
    in the bin, twice, plus its best in the two neighbouring bins. A pair weighs 1 to 2
    by its closeness, so that among lines as well supported (a still shot matches at
    any offset) the one whose frames look most alike wins."""
    bins: dict[int, dict[float, float]] = defaultdict(dict)
    for m in ms:
        b = bins[round((m.item_t - speed * m.query_t) / OFFSET_BIN)]
        w = 1.0 + max(0.0, EXTEND_DISTANCE - m.distance) / EXTEND_DISTANCE
        b[m.query_t] = max(w, b.get(m.query_t, 0.0))
    score = {}
    for b, got in bins.items():
        side: dict[float, float] = {}
        for nb in (b - 1, b + 1):
            for t, w in bins.get(nb, {}).items():
                side[t] = max(w, side.get(t, 0.0))
        score[b] = 2 * sum(got.values()) + sum(side.values())
    top = max(score, key=lambda b: (score[b], -abs(b)))
    return score[top], top


def _strongest_line(ms: list[FrameMatch]) -> tuple[float, float]:
    """(speed, offset) of the line most query frames agree on: speed 1 unless another
    speed clearly wins (SPEED_MARGIN) over a stretch long enough to tell (SPEED_SPAN)."""
    one, top = _votes(ms, 1.0)
    speed = 1.0
    span = max(m.query_t for m in ms) - min(m.query_t for m in ms)
    others = [(s, *_votes(ms, s)) for s in SPEEDS if s != 1.0] \
        if len(ms) >= 4 and span >= SPEED_SPAN else []
    if others:
        s, score, b = max(others, key=lambda x: (x[1], -abs(x[0] - 1.0)))
        if score >= one + max(SPEED_MARGIN[0], SPEED_MARGIN[1] * one):
            speed, top = s, b
    near = [m.item_t - speed * m.query_t for m in ms
            if abs((m.item_t - speed * m.query_t) / OFFSET_BIN - top) <= 1]
    return speed, statistics.median(near)


def _on_line(ms: list[FrameMatch], speed: float, offset: float,
             tol: float) -> list[FrameMatch]:
    """Each query frame's best match within `tol` seconds of the line; among matches
    nearly as close as its best (NEAR_TIE bits: the frames of a still shot), the one
    nearest the line."""
    def res(m: FrameMatch) -> float:
        return abs(m.item_t - speed * m.query_t - offset)

    by_q: dict[float, list[FrameMatch]] = defaultdict(list)
    for m in ms:
        if res(m) <= tol:
            by_q[m.query_t].append(m)
    out = []
    for t in sorted(by_q):
        cands = by_q[t]
        top = min(m.distance for m in cands)
        out.append(min((m for m in cands if m.distance <= top + NEAR_TIE),
                       key=lambda m: (res(m), m.distance)))
    return out


def _refine(ms: list[FrameMatch], speed: float, offset: float) -> tuple[float, float]:
    """Least-squares line through the matches (speed kept within SPEEDS' range, and at 1
    when they span too little time to measure it)."""
    if len(ms) < 4 or speed == 1.0:
        if ms:
            offset = statistics.median(m.item_t - speed * m.query_t for m in ms)
        return speed, offset
    q = [m.query_t for m in ms]
    it = [m.item_t for m in ms]
    mq, mi = statistics.fmean(q), statistics.fmean(it)
    var = sum((x - mq) ** 2 for x in q)
    if var < 4.0:
        return speed, offset
    slope = sum((x - mq) * (y - mi) for x, y in zip(q, it, strict=True)) / var
    slope = min(max(slope, SPEEDS[0]), SPEEDS[-1])
    return slope, statistics.median(y - slope * x for x, y in zip(q, it, strict=True))


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


def _runs(best: list[FrameMatch], times: list[float], line: tuple[float, float] | None,
          query_duration: float | None) -> list[Segment]:
    """Split matches into runs of query frames with at most one unmatched frame, or
    RUN_GAP seconds, between (a flash, a fast whip pan, a cross-fade)."""
    index = {t: i for i, t in enumerate(times)}
    runs: list[list[FrameMatch]] = []
    for m in best:
        i = index.get(m.query_t)
        if runs and i is not None and (i - index[runs[-1][-1].query_t] <= 2 or
                                       m.query_t - runs[-1][-1].query_t <= RUN_GAP):
            runs[-1].append(m)
        else:
            runs.append([m])
    return [_segment(r, times, index, line, query_duration) for r in runs]


def _segment(run: list[FrameMatch], times: list[float], index: dict[float, int],
             line: tuple[float, float] | None, query_duration: float | None) -> Segment:
    first, last = run[0].query_t, run[-1].query_t
    j = index.get(last, len(times) - 1) + 1
    if j < len(times):
        end = times[j]  # a frame stands for the time up to the next sampled frame
    else:
        end = query_duration if query_duration and query_duration > last \
            else last + min(_step(times), 2.0)
    span = [t for t in times if first <= t < end]
    dists = [m.distance for m in run]
    speed, offset = line if line is not None else (1.0, None)
    if offset is not None:  # the run's own offset: robust to sampling jitter
        offset = statistics.median(m.item_t - speed * m.query_t for m in run)
        zero = -offset / speed  # the query time the archive's first moment falls on
        if first < zero < end:  # the line says the archive starts after the run's first
            first = round(zero, 3)  # frame: the segment starts there, on both sides
    kinds = [m.transform for m in run]
    return Segment(
        transform=max(set(kinds), key=kinds.count),
        query_start=first, query_end=end,
        item_start=None if offset is None else max(0.0, speed * first + offset),
        item_end=None if offset is None else speed * end + offset,
        frames=len(run), share=len(run) / len(times), density=len(run) / max(1, len(span)),
        distance=min(dists), mean_distance=statistics.fmean(dists), matches=run,
        speed=speed)


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
