"""Media stage, image forensics: first signs of editing, as indicators, never proof.

For one image: error level analysis (ELA), JPEG quality and table family from the
quantization tables, a double-compression score from DCT histograms, the EXIF
thumbnail against the main image, and a noise-residual map. Each indicator says whether
it `fired` against a threshold calibrated on real camera photos (see
`scripts/calibrate_forensics.py` and the table in docs/forensics.md: untouched photos fire ≤ 5%).
With `out_dir`, one PNG per indicator is written next to the numbers.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from osintkit import errors
from osintkit.errors import ErrorInfo, InputError, MediaError, error_info
from osintkit.media.forensics import dct, ela, quant, thumb
from osintkit.media.pixels import MAX_WORK_PIXELS, factor_for, reduce_image, to_8bit
from osintkit.media.probe import iter_inputs, sniff
from osintkit.warnroute import collecting

# Thresholds chosen by scripts/calibrate_forensics.py so that untouched camera JPEGs fire
# at most 5% of the time (tests/test_forensics.py asserts it on the real corpus).
THRESHOLDS: dict[str, float] = {
    "ela": 0.012,  # largest cluster of hot 16×16 blocks, as a share of all blocks
    # median histogram rise statistic over distinct blocks, two largest rises left out
    # (single saves of photos ≤ 0.2, of drawings and text cards ≤ 0.6: scripts/
    # calibrate_double_jpeg.py)
    "double_compression": 1.0,
    "exif_thumbnail": 10,  # pHash bits of 64 between thumbnail and main image
}

MAX_PICTURE = 2048  # longest side of the PNGs written with out_dir
# Pixels read at full size: the thresholds are calibrated on full-size camera photos, so a
# 24 MP camera's photos are read whole (~650 MB). Larger pictures are read reduced to at
# most MAX_WORK_PIXELS (osintkit/media/pixels.py): once reduced, the calibration is lost
# anyway, and memory stays low.
MAX_FULL_PIXELS = 25_000_000

INDICATORS = ("ela", "jpeg_quality", "double_compression", "exif_thumbnail", "noise")


@dataclass
class ForensicsResult:
    """Indicators for one image (`ok` False with `error` when it cannot be read)."""

    path: Path
    ok: bool
    format: str | None = None
    width: int | None = None
    height: int | None = None
    indicators: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: ErrorInfo | None = None
    warnings: list[str] = field(default_factory=list)  # the decoders' (osintkit/warnroute.py)

    @property
    def fired(self) -> list[str]:
        """Names of the indicators that fired."""
        return [k for k, v in self.indicators.items() if v.get("fired")]

    def to_dict(self) -> dict[str, Any]:
        """JSON contract of `osintkit forensics --json`."""
        return {"path": str(self.path), "ok": self.ok, "format": self.format,
                "width": self.width, "height": self.height, "fired": self.fired,
                "indicators": self.indicators,
                "error": self.error.to_dict() if self.error else None,
                "warnings": self.warnings}


def open_image(path: Path) -> tuple[Image.Image, str]:
    """Open and fully decode a still image; MediaError with a clear code otherwise."""
    probe = sniff(path)
    if probe.kind != "image":
        raise MediaError(f"{path}: {probe.format} video; forensics reads still images only",
                         code=errors.UNSUPPORTED)
    if probe.format in ("HEIF", "AVIF"):
        from osintkit.media.heif import register_heif

        register_heif()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = _decode_capped(Image.open(path))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise MediaError(f"{path}: too many pixels (decompression bomb?)",
                         code=errors.TOO_LARGE) from None
    except (OSError, SyntaxError, ValueError) as exc:
        text = " ".join(str(exc).split())
        code = errors.TRUNCATED if "truncated" in text.lower() else errors.CORRUPT
        raise MediaError(f"{path}: cannot decode {probe.format}: {text}", code=code) from None
    return img, probe.format


def _decode_capped(img: Image.Image) -> Image.Image:
    """Decode whole up to MAX_FULL_PIXELS, else reduced to at most MAX_WORK_PIXELS: JPEG
    by DCT scaling (keeping its tables for the quality indicator), others box-reduced
    strip by strip. A reduced picture carries `info["osintkit_scale"]` (< 1) and
    `info["osintkit_size"]` (the stored size)."""
    stored = img.size
    limit = MAX_FULL_PIXELS if stored[0] * stored[1] <= MAX_FULL_PIXELS else MAX_WORK_PIXELS
    factor = factor_for(stored, limit)
    if factor > 1 and img.format == "JPEG":  # libjpeg scales by 1/2, 1/4 or 1/8 only
        scale = next((s for s in (2, 4, 8) if s >= factor), 8)
        img.draft(img.mode, (stored[0] // scale, stored[1] // scale))
    img.load()
    if (rest := factor_for(img.size, limit)) > 1:
        reduced = reduce_image(img, rest)
        reduced.info.update(img.info)
        for attr in ("quantization", "applist"):  # the JPEG quality indicator reads them
            if hasattr(img, attr):
                setattr(reduced, attr, getattr(img, attr))
        img.close()
        img = reduced
    if img.mode.startswith(("I", "F")):  # 16-bit grey: the 8 bits a viewer would show
        eight = to_8bit(img if img.mode in ("I", "F") else img.convert("I"))
        eight.info.update(img.info)
        img = eight
    if img.size != stored:
        img.info["osintkit_scale"] = round(img.width / stored[0], 4)
        img.info["osintkit_size"] = stored
    return img


def _luma(path: Path, img: Image.Image) -> np.ndarray | None:
    """The decoded JPEG luma exactly as stored (no colour conversion), or None."""
    if img.mode == "L":
        return np.asarray(img, dtype=np.uint8)
    if img.mode != "RGB":  # CMYK/YCCK: skip rather than guess
        return None
    with Image.open(path) as again:
        again.draft("YCbCr", again.size)
        again.load()
        if again.mode != "YCbCr":
            return None
        return np.asarray(again.getchannel(0), dtype=np.uint8)


class _Writer:
    """Writes one PNG per indicator into out_dir (or nothing when out_dir is None)."""

    def __init__(self, out_dir: Path | None, stem: str) -> None:
        self.out_dir, self.stem = out_dir, stem

    def __call__(self, name: str, make: Callable[[], Image.Image]) -> str | None:
        if self.out_dir is None:
            return None
        target = self.out_dir / f"{self.stem}.{name}.png"
        picture = make()
        if max(picture.size) > MAX_PICTURE:  # a report needs no 12-Mpx PNGs
            picture.thumbnail((MAX_PICTURE, MAX_PICTURE), Image.Resampling.BOX)
        picture.save(target, "PNG", compress_level=3)
        return str(target)


def _guard(fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one indicator; a failure is recorded in it, never fails the whole file."""
    try:
        return fn()
    except Exception as exc:  # hostile files reach odd corners of the decoders
        return {"applicable": False, "fired": None, "error": error_info(exc).message}


