"""Source `article`: a generic web page (news article, blog post): its own media vs furniture.

The article's own media are found three ways, and everything else is furniture:
  1. the page's description of itself: og:image / twitter:image / og:video and JSON-LD
     `image` / `video` of the Article (not the publisher's logo, not other objects);
  2. the main content as a well-kept extraction library sees it (trafilatura: its
     images are the article's figures; measured against readability-lxml in
     scripts/bench_fetch.py, see docs/fetch.md);
  3. our own rules for media outside the text: the article container (the <article>,
     articleBody or main block holding the most paragraph text) with its lead image,
     figures, galleries and video players, minus the blocks inside it that are furniture
     (related stories, share bars, author boxes...). The nearest marked ancestor decides.
Trackers and ad/recommendation widgets are skipped (`PageRecord.ignored`). Word lists and
thresholds are in `osintkit.fetch.furniture`.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from osintkit.fetch import furniture as F
from osintkit.fetch.pages import (
    MediaRef,
    PageRecord,
    abs_url,
    base_url,
    kind_from_suffix,
    page_record,
    parse_html,
)
from osintkit.fetch.sources.article_refs import (
    Found,
    ancestors,
    body_refs,
    jsonld_refs,
    main_content_images,
    meta_refs,
    url_path,
)
from osintkit.fetch.sources.base import Context, Resolution, Source, register

_CONTAINERS = "article, main, [itemprop=articleBody], [role=main]"
LOOSE_PAGE_MAX = 6  # body pictures on a page without an article block kept as claim


# ------------------------------------------------------------------ helpers
def _words(node: LexborNode) -> str:
    a = node.attributes
    return f"{a.get('class') or ''} {a.get('id') or ''} {a.get('data-component') or ''}".strip()


def _ptext(node: LexborNode) -> int:
    return sum(len(p.text(deep=True) or "") for p in node.css("p"))


def _stem(url: str) -> str:
    """A picture's name without size variants ('lead-1200x630.jpg' ~ 'lead-480.jpg')."""
    name = url_path(url).rsplit("/", 1)[-1].lower()
    name = re.sub(r"\.(jpe?g|png|webp|gif|avif)$", "", name)
    return re.sub(r"([-_.](\d{2,4}x\d{2,4}|w\d{2,4}|\d{3,4}w?|master\d+|large|medium|small|"
                  r"thumb\w*|superjumbo|jumbo|articleLarge|xlarge))+$", "", name, flags=re.I)


def primary_container(tree: LexborHTMLParser) -> LexborNode | None:
    """The element holding the article: most paragraph text among article/main/body blocks."""
    best, best_len = None, 200  # a container with less text than this is no article
    for node in tree.css(_CONTAINERS):
        n = _ptext(node)
        if n > best_len:
            best, best_len = node, n
    for node in tree.css("div[class], div[id], section[class]"):
        if F.MAIN_WORDS.search(_words(node)) and not F.FURNITURE_WORDS.search(_words(node)):
            n = _ptext(node)
            if n > best_len * 1.2:
                best, best_len = node, n
    if best is None:  # a short page: its only <article> (or articleBody, main) is the article
        for selector in ("[itemprop=articleBody]", "article", "main"):
            nodes = tree.css(selector)
            if len(nodes) == 1:
                return nodes[0]
    return best


def _mark(anc: LexborNode, container: LexborNode | None, texts: dict[int, int],
          whole: int, scope: LexborNode | None = None) -> tuple[str, str] | None:
    """What one ancestor says about the media inside it, or None."""
    words = _words(anc)
    if F.AD_WIDGET.search(words):
        return ("ad", f"ad/recommendation widget ({_short(words)})")
    if anc.tag in ("nav", "footer", "aside") or (anc.tag == "header" and container is None):
        return ("furniture", f"<{anc.tag}> block")
    if F.FURNITURE_WORDS.search(words) and not F.MEDIA_BLOCK.search(words) \
            and not F.MAIN_WORDS.search(words) and not _holds_article(anc, scope, texts):
        return ("furniture", f"{_short(words)} block")
    if anc.tag == "article" and container is not None and \
            _text_len(anc, texts) < 0.3 * _text_len(container, texts):
        return ("furniture", "another article's teaser")
    return None


def _text_len(node: LexborNode, texts: dict[int, int]) -> int:
    """All the text of a block (lists and tables too, not only paragraphs), cached."""
    key = -node.mem_id - 1
    if key not in texts:
        texts[key] = len(" ".join((node.text(deep=True) or "").split()))
    return texts[key]


def _holds_article(anc: LexborNode, scope: LexborNode | None, texts: dict[int, int]) -> bool:
    """A block with a furniture word ("widget", "share"...) that holds most of the text of
    the article (of the page, when no article block was found; all text: blogs write
    paragraphs with <br>) is the article's wrapper (a CMS's "widget Blog", a share-bar
    parent), not furniture."""
    if scope is None:
        return False
    total = _text_len(scope, texts)
    return total > 0 and _text_len(anc, texts) >= F.WRAPPER_SHARE * total


def _zone(node: LexborNode, container: LexborNode | None,
          texts: dict[int, int] | None = None) -> tuple[str, str]:
    """("ad"|"furniture"|"main"|"loose"|"outside", why): the nearest marked ancestor decides."""
    inside = False
    texts = {} if texts is None else texts
    whole = texts.setdefault(container.mem_id, _ptext(container)) if container is not None else 0
    verdict: tuple[str, str] | None = None
    scope = container if container is not None else _body(node)
    for anc in ancestors(node):
        if container is not None and anc.mem_id == container.mem_id:
            inside = True
            break
        if verdict is None:
            verdict = _mark(anc, container, texts, whole, scope)
    if verdict is not None and (verdict[0] == "ad" or inside or container is None):
        return verdict
    if inside:
        return ("main", "in the article")
    if container is None:  # no article found: decided by the caller (see `_decide`)
        return ("loose", "on a page without an article block")
    return verdict or ("outside", "outside the article")


