"""Scale part of scripts/bench_matching.py: the robust query against 1,000,000 archived
images, and `verify` of a 5-photo claim against 100,000.

Extracting features from a million real photos is out of reach here, so the archive is a
core of real photos (archived the normal way: hashes, views, local features) plus
synthetic distractors:

* 1M: the distractor items are real database rows (kind `hash`, a random PDQ), and the
  in-memory indexes get their rows directly: 8 random sub-view PDQs each (as a real
  image has), and ~300 visual words each drawn from the words of real photos that are
  not in the core (resampled descriptors: realistic word frequencies, so common words
  are as crowded as in a real archive);
* 100k: everything written to the database (items, views, words) and read back by the
  archive itself, as a user's archive would be.

Queries are edited copies of the core photos; the recall on the core at that scale is
checked, and the query time is the median over all of them.
"""

from __future__ import annotations

import random
import statistics
import time
from pathlib import Path

import matching_families as mf
import numpy as np

QUERY_FAMILIES = ("crop 30% (any sides)", "screenshot (chat/feed/gallery/browser, light/dark)",
                  "mirror + crop 15% + caption", "rotate ±8°", "jpeg q50")


def _word_pool(photos: list[Path]) -> np.ndarray:
    from PIL import ImageOps

    from osintkit.match.localfeat import STORED_FEATURES, detect, words

    return np.concatenate([words(detect(ImageOps.contain(mf.opened(p), (640, 640)),
                                        STORED_FEATURES)[1]) for p in photos])


def _synthetic_words(pool: np.ndarray, n: int, rng: np.random.Generator, per: int = 330):
    """Chunks of (start, word arrays): each item = `per` descriptors drawn from the pool,
    as distinct words (~300, as a real image keeps ~310 distinct words of its 400
    descriptors: descriptors of one picture share words more than random ones)."""
    for start in range(0, n, 50_000):
        m = min(50_000, n - start)
        draws = pool[rng.integers(0, len(pool), (m, per))]
        yield start, [np.unique(row) for row in draws]


def _queries(core: list[Path], tmp: Path) -> list[tuple[Path, str]]:
    out = []
    for k, p in enumerate(core):
        fam = QUERY_FAMILIES[k % len(QUERY_FAMILIES)]
        q = tmp / f"scale-q{k}.jpg"
        mf.FAMILIES[fam](mf.opened(p), random.Random(k)).save(q, quality=95)
        out.append((q, p.name))
    return out


def scale(n: int, tmp: Path, core: list[Path], pool_photos: list[Path]) -> None:
    from osintkit.archive import open_archive
    from osintkit.archive.bow import WordIndex
    from osintkit.archive.search import RowSet
    from osintkit.match.hashfile import hash_file
    from osintkit.match.localfeat import vocabulary
    from osintkit.match.views import SUB_VIEWS

    arc = open_archive(f"sqlite:///{tmp / 'scale.sqlite'}")
    arc.add(core, source="core", first_seen="2020-01-01")
    rng = np.random.default_rng(1)
    m = n - len(core)
    t0 = time.perf_counter()

    def fill(cur):
        for start in range(0, m, 100_000):
            rows = [(f"synthetic:{i}", "hash", "2000-01-01T00:00:00", rng.bytes(32).hex(), 100)
                    for i in range(start, min(m, start + 100_000))]
            cur.executemany("INSERT INTO items (key, kind, added_at, pdq, pdq_quality) "
                            "VALUES (?, ?, ?, ?, ?)", rows)
        arc.db.bump(cur)
    arc.db.write(fill)
    real = arc.rows()
    syn_ids = np.array([r[0] for r in arc.db.query(
        "SELECT id FROM items WHERE kind = 'hash' ORDER BY id")], dtype=np.int64)
    k = len(SUB_VIEWS)
    item = np.concatenate([real.item, np.repeat(syn_ids, k)])
    pdq = np.concatenate([real.pdq, rng.integers(0, 256, (len(syn_ids) * k, 32), np.uint8)])
    t = np.concatenate([real.t, np.full(len(syn_ids) * k, np.nan)])
    ph = np.concatenate([real.phash, np.zeros((len(syn_ids) * k, 8), np.uint8)])
    hp = np.concatenate([real.has_phash, np.zeros(len(syn_ids) * k, bool)])
    # whole-picture rows of the synthetic items are already in `real` (read from the DB)
    rows = RowSet(item, t, pdq, np.ones(len(item), bool), ph, hp, real.base)
    rows.pdq_index.tables()
    pool = _word_pool(pool_photos)
    core_words = arc.words()
    chunks = []
    for start, lists in _synthetic_words(pool, len(syn_ids), rng):
        chunks.append((syn_ids[start:start + len(lists)], lists))
    words = WordIndex.build_chunks(chunks, len(vocabulary()))
    words = core_words.extend(words, (int(syn_ids.max()), len(core_words) + len(syn_ids)))
    stamp = arc.stamp()
    arc._rows, arc._stamp, arc._words = rows, stamp, (stamp, words)
    arc.local_counts()
    build_s = time.perf_counter() - t0
    mem_rows = sum(a.nbytes for a in rows.arrays().values()) + \
        sum(a.nbytes for a in rows.pdq_index.tables())
    mem_words = words.nbytes
    queries = _queries(core, tmp)
    hashed = [(hash_file(q), name) for q, name in queries]
    arc.search(hashed[0][0])  # warm
    times, found, totals = [], 0, []
    for res, name in hashed * 2:
        t1 = time.perf_counter()
        ms = arc.search(res)
        times.append((time.perf_counter() - t1) * 1000)
        found += bool(ms) and ms[0].name == name and ms[0].match != "scene"
    for q, _ in queries:
        t1 = time.perf_counter()
        arc.search(hash_file(q))
        totals.append((time.perf_counter() - t1) * 1000)
    fast = []
    for res, _ in hashed:
        t1 = time.perf_counter()
        arc.search(res, robust=False)
        fast.append((time.perf_counter() - t1) * 1000)
    print(f"\n### {n:,}-item archive ({len(core)} real photos + {len(syn_ids):,} synthetic)\n")
    print("| measure | value |\n|---|---:|")
    print(f"| robust query, hash given (median of {len(times)}) | "
          f"**{statistics.median(times):.0f} ms** |")
    print(f"| hash the file + robust query (median) | {statistics.median(totals):.0f} ms |")
    print(f"| `--fast` query (hash views only), hash given (median) | "
          f"{statistics.median(fast):.0f} ms |")
    print(f"| core copies found as copies at this scale | {found}/{len(times)} |")
    print(f"| hash index ({len(rows):,} rows) in memory | {mem_rows / 1e6:.0f} MB "
          f"({mem_rows / n:.0f} B per item) |")
    print(f"| word index ({len(words.postings):,} postings) in memory | "
          f"{mem_words / 1e6:.0f} MB ({mem_words / n:.0f} B per item) |")
    print(f"| build (insert {m:,} rows, indexes) | {build_s:.0f} s |")
    arc.close()


