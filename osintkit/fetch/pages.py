"""Fetch stage: find the media in a fetched page (generic HTML and Telegram public posts).

Pure functions over HTML text, parsed with selectolax (lexbor): no network here.
`parse_page(html, url)` returns the page record (title, publication time, Telegram post
details) and the media references to download. Generic finders are a list of small
functions (`FINDERS`), each `(tree, base_url) -> Iterable[MediaRef]`.
Everything read from a page is untrusted text: renderers must escape it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from osintkit.media.probe import MEDIA_SUFFIXES

_VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".qt", ".3gp", ".mkv", ".webm", ".avi",
                             ".flv"})
_MAX_JSONLD = 1_000_000  # characters; bigger JSON-LD blocks are skipped, not parsed
_MIN_IMG_SIDE = 50  # <img width/height> below this are icons and tracking pixels


@dataclass
class MediaRef:
    """A media URL found on a page, with what the page says about it."""

    url: str
    kind: str | None  # "image" | "video" | None (unknown until the bytes are seen)
    source: str  # which finder saw it: "og:image", "img", "telegram:photo"...
    post_id: str | None = None
    poster: str | None = None  # a video's still, as shown by the page
    duration: str | None = None  # as displayed ("0:24")
    fetchable: bool = True
    reason: str | None = None  # why it cannot be fetched ("Media is too big")
    posted_at: str | None = None  # when the post carrying it was published (Telegram)
    role: str = "claim"  # "claim": the claim's own media; "furniture": the page's
    why: str | None = None  # the rule that decided the role ("related stories block")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class PageRecord:
    """What the claim page said: title, time, author, text (Telegram: the claimed post)."""

    url: str
    final_url: str
    title: str | None = None
    published_at: str | None = None
    author: str | None = None
    text: str | None = None
    edited: bool = False
    views: int | None = None
    forwarded_from: dict[str, str | None] | None = None
    kind: str = "html"  # "html" | "telegram" | "direct"
    posts: list[Any] = field(default_factory=list)  # sources.telegram.TelegramPost
    status: int | None = None
    sha256: str | None = None  # of the page body as served (saved as <sha256>.html)
    path: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # selected response headers
    fetched_at: str | None = None
    ip: str | None = None
    source: str | None = None  # the source that read it: "article", "telegram", "ytdlp"...
    ignored: list[dict[str, str]] = field(default_factory=list)  # trackers, ad widgets

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ------------------------------------------------------------------ helpers
def _parse(html: str | bytes) -> LexborHTMLParser:
    if isinstance(html, bytes):
        html = html.decode("utf-8", errors="replace")
    return LexborHTMLParser(html)


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    text = " ".join(text.split())
    return text or None


def _abs(base: str, raw: str | None) -> str | None:
    """Absolute http(s) URL, or None for data:, javascript:, blob: and empty values."""
    if not raw:
        return None
    raw = raw.strip()
    if not raw:
        return None
    try:
        url = urldefrag(urljoin(base, raw))[0]
        scheme = urlsplit(url).scheme
    except ValueError:  # "http://[::1/y.jpg": kept as is, so it is one failed item
        return raw if raw.lower().startswith(("http://", "https://")) else None
    return url if scheme in ("http", "https") else None


def _suffix(url: str) -> str:
    try:
        path = urlsplit(url).path
    except ValueError:  # malformed: the suffix of what is there
        path = url
    return PurePosixPath(path).suffix.lower()


def _kind_from_suffix(url: str) -> str | None:
    suffix = _suffix(url)
    if suffix in _VIDEO_SUFFIXES:
        return "video"
    return "image" if suffix in MEDIA_SUFFIXES else None


def _base_url(tree: LexborHTMLParser, url: str) -> str:
    base = tree.css_first("base[href]")
    return urljoin(url, base.attributes.get("href") or "") if base else url


def _meta(tree: LexborHTMLParser, *names: str) -> str | None:
    """First non-empty <meta property|name|itemprop=NAME content=...>."""
    for name in names:
        for attr in ("property", "name", "itemprop"):
            node = tree.css_first(f'meta[{attr}="{name}"]')
            if node is not None:
                value = _clean(node.attributes.get("content"))
                if value:
                    return value
    return None


def parse_srcset(srcset: str) -> list[tuple[str, float]]:
    """`srcset` candidates as (url, size): width for `w`, density x 10 000 for `x`.

    Follows the HTML algorithm (URLs may contain commas, e.g. `w_400,h_300`).
    """
    out: list[tuple[str, float]] = []
    pos, n = 0, len(srcset)
    while pos < n:
        while pos < n and (srcset[pos].isspace() or srcset[pos] == ","):
            pos += 1
        start = pos
        while pos < n and not srcset[pos].isspace():
            pos += 1
        url = srcset[start:pos]
        descriptor = ""
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            start = pos
            while pos < n and srcset[pos] != ",":
                pos += 1
            descriptor = srcset[start:pos].strip()
        if url:
            out.append((url, _descriptor_size(descriptor)))
    return out


def _descriptor_size(descriptor: str) -> float:
    m = re.fullmatch(r"([\d.]+)([wxh])", descriptor.split()[0]) if descriptor else None
    if not m:
        return 1.0 * 10_000  # no descriptor means 1x
    try:
        value = float(m.group(1))
    except ValueError:
        return 0.0
    return value * 10_000 if m.group(2) == "x" else value


def largest_srcset(srcset: str | None) -> str | None:
    """The URL of the largest candidate in a `srcset`."""
    cands = parse_srcset(srcset or "")
    return max(cands, key=lambda c: c[1])[0] if cands else None


# ------------------------------------------------------------------ generic finders
Finder = Callable[[LexborHTMLParser, str], Iterable[MediaRef]]


def find_meta_media(tree: LexborHTMLParser, base: str) -> Iterator[MediaRef]:
    """`og:video`, `og:image`, `twitter:image` (and their `:secure_url` forms)."""
    names = (("og:video:secure_url", "video"), ("og:video:url", "video"), ("og:video", "video"),
             ("og:image:secure_url", "image"), ("og:image:url", "image"), ("og:image", "image"),
             ("twitter:image", "image"), ("twitter:image:src", "image"),
             ("twitter:player:stream", "video"))
    for name, kind in names:
        for attr in ("property", "name"):
            for node in tree.css(f'meta[{attr}="{name}"]'):
                url = _abs(base, node.attributes.get("content"))
                if url:
                    yield MediaRef(url, kind, name.split(":url")[0].split(":secure")[0])


def _jsonld_objects(data: Any) -> Iterator[dict[str, Any]]:
    stack = [data]
    while stack:
        obj = stack.pop()
        if isinstance(obj, dict):
            yield obj
            stack.extend(reversed(list(obj.values())))
        elif isinstance(obj, list):
            stack.extend(reversed(obj))


def _jsonld(tree: LexborHTMLParser) -> list[Any]:
    out = []
    for node in tree.css('script[type="application/ld+json"]'):
        text = node.text() or ""
        if len(text) > _MAX_JSONLD:
            continue
        try:
            out.append(json.loads(text))
        except (ValueError, RecursionError):  # hostile or sloppy pages: the block is skipped
            continue
    return out


def _types(obj: dict[str, Any]) -> set[str]:
    t = obj.get("@type")
    return {str(x) for x in t} if isinstance(t, list) else {str(t)}


def find_jsonld_media(tree: LexborHTMLParser, base: str) -> Iterator[MediaRef]:
    """JSON-LD `ImageObject` / `VideoObject` (`contentUrl`, else `url`) and `image` strings."""
    for data in _jsonld(tree):
        for obj in _jsonld_objects(data):
            types = _types(obj)
            if types & {"ImageObject", "VideoObject"}:
                kind = "video" if "VideoObject" in types else "image"
                raw = obj.get("contentUrl") or (obj.get("url") if kind == "image" else None)
                url = _abs(base, raw) if isinstance(raw, str) else None
                if url:
                    yield MediaRef(url, kind, f"json-ld:{kind.capitalize()}Object")
            image = obj.get("image")
            for raw in image if isinstance(image, list) else [image]:
                url = _abs(base, raw) if isinstance(raw, str) else None
                if url:
                    yield MediaRef(url, "image", "json-ld:image")


def find_video_media(tree: LexborHTMLParser, base: str) -> Iterator[MediaRef]:
    """`<video src>`, `<video><source src>` and the video's poster."""
    for video in tree.css("video"):
        poster = _abs(base, video.attributes.get("poster"))
        srcs = [video.attributes.get("src")] + [s.attributes.get("src")
                                                for s in video.css("source")]
        for raw in srcs:
            url = _abs(base, raw)
            if url:
                yield MediaRef(url, "video", "video", poster=poster)
        if poster:
            yield MediaRef(poster, "image", "video[poster]")


