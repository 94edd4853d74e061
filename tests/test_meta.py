"""`osintkit meta`: agreement with ExifTool on real camera files, fallbacks, hostile input."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fixtures_meta import AGREEMENT, jpeg_with_exif, make_ifd_entry, png_chunk, tiff_block
from PIL import Image, TiffImagePlugin

from osintkit.cli import cli
from osintkit.media.fields import iso_datetime
from osintkit.media.metadata import exif_thumbnail, read_metadata, render_text

FIELDS = ("captured_at", "make", "model", "gps", "orientation", "width", "height",
          "software")
MIN_AGREEMENT = 0.99


# ------------------------------------------------------------------ accuracy
def _agrees(name: str, mine, want) -> bool:
    if name == "gps":
        return mine is not None and abs(mine["lat"] - want["lat"]) <= 1e-5 \
            and abs(mine["lon"] - want["lon"]) <= 1e-5
    if name == "captured_at":  # ExifTool's DateTimeOriginal has no sub-seconds; we add them
        return mine is not None and re.sub(r"\.\d+", "", mine) == want
    return mine == want


def _mine(md) -> dict:
    d = md.to_dict()
    return {**d["summary"], "width": d["width"], "height": d["height"]}


def _agreement(folder: Path, truth: dict) -> tuple[dict[str, list[int]], list[str], list[str]]:
    """Per field [agree, files] against ExifTool, the misses and the files we failed."""
    counts = {f: [0, 0] for f in FIELDS}
    misses, failed = [], []
    for rel, want in sorted(truth["files"].items()):
        md = read_metadata(folder / rel)
        if not md.ok:
            failed.append(f"{rel}: {md.error.code}")
        mine = _mine(md)
        for f in FIELDS:
            if want.get(f) is None:  # counted only where ExifTool found the field
                continue
            ok = _agrees(f, mine[f], want[f])
            counts[f][0] += ok
            counts[f][1] += 1
            if not ok:
                misses.append(f"{rel} {f}: ours {mine[f]!r}, ExifTool {want[f]!r}")
    return counts, misses, failed


def test_repository_samples_agree_with_exiftool(corpus_dir: Path, truth: dict):
    """The 39 real files of tests/data: every field ExifTool reads, we read the same."""
    counts, misses, failed = _agreement(corpus_dir, truth)
    assert not failed, failed
    assert not misses, misses
    assert all(n >= 4 for _, n in counts.values()), counts  # each field is exercised


def test_corpus_agrees_with_exiftool(full_corpus: tuple[Path, dict]):
    """Corpus-only: every media file of the full exif-samples corpus."""
    folder, truth = full_corpus
    counts, misses, failed = _agreement(folder, truth)
    lines = ["| field | agree | files | % |", "|---|---:|---:|---:|"]
    lines += [f"| {f} | {a} | {n} | {100 * a / n:.1f} |" for f, (a, n) in counts.items()]
    lines.append(f"files read without error: {len(truth['files']) - len(failed)}"
                 f"/{len(truth['files'])}")
    AGREEMENT["table"] = "\n".join(lines + [f"miss: {m}" for m in misses]
                                   + [f"failed: {f}" for f in failed])
    print("\n" + AGREEMENT["table"])
    assert not failed, failed  # ExifTool read every corpus file without an error
    for f, (a, n) in counts.items():
        assert n >= 10, f"too few corpus files with {f}"
        assert a / n >= MIN_AGREEMENT, f"{f}: {a}/{n} agree; misses: {misses}"


def test_canon_40d_reads_as_pinned(corpus_dir: Path):
    md = read_metadata(corpus_dir / "jpg/Canon_40D.jpg")
    assert md.ok and md.error is None
    d = md.to_dict()
    assert d["sha256"] == "6bfdabd4fc33d112283c147acccc574e770bbe6fbdbc3d4da968ba7b606ecc2f"
    assert (d["kind"], d["format"], d["mime"], d["size"]) == ("image", "JPEG", "image/jpeg", 7958)
    assert d["summary"] == {
        "captured_at": "2008-05-30T15:56:01.00", "captured_at_source": "EXIF:DateTimeOriginal",
        "modified_at": "2008-07-31T10:38:11.00", "make": "Canon", "model": "Canon EOS 40D",
        "lens": None, "software": "GIMP 2.4.5", "artist": None, "orientation": 1,
        "gps": None, "software_history": []}
    assert d["thumbnail"] == {"present": True, "width": 68, "height": 46, "size": 1378}
    assert d["exif"]["InteropIFD"]["InteroperabilityIndex"] == "R98"
    assert d["exif"]["GPS"]["GPSVersionID"] == [2, 2, 0, 0]
    assert d["image"]["icc_profile"] == "sRGB IEC61966-2.1"
    json.dumps(d, allow_nan=False)  # the JSON edge never sees NaN or bytes


def test_exif_thumbnail_returns_the_embedded_jpeg(corpus_dir: Path):
    thumb = exif_thumbnail(corpus_dir / "jpg/Canon_40D.jpg")
    assert thumb is not None and len(thumb) == 1378
    with Image.open(io.BytesIO(thumb)) as im:
        assert (im.format, im.size) == ("JPEG", (68, 46))
    assert exif_thumbnail(corpus_dir / "tiff/Arbitro.tiff") is None
    assert exif_thumbnail(corpus_dir.parent / "README.md") is None


def test_heic_reads_make_date_and_gps(corpus_dir: Path):
    md = read_metadata(corpus_dir / "heic/IMG_5195.HEIC")
    assert md.ok, md.error
    assert (md.format, md.mime, md.width, md.height) == ("HEIF", "image/heic", 2566, 3313)
    s = md.summary
    assert (s.make, s.model, s.software) == ("Apple", "iPhone 11 Pro Max", "14.4.2")
    assert s.captured_at.startswith("2021-04-11T15:47:53") and s.captured_at.endswith("-05:00")
    assert abs(s.gps.lat - 39.0513444) < 1e-5 and abs(s.gps.lon + 94.2887722) < 1e-5


def test_heic_keeps_stored_size_and_raw_orientation(full_corpus: tuple[Path, dict]):
    """Corpus-only (a 2 MB iPhone 13 HEIC with orientation 6)."""
    md = read_metadata(full_corpus[0] / "heic/mobile/iphone_13_pro_max.HEIC")
    assert md.ok, md.error
    assert (md.format, md.mime, md.width, md.height) == ("HEIF", "image/heic", 4032, 3024)
    s = md.summary
    assert s.orientation == 6  # pillow-heif's plugin would have said 1
    assert s.captured_at == "2022-02-16T12:55:41.762+01:00"
    assert (s.make, s.model, s.software) == ("Apple", "iPhone 13 Pro Max", "15.2.1")
    assert s.lens and s.lens.startswith("iPhone 13 Pro Max back")


def test_xmp_and_iptc_fill_in_when_exif_has_no_date(corpus_dir: Path):
    md = read_metadata(corpus_dir / "jpg/xmp/BlueSquare.jpg")
    s = md.summary
    assert (s.captured_at, s.captured_at_source) == ("2005-09-07T15:07:40-07:00",
                                                     "XMP:CreateDate")
    assert s.software == "Adobe Photoshop CS2 Macintosh"
    assert md.xmp["dc:subject"] == ["XMP", "Blue Square", "test file", "Photoshop", ".jpg"]
    assert md.iptc["keywords"] == md.xmp["dc:subject"]
    assert md.iptc["object-name"] == "Blue Square Test File - .jpg"


def _iim(number: int, value: bytes) -> bytes:
    return b"\x1c\x02" + bytes([number]) + len(value).to_bytes(2, "big") + value


def test_iptc_date_and_byline_fill_in_when_exif_and_xmp_have_none(tmp_path: Path):
    iim = (_iim(55, b"20240418") + _iim(60, b"102030+0300") + _iim(80, b"Jane Doe")
           + _iim(90, b"Termez"))
    iim += b"\x00" * (len(iim) % 2)
    irb = b"8BIM\x04\x04\x00\x00" + len(iim).to_bytes(4, "big") + iim
    app13 = b"Photoshop 3.0\x00" + irb
    buf = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buf, "JPEG")
    data = buf.getvalue()
    segment = b"\xff\xed" + (len(app13) + 2).to_bytes(2, "big") + app13
    path = tmp_path / "iptc.jpg"
    path.write_bytes(data[:2] + segment + data[2:])
    md = read_metadata(path)
    assert md.ok, md.error
    assert md.iptc["city"] == "Termez" and md.iptc["by-line"] == ["Jane Doe"]
    s = md.summary
    assert (s.captured_at, s.captured_at_source) == ("2024-04-18T10:20:30+03:00",
                                                     "IPTC:DateCreated")
    assert s.artist == "Jane Doe"


def test_canon_ciff_block_gives_make_and_model(corpus_dir: Path):
    md = read_metadata(corpus_dir / "jpg/exif-org/sony-powershota5.jpg")
    assert (md.summary.make, md.summary.model) == ("Canon", "Canon PowerShot A5")
    assert md.summary.captured_at_source == "CIFF:CapturedTime"


# ------------------------------------------------------------------ hand-built EXIF
def _save_jpeg(path: Path, exif: Image.Exif, xmp: bytes | None = None) -> Path:
    kw = {"xmp": xmp} if xmp else {}
    Image.new("RGB", (40, 30), (10, 200, 30)).save(path, "JPEG", exif=exif.tobytes(), **kw)
    return path


def _rational(num: int, den: int) -> TiffImagePlugin.IFDRational:
    return TiffImagePlugin.IFDRational(num, den)


def test_subseconds_offset_and_southern_western_gps(tmp_path: Path):
    exif = Image.Exif()
    exif[0x010F] = "  Canon\x00\x00"
    ifd = exif.get_ifd(0x8769)
    ifd[0x9003] = "2024:04:18 10:20:30"
    ifd[0x9291] = "042"
    ifd[0x9011] = "+03:00"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "S", 2: (_rational(33, 1), _rational(51, 1), _rational(3582, 100)),
                3: "W", 4: (_rational(151, 1), _rational(12, 1), _rational(4050, 100)),
                5: b"\x01", 6: _rational(125, 10),
                7: (_rational(7, 1), _rational(20, 1), _rational(3050, 100)), 29: "2024:04:18"})
    md = read_metadata(_save_jpeg(tmp_path / "syd.jpg", exif))
    s = md.summary
    assert s.make == "Canon"
    assert s.captured_at == "2024-04-18T10:20:30.042+03:00"
    assert s.gps is not None
    assert s.gps.lat == pytest.approx(-(33 + 51 / 60 + 35.82 / 3600), abs=1e-9)
    assert s.gps.lon == pytest.approx(-(151 + 12 / 60 + 40.5 / 3600), abs=1e-9)
    assert s.gps.alt == -12.5  # AltitudeRef 1: below sea level
    assert s.gps.time == "2024-04-18T07:20:30.5+00:00"  # the GPS clock, UTC


def test_gps_with_zero_over_zero_rationals_is_null(tmp_path: Path):
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (_rational(0, 0), _rational(0, 0), _rational(0, 0)),
                3: "E", 4: (_rational(0, 0), _rational(0, 0), _rational(0, 0))})
    md = read_metadata(_save_jpeg(tmp_path / "nofix.jpg", exif))
    assert md.ok and md.summary.gps is None


def test_gps_exactly_zero_zero_is_ignored_with_a_warning(tmp_path: Path):
    exif = Image.Exif()
    zero = (_rational(0, 1), _rational(0, 1), _rational(0, 1))
    exif.get_ifd(0x8825).update({1: "N", 2: zero, 3: "E", 4: zero})
    md = read_metadata(_save_jpeg(tmp_path / "null_island.jpg", exif))
    assert md.summary.gps is None
    assert any("0,0" in w for w in md.warnings)


def test_orientation_only_on_the_thumbnail_is_not_the_image_orientation(tmp_path: Path):
    # IFD0 has no Orientation; IFD1 (thumbnail) says 6. ExifTool: the image has none.
    ifd1 = (b"\x01\x00" + b"\x12\x01\x03\x00\x01\x00\x00\x00\x06\x00\x00\x00"
            + b"\x00\x00\x00\x00")
    text = b"ThumbCam\x00"
    block = tiff_block([make_ifd_entry(text, 26 + len(ifd1))], next_ifd=26, extra=ifd1 + text)
    path = tmp_path / "ifd1.jpg"
    path.write_bytes(jpeg_with_exif(block))
    md = read_metadata(path)
    assert md.ok, md.error
    assert md.summary.make == "ThumbCam"
    assert md.summary.orientation is None
    assert md.exif["IFD1"]["Orientation"] == 6


def test_every_ifd_in_the_chain_is_read(tmp_path: Path):
    import struct

    text = b"ThreeCam\x00"  # IFD0 (at 8) -> IFD1 (at 26) -> IFD2 (at 44), then the text
    ifd1 = struct.pack("<HHHIHHI", 1, 0x0103, 3, 1, 6, 0, 44)
    ifd2 = struct.pack("<HHHIHHI", 1, 0x0103, 3, 1, 1, 0, 0)
    block = tiff_block([make_ifd_entry(text, 62)], next_ifd=26, extra=ifd1 + ifd2 + text)
    path = tmp_path / "three.jpg"
    path.write_bytes(jpeg_with_exif(block))
    md = read_metadata(path)
    assert md.ok, md.error
    assert md.exif == {"IFD0": {"Make": "ThreeCam"}, "IFD1": {"Compression": 6},
                       "IFD2": {"Compression": 1}}


def test_png_text_chunks_and_webp_exif(tmp_path: Path):
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "made by a test")
    info.add_itxt("Description", "Überschrift")
    png = tmp_path / "t.png"
    Image.new("RGB", (8, 8)).save(png, pnginfo=info)
    md = read_metadata(png)
    assert md.ok and md.image["text"] == {"Comment": "made by a test",
                                          "Description": "Überschrift"}
    exif = Image.Exif()
    exif[0x0110] = "WebCam 1"
    exif.get_ifd(0x8769)[0x9003] = "2023:01:02 03:04:05"
    webp = tmp_path / "t.webp"
    Image.new("RGB", (8, 8)).save(webp, exif=exif.tobytes())
    md = read_metadata(webp)
    assert (md.format, md.summary.model, md.summary.captured_at) == (
        "WEBP", "WebCam 1", "2023-01-02T03:04:05")


def test_png_exif_and_text_after_the_pixel_data_are_found(tmp_path: Path):
    buf = io.BytesIO()
    Image.new("L", (4, 4), 7).save(buf, "PNG")
    data = buf.getvalue()
    iend = data.rindex(b"IEND") - 4
    text = b"LateCam\x00"
    exif = tiff_block([make_ifd_entry(text, 26)], extra=text)
    late = png_chunk(b"eXIf", exif) + png_chunk(b"tEXt", b"Source\x00late chunk")
    path = tmp_path / "late.png"
    path.write_bytes(data[:iend] + late + data[iend:])
    md = read_metadata(path)
    assert md.ok, md.error
    assert md.summary.make == "LateCam"
    assert md.image["text"] == {"Source": "late chunk"}


def test_imagemagick_raw_profile_exif_in_png_is_read(tmp_path: Path):
    from PIL import PngImagePlugin

    text = b"MagickCam\x00"
    block = (b"Exif\x00\x00" + tiff_block([make_ifd_entry(text, 26)], extra=text)).hex()
    info = PngImagePlugin.PngInfo()
    info.add_text("Raw profile type exif", f"\nexif\n{len(block) // 2:8d}\n" + "\n".join(
        block[i:i + 72] for i in range(0, len(block), 72)) + "\n", zip=True)
    path = tmp_path / "magick.png"
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    assert read_metadata(path).summary.make == "MagickCam"


def test_deeply_nested_xmp_is_a_warning_not_a_crash(tmp_path: Path):
    depth = 5000
    xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf='
           b'"http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:a="urn:a">'
           + b"<a:n>" * depth + b"deep" + b"</a:n>" * depth
           + b"</rdf:Description></rdf:RDF></x:xmpmeta>")
    md = read_metadata(_save_jpeg(tmp_path / "deep.jpg", Image.Exif(), xmp))
    assert md.ok and md.xmp == {}
    assert any("nested too deeply" in w for w in md.warnings)


def test_xmp_history_gives_software_history(tmp_path: Path):
    xmp = b"""<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
      xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description
      xmlns:mm="http://ns.adobe.com/xap/1.0/mm/"
      xmlns:evt="http://ns.adobe.com/xap/1.0/sType/ResourceEvent#"
      xmlns:ps="http://ns.adobe.com/photoshop/1.0/"
      ps:DateCreated="2024-04-18T06:00:00Z"><mm:History><rdf:Seq>
      <rdf:li evt:action="created" evt:softwareAgent="Camera FW 1.0"/>
      <rdf:li rdf:parseType="Resource"><evt:action>saved</evt:action>
        <evt:softwareAgent>Adobe Photoshop 25.0</evt:softwareAgent></rdf:li>
      <rdf:li evt:action="saved" evt:softwareAgent="Adobe Photoshop 25.0"/>
    </rdf:Seq></mm:History><mm:DerivedFrom><rdf:Description xmlns:ref=
      "http://ns.adobe.com/xap/1.0/sType/ResourceRef#" ref:documentID="doc-1"/>
    </mm:DerivedFrom></rdf:Description></rdf:RDF></x:xmpmeta>"""
    md = read_metadata(_save_jpeg(tmp_path / "edited.jpg", Image.Exif(), xmp))
    assert md.summary.software_history == ["Camera FW 1.0", "Adobe Photoshop 25.0"]
    assert md.xmp["xmpMM:DerivedFrom"] == {"stRef:documentID": "doc-1"}
    assert "stRef:documentID" not in md.xmp  # a structure's field is not a top-level property
    # the file's own prefixes (mm, ps) come out canonical (xmpMM, photoshop); Z -> +00:00
    assert (md.summary.captured_at, md.summary.captured_at_source) == (
        "2024-04-18T06:00:00+00:00", "XMP:DateCreated")


def test_xmp_with_undeclared_prefixes_is_repaired(tmp_path: Path):
    xmp = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
           b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           b'<rdf:Description xmp:CreatorTool="HandEdit 1.0" Mi:Thing="x">'
           b'<xmp:CreateDate>2019-05-06T07:08:09</xmp:CreateDate></rdf:Description>'
           b'</rdf:RDF></x:xmpmeta><?xpacket end="w"?>')
    md = read_metadata(_save_jpeg(tmp_path / "sloppy.jpg", Image.Exif(), xmp))
    assert md.xmp["xmp:CreatorTool"] == "HandEdit 1.0" and md.xmp["Mi:Thing"] == "x"
    assert (md.summary.software, md.summary.captured_at) == ("HandEdit 1.0",
                                                             "2019-05-06T07:08:09")
    assert any("undeclared namespace prefixes (Mi, xmp)" in w for w in md.warnings)


def test_billion_laughs_xmp_is_refused_quickly(tmp_path: Path):
    lol = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">
      <!ENTITY a "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
      <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
      <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
      <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;"><!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">]>
      <x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
      xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description
      xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="&g;"/>
      </rdf:RDF></x:xmpmeta>"""
    start = time.process_time()
    md = read_metadata(_save_jpeg(tmp_path / "lol.jpg", Image.Exif(), lol))
    assert time.process_time() - start < 5  # no expansion happened (10^7 'lol's otherwise)
    assert md.ok and md.xmp == {}
    assert any("DOCTYPE" in w for w in md.warnings)


