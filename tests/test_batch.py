"""`osintkit batch`: manifests, isolation (errors, timeouts), summary, JUnit, resume, Dask.

The end-to-end tests run the real sample claims (scripts/make_samples.py) against the real
sample archive (scripts/demo.py builds it the same way) in real child processes; the Dask
test uses a real distributed.LocalCluster on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import yaml
from click.testing import CliRunner
from ptyutil import run_with_tty_stderr

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


def test_csv_row_over_the_field_limit_is_skipped_and_reading_goes_on(tmp_path):
    manifest = tmp_path / "claims.csv"
    manifest.write_text("id,url,claimed_at,lat,lon,radius_km,media\n"
                        f'huge,"{"x" * 200_000}",,,,,\n'
                        "next,https://example.org/p/2,,,,,\n")
    parsed = read_manifest(manifest)
    assert [(r.line, r.id) for r in parsed.good] == [(3, "next")]
    assert parsed.bad[0].line == 2 and "not valid CSV: field larger" in parsed.bad[0].error.message


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


def test_yaml_values_json_cannot_carry_are_bad_rows(tmp_path):
    manifest = tmp_path / "claims.yaml"
    manifest.write_text("- {id: a, urls: [https://example.org/a], notes: !!binary aGVsbG8=}\n"
                        "- {id: b, urls: [https://example.org/b], title: !!set {x, y}}\n"
                        "- {id: c, urls: [https://example.org/c]}\n")
    parsed = read_manifest(manifest)
    assert [r.id for r in parsed.good] == ["c"]
    assert [(r.line, "not JSON serializable" in r.error.message) for r in parsed.bad] == \
        [(1, True), (2, True)]


def test_yaml_alias_bomb_is_a_bad_row_not_a_hang(tmp_path):
    text = "- {id: ok, urls: [https://example.org/a], notes: &n lol}\n"
    text += "- id: bomb\n  urls: [https://example.org/b]\n  notes: &a0 [lol, lol]\n"
    for i in range(1, 30):  # 10**29 copies once expanded
        text += f"  x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]\n"
    text += "- {id: once, urls: [https://example.org/c], notes: *n}\n"  # one alias is fine
    manifest = tmp_path / "claims.yaml"
    manifest.write_text(text)
    parsed = read_manifest(manifest)
    assert [r.id for r in parsed.good] == ["ok", "once"]
    assert parsed.good[1].claim.notes == "lol"
    assert parsed.bad[0].line == 2 and "YAML aliases" in parsed.bad[0].error.message


def test_jsonl_manifest_keeps_going_past_a_broken_line(tmp_path):
    manifest = tmp_path / "claims.jsonl"
    manifest.write_text('{"id": "a", "urls": ["https://example.org/a"]}\n'
                        '\n'
                        '{"id": "b", "urls": [\n'
                        '[1, 2]\n'
                        + "[" * 100_000 + "]" * 100_000 + "\n"  # deeper than the parser goes
                        '{"id": "c", "urls": ["https://example.org/c"], '
                        '"claimed_at": "2026-04-18"}\n')
    parsed = read_manifest(manifest)
    assert [r.id for r in parsed.good] == ["a", "c"]
    assert [(r.line, r.error.message.split(": ", 2)[1]) for r in parsed.bad] == \
        [(3, "line 3"), (4, "line 4"), (5, "line 5")]
    assert "not valid JSON" in parsed.bad[0].error.message
    assert "nested deeper than" in parsed.bad[2].error.message


def test_json_array_manifest_with_tabs_keeps_line_numbers(tmp_path):
    manifest = tmp_path / "claims.json"
    claims = [{"id": "a", "urls": ["https://example.org/a"]}, 5,
              {"id": "b", "claimed_at": "2026-04-18", "urls": ["https://example.org/b"]}]
    manifest.write_text(json.dumps(claims, indent="\t"))  # tabs: not YAML-compatible
    parsed = read_manifest(manifest)
    assert parsed.format == "json"
    assert [(r.line, r.id, r.error is None) for r in parsed.rows] == \
        [(2, "a", True), (8, "line-8", False), (9, "b", True)]


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("missing.yaml", None, "manifest not found"),
    ("broken.yaml", "- id: a\n  urls: [unclosed\n", "not valid YAML"),
    ("map.yaml", "id: a\n", "a YAML manifest is a list of claims"),
    ("cols.csv", "id,url,when\na,https://example.org,2026\n", "unknown: when"),
    ("empty.jsonl", "\n\n", "holds no claims"),
    ("array.json", '[{"id": "a", "urls": ["https://example.org"]},\n{"id": ]',
     "line 2: not valid JSON"),
    ("deep.yaml", "- " + "[" * 5_000 + "]" * 5_000, "not valid YAML"),
    ("deep.json", "[" + "[" * 100_000 + "]" * 100_000 + "]", "line 1: not valid JSON"),
    ("binary.csv", "\xff\xfe\x00", "not UTF-8"),
])
def test_unusable_manifest_is_one_line_error_exit_2(runner, tmp_path, name, content, reason):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content.encode("latin-1"))
    with pytest.raises(InputError, match=reason):
        read_manifest(path)
    if name == "map.yaml":
        return  # to the CLI one mapping is a claim file (`osintkit batch claim.yaml`)
    result = runner.invoke(cli, ["batch", str(path), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert reason in result.stderr and str(path) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_output_folder_that_cannot_be_created_is_exit_2(runner, tmp_path):
    manifest = tmp_path / "claims.jsonl"
    manifest.write_text('{"id": "a", "urls": ["https://example.org/post/1"]}\n')
    (tmp_path / "taken").write_text("a file, not a folder")
    result = runner.invoke(cli, ["batch", str(manifest), "-o", str(tmp_path / "taken"),
                                 "--no-archive"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"Error: {tmp_path / 'taken'}: cannot create the output "
                                     "folder (File exists)")


def test_hostile_ids_stay_inside_the_output_folder():
    assert folder_name("../../etc/passwd") == "etc_passwd"
    assert folder_name("a/b\\c d") == "a_b_c_d"
    assert folder_name("..") == "claim"
    assert folder_name("Termez-2026.04.18") == "Termez-2026.04.18"


def test_media_folder_digest_changes_with_any_file_inside(tmp_path):
    from osintkit.batch import media_digest

    folder = tmp_path / "media"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.jpg").write_bytes(b"one")
    first = media_digest(folder)
    assert media_digest(folder) == first  # stable
    (folder / "sub" / "b.jpg").write_bytes(b"two")
    second = media_digest(folder)
    assert second != first
    (folder / "sub" / "b.jpg").write_bytes(b"2wo")  # same size, other bytes
    assert media_digest(folder) not in (first, second)
    assert media_digest(folder / "a.jpg") == hashlib.sha256(b"one").hexdigest()


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
    # only the finding that decided "contradicted" (high), not the low EDITING_SOFTWARE
    assert failure.get("message") == "contradicted: ARCHIVE_MATCH_PREDATES_CLAIM"
    assert "EDITING_SOFTWARE" not in failure.text
    assert "<script>alert(1)</script>" in failure.text  # escaped by the writer, parsed back
    assert "\x00" not in failure.text  # control bytes are not allowed in XML 1.0
    assert cases["fine"].find("failure") is None and cases["fine"].find("error") is None
    assert cases["slow"].find("error").get("type") == "timeout"
    assert cases["line 9: bad"].find("error").get("type") == "invalid_row"
    # a lower threshold turns the milder verdict into a failure too
    lower = ET.fromstring(junit_xml(_results(), fail_on="no-contradiction-found"))
    assert lower.find("testsuite").get("failures") == "2"
    fine = {c.get("name"): c for c in lower.iter("testcase")}["fine"].find("failure")
    assert fine.get("message") == "no-contradiction-found: no deciding finding"
    assert (root.get("name"), suite.get("name")) == ("osintkit batch", "osintkit batch")
    named = ET.fromstring(junit_xml(_results(), "contradicted", name="nightly claims"))
    assert named.get("name") == named.find("testsuite").get("name") == "nightly claims"


def test_deciding_findings_follow_the_verdict_rules():
    from osintkit.batch.results import deciding_findings

    fs = [{"code": c, "severity": s} for c, s in (("A", "high"), ("B", "medium"), ("C", "low"),
                                                  ("D", "info"))]
    assert [f["code"] for f in deciding_findings(fs, "contradicted")] == ["A"]
    assert [f["code"] for f in deciding_findings(fs[1:], "suspicious")] == ["B", "C"]
    assert deciding_findings(fs[3:], "no-contradiction-found") == []


def test_top_findings_count_claims_not_occurrences_and_rank_by_severity():
    res = _results()
    res[0].findings.append(dict(res[0].findings[0]))  # twice in one claim
    # EDITING_SOFTWARE is in more claims, but a high finding always ranks first
    assert top_findings(res) == [
        {"code": "ARCHIVE_MATCH_PREDATES_CLAIM", "severity": "high", "claims": 1},
        {"code": "EDITING_SOFTWARE", "severity": "low", "claims": 2}]
    many_info = [ClaimResult(f"c{n}", n, "done", "no-contradiction-found", findings=[
        {"code": "METADATA_STRIPPED", "severity": "info"}]) for n in range(20)]
    ranked = top_findings(many_info + res, limit=2)
    assert [f["code"] for f in ranked] == ["ARCHIVE_MATCH_PREDATES_CLAIM", "EDITING_SOFTWARE"]


# ---------------------------------------------------------------- end to end on the samples
BROKEN_ROWS = [
    "just a string, not a claim",                                      # not a mapping
    {"id": "bad-date", "claimed_at": "18/04/2026", "media": ["x.jpg"]},  # bad value
    {"id": "sample-suspicious", "media": ["x.jpg"]},                    # duplicate id
    {"id": "<img src=x onerror=alert(1)>|", "claimed_at": "soon", "urls": ["https://x.org"]},
]


def _expected(claim_file: Path) -> str:
    """The verdict make_samples.py writes in each claim's first comment line."""
    first = claim_file.read_text().splitlines()[0]
    return first.split("Expected verdict:", 1)[1].strip().rstrip(".")


