"""Property-based tests (hypothesis) of every reader of untrusted input: claim files,
batch manifests, `archive import` JSONL/CSV, EXIF/XMP/IPTC on mutated real files.

The property is the same everywhere: no input produces an internal error (an exception
that is not ours, or an error coded `internal`); every refusal is one line naming the
file, with a code; whatever is accepted serializes to strict JSON.

In the normal suite each target runs a bounded, derandomized number of examples (a few
seconds). `make fuzz` sets OSINTKIT_FUZZ_MINUTES (default 10) and the targets share that
time, each re-run with fresh random seeds until its share is spent.
"""

from __future__ import annotations

import json
import math
import os
import string
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from osintkit.archive import open_archive
from osintkit.archive.exchange import import_file
from osintkit.batch.manifest import read_manifest
from osintkit.claim import KNOWN_KEYS, load_claim
from osintkit.errors import ArchiveError, InputError
from osintkit.media.exif import read_exif_block
from osintkit.media.metadata import read_metadata, render_text
from osintkit.media.xmp import XMPError, parse_xmp

DATA = Path(__file__).resolve().parent / "data" / "exif-samples"
FUZZ_MINUTES = float(os.environ.get("OSINTKIT_FUZZ_MINUTES") or 0)
TARGETS = 8  # the tests below that call `run`: they share the fuzz time
HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
          HealthCheck.large_base_example]
NORMAL = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                  suppress_health_check=HEALTH)
LONG = settings(max_examples=400, deadline=None, database=None, suppress_health_check=HEALTH)
RUNS: dict[str, int] = {}


def run(name: str, test: Callable[[], None]) -> None:
    """Once (normal suite), or again and again with fresh seeds for this target's share of
    OSINTKIT_FUZZ_MINUTES (`make fuzz`)."""
    if not FUZZ_MINUTES:
        test()
        return
    end = time.monotonic() + FUZZ_MINUTES * 60 / TARGETS
    runs = 0
    while time.monotonic() < end:
        test()
        runs += 1
    RUNS[name] = runs
    print(f"\nfuzz {name}: {runs} runs of {LONG.max_examples} examples")


def given_(*strategies: st.SearchStrategy) -> Callable:
    """@given with the settings of the mode (normal or long)."""
    def wrap(fn: Callable) -> Callable:
        return (LONG if FUZZ_MINUTES else NORMAL)(given(*strategies)(fn))
    return wrap


def one_line_error(message: str, path: Path | None = None) -> None:
    assert message and "\n" not in message, message
    assert "Traceback" not in message and "internal error" not in message, message
    if path is not None:
        assert str(path) in message, message


# ---------------------------------------------------------------- building blocks
NASTY = ("*a", "&a ", "<<: *a", "!!python/object:os.system", "!!binary", ".nan", "-.inf",
         "1e999", "~", "null", "[", "]", "{", "}", "? ", ": ", "- ", "'", '"', "\\", "\t",
         "\n", "#", "%YAML 1.1\n---\n", "\x00", "\x1b[31m", "\u202e", "9999-12-31",
         "20260418", "true", "0x1F", "0o17", "+05:00", "Asia/Nowhere", "~nobody/x", "NaN",
         "Infinity", "[[[[[[[[", "{\"a\": {\"a\":", "---\n", "...\n", "|\n  x", ">-\n  y")
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-10**30, max_value=10**30),
                    st.floats(allow_nan=True, allow_infinity=True),
                    st.text(max_size=30), st.sampled_from(NASTY))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)
FIELDS = st.sampled_from([*sorted(KNOWN_KEYS), "lat", "lon", "radius_km", "bogus", "start"])
PLACE = st.fixed_dictionaries({}, optional={"lat": SCALARS, "lon": SCALARS,
                                            "radius_km": SCALARS, "name": SCALARS})
RECORDS = st.dictionaries(FIELDS, st.one_of(VALUES, PLACE), max_size=8)

