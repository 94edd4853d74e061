"""Benchmark: the keyframe pass (media/frames.py) against plain full decoding with OpenCV;
the robust video search beside the plain frame-hash pass; recall on disguised real clips.

Generates (once, cached) a 1-minute 1280x720 30 fps H.264 video from the real photos in
the corpus (pans, stills and cuts; libx264 defaults: keyframe at least every 250 frames
and at scene cuts, B-frames), then times, in the same run, median of --repeat runs:

  opencv read()        every frame decoded and converted to BGR (the baseline)
  opencv grab/retrieve every frame decoded, only one per 2 s converted
  pyav full decode     every frame decoded, none converted
  pyav keyframes only  skip_frame=NONKEY (as sparse as the encoder's keyframes)
  osintkit frames      sample_frames(every=2): >= 1 frame / 2 s + scene changes,
                       RGB images, bars probe, scene detection (what `frames` uses)

Realtime factor = video seconds / median wall seconds; speed-up = median over rounds of
(baseline seconds / pass seconds) within the round.

Then the robust pass (the default of `archive search` and `verify` for a video: frame
hashes with the reduced frames kept, video box, shot representatives' features and fits,
pixel alignment, segments) against the plain frame-hash pass (`hash_file`, what
`--fast` costs), both at defaults, on two queries of the same minute: a re-encoded copy
and a screen recording of it inside a drawn player. The archive holds the original and
photos. With --clips DIR (and --photos DIR), the recall benchmark (scripts/videobench.py).

Usage:
  python scripts/bench_video.py [--repeat 5] [--gop 250] [--sheet docs/contact-sheet.jpg]
  python scripts/bench_video.py --only recall --clips CLIPS --photos PHOTOS
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the test videos' generator
sys.path.insert(0, str(ROOT / "scripts"))  # videobench.py

from fixtures_video import Shot, corpus_photos, render, write_video  # noqa: E402

from osintkit.media.frames import sample_frames  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "exif-samples"
SIZE = (1280, 720)
FPS = 30


def make_video(path: Path, gop: int | None) -> Path:
    """1 minute: 12 shots of 5 s, alternately panned and still, joined by cuts."""
    if path.exists():
        return path
    photos = corpus_photos(CORPUS)
    shots = [Shot(photos[i % len(photos)], 5.0, "pan" if i % 3 else "still") for i in range(12)]
    tmp = path.with_suffix(".part.mp4")
    write_video(tmp, render(shots, SIZE, FPS), FPS, gop=gop, preset="veryfast")
    tmp.rename(path)
    return path


def cv_read(path: Path) -> int:
    import cv2

    cap = cv2.VideoCapture(str(path))
    n = 0
    while True:
        ok, _ = cap.read()
        if not ok:
            break
        n += 1
    cap.release()
    return n


def cv_grab_retrieve(path: Path, every: float = 2.0) -> int:
    import cv2

    cap = cv2.VideoCapture(str(path))
    step = max(1, round(cap.get(cv2.CAP_PROP_FPS) * every))
    n = i = 0
    while cap.grab():
        if i % step == 0:
            cap.retrieve()
            n += 1
        i += 1
    cap.release()
    return n


def av_decode(path: Path, skip: str = "DEFAULT") -> int:
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.codec_context.thread_type = "AUTO"
        s.codec_context.skip_frame = skip
        return sum(1 for _ in c.decode(s))


def ours(path: Path, every: float = 2.0) -> int:
    return sum(1 for _ in sample_frames(path, every=every))


def timed(runs: list[tuple[str, Callable[[], int]]],
          repeat: int) -> list[tuple[str, float, float, int]]:
    """Per pass: median seconds, median per-round speed-up over the first pass (the
    baseline), output count. Rounds interleave the passes, so a busy machine slows
    a round's passes alike and the per-round ratio cancels most of the noise."""
    times: dict[str, list[float]] = {name: [] for name, _ in runs}
    count: dict[str, int] = {}
    for _ in range(repeat):
        for name, fn in runs:
            t0 = time.perf_counter()
            count[name] = fn()
            times[name].append(time.perf_counter() - t0)
    base = times[runs[0][0]]
    return [(name, statistics.median(times[name]),
             statistics.median(b / t for b, t in zip(base, times[name], strict=True)),
             count[name]) for name, _ in runs]


def duration(path: Path) -> float:
    import av

    with av.open(str(path)) as c:
        return c.duration / 1_000_000


def robust_queries(video: Path, cache: Path) -> dict[str, Path]:
    """A re-encoded copy of `video` and a screen recording of it in a drawn player."""
    import videofamilies as vf

    out = {"re-encoded copy": cache / f"{video.stem}-reencoded.mp4",
           "screen recording in a player": cache / f"{video.stem}-player.mp4"}
    if not all(p.exists() for p in out.values()):
        frames, fps = vf.read(video)
        write_video(out["re-encoded copy"], frames, round(fps), crf=30, preset="veryfast")
        write_video(out["screen recording in a player"],
                    vf.player(frames, canvas=SIZE, scale=0.75), round(fps), crf=28,
                    preset="veryfast")
    return out


