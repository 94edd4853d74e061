"""Archive stage, what confirmation needs kept in the archive itself (schema v6 `local`
table): packed ORB features, visual words and a small thumbnail per archived image
(osintkit/match/localfeat.py). The robust search never reads an archived file: it works the same
when the files moved, on a colleague's PostgreSQL archive, or for a copied database.

Measured choice (docs/robust-matching.md, "Confirmation without the original
files"): features in the
database (~14 KB + ~2 KB of words + a ~15 KB thumbnail per image) rather than a working
copy of each picture beside it: re-extracting features from a stored picture costs
~15 ms per candidate, reading them ~0.1 ms, and a database row travels with the archive
on both engines.

Items added before v6 are backfilled from their files (`backfill`): the file at `origin`
is read only when its sha256 is still the archived one. Otherwise the item gets a row
with status `missing` (no readable file) or `changed` (another file there now): it keeps
matching by its hashes and views, and searches say how many such items there are
(`robust.notes`). `osintkit archive backfill --retry` tries them again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from osintkit.archive.store import status_counts
from osintkit.match.localfeat import LocalPicture, pack, unpack, word_set

AUTO_BACKFILL = 200  # opening an archive backfills at most this many pending items itself
BATCH = 16


@dataclass
class Local:
    """What `extract` made of one picture for the `local` table."""

    status: str  # ok | empty | missing | changed
    picture: LocalPicture | None = None
    words: bytes = b""


def extract(img: Any, size: tuple[int, int] | None = None) -> Local:
    """Features, words and thumbnail of a decoded RGB picture (`size`: its full size)."""
    lp = LocalPicture.of(img, size=size)
    if not len(lp.descriptors):
        return Local("empty", lp, b"")
    return Local("ok", lp, word_set(lp.descriptors))


def extract_file(path: str | Path) -> Local:
    """As `extract`, for an image file (decoded once, reduced, EXIF-oriented)."""
    from osintkit.match.hashing import load_image
    from osintkit.match.keypoints import WORK_SIZE

    img = load_image(path, size=WORK_SIZE * 3 // 4)
    return extract(img, full_size(Path(path), img))


def full_size(path: Path, img: Any) -> tuple[int, int]:
    """The full, EXIF-oriented size of the picture `img` was reduced from (img's own
    size when the file cannot tell)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            o = im.getexif().get(0x0112, 1)
            return (im.height, im.width) if o in (5, 6, 7, 8) else im.size
    except Exception:
        return img.size


def insert(db: Any, cur: Any, item_id: int, local: Local) -> None:
    """Write (or replace) the row of one item, inside the caller's transaction."""
    lp = local.picture
    values = (local.status, pack(lp) if lp is not None and local.status in ("ok", "empty")
              else None, local.words or None, lp.thumb if lp is not None and lp.thumb else None)
    db.execute(cur, "DELETE FROM local WHERE item_id = ?", (item_id,))
    db.execute(cur, "INSERT INTO local (item_id, status, features, words, thumb) "
                    "VALUES (?, ?, ?, ?, ?)", (item_id, *values))


def load(db: Any, ids: Iterable[int]) -> dict[int, LocalPicture]:
    """Stored features and thumbnails of these items (those with status ok)."""
    ids = [int(i) for i in ids]
    out: dict[int, LocalPicture] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ", ".join("?" * len(chunk))
        for item_id, feats, thumb in db.query(
                f"SELECT item_id, features, thumb FROM local WHERE status = 'ok' "
                f"AND item_id IN ({marks})", chunk):
            try:
                out[int(item_id)] = unpack(bytes(feats), bytes(thumb) if thumb else b"")
            except (ValueError, TypeError):
                continue  # a row of another format: that item is confirmed by hashes only
    return out


def thumb(db: Any, item_id: int) -> bytes | None:
    """The stored thumbnail (JPEG) of an item, if any."""
    rows = db.query("SELECT thumb FROM local WHERE item_id = ?", (int(item_id),))
    return bytes(rows[0][0]) if rows and rows[0][0] else None


def word_rows(db: Any, cur: Any, after: int) -> tuple[list[int], list[np.ndarray]]:
    """(item ids, word arrays) of the ok rows with item_id > after, by item id."""
    ids, words = [], []
    for item_id, blob in db.execute(cur, "SELECT item_id, words FROM local WHERE status = 'ok'"
                                         " AND item_id > ? ORDER BY item_id", (after,)):
        ids.append(int(item_id))
        words.append(np.frombuffer(bytes(blob or b""), dtype="<u2"))
    return ids, words


def counts(db: Any) -> dict[str, int]:
    """Archived images by local-feature status (`pending`: no row yet)."""
    return status_counts(db, "local", "image")


@dataclass
class BackfillReport:
    """What `backfill` did, per status."""

    done: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"done": self.done, "errors": self.errors[:20]}


def _compute(item_id: int, origin: str | None, sha256: str | None) -> tuple[int, Local]:
    from osintkit.match.hashfile import file_digests

    path = Path(origin) if origin and "://" not in str(origin) else None
    if path is None or not path.is_file():
        return item_id, Local("missing")
    try:
        if sha256 and file_digests(path)[0] != sha256:
            return item_id, Local("changed")
        return item_id, extract_file(path)
    except Exception:
        return item_id, Local("missing")


def _compute_args(args: tuple[int, str | None, str | None]) -> tuple[int, Local]:
    return _compute(*args)


def backfill(archive: Any, retry: bool = False, limit: int | None = None, jobs: int = 1,
             progress: Callable[[int, str], None] | None = None) -> BackfillReport:
    """Give every archived image without a `local` row one (from its file, when the
    file is still the archived one). `retry`: also items marked missing/changed.
    Resumable: each batch is committed; a killed run keeps what it wrote."""
    db = archive.db
    cond = "NOT EXISTS (SELECT 1 FROM local l WHERE l.item_id = i.id)"
    if retry:
        cond = f"({cond} OR EXISTS (SELECT 1 FROM local l WHERE l.item_id = i.id AND " \
               "l.status IN ('missing', 'changed')))"
    report = BackfillReport()
    last, seen = 0, 0
    pool = None
    if jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(max_workers=jobs)
    try:
        while limit is None or seen < limit:
            take = BATCH if limit is None else min(BATCH, limit - seen)
            rows = db.query(f"SELECT i.id, i.origin, i.sha256 FROM items i WHERE i.kind = "
                            f"'image' AND i.id > ? AND {cond} ORDER BY i.id LIMIT {take}",
                            (last,))
            if not rows:
                break
            last = int(rows[-1][0])
            seen += len(rows)
            args = [(int(r[0]), r[1], r[2]) for r in rows]
            got = list(pool.map(_compute_args, args)) if pool else [_compute(*a) for a in args]

            def write(cur: Any, got: list[tuple[int, Local]] = got) -> None:
                for item_id, local in got:
                    insert(db, cur, item_id, local)
                db.bump(cur)
            db.write(write)
            for item_id, local in got:
                report.done[local.status] = report.done.get(local.status, 0) + 1
                if progress:
                    progress(item_id, local.status)
    finally:
        if pool is not None:
            pool.shutdown()
    return report
