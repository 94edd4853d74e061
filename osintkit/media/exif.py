"""Media stage, metadata: EXIF through exifread, bounded to the EXIF block.

`read_exif_block(block)` parses one TIFF-structured EXIF block (what a JPEG APP1, a PNG
eXIf chunk, a WebP EXIF chunk or a HEIF Exif item holds; a TIFF file is one whole block).
exifread reads through a BytesIO of just that block, so a corrupt offset can never wander
into the rest of the file; every IFD is read (IFD0, IFD1, Exif, GPS, Interop, further
IFDs). Structural damage (IFD loops, offsets outside the block) is reported in `problems`.
"""

from __future__ import annotations

import io
import logging
import math
import re
import struct
import threading
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

EXIF_PREFIX = b"Exif\x00\x00"
MAX_LIST = 64  # longer numeric arrays are summarized in the raw dump

# exifread group names -> the names ExifTool users know.
GROUPS = {"Image": "IFD0", "Thumbnail": "IFD1", "EXIF": "ExifIFD", "GPS": "GPS",
          "Interoperability": "InteropIFD", "MakerNote": "MakerNotes"}

_KEY = re.compile(r"^(IFD \d+|\S+) (.+)$")  # exifread keys: "Image Make", "IFD 2 Compression"

# exifread warnings that mean the EXIF structure itself is broken (not a harmless oddity).
_STRUCTURAL = ("IFD loop", "Unexpected slice length", "offset outside", "EXIF unreadable")


class _Collector(logging.Handler):
    """Collects exifread's log warnings for the parse running in this thread."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        sink = getattr(self.local, "sink", None)
        if sink is not None:
            sink.append(record.getMessage())


_COLLECTOR = _Collector()
_LOG = logging.getLogger("exifread")
_LOG.addHandler(_COLLECTOR)  # also keeps Python's last-resort handler from printing
_LOG.propagate = False


@dataclass
class ExifData:
    """Parsed EXIF: raw tags by exifread key ("Image Make"), JSON view, thumbnail, problems."""

    tags: dict[str, Any] = field(default_factory=dict)
    thumbnail: bytes | None = None
    problems: list[str] = field(default_factory=list)

    def get(self, key: str) -> Any:
        """The values of one tag ("EXIF DateTimeOriginal"), or None."""
        tag = self.tags.get(key)
        return None if tag is None else tag.values

    def text(self, key: str) -> str | None:
        """An ASCII tag as a trimmed string ('' and padding become None)."""
        return clean_text(self.get(key))

    def number(self, key: str) -> float | None:
        """The first value of a numeric tag, as int/float; None when absent or 0/0."""
        vals = self.get(key)
        if not isinstance(vals, list) or not vals:
            return None
        return _num(vals[0])

    @property
    def structural(self) -> list[str]:
        """Problems that mean the EXIF structure is corrupt."""
        return [p for p in self.problems if p.startswith(_STRUCTURAL)]

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Tags grouped by IFD, JSON-safe values (numbers as ExifTool's -n shows them)."""
        out: dict[str, dict[str, Any]] = {}
        for key, tag in self.tags.items():
            if not hasattr(tag, "values"):
                continue
            m = _KEY.match(key)
            group, name = (m.group(1), m.group(2)) if m else ("Other", key)
            group = GROUPS.get(group, group.replace(" ", ""))  # "IFD 2" -> "IFD2"
            out.setdefault(group, {})[name] = json_value(tag)
        return out


