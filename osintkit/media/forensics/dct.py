"""Double JPEG compression: periodic artefacts in the DCT coefficient histograms.

A JPEG saved once has smooth (Laplacian-like) histograms of its quantized DCT
coefficients. Saved again with another quantization step, the histograms get periodic
gaps or peaks (Popescu & Farid, 2004). We recompute the coefficients from the decoded
luma on the JPEG grid, divide by the file's own table, and measure how much each
low-frequency histogram of |coefficient| rises where a single compression makes it fall.
Hand-written: no maintained Python library exposes this; numpy does the DCT in bulk.
"""

from __future__ import annotations

import numpy as np

# Zig-zag positions 1..14 (natural-order indexes): the low AC frequencies, which have
# enough non-zero coefficients to give a histogram.
LOW_FREQS = (1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4)
MAX_BLOCKS = 40_000  # a deterministic subset is plenty and keeps big photos fast
MIN_COUNT = 300  # non-zero coefficients needed before a histogram is trusted


def _dct_matrix() -> np.ndarray:
    n = np.arange(8)
    m = np.cos((2 * n[None, :] + 1) * n[:, None] * np.pi / 16) * np.sqrt(2 / 8)
    m[0, :] = np.sqrt(1 / 8)
    return m


_D = _dct_matrix()


def quantized_coefficients(luma: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Quantized DCT coefficients (blocks × 64, natural order) recomputed from pixels."""
    h, w = (luma.shape[0] // 8) * 8, (luma.shape[1] // 8) * 8
    blocks = luma[:h, :w].reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 1, 3).reshape(-1, 8, 8)
    if len(blocks) > MAX_BLOCKS:  # the subset first, then floats: no full-size float copy
        blocks = blocks[np.linspace(0, len(blocks) - 1, MAX_BLOCKS).astype(int)]
    coef = _D @ (blocks.astype(np.float32) - 128.0) @ _D.T
    return np.rint(coef.reshape(-1, 64) / table.reshape(1, 64)).astype(np.int32)


def histogram_irregularity(values: np.ndarray) -> float | None:
    """How far the histogram of |values| (1..K) climbs where it should fall; None if too few.

    A once-quantized histogram decreases with |k|; double quantization adds periodic
    gaps and peaks, i.e. rises. Each rise is measured in Poisson standard deviations
    (z); the statistic is the mean of max(0, z)² over the bins, the largest one left out:
    a periodic pattern rises again and again, while one spike (a gradient's many equal
    coefficients in a drawing) rises once.
    """
    mags = np.abs(values[values != 0])
    if len(mags) < MIN_COUNT:
        return None
    top = int(min(40, np.percentile(mags, 99)))
    if top < 6:
        return None
    h = np.bincount(mags, minlength=top + 1)[1:top + 1].astype(np.float64)
    z = (h[1:] - h[:-1]) / np.sqrt(h[1:] + h[:-1] + 1.0)
    rises = np.sort(np.maximum(z, 0.0) ** 2)[:-1]  # a lone spike is content, not a period
    return float(np.mean(rises))


def double_compression(luma: np.ndarray, table: np.ndarray) -> dict:
    """Score: median over the usable low frequencies of `histogram_irregularity`, on the
    distinct blocks of the image."""
    q = np.asarray(table, dtype=np.float32)
    # Identical blocks (flat fill, the straight edges and letters of drawings and text
    # cards) are one sample, not many: repeated values made single-save drawings look
    # periodic. Photos have almost no identical blocks.
    coef = np.unique(quantized_coefficients(luma, q), axis=0)
    per_freq = {}
    for idx in LOW_FREQS:
        if q[idx] < 2:  # step 1: the histogram is just pixel noise
            continue
        stat = histogram_irregularity(coef[:, idx])
        if stat is not None:
            per_freq[idx] = round(stat, 3)
    if len(per_freq) < 3:
        return {"applicable": False, "reason": "too few usable DCT histograms "
                "(image too small, too flat or saved at quality ~100)", "score": None}
    return {"applicable": True, "score": round(float(np.median(list(per_freq.values()))), 3),
            "frequencies": len(per_freq)}


def histogram_picture(luma: np.ndarray, table: np.ndarray, size: tuple[int, int] = (640, 360)):
    """Bar charts of four low-frequency coefficient histograms (PIL image)."""
    from PIL import Image, ImageDraw

    coef = quantized_coefficients(luma, np.asarray(table, dtype=np.float32))
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    cw, ch = size[0] // 2, size[1] // 2
    for n, idx in enumerate(LOW_FREQS[:4]):
        mags = np.abs(coef[:, idx])
        h = np.bincount(mags[mags <= 40], minlength=41)[1:41].astype(float)
        x0, y0 = (n % 2) * cw, (n // 2) * ch
        draw.text((x0 + 6, y0 + 4), f"|coef| histogram, DCT ({idx // 8},{idx % 8})", fill="black")
        peak = h.max() or 1.0
        bw = (cw - 20) / len(h)
        for i, v in enumerate(h):
            top = y0 + ch - 10 - (ch - 30) * v / peak
            draw.rectangle([x0 + 10 + i * bw, top, x0 + 10 + (i + 1) * bw - 1, y0 + ch - 10],
                           fill=(60, 90, 160))
    return img