def test_terminal_escapes_in_tags_are_neutralised(tmp_path: Path):
    exif = Image.Exif()
    exif[0x010F] = "Evil\x1b[2J\x1b]0;owned\x07Cam"
    md = read_metadata(_save_jpeg(tmp_path / "evil.jpg", exif))
    text = render_text(md, show_all=True)
    assert "\x1b" not in text and "\x07" not in text
    assert "Evil\\x1b[2J" in text


@pytest.mark.parametrize("text,want", [
    ("2008:05:30 15:56:01", "2008-05-30T15:56:01"),
    ("2008:05:30 15:56:01\x00", "2008-05-30T15:56:01"),
    ("2010-04-13T09:37:22+02:00", "2010-04-13T09:37:22+02:00"),
    ("2011-09-23T12:43:03Z", "2011-09-23T12:43:03+00:00"),
    ("2005-09-07", "2005-09-07"),
    ("0000:00:00 00:00:00", None), ("    :  :     :  :  ", None), ("2008:13:01 00:00:00", None),
    ("", None), (None, None)])
def test_iso_datetime_accepts_real_dates_only(text, want):
    assert iso_datetime(text.split("\x00")[0] if text else text) == want


# ------------------------------------------------------------------ video
@pytest.mark.parametrize("fmt", ["mp4", "mov"])
def test_video_container_metadata(phone_videos: dict[str, Path], fmt: str):
    md = read_metadata(phone_videos[fmt])
    assert md.ok, md.error
    v = md.video
    assert (md.kind, md.width, md.height) == ("video", 64, 48)
    assert (v["fps"], v["frames"], v["codec"], v["rotation"]) == (10.0, 10, "mpeg4", 90)
    assert v["duration"] == pytest.approx(1.0, abs=0.05)
    assert v["location"] == {"lat": 48.8577, "lon": 2.295, "alt": 35.0}
    assert v["encoder"].startswith("Lavf")
    s = md.summary
    assert (s.gps.lat, s.gps.lon, s.gps.alt) == (48.8577, 2.295, 35.0)
    assert s.captured_at.startswith("2024-04-18T10:20:30") and s.captured_at.endswith("+00:00")


