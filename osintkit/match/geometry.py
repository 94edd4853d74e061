"""Match stage, geometric confirmation: do two pictures show the same scene, and how does
one map onto the other? Local features (OpenCV SIFT, or ORB) + RANSAC homography.

Flow: media -> **match** -> archive. Sits after `hashing.py` and `views.py` in this
stage; the archive's robust search (on features it
stores: `localfeat.py`) and `compare.py` call `match_features` / `match_files`.
Perceptual hashes miss crops and small rotations (docs/robust-matching.md); local
features survive both, and the fitted transform explains the edit: "mirrored, cropped
18%, rotated 3°".

Conventions: the *query* is the picture under verification, the *original* the archived
(or reference) one. `crop_box` is the part of the original the query shows, in the
original's pixels; `query_region` the part of the query the original occupies (padding,
a screenshot's canvas), in the query's pixels. Both are (x, y, w, h).
"""

from __future__ import annotations

import math
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from osintkit.match.keypoints import MIN_SIDE, WORK_SIZE, Features, rescale, work_gray

if TYPE_CHECKING:
    import numpy as np

Box = tuple[int, int, int, int]
MIN_INLIERS = 15  # measured: unrelated photos reach <= 8 inliers (docs/robust-matching.md)
MIN_INLIER_RATIO = 0.2
MAX_STRETCH = 2.0  # re-posts rarely squash a picture by more than 2:1 (unrelated fits do)
MIN_OVERLAP = 0.05  # the query must show >= 5% of the original, and the original fill >= 5%
RATIO_TEST = 0.75  # Lowe's ratio test on the two nearest descriptors
ORB_FEATURES = 700  # matching cost grows with the square: 700 keeps a pair near 10 ms
CANVAS_SHARE = 0.92  # below this share of the query, the original sits in a larger canvas
RANSAC_PX = 5.0  # reprojection error allowed, in WORK_SIZE pixels
_CACHE: OrderedDict[tuple, Features] = OrderedDict()
_CACHE_SIZE = 256


@dataclass
class Geometry:
    """The geometric relation found between a query and an original."""

    confirmed: bool
    inliers: int = 0
    matches: int = 0  # descriptor matches passing the ratio test
    mirrored: bool = False
    rotation: float | None = None  # degrees, counter-clockwise, query relative to original
    scale: float | None = None  # query pixels per original pixel
    crop_box: Box | None = None  # part of the original the query shows (original pixels)
    cropped: float | None = None  # share of the original's area missing from the query
    query_region: Box | None = None  # where the original sits in the query (query pixels)
    explanation: str = ""
    method: str = "orb"
    homography: list[list[float]] | None = None  # query -> original pixels
    pairs: list[tuple[float, float, float, float]] = field(default_factory=list, repr=False)
    sizes: tuple[tuple[int, int], tuple[int, int]] | None = None  # (query, original) pixels
    spread: float = 0.0  # area of the inliers' convex hull, as a share of the original

    def to_dict(self) -> dict[str, Any]:
        return {"confirmed": self.confirmed, "inliers": self.inliers, "matches": self.matches,
                "mirrored": self.mirrored,
                "rotation": None if self.rotation is None else round(self.rotation, 1),
                "scale": None if self.scale is None else round(self.scale, 3),
                "crop_box": list(self.crop_box) if self.crop_box else None,
                "cropped": None if self.cropped is None else round(self.cropped, 3),
                "query_region": list(self.query_region) if self.query_region else None,
                "spread": round(self.spread, 3), "explanation": self.explanation,
                "method": self.method}


# ---------------------------------------------------------------- features
def features(img: Image.Image, method: str = "orb", mirrored: bool = False) -> Features:
    """Keypoints and descriptors of `img` (or of its mirror image, points still in the
    mirrored picture's pixels)."""
    import cv2
    import numpy as np

    if mirrored:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    gray, scale = work_gray(img)
    if min(gray.shape) < MIN_SIDE:  # OpenCV's pyramids fail on a few pixels: no features
        return Features(np.zeros((0, 2), np.float32), None, img.size, method)
    det = cv2.SIFT_create(nfeatures=1500) if method == "sift" else \
        cv2.ORB_create(nfeatures=ORB_FEATURES)
    kps, desc = det.detectAndCompute(gray, None)
    pts = rescale(np.array([k.pt for k in kps], dtype=np.float32).reshape(-1, 2), 1.0 / scale)
    return Features(pts, desc, img.size, method)


