"""Media sniffing by magic bytes and input expansion (osintkit/media/probe.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from osintkit.errors import MediaError
from osintkit.media.probe import iter_inputs, sniff, sniff_bytes


@pytest.mark.parametrize("head,kind,fmt", [
    (b"\xff\xd8\xff\xe1\x00\x10Exif", "image", "JPEG"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image", "PNG"),
    (b"GIF89a\x01\x00\x01\x00", "image", "GIF"),
    (b"II*\x00\x08\x00\x00\x00", "image", "TIFF"),
    (b"MM\x00*\x00\x00\x00\x08", "image", "TIFF"),
    (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image", "WEBP"),
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "image", "HEIF"),
    (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00", "image", "AVIF"),
    (b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00", "video", "MOV"),
    (b"\x00\x00\x00\x18ftyp3gp4\x00\x00\x00\x00", "video", "3GP"),
    (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00", "video", "MP4"),
    (b"RIFF\x10\x00\x00\x00AVI LIST", "video", "AVI"),
    (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01webm", "video", "WEBM"),
    (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01matroska", "video", "MKV"),
    (b"FLV\x01\x05\x00\x00\x00\x09", "video", "FLV"),
])
def test_magic_bytes_name_the_format(head: bytes, kind: str, fmt: str):
    probe = sniff_bytes(head)
    assert probe is not None and (probe.kind, probe.format) == (kind, fmt)


@pytest.mark.parametrize("head", [b"", b"<html><body>", b"%PDF-1.7", b"PK\x03\x04",
                                  b"RIFF\x10\x00\x00\x00WAVEfmt "])
def test_other_bytes_are_not_media(head: bytes):
    assert sniff_bytes(head) is None


@pytest.mark.parametrize("fmt,suffix", [("JPEG", ".png"), ("PNG", ".jpg"), ("GIF", ".gif"),
                                        ("WEBP", ".webp"), ("TIFF", ".tif"), ("BMP", ".bmp")])
def test_real_files_are_sniffed_by_content_not_name(tmp_path: Path, fmt: str, suffix: str):
    path = tmp_path / f"pic{suffix}"
    Image.new("RGB", (16, 16), (1, 2, 3)).save(path, fmt)
    assert sniff(path).format == fmt


def test_sniff_errors_have_codes(tmp_path: Path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "fake.jpg").write_text("hello")
    os.symlink("self.jpg", tmp_path / "self.jpg")  # a symlink to itself
    cases = {"empty.jpg": "empty", "fake.jpg": "not_media", "missing.jpg": "not_found",
             "self.jpg": "symlink_loop", ".": "unreadable"}
    for name, code in cases.items():
        with pytest.raises(MediaError) as info:
            sniff(tmp_path / name)
        assert info.value.code == code
        assert "\n" not in info.value.message


def test_inputs_expand_directories_skip_non_media_and_report_loops(tmp_path: Path):
    Image.new("RGB", (8, 8)).save(tmp_path / "b.jpg")
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    (tmp_path / "notes.txt").write_text("not media")
    (tmp_path / "fake.jpg").write_text("pretends to be a photo")
    sub = tmp_path / "sub"
    sub.mkdir()
    Image.new("RGB", (8, 8)).save(sub / "c.gif")
    os.symlink(tmp_path, sub / "up")
    skipped: list[str] = []
    items = list(iter_inputs([tmp_path, tmp_path / "nope.jpg"],
                             on_skip=lambda p, why: skipped.append(p.name)))
    got = [(i.path.name, i.error.code if i.error else None) for i in items]
    assert got == [("a.png", None), ("b.jpg", None), ("fake.jpg", "not_media"),
                   ("c.gif", None), ("up", "symlink_loop"), ("nope.jpg", "not_found")]
    assert skipped == ["notes.txt"]
