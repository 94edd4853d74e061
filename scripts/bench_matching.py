#!/usr/bin/env python3
"""Benchmark: does a recycled picture find its original? Plain PDQ vs our pipeline.

Builds an archive from real photos (the corpus's distinct camera JPEGs, plus
scikit-image's bundled photographs when that package is installed), makes query variants
per family (re-encode, resize, crops, padding, letterbox, screenshot in a UI, logo and
caption, mirror, rotations, colour changes, Telegram-like), and queries:

* plain PDQ: the whole query's PDQ (8 dihedral variants) against the archived PDQs, <= 31;
* views: `Archive.search` (content region + sub-views on both sides, same threshold);
* deep: `Archive.search(deep=True)`: views, then ORB + RANSAC over a bounded candidate set.

Distractor photos (never archived) get the same variants: any match of theirs is false.
Then a 100k-item archive (padded with synthetic random hashes) times the median query.

    python scripts/bench_matching.py [--quick] [--items 100000]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
sys.path.insert(0, str(ROOT))

Variant = Callable[[Image.Image, random.Random], Image.Image]


# ---------------------------------------------------------------- photos
def corpus_photos() -> list[Path]:
    """Distinct real camera JPEGs (>= 400 px wide, decodable, not blank; repeated scenes
    dropped: near PDQ, or the same scene confirmed by local features, e.g. HDR on/off)."""
    from osintkit.geometry import match_files
    from osintkit.hashing import PDQ_MIN_QUALITY, hamming, hash_image, load_image, pdq_variants

    truth = json.loads((CORPUS / "exif-samples-truth.json").read_text())
    out: list[tuple[Path, dict[str, str]]] = []
    for rel, rec in sorted(truth["files"].items()):
        if rec.get("file_type") != "JPEG" or (rec.get("width") or 0) < 400:
            continue
        path = CORPUS / "exif-samples" / rel
        try:
            img = load_image(path)
        except Exception:
            continue
        if int(hash_image(img, ("pdq",))["pdq_quality"]) < PDQ_MIN_QUALITY:
            continue  # a blank test image, not a photograph
        v = pdq_variants(img)
        if any(min(hamming(h, o["none"]) for h in v.values()) <= 70 for _, o in out):
            continue  # the orientation series repeat one picture
        if any(match_files(path, p).confirmed for p, _ in out):
            continue  # the same scene from the same place (the HDR pairs)
        out.append((path, v))
    return [p for p, _ in out]


def skimage_photos(tmp: Path) -> list[Path]:
    """scikit-image's bundled photographs as JPEGs (none when it is not installed)."""
    try:
        from skimage import data
    except ImportError:
        return []
    names = ("astronaut", "coffee", "chelsea", "rocket", "camera", "horse", "moon", "coins",
             "page", "clock", "immunohistochemistry", "hubble_deep_field", "motorcycle")
    out = []
    for name in names:
        try:
            arr = getattr(data, name)()
        except Exception:  # some need a download: skip them (the bench stays offline)
            continue
        if isinstance(arr, tuple):
            arr = arr[0]
        img = Image.fromarray(np.asarray(arr)).convert("RGB")
        path = tmp / f"skimage_{name}.jpg"
        img.save(path, quality=92)
        out.append(path)
    return out


def _open(path: Path) -> Image.Image:
    """A photo as a viewer shows it: EXIF orientation applied, RGB."""
    with Image.open(path) as im:
        return ImageOps.exif_transpose(im).convert("RGB")


