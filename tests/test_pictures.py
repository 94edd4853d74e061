"""Pictures that failed or exploded (issue 13): 1-bit and 16-bit PNGs, palette pictures,
huge-but-small-file PNGs and 100 MP JPEGs are decoded reduced and capped."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from osintkit.match.hashfile import hash_file
from osintkit.match.hashing import hamming, load_image
from osintkit.media.forensics import analyse_image

SIZE = (1200, 900)  # larger than the hashing size: reduced before hashing


def _scene(mode: str = "L") -> Image.Image:
    img = Image.new("L", SIZE, 30)
    d = ImageDraw.Draw(img)
    d.ellipse((100, 80, 800, 780), fill=220)
    d.rectangle((700, 300, 1150, 600), fill=120)
    return img


@pytest.fixture(scope="module")
def pngs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pngs")
    grey = _scene()
    out = {"grey": folder / "grey.png", "bit1": folder / "bit1.png",
           "grey16": folder / "grey16.png", "palette": folder / "palette.png",
           "palette_alpha": folder / "palette_alpha.png"}
    grey.save(out["grey"])
    grey.point(lambda v: 255 if v > 100 else 0).convert("1").save(out["bit1"])
    wide = (np.asarray(grey, dtype=np.uint16) * 257)  # the same picture in 16 bits
    Image.fromarray(wide).save(out["grey16"])
    grey.convert("RGB").quantize(16).save(out["palette"])
    pal = grey.convert("RGB").quantize(16)
    pal.info["transparency"] = 0
    pal.save(out["palette_alpha"], transparency=0)
    return out


@pytest.mark.parametrize("kind", ["bit1", "grey16", "palette", "palette_alpha"])
def test_every_png_mode_larger_than_the_hash_size_hashes(pngs, kind):
    res = hash_file(pngs[kind])
    assert res.ok, res.error
    with Image.open(pngs[kind]) as im:
        assert im.size == SIZE
    grey = hash_file(pngs["grey"]).hashes
    limit = 40 if kind in ("bit1", "palette_alpha") else 16  # thresholded / transparent
    assert hamming(str(res.hashes["pdq"]), str(grey["pdq"])) <= limit, kind


def test_16_bit_grey_is_scaled_not_clipped(pngs):
    a = np.asarray(load_image(pngs["grey16"], size=None).convert("L"), dtype=int)
    b = np.asarray(load_image(pngs["grey"], size=None).convert("L"), dtype=int)
    assert np.abs(a - b).max() <= 1  # a plain convert("L") made it all white


@pytest.mark.parametrize("mode", ["1", "L", "P", "PA", "LA", "RGB", "RGBA", "I;16", "I", "F",
                                  "CMYK"])
def test_strip_reduction_equals_a_whole_reduction(mode):
    from osintkit.media.pixels import reduce_image, work_mode

    rng = np.random.default_rng(7)
    base = Image.fromarray(rng.integers(0, 255, (301, 517, 3), dtype=np.uint8))
    img = base.convert("L").convert(mode) if mode in ("1", "I;16", "I", "F") else \
        base.convert(mode)
    whole = img.convert(work_mode(img)).reduce(3)
    from osintkit.media import pixels as px

    old, px.STRIP_PIXELS = px.STRIP_PIXELS, 517 * 7  # force many strips
    try:
        strips = reduce_image(img, 3)
    finally:
        px.STRIP_PIXELS = old
    assert strips.mode == whole.mode and strips.size == whole.size == (173, 101)
    assert np.array_equal(np.asarray(strips), np.asarray(whole))


def test_pixel_cap_factor():
    from osintkit.media.pixels import MAX_WORK_PIXELS, factor_for

    assert factor_for((4000, 3000)) == 1  # a 12 MP photo works at full size
    w, h = 10_000, 10_000
    f = factor_for((w, h))
    assert (w // f) * (h // f) <= MAX_WORK_PIXELS < (w // (f - 1)) * (h // (f - 1))


def _peak_mb(args: list[str]) -> tuple[int, subprocess.CompletedProcess]:
    """Run `osintkit ARGS` in a fresh parent; its only child's peak RSS in MB."""
    code = ("import resource, subprocess, sys; "
            "p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024); "
            "print(p.returncode); sys.stdout.write(p.stdout); sys.stderr.write(p.stderr)")
    proc = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", "osintkit", *args],
                          capture_output=True, text=True, timeout=300)
    peak, rc, *rest = proc.stdout.split("\n", 2)
    return int(peak), subprocess.CompletedProcess(args, int(rc), "".join(rest), proc.stderr)


@pytest.fixture(scope="module")
def huge_png(tmp_path_factory) -> Path:
    """88 megapixels of 1-bit shapes in a ~0.1 MB PNG (was 2 GB and 13 s in verify)."""
    path = tmp_path_factory.mktemp("huge") / "huge.png"
    img = Image.new("1", (10_800, 8_150), 0)
    d = ImageDraw.Draw(img)
    d.rectangle((1000, 1000, 6000, 5000), fill=1)
    d.ellipse((5000, 3000, 9000, 7000), fill=1)
    img.save(path, optimize=True)
    assert path.stat().st_size < 1_000_000
    return path


@pytest.mark.slow
def test_huge_small_file_png_stays_within_memory(huge_png, tmp_path):
    claim = tmp_path / "c.yaml"
    claim.write_text(f"id: huge\nmedia: [{huge_png}]\n")
    for args in (["hash", str(huge_png), "--json"],
                 ["forensics", str(huge_png), "--json", "-o", str(tmp_path / "f")],
                 ["verify", str(claim), "--no-archive", "-o", str(tmp_path / "v")]):
        peak, proc = _peak_mb(args)
        assert proc.returncode == 0, proc.stderr
        assert peak < 600, (args[0], peak)  # was ~2,000 MB
    report = json.loads((tmp_path / "v" / "report.json").read_text())
    assert report["media"][0]["ok"] and report["media"][0]["width"] == 10_800


def test_forensics_on_a_reduced_read_says_so(huge_png):
    res = analyse_image(huge_png, only=("ela", "noise"))
    assert res.ok and (res.width, res.height) == (10_800, 8_150)
    ela = res.indicators["ela"]
    assert ela["scale"] < 1 and ela["fired"] is None and "reduced" in ela["reason"]
    if ela["hot_box"]:
        assert max(ela["hot_box"]) > 4000  # in the stored picture's pixels
