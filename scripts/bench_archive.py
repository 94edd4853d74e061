#!/usr/bin/env python3
"""Benchmark: archive search, one query = a picture's 8 dihedral PDQ variants at <= 31 bits.

Synthetic archives of 100k and 1M random PDQ hashes (one query variant is planted near a
stored hash). Compared in the same run, medians of repeated timings:
  ours        osintkit.archive.index.HammingIndex (multi-index, 16-bit chunks)
  numpy scan  the same index's linear XOR + bitwise_count scan
  faiss       faiss IndexBinaryFlat.range_search, one thread (optional: pip install faiss-cpu)
  python      a plain Python loop over ints (100k only)
Also: load time of a 1M-row index from its .npz cache (tables included), rebuilding it
from an SQLite archive (--sqlite), and memory. Prints a Markdown table (docs/archive.md).
Then `archive import` of a 1M-row PDQ/MD5 CSV against the plain SQLite insert and the
plain PostgreSQL COPY of the same file (scripts/bulk_bench.py; --import-rows 0 skips it).

    python scripts/bench_archive.py [--sizes 100000,1000000] [--repeat 15] [--sqlite]
                                    [--import-rows 1000000] [--import-repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from osintkit.archive.index import HammingIndex
from osintkit.archive.search import RowSet

RADIUS = 31


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up (builds lazy tables, faults pages in)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def _data(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    queries = rng.integers(0, 256, size=(8, 32), dtype=np.uint8)
    queries[3] = codes[n // 2]
    for bit in rng.choice(256, size=20, replace=False):  # a near copy at distance 20
        queries[3, bit // 8] ^= 1 << (bit % 8)
    return codes, queries


def _python_loop(codes: np.ndarray, queries: np.ndarray) -> Callable[[], list]:
    ints = [int.from_bytes(c.tobytes(), "big") for c in codes]
    qints = [int.from_bytes(q.tobytes(), "big") for q in queries]

    def run() -> list:
        return [(qi, ri) for qi, q in enumerate(qints) for ri, c in enumerate(ints)
                if (q ^ c).bit_count() <= RADIUS]
    return run


def _faiss(codes: np.ndarray, queries: np.ndarray) -> Callable[[], object] | None:
    try:
        import faiss
    except ImportError:
        return None
    faiss.omp_set_num_threads(1)
    index = faiss.IndexBinaryFlat(256)
    index.add(codes)
    return lambda: index.range_search(queries, RADIUS + 1)  # faiss: distance < radius


def _check_same(index: HammingIndex, queries: np.ndarray, faiss_run: Callable | None) -> None:
    ours = index.query(queries, RADIUS)
    got = set(zip(ours.query.tolist(), ours.row.tolist(), strict=True))
    if faiss_run is not None:
        lims, _, ids = faiss_run()
        theirs = {(q, int(i)) for q in range(len(queries)) for i in ids[lims[q]:lims[q + 1]]}
        assert got == theirs, "multi-index and faiss disagree"
    assert any(q == 3 for q, _ in got), "planted copy not found"


def bench_size(n: int, repeat: int) -> dict[str, float | None]:
    codes, queries = _data(n)
    index = HammingIndex(codes)
    t = time.perf_counter()
    index._build_tables()
    build_s = time.perf_counter() - t
    faiss_run = _faiss(codes, queries)
    _check_same(index, queries, faiss_run)
    row: dict[str, float | None] = {
        "n": n,
        "ours": _median_ms(lambda: index.query(queries, RADIUS, "mih"), repeat),
        "scan": _median_ms(lambda: index.query(queries, RADIUS, "linear"), max(3, repeat // 3)),
        "faiss": _median_ms(faiss_run, repeat) if faiss_run else None,
        "python": _median_ms(_python_loop(codes, queries), 3) if n <= 100_000 else None,
        "tables_s": build_s,
        "mem_mb": (codes.nbytes + sum(a.nbytes for a in index._tables or ())) / 1e6,
        "faiss_mem_mb": codes.nbytes / 1e6,
    }
    return row


def bench_load(n: int) -> dict[str, float]:
    """Cold load of an n-row index from its .npz cache, tables built, ready to query."""
    codes, queries = _data(n)
    rows = RowSet(np.arange(n), np.full(n, np.nan), codes, np.ones(n, bool),
                  np.zeros((n, 8), np.uint8), np.zeros(n, bool))
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "a.sqlite.index.npz"
        rows.save(path, "bench:1")
        size = path.stat().st_size / 1e6
        times, cpu = [], []
        for _ in range(3):
            t, c = time.perf_counter(), time.process_time()
            loaded = RowSet.load(path, "bench:1")
            assert loaded is not None
            loaded[1].pdq_index.query(queries, RADIUS)  # includes building the chunk tables
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
    return {"load_s": statistics.median(times), "load_cpu_s": statistics.median(cpu),
            "cache_mb": size}


def bench_sqlite(n: int) -> tuple[float, float]:
    """Rebuild the index of an n-item SQLite archive from its rows (no cache)."""
    from osintkit.archive import open_archive

    codes, _ = _data(n)
    hexes = [c.tobytes().hex() for c in codes]
    with tempfile.TemporaryDirectory() as d:
        arc = open_archive(f"sqlite:///{d}/a.sqlite")
        rows = [(f"{i:064x}", f"{i:064x}", "image", "2020-01-01", h, "0" * 16)
                for i, h in enumerate(hexes)]

        def load(cur: object) -> None:
            cur.executemany("INSERT INTO items (key, sha256, kind, added_at, pdq, phash) "
                            "VALUES (?, ?, ?, ?, ?, ?)", rows)
            arc.db.bump(cur)
        arc.db.write(load)
        t, c = time.perf_counter(), time.process_time()
        arc.rows().pdq_index.query(np.zeros((1, 32), np.uint8), RADIUS)
        took = (time.perf_counter() - t, time.process_time() - c)
        arc.close()
    return took


def bench_import_table(rows: int, repeat: int) -> None:
    """archive import vs the plain database load (scripts/bulk_bench.py)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bulk_bench import bench_import, table

    with tempfile.TemporaryDirectory() as d:
        print(table(bench_import(rows, repeat, Path(d))) + "\n")


