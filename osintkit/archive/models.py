"""Archive stage: what flows out of the archive (items, add results, matches)."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from osintkit.errors import ArchiveError, ErrorInfo

# name -> hex length; hex is always lowercase and zero-padded (a PDQ without its leading
# zeros is rejected by every partner).
HEX_LENGTHS = {"pdq": 64, "phash": 16, "dhash": 16, "md5": 32, "sha256": 64}
_HEX = re.compile(r"^[0-9a-f]+$")


def check_hex(kind: str, value: Any) -> str:
    """`value` as lowercase hex of the right length for `kind`; ValueError (one line) if not."""
    text = str(value).strip().lower()
    want = HEX_LENGTHS[kind]
    if len(text) != want:
        raise ValueError(f"{kind} must be {want} hex characters, got {len(text)}")
    if not _HEX.match(text):
        raise ValueError(f"{kind} is not hexadecimal: {text[:70]!r}")
    return text


def parse_date(value: Any) -> str:
    """first_seen as YYYY-MM-DD (a date, or the date part of an ISO datetime)."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text[:10]).isoformat() if len(text) > 10 and \
            text[10] in "T " else dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise ArchiveError(f"bad first-seen date {text!r} (use YYYY-MM-DD)",
                           code="bad_date") from None


def clean_hashes(hashes: dict[str, Any]) -> dict[str, Any]:
    """Keep the hash kinds the archive indexes, validated; pdq_quality as int."""
    out: dict[str, Any] = {}
    for kind in ("pdq", "phash", "dhash"):
        if hashes.get(kind):
            out[kind] = check_hex(kind, hashes[kind])
    if hashes.get("pdq_quality") is not None:
        out["pdq_quality"] = int(hashes["pdq_quality"])
    return out


@dataclass
class Item:
    """One archived record (a file we hashed, or an entry from a partner's hash list)."""

    id: int
    key: str
    sha256: str | None
    md5: str | None
    name: str | None
    origin: str | None  # original path or URL
    source: str | None
    first_seen: str | None
    title: str | None
    tags: list[str]
    kind: str  # "image" | "video" | "hash" (hash-list entry without a file)
    added_at: str
    hashes: dict[str, Any] = field(default_factory=dict)
    frames: list[dict[str, Any]] = field(default_factory=list)  # [{"t", "hashes"}]
    extra: dict[str, Any] = field(default_factory=dict)
    source_url: str | None = None  # the post/page of the earliest copy (provenance.py)
    posted_at: str | None = None  # that post's time, when a walk archived it
    post_text: str | None = None  # that post's text

    @classmethod
    def from_row(cls, row: tuple) -> Item:
        (id_, key, sha256, md5, name, origin, source, first_seen, title, tags, kind, added_at,
         pdq, quality, phash, dhash, extra) = row
        hashes = {k: v for k, v in (("pdq", pdq), ("pdq_quality", quality), ("phash", phash),
                                    ("dhash", dhash)) if v is not None}
        return cls(int(id_), key, sha256, md5, name, origin, source, first_seen, title,
                   json.loads(tags or "[]"), kind, added_at, hashes,
                   extra=json.loads(extra or "{}"))

    def to_dict(self) -> dict[str, Any]:
        """Full record (what `archive export` writes, one per line)."""
        return {"item_id": self.id, "key": self.key, "sha256": self.sha256, "md5": self.md5,
                "name": self.name, "origin": self.origin, "source": self.source,
                "first_seen": self.first_seen, "title": self.title, "tags": self.tags,
                "kind": self.kind, "added_at": self.added_at, "hashes": self.hashes,
                "frames": self.frames, "extra": self.extra, "source_url": self.source_url}


@dataclass
class AddResult:
    """What `archive add` did with one input."""

    path: Path
    ok: bool
    status: str  # "added" | "updated" | "unchanged" | "failed"
    item_id: int | None = None
    sha256: str | None = None
    kind: str | None = None
    error: ErrorInfo | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "ok": self.ok, "status": self.status,
                "item_id": self.item_id, "sha256": self.sha256, "kind": self.kind,
                "error": self.error.to_dict() if self.error else None}


