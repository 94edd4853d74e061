"""Archive stage, what a search reads: the packed index rows, exact digests, items, and
index hits turned into `Match` records.

`read_rows` builds the packed index (search.RowSet) from the database; `exact` looks
digests up in the items table; `near` builds one Match per archived item from its pairs
in the packed index (search.py), with every frame pair behind it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from osintkit.archive import store as st
from osintkit.archive.models import FrameMatch, Item, Match, match_of
from osintkit.errors import ArchiveError

if TYPE_CHECKING:  # numpy-backed: imported where used
    from osintkit.archive.search import Pair, QueryUnit, RowSet

ITEM_SQL = f"SELECT {', '.join(st.ITEM_COLUMNS)} FROM items"


def limits(max_distance: int | dict[str, int] | None) -> dict[str, int]:
    """Per-hash distance limits: the defaults, a PDQ limit (int) or per kind (dict)."""
    from osintkit.archive.search import DEFAULT_MAX

    out = dict(DEFAULT_MAX)
    if isinstance(max_distance, int):
        out["pdq"] = max_distance
    elif max_distance:
        unknown = set(max_distance) - set(out)
        if unknown:
            raise ArchiveError(f"unknown hash kind(s) in --max-distance: "
                               f"{', '.join(sorted(unknown))} (use {', '.join(out)})", code="usage")
        out.update({k: int(v) for k, v in max_distance.items()})
    return out


def exact(db: Any, result: Any) -> list[Match]:
    """Archived items with the query's sha256 or md5, oldest first."""
    conds, params = [], []
    for col in ("sha256", "md5"):
        if getattr(result, col, None):
            conds.append(f"{col} = ?")
            params.append(getattr(result, col))
    if not conds:
        return []
    rows = db.query(f"{ITEM_SQL} WHERE {' OR '.join(conds)} ORDER BY first_seen, id", params)
    out = []
    for row in rows:
        item = Item.from_row(row)
        dist = {k: 0 for k in ("pdq", "phash", "dhash") if k in item.hashes}
        out.append(match_of(item, {} if item.kind == "video" else dist, "none", "exact"))
    return out


def items(db: Any, ids: list[int]) -> dict[int, Item]:
    """id -> Item for these ids (those that exist)."""
    out: dict[int, Item] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ", ".join("?" * len(chunk))
        for row in db.query(f"{ITEM_SQL} WHERE id IN ({marks})", chunk):
            item = Item.from_row(row)
            out[item.id] = item
    return out


def distance(pair: Pair) -> dict[str, int]:
    """The hash distances of an index pair."""
    return {k: v for k, v in (("pdq", pair.pdq), ("phash", pair.phash)) if v is not None}


def frame_pairs(pairs: list[Pair], rows: RowSet, units: list[QueryUnit]) -> list[FrameMatch]:
    """Every frame pair behind a match, in query time order (none for image vs image)."""
    from osintkit.archive.search import row_t

    if all(units[p.unit].t is None and row_t(rows, p.row) is None for p in pairs):
        return []
    out = [FrameMatch(units[p.unit].t, row_t(rows, p.row), distance(p), p.transform)
           for p in pairs]
    return sorted(out, key=lambda f: (f.query_t or 0.0, f.item_t or 0.0))


def near(item: Item, pairs: list[Pair], rows: RowSet, units: list[QueryUnit]) -> Match:
    """The near Match of an item from its pairs (best first)."""
    from osintkit.archive.search import row_t

    best = pairs[0]
    m = match_of(item, distance(best), best.transform, "near", units[best.unit].t,
                 row_t(rows, best.row))
    m.frame_matches = frame_pairs(pairs, rows, units)
    m.query_view, m.query_region = units[best.unit].view, units[best.unit].region
    return m


def rank(m: Match) -> tuple:
    """Sort key of near matches: PDQ distance (pHash counted 4x), then oldest, then id."""
    d = m.distance.get("pdq")
    score = d if d is not None else 4 * m.distance.get("phash", 64)
    return (score, m.first_seen or "9999", m.item_id)


_ROWS_SQL = ("SELECT id, NULL, pdq, phash FROM items WHERE id > ? AND kind <> 'video' AND "
             "(pdq IS NOT NULL OR phash IS NOT NULL) "
             "UNION ALL SELECT item_id, t, pdq, phash FROM frames WHERE item_id > ? "
             "UNION ALL SELECT item_id, NULL, pdq, NULL FROM views WHERE item_id > ?")


def read_rows(db: Any, cur: Any, base: RowSet | None) -> tuple[str, RowSet]:
    """(stamp, index) read in one snapshot, appending to `base` when it is a prefix."""
    from osintkit.archive.search import RowSet

    ex = db.execute
    generation = ex(cur, "SELECT value FROM meta WHERE key = 'generation'").fetchone()[0]
    archive_id = ex(cur, "SELECT value FROM meta WHERE key = 'archive_id'").fetchone()[0]
    top, count = ex(cur, "SELECT COALESCE(MAX(id), 0), COUNT(*) FROM items").fetchone()
    now = (int(top), int(count))
    after = 0
    if base is not None and base.base[0] <= now[0]:
        kept = ex(cur, "SELECT COUNT(*) FROM items WHERE id <= ?", (base.base[0],)).fetchone()
        after = base.base[0] if int(kept[0]) == base.base[1] else 0  # nothing removed
    new = RowSet.from_rows(ex(cur, _ROWS_SQL, (after, after, after)).fetchall(), now)
    rows = base.extend(new, now) if after and base is not None else new
    return f"{archive_id}:{generation}", rows
