"""Test videos generated from the real photos of the corpus (pytest plugin for the video tests).

Each video is a list of shots (a photo, panned or held still) joined by cuts or cross-fades,
so the true segment boundaries are known. Also: re-encoded at another size, with a logo
overlay, letterboxed, container-rotated, truncated, zero-length and not-a-video files.
`scripts/bench_video.py` uses the same generator for its 1-minute 1280x720 video.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

SIZE = (320, 240)
FPS = 15


@dataclass(frozen=True)
class Shot:
    """One continuous shot: a photo panned (or held still) for `seconds`."""

    photo: Path
    seconds: float
    motion: str = "pan"  # "pan" (left to right) | "still"


def _load(photo: Path, size: tuple[int, int], scale: float) -> np.ndarray:
    from PIL import Image, ImageOps

    with Image.open(photo) as im:
        im.draft("RGB", (size[0] * 2, size[1] * 2))
        img = ImageOps.exif_transpose(im).convert("RGB")
    w, h = size
    # Cover the frame with room to pan: the photo is `scale` times the frame's width.
    factor = max(w * scale / img.width, h / img.height)
    nw, nh = max(w, round(img.width * factor)), max(h, round(img.height * factor))
    return np.asarray(img.resize((nw, nh), Image.Resampling.BILINEAR))


def shot_frames(shot: Shot, size: tuple[int, int], fps: int) -> Iterator[np.ndarray]:
    """The RGB frames of one shot (a horizontal pan across the photo, or a still crop)."""
    w, h = size
    arr = _load(shot.photo, size, 1.4 if shot.motion == "pan" else 1.0)
    n = max(1, round(shot.seconds * fps))
    y0 = (arr.shape[0] - h) // 2
    span = arr.shape[1] - w
    for i in range(n):
        x0 = round(span * i / max(1, n - 1)) if shot.motion == "pan" else span // 2
        yield arr[y0:y0 + h, x0:x0 + w]


def render(shots: Sequence[Shot], size: tuple[int, int] = SIZE, fps: int = FPS,
           crossfade: float = 0.0) -> Iterator[np.ndarray]:
    """Frames of the shots joined by cuts, or by cross-fades of `crossfade` seconds.

    A cross-fade overlaps the end of one shot with the start of the next, so the
    video is shorter than the sum of the shots by `crossfade` per transition.
    """
    nfade = round(crossfade * fps)
    tail: list[np.ndarray] = []
    for k, shot in enumerate(shots):
        frames = list(shot_frames(shot, size, fps))
        if k and nfade:
            for i in range(nfade):
                a = (i + 1) / (nfade + 1)
                yield (tail[i] * (1 - a) + frames[i] * a).astype(np.uint8)
            frames = frames[nfade:]
        if nfade and k < len(shots) - 1:
            tail, frames = frames[-nfade:], frames[:-nfade]
        yield from frames


def write_video(path: Path, frames: Iterable[np.ndarray], fps: int = FPS, *,
                rotation: int = 0, crf: int = 23, gop: int | None = None,
                preset: str = "veryfast") -> Path:
    """Encode RGB frames as H.264 MP4 with PyAV; `rotation` goes in the display matrix."""
    import av

    it = iter(frames)
    first = next(it)
    h, w = first.shape[:2]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        opts = {"crf": str(crf), "preset": preset}
        if gop:
            opts["g"] = str(gop)
        stream.options = opts
        if rotation:
            stream.set_display_rotation(rotation)
        for arr in _chain(first, it):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(arr), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def _chain(first: np.ndarray, rest: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    yield first
    yield from rest


def transform(frames: Iterable[np.ndarray], size: tuple[int, int] | None = None,
              logo: bool = False, letterbox: bool = False) -> Iterator[np.ndarray]:
    """Re-sized / logo-overlaid / letterboxed copies of frames (what re-uploads look like)."""
    from PIL import Image, ImageDraw

    for arr in frames:
        img = Image.fromarray(arr)
        if letterbox:  # fit into a 16:9 canvas with black bars
            cw = round(img.height * 16 / 9) // 2 * 2
            canvas = Image.new("RGB", (cw, img.height))
            canvas.paste(img, ((cw - img.width) // 2, 0))
            img = canvas
        if size:
            img = img.resize(size, Image.Resampling.BILINEAR)
        if logo:  # a channel's watermark in the corner
            d = ImageDraw.Draw(img)
            lw, lh = img.width // 5, img.height // 8
            d.rectangle((img.width - lw - 6, 6, img.width - 6, 6 + lh), fill=(230, 20, 20))
            d.text((img.width - lw, 8), "NEWS", fill=(255, 255, 255))
        yield np.asarray(img)


def corpus_photos(corpus: Path, n: int = 12) -> list[Path]:
    """Decodable real camera JPEGs at least 400 px wide, sorted (for scripts)."""
    from PIL import Image

    out = []
    for p in sorted(corpus.rglob("*.jpg")):
        if "orientation" in p.parts or "corrupt" in p.name:  # duplicates, broken data
            continue
        try:
            with Image.open(p) as im:
                if im.width < 400:
                    continue
                im.load()
        except Exception:  # the corpus holds deliberately broken files
            continue
        out.append(p)
    return out[:n]


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="session")
def video_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session directory for generated videos."""
    return tmp_path_factory.mktemp("videos")


@pytest.fixture(scope="session")
def shot_photos(corpus_dir: Path) -> list[Path]:
    """Twelve distinct real photos for shots."""
    photos = corpus_photos(corpus_dir)
    assert len(photos) >= 12
    return photos


