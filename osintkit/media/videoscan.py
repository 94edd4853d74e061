"""Media stage, the demux pass of a video: open it safely, list its packets, plan the decode.

Sits under `frames.py`: `open_video` refuses what should not be decoded (no video
stream, frames over `MAX_PIXELS`, a truncated MP4); `scan_packets` demuxes once for the
keyframe times (and, with `trim`, decodes a few keyframes to find black bars);
`plan_decode` decides per GOP how far the decode pass must go past its keyframe.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from osintkit import errors
from osintkit.errors import MediaError
from osintkit.media.framepixels import black_level, content_box, luma, turn

# Black bars must be dark (framepixels.BAR_LEVEL) in all of up to BAR_PROBES keyframes
# spread over the video.
BAR_PROBES = 8
MAX_PIXELS = 80_000_000  # per frame: 8K is 33 MP; a hostile header can claim far more


@dataclass
class DecodePlan:
    """What to decode: keyframe times, grid targets, per-GOP decode limits."""

    keyframes: list[float]
    end: float  # time just past the last frame
    emit_keys: set[float] = field(default_factory=set)
    targets: list[float] = field(default_factory=list)
    fill_until: dict[float, float] = field(default_factory=dict)  # GOP start -> decode limit


@dataclass
class Packets:
    """What the demux pass found: keyframe times, the last packet, the black bars."""

    keyframes: list[float]
    last_t: float
    frame_dur: float
    count: int
    broken: bool  # the demuxer stopped on bad data
    box: tuple[int, int, int, int] | None = None  # the video's black bars, if any
    declared: float | None = None  # duration the container announces


def open_video(path: Path) -> Any:
    """The container open for reading; MediaError for what must not be decoded."""
    import av

    try:
        container = av.open(str(path), "r", metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        if mp4_truncated(path):
            raise MediaError(f"{path}: truncated video (the file ends inside a box)",
                             code=errors.TRUNCATED) from None
        reason = " ".join(str(getattr(exc, "strerror", "") or exc).split())
        raise MediaError(f"{path}: cannot read video ({reason})", code=errors.CORRUPT) from None
    video = container.streams.video
    if video and (video[0].codec_context.width or 0) * (video[0].codec_context.height or 0) \
            > MAX_PIXELS:
        w, h = video[0].codec_context.width, video[0].codec_context.height
        container.close()
        raise MediaError(f"{path}: video frames of {w}x{h} pixels, over the "
                         f"{MAX_PIXELS // 1_000_000} MP limit", code=errors.TOO_LARGE)
    if not video:
        empty = not container.streams
        container.close()
        if empty:  # what a muxer leaves when a recording stopped before its first frame
            raise MediaError(f"{path}: zero-length video (no streams, no frames)",
                             code=errors.EMPTY)
        raise MediaError(f"{path}: no video stream (audio or data only)", code=errors.NOT_MEDIA)
    return container


_ISO_BOXES = {b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}


def mp4_truncated(path: Path) -> bool:
    """True when a top-level ISO-BMFF box claims to run past the end of the file."""
    size = path.stat().st_size
    pos = 0
    with path.open("rb") as fh:
        if fh.read(8)[4:8] not in _ISO_BOXES:
            return False  # not MP4/MOV/3GP: AVI, Matroska... have their own structure
        while pos + 8 <= size:
            fh.seek(pos)
            head = fh.read(16)
            box = int.from_bytes(head[:4], "big")
            if box == 1 and len(head) >= 16:
                box = int.from_bytes(head[8:16], "big")
            elif box == 0:  # runs to the end of the file by definition
                return False
            if box < 8:
                return False  # not a box structure at all: corrupt, not truncated
            pos += box
        return pos > size


def stream_time(stream: Any) -> Callable[[int | None], float | None]:
    tb = float(stream.time_base)
    start = stream.start_time or 0

    def conv(pts: int | None) -> float | None:
        return None if pts is None else (pts - start) * tb

    return conv


def scan_packets(container: Any, stream: Any, trim: bool) -> Packets:
    """Demux only: keyframe times, the last packet's time; with `trim`, a few keyframes
    spread over the video are decoded to find black bars common to all of them."""
    import av

    conv = stream_time(stream)
    keys: list[float] = []
    last, count, dur, broken = 0.0, 0, 0.0, False
    length = container.duration / 1_000_000 if container.duration else 60.0
    probe_every, next_probe = max(2.0, length / BAR_PROBES), 0.0
    probes: list[tuple[tuple[int, int], Any]] = []
    stream.codec_context.thread_type = "SLICE"  # no frame-threading delay for lone keyframes
    try:
        for pkt in container.demux(stream):
            t = conv(pkt.pts)
            if t is None or pkt.size == 0:
                continue
            count += 1
            if pkt.duration:
                dur = pkt.duration * float(stream.time_base)
            last = max(last, t)
            if pkt.is_keyframe:
                keys.append(t)
                if trim and t >= next_probe:
                    next_probe = t + probe_every
                    probes.extend(_probe(f) for f in pkt.decode())
        if trim:  # the decoder holds back frames for reordering: drain it
            probes.extend(_probe(f) for f in stream.codec_context.decode(None))
    except av.error.FFmpegError:
        broken = True
    rate = stream.average_rate or stream.guessed_rate
    frame_dur = dur or (1.0 / float(rate) if rate else 1 / 30)
    declared = None
    if stream.duration:
        declared = float(stream.duration * stream.time_base)
    elif container.duration:
        declared = container.duration / 1_000_000
    return Packets(sorted(set(keys)), last, frame_dur, count, broken, _bars(probes), declared)


def _probe(vf: Any) -> tuple[tuple[int, int], tuple[int, int, int, int] | None]:
    """(displayed size, content box) of a decoded frame, from its luma plane."""
    from PIL import Image

    img = turn(Image.fromarray(luma(vf)), vf.rotation)
    return img.size, content_box(img, black_level(vf))


def _bars(probes: list[tuple[tuple[int, int], Any]]) -> tuple[int, int, int, int] | None:
    """Content box inside bars dark in every probe (a dark corner of one shot is no bar)."""
    boxes = [box for _, box in probes]
    if not boxes or any(b is None for b in boxes) or len({size for size, _ in probes}) > 1:
        return None
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    return (x0, y0, x1, y1)


def plan_decode(keys: list[float], end: float, every: float, tol: float,
          dense: bool = False) -> DecodePlan:
    """Decide which keyframes to emit and where decoding must go past keyframes
    (`dense`: every GOP's reference frames are decoded, to its end)."""
    if not keys or keys[0] > tol:
        keys = [0.0, *keys]  # no keyframe at the start: decode from the start anyway
    plan = DecodePlan(keys, end)
    last: float | None = None
    for k, nxt in zip(keys, [*keys[1:], end], strict=True):
        # A GOP longer than `every` needs n targets inside, decoded reference frames only.
        # Spread evenly up to `every` before the next keyframe (not k + every, k + 2 every
        # ...): decoding stops as early as the guarantee allows (-20% decoding measured).
        n = math.ceil((nxt - k) / every - 1e-9) - 1
        inside = [k + (nxt - every - k) * j / n for j in range(1, n + 1)] if n > 0 else []
        # The keyframe is emitted unless the next emission point is within `every` of
        # the last one emitted (a GOP shorter than `every`).
        after = inside[0] if inside else nxt
        if last is None or k - last >= every - tol or after - last > every + tol:
            plan.emit_keys.add(k)
            last = k
        if inside:
            plan.targets.extend(inside)
            plan.fill_until[k] = inside[-1] + tol
            last = inside[-1]
        if dense:
            plan.fill_until[k] = max(plan.fill_until.get(k, -1.0), nxt - tol)
    return plan


