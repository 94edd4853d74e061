"""Checks from image forensics (media/forensics): first signs of editing, never proof.

Thresholds are those of `osintkit.media.forensics.THRESHOLDS`, calibrated so untouched
camera photos fire at most 5% of the time (docs/forensics.md). Severities
stay at or below medium: every indicator also fires on some innocent files.
When the context carries the report folder (`ctx.out_dir`), the picture of a finding's
indicator is written to `<out_dir>/forensics/<media id>.<indicator>.png` and its path,
relative to the report folder, put in `evidence["images"]` ({indicator: path}).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from osintkit.checks import CheckContext, Finding, check

PICTURES_DIR = "forensics"
# indicator (media/forensics) -> the finding code it raises here
CODES = {"ela": "ELA_HOTSPOT", "double_compression": "DOUBLE_JPEG_COMPRESSION",
         "exif_thumbnail": "EXIF_THUMBNAIL_MISMATCH", "jpeg_quality": "EDITOR_QUANTIZATION_TABLES"}
RATES_FILE = Path(__file__).with_name("forensic_rates.json")


@functools.lru_cache(maxsize=1)
def camera_rates() -> dict[str, Any]:
    """The measured firing rates on untouched camera photos (forensic_rates.json, written
    by scripts/calibrate_forensics.py --write-rates)."""
    import json

    try:
        return json.loads(RATES_FILE.read_text())
    except (OSError, ValueError):
        return {"rates": {}, "weak_above": 0.02}


def weak_codes() -> dict[str, float]:
    """Finding codes of the indicators that fire on more than `weak_above` (2%) of
    untouched camera photos, with that rate: they never make a verdict alone or in
    pairs (checks/verdict.py)."""
    data = camera_rates()
    limit = float(data.get("weak_above", 0.02))
    out = {}
    for name, c in (data.get("rates") or {}).items():
        rate = c.get("rate") if isinstance(c, dict) else c
        if name in CODES and rate is not None and float(rate) > limit:
            out[CODES[name]] = float(rate)
    return out


@functools.lru_cache(maxsize=16)
def _analyse(path: str, mtime_ns: int, size: int) -> Any:
    """One analysis per file and run (no pictures), shared by the four checks below."""
    from osintkit.media.forensics import analyse_image

    return analyse_image(path, only=("ela", "jpeg_quality", "double_compression",
                                      "exif_thumbnail"))


def indicators(ctx: CheckContext) -> dict[str, dict[str, Any]] | None:
    """The forensic indicators of `ctx.item` (a readable still image), or None."""
    item = ctx.item
    if item is None or item.kind not in (None, "image") or item.path is None:
        return None
    path = Path(item.path)
    try:
        st = path.stat()
    except OSError:
        return None
    res = _analyse(str(path), st.st_mtime_ns, st.st_size)
    return res.indicators if res.ok else None


def _evidence(ctx: CheckContext, name: str, ind: dict[str, Any],
              keys: tuple[str, ...]) -> dict[str, Any]:
    """The indicator's numbers, plus its picture when the report has a folder.

    The picture path is relative to the report folder (`forensics/<media id>.<name>.png`),
    so the report can be moved or archived as a whole.
    """
    out = {k: ind.get(k) for k in keys if k in ind}
    base = ctx.out_dir
    if base and ctx.item is not None and ctx.item.path is not None:
        from osintkit.media.forensics import analyse_image

        stem = ctx.item.id or Path(ctx.item.path).stem
        res = analyse_image(ctx.item.path, Path(base) / PICTURES_DIR, stem=stem, only=(name,))
        pic = res.indicators.get(name, {}).get("image") if res.ok else None
        if pic:
            out["images"] = {name: Path(pic).relative_to(base).as_posix()}
    out["indicator_not_proof"] = True
    return out


def fired(ctx: CheckContext, name: str) -> dict[str, Any] | None:
    """The indicator `name` of ctx.item when it fired, else None."""
    ind = (indicators(ctx) or {}).get(name) or {}
    return ind if ind.get("fired") else None


def _finding(ctx: CheckContext, name: str, keys: tuple[str, ...],
             say: Callable[[dict[str, Any]], str]) -> Finding | None:
    """The finding of indicator `name` when it fired: `say(indicator)` is its message,
    `keys` the indicator's numbers kept as evidence (with its picture)."""
    ind = fired(ctx, name)
    if ind is None:
        return None
    return ctx.finding(say(ind), _evidence(ctx, name, ind, keys))


@check("ELA_HOTSPOT", severity="low")
def ela_hotspot(ctx: CheckContext) -> Finding | None:
    """Error level analysis shows blocks that re-compress unlike the rest of the image."""
    return _finding(ctx, "ela", ("score", "threshold", "hot_box", "hot_share", "quality"),
                    lambda ind: (
        f"Error level analysis: a cluster of blocks ({100 * ind['score']:.1f}% of the image, "
        f"threshold {100 * ind['threshold']:.1f}%) at {ind.get('hot_box')} re-compresses far "
        "worse than the rest. A pasted or retouched region may look like this, but so do "
        "some untouched photos: look at the picture."))


@check("DOUBLE_JPEG_COMPRESSION", severity="info")
def double_jpeg(ctx: CheckContext) -> Finding | None:
    """DCT histograms show the periodic artefacts of a second JPEG compression."""
    return _finding(ctx, "double_compression", ("score", "threshold", "frequencies"),
                    lambda ind: (
        f"The JPEG was probably compressed twice (DCT histogram score {ind['score']:.2f} > "
        f"{ind['threshold']}): it was saved again after capture, by an editor or a platform. "
        "Normal for media passed on by messaging apps; not a sign of editing by itself."))


@check("EXIF_THUMBNAIL_MISMATCH", severity="medium")
def exif_thumbnail_mismatch(ctx: CheckContext) -> Finding | None:
    """The EXIF thumbnail shows a different picture than the main image."""
    return _finding(ctx, "exif_thumbnail", ("distance", "threshold", "transform", "width",
                                            "height"), lambda ind: (
        f"The embedded EXIF thumbnail differs from the image ({ind['distance']} of 64 pHash "
        f"bits, threshold {ind['threshold']}): the picture was changed (cropped, edited) "
        "after the camera wrote the thumbnail, and the old thumbnail was kept. It may show "
        "the original: compare the two in the picture."))


@check("EDITOR_QUANTIZATION_TABLES", severity="low")
def editor_tables(ctx: CheckContext) -> Finding | None:
    """The JPEG was last written by an editor (Adobe's markers and tables)."""
    return _finding(ctx, "jpeg_quality", ("luma_quality", "chroma_quality", "family",
                                          "signature", "editor_markers"), lambda ind: (
        "The JPEG was last saved by an image editor: "
        f"{'; '.join(ind.get('editor_markers') or [])} (quality ≈ "
        f"{ind.get('luma_quality')}, tables {ind.get('family')}, signature "
        f"{ind.get('signature')}). Editing is not faking: check what was changed."))
