"""Claim-vs-furniture rules found on readability's test pages (issue 16c): an article held in
a furniture-worded wrapper, CMS image-embed blocks, an <article> whose text is in lists;
and the automatic labelling of readability's pages (scripts/readability_pages.py)."""

# ruff: noqa: E501  (HTML samples keep the line structure of the real pages)

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from osintkit.fetch.sources.article import classify

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import readability_pages as R

URL = "https://blog.example.org/2016/05/post.html"
LINE = "The launch site was filmed from the ridge and the shadows fit the afternoon. "


def roles(html: str, engine: str) -> dict[str, str]:
    _, refs, _ = classify(html, URL, engine)
    return {r.url.split("example.", 1)[-1]: r.role for r in refs}


BLOGGER = f"""<html><body><div class="content-outer">
<div class="widget Blog" id="Blog1"><div class="post-body entry-content">{LINE * 4}<br><br>
<table class="tr-caption-container"><tr><td><a href="https://1.bp.example.com/s1600/schematic.png"><img src="https://1.bp.example.com/s640/schematic.png" width="640" height="400"></a></td></tr></table>
{LINE * 4}<br>{LINE * 3}</div></div>
<div class="widget PopularPosts"><ul><li><a href="/2015/old.html"><img src="https://2.bp.example.com/w72-h72/old.jpg"> An old post about floor plans</a></li></ul></div>
</div></body></html>"""


@pytest.mark.parametrize("engine", ["none", "trafilatura"])
def test_a_post_inside_a_widget_block_is_claim(engine):
    got = roles(BLOGGER, engine)
    assert got["com/s640/schematic.png"] == "claim"
    assert got["com/w72-h72/old.jpg"] == "furniture"


DRUPAL = f"""<html><body><article><h1>Hotels</h1>
<div class="text-wrapper" id="gigya-share-btns-2_gig_containerParent">
<p>{LINE * 3}</p>
<div class="dnd-widget-wrapper context-sdl_editor_representation type-image"><div class="image"><img src="https://static.example.com/story_medium/room.jpg"></div></div>
<p>{LINE * 3}</p>
<div class="gigya-share-btns"><img src="https://static.example.com/theme/img/twitter-share.jpg"></div>
</div>
<div class="related-widget"><img src="https://static.example.com/story_small/other.jpg"></div>
</article></body></html>"""


@pytest.mark.parametrize("engine", ["none", "trafilatura"])
def test_a_cms_image_embed_is_claim_and_share_icons_stay_furniture(engine):
    got = roles(DRUPAL, engine)
    assert got["com/story_medium/room.jpg"] == "claim"
    assert got["com/theme/img/twitter-share.jpg"] == "furniture"
    assert got["com/story_small/other.jpg"] == "furniture"


LISTS = f"""<html><body><main>
<article class="post"><h1>These weeks</h1><ul>
<li>{LINE}<div class="wp-caption"><a href="/files/shot0.png"><img src="/files/shot0.png" alt="The error page, saying restart"></a></div></li>
<li>{LINE * 2}</li><li>{LINE * 2}</li><li>{LINE * 2}</li></ul></article>
<section class="comments-area"><p>{LINE * 4}</p><p>{LINE * 3}</p></section>
<article class="teaser"><a href="/2020/other-post.html"><img src="/files/other-lead.jpg"> Another post of the blog</a></article>
</main></body></html>"""


def test_an_article_of_lists_is_no_teaser_a_short_one_is():
    got = roles(LISTS, "none")
    assert got["org/files/shot0.png"] == "claim"
    assert got["org/files/other-lead.jpg"] == "furniture"


SOURCE = b"""<html><head><link rel="canonical" href="https://news.example.com/a/story.html">
<meta property="og:image" content="https://cdn.example.com/share-1200.jpg"></head><body>
<img src="/static/logo.png" alt="Site">
<article><picture><source srcset="https://cdn.example.com/lead-480.jpg 480w, https://cdn.example.com/lead-960.jpg 960w"><img src="https://cdn.example.com/lead-480.jpg"></picture>
<p>Text</p><img data-src="/img/inline.jpg" src="data:image/gif;base64,R0lGOD"></article>
<aside><img src="/img/teaser.jpg"></aside></body></html>"""
EXPECTED = b"""<div><img src="https://cdn.example.com/lead-960.jpg"><p>Text</p>
<img src="http://fakehost/img/inline.jpg"></div>"""


def test_readability_labels_match_variants_and_resolve_both_ways():
    page = R.label("x", SOURCE, EXPECTED)
    assert page.url == "https://news.example.com/a/story.html"
    claim = sorted(u for it in page.claim for u in it.real)
    assert claim == ["https://cdn.example.com/lead-480.jpg", "https://cdn.example.com/lead-960.jpg",
                     "https://news.example.com/img/inline.jpg"]
    furn = sorted(u for it in page.furniture for u in it.real)
    assert furn == ["https://news.example.com/img/teaser.jpg", "https://news.example.com/static/logo.png"]
    assert page.neutral == {"cdn.example.com/share-1200.jpg"}
    # one claim item found through either size; the og:image is not scored; the logo is
    s = R.score(page, ["https://cdn.example.com/lead-960.jpg", "https://cdn.example.com/share-1200.jpg",
                       "http://news.example.com/static/logo.png"])
    assert (s["labelled"], s["found"], s["claimed"], s["false"], s["neutral"]) == (2, 1, 2, 1, 1)


def test_readability_pages_halves_are_fixed():
    pages = [R.RPage(n, URL, b"") for n in ("d", "a", "c", "b", "e")]
    first, second = R.split(pages)
    assert [p.name for p in first] == ["a", "c", "e"] and [p.name for p in second] == ["b", "d"]
