"""Media stage, after `frames`: keyframes to disk for analysts — JPEGs named by time, a
contact sheet, per-frame hashes — as `osintkit frames` writes them.

Hashing is passed in (`hasher`), so this stage does not import a later one.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from osintkit.errors import ErrorInfo, MediaError
from osintkit.media.frames import sample_frames

if TYPE_CHECKING:
    from PIL import Image


@dataclass
class SavedFrame:
    """A keyframe written to disk, with its hashes."""

    t: float
    index: int
    scene_change: bool
    file: str | None  # file name inside the output directory (None: nothing written)
    width: int
    height: int
    hashes: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"t": self.t, "index": self.index, "scene_change": self.scene_change,
                "file": self.file, "width": self.width, "height": self.height,
                "hashes": self.hashes}


@dataclass
class Keyframes:
    """Result of `extract_keyframes` for one video (the `osintkit frames` contract)."""

    path: Path
    ok: bool
    out_dir: Path | None = None
    frames: list[SavedFrame] = field(default_factory=list)
    contact_sheet: str | None = None
    error: ErrorInfo | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "ok": self.ok,
                "out_dir": str(self.out_dir) if self.out_dir else None,
                "frames": [f.to_dict() for f in self.frames],
                "contact_sheet": self.contact_sheet,
                "error": self.error.to_dict() if self.error else None}


def frame_name(t: float) -> str:
    """File name for a keyframe at `t` seconds: sortable, e.g. `t0000123.400.jpg`."""
    return f"t{t:011.3f}.jpg"


def extract_keyframes(path: str | os.PathLike[str], out_dir: str | os.PathLike[str] | None,
                      every: float = 2.0, scenes: bool = True, trim: bool = True,
                      hasher: Callable[[Image.Image], dict[str, Any]] | None = None,
                      sheet: bool = True, quality: int = 90) -> Keyframes:
    """Sample a video's keyframes, write them as JPEG (+ contact sheet), hash them.

    Never raises for a bad file: `ok=False` with `error`, keeping the frames already
    written (a truncated video still gives the frames before the damage).
    `hasher` (e.g. `osintkit.hashing.hash_image`) is passed in so this stage does not
    import a later one.
    """
    p = Path(path)
    out = Path(out_dir) if out_dir is not None else None
    res = Keyframes(p, ok=True, out_dir=out)
    thumbs: list[tuple[float, bool, Image.Image]] = []
    try:
        for fr in sample_frames(p, every=every, scenes=scenes, trim=trim):
            name = frame_name(fr.t)
            if out is not None:
                out.mkdir(parents=True, exist_ok=True)
                fr.image.save(out / name, "JPEG", quality=quality)
            hashes = hasher(fr.image) if hasher else {}
            res.frames.append(SavedFrame(fr.t, fr.index, fr.scene_change,
                                         name if out is not None else None,
                                         fr.image.width, fr.image.height, hashes))
            if sheet:
                thumbs.append((fr.t, fr.scene_change, _thumb(fr.image)))
    except MediaError as exc:
        res.ok, res.error = False, exc.info()
    if sheet and out is not None and thumbs:
        contact_sheet(thumbs).save(out / "contact-sheet.jpg", "JPEG", quality=85)
        res.contact_sheet = "contact-sheet.jpg"
    return res


SHEET_THUMB = 240
SHEET_COLS = 5


def _thumb(img: Image.Image) -> Image.Image:
    t = img.copy()
    t.thumbnail((SHEET_THUMB, SHEET_THUMB))
    return t


def format_time(t: float) -> str:
    """`m:ss.s` (or `h:mm:ss.s`) for captions."""
    h, rem = divmod(t, 3600)
    m, s = divmod(rem, 60)
    return f"{int(h)}:{int(m):02d}:{s:04.1f}" if h else f"{int(m)}:{s:04.1f}"


def contact_sheet(thumbs: list[tuple[float, bool, Image.Image]],
                  cols: int = SHEET_COLS) -> Image.Image:
    """A grid of thumbnails captioned with their time; scene changes get a red caption."""
    from PIL import Image, ImageDraw, ImageFont

    cell_w = SHEET_THUMB
    cell_h = max(im.height for _, _, im in thumbs)
    cap = 18
    cols = min(cols, len(thumbs))
    rows = math.ceil(len(thumbs) / cols)
    pad = 4
    sheet = Image.new("RGB", (cols * (cell_w + pad) + pad, rows * (cell_h + cap + pad) + pad),
                      (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=13)
    for i, (t, cut, im) in enumerate(thumbs):
        r, c = divmod(i, cols)
        x = pad + c * (cell_w + pad)
        y = pad + r * (cell_h + cap + pad)
        sheet.paste(im, (x + (cell_w - im.width) // 2, y + (cell_h - im.height) // 2))
        label = format_time(t) + ("  scene" if cut else "")
        draw.text((x + 2, y + cell_h + 2), label, fill=(255, 90, 90) if cut else (230, 230, 230),
                  font=font)
    return sheet
