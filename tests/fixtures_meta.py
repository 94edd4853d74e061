"""Fixtures for the metadata stage: hostile and hand-built files, made fresh in each session.

Every generator writes real bytes a camera or an attacker could produce; nothing is mocked.
Also a terminal-summary hook that prints the ExifTool agreement table (even without -s).
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import pytest

CORPUS_JPEG = "jpg/gps/DSCN0010.jpg"
AGREEMENT: dict[str, str] = {}  # filled by tests/test_meta.py, printed at the end


def pytest_terminal_summary(terminalreporter) -> None:  # pytest hook: name and arg fixed
    """Print the per-field agreement with ExifTool, whatever the capture setting."""
    if AGREEMENT.get("table"):
        terminalreporter.write_sep("-", "meta: agreement with ExifTool on the corpus")
        terminalreporter.write_line(AGREEMENT["table"])


# ------------------------------------------------------------------ byte builders
def tiff_block(entries: list[tuple[int, int, int, bytes]], next_ifd: int = 0,
               extra: bytes = b"") -> bytes:
    """A little-endian TIFF/EXIF block: one IFD at offset 8, then `extra` data at its end.

    entries: (tag, type, count, 4-byte value-or-offset field).
    """
    ifd = struct.pack("<H", len(entries))
    for tag, typ, count, value in entries:
        ifd += struct.pack("<HHI", tag, typ, count) + value.ljust(4, b"\x00")
    ifd += struct.pack("<I", next_ifd)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + extra


def make_ifd_entry(text: bytes, data_offset: int) -> tuple[int, int, int, bytes]:
    """IFD0 Make as an ASCII entry whose text lives at `data_offset`."""
    return (0x010F, 2, len(text), struct.pack("<I", data_offset))


def jpeg_with_exif(block: bytes, size: tuple[int, int] = (32, 24)) -> bytes:
    """A small valid JPEG carrying `block` as its EXIF APP1 segment."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, (90, 120, 200)).save(buf, "JPEG", exif=b"Exif\x00\x00" + block)
    return buf.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels (1-bit grey)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat)
            + png_chunk(b"IEND", b""))


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="session")
def real_jpeg(corpus_dir: Path) -> Path:
    """A real camera JPEG with EXIF, GPS and a thumbnail."""
    return corpus_dir / CORPUS_JPEG


@pytest.fixture
def loop_exif_jpeg(tmp_path: Path) -> Path:
    """IFD0 -> IFD1 -> IFD0 ...: an IFD chain that loops forever."""
    text = b"LoopCam\x00"
    # IFD0 at 8 (1 entry: 2+12+4 = 18 bytes) -> IFD1 at 26 (1 entry) -> back to IFD0 at 8.
    ifd1 = struct.pack("<H", 1) + struct.pack("<HHI", 0x0112, 3, 1) + struct.pack("<HH", 1, 0) \
        + struct.pack("<I", 8)
    data_off = 26 + len(ifd1)
    block = tiff_block([make_ifd_entry(text, data_off)], next_ifd=26, extra=ifd1 + text)
    path = tmp_path / "loop.jpg"
    path.write_bytes(jpeg_with_exif(block))
    return path


@pytest.fixture
def out_of_range_exif_jpeg(tmp_path: Path) -> Path:
    """ExifOffset and GPSInfo pointing far outside the EXIF block."""
    text = b"FarCam\x00"
    entries = [make_ifd_entry(text, 8 + 2 + 3 * 12 + 4),
               (0x8769, 4, 1, struct.pack("<I", 0x7FFFFFF0)),
               (0x8825, 4, 1, struct.pack("<I", 0x00FFFFFF))]
    path = tmp_path / "far.jpg"
    path.write_bytes(jpeg_with_exif(tiff_block(entries, extra=text)))
    return path


