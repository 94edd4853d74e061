"""Checks on time: capture, posting and server dates against the claimed window.

All comparisons are timezone-aware. A capture time recorded without its UTC offset is
read in the claim's zone when the claim gives one; otherwise the widest UTC offset
(14 h) is added to the tolerance, so a naive camera clock never fires a false alarm.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from osintkit.checks import CheckContext, Finding, check, parse_when

WIDEST_OFFSET = timedelta(hours=14)


def _hours(delta: timedelta) -> float:
    return round(delta.total_seconds() / 3600, 2)


def _days_text(delta: timedelta) -> str:
    hours = abs(delta.total_seconds()) / 3600
    return f"{hours / 24:,.1f} days" if hours >= 48 else f"{hours:,.1f} hours"


def capture_time(ctx: CheckContext) -> tuple[datetime, timedelta, dict[str, Any]] | None:
    """(aware capture time, extra tolerance, evidence) of ctx.item, None when unknown."""
    summary = ctx.item.summary if ctx.item else None
    raw = summary.captured_at if summary is not None else None
    when = parse_when(raw)
    if when is None or summary is None:
        return None
    ev: dict[str, Any] = {"captured_at": raw, "captured_at_source": summary.captured_at_source}
    extra = timedelta(0)
    if when.tzinfo is None:
        win = ctx.claim.claimed_at
        if win is not None and not win.assumed_zone:
            when = when.replace(tzinfo=win.start.tzinfo)
            ev["zone"] = "claim's zone (no offset recorded)"
        else:
            when = when.replace(tzinfo=UTC)
            extra = WIDEST_OFFSET
            ev["zone"] = "unknown (no offset recorded): tolerance widened by 14 h"
    return when, extra, ev


def _post_date(ctx: CheckContext) -> str | None:
    """The date of the post (e.g. a Telegram message) the current item came from."""
    fetched = ctx.item.fetched if ctx.item else None
    post_id = fetched.post_id if fetched is not None else None
    for post in ctx.page.posts if ctx.page is not None else []:
        if post_id and post.post_id == post_id:
            return post.published_at
    return None


def posted_time(ctx: CheckContext) -> tuple[datetime, str] | None:
    """When the claim was posted: the claim file's posted_at, else the item's post's date,
    else the fetched page's date."""
    if ctx.claim.posted_at is not None:
        return ctx.claim.posted_at, "claim file"
    published, source = parse_when(_post_date(ctx)), "post"
    if published is None:
        page_date = ctx.page.published_at if ctx.page is not None else None
        published, source = parse_when(page_date), "page"
    if published is None:
        return None
    if published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    return published, source


def _window_evidence(ctx: CheckContext, extra: timedelta) -> dict[str, Any]:
    win = ctx.claim.claimed_at
    assert win is not None
    return {"claim_start": win.start.isoformat(), "claim_end": win.end.isoformat(),
            "tolerance_hours": _hours(ctx.tolerance + extra)}


@check("CAPTURE_TIME_BEFORE_CLAIM", severity="medium")
def capture_before_claim(ctx: CheckContext) -> Finding | None:
    """The capture time in the metadata is before the claimed event (beyond the tolerance)."""
    got = capture_time(ctx)
    if got is None:
        return None
    when, extra, ev = got
    return _before_event(ctx, when, f"Captured {when.isoformat()}", ev, extra)


@check("CAPTURE_TIME_AFTER_POST", severity="medium")
def capture_after_post(ctx: CheckContext) -> Finding | None:
    """The capture time is after the claim was posted: the clock or the story is wrong."""
    got, posted = capture_time(ctx), posted_time(ctx)
    if got is None or posted is None:
        return None
    when, extra, ev = got
    gap = when - posted[0]
    tol = ctx.tolerance + extra
    if gap <= tol:
        return None
    return ctx.finding(f"Captured {when.isoformat()}, {_days_text(gap)} after the claim was "
                       f"posted ({posted[0].isoformat()}).",
                       {**ev, "posted_at": posted[0].isoformat(), "posted_at_source": posted[1],
                        "tolerance_hours": _hours(tol), "gap_hours": _hours(gap)})


@check("CAPTURE_TIME_WITHIN_CLAIM", severity="info")
def capture_within_claim(ctx: CheckContext) -> Finding | None:
    """The capture time falls inside the claimed window (with the tolerance)."""
    got, win = capture_time(ctx), ctx.claim.claimed_at
    if got is None or win is None:
        return None
    when, extra, ev = got
    tol = ctx.tolerance + extra
    if not (win.start - tol <= when <= win.end + tol):
        return None
    if win.start <= when <= win.end:
        where, strict = f"within the claimed window ({win.raw})", True
    else:  # only the slack for zones and camera clocks brings it in: say so
        side = "before" if when < win.start else "after"
        gap = (win.start - when) if when < win.start else (when - win.end)
        where = (f"{_days_text(gap)} {side} the claimed window ({win.raw}): within the "
                 f"window plus the {_hours(tol):g} h tolerance")
        strict = False
    return ctx.finding(f"Captured {when.isoformat()}, {where}.",
                       {**ev, **_window_evidence(ctx, extra), "inside_window": strict})


def _before_event(ctx: CheckContext, when: datetime, what: str, evidence: dict[str, Any],
                  extra: timedelta = timedelta(0)) -> Finding | None:
    """A finding when `when` is before the claimed event by more than the tolerance
    (+ `extra`)."""
    win = ctx.claim.claimed_at
    if win is None or win.start - when <= ctx.tolerance + extra:
        return None
    gap = win.start - when
    return ctx.finding(f"{what}, {_days_text(gap)} before the claimed event ({win.raw}).",
                       {**evidence, **_window_evidence(ctx, extra), "gap_hours": _hours(gap)})


@check("POSTED_BEFORE_EVENT", severity="high", scope="claim")
def posted_before_event(ctx: CheckContext) -> Finding | None:
    """The page or post carrying the claim was published before the claimed event."""
    posted = posted_time(ctx)
    if posted is None:
        return None
    return _before_event(ctx, posted[0], f"The post was published {posted[0].isoformat()} "
                                         f"({posted[1]})",
                         {"posted_at": posted[0].isoformat(), "posted_at_source": posted[1],
                          "url": ctx.page.final_url if ctx.page is not None else None})


def last_modified(ctx: CheckContext) -> tuple[datetime, str] | None:
    """The Last-Modified header the server sent with the item, parsed (aware)."""
    fetched = ctx.item.fetched if ctx.item else None
    headers = fetched.headers if fetched is not None else None
    raw = next((v for k, v in (headers or {}).items() if k.lower() == "last-modified"), None)
    if not raw:
        return None
    try:
        when = parsedate_to_datetime(str(raw))
    except (TypeError, ValueError):
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)), str(raw)


@check("SERVER_DATE_BEFORE_CLAIM", severity="medium")
def server_date_before_claim(ctx: CheckContext) -> Finding | None:
    """The server's Last-Modified date for the file is before the claimed event."""
    got = last_modified(ctx)
    if got is None:
        return None
    fetched = ctx.item.fetched if ctx.item else None
    return _before_event(ctx, got[0], "The server says the file was last modified "
                                      f"{got[0].isoformat()}",
                         {"last_modified": got[1],
                          "url": fetched.url if fetched is not None else None})