def _claim_record(claim_file: Path) -> dict:
    from osintkit.safeload import Loader

    rec = yaml.load(claim_file.read_text(), Loader=Loader)
    rec["media"] = [str((claim_file.parent / m).resolve()) for m in rec.get("media", [])]
    return rec


@pytest.fixture(scope="module")
def sample_manifest(batch_samples, tmp_path_factory):
    """A YAML manifest: every sample claim, a claim whose media is missing, broken rows.

    Returns (path, {claim id: expected verdict}).
    """
    files = sorted((batch_samples / "claims").glob("*.yaml"))
    records = [_claim_record(f) for f in files]
    expected = {rec["id"]: _expected(f) for rec, f in zip(records, files, strict=True)}
    missing = {"id": "missing-media", "claimed_at": "2026-04-18",
               "media": [str(batch_samples / "media" / "no-such-file.jpg")]}
    path = tmp_path_factory.mktemp("manifest") / "claims.yaml"
    path.write_text(yaml.safe_dump([*records, missing, *BROKEN_ROWS], sort_keys=False))
    return path, expected


def _run(runner, manifest: Path, out: Path, *args: str):
    return runner.invoke(cli, ["batch", str(manifest), "-o", str(out), *args])


@pytest.fixture(scope="module")
def local_run(sample_manifest, batch_archive, tmp_path_factory):
    """`osintkit batch` on the sample manifest with -j 2 (run once for several tests)."""
    manifest, _ = sample_manifest
    out = tmp_path_factory.mktemp("local") / "out"
    result = _run(CliRunner(), manifest, out, "-j", "2", "--db", batch_archive,
                  "--junit", str(out / "junit.xml"))
    return result, out


