#!/usr/bin/env python3
"""Hashing benchmark and measurements (`make bench`); prints the tables of docs/matching.md.

1. speed: per photo, all in the same run, medians over --rounds:
   (a) the plain way: imagehash.phash(Image.open(p)), imagehash.dhash(Image.open(p)),
       pdqhash.compute(np.asarray(Image.open(p).convert("RGB"))) and sha256 of the file;
   (b) ours: osintkit.match.hashfile.hash_file(p) (sha256 + md5 + PDQ + pHash + dHash);
   (c) the floor: the reduced-DCT (draft) decode of the file alone.
2. drift: PDQ/pHash/dHash of the draft decode vs the full decode, on every corpus photo.
3. robustness: compare() distances of edited copies (tests/fixtures_hash.py) vs originals,
   and the closest pairs of different photos.

Photos: the real multi-megapixel JPEGs of ../shared/corpus/exif-samples (>= --min-mp).
Usage: scripts/bench_hash.py [--rounds N] [--only speed,breakdown,drift,robustness]
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import imagehash
import numpy as np
import pdqhash
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
CORPUS = Path(os.environ.get("OSINTKIT_CORPUS", ROOT.parent / "shared" / "corpus"))

from corpusutil import camera_jpegs  # noqa: E402
from fixtures_hash import VARIANTS, distinct_photos, make_variant  # noqa: E402

from osintkit.match.compare import compare_files  # noqa: E402
from osintkit.match.hashfile import hash_file  # noqa: E402
from osintkit.match.hashing import (  # noqa: E402
    DRAFT_SIZE,
    _reduce_factor,
    best_dihedral,
    hamming,
    hash_image,
    load_image,
)


def corpus_photos() -> list[Path]:
    """Decodable camera JPEGs >= 400 px wide (the tests' `photos` fixture), sorted."""
    return camera_jpegs(CORPUS, json.loads((CORPUS / "exif-samples-truth.json").read_text()))


def median_ms(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


# ---------------------------------------------------------------- 1. speed
def plain(path: Path) -> None:
    imagehash.phash(Image.open(path))
    imagehash.dhash(Image.open(path))
    pdqhash.compute(np.asarray(Image.open(path).convert("RGB")))
    hashlib.sha256(path.read_bytes()).hexdigest()


def floor(path: Path) -> None:
    with Image.open(path) as im:  # the same reduced-DCT scale as load_image picks
        f = _reduce_factor(im.size, DRAFT_SIZE)
        im.draft("RGB", (im.width // f, im.height // f))
        im.load()


def ours(path: Path) -> None:
    res = hash_file(path)
    assert res.ok, res.error


def speed(photos: list[Path], rounds: int, min_mp: float) -> None:
    big = [p for p in photos if _mp(p) >= min_mp]
    print(f"\n## Speed: {len(big)} photos >= {min_mp} MP, median of {rounds} rounds, "
          "single process\n")
    print("| photo | MP | KB | progressive | (a) plain ms | (b) ours ms | (c) floor ms "
          "| a/b | b/c |")
    print("|---|---|---|---|---|---|---|---|---|")
    ab, bc, tot = [], [], [0.0, 0.0, 0.0]
    for p in big:
        for fn in (plain, ours, floor):  # warm the page cache and imports
            fn(p)
        # Interleaved rounds, so load from the other sessions on the machine hits all three.
        ta, tb, tc = [], [], []
        for _ in range(rounds):
            ta.append(median_ms(lambda p=p: plain(p), 1))
            tb.append(median_ms(lambda p=p: ours(p), 1))
            tc.append(median_ms(lambda p=p: floor(p), 1))
        a, b, c = (statistics.median(t) for t in (ta, tb, tc))
        tot = [tot[0] + a, tot[1] + b, tot[2] + c]
        ab.append(a / b)
        bc.append(b / c)
        with Image.open(p) as im:
            prog = "yes" if im.info.get("progressive") else "no"
        print(f"| {p.name} | {_mp(p):.1f} | {p.stat().st_size // 1000} | {prog} | {a:.1f} "
              f"| {b:.1f} | {c:.1f} | {a / b:.1f}x | {b / c:.2f}x |")
    print(f"| **all (sum)** | | | | {tot[0]:.0f} | {tot[1]:.0f} | {tot[2]:.0f} "
          f"| **{tot[0] / tot[1]:.1f}x** | **{tot[1] / tot[2]:.2f}x** |")
    print(f"\nper photo: a/b median {statistics.median(ab):.1f}x (min {min(ab):.1f}x), "
          f"b/c median {statistics.median(bc):.2f}x (max {max(bc):.2f}x)")


def breakdown(photos: list[Path], rounds: int, min_mp: float) -> None:
    """What (b) spends beyond the floor: medians over the photos, ms and % of the floor."""
    from osintkit.match.hashfile import file_digests
    from osintkit.match.hashing import HASHERS, _pdq_all

    parts: dict[str, list[float]] = defaultdict(list)
    for p in [p for p in photos if _mp(p) >= min_mp]:
        img = load_image(p)
        gray = img.convert("L")
        fl = median_ms(lambda p=p: floor(p), rounds)
        cost = {
            "PDQ + 8 variants": median_ms(lambda img=img: _pdq_all(img), rounds),
            "pHash + dHash": median_ms(lambda g=gray: (HASHERS["phash"].compute(g),
                                                       HASHERS["dhash"].compute(g)), rounds),
            "sha256 + md5 (thread)": median_ms(lambda p=p: file_digests(p), rounds),
            "rest of load_image (sniff, EXIF orientation)":
                median_ms(lambda p=p: load_image(p), rounds) - fl,
        }
        for k, v in cost.items():
            parts[k].append(v / fl * 100)
            parts[k + " ms"].append(v)
        parts["floor ms"].append(fl)
    print("\n## Where (b) goes beyond (c): median over the photos\n")
    print("| step | ms | % of the floor |")
    print("|---|---|---|")
    print(f"| (c) floor: reduced-DCT decode | {statistics.median(parts['floor ms']):.1f} | 100 |")
    for k in ("PDQ + 8 variants", "pHash + dHash", "sha256 + md5 (thread)",
              "rest of load_image (sniff, EXIF orientation)"):
        print(f"| {k} | {statistics.median(parts[k + ' ms']):.1f} "
              f"| {statistics.median(parts[k]):.0f} |")


def _mp(p: Path) -> float:
    with Image.open(p) as im:
        return im.width * im.height / 1e6


# ---------------------------------------------------------------- 2. drift
def drift(photos: list[Path]) -> None:
    kinds = ("pdq", "phash", "dhash")
    dist: dict[str, list[int]] = defaultdict(list)
    drafted: dict[str, list[int]] = defaultdict(list)
    for p in photos:
        small, full = hash_image(load_image(p), kinds), hash_image(load_image(p, None), kinds)
        with Image.open(p) as im:
            reduced = min(im.size) >= 2 * DRAFT_SIZE  # else draft decodes at full size
        for k in kinds:
            d = hamming(str(small[k]), str(full[k]))
            dist[k].append(d)
            if reduced:
                drafted[k].append(d)
    n_red = len(drafted["pdq"])
    print(f"\n## Drift: draft decode vs full decode, {len(photos)} corpus photos "
          f"({n_red} large enough to be reduced)\n")
    print("| hash | bits | median | 90th pct | max | median (reduced only) | max (reduced) |")
    print("|---|---|---|---|---|---|---|")
    for k, bits in zip(kinds, (256, 64, 64), strict=True):
        d, r = dist[k], drafted[k] or [0]
        print(f"| {k} | {bits} | {statistics.median(d):g} | {np.percentile(d, 90):g} "
              f"| {max(d)} | {statistics.median(r):g} | {max(r)} |")


# ---------------------------------------------------------------- 3. robustness
def robustness(photos: list[Path]) -> None:
    distinct = distinct_photos(photos)
    rows: dict[str, list[tuple[int, int, int, bool, str]]] = defaultdict(list)
    changed: dict[str, int] = defaultdict(int)
    with tempfile.TemporaryDirectory() as tmp:
        for p, v in itertools.product(distinct, VARIANTS):
            copy = make_variant(p, v, Path(tmp))
            # Hash-level verdicts (the views/geometry of osintkit/match/views.py, geometry.py are
            # measured by their own benchmark); does draft decoding change them?
            res = compare_files(p, copy, robust=False)
            full = compare_files(p, copy, size=None, robust=False)
            assert res.ok and full.ok, res.error or full.error
            changed[v.family] += res.verdict != full.verdict
            d = res.distance
            rows[v.family].append((d["pdq"], d["phash"], d["dhash"], res.transform == v.transform,
                                   res.verdict or ""))
    print(f"\n## Robustness: {len(distinct)} distinct corpus photos x {len(VARIANTS)} edits\n")
    print("| edit | n | PDQ median | PDQ max | pHash max | dHash max | pHash+dHash max "
          "| transform right | near-duplicate | similar | verdict differs with full decode |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for fam, r in rows.items():
        pdq = [x[0] for x in r]
        print(f"| {fam} | {len(r)} | {statistics.median(pdq):g} | {max(pdq)} "
              f"| {max(x[1] for x in r)} | {max(x[2] for x in r)} "
              f"| {max(x[1] + x[2] for x in r)} | {sum(x[3] for x in r)}/{len(r)} "
              f"| {sum(x[4] == 'near-duplicate' for x in r)}/{len(r)} "
              f"| {sum(x[4] == 'similar' for x in r)}/{len(r)} | {changed[fam]} |")
    total = len(distinct) * len(VARIANTS)
    print(f"\nVerdicts that differ between draft and full decoding: "
          f"{sum(changed.values())}/{total}")
    _different_pairs(distinct)


def _different_pairs(distinct: list[Path]) -> None:
    """Every ordered pair of different photos, scored exactly as compare() does."""
    from osintkit.match.compare import verdict_for
    from osintkit.match.hashing import TRANSFORMS, apply_transform, pdq_variants

    hashed = {}
    for p in distinct:
        img = load_image(p)
        hashed[p] = ({t: hash_image(apply_transform(img, t)) for t in TRANSFORMS},
                     pdq_variants(img))
    same_scene = {frozenset(("iphone_hdr_YES.jpg", "iphone_hdr_NO.jpg")),
                  frozenset(("canon_hdr_YES.jpg", "canon_hdr_NO.jpg"))}
    pdq, both, verdicts = [], [], defaultdict(int)
    for a, b in itertools.permutations(distinct, 2):
        if frozenset((a.name, b.name)) in same_scene:
            continue
        d, t = best_dihedral(hashed[a][1], str(hashed[b][0]["none"]["pdq"]))
        ha, hb = hashed[a][0][t], hashed[b][0]["none"]
        dist = {k: hamming(str(ha[k]), str(hb[k])) for k in ("phash", "dhash")}
        dist["pdq"] = d
        pdq.append(d)
        both.append(dist["phash"] + dist["dhash"])
        verdicts[verdict_for(False, dist)] += 1
    print(f"\nDifferent photos ({len(pdq)} ordered pairs, best of 8 dihedral variants, "
          f"pHash/dHash on the aligned pictures): PDQ min {min(pdq)}, "
          f"1st pct {np.percentile(pdq, 1):g}, median {statistics.median(pdq):g}; "
          f"pHash+dHash min {min(both)}, median {statistics.median(both):g}; "
          f"verdicts {dict(verdicts)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--min-mp", type=float, default=3.0, help="photos at least this large")
    ap.add_argument("--only", default="speed,breakdown,drift,robustness")
    args = ap.parse_args()
    photos = corpus_photos()
    parts = set(args.only.split(","))
    if "speed" in parts:
        speed(photos, args.rounds, args.min_mp)
    if "breakdown" in parts:
        breakdown(photos, args.rounds, args.min_mp)
    if "drift" in parts:
        drift(photos)
    if "robustness" in parts:
        robustness(photos)


if __name__ == "__main__":
    main()
