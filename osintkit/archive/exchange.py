"""Archive stage: export and import — our full records (JSONL) and partners' hash lists (CSV).

Imports are all-or-nothing: every row is validated first and bad rows are reported by
line number (`ImportReport.errors`); only a clean file is written, in one transaction.
CSV hash lists use the common sharing shape: a header with `pdq` and/or `md5` (64/32 hex
characters) plus optional `sha256, phash, dhash, first_seen, source, title, name, tags`.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from osintkit.archive import provenance
from osintkit.archive.core import Archive
from osintkit.archive.models import HEX_LENGTHS, Item, check_hex, clean_hashes, parse_date
from osintkit.errors import ArchiveError

CSV_COLUMNS = ("pdq", "md5", "sha256", "phash", "dhash", "first_seen", "source", "title",
               "name", "tags", "kind")
_ALIASES = {"pdq_hash": "pdq", "md5_hash": "md5", "sha256_hash": "sha256", "phash_hash": "phash"}
_MAX_REPORTED = 20
_HEX_RE = re.compile(r"[0-9a-f]+")


@dataclass
class _Frame:
    t: float
    hashes: dict[str, Any]


@dataclass
class _Record:
    """A validated record to write (quacks like a HashResult for Archive.write_records)."""

    path: Path
    key: str
    sha256: str | None
    md5: str | None
    kind: str
    hashes: dict[str, Any]
    frames: list[_Frame] = field(default_factory=list)
    ok: bool = True


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


# ---------------------------------------------------------------- export
def iter_items(archive: Archive, page: int = 1000) -> Iterator[Item]:
    """Every record with its frames, by id, in pages (constant memory)."""
    last = 0
    cols = ", ".join(("id", "key", "sha256", "md5", "name", "origin", "source", "first_seen",
                      "title", "tags", "kind", "added_at", "pdq", "pdq_quality", "phash",
                      "dhash", "extra"))
    while True:
        rows = archive.db.query(f"SELECT {cols} FROM items WHERE id > ? ORDER BY id "
                                f"LIMIT {int(page)}", (last,))
        if not rows:
            return
        items = [Item.from_row(r) for r in rows]
        provenance.attach(archive.db, items)  # source_url (archive/provenance.py)
        frames = archive.frames_of([i.id for i in items if i.kind == "video"])
        for item in items:
            item.frames = frames.get(item.id, [])
            yield item
        last = items[-1].id


def export_jsonl(archive: Archive, out: TextIO) -> int:
    """Write every full record as one JSON object per line; returns the count."""
    n = 0
    for item in iter_items(archive):
        out.write(json.dumps(item.to_dict(), ensure_ascii=False) + "\n")
        n += 1
    return n


def export_csv(archive: Archive, out: TextIO) -> int:
    """Write a hash list (CSV_COLUMNS) of every record; videos carry digests only."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    n = 0
    for item in iter_items(archive):
        h = item.hashes
        writer.writerow([h.get("pdq", ""), item.md5 or "", item.sha256 or "", h.get("phash", ""),
                         h.get("dhash", ""), item.first_seen or "", item.source or "",
                         item.title or "", item.name or "", ";".join(item.tags), item.kind])
        n += 1
    return n


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


def _meta(rec: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    first = rec.get("first_seen") or defaults.get("first_seen")
    tags = rec.get("tags")
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(";") if t.strip()]
    return {"source": rec.get("source") or defaults.get("source"),
            "first_seen": parse_date(first) if first else None,
            "title": rec.get("title") or defaults.get("title"),
            "tags": list(tags or defaults.get("tags") or []),
            "name": rec.get("name"), "origin": rec.get("origin"),
            "added_at": rec.get("added_at"), "source_url": rec.get("source_url")}


def _from_json(line: str, number: int, defaults: dict[str, Any]) -> tuple[_Record, dict]:
    rec = json.loads(line)
    if not isinstance(rec, dict):
        raise ValueError("not a JSON object")
    sha256, md5 = _opt_hex("sha256", rec.get("sha256")), _opt_hex("md5", rec.get("md5"))
    hashes = clean_hashes(rec.get("hashes") or {})
    frames = [_Frame(float(f["t"]), clean_hashes(f.get("hashes") or {}))
              for f in rec.get("frames") or []]
    kind = str(rec.get("kind") or "hash")
    if kind not in ("image", "video", "hash"):
        raise ValueError(f"unknown kind {kind!r}")
    key = _key(sha256, md5, hashes.get("pdq"))
    return (_Record(Path(f"line {number}"), key, sha256, md5, kind, hashes, frames),
            _meta(rec, defaults))


class _Rows:
    """Validated staging rows of one file, streamed; bad rows go to `errors` by line
    number and, after the first one, nothing more is staged (only validated)."""

    def __init__(self, path: Path, fmt: str, defaults: dict[str, Any]) -> None:
        self.path, self.fmt, self.defaults = path, fmt, defaults
        self.errors: list[str] = []  # the first _MAX_REPORTED bad rows
        self.bad = 0
        self.count = 0
        self.frames: list[tuple] = []
        self.now = _now()
        self._default_first = (parse_date(str(defaults["first_seen"]))
                               if defaults.get("first_seen") else None)

    def _bad(self, number: int, exc: Exception) -> None:
        self.bad += 1
        if len(self.errors) < _MAX_REPORTED:
            text = exc.message if isinstance(exc, ArchiveError) else str(exc)
            self.errors.append(f"line {number}: {' '.join(text.split())}")

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
                values = convert(row)
            except (ValueError, ArchiveError) as exc:
                self._bad(reader.line_num, exc)
                continue
            if not self.errors:
                yield (reader.line_num, *values)

    def _csv_converter(self, fields: list[str]) -> Any:
        """row -> staging values (without the line number). `check_hex`'s rules and
        messages inlined; each distinct date and tag list converted once."""
        index = {name: i for i, name in enumerate(fields) if name}  # the last wins
        cols = [index.get(c) for c in ("sha256", "md5", "pdq", "phash", "dhash", "first_seen",
                                       "source", "title", "name", "tags", "origin",
                                       "added_at")]
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

        def convert(row: list[str]) -> tuple:
            sha256, md5, pdq, phash, dhash, first, source, title, name, tags, origin, added = (
                row[i].strip() if i is not None else "" for i in cols)
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
            return (key, sha256, md5, name or None, origin or None, source or d.get("source"),
                    day, title or d.get("title"), tag_json, "hash", added or now, pdq, None,
                    phash, dhash, None)
        return convert

    # ---------------------------------------------------------------- JSONL
    def _json_row(self, line: str, number: int) -> tuple:
        record, meta = _from_json(line, number, self.defaults)
        frames = {f.t: f.hashes for f in record.frames}  # one row per time (the last wins)
        self.frames += [(number, t, h.get("pdq"), h.get("pdq_quality"), h.get("phash"),
                         h.get("dhash")) for t, h in frames.items()]
        h = record.hashes
        return (number, record.key, record.sha256, record.md5, meta["name"], meta["origin"],
                meta["source"], meta["first_seen"], meta["title"], json.dumps(meta["tags"]),
                record.kind, meta.get("added_at") or self.now, h.get("pdq"),
                h.get("pdq_quality"), h.get("phash"), h.get("dhash"), meta.get("source_url"))


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
            staging.load(rows)
            if not rows.errors:
                staging.load((), rows.frames)
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
