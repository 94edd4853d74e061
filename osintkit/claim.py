"""First stage of the flow: what is claimed. The Claim dataclass and claim files.

A claim file is YAML or JSON (fields in docs/claims.md):

    id: termez-2026-04-18             # optional; defaults to the file name
    title: Rockets fired at a post near Termez
    claimant: Example News Agency
    claimed_at: 2026-04-18            # a date (that whole day), a datetime with zone,
                                      # or a window {start: ..., end: ...}
    timezone: "+05:00"                # optional: zone for dates and naive times (else UTC)
    posted_at: 2026-04-18T16:00:00+05:00   # optional: when the claim was posted
    place: {name: Termez, lat: 37.22, lon: 67.28, radius_km: 25}
    urls: [https://example.org/post/1]
    media: [photo.jpg, video.mp4]     # local paths, relative to the claim file
    notes: free text
    analyst: J. Doe                   # optional, custody: who verifies it
    case: CASE-2026-041               # optional, custody: the case number

Command-line flags override a file or stand alone for a bare URL or file
(`apply_overrides`). Bad files raise `InputError` with a one-line message naming the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from osintkit.errors import EMPTY, NOT_FOUND, UNREADABLE, UNSUPPORTED, InputError
from osintkit.safeload import LoadError, finite, load_json, load_yaml

DEFAULT_RADIUS_KM = 25.0
CLAIM_SUFFIXES = (".yaml", ".yml", ".json")
KNOWN_KEYS = frozenset(["id", "title", "claimant", "claimed_at", "timezone", "posted_at",
                        "place", "urls", "media", "notes", "analyst", "case"])
PLACE_KEYS = frozenset(["name", "lat", "lon", "radius_km"])
MAX_CLAIM_BYTES = 1_000_000

_DATE_RE = re.compile(r"^\d{4}-?\d{2}-?\d{2}$")  # 2026-04-18 or 20260418 (basic)


@dataclass(frozen=True)
class ClaimWindow:
    """When the event is claimed to have happened: [start, end], both timezone-aware.

    `precision` is "date" (a whole day), "instant" (one moment) or "window".
    `assumed_zone` is True when a naive value was read in the default zone (UTC).
    """

    start: datetime
    end: datetime
    precision: str
    raw: str
    assumed_zone: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(),
                "precision": self.precision, "raw": self.raw,
                "assumed_zone": self.assumed_zone}


@dataclass(frozen=True)
class Place:
    """The claimed place: a point and how far from it the event may be."""

    lat: float
    lon: float
    radius_km: float = DEFAULT_RADIUS_KM
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "lat": self.lat, "lon": self.lon,
                "radius_km": self.radius_km}


@dataclass
class Claim:
    """One claim: who says what happened, when and where, and with which media."""

    id: str
    title: str | None = None
    claimant: str | None = None
    claimed_at: ClaimWindow | None = None
    posted_at: datetime | None = None
    place: Place | None = None
    urls: list[str] = field(default_factory=list)
    media: list[Path] = field(default_factory=list)
    notes: str | None = None
    source: Path | None = None  # the claim file, when there is one
    analyst: str | None = None  # custody: who verifies it (`--analyst` wins)
    case: str | None = None  # custody: the case number (`--case` wins)

    def to_dict(self) -> dict[str, Any]:
        """The claim as it appears in report.json."""
        return {
            "id": self.id, "title": self.title, "claimant": self.claimant,
            "claimed_at": self.claimed_at.to_dict() if self.claimed_at else None,
            "posted_at": self.posted_at.isoformat() if self.posted_at else None,
            "place": self.place.to_dict() if self.place else None,
            "urls": list(self.urls), "media": [str(p) for p in self.media],
            "notes": self.notes, "source": str(self.source) if self.source else None,
            "analyst": self.analyst, "case": self.case,
        }


# ---------------------------------------------------------------- parsing values
def parse_zone(value: str | None) -> tzinfo | None:
    """'+05:00', 'Z', 'UTC' or an IANA name ('Asia/Tashkent') → tzinfo; None stays None."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    if text.upper() in ("Z", "UTC"):
        return UTC
    m = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", text)
    if m:
        delta = timedelta(hours=int(m[2]), minutes=int(m[3]))
        return timezone(-delta if m[1] == "-" else delta)
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {text!r} (use +05:00 or an IANA name)") from None


