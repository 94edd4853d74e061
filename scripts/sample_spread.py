# ruff: noqa: E501  (the page template keeps Telegram's long lines)
"""The demo's claim with several URLs (a claim's spread), served by the demo itself.

`make_spread(out)` (called by make_samples.py) writes, deterministically and benign:
  samples/spread/media/   the agency's synthetic photo and its copies: a re-post cropped and
                          mirrored, one with a channel logo stamped on it, a forward (the
                          same file), and a second photo only the agency posted
  samples/spread/pages/   four public-channel posts in Telegram's t.me/s/ widget markup
                          (fictional channels; media linked by relative URLs)
  samples/spread/claim.yaml  the claim; its URLs name the server as {base}
`serve(root)` (used by demo.py) serves them on 127.0.0.1 (port 0): /s/<channel>/<n> and
/file/<name>; `claim_for(root, base, out)` writes the claim with the server's address.
"""

from __future__ import annotations

import contextlib
import html
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont, ImageOps

POSTS = [  # channel, number, time (UTC), text, media, forwarded from
    ("sample_agency", 100, "2026-04-18T09:40:00+00:00",
     "Sample Agency (fictional): rockets fired at the post near Termez. Synthetic sample.",
     ["agency_strike.jpg", "agency_second.jpg"], None),
    ("sample_repost_one", 57, "2026-04-18T10:45:00+00:00",
     "Re-post (fictional channel): rockets near Termez, cropped picture. Synthetic sample.",
     ["repost_cropped_mirrored.jpg"], None),
    ("sample_repost_two", 311, "2026-04-18T11:20:00+00:00",
     "BREAKING (fictional channel): strike near Termez. Synthetic sample.",
     ["repost_logo.jpg"], None),
    ("sample_forwarder", 9, "2026-04-18T12:05:00+00:00",
     "Sample Agency (fictional): rockets fired at the post near Termez. Synthetic sample.",
     ["forwarded.jpg"], ("Sample Agency", "https://t.me/sample_agency/100")),
]

CLAIM = """\
# Sample claim with several URLs (synthetic): the agency's post first, then re-posts and a
# forward, all served by scripts/demo.py on 127.0.0.1 ({{base}} is its address).
# Expected: the spread section groups the four copies of the strike photo, earliest the
# agency's, with the edits of each re-post (cropped and mirrored; logo added; same file).
id: sample-spread
title: "Rockets fired at a military post near Termez (several URLs)"
claimant: Sample Agency (fictional)
claimed_at: 2026-04-18
timezone: "+05:00"
place: {{name: "Termez (sample)", lat: 37.2242, lon: 67.2783, radius_km: 25}}
urls:
{urls}
notes: "A claim seen on four channels: which copy came first, and who edited it?"
"""

PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title} – Telegram</title>
<meta property="og:title" content="{title}"></head>
<body class="widget_frame_base tgme_webpreview">
<header class="tgme_header"><div class="tgme_channel_info"><div class="tgme_channel_info_header">
<div class="tgme_channel_info_header_title"><span dir="auto">{title}</span></div>
<div class="tgme_channel_info_header_username"><a href="https://t.me/{channel}">@{channel}</a></div>
</div></div></header>
<main class="tgme_main" data-url="/{channel}"><div class="tgme_container">
<section class="tgme_channel_history js-message_history">
<div class="tgme_widget_message_wrap js-widget_message_wrap">
<div class="tgme_widget_message text_not_supported_wrap js-widget_message" data-post="{channel}/{number}">
<div class="tgme_widget_message_bubble">
<div class="tgme_widget_message_author accent_color"><a class="tgme_widget_message_owner_name" href="https://t.me/{channel}"><span dir="auto">{title}</span></a></div>
{forward}{media}
<div class="tgme_widget_message_text js-message_text" dir="auto">{text}</div>
<div class="tgme_widget_message_footer compact js-message_footer"><div class="tgme_widget_message_info short js-message_info">
<span class="tgme_widget_message_views">1.2K</span><span class="copyonly"> views</span><span class="tgme_widget_message_meta"><a class="tgme_widget_message_date" href="https://t.me/{channel}/{number}"><time datetime="{when}" class="time">{hhmm}</time></a></span>
</div></div></div></div></div>
</section></div></main></body></html>
"""


def _photo(name: str, grouped: bool) -> str:
    cls = "tgme_widget_message_photo_wrap grouped_media_wrap" if grouped else \
        "tgme_widget_message_photo_wrap"
    return (f'<a class="{cls}" href="#" style="width:320px;background-image:url('
            f"'/file/{name}')\"><div class=\"tgme_widget_message_photo\"></div></a>")


def page(channel: str, number: int, when: str, text: str, media: list[str],
         forwarded: tuple[str, str] | None) -> str:
    title = channel.replace("_", " ").title() + " (fictional)"
    photos = "".join(_photo(m, len(media) > 1) for m in media)
    if len(media) > 1:
        photos = ('<div class="tgme_widget_message_grouped_wrap"><div class="tgme_widget_'
                  f'message_grouped"><div class="tgme_widget_message_grouped_layer">{photos}'
                  '</div></div></div>')
    fwd = ""
    if forwarded:
        fwd = ('<div class="tgme_widget_message_forwarded_from accent_color">Forwarded from'
               f'&nbsp;<a class="tgme_widget_message_forwarded_from_name" href="{forwarded[1]}">'
               f'<span dir="auto">{html.escape(forwarded[0])}</span></a></div>')
    return PAGE.format(title=html.escape(title), channel=channel, number=number, when=when,
                       hhmm=when[11:16], text=html.escape(text), media=photos, forward=fwd)


def _pictures(scene: Any) -> dict[str, Image.Image]:
    strike = scene(40, "STRIKE 18 APR", size=(560, 420))
    w, h = strike.size
    crop = strike.crop((int(w * 0.1), int(h * 0.08), int(w * 0.9), int(h * 0.94)))
    logo = strike.copy()
    draw = ImageDraw.Draw(logo)
    draw.rectangle([w - 176, 12, w - 12, 62], fill=(245, 245, 245))
    draw.text((w - 166, 22), "CHANNEL X", fill=(190, 20, 20), font=ImageFont.load_default(size=26))
    return {"agency_strike.jpg": strike, "agency_second.jpg": scene(41, "AFTER", size=(560, 420)),
            "repost_cropped_mirrored.jpg": ImageOps.mirror(crop).resize((448, 360)),
            "repost_logo.jpg": logo.resize((480, 360), Image.Resampling.LANCZOS)}


def make_spread(out: Path, scene: Any, save_jpeg: Any, write: Any) -> list[Path]:
    """Write samples/spread/ (media, pages, claim.yaml); `scene`, `save_jpeg`, `write` are
    make_samples.py's drawing and write-if-changed helpers."""
    root = out / "spread"
    pics = _pictures(scene)
    quality = {"repost_cropped_mirrored.jpg": 70, "repost_logo.jpg": 74}
    for name, img in pics.items():
        save_jpeg(img, root / "media" / name, quality=quality.get(name, 84))
    write(root / "media" / "forwarded.jpg", (root / "media" / "agency_strike.jpg").read_bytes())
    for channel, number, when, text, media, fwd in POSTS:
        write(root / "pages" / f"{channel}-{number}.html",
              page(channel, number, when, text, media, fwd).encode())
    urls = "\n".join(f"  - {{base}}/s/{c}/{n}" for c, n, *_ in POSTS)
    write(root / "claim.yaml", CLAIM.format(urls=urls).encode())
    return sorted(p for p in root.rglob("*") if p.is_file())


# ---------------------------------------------------------------- the demo's server
class _Handler(BaseHTTPRequestHandler):
    root: Path

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        parts = self.path.split("?", 1)[0].strip("/").split("/")
        path = None
        if len(parts) == 3 and parts[0] == "s" and parts[2].isdigit():
            path, ctype = self.root / "pages" / f"{parts[1]}-{parts[2]}.html", "text/html"
        elif len(parts) == 2 and parts[0] == "file":
            path, ctype = self.root / "media" / parts[1], "image/jpeg"
        if path is None or "/" in parts[-1] or ".." in parts[-1] or not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", f"{ctype}; charset=utf-8" if ctype == "text/html"
                         else ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextlib.contextmanager
def serve(root: Path) -> Iterator[str]:
    """Serve samples/spread on 127.0.0.1 (a free port) until the block ends; yields the
    base URL."""
    handler = type("Handler", (_Handler,), {"root": root})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def claim_for(root: Path, base: str, out: Path) -> Path:
    """The sample claim with the running server's address, written to `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text((root / "claim.yaml").read_text().replace("{base}", base))
    return out
