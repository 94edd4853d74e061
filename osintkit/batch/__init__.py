"""Last stage of the flow, many claims at once: run `verify` over a manifest.

    manifest ──► rows (bad rows reported by line; the good ones run) ──► resume keys
      ──► each claim in its own killable process (local threads, or a Dask cluster)
      ──► one report folder per claim + batch.json, summary.json, JUnit XML

Steps: 1 `manifest.read_manifest`, 2 resume keys (`resume.py`), 3 `isolate.shared_pool` (local)
or `cluster.run_dask`, 4 `results` (summary, JUnit).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from osintkit.batch.isolate import kill_running, shared_pool
from osintkit.batch.manifest import Manifest, Row, folder_name, read_manifest, read_sources
from osintkit.batch.options import BatchOptions
from osintkit.batch.results import (
    LEVELS,
    ClaimResult,
    junit_xml,
    level_at_least,
    make_summary,
    render_markdown,
    render_table,
    top_findings,
    write_junit,
)
from osintkit.batch.resume import (
    archive_version,
    media_digest,
    report_files,
    resume_key,
    row_source,
)
from osintkit.errors import INTERNAL, ErrorInfo, InputError, error_info
from osintkit.fileio import atomic_write

__all__ = [
    "LEVELS",
    "BatchOptions",
    "BatchResult",
    "ClaimResult",
    "Manifest",
    "junit_xml",
    "level_at_least",
    "media_digest",
    "read_manifest",
    "read_sources",
    "render_table",
    "run_batch",
    "top_findings",
    "write_junit",
]

BATCH_FILE = "batch.json"  # per claim folder: the resume key and the outcome


@dataclass
class BatchResult:
    """All claim results of a batch (bad rows included), in manifest order."""

    manifest: Manifest
    options: BatchOptions
    results: list[ClaimResult]
    summary: dict[str, Any]

    @property
    def failures(self) -> int:
        return sum(r.fails(self.options.fail_on) for r in self.results)


def _previous(folder: Path, key: str, row: Row, files: list[str]) -> ClaimResult | None:
    """The stored result of an unchanged claim whose reports all exist, else None."""
    try:
        stored = json.loads((folder / BATCH_FILE).read_text(encoding="utf-8"))
        result = ClaimResult.from_dict(stored["result"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if stored.get("key") != key or not result.ok:
        return None
    if not all((folder / name).is_file() for name in files):
        return None
    result.line, result.resumed = row.line, True  # rows may have moved in the manifest
    return result


# ---------------------------------------------------------------- the batch
OnResult = Callable[[ClaimResult], None]


def run_batch(manifest: Manifest, options: BatchOptions,
              on_result: OnResult | None = None) -> BatchResult:
    """Verify every good row of `manifest` into `options.out_dir`; never stops on one claim.

    Each finished claim is written at once (its folder, batch.json, summary.json), so an
    interrupted batch keeps what it computed. `on_result` sees every result as it comes.
    """
    from osintkit.verify import VerifyOptions, check_archive

    check_archive(options.db_url, VerifyOptions(**options.verify))  # never create one
    out = options.out_dir
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out}: cannot create the output folder "
                         f"({exc.strerror or exc})", code="unreadable") from None
    state = _State(manifest, options, on_result or (lambda _r: None))
    for row in manifest.bad:
        state.add(ClaimResult(row.id, row.line, "invalid", error=row.error))
    archive = archive_version(options.db_url)
    files = report_files(options.verify)
    tasks = []
    for row in manifest.good:
        folder = out / folder_name(row.id)
        key = resume_key(manifest, row, archive, options.verify)
        previous = _previous(folder, key, row, files) if options.resume else None
        if previous is not None:
            state.add(previous)
            continue
        _clear(folder)
        tasks.append({"id": row.id, "line": row.line, "key": key, "record": row.record,
                      "manifest": str(row_source(manifest, row).resolve()),
                      "out_dir": str(folder.resolve()),
                      "db_url": options.db_url, "verify": options.verify})
    try:
        if options.dask:
            from osintkit.batch.cluster import run_dask
            run_dask(options.dask, tasks, options, state.finish)
        else:
            _run_local(tasks, options, state.finish)
    except BaseException:  # Ctrl-C, unreachable cluster: keep what is done on disk
        state.write_summary(complete=False)
        raise
    return state.close()


class _State:
    """Results so far. Each claim's batch.json is written as it finishes; summary.json
    while running at most every SUMMARY_EVERY seconds (rewriting it per claim would cost
    quadratic time on big batches), and summary.json + summary.md at the end."""

    SUMMARY_EVERY = 2.0

    def __init__(self, manifest: Manifest, options: BatchOptions, on_result: OnResult):
        self.manifest, self.options, self.on_result = manifest, options, on_result
        self.results: list[ClaimResult] = []
        self.started = _now()
        self.files = report_files(options.verify)
        self.last_write = 0.0

    def add(self, result: ClaimResult) -> None:
        self.results.append(result)
        self.on_result(result)

    def finish(self, task: dict[str, Any], outcome: dict[str, Any]) -> None:
        """Record one claim's outcome (called in the main thread, as claims finish)."""
        out = self.options.out_dir
        folder = out / folder_name(task["id"])
        _write_files(folder, outcome.pop("files", None) or {})
        err = outcome.get("error")
        report = next((folder / name for name in self.files if (folder / name).is_file()),
                      None)
        result = ClaimResult(
            task["id"], task["line"], outcome["status"], outcome.get("verdict"),
            outcome.get("reasons") or [], outcome.get("findings") or [],
            ErrorInfo(err["code"], err["message"]) if err else None,
            outcome.get("duration_s", 0.0),
            report.relative_to(out).as_posix() if report else None)
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write(folder / BATCH_FILE, json.dumps(
            {"key": task["key"], "result": result.to_dict()}, indent=1, default=str) + "\n")
        self.add(result)
        if time.monotonic() - self.last_write >= self.SUMMARY_EVERY:
            self.write_summary(complete=False)

    def write_summary(self, complete: bool) -> dict[str, Any]:
        results = sorted(self.results, key=lambda r: r.line)
        summary = make_summary(self.manifest.path, self.options.out_dir, self.options.fail_on,
                               results, self.started, _now() if complete else None)
        atomic_write(self.options.out_dir / "summary.json",
                     json.dumps(summary, indent=1, ensure_ascii=False, default=str) + "\n")
        if complete:
            atomic_write(self.options.out_dir / "summary.md", render_markdown(summary) + "\n")
        self.last_write = time.monotonic()
        return summary

    def close(self) -> BatchResult:
        summary = self.write_summary(complete=True)
        results = sorted(self.results, key=lambda r: r.line)
        return BatchResult(self.manifest, self.options, results, summary)


