"""Command line: parse, call one library function, render. No logic lives here.

Every command takes `--json` (JSON Lines, one object per input). Exit codes: 0 ok,
1 some input failed (or findings at/above --fail-on), 2 usage error / unusable input.
Errors are one line on stderr; `--debug` shows tracebacks.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from osintkit import __version__
from osintkit.errors import EXIT_FAIL, OsintkitError


@dataclass
class Settings:
    """Global options, available to every command as `ctx.obj`."""

    quiet: bool = False
    debug: bool = False


class CliError(click.ClickException):
    """A one-line error with our exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_FAIL) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class OsintkitGroup(click.Group):
    """Turns our exceptions into one-line errors; tracebacks only with --debug."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except OsintkitError as exc:
            if _debug(ctx):
                raise
            raise CliError(exc.message, exc.exit_code) from None
        except Exception as exc:
            if _debug(ctx):
                raise
            text = " ".join(str(exc).split())
            raise CliError(f"internal error: {type(exc).__name__}: {text} "
                           "(run with --debug for details)") from None


def _debug(ctx: click.Context) -> bool:
    return bool(ctx.obj and ctx.obj.debug)


# ---------------------------------------------------------------- shared options
def json_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """`--json`: machine output, one JSON object per input per line."""
    return click.option("--json", "as_json", is_flag=True,
                        help="Print JSON Lines (one object per input).")(f)


def db_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """`--db URL` (or OSINTKIT_DB): sqlite:///path or postgresql://..."""
    return click.option("--db", "db_url", envvar="OSINTKIT_DB", metavar="URL",
                        help="Archive: sqlite:///path (default: user data dir) or "
                             "postgresql://... Also OSINTKIT_DB.")(f)


def jobs_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """`-j N`: worker processes."""
    return click.option("-j", "--jobs", type=click.IntRange(min=1), default=1, show_default=True,
                        help="Worker processes.")(f)


def paths_argument(f: Callable[..., Any]) -> Callable[..., Any]:
    """FILE|DIR... (existence is checked per item, so one bad path never stops the rest)."""
    return click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))(f)


def note(ctx: click.Context, message: str) -> None:
    """A side remark on stderr, silenced by -q."""
    if not (ctx.obj and ctx.obj.quiet):
        click.echo(f"note: {message}", err=True)


def print_json(obj: Any) -> None:
    """One JSON object on one line."""
    click.echo(json.dumps(obj, ensure_ascii=False, default=str, allow_nan=False))


def emit_results(ctx: click.Context, results: Iterable[Any], as_json: bool,
                 render: Callable[[Any], str]) -> int:
    """Print each result (JSON line or `render(result)`), errors on stderr; return failures.

    Results are dataclasses with `ok`, `error` (ErrorInfo | None) and `to_dict()`.
    """
    failures = 0
    for res in results:
        if not res.ok:
            failures += 1
        if as_json:
            print_json(res.to_dict())
        if not res.ok:
            msg = res.error.message if res.error else f"{getattr(res, 'path', '?')}: failed"
            click.echo(f"Error: {msg}", err=True)
        elif not as_json:
            click.echo(render(res))
    return failures


def exit_for(failures: int) -> None:
    """Exit 1 when some input failed."""
    if failures:
        raise click.exceptions.Exit(EXIT_FAIL)


# ---------------------------------------------------------------- the group
@click.group(cls=OsintkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="osintkit")
@click.option("-q", "--quiet", is_flag=True, help="Only results and errors, no notes.")
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, quiet: bool, debug: bool) -> None:
    """osintkit: verify public claims of attacks from their media.

    \b
    Example:
      osintkit verify https://t.me/s/somechannel/1234 --claim-date 2026-04-18
      osintkit meta photo.jpg --json | jq .summary
    """
    ctx.obj = Settings(quiet=quiet, debug=debug)


