"""Smaller frictions (issue 18 §3): batch over claim files, `archive add --manifest`,
`archive stats` as a table, exports that keep what matching needs, input-error help, `-q`
after the subcommand."""

from __future__ import annotations

import csv
import io
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from fixtures_matching import crop
from PIL import Image

from osintkit.archive import open_archive
from osintkit.archive.exchange import import_file
from osintkit.archive.export import export_csv, export_jsonl
from osintkit.cli import cli
from osintkit.match.hashfile import hash_file


@pytest.fixture
def claims_dir(samples_dir, tmp_path) -> Path:
    """A copy of the sample claims and their media, as a CI repository would hold them."""
    root = tmp_path / "repo"
    shutil.copytree(samples_dir / "claims", root / "claims")
    shutil.copytree(samples_dir / "media", root / "media")
    return root


# ---------------------------------------------------------------- batch over claim files
def test_batch_takes_claim_files(runner, claims_dir, sample_db, tmp_path):
    files = sorted(str(p) for p in (claims_dir / "claims").glob("*.yaml"))
    out = tmp_path / "out"
    res = runner.invoke(cli, ["batch", *files, "--db", sample_db, "-o", str(out), "-j", "2",
                              "--junit", str(out / "junit.xml")])
    assert res.exit_code == 1, res.stderr  # two claims are contradicted
    summary = json.loads((out / "summary.json").read_text())
    verdicts = {c["id"]: c["verdict"] for c in summary["claims"]}
    assert verdicts["sample-contradicted-recycled"] == "contradicted"
    assert verdicts["sample-corroborated"] == "corroborated" and len(verdicts) == 5
    root = ET.parse(out / "junit.xml").getroot()
    assert root.get("name") == "claims"  # the batch's name, not the last claim's
    report = json.loads((out / "sample-corroborated" / "report.json").read_text())
    assert report["custody"]["claim_file"]["path"] == str(claims_dir / "claims" /
                                                            "corroborated.yaml")


@pytest.mark.parametrize("kind", ["yaml", "txt", "csv", "jsonl"])
def test_manifest_rows_may_be_claim_file_paths(runner, claims_dir, sample_db, tmp_path, kind):
    names = ["claims/corroborated.yaml", "claims/contradicted_far.yaml", "claims/nope.yaml"]
    manifest = claims_dir / f"list.{kind}"
    if kind == "yaml":
        manifest.write_text("".join(f"- {n}\n" for n in names))
    elif kind == "txt":
        manifest.write_text("# one claim file per line\n" + "\n".join(names) + "\n")
    elif kind == "csv":
        manifest.write_text("claim_file\n" + "\n".join(names) + "\n")
    else:
        manifest.write_text("".join(json.dumps(n) + "\n" for n in names))
    out = tmp_path / "out"
    res = runner.invoke(cli, ["batch", str(manifest), "--db", sample_db, "-o", str(out),
                              "--json", "--name", "nightly"])
    results = [json.loads(line) for line in res.stdout.splitlines()]
    by_id = {r["id"]: r for r in results}
    assert by_id["sample-corroborated"]["verdict"] == "corroborated"  # media found beside it
    assert by_id["sample-contradicted-far"]["verdict"] == "contradicted"
    bad = by_id["nope"]
    assert bad["status"] == "invalid" and "nope.yaml: claim file not found" in \
        bad["error"]["message"]
    assert res.exit_code == 1


def test_one_claim_file_is_not_read_as_a_manifest(runner, claims_dir, tmp_path):
    res = runner.invoke(cli, ["batch", str(claims_dir / "claims" / "suspicious.yaml"),
                              "--no-archive", "-o", str(tmp_path / "o"), "--json"])
    [one] = [json.loads(line) for line in res.stdout.splitlines()]
    assert one["id"] == "sample-suspicious" and one["verdict"] == "suspicious"


# ---------------------------------------------------------------- archive add --manifest
def test_archive_add_manifest_loads_known_yaml_in_one_command(runner, samples_dir, tmp_path):
    db = str(tmp_path / "k.sqlite")
    res = runner.invoke(cli, ["archive", "add", "--manifest",
                              str(samples_dir / "archive" / "known.yaml"), "--db", db, "--json"])
    assert res.exit_code == 0, res.stderr
    assert [json.loads(x)["status"] for x in res.stdout.splitlines()] == ["added"] * 4
    with open_archive(db, create=False) as arc:
        items = {i.name: i for i in arc.list()}
    assert items["2019_parade.jpg"].first_seen == "2019-05-09"
    assert items["2019_parade.jpg"].source == "sample-news-archive"
    assert items["2020_launch.mp4"].title.startswith("Launch footage")


