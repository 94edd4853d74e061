"""The check registry and the checks' rules: codes, tolerance, zones, distances, verdict."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from conftest import ROOT

from osintkit.checks import (
    CHECKS,
    CheckContext,
    Finding,
    MediaItem,
    check,
    load_checks,
    run_checks,
)
from osintkit.checks.place import great_circle_km, osm_url
from osintkit.checks.verdict import LEVELS, at_or_above, decide
from osintkit.claim import claim_from_dict
from osintkit.media.fields import GPS, Summary
from osintkit.media.metadata import Metadata, read_metadata

CHECKS_DOC = (ROOT / "docs" / "checks.md").read_text(encoding="utf-8")
REQUIRED = {
    "ARCHIVE_MATCH_PREDATES_CLAIM": "high", "ARCHIVE_MATCH": "info",
    "MIRRORED_OR_ROTATED_COPY": "medium", "VIDEO_SEGMENT_IN_ARCHIVE": "high",
    "CAPTURE_TIME_BEFORE_CLAIM": "medium", "CAPTURE_TIME_AFTER_POST": "medium",
    "GPS_FAR_FROM_CLAIMED_PLACE": "high", "GPS_NEAR_CLAIMED_PLACE": "info",
    "POSTED_BEFORE_EVENT": "high", "SERVER_DATE_BEFORE_CLAIM": "medium",
    "EDITING_SOFTWARE": "low", "METADATA_STRIPPED": "info", "DUPLICATE_WITHIN_CLAIM": "low",
    "EXIF_THUMBNAIL_MISMATCH": "medium",
}


def test_required_checks_are_registered_with_their_severity():
    registry = load_checks()
    got = {code: registry[code].severity for code in REQUIRED if code in registry}
    assert got == REQUIRED  # EXIF_THUMBNAIL_MISMATCH comes from forensics.py: auto-imported


@pytest.mark.parametrize("code", sorted(c.code for c in load_checks().values()
                                         if c.func.__module__.startswith("osintkit.")))
def test_every_check_code_is_documented(code):
    assert re.search(rf"`{code}`", CHECKS_DOC), f"{code} is not in docs/checks.md's table"


def test_every_check_has_a_one_line_summary():
    assert all(c.summary for c in load_checks().values())


def test_duplicate_code_is_refused():
    with pytest.raises(ValueError, match="already registered"):
        check("GPS_FAR_FROM_CLAIMED_PLACE", severity="low")(lambda ctx: None)


@pytest.mark.parametrize(("code", "sev", "msg"), [("lower_case", "low", "UPPER_SNAKE"),
                                                  ("SOME_CODE", "urgent", "severity")])
def test_bad_code_or_severity_is_refused(code, sev, msg):
    with pytest.raises(ValueError, match=msg):
        check(code, severity=sev)


def test_a_crashing_check_is_recorded_and_the_others_still_run():
    load_checks()

    @check("TEST_CRASHES", severity="low", scope="claim")
    def crashes(ctx):
        """Always fails."""
        raise RuntimeError("boom")

    try:
        claim = claim_from_dict({"posted_at": "2026-04-01T00:00:00Z",
                                 "claimed_at": "2026-04-18"})
        findings, errors = run_checks(CheckContext(claim=claim))
    finally:
        del CHECKS["TEST_CRASHES"]
    assert [e.code for e in errors] == ["TEST_CRASHES"]
    assert "boom" in errors[0].error.message
    assert [f.code for f in findings] == ["POSTED_BEFORE_EVENT"]


# ---------------------------------------------------------------- time
def _ctx(summary: Summary, claim: dict, tolerance_h: float = 24) -> CheckContext:
    item = MediaItem(id="m1", name="x.jpg", kind="image",
                     metadata=Metadata(path="x.jpg", ok=True, kind="image", summary=summary))
    return CheckContext(claim=claim_from_dict(claim), media=[item], item=item,
                        tolerance=timedelta(hours=tolerance_h))


def _codes(ctx: CheckContext) -> set[str]:
    findings, errors = run_checks(ctx)
    assert not errors
    return {f.code for f in findings}


@pytest.mark.parametrize(("captured", "tol", "expected"), [
    ("2026-04-17T05:00:00+05:00", 24, "CAPTURE_TIME_WITHIN_CLAIM"),  # 19 h early: tolerated
    ("2026-04-17T05:00:00+05:00", 12, "CAPTURE_TIME_BEFORE_CLAIM"),  # beyond 12 h
    ("2026-04-13T09:00:00+05:00", 24, "CAPTURE_TIME_BEFORE_CLAIM"),
    ("2026-04-18T23:30:00+05:00", 0, "CAPTURE_TIME_WITHIN_CLAIM"),
])
def test_capture_time_against_the_claim_window(captured, tol, expected):
    claim = {"claimed_at": "2026-04-18", "timezone": "+05:00"}
    codes = _codes(_ctx(Summary(captured_at=captured), claim, tol))
    assert expected in codes
    assert len(codes & {"CAPTURE_TIME_WITHIN_CLAIM", "CAPTURE_TIME_BEFORE_CLAIM"}) == 1


def test_capture_time_compares_instants_across_zones():
    # 02:00 in UTC+05:00 on the 18th is 21:00 UTC on the 17th: before a UTC claim day.
    claim = {"claimed_at": "2026-04-18", "timezone": "UTC"}
    early = _ctx(Summary(captured_at="2026-04-18T02:00:00+05:00"), claim, tolerance_h=1)
    assert "CAPTURE_TIME_BEFORE_CLAIM" in _codes(early)
    same = _ctx(Summary(captured_at="2026-04-18T07:00:00+05:00"), claim, tolerance_h=1)
    assert "CAPTURE_TIME_WITHIN_CLAIM" in _codes(same)


def test_naive_capture_time_widens_the_tolerance_by_the_widest_offset():
    claim = {"claimed_at": "2026-04-18"}  # no zone either: nothing to anchor the clock
    ctx = _ctx(Summary(captured_at="2026-04-17T12:00:00"), claim, tolerance_h=0)
    findings, _ = run_checks(ctx)
    within = [f for f in findings if f.code == "CAPTURE_TIME_WITHIN_CLAIM"]
    assert within and within[0].evidence["tolerance_hours"] == 14
    anchored = _ctx(Summary(captured_at="2026-04-17T12:00:00"),
                    {"claimed_at": "2026-04-18", "timezone": "+05:00"}, tolerance_h=0)
    assert "CAPTURE_TIME_BEFORE_CLAIM" in _codes(anchored)


def test_capture_after_post_and_posted_before_event():
    claim = {"claimed_at": "2026-04-18", "timezone": "+05:00",
             "posted_at": "2026-04-10T12:00:00+05:00"}
    codes = _codes(_ctx(Summary(captured_at="2026-04-18T10:00:00+05:00"), claim))
    assert {"CAPTURE_TIME_AFTER_POST", "POSTED_BEFORE_EVENT"} <= codes


# ---------------------------------------------------------------- place and metadata
def test_great_circle_distance_paris_london():
    assert great_circle_km(48.8566, 2.3522, 51.5074, -0.1278) == pytest.approx(343.5, abs=1)


def test_gps_far_and_near_depend_on_the_radius():
    summary = Summary(gps=GPS(lat=37.40, lon=67.2783), make="X")  # ~19.5 km north
    near = _ctx(summary, {"place": {"lat": 37.2242, "lon": 67.2783, "radius_km": 25}})
    far = _ctx(summary, {"place": {"lat": 37.2242, "lon": 67.2783, "radius_km": 10}})
    assert "GPS_NEAR_CLAIMED_PLACE" in _codes(near)
    findings, _ = run_checks(far)
    f = next(f for f in findings if f.code == "GPS_FAR_FROM_CLAIMED_PLACE")
    assert f.severity == "high" and f.evidence["distance_km"] == pytest.approx(19.5, abs=0.2)
    assert f.evidence["map_url"].startswith("https://www.openstreetmap.org/directions?route=")


def test_null_island_is_no_gps():
    ctx = _ctx(Summary(gps=GPS(lat=0.0, lon=0.0), make="X"), {"place": {"lat": 1, "lon": 1}})
    assert not _codes(ctx) & {"GPS_FAR_FROM_CLAIMED_PLACE", "GPS_NEAR_CLAIMED_PLACE"}


def test_osm_url_marks_one_point():
    assert osm_url(37.2, 67.3) == ("https://www.openstreetmap.org/?mlat=37.200000&"
                                   "mlon=67.300000#map=12/37.20000/67.30000")


def test_editing_software_from_the_real_edited_sample(samples_dir):
    item = MediaItem(id="m1", name="edited.jpg", path=samples_dir / "media" / "edited.jpg",
                     kind="image", metadata=read_metadata(samples_dir / "media" / "edited.jpg"))
    ctx = CheckContext(claim=claim_from_dict({}), media=[item], item=item)
    findings, _ = run_checks(ctx)
    f = next(f for f in findings if f.code == "EDITING_SOFTWARE")
    assert f.evidence["editors"] == ["Photoshop"]
    assert {h["field"] for h in f.evidence["fields"]} == {"Software", "XMP history"}


def test_camera_firmware_is_not_editing_software():
    assert "EDITING_SOFTWARE" not in _codes(_ctx(Summary(software="Ver.1.01", make="X"), {}))


# ---------------------------------------------------------------- verdict
def _f(code: str, sev: str, media: str | None = "m1") -> Finding:
    return Finding(code, sev, f"{code} happened", media)


@pytest.mark.parametrize(("findings", "level"), [
    ([_f("GPS_FAR_FROM_CLAIMED_PLACE", "high"), _f("X", "medium")], "contradicted"),
    ([_f("MIRRORED_OR_ROTATED_COPY", "medium")], "suspicious"),
    ([_f("EDITING_SOFTWARE", "low"), _f("DUPLICATE_WITHIN_CLAIM", "low")], "suspicious"),
    ([_f("EDITING_SOFTWARE", "low")], "no-contradiction-found"),
    ([], "no-contradiction-found"),
    ([_f("GPS_NEAR_CLAIMED_PLACE", "info"), _f("CAPTURE_TIME_WITHIN_CLAIM", "info")],
     "corroborated"),
    ([_f("GPS_NEAR_CLAIMED_PLACE", "info"), _f("CAPTURE_TIME_WITHIN_CLAIM", "info", "m2")],
     "no-contradiction-found"),  # time and place must agree on the same item
    ([_f("GPS_NEAR_CLAIMED_PLACE", "info"), _f("CAPTURE_TIME_WITHIN_CLAIM", "info"),
      _f("EDITING_SOFTWARE", "low")], "no-contradiction-found"),
])
def test_verdict_rules(findings, level):
    verdict = decide(findings)
    assert verdict.level == level
    assert verdict.reasons
    assert not any("is true" in r for r in verdict.reasons)


def test_verdict_reasons_name_the_deciding_findings():
    verdict = decide([_f("GPS_FAR_FROM_CLAIMED_PLACE", "high"), _f("EDITING_SOFTWARE", "low")])
    assert verdict.reasons == ["GPS_FAR_FROM_CLAIMED_PLACE [m1]: GPS_FAR_FROM_CLAIMED_PLACE "
                               "happened"]


def test_fail_on_order():
    assert LEVELS == ("corroborated", "no-contradiction-found", "suspicious", "contradicted")
    assert at_or_above("contradicted", "suspicious")
    assert not at_or_above("suspicious", "contradicted")


def test_capture_after_post_uses_the_items_own_post():
    from osintkit.fetch import FetchedItem, PageRecord, TelegramPost

    page = PageRecord(url="https://t.me/s/c/2", final_url="https://t.me/s/c/2",
                      published_at="2026-04-25T00:00:00+00:00", kind="telegram",
                      posts=[TelegramPost(post_id="c/1", url="https://t.me/c/1",
                                          published_at="2026-04-10T00:00:00+00:00")])
    ctx = _ctx(Summary(captured_at="2026-04-18T10:00:00+05:00"), {"claimed_at": "2026-04-18"})
    ctx.page = page
    ctx.item.fetched = FetchedItem(url="https://cdn.example/1.jpg", post_id="c/1")
    findings, _ = run_checks(ctx)
    after = next(f for f in findings if f.code == "CAPTURE_TIME_AFTER_POST")
    assert after.evidence["posted_at_source"] == "post"
    assert after.evidence["posted_at"] == "2026-04-10T00:00:00+00:00"
    ctx.item.fetched = FetchedItem(url="https://cdn.example/2.jpg", post_id="c/9")
    assert "CAPTURE_TIME_AFTER_POST" not in _codes(ctx)  # page date 25th: after capture
