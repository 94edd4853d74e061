"""Claim media vs furniture end to end, fail-fast networking, the yt-dlp source and the
page screenshot, against real servers on 127.0.0.1."""

# ruff: noqa: E501  (HTML samples keep the line structure of the real pages)

from __future__ import annotations

import json
import shutil
import socket
import threading

import pytest
from fixtures_fetch import Reply, TestServer, serve

from osintkit.fetch import fetch
from osintkit.fetch.sources import SOURCES, candidates

ARTICLE = """<!doctype html><html><head><title>Strike near Termez</title>
<meta property="og:image" content="/img/lead-1200.jpg">
<script type="application/ld+json">{{"@type": "NewsArticle", "headline": "Strike",
 "image": ["/img/lead-1200.jpg"], "publisher": {{"@type": "Organization", "logo": {{"@type": "ImageObject", "url": "/static/logo.png"}}}}}}</script>
</head><body>
<header class="site-header"><a href="/"><img src="/static/logo.png" alt="News"></a>
 <nav><img src="/static/menu-promo.jpg"></nav></header>
<article><h1>Strike near Termez</h1>
 <div class="byline"><img class="author-photo" src="/static/author.jpg" width="120" height="120"> By A. Reporter</div>
 <figure class="lead"><img src="/img/lead-480.jpg" srcset="/img/lead-480.jpg 480w, /img/lead-1200.jpg 1200w"></figure>
 <div class="article-body">
  <p>{text}</p>
  <figure><img src="/img/launch.jpg" width="800" height="600"><figcaption>Launch site</figcaption></figure>
  <p>{text}</p>
  <div class="gallery"><img src="/img/g1.jpg"><img src="/img/g2.jpg"></div>
  <video controls src="/media/clip.mp4"></video>
  {extra}
  <div class="share-bar"><img src="/static/share-x.png"></div>
 </div>
 <aside class="related-stories"><h3>Related</h3><article class="teaser"><img src="/img/other-story.jpg"></article></aside>
</article>
<div id="taboola-below-article"><img src="https://images.taboola.com/thumb/ad1.jpg"></div>
<div class="OUTBRAIN"><img src="/img/sponsored.jpg"></div>
<img src="https://sb.scorecardresearch.com/p?c1=2&c2=123" width="1" height="1">
<img src="/o.gif?r=1&t=news">
<footer><img src="/static/footer-logo.png"></footer>
</body></html>"""
TEXT = "Ten rockets were fired at a military post near Termez on 18 April, the group said. " * 5


def article(server: TestServer, media: dict[str, bytes], extra: str = "") -> str:
    pics = ["lead-1200.jpg", "lead-480.jpg", "launch.jpg", "g1.jpg", "g2.jpg", "other-story.jpg",
            "sponsored.jpg"]
    for n, name in enumerate(pics):
        server.route(f"/img/{name}", body=media[("jpeg_a", "jpeg_b", "jpeg_c", "png")[n % 4]])
    for name in ("logo.png", "menu-promo.jpg", "author.jpg", "share-x.png", "footer-logo.png"):
        server.route(f"/static/{name}", body=media["png"])
    server.route("/media/clip.mp4", body=media["mp4"], content_type="video/mp4")
    html = ARTICLE.format(text=TEXT, extra=extra)
    return server.route("/news/strike", body=html, content_type="text/html; charset=utf-8")


def roles(cap) -> dict[str, str]:
    return {i.url.rsplit("/", 1)[-1]: i.role for i in cap.items}


def test_article_claim_media_vs_furniture(http_server, fetch_media, tmp_path):
    cap = fetch(article(http_server, fetch_media), tmp_path, allow_private=True)
    assert cap.exit_code == 0, cap.failures
    got = roles(cap)
    claim = {k for k, v in got.items() if v == "claim"}
    assert claim == {"lead-1200.jpg", "launch.jpg", "g1.jpg", "g2.jpg", "clip.mp4"}
    furniture = {k for k, v in got.items() if v == "furniture"}
    assert {"logo.png", "menu-promo.jpg", "author.jpg", "share-x.png", "other-story.jpg",
            "footer-logo.png"} <= furniture
    # Furniture is listed, not downloaded: no request reached its URL.
    assert http_server.hits("/img/other-story.jpg") == 0 and http_server.hits("/static/logo.png") == 0
    items = {i.url.rsplit("/", 1)[-1]: i for i in cap.items}
    assert items["other-story.jpg"].skipped.startswith("furniture: not downloaded")
    assert items["other-story.jpg"].error is None and "teaser" in items["other-story.jpg"].why
    # Trackers and ad/recommendation widgets are skipped, not items.
    ignored = {i["url"]: i["reason"] for i in cap.page.ignored}
    assert "https://images.taboola.com/thumb/ad1.jpg" in ignored
    assert any("scorecardresearch" in u for u in ignored)
    assert any(u.endswith("/o.gif?r=1&t=news") for u in ignored)
    assert any(u.endswith("/img/sponsored.jpg") for u in ignored)
    assert not any("taboola" in i.url or "scorecard" in i.url or "o.gif" in i.url for i in cap.items)
    saved = json.loads((tmp_path / "manifest.json").read_text())
    assert all(i["role"] in ("claim", "furniture") for i in saved["items"])
    assert saved["page"]["ignored"] and saved["page"]["source"] == "article"


