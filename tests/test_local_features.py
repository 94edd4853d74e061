"""What confirmation needs, kept in the archive (schema v6): features, words, thumbnail;
the migration that backfills older items on SQLite and PostgreSQL; the candidate index
over visual words; the copy-or-another-shot pixel check."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from osintkit.archive import open_archive
from osintkit.archive.bow import WordIndex
from osintkit.archive.store import SCHEMA_VERSION
from osintkit.match.geometry import match_images
from osintkit.match.hashfile import hash_file
from osintkit.match.localfeat import LocalPicture, pack, unpack

skdata = pytest.importorskip("skimage.data", reason="scikit-image ships the photos used here")
DATA = Path(skdata.__file__).parent


def _photo(name: str) -> Image.Image:
    with Image.open(DATA / name) as im:
        return im.convert("RGB")


def _files(folder: Path, names=("astronaut.png", "coffee.png", "rocket.jpg")) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name in names:
        p = folder / (Path(name).stem + ".jpg")
        _photo(name).save(p, quality=92)
        out.append(p)
    return out


def test_features_pack_and_unpack_exactly():
    lp = LocalPicture.of(_photo("coffee.png"))
    back = unpack(pack(lp), lp.thumb)
    assert back.size == lp.size and len(back.points) == len(lp.points) > 300
    assert np.abs(back.points - lp.points).max() <= 1 / 16  # stored at 1/8 px
    assert np.array_equal(back.descriptors, lp.descriptors)
    assert back.thumb_image().size[0] == 320
    with pytest.raises(ValueError):
        unpack(b"\x09" + pack(lp)[1:])


def test_archive_keeps_features_words_and_thumbnail(tmp_path):
    files = _files(tmp_path / "f")
    with open_archive(f"sqlite:///{tmp_path / 'a.sqlite'}") as arc:
        arc.add(files, source="s", first_seen="2020-01-01")
        assert arc.local_counts() == {"ok": 3, "pending": 0}
        assert arc.stats()["local_features"]["ok"] == 3
    with sqlite3.connect(tmp_path / "a.sqlite") as conn:
        rows = conn.execute("SELECT status, length(features), length(words), length(thumb) "
                            "FROM local").fetchall()
    assert all(r[0] == "ok" and 300 * 36 < r[1] <= 400 * 36 + 11 and r[2] > 200 and
               5_000 < r[3] < 40_000 for r in rows), rows


def test_v4_archive_is_migrated_and_backfilled_then_works_without_its_files(archive_url,
                                                                          tmp_path):
    files = _files(tmp_path / "f")
    moved = tmp_path / "gone"
    with open_archive(archive_url) as arc:
        arc.add(files, source="s", first_seen="2020-01-01")
        arc.db.write(lambda cur: [arc.db.execute(cur, "DROP TABLE local"),
                                  arc.db.execute(cur, "UPDATE meta SET value = '4' "
                                                      "WHERE key = 'schema_version'")])
    files[1].unlink()  # one original is gone before the migration: it cannot be backfilled
    with open_archive(archive_url) as arc:  # migration v6 + backfill of the small archive
        assert arc.stats()["schema_version"] == SCHEMA_VERSION == 7
        assert arc.local_counts() == {"ok": 2, "missing": 1, "pending": 0}
    files[0].rename(moved)  # the others move away after it
    q = tmp_path / "q.jpg"
    img = Image.open(moved).convert("RGB")
    img.crop((0, 0, round(img.width * 0.7), round(img.height * 0.7))).save(q, quality=90)
    with open_archive(archive_url) as arc:
        [m] = arc.search(hash_file(q))
        assert m.name == "astronaut.jpg" and m.match == "near" and m.basis == "geometry"
        assert any("had no readable original file" in n for n in arc.last_notes)
    # a re-encode of the one whose file was missing: found by its hashes, without a fit
    _photo("coffee.png").save(tmp_path / "coffee-again.jpg", quality=80)
    with open_archive(archive_url) as arc:
        [m] = arc.search(hash_file(tmp_path / "coffee-again.jpg"))
        assert m.name == "coffee.jpg" and m.basis == "hashes" and m.geometry is None


def test_backfill_command_retries_and_reports(runner, tmp_path):
    from osintkit.cli import cli

    files = _files(tmp_path / "f")
    db = tmp_path / "a.sqlite"
    url = f"sqlite:///{db}"
    with open_archive(url) as arc:
        arc.add(files, source="s", first_seen="2020-01-01")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE local SET status = 'missing', features = NULL")
    res = runner.invoke(cli, ["archive", "backfill", "--db", url, "--json"])
    assert res.exit_code == 0, res.stderr
    assert '"done": {}' in res.stdout  # nothing pending: missing ones wait for --retry
    res = runner.invoke(cli, ["archive", "backfill", "--retry", "--db", url])
    assert res.exit_code == 0 and "3 ok" in res.stdout, res.stdout
    with sqlite3.connect(db) as conn:  # a file changed since it was archived is not used
        conn.execute("UPDATE local SET status = 'missing'")
    files[0].write_bytes(files[1].read_bytes())
    with open_archive(url) as arc:
        report = arc.backfill(retry=True)
    assert report.done == {"ok": 2, "changed": 1}


def test_word_index_extend_equals_a_rebuild():
    rng = np.random.default_rng(1)
    lists = [np.unique(rng.integers(0, 500, 60)) for _ in range(40)]
    whole = WordIndex.build(list(range(40)), lists, 500)
    part = WordIndex.build(list(range(25)), lists[:25], 500).extend(
        WordIndex.build(list(range(25, 40)), lists[25:], 500), (39, 40))
    assert np.array_equal(whole.offsets, part.offsets)
    assert np.array_equal(whole.postings, part.postings)
    chunks = WordIndex.build_chunks([(list(range(0, 10)), lists[:10]),
                                     (list(range(10, 40)), lists[10:])], 500)
    assert np.array_equal(whole.postings, chunks.postings)
    assert np.array_equal(whole.offsets, chunks.offsets)
    q = [lists[30][:40]]
    assert [c.item_id for c in whole.query(q, 3)] == [c.item_id for c in part.query(q, 3)]
    assert whole.query(q, 1)[0].item_id == 30


def test_word_index_is_cached_and_caught_up(tmp_path):
    files = _files(tmp_path / "f")
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    with open_archive(url) as arc:
        arc.add(files[:2], source="s", first_seen="2020-01-01")
        assert len(arc.words()) == 2
    assert (tmp_path / "a.sqlite.words.npz").is_file()
    with open_archive(url) as arc:
        arc.add(files[2:], source="s", first_seen="2020-01-01")
        assert len(arc.words()) == 3 and arc.words().base[1] == 3
        arc.remove(ids=[1])
        assert sorted(arc.words().rows.tolist()) == [2, 3]


@pytest.mark.parametrize("edit", ["crop", "caption", "downscale", "brightness"])
def test_pixels_say_copy_for_edited_copies(edit):
    from osintkit.match.sameshot import compare

    img = _photo("astronaut.png")
    q = {"crop": lambda: img.crop((60, 40, 450, 470)),
         "caption": lambda: _captioned(img),
         "downscale": lambda: img.resize((256, 256)),
         "brightness": lambda: ImageOps.autocontrast(img.point(lambda v: min(255, v + 40)))}[edit]()
    geo = match_images(q, img)
    assert geo.confirmed
    shot = compare(q, q.size, img, img.size, geo.homography)
    assert shot.kind == "copy" and shot.agree >= 0.8, shot


def _captioned(img: Image.Image) -> Image.Image:
    from PIL import ImageDraw

    out = img.copy()
    d = ImageDraw.Draw(out, "RGBA")
    d.rectangle((0, 440, 512, 512), fill=(0, 0, 0, 170))
    d.text((10, 450), "BREAKING footage", fill=(255, 255, 255))
    return out


def test_pixels_say_scene_for_a_stereo_pair():
    from osintkit.match.sameshot import compare

    left, right = _photo("motorcycle_left.png"), _photo("motorcycle_right.png")
    geo = match_images(right, left)
    assert geo.confirmed  # local features alone cannot tell: they fit
    shot = compare(right, right.size, left, left.size, geo.homography)
    assert shot.kind == "scene" and shot.agree < 0.62, shot


def test_search_picture_takes_a_decoded_frame(tmp_path):
    """The per-frame entry point (video frames, issue 15): pixels in, same robust path."""
    files = _files(tmp_path / "f")
    with open_archive(f"sqlite:///{tmp_path / 'a.sqlite'}") as arc:
        arc.add(files, source="s", first_seen="2020-01-01")
        frame = Image.open(files[2]).convert("RGB")
        frame = ImageOps.mirror(frame.crop((100, 50, 600, 400)))
        [m] = arc.search_picture(frame)
        assert m.name == "rocket.jpg" and m.match == "near" and m.geometry["mirrored"]
        assert arc.search_picture(Image.new("RGB", (640, 480), (90, 90, 90))) == []


def test_random_words_find_nothing_but_their_own_item():
    rng = random.Random(4)
    lists = [np.array(sorted(rng.sample(range(16384), 250))) for _ in range(300)]
    idx = WordIndex.build(list(range(300)), lists, 16384)
    got = idx.query([lists[123][::2]], 5)
    assert got[0].item_id == 123 and (len(got) == 1 or got[1].score < got[0].score / 3)
