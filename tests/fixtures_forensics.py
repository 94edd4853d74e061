"""Fixtures for tests/test_forensics.py: the calibration set made from real photos.

The set is built by scripts/calibrate_forensics.py (the same code prints the README
table), once per session, in a temporary directory, from the photos of the full corpus:
the calibration tests are corpus-only (skipped when the full corpus is absent).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from conftest import ROOT


def _load_calibration():
    spec = importlib.util.spec_from_file_location(
        "calibrate_forensics", ROOT / "scripts" / "calibrate_forensics.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def calibration():
    """The calibration script as a module."""
    return _load_calibration()


@pytest.fixture(scope="session")
def camera_photos(full_corpus, corpus_photos_all, calibration) -> list[Path]:
    """Untouched camera JPEGs among the full corpus's photos (no editor in Software)."""
    samples, truth = full_corpus
    cams = calibration.camera_photos(corpus_photos_all, truth, samples)
    assert len(cams) >= 20, "expected at least 20 untouched camera photos"
    return cams


@pytest.fixture(scope="session")
def forensics_set(camera_photos, calibration, tmp_path_factory) -> dict[str, list[Path]]:
    """{class: paths} for camera / resave / splice / edited."""
    return calibration.build_set(camera_photos, tmp_path_factory.mktemp("forensics-set"))


@pytest.fixture(scope="session")
def fire_rates(forensics_set, calibration) -> dict[str, dict[str, dict]]:
    """How often each indicator fires per class (the README table's numbers)."""
    return calibration.fire_rates(forensics_set)
