"""JPEG quantization tables: quality estimate (luma, chroma) and who wrote the tables.

The quality estimate follows the idea of ImageMagick's: compare the file's tables with
the standard IJG (libjpeg) tables scaled at every quality 1..100 and take the closest.
When a table matches one exactly, the file was most likely written by libjpeg-based
software (GIMP, Pillow, ImageMagick, OpenCV, many web services); cameras and Adobe
products write their own tables. An indicator, not proof: some cameras use IJG tables too.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from PIL import Image

# ITU-T T.81 Annex K tables (natural order), the base of every IJG-scaled table.
STD_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], dtype=np.int64)
STD_CHROMA = np.array([
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99] + [99] * 32, dtype=np.int64)


def ijg_table(base: np.ndarray, quality: int, baseline: bool = True) -> np.ndarray:
    """The table libjpeg's `jpeg_set_quality(quality)` derives from `base`."""
    q = min(max(int(quality), 1), 100)
    scale = 5000 // q if q < 50 else 200 - 2 * q
    table = (base * scale + 50) // 100
    return np.clip(table, 1, 255 if baseline else 32767)


_QUALITIES = np.arange(1, 101)
_IJG = {
    "luma": np.stack([ijg_table(STD_LUMA, q) for q in _QUALITIES]),
    "chroma": np.stack([ijg_table(STD_CHROMA, q) for q in _QUALITIES]),
}

# Editors recognised by their APPn segments: the tables alone rarely name the program
# (Photoshop's differ between versions). Each entry: marker, payload prefix, description.
# Not listed: APP13 with IPTC only (8BIM 0x0404), which many metadata tools write.
_APP_HINTS = (
    ("APP14", b"Adobe", "Adobe encoder (APP14 'Adobe' segment: Photoshop, Lightroom...)"),
    ("APP12", b"Ducky", "Adobe 'Save for Web' (APP12 'Ducky' segment)"),
    # Photoshop stores resolution info (8BIM resource 0x03ED); IPTC-only tools write 0x0404.
    ("APP13", b"Photoshop 3.0\x008BIM\x03\xed", "Adobe Photoshop image resources (APP13)"),
)


@dataclass(frozen=True)
class TableFit:
    """How one table compares with the IJG tables."""

    quality: int  # closest IJG quality
    exact: bool  # identical to the IJG table at that quality
    mean_abs_error: float


def fit_table(table: np.ndarray, kind: str) -> TableFit:
    """Closest IJG quality for one table (`kind` = "luma" or "chroma")."""
    refs = _IJG[kind]
    err = np.abs(refs - table.astype(np.int64)[None, :]).sum(axis=1)
    best = int(np.argmin(err))
    return TableFit(int(_QUALITIES[best]), bool(err[best] == 0), round(float(err[best]) / 64, 2))


def table_signature(tables: dict[int, list[int]]) -> str:
    """A short stable hash of all tables (natural order, by table id)."""
    h = hashlib.sha256()
    for tid in sorted(tables):
        h.update(bytes([tid]) + np.asarray(tables[tid], dtype=">u2").tobytes())
    return h.hexdigest()[:16]


def editor_markers(applist: list[tuple[str, bytes]], cmyk: bool = False) -> list[str]:
    """Editors named by APPn segments (Adobe's markers), as descriptions.

    libjpeg itself writes APP14 'Adobe' for CMYK files, so there it names no editor.
    """
    out = []
    for marker, prefix, text in _APP_HINTS:
        if cmyk and marker == "APP14":
            continue
        if any(m == marker and data.startswith(prefix) for m, data in applist):
            out.append(text)
    return out


def analyse_tables(tables: dict[int, list[int]], applist: list[tuple[str, bytes]],
                   cmyk: bool = False) -> dict:
    """Quality estimate (luma, chroma), table family and signature, as a JSON-ready dict.

    family: "ijg" (both tables exactly libjpeg-standard: GIMP, Pillow, ImageMagick, web
    services, but also many cameras), "ijg-luma" (only the luma table), "custom" (a
    camera's or an editor's own tables). editor: an editor's APPn markers are present.
    """
    luma = fit_table(np.asarray(tables[min(tables)]), "luma")
    chroma_ids = sorted(t for t in tables if t != min(tables))
    chroma = fit_table(np.asarray(tables[chroma_ids[0]]), "chroma") if chroma_ids else None
    if luma.exact and (chroma is None or chroma.exact):
        family = "ijg"
    elif luma.exact:
        family = "ijg-luma"
    else:
        family = "custom"
    editors = editor_markers(applist, cmyk)
    return {
        "applicable": True,
        "luma_quality": luma.quality,
        "chroma_quality": chroma.quality if chroma else None,
        "luma_exact": luma.exact,
        "chroma_exact": chroma.exact if chroma else None,
        "mean_abs_error": luma.mean_abs_error if chroma is None
        else round((luma.mean_abs_error + chroma.mean_abs_error) / 2, 2),
        "tables": len(tables),
        "family": family,
        "signature": table_signature(tables),
        "editor_markers": editors,
        "editor": bool(editors),
    }


def tables_picture(tables: dict[int, list[int]], cell: int = 28) -> Image.Image:
    """The quantization tables as 8×8 grids (darker = coarser step), values written in."""
    from PIL import Image, ImageDraw

    ids = sorted(tables)
    img = Image.new("RGB", (len(ids) * (8 * cell + 16), 8 * cell + 24), "white")
    draw = ImageDraw.Draw(img)
    for n, tid in enumerate(ids):
        x0 = n * (8 * cell + 16) + 8
        draw.text((x0, 4), f"table {tid}", fill="black")
        for i, v in enumerate(tables[tid]):
            shade = 255 - min(int(v), 255)
            x, y = x0 + (i % 8) * cell, 20 + (i // 8) * cell
            draw.rectangle([x, y, x + cell - 1, y + cell - 1], fill=(shade, shade, 255))
            draw.text((x + 3, y + 8), str(v), fill="black" if shade > 110 else "white")
    return img