def test_matroska_frame_count_is_estimated_and_says_so(tmp_path: Path):
    import av
    import numpy as np

    path = tmp_path / "clip.mkv"
    with av.open(str(path), "w", format="matroska") as c:
        s = c.add_stream("mpeg4", rate=25)
        s.width, s.height, s.pix_fmt = 32, 32, "yuv420p"
        for i in range(50):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), i, np.uint8), "rgb24")
            for pkt in s.encode(frame):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    md = read_metadata(path)
    assert md.ok, md.error
    assert (md.format, md.video["fps"], md.video["frames"]) == ("MKV", 25.0, 50)
    assert md.video["frames_estimated"] is True


def test_apple_video_tags_win_over_generic_ones(phone_videos: dict[str, Path]):
    md = read_metadata(phone_videos["apple"])
    s = md.summary
    assert (s.captured_at, s.captured_at_source) == ("2024-04-18T13:20:30+03:00",
                                                     "QuickTime:CreationDate")
    assert (s.make, s.model, s.software) == ("Apple", "iPhone 15", "17.4")
    assert (s.gps.lat, s.gps.lon, s.gps.alt) == (37.2242, 67.2783, 350.0)
    assert md.video["creation_time"].startswith("2024-04-18T10:20:30")


def test_truncated_video_is_an_error_not_a_crash(phone_videos: dict[str, Path], tmp_path: Path):
    data = phone_videos["mp4"].read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    md = read_metadata(cut)
    assert not md.ok and md.error.code == "truncated"
    assert str(cut) in md.error.message


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("fixture,code", [
    ("truncated_jpeg", "truncated"), ("loop_exif_jpeg", "corrupt_metadata"),
    ("out_of_range_exif_jpeg", "corrupt_metadata"), ("bomb_png", "too_large"),
    ("bomb_jpeg", "too_large"), ("truncated_heic", "truncated"),
    ("unreadable_file", "unreadable")])
