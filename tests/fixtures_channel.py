# ruff: noqa: E501  (the markup templates keep the real pages' long lines)
"""A fake public Telegram channel on 127.0.0.1, in Telegram's own t.me/s/ markup.

The markup of every element (page frame, channel header, history section, "load older"
link with `data-before`, message wrap, bubble, author, photo wrap, album (grouped) wrap,
video player with thumb, duration and the hidden "not supported" block, forwarded-from
header, link preview, service message, footer with views, "edited" and the date link with
`<time datetime>`) is copied from the real t.me/s/tchantest pages in tests/data/pages/
(see their README); only the values are ours. Media are pictures and clips the fixture
draws. Pages hold 20 posts, oldest first, as Telegram serves them.

    with channel_server(FakeChannel.build(320)) as server:
        server.url("/s/fakechan")          # the newest page; ?before=N for older ones
        server.channel.posts               # what was posted (numbers, times, media bytes)
        server.requests                    # [(time.monotonic(), path_with_query)]
        server.fail_next["/s/fakechan?before=300"] = [429]   # answer 429 once there
"""

from __future__ import annotations

import contextlib
import html
import io
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

PAGE_SIZE = 20
CHANNEL = "fakechan"


def draw_jpeg(seed: int, size: tuple[int, int] = (96, 64)) -> bytes:
    """A distinct small picture: gradients, blocks and noise from the seed."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([(xx * (seed % 7 + 2)) % 256, (yy * (seed % 5 + 3)) % 256,
                     ((xx + yy) * (seed % 11 + 1)) % 256], axis=-1).astype(np.int16)
    for _ in range(4):
        x0, y0 = int(rng.integers(0, w - 10)), int(rng.integers(0, h - 10))
        base[y0:y0 + int(rng.integers(8, 30)), x0:x0 + int(rng.integers(8, 40))] = \
            rng.integers(0, 256, 3)
    arr = (base + rng.integers(-12, 13, (h, w, 1))).clip(0, 255).astype("uint8")
    out = io.BytesIO()
    Image.fromarray(arr).save(out, "JPEG", quality=88)
    return out.getvalue()


def draw_mp4(seed: int, frames: int = 5) -> bytes:
    """A tiny MPEG-4 clip (64x48) whose colours come from the seed."""
    import av
    import numpy as np

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("mpeg4", rate=5)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        rng = np.random.default_rng(seed)
        for i in range(frames):
            arr = np.full((48, 64, 3), rng.integers(0, 256, 3), np.uint8)
            arr[10:30, 5 + i * 6:25 + i * 6] = 255 - arr[0, 0]
            out.mux(stream.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")))
        out.mux(stream.encode(None))
    return buf.getvalue()


@dataclass
class Media:
    name: str  # served at /file/<name>
    kind: str  # "image" | "video"
    data: bytes = b""
    fetchable: bool = True  # False: "Media is too big" (no file offered)


@dataclass
class Post:
    number: int
    when: datetime
    text: str | None = None
    media: list[Media] = field(default_factory=list)
    forwarded_from: tuple[str, str] | None = None  # (name, url)
    edited: bool = False
    service: bool = False
    link_preview: bool = False

    channel: str = CHANNEL

    @property
    def url(self) -> str:
        return f"https://t.me/{self.channel}/{self.number}"

    @property
    def iso(self) -> str:
        return self.when.astimezone(UTC).replace(microsecond=0).isoformat()


@dataclass
class FakeChannel:
    posts: list[Post]

    @classmethod
    def build(cls, n: int = 320, start: datetime = datetime(2024, 1, 1, 6, 0, tzinfo=UTC),
              step: timedelta = timedelta(hours=5, minutes=17)) -> FakeChannel:
        """n posts: photos, albums, videos, forwards, edited, text-only, service messages,
        link previews, a too-big video, and one photo posted again later."""
        posts, number = [], 10
        videos = {k: draw_mp4(k) for k in range(4)}
        for i in range(n):
            when = start + step * i
            post = Post(number, when, text=f"Post {i}: report from the front <b>#{i}</b>")
            kind = i % 10
            if i == 0:
                post.service, post.text = True, "Channel created"
            elif kind in (0, 5, 7):
                post.media = [Media(f"p{i}.jpg", "image", draw_jpeg(i))]
            elif kind == 1:  # album of three
                post.media = [Media(f"p{i}-{k}.jpg", "image", draw_jpeg(10_000 + i * 3 + k))
                              for k in range(3)]
            elif kind == 2 and i % 40 == 2:
                post.media = [Media(f"v{i}.mp4", "video", videos[(i // 40) % 4])]
            elif kind == 3:
                post.media = [Media(f"p{i}.jpg", "image", draw_jpeg(i))]
                post.forwarded_from = ("Origin Agency", "https://t.me/originagency/77")
            elif kind == 4:
                post.media = [Media(f"p{i}.jpg", "image", draw_jpeg(i))]
                post.edited = True
            elif kind == 6:
                post.link_preview = True
            elif kind == 8 and i % 80 == 8:
                post.media = [Media(f"big{i}.mp4", "video", fetchable=False)]
            posts.append(post)
            # album items take their own message numbers, as on Telegram
            number += max(1, len(post.media)) + (1 if i % 13 == 0 else 0)
        repost = next(p for p in posts if p.number > posts[len(posts) * 2 // 3].number
                      and not p.media and not p.service and not p.link_preview)
        repost.media = [Media(f"again{repost.number}.jpg", "image", posts[5].media[0].data)]
        return cls(posts)

    def media(self) -> dict[str, Media]:
        return {m.name: m for p in self.posts for m in p.media}

    def page(self, before: int | None, base: str) -> str:
        """The t.me/s/ page holding the PAGE_SIZE posts below `before` (newest page: None)."""
        older = [p for p in self.posts if before is None or p.number < before]
        shown = older[-PAGE_SIZE:]
        rest = older[:-PAGE_SIZE]
        body = "".join(_message(p, base, p.channel) for p in shown)
        more = (f'<div class="tgme_widget_message_centered js-messages_more_wrap"><a href="/s/'
                f'{CHANNEL}?before={shown[0].number}" class="tme_messages_more '
                f'js-messages_more" data-before="{shown[0].number}"></a></div>'
                if shown and rest else "")
        after = (f'<div class="tgme_widget_message_centered js-messages_more_wrap"><a href="/s/'
                 f'{CHANNEL}?after={shown[-1].number}" class="tme_messages_more '
                 f'js-messages_more" data-after="{shown[-1].number}"></a></div>'
                 if shown and before is not None else "")
        return _PAGE.format(base=base, channel=CHANNEL, more=more, body=body, after=after)


# ------------------------------------------------------------------ markup (real structure)
_PAGE = """<!DOCTYPE html>
<html>
  <head>
    <meta charset="utf-8">
    <title>Fake Front News – Telegram</title>
    <meta property="og:title" content="Fake Front News">
    <meta property="og:image" content="{base}/file/avatar.jpg">
    <meta property="og:site_name" content="Telegram">
  </head>
  <body class="widget_frame_base tgme_webpreview emoji_image nodesktop">
    <header class="tgme_header search_collapsed"><div class="tgme_header_right_column"><section class="tgme_right_column"><div class="tgme_channel_info">
