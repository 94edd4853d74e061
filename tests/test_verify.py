"""`osintkit verify` end to end: the samples' verdicts, a claim URL on a local server,
exit codes, bad input, and the real `python -m osintkit` process."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest
from conftest import ROOT
from fixtures_verify import EXPECTED, HOSTILE

from osintkit.checks import CHECKS, load_checks
from osintkit.claim import claim_from_dict
from osintkit.cli import cli
from osintkit.report.model import load_schema
from osintkit.verify import VerifyOptions, claim_for_targets, verify_claim

OWN_MODULES = {f"osintkit.checks.{m}" for m in
               ("archive", "time", "place", "metadata", "claim_internal")}


def _own_codes(report) -> set[str]:
    load_checks()
    return {f.code for f in report.findings if CHECKS[f.code].func.__module__ in OWN_MODULES}


def _finding(report, code, media=None):
    return next(f for f in report.findings if f.code == code and (media is None or
                                                                   f.media == media))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_claim_gives_its_verdict_and_findings(sample_reports, name):
    level, codes = EXPECTED[name]
    report = sample_reports[name]
    assert report.level == level
    assert {f.code for f in report.findings} == codes  # forensics' checks stay quiet too
    assert not report.errors and not report.check_errors
    assert report.archive["searched"]
    for fmt in ("json", "html", "md"):
        assert (report.out_dir / f"report.{fmt}").stat().st_size > 500


def test_recycled_sample_details(sample_reports):
    rep = sample_reports["contradicted_recycled"]
    names = {m.id: m.name for m in rep.media}
    assert names == {"m1": "recycled.jpg", "m2": "recycled_small.jpg",
                     "m3": "recycled_mirrored.jpg", "m4": "launch.mp4"}
    old = _finding(rep, "ARCHIVE_MATCH_PREDATES_CLAIM", "m1")
    assert (old.evidence["name"], old.evidence["first_seen"]) == ("2019_parade.jpg",
                                                                  "2019-05-09")
    flipped = _finding(rep, "MIRRORED_OR_ROTATED_COPY", "m3")
    assert flipped.evidence["transform"] == "mirror"
    assert flipped.evidence["name"] == "2021_convoy.jpg"
    video = _finding(rep, "VIDEO_SEGMENT_IN_ARCHIVE", "m4")
    assert video.severity == "high" and video.evidence["predates_claim"] is True
    seg = video.evidence["segments"][0]
    assert seg["query_start"] == pytest.approx(3.0, abs=0.6)
    assert seg["query_end"] == pytest.approx(6.0, abs=0.6)
    assert seg["item_start"] == pytest.approx(0.0, abs=0.6)
    dup = _finding(rep, "DUPLICATE_WITHIN_CLAIM")
    assert (dup.evidence["first"], dup.evidence["duplicate"]) == ("m1", "m2")
    assert "ARCHIVE_MATCH" not in {f.code for f in rep.findings}  # all are older: recycled


def test_far_sample_measures_the_distance(sample_reports):
    far = _finding(sample_reports["contradicted_far"], "GPS_FAR_FROM_CLAIMED_PLACE")
    assert far.evidence["distance_km"] == pytest.approx(486, abs=2)
    assert far.evidence["radius_km"] == 25


def test_corroborated_verdict_never_says_true(sample_reports):
    reasons = " ".join(sample_reports["corroborated"].verdict.reasons)
    assert "not proof" in reasons and " true" not in reasons


def test_archive_match_not_older_than_the_claim_is_info(samples_dir, sample_db, tmp_path):
    claim = claim_from_dict({"claimed_at": "2019-05-01", "media": ["recycled.jpg"]},
                            base_dir=samples_dir / "media")
    rep = verify_claim(claim, tmp_path, db_url=sample_db, options=VerifyOptions(formats=()))
    assert {f.code for f in rep.findings} >= {"ARCHIVE_MATCH"}
    assert "ARCHIVE_MATCH_PREDATES_CLAIM" not in {f.code for f in rep.findings}


# ---------------------------------------------------------------- a claim URL
def _serve_claim(http_server, samples_dir) -> str:
    page = f"""<!doctype html><html><head><title>Strike {HOSTILE}</title>
