"""Source `telegram`: public channel posts from Telegram's web previews (no API, no login).

Three page shapes carry the same `div.tgme_widget_message[data-post]` markup:
  - a post's embed widget  t.me/<channel>/<id>?embed=1   (one post)
  - a channel page         t.me/s/<channel>[/<id>]       (about 20 posts, cursors)
  - a post's landing page  t.me/<channel>/<id>           (no post: points to its widget)
Roles: the claimed post's own photos and videos are `claim`; the channel avatar, link
previews and every other post on a channel page are `furniture` (all posts are claim when
the URL names no post, or with `all_posts`).

For walking a channel's history (issue 17) use the per-post records directly:
`parse_channel_page(html, url)` returns a `ChannelPage` (channel, posts with their
time, views, forward origin and media, and the `before`/`after` cursors) and
`channel_page_url(channel, before=...)` the next page to read.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from osintkit.fetch.pages import MediaRef, PageRecord, abs_url, clean_text, dedupe, parse_html

HOSTS = frozenset({"t.me", "www.t.me", "telegram.me", "www.telegram.me", "telegram.dog"})
_BG_URL = re.compile(r"""background-image\s*:\s*url\(\s*(['"]?)(.*?)\1\s*\)""", re.I)
_POST_PATH = re.compile(r"^/(?:s/)?([A-Za-z0-9_]{3,64})/(\d+)/?$")
_CHANNEL_PATH = re.compile(r"^/(?:s/)?([A-Za-z0-9_]{3,64})(?:/(\d+))?/?$")


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
    service: bool = False  # "Channel created", "pinned ...": no content of its own

    @property
    def number(self) -> int | None:
        """The message id within its channel (1234 of "channel/1234")."""
        tail = self.post_id.rsplit("/", 1)[-1]
        return int(tail) if tail.isdigit() else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ChannelPage:
    """A t.me/s/<channel> page: its posts (oldest first) and the cursors to page on."""

    channel: str | None
    title: str | None = None
    avatar: str | None = None
    posts: list[TelegramPost] = field(default_factory=list)
    before: int | None = None  # older posts: channel_page_url(channel, before=before)
    after: int | None = None  # newer posts


# ------------------------------------------------------------------ helpers
def _style_url(node: LexborNode | None, base: str) -> str | None:
    if node is None:
        return None
    m = _BG_URL.search(node.attributes.get("style") or "")
    return abs_url(base, m.group(2)) if m else None


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


def _video(player: LexborNode, msg: LexborNode, base: str, post_id: str,
           when: str | None) -> MediaRef:
    poster = _style_url(player.css_first(".tgme_widget_message_video_thumb"), base)
    dur = player.css_first(".message_video_duration")
    duration = clean_text(dur.text()) if dur is not None else None
    # Real pages always carry a hidden "not supported in your browser" block beside the
    # <video>: a video source present means the file is offered ("Media is too big" has none).
    video = (player.css_first(".tgme_widget_message_video_wrap video[src]")
             or player.css_first("video[src]"))
    url = abs_url(base, video.attributes.get("src")) if video is not None else None
    href = abs_url(base, player.attributes.get("href"))
    if url:
        return MediaRef(url, "video", "telegram:video", post_id, poster, duration,
                        posted_at=when)
    label = (player.css_first(".message_media_not_supported_label")
             or msg.css_first(".message_media_not_supported_label"))
    reason = clean_text(label.text()) if label is not None else "video not offered on the web"
    return MediaRef(href or poster or base, "video", "telegram:video", post_id, poster, duration,
                    fetchable=False, posted_at=when,
                    reason=f"Telegram shows '{reason}': open the post in a Telegram app to "
                           "get this file")


def _media(msg: LexborNode, base: str, post_id: str, when: str | None) -> list[MediaRef]:
    refs: list[MediaRef] = []
    # Document order keeps album items in their displayed order.
    for node in msg.css(".tgme_widget_message_photo_wrap, .tgme_widget_message_video_player"):
        if node.css_first(".tgme_widget_message_video_thumb") is not None or \
                "tgme_widget_message_video_player" in (node.attributes.get("class") or ""):
            refs.append(_video(node, msg, base, post_id, when))
            continue
        url = _style_url(node, base)
        if url:
            refs.append(MediaRef(url, "image", "telegram:photo", post_id, posted_at=when))
    seen = {r.url for r in refs}
    for player in msg.css(".tgme_widget_message_video_player"):
        seen.update(abs_url(base, v.attributes.get("src")) for v in player.css("video[src]"))
    for video in msg.css("video[src]"):  # round videos and other players outside the above
        url = abs_url(base, video.attributes.get("src"))
        if url and url not in seen:
            seen.add(url)
            refs.append(MediaRef(url, "video", "telegram:video", post_id, posted_at=when))
    # Furniture of the post: a link preview's picture shows the linked page, not the post.
    for node in msg.css(".link_preview_image, .link_preview_right_image"):
        url = _style_url(node, base) or abs_url(base, node.attributes.get("src"))
        if url and url not in seen:
            seen.add(url)
            refs.append(MediaRef(url, "image", "telegram:link_preview", post_id,
                                 posted_at=when, role="furniture",
                                 why="link preview (the linked page's picture)"))
    return refs


def _forward(msg: LexborNode, base: str) -> dict[str, str | None] | None:
    node = msg.css_first(".tgme_widget_message_forwarded_from_name")
    if node is None:
        return None
    return {"name": clean_text(node.text()), "url": abs_url(base, node.attributes.get("href"))}


def _edited(msg: LexborNode) -> bool:
    if msg.css_first(".tgme_widget_message_edited") is not None:
        return True
    return any("edited" in (m.text() or "").lower()
               for m in msg.css(".tgme_widget_message_meta"))


def parse_telegram_post(msg: LexborNode, base: str) -> TelegramPost:
    """One widget message: author, text, time, edited flag, views, forward, media."""
    post_id = msg.attributes.get("data-post") or ""
    owner = msg.css_first(".tgme_widget_message_owner_name")
    date_link = msg.css_first("a.tgme_widget_message_date")
    time_node = msg.css_first(".tgme_widget_message_date time[datetime]") or msg.css_first(
        ".tgme_widget_message_meta time[datetime]")
    views = msg.css_first(".tgme_widget_message_views")
    views_text = clean_text(views.text()) if views is not None else None
    url = (abs_url(base, date_link.attributes.get("href")) if date_link is not None else None)
    when = time_node.attributes.get("datetime") if time_node is not None else None
    return TelegramPost(
        post_id=post_id,
        url=url or urljoin(base, f"/{post_id}"),
        author=clean_text(owner.text()) if owner is not None else None,
        author_url=abs_url(base, owner.attributes.get("href")) if owner is not None else None,
        text=_message_text(msg.css_first(".tgme_widget_message_text")),
        published_at=when,
        edited=_edited(msg),
        views=parse_views(views_text),
        views_text=views_text,
        forwarded_from=_forward(msg, base),
        media=_media(msg, base, post_id, when),
        service="service_message" in (msg.attributes.get("class") or ""),
    )


def wanted_post(url: str) -> str | None:
    """'channel/1234' for t.me/channel/1234, t.me/s/channel/1234 (any host), else None."""
    m = _POST_PATH.match(urlsplit(url).path)
    return f"{m.group(1)}/{m.group(2)}" if m else None


def channel_page_url(channel: str, *, before: int | None = None, after: int | None = None,
                     base: str = "https://t.me") -> str:
    """The t.me/s/ page of a channel, older than `before` or newer than `after`."""
    query = f"?before={before}" if before is not None else (
        f"?after={after}" if after is not None else "")
    return f"{base.rstrip('/')}/s/{channel}{query}"


def is_telegram_page(html: str | bytes) -> bool:
    """True when the page carries Telegram widget posts or points to one."""
    text = html[:2_000_000] if isinstance(html, str) else html[:2_000_000].decode("utf-8",
                                                                                "replace")
    return "tgme_widget_message" in text or "data-telegram-post" in text


def telegram_embed_url(html: str | bytes, url: str) -> str | None:
    """For a t.me post landing page (`data-telegram-post`, no widget): its `?embed=1` URL."""
    tree = parse_html(html)
    if tree.css_first(".tgme_widget_message") is not None:
        return None
    node = tree.css_first("[data-telegram-post]")
    post = node.attributes.get("data-telegram-post") if node is not None else None
    if not post or not re.fullmatch(r"[A-Za-z0-9_]{3,64}/\d+", post):
        return None
    return urljoin(url, f"/{post}?embed=1&mode=tme")


def _album_holding(posts: list[TelegramPost], tree: LexborHTMLParser, want: str) -> str | None:
    """The data-post of the album that shows post `want` as one of its items."""
    channel, msg_id = want.split("/")
    for msg in tree.css(".tgme_widget_message[data-post]"):
        for a in msg.css("a.tgme_widget_message_photo_wrap[href], "
                         "a.tgme_widget_message_video_player[href]"):
            m = _POST_PATH.match(urlsplit(a.attributes.get("href") or "").path)
            if m and m.group(1).lower() == channel.lower() and m.group(2) == msg_id:
                return msg.attributes.get("data-post")
    return None


def _cursor(tree: LexborHTMLParser, kind: str) -> int | None:
    node = tree.css_first(f"a.tme_messages_more[data-{kind}]")
    value = node.attributes.get(f"data-{kind}") if node is not None else None
    return int(value) if value and value.isdigit() else None


def parse_channel_page(html: str | bytes, url: str) -> ChannelPage:
    """Every post on a t.me/s/ page (or a widget), the channel and the paging cursors."""
    tree = parse_html(html)
    posts = [parse_telegram_post(m, url) for m in tree.css(".tgme_widget_message[data-post]")]
    m = _CHANNEL_PATH.match(urlsplit(url).path)
    channel = m.group(1) if m and m.group(1) != "s" else (
        posts[0].post_id.split("/")[0] if posts else None)
    title = tree.css_first(".tgme_channel_info_header_title")
    avatar = tree.css_first(".tgme_page_photo_image img[src]")
    return ChannelPage(channel=channel, title=clean_text(title.text()) if title else None,
                       avatar=abs_url(url, avatar.attributes.get("src")) if avatar else None,
                       posts=posts, before=_cursor(tree, "before"), after=_cursor(tree, "after"))


def _page_furniture(tree: LexborHTMLParser, base: str) -> list[MediaRef]:
    """Channel avatar and the author pictures beside each post."""
    out = []
    for node in tree.css(".tgme_page_photo_image img[src], "
                         ".tgme_widget_message_user_photo img[src]"):
        url = abs_url(base, node.attributes.get("src"))
        if url:
            out.append(MediaRef(url, "image", "telegram:avatar", role="furniture",
                                why="channel avatar"))
    return out


def parse_telegram(html: str | bytes, url: str, *,
                   all_posts: bool = False) -> tuple[PageRecord, list[MediaRef]]:
    """The page record (the claimed post's details) and every media reference with its role."""
    tree = parse_html(html)
    posts = [parse_telegram_post(m, url) for m in tree.css(".tgme_widget_message[data-post]")]
    want = wanted_post(url)
    if want and not any(p.post_id.lower() == want.lower() for p in posts):
        want = _album_holding(posts, tree, want) or want  # an album item is shown by its album
    if all_posts or not want:
        chosen = posts
    else:
        chosen = [p for p in posts if p.post_id.lower() == want.lower()]
        if not chosen and len(posts) == 1 and "embed" in urlsplit(url).query:
            chosen = posts
    main = chosen[0] if len(chosen) == 1 else None
    title = tree.css_first("title")
    rec = PageRecord(url=url, final_url=url, kind="telegram", posts=chosen,
                     title=clean_text(title.text()) if title is not None else None)
    if main is not None:
        rec.published_at, rec.author, rec.text = main.published_at, main.author, main.text
        rec.edited, rec.views, rec.forwarded_from = main.edited, main.views, main.forwarded_from
    chosen_ids = {id(p) for p in chosen}
    refs: list[MediaRef] = [r for p in chosen for r in p.media]
    for post in posts:
        if id(post) in chosen_ids:
            continue
        for ref in post.media:
            ref.role, ref.why = "furniture", f"another post on the page ({post.post_id})"
            refs.append(ref)
    refs += _page_furniture(tree, url)
    return rec, dedupe(refs)


# ------------------------------------------------------------------ the source
from osintkit.fetch.sources.base import Context, Resolution, Source, register  # noqa: E402


@register
class TelegramSource(Source):
    """Public Telegram posts: embed widgets, t.me/s/ channel pages, post landing pages."""

    name = "telegram"
    generic = True  # any host serving Telegram widget markup (mirrors, saved copies)

    def handles(self, url: str) -> bool:
        try:
            return (urlsplit(url).hostname or "").lower() in HOSTS
        except ValueError:
            return False

    def resolve(self, ctx: Context, url: str) -> Resolution | None:
        land = ctx.landing(url)
        if land.html is None or not is_telegram_page(land.html):
            return None
        notes: list[str] = []
        html, page_url = land.html, land.resp.final_url
        embed = telegram_embed_url(html, page_url)
        if embed:
            try:
                resp = ctx.get(embed)
                from osintkit.fetch.pages import decode_html

                html = decode_html(resp)
                ctx.keep_page(resp)
                notes.append(f"Telegram post read from its widget {embed}")
            except FetchError as exc:
                notes.append(f"Telegram widget not fetched: {exc.message}")
        if parse_html(html).css_first(".tgme_widget_message[data-post]") is None:
            return None
        rec, refs = parse_telegram(html, page_url,
                                   all_posts=bool(ctx.options.get("all_posts")))
        rec.source = self.name
        return Resolution(rec, refs, notes)


from osintkit.errors import FetchError  # noqa: E402
