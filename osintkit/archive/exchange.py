"""Archive stage: import — our full records (JSONL) and partners' hash lists (CSV), in the
formats export.py writes.

Imports are all-or-nothing: every row is validated first and bad rows are reported by
line number (`ImportReport.errors`); only a clean file is written, in one transaction.
CSV hash lists use the common sharing shape: a header with `pdq` and/or `md5` (64/32 hex
characters) plus optional `sha256, phash, dhash, first_seen, source, title, name, tags,
kind, vpdq, views`.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from osintkit.archive.core import Archive
from osintkit.archive.export import FRAME_SEP, VIEW_SEP
from osintkit.archive.models import HEX_LENGTHS, check_hex, clean_hashes, parse_date
from osintkit.errors import ArchiveError, InputError
from osintkit.safeload import finite, load_json

_ALIASES = {"pdq_hash": "pdq", "md5_hash": "md5", "sha256_hash": "sha256", "phash_hash": "phash"}
_MAX_REPORTED = 20
_HEX_RE = re.compile(r"[0-9a-f]+")


@dataclass
class _Frame:
    t: float
    hashes: dict[str, Any]


@dataclass
class _View:
    """A sub-view hash as `archive/robust.insert_rows` writes it."""

    name: str
    pdq: dict[str, str]
    quality: int | None = None


@dataclass
class Record:
    """A validated record to write (quacks like a HashResult for Archive.write_records)."""

    path: Path
    key: str
    sha256: str | None
    md5: str | None
    kind: str
    hashes: dict[str, Any]
    frames: list[_Frame] = field(default_factory=list)
    ok: bool = True
    view_hashes: list[_View] = field(default_factory=list)
    orb_signature: bytes = b""


@dataclass
class ImportReport:
    """What an import did: counts by status, or the bad rows (and then nothing written)."""

    path: str
    ok: bool
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)  # "line N: reason"

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "ok": self.ok, "rows": self.rows, "added": self.added,
                "updated": self.updated, "unchanged": self.unchanged, "errors": self.errors}


# ---------------------------------------------------------------- import
def _key(sha256: str | None, md5: str | None, pdq: str | None) -> str:
    if sha256:
        return sha256
    if md5:
        return f"md5:{md5}"
    if pdq:
        return f"pdq:{pdq}"
    raise ValueError("no sha256, md5 or pdq: nothing to match on")


def _opt_hex(kind: str, value: Any) -> str | None:
    return check_hex(kind, value) if value not in (None, "") else None


_TEXT_FIELDS = ("source", "first_seen", "title", "name", "origin", "added_at", "source_url")


def _meta(rec: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    for key in _TEXT_FIELDS:  # untrusted records: a list here would reach the database
        if rec.get(key) is not None and not isinstance(rec[key], str):
            raise ValueError(f"{key}: expected a string")
    first = rec.get("first_seen") or defaults.get("first_seen")
    tags = rec.get("tags")
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(";") if t.strip()]
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str)
                                                                for t in tags)):
        raise ValueError("tags: expected a list of strings or 'a;b'")
    return {"source": rec.get("source") or defaults.get("source"),
            "first_seen": parse_date(first) if first else None,
            "title": rec.get("title") or defaults.get("title"),
            "tags": list(tags or defaults.get("tags") or []),
            "name": rec.get("name"), "origin": rec.get("origin"),
            "added_at": rec.get("added_at"), "source_url": rec.get("source_url")}


def _typed(rec: dict[str, Any], key: str, kind: type) -> Any:
    """rec[key] when it is a `kind` (absent or null: empty); else a ValueError naming it."""
    value = rec.get(key)
    if value is None:
        return kind()
    if not isinstance(value, kind):
        raise ValueError(f"{key}: expected a JSON {'object' if kind is dict else 'array'}")
    return value


def _frame(f: Any) -> _Frame:
    if not isinstance(f, dict) or not isinstance(f.get("t"), int | float):
        raise ValueError("frames: each frame is an object with a number `t`")
    return _Frame(finite("frames: t", f["t"]), clean_hashes(_typed(f, "hashes", dict)))


def _from_json(line: str, number: int, defaults: dict[str, Any]) -> tuple[Record, dict]:
    rec = load_json(line, allow_nan=False)  # nesting, duplicate keys, NaN refused
    if not isinstance(rec, dict):
        raise ValueError("not a JSON object")
    sha256, md5 = _opt_hex("sha256", rec.get("sha256")), _opt_hex("md5", rec.get("md5"))
    hashes = clean_hashes(_typed(rec, "hashes", dict))
    frames = [_frame(f) for f in _typed(rec, "frames", list)]
    kind = str(rec.get("kind") or "hash")
    if kind not in ("image", "video", "hash"):
        raise ValueError(f"unknown kind {kind!r}")
    key = _key(sha256, md5, hashes.get("pdq"))
    views = [_View(str(v["view"]), {"none": check_hex("pdq", v["pdq"])},
                   None if v.get("pdq_quality") is None else int(v["pdq_quality"]))
             for v in rec.get("views") or []]
    orb = bytes.fromhex(rec["orb"]) if rec.get("orb") else b""
    return (Record(Path(f"line {number}"), key, sha256, md5, kind, hashes, frames,
                    view_hashes=views, orb_signature=orb), _meta(rec, defaults))


def _from_csv(row: dict[str, Any], number: int, defaults: dict[str, Any]) -> tuple[Record, dict]:
    row = {_ALIASES.get(k, k): (v or "").strip() for k, v in row.items() if k}
    sha256, md5 = _opt_hex("sha256", row.get("sha256")), _opt_hex("md5", row.get("md5"))
    hashes = clean_hashes({k: row.get(k) for k in ("pdq", "phash", "dhash")})
    key = _key(sha256, md5, hashes.get("pdq"))
    frames = _csv_frames(row.get("vpdq") or "")
    views = _csv_views(row.get("views") or "")
    kind = "video" if frames else "hash"  # frames make segments findable
    return (Record(Path(f"line {number}"), key, sha256, md5, kind, hashes, frames,
                    view_hashes=views), _meta(row, defaults))


def _csv_frames(cell: str) -> list[_Frame]:
    """The `vpdq` cell: vPDQ lines (`frame,quality,pdq,seconds`) joined by '|'."""
    from osintkit.match.vpdq import parse_line

    out = []
    for part in cell.split(FRAME_SEP):
        if part.strip():
            try:
                f = parse_line(part)
            except InputError as exc:
                raise ValueError(f"vpdq: {exc.message}") from None
            out.append(_Frame(f.timestamp, {"pdq": f.pdq, "pdq_quality": f.quality}))
    return out


class _Rows:
    """Validated staging rows of one file, streamed (archive/bulk.py): items from
    iteration; a video's frames, an image's sub-views and ORB signature pile up in
    `frames`, `views`, `features` until the staging table takes them (`pending`). Bad rows
    go to `errors` by line number and, after the first one, nothing more is staged."""

    def __init__(self, path: Path, fmt: str, defaults: dict[str, Any]) -> None:
        self.path, self.fmt, self.defaults = path, fmt, defaults
        self.errors: list[str] = []  # the first _MAX_REPORTED bad rows
        self.bad = 0
        self.count = 0
        self.frames: list[tuple] = []  # (line, t, pdq, pdq_quality, phash, dhash)
        self.views: list[tuple] = []  # (line, view, pdq, pdq_quality)
        self.features: list[tuple] = []  # (line, orb hex)
        self.now = _now()
        self._default_first = (parse_date(str(defaults["first_seen"]))
                               if defaults.get("first_seen") else None)

    def pending(self) -> tuple[list[tuple], list[tuple], list[tuple]]:
        """The side rows gathered so far (the lists are handed over and emptied)."""
        out = (self.frames, self.views, self.features)
        self.frames, self.views, self.features = [], [], []
        return out

    def _bad(self, number: int, exc: Exception) -> None:
        self.bad += 1
        if len(self.errors) < _MAX_REPORTED:
            text = exc.message if isinstance(exc, ArchiveError) else str(exc)
            self.errors.append(f"line {number}: {' '.join(text.split())}")

    def _side(self, number: int, frames: list[_Frame], views: list[_View],
              orb: bytes = b"") -> None:
        if self.errors:
            return
        by_t = {f.t: f.hashes for f in frames}  # one row per time (the last wins)
        self.frames += [(number, t, h.get("pdq"), h.get("pdq_quality"), h.get("phash"),
                         h.get("dhash")) for t, h in by_t.items()]
        by_name = {v.name: v for v in views}  # one row per view name (the last wins)
        self.views += [(number, v.name, v.pdq["none"], v.quality) for v in by_name.values()]
        if orb:
            self.features.append((number, orb.hex()))

    def __iter__(self) -> Iterator[tuple]:
        with self.path.open(encoding="utf-8-sig", newline="") as fh:
            if self.fmt == "csv":
                yield from self._csv(fh)
                return
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                self.count += 1
                try:
                    row = self._json_row(line, number)
                except (ValueError, KeyError, TypeError, ArchiveError) as exc:
                    self._bad(number, exc)
                    continue
                if not self.errors:
                    yield row

    # ---------------------------------------------------------------- CSV
    def _csv(self, fh: TextIO) -> Iterator[tuple]:
        """The hot loop of a partner's hash list: one staging tuple per row."""
        reader = csv.reader(fh)
        header = next(reader, None) or []
        fields = [_ALIASES.get(f.strip(), f.strip()) for f in header]
        if not set(fields) & {"pdq", "md5", "sha256"}:
            raise ArchiveError(f"{self.path}: CSV header needs a pdq, md5 or sha256 column "
                               f"(got {', '.join(header) or 'nothing'})")
        convert = self._csv_converter(fields)
        width = len(fields)
        for row in reader:
            if not row:
                continue  # blank lines are not rows
            self.count += 1
            if len(row) < width:
                row = row + [""] * (width - len(row))
            try:
                values = convert(row, reader.line_num)
            except (ValueError, ArchiveError) as exc:
                self._bad(reader.line_num, exc)
                continue
            if not self.errors:
                yield (reader.line_num, *values)

    def _csv_converter(self, fields: list[str]) -> Any:
        """(row, line) -> staging values (without the line number). `check_hex`'s rules and
        messages inlined; each distinct date and tag list converted once; the `vpdq` and
        `views` cells, when filled, read as `_from_csv` reads them."""
        index = {name: i for i, name in enumerate(fields) if name}  # the last wins
        cols = [index.get(c) for c in ("sha256", "md5", "pdq", "phash", "dhash", "first_seen",
                                       "source", "title", "name", "tags", "origin",
                                       "added_at", "vpdq", "views")]
        d, now, default_first = self.defaults, self.now, self._default_first
        dates: dict[str, str] = {}
        tag_lists: dict[str, str] = {"": json.dumps(d["tags"])}
        kinds = [(k, HEX_LENGTHS[k]) for k in ("sha256", "md5", "pdq", "phash", "dhash")]
        fullmatch = _HEX_RE.fullmatch

        def hexes(values: tuple[str, ...]) -> list[str | None]:
            out: list[str | None] = []
            for (kind, want), value in zip(kinds, values, strict=True):
                if value:
                    value = value.lower()
                    if len(value) != want:
                        raise ValueError(f"{kind} must be {want} hex characters, "
                                         f"got {len(value)}")
                    if not fullmatch(value):
                        raise ValueError(f"{kind} is not hexadecimal: {value[:70]!r}")
                out.append(value or None)
            return out

        def convert(row: list[str], number: int) -> tuple:
            (sha256, md5, pdq, phash, dhash, first, source, title, name, tags, origin, added,
             vpdq, views) = (row[i].strip() if i is not None else "" for i in cols)
            sha256, md5, pdq, phash, dhash = hexes((sha256, md5, pdq, phash, dhash))
            key = sha256 or (f"md5:{md5}" if md5 else (f"pdq:{pdq}" if pdq else None))
            if key is None:
                raise ValueError("no sha256, md5 or pdq: nothing to match on")
            day = dates.get(first) if first else default_first
            if first and day is None:
                day = dates[first] = parse_date(first)
            tag_json = tag_lists.get(tags)
            if tag_json is None:
                tag_json = tag_lists[tags] = json.dumps(
                    [t.strip() for t in tags.split(";") if t.strip()])
            frames = self._extras(number, vpdq, views)
            return (key, sha256, md5, name or None, origin or None, source or d.get("source"),
                    day, title or d.get("title"), tag_json, "video" if frames else "hash",
                    added or now, pdq, None, phash, dhash, None)
        return convert

    def _extras(self, number: int, vpdq: str, views: str) -> list[_Frame]:
        """A row's `vpdq` frames and `views` sub-views, staged; the frames (a video)."""
        frames = _csv_frames(vpdq) if vpdq else []
        if frames or views:
            self._side(number, frames, _csv_views(views))
        return frames

    # ---------------------------------------------------------------- JSONL
    def _json_row(self, line: str, number: int) -> tuple:
        record, meta = _from_json(line, number, self.defaults)
        self._side(number, record.frames, record.view_hashes, record.orb_signature)
        h = record.hashes
        return (number, record.key, record.sha256, record.md5, meta["name"], meta["origin"],
                meta["source"], meta["first_seen"], meta["title"], json.dumps(meta["tags"]),
                record.kind, meta.get("added_at") or self.now, h.get("pdq"),
                h.get("pdq_quality"), h.get("phash"), h.get("dhash"), meta.get("source_url"))


