"""Media stage, metadata: IPTC-IIM (through Pillow's IptcImagePlugin) and Canon CIFF.

IPTC records come back keyed by readable names ("by-line", "city", "caption"...), strings
decoded as UTF-8 when the file says so (1:90) or when they decode cleanly, else Latin-1.
"""

from __future__ import annotations

import struct
from typing import Any

# IIM record 2 datasets that matter to a verifier (ExifTool's names, lower-cased).
DATASETS = {
    5: "object-name", 15: "category", 25: "keywords", 40: "special-instructions",
    55: "date-created", 60: "time-created", 62: "digital-creation-date",
    63: "digital-creation-time", 65: "originating-program", 70: "program-version",
    80: "by-line", 85: "by-line-title", 90: "city", 92: "sub-location",
    95: "province-state", 100: "country-code", 101: "country", 103: "transmission-reference",
    105: "headline", 110: "credit", 115: "source", 116: "copyright-notice",
    120: "caption", 122: "writer-editor",
}
REPEATABLE = {"keywords", "by-line", "by-line-title", "writer-editor"}


def _decode(raw: bytes, utf8: bool) -> str:
    if utf8:
        return raw.decode("utf-8", "replace").strip("\x00 ")
    try:
        return raw.decode("utf-8").strip("\x00 ")
    except UnicodeDecodeError:
        return raw.decode("latin-1").strip("\x00 ")


def read_iptc(im: Any) -> dict[str, Any]:
    """IPTC record 2 of an open Pillow image as {name: str | list[str]}; {} when none."""
    from PIL import IptcImagePlugin

    try:
        info = IptcImagePlugin.getiptcinfo(im) or {}
    except Exception:  # a damaged 8BIM/IPTC block: IPTC is simply unreadable
        return {}
    utf8 = info.get((1, 90), b"") in (b"\x1b%G", [b"\x1b%G"])
    out: dict[str, Any] = {}
    for (record, number), value in sorted(info.items()):
        if record != 2 or number == 0:
            continue
        name = DATASETS.get(number, f"2:{number:03d}")
        values = value if isinstance(value, list) else [value]
        texts = [_decode(v, utf8) for v in values if isinstance(v, bytes)]
        texts = [t for t in texts if t]
        if texts:
            out[name] = texts if name in REPEATABLE or len(texts) > 1 else texts[0]
    return out


def iptc_datetime(iptc: dict[str, Any]) -> str | None:
    """ISO 8601 from IPTC DateCreated (CCYYMMDD) + TimeCreated (HHMMSS±HHMM)."""
    date = iptc.get("date-created")
    if not isinstance(date, str) or len(date) != 8 or not date.isdigit() or date == "00000000":
        return None
    out = f"{date[:4]}-{date[4:6]}-{date[6:]}"
    time = iptc.get("time-created")
    if isinstance(time, str) and len(time) >= 6 and time[:6].isdigit():
        out += f"T{time[:2]}:{time[2:4]}:{time[4:6]}"
        tz = time[6:]
        if len(tz) == 5 and tz[0] in "+-" and tz[1:].isdigit():
            out += f"{tz[:3]}:{tz[3:]}"
    return out


# Canon CIFF (the "HEAPJPGM" APP0 block of old PowerShots). No maintained Python reader
# exists, and only two records matter, so this small bounded walker is hand-written.
_CIFF_MAKE_MODEL = 0x080A
_CIFF_CAPTURED = 0x180E


def _ciff_heap(data: bytes, start: int, end: int, order: str, out: dict[str, Any],
               depth: int) -> None:
    if depth > 4 or end - start < 6 or end > len(data):
        return
    table = struct.unpack_from(order + "I", data, end - 4)[0] + start
    if not start <= table < end - 2:
        return
    count = struct.unpack_from(order + "H", data, table)[0]
    for i in range(min(count, 512)):
        pos = table + 2 + 10 * i
        if pos + 10 > end:
            return
        tag, size, off = struct.unpack_from(order + "HII", data, pos)
        kind, a, b = tag & 0x3FFF, start + off, start + off + size
        if tag & 0xC000 == 0 and (tag & 0x3800) in (0x2800, 0x3000) and b <= end:
            _ciff_heap(data, a, b, order, out, depth + 1)  # a sub-heap
        elif kind == _CIFF_MAKE_MODEL and b <= end:
            parts = data[a:b].split(b"\x00")
            out["make"], out["model"] = (p.decode("latin-1").strip() for p in parts[:2])
        elif kind == _CIFF_CAPTURED and b <= end and size >= 4:
            out["captured_unix"] = struct.unpack_from(order + "I", data, a)[0]


def read_ciff(app0: bytes) -> dict[str, Any]:
    """Make/model (and capture time, seconds since 1970) from a CIFF APP0 payload."""
    if len(app0) < 14 or app0[6:14] != b"HEAPJPGM" or app0[:2] not in (b"II", b"MM"):
        return {}
    order = "<" if app0[:2] == b"II" else ">"
    header = struct.unpack_from(order + "I", app0, 2)[0]
    out: dict[str, Any] = {}
    try:
        _ciff_heap(app0, header, len(app0), order, out, 0)
    except (struct.error, ValueError):
        return out
    return out
