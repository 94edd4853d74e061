"""The edits a re-poster makes to a picture, written once: the robust-matching tests
(tests/fixtures_matching.py) apply them with fixed parameters, the benchmark
(scripts/matching_families.py) with parameters drawn at random. Each returns the edited
picture (and, where the picture moved inside a canvas, where it is: x, y, w, h)."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont, ImageOps


def jpeg(img: Image.Image, quality: int = 90) -> Image.Image:
    """`img` after a JPEG round trip."""
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def pad(img: Image.Image, share: float = 0.4, colour: tuple[int, int, int] = (255, 255, 255),
        where: tuple[float, float] = (0.3, 0.6)) -> tuple[Image.Image, tuple[int, ...]]:
    """`img` on a larger flat canvas; returns (canvas, where the picture is)."""
    w, h = img.size
    cw, ch = round(w * (1 + share)), round(h * (1 + share))
    x, y = round((cw - w) * where[0]), round((ch - h) * where[1])
    canvas = Image.new("RGB", (cw, ch), colour)
    canvas.paste(img, (x, y))
    return canvas, (x, y, w, h)


def letterbox(img: Image.Image) -> tuple[Image.Image, tuple[int, ...]]:
    """Into a black 1280x720 frame (pillarbox for 4:3 photos)."""
    pic = ImageOps.contain(img, (1280, 720), Image.Resampling.LANCZOS)
    frame = Image.new("RGB", (1280, 720))
    x, y = (1280 - pic.width) // 2, (720 - pic.height) // 2
    frame.paste(pic, (x, y))
    return jpeg(frame, 85), (x, y, pic.width, pic.height)


def screenshot(img: Image.Image, dark: bool = False) -> tuple[Image.Image, tuple[int, ...]]:
    """A phone screenshot of a post: header bar, avatar, text, the photo, reaction bar."""
    bg, fg = ((18, 18, 22), (230, 230, 230)) if dark else ((255, 255, 255), (20, 20, 20))
    pic = img.resize((680, round(680 * img.height / img.width)), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (720, pic.height + 340), bg)
    d = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=20)
    d.rectangle((0, 0, 720, 56), fill=(40, 110, 200))
    d.text((70, 14), "Channel news", fill=(255, 255, 255), font=font)
    d.ellipse((20, 76, 76, 132), fill=(200, 80, 60))
    for i in range(3):
        d.text((20, 150 + 30 * i), "Footage of today's strike shared by locals", fill=fg,
               font=font)
    canvas.paste(pic, (20, 250))
    for i in range(4):
        d.rounded_rectangle((20 + 130 * i, pic.height + 270, 130 + 130 * i, pic.height + 306),
                            12, outline=fg)
    return jpeg(canvas, 88), (20, 250, pic.width, pic.height)


def logo_caption(img: Image.Image, corner: str = "tr") -> Image.Image:
    """A red channel logo in a corner ("tl", "tr", "bl", "br") and a caption band over
    the bottom."""
    out = img.copy()
    w, h = out.size
    d = ImageDraw.Draw(out, "RGBA")
    s = max(24, w // 8)
    x = 8 if corner[1] == "l" else w - s - 8
    y = 8 if corner[0] == "t" else h - s - 8
    d.rounded_rectangle((x, y, x + s, y + s), s // 5, fill=(220, 20, 40, 255))
    d.text((x + s // 6, y + s // 3), "TV", fill=(255, 255, 255),
           font=ImageFont.load_default(size=s // 3))
    band = max(20, h // 9)
    d.rectangle((0, h - band, w, h), fill=(0, 0, 0, 170))
    d.text((10, h - band + band // 5), "BREAKING: footage from today", fill=(255, 255, 255),
           font=ImageFont.load_default(size=band // 2))
    return jpeg(out, 85)


def crop(img: Image.Image, left: float, top: float, right: float, bottom: float) -> Image.Image:
    """Cut these shares of the width/height off each side."""
    w, h = img.size
    return img.crop((round(w * left), round(h * top), round(w * (1 - right)),
                     round(h * (1 - bottom))))