def parse_datetime(value: Any, zone: tzinfo | None = None) -> tuple[datetime, bool, bool]:
    """Parse an ISO 8601 date or datetime → (aware datetime, was_date, zone_assumed).

    A YAML integer such as 20260418 is the ISO 8601 basic form of that day."""
    if isinstance(value, bool) or not isinstance(value, str | int | date | datetime):
        raise ValueError(f"not an ISO 8601 date or datetime: {value!r}")
    text = value.isoformat() if isinstance(value, date | datetime) else str(value).strip()
    try:
        if _DATE_RE.match(text):
            day = date.fromisoformat(text)
            return datetime.combine(day, time(0), zone or UTC), True, zone is None
        moment = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        raise ValueError(f"not an ISO 8601 date or datetime: {text!r} "
                         f"({date_hint(text)})") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=zone or UTC), False, zone is None
    return moment, False, False


_DMY_RE = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})$")


def date_hint(text: str) -> str:
    """How to write a date this tool reads, with the likely meaning of 18/04/2026."""
    m = _DMY_RE.match(str(text).strip())
    if not m:
        return "use YYYY-MM-DD, e.g. 2026-04-18, or 2026-04-18T14:30:00+05:00"
    a, b, year = int(m[1]), int(m[2]), m[3]
    options = []
    if 1 <= b <= 12 and 1 <= a <= 31:
        options.append(f"{year}-{b:02d}-{a:02d} (day first)")
    if 1 <= a <= 12 and 1 <= b <= 31 and a != b:
        options.append(f"{year}-{a:02d}-{b:02d} (month first)")
    meant = f": {' or '.join(options)}?" if options else ""
    return f"use YYYY-MM-DD{meant}"


def parse_claimed_at(value: Any, zone: tzinfo | None = None) -> ClaimWindow:
    """A date (the whole day), a datetime (an instant) or {start, end} → ClaimWindow."""
    if isinstance(value, dict):
        unknown = set(value) - {"start", "end"}
        if unknown or "start" not in value:
            raise ValueError("claimed_at window needs `start` (and optionally `end`)")
        start, _start_is_day, assumed = parse_datetime(value["start"], zone)
        end_raw = value.get("end", value["start"])
        end, end_is_day, assumed_end = parse_datetime(end_raw, zone)
        if end_is_day:
            end += timedelta(days=1)
        if end < start:
            raise ValueError("claimed_at window ends before it starts")
        raw = f"{value['start']}/{end_raw}"
        return ClaimWindow(start, end, "window", raw, assumed or assumed_end)
    start, is_day, assumed = parse_datetime(value, zone)
    if is_day:
        return ClaimWindow(start, start + timedelta(days=1), "date", str(value), assumed)
    return ClaimWindow(start, start, "instant", str(value), assumed)