def _too_small(node: LexborNode) -> bool:
    for attr in ("width", "height"):
        value = (node.attributes.get(attr) or "").strip().removesuffix("px")
        if value.isdigit() and int(value) < _MIN_IMG_SIDE:
            return True
    return False


def find_img_media(tree: LexborHTMLParser, base: str) -> Iterator[MediaRef]:
    """`<img>` and `<picture><source>`: the largest `srcset` candidate, else `src`.

    Lazy-loading attributes (`data-srcset`, `data-src`) count too; icons and tracking
    pixels (declared smaller than 50 px) and SVGs are left out.
    """
    for node in tree.css("picture source[srcset], img"):
        if node.tag == "img" and _too_small(node):
            continue
        a = node.attributes
        raw = (largest_srcset(a.get("srcset") or a.get("data-srcset"))
               or a.get("data-src") or a.get("data-original") or a.get("src"))
        url = _abs(base, raw)
        if url and _suffix(url) != ".svg":
            yield MediaRef(url, "image", "img")


def find_link_media(tree: LexborHTMLParser, base: str) -> Iterator[MediaRef]:
    """`<a href>` pointing at a media file (by suffix; the bytes decide later)."""
    for node in tree.css("a[href]"):
        url = _abs(base, node.attributes.get("href"))
        if url and _kind_from_suffix(url):
            yield MediaRef(url, _kind_from_suffix(url), "a[href]")