def robust_timing(video: Path, cache: Path, repeat: int, photos: list[Path]) -> None:
    """Plain frame-hash pass vs the robust search, same query, same run (medians)."""
    from osintkit.archive import open_archive
    from osintkit.match.hashfile import hash_file

    url = f"sqlite:///{cache / 'robust-archive.sqlite'}"
    for old in cache.glob("robust-archive.sqlite*"):
        old.unlink()
    with open_archive(url) as a:
        a.add([video], source="bench", first_seen="2020-01-01")
        if photos:
            a.add(photos, source="bench", first_seen="2020-01-01")
        secs = duration(video)
        print(f"\nrobust pass: archive of the original + {len(photos)} photos; "
              f"median of {repeat}\n")
        print("| query (60 s, 1280x720 H.264) | plain frame hashes | robust search | "
              "robust / plain | segments found |")
        print("|---|---:|---:|---:|---|")
        for name, q in robust_queries(video, cache).items():
            plain, robust, segs = [], [], []
            for _ in range(repeat):
                t0 = time.perf_counter()
                hash_file(q)
                plain.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                res = hash_file(q, pixels=True)
                found = a.search(res)
                robust.append(time.perf_counter() - t0)
                segs = [(round(sg["query_start"], 1), round(sg["query_end"], 1))
                        for m in found[:1] for sg in m.segments]
            ratio = statistics.median(r / p for r, p in zip(robust, plain, strict=True))
            print(f"| {name} | {secs / statistics.median(plain):.1f}x realtime | "
                  f"**{secs / statistics.median(robust):.1f}x realtime** | {ratio:.2f} | "
                  f"{segs} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--gop", type=int, default=None, help="keyframe interval (x264 -g)")
    ap.add_argument("--sheet", type=Path, help="also write the contact sheet picture here")
    ap.add_argument("--only", choices=("speed", "robust", "recall"))
    ap.add_argument("--clips", type=Path, help="folder of the recall benchmark's clips")
    ap.add_argument("--photos", type=Path, help="folder of photos (slideshows, archive)")
    ap.add_argument("--work", type=Path, help="where generated queries are kept")
    ap.add_argument("--scenes", type=Path, help="a viewpoint series of one scene (photos): "
                    "videos of other viewpoints must not be called copies")
    args = ap.parse_args()
    cache = Path(tempfile.gettempdir()) / "osintkit-bench"
    cache.mkdir(exist_ok=True)
    video = make_video(cache / f"video-720p-g{args.gop or 'default'}.mp4", args.gop)
    print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.only in (None, "speed"):
        speed(video, args)
    if args.only in (None, "robust"):
        import videobench

        photos = videobench.good_photos(args.photos, 60) if args.photos else \
            corpus_photos(CORPUS)
        robust_timing(video, cache, args.repeat, photos)
    if args.only in (None, "recall") and args.clips:
        import videobench

        videobench.main(args.clips, args.photos, args.work or cache / "recall")
    if args.only in (None, "recall") and args.scenes:
        import videobench

        print("\n".join(videobench.scene_negatives(args.scenes, (args.work or cache) / "scenes")))
    print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


def speed(video: Path, args: argparse.Namespace) -> None:
    secs = duration(video)
    runs = [
        ("opencv read() every frame (baseline)", lambda: cv_read(video)),
        ("opencv grab() all, retrieve() 1 per 2 s", lambda: cv_grab_retrieve(video)),
        ("pyav decode every frame", lambda: av_decode(video)),
        ("pyav keyframes only (NONKEY)", lambda: av_decode(video, "NONKEY")),
        ("osintkit sample_frames(every=2)", lambda: ours(video, 2.0)),
        ("osintkit sample_frames(every=1)", lambda: ours(video, 1.0)),
    ]
    ours(video)  # warm up: imports, file cache
    results = timed(runs, args.repeat)
    print(f"video: {secs:.0f} s, {SIZE[0]}x{SIZE[1]} {FPS} fps H.264 "
          f"(gop {args.gop or 'x264 default'}), median of {args.repeat}\n")
    print("| pass | frames out | seconds | realtime factor | vs OpenCV full decode |")
    print("|---|---:|---:|---:|---:|")
    for name, t, ratio, n in results:
        print(f"| {name} | {n} | {t:.2f} | {secs / t:.1f}x | {ratio:.1f}x |")
    if args.sheet:
        from osintkit.media.keyframes import extract_keyframes

        out = Path(tempfile.mkdtemp(prefix="osintkit-sheet-"))
        res = extract_keyframes(video, out, every=5.0)
        from PIL import Image

        with Image.open(out / str(res.contact_sheet)) as im:
            im.save(args.sheet, "JPEG", quality=70, optimize=True)
        print(f"\ncontact sheet: {args.sheet} ({args.sheet.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
