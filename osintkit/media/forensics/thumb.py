"""EXIF thumbnail vs main image: an edited photo often keeps the camera's thumbnail.

Cameras letterbox the thumbnail when its aspect differs from the photo's; we trim the
black bars before comparing. Distance: pHash bits (of 64) between the thumbnail and
the main image scaled to the thumbnail's size, the smallest over the four rotations and
their mirrors (tools that rotate losslessly often leave the thumbnail unrotated).
"""

from __future__ import annotations

import io
import os

import numpy as np
from PIL import Image, ImageOps


def thumbnail_bytes(path: str | os.PathLike[str]) -> bytes | None:
    """The embedded EXIF JPEG thumbnail (META's reader when present, else exifread's)."""
    try:
        from osintkit.media.metadata import exif_thumbnail  # written by META in parallel
    except ImportError:
        exif_thumbnail = None
    if exif_thumbnail is not None:
        return exif_thumbnail(path)
    import exifread

    with open(path, "rb") as fh:
        tags = exifread.process_file(fh, details=False, extract_thumbnail=True)
    data = tags.get("JPEGThumbnail")
    return bytes(data) if data else None


def _trim_bars(img: Image.Image) -> Image.Image:
    """Cut uniform dark (letterbox) rows and columns from the edges."""
    a = np.asarray(img.convert("L"), dtype=np.int16)
    rows = np.nonzero(a.max(axis=1) > 24)[0]
    cols = np.nonzero(a.max(axis=0) > 24)[0]
    if len(rows) < 8 or len(cols) < 8:
        return img
    return img.crop((int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1))


_TRANSFORMS = {
    "none": lambda im: im,
    "rot90": lambda im: im.transpose(Image.Transpose.ROTATE_90),
    "rot180": lambda im: im.transpose(Image.Transpose.ROTATE_180),
    "rot270": lambda im: im.transpose(Image.Transpose.ROTATE_270),
    "mirror": ImageOps.mirror,
    "flip": ImageOps.flip,
    "transpose": lambda im: im.transpose(Image.Transpose.TRANSPOSE),
    "transverse": lambda im: im.transpose(Image.Transpose.TRANSVERSE),
}


def compare_thumbnail(main: Image.Image, data: bytes | None) -> tuple[dict, Image.Image | None]:
    """Distance between thumbnail and main image, and the decoded thumbnail (or None)."""
    import imagehash

    if not data:
        return {"present": False, "distance": None}, None
    try:
        with Image.open(io.BytesIO(data)) as raw:
            thumb = raw.convert("RGB")
    except Exception:  # a broken thumbnail is itself worth reporting, not fatal
        return {"present": True, "readable": False,
                "reason": f"the embedded thumbnail ({len(data)} bytes) does not decode",
                "distance": None}, None
    core = _trim_bars(thumb)
    small = main.convert("RGB").copy()
    small.thumbnail((max(core.size) * 2, max(core.size) * 2))
    th = imagehash.phash(core)
    best_name, best = "none", 65
    for name, fn in _TRANSFORMS.items():
        dist = int(th - imagehash.phash(fn(small)))
        if dist < best:
            best_name, best = name, dist
    return {"present": True, "readable": True, "width": thumb.width, "height": thumb.height,
            "distance": best, "transform": best_name}, thumb


def pair_picture(main: Image.Image, thumb: Image.Image, height: int = 240) -> Image.Image:
    """Main image and thumbnail side by side at the same height."""
    a = main.convert("RGB").copy()
    a.thumbnail((height * 4, height))
    b = thumb.resize((max(1, round(thumb.width * height / thumb.height)), height))
    out = Image.new("RGB", (a.width + b.width + 12, height), "white")
    out.paste(a, (0, 0))
    out.paste(b, (a.width + 12, 0))
    return out