<div class="tgme_channel_info_header"><i class="tgme_page_photo_image bgcolor6" data-content="F"><img src="{base}/file/avatar.jpg"></i>
<div class="tgme_channel_info_header_title"><span dir="auto">Fake Front News</span></div>
        <div class="tgme_channel_info_header_username"><a href="https://t.me/{channel}">@{channel}</a></div>
</div></section></div></header>
    <main class="tgme_main" data-url="/{channel}">
      <div class="tgme_container">
        <section class="tgme_channel_history js-message_history">
          {more}
{body}
          {after}
        </section>
      </div>
    </main>
  </body>
</html>
"""

_MESSAGE = """
        <div class="tgme_widget_message_wrap js-widget_message_wrap">
          <div class="tgme_widget_message text_not_supported_wrap{extra_class} js-widget_message" data-post="{channel}/{number}" data-view="eyJjIjotMX0">
            <div class="tgme_widget_message_user"><a href="https://t.me/{channel}"><i class="tgme_widget_message_user_photo bgcolor6" data-content="F"><img src="{base}/file/avatar.jpg"></i></a>
            </div>
            <div class="tgme_widget_message_bubble">
              <i class="tgme_widget_message_bubble_tail"></i>
              <div class="tgme_widget_message_author accent_color"><a class="tgme_widget_message_owner_name" href="https://t.me/{channel}"><span dir="auto">Fake Front News</span></a>
              </div>
              {forward}{media}{text}{preview}
              <div class="tgme_widget_message_footer compact js-message_footer">
                <div class="tgme_widget_message_info short js-message_info">
                  <span class="tgme_widget_message_views">{views}</span><span class="copyonly"> views</span><span class="tgme_widget_message_meta">{edited}<a class="tgme_widget_message_date" href="https://t.me/{channel}/{number}"><time datetime="{iso}" class="time">{hhmm}</time></a></span>
                </div>
              </div>
            </div>
          </div>
        </div>
