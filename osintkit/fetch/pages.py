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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TelegramPost:
    """One `div.tgme_widget_message`: a public channel post (or an album)."""

    post_id: str  # "channel/1234" (the `data-post` attribute)
    url: str
    author: str | None = None
    author_url: str | None = None
    text: str | None = None
    published_at: str | None = None
    edited: bool = False
    views: int | None = None
    views_text: str | None = None  # as displayed ("12.3K")
    forwarded_from: dict[str, str | None] | None = None  # {"name", "url"}: provenance
    media: list[MediaRef] = field(default_factory=list)

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
    posts: list[TelegramPost] = field(default_factory=list)
    status: int | None = None
    sha256: str | None = None  # of the page body as served (saved as <sha256>.html)
    path: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # selected response headers
    fetched_at: str | None = None
    ip: str | None = None

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
    url = urldefrag(urljoin(base, raw))[0]
    return url if urlsplit(url).scheme in ("http", "https") else None


def _suffix(url: str) -> str:
    return PurePosixPath(urlsplit(url).path).suffix.lower()


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


# ------------------------------------------------------------------ Telegram
_BG_URL = re.compile(r"""background-image\s*:\s*url\(\s*(['"]?)(.*?)\1\s*\)""", re.I)
_POST_PATH = re.compile(r"^/(?:s/)?([A-Za-z0-9_]{3,64})/(\d+)/?$")


def _style_url(node: LexborNode | None, base: str) -> str | None:
    if node is None:
        return None
    m = _BG_URL.search(node.attributes.get("style") or "")
    return _abs(base, m.group(2)) if m else None


def parse_views(text: str | None) -> int | None:
    """'12.3K' -> 12300, '1.2M' -> 1200000, '845' -> 845."""
    if not text:
        return None
    m = re.fullmatch(r"([\d.,]+)\s*([KkMm]?)", text.strip())
    if not m:
        return None
    try:
        value = float(m.group(1).replace(",", ""))
    except ValueError:
        return None
    return round(value * {"": 1, "k": 1_000, "m": 1_000_000}[m.group(2).lower()])


def _message_text(node: LexborNode | None) -> str | None:
    if node is None:
        return None
    for br in node.css("br"):
        br.replace_with("\n")
    text = node.text(deep=True) or ""
    return "\n".join(" ".join(line.split()) for line in text.splitlines()).strip() or None


def _telegram_video(player: LexborNode, msg: LexborNode, base: str, post_id: str) -> MediaRef:
    poster = _style_url(player.css_first(".tgme_widget_message_video_thumb"), base)
    dur = player.css_first(".message_video_duration")
    duration = _clean(dur.text()) if dur is not None else None
    video = player.css_first("video[src]")
    url = _abs(base, video.attributes.get("src")) if video is not None else None
    href = _abs(base, player.attributes.get("href"))
    if url and player.css_first(".message_media_not_supported") is None:
        return MediaRef(url, "video", "telegram:video", post_id, poster, duration)
    label = (player.css_first(".message_media_not_supported_label")
             or msg.css_first(".message_media_not_supported_label"))
    reason = _clean(label.text()) if label is not None else "video not offered on the web"
    return MediaRef(href or poster or base, "video", "telegram:video", post_id, poster, duration,
                    fetchable=False, reason=f"Telegram shows '{reason}': open the post in a "
                                            "Telegram app to get this file")


def _telegram_media(msg: LexborNode, base: str, post_id: str) -> list[MediaRef]:
    refs: list[MediaRef] = []
    # Document order keeps album items in their displayed order.
    for node in msg.css(".tgme_widget_message_photo_wrap, .tgme_widget_message_video_player"):
        if "tgme_widget_message_video_player" in (node.attributes.get("class") or ""):
            refs.append(_telegram_video(node, msg, base, post_id))
            continue
        url = _style_url(node, base)
        if url:
            refs.append(MediaRef(url, "image", "telegram:photo", post_id))
    seen = {r.url for r in refs}
    for video in msg.css("video[src]"):  # round videos and other players outside the above
        url = _abs(base, video.attributes.get("src"))
        if url and url not in seen:
            seen.add(url)
            refs.append(MediaRef(url, "video", "telegram:video", post_id))
    return refs


def _telegram_forward(msg: LexborNode, base: str) -> dict[str, str | None] | None:
    node = msg.css_first(".tgme_widget_message_forwarded_from_name")
    if node is None:
        return None
    return {"name": _clean(node.text()), "url": _abs(base, node.attributes.get("href"))}


def _telegram_edited(msg: LexborNode) -> bool:
    if msg.css_first(".tgme_widget_message_edited") is not None:
        return True
    return any("edited" in (m.text() or "").lower()
               for m in msg.css(".tgme_widget_message_meta"))


