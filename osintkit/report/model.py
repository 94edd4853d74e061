"""The verification report: one claim, its media, findings, verdict and timeline.

`Report.to_dict()` is the contract of report.json (and of `osintkit verify --json`);
`schema.json` next to this module describes it and ships in the package. Field names
are a contract: add fields freely, never rename or remove one; bump SCHEMA_VERSION's
minor number for additions, its major number for anything else.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from osintkit import __version__
from osintkit.checks import CheckError, Finding, MediaItem, parse_when
from osintkit.checks.verdict import Verdict
from osintkit.claim import Claim
from osintkit.report.reverse import reverse_search

# 1.1: "furniture"; 1.2: "custody", "next_steps", "map", the archive block, media "level";
# 1.3: "spread", media "reverse_search", matches' source_url/posted_at/post_text
SCHEMA_VERSION = "1.3"

__all__ = ["SCHEMA_VERSION", "Finding", "Report", "Verdict", "load_schema"]


def load_schema() -> dict[str, Any]:
    """The JSON Schema of report.json, as shipped in the package."""
    return json.loads(resources.files("osintkit.report").joinpath("schema.json").read_text())


@dataclass
class Report:
    """Everything one verification found. Built by `verify.verify_claim`."""

    claim: Claim
    media: list[MediaItem]
    findings: list[Finding]
    verdict: Verdict
    out_dir: Path | None = None
    page: Any = None  # fetch.PageRecord
    captures: list[dict[str, Any]] = field(default_factory=list)  # fetch manifests, short
    errors: list[dict[str, Any]] = field(default_factory=list)  # inputs that failed
    check_errors: list[CheckError] = field(default_factory=list)
    archive: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    custody: dict[str, Any] = field(default_factory=dict)  # report/custody.py
    media_levels: dict[str, dict[str, Any]] = field(default_factory=dict)  # report/levels.py
    next_steps: list[dict[str, Any]] = field(default_factory=list)  # report/next_steps.py
    map: dict[str, Any] | None = None  # report/mapsvg.py

    generated_at: str = field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    files: dict[str, str] = field(default_factory=dict)  # format -> written path
    furniture: list[dict[str, Any]] = field(default_factory=list)  # page furniture, not checked
    spread: list[Any] = field(default_factory=list)  # spread.SpreadGroup

    @property
    def level(self) -> str:
        return self.verdict.level

    @property
    def usable(self) -> bool:
        """False when no media item could be read: the input was unusable."""
        return any(m.ok for m in self.media)

    def to_dict(self) -> dict[str, Any]:
        """The report.json contract."""
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "osintkit", "version": __version__},
            "generated_at": self.generated_at,
            "claim": self.claim.to_dict(),
            "verdict": self.verdict.to_dict(),
            "findings": [f.to_dict() for f in self.findings],
            "media": [{**media_to_dict(m, self.out_dir), **self._level(m.id)}
                      for m in self.media],
            "timeline": timeline(self),
            "page": page_to_dict(self.page),
            "captures": self.captures,
            "archive": self.archive,
            "errors": self.errors,
            "check_errors": [e.to_dict() for e in self.check_errors],
            "options": self.options,
            "files": self.files,
            "furniture": self.furniture,
            "custody": self.custody,
            "next_steps": self.next_steps,
            "map": self.map,
            "spread": [g.to_dict() for g in self.spread],
        }

    def _level(self, media_id: str) -> dict[str, Any]:
        got = self.media_levels.get(media_id)
        if not got:
            return {}
        return {"level": got["level"], "level_basis": got["basis"]}


def _rel(path: Path | None, base: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return str(Path(path).resolve().relative_to(Path(base).resolve())) if base else str(path)
    except (ValueError, OSError, RuntimeError):  # elsewhere, or a symlink loop (RuntimeError)
        return str(path)


def _obj_dict(obj: Any) -> dict[str, Any] | None:
    if obj is None:
        return None
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(vars(obj))


def media_to_dict(item: MediaItem, base: Path | None = None) -> dict[str, Any]:
    """One media item as it appears in report.json."""
    meta = _obj_dict(item.metadata) or {}
    hashes = _obj_dict(item.hashes) or {}
    fetched = _obj_dict(item.fetched)
    if fetched is not None:
        fetched = {k: fetched.get(k) for k in
                   ("url", "final_url", "found_on", "status", "fetched_at", "headers",
                    "post_id", "size", "mime")}
    return {
        "id": item.id, "name": item.name, "path": _rel(item.path, base),
        "source_url": item.source_url, "kind": item.kind, "ok": item.ok,
        "error": item.error.to_dict() if item.error else None,
        "format": meta.get("format"), "mime": meta.get("mime"), "size": meta.get("size"),
        "width": meta.get("width"), "height": meta.get("height"),
        "sha256": hashes.get("sha256") or meta.get("sha256"), "md5": hashes.get("md5"),
        "summary": meta.get("summary"), "thumbnail": meta.get("thumbnail"),
        "video": meta.get("video"),
        "hashes": hashes.get("hashes") or {},
        "frames": len(hashes.get("frames") or []),
        "matches": [_obj_dict(m) for m in item.matches],
        "fetched": fetched,
        # what the decoders warned about (damaged tags...), metadata and hashing together
        "warnings": list(dict.fromkeys((meta.get("warnings") or [])
                                       + (hashes.get("warnings") or []))),
        "reverse_search": reverse_search(item),
    }


def page_to_dict(page: Any) -> dict[str, Any] | None:
    """The fetched page's key fields (untrusted text, escaped by every renderer)."""
    if page is None:
        return None
    keys = ("url", "final_url", "title", "published_at", "author", "kind", "edited",
            "views", "forwarded_from")
    return {k: _jsonable(getattr(page, k, None)) for k in keys}


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _event(when: Any, what: str, label: str, media: str | None = None) -> dict[str, Any] | None:
    moment = parse_when(when)
    if moment is None:
        return None
    is_day = isinstance(when, str) and len(when.strip()) == 10  # a bare date: keep it so
    return {"when": when.strip() if is_day else moment.isoformat(), "what": what,
            "label": label, "media": media, "zone_known": is_day or moment.tzinfo is not None}


