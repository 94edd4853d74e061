"""Checks on a video's archive matches: which stretches of it are archived footage
(`VIDEO_SEGMENT_IN_ARCHIVE`), and which archived photos it shows (`ARCHIVED_PHOTO_IN_VIDEO`:
a slideshow of old pictures, a photo filmed on a screen, a still inserted in a clip).

The times come from the archive search (osintkit/archive/videosearch.py, archive/videomatch.py):
each match of a video query carries `segments` -- query start-end <-> archive start-end,
or, for a photo, when it is shown. Another shot of the same scene is
`SAME_SCENE_IN_ARCHIVE` (checks/archive.py), with the times from `when`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from osintkit.checks import CheckContext, Finding, check
from osintkit.checks import matchfacts as mf


def _segments(ctx: CheckContext, group: list[Any]) -> list[dict[str, Any]]:
    """The segments of an archived item's match; for matches made without them (an
    exact copy, hash-only searches) the frame pairs are grouped here (segments.py)."""
    from osintkit.match.segments import segments_from_matches

    best = group[0]
    if getattr(best, "segments", None):
        return list(best.segments)
    if getattr(best, "match", None) == "exact":
        frames = getattr(getattr(ctx.item, "hashes", None), "frames", None) or []
        end = frames[-1].t if frames else 0.0
        return [{"query_start": 0.0, "query_end": end, "item_start": 0.0, "item_end": end,
                 "frames": len(frames), "speed": 1.0, "transform": "none"}]
    pairs = [fm for m in group for fm in (getattr(m, "frame_matches", None) or [])
             if getattr(fm, "query_t", None) is not None]
    if not pairs:
        pairs = [m for m in group if getattr(m, "query_t", None) is not None]
    frames = getattr(getattr(ctx.item, "hashes", None), "frames", None) or []
    times = [f.t for f in frames] or None
    return [s.to_dict() for s in segments_from_matches(pairs, times)]


def _how(match: Any, segs: list[dict[str, Any]]) -> str:
    """What disguised the copy, in words: mirrored, cropped, another speed..."""
    words = []
    geo = getattr(match, "geometry", None) or {}
    if geo.get("confirmed") and geo.get("explanation") and \
            geo["explanation"] != "same framing":
        words.append(geo["explanation"])
    elif getattr(match, "transform", "none") not in (None, "none"):
        words.append(str(match.transform))
    speeds = {round(float(s.get("speed") or 1.0), 2) for s in segs}
    for sp in sorted(speeds - {1.0}):
        words.append(f"played at {1 / sp:.0%} speed" if sp else "")
    view = getattr(match, "query_view", None)
    if view and view.startswith("content") and not geo.get("confirmed"):
        words.append("inside a larger frame")
    return f" ({', '.join(w for w in words if w)})" if words else ""


def _when_seen(ctx: CheckContext, best: Any, predates: bool | None) -> str:
    return (f"first seen {best.first_seen}, before the claimed date {mf.claimed(ctx)}"
            if predates else f"first seen {best.first_seen}")


def _archived(ctx: CheckContext, keep: Callable[[Any], bool]) -> Iterator[
        tuple[Any, list[Any], bool | None, list[dict[str, Any]]]]:
    """Per archived item this video matches that `keep(best match)` accepts: the best
    match, all its matches, whether it predates the claim, and its segments."""
    item = ctx.item
    if item is None or item.kind != "video":
        return
    for group in mf.by_item(item):
        best = group[0]
        if keep(best):
            yield best, group, mf.predates(ctx, best), _segments(ctx, group)


@check("VIDEO_SEGMENT_IN_ARCHIVE", severity="high")
def video_segment(ctx: CheckContext) -> list[Finding]:
    """Stretches of this video are archived footage (times on both sides); high when the
    archived video is older than the claimed event, info otherwise."""
    out = []
    for best, group, predates, segs in _archived(  # archived photos: ARCHIVED_PHOTO_IN_VIDEO
            ctx, lambda m: getattr(m, "kind", "video") in ("video", "hash")):
        lead = "The same file" if best.match == "exact" else \
            f"Footage{mf.times(segs)}"
        out.append(ctx.finding(
            f"{lead} matches archived video {best.name!s} ({best.source}){_how(best, segs)}, "
            f"{_when_seen(ctx, best, predates)}.",
            {**mf.match_evidence(best), "predates_claim": predates, "segments": segs,
             "frames_matched": sum(int(s.get("frames") or 0) for s in segs) or len(group)},
            severity="high" if predates else "info"))
    return out


@check("ARCHIVED_PHOTO_IN_VIDEO", severity="high")
def archived_photo_in_video(ctx: CheckContext) -> list[Finding]:
    """An archived photo is shown in this video (times when it is on screen): a
    slideshow of old pictures, a photo filmed on a screen, a still inserted in a clip;
    high when the photo is older than the claimed event, info otherwise."""
    out = []
    for best, _group, predates, segs in _archived(
            ctx, lambda m: getattr(m, "kind", None) == "image"):
        shown = ", ".join(mf.span(s) for s in segs[:4]) + (" ..." if len(segs) > 4 else "")
        tail = ": the video recycles an older picture" if predates else ""
        out.append(ctx.finding(
            f"Archived photo {best.name!s} ({best.source}) is shown at {shown or '?'}"
            f"{_how(best, segs)}, {_when_seen(ctx, best, predates)}{tail}.",
            {**mf.match_evidence(best), "predates_claim": predates, "segments": segs},
            severity="high" if predates else "info"))
    return out
