"""Hostile input, the smaller ones (issue 13): control bytes in report.md, an IFD that
points to itself, library warnings on stderr, an empty folder named like a picture,
absurd video durations, md5 on FIPS systems."""

from __future__ import annotations

import ast
import json
import struct
from pathlib import Path

import pytest
from fixtures_meta import jpeg_with_exif, make_ifd_entry, tiff_block
from PIL import Image, TiffImagePlugin

from osintkit.cli import cli
from osintkit.media.metadata import read_metadata

ROOT = Path(__file__).resolve().parent.parent
PHOTO = ROOT / "samples" / "media" / "strike_near.jpg"
VIDEO = ROOT / "samples" / "media" / "launch.mp4"
CONTROL = "\x1b[31mRED\x07\x1b]0;owned\x07"


def test_report_md_shows_control_bytes_of_claim_fields_escaped(runner, tmp_path):
    (tmp_path / "photo.jpg").write_bytes(PHOTO.read_bytes())
    claim = {"id": "esc", "title": f"title {CONTROL}", "claimant": f"agency {CONTROL}",
             "place": {"name": f"place {CONTROL}", "lat": 37.2, "lon": 67.3},
             "media": ["photo.jpg"]}
    (tmp_path / "c.json").write_text(json.dumps(claim))
    result = runner.invoke(cli, ["verify", str(tmp_path / "c.json"), "--no-archive",
                                 "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    md = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "\x1b" not in md and "\x07" not in md
    assert md.count("\\\\x1b") >= 3 and "RED" in md  # visible, not interpreted


def test_ifd_pointing_to_itself_is_corrupt_metadata_like_a_longer_loop(tmp_path):
    text = b"SelfCam\x00"
    block = tiff_block([make_ifd_entry(text, 8 + 2 + 12 + 4)], next_ifd=8, extra=text)
    path = tmp_path / "self.jpg"
    path.write_bytes(jpeg_with_exif(block))
    md = read_metadata(path)
    assert md.error is not None and md.error.code == "corrupt_metadata"
    assert "IFD loop" in md.error.message and md.summary.make == "SelfCam"


@pytest.fixture
def warning_tiff(tmp_path: Path) -> Path:
    """A TIFF whose ImageDescription claims more bytes than the file has: Pillow warns
    (UserWarning from TiffImagePlugin) each time it opens it."""
    info = TiffImagePlugin.ImageFileDirectory_v2()
    info[270] = "a description long enough to live at an offset"
    path = tmp_path / "warn.tif"
    Image.new("RGB", (64, 48), (10, 100, 200)).save(path, tiffinfo=info)
    data = bytearray(path.read_bytes())
    ifd = struct.unpack_from("<I", data, 4)[0]
    for i in range(struct.unpack_from("<H", data, ifd)[0]):
        entry = ifd + 2 + 12 * i
        if struct.unpack_from("<H", data, entry)[0] == 270:
            struct.pack_into("<I", data, entry + 4, 100_000)
    path.write_bytes(bytes(data))
    return path


def test_library_warnings_go_into_json_not_raw_onto_stderr(runner, warning_tiff, tmp_path):
    claim = tmp_path / "c.yaml"
    claim.write_text(f"id: w\nmedia: [{warning_tiff}]\n")
    for args, pick in (
            (["hash", str(warning_tiff)], lambda d: d["warnings"]),
            (["meta", str(warning_tiff)], lambda d: d["warnings"]),
            (["forensics", str(warning_tiff)], lambda d: d["warnings"]),
            (["compare", str(warning_tiff), str(warning_tiff)], lambda d: d["warnings"]),
            (["verify", str(claim), "--no-archive", "-o", str(tmp_path / "v")],
             lambda d: d["media"][0]["warnings"])):
        result = runner.invoke(cli, [*args, "--json"])
        assert "UserWarning" not in result.stderr and "Plugin.py" not in result.stderr, args
        warnings = pick(json.loads(result.stdout.splitlines()[0]))
        assert any("Tag data larger than file" in w for w in warnings), (args[0], warnings)


@pytest.mark.parametrize("command", ["hash", "meta", "forensics"])
def test_empty_directory_named_like_a_picture_is_an_error(runner, tmp_path, command):
    (tmp_path / "dir.jpg").mkdir()
    result = runner.invoke(cli, [command, str(tmp_path / "dir.jpg")])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"Error: {tmp_path / 'dir.jpg'}: a directory with no " \
                                    "media files"


def _patched_video(tmp_path: Path) -> Path:
    """The sample video with every duration field (mvhd, tkhd, mdhd) set to 0xFFFFFFFF."""
    data = bytearray(VIDEO.read_bytes())
    for box, skip in ((b"mvhd", 12), (b"mdhd", 12), (b"tkhd", 16)):
        i = data.find(box)
        while i != -1:
            assert data[i + 4] == 0  # version 0 boxes: 32-bit fields
            struct.pack_into(">I", data, i + 4 + 4 + skip, 0xFFFFFFFF)
            i = data.find(box, i + 4)
    path = tmp_path / "absurd.mp4"
    path.write_bytes(bytes(data))
    return path


def test_absurd_video_duration_never_prints_as_none(runner, tmp_path):
    path = _patched_video(tmp_path)
    result = runner.invoke(cli, ["meta", str(path)])
    assert "None" not in result.stdout, result.stdout
    video = json.loads(runner.invoke(cli, ["meta", str(path), "--json"]).stdout)["video"]
    assert video["duration"] == 6.0 and video["duration_estimated"] is True  # 60 frames, 10 fps


def test_every_md5_is_marked_not_for_security():
    """FIPS systems refuse hashlib.md5() unless usedforsecurity=False."""
    missing = []
    for path in sorted((ROOT / "osintkit").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr == "md5" and not any(
                        k.arg == "usedforsecurity" and getattr(k.value, "value", True) is False
                        for k in node.keywords):
                missing.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not missing, missing
