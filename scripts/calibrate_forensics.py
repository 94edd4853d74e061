#!/usr/bin/env python3
"""Calibrate the forensic indicators on real photos; print the table of docs/forensics.md.

Builds four classes from the real camera JPEGs of ../shared/corpus/exif-samples:
  camera   the untouched files themselves
  resave   decoded and saved once more (Pillow, quality 70/80/90 in turn), no EXIF
  splice   a patch of another photo (1/9 of the area, scaled ×1.1) pasted off the 8×8
           grid, saved at quality 70/80/90, the original EXIF (and thumbnail) kept
  edited   cropped off the grid, brightened, a region copied over another (copy-move),
           saved at quality 70/80/90 with the original EXIF (and thumbnail) kept
Big photos (> 3.2 Mpx) are cropped on the 8×8 grid to 1024×1024 for the three derived
classes (their EXIF is then dropped: the thumbnail would differ because of the crop).
Then counts how often each indicator fires per class. tests/test_forensics.py runs the
same code and asserts that untouched photos fire at most 5% of the time.

`--extra DIR` (repeatable) adds more untouched camera JPEGs to the *camera* class only
(e.g. drewnoakes/metadata-extractor-images, "free to use however you wish": 251 photos
of ~200 camera models), selected by the same rule read from their own EXIF: a camera
Make and no editor in Software. `--write-rates` stores the camera firing rates in
osintkit/checks/forensic_rates.json: the verdict rule (checks/verdict.py) lets no
indicator that fires on more than 2% of untouched camera photos make a claim
suspicious on its own or in pairs.

Usage: .venv/bin/python scripts/calibrate_forensics.py [--corpus DIR] [--keep DIR]
           [--extra DIR ...] [--write-rates]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from PIL import Image, ImageEnhance

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"
sys.path.insert(0, str(ROOT / "tests"))

from corpusutil import camera_jpegs  # noqa: E402

CLASSES = ("camera", "resave", "splice", "edited")
QUALITIES = (70, 80, 90)
BIG = 3_200_000
FINDING_INDICATORS = ("ela", "double_compression", "exif_thumbnail", "jpeg_quality")
ON_PATCH = "ela, cluster on the pasted patch"
ROWS = (*FINDING_INDICATORS[:1], ON_PATCH, *FINDING_INDICATORS[1:])
# Software tags that say a program other than the camera wrote the file.
_NOT_CAMERA = re.compile(r"photoshop|gimp|fireworks|photo gallery|picasa|lightroom|paint|"
                         r"acdsee|uploader|snapseed|instagram", re.IGNORECASE)


def is_untouched_camera(rec: dict) -> bool:
    """A corpus record (truth JSON) of a camera JPEG no editor has written."""
    return bool(rec.get("make")) and not _NOT_CAMERA.search(rec.get("software") or "")


def corpus_photos(corpus: Path) -> tuple[list[Path], dict]:
    """The same selection as the `photos` test fixture: decodable JPEGs ≥ 400 px wide."""
    truth = json.loads((corpus / "exif-samples-truth.json").read_text())
    return camera_jpegs(corpus, truth), truth


def camera_photos(photos: Iterable[Path], truth: dict, corpus_root: Path) -> list[Path]:
    """The untouched camera photos among `photos` (paths inside corpus_root)."""
    files = truth["files"]
    return [p for p in photos
            if is_untouched_camera(files.get(p.relative_to(corpus_root).as_posix(), {}))]


def _base(path: Path) -> tuple[Image.Image, bytes | None]:
    """Decoded pixels (stored orientation) and EXIF bytes; big photos cropped on the grid."""
    with Image.open(path) as im:
        exif = im.info.get("exif")
        img = im.convert("RGB")
    if img.width * img.height > BIG:
        x0 = ((img.width - 1024) // 2) // 8 * 8
        y0 = ((img.height - 1024) // 2) // 8 * 8
        return img.crop((x0, y0, x0 + 1024, y0 + 1024)), None
    return img, exif


def _save(img: Image.Image, target: Path, quality: int, exif: bytes | None) -> Path:
    kwargs = {"exif": exif} if exif else {}
    img.save(target, "JPEG", quality=quality, **kwargs)
    return target


def _splice(img: Image.Image, donor: Image.Image) -> Image.Image:
    w, h = img.size
    pw, ph = max(16, w // 3), max(16, h // 3)
    patch = donor.resize((max(1, donor.width // 3), max(1, donor.height // 3)))
    patch = patch.crop((0, 0, min(pw, patch.width), min(ph, patch.height)))
    patch = patch.resize((round(patch.width * 1.1), round(patch.height * 1.1)))
    out = img.copy()
    out.paste(patch, splice_box(img.size)[:2])  # off the 8×8 grid, as a paste usually is
    return out


def splice_box(size: tuple[int, int]) -> tuple[int, int, int, int]:
    """Where `_splice` pastes its patch (at most): x0, y0, x1, y1."""
    w, h = size
    x0, y0 = w // 3 + 3, h // 3 + 5
    return x0, y0, x0 + round(max(16, w // 3) * 1.1), y0 + round(max(16, h // 3) * 1.1)


def _on_patch(res) -> bool:
    """ELA's hot cluster is centred on the pasted patch."""
    box = res.indicators["ela"].get("hot_box")
    if not box:
        return False
    x0, y0, x1, y1 = splice_box((res.width, res.height))
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return x0 <= cx <= x1 and y0 <= cy <= y1


