"""Media stage: keyframes of a video, decoded no more than needed.

Where it sits: after `probe` (what is this file?), before the match stage (which hashes
the frames, match/hashfile.py) and the archive (which stores per-frame hashes with their
times). The demux pass and the decode plan are in `videoscan.py`; the pixel work on
decoded frames (luma, bars, rotation, scene cuts) in `framepixels.py`.

How (figures in the README, `scripts/bench_video.py`): one cheap demux pass lists the
packets and where the encoder put keyframes; then one decode pass with PyAV where the
decoder's `skip_frame` is switched per GOP. A GOP no longer than `every` seconds is
decoded key frame only ("NONKEY"); a longer one is decoded reference frames only
("NONREF") up to its last sampling target, then key frame only again. So we emit at
least one frame every `every` seconds, the keyframes the encoder put at scene cuts, and
frames whose colour histogram jumps past an adaptive threshold (`scene_change`).
The rotation in the container's display matrix is applied to every image.
"""

from __future__ import annotations

import bisect
import os
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from osintkit import errors
from osintkit.errors import MediaError
from osintkit.media.framepixels import SceneDetector, gray_thumb, rotated
from osintkit.media.probe import sniff
from osintkit.media.videoscan import (
    Packets,
    mp4_truncated,
    open_video,
    plan_decode,
    scan_packets,
    stream_time,
)

if TYPE_CHECKING:
    from PIL import Image

MIN_SHOT = 0.3  # seconds: a fade scores high on several frames in a row; flag it once
DECODE_THREADS = "AUTO"  # frame + slice threads (measured in scripts/bench_video.py)


@dataclass
class Frame:
    """One sampled frame: time in seconds from the start, frame number, RGB image."""

    t: float
    index: int
    image: Image.Image  # RGB, container rotation applied (black bars cut off if trimmed)
    scene_change: bool  # first frame of a new shot (the first frame of the video is one)
    box: tuple[int, int, int, int] | None = None  # where `image` sat inside its bars


def _frame(t: float, index: int, vf: Any, cut: bool,
           box: tuple[int, int, int, int] | None) -> Frame:
    img = rotated(vf)
    if box and img.size[0] >= box[2] and img.size[1] >= box[3]:
        return Frame(round(t, 3), index, img.crop(box), cut, box)
    return Frame(round(t, 3), index, img, cut)


def _near(sorted_times: list[float], t: float, tol: float) -> bool:
    """Is a time within `tol` of `t` in the sorted list? (bisect: long videos have
    thousands of keyframes)"""
    i = bisect.bisect_left(sorted_times, t - tol)
    return i < len(sorted_times) and sorted_times[i] <= t + tol


def _check_input(path: Path, every: float) -> None:
    if every <= 0:
        raise ValueError("every must be > 0 seconds")
    probe = sniff(path)
    if probe.kind != "video":
        raise MediaError(f"{path}: is an image ({probe.format}), not a video",
                         code=errors.NOT_MEDIA)


def sample_frames(path: str | os.PathLike[str], every: float = 2.0,
                  scenes: bool = True, trim: bool = True,
                  dense: Callable[[float, Any], None] | None = None) -> Iterator[Frame]:
    """Yield keyframes: at least one every `every` seconds, plus one at each scene change.

    `trim`: cut off black letterbox/pillarbox bars (a re-upload's bars would otherwise
    change every perceptual hash); `Frame.box` says where the picture sat.
    `dense(t, gray)`: also decode every reference frame (B-frames skipped) and hand each
    one's small grey thumbnail (`gray_thumb`, bars cut, rotation applied) to this
    callback -- what an archived video keeps for time alignment (archive/videostore.py).

    Raises MediaError: `empty`/`not_media` before any frame; `corrupt` when nothing
    decodes; `truncated` after the frames that could be decoded have been yielded.
    """
    p = Path(path)
    _check_input(p, every)
    container = open_video(p)
    try:
        stream = container.streams.video[0]
        packets = scan_packets(container, stream, trim)
        if packets.count == 0:
            raise MediaError(f"{p}: video has no frames", code=errors.EMPTY)
    finally:
        container.close()
    container = open_video(p)  # reopened: cheaper and surer than seeking back to the start
    try:
        stream = container.streams.video[0]
        last_t = yield from _decode(container, stream, packets, every, scenes, dense)
    finally:
        container.close()
    _check_complete(p, packets, last_t)


def _check_complete(p: Path, packets: Packets, last_t: float | None) -> None:
    if last_t is None:
        if packets.broken or mp4_truncated(p):
            raise MediaError(f"{p}: truncated video (no frame could be decoded)",
                             code=errors.TRUNCATED)
        raise MediaError(f"{p}: no frame could be decoded", code=errors.CORRUPT)
    declared = packets.declared
    short = declared is not None and packets.last_t < declared - 1.0
    if packets.broken or short or mp4_truncated(p):
        of = f" of {declared:.1f} s" if declared else ""
        raise MediaError(f"{p}: truncated video (frames decoded up to {last_t:.1f} s{of})",
                         code=errors.TRUNCATED)


def _decode(container: Any,  # noqa: C901  (one pass: GOP plan, sampling, dense strip)
            stream: Any, packets: Packets, every: float,
            scenes: bool, dense: Callable[[float, Any], None] | None = None) -> Iterator[Frame]:
    """The decode pass; returns the time of the last decoded frame (None if none)."""
    import av

    tol = packets.frame_dur / 2
    plan = plan_decode(packets.keyframes, packets.last_t + packets.frame_dur, every, tol,
                 dense is not None)
    rate = float(stream.average_rate or stream.guessed_rate or 1 / packets.frame_dur)
    conv = stream_time(stream)
    ctx = stream.codec_context
    ctx.thread_type = DECODE_THREADS
    detector = SceneDetector() if scenes else None
    targets = deque(sorted(plan.targets))
    keys = set(plan.keyframes)
    emit = sorted(plan.emit_keys)
    last_t: float | None = None
    mode, limit, last_cut = "NONKEY", -1.0, -1.0
    ctx.skip_frame = mode  # the decoder's default decodes everything
    for pkt in container.demux(stream):
        t = conv(pkt.pts)
        if t is not None and t in keys:
            limit = plan.fill_until.get(t, -1.0)
        # Past the limit, stay on reference frames until the decoder (which lags the
        # packets by its reordering delay) has delivered the GOP's last target.
        pending = bool(targets) and targets[0] <= limit
        want = "NONREF" if pending or (t is not None and t <= limit) else "NONKEY"
        if want != mode:
            ctx.skip_frame = mode = want
        try:
            vframes = pkt.decode()
        except av.error.FFmpegError:
            continue  # a damaged packet: the next keyframe resynchronises the decoder
        for vf in vframes:
            ft = conv(vf.pts)
            if ft is None or (last_t is not None and ft <= last_t):
                continue
            last_t = ft
            if dense is not None:
                dense(round(ft, 3), gray_thumb(vf, packets.box))
            cut = detector.update(vf) if detector else False
            if cut:
                cut, last_cut = ft - last_cut >= MIN_SHOT, ft
            hit = False
            while targets and targets[0] <= ft + tol:
                targets.popleft()
                hit = True
            if hit or cut or _near(emit, ft, tol):
                yield _frame(ft, round(ft * rate), vf, cut, packets.box)
    return last_t
