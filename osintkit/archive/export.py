"""Archive stage: export — our full records (JSONL) and hash lists to share (CSV).

Exports carry what matching needs, not only digests: a video's frame PDQs (as vPDQ
lines), an image's sub-view hashes (so crops of it are found) and, in JSONL, its local
features (for the robust search). Local paths (`origin`) are made relative to the
working directory when they lie under it and dropped otherwise, unless `with_paths`.
`ExportReport` counts the rows that can only match exactly (no perceptual hash at all).
exchange.py reads both formats back.
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
from osintkit.archive.models import Item

CSV_COLUMNS = ("pdq", "md5", "sha256", "phash", "dhash", "first_seen", "source", "title",
               "name", "tags", "kind", "vpdq", "views")
FRAME_SEP, VIEW_SEP = "|", ";"  # vpdq: vPDQ lines joined by "|"; views: "name:pdq" by ";"


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
    from osintkit.match.vpdq import features_from_frames

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
