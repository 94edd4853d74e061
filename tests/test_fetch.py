"""`fetch()` against a real HTTP server on 127.0.0.1: pages, media, every failure.

The server is local, so these tests pass allow_private=True, except the SSRF tests.
Each failure test checks the message names the URL and the reason, and that the good
items fetched alongside are kept in the capture and in manifest.json.
"""

# ruff: noqa: E501  (HTML samples keep the line structure of the real pages)

from __future__ import annotations

import gzip
import json
import re
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from fixtures_fetch import Reply, TestServer

from osintkit import __version__
from osintkit.errors import FetchError
from osintkit.fetch import fetch
from osintkit.fetch.guard import AddressPolicy, SafeAdapter, address_problem
from osintkit.fetch.http import HttpClient
from osintkit.fetch.transfer import parse_size, retry_after


def news_page(server: TestServer, media: dict[str, bytes], extra: str = "") -> str:
    """A news article: og:image, an inline image with srcset, `extra` markup; return URL."""
    server.route("/img/lead.jpg", body=media["jpeg_a"], content_type="image/jpeg")
    server.route("/img/b-480.jpg", body=media["jpeg_c"], content_type="image/jpeg")
    server.route("/img/b-1600.jpg", body=media["jpeg_b"], content_type="image/jpeg")
    html = f"""<html><head><title>Strike near Termez</title>
    <meta property="og:image" content="/img/lead.jpg">
    <meta property="article:published_time" content="2026-04-18T09:30:00+05:00">
    </head><body><article>
    <img src="/img/b-480.jpg" srcset="/img/b-480.jpg 480w, /img/b-1600.jpg 1600w">
    {extra}</article></body></html>"""
    return server.route("/news/strike.html", body=html, content_type="text/html; charset=utf-8")


def by_url(cap):
    return {i.url.rsplit("/", 1)[-1]: i for i in cap.items}


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def quick(url: str, out: Path, **kw):
    kw.setdefault("allow_private", True)
    kw.setdefault("backoff", 0.01)
    return fetch(url, out, **kw)


# ------------------------------------------------------------------ pages modelled on real ones
def test_news_article_media_are_saved_by_hash(http_server, fetch_media, tmp_path):
    cap = quick(news_page(http_server, fetch_media), tmp_path)
    assert cap.ok and cap.exit_code == 0
    items = by_url(cap)
    assert set(items) == {"lead.jpg", "b-1600.jpg"}  # og:image and the largest srcset only
    lead = items["lead.jpg"]
    assert lead.path == tmp_path / f"{lead.sha256}.jpg"
    assert lead.path.read_bytes() == fetch_media["jpeg_a"]
    assert (lead.kind, lead.mime, lead.status, lead.size) == (
        "image", "image/jpeg", 200, len(fetch_media["jpeg_a"]))
    assert lead.found_on.endswith("/news/strike.html")
    assert lead.headers["Content-Type"] == "image/jpeg" and "Date" in lead.headers
    assert cap.page.title == "Strike near Termez"
    assert cap.page.published_at == "2026-04-18T09:30:00+05:00"
    saved = manifest(tmp_path)
    assert [i["sha256"] for i in saved["items"]] == [i.sha256 for i in cap.items]
    assert saved["page"]["title"] == "Strike near Termez"
    entry = saved["items"][0]
    for key in ("url", "final_url", "found_on", "status", "headers", "fetched_at", "sha256",
                "md5", "size", "mime"):
        assert entry[key] is not None, key
    assert entry["fetched_at"].endswith("Z")


