"""Recycled pictures found by default, told apart from another shot of the same scene.

`verify` with no flags (the robust search) finds a 25% crop, a dark-mode chat screenshot
with the photo at the screen's edge and a bordered copy; a stereo pair and a viewpoint
pair (real: Middlebury's motorcycle, shipped with scikit-image) come out as `scene` /
SAME_SCENE_IN_ARCHIVE, never as ARCHIVE_MATCH_PREDATES_CLAIM; a dark low-detail picture
never matches another by pHash alone. Pictures are generated or shipped by packages, so
these tests need no corpus.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from layouts import chat, feed
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from osintkit.archive import open_archive
from osintkit.cli import cli
from osintkit.match.hashfile import hash_file
from osintkit.match.hashing import hash_image
from osintkit.verify import VerifyOptions, verify_claim

SKIMAGE = pytest.importorskip("skimage.data", reason="scikit-image ships the photos used here")
DATA = Path(SKIMAGE.__file__).parent


def _photo(name: str) -> Image.Image:
    with Image.open(DATA / name) as im:
        return im.convert("RGB")


@pytest.fixture(scope="module")
def scene_archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Path]]:
    """Archive of real photos (first seen 2019) kept in a folder that is then removed:
    confirmation must work from what the archive itself holds."""
    folder = tmp_path_factory.mktemp("scene-archive")
    files = {}
    for name in ("astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg",
                 "motorcycle_left.png"):
        dst = folder / "files" / (Path(name).stem + ".jpg")
        dst.parent.mkdir(exist_ok=True)
        _photo(name).save(dst, quality=92)
        files[Path(name).stem] = dst
    url = f"sqlite:///{folder / 'archive.sqlite'}"
    with open_archive(url) as arc:
        assert all(r.ok for r in arc.add(list(files.values()), source="agency",
                                         first_seen="2019-05-09"))
    keep = folder / "kept"
    shutil.copytree(folder / "files", keep)
    shutil.rmtree(folder / "files")  # the archived originals are gone
    return url, {k: keep / v.name for k, v in files.items()}


def _verify(url: str, picture: Image.Image, tmp: Path, name: str, fast: bool = False):
    from osintkit.claim import Claim, apply_overrides

    path = tmp / f"{name}.jpg"
    picture.save(path, quality=90)
    claim = apply_overrides(Claim(id=name, urls=[], media=[path]), claim_date="2026-04-18")
    return verify_claim(claim, tmp / f"out-{name}", db_url=url,
                        options=VerifyOptions(formats=("json", "html"), fast=fast))


def _codes(report) -> set[str]:
    return {f.code for f in report.findings}


def test_verify_default_finds_a_25_percent_crop(scene_archive, tmp_path):
    url, files = scene_archive
    img = Image.open(files["chelsea"]).convert("RGB")
    w, h = img.size
    crop = img.crop((round(0.25 * w), 0, w, h))  # a quarter of the width cut off
    rep = _verify(url, crop, tmp_path, "crop")
    assert "ARCHIVE_MATCH_PREDATES_CLAIM" in _codes(rep), _codes(rep)
    [m] = [m for m in rep.media[0].matches if m.match == "near"]
    assert m.name == "chelsea.jpg" and m.geometry["confirmed"]
    assert m.shot["kind"] == "copy"
    fast = _verify(url, crop, tmp_path, "crop-fast", fast=True)
    assert "ARCHIVE_MATCH_PREDATES_CLAIM" not in _codes(fast)  # hash views alone miss it


def test_verify_default_finds_a_dark_chat_screenshot_with_the_photo_at_the_edge(
        scene_archive, tmp_path):
    import random

    url, files = scene_archive
    photo = Image.open(files["coffee"]).convert("RGB")
    shot, box = chat(photo, random.Random(3), "dark", 1.0)  # edge to edge
    assert box[0] == 0 and box[0] + box[2] == shot.width
    rep = _verify(url, shot, tmp_path, "chat")
    assert "ARCHIVE_MATCH_PREDATES_CLAIM" in _codes(rep), _codes(rep)
    near = [m for m in rep.media[0].matches if m.match == "near"]
    assert near and near[0].name == "coffee.jpg"


def test_verify_default_finds_a_feed_screenshot_touching_both_edges(scene_archive, tmp_path):
    import random

    url, files = scene_archive
    shot, box = feed(Image.open(files["rocket"]).convert("RGB"), random.Random(1), "light", 1.0)
    assert box[0] == 0 and box[2] == shot.width
    rep = _verify(url, shot, tmp_path, "feed")
    assert "ARCHIVE_MATCH_PREDATES_CLAIM" in _codes(rep)


def test_verify_default_finds_a_bordered_copy(scene_archive, tmp_path):
    url, files = scene_archive
    img = Image.open(files["astronaut"]).convert("RGB")
    bordered = ImageOps.expand(img, border=(60, 40, 60, 120), fill=(250, 250, 245))
    ImageDraw.Draw(bordered).text((70, img.height + 60), "shared from a channel", fill=(0, 0, 0))
    rep = _verify(url, bordered, tmp_path, "border")
    assert "ARCHIVE_MATCH_PREDATES_CLAIM" in _codes(rep)


def _viewpoint(img: Image.Image) -> Image.Image:
    """The same place seen with the camera turned: a perspective warp, then a crop."""
    import cv2

    a = np.asarray(img)
    h, w = a.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[40, 30], [w - 10, 0], [w - 30, h], [10, h - 40]])
    warped = cv2.warpPerspective(a, cv2.getPerspectiveTransform(src, dst), (w, h))
    return Image.fromarray(warped[40:h - 40, 40:w - 40])


@pytest.mark.parametrize("pair", ["stereo", "viewpoint"])
def test_another_shot_of_the_scene_is_scene_not_recycled(scene_archive, tmp_path, pair):
    url, _ = scene_archive
    right = _photo("motorcycle_right.png")  # the other camera of the stereo rig
    query = right if pair == "stereo" else _viewpoint(right)
    rep = _verify(url, query, tmp_path, pair)
    codes = _codes(rep)
    assert "ARCHIVE_MATCH_PREDATES_CLAIM" not in codes and "ARCHIVE_MATCH" not in codes
    assert "SAME_SCENE_IN_ARCHIVE" in codes
    [f] = [f for f in rep.findings if f.code == "SAME_SCENE_IN_ARCHIVE"]
    assert f.severity == "medium" and f.evidence["name"] == "motorcycle_left.jpg"
    assert f.evidence["match"] == "scene" and f.evidence["shot"]["kind"] == "scene"
    assert rep.level == "suspicious"
    data = json.loads((tmp_path / f"out-{pair}" / "report.json").read_text())
    assert {m["match"] for m in data["media"][0]["matches"]} == {"scene"}
    html = (tmp_path / f"out-{pair}" / "report.html").read_text()
    block = html[html.index('id="same-scene"'):]
    assert block.count("data:image/jpeg;base64,") >= 2  # both pictures, side by side


def test_the_same_photo_is_still_a_copy(scene_archive, tmp_path):
    url, files = scene_archive
    rep = _verify(url, Image.open(files["motorcycle_left"]).convert("RGB").resize((600, 405)),
                  tmp_path, "left")
    assert "ARCHIVE_MATCH_PREDATES_CLAIM" in _codes(rep)
    assert "SAME_SCENE_IN_ARCHIVE" not in _codes(rep)


def _moon(size=(640, 480)) -> Image.Image:
    img = Image.new("RGB", size, (2, 2, 4))
    ImageDraw.Draw(img).ellipse((300, 120, 360, 180), fill=(235, 235, 220))
    return img.filter(ImageFilter.GaussianBlur(1))


def _sunset(size=(640, 480)) -> Image.Image:
    img = Image.new("RGB", size, (8, 5, 5))
    d = ImageDraw.Draw(img)
    d.ellipse((296, 116, 366, 186), fill=(250, 170, 90))  # a low sun
    d.rectangle((0, 400, 640, 480), fill=(0, 0, 0))  # the silhouette of a ridge
    return img.filter(ImageFilter.GaussianBlur(2))


@pytest.mark.parametrize("fast", [False, True], ids=["robust", "fast"])
def test_a_dark_low_detail_photo_never_matches_another_by_phash_alone(tmp_path, fast):
    from osintkit.match.hashing import HASHERS

    moon, sunset = _moon(), _sunset()
    ha, hb = hash_image(moon), hash_image(sunset)
    assert HASHERS["phash"].distance(ha["phash"], hb["phash"]) <= 10  # pHash says "same"
    assert min(ha["pdq_quality"], hb["pdq_quality"]) < 50  # ... on too little detail
    moon.save(tmp_path / "moon.png")
    sunset.save(tmp_path / "sunset.png")
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    with open_archive(url) as arc:
        arc.add([tmp_path / "moon.png"], source="s", first_seen="2019-01-01")
        assert arc.search(hash_file(tmp_path / "sunset.png"), robust=not fast) == []
        # the same picture is still found (exact), and a re-encode of it by hashes + fit
        assert [m.match for m in arc.search(hash_file(tmp_path / "moon.png"))] == ["exact"]


def test_phash_alone_needs_pdq_not_to_disagree():
    """The rule behind the moon/sunset case, on its own (robust.hash_trust)."""
    from types import SimpleNamespace

    from osintkit.archive.models import Match
    from osintkit.archive.robust import hash_trust

    item = SimpleNamespace(hashes={"pdq_quality": 100, "dhash": "0f0f0f0f0f0f0f0f"})

    def m(distance):
        return Match(1, "x", None, None, None, "image", distance, "none", "near")

    q = {"pdq_quality": 100, "dhash": "0f0f0f0f0f0f0f0f"}
    assert hash_trust(m({"pdq": 12, "phash": 30}), q, item)[0]  # PDQ alone
    assert hash_trust(m({"pdq": 60, "phash": 6}), q, item)[0]  # pHash + PDQ agree
    assert not hash_trust(m({"pdq": 104, "phash": 8}), q, item)[0]  # PDQ disagrees
    assert not hash_trust(m({"pdq": 20, "phash": 4}), {**q, "pdq_quality": 30}, item)[0]
    assert not hash_trust(m({"pdq": 60, "phash": 6}), {**q, "dhash": "f0f0f0f0f0f0f0f0"},
                          item)[0]  # dHash disagrees


def test_cli_fast_and_default_differ_on_a_crop(runner, scene_archive, tmp_path):
    url, files = scene_archive
    img = Image.open(files["astronaut"]).convert("RGB")
    q = tmp_path / "q.jpg"
    img.crop((0, 0, round(img.width * 0.7), round(img.height * 0.75))).save(q, quality=90)
    out = {}
    for flag in ([], ["--fast"]):
        res = runner.invoke(cli, ["archive", "search", str(q), "--db", url, "--json", *flag])
        assert res.exit_code == 0, res.stderr
        out[bool(flag)] = json.loads(res.stdout)
    [m] = out[False]["matches"]
    assert m["match"] == "near" and m["basis"] == "geometry" and m["shot"]["kind"] == "copy"
    assert out[True]["matches"] == []
    text = runner.invoke(cli, ["archive", "search", str(q), "--db", url])
    assert "pixels: the pixels agree" in text.stdout


def test_compare_headline_says_what_decided(runner, tmp_path):
    """`compare`'s first line gives the fit and the pixels that decided, not the whole
    pictures' distances; another shot of the scene is `same-scene`."""
    img = _photo("chelsea.png")
    img.save(tmp_path / "orig.jpg", quality=92)
    w, h = img.size
    ImageOps.mirror(img.crop((round(0.21 * w), 0, w, h))).save(tmp_path / "q.jpg", quality=90)
    res = runner.invoke(cli, ["compare", str(tmp_path / "q.jpg"), str(tmp_path / "orig.jpg")])
    assert res.exit_code == 0, res.stderr
    first = res.stdout.splitlines()[0]
    assert first.startswith("near-duplicate") and "mirrored" in first and "cropped 2" in first
    assert "inliers" in first and "pixels agree" in first
    assert res.stdout.splitlines()[1].startswith("  whole pictures: pdq")
    data = json.loads(runner.invoke(cli, ["compare", str(tmp_path / "q.jpg"),
                                          str(tmp_path / "orig.jpg"), "--json"]).stdout)
    assert data["decided_by"] == "geometry" and data["shot"]["kind"] == "copy"
    _photo("motorcycle_left.png").save(tmp_path / "l.jpg", quality=92)
    _photo("motorcycle_right.png").save(tmp_path / "r.jpg", quality=92)
    data = json.loads(runner.invoke(cli, ["compare", str(tmp_path / "r.jpg"),
                                          str(tmp_path / "l.jpg"), "--json"]).stdout)
    assert data["verdict"] == "same-scene" and data["headline"].startswith("another shot")
