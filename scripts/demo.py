#!/usr/bin/env python3
"""The demo (`make demo`): build the sample archive, verify every sample claim.

1. Regenerate the samples if they are missing (scripts/make_samples.py).
2. Load samples/archive/known.yaml into a fresh SQLite archive under the output folder.
3. Run `osintkit verify` on every samples/claims/*.yaml (the real CLI, as a user would).
4. Print each verdict and the path of its HTML report.

Usage: python scripts/demo.py [--out demo-out]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


def ensure_samples() -> None:
    """Run make_samples.py only when the samples are missing."""
    if not any((SAMPLES / "claims").glob("*.yaml")) or not (SAMPLES / "archive" /
                                                             "known.yaml").exists():
        subprocess.run([sys.executable, str(ROOT / "scripts" / "make_samples.py")], check=True)


def build_archive(db_path: Path) -> str:
    """A fresh SQLite archive holding the known older material, with first-seen dates."""
    from osintkit.archive import open_archive

    db_path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{db_path}"
    known = yaml.safe_load((SAMPLES / "archive" / "known.yaml").read_text())
    with open_archive(url) as archive:
        for entry in known["items"]:
            results = archive.add([SAMPLES / "archive" / entry["file"]], source=entry["source"],
                                  first_seen=str(entry["first_seen"]), title=entry["title"])
            bad = [r for r in results if not r.ok]
            if bad:
                raise SystemExit(f"demo: cannot archive {entry['file']}: {bad[0].error}")
    return url


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "demo-out")
    args = ap.parse_args(argv)
    out = args.out.resolve()
    ensure_samples()
    db = build_archive(out / "archive.sqlite")
    print(f"archive: {db}")
    claims = sorted((SAMPLES / "claims").glob("*.yaml"))
    exe = [sys.executable, "-m", "osintkit"]
    width = max(len(c.stem) for c in claims)
    worst = 0
    for claim in claims:
        report_dir = out / claim.stem
        proc = subprocess.run([*exe, "-q", "verify", str(claim), "--db", db, "-o",
                               str(report_dir), "--json", "--fail-on", "never"],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"{claim.stem:<{width}}  ERROR {proc.stderr.strip()}")
            worst = max(worst, proc.returncode)
            continue
        report = json.loads(proc.stdout)
        codes = sorted({f["code"] for f in report["findings"] if f["severity"] != "info"})
        print(f"{claim.stem:<{width}}  {report['verdict']['level']:<22} "
              f"{report_dir / 'report.html'}")
        if codes:
            print(f"{'':<{width}}  {', '.join(codes)}")
    return worst


if __name__ == "__main__":
    sys.exit(main())