# ---------------------------------------------------------------- commands
# Each stage's commands live in their own section below, in flow order.

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
    from osintkit.hashing import parse_kinds

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

    from osintkit.hashing import collect_inputs, hash_paths

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
    lines = [f"{res.verdict}  (transform: {res.transform or '-'})",
             "  " + "  ".join(f"{k} {v}" for k, v in res.distance.items()),
             f"  A: {res.a}{where['a']}", f"  B: {res.b}{where['b']}"]
    lines += [f"  segment: A {s.query_start:.1f}-{s.query_end:.1f} s = "
              f"B {s.item_start or 0:.1f}-{s.item_end or 0:.1f} s "
              f"({s.frames} frames, best pdq {s.distance})" for s in res.segments]
    lines += [f"  note: {n}" for n in res.notes]
    if res.visual:
        lines.append(f"  picture: {res.visual}")
    return "\n".join(lines)


@cli.command("compare")
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

    Verdict: identical (same sha256), near-duplicate (PDQ <= 31 of 256 under the best
    rotation/mirror), similar (<= 70), different. Image vs video: the best frame and
    its time; video vs video: matching segments. Exit 1 when a file cannot be read.

    \b
    Example:
      osintkit compare claim.jpg archive/original.jpg --visual match.png
      osintkit compare clip.mp4 original.mp4 --json | jq .segments
    """
    from osintkit.compare import compare_files

    res = compare_files(a, b, kinds, every=every, visual=visual)
    exit_for(emit_results(ctx, [res], as_json, _render_compare))


# --- archive (archive/) ---
def _max_distance(ctx: click.Context, param: click.Parameter,
                  value: str | None) -> int | dict[str, int] | None:
    """`31` (PDQ) or `pdq=31,phash=8`."""
    if not value:
        return None
    try:
        if "=" not in value:
            return int(value)
        return {k.strip(): int(v) for k, v in (p.split("=", 1) for p in value.split(","))}
    except ValueError:
        raise click.BadParameter(f"{value!r}: use N (PDQ bits) or pdq=N,phash=M") from None


def _open(db_url: str | None, create: bool = False) -> Any:
    from osintkit.archive import open_archive

    return open_archive(db_url, create=create)


@cli.group("archive")
def archive_group() -> None:
    """Archive of known material (SQLite file or PostgreSQL): add, search, list, export.

    \b
    Example:
      osintkit archive add old-footage/ --source "agency X" --first-seen 2023-05-01
      osintkit archive search claim.jpg
      osintkit archive stats --db postgresql://team@db/osint
    """


def _render_add(res: Any) -> str:
    return f"{res.status:<9} {res.path}" + (f"  (item {res.item_id})" if res.item_id else "")


@archive_group.command("add")
@paths_argument
@click.option("--source", required=True, help="Where this material was published.")
@click.option("--first-seen", required=True, metavar="DATE",
              help="Earliest known publication date (YYYY-MM-DD); re-adding keeps the earliest.")
@click.option("--title", help="A short description.")
@click.option("--tag", "tags", multiple=True, help="A tag (repeatable).")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, hidden=True)
@jobs_option
@db_option
@json_option
@click.pass_context
def archive_add(ctx: click.Context, paths: tuple[Path, ...], source: str, first_seen: str,
                title: str | None, tags: tuple[str, ...], batch_size: int, jobs: int,
                db_url: str | None, as_json: bool) -> None:
    """Hash images and videos (files, directories) and store them in the archive.

    Idempotent: files already archived (same sha256) are not hashed again; their
    first_seen becomes the earlier date and tags are merged. Written in transactions,
    so an interrupted run keeps what it stored; run it again to complete.

    \b
    Example:
      osintkit archive add old/ --source "channel @x" --first-seen 2022-03-01 -j 2
      osintkit archive add clip.mp4 --source news --first-seen 2023-10-07 --tag strike
    """
    from tqdm import tqdm

    archive = _open(db_url, create=True)
    quiet = bool(ctx.obj and ctx.obj.quiet)
    with archive, tqdm(unit="file", desc="archive add", disable=quiet or None,
                       file=sys.stderr, leave=False) as bar:
        results = archive.add(paths, source, first_seen, title, tags, jobs=jobs,
                              batch_size=batch_size, progress=lambda r: bar.update(1),
                              on_skip=lambda p, why: note(ctx, f"{p}: skipped ({why})"))
    exit_for(emit_results(ctx, results, as_json, _render_add))


def _render_search(res: Any) -> str:
    lines = [f"{res.path}: {len(res.matches) or 'no'} match{'es' if len(res.matches) != 1 else ''}"]
    for m in res.matches:
        dist = " ".join(f"{k}={v}" for k, v in m.distance.items())
        times = "".join(f" {k}={v:.1f}s" for k, v in (("query_t", m.query_t),
                                                       ("item_t", m.item_t)) if v is not None)
        lines.append(f"  {m.match:<5} first seen {m.first_seen or '?'}  {m.source or '-'}  "
                     f"{m.name or m.sha256 or m.md5}  {dist} transform={m.transform}{times}")
        lines += _render_views(m)
    return "\n".join(lines)


def _render_views(m: Any) -> list[str]:
    """Which views matched and what the geometry says (osintkit/views.py, geometry.py)."""
    out = []
    if getattr(m, "query_view", None) or getattr(m, "item_view", None):
        region = " region x,y,w,h=" + ",".join(map(str, m.query_region)) \
            if m.query_region else ""
        out.append(f"        view: query {m.query_view or 'whole'} ~ archived "
                   f"{m.item_view or 'whole'}{region}")
    geo = getattr(m, "geometry", None)
    if geo:
        out.append(f"        geometry: {geo['inliers']} inliers, {geo['explanation']}")
    return out


@archive_group.command("search")
@paths_argument
@click.option("--max-distance", callback=_max_distance, metavar="N|pdq=N,phash=M",
              help="Near-match thresholds in bits (default pdq=31, phash=10).")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="Matches per query.")
@click.option("--deep", is_flag=True,
              help="Also confirm with local features (ORB + RANSAC) and check the nearest "
                   "items geometrically: finds crops and small rotations. Slower.")
@click.option("--deep-candidates", type=click.IntRange(min=1), default=16, show_default=True,
              metavar="N", help="--deep: how many nearest archived images to check.")
@jobs_option
@db_option
@json_option
@click.pass_context
def archive_search(ctx: click.Context, paths: tuple[Path, ...], max_distance: Any, limit: int,
                   deep: bool, deep_candidates: int, jobs: int, db_url: str | None,
                   as_json: bool) -> None:
    """Find each file (or video frame) in the archive: exact, then near matches.

    Near matches use PDQ over the 8 rotations/mirrors and pHash; video frames are matched
    against archived images and video frames (query_t, item_t). Best first. An image
    query also searches its content region (bars, padding, a screenshot's UI removed:
    query_region) and sub-views against archived sub-views (crops, logos, captions).

    \b
    Example:
      osintkit archive search claim.jpg
      osintkit archive search screenshot.png --deep --json | jq .matches[0].geometry
      osintkit archive search launch.mp4 --max-distance pdq=40 --json | jq .matches[0]
    """
    with _open(db_url) as archive:
        results = archive.search_paths(paths, max_distance, limit, jobs=jobs,
                                       deep=deep_candidates if deep else False,
                                       on_skip=lambda p, why: note(ctx, f"{p}: skipped ({why})"))
    exit_for(emit_results(ctx, results, as_json, _render_search))


@archive_group.command("list")
@click.option("--limit", type=click.IntRange(min=1), help="At most N records.")
@click.option("--source", help="Only records from this source.")
@db_option
@json_option
def archive_list(limit: int | None, source: str | None, db_url: str | None,
                 as_json: bool) -> None:
    """List archived records, earliest first_seen first.

    \b
    Example:
      osintkit archive list --limit 20
      osintkit archive list --source agency --json | jq -r .sha256
    """
    with _open(db_url) as archive:
        for item in archive.list(limit=limit, source=source):
            if as_json:
                print_json(item.to_dict())
            else:
                click.echo(f"{item.id:>6}  {item.first_seen or '?':<10}  {item.kind:<5}  "
                           f"{item.source or '-'}  {item.name or item.key}")


@archive_group.command("stats")
@db_option
@json_option
def archive_stats(db_url: str | None, as_json: bool) -> None:
    """Counts by kind and source, first_seen range, engine and schema version.

    \b
    Example:
      osintkit archive stats
      osintkit archive stats --db sqlite:///team.sqlite --json
    """
    with _open(db_url) as archive:
        stats = archive.stats()
    if as_json:
        print_json(stats)
        return
    for key, value in stats.items():
        click.echo(f"{key:<15} {value}")


@archive_group.command("remove")
@click.argument("refs", nargs=-1, required=True, metavar="ID|SHA256...")
@db_option
@json_option
def archive_remove(refs: tuple[str, ...], db_url: str | None, as_json: bool) -> None:
    """Remove records by item id or sha256 (with their frames).

    \b
    Example:
      osintkit archive remove 42
      osintkit archive remove 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    """
    ids = [r for r in refs if r.isdigit()]
    shas = [r for r in refs if not r.isdigit()]
    with _open(db_url) as archive:
        n = archive.remove(ids=[int(i) for i in ids], sha256s=shas)
    if as_json:
        print_json({"removed": n})
    else:
        click.echo(f"removed {n} record{'s' if n != 1 else ''}")
    exit_for(int(n < len(refs)))


@archive_group.command("export")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="File to write (default: stdout).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl",
              show_default=True, help="jsonl: full records; csv: hash list (pdq, md5, ...).")
@db_option
@click.pass_context
def archive_export(ctx: click.Context, output: Path | None, fmt: str,
                   db_url: str | None) -> None:
    """Export the archive: full records (JSONL) or a hash list to share (CSV).

    \b
    Example:
      osintkit archive export -o archive.jsonl
      osintkit archive export --format csv > hashes.csv
    """
    from osintkit.archive.exchange import export_csv, export_jsonl

    write = export_csv if fmt == "csv" else export_jsonl
    with _open(db_url) as archive:
        if output is None:
            n = write(archive, sys.stdout)
        else:
            with output.open("w", encoding="utf-8", newline="") as fh:
                n = write(archive, fh)
    note(ctx, f"exported {n} records")


@archive_group.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]),
              help="Default: by suffix (.csv, else jsonl).")
@click.option("--source", help="Source for rows that have none.")
@click.option("--first-seen", metavar="DATE", help="first_seen for rows that have none.")
@click.option("--tag", "tags", multiple=True, help="Tag for rows that have none (repeatable).")
@db_option
@json_option
def archive_import(file: Path, fmt: str | None, source: str | None, first_seen: str | None,
                   tags: tuple[str, ...], db_url: str | None, as_json: bool) -> None:
    """Import a JSONL export or a partner's CSV hash list (pdq, md5 + optional columns).

    All or nothing: bad rows (wrong hex length, not hex, bad date) are reported by line
    number and nothing is imported.

    \b
    Example:
      osintkit archive import partner-hashes.csv --source "partner X" --first-seen 2024-01-01
      osintkit archive import archive.jsonl --db postgresql://team@db/osint
    """
    from osintkit.archive.exchange import import_file

    with _open(db_url, create=True) as archive:
        report = import_file(archive, file, fmt, source, first_seen, tags)
    if as_json:
        print_json(report.to_dict())
    for err in report.errors:
        click.echo(f"Error: {file}: {err}", err=True)
    if report.ok and not as_json:
        click.echo(f"{file}: {report.rows} rows: {report.added} added, {report.updated} "
                   f"updated, {report.unchanged} unchanged")
    exit_for(int(not report.ok))

# --- fetch, evidence (fetch/) ---
def _size_option(ctx: click.Context, param: click.Parameter, value: str) -> int:
    from osintkit.fetch.http import parse_size

    try:
        return parse_size(value)
    except (ValueError, IndexError):
        raise click.BadParameter(f"{value!r} is not a size (e.g. 200M, 1.5G, 500k)") from None


def _terminal(text: object) -> str:
    """Untrusted page text without control characters (no terminal escape tricks)."""
    return "".join(ch if ch.isprintable() else " " for ch in str(text))


def _fetch_progress(ctx: click.Context, enabled: bool) -> tuple[Callable[..., None], Any]:
    state: dict[str, Any] = {}

    def progress(done: int, total: int, url: str) -> None:
        if not enabled:
            return
        if "bar" not in state:
            from tqdm import tqdm

            state["bar"] = tqdm(total=total, unit="file", desc="fetch", file=sys.stderr,
                                leave=False, disable=None)
        bar = state["bar"]
        bar.n = done
        bar.set_postfix_str(_terminal(url)[-40:], refresh=True)

    return progress, state


def _render_capture(cap: Any) -> None:
    page = cap.page
    if page is not None and page.kind == "telegram" and len(page.posts) == 1:
        post = page.posts[0]
        head = f"telegram post {_terminal(post.post_id)} by {_terminal(post.author or '?')}"
        if post.forwarded_from:
            head += f", forwarded from {_terminal(post.forwarded_from.get('url') or '?')}"
        click.echo(head + (", edited" if post.edited else ""))
    elif page is not None and page.kind != "direct":
        click.echo(f"page: {_terminal(page.title or page.final_url)}")
    if page is not None and page.published_at:
        click.echo(f"published: {_terminal(page.published_at)}")
    for item in cap.items:
        if item.ok:
            click.echo(f"  ok  {item.kind:5} {item.format:5} {item.size:>10} bytes  "
                       f"{item.path.name}  <- {_terminal(item.url)}")
    if cap.items:
        fetched = sum(1 for i in cap.items if i.ok)
        click.echo(f"fetched {fetched} of {len(cap.items)} media into {cap.out_dir} "
                   "(manifest.json, capture.warc.gz, custody.log)")


@cli.command("fetch")
@click.argument("url")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Evidence directory (default: ./evidence-<UTC time>). Re-fetching into "
                   "the same directory is idempotent.")
@click.option("--max-bytes", default="200M", show_default=True, callback=_size_option,
              help="Size cap per download (200M, 1.5G...).")
@click.option("--max-items", type=click.IntRange(min=1), default=50, show_default=True,
              help="Media files to fetch from a page at most.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
              help="Connect and read timeout, seconds.")
@click.option("--total-timeout", type=click.FloatRange(min=0.1), default=600.0,
              show_default=True, help="Time cap for one download, seconds.")
@click.option("--proxy", metavar="URL",
              help="http://, socks5:// or socks5h:// proxy (HTTP_PROXY, HTTPS_PROXY, "
                   "ALL_PROXY and NO_PROXY are honoured too).")
@click.option("--allow-private", is_flag=True,
              help="Allow private, loopback and link-local addresses (refused by default).")
@click.option("--allow-net", "allow_networks", multiple=True, metavar="CIDR",
              help="Allow this network anyway (repeatable), e.g. 10.20.0.0/16.")
@json_option
@click.pass_context
def fetch_cmd(ctx: click.Context, url: str, out_dir: Path | None, max_bytes: int,
              max_items: int, timeout: float, total_timeout: float, proxy: str | None,
              allow_private: bool, allow_networks: tuple[str, ...], as_json: bool) -> None:
    """Fetch a claim's media from URL and keep the evidence.

    URL is a news page, a Telegram public post (t.me/<channel>/<id>, t.me/s/...,
    ?embed=1) or a direct image/video link. Each media file is saved as
    <sha256>.<ext>, with manifest.json, capture.warc.gz (every request and response)
    and custody.log. --json prints the manifest. Exit 0: all media fetched;
    1: some failed; 2: nothing usable found.

    \b
    Example:
      osintkit fetch https://t.me/s/somechannel/1234 -o evidence/claim-1
      osintkit fetch https://example.org/news/strike --json | jq '.items[].sha256'
    """
    from datetime import UTC, datetime

    from osintkit.fetch import fetch

    if out_dir is None:
        out_dir = Path(f"evidence-{datetime.now(UTC):%Y%m%dT%H%M%SZ}")
    progress, state = _fetch_progress(ctx, not (as_json or (ctx.obj and ctx.obj.quiet)))
    try:
        cap = fetch(url, out_dir, allow_private=allow_private, max_bytes=max_bytes,
                    max_items=max_items, timeout=timeout, total_timeout=total_timeout,
                    proxy=proxy, allow_networks=allow_networks, progress=progress)
    finally:
        if "bar" in state:
            state["bar"].close()
    if as_json:
        print_json(cap.to_dict())
    else:
        _render_capture(cap)
    for note_text in cap.notes:
        note(ctx, _terminal(note_text))
    for err in cap.failures:
        click.echo(f"Error: {_terminal(err.message)}", err=True)
    if cap.exit_code:
        raise click.exceptions.Exit(cap.exit_code)


@cli.group("evidence")
def evidence_group() -> None:
    """Evidence directories written by `osintkit fetch`.

    \b
    Example:
      osintkit evidence check evidence/claim-1
    """


@evidence_group.command("check")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@json_option
def evidence_check_cmd(directory: Path, as_json: bool) -> None:
    """Recompute every hash; report files changed, missing or added since capture.

    Also verifies custody.log (each line chained to the one before) and that
    manifest.json is the one recorded there. Exit 0: intact; 1: something changed;
    2: not an evidence directory.

    \b
    Example:
      osintkit evidence check evidence/claim-1 --json | jq .changed
    """
    from osintkit.fetch import check_evidence

    res = check_evidence(directory)
    if as_json:
        print_json(res.to_dict())
    elif res.ok:
        click.echo(f"{directory}: intact ({res.checked} files match manifest.json)")
    for kind in ("changed", "missing", "added"):
        for name in getattr(res, kind):
            click.echo(f"Error: {directory}/{name}: {kind} since capture", err=True)
    for problem in res.custody:
        click.echo(f"Error: {directory}: {problem}", err=True)
    exit_for(int(not res.ok))


# --- frames (media/frames.py) ---
def _render_frames(res: Any) -> str:
    from osintkit.media.keyframes import format_time

    where = f" -> {res.out_dir}" if res.out_dir else ""
    lines = [f"{res.path}: {len(res.frames)} keyframes{where}"]
    for f in res.frames:
        mark = "scene" if f.scene_change else "     "
        pdq = f"  pdq {f.hashes['pdq']}" if "pdq" in f.hashes else ""
        lines.append(f"  {format_time(f.t):>9} {mark}  {f.file or ''}{pdq}")
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
               every: float, no_scenes: bool, keep_bars: bool, kinds: tuple[str, ...],
               vpdq_out: Path | None, against: Path | None, as_json: bool) -> None:
    """Keyframes of videos: JPEGs named by time, a contact sheet, hashes per frame.

    Frames: at least one every --every seconds, plus one at each scene change; the
    container's rotation is applied, black bars are cut off. Feed the JPEGs to reverse
    image search; share the --vpdq file with ThreatExchange partners. Exit 1 when a
    video cannot be read (frames before the damage in a truncated file are kept).

    \b
    Example:
      osintkit frames launch.mp4 -o launch-frames/
      osintkit frames launch.mp4 --every 1 --json | jq -c '.frames[] | [.t, .hashes.pdq]'
      osintkit frames launch.mp4 --vpdq launch.vpdq
      osintkit frames claim.mp4 --against original.vpdq
    """
    from osintkit.hashing import hash_image, shrink
    from osintkit.media.keyframes import extract_keyframes
    from osintkit.vpdq import features_from_frames, read_vpdq, write_vpdq

    if (vpdq_out or against) and len(videos) > 1:
        raise click.UsageError("--vpdq and --against take one video")
    if "pdq" not in kinds and (vpdq_out or against):
        kinds = ("pdq", *kinds)
    reference = read_vpdq(against) if against else None

    def results() -> Iterable[Any]:
        from osintkit.segments import match_frame_lists

        for video in videos:
            dest = out_dir / video.stem if out_dir and len(videos) > 1 else out_dir
            res = extract_keyframes(video, dest, every=every, scenes=not no_scenes,
                                    trim=not keep_bars,
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
    (untouched camera JPEGs fire at most 5% of the time; see the README).

    \b
    Example:
      osintkit forensics photo.jpg -o forensics-out/
      osintkit forensics claim-media/ --json | jq -c '[.path, .fired]'
    """
    from osintkit.media.forensics import analyse_paths, render_text

    results = analyse_paths(paths, out_dir,
                            on_skip=lambda p, why: note(ctx, f"{p}: skipped ({why})"))
    exit_for(emit_results(ctx, results, as_json, render_text))


