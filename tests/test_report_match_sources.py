"""report.md links each archive match to the post or page its archived copy came from
(source_url, posted_at, post text: archive/provenance.py), escaped: a hostile page or
partner list cannot break the table, inject a link or HTML, or smuggle a javascript: URL.

Archives are built for real: `archive add URL` from pages served on 127.0.0.1, and
`archive import` of a partner's JSONL list; report.md is rendered by Python-Markdown
(the mkdocs dependency) to see what a reader of the file would get.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import markdown
import pytest
from fixtures_channel import CHANNEL, FakeChannel, Media, Post, draw_scene

from osintkit.cli import cli
from osintkit.report.render import md_link

HOSTILE_TEXT = "report <b>bold</b> | [x](javascript:alert(1)) ![i](http://e/x.png) `c` *em*"


class _Links(HTMLParser):
    """Every element and every URL-bearing attribute of rendered HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.hrefs += [v or "" for k, v in attrs if k in ("href", "src")]


def _rendered(md: str) -> _Links:
    parser = _Links()
    parser.feed(markdown.markdown(md, extensions=["tables"]))
    return parser


def _match_rows(md: str) -> list[str]:
    part = md.split("## Archive matches", 1)[1].split("\n## ", 1)[0]
    return [line for line in part.splitlines() if re.match(r"\| m\d", line)]


def _cells(row: str) -> int:
    """Cells of a Markdown table row, as a GFM parser splits it (escaped pipes stay)."""
    return len(re.split(r"(?<!\\)\|", row.strip().strip("|")))


def _jpeg(seed: int) -> bytes:
    import io

    buf = io.BytesIO()
    draw_scene(seed, (320, 240)).save(buf, "JPEG", quality=85)
    return buf.getvalue()


def _verify(runner, tmp_path, db: str, picture: bytes, name: str = "claim"):
    media = tmp_path / f"{name}.jpg"
    media.write_bytes(picture)
    out = tmp_path / f"out-{name}"
    res = runner.invoke(cli, ["verify", str(media), "--db", db, "-o", str(out),
                              "--format", "json,md,html", "--claim-date", "2026-04-18"])
    assert res.exit_code in (0, 1), res.output + res.stderr
    return json.loads((out / "report.json").read_text()), (out / "report.md").read_text(), \
        (out / "report.html").read_text()


@pytest.mark.parametrize("url, link", [
    ("https://t.me/chan/12", True),
    ("http://127.0.0.1:8080/story", True),
    ("javascript:alert(1)", False),
    (" JaVaScRiPt:alert(document.cookie)", False),
    ("data:text/html,<script>alert(1)</script>", False),
    ("https://x.org/a)](javascript:alert(1))", True),
    ("https://x.org/a]|b|c", True),
    ("https://x.org/a\n# heading\n<script>alert(1)</script>", True),
    ("https://x.org/a> <img src=x onerror=alert(1)>", True),
    ("https:///no-host", False),
    ("ftp://x.org/file", False),
])
def test_md_link_is_a_link_only_for_http_urls_and_never_breaks_out(url, link):
    out = md_link(url)
    assert "\n" not in out and "<script" not in out and "<img" not in out
    assert _cells(f"| {out} |") == 1  # no bare pipe: the table cell holds
    page = _rendered(f"| a |\n|---|\n| {out} |")
    assert page.tags.count("td") == 1 and "script" not in page.tags and "img" not in page.tags
    if link:
        assert len(page.hrefs) == 1 and re.match(r"https?://", page.hrefs[0], re.I)
        assert not set(page.hrefs[0]) & set("()[]|<> \n\\")  # all percent-encoded
    else:
        assert page.hrefs == [] and "](" not in out


