"""Archive stage, what an archived video keeps for robust matching (schema v7): per shot
the local features, visual words and thumbnail of the frame that represents it (table
`shots`), per video a small grey thumbnail of every sampled frame (table `strips`).

Why this and not features of every frame (docs/video.md, measured): a shot's frames
look alike, so one set of 400 ORB features per shot (media/videopixels.py: a cut, a
drift of 96 PDQ bits or 8 s start a new one) finds a cropped, zoomed or screen-recorded
copy as well as the features of every frame would, at ~1/6 of the storage of a frame
every second. Where in the shot the copy starts is then told by the strip: 64-pixel-wide
grey thumbnails (~1.5 KB per frame compressed) that the query's frames are warped onto
(match/videoalign.py). Like images' `local` rows (archive/local.py), everything lives in the
database: matching never reads an archived file.

The candidate index of shots (`shot_words`) is the same inverted file as images'
(archive/bow.py), rows being shot ids, cached next to the hash index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from osintkit.archive.store import status_counts

STRIP_W = 64  # width of an archived frame's grey thumbnail (height: the video's aspect)
SHOT_THUMB = 320  # longer side of a shot's stored thumbnail (as localfeat.THUMB_SIZE)


@dataclass
class Strip:
    """Every sampled frame of one video as a small grey thumbnail."""

    times: np.ndarray  # (n,) float32 seconds
    thumbs: np.ndarray  # (n, h, STRIP_W) uint8
    size: tuple[int, int]  # (width, height) of the frames the thumbnails were made from


@dataclass
class ShotRow:
    """One shot of an archived video: its span and its representative's features."""

    t: float  # the representative frame
    t0: float
    t1: float
    picture: Any  # localfeat.LocalPicture (points in the frame's own pixels, thumbnail)
    words: bytes = b""
    id: int | None = None
    item_id: int | None = None


@dataclass
class VideoLocal:
    """What `extract` made of one video for the `shots` and `strips` tables."""

    status: str  # ok | empty | missing | changed
    shots: list[ShotRow] = field(default_factory=list)
    strip: Strip | None = None


def extract(pixels: Any) -> VideoLocal:
    """Shots and strip of a video's kept pixels (media/videopixels.VideoPixels)."""
    from osintkit.match.localfeat import LocalPicture, word_set

    if pixels is None or not len(pixels):
        return VideoLocal("empty")
    spans = pixels.shots()
    rows = []
    for k, span in enumerate(spans):
        lp = LocalPicture.of(pixels.image(span.rep), size=pixels.size)
        words = word_set(lp.descriptors) if len(lp.descriptors) else b""
        rows.append(ShotRow(pixels.frames[span.rep].t, pixels.frames[span.first].t,
                            pixels.shot_end(spans, k), lp, words))
    return VideoLocal("ok", rows, strip_of(pixels))


def strip_of(pixels: Any) -> Strip:
    """The strip of a video's kept pixels: its dense thumbnails (every reference frame,
    `VideoPixels.dense`), else its sampled frames' thumbnails shrunk."""
    from PIL import Image

    if pixels.strip:
        w = pixels.strip[0].shape[1]
        same = [(t, g) for t, g in zip(pixels.strip_t, pixels.strip, strict=True)
                if g.shape == pixels.strip[0].shape and w == STRIP_W]
        if same:
            return Strip(np.asarray([t for t, _ in same], np.float32),
                         np.stack([g for _, g in same]), pixels.size)
    thumbs = pixels.thumbs()
    h = max(1, round(STRIP_W * thumbs.shape[1] / thumbs.shape[2]))
    small = np.stack([np.asarray(Image.fromarray(t).resize((STRIP_W, h), Image.Resampling.BOX))
                      for t in thumbs]) if len(thumbs) else np.zeros((0, h, STRIP_W), np.uint8)
    return Strip(np.asarray(pixels.times, np.float32), small, pixels.size)


# ---------------------------------------------------------------- storage
def attach(res: Any) -> None:
    """Give a freshly hashed video its shots and strip (`res.video_local`), from the
    pixels kept while hashing, else from its file decoded again. Drops the pixels."""
    from osintkit.match.hashfile import HashResult

    if not isinstance(res, HashResult) or res.kind != "video" or hasattr(res, "video_local"):
        return
    res.video_local = None
    try:
        pixels = res.pixels if res.pixels is not None else _decode(Path(res.path))
        res.video_local = extract(pixels)
    except Exception:  # the frame hashes are already there; the rest is a bonus
        res.video_local = None
    res.pixels = None