VALID_CLAIM = ("id: termez\ntitle: Rockets near Termez\nclaimant: Agency\n"
               "claimed_at: 2026-04-18\ntimezone: \"+05:00\"\n"
               "posted_at: 2026-04-18T16:00:00+05:00\n"
               "place: {name: Termez, lat: 37.22, lon: 67.28, radius_km: 25}\n"
               "urls: [https://example.org/post/1]\nmedia: [photo.jpg, clip.mp4]\nnotes: n\n")
VALID_JSON = json.dumps({"id": "termez", "title": "Rockets", "claimed_at": "2026-04-18",
                         "timezone": "+05:00", "posted_at": "2026-04-18T16:00:00+05:00",
                         "place": {"name": "Termez", "lat": 37.22, "lon": 67.28,
                                   "radius_km": 25},
                         "urls": ["https://example.org/post/1"], "media": ["photo.jpg"]})


@st.composite
def mutated_text(draw: st.DrawFn, base: str) -> str:
    """`base` with a few characters replaced, inserted or deleted, and nasty tokens spliced in."""
    text = list(base)
    for _ in range(draw(st.integers(1, 8))):
        pos = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["replace", "insert", "delete", "token"]))
        char = draw(st.sampled_from(string.printable + "\x00\x1b\u00e9\u202e"))
        if op == "replace" and pos < len(text):
            text[pos] = char
        elif op == "insert":
            text.insert(pos, char)
        elif op == "delete" and pos < len(text):
            del text[pos]
        else:
            text[pos:pos] = list(draw(st.sampled_from(NASTY)))
    return "".join(text)


