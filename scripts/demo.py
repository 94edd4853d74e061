#!/usr/bin/env python3
"""The demo (`make demo`): build the sample archive, verify every sample claim.

1. Regenerate the samples if they are missing (scripts/make_samples.py).
2. Load samples/archive/known.yaml into a fresh SQLite archive under the output folder.
3. Run `osintkit verify` on every samples/claims/*.yaml (the real CLI, as a user would).
4. Serve samples/spread/ on 127.0.0.1 (a local server started and stopped here) and verify
   the claim seen on four channels: its report shows the claim's spread.
5. Print each verdict and the path of its HTML report.

Usage: python scripts/demo.py [--out demo-out] [--screenshot docs/verify-report.png]
                              [--spread-screenshot docs/spread-report.png]
(the screenshots render reports in headless Chromium for the README.)
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
                                                             "known.yaml").exists() \
            or not (SAMPLES / "spread" / "claim.yaml").exists():
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


def verify(claim: Path, db: str, report_dir: Path, *extra: str) -> tuple[int, dict | str]:
    """The real CLI on one claim: (exit code, report.json or the error line)."""
    proc = subprocess.run([sys.executable, "-m", "osintkit", "-q", "verify", str(claim),
                           "--db", db, "-o", str(report_dir), "--json", "--fail-on", "never",
                           *extra], capture_output=True, text=True)
    if proc.returncode != 0:
        return proc.returncode, proc.stderr.strip()
    return 0, json.loads(proc.stdout)


def show(name: str, width: int, report_dir: Path, report: dict) -> None:
    codes = sorted({f["code"] for f in report["findings"] if f["severity"] != "info"})
    print(f"{name:<{width}}  {report['verdict']['level']:<22} {report_dir / 'report.html'}")
    if codes:
        print(f"{'':<{width}}  {', '.join(codes)}")
    for group in report.get("spread") or []:
        print(f"{'':<{width}}  spread {group['kind']} {', '.join(group['media_ids'])}:")
        for a in group["appearances"]:
            print(f"{'':<{width}}    {a['posted_at'] or '?':<25} {a['url']}  {a['transform']}")


def spread_section(report: Path, out: Path) -> Path:
    """The report's spread section alone (its styles kept), for a screenshot."""
    text = report.read_text(encoding="utf-8")
    head = text[:text.index("<body>")]
    start, end = text.index('<h2 id="spread">'), text.index("<h2>Media</h2>")
    out.write_text(f"{head}<body><main>{text[start:end]}</main></body></html>", "utf-8")
    return out


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
    ap.add_argument("--spread-screenshot", type=Path, metavar="PNG",
                    help="also save a screenshot of the spread section of the spread claim")
    args = ap.parse_args(argv)
    out = args.out.resolve()
    ensure_samples()
    db = build_archive(out / "archive.sqlite")
    print(f"archive: {db}")
    claims = sorted((SAMPLES / "claims").glob("*.yaml"))
    width = max(len(c.stem) for c in [*claims, Path("spread")])
    worst = 0
    for claim in claims:
        code, report = verify(claim, db, out / claim.stem)
        if code:
            print(f"{claim.stem:<{width}}  ERROR {report}")
            worst = max(worst, code)
            continue
        show(claim.stem, width, out / claim.stem, report)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from sample_spread import claim_for, serve

    with serve(SAMPLES / "spread") as base:  # the four channels, on 127.0.0.1 for the demo
        claim = claim_for(SAMPLES / "spread", base, out / "spread-claim.yaml")
        code, report = verify(claim, db, out / "spread", "--allow-private")
    if code:
        print(f"{'spread':<{width}}  ERROR {report}")
        worst = max(worst, code)
    else:
        show("spread", width, out / "spread", report)
    if args.screenshot:
        screenshot(out / "contradicted_recycled" / "report.html", args.screenshot)
        print(f"screenshot: {args.screenshot}")
    if args.spread_screenshot:
        page = spread_section(out / "spread" / "report.html", out / "spread" / "spread.html")
        screenshot(page, args.spread_screenshot, size=(1100, 900))
        print(f"screenshot: {args.spread_screenshot}")
    return worst


if __name__ == "__main__":
    sys.exit(main())
