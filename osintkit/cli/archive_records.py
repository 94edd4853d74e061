"""The `archive` commands that keep the records: backfill, list, stats, remove, export,
import (the group, add and search: archive.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from osintkit.cli.archive import archive_group, open_db
from osintkit.cli.common import (
    db_option,
    exit_for,
    jobs_option,
    json_option,
    note,
    print_json,
)


@archive_group.command("backfill")
@click.option("--retry", is_flag=True,
              help="Also retry images whose file was missing or changed last time.")
@jobs_option
@db_option
@json_option
def archive_backfill(retry: bool, jobs: int, db_url: str | None, as_json: bool) -> None:
    """Make the local features of archived images that have none (added before schema
    v6), and the shots and frame strip of archived videos that have none (before v7),
    from their files; a file gone or changed is marked and keeps matching by hashes
    only. Resumable: run it again after an interruption.

    \b
    Example:
      osintkit archive backfill -j 2 --db postgresql://team@db/osint
    """
    with open_db(db_url) as archive:
        report = archive.backfill(retry=retry, jobs=jobs)
        counts = archive.local_counts()
        counts.update({f"video {k}": v for k, v in archive.video_counts().items()})
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
    with open_db(db_url) as archive:
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
    """Counts by kind and source, first_seen range, engine, schema version, change counter.

    \b
    Example:
      osintkit archive stats
      osintkit archive stats --db sqlite:///demo-out/archive.sqlite --json
    """
    from osintkit.report.archive_block import describe

    with open_db(db_url) as archive:
        stats = archive.stats()
        block = describe(archive, robust=False)
    stats.update(db=block["identity"], archive_id=block["archive_id"],
                 generation=block["generation"], modified_at=block["modified_at"],
                 subviews=block["subviews"])
    if as_json:
        print_json(stats)
        return
    click.echo(render_stats(stats))


def render_stats(stats: dict[str, Any]) -> str:
    """`archive stats` as a table: the archive, then counts by kind and by source."""
    from osintkit.batch.results import printable

    rows = [("archive", stats["db"]), ("engine", f"{stats['engine']}, schema v"
                                                 f"{stats['schema_version']}"),
            ("items", f"{stats['items']} ({stats['frames']} video frames, "
                      f"{stats.get('subviews', 0)} images with sub-view hashes)"),
            ("first seen", f"{stats['first_seen_min'] or '-'} to {stats['first_seen_max'] or '-'}"),
            ("changes", f"{stats.get('generation')}"
                        + (f", last modified {stats['modified_at']}"
                           if stats.get("modified_at") else ""))]
    width = max(len(k) for k, _ in rows)
    lines = [f"{k:<{width}}  {printable(v)}" for k, v in rows]
    for title, counts in (("kind", stats["kinds"]), ("source", stats["sources"])):
        if not counts:
            continue
        names = [printable(n or "(none)") for n in counts]
        w = max(len(title), *(len(n) for n in names))
        lines += ["", f"{title:<{w}}  {'items':>7}"]
        lines += [f"{n:<{w}}  {c:>7}" for n, c in
                  sorted(zip(names, counts.values(), strict=True), key=lambda x: (-x[1], x[0]))]
    return "\n".join(lines)


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
    with open_db(db_url) as archive:
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
              show_default=True,
              help="jsonl: full records; csv: hash list (pdq, md5, ..., vpdq, views).")
@click.option("--with-paths", is_flag=True,
              help="Keep local file paths (origin); by default they are made relative to the "
                   "working directory when under it, else dropped.")
@db_option
@click.pass_context
def archive_export(ctx: click.Context, output: Path | None, fmt: str, with_paths: bool,
                   db_url: str | None) -> None:
    """Export the archive: full records (JSONL) or a hash list to share (CSV).

    Both carry what matching needs: frame PDQs of videos (CSV: vPDQ lines in `vpdq`),
    sub-view PDQs of images (crops are found), and in JSONL the local features for
    --deep. A note says how many rows can only match exactly (no perceptual hash).

    \b
    Example:
      osintkit archive export -o archive.jsonl
      osintkit archive export --format csv > hashes.csv
      osintkit archive export -o team.jsonl --with-paths
    """
    from osintkit.archive.export import export_csv, export_jsonl

    write = export_csv if fmt == "csv" else export_jsonl
    with open_db(db_url) as archive:
        if output is None:
            report = write(archive, sys.stdout, with_paths)
        else:
            with output.open("w", encoding="utf-8", newline="") as fh:
                report = write(archive, fh, with_paths)
    note(ctx, f"exported {report.rows} records")
    warning = report.warning()
    if warning:
        click.echo(f"warning: {warning}", err=True)


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

    with open_db(db_url, create=True) as archive:
        report = import_file(archive, file, fmt, source, first_seen, tags)
    if as_json:
        print_json(report.to_dict())
    for err in report.errors:
        click.echo(f"Error: {file}: {err}", err=True)
    if report.ok and not as_json:
        click.echo(f"{file}: {report.rows} rows: {report.added} added, {report.updated} "
                   f"updated, {report.unchanged} unchanged")
    exit_for(int(not report.ok))
