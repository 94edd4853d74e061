"""Match stage, canonical views: the parts of a picture worth hashing besides the whole.

Flow: media -> **match** -> archive. Sits after `hashing.py` (it hashes the views with
the same PDQ) and before the archive, `compare.py` and `geometry.py`, which consume the
views.

Recycled pictures rarely come back pixel-aligned. PDQ moves by ~40 of 256 bits when a
picture shifts by 1% of its size (docs/robust-matching.md), so two kinds of views are
hashed, and any query view may meet any archived view through the same fast index:

* query side, `query_views(img)`: the whole picture and its **content region** -- the
  dominant picture inside a uniform canvas (letterbox/pillarbox bars, padding, borders,
  a screenshot of a post or a UI) -- with `query_region` (x, y, w, h) in the query's
  pixels; plus the fixed sub-views of that region, so an overlay (logo, caption) that
  sits in a corner or along an edge falls outside some view on both sides;
* archive side, `sub_views(img)`: the fixed set `SUB_VIEWS` below, so a copy cropped
  from a corner or an edge finds its original.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PIL import Image

from osintkit.media.pixels import small_rgb

if TYPE_CHECKING:
    import numpy as np

Box = tuple[int, int, int, int]  # x, y, w, h in pixels

# name -> (left, top, width, height) as fractions of the picture. A small documented set:
# an archived picture adds len(SUB_VIEWS) rows to the index (the growth is measured in
# docs/robust-matching.md).
SUB_VIEWS: dict[str, tuple[float, float, float, float]] = {
    "centre90": (0.05, 0.05, 0.90, 0.90),
    "centre80": (0.10, 0.10, 0.80, 0.80),
    "tl80": (0.0, 0.0, 0.80, 0.80),  # a logo or caption in the bottom-right corner cut off
    "tr80": (0.20, 0.0, 0.80, 0.80),
    "bl80": (0.0, 0.20, 0.80, 0.80),
    "br80": (0.20, 0.20, 0.80, 0.80),
    "top85": (0.0, 0.0, 1.0, 0.85),  # a caption band along the bottom cut off
    "bottom85": (0.0, 0.15, 1.0, 0.85),  # a banner along the top cut off
}
# Query sub-views are searched untransformed and mirrored only: a cropped AND rotated copy
# is rare, and 8 dihedral variants of every sub-view would multiply the query cost by 4.
SUB_VIEW_TRANSFORMS = ("none", "mirror")
ANALYSIS_SIZE = 384  # longer side of the copy the content region is found on
BG_TOLERANCE = 28  # max per-channel difference from the canvas colour (JPEG noise, blur)
MIN_REGION = 0.12  # a content region smaller than this share of the canvas is not a photo
MIN_TRIM = 0.03  # ... and one within 3% of the canvas on every side is the canvas itself
VIEW_SIZE = 256  # views are cut from a decode whose shorter side is >= this
MAX_REGIONS = 4  # content regions searched per query (each adds 8 PDQ variants)


@dataclass
class View:
    """A named part of a picture: `box` in the picture's own pixels, and its pixels."""

    name: str
    box: Box
    image: Image.Image

    @property
    def region(self) -> Box:
        return self.box


def crop_box(size: tuple[int, int], frac: tuple[float, float, float, float]) -> Box:
    """Pixel box (x, y, w, h) of a fractional box on a picture of `size`."""
    w, h = size
    x0, y0 = round(frac[0] * w), round(frac[1] * h)
    return x0, y0, max(1, round(frac[2] * w)), max(1, round(frac[3] * h))


def crop(img: Image.Image, box: Box) -> Image.Image:
    """The pixels of `box` (x, y, w, h)."""
    x, y, w, h = box
    return img.crop((x, y, x + w, y + h))


def sub_views(img: Image.Image, names: Iterable[str] | None = None) -> list[View]:
    """The fixed archive-side sub-views of `img` (all of SUB_VIEWS unless `names`)."""
    return [View(n, b, crop(img, b)) for n in (names or SUB_VIEWS)
            for b in [crop_box(img.size, SUB_VIEWS[n])]]


