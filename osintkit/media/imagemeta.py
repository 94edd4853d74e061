"""Media stage, metadata: images through Pillow (+ pillow-heif), feeding EXIF/XMP/IPTC readers.

Pillow gives format, size, mode, the raw EXIF/XMP/ICC blocks and IPTC; the pixels are then
decoded once (reduced-DCT for JPEG) so a truncated or broken file is reported as such.
Decompression bombs are refused before any decoding, as `too_large`.
"""

from __future__ import annotations

import io
import os
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from osintkit import errors
from osintkit.errors import ErrorInfo, MediaError
from osintkit.media.exif import ExifData, read_exif_block
from osintkit.media.fields import build_summary
from osintkit.media.heif import register_heif
from osintkit.media.iptc import read_ciff, read_iptc
from osintkit.media.xmp import XMPError, parse_xmp

if TYPE_CHECKING:
    from PIL import Image as PILImage

    from osintkit.media.model import Metadata

MAX_TIFF_READ = 256 * 1024 * 1024


@contextmanager
def pillow_warnings(sink: list[str]) -> Iterator[None]:
    """Pillow warns (UserWarning) about damaged tags and data: collect those warnings into
    `sink` instead of printing them; a decompression-bomb warning still raises."""
    from PIL import Image

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            yield
        finally:
            for w in caught:
                text = "decoder: " + " ".join(str(w.message).split())
                if text not in sink:
                    sink.append(text)


def open_image(p: Path) -> PILImage.Image:
    """Image.open with bombs refused (Pillow only warns below twice its pixel limit)."""
    from PIL import Image, UnidentifiedImageError

    register_heif()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(p)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaError(f"{p}: too many pixels, refused as a possible decompression bomb "
                         f"({exc})", code=errors.TOO_LARGE) from None
    except UnidentifiedImageError:
        raise MediaError(f"{p}: the image decoder cannot read this file",
                         code=errors.CORRUPT) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise MediaError(f"{p}: corrupt image header ({exc})", code=errors.CORRUPT) from None


@contextmanager
def _libtiff_stderr(sink: list[str]) -> Iterator[None]:
    """libtiff prints its complaints straight to file descriptor 2, which would break our
    one-line errors; catch them (fd level, only around a TIFF decode) as warnings."""
    import sys
    import tempfile

    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable fd 2: nothing to protect
        yield
        return
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            for line in tmp.read(8192).decode("utf-8", "replace").splitlines():
                if line.strip() and f"libtiff: {line.strip()}" not in sink:
                    sink.append(f"libtiff: {line.strip()}")