TG_POST = """<html><head><title>Telegram Widget</title></head><body>
<div class="tgme_widget_message_wrap js-widget_message_wrap">
<div class="tgme_widget_message js-widget_message" data-post="frontnews/1234">
 <div class="tgme_widget_message_bubble">
  <div class="tgme_widget_message_author"><a class="tgme_widget_message_owner_name"
     href="https://t.me/frontnews"><span dir="auto">Front News</span></a></div>
  <div class="tgme_widget_message_forwarded_from">Forwarded from <a
     class="tgme_widget_message_forwarded_from_name" href="https://t.me/origin/77">Origin</a></div>
  <div class="tgme_widget_message_grouped_wrap js-message_grouped_wrap"><div class="tgme_widget_message_grouped">
   <div class="tgme_widget_message_grouped_layer">
    <a class="tgme_widget_message_photo_wrap grouped_media_wrap" href="/frontnews/1234?single"
       style="width:225px;background-image:url('/file/p1.jpg')"></a>
    <a class="tgme_widget_message_photo_wrap grouped_media_wrap" href="/frontnews/1235?single"
       style="width:225px;background-image:url('/file/p2.jpg')"></a>
    <a class="tgme_widget_message_video_player grouped_media_wrap" href="/frontnews/1236?single">
     <i class="tgme_widget_message_video_thumb" style="background-image:url('/file/thumb.jpg')"></i>
     <div class="tgme_widget_message_video_wrap"><video src="/file/v1.mp4?token=x"
        class="tgme_widget_message_video js-message_video"></video></div>
     <time class="message_video_duration js-message_video_duration">0:01</time>
    </a></div></div></div>
  <div class="tgme_widget_message_text js-message_text">Ten rockets<br>near Termez</div>
  <div class="tgme_widget_message_footer"><div class="tgme_widget_message_info">
   <span class="tgme_widget_message_views">4.1K</span>
   <span class="tgme_widget_message_meta"><a class="tgme_widget_message_date"
      href="https://t.me/frontnews/1234"><time datetime="2026-04-18T06:12:40+00:00">06:12</time></a></span>
  </div></div>
 </div></div></div></body></html>"""


def telegram_routes(server: TestServer, media: dict[str, bytes]) -> None:
    server.route("/file/p1.jpg", body=media["jpeg_a"], content_type="image/jpeg")
    server.route("/file/p2.jpg", body=media["jpeg_b"], content_type="image/jpeg")
    server.route("/file/v1.mp4", body=media["mp4"], content_type="video/mp4")
    server.route("/file/thumb.jpg", body=media["jpeg_c"], content_type="image/jpeg")


def test_telegram_post_with_two_photos_and_a_video(http_server, fetch_media, tmp_path):
    telegram_routes(http_server, fetch_media)
    url = http_server.route("/frontnews/1234", body=TG_POST + " ", content_type="text/html")
    cap = quick(url + "?embed=1", tmp_path)
    assert cap.exit_code == 0, cap.failures
    assert [(i.kind, i.format) for i in cap.items] == [("image", "JPEG"), ("image", "JPEG"),
                                                       ("video", "MP4")]
    video = cap.items[2]
    assert video.path.name == f"{video.sha256}.mp4"
    assert video.path.read_bytes() == fetch_media["mp4"]
    assert video.duration == "0:01" and video.poster.endswith("/file/thumb.jpg")
    assert {i.post_id for i in cap.items} == {"frontnews/1234"}
    page = manifest(tmp_path)["page"]
    assert page["kind"] == "telegram"
    assert page["published_at"] == "2026-04-18T06:12:40+00:00"
    assert page["author"] == "Front News" and page["views"] == 4100
    assert page["text"] == "Ten rockets\nnear Termez"
    assert page["forwarded_from"] == {"name": "Origin", "url": "https://t.me/origin/77"}


def test_telegram_landing_page_is_followed_to_its_widget(http_server, fetch_media, tmp_path):
    telegram_routes(http_server, fetch_media)
    http_server.route("/frontnews/1234", lambda req: Reply(200, TG_POST, "text/html"))
    landing = """<html><head><meta property="og:image" content="/file/p1.jpg"></head><body>
      <div class="tgme_page_widget"><script async src="/js/telegram-widget.js?22"
      data-telegram-post="frontnews/1234" data-width="100%"></script></div></body></html>"""
    http_server.route("/landing/frontnews/1234", body=landing, content_type="text/html")
    cap = quick(http_server.url("/landing/frontnews/1234"), tmp_path)
    assert cap.page.kind == "telegram" and len(cap.items) == 3
    assert any("widget" in n for n in cap.notes)
    assert http_server.hits("/frontnews/1234") == 1