# --- verify (verify.py) ---
_VERIFY_LEVELS = ("corroborated", "no-contradiction-found", "suspicious", "contradicted", "never")


def verify_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by `verify` and `batch`: report formats, tolerances, archive, --fail-on."""
    options = [
        click.option("--format", "formats", default="json,html,md", show_default=True,
                     metavar="LIST", help="Report formats: json, html, md, junit."),
        click.option("--tolerance-hours", type=click.FloatRange(min=0), default=24.0,
                     show_default=True, help="Slack on every date comparison."),
        click.option("--max-distance", type=click.IntRange(min=0), metavar="N",
                     help="Archive: largest PDQ distance that counts as a match."),
        click.option("--no-archive", is_flag=True, help="Do not search the archive."),
        click.option("--deep", is_flag=True,
                     help="Archive: also confirm candidates by local features (finds heavy "
                          "crops and small rotations; slower)."),
        click.option("--allow-private", is_flag=True,
                     help="Allow fetching from private/loopback addresses."),
        click.option("--fail-on", type=click.Choice(_VERIFY_LEVELS), default="contradicted",
                     show_default=True,
                     help="Exit 1 (and a JUnit failure in batch) at or above this verdict."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _verify_settings(formats: str, tolerance_hours: float, max_distance: int | None,
                     no_archive: bool, allow_private: bool, deep: bool) -> dict[str, Any]:
    """The VerifyOptions fields given on the command line (formats checked)."""
    fmts = tuple(f.strip() for f in formats.split(",") if f.strip())
    unknown = [f for f in fmts if f not in ("json", "html", "md", "junit")]
    if unknown or not fmts:
        raise click.BadParameter(f"unknown format(s) {unknown}; use json, html, md, junit",
                                 param_hint="--format")
    return {"formats": fmts, "tolerance_hours": tolerance_hours, "max_distance": max_distance,
            "search_archive": not no_archive, "allow_private": allow_private, "deep": deep}


def _printable(text: object) -> str:
    """Untrusted text for a terminal: control characters (ANSI escapes) made visible."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in " ".join(str(text).split()))


