"""The material of scripts/bench_matching.py: real photos, the edits a re-poster makes
(families), hard negatives (other shots of one scene, near-uniform pictures).

Every family is a function (photo, rnd) -> query picture; parameters are drawn from
`rnd` (which sides a crop takes, where a pad puts the photo, which app layout...).
"""

from __future__ import annotations

import io
import itertools
import json
import random
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
sys.path.insert(0, str(ROOT / "tests"))

import layouts  # noqa: E402  (tests/layouts.py: drawn app layouts)
import picture_edits as edit  # noqa: E402  (tests/picture_edits.py: the edits, written once)

Variant = Callable[[Image.Image, random.Random], Image.Image]


def opened(path: Path) -> Image.Image:
    """A photo as a viewer shows it: EXIF orientation applied, RGB, at most 1600 px."""
    with Image.open(path) as im:
        img = ImageOps.exif_transpose(im).convert("RGB")
    img.thumbnail((1600, 1600), Image.Resampling.LANCZOS)
    return img


jpeg = edit.jpeg


# ---------------------------------------------------------------- photos
def corpus_photos() -> list[Path]:
    """The real camera JPEGs of ../shared/corpus (>= 400 px wide, decodable)."""
    truth = json.loads((CORPUS / "exif-samples-truth.json").read_text())
    out = []
    for rel, rec in sorted(truth["files"].items()):
        if rec.get("file_type") == "JPEG" and (rec.get("width") or 0) >= 400:
            out.append(CORPUS / "exif-samples" / rel)
    return out


def skimage_photos() -> list[Path]:
    """scikit-image's bundled photographs (public domain / CC0)."""
    try:
        import skimage.data as data
    except ImportError:
        return []
    folder = Path(data.__file__).parent
    names = ("astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "camera.png",
             "horse.png", "coins.png", "hubble_deep_field.jpg", "retina.jpg", "moon.png",
             "page.png", "motorcycle_left.png")
    return [folder / n for n in names if (folder / n).is_file()]


def distinct(paths: list[Path], log: Callable[[str], None]) -> list[Path]:
    """Decodable photos of distinct scenes: repeats dropped by PDQ (<= 70) and by a fit
    on local features among each photo's best word-index candidates (same scene)."""
    from osintkit.archive.bow import WordIndex
    from osintkit.archive.local import extract
    from osintkit.archive.robust import QueryPicture, confirm
    from osintkit.match.hashing import PDQ_MIN_QUALITY, hamming, hash_image, pdq_variants
    from osintkit.match.localfeat import vocabulary

    kept: list[tuple[Path, dict[str, str], object, np.ndarray]] = []
    for path in paths:
        try:
            img = opened(path)
        except Exception:
            continue
        small = ImageOps.contain(img, (640, 640))
        if min(img.size) < 200 or int(hash_image(small, ("pdq",))["pdq_quality"]) < PDQ_MIN_QUALITY:
            continue
        v = pdq_variants(small)
        if any(min(hamming(h, o["none"]) for h in v.values()) <= 70 for _, o, _, _ in kept):
            continue
        loc = extract(small)
        if loc.status != "ok":
            continue
        words = np.frombuffer(loc.words, "<u2")
        if kept:
            index = WordIndex.build(list(range(len(kept))), [k[3] for k in kept],
                                    len(vocabulary()))
            qp = QueryPicture.of(small)
            if any(confirm(qp, kept[c.item_id][2].picture)[0].confirmed
                   for c in index.query(qp.words, 3)):
                log(f"same scene dropped: {path.name}")
                continue
        kept.append((path, v, loc, words))
    return [k[0] for k in kept]


# ---------------------------------------------------------------- edits
def _sides(rnd: random.Random, total: float) -> tuple[float, float, float, float]:
    """Split `total` of each axis between its two sides at random (one side may get all)."""
    a, b = rnd.random(), rnd.random()
    return total * a, total * b, total * (1 - a), total * (1 - b)


def crop(p: float) -> Variant:
    """Remove p of the width and of the height, split at random between the sides."""
    def f(img: Image.Image, rnd: random.Random) -> Image.Image:
        return edit.crop(img, *_sides(rnd, p))
    return f


