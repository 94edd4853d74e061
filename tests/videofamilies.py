"""Disguised copies of videos and slideshows of photos, drawn here (no real UI, no real
media beyond what the caller passes): crops, bars, a blurred-fill vertical reframe, a
screen recording inside a drawn player or chat, trims and re-cuts, mirror, speed change,
watermark, Ken Burns slideshows with cross-fades. Used by the video tests
(tests/test_video_robust.py) and by scripts/bench_video.py.

Frames are RGB numpy arrays; `read` decodes a clip with PyAV, `write` (fixtures_video)
encodes H.264.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont


def read(path: Path, start: float = 0.0, end: float | None = None,
         size: tuple[int, int] | None = None) -> tuple[list[np.ndarray], float]:
    """(RGB frames from `start` to `end` seconds, fps) of a clip (display rotation ignored)."""
    import av

    out = []
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        fps = float(s.average_rate or s.guessed_rate or 25)
        for f in c.decode(s):
            t = float(f.pts * s.time_base) if f.pts is not None else len(out) / fps
            if t < start - 1e-6:
                continue
            if end is not None and t >= end:
                break
            img = f.to_image()
            if size is not None:
                img = img.resize(size, Image.Resampling.BILINEAR)
            out.append(np.asarray(img.convert("RGB")))
    return out, fps


def _even(w: int, h: int) -> tuple[int, int]:
    return max(2, w // 2 * 2), max(2, h // 2 * 2)


def fit_even(frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """Frames cropped to even sides (H.264 4:2:0 needs them)."""
    for a in frames:
        h, w = a.shape[:2]
        yield a[: h // 2 * 2, : w // 2 * 2]


def crop(frames: Iterable[np.ndarray], box: tuple[float, float, float, float],
         out: tuple[int, int] | None = None) -> Iterator[np.ndarray]:
    """The part (left, top, right, bottom fractions) of each frame, resized to `out`."""
    for a in frames:
        h, w = a.shape[:2]
        x0, y0, x1, y1 = (round(box[0] * w), round(box[1] * h), round(box[2] * w),
                          round(box[3] * h))
        img = Image.fromarray(a[y0:y1, x0:x1])
        yield np.asarray(img.resize(out or _even(*img.size), Image.Resampling.BILINEAR))


def bars(frames: Iterable[np.ndarray], canvas: tuple[int, int],
         colour: tuple[int, int, int] = (0, 0, 0)) -> Iterator[np.ndarray]:
    """Letterbox/pillarbox: each frame fitted inside a canvas of `colour`."""
    for a in frames:
        img = Image.fromarray(a)
        s = min(canvas[0] / img.width, canvas[1] / img.height)
        img = img.resize(_even(round(img.width * s), round(img.height * s)))
        c = Image.new("RGB", canvas, colour)
        c.paste(img, ((canvas[0] - img.width) // 2, (canvas[1] - img.height) // 2))
        yield np.asarray(c)


def blurred_fill(frames: Iterable[np.ndarray], canvas: tuple[int, int] = (360, 640),
                 radius: float = 18) -> Iterator[np.ndarray]:
    """A vertical reframe: the frame fitted in the middle of a portrait canvas whose
    background is the same frame enlarged and blurred."""
    for a in frames:
        img = Image.fromarray(a)
        cover = max(canvas[0] / img.width, canvas[1] / img.height)
        bg = img.resize((math.ceil(img.width * cover), math.ceil(img.height * cover)))
        bg = bg.crop(((bg.width - canvas[0]) // 2, (bg.height - canvas[1]) // 2,
                      (bg.width - canvas[0]) // 2 + canvas[0],
                      (bg.height - canvas[1]) // 2 + canvas[1]))
        bg = bg.filter(ImageFilter.GaussianBlur(radius))
        s = canvas[0] / img.width
        fg = img.resize(_even(canvas[0], round(img.height * s)))
        bg.paste(fg, (0, (canvas[1] - fg.height) // 2))
        yield np.asarray(bg)


def _font(size: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def player(frames: Sequence[np.ndarray], canvas: tuple[int, int] = (960, 600),
           scale: float = 0.72, dark: bool = True, seed: int = 0) -> Iterator[np.ndarray]:
    """A screen recording of a drawn desktop video player: title bar, sidebar of
    'related' entries, the video at `scale` of the canvas width, a moving progress bar,
    controls and a running clock."""
    rng = np.random.default_rng(seed)
    bg, fg, accent = ((18, 18, 20), (230, 230, 230), (220, 40, 40)) if dark else \
        ((250, 250, 250), (30, 30, 30), (200, 20, 20))
    cw, _ = canvas
    vw = round(cw * scale) // 2 * 2
    x0, y0 = round(cw * 0.03), 56
    n = len(frames)
    side = [(int(rng.integers(60, 200)),) * 3 for _ in range(5)]
    for k, a in enumerate(frames):
        img = Image.fromarray(a)
        vh = round(vw * img.height / img.width) // 2 * 2
        c = Image.new("RGB", canvas, bg)
        d = ImageDraw.Draw(c)
        d.rectangle((0, 0, cw, 40), fill=(40, 40, 44) if dark else (225, 225, 230))
        d.text((14, 12), "Watch: footage (HD) - Player", fill=fg, font=_font(16))
        c.paste(img.resize((vw, vh)), (x0, y0))
        by = y0 + vh + 10
        d.rectangle((x0, by, x0 + vw, by + 5), fill=(90, 90, 90))
        d.rectangle((x0, by, x0 + round(vw * (k + 1) / n), by + 5), fill=accent)
        d.text((x0, by + 12), f"0:{k // 25:02d} / 0:{n // 25:02d}   ▶  ❚❚   ⟳", fill=fg,
               font=_font(14))
        sx = x0 + vw + 16
        for j, grey in enumerate(side):
            yy = y0 + j * 70
            if sx + 60 < cw:
                d.rectangle((sx, yy, sx + 100, yy + 56), fill=grey)
                d.text((sx + 108, yy + 6), f"Related video {j + 1}", fill=fg, font=_font(13))
        yield np.asarray(c)


def chat(frames: Sequence[np.ndarray], canvas: tuple[int, int] = (432, 768),
         dark: bool = False) -> Iterator[np.ndarray]:
    """A phone screen recording of a drawn messenger: header, text bubbles, the video
    playing inside a bubble, a wallpaper colour."""
    wall, bubble, text = ((14, 22, 30), (36, 52, 70), (235, 235, 235)) if dark else \
        ((214, 226, 206), (255, 255, 255), (20, 20, 20))
    cw, ch = canvas
    vw = round(cw * 0.78) // 2 * 2
    for a in frames:
        img = Image.fromarray(a)
        vh = round(vw * img.height / img.width) // 2 * 2
        c = Image.new("RGB", canvas, wall)
        d = ImageDraw.Draw(c)
        d.rectangle((0, 0, cw, 64), fill=(40, 100, 160))
        d.text((64, 22), "Channel news", fill=(255, 255, 255), font=_font(18))
        d.rounded_rectangle((12, 84, cw * 0.7, 140), 12, fill=bubble)
        d.text((24, 100), "look at this, posted today", fill=text, font=_font(14))
        top = 160
        d.rounded_rectangle((12, top, 12 + vw + 16, top + vh + 48), 14, fill=bubble)
        c.paste(img.resize((vw, vh)), (20, top + 8))
        d.text((24, top + vh + 18), "12:41  ✓✓", fill=text, font=_font(13))
        d.rectangle((0, ch - 56, cw, ch), fill=(245, 245, 245) if not dark else (30, 30, 34))
        d.text((20, ch - 38), "Message", fill=(150, 150, 150), font=_font(15))
        yield np.asarray(c)


def mirror(frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    for a in frames:
        yield np.ascontiguousarray(a[:, ::-1])


def speed(frames: Sequence[np.ndarray], factor: float) -> list[np.ndarray]:
    """Played `factor` times faster (1.1: 10% faster, shorter), frames dropped or doubled."""
    n = int(len(frames) / factor)
    return [frames[min(len(frames) - 1, round(k * factor))] for k in range(n)]


def watermark(frames: Iterable[np.ndarray], text: str = "NEWS 24") -> Iterator[np.ndarray]:
    """A channel's logo in a corner and a caption band along the bottom."""
    for a in frames:
        img = Image.fromarray(a).convert("RGBA")
        over = Image.new("RGBA", img.size, (0, 0, 0, 0))
        d = ImageDraw.Draw(over)
        w, h = img.size
        d.rectangle((w - w // 4 - 8, 8, w - 8, 8 + h // 9), fill=(200, 20, 20, 200))
        d.text((w - w // 4, 12), text, fill=(255, 255, 255, 255), font=_font(max(10, h // 16)))
        d.rectangle((0, h - h // 8, w, h), fill=(0, 0, 0, 140))
        d.text((10, h - h // 9), "BREAKING: footage from today", fill=(255, 255, 255, 255),
               font=_font(max(10, h // 20)))
        yield np.asarray(Image.alpha_composite(img, over).convert("RGB"))


def ken_burns(photo: Image.Image, seconds: float, fps: int, size: tuple[int, int],
              zoom: tuple[float, float] = (1.0, 1.25), pan: tuple[float, float] = (0.0, 0.1),
              fill: str = "crop") -> list[np.ndarray]:
    """A photo shown for `seconds` with a slow zoom (`zoom` from-to, on the covered
    frame) and a horizontal pan (`pan` from-to, share of the spare width). `fill`:
    "crop" (the photo covers the frame), "blur" (fitted on a blurred copy of itself)."""
    w, h = size
    photo = photo.convert("RGB")
    out = []
    n = max(1, round(seconds * fps))
    if fill == "blur":
        base = next(blurred_fill([np.asarray(photo)], size, radius=20))
        photo = Image.fromarray(base)
    for k in range(n):
        a = k / max(1, n - 1)
        z = zoom[0] + (zoom[1] - zoom[0]) * a
        cover = max(w / photo.width, h / photo.height) * z
        pw, ph = photo.width * cover, photo.height * cover
        px = (pw - w) * (0.5 + (pan[0] + (pan[1] - pan[0]) * a) / 2)
        py = (ph - h) / 2
        box = (px / cover, py / cover, (px + w) / cover, (py + h) / cover)
        out.append(np.asarray(photo.transform(size, Image.Transform.EXTENT, box,
                                              Image.Resampling.BILINEAR)))
    return out


def crossfade(parts: Sequence[Sequence[np.ndarray]], frames: int) -> list[np.ndarray]:
    """Parts joined by cross-fades of `frames` frames (0: cuts)."""
    out: list[np.ndarray] = []
    for p in parts:
        p = list(p)
        if out and frames:
            k = min(frames, len(p), len(out))
            for i in range(k):
                a = (i + 1) / (k + 1)
                out[len(out) - k + i] = (out[len(out) - k + i] * (1 - a) + p[i] * a).astype(
                    np.uint8)
            p = p[k:]
        out.extend(p)
    return out


def room(textures: Sequence[Image.Image], theta: float, size: tuple[int, int] = (640, 360),
         focal: float = 500.0) -> np.ndarray:
    """A frame of a small 3D scene filmed by a camera orbiting it by `theta` degrees: the
    corner of a room (two textured walls meeting at 90 degrees) and a panel standing in
    front. Different angles are different viewpoints of one scene, with real parallax:
    no single mapping takes one view onto another (a hard negative for copy detection)."""
    import cv2

    w, h = size
    k = np.array([[focal, 0, w / 2], [0, focal, h / 2], [0, 0, 1.0]])
    planes = [(0, [(-4, -2, 4), (0, -2, 8), (0, 2, 8), (-4, 2, 4)]),
              (1, [(0, -2, 8), (4, -2, 4), (4, 2, 4), (0, 2, 8)]),
              (2, [(-0.8, -0.2, 4.2), (0.8, -0.2, 4.2), (0.8, 1.4, 4.2), (-0.8, 1.4, 4.2)])]
    th = math.radians(theta)
    rot = np.array([[math.cos(th), 0, -math.sin(th)], [0, 1, 0], [math.sin(th), 0, math.cos(th)]])
    centre = np.array([0, 0, 6.0])
    pos = centre + rot.T @ (np.array([0, 0, -1.0]) - centre)
    img = np.full((h, w, 3), 40, np.uint8)
    far_first = sorted(planes, key=lambda p: -float(np.mean(
        [np.linalg.norm(np.array(c) - pos) for c in p[1]])))
    for t, corners in far_first:
        cam = [rot @ (np.array(c, float) - pos) for c in corners]
        if min(c[2] for c in cam) <= 0.1:
            continue
        pts = np.float32([(k @ (c / c[2]))[:2] for c in cam])
        tex = np.asarray(textures[t].convert("RGB").resize((512, 512)))
        src = np.float32([[0, 0], [511, 0], [511, 511], [0, 511]])
        m = cv2.getPerspectiveTransform(src, pts)
        warped = cv2.warpPerspective(tex, m, (w, h))
        mask = cv2.warpPerspective(np.full((512, 512), 255, np.uint8), m, (w, h)) > 0
        img[mask] = warped[mask]
    return img
