"""Error level analysis and the noise-residual map.

ELA re-saves the image as JPEG at a known quality and looks at what changed: regions
with a different compression history (a pasted patch, a retouched area) often change
more or less than the rest. Textured regions change more anyway, so the summary divides
each block's error by its own texture (both over R, G and B, so coloured edges count as
texture) before comparing it with the median of the textured blocks (flat fill is no
reference: a flat drawing has too few textured blocks to compare and is not scored).
A JPEG saved at about the re-save quality is re-saved at another one (`ela_quality`).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

ELA_QUALITY = 90
ALT_QUALITY = 80  # for a JPEG last saved within SAME_QUALITY_BAND of ELA_QUALITY
SAME_QUALITY_BAND = 4
BLOCK = 16
HOT_FACTOR = 3.0  # a block is "hot" when its texture-normalised error exceeds 3× the median
MIN_TEXTURE = 1.0  # grey-level steps per pixel: a block below this is flat fill
MIN_TEXTURED_SHARE = 0.1  # fewer textured blocks than this: nothing to compare with
# A drawing (flat colours, sharp edges): more than a third of the blocks have no chroma
# texture (photos: median 3-9%; synthetic drawings: median 40%; scripts/calibrate_double_jpeg.py).
FLAT_CHROMA = 0.25  # chroma steps per pixel below which a block's colour is flat
DRAWING_SHARE = 1 / 3


def _blocks(a: np.ndarray, size: int) -> np.ndarray:
    """Mean of each size×size block of a 2-D array (edges cropped)."""
    import cv2

    h, w = a.shape[0] // size, a.shape[1] // size
    crop = np.ascontiguousarray(a[:h * size, :w * size], dtype=np.float32)
    return cv2.resize(crop, (w, h), interpolation=cv2.INTER_AREA)  # exact block means


def _texture(gray: np.ndarray) -> np.ndarray:
    """Local texture: absolute horizontal + vertical grey-level step per pixel."""
    import cv2

    g = np.zeros(gray.shape, dtype=np.float32)
    g[:, 1:] += cv2.absdiff(gray[:, 1:], gray[:, :-1])
    g[1:, :] += cv2.absdiff(gray[1:, :], gray[:-1, :])
    return g


def _resave(rgb: Image.Image, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    rgb.save(buf, "JPEG", quality=quality)
    buf.seek(0)
    with Image.open(buf) as again:
        return np.asarray(again.convert("RGB"))


def ela_quality(img: Image.Image) -> int:
    """The re-save quality: ELA_QUALITY, unless the JPEG was itself saved near it.

    Re-saving a quality-90 JPEG at 90 changes almost nothing anywhere; the median block
    then sits near zero and every rounding flicker looks hot (71% of single-save photos
    fired). Such a file is re-saved at ALT_QUALITY instead."""
    tables = getattr(img, "quantization", None)
    if not tables:
        return ELA_QUALITY
    from osintkit.media.forensics.quant import fit_table

    q = fit_table(np.asarray(tables[min(tables)]), "luma").quality
    return ALT_QUALITY if abs(q - ELA_QUALITY) <= SAME_QUALITY_BAND else ELA_QUALITY


def ela(img: Image.Image, quality: int | None = None) -> tuple[dict, np.ndarray]:
    """ELA summary and the per-pixel error (max over channels, uint8).

    A 16×16 block is hot when its texture-normalised error is > HOT_FACTOR × the median
    block. score: the largest 8-connected cluster of hot blocks as a share of all blocks;
    hot_box: that cluster's bounding box (x0, y0, x1, y1) in pixels, or None;
    hot_share: all hot blocks as a share.
    """
    import cv2

    quality = ela_quality(img) if quality is None else quality
    rgb = img.convert("RGB")
    orig = np.asarray(rgb)
    again = _resave(rgb, quality)
    diff = cv2.absdiff(orig, again)
    err = np.maximum(np.maximum(diff[..., 0], diff[..., 1]), diff[..., 2])  # the picture
    summary: dict = {"quality": quality, "mean_error": round(float(err.mean()), 3)}
    if min(err.shape) < 2 * BLOCK:
        return {**summary, "score": 0.0, "hot_share": 0.0, "hot_blocks": 0, "blocks": 0,
                "hot_box": None}, err
    # Error (max over R, G, B) against texture measured the same way: a coloured edge
    # with little grey-level step is textured too (chroma subsampling changes it on any
    # re-save, which made single-save drawings "hot" when texture was grey only).
    block_err = _blocks(err, BLOCK)
    block_tex = _blocks(np.maximum(np.maximum(_texture(orig[..., 0]), _texture(orig[..., 1])),
                                   _texture(orig[..., 2])), BLOCK)
    ratio = block_err / (block_tex + 2.0)  # +2: flat areas would otherwise divide by ~0
    textured = block_tex > MIN_TEXTURE
    if textured.mean() < MIN_TEXTURED_SHARE:  # a flat drawing: no reference to compare with
        return {**summary, "score": 0.0, "hot_share": 0.0, "hot_blocks": 0,
                "blocks": int(ratio.size), "hot_box": None,
                "note": "flat picture: too few textured blocks to compare"}, err
    drawing = _drawing_hot(orig, again)
    if drawing is not None:  # flat colours: luma and chroma judged each against its own
        hot = drawing
        summary["drawing"] = True
    else:
        median = float(np.median(ratio[textured]))  # the typical textured block, not flat fill
        hot = ratio > HOT_FACTOR * max(median, 1e-3)
        hot &= block_err > 1.0  # ignore blocks whose error is below one grey level
    cluster, box = _largest_cluster(hot)
    summary.update(score=round(cluster / hot.size, 4), hot_share=round(float(hot.mean()), 4),
                   hot_blocks=int(hot.sum()), blocks=int(hot.size), hot_box=box)
    return summary, err


def _hot(err: np.ndarray, tex: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Blocks whose error per unit of texture is > HOT_FACTOR × the median of `reference`."""
    ratio = err / (tex + 2.0)
    median = float(np.median(ratio[reference])) if reference.any() else 1.0
    return (ratio > HOT_FACTOR * max(median, 1e-3)) & (err > 1.0)