def test_archive_add_manifest_csv_with_tags_and_defaults(runner, samples_dir, tmp_path):
    shutil.copy(samples_dir / "archive" / "2021_convoy.jpg", tmp_path / "a.jpg")
    manifest = tmp_path / "list.csv"
    manifest.write_text("file,source,first_seen,title,tags\n"
                        "a.jpg,agency,2021-01-02,Convoy,strike;convoy\n")
    db = str(tmp_path / "k.sqlite")
    res = runner.invoke(cli, ["archive", "add", "--manifest", str(manifest), "--db", db])
    assert res.exit_code == 0, res.stderr
    with open_archive(db, create=False) as arc:
        [item] = arc.list()
    assert (item.source, item.first_seen, item.tags) == ("agency", "2021-01-02",
                                                          ["strike", "convoy"])


def test_a_bad_manifest_row_adds_nothing(runner, samples_dir, tmp_path):
    manifest = tmp_path / "list.yaml"
    manifest.write_text(f"items:\n  - file: {samples_dir / 'archive' / '2019_parade.jpg'}\n"
                        "    source: a\n    first_seen: 2019-05-09\n"
                        "  - file: x.jpg\n    source: b\n    first_seen: 09/05/2019\n"
                        "  - {source: c, first_seen: 2019-01-01}\n")
    db = tmp_path / "k.sqlite"
    res = runner.invoke(cli, ["archive", "add", "--manifest", str(manifest), "--db", str(db)])
    assert res.exit_code == 2
    assert "line 5: x.jpg: bad first-seen date '09/05/2019'" in res.stderr
    assert "line 8: no `file`" in res.stderr and "nothing added" in res.stderr
    assert not db.exists()


def test_archive_add_without_source_says_what_is_missing(runner, samples_dir, tmp_path):
    res = runner.invoke(cli, ["archive", "add", str(samples_dir / "archive"), "--db",
                              str(tmp_path / "k.sqlite")])
    assert res.exit_code == 2 and "--source and --first-seen required" in res.stderr


# ---------------------------------------------------------------- archive stats
def test_archive_stats_is_a_table_and_json(runner, sample_db):
    res = runner.invoke(cli, ["archive", "stats", "--db", sample_db])
    assert res.exit_code == 0
    lines = res.stdout.splitlines()
    assert lines[0].startswith("archive ") and "{" not in res.stdout
    assert any(ln.split() == ["image", "3"] for ln in lines)
    assert any(ln.split() == ["sample-news-archive", "2"] for ln in lines)
    data = json.loads(runner.invoke(cli, ["archive", "stats", "--db", sample_db,
                                          "--json"]).stdout)
    assert data["items"] == 4 and data["kinds"] == {"image": 3, "video": 1}
    assert data["generation"] >= 1 and data["subviews"] == 3


# ---------------------------------------------------------------- export / import
@pytest.fixture
def cropped(samples_dir, tmp_path) -> Path:
    """2019_parade.jpg with its bottom-right corner cut off: found through a sub-view."""
    path = tmp_path / "cropped.jpg"
    crop(Image.open(samples_dir / "archive" / "2019_parade.jpg").convert("RGB"), 0, 0, 0.2,
         0.2).save(path, quality=90)
    return path


def _found(url: str, path: Path) -> list:
    with open_archive(url, create=False) as arc:
        return arc.search(hash_file(path))


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_an_export_keeps_crop_and_video_matches(sample_db, cropped, samples_dir, tmp_path,
                                                fmt):
    assert [m.item_view for m in _found(sample_db, cropped)] == ["tl80"]
    buf = io.StringIO()
    with open_archive(sample_db, create=False) as arc:
        report = (export_csv if fmt == "csv" else export_jsonl)(arc, buf)
    assert report.rows == 4 and report.exact_only == []
    dump = tmp_path / f"export.{fmt}"
    dump.write_text(buf.getvalue())
    other = str(tmp_path / "partner.sqlite")
    with open_archive(other) as arc:
        assert import_file(arc, dump).ok
    got = _found(other, cropped)
    assert [(m.name, m.item_view) for m in got] == [("2019_parade.jpg", "tl80")]
    video = _found(other, samples_dir / "media" / "launch.mp4")
    assert [m.name for m in video] == ["2020_launch.mp4"]
    before = _found(sample_db, samples_dir / "media" / "launch.mp4")[0]
    pairs = [(f.query_t, f.item_t, f.distance["pdq"]) for f in video[0].frame_matches]
    want = [(f.query_t, f.item_t, f.distance["pdq"]) for f in before.frame_matches
            if fmt == "jsonl" or f.distance["pdq"] <= 31]  # vPDQ carries PDQ, not pHash
    assert pairs and pairs == want


