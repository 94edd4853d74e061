"""Finding media in pages: generic news HTML and Telegram public posts (no network)."""

# ruff: noqa: E501  (HTML samples keep the line structure of the real pages)

from __future__ import annotations

import pytest

from osintkit.fetch.pages import largest_srcset, parse_srcset
from osintkit.fetch.sources import parse_page
from osintkit.fetch.sources.telegram import parse_views, telegram_embed_url, wanted_post

BASE = "https://news.example/2026/04/18/strike.html"

# Modelled on a news agency article: Open Graph + Twitter cards, JSON-LD NewsArticle,
# responsive inline images (srcset, lazy data-srcset), a video, a link to the original
# photo, plus the usual logo, tracking pixel and share icons.
NEWS_HTML = """<!doctype html>
<html lang="en"><head>
<meta charset="utf-8">
<title>Rockets fired near Termez | Example News</title>
<meta property="og:title" content="Rockets fired at a post near Termez">
<meta property="og:description" content="Ten rockets were fired, the group says.">
<meta property="og:image" content="https://cdn.news.example/img/lead-1200.jpg">
<meta name="twitter:image" content="https://cdn.news.example/img/lead-1200.jpg">
<meta property="article:published_time" content="2026-04-18T09:30:00+05:00">
<meta name="author" content="A. Reporter">
<script type="application/ld+json">
{"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Rockets",
 "datePublished": "2026-04-18T04:30:00Z", "author": {"@type": "Person", "name": "A. Reporter"},
 "image": {"@type": "ImageObject", "url": "https://cdn.news.example/img/ld.jpg"},
 "video": {"@type": "VideoObject", "contentUrl": "/media/launch.mp4",
           "thumbnailUrl": "/media/launch-thumb.jpg"}}
</script>
<script type="application/ld+json">{ this is not json </script>
</head><body>
<img src="/static/logo.svg" alt="Example News">
<img src="https://track.example/p.gif" width="1" height="1">
<img src="/static/share-x.png" width="24" height="24">
<article>
<figure><img src="/img/a-480.jpg"
  srcset="/img/a-480.jpg 480w, /img/a-1600.jpg 1600w, /img/a-960.jpg 960w"
  sizes="(max-width: 600px) 480px, 960px" alt="Launch site"></figure>
<figure><img class="lazy" src="data:image/gif;base64,R0lGODlhAQABAAAAACw="
  data-srcset="https://img.example/c_fill,w_400/b.jpg 1x, https://img.example/c_fill,w_800/b.jpg 2x"></figure>
<video controls poster="/media/clip-poster.jpg"><source src="/media/clip.webm" type="video/webm"></video>
<p>Full resolution: <a href="/files/original.JPG">original photo</a>,
   <a href="javascript:alert(1)">bad</a>, <a href="/about">about us</a></p>
<time datetime="2026-04-18T10:00:00Z">18 April</time>
</article></body></html>"""


def test_news_article_media_are_found_best_first():
    _, refs = parse_page(NEWS_HTML, BASE)
    urls = [r.url for r in refs]
    assert urls[0] == "https://cdn.news.example/img/lead-1200.jpg"
    assert urls.count("https://cdn.news.example/img/lead-1200.jpg") == 1  # og + twitter: once
    assert "https://news.example/img/a-1600.jpg" in urls  # the largest srcset candidate
    assert "https://news.example/img/a-480.jpg" not in urls
    assert "https://img.example/c_fill,w_800/b.jpg" in urls  # lazy, comma inside the URL
    assert "https://news.example/media/launch.mp4" in urls  # JSON-LD VideoObject
    assert "https://cdn.news.example/img/ld.jpg" in urls  # JSON-LD ImageObject
    assert "https://news.example/media/clip.webm" in urls  # <video><source>
    assert "https://news.example/files/original.JPG" in urls  # <a href> to a media file
    kinds = {r.url: r.kind for r in refs}
    assert kinds["https://news.example/media/clip.webm"] == "video"
    assert kinds["https://news.example/media/launch.mp4"] == "video"