def _lines_of_bad_rows(manifest: Path) -> list[int]:
    """Line numbers where the broken items start in the YAML list."""
    lines = manifest.read_text().splitlines()
    starts = [n for n, line in enumerate(lines, 1) if line.startswith("- ")]
    return starts[-len(BROKEN_ROWS):]


def test_sample_manifest_gives_each_claim_its_expected_verdict(local_run, sample_manifest):
    result, out = local_run
    _, expected = sample_manifest
    assert result.exit_code == 1, result.output  # contradicted samples, and bad rows
    summary = json.loads((out / "summary.json").read_text())
    claims = {c["id"]: c for c in summary["claims"] if c["status"] != "invalid"}
    for claim_id, verdict in expected.items():
        assert claims[claim_id]["status"] == "done", claims[claim_id]
        assert claims[claim_id]["verdict"] == verdict, claim_id
        report = json.loads((out / claim_id / "report.json").read_text())
        assert report["verdict"]["level"] == verdict
        assert [f["code"] for f in report["findings"]] == \
            [f["code"] for f in claims[claim_id]["findings"]]
        assert (out / claim_id / "report.html").is_file()
        assert (out / claim_id / "report.md").is_file()
        assert claims[claim_id]["report"] == f"{claim_id}/report.json"
    wanted = {level: list(expected.values()).count(level) for level in summary["verdicts"]}
    assert summary["verdicts"] == wanted
    assert summary["complete"] is True


