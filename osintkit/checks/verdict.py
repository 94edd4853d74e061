"""The verdict: documented rules over the findings. It never says a claim is true.

Rules, in order (docs/checks.md, "Verdict rules", repeats them):
1. `contradicted` — at least one `high` finding (recycled media, GPS far away,
   posted before the event...).
2. `suspicious` — at least one `medium` finding, or two or more `low` findings.
   Weak forensic indicators -- those measured to fire on more than 2% of untouched
   camera photos (checks/forensic_rates.json) -- are listed but not counted here, unless
   three or more different ones fire on the same media item (then they count as one
   `medium`): on their own or in pairs they do not make a claim suspicious.
3. `corroborated` — no finding above `info`, and at least one media item has both a
   GPS position near the claimed place and a capture time inside the claimed window.
   Metadata can be forged: corroborated means "consistent", never "true".
4. `no-contradiction-found` — everything else, including when nothing could be checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from osintkit.checks import SEVERITY_RANK, Finding

LEVELS = ("corroborated", "no-contradiction-found", "suspicious", "contradicted")
LEVEL_RANK = {name: i for i, name in enumerate(LEVELS)}
CORROBORATING = ("GPS_NEAR_CLAIMED_PLACE", "CAPTURE_TIME_WITHIN_CLAIM")
MAX_REASONS = 8


@dataclass
class Verdict:
    """The verdict level and the reasons behind it (most severe first)."""

    level: str
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "reasons": list(self.reasons)}


def _reasons(findings: list[Finding]) -> list[str]:
    out = [f"{f.code}{f' [{f.media}]' if f.media else ''}: {f.message}" for f in findings]
    if len(out) > MAX_REASONS:
        out = [*out[:MAX_REASONS], f"... and {len(out) - MAX_REASONS} more"]
    return out


WEAK_TOGETHER = 3  # distinct weak forensic indicators on one media item that do count


def _counted(findings: list[Finding]) -> tuple[list[Finding], list[Finding]]:
    """(findings the rules count, weak forensic indicators left out)."""
    from osintkit.checks.forensics import weak_codes

    weak = weak_codes()
    left = [f for f in findings if f.code in weak]
    per_media: dict[str | None, set[str]] = {}
    for f in left:
        per_media.setdefault(f.media, set()).add(f.code)
    together = {m for m, codes in per_media.items() if len(codes) >= WEAK_TOGETHER}
    counted = [f for f in findings if f.code not in weak]
    for media in together:  # three weak signs on one picture: as one medium finding
        codes = ", ".join(sorted(per_media[media]))
        counted.append(Finding("WEAK_FORENSIC_INDICATORS", "medium",
                               f"{len(per_media[media])} weak forensic indicators agree: "
                               f"{codes}", media))
    return counted, [f for f in left if f.media not in together]


def decide(findings: list[Finding], media_ok: int = 1, media_failed: int = 0) -> Verdict:
    """Apply the rules above to the findings of one claim."""
    findings, weak = _counted(findings)
    by_sev = {s: [f for f in findings if f.severity == s] for s in SEVERITY_RANK}
    notes = []
    if media_failed:
        notes.append(f"{media_failed} media item(s) could not be read and were not checked.")
    if by_sev["high"]:
        return Verdict("contradicted", [*_reasons(by_sev["high"]), *notes])
    if by_sev["medium"] or len(by_sev["low"]) >= 2:
        return Verdict("suspicious", [*_reasons(by_sev["medium"] + by_sev["low"]), *notes])
    if not by_sev["low"]:
        codes_per_media: dict[str | None, set[str]] = {}
        for f in findings:
            codes_per_media.setdefault(f.media, set()).add(f.code)
        backed = [m for m, codes in codes_per_media.items()
                  if m and all(c in codes for c in CORROBORATING)]
        if backed:
            support = [f for f in findings if f.media in backed and f.code in CORROBORATING]
            return Verdict("corroborated", [*_reasons(support), *notes,
                           "Metadata agrees with the claimed time and place; metadata can be "
                           "forged, so this is consistency, not proof."])
    base = ("No check found a contradiction" if media_ok else "No media could be checked")
    if weak:
        notes.append(f"{len(weak)} weak forensic indicator(s) not counted (each fires on "
                     "more than 2% of untouched camera photos): "
                     + ", ".join(sorted({f.code for f in weak})))
    return Verdict("no-contradiction-found",
                   [*_reasons(by_sev["low"]), *notes,
                    f"{base}; this does not confirm the claim."])


def at_or_above(level: str, threshold: str) -> bool:
    """True when `level` is at least as bad as `threshold` (for --fail-on)."""
    return LEVEL_RANK[level] >= LEVEL_RANK[threshold]