def test_icons_pixels_svg_and_script_links_are_left_out():
    rec, refs = parse_page(NEWS_HTML, BASE)
    claim = " ".join(r.url for r in refs if r.role == "claim")
    everything = " ".join(r.url for r in refs)
    for unwanted in ("logo.svg", "p.gif", "javascript", "data:", "/about"):
        assert unwanted not in everything
    assert "share-x.png" not in claim  # a 24 px icon: furniture, kept as such
    assert {r.url: r.role for r in refs}["https://news.example/static/share-x.png"] == "furniture"
    assert rec.ignored == [{"url": "https://track.example/p.gif",
                            "reason": "tracking pixel (1x1)"}]


def test_news_article_record_has_title_time_author():
    rec, _ = parse_page(NEWS_HTML, BASE)
    assert rec.kind == "html"
    assert rec.title == "Rockets fired at a post near Termez"
    assert rec.published_at == "2026-04-18T09:30:00+05:00"
    assert rec.author == "A. Reporter"
    assert rec.text == "Ten rockets were fired, the group says."


def test_publication_time_falls_back_to_jsonld_then_time_element():
    html = NEWS_HTML.replace('<meta property="article:published_time" '
                             'content="2026-04-18T09:30:00+05:00">', "")
    assert parse_page(html, BASE)[0].published_at == "2026-04-18T04:30:00Z"
    bare = "<html><head><title> Bare </title></head><body>" \
           '<time datetime="2026-04-17T22:00:00Z">x</time></body></html>'
    rec, refs = parse_page(bare, BASE)
    assert (rec.title, rec.published_at, refs) == ("Bare", "2026-04-17T22:00:00Z", [])


def test_base_href_is_honoured():
    html = '<html><head><base href="https://static.example/a/"></head>' \
           '<body><img src="pic.jpg"></body></html>'
    assert [r.url for r in parse_page(html, BASE)[1]] == ["https://static.example/a/pic.jpg"]


@pytest.mark.parametrize(("srcset", "expected"), [
    ("a.jpg 480w, b.jpg 1600w, c.jpg 960w", "b.jpg"),
    ("a.jpg, b.jpg 2x, c.jpg 1.5x", "b.jpg"),
    ("https://i.example/c_fill,w_400/x.jpg 400w, https://i.example/c_fill,w_900/x.jpg 900w",
     "https://i.example/c_fill,w_900/x.jpg"),
    ("", None),
])
def test_largest_srcset_candidate(srcset, expected):
    assert largest_srcset(srcset) == expected


def test_srcset_without_spaces_after_commas():
    assert [u for u, _ in parse_srcset("a.jpg 1x,b.jpg 2x")] == ["a.jpg", "b.jpg"]


# ------------------------------------------------------------------ Telegram
def tg_message(post: str, body: str, *, views: str = "12.3K", edited: bool = False,
               forwarded: str = "", when: str = "2026-04-18T06:12:40+00:00") -> str:
    """One `div.tgme_widget_message` as t.me renders it (structure of the real widget)."""
    channel = post.split("/")[0]
    meta = "edited " if edited else ""
    return f"""
<div class="tgme_widget_message_wrap js-widget_message_wrap">
<div class="tgme_widget_message text_not_supported_wrap js-widget_message" data-post="{post}"
     data-view="eyJjIjotMTAwMTIzfQ">
 <div class="tgme_widget_message_user"><a href="https://t.me/{channel}">
   <i class="tgme_widget_message_user_photo bgcolor0"><img src="https://cdn4.telesco.pe/file/ava.jpg"></i></a></div>
 <div class="tgme_widget_message_bubble">
  <div class="tgme_widget_message_author accent_color"><a class="tgme_widget_message_owner_name"
     href="https://t.me/{channel}"><span dir="auto">Front News &lt;b&gt;</span></a></div>
  {forwarded}
  {body}
  <div class="tgme_widget_message_footer compact js-message_footer">
   <div class="tgme_widget_message_info short js-message_info">
    <span class="tgme_widget_message_views">{views}</span>
    <span class="tgme_widget_message_meta">{meta}<a class="tgme_widget_message_date"
       href="https://t.me/{post}"><time datetime="{when}" class="time">06:12</time></a></span>
   </div></div>
 </div></div></div>"""