def parse_place(text: str, radius_km: float | None = None, name: str | None = None) -> Place:
    """'lat,lon' (decimal degrees) → Place."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        if len(parts) != 2:
            raise ValueError
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError:
        raise ValueError(f"place must be 'lat,lon' in decimal degrees, got {text!r}") from None
    return _place(lat, lon, radius_km, name)


def _place(lat: Any, lon: Any, radius_km: Any = None, name: Any = None) -> Place:
    lat, lon = finite("lat", lat), finite("lon", lon)
    radius = DEFAULT_RADIUS_KM if radius_km is None else finite("radius_km", radius_km)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"lat/lon out of range: {lat}, {lon}")
    if radius <= 0:
        raise ValueError(f"radius_km must be positive, got {radius}")
    return Place(lat, lon, radius, str(name) if name is not None else None)


# ---------------------------------------------------------------- claim files
def read_mapping(path: Path) -> dict[str, Any]:
    """The top-level mapping of a claim file (YAML or JSON), read safely; InputError
    (one line naming the file) when it is missing, of the wrong type or malformed."""
    if not path.exists():
        raise InputError(f"{path}: claim file not found", code=NOT_FOUND)
    if path.suffix.lower() not in CLAIM_SUFFIXES:
        raise InputError(f"{path}: claim files end in .yaml, .yml or .json", code=UNSUPPORTED)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read claim file: {exc.strerror or exc}",
                         code=UNREADABLE) from None
    if not data.strip():
        raise InputError(f"{path}: claim file is empty", code=EMPTY)
    if len(data) > MAX_CLAIM_BYTES:
        raise InputError(f"{path}: claim file is larger than {MAX_CLAIM_BYTES} bytes",
                         code="invalid_claim")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: claim file is not UTF-8 text (byte {exc.start})",
                         code="invalid_claim") from None
    try:  # aliases, deep nesting and duplicate keys refused (osintkit/safeload.py)
        obj = load_json(text) if path.suffix.lower() == ".json" else load_yaml(text)
    except LoadError as exc:
        raise InputError(f"{path}: {exc}", code="invalid_claim") from None
    if not isinstance(obj, dict):
        raise InputError(f"{path}: a claim file holds a mapping (id, claimed_at, place, ...)",
                         code="invalid_claim")
    return obj


def claim_from_dict(obj: dict[str, Any], *, base_dir: Path | None = None,
                    default_id: str = "claim", source: Path | None = None) -> Claim:
    """Build a Claim from a parsed mapping; raises ValueError naming the bad field."""
    unknown = sorted(str(k) for k in set(obj) - KNOWN_KEYS)  # keys may be numbers in YAML
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(_suggest(str(k)) for k in unknown)}; "
                         f"known: {', '.join(sorted(KNOWN_KEYS))}")
    zone = parse_zone(obj.get("timezone"))
    claim = Claim(id=str(obj.get("id") or default_id), source=source,
                  title=_opt_str(obj, "title"), claimant=_opt_str(obj, "claimant"),
                  notes=_opt_str(obj, "notes"), analyst=_opt_str(obj, "analyst"),
                  case=_opt_str(obj, "case"))
    if obj.get("claimed_at") is not None:
        claim.claimed_at = _field("claimed_at", parse_claimed_at, obj["claimed_at"], zone)
    if obj.get("posted_at") is not None:
        claim.posted_at = _field("posted_at", parse_datetime, obj["posted_at"], zone)[0]
    if obj.get("place") is not None:
        claim.place = _field("place", _place_from_obj, obj["place"])
    claim.urls = _strings(obj, "urls")
    base = base_dir or Path.cwd()
    claim.media = [_resolve(base, m) for m in _strings(obj, "media")]
    return claim


def _suggest(key: str, known: frozenset[str] = KNOWN_KEYS) -> str:
    """`key` with the nearest known field name, when one is close: "date (did you mean
    claimed_at?)"."""
    import difflib

    aliases = {"date": "claimed_at", "when": "claimed_at", "time": "claimed_at",
               "location": "place", "lat": "place", "lon": "place", "files": "media",
               "latitude": "lat", "longitude": "lon", "lng": "lon", "radius": "radius_km",
               "url": "urls", "link": "urls", "tz": "timezone", "posted": "posted_at"}
    alias = aliases.get(key.lower())
    near = (alias if alias in known else None) or next(iter(difflib.get_close_matches(
        key.lower(), sorted(known), n=1, cutoff=0.6)), None)
    return f"{key} (did you mean {near}?)" if near else key


