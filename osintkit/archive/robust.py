"""Archive stage, the robust search (the default): views, local-feature candidates,
geometric confirmation and the copy-or-another-shot decision.

    query picture ──► views (content region, sub-views) ──► hash index (search.py)
                 └──► ORB features ──► visual words ──► candidate index (bow.py)
    hash matches + candidates ──► fit on the stored features (geometry.py, local.py)
                              ──► pixels after the fit (sameshot.py): "near" or "scene"

The views and the geometry live in `osintkit/match/views.py`, `osintkit/match/geometry.py` and
`osintkit/match/sameshot.py`; this module only feeds them. `QueryPicture.of(img)` takes a
decoded picture, so a video frame (issue 15) goes through the same path as a photo.
Every step that was skipped or cut says so in `notes` (never a silent cap).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from osintkit.archive.local import full_size
from osintkit.archive.models import match_of
from osintkit.archive.search import QueryUnit, RowSet
from osintkit.match.hashing import HASHERS, PDQ_MIN_QUALITY, PDQ_NEAR

CANDIDATES = 8  # items the candidate index proposes for geometric confirmation
MAX_CONFIRM = 24  # fits per query at most (hash matches first): bounds the cost
STRONG_INLIERS = 45  # a fit this strong stands even when the pixels cannot be compared
# Another shot needs its matching points spread over >= 6% of the archived picture and
# either >= 25 of them or some pixels that agree (>= 4% of the blocks): chance fits
# between unrelated photos had 15-18 inliers, spread 0.1-7.2%, 0-2.3% of blocks agreeing;
# real other shots (stereo, viewpoint series) 23-158 inliers over 6.6-25%, and those
# under 25 inliers had 5-22% of blocks agreeing (measured, docs/robust-matching.md).
SCENE_MIN_SPREAD = 0.06
SCENE_MIN_INLIERS = 25
SCENE_MIN_AGREE = 0.04
# The no-lone-weak-hash rule (docs/matching.md, measured in bench_hash.py:
# edited copies keep PDQ <= 64 and dHash <= 10; different photos sit at PDQ >= 90).
# PDQ quality below PDQ's floor (HASHERS) on either side: no hash stands alone.
PHASH_MAX_PDQ = 70  # a pHash-only match needs PDQ not to disagree beyond this ...
PHASH_MAX_DHASH = 16  # ... and dHash to agree within this


@dataclass
class QueryPicture:
    """A decoded query picture with what the robust search needs of it."""

    image: Any  # PIL RGB, reduced (longer side >= localfeat.WORK_SIZE when available)
    size: tuple[int, int]  # the query's own full pixels (boxes are reported in these)
    features: Any = None  # geometry.Features, points in `size` pixels
    mirrored: Any = None  # the same, of the mirror image
    words: list[np.ndarray] = field(default_factory=list)
    regions: list[tuple[int, int, int, int]] = field(default_factory=list)  # in `image`

    @classmethod
    def of(cls, img: Any, size: tuple[int, int] | None = None,
           regions: list[tuple[int, int, int, int]] | None = None) -> QueryPicture:
        """From a decoded picture (a photo, a video frame). `size`: the full size of the
        picture `img` was reduced from (default: img's own). `regions`: content regions
        already known (in `img` pixels: a video's box, archive/videomatch.py), searched first."""
        from osintkit.match.geometry import Features
        from osintkit.match.hashing import to_rgb
        from osintkit.match.localfeat import QUERY_FEATURES, detect, rescale, words
        from osintkit.match.views import content_regions, crop

        img = to_rgb(img)
        full = size or img.size
        ratio = full[0] / img.width
        qp = cls(img, full)
        # a picture inside a canvas (a screenshot's UI, padding): its features are also
        # found on the region itself, at full working size, where they match in scale
        found = content_regions(img)
        qp.regions = list(regions or []) + [r for r in found if r not in (regions or [])]
        region = qp.regions[0] if qp.regions else None
        parts = [((0, 0), img)] + ([(region[:2], crop(img, region))] if region else [])
        feats = []
        for mirrored in (False, True):
            pts_all, desc_all = [], []
            for (ox, oy), part in parts:
                pts, desc = detect(part, QUERY_FEATURES, mirrored=mirrored)
                if mirrored:  # mirrored points: in the mirror image of the whole picture
                    ox = img.width - ox - part.width
                pts_all.append(pts + np.array([ox, oy], np.float32))
                desc_all.append(desc)
            pts, desc = np.concatenate(pts_all), np.concatenate(desc_all)
            feats.append(Features(rescale(pts, ratio), desc if len(desc) else None, full,
                                  "orb"))
            qp.words.append(words(desc).astype(np.int64))
        qp.features, qp.mirrored = feats
        return qp


def query_picture(result: Any) -> QueryPicture | None:
    """The QueryPicture of an image HashResult with a readable file, else None."""
    from osintkit.match.hashing import load_image
    from osintkit.match.keypoints import WORK_SIZE

    if getattr(result, "kind", None) != "image" or getattr(result, "frames", None):
        return None
    path = getattr(result, "path", None)
    if path is None or not Path(path).is_file():
        return None
    try:
        img = load_image(path, size=WORK_SIZE * 3 // 4)
    except Exception:
        return None
    return QueryPicture.of(img, full_size(Path(path), img))


def view_units(qp: QueryPicture | None) -> list[QueryUnit]:
    """Query units for the views of a picture (the whole picture is already a unit),
    regions in the query's own pixels."""
    from osintkit.match.views import hash_views, query_views

    if qp is None:
        return []
    ratio = qp.size[0] / qp.image.width
    units = []
    for v in hash_views(query_views(qp.image, regions=qp.regions)):
        if v.name == "full":
            continue
        region = tuple(round(c * ratio) for c in v.box)
        units.append(QueryUnit(None, v.pdq, None, view=v.name, region=region))
    return units


# ---------------------------------------------------------------- hashes alone
def hash_trust(m: Any, query_hashes: dict[str, Any], item: Any) -> tuple[bool, str]:
    """May this hash match stand without geometric confirmation? (No lone weak hash.)

    PDQ within its threshold stands when both pictures have PDQ quality at or above
    PDQ's floor (`PDQ_MIN_QUALITY`: enough detail for PDQ to mean something). A
    pHash-only match also needs PDQ not to disagree strongly (<= 70 bits) and dHash to
    agree (<= 16 bits): pHash alone matched a moon on black to a sunset silhouette.
    Sub-views are only indexed above the same floor."""
    floor = PDQ_MIN_QUALITY

    def quality(hashes: dict[str, Any]) -> int | None:
        q = hashes.get("pdq_quality")
        return None if q is None else int(q)

    qq = quality(query_hashes) if m.query_view is None else None
    iq = quality(getattr(item, "hashes", {}) or {}) if m.item_view is None else None
    low = (qq is not None and qq < floor) or (iq is not None and iq < floor)
    pdq, phash = m.distance.get("pdq"), m.distance.get("phash")
    if pdq is not None and pdq <= PDQ_NEAR:
        return (False, f"PDQ quality below {floor}: too little detail to trust") if low else \
            (True, f"PDQ {pdq}")
    if phash is None:
        return False, "no hash within its threshold"
    if low:
        return False, f"pHash only, PDQ quality below {floor}: too little detail to trust"
    if pdq is not None and pdq > PHASH_MAX_PDQ:
        return False, f"pHash only, PDQ disagrees ({pdq} bits)"
    qd, idh = query_hashes.get("dhash"), (getattr(item, "hashes", {}) or {}).get("dhash")
    if qd and idh:
        d = HASHERS["dhash"].distance(str(qd), str(idh))
        if d > PHASH_MAX_DHASH:
            return False, f"pHash only, dHash disagrees ({d} bits)"
    return True, f"pHash {phash}" + (f", PDQ {pdq}" if pdq is not None else "")


# ---------------------------------------------------------------- geometry + pixels
MIRRORING = {"mirror", "flip", "transpose", "transverse"}  # dihedral transforms with a flip
OTHER_SIDE = 0.7  # the other orientation is fitted too when its vote is this close


def confirm(qp: QueryPicture, lp: Any, mirrored: bool | None = None,
            either: bool = True) -> tuple[Any, Any]:
    """(Geometry, ShotCheck or None) of the query against stored local features.
    `mirrored`: the orientation to fit first (None: both as geometry decides); with
    `either`, the other one too when the first does not confirm."""
    from osintkit.match import geometry, sameshot

    feats = lp.features()
    geo = geometry.match_features(qp.features, qp.mirrored, feats, mirrored_only=mirrored)
    if mirrored is not None and either and not geo.confirmed:
        other = geometry.match_features(qp.features, qp.mirrored, feats,
                                        mirrored_only=not mirrored)
        geo = other if other.inliers > geo.inliers else geo
    if not geo.confirmed or geo.homography is None:
        return geo, None
    thumb = lp.thumb_image()
    if thumb is None:
        return geo, None
    try:
        shot = sameshot.compare(qp.image, qp.size, thumb, lp.size, geo.homography)
    except Exception:  # numerically degenerate fit: no pixel verdict
        shot = None
    return geo, shot


def kind_of(geo: Any, shot: Any) -> str | None:
    """"near" (a copy), "scene" (another shot) or None (no verdict) after a fit."""
    if geo is None or not geo.confirmed:
        return None
    if shot is not None and shot.kind == "copy":
        return "near"
    if shot is not None and shot.kind == "scene":
        supported = geo.inliers >= SCENE_MIN_INLIERS or shot.agree >= SCENE_MIN_AGREE
        return "scene" if geo.spread >= SCENE_MIN_SPREAD and supported else None
    return "near" if geo.inliers >= STRONG_INLIERS else None


def apply(m: Any, geo: Any, shot: Any) -> None:
    """Attach the fit and the pixel check to a match."""
    if geo is None:
        return
    m.geometry = geo.to_dict()
    if shot is not None:
        m.shot = shot.to_dict()
    if geo.confirmed and m.query_region is None and geo.query_region is not None:
        m.query_region = tuple(geo.query_region)


def run(archive: Any, result: Any, qp: QueryPicture, hash_matches: list[Any],
        exclude: set[int], k: int = CANDIDATES) -> tuple[list[Any], list[str]]:
    """The robust stage: hash matches judged (lone weak hashes need a fit), candidates
    from the word index confirmed, every fit classified copy/scene. Returns (near and
    scene matches, notes)."""
    notes: list[str] = []
    cands = archive.words().query(qp.words, k,
                                  exclude=exclude | {m.item_id for m in hash_matches})
    todo = [m.item_id for m in hash_matches] + [c.item_id for c in cands]
    if len(todo) > MAX_CONFIRM:
        notes.append(f"{len(todo) - MAX_CONFIRM} candidate(s) not confirmed geometrically "
                     f"(at most {MAX_CONFIRM} fits per query)")
        todo = todo[:MAX_CONFIRM]
    stored = archive.local_features(todo)
    # one orientation per candidate when the evidence says which: a hash match's
    # transform, the candidate index's votes (the other only when its vote is close)
    hint = {m.item_id: (m.transform in MIRRORING, True) for m in hash_matches}
    for c in cands:
        if len(c.scores) == 2:
            side = c.best_set == 1
            hint[c.item_id] = (side, c.scores[int(not side)] >= OTHER_SIDE * c.score)
    fits = {i: confirm(qp, stored[i], *hint.get(i, (None, True))) for i in todo if i in stored}
    out = _judge_hashes(archive, result, hash_matches, fits) + \
        _judge_candidates(archive, [c.item_id for c in cands], fits)
    for m in out:
        if m.item_id in stored:
            m.thumb_jpeg = stored[m.item_id].thumb or None
    near = sorted((m for m in out if m.match == "near"), key=_rank)
    scene = sorted((m for m in out if m.match == "scene"), key=_rank)
    return near + scene, notes + coverage_notes(archive)


def _judge_hashes(archive: Any, result: Any, matches: list[Any],
                  fits: dict[int, tuple[Any, Any]]) -> list[Any]:
    """Hash matches after their fit: the pixels decide copy/scene; without a fit a hash
    match stands only when `hash_trust` says so."""
    qh = getattr(result, "hashes", None) or {}
    items = archive.items([m.item_id for m in matches])
    out = []
    for m in matches:
        ok, why = hash_trust(m, qh, items.get(m.item_id))
        geo, shot = fits.get(m.item_id, (None, None))
        kind = kind_of(geo, shot)
        apply(m, geo, shot)
        m.basis = "hashes" if kind is None else "hashes+geometry"
        if kind is not None:
            m.match = kind
        elif not ok:
            continue  # a lone weak hash: dropped
        m.evidence_note = why
        out.append(m)
    return out


def _judge_candidates(archive: Any, ids: list[int],
                      fits: dict[int, tuple[Any, Any]]) -> list[Any]:
    """Candidates of the word index that a fit confirms: copies and other shots."""
    keep = {i: kind_of(*fits[i]) for i in ids if i in fits}
    keep = {i: kind for i, kind in keep.items() if kind is not None}
    items = archive.items(list(keep))
    out = []
    for item_id, kind in keep.items():
        item = items.get(item_id)
        if item is None or item.kind != "image":
            continue
        geo, shot = fits[item_id]
        m = match_of(item, {}, "mirror" if geo.mirrored else "none", kind, None, None)
        apply(m, geo, shot)
        m.basis = "geometry"
        out.append(m)
    return out


def _rank(m: Any) -> tuple:
    geo = m.geometry or {}
    d = m.distance.get("pdq")
    return (0 if d is not None and d <= PDQ_NEAR else 1, -(geo.get("inliers") or 0),
            d if d is not None else 256, m.item_id)


def coverage_notes(archive: Any) -> list[str]:
    """Archived images that cannot be confirmed geometrically, said once per search."""
    counts = archive.local_counts()
    out = []
    if counts.get("pending"):
        out.append(f"{counts['pending']} archived image(s) have no local features yet "
                   "(added before schema v6): found by hashes only until "
                   "`osintkit archive backfill` runs")
    lost = counts.get("missing", 0) + counts.get("changed", 0)
    if lost:
        out.append(f"{lost} archived image(s) had no readable original file when their "
                   "local features were made: found by hashes only")
    return out


# ---------------------------------------------------------------- add time
@dataclass
class IndexExtras:
    """What the index keeps of a new item beside its hashes: sub-view hashes (views.py
    ViewHashes, or an import's records) and local features (archive/local.py Local)."""

    views: list[Any] = field(default_factory=list)
    local: Any = None


def index_extras(res: Any) -> IndexExtras:
    """The sub-view hashes and local features of a freshly hashed image (decoded once).
    A record that brings its own views (an import) keeps them; anything else gets none."""
    from osintkit.archive.local import extract
    from osintkit.match.hashfile import HashResult
    from osintkit.match.hashing import load_image
    from osintkit.match.keypoints import WORK_SIZE
    from osintkit.match.views import archive_view_hashes

    if not isinstance(res, HashResult):
        return IndexExtras(list(getattr(res, "view_hashes", None) or []))
    out = IndexExtras()
    if res.kind != "image":
        return out
    try:
        img = load_image(res.path, size=WORK_SIZE * 3 // 4)
        out.views = archive_view_hashes(img)
        out.local = extract(img, full_size(Path(res.path), img))
    except Exception:  # the whole-picture hashes are already there; the rest is a bonus
        pass
    return out


def insert_rows(db: Any, cur: Any, item_id: int, extras: IndexExtras) -> None:
    """Write the sub-view hashes and local features of a new item (same transaction)."""
    from osintkit.archive.local import insert

    if views := view_rows(item_id, extras.views):
        cur.executemany(db.sql("INSERT INTO views (item_id, view, pdq, pdq_quality) "
                               "VALUES (?, ?, ?, ?)"), views)
    if extras.local is not None:
        insert(db, cur, item_id, extras.local)


def view_rows(item_id: int, views: list[Any]) -> list[tuple[int, str, str, int]]:
    """(item_id, view, pdq, quality) rows for the views table."""
    return [(item_id, v.name, v.pdq["none"], v.quality) for v in views]


def item_view(db: Any, item_id: int, item_pdq: str | None, row_pdq: str) -> str | None:
    """Name of the archived sub-view a row holds (None: the whole picture)."""
    if row_pdq == item_pdq:
        return None
    rows = db.query("SELECT view FROM views WHERE item_id = ? AND pdq = ?", (item_id, row_pdq))
    return rows[0][0] if rows else None


def annotate(db: Any, matches: list[Any], rows: RowSet, best_rows: dict[int, int]) -> None:
    """Name the archived sub-view behind each near match (`Match.item_view`)."""
    for m in matches:
        row = best_rows.get(m.item_id)
        if m.match != "near" or row is None or not rows.has_pdq[row] or m.query_t is not None:
            continue
        pdq = rows.pdq[row].tobytes().hex()
        got = db.query("SELECT pdq FROM items WHERE id = ?", (m.item_id,))
        m.item_view = item_view(db, m.item_id, got[0][0] if got else None, pdq)


def _whole_view(name: str | None) -> bool:
    """The whole query or one of its content regions (not a sub-view)."""
    return name is None or (name.startswith("content") and ":" not in name)


def prefer_simple(by_item: dict[int, list[Any]], units: list[QueryUnit], max_pdq: int) -> None:
    """Among an item's PDQ matches, put the simplest explanation first: the whole query
    or its content region before its sub-views (pHash-only pairs stay behind them)."""
    def rank(pair: Any) -> tuple[bool, bool]:
        return (pair.pdq is None or pair.pdq > max_pdq,
                not _whole_view(units[pair.unit].view))

    for pairs in by_item.values():
        pairs.sort(key=rank)  # stable: the distance order stays within each rank