ALBUM = """
<div class="tgme_widget_message_grouped_wrap js-message_grouped_wrap" data-margin-w="2">
 <div class="tgme_widget_message_grouped js-message_grouped" style="padding-top:75%">
  <div class="tgme_widget_message_grouped_layer js-message_grouped_layer">
   <a class="tgme_widget_message_photo_wrap grouped_media_wrap blured js-message_photo"
      style="left:0px;top:0px;width:225px;height:170px;background-image:url('https://cdn4.telesco.pe/file/p1.jpg')"
      href="https://t.me/frontnews/1234?single"></a>
   <a class="tgme_widget_message_photo_wrap grouped_media_wrap blured js-message_photo"
      style="left:227px;top:0px;width:226px;background-image:url(&quot;https://cdn4.telesco.pe/file/p2.jpg&quot;)"
      href="https://t.me/frontnews/1235?single"></a>
   <a class="tgme_widget_message_video_player grouped_media_wrap blured js-message_video_player"
      href="https://t.me/frontnews/1236?single">
     <i class="tgme_widget_message_video_thumb" style="background-image:url('https://cdn4.telesco.pe/file/thumb.jpg')"></i>
     <div class="tgme_widget_message_video_wrap grouped_media_helper js-message_video_wrap">
       <video src="https://cdn4.telesco.pe/file/v1.mp4?token=abc" class="tgme_widget_message_video js-message_video" width="100%" height="100%"></video>
     </div>
     <div class="message_video_play js-message_video_play"></div>
     <time class="message_video_duration js-message_video_duration">0:24</time>
   </a>
  </div></div></div>
<div class="tgme_widget_message_text js-message_text" dir="auto">Ten rockets at the post<br>near Termez <b>#strike</b></div>"""

TOO_BIG = """
<a class="tgme_widget_message_video_player not_supported js-message_video_player"
   href="https://t.me/frontnews/1300">
 <i class="tgme_widget_message_video_thumb" style="background-image:url('https://cdn4.telesco.pe/file/big-thumb.jpg')"></i>
 <div class="message_media_not_supported_wrap"><div class="message_media_not_supported">
   <div class="message_media_not_supported_label">Media is too big</div>
   <span class="message_media_view_in_telegram">VIEW IN TELEGRAM</span>
 </div></div>
 <time class="message_video_duration js-message_video_duration">12:03</time>
</a>"""

FORWARD = """<div class="tgme_widget_message_forwarded_from accent_color">Forwarded from
 <a class="tgme_widget_message_forwarded_from_name" href="https://t.me/origin_channel/77"><span dir="auto">Origin Channel</span></a></div>"""


def embed_page(*messages: str) -> str:
    return ("<!DOCTYPE html><html><head><title>Telegram Widget</title></head>"
            "<body class=\"widget_frame_base\">" + "".join(messages) + "</body></html>")


def claim(refs):
    return [r for r in refs if r.role == "claim"]


def test_telegram_album_keeps_every_photo_and_the_video():
    html = embed_page(tg_message("frontnews/1234", ALBUM, forwarded=FORWARD, edited=True))
    rec, refs = parse_page(html, "https://t.me/frontnews/1234?embed=1")
    furniture = [r for r in refs if r.role == "furniture"]
    assert [(r.url, r.why) for r in furniture] == [("https://cdn4.telesco.pe/file/ava.jpg",
                                                    "channel avatar")]
    refs = claim(refs)
    assert [(r.kind, r.url) for r in refs] == [
        ("image", "https://cdn4.telesco.pe/file/p1.jpg"),
        ("image", "https://cdn4.telesco.pe/file/p2.jpg"),
        ("video", "https://cdn4.telesco.pe/file/v1.mp4?token=abc"),
    ]
    video = refs[2]
    assert video.poster == "https://cdn4.telesco.pe/file/thumb.jpg"
    assert video.duration == "0:24"
    assert {r.post_id for r in refs} == {"frontnews/1234"}
    assert rec.kind == "telegram"


