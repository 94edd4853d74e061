"""Media stage: what a re-poster changed between two copies of one picture.

`describe_edits(copy, earlier)` names the edits that turn the earlier copy into this one:
"same file", "mirrored", "rotated 90°", "cropped 18%", "in a larger canvas", "resized",
"re-encoded", "logo added" / "caption added" (and "... removed"). It builds on the
matching code -- `compare.compare_files` (PDQ over the 8 dihedral transforms, views) and
`geometry.match_files` (local features + RANSAC: crop box, scale, mirror, rotation) -- and
adds one thing they do not: an overlay test. The earlier copy is warped onto this one with
the fitted homography; after a blur (re-encoding noise) and a linear brightness fit, a
compact region that differs while the rest agrees is an overlay. Whichever side has more
edges inside that region (text and logos are all edges) carries it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

WORK = 512  # longer side the overlay test runs at
BLUR = 2.0  # Gaussian sigma (pixels at WORK) against JPEG noise
MIN_DIFF = 28  # grey levels: a pixel differs above max(MIN_DIFF, 5 x the median residual)
OVERLAY_MIN, OVERLAY_MAX = 0.002, 0.25  # an overlay covers 0.2%-25% of the shared area
EDGE_RATIO = 1.3  # the side with this many times the edges inside the region carries it
_DIHEDRAL = {"mirror": "mirrored", "flip": "flipped upside down", "rot90": "rotated 90°",
             "rot180": "rotated 180°", "rot270": "rotated 270°",
             "transpose": "mirrored and rotated", "transverse": "mirrored and rotated"}


@dataclass
class Edits:
    """What changed from the earlier copy to this one."""

    edits: list[str] = field(default_factory=list)  # stable tags: "mirrored", "cropped"...
    label: str = ""  # for people: "mirrored, cropped 18%, re-encoded"
    verdict: str | None = None  # compare.py's: identical / near-duplicate / similar
    distance: dict[str, int] = field(default_factory=dict)
    geometry: str | None = None  # geometry.py's explanation
    overlay: dict[str, Any] | None = None  # {"what", "side", "box": [x, y, w, h] (this copy)}

    def to_dict(self) -> dict[str, Any]:
        return {"edits": self.edits, "label": self.label, "verdict": self.verdict,
                "distance": self.distance, "geometry": self.geometry, "overlay": self.overlay}


def _size(path: Path) -> tuple[int, int] | None:
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as im:
            return ImageOps.exif_transpose(im).size
    except Exception:  # a video, or unreadable: no size to compare
        return None


def describe_edits(copy: str | os.PathLike[str], earlier: str | os.PathLike[str],
                   kind: str = "image") -> Edits:
    """The edits from `earlier` to `copy` (both files of one picture or video)."""
    from osintkit.match.compare import compare_files
    from osintkit.match.hashfile import file_digests

    a, b = Path(copy), Path(earlier)
    if file_digests(a)[0] == file_digests(b)[0]:
        return Edits(["same_file"], "same file", "identical")
    res = compare_files(a, b, robust=kind == "image")
    out = Edits(verdict=res.verdict, distance=dict(res.distance))
    tags: list[str] = []
    words: list[str] = []
    geo = None
    if kind == "image":
        from osintkit.match.geometry import match_files

        geo = match_files(a, b)
        out.geometry = geo.explanation if geo.confirmed else None
    if geo is not None and geo.confirmed:
        _from_geometry(geo, tags, words)
    elif res.transform and res.transform != "none":
        tags.append("mirrored" if res.transform in ("mirror", "transpose", "transverse")
                    else "rotated")
        words.append(_DIHEDRAL.get(res.transform, res.transform))
    if kind == "image":
        sa, sb = _size(a), _size(b)
        if sa and sb and sa != sb and "cropped" not in tags:
            tags.append("resized")
            words.append(f"resized {sb[0]}×{sb[1]} → {sa[0]}×{sa[1]}")
        out.overlay = overlay(a, b, geo, res.transform)
        if out.overlay:
            tags.append(f"{out.overlay['what']}_{out.overlay['side']}")
            words.append(f"{out.overlay['what']} {out.overlay['side']}")
    tags.append("re-encoded")
    words.append("re-encoded")
    out.edits, out.label = tags, ", ".join(words)
    return out


def _from_geometry(geo: Any, tags: list[str], words: list[str]) -> None:
    if geo.mirrored:
        tags.append("mirrored")
        words.append("mirrored")
    rot = None if geo.rotation is None else (geo.rotation + 180.0) % 360.0 - 180.0
    if rot is not None and abs(rot) >= 1.0:
        tags.append("rotated")
        words.append(f"rotated {rot:.0f}°")
    if geo.cropped is not None and geo.cropped >= 0.02:
        tags.append("cropped")
        words.append(f"cropped {geo.cropped * 100:.0f}%")
    if geo.query_region is not None:
        tags.append("padded")
        words.append("in a larger canvas")


# ---------------------------------------------------------------- the overlay test
def _grey(path: Path) -> tuple[np.ndarray, float]:
    """Grey picture at WORK (float32) and the scale from file pixels."""
    from osintkit.match.hashing import load_image

    img = load_image(path, size=None).convert("L")
    scale = min(1.0, WORK / max(img.size))
    if scale < 1.0:
        from PIL import Image

        img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                         Image.Resampling.BILINEAR)
    return np.asarray(img, dtype=np.float32), scale


def _aligned(a: Path, b: Path, geo: Any, transform: str | None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(this copy, the earlier copy warped onto it, valid mask), at WORK size."""
    import cv2

    qa, sa = _grey(a)
    ob, sb = _grey(b)
    h, w = qa.shape
    if geo is not None and geo.confirmed and geo.homography is not None:
        hq = np.array(geo.homography, dtype=np.float64)  # copy px -> earlier px (files)
        m = np.diag([sb, sb, 1.0]) @ hq @ np.diag([1 / sa, 1 / sa, 1.0])
        inv = np.linalg.inv(m)
        warped = cv2.warpPerspective(ob, inv, (w, h), flags=cv2.INTER_LINEAR)
        valid = cv2.warpPerspective(np.ones_like(ob), inv, (w, h), flags=cv2.INTER_NEAREST)
    elif transform in (None, "none", "mirror", "flip", "rot180"):
        from PIL import Image

        from osintkit.match.hashing import INVERSE, apply_transform

        img = Image.fromarray(ob.astype(np.uint8))
        if transform not in (None, "none"):
            img = apply_transform(img, INVERSE.get(transform, transform))
        warped = np.asarray(img.resize((w, h), Image.Resampling.BILINEAR), dtype=np.float32)
        valid = np.ones_like(qa)
    else:
        return None
    valid = cv2.erode(valid, np.ones((5, 5), np.uint8)) > 0
    return qa, warped, valid