FINDERS: list[Finder] = [find_meta_media, find_jsonld_media, find_video_media,
                         find_img_media, find_link_media]


def _dedupe(refs: Iterable[MediaRef]) -> list[MediaRef]:
    seen: set[str] = set()
    out = []
    for ref in refs:
        if ref.url not in seen:
            seen.add(ref.url)
            out.append(ref)
    return out


def find_media(html: str | bytes, base_url: str) -> list[MediaRef]:
    """Media referenced by a page, best first, without duplicates."""
    return parse_page(html, base_url)[1]


# ------------------------------------------------------------------ page record
def _jsonld_field(tree: LexborHTMLParser, key: str) -> str | None:
    for data in _jsonld(tree):
        for obj in _jsonld_objects(data):
            value = obj.get(key)
            if isinstance(value, dict):
                value = value.get("name")
            if isinstance(value, list) and value and isinstance(value[0], dict):
                value = value[0].get("name")
            if isinstance(value, str) and value.strip():
                return _clean(value)
    return None


def _published(tree: LexborHTMLParser) -> str | None:
    found = _meta(tree, "article:published_time", "og:published_time", "datePublished",
                  "date", "pubdate", "publishdate", "dc.date", "DC.date.issued")
    if found:
        return found
    found = _jsonld_field(tree, "datePublished")
    if found:
        return found
    node = tree.css_first("time[datetime]")
    return _clean(node.attributes.get("datetime")) if node is not None else None


def _title(tree: LexborHTMLParser) -> str | None:
    node = tree.css_first("title")
    return _meta(tree, "og:title", "twitter:title") or (
        _clean(node.text()) if node is not None else None)


def page_record(tree: LexborHTMLParser, url: str) -> PageRecord:
    """Title, publication time, author and description of a generic HTML page."""
    return PageRecord(url=url, final_url=url, kind="html", title=_title(tree),
                      published_at=_published(tree),
                      author=(_meta(tree, "author", "article:author")
                              or _jsonld_field(tree, "author")),
                      text=_meta(tree, "og:description", "description", "twitter:description"))


def parse_page(html: str | bytes, url: str, *,
               all_posts: bool = False) -> tuple[PageRecord, list[MediaRef]]:
    """The page record and the media it references, each with its role (claim/furniture).

    Telegram widget pages go to the telegram source's parser, anything else to the
    article source's (main content, lead image, players and galleries vs page furniture).
    """
    from osintkit.fetch.sources import article, telegram

    if telegram.is_telegram_page(html) and _parse(html).css_first(
            ".tgme_widget_message[data-post]") is not None:
        return telegram.parse_telegram(html, url, all_posts=all_posts)
    return article.parse_article(html, url)