def test_bad_file_gives_error_code_and_one_line(request, fixture: str, code: str):
    path = request.getfixturevalue(fixture)
    md = read_metadata(path)
    assert not md.ok
    assert md.error.code == code
    assert str(path) in md.error.message and "\n" not in md.error.message


def test_bad_files_keep_the_metadata_that_could_be_read(loop_exif_jpeg: Path,
                                                         truncated_jpeg: Path, bomb_jpeg: Path):
    assert read_metadata(loop_exif_jpeg).summary.make == "LoopCam"
    md = read_metadata(truncated_jpeg)  # the EXIF is intact, the pixels are not
    assert md.summary.model == "COOLPIX P6000" and md.width == 640
    md = read_metadata(bomb_jpeg)  # refused before decoding; headers still read
    assert (md.error.code, md.width, md.summary.model) == ("too_large", 60000, "COOLPIX P6000")
    assert md.summary.gps is not None


def test_zero_byte_text_and_directory_as_file(tmp_path: Path):
    empty, text = tmp_path / "empty.jpg", tmp_path / "text.jpg"
    empty.write_bytes(b"")
    text.write_text("<html>not a photo</html>")
    (tmp_path / "dir.jpg").mkdir()
    assert read_metadata(empty).error.code == "empty"
    assert read_metadata(text).error.code == "not_media"
    assert read_metadata(tmp_path / "dir.jpg").error.code == "unreadable"
    assert read_metadata(tmp_path / "missing.jpg").error.code == "not_found"


