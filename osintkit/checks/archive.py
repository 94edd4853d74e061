"""Checks on archive matches: is the media recycled from older, known material?

A match is "exact", "near" (a copy of the archived picture) or "scene" (another shot of
the same scene, osintkit/match/sameshot.py). Only copies make the picture recycled; another
shot says the place was photographed before (`SAME_SCENE_IN_ARCHIVE`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from osintkit.checks import CheckContext, Finding, check, parse_when
from osintkit.checks import matchfacts as mf


def _image_matches(ctx: CheckContext) -> list[tuple[Any, bool | None]]:
    """(best match per archived item, predates the claim?) for a picture; [] for a video."""
    item = ctx.item
    if item is None or item.kind == "video":
        return []
    return [(group[0], mf.predates(ctx, group[0])) for group in mf.by_item(item)]


@check("ARCHIVE_MATCH_PREDATES_CLAIM", severity="high")
def archive_match_predates(ctx: CheckContext) -> list[Finding]:
    """An archived copy of this picture was first seen before the claimed event."""
    out = []
    for best, predates in _image_matches(ctx):
        if predates:
            out.append(ctx.finding(
                f"Archived copy {best.name!s} ({best.source}) was first seen on "
                f"{best.first_seen}, before the claimed date {mf.claimed(ctx)}: "
                "the picture is recycled.", mf.match_evidence(best)))
    return out


@check("ARCHIVE_MATCH", severity="info")
def archive_match(ctx: CheckContext) -> list[Finding]:
    """An archived copy exists but is not older than the claimed event (or no date)."""
    out = []
    for best, predates in _image_matches(ctx):
        if predates:
            continue
        if predates is not None:
            why = f"not before the claimed date {mf.claimed(ctx)}"
        elif ctx.claim.claimed_at is None:
            why = "the claim gives no date to compare"
        else:
            why = "the archive records no first-seen date"
        out.append(ctx.finding(
            f"Archived copy {best.name!s} ({best.source}) first seen {best.first_seen}: "
            f"{why}.", mf.match_evidence(best)))
    return out


@check("SAME_SCENE_IN_ARCHIVE", severity="medium")
def same_scene(ctx: CheckContext) -> list[Finding]:
    """Another shot of the same scene is archived (not a copy): medium when it was first
    seen before the claimed event, info otherwise. For a video, the times of the shots
    (checks/video.py `when`)."""
    item = ctx.item
    if item is None:
        return []
    out = []
    for group in mf.by_item(item, ("scene",)):
        best = group[0]
        times = mf.when(best) if item.kind == "video" else ""
        predates = mf.predates(ctx, best)
        geo = getattr(best, "geometry", None) or {}
        shot = getattr(best, "shot", None) or {}
        why = shot.get("reason") or "the pixels differ after alignment"
        when = (f"first seen {best.first_seen}, before the claimed date {mf.claimed(ctx)}: this "
                "place was photographed before; compare the two"
                if predates else f"first seen {best.first_seen}")
        what = "video" if best.kind == "video" else "photo"
        out.append(ctx.finding(
            f"Archived {what} {best.name!s} ({best.source}) shows the same scene from another "
            f"shot{times} ({geo.get('inliers', '?')} matching points; {why}), {when}. Not a "
            "copy: the picture itself is not shown to be recycled.",
            {**mf.match_evidence(best), "predates_claim": predates},
            severity="medium" if predates else "info"))
    return out


@check("MIRRORED_OR_ROTATED_COPY", severity="medium")
def mirrored_or_rotated(ctx: CheckContext) -> list[Finding]:
    """The archive match needed a flip or a rotation: a disguised copy."""
    item = ctx.item
    out = []
    for group in mf.by_item(item) if item else []:
        flipped = [m for m in group if getattr(m, "transform", "none") not in (None, "none")]
        if flipped:
            m = flipped[0]
            out.append(ctx.finding(
                f"Matches archived {m.name!s} only after a {m.transform} transform: "
                "a flipped or rotated copy.", mf.match_evidence(m)))
    return out


def first_seen_datetime(match: Any) -> datetime | None:
    """A match's first_seen as an aware datetime (UTC midnight for a bare date)."""
    seen = parse_when(getattr(match, "first_seen", None))
    if seen is not None and seen.tzinfo is None:
        seen = seen.replace(tzinfo=UTC)
    return seen
