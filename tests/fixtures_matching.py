"""Robust-matching fixtures: distinct real photos and an archive of them. The edits a
re-poster makes are in tests/picture_edits.py (shared with scripts/bench_matching.py);
they are imported here too, for the tests that take them from this module."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from picture_edits import crop, jpeg, letterbox, logo_caption, pad, screenshot
from PIL import Image, ImageOps

# Distinct scenes from the corpus (the orientation/HDR series repeat one scene each).
ARCHIVED = ("exif-org/canon-ixus.jpg", "gps/DSCN0010.jpg", "exif-org/kodak-dc240.jpg",
            "exif-org/olympus-c960.jpg", "exif-org/sony-cybershot.jpg",
            "exif-org/fujifilm-mx1700.jpg")
DISTRACTORS = ("gps/DSCN0027.jpg", "exif-org/sanyo-vpcg250.jpg", "exif-org/nikon-e950.jpg",
               "Canon_PowerShot_S40.jpg")

Edit = Callable[[Image.Image], tuple[Image.Image, tuple[int, int, int, int] | None]]
__all__ = ["crop", "jpeg", "letterbox", "logo_caption", "pad", "screenshot"]


@pytest.fixture(scope="session")
def distinct_photos(corpus_dir: Path) -> dict[str, list[Path]]:
    """{"archived": [...], "distractors": [...]}: real photos of distinct scenes."""
    base = corpus_dir / "jpg"
    out = {"archived": [base / p for p in ARCHIVED],
           "distractors": [base / p for p in DISTRACTORS]}
    missing = [str(p) for ps in out.values() for p in ps if not p.is_file()]
    assert not missing, f"corpus photos missing: {missing}"
    return out


def open_photo(path: Path, longest: int = 800) -> Image.Image:
    """A corpus photo upright, RGB, at most `longest` pixels (keeps tests quick)."""
    with Image.open(path) as im:
        img = ImageOps.exif_transpose(im).convert("RGB")
    img.thumbnail((longest, longest), Image.Resampling.LANCZOS)
    return img


@pytest.fixture(scope="session")
def matching_archive(tmp_path_factory: pytest.TempPathFactory,
                     distinct_photos: dict[str, list[Path]]) -> tuple[str, list[Path]]:
    """(SQLite URL, archived files): the archived photos saved as 800 px JPEGs and added."""
    from osintkit.archive import open_archive

    folder = tmp_path_factory.mktemp("matching-archive")
    files = []
    for p in distinct_photos["archived"]:
        dst = folder / "originals" / p.name
        dst.parent.mkdir(exist_ok=True)
        open_photo(p).save(dst, quality=92)
        files.append(dst)
    url = f"sqlite:///{folder / 'archive.sqlite'}"
    with open_archive(url) as arc:
        res = arc.add(files, source="agency", first_seen="2021-03-04")
    assert all(r.ok for r in res)
    return url, files