def overlay(a: Path, b: Path, geo: Any = None, transform: str | None = None
            ) -> dict[str, Any] | None:
    """A logo or caption on one copy and not the other: {"what", "side", "box", "share"}
    with the box in this copy's file pixels; None when the copies agree everywhere."""
    import cv2

    got = _aligned(a, b, geo, transform)
    if got is None:
        return None
    qa, ob, valid = got
    if valid.sum() < 1000:
        return None
    qb, obb = cv2.GaussianBlur(qa, (0, 0), BLUR), cv2.GaussianBlur(ob, (0, 0), BLUR)
    slope, icpt = np.polyfit(obb[valid], qb[valid], 1)  # brightness/contrast of a re-encode
    resid = np.abs(qb - (slope * obb + icpt)) * valid
    thresh = max(MIN_DIFF, 5.0 * float(np.median(resid[valid])))
    mask = ((resid > thresh) & valid).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask)
    if n <= 1:
        return None
    k = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    x, y, w, h, area = (int(v) for v in stats[k])
    share = area / float(valid.sum())
    rest = resid[valid & (labels != k)]
    if not OVERLAY_MIN <= share <= OVERLAY_MAX or float(rest.mean()) > thresh / 3:
        return None
    side = _carrier(qa, ob, (x, y, w, h))
    if side is None:
        return None
    width = qa.shape[1]
    what = "caption" if w >= 0.7 * width and h <= 0.3 * qa.shape[0] else "logo"
    scale = _grey_scale(a, qa)
    box = [round(v / scale) for v in (x, y, w, h)]
    return {"what": what, "side": side, "box": box, "share": round(share, 4)}


def _grey_scale(path: Path, grey: np.ndarray) -> float:
    size = _size(path)
    return grey.shape[1] / size[0] if size else 1.0


def _carrier(qa: np.ndarray, ob: np.ndarray, box: tuple[int, int, int, int]) -> str | None:
    """"added" when this copy has the overlay's edges, "removed" when the earlier one has."""
    import cv2

    x, y, w, h = box

    def edges(img: np.ndarray) -> float:
        patch = img[y:y + h, x:x + w]
        gx = cv2.Sobel(patch, cv2.CV_32F, 1, 0)
        gy = cv2.Sobel(patch, cv2.CV_32F, 0, 1)
        return float(np.mean(np.hypot(gx, gy)))

    here, there = edges(qa), edges(ob)
    if here >= EDGE_RATIO * there:
        return "added"
    if there >= EDGE_RATIO * here:
        return "removed"
    return None