def crop_side(p: float) -> Variant:
    """Cut p off one side only (a logo or a caption strip cut away)."""
    def f(img: Image.Image, rnd: random.Random) -> Image.Image:
        w, h = img.size
        side = rnd.choice("ltrb")
        box = {"l": (round(w * p), 0, w, h), "r": (0, 0, round(w * (1 - p)), h),
               "t": (0, round(h * p), w, h), "b": (0, 0, w, round(h * (1 - p)))}[side]
        return img.crop(box)
    return f


def pad(p: float) -> Variant:
    """On a flat canvas p larger, the photo anywhere on it."""
    def f(img: Image.Image, rnd: random.Random) -> Image.Image:
        w, h = img.size
        cw, ch = round(w * (1 + p)), round(h * (1 + p))
        colour = rnd.choice([(0, 0, 0), (255, 255, 255), (30, 30, 30), (240, 240, 235),
                             (20, 40, 90)])
        x, y = rnd.randint(0, cw - w), rnd.randint(0, ch - h)
        return edit.pad(img, p, colour, (x / max(1, cw - w), y / max(1, ch - h)))[0]
    return f


def border(img: Image.Image, rnd: random.Random) -> Image.Image:
    """A frame of uneven width, with a caption in the wider bottom band."""
    w = img.width
    t = [round(w * rnd.uniform(0.02, 0.08)) for _ in range(3)]
    colour = rnd.choice([(255, 255, 255), (0, 0, 0), (200, 30, 30), (245, 240, 225)])
    out = ImageOps.expand(img, border=(t[0], t[1], t[2], round(w * 0.12)), fill=colour)
    ink = (0, 0, 0) if sum(colour) > 380 else (255, 255, 255)
    ImageDraw.Draw(out).text((t[0], img.height + t[1] + 8), "Shared from @channel — today",
                             fill=ink, font=ImageFont.load_default(size=max(12, w // 30)))
    return out


def letterbox(img: Image.Image, rnd: random.Random) -> Image.Image:
    return edit.letterbox(img)[0]


def screenshot(img: Image.Image, rnd: random.Random) -> Image.Image:
    return layouts.random_screenshot(img, rnd)[0]


def logo_caption(img: Image.Image, rnd: random.Random) -> Image.Image:
    return edit.logo_caption(img, rnd.choice(["tl", "tr", "bl", "br"]))


def text_overlay(img: Image.Image, rnd: random.Random) -> Image.Image:
    """Big words across the middle (a watermark, a slogan), semi-transparent."""
    out = img.copy()
    w, h = out.size
    d = ImageDraw.Draw(out, "RGBA")
    size = max(16, w // 12)
    y = rnd.randint(h // 4, h // 2)
    d.text((w // 10, y), rnd.choice(["EXCLUSIVE", "WAR MEDIA", "© NEWS AGENCY"]),
           fill=(255, 255, 255, 150), font=ImageFont.load_default(size=size),
           stroke_width=2, stroke_fill=(0, 0, 0, 150))
    return jpeg(out, 85)


def rotate(deg: float) -> Variant:
    def f(img: Image.Image, rnd: random.Random) -> Image.Image:
        return img.rotate(deg * rnd.choice([-1, 1]), Image.Resampling.BICUBIC)
    return f


def telegram(img: Image.Image, rnd: random.Random) -> Image.Image:
    out = ImageOps.contain(img, (1280, 1280), Image.Resampling.LANCZOS) \
        if max(img.size) > 1280 else img
    buf = io.BytesIO()
    out.save(buf, "JPEG", quality=80, subsampling=2)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def combo_crop_border_text(img: Image.Image, rnd: random.Random) -> Image.Image:
    return border(text_overlay(crop(0.2)(img, rnd), rnd), rnd)


def combo_mirror_crop_caption(img: Image.Image, rnd: random.Random) -> Image.Image:
    return logo_caption(ImageOps.mirror(crop(0.15)(img, rnd)), rnd)


def combo_screenshot_of_crop(img: Image.Image, rnd: random.Random) -> Image.Image:
    return screenshot(rotate(3)(crop(0.2)(img, rnd), rnd), rnd)


FAMILIES: dict[str, Variant] = {
    "jpeg q50": lambda im, r: jpeg(im, 50),
    "downscale to 40%": lambda im, r: im.resize((max(1, im.width * 2 // 5),
                                                 max(1, im.height * 2 // 5)),
                                                Image.Resampling.LANCZOS),
    "crop 10% (any sides)": crop(0.10),
    "crop 20% (any sides)": crop(0.20),
    "crop 30% (any sides)": crop(0.30),
    "crop 30% (one side)": crop_side(0.30),
    "pad 20%": pad(0.20),
    "pad 40%": pad(0.40),
    "border + caption": border,
    "letterbox 16:9": letterbox,
    "screenshot (chat/feed/gallery/browser, light/dark)": screenshot,
    "logo + caption": logo_caption,
    "text overlay": text_overlay,
    "mirror": lambda im, r: ImageOps.mirror(im),
    "rotate 90": lambda im, r: im.transpose(Image.Transpose.ROTATE_90),
    "rotate ±5°": rotate(5),
    "rotate ±8°": rotate(8),
    "brightness/contrast": lambda im, r: ImageEnhance.Contrast(
        ImageEnhance.Brightness(im).enhance(1.25)).enhance(0.8),
    "grayscale": lambda im, r: ImageOps.grayscale(im).convert("RGB"),
    "telegram re-encode": telegram,
    "crop 20% + text + border": combo_crop_border_text,
    "mirror + crop 15% + caption": combo_mirror_crop_caption,
    "screenshot of a rotated 20% crop": combo_screenshot_of_crop,
}


# ---------------------------------------------------------------- hard negatives
def near_uniform(rnd: random.Random, kind: str, size: tuple[int, int] = (1024, 768)) -> Image.Image:
    """Pictures with little detail, as analysts meet them: a night sky, fog, snow, a blank
    wall, a dark room. Drawn with noise so that each is its own picture."""
    w, h = size
    rng = np.random.default_rng(rnd.randrange(1 << 30))
    yy = np.linspace(0, 1, h)[:, None]
    if kind == "night sky":
        a = np.full((h, w), 6.0) + 10 * yy
        stars = rng.random((h, w)) > 0.9992
        a[stars] = rng.uniform(120, 255, stars.sum())
        a = np.asarray(Image.fromarray(a.astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.7)),
                       dtype=np.float64) + rng.normal(0, 2, (h, w))
        rgb = np.stack([a, a, a * 1.1], axis=2)
    elif kind == "fog":
        a = 170 + 40 * yy + rng.normal(0, 3, (h, w))
        x0 = rnd.randint(0, w - 60)
        a[h // 2:, x0:x0 + 40] -= 25  # a faint post in the fog
        rgb = np.stack([a, a, a + 4], axis=2)
    elif kind == "snow":
        a = 235 - 15 * yy + rng.normal(0, 4, (h, w))
        a[int(h * rnd.uniform(0.3, 0.5)):, :] += 8
        rgb = np.stack([a, a + 2, a + 6], axis=2)
    elif kind == "blank wall":
        base = np.array([rnd.uniform(120, 220) for _ in range(3)])
        a = rng.normal(0, 3, (h, w))[..., None] + 10 * yy[..., None]
        rgb = base[None, None, :] + a
    else:  # dark room
        a = 12 + 30 * np.exp(-((np.linspace(-1, 1, w)[None, :] - rnd.uniform(-.5, .5)) ** 2
                                + (yy - 0.5) ** 2) * 6) + rng.normal(0, 2, (h, w))
        rgb = np.stack([a * 1.1, a, a * 0.9], axis=2)
    return jpeg(Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)), 88)


UNIFORM_KINDS = ("night sky", "fog", "snow", "blank wall", "dark room")


def scene_pairs(extra: list[Path]) -> list[tuple[str, Path, Path]]:
    """(kind, archived, query) pairs of DIFFERENT photos of one scene: the stereo pair
    scikit-image ships (Middlebury 2014 motorcycle), the corpus's in-camera HDR pairs
    (one capture, tone-mapped twice: reported apart), and folders given with --scenes
    (files sorted; consecutive files are taken as pairs; the folder's name is the kind)."""
    out = []
    skim = [p for p in skimage_photos() if p.name == "motorcycle_left.png"]
    if skim:
        out.append(("stereo", skim[0], skim[0].with_name("motorcycle_right.png")))
    hdr = CORPUS / "exif-samples" / "jpg" / "hdr"
    for cam in ("canon", "iphone"):
        if (hdr / f"{cam}_hdr_NO.jpg").is_file():
            out.append(("HDR on/off (one capture)", hdr / f"{cam}_hdr_NO.jpg",
                        hdr / f"{cam}_hdr_YES.jpg"))
    for folder in extra:
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".png",
                                                                           ".jpeg"))
        out += [(folder.name, a, b) for a, b in itertools.pairwise(files)]
    return out
