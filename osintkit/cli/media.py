"""Commands over media files: meta, hash, compare, frames, forensics."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from osintkit.cli.common import (
    cli,
    emit_results,
    exit_for,
    jobs_option,
    json_option,
    note,
    paths_argument,
)
from osintkit.cli.helptext import ThresholdCommand


# --- meta (media/metadata.py) ---
@cli.command("meta")
@paths_argument
@json_option
@click.option("--all", "show_all", is_flag=True, help="Also print every raw tag (EXIF by "
              "IFD, XMP, IPTC, PNG text, container tags).")
@jobs_option
@click.pass_context
def meta_cmd(ctx: click.Context, paths: tuple[Path, ...], as_json: bool, show_all: bool,
             jobs: int) -> None:
    """Read metadata: EXIF, XMP, IPTC, ICC, video container tags (FILE|DIR...).

    Summary first: capture time (and its source), camera, lens, software, orientation,
    GPS, editing history. Directories are read recursively; non-media files are skipped.

    \b
    Example:
      osintkit meta photo.jpg
      osintkit meta --all IMG_0042.HEIC
      osintkit meta evidence/ -j 2 --json | jq -c '[.path, .summary.captured_at, .summary.gps]'
    """
    from osintkit.media.metadata import iter_metadata, render_text

    results = iter_metadata(paths, on_skip=lambda p, why: note(ctx, f"{p}: skipped ({why})"),
                            jobs=jobs)
    exit_for(emit_results(ctx, results, as_json, lambda md: render_text(md, show_all)))


# --- hash, compare (hashing.py) ---
def _hash_kinds(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    from osintkit.match.hashing import parse_kinds

    try:
        return parse_kinds(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def hashes_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """`--hashes pdq,phash,...`: which perceptual hashes."""
    return click.option("--hashes", "kinds", default="pdq,phash,dhash", show_default=True,
                        metavar="LIST", callback=_hash_kinds,
                        help="Comma-separated: pdq, phash, dhash, whash, colorhash, crop.")(f)


def every_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """`--every SECONDS`: video frame sampling."""
    return click.option("--every", type=click.FloatRange(min=0.1), default=2.0,
                        show_default=True, metavar="SECONDS",
                        help="Videos: at least one frame every SECONDS (+ scene changes).")(f)


@dataclass
class _WithVariants:
    """A HashResult whose JSON also carries the PDQ dihedral variants."""

    res: Any
    ok: bool
    error: Any
    path: Path

    def to_dict(self) -> dict[str, Any]:
        return self.res.to_dict(with_variants=True)


def _hash_line(hashes: dict[str, Any]) -> str:
    parts = []
    for k, v in hashes.items():
        if k == "pdq_quality":
            continue
        q = f" (quality {hashes['pdq_quality']})" if k == "pdq" and "pdq_quality" in hashes else ""
        parts.append(f"{k} {v}{q}")
    return "  ".join(parts)


def _render_hash(res: Any) -> str:
    lines = [str(res.path), f"  sha256 {res.sha256}", f"  md5    {res.md5}"]
    if res.kind == "video":
        lines += [f"  t={f.t:8.2f}s  {_hash_line(f.hashes)}" for f in res.frames]
    else:
        quality = res.hashes.get("pdq_quality")
        lines += [f"  {k:<9} {v}" + (f" (quality {quality})" if k == "pdq" else "")
                  for k, v in res.hashes.items() if k != "pdq_quality"]
    return "\n".join(lines)


@cli.command("hash")
@paths_argument
@hashes_option
@every_option
@click.option("--variants", is_flag=True,
              help="JSON: add pdq_variants (PDQ of the 8 rotations/mirrors, for search).")
@jobs_option
@json_option
@click.pass_context
def hash_cmd(ctx: click.Context, paths: tuple[Path, ...], kinds: tuple[str, ...], every: float,
             variants: bool, jobs: int, as_json: bool) -> None:
    """Exact (sha256, md5) and perceptual hashes (PDQ, pHash, dHash...) of images and videos.

    Videos: hashes of sampled frames (one every --every seconds and at scene changes).
    Hex is zero-padded (PDQ: 64 hex digits). Exit 1 when some input failed.

    \b
    Example:
      osintkit hash photo.jpg clip.mp4
      osintkit hash media/ -j 2 --hashes pdq,phash --json | jq -r .hashes.pdq
    """
    from tqdm import tqdm

    from osintkit.match.hashfile import collect_inputs, hash_paths

    inputs = collect_inputs(paths, lambda p, why: note(ctx, f"{p}: skipped ({why})"))
    bar = tqdm(total=len(inputs), unit="file", file=sys.stderr, leave=False,
               disable=not sys.stderr.isatty() or len(inputs) < 2, dynamic_ncols=True)

    def results() -> Iterable[Any]:
        for res in hash_paths(inputs, kinds, jobs=jobs, every=every):
            bar.update(1)
            yield _WithVariants(res, res.ok, res.error, res.path) if variants else res

    with bar:
        failures = emit_results(ctx, results(), as_json,
                                lambda r: _render_hash(getattr(r, "res", r)))
    exit_for(failures)


def _render_compare(res: Any) -> str:
    where = {"a": f" @ {res.a_t:.2f} s" if res.a_t is not None else "",
             "b": f" @ {res.b_t:.2f} s" if res.b_t is not None else ""}
    lines = [f"{res.verdict}  {res.headline or '(transform: ' + (res.transform or '-') + ')'}",
             "  whole pictures: " + "  ".join(f"{k} {v}" for k, v in res.distance.items()),
             f"  A: {res.a}{where['a']}", f"  B: {res.b}{where['b']}"]
    lines += [f"  segment: A {s.query_start:.1f}-{s.query_end:.1f} s = "
              f"B {s.item_start or 0:.1f}-{s.item_end or 0:.1f} s "
              f"({s.frames} frames, best pdq {s.distance})" for s in res.segments]
    lines += [f"  note: {n}" for n in res.notes]
    if res.visual:
        lines.append(f"  picture: {res.visual}")
    return "\n".join(lines)


@cli.command("compare", cls=ThresholdCommand)
@click.argument("a", type=click.Path(path_type=Path))
@click.argument("b", type=click.Path(path_type=Path))
@hashes_option
@every_option
@click.option("--visual", type=click.Path(path_type=Path, dir_okay=False), metavar="OUT.png",
              help="Write A (matched transform applied) and B side by side.")
@json_option
@click.pass_context
def compare_cmd(ctx: click.Context, a: Path, b: Path, kinds: tuple[str, ...], every: float,
                visual: Path | None, as_json: bool) -> None:
    """Compare two images or videos: distances per hash, transform, verdict.

    Verdict: identical (same sha256), near-duplicate (PDQ <= {pdq} of 256 under the best
    rotation/mirror, a view pair within {pdq}, or a fit whose pixels agree: a copy),
    same-scene (a fit whose pixels differ: another shot of the same scene), similar
    (<= {similar}), different. The first line says what decided (the view's distance, the
    fit). Image vs video: the best frame and its time; video vs video: matching
    segments. Exit 1 when a file cannot be read.

    \b
    Example:
      osintkit compare claim.jpg archive/original.jpg --visual match.png
      osintkit compare clip.mp4 original.mp4 --json | jq .segments
    """
    from osintkit.match.compare import compare_files
    from osintkit.warnroute import collecting

    sink: list[str] = []
    with collecting(sink):  # Pillow's warnings about damaged tags go into the result
        res = compare_files(a, b, kinds, every=every, visual=visual)
    res.warnings = sink
    exit_for(emit_results(ctx, [res], as_json, _render_compare))


# --- frames (media/frames.py) ---
def _render_frames(res: Any) -> str:
    from osintkit.media.keyframes import format_time

    where = f" -> {res.out_dir}" if res.out_dir else ""
    lines = [f"{res.path}: {len(res.frames)} frames sampled, {len(res.shots)} shots{where}"]
    by_t = {f.t: f for f in res.frames}
    for shot in res.shots:
        f = by_t[shot.t]
        mark = "scene" if by_t[shot.start].scene_change else "     "
        pdq = f"  pdq {f.hashes['pdq']}" if "pdq" in f.hashes else ""
        span = f"{format_time(shot.start)}-{format_time(shot.end)}"
        lines.append(f"  {format_time(f.t):>9} {mark}  shot {span:<17} {f.file or ''}{pdq}")
    if res.contact_sheet:
        lines.append(f"  contact sheet: {res.out_dir / res.contact_sheet}")
    for seg in getattr(res, "segments", None) or []:
        lines.append(f"  matches {seg.query_start:.1f}-{seg.query_end:.1f} s = "
                     f"{seg.item_start:.1f}-{seg.item_end:.1f} s of the vPDQ file "
                     f"({seg.frames} frames, {seg.share:.0%} of the video, pdq <= {seg.distance})")
    return "\n".join(lines)


@dataclass
class _FramesOut:
    """Keyframes plus, with --against, the segments found in a vPDQ file."""

    res: Any
    segments: list[Any] | None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.res, name)

    def to_dict(self) -> dict[str, Any]:
        d = self.res.to_dict()
        if self.segments is not None:
            d["segments"] = [s.to_dict() for s in self.segments]
        return d


@cli.command("frames")
@click.argument("videos", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write keyframes (JPEG named by time) and contact-sheet.jpg here; "
                   "one sub-directory per video when several are given.")
@every_option
@click.option("--no-scenes", is_flag=True, help="Only the regular samples, no scene changes.")
@click.option("--all-frames", is_flag=True,
              help="Write every sampled frame, not one per shot.")
@click.option("--keep-bars", is_flag=True, help="Keep black letterbox/pillarbox bars.")
@hashes_option
@click.option("--vpdq", "vpdq_out", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="Also write the frames' PDQ hashes in ThreatExchange's "
                                   "vPDQ text format (one video only).")
@click.option("--against", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Find segments of the video in a vPDQ file (e.g. from a partner).")
@json_option
@click.pass_context
def frames_cmd(ctx: click.Context, videos: tuple[Path, ...], out_dir: Path | None,
               every: float, no_scenes: bool, all_frames: bool, keep_bars: bool,
               kinds: tuple[str, ...],
               vpdq_out: Path | None, against: Path | None, as_json: bool) -> None:
    """Keyframes of videos: one JPEG per shot, a contact sheet, hashes per frame.

    Frames are sampled at least every --every seconds plus at each scene change, and all
    are hashed; one JPEG per shot is written (the sample nearest the shot's middle),
    named <video-stem>_<hh-mm-ss.sss>.jpg (--all-frames: every sample). The container's
    rotation is applied, black bars are cut off. Feed the JPEGs to reverse image search;
    share the --vpdq file with ThreatExchange partners. Exit 1 when a video cannot be
    read (shots before the damage in a truncated file are kept).

    \b
    Example:
      osintkit frames launch.mp4 -o launch-frames/
      osintkit frames launch.mp4 --every 1 --json | jq -c '.frames[] | [.t, .hashes.pdq]'
      osintkit frames launch.mp4 --vpdq launch.vpdq
      osintkit frames claim.mp4 --against original.vpdq
    """
    from osintkit.match.hashing import hash_image, shrink
    from osintkit.match.vpdq import features_from_frames, read_vpdq, write_vpdq
    from osintkit.media.keyframes import extract_keyframes

    if (vpdq_out or against) and len(videos) > 1:
        raise click.UsageError("--vpdq and --against take one video")
    if "pdq" not in kinds and (vpdq_out or against):
        kinds = ("pdq", *kinds)
    reference = read_vpdq(against) if against else None

    def results() -> Iterable[Any]:
        from osintkit.match.segments import match_frame_lists

        for video in videos:
            dest = out_dir / video.stem if out_dir and len(videos) > 1 else out_dir
            res = extract_keyframes(video, dest, every=every, scenes=not no_scenes,
                                    trim=not keep_bars, per_shot=not all_frames,
                                    hasher=lambda img: hash_image(shrink(img), kinds))
            if vpdq_out and res.frames:
                write_vpdq(features_from_frames(res.frames), vpdq_out)
                note(ctx, f"{vpdq_out}: {len(res.frames)} frames in vPDQ format")
            segs = match_frame_lists(res.frames, reference) if reference is not None else None
            yield _FramesOut(res, segs)

    exit_for(emit_results(ctx, results(), as_json, _render_frames))


# --- forensics (media/forensics.py) ---
@cli.command("forensics")
@paths_argument
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write one PNG per indicator here (<stem>.ela.png, .dct.png, ...).")
@json_option
@click.pass_context
def forensics_cmd(ctx: click.Context, paths: tuple[Path, ...], out_dir: Path | None,
                  as_json: bool) -> None:
    """First signs of editing in images: indicators, not proof (FILE|DIR...).

    Error level analysis, JPEG quality and table family (camera vs editor), a
    double-compression score, EXIF thumbnail vs image, noise-residual map. Each
    indicator says whether it fired against thresholds calibrated on real photos
    (untouched camera JPEGs fire at most 5% of the time; see docs/forensics.md).

    \b
    Example:
      osintkit forensics photo.jpg -o forensics-out/
      osintkit forensics claim-media/ --json | jq -c '[.path, .fired]'
    """
    from osintkit.media.forensics import analyse_paths, render_text

    results = analyse_paths(paths, out_dir,
                            on_skip=lambda p, why: note(ctx, f"{p}: skipped ({why})"))
    exit_for(emit_results(ctx, results, as_json, render_text))
