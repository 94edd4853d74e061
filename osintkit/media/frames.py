"""Media stage: keyframes of a video, decoded no more than needed.

Where it sits: after `probe` (what is this file?), before hashing (which hashes the
frames) and the archive (which stores per-frame hashes with their times).

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
import math
import os
import statistics
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from osintkit import errors
from osintkit.errors import MediaError
from osintkit.media.probe import sniff

if TYPE_CHECKING:
    from PIL import Image

# Scene change score between consecutive decoded frames: the L1 distances (0..1 each) of
# their Y, U and V histograms (16 bins) plus a quarter of their mean absolute luma
# difference (0..1), on ~64x36 strided samples of the planes. Measured on the test and
# benchmark videos: cuts score 0.5-1.6; pans 0.1-0.2 between frames 1 s apart, less
# when dense. The pixel difference is down-weighted because motion inflates it (a pan
# 1 s apart: 0.27, as much as a cut); the chroma histograms carry the cuts. A cut is a
# score above max(SCENE_MIN, SCENE_FACTOR x the median of the recent scores), so a
# shaky or fast-moving shot raises its own threshold.
SCENE_MIN = 0.3
SCENE_FACTOR = 3.0
SCENE_WINDOW = 8
MIN_SHOT = 0.3  # seconds: a fade scores high on several frames in a row; flag it once
# Letterbox/pillarbox bars: edge rows/columns with >= 80% of pixels darker than this,
# in all of up to BAR_PROBES keyframes spread over the video.
BAR_LEVEL = 20
BAR_PROBES = 8
THUMB = (64, 36)
MAX_PIXELS = 80_000_000  # per frame: 8K is 33 MP; a hostile header can claim far more
DECODE_THREADS = "AUTO"  # frame + slice threads (measured in scripts/bench_video.py)


@dataclass
class Frame:
    """One sampled frame: time in seconds from the start, frame number, RGB image."""

    t: float
    index: int
    image: Image.Image  # RGB, container rotation applied (black bars cut off if trimmed)
    scene_change: bool  # first frame of a new shot (the first frame of the video is one)
    box: tuple[int, int, int, int] | None = None  # where `image` sat inside its bars


@dataclass
class _Plan:
    """What to decode: keyframe times, grid targets, per-GOP decode limits."""

    keyframes: list[float]
    end: float  # time just past the last frame
    emit_keys: set[float] = field(default_factory=set)
    targets: list[float] = field(default_factory=list)
    fill_until: dict[float, float] = field(default_factory=dict)  # GOP start -> decode limit


@dataclass
class _Packets:
    keyframes: list[float]
    last_t: float
    frame_dur: float
    count: int
    broken: bool  # the demuxer stopped on bad data
    box: tuple[int, int, int, int] | None = None  # the video's black bars, if any
    declared: float | None = None  # duration the container announces


def _open(path: Path) -> Any:
    import av

    try:
        container = av.open(str(path), "r", metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        if _mp4_truncated(path):
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


def _mp4_truncated(path: Path) -> bool:
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


def _stream_time(stream: Any) -> Callable[[int | None], float | None]:
    tb = float(stream.time_base)
    start = stream.start_time or 0

    def conv(pts: int | None) -> float | None:
        return None if pts is None else (pts - start) * tb

    return conv


def _scan_packets(container: Any, stream: Any, trim: bool) -> _Packets:
    """Demux only: keyframe times, the last packet's time; with `trim`, a few keyframes
    spread over the video are decoded to find black bars common to all of them."""
    import av

    conv = _stream_time(stream)
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
    return _Packets(sorted(set(keys)), last, frame_dur, count, broken, _bars(probes), declared)


def _probe(vf: Any) -> tuple[tuple[int, int], tuple[int, int, int, int] | None]:
    """(displayed size, content box) of a decoded frame, from its luma plane."""
    from PIL import Image

    img = _turn(Image.fromarray(_luma(vf)), vf.rotation)
    return img.size, content_box(img, _black_level(vf))


def _bars(probes: list[tuple[tuple[int, int], Any]]) -> tuple[int, int, int, int] | None:
    """Content box inside bars dark in every probe (a dark corner of one shot is no bar)."""
    boxes = [box for _, box in probes]
    if not boxes or any(b is None for b in boxes) or len({size for size, _ in probes}) > 1:
        return None
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    return (x0, y0, x1, y1)


def _plan(keys: list[float], end: float, every: float, tol: float,
          dense: bool = False) -> _Plan:
    """Decide which keyframes to emit and where decoding must go past keyframes
    (`dense`: every GOP's reference frames are decoded, to its end)."""
    if not keys or keys[0] > tol:
        keys = [0.0, *keys]  # no keyframe at the start: decode from the start anyway
    plan = _Plan(keys, end)
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


_LUMA_FORMATS = {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p",
                 "yuv411p", "yuv410p", "nv12", "nv21", "gray"}


def _luma(vf: Any) -> Any:
    """The frame's 8-bit luma plane as a 2-D numpy view (no conversion when YUV)."""
    import numpy as np

    if vf.format.name in _LUMA_FORMATS:
        plane = vf.planes[0]
        a = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        return a[:, : plane.width]
    return vf.to_ndarray(format="gray")


def _black_level(vf: Any) -> int:
    """Luma below which a bar pixel counts as black (limited-range video: black is 16)."""
    full = vf.format.name.startswith("yuvj") or vf.format.name == "gray" or vf.color_range == 2
    return BAR_LEVEL if full else 16 + BAR_LEVEL * 219 // 255


def _yuv_samples(vf: Any) -> list[Any]:
    """~64x36 strided samples of the Y, U and V planes (converted only if not YUV)."""
    import numpy as np

    if vf.format.name not in _LUMA_FORMATS or vf.format.name == "gray" \
            or vf.format.name.startswith("nv"):
        vf = vf.reformat(format="yuv420p")
    out = []
    for plane in vf.planes[:3]:
        a = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        a = a[:, : plane.width]
        out.append(a[:: max(1, a.shape[0] // THUMB[1]), :: max(1, a.shape[1] // THUMB[0])])
    return out


class _SceneDetector:
    """Y/U/V histograms + luma difference between consecutive decoded frames, adaptive
    threshold. Works on strided views of the planes: no colour conversion, no scaling
    (a swscale RGB thumbnail per decoded frame cost 40% of the pass, measured)."""

    def __init__(self) -> None:
        self.prev: Any = None
        self.recent: deque[float] = deque(maxlen=SCENE_WINDOW)

    def update(self, vframe: Any) -> bool:
        import numpy as np

        planes = _yuv_samples(vframe)
        hists = [np.bincount((p >> 4).ravel(), minlength=16) / p.size for p in planes]
        cur = (hists, planes[0].astype(np.float32))
        prev, self.prev = self.prev, cur
        if prev is None:
            return True
        score = sum(float(np.abs(a - b).sum()) / 2 for a, b in zip(cur[0], prev[0], strict=True))
        score += float(np.abs(cur[1] - prev[1]).mean()) / 255 / 4
        base = statistics.median(self.recent) if self.recent else 0.0
        cut = score > max(SCENE_MIN, SCENE_FACTOR * base)
        if not cut:  # the threshold follows motion within shots, not the cuts themselves
            self.recent.append(score)
        return cut


def content_box(img: Image.Image, level: int = BAR_LEVEL) -> tuple[int, int, int, int] | None:
    """The box inside black letterbox/pillarbox bars, or None when there are none.

    Keeps at least 40% of each side, so a dark night-time frame is not cut to a sliver.
    """
    import numpy as np

    a = np.asarray(img.convert("L"), dtype=np.int16)
    box = []
    for axis in (0, 1):  # columns, then rows
        # A bar line is mostly dark: a channel logo drawn over the bar does not count.
        live = np.nonzero((a > level).mean(axis=axis) > 0.2)[0]
        n = a.shape[1 - axis]
        if not len(live) or (live[-1] + 1 - live[0]) < 0.4 * n:
            return None
        box.append((int(live[0]), int(live[-1]) + 1))
    (x0, x1), (y0, y1) = box
    if (x0, y0, x1, y1) == (0, 0, img.width, img.height) or min(x0, y0) < 0:
        return None
    # Ignore a 1-2 pixel dark edge (encoder padding): only real bars count.
    if max(x0, img.width - x1, y0, img.height - y1) <= 2:
        return None
    return (x0, y0, x1, y1)


STRIP_WIDTH = 64  # width of `gray_thumb`


def gray_thumb(vf: Any, box: tuple[int, int, int, int] | None = None,
               width: int = STRIP_WIDTH) -> Any:
    """A decoded frame's luma as a small grey uint8 array `width` wide (bars `box` cut
    off, display rotation applied): no colour conversion, one area resize."""
    import cv2
    import numpy as np

    y = _luma(vf)
    rot = round((vf.rotation or 0) / 90) % 4
    # `box` is in displayed pixels: cut directly, or after the rotation (rare)
    if box is not None and rot == 0 and y.shape[1] >= box[2] and y.shape[0] >= box[3]:
        y = y[box[1]:box[3], box[0]:box[2]]
    if rot:
        y = np.rot90(y, rot)
        if box is not None and y.shape[1] >= box[2] and y.shape[0] >= box[3]:
            y = y[box[1]:box[3], box[0]:box[2]]
    h = max(1, round(width * y.shape[0] / max(1, y.shape[1])))
    return cv2.resize(np.ascontiguousarray(y), (width, h), interpolation=cv2.INTER_AREA)


def _rotated(vframe: Any) -> Image.Image:
    from PIL import Image

    # Same pixels as PyAV's to_image(), which copies row by row: 15.7 ms vs 2.9 ms per
    # 1280x720 frame (measured), 15% of the whole keyframe pass.
    return _turn(Image.fromarray(vframe.to_ndarray(format="rgb24")), vframe.rotation)


def _turn(img: Image.Image, rotation: float | None) -> Image.Image:
    """Apply a display-matrix rotation (degrees counter-clockwise) to a picture."""
    from PIL import Image

    rot = round((rotation or 0) / 90) % 4
    if not rot:
        return img
    T = Image.Transpose
    return img.transpose((T.ROTATE_90, T.ROTATE_180, T.ROTATE_270)[rot - 1])


def _frame(t: float, index: int, vf: Any, cut: bool,
           box: tuple[int, int, int, int] | None) -> Frame:
    img = _rotated(vf)
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
    container = _open(p)
    try:
        stream = container.streams.video[0]
        packets = _scan_packets(container, stream, trim)
        if packets.count == 0:
            raise MediaError(f"{p}: video has no frames", code=errors.EMPTY)
    finally:
        container.close()
    container = _open(p)  # reopened: cheaper and surer than seeking back to the start
    try:
        stream = container.streams.video[0]
        last_t = yield from _decode(container, stream, packets, every, scenes, dense)
    finally:
        container.close()
    _check_complete(p, packets, last_t)


def _check_complete(p: Path, packets: _Packets, last_t: float | None) -> None:
    if last_t is None:
        if packets.broken or _mp4_truncated(p):
            raise MediaError(f"{p}: truncated video (no frame could be decoded)",
                             code=errors.TRUNCATED)
        raise MediaError(f"{p}: no frame could be decoded", code=errors.CORRUPT)
    declared = packets.declared
    short = declared is not None and packets.last_t < declared - 1.0
    if packets.broken or short or _mp4_truncated(p):
        of = f" of {declared:.1f} s" if declared else ""
        raise MediaError(f"{p}: truncated video (frames decoded up to {last_t:.1f} s{of})",
                         code=errors.TRUNCATED)


def _decode(container: Any,  # noqa: C901  (one pass: GOP plan, sampling, dense strip)
            stream: Any, packets: _Packets, every: float,
            scenes: bool, dense: Callable[[float, Any], None] | None = None) -> Iterator[Frame]:
    """The decode pass; returns the time of the last decoded frame (None if none)."""
    import av

    tol = packets.frame_dur / 2
    plan = _plan(packets.keyframes, packets.last_t + packets.frame_dur, every, tol,
                 dense is not None)
    rate = float(stream.average_rate or stream.guessed_rate or 1 / packets.frame_dur)
    conv = _stream_time(stream)
    ctx = stream.codec_context
    ctx.thread_type = DECODE_THREADS
    detector = _SceneDetector() if scenes else None
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