def _field(name: str, fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValueError(f"{name}: {exc}") from None


def _place_from_obj(obj: Any) -> Place:
    if isinstance(obj, str):
        return parse_place(obj)
    if not isinstance(obj, dict):
        raise ValueError("expected {name, lat, lon, radius_km} or 'lat,lon'")
    unknown = set(obj) - PLACE_KEYS
    if unknown or "lat" not in obj or "lon" not in obj:
        typo = ", ".join(_suggest(str(k), PLACE_KEYS) for k in sorted(unknown, key=str))
        raise ValueError(f"expected keys {sorted(PLACE_KEYS)} with lat and lon"
                         + (f"; unknown {typo}" if typo else ""))
    return _place(obj["lat"], obj["lon"], obj.get("radius_km"), obj.get("name"))


def _opt_str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return None if value is None else str(value)


def _list(obj: dict[str, Any], key: str) -> list[Any]:
    value = obj.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise ValueError(f"{key}: expected a list")
    return value


def _strings(obj: dict[str, Any], key: str) -> list[str]:
    """A list of non-empty strings (numbers are taken as text; null, lists, maps refused)."""
    out = []
    for i, value in enumerate(_list(obj, key), 1):
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError(f"{key}: item {i} is {_kind(value)}, not a path or URL")
        text = str(value).strip()
        if not text or "\x00" in text:
            raise ValueError(f"{key}: item {i} is empty or holds a NUL byte")
        out.append(text)
    return out


def _kind(value: Any) -> str:
    return {type(None): "null", bool: "a boolean", dict: "a mapping",
            list: "a list"}.get(type(value), type(value).__name__)


def _resolve(base: Path, text: str) -> Path:
    try:
        path = Path(text).expanduser()
    except RuntimeError:  # "~nobody/x": no such user; keep the text as a relative path
        path = Path(text)
    return path if path.is_absolute() else base / path


def load_claim(path: str | Path) -> Claim:
    """Read a claim file (YAML or JSON). Media paths are relative to the file."""
    path = Path(path)
    obj = read_mapping(path)
    try:
        return claim_from_dict(obj, base_dir=path.parent, default_id=path.stem, source=path)
    except ValueError as exc:
        raise InputError(f"{path}: {exc}", code="invalid_claim") from None


def is_claim_file(path: str | Path) -> bool:
    """True when the path names a claim file by its suffix."""
    return Path(path).suffix.lower() in CLAIM_SUFFIXES


def apply_overrides(claim: Claim, *, claim_date: str | None = None,
                    claim_place: str | None = None, radius_km: float | None = None,
                    place_name: str | None = None, posted_at: str | None = None,
                    tz: str | None = None) -> Claim:
    """Command-line values win over the file. Raises InputError naming the bad flag."""
    try:
        zone = parse_zone(tz)
        out = replace(claim)
        if claim_date:
            out.claimed_at = parse_claimed_at(_window_text(claim_date), zone)
        if posted_at:
            out.posted_at = parse_datetime(posted_at, zone)[0]
        if claim_place:
            out.place = parse_place(claim_place, radius_km, place_name)
        elif out.place and (radius_km is not None or place_name):
            out.place = _place(out.place.lat, out.place.lon,
                               radius_km if radius_km is not None else out.place.radius_km,
                               place_name or out.place.name)
        elif radius_km is not None:
            raise ValueError("--radius-km needs a place (--claim-place or the claim file)")
    except ValueError as exc:
        raise InputError(f"bad claim option: {exc}", code="invalid_claim") from None
    return out


def _window_text(text: str) -> Any:
    """'2026-04-18' or '2026-04-17/2026-04-19' (an ISO interval) → parse_claimed_at input."""
    if _DMY_RE.match(text.strip()):
        raise ValueError(f"--claim-date {text!r}: {date_hint(text)}")
    if "/" in text:
        start, end = text.split("/", 1)
        return {"start": start, "end": end}
    return text
