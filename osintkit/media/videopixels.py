"""Media stage, the pixels robust video matching needs, kept from the one decode pass.

`hashfile.hash_file(path, pixels=True)` hands every sampled frame (media/frames.py) to a
`VideoPixels` right after hashing it, so matching never decodes the video a second time:

* a reduced colour copy of each frame (longer side `WORK_SIDE`, JPEG in memory: ~40 KB,
  a 10-minute video at one frame a second holds ~25 MB) -- local features of the frames
  that represent a shot, the pixel check of copy or another shot, the report's strips;
* a small grey thumbnail (`THUMB_W` wide) -- where the video sits in the frame
  (media/videoregion.py) and the time alignment of a copy (match/videoalign.py);
* shots: a new shot starts at a scene change, where the picture drifted more than
  `SHOT_SPLIT_PDQ` bits from the shot's first frame (a pan showing new ground), or after
  `SHOT_MAX` seconds; each shot is represented by the frame nearest its middle.

The same object serves the query side (a claim's video) and the archive side (what an
archived video keeps: archive/videostore.py), so both cut shots the same way.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from osintkit.media.keyframes import SHOT_SPLIT_PDQ

WORK_SIDE = 640  # longer side of the kept copy (as localfeat.WORK_SIZE: features size)
THUMB_W = 160  # width of the grey thumbnail
JPEG_QUALITY = 88
DENSE_STEP = 0.2  # seconds between an archived video's strip thumbnails (at least)
SHOT_MAX = 8.0  # seconds: a longer shot is split, so a long take has several representatives


@dataclass
class PixelFrame:
    """One sampled frame: time, frame number, scene change, its PDQ, and its pixels."""

    t: float
    index: int
    scene_change: bool
    pdq: str | None
    quality: int
    jpeg: bytes = field(repr=False)
    thumb: np.ndarray = field(repr=False)  # (h, THUMB_W) uint8 grey


@dataclass
class ShotSpan:
    """Frames [first, last] of one shot and the frame that represents it."""

    first: int
    last: int
    rep: int


@dataclass
class VideoPixels:
    """What a robust match needs of one video's sampled frames (see the module doc)."""

    size: tuple[int, int] = (0, 0)  # of the frames as sampled (black bars cut off)
    frames: list[PixelFrame] = field(default_factory=list)
    duration: float | None = None
    dense: bool = False  # an archived video: keep `strip` too (media/frames.py `dense`)
    # PDQ quality under which a frame is flat (black, a fade): no representative, no drift
    # split. Given by the caller (match/hashing.py: PDQ's floor in HASHERS)
    min_quality: int = 0
    strip_t: list[float] = field(default_factory=list)
    strip: list[np.ndarray] = field(default_factory=list, repr=False)  # 64-px grey

    def add_dense(self, t: float, gray: np.ndarray) -> None:
        """A decoded frame's grey thumbnail (every reference frame, >= DENSE_STEP apart)."""
        if not self.strip_t or t - self.strip_t[-1] >= DENSE_STEP - 1e-6:
            self.strip_t.append(float(t))
            self.strip.append(gray)

    def add(self, frame: Any, image: Image.Image, hashes: dict[str, Any]) -> None:
        """Keep a sampled frame (`frame`: media.frames.Frame, `image`: its RGB pixels)."""
        self.size = image.size
        factor = max(1, max(image.size) // WORK_SIDE)
        small = image.reduce(factor) if factor > 1 else image
        buf = io.BytesIO()
        small.save(buf, "JPEG", quality=JPEG_QUALITY)
        h = max(1, round(THUMB_W * small.height / small.width))
        thumb = np.asarray(small.convert("L").resize((THUMB_W, h), Image.Resampling.BOX))
        pdq = hashes.get("pdq")
        self.frames.append(PixelFrame(float(frame.t), int(frame.index), bool(frame.scene_change),
                                      str(pdq) if pdq else None,
                                      int(hashes.get("pdq_quality") or 0), buf.getvalue(), thumb))

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def times(self) -> list[float]:
        return [f.t for f in self.frames]

    def image(self, i: int) -> Image.Image:
        """The reduced colour copy of frame i (longer side <= WORK_SIDE)."""
        with Image.open(io.BytesIO(self.frames[i].jpeg)) as im:
            return im.convert("RGB")

    def thumbs(self) -> np.ndarray:
        """(n, h, THUMB_W) uint8: every frame's grey thumbnail."""
        if not self.frames:
            return np.zeros((0, 1, THUMB_W), np.uint8)
        return np.stack([f.thumb for f in self.frames])

    def end(self) -> float:
        """Time just past the last sampled frame (the duration when known)."""
        if not self.frames:
            return 0.0
        last = self.frames[-1].t
        if self.duration and self.duration > last:
            return self.duration
        return last + min(_step(self.times), 2.0)

    def shots(self) -> list[ShotSpan]:
        """The shots (see the module doc), in order."""
        out: list[ShotSpan] = []
        start = 0
        for i in range(1, len(self.frames) + 1):
            if i == len(self.frames) or self._starts_shot(start, i):
                out.append(ShotSpan(start, i - 1, self._rep(start, i - 1)))
                start = i
        return out

    def _starts_shot(self, start: int, i: int) -> bool:
        f, first = self.frames[i], self.frames[start]
        if f.scene_change or f.t - first.t >= SHOT_MAX:
            return True
        floor = self.min_quality
        if f.pdq and first.pdq and f.quality >= floor and first.quality >= floor:
            return (int(f.pdq, 16) ^ int(first.pdq, 16)).bit_count() > SHOT_SPLIT_PDQ
        return False

    def _rep(self, first: int, last: int) -> int:
        """The frame nearest the shot's middle, among its detailed ones when it has any."""
        idx = list(range(first, last + 1))
        good = [i for i in idx if self.frames[i].quality >= self.min_quality] or idx
        mid = (self.frames[first].t + self.frames[last].t) / 2
        return min(good, key=lambda i: (abs(self.frames[i].t - mid), i))

    def shot_end(self, shots: list[ShotSpan], k: int) -> float:
        """Time where shot k ends: the next shot's first frame, or the video's end."""
        return self.frames[shots[k + 1].first].t if k + 1 < len(shots) else self.end()


def _step(times: list[float]) -> float:
    gaps = sorted(b - a for a, b in itertools.pairwise(times) if b > a)
    return gaps[len(gaps) // 2] if gaps else 1.0
