"""Match stage, local features as data: what the archive keeps per image so that a copy
can be confirmed (and told apart from another shot of the same scene) without the
original file, and the visual words that find candidates among a million images.

Flow: media -> **match** -> archive. Sits beside `geometry.py` (which fits one picture
onto another from these features) and before `archive/` (which stores `pack()`ed
features, a small `thumbnail()` and the `words()` in its `local` table, schema v5). One
decode per picture: `LocalPicture.of(img)` gives everything a query or an archived item
needs.

* features: ORB keypoints spread over a 4x4 grid (a crop that loses a side keeps most
  of them), found on a copy whose longer side is `WORK_SIZE`; points are stored in the
  picture's own pixels as uint16 x 8 (1/8 px), descriptors as 32 bytes each;
* thumbnail: a `THUMB_SIZE` JPEG -- the pixels `sameshot.py` compares after the fit, and
  the picture the report shows when the archived file is gone;
* words: each descriptor's nearest word of a fixed vocabulary (`osintkit/data/
  orb_vocabulary.npy`, 16,384 binary words, and its 128 coarse centroids, made by
  `scripts/train_vocabulary.py` from openly licensed photos): the inverted file of
  `archive/bow.py` votes with them.
"""

from __future__ import annotations

import functools
import io
import struct
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from PIL import Image

from osintkit.match.keypoints import MIN_SIDE, Features, rescale, spread, work_gray

if TYPE_CHECKING:
    import numpy as np


STORED_FEATURES = 400  # per archived image (14.4 KB); recall vs 200/700: docs/robust-matching.md
QUERY_FEATURES = 1000  # per query (not stored): more points survive a heavy crop or a UI
THUMB_SIZE = 320  # longer side of the stored thumbnail
THUMB_QUALITY = 85
FAST_THRESHOLD = 8  # OpenCV default 20 finds ~10 corners on low-detail photos (silhouettes)
POINT_SCALE = 8  # points stored as uint16 at 1/8 px: pictures up to 8191 px wide
FORMAT = 1  # of pack(); unpack() refuses others
VOCABULARY = "orb_vocabulary.npy"
VOCABULARY_COARSE = "orb_vocabulary_coarse.npy"


@dataclass
class LocalPicture:
    """One picture's local features, thumbnail and words (all in its own pixels)."""

    size: tuple[int, int]  # (width, height) of the picture the points refer to
    points: np.ndarray  # (N, 2) float32
    descriptors: np.ndarray  # (N, 32) uint8
    thumb: bytes = b""  # JPEG, longer side THUMB_SIZE (empty: none)

    @classmethod
    def of(cls, img: Image.Image, n: int = STORED_FEATURES, thumb: bool = True,
           size: tuple[int, int] | None = None) -> LocalPicture:
        """Features (at most `n`, spread) of an RGB picture, points scaled to `size`
        (the picture's full size when `img` is a reduced decode of it)."""
        pts, desc = detect(img, n)
        full = size or img.size
        if full != img.size:
            pts = rescale(pts, full[0] / img.width)
        return cls(full, pts, desc, thumbnail(img) if thumb else b"")

    def features(self) -> Features:
        """As `geometry.Features` (for `geometry.match_features`)."""
        return Features(self.points, self.descriptors if len(self.descriptors) else None,
                        self.size, "orb")

    def thumb_image(self) -> Image.Image | None:
        if not self.thumb:
            return None
        with Image.open(io.BytesIO(self.thumb)) as im:
            return im.convert("RGB")