def _sort_key(ev: dict[str, Any]) -> datetime:
    moment = datetime.fromisoformat(ev["when"])
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def timeline(report: Report) -> list[dict[str, Any]]:
    """Every date we know (claimed, captured, first seen, posted, served), oldest first."""
    claim = report.claim
    events = []
    if claim.claimed_at:
        events.append(_event(claim.claimed_at.start, "claimed_start", "claimed event (start)"))
        if claim.claimed_at.end != claim.claimed_at.start:
            events.append(_event(claim.claimed_at.end, "claimed_end", "claimed event (end)"))
    if claim.posted_at:
        events.append(_event(claim.posted_at, "posted", "claim posted (claim file)"))
    if report.page is not None:
        events.append(_event(getattr(report.page, "published_at", None), "posted",
                             "page published"))
    for item in report.media:
        summary = item.summary
        events.append(_event(getattr(summary, "captured_at", None), "captured",
                             f"{item.name} captured", item.id))
        events.append(_event(getattr(summary, "modified_at", None), "modified",
                             f"{item.name} modified (per its metadata)", item.id))
        headers = getattr(item.fetched, "headers", None) or {}
        lm = next((v for k, v in headers.items() if k.lower() == "last-modified"), None)
        if lm:
            from email.utils import parsedate_to_datetime

            with contextlib.suppress(TypeError, ValueError):
                events.append(_event(parsedate_to_datetime(lm), "last_modified",
                                     f"{item.name} Last-Modified", item.id))
        for m in item.matches:
            events.append(_event(getattr(m, "first_seen", None), "first_seen",
                                 f"archived {getattr(m, 'name', '?')} first seen", item.id))
    unique = {(e["when"], e["what"], e["label"]): e for e in events if e}
    return sorted(unique.values(), key=_sort_key)
