"""Image forensics: indicators on real photos, honest calibration, CLI, checks."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from conftest import EXIF_SAMPLES, ROOT
from PIL import Image, ImageDraw

from osintkit.checks import CheckContext, MediaItem, load_checks, run_checks
from osintkit.checks import forensics as fchecks
from osintkit.claim import Claim
from osintkit.cli import cli
from osintkit.media.forensics import THRESHOLDS, analyse_image, quant

DSCN = EXIF_SAMPLES / "jpg" / "gps" / "DSCN0010.jpg"  # Nikon, IJG tables at quality 84
PHOTOSHOPPED = EXIF_SAMPLES / "jpg" / "exif-org" / "nikon-e950.jpg"  # Adobe APP14 + APP13
CANON = EXIF_SAMPLES / "jpg" / "exif-org" / "canon-ixus.jpg"  # Canon's own tables
CLASSES = ("camera", "resave", "splice", "edited")


# ---------------------------------------------------------------- quantization tables
@pytest.mark.parametrize("quality", [30, 50, 75, 90, 95, 100])
def test_pillow_quality_is_recovered_exactly(tmp_path, quality):
    target = tmp_path / "q.jpg"
    Image.new("RGB", (64, 64), "gray").save(target, quality=quality)
    ind = analyse_image(target).indicators["jpeg_quality"]
    assert (ind["luma_quality"], ind["chroma_quality"]) == (quality, quality)
    assert ind["family"] == "ijg" and ind["luma_exact"] and not ind["fired"]


def test_real_camera_tables_golden():
    nikon = analyse_image(DSCN).indicators["jpeg_quality"]
    assert (nikon["luma_quality"], nikon["family"], nikon["signature"]) == (
        84, "ijg", "717bccb7248f7e05")
    canon = analyse_image(CANON).indicators["jpeg_quality"]
    assert (canon["luma_quality"], canon["chroma_quality"], canon["family"]) == (93, 87, "custom")
    assert not canon["editor"]


def test_photoshop_markers_name_the_editor():
    ind = analyse_image(PHOTOSHOPPED).indicators["jpeg_quality"]
    assert ind["fired"] and ind["family"] == "custom"
    assert any("APP14" in m for m in ind["editor_markers"])


def test_ijg_table_formula_matches_libjpeg():
    assert quant.ijg_table(quant.STD_LUMA, 50).tolist() == quant.STD_LUMA.tolist()
    assert set(quant.ijg_table(quant.STD_LUMA, 100).tolist()) == {1}
    assert quant.ijg_table(quant.STD_CHROMA, 1).max() == 255  # baseline clamp


# ---------------------------------------------------------------- single indicators
def test_double_compression_fires_on_a_resave_with_another_table(tmp_path):
    with Image.open(DSCN) as im:  # quality 84 → 90: finer steps, histograms get gaps
        im.convert("RGB").save(tmp_path / "again.jpg", quality=90)
    before = analyse_image(DSCN).indicators["double_compression"]
    after = analyse_image(tmp_path / "again.jpg").indicators["double_compression"]
    assert not before["fired"] and after["fired"]
    assert after["score"] > 3 * before["score"]


def test_double_compression_is_blind_to_a_much_stronger_second_compression(tmp_path):
    with Image.open(DSCN) as im:  # documented limit: 84 → 50 leaves no periodic trace
        im.convert("RGB").save(tmp_path / "again.jpg", quality=50)
    assert not analyse_image(tmp_path / "again.jpg").indicators["double_compression"]["fired"]


def test_exif_thumbnail_of_a_cropped_copy_mismatches(tmp_path):
    with Image.open(DSCN) as im:
        exif = im.info["exif"]
        im.crop((0, 0, 320, 240)).save(tmp_path / "crop.jpg", quality=90, exif=exif)
    same = analyse_image(DSCN).indicators["exif_thumbnail"]
    crop = analyse_image(tmp_path / "crop.jpg").indicators["exif_thumbnail"]
    assert same["present"] and same["distance"] <= 4 and not same["fired"]
    assert crop["fired"] and crop["distance"] > THRESHOLDS["exif_thumbnail"]


def test_ela_marks_an_uncompressed_patch_in_a_jpeg(tmp_path):
    with Image.open(DSCN) as im:
        img = im.convert("RGB")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=75)
    base = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    ImageDraw.Draw(base).text((200, 200), "PASTED " * 4, fill="yellow")
    base.paste(img.crop((0, 0, 200, 150)).resize((230, 170)), (283, 213))
    base.save(tmp_path / "spliced.png")
    clean = analyse_image(tmp_path / "spliced.png").indicators
    assert clean["jpeg_quality"]["applicable"] is False  # a PNG has no tables
    ela = clean["ela"]
    x0, y0, x1, y1 = ela["hot_box"]
    # the cluster lies on the pasted patch (283-513 x 213-383) and covers most of it
    # (since texture counts colour edges, the thin yellow text is no longer part of it)
    assert ela["fired"] and x0 >= 283 - 16 and y0 >= 213 - 16 and x1 <= 513 + 16
    assert y1 <= 383 + 16 and (x1 - x0) * (y1 - y0) >= 0.6 * 230 * 170


def test_every_indicator_writes_its_picture(tmp_path):
    res = analyse_image(DSCN, tmp_path)
    for name in ("ela", "jpeg_quality", "double_compression", "exif_thumbnail", "noise"):
        pic = Path(res.indicators[name]["image"])
        assert pic.parent == tmp_path and pic.suffix == ".png"
        with Image.open(pic) as im:
            assert im.width > 50


# ---------------------------------------------------------------- honest calibration
def test_untouched_camera_photos_fire_at_most_5_percent(fire_rates, calibration):
    for name in calibration.FINDING_INDICATORS:
        c = fire_rates["camera"][name]
        assert c["applicable"] >= 20, name
        assert c["rate"] <= 0.05, f"{name} fires on {c['fired']}/{c['applicable']} camera photos"


def test_indicators_fire_more_often_on_manipulated_copies(fire_rates):
    cam = fire_rates["camera"]
    assert fire_rates["resave"]["double_compression"]["rate"] >= 0.2
    # 18% since single-save drawings stopped firing (one spike is not a period)
    assert fire_rates["splice"]["double_compression"]["rate"] >= 0.15
    assert fire_rates["edited"]["exif_thumbnail"]["rate"] >= 0.6
    assert fire_rates["splice"]["ela"]["rate"] > cam["ela"]["rate"] + 0.1
    assert fire_rates["edited"]["ela"]["rate"] > cam["ela"]["rate"] + 0.1


def test_docs_table_is_the_calibration_output(fire_rates, calibration):
    readme = (ROOT / "docs" / "forensics.md").read_text(encoding="utf-8")
    assert calibration.markdown(fire_rates) in readme


# ---------------------------------------------------------------- bad input, CLI
def test_bad_files_fail_one_by_one_and_the_rest_continue(runner, tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("not a picture")
    (tmp_path / "cut.jpg").write_bytes(DSCN.read_bytes()[:5000])
    args = ["forensics", str(tmp_path / "empty.jpg"), str(tmp_path / "text.jpg"),
            str(tmp_path / "cut.jpg"), str(tmp_path / "missing.jpg"), str(DSCN), "--json"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 1
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    codes = [x["error"]["code"] if x["error"] else None for x in lines]
    assert codes == ["empty", "not_media", "truncated", "not_found", None]
    assert lines[-1]["ok"] and set(lines[-1]["indicators"]) >= {"ela", "exif_thumbnail"}
    errs = result.stderr.strip().splitlines()
    assert len(errs) == 4 and all(e.startswith("Error: ") for e in errs)
    assert "Traceback" not in result.output


def _png_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height,
                                                              8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b""))


def test_decompression_bomb_is_refused(tmp_path):
    (tmp_path / "bomb.png").write_bytes(_png_claiming(40_000, 40_000))
    res = analyse_image(tmp_path / "bomb.png")
    assert not res.ok and res.error.code == "too_large" and "bomb.png" in res.error.message


def test_odd_but_valid_images_give_answers_not_errors(tmp_path):
    Image.new("L", (300, 200), 128).save(tmp_path / "gray.jpg", quality=80)
    Image.new("CMYK", (300, 200), (0, 50, 100, 0)).save(tmp_path / "cmyk.jpg", quality=80)
    Image.new("RGB", (8, 8), "red").save(tmp_path / "tiny.jpg")
    Image.new("RGBA", (64, 64), (1, 2, 3, 4)).save(tmp_path / "alpha.png")
    for name in ("gray.jpg", "cmyk.jpg", "tiny.jpg", "alpha.png"):
        res = analyse_image(tmp_path / name)
        assert res.ok and not res.fired, name
        assert not any("error" in ind for ind in res.indicators.values()), name
    gray = analyse_image(tmp_path / "gray.jpg").indicators["jpeg_quality"]
    assert gray["luma_quality"] == 80 and gray["chroma_quality"] is None


def test_a_broken_exif_thumbnail_is_reported_not_fatal(tmp_path):
    data = bytearray(DSCN.read_bytes())
    soi = data.find(b"\xff\xd8", 100)  # the thumbnail's own start inside APP1
    data[soi + 200:soi + 2000] = bytes(1800)
    (tmp_path / "badthumb.jpg").write_bytes(bytes(data))
    ind = analyse_image(tmp_path / "badthumb.jpg").indicators["exif_thumbnail"]
    assert ind["present"] and ind["readable"] is False and ind["fired"] is None
    assert "does not decode" in ind["reason"]


def test_cli_writes_pictures_with_unique_names(runner, tmp_path):
    other = tmp_path / "b"
    other.mkdir()
    (other / DSCN.name).write_bytes(DSCN.read_bytes())
    out = tmp_path / "out"
    result = runner.invoke(cli, ["forensics", str(DSCN), str(other / DSCN.name), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "ELA" in result.stdout and "indicators, not proof" in result.stdout
    elas = sorted(p.name for p in out.glob("*.ela.png"))
    assert len(elas) == 2 and elas[0] != elas[1]


def test_an_output_folder_that_cannot_be_made_is_a_usage_error(runner, tmp_path):
    (tmp_path / "file").write_text("x")
    result = runner.invoke(cli, ["forensics", str(DSCN), "-o", str(tmp_path / "file" / "sub")])
    assert result.exit_code == 2 and "cannot create the output folder" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_video_is_refused_clearly(runner, tmp_path):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 64)
    result = runner.invoke(cli, ["forensics", str(clip), "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["code"] == "unsupported"


def test_module_entry_point_runs(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "osintkit", "forensics", str(PHOTOSHOPPED),
                           "--json"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["fired"] == ["jpeg_quality"]


# ---------------------------------------------------------------- checks
def _ctx(path: Path, out_dir: Path | None = None) -> CheckContext:
    return CheckContext(claim=Claim(id="c1"), out_dir=out_dir,
                        media=[MediaItem(id="m1", name=path.name, path=path, kind="image")])


def test_forensic_checks_are_registered_with_mild_severities():
    checks = load_checks()
    for code in ("ELA_HOTSPOT", "DOUBLE_JPEG_COMPRESSION", "EXIF_THUMBNAIL_MISMATCH",
                 "EDITOR_QUANTIZATION_TABLES"):
        assert checks[code].severity in ("info", "low", "medium")


def test_run_checks_reports_editor_tables_and_nothing_else_forensic(tmp_path):
    findings, _ = run_checks(_ctx(PHOTOSHOPPED))
    mine = {f.code for f in findings} & {"ELA_HOTSPOT", "DOUBLE_JPEG_COMPRESSION",
                                         "EXIF_THUMBNAIL_MISMATCH", "EDITOR_QUANTIZATION_TABLES"}
    assert mine == {"EDITOR_QUANTIZATION_TABLES"}


def test_thumbnail_mismatch_finding_carries_its_picture(tmp_path):
    with Image.open(DSCN) as im:
        im.crop((100, 0, 420, 240)).save(tmp_path / "crop.jpg", quality=90,
                                         exif=im.info["exif"])
    ctx = _ctx(tmp_path / "crop.jpg", tmp_path / "report")
    ctx.item, ctx.code, ctx.severity = ctx.media[0], "EXIF_THUMBNAIL_MISMATCH", "medium"
    finding = fchecks.exif_thumbnail_mismatch(ctx)
    assert finding is not None and finding.media == "m1" and finding.severity == "medium"
    assert finding.evidence["images"] == {"exif_thumbnail": "forensics/m1.thumbnail.png"}
    assert (tmp_path / "report" / "forensics" / "m1.thumbnail.png").is_file()
    assert finding.evidence["indicator_not_proof"] is True


def test_verify_report_carries_the_thumbnail_finding(tmp_path):
    from osintkit.verify import VerifyOptions, verify_target

    with Image.open(DSCN) as im:
        im.crop((100, 0, 420, 240)).save(tmp_path / "crop.jpg", quality=90,
                                         exif=im.info["exif"])
    verify_target(str(tmp_path / "crop.jpg"), tmp_path / "report",
                  options=VerifyOptions(search_archive=False, formats=("json",)))
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    found = [f for f in report["findings"] if f["code"] == "EXIF_THUMBNAIL_MISMATCH"]
    assert len(found) == 1 and found[0]["severity"] == "medium"
    assert (tmp_path / "report" / found[0]["evidence"]["images"]["exif_thumbnail"]).is_file()
    assert not (tmp_path / "report" / "forensics" / "m1.ela.png").exists()  # only what fired
