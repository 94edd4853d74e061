"""Archive of known material: every behaviour on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import ROOT
from paused_cli import PAUSE_MARKER
from PIL import Image

from osintkit.archive import ArchiveError, open_archive
from osintkit.archive.exchange import import_file
from osintkit.archive.export import export_jsonl
from osintkit.archive.store import SCHEMA_VERSION
from osintkit.cli import cli
from osintkit.match.hashfile import FrameHashes, HashResult, file_digests, hash_file
from osintkit.match.hashing import hash_image, load_image, pdq_variants

PAUSED_CLI = Path(__file__).with_name("paused_cli.py")
MATCH_KEYS = {"item_id", "name", "sha256", "source", "first_seen", "kind", "distance",
              "transform", "match", "query_t", "item_t"}


# ---------------------------------------------------------------- helpers
@pytest.fixture(scope="module")
def media(photos: list[Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Six archived photos, and disguised copies of photos[0] made with Pillow."""
    d = tmp_path_factory.mktemp("archive-media")
    src = d / "archived"
    src.mkdir()
    for i, p in enumerate(photos[:6]):
        (src / f"{i}_{p.name}").write_bytes(p.read_bytes())
    with Image.open(photos[0]) as im:
        img = im.convert("RGB")
    img.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(d / "mirrored.jpg", quality=80)
    img.transpose(Image.Transpose.ROTATE_90).save(d / "rotated.jpg", quality=80)
    img.resize((img.width // 3, img.height // 3)).save(d / "small.jpg", quality=60)
    img.save(d / "reencoded.png")
    Image.effect_mandelbrot((640, 480), (-2, -1.2, 1, 1.2), 60).convert("RGB").save(
        d / "unrelated.png")
    return {"dir": src, "mirrored": d / "mirrored.jpg", "rotated": d / "rotated.jpg",
            "small": d / "small.jpg", "png": d / "reencoded.png",
            "unrelated": d / "unrelated.png", "original": sorted(src.iterdir())[0]}


@pytest.fixture(scope="module")
def hashed(media: dict[str, Path]) -> list[HashResult]:
    """HashResults of the six archived photos (hashed once for the module)."""
    return [hash_file(p) for p in sorted(media["dir"].iterdir())]


@pytest.fixture
def archive(archive_url: str, hashed: list[HashResult]):
    """An archive holding the six photos (first seen 2022-03-01, source "agency")."""
    arc = open_archive(archive_url)
    results = [arc.add_hashed(h, source="agency", first_seen="2022-03-01", tags=["old"])
               for h in hashed]
    assert [r.status for r in results] == ["added"] * 6
    yield arc
    arc.close()


def test_add_directory_hashes_every_photo(archive_url, media):
    with open_archive(archive_url) as arc:
        results = arc.add([media["dir"]], source="agency", first_seen="2022-03-01")
        assert [(r.status, r.kind) for r in results] == [("added", "image")] * 6
        assert [r.path for r in results] == sorted(media["dir"].iterdir())
        item = arc.get(results[0].item_id)
        assert len(item.hashes["pdq"]) == 64 and len(item.hashes["phash"]) == 16
        assert item.origin == str(results[0].path) and item.name == results[0].path.name


def _osintkit(*args: str, env: dict[str, str] | None = None, pause_in: int | None = None,
              **kw) -> subprocess.Popen:
    """A real `osintkit` process; `pause_in`: its Nth write transaction pauses before
    committing (tests/paused_cli.py) so that the test can kill it there."""
    exe = ["-m", "osintkit"] if pause_in is None else [str(PAUSED_CLI), str(pause_in)]
    return subprocess.Popen([sys.executable, *exe, *args], cwd=ROOT,
                            env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def _count(url: str) -> int:
    with open_archive(url) as arc:
        return arc.stats()["items"]


# ---------------------------------------------------------------- search
def test_archived_photo_is_found_exactly_with_its_first_seen(archive, media):
    [res] = archive.search_paths([media["original"]])
    assert res.ok
    best = res.matches[0]
    assert best.match == "exact" and best.transform == "none"
    assert best.sha256 == file_digests(media["original"])[0]
    assert (best.first_seen, best.source, best.tags) == ("2022-03-01", "agency", ["old"])
    assert set(best.to_dict()) >= MATCH_KEYS


@pytest.mark.parametrize("copy, transforms", [
    ("mirrored", {"mirror"}), ("rotated", {"rot90", "rot270"}), ("small", {"none"}),
    ("png", {"none"})])
def test_disguised_copy_is_found_as_near_match(archive, media, copy, transforms):
    [res] = archive.search_paths([media[copy]])
    original_sha = file_digests(media["original"])[0]
    assert res.ok and res.matches, f"{copy}: no match"
    best = res.matches[0]
    assert (best.sha256, best.match) == (original_sha, "near")
    assert best.transform in transforms
    assert best.distance["pdq"] <= 31


def test_unrelated_picture_has_no_match(archive, media):
    [res] = archive.search_paths([media["unrelated"]])
    assert res.ok and res.matches == []


def test_max_distance_zero_keeps_only_exact_pixels(archive, media):
    """--max-distance sets the hash thresholds; the local-feature stage is separate (and
    still finds the downscaled copy unless --fast turns it off)."""
    res = archive.search(hash_file(media["small"]), max_distance={"pdq": 0, "phash": 0},
                         robust=False)
    assert res == []
    [m] = archive.search(hash_file(media["small"]), max_distance={"pdq": 0, "phash": 0})
    assert m.basis == "geometry" and m.shot["kind"] == "copy"


def test_video_frames_match_archived_images_and_frames(archive_url, photos):
    """Frame-level matching both ways, with the times of the matching frames."""
    def frame(p: Path, t: float, mirror: bool = False) -> FrameHashes:
        img = load_image(p)
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if mirror else img
        return FrameHashes(t, hash_image(img), variants=pdq_variants(img))

    clip = HashResult(Path("old.mp4"), True, "video", "a" * 64, "b" * 32,
                      frames=[frame(photos[7], 0.0), frame(photos[8], 2.0)])
    with open_archive(archive_url) as arc:
        arc.add_hashed(clip, source="tv", first_seen="2021-05-01")
        arc.add([photos[9]], source="web", first_seen="2020-01-01")
        # an image query finds the archived video at the frame that shows it
        [m] = arc.search(hash_file(photos[8]))
        assert (m.kind, m.item_t, m.query_t, m.transform) == ("video", 2.0, None, "none")
        assert m.frame_matches and m.frame_matches[0].item_t == 2.0
        # a (mirrored) video query finds the archived image and the archived video's frame
        query = HashResult(Path("new.mp4"), True, "video", "c" * 64, "d" * 32,
                           frames=[frame(photos[9], 4.0, mirror=True), frame(photos[7], 6.0)])
        matches = {m.name: m for m in arc.search(query)}
        assert (matches["old.mp4"].query_t, matches["old.mp4"].item_t) == (6.0, 0.0)
        assert matches[photos[9].name].query_t == 4.0
        assert matches[photos[9].name].transform == "mirror"


def _flip_bits(hex_: str, n: int) -> str:
    value = int(hex_, 16)
    for bit in range(0, len(hex_) * 4, len(hex_) * 4 // n)[:n]:  # n bits spread out
        value ^= 1 << bit
    return f"{value:0{len(hex_)}x}"


def test_matched_video_reports_looser_frame_pairs_for_segments(archive_url, photos):
    """A frame 45 bits away (re-encoded, logo) is no match alone, but once the video
    matched it is listed in frame_matches so a segment can extend over it."""
    a, b = (hash_image(load_image(p)) for p in photos[7:9])
    archived = HashResult(Path("old.mp4"), True, "video", "a" * 64, "b" * 32,
                          frames=[FrameHashes(0.0, a), FrameHashes(2.0, b)])
    worn = {**a, "pdq": _flip_bits(a["pdq"], 45), "phash": _flip_bits(a["phash"], 20)}
    query = HashResult(Path("new.mp4"), True, "video", "c" * 64, "d" * 32,
                       frames=[FrameHashes(10.0, a), FrameHashes(12.0, worn)])
    with open_archive(archive_url) as arc:
        arc.add_hashed(archived, source="tv", first_seen="2021-05-01")
        [m] = arc.search(query)
        pairs = {(f.query_t, f.item_t): f.distance["pdq"] for f in m.frame_matches}
        assert pairs == {(10.0, 0.0): 0, (12.0, 0.0): 45}
        [m] = arc.search(query, frame_distance=31)
        assert [(f.query_t, f.item_t) for f in m.frame_matches] == [(10.0, 0.0)]


def test_real_video_of_an_archived_photo_is_found_with_times(archive_url, cut_video, cut_shots):
    """cuts.mp4 holds photo p[6] still from 5 to 7 s: searching the video finds it there."""
    still = cut_shots[2].photo
    with open_archive(archive_url) as arc:
        arc.add([still], source="wire", first_seen="2019-07-01")
        [res] = arc.search_paths([cut_video])
    assert res.ok, res.error
    [m] = [m for m in res.matches if m.name == still.name]
    assert 5.0 <= m.query_t <= 7.0 and m.item_t is None
    assert all(5.0 <= f.query_t <= 7.0 for f in m.frame_matches)


def test_video_file_is_archived_with_frame_hashes(archive_url, cut_video):
    with open_archive(archive_url) as arc:
        [res] = arc.add([cut_video], source="tv", first_seen="2021-01-01")
        item = arc.get(res.item_id)
        assert item.kind == "video" and len(item.frames) >= 4
        times = [f["t"] for f in item.frames]
        assert times == sorted(times) and times[0] < 1.0
        [found] = arc.search_paths([cut_video])
        assert found.matches[0].match == "exact"


# ---------------------------------------------------------------- add
def test_readd_keeps_earliest_first_seen_and_merges_tags(archive, media):
    again = archive.add([media["original"]], source="blog", first_seen="2023-01-01", tags=["x"])
    assert [r.status for r in again] == ["updated"]  # new tag; date and source kept
    earlier = archive.add([media["original"]], source="forum", first_seen="2021-12-31")
    assert [r.status for r in earlier] == ["updated"]
    same = archive.add([media["original"]], source="forum", first_seen="2024-01-01")
    assert [r.status for r in same] == ["unchanged"]
    [m] = [m for m in archive.search_paths([media["original"]])[0].matches if m.match == "exact"]
    assert (m.first_seen, m.source, m.tags) == ("2021-12-31", "forum", ["old", "x"])
    assert archive.stats()["items"] == 6


def test_non_media_in_directory_is_skipped_and_bad_file_fails_alone(archive_url, photos, tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "notes.txt").write_text("not a picture")
    (d / "fake.jpg").write_text("not a picture either")
    (d / "ok.jpg").write_bytes(photos[0].read_bytes())
    skipped = []
    with open_archive(archive_url) as arc:
        results = arc.add([d], "s", "2024-01-01", on_skip=lambda p, why: skipped.append(p.name))
        assert skipped == ["notes.txt"]
        by_name = {r.path.name: r for r in results}
        assert by_name["ok.jpg"].status == "added"
        assert not by_name["fake.jpg"].ok and by_name["fake.jpg"].error.code == "not_media"
        assert arc.stats()["items"] == 1


def test_bad_first_seen_date_is_refused(archive_url, photos):
    with open_archive(archive_url) as arc, pytest.raises(ArchiveError, match="2024-13-01"):
        arc.add([photos[0]], "s", "2024-13-01")


def test_killed_add_keeps_committed_batches_and_rerun_completes(archive_url, photos, tmp_path):
    """A real `archive add` is killed inside its second transaction (after 2 committed
    items, with a third written but not committed); the archive stays consistent."""
    src = tmp_path / "in"
    src.mkdir()
    for p in photos[:4]:
        (src / p.name).write_bytes(p.read_bytes())
    args = ["archive", "add", str(src), "--source", "s", "--first-seen",
            "2024-01-01", "--batch-size", "2", "--db", archive_url, "--json"]
    proc = _osintkit(*args, pause_in=2)
    line = _read_line(proc.stderr, PAUSE_MARKER, timeout=60)
    assert line, "the add process never reached its second batch"
    proc.kill()
    proc.communicate(timeout=30)  # reap it and close its pipes
    assert _count(archive_url) == 2
    if archive_url.startswith("sqlite"):
        path = archive_url[len("sqlite:///"):]
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rerun = _osintkit(*args)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    statuses = sorted(json.loads(x)["status"] for x in out.splitlines())
    assert statuses == ["added"] * 2 + ["unchanged"] * 2
    assert _count(archive_url) == 4


def _read_line(stream, marker: str, timeout: float) -> str | None:
    """The first line containing `marker`, read in a thread (so a hang cannot block)."""
    found: list[str] = []

    def reader() -> None:
        for line in stream:
            if marker in line:
                found.append(line)
                return
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    t.join(timeout)
    return found[0] if found else None


def test_two_processes_adding_at_once_both_succeed(archive_url, photos, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    for i, p in enumerate(photos[:5]):  # photos 1..3 are in both directories
        if i < 4:
            (a / p.name).write_bytes(p.read_bytes())
        if i >= 1:
            (b / p.name).write_bytes(p.read_bytes())
    open_archive(archive_url).close()  # both see an existing archive: they race on rows
    procs = [_osintkit("-q", "archive", "add", str(d), "--source", d.name, "--first-seen", date,
                       "--batch-size", "1", "--db", archive_url)
             for d, date in ((a, "2024-02-01"), (b, "2024-01-01"))]
    try:
        outcomes = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    for p, (_, err) in zip(procs, outcomes, strict=True):
        assert p.returncode == 0, err
    with open_archive(archive_url) as arc:
        items = arc.list()
        assert len(items) == 5 and len({i.sha256 for i in items}) == 5
        shared = {i.name: i for i in items if i.name in {p.name for p in photos[1:4]}}
        assert {i.first_seen for i in shared.values()} == {"2024-01-01"}


# ---------------------------------------------------------------- records
def test_list_stats_and_remove(archive, media):
    items = archive.list()
    assert len(items) == 6 and all(i.kind == "image" for i in items)
    stats = archive.stats()
    assert (stats["items"], stats["sources"]) == (6, {"agency": 6})
    assert stats["schema_version"] == SCHEMA_VERSION
    assert archive.remove(ids=[items[0].id], sha256s=[items[1].sha256]) == 2
    assert archive.stats()["items"] == 4
    [res] = archive.search_paths([media["dir"] / items[0].name])
    assert all(m.item_id != items[0].id for m in res.matches)  # the index saw the removal


def test_jsonl_export_import_round_trip(archive, archive_url, media, tmp_path):
    clip = HashResult(Path("clip.mp4"), True, "video", "e" * 64, "f" * 32, frames=[
        FrameHashes(1.5, hash_file(media["original"]).hashes)])
    archive.add_hashed(clip, source="tv", first_seen="2020-02-02")
    out = tmp_path / "export.jsonl"
    with out.open("w") as fh:
        assert export_jsonl(archive, fh, with_paths=True).rows == 7
    with open_archive(f"sqlite:///{tmp_path / 'copy.sqlite'}") as copy:
        report = import_file(copy, out)
        assert (report.ok, report.added) == (True, 7)
        originals = {i.key: i.to_dict() for i in archive.list(with_frames=True)}
        copied = {i.key: i.to_dict() for i in copy.list(with_frames=True)}
        drop = ("item_id",)
        assert {k: {f: v for f, v in d.items() if f not in drop} for k, d in copied.items()} == \
            {k: {f: v for f, v in d.items() if f not in drop} for k, d in originals.items()}
        assert import_file(copy, out).unchanged == 7  # idempotent
        found = copy.search(hash_file(media["mirrored"]))  # the photo and the clip's frame
        assert {m.name for m in found} == {media["original"].name, "clip.mp4"}
        assert {m.transform for m in found} == {"mirror"}


def test_partner_csv_hash_list_is_imported_and_matched(archive_url, media, tmp_path):
    h = hash_file(media["original"])
    csv_file = tmp_path / "partner.csv"
    csv_file.write_text("pdq,md5,title\n"
                        f"{h.hashes['pdq']},,known photo\n"
                        f",{'0' * 31}1,md5 only\n")
    with open_archive(archive_url) as arc:
        report = import_file(arc, csv_file, source="partner", first_seen="2020-01-01")
        assert (report.ok, report.added) == (True, 2)
        [m] = arc.search(hash_file(media["mirrored"]))
        assert (m.match, m.kind, m.title, m.source) == ("near", "hash", "known photo", "partner")
        exact = HashResult(Path("x"), True, "image", "9" * 64, "0" * 31 + "1")
        assert [m.match for m in arc.search(exact)] == ["exact"]


def test_bad_csv_rows_are_reported_by_line_and_nothing_is_imported(archive_url, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("pdq,md5\n"
                   f"{'a' * 64},\n"
                   f"{'a' * 63},\n"  # line 3: too short (a PDQ that lost its leading zero)
                   f"{'g' * 64},\n"  # line 4: not hex
                   f",{'1' * 32}\n")
    with open_archive(archive_url) as arc:
        report = import_file(arc, bad, first_seen="2020-01-01")
        assert not report.ok
        assert [e.split(":")[0] for e in report.errors] == ["line 3", "line 4"]
        assert "64 hex" in report.errors[0] and "not hexadecimal" in report.errors[1]
        assert arc.stats()["items"] == 0


# ---------------------------------------------------------------- bad archives
def test_unknown_url_scheme_is_a_one_line_error():
    with pytest.raises(ArchiveError, match="unknown archive URL scheme 'mysql'") as exc:
        open_archive("mysql://user:secret@host/db")
    assert "secret" not in exc.value.message


def test_unreachable_server_is_a_one_line_error_without_password():
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ArchiveError, match="cannot connect") as exc:
        open_archive(f"postgresql://u:secret@127.0.0.1:{port}/x")
    assert "secret" not in exc.value.message and "\n" not in exc.value.message


def test_corrupt_sqlite_file_is_refused_and_left_untouched(tmp_path):
    bad = tmp_path / "archive.sqlite"
    data = b"this is not SQLite " * 500
    bad.write_bytes(data)
    with pytest.raises(ArchiveError, match=r"archive\.sqlite: not a usable SQLite archive"):
        open_archive(f"sqlite:///{bad}")
    assert bad.read_bytes() == data


def test_archive_from_a_newer_osintkit_is_refused(tmp_path):
    path = tmp_path / "a.sqlite"
    open_archive(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(ArchiveError, match="v99 is newer"):
        open_archive(f"sqlite:///{path}")


def test_old_schema_is_migrated_keeping_data(archive_url):
    from osintkit.archive import store

    db = store.connect(archive_url)
    db.write(lambda cur: db.execute(cur, "UPDATE meta SET value = '1' WHERE key = "
                                         "'schema_version'"))
    db.write(lambda cur: db.execute(cur, "DROP INDEX items_md5"))
    db.close()
    with open_archive(archive_url) as arc:
        assert arc.stats()["schema_version"] == SCHEMA_VERSION
        rows = arc.db.query("SELECT COUNT(*) FROM items WHERE md5 = ?", ("x",))
        assert rows == [(0,)]


def test_default_archive_lives_in_the_user_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    with open_archive() as arc:
        assert arc.url == f"sqlite:///{tmp_path / 'data' / 'osintkit' / 'archive.sqlite'}"
    assert (tmp_path / "data" / "osintkit" / "archive.sqlite").is_file()


def test_search_of_missing_archive_does_not_create_it(tmp_path):
    with pytest.raises(ArchiveError, match="no archive there"):
        open_archive(f"sqlite:///{tmp_path / 'none.sqlite'}", create=False)
    assert not (tmp_path / "none.sqlite").exists()


# ---------------------------------------------------------------- CLI
def test_cli_add_then_search_json_contract(runner, archive_url, media):
    res = runner.invoke(cli, ["archive", "add", str(media["dir"]), "--source", "wire",
                              "--first-seen", "2021-06-01", "--db", archive_url, "--json"])
    assert res.exit_code == 0, res.stderr
    assert len(res.stdout.splitlines()) == 6
    res = runner.invoke(cli, ["archive", "search", str(media["mirrored"]), str(media["unrelated"]),
                              "--db", archive_url, "--json"])
    assert res.exit_code == 0, res.stderr
    first, second = (json.loads(x) for x in res.stdout.splitlines())
    assert first["ok"] and set(first["matches"][0]) >= MATCH_KEYS
    assert first["matches"][0]["transform"] == "mirror"
    assert first["matches"][0]["first_seen"] == "2021-06-01"
    assert second["matches"] == []


def test_cli_export_csv_then_import_elsewhere(runner, archive, archive_url, tmp_path):
    res = runner.invoke(cli, ["archive", "export", "--format", "csv", "--db", archive_url])
    assert res.exit_code == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].startswith("pdq,md5,") and len(lines) == 7
    (tmp_path / "h.csv").write_text(res.stdout)
    other = f"sqlite:///{tmp_path / 'other.sqlite'}"
    res = runner.invoke(cli, ["archive", "import", str(tmp_path / "h.csv"), "--db", other,
                              "--json"])
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["added"] == 6


def test_cli_bad_import_exits_1_with_line_numbers(runner, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("pdq\n" + "z" * 64 + "\n")
    res = runner.invoke(cli, ["archive", "import", str(bad), "--db",
                              f"sqlite:///{tmp_path / 'a.sqlite'}"])
    assert res.exit_code == 1
    assert "line 2: pdq is not hexadecimal" in res.stderr


def test_cli_errors_are_one_line(runner, tmp_path):
    bad = tmp_path / "corrupt.sqlite"
    bad.write_bytes(b"garbage" * 100)
    res = runner.invoke(cli, ["archive", "stats", "--db", f"sqlite:///{bad}"])
    assert res.exit_code == 2
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    res = runner.invoke(cli, ["archive", "list", "--db", "ftp://x/y"])
    assert res.exit_code == 2 and "unknown archive URL scheme" in res.stderr


def test_cli_list_stats_remove(runner, archive, archive_url):
    res = runner.invoke(cli, ["archive", "list", "--db", archive_url, "--json"])
    items = [json.loads(x) for x in res.stdout.splitlines()]
    assert len(items) == 6 and items[0]["first_seen"] == "2022-03-01"
    res = runner.invoke(cli, ["archive", "remove", str(items[0]["item_id"]), "--db", archive_url])
    assert res.exit_code == 0 and "removed 1 record" in res.stdout
    res = runner.invoke(cli, ["archive", "remove", "999999", "--db", archive_url])
    assert res.exit_code == 1
    res = runner.invoke(cli, ["archive", "stats", "--db", archive_url, "--json"])
    assert json.loads(res.stdout)["items"] == 5