def test_bad_rows_and_a_failing_claim_are_recorded_and_the_rest_ran(local_run,
                                                                    sample_manifest):
    result, out = local_run
    manifest, expected = sample_manifest
    summary = json.loads((out / "summary.json").read_text())
    counts = summary["counts"]
    assert counts["claims"] == len(expected) + 1 + len(BROKEN_ROWS)
    assert (counts["done"], counts["error"], counts["invalid"]) == \
        (len(expected), 1, len(BROKEN_ROWS))
    missing = next(c for c in summary["claims"] if c["id"] == "missing-media")
    assert missing["status"] == "error" and "no-such-file.jpg" in missing["error"]["message"]
    invalid = [c for c in summary["claims"] if c["status"] == "invalid"]
    assert [c["line"] for c in invalid] == _lines_of_bad_rows(manifest)
    for c in invalid:  # one line each on stderr, naming the manifest and the line
        assert f"{manifest}: line {c['line']}: " in c["error"]["message"]
        assert f"Error: {c['error']['message']}" in result.stderr
    assert "duplicate id 'sample-suspicious'" in invalid[2]["error"]["message"]
    assert "Traceback" not in result.stderr
    # summary.md, for CI job summaries: one row per manifest row, hostile ids inert
    md = (out / "summary.md").read_text()
    claim_rows = [r for r in md.split("| line | claim |", 1)[1].splitlines()[2:] if r]
    assert len(claim_rows) == len(summary["claims"])
    assert "<img" not in md and "| &lt;img src=x onerror=alert(1)&gt;\\| |" in md


def test_terminal_table_shows_verdict_counts_and_top_findings(local_run, sample_manifest):
    result, out = local_run
    _, expected = sample_manifest
    summary = json.loads((out / "summary.json").read_text())
    assert result.stdout.strip() == render_table(summary)
    n_contradicted = list(expected.values()).count("contradicted")
    assert f"contradicted                 {n_contradicted}" in result.stdout
    top = summary["top_findings"][0]
    assert top["code"] in result.stdout and top["claims"] >= 1
    failing = result.stdout.split("at or above contradicted:\n", 1)[1].splitlines()
    assert sorted(line.split()[0] for line in failing) == \
        sorted(i for i, v in expected.items() if v == "contradicted")
    assert all(line.split()[2] == str(out / line.split()[0]) for line in failing)


def test_junit_xml_matches_the_reports(local_run, sample_manifest):
    _, out = local_run
    _, expected = sample_manifest
    suite = ET.parse(out / "junit.xml").getroot().find("testsuite")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert len(cases) == len(expected) + 1 + len(BROKEN_ROWS)
    for claim_id, verdict in expected.items():
        failure = cases[claim_id].find("failure")
        if verdict == "contradicted":
            findings = json.loads((out / claim_id / "report.json").read_text())["findings"]
            codes = [f["code"] for f in findings if f["severity"] == "high"]
            assert failure.get("message") == f"contradicted: {', '.join(dict.fromkeys(codes))}"
            assert all(code in failure.text for code in codes)
            assert not any(f["code"] in failure.text for f in findings
                           if f["severity"] == "info" and f["code"] not in codes)
        else:
            assert failure is None
        assert cases[claim_id].find("error") is None
    assert cases["missing-media"].find("error") is not None
    assert suite.get("failures") == str(list(expected.values()).count("contradicted"))
    assert suite.get("errors") == str(1 + len(BROKEN_ROWS))


