"""Media stage, where the video sits inside a query video's frame: a player or a chat
around it (a screen recording), a blurred copy of itself behind it (a vertical reframe),
coloured bars. Black bars are already cut off by media/frames.py.

Works on the grey thumbnails of all sampled frames (media/videopixels.py), once per
video, with what a single picture cannot tell (views.py looks at one picture):

* **what moves**: a player's or a chat's interface is still while the video plays. The
  per-pixel spread over time marks the moving part; its largest blob is the video when
  everything around it is still (a progress bar or a clock is too thin to count);
* **what is sharp**: a blurred fill has no fine detail. Each row's (column's) gradient
  energy, median over time, marks the sharp band; when the rows (columns) outside it are
  blurred, the band is the video.

Boxes are (x, y, w, h) in the frames' pixels. They are extra views to search: the whole
frame is always searched too, so a wrong box costs time, never a match.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

Box = tuple[int, int, int, int]
MIN_FRAMES = 4  # temporal evidence needs a few frames
MOVING_MIN = 6.0  # grey-level spread over time: below it nothing in the frame moves enough
MOVING_SHARE = 0.2  # a pixel moves when its spread reaches this share of the strong motion
STILL_OUTSIDE = 0.04  # at most this share of moving pixels outside the video's box
SHARP_SHARE = 0.3  # a row is sharp when its gradient energy reaches this x the sharp rows'
BLUR_OUTSIDE = 0.6  # ... and the rows outside the band stay under this x the threshold
MIN_SIDE = 0.15  # a blurred fill's band keeps at least this share of each side
MOVING_SIDE = (0.1, 0.04)  # a moving box: >= 10% of each side, >= 4% of the area
MAX_AREA = 0.9  # a box covering more of the frame is the frame itself
FILL_MOVES = 3.0  # a blurred fill changes with the video (grey-level spread over time)


def video_boxes(thumbs: np.ndarray, size: tuple[int, int]) -> list[Box]:
    """Candidate boxes of the video inside the frame, best first (at most two):
    `thumbs` (n, h, w) grey, `size` the frames' (width, height)."""
    import numpy as np

    if thumbs.ndim != 3 or len(thumbs) == 0 or min(thumbs.shape[1:]) < 16:
        return []
    stack = thumbs.astype(np.float32)
    out: list[Box] = []
    for box in (_moving_box(stack), _sharp_box(stack)):
        if box is None:
            continue
        full = _scaled(box, size, stack.shape[2], stack.shape[1])
        if not any(_same(full, o, size) for o in out):
            out.append(full)
    return out


def _moving_box(stack: np.ndarray) -> Box | None:
    """The moving part, when everything around it is still (a player, a chat)."""
    import cv2
    import numpy as np

    if len(stack) < MIN_FRAMES:
        return None
    spread = stack.std(axis=0)
    strong = float(np.percentile(spread, 90))
    if strong < MOVING_MIN:
        return None  # a still video: time says nothing here
    moving = (spread > max(3.0, MOVING_SHARE * strong)).astype(np.uint8)
    k = max(3, (min(moving.shape) // 12) | 1)
    closed = cv2.morphologyEx(moving, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
    opened = cv2.morphologyEx(closed, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    n, _, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=8)
    if n < 2:
        return None
    i = 1 + int(stats[1:, cv2.CC_STAT_AREA].argmax())
    x, y, w, h = (int(v) for v in stats[i][:4])
    if not _plausible((x, y, w, h), moving.shape, *MOVING_SIDE):
        return None
    outside = moving.sum() - moving[y:y + h, x:x + w].sum()
    if outside > STILL_OUTSIDE * (moving.size - w * h):
        return None  # things move around it too: not an interface
    return x, y, w, h


def _band(energy: np.ndarray) -> tuple[int, int] | None:
    """[start, end) of the sharp band of a profile, when what lies outside is blurred."""
    import numpy as np

    n = len(energy)
    top = float(np.percentile(energy, 90))
    if top <= 1e-6:
        return None
    thr = SHARP_SHARE * top
    sharp = energy >= thr
    # bridge short gaps (a flat sky, a dark stripe inside the video)
    idx = np.flatnonzero(sharp)
    if not len(idx):
        return None
    runs, start, prev = [], int(idx[0]), int(idx[0])
    for i in idx[1:].tolist():
        if i - prev > max(2, n // 20):
            runs.append((start, prev + 1))
            start = i
        prev = i
    runs.append((start, prev + 1))
    a, b = max(runs, key=lambda r: r[1] - r[0])
    if (a, b) == (0, n) or b - a < MIN_SIDE * n or b - a > MAX_AREA * n:
        return None
    outside = np.concatenate([energy[:a], energy[b:]])
    if not len(outside) or float(np.median(outside)) > BLUR_OUTSIDE * thr:
        return None
    return a, b


def _sharp_box(stack: np.ndarray) -> Box | None:
    """The sharp band of rows (a vertical reframe) or columns (a horizontal one)."""
    import numpy as np

    gy = np.abs(np.diff(stack, axis=1)).mean(axis=2)  # (n, h-1): each row's energy
    gx = np.abs(np.diff(stack, axis=2)).mean(axis=1)  # (n, w-1)
    rows = _band(np.median(gy, axis=0))
    cols = _band(np.median(gx, axis=0))
    if rows is None and cols is None:
        return None
    h, w = stack.shape[1:]
    y0, y1 = rows if rows is not None else (0, h)
    x0, x1 = cols if cols is not None else (0, w)
    box = (x0, y0, x1 - x0, y1 - y0)
    if not _plausible(box, (h, w)):
        return None
    # a blurred fill moves with the video; a flat interface (a chat's wallpaper) does not
    outside = np.ones((h, w), bool)
    outside[y0:y1, x0:x1] = False
    if len(stack) >= MIN_FRAMES and float(np.median(stack.std(axis=0)[outside])) < FILL_MOVES:
        return None
    return box


def _plausible(box: Box, shape: tuple[int, ...], side: float = MIN_SIDE,
               area: float = 0.0) -> bool:
    _, _, w, h = box
    H, W = shape[:2]
    if w < side * W or h < side * H or w * h < area * W * H:
        return False
    return w * h <= MAX_AREA * W * H


def _scaled(box: Box, size: tuple[int, int], tw: int, th: int) -> Box:
    fx, fy = size[0] / tw, size[1] / th
    x, y, w, h = box
    x0, y0 = round(x * fx), round(y * fy)
    return x0, y0, min(size[0] - x0, round(w * fx)), min(size[1] - y0, round(h * fy))


def _same(a: Box, b: Box, size: tuple[int, int]) -> bool:
    return max(abs(p - q) for p, q in zip(a, b, strict=True)) <= 0.03 * max(size)