def test_report_md_links_the_archived_post_of_a_walked_channel(runner, tmp_path,
                                                              http_server):
    """`archive add` walks a channel page whose date link (the post URL) is hostile: `)`,
    `]`, `|` and HTML in the URL; the post text is hostile too."""
    picture = _jpeg(7)
    post = Post(41, datetime(2019, 5, 1, 8, 30, tzinfo=UTC), HOSTILE_TEXT,
                [Media("photo41.jpg", "image", picture)])
    base = http_server.url("").rstrip("/")
    hostile = f"https://t.me/{CHANNEL}/41?x=1)](javascript:alert(1))|b]<i>"
    page = FakeChannel([post]).page(None, base).replace(
        post.url, hostile.replace("<", "&lt;").replace(">", "&gt;"))
    http_server.route(f"/s/{CHANNEL}", body=page, content_type="text/html")
    http_server.route("/file/photo41.jpg", body=picture, content_type="image/jpeg")
    db = f"sqlite:///{tmp_path / 'arch.sqlite'}"
    res = runner.invoke(cli, ["archive", "add", http_server.url(f"/s/{CHANNEL}"), "--db", db,
                              "--allow-private", "--delay", "0", "--json",
                              "--evidence", str(tmp_path / "ev")])
    assert res.exit_code == 0, res.output + res.stderr
    data, md, html = _verify(runner, tmp_path, db, picture)
    match = data["media"][0]["matches"][0]
    assert match["source_url"] == hostile  # the data is kept as the page gave it
    assert match["posted_at"] == "2019-05-01T08:30:00+00:00"
    rows = _match_rows(md)
    assert len(rows) == 1 and _cells(rows[0]) == 9, rows
    assert "2019-05-01T08:30:00+00:00" in rows[0]
    page_md = _rendered(md)
    assert "script" not in page_md.tags and "i" not in page_md.tags and "b" not in page_md.tags
    assert all(re.match(r"https?://", h, re.I) for h in page_md.hrefs), page_md.hrefs
    post_links = [h for h in page_md.hrefs if h.startswith(f"https://t.me/{CHANNEL}/41")]
    assert post_links == [f"https://t.me/{CHANNEL}/41?x=1%29%5D%28javascript:alert%281%29%29"
                          "%7Cb%5D%3Ci%3E"]
    # the post text: shown once, escaped, inert
    assert "report &lt;b&gt;bold&lt;/b&gt; \\| \\[x\\](javascript:alert(1))" in md
    assert md.count("javascript:alert(1)") == 2  # in the link text and the post text, as text
    assert f'href="https://t.me/{CHANNEL}/41?x=1)](javascript:alert(1))|b]&lt;i&gt;"' in html


def test_report_md_links_an_article_and_shows_imported_hostile_urls_as_text(
        runner, tmp_path, http_server):
    """An article added by URL links; a partner's JSONL list with javascript:, newline and
    pipe source_urls is imported and matched: those are shown as text, never as links."""
    article_pic, listed = _jpeg(11), [_jpeg(20 + k) for k in range(3)]
    http_server.route("/news/strike(2019)", body=(
        '<html><head><title>Strike</title><meta property="og:image" content="/img/lead.jpg">'
        '<meta property="article:published_time" content="2019-03-02T10:00:00+00:00">'
        '</head><body><article><h1>Strike</h1><p>' + "Text of the article. " * 40 +
        '</p><img src="/img/lead.jpg" width="320" height="240"></article></body></html>'),
        content_type="text/html")
    http_server.route("/img/lead.jpg", body=article_pic, content_type="image/jpeg")
    db = f"sqlite:///{tmp_path / 'arch.sqlite'}"
    story = http_server.url("/news/strike(2019)")
    res = runner.invoke(cli, ["archive", "add", story, "--db", db, "--allow-private",
                              "--delay", "0", "--evidence", str(tmp_path / "ev")])
    assert res.exit_code == 0, res.output + res.stderr
    hostile = ["javascript:alert(1)", "https://ok.example/p\n| x | y |\n<script>a</script>",
               "evil](javascript:alert(2)) | <img src=x>"]
    rows = [{"sha256": hashlib.sha256(p).hexdigest(), "first_seen": "2018-01-01",
             "source": "partner", "name": f"listed{k}.jpg", "source_url": u}
            for k, (p, u) in enumerate(zip(listed, hostile, strict=True))]
    (tmp_path / "list.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    res = runner.invoke(cli, ["archive", "import", str(tmp_path / "list.jsonl"), "--db", db])
    assert res.exit_code == 0, res.output + res.stderr

    data, md, _ = _verify(runner, tmp_path, db, article_pic, "article")
    assert data["media"][0]["matches"][0]["source_url"] == story
    assert data["media"][0]["matches"][0]["posted_at"] is None  # an article: no post row
    row = _match_rows(md)[0]
    assert _cells(row) == 9 and "%282019%29" in row  # ( ) percent-encoded in the target
    assert _rendered(md).hrefs.count(story.replace("(", "%28").replace(")", "%29")) == 1

    for k, url in enumerate(hostile):
        data, md, _ = _verify(runner, tmp_path, db, listed[k], f"listed{k}")
        assert data["media"][0]["matches"][0]["source_url"] == url
        (row,) = _match_rows(md)
        assert _cells(row) == 9, row
        page_md = _rendered(md)
        assert "script" not in page_md.tags and "img" not in page_md.tags
        assert all(re.match(r"https?://", h, re.I) for h in page_md.hrefs), page_md.hrefs
        assert not any("javascript" in h for h in page_md.hrefs)
    # the newline one is an http URL: a link, its target encoded, its text on one line
    assert "[https://ok.example/p \\| x \\| y \\| &lt;script&gt;a&lt;/script&gt;]" \
           "(<https://ok.example/p%20%7C%20x%20%7C%20y%20%7C%20%3Cscript%3Ea%3C/script%3E>)" in \
        (tmp_path / "out-listed1" / "report.md").read_text()
