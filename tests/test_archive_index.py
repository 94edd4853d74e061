"""The packed Hamming index: multi-index search finds exactly what a brute-force scan finds,
and the on-disk cache next to an SQLite archive is used only while it is current."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from osintkit.archive import open_archive
from osintkit.archive.index import HammingIndex, load_cache, save_cache
from osintkit.match.hashfile import hash_file


def _brute(codes: np.ndarray, queries: np.ndarray, radius: int) -> set[tuple[int, int, int]]:
    ints = [int.from_bytes(c.tobytes(), "big") for c in codes]
    out = set()
    for qi, q in enumerate(queries):
        qv = int.from_bytes(q.tobytes(), "big")
        for ri, c in enumerate(ints):
            d = (qv ^ c).bit_count()
            if d <= radius:
                out.add((qi, ri, d))
    return out


def _planted(nbytes: int, n: int, distances: list[int], seed: int = 7):
    """Random codes, and queries at exactly the given distances from some of them."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 256, size=(n, nbytes), dtype=np.uint8)
    queries = []
    for d in distances:
        q = codes[rng.integers(n)].copy()
        for bit in rng.choice(nbytes * 8, size=d, replace=False):
            q[bit // 8] ^= 1 << (bit % 8)
        queries.append(q)
    return codes, np.array(queries)


def _as_set(hits) -> set[tuple[int, int, int]]:
    return set(zip(hits.query.tolist(), hits.row.tolist(), hits.distance.tolist(), strict=True))


@pytest.mark.parametrize("nbytes, radius", [(32, 31), (32, 15), (32, 47), (8, 10), (8, 3)])
@pytest.mark.parametrize("method", ["mih", "linear"])
def test_index_finds_exactly_the_brute_force_matches(nbytes, radius, method):
    bits = nbytes * 8
    codes, queries = _planted(nbytes, 6000, [0, 1, radius - 1, radius, radius + 1, bits // 2])
    expected = _brute(codes, queries, radius)
    assert any(d == radius for _, _, d in expected)  # the boundary case is present
    assert _as_set(HammingIndex(codes).query(queries, radius, method)) == expected


def test_crowded_buckets_fall_back_to_a_scan_and_stay_exact():
    """Near-blank pictures share hashes: 5000 identical codes must not slow or break MIH."""
    codes, queries = _planted(32, 6000, [3, 30])
    codes[:5000] = 0
    queries = np.vstack([queries, np.zeros((1, 32), np.uint8)])
    hits = HammingIndex(codes).query(queries, 31, "mih")
    assert _as_set(hits) == _brute(codes, queries, 31)
    assert (hits.query == 2).sum() >= 5000


def test_empty_index_and_no_queries():
    empty = HammingIndex(np.zeros((0, 32), np.uint8))
    assert len(empty.query(np.zeros((1, 32), np.uint8), 31).row) == 0
    assert len(HammingIndex(np.zeros((5, 32), np.uint8)).query(
        np.zeros((0, 32), np.uint8), 31).row) == 0


def test_cache_round_trip_needs_the_same_stamp(tmp_path):
    path = tmp_path / "x.npz"
    arrays = {"a": np.arange(5), "b": np.ones((2, 32), np.uint8)}
    save_cache(path, "id:1", arrays)
    got = load_cache(path, "id:1")
    assert got is not None and np.array_equal(got["b"], arrays["b"])
    assert load_cache(path, "id:2") is None
    path.write_bytes(b"PK\x03\x04 broken zip")
    assert load_cache(path, "id:1") is None


def test_sqlite_archive_caches_its_index_and_rebuilds_after_changes(tmp_path, photos):
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    cache = tmp_path / "a.sqlite.index.npz"
    with open_archive(url) as arc:
        arc.add(photos[:3], source="s", first_seen="2020-01-01")
        assert arc.search(hash_file(photos[0]))  # builds and caches the index
        stamp = arc.stamp()
    assert cache.is_file() and load_cache(cache, stamp) is not None
    with open_archive(url) as other:  # another process adds a photo: the stamp moves
        other.add([photos[3]], source="s", first_seen="2020-01-01")
        assert other.stamp() != stamp
    with open_archive(url) as arc:  # the stale cache is caught up by appending the new item
        [m] = [m for m in arc.search(hash_file(photos[3])) if m.match == "exact"]
        assert m.name == photos[3].name
        rows = arc.rows()
        assert len(set(rows.item.tolist())) == 4 and m.item_id in rows.item.tolist()
        assert load_cache(cache, arc.stamp()) is not None  # rewritten for the new state
        arc.remove(ids=[m.item_id])  # a removal forces a full rebuild
        items = arc.rows().item.tolist()  # whole pictures and their sub-views
        assert m.item_id not in items and len(set(items)) == 3


def test_corrupt_index_cache_is_ignored(tmp_path, photos):
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    with open_archive(url) as arc:
        arc.add(photos[:2], source="s", first_seen="2020-01-01")
    (tmp_path / "a.sqlite.index.npz").write_bytes(b"garbage")
    with open_archive(url) as arc:
        res = arc.search(hash_file(photos[1]))
    assert res and res[0].name == Path(photos[1]).name


def test_postgresql_index_is_cached_in_the_user_cache_dir(postgres_server, tmp_path, photos,
                                                          monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    url = postgres_server.new_database()
    with open_archive(url) as arc:
        arc.add(photos[:2], source="s", first_seen="2020-01-01")
        assert len(set(arc.rows().item.tolist())) == 2
        archive_id = arc.db.meta()["archive_id"]
        cache = tmp_path / "cache" / "osintkit" / f"index-{archive_id}.npz"
        assert arc.cache_path() == cache and load_cache(cache, arc.stamp()) is not None


def test_cached_index_keeps_its_multi_index_tables(tmp_path):
    from osintkit.archive.search import RowSet

    codes, queries = _planted(32, 6000, [0, 12, 31])
    n = len(codes)
    rows = RowSet(np.arange(n), np.full(n, np.nan), codes, np.ones(n, bool),
                  np.zeros((n, 8), np.uint8), np.zeros(n, bool))
    rows.save(tmp_path / "i.npz", "a:1")
    stamp, loaded = RowSet.load(tmp_path / "i.npz", "a:1")
    assert stamp == "a:1" and loaded.pdq_index._tables is not None  # not rebuilt on load
    assert _as_set(loaded.pdq_index.query(queries, 31, "mih")) == \
        _as_set(loaded.pdq_index.query(queries, 31, "linear"))