def test_fail_on_threshold_sets_the_exit_code(runner, tmp_path, batch_samples, batch_archive):
    manifest = tmp_path / "one.jsonl"
    manifest.write_text(json.dumps(_claim_record(batch_samples / "claims" / "suspicious.yaml"))
                        + "\n")
    ok = _run(runner, manifest, tmp_path / "a", "--db", batch_archive, "--json")
    assert ok.exit_code == 0, ok.output  # suspicious is below the default (contradicted)
    line = json.loads(ok.stdout)
    assert (line["id"], line["verdict"]) == ("sample-suspicious", "suspicious")
    # a stricter threshold over the same results (resumed: nothing is recomputed)
    strict = _run(runner, manifest, tmp_path / "a", "--db", batch_archive,
                  "--fail-on", "suspicious", "--resume", "--json")
    assert strict.exit_code == 1
    assert json.loads(strict.stdout)["resumed"] is True


# ---------------------------------------------------------------- resume
def _claims_by_id(out: Path) -> dict[str, dict]:
    """Claims by id (bad rows by line: their ids may repeat)."""
    claims = json.loads((out / "summary.json").read_text())["claims"]
    return {c["id"] if c["status"] != "invalid" else f"line {c['line']}": c for c in claims}


def _mtimes(out: Path, ids: list[str]) -> dict[str, int]:
    return {i: (out / i / "report.json").stat().st_mtime_ns for i in ids}


def test_resume_skips_unchanged_claims_and_redoes_changed_ones(runner, tmp_path,
                                                               batch_samples):
    from osintkit.archive import open_archive

    media = batch_samples / "media"
    for name, src in (("a", "strike_near.jpg"), ("b", "forwarded.jpg"), ("c", "strike_far.jpg")):
        shutil.copy(media / src, tmp_path / f"{name}.jpg")
    db = f"sqlite:///{tmp_path / 'archive.sqlite'}"
    with open_archive(db) as archive:
        assert archive.add([batch_samples / "archive" / "2019_parade.jpg"], source="s",
                           first_seen="2019-05-09")[0].ok
    manifest = tmp_path / "claims.csv"
    row = "{id},,2026-04-18,37.2242,67.2783,{radius},{id}.jpg\n"
    header = "id,url,claimed_at,lat,lon,radius_km,media\n"
    manifest.write_text(header + "".join(row.format(id=i, radius=25) for i in "abc"))
    out = tmp_path / "out"

    def run() -> dict[str, dict]:
        result = _run(runner, manifest, out, "--db", db, "--resume", "-j", "2")
        claims = _claims_by_id(out)
        assert [claims[i]["status"] for i in "abc"] == ["done"] * 3, result.output
        return claims

    def resumed(claims: dict[str, dict]) -> list[bool]:
        return [claims[i]["resumed"] for i in "abc"]

    first = run()
    assert resumed(first) == [False, False, False]
    assert (first["b"]["verdict"], first["c"]["verdict"]) == \
        ("no-contradiction-found", "contradicted")  # c: GPS 488 km from the place
    before = _mtimes(out, ["a", "b", "c"])

    again = run()  # nothing changed: nothing runs, the stored results are kept
    assert resumed(again) == [True, True, True]
    assert _mtimes(out, ["a", "b", "c"]) == before
    assert [again[i]["verdict"] for i in "abc"] == [first[i]["verdict"] for i in "abc"]

    shutil.copy(media / "edited.jpg", tmp_path / "b.jpg")  # b's media changed
    manifest.write_text(header + row.format(id="a", radius=25) + row.format(id="b", radius=25)
                        + row.format(id="c", radius=600))  # c's record changed
    changed = run()
    assert resumed(changed) == [True, False, False]
    assert changed["b"]["verdict"] == "suspicious"
    assert changed["c"]["verdict"] != "contradicted"  # now within its 600 km radius
    assert _mtimes(out, ["a"]) == {"a": before["a"]}

    with open_archive(db) as archive:  # the archive changed: every claim is redone
        assert archive.add([batch_samples / "archive" / "2018_market.jpg"], source="s",
                           first_seen="2018-11-20")[0].ok
    assert resumed(run()) == [False, False, False]


