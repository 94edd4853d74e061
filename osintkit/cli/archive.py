"""The `archive` command group, and its add and search commands (the others, which keep
the records: archive_records.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from osintkit.cli.common import (
    address_options,
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
from osintkit.cli.helptext import ThresholdOption


# --- archive (archive/) ---
def _max_distance(ctx: click.Context, param: click.Parameter,
                  value: str | None) -> int | dict[str, int] | None:
    """`N` (PDQ bits) or `pdq=N,phash=M` (kinds left out keep their HASHERS default)."""
    if not value:
        return None
    try:
        if "=" not in value:
            return int(value)
        return {k.strip(): int(v) for k, v in (p.split("=", 1) for p in value.split(","))}
    except ValueError:
        raise click.BadParameter(f"{value!r}: use N (PDQ bits) or pdq=N,phash=M") from None


def open_db(db_url: str | None, create: bool = False) -> Any:
    """The archive at `db_url` for a command (created only when `create`)."""
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


def _render_ingest(res: Any) -> str:
    """One summary line per URL or evidence folder (untrusted text stripped of controls)."""
    def clean(text: object) -> str:
        return "".join(ch if ch.isprintable() else " " for ch in str(text))

    head = f"{res.kind} {clean(res.target)}: "
    if res.kind == "channel":
        head += (f"{res.pages} page{'s' * (res.pages != 1)}, {res.posts} post"
                 f"{'s' * (res.posts != 1)} archived, {res.known_posts} already archived; ")
    span = f"; posts {res.first_post} .. {res.last_post}" if res.first_post else ""
    lines = [head + f"{res.added} added, {res.updated} updated, {res.unchanged} unchanged, "
                    f"{res.failed} failed{span}"]
    if res.stopped:
        lines.append(f"  stopped: {res.stopped}")
    if res.evidence:
        lines.append(f"  evidence: {res.evidence}")
    lines += [f"  note: {clean(n)}" for n in res.notes[:5]]
    if len(res.notes) > 5:
        lines.append(f"  note: ... and {len(res.notes) - 5} more")
    return "\n".join(lines)


def _ingest_progress(ctx: click.Context) -> Any:
    """One line per channel page on stderr (silenced by -q)."""
    def progress(event: dict[str, Any]) -> None:
        if event.get("event") == "page":
            note(ctx, f"page {event['page']}: {event['posts']} posts down to "
                      f"{event.get('oldest') or '?'}; {event['archived']} archived so far")
    return progress


def _split_targets(targets: tuple[str, ...], urls_file: Path | None) -> tuple[list[str],
                                                                             list[Path]]:
    """(URLs and evidence folders, plain media files and folders)."""
    from osintkit.archive.ingest import is_evidence_dir, is_url, read_url_list

    intake = read_url_list(urls_file) if urls_file else []
    files = []
    for t in targets:
        if is_url(t) or is_evidence_dir(t):
            intake.append(t)
        else:
            files.append(Path(t))
    return intake, files


@archive_group.command("add")
@click.argument("targets", nargs=-1, metavar="[FILE|DIR|URL|EVIDENCE_DIR]...")
@click.option("--manifest", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="A list of files with their provenance (YAML/JSON/JSONL `file, source, "
                   "first_seen, title, tags` per item, or CSV with that header), paths "
                   "relative to it.")
@click.option("--urls", "urls_file", type=click.Path(path_type=Path, dir_okay=False),
              help="A file of URLs (channels, posts, articles), one per line.")
@click.option("--source", help="Where this material was published (URLs: default @channel "
                               "or the site).")
@click.option("--first-seen", metavar="DATE",
              help="Files: earliest known publication date (YYYY-MM-DD); re-adding keeps the "
                   "earliest. URLs and evidence folders use each post's own time.")
@click.option("--title", help="A short description (files).")
@click.option("--tag", "tags", multiple=True, help="A tag (repeatable).")
@click.option("--since", metavar="DATE", help="Channels: archive posts from this date/time on "
                                              "(the walk stops at the page that reaches it).")
@click.option("--until", metavar="DATE", help="Channels: archive posts up to this date/time.")
@click.option("--max-posts", type=click.IntRange(min=1), metavar="N",
              help="Channels: stop after archiving N new posts (run again to continue).")
@click.option("--evidence", "evidence_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the evidence of each URL (pages, media, WARC, manifest), one "
                   "sub-folder per URL [default: ./archive-evidence].")
@click.option("--delay", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Channels: seconds between two pages.")
@click.option("--max-wait", type=click.FloatRange(min=0), default=300.0, show_default=True,
              help="Longest Retry-After honoured on HTTP 429/503, seconds.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
              help="Connect and read timeout, seconds.")
@click.option("--proxy", metavar="URL", help="http://, socks5:// or socks5h:// proxy.")
@address_options
@click.option("--batch-size", type=click.IntRange(min=1), default=32, hidden=True)
@jobs_option
@db_option
@json_option
@click.pass_context
def archive_add(ctx: click.Context, targets: tuple[str, ...], manifest: Path | None,
                urls_file: Path | None, source: str | None, first_seen: str | None,
                title: str | None, tags: tuple[str, ...], batch_size: int, jobs: int,
                db_url: str | None, as_json: bool, **intake: Any) -> None:
    """Add files and folders, URLs (a Telegram channel's history, a post, an article) or
    the evidence folders of `fetch`/`verify` to the archive.

    Files: give them with --source and --first-seen, or --manifest FILE listing each file
    with its own source, first_seen, title and tags (the command-line values fill what a
    row leaves out). Idempotent: files already archived (same sha256) are not hashed
    again; their first_seen becomes the earlier date and tags are merged. Written in
    transactions, so an interrupted run keeps what it stored; run it again to complete.

    URLs and evidence folders (a folder with a manifest.json): each post's media with the
    post's own time as first_seen, the post URL as source_url and the post text as title.
    A channel (t.me/s/NAME) is walked back page by page, politely (--delay, Retry-After);
    a second run skips posts already archived and continues where the last one stopped.

    \b
    Example:
      osintkit archive add old/ --source "channel @x" --first-seen 2022-03-01 -j 2
      osintkit archive add --manifest samples/archive/known.yaml --db sqlite:///demo.sqlite
      osintkit archive add https://t.me/s/agency --since 2024-01-01 --evidence walks/
      osintkit archive add --urls channels.txt --max-posts 500
      osintkit archive add osintkit-reports/claim-1/evidence
    """
    intake_targets, files = _split_targets(targets, urls_file)
    batches = _add_batches(tuple(files), manifest, source, first_seen, title, tags) \
        if files or manifest is not None or not intake_targets else []
    failures = 0
    with open_db(db_url, create=True) as archive:
        if batches:
            failures += _add_files(ctx, archive, batches, batch_size, jobs, as_json)
        if intake_targets:
            failures += _add_intake(ctx, archive, intake_targets, source, tags, as_json,
                                    intake)
    exit_for(failures)


def _add_files(ctx: click.Context, archive: Any, batches: list[tuple[list[Path], dict]],
               batch_size: int, jobs: int, as_json: bool) -> int:
    from tqdm import tqdm

    quiet = bool(ctx.obj and ctx.obj.quiet)
    results: list[Any] = []
    with tqdm(unit="file", desc="archive add", disable=quiet or None, file=sys.stderr,
              leave=False) as bar:
        for files, meta in batches:
            results += archive.add(files, meta["source"], meta["first_seen"], meta["title"],
                                   meta["tags"], jobs=jobs, batch_size=batch_size,
                                   progress=lambda r: bar.update(1),
                                   on_skip=lambda p, why: note(ctx, f"{p}: skipped ({why})"))
    return emit_results(ctx, results, as_json, _render_add)


def _add_intake(ctx: click.Context, archive: Any, targets: list[str], source: str | None,
                tags: tuple[str, ...], as_json: bool, o: dict[str, Any]) -> int:
    from osintkit.archive.ingest import IngestOptions, add_target, parse_bound

    opts = IngestOptions(evidence=o["evidence_dir"], since=parse_bound(o["since"]),
                         until=parse_bound(o["until"], end=True), max_posts=o["max_posts"],
                         delay=o["delay"], max_wait=o["max_wait"], source=source,
                         tags=tags, allow_private=o["allow_private"],
                         allow_networks=tuple(o["allow_networks"]), timeout=o["timeout"],
                         proxy=o["proxy"])
    progress = _ingest_progress(ctx)
    failures = 0
    for target in targets:
        res = add_target(archive, target, opts, progress)
        failures += int(not res.ok)
        if as_json:
            print_json(res.to_dict())
        elif res.error is None:
            click.echo(_render_ingest(res))
        for err in ([res.error] if res.error else []) + res.errors[:20]:
            click.echo(f"Error: {err.message}", err=True)
        if len(res.errors) > 20:
            click.echo(f"Error: ... and {len(res.errors) - 20} more", err=True)
    return failures


def _add_batches(paths: tuple[Path, ...], manifest: Path | None, source: str | None,
                 first_seen: str | None, title: str | None, tags: tuple[str, ...]
                 ) -> list[tuple[list[Path], dict[str, Any]]]:
    """(files, provenance) groups for `archive add`, from FILES or --manifest."""
    if manifest is not None:
        from osintkit.archive.addlist import groups, read_add_manifest

        if paths:
            raise click.UsageError("give FILES or --manifest, not both")
        entries = read_add_manifest(manifest, source, first_seen, title, tags)
        return [(files, {"source": e.source, "first_seen": e.first_seen, "title": e.title,
                         "tags": e.tags}) for e, files in groups(entries)]
    if not paths:
        raise click.UsageError("give FILES or DIRS to add, URLs, evidence folders, "
                               "--manifest FILE or --urls FILE")
    missing = [name for name, v in (("--source", source), ("--first-seen", first_seen)) if not v]
    if missing:
        raise click.UsageError(f"{' and '.join(missing)} required with FILES "
                               "(or list them with --manifest; URLs and evidence folders "
                               "take them from each post)")
    return [(list(paths), {"source": source, "first_seen": first_seen, "title": title,
                           "tags": list(tags)})]


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
    """Which views matched and what the geometry says (osintkit/match/views.py, geometry.py)."""
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
              cls=ThresholdOption,
              help="Near-match thresholds in bits (default pdq={pdq}, phash={phash}).")
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
    with open_db(db_url) as archive:
        results = archive.search_paths(paths, max_distance, limit, jobs=jobs,
                                       robust=not fast, candidates=candidates,
                                       on_skip=lambda p, why: note(ctx, f"{p}: skipped ({why})"))
    exit_for(emit_results(ctx, results, as_json, _render_search))
