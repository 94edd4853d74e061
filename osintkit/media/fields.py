"""Media stage, metadata: the summary fields and their fallback chains.

captured_at: EXIF DateTimeOriginal (+SubSecTimeOriginal, +OffsetTimeOriginal), then EXIF
CreateDate, XMP exif:DateTimeOriginal, XMP xmp:CreateDate, XMP photoshop:DateCreated,
IPTC DateCreated/TimeCreated, Canon CIFF; videos: the container's creation_time.
ISO 8601, with a UTC offset only when the file records one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from osintkit.media.exif import ExifData, clean_text
from osintkit.media.iptc import iptc_datetime
from osintkit.media.xmp import software_agents


@dataclass
class GPS:
    """A position in signed decimal degrees; altitude in metres (None when not recorded)."""

    lat: float
    lon: float
    alt: float | None = None
    time: str | None = None  # the GPS clock (UTC): independent of the camera's own clock
    direction: float | None = None  # GPSImgDirection, degrees (true or magnetic north)


@dataclass
class Summary:
    """The fields a verifier reads first, taken from the best source available."""

    captured_at: str | None = None
    captured_at_source: str | None = None
    modified_at: str | None = None
    make: str | None = None
    model: str | None = None
    lens: str | None = None
    software: str | None = None
    artist: str | None = None
    orientation: int | None = None
    gps: GPS | None = None
    software_history: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ dates
_DT = re.compile(
    r"^\s*(\d{4})[:\-/.](\d{1,2})[:\-/.](\d{1,2})"
    r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:[.,](\d+))?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?\s*$")
_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})$")


def _offset(text: str | None) -> str | None:
    m = _OFFSET.match((text or "").strip())
    if not m or int(m.group(2)) > 14 or int(m.group(3)) > 59:
        return None
    return f"{m.group(1)}{m.group(2)}:{m.group(3)}"


def iso_datetime(text: Any, subsec: Any = None, offset: Any = None) -> str | None:
    """EXIF/XMP/ISO date text -> ISO 8601 ('YYYY-MM-DDTHH:MM:SS[.fff][±HH:MM]'); None if bad."""
    if not isinstance(text, str):
        return None
    m = _DT.match(text)
    if not m:
        return None
    y, mo, d, hh, mm, ss, frac, tz = m.groups()
    try:
        datetime(int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0))
    except ValueError:  # 0000:00:00, month 13, ...
        return None
    out = f"{y}-{int(mo):02d}-{int(d):02d}"
    if hh is None:
        return out
    out += f"T{int(hh):02d}:{mm}:{ss or '00'}"
    sub = frac or "".join(ch for ch in str(subsec or "") if ch.isdigit())
    if sub:
        out += "." + sub
    zone = "+00:00" if tz == "Z" else _offset(tz) or _offset(offset)
    return out + (zone or "")


def _exif_date(exif: ExifData, name: str, subsec: str, off: str) -> str | None:
    return iso_datetime(exif.text(name), exif.text(subsec), exif.text(off))


def _captured(exif: ExifData, xmp: dict[str, Any], iptc: dict[str, Any],
              extra: dict[str, Any]) -> tuple[str | None, str | None]:
    candidates: list[tuple[str, Callable[[], str | None]]] = [
        ("EXIF:DateTimeOriginal", lambda: _exif_date(
            exif, "EXIF DateTimeOriginal", "EXIF SubSecTimeOriginal", "EXIF OffsetTimeOriginal")),
        ("EXIF:CreateDate", lambda: _exif_date(
            exif, "EXIF DateTimeDigitized", "EXIF SubSecTimeDigitized",
            "EXIF OffsetTimeDigitized")),
        ("XMP:DateTimeOriginal", lambda: iso_datetime(xmp.get("exif:DateTimeOriginal"))),
        ("XMP:CreateDate", lambda: iso_datetime(xmp.get("xmp:CreateDate"))),
        ("XMP:DateCreated", lambda: iso_datetime(xmp.get("photoshop:DateCreated"))),
        ("IPTC:DateCreated", lambda: iptc_datetime(iptc)),
        ("CIFF:CapturedTime", lambda: _unix_naive(extra.get("captured_unix"))),
    ]
    for source, get in candidates:
        value = get()
        if value:
            return value, source
    return None, None


def _unix_naive(seconds: Any) -> str | None:
    if not isinstance(seconds, int) or seconds <= 0:
        return None
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _modified(exif: ExifData, xmp: dict[str, Any]) -> str | None:
    return (_exif_date(exif, "Image DateTime", "EXIF SubSecTime", "EXIF OffsetTime")
            or iso_datetime(xmp.get("xmp:ModifyDate")))


# ------------------------------------------------------------------ GPS
def _ratio_list(values: Any) -> list[float] | None:
    if not isinstance(values, list) or not values:
        return None
    out = []
    for v in values[:3]:
        if isinstance(v, Fraction):
            if v.denominator == 0:  # 0/0: the camera wrote an empty fix
                return None
            out.append(float(v))
        elif isinstance(v, int | float):
            out.append(float(v))
        else:
            return None
    return out


def _dms(values: Any, ref: str | None, negative: str) -> float | None:
    parts = _ratio_list(values)
    if parts is None:
        return None
    deg = sum(p / 60 ** i for i, p in enumerate(parts))
    if ref and ref.strip().upper().startswith(negative):
        deg = -abs(deg)
    return deg if math.isfinite(deg) else None


_XMP_GPS = re.compile(r"^\s*(\d+(?:\.\d+)?),(\d+(?:\.\d+)?)(?:,(\d+(?:\.\d+)?))?\s*([NSEW])\s*$")


def _xmp_coord(text: Any) -> float | None:
    """XMP's 'DDD,MM.mmmR' or 'DDD,MM,SSR' -> signed degrees."""
    m = _XMP_GPS.match(text) if isinstance(text, str) else None
    if not m:
        return None
    deg = float(m.group(1)) + float(m.group(2)) / 60 + float(m.group(3) or 0) / 3600
    return -deg if m.group(4) in "SW" else deg


