"""Source `article`: a generic web page (news article, blog post): its own media vs furniture.

The article's own media are found three ways, and everything else is furniture:
  1. the page's description of itself: og:image / twitter:image / og:video and JSON-LD
     `image` / `video` of the Article (not the publisher's logo, not other objects);
  2. the main content as a well-kept extraction library sees it (trafilatura: its
     images are the article's figures; measured against readability-lxml in
     scripts/bench_fetch.py, see the README);
  3. our own rules for media outside the text: the article container (the <article>,
     articleBody or main block holding the most paragraph text) with its lead image,
     figures, galleries and video players, minus the blocks inside it that are furniture
     (related stories, share bars, author boxes...). The nearest marked ancestor decides.
Trackers and ad/recommendation widgets are skipped (`PageRecord.ignored`). Word lists and
thresholds are in `osintkit.fetch.furniture`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from osintkit.fetch import furniture as F
from osintkit.fetch.pages import (
    MediaRef,
    PageRecord,
    abs_url,
    base_url,
    jsonld_blocks,
    jsonld_objects,
    jsonld_types,
    kind_from_suffix,
    largest_srcset,
    page_record,
    parse_html,
    parse_srcset,
    url_suffix,
)

_CONTAINERS = "article, main, [itemprop=articleBody], [role=main]"
LOOSE_PAGE_MAX = 6  # body pictures on a page without an article block kept as claim
_MAX_DEPTH = 40


@dataclass
class _Found:
    ref: MediaRef
    node: LexborNode | None = None
    width: int | None = None
    height: int | None = None


# ------------------------------------------------------------------ helpers
def _words(node: LexborNode) -> str:
    a = node.attributes
    return f"{a.get('class') or ''} {a.get('id') or ''} {a.get('data-component') or ''}".strip()


def _int(value: str | None) -> int | None:
    value = (value or "").strip().removesuffix("px")
    return int(value) if value.isdigit() else None


def _ptext(node: LexborNode) -> int:
    return sum(len(p.text(deep=True) or "") for p in node.css("p"))


def _path(url: str) -> str:
    try:
        return urlsplit(url).path
    except ValueError:  # a malformed URL kept to become one failed item
        return url


def _stem(url: str) -> str:
    """A picture's name without size variants ('lead-1200x630.jpg' ~ 'lead-480.jpg')."""
    name = _path(url).rsplit("/", 1)[-1].lower()
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


def _ancestors(node: LexborNode) -> Iterator[LexborNode]:
    cur, depth = node.parent, 0
    while cur is not None and cur.tag not in ("body", "html", "-undef") and depth < _MAX_DEPTH:
        yield cur
        cur, depth = cur.parent, depth + 1


def _mark(anc: LexborNode, container: LexborNode | None, texts: dict[int, int],
          whole: int) -> tuple[str, str] | None:
    """What one ancestor says about the media inside it, or None."""
    words = _words(anc)
    if F.AD_WIDGET.search(words):
        return ("ad", f"ad/recommendation widget ({_short(words)})")
    if anc.tag in ("nav", "footer", "aside") or (anc.tag == "header" and container is None):
        return ("furniture", f"<{anc.tag}> block")
    if F.FURNITURE_WORDS.search(words) and not F.MEDIA_BLOCK.search(words) \
            and not F.MAIN_WORDS.search(words):
        return ("furniture", f"{_short(words)} block")
    if anc.tag == "article" and container is not None and \
            texts.setdefault(anc.mem_id, _ptext(anc)) < 0.3 * whole:
        return ("furniture", "another article's teaser")
    return None


def _zone(node: LexborNode, container: LexborNode | None,
          texts: dict[int, int] | None = None) -> tuple[str, str]:
    """("ad"|"furniture"|"main"|"loose"|"outside", why): the nearest marked ancestor decides."""
    inside = False
    texts = {} if texts is None else texts
    whole = texts.setdefault(container.mem_id, _ptext(container)) if container is not None else 0
    verdict: tuple[str, str] | None = None
    for anc in _ancestors(node):
        if container is not None and anc.mem_id == container.mem_id:
            inside = True
            break
        if verdict is None:
            verdict = _mark(anc, container, texts, whole)
    if verdict is not None and (verdict[0] == "ad" or inside or container is None):
        return verdict
    if inside:
        return ("main", "in the article")
    if container is None:  # no article found: decided by the caller (see `_decide`)
        return ("loose", "on a page without an article block")
    return verdict or ("outside", "outside the article")


