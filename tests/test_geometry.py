"""Geometric confirmation: ORB + RANSAC finds crops, mirrors, rotations and padding, says so
in words, and does not confirm unrelated or blank pictures."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures_matching import crop, open_photo, pad
from PIL import Image

from osintkit.match.geometry import draw, match_files, match_images


@pytest.fixture(scope="module")
def originals(distinct_photos):
    return [open_photo(p, 640) for p in distinct_photos["archived"][:4]]


def test_crop_is_confirmed_with_its_box_and_share(originals):
    for img in originals:
        q = crop(img, 0.10, 0.05, 0.20, 0.15)  # keeps 70% x 80% = 56% of the area
        geo = match_images(q, img)
        w, h = img.size
        want = (round(0.10 * w), round(0.05 * h), round(0.70 * w), round(0.80 * h))
        assert geo.confirmed and not geo.mirrored
        assert all(abs(a - b) <= 0.02 * w for a, b in zip(geo.crop_box, want, strict=True))
        assert geo.cropped == pytest.approx(0.44, abs=0.03)
        assert geo.explanation == "cropped 44%" or geo.explanation.startswith("cropped 4")


def test_mirror_is_detected(originals):
    for img in originals:
        geo = match_images(img.transpose(Image.Transpose.FLIP_LEFT_RIGHT), img)
        assert geo.confirmed and geo.mirrored and geo.explanation == "mirrored"


@pytest.mark.parametrize("angle", [3, -5, 8])
def test_small_rotation_is_measured_with_its_sign(originals, angle):
    for img in originals:
        geo = match_images(img.rotate(angle, Image.Resampling.BICUBIC), img)
        assert geo.confirmed and geo.rotation == pytest.approx(angle, abs=0.7)
        assert f"rotated {angle}°" in geo.explanation


def test_rotate_90_and_mirror_with_crop_read_as_one_sentence(originals):
    img = originals[0]
    geo = match_images(img.transpose(Image.Transpose.ROTATE_90), img)
    assert geo.confirmed and geo.explanation == "rotated 90°"
    q = crop(img, 0.1, 0.1, 0.1, 0.0).transpose(Image.Transpose.FLIP_LEFT_RIGHT).rotate(4)
    geo = match_images(q, img)
    assert geo.confirmed and geo.explanation.startswith("mirrored, rotated 4°, cropped")


def test_padding_reports_where_the_original_sits(originals):
    img = originals[1]
    canvas, where = pad(img, 0.5, (30, 30, 30))
    geo = match_images(canvas, img)
    assert geo.confirmed and geo.query_region is not None
    assert all(abs(a - b) <= 6 for a, b in zip(geo.query_region, where, strict=True))
    assert "inside a larger canvas" in geo.explanation


def test_unrelated_photos_are_not_confirmed(distinct_photos):
    photos = [open_photo(p, 640) for p in distinct_photos["archived"] +
              distinct_photos["distractors"]]
    for i, a in enumerate(photos):
        b = photos[(i + 3) % len(photos)]
        geo = match_images(a, b)
        assert not geo.confirmed and geo.inliers < 15, (i, geo.inliers)


def test_blank_pictures_confirm_nothing(originals):
    blank = Image.new("RGB", (640, 480), (128, 128, 128))
    assert not match_images(blank, originals[0]).confirmed
    assert not match_images(originals[0], blank).confirmed
    assert not match_images(blank, blank.copy()).confirmed


def test_files_are_matched_in_their_own_pixels(tmp_path, distinct_photos):
    src = distinct_photos["archived"][2]  # a real camera file (large, EXIF)
    big = open_photo(src, 1600)
    big.save(tmp_path / "orig.jpg", quality=92)
    crop(big, 0.25, 0.0, 0.0, 0.25).save(tmp_path / "q.jpg", quality=90)
    geo = match_files(tmp_path / "q.jpg", tmp_path / "orig.jpg")
    w, h = big.size
    assert geo.confirmed and geo.sizes == ((w - round(0.25 * w), h - round(0.25 * h)), (w, h))
    assert abs(geo.crop_box[0] - 0.25 * w) <= 0.02 * w and abs(geo.crop_box[1]) <= 0.02 * h


def test_visual_draws_matches_and_the_outline(tmp_path, originals):
    img = originals[0]
    q = crop(img, 0.2, 0.2, 0.0, 0.0)
    geo = match_images(q, img)
    out = draw(q, img, geo, tmp_path / "m.png")
    with Image.open(out) as im:
        assert im.format == "PNG" and im.height == 480 + 40
        px = im.convert("RGB")
        # the query's outline on the original is magenta; it must be there
        a = np.asarray(px).astype(int)
        magenta = int(((a[..., 0] > 230) & (a[..., 1] < 90) & (a[..., 2] > 170)).sum())
        assert magenta > 200
    assert geo.to_dict()["explanation"] == geo.explanation


@pytest.mark.parametrize("size", [(1, 1), (5, 900), (40, 20)])
def test_tiny_or_thin_pictures_give_no_features_not_errors(originals, size):
    tiny = Image.new("RGB", size, (200, 10, 10))
    geo = match_images(tiny, originals[0])
    assert not geo.confirmed and geo.inliers == 0
    assert not match_images(originals[0], tiny).confirmed