def _verify_summary(report: Any) -> str:
    d = report.to_dict()
    lines = [f"verdict: {d['verdict']['level']}  (claim {_printable(d['claim']['id'])}, "
             f"{len(d['media'])} media)"]
    for f in d["findings"]:
        if f["severity"] != "info":
            where = f" [{f['media']}]" if f["media"] else ""
            lines.append(f"  {f['severity']:<6} {f['code']}{where}: {_printable(f['message'])}")
    if not any(f["severity"] != "info" for f in d["findings"]):
        lines += [f"  {_printable(r)}" for r in d["verdict"]["reasons"][:3]]
    main_file = d["files"].get("html") or next(iter(d["files"].values()), None)
    if main_file:
        lines.append(f"report: {main_file}")
    return "\n".join(lines)


@cli.command("verify")
@click.argument("targets", nargs=-1, required=True, metavar="URL|FILE|DIR|CLAIM.yaml...")
@click.option("--claim-date", metavar="D", help="Claimed date (2026-04-18), datetime with zone, "
              "or window START/END. Overrides the claim file.")
@click.option("--claim-place", metavar="LAT,LON", help="Claimed place in decimal degrees.")
@click.option("--radius-km", type=click.FloatRange(min=0, min_open=True), metavar="N",
              help="How far from the claimed place the event may be (default 25).")
