"""Archive stage: where archived media was published (issue 17).

Three tables (store.py, migration `source_posts`):
  item_sources  item_id -> source_url: the post or page that carried the item's earliest
                known copy; it moves with first_seen, as `source` does.
  posts         the posts a channel walk archived completely (url, channel, number,
                posted_at, text, forwarded_from, edited, views, media count): a resumed
                walk skips them; the report shows an archived post's text.
  walks         per walked channel, the stretch of post numbers [low, high] already done:
                a second walk jumps from `high` to `low` instead of re-reading every page.
All writes take the caller's cursor, so they commit with the media they describe.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

Row = tuple[Any, ...]


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


# ---------------------------------------------------------------- item -> source URL
def set_source_url(db: Any, cur: Any, item_id: int, url: str) -> None:
    """Record (or move) the source URL of an item, inside the caller's transaction."""
    db.execute(cur, "DELETE FROM item_sources WHERE item_id = ?", (item_id,))
    db.execute(cur, "INSERT INTO item_sources (item_id, source_url) VALUES (?, ?)",
               (item_id, url))


def after_merge(db: Any, cur: Any, row: Row, meta: dict[str, Any], status: str) -> str:
    """Keep source_url with first_seen when a known item is added again.

    `row` is the locked row before the merge (id, first_seen, ...). The URL moves when this
    copy is earlier; it is filled in when the item had none and this copy is as early.
    Returns the merge status ("updated" when only the URL was filled in).
    """
    url = meta.get("source_url")
    if not url:
        return status
    item_id, old_first = int(row[0]), row[1]
    new_first = meta.get("first_seen")
    if new_first and (not old_first or new_first < old_first):
        set_source_url(db, cur, item_id, url)
        return "updated"
    if not new_first or new_first != old_first:
        return status
    have = db.execute(cur, "SELECT source_url FROM item_sources WHERE item_id = ?",
                      (item_id,)).fetchone()
    if have is None:
        set_source_url(db, cur, item_id, url)
        return "updated"
    return status


def sources_of(db: Any, item_ids: list[int]) -> dict[int, dict[str, Any]]:
    """item id -> {"source_url", "posted_at", "post_text", "forwarded_from"} (posts joined)."""
    out: dict[int, dict[str, Any]] = {}
    ids = sorted({int(i) for i in item_ids})
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ", ".join("?" * len(chunk))
        for item_id, url, posted, text, fwd in db.query(
                "SELECT s.item_id, s.source_url, p.posted_at, p.text, p.forwarded_from "
                "FROM item_sources s LEFT JOIN posts p ON p.url = s.source_url "
                f"WHERE s.item_id IN ({marks})", chunk):
            out[int(item_id)] = {"source_url": url, "posted_at": posted, "post_text": text,
                                 "forwarded_from": json.loads(fwd) if fwd else None}
    return out


def attach(db: Any, targets: list[Any]) -> None:
    """Set `source_url`, `posted_at`, `post_text` on Items or Matches (by `id`/`item_id`)."""
    def key(t: Any) -> int | None:
        value = getattr(t, "item_id", None) if hasattr(t, "item_id") else getattr(t, "id", None)
        return int(value) if value is not None else None

    found = sources_of(db, [k for t in targets if (k := key(t)) is not None])
    for t in targets:
        info = found.get(key(t) or -1)
        if info:
            t.source_url, t.posted_at, t.post_text = (info["source_url"], info["posted_at"],
                                                      info["post_text"])


# ---------------------------------------------------------------- posts
def known_posts(db: Any, urls: list[str]) -> set[str]:
    """Which of these post URLs were archived completely."""
    out: set[str] = set()
    for start in range(0, len(urls), 500):
        chunk = urls[start:start + 500]
        marks = ", ".join("?" * len(chunk))
        out.update(r[0] for r in db.query(f"SELECT url FROM posts WHERE url IN ({marks})",
                                          chunk))
    return out


def record_post(db: Any, cur: Any, post: dict[str, Any]) -> None:
    """Mark a post archived (in the transaction that wrote its media)."""
    fwd = post.get("forwarded_from")
    db.execute(cur, "DELETE FROM posts WHERE url = ?", (post["url"],))
    db.execute(cur, "INSERT INTO posts (url, channel, number, posted_at, text, forwarded_from,"
                    " edited, views, media, archived_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               (post["url"], post.get("channel"), post.get("number"), post.get("posted_at"),
                post.get("text"), json.dumps(fwd) if fwd else None, int(bool(post.get("edited"))),
                post.get("views"), int(post.get("media") or 0), _now()))


# ---------------------------------------------------------------- walks
def walk_range(db: Any, source: str) -> tuple[int, int] | None:
    """(low, high): the post numbers of `source` a walk has already covered, if any."""
    rows = db.query("SELECT low, high FROM walks WHERE source = ?", (source,))
    if not rows or rows[0][0] is None or rows[0][1] is None:
        return None
    return int(rows[0][0]), int(rows[0][1])


def save_walk_range(db: Any, source: str, low: int, high: int) -> None:
    """Store the covered stretch [low, high] of a channel (its own short transaction)."""
    def run(cur: Any) -> None:
        db.execute(cur, "DELETE FROM walks WHERE source = ?", (source,))
        db.execute(cur, "INSERT INTO walks (source, low, high, updated_at) VALUES (?, ?, ?, ?)",
                   (source, int(low), int(high), _now()))
    db.write(run)
