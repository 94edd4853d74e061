"""Benchmark: claim media vs furniture on the labelled real pages (tests/data/pages).

1. Roles, no network: for each way of finding the article's own media, the labelled claim
   media found (recall) and the furniture kept as claim (share of claim items that are not
   labelled), on the pages the rules were tuned on and on the held-out ones:
     all-media     every picture a finder sees is claim (osintkit before issue 16)
     rules-only    our rules (metadata, article block, furniture words), no library
     trafilatura   our rules + trafilatura's main content (what ships)
     readability   our rules + readability-lxml's main content (if installed)
2. `fetch()` end to end from a local replay server with every third-party host
   unreachable: time per page (median, max) with furniture listed (default) and with
   --with-furniture (every furniture URL tried); claim media downloaded.
Run: .venv/bin/python scripts/bench_fetch.py  (prints Markdown tables for docs/fetch.md)
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from replaypages import Replay, load_pages, norm, offline_dns, score  # noqa: E402

from osintkit.fetch.sources import article, parse_page  # noqa: E402


def refs_for(page, engine: str) -> list[str]:
    if page.kind == "telegram":
        return [r.url for r in parse_page(page.html, page.url)[1] if r.role == "claim"]
    html = page.html.decode("utf-8", errors="replace")
    if engine == "all-media":
        _, refs, _ = article.classify(html, page.url, "none")
        return [r.url for r in refs]  # every role, as the old finders returned them
    _, refs, _ = article.classify(html, page.url, engine)
    return [r.url for r in refs if r.role == "claim"]


def roles_table(pages) -> list[str]:
    engines = ["all-media", "rules-only", "trafilatura"]
    try:
        import readability  # noqa: F401

        engines.append("readability")
    except ImportError:
        pass
    rows = ["| finder | pages | claim media found | furniture kept as claim | "
            "parse time / page (median) |", "|---|---|---|---|---|"]
    for engine in engines:
        for held in (False, True):
            subset = [p for p in pages if p.held_out == held]
            tot = {"labelled": 0, "found": 0, "claimed": 0, "false": 0}
            times = []
            for page in subset:
                start = time.perf_counter()
                got = refs_for(page, engine if engine != "rules-only" else "none")
                times.append(time.perf_counter() - start)
                s = score(page, got)
                for k in tot:
                    tot[k] += s[k]
            what = f"{len(subset)} held out" if held else f"{len(subset)} tuned on"
            rows.append(f"| {engine} | {what} | {tot['found']}/{tot['labelled']} = "
                        f"{100 * tot['found'] / max(1, tot['labelled']):.1f}% | "
                        f"{tot['false']}/{tot['claimed']} = "
                        f"{100 * tot['false'] / max(1, tot['claimed']):.1f}% | "
                        f"{1000 * statistics.median(times):.0f} ms |")
    return rows


def fetch_table(pages, mp4: bytes) -> list[str]:
    from osintkit.fetch import fetch

    rows = ["| mode | pages | time per page: median | max | claim media downloaded | "
            "failed look-ups (unreachable hosts) |", "|---|---|---|---|---|---|"]
    for mode in ("default", "with-furniture"):
        times, ok, want, lookups = [], 0, 0, 0
        for page in pages:
            with tempfile.TemporaryDirectory() as tmp, Replay(page, mp4) as replay, \
                    offline_dns(page.hosts) as failed:
                start = time.perf_counter()
                cap = fetch(replay.page_url, tmp, allow_networks=["127.0.0.1/32"],
                            with_furniture=mode != "default", timeout=5, total_timeout=30)
                times.append(time.perf_counter() - start)
                labelled = {norm(u) for u in page.claim}
                ok += sum(1 for i in cap.items if i.ok and i.role == "claim"
                          and norm(i.url) in labelled)
                want += len(labelled)
                lookups += len(failed)
        rows.append(f"| {mode} | {len(pages)} | {statistics.median(times):.2f} s | "
                    f"{max(times):.2f} s | {ok}/{want} | {lookups} |")
    return rows


def main() -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from fixtures_fetch import _mp4

    pages = load_pages()
    with tempfile.TemporaryDirectory() as tmp:
        mp4 = _mp4(Path(tmp) / "clip.mp4")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print()
    print("\n".join(roles_table(pages)))
    print()
    print("\n".join(fetch_table(pages, mp4)))
    print()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
