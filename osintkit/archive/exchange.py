"""Archive stage: export and import — our full records (JSONL) and partners' hash lists (CSV).

Exports carry what matching needs, not only digests: a video's frame PDQs (as vPDQ
lines), an image's sub-view hashes (so crops of it are found) and, in JSONL, its local
features (for --deep). Local paths (`origin`) are made relative to the working directory
when they lie under it and dropped otherwise, unless `with_paths`. `ExportReport` counts
the rows that can only match exactly (no perceptual hash at all).

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
from osintkit.archive.models import Item, check_hex, clean_hashes, parse_date
from osintkit.errors import ArchiveError, InputError
from osintkit.safeload import finite, load_json

CSV_COLUMNS = ("pdq", "md5", "sha256", "phash", "dhash", "first_seen", "source", "title",
               "name", "tags", "kind", "vpdq", "views")
FRAME_SEP, VIEW_SEP = "|", ";"  # vpdq: vPDQ lines joined by "|"; views: "name:pdq" by ";"
_ALIASES = {"pdq_hash": "pdq", "md5_hash": "md5", "sha256_hash": "sha256", "phash_hash": "phash"}
_MAX_REPORTED = 20


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
        frames = archive.frames_of([i.id for i in items if i.kind == "video"])
        for item in items:
            item.frames = frames.get(item.id, [])
            yield item
        last = items[-1].id


@dataclass
class ExportReport:
    """What an export wrote: rows, and those that can only match exactly (by digest)."""

    rows: int = 0
    exact_only: list[str] = field(default_factory=list)  # names (or keys) of such rows

    def warning(self) -> str | None:
        if not self.exact_only:
            return None
        names = ", ".join(self.exact_only[:3]) + (" ..." if len(self.exact_only) > 3 else "")
        return (f"{len(self.exact_only)} exported row(s) have no perceptual hash and can only "
                f"match exactly, by md5/sha256 ({names})")


def _extras(archive: Archive, ids: list[int]) -> tuple[dict[int, list], dict[int, str]]:
    """Sub-view hashes and ORB signatures of the given items."""
    views: dict[int, list] = {}
    orb: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ", ".join("?" * len(chunk))
        for item_id, view, pdq, quality in archive.db.query(
                f"SELECT item_id, view, pdq, pdq_quality FROM views WHERE item_id IN ({marks}) "
                "ORDER BY item_id, view", chunk):
            views.setdefault(int(item_id), []).append(
                {"view": view, "pdq": pdq, "pdq_quality": quality})
        for item_id, sig in archive.db.query(
                f"SELECT item_id, orb FROM features WHERE item_id IN ({marks})", chunk):
            orb[int(item_id)] = sig
    return views, orb


def _records(archive: Archive, with_paths: bool, report: ExportReport
             ) -> Iterator[tuple[Item, dict[str, Any]]]:
    """Each item with its views and ORB signature, `origin` stripped unless with_paths."""
    page: list[Item] = []

    def flush() -> Iterator[tuple[Item, dict[str, Any]]]:
        views, orb = _extras(archive, [i.id for i in page])
        for item in page:
            rec = item.to_dict()
            rec["origin"] = item.origin if with_paths else portable_origin(item.origin)
            rec["views"] = views.get(item.id, [])
            rec["orb"] = orb.get(item.id)
            report.rows += 1
            if not _perceptual(rec):
                report.exact_only.append(item.name or item.key)
            yield item, rec

    for item in iter_items(archive):
        page.append(item)
        if len(page) == 500:
            yield from flush()
            page = []
    if page:
        yield from flush()


def portable_origin(origin: str | None) -> str | None:
    """An item's origin fit to share: a URL as is; a local path relative to the working
    directory when it lies under it; otherwise None (no user names or folders leak)."""
    if not origin or re.match(r"^[a-z][a-z0-9+.-]*://", origin, re.IGNORECASE):
        return origin
    try:
        rel = Path(origin).resolve().relative_to(Path.cwd().resolve())
    except (ValueError, OSError):
        return None
    return rel.as_posix()


def _perceptual(rec: dict[str, Any]) -> bool:
    h = rec.get("hashes") or {}
    return bool(h.get("pdq") or h.get("phash") or rec.get("views") or
                any((f.get("hashes") or {}).get("pdq") for f in rec.get("frames") or []))


def export_jsonl(archive: Archive, out: TextIO, with_paths: bool = False) -> ExportReport:
    """Write every full record (frames, sub-views, ORB signature) as one JSON line."""
    report = ExportReport()
    for _, rec in _records(archive, with_paths, report):
        out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return report


def export_csv(archive: Archive, out: TextIO, with_paths: bool = False) -> ExportReport:
    """Write a hash list (CSV_COLUMNS): whole-picture hashes, a video's frame PDQs as
    vPDQ lines (`vpdq`) and an image's sub-view PDQs (`views`), so partners match crops
    and video segments, not only digests."""
    from osintkit.vpdq import features_from_frames

    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    report = ExportReport()
    for item, rec in _records(archive, with_paths, report):
        h = item.hashes
        vpdq = FRAME_SEP.join(f.line() for f in features_from_frames(item.frames))
        views = VIEW_SEP.join(f"{v['view']}:{v['pdq']}" for v in rec["views"])
        writer.writerow([h.get("pdq", ""), item.md5 or "", item.sha256 or "", h.get("phash", ""),
                         h.get("dhash", ""), item.first_seen or "", item.source or "",
                         item.title or "", item.name or "", ";".join(item.tags), item.kind,
                         vpdq, views])
    return report


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


_TEXT_FIELDS = ("source", "first_seen", "title", "name", "origin", "added_at")


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
            "added_at": rec.get("added_at")}


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


def _from_json(line: str, number: int, defaults: dict[str, Any]) -> tuple[_Record, dict]:
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
    return (_Record(Path(f"line {number}"), key, sha256, md5, kind, hashes, frames,
                    view_hashes=views, orb_signature=orb), _meta(rec, defaults))


def _from_csv(row: dict[str, Any], number: int, defaults: dict[str, Any]) -> tuple[_Record, dict]:
    row = {_ALIASES.get(k, k): (v or "").strip() for k, v in row.items() if k}
    sha256, md5 = _opt_hex("sha256", row.get("sha256")), _opt_hex("md5", row.get("md5"))
    hashes = clean_hashes({k: row.get(k) for k in ("pdq", "phash", "dhash")})
    key = _key(sha256, md5, hashes.get("pdq"))
    frames = _csv_frames(row.get("vpdq") or "")
    views = [_View(name.strip(), {"none": check_hex("pdq", pdq)})
             for name, _, pdq in (v.partition(":") for v in
                                  (row.get("views") or "").split(VIEW_SEP) if v.strip())]
    kind = "video" if frames else "hash"  # frames make segments findable
    return (_Record(Path(f"line {number}"), key, sha256, md5, kind, hashes, frames,
                    view_hashes=views), _meta(row, defaults))


def _csv_frames(cell: str) -> list[_Frame]:
    """The `vpdq` cell: vPDQ lines (`frame,quality,pdq,seconds`) joined by '|'."""
    from osintkit.vpdq import parse_line

    out = []
    for part in cell.split(FRAME_SEP):
        if part.strip():
            try:
                f = parse_line(part)
            except InputError as exc:
                raise ValueError(f"vpdq: {exc.message}") from None
            out.append(_Frame(f.timestamp, {"pdq": f.pdq, "pdq_quality": f.quality}))
    return out


def _parse(path: Path, fmt: str, defaults: dict[str, Any]) -> tuple[list, list[str], int]:
    records, errs, rows = [], [], 0
    with path.open(encoding="utf-8-sig", newline="") as fh:
        if fmt == "csv":
            reader = csv.DictReader(fh)
            fields = {_ALIASES.get(f, f) for f in reader.fieldnames or []}
            if not fields & {"pdq", "md5", "sha256"}:
                raise ArchiveError(f"{path}: CSV header needs a pdq, md5 or sha256 column "
                                   f"(got {', '.join(reader.fieldnames or []) or 'nothing'})")
            numbered: Iterator[tuple[int, Any]] = ((reader.line_num, r) for r in reader)
        else:
            numbered = ((n, line) for n, line in enumerate(fh, 1) if line.strip())
        for number, raw in numbered:
            rows += 1
            try:
                parse = _from_csv if fmt == "csv" else _from_json
                records.append(parse(raw, number, defaults))
            except (ValueError, KeyError, TypeError, ArchiveError) as exc:
                text = exc.message if isinstance(exc, ArchiveError) else str(exc)
                errs.append(f"line {number}: {' '.join(text.split())}")
    return records, errs, rows


def import_file(archive: Archive, path: str | Path, fmt: str | None = None,
                source: str | None = None, first_seen: Any = None,
                tags: tuple[str, ...] = ()) -> ImportReport:
    """Import a JSONL export or a CSV hash list; all rows or none (bad rows by line)."""
    path = Path(path)
    fmt = fmt or ("csv" if path.suffix.lower() == ".csv" else "jsonl")
    defaults = {"source": source, "first_seen": first_seen, "tags": list(tags)}
    try:
        records, errs, rows = _parse(path, fmt, defaults)
    except UnicodeDecodeError as exc:
        raise ArchiveError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise ArchiveError(f"{path}: cannot read ({exc.strerror})", code="not_found") from None
    except csv.Error as exc:
        raise ArchiveError(f"{path}: not a CSV file ({exc})") from None
    report = ImportReport(str(path), ok=not errs, rows=rows)
    if errs:
        more = len(errs) - _MAX_REPORTED
        report.errors = errs[:_MAX_REPORTED] + ([f"... and {more} more"] if more > 0 else [])
        return report
    for res in archive.write_records(records):
        setattr(report, res.status, getattr(report, res.status) + 1)
    return report