def parse_telegram_post(msg: LexborNode, base: str) -> TelegramPost:
    """One Telegram widget message: author, text, time, edited flag, views, forward, media."""
    post_id = msg.attributes.get("data-post") or ""
    owner = msg.css_first(".tgme_widget_message_owner_name")
    date_link = msg.css_first("a.tgme_widget_message_date")
    time_node = msg.css_first(".tgme_widget_message_date time[datetime]") or msg.css_first(
        ".tgme_widget_message_meta time[datetime]")
    views = msg.css_first(".tgme_widget_message_views")
    views_text = _clean(views.text()) if views is not None else None
    url = (_abs(base, date_link.attributes.get("href")) if date_link is not None else None)
    return TelegramPost(
        post_id=post_id,
        url=url or urljoin(base, f"/{post_id}"),
        author=_clean(owner.text()) if owner is not None else None,
        author_url=_abs(base, owner.attributes.get("href")) if owner is not None else None,
        text=_message_text(msg.css_first(".tgme_widget_message_text")),
        published_at=time_node.attributes.get("datetime") if time_node is not None else None,
        edited=_telegram_edited(msg),
        views=parse_views(views_text),
        views_text=views_text,
        forwarded_from=_telegram_forward(msg, base),
        media=_telegram_media(msg, base, post_id),
    )


def wanted_post(url: str) -> str | None:
    """'channel/1234' for t.me/channel/1234, t.me/s/channel/1234 (any host), else None."""
    m = _POST_PATH.match(urlsplit(url).path)
    return f"{m.group(1)}/{m.group(2)}" if m else None


def telegram_embed_url(html: str | bytes, url: str) -> str | None:
    """For a t.me post landing page (`data-telegram-post`, no widget): its `?embed=1` URL."""
    tree = _parse(html)
    if tree.css_first(".tgme_widget_message") is not None:
        return None
    node = tree.css_first("[data-telegram-post]")
    post = node.attributes.get("data-telegram-post") if node is not None else None
    if not post or not re.fullmatch(r"[A-Za-z0-9_]{3,64}/\d+", post):
        return None
    return urljoin(url, f"/{post}?embed=1&mode=tme")


def _album_holding(tree: LexborHTMLParser, want: str) -> str | None:
    """The data-post of the album that shows post `want` as one of its items."""
    channel, msg_id = want.split("/")
    for msg in tree.css(".tgme_widget_message[data-post]"):
        for a in msg.css("a.tgme_widget_message_photo_wrap[href], "
                         "a.tgme_widget_message_video_player[href]"):
            m = _POST_PATH.match(urlsplit(a.attributes.get("href") or "").path)
            if m and m.group(1).lower() == channel.lower() and m.group(2) == msg_id:
                return msg.attributes.get("data-post")
    return None


def _telegram_page(tree: LexborHTMLParser, url: str, base: str) -> tuple[PageRecord, list]:
    posts = [parse_telegram_post(m, base) for m in tree.css(".tgme_widget_message[data-post]")]
    want = wanted_post(url)
    if want and not any(p.post_id.lower() == want.lower() for p in posts):
        want = _album_holding(tree, want) or want  # an album item is shown by its album
    chosen = [p for p in posts if p.post_id.lower() == (want or "").lower()] or (
        posts if not want or len(posts) == 1 else [])
    main = chosen[0] if len(chosen) == 1 else None
    rec = PageRecord(url=url, final_url=url, kind="telegram", posts=chosen,
                     title=_clean(tree.css_first("title").text()) if tree.css_first("title")
                     else None)
    if main is not None:
        rec.published_at, rec.author, rec.text = main.published_at, main.author, main.text
        rec.edited, rec.views, rec.forwarded_from = main.edited, main.views, main.forwarded_from
    return rec, _dedupe(ref for p in chosen for ref in p.media)


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


def parse_page(html: str | bytes, url: str) -> tuple[PageRecord, list[MediaRef]]:
    """The page record and the media it references (Telegram widgets or generic HTML)."""
    tree = _parse(html)
    base = _base_url(tree, url)
    if tree.css_first(".tgme_widget_message[data-post]") is not None:
        return _telegram_page(tree, url, base)
    rec = PageRecord(url=url, final_url=url, kind="html", title=_title(tree),
                     published_at=_published(tree),
                     author=(_meta(tree, "author", "article:author")
                             or _jsonld_field(tree, "author")),
                     text=_meta(tree, "og:description", "description", "twitter:description"))
    refs = _dedupe(ref for finder in FINDERS for ref in finder(tree, base))
    return rec, refs
