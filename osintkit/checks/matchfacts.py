"""What the archive checks (checks/archive.py, checks/video.py) read off a media item's
matches: the matches grouped per archived item, whether an archived copy predates the
claim, the evidence a finding carries, and a video match's times as words."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from osintkit.checks import CheckContext, MediaItem, parse_when


def by_item(item: MediaItem, kinds: tuple[str, ...] = ("exact", "near")) -> list[list[Any]]:
    """The item's matches of these kinds grouped per archived item, best group first."""
    groups: dict[Any, list[Any]] = {}
    for m in item.matches:
        if getattr(m, "match", "near") not in kinds:
            continue
        groups.setdefault(getattr(m, "item_id", None) or getattr(m, "sha256", id(m)), []).append(m)
    return list(groups.values())


def predates(ctx: CheckContext, match: Any) -> bool | None:
    """True when the archived copy was first seen before the claimed event (None: unknown)."""
    seen = parse_when(getattr(match, "first_seen", None))
    if seen is None or ctx.claim.claimed_at is None:
        return None
    if seen.tzinfo is None:
        seen = seen.replace(tzinfo=UTC)
    # first_seen is a day: the copy predates the event when that whole day lies more
    # than the tolerance before the claimed start.
    return seen.date() < (ctx.claim.claimed_at.start - ctx.tolerance).astimezone(
        UTC).date()


def match_evidence(match: Any) -> dict[str, Any]:
    keys = ("item_id", "name", "sha256", "source", "first_seen", "title", "kind",
            "distance", "transform", "match", "query_t", "item_t",
            "query_region", "query_view", "item_view", "geometry",  # views.py, geometry.py
            "shot", "basis",  # sameshot.py, robust.py
            "source_url", "posted_at",  # the archived post (archive/provenance.py)
            "segments")  # video queries: times in the query <-> in the archived item
    return {k: getattr(match, k, None) for k in keys}


def claimed(ctx: CheckContext) -> str:
    win = ctx.claim.claimed_at
    return win.raw if win else "?"


def span(seg: dict[str, Any], item: bool = False) -> str:
    """"2.0–6.0 s": a segment's times in the query (`item`: in the archived item)."""
    a, b = ("item_start", "item_end") if item else ("query_start", "query_end")
    return f"{float(seg[a]):.1f}–{float(seg[b]):.1f} s"


def when(match: Any) -> str:
    """" at 2.0–6.0 s (archive 10.0–14.0 s)" for a video match's segments ("" without)."""
    return times(getattr(match, "segments", None) or [])


def times(segs: list[dict[str, Any]]) -> str:
    """" at 2.0–6.0 s (archive 10.0–14.0 s), ..." for segments ("" without)."""
    if not segs:
        return ""
    parts = []
    for s in segs[:3]:
        tail = f" (archive {'about ' if s.get('approximate') else ''}{span(s, True)})" \
            if s.get("item_start") is not None else ""
        parts.append(span(s) + tail)
    more = f" and {len(segs) - 3} more" if len(segs) > 3 else ""
    return " at " + ", ".join(parts) + more