def cached_features(path: str | os.PathLike[str], method: str = "orb",
                    mirrored: bool = False) -> Features:
    """Features of an image file in the file's own (EXIF-oriented) pixels, cached in
    memory by (path, size, mtime)."""
    from osintkit.match.hashing import load_image

    p = Path(path)
    st = p.stat()
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns, method, mirrored)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    feats = features(load_image(p, size=WORK_SIZE), method, mirrored)
    # points in the full picture's pixels, whatever size the decoder chose
    from PIL import Image as _I

    with _I.open(p) as im:
        full = _oriented_size(im)
    ratio = full[0] / feats.size[0]
    feats = Features(rescale(feats.points, ratio), feats.descriptors, full, method)
    _CACHE[key] = feats
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return feats


def _oriented_size(im: Image.Image) -> tuple[int, int]:
    orientation = im.getexif().get(0x0112, 1)
    return (im.height, im.width) if orientation in (5, 6, 7, 8) else im.size


# ---------------------------------------------------------------- matching
def _good_matches(a: Features, b: Features) -> list[tuple[int, int]]:
    import cv2

    if a.descriptors is None or b.descriptors is None or len(a.descriptors) < 2 \
            or len(b.descriptors) < 2:
        return []
    norm = cv2.NORM_L2 if a.method == "sift" else cv2.NORM_HAMMING
    knn = cv2.BFMatcher(norm).knnMatch(a.descriptors, b.descriptors, k=2)
    return [(m[0].queryIdx, m[0].trainIdx) for m in knn
            if len(m) == 2 and m[0].distance < RATIO_TEST * m[1].distance]


def _fit(q: Features, o: Features) -> tuple[Any, Any, int, int]:
    """(homography query->original, inlier mask, inliers, matches) or Nones."""
    import cv2

    good = _good_matches(q, o)
    if len(good) < 8:
        return None, None, 0, len(good)
    src = q.points[[i for i, _ in good]]
    dst = o.points[[j for _, j in good]]
    px = RANSAC_PX * max(o.size) / WORK_SIZE
    h, mask = cv2.findHomography(src, dst, cv2.RANSAC, px, maxIters=2000, confidence=0.995)
    if h is None or mask is None:
        return None, None, 0, len(good)
    mask = mask.ravel().astype(bool)
    return h, (src[mask], dst[mask]), int(mask.sum()), len(good)


