"""compare: verdicts on edited copies of real photos, transforms, videos, the picture, CLI."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from conftest import EXIF_SAMPLES
from fixtures_hash import VARIANTS, make_variant
from fixtures_video import render, transform, write_video
from PIL import Image

from osintkit import errors
from osintkit.cli import cli
from osintkit.match.compare import (
    CORROBORATED_PDQ,
    CORROBORATED_SUM,
    NEAR_PDQ,
    SIMILAR_PDQ,
    compare_files,
    verdict_for,
)
from osintkit.match.hashing import hamming, hash_image

MUST_MATCH = [v for v in VARIANTS if v.near]


# ---------------------------------------------------------------- verdict rules
def test_verdict_thresholds():
    assert verdict_for(True, {"pdq": 200}) == "identical"
    assert verdict_for(False, {"pdq": NEAR_PDQ, "phash": 30, "dhash": 30}) == "near-duplicate"
    half = CORROBORATED_SUM // 2
    near2 = {"pdq": CORROBORATED_PDQ, "phash": half, "dhash": half}
    assert verdict_for(False, near2) == "near-duplicate"
    assert verdict_for(False, {**near2, "dhash": 30}) == "similar"  # not corroborated
    assert verdict_for(False, {"pdq": SIMILAR_PDQ, "phash": 30, "dhash": 30}) == "similar"
    assert verdict_for(False, {"pdq": SIMILAR_PDQ + 1, "phash": 30, "dhash": 30}) == "different"
    # Flat pictures (PDQ quality < 50): pHash + dHash alone never make a near-duplicate.
    assert verdict_for(False, {"pdq": 120, "phash": 4, "dhash": 4}, True) == "similar"


# ---------------------------------------------------------------- robustness (issue item 6)
@pytest.fixture(scope="module")
def variant_files(robust_photos: list[Path], variant_dir: Path) -> dict[tuple[str, str], Path]:
    return {(p.name, v.name): make_variant(p, v, variant_dir)
            for p in robust_photos for v in VARIANTS}


@pytest.mark.parametrize("variant", MUST_MATCH, ids=lambda v: v.name)
def test_edited_copy_is_a_near_duplicate_with_the_right_transform(variant, robust_photos,
                                                                   variant_files):
    for photo in robust_photos:
        res = compare_files(photo, variant_files[(photo.name, variant.name)])
        assert res.ok, res.error
        assert (res.verdict, res.transform) == ("near-duplicate", variant.transform), \
            (photo.name, res.distance)
        assert res.sha256_equal is False


def test_crops_and_padding_are_matched_by_views_or_local_features(robust_photos,
                                                                  variant_files):
    """Plain PDQ fails on crops >= 10% and padding (README table); the views (content
    region, sub-views) and the geometric check (osintkit/match/geometry.py) catch them, and
    the note says which did."""
    heavy = [v for v in VARIANTS if v.name in ("crop_center_25", "crop_side_25", "pad_10")]
    for p in robust_photos:
        for v in heavy:
            res = compare_files(p, variant_files[(p.name, v.name)])
            assert res.verdict == "near-duplicate", (p.name, v.name, res.distance)
            assert res.geometry["confirmed"] and any(
                n.startswith(("matched on views", "matched by local features"))
                for n in res.notes), res.notes


def test_different_photos_are_different(robust_photos):
    for a, b in itertools.combinations(robust_photos, 2):
        res = compare_files(a, b)
        assert res.verdict == "different", (a.name, b.name, res.distance)
        assert res.distance["pdq"] > SIMILAR_PDQ and res.transform is None


def test_same_file_is_identical(photos):
    res = compare_files(photos[0], photos[0])
    assert (res.verdict, res.sha256_equal, res.transform) == ("identical", True, "none")
    assert res.distance == {"pdq": 0, "phash": 0, "dhash": 0}


def test_exif_rotated_copy_matches_its_upright_original():
    base = EXIF_SAMPLES / "jpg/orientation"
    res = compare_files(base / "landscape_1.jpg", base / "landscape_6.jpg")
    assert (res.verdict, res.transform) == ("near-duplicate", "none")


def test_hdr_and_plain_shot_of_the_same_scene_are_near_duplicates(full_corpus):
    base = full_corpus[0] / "jpg/hdr"  # corpus-only: two 2 MB iPhone photos
    res = compare_files(base / "iphone_hdr_NO.jpg", base / "iphone_hdr_YES.jpg")
    assert res.verdict == "near-duplicate" and res.distance["pdq"] <= NEAR_PDQ


def test_extra_hashes_are_measured_on_the_aligned_picture(robust_photos, variant_files):
    photo = robust_photos[0]
    res = compare_files(photo, variant_files[(photo.name, "rot90")],
                        kinds=("whash", "colorhash"))
    assert res.transform == "rot90"
    assert set(res.distance) == {"pdq", "phash", "dhash", "whash", "colorhash"}
    assert res.distance["whash"] <= 10 and res.distance["phash"] <= 10


# ---------------------------------------------------------------- videos
def test_image_is_found_in_a_video_with_its_time(cut_shots, cut_video):
    still = cut_shots[2].photo  # the still shot from 5 s to 7 s
    res = compare_files(still, cut_video)
    assert res.ok, res.error
    assert res.verdict == "near-duplicate" and res.transform == "none"
    assert 5.0 <= res.b_t <= 7.0 and res.a_t is None
    swapped = compare_files(cut_video, still)
    assert swapped.verdict == "near-duplicate" and 5.0 <= swapped.a_t <= 7.0


def test_rotated_image_in_a_video_reports_the_inverse_when_swapped(cut_shots, cut_video,
                                                                   tmp_path):
    rotated = tmp_path / "rotated.jpg"
    with Image.open(cut_shots[2].photo) as im:
        im.transpose(Image.Transpose.ROTATE_90).save(rotated, quality=90)
    res = compare_files(rotated, cut_video)
    assert res.transform == "rot270"  # the video shows the picture turned back
    assert compare_files(cut_video, rotated).transform == "rot90"


@pytest.fixture(scope="module")
def reencoded_video(video_dir, cut_shots) -> Path:
    """The cut video re-encoded smaller and harder, as a re-upload would be."""
    return write_video(video_dir / "reupload.mp4",
                       transform(render(cut_shots), size=(256, 192)), crf=32)


def test_video_reupload_matches_as_segments(cut_video, reencoded_video):
    res = compare_files(cut_video, reencoded_video)
    assert res.ok, res.error
    assert res.verdict == "near-duplicate" and res.transform == "none"
    assert res.segments, res.frame_matches
    longest = max(res.segments, key=lambda s: s.query_end - s.query_start)
    assert longest.query_start <= 0.5 and longest.query_end >= 7.0
    assert abs(longest.item_start - longest.query_start) <= 0.5  # A's start is B's start
    d = res.to_dict()
    seg = d["segments"][0]
    assert seg["frames"] >= 3 and seg["transform"] == "none"
    assert {"query_start", "query_end", "item_start", "item_end"} <= set(seg)
    assert len(d["frame_matches"]) >= 4


def test_different_videos_have_no_segments(cut_video, video_dir, shot_photos):
    from fixtures_video import Shot

    other = write_video(video_dir / "other.mp4",
                        render([Shot(shot_photos[1], 2.0), Shot(shot_photos[4], 2.0)]))
    res = compare_files(cut_video, other)
    assert res.verdict == "different" and res.segments == []


# ---------------------------------------------------------------- the picture
def test_visual_shows_the_match_with_the_transform_applied(robust_photos, variant_files,
                                                          tmp_path):
    photo = robust_photos[1]
    out = tmp_path / "match.png"
    res = compare_files(photo, variant_files[(photo.name, "mirror")], visual=out)
    assert res.visual == str(out) and res.transform == "mirror"
    with Image.open(out) as im:
        assert im.format == "PNG"
        pic = im.convert("RGB")
    # Both halves (A mirrored, B) must look alike: the picture really shows the match.
    w, h = pic.size
    left, right = pic.crop((8, 8, w // 2 - 4, h - 60)), pic.crop((w // 2 + 4, 8, w - 8, h - 60))
    a, b = hash_image(left, ("pdq",)), hash_image(right, ("pdq",))
    assert hamming(str(a["pdq"]), str(b["pdq"])) <= 40


# ---------------------------------------------------------------- CLI
def test_cli_compare_json(runner, robust_photos, variant_files):
    photo = robust_photos[2]
    result = runner.invoke(cli, ["compare", str(photo),
                                 str(variant_files[(photo.name, "telegram")]), "--json"])
    assert result.exit_code == 0, result.stderr
    obj = json.loads(result.stdout)
    assert set(obj) >= {"a", "b", "ok", "verdict", "transform", "distance", "sha256_equal"}
    assert obj["verdict"] == "near-duplicate" and obj["ok"] is True
    assert set(obj["distance"]) >= {"pdq", "phash", "dhash"}


def test_cli_compare_text_and_visual(runner, cut_shots, cut_video, tmp_path):
    out = tmp_path / "v.png"
    still = str(cut_shots[2].photo)
    result = runner.invoke(cli, ["compare", still, str(cut_video), "--visual", str(out)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("near-duplicate") and "B: " in result.stdout
    assert out.is_file()


def test_cli_compare_bad_file_is_one_line_exit_1(runner, photos, tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    result = runner.invoke(cli, ["compare", str(photos[0]), str(empty), "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["code"] == errors.EMPTY
    assert result.stderr.count("\n") == 1 and "empty.jpg" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_compare_videos_prints_segments(runner, cut_video, reencoded_video):
    result = runner.invoke(cli, ["compare", str(cut_video), str(reencoded_video)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("near-duplicate")
    assert "segment: A 0.0-" in result.stdout
