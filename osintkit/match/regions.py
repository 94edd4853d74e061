"""Match stage, the photo inside an app's screenshot: the largest rectangle of
photograph-like blocks, for `views.content_regions`.

Flow: media -> **match** -> archive. Reads a decoded picture (media stage); its boxes
become query views (`views.py`) that the archive's search and `compare` hash.

The canvas-colour method of views.py finds a picture on one uniform canvas (bars,
padding). Real app layouts break it: a chat photo sits in a bubble of another colour on
a patterned wallpaper, a feed or gallery photo touches both sides of the screen, dark
themes use several greys, a browser page puts text beside the photo. This method looks
at what the pixels are instead of what colour surrounds them. On a copy whose longer
side is `SIZE`, each `BLOCK` x `BLOCK` block is

* flat: its values barely vary (UI backgrounds, bars, bubbles, buttons);
* graphic: two tones and their anti-aliased edge (text, icons, outlines) -- few grey
  levels carry most of its pixels;
* photographic: anything else (texture, gradients with noise, many levels).

Photographic blocks are closed over small gaps (a flat sky, an overlaid timestamp),
holes are filled, and the largest axis-aligned rectangle of them is taken (the
maximal-rectangle-in-a-histogram algorithm), then its sides are snapped to the strongest
straight edge within one block. Measured on drawn chat/feed/gallery/browser layouts,
light and dark (docs/robust-matching.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PIL import Image

from osintkit.media.pixels import small_rgb

if TYPE_CHECKING:
    import numpy as np

Box = tuple[int, int, int, int]
SIZE = 512  # longer side of the analysis copy
BLOCK = 8  # block side at that size
FLAT_STD = 3.0  # grey std below this: a flat block
GRAPHIC_SHARE = 0.8  # the 3 most common grey levels (of 16) hold this share: text/icons
MIN_SHARE = 0.03  # a photo smaller than this share of the screenshot is not looked for
MIN_FILL = 0.75  # share of photographic blocks inside the rectangle found
UI_SPREAD = 2.5  # grey std of a UI colour's flat pixels (JPEG noise); a gradient spreads more
MIN_UI_AROUND = 0.5  # at least this share of the screenshot around the photo is flat UI
FLAT_PIXEL = 2.0  # 5x5 grey std below this: a flat pixel (UI), JPEG noise included


def _classify(g: np.ndarray) -> np.ndarray:
    """(rows, cols) bool: photographic blocks of a grey picture."""
    import numpy as np

    rows, cols = g.shape[0] // BLOCK, g.shape[1] // BLOCK
    b = g[:rows * BLOCK, :cols * BLOCK].reshape(rows, BLOCK, cols, BLOCK).swapaxes(1, 2)
    b = b.reshape(rows, cols, BLOCK * BLOCK)
    std = b.std(axis=2)
    levels = (b // 16).astype(np.int64)
    counts = np.zeros((rows, cols, 16), np.int64)
    for k in range(16):
        counts[..., k] = (levels == k).sum(axis=2)
    top3 = np.sort(counts, axis=2)[..., -3:].sum(axis=2) / (BLOCK * BLOCK)
    # a graphic block is two tones: few levels hold it AND its values jump (edges)
    jumps = np.abs(np.diff(b.reshape(rows, cols, BLOCK, BLOCK), axis=3)).max(axis=(2, 3))
    graphic = (top3 >= GRAPHIC_SHARE) & (jumps >= 48)
    return (std >= FLAT_STD) & ~graphic


def _ui_canvas(a: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Pixels of the UI: flat (3x3 grey std < FLAT_PIXEL) and of a colour that flat pixels
    share over >= 0.5% of the screenshot (wallpaper, bubbles, bars, page background)."""
    import cv2
    import numpy as np

    mean = cv2.blur(g, (3, 3))
    var = cv2.blur(g * g, (3, 3)) - mean * mean
    flat = var < FLAT_PIXEL ** 2
    q = (a // 24).astype(np.int64)  # coarse: JPEG's chroma noise on saturated UI colours
    key = (q[..., 0] * 16 + q[..., 1]) * 16 + q[..., 2]
    # a UI colour is constant: a sky or a wall in a photo is a gradient, its values spread
    keys, vals = key[flat], g[flat]
    counts = np.bincount(keys, minlength=4096)
    mean = np.bincount(keys, weights=vals, minlength=4096) / np.maximum(counts, 1)
    spread = np.sqrt(np.maximum(np.bincount(keys, weights=vals * vals, minlength=4096) /
                                np.maximum(counts, 1) - mean * mean, 0.0))
    ui = ((counts >= 0.005 * g.size) & (spread <= UI_SPREAD))[key]
    # a UI-coloured pixel next to a flat UI pixel is UI too: a bubble's margin is only a
    # few pixels wide, too narrow for the flatness window
    near = cv2.dilate((flat & ui).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    return ui & near


def _snap(profile: np.ndarray, pos: int, lo: int, hi: int) -> int:
    """The index in [pos - BLOCK, pos + BLOCK] (within [lo, hi]) where `profile`, the
    edge strength between rows/columns i and i+1, is strongest."""
    import numpy as np

    a, b = max(lo, pos - BLOCK), min(hi, pos + BLOCK)
    if b <= a:
        return pos
    return a + int(np.argmax(profile[a:b + 1]))


def _trim(canvas: np.ndarray, box: Box, g: np.ndarray) -> Box:
    """Snap each side of a box (analysis pixels) to the strongest straight edge within a
    block of it: the flatness window blurs a photo's outline by a pixel or two, and a
    bubble's margin or a caption line may cling to it."""
    import numpy as np

    x, y, bw, bh = box
    h, w = g.shape
    # edge strength between rows (columns) i and i+1, over the box's own span
    dy = np.r_[np.abs(np.diff(g[:, x:x + bw], axis=0)).mean(axis=1), 0.0]
    dx = np.r_[np.abs(np.diff(g[y:y + bh, :], axis=1)).mean(axis=0), 0.0]
    x0 = 0 if x == 0 else _snap(dx, x, 0, w - 2) + 1
    y0 = 0 if y == 0 else _snap(dy, y, 0, h - 2) + 1
    x1 = w if x + bw >= w else _snap(dx, x + bw - 1, 0, w - 2) + 1
    y1 = h if y + bh >= h else _snap(dy, y + bh - 1, 0, h - 2) + 1
    return x0, y0, max(1, x1 - x0), max(1, y1 - y0)


def _block_trimmed(photo: np.ndarray, box: Box) -> Box:
    """The box shrunk while its outer block row/column is mostly not photographic (a
    caption line under a chat photo, a bubble's margin)."""
    x, y, bw, bh = box
    c0, r0 = x // BLOCK, y // BLOCK
    rows, cols = photo.shape
    c1, r1 = min(cols, -(-(x + bw) // BLOCK)), min(rows, -(-(y + bh) // BLOCK))
    while r1 - r0 > 2 and photo[r1 - 1, c0:c1].mean() < 0.5:
        r1 -= 1
    while r1 - r0 > 2 and photo[r0, c0:c1].mean() < 0.5:
        r0 += 1
    while c1 - c0 > 2 and photo[r0:r1, c1 - 1].mean() < 0.5:
        c1 -= 1
    while c1 - c0 > 2 and photo[r0:r1, c0].mean() < 0.5:
        c0 += 1
    return (max(x, c0 * BLOCK), max(y, r0 * BLOCK), min(x + bw, c1 * BLOCK) - max(x, c0 * BLOCK),
            min(y + bh, r1 * BLOCK) - max(y, r0 * BLOCK))


def photo_region(img: Image.Image) -> Box | None:
    """The photo inside a screenshot, (x, y, w, h) in `img` pixels; None when the picture
    is one photo (nothing around it looks like an app's UI) or holds none."""
    regions = photo_regions(img)
    return regions[0] if regions else None


def _best_component(content: np.ndarray, photo: np.ndarray) -> Box | None:
    """The non-UI component whose box is largest and most photographic."""
    import cv2

    h, w = content.shape
    n, _, stats, _ = cv2.connectedComponentsWithStats(content, connectivity=4)
    best, best_score = None, 0.0
    for i in range(1, n):
        x, y, bw, bh, area = (int(v) for v in stats[i])
        if bw * bh < MIN_SHARE * w * h or area < 0.6 * bw * bh:
            continue
        blocks = photo[y // BLOCK:(y + bh) // BLOCK, x // BLOCK:(x + bw) // BLOCK]
        frac = float(blocks.mean()) if blocks.size else 0.0
        score = bw * bh * frac * frac
        if frac >= 0.5 and score > best_score:
            best, best_score = (x, y, bw, bh), score
    return best


def photo_regions(img: Image.Image) -> list[Box]:
    """Candidates for the photo inside a screenshot, best first: the component's box
    snapped to straight edges, then the same trimmed of rows/columns that are not
    photographic (searched too: either may be right)."""
    import cv2
    import numpy as np

    small = small_rgb(img, SIZE)
    a = np.asarray(small)
    g = np.asarray(small.convert("L"), dtype=np.float32)
    h, w = g.shape
    if min(h, w) < 4 * BLOCK:
        return []
    canvas = _ui_canvas(a, g)
    if canvas.mean() < 0.05:
        return []  # no UI around: a plain photo
    content = cv2.morphologyEx((~canvas).astype(np.uint8), cv2.MORPH_OPEN,
                               np.ones((2, 2), np.uint8))
    photo = _classify(g)
    best = _best_component(content, photo)
    if best is None:
        return []
    out: list[Box] = []
    for box in (_trim(canvas, best, g), _trim(canvas, _block_trimmed(photo, best), g)):
        x, y, bw, bh = box
        if bw * bh > 0.92 * w * h or bw < 2 * BLOCK or bh < 2 * BLOCK or box in out:
            continue
        outside = canvas.sum() - canvas[y:y + bh, x:x + bw].sum()
        if outside < MIN_UI_AROUND * (w * h - bw * bh):
            continue  # what surrounds it is not an app's UI: part of a plain photo
        out.append(box)
    fx, fy = img.width / w, img.height / h
    return [(round(x * fx), round(y * fy), min(round(bw * fx), img.width - round(x * fx)),
             min(round(bh * fy), img.height - round(y * fy))) for x, y, bw, bh in out]