@dataclass
class FrameMatch:
    """One matching pair of frames (or image and frame) behind a Match."""

    query_t: float | None
    item_t: float | None
    distance: dict[str, int]
    transform: str

    def to_dict(self) -> dict[str, Any]:
        return {"query_t": self.query_t, "item_t": self.item_t, "distance": self.distance,
                "transform": self.transform}


@dataclass
class Match:
    """An archived item that matches a query (best pair first; all pairs in frame_matches)."""

    item_id: int
    name: str | None
    sha256: str | None
    source: str | None
    first_seen: str | None
    kind: str
    distance: dict[str, int]
    transform: str  # dihedral transform of the query that matched ("none", "mirror", ...)
    match: str  # "exact" | "near" (a copy) | "scene" (another shot of the same scene)
    query_t: float | None = None
    item_t: float | None = None
    title: str | None = None
    tags: list[str] = field(default_factory=list)
    md5: str | None = None
    frame_matches: list[FrameMatch] = field(default_factory=list)
    query_region: tuple[int, int, int, int] | None = None  # part of the query that matched
    query_view: str | None = None  # "content", "tl80"... (osintkit/match/views.py); None = whole
    item_view: str | None = None  # the archived sub-view that matched; None = whole
    geometry: dict[str, Any] | None = None  # osintkit/match/geometry.py Geometry.to_dict()
    source_url: str | None = None  # the post/page that carried the archived copy
    posted_at: str | None = None  # that post's time (channel walks)
    post_text: str | None = None  # that post's text
    shot: dict[str, Any] | None = None  # osintkit/match/sameshot.py ShotCheck.to_dict()
    basis: str | None = None  # "hashes" | "geometry" | "hashes+geometry" (None: exact)
    evidence_note: str | None = None  # which hash agreement let a hash match stand
    thumb_jpeg: bytes | None = field(default=None, repr=False)  # stored thumbnail (not JSON)
    # video queries: where the item is in the query (segments.Segment.to_dict(): query
    # start-end <-> archive start-end, or when an archived photo is shown)
    segments: list[dict[str, Any]] = field(default_factory=list)
    # stored thumbnails (t0, t1, JPEG) of the archived shots the segments cover (report)
    shot_thumbs: list[tuple[float, float, bytes]] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"item_id": self.item_id, "name": self.name, "sha256": self.sha256,
                "md5": self.md5, "source": self.source, "first_seen": self.first_seen,
                "kind": self.kind, "distance": self.distance, "transform": self.transform,
                "match": self.match, "query_t": self.query_t, "item_t": self.item_t,
                "title": self.title, "tags": self.tags,
                "frame_matches": [f.to_dict() for f in self.frame_matches],
                "query_region": list(self.query_region) if self.query_region else None,
                "query_view": self.query_view, "item_view": self.item_view,
                "geometry": self.geometry, "shot": self.shot, "basis": self.basis,
                "source_url": self.source_url, "posted_at": self.posted_at,
                "post_text": self.post_text, "segments": self.segments}


def match_of(item: Item, distance: dict[str, int], transform: str, kind: str,
             query_t: float | None = None, item_t: float | None = None) -> Match:
    """A Match of an archived item (its record fields copied)."""
    return Match(item.id, item.name, item.sha256, item.source, item.first_seen, item.kind,
                 distance, transform, kind, query_t, item_t, item.title, item.tags, item.md5)


@dataclass
class SearchResult:
    """The matches of one query file."""

    path: Path
    ok: bool
    matches: list[Match] = field(default_factory=list)
    error: ErrorInfo | None = None
    kind: str | None = None
    sha256: str | None = None
    notes: list[str] = field(default_factory=list)  # steps skipped, items not confirmable

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "ok": self.ok, "kind": self.kind,
                "sha256": self.sha256, "matches": [m.to_dict() for m in self.matches],
                "notes": self.notes, "error": self.error.to_dict() if self.error else None}
