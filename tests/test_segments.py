"""Segment matching (segments.py): which stretch of a query video is in an archived video,
and when an archived image appears in it. Known boundaries from tests/fixtures_video.py;
frames hashed by the real hashing stage; boundaries must be right within +-1 s.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from fixtures_video import Shot, render, write_video

from osintkit.cli import cli
from osintkit.match.hashfile import HashResult, hash_file
from osintkit.match.hashing import hamming
from osintkit.match.segments import (
    FrameMatch,
    distance_matrix,
    group_matches,
    match_frame_lists,
    query_share,
    segments_from_matches,
)
from osintkit.match.vpdq import features_from_frames, write_vpdq

TOL = 1.0  # seconds


@pytest.fixture(scope="session")
def hashed(segment_videos: dict[str, Path]) -> dict[str, HashResult]:
    """Every fixture video hashed every second (the archive also every half second)."""
    out = {k: hash_file(p, every=1.0) for k, p in segment_videos.items()}
    out["archive_dense"] = hash_file(segment_videos["archive"], every=0.5)
    assert all(r.ok for r in out.values()), [r.error for r in out.values()]
    return out


def bounds(seg) -> tuple[float, float, float | None, float | None]:
    return seg.query_start, seg.query_end, seg.item_start, seg.item_end


def test_reupload_resized_letterboxed_with_logo_is_found_with_its_boundaries(
        hashed: dict[str, HashResult]) -> None:
    # Query: 2 s other footage, archive 3-14 s, 2 s other footage.
    segs = match_frame_lists(hashed["reupload"].frames, hashed["archive"].frames)
    assert len(segs) == 1
    assert bounds(segs[0]) == pytest.approx((2.0, 13.0, 3.0, 14.0), abs=TOL)
    assert segs[0].offset == pytest.approx(1.0, abs=0.25) and segs[0].transform == "none"
    assert 0.6 <= segs[0].share <= 0.85  # 11 of 15 sampled seconds are archive footage
    assert segs[0].density == pytest.approx(1.0, abs=0.15)


def test_cross_faded_re_edit_is_found(hashed: dict[str, HashResult]) -> None:
    # Archive shots 3-10 s between other footage, 0.6 s cross-fades: the query shows
    # them from mid-fade 2.7 s to mid-fade 8.5 s.
    segs = match_frame_lists(hashed["crossfade"].frames, hashed["archive_dense"].frames)
    assert len(segs) == 1
    assert bounds(segs[0]) == pytest.approx((2.7, 8.5, 3.0, 10.0), abs=TOL)


def test_reordered_shots_give_two_segments_at_their_own_offsets(
        hashed: dict[str, HashResult]) -> None:
    segs = match_frame_lists(hashed["reordered"].frames, hashed["archive"].frames,
                             query_duration=8.0)
    assert [bounds(s) for s in segs] == [pytest.approx((0.0, 4.0, 10.0, 14.0), abs=TOL),
                                         pytest.approx((4.0, 8.0, 3.0, 7.0), abs=TOL)]
    assert query_share(segs) == pytest.approx(1.0)


def test_mirrored_reupload_is_found_as_mirror(hashed: dict[str, HashResult]) -> None:
    segs = match_frame_lists(hashed["mirrored"].frames, hashed["archive"].frames,
                             query_duration=7.0)
    assert len(segs) == 1 and segs[0].transform == "mirror"
    assert bounds(segs[0]) == pytest.approx((0.0, 7.0, 3.0, 10.0), abs=TOL)
    # Without the flipped variants nothing matches.
    plain = [(f.t, f.hashes["pdq"], f.hashes["pdq_quality"]) for f in hashed["mirrored"].frames]
    assert match_frame_lists(plain, hashed["archive"].frames) == []


def test_unrelated_video_matches_nothing(video_dir: Path, shot_photos: list[Path],
                                         hashed: dict[str, HashResult]) -> None:
    path = write_video(video_dir / "unrelated.mp4",
                       render([Shot(shot_photos[1], 3.0), Shot(shot_photos[5], 3.0, "still"),
                               Shot(shot_photos[7], 3.0)]))
    other = hash_file(path, every=1.0)
    assert match_frame_lists(other.frames, hashed["archive"].frames) == []


def test_archived_image_shows_when_it_appears_in_the_video(
        hashed: dict[str, HashResult]) -> None:
    img = hashed["image"]
    segs = match_frame_lists(hashed["reupload"].frames,
                             [(None, img.hashes["pdq"], img.hashes["pdq_quality"])])
    assert len(segs) == 1 and segs[0].item_start is None and segs[0].offset is None
    assert (segs[0].query_start, segs[0].query_end) == pytest.approx((6.0, 9.0), abs=TOL)
    assert all(m.item_t is None for m in segs[0].matches)


def test_archive_search_matches_group_into_segments(tmp_path: Path,
                                                    segment_videos: dict[str, Path],
                                                    hashed: dict[str, HashResult]) -> None:
    from osintkit.archive import open_archive

    archive = open_archive(f"sqlite:///{tmp_path / 'archive.db'}")
    added = archive.add([segment_videos["archive"], segment_videos["image"]],
                        source="test", first_seen="2020-01-01")
    ids = {Path(a.path).suffix: a.item_id for a in added}
    query = hashed["reupload"]
    grouped = group_matches(archive.search(query), [f.t for f in query.frames])
    assert set(grouped) == {ids[".mp4"], ids[".jpg"]}
    (video_seg,) = grouped[ids[".mp4"]]
    assert bounds(video_seg) == pytest.approx((2.0, 13.0, 3.0, 14.0), abs=TOL)
    (image_seg,) = grouped[ids[".jpg"]]
    assert (image_seg.query_start, image_seg.query_end) == pytest.approx((6.0, 9.0), abs=TOL)


def test_frames_against_a_vpdq_file_reports_the_segment(runner, tmp_path: Path,
                                                        segment_videos: dict[str, Path],
                                                        hashed: dict[str, HashResult]) -> None:
    vp = tmp_path / "archive.vpdq"
    write_vpdq(features_from_frames(hashed["archive"].frames), vp)
    result = runner.invoke(cli, ["frames", str(segment_videos["reupload"]), "--every", "1",
                                 "--against", str(vp), "--json"])
    assert result.exit_code == 0, result.stderr
    (seg,) = json.loads(result.stdout)["segments"]
    assert (seg["query_start"], seg["query_end"], seg["item_start"], seg["item_end"]) == \
        pytest.approx((2.0, 13.0, 3.0, 14.0), abs=TOL)
    text = runner.invoke(cli, ["frames", str(segment_videos["reupload"]), "--every", "1",
                               "--against", str(vp)])
    assert "matches 2.0-13.0 s = 3.0-14.0 s of the vPDQ file" in text.stdout


# ------------------------------------------------------------------ the pieces
def test_distance_matrix_agrees_with_hamming() -> None:
    rng = random.Random(5)
    a = [f"{rng.getrandbits(256):064x}" for _ in range(7)]
    b = [f"{rng.getrandbits(256):064x}" for _ in range(5)] + [a[2]]
    d = distance_matrix(a, b)
    assert d.shape == (7, 6)
    assert all(d[i, j] == hamming(a[i], b[j]) for i in range(7) for j in range(6))
    assert d[2, 5] == 0


def test_match_times_rounded_by_json_or_a_database_still_line_up() -> None:
    times = [0.0, 1.067, 2.0, 3.067, 4.0, 5.067]
    pairs = [(1.07, 11.07, 3), (2.0, 12.0, 5), (3.07, 13.07, 4)]
    (seg,) = segments_from_matches(pairs, times)
    assert (seg.query_start, seg.query_end) == (1.067, 4.0)
    assert seg.frames == 3 and seg.share == pytest.approx(0.5) and seg.density == 1.0
    assert (seg.distance, seg.mean_distance) == (3, 4.0)


def test_one_unmatched_frame_does_not_split_a_segment_but_a_long_gap_does() -> None:
    times = [float(t) for t in range(12)]
    pairs = [FrameMatch(t, t + 20, 10) for t in (0, 1, 2, 4, 5, 9, 10)]
    segs = segments_from_matches(pairs, times)
    assert [(s.query_start, s.query_end) for s in segs] == [(0.0, 6.0), (9.0, 11.0)]
    assert segs[0].density == pytest.approx(5 / 6)


def test_a_segment_needs_one_close_frame() -> None:
    # Loose matches (extend_distance) only extend a segment seeded by a close one.
    times = [0.0, 1.0, 2.0, 3.0]
    loose = [(t, t + 5, 50) for t in times]
    assert segments_from_matches(loose, times, max_distance=31) == []
    (seg,) = segments_from_matches([*loose[:3], (3.0, 8.0, 12)], times, max_distance=31)
    assert seg.frames == 4 and seg.distance == 12


def test_flat_frames_are_ignored() -> None:
    flat = "0" * 64  # a black frame: PDQ quality 0, matches every other black frame
    q = [(0.0, flat, 0), (1.0, flat, 0)]
    assert match_frame_lists(q, [(5.0, flat, 0)]) == []
    assert len(match_frame_lists(q, [(5.0, flat, 0)], min_quality=0)) == 1
