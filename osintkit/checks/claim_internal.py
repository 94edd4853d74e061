"""Checks across the media of one claim: the same picture used twice."""

from __future__ import annotations

from typing import Any

from osintkit.checks import CheckContext, Finding, MediaItem, check


def _pdq(item: MediaItem) -> str | None:
    value = item.hashes.hashes.get("pdq") if item.hashes is not None else None
    return value if isinstance(value, str) else None


def _same(a: MediaItem, b: MediaItem) -> dict[str, Any] | None:
    sa = a.hashes.sha256 if a.hashes is not None else None
    sb = b.hashes.sha256 if b.hashes is not None else None
    if sa and sa == sb:
        return {"how": "identical bytes", "sha256": sa}
    pa, pb = _pdq(a), _pdq(b)
    if a.kind == "image" and b.kind == "image" and pa and pb:
        from osintkit.match.hashing import PDQ_NEAR, hamming

        dist = hamming(pa, pb)
        if dist <= PDQ_NEAR:  # the PDQ authors' recommended match threshold
            return {"how": "same picture (PDQ)", "pdq_distance": dist}
    return None


def _other_url(a: MediaItem, b: MediaItem) -> bool:
    ua = (a.origin or {}).get("claim_url")
    ub = (b.origin or {}).get("claim_url")
    return bool(ua and ub and ua != ub)


@check("DUPLICATE_WITHIN_CLAIM", severity="low", scope="claim")
def duplicate_within_claim(ctx: CheckContext) -> list[Finding]:
    """The same picture appears more than once in the claim (padding the evidence); copies
    on different URLs of the claim are its spread, not padding."""
    items = [m for m in ctx.media if m.ok and m.hashes is not None]
    out = []
    seen: set[str] = set()
    for i, a in enumerate(items):
        for b in items[i + 1:]:
            if b.id in seen or _other_url(a, b):
                continue  # copies on different URLs of one claim: its spread (spread.py)
            same = _same(a, b)
            if same:
                seen.add(b.id)
                out.append(ctx.finding(f"{b.name} is the same picture as {a.name} "
                                       f"({same['how']}).",
                                       {**same, "first": a.id, "duplicate": b.id},
                                       media=b.id))
    return out