def match_features(q: Features, qm: Features, o: Features,
                   mirrored_only: bool | None = None) -> Geometry:
    """Fit the query (`q`, and `qm` its mirror image) onto the original `o`.
    `mirrored_only`: fit only that orientation (True: the mirror image, False: the query
    itself), when the caller already knows it (a hash match's transform, the candidate
    index's votes); None: both, the mirror only when the direct fit is not strong."""
    import numpy as np

    if mirrored_only:
        h, pts, inl, n = None, None, 0, 0
    else:
        h, pts, inl, n = _fit(q, o)
    # a strong direct fit settles it: the mirrored fit (half the cost) is then skipped
    hm, ptsm, inlm, nm = _fit(qm, o) if inl < 3 * MIN_INLIERS and mirrored_only is not False \
        else (None, None, 0, 0)
    mirrored = inlm > inl
    fit_pts = pts
    if mirrored:
        h, pts, inl, n = hm, ptsm, inlm, nm
        fit_pts = ptsm  # a similarity cannot hold a mirror: fit it in the mirrored frame
        w = q.size[0]
        flip = np.array([[-1.0, 0.0, w - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        h = h @ flip  # from the query's own pixels
        pts = (np.column_stack([w - 1.0 - pts[0][:, 0], pts[0][:, 1]]), pts[1])
    geo = Geometry(False, inl, n, mirrored, method=q.method, sizes=(q.size, o.size))
    if h is None or inl < 4 or not _plausible(h, q.size, o.size):
        geo.explanation = "no consistent geometric match"
        return geo
    geo.confirmed = inl >= MIN_INLIERS and inl >= MIN_INLIER_RATIO * n
    h = _prefer_affine(h, pts, RANSAC_PX * max(o.size) / WORK_SIZE)
    _describe(geo, h, pts, fit_pts, q.size, o.size)
    return geo


def _plausible(h: np.ndarray, qsize: tuple[int, int], osize: tuple[int, int]) -> bool:
    import numpy as np

    if not np.all(np.isfinite(h)) or abs(h[2, 2]) < 1e-9:
        return False
    a = h[:2, :2] / h[2, 2]
    det = float(np.linalg.det(a))
    return 1e-3 < abs(det) < 1e3


def _prefer_affine(h: np.ndarray, pts: tuple[np.ndarray, np.ndarray], px: float) -> np.ndarray:
    """The simplest fit that explains the inliers as well: re-posted copies are cropped,
    scaled, rotated, mirrored -- a similarity -- sometimes stretched (affine); with a few
    dozen inliers a full homography wobbles at the edges (crop boxes off by 5%) and a
    free affine fit can squash one axis by 6% (measured on 30% crops), which throws the
    pixel comparison of sameshot.py off by pixels. Each candidate is refit by least
    squares on the inliers and kept when its median residual stays within px / 2."""
    import cv2
    import numpy as np

    src, dst = pts[0].astype(np.float64), pts[1].astype(np.float64)
    if len(src) < 3:
        return h
    # the simpler model wins unless the homography explains the inliers clearly better:
    # keypoints of a small query are off by a pixel of ITS own, several of the original's
    h_res = float(np.median(np.linalg.norm(_project(h, src) - dst, axis=1)))
    allowed = max(px / 2, 1.3 * h_res)
    for fit in (cv2.estimateAffinePartial2D, cv2.estimateAffine2D):
        a, _ = fit(src, dst, method=cv2.RANSAC, ransacReprojThreshold=allowed,
                   maxIters=2000, confidence=0.999, refineIters=20)
        if a is None or not np.all(np.isfinite(a)) or abs(np.linalg.det(a[:, :2])) < 1e-6:
            continue
        residual = np.linalg.norm(src @ a[:, :2].T + a[:, 2] - dst, axis=1)
        if float(np.median(residual)) <= allowed:
            return np.vstack([a, [0.0, 0.0, 1.0]])
    return h


def _stretch(h: np.ndarray) -> float:
    """How unevenly the linear part scales the two axes (1 = a similarity)."""
    import numpy as np

    sv = np.linalg.svd(h[:2, :2] / h[2, 2], compute_uv=False)
    return float(sv[0] / max(sv[1], 1e-9))


def _similarity(pts: tuple[np.ndarray, np.ndarray]) -> tuple[float, float] | None:
    """(rotation degrees, scale original->query) of a similarity fit on the inliers."""
    import cv2

    m, _ = cv2.estimateAffinePartial2D(pts[1], pts[0], method=cv2.LMEDS)
    if m is None:
        return None
    scale = math.hypot(m[0, 0], m[1, 0])
    angle = math.degrees(math.atan2(m[1, 0], m[0, 0]))
    return -angle, scale  # image y points down: flip the sign to read counter-clockwise


def _project(h: np.ndarray, pts: np.ndarray) -> np.ndarray:
    import cv2
    import numpy as np

    return cv2.perspectiveTransform(pts.reshape(-1, 1, 2).astype(np.float64), h).reshape(-1, 2)


def _clipped_box(poly: np.ndarray, size: tuple[int, int]) -> tuple[Box, float]:
    """Bounding box of `poly` clipped to a picture of `size`, and the share of the picture
    the polygon covers."""
    import cv2
    import numpy as np

    w, h = size
    frame = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    area, _ = cv2.intersectConvexConvex(poly.astype(np.float32), frame)
    x0, y0 = np.clip(poly.min(axis=0), 0, [w, h])
    x1, y1 = np.clip(poly.max(axis=0), 0, [w, h])
    box = (round(float(x0)), round(float(y0)), round(float(x1 - x0)), round(float(y1 - y0)))
    return box, float(area) / (w * h) if area > 0 else 0.0


def _corners(size: tuple[int, int]) -> np.ndarray:
    import numpy as np

    w, h = size
    return np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)


def _describe(geo: Geometry, h: np.ndarray, pts: tuple, fit_pts: tuple,
              qsize: tuple[int, int], osize: tuple[int, int]) -> None:
    import cv2
    import numpy as np

    geo.homography = [[round(float(v), 6) for v in row] for row in h]
    if len(pts[1]) >= 3:
        hull = cv2.convexHull(np.asarray(pts[1], dtype=np.float32).reshape(-1, 1, 2))
        geo.spread = float(cv2.contourArea(hull)) / float(osize[0] * osize[1])
    step = max(1, len(pts[0]) // 200)  # a spread sample of the inliers, for the picture
    geo.pairs = [(float(a[0]), float(a[1]), float(b[0]), float(b[1]))
                 for a, b in zip(pts[0][::step][:200], pts[1][::step][:200], strict=False)]
    sim = _similarity(fit_pts)
    if sim is not None:
        geo.rotation, geo.scale = sim
        if geo.mirrored:  # fitted after un-mirroring: read it as "mirrored, then rotated"
            geo.rotation = -geo.rotation
    geo.crop_box, shown = _clipped_box(_project(h, _corners(qsize)), osize)
    geo.cropped = max(0.0, 1.0 - shown)
    region, covered = _clipped_box(_project(np.linalg.inv(h), _corners(osize)), qsize)
    if covered < CANVAS_SHARE:
        geo.query_region = region
    if min(shown, covered) < MIN_OVERLAP or _stretch(h) > MAX_STRETCH:
        geo.confirmed = False  # a fit squeezing one picture into a sliver, or shearing it
    geo.explanation = explain(geo, covered)


def explain(geo: Geometry, covered: float = 1.0) -> str:
    """"mirrored, cropped 18%, rotated 3°" -- the edits that map the original to the query."""
    parts = []
    if geo.mirrored:
        parts.append("mirrored")
    if geo.rotation is not None:
        r = (geo.rotation + 180.0) % 360.0 - 180.0
        if abs(r) >= 1.0:
            parts.append(f"rotated {r:.0f}°")
    if geo.cropped is not None and geo.cropped >= 0.02:
        parts.append(f"cropped {geo.cropped * 100:.0f}%")
    if covered < CANVAS_SHARE:
        parts.append(f"inside a larger canvas (the original fills {covered * 100:.0f}%)")
    what = ", ".join(parts) or "same framing"
    return what if geo.confirmed else f"not confirmed ({geo.inliers} inliers): {what}"


def match_images(query: Image.Image, original: Image.Image, method: str = "orb") -> Geometry:
    """Geometric relation of `query` to `original` (see the module docstring)."""
    return match_features(features(query, method), features(query, method, mirrored=True),
                          features(original, method))


def match_files(query: str | os.PathLike[str], original: str | os.PathLike[str],
                method: str = "orb") -> Geometry:
    """Geometric relation of two image files, boxes in the files' own pixels."""
    return match_features(cached_features(query, method),
                          cached_features(query, method, mirrored=True),
                          cached_features(original, method))


# ---------------------------------------------------------------- the picture
def draw(query: Image.Image, original: Image.Image, geo: Geometry,
         out: str | os.PathLike[str], height: int = 480) -> Path:
    """Query | original side by side with the inlier pairs joined by lines, the query's
    outline drawn on the original, and the explanation underneath. PNG. A mirrored query
    is drawn un-mirrored, so both halves look alike."""
    from PIL import ImageDraw, ImageFont

    qsize, osize = geo.sizes or (query.size, original.size)
    sq, so = height / qsize[1], height / osize[1]  # geometry pixels -> drawing pixels
    left = query.convert("RGB").resize((max(1, round(qsize[0] * sq)), height))
    if geo.mirrored:
        left = left.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    right = original.convert("RGB").resize((max(1, round(osize[0] * so)), height))
    cap = 40
    canvas = Image.new("RGB", (left.width + right.width + 8, height + cap), (24, 24, 24))
    canvas.paste(left, (0, 0))
    ox = left.width + 8
    canvas.paste(right, (ox, 0))
    d = ImageDraw.Draw(canvas)
    colours = [(80, 220, 120), (250, 200, 60), (90, 170, 255), (255, 110, 110)]
    for k, (qx, qy, rx, ry) in enumerate(geo.pairs[::max(1, len(geo.pairs) // 60)]):
        c = colours[k % len(colours)]
        qx = qsize[0] - qx if geo.mirrored else qx
        a, b = (qx * sq, qy * sq), (ox + rx * so, ry * so)
        d.line([a, b], fill=c, width=1)
        d.ellipse((a[0] - 2, a[1] - 2, a[0] + 2, a[1] + 2), outline=c)
        d.ellipse((b[0] - 2, b[1] - 2, b[0] + 2, b[1] + 2), outline=c)
    if geo.homography is not None:
        import numpy as np

        poly = _project(np.array(geo.homography), _corners(qsize))  # query frame on B
        d.polygon([(ox + x * so, y * so) for x, y in poly], outline=(255, 60, 200), width=3)
    font = ImageFont.load_default(size=14)
    d.text((6, height + 10), f"{geo.inliers} inliers of {geo.matches}: {geo.explanation}",
           fill=(235, 235, 235), font=font)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(out, "PNG")
    return out