def _altitude(exif: ExifData) -> float | None:
    alt = exif.number("GPS GPSAltitude")
    if alt is None or not math.isfinite(alt):
        return None
    ref = exif.get("GPS GPSAltitudeRef")
    if isinstance(ref, list) and ref and ref[0] == 1:
        alt = -alt
    return float(alt)


def gps_of(exif: ExifData, xmp: dict[str, Any], notes: list[str]) -> GPS | None:
    """GPS from EXIF (else XMP); None when absent, invalid (0/0) or exactly 0,0."""
    lat = _dms(exif.get("GPS GPSLatitude"), exif.text("GPS GPSLatitudeRef"), "S")
    lon = _dms(exif.get("GPS GPSLongitude"), exif.text("GPS GPSLongitudeRef"), "W")
    alt = _altitude(exif)
    if lat is None or lon is None:
        lat, lon = _xmp_coord(xmp.get("exif:GPSLatitude")), _xmp_coord(xmp.get("exif:GPSLongitude"))
        alt = None
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    if lat == 0 and lon == 0:
        notes.append("GPS position is exactly 0,0 (an empty fix), ignored")
        return None
    return GPS(round(lat, 8), round(lon, 8), None if alt is None else round(alt, 3),
               _gps_time(exif), _round(exif.number("GPS GPSImgDirection"), 2))


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _gps_time(exif: ExifData) -> str | None:
    """GPSDateStamp + GPSTimeStamp as ISO 8601 UTC; None unless both are valid."""
    hms = _ratio_list(exif.get("GPS GPSTimeStamp"))
    date = iso_datetime(exif.text("GPS GPSDate"))
    if not hms or len(hms) != 3 or not date or "T" in date:
        return None
    h, m, sec = hms
    if not (0 <= h < 24 and 0 <= m < 60 and 0 <= sec < 61) or h % 1 or m % 1:
        return None
    whole, frac = int(sec), f"{sec % 1:.3f}"[1:].rstrip("0").rstrip(".")
    return f"{date}T{int(h):02d}:{int(m):02d}:{whole:02d}{frac}+00:00"


# ------------------------------------------------------------------ the rest
def _first_text(*values: Any) -> str | None:
    for v in values:
        if isinstance(v, list):
            v = "; ".join(str(x).strip() for x in v if isinstance(x, str) and x.strip())
        text = clean_text(v) if v is not None else None
        if text:
            return text
    return None


def _orientation(exif: ExifData, xmp: dict[str, Any]) -> int | None:
    for v in (exif.number("Image Orientation"), xmp.get("tiff:Orientation")):
        try:
            o = int(v) if v is not None else None
        except (TypeError, ValueError):
            o = None
        if o is not None and 1 <= o <= 8:
            return o
    return None


def build_summary(exif: ExifData, xmp: dict[str, Any], iptc: dict[str, Any],
                  extra: dict[str, Any], notes: list[str] | None = None) -> Summary:
    """The Summary of an image from its parsed EXIF, XMP, IPTC (and CIFF `extra`)."""
    captured, source = _captured(exif, xmp, iptc, extra)
    return Summary(
        captured_at=captured, captured_at_source=source,
        modified_at=_modified(exif, xmp),
        make=_first_text(exif.text("Image Make"), extra.get("make"), xmp.get("tiff:Make")),
        model=_first_text(exif.text("Image Model"), extra.get("model"), xmp.get("tiff:Model")),
        lens=_first_text(exif.text("EXIF LensModel"), xmp.get("exifEX:LensModel"),
                         xmp.get("aux:Lens")),
        software=_first_text(exif.text("Image Software"), xmp.get("xmp:CreatorTool")),
        artist=_first_text(exif.text("Image Artist"), xmp.get("dc:creator"),
                           iptc.get("by-line")),
        orientation=_orientation(exif, xmp),
        gps=gps_of(exif, xmp, notes if notes is not None else []),
        software_history=software_agents(xmp),
    )


def video_summary(video: dict[str, Any]) -> Summary:
    """The Summary of a video from its container metadata."""
    loc = video.get("location")
    created, source = iso_datetime(video.get("creation_date")), "QuickTime:CreationDate"
    if not created:
        created, source = iso_datetime(video.get("creation_time")), "QuickTime:CreateDate"
    return Summary(
        captured_at=created, captured_at_source=source if created else None,
        make=video.get("make"), model=video.get("model"),
        software=video.get("software") or video.get("encoder"),
        gps=GPS(loc["lat"], loc["lon"], loc.get("alt")) if loc else None,
    )
