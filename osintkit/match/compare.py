"""Match stage, comparison of two files: distances per hash, the transform, a verdict.

Flow: media -> **match** -> archive. Builds on `hashing.py` and `hashfile.py` (and the
media stage's `media/frames.py` for videos); `osintkit compare` calls it. image<->image,
image<->video (the best frame and its time), video<->video (matching segments as time
ranges).
The transform is found with PDQ's 8 dihedral variants; the other hashes are then
computed on the transformed picture so every distance describes the same alignment.
Verdict thresholds are measured on real photos: see docs/matching.md.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from osintkit import errors
from osintkit.errors import ErrorInfo, MediaError, error_info
from osintkit.match.compare_robust import hash_headline, robust_compare
from osintkit.match.hashfile import VIDEO_EVERY, file_digests
from osintkit.match.hashing import (
    DEFAULT_HASHES,
    DRAFT_SIZE,
    INVERSE,
    PDQ_MIN_QUALITY,
    PDQ_NEAR,
    TRANSFORMS,
    apply_transform,
    hash_image,
    hash_with_variants,
    load_image,
    shrink,
    to_rgb,
)
from osintkit.media.probe import sniff

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

# Verdict thresholds (inclusive), measured on the corpus photos (docs/matching.md;
# `scripts/bench_hash.py --only robustness`). Edits a re-poster makes (re-compression,
# 40% downscale, mirror/rotation, caption bar, watermark, brightness, Telegram-like):
# PDQ <= 64 and pHash+dHash <= 25. Different photos: PDQ >= 90 and pHash+dHash >= 35.
NEAR_PDQ = PDQ_NEAR  # Meta's published PDQ match threshold: near-duplicate on PDQ alone
CORROBORATED_PDQ = 70  # above NEAR_PDQ a near-duplicate needs pHash and dHash to agree...
CORROBORATED_SUM = 28  # ...pHash + dHash distances (of 128 bits), on the aligned pictures
SIMILAR_PDQ = 80  # "similar": worth a look (crops of ~5% land here)
SIMILAR_SUM = 32
# "same-scene": local features fit, but the pixels after the fit say another shot
# (another viewpoint, moment or exposure: osintkit/match/sameshot.py), not a copy.
VERDICTS = ("identical", "near-duplicate", "same-scene", "similar", "different")
VISUAL_HEIGHT = 480


@dataclass
class CompareResult:
    """Result of comparing A with B (the `osintkit compare --json` object)."""

    a: Path
    b: Path
    ok: bool
    kind_a: str | None = None
    kind_b: str | None = None
    verdict: str | None = None
    transform: str | None = None  # B looks like A with this transform applied
    distance: dict[str, int] = field(default_factory=dict)
    sha256_equal: bool | None = None
    a_t: float | None = None  # time of the best-matching frame in A (video), seconds
    b_t: float | None = None
    pdq_quality: dict[str, int | None] = field(default_factory=dict)
    segments: list[Any] = field(default_factory=list)  # osintkit.match.segments.Segment: A=query
    frame_matches: list[dict[str, Any]] = field(default_factory=list)
    visual: str | None = None
    notes: list[str] = field(default_factory=list)
    error: ErrorInfo | None = None
    views: dict[str, Any] | None = None  # best view pair (osintkit/match/views.py), images only
    geometry: dict[str, Any] | None = None  # local features A -> B (osintkit/match/geometry.py)
    warnings: list[str] = field(default_factory=list)  # the decoders' (osintkit/warnroute.py)
    shot: dict[str, Any] | None = None  # pixels after the fit (osintkit/match/sameshot.py)
    decided_by: str | None = None  # "hashes" | "views" | "geometry": what set the verdict
    headline: str = ""  # the distance and geometry that decided, in words

    def to_dict(self) -> dict[str, Any]:
        videos = "video" in (self.kind_a, self.kind_b)
        return {
            "a": str(self.a), "b": str(self.b), "ok": self.ok, "verdict": self.verdict,
            "transform": self.transform, "distance": self.distance,
            "sha256_equal": self.sha256_equal, "kind_a": self.kind_a, "kind_b": self.kind_b,
            "a_t": self.a_t, "b_t": self.b_t, "pdq_quality": self.pdq_quality,
            "segments": [{**s.to_dict(), "transform": self.transform}
                         for s in self.segments] if videos else None,
            "frame_matches": self.frame_matches if videos else None,
            "visual": self.visual, "notes": self.notes,
            "views": self.views, "geometry": self.geometry, "shot": self.shot,
            "decided_by": self.decided_by, "headline": self.headline,
            "error": self.error.to_dict() if self.error else None,
            "warnings": self.warnings,
        }


def verdict_for(sha256_equal: bool, distance: dict[str, int],
                low_quality: bool = False) -> str:
    """identical / near-duplicate / similar / different (thresholds above, docs/matching.md)."""
    if sha256_equal:
        return "identical"
    pdq = distance["pdq"] if not low_quality else None
    both = distance.get("phash", 64) + distance.get("dhash", 64)
    if pdq is not None and pdq <= NEAR_PDQ:
        return "near-duplicate"
    # no lone weak hash: on a flat picture (PDQ quality < 50) pHash + dHash agree on
    # dark or near-uniform pictures that are not the same (a moon on black, a sunset
    # silhouette): at most "similar" unless the local features confirm (compare_files)
    if both <= CORROBORATED_SUM and pdq is not None and pdq <= CORROBORATED_PDQ:
        return "near-duplicate"
    if (pdq is not None and pdq <= SIMILAR_PDQ) or both <= SIMILAR_SUM:
        return "similar"
    return "different"


# ---------------------------------------------------------------- one side
@dataclass
class _Entry:
    """One picture of a side: the image itself, or one sampled video frame."""

    t: float | None
    index: int | None
    hashes: dict[str, Any]
    variants: dict[str, str]


@dataclass
class _Side:
    path: Path
    kind: str
    sha256: str
    entries: list[_Entry]
    image: Image.Image | None = None  # the hashed picture (images only)
    error: ErrorInfo | None = None  # a video that broke after some frames
    pixels: Any = None  # videos: media/videopixels.VideoPixels (the robust match)


def _load_side(path: Path, kinds: tuple[str, ...], every: float,
               size: int | None = DRAFT_SIZE, archive: bool = False) -> _Side:
    probe = sniff(path)
    sha, _ = file_digests(path)
    if probe.kind == "image":
        img = load_image(path, size)
        hashes, variants = hash_with_variants(img, kinds)
        return _Side(path, "image", sha, [_Entry(None, None, hashes, variants)], img)
    from osintkit.media.frames import sample_frames
    from osintkit.media.videopixels import VideoPixels

    side = _Side(path, "video", sha, [],
                 pixels=VideoPixels(dense=archive, min_quality=PDQ_MIN_QUALITY))
    dense = side.pixels.add_dense if archive else None
    try:
        for fr in sample_frames(path, every=every, dense=dense):
            img = to_rgb(fr.image)
            hashes, variants = hash_with_variants(shrink(img, size) if size else img, kinds)
            side.entries.append(_Entry(float(fr.t), fr.index, hashes, variants))
            side.pixels.add(fr, img, hashes)
    except MediaError as exc:
        if not side.entries:
            raise
        side.error = exc.info()  # truncated: compare what could be decoded
    return side


def _frame_image(path: Path, index: int | None, every: float, full: bool = False) -> Image.Image:
    """The sampled frame with this frame number, decoded again (memory stays bounded)."""
    from osintkit.media.frames import sample_frames

    try:
        for fr in sample_frames(path, every=every):
            if fr.index == index:
                img = to_rgb(fr.image)
                return img if full else shrink(img)
    except MediaError:
        pass
    raise MediaError(f"{path}: frame {index} could not be decoded again", code=errors.CORRUPT)


# ---------------------------------------------------------------- matching
def _bits(hexes: Iterable[str]) -> np.ndarray:
    import numpy as np

    return np.array([np.frombuffer(bytes.fromhex(h), dtype=np.uint8) for h in hexes])


def _pdq_table(a: _Side, b: _Side) -> tuple[np.ndarray, np.ndarray]:
    """PDQ distances of every A entry (best dihedral variant) to every B entry.

    Returns (distance[nA, nB], transform index[nA, nB]). numpy XOR + popcount: a python
    loop over frame pairs x 8 variants is far too slow for long videos.
    """
    import numpy as np

    qa = _bits(e.variants[t] for e in a.entries for t in TRANSFORMS)  # (nA*8, 32)
    qb = _bits(e.hashes["pdq"] for e in b.entries)  # (nB, 32)
    d = np.zeros((len(qa), len(qb)), dtype=np.int32)
    step = max(1, 4_000_000 // (32 * max(1, len(qb))))
    for i in range(0, len(qa), step):
        x = qa[i:i + step, None, :] ^ qb[None, :, :]
        d[i:i + step] = np.bitwise_count(x).sum(axis=2)
    d = d.reshape(len(a.entries), len(TRANSFORMS), len(qb))
    return d.min(axis=1), d.argmin(axis=1)


def _segments(a: _Side, b: _Side, transform: str) -> list[Any]:
    """Matching stretches of two videos (osintkit.match.segments: offset voting, hysteresis),
    with A's frames taken under the transform found for the best frame pair."""
    from osintkit.match.segments import match_frame_lists

    query = [(e.t, e.variants[transform], e.hashes["pdq_quality"]) for e in a.entries]
    item = [(e.t, e.hashes["pdq"], e.hashes["pdq_quality"]) for e in b.entries]
    return match_frame_lists(query, item)