def _verify_pixels(im: PILImage.Image, p: Path, sink: list[str]) -> None:
    """Decode the pixels once; a truncated or damaged stream becomes a MediaError."""
    from PIL import Image

    if im.format in ("JPEG", "MPO"):  # the reduced-DCT decode still reads the whole stream
        im.draft(im.mode, (max(1, im.width // 8), max(1, im.height // 8)))
    quiet = _libtiff_stderr(sink) if im.format == "TIFF" else nullcontext()
    try:
        with warnings.catch_warnings(), quiet:
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaError(f"{p}: too many pixels ({exc})", code=errors.TOO_LARGE) from None
    except (OSError, SyntaxError, ValueError, EOFError, zlib.error, MemoryError) as exc:
        text = " ".join(str(exc).split())
        code = errors.TRUNCATED if "truncated" in text.lower() else errors.CORRUPT
        what = "truncated" if code == errors.TRUNCATED else "damaged"
        raise MediaError(f"{p}: image data {what} ({text})", code=code) from None


def _check_boxes(p: Path) -> None:
    from osintkit.media.container import isobmff_overrun

    overrun = isobmff_overrun(p)
    if overrun and overrun != "trailing bytes":
        raise MediaError(f"{p}: image data truncated ({overrun})", code=errors.TRUNCATED)


def heif_primary(p: Path) -> tuple[bytes | None, bytes | None, bool]:
    """The untouched EXIF and XMP of a HEIF (Pillow's plugin rewrites Orientation to 1 and
    drops it from XMP), and whether libheif turned the image by 90/270 degrees (irot)."""
    import pillow_heif

    heif = pillow_heif.open_heif(p)
    primary = heif[heif.primary_index]
    # pillow-heif's own plugin reads `transformations` the same way; no public accessor.
    transforms = getattr(getattr(primary, "_c_image", None), "transformations", ()) or ()
    turned = any(t[0] == "irot" and t[1] in (90, 270) for t in transforms)
    return primary.info.get("exif"), primary.info.get("xmp"), turned


def exif_source(im: PILImage.Image, p: Path, fmt: str) -> bytes | None:
    """The EXIF block Pillow found (a TIFF file is its own block)."""
    if fmt == "TIFF":
        with p.open("rb") as fh:
            return fh.read(MAX_TIFF_READ)
    if "exif" not in im.info and isinstance(im.info.get("Raw profile type exif"), str):
        return _raw_profile(im.info["Raw profile type exif"])
    return im.info.get("exif")


def _raw_profile(text: str) -> bytes | None:
    """ImageMagick's PNG text form of EXIF: '\nexif\n   LEN\nHEX...' (ExifTool reads it)."""
    lines = text.strip().split("\n", 2)
    try:
        return bytes.fromhex("".join(lines[2].split())) if len(lines) == 3 else None
    except ValueError:
        return None


def _xmp_source(im: PILImage.Image, exif: ExifData) -> bytes | None:
    raw = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")
    if raw is None and hasattr(im, "tag_v2"):
        raw = im.tag_v2.get(700)  # TIFF XMLPacket
    if raw is None:
        notes = exif.get("Image ApplicationNotes")
        raw = bytes(notes) if isinstance(notes, list) else None
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    if isinstance(raw, tuple):
        raw = bytes(raw)
    return raw if isinstance(raw, bytes) and raw.strip(b"\x00 \r\n\t") else None


def _icc_description(icc: bytes | None) -> str | None:
    if not icc:
        return None
    try:
        from PIL import ImageCms

        desc = ImageCms.ImageCmsProfile(io.BytesIO(icc)).profile.profile_description
    except Exception:  # a damaged ICC profile only loses its description
        return None
    return " ".join(str(desc).split()) or None


def _text_chunks(im: PILImage.Image) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        chunks = getattr(im, "text", None) or {}  # PNG: loads the image for late chunks
    except Exception:  # pixel data already reported broken
        return out
    for key, val in chunks.items():
        if key == "XML:com.adobe.xmp" or key.startswith("Raw profile"):
            continue
        out[str(key)] = str(val)[:4000]
    return out


def _image_info(im: PILImage.Image) -> dict[str, Any]:
    comment = im.info.get("comment")
    if isinstance(comment, bytes):
        comment = comment.decode("utf-8", "replace")
    dpi = im.info.get("dpi")
    return {
        "mode": im.mode,
        "decoder_format": im.format,
        "frames": getattr(im, "n_frames", 1),
        "icc_profile": _icc_description(im.info.get("icc_profile")),
        "dpi": [float(x) for x in dpi] if isinstance(dpi, tuple) else None,
        "comment": (comment or "").strip("\x00 ") or None,
        "text": _text_chunks(im) if im.format == "PNG" else {},
    }


def _thumbnail_info(exif: ExifData) -> dict[str, Any] | None:
    has_ifd1 = any(k.startswith("Thumbnail ") for k in exif.tags)
    if not has_ifd1 and exif.thumbnail is None:
        return None
    out: dict[str, Any] = {"present": exif.thumbnail is not None, "width": None,
                           "height": None, "size": len(exif.thumbnail or b"") or None}
    if exif.thumbnail:
        from PIL import Image

        try:
            with Image.open(io.BytesIO(exif.thumbnail)) as th:
                out["width"], out["height"] = th.size
        except Exception:  # bytes that start like a JPEG but are not one
            out["present"] = False
    return out


def _ciff(im: PILImage.Image) -> dict[str, Any]:
    for marker, payload in getattr(im, "applist", []):
        if marker == "APP0" and payload[6:14] == b"HEAPJPGM":
            return read_ciff(payload)
    return {}


def _read_blocks(md: Metadata, p: Path, im: PILImage.Image, fmt: str,
                 size: tuple[int, int]) -> None:
    """EXIF, XMP, IPTC, thumbnail and summary of an opened image of `size` (as opened)."""
    md.width, md.height = size
    heif_xmp = None
    if fmt == "HEIF":
        block, heif_xmp, turned = heif_primary(p)
        if turned:  # report the stored size, as for every other format
            md.height, md.width = size
    else:
        block = exif_source(im, p, fmt)
    exif = read_exif_block(block or b"")
    md.exif = exif.to_dict()
    md.thumbnail = _thumbnail_info(exif)
    md.warnings.extend(exif.problems)
    xmp: dict[str, Any] = {}
    raw_xmp = heif_xmp or _xmp_source(im, exif)
    if raw_xmp:
        try:
            xmp = parse_xmp(raw_xmp, md.warnings)
        except XMPError as exc:
            md.warnings.append(str(exc))
    md.xmp = xmp
    md.iptc = read_iptc(im)
    md.summary = build_summary(exif, xmp, md.iptc, _ciff(im), md.warnings)
    if exif.structural and md.error is None:
        md.error = ErrorInfo(errors.CORRUPT_METADATA, f"{p}: corrupt EXIF ({exif.structural[0]})")


def _metadata_without_pixels(md: Metadata, p: Path) -> None:
    """Best effort for a refused bomb: the format plugin parses headers, nothing is decoded
    (Image.open is what enforces the pixel limit, so the plugin is called directly)."""
    from PIL import Image

    Image.init()
    factory = Image.OPEN.get(md.format or "")
    if factory is None:
        return
    try:
        with p.open("rb") as fh, factory[0](fh, str(p)) as im:
            _read_blocks(md, p, im, md.format or "", im.size)
    except Exception:  # the refusal stands either way; metadata is a bonus here
        return


def read_image_into(md: Metadata, p: Path) -> None:
    """Fill `md` from an image file; raises MediaError for unreadable/broken images."""
    with pillow_warnings(md.warnings):
        _read_image(md, p)


def _read_image(md: Metadata, p: Path) -> None:
    try:
        im = open_image(p)
    except MediaError as exc:
        if exc.code == errors.TOO_LARGE:
            _metadata_without_pixels(md, p)
        raise
    with im:
        fmt = md.format or im.format
        size = im.size  # before draft() shrinks it
        failure = None
        try:  # first, so PNG chunks after the pixel data (eXIf, iTXt) are in `info` too
            if fmt in ("HEIF", "AVIF"):  # libheif decodes a cut-off file without complaint
                _check_boxes(p)
            else:
                _verify_pixels(im, p, md.warnings)
        except MediaError as exc:
            failure = exc
        _read_blocks(md, p, im, fmt, size)
        md.image = _image_info(im)
        if failure is not None:
            raise failure