def test_deleted_telegram_post_is_reported(http_server, fetch_media, tmp_path):
    page = TG_POST.replace("</body>", TG_POST.split("<body>")[1].split("</body>")[0]
                           .replace("frontnews/1234", "frontnews/1240") + "</body>")
    url = http_server.route("/s/frontnews/999", body=page, content_type="text/html")
    cap = quick(url, tmp_path)
    assert cap.exit_code == 2 and cap.error.code == "not_found"
    assert "the Telegram post is not on the page" in cap.error.message


def test_direct_image_link(http_server, fetch_media, tmp_path):
    url = http_server.route("/photo", body=fetch_media["png"], content_type="image/png")
    cap = quick(url, tmp_path)
    assert cap.exit_code == 0 and cap.page.kind == "direct"
    (item,) = cap.items
    assert (item.kind, item.format, item.path.suffix) == ("image", "PNG", ".png")
    assert item.found_on is None
    assert item.ip == "127.0.0.1"  # who served it, in the manifest


def test_direct_video_link(http_server, fetch_media, tmp_path):
    url = http_server.route("/v/launch", body=fetch_media["mp4"],
                            content_type="application/octet-stream")
    cap = quick(url, tmp_path)
    (item,) = cap.items
    assert cap.exit_code == 0 and (item.kind, item.mime) == ("video", "video/mp4")
    assert item.path.read_bytes() == fetch_media["mp4"]


def test_user_agent_names_osintkit_and_its_version(http_server, fetch_media, tmp_path):
    quick(http_server.route("/a.png", body=fetch_media["png"]), tmp_path)
    assert http_server.requests[0].headers["User-Agent"].startswith(f"osintkit/{__version__}")


def test_gzip_encoded_page_is_decoded(http_server, fetch_media, tmp_path):
    http_server.route("/a.jpg", body=fetch_media["jpeg_a"], content_type="image/jpeg")
    body = gzip.compress(b'<html><body><img src="/a.jpg"></body></html>')
    http_server.route("/z", Reply(200, body, "text/html", {"Content-Encoding": "gzip"}))
    cap = quick(http_server.url("/z"), tmp_path)
    assert cap.exit_code == 0 and len(cap.items) == 1


def test_chunked_and_gzip_encoded_media(http_server, fetch_media, tmp_path):
    http_server.route("/c.mp4", Reply(200, gzip.compress(fetch_media["mp4"]), "video/mp4",
                                      {"Content-Encoding": "gzip"}, chunked=True))
    cap = quick(http_server.url("/c.mp4"), tmp_path)
    assert cap.exit_code == 0 and cap.items[0].path.read_bytes() == fetch_media["mp4"]


def test_gzip_bomb_is_stopped_by_max_bytes(http_server, tmp_path):
    bomb = gzip.compress(b"\0" * 5_000_000)  # ~5 KB on the wire
    http_server.route("/bomb", Reply(200, bomb, "text/html", {"Content-Encoding": "gzip"}))
    cap = quick(http_server.url("/bomb"), tmp_path, max_bytes=1_000_000)
    assert cap.error.code == "too_large" and "decoded body over the size cap" in cap.error.message


def test_max_items_caps_the_downloads(http_server, fetch_media, tmp_path):
    http_server.route("/x.png", body=fetch_media["png"])
    cap = quick(news_page(http_server, fetch_media, '<img src="/x.png">'), tmp_path, max_items=2)
    assert len(cap.items) == 2 and cap.skipped == 1
    assert http_server.hits("/x.png") == 0
    assert "--max-items 2" in " ".join(cap.notes)


def test_progress_is_reported(http_server, fetch_media, tmp_path):
    seen = []
    quick(news_page(http_server, fetch_media), tmp_path, progress=lambda d, t, u: seen.append((d, t)))
    assert seen[0] == (0, 2) and seen[-1] == (2, 2)


def test_proxy_is_used(http_server, fetch_media, tmp_path):
    http_server.route("/a.jpg", body=fetch_media["jpeg_a"], content_type="image/jpeg")
    cap = quick("http://claims.example/a.jpg", tmp_path, proxy=http_server.url())
    assert cap.exit_code == 0
    req = http_server.requests[0]
    assert req.absolute and req.headers["Host"] == "claims.example"


