"""Checks on metadata: editing software, stripped camera metadata."""

from __future__ import annotations

import re
from typing import Any

from osintkit.checks import CheckContext, Finding, check

# Names of editors found in Software / XMP history / video encoder tags. Camera firmware
# and plain encoders (Lavf, libx264) are not editing and are not listed.
EDITORS = ("Photoshop", "Lightroom", "Adobe Premiere", "After Effects", "GIMP", "Affinity",
           "Pixelmator", "Paint.NET", "Snapseed", "PicsArt", "Facetune", "Canva", "CapCut",
           "Final Cut", "DaVinci Resolve", "iMovie", "Luminar", "Capture One", "darktable",
           "RawTherapee", "Krita", "Corel", "PaintShop", "ACDSee", "Fotor", "VSCO", "InShot")
_EDITOR_RE = re.compile("|".join(re.escape(e) for e in EDITORS), re.IGNORECASE)


def _software_strings(ctx: CheckContext) -> list[tuple[str, str]]:
    summary = ctx.item.summary if ctx.item else None
    out = []
    if summary is not None and summary.software:
        out.append(("Software", str(summary.software)))
    for entry in summary.software_history if summary is not None else []:
        out.append(("XMP history", str(entry)))
    metadata = ctx.item.metadata if ctx.item else None
    video = metadata.video if metadata is not None else None
    if isinstance(video, dict):
        for key in ("encoder", "software", "handler_name"):
            if video.get(key):
                out.append((f"video {key}", str(video[key])))
    return out


@check("EDITING_SOFTWARE", severity="low")
def editing_software(ctx: CheckContext) -> Finding | None:
    """Software or the XMP history names an editing program."""
    hits: list[dict[str, Any]] = []
    for where, text in _software_strings(ctx):
        m = _EDITOR_RE.search(text)
        if m:
            hits.append({"field": where, "value": text, "editor": m.group(0)})
    if not hits:
        return None
    names = sorted({h["editor"] for h in hits}, key=str.lower)
    return ctx.finding(f"Edited with {', '.join(names)} (per {hits[0]['field']}).",
                       {"editors": names, "fields": hits})


@check("METADATA_STRIPPED", severity="info")
def metadata_stripped(ctx: CheckContext) -> Finding | None:
    """No camera metadata at all (normal for files passed through messaging platforms)."""
    summary = ctx.item.summary if ctx.item else None
    if summary is None:
        return None
    keys = ("captured_at", "make", "model", "gps")
    if any(getattr(summary, k) for k in keys):  # the fields named in `keys`
        return None
    return ctx.finding("No camera metadata (capture time, camera, GPS): typical of files "
                       "re-encoded by messaging platforms; nothing to compare.",
                       {"missing": list(keys)})
