"""Media stage, step 2: what does a file say about itself? EXIF, XMP, IPTC, container tags.

`read_metadata(path)` never raises for a bad file: it returns `Metadata` with `ok=False`
and an `error` (code + one-line message naming the file), keeping whatever it could read.
The `summary` holds the fields a verifier asks for first (when, what camera, where), each
with a fallback chain close to ExifTool's (EXIF, then XMP, then IPTC).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from osintkit import errors
from osintkit.errors import ErrorInfo, MediaError
from osintkit.fileio import sha256_file
from osintkit.media.exif import read_exif_block
from osintkit.media.fields import GPS, Summary, video_summary
from osintkit.media.model import Metadata
from osintkit.media.probe import iter_inputs, sniff, stat_regular


# ------------------------------------------------------------------ reading one file
def _sha256(p: Path) -> str:
    try:
        return sha256_file(p)
    except OSError as exc:
        raise MediaError(f"{p}: cannot read ({exc.strerror or exc})",
                         code=errors.UNREADABLE) from None


def read_metadata(path: str | os.PathLike[str]) -> Metadata:
    """Read a file's metadata; never raises for a bad file (ok=False + error instead)."""
    p = Path(path)
    md = Metadata(path=str(path))
    try:
        md.size = stat_regular(p).st_size
        md.sha256 = _sha256(p)  # also for files that turn out not to be media: evidence
        probe = sniff(p)
        md.kind, md.format, md.mime = probe.kind, probe.format, probe.mime
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
    if md.video.get("codec") is None:  # the container was read; the pictures cannot be
        md.error = ErrorInfo(errors.UNSUPPORTED, f"{p}: no decoder for this video's codec")


def iter_metadata(paths: Iterable[str | os.PathLike[str]],
                  on_skip: Callable[[Path, str], None] | None = None,
                  jobs: int = 1) -> Iterator[Metadata]:
    """read_metadata over files and directories (recursive, in order); bad inputs become
    ok=False. `jobs` > 1 reads in that many worker processes, results still in order."""
    items = iter_inputs(paths, on_skip)
    if jobs <= 1:
        for item in items:
            yield _from_input(item.path, item.error)
        return
    from concurrent.futures import ProcessPoolExecutor

    todo = list(items)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        yield from pool.map(_from_input, [i.path for i in todo], [i.error for i in todo],
                            chunksize=4)


def _from_input(path: Path, error: ErrorInfo | None) -> Metadata:
    return Metadata(path=str(path), error=error) if error is not None else read_metadata(path)


# ------------------------------------------------------------------ EXIF thumbnail
def exif_block(path: str | os.PathLike[str]) -> bytes | None:
    """The raw EXIF block of an image (TIFF structure), or None; MediaError when unreadable."""
    from osintkit.media.imagemeta import exif_source, heif_primary, open_image, pillow_warnings

    p = Path(path)
    fmt = sniff(p).format
    if fmt == "HEIF":
        return heif_primary(p)[0]
    with pillow_warnings([]), open_image(p) as im:
        return exif_source(im, p, fmt)


def exif_thumbnail(path: str | os.PathLike[str]) -> bytes | None:
    """The embedded EXIF JPEG thumbnail, or None (also None for unreadable files)."""
    try:
        block = exif_block(path)
    except Exception:  # a bad file simply has no thumbnail we can trust
        return None
    return read_exif_block(block).thumbnail if block else None



# ------------------------------------------------------------------ human output
_ORIENTATION = {1: "normal", 2: "mirrored", 3: "rotated 180", 4: "flipped",
                5: "mirrored + rotated 90 CCW", 6: "rotate 90 CW to display",
                7: "mirrored + rotated 90 CW", 8: "rotate 90 CCW to display"}