def test_socks5_proxy_resolves_names_itself(http_server, socks_proxy, fetch_media, tmp_path):
    http_server.route("/a.jpg", body=fetch_media["jpeg_a"], content_type="image/jpeg")
    socks_proxy.aliases["claims.example"] = "127.0.0.1"
    url = f"http://claims.example:{http_server.port}/a.jpg"
    cap = quick(url, tmp_path, proxy=socks_proxy.url)
    assert cap.exit_code == 0, cap.failures
    assert socks_proxy.targets == [("claims.example", http_server.port)]


def test_proxy_from_the_environment(http_server, socks_proxy, fetch_media, tmp_path,
                                    monkeypatch):
    http_server.route("/a.jpg", body=fetch_media["jpeg_a"], content_type="image/jpeg")
    socks_proxy.aliases["env.example"] = "127.0.0.1"
    for var in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ALL_PROXY", socks_proxy.url)
    cap = quick(f"http://env.example:{http_server.port}/a.jpg", tmp_path)
    assert cap.exit_code == 0 and socks_proxy.targets == [("env.example", http_server.port)]


def test_https_with_a_trusted_certificate(https_server, tls_cert, fetch_media, tmp_path,
                                          monkeypatch):
    https_server.route("/a.jpg", body=fetch_media["jpeg_a"], content_type="image/jpeg")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_cert[0]))
    # Guarded (pinned) HTTPS connections: only 127.0.0.1 is exempted from the SSRF rule.
    cap = fetch(https_server.url("/a.jpg"), tmp_path, allow_networks=["127.0.0.1/32"])
    assert cap.exit_code == 0 and cap.items[0].final_url.startswith("https://")