def _short(words: str) -> str:
    return " ".join(words.split())[:60]


# ------------------------------------------------------------------ candidates
def _meta_refs(tree: LexborHTMLParser, base: str) -> Iterator[_Found]:
    names = (("og:video:secure_url", "video"), ("og:video:url", "video"), ("og:video", "video"),
             ("og:image:secure_url", "image"), ("og:image:url", "image"), ("og:image", "image"),
             ("twitter:image", "image"), ("twitter:image:src", "image"),
             ("twitter:player:stream", "video"))
    for name, kind in names:
        for attr in ("property", "name"):
            for node in tree.css(f'meta[{attr}="{name}"]'):
                url = abs_url(base, node.attributes.get("content"))
                if url:
                    src = name.split(":url")[0].split(":secure")[0]
                    ref = MediaRef(url, kind, src, why=f"{src} of the page")
                    if F.LOGO_URL.search(_path(url)):
                        ref.role, ref.why = "furniture", f"{src} is the site's default picture"
                    yield _Found(ref)


def _ld_urls(value: Any) -> Iterator[str]:
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            for key in ("contentUrl", "url", "embedUrl"):
                if isinstance(item.get(key), str):
                    yield item[key]
                    break


def _ld_images(obj: dict[str, Any], types: set[str], base: str) -> Iterator[_Found]:
    own = bool(types & F.ARTICLE_TYPES)
    label = "/".join(sorted(types)) or "thing"
    for key in ("image", "thumbnailUrl", "primaryImageOfPage", "associatedMedia"):
        for raw in _ld_urls(obj.get(key)):
            url = abs_url(base, raw)
            if not url:
                continue
            ref = MediaRef(url, "image", f"json-ld:{key}", why=f"JSON-LD {key} of the {label}")
            if not own or F.LOGO_URL.search(_path(url)):
                ref.role, ref.why = "furniture", f"JSON-LD {key} of a {label}"
            yield _Found(ref)


def _jsonld_refs(tree: LexborHTMLParser, base: str) -> Iterator[_Found]:
    for data in jsonld_blocks(tree):
        for obj in jsonld_objects(data):
            types = jsonld_types(obj)
            if "VideoObject" in types:
                for raw in _ld_urls(obj.get("contentUrl") or obj.get("embedUrl")):
                    url = abs_url(base, raw)
                    if url:
                        yield _Found(MediaRef(url, "video", "json-ld:VideoObject",
                                              why="JSON-LD video of the page"))
            yield from _ld_images(obj, types, base)
            for raw in _ld_urls(obj.get("logo")):
                url = abs_url(base, raw)
                if url:
                    yield _Found(MediaRef(url, "image", "json-ld:logo", role="furniture",
                                          why="publisher logo"))


def _img_url(node: LexborNode, base: str) -> str | None:
    a = node.attributes
    raw = (largest_srcset(a.get("srcset") or a.get("data-srcset") or a.get("data-lazy-srcset"))
           or a.get("data-src") or a.get("data-lazy-src") or a.get("data-original")
           or a.get("data-hi-res-src") or a.get("data-src-large") or a.get("data-full-src")
           or a.get("src"))
    if raw and raw.strip().startswith("data:"):
        raw = a.get("data-src") or a.get("data-original")
    return abs_url(base, raw)


def _picture_url(pic: LexborNode, base: str) -> str | None:
    """The largest candidate of a <picture> (all its <source>s and its <img>)."""
    best: tuple[float, str] | None = None
    for node in pic.css("source, img"):
        a = node.attributes
        for attr in ("srcset", "data-srcset"):
            for url, size in parse_srcset(a.get(attr) or ""):
                if not url.startswith("data:") and (best is None or size > best[0]):
                    best = (size, url)
    if best is None:
        img = pic.css_first("img")
        return _img_url(img, base) if img is not None else None
    return abs_url(base, best[1])