# ---------------------------------------------------------------- isolation
def test_a_hanging_claim_is_cut_by_claim_timeout(tmp_path, hanging_server, batch_samples,
                                                 batch_archive):
    """The fetch of `hangs` waits on a server that never answers (fetch timeout 30 s)."""
    manifest = tmp_path / "claims.jsonl"
    photo = batch_samples / "media" / "strike_near.jpg"
    manifest.write_text(
        json.dumps({"id": "hangs", "urls": [f"{hanging_server.url}post/1"]}) + "\n"
        + json.dumps({"id": "fine", "claimed_at": "2026-04-18", "timezone": "+05:00",
                      "place": {"lat": 37.2242, "lon": 67.2783}, "media": [str(photo)]})
        + "\n")
    out = tmp_path / "out"
    # a real `python -m osintkit` process with its stderr on a terminal (progress bar)
    returncode, stderr = run_with_tty_stderr(
        [sys.executable, "-m", "osintkit", "batch", str(manifest), "-o", str(out),
         "--claim-timeout", "8", "--allow-private", "-j", "2", "--db", batch_archive,
         "--junit", str(out / "junit.xml")])
    assert returncode == 1, stderr
    assert "2/2" in stderr and "claim" in stderr  # tqdm's bar: 2/2 [..., claim/s]
    claims = _claims_by_id(out)
    hangs = claims["hangs"]
    assert hangs["status"] == "timeout" and hangs["error"]["code"] == "timeout"
    assert 8 <= hangs["duration_s"] < 20  # cut at 8 s, not left to the fetch's own 30 s timeout
    assert "Error: claim hangs: no result after 8 s" in stderr
    assert claims["fine"]["status"] == "done" and claims["fine"]["verdict"]
    assert hanging_server.dropped.is_set()  # the hung process was really killed
    assert not (out / "hangs" / "report.json").exists()
    stored = json.loads((out / "hangs" / "batch.json").read_text())
    assert stored["result"]["status"] == "timeout"
    case = next(c for c in ET.parse(out / "junit.xml").iter("testcase")
                if c.get("name") == "hangs")
    assert case.find("error").get("type") == "timeout"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill-9"])
def test_stopping_the_batch_stops_its_claims(tmp_path, hanging_server, sig):
    """Ctrl-C kills the running claims; so does SIGKILL of the batch (children watch
    their parent). No orphan goes on fetching with nobody enforcing its timeout."""
    manifest = tmp_path / "claims.jsonl"
    manifest.write_text(json.dumps({"id": "hangs", "urls": [f"{hanging_server.url}p"]}) + "\n")
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "osintkit", "batch", str(manifest), "-o",
                             str(out), "--allow-private", "--claim-timeout", "300",
                             "--no-archive"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert hanging_server.requested.wait(60), "the claim never reached the server"
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert hanging_server.dropped.wait(10), "the claim's process outlived the batch"
    if sig == signal.SIGINT:
        assert proc.returncode == 1 and "Aborted" in stderr.decode()
        summary = json.loads((out / "summary.json").read_text())
        assert summary["complete"] is False


def test_a_claim_whose_process_dies_is_an_error_and_the_worker_recovers(
        tmp_path, hanging_server, batch_samples, batch_archive):
    """The OOM killer or a crashing decoder, played by SIGKILL while the claim runs."""
    from osintkit.batch.isolate import ClaimWorker

    def task(claim_id: str, record: dict) -> dict:
        return {"id": claim_id, "record": {"id": claim_id, **record},
                "manifest": str(tmp_path / "claims.yaml"), "out_dir": str(tmp_path / claim_id),
                "db_url": batch_archive, "verify": {"allow_private": True}}

    worker = ClaimWorker()
    box: dict = {}
    runner_thread = threading.Thread(target=lambda: box.update(
        outcome=worker.run(task("dies", {"urls": [f"{hanging_server.url}p"]}), 120)))
    runner_thread.start()
    try:
        assert hanging_server.requested.wait(60), "the claim never reached the server"
        os.killpg(worker.proc.pid, signal.SIGKILL)
        runner_thread.join(60)
        outcome = box["outcome"]
        assert outcome["status"] == "error"
        assert outcome["error"]["message"].startswith(
            "claim dies: worker process died (killed by signal 9)")
        photo = batch_samples / "media" / "strike_far.jpg"
        after = worker.run(task("next", {"media": [str(photo)], "claimed_at": "2026-04-18",
                                         "place": {"lat": 37.2242, "lon": 67.2783}}), 120)
        assert (after["status"], after["verdict"]) == ("done", "contradicted")
    finally:
        worker.kill()
        runner_thread.join(60)


