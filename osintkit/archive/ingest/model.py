"""What `archive add URL|EVIDENCE_DIR` takes (IngestOptions) and tells (IngestResult)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from osintkit.errors import ErrorInfo, InputError

TITLE_CHARS = 160  # a post's text, trimmed, is the archived item's title


@dataclass
class IngestOptions:
    """How to walk and archive. Dates are aware datetimes (UTC when given as a date)."""

    evidence: Path | None = None  # where walks and fetches keep their evidence
    since: datetime | None = None  # oldest post to archive (a channel walk stops there)
    until: datetime | None = None  # newest post to archive (newer ones are passed over)
    max_posts: int | None = None  # new posts archived per channel, then stop
    delay: float = 1.0  # seconds between two channel pages (politeness)
    max_wait: float = 300.0  # longest Retry-After honoured on a 429/503
    retries: int = 4
    source: str | None = None  # overrides the source name (default: @channel or the host)
    tags: tuple[str, ...] = ()
    allow_private: bool = False
    allow_networks: tuple[str, ...] = ()
    timeout: float = 30.0
    max_bytes: int = 200_000_000
    proxy: str | None = None


@dataclass
class IngestResult:
    """What one target (channel, post, page or evidence folder) added to the archive."""

    target: str
    kind: str  # "channel" | "post" | "page" | "evidence"
    ok: bool = True
    pages: int = 0  # channel pages read
    posts: int = 0  # posts archived by this run
    known_posts: int = 0  # posts skipped: archived by an earlier run
    added: int = 0  # media items new to the archive
    updated: int = 0  # already archived, provenance changed (earlier copy, source URL)
    unchanged: int = 0
    failed: int = 0  # media that could not be fetched or read
    first_post: str | None = None  # time of the oldest post archived
    last_post: str | None = None
    stopped: str | None = None  # why a walk ended
    evidence: str | None = None
    notes: list[str] = field(default_factory=list)
    errors: list[ErrorInfo] = field(default_factory=list)  # per media item
    error: ErrorInfo | None = None  # the target itself failed

    @property
    def path(self) -> str:  # what the CLI's emit_results names on failure
        return self.target

    def count(self, status: str) -> None:
        setattr(self, status, getattr(self, status) + 1)

    def saw_post(self, when: str | None) -> None:
        if when:
            self.first_post = min(self.first_post or when, when)
            self.last_post = max(self.last_post or when, when)

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "kind": self.kind, "ok": self.ok, "pages": self.pages,
                "posts": self.posts, "known_posts": self.known_posts, "added": self.added,
                "updated": self.updated, "unchanged": self.unchanged, "failed": self.failed,
                "first_post": self.first_post, "last_post": self.last_post,
                "stopped": self.stopped, "evidence": self.evidence, "notes": self.notes,
                "errors": [e.to_dict() for e in self.errors],
                "error": self.error.to_dict() if self.error else None}


Progress = Callable[[dict[str, Any]], None]  # {"event": "page"|"post"|..., ...}


def utc_iso(value: str | None) -> str | None:
    """A post time as UTC ISO 8601 (seconds), the form first_seen takes for posts."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def parse_bound(text: str | None, end: bool = False) -> datetime | None:
    """--since/--until: a date (its start, or for --until its end) or an ISO datetime."""
    if not text:
        return None
    raw = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            day = datetime.combine(date.fromisoformat(raw), time(0), UTC)
            return day + timedelta(days=1) - timedelta(microseconds=1) if end else day
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"bad date {raw!r} (use YYYY-MM-DD or an ISO 8601 time)",
                         code="bad_date") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def trim_title(text: str | None) -> str | None:
    """The post text as one line, at most TITLE_CHARS characters."""
    if not text:
        return None
    one = " ".join(text.split())
    return one if len(one) <= TITLE_CHARS else one[:TITLE_CHARS - 1].rstrip() + "…"
