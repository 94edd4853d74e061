#!/usr/bin/env python3
"""The demo (`make demo`): build the sample archive, verify every sample claim.

1. Regenerate the samples if they are missing (scripts/make_samples.py).
2. Load samples/archive/known.yaml into a fresh SQLite archive under the output folder,
   in one command: `osintkit archive add --manifest samples/archive/known.yaml`.
3. Run `osintkit verify` on every samples/claims/*.yaml (the real CLI, as a user would),
   with an analyst and a case number for the custody block.
4. Serve samples/spread/ on 127.0.0.1 (a local server started and stopped here) and verify
   the claim seen on four channels: its report shows the claim's spread.
5. Print each verdict with what the report shows: the findings, a level per media item,
   the archive searched, what to check next, the map, the custody and the report's hash,
   and the spread of the claim with several URLs.

Usage: python scripts/demo.py [--out demo-out] [--screenshot docs/verify-report.png]
                              [--spread-screenshot docs/spread-report.png]
(--screenshot also renders one report in headless Chromium for the docs.)
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


def ensure_samples() -> None:
    """Run make_samples.py only when the samples are missing."""
    if not any((SAMPLES / "claims").glob("*.yaml")) or not (SAMPLES / "archive" /
                                                             "known.yaml").exists() \
            or not (SAMPLES / "spread" / "claim.yaml").exists():
        subprocess.run([sys.executable, str(ROOT / "scripts" / "make_samples.py")], check=True)


def build_archive(db_path: Path) -> str:
    """A fresh SQLite archive holding the known older material, with first-seen dates,
    loaded by the real CLI from the manifest (`archive add --manifest`)."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", ".index.npz"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{db_path.resolve()}"  # an absolute path: sqlite:////...
    proc = subprocess.run([sys.executable, "-m", "osintkit", "-q", "archive", "add",
                           "--manifest", str(SAMPLES / "archive" / "known.yaml"), "--db", url],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"demo: cannot build the archive: {proc.stderr.strip()}")
    return url


def verify(claim: Path, db: str, report_dir: Path, *extra: str) -> tuple[int, dict | str]:
    """The real CLI on one claim: (exit code, report.json or the error line)."""
    proc = subprocess.run([sys.executable, "-m", "osintkit", "-q", "verify", str(claim),
                           "--db", db, "-o", str(report_dir), "--json", "--fail-on", "never",
                           "--analyst", "demo analyst", "--case", f"DEMO-{report_dir.name}",
                           *extra], capture_output=True, text=True)
    if proc.returncode != 0:
        return proc.returncode, proc.stderr.strip()
    return 0, json.loads(proc.stdout)


def spread_lines(report: dict, width: int) -> list[str]:
    """Each picture of the spread: where it appeared, when, and how it was changed."""
    pad = " " * (width + 2)
    out = []
    for group in report.get("spread") or []:
        out.append(f"{pad}spread {group['kind']} {', '.join(group['media_ids'])}:")
        out += [f"{pad}  {a['posted_at'] or '?':<25} {a['url']}  {a['transform']}"
                for a in group["appearances"]]
    return out


def spread_section(report: Path, out: Path) -> Path:
    """The report's spread section alone (its styles kept), for a screenshot."""
    text = report.read_text(encoding="utf-8")
    head = text[:text.index("<body>")]
    start = text.index('<h2 id="spread">')
    end = text.index("<h2", start + 10)
    out.write_text(f"{head}<body><main>{text[start:end]}</main></body></html>", "utf-8")
    return out


def describe(report: dict, report_dir: Path, width: int) -> list[str]:
    """What the report shows, in a few lines under the verdict."""
    pad = " " * (width + 2)
    out = []
    codes = sorted({f["code"] for f in report["findings"] if f["severity"] != "info"})
    if codes:
        out.append(f"{pad}{', '.join(codes)}")
    out.append(pad + "media: " + ", ".join(f"{m['id']} {m.get('level')}"
                                          for m in report["media"]))
    a = report["archive"]
    out.append(f"{pad}archive: {a.get('name')}, {a.get('items')} items, "
               f"searched {'yes' if a.get('searched') else 'no'}")
    steps = report.get("next_steps") or []
    if steps:
        first = textwrap.shorten(steps[0]["action"], 88, placeholder=" ...")
        out.append(f"{pad}next: {first}" + (f" (+{len(steps) - 1} more)" if len(steps) > 1
                                            else ""))
    m = report.get("map")
    if m:
        far = ", ".join(f"{p['media']} {p['distance_km']:,.1f} km" for p in m["points"])
        out.append(f"{pad}map: {far or 'no GPS in the media'} (SVG in the report)")
    c = report.get("custody") or {}
    digest = (report_dir / "report.sha256").read_text().split()[0][:16]
    out.append(f"{pad}custody: case {c.get('case')}, analyst {c.get('analyst')}, "
               f"{len(c.get('media') or [])} file(s) hashed at intake; report.json "
               f"sha256 {digest}...")
    return out


def screenshot(report: Path, png: Path, size: tuple[int, int] = (1100, 3400)) -> None:
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
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from sample_spread import claim_for, serve

    runs = [(c.stem, c, ()) for c in claims]
    with serve(SAMPLES / "spread") as base:  # the four channels, on 127.0.0.1 for the demo
        runs.append(("spread", claim_for(SAMPLES / "spread", base, out / "spread-claim.yaml"),
                     ("--allow-private",)))
        worst = 0
        for name, claim, extra in runs:
            code, report = verify(claim, db, out / name, *extra)
            if code:
                print(f"{name:<{width}}  ERROR {report}")
                worst = max(worst, code)
                continue
            assert isinstance(report, dict)
            print(f"{name:<{width}}  {report['verdict']['level']:<22} "
                  f"{out / name / 'report.html'}")
            for line in describe(report, out / name, width) + spread_lines(report, width):
                print(line)
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
