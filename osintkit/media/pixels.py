"""Decoding large pictures without exploding: reduced decoding and pixel caps.

A 280 KB PNG can claim 88 megapixels; a medium-format camera writes 100-megapixel
JPEGs. Each step that works on pixels (hashing, forensics, views) works on at most
`MAX_WORK_PIXELS`:

- JPEG is decoded reduced by libjpeg's DCT scaling (1/2, 1/4, 1/8: Pillow's `draft`),
  so a 100 MP JPEG never exists at full size in memory;
- other formats (PNG, TIFF, WebP...) have no reduced decoding in Pillow: the picture is
  decoded once in its own compact mode (1 byte per pixel for 1-bit and grey, 4 for
  colour) and box-reduced in horizontal strips, each strip converted on its own, so no
  conversion ever holds more than `STRIP_PIXELS` converted pixels.

`reduce_image` also works for every mode Pillow's `Image.reduce` refuses ("1", "P",
"I;16"...): 1-bit and 16-bit PNGs larger than the hashing size failed with "image has
wrong mode" before.
"""

from __future__ import annotations

from PIL import Image

MAX_WORK_PIXELS = 16_000_000  # what one step may hold: a 16 MP photo works at full size
# Largest picture decoded at all (Pillow's own default, 89 MP, refused 100 MP medium-format
# photos). Pillow warns above it and refuses above twice it; every decoder of ours turns
# the warning into a `too_large` error, so this is the limit.
MAX_IMAGE_PIXELS = 160_000_000
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
STRIP_PIXELS = 2_000_000  # pixels converted at once while reducing


def work_mode(img: Image.Image) -> str:
    """The mode `img` is reduced in: one Image.reduce accepts, close to the original."""
    mode = img.mode
    if mode in ("L", "LA", "RGB", "RGBA", "I", "F", "CMYK", "YCbCr"):
        return mode
    if mode == "1":
        return "L"
    if mode.startswith("I;16"):
        return "I"
    if mode in ("P", "PA"):
        return "RGBA" if mode == "PA" or "transparency" in img.info else "RGB"
    return "RGBA" if "A" in img.getbands() else "RGB"


def small_rgb(img: Image.Image, longest: int) -> Image.Image:
    """`img` as RGB, box-resized so that its longer side is at most `longest` (never
    enlarged): the small copy a picture's layout is analysed on (match/views.py, regions.py)."""
    scale = min(1.0, longest / max(img.size))
    small = img.convert("RGB")
    if scale < 1.0:
        small = small.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                             Image.Resampling.BOX)
    return small


def factor_for(size: tuple[int, int], max_pixels: int = MAX_WORK_PIXELS) -> int:
    """Smallest whole factor that brings width x height under `max_pixels`."""
    w, h = size
    factor = 1
    while (w // factor) * (h // factor) > max_pixels:
        factor += 1
    return factor


def reduce_image(img: Image.Image, factor: int) -> Image.Image:
    """`img` box-reduced by `factor` (1 = converted only), in its work mode, strip by strip.

    The result equals `img.convert(work_mode(img)).reduce(factor)`: strips are cut on
    multiples of `factor`, so no box straddles two strips.
    """
    mode = work_mode(img)
    if factor <= 1:
        return img if img.mode == mode else img.convert(mode)
    w, h = img.size
    rows = max(factor, (STRIP_PIXELS // max(w, 1)) // factor * factor)
    if rows >= h and img.mode == mode:
        return img.reduce(factor)
    out = Image.new(mode, (-(-w // factor), -(-h // factor)))
    for top in range(0, h, rows):
        strip = img.crop((0, top, w, min(h, top + rows)))
        if strip.mode != mode:
            strip = strip.convert(mode)
        out.paste(strip.reduce(factor), (0, top // factor))
    return out


def to_8bit(img: Image.Image) -> Image.Image:
    """32-bit integer or float grey ("I", "F") as 8-bit "L": 16-bit data scaled by 1/256
    (a plain convert would clip everything above 255 to white)."""
    if img.mode not in ("I", "F"):
        return img
    low, high = img.getextrema()
    if high > 255 or low < 0:
        span = 65535.0 if low >= 0 and high <= 65535 else float(high - low) or 1.0
        base = 0.0 if span == 65535.0 else float(low)
        img = img.point(lambda v: (v - base) * (255.0 / span))
    return img.convert("L")


def apply_orientation(img: Image.Image, orientation: int | None) -> Image.Image:
    """`img` turned upright for an EXIF orientation (1-8), as ImageOps.exif_transpose."""
    method = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
              4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
              6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
              8: Image.Transpose.ROTATE_90}.get(orientation or 1)
    return img.transpose(method) if method is not None else img


def orientation_of(img: Image.Image) -> int | None:
    """The EXIF orientation tag of an opened picture (None when absent or unreadable)."""
    try:
        value = img.getexif().get(0x0112)
    except Exception:  # hostile EXIF: the picture is used as stored
        return None
    return value if isinstance(value, int) and 1 <= value <= 8 else None


__all__ = ["MAX_IMAGE_PIXELS", "MAX_WORK_PIXELS", "apply_orientation", "factor_for",
           "orientation_of", "reduce_image", "to_8bit", "work_mode"]