def test_https_with_an_untrusted_certificate_fails_at_once(https_server, tmp_path,
                                                            monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    cap = quick(https_server.url("/a.jpg"), tmp_path)
    # OpenSSL's own words differ by version ("self signed" in 1.1, "self-signed" in 3):
    # the message is ours up to "certificate verify failed", then OpenSSL's reason.
    assert cap.error.code == "network"
    assert re.fullmatch(re.escape(f"{https_server.url('/a.jpg')}: TLS failed (certificate "
                                  "verify failed") + r"(: [^()\n]+)?\)", cap.error.message), \
        cap.error.message


# ------------------------------------------------------------------ failures
def test_404_item_is_reported_and_good_items_kept(http_server, fetch_media, tmp_path):
    url = news_page(http_server, fetch_media, '<img src="/img/gone.jpg">')
    cap = quick(url, tmp_path)
    items = by_url(cap)
    gone = items["gone.jpg"]
    assert not gone.ok and gone.error.code == "not_found"
    assert gone.error.message == f"{http_server.url('/img/gone.jpg')}: HTTP 404 Not Found"
    assert items["lead.jpg"].ok and items["b-1600.jpg"].ok
    assert cap.exit_code == 1
    saved = {i["url"].rsplit("/", 1)[-1]: i for i in manifest(tmp_path)["items"]}
    assert saved["lead.jpg"]["ok"] and saved["gone.jpg"]["error"]["code"] == "not_found"
    assert http_server.hits("/img/gone.jpg") == 1  # a 404 is not retried


def test_500_then_success_is_retried(http_server, fetch_media, tmp_path):
    http_server.route("/flaky.jpg", [Reply(500, b"oops"), Reply(200, fetch_media["jpeg_a"],
                                                                 "image/jpeg")])
    cap = quick(http_server.url("/flaky.jpg"), tmp_path)
    assert cap.exit_code == 0 and http_server.hits("/flaky.jpg") == 2


def test_500_every_time_gives_up_with_the_status(http_server, fetch_media, tmp_path):
    http_server.route("/down.jpg", Reply(503, b"", headers={}))
    cap = quick(news_page(http_server, fetch_media, '<img src="/down.jpg">'), tmp_path, retries=2)
    down = by_url(cap)["down.jpg"]
    assert "HTTP 503 Service Unavailable (after 3 attempts)" in down.error.message
    assert http_server.hits("/down.jpg") == 3 and cap.exit_code == 1


def test_429_waits_for_retry_after(http_server, fetch_media, tmp_path):
    http_server.route("/busy.jpg", [Reply(429, headers={"Retry-After": "1"}),
                                    Reply(200, fetch_media["jpeg_a"], "image/jpeg")])
    start = time.monotonic()
    cap = quick(http_server.url("/busy.jpg"), tmp_path)
    assert cap.exit_code == 0 and http_server.hits("/busy.jpg") == 2
    assert time.monotonic() - start >= 1.0  # the server's wish, not our 0.01 s backoff


def test_429_with_a_long_retry_after_fails_at_once(http_server, fetch_media, tmp_path):
    http_server.route("/busy.jpg", Reply(429, headers={"Retry-After": "3600"}))
    cap = quick(news_page(http_server, fetch_media, '<img src="/busy.jpg">'), tmp_path)
    busy = by_url(cap)["busy.jpg"]
    assert "HTTP 429 Too Many Requests" in busy.error.message
    assert "retry after 3600 s" in busy.error.message
    assert http_server.hits("/busy.jpg") == 1 and by_url(cap)["lead.jpg"].ok


def test_trickling_server_hits_the_total_time_cap(http_server, fetch_media, tmp_path):
    # Each byte arrives well within the read timeout, but the whole never finishes in time.
    http_server.route("/slow.jpg", Reply(200, fetch_media["jpeg_a"], "image/jpeg",
                                         trickle=0.05, chunk=20))
    cap = quick(news_page(http_server, fetch_media, '<img src="/slow.jpg">'), tmp_path,
                timeout=2.0, total_timeout=0.6)
    slow = by_url(cap)["slow.jpg"]
    assert slow.error.code == "timeout"
    assert "longer than the 0.6 s total time cap" in slow.error.message
    assert by_url(cap)["lead.jpg"].ok and cap.exit_code == 1
    assert not list(tmp_path.glob(".part-*"))  # no half file left behind


def test_stalled_server_hits_the_read_timeout(http_server, fetch_media, tmp_path):
    http_server.route("/stall.jpg", Reply(200, fetch_media["jpeg_a"], "image/jpeg", stall=5))
    cap = quick(http_server.url("/stall.jpg"), tmp_path, timeout=0.3)
    assert cap.exit_code == 2 and cap.error.code == "timeout"
    assert "no data for 0.3 s" in cap.error.message


def test_body_over_max_bytes_is_refused(http_server, fetch_media, tmp_path):
    big = fetch_media["jpeg_c"]
    http_server.route("/big.jpg", body=big, content_type="image/jpeg")
    http_server.route("/big-nolength.jpg", Reply(200, big, "image/jpeg", content_length=-1))
    extra = '<img src="/big.jpg"><img src="/big-nolength.jpg">'
    cap = quick(news_page(http_server, fetch_media, extra), tmp_path, max_bytes=len(big) - 1)
    items = by_url(cap)
    declared, streamed = items["big.jpg"], items["big-nolength.jpg"]
    assert declared.error.code == streamed.error.code == "too_large"
    assert "over the size cap" in declared.error.message and "--max-bytes" in streamed.error.message
    assert items["lead.jpg"].ok
    assert not list(tmp_path.glob(".part-*"))


def test_truncated_body_is_reported(http_server, fetch_media, tmp_path):
    data = fetch_media["jpeg_a"]
    http_server.route("/cut.jpg", Reply(200, data[:500], "image/jpeg", content_length=len(data)))
    cap = quick(http_server.url("/cut.jpg"), tmp_path)
    assert cap.error.code == "truncated" and cap.exit_code == 2


def test_redirect_loop_is_detected(http_server, fetch_media, tmp_path):
    http_server.redirect("/loop-a", "/loop-b")
    http_server.redirect("/loop-b", "/loop-a")
    cap = quick(news_page(http_server, fetch_media, '<img src="/loop-a">'), tmp_path)
    loop = by_url(cap)["loop-a"]
    assert "redirect loop" in loop.error.message
    assert loop.error.message.endswith("/loop-a -> " + http_server.url("/loop-b") + " -> "
                                       + http_server.url("/loop-a") + ")")
    assert by_url(cap)["lead.jpg"].ok


def test_redirects_are_followed_and_recorded(http_server, fetch_media, tmp_path):
    http_server.route("/final.jpg", body=fetch_media["jpeg_a"], content_type="image/jpeg")
    http_server.redirect("/short", "/mid", 301)
    http_server.redirect("/mid", http_server.url("/final.jpg"), 307)
    cap = quick(http_server.url("/short"), tmp_path)
    (item,) = cap.items
    assert item.final_url == http_server.url("/final.jpg")
    assert item.redirects == [http_server.url("/mid"), http_server.url("/final.jpg")]


def test_page_without_media_exits_2(http_server, tmp_path):
    url = http_server.route("/empty", body="<html><title>Nothing</title><p>text</p></html>",
                            content_type="text/html")
    cap = quick(url, tmp_path)
    assert cap.exit_code == 2 and cap.error.code == "not_media"
    assert cap.error.message == f"{url}: no media found on the page"
    assert manifest(tmp_path)["page"]["title"] == "Nothing"


@pytest.mark.parametrize(("url", "reason"), [
    ("ftp://files.example/a.jpg", "unsupported URL, scheme 'ftp://'"),
    ("file:///etc/passwd", "unsupported URL, scheme 'file://'"),
    ("not a url", "unsupported URL, no scheme"),
    ("http://", "malformed URL (no host)"),
    ("http://[::1", "malformed URL"),
    ("http://example.org:99999/", "malformed URL"),
])
def test_unsupported_and_malformed_urls(url, reason, tmp_path):
    cap = fetch(url, tmp_path)
    assert cap.exit_code == 2 and cap.error.code == "unsupported"
    assert cap.error.message.startswith(f"{url}: {reason}")


def test_refused_connection_is_reported_without_retries(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cap = quick(f"http://127.0.0.1:{port}/a.jpg", tmp_path, retries=3)
    assert cap.error.code == "network"
    assert cap.error.message == f"http://127.0.0.1:{port}/a.jpg: connection failed (Connection refused)"


def test_content_type_that_lies(http_server, fetch_media, tmp_path):
    # A JPEG served as text/plain is a JPEG; an "image/jpeg" that is HTML is not media.
    http_server.route("/really-a.jpg", body=fetch_media["jpeg_b"], content_type="text/plain")
    http_server.route("/fake.jpg", body="<html>login required</html>", content_type="image/jpeg")
    extra = '<img src="/really-a.jpg"><img src="/fake.jpg">'
    cap = quick(news_page(http_server, fetch_media, extra), tmp_path)
    items = by_url(cap)
    assert items["really-a.jpg"].ok and items["really-a.jpg"].mime == "image/jpeg"
    assert items["really-a.jpg"].declared_type == "text/plain"
    fake = items["fake.jpg"]
    assert fake.error.code == "not_media"
    assert fake.error.message.endswith(
        "fake.jpg: served as image/jpeg but the bytes are not an image or video we know")
    assert not list(tmp_path.glob("*.bin"))
    assert items["lead.jpg"].ok and cap.exit_code == 1


def test_direct_link_with_lying_content_type_is_media(http_server, fetch_media, tmp_path):
    url = http_server.route("/page.html", body=fetch_media["jpeg_a"], content_type="text/html")
    cap = quick(url, tmp_path)
    assert cap.exit_code == 0 and cap.items[0].format == "JPEG"
    assert "served as text/html, the bytes are JPEG" in cap.notes[0]


def test_binary_that_is_neither_media_nor_page(http_server, tmp_path):
    url = http_server.route("/blob", body=b"\x00\x01PK\x03\x04" * 10,
                            content_type="application/zip")
    cap = quick(url, tmp_path)
    assert cap.exit_code == 2 and "neither media nor a web page (application/zip" in \
        cap.error.message


# ------------------------------------------------------------------ SSRF guard
@pytest.mark.parametrize(("ip", "problem"), [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("10.1.2.3", "private"),
    ("192.168.0.10", "private"), ("172.16.5.4", "private"),
    ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
    ("224.0.0.251", "multicast"), ("ff02::1", "multicast"), ("0.0.0.0", "unspecified"),
    ("240.0.0.1", "reserved"), ("100.64.0.1", "non-public"),
    ("::ffff:127.0.0.1", "loopback"), ("2002:7f00:1::1", "loopback"),
    ("93.184.215.14", None), ("2606:4700:4700::1111", None),
])
def test_address_classes(ip, problem):
    assert address_problem(ip) == problem


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "0.0.0.0", "2130706433",
                                  "0x7f.1"])
