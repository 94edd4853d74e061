"""Report stage: a level for each media item under the claim's verdict.

A claim is contradicted as soon as one item is recycled, which must not bury another item
that fits the claim. Each item gets its own level, by these rules (in order):

1. `unchecked`    — the item could not be read, or nothing about it could be compared
                    (no archive searched, no capture time, no GPS to hold against the claim).
2. `recycled`     — an archived copy, or a shot of an archived video, predates the claim.
3. `inconsistent` — a `high` or `medium` finding on the item, or two `low` ones.
4. `consistent`   — what could be checked agrees with the claim (consistency, not proof).

`basis` lists what was compared, so "consistent" always says on what grounds.
"""

from __future__ import annotations

from typing import Any

from osintkit.checks import SEVERITY_RANK

LEVELS = ("unchecked", "consistent", "inconsistent", "recycled")
RECYCLED = ("ARCHIVE_MATCH_PREDATES_CLAIM",)  # always recycled
# recycled when evidence.predates_claim
RECYCLED_IF_OLDER = ("VIDEO_SEGMENT_IN_ARCHIVE", "ARCHIVED_PHOTO_IN_VIDEO")


def is_recycling(finding: Any) -> bool:
    """True for a finding that shows the item was published before the claim."""
    if finding.code in RECYCLED:
        return True
    return finding.code in RECYCLED_IF_OLDER and bool(finding.evidence.get("predates_claim"))


def _basis(item: Any, claim: Any, archive: dict[str, Any]) -> list[str]:
    summary = item.summary
    out = []
    if archive.get("searched") and archive.get("items") and item.hashes is not None:
        n = len(item.matches)
        out.append(f"archive: {n} match{'es' if n != 1 else ''} in {archive.get('items', 0)} "
                   "archived items")
    if getattr(summary, "captured_at", None) and claim.claimed_at is not None:
        out.append(f"time: captured {summary.captured_at}")
    gps = getattr(summary, "gps", None)
    if gps is not None and getattr(gps, "lat", None) is not None and claim.place is not None \
            and not (gps.lat == 0 and gps.lon == 0):
        out.append(f"place: GPS {gps.lat:.5f}, {gps.lon:.5f}")
    return out


def media_level(item: Any, findings: list[Any], claim: Any,
                archive: dict[str, Any]) -> dict[str, Any]:
    """{level, basis, findings} for one media item (rules in the module docstring)."""
    own = [f for f in findings if f.media == item.id]
    codes = [f.code for f in own if f.severity != "info"]
    if not item.ok:
        return {"level": "unchecked", "basis": [f"not read: {item.error.message}"],
                "findings": codes}
    basis = _basis(item, claim, archive)
    if any(is_recycling(f) for f in own):
        level = "recycled"
    elif any(SEVERITY_RANK[f.severity] >= SEVERITY_RANK["medium"] for f in own) or \
            sum(f.severity == "low" for f in own) >= 2:
        level = "inconsistent"
    elif basis:
        level = "consistent"
    else:
        level = "unchecked"
        basis = ["nothing to compare: no archive searched, no capture time or GPS "
                 "against the claim"]
    return {"level": level, "basis": basis, "findings": codes}


def media_levels(media: list[Any], findings: list[Any], claim: Any,
                 archive: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """media id -> media_level(...) for every item of the claim."""
    return {m.id: media_level(m, findings, claim, archive) for m in media}