def detect(img: Image.Image, n: int, mirrored: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(points in `img` pixels, descriptors) of at most `n` ORB keypoints spread over a
    4x4 grid. `mirrored`: of the left-right mirror image (points in its pixels)."""
    import cv2
    import numpy as np

    if mirrored:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    gray, scale = work_gray(img)
    empty = (np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8))
    if min(gray.shape) < MIN_SIDE:
        return empty
    kps, desc = cv2.ORB_create(nfeatures=n * 2, fastThreshold=FAST_THRESHOLD).detectAndCompute(
        gray, None)
    if desc is None or not len(kps):
        return empty
    keep = spread(kps, gray.shape, n)
    pts = rescale(np.array([kps[i].pt for i in keep], dtype=np.float32).reshape(-1, 2),
                  1.0 / scale)
    return pts, np.ascontiguousarray(desc[keep])


def thumbnail(img: Image.Image, side: int = THUMB_SIZE) -> bytes:
    """A small JPEG of the picture (longer side `side`)."""
    small = img.convert("RGB")
    small.thumbnail((side, side), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    small.save(buf, "JPEG", quality=THUMB_QUALITY)
    return buf.getvalue()


# ---------------------------------------------------------------- storage
def pack(lp: LocalPicture) -> bytes:
    """Points and descriptors as bytes: header (format, n, width, height), uint16 points
    at 1/POINT_SCALE px, descriptors. About 36 bytes per feature."""
    import numpy as np

    pts = np.clip(np.rint(lp.points * POINT_SCALE), 0, 65535).astype("<u2")
    return (struct.pack("<BHII", FORMAT, len(pts), *lp.size) + pts.tobytes() +
            np.ascontiguousarray(lp.descriptors, dtype=np.uint8).tobytes())


def unpack(blob: bytes, thumb: bytes = b"") -> LocalPicture:
    """The inverse of `pack()`; ValueError for a blob of another format."""
    import numpy as np

    head = struct.calcsize("<BHII")
    fmt, n, w, h = struct.unpack_from("<BHII", blob)
    if fmt != FORMAT or len(blob) != head + n * 36:
        raise ValueError("local features of an unknown format")
    pts = np.frombuffer(blob, "<u2", n * 2, head).reshape(n, 2).astype(np.float32) / POINT_SCALE
    desc = np.frombuffer(blob, np.uint8, n * 32, head + n * 4).reshape(n, 32)
    return LocalPicture((w, h), pts, desc, thumb)


# ---------------------------------------------------------------- visual words
@functools.lru_cache(maxsize=1)
def vocabulary() -> np.ndarray:
    """The (K, 32) uint8 vocabulary shipped with the package."""
    import numpy as np

    with resources.files("osintkit.data").joinpath(VOCABULARY).open("rb") as fh:
        return np.load(fh, allow_pickle=False)


COARSE_PROBES = 2  # coarse cells searched per descriptor


@functools.lru_cache(maxsize=1)
def _vocab_index() -> tuple[object, object]:
    """faiss's binary inverted file over the words: the coarse centroids shipped beside
    the vocabulary as its quantizer (fixed, so a word is the same on every machine and
    faiss version), each word in the cell of its nearest centroid."""
    import faiss
    import numpy as np

    voc = vocabulary()
    with resources.files("osintkit.data").joinpath(VOCABULARY_COARSE).open("rb") as fh:
        coarse = np.load(fh, allow_pickle=False)
    quantizer = faiss.IndexBinaryFlat(voc.shape[1] * 8)
    quantizer.add(np.ascontiguousarray(coarse))
    index = faiss.IndexBinaryIVF(quantizer, voc.shape[1] * 8, len(coarse))
    index.is_trained = True
    index.add(np.ascontiguousarray(voc))
    index.nprobe = COARSE_PROBES
    return index, quantizer  # the quantizer must outlive the index (faiss keeps a pointer)


def words(descriptors: np.ndarray) -> np.ndarray:
    """The nearest vocabulary word of each descriptor among the words of its 2 nearest
    coarse cells (uint16; faiss, one thread: ~300 comparisons per descriptor instead of
    16,384 -- 1,000 descriptors in ~2 ms; the same function on both sides, so archive
    and query agree on every word)."""
    import faiss
    import numpy as np

    if not len(descriptors):
        return np.zeros(0, np.uint16)
    faiss.omp_set_num_threads(1)
    _, idx = _vocab_index()[0].search(np.ascontiguousarray(descriptors, dtype=np.uint8), 1)
    return idx[:, 0].astype(np.uint16)


def word_set(descriptors: np.ndarray) -> bytes:
    """The distinct words of an archived picture, sorted, as uint16 bytes (the database
    copy from which the inverted file is rebuilt)."""
    import numpy as np

    return np.unique(words(descriptors)).astype("<u2").tobytes()
