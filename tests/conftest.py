"""Shared fixtures: the real camera files, a CLI runner.

The tests use the real camera files committed in `tests/data/exif-samples` (a few MB,
see tests/data/README.md) and what they generate: a clone passes `make test` alone.
The full corpus in `../shared/corpus` (or $OSINTKIT_CORPUS; `make corpus` fetches it)
is an optional extra: the tests that need all of it ask for `full_corpus` and are
skipped with a one-line reason when it is absent.

Stage-specific fixtures (HTTP servers, PostgreSQL, videos...) live in
`tests/fixtures_<stage>.py` and are loaded as plugins below.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from corpusutil import camera_jpegs

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
DATA = TESTS / "data"
EXIF_SAMPLES = DATA / "exif-samples"  # the committed real files (same paths as the corpus)
TRUTH_FILE = DATA / "exif-samples-truth.json"
CORPUS = Path(os.environ.get("OSINTKIT_CORPUS", ROOT.parent / "shared" / "corpus"))
CORPUS_SAMPLES = CORPUS / "exif-samples"
CORPUS_TRUTH = CORPUS / "exif-samples-truth.json"
NO_CORPUS = f"full corpus absent ({CORPUS}; `make corpus` fetches it)"

pytest_plugins = sorted(p.stem for p in TESTS.glob("fixtures_*.py"))


def corpus_present() -> bool:
    return CORPUS_SAMPLES.is_dir() and CORPUS_TRUTH.is_file()


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The real camera files in the repository (tests/data/exif-samples)."""
    assert EXIF_SAMPLES.is_dir(), f"test data missing: {EXIF_SAMPLES}"
    return EXIF_SAMPLES


@pytest.fixture(scope="session")
def truth() -> dict:
    """What ExifTool reads from each file of tests/data/exif-samples."""
    return json.loads(TRUTH_FILE.read_text())


@pytest.fixture(scope="session")
def photos(corpus_dir: Path, truth: dict) -> list[Path]:
    """Real camera JPEG photographs of tests/data (decodable, >= 400 px wide), sorted."""
    out = camera_jpegs(corpus_dir.parent, truth)
    assert len(out) >= 10, "expected at least 10 real photos in tests/data"
    return out


@pytest.fixture(scope="session")
def full_corpus() -> tuple[Path, dict]:
    """(exif-samples folder, truth) of the full corpus; skips the test when it is absent."""
    if not corpus_present():
        pytest.skip(NO_CORPUS)
    return CORPUS_SAMPLES, json.loads(CORPUS_TRUTH.read_text())


@pytest.fixture(scope="session")
def corpus_photos_all(full_corpus: tuple[Path, dict]) -> list[Path]:
    """Every decodable camera JPEG of the full corpus (corpus-only tests)."""
    return camera_jpegs(full_corpus[0].parent, full_corpus[1])


@pytest.fixture
def runner() -> CliRunner:
    """Click's runner; stdout and stderr are kept apart (click >= 8.2)."""
    return CliRunner()