# ---------------------------------------------------------------- the comparison
def _picture(side: _Side, i: int, every: float) -> Image.Image:
    if side.image is not None:
        return side.image
    return _frame_image(side.path, side.entries[i].index, every)


def _other_distances(a: _Side, b: _Side, i: int, j: int, transform: str,
                     kinds: tuple[str, ...], every: float) -> dict[str, int]:
    from osintkit.match.hashing import HASHERS

    others = tuple(k for k in kinds if k != "pdq")
    if not others:
        return {}
    img_a = apply_transform(_picture(a, i, every), transform)
    ha = hash_image(img_a, others)
    hb = b.entries[j].hashes
    return {k: HASHERS[k].distance(str(ha[k]), str(hb[k])) for k in others}


def compare_files(a: str | os.PathLike[str], b: str | os.PathLike[str],
                  kinds: Iterable[str] = DEFAULT_HASHES, every: float = VIDEO_EVERY,
                  visual: str | os.PathLike[str] | None = None,
                  size: int | None = DRAFT_SIZE, robust: bool = True) -> CompareResult:
    """Compare two images/videos; never raises for a bad file (ok=False + error).

    `size`: decode pictures down to this shorter side (None: full decode, for measuring).
    `robust=False`: hashes only, without views and local features (for measuring).
    """
    pa, pb = Path(a), Path(b)
    # PDQ finds the transform; pHash and dHash corroborate the verdict.
    kinds = tuple(dict.fromkeys(("pdq", "phash", "dhash", *kinds)))
    res = CompareResult(pa, pb, ok=False)
    try:
        sa = _load_side(pa, kinds, every, size)
        sb = _load_side(pb, kinds, every, size, archive=robust)  # B as an archive keeps it
        res.kind_a, res.kind_b = sa.kind, sb.kind
        _fill(res, sa, sb, kinds, every)
        geo = robust_compare(res) if robust and sa.kind == sb.kind == "image" else None
        if robust and "video" in (sa.kind, sb.kind):
            from osintkit.archive.compare_video import robust_pair

            robust_pair(res, sa, sb)  # segments as the archive's search finds them
        if visual is not None and geo is not None:
            from osintkit.match.geometry import draw

            res.visual = str(draw(load_image(pa, VISUAL_HEIGHT), load_image(pb, VISUAL_HEIGHT),
                                  geo, Path(visual)))
        elif visual is not None:
            res.visual = str(_write_visual(res, sa, sb, Path(visual), every))
        res.ok = True
    except MediaError as exc:
        res.error = exc.info()
    except OSError as exc:
        res.error = ErrorInfo(errors.UNREADABLE, f"{exc.filename or pa}: cannot read "
                                                 f"({exc.strerror or exc})")
    except Exception as exc:  # a bad file never gives a traceback
        info = error_info(exc)
        res.error = ErrorInfo(info.code, f"{pa} vs {pb}: {info.message}")
    return res


