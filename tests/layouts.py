"""Screenshots of a photo inside drawn app layouts (chat, feed, gallery, browser; light
and dark), the photo at 40-100% of the screen width and, in the feed, gallery and
browser, touching one or two edges of the window. Used by the tests and by
scripts/bench_matching.py; nothing here is copied from a real app.

Each function returns (screenshot, box of the photo in it as x, y, w, h).
"""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw, ImageFont

Box = tuple[int, int, int, int]
THEMES = {
    "light": {"bg": (255, 255, 255), "fg": (20, 20, 24), "bar": (246, 246, 248),
              "accent": (36, 120, 220), "bubble": (220, 248, 198), "bubble2": (255, 255, 255),
              "wall": (229, 221, 213), "muted": (120, 124, 130)},
    "dark": {"bg": (16, 16, 20), "fg": (232, 232, 236), "bar": (32, 33, 38),
             "accent": (90, 160, 250), "bubble": (0, 92, 75), "bubble2": (32, 44, 51),
             "wall": (11, 20, 26), "muted": (140, 146, 152)},
}


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def _jpeg(img: Image.Image, quality: int = 88) -> Image.Image:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def _fit(photo: Image.Image, width: int) -> Image.Image:
    return photo.resize((width, max(1, round(width * photo.height / photo.width))),
                        Image.Resampling.LANCZOS)


