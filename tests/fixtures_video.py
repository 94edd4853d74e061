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
    """Broken inputs: truncated, zero-length, not a video (text named .mp4), garbage mdat."""
    data = cut_video.read_bytes()
    paths = {
        "truncated": video_dir / "truncated.mp4",
        "empty": video_dir / "empty.mp4",
        "not_media": video_dir / "notes.mp4",
        "corrupt": video_dir / "garbage.mp4",
    }
    paths["truncated"].write_bytes(data[: len(data) // 3])
    paths["empty"].write_bytes(b"")
    paths["not_media"].write_text("this is not a video\n")
    # A valid MP4 signature followed by noise: sniffed as video, refused by the demuxer.
    rng = np.random.default_rng(7)
    paths["corrupt"].write_bytes(data[:32] + rng.integers(0, 256, 20000, np.uint8).tobytes())
    return paths
