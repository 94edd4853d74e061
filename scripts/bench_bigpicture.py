#!/usr/bin/env python3
"""Peak memory (and time) of `hash`, `forensics` and `verify` on very large pictures.

Pictures, made in a temporary folder:
  jpeg-100mp   10,000 x 10,000 JPEG (q 90): a real photo (tests/data) upscaled, with noise
  png-100mp    the same picture as an RGB PNG
  png1-88mp    10,800 x 8,150 1-bit PNG of shapes: ~0.1 MB on disk (a "small" file)

Each command runs in a fresh process; its peak RSS is the child's ru_maxrss. Baseline,
measured in the same run: the plain way, `Image.open(path).convert("RGB")` (a full
decode, what a naive hasher does), in a fresh process too. Time: median of --runs.
Prints a Markdown table for docs/bad-input.md, with the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
PHOTO = ROOT / "tests" / "data" / "exif-samples" / "jpg" / "Reconyx_HC500_Hyperfire.jpg"
_PEAK = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
         "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE); "
         "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,"
         " p.returncode)")
_PLAIN = "import sys; from PIL import Image; Image.MAX_IMAGE_PIXELS = None; " \
         "Image.open(sys.argv[1]).convert('RGB')"


def make_pictures(folder: Path) -> dict[str, Path]:
    rng = np.random.default_rng(1)
    with Image.open(PHOTO) as im:
        big = im.convert("RGB").resize((10_000, 10_000), Image.Resampling.BICUBIC)
    noise = rng.integers(-6, 7, (10_000, 10_000, 1), dtype=np.int16)
    big = Image.fromarray(np.clip(np.asarray(big, dtype=np.int16) + noise, 0, 255)
                          .astype(np.uint8))
    out = {"jpeg-100mp": folder / "big.jpg", "png-100mp": folder / "big.png",
           "png1-88mp": folder / "shapes.png"}
    big.save(out["jpeg-100mp"], quality=90)
    big.save(out["png-100mp"], compress_level=1)
    del big, noise
    shapes = Image.new("1", (10_800, 8_150), 0)
    d = ImageDraw.Draw(shapes)
    d.rectangle((1000, 1000, 6000, 5000), fill=1)
    d.ellipse((5000, 3000, 9000, 7000), fill=1)
    shapes.save(out["png1-88mp"], optimize=True)
    return out


def measure(cmd: list[str]) -> tuple[float, int, int]:
    """(seconds, peak RSS in MB, exit code) of `cmd` run in a fresh process."""
    proc = subprocess.run([sys.executable, "-c", _PEAK, *cmd], capture_output=True, text=True,
                          check=True)
    secs, kb, rc = proc.stdout.split()
    return float(secs), int(kb) // 1024, int(rc)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    osintkit = [sys.executable, "-m", "osintkit"]
    with tempfile.TemporaryDirectory(prefix="bigpicture-") as tmp:
        folder = Path(tmp)
        pictures = make_pictures(folder)
        rows = []
        for name, path in pictures.items():
            claim = folder / f"{name}.yaml"
            claim.write_text(f"id: {name}\nmedia: [{path}]\n")
            commands = {
                "plain decode (baseline)": [sys.executable, "-c", _PLAIN, str(path)],
                "hash": [*osintkit, "hash", str(path)],
                "forensics": [*osintkit, "forensics", str(path)],
                "verify": [*osintkit, "verify", str(claim), "--no-archive",
                           "-o", str(folder / f"out-{name}")],
            }
            base = None
            for label, cmd in commands.items():
                runs = [measure(cmd) for _ in range(args.runs)]
                secs = statistics.median(r[0] for r in runs)
                peak = max(r[1] for r in runs)
                assert all(r[2] == 0 for r in runs), (label, name, runs)
                base = base or peak
                size = path.stat().st_size
                shown = f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} KB"
                rows.append((name, shown, label, peak,
                             f"{peak / base:.2f}", f"{secs:.1f}"))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nload average during the run: {load}; {args.runs} runs each, time = median\n")
    print("| picture | file | command | peak RSS (MB) | vs plain decode | time (s) |")
    print("|---|---:|---|---:|---:|---:|")
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")
    return 0


if __name__ == "__main__":
    start = time.time()
    code = main()
    print(f"\n({time.time() - start:.0f} s)")
    sys.exit(code)
