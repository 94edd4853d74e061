"""Mozilla readability's test pages as a large held-out set for the claim-vs-furniture rules.

Readability's test suite (https://github.com/mozilla/readability, Apache-2.0) holds ~130
real pages, each with `source.html` (the page as saved) and `expected.html` (the article
readability extracts from it). Labelled automatically here:
  claim      a picture, video or player of the page whose URL (any of its variants:
             src, srcset, data-src, poster...) appears in expected.html;
  neutral    the page's own metadata pictures (og:image, twitter:image, JSON-LD) that are
             not in expected.html: readability's body never contains them, so they are
             neither labelled claim nor furniture, and are not scored;
  furniture  everything else the page references.
Readability's tests parse each page as `http://fakehost/test/page.html`, so the URLs in
expected.html were resolved against that; each candidate is resolved both against it
(to match) and against the page's real URL (canonical link or og:url; to replay).

The pages are read from a readability checkout or a bare mirror (git) at the pinned
commit and never copied into this repository. Pages already in tests/data/pages are left
out. `split()` halves the pages by a fixed rule (alphabetical, even/odd position).
"""

from __future__ import annotations

import re
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

from osintkit.fetch.pages import abs_url, base_url, parse_html, parse_srcset
from osintkit.fetch.sources.article_refs import jsonld_refs, meta_refs

COMMIT = "ab4027a8b37669745016869a37a504727992b2ba"  # as tests/data/pages/README.md
FAKEHOST = "http://fakehost/test/page.html"
URL_ATTRS = ("src", "data-src", "data-lazy-src", "data-original", "data-hi-res-src",
             "data-src-large", "data-full-src", "poster", "data-url")
SRCSET_ATTRS = ("srcset", "data-srcset", "data-lazy-srcset")
MEDIA_TAGS = "img, amp-img, picture, video, audio, iframe, embed"
LAZY = re.compile(r"^\S+\.(jpg|jpeg|png|webp)(\?\S*)?$", re.I)
MEDIA_SUFFIX = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".mp4", ".webm", ".mov",
                ".m4v")


def norm(url: str) -> str:
    """Host (lower case), path and query: scheme and port do not count."""
    parts = urlsplit(url)
    return f"{(parts.hostname or '').lower()}{parts.path}" + (
        f"?{parts.query}" if parts.query else "")


@dataclass
class Item:
    """One media element of the source page: its URL variants, resolved both ways."""

    fake: set[str]  # normalised, resolved against FAKEHOST (as in expected.html)
    real: list[str]  # absolute, resolved against the page's real URL
    tag: str
    context: str = ""


@dataclass
class RPage:
    name: str
    url: str
    html: bytes
    claim: list[Item] = field(default_factory=list)
    furniture: list[Item] = field(default_factory=list)
    neutral: set[str] = field(default_factory=set)  # normalised
    unmatched: list[str] = field(default_factory=list)  # expected URLs found in no element

    @property
    def claim_urls(self) -> list[str]:
        return [u for it in self.claim for u in it.real]


def _raw_urls(node) -> list[str]:
    """Every URL of one picture, video or player: a <picture>'s or <video>'s children too."""
    if node.tag in ("picture", "video", "audio"):
        kids = [k for k in node.css("source, img") if k.mem_id != node.mem_id]
        return [u for n in [node, *kids] for u in _attr_urls(n)]
    return _attr_urls(node)


def _attr_urls(node) -> list[str]:
    a = node.attributes
    raws = [a.get(k) for k in URL_ATTRS]
    for k in SRCSET_ATTRS:
        raws += [u for u, _ in parse_srcset(a.get(k) or "")]
    if node.tag == "a":
        raws.append(a.get("href"))
    if node.tag in ("img", "figure"):  # readability's lazy images: any attribute naming one
        raws += [v for k, v in a.items()
                 if v and k not in (*URL_ATTRS, "alt", "title") and LAZY.match(v.strip())]
    return [r for r in raws if r and not r.strip().startswith("data:")]


def _elements(tree):
    """Media elements, and links to media files, including those inside <noscript>."""
    nodes = [n for n in tree.css(MEDIA_TAGS)
             if not (n.tag == "img" and _inside(n, "picture"))]
    nodes += [n for n in tree.css("figure") if n.css_first("img, picture") is None]
    nodes += [n for n in tree.css("a[href]")
              if urlsplit(n.attributes.get("href") or "").path.lower().endswith(MEDIA_SUFFIX)]
    for ns in tree.css("noscript"):
        inner = ns.text(deep=True) or ""
        if "<" in inner:
            nodes += _elements(parse_html(inner))
    return nodes


def _inside(node, tag: str) -> bool:
    cur = node.parent
    while cur is not None:
        if cur.tag == tag:
            return True
        cur = cur.parent
    return False