def end_to_end(n: int, tmp: Path, core: list[Path], pool_photos: list[Path]) -> None:
    from osintkit.archive import open_archive
    from osintkit.claim import Claim, apply_overrides
    from osintkit.match.views import SUB_VIEWS
    from osintkit.verify import VerifyOptions, verify_claim

    url = f"sqlite:///{tmp / 'e2e.sqlite'}"
    arc = open_archive(url)
    arc.add(core, source="core", first_seen="2020-01-01")
    rng = np.random.default_rng(2)
    pool = _word_pool(pool_photos)
    m = n - len(core)
    t0 = time.perf_counter()

    def fill(cur):
        cur.executemany("INSERT INTO items (key, kind, added_at, pdq, pdq_quality) "
                        "VALUES (?, ?, ?, ?, ?)",
                        [(f"synthetic:{i}", "image", "2000-01-01T00:00:00",
                          rng.bytes(32).hex(), 100) for i in range(m)])
        ids = [r[0] for r in cur.execute("SELECT id FROM items WHERE key LIKE 'synthetic:%'")]
        cur.executemany("INSERT INTO views (item_id, view, pdq, pdq_quality) "
                        "VALUES (?, ?, ?, ?)",
                        [(i, v, rng.bytes(32).hex(), 100) for i in ids for v in SUB_VIEWS])
        for start, lists in _synthetic_words(pool, len(ids), rng):
            cur.executemany("INSERT INTO local (item_id, status, words) VALUES (?, 'ok', ?)",
                            [(ids[start + j], w.astype("<u2").tobytes())
                             for j, w in enumerate(lists)])
        arc.db.bump(cur)
    arc.db.write(fill)
    arc.close()
    fill_s = time.perf_counter() - t0
    queries = [q for q, _ in _queries(core[:5], tmp)]
    claim = apply_overrides(Claim(id="bench", urls=[], media=queries), claim_date="2026-04-18")
    opts = VerifyOptions(formats=("json",))
    verify_claim(claim, tmp / "warm", db_url=url, options=opts)  # builds and caches the indexes
    times = []
    for k in range(3):
        t1 = time.perf_counter()
        rep = verify_claim(claim, tmp / f"v{k}", db_url=url, options=opts)
        times.append(time.perf_counter() - t1)
    found = sum(any(m.match == "near" for m in item.matches) for item in rep.media)
    print(f"\n### verify, a 5-photo claim against {n:,} items (all in SQLite)\n")
    print(f"| measure | value |\n|---|---:|\n| end to end, warm index cache (median of 3) | "
          f"**{statistics.median(times):.2f} s** |\n| photos found as copies | {found}/5 |\n"
          f"| database written in | {fill_s:.0f} s |")


def run(args, tmp: Path, core_files: list[Path], others: list[Path]) -> None:
    """`core_files`: archived real photos; `others`: photos NOT in the core, whose words
    make the synthetic distractors."""
    core = core_files[:40]
    if args.scale:
        scale(args.scale, tmp, core, others[:80])
    if args.e2e:
        end_to_end(args.e2e, tmp, core, others[:80])