def _run_local(tasks: list[dict[str, Any]], options: BatchOptions,
               done: Callable[[dict[str, Any], dict[str, Any]], None]) -> None:
    from concurrent.futures import ThreadPoolExecutor, as_completed

    jobs = options.jobs or os.cpu_count() or 1
    workers = shared_pool()
    # Threads only wait on the child processes: the work happens in the children.
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="claim") as pool:
        futures = {pool.submit(workers.run, t, options.claim_timeout): t for t in tasks}
        try:
            for fut in as_completed(futures):
                done(futures[fut], _outcome_of(fut, futures[fut]))
        except BaseException:  # Ctrl-C: results so far are written; stop the children
            for fut in futures:
                fut.cancel()
            kill_running()
            raise


def _outcome_of(fut: Any, task: dict[str, Any]) -> dict[str, Any]:
    try:
        return fut.result()
    except Exception as exc:  # a bug of ours in one claim still leaves the others running
        return {"status": "error", "error": {
            "code": INTERNAL, "message": f"claim {task['id']}: {error_info(exc).message}"}}


def _clear(folder: Path) -> None:
    """Remove a previous run's reports so a failed rerun never shows stale ones."""
    from osintkit.report.render import FILE_NAMES, SHA256_FILE

    for name in (*FILE_NAMES.values(), SHA256_FILE, BATCH_FILE):
        (folder / name).unlink(missing_ok=True)


def _write_files(folder: Path, files: dict[str, bytes]) -> None:
    """Write a claim folder shipped back by a remote worker (paths stay inside it)."""
    root = folder.resolve()
    for rel, data in files.items():
        target = (root / rel).resolve()
        if not target.is_relative_to(root):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