<meta property="article:published_time" content="2026-04-10T08:00:00+05:00"></head>
<body><h1>Claim</h1><img src="/media/strike.jpg" width="480" height="360"></body></html>"""
    http_server.route("/post/1", body=page, content_type="text/html; charset=utf-8")
    http_server.route("/media/strike.jpg", file=samples_dir / "media" / "strike_near.jpg",
                      content_type="image/jpeg",
                      headers={"Last-Modified": "Wed, 01 Apr 2026 10:00:00 GMT"})
    return http_server.url("/post/1")


def test_claim_url_on_a_local_server(http_server, samples_dir, sample_db, tmp_path, runner):
    url = _serve_claim(http_server, samples_dir)
    out = tmp_path / "rep"
    result = runner.invoke(cli, ["verify", url, "--claim-date", "2026-04-18", "--tz", "+05:00",
                                 "--claim-place", "37.2242,67.2783", "--allow-private",
                                 "--db", sample_db, "-o", str(out), "--json"])
    assert result.exit_code == 1, result.stderr  # contradicted >= default --fail-on
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    data = json.loads(lines[0])
    jsonschema.validate(data, load_schema(), format_checker=jsonschema.FormatChecker())
    assert data == json.loads((out / "report.json").read_text())
    assert data["verdict"]["level"] == "contradicted"
    codes = {f["code"] for f in data["findings"]}
    assert {"POSTED_BEFORE_EVENT", "SERVER_DATE_BEFORE_CLAIM", "CAPTURE_TIME_AFTER_POST",
            "GPS_NEAR_CLAIMED_PLACE", "CAPTURE_TIME_WITHIN_CLAIM"} <= codes
    media = data["media"][0]
    assert media["source_url"] == http_server.url("/media/strike.jpg")
    assert media["fetched"]["headers"]["Last-Modified"] == "Wed, 01 Apr 2026 10:00:00 GMT"
    assert data["page"]["title"] == f"Strike {HOSTILE}"
    assert (out / "evidence" / "manifest.json").is_file()
    html = (out / "report.html").read_text()
    assert "Strike &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "<script" not in html
    assert "<script" not in (out / "report.md").read_text()


def test_private_address_is_refused_without_allow_private(http_server, samples_dir,
                                                          tmp_path, runner):
    url = _serve_claim(http_server, samples_dir)
    result = runner.invoke(cli, ["verify", url, "--no-archive", "-o", str(tmp_path)])
    assert result.exit_code == 2
    err = result.stderr.strip().splitlines()
    assert err[-1].startswith("Error: nothing could be verified") and url in err[-1]
    assert http_server.hits("/post/1") == 0


# ---------------------------------------------------------------- exit codes
@pytest.mark.parametrize(("claim", "extra", "code"), [
    ("corroborated", [], 0),
    ("contradicted_far", [], 1),
    ("contradicted_far", ["--fail-on", "never"], 0),
    ("suspicious", [], 0),
    ("suspicious", ["--fail-on", "suspicious"], 1),
    ("no_contradiction", ["--fail-on", "no-contradiction-found"], 1),
])
def test_exit_code_follows_fail_on(runner, samples_dir, tmp_path, claim, extra, code):
    path = samples_dir / "claims" / f"{claim}.yaml"
    result = runner.invoke(cli, ["verify", str(path), "--no-archive", "--format", "json",
                                 "-o", str(tmp_path), *extra])
    assert result.exit_code == code, result.output
    assert f"report: {tmp_path / 'report.json'}" in result.stdout


@pytest.mark.parametrize(("name", "content", "message"), [
    ("missing.jpg", None, "no such file, directory or http(s) URL"),
    ("empty.jpg", b"", "nothing could be verified: "),
    ("bad.yaml", b"claimed_at: [", "not valid YAML"),
])
def test_unusable_input_exits_2_with_one_line(runner, tmp_path, name, content, message):
    target = tmp_path / name
    if content is not None:
        target.write_bytes(content)
    result = runner.invoke(cli, ["verify", str(target), "--no-archive", "-o",
                                 str(tmp_path / "out")])
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("Error: ")


def test_report_folder_that_is_a_file_is_one_line_error(runner, samples_dir, tmp_path):
    blocker = tmp_path / "taken"
    blocker.write_text("x")
    result = runner.invoke(cli, ["verify", str(samples_dir / "claims" / "corroborated.yaml"),
                                 "--no-archive", "-o", str(blocker / "sub")])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {blocker / 'sub'}: cannot create the report folder")


def test_unknown_format_is_usage_error(runner, samples_dir, tmp_path):
    result = runner.invoke(cli, ["verify", str(samples_dir / "media" / "forwarded.jpg"),
                                 "--format", "pdf", "-o", str(tmp_path)])
    assert result.exit_code == 2 and "--format" in result.stderr


def test_one_bad_file_does_not_stop_the_claim(runner, samples_dir, tmp_path):
    bad = tmp_path / "truncated.jpg"
    bad.write_bytes((samples_dir / "media" / "strike_far.jpg").read_bytes()[:300])
    result = runner.invoke(cli, ["verify", str(bad), str(samples_dir / "media" /
                                                         "strike_far.jpg"),
                                 "--claim-place", "37.2242,67.2783", "--no-archive",
                                 "-o", str(tmp_path / "out"), "--json"])
    assert result.exit_code == 1  # the good file still contradicts the place
    data = json.loads(result.stdout)
    assert [m["ok"] for m in data["media"]] == [False, True]
    assert data["media"][0]["error"]["code"] in ("truncated", "corrupt")
    assert "GPS_FAR_FROM_CLAIMED_PLACE" in {f["code"] for f in data["findings"]}
    assert any("1 media item(s) could not be read" in r for r in data["verdict"]["reasons"])
    assert data["verdict"]["reasons"][-1].startswith("Archive not searched: --no-archive")
    assert data["errors"][0]["media"] == "m1" and "truncated.jpg" in data["errors"][0]["message"]
    assert "truncated.jpg" in result.stderr  # a note names the bad file


def test_bare_file_with_flags_becomes_a_claim(samples_dir):
    claim = claim_for_targets([str(samples_dir / "media" / "edited.jpg")])
    assert claim.id == "edited.jpg" and claim.media and not claim.urls


def test_python_dash_m_verify(samples_dir, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "osintkit", "verify",
                           str(samples_dir / "claims" / "corroborated.yaml"), "--no-archive",
                           "-o", str(tmp_path)], capture_output=True, text=True, timeout=120,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("verdict: corroborated")
    assert f"report: {tmp_path / 'report.html'}" in proc.stdout


def test_unusable_archive_is_refused_before_any_work(runner, samples_dir, tmp_path):
    not_a_db = tmp_path / "folder.sqlite"
    not_a_db.mkdir()
    result = runner.invoke(cli, ["verify", str(samples_dir / "claims" / "contradicted_far.yaml"),
                                 "--db", f"sqlite:///{not_a_db}", "-o", str(tmp_path / "o"),
                                 "--json"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"Error: {not_a_db}: is a directory, not an SQLite archive"]
    assert not (tmp_path / "o").exists()


def test_archive_failing_inside_the_library_is_a_verdict_reason(samples_dir, tmp_path):
    not_a_db = tmp_path / "folder.sqlite"
    not_a_db.mkdir()
    claim = claim_from_dict({"place": "37.2242,67.2783", "media": ["strike_far.jpg"]},
                            base_dir=samples_dir / "media")
    rep = verify_claim(claim, tmp_path / "o", db_url=str(not_a_db),
                       options=VerifyOptions(formats=("json",)))
    assert rep.level == "contradicted"  # GPS still contradicts the claim
    assert rep.archive["searched"] is False and "is a directory" in rep.archive["error"]
    assert rep.verdict.reasons[-1].startswith("Archive not searched: ")


def test_directory_target_with_a_copy_and_a_stray_file(runner, samples_dir, tmp_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    data = (samples_dir / "media" / "strike_near.jpg").read_bytes()
    (folder / "a.jpg").write_bytes(data)
    (folder / "b.jpg").write_bytes(data)
    (folder / "readme.txt").write_text("not media")
    result = runner.invoke(cli, ["verify", str(folder), "--claim-date", "2026-04-18",
                                 "--tz", "+05:00", "--claim-place", "37.2242,67.2783",
                                 "--no-archive", "-o", str(tmp_path / "o"), "--json"])
    assert result.exit_code == 0, result.stderr
    rep = json.loads(result.stdout)
    assert [m["name"] for m in rep["media"]] == ["a.jpg", "b.jpg"]
    dup = [f for f in rep["findings"] if f["code"] == "DUPLICATE_WITHIN_CLAIM"]
    assert [(f["media"], f["evidence"]["how"]) for f in dup] == [("m2", "identical bytes")]
    # Time and place fit, but a low finding bars "corroborated" (rule 3).
    assert rep["verdict"]["level"] == "no-contradiction-found"


def _same_sample(made, committed) -> bool:
    """Pictures and claims byte for byte; videos by their decoded frames, because the
    bundled FFmpeg's colour conversion and muxer bytes change between PyAV releases."""
    if made.suffix != ".mp4":
        return made.read_bytes() == committed.read_bytes()
    import av
    import numpy as np

    def frames(p):
        with av.open(str(p)) as c:
            return [f.to_ndarray(format="rgb24").astype(np.int16) for f in c.decode(video=0)]

    a, b = frames(made), frames(committed)
    return len(a) == len(b) and all(np.abs(x - y).mean() < 0.5 for x, y in zip(a, b, strict=True))