def test_telegram_post_record_has_time_author_text_views_forward_edit():
    html = embed_page(tg_message("frontnews/1234", ALBUM, forwarded=FORWARD, edited=True))
    rec, _ = parse_page(html, "https://t.me/frontnews/1234?embed=1")
    assert rec.published_at == "2026-04-18T06:12:40+00:00"
    assert rec.author == "Front News <b>"  # decoded text; escaping is the renderer's job
    assert rec.text == "Ten rockets at the post\nnear Termez #strike"
    assert rec.views == 12300
    assert rec.edited is True
    assert rec.forwarded_from == {"name": "Origin Channel",
                                  "url": "https://t.me/origin_channel/77"}
    post = rec.posts[0]
    assert (post.post_id, post.url, post.views_text) == (
        "frontnews/1234", "https://t.me/frontnews/1234", "12.3K")


def test_unedited_post_without_forward():
    html = embed_page(tg_message("frontnews/9", ALBUM))
    rec, _ = parse_page(html, "https://t.me/frontnews/9?embed=1")
    assert rec.edited is False and rec.forwarded_from is None


def test_media_too_big_is_a_not_fetchable_item_and_photos_stay():
    body = ('<a class="tgme_widget_message_photo_wrap" style="background-image:url(\'https://'
            'cdn4.telesco.pe/file/single.jpg\')" href="https://t.me/frontnews/1300"></a>' + TOO_BIG)
    _, refs = parse_page(embed_page(tg_message("frontnews/1300", body)),
                           "https://t.me/frontnews/1300?embed=1")
    assert refs[0].url.endswith("single.jpg") and refs[0].fetchable
    big = refs[1]
    assert big.kind == "video" and not big.fetchable
    assert "Media is too big" in big.reason
    assert big.poster == "https://cdn4.telesco.pe/file/big-thumb.jpg"
    assert big.duration == "12:03"


def test_channel_page_picks_the_claimed_post():
    page = embed_page(
        tg_message("frontnews/1233", '<a class="tgme_widget_message_photo_wrap" '
                   'style="background-image:url(\'https://cdn4.telesco.pe/file/before.jpg\')"></a>'),
        tg_message("frontnews/1234", ALBUM, when="2026-04-18T07:00:00+00:00"),
        tg_message("frontnews/1237", '<div class="tgme_widget_message_text">later</div>'),
    )
    rec, refs = parse_page(page, "https://t.me/s/frontnews/1234")
    assert [p.post_id for p in rec.posts] == ["frontnews/1234"]
    assert rec.published_at == "2026-04-18T07:00:00+00:00"
    assert len(claim(refs)) == 3 and "before.jpg" not in " ".join(r.url for r in claim(refs))
    other = {r.url: r for r in refs}["https://cdn4.telesco.pe/file/before.jpg"]
    assert (other.role, other.why) == ("furniture", "another post on the page (frontnews/1233)")
    assert all(r.posted_at == "2026-04-18T07:00:00+00:00" for r in claim(refs))
    # Asked for every post, or no post id (t.me/s/channel): every post's media is claim.
    assert len(claim(parse_page(page, "https://t.me/s/frontnews/1234", all_posts=True)[1])) == 4
    rec, refs = parse_page(page, "https://t.me/s/frontnews")
    assert len(rec.posts) == 3 and len(claim(refs)) == 4
    assert rec.published_at is None  # no single claimed post


def test_landing_page_points_to_the_embed_widget():
    landing = """<html><head><meta property="og:image" content="https://cdn4.telesco.pe/file/p1.jpg">
    </head><body><div class="tgme_page_widget"><script async src="https://telegram.org/js/telegram-widget.js?22"
    data-telegram-post="frontnews/1234" data-width="100%"></script></div></body></html>"""
    assert telegram_embed_url(landing, "https://t.me/frontnews/1234") == \
        "https://t.me/frontnews/1234?embed=1&mode=tme"
    assert telegram_embed_url(embed_page(tg_message("frontnews/1234", ALBUM)),
                              "https://t.me/frontnews/1234") is None
    hostile = landing.replace("frontnews/1234", "../../evil?x=1")
    assert telegram_embed_url(hostile, "https://t.me/frontnews/1234") is None