"""


def _photo(m: Media, base: str, href: str, grouped: bool, k: int) -> str:
    cls = "tgme_widget_message_photo_wrap grouped_media_wrap blured js-message_photo" \
        if grouped else "tgme_widget_message_photo_wrap blured"
    style = (f"left:{k * 100}px;top:0px;width:98px;height:216px;" if grouped else
             "width:450px;") + f"background-image:url('{base}/file/{m.name}')"
    return (f'<a class="{cls}" href="{href}" style="{style}">'
            '<div class="tgme_widget_message_photo" style="padding-top:66%"></div></a>')


def _video(m: Media, base: str, href: str) -> str:
    src = (f'<div class="tgme_widget_message_video_wrap"><video src="{base}/file/{m.name}'
           f'?token=x" class="tgme_widget_message_video js-message_video" width="100%" '
           'height="100%"></video></div>') if m.fetchable else ""
    label = "This media is not supported in your browser" if m.fetchable else \
        "Media is too big"
    return (f'<a class="tgme_widget_message_video_player blured js-message_video_player" '
            f'href="{href}"><i class="tgme_widget_message_video_thumb" style="background-'
            f"image:url('{base}/file/thumb-{m.name}.jpg')\"></i>{src}"
            '<time class="message_video_duration js-message_video_duration">0:01</time>'
            '<div class="message_media_not_supported_wrap"><div class="message_media_not_'
            f'supported"><div class="message_media_not_supported_label">{label}</div>'
            '</div></div></a>')


def _message(p: Post, base: str, channel: str = CHANNEL) -> str:
    href = f"https://t.me/{channel}/{p.number}"
    if len(p.media) > 1:
        items = "".join(_photo(m, base, f"https://t.me/{channel}/{p.number + k}?single",
                               True, k) for k, m in enumerate(p.media))
        media = ('<div class="tgme_widget_message_grouped_wrap js-message_grouped_wrap">'
                 '<div class="tgme_widget_message_grouped js-message_grouped">'
                 f'<div class="tgme_widget_message_grouped_layer js-message_grouped_layer">'
                 f'{items}</div></div></div>')
    elif p.media:
        m = p.media[0]
        media = _video(m, base, href) if m.kind == "video" else _photo(m, base, href, False, 0)
    else:
        media = ""
    forward = ""
    if p.forwarded_from:
        name, url = p.forwarded_from
        forward = ('<div class="tgme_widget_message_forwarded_from accent_color">Forwarded '
                   f'from&nbsp;<a class="tgme_widget_message_forwarded_from_name" href="{url}">'
                   f'<span dir="auto">{html.escape(name)}</span></a></div>')
    text = (f'<div class="tgme_widget_message_text js-message_text" dir="auto">'
            f'{html.escape(p.text)}</div>') if p.text else ""
    preview = ""
    if p.link_preview:
        preview = ('<a class="tgme_widget_message_link_preview" href="https://example.org/">'
                   f"<i class=\"link_preview_right_image\" style=\"background-image:url('{base}"
                   "/file/preview.jpg')\"></i><div class=\"link_preview_title\" dir=\"auto\">"
                   "A linked page</div></a>")
    return _MESSAGE.format(
        channel=channel, number=p.number, base=base, forward=forward, media=media, text=text,
        preview=preview, views=f"{1.2 + p.number / 100:.1f}K", iso=p.iso,
        hhmm=p.when.strftime("%H:%M"), edited="edited &nbsp;" if p.edited else "",
        extra_class=" service_message" if p.service else "")


def post_page(post: Post, base: str) -> str:
    """A t.me/s/<channel>/<id> page holding one post of its channel."""
    return _PAGE.format(base=base, channel=post.channel, more="", after="",
                        body=_message(post, base, post.channel))


def draw_scene(seed: int, size: tuple[int, int] = (640, 480)) -> Any:
    """A textured synthetic 'photo' (PIL image): sky gradient, ground, shapes and grain,
    with enough corners for local features (ORB) to find."""
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    w, h = size
    ys = np.linspace(0.0, 1.0, h)[:, None, None]
    top, bottom = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    img = Image.fromarray(((top * (1 - ys) + bottom * ys) * np.ones((h, w, 3))).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    draw.rectangle([0, int(h * 0.6), w, h], fill=tuple(int(c) for c in rng.integers(30, 140, 3)))
    for _ in range(40):
        x, y, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(6, 50)
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse([x - r, y - r * 0.6, x + r, y + r * 0.6], fill=color)
        else:
            pts = [(x + r * np.cos(a), y + r * np.sin(a))
                   for a in np.sort(rng.uniform(0, 2 * np.pi, 5))]
            draw.polygon(pts, fill=color)
    arr = np.asarray(img).astype(np.int16) + rng.integers(-14, 15, (h, w, 1))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


# ------------------------------------------------------------------ the server
class ChannelServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, channel: FakeChannel) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.channel = channel
        self.files = channel.media()
        self.requests: list[tuple[float, str]] = []
        self.fail_next: dict[str, list[int]] = {}  # path?query -> statuses to answer first
        self.page_delay = 0.0
        self.lock = threading.Lock()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: clients killed mid-download are what the tests provoke."""

    def page_requests(self) -> list[str]:
        with self.lock:
            return [p for _, p in self.requests if p.startswith(f"/s/{CHANNEL}")]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ChannelServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        srv = self.server
        with srv.lock:
            srv.requests.append((time.monotonic(), self.path))
            queued = srv.fail_next.get(self.path)
            status = queued.pop(0) if queued else None
        if status is not None:
            return self._send(status, b"slow down", "text/plain", {"Retry-After": "1"})
        parts = urlsplit(self.path)
        base = srv.url("")
        single = re.fullmatch(rf"/s/{CHANNEL}/(\d+)/?", parts.path)
        if single:  # a post's page: the posts up to it, as t.me/s/<channel>/<id> shows them
            page = srv.channel.page(int(single.group(1)) + 1, base)
            return self._send(200, page.encode(), "text/html; charset=utf-8")
        if parts.path.rstrip("/") == f"/s/{CHANNEL}":
            before = parse_qs(parts.query).get("before", [None])[0]
            if srv.page_delay:
                time.sleep(srv.page_delay)
            page = srv.channel.page(int(before) if before else None, base)
            return self._send(200, page.encode(), "text/html; charset=utf-8")
        name = parts.path.rsplit("/", 1)[-1]
        if parts.path.startswith("/file/"):
            m = srv.files.get(name)
            if m is not None and m.fetchable:
                ctype = "video/mp4" if m.kind == "video" else "image/jpeg"
                return self._send(200, m.data, ctype)
            if name.endswith(".jpg"):  # avatars, thumbs, previews: furniture
                return self._send(200, draw_jpeg(7), "image/jpeg")
        return self._send(404, b"not found", "text/plain")

    def _send(self, status: int, body: bytes, ctype: str,
              headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            self.close_connection = True


@contextlib.contextmanager
def channel_server(channel: FakeChannel) -> Iterator[ChannelServer]:
    srv = ChannelServer(channel)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def write_urls(path: Path, urls: list[str]) -> Path:
    path.write_text("# channels to archive\n" + "\n".join(urls) + "\n", encoding="utf-8")
    return path


def sandbox_channel(root: Path, server: Any) -> None:
    """For tests/test_examples.py: the channels, the post, the article and the evidence
    folders that the `archive add` examples of the README and of `--help` name, on the
    sandbox's server (`server`: fixtures_fetch.TestServer; cursors are not routed there,
    so every `?before=` page is the newest one, and the walk stops when it repeats)."""
    from fixtures_fetch import Reply

    from osintkit.fetch import fetch

    base = server.url("").rstrip("/")
    channel = FakeChannel.build(24)
    html = channel.page(None, base)
    for path in ("/s/somechannel", "/s/agency"):
        server.route(path, Reply(200, html, "text/html; charset=utf-8"))
    for name, m in channel.media().items():
        if m.fetchable:
            server.route(f"/file/{name}", body=m.data,
                         content_type="video/mp4" if m.kind == "video" else "image/jpeg")
    post = Post(1234, datetime(2024, 3, 1, 8, 0, tzinfo=UTC), "A post", channel="somechannel",
                media=[Media("post-1234.jpg", "image", draw_jpeg(1234))])
    server.route("/somechannel/1234", Reply(200, post_page(post, base), "text/html"))
    server.route("/file/post-1234.jpg", body=post.media[0].data, content_type="image/jpeg")
    article = ('<!doctype html><html><head><title>Strike story</title><meta property='
               '"article:published_time" content="2023-05-01T08:00:00Z"></head><body><article>'
               '<p>' + "Report text. " * 40 + '</p><img src="/media/story.jpg" width="480" '
               'height="360"></article></body></html>')
    server.route("/2023/strike-story", Reply(200, article, "text/html; charset=utf-8"))
    # a picture of its own: archived by the examples, it must not match the claims' media
    server.route("/media/story.jpg", body=draw_jpeg(4321, (240, 160)), content_type="image/jpeg")
    (root / "channels.txt").write_text(f"# channels to archive\n{base}/s/somechannel\n"
                                       f"{base}/s/agency\n")
    from osintkit.verify import VerifyOptions, verify_target

    verify_target(f"{base}/2023/strike-story", root / "osintkit-reports" / "claim-1",
                  options=VerifyOptions(formats=("json",), search_archive=False,
                                        allow_private=True))  # a report, its evidence/
    fetch(f"{base}/2023/strike-story", root / "evidence-2024-05-01", allow_private=True)