def _drawing_hot(orig: np.ndarray, again: np.ndarray) -> np.ndarray | None:
    """Hot blocks of a drawing (flat colours, sharp edges), or None for a photo.

    Re-saving a sharp colour edge with chroma subsampling changes its chroma a lot, while
    the luma texture (grain) sets the block's texture: a single-save drawing then showed
    hot rings around its shapes (ELA_HOTSPOT on ~20% of them). In a drawing, luma error is
    measured against luma texture and chroma error against chroma texture, each with the
    median of its own textured blocks; a photo keeps the joint measure (calibrated).
    """
    import cv2

    yo = cv2.cvtColor(orig, cv2.COLOR_RGB2YCrCb).astype(np.float32)
    ya = cv2.cvtColor(again, cv2.COLOR_RGB2YCrCb).astype(np.float32)
    t_c = _blocks(np.maximum(_texture(yo[..., 1]), _texture(yo[..., 2])), BLOCK)
    if (t_c < FLAT_CHROMA).mean() <= DRAWING_SHARE:
        return None
    d = cv2.absdiff(yo, ya)
    e_y, e_c = _blocks(d[..., 0], BLOCK), _blocks(np.maximum(d[..., 1], d[..., 2]), BLOCK)
    t_y = _blocks(_texture(yo[..., 0]), BLOCK)
    hot = _hot(e_y, t_y, t_y > MIN_TEXTURE)
    coloured = t_c > MIN_TEXTURE
    if coloured.mean() >= MIN_TEXTURED_SHARE:  # enough colour edges to compare with
        hot |= _hot(e_c, t_c, coloured)
    return hot


def _largest_cluster(hot: np.ndarray) -> tuple[int, list[int] | None]:
    """Size (blocks) and pixel bounding box (x0, y0, x1, y1) of the largest hot cluster.

    Untouched photos have scattered hot blocks on edges; a pasted region is one cluster.
    """
    import cv2

    n, _labels, stats, _ = cv2.connectedComponentsWithStats(hot.astype(np.uint8),
                                                            connectivity=8)
    if n < 2:
        return 0, None
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    x, y, w, h, area = (int(v) for v in stats[best])
    return area, [x * BLOCK, y * BLOCK, (x + w) * BLOCK, (y + h) * BLOCK]


def ela_picture(err: np.ndarray) -> Image.Image:
    """The amplified error as an image: scaled so the 99.5th percentile is white."""
    top = max(float(np.percentile(err[::4, ::4], 99.5)), 1.0)
    return Image.fromarray(np.clip(err * (255.0 / top), 0, 255).astype(np.uint8), "L")


def noise_residual(img: Image.Image) -> tuple[dict, np.ndarray]:
    """High-pass residual (grey minus its 3×3 median) and a summary of its spread.

    spread: 95th / 5th percentile of the per-block residual level (32×32 blocks);
    a pasted region with other noise shows as a patch of other brightness in the map.
    """
    import cv2

    gray = np.asarray(img.convert("L"), dtype=np.uint8)
    residual = gray.astype(np.float32) - cv2.medianBlur(gray, 3).astype(np.float32)
    summary: dict = {"level": round(float(np.abs(residual).mean()), 3)}
    if min(gray.shape) >= 64:
        levels = _blocks(np.abs(residual), 32)
        lo, hi = np.percentile(levels, [5, 95])
        summary["spread"] = round(float(hi / max(lo, 0.05)), 3)
    else:
        summary["spread"] = None
    return summary, residual


def noise_picture(residual: np.ndarray) -> Image.Image:
    """The residual as an image (mid-grey = 0), amplified to the 99.5th percentile."""
    top = max(float(np.percentile(np.abs(residual), 99.5)), 1.0)
    out = 128.0 + residual * (127.0 / top)
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8), "L")
