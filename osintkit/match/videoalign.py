"""Match stage (media -> **match** -> archive), videos: the time alignment of a query
video with an archived one under a known mapping H (query pixels -> archived pixels: a
crop, a player, a mirror). Every query frame's grey thumbnail is warped by H onto the
archived video's strip (archive/videostore.py: a 64-px grey thumbnail of every sampled
archived frame) and correlated there; the correlations become frame pairs on PDQ's
scale, which segments.py turns into lines and segments like PDQ pairs. Used by
videomatch.py (`q`: a videomatch.QueryVideo, `item`: a videomatch.ItemVideo)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from osintkit.match.segments import FrameMatch

PDQ_EXTEND = 64  # a pair this close (PDQ bits, or pixels on PDQ's scale) extends a segment
# Pixel pairs: a query frame warped by H onto an archived frame's 64-px grey thumbnail,
# compared by normalized correlation over the part both show. The correlation is put
# on PDQ's scale (bits = (1 - ncc) x PIXEL_BITS) so that both kinds of pair share the
# segment rules: NCC >= 0.75 seeds a segment, >= 0.48 extends one on its line. Pairs
# exist only under a mapping that a PDQ line or a confirmed fit gave; measured on the
# benchmark's clips (docs/video.md): copies 0.75-1.0 (a small video in a chat, blurred
# by two rescalings, sits near 0.8), unrelated footage under such a mapping < 0.5.
PIXEL_BITS = 124
LINE_NCC = 0.6  # where a line says to look, a pair needs this much correlation
PIXEL_PEAKS = 4  # moments kept per query frame: the best local maxima along the strip
MIN_STD = 3.0  # grey-level std under which a thumbnail is flat: no pixel pair


def _flatten(stack: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of zero-mean, unit-norm pixels under `mask`; and which rows have detail."""
    v = stack[:, mask].astype(np.float32)
    v -= v.mean(axis=1, keepdims=True)
    std = np.sqrt((v * v).mean(axis=1))
    ok = std >= MIN_STD
    v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-6)
    return v, ok


def pixel_scores(q: Any, item: Any, H: np.ndarray) -> np.ndarray | None:
    """(query frames x archived frames) correlation of the query frames warped by H
    onto the strip, over the part both show (None when there is too little of it)."""
    import cv2

    strip = item.strip
    if strip is None or not len(strip.times):
        return None
    _, sh, sw = strip.thumbs.shape
    thumbs = q.pixels.thumbs()
    th, tw = thumbs.shape[1:]
    to_q = np.diag([q.size[0] / tw, q.size[1] / th, 1.0])
    to_s = np.diag([sw / strip.size[0], sh / strip.size[1], 1.0])
    m = to_s @ np.asarray(H, np.float64) @ to_q
    # the warp shrinks the query thumbnails: blur them to the strip's resolution first
    scale = math.sqrt(abs(np.linalg.det(m[:2, :2]))) or 1.0
    sigma = max(0.0, 0.5 / scale - 0.3)
    mask = cv2.warpPerspective(np.ones((th, tw), np.uint8), m, (sw, sh),
                               flags=cv2.INTER_NEAREST) > 0
    mask = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    if mask.sum() < 0.15 * sw * sh:
        return None
    warped = np.stack([cv2.warpPerspective(
        cv2.GaussianBlur(t, (0, 0), sigma) if sigma > 0.05 else t, m, (sw, sh),
        flags=cv2.INTER_LINEAR) for t in thumbs])
    a = np.stack([cv2.GaussianBlur(t, (0, 0), 0.6) for t in strip.thumbs])
    warped = np.stack([cv2.GaussianBlur(t, (0, 0), 0.6) for t in warped])
    qv, qok = _flatten(warped, mask)
    av, aok = _flatten(a, mask)
    s = qv @ av.T
    s[~qok] = -1.0
    s[:, ~aok] = -1.0
    return s


def _bits(ncc: float) -> int:
    return round((1.0 - ncc) * PIXEL_BITS)


def peak_pairs(q: Any, item: Any, s: np.ndarray,
                transform: str) -> list[FrameMatch]:
    """For each query frame, the PIXEL_PEAKS best moments of the strip (local maxima of
    the correlation along archive time, within PDQ_EXTEND on PDQ's scale)."""
    out = []
    times = item.strip.times
    floor = 1.0 - PDQ_EXTEND / PIXEL_BITS
    for i, row in enumerate(s):
        left = np.r_[-2.0, row[:-1]]
        right = np.r_[row[1:], -2.0]
        peaks = np.flatnonzero((row >= left) & (row >= right) & (row >= floor))
        for j in peaks[np.argsort(-row[peaks])][:PIXEL_PEAKS].tolist():
            out.append(FrameMatch(float(q.times[i]), float(times[j]), _bits(float(row[j])),
                                  transform, "pixels"))
    return out


def line_pairs(q: Any, item: Any, s: np.ndarray, segs: list[Any],
                transform: str) -> list[FrameMatch]:
    """Pairs where each segment's line says the query frame's moment is (within a
    strip step): in a still or slow shot every moment looks alike, and the peaks of a
    frame's correlation may all lie elsewhere; the line through its neighbours tells."""
    out = []
    times = item.strip.times.astype(np.float64)
    floor = LINE_NCC
    for seg in segs:
        if seg.item_start is None:
            continue
        b = seg.item_start - seg.speed * seg.query_start
        for i, t in enumerate(q.times):
            at = seg.speed * t + b
            if not times[0] - 0.5 <= at <= times[-1] + 0.5:
                continue
            j = int(np.clip(np.searchsorted(times, at), 0, len(times) - 1))
            near = [k for k in (j - 1, j) if 0 <= k < len(times)]
            k = max(near, key=lambda k: s[i, k])
            if abs(times[k] - at) <= 0.5 and s[i, k] >= floor:
                out.append(FrameMatch(float(t), float(times[k]), _bits(float(s[i, k])),
                                      transform, "pixels"))
    return out


# Near-static footage (a fixed camera, a talking head) looks alike at many moments: the
# line through its pairs is then one of several that fit. A segment's times are marked
# approximate when, for most of its frames, a moment at least AMBIGUOUS_S away from
# where the line puts it correlates within AMBIGUOUS_NCC of the line's own moment.
AMBIGUOUS_S = 1.5
AMBIGUOUS_NCC = 0.02


def mark_approximate(query_times: list[float], strip_times: Any, scores: np.ndarray,
                     segs: list[Any]) -> None:
    """Set `approximate` on each segment (segments.Segment) whose position in the
    archived video the pixels cannot tell apart from another (see AMBIGUOUS_S)."""
    st = np.asarray(strip_times, np.float64)
    for seg in segs:
        if seg.item_start is None or not len(st):
            continue
        b = seg.item_start - seg.speed * seg.query_start
        votes = []
        for i, t in enumerate(query_times):
            if not seg.query_start <= t < seg.query_end:
                continue
            gap = np.abs(st - (seg.speed * t + b))
            here, far = scores[i, gap <= 0.5], scores[i, gap >= AMBIGUOUS_S]
            if len(here) and len(far) and here.max() > -1.0:
                votes.append(bool(far.max() >= here.max() - AMBIGUOUS_NCC))
        seg.approximate = bool(votes) and sum(votes) * 2 > len(votes)