def _fmt(v: float | None, unit: str = "") -> str:
    return "—" if v is None else f"{v:.1f}{unit}" if v >= 10 else f"{v:.2f}{unit}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--sqlite", action="store_true",
                    help="also time rebuilding the index from a 1M-row SQLite archive")
    ap.add_argument("--import-rows", type=int, default=1_000_000,
                    help="rows of the CSV hash list imported (0: skip the import benchmark)")
    ap.add_argument("--import-repeat", type=int, default=3)
    args = ap.parse_args()
    if args.import_rows:
        bench_import_table(args.import_rows, args.import_repeat)
    sizes = [int(s) for s in args.sizes.split(",")]
    print("| items | ours (multi-index) | numpy scan | faiss IndexBinaryFlat | plain Python "
          "| ours vs faiss | index memory (faiss) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n in sizes:
        r = bench_size(n, args.repeat)
        ratio = f"{r['faiss'] / r['ours']:.1f}× faster" if r["faiss"] else "—"
        print(f"| {n:,} | {_fmt(r['ours'], ' ms')} | {_fmt(r['scan'], ' ms')} | "
              f"{_fmt(r['faiss'], ' ms')} | {_fmt(r['python'], ' ms')} | {ratio} | "
              f"{r['mem_mb']:.0f} MB ({r['faiss_mem_mb']:.0f} MB) |")
    big = max(sizes)
    load = bench_load(big)
    print(f"\nload {big:,}-row index from its .npz cache, tables built: "
          f"{load['load_s']:.2f} s wall, {load['load_cpu_s']:.2f} s CPU "
          f"(cache file {load['cache_mb']:.0f} MB)")
    if args.sqlite:
        wall, cpu = bench_sqlite(big)
        print(f"rebuild the index from a {big:,}-item SQLite archive (and write its cache): "
              f"{wall:.2f} s wall, {cpu:.2f} s CPU")
    print("One query = 8 PDQ variants (all dihedral transforms), radius 31, medians; "
          "faiss on one thread.")


if __name__ == "__main__":
    main()