def _fill(res: CompareResult, sa: _Side, sb: _Side, kinds: tuple[str, ...],
          every: float) -> None:
    # Transforms are computed on A's side; when only B is an image, B is the query and
    # the transform found is inverted so it still reads "B looks like A with T applied".
    swap = sa.kind == "video" and sb.kind == "image"
    q, t = (sb, sa) if swap else (sa, sb)
    dist, tix = _pdq_table(q, t)
    i, j = (int(x) for x in divmod(int(dist.argmin()), dist.shape[1]))
    transform = TRANSFORMS[int(tix[i, j])]
    distance = {"pdq": int(dist[i, j])}
    distance.update(_other_distances(q, t, i, j, transform, kinds, every))
    qual = (q.entries[i].hashes["pdq_quality"], t.entries[j].hashes["pdq_quality"])
    if swap:
        i, j, qual, transform = j, i, qual[::-1], INVERSE.get(transform, transform)
    res.transform, res.distance = transform, distance
    res.a_t, res.b_t = sa.entries[i].t, sb.entries[j].t
    res.pdq_quality = {"a": qual[0], "b": qual[1]}
    res.sha256_equal = sa.sha256 == sb.sha256
    low = min(qual) < PDQ_MIN_QUALITY
    if low:
        res.notes.append(f"PDQ quality below {PDQ_MIN_QUALITY} (flat picture): "
                         "verdict by pHash + dHash")
    res.verdict = verdict_for(res.sha256_equal, distance, low)
    res.decided_by, res.headline = "hashes", hash_headline(res, low)
    if res.verdict == "different":
        res.transform = None  # the best of 8 poor matches means nothing
    for side in (sa, sb):
        if side.error:
            res.notes.append(f"compared the frames before the damage: {side.error.message}")
    if sa.kind == sb.kind == "video":
        res.segments = _segments(sa, sb, res.transform or transform)
        res.frame_matches = [
            {"a_t": e.t, "b_t": sb.entries[int(dist[k].argmin())].t,
             "pdq": int(dist[k].min()), "transform": TRANSFORMS[int(tix[k, dist[k].argmin()])]}
            for k, e in enumerate(sa.entries)]