def _lines(d: ImageDraw.ImageDraw, x: int, y: int, n: int, colour: tuple, rnd: random.Random,
           width: int, size: int = 22) -> int:
    words = ("Footage", "of", "today's", "strike", "shared", "by", "locals", "near", "the",
             "border", "post", "video", "more", "soon", "channel", "update")
    for _ in range(n):
        text = " ".join(rnd.choice(words) for _ in range(rnd.randint(4, 9)))
        d.text((x, y), text[: max(8, width // (size // 2))], fill=colour, font=_font(size))
        y += round(size * 1.4)
    return y


def chat(photo: Image.Image, rnd: random.Random, theme: str = "light",
         scale: float = 0.7) -> tuple[Image.Image, Box]:
    """A messenger conversation: wallpaper, header, a text bubble, the photo in an
    outgoing bubble with a timestamp on it, a caption, an input bar. At scale >= 0.95
    the photo is shown edge to edge (as channels' media): it touches both sides."""
    t = THEMES[theme]
    w = 1080
    full = scale >= 0.95
    margin, pad = (0, 0) if full else (30, 12)
    pic = _fit(photo, w if full else round(w * scale) - 24)
    h = max(1920, pic.height + 900)
    c = Image.new("RGB", (w, h), t["wall"])
    d = ImageDraw.Draw(c)
    d.rectangle((0, 0, w, 150), fill=t["bar"])
    d.ellipse((30, 35, 110, 115), fill=(200, 90, 60))
    d.text((135, 45), "Field reports", fill=t["fg"], font=_font(34))
    d.text((135, 90), "last seen recently", fill=t["muted"], font=_font(24))
    d.rounded_rectangle((30, 200, 30 + 700, 380), 24, fill=t["bubble2"])
    _lines(d, 55, 220, 3, t["fg"], rnd, 660, 26)
    bx0 = w - margin - pic.width - 2 * pad
    by0 = 430
    d.rounded_rectangle((bx0, by0, w - margin, by0 + pic.height + 2 * pad + 60),
                        0 if full else 28, fill=t["bubble"])
    c.paste(pic, (bx0 + pad, by0 + pad))
    d = ImageDraw.Draw(c, "RGBA")
    tx, ty = bx0 + pad + pic.width - 130, by0 + pad + pic.height - 48
    d.rounded_rectangle((tx, ty, tx + 115, ty + 36), 16, fill=(0, 0, 0, 110))
    d.text((tx + 14, ty + 5), "14:32 ✓✓", fill=(255, 255, 255), font=_font(22))
    _lines(d, bx0 + 20, by0 + pic.height + 2 * pad + 8, 1, t["fg"], rnd, pic.width, 24)
    d.rectangle((0, h - 140, w, h), fill=t["bar"])
    d.rounded_rectangle((30, h - 110, w - 140, h - 30), 40, fill=t["bg"])
    d.ellipse((w - 115, h - 115, w - 25, h - 25), fill=t["accent"])
    return _jpeg(c), (bx0 + pad, by0 + pad, pic.width, pic.height)


def feed(photo: Image.Image, rnd: random.Random, theme: str = "light",
         scale: float = 1.0) -> tuple[Image.Image, Box]:
    """A channel/feed post: header, avatar, text, the photo (full width at scale 1:
    touching both sides of the screen), reactions."""
    t = THEMES[theme]
    w = 1080
    pic = _fit(photo, round(w * scale))
    h = pic.height + 760
    c = Image.new("RGB", (w, h), t["bg"])
    d = ImageDraw.Draw(c)
    d.rectangle((0, 0, w, 130), fill=t["bar"])
    d.text((40, 45), "← News channel", fill=t["fg"], font=_font(36))
    d.ellipse((30, 160, 120, 250), fill=(60, 130, 200))
    d.text((140, 170), "@breaking_updates", fill=t["fg"], font=_font(30))
    d.text((140, 212), "2 h", fill=t["muted"], font=_font(24))
    y = _lines(d, 30, 280, 3, t["fg"], rnd, w - 60, 28) + 20
    x = (w - pic.width) // 2
    c.paste(pic, (x, y))
    yy = y + pic.height + 30
    for i in range(4):
        d.rounded_rectangle((30 + 200 * i, yy, 200 + 200 * i, yy + 60), 30, outline=t["muted"],
                            width=2)
        d.text((70 + 200 * i, yy + 14), str(rnd.randint(3, 999)), fill=t["fg"], font=_font(26))
    d.rectangle((0, h - 120, w, h), fill=t["bar"])
    return _jpeg(c), (x, y, pic.width, pic.height)


def gallery(photo: Image.Image, rnd: random.Random, theme: str = "dark",
            scale: float = 1.0) -> tuple[Image.Image, Box]:
    """A photo viewer: the photo fitted to the screen width (touching both sides),
    toolbars above and below on a plain background."""
    t = THEMES[theme]
    w = 1080
    pic = _fit(photo, round(w * scale))
    h = max(2000, pic.height + 500)
    bg = (0, 0, 0) if theme == "dark" else (250, 250, 250)
    c = Image.new("RGB", (w, h), bg)
    d = ImageDraw.Draw(c)
    d.rectangle((0, 0, w, 160), fill=t["bar"])
    d.text((40, 60), "←   IMG_20240418_1432.jpg", fill=t["fg"], font=_font(32))
    y = (h - pic.height) // 2
    x = (w - pic.width) // 2
    c.paste(pic, (x, y))
    d.rectangle((0, h - 180, w, h), fill=t["bar"])
    for i in range(5):
        d.rounded_rectangle((90 + 200 * i, h - 130, 150 + 200 * i, h - 70), 10,
                            outline=t["fg"], width=3)
    return _jpeg(c), (x, y, pic.width, pic.height)


def browser(photo: Image.Image, rnd: random.Random, theme: str = "light",
            scale: float = 0.6) -> tuple[Image.Image, Box]:
    """A desktop browser window: tabs, address bar, an article whose photo touches the
    window's left edge, a text column on the right."""
    t = THEMES[theme]
    w = 1600
    pic = _fit(photo, round(w * scale))
    h = max(1000, pic.height + 420)
    c = Image.new("RGB", (w, h), t["bg"])
    d = ImageDraw.Draw(c)
    d.rectangle((0, 0, w, 44), fill=(222, 225, 230) if theme == "light" else (40, 41, 46))
    d.rounded_rectangle((12, 6, 300, 44), 8, fill=t["bar"])
    d.text((28, 14), "Breaking: strike near…", fill=t["fg"], font=_font(18))
    d.rectangle((0, 44, w, 96), fill=t["bar"])
    d.rounded_rectangle((120, 54, w - 200, 88), 17, fill=t["bg"])
    d.text((140, 60), "https://news.example/2024/04/18/strike", fill=t["muted"], font=_font(20))
    d.text((40, 120), "Rockets fired at a military post", fill=t["fg"], font=_font(40))
    _lines(d, 40, 180, 2, t["muted"], rnd, w - 80, 22)
    y = 260
    c.paste(pic, (0, y))
    _lines(d, pic.width + 40, y, max(3, pic.height // 34), t["fg"], rnd,
           w - pic.width - 80, 22)
    _lines(d, 40, y + pic.height + 30, 3, t["fg"], rnd, w - 80, 22)
    return _jpeg(c, 90), (0, y, pic.width, pic.height)


LAYOUTS = {"chat": chat, "feed": feed, "gallery": gallery, "browser": browser}
SCALES = {"chat": (0.4, 1.0), "feed": (0.6, 1.0), "gallery": (0.9, 1.0), "browser": (0.4, 0.7)}


def random_screenshot(photo: Image.Image, rnd: random.Random,
                      layout: str | None = None, theme: str | None = None
                      ) -> tuple[Image.Image, Box, str]:
    """A screenshot in a random layout, theme and scale: (picture, photo box, label)."""
    layout = layout or rnd.choice(list(LAYOUTS))
    theme = theme or rnd.choice(["light", "dark"])
    lo, hi = SCALES[layout]
    scale = round(rnd.uniform(lo, hi), 2)
    img, box = LAYOUTS[layout](photo, rnd, theme, scale)
    return img, box, f"{layout}/{theme}/{scale}"