def test_private_targets_are_refused_without_allow_private(http_server, tmp_path, host):
    http_server.route("/a.jpg", body=b"\xff\xd8\xff" + b"0" * 100, content_type="image/jpeg")
    url = f"http://{host}:{http_server.port}/a.jpg"
    cap = fetch(url, tmp_path)
    assert cap.exit_code == 2 and cap.error.code == "blocked"
    assert "--allow-private" in cap.error.message and cap.error.message.startswith(url)
    assert http_server.hits("/a.jpg") == 0  # refused before any connection


def test_redirect_to_a_private_address_is_refused(http_server, fetch_media, tmp_path):
    # The page's own server is allowed (as a public one would be); its redirect to the
    # cloud metadata address is not, and nothing is sent there.
    http_server.redirect("/img/meta.jpg", "http://169.254.169.254/latest/meta-data/")
    url = news_page(http_server, fetch_media, '<img src="/img/meta.jpg">')
    cap = fetch(url, tmp_path, allow_networks=["127.0.0.1/32"], backoff=0.01)
    meta = by_url(cap)["meta.jpg"]
    assert meta.error.code == "blocked"
    assert "169.254.169.254 is a link-local address" in meta.error.message
    assert by_url(cap)["lead.jpg"].ok and cap.exit_code == 1
    # With --allow-private the same kind of hop is followed.
    http_server.route("/ok.jpg", body=fetch_media["jpeg_a"], content_type="image/jpeg")
    http_server.redirect("/hop", http_server.url("/ok.jpg"))
    assert quick(http_server.url("/hop"), tmp_path / "b").exit_code == 0