def test_fifo_named_like_a_photo_does_not_hang(tmp_path: Path):
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    md = read_metadata(fifo)
    assert (md.ok, md.error.code) == (False, "unreadable")


def test_batch_with_bad_files_reports_each_and_keeps_going(runner, bad_dir: Path):
    result = runner.invoke(cli, ["meta", "--json", str(bad_dir)])
    assert result.exit_code == 1
    rows = {Path(r["path"]).name: r for r in map(json.loads, result.stdout.splitlines())}
    codes = {name: (r["error"] or {}).get("code") for name, r in rows.items()}
    assert codes == {
        "a_good.jpg": None, "b_empty.jpg": "empty", "c_text.jpg": "not_media",
        "d_truncated.jpg": "truncated", "e_loop_exif.jpg": "corrupt_metadata",
        "f_bomb.png": "too_large", "g_unreadable.jpg": "unreadable", "loop": "symlink_loop",
        "z_good.jpg": None}
    assert rows["z_good.jpg"]["summary"]["gps"]["lat"] == pytest.approx(43.46745, abs=1e-5)
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 7
    for name in ("b_empty.jpg", "d_truncated.jpg", "f_bomb.png", "g_unreadable.jpg"):
        assert sum(name in ln for ln in errors) == 1
    assert "notes.txt: skipped" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_parallel_workers_give_the_same_lines_in_the_same_order(runner, bad_dir: Path):
    one = runner.invoke(cli, ["meta", "--json", str(bad_dir)])
    two = runner.invoke(cli, ["meta", "--json", "-j", "2", str(bad_dir)])
    assert two.exit_code == one.exit_code == 1
    assert two.stdout == one.stdout


