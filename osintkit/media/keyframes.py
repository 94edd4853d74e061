"""Media stage, after `frames`: keyframes to disk for analysts — one JPEG per shot named
`<video stem>_<hh-mm-ss.sss>.jpg`, a contact sheet, per-frame hashes — as `osintkit frames`
writes them.

Every sampled frame is hashed (the hashes and the vPDQ export cover them all), but by
default only one picture per shot is written: the sample nearest the middle of the shot,
away from the cut's transition frames, ready for reverse image search. A shot starts at
each scene change, and also where the picture has drifted far from the shot's first frame
(PDQ distance > SHOT_SPLIT_PDQ: a long pan shows new ground). `per_shot=False` writes
every sampled frame.

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

SHOT_SPLIT_PDQ = 96  # bits of 256: a sample this far from its shot's first frame starts one


@dataclass
class SavedFrame:
    """A sampled frame, its hashes, and its file when it was written."""

    t: float
    index: int
    scene_change: bool
    file: str | None  # file name inside the output directory (None: not written)
    width: int
    height: int
    hashes: dict[str, Any]
    shot: int = 0  # the shot it belongs to (0-based)

    def to_dict(self) -> dict[str, Any]:
        return {"t": self.t, "index": self.index, "scene_change": self.scene_change,
                "file": self.file, "width": self.width, "height": self.height,
                "hashes": self.hashes, "shot": self.shot}


@dataclass
class Shot:
    """One shot: its time span and the frame kept for it."""

    index: int
    start: float
    end: float  # time of its last sample
    t: float  # the kept frame
    file: str | None
    cut: bool = True  # starts at a scene change (else: the picture drifted, e.g. a pan)

    def to_dict(self) -> dict[str, Any]:
        return {"shot": self.index, "start": self.start, "end": self.end, "t": self.t,
                "file": self.file, "cut": self.cut}


@dataclass
class Keyframes:
    """Result of `extract_keyframes` for one video (the `osintkit frames` contract)."""

    path: Path
    ok: bool
    out_dir: Path | None = None
    frames: list[SavedFrame] = field(default_factory=list)
    contact_sheet: str | None = None
    error: ErrorInfo | None = None
    shots: list[Shot] = field(default_factory=list)

    @property
    def kept(self) -> list[SavedFrame]:
        """The frames whose picture was written (one per shot by default)."""
        return [f for f in self.frames if f.file is not None]

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "ok": self.ok,
                "out_dir": str(self.out_dir) if self.out_dir else None,
                "frames": [f.to_dict() for f in self.frames],
                "shots": [s.to_dict() for s in self.shots],
                "contact_sheet": self.contact_sheet,
                "error": self.error.to_dict() if self.error else None}


def frame_name(t: float, stem: str = "frame") -> str:
    """File name for a keyframe of video `stem` at `t` seconds, sortable and readable:
    `launch_00-01-03.400.jpg` (1 min 3.4 s)."""
    h, rem = divmod(max(0.0, t), 3600)
    m, sec = divmod(rem, 60)
    safe = "".join(c if c.isprintable() and c not in '/\\:*?"<>|' else "_" for c in stem)
    return f"{safe or 'frame'}_{int(h):02d}-{int(m):02d}-{sec:06.3f}.jpg"


def _pdq_distance(a: dict[str, Any], b: dict[str, Any]) -> int | None:
    pa, pb = a.get("pdq"), b.get("pdq")
    if not pa or not pb:
        return None
    return (int(str(pa), 16) ^ int(str(pb), 16)).bit_count()


class _ShotWriter:
    """Collects one shot's samples as temporary files; keeps the one nearest its middle."""

    def __init__(self, res: Keyframes, out: Path | None, stem: str, quality: int,
                 per_shot: bool, sheet: bool) -> None:
        self.res, self.out, self.stem = res, out, stem
        self.quality, self.per_shot, self.sheet = quality, per_shot, sheet
        self.current: list[tuple[SavedFrame, Path | None, Any]] = []
        self.thumbs: list[tuple[float, bool, Any]] = []

    def _starts_shot(self, frame: SavedFrame) -> bool:
        if not self.current:
            return True
        far = _pdq_distance(self.current[0][0].hashes, frame.hashes)
        return frame.scene_change or (far is not None and far > SHOT_SPLIT_PDQ)

    def add(self, frame: SavedFrame, image: Any) -> None:
        if self.current and self._starts_shot(frame):
            self.close_shot()
        frame.shot = len(self.res.shots)
        tmp = None
        if self.out is not None:
            self.out.mkdir(parents=True, exist_ok=True)
            tmp = self.out / f".part-{frame_name(frame.t, self.stem)}"
            image.save(tmp, "JPEG", quality=self.quality)
        self.current.append((frame, tmp, _thumb(image) if self.sheet else None))

    def close_shot(self) -> None:
        if not self.current:
            return
        frames = [f for f, _, _ in self.current]
        start, end = frames[0].t, frames[-1].t
        mid = (start + end) / 2
        keep = min(range(len(frames)), key=lambda i: (abs(frames[i].t - mid), i))
        for i, (frame, tmp, _) in enumerate(self.current):
            if tmp is None:
                continue
            if i == keep or not self.per_shot:
                frame.file = frame_name(frame.t, self.stem)
                os.replace(tmp, tmp.with_name(frame.file))
            else:
                tmp.unlink(missing_ok=True)
        kept = frames[keep]
        if self.sheet:
            self.thumbs.append((kept.t, frames[0].scene_change, self.current[keep][2]))
        self.res.shots.append(Shot(kept.shot, start, end, kept.t, kept.file,
                                   frames[0].scene_change))
        self.current = []


def extract_keyframes(path: str | os.PathLike[str], out_dir: str | os.PathLike[str] | None,
                      every: float = 2.0, scenes: bool = True, trim: bool = True,
                      hasher: Callable[[Image.Image], dict[str, Any]] | None = None,
                      sheet: bool = True, quality: int = 90,
                      per_shot: bool = True) -> Keyframes:
    """Sample a video's frames, hash them all, write one JPEG per shot (every sampled
    frame with `per_shot=False`) named `<stem>_<hh-mm-ss.sss>.jpg`, and a contact sheet.

    Never raises for a bad file: `ok=False` with `error`, keeping the shots already
    written (a truncated video still gives the shots before the damage).
    `hasher` (e.g. `osintkit.match.hashing.hash_image`) is passed in so this stage does not
    import a later one; shots split on PDQ drift only when it gives PDQ.
    """
    p = Path(path)
    out = Path(out_dir) if out_dir is not None else None
    res = Keyframes(p, ok=True, out_dir=out)
    shots = _ShotWriter(res, out, p.stem, quality, per_shot, sheet)
    try:
        for fr in sample_frames(p, every=every, scenes=scenes, trim=trim):
            hashes = hasher(fr.image) if hasher else {}
            saved = SavedFrame(fr.t, fr.index, fr.scene_change, None, fr.image.width,
                               fr.image.height, hashes)
            res.frames.append(saved)
            shots.add(saved, fr.image)
    except MediaError as exc:
        res.ok, res.error = False, exc.info()
    finally:
        shots.close_shot()
    if sheet and out is not None and shots.thumbs:
        contact_sheet(shots.thumbs).save(out / "contact-sheet.jpg", "JPEG", quality=85)
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
