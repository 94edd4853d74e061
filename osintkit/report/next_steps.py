"""Report stage: "what to check next", a short rule-driven list per claim.

The checks say what the files show; an analyst still has work a tool cannot finish
(reverse image search on the web, geolocation from the picture's content, the source's
history). Each rule below looks at the report's facts and, when it applies, names the
action and the media it concerns. Rules run in the order of RULES (most decisive
first); the list is capped at MAX_STEPS. A rule is a function (facts) -> list of steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from osintkit.report.levels import is_recycling

MAX_STEPS = 10
FORENSIC_CODES = ("EDITING_SOFTWARE", "ELA_HOTSPOT", "EXIF_THUMBNAIL_MISMATCH",
                  "EDITOR_QUANTIZATION_TABLES")
SCENE_CODES = ("SAME_SCENE_IN_ARCHIVE",)  # another photo of the same place (issue 14)


@dataclass
class Facts:
    """What the rules read: the claim, its media, findings, archive block, page."""

    claim: Any
    media: list[Any]
    findings: list[Any]
    archive: dict[str, Any]
    page: Any = None

    def codes(self, item: Any) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {}
        for f in self.findings:
            if f.media == item.id:
                out.setdefault(f.code, []).append(f)
        return out

    @property
    def readable(self) -> list[Any]:
        return [m for m in self.media if m.ok]


def _step(rule: str, action: str, media: list[Any]) -> dict[str, Any]:
    return {"rule": rule, "action": action, "media": [m.id for m in media]}


def _names(media: list[Any]) -> str:
    return ", ".join(f"{m.id} ({m.name})" for m in media)


def _one_step(rule: str, media: list[Any], say: Callable[[str], str]) -> list[dict[str, Any]]:
    """One step over `media`, none when it is empty: `say(their names)` is the action."""
    return [_step(rule, say(_names(media)), media)] if media else []


def _per_item(facts: Facts, codes: tuple[str, ...], make: Callable[[Any, Any], str],
              rule: str, keep: Callable[[Any], bool] = lambda f: True) -> list[dict[str, Any]]:
    """One step per readable item: `make(item, finding)` for its first finding of `codes`
    that `keep` accepts."""
    out = []
    for m in facts.readable:
        found = facts.codes(m)
        f = next((f for code in codes for f in found.get(code, []) if keep(f)), None)
        if f is not None:
            out.append(_step(rule, make(m, f), [m]))
    return out


def _confirm_recycled(facts: Facts) -> list[dict[str, Any]]:
    return _per_item(facts, ("ARCHIVE_MATCH_PREDATES_CLAIM", "VIDEO_SEGMENT_IN_ARCHIVE",
                                   "ARCHIVED_PHOTO_IN_VIDEO"),
                     lambda m, f: (
        f"Open {m.id} ({m.name}) beside the archived {f.evidence.get('name')} "
        f"({f.evidence.get('source')}, first seen {f.evidence.get('first_seen')}): confirm it "
        "is the same material and cite the earlier publication."), "CONFIRM_RECYCLED",
        keep=is_recycling)


def _same_scene(facts: Facts) -> list[dict[str, Any]]:
    return _per_item(facts, tuple(SCENE_CODES), lambda m, f: (
        f"Compare {m.id} ({m.name}) with the same-scene archive shot {f.evidence.get('name')} "
        f"(first seen {f.evidence.get('first_seen')}): same place photographed before; look "
        "for changes (damage, vehicles, season) that date the claim's picture."),
        "COMPARE_SAME_SCENE")


def _gps_far(facts: Facts) -> list[dict[str, Any]]:
    return _per_item(facts, ("GPS_FAR_FROM_CLAIMED_PLACE",), lambda m, f: (
        f"Geolocate {m.id} ({m.name}) from its content: its GPS is "
        f"{f.evidence.get('distance_km', 0):,.0f} km from the claimed place (the "
        "position may be where the file was edited, or forged)."), "GEOLOCATE_FAR")


def _no_gps(facts: Facts) -> list[dict[str, Any]]:
    todo = [m for m in facts.readable
            if getattr(getattr(m.summary, "gps", None), "lat", None) is None]
    place = facts.claim.place
    where = f" around {place.name or f'{place.lat:.4f}, {place.lon:.4f}'}" if place else ""
    return _one_step("GEOLOCATE", todo, lambda names: (
        f"Geolocate {names} (no GPS in the metadata): match landmarks, skyline and "
        f"roads against satellite imagery{where}."))


def _reverse_search(facts: Facts) -> list[dict[str, Any]]:
    unmatched = [m for m in facts.readable if not m.matches]
    videos = [m for m in unmatched if m.kind == "video"]
    images = [m for m in unmatched if m.kind != "video"]
    out = []
    if videos:
        out.append(_step("REVERSE_SEARCH_KEYFRAMES", (
            f"Reverse-search the keyframes of {_names(videos)} (`osintkit frames FILE -o "
            "frames/` writes one JPEG per shot) in several engines (Google Lens, Yandex, "
            "Bing, TinEye): an earlier upload shows the footage is recycled."), videos))
    if images:
        out.append(_step("REVERSE_SEARCH", (
            f"Reverse-search {_names(images)} in several engines (Google Lens, Yandex, Bing, "
            "TinEye), also mirrored and cropped: the archive knows only what it holds."),
            images))
    return out


def _source_history(facts: Facts) -> list[dict[str, Any]]:
    if facts.claim.urls:
        page = facts.page
        who = getattr(page, "forwarded_from", None) or getattr(page, "author", None)
        src = f" ({who})" if who else ""
        return [_step("SOURCE_HISTORY", (
            f"Check the source channel's history{src}: earlier posts of the same media, "
            "whether it forwards others' material, and when the account was created."),
            facts.readable)]
    return [_step("FIND_FIRST_POST", (
        "Record where the media was first posted (no URL was given): the earliest "
        "upload and its channel are the evidence a case file needs."), facts.readable)]


def _clock(facts: Facts) -> list[dict[str, Any]]:
    todo = [m for m in facts.readable if {"CAPTURE_TIME_BEFORE_CLAIM", "CAPTURE_TIME_AFTER_POST"}
            & set(facts.codes(m))]
    return _one_step("CHECK_CLOCK", todo, lambda names: (
        f"Check the capture time of {names}: compare with other files from the same "
        "camera, and with shadows and weather on the claimed day (chronolocation)."))


def _forensics(facts: Facts) -> list[dict[str, Any]]:
    todo = [m for m in facts.readable if set(FORENSIC_CODES) & set(facts.codes(m))]
    return _one_step("INSPECT_EDITS", todo, lambda names: (
        f"Look at the forensic pictures of {names} in this report and find an "
        "unedited version: editing is not forgery, but the original may say more."))


def _archive(facts: Facts) -> list[dict[str, Any]]:
    if not facts.readable or (facts.archive.get("searched") and facts.archive.get("items")):
        return []
    state = "was not searched" if not facts.archive.get("searched") else "is empty"
    return [_step("SEARCH_ARCHIVE", (
        f"Search {_names(facts.readable)} against an archive of known material (the archive "
        f"{state}): `osintkit archive search FILES --db URL`."), facts.readable)]


def _unreadable(facts: Facts) -> list[dict[str, Any]]:
    bad = [m for m in facts.media if not m.ok]
    return _one_step("GET_READABLE_COPY", bad, lambda names: (
        f"Get a readable copy of {names}: it could not be checked."))


def _claim_fields(facts: Facts) -> list[dict[str, Any]]:
    missing = [name for name, value in (("date", facts.claim.claimed_at),
                                        ("place", facts.claim.place)) if value is None]
    if not missing:
        return []
    return [_step("COMPLETE_CLAIM", (
        f"Record the claimed {' and '.join(missing)} (claim file, or --claim-date / "
        "--claim-place): without them the media cannot be held against the claim."), [])]


RULES: list[Callable[[Facts], list[dict[str, Any]]]] = [
    _confirm_recycled, _same_scene, _gps_far, _unreadable, _archive, _reverse_search,
    _no_gps, _clock, _forensics, _source_history, _claim_fields,
]


def next_steps(facts: Facts) -> list[dict[str, Any]]:
    """The rules' steps in order, at most MAX_STEPS."""
    out: list[dict[str, Any]] = []
    for rule in RULES:
        out.extend(rule(facts))
    return out[:MAX_STEPS]
