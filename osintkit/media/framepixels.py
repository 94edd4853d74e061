"""Media stage, decoded video frames: their pixels, read cheaply.

Sits under `frames.py` (the sampling pass) and `videoscan.py` (the demux pass): the luma
plane as a numpy view, the display rotation, the black bars of a letterboxed picture,
the small grey thumbnail an archived video keeps, and the scene-change detector.
Works on PyAV frames as decoded (YUV planes), without colour conversion when it can.
"""

from __future__ import annotations

import statistics
from collections import deque
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL import Image

# Scene change score between consecutive decoded frames: the L1 distances (0..1 each) of
# their Y, U and V histograms (16 bins) plus a quarter of their mean absolute luma
# difference (0..1), on ~64x36 strided samples of the planes. Measured on the test and
# benchmark videos: cuts score 0.5-1.6; pans 0.1-0.2 between frames 1 s apart, less
# when dense. The pixel difference is down-weighted because motion inflates it (a pan
# 1 s apart: 0.27, as much as a cut); the chroma histograms carry the cuts. A cut is a
# score above max(SCENE_MIN, SCENE_FACTOR x the median of the recent scores), so a
# shaky or fast-moving shot raises its own threshold.
SCENE_MIN = 0.3
SCENE_FACTOR = 3.0
SCENE_WINDOW = 8
# Letterbox/pillarbox bars: edge rows/columns with >= 80% of pixels darker than this,
# in all of up to BAR_PROBES keyframes spread over the video (videoscan.py).
BAR_LEVEL = 20
THUMB = (64, 36)  # plane samples the scene detector compares


_LUMA_FORMATS = {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p",
                 "yuv411p", "yuv410p", "nv12", "nv21", "gray"}


def luma(vf: Any) -> Any:
    """The frame's 8-bit luma plane as a 2-D numpy view (no conversion when YUV)."""
    import numpy as np

    if vf.format.name in _LUMA_FORMATS:
        plane = vf.planes[0]
        a = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        return a[:, : plane.width]
    return vf.to_ndarray(format="gray")


def black_level(vf: Any) -> int:
    """Luma below which a bar pixel counts as black (limited-range video: black is 16)."""
    full = vf.format.name.startswith("yuvj") or vf.format.name == "gray" or vf.color_range == 2
    return BAR_LEVEL if full else 16 + BAR_LEVEL * 219 // 255


def _yuv_samples(vf: Any) -> list[Any]:
    """~64x36 strided samples of the Y, U and V planes (converted only if not YUV)."""
    import numpy as np

    if vf.format.name not in _LUMA_FORMATS or vf.format.name == "gray" \
            or vf.format.name.startswith("nv"):
        vf = vf.reformat(format="yuv420p")
    out = []
    for plane in vf.planes[:3]:
        a = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        a = a[:, : plane.width]
        out.append(a[:: max(1, a.shape[0] // THUMB[1]), :: max(1, a.shape[1] // THUMB[0])])
    return out


class SceneDetector:
    """Y/U/V histograms + luma difference between consecutive decoded frames, adaptive
    threshold. Works on strided views of the planes: no colour conversion, no scaling
    (a swscale RGB thumbnail per decoded frame cost 40% of the pass, measured)."""

    def __init__(self) -> None:
        self.prev: Any = None
        self.recent: deque[float] = deque(maxlen=SCENE_WINDOW)

    def update(self, vframe: Any) -> bool:
        import numpy as np

        planes = _yuv_samples(vframe)
        hists = [np.bincount((p >> 4).ravel(), minlength=16) / p.size for p in planes]
        cur = (hists, planes[0].astype(np.float32))
        prev, self.prev = self.prev, cur
        if prev is None:
            return True
        score = sum(float(np.abs(a - b).sum()) / 2 for a, b in zip(cur[0], prev[0], strict=True))
        score += float(np.abs(cur[1] - prev[1]).mean()) / 255 / 4
        base = statistics.median(self.recent) if self.recent else 0.0
        cut = score > max(SCENE_MIN, SCENE_FACTOR * base)
        if not cut:  # the threshold follows motion within shots, not the cuts themselves
            self.recent.append(score)
        return cut


def content_box(img: Image.Image, level: int = BAR_LEVEL) -> tuple[int, int, int, int] | None:
    """The box inside black letterbox/pillarbox bars, or None when there are none.

    Keeps at least 40% of each side, so a dark night-time frame is not cut to a sliver.
    """
    import numpy as np

    a = np.asarray(img.convert("L"), dtype=np.int16)
    box = []
    for axis in (0, 1):  # columns, then rows
        # A bar line is mostly dark: a channel logo drawn over the bar does not count.
        live = np.nonzero((a > level).mean(axis=axis) > 0.2)[0]
        n = a.shape[1 - axis]
        if not len(live) or (live[-1] + 1 - live[0]) < 0.4 * n:
            return None
        box.append((int(live[0]), int(live[-1]) + 1))
    (x0, x1), (y0, y1) = box
    if (x0, y0, x1, y1) == (0, 0, img.width, img.height) or min(x0, y0) < 0:
        return None
    # Ignore a 1-2 pixel dark edge (encoder padding): only real bars count.
    if max(x0, img.width - x1, y0, img.height - y1) <= 2:
        return None
    return (x0, y0, x1, y1)


STRIP_WIDTH = 64  # width of `gray_thumb`


def gray_thumb(vf: Any, box: tuple[int, int, int, int] | None = None,
               width: int = STRIP_WIDTH) -> Any:
    """A decoded frame's luma as a small grey uint8 array `width` wide (bars `box` cut
    off, display rotation applied): no colour conversion, one area resize."""
    import cv2
    import numpy as np

    y = luma(vf)
    rot = round((vf.rotation or 0) / 90) % 4
    # `box` is in displayed pixels: cut directly, or after the rotation (rare)
    if box is not None and rot == 0 and y.shape[1] >= box[2] and y.shape[0] >= box[3]:
        y = y[box[1]:box[3], box[0]:box[2]]
    if rot:
        y = np.rot90(y, rot)
        if box is not None and y.shape[1] >= box[2] and y.shape[0] >= box[3]:
            y = y[box[1]:box[3], box[0]:box[2]]
    h = max(1, round(width * y.shape[0] / max(1, y.shape[1])))
    return cv2.resize(np.ascontiguousarray(y), (width, h), interpolation=cv2.INTER_AREA)


def rotated(vframe: Any) -> Image.Image:
    from PIL import Image

    # Same pixels as PyAV's to_image(), which copies row by row: 15.7 ms vs 2.9 ms per
    # 1280x720 frame (measured), 15% of the whole keyframe pass.
    return turn(Image.fromarray(vframe.to_ndarray(format="rgb24")), vframe.rotation)


def turn(img: Image.Image, rotation: float | None) -> Image.Image:
    """Apply a display-matrix rotation (degrees counter-clockwise) to a picture."""
    from PIL import Image

    rot = round((rotation or 0) / 90) % 4
    if not rot:
        return img
    T = Image.Transpose
    return img.transpose((T.ROTATE_90, T.ROTATE_180, T.ROTATE_270)[rot - 1])


