"""Match stage, comparison of two images beyond their hashes: views (content region,
sub-views), local-feature geometry and the copy-or-another-shot pixel check, and the
headline that says what decided. Called by `compare.py` for image pairs.

Flow: media -> **match** -> archive: the same views, features and pixel check the
archive's robust search uses, here on two files without an archive.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL import Image

# `res` below is a compare.CompareResult: typed Any here so that this module, which
# compare.py calls, does not import compare.py back.
CompareResult = Any

def robust_compare(res: CompareResult) -> Any:
    """Views (content region, sub-views), local-feature geometry and the pixels after
    the fit: a confirmed copy upgrades "similar"/"different" to "near-duplicate", another
    shot of the same scene makes any verdict "same-scene"; the headline says what
    decided (the view's PDQ, the fit), not the whole pictures' distances."""
    from osintkit.match.geometry import match_files
    from osintkit.match.hashing import HASHERS
    from osintkit.match.views import best_view_pair, load_view_image

    va, vb = load_view_image(res.a), load_view_image(res.b)
    pair = best_view_pair(va, vb)
    if pair is not None:
        for side, img, path in (("a", va, res.a), ("b", vb, res.b)):
            pair[f"{side}_box"] = _to_file_pixels(pair[f"{side}_box"], img, path)
        res.views = pair
    geo = match_files(res.a, res.b)
    res.geometry = geo.to_dict()
    shot = _shot(res, geo)
    # geometry maps B (the original) onto A (the query): say so, not "the original".
    what = geo.explanation.replace("the original fills", "B fills")
    fit = f"A shows B {what}, {geo.inliers} inliers" if geo.confirmed else None
    near = pair is not None and pair["pdq"] <= HASHERS["pdq"].threshold
    view = (f"PDQ {pair['pdq']} on A's {_view_words(pair['a_view'])} ~ B's "
            f"{_view_words(pair['b_view'])}") if near else None
    if shot is not None and shot.kind == "scene" and res.verdict != "identical":
        res.verdict, res.decided_by = "same-scene", "geometry"
        res.headline = f"another shot of the same scene: {shot.reason}; {fit}"
        res.notes.append("not a copy: the pixels differ where depth, motion or light do")
        return geo
    if res.verdict in ("similar", "different") and (view or fit):
        res.verdict = "near-duplicate"
        res.decided_by = "views" if view else "geometry"
        res.notes.append(f"matched on views: A {pair['a_view']} ~ B {pair['b_view']} (PDQ "
                         f"{pair['pdq']})" if view else f"matched by local features: {fit}")
    elif res.verdict == "near-duplicate" and res.decided_by == "hashes" and fit:
        res.headline += f"; {fit}"
    if res.decided_by != "hashes":
        res.headline = ", ".join(x for x in (fit, view) if x)
        if shot is not None and shot.kind == "copy":
            res.headline += f"; {shot.reason}"
    return geo


def _shot(res: CompareResult, geo: Any) -> Any:
    """The copy-or-another-shot check after a confirmed fit (None without one)."""
    from osintkit.match.sameshot import compare as compare_pixels

    if not geo.confirmed or geo.homography is None or geo.sizes is None:
        return None
    try:
        from osintkit.match.hashing import load_image

        qa, qb = load_image(res.a, size=640), load_image(res.b, size=640)
        shot = compare_pixels(qa, geo.sizes[0], qb, geo.sizes[1], geo.homography)
    except Exception:  # a degenerate fit: no pixel verdict
        return None
    res.shot = shot.to_dict()
    return shot


def _view_words(name: str) -> str:
    if name in ("whole", "full"):
        return "whole picture"
    if name.startswith("content") and ":" not in name:
        return "content region (canvas removed)"
    return f"{name.split(':')[-1]} view"


def hash_headline(res: CompareResult, low: bool) -> str:
    from osintkit.match.hashing import PDQ_MIN_QUALITY

    d = res.distance
    parts = [f"PDQ {d['pdq']}" + ("" if res.transform in (None, "none")
                                   else f" ({res.transform})")]
    parts += [f"{k} {v}" for k, v in d.items() if k != "pdq"]
    return ("whole pictures: " + ", ".join(parts) +
            (f" (PDQ quality below {PDQ_MIN_QUALITY}: too little detail)" if low else ""))


def _to_file_pixels(box: list[int], img: Image.Image, path: Path) -> list[int]:
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        w = ImageOps.exif_transpose(im).width if im.getexif().get(0x0112, 1) > 1 else im.width
    return [round(c * w / img.width) for c in box]


