#!/usr/bin/env python3
"""False alarms of the forensic indicators on JPEGs saved ONCE, by several encoders.

A file compressed once must not be called "compressed twice" (DOUBLE_JPEG_COMPRESSION),
nor get an ELA hot spot, just because of what it shows. This script saves pictures once
and counts how often each indicator fires:

  drawings  synthetic pictures drawn with Pillow (flat shapes; gradient and shapes; a
            text card; gradient, shapes and grain), saved once by Pillow (libjpeg, quality
            50-95) and by OpenCV's encoder (quality 70-95)
  photos    real camera photos of ../shared/corpus, downscaled by a non-integer factor
            (which erases their camera compression) and saved once by Pillow or OpenCV
  camera    the corpus camera JPEGs as they are (most saved once, by their camera)
  resaved   the downscaled photos saved once more at another quality: the detector's
            power, for comparison

Prints the table of docs/forensics.md. tests/test_forensics_single_save.py runs the drawings
(and the photos when the corpus is there) and asserts no single save fires DOUBLE_JPEG_COMPRESSION.

Usage: .venv/bin/python scripts/calibrate_double_jpeg.py [--corpus DIR] [--seeds N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"
PILLOW_QUALITIES = (50, 60, 70, 75, 80, 85, 90, 95)
OPENCV_QUALITIES = (70, 80, 90, 95)
INDICATORS = ("double_compression", "ela")


# ---------------------------------------------------------------- drawings
def _rgb(rng: np.random.Generator, lo: int = 0, hi: int = 256) -> tuple[int, ...]:
    return tuple(int(c) for c in rng.integers(lo, hi, 3))


def flat(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """Flat saturated shapes and a caption: the drawing of the issue."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", size, _rgb(rng))
    d = ImageDraw.Draw(img)
    for _ in range(20):
        x, y, r = rng.uniform(0, size[0]), rng.uniform(0, size[1]), rng.uniform(10, 120)
        (d.ellipse if rng.random() < .5 else d.rectangle)([x - r, y - r, x + r, y + r],
                                                           fill=_rgb(rng))
    d.text((20, size[1] - 40), "Claim photo", fill="white", font=ImageFont.load_default(size=28))
    return img


def gradient(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A smooth two-colour gradient with shapes and a headline."""
    rng = np.random.default_rng(seed)
    w, h = size
    a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    ys, xs = np.linspace(0, 1, h)[:, None, None], np.linspace(0, 1, w)[None, :, None]
    arr = a * (1 - ys) * (1 - xs / 2) + b * ys * (0.5 + xs / 2)
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(img)
    for _ in range(12):
        x, y, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(10, 90)
        d.ellipse([x - r, y - r, x + r, y + r], fill=_rgb(rng))
    d.text((20, h - 40), "BREAKING: strike near the post", fill="white",
           font=ImageFont.load_default(size=26))
    return img


def textcard(seed: int, size: tuple[int, int] = (800, 600)) -> Image.Image:
    """A statement as a text card: light background, lines of dark text, a red band."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", size, _rgb(rng, 150, 256))
    d = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=int(rng.integers(18, 34)))
    y = 20
    while y < size[1] - 40:
        d.text((30, y), f"Statement no. {seed}: rockets fired at the post, line {y}",
               fill=_rgb(rng, 0, 90), font=font)
        y += int(font.size * 1.6)
    d.rectangle([0, 0, size[0], 12], fill=(180, 20, 20))
    return img