def _ela(img: Image.Image, write: _Writer) -> dict[str, Any]:
    summary, err = ela.ela(img)
    fired = summary["score"] > THRESHOLDS["ela"]
    return {"applicable": True, **summary, "threshold": THRESHOLDS["ela"], "fired": fired,
            "image": write("ela", lambda: ela.ela_picture(err))}


def _noise(img: Image.Image, write: _Writer) -> dict[str, Any]:
    summary, residual = ela.noise_residual(img)
    return {"applicable": True, **summary, "fired": None,
            "image": write("noise", lambda: ela.noise_picture(residual))}


def _quality(img: Image.Image, write: _Writer) -> dict[str, Any]:
    tables = getattr(img, "quantization", None)
    if not tables:
        return {"applicable": False, "reason": "not a JPEG", "fired": None}
    info = quant.analyse_tables(tables, getattr(img, "applist", []), img.mode == "CMYK")
    return {**info, "fired": info["editor"],
            "image": write("quantization", lambda: quant.tables_picture(tables))}


def _double(path: Path, img: Image.Image, write: _Writer) -> dict[str, Any]:
    tables = getattr(img, "quantization", None)
    if not tables:
        return {"applicable": False, "reason": "not a JPEG", "score": None, "fired": None}
    if img.info.get("osintkit_scale"):  # the DCT grid only exists at full size
        return {"applicable": False, "score": None, "fired": None,
                "reason": f"over {MAX_FULL_PIXELS // 1_000_000} MP: read reduced"}
    luma = _luma(path, img)
    if luma is None:
        return {"applicable": False, "reason": f"{img.mode} JPEG", "score": None, "fired": None}
    table = np.asarray(tables[min(tables)])
    info = dct.double_compression(luma, table)
    if not info["applicable"]:
        return {**info, "fired": None}
    return {**info, "threshold": THRESHOLDS["double_compression"],
            "fired": info["score"] > THRESHOLDS["double_compression"],
            "image": write("dct", lambda: dct.histogram_picture(luma, table))}


def _thumbnail(path: Path, img: Image.Image, write: _Writer) -> dict[str, Any]:
    info, thumbnail = thumb.compare_thumbnail(img, thumb.thumbnail_bytes(path))
    if info.get("distance") is None:
        return {**info, "fired": None}
    return {**info, "threshold": THRESHOLDS["exif_thumbnail"],
            "fired": info["distance"] > THRESHOLDS["exif_thumbnail"],
            "image": write("thumbnail", lambda: thumb.pair_picture(img, thumbnail))}


_RUNNERS: dict[str, Callable[[Path, Image.Image, _Writer], dict[str, Any]]] = {
    "ela": lambda p, img, w: _ela(img, w),
    "jpeg_quality": lambda p, img, w: _quality(img, w),
    "double_compression": _double,
    "exif_thumbnail": _thumbnail,
    "noise": lambda p, img, w: _noise(img, w),
}


