"""Keyframes (media/frames.py), the `frames` command and the vPDQ text format (vpdq.py).

Videos are generated from the corpus photos by tests/fixtures_video.py with known cuts.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from fixtures_video import FPS, Shot, render, transform, write_video
from PIL import Image

from osintkit import errors
from osintkit.cli import cli
from osintkit.errors import InputError, MediaError
from osintkit.match.vpdq import VpdqFeature, parse_line, read_vpdq, write_vpdq
from osintkit.media.framepixels import content_box
from osintkit.media.frames import sample_frames
from osintkit.media.keyframes import frame_name

CUTS = (0.0, 2.0, 5.0, 7.0)  # cut_video: shots start here; it is 9 s long
VPDQ_LINE = re.compile(r"^\d+,\d{1,3},[0-9a-f]{64},\d+\.\d{3}$")


def full_decode(path: Path) -> dict[float, np.ndarray]:
    import av

    with av.open(str(path)) as c:
        return {round(f.time, 3): f.to_ndarray(format="rgb24") for f in c.decode(video=0)}


# ------------------------------------------------------------------ sampling
def test_a_frame_every_n_seconds_and_one_at_each_cut(cut_video: Path) -> None:
    frames = list(sample_frames(cut_video, every=1.0))
    times = [f.t for f in frames]
    assert times[0] == 0.0 and times[-1] >= 8.0
    # B-frames are never decoded, so a sample may land a few frames after its target.
    assert max(b - a for a, b in pairwise(times)) <= 1.0 + 4 / FPS
    cuts = [f.t for f in frames if f.scene_change]
    assert cuts == pytest.approx(CUTS, abs=1.5 / FPS)
    assert [f.index for f in frames] == [round(t * FPS) for t in times]


def test_sparse_sampling_still_keeps_every_cut(cut_video: Path) -> None:
    frames = list(sample_frames(cut_video, every=4.0))
    assert [f.t for f in frames if f.scene_change] == pytest.approx(CUTS, abs=1.5 / FPS)
    assert len(frames) <= 6


def test_short_gop_video_is_sampled_from_keyframes(video_dir: Path,
                                                   cut_shots: list[Shot]) -> None:
    # Phone-style: a keyframe every 8 frames (~0.5 s); only keyframes need decoding.
    path = write_video(video_dir / "short-gop.mp4", render(cut_shots), gop=8)
    full = full_decode(path)
    frames = list(sample_frames(path, every=1.0))
    times = [f.t for f in frames]
    assert max(b - a for a, b in pairwise(times)) <= 1.0 + 1 / FPS
    assert [f.t for f in frames if f.scene_change] == pytest.approx(CUTS, abs=8 / FPS)
    assert all(np.array_equal(np.asarray(f.image), full[f.t]) for f in frames)


@pytest.mark.parametrize(("suffix", "codec"), [("webm", "libvpx-vp9"), ("avi", "mpeg4"),
                                               ("avi", "mjpeg"), ("mkv", "libx264")])
def test_other_containers_and_codecs(video_dir: Path, cut_shots: list[Shot],
                                     suffix: str, codec: str) -> None:
    import av

    path = video_dir / f"{codec}.{suffix}"
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=FPS)
        stream.width, stream.height = 320, 240
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        for arr in render(cut_shots[:2]):  # a cut at 2 s, 5 s long
            out.mux(stream.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")))
        out.mux(stream.encode(None))
    frames = list(sample_frames(path, every=1.0))
    assert [f.t for f in frames if f.scene_change] == pytest.approx([0.0, 2.0], abs=1 / FPS)
    assert frames[-1].t >= 4.0 and frames[0].image.size == (320, 240)


def test_without_scenes_only_the_regular_samples(cut_video: Path) -> None:
    frames = list(sample_frames(cut_video, every=3.0, scenes=False))
    times = [f.t for f in frames]
    assert not any(f.scene_change for f in frames)
    assert max(b - a for a, b in pairwise(times)) <= 3.0 + 4 / FPS
    assert len(frames) < len(list(sample_frames(cut_video, every=1.0)))


def test_sampled_frames_are_exactly_the_fully_decoded_frames(cut_video: Path) -> None:
    # Switching the decoder's skip_frame per GOP must never hand out a damaged picture.
    full = full_decode(cut_video)
    for f in sample_frames(cut_video, every=0.5):
        assert np.array_equal(np.asarray(f.image), full[f.t]), f.t


def test_container_rotation_is_applied(rotated_video: Path) -> None:
    frame = next(sample_frames(rotated_video))
    assert frame.image.size == (240, 320)  # stored landscape, displayed portrait
    a = np.asarray(frame.image)
    assert a[:, -20:].min() > 200  # the bar painted along the stored top edge is now right
    assert a[:, :20].mean() < 250


def test_letterbox_bars_are_cut_off_unless_kept(video_dir: Path, cut_shots: list[Shot]) -> None:
    path = write_video(video_dir / "letterboxed.mp4",
                       transform(render(cut_shots[:2]), letterbox=True))
    trimmed = list(sample_frames(path, every=2.0))
    kept = list(sample_frames(path, every=2.0, trim=False))
    assert {f.image.size for f in kept} == {(426, 240)}
    assert {f.image.size for f in trimmed} == {(320, 240)}
    assert trimmed[0].box == (53, 0, 373, 240)


def test_a_dark_corner_of_one_frame_is_not_a_bar() -> None:
    img = Image.new("RGB", (200, 100), (120, 130, 140))
    assert content_box(img) is None
    dark = img.copy()
    dark.paste((0, 0, 0), (0, 0, 30, 100))
    assert content_box(dark) == (30, 0, 200, 100)
    assert content_box(Image.new("RGB", (200, 100))) is None  # all black: keep it whole


@pytest.mark.parametrize("kind", ["truncated", "empty", "no_frames", "not_media", "corrupt"])
def test_bad_videos_raise_one_clear_error(bad_videos: dict[str, Path], kind: str) -> None:
    code = {"no_frames": errors.EMPTY}.get(kind, kind)
    with pytest.raises(MediaError) as exc:
        list(sample_frames(bad_videos[kind]))
    assert exc.value.code == code
    assert str(bad_videos[kind]) in exc.value.message and "\n" not in exc.value.message


def test_oversized_frames_are_refused_before_decoding(cut_video: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import osintkit.media.videoscan as videoscan

    monkeypatch.setattr(videoscan, "MAX_PIXELS", 320 * 240 - 1)
    with pytest.raises(MediaError, match="320x240 pixels") as exc:
        next(sample_frames(cut_video))
    assert exc.value.code == errors.TOO_LARGE


def test_a_truncated_video_gives_its_first_frames_then_the_error(
        bad_videos: dict[str, Path]) -> None:
    got = []
    with pytest.raises(MediaError) as exc:
        for f in sample_frames(bad_videos["truncated_late"], every=1.0):
            got.append(f.t)
    assert exc.value.code == errors.TRUNCATED
    assert got[:3] == pytest.approx([0.0, 1.0, 2.0], abs=4 / FPS)
    assert "of 9.0 s" in exc.value.message


def test_an_image_is_not_a_video(shot_photos: list[Path]) -> None:
    with pytest.raises(MediaError, match="not a video") as exc:
        next(sample_frames(shot_photos[0]))
    assert exc.value.code == errors.NOT_MEDIA


# ------------------------------------------------------------------ CLI
def test_frames_command_writes_jpegs_contact_sheet_and_json(runner, cut_video: Path,
                                                            tmp_path: Path) -> None:
    out = tmp_path / "kf"
    result = runner.invoke(cli, ["frames", str(cut_video), "-o", str(out), "--json"])
    assert result.exit_code == 0, result.stderr
    rec = json.loads(result.stdout)
    assert rec["ok"] and rec["error"] is None
    names = sorted(p.name for p in out.glob("cuts_*.jpg"))  # <video stem>_<time>.jpg
    assert names == sorted(s["file"] for s in rec["shots"])  # one picture per shot
    assert names == sorted(f["file"] for f in rec["frames"] if f["file"])
    assert names[:2] == [frame_name(0.0, "cuts"), frame_name(2.0, "cuts")] == [
        "cuts_00-00-00.000.jpg", "cuts_00-00-02.000.jpg"]
    assert [f["t"] for f in rec["frames"] if f["scene_change"]] == pytest.approx(CUTS, abs=0.1)
    cut_starts = [s["start"] for s in rec["shots"] if s["cut"]]
    assert cut_starts == pytest.approx(CUTS, abs=0.1)  # every cut starts a shot
    for shot in rec["shots"]:
        assert shot["start"] <= shot["t"] <= shot["end"]
    assert not list(out.glob(".part-*"))  # no temporary picture left behind
    for f in rec["frames"]:
        assert re.fullmatch(r"[0-9a-f]{64}", f["hashes"]["pdq"])
        assert re.fullmatch(r"[0-9a-f]{16}", f["hashes"]["phash"])
    with Image.open(out / rec["contact_sheet"]) as sheet:
        assert sheet.width >= 5 * 240 and sheet.height > 180
    with Image.open(out / names[1]) as im:
        assert im.size == (320, 240)


def test_frames_text_output_lists_times_and_scene_changes(runner, cut_video: Path) -> None:
    result = runner.invoke(cli, ["frames", str(cut_video), "--every", "4"])
    assert result.exit_code == 0, result.stderr
    assert "0:02.0 scene" in result.stdout and "0:05.0 scene" in result.stdout


def test_frames_keep_one_picture_per_shot_unless_all_frames(runner, tmp_path: Path,
                                                            shot_photos: list[Path]) -> None:
    from fixtures_video import Shot, render, write_video

    still = write_video(tmp_path / "still clip.mp4", render([Shot(shot_photos[1], 6.0, "still")]))
    one = runner.invoke(cli, ["frames", str(still), "-o", str(tmp_path / "one"), "--json"])
    rec = json.loads(one.stdout)
    assert len(rec["frames"]) >= 3 and len(rec["shots"]) == 1  # sampled often, one shot
    kept = [f for f in rec["frames"] if f["file"]]
    assert [f["file"] for f in kept] == [rec["shots"][0]["file"]]
    assert 2.0 <= kept[0]["t"] <= 4.0  # the middle of the shot, not its first frame
    assert sorted(p.name for p in (tmp_path / "one").glob("*.jpg")) == [
        "contact-sheet.jpg", kept[0]["file"]]
    assert kept[0]["file"].startswith("still clip_00-00-0")
    every = runner.invoke(cli, ["frames", str(still), "-o", str(tmp_path / "all"), "--json",
                                "--all-frames"])
    rec_all = json.loads(every.stdout)
    assert all(f["file"] for f in rec_all["frames"])
    assert len(list((tmp_path / "all").glob("still clip_*.jpg"))) == len(rec_all["frames"])


def test_one_bad_video_does_not_stop_the_others(runner, cut_video: Path,
                                                bad_videos: dict[str, Path],
                                                tmp_path: Path) -> None:
    result = runner.invoke(cli, ["frames", str(bad_videos["not_media"]), str(cut_video),
                                 str(bad_videos["truncated_late"]), "-o", str(tmp_path),
                                 "--json"])
    assert result.exit_code == 1
    recs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["ok"] for r in recs] == [False, True, False]
    assert recs[0]["error"]["code"] == "not_media"
    assert recs[2]["error"]["code"] == "truncated" and len(recs[2]["frames"]) >= 2
    # The shots before the damage are on disk, one directory per video.
    on_disk = sorted(p.name for p in (tmp_path / "truncated_late").glob("truncated_late_*.jpg"))
    assert on_disk == sorted(s["file"] for s in recs[2]["shots"]) and on_disk
    errs = result.stderr.strip().splitlines()
    assert len(errs) == 2 and all(e.startswith("Error: ") for e in errs)
    assert "Traceback" not in result.stderr


def test_python_m_osintkit_frames(cut_video: Path, tmp_path: Path) -> None:
    vp = tmp_path / "cut.vpdq"
    proc = subprocess.run([sys.executable, "-m", "osintkit", "frames", str(cut_video),
                           "--every", "3", "--vpdq", str(vp), "--json"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    frames = json.loads(proc.stdout)["frames"]
    assert [f.pdq for f in read_vpdq(vp)] == [f["hashes"]["pdq"] for f in frames]


# ------------------------------------------------------------------ vPDQ
def test_vpdq_export_matches_threatexchange_lines_and_reads_back(runner, cut_video: Path,
                                                                 tmp_path: Path) -> None:
    vp = tmp_path / "video.vpdq"
    result = runner.invoke(cli, ["frames", str(cut_video), "--vpdq", str(vp), "--json",
                                 "--hashes", "phash"])
    assert result.exit_code == 0, result.stderr
    frames = json.loads(result.stdout)["frames"]
    lines = vp.read_text().splitlines()
    assert len(lines) == len(frames) and all(VPDQ_LINE.match(x) for x in lines)
    feats = read_vpdq(vp)
    assert [(f.frame_number, f.quality, f.pdq, f.timestamp) for f in feats] == [
        (f["index"], f["hashes"]["pdq_quality"], f["hashes"]["pdq"], f["t"]) for f in frames]


def test_vpdq_keeps_leading_zeros_and_round_trips() -> None:
    feats = [VpdqFeature(0, 100, "00" * 31 + "0f", 0.0), VpdqFeature(45, 73, "ab" * 32, 3.0)]
    buf = io.StringIO()
    assert write_vpdq(feats, buf) == 2
    assert buf.getvalue() == ("0,100," + "00" * 31 + "0f,0.000\n45,73," + "ab" * 32 + ",3.000\n")
    assert read_vpdq(io.StringIO(buf.getvalue())) == feats


def test_vpdq_reads_the_python_bindings_field_order_too() -> None:
    # ThreatExchange's Python README prints frame,hash,quality,timestamp.
    line = "1,c0f11178372c6aaccddea259648fbfd62f434c89c9e99b249772be216c8d055c,98,1"
    f = parse_line(line)
    assert (f.frame_number, f.quality, f.timestamp) == (1, 98, 1.0)
    assert f.pdq.startswith("c0f111")


@pytest.mark.parametrize("bad", [
    "1,100,abc,0.000",  # short hash
    "1,100," + "g" * 64 + ",0.000",  # not hex
    "x,100," + "a" * 64 + ",0.000",  # frame number
    "1,101," + "a" * 64 + ",0.000",  # quality out of range
    "1,100," + "a" * 64 + ",nan",
    "1,100," + "a" * 64,  # three fields
])
def test_bad_vpdq_lines_are_refused_with_the_line_number(tmp_path: Path, bad: str) -> None:
    p = tmp_path / "bad.vpdq"
    p.write_text("0,100," + "a" * 64 + ",0.000\n" + bad + "\n")
    with pytest.raises(InputError, match=r"bad\.vpdq line 2"):
        read_vpdq(p)


def test_vpdq_file_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        read_vpdq(tmp_path / "missing.vpdq")
    assert exc.value.code == errors.NOT_FOUND
    binary = tmp_path / "bin.vpdq"
    binary.write_bytes(b"\xff\xfe\x00\x81" * 10)
    with pytest.raises(InputError, match="not a vPDQ text file"):
        read_vpdq(binary)


def test_frame_hashes_are_those_of_the_hash_command(runner, cut_video: Path) -> None:
    frames = runner.invoke(cli, ["frames", str(cut_video), "--json"])
    hashed = runner.invoke(cli, ["hash", str(cut_video), "--json"])
    assert frames.exit_code == hashed.exit_code == 0
    a = [(f["t"], f["hashes"]) for f in json.loads(frames.stdout)["frames"]]
    b = [(f["t"], f["hashes"]) for f in json.loads(hashed.stdout)["frames"]]
    assert a == b and len(a) >= 5


def test_frames_against_a_bad_vpdq_file_is_a_one_line_usage_error(runner, cut_video: Path,
                                                                 tmp_path: Path) -> None:
    bad = tmp_path / "bad.vpdq"
    bad.write_text("0,100,nothex,0.000\n")
    result = runner.invoke(cli, ["frames", str(cut_video), "--against", str(bad)])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"Error: {bad} line 1: not a vPDQ line (PDQ hash must be 64 hex digits)"]
