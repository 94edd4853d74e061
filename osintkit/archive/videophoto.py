"""Matching stage, videos: when an archived photo is shown in a query video (a
slideshow of old pictures, a photo filmed on a screen, a still inserted in a clip). The
frames fitted onto the stored photo (or PDQ-matched to it) are grown to their neighbours
one fit at a time, then made into "shown from t1 to t2" segments (segments.py). The
query side (QueryVideo) and the result (VideoMatch) are videomatch.py's."""

from __future__ import annotations

from typing import Any

from osintkit.archive.videokind import Fit
from osintkit.archive.videomatch import PDQ_SEED, QueryVideo, VideoMatch
from osintkit.match.segments import FrameMatch, segments_from_matches


def photo_check(q: QueryVideo, i: int, lp: Any, mirrored: bool) -> Any:
    """Fit query frame i onto a stored photo in one orientation (geometry.Geometry)."""
    from osintkit.match.geometry import match_features

    feats = q.features(i, mirrored)
    return match_features(feats, feats, lp.features(), mirrored_only=mirrored)


def match_photo(q: QueryVideo,  # noqa: C901  (seeds, growth both ways, verdict)
                lp: Any, fits: list[Fit], hash_frames: dict[int, int],
                budget: list[int] | None = None) -> VideoMatch:
    """When an archived photo is shown in the query: the frames fitted (or PDQ-matched)
    onto it, grown to their neighbours one fitted frame at a time (two misses in a row
    stop it); `budget` ([fits left]) bounds the fits."""
    from osintkit.archive.robust import kind_of

    hits: dict[int, int] = {}
    for i, d in hash_frames.items():
        hits[i] = min(d, hits.get(i, 999))
    good = [f for f in fits if f.geo.confirmed]
    for f in good:
        hits[f.frame] = min(hits.get(f.frame, 999), 0)
    mirrored = any(f.geo.mirrored for f in good)
    tried = set(hits)
    budget = budget if budget is not None else [len(q.times)]
    for start in sorted(hits):
        for step in (-1, 1):
            i, misses = start + step, 0
            while 0 <= i < len(q.times) and misses < 2 and budget[0] > 0:
                if i in hits:
                    misses = 0
                elif i not in tried:
                    tried.add(i)
                    budget[0] -= 1
                    geo = photo_check(q, i, lp, mirrored)
                    if geo.confirmed:
                        hits[i], misses = 0, 0
                    else:
                        misses += 1
                else:
                    misses += 1
                i += step
    pairs = [FrameMatch(q.times[i], None, d, "mirror" if mirrored else "none",
                        "pdq" if d else "fit") for i, d in sorted(hits.items())]
    segs = segments_from_matches(pairs, q.times, q.end, PDQ_SEED)
    best = max(good, key=lambda f: f.geo.inliers) if good else None
    kind = kind_of(best.geo, best.shot) if best is not None else None
    if kind is None and any(d <= PDQ_SEED for d in hash_frames.values()):
        kind = "near"
    vm = VideoMatch(segs, kind, "mirror" if mirrored else "none",
                    pairs=pairs, basis="geometry" if good else "hashes",
                    best_pdq=min(hash_frames.values()) if hash_frames else None)
    if best is not None:
        vm.geometry = best.geo.to_dict()
        vm.shot = best.shot.to_dict() if best.shot is not None else None
        if hash_frames:
            vm.basis = "hashes+geometry"
    return vm