def test_csv_export_has_vpdq_and_views_columns(sample_db):
    buf = io.StringIO()
    with open_archive(sample_db, create=False) as arc:
        export_csv(arc, buf)
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(buf.getvalue()))}
    video = rows["2020_launch.mp4"]
    lines = video["vpdq"].split("|")
    assert len(lines) >= 2 and all(len(x.split(",")) == 4 and len(x.split(",")[2]) == 64
                                   for x in lines)
    views = dict(v.split(":") for v in rows["2019_parade.jpg"]["views"].split(";"))
    assert "tl80" in views and all(len(p) == 64 for p in views.values())


def test_exports_strip_local_paths_unless_asked(runner, sample_db, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the archived files are not under this folder
    plain = runner.invoke(cli, ["archive", "export", "--db", sample_db])
    assert plain.exit_code == 0
    records = [json.loads(x) for x in plain.stdout.splitlines()]
    assert records and all(r["origin"] is None for r in records)
    assert all(r["views"] or r["kind"] == "video" for r in records)
    kept = runner.invoke(cli, ["archive", "export", "--db", sample_db, "--with-paths"])
    assert all(Path(json.loads(x)["origin"]).is_absolute() for x in kept.stdout.splitlines())


def test_exports_relativise_paths_under_the_working_directory(sample_db, samples_dir,
                                                             monkeypatch):
    monkeypatch.chdir(samples_dir.parent)
    buf = io.StringIO()
    with open_archive(sample_db, create=False) as arc:
        export_jsonl(arc, buf)
    origins = {json.loads(x)["origin"] for x in buf.getvalue().splitlines()}
    assert "samples/archive/2019_parade.jpg" in origins


def test_export_warns_about_rows_that_can_only_match_exactly(runner, tmp_path):
    hashes = tmp_path / "md5.csv"
    hashes.write_text(f"md5,name\n{'ab' * 16},leaked.mp4\n")
    db = str(tmp_path / "a.sqlite")
    assert runner.invoke(cli, ["archive", "import", str(hashes), "--db", db]).exit_code == 0
    res = runner.invoke(cli, ["archive", "export", "--format", "csv", "--db", db])
    assert res.exit_code == 0
    assert ("warning: 1 exported row(s) have no perceptual hash and can only match exactly, "
            "by md5/sha256 (leaked.mp4)") in res.stderr


# ---------------------------------------------------------------- input errors
@pytest.mark.parametrize(("args", "message"), [
    (["--claim-date", "18/04/2026"], "use YYYY-MM-DD: 2026-04-18 (day first)?"),
    (["--claim-date", "2026-04-18/19.04.2026"], "use YYYY-MM-DD: 2026-04-19 (day first)?"),
])
def test_claim_date_help(runner, samples_dir, tmp_path, args, message):
    res = runner.invoke(cli, ["verify", str(samples_dir / "media" / "forwarded.jpg"),
                              "--no-archive", "-o", str(tmp_path), *args])
    assert res.exit_code == 2 and message in res.stderr


def test_unknown_claim_field_suggests_the_nearest(runner, tmp_path):
    claim = tmp_path / "c.yaml"
    claim.write_text("claimed_on: 2026-04-18\nplace: {lat: 1, lon: 2, raduis_km: 3}\n"
                     "media: [x.jpg]\n")
    res = runner.invoke(cli, ["verify", str(claim), "--no-archive"])
    assert res.exit_code == 2
    assert "unknown field(s) claimed_on (did you mean claimed_at?)" in res.stderr
    claim.write_text("place: {lat: 1, lon: 2, raduis_km: 3}\nmedia: [x.jpg]\n")
    res = runner.invoke(cli, ["verify", str(claim), "--no-archive"])
    assert "unknown raduis_km (did you mean radius_km?)" in res.stderr


def test_quiet_works_after_the_subcommand(runner, samples_dir, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a picture")
    args = ["verify", str(bad), str(samples_dir / "media" / "forwarded.jpg"), "--no-archive",
            "-o", str(tmp_path / "o")]
    loud = runner.invoke(cli, args)
    assert "note: " in loud.stderr
    for quiet in (["-q", *args], [*args, "-q"], [*args, "--quiet"]):
        res = runner.invoke(cli, quiet)
        assert res.exit_code == 0 and "note: " not in res.stderr, quiet
    assert "--quiet" not in runner.invoke(cli, ["verify", "--help"]).stdout  # the group's
