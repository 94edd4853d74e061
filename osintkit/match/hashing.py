"""Match stage, hash kinds: perceptual hashes (PDQ, pHash...) of a decoded picture.

Flow: media -> **match** -> archive. Reads pictures the media stage decodes
(`media/pixels.py`, `media/probe.py`); `hashfile.py` hashes whole files and video frames
with it; the archive stores and searches the hashes. Hash kinds are data: one frozen
`Hasher` per kind in `HASHERS`, where each kind's thresholds are written (the one place).
Hex is always zero-padded to bits/4 characters.

Fast path: perceptual hashes need a small picture, so JPEGs are decoded with Pillow's
reduced-DCT draft mode (1/2, 1/4 or 1/8 scale) and other formats are box-reduced by the
same power of two, so a PNG screenshot and a JPEG of the same picture hash alike. EXIF
orientation is applied before hashing, so a rotated-by-tag photo hashes like its upright
copy. Drift of draft-mode hashes against full decodes is measured in docs/matching.md.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from osintkit import errors
from osintkit.errors import MediaError
from osintkit.media.heif import register_heif
from osintkit.media.pixels import apply_orientation, orientation_of, reduce_image, to_8bit
from osintkit.media.probe import sniff

# Draft/reduce target: the shorter side stays >= this many pixels. 256 keeps PDQ within
# 14 of 256 bits of the full decode on the corpus photos (docs/matching.md); 128 drifted to 36.
DRAFT_SIZE = 256

# Same order as pdqhash.compute_dihedral's output. pdqhash calls its 5th/6th outputs
# flipX/flipY: flipX mirrors across the X axis (top-bottom, our "flip"), flipY across the
# Y axis (left-right, our "mirror") -- verified against PIL in tests/test_hashing.py.
TRANSFORMS = ("none", "rot90", "rot180", "rot270", "flip", "mirror", "transpose", "transverse")
_T = Image.Transpose
# PIL operation that produces each transform; rot90 is counter-clockwise (as in PDQ and PIL).
TRANSFORM_OPS: dict[str, Image.Transpose | None] = {
    "none": None, "rot90": _T.ROTATE_90, "rot180": _T.ROTATE_180, "rot270": _T.ROTATE_270,
    "flip": _T.FLIP_TOP_BOTTOM, "mirror": _T.FLIP_LEFT_RIGHT, "transpose": _T.TRANSPOSE,
    "transverse": _T.TRANSVERSE,
}
INVERSE = {"rot90": "rot270", "rot270": "rot90"}  # every other transform is its own inverse


# ---------------------------------------------------------------- hash kinds
@dataclass(frozen=True)
class Hasher:
    """One perceptual hash kind: how to compute it, its size and its match thresholds.

    The thresholds of a kind are written here and nowhere else: code reads them from
    `HASHERS` (or the `PDQ_NEAR` / `PDQ_MIN_QUALITY` names below); tests/test_layout.py
    fails on a bare PDQ threshold anywhere else in osintkit/."""

    name: str
    bits: int  # per hash (per segment for "crop")
    compute: Callable[[Image.Image], str]  # RGB image -> lowercase hex
    threshold: int  # default "near-duplicate" Hamming distance (inclusive)
    description: str
    example: str  # a valid hex value (the contract test checks it)
    multi: bool = False  # comma-separated list of segment hashes ("crop")
    luma: bool = False  # computed from greyscale: hash_image converts once for all of these
    min_quality: int = 0  # below this quality (PDQ's own 0-100 score) a hash is unreliable

    @property
    def hex_len(self) -> int:
        return (self.bits + 3) // 4

    def validate(self, value: str) -> str:
        """Return `value` as canonical lowercase hex; ValueError unless well-formed."""
        text = str(value).strip().lower()
        parts = text.split(",") if self.multi else [text]
        for part in parts:
            if not re.fullmatch(rf"[0-9a-f]{{{self.hex_len}}}", part) or int(part, 16) >> self.bits:
                raise ValueError(f"not a {self.name} hash ({self.hex_len} hex digits): {value!r}")
        return text

    def distance(self, a: str, b: str) -> int:
        """Hamming distance (for "crop": the best distance between any two segments)."""
        a, b = self.validate(a), self.validate(b)
        if self.multi:
            return min(hamming(x, y) for x in a.split(",") for y in b.split(","))
        return hamming(a, b)


def _bits_to_hex(bits: Any, n: int) -> str:
    import numpy as np

    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()[: (n + 3) // 4]


def _pdq_all(img: Image.Image) -> tuple[dict[str, str], int]:
    """PDQ of `img` under the 8 dihedral transforms, and PDQ quality (0-100)."""
    import numpy as np
    import pdqhash

    vectors, quality = pdqhash.compute_dihedral(np.ascontiguousarray(np.asarray(img)))
    hexes = {name: _bits_to_hex(v, 256) for name, v in zip(TRANSFORMS, vectors, strict=True)}
    return hexes, quality


def _pdq(img: Image.Image) -> str:
    return _pdq_all(img)[0]["none"]


def _imagehash(fn_name: str, **kw: Any) -> Callable[[Image.Image], str]:
    def compute(img: Image.Image) -> str:
        import imagehash

        return str(getattr(imagehash, fn_name)(img, **kw))

    compute.__name__ = f"_{fn_name}"
    return compute


def _crop(img: Image.Image) -> str:
    import imagehash

    # Segments hashed with dHash, imagehash's default; at most 8 segments keep lines short.
    return str(imagehash.crop_resistant_hash(img, limit_segments=8))


HASHERS: dict[str, Hasher] = {h.name: h for h in (
    # 31: Meta's published PDQ match threshold (also ThreatExchange's vPDQ frame match);
    # quality < 50: Meta's guidance, too flat for PDQ to mean something (vPDQ skips them).
    Hasher("pdq", 256, _pdq, 31, "Meta PDQ, 256 bits (industry hash-sharing format)",
           "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22",
           min_quality=50),
    Hasher("phash", 64, _imagehash("phash"), 10, "DCT perceptual hash (imagehash)",
           "d1c4b29c6e8f3a05", luma=True),
    Hasher("dhash", 64, _imagehash("dhash"), 12, "difference hash (imagehash)",
           "0e1e3e7c78f0e0c0", luma=True),
    Hasher("whash", 64, _imagehash("whash"), 10, "Haar wavelet hash (imagehash)",
           "ffd8c0c0e0f0f8ff", luma=True),
    Hasher("colorhash", 42, _imagehash("colorhash"), 4,
           "colour distribution hash, 42 bits (imagehash)", "07000000000"),
    Hasher("crop", 64, _crop, 16, "crop-resistant: dHash per image segment, comma-separated",
           "8f8f8b0b0b0f1f3f,0e1e3e7c78f0e0c0", multi=True),
)}
DEFAULT_HASHES = ("pdq", "phash", "dhash")
PDQ_NEAR = HASHERS["pdq"].threshold  # near-duplicate: PDQ distance <= this (of 256 bits)
PDQ_MIN_QUALITY = HASHERS["pdq"].min_quality  # PDQ hashes of lower quality are not trusted


def parse_kinds(text: str | Iterable[str]) -> tuple[str, ...]:
    """`"pdq,phash"` -> ("pdq", "phash"); ValueError naming unknown kinds."""
    items = text.split(",") if isinstance(text, str) else list(text)
    kinds = tuple(dict.fromkeys(k.strip().lower() for k in items if k.strip()))
    unknown = [k for k in kinds if k not in HASHERS]
    if unknown or not kinds:
        raise ValueError(f"unknown hash kind(s) {', '.join(unknown) or '(none)'}; "
                         f"choose from {', '.join(HASHERS)}")
    return kinds


def hamming(a_hex: str, b_hex: str) -> int:
    """Number of differing bits between two hex hashes of the same length."""
    if len(a_hex) != len(b_hex):
        raise ValueError(f"hashes of different lengths: {len(a_hex)} vs {len(b_hex)} hex digits")
    return (int(a_hex, 16) ^ int(b_hex, 16)).bit_count()


def best_dihedral(query_variants: dict[str, str], target_hex: str) -> tuple[int, str]:
    """Smallest PDQ distance over the query's dihedral variants: (distance, transform).

    The transform T means: the target looks like the query with T applied.
    """
    return min((hamming(h, target_hex), name) for name, h in query_variants.items()
               if name in TRANSFORM_OPS)


def apply_transform(img: Image.Image, transform: str) -> Image.Image:
    """`img` with a named dihedral transform applied."""
    op = TRANSFORM_OPS[transform]
    return img if op is None else img.transpose(op)


# ---------------------------------------------------------------- pixels to hash
def _decode_error(path: Path, exc: BaseException) -> MediaError:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, Image.DecompressionBombError | Image.DecompressionBombWarning):
        return MediaError(f"{path}: too large to decode safely ({text})", code=errors.TOO_LARGE)
    if "truncated" in text.lower() or isinstance(exc, EOFError):
        return MediaError(f"{path}: truncated image ({text})", code=errors.TRUNCATED)
    if isinstance(exc, MemoryError):
        return MediaError(f"{path}: too large to decode (out of memory)", code=errors.TOO_LARGE)
    return MediaError(f"{path}: cannot decode image ({text})", code=errors.CORRUPT)


def _reduce_factor(size: tuple[int, int], target: int) -> int:
    """Largest power-of-two factor <= 8 that keeps as many pixels as a target x 4/3 target
    picture and a shorter side >= target / 2. A 4:3 photo keeps its shorter side >= target;
    a wide one is not kept twice as large (PDQ's cost grows with the pixels)."""
    w, h = size
    floor = target * target * 4 // 3
    factor = 1
    while factor < 8:
        f = factor * 2
        if (w // f) * (h // f) < floor or min(w, h) // f < target // 2:
            break
        factor = f
    return factor


def to_rgb(img: Image.Image) -> Image.Image:
    """`img` as RGB; transparent parts become white."""
    if img.mode == "RGB":
        return img
    if img.mode in ("P", "PA") or "A" in img.getbands() or "transparency" in img.info:
        rgba = img.convert("RGBA")
        back = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(back, rgba).convert("RGB")  # transparent -> white
    if img.mode.startswith(("I", "F")):  # 16/32-bit greyscale: scaled, not clipped, to 8 bits
        return to_8bit(img if img.mode in ("I", "F") else img.convert("I")).convert("RGB")
    return img.convert("RGB")


def _open_and_decode(path: Path, size: int | None) -> Image.Image:
    """Decode small: JPEG by DCT scaling; other formats decoded once in their own mode and
    box-reduced strip by strip (osintkit/media/pixels.py), then turned upright."""
    with open(path, "rb") as fh:
        img = Image.open(fh)
        if size and img.format == "JPEG" and (factor := _reduce_factor(img.size, size)) > 1:
            # reduced-DCT decode at 1/2, 1/4 or 1/8 scale: Pillow picks `factor` from this
            img.draft("RGB", (img.width // factor, img.height // factor))
        img.load()
        orientation = orientation_of(img)
    factor = _reduce_factor(img.size, size) if size else 1
    # box filter, like the DCT scaling of draft mode; any mode (1-bit, palette, 16-bit)
    img = reduce_image(img, factor)
    return to_rgb(apply_orientation(img, orientation))


def load_image(path: str | os.PathLike[str], size: int | None = DRAFT_SIZE) -> Image.Image:
    """Decode an image for hashing: small (shorter side >= `size`; None = full size),
    EXIF orientation applied, RGB. Raises MediaError with a stable code."""
    p = Path(path)
    probe = sniff(p)
    if probe.kind != "image":
        raise MediaError(f"{p}: is a {probe.kind}, not an image", code=errors.UNSUPPORTED)
    if probe.format in ("HEIF", "AVIF"):
        register_heif()
    try:
        with warnings.catch_warnings():
            # Pillow only warns between 1x and 2x its pixel limit; we refuse both.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return _open_and_decode(p, size)
    except Image.UnidentifiedImageError:
        raise MediaError(f"{p}: cannot decode {probe.format} data", code=errors.CORRUPT) from None
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError, IndexError, TypeError,
            Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _decode_error(p, exc) from None


def shrink(img: Image.Image, size: int = DRAFT_SIZE) -> Image.Image:
    """Box-reduce a decoded picture by the power of two draft mode would have used."""
    factor = _reduce_factor(img.size, size)
    return img.reduce(factor) if factor > 1 else img


def hash_with_variants(img: Image.Image, kinds: Iterable[str]) -> tuple[dict[str, str | int],
                                                                  dict[str, str]]:
    """Hashes of an RGB image and its PDQ dihedral variants (empty without "pdq")."""
    out: dict[str, str | int] = {}
    variants: dict[str, str] = {}
    gray: Image.Image | None = None
    for kind in kinds:
        hasher = HASHERS[kind]
        if kind == "pdq":  # one PDQ pass gives the 8 dihedral variants at no extra cost
            variants, quality = _pdq_all(img)
            out["pdq"], out["pdq_quality"] = variants["none"], int(quality)
        elif hasher.luma:  # imagehash converts to "L" itself: same result, done once
            gray = gray or img.convert("L")
            out[kind] = hasher.compute(gray)
        else:
            out[kind] = hasher.compute(img)
    return out, variants


def hash_image(img: Image.Image, kinds: Iterable[str] = DEFAULT_HASHES) -> dict[str, str | int]:
    """Perceptual hashes of an RGB image as hex (+ "pdq_quality" with "pdq")."""
    return hash_with_variants(to_rgb(img), kinds)[0]


def pdq_variants(img: Image.Image) -> dict[str, str]:
    """PDQ hex of `img` under each of the 8 dihedral transforms, keyed by TRANSFORMS name."""
    return _pdq_all(to_rgb(img))[0]
