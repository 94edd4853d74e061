"""Checks on archive matches: is the media recycled from older, known material?

A match is "exact", "near" (a copy of the archived picture) or "scene" (another shot of
the same scene, osintkit/match/sameshot.py). Only copies make the picture recycled; another
shot says the place was photographed before (`SAME_SCENE_IN_ARCHIVE`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from osintkit.checks import CheckContext, Finding, MediaItem, check, parse_when


def _by_item(item: MediaItem, kinds: tuple[str, ...] = ("exact", "near")) -> list[list[Any]]:
    """The item's matches of these kinds grouped per archived item, best group first."""
    groups: dict[Any, list[Any]] = {}
    for m in item.matches:
        if getattr(m, "match", "near") not in kinds:
            continue
        groups.setdefault(getattr(m, "item_id", None) or getattr(m, "sha256", id(m)), []).append(m)
    return list(groups.values())


def _predates(ctx: CheckContext, match: Any) -> bool | None:
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


def _match_evidence(match: Any) -> dict[str, Any]:
    keys = ("item_id", "name", "sha256", "source", "first_seen", "title", "kind",
            "distance", "transform", "match", "query_t", "item_t",
            "query_region", "query_view", "item_view", "geometry",  # views.py, geometry.py
            "shot", "basis",  # sameshot.py, robust.py
            "source_url", "posted_at")  # the archived post (archive/provenance.py)
    return {k: getattr(match, k, None) for k in keys}


def _claimed(ctx: CheckContext) -> str:
    win = ctx.claim.claimed_at
    return win.raw if win else "?"


def _image_matches(ctx: CheckContext) -> list[tuple[Any, bool | None]]:
    """(best match per archived item, predates the claim?) for a picture; [] for a video."""
    item = ctx.item
    if item is None or item.kind == "video":
        return []
    return [(group[0], _predates(ctx, group[0])) for group in _by_item(item)]


@check("ARCHIVE_MATCH_PREDATES_CLAIM", severity="high")
def archive_match_predates(ctx: CheckContext) -> list[Finding]:
    """An archived copy of this picture was first seen before the claimed event."""
    out = []
    for best, predates in _image_matches(ctx):
        if predates:
            out.append(ctx.finding(
                f"Archived copy {best.name!s} ({best.source}) was first seen on "
                f"{best.first_seen}, before the claimed date {_claimed(ctx)}: "
                "the picture is recycled.", _match_evidence(best)))
    return out


@check("ARCHIVE_MATCH", severity="info")
def archive_match(ctx: CheckContext) -> list[Finding]:
    """An archived copy exists but is not older than the claimed event (or no date)."""
    out = []
    for best, predates in _image_matches(ctx):
        if predates:
            continue
        if predates is not None:
            why = f"not before the claimed date {_claimed(ctx)}"
        elif ctx.claim.claimed_at is None:
            why = "the claim gives no date to compare"
        else:
            why = "the archive records no first-seen date"
        out.append(ctx.finding(
            f"Archived copy {best.name!s} ({best.source}) first seen {best.first_seen}: "
            f"{why}.", _match_evidence(best)))
    return out


@check("SAME_SCENE_IN_ARCHIVE", severity="medium")
def same_scene(ctx: CheckContext) -> list[Finding]:
    """Another shot of the same scene is archived (not a copy): medium when it was first
    seen before the claimed event, info otherwise."""
    item = ctx.item
    if item is None or item.kind == "video":
        return []
    out = []
    for group in _by_item(item, ("scene",)):
        best = group[0]
        predates = _predates(ctx, best)
        geo = getattr(best, "geometry", None) or {}
        shot = getattr(best, "shot", None) or {}
        why = shot.get("reason") or "the pixels differ after alignment"
        when = (f"first seen {best.first_seen}, before the claimed date {_claimed(ctx)}: this "
                "place was photographed before; compare the two"
                if predates else f"first seen {best.first_seen}")
        out.append(ctx.finding(
            f"Archived photo {best.name!s} ({best.source}) shows the same scene from another "
            f"shot ({geo.get('inliers', '?')} matching points; {why}), {when}. Not a copy: "
            "the picture itself is not shown to be recycled.",
            {**_match_evidence(best), "predates_claim": predates},
            severity="medium" if predates else "info"))
    return out


@check("MIRRORED_OR_ROTATED_COPY", severity="medium")
def mirrored_or_rotated(ctx: CheckContext) -> list[Finding]:
    """The archive match needed a flip or a rotation: a disguised copy."""
    item = ctx.item
    out = []
    for group in _by_item(item) if item else []:
        flipped = [m for m in group if getattr(m, "transform", "none") not in (None, "none")]
        if flipped:
            m = flipped[0]
            out.append(ctx.finding(
                f"Matches archived {m.name!s} only after a {m.transform} transform: "
                "a flipped or rotated copy.", _match_evidence(m)))
    return out


def _segments(ctx: CheckContext, group: list[Any]) -> list[dict[str, Any]]:
    """Time ranges of a video match: query start-end <-> archive start-end (segments.py)."""
    from osintkit.match.segments import segments_from_matches

    pairs = [fm for m in group for fm in (getattr(m, "frame_matches", None) or [])
             if getattr(fm, "query_t", None) is not None]
    if not pairs:
        pairs = [m for m in group if getattr(m, "query_t", None) is not None]
    frames = getattr(ctx.item.hashes, "frames", None) or [] if ctx.item else []
    times = [f.t for f in frames] or None
    return [s.to_dict() for s in segments_from_matches(pairs, times)]


def _fmt_range(seg: dict[str, Any]) -> str:
    qs, qe = seg.get("query_start"), seg.get("query_end")
    if qs is None:
        return ""
    return f" ({float(qs):.1f}-{float(qe if qe is not None else qs):.1f} s)"


@check("VIDEO_SEGMENT_IN_ARCHIVE", severity="high")
def video_segment(ctx: CheckContext) -> list[Finding]:
    """A shot of this video is in the archive; high when the archived copy is older."""
    item = ctx.item
    if item is None or item.kind != "video":
        return []
    out = []
    for group in _by_item(item):
        best = group[0]
        predates = _predates(ctx, best)
        segs = _segments(ctx, group)
        when = (f"first seen {best.first_seen}, before the claimed date {_claimed(ctx)}"
                if predates else f"first seen {best.first_seen}")
        out.append(ctx.finding(
            f"A shot{_fmt_range(segs[0]) if segs else ''} matches archived "
            f"{best.name!s} ({best.source}), {when}.",
            {**_match_evidence(best), "predates_claim": predates, "segments": segs,
             "frames_matched": len(group)},
            severity="high" if predates else "info"))
    return out


def first_seen_datetime(match: Any) -> datetime | None:
    """A match's first_seen as an aware datetime (UTC midnight for a bare date)."""
    seen = parse_when(getattr(match, "first_seen", None))
    if seen is not None and seen.tzinfo is None:
        seen = seen.replace(tzinfo=UTC)
    return seen