def test_samples_regenerate_byte_for_byte(samples_dir, tmp_path):
    from fixtures_verify import _script

    made = _script("make_samples").make(tmp_path)
    rel = sorted(str(p.relative_to(tmp_path)) for p in made)
    committed = sorted(str(p.relative_to(samples_dir)) for p in samples_dir.rglob("*")
                       if p.suffix in (".jpg", ".mp4", ".yaml", ".html"))  # not local archive DBs
    assert rel == committed
    changed = [r for r in rel if not _same_sample(tmp_path / r, samples_dir / r)]
    assert not changed, f"make_samples.py no longer reproduces {changed}"
    assert max(p.stat().st_size for p in made) < 300_000  # small files only


def test_terminal_summary_shows_control_characters_as_escapes(runner, samples_dir, tmp_path):
    data = (samples_dir / "media" / "forwarded.jpg").read_bytes()
    (tmp_path / "a.jpg").write_bytes(data)
    (tmp_path / "b\x1b[2J.jpg").write_bytes(data)  # a file name that would clear the screen
    result = runner.invoke(cli, ["verify", str(tmp_path / "a.jpg"), str(tmp_path / "b\x1b[2J.jpg"),
                                 "--no-archive", "-o", str(tmp_path / "o")])
    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.stdout
    shown = "DUPLICATE_WITHIN_CLAIM [m2]: b\\x1b[2J.jpg is the same picture as a.jpg"
    assert shown in result.stdout