def _context(node) -> str:
    parts, cur = [], node.parent
    for _ in range(4):
        if cur is None or cur.tag in ("body", "html"):
            break
        a = cur.attributes
        parts.append(f"{cur.tag}.{(a.get('class') or '')[:30]}#{(a.get('id') or '')[:20]}")
        cur = cur.parent
    alt = (node.attributes.get("alt") or "")[:40]
    return " < ".join(parts) + (f" alt={alt!r}" if alt else "")


def real_url(tree) -> str:
    for sel, attr in (('link[rel="canonical"]', "href"), ('meta[property="og:url"]', "content")):
        node = tree.css_first(sel)
        url = abs_url(FAKEHOST, node.attributes.get(attr) if node is not None else None)
        if url and urlsplit(url).hostname not in (None, "fakehost"):
            return url
    return FAKEHOST


def label(name: str, source: bytes, expected: bytes) -> RPage:
    tree = parse_html(source)
    url = real_url(tree)
    fake_base, real_base = base_url(tree, FAKEHOST), base_url(tree, url)
    exp_tree = parse_html(expected)
    want: set[str] = set()
    for node in _elements(exp_tree):
        want |= {norm(u) for r in _raw_urls(node) if (u := abs_url(FAKEHOST, r))}
    page = RPage(name, url, source)
    matched: set[str] = set()
    seen: set[frozenset[str]] = set()
    for node in _elements(tree):
        raws = _raw_urls(node)
        fake = {norm(u) for r in raws if (u := abs_url(fake_base, r))}
        real = list(dict.fromkeys(u for r in raws if (u := abs_url(real_base, r))))
        if not fake or frozenset(fake) in seen:
            continue
        seen.add(frozenset(fake))
        item = Item(fake, real, node.tag, _context(node))
        if fake & want:
            page.claim.append(item)
            matched |= fake & want
        else:
            page.furniture.append(item)
    page.unmatched = sorted(want - matched)
    claim_norm = {norm(u) for u in page.claim_urls}
    for f in [*meta_refs(tree, real_base), *jsonld_refs(tree, real_base)]:
        if norm(f.ref.url) not in claim_norm:
            page.neutral.add(norm(f.ref.url))
    return page


def _extract(src: Path, into: Path, commit: str) -> Path:
    """test/test-pages from a checkout (as is) or a bare mirror (git archive at `commit`)."""
    if (src / "test" / "test-pages").is_dir():
        return src / "test" / "test-pages"
    data = subprocess.run(["git", "--git-dir", str(src), "archive", commit, "test/test-pages"],
                          check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into / "test" / "test-pages"


def load(src: str | Path, commit: str = COMMIT, skip: set[str] | None = None) -> list[RPage]:
    """Every labelled page, sorted by name, minus `skip` (the pages already in the repo)."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        root = _extract(Path(src), Path(tmp), commit)
        for d in sorted(root.iterdir()):
            if d.name in (skip or set()) or not (d / "expected.html").is_file():
                continue
            out.append(label(d.name, (d / "source.html").read_bytes(),
                             (d / "expected.html").read_bytes()))
    return out


def split(pages: list[RPage]) -> tuple[list[RPage], list[RPage]]:
    """(first half: even positions in alphabetical order, second half: odd positions)."""
    pages = sorted(pages, key=lambda p: p.name)
    return pages[0::2], pages[1::2]


def score(page: RPage, claimed: list[str]) -> dict[str, int]:
    """Claim items found (any variant claimed); claimed URLs that are furniture (neither a
    claim variant nor the page's neutral metadata picture)."""
    got = {norm(u) for u in claimed}
    claim_norm = [{norm(u) for u in it.real} for it in page.claim]
    all_claim = set().union(*claim_norm) if claim_norm else set()
    return {"labelled": len(page.claim),
            "found": sum(1 for c in claim_norm if c & got),
            "claimed": len(got - (page.neutral - all_claim)),
            "false": len(got - all_claim - page.neutral),
            "neutral": len((got & page.neutral) - all_claim)}


if __name__ == "__main__":  # print the labels with context, for checking by eye
    import sys

    for p in load(sys.argv[1], skip=set(sys.argv[3:])):
        if len(sys.argv) > 2 and sys.argv[2] not in ("-", p.name):
            continue
        print(f"== {p.name} {p.url} claim={len(p.claim)} furniture={len(p.furniture)} "
              f"neutral={len(p.neutral)} unmatched={p.unmatched[:3]}")
        for it in p.claim:
            print(f"  CLAIM {it.tag} {it.real[0][:110]}\n        {it.context[:150]}")
        for it in p.furniture:
            print(f"  furn  {it.tag} {it.real[0][:110]}\n        {it.context[:150]}")