def safe_text(value: Any, limit: int = 200) -> str:
    """One printable line: control characters (terminal escapes!) shown as \\xNN, clipped."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                           default=str)
    out = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" if ord(ch) < 256
                  else f"\\u{ord(ch):04x}" for ch in text)
    return out if len(out) <= limit else out[:limit - 1] + "…"


def _key_rows(md: Metadata) -> list[tuple[str, Any]]:
    s = md.summary
    size = f"{md.width} x {md.height}" if md.width else None
    camera = " / ".join(x for x in (s.make, s.model) if x) or None
    gps = None
    if s.gps:
        gps = f"{s.gps.lat:.7f}, {s.gps.lon:.7f}"
        gps += f"  alt {s.gps.alt:g} m" if s.gps.alt is not None else ""
        gps += f"  facing {s.gps.direction:g}°" if s.gps.direction is not None else ""
    thumb = None
    if md.thumbnail and md.thumbnail.get("present"):
        t = md.thumbnail
        thumb = f"{t['width']} x {t['height']} JPEG, {t['size']} bytes"
    captured = f"{s.captured_at}  ({s.captured_at_source})" if s.captured_at else None
    orient = f"{s.orientation} ({_ORIENTATION[s.orientation]})" if s.orientation else None
    return [
        ("file", "  ".join(str(x) for x in (md.kind, md.format, md.mime, f"{md.size} bytes",
                                            size) if x)),
        ("sha256", md.sha256), ("captured", captured), ("modified", s.modified_at),
        ("camera", camera), ("lens", s.lens), ("software", s.software), ("artist", s.artist),
        ("orientation", orient), ("gps", gps), ("gps clock", s.gps and s.gps.time),
        ("thumbnail", thumb),
        ("history", " -> ".join(s.software_history) or None),
    ]


def _video_rows(video: dict[str, Any] | None) -> list[tuple[str, Any]]:
    if not video:
        return []
    v = video
    parts = [v.get("codec") or "unknown codec",
             f"{v['fps']} fps" if v.get("fps") else "fps unknown",
             f"{v['frames']} frames" if v.get("frames") else "frame count unknown",
             (f"{v['duration']} s" + (" (frames / fps)" if v.get("duration_estimated") else ""))
             if v.get("duration") else "duration unknown"]
    desc = "  ".join(parts)
    return [("video", desc), ("rotation", v.get("rotation") or None),
            ("encoder", v.get("encoder")), ("location", v.get("location_raw"))]


def _block_rows(md: Metadata) -> list[tuple[str, Any]]:
    n_exif = sum(len(g) for g in md.exif.values())
    blocks = [f"EXIF {n_exif} tags" if n_exif else "", f"XMP {len(md.xmp)}" if md.xmp else "",
              f"IPTC {len(md.iptc)}" if md.iptc else ""]
    icc = (md.image or {}).get("icc_profile")
    return [("metadata", ", ".join(b for b in blocks if b) or "none"),
            ("icc profile", icc), ("warnings", "; ".join(md.warnings) or None)]


def _raw_rows(md: Metadata) -> list[str]:
    lines = []
    sections = [(g, tags) for g, tags in md.exif.items()]
    sections += [("XMP", md.xmp), ("IPTC", md.iptc)]
    if md.image and md.image.get("text"):
        sections.append(("PNG text", md.image["text"]))
    if md.video:
        sections += [("container", md.video.get("tags") or {}),
                     ("stream", md.video.get("stream_tags") or {})]
    for name, tags in sections:
        if tags:
            lines.append(f"  [{name}]")
            lines += [f"    {safe_text(k, 40):<32} {safe_text(v)}" for k, v in tags.items()]
    return lines


def render_text(md: Metadata, show_all: bool = False) -> str:
    """A readable table for one file: key fields first; every raw tag with `show_all`."""
    rows = _key_rows(md) + _video_rows(md.video) + _block_rows(md)
    lines = [safe_text(md.path, 1000)]
    lines += [f"  {k:<12} {safe_text(v)}" for k, v in rows if v not in (None, "")]
    if show_all:
        lines += _raw_rows(md)
    return "\n".join(lines)


__all__ = ["GPS", "Metadata", "Summary", "exif_block", "exif_thumbnail", "iter_metadata",
           "read_metadata", "render_text", "safe_text"]