@pytest.fixture
def truncated_jpeg(tmp_path: Path, real_jpeg: Path) -> Path:
    """A real photo cut at 60%: headers and EXIF intact, scan data missing."""
    data = real_jpeg.read_bytes()
    path = tmp_path / "truncated.jpg"
    path.write_bytes(data[: len(data) * 6 // 10])
    return path


@pytest.fixture
def bomb_png(tmp_path: Path) -> Path:
    """Claims 40000 x 40000 pixels (1.6 Gpx) in a few hundred bytes."""
    path = tmp_path / "bomb.png"
    path.write_bytes(png_bomb(40000, 40000))
    return path


@pytest.fixture
def bomb_jpeg(tmp_path: Path, real_jpeg: Path) -> Path:
    """A real photo whose frame header (SOF0) claims 60000 x 60000 pixels."""
    data = bytearray(real_jpeg.read_bytes())
    sof = data.rfind(b"\xff\xc0\x00\x11")  # the last SOF0: the main image, not the thumbnail
    data[sof + 5:sof + 9] = struct.pack(">HH", 60000, 60000)
    path = tmp_path / "bomb.jpg"
    path.write_bytes(bytes(data))
    return path


@pytest.fixture
def truncated_heic(tmp_path: Path, corpus_dir: Path) -> Path:
    """A real iPhone HEIC cut at 60% (libheif would still decode it, grey tiles and all)."""
    data = (corpus_dir / "heic/IMG_5195.HEIC").read_bytes()
    path = tmp_path / "cut.heic"
    path.write_bytes(data[: len(data) * 6 // 10])
    return path


@pytest.fixture
def unreadable_file(tmp_path: Path) -> Path:
    """A path whose read fails with EIO, even for root (chmod 000 does not stop root)."""
    path = tmp_path / "unreadable.jpg"
    os.symlink("/proc/self/mem", path)  # reading offset 0 of a process's memory: EIO
    return path


@pytest.fixture
def bad_dir(tmp_path: Path, real_jpeg: Path, truncated_jpeg: Path, loop_exif_jpeg: Path,
            bomb_png: Path) -> Path:
    """A directory mixing good files with every kind of bad one, plus a symlink loop."""
    d = tmp_path / "batch"
    d.mkdir()
    (d / "a_good.jpg").write_bytes(real_jpeg.read_bytes())
    (d / "b_empty.jpg").write_bytes(b"")
    (d / "c_text.jpg").write_text("this is not a picture\n")
    (d / "d_truncated.jpg").write_bytes(truncated_jpeg.read_bytes())
    (d / "e_loop_exif.jpg").write_bytes(loop_exif_jpeg.read_bytes())
    (d / "f_bomb.png").write_bytes(bomb_png.read_bytes())
    os.symlink("/proc/self/mem", d / "g_unreadable.jpg")
    (d / "notes.txt").write_text("analyst notes, not media\n")
    sub = d / "sub"
    sub.mkdir()
    (sub / "z_good.jpg").write_bytes(real_jpeg.read_bytes())
    os.symlink(d, sub / "loop")  # a directory symlink back up the tree
    return d


@pytest.fixture(scope="session")
def phone_videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Small MP4 and MOV files with the tags phones write: rotation, location, date."""
    import av
    import numpy as np

    out = {}
    d = tmp_path_factory.mktemp("videos")
    apple = {"com.apple.quicktime.creationdate": "2024-04-18T13:20:30+0300",
             "com.apple.quicktime.location.ISO6709": "+37.2242+067.2783+350.000/",
             "com.apple.quicktime.make": "Apple", "com.apple.quicktime.model": "iPhone 15",
             "com.apple.quicktime.software": "17.4"}
    for name, fmt in (("mp4", "mp4"), ("mov", "mov"), ("apple", "mov")):
        path = d / f"phone_{name}.{fmt}"
        opts = {"movflags": "use_metadata_tags"} if name == "apple" else {}
        with av.open(str(path), "w", format=fmt, options=opts) as c:
            c.metadata["location"] = "+48.8577+002.2950+035.000/"
            c.metadata["creation_time"] = "2024-04-18T10:20:30.000000Z"
            if name == "apple":
                c.metadata.update(apple)
            s = c.add_stream("mpeg4", rate=10)
            s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
            s.set_display_rotation(-90)  # PyAV: counter-clockwise; -90 = phone's "rotate 90"
            for i in range(10):
                frame = av.VideoFrame.from_ndarray(
                    np.full((48, 64, 3), i * 20, np.uint8), format="rgb24")
                for pkt in s.encode(frame):
                    c.mux(pkt)
            for pkt in s.encode():
                c.mux(pkt)
        out[name] = path
    return out