@click.option("--place-name", metavar="NAME", help="Name of the claimed place.")
@click.option("--posted-at", metavar="DATETIME", help="When the claim was posted.")
@click.option("--tz", metavar="ZONE", help="Zone for dates without one (+05:00, Asia/Tashkent).")
@click.option("-o", "--out", "out_dir", type=click.Path(path_type=Path), metavar="DIR",
              help="Report folder (default: ./osintkit-reports/<claim id>).")
@verify_options
@db_option
@json_option
@click.pass_context
def verify_cmd(ctx: click.Context, targets: tuple[str, ...], out_dir: Path | None,
               formats: str, tolerance_hours: float, max_distance: int | None,
               no_archive: bool, allow_private: bool, deep: bool, fail_on: str,
               db_url: str | None,
               as_json: bool, **overrides: Any) -> None:
    """Verify a claim from its media: recycled? right time and place? edited?

    Writes report.json, report.html and report.md into the report folder and prints
    the verdict: corroborated, no-contradiction-found, suspicious or contradicted.
    Exit 0 below --fail-on, 1 at or above it, 2 when nothing could be verified.

    \b
    Example:
      osintkit verify samples/claims/contradicted_recycled.yaml --db sqlite:///demo.sqlite
      osintkit verify https://example.org/post/1 --claim-date 2026-04-18 \\
          --claim-place "37.22,67.28" --radius-km 25 -o report/ --json
    """
    from osintkit.checks.verdict import at_or_above
    from osintkit.errors import EXIT_USAGE
    from osintkit.verify import VerifyOptions, unusable_reason, verify_target

    options = VerifyOptions(**_verify_settings(formats, tolerance_hours, max_distance,
                                               no_archive, allow_private, deep))
    report = verify_target(list(targets), out_dir, db_url=db_url, options=options, **overrides)
    if as_json:
        print_json(report.to_dict())
    else:
        click.echo(_verify_summary(report))
    for err in report.errors:
        note(ctx, _printable(err.get("message")))
    if report.archive.get("error"):
        note(ctx, f"archive not searched: {_printable(report.archive['error'])}")
    problem = unusable_reason(report)
    if problem is not None:
        raise CliError(_printable(problem.message), EXIT_USAGE)
    if fail_on != "never" and at_or_above(report.level, fail_on):
        raise click.exceptions.Exit(EXIT_FAIL)


