"""Canonical views: content region inside bars/padding/UI, sub-views, flat views dropped."""

from __future__ import annotations

import pytest
from fixtures_matching import letterbox, open_photo, pad, screenshot
from PIL import Image

from osintkit.match.hashing import hamming, hash_image
from osintkit.match.views import (
    SUB_VIEWS,
    best_view_pair,
    content_region,
    hash_views,
    query_views,
    sub_views,
)


def _close(box, want, tol: float) -> bool:
    """Boxes (x, y, w, h) agree within `tol` of the larger side of `want`."""
    slack = tol * max(want[2], want[3])
    return all(abs(a - b) <= slack for a, b in zip(box, want, strict=True))


@pytest.mark.parametrize("colour", [(0, 0, 0), (255, 255, 255), (240, 240, 235)])
def test_padding_is_removed_whatever_the_canvas_colour(distinct_photos, colour):
    for path in distinct_photos["archived"][:4]:
        canvas, where = pad(open_photo(path, 600), 0.4, colour)
        region = content_region(canvas)
        assert region is not None and _close(region, where, 0.03), (path.name, region, where)


def test_letterbox_bars_are_removed(distinct_photos):
    for path in distinct_photos["archived"][:4]:
        frame, where = letterbox(open_photo(path))
        assert _close(content_region(frame), where, 0.03), path.name


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_screenshot_region_is_the_photo_not_the_ui(distinct_photos, dark):
    for path in distinct_photos["archived"][:4]:
        shot, where = screenshot(open_photo(path), dark)
        region = content_region(shot)
        assert region is not None and _close(region, where, 0.04), (path.name, region, where)


def test_a_photo_filling_its_frame_has_no_content_region(distinct_photos):
    for path in distinct_photos["archived"] + distinct_photos["distractors"]:
        assert content_region(open_photo(path, 600)) is None, path.name


def test_content_view_hashes_like_the_original(distinct_photos):
    """The point of the region: its PDQ is the original's (plain PDQ of the canvas is not)."""
    for path in distinct_photos["archived"][:3]:
        img = open_photo(path, 600)
        orig = str(hash_image(img, ("pdq",))["pdq"])
        canvas, _ = pad(img, 0.4)
        views = {v.name: v for v in hash_views(query_views(canvas))}
        assert hamming(views["content"].pdq["none"], orig) <= 16
        assert hamming(views["full"].pdq["none"], orig) > 31


def test_sub_views_are_the_documented_boxes():
    img = Image.new("RGB", (1000, 500))
    boxes = {v.name: v.box for v in sub_views(img)}
    assert list(boxes) == list(SUB_VIEWS)
    assert boxes["centre80"] == (100, 50, 800, 400)
    assert boxes["br80"] == (200, 100, 800, 400)
    assert boxes["top85"] == (0, 0, 1000, 425)
    assert all(v.image.size == v.box[2:] for v in sub_views(img))


def test_query_sub_views_sit_inside_the_content_region(distinct_photos):
    canvas, (x, y, w, h) = pad(open_photo(distinct_photos["archived"][0], 600), 0.4)
    views = query_views(canvas)
    inner = [v for v in views if v.name.startswith("content:")]
    assert len(inner) == len(SUB_VIEWS)
    for v in inner:
        vx, vy, vw, vh = v.box
        assert x - 3 <= vx and vx + vw <= x + w + 3 and y - 3 <= vy and vy + vh <= y + h + 3


def test_flat_views_are_never_hashed():
    """A solid or near-blank picture (PDQ quality < 50) yields no view to search."""
    blank = Image.new("RGB", (800, 600), (250, 250, 250))
    assert hash_views(query_views(blank)) == []
    assert best_view_pair(blank, blank.copy()) is None


def test_best_view_pair_explains_a_padded_copy(distinct_photos):
    img = open_photo(distinct_photos["archived"][1], 600)
    canvas, where = pad(img, 0.3, (0, 0, 0))
    pair = best_view_pair(canvas, img)
    assert pair["pdq"] <= 16 and pair["a_view"] == "content" and pair["b_view"] == "whole"
    assert _close(pair["a_box"], where, 0.03)


def test_unrelated_photos_have_no_close_view_pair(distinct_photos):
    a = open_photo(distinct_photos["archived"][0], 500)
    for other in distinct_photos["distractors"]:
        assert best_view_pair(a, open_photo(other, 500))["pdq"] > 31, other.name