def test_with_furniture_downloads_it_as_furniture(http_server, fetch_media, tmp_path):
    cap = fetch(article(http_server, fetch_media), tmp_path, allow_private=True,
                with_furniture=True)
    items = {i.url.rsplit("/", 1)[-1]: i for i in cap.items}
    assert items["other-story.jpg"].ok and items["other-story.jpg"].role == "furniture"
    assert items["logo.png"].ok and http_server.hits("/static/logo.png") == 1
    assert not any("taboola" in i.url for i in cap.items)  # ads stay skipped


def test_one_malformed_url_among_good_ones(http_server, fetch_media, tmp_path):
    http_server.route("/bad-redirect.jpg", Reply(302, b"", headers={"Location": "/x\x01y.jpg"}))
    extra = '<img src="http://[::1/y.jpg"><img src="/bad-redirect.jpg">'
    cap = fetch(article(http_server, fetch_media, extra), tmp_path, allow_private=True)
    items = {i.url: i for i in cap.items}
    bad = items["http://[::1/y.jpg"]
    assert bad.error.code == "unsupported" and bad.error.message.startswith("http://[::1/y.jpg: malformed URL")
    redirect = items[http_server.url("/bad-redirect.jpg")]
    assert redirect.error.code == "unsupported" and "malformed Location" in redirect.error.message
    assert sum(1 for i in cap.claim_items if i.ok) == 5 and cap.exit_code == 1
    saved = json.loads((tmp_path / "manifest.json").read_text())
    assert len([i for i in saved["items"] if i["ok"]]) == 5


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_refused_host_is_tried_once_per_capture(http_server, fetch_media, tmp_path):
    port = unused_port()
    extra = "".join(f'<img src="http://127.0.0.1:{port}/gone{n}.jpg">' for n in range(4))
    cap = fetch(article(http_server, fetch_media, extra), tmp_path, allow_private=True, retries=3)
    gone = [i for i in cap.items if "/gone" in i.url]
    assert gone[0].error.message.endswith("connection failed (Connection refused)")
    assert all("failed earlier in this capture, not tried again" in i.error.message for i in gone[1:])
    assert sum(1 for i in cap.claim_items if i.ok) == 5


def test_unresolvable_host_is_not_retried(http_server, fetch_media, tmp_path):
    # Real resolution: names under .invalid never resolve (RFC 6761), so the lookup fails
    # for real, on this machine and any other. The first item's lookup fails once (no
    # "after N attempts"); the others are not looked up again.
    extra = "".join(f'<img src="http://cdn.nowhere.invalid/p{n}.jpg">' for n in range(3))
    url = article(http_server, fetch_media, extra)
    for kwargs in ({"allow_networks": ["127.0.0.1/32"]},  # the address guard resolves it
                   {"allow_private": True}):  # no guard: the connection resolves it
        cap = fetch(url, tmp_path / next(iter(kwargs)), retries=3, **kwargs)
        dead = [i for i in cap.items if "nowhere.invalid" in i.url]
        assert len(dead) == 3 and all(i.error.code == "network" for i in dead)
        first = dead[0].error.message
        if "allow_networks" in kwargs:
            assert "cannot resolve host 'cdn.nowhere.invalid'" in first
        else:
            assert first.startswith("http://cdn.nowhere.invalid/p0.jpg: connection failed (")
        assert "attempts" not in first and "not tried again" not in first
        assert all("failed earlier in this capture, not tried again" in i.error.message
                   for i in dead[1:])
        assert sum(1 for i in cap.claim_items if i.ok) == 5