def _csv_views(cell: str) -> list[_View]:
    """The `views` cell: "name:pdq" pairs joined by ';'."""
    return [_View(name.strip(), {"none": check_hex("pdq", pdq)})
            for name, _, pdq in (v.partition(":") for v in cell.split(VIEW_SEP) if v.strip())]


def _now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def import_file(archive: Archive, path: str | Path, fmt: str | None = None,
                source: str | None = None, first_seen: Any = None,
                tags: tuple[str, ...] = ()) -> ImportReport:
    """Import a JSONL export or a CSV hash list; all rows or none (bad rows by line).

    Rows stream into a staging table and are merged in one transaction (archive/bulk.py):
    1M hash-list rows in seconds, in flat memory.
    """
    from osintkit.archive.bulk import Staging

    path = Path(path)
    fmt = fmt or ("csv" if path.suffix.lower() == ".csv" else "jsonl")
    defaults = {"source": source, "first_seen": first_seen, "tags": list(tags)}
    rows = _Rows(path, fmt, defaults)
    staging = Staging(archive)
    try:
        try:
            staging.load(rows, rows.pending)
        except UnicodeDecodeError as exc:
            raise ArchiveError(f"{path}: not UTF-8 text ({exc.reason})") from None
        except OSError as exc:
            raise ArchiveError(f"{path}: cannot read ({exc.strerror})",
                               code="not_found") from None
        except csv.Error as exc:
            raise ArchiveError(f"{path}: not a CSV file ({exc})") from None
        report = ImportReport(str(path), ok=not rows.errors, rows=rows.count)
        if rows.errors:
            more = rows.bad - len(rows.errors)
            report.errors = rows.errors + ([f"... and {more} more"] if more > 0 else [])
            return report
        counts = staging.merge()
    finally:
        staging.drop()
    report.added, report.updated, report.unchanged = (counts["added"], counts["updated"],
                                                      counts["unchanged"])
    return report