def grainy(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """The gradient drawing with luminance grain, like a camera's."""
    arr = np.asarray(gradient(seed, size)).astype(np.int16)
    noise = np.random.default_rng(seed).integers(-12, 13, arr.shape[:2])[..., None]
    return Image.fromarray(np.clip(arr + noise, 0, 255).astype(np.uint8))


DRAWINGS: dict[str, Callable[[int], Image.Image]] = {
    "flat shapes": flat, "gradient and shapes": gradient, "text card": textcard,
    "shapes and grain": grainy}


# ---------------------------------------------------------------- encoders
def save_pillow(img: Image.Image, path: Path, quality: int) -> Path:
    img.save(path, "JPEG", quality=quality)  # libjpeg(-turbo), 4:2:0 below quality 95
    return path


def save_opencv(img: Image.Image, path: Path, quality: int) -> Path:
    import cv2

    bgr = np.ascontiguousarray(np.asarray(img.convert("RGB"))[..., ::-1])
    if not cv2.imwrite(str(path), bgr, [cv2.IMWRITE_JPEG_QUALITY, quality]):
        raise OSError(f"{path}: OpenCV could not write it")
    return path


# ---------------------------------------------------------------- the sets
Item = tuple[str, Path]  # (class, file)


def drawing_files(out: Path, seeds: int) -> Iterator[Item]:
    for name, draw in DRAWINGS.items():
        for seed in range(seeds):
            img = draw(seed)
            stem = f"{name.replace(' ', '-')}-{seed}"
            for q in PILLOW_QUALITIES:
                yield f"drawings, Pillow q{PILLOW_QUALITIES[0]}-{PILLOW_QUALITIES[-1]}", \
                    save_pillow(img, out / f"{stem}-p{q}.jpg", q)
            for q in OPENCV_QUALITIES:
                yield f"drawings, OpenCV q{OPENCV_QUALITIES[0]}-{OPENCV_QUALITIES[-1]}", \
                    save_opencv(img, out / f"{stem}-cv{q}.jpg", q)


def _downscaled(path: Path) -> Image.Image:
    with Image.open(path) as im:
        img = im.convert("RGB")
    f = 0.71 if img.width * img.height < 4_000_000 else 0.37  # off the 8x8 grid
    return img.resize((max(64, int(img.width * f)), max(64, int(img.height * f))),
                      Image.Resampling.LANCZOS)


def photo_files(photos: list[Path], out: Path) -> Iterator[Item]:
    qs = (60, 70, 75, 80, 85, 90, 95)
    for n, src in enumerate(photos):
        img = _downscaled(src)
        q, qc = qs[n % len(qs)], OPENCV_QUALITIES[n % len(OPENCV_QUALITIES)]
        once = save_pillow(img, out / f"photo{n}-p{q}.jpg", q)
        yield "photos, Pillow q60-95", once
        yield f"photos, OpenCV q{OPENCV_QUALITIES[0]}-{OPENCV_QUALITIES[-1]}", \
            save_opencv(img, out / f"photo{n}-cv{qc}.jpg", qc)
        yield "corpus camera JPEGs, as they are", src
        q2 = (70, 80, 90, 95)[n % 4]
        if q2 != q:
            with Image.open(once) as again:
                yield "resaved photos (power)", save_pillow(again.convert("RGB"),
                                                            out / f"photo{n}-twice.jpg", q2)


def rates(items: Iterator[Item]) -> dict[str, dict[str, list[int]]]:
    """class -> indicator -> [fired, applicable]."""
    from osintkit.media.forensics import analyse_image

    table: dict[str, dict[str, list[int]]] = {}
    for cls, path in items:
        res = analyse_image(path, only=INDICATORS)
        row = table.setdefault(cls, {k: [0, 0] for k in INDICATORS})
        for k in INDICATORS:
            ind = res.indicators.get(k) or {}
            if res.ok and ind.get("fired") is not None:
                row[k][1] += 1
                row[k][0] += bool(ind["fired"])
    return table


def measure(corpus: Path | None, seeds: int = 5) -> dict[str, dict[str, list[int]]]:
    """All classes (photo classes only when the corpus is there)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        table = rates(drawing_files(out, seeds))
        if corpus is not None and (corpus / "exif-samples-truth.json").is_file():
            sys.path.insert(0, str(ROOT / "tests"))
            import json

            from corpusutil import camera_jpegs

            truth = json.loads((corpus / "exif-samples-truth.json").read_text())
            table.update(rates(photo_files(camera_jpegs(corpus, truth), out)))
    return table


def markdown(table: dict[str, dict[str, list[int]]]) -> str:
    def cell(c: list[int]) -> str:
        return f"{100 * c[0] / c[1]:.0f}% ({c[0]}/{c[1]})" if c[1] else "n/a (0/0)"

    lines = ["| saved once by | DOUBLE_JPEG_COMPRESSION | ELA_HOTSPOT |", "|---|---|---|"]
    lines += [f"| {cls} | {cell(row['double_compression'])} | {cell(row['ela'])} |"
              for cls, row in table.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--seeds", type=int, default=5, help="pictures per drawing kind")
    args = ap.parse_args(argv)
    print(markdown(measure(args.corpus, args.seeds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
