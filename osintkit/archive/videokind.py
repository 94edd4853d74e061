"""Archive stage, videos: copy or another shot of the scene, for an archived video found
in a query video (archive/videomatch.py finds the segments; this judges them).

A copy aligns with the archived video along a line in time; another viewpoint of the
same scene aligns under one fit at a moment or two, or, at 64-px thumbnails, along a
slow pan too. So: PDQ agreement on a segment's line makes a copy; pixel agreement on
PIXEL_COPY_FRAMES frames or more makes a copy unless every pixel check (sameshot.py) at
the moments the lines put on stored shots says another shot; fewer pixel seeds leave it
to the pixel check of the best fit. `q`: a videomatch.QueryVideo, `item`: an ItemVideo,
`vm`: a VideoMatch (not imported: videomatch imports this module).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from osintkit.match.hashing import PDQ_MIN_QUALITY, PDQ_NEAR
from osintkit.match.segments import FrameMatch, Segment
from osintkit.match.videoalign import PDQ_EXTEND

PDQ_SEED = PDQ_NEAR  # a segment needs a pair this close (ThreatExchange's vPDQ threshold),
# and is extended by pairs within PDQ_EXTEND on its line (videoalign.py, segments.py)
MIN_QUALITY = PDQ_MIN_QUALITY  # frames flatter than this are never paired by PDQ
# Query frames whose aligned pixels seed a segment: this many make a copy unless the
# pixel checks all say another shot (measured: copies 10-12 in the benchmark's 10 s
# queries, other viewpoints of one scene 1-3; docs/video.md)
PIXEL_COPY_FRAMES = 4
MOMENT_FITS = 12  # fits at most to tell a copy from another viewpoint (_moment_checks)


@dataclass
class Fit:
    """A query frame fitted onto stored features (a shot, or a photo)."""

    frame: int  # query frame index
    target: Any  # shot id (video) or None (photo)
    geo: Any  # geometry.Geometry
    shot: Any = None  # sameshot.ShotCheck after the fit (photos)



def same_moment(q: Any, item: Any, fit: Fit) -> Fit:
    """The fit of the query frame showing the same moment as the stored shot: the frame
    of the fitted query shot with the most inliers. A shot's representative and the
    query's are rarely the same moment; fitted across moments, whatever moves (a person,
    an animal) pulls the mapping off by several percent, which the pixel pairs of every
    other frame would inherit."""
    from osintkit.match.geometry import match_features

    row = item.shots.get(fit.target)
    if row is None or not q.shots:
        return fit
    span = q.shots[q.shot_of(fit.frame)]
    target = row.picture.features()
    best = fit
    for j in range(span.first, span.last + 1):
        if j == fit.frame or q.frames[j].hashes.get("pdq_quality", 0) < MIN_QUALITY:
            continue
        feats = q.features(j, fit.geo.mirrored)
        geo = match_features(feats, feats, target, mirrored_only=fit.geo.mirrored)
        if geo.confirmed and geo.homography is not None and geo.inliers > best.geo.inliers:
            best = Fit(j, fit.target, geo)
    return best


def video_kind(q: Any, item: Any, vm: Any, fit: Fit | None) -> str | None:
    """"near" (a copy) when PDQ agrees on a segment's line, or the aligned pixels agree
    on PIXEL_COPY_FRAMES frames or more of it; with fewer pixel seeds, the pixel check
    of the best-fitted frame (sameshot.py) decides: another viewpoint of the same scene
    aligns under one fit at a moment or two (64-px thumbnails cannot tell it from a
    copy), a copy along its whole line. "scene" when a fit holds and the pixel check
    says another shot."""
    from osintkit.archive.robust import SCENE_MIN_INLIERS, SCENE_MIN_SPREAD, kind_of

    seeds = [m for s in vm.segments for m in s.matches if m.distance <= PDQ_SEED]
    if any(m.source == "pdq" for m in seeds):
        return "near"
    pixel_frames = len({m.query_t for m in seeds})
    if seeds and pixel_frames >= PIXEL_COPY_FRAMES:
        checks = _moment_checks(q, item, vm)
        if not checks or any(c is None or c.kind != "scene" for _, c in checks):
            return "near"
        fit = max((f for f, _ in checks), key=lambda f: f.geo.inliers)  # all say: scene
        vm.geometry = fit.geo.to_dict()
    if fit is None:
        return "near" if seeds else None
    check = _fit_check(q, item, fit)
    if check is not None:
        vm.shot = check.to_dict()
    if seeds and (check is None or check.kind != "scene"):
        return "near"
    kind = kind_of(fit.geo, check)
    if kind == "scene":
        supported = fit.geo.inliers >= SCENE_MIN_INLIERS
        return "scene" if fit.geo.spread >= SCENE_MIN_SPREAD and supported else None
    return kind


def _moment_checks(q: Any, item: Any, vm: Any) -> list[tuple[Fit, Any]]:
    """(fit, pixel check) pairs that can tell a copy from another viewpoint. On a
    segment whose times are exact: the query frame its line puts at a stored shot's
    representative moment (the same moment, whatever moves in it). On one whose times
    are approximate (near-static footage, the line may be a moment off): query frames
    spread over it, each against the stored shots, at most MOMENT_FITS fits in all."""
    from osintkit.match.geometry import match_features

    tries: list[tuple[int, Any, bool]] = []
    for seg in vm.segments:
        if seg.item_start is None:
            continue
        mirrored = seg.transform == "mirror"
        inside = [k for k, t in enumerate(q.times) if seg.query_start <= t < seg.query_end]
        if seg.approximate:
            step = max(1, len(inside) // 4)
            tries += [(k, row, mirrored) for k in inside[::step] for row in item.shots.values()]
            continue
        b = seg.item_start - seg.speed * seg.query_start
        for row in item.shots.values():
            qt = (row.t - b) / seg.speed
            if inside and seg.query_start <= qt < seg.query_end:
                k = min(inside, key=lambda k: abs(q.times[k] - qt))
                if abs(q.times[k] - qt) <= 0.6:
                    tries.append((k, row, mirrored))
    out = []
    for k, row, mirrored in tries[:MOMENT_FITS]:
        feats = q.features(k, mirrored)
        geo = match_features(feats, feats, row.picture.features(), mirrored_only=mirrored)
        if geo.confirmed and geo.homography is not None:
            fit = Fit(k, row.id, geo)
            out.append((fit, _fit_check(q, item, fit)))
    return out


def _fit_check(q: Any, item: Any, fit: Fit) -> Any:
    """The pixel check (sameshot.py) of a fitted query frame against the stored shot it
    was fitted on (the same moment as far as the fit could tell: `_same_moment`)."""
    from osintkit.match.sameshot import compare

    row = item.shots.get(fit.target)
    thumb = row.picture.thumb_image() if row is not None else None
    if thumb is None:
        return None
    try:
        return compare(q.image(fit.frame), q.size, thumb, row.picture.size, fit.geo.homography)
    except Exception:  # a degenerate mapping: no pixel verdict
        return None


def fit_segments(q: Any, item: Any, fits: list[Fit]) -> list[Segment]:
    """Another shot of the scene: each fitted query shot <-> the archived shot it fits."""
    out = []
    for f in sorted(fits, key=lambda f: f.frame):
        row = item.shots.get(f.target)
        if row is None:
            continue
        k = q.shot_of(f.frame)
        span = q.shots[k]
        start, end = q.times[span.first], q.pixels.shot_end(q.shots, k)
        if out and out[-1].query_end >= start:
            continue
        m = FrameMatch(q.times[f.frame], row.t, PDQ_EXTEND, "mirror" if f.geo.mirrored
                       else "none", "fit")
        n = span.last - span.first + 1
        out.append(Segment(start, end, row.t0, row.t1, n, n / len(q.times), 1.0, PDQ_EXTEND,
                           float(PDQ_EXTEND), [m], m.transform,
                           approximate=True))  # shot <-> shot: no line tells the moment
    return out
