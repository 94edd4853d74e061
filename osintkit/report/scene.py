"""Report block "Same scene in the archive": for every archive match that is another
shot of the same scene (match "scene", osintkit/match/sameshot.py), the claim's picture and the
archived one side by side, with why it is not a copy. Rendered by the self-contained
template `_same_scene.html.j2`, included once in report.html.j2.

The archived picture comes from its file when the archive records a readable one, else
from the thumbnail the archive keeps (schema v5), so the pair shows even on a
colleague's archive whose files are elsewhere.
"""

from __future__ import annotations

import base64
from typing import Any


def image_uri(img: Any, side: int, quality: int = 80) -> str:
    """A picture as a JPEG data: URI, its longer side at most `side` pixels."""
    import io

    img = img.convert("RGB")
    img.thumbnail((side, side))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def stored_thumb_uri(match: Any) -> str | None:
    """The archive's stored thumbnail of a match as a data: URI (None without one)."""
    jpeg = getattr(match, "thumb_jpeg", None)
    if not jpeg:
        return None
    return "data:image/jpeg;base64," + base64.b64encode(bytes(jpeg)).decode("ascii")


def scene_pairs(report: Any, media_dicts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per (media item, archived other shot): the pictures and the reasons.

    `media_dicts` are the HTML context's media entries (thumbnails already made)."""
    by_code = {(f.media, (f.evidence or {}).get("item_id")): f for f in report.findings
               if f.code == "SAME_SCENE_IN_ARCHIVE"}
    out = []
    for item, md in zip(report.media, media_dicts, strict=True):
        for m, mm in zip(item.matches, md.get("matches") or [], strict=False):
            if getattr(m, "match", None) != "scene":
                continue
            finding = by_code.get((item.id, m.item_id))
            geo, shot = m.geometry or {}, m.shot or {}
            out.append({
                "media": item.id, "name": item.name, "archived": m.name,
                "source": m.source, "first_seen": m.first_seen,
                "severity": finding.severity if finding else "info",
                "claim_thumb": md.get("thumb"),
                "archive_thumb": mm.get("thumb") or stored_thumb_uri(m),
                "inliers": geo.get("inliers"), "explanation": geo.get("explanation"),
                "reason": shot.get("reason"), "agree": shot.get("agree"),
            })
    return out
