#!/usr/bin/env python3
"""Benchmark: is a recycled picture found as a copy, and another shot of the same scene
told apart from it? Three methods side by side, in one run, on real photos:

* plain PDQ: the query's 8 dihedral PDQs <= 31 against the archived PDQs;
* today's --deep (the release before this one): hash views, then ORB-signature votes +
  PDQ-nearest candidates confirmed by ORB + RANSAC on the archived FILES, no copy/scene;
* the new default (`Archive.search`): views, word-index candidates, fit on the stored
  features, pixel check copy/scene.

Queries: every photo x every family of scripts/matching_families.py (crops from any side,
pads, borders, letterbox, screenshots in drawn app layouts light/dark, overlays, rotations,
colour, re-encodes, combinations). Archived photos must be found as a copy (top match,
match != "scene"); distractor photos (never archived) must match nothing. Hard negatives:
different photos of one scene (stereo, viewpoint, HDR), near-uniform pictures. Then scale:
a 1,000,000-item archive (synthetic distractors around a real core) and `verify` of a
5-photo claim against 100,000 items.

    python scripts/bench_matching.py --photos DIR [--photos DIR] [--scenes DIR] [--quick]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import matching_families as mf  # noqa: E402


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the three methods
class Plain:
    def __init__(self, originals: dict[str, Path]) -> None:
        from osintkit.match.hashing import hash_image, load_image

        self.pdq = {n: str(hash_image(load_image(p), ("pdq",))["pdq"])
                    for n, p in originals.items()}

    def search(self, res) -> set[str]:
        from osintkit.match.hashing import hamming

        v = res.variants
        return {n for n, h in self.pdq.items() if min(hamming(x, h) for x in v.values()) <= 31}


class TodaysDeep:
    """The previous release's --deep, rebuilt from its parts: hash views, 16 candidates by
    the 64-descriptor ORB signatures' votes + 16 nearest by PDQ, each confirmed by ORB +
    RANSAC against the archived file; every confirmed fit counts as a match."""

    def __init__(self, archive, originals: dict[str, Path]) -> None:
        from matching_baseline import signature

        from osintkit.match.views import load_view_image

        self.archive, self.files = archive, originals
        sigs, owners = [], []
        for name, path in originals.items():
            s = np.frombuffer(signature(load_view_image(path)), np.uint8).reshape(-1, 32)
            sigs.append(s)
            owners += [name] * len(s)
        self.sigs, self.owners = np.concatenate(sigs), np.array(owners)

    def search(self, res, units) -> set[str]:
        from matching_baseline import vote

        from osintkit.match.geometry import match_files
        from osintkit.match.views import load_view_image

        found = {m.name for m in self.archive.search(res, robust=False)}
        qimg = load_view_image(res.path)
        cands = list(vote(qimg, self.sigs, self.owners, 16))
        cands += self._nearest(units, 16)
        for name in dict.fromkeys(cands):
            if name not in found and match_files(res.path, self.files[name]).confirmed:
                found.add(name)
        return found

    def _nearest(self, units, k: int) -> list[str]:
        from osintkit.archive.index import pack_hex

        rows = self.archive.rows()
        hexes = [h for u in units for h in u.pdq.values()]
        if not hexes:
            return []
        codes = rows.pdq[rows.pdq_rows].view("<u8")
        best = np.full(len(codes), 256, dtype=np.int64)
        for qw in pack_hex(hexes, 32).view("<u8"):
            np.minimum(best, np.bitwise_count(codes ^ qw[None, :]).sum(axis=1, dtype=np.int64),
                       out=best)
        items = rows.item[rows.pdq_rows][np.argsort(best, kind="stable")]
        ids = list(dict.fromkeys(items.tolist()))[:k]
        return [i.name for i in self.archive.items(ids).values()]


# ---------------------------------------------------------------- recall and false matches
def run_families(archive, archived: dict[str, Path], distractors: list[Path], tmp: Path,
                 args, families: dict) -> dict:
    from osintkit.archive.robust import query_picture, view_units
    from osintkit.archive.search import units_of
    from osintkit.match.hashfile import hash_file

    plain, old = Plain(archived), TodaysDeep(archive, archived)
    stats: dict = defaultdict(lambda: defaultdict(list))
    sources = [(n, p, True) for n, p in archived.items()] + \
              [(p.name, p, False) for p in distractors]
    qpath = tmp / "q.jpg"
    for fam, fn in families.items():
        st = stats[fam]
        for k, (name, path, is_archived) in enumerate(sources):
            rnd = random.Random(f"{args.seed}:{fam}:{k}")
            fn(mf.opened(path), rnd).save(qpath, quality=95)
            res = hash_file(qpath)
            t0 = time.perf_counter()
            matches = archive.search(res)
            st["ms_new"].append((time.perf_counter() - t0) * 1000)
            copies = [m.name for m in matches if m.match in ("exact", "near")]
            got = {"plain": plain.search(res), "new": set(copies)}
            if k % args.old_every == 0:
                t0 = time.perf_counter()
                got["old"] = old.search(res, units_of(res) + view_units(query_picture(res)))
                st["ms_old"].append((time.perf_counter() - t0) * 1000)
            for method, names in got.items():
                if is_archived:
                    ok = (copies[:1] == [name]) if method == "new" else (name in names)
                    st[method].append(ok)
                    if not ok and method == "new":
                        got_ = [(m.name, m.match) for m in matches][:3]
                        st["misses"].append(f"{path.name}: {got_}")
                false = bool(names - {name})
                st[f"false_{method}"].append(false)
                if not is_archived:
                    st[f"dfalse_{method}"].append(false)
            scenes = [m for m in matches if m.match == "scene"]
            st["scene_on_distractor"].append((not is_archived) and bool(scenes))
            for m in scenes if not is_archived else []:
                geo = m.geometry or {}
                log(f"scene on distractor [{fam}] {path.name} ~ {m.name}: "
                    f"{geo.get('inliers')} inliers, spread {geo.get('spread')}, "
                    f"agree {(m.shot or {}).get('agree')}")
                if args.keep_scenes:
                    _side_by_side(qpath, archived[m.name], args.keep_scenes /
                                  f"{fam[:12]}-{path.stem}--{m.name}.jpg")
        log(f"{fam}: new {pct(st['new']):.1f}% plain {pct(st['plain']):.1f}% "
            f"old {pct(st['old']):.1f}% ({len(st['new'])} archived queries)")
    return stats


def _side_by_side(a: Path, b: Path, out: Path) -> None:
    from PIL import Image, ImageOps

    pics = [ImageOps.contain(mf.opened(p), (480, 480)) for p in (a, b)]
    canvas = Image.new("RGB", (sum(p.width for p in pics) + 8, max(p.height for p in pics)))
    canvas.paste(pics[0], (0, 0))
    canvas.paste(pics[1], (pics[0].width + 8, 0))
    out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(out, quality=85)


def pct(xs) -> float:
    return 100.0 * sum(xs) / len(xs) if xs else float("nan")


def print_families(stats: dict, n_arch: int, n_dis: int, old_every: int) -> None:
    print(f"\n### Recall per family ({n_arch} archived photos; {n_dis} distractor photos)\n")
    print("| family | plain PDQ | today's --deep | **new default** | new ms (median) |")
    print("|---|---:|---:|---:|---:|")
    for fam, st in stats.items():
        print(f"| {fam} | {pct(st['plain']):.1f}% | {pct(st['old']):.1f}% | "
              f"**{pct(st['new']):.1f}%** | {statistics.median(st['ms_new']):.0f} |")
    allq = {k: [x for st in stats.values() for x in st.get(k, [])]
            for k in ("false_plain", "false_old", "false_new", "dfalse_plain", "dfalse_old",
                      "dfalse_new", "scene_on_distractor")}
    print(f"| **false copy-matches**, all queries ({len(allq['false_new'])}; today's --deep "
          f"on every {old_every}th) | {pct(allq['false_plain']):.2f}% | "
          f"{pct(allq['false_old']):.2f}% | **{pct(allq['false_new']):.2f}%** | |")
    print(f"| of which distractor queries ({len(allq['dfalse_new'])}) | "
          f"{pct(allq['dfalse_plain']):.2f}% | {pct(allq['dfalse_old']):.2f}% | "
          f"**{pct(allq['dfalse_new']):.2f}%** | |")
    print(f"\nDistractor queries reported as `scene` (another shot: wrong, they are other "
          f"photos): {sum(allq['scene_on_distractor'])} of {len(allq['dfalse_new'])}.")
    ms_old = [x for st in stats.values() for x in st.get("ms_old", [])]
    ms_new = [x for st in stats.values() for x in st["ms_new"]]
    print(f"Median per query on this archive: new default {statistics.median(ms_new):.0f} ms, "
          f"today's --deep {statistics.median(ms_old):.0f} ms.")
    for fam, st in stats.items():
        for miss in st.get("misses", [])[:4]:
            log(f"miss [{fam}] {miss}")


# ---------------------------------------------------------------- hard negatives
def run_hard(archive, pairs, tmp: Path, args) -> None:
    from osintkit.match.hashfile import hash_file

    by_kind: dict = defaultdict(lambda: {"n": 0, "copy": 0, "scene": 0, "plain": 0})
    for kind, a, b in pairs:
        archive.add([a], source="hard", first_seen="2019-01-01")
        for qpath in (b,):
            res = hash_file(qpath)
            ms = [m for m in archive.search(res) if m.name == a.name]
            k = by_kind[kind]
            k["n"] += 1
            k["copy"] += any(m.match in ("near", "exact") for m in ms)
            k["scene"] += any(m.match == "scene" for m in ms)
            k["plain"] += bool(Plain({a.name: a}).search(res))
    rnd = random.Random(args.seed)
    uni = []
    for i in range(args.uniform):
        kind = mf.UNIFORM_KINDS[i % len(mf.UNIFORM_KINDS)]
        p = tmp / f"uniform-{i}.jpg"
        mf.near_uniform(rnd, kind).save(p, quality=90)
        uni.append((kind, p))
    archive.add([p for _, p in uni[::2]], source="uniform", first_seen="2019-01-01")
    archived_names = {p.name for _, p in uni[::2]}
    for kind, p in uni[1::2]:
        res = hash_file(p)
        ms = [m for m in archive.search(res) if m.match in ("near", "exact")]
        k = by_kind[f"near-uniform ({kind}) vs archive"]
        k["n"] += 1
        k["copy"] += bool(ms)
        k["scene"] += 0
        k["plain"] += bool(Plain({n: tmp / n for n in archived_names}).search(res))
    print("\n### Hard negatives (different photos; any copy-match is false)\n")
    print("| pair kind | pairs | copy-matches (new) | found as `scene` (new) | "
          "plain PDQ matches |")
    print("|---|---:|---:|---:|---:|")
    for kind, k in by_kind.items():
        print(f"| {kind} | {k['n']} | {k['copy']} | {k['scene']} | {k['plain']} |")


# ---------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--photos", type=Path, action="append", default=[],
                    help="a folder of more openly licensed photos (repeatable)")
    ap.add_argument("--scenes", type=Path, action="append", default=[],
                    help="a folder of other shots of one scene, consecutive files paired")
    ap.add_argument("--quick", action="store_true", help="20 photos, 4 families")
    ap.add_argument("--max-photos", type=int, default=280)
    ap.add_argument("--distractor-share", type=float, default=0.5,
                    help="share of the photos never archived (their queries must match "
                         "nothing)")
    ap.add_argument("--old-every", type=int, default=4,
                    help="run today's --deep on every Nth query (it is slow)")
    ap.add_argument("--uniform", type=int, default=40)
    ap.add_argument("--scale", type=int, default=1_000_000, help="items (0: skip)")
    ap.add_argument("--e2e", type=int, default=100_000, help="items for verify (0: skip)")
    ap.add_argument("--only-scale", action="store_true", help="skip recall and hard negatives")
    ap.add_argument("--keep-scenes", type=Path,
                    help="save each distractor query found as `scene` beside its match here")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    from osintkit.archive import open_archive

    photos = mf.corpus_photos() + mf.skimage_photos()
    for folder in args.photos:
        photos += sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
    photos = mf.distinct(photos, log)[: args.max_photos]
    random.Random(args.seed).shuffle(photos)
    families = dict(mf.FAMILIES)
    if args.quick:
        photos = photos[:20]
        families = dict(list(families.items())[2:6])
    n_dis = round(len(photos) * args.distractor_share)
    distractors, archived = photos[:n_dis], photos[n_dis:]
    with tempfile.TemporaryDirectory(prefix="bench-matching-") as tmp_name:
        tmp = Path(tmp_name)
        files = {}
        for k, p in enumerate(archived):
            dst = tmp / "originals" / f"{k:03d}-{p.stem}.jpg"
            dst.parent.mkdir(exist_ok=True)
            mf.opened(p).save(dst, quality=92)
            files[dst.name] = dst
        archive = open_archive(f"sqlite:///{tmp / 'bench.sqlite'}")
        t0 = time.perf_counter()
        archive.add(list(files.values()), source="bench", first_seen="2020-01-01")
        add_s = time.perf_counter() - t0
        print(f"archive: {len(files)} real photos, {add_s / len(files) * 1000:.0f} ms each to "
              f"add (hashes, views, local features); {len(distractors)} distractor photos")
        if not args.only_scale:
            stats = run_families(archive, files, distractors, tmp, args, families)
            print_families(stats, len(files), len(distractors), args.old_every)
            run_hard(archive, mf.scene_pairs(args.scenes), tmp, args)
        archive.close()
        if args.scale or args.e2e:
            import matching_scale

            matching_scale.run(args, tmp, list(files.values()), distractors)


if __name__ == "__main__":
    main()
