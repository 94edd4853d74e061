"""Checks on a claim's spread (osintkit/spread.py): copies of the claim's media among its
URLs that were posted too early, or that someone edited on the way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from osintkit.checks import CheckContext, Finding, check

if TYPE_CHECKING:  # the spread stage's dataclasses (imported for the types only)
    from osintkit.spread import Appearance, SpreadGroup

POST_SLACK = timedelta(seconds=60)  # clocks of two posts: a minute is "the same time"
ALTERATIONS = ("mirrored", "rotated", "cropped", "padded", "logo_added", "caption_added",
               "logo_removed", "caption_removed")


def _moment(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _claimant_post(ctx: CheckContext, group: SpreadGroup) -> Appearance | None:
    """The appearance on the claim's first URL (the claimant's own post, listed first)."""
    first = ctx.claim.urls[0] if ctx.claim.urls else None
    by_id = {m.id: m for m in ctx.media}
    for app in group.appearances:
        item = by_id.get(app.media_id)
        origin = (item.origin if item is not None else None) or {}
        if first is not None and origin.get("claim_url") == first:
            return app
    return None


def _evidence(group: SpreadGroup, app: Appearance, **extra: Any) -> dict[str, Any]:
    return {"group": group.media_ids, "url": app.url, "media_url": app.media_url,
            "posted_at": app.posted_at, "posted_from": app.posted_from,
            "forwarded_from": app.forwarded_from, **extra}


@check("EARLIER_COPY_IN_CLAIM_SPREAD", severity="medium", scope="claim")
def earlier_copy(ctx: CheckContext) -> list[Finding]:
    """A copy among the claim's URLs was posted before the claimed event, or before the
    claimant's own post."""
    out = []
    win = ctx.claim.claimed_at
    for group in ctx.spread:
        own = _claimant_post(ctx, group)
        own_at = _moment(own.posted_at) if own is not None else None
        for app in group.appearances:
            at = _moment(app.posted_at)
            if at is None or app is own:
                continue
            if win is not None and at < win.start - ctx.tolerance:
                out.append(ctx.finding(
                    f"{app.url} carried this {group.kind} on {app.posted_at}, before the "
                    f"claimed event ({win.raw}).",
                    _evidence(group, app, claimed_start=win.start.isoformat()),
                    media=app.media_id))
            elif own_at is not None and at < own_at - POST_SLACK:
                out.append(ctx.finding(
                    f"{app.url} carried this {group.kind} on {app.posted_at}, before the "
                    f"claimant's own post ({own.url}, {own.posted_at}): the claimant may not "
                    "be its source.",
                    _evidence(group, app, claimant_post=own.url,
                              claimant_posted_at=own.posted_at), media=app.media_id))
    return out


@check("ALTERED_COPY_IN_SPREAD", severity="info", scope="claim")
def altered_copy(ctx: CheckContext) -> list[Finding]:
    """A re-post crops, mirrors, rotates or overlays an earlier copy."""
    out = []
    for group in ctx.spread:
        first = group.earliest or group.appearances[0]
        for app in group.appearances:
            changed = [e for e in app.edits if e in ALTERATIONS]
            if app is first or not changed:
                continue
            out.append(ctx.finding(
                f"{app.url} shows {first.url}'s {group.kind} {app.transform}.",
                _evidence(group, app, earlier=first.url, earlier_posted_at=first.posted_at,
                          edits=app.edits, relation=app.relation), media=app.media_id))
    return out
