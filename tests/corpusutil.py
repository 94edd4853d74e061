"""The real photos of a corpus (tests/data or the full one), selected one way for tests,
benchmarks and calibration."""

from __future__ import annotations

from pathlib import Path

from PIL import Image


def camera_jpegs(corpus: Path, truth: dict) -> list[Path]:
    """Decodable camera JPEGs at least 400 px wide, sorted (`corpus` holds exif-samples/:
    tests/data, or the full corpus)."""
    out = []
    for rel, rec in sorted(truth["files"].items()):
        if rec.get("file_type") != "JPEG" or (rec.get("width") or 0) < 400:
            continue
        path = corpus / "exif-samples" / rel
        try:
            with Image.open(path) as im:
                im.load()
        except Exception:  # the corpus holds deliberately broken files; skip those here
            continue
        out.append(path)
    return out