def _decode(path: Path) -> Any:
    from osintkit.match.hashfile import hash_file

    got = hash_file(path, kinds=("pdq",), pixels="archive")
    if got.pixels is None or not len(got.pixels):
        raise ValueError(f"{path}: no frame could be decoded")
    return got.pixels


def insert(db: Any, cur: Any, item_id: int, vl: VideoLocal) -> None:
    """Write (or replace) the rows of one video, inside the caller's transaction."""
    from osintkit.match.localfeat import pack

    db.execute(cur, "DELETE FROM shots WHERE item_id = ?", (item_id,))
    db.execute(cur, "DELETE FROM strips WHERE item_id = ?", (item_id,))
    for s in vl.shots:
        lp = s.picture
        db.execute(cur, "INSERT INTO shots (item_id, t, t0, t1, features, words, thumb) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (item_id, float(s.t), float(s.t0), float(s.t1),
                    pack(lp) if len(lp.descriptors) else None, s.words or None,
                    lp.thumb or None))
    st = vl.strip
    db.execute(cur, "INSERT INTO strips (item_id, status, width, height, times, thumbs) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
               (item_id, vl.status, st.size[0] if st else None, st.size[1] if st else None,
                st.times.astype("<f4").tobytes() if st else None,
                pack_thumbs(st.thumbs) if st else None))


STRIP_CHUNK = 800  # thumbnails per JPEG (a JPEG is at most 65,535 pixels high)
STRIP_QUALITY = 90


def pack_thumbs(thumbs: np.ndarray) -> bytes:
    """(n, h, w) grey thumbnails as length-prefixed grey JPEGs of STRIP_CHUNK stacked
    thumbnails each (~0.5 KB per thumbnail; zlib of the raw pixels: ~2 KB)."""
    import io
    import struct

    from PIL import Image

    out = [struct.pack("<HH", thumbs.shape[1], thumbs.shape[2])]
    for k in range(0, len(thumbs), STRIP_CHUNK):
        part = np.ascontiguousarray(thumbs[k:k + STRIP_CHUNK]).reshape(-1, thumbs.shape[2])
        buf = io.BytesIO()
        Image.fromarray(part, "L").save(buf, "JPEG", quality=STRIP_QUALITY)
        out.append(struct.pack("<I", buf.tell()) + buf.getvalue())
    return b"".join(out)


def unpack_thumbs(blob: bytes) -> np.ndarray:
    """The inverse of `pack_thumbs`; ValueError for a damaged blob."""
    import io
    import struct

    from PIL import Image

    h, w = struct.unpack_from("<HH", blob)
    pos, parts = 4, []
    while pos < len(blob):
        (n,) = struct.unpack_from("<I", blob, pos)
        with Image.open(io.BytesIO(blob[pos + 4:pos + 4 + n])) as im:
            a = np.asarray(im.convert("L"))
        parts.append(a.reshape(-1, h, w))
        pos += 4 + n
    return np.concatenate(parts) if parts else np.zeros((0, h, w), np.uint8)


def insert_rows(db: Any, cur: Any, item_id: int, res: Any) -> None:
    """The rows of a new item, when it is a video with shots (same transaction)."""
    vl = getattr(res, "video_local", None)
    if vl is not None:
        insert(db, cur, item_id, vl)


def load_shots(db: Any, item_ids: list[int] | None = None,
               shot_ids: list[int] | None = None) -> dict[int, ShotRow]:
    """Shot rows with their features, by shot id (those of `item_ids` or `shot_ids`)."""
    from osintkit.match.localfeat import unpack

    col, ids = ("item_id", item_ids) if item_ids is not None else ("id", shot_ids or [])
    out: dict[int, ShotRow] = {}
    ids = [int(i) for i in ids]
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ", ".join("?" * len(chunk))
        for sid, item_id, t, t0, t1, feats, thumb in db.query(
                f"SELECT id, item_id, t, t0, t1, features, thumb FROM shots "
                f"WHERE {col} IN ({marks}) AND features IS NOT NULL ORDER BY item_id, t",
                chunk):
            try:
                lp = unpack(bytes(feats), bytes(thumb) if thumb else b"")
            except (ValueError, TypeError):
                continue  # another format: this shot is matched by hashes only
            out[int(sid)] = ShotRow(float(t), float(t0), float(t1), lp, b"", int(sid),
                                    int(item_id))
    return out