# ---------------------------------------------------------------- Dask
def test_dask_cluster_gives_the_same_results_as_local(runner, tmp_path, dask_cluster,
                                                      sample_manifest, local_run,
                                                      batch_archive):
    manifest, expected = sample_manifest
    local_result, local_out = local_run
    out = tmp_path / "dask"
    result = _run(runner, manifest, out, "--dask", dask_cluster, "--db", batch_archive,
                  "--junit", str(out / "junit.xml"))
    assert result.exit_code == local_result.exit_code, result.output
    assert result.stdout.replace(str(out), "OUT") == \
        local_result.stdout.replace(str(local_out), "OUT")  # same table
    local, remote = _claims_by_id(local_out), _claims_by_id(out)
    assert set(remote) == set(local)

    def essentials(c: dict) -> tuple:
        return c["status"], c["verdict"], c["findings"], c["error"] and c["error"]["code"]

    assert {i: essentials(c) for i, c in remote.items()} == \
        {i: essentials(c) for i, c in local.items()}
    for claim_id in expected:  # reports came back from the workers
        report = json.loads((out / claim_id / "report.json").read_text())
        assert report["verdict"]["level"] == expected[claim_id]
        # the workers searched the shipped read-only copy, not the original file
        assert "osintkit-archive-" in report["archive"]["url"]
        assert (out / claim_id / "report.html").is_file()


def test_unreachable_dask_scheduler_is_one_line_exit_2(runner, tmp_path):
    import dask

    manifest = tmp_path / "claims.jsonl"
    manifest.write_text('{"id": "a", "urls": ["https://example.org/post/1"]}\n')
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        result = _run(runner, manifest, tmp_path / "out", "--dask", f"tcp://127.0.0.1:{port}",
                      "--no-archive")
    assert result.exit_code == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"Error: --dask tcp://127.0.0.1:{port}: cannot reach the Dask scheduler")
    assert "Traceback" not in result.stderr
    assert not list((tmp_path / "out").glob("*/report.json"))  # no claim ran


def test_dask_with_a_postgresql_archive_and_resume(runner, tmp_path, dask_cluster,
                                                   postgres_server, batch_samples,
                                                   monkeypatch):
    """The workers use the shared PostgreSQL archive as is; its change counter drives
    --resume (every verification here runs on the cluster)."""
    from osintkit.archive import open_archive

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    db = postgres_server.new_database()
    with open_archive(db) as archive:
        assert archive.add([batch_samples / "archive" / "2019_parade.jpg"], source="news",
                           first_seen="2019-05-09")[0].ok
    manifest = tmp_path / "claims.jsonl"
    manifest.write_text(json.dumps({
        "id": "recycled", "claimed_at": "2026-04-18",
        "media": [str(batch_samples / "media" / "recycled.jpg")]}) + "\n")
    out = tmp_path / "out"

    def run() -> dict:
        result = _run(runner, manifest, out, "--dask", dask_cluster, "--db", db, "--resume")
        assert result.exit_code == 1, result.output  # recycled: contradicted
        return _claims_by_id(out)["recycled"]

    first = run()
    assert first["verdict"] == "contradicted" and not first["resumed"]
    assert "ARCHIVE_MATCH_PREDATES_CLAIM" in [f["code"] for f in first["findings"]]
    report = json.loads((out / "recycled" / "report.json").read_text())
    assert report["archive"]["url"].startswith("postgresql://")  # not a shipped copy
    assert run()["resumed"] is True
    with open_archive(db) as archive:
        assert archive.add([batch_samples / "archive" / "2018_market.jpg"], source="news",
                           first_seen="2018-11-20")[0].ok
    assert run()["resumed"] is False
