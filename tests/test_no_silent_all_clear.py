"""No silent all-clear (issue 18 §1): verify and batch never create an archive, refuse a
missing one, say in the verdict when no archive (or an empty one) was searched, follow
SQLAlchemy's sqlite URL convention, and treat a missing file on the command line like a
missing file in a claim file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from osintkit.archive import open_archive
from osintkit.archive.store import default_url, parse_url
from osintkit.cli import cli

RECYCLED = "contradicted_recycled.yaml"


def _claim(samples_dir: Path, name: str = RECYCLED) -> str:
    return str(samples_dir / "claims" / name)


# ---------------------------------------------------------------- a missing archive
@pytest.mark.parametrize("db", ["arch.sqllite", "nodir/x.sqlite", "sqlite:///nodir/x.sqlite"])
def test_verify_refuses_an_archive_that_does_not_exist(runner, samples_dir, tmp_path,
                                                      monkeypatch, db):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "arch.sqlite").write_bytes(b"")  # the file the typo meant (not an archive)
    result = runner.invoke(cli, ["verify", _claim(samples_dir), "--db", db, "-o", "out"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "no archive there" in lines[0]
    assert "--no-archive" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["arch.sqlite"]  # nothing created
    if db == "arch.sqllite":
        assert f"did you mean {tmp_path / 'arch.sqlite'}?" in lines[0]
    if db.startswith(("nodir", "sqlite")):
        assert f"no folder {tmp_path / 'nodir'}" in lines[0]


def test_without_db_and_without_default_archive_verify_and_batch_refuse(runner, samples_dir,
                                                                       tmp_path):
    data = Path(os.environ["XDG_DATA_HOME"])  # empty: set for the whole test session
    default = parse_url(None).path
    assert default is not None and default.is_relative_to(data) and not default.exists()
    for args in (["verify", _claim(samples_dir), "-o", str(tmp_path / "v")],
                 ["batch", _claim(samples_dir), "-o", str(tmp_path / "b")]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 2, result.output
        line = result.stderr.strip()
        assert line.startswith("Error: no archive to search: the default archive ")
        assert str(default) in line and "--no-archive" in line
    assert not default.exists() and not (tmp_path / "v").exists()
    assert not (tmp_path / "b").exists()


def test_read_commands_never_create_an_archive(runner, tmp_path):
    target = tmp_path / "new.sqlite"
    for cmd in (["archive", "stats"], ["archive", "list"], ["archive", "export"],
                ["archive", "search", str(tmp_path)]):
        result = runner.invoke(cli, [*cmd, "--db", str(target)])
        assert result.exit_code == 2 and "no archive there" in result.stderr, cmd
    assert not target.exists()


def test_an_empty_sqlite_file_or_foreign_database_is_not_an_archive(tmp_path):
    import sqlite3

    from osintkit.errors import ArchiveError

    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    with pytest.raises(ArchiveError, match="empty file, not an archive"):
        open_archive(str(empty), create=False)
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (x TEXT)")
    with pytest.raises(ArchiveError, match="no osintkit archive in this database"):
        open_archive(str(other), create=False)
    with sqlite3.connect(other) as conn:  # and it was left as it was
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["notes"]


def test_batch_refuses_a_missing_archive_before_any_claim(runner, samples_dir, tmp_path):
    result = runner.invoke(cli, ["batch", _claim(samples_dir), "--db", str(tmp_path / "no.db"),
                                 "-o", str(tmp_path / "out")])
    assert result.exit_code == 2 and "no archive there" in result.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "no.db").exists()


# ---------------------------------------------------------------- the verdict says so
def test_no_archive_and_empty_archive_are_in_the_verdict(runner, samples_dir, tmp_path):
    no = runner.invoke(cli, ["verify", _claim(samples_dir), "--no-archive", "-o",
                             str(tmp_path / "a"), "--json", "--fail-on", "never"])
    rep = json.loads(no.stdout)
    assert rep["archive"] == {"searched": False, "skipped": "--no-archive was given"}
    assert any(r.startswith("Archive not searched: --no-archive was given") for r in
               rep["verdict"]["reasons"])
    assert rep["verdict"]["level"] != "contradicted"  # without the archive: not recycled
    empty = tmp_path / "empty.sqlite"
    open_archive(str(empty)).close()  # a real, empty archive
    res = runner.invoke(cli, ["verify", _claim(samples_dir), "--db", str(empty), "-o",
                              str(tmp_path / "b"), "--json", "--fail-on", "never"])
    rep = json.loads(res.stdout)
    assert rep["archive"]["searched"] is True and rep["archive"]["items"] == 0
    assert any("Archive searched but empty" in r for r in rep["verdict"]["reasons"])
    assert "searched: yes" in (tmp_path / "b" / "report.html").read_text()
    assert "the archive is empty" in (tmp_path / "b" / "report.html").read_text()


# ---------------------------------------------------------------- SQLAlchemy's convention
def test_sqlite_urls_follow_sqlalchemy(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert parse_url("sqlite:///rel.db").path == tmp_path / "rel.db"
    assert parse_url("sqlite:///sub/rel.db").path == tmp_path / "sub" / "rel.db"
    assert parse_url("sqlite:////abs/path.db").path == Path("/abs/path.db")
    assert parse_url("plain.sqlite").path == tmp_path / "plain.sqlite"
    assert parse_url(str(tmp_path / "x.db")).path == tmp_path / "x.db"
    url = default_url()
    assert url.startswith("sqlite:////") and parse_url(url).path == parse_url(None).path
    assert not str(parse_url(None).path).startswith("//")
    assert not parse_url(None).display.startswith("//")
    for bad in ("sqlite://", "sqlite:///", "sqlite://host/x.db"):
        with pytest.raises(Exception, match="SQLite URL"):
            parse_url(bad)


def test_help_example_db_url_is_relative_to_the_working_directory(samples_dir, sample_db,
                                                                  tmp_path):
    """`--db sqlite:///demo-out/archive.sqlite` run from a checkout after `make demo`."""
    work = tmp_path / "checkout"
    (work / "demo-out").mkdir(parents=True)
    src = Path(parse_url(sample_db).path)
    (work / "demo-out" / "archive.sqlite").write_bytes(src.read_bytes())
    proc = subprocess.run([sys.executable, "-m", "osintkit", "verify", _claim(samples_dir),
                           "--db", "sqlite:///demo-out/archive.sqlite", "-o", "rep", "--json"],
                          cwd=work, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr  # contradicted: the recycled media is found
    rep = json.loads(proc.stdout)
    assert rep["verdict"]["level"] == "contradicted"
    assert rep["archive"]["identity"] == str(work / "demo-out" / "archive.sqlite")
    assert not Path("/demo-out").exists() and not Path("/demo.sqlite").exists()


# ---------------------------------------------------------------- missing file on the CLI
def test_a_missing_file_on_the_command_line_is_like_one_in_a_claim_file(runner, samples_dir,
                                                                        tmp_path):
    good = samples_dir / "media" / "strike_far.jpg"
    missing = tmp_path / "missing.jpg"
    result = runner.invoke(cli, ["verify", str(good), str(missing), "--claim-place",
                                 "37.2242,67.2783", "--no-archive", "-o", str(tmp_path / "o"),
                                 "--json"])
    assert result.exit_code == 1  # the good file is still checked: GPS far away
    rep = json.loads(result.stdout)
    assert [m["ok"] for m in rep["media"]] == [True, False]
    assert rep["media"][1]["error"]["code"] == "not_found"
    assert rep["errors"][0]["media"] == "m2" and str(missing) in rep["errors"][0]["message"]
    assert any("1 media item(s) could not be read" in r for r in rep["verdict"]["reasons"])
    assert (tmp_path / "o" / "report.html").is_file()
    assert rep["media"][1]["level"] == "unchecked"
    assert "GET_READABLE_COPY" in {s["rule"] for s in rep["next_steps"]}
    # the same claim as a claim file gives the same media states
    claim = tmp_path / "claim.yaml"
    claim.write_text(f"place: '37.2242,67.2783'\nmedia: [{good}, missing.jpg]\n")
    again = runner.invoke(cli, ["verify", str(claim), "--no-archive", "-o",
                                str(tmp_path / "c"), "--json"])
    rep2 = json.loads(again.stdout)
    assert [m["ok"] for m in rep2["media"]] == [True, False]
    assert rep2["media"][1]["error"]["code"] == "not_found" and again.exit_code == 1


def test_a_scheme_less_url_is_answered_with_https(runner, tmp_path):
    result = runner.invoke(cli, ["verify", "t.me/s/somechannel/1234", "--no-archive", "-o",
                                 str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "did you mean https://t.me/s/somechannel/1234 ?" in result.stderr


def test_the_archive_block_never_shows_a_password(postgres_server, samples_dir, tmp_path):
    from osintkit.archive.store import redact
    from osintkit.claim import claim_from_dict
    from osintkit.verify import VerifyOptions, verify_claim

    assert redact("postgresql://u:s3cret@h/db?sslmode=require&password=x") == \
        "postgresql://u:***@h/db?sslmode=require&password=***"
    url = postgres_server.new_database()
    open_archive(url).close()  # an empty archive on PostgreSQL
    claim = claim_from_dict({"media": ["forwarded.jpg"]}, base_dir=samples_dir / "media")
    rep = verify_claim(claim, tmp_path, db_url=url, options=VerifyOptions(formats=("json",)))
    a = rep.archive
    assert a["searched"] and a["engine"] == "postgresql" and a["items"] == 0
    assert a["identity"] == redact(url) and a["modified_at"] is None
    assert a["generation"] == 0 and a["archive_id"]
