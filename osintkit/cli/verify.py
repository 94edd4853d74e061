"""Commands `verify` (one claim) and `batch` (many claims)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from osintkit.cli.common import (
    CliError,
    cli,
    db_option,
    exit_for,
    json_option,
    note,
    print_json,
)
from osintkit.errors import EXIT_FAIL, EXIT_USAGE

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
        click.option("--fast", is_flag=True,
                     help="Archive: hash views only (no local features, no copy/scene "
                          "verdict): misses heavy crops and rotations, ~3x quicker."),
        click.option("--deep", is_flag=True, hidden=True,
                     help="Former opt-in to the robust search, now the default."),
        click.option("--allow-private", is_flag=True,
                     help="Allow fetching from private/loopback addresses."),
        click.option("--fail-on", type=click.Choice(_VERIFY_LEVELS), default="contradicted",
                     show_default=True,
                     help="Exit 1 (and a JUnit failure in batch) at or above this verdict."),
        click.option("--analyst", metavar="NAME",
                     help="Custody: who runs the verification (else the claim's `analyst`)."),
        click.option("--check", "checks", multiple=True, metavar="CODE",
                     help="Run only this check (repeatable); the verdict says so."),
        click.option("--skip-check", "skip_checks", multiple=True, metavar="CODE",
                     help="Do not run this check (repeatable); the verdict says so."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _verify_settings(formats: str, tolerance_hours: float, max_distance: int | None,
                     no_archive: bool, allow_private: bool, fast: bool,
                     analyst: str | None = None, checks: tuple[str, ...] = (),
                     skip_checks: tuple[str, ...] = ()) -> dict[str, Any]:
    """The VerifyOptions fields given on the command line (formats checked)."""
    fmts = tuple(f.strip() for f in formats.split(",") if f.strip())
    unknown = [f for f in fmts if f not in ("json", "html", "md", "junit")]
    if unknown or not fmts:
        raise click.BadParameter(f"unknown format(s) {unknown}; use json, html, md, junit",
                                 param_hint="--format")
    from osintkit.checks import select_checks

    try:
        select_checks(checks or None, skip_checks)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--check/--skip-check") from None
    return {"formats": fmts, "tolerance_hours": tolerance_hours, "max_distance": max_distance,
            "search_archive": not no_archive, "allow_private": allow_private, "fast": fast,
            "analyst": analyst, "checks": list(checks) or None, "skip_checks": list(skip_checks)}


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
    levels = [f"{m['id']} {m['level']}" for m in d["media"] if m.get("level")]
    if levels:
        lines.append(f"media: {', '.join(levels)}")
    from osintkit.report.archive_block import summary_line

    lines.append(_printable(summary_line(d["archive"])))
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
@click.option("--case", metavar="ID", help="Custody: the case number (else the claim's `case`).")
@verify_options
@db_option
@json_option
@click.pass_context
def verify_cmd(ctx: click.Context, targets: tuple[str, ...], out_dir: Path | None,
               formats: str, tolerance_hours: float, max_distance: int | None,
               no_archive: bool, allow_private: bool, fast: bool, deep: bool, fail_on: str,
               db_url: str | None, analyst: str | None, case: str | None,
               checks: tuple[str, ...], skip_checks: tuple[str, ...],
               as_json: bool, **overrides: Any) -> None:
    """Verify a claim from its media: recycled? right time and place? edited?

    Writes report.json, report.html, report.md and report.sha256 into the report folder
    and prints the verdict: corroborated, no-contradiction-found, suspicious or
    contradicted, with a level per media item and the archive searched. The archive
    must exist (it is never created here): --db, OSINTKIT_DB or the default archive;
    --no-archive to go without. Exit 0 below --fail-on, 1 at or above it, 2 when nothing
    could be verified or the archive is missing.

    \b
    Example (from the checkout, after `make demo`):
      osintkit verify samples/claims/contradicted_recycled.yaml --db sqlite:///demo-out/archive.sqlite
      osintkit verify photo.jpg clip.mp4 --claim-date 2026-04-18 --no-archive --analyst "J. Doe"
      osintkit verify https://example.org/post/1 --claim-date 2026-04-18 \\
          --claim-place "37.22,67.28" --radius-km 25 -o report/ --json
    """
    from osintkit.checks.verdict import at_or_above
    from osintkit.verify import VerifyOptions, unusable_reason, verify_target

    options = VerifyOptions(**_verify_settings(formats, tolerance_hours, max_distance,
                                               no_archive, allow_private, fast, analyst,
                                               checks, skip_checks), case=case)
    report = verify_target(list(targets), out_dir, db_url=db_url, options=options, **overrides)
    if as_json:
        print_json(report.to_dict())
    else:
        click.echo(_verify_summary(report))
    for err in report.errors:
        note(ctx, _printable(err.get("message")))
    if report.archive.get("error"):
        note(ctx, f"archive not searched: {_printable(report.archive['error'])}")
    for text in report.archive.get("notes") or []:
        note(ctx, f"archive: {_printable(text)}")
    problem = unusable_reason(report)
    if problem is not None:
        raise CliError(_printable(problem.message), EXIT_USAGE)
    if fail_on != "never" and at_or_above(report.level, fail_on):
        raise click.exceptions.Exit(EXIT_FAIL)


# --- batch (batch.py) ---
@cli.command("batch")
@click.argument("manifests", nargs=-1, required=True, type=click.Path(path_type=Path),
                metavar="MANIFEST|CLAIM.yaml...")
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
@click.option("--name", "batch_name", metavar="NAME",
              help="The batch's name in JUnit XML (default: the manifest's or folder's name).")
@verify_options
@db_option
@json_option
@click.pass_context
def batch_cmd(ctx: click.Context, manifests: tuple[Path, ...], out_dir: Path, jobs: int | None,
              claim_timeout: float, resume: bool, junit_path: Path | None, fail_on: str,
              dask_address: str | None, batch_name: str | None, formats: str,
              tolerance_hours: float,
              max_distance: int | None, no_archive: bool, allow_private: bool, fast: bool,
              deep: bool, analyst: str | None, checks: tuple[str, ...],
              skip_checks: tuple[str, ...], db_url: str | None, as_json: bool) -> None:
    """Verify many claims: a manifest (YAML list, JSON array, JSON Lines, CSV, or a .txt
    list of claim files) or claim files themselves.

    CSV columns: id,url,claimed_at,lat,lon,radius_km,media (or claim_file). A manifest
    entry may be the path of a claim file, relative to the manifest. Bad rows are
    reported by line number and the others still run. The archive must exist (or give
    --no-archive). Exit 0 when every verdict is below --fail-on, 1 when one is at or
    above it or a claim failed, 2 for an unusable manifest or a missing archive.

    \b
    Example:
      osintkit batch claims.csv -o out --junit out/junit.xml -j 4
      osintkit batch samples/claims/*.yaml --db sqlite:///demo-out/archive.sqlite -o out
      osintkit batch claims.yaml --resume --dask tcp://scheduler:8786
    """
    from osintkit.batch import BatchOptions, read_sources, render_table, run_batch, write_junit

    verify = _verify_settings(formats, tolerance_hours, max_distance, no_archive, allow_private,
                              fast, analyst, checks, skip_checks)
    verify["formats"] = list(verify["formats"])
    parsed = read_sources(list(manifests))
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
        write_junit(junit_path, result.results, fail_on, batch_name or parsed.name)
    if not as_json:
        click.echo(render_table(result.summary))
        note(ctx, f"reports in {out_dir}/, summary in {out_dir / 'summary.json'}")
    exit_for(result.failures)


def _batch_progress(total: int) -> Any:
    """A progress bar on stderr, only when stderr is a terminal."""
    from tqdm import tqdm

    return tqdm(total=total, unit="claim", file=sys.stderr, disable=not sys.stderr.isatty(),
                leave=False, dynamic_ncols=True)