class HeaderTrickle:
    """A raw server that sends a status line and then one header line every 1.5 s."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.lines_sent = 0
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            conn.recv(65536)
            try:
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
                for n in range(80):  # 120 s of headers if nobody stops reading
                    if self.stop.wait(1.5):
                        return
                    conn.sendall(f"X-Slow-{n}: {n}\r\n".encode())
                    self.lines_sent += 1
            except OSError:
                return

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


def test_trickled_headers_hit_the_total_timeout(tmp_path):
    server = HeaderTrickle()
    try:
        cap = fetch(f"http://127.0.0.1:{server.port}/slow.jpg", tmp_path, allow_private=True,
                    timeout=2, total_timeout=5, retries=2)
    finally:
        server.close()
    assert cap.error.code == "timeout"
    assert "no complete response within the 5 s total time cap" in cap.error.message
    assert server.lines_sent <= 4  # cut after ~5 s, not after 80 lines


def test_sources_registry_and_order():
    assert list(SOURCES) == ["ytdlp", "telegram", "direct", "article"]
    assert [s.name for s in candidates("https://t.me/s/chan/12")] == ["telegram", "direct", "article"]
    assert candidates("https://www.youtube.com/watch?v=x")[0].name == "ytdlp"
    assert [s.name for s in candidates("https://news.example/a", "article")] == ["article"]
    with pytest.raises(ValueError, match="unknown source"):
        candidates("https://x.example/", "nope")


def test_ytdlp_source_with_its_generic_extractor_on_a_local_page(http_server, fetch_media, tmp_path):
    http_server.route("/v/launch.mp4", body=fetch_media["mp4"], content_type="video/mp4")
    page = """<html><head><title>Launch video</title></head><body>
      <video controls><source src="/v/launch.mp4" type="video/mp4"></video></body></html>"""
    url = http_server.route("/watch", body=page, content_type="text/html")
    cap = fetch(url, tmp_path, allow_private=True, source="ytdlp")
    assert cap.exit_code == 0, cap.failures
    (video,) = [i for i in cap.items if i.kind == "video"]
    assert video.ok and video.format == "MP4" and video.source.startswith("ytdlp:")
    assert video.path.read_bytes() == fetch_media["mp4"]
    assert cap.page.source == "ytdlp"
    # Every request yt-dlp made went through our client: they are in the WARC.
    from warcio.archiveiterator import ArchiveIterator

    with (tmp_path / "capture.warc.gz").open("rb") as fh:
        uris = [r.rec_headers.get_header("WARC-Target-URI") for r in ArchiveIterator(fh)
                if r.rec_type == "response"]
    assert url in uris and http_server.url("/v/launch.mp4") in uris


def test_ytdlp_source_respects_the_ssrf_rules(http_server, tmp_path):
    url = http_server.route("/watch", body="<video src='/v.mp4'></video>", content_type="text/html")
    cap = fetch(url, tmp_path, source="ytdlp")
    assert cap.exit_code == 2 and "loopback" in cap.error.message
    assert http_server.hits("/watch") == 0


needs_chromium = pytest.mark.skipif(
    shutil.which("chromium") is None and shutil.which("chromium-browser") is None,
    reason="Chromium is not installed (.ci/run installs it)")


@needs_chromium
def test_screenshot_is_evidence(http_server, fetch_media, tmp_path):
    cap = fetch(article(http_server, fetch_media), tmp_path, allow_private=True, screenshot=True,
                total_timeout=90)
    assert cap.screenshot is not None, cap.notes
    shot = tmp_path / cap.screenshot["file"]
    from PIL import Image

    with Image.open(shot) as im:
        assert im.format == "PNG" and im.size[0] >= 800
        lo, hi = im.convert("L").getextrema()
        assert hi - lo > 50  # not a blank page
    saved = json.loads((tmp_path / "manifest.json").read_text())
    assert saved["files"][shot.name]["sha256"] == shot.name.split(".")[0]
    from osintkit.fetch import check_evidence

    assert check_evidence(tmp_path).ok


@needs_chromium
def test_screenshot_browser_cannot_reach_refused_addresses(http_server, fetch_media, tmp_path):
    # The page's server (127.0.0.1) is allowed; a picture on 127.0.0.2 is not: Chromium goes
    # through the guard proxy, which refuses it, so that server never sees a request.
    with serve(host="127.0.0.2") as other:
        other.route("/secret.png", body=fetch_media["png"])
        extra = f'<img src="{other.url("/secret.png")}">'
        cap = fetch(article(http_server, fetch_media, extra), tmp_path,
                    allow_networks=["127.0.0.1/32"], screenshot=True, total_timeout=90)
        assert cap.screenshot is not None, cap.notes
        assert other.hits("/secret.png") == 0
        assert http_server.hits("/news/strike") >= 2  # our fetch, then Chromium's


def test_verify_checks_claim_media_only_and_lists_furniture(http_server, fetch_media, tmp_path):
    from osintkit.claim import Claim
    from osintkit.verify import VerifyOptions, verify_claim

    url = article(http_server, fetch_media, '<div class="related-links"><img src="http://127.0.0.1:1/dead-widget.jpg"></div>')
    claim = Claim(id="c1", urls=[url])
    rep = verify_claim(claim, tmp_path / "rep", options=VerifyOptions(
        formats=("json", "html", "md"), allow_private=True, search_archive=False))
    names = {m.name for m in rep.media}
    assert names == {"lead-1200.jpg", "launch.jpg", "g1.jpg", "g2.jpg", "clip.mp4"}
    data = json.loads((tmp_path / "rep" / "report.json").read_text())
    furniture = {f["url"].rsplit("/", 1)[-1] for f in data["furniture"]}
    assert {"logo.png", "author.jpg", "other-story.jpg", "dead-widget.jpg"} <= furniture
    text = json.dumps(data["verdict"]) + json.dumps(data["errors"])
    assert "other-story" not in text and "logo.png" not in text
    html = (tmp_path / "rep" / "report.html").read_text()
    assert '<details class="card" id="furniture">' in html and "other-story.jpg" in html
