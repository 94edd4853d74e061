"""Shared fixtures: paths to the real corpora, a CLI runner.

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
CORPUS = Path(os.environ.get("OSINTKIT_CORPUS", ROOT.parent / "shared" / "corpus"))
EXIF_SAMPLES = CORPUS / "exif-samples"
TRUTH_FILE = CORPUS / "exif-samples-truth.json"

pytest_plugins = sorted(p.stem for p in TESTS.glob("fixtures_*.py"))


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The real camera files (../shared/corpus/exif-samples)."""
    if not EXIF_SAMPLES.is_dir():
        pytest.fail(f"corpus missing: {EXIF_SAMPLES}")
    return EXIF_SAMPLES


@pytest.fixture(scope="session")
def truth() -> dict:
    """What ExifTool reads from each corpus file."""
    return json.loads(TRUTH_FILE.read_text())


@pytest.fixture(scope="session")
def photos(corpus_dir: Path, truth: dict) -> list[Path]:
    """Real camera JPEG photographs (decodable, at least 400 px wide), sorted."""
    out = camera_jpegs(CORPUS, truth)
    assert len(out) >= 10, "expected at least 10 real photos in the corpus"
    return out


@pytest.fixture
def runner() -> CliRunner:
    """Click's runner; stdout and stderr are kept apart (click >= 8.2)."""
    return CliRunner()