@pytest.fixture(scope="session")
def cut_shots(shot_photos: list[Path]) -> list[Shot]:
    """Four shots of different photos: cuts at 2, 5 and 7 seconds (9 s in all)."""
    p = shot_photos
    return [Shot(p[0], 2.0), Shot(p[3], 3.0), Shot(p[6], 2.0, "still"), Shot(p[9], 2.0)]


@pytest.fixture(scope="session")
def cut_video(video_dir: Path, cut_shots: list[Shot]) -> Path:
    """320x240 H.264, 15 fps, four shots joined by cuts at 2, 5 and 7 s."""
    return write_video(video_dir / "cuts.mp4", render(cut_shots))


@pytest.fixture(scope="session")
def rotated_video(video_dir: Path, shot_photos: list[Path]) -> Path:
    """A 2 s video whose container says: display rotated 90 degrees clockwise.

    The stored pixels are landscape 320x240 with a white bar along the top edge; once
    rotated for display the frame is portrait 240x320 with the bar along the right edge.
    """
    frames = []
    for arr in render([Shot(shot_photos[1], 2.0)]):
        arr = arr.copy()
        arr[:24] = 255
        frames.append(arr)
    return write_video(video_dir / "rotated.mp4", frames, rotation=-90)


@pytest.fixture(scope="session")
def bad_videos(video_dir: Path, cut_video: Path) -> dict[str, Path]:
    """Broken inputs, keyed by the error code each must give.

    truncated: the first third of an MP4 (its index, at the end, is lost); truncated_late:
    a "fast start" MP4 (index first) cut in half, so the first seconds still decode;
    empty: zero bytes; no_frames: a container a recorder closed before the first frame;
    not_media: text named .mp4; corrupt: an MP4 signature and a well-formed box of noise.
    """
    import av

    data = cut_video.read_bytes()
    d = video_dir
    paths = {k: d / f"{k}.mp4" for k in
             ("truncated", "truncated_late", "empty", "no_frames", "not_media", "corrupt")}
    paths["truncated"].write_bytes(data[: len(data) // 3])
    faststart = d / "faststart.mp4"
    with av.open(str(cut_video)) as src, \
            av.open(str(faststart), "w", options={"movflags": "faststart"}) as dst:
        ins = src.streams.video[0]
        outs = dst.add_stream_from_template(ins)
        for pkt in src.demux(ins):
            if pkt.dts is not None:
                pkt.stream = outs
                dst.mux(pkt)
    fs = faststart.read_bytes()
    paths["truncated_late"].write_bytes(fs[: len(fs) // 2])
    paths["empty"].write_bytes(b"")
    with av.open(str(paths["no_frames"]), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        out.start_encoding()
    paths["not_media"].write_text("this is not a video\n")
    noise = np.random.default_rng(7).integers(0, 256, 20000, np.uint8).tobytes()
    ftyp = b"\x00\x00\x00\x14ftypisom\x00\x00\x02\x00isom"
    paths["corrupt"].write_bytes(ftyp + (8 + len(noise)).to_bytes(4, "big") + b"mdat" + noise)
    return paths


@pytest.fixture(scope="session")
def archive_shots(shot_photos: list[Path]) -> list[Shot]:
    """The archived video's shots: cuts at 3, 7, 10 and 14 s (17 s in all)."""
    p = shot_photos
    return [Shot(p[0], 3.0), Shot(p[2], 4.0), Shot(p[4], 3.0, "still"), Shot(p[6], 4.0),
            Shot(p[8], 3.0)]


@pytest.fixture(scope="session")
def segment_videos(video_dir: Path, archive_shots: list[Shot],
                   shot_photos: list[Path]) -> dict[str, Path]:
    """The archived video and re-uses of it with known segment boundaries.

    - reupload: 2 s of other footage, archive 3-14 s, 2 s other; letterboxed to 16:9,
      426x240, a logo, lower quality. Query 2-13 s <-> archive 3-14 s.
    - crossfade: other footage, archive shots 2 and 3 (3-10 s), other; 0.6 s cross-fades.
      Query ~2.7-8.5 s <-> archive 3-10 s.
    - reordered: archive 10-14 s then 3-7 s. Two segments: 0-4 <-> 10-14, 4-8 <-> 3-7.
    - mirrored: archive 3-10 s flipped left-right. Query 0-7 s <-> archive 3-10 s.
    - image: a JPEG of the still shot (archive 7-10 s), at twice the size.
    """
    from PIL import Image

    a, other = archive_shots, [Shot(shot_photos[10], 2.0), Shot(shot_photos[11], 2.0)]
    out = {"archive": write_video(video_dir / "archive.mp4", render(a))}
    out["reupload"] = write_video(
        video_dir / "reupload.mp4",
        transform(render([other[0], *a[1:4], other[1]]), size=(426, 240), logo=True,
                  letterbox=True), crf=30)
    out["crossfade"] = write_video(
        video_dir / "crossfade.mp4",
        render([Shot(shot_photos[10], 3.0), a[1], a[2], Shot(shot_photos[11], 3.0)],
               crossfade=0.6))
    out["reordered"] = write_video(video_dir / "reordered.mp4", render([a[3], a[1]]))
    out["mirrored"] = write_video(video_dir / "mirrored.mp4",
                                  (np.fliplr(f) for f in render(a[1:3])))
    still = next(shot_frames(Shot(a[2].photo, 0.1, "still"), (SIZE[0] * 2, SIZE[1] * 2), FPS))
    out["image"] = video_dir / "still.jpg"
    Image.fromarray(still).save(out["image"], quality=85)
    return out