def test_connections_are_pinned_to_allowed_addresses(http_server):
    # The DNS-rebinding guard: whatever a name resolved to at check time, the connected
    # peer is checked again, so a request that skips the first check is still refused.
    http_server.route("/a", body=b"secret")
    with requests.Session() as s:
        s.mount("http://", SafeAdapter(AddressPolicy()))
        with pytest.raises(requests.ConnectionError, match=r"127\.0\.0\.1, a loopback address"):
            s.get(http_server.url("/a"), timeout=5)
        s.mount("http://", SafeAdapter(AddressPolicy.make(allow_networks=["127.0.0.0/8"])))
        assert s.get(http_server.url("/a"), timeout=5).content == b"secret"
    assert http_server.hits("/a") == 1


def test_https_connections_are_pinned_too(https_server):
    with requests.Session() as s:
        s.mount("https://", SafeAdapter(AddressPolicy()))
        with pytest.raises(requests.ConnectionError, match="a loopback address"):
            s.get(https_server.url("/a"), timeout=5, verify=False)


def test_unresolvable_names_pass_only_through_a_proxy():
    policy = AddressPolicy()
    policy.check_host("http://bad..name/", "bad..name", 80, proxied=True)  # proxy resolves
    with pytest.raises(FetchError, match=r"cannot resolve host 'bad\.\.name'"):
        policy.check_host("http://bad..name/", "bad..name", 80, proxied=False)


def test_too_many_redirects(http_server, tmp_path):
    for n in range(12):
        http_server.redirect(f"/r{n}", f"/r{n + 1}")
    cap = quick(http_server.url("/r0"), tmp_path)
    assert cap.error.message == f"{http_server.url('/r0')}: more than 10 redirects"


def test_client_raises_fetch_error_with_code(http_server, tmp_path):
    with HttpClient(allow_private=True) as client, pytest.raises(FetchError) as info:
        client.get(http_server.url("/missing"), tmp_path)
    assert info.value.code == "not_found"


def test_retry_after_forms():
    from email.utils import format_datetime

    assert retry_after("7") == 7.0 and retry_after("soon") is None and retry_after(None) is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    assert 100 < retry_after(later) <= 120


@pytest.mark.parametrize(("text", "value"), [("200M", 200_000_000), ("1.5G", 1_500_000_000),
                                             ("500k", 500_000), ("1000", 1000), ("2MB", 2_000_000)])
def test_sizes(text, value):
    assert parse_size(text) == value