def analyse_image(path: str | os.PathLike[str], out_dir: str | os.PathLike[str] | None = None,
                  *, stem: str | None = None,
                  only: Iterable[str] | None = None) -> ForensicsResult:
    """All indicators (or `only` those named) for one image; never raises for a bad file.

    A file that cannot be read gives ok=False + error. With `out_dir`, writes
    `<stem>.<indicator>.png` there (stem defaults to the file's). Library warnings
    (damaged tags) are in `warnings`.
    """
    sink: list[str] = []
    with collecting(sink):
        res = _analyse(Path(path), out_dir, stem, only)
    res.warnings = sink
    return res


def _analyse(p: Path, out_dir: str | os.PathLike[str] | None, stem: str | None,
             only: Iterable[str] | None) -> ForensicsResult:
    names = [n for n in INDICATORS if only is None or n in set(only)]
    try:
        img, fmt = open_image(p)
    except MediaError as exc:
        return ForensicsResult(p, False, error=exc.info())
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    write = _Writer(out, stem or p.stem)
    with img:
        indicators = {n: _guard(lambda n=n: _RUNNERS[n](p, img, write)) for n in names}
        if scale := img.info.get("osintkit_scale"):  # pixels read reduced: say so
            for name in ("ela", "noise", "exif_thumbnail"):
                if name in indicators and indicators[name].get("applicable", True):
                    indicators[name]["scale"] = scale
            ela_ind = indicators.get("ela", {})
            if ela_ind.get("hot_box"):  # in the stored picture's pixels, like other boxes
                ela_ind["hot_box"] = [round(v / scale) for v in ela_ind["hot_box"]]
            if ela_ind.get("fired") is not None:  # its threshold holds at full size only
                ela_ind.update(fired=None, reason="read reduced: the map is indicative, "
                               "the threshold holds at full size only")
        width, height = img.info.get("osintkit_size", img.size)
        return ForensicsResult(p, True, fmt, width, height, indicators)


def analyse_paths(paths: Iterable[str | os.PathLike[str]],
                  out_dir: str | os.PathLike[str] | None = None,
                  on_skip: Callable[[Path, str], None] | None = None
                  ) -> Iterator[ForensicsResult]:
    """Analyse files and directories (recursively); one bad file never stops the rest.

    Raises InputError (exit 2) only when out_dir cannot be created.

    Picture names are `<file stem>.<indicator>.png`; a stem seen twice gets a short hash
    of its path appended so two `photo.jpg` from different folders never overwrite.
    """
    if out_dir is not None:
        try:
            Path(out_dir).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"{out_dir}: cannot create the output folder "
                             f"({exc.strerror or exc})", code=errors.UNREADABLE) from None
    seen: set[str] = set()
    for item in iter_inputs(paths, on_skip):
        if item.error is not None:
            yield ForensicsResult(item.path, False, error=item.error)
            continue
        stem = item.path.stem
        if stem in seen:
            stem = f"{stem}-{hashlib.sha256(str(item.path).encode()).hexdigest()[:8]}"
        seen.add(stem)
        yield analyse_image(item.path, out_dir, stem=stem)


def _line(name: str, ind: dict[str, Any]) -> str:
    if ind.get("error"):
        return f"failed: {ind['error']}"
    if not ind.get("applicable", True) or (name == "exif_thumbnail" and not ind.get("present")):
        return f"n/a ({ind.get('reason') or 'no EXIF thumbnail'})"
    if name == "ela":
        scale = f", read at {ind['scale']:g} scale" if ind.get("scale") else ""
        return (f"largest hot cluster {100 * ind['score']:.1f}% of the blocks (threshold "
                f"{100 * ind['threshold']:.1f}%), box {ind.get('hot_box')}{scale}")
    if name == "jpeg_quality":
        editors = "; ".join(ind.get("editor_markers") or []) or "no editor markers"
        return (f"luma ≈ {ind['luma_quality']}, chroma ≈ {ind['chroma_quality']}, tables "
                f"{ind['family']} ({ind['signature']}), {editors}")
    if name == "double_compression":
        return f"score {ind['score']:.2f} (threshold {ind['threshold']})"
    if name == "exif_thumbnail":
        if ind.get("distance") is None:
            return f"unreadable thumbnail ({ind.get('reason')})"
        return (f"distance {ind['distance']}/64 bits (threshold {ind['threshold']}), "
                f"best as {ind['transform']}")
    return f"level {ind['level']}, block spread {ind.get('spread')}"


_LABELS = {"ela": "ELA", "jpeg_quality": "JPEG quality", "double_compression":
           "double JPEG", "exif_thumbnail": "EXIF thumbnail", "noise": "noise residual"}


def render_text(res: ForensicsResult) -> str:
    """Human-readable block for one result: one line per indicator, pictures written."""
    lines = [f"{res.path}  ({res.format} {res.width}×{res.height})"]
    for name in INDICATORS:
        ind = res.indicators.get(name, {})
        mark = "FIRED" if ind.get("fired") else "     "
        lines.append(f"  {mark} {_LABELS[name]:<15} {_line(name, ind)}")
        if ind.get("image"):
            lines.append(f"        {'':<15} picture: {ind['image']}")
    fired = ", ".join(res.fired) or "none"
    lines.append(f"  fired: {fired} (indicators, not proof)")
    return "\n".join(lines)
