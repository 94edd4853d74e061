"""The `archive` command group: add, search, list, stats, remove, export, import."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from osintkit.cli import (
    cli,
    db_option,
    emit_results,
    exit_for,
    jobs_option,
    json_option,
    note,
    paths_argument,
    print_json,
)


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
    lines += [f"  note: {n}" for n in getattr(res, "notes", None) or []]
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
    shot = getattr(m, "shot", None)
    if shot:
        out.append(f"        pixels: {shot['reason']}")
    return out


@archive_group.command("search")
@paths_argument
@click.option("--max-distance", callback=_max_distance, metavar="N|pdq=N,phash=M",
              help="Near-match thresholds in bits (default pdq=31, phash=10).")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="Matches per query.")
@click.option("--fast", is_flag=True,
              help="Hash views only: no local features, no copy/scene verdict (misses heavy "
                   "crops and rotations; ~3x quicker).")
@click.option("--candidates", "--deep-candidates", "candidates", type=click.IntRange(min=1),
              default=8, show_default=True, metavar="N",
              help="How many archived images the local-feature index proposes for a fit.")
@click.option("--deep", is_flag=True, hidden=True, help="Former opt-in, now the default.")
@jobs_option
@db_option
@json_option
@click.pass_context
def archive_search(ctx: click.Context, paths: tuple[Path, ...], max_distance: Any, limit: int,
                   fast: bool, candidates: int, deep: bool, jobs: int, db_url: str | None,
                   as_json: bool) -> None:
    """Find each file (or video frame) in the archive: exact, copies, other shots.

    By default the robust search: the hashes of the picture and of its views (content
    region, sub-views), candidates from the local-feature index, a geometric fit on the
    stored features, and a pixel check that tells a copy ("near": cropped, padded,
    mirrored, rotated, recoloured, captioned) from another shot of the same scene
    ("scene"). --fast: the hash views only. Video frames are matched against archived
    images and video frames (query_t, item_t). Best first.

    \b
    Example:
      osintkit archive search claim.jpg
      osintkit archive search screenshot.png --json | jq .matches[0].geometry
      osintkit archive search launch.mp4 --max-distance pdq=40 --json | jq .matches[0]
    """
    with _open(db_url) as archive:
        results = archive.search_paths(paths, max_distance, limit, jobs=jobs,
                                       robust=not fast, candidates=candidates,
                                       on_skip=lambda p, why: note(ctx, f"{p}: skipped ({why})"))
    exit_for(emit_results(ctx, results, as_json, _render_search))


@archive_group.command("backfill")
@click.option("--retry", is_flag=True,
              help="Also retry images whose file was missing or changed last time.")
@jobs_option
@db_option
@json_option
def archive_backfill(retry: bool, jobs: int, db_url: str | None, as_json: bool) -> None:
    """Make the local features of archived images that have none (added before schema
    v5), from their files; an image whose file is gone or changed is marked and keeps
    matching by hashes only. Resumable: run it again after an interruption.

    \b
    Example:
      osintkit archive backfill -j 2 --db postgresql://team@db/osint
    """
    with _open(db_url) as archive:
        report = archive.backfill(retry=retry, jobs=jobs)
        counts = archive.local_counts()
    if as_json:
        print_json({**report.to_dict(), "status": counts})
    else:
        done = ", ".join(f"{v} {k}" for k, v in sorted(report.done.items())) or "nothing to do"
        click.echo(f"backfill: {done}; archive now: "
                   + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))


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