def test_human_output_key_fields_first_and_all_tags(runner, real_jpeg: Path):
    result = runner.invoke(cli, ["meta", str(real_jpeg)])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == str(real_jpeg)
    assert lines[3].split() == ["captured", "2008-10-22T16:28:39", "(EXIF:DateTimeOriginal)"]
    assert "gps          43.4674483, 11.8851267" in result.stdout
    assert "[GPS]" not in result.stdout
    full = runner.invoke(cli, ["meta", "--all", str(real_jpeg)]).stdout
    assert "[GPS]" in full and "GPSMapDatum" in full


def _bad_lzw_tiff(path: Path) -> Path:
    import numpy as np

    pixels = np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, compression="tiff_lzw")
    data = bytearray(path.read_bytes())
    for i in range(200, 3000, 7):  # garble the LZW strip: libtiff complains on fd 2
        data[i] = 0xFF
    path.write_bytes(bytes(data))
    return path


def test_python_m_osintkit_meta_subprocess(real_jpeg: Path, tmp_path: Path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 truncated right here")
    tiff = _bad_lzw_tiff(tmp_path / "garbled.tiff")
    proc = subprocess.run([sys.executable, "-m", "osintkit", "meta", "--json", str(real_jpeg),
                           str(bad), str(tiff)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    good, failed, garbled = (json.loads(ln) for ln in proc.stdout.splitlines())
    assert good["ok"] and good["summary"]["make"] == "NIKON"
    assert not failed["ok"] and failed["error"]["code"] in ("corrupt", "truncated")
    assert garbled["error"]["code"] == "corrupt"
    assert any(w.startswith("libtiff:") for w in garbled["warnings"])
    # exactly one line per bad file on stderr: libtiff's own complaints are caught too
    lines = proc.stderr.splitlines()
    assert len(lines) == 2 and str(bad) in lines[0] and str(tiff) in lines[1]
    assert all(ln.startswith("Error: ") for ln in lines)


def test_exif_thumbnail_of_hostile_file_is_none(loop_exif_jpeg: Path, bomb_png: Path):
    assert exif_thumbnail(loop_exif_jpeg) is None
    assert exif_thumbnail(bomb_png) is None



def test_mutated_files_never_crash_the_reader(corpus_dir: Path, phone_videos: dict[str, Path],
                                              tmp_path: Path):
    """A fixed-seed fuzz: bytes flipped in headers and metadata of real files."""
    import random

    rng = random.Random(20260418)
    sources = [corpus_dir / "jpg/Canon_40D.jpg", corpus_dir / "tiff/Arbitro.tiff",
               corpus_dir / "jpg/xmp/BlueSquare.jpg", phone_videos["apple"]]
    codes = set()
    for i in range(80):
        src = sources[i % len(sources)]
        data = bytearray(src.read_bytes())
        for _ in range(rng.randint(1, 12)):
            data[rng.randrange(min(len(data), 4096))] = rng.randrange(256)
        path = tmp_path / f"m{i}{src.suffix}"
        path.write_bytes(bytes(data))
        md = read_metadata(path)
        json.dumps(md.to_dict(), allow_nan=False)
        render_text(md, show_all=True)
        if md.error:
            assert md.error.code != "internal", md.error.message
            assert "\n" not in md.error.message and str(path) in md.error.message
            codes.add(md.error.code)
    assert codes  # some mutations must have been caught as damage
