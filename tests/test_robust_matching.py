"""Robust matching end to end: the archive finds padded, letterboxed, screenshotted,
captioned, mirrored, rotated and cropped copies of real photos (views, then `--deep`
geometry), reports which region matched, and matches neither unrelated nor blank pictures.
`compare` and `verify` go through the same pipeline."""

from __future__ import annotations

import json
import sqlite3

import pytest
from fixtures_matching import crop, jpeg, letterbox, logo_caption, open_photo, pad, screenshot
from PIL import Image, ImageOps

from osintkit.archive import open_archive
from osintkit.archive.store import SCHEMA_VERSION
from osintkit.cli import cli
from osintkit.match.hashfile import hash_file
from osintkit.match.views import SUB_VIEWS


def _search(url, path, **kw):
    with open_archive(url) as arc:
        return arc.search(hash_file(path), **kw)


def _query(tmp_path, name, img):
    path = tmp_path / f"{name}.jpg"
    img.save(path, quality=92)
    return path


def _close(box, want, tol=0.03):
    slack = tol * max(want[2], want[3])
    return box is not None and all(abs(a - b) <= slack for a, b in zip(box, want, strict=True))


# Families the fast search (hash index, no geometry) must find: (name, edit) where edit
# returns (query picture, region of the query showing the original or None).
FAST = {
    "jpeg q50": lambda im: (jpeg(im, 50), None),
    "downscale 50%": lambda im: (im.resize((im.width // 2, im.height // 2)), None),
    "grayscale": lambda im: (im.convert("L").convert("RGB"), None),
    "mirror": lambda im: (im.transpose(Image.Transpose.FLIP_LEFT_RIGHT), None),
    "rotate 90": lambda im: (im.transpose(Image.Transpose.ROTATE_90), None),
    "logo + caption": lambda im: (logo_caption(im), None),
    "pad 20% white": lambda im: pad(im, 0.2),
    "pad 40% black": lambda im: pad(im, 0.4, (0, 0, 0), (0.8, 0.1)),
    "letterbox 16:9": letterbox,
    "screenshot (light)": lambda im: screenshot(im),
    "screenshot (dark)": lambda im: screenshot(im, dark=True),
    "bottom-right corner cropped off": lambda im: (crop(im, 0, 0, 0.2, 0.2), None),
}


@pytest.mark.parametrize("family", list(FAST))
def test_fast_search_finds_the_original(family, matching_archive, tmp_path):
    url, files = matching_archive
    for k, original in enumerate(files[:3]):
        img, region = FAST[family](open_photo(original))
        matches = _search(url, _query(tmp_path, f"q{k}", img))
        assert matches and matches[0].name == original.name, (family, original.name)
        m = matches[0]
        assert m.match == "near" and m.distance["pdq"] <= 31
        if region is not None:  # the canvas was found: the region says where the photo is
            assert m.query_view == "content" and _close(m.query_region, region), \
                (m.query_view, m.query_region, region)
        if family == "mirror":
            assert m.transform == "mirror"
        if family.startswith("bottom-right"):
            assert m.item_view == "tl80"


@pytest.mark.parametrize("family,edit,words", [
    ("crop 30%", lambda im: crop(im, 0.12, 0.18, 0.18, 0.12), "cropped 5"),
    ("rotate 6°", lambda im: im.rotate(6, Image.Resampling.BICUBIC), "rotated 6°"),
    ("mirror + crop + rotate", lambda im: crop(im, 0.1, 0.0, 0.1, 0.15).transpose(
        Image.Transpose.FLIP_LEFT_RIGHT).rotate(-4, Image.Resampling.BICUBIC),
     "mirrored, rotated -4°"),
])
def test_deep_search_finds_crops_and_small_rotations(family, edit, words, matching_archive,
                                                     tmp_path):
    url, files = matching_archive
    for k, original in enumerate(files[:3]):
        q = _query(tmp_path, f"q{k}", edit(open_photo(original)))
        matches = _search(url, q, deep=True)
        assert [m.name for m in matches] == [original.name], family
        geo = matches[0].geometry
        assert geo["confirmed"] and geo["inliers"] >= 15 and words in geo["explanation"], geo


def test_deep_search_confirms_hash_matches_too(matching_archive, tmp_path):
    url, files = matching_archive
    img, region = screenshot(open_photo(files[0]))
    [m] = _search(url, _query(tmp_path, "shot", img), deep=True)
    assert m.geometry["confirmed"] and "inside a larger canvas" in m.geometry["explanation"]
    assert _close(m.query_region, region)


def test_unrelated_photos_match_nothing(matching_archive, distinct_photos, tmp_path):
    url, _ = matching_archive
    for k, other in enumerate(distinct_photos["distractors"]):
        img = open_photo(other)
        for name, variant in (("plain", img), ("padded", pad(img, 0.3)[0]),
                              ("shot", screenshot(img)[0])):
            q = _query(tmp_path, f"d{k}{name}", variant)
            assert _search(url, q, deep=(name == "plain")) == [], (other.name, name)


def test_blank_picture_never_matches_everything(matching_archive, tmp_path):
    url, files = matching_archive
    blank = _query(tmp_path, "blank", Image.new("RGB", (1200, 900), (245, 245, 245)))
    assert _search(url, blank, deep=True) == []
    flat = Image.new("RGB", (1200, 900), (20, 20, 20))  # near-blank: a dark frame, one line
    flat.paste((200, 200, 200), (0, 440, 1200, 460))
    assert _search(url, _query(tmp_path, "flat", flat)) == []
    # and an archived blank picture is not matched by a real photo
    with open_archive(url) as arc:
        arc.add([blank], source="junk", first_seen="2020-01-01")
        try:
            names = [m.name for m in arc.search(hash_file(files[1]))]
        finally:
            arc.remove(sha256s=[hash_file(blank).sha256])
    assert names == [files[1].name]


def test_index_growth_per_item_is_the_documented_sub_views(matching_archive):
    url, files = matching_archive
    db = url.removeprefix("sqlite:///")
    with sqlite3.connect(db) as conn:
        per_item = dict(conn.execute("SELECT item_id, COUNT(*) FROM views GROUP BY item_id"))
        names = {r[0] for r in conn.execute("SELECT DISTINCT view FROM views")}
    assert len(per_item) == len(files) and set(per_item.values()) <= set(range(len(SUB_VIEWS) + 1))
    assert sum(per_item.values()) >= 0.9 * len(files) * len(SUB_VIEWS)  # flat views are rare
    assert names <= set(SUB_VIEWS)
    with sqlite3.connect(db) as conn:  # and its local features (schema v6), ~14 KB
        sizes = [r[0] for r in conn.execute("SELECT length(features) FROM local "
                                            "WHERE status = 'ok'")]
    assert len(sizes) == len(files) and all(300 * 36 < n < 401 * 36 for n in sizes)


def test_older_archive_is_migrated_and_still_searchable(tmp_path, distinct_photos):
    """A v2 archive (no views/features tables) opens, gains them, old items still match."""
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    photo = distinct_photos["archived"][0]
    with open_archive(url) as arc:
        arc.add([photo], source="s", first_seen="2020-01-01")
    with sqlite3.connect(tmp_path / "old.sqlite") as conn:
        conn.execute("DROP TABLE views")
        conn.execute("DROP TABLE features")
        conn.execute("DROP TABLE local")
        conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    with open_archive(url) as arc:
        assert arc.stats()["schema_version"] == SCHEMA_VERSION
        assert [m.name for m in arc.search(hash_file(photo))] == [photo.name]
        assert arc.db.query("SELECT COUNT(*) FROM views")[0][0] == 0
        assert arc.local_counts() == {"ok": 1, "pending": 0}  # backfilled from its file


def test_cli_archive_search_deep_json(runner, matching_archive, tmp_path):
    url, files = matching_archive
    q = _query(tmp_path, "crop", crop(open_photo(files[2]), 0.2, 0.1, 0.05, 0.15))
    result = runner.invoke(cli, ["archive", "search", str(q), "--db", url, "--deep", "--json"])
    assert result.exit_code == 0, result.stderr
    [m] = json.loads(result.stdout)["matches"]
    assert m["name"] == files[2].name and m["geometry"]["confirmed"]
    assert set(m) >= {"query_region", "query_view", "item_view", "geometry"}
    text = runner.invoke(cli, ["archive", "search", str(q), "--db", url, "--deep"])
    assert "geometry:" in text.stdout and "cropped" in text.stdout


def test_compare_explains_a_screenshot_and_draws_it(runner, matching_archive, tmp_path):
    _, files = matching_archive
    img, region = screenshot(open_photo(files[1]))
    q = _query(tmp_path, "shot", img)
    out = tmp_path / "v.png"
    result = runner.invoke(cli, ["compare", str(q), str(files[1]), "--json", "--visual", str(out)])
    assert result.exit_code == 0, result.stderr
    obj = json.loads(result.stdout)
    assert obj["verdict"] == "near-duplicate" and obj["views"]["a_view"] == "content"
    assert _close(obj["views"]["a_box"], region)
    assert obj["geometry"]["confirmed"] and _close(obj["geometry"]["query_region"], region)
    assert out.is_file()


def test_verify_finds_the_recycled_photo_in_a_screenshot(matching_archive, tmp_path):
    from osintkit.claim import Claim
    from osintkit.verify import VerifyOptions, verify_claim

    url, files = matching_archive
    q = _query(tmp_path, "post", screenshot(open_photo(files[3]))[0])
    claim = Claim(id="post", urls=[], media=[q])
    rep = verify_claim(claim, tmp_path / "out", db_url=url, options=VerifyOptions(formats=()))
    found = [f for f in rep.findings if f.code.startswith("ARCHIVE_MATCH")]
    assert found and found[0].evidence["name"] == files[3].name


def test_verify_finds_a_heavily_cropped_mirrored_copy_by_default(runner, matching_archive,
                                                                 tmp_path):
    """A 25% crop, mirrored, escapes the hash views (`--fast`); the default confirms it."""
    url, files = matching_archive
    img = ImageOps.mirror(open_photo(files[5]))
    w, h = img.size
    q = _query(tmp_path, "crop", img.crop((int(w * 0.25), int(h * 0.2), w, h)))
    codes = {}
    for flag in (["--fast"], []):
        result = runner.invoke(cli, ["verify", str(q), "--db", url, "--claim-date", "2026-04-18",
                                     "-o", str(tmp_path / f"out{len(flag)}"), "--json", *flag])
        assert result.exit_code in (0, 1), result.stderr
        codes[bool(flag)] = {f["code"] for f in json.loads(result.stdout)["findings"]}
    assert "ARCHIVE_MATCH_PREDATES_CLAIM" not in codes[True]
    assert {"ARCHIVE_MATCH_PREDATES_CLAIM", "MIRRORED_OR_ROTATED_COPY"} <= codes[False]


def test_odd_pictures_are_searched_and_compared_without_errors(runner, matching_archive,
                                                              tmp_path):
    url, files = matching_archive
    odd = {"tiny.png": Image.new("RGB", (1, 1)), "thin.png": Image.new("RGB", (5, 900)),
           "clear.png": Image.new("RGBA", (300, 200), (0, 0, 0, 0))}
    for name, img in odd.items():
        img.save(tmp_path / name)
        result = runner.invoke(cli, ["archive", "search", str(tmp_path / name), "--db", url,
                                     "--deep", "--json"])
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout)["matches"] == []
        result = runner.invoke(cli, ["compare", str(tmp_path / name), str(files[0]), "--json"])
        assert result.exit_code == 0 and json.loads(result.stdout)["verdict"] == "different"
