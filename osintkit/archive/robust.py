"""Archive stage, robust matching glue: sub-view rows at add time, query views and the
deep (geometric) search at search time. The views and the geometry live in
`osintkit/views.py` and `osintkit/geometry.py`; this module only feeds them to the index.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from osintkit.archive.search import QueryUnit, RowSet

# ~30,000 images (~1 s per query with faiss; a tenth without): beyond, PDQ ranks alone
MAX_VOTE_ROWS = 2_000_000
DEEP_CANDIDATES = 16  # items checked with local features by `search(deep=True)`


def attach_views(res: Any) -> None:
    """Give a freshly hashed image its sub-view hashes (`res.view_hashes`), for the index.
    Anything that is not a readable image file gets none (and keeps its other rows)."""
    from osintkit.geometry import signature
    from osintkit.hashing import HashResult
    from osintkit.views import archive_view_hashes, load_view_image

    if not isinstance(res, HashResult) or res.kind != "image" or hasattr(res, "view_hashes"):
        return
    res.view_hashes, res.orb_signature = [], b""
    try:
        img = load_view_image(res.path)
        res.view_hashes = archive_view_hashes(img)
        res.orb_signature = signature(img)
    except Exception:  # the whole-picture hashes are already there; views are a bonus
        pass


def insert_rows(db: Any, cur: Any, item_id: int, res: Any) -> None:
    """Write the sub-view hashes and the ORB signature of a new item (same transaction)."""
    if views := view_rows(item_id, res):
        cur.executemany(db.sql("INSERT INTO views (item_id, view, pdq, pdq_quality) "
                               "VALUES (?, ?, ?, ?)"), views)
    if sig := getattr(res, "orb_signature", b""):
        db.execute(cur, "INSERT INTO features (item_id, orb) VALUES (?, ?)",
                   (item_id, sig.hex()))


def view_rows(item_id: int, res: Any) -> list[tuple[int, str, str, int]]:
    """(item_id, view, pdq, quality) rows for the views table."""
    return [(item_id, v.name, v.pdq["none"], v.quality)
            for v in getattr(res, "view_hashes", None) or []]


def query_image(result: Any) -> Any:
    """The query picture decoded for views, or None (video, hash-only, unreadable)."""
    from osintkit.views import load_view_image

    if getattr(result, "kind", None) != "image" or getattr(result, "frames", None):
        return None
    path = getattr(result, "path", None)
    if path is None or not Path(path).is_file():
        return None
    try:
        return load_view_image(path)
    except Exception:
        return None


def view_units(result: Any, img: Any) -> list[QueryUnit]:
    """Query units for the views of an image query (the whole picture is already a unit).

    Regions are reported in the query file's own pixels.
    """
    from osintkit.views import hash_views, query_views

    if img is None:
        return []
    full_w = getattr(result, "width", None) or img.width
    ratio = _full_size(result, img)[0] / img.width if full_w else 1.0
    units = []
    for v in hash_views(query_views(img)):
        if v.name == "full":
            continue
        region = tuple(round(c * ratio) for c in v.box)
        units.append(QueryUnit(None, v.pdq, None, view=v.name, region=region))
    return units


def _full_size(result: Any, img: Any) -> tuple[int, int]:
    from PIL import Image

    try:
        with Image.open(result.path) as im:
            o = im.getexif().get(0x0112, 1)
            return (im.height, im.width) if o in (5, 6, 7, 8) else im.size
    except Exception:
        return img.size


def item_view(db: Any, item_id: int, item_pdq: str | None, row_pdq: str) -> str | None:
    """Name of the archived sub-view a row holds (None: the whole picture)."""
    if row_pdq == item_pdq:
        return None
    rows = db.query("SELECT view FROM views WHERE item_id = ? AND pdq = ?", (item_id, row_pdq))
    return rows[0][0] if rows else None


def nearest_items(rows: RowSet, units: list[QueryUnit], k: int) -> list[int]:
    """The k item ids nearest to any query unit (best PDQ over units, transforms, rows):
    the bounded candidate set of the deep search."""
    hexes = [h for u in units for h in u.pdq.values()]
    if not hexes or not len(rows.pdq_rows):
        return []
    from osintkit.archive.index import pack_hex

    q = pack_hex(hexes, 32).view("<u8")
    codes = rows.pdq[rows.pdq_rows].view("<u8")
    best = np.full(len(codes), 256, dtype=np.int64)
    for qw in q:
        d = np.bitwise_count(codes ^ qw[None, :]).sum(axis=1, dtype=np.int64)
        np.minimum(best, d, out=best)
    items = rows.item[rows.pdq_rows]
    order = np.argsort(best, kind="stable")
    out: list[int] = []
    for r in order:
        i = int(items[r])
        if i not in out:
            out.append(i)
            if len(out) == k:
                break
    return out


def query_features(result: Any, img: Any) -> tuple[Any, Any, float]:
    """Local features of the query (and of its mirror image), and file pixels per pixel."""
    from osintkit import geometry

    if img is None:
        return None, None, 1.0
    return (geometry.cached_features(result.path),
            geometry.cached_features(result.path, mirrored=True), 1.0)


def confirm(qf: tuple[Any, Any, float], origin: str | None) -> Any:
    """Geometry of the query against an archived file (None when the file is gone)."""
    from osintkit import geometry

    if not origin or not Path(origin).is_file():
        return None
    try:
        orig = geometry.cached_features(origin)
    except Exception:
        return None
    geo = geometry.match_features(qf[0], qf[1], orig)
    if geo.query_region is not None:
        geo.query_region = tuple(round(c * qf[2]) for c in geo.query_region)
    return geo


def annotate(db: Any, matches: list[Any], rows: RowSet, best_rows: dict[int, int]) -> None:
    """Name the archived sub-view behind each near match (`Match.item_view`)."""
    for m in matches:
        row = best_rows.get(m.item_id)
        if m.match != "near" or row is None or not rows.has_pdq[row] or m.query_t is not None:
            continue
        pdq = rows.pdq[row].tobytes().hex()
        got = db.query("SELECT pdq FROM items WHERE id = ?", (m.item_id,))
        m.item_view = item_view(db, m.item_id, got[0][0] if got else None, pdq)


def deep(archive: Any, result: Any, img: Any, rows: RowSet, units: list[QueryUnit],
         matches: list[Any], k: int = DEEP_CANDIDATES) -> list[Any]:
    """Geometric search: confirm the hash matches with local features, then check the k
    items nearest by PDQ over all views (a bounded candidate set) and add those whose
    archived file confirms geometrically. Returns the near matches, best first."""
    from osintkit.archive.core import _match

    qf = query_features(result, img)
    near = [m for m in matches if m.match == "near"]
    known = {m.item_id for m in matches}
    for m in near:
        _apply(m, confirm(qf, _origin(archive, m.item_id)))
    voted = _voted(archive, img, k)
    todo = [i for i in dict.fromkeys(voted + nearest_items(rows, units, k)) if i not in known]
    found = []
    for item in archive._items(todo).values():
        if item.kind != "image":
            continue
        geo = confirm(qf, item.origin)
        if geo is None or not geo.confirmed:
            continue
        m = _match(item, {}, "mirror" if geo.mirrored else "none", "near", None, None)
        _apply(m, geo)
        found.append(m)
    found.sort(key=lambda m: -m.geometry["inliers"])
    return near + found


def signatures(archive: Any) -> tuple[np.ndarray, np.ndarray]:
    """All archived ORB signatures as (rows x 32 bytes, item id per row), cached on the
    archive object until its content changes."""
    stamp = archive.stamp()
    cached = getattr(archive, "_signatures", None)
    if cached is not None and cached[0] == stamp:
        return cached[1], cached[2]
    owners, chunks = [], []
    for item_id, orb in archive.db.query("SELECT item_id, orb FROM features"):
        raw = bytes.fromhex(orb)
        chunks.append(raw)
        owners.extend([int(item_id)] * (len(raw) // 32))
    sigs = np.frombuffer(b"".join(chunks), dtype=np.uint8).reshape(-1, 32)
    archive._signatures = (stamp, sigs, np.asarray(owners, dtype=np.int64))
    return sigs, archive._signatures[2]


def _voted(archive: Any, img: Any, k: int) -> list[int]:
    """Candidates by ORB votes (up to MAX_VOTE_ROWS signature rows; beyond, PDQ only)."""
    import importlib.util

    from osintkit.geometry import vote

    sigs, owners = signatures(archive)
    cap = MAX_VOTE_ROWS if importlib.util.find_spec("faiss") else MAX_VOTE_ROWS // 10
    if not len(sigs) or len(sigs) > cap:
        return []
    return vote(img, sigs, owners, k)


def _origin(archive: Any, item_id: int) -> str | None:
    rows = archive.db.query("SELECT origin, kind FROM items WHERE id = ?", (item_id,))
    return rows[0][0] if rows and rows[0][1] == "image" else None


def _apply(m: Any, geo: Any) -> None:
    if geo is None:
        return
    m.geometry = geo.to_dict()
    if geo.confirmed and m.query_region is None and geo.query_region is not None:
        m.query_region = geo.query_region


def prefer_simple(by_item: dict[int, list[Any]], units: list[QueryUnit], max_pdq: int) -> None:
    """Among an item's PDQ matches, put the simplest explanation first: the whole query
    or its content region before its sub-views (pHash-only pairs stay behind them)."""
    def rank(pair: Any) -> tuple[bool, bool]:
        return (pair.pdq is None or pair.pdq > max_pdq,
                units[pair.unit].view not in (None, "content", "trimmed"))

    for pairs in by_item.values():
        pairs.sort(key=rank)  # stable: the distance order stays within each rank