def clean_text(value: Any) -> str | None:
    """Trim NUL padding and whitespace; empty becomes None."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, list):
        if not all(isinstance(v, int) and 0 <= v < 256 for v in value):
            return None
        value = bytes(value).decode("utf-8", "replace")
    text = str(value).split("\x00", 1)[0].strip()
    return text or None


def _num(v: Any) -> float | None:
    if isinstance(v, Fraction):
        if v.denominator == 0:
            return None
        f = float(v)
        return int(f) if f.is_integer() else f
    if isinstance(v, tuple):  # exifread wraps floats in 1-tuples
        v = v[0] if v else None
    if isinstance(v, float) and not math.isfinite(v):
        return None  # NaN/inf have no JSON form
    return v if isinstance(v, int | float) else None


def _undefined(values: list[int]) -> Any:
    raw = bytes(v & 0xFF for v in values)
    stripped = raw.strip(b" \x00")
    if len(values) == 1:
        return values[0]
    if stripped.isascii() and all(32 <= b < 127 or b in (9, 10, 13) for b in stripped):
        return stripped.decode("ascii")
    if len(raw) <= 16:
        return raw.hex()
    return f"<{len(raw)} bytes>"


def json_value(tag: Any) -> Any:
    """A JSON-safe value for one exifread IfdTag."""
    vals = tag.values
    if isinstance(vals, str | bytes):
        return clean_text(vals)
    if not isinstance(vals, list) or not vals:
        return None
    if int(tag.field_type) == 7:  # UNDEFINED
        return _undefined(vals)
    if len(vals) > MAX_LIST:
        return f"<{len(vals)} values>"
    nums = [_num(v) for v in vals]
    return nums[0] if len(nums) == 1 else nums


def read_exif_block(block: bytes) -> ExifData:
    """Parse one EXIF block (TIFF header first; a leading 'Exif\\0\\0' is skipped)."""
    import exifread

    if block.startswith(EXIF_PREFIX):
        block = block[len(EXIF_PREFIX):]
    data = ExifData()
    if len(block) < 8 or block[:4] not in (b"II*\x00", b"MM\x00*"):
        if block:
            data.problems.append("EXIF unreadable: no TIFF header in the EXIF block")
        return data
    sink: list[str] = []
    _COLLECTOR.local.sink = sink
    try:
        tags = exifread.process_file(io.BytesIO(block), details=False, extract_thumbnail=True)
    except Exception as exc:  # exifread has no error hierarchy for damaged data
        sink.append(f"EXIF unreadable: exifread failed: {type(exc).__name__}: {exc}")
        tags = {}
    finally:
        _COLLECTOR.local.sink = None
    thumb = tags.pop("JPEGThumbnail", None)
    tags.pop("TIFFThumbnail", None)
    data.tags = tags
    sink += _self_loops(block)
    data.problems = sorted(set(sink), key=sink.index)
    if isinstance(thumb, bytes) and thumb.startswith(b"\xff\xd8"):
        data.thumbnail = thumb
    _check_offsets(data, len(block))
    return data


def _self_loops(block: bytes) -> list[str]:
    """An IFD whose next-IFD pointer is itself: exifread stops there silently (it reports
    only longer loops), so it is reported here, as the same structural damage."""
    order = "<" if block[:2] == b"II" else ">"
    seen: set[int] = set()
    offset, n = struct.unpack_from(order + "I", block, 4)[0], 0
    while 8 <= offset <= len(block) - 2 and offset not in seen and n < 64:
        seen.add(offset)
        entries = struct.unpack_from(order + "H", block, offset)[0]
        pointer = offset + 2 + 12 * entries
        if pointer + 4 > len(block):
            return []
        following = struct.unpack_from(order + "I", block, pointer)[0]
        if following == offset:
            return [f"IFD loop detected: IFD{n} points to itself"]
        offset, n = following, n + 1
    return []


def _check_offsets(data: ExifData, size: int) -> None:
    """Pointers to sub-IFDs must land inside the block (exifread reads zeros otherwise)."""
    for key in ("Image ExifOffset", "Image GPSInfo", "EXIF InteroperabilityOffset"):
        vals = data.get(key)
        if isinstance(vals, list) and vals and isinstance(vals[0], int) \
                and not 8 <= vals[0] < size:
            data.problems.append(f"offset outside the EXIF block: {key.split()[1]} points to "
                                 f"{vals[0]}, the block has {size} bytes")
    off = data.get("Thumbnail JPEGInterchangeFormat")
    length = data.get("Thumbnail JPEGInterchangeFormatLength")
    if off and length and isinstance(off[0], int) and isinstance(length[0], int) \
            and off[0] + length[0] > size:
        data.problems.append("thumbnail extends past the EXIF block")
        data.thumbnail = None