def _picture_refs(tree: LexborHTMLParser, base: str) -> Iterator[_Found]:
    for node in tree.css("picture, img, amp-img"):
        if node.tag == "img" and any(a.tag == "picture" for a in _ancestors(node)):
            continue  # one picture, many sizes: its largest candidate only
        url = _picture_url(node, base) if node.tag == "picture" else _img_url(node, base)
        if url and url_suffix(url) != ".svg":
            a = (node.css_first("img") or node).attributes
            yield _Found(MediaRef(url, "image", "img"), node, _int(a.get("width")),
                         _int(a.get("height")))


def _video_refs(tree: LexborHTMLParser, base: str) -> Iterator[_Found]:
    for video in tree.css("video"):
        poster = abs_url(base, video.attributes.get("poster"))
        for raw in [video.attributes.get("src")] + [s.attributes.get("src")
                                                    for s in video.css("source")]:
            url = abs_url(base, raw)
            if url:
                yield _Found(MediaRef(url, "video", "video", poster=poster), video)
        if poster:
            yield _Found(MediaRef(poster, "image", "video[poster]"), video)
    for frame in tree.css("iframe[src], iframe[data-src]"):
        url = abs_url(base, frame.attributes.get("src") or frame.attributes.get("data-src"))
        if url and F.is_player(url):
            yield _Found(MediaRef(url, "video", "iframe:player", fetchable=False,
                                  reason="an embedded video player: fetch its URL with "
                                         "`osintkit fetch --source ytdlp`"), frame)


def _body_refs(tree: LexborHTMLParser, base: str) -> Iterator[_Found]:
    yield from _picture_refs(tree, base)
    yield from _video_refs(tree, base)
    for node in tree.css("a[href]"):
        url = abs_url(base, node.attributes.get("href"))
        if url and kind_from_suffix(url):
            yield _Found(MediaRef(url, kind_from_suffix(url), "a[href]"), node)


def main_content_images(html: str, url: str, engine: str = "trafilatura") -> set[str]:
    """Image URLs of the main content as the extraction library sees it ("none": no library)."""
    if engine == "none":
        return set()
    if engine == "readability":  # measured in scripts/bench_fetch.py, not used by default
        from readability import Document

        content = Document(html).summary(html_partial=True)
        tree = parse_html(content)
        return {u for n in tree.css("img") if (u := _img_url(n, url))}
    import trafilatura

    xml = trafilatura.extract(html, url=url, include_images=True, output_format="xml",
                              favor_recall=True, with_metadata=False) or ""
    return {u for m in re.finditer(r'<graphic src="([^"]+)"', xml)
            if (u := abs_url(url, m.group(1).replace("&amp;", "&")))}


def _links_elsewhere(node: LexborNode, page: str) -> str | None:
    """The page an image links to when it is a teaser: an <a> around it with a headline of
    its own, pointing to another HTML page (not to the picture or a media file)."""
    for depth, anc in enumerate(_ancestors(node)):
        if depth > 4:
            return None
        if anc.tag != "a":
            continue
        href = abs_url(page, anc.attributes.get("href"))
        if not href or kind_from_suffix(href) or _path(href).endswith(".svg"):
            return None
        if href.split("#")[0].rstrip("/") == page.split("#")[0].rstrip("/"):
            return None
        text = " ".join((anc.text(deep=True) or "").split())
        return href if len(text) >= 15 else None  # a bare linked picture is no teaser
    return None


# ------------------------------------------------------------------ decision
def _decide(found: _Found, container: LexborNode | None, main_imgs: set[str],
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
    if small or F.LOGO_URL.search(_path(ref.url)):
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
    found = [*_meta_refs(tree, base), *_jsonld_refs(tree, base), *_body_refs(tree, base)]
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
from osintkit.fetch.sources.base import Context, Resolution, Source, register  # noqa: E402


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
