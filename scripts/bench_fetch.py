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
3. With `--readability-mirror PATH` (a bare git mirror of mozilla/readability) or
   `--readability DIR` (a checkout at the pinned commit): the same replay over readability's
   test pages labelled automatically (scripts/readability_pages.py), on a table of its own,
   each half of the pages apart (first half: rules looked at; second half: held out).
   `--failures` lists the misses and the furniture kept as claim of the first half.
Run: .venv/bin/python scripts/bench_fetch.py  (prints Markdown tables for docs/fetch.md)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

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


def _replay_claims(rp, mp4: bytes) -> tuple[list[str], float]:
    """fetch() over one readability page from the replay: its claim URLs and the time."""
    from replaypages import Page

    from osintkit.fetch import fetch

    page = Page(rp.name, rp.url, "article", rp.claim_urls, rp.html)
    page.hosts = {urlsplit(u).hostname or "" for u in [rp.url, *rp.claim_urls]}
    with tempfile.TemporaryDirectory() as tmp, Replay(page, mp4) as replay, \
            offline_dns(page.hosts):
        start = time.perf_counter()
        cap = fetch(replay.page_url, tmp, allow_networks=["127.0.0.1/32"], timeout=5,
                    total_timeout=30)
        took = time.perf_counter() - start
    return [i.url for i in cap.items if i.role == "claim"], took


def readability_table(pages, mp4: bytes, failures: bool = False) -> list[str]:
    import readability_pages as R

    rows = ["| readability pages | pages (with article media) | claim media found | "
            "furniture kept as claim | metadata pictures claimed (not scored) | "
            "time per page (median) |", "|---|---|---|---|---|---|"]
    first, second = R.split(pages)
    runs = {rp.name: _replay_claims(rp, mp4) for rp in pages}  # each page replayed once
    for what, subset in (("first half (looked at)", first), ("second half (held out)", second),
                         ("all", pages)):
        tot = {"labelled": 0, "found": 0, "claimed": 0, "false": 0, "neutral": 0}
        times = []
        for rp in subset:
            got, took = runs[rp.name]
            times.append(took)
            s = R.score(rp, got)
            for k in tot:
                tot[k] += s[k]
            if failures and subset is first and (s["found"] < s["labelled"] or s["false"]):
                _print_failure(rp, got)
        rows.append(f"| {what} | {len(subset)} ({sum(1 for p in subset if p.claim)}) | "
                    f"{tot['found']}/{tot['labelled']} = "
                    f"{100 * tot['found'] / max(1, tot['labelled']):.1f}% | "
                    f"{tot['false']}/{tot['claimed']} = "
                    f"{100 * tot['false'] / max(1, tot['claimed']):.1f}% | {tot['neutral']} | "
                    f"{statistics.median(times):.2f} s |")
    return rows


def _print_failure(rp, got: list[str]) -> None:
    import readability_pages as R

    _, refs, _ = article.classify(rp.html.decode("utf-8", errors="replace"), rp.url)
    why = {R.norm(r.url): f"{r.role}: {r.why}" for r in refs}
    gotn = {R.norm(u) for u in got}
    claim = set().union(*[{R.norm(u) for u in it.real} for it in rp.claim]) if rp.claim \
        else set()
    print(f"== {rp.name} {rp.url}", file=sys.stderr)
    for it in rp.claim:
        if not {R.norm(u) for u in it.real} & gotn:
            seen = next((why[R.norm(u)] for u in it.real if R.norm(u) in why), "not seen")
            print(f"  MISSED {it.real[0][:100]}\n     {it.context[:120]} | {seen}",
                  file=sys.stderr)
    for u in sorted(gotn - claim - rp.neutral):
        ctx = next((it.context for it in rp.furniture if u in it.fake or u in
                    {R.norm(x) for x in it.real}), "")
        print(f"  FALSE  {u[:100]}\n     {ctx[:120]} | {why.get(u, '?')}", file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--readability", metavar="DIR", help="a mozilla/readability checkout")
    ap.add_argument("--readability-mirror", metavar="PATH",
                    help="a bare git mirror of mozilla/readability (read at the pinned commit)")
    ap.add_argument("--only-readability", action="store_true",
                    help="skip the tables of the labelled pages of tests/data/pages")
    ap.add_argument("--failures", action="store_true",
                    help="list the first half's misses and false claims on stderr")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "tests"))
    sys.path.insert(0, str(ROOT / "scripts"))
    from fixtures_fetch import _mp4

    pages = load_pages()
    with tempfile.TemporaryDirectory() as tmp:
        mp4 = _mp4(Path(tmp) / "clip.mp4")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print()
    if not args.only_readability:
        print("\n".join(roles_table(pages)))
        print()
        print("\n".join(fetch_table(pages, mp4)))
        print()
    src = args.readability or args.readability_mirror
    if src:
        import readability_pages as R

        rpages = R.load(src, skip={p.name for p in pages})
        print("\n".join(readability_table(rpages, mp4, args.failures)))
        print()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
