"""`osintkit batch`: manifests, isolation (errors, timeouts), summary, JUnit, resume, Dask.

The end-to-end tests run the real sample claims (scripts/make_samples.py) against the real
sample archive (scripts/demo.py builds it the same way) in real child processes; the Dask
test uses a real distributed.LocalCluster on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import yaml

from osintkit.batch import (
    ClaimResult,
    junit_xml,
    read_manifest,
    render_table,
    top_findings,
)
from osintkit.batch.manifest import folder_name
from osintkit.cli import cli
from osintkit.errors import ErrorInfo, InputError

# ---------------------------------------------------------------- manifests


def test_csv_bad_rows_are_reported_by_line_and_good_rows_kept(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"x")
    manifest = tmp_path / "claims.csv"
    manifest.write_text(
        "id,url,claimed_at,lat,lon,radius_km,media\n"
        "good,,2026-04-18,37.22,67.28,25,a.jpg\n"          # line 2
        "badlat,,2026-04-18,north,67.28,25,a.jpg\n"        # line 3
        "baddate,,18/04/2026,37.22,67.28,25,a.jpg\n"       # line 4
        "short,,2026-04-18\n"                               # line 5
        "good,,2026-04-18,1,2,3,a.jpg\n"                    # line 6: duplicate id
        "url2,https://example.org/p/1;https://example.org/p/2,,,,,\n"  # line 7
        "nothing,,2026-04-18,,,,\n")                        # line 8
    parsed = read_manifest(manifest)
    assert parsed.format == "csv"
    assert [r.line for r in parsed.good] == [2, 7]
    bad = {r.line: r.error.message for r in parsed.bad}
    assert sorted(bad) == [3, 4, 5, 6, 8]
    assert "line 3: lat: not a number: 'north'" in bad[3]
    assert "line 4: claimed_at" in bad[4]
    assert "line 5: expected 7 fields, found 3" in bad[5]
    assert "duplicate id 'good' (first at line 2)" in bad[6]
    assert "nothing to verify" in bad[8]
    assert all(str(manifest) in m and "\n" not in m for m in bad.values())
    good = parsed.good[0].claim
    assert good.media == [tmp_path / "a.jpg"]  # relative to the manifest
    assert (good.place.lat, good.place.lon, good.place.radius_km) == (37.22, 67.28, 25.0)
    assert parsed.good[1].claim.urls == ["https://example.org/p/1", "https://example.org/p/2"]


def test_yaml_manifest_rows_carry_their_line_numbers(tmp_path):
    manifest = tmp_path / "claims.yaml"
    manifest.write_text(
        "# two good claims and two bad ones\n"
        "- id: first\n"                                     # line 2
        "  claimed_at: 2026-04-18T10:00:00+05:00\n"
        "  urls: [https://example.org/a]\n"
        "- just a string\n"                                 # line 5
        "- id: second\n"                                    # line 6
        "  place: {lat: 37.2, lon: 67.3}\n"
        "  urls: https://example.org/b\n"
        "- id: third\n"                                     # line 9
        "  colour: blue\n"
        "  urls: [https://example.org/c]\n")
    parsed = read_manifest(manifest)
    assert [(r.line, r.id) for r in parsed.good] == [(2, "first"), (6, "second")]
    assert [r.line for r in parsed.bad] == [5, 9]
    assert "line 9: unknown field(s) colour" in parsed.bad[1].error.message
    first = parsed.good[0].claim
    assert first.claimed_at.start.isoformat() == "2026-04-18T10:00:00+05:00"  # zone kept


def test_jsonl_manifest_keeps_going_past_a_broken_line(tmp_path):
    manifest = tmp_path / "claims.jsonl"
    manifest.write_text('{"id": "a", "urls": ["https://example.org/a"]}\n'
                        '\n'
                        '{"id": "b", "urls": [\n'
                        '[1, 2]\n'
                        '{"id": "c", "urls": ["https://example.org/c"], "claimed_at": "2026-04-18"}\n')
    parsed = read_manifest(manifest)
    assert [r.id for r in parsed.good] == ["a", "c"]
    assert [(r.line, r.error.message.split(": ", 2)[1]) for r in parsed.bad] == \
        [(3, "line 3"), (4, "line 4")]
    assert "not valid JSON" in parsed.bad[0].error.message


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("missing.yaml", None, "manifest not found"),
    ("broken.yaml", "- id: a\n  urls: [unclosed\n", "not valid YAML"),
    ("map.yaml", "id: a\n", "a YAML manifest is a list of claims"),
    ("cols.csv", "id,url,when\na,https://example.org,2026\n", "unknown: when"),
    ("empty.jsonl", "\n\n", "holds no claims"),
    ("binary.csv", "\xff\xfe\x00", "not UTF-8"),
])
def test_unusable_manifest_is_one_line_error_exit_2(runner, tmp_path, name, content, reason):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content.encode("latin-1"))
    with pytest.raises(InputError, match=reason):
        read_manifest(path)
    result = runner.invoke(cli, ["batch", str(path), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert reason in result.stderr and str(path) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_hostile_ids_stay_inside_the_output_folder():
    assert folder_name("../../etc/passwd") == "etc_passwd"
    assert folder_name("a/b\\c d") == "a_b_c_d"
    assert folder_name("..") == "claim"
    assert folder_name("Termez-2026.04.18") == "Termez-2026.04.18"


# ---------------------------------------------------------------- JUnit, summary (units)


def _results() -> list[ClaimResult]:
    findings = [{"code": "ARCHIVE_MATCH_PREDATES_CLAIM", "severity": "high",
                 "message": "seen <script>alert(1)</script> in 2019\x00\x1b"},
                {"code": "EDITING_SOFTWARE", "severity": "low", "message": "Photoshop"}]
    return [
        ClaimResult("recycled", 2, "done", "contradicted", findings=findings, duration_s=1.5),
        ClaimResult("fine", 5, "done", "no-contradiction-found",
                    findings=[findings[1]], duration_s=0.5),
        ClaimResult("slow", 8, "timeout", error=ErrorInfo("timeout", "claim slow: no result")),
        ClaimResult("bad", 9, "invalid", error=ErrorInfo("invalid_row", "m.csv: line 9: x")),
    ]


def test_junit_xml_has_one_case_per_claim_with_failures_and_errors():
    root = ET.fromstring(junit_xml(_results(), fail_on="contradicted"))
    suite = root.find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("4", "1", "2")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {"recycled", "fine", "slow", "line 9: bad"}
    failure = cases["recycled"].find("failure")
    assert failure.get("message") == "contradicted: ARCHIVE_MATCH_PREDATES_CLAIM, EDITING_SOFTWARE"
    assert "<script>alert(1)</script>" in failure.text  # escaped by the writer, parsed back
    assert "\x00" not in failure.text  # control bytes are not allowed in XML 1.0
    assert cases["fine"].find("failure") is None and cases["fine"].find("error") is None
    assert cases["slow"].find("error").get("type") == "timeout"
    assert cases["line 9: bad"].find("error").get("type") == "invalid_row"
    # a lower threshold turns the milder verdict into a failure too
    lower = ET.fromstring(junit_xml(_results(), fail_on="no-contradiction-found"))
    assert lower.find("testsuite").get("failures") == "2"


def test_top_findings_count_claims_not_occurrences():
    res = _results()
    res[0].findings.append(dict(res[0].findings[0]))  # twice in one claim
    assert top_findings(res) == [
        {"code": "EDITING_SOFTWARE", "severity": "low", "claims": 2},
        {"code": "ARCHIVE_MATCH_PREDATES_CLAIM", "severity": "high", "claims": 1}]
