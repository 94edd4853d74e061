"""`archive import` through the staging table (archive/bulk.py), on SQLite and PostgreSQL:
the merge rules of `archive add`, all-or-nothing, bad rows by line number."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import ROOT

from osintkit.archive import open_archive
from osintkit.archive.exchange import import_file

A, B, C = "a" * 32, "b" * 32, "c" * 32
PDQ = "0f" * 32


def _items(arc) -> dict[str, tuple]:
    return {i.key: (i.first_seen, i.source, i.tags, i.title, i.kind) for i in arc.list()}


def test_rows_merge_with_the_rules_of_archive_add(archive_url, tmp_path):
    first = tmp_path / "first.csv"
    first.write_text(f"md5,first_seen,source,tags\n{A},2021-05-01,old,x\n")
    rows = tmp_path / "rows.csv"
    rows.write_text("md5,pdq,first_seen,source,title,tags\n"
                    f"{A},,2019-01-01,early,a title,y;x\n"  # earlier: date and source move
                    f"{A},,2020-01-01,later,other title,\n"  # not earlier: only the tag --tag
                    f"{B.upper()},,2022-01-01,b1,,\n"  # new key (hex case-insensitive)
                    f"{B},,2018-01-01,b0,b title,z\n"  # repeat in the file: merged
                    f",{PDQ},2023-03-03,,,\n")  # PDQ only, defaults fill the rest
    with open_archive(archive_url) as arc:
        assert import_file(arc, first).added == 1
        report = import_file(arc, rows, source="partner", tags=("list",))
        assert report.ok and report.rows == 5
        assert (report.added, report.updated, report.unchanged) == (2, 3, 0)
        assert _items(arc) == {
            f"md5:{A}": ("2019-01-01", "early", ["x", "y", "list"], "a title", "hash"),
            f"md5:{B}": ("2018-01-01", "b0", ["list", "z"], "b title", "hash"),
            f"pdq:{PDQ}": ("2023-03-03", "partner", ["list"], None, "hash")}
        again = import_file(arc, rows, source="partner", tags=("list",))
        assert (again.added, again.updated, again.unchanged) == (0, 0, 5)
        assert arc.stats()["items"] == 3


def test_a_bad_row_late_in_a_big_file_writes_nothing(archive_url, tmp_path):
    big = tmp_path / "big.csv"
    with big.open("w") as fh:
        fh.write("pdq,md5\n")
        for n in range(30_000):
            fh.write(f"{n:064x},{n:032x}\n")
        fh.write(f"{'1' * 63},\n")  # line 30002
        fh.write(",\n")  # line 30003: nothing to match on
    with open_archive(archive_url) as arc:
        report = import_file(arc, big, first_seen="2020-01-01")
        assert not report.ok and report.rows == 30_002
        assert report.errors == ["line 30002: pdq must be 64 hex characters, got 63",
                                 "line 30003: no sha256, md5 or pdq: nothing to match on"]
        assert arc.stats()["items"] == 0
        good = tmp_path / "good.csv"
        good.write_text("".join(big.read_text().splitlines(keepends=True)[:-2]))
        report = import_file(arc, good, first_seen="2020-01-01")
        assert report.ok and report.added == 30_000 == arc.stats()["items"]
        assert arc.search(_result(md5=f"{77:032x}"))[0].first_seen == "2020-01-01"


def _result(md5: str):
    from osintkit.match.hashfile import HashResult

    return HashResult(Path("q"), True, "image", "9" * 64, md5)


def test_errors_are_capped_and_counted(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("md5\n" + "".join("zz\n" for _ in range(100)))
    with open_archive(f"sqlite:///{tmp_path / 'a.sqlite'}") as arc:
        report = import_file(arc, bad)
    assert len(report.errors) == 21 and report.errors[-1] == "... and 80 more"
    assert report.errors[0] == "line 2: md5 must be 32 hex characters, got 2"


def test_jsonl_with_frames_and_source_urls(archive_url, tmp_path):
    lines = [{"sha256": "1" * 64, "kind": "video", "first_seen": "2020-01-01",
              "source": "tv", "source_url": "https://t.me/tv/5",
              "frames": [{"t": 0.0, "hashes": {"pdq": PDQ}}, {"t": 1.0, "hashes": {}},
                         {"t": 1.0, "hashes": {"pdq": "f0" * 32}}]},
             {"md5": A, "kind": "hash", "first_seen": "2021-01-01", "source": "x"},
             {"md5": A, "kind": "hash", "first_seen": "2019-01-01", "source": "y",
              "source_url": "https://example.org/early"}]
    path = tmp_path / "x.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in lines) + "\n\n")
    with open_archive(archive_url) as arc:
        report = import_file(arc, path)
        assert (report.added, report.updated, report.rows) == (2, 1, 3)
        video = arc.get(arc.list(source="tv")[0].id)
        assert [f["t"] for f in video.frames] == [0.0, 1.0]
        assert video.frames[1]["hashes"]["pdq"] == "f0" * 32  # the last of a time wins
        assert video.source_url == "https://t.me/tv/5"
        hashed = arc.get(arc.list(source="y")[0].id)
        assert (hashed.first_seen, hashed.source_url) == ("2019-01-01",
                                                          "https://example.org/early")


def test_killed_import_leaves_all_or_nothing(tmp_path):
    big = tmp_path / "big.csv"
    with big.open("w") as fh:
        fh.write("pdq,md5\n")
        for n in range(150_000):
            fh.write(f"{n:064x},{n:032x}\n")
    db = f"sqlite:///{tmp_path / 'a.sqlite'}"
    with open_archive(db) as arc:
        assert arc.stats()["items"] == 0
    seen = set()
    for wait in (0.8, 1.6, 2.4):
        proc = subprocess.Popen([sys.executable, "-m", "osintkit", "archive", "import",
                                 str(big), "--db", db, "--first-seen", "2020-01-01"],
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env={**os.environ})
        time.sleep(wait)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        with open_archive(db) as arc:
            n = arc.stats()["items"]
        assert n in (0, 150_000)  # never a part
        seen.add(n)
        if n:
            break
    with open_archive(db) as arc:
        report = import_file(arc, big, first_seen="2020-01-01")
        assert report.ok and arc.stats()["items"] == 150_000


def test_bulk_load_with_a_repeated_key_falls_back_to_the_merge(archive_url, tmp_path):
    path = tmp_path / "dup.csv"
    with path.open("w") as fh:
        fh.write("md5,first_seen\n")
        for n in range(20_000):
            fh.write(f"{n:032x},2022-01-01\n")
        fh.write(f"{5:032x},2019-05-05\n")  # a repeat, earlier: merged into the first
    with open_archive(archive_url) as arc:
        report = import_file(arc, path)
        assert (report.added, report.updated, report.unchanged) == (20_000, 1, 0)
        assert arc.stats()["items"] == 20_000
        [m] = arc.search(_result(md5=f"{5:032x}"))
        assert m.first_seen == "2019-05-05"
        again = import_file(arc, path)  # everything known: nothing added, nothing changes
        assert (again.added, again.updated, again.unchanged) == (0, 0, 20_001)


def test_source_urls_survive_export_and_import(tmp_path, fetch_media):
    from osintkit.archive.export import export_jsonl
    from osintkit.match.hashfile import hash_file

    pic = tmp_path / "a.jpg"
    pic.write_bytes(fetch_media["jpeg_a"])
    with open_archive(f"sqlite:///{tmp_path / 'a.sqlite'}") as arc:
        arc.write_records([(hash_file(pic), {"source": "@x", "first_seen": "2021-01-01",
                                             "title": None, "tags": [],
                                             "source_url": "https://t.me/x/5"})])
        assert arc.list()[0].source_url == "https://t.me/x/5"
        with (tmp_path / "e.jsonl").open("w") as fh:
            export_jsonl(arc, fh)
    with open_archive(f"sqlite:///{tmp_path / 'b.sqlite'}") as other:
        assert import_file(other, tmp_path / "e.jsonl").added == 1
        assert other.list()[0].source_url == "https://t.me/x/5"
