"""Hashing: digests, perceptual hashes, draft decoding, dihedral variants, bad input, CLI."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import CORPUS_SAMPLES, EXIF_SAMPLES, NO_CORPUS, corpus_present
from PIL import Image, ImageOps
from ptyutil import run_with_tty_stderr

from osintkit import errors
from osintkit.cli import cli
from osintkit.fileio import CHUNK
from osintkit.match.hashfile import collect_inputs, file_digests, hash_file, hash_paths
from osintkit.match.hashing import (
    DEFAULT_HASHES,
    DRAFT_SIZE,
    HASHERS,
    TRANSFORMS,
    best_dihedral,
    hamming,
    hash_image,
    load_image,
    parse_kinds,
    pdq_variants,
)

# Pinned outputs: a library upgrade (Pillow's JPEG/HEIF decoders, pdqhash, imagehash) that
# changes a hash fails here loudly, instead of silently breaking archive matches.
GOLDEN = {
    "jpg/tests/42_IndexError.jpg": {  # 12 MP: decoded at 1/8 scale (504x378)
        "sha256": "d64e7c04839af125647d5a7500eb3b3e1b5c1ef81698a60e8b48b272f9ca5090",
        "md5": "a401657c3cba0bd8e630d9b31417ddb9",
        "size": (504, 378),
        "hashes": {"pdq": "0d2d6d0bf18c16cf8e73b9f679cec0bcc60306498f49d9e438762cb6d5a5c341",
                   "pdq_quality": 100, "phash": "c5c1d2363793c9c9", "dhash": "f0f0f0eae2e2e8f0",
                   "whash": "7e7e7e3e22103c18", "colorhash": "09600018000"}},
    "jpg/gps/DSCN0010.jpg": {  # 640x480: too small to reduce
        "sha256": "17307b1207eb6487d7908e9d154890b46e3d2e0192369cfd3f4c33d5a5af4035",
        "md5": "97fdc6ae077d8165f3cb4aa494ddb7d4",
        "size": (640, 480),
        "hashes": {"pdq": "564e785eb0c31ac72b4b8e94d0e68dc3dfb04b4975cfd1eb8759a31c038d806d",
                   "pdq_quality": 100, "phash": "cedbd88c49eaf808", "dhash": "313c1d66e2e4e595",
                   "whash": "fcfffff310340000", "colorhash": "00e00008000"}},
    "jpg/orientation/portrait_6.jpg": {  # stored 600x450, EXIF orientation 6
        "sha256": "323ce0d7140be76cbe6511e268766241dfe74eddf34b73f27f4637e552c8d824",
        "md5": "3e24695f58d3d9fdf6584496fb3e644e",
        "size": (450, 600),
        "hashes": {"pdq": "f2e7f023c0edd9a5c1dbf2c3b0e7f0c3319b71b2e439042a476926609b66cf28",
                   "pdq_quality": 100, "phash": "888ab383cb8bcea7", "dhash": "e9b133b3f2f0f9d0",
                   "whash": "7f1d181818181fff", "colorhash": "074c0001000"}},
    "jpg/Reconyx_HC500_Hyperfire.jpg": {  # 2048x1536: decoded at 1/4 scale
        "sha256": "d7ba6bc532a225c955411cb96c733a45ee39403fa973312bded7732e6f8e4b3c",
        "md5": "23b313574a1e61545db171a23edd73b3",
        "size": (512, 384),
        "hashes": {"pdq": "5ccb5dc1829fa03c642a520e8f3dfff057ab101ba845cd479d479cf2a858e31b",
                   "pdq_quality": 100, "phash": "c06c0faf71f141ec", "dhash": "42e78099adc0f0b8",
                   "whash": "00105044577ffffe", "colorhash": "06053000000"}},
    "jpg/orientation/landscape_6.jpg": {  # stored 450x600, EXIF orientation 6
        "sha256": "a05082c57819232106a0612f57268efab011f7a2a477483b878a2b4509cd8e59",
        "md5": "305a4bd4be0448c128b087210fd2fcd8",
        "size": (600, 450),
        "hashes": {"pdq": "91eb9c69b525a3393f395f25c8e47989496f4a4f7a673267322013f0acf084f4",
                   "pdq_quality": 100, "phash": "8c97878782733379", "dhash": "647474b4b6e6a2f0",
                   "whash": "7fbfbe3e18101038", "colorhash": "0e680000000"}},
    "heic/IMG_5195.HEIC": {  # HEIF via pillow-heif, 2566x3313 reduced by 8
        "sha256": "d9b9ebe21c4127080414f2b86f6ecb900dc2ca902be82b39be93b61ccb622680",
        "md5": "92a898153f2b9f023fc332dddaa9200c",
        "size": (321, 415),
        "hashes": {"pdq": "750808dacae0833d75e40faf59ebd706b558e8909e1f5a2b2af478a993054cf7",
                   "pdq_quality": 100, "phash": "a4f7d0ca1762fc84", "dhash": "4c4d166e76e1c7b6",
                   "whash": "f7efc20333313113", "colorhash": "07080c00000"}},
}
GOLDEN_KINDS = ("pdq", "phash", "dhash", "whash", "colorhash")
PDQ_HEX = re.compile(r"^[0-9a-f]{64}$")


@pytest.fixture(scope="module")
def photo() -> Path:
    return EXIF_SAMPLES / "jpg/gps/DSCN0010.jpg"


@pytest.fixture(scope="module")
def big_photo() -> Path:
    return EXIF_SAMPLES / "jpg/Reconyx_HC500_Hyperfire.jpg"  # 2048x1536


def _sample(rel: str) -> Path:
    """A file of tests/data, else of the full corpus (skipped when that is absent)."""
    if (EXIF_SAMPLES / rel).is_file():
        return EXIF_SAMPLES / rel
    if not corpus_present():
        pytest.skip(NO_CORPUS)
    return CORPUS_SAMPLES / rel


# ---------------------------------------------------------------- hash kinds are data
@pytest.mark.parametrize("kind", sorted(HASHERS))
def test_hasher_contract(kind, photo):
    hasher = HASHERS[kind]
    value = hasher.compute(load_image(photo))
    assert hasher.validate(value) == value  # lowercase, zero-padded, in range
    for part in value.split(","):
        assert len(part) == hasher.hex_len == (hasher.bits + 3) // 4
    assert hasher.validate(hasher.example) == hasher.example
    assert hasher.distance(value, value) == 0
    assert hasher.validate(value.upper()) == value
    assert 0 < hasher.threshold < hasher.bits // 2
    short = value.split(",")[0][1:]  # a hash written without a leading digit
    with pytest.raises(ValueError, match=kind):
        hasher.validate(short)
    with pytest.raises(ValueError):
        hasher.validate("z" * hasher.hex_len)


def test_default_hashes_and_selection():
    assert DEFAULT_HASHES == ("pdq", "phash", "dhash")
    assert parse_kinds("PDQ, whash,pdq") == ("pdq", "whash")
    with pytest.raises(ValueError, match="nope"):
        parse_kinds("pdq,nope")


@pytest.mark.parametrize("rel", sorted(GOLDEN))
def test_golden_hashes_are_pinned(rel):
    want = GOLDEN[rel]
    res = hash_file(_sample(rel), GOLDEN_KINDS)
    assert res.ok, res.error
    assert (res.sha256, res.md5) == (want["sha256"], want["md5"])
    assert (res.width, res.height) == want["size"]
    assert res.hashes == want["hashes"]


def test_pdq_hex_keeps_leading_zeros(photos):
    seen_leading_zero = False
    for p in photos[:20]:
        pdq = hash_file(p, ("pdq",)).hashes["pdq"]
        assert PDQ_HEX.match(pdq), pdq
        seen_leading_zero |= pdq.startswith("0")
    golden = GOLDEN["jpg/tests/42_IndexError.jpg"]["hashes"]["pdq"]
    assert golden.startswith("0") and len(golden) == 64
    assert seen_leading_zero or golden  # the golden file covers the case regardless


# ---------------------------------------------------------------- distances, transforms
def test_hamming_counts_differing_bits():
    assert hamming("00", "ff") == 8
    assert hamming("0f0f", "0f0e") == 1
    assert hamming("ab" * 32, "ab" * 32) == 0
    with pytest.raises(ValueError, match="lengths"):
        hamming("0f", "00f")


@pytest.mark.parametrize("name", [t for t in TRANSFORMS if t != "none"])
def test_dihedral_variant_names_match_pil_transforms(name, photo):
    ops = {"rot90": Image.Transpose.ROTATE_90, "rot180": Image.Transpose.ROTATE_180,
           "rot270": Image.Transpose.ROTATE_270, "flip": Image.Transpose.FLIP_TOP_BOTTOM,
           "mirror": Image.Transpose.FLIP_LEFT_RIGHT, "transpose": Image.Transpose.TRANSPOSE,
           "transverse": Image.Transpose.TRANSVERSE}
    img = load_image(photo)
    variants = pdq_variants(img)
    assert list(variants) == list(TRANSFORMS)
    target = hash_image(img.transpose(ops[name]), ("pdq",))["pdq"]
    dist, found = best_dihedral(variants, str(target))
    assert found == name and dist <= 20
    assert hamming(variants["none"], str(target)) > 100  # unrelated without the transform


# ---------------------------------------------------------------- decoding
def test_large_jpeg_is_draft_decoded(big_photo):
    small = load_image(big_photo)
    assert small.mode == "RGB"
    assert DRAFT_SIZE <= min(small.size) < 2 * DRAFT_SIZE
    full = load_image(big_photo, size=None)
    assert full.size == (2048, 1536)


def test_draft_drift_stays_small(corpus_photos_all):
    """Measured on all corpus photos: PDQ <= 14 of 256 bits, pHash <= 2 (README table).
    Here 8 of the large ones, to keep the test quick (corpus-only: tests/data has few
    large photos)."""
    large = []
    for p in corpus_photos_all:
        with Image.open(p) as im:
            if min(im.size) >= 2 * DRAFT_SIZE:  # smaller ones are decoded at full size anyway
                large.append(p)
    assert len(large) >= 10
    worst = {"pdq": 0, "phash": 0}
    for p in large[:: len(large) // 8][:8]:
        a = hash_image(load_image(p), ("pdq", "phash"))
        b = hash_image(load_image(p, size=None), ("pdq", "phash"))
        for k in worst:
            worst[k] = max(worst[k], hamming(str(a[k]), str(b[k])))
    assert 0 < worst["pdq"] <= 16 and worst["phash"] <= 4, worst


def test_exif_orientation_is_applied_before_hashing(truth):
    base = EXIF_SAMPLES / "jpg/orientation"
    upright = hash_file(base / "landscape_1.jpg").hashes
    for n in range(2, 9):
        rel = f"jpg/orientation/landscape_{n}.jpg"
        rec = truth["files"][rel]
        img = load_image(EXIF_SAMPLES / rel)
        assert img.size == (rec["display_width"], rec["display_height"])
        h = hash_file(EXIF_SAMPLES / rel).hashes
        assert hamming(str(h["pdq"]), str(upright["pdq"])) <= 31, n
        assert hamming(str(h["phash"]), str(upright["phash"])) <= 4, n


def test_png_and_jpeg_of_the_same_picture_hash_alike(big_photo, tmp_path):
    with Image.open(big_photo) as im:
        im.draft("RGB", (1100, 1100))
        img = ImageOps.exif_transpose(im).convert("RGB")
    img.save(tmp_path / "shot.png")
    img.save(tmp_path / "shot.jpg", quality=92)
    a, b = hash_file(tmp_path / "shot.png").hashes, hash_file(tmp_path / "shot.jpg").hashes
    assert hamming(str(a["pdq"]), str(b["pdq"])) <= 16


def test_transparent_png_is_hashed_on_white(tmp_path):
    img = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    img.paste((10, 10, 10, 255), (100, 50, 200, 150))
    img.save(tmp_path / "logo.png")
    flat = Image.new("RGB", (300, 200), (255, 255, 255))
    flat.paste((10, 10, 10), (100, 50, 200, 150))
    assert hash_file(tmp_path / "logo.png").hashes == hash_image(flat)


# ---------------------------------------------------------------- digests
def test_file_digests_are_streamed_and_exact(tmp_path):
    data = np.random.default_rng(1).integers(0, 256, CHUNK * 2 + 12345, np.uint8).tobytes()
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    assert file_digests(path) == (hashlib.sha256(data).hexdigest(),
                                  hashlib.md5(data, usedforsecurity=False).hexdigest())


# ---------------------------------------------------------------- bad input
def _bomb(src: Path, dst: Path) -> Path:
    """A real JPEG whose frame header claims 30000x30000 pixels (900 MP)."""
    data = bytearray(src.read_bytes())
    i = 2
    while data[i + 1] not in (0xC0, 0xC1, 0xC2):  # walk the markers to the frame header
        i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
    data[i + 5:i + 9] = (30000).to_bytes(2, "big") * 2
    dst.write_bytes(bytes(data))
    return dst


@pytest.fixture
def bad_files(tmp_path, photo) -> dict[str, Path]:
    data = photo.read_bytes()
    files = {
        errors.EMPTY: tmp_path / "empty.jpg",
        errors.TRUNCATED: tmp_path / "truncated.jpg",
        errors.NOT_MEDIA: tmp_path / "notes.jpg",
        errors.TOO_LARGE: _bomb(photo, tmp_path / "bomb.jpg"),
        errors.CORRUPT: tmp_path / "garbage.png",
    }
    files[errors.EMPTY].write_bytes(b"")
    files[errors.TRUNCATED].write_bytes(data[: len(data) // 3])
    files[errors.NOT_MEDIA].write_text("<html>not a photo</html>\n")
    files[errors.CORRUPT].write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    return files


def test_bad_files_get_a_clear_error_code(bad_files):
    for code, path in bad_files.items():
        res = hash_file(path)
        assert not res.ok and res.error is not None
        assert res.error.code == code, (path.name, res.error)
        assert str(path) in res.error.message and "\n" not in res.error.message
        assert res.to_dict()["error"] == {"code": code, "message": res.error.message}


def test_load_image_raises_media_error_for_video_and_missing(tmp_path, cut_video):
    from osintkit.errors import MediaError

    with pytest.raises(MediaError) as exc:
        load_image(cut_video)
    assert exc.value.code == errors.UNSUPPORTED
    with pytest.raises(MediaError) as exc:
        load_image(tmp_path / "nope.jpg")
    assert exc.value.code == errors.NOT_FOUND


def test_one_bad_file_never_stops_the_batch(bad_files, photo, tmp_path):
    good = tmp_path / "good.jpg"
    good.write_bytes(photo.read_bytes())
    inputs = collect_inputs([tmp_path / "missing.jpg", tmp_path])
    results = list(hash_paths(inputs))
    by_name = {r.path.name: r for r in results}
    assert by_name["missing.jpg"].error.code == errors.NOT_FOUND
    assert by_name["good.jpg"].ok
    assert by_name["good.jpg"].hashes["pdq"] == GOLDEN["jpg/gps/DSCN0010.jpg"]["hashes"]["pdq"]
    assert sum(not r.ok for r in results) == len(bad_files) + 1


# ---------------------------------------------------------------- videos
def test_video_frames_are_hashed_with_times(cut_video):
    res = hash_file(cut_video)
    assert res.ok and res.kind == "video" and res.hashes == {}
    times = [f.t for f in res.frames]
    assert times == sorted(times) and times[0] == 0.0
    # at least one frame per 2 s, give or take a frame (15 fps)
    assert all(b - a <= 2.0 + 1 / 15 + 1e-3 for a, b in itertools.pairwise(times))
    assert all(PDQ_HEX.match(str(f.hashes["pdq"])) for f in res.frames)
    assert {f.variants["none"] for f in res.frames} == {f.hashes["pdq"] for f in res.frames}
    d = res.to_dict()
    assert d["frames"][0]["t"] == 0.0 and set(d["frames"][0]["hashes"]) >= set(DEFAULT_HASHES)


def test_truncated_video_keeps_the_frames_before_the_damage(bad_videos):
    res = hash_file(bad_videos["truncated"])
    assert not res.ok and res.error.code == errors.TRUNCATED
    assert res.sha256 == hashlib.sha256(bad_videos["truncated"].read_bytes()).hexdigest()


# ---------------------------------------------------------------- CLI
def _lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_cli_hash_json_contract(runner, photo):
    result = runner.invoke(cli, ["hash", str(photo), "--json"])
    assert result.exit_code == 0, result.stderr
    (obj,) = _lines(result.stdout)
    assert set(obj) >= {"path", "ok", "kind", "sha256", "md5", "hashes", "frames", "error"}
    assert obj["hashes"] == {k: v for k, v in GOLDEN["jpg/gps/DSCN0010.jpg"]["hashes"].items()
                             if k in ("pdq", "pdq_quality", "phash", "dhash")}
    assert obj["frames"] is None and obj["error"] is None


def test_cli_hash_selects_kinds_and_variants(runner, photo):
    result = runner.invoke(cli, ["hash", str(photo), "--hashes", "whash,pdq", "--variants",
                                 "--json"])
    (obj,) = _lines(result.stdout)
    assert list(obj["hashes"]) == ["whash", "pdq", "pdq_quality"]
    assert list(obj["pdq_variants"]) == list(TRANSFORMS)
    assert obj["pdq_variants"]["none"] == obj["hashes"]["pdq"]
    bad = runner.invoke(cli, ["hash", str(photo), "--hashes", "md6"])
    assert bad.exit_code == 2 and "md6" in bad.stderr


def test_cli_hash_bad_files_one_line_each_exit_1(runner, bad_files, photo, tmp_path):
    good = tmp_path / "good.jpg"
    good.write_bytes(photo.read_bytes())
    result = runner.invoke(cli, ["hash", str(tmp_path), "--json", "-j", "2"])
    assert result.exit_code == 1
    objs = _lines(result.stdout)
    assert len(objs) == len(bad_files) + 1
    assert [o["path"] for o in objs] == sorted(o["path"] for o in objs)  # input order kept
    assert sum(o["ok"] for o in objs) == 1
    err = result.stderr.strip().splitlines()
    assert len(err) == len(bad_files) and all(line.startswith("Error: ") for line in err)
    assert "Traceback" not in result.stderr
    assert any("empty.jpg" in line and "empty" in line for line in err)


def test_cli_hash_text_output(runner, cut_video, photo):
    result = runner.invoke(cli, ["hash", str(photo), str(cut_video)])
    assert result.exit_code == 0, result.stderr
    assert GOLDEN["jpg/gps/DSCN0010.jpg"]["sha256"] in result.stdout
    assert "(quality 100)" in result.stdout and "t=    0.00s" in result.stdout


def test_python_dash_m_hash(photo):
    proc = subprocess.run([sys.executable, "-m", "osintkit", "hash", "--json", str(photo)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["sha256"] == GOLDEN["jpg/gps/DSCN0010.jpg"]["sha256"]


def test_progress_bar_only_on_a_terminal(photo, tmp_path, runner):
    for n in range(3):
        (tmp_path / f"copy{n}.jpg").write_bytes(photo.read_bytes())
    code, err = run_with_tty_stderr([sys.executable, "-m", "osintkit", "hash", str(tmp_path)])
    assert code == 0
    assert "0/3" in err and "file/s" in err  # tqdm: " 0%| | 0/3 [00:00<?, ?file/s]"
    piped = runner.invoke(cli, ["hash", str(tmp_path), "--json"])
    assert piped.exit_code == 0 and piped.stderr == ""