# ---------------------------------------------------------------- variants
def _jpeg(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def crop(p: float) -> Variant:
    """Remove p of the width and p of the height, split at random between the sides."""
    def f(img: Image.Image, rnd: random.Random) -> Image.Image:
        w, h = img.size
        cw, ch = round(w * (1 - p)), round(h * (1 - p))
        x, y = rnd.randint(0, w - cw), rnd.randint(0, h - ch)
        return img.crop((x, y, x + cw, y + ch))
    return f


def pad(p: float) -> Variant:
    """Grow the canvas by p on each axis (picture at a random place) in a flat colour."""
    def f(img: Image.Image, rnd: random.Random) -> Image.Image:
        w, h = img.size
        cw, ch = round(w * (1 + p)), round(h * (1 + p))
        colour = rnd.choice([(0, 0, 0), (255, 255, 255), (30, 30, 30), (240, 240, 235)])
        canvas = Image.new("RGB", (cw, ch), colour)
        canvas.paste(img, (rnd.randint(0, cw - w), rnd.randint(0, ch - h)))
        return canvas
    return f


def letterbox(img: Image.Image, rnd: random.Random) -> Image.Image:
    """Fit into a black 16:9 frame (pillarbox for 4:3 photos), 1280x720."""
    frame = Image.new("RGB", (1280, 720), (0, 0, 0))
    pic = ImageOps.contain(img, (1280, 720), Image.Resampling.LANCZOS)
    frame.paste(pic, ((1280 - pic.width) // 2, (720 - pic.height) // 2))
    return _jpeg(frame, 85)


def _text(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, size: int,
          fill: tuple[int, int, int]) -> None:
    draw.text(xy, text, fill=fill, font=ImageFont.load_default(size=size))


def screenshot(img: Image.Image, rnd: random.Random) -> Image.Image:
    """A phone screenshot of a post: header, avatar, text lines, the photo (~60% of the
    canvas area), a reaction bar; light or dark theme."""
    dark = rnd.random() < 0.5
    bg, fg = ((18, 18, 22), (230, 230, 230)) if dark else ((255, 255, 255), (20, 20, 20))
    cw = 720
    pic = img.resize((cw - 40, round((cw - 40) * img.height / img.width)), Image.Resampling.LANCZOS)
    ch = round(pic.width * pic.height / 0.6 / cw)
    ch = max(ch, pic.height + 330)
    canvas = Image.new("RGB", (cw, ch), bg)
    d = ImageDraw.Draw(canvas)
    d.rectangle((0, 0, cw, 56), fill=(40, 110, 200) if not dark else (30, 40, 60))
    _text(d, (70, 14), "Channel news", 24, (255, 255, 255))
    d.ellipse((20, 76, 76, 132), fill=(200, 80, 60))
    _text(d, (90, 82), "@breaking_updates  ·  2h", 20, fg)
    for i in range(3):
        _text(d, (20, 150 + 30 * i), "Footage of today's strike shared by locals " * 1, 20, fg)
    y = 250
    canvas.paste(pic, (20, y))
    y += pic.height + 20
    for i in range(4):
        d.rounded_rectangle((20 + 130 * i, y, 130 + 130 * i, y + 36), 12, outline=fg)
        _text(d, (40 + 130 * i, y + 8), f"{rnd.randint(2, 999)}", 18, fg)
    return _jpeg(canvas, 88)


def logo_caption(img: Image.Image, rnd: random.Random) -> Image.Image:
    """A channel logo in a corner and a caption band over the bottom of the picture."""
    out = img.copy()
    w, h = out.size
    d = ImageDraw.Draw(out, "RGBA")
    s = max(24, w // 8)
    corner = rnd.choice([(8, 8), (w - s - 8, 8), (8, h - s - 8), (w - s - 8, h - s - 8)])
    d.rounded_rectangle((*corner, corner[0] + s, corner[1] + s), s // 5, fill=(220, 20, 40, 255))
    _text(d, (corner[0] + s // 6, corner[1] + s // 3), "TV", s // 3, (255, 255, 255))
    band = max(20, h // 9)
    d.rectangle((0, h - band, w, h), fill=(0, 0, 0, 170))
    _text(d, (10, h - band + band // 5), "BREAKING: footage from today", band // 2,
          (255, 255, 255))
    return _jpeg(out, 85)


def rotate(deg: float) -> Variant:
    def f(img: Image.Image, rnd: random.Random) -> Image.Image:
        angle = deg * rnd.choice([-1, 1])
        return img.rotate(angle, Image.Resampling.BICUBIC, expand=False)
    return f


def telegram(img: Image.Image, rnd: random.Random) -> Image.Image:
    """Telegram-like: longer side to 1280 at most, 4:2:0 JPEG at quality ~80."""
    out = ImageOps.contain(img, (1280, 1280), Image.Resampling.LANCZOS) \
        if max(img.size) > 1280 else img
    buf = io.BytesIO()
    out.save(buf, "JPEG", quality=80, subsampling=2)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


FAMILIES: dict[str, Variant] = {
    "jpeg q50": lambda im, r: _jpeg(im, 50),
    "downscale 50%": lambda im, r: im.resize((im.width // 2, im.height // 2),
                                            Image.Resampling.LANCZOS),
    "crop 5%": crop(0.05),
    "crop 10%": crop(0.10),
    "crop 20%": crop(0.20),
    "crop 30%": crop(0.30),
    "pad 10%": pad(0.10),
    "pad 20%": pad(0.20),
    "pad 40%": pad(0.40),
    "letterbox 16:9": letterbox,
    "screenshot in UI": screenshot,
    "logo + caption": logo_caption,
    "mirror": lambda im, r: ImageOps.mirror(im),
    "rotate 90": lambda im, r: im.transpose(Image.Transpose.ROTATE_90),
    "rotate 3°": rotate(3),
    "rotate 5°": rotate(5),
    "rotate 8°": rotate(8),
    "brightness/contrast": lambda im, r: ImageEnhance.Contrast(
        ImageEnhance.Brightness(im).enhance(1.25)).enhance(0.8),
    "grayscale": lambda im, r: ImageOps.grayscale(im).convert("RGB"),
    "telegram re-encode": telegram,
}
TARGETS = {"jpeg q50": 99, "downscale 50%": 99, "logo + caption": 99, "brightness/contrast": 99,
           "grayscale": 99, "telegram re-encode": 99, "crop 5%": 95, "crop 10%": 95,
           "crop 20%": 95, "pad 10%": 95, "pad 20%": 95, "pad 40%": 95, "letterbox 16:9": 95,
           "screenshot in UI": 95, "mirror": 95, "rotate 90": 95, "crop 30%": 85,
           "rotate 3°": 85, "rotate 5°": 85, "rotate 8°": 85}


# ---------------------------------------------------------------- runs
def plain_pdq(archive_pdq: dict[str, str], img: Image.Image) -> set[str]:
    """Names of archived photos within PDQ 31 of the query under its 8 dihedral variants."""
    from osintkit.hashing import hamming, pdq_variants, shrink

    v = pdq_variants(shrink(img))
    return {name for name, h in archive_pdq.items()
            if min(hamming(x, h) for x in v.values()) <= 31}


def run_queries(archive, originals: dict[str, Path], distractors: list[Path], tmp: Path,
                seed: int, deep: bool, verbose: bool = False,
                families: list[str] | None = None) -> dict[str, dict[str, list]]:
    """Per family: [found?] for archived photos, [false?] for distractors, for each method."""
    from osintkit.hashing import hash_file, hash_image, load_image, shrink

    archive_pdq = {name: str(hash_image(load_image(p), ("pdq",))["pdq"])
                   for name, p in originals.items()}
    stats: dict[str, dict[str, list]] = {}
    misses: list[str] = []
    qdir = tmp / "queries"
    qdir.mkdir(exist_ok=True)
    sources = [(p.name, p, True) for p in originals.values()] + \
              [(p.name, p, False) for p in distractors]
    for fam, fn in FAMILIES.items():
        if families and fam not in families:
            continue
        st = stats.setdefault(fam, {"plain": [], "views": [], "deep": [], "fp_plain": [],
                                    "fp_views": [], "fp_deep": [], "ms": [], "ms_deep": []})
        for k, (name, path, archived) in enumerate(sources):
            rnd = random.Random(f"{seed}:{fam}:{k}")
            q = fn(_open(path), rnd)
            qpath = qdir / f"{k}.jpg"
            q.save(qpath, quality=95)  # claims circulate as JPEGs
            found_plain = plain_pdq(archive_pdq, shrink(q))
            res = hash_file(qpath)
            t0 = time.perf_counter()
            found = {m.name for m in archive.search(res)}
            st["ms"].append((time.perf_counter() - t0) * 1000)
            found_deep = found
            if deep:
                t0 = time.perf_counter()
                found_deep = {m.name for m in archive.search(res, deep=True)}
                st["ms_deep"].append((time.perf_counter() - t0) * 1000)
            for method, got in (("plain", found_plain), ("views", found), ("deep", found_deep)):
                if got - {name} or (archived and name not in got):
                    misses.append(f"{fam} / {method}: query {name} found {sorted(got)}")
            if archived:
                st["plain"].append(name in found_plain)
                st["views"].append(name in found)
                st["deep"].append(name in found_deep)
            # any OTHER archived photo found is a false match (distractors: any at all)
            st["fp_plain"].append(bool(found_plain - {name}))
            st["fp_views"].append(bool(found - {name}))
            st["fp_deep"].append(bool(found_deep - {name}))
    if verbose:
        print("\n".join(misses), file=sys.stderr)
    return stats


def pct(xs: list) -> float:
    return 100.0 * sum(xs) / len(xs) if xs else float("nan")


def print_table(stats: dict[str, dict[str, list]], n_arch: int, n_dis: int) -> None:
    print(f"\nRecall per family ({n_arch} archived photos; false matches over all "
          f"{n_arch + n_dis} queries per family, {n_dis} of them distractors)\n")
    print("| family | target | plain PDQ | views | views + deep | deep ms (median) |")
    print("|---|---:|---:|---:|---:|---:|")
    for fam, st in stats.items():
        ms = f"{statistics.median(st['ms_deep']):.0f}" if st["ms_deep"] else "-"
        print(f"| {fam} | ≥ {TARGETS[fam]}% | {pct(st['plain']):.1f}% | {pct(st['views']):.1f}% "
              f"| {pct(st['deep']):.1f}% | {ms} |")
    allq = {k: [x for st in stats.values() for x in st[k]]
            for k in ("fp_plain", "fp_views", "fp_deep")}
    print(f"| **false matches** (of {len(allq['fp_plain'])} queries) | ≤ 0.1% "
          f"| {pct(allq['fp_plain']):.2f}% | {pct(allq['fp_views']):.2f}% "
          f"| {pct(allq['fp_deep']):.2f}% | |")
    ms = [x for st in stats.values() for x in st["ms"]]
    print(f"\nviews search (hash given): median {statistics.median(ms):.1f} ms per query")


def _add_without_views(photos: list[Path], tmp: Path) -> float:
    """Seconds to add the photos with sub-views switched off (the baseline of the growth)."""
    from osintkit.archive import open_archive, robust

    keep = robust.attach_views
    robust.attach_views = lambda res: None
    try:
        with open_archive(f"sqlite:///{tmp / 'plain.sqlite'}") as arc:
            t0 = time.perf_counter()
            arc.add(photos, source="bench", first_seen="2020-01-01")
            return time.perf_counter() - t0
    finally:
        robust.attach_views = keep


def bench_small(args: argparse.Namespace, tmp: Path) -> None:
    from osintkit.archive import open_archive

    photos = corpus_photos() + skimage_photos(tmp)
    rnd = random.Random(args.seed)
    rnd.shuffle(photos)
    n_dis = max(5, len(photos) // 4)
    distractors, archived = photos[:n_dis], photos[n_dis:]
    if args.quick:
        archived, distractors = archived[:12], distractors[:4]
    add_plain = _add_without_views(archived, tmp)
    archive = open_archive(f"sqlite:///{tmp / 'bench.sqlite'}")
    t0 = time.perf_counter()
    archive.add(archived, source="bench", first_seen="2020-01-01")
    add_s = time.perf_counter() - t0
    rows = archive.db.query("SELECT COUNT(*) FROM views")[0][0]
    print(f"archive: {len(archived)} photos added in {add_s:.1f} s with sub-views "
          f"({add_s / len(archived) * 1000:.0f} ms each) vs {add_plain:.1f} s without "
          f"({add_s / add_plain:.2f}x); index rows: {len(archived)} whole + {rows} sub-views "
          f"({rows / len(archived):.1f} per item)")
    stats = run_queries(archive, {p.name: p for p in archived}, distractors, tmp, args.seed,
                        deep=not args.no_deep, verbose=args.verbose, families=args.family)
    print_table(stats, len(archived), len(distractors))
    archive.close()


def bench_large(args: argparse.Namespace, tmp: Path) -> None:
    """Median query time on an archive padded to `args.items` with random hashes."""
    from osintkit.archive import open_archive
    from osintkit.hashing import hash_file
    from osintkit.views import SUB_VIEWS

    photos = corpus_photos()[:20]
    db = open_archive(f"sqlite:///{tmp / 'large.sqlite'}")
    db.add(photos, source="bench", first_seen="2020-01-01")
    rng = np.random.default_rng(args.seed)
    n = args.items - len(photos)
    t0 = time.perf_counter()

    def fill(cur):
        rows = [(f"synthetic:{i}", "image", "2000-01-01T00:00:00", rng.bytes(32).hex(), 100)
                for i in range(n)]
        cur.executemany("INSERT INTO items (key, kind, added_at, pdq, pdq_quality) "
                        "VALUES (?, ?, ?, ?, ?)", rows)
        ids = [r[0] for r in cur.execute("SELECT id FROM items WHERE key LIKE 'synthetic:%'")]
        cur.executemany("INSERT INTO views (item_id, view, pdq, pdq_quality) VALUES (?, ?, ?, ?)",
                        [(i, v, rng.bytes(32).hex(), 100) for i in ids for v in SUB_VIEWS])
        db.db.bump(cur)
    db.db.write(fill)
    print(f"\nlarge archive: {args.items} items ({len(SUB_VIEWS)} sub-views each) written in "
          f"{time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    rows = db.rows()
    mem = sum(a.nbytes for a in rows.arrays().values())
    print(f"index: {len(rows)} rows loaded in {time.perf_counter() - t0:.1f} s; packed codes "
          f"{mem / 1e6:.0f} MB ({mem / args.items:.0f} bytes per item, "
          f"{mem / len(rows):.0f} per row)")
    queries = []
    for k, p in enumerate(photos):
        rnd = random.Random(k)
        fam = list(FAMILIES)[k % len(FAMILIES)]
        qp = tmp / f"large_{k}.jpg"
        FAMILIES[fam](_open(p), rnd).save(qp, quality=95)
        queries.append(qp)
    db.search(hash_file(queries[0]))  # warm the index tables
    plain, views, total = [], [], []
    for qp in queries * 3:
        t0 = time.perf_counter()
        res = hash_file(qp)
        t1 = time.perf_counter()
        db.search(res, with_views=False)
        t2 = time.perf_counter()
        db.search(res)
        t3 = time.perf_counter()
        plain.append((t2 - t1) * 1000)
        views.append((t3 - t2) * 1000)
        total.append((t3 - t2 + t1 - t0) * 1000)
    print("| archive of 100k items | median ms per query |\n|---|---:|")
    print(f"| whole-picture search (baseline) | {statistics.median(plain):.1f} |")
    print(f"| views search (query views hashed + searched) | {statistics.median(views):.1f} |")
    print(f"| hash the file + views search | {statistics.median(total):.1f} |")
    print(f"ratio views / baseline: {statistics.median(views) / statistics.median(plain):.1f}x")
    db.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small run (12 photos)")
    ap.add_argument("--no-deep", action="store_true", help="skip the deep (ORB) search")
    ap.add_argument("--items", type=int, default=100_000, help="large archive size (0: skip)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--family", action="append", help="only this family (repeatable)")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every miss")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-matching-") as tmp:
        bench_small(args, Path(tmp))
        if args.items:
            bench_large(args, Path(tmp))


if __name__ == "__main__":
    main()
