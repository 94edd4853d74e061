"""Matching stage, videos: where a query video shows an archived video or an archived
photo, under the disguises re-posts wear -- a crop or a zoom, bars, a blurred fill, a
player or a chat around the picture, a mirror, another speed, a re-cut, a slideshow's
pan and zoom.

Sits after hashing (the frames' PDQ, and the reduced frames of media/videopixels.py)
and beside archive/robust.py (the same views, candidates and fits as a photo, run on the
frame that represents each shot). The archive's search (archive/videosearch.py) and
`compare` both end here, so one pair of videos gets one answer.

    query frames ──► video box (media/videoregion.py) ──► PDQ of each frame and box
    a PDQ line or a fit on a stored shot ──► H: query pixels → archived pixels, the same
        for every frame of an edited copy (a crop, a player, a mirror do not move)
    every query frame warped by H onto the archived video's strip (archive/videostore.py)
        ──► pixel pairs;  PDQ pairs + pixel pairs ──► lines, segments (segments.py)
    an archived photo: the fitted frames, then their neighbours fitted one by one
        ──► "shown from t1 to t2"
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from osintkit.archive.videokind import (
    MIN_QUALITY,
    PDQ_SEED,
    Fit,
    fit_segments,
    same_moment,
    video_kind,
)
from osintkit.match.segments import FrameMatch, Segment, distance_matrix, segments_from_matches
from osintkit.match.videoalign import (
    MIN_STD,
    PDQ_EXTEND,
    line_pairs,
    mark_approximate,
    peak_pairs,
    pixel_scores,
)

Box = tuple[int, int, int, int]
MAPPINGS = 3  # fitted archived shots whose mappings are tried (match_video)


# ---------------------------------------------------------------- the query
@dataclass
class QueryVideo:
    """A query video as matching needs it: hashes, kept pixels, boxes and shots."""

    pixels: Any  # media/videopixels.VideoPixels
    frames: list[Any]  # hashfile.FrameHashes, one per kept frame
    boxes: list[Box] = field(default_factory=list)  # where the video sits (frame pixels)
    box_pdq: list[list[dict[str, str]]] = field(default_factory=list)  # [frame][box]
    shots: list[Any] = field(default_factory=list)
    _pictures: dict[int, Any] = field(default_factory=dict, repr=False)
    _features: dict[tuple[int, bool], Any] = field(default_factory=dict, repr=False)
    _images: dict[int, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, result: Any) -> QueryVideo | None:
        """From a video HashResult hashed with `pixels=True` (None otherwise)."""
        from osintkit.media.videoregion import video_boxes

        px = getattr(result, "pixels", None)
        frames = getattr(result, "frames", None) or []
        if px is None or not len(px) or len(px) != len(frames):
            return None
        qv = cls(px, list(frames))
        qv.boxes = video_boxes(px.thumbs(), px.size)
        qv.shots = px.shots()
        if qv.boxes:
            qv.box_pdq = [qv.box_hashes(i) for i in range(len(px))]
        return qv

    @property
    def times(self) -> list[float]:
        return self.pixels.times

    @property
    def size(self) -> tuple[int, int]:
        return self.pixels.size

    @property
    def end(self) -> float:
        return self.pixels.end()

    def image(self, i: int) -> Any:
        """Frame i's reduced colour copy (a few are cached: fits revisit them)."""
        if i not in self._images:
            if len(self._images) > 64:
                self._images.clear()
            self._images[i] = self.pixels.image(i)
        return self._images[i]

    def _scaled_boxes(self, img: Any) -> list[Box]:
        f = img.width / self.size[0]
        return [(round(x * f), round(y * f), max(1, round(w * f)), max(1, round(h * f)))
                for x, y, w, h in self.boxes]

    def box_hashes(self, i: int) -> list[dict[str, str]]:
        from osintkit.match.hashing import hash_with_variants, shrink
        from osintkit.match.views import crop

        img = self.image(i)
        out = []
        for box in self._scaled_boxes(img):
            hashes, variants = hash_with_variants(shrink(crop(img, box)), ("pdq",))
            out.append({} if int(hashes["pdq_quality"]) < MIN_QUALITY else
                       {t: variants[t] for t in ("none", "mirror")})
        return out

    def picture(self, i: int) -> Any:
        """Frame i as a robust.QueryPicture (both orientations, words, regions)."""
        from osintkit.archive.robust import QueryPicture

        if i not in self._pictures:
            img = self.image(i)
            self._pictures[i] = QueryPicture.of(img, self.size,
                                                regions=self._scaled_boxes(img))
            self._features[(i, False)] = self._pictures[i].features
            self._features[(i, True)] = self._pictures[i].mirrored
        return self._pictures[i]

    def features(self, i: int, mirrored: bool) -> Any:
        """Frame i's ORB features in one orientation (whole frame + the video box)."""
        from osintkit.match.geometry import Features
        from osintkit.match.localfeat import QUERY_FEATURES, detect, rescale
        from osintkit.match.views import crop

        key = (i, mirrored)
        if key not in self._features:
            img = self.image(i)
            boxes = self._scaled_boxes(img)
            parts = [((0, 0), img)] + ([(boxes[0][:2], crop(img, boxes[0]))] if boxes else [])
            pts_all, desc_all = [], []
            for (ox, oy), part in parts:
                pts, desc = detect(part, QUERY_FEATURES, mirrored=mirrored)
                if mirrored:
                    ox = img.width - ox - part.width
                pts_all.append(pts + np.array([ox, oy], np.float32))
                desc_all.append(desc)
            pts, desc = np.concatenate(pts_all), np.concatenate(desc_all)
            self._features[key] = Features(rescale(pts, self.size[0] / img.width),
                                           desc if len(desc) else None, self.size, "orb")
        return self._features[key]

    def shot_of(self, i: int) -> int:
        for k, s in enumerate(self.shots):
            if s.first <= i <= s.last:
                return k
        return len(self.shots) - 1


