"""Match stage, what geometry.py (fits between two pictures) and localfeat.py (features
kept in the archive) share: the working size, the feature record, the grey working copy,
the spread of keypoints and the rescaling of points. Below both, so neither imports the
other.

Flow: media -> **match** -> archive. Works on pictures the media stage decoded; the
archive stores what `localfeat.py` builds on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PIL import Image

if TYPE_CHECKING:
    import numpy as np

WORK_SIZE = 640  # longer side the features are found on (original coordinates reported)
MIN_SIDE = 32  # pictures thinner than this (after WORK_SIZE) have no usable features


@dataclass
class Features:
    """Keypoints (N x 2, in the picture's own pixels) and descriptors of one picture."""

    points: np.ndarray
    descriptors: np.ndarray | None
    size: tuple[int, int]  # (width, height) of the picture the points refer to
    method: str


def work_gray(img: Image.Image) -> tuple[np.ndarray, float]:
    """The grey working copy of a picture (longer side at most WORK_SIZE) and its scale."""
    import numpy as np

    scale = min(1.0, WORK_SIZE / max(img.size))
    g = img.convert("L")
    if scale < 1.0:
        g = g.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                     Image.Resampling.BILINEAR)
    return np.asarray(g), scale


def spread(kps: Any, shape: tuple[int, ...], n: int, grid: int = 4) -> list[int]:
    """Indexes of `n` keypoints spread over a grid x grid layout (strongest per cell
    first, then round-robin over the cells), so a crop that loses a side keeps most of
    them. Vectorized: a query has thousands of keypoints."""
    import numpy as np

    if not len(kps):
        return []
    h, w = shape[:2]
    pts = np.array([k.pt for k in kps], dtype=np.float64).reshape(-1, 2)
    resp = np.array([k.response for k in kps])
    cell = np.minimum(grid - 1, (pts[:, 1] * grid / h).astype(int)) * grid + \
        np.minimum(grid - 1, (pts[:, 0] * grid / w).astype(int))
    order = np.lexsort((-resp, cell))  # by cell, strongest first within a cell
    cells = cell[order]
    starts = np.searchsorted(cells, cells, side="left")
    rank = np.arange(len(order)) - starts  # rank of each keypoint within its cell
    # round-robin: rank first; within a rank, cells in order of first appearance by response
    first = {}
    for c in cell[np.argsort(-resp, kind="stable")].tolist():
        first.setdefault(c, len(first))
    cell_order = np.array([first[c] for c in cells.tolist()])
    picked = order[np.lexsort((cell_order, rank))][:n]
    return picked.tolist()


def rescale(points: np.ndarray, factor: float) -> np.ndarray:
    """Points of a picture resized by 1/`factor` in the full picture's pixels. Pixel
    centres sit at integer coordinates (OpenCV), so the half-pixel offset is kept: a
    plain multiplication shifts a 3x reduction by a whole pixel."""
    return ((points + 0.5) * factor - 0.5).astype(points.dtype, copy=False)
