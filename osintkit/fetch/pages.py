"""Fetch stage: what a page is (`PageRecord`, `MediaRef`) and the helpers that read one.

Pure functions over HTML text, parsed with selectolax (lexbor): no network here. The
sources (sources/article.py, sources/telegram.py...) use these helpers to find a page's
media; `osintkit.fetch.sources.parse_page(html, url)` picks the right one.
Everything read from a page is untrusted text: renderers must escape it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser

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
def parse_html(html: str | bytes) -> LexborHTMLParser:
    if isinstance(html, bytes):
        html = html.decode("utf-8", errors="replace")
    return LexborHTMLParser(html)


def clean_text(text: str | None) -> str | None:
    if text is None:
        return None
    text = " ".join(text.split())
    return text or None


def abs_url(base: str, raw: str | None) -> str | None:
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


def url_suffix(url: str) -> str:
    try:
        path = urlsplit(url).path
    except ValueError:  # malformed: the suffix of what is there
        path = url
    return PurePosixPath(path).suffix.lower()


def kind_from_suffix(url: str) -> str | None:
    suffix = url_suffix(url)
    if suffix in _VIDEO_SUFFIXES:
        return "video"
    return "image" if suffix in MEDIA_SUFFIXES else None


def base_url(tree: LexborHTMLParser, url: str) -> str:
    base = tree.css_first("base[href]")
    return urljoin(url, base.attributes.get("href") or "") if base else url


def meta_content(tree: LexborHTMLParser, *names: str) -> str | None:
    """First non-empty <meta property|name|itemprop=NAME content=...>."""
    for name in names:
        for attr in ("property", "name", "itemprop"):
            node = tree.css_first(f'meta[{attr}="{name}"]')
            if node is not None:
                value = clean_text(node.attributes.get("content"))
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


# ------------------------------------------------------------------ JSON-LD
def jsonld_objects(data: Any) -> Iterator[dict[str, Any]]:
    stack = [data]
    while stack:
        obj = stack.pop()
        if isinstance(obj, dict):
            yield obj
            stack.extend(reversed(list(obj.values())))
        elif isinstance(obj, list):
            stack.extend(reversed(obj))


def jsonld_blocks(tree: LexborHTMLParser) -> list[Any]:
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


def jsonld_types(obj: dict[str, Any]) -> set[str]:
    t = obj.get("@type")
    return {str(x) for x in t} if isinstance(t, list) else {str(t)}


def dedupe(refs: Iterable[MediaRef]) -> list[MediaRef]:
    seen: set[str] = set()
    out = []
    for ref in refs:
        if ref.url not in seen:
            seen.add(ref.url)
            out.append(ref)
    return out


# ------------------------------------------------------------------ page record
def jsonld_field(tree: LexborHTMLParser, key: str) -> str | None:
    for data in jsonld_blocks(tree):
        for obj in jsonld_objects(data):
            value = obj.get(key)
            if isinstance(value, dict):
                value = value.get("name")
            if isinstance(value, list) and value and isinstance(value[0], dict):
                value = value[0].get("name")
            if isinstance(value, str) and value.strip():
                return clean_text(value)
    return None


def _published(tree: LexborHTMLParser) -> str | None:
    found = meta_content(tree, "article:published_time", "og:published_time", "datePublished",
                  "date", "pubdate", "publishdate", "dc.date", "DC.date.issued")
    if found:
        return found
    found = jsonld_field(tree, "datePublished")
    if found:
        return found
    node = tree.css_first("time[datetime]")
    return clean_text(node.attributes.get("datetime")) if node is not None else None


def _title(tree: LexborHTMLParser) -> str | None:
    node = tree.css_first("title")
    return meta_content(tree, "og:title", "twitter:title") or (
        clean_text(node.text()) if node is not None else None)


def page_record(tree: LexborHTMLParser, url: str) -> PageRecord:
    """Title, publication time, author and description of a generic HTML page."""
    return PageRecord(url=url, final_url=url, kind="html", title=_title(tree),
                      published_at=_published(tree),
                      author=(meta_content(tree, "author", "article:author")
                              or jsonld_field(tree, "author")),
                      text=meta_content(tree, "og:description", "description",
                                        "twitter:description"))


# ------------------------------------------------------------------ responses
PAGE_CAP = 16_000_000  # a page bigger than this (and not media) is not parsed


def is_html(resp: Any) -> bool:
    """Does a fetched response hold a page (by its Content-Type, else its first bytes)?"""
    ctype = resp.headers.get("Content-Type", "").lower()
    if "html" in ctype:
        return True
    return resp.head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def decode_html(resp: Any) -> str:
    """The text of a fetched page, in the charset its Content-Type names (else UTF-8)."""
    ctype = resp.headers.get("Content-Type", "")
    charset = "utf-8"
    for part in ctype.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip("\"'")
    data = resp.path.read_bytes()
    try:
        return data.decode(charset, errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")