# ---------------------------------------------------------------- the picture
def _visual_image(side: _Side, path: Path, t: float | None, every: float) -> Image.Image:
    if side.kind == "image":
        return load_image(path, size=VISUAL_HEIGHT)
    idx = next(e.index for e in side.entries if e.t == t)
    return _frame_image(path, idx, every, full=True)


def _write_visual(res: CompareResult, sa: _Side, sb: _Side, out: Path, every: float) -> Path:
    """Side by side: A with the matched transform applied, and B, captioned."""
    from PIL import Image, ImageDraw, ImageFont

    left = apply_transform(_visual_image(sa, sa.path, res.a_t, every), res.transform or "none")
    right = _visual_image(sb, sb.path, res.b_t, every)
    pics = [_fit(left), _fit(right)]
    cap, pad = 44, 8
    width = sum(p.width for p in pics) + 3 * pad
    canvas = Image.new("RGB", (width, VISUAL_HEIGHT + cap + 2 * pad), (24, 24, 24))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=14)
    x = pad
    for name, pic, t, label in ((sa.path.name, pics[0], res.a_t, "A"),
                                (sb.path.name, pics[1], res.b_t, "B")):
        canvas.paste(pic, (x, pad + (VISUAL_HEIGHT - pic.height) // 2))
        when = f" @ {t:.1f} s" if t is not None else ""
        extra = f" ({res.transform})" if label == "A" and res.transform != "none" else ""
        draw.text((x, VISUAL_HEIGHT + pad + 4), f"{label}: {name}{when}{extra}",
                  fill=(235, 235, 235), font=font)
        x += pic.width + pad
    dist = ", ".join(f"{k} {v}" for k, v in res.distance.items())
    draw.text((pad, VISUAL_HEIGHT + pad + 24), f"{res.verdict}: {dist}",
              fill=(255, 200, 80), font=font)
    out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(out, "PNG")
    return out


def _fit(img: Image.Image) -> Image.Image:
    from PIL import Image

    scale = min(VISUAL_HEIGHT / img.height, 2 * VISUAL_HEIGHT / img.width)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return img.resize(size, Image.Resampling.LANCZOS)
