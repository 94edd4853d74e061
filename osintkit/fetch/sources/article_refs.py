"""Source `article`, step 1: every media reference a page makes, with where it was found:
the page's description of itself (og:/twitter: meta, JSON-LD), pictures, players and
links in the body, and the main content as the extraction library sees it. article.py
decides which are the article's own (claim) and which are furniture.
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
    abs_url,
    jsonld_blocks,
    jsonld_objects,
    jsonld_types,
    kind_from_suffix,
    largest_srcset,
    parse_html,
    parse_srcset,
    url_suffix,
)

_MAX_DEPTH = 40


@dataclass
class Found:
    """A media reference with the element it came from (None: meta, JSON-LD) and the
    size the page declares for it."""

    ref: MediaRef
    node: LexborNode | None = None
    width: int | None = None
    height: int | None = None



def _int(value: str | None) -> int | None:
    value = (value or "").strip().removesuffix("px")
    return int(value) if value.isdigit() else None


def url_path(url: str) -> str:
    """The path of a URL (the URL itself when it is malformed)."""
    try:
        return urlsplit(url).path
    except ValueError:  # a malformed URL kept to become one failed item
        return url


def ancestors(node: LexborNode) -> Iterator[LexborNode]:
    """The elements around `node`, nearest first, up to the body (at most _MAX_DEPTH)."""
    cur, depth = node.parent, 0
    while cur is not None and cur.tag not in ("body", "html", "-undef") and depth < _MAX_DEPTH:
        yield cur
        cur, depth = cur.parent, depth + 1


def meta_refs(tree: LexborHTMLParser, base: str) -> Iterator[Found]:
    """og:video / og:image / twitter:image of the page (a site's default picture: furniture)."""
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
                    if F.LOGO_URL.search(url_path(url)):
                        ref.role, ref.why = "furniture", f"{src} is the site's default picture"
                    yield Found(ref)


def _ld_urls(value: Any) -> Iterator[str]:
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            for key in ("contentUrl", "url", "embedUrl"):
                if isinstance(item.get(key), str):
                    yield item[key]
                    break


def _ld_images(obj: dict[str, Any], types: set[str], base: str) -> Iterator[Found]:
    own = bool(types & F.ARTICLE_TYPES)
    label = "/".join(sorted(types)) or "thing"
    for key in ("image", "thumbnailUrl", "primaryImageOfPage", "associatedMedia"):
        for raw in _ld_urls(obj.get(key)):
            url = abs_url(base, raw)
            if not url:
                continue
            ref = MediaRef(url, "image", f"json-ld:{key}", why=f"JSON-LD {key} of the {label}")
            if not own or F.LOGO_URL.search(url_path(url)):
                ref.role, ref.why = "furniture", f"JSON-LD {key} of a {label}"
            yield Found(ref)


def jsonld_refs(tree: LexborHTMLParser, base: str) -> Iterator[Found]:
    """JSON-LD videos, images of the article (of other objects: furniture) and logos."""
    for data in jsonld_blocks(tree):
        for obj in jsonld_objects(data):
            types = jsonld_types(obj)
            if "VideoObject" in types:
                for raw in _ld_urls(obj.get("contentUrl") or obj.get("embedUrl")):
                    url = abs_url(base, raw)
                    if url:
                        yield Found(MediaRef(url, "video", "json-ld:VideoObject",
                                              why="JSON-LD video of the page"))
            yield from _ld_images(obj, types, base)
            for raw in _ld_urls(obj.get("logo")):
                url = abs_url(base, raw)
                if url:
                    yield Found(MediaRef(url, "image", "json-ld:logo", role="furniture",
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


def _picture_refs(tree: LexborHTMLParser, base: str) -> Iterator[Found]:
    for node in tree.css("picture, img, amp-img"):
        if node.tag == "img" and any(a.tag == "picture" for a in ancestors(node)):
            continue  # one picture, many sizes: its largest candidate only
        url = _picture_url(node, base) if node.tag == "picture" else _img_url(node, base)
        if url and url_suffix(url) != ".svg":
            a = (node.css_first("img") or node).attributes
            yield Found(MediaRef(url, "image", "img"), node, _int(a.get("width")),
                         _int(a.get("height")))


def _video_refs(tree: LexborHTMLParser, base: str) -> Iterator[Found]:
    for video in tree.css("video"):
        poster = abs_url(base, video.attributes.get("poster"))
        for raw in [video.attributes.get("src")] + [s.attributes.get("src")
                                                    for s in video.css("source")]:
            url = abs_url(base, raw)
            if url:
                yield Found(MediaRef(url, "video", "video", poster=poster), video)
        if poster:
            yield Found(MediaRef(poster, "image", "video[poster]"), video)
    for frame in tree.css("iframe[src], iframe[data-src]"):
        url = abs_url(base, frame.attributes.get("src") or frame.attributes.get("data-src"))
        if url and F.is_player(url):
            yield Found(MediaRef(url, "video", "iframe:player", fetchable=False,
                                  reason="an embedded video player: fetch its URL with "
                                         "`osintkit fetch --source ytdlp`"), frame)


def body_refs(tree: LexborHTMLParser, base: str) -> Iterator[Found]:
    """Pictures, videos, players and links to media files in the page's body."""
    yield from _picture_refs(tree, base)
    yield from _video_refs(tree, base)
    for node in tree.css("a[href]"):
        url = abs_url(base, node.attributes.get("href"))
        if url and kind_from_suffix(url):
            yield Found(MediaRef(url, kind_from_suffix(url), "a[href]"), node)


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