def load_strip(db: Any, item_id: int) -> Strip | None:
    """The strip of one archived video (None without one)."""
    rows = db.query("SELECT width, height, times, thumbs FROM strips WHERE item_id = ? "
                    "AND status = 'ok'", (int(item_id),))
    if not rows or rows[0][2] is None or rows[0][3] is None:
        return None
    w, h, times, thumbs = rows[0]
    t = np.frombuffer(bytes(times), "<f4").astype(np.float32)
    try:
        stack = unpack_thumbs(bytes(thumbs))
    except (ValueError, OSError):
        return None  # damaged: this video is matched by its hashes and shots only
    if len(stack) != len(t):
        return None
    return Strip(t, stack, (int(w), int(h)))


def counts(db: Any) -> dict[str, int]:
    """Archived videos by shot-feature status (`pending`: added before schema v7)."""
    return status_counts(db, "strips", "video")


def backfill(archive: Any, retry: bool = False, limit: int | None = None) -> dict[str, int]:
    """Shots and strips for archived videos that have none, from their files (when the
    file at `origin` is still the archived one). Each video is committed on its own."""
    from osintkit.match.hashfile import file_digests

    db, done = archive.db, {}
    cond = "NOT EXISTS (SELECT 1 FROM strips s WHERE s.item_id = i.id)"
    if retry:
        cond = f"({cond} OR EXISTS (SELECT 1 FROM strips s WHERE s.item_id = i.id AND " \
               "s.status IN ('missing', 'changed')))"
    last = 0
    while limit is None or sum(done.values()) < limit:
        rows = db.query(f"SELECT i.id, i.origin, i.sha256 FROM items i WHERE i.kind = 'video' "
                        f"AND i.id > ? AND {cond} ORDER BY i.id LIMIT 1", (last,))
        if not rows:
            break
        item_id, origin, sha = int(rows[0][0]), rows[0][1], rows[0][2]
        last = item_id
        path = Path(origin) if origin and "://" not in str(origin) else None
        if path is None or not path.is_file():
            vl = VideoLocal("missing")
        elif sha and file_digests(path)[0] != sha:
            vl = VideoLocal("changed")
        else:
            try:
                vl = extract(_decode(path))
            except Exception:
                vl = VideoLocal("missing")

        def write(cur: Any, item_id: int = item_id, vl: VideoLocal = vl) -> None:
            insert(db, cur, item_id, vl)
            db.bump(cur)
        db.write(write)
        done[vl.status] = done.get(vl.status, 0) + 1
    return done


# ---------------------------------------------------------------- candidate index
def shot_words(archive: Any) -> Any:
    """The inverted file over archived shots (bow.WordIndex, rows = shot ids): from
    memory, its `.shots.npz` cache, caught up by appending, or rebuilt."""
    from osintkit.archive.bow import WordIndex
    from osintkit.match.localfeat import vocabulary

    stamp = archive.stamp()
    mem = archive.memo.get("shot_words")
    if mem is not None and mem[0] == stamp:
        return mem[1]
    cache = archive.cache_path()
    cache = cache.with_name(cache.name.replace(".index.npz", ".shots.npz").replace(
        "index-", "shots-")) if cache is not None else None
    base = mem
    if base is None and cache is not None:
        base = WordIndex.load(cache)
        if base is not None and base[0].split(":")[0] != stamp.split(":")[0]:
            base = None
    if base is not None and base[0] == stamp:
        archive.memo["shot_words"] = base
        return base[1]
    nwords = len(vocabulary())
    old = base[1] if base is not None and base[1].nwords == nwords else None
    got = archive.db.snapshot(lambda cur: _refresh(archive.db, cur, old, nwords))
    if cache is not None:
        got[1].save(cache, got[0])
    archive.memo["shot_words"] = got
    return got[1]


def _refresh(db: Any, cur: Any, old: Any, nwords: int) -> tuple[str, Any]:
    from osintkit.archive.bow import WordIndex, snapshot_stamp

    stamp = snapshot_stamp(db, cur)
    after = 0
    if old is not None:
        kept = db.execute(cur, "SELECT COUNT(*) FROM shots WHERE words IS NOT NULL AND "
                               "id <= ?", (old.base[0],)).fetchone()[0]
        after = old.base[0] if int(kept) == old.base[1] else 0  # nothing removed
    ids, lists = [], []
    for sid, blob in db.execute(cur, "SELECT id, words FROM shots WHERE words IS NOT NULL "
                                     "AND id > ? ORDER BY id", (after,)):
        ids.append(int(sid))
        lists.append(np.frombuffer(bytes(blob or b""), dtype="<u2"))
    top = max([after, *ids]) if ids else after
    more = WordIndex.build(ids, lists, nwords)
    if after and old is not None:
        index = old.extend(more, (top, old.base[1] + len(ids)))
    else:
        index = WordIndex(more.rows, more.offsets, more.postings, nwords, (top, len(ids)))
    return stamp, index
