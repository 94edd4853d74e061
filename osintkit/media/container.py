"""Media stage, metadata: video container facts through PyAV (FFmpeg's demuxers).

Width, height, fps, frame count, duration, codecs, and the container tags phones write:
creation_time, encoder, make/model, rotation (display matrix, read back from the first
decoded frame, or the old `rotate` tag) and location (`©xyz`, ISO 6709).
"""

from __future__ import annotations

import os
import re
from typing import Any

from osintkit import errors
from osintkit.errors import MediaError

# ISO 6709 as phones write it: "+48.8577+002.2950+035.000/" (altitude optional).
_ISO6709 = re.compile(r"^\s*([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)?")
_LOCATION_KEYS = ("com.apple.quicktime.location.ISO6709", "location", "location-eng",
                  "com.android.capture.location")
_MAKE_KEYS = ("com.apple.quicktime.make", "make", "com.android.manufacturer")
_MODEL_KEYS = ("com.apple.quicktime.model", "model", "com.android.model")
_SOFTWARE_KEYS = ("com.apple.quicktime.software", "software", "com.android.version")


def parse_iso6709(text: str) -> dict[str, float | None] | None:
    """{"lat", "lon", "alt"} from an ISO 6709 decimal string; None when it is not one."""
    m = _ISO6709.match(text or "")
    if not m:
        return None
    lat, lon = float(m.group(1)), float(m.group(2))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    alt = float(m.group(3)) if m.group(3) else None
    return {"lat": lat, "lon": lon, "alt": alt}


def isobmff_overrun(path: str | os.PathLike[str]) -> str | None:
    """For MP4/MOV/HEIF files: the top-level box that runs past the end of the file, if any.

    A cut-off download keeps valid headers, and libheif and FFmpeg happily read what is
    left, so a walk over the top-level box sizes (a few reads) is what detects truncation.
    """
    size = os.path.getsize(path)
    pos = 0
    with open(path, "rb") as fh:
        for _ in range(100_000):
            if pos + 8 > size:
                return None if pos == size else "trailing bytes"
            fh.seek(pos)
            head = fh.read(16)
            box_len, kind = int.from_bytes(head[:4], "big"), head[4:8].decode("latin-1")
            if box_len == 1 and len(head) == 16:
                box_len = int.from_bytes(head[8:16], "big")
            elif box_len == 0:  # "extends to the end of the file"
                return None
            if box_len < 8:
                return f"box {kind!r} has an impossible size {box_len}"
            if pos + box_len > size:
                return f"box {kind!r} needs {pos + box_len - size} more bytes"
            pos += box_len
    return None


def _is_isobmff(path: str | os.PathLike[str]) -> bool:
    with open(path, "rb") as fh:
        return fh.read(12)[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free")


def _first(tags: dict[str, str], keys: tuple[str, ...]) -> str | None:
    for k in keys:
        v = (tags.get(k) or "").strip()
        if v:
            return v
    return None


def _rotation(container: Any, stream: Any) -> int | None:
    tag = stream.metadata.get("rotate")
    if tag and tag.lstrip("-").isdigit():
        return int(tag) % 360
    try:
        for frame in container.decode(stream):
            # PyAV reports counter-clockwise degrees; phones and ExifTool speak clockwise.
            return round(-float(frame.rotation)) % 360
    except Exception:  # a broken first frame: no rotation, the rest still counts
        return None
    return None


def _fps(stream: Any) -> float | None:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return round(float(rate), 3) if rate else None


MAX_DURATION = 30 * 86_400.0  # seconds; a longer declared duration is a damaged header


def _duration(container: Any, stream: Any) -> float | None:
    """The declared duration in seconds; None when absent or absurd (negative, over
    MAX_DURATION: hostile or damaged headers declare 136 years)."""
    seconds = None
    if container.duration:
        seconds = container.duration / 1_000_000
    elif stream.duration and stream.time_base:
        seconds = float(stream.duration * stream.time_base)
    if seconds is None or not 0 < seconds <= MAX_DURATION:
        return None
    return round(seconds, 3)


def _video_stream_info(container: Any, v: Any) -> dict[str, Any]:
    fps = _fps(v)
    frames = v.frames or None
    duration = _duration(container, v)
    estimated = not frames and bool(fps and duration)
    if estimated:
        frames = round(fps * duration)  # containers like MKV and WebM keep no count
    duration_estimated = duration is None and bool(frames and fps)
    if duration_estimated:  # no (or an absurd) declared duration: frames / fps
        duration = round(frames / fps, 3)
    cc = v.codec_context  # None when FFmpeg has no decoder for the stream's codec
    return {
        "width": getattr(cc, "width", None) or None, "height": getattr(cc, "height", None) or None,
        "fps": fps, "frames": frames, "frames_estimated": estimated, "duration": duration,
        "duration_estimated": duration_estimated,
        "codec": getattr(cc, "name", None), "pix_fmt": getattr(cc, "pix_fmt", None),
        "rotation": _rotation(container, v) if cc is not None else None,
    }


def read_container(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Container metadata of a video; raises MediaError when FFmpeg cannot read it."""
    import av

    if (os.fspath(path).lower().endswith((".mp4", ".m4v", ".mov", ".qt", ".3gp"))
            or _is_isobmff(path)):
        overrun = isobmff_overrun(path)
        if overrun and overrun != "trailing bytes":
            raise MediaError(f"{path}: truncated video ({overrun})", code=errors.TRUNCATED)
    try:
        container = av.open(os.fspath(path), metadata_errors="replace")
    except av.error.InvalidDataError as exc:
        raise MediaError(f"{path}: not a readable video ({exc.strerror or exc})",
                         code=errors.CORRUPT) from None
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaError(f"{path}: cannot open video ({exc})", code=errors.CORRUPT) from None
    with container:
        tags = {k: str(v) for k, v in container.metadata.items()}
        videos = list(container.streams.video)
        if not videos:
            if container.streams.audio:
                raise MediaError(f"{path}: audio only, no video stream",
                                 code=errors.UNSUPPORTED)
            raise MediaError(f"{path}: no readable stream (truncated or damaged container)",
                             code=errors.CORRUPT)
        v = videos[0]
        stream_tags = {k: str(val) for k, val in v.metadata.items()}
        info = _video_stream_info(container, v)
        audio = getattr(container.streams.audio[0].codec_context, "name", None) \
            if container.streams.audio else None
        loc_text = _first(tags, _LOCATION_KEYS) or _first(stream_tags, _LOCATION_KEYS)
        info.update({
            "container": container.format.name, "audio_codec": audio,
            "creation_time": tags.get("creation_time") or stream_tags.get("creation_time"),
            # Apple's local capture time with its UTC offset; creation_time is the muxing
            # time in UTC and is rewritten by many editors.
            "creation_date": tags.get("com.apple.quicktime.creationdate"),
            "encoder": tags.get("encoder") or stream_tags.get("encoder"),
            "make": _first(tags, _MAKE_KEYS), "model": _first(tags, _MODEL_KEYS),
            "software": _first(tags, _SOFTWARE_KEYS),
            "location": parse_iso6709(loc_text) if loc_text else None,
            "location_raw": loc_text, "tags": tags, "stream_tags": stream_tags,
        })
    return info