# ---------------------------------------------------------------- content region
def _canvas_colour(a: np.ndarray) -> np.ndarray | None:
    """The colour most of the outer frame shares (quantized mode), or None if it has none."""
    import numpy as np

    frame = np.concatenate([a[:2].reshape(-1, 3), a[-2:].reshape(-1, 3),
                            a[:, :2].reshape(-1, 3), a[:, -2:].reshape(-1, 3)]).astype(int)
    q = frame // 16
    keys = q[:, 0] * 256 + q[:, 1] * 16 + q[:, 2]
    values, counts = np.unique(keys, return_counts=True)
    best = values[counts.argmax()]
    share = counts.max() / len(keys)
    if share < 0.35:
        return None
    return np.median(frame[keys == best], axis=0)


def _largest_component(mask: np.ndarray) -> Box | None:
    import cv2
    import numpy as np

    k = max(3, (min(mask.shape) // 60) | 1)
    closed = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
    closed = cv2.morphologyEx(closed, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    n, _, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
    if n < 2:
        return None
    i = 1 + int(stats[1:, cv2.CC_STAT_AREA].argmax())
    x, y, w, h, _ = (int(v) for v in stats[i])
    return x, y, w, h


def _trimmed(mask: np.ndarray) -> Box | None:
    """Box left after trimming outer rows/columns that are (almost) all canvas."""
    import numpy as np

    rows = np.flatnonzero(mask.mean(axis=1) > 0.03)
    cols = np.flatnonzero(mask.mean(axis=0) > 0.03)
    if not len(rows) or not len(cols):
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


def content_region(img: Image.Image) -> Box | None:
    """The dominant picture inside a uniform canvas (bars, padding, borders, a UI), as
    (x, y, w, h) in `img`'s pixels; None when the picture fills the frame."""
    regions = content_regions(img)
    return regions[0] if regions else None


def content_regions(img: Image.Image) -> list[Box]:
    """Candidate content regions, best first (at most MAX_REGIONS, each searched): on
    one uniform canvas (bars, padding, a plain post) the largest non-canvas blob, then
    the box left by trimming canvas-only rows and columns (when the picture's own edges
    are canvas-coloured, the blob is too small and the trimmed box is right); then the
    photo of an app's screenshot found by what its pixels look like (regions.py: chat
    bubbles, wallpapers, photos touching the screen's edges, dark themes)."""
    from osintkit.match.regions import photo_regions

    out = _canvas_regions(img)
    nested = []
    for x, y, _, _ in out[:1]:  # a photo in a bubble in a chat: a canvas in a canvas
        nested = [(x + a, y + b, w, h) for a, b, w, h in _canvas_regions(crop(img, out[0]))]
    for box in photo_regions(img) + nested[:1]:
        if len(out) >= MAX_REGIONS:
            break
        if not any(max(abs(p - q) for p, q in zip(box, o, strict=True)) <= 0.02 * max(box[2:])
                   for o in out):
            out.append(box)
    return out


def _canvas_regions(img: Image.Image) -> list[Box]:
    """The uniform-canvas candidates of `content_regions`."""
    import numpy as np

    small = small_rgb(img, ANALYSIS_SIZE)
    a = np.asarray(small)
    if min(a.shape[:2]) < 16:
        return []
    bg = _canvas_colour(a)
    if bg is None:
        return []
    mask = np.abs(a.astype(np.int16) - bg.astype(np.int16)).max(axis=2) > BG_TOLERANCE
    out: list[Box] = []
    for box in (_largest_component(mask), _trimmed(mask)):
        if box is None or not _is_region(box, small.size):
            continue
        if any(max(abs(p - q) for p, q in zip(box, o, strict=True)) <= 0.02 * max(small.size)
               for o in out):
            continue  # the same box twice
        out.append(box)
    fx, fy = img.width / small.width, img.height / small.height
    return [_scaled(b, fx, fy, img.size) for b in out]


def _is_region(box: Box, size: tuple[int, int]) -> bool:
    x, y, w, h = box
    sw, sh = size
    if w * h < MIN_REGION * sw * sh:
        return False
    return not (x <= MIN_TRIM * sw and y <= MIN_TRIM * sh and x + w >= (1 - MIN_TRIM) * sw
                and y + h >= (1 - MIN_TRIM) * sh)


def _scaled(box: Box, fx: float, fy: float, size: tuple[int, int]) -> Box:
    x, y, w, h = box
    x0, y0 = round(x * fx), round(y * fy)
    return x0, y0, min(size[0] - x0, round(w * fx)), min(size[1] - y0, round(h * fy))


# ---------------------------------------------------------------- query side
def query_views(img: Image.Image, with_sub_views: bool = True,
                regions: list[Box] | None = None) -> list[View]:
    """Views of a query picture: "full", "content" (when a canvas is found) and the
    sub-views of the content region (names prefixed "content:" when inside it).
    `regions`: the content regions when already found (`content_regions(img)`)."""
    full = View("full", (0, 0, img.width, img.height), img)
    views = [full]
    base = full
    for k, region in enumerate(content_regions(img) if regions is None else regions):
        views.append(View("content" if k == 0 else f"content{k + 1}", region,
                          crop(img, region)))
    if len(views) > 1:
        base = views[1]
    if with_sub_views:
        bx, by = base.box[:2]
        prefix = "content:" if base is not full else ""
        for v in sub_views(base.image):
            x, y, w, h = v.box
            views.append(View(prefix + v.name, (bx + x, by + y, w, h), v.image))
    return views


def view_transforms(view: View) -> tuple[str, ...] | None:
    """The dihedral transforms a query view is searched under (None: all 8)."""
    return None if view.name == "full" or (view.name.startswith("content") and ":" not in \
        view.name) else SUB_VIEW_TRANSFORMS


@dataclass
class ViewHashes:
    """PDQ of one view (per searched transform) and its quality."""

    name: str
    box: Box
    pdq: dict[str, str]  # transform -> hex
    quality: int

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "box": list(self.box), "pdq": self.pdq.get("none"),
                "quality": self.quality}


def hash_views(views: Iterable[View], min_quality: int | None = None) -> list[ViewHashes]:
    """PDQ (dihedral variants where searched) of each view; flat views (PDQ quality below
    `min_quality`, default PDQ's own floor) are dropped: never indexed nor searched."""
    from osintkit.match.hashing import PDQ_MIN_QUALITY, hash_with_variants, shrink, to_rgb

    floor = PDQ_MIN_QUALITY if min_quality is None else min_quality
    out = []
    for v in views:
        hashes, variants = hash_with_variants(shrink(to_rgb(v.image)), ("pdq",))
        quality = int(hashes["pdq_quality"])
        if quality < floor:
            continue
        keep = view_transforms(v)
        pdq = {t: h for t, h in variants.items() if keep is None or t in keep}
        out.append(ViewHashes(v.name, v.box, pdq, quality))
    return out


def archive_view_hashes(img: Image.Image) -> list[ViewHashes]:
    """What the archive indexes for one picture besides its whole-picture hashes."""
    return hash_views(sub_views(img))


def load_view_image(path: Any) -> Image.Image:
    """The picture decoded for views: larger than for hashing, so that a content region
    of ~60% of a screenshot still has the detail PDQ sees in the whole original."""
    from osintkit.match.hashing import load_image

    return load_image(path, size=VIEW_SIZE)


def _targets(img: Image.Image) -> list[tuple[str, Box, str]]:
    """(view name, box, PDQ hex) of the whole picture and its sub-views, flat ones dropped."""
    whole = hash_views([View("whole", (0, 0, img.width, img.height), img)])
    return [(v.name, v.box, v.pdq["none"]) for v in whole + archive_view_hashes(img)]


def best_view_pair(a: Image.Image, b: Image.Image) -> dict[str, Any] | None:
    """The closest pair (PDQ) between a query view of one picture and the whole or a
    sub-view of the other, tried both ways; None when every view is flat.

    {"pdq", "transform", "a_view", "b_view", "a_box", "b_box"}: boxes in each picture's
    pixels; the transform applies to the query view's side.
    """
    from osintkit.match.hashing import PDQ_NEAR, hamming

    best: tuple[tuple[bool, int, int], dict[str, Any]] | None = None
    for q, t, qn, tn in ((a, b, "a", "b"), (b, a, "b", "a")):
        targets = _targets(t)
        for v in hash_views(query_views(q)):
            for tr, h in v.pdq.items():
                for name, box, th in targets:
                    d = hamming(h, th)
                    # ties: prefer the whole pictures, then the untransformed view
                    rank = (":" in v.name or v.name not in ("full", "content")) + \
                        (name != "whole") + \
                        (tr != "none")
                    key = (d > PDQ_NEAR, rank, d)  # the simplest explanation among matches
                    if best is None or key < best[0]:
                        best = (key, {"pdq": d, "transform": tr, f"{qn}_view": v.name,
                                          f"{tn}_view": name, f"{qn}_box": list(v.box),
                                          f"{tn}_box": list(box)})
    return best[1] if best else None
