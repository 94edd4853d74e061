"""Match stage, files: digests and perceptual hashes of whole images and videos.

Flow: media -> **match** -> archive. Builds on `hashing.py` (hash kinds, the decoded
picture to hash) and `media/frames.py` (sampled video frames); hands `HashResult`s to
`compare.py`, the archive and the checks. `hash_file` never raises for a bad file (its
error is in the result); `hash_paths` hashes many, in order, with worker processes.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from osintkit import errors
from osintkit.errors import ErrorInfo, MediaError, error_info
from osintkit.fileio import digests
from osintkit.match.hashing import (
    DEFAULT_HASHES,
    PDQ_MIN_QUALITY,
    hash_with_variants,
    load_image,
    shrink,
    to_rgb,
)
from osintkit.media.probe import iter_inputs, sniff
from osintkit.warnroute import collecting

# Seconds between sampled video frames (plus scene changes): ONE sampling for `hash`,
# `compare`, `verify`, `archive add` and `archive search`, so the same pair of videos gives
# the same segment times whichever command matched it (docs/video.md).
VIDEO_EVERY = 1.0


def file_digests(path: str | os.PathLike[str]) -> tuple[str, str]:
    """(sha256, md5) of a file, streamed (fileio.digests)."""
    got = digests(path)
    return got.sha256, got.md5


# ---------------------------------------------------------------- results
@dataclass
class FrameHashes:
    """Hashes of one sampled video frame at `t` seconds."""

    t: float
    hashes: dict[str, str | int]
    index: int | None = None
    scene_change: bool = False
    variants: dict[str, str] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"t": round(self.t, 3), "index": self.index, "scene_change": self.scene_change,
                "hashes": self.hashes}


@dataclass
class HashResult:
    """Digests and perceptual hashes of one file (`frames` for videos)."""

    path: Path
    ok: bool
    kind: str | None = None
    sha256: str | None = None
    md5: str | None = None
    hashes: dict[str, str | int] = field(default_factory=dict)
    frames: list[FrameHashes] = field(default_factory=list)
    error: ErrorInfo | None = None
    format: str | None = None
    width: int | None = None  # of the hashed picture, after orientation
    height: int | None = None
    variants: dict[str, str] = field(default_factory=dict, repr=False)  # PDQ dihedral
    warnings: list[str] = field(default_factory=list)  # the decoders' (osintkit/warnroute.py)
    # videos hashed with `pixels=True`: the reduced frames robust matching needs
    # (media/videopixels.py VideoPixels), kept from the same decode; never in JSON
    pixels: Any = field(default=None, repr=False)

    def to_dict(self, with_variants: bool = False) -> dict[str, Any]:
        """The `osintkit hash --json` object."""
        out: dict[str, Any] = {
            "path": str(self.path), "ok": self.ok, "kind": self.kind, "format": self.format,
            "sha256": self.sha256, "md5": self.md5, "hashes": self.hashes,
            "frames": [f.to_dict() for f in self.frames] if self.kind == "video" else None,
            "error": self.error.to_dict() if self.error else None,
            "warnings": self.warnings,
        }
        if with_variants:
            out["pdq_variants"] = self.variants or None
            if self.kind == "video":
                for f, d in zip(self.frames, out["frames"], strict=True):
                    d["pdq_variants"] = f.variants or None
        return out


def _hash_video(path: Path, kinds: tuple[str, ...], every: float,
                out: list[FrameHashes], pixels: Any = None) -> None:
    """Append the hashes of sampled frames to `out` (kept if the video breaks midway);
    `pixels` (a VideoPixels) also keeps each frame's reduced picture."""
    from osintkit.media.frames import sample_frames

    dense = pixels.add_dense if pixels is not None and pixels.dense else None
    for frame in sample_frames(path, every=every, dense=dense):
        full = to_rgb(frame.image)
        img = shrink(full)  # as a JPEG of the frame would be draft-decoded
        hashes, variants = hash_with_variants(img, kinds)
        out.append(FrameHashes(float(frame.t), hashes, frame.index, bool(frame.scene_change),
                               variants))
        if pixels is not None:
            pixels.add(frame, full, hashes)
    if pixels is not None:
        pixels.duration = _duration(path)