def _edit(img: Image.Image) -> Image.Image:
    w, h = img.size
    out = img.crop((w // 25 + 3, h // 25 + 5, w, h))
    out = ImageEnhance.Brightness(out).enhance(1.1)
    w, h = out.size
    region = out.crop((0, 0, w // 4, h // 4))  # copy-move: hide something under a copy
    out.paste(region, (w // 2 + 1, h // 2 + 2))
    return out


def build_set(photos: list[Path], out_dir: Path) -> dict[str, list[Path]]:
    """Write the derived classes of `photos` into out_dir; return paths per class."""
    out_dir.mkdir(parents=True, exist_ok=True)
    sets: dict[str, list[Path]] = {c: [] for c in CLASSES}
    sets["camera"] = list(photos)
    for n, path in enumerate(photos):
        img, exif = _base(path)
        donor, _ = _base(photos[(n + 1) % len(photos)])
        q = QUALITIES[n % len(QUALITIES)]
        stem = f"{n:03d}-{path.stem}"
        sets["resave"].append(_save(img, out_dir / f"{stem}.resave.jpg", q, None))
        sets["splice"].append(_save(_splice(img, donor), out_dir / f"{stem}.splice.jpg", q, exif))
        sets["edited"].append(_save(_edit(img), out_dir / f"{stem}.edited.jpg", q, exif))
    return sets


def fire_rates(sets: dict[str, list[Path]]) -> dict[str, dict[str, dict]]:
    """Per class and indicator: {"fired", "applicable", "rate"} (rate = fired/applicable).

    The extra row ON_PATCH counts, for splices only, ELA firing with its hot cluster
    centred on the pasted patch (a fire elsewhere points the analyst to the wrong place).
    """
    from osintkit.media.forensics import analyse_image

    table: dict[str, dict[str, dict]] = {}
    for cls, paths in sets.items():
        counts = {k: {"fired": 0, "applicable": 0} for k in ROWS}
        for path in paths:
            res = analyse_image(path, only=FINDING_INDICATORS)
            for k in FINDING_INDICATORS:
                fired = res.indicators.get(k, {}).get("fired")
                if fired is not None:
                    counts[k]["applicable"] += 1
                    counts[k]["fired"] += int(bool(fired))
            if cls == "splice":
                counts[ON_PATCH]["applicable"] += 1
                counts[ON_PATCH]["fired"] += int(bool(res.indicators["ela"].get("fired"))
                                                 and _on_patch(res))
        for c in counts.values():
            c["rate"] = c["fired"] / c["applicable"] if c["applicable"] else None
        table[cls] = counts
    return table


def markdown(table: dict[str, dict[str, dict]]) -> str:
    """The table of docs/forensics.md: rate (fired/applicable) per indicator and class."""
    head = "| indicator | " + " | ".join(CLASSES) + " |"
    rows = [head, "|---" * (len(CLASSES) + 1) + "|"]
    for k in ROWS:
        cells = []
        for cls in CLASSES:
            c = table[cls][k]
            rate = "n/a" if c["rate"] is None else f"{100 * c['rate']:.0f}%"
            cells.append(f"{rate} ({c['fired']}/{c['applicable']})")
        rows.append(f"| {k} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def extra_camera_photos(folders: Iterable[Path]) -> list[Path]:
    """Untouched camera JPEGs in `folders`, by their own EXIF (Make set, no editor in
    Software), decodable and at least 400 px wide."""
    from osintkit.media.metadata import read_metadata

    out = []
    for folder in folders:
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() not in (".jpg", ".jpeg"):
                continue
            try:
                with Image.open(path) as im:
                    im.load()
                    if im.width < 400:
                        continue
            except Exception:
                continue
            s = read_metadata(path).summary
            if s is not None and s.make and not _NOT_CAMERA.search(s.software or ""):
                out.append(path)
    return out


RATES_FILE = ROOT / "osintkit" / "checks" / "forensic_rates.json"


def write_rates(table: dict[str, dict[str, dict]], n_camera: int, sources: list[str]) -> None:
    """The camera firing rates the verdict rule reads (checks/verdict.py)."""
    rates = {k: table["camera"][k] for k in FINDING_INDICATORS}
    RATES_FILE.write_text(json.dumps({
        "about": "Firing rates of the forensic indicators on untouched camera photos, "
                 "measured by scripts/calibrate_forensics.py; indicators above "
                 "`weak_above` are weak (checks/verdict.py).",
        "camera_photos": n_camera, "sources": sources, "weak_above": 0.02,
        "rates": rates}, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    """Build the set in a temporary directory (or --keep DIR), print the table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--keep", type=Path, help="write the test images here and keep them")
    ap.add_argument("--json", action="store_true", help="print the raw counts as JSON")
    ap.add_argument("--extra", type=Path, action="append", default=[],
                    help="a folder of more untouched camera JPEGs (camera class only)")
    ap.add_argument("--write-rates", action="store_true",
                    help=f"store the camera rates in {RATES_FILE.relative_to(ROOT)}")
    args = ap.parse_args(argv)
    photos, truth = corpus_photos(args.corpus)
    cams = camera_photos(photos, truth, args.corpus / "exif-samples")
    more = extra_camera_photos(args.extra)
    with tempfile.TemporaryDirectory() as tmp:
        sets = build_set(cams, args.keep or Path(tmp))
        sets["camera"] = cams + more
        table = fire_rates(sets)
    print(json.dumps(table, indent=1) if args.json else markdown(table))
    print(f"\ncamera class: {len(cams)} corpus photos + {len(more)} from "
          f"{', '.join(map(str, args.extra)) or 'no extra folder'}")
    if args.write_rates:
        write_rates(table, len(cams) + len(more),
                    ["ianare/exif-samples (../shared/corpus)"] + [p.name for p in args.extra])
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