# ---------------------------------------------------------------- an archived video
@dataclass
class ItemVideo:
    """An archived video as matching needs it (from the archive, or a file: compare)."""

    item_id: Any
    frames: list[tuple[float, str, int]]  # (t, pdq hex, quality)
    strip: Any = None  # archive/videostore.Strip
    shots: dict[int, Any] = field(default_factory=dict)  # shot id -> videostore.ShotRow

    @property
    def size(self) -> tuple[int, int] | None:
        if self.strip is not None:
            return self.strip.size
        return next((s.picture.size for s in self.shots.values()), None)


@dataclass
class VideoMatch:
    """What matching found of one archived video (or photo) in the query."""

    segments: list[Segment]
    kind: str | None  # "near" (a copy) | "scene" (another shot) | None (not confirmed)
    transform: str = "none"
    geometry: dict[str, Any] | None = None
    shot: dict[str, Any] | None = None
    pairs: list[FrameMatch] = field(default_factory=list)
    basis: str = "hashes"
    best_pdq: int | None = None

    @property
    def seconds(self) -> float:
        return sum(s.query_end - s.query_start for s in self.segments)


# ---------------------------------------------------------------- PDQ pairs
def pdq_pairs(q: QueryVideo | Any, item: ItemVideo,
              limit: int = PDQ_EXTEND) -> tuple[list[FrameMatch], dict[tuple[int, str], int]]:
    """Every (query frame, archived frame) pair within `limit` PDQ bits, the query frame
    taken whole or in its video box, plain or mirrored; each pair keeps its best. Also
    how many seed pairs each (view, transform) gave: the view that explains the copy."""
    qframes = q.frames if isinstance(q, QueryVideo) else q
    keep = [(k, t, h, qq) for k, (t, h, qq) in enumerate(item.frames)
            if h and (qq is None or qq >= MIN_QUALITY)]
    if not keep or not qframes:
        return [], {}
    targets = [h for _, _, h, _ in keep]
    best = np.full((len(qframes), len(keep)), 999, np.int32)
    how = np.zeros(best.shape, np.int32)  # view * 2 + mirrored
    views: list[list[tuple[int, dict[str, str]]]] = [[] for _ in qframes]
    for i, f in enumerate(qframes):
        if int(f.hashes.get("pdq_quality") or 0) >= MIN_QUALITY:
            variants = dict(getattr(f, "variants", None) or {})
            variants.setdefault("none", f.hashes["pdq"])
            views[i].append((0, variants))
        if isinstance(q, QueryVideo) and q.box_pdq:
            views[i] += [(b + 1, v) for b, v in enumerate(q.box_pdq[i]) if v]
    for mirrored, name in ((0, "none"), (1, "mirror")):
        rows = [(i, view, v[name]) for i, vs in enumerate(views) for view, v in vs
                if v.get(name)]
        if not rows:
            continue
        d = distance_matrix([h for _, _, h in rows], targets)
        for r, (i, view, _) in enumerate(rows):
            better = d[r] < best[i]
            best[i] = np.where(better, d[r], best[i])
            how[i] = np.where(better, view * 2 + mirrored, how[i])
    out, seeds = [], {}
    for i, j in zip(*np.nonzero(best <= limit), strict=True):
        code = int(how[i, j])
        tr = "mirror" if code % 2 else "none"
        out.append(FrameMatch(float(qframes[i].t), float(keep[j][1]), int(best[i, j]), tr))
        if best[i, j] <= PDQ_SEED:
            key = (code // 2, tr)
            seeds[key] = seeds.get(key, 0) + 1
    return out, seeds


def view_homography(q: QueryVideo, view: int, mirrored: bool,
                    size: tuple[int, int]) -> np.ndarray:
    """H mapping the query's view (0: whole frame, k: box k-1) onto an archived frame of
    `size`, flipped left-right when the copy is mirrored."""
    x, y, w, h = (0, 0, *q.size) if view == 0 else q.boxes[view - 1]
    sx, sy = size[0] / w, size[1] / h
    m = np.array([[sx, 0.0, -x * sx], [0.0, sy, -y * sy], [0.0, 0.0, 1.0]])
    if mirrored:
        m = np.array([[-1.0, 0.0, size[0]], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]) @ m
    return m


# ---------------------------------------------------------------- one archived video
def match_video(q: QueryVideo, item: ItemVideo, fits: list[Fit] | None = None) -> VideoMatch:
    """Segments of `item` in the query: PDQ pairs, then pixel pairs under the mapping
    that explains the most of the query (the PDQ pairs' view, or one of the fits); copy
    or another shot."""
    fits = [f for f in fits or [] if f.geo.confirmed and f.geo.homography is not None]
    pdq, seeds = pdq_pairs(q, item)
    best_fit = same_moment(q, item, max(fits, key=lambda f: f.geo.inliers)) if fits else None
    chosen: tuple | None = None
    for H, transform, basis, fit in _mappings(q, item, fits, seeds, best_fit):
        pairs, segs, scores = _align(q, item, list(pdq), H, transform)
        score = (sum(x.query_end - x.query_start for x in segs), len(pairs))
        if chosen is None or score > chosen[0]:
            chosen = (score, transform, basis, fit, pairs, segs, scores)
    _, transform, basis, fit, pairs, segs, scores = chosen or (
        (0, 0), "none", "hashes", None, pdq, [], None)
    fit = fit or best_fit
    if scores is not None:
        mark_approximate(q.times, item.strip.times, scores, segs)
    segs = _grow_over_flat(q, segs)
    dist = [m.distance for m in pairs if m.source == "pdq"]
    vm = VideoMatch(segs, None, transform, pairs=[m for x in segs for m in x.matches],
                    basis=basis, best_pdq=min(dist) if dist else None)
    if fit is not None:
        vm.geometry = fit.geo.to_dict()
    vm.kind = video_kind(q, item, vm, fit)
    if fit is not None and (vm.kind == "scene" or (vm.kind and not vm.segments)):
        vm.segments = fit_segments(q, item, fits)  # the fitted shots, without a line
    return vm


def _mappings(q: QueryVideo, item: ItemVideo, fits: list[Fit], seeds: dict[tuple[int, str], int],
              best_fit: Fit | None) -> list[tuple[np.ndarray | None, str, str, Fit | None]]:
    """The mappings (H, transform, basis, fit) worth aligning the query with: the view
    the PDQ seeds point at, then the fits of up to MAPPINGS distinct archived shots. A
    fit is exact only for the moment it was made at: in a pan, another moment of the
    same shot fits too, shifted (time and position trade off), and its pixel pairs then
    fall a second off and miss the other shots; the mapping that explains the most of
    the query wins (a still shot, or a fit at the same moment, aligns every shot)."""
    out: list[tuple[np.ndarray | None, str, str, Fit | None]] = []
    if seeds and item.size is not None:
        (view, transform), _ = max(seeds.items(), key=lambda kv: (kv[1], -kv[0][0]))
        out.append((view_homography(q, view, transform == "mirror", item.size), transform,
                    "hashes" if not fits else "hashes+geometry", best_fit))
    seen: set[Any] = set()
    for f in sorted(fits, key=lambda f: -f.geo.inliers):
        if f.target in seen or len(seen) >= MAPPINGS:
            continue
        seen.add(f.target)
        f = best_fit if best_fit is not None and f.target == best_fit.target else \
            same_moment(q, item, f)
        out.append((np.asarray(f.geo.homography, np.float64),
                    "mirror" if f.geo.mirrored else "none",
                    "geometry" if not seeds else "hashes+geometry", f))
    return out or [(None, "none", "hashes", None)]


def _align(q: QueryVideo, item: ItemVideo, pairs: list[FrameMatch], H: np.ndarray | None,
           transform: str) -> tuple[list[FrameMatch], list[Segment], np.ndarray | None]:
    """The PDQ pairs plus the pixel pairs under H, the segments they make, and the
    pixel correlations (videoalign.pixel_scores; None without H)."""
    scores = pixel_scores(q, item, H) if H is not None else None
    if scores is not None:
        pairs = pairs + peak_pairs(q, item, scores, transform)
    segs = segments_from_matches(pairs, q.times, q.end, PDQ_SEED)
    if scores is not None and segs:  # read the pixels where each line says to look
        pairs = pairs + line_pairs(q, item, scores, segs, transform)
        segs = segments_from_matches(pairs, q.times, q.end, PDQ_SEED)
    return pairs, segs, scores


def _flat(q: QueryVideo) -> list[bool]:
    """Query frames with too little detail to match or contradict anything."""
    thumbs = q.pixels.thumbs().reshape(len(q.times), -1).astype(np.float32)
    return [int(f.hashes.get("pdq_quality") or 0) < MIN_QUALITY and float(t.std()) < 2 * MIN_STD
            for f, t in zip(q.frames, thumbs, strict=True)]


def _grow_over_flat(q: QueryVideo, segs: list[Segment]) -> list[Segment]:
    """Each segment's ends grown over neighbouring flat query frames (a sky, a fade, a
    dark moment that no pair can confirm but nothing contradicts), up to the next
    segment; the archive times follow the segment's line."""
    if not segs:
        return segs
    flat = _flat(q)
    times = q.times
    index = {t: i for i, t in enumerate(times)}
    taken = sorted((s.query_start, s.query_end) for s in segs)
    for s in segs:
        i = index.get(s.query_start)
        last = index.get(s.matches[-1].query_t) if s.matches else None
        if i is None or last is None:
            continue
        lo = max([e for _, e in taken if e <= s.query_start], default=0.0)
        while i > 0 and flat[i - 1] and times[i - 1] >= lo:
            i -= 1
        hi = min([b for b, _ in taken if b >= s.query_end], default=q.end)
        j = index.get(s.query_end, len(times))
        while j < len(times) and flat[j] and times[j] < hi:
            j += 1
        start, end = times[i], (times[j] if j < len(times) else q.end)
        if (start, end) == (s.query_start, s.query_end):
            continue
        if s.item_start is not None:
            b = s.item_start - s.speed * s.query_start
            s.item_start, s.item_end = max(0.0, s.speed * start + b), s.speed * end + b
        s.query_start, s.query_end = start, end
    return segs