# --- batch (batch.py) ---
@cli.command("batch")
@click.argument("manifest", type=click.Path(path_type=Path))
@click.option("-o", "--out", "out_dir", type=click.Path(path_type=Path), default="batch-out",
              show_default=True, help="One report folder per claim, summary.json.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Claims run at once, each in its own process (not with --dask). "
                   "[default: all cores]")
@click.option("--claim-timeout", type=click.FloatRange(min=0, min_open=True), default=600.0,
              show_default=True, metavar="SECONDS",
              help="Stop a claim after this long; it is recorded as a timeout.")
@click.option("--resume", is_flag=True,
              help="Skip claims whose report exists and whose inputs are unchanged.")
@click.option("--junit", "junit_path", type=click.Path(path_type=Path), metavar="FILE",
              help="Write JUnit XML: one test case per claim.")
@click.option("--dask", "dask_address", metavar="ADDRESS",
              help="Run on an existing Dask cluster, e.g. tcp://scheduler:8786.")
@verify_options
@db_option
@json_option
@click.pass_context
def batch_cmd(ctx: click.Context, manifest: Path, out_dir: Path, jobs: int | None,
              claim_timeout: float, resume: bool, junit_path: Path | None, fail_on: str,
              dask_address: str | None, formats: str, tolerance_hours: float,
              max_distance: int | None, no_archive: bool, allow_private: bool, deep: bool,
              db_url: str | None, as_json: bool) -> None:
    """Verify many claims from a manifest (YAML list, JSON array, JSON Lines or CSV).

    CSV columns: id,url,claimed_at,lat,lon,radius_km,media. Bad rows are reported by
    line number and the others still run. Exit 0 when every verdict is below
    --fail-on, 1 when one is at or above it or a claim failed, 2 for an unusable manifest.

    \b
    Example:
      osintkit batch claims.csv -o out --junit out/junit.xml -j 4
      osintkit batch claims.yaml --resume --dask tcp://scheduler:8786
    """
    from osintkit.batch import BatchOptions, read_manifest, render_table, run_batch, write_junit

    verify = _verify_settings(formats, tolerance_hours, max_distance, no_archive, allow_private,
                              deep)
    verify["formats"] = list(verify["formats"])
    parsed = read_manifest(manifest)
    options = BatchOptions(out_dir=out_dir, jobs=jobs, claim_timeout=claim_timeout,
                           resume=resume, fail_on=fail_on, db_url=db_url, dask=dask_address,
                           verify=verify)
    with _batch_progress(len(parsed.rows)) as bar:
        def on_result(res: Any) -> None:
            bar.update(1)
            if as_json:
                print_json(res.to_dict())
            if res.error:
                bar.write(f"Error: {_printable(res.error.message)}", file=sys.stderr)
        result = run_batch(parsed, options, on_result)
    if junit_path:
        write_junit(junit_path, result.results, fail_on)
    if not as_json:
        click.echo(render_table(result.summary))
        note(ctx, f"reports in {out_dir}/, summary in {out_dir / 'summary.json'}")
    exit_for(result.failures)


def _batch_progress(total: int) -> Any:
    """A progress bar on stderr, only when stderr is a terminal."""
    from tqdm import tqdm

    return tqdm(total=total, unit="claim", file=sys.stderr, disable=not sys.stderr.isatty(),
                leave=False, dynamic_ncols=True)



def main() -> None:
    """Console-script entry point."""
    try:
        cli(prog_name="osintkit")
    except BrokenPipeError:  # `osintkit hash ... | head`
        sys.stderr.close()
        raise SystemExit(0) from None
