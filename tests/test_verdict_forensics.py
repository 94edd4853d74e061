"""Forensic lows are not a verdict: an indicator measured to fire on more than 2% of
untouched camera photos (checks/forensic_rates.json, scripts/calibrate_forensics.py)
never makes a claim suspicious on its own or in pairs."""

from __future__ import annotations

import pytest

from osintkit.checks import Finding
from osintkit.checks.forensics import CODES, camera_rates, weak_codes
from osintkit.checks.verdict import decide


def _f(code: str, severity: str, media: str = "m1") -> Finding:
    return Finding(code, severity, f"{code} happened", media)


def test_rates_come_from_a_larger_untouched_set_and_define_the_weak_ones():
    data = camera_rates()
    assert data["camera_photos"] >= 200 and data["weak_above"] == 0.02
    weak = weak_codes()
    for name, c in data["rates"].items():
        assert c["applicable"] >= 150, name
        assert (CODES[name] in weak) == (c["fired"] / c["applicable"] > 0.02), name
    # as measured: ELA fires on 2.6% of untouched camera photos
    assert "ELA_HOTSPOT" in weak


@pytest.mark.parametrize("codes", [
    ["ELA_HOTSPOT"], ["EXIF_THUMBNAIL_MISMATCH"], ["EDITOR_QUANTIZATION_TABLES"],
    ["ELA_HOTSPOT", "EDITOR_QUANTIZATION_TABLES"], ["ELA_HOTSPOT", "EXIF_THUMBNAIL_MISMATCH"],
])
def test_weak_indicators_alone_or_in_pairs_do_not_make_a_claim_suspicious(codes):
    weak = weak_codes()
    sev = {"ELA_HOTSPOT": "low", "EXIF_THUMBNAIL_MISMATCH": "medium",
           "EDITOR_QUANTIZATION_TABLES": "low"}
    findings = [_f(c, sev[c]) for c in codes]
    if not all(c in weak for c in codes):
        pytest.skip("not weak by the current measurement")
    verdict = decide(findings)
    assert verdict.level == "no-contradiction-found"
    assert any("weak forensic indicator" in r for r in verdict.reasons)


def test_three_weak_indicators_on_one_picture_do_count():
    weak = sorted(weak_codes())
    if len(weak) < 3:
        pytest.skip("fewer than three weak indicators in the current measurement")
    sev = {c: "low" for c in weak}
    assert decide([_f(c, sev[c]) for c in weak[:3]]).level == "suspicious"
    # ... but not spread over three pictures
    assert decide([_f(c, sev[c], f"m{i}") for i, c in enumerate(weak[:3])]).level == \
        "no-contradiction-found"


def test_other_findings_count_as_before():
    assert decide([_f("ELA_HOTSPOT", "low"), _f("EDITING_SOFTWARE", "low")]).level == \
        "no-contradiction-found"  # one counted low
    assert decide([_f("EDITING_SOFTWARE", "low"), _f("DUPLICATE_WITHIN_CLAIM", "low")]).level \
        == "suspicious"
    assert decide([_f("ELA_HOTSPOT", "low"), _f("SAME_SCENE_IN_ARCHIVE", "medium")]).level == \
        "suspicious"