def _duration(path: Path) -> float | None:
    """The video stream's duration in seconds, as its container declares it."""
    import av

    try:
        with av.open(str(path), metadata_errors="ignore") as c:
            s = c.streams.video[0]
            if s.duration and s.time_base:
                return float(s.duration * s.time_base)
            return c.duration / 1_000_000 if c.duration else None
    except Exception:  # a damaged container: the last frame's time will do
        return None


class _BackgroundDigests(threading.Thread):
    """sha256 + md5 of a file in a thread. hashlib and Pillow's decoders release the GIL,
    so the digests overlap the decode (measured in scripts/bench_hash.py)."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self._out: tuple[str, str] | None = None
        self._exc: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self._out = file_digests(self.path)
        except BaseException as exc:  # handed to the caller by result()
            self._exc = exc

    def result(self) -> tuple[str, str]:
        self.join()
        if self._exc is not None:
            raise self._exc
        assert self._out is not None
        return self._out


def _hash_content(res: HashResult, kinds: tuple[str, ...], every: float,
                  pixels: bool | str = False) -> None:
    if res.kind == "video":
        if pixels:
            from osintkit.media.videopixels import VideoPixels

            res.pixels = VideoPixels(dense=pixels == "archive", min_quality=PDQ_MIN_QUALITY)
        _hash_video(res.path, kinds, every, res.frames, res.pixels)  # truncated: frames kept
    else:
        img = load_image(res.path)
        res.width, res.height = img.size
        res.hashes, res.variants = hash_with_variants(img, kinds)


def hash_file(path: str | os.PathLike[str], kinds: Iterable[str] = DEFAULT_HASHES,
              every: float = VIDEO_EVERY, pixels: bool | str = False) -> HashResult:
    """Digests and perceptual hashes of one image or video; never raises for a bad file.
    `pixels`: a video also keeps its reduced frames (`HashResult.pixels`) for robust
    matching, from the same decode; "archive": and every reference frame's small grey
    thumbnail (what an archived video keeps, archive/videostore.py)."""
    p = Path(path)
    res = HashResult(p, ok=False)
    digests: _BackgroundDigests | None = None
    try:
        probe = sniff(p)
        res.kind, res.format = probe.kind, probe.format
        digests = _BackgroundDigests(p)
        with collecting(res.warnings):  # Pillow's warnings about damaged tags
            _hash_content(res, tuple(kinds), every, pixels)
        res.sha256, res.md5 = digests.result()
        res.ok = True
    except MediaError as exc:
        res.error = exc.info()
    except OSError as exc:  # read error between sniff and digest
        res.error = ErrorInfo(errors.UNREADABLE, f"{p}: cannot read ({exc.strerror or exc})")
    except Exception as exc:  # one bad file never stops a batch
        info = error_info(exc)
        res.error = ErrorInfo(info.code, f"{p}: {info.message}")
    if digests is not None and res.sha256 is None:
        with contextlib.suppress(Exception):  # a bad picture still gets its digests
            res.sha256, res.md5 = digests.result()
    return res


def _hash_one(args: tuple[Path, tuple[str, ...], float, bool | str]) -> HashResult:
    return hash_file(*args)


def collect_inputs(paths: Iterable[str | os.PathLike[str]],
                   on_skip: Callable[[Path, str], None] | None = None) -> list[Any]:
    """Expand files and directories into `probe.Input`s (see `iter_inputs`)."""
    return list(iter_inputs(paths, on_skip))


def hash_paths(inputs: Iterable[Any], kinds: Iterable[str] = DEFAULT_HASHES, jobs: int = 1,
               every: float = VIDEO_EVERY, pixels: bool | str = False) -> Iterator[HashResult]:
    """Hash many inputs (from `collect_inputs`) in order, with `jobs` processes
    (`pixels`: see `hash_file`)."""
    kinds = tuple(kinds)
    todo: list[tuple[Path, tuple[str, ...], float, bool | str]] = []
    slots: list[HashResult | None] = []
    for item in inputs:
        if item.error:
            slots.append(HashResult(item.path, ok=False, error=item.error))
        else:
            slots.append(None)
            todo.append((item.path, kinds, every, pixels))
    if jobs > 1 and len(todo) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=min(jobs, len(todo))) as pool:
            yield from _merge(slots, pool.map(_hash_one, todo, chunksize=1))
    else:
        yield from _merge(slots, map(_hash_one, todo))


def _merge(slots: list[HashResult | None], computed: Iterator[HashResult]) -> Iterator[HashResult]:
    for slot in slots:
        yield slot if slot is not None else next(computed)