@st.composite
def mutated_bytes(draw: st.DrawFn, data: bytes, head: int = 4096) -> bytes:
    """Real file bytes with a few bytes overwritten (mostly in the first `head` bytes, where
    the metadata lives), sometimes cut short."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 16))):
        limit = len(out) if draw(st.booleans()) and draw(st.booleans()) else min(len(out), head)
        pos = draw(st.integers(0, max(0, limit - 1)))
        if draw(st.integers(0, 5)) == 0:  # a 32-bit field: offsets and counts
            out[pos:pos + 4] = draw(st.sampled_from(
                [b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x00\x00\x00\x08",
                 b"\x08\x00\x00\x00", b"\x7f\xff\xff\xf0"]))[:len(out) - pos]
        else:
            out[pos] = draw(st.integers(0, 255))
    if draw(st.integers(0, 7)) == 0:
        out = out[:draw(st.integers(0, len(out)))]
    return bytes(out)


# ---------------------------------------------------------------- claims
def _claim_ok_or_refused(path: Path) -> None:
    try:
        claim = load_claim(path)
    except InputError as exc:
        one_line_error(exc.message, path)
        assert exc.code in ("invalid_claim", "empty", "unsupported"), exc.code
        return
    d = claim.to_dict()
    json.dumps(d, allow_nan=False)  # accepted values are finite and JSON-safe
    if claim.place is not None:
        assert all(math.isfinite(v) for v in (claim.place.lat, claim.place.lon,
                                              claim.place.radius_km))
    assert all(isinstance(m, Path) and str(m) != "None" for m in claim.media)


def test_fuzz_claim_files_from_mutated_text(tmp_path):
    @given_(st.sampled_from([".yaml", ".json"]), st.data())
    def check(suffix: str, data: st.DataObject) -> None:
        text = data.draw(mutated_text(VALID_JSON if suffix == ".json" else VALID_CLAIM))
        path = tmp_path / f"claim{suffix}"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        _claim_ok_or_refused(path)

    run("claim text", check)


def test_fuzz_claim_files_from_structured_values(tmp_path):
    @given_(RECORDS, st.sampled_from([".yaml", ".json"]))
    def check(record: dict, suffix: str) -> None:
        path = tmp_path / f"claim{suffix}"
        if suffix == ".json":
            path.write_text(json.dumps(record), encoding="utf-8")
        else:
            path.write_text(yaml.safe_dump(record, allow_unicode=True), encoding="utf-8")
        _claim_ok_or_refused(path)

    run("claim values", check)


# ---------------------------------------------------------------- batch manifests
def _manifest_ok_or_refused(path: Path) -> None:
    try:
        manifest = read_manifest(path)
    except InputError as exc:
        one_line_error(exc.message, path)
        assert exc.code in ("invalid_manifest", "empty", "unsupported", "too_large",
                            "unreadable", "not_found"), exc.code
        return
    for row in manifest.rows:
        if row.error is not None:
            one_line_error(row.error.message, path)
            assert row.error.code == "invalid_row"
        else:
            json.dumps(row.record, allow_nan=True)  # tasks travel as JSON
            json.dumps(row.claim.to_dict(), allow_nan=False)


def test_fuzz_manifests_yaml_jsonl_json(tmp_path):
    @given_(st.lists(RECORDS, min_size=1, max_size=4), st.sampled_from(["yaml", "jsonl", "json"]),
            st.integers(0, 3), st.data())
    def check(records: list, fmt: str, edits: int, data: st.DataObject) -> None:
        if fmt == "yaml":
            text = yaml.safe_dump(records, allow_unicode=True)
        elif fmt == "jsonl":
            text = "\n".join(json.dumps(r) for r in records) + "\n"
        else:
            text = json.dumps(records, indent=1)
        if edits:
            text = data.draw(mutated_text(text))
        path = tmp_path / f"manifest.{fmt}"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        _manifest_ok_or_refused(path)

    run("manifests", check)


CSV_HEADER = st.lists(st.sampled_from(["id", "url", "claimed_at", "lat", "lon", "radius_km",
                                       "media", "title", "place", "timezone", "notes"]),
                      min_size=1, max_size=8, unique=True)
CELLS = st.one_of(st.text(max_size=20), st.sampled_from(NASTY),
                  st.floats().map(str), st.sampled_from(["nan", "inf", "-1e999", "37.2"]))


def test_fuzz_csv_manifests(tmp_path):
    @given_(CSV_HEADER, st.lists(st.lists(CELLS, min_size=0, max_size=9), max_size=5))
    def check(header: list, rows: list) -> None:
        import csv
        import io

        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["id", *[h for h in header if h != "id"]])
        writer.writerows(rows)
        path = tmp_path / "manifest.csv"
        path.write_text(buf.getvalue(), encoding="utf-8", errors="surrogatepass")
        _manifest_ok_or_refused(path)

    run("csv manifests", check)


# ---------------------------------------------------------------- archive import
HEXISH = st.one_of(st.text("0123456789abcdefABCDEFxz", min_size=0, max_size=70),
                   st.sampled_from(["ab" * 32, "cd" * 16, "0" * 64, "f" * 64, ""]))
IMPORT_KEYS = st.sampled_from(["sha256", "md5", "kind", "hashes", "frames", "first_seen",
                               "source", "title", "tags", "name", "origin", "added_at"])
IMPORT_RECORDS = st.dictionaries(IMPORT_KEYS, st.one_of(
    HEXISH, VALUES, st.dictionaries(st.sampled_from(["pdq", "phash", "dhash", "x"]), HEXISH),
    st.lists(st.dictionaries(st.sampled_from(["t", "hashes"]),
                             st.one_of(SCALARS, st.dictionaries(st.just("pdq"), HEXISH))),
             max_size=3)), max_size=8)


@pytest.fixture(scope="module")
def fuzz_archive(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz-archive') / 'a.sqlite'}"
    with open_archive(url, create=True) as archive:
        yield archive


def _import_ok_or_refused(archive, path: Path, fmt: str) -> None:
    try:
        report = import_file(archive, path, fmt)
    except ArchiveError as exc:
        one_line_error(exc.message, path)
        return
    json.dumps(report.to_dict(), allow_nan=False)
    for err in report.errors:
        one_line_error(err)


def test_fuzz_archive_import_jsonl(tmp_path, fuzz_archive):
    @given_(st.lists(IMPORT_RECORDS, min_size=1, max_size=4), st.integers(0, 2), st.data())
    def check(records: list, edits: int, data: st.DataObject) -> None:
        text = "\n".join(json.dumps(r) for r in records) + "\n"
        if edits:
            text = data.draw(mutated_text(text))
        path = tmp_path / "import.jsonl"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        _import_ok_or_refused(fuzz_archive, path, "jsonl")

    run("import jsonl", check)


def test_fuzz_archive_import_csv(tmp_path, fuzz_archive):
    header = st.lists(st.sampled_from(["pdq", "md5", "sha256", "phash", "dhash", "first_seen",
                                       "source", "title", "name", "tags", "kind", "pdq_hash",
                                       "bogus", ""]), min_size=1, max_size=7)

    @given_(header, st.lists(st.lists(st.one_of(HEXISH, CELLS), max_size=8), max_size=5))
    def check(head: list, rows: list) -> None:
        import csv
        import io

        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(head)
        writer.writerows(rows)
        path = tmp_path / "import.csv"
        path.write_text(buf.getvalue(), encoding="utf-8", errors="surrogatepass")
        _import_ok_or_refused(fuzz_archive, path, "csv")

    run("import csv", check)


# ---------------------------------------------------------------- EXIF / XMP / IPTC
SOURCES = ["jpg/Canon_40D.jpg", "jpg/gps/DSCN0010.jpg", "jpg/xmp/BlueSquare.jpg",
           "tiff/Arbitro.tiff", "jpg/exif-org/sony-powershota5.jpg", "heic/samplefilehub.heif",
           "jpg/orientation/landscape_6.jpg", "jpg/invalid/image02206.jpg"]


def test_fuzz_metadata_readers_on_mutated_real_files(tmp_path):
    originals = {rel: (DATA / rel).read_bytes() for rel in SOURCES}

    @given_(st.sampled_from(SOURCES), st.data())
    def check(rel: str, data: st.DataObject) -> None:
        path = tmp_path / ("m" + Path(rel).suffix)
        path.write_bytes(data.draw(mutated_bytes(originals[rel])))
        md = read_metadata(path)
        json.dumps(md.to_dict(), allow_nan=False)
        render_text(md, show_all=True)
        if md.error is not None:
            assert md.error.code != "internal", md.error.message
            one_line_error(md.error.message, path)

    run("metadata", check)


def _xmp_packet() -> bytes:
    data = (DATA / "jpg/xmp/BlueSquare.jpg").read_bytes()
    start = data.index(b"<x:xmpmeta")
    return data[start:data.index(b"</x:xmpmeta>") + len(b"</x:xmpmeta>")]


def test_fuzz_exif_blocks_and_xmp_packets():
    exif = (DATA / "jpg/Canon_40D.jpg").read_bytes()
    exif = exif[exif.index(b"Exif\x00\x00"):][:6000]
    xmp = _xmp_packet()

    @given_(st.booleans(), st.data())
    def check(is_xmp: bool, data: st.DataObject) -> None:
        if is_xmp:
            raw = data.draw(mutated_bytes(xmp, head=len(xmp)))
            try:
                out = parse_xmp(raw, [])
            except XMPError as exc:
                one_line_error(str(exc))
                return
            json.dumps(out, allow_nan=False, default=str)
        else:
            block = read_exif_block(data.draw(mutated_bytes(exif, head=len(exif))))
            json.dumps(block.to_dict(), allow_nan=False)
            assert all("\n" not in p for p in block.problems)

    run("exif/xmp blocks", check)


def test_fuzz_budget_matches_the_targets():
    """TARGETS must count the tests that call run(), so `make fuzz` lasts its minutes."""
    source = Path(__file__).read_text(encoding="utf-8")
    assert source.count("\n    run(\"") == TARGETS