@pytest.mark.parametrize(("url", "post"), [
    ("https://t.me/frontnews/1234", "frontnews/1234"),
    ("https://t.me/s/frontnews/1234", "frontnews/1234"),
    ("https://t.me/frontnews/1234?embed=1&mode=tme", "frontnews/1234"),
    ("https://t.me/s/frontnews", None),
])
def test_wanted_post_from_url(url, post):
    assert wanted_post(url) == post


@pytest.mark.parametrize(("text", "views"), [("845", 845), ("12.3K", 12300), ("1.2M", 1_200_000),
                                             ("", None), ("lots", None)])
def test_view_counts(text, views):
    assert parse_views(text) == views


def test_hostile_html_does_not_break_parsing():
    html = ("<html><head><title>\x1b[31mred</title><script type='application/ld+json'>"
            + "[" * 5000 + "</script></head><body><img src='javascript:alert(1)'>"
            "<img srcset=',,, , '><img srcset='https://ok.example/real.png 1e999w'><a href='vbscript:x.jpg'>x</a>"
            "<img src='https://ok.example/real.png'></body></html>")
    rec, refs = parse_page(html.encode("utf-8"), "https://ok.example/")
    assert [r.url for r in refs] == ["https://ok.example/real.png"]
    assert rec.title == "\x1b[31mred"  # kept verbatim; outputs sanitise it


def test_album_item_url_selects_its_album():
    page = embed_page(tg_message("frontnews/1233", '<div class="tgme_widget_message_text">see '
                                 '<a href="https://t.me/frontnews/1235">this</a></div>'),
                      tg_message("frontnews/1234", ALBUM))
    rec, refs = parse_page(page, "https://t.me/s/frontnews/1235")
    assert [p.post_id for p in rec.posts] == ["frontnews/1234"] and len(claim(refs)) == 3


def test_claimed_post_missing_from_the_page():
    page = embed_page(tg_message("frontnews/1", ALBUM), tg_message("frontnews/2", ALBUM))
    rec, refs = parse_page(page, "https://t.me/s/frontnews/99")
    assert rec.kind == "telegram" and rec.posts == [] and claim(refs) == []


def test_round_video_is_found():
    body = ('<div class="tgme_widget_message_roundvideo_player"><video class="tgme_widget_message'
            '_roundvideo" src="https://cdn4.telesco.pe/file/round.mp4"></video></div>')
    _, refs = parse_page(embed_page(tg_message("frontnews/5", body)), "https://t.me/frontnews/5")
    assert [(r.kind, r.url) for r in claim(refs)] == [("video", "https://cdn4.telesco.pe/file/round.mp4")]


def test_channel_page_records_for_walking_the_history():
    import gzip
    from pathlib import Path

    from osintkit.fetch import parse_channel_page
    from osintkit.fetch.sources.telegram import channel_page_url

    pages = Path(__file__).parent / "data" / "pages"
    html = gzip.decompress((pages / "tg-channel-b.html.gz").read_bytes())
    page = parse_channel_page(html, "https://t.me/s/tchantest")
    assert page.channel == "tchantest" and page.title == "tchan's test channel"
    assert (page.before, page.after) == (79, 94)
    assert channel_page_url(page.channel, before=page.before) == "https://t.me/s/tchantest?before=79"
    numbers = [p.number for p in page.posts]
    assert numbers == sorted(numbers) and 84 in numbers
    forwarded = [p for p in page.posts if p.forwarded_from]
    assert forwarded and forwarded[0].forwarded_from["url"].startswith("https://t.me/")
    album = next(p for p in page.posts if p.number == 84)
    assert album.published_at and [m.kind for m in album.media].count("video") == 2
    assert all(m.posted_at == album.published_at for m in album.media)
    assert any(p.service for p in page.posts)  # "pinned", "channel video changed"
