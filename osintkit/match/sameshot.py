"""Match stage, copy or another shot: after a geometric fit, is the query the same
photograph as the archived one (cropped, scaled, padded, mirrored, slightly rotated,
re-encoded, recoloured, with text or a logo on it), or another photograph of the same
scene (another viewpoint, moment or exposure)?

Flow: media -> **match** -> archive. Sits after `geometry.py` (the fit) and before the
archive's match kinds (`"near"` vs
`"scene"`). Local features cannot tell: a stereo pair or two exposures of one wall fit
as well as a crop. Pixels can. The query is warped onto the archived picture's stored
thumbnail with the fitted transform, the alignment refined (OpenCV's ECC), and the two
compared block by block on their fine structure (a band-pass of the grey levels, so that
brightness, contrast and colour edits do not count):

* a copy agrees almost everywhere it is not covered by an overlay -- its pixels ARE the
  archived pixels, resampled;
* another shot disagrees where depth, motion or light differ: parallax shifts near and
  far objects differently (no single transform aligns them), things move between two
  moments.

Two exposures of one scene from a tripod, without motion, are the one case pixels at
this scale cannot tell from a brightness edit of a copy. Whether each side shows detail
the other has clipped (blown highlights, crushed shadows) is measured and reported
(`clipped`, `clipped_both_ways`) but does not decide: text or a logo over a blown sky
makes edited copies look the same (4-6% of their overlap, measured).

Thresholds are measured (scripts/bench_matching.py: every copy family against stereo
pairs, viewpoint series, exposure pairs and bursts; docs/robust-matching.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PIL import Image

if TYPE_CHECKING:
    import numpy as np

SIZE = 320  # longer side of the comparison (the stored thumbnail's)
BAND = (0.8, 2.4)  # sigmas of the band-pass (comparison pixels)
BLOCK = 16  # block side, in comparison pixels
MIN_ENERGY = 2.0  # band-pass std below this: a flat block, not compared
AGREE_NCC = 0.55  # a block agrees when its band-pass correlation reaches this
COPY_AGREE = 0.62  # a copy: at least this share of the compared blocks agree ...
COPY_MEDIAN = 0.72  # ... and the median block correlation reaches this
OVERLAY_RATIO = 2.5  # one side this much more structured where they disagree: an overlay
MIN_BLOCKS = 12  # fewer comparable blocks: too little structure to decide
CLIP_LOW, CLIP_HIGH = 6, 249  # grey levels counted as clipped shadows / highlights
CLIPPED_SHARE = 0.01  # each side shows detail the other clipped over this share (evidence)


@dataclass
class ShotCheck:
    """The pixel comparison behind a copy/scene decision."""

    kind: str  # "copy" | "scene" | "unknown" (too little structure or overlap)
    agree: float = 0.0  # share of compared blocks whose structure agrees
    median_ncc: float = 0.0
    blocks: int = 0  # blocks compared (textured on both sides, inside the overlap)
    clipped_both_ways: bool = False  # each side shows detail the other has clipped
    refined: bool = False  # ECC refined the alignment
    reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "agree": round(self.agree, 3),
                "median_ncc": round(self.median_ncc, 3), "blocks": self.blocks,
                "clipped_both_ways": self.clipped_both_ways,
                "clipped": self.extra.get("clipped"), "refined": self.refined,
                "reason": self.reason}


def _gray(img: Image.Image, side: int = SIZE) -> tuple[np.ndarray, float]:
    """Grey float32 copy with the longer side `side` (never enlarged), and its scale."""
    import numpy as np

    scale = min(1.0, side / max(img.size))
    g = img.convert("L")
    if scale < 1.0:
        g = g.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                     Image.Resampling.BOX)
    return np.asarray(g, dtype=np.float32), scale


def _scaling(sx: float, sy: float) -> np.ndarray:
    """Pixel coordinates of a picture -> those of its copy resized by (sx, sy), pixel
    centres at integer coordinates (as OpenCV warps them)."""
    import numpy as np

    return np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0.0, 0.0, 1.0]])


def _band(a: np.ndarray) -> np.ndarray:
    """Fine structure: difference of Gaussians (sigma 0.8 - 2.4 px)."""
    import cv2

    return cv2.GaussianBlur(a, (0, 0), BAND[0]) - cv2.GaussianBlur(a, (0, 0), BAND[1])


def _refine(moving: np.ndarray, fixed: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, bool]:
    """ECC-refined homography taking `moving` (already warped) onto `fixed`."""
    import cv2
    import numpy as np

    warp = np.eye(3, dtype=np.float32)
    try:
        _, warp = cv2.findTransformECC(fixed, moving, warp, cv2.MOTION_HOMOGRAPHY,
                                       (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 40,
                                        1e-4), mask.astype(np.uint8), 3)
    except cv2.error:
        return np.eye(3, dtype=np.float32), False
    # a refinement that moves the picture by more than a few pixels is a wrong one
    corners = np.array([[0, 0, 1], [fixed.shape[1], 0, 1], [0, fixed.shape[0], 1],
                        [fixed.shape[1], fixed.shape[0], 1]], dtype=np.float32).T
    moved = warp @ corners
    moved = moved[:2] / moved[2]
    if not np.all(np.isfinite(moved)) or np.abs(moved - corners[:2]).max() > 6:
        return np.eye(3, dtype=np.float32), False
    return warp, True


def compare(query: Image.Image, query_size: tuple[int, int], original: Image.Image,
            original_size: tuple[int, int], homography: Any) -> ShotCheck:
    """Copy or another shot? `homography` maps query pixels (of a picture of
    `query_size`) to original pixels (`original_size`); `query` and `original` may be
    reduced decodes of those pictures (the thumbnail, for the archived one)."""
    import cv2
    import numpy as np

    t, ts = _gray(original)
    st = _scaling(t.shape[1] / original_size[0], t.shape[0] / original_size[1])
    hq = st @ np.asarray(homography, dtype=np.float64)  # query pixels -> comparison pixels
    # compare at the coarser of the two resolutions: a small query (a thumbnail-sized
    # re-post) has none of the fine structure of the archived picture, so the archived
    # picture is reduced to the query's scale rather than the query enlarged
    scale = math.sqrt(abs(np.linalg.det(hq[:2, :2] / hq[2, 2]))) * max(query_size) / \
        max(query.size)
    if scale > 1.05:
        t, _ = _gray(original, max(4 * BLOCK, round(max(t.shape) / scale)))
        st = _scaling(t.shape[1] / original_size[0], t.shape[0] / original_size[1])
        hq = st @ np.asarray(homography, dtype=np.float64)
    # reduce the query (antialiased) to the comparison's scale first: warping a larger
    # picture down with linear interpolation aliases exactly the fine structure compared
    shrink = min(1.0, math.sqrt(abs(np.linalg.det(hq[:2, :2] / hq[2, 2]))) *
                 max(query_size) / max(query.size))
    q, _ = _gray(query, max(16, round(max(query.size) * shrink)))
    sq = _scaling(q.shape[1] / query_size[0], q.shape[0] / query_size[1])
    h = hq @ np.linalg.inv(sq)
    size = (t.shape[1], t.shape[0])
    warped = cv2.warpPerspective(q, h, size, flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    inside = cv2.warpPerspective(np.ones_like(q), h, size, flags=cv2.INTER_NEAREST) > 0.5
    inside = cv2.erode(inside.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    if inside.sum() < (BLOCK * BLOCK) * MIN_BLOCKS:
        return ShotCheck("unknown", reason="too little overlap to compare pixels")
    fixed_b, moving_b = _band(t), _band(warped)
    check = _blocks(fixed_b, moving_b, inside)
    # ECC only when a copy's verdict could still change (it costs as much as the rest)
    refine, refined = _refine(moving_b, fixed_b, inside) if check.agree < 0.9 else \
        (None, False)
    if refined:  # kept only when it aligns better (an overlay can drag ECC off)
        warped2 = cv2.warpPerspective(warped, refine, size,
                                      flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
        inside2 = cv2.warpPerspective(inside.astype(np.uint8), refine, size,
                                      flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP) > 0
        check2 = _blocks(fixed_b, _band(warped2), inside2)
        if check2.agree > check.agree:
            check, warped, inside = check2, warped2, inside2
            check.refined = True
    clip = _clipped_both_ways(t, warped, inside)
    check.clipped_both_ways = min(clip) >= CLIPPED_SHARE
    check.extra["clipped"] = [round(c, 4) for c in clip]
    _decide(check)
    check.extra["thumb_scale"] = ts
    return check


def _block_sums(x: np.ndarray, rows: int, cols: int) -> np.ndarray:
    return x[:rows * BLOCK, :cols * BLOCK].reshape(rows, BLOCK, cols, BLOCK).sum(axis=(1, 3))


def _ncc_blocks(a: np.ndarray, b: np.ndarray, rows: int, cols: int) -> tuple[np.ndarray, ...]:
    """Per-block (ncc, std a, std b) of two equally sized pictures."""
    import numpy as np

    n = float(BLOCK * BLOCK)
    sa, sb = _block_sums(a, rows, cols) / n, _block_sums(b, rows, cols) / n
    va = np.maximum(_block_sums(a * a, rows, cols) / n - sa * sa, 0.0)
    vb = np.maximum(_block_sums(b * b, rows, cols) / n - sb * sb, 0.0)
    cov = _block_sums(a * b, rows, cols) / n - sa * sb
    da, db = np.sqrt(va), np.sqrt(vb)
    ncc = np.where((da > 1e-3) & (db > 1e-3), cov / np.maximum(da * db, 1e-6), 0.0)
    return ncc, da, db


def _blocks(a: np.ndarray, b: np.ndarray, inside: np.ndarray) -> ShotCheck:
    """Per-block normalized correlation of two band-passed pictures inside the overlap.

    A block that disagrees while one side has far more (or far less) structure than the
    other is an overlay's (text, a logo, an opaque or darkening band) and is left out: an
    overlay adds or hides structure, another shot has as much structure, elsewhere."""
    import numpy as np

    h, w = a.shape
    rows, cols = h // BLOCK, w // BLOCK
    if rows < 1 or cols < 1:
        return ShotCheck("unknown", reason="too small to compare")
    ncc, da, db = _ncc_blocks(a, b, rows, cols)
    ok = _block_sums(inside.astype(np.float32), rows, cols) >= 0.95 * BLOCK * BLOCK
    textured = ok & ((da >= MIN_ENERGY) | (db >= MIN_ENERGY))
    ratio = np.maximum(da, db) / np.maximum(np.minimum(da, db), 0.5)
    overlay = textured & (ncc < AGREE_NCC) & (ratio > OVERLAY_RATIO)
    used = textured & ~overlay
    n = int(used.sum())
    if not n:
        return ShotCheck("unknown", reason="no structure to compare",
                         extra={"overlay_blocks": int(overlay.sum())})
    return ShotCheck("unknown", float((ncc[used] >= AGREE_NCC).mean()),
                     float(np.median(ncc[used])), n,
                     extra={"overlay_blocks": int(overlay.sum())})


def _clipped_both_ways(a: np.ndarray, b: np.ndarray, inside: np.ndarray) -> tuple[float, float]:
    """Each picture shows detail where the other is clipped (blown highlights or crushed
    shadows): two exposures. An edited copy only ever loses detail on one side."""
    import cv2
    import numpy as np

    def detail(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(np.abs(_band(x)), (0, 0), 3) > 2.5

    def clipped(x: np.ndarray) -> np.ndarray:
        m = cv2.GaussianBlur(x, (0, 0), 3)
        return (m <= CLIP_LOW) | (m >= CLIP_HIGH)

    n = max(1, int(inside.sum()))
    a_only = (clipped(b) & detail(a) & ~detail(b) & inside).sum() / n
    b_only = (clipped(a) & detail(b) & ~detail(a) & inside).sum() / n
    return float(a_only), float(b_only)


def _decide(check: ShotCheck) -> None:
    if check.blocks < MIN_BLOCKS:
        check.kind, check.reason = "unknown", f"only {check.blocks} blocks with structure"
        return
    if check.agree >= COPY_AGREE and check.median_ncc >= COPY_MEDIAN:
        check.kind = "copy"
        check.reason = (f"the pixels agree after alignment ({check.agree:.0%} of "
                        f"{check.blocks} blocks)")
        return
    check.kind = "scene"
    check.reason = (f"aligned, the pixels differ: only {check.agree:.0%} of {check.blocks} "
                    "blocks agree")
