#!/usr/bin/env python3
"""The demo (`make demo`): build the sample archive, verify every sample claim.

1. Regenerate the samples if they are missing (scripts/make_samples.py).
2. Load samples/archive/known.yaml into a fresh SQLite archive under the output folder.
3. Run `osintkit verify` on every samples/claims/*.yaml (the real CLI, as a user would).
4. Print each verdict and the path of its HTML report.

Usage: python scripts/demo.py [--out demo-out] [--screenshot docs/verify-report.png]
(--screenshot also renders one report in headless Chromium for the README.)
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
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


def screenshot(report: Path, png: Path, size: tuple[int, int] = (1100, 2500)) -> None:
    """The top of an HTML report as a small PNG (256 colours, 3/4 scale), via Chromium."""
    from PIL import Image

    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        raise SystemExit("demo: --screenshot needs chromium")
    with tempfile.TemporaryDirectory() as tmp:
        shot = Path(tmp) / "shot.png"
        subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update",
                        "--disable-sync", "--hide-scrollbars", f"--user-data-dir={tmp}",
                        f"--screenshot={shot}", f"--window-size={size[0]},{size[1]}",
                        report.as_uri()], check=True, capture_output=True, timeout=120)
        png.parent.mkdir(parents=True, exist_ok=True)
        img = Image.open(shot).convert("RGB")
        img = img.resize((img.width * 3 // 4, img.height * 3 // 4), Image.Resampling.LANCZOS)
        img.quantize(256).save(png, optimize=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "demo-out")
    ap.add_argument("--screenshot", type=Path, metavar="PNG",
                    help="also save a screenshot of the recycled claim's HTML report")
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
    if args.screenshot:
        screenshot(out / "contradicted_recycled" / "report.html", args.screenshot)
        print(f"screenshot: {args.screenshot}")
    return worst


if __name__ == "__main__":
    sys.exit(main())
