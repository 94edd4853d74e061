"""Media stage, first step: what is this file? Sniff by magic bytes, walk input paths.

The URL or file suffix is never trusted: a text file named `.jpg` is `not_media`.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from osintkit import errors
from osintkit.errors import ErrorInfo, MediaError

HEAD_BYTES = 64

# Suffixes we expect to hold media: a non-media file with one of these inside a directory
# is reported as an error (it pretends to be media); other non-media files are skipped.
MEDIA_SUFFIXES = frozenset([
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".gif", ".webp", ".tif", ".tiff", ".bmp",
    ".heic", ".heif", ".avif", ".mp4", ".m4v", ".mov", ".qt", ".3gp", ".mkv", ".webm",
    ".avi", ".flv",
])

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}


@dataclass(frozen=True)
class Probe:
    """What the bytes say a file is."""

    kind: str  # "image" | "video"
    format: str  # JPEG, PNG, GIF, WEBP, TIFF, BMP, HEIF, AVIF, MP4, MOV, 3GP, MKV, WEBM, AVI, FLV
    mime: str


def _ftyp(head: bytes) -> Probe | None:
    brand = head[8:12]
    if brand in _HEIF_BRANDS:
        return Probe("image", "HEIF", "image/heic" if brand.startswith(b"he") else "image/heif")
    if brand in (b"avif", b"avis"):
        return Probe("image", "AVIF", "image/avif")
    if brand == b"qt  ":
        return Probe("video", "MOV", "video/quicktime")
    if brand.startswith(b"3g"):
        return Probe("video", "3GP", "video/3gpp")
    return Probe("video", "MP4", "video/mp4")


def _riff(head: bytes) -> Probe | None:
    if len(head) < 12:
        return None
    fourcc = head[8:12]
    if fourcc == b"WEBP":
        return Probe("image", "WEBP", "image/webp")
    if fourcc == b"AVI ":
        return Probe("video", "AVI", "video/x-msvideo")
    return None


def _matroska(head: bytes) -> Probe:
    if b"webm" in head:
        return Probe("video", "WEBM", "video/webm")
    return Probe("video", "MKV", "video/x-matroska")


def _bmp(head: bytes) -> Probe | None:
    if len(head) >= 26 and head[6:10] == b"\x00\x00\x00\x00":
        return Probe("image", "BMP", "image/bmp")
    return None


# Fixed signatures at offset 0: (prefix, probe or function of the head).
_PREFIXES: tuple[tuple[bytes, Probe | Callable[[bytes], Probe | None]], ...] = (
    (b"\xff\xd8\xff", Probe("image", "JPEG", "image/jpeg")),
    (b"\x89PNG\r\n\x1a\n", Probe("image", "PNG", "image/png")),
    (b"GIF87a", Probe("image", "GIF", "image/gif")),
    (b"GIF89a", Probe("image", "GIF", "image/gif")),
    (b"II*\x00", Probe("image", "TIFF", "image/tiff")),
    (b"MM\x00*", Probe("image", "TIFF", "image/tiff")),
    (b"BM", _bmp),
    (b"RIFF", _riff),
    (b"\x1a\x45\xdf\xa3", _matroska),
    (b"FLV\x01", Probe("video", "FLV", "video/x-flv")),
)


def sniff_bytes(head: bytes) -> Probe | None:
    """Identify media from the first bytes of a file; None when it is not media we know."""
    for prefix, rule in _PREFIXES:
        if head.startswith(prefix):
            return rule if isinstance(rule, Probe) else rule(head)
    if head[4:8] == b"ftyp":
        return _ftyp(head)
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free"):
        return Probe("video", "MOV", "video/quicktime")
    return None


def _os_error(p: Path, exc: OSError) -> MediaError:
    if isinstance(exc, FileNotFoundError):
        return MediaError(f"{p}: no such file", code=errors.NOT_FOUND)
    if isinstance(exc, PermissionError):
        return MediaError(f"{p}: permission denied", code=errors.UNREADABLE)
    if exc.errno == 40:  # ELOOP
        return MediaError(f"{p}: symlink loop", code=errors.SYMLINK_LOOP)
    return MediaError(f"{p}: cannot read ({exc.strerror})", code=errors.UNREADABLE)


def stat_regular(path: str | os.PathLike[str]) -> os.stat_result:
    """stat() a file we are about to read; MediaError unless it is a regular file."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError as exc:
        raise _os_error(p, exc) from None
    if stat.S_ISDIR(st.st_mode):
        raise MediaError(f"{p}: is a directory, not a file", code=errors.UNREADABLE)
    if not stat.S_ISREG(st.st_mode):  # FIFOs, sockets and devices would block or never end
        raise MediaError(f"{p}: not a regular file", code=errors.UNREADABLE)
    return st


def sniff(path: str | os.PathLike[str]) -> Probe:
    """Identify a file's media type from its bytes; raise MediaError when it is not media."""
    p = Path(path)
    stat_regular(p)
    try:
        with p.open("rb") as fh:
            head = fh.read(HEAD_BYTES)
    except OSError as exc:
        raise _os_error(p, exc) from None
    if not head:
        raise MediaError(f"{p}: empty file (0 bytes)", code=errors.EMPTY)
    probe = sniff_bytes(head)
    if probe is None:
        raise MediaError(f"{p}: not an image or video we can read", code=errors.NOT_MEDIA)
    return probe


@dataclass(frozen=True)
class Input:
    """One file to process, or the reason it cannot be."""

    path: Path
    error: ErrorInfo | None = None


SkipCallback = Callable[[Path, str], None]


def _walk_dir(root: Path, on_skip: SkipCallback | None) -> Iterator[Input]:
    seen: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        st = os.stat(dirpath)
        key = (st.st_dev, st.st_ino)
        if key in seen:  # a symlink brought us back to a directory we already walked
            dirnames[:] = []
            yield Input(Path(dirpath), ErrorInfo(errors.SYMLINK_LOOP,
                                                 f"{dirpath}: symlink loop, not followed"))
            continue
        seen.add(key)
        dirnames.sort()
        for name in sorted(filenames):
            yield from _dir_entry(Path(dirpath) / name, on_skip)


def _dir_entry(path: Path, on_skip: SkipCallback | None) -> Iterator[Input]:
    try:
        sniff(path)
    except MediaError as exc:
        if exc.code in (errors.NOT_MEDIA, errors.EMPTY) \
                and path.suffix.lower() not in MEDIA_SUFFIXES:
            if on_skip:
                on_skip(path, "not media" if exc.code == errors.NOT_MEDIA else "empty, not media")
            return
        yield Input(path, exc.info())
        return
    yield Input(path)


def iter_inputs(paths: Iterable[str | os.PathLike[str]],
                on_skip: SkipCallback | None = None) -> Iterator[Input]:
    """Expand files and directories (recursively, sorted) into Inputs.

    Files named explicitly are always yielded (bad ones carry their error); inside
    directories, files that are not media and do not pretend to be are skipped via
    `on_skip(path, reason)`. Symlink loops are reported once and not followed. A named
    directory that holds no media at all (an empty folder called `dir.jpg`...) is an
    error of its own, never a silent success.
    """
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = False
            for item in _walk_dir(path, on_skip):
                found = True
                yield item
            if not found:
                yield Input(path, ErrorInfo(errors.NOT_MEDIA,
                                            f"{path}: a directory with no media files"))
        elif not path.exists() and not path.is_symlink():
            yield Input(path, ErrorInfo(errors.NOT_FOUND, f"{path}: no such file or directory"))
        else:
            yield Input(path)
