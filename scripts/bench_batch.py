#!/usr/bin/env python3
"""Benchmark `osintkit batch`: warm claim workers against a fresh process per claim.

The baseline is the simplest isolation (one new `python -m osintkit.batch` per claim);
the measured design keeps each child for up to 50 claims. Both kill a claim at its
timeout. Same claims (the regenerated samples' media, one claim per picture), same
archive, same run; medians of REPEAT runs, each from cold (no warm child left over).

Usage: python scripts/bench_batch.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _setup(work: Path) -> tuple[Path, str]:
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_samples.py"), "--out",
                    str(work / "samples")], check=True, capture_output=True)
    from osintkit.archive import open_archive

    db = f"sqlite:///{work / 'archive.sqlite'}"
    with open_archive(db) as archive:
        archive.add([work / "samples" / "archive"], source="bench", first_seen="2019-01-01")
    pictures = sorted((work / "samples" / "media").glob("*.jpg"))
    rows = [f"c{i},,2026-04-18,37.2242,67.2783,25,{p}" for i, p in enumerate(pictures)]
    manifest = work / "claims.csv"
    manifest.write_text("id,url,claimed_at,lat,lon,radius_km,media\n" + "\n".join(rows) + "\n")
    return manifest, db


def _once(manifest: Path, db: str, out: Path, jobs: int, per_claim_process: bool) -> float:
    from osintkit.batch import BatchOptions, isolate, read_manifest, run_batch

    isolate.ClaimWorker.MAX_TASKS = 1 if per_claim_process else 50
    parsed = read_manifest(manifest)
    start = time.perf_counter()
    result = run_batch(parsed, BatchOptions(out_dir=out, jobs=jobs, db_url=db))
    elapsed = time.perf_counter() - start
    isolate.shared_pool().close()  # the next run starts cold
    assert all(r.ok for r in result.results), [r.error for r in result.results]
    return elapsed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="osintkit-bench-batch-") as tmp:
        work = Path(tmp)
        manifest, db = _setup(work)
        n = len(manifest.read_text().splitlines()) - 1
        print(f"{n} claims (one picture each), medians of {args.repeat} cold runs\n")
        print("| -j | process per claim | warm workers | speed-up |")
        print("|---:|---:|---:|---:|")
        for jobs in (1, 2):
            times: dict[bool, list[float]] = {True: [], False: []}
            for rep in range(args.repeat):  # interleaved, so load changes hit both alike
                for fresh in (True, False):
                    out = work / f"out-{jobs}-{rep}-{fresh}"
                    times[fresh].append(_once(manifest, db, out, jobs, fresh))
            base, warm = statistics.median(times[True]), statistics.median(times[False])
            print(f"| {jobs} | {base:.1f} s | {warm:.1f} s | {base / warm:.1f}× |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