def _body(node: LexborNode) -> LexborNode | None:
    cur = node.parent
    while cur is not None and cur.tag != "body":
        cur = cur.parent
    return cur


def _short(words: str) -> str:
    return " ".join(words.split())[:60]


def _links_elsewhere(node: LexborNode, page: str) -> str | None:
    """The page an image links to when it is a teaser: an <a> around it with a headline of
    its own, pointing to another HTML page (not to the picture or a media file)."""
    for depth, anc in enumerate(ancestors(node)):
        if depth > 4:
            return None
        if anc.tag != "a":
            continue
        href = abs_url(page, anc.attributes.get("href"))
        if not href or kind_from_suffix(href) or url_path(href).endswith(".svg"):
            return None
        if href.split("#")[0].rstrip("/") == page.split("#")[0].rstrip("/"):
            return None
        text = " ".join((anc.text(deep=True) or "").split())
        return href if len(text) >= 15 else None  # a bare linked picture is no teaser
    return None


# ------------------------------------------------------------------ decision
def _decide(found: Found, container: LexborNode | None, main_imgs: set[str],
            meta_stems: set[str], ignored: list[dict[str, str]],
            texts: dict[int, int], page: str, loose_ok: bool = True) -> MediaRef | None:
    ref = found.ref
    reason = F.tracker_reason(ref.url, found.width, found.height)
    if reason:
        ignored.append({"url": ref.url, "reason": reason})
        return None
    if found.node is None:  # meta / JSON-LD: decided when made
        return ref
    zone, why = _zone(found.node, container, texts)
    if zone == "ad":
        ignored.append({"url": ref.url, "reason": why})
        return None
    small = any(v is not None and v < F.MIN_SIDE for v in (found.width, found.height))
    if small or F.LOGO_URL.search(url_path(ref.url)):
        ref.role, ref.why = "furniture", "icon or logo" if not small else (
            f"small picture ({found.width}x{found.height})")
    elif _stem(ref.url) in meta_stems and _stem(ref.url):
        ref.role, ref.why = "claim", "the page's own picture (og:image) in another size"
    elif zone == "furniture":
        ref.role, ref.why = "furniture", why
    elif ref.url in main_imgs:
        ref.role, ref.why = "claim", "in the main content"
    elif ref.kind == "image" and (target := _links_elsewhere(found.node, page)):
        ref.role, ref.why = "furniture", f"a teaser: links to another page ({target[:80]})"
    elif zone == "main" or (zone == "loose" and loose_ok):
        ref.role, ref.why = "claim", why
    else:
        ref.role, ref.why = "furniture", why
    return ref


def classify(html: str, url: str, engine: str = "trafilatura"
             ) -> tuple[PageRecord, list[MediaRef], list[dict[str, str]]]:
    """The page record, every media reference with its role, and the skipped trackers/ads."""
    tree = parse_html(html)
    base = base_url(tree, url)
    rec = page_record(tree, url)
    container = primary_container(tree)
    try:
        main_imgs = main_content_images(html, base, engine)
    except Exception:  # the library failing on hostile HTML leaves our own rules
        main_imgs = set()
    found = [*meta_refs(tree, base), *jsonld_refs(tree, base), *body_refs(tree, base)]
    meta_stems = {_stem(f.ref.url) for f in found
                  if f.node is None and f.ref.role == "claim" and f.ref.kind == "image"}
    ignored: list[dict[str, str]] = []
    refs: dict[str, MediaRef] = {}
    texts: dict[int, int] = {}
    # Without an article block, a page of a few pictures keeps them (a bare claim page); a
    # page of many (a portal, a magazine index) keeps only what the extractor calls content.
    loose_ok = container is not None or (
        not main_imgs and sum(1 for f in found if f.node is not None) <= LOOSE_PAGE_MAX)
    for f in found:
        ref = _decide(f, container, main_imgs, meta_stems, ignored, texts, url, loose_ok)
        if ref is None:
            continue
        old = refs.get(ref.url)
        if old is None or (old.role == "furniture" and ref.role == "claim"):
            refs[ref.url] = ref
    claimed = [r for r in refs.values() if r.role == "claim"]
    rest = [r for r in refs.values() if r.role != "claim"]
    return rec, claimed + rest, _dedupe_ignored(ignored)


def _dedupe_ignored(items: list[dict[str, str]]) -> list[dict[str, str]]:
    seen: dict[str, dict[str, str]] = {}
    for item in items:
        seen.setdefault(item["url"], item)
    return list(seen.values())


def parse_article(html: str | bytes, url: str) -> tuple[PageRecord, list[MediaRef]]:
    """`classify` for callers that want (record, refs); the ignored list is in the record."""
    if isinstance(html, bytes):
        html = html.decode("utf-8", errors="replace")
    rec, refs, ignored = classify(html, url)
    rec.ignored, rec.source = ignored, "article"
    return rec, refs


# ------------------------------------------------------------------ the source
@register
class ArticleSource(Source):
    """Any web page: the article's own media are claim, the rest furniture."""

    name = "article"
    generic = True

    def resolve(self, ctx: Context, url: str) -> Resolution | None:
        land = ctx.landing(url)
        if land.html is None:
            return None
        rec, refs = parse_article(land.html, land.resp.final_url)
        return Resolution(rec, refs)
