"""Archive stage: the schema, as versioned migrations (one SQL text for SQLite and
PostgreSQL: `pk` and `real` are the two dialects' words). store.py runs them.
"""

from __future__ import annotations

from collections.abc import Callable

ITEM_COLUMNS = ("id", "key", "sha256", "md5", "name", "origin", "source", "first_seen",
                "title", "tags", "kind", "added_at", "pdq", "pdq_quality", "phash", "dhash",
                "extra")
FRAME_COLUMNS = ("item_id", "t", "pdq", "pdq_quality", "phash", "dhash")


def _migration_1(pk: str, real: str) -> list[str]:
    return [
        "CREATE TABLE IF NOT EXISTS items ("
        f" id {pk},"
        " key TEXT NOT NULL UNIQUE,"  # sha256, or md5:/pdq: for entries from hash lists
        " sha256 TEXT, md5 TEXT, name TEXT, origin TEXT, source TEXT,"
        " first_seen TEXT, title TEXT, tags TEXT NOT NULL DEFAULT '[]',"
        " kind TEXT NOT NULL, added_at TEXT NOT NULL,"
        " pdq TEXT, pdq_quality INTEGER, phash TEXT, dhash TEXT,"
        " extra TEXT NOT NULL DEFAULT '{}')",
        "CREATE TABLE IF NOT EXISTS frames ("
        " item_id BIGINT NOT NULL REFERENCES items(id) ON DELETE CASCADE,"
        f" t {real} NOT NULL, pdq TEXT, pdq_quality INTEGER, phash TEXT, dhash TEXT,"
        " PRIMARY KEY (item_id, t))",
    ]


def _migration_2(pk: str, real: str) -> list[str]:
    return [
        "CREATE INDEX IF NOT EXISTS items_sha256 ON items (sha256)",
        "CREATE INDEX IF NOT EXISTS items_md5 ON items (md5)",
        "CREATE INDEX IF NOT EXISTS items_first_seen ON items (first_seen)",
    ]


def _migration_3(pk: str, real: str) -> list[str]:
    # Sub-view hashes of archived images (osintkit/match/views.py SUB_VIEWS): a cropped copy
    # finds its original through the same index. Older items simply have none.
    return [
        "CREATE TABLE IF NOT EXISTS views ("
        " item_id BIGINT NOT NULL REFERENCES items(id) ON DELETE CASCADE,"
        " view TEXT NOT NULL, pdq TEXT NOT NULL, pdq_quality INTEGER,"
        " PRIMARY KEY (item_id, view))",
    ]


def _migration_4(pk: str, real: str) -> list[str]:
    # The strongest ORB descriptors of each archived image (hex, 32 bytes each): the deep
    # search votes with them for its candidates (osintkit/match/geometry.py `signature`).
    return [
        "CREATE TABLE IF NOT EXISTS features ("
        " item_id BIGINT PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,"
        " orb TEXT NOT NULL)",
    ]


def _migration_source_posts(pk: str, real: str) -> list[str]:
    # Where archived media was published (issue 17, `archive add URL`): the post or page
    # that carried an item's earliest copy (it moves with first_seen, like `source`); the
    # posts a channel walk archived completely (what a resumed walk skips), with their text;
    # and per walked channel the stretch of post numbers already done (where to resume).
    return [
        "CREATE TABLE IF NOT EXISTS item_sources ("
        " item_id BIGINT PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,"
        " source_url TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS item_sources_url ON item_sources (source_url)",
        "CREATE TABLE IF NOT EXISTS posts ("
        " url TEXT PRIMARY KEY, channel TEXT, number BIGINT, posted_at TEXT, text TEXT,"
        " forwarded_from TEXT, edited INTEGER NOT NULL DEFAULT 0, views BIGINT,"
        " media INTEGER NOT NULL DEFAULT 0, archived_at TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS posts_channel_number ON posts (channel, number)",
        "CREATE TABLE IF NOT EXISTS walks ("
        " source TEXT PRIMARY KEY, low BIGINT, high BIGINT, updated_at TEXT NOT NULL)",
    ]


def _migration_local_features(pk: str, real: str) -> list[str]:
    # What confirmation needs, kept in the archive itself (osintkit/match/localfeat.py): packed
    # ORB features, the distinct visual words (the candidate index is rebuilt from them)
    # and a small JPEG thumbnail (the copy/scene pixel check, the report's picture).
    # status: ok | missing (file unreadable when backfilled) | changed (the file at
    # `origin` is no longer the archived one) | empty (no features: a flat picture).
    # Items added before v6 are backfilled from their files (archive/local.py).
    blob = "BYTEA" if real == "DOUBLE PRECISION" else "BLOB"
    return [
        "CREATE TABLE IF NOT EXISTS local ("
        " item_id BIGINT PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,"
        f" status TEXT NOT NULL, features {blob}, words {blob}, thumb {blob})",
    ]


def _migration_video_shots(pk: str, real: str) -> list[str]:
    # What robust video matching needs of an archived video (archive/videostore.py): per
    # shot, the local features, words and thumbnail of the frame representing it (the
    # candidate index of video frames is rebuilt from `shots.words`); per video, a small
    # grey thumbnail of every sampled frame (`strips`: the time alignment of a cropped or
    # screen-recorded copy). strips.status: ok | missing | changed | empty, as local's;
    # a video without a strips row was added before v7 (`archive backfill`).
    blob = "BYTEA" if real == "DOUBLE PRECISION" else "BLOB"
    return [
        "CREATE TABLE IF NOT EXISTS shots ("
        f" id {pk},"
        " item_id BIGINT NOT NULL REFERENCES items(id) ON DELETE CASCADE,"
        f" t {real} NOT NULL, t0 {real} NOT NULL, t1 {real} NOT NULL,"
        f" features {blob}, words {blob}, thumb {blob})",
        "CREATE INDEX IF NOT EXISTS shots_item ON shots (item_id)",
        "CREATE TABLE IF NOT EXISTS strips ("
        " item_id BIGINT PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,"
        " status TEXT NOT NULL, width INTEGER, height INTEGER,"
        f" times {blob}, thumbs {blob})",
    ]


# Version n is reached by running MIGRATIONS[n - 1]. Append, never edit.
MIGRATIONS: list[Callable[[str, str], list[str]]] = [_migration_1, _migration_2, _migration_3,
                                                     _migration_4, _migration_source_posts,
                                                     _migration_local_features,
                                                     _migration_video_shots]
SCHEMA_VERSION = len(MIGRATIONS)  # renumbering a migration is moving it in this list
