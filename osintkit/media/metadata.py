"""Media stage, step 2: what does a file say about itself? EXIF, XMP, IPTC, container tags.

`read_metadata(path)` never raises for a bad file: it returns `Metadata` with `ok=False`
and an `error` (code + one-line message naming the file), keeping whatever it could read.
The `summary` holds the fields a verifier asks for first (when, what camera, where), each
with a fallback chain close to ExifTool's (EXIF, then XMP, then IPTC).
"""

from __future__ import annotations

import hashlib
import os
import stat
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from osintkit import errors
from osintkit.errors import ErrorInfo, MediaError
from osintkit.media.exif import read_exif_block
from osintkit.media.fields import GPS, Summary, video_summary
from osintkit.media.probe import iter_inputs, sniff

MAX_TIFF_READ = 256 * 1024 * 1024  # a TIFF's EXIF is the whole file; cap what we read


@dataclass
class Metadata:
    """Everything `osintkit meta` reports for one file (see DESIGN.md for the contract)."""

    path: str
    ok: bool = False
    kind: str | None = None
    format: str | None = None
    mime: str | None = None
    size: int | None = None
    sha256: str | None = None
    width: int | None = None
    height: int | None = None
    summary: Summary = field(default_factory=Summary)
    exif: dict[str, Any] = field(default_factory=dict)
    xmp: dict[str, Any] = field(default_factory=dict)
    iptc: dict[str, Any] = field(default_factory=dict)
    video: dict[str, Any] | None = None
    thumbnail: dict[str, Any] | None = None
    image: dict[str, Any] | None = None  # mode, ICC profile, PNG text, comment, frames
    warnings: list[str] = field(default_factory=list)
    error: ErrorInfo | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of `osintkit meta --json`."""
        out = asdict(self)
        out["error"] = self.error.to_dict() if self.error else None
        return out


# ------------------------------------------------------------------ reading one file
def _stat_regular(p: Path) -> os.stat_result:
    try:
        st = p.stat()
    except FileNotFoundError:
        raise MediaError(f"{p}: no such file", code=errors.NOT_FOUND) from None
    except PermissionError:
        raise MediaError(f"{p}: permission denied", code=errors.UNREADABLE) from None
    except OSError as exc:
        if exc.errno == 40:  # ELOOP
            raise MediaError(f"{p}: symlink loop", code=errors.SYMLINK_LOOP) from None
        raise MediaError(f"{p}: cannot read ({exc.strerror})", code=errors.UNREADABLE) from None
    if stat.S_ISDIR(st.st_mode):
        raise MediaError(f"{p}: is a directory, not a file", code=errors.UNREADABLE)
    if not stat.S_ISREG(st.st_mode):  # FIFOs and devices would block or never end
        raise MediaError(f"{p}: not a regular file", code=errors.UNREADABLE)
    return st


def _sha256(p: Path) -> str:
    h = hashlib.sha256()
    try:
        with p.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except OSError as exc:
        raise MediaError(f"{p}: cannot read ({exc.strerror or exc})",
                         code=errors.UNREADABLE) from None
    return h.hexdigest()


def read_metadata(path: str | os.PathLike[str]) -> Metadata:
    """Read a file's metadata; never raises for a bad file (ok=False + error instead)."""
    p = Path(path)
    md = Metadata(path=str(path))
    try:
        md.size = _stat_regular(p).st_size
        probe = sniff(p)
        md.kind, md.format, md.mime = probe.kind, probe.format, probe.mime
        md.sha256 = _sha256(p)
        if probe.kind == "video":
            _read_video(md, p)
        else:
            from osintkit.media.imagemeta import read_image_into

            read_image_into(md, p)
    except MediaError as exc:
        md.error = exc.info()
    except Exception as exc:  # a bug or an unforeseen library failure: still one line
        text = " ".join(str(exc).split())
        md.error = ErrorInfo(errors.INTERNAL, f"{p}: internal error: {type(exc).__name__}: "
                                              f"{text}")
    md.ok = md.error is None
    return md


def _read_video(md: Metadata, p: Path) -> None:
    from osintkit.media.container import read_container

    md.video = read_container(p)
    md.width, md.height = md.video.get("width"), md.video.get("height")
    md.summary = video_summary(md.video)


def iter_metadata(paths: Iterable[str | os.PathLike[str]],
                  on_skip: Callable[[Path, str], None] | None = None) -> Iterator[Metadata]:
    """read_metadata over files and directories (recursive); bad inputs become ok=False."""
    for item in iter_inputs(paths, on_skip):
        if item.error is not None:
            yield Metadata(path=str(item.path), error=item.error)
        else:
            yield read_metadata(item.path)


# ------------------------------------------------------------------ EXIF thumbnail
def exif_block(path: str | os.PathLike[str]) -> bytes | None:
    """The raw EXIF block of an image (TIFF structure), or None."""
    p = Path(path)
    fmt = sniff(p).format
    if fmt == "TIFF":
        with p.open("rb") as fh:
            return fh.read(MAX_TIFF_READ)
    if fmt == "HEIF":
        import pillow_heif

        return pillow_heif.open_heif(p).info.get("exif")
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(p) as im:
            return im.info.get("exif")


def exif_thumbnail(path: str | os.PathLike[str]) -> bytes | None:
    """The embedded EXIF JPEG thumbnail, or None (also None for unreadable files)."""
    try:
        block = exif_block(path)
    except Exception:  # a bad file simply has no thumbnail we can trust
        return None
    return read_exif_block(block).thumbnail if block else None


__all__ = ["GPS", "Metadata", "Summary", "exif_block", "exif_thumbnail", "iter_metadata",
           "read_metadata"]
