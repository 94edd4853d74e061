"""Edited copies of real photos, made on the fly (pytest plugin for the hashing tests).

The same variant makers feed `scripts/bench_hash.py`, which measures the distances for
every corpus photo and prints the robustness table of the README.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageEnhance, ImageOps


@dataclass(frozen=True)
class Variant:
    """One edit a re-poster might make; `transform` is what compare must report."""

    name: str
    family: str
    make: Callable[[Image.Image], Image.Image]
    transform: str = "none"
    quality: int = 90  # JPEG quality of the saved copy
    near: bool = True  # expected near-duplicate (False: measured only; plain PDQ fails)


def _scale(img: Image.Image, f: float) -> Image.Image:
    return img.resize((max(1, round(img.width * f)), max(1, round(img.height * f))),
                      Image.Resampling.LANCZOS)


def _caption(img: Image.Image) -> Image.Image:
    """A black caption bar with white text across the bottom 10% of the picture."""
    out = img.copy()
    bar = max(1, img.height // 10)
    d = ImageDraw.Draw(out)
    d.rectangle((0, img.height - bar, img.width, img.height), fill=(0, 0, 0))
    d.text((img.width // 20, img.height - bar * 0.8), "BREAKING: strike on the post",
           fill=(255, 255, 255), font_size=max(10, bar // 2))
    return out


def _watermark(img: Image.Image) -> Image.Image:
    """A semi-opaque channel logo covering 10% of the area, top-right corner."""
    out = img.convert("RGBA")
    w, h = round(img.width * 0.3162), round(img.height * 0.3162)  # 0.3162^2 = 10%
    layer = Image.new("RGBA", out.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    d.rectangle((img.width - w, 0, img.width, h), fill=(200, 20, 20, 170))
    d.text((img.width - w + w // 8, h // 3), "NEWS 24", fill=(255, 255, 255, 230),
           font_size=max(10, h // 4))
    return Image.alpha_composite(out, layer).convert("RGB")


def _telegram(img: Image.Image) -> Image.Image:
    """Max side 1280 (JPEG q=80, EXIF stripped when saved): what a messenger re-post is."""
    out = img.copy()
    out.thumbnail((1280, 1280), Image.Resampling.LANCZOS)
    return out


def _crop_center(frac: float) -> Callable[[Image.Image], Image.Image]:
    def make(img: Image.Image) -> Image.Image:
        dx, dy = round(img.width * frac / 2), round(img.height * frac / 2)
        return img.crop((dx, dy, img.width - dx, img.height - dy))
    return make


def _crop_side(frac: float) -> Callable[[Image.Image], Image.Image]:
    def make(img: Image.Image) -> Image.Image:
        return img.crop((round(img.width * frac), 0, img.width, img.height))
    return make


def _pad(frac: float) -> Callable[[Image.Image], Image.Image]:
    def make(img: Image.Image) -> Image.Image:
        return ImageOps.expand(img, border=round(max(img.size) * frac), fill=(0, 0, 0))
    return make


def _letterbox(img: Image.Image) -> Image.Image:
    """Fit into a 16:9 (landscape) or 9:16 canvas with black bars, as video re-posts do."""
    ratio = 16 / 9 if img.width >= img.height else 9 / 16
    cw = max(img.width, round(img.height * ratio))
    ch = max(img.height, round(cw / ratio))
    canvas = Image.new("RGB", (cw, ch))
    canvas.paste(img, ((cw - img.width) // 2, (ch - img.height) // 2))
    return canvas


VARIANTS: list[Variant] = [
    Variant("jpeg_q40", "re-compression", lambda im: im, quality=40),
    Variant("downscale_40", "downscale to 40%", lambda im: _scale(im, 0.4)),
    Variant("mirror", "mirror", lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
            "mirror"),
    Variant("rot90", "rotate 90°", lambda im: im.transpose(Image.Transpose.ROTATE_90), "rot90"),
    Variant("rot270", "rotate 90°", lambda im: im.transpose(Image.Transpose.ROTATE_270),
            "rot270"),
    Variant("caption_bar", "caption bar / watermark (10%)", _caption),
    Variant("watermark", "caption bar / watermark (10%)", _watermark),
    Variant("brightness_130", "brightness +30%",
            lambda im: ImageEnhance.Brightness(im).enhance(1.3)),
    Variant("telegram", "Telegram-like (1280 px, q80, no EXIF)", _telegram, quality=80),
    Variant("crop_center_5", "crop 5%", _crop_center(0.05), near=False),
    Variant("crop_side_5", "crop 5%", _crop_side(0.05), near=False),
    Variant("crop_center_10", "crop 10%", _crop_center(0.10), near=False),
    Variant("crop_side_10", "crop 10%", _crop_side(0.10), near=False),
    Variant("crop_center_25", "crop 25%", _crop_center(0.25), near=False),
    Variant("crop_side_25", "crop 25%", _crop_side(0.25), near=False),
    Variant("pad_10", "padding (black border 10%)", _pad(0.10), near=False),
    Variant("letterbox", "letterbox to 16:9", _letterbox, near=False),
]


def make_variant(photo: Path, variant: Variant, out_dir: Path) -> Path:
    """Write `variant` of `photo` as JPEG (upright pixels, no EXIF) and return its path."""
    with Image.open(photo) as im:
        img = ImageOps.exif_transpose(im).convert("RGB")
    out = out_dir / f"{photo.stem}.{variant.name}.jpg"
    variant.make(img).save(out, "JPEG", quality=variant.quality)
    return out


def _flat(photo: Path) -> bool:
    from osintkit.match.hashing import PDQ_MIN_QUALITY, hash_image, load_image

    return int(hash_image(load_image(photo), ("pdq",))["pdq_quality"]) < PDQ_MIN_QUALITY


def _not_a_repeat(photo: Path) -> bool:
    return "orientation" not in photo.parts or photo.stem.endswith("_1")


def distinct_photos(photos: list[Path]) -> list[Path]:
    """The corpus photos minus repeats (the orientation set is two pictures x 8 tags)
    and flat pictures (PDQ quality < 50)."""
    return [p for p in photos if _not_a_repeat(p) and not _flat(p)]


# Five real photos of tests/data: large and small, four makes, one EXIF-oriented series.
ROBUST = ("jpg/Canon_PowerShot_S40.jpg", "jpg/exif-org/nikon-e950.jpg", "jpg/gps/DSCN0010.jpg",
          "jpg/Reconyx_HC500_Hyperfire.jpg", "jpg/orientation/landscape_1.jpg")


@pytest.fixture(scope="session")
def robust_photos(corpus_dir: Path) -> list[Path]:
    """Five real photos spread over the samples (large and small, many makes)."""
    picked = [corpus_dir / rel for rel in ROBUST]
    assert all(p.is_file() and not _flat(p) for p in picked)
    return picked


@pytest.fixture(scope="session")
def variant_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the edited copies are written."""
    return tmp_path_factory.mktemp("variants")
