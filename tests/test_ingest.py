"""`archive add URL|EVIDENCE_DIR`: a fake public channel (real t.me/s/ markup) on 127.0.0.1
walked into real SQLite/PostgreSQL archives; resumed, killed and restarted, bounded."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from conftest import ROOT
from fixtures_channel import CHANNEL, PAGE_SIZE, FakeChannel, channel_server, write_urls
from paused_cli import PAUSE_MARKER

from osintkit.archive import open_archive
from osintkit.archive.ingest import IngestOptions, add_target, channel_ref
from osintkit.cli import cli
from osintkit.fetch import check_evidence, fetch


def _expected(channel: FakeChannel) -> dict[str, tuple[str, str, str]]:
    """sha256 -> (first_seen, source_url, kind) of the earliest post carrying each file."""
    out: dict[str, tuple[str, str, str]] = {}
    for post in channel.posts:  # oldest first: the first post wins
        for m in post.media:
            if m.fetchable:
                out.setdefault(hashlib.sha256(m.data).hexdigest(), (post.iso, post.url, m.kind))
    return out


def _archived(url: str) -> dict[str, tuple[str, str, str]]:
    with open_archive(url) as arc:
        items = [arc.get(i.id) for i in arc.list()]
    return {i.sha256: (i.first_seen, i.source_url, i.kind) for i in items if i}


def _opts(tmp_path: Path, **kw) -> IngestOptions:
    return IngestOptions(evidence=tmp_path / "ev", delay=0.0, allow_private=True, **kw)


@pytest.fixture(scope="module")
def channel() -> FakeChannel:
    return FakeChannel.build(320)


@pytest.fixture(scope="module")
def walked(channel, tmp_path_factory):
    """The whole channel walked once into an SQLite archive (shared by several tests)."""
    tmp = tmp_path_factory.mktemp("walk")
    url = f"sqlite:///{tmp / 'a.sqlite'}"
    with channel_server(channel) as srv, open_archive(url) as arc:
        target = srv.url(f"/s/{CHANNEL}")
        first = add_target(arc, target, _opts(tmp))
        second = add_target(arc, target, _opts(tmp))
        pages = srv.page_requests()
    return {"url": url, "first": first, "second": second, "pages": pages, "tmp": tmp}


def test_walk_archives_every_post_with_its_own_time_and_url(channel, walked):
    res = walked["first"]
    assert res.ok, res.errors
    assert len(channel.posts) >= 300 and res.posts == len(channel.posts)
    assert res.pages == -(-len(channel.posts) // PAGE_SIZE)  # every page, once
    assert res.stopped == "reached the channel's first post"
    expected = _expected(channel)
    assert _archived(walked["url"]) == expected  # nothing missing, nothing extra
    kinds = [k for _, _, k in expected.values()]
    assert kinds.count("video") >= 4 and len(expected) > 250
    with open_archive(walked["url"]) as arc:
        items = arc.list()
        assert {i.source for i in items} == {f"@{CHANNEL}"}
        album = next(p for p in channel.posts if len(p.media) == 3)
        titles = {i.title for i in items if arc.get(i.id).source_url == album.url}
        assert titles == {album.text}  # the post text (short: not trimmed)
        posts = dict(arc.db.query("SELECT number, forwarded_from FROM posts"))
        edited = dict(arc.db.query("SELECT number, edited FROM posts"))
    assert len(posts) == len(channel.posts)
    fwd = next(p for p in channel.posts if p.forwarded_from)
    assert json.loads(posts[fwd.number]) == {"name": "Origin Agency",
                                             "url": "https://t.me/originagency/77"}
    assert edited[next(p for p in channel.posts if p.edited).number] == 1
    big = next(p for p in channel.posts if p.media and not p.media[0].fetchable)
    assert any(big.url in n and "Media is too big" in n for n in res.notes)


def test_a_picture_posted_again_keeps_its_first_post(channel, walked):
    first, again = channel.posts[5], next(p for p in channel.posts if p.media and
                                          p.media[0].name.startswith("again"))
    assert again.media[0].data == first.media[0].data and again.when > first.when
    sha = hashlib.sha256(first.media[0].data).hexdigest()
    assert _archived(walked["url"])[sha][:2] == (first.iso, first.url)


def test_second_run_adds_nothing_and_reads_two_pages(walked):
    res = walked["second"]
    assert res.ok and (res.posts, res.added, res.updated, res.failed) == (0, 0, 0, 0)
    assert res.pages <= 2  # the newest page, then straight below the walked stretch
    assert any("walked before" in n for n in res.notes)


def test_walk_evidence_is_complete_and_checks(walked):
    folder = Path(walked["first"].evidence)
    check = check_evidence(folder)
    assert check.ok, check.error
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["kind"] == "archive-walk" and len(manifest["runs"]) == 2
    assert len(manifest["pages"]) == walked["first"].pages + walked["second"].pages
    assert len(list(folder.glob("walk-*.warc.gz"))) == 2
    item = next(i for i in manifest["items"] if i.get("file"))
    assert item["post_url"].startswith(f"https://t.me/{CHANNEL}/") and item["posted_at"]


def test_walk_evidence_folder_can_be_added_again(walked, tmp_path):
    url = f"sqlite:///{tmp_path / 'b.sqlite'}"
    with open_archive(url) as arc:
        res = add_target(arc, walked["first"].evidence, IngestOptions())
    assert res.ok and res.kind == "evidence"
    assert _archived(url) == _archived(walked["url"])


def test_since_stops_at_the_page_that_reaches_it(channel, tmp_path):
    cut = channel.posts[250]
    with channel_server(channel) as srv, open_archive(f"sqlite:///{tmp_path / 'a.sqlite'}") \
            as arc:
        res = add_target(arc, srv.url(f"/s/{CHANNEL}"), _opts(tmp_path, since=cut.when))
        pages = srv.page_requests()
        got = {n for (n,) in arc.db.query("SELECT number FROM posts")}
    newer = [p for p in channel.posts if p.when >= cut.when]
    # pages are cut from the newest: the page holding post 250 is the last one read
    from_top = len(channel.posts) - 1 - 250
    assert res.pages == len(pages) == from_top // PAGE_SIZE + 1
    assert res.stopped.startswith("reached --since")
    assert got == {p.number for p in newer}


def test_until_and_max_posts_bound_the_walk_and_a_rerun_continues(channel, tmp_path):
    until = channel.posts[300].when
    db = f"sqlite:///{tmp_path / 'a.sqlite'}"
    with channel_server(channel) as srv, open_archive(db) as arc:
        target = srv.url(f"/s/{CHANNEL}")
        first = add_target(arc, target, _opts(tmp_path, until=until, max_posts=50))
        second = add_target(arc, target, _opts(tmp_path, until=until, max_posts=50))
        numbers = [n for (n,) in arc.db.query("SELECT number FROM posts ORDER BY number")]
    assert first.stopped == second.stopped == "--max-posts 50"
    assert first.posts == second.posts == 50
    wanted = [p.number for p in channel.posts if p.when <= until][-100:]
    assert numbers == wanted  # the 100 newest posts up to --until, no gap, no extra


def test_429_retry_after_is_honoured(channel, tmp_path):
    small = FakeChannel(channel.posts[:60])
    with channel_server(small) as srv, open_archive(f"sqlite:///{tmp_path / 'a.sqlite'}") \
            as arc:
        second = f"/s/{CHANNEL}?before={small.posts[-PAGE_SIZE].number}"
        srv.fail_next[second] = [429]
        res = add_target(arc, srv.url(f"/s/{CHANNEL}"), _opts(tmp_path))
        times = [t for t, p in srv.requests if p == second]
    assert res.ok and res.posts == 60
    assert len(times) == 2 and times[1] - times[0] >= 1.0  # waited its Retry-After: 1


def test_killed_walk_restarted_completes_without_duplicates(channel, tmp_path):
    db = f"sqlite:///{tmp_path / 'a.sqlite'}"
    exe = [sys.executable, "-m", "osintkit", "-q", "archive", "add", "--db", db,
           "--evidence", str(tmp_path / "ev"), "--delay", "0", "--allow-private"]
    with channel_server(channel) as srv:
        target = srv.url(f"/s/{CHANNEL}")
        # pause inside the 150th post's transaction (tests/paused_cli.py)
        paused = [sys.executable, str(Path(__file__).with_name("paused_cli.py")), "150",
                  *exe[3:]]
        proc = subprocess.Popen([*paused, target], stderr=subprocess.PIPE, text=True,
                                cwd=ROOT)
        try:
            for line in proc.stderr:
                if PAUSE_MARKER in line:
                    break
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.wait(timeout=60)
            proc.stderr.close()
        with open_archive(db) as arc:
            half = arc.db.query("SELECT COUNT(*) FROM posts")[0][0]
        assert 100 < half < len(channel.posts)  # killed half-way, 149 posts committed
        done = subprocess.run([*exe, "--json", target], capture_output=True, text=True,
                              cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr
    res = json.loads(done.stdout)
    assert res["posts"] == len(channel.posts) - half and res["known_posts"] >= 1
    assert _archived(db) == _expected(channel)
    with open_archive(db) as arc:
        assert arc.db.query("SELECT COUNT(*) FROM posts")[0][0] == len(channel.posts)
        dup = arc.db.query("SELECT sha256 FROM items GROUP BY sha256 HAVING COUNT(*) > 1")
        assert dup == []
    check = check_evidence(Path(res["evidence"]))
    assert check.ok, check.error


def test_walk_on_postgresql_resumes(channel, tmp_path, postgres_server):
    small = FakeChannel(channel.posts[-70:])
    db = postgres_server.new_database()
    with channel_server(small) as srv, open_archive(db) as arc:
        target = srv.url(f"/s/{CHANNEL}")
        first = add_target(arc, target, _opts(tmp_path, max_posts=30))
        second = add_target(arc, target, _opts(tmp_path))
        third = add_target(arc, target, _opts(tmp_path))
    assert (first.posts, second.posts, third.posts) == (30, 40, 0)
    assert _archived(db) == _expected(small)


def test_cli_urls_file_channel_and_single_post(channel, tmp_path, runner):
    small = FakeChannel(channel.posts[:30])
    post = next(p for p in small.posts if len(p.media) == 3)
    with channel_server(small) as srv:
        urls = write_urls(tmp_path / "urls.txt", [srv.url(f"/s/{CHANNEL}"),
                                                 srv.url(f"/s/{CHANNEL}/{post.number}")])
        db = f"sqlite:///{tmp_path / 'a.sqlite'}"
        res = runner.invoke(cli, ["archive", "add", "--urls", str(urls), "--db", db,
                                  "--allow-private", "--delay", "0", "--json",
                                  "--evidence", str(tmp_path / "ev")])
    assert res.exit_code == 0, res.output + res.stderr
    walk, single = (json.loads(line) for line in res.stdout.splitlines())
    assert walk["kind"] == "channel" and walk["posts"] == 30
    assert single["kind"] == "post" and single["unchanged"] == 3 and single["added"] == 0
    assert _archived(db) == _expected(small)


def test_single_post_and_article_evidence_times(tmp_path, http_server, fetch_media):
    page = ('<html><head><title>Strike report</title><meta property="og:image" '
            'content="/img/lead.jpg"><meta property="article:published_time" '
            'content="2023-05-01T08:30:00+02:00"></head><body><article><h1>Strike</h1>'
            '<p>' + "Text of the article. " * 40 + '</p><img src="/img/lead.jpg" '
            'width="600" height="400"></article></body></html>')
    http_server.route("/story", body=page, content_type="text/html")
    http_server.route("/img/lead.jpg", body=fetch_media["jpeg_c"], content_type="image/jpeg")
    http_server.route("/file.jpg", body=fetch_media["jpeg_a"], content_type="image/jpeg",
                      headers={"Last-Modified": "Tue, 02 Jan 2018 10:00:00 GMT"})
    db = f"sqlite:///{tmp_path / 'a.sqlite'}"
    with open_archive(db) as arc:
        story = add_target(arc, http_server.url("/story"), _opts(tmp_path))
        direct = add_target(arc, http_server.url("/file.jpg"), _opts(tmp_path))
    assert story.ok and story.kind == "page" and story.added == 1
    assert direct.ok and direct.added == 1
    got = {sha: v[:2] for sha, v in _archived(db).items()}
    sha_c = hashlib.sha256(fetch_media["jpeg_c"]).hexdigest()
    sha_a = hashlib.sha256(fetch_media["jpeg_a"]).hexdigest()
    assert got[sha_c] == ("2023-05-01T06:30:00+00:00", http_server.url("/story"))
    assert got[sha_a] == ("2018-01-02T10:00:00+00:00", http_server.url("/file.jpg"))


def test_evidence_folder_with_a_changed_file_is_refused(tmp_path, http_server, fetch_media):
    http_server.route("/a.jpg", body=fetch_media["jpeg_a"], content_type="image/jpeg")
    cap = fetch(http_server.url("/a.jpg"), tmp_path / "ev", allow_private=True)
    path = cap.items[0].path
    path.write_bytes(fetch_media["jpeg_b"])
    with open_archive(f"sqlite:///{tmp_path / 'a.sqlite'}") as arc:
        res = add_target(arc, str(tmp_path / "ev"), IngestOptions())
        assert arc.stats()["items"] == 0
    assert not res.ok and "changed since it was captured" in res.errors[0].message


def test_cli_files_still_need_source_and_date(tmp_path, runner, fetch_media):
    pic = tmp_path / "a.jpg"
    pic.write_bytes(fetch_media["jpeg_a"])
    res = runner.invoke(cli, ["archive", "add", str(pic), "--db",
                              f"sqlite:///{tmp_path / 'a.sqlite'}"])
    assert res.exit_code == 2 and "--source and --first-seen" in res.stderr
    res = runner.invoke(cli, ["archive", "add", "https://t.me/s/x", "/nonexistent-folder",
                              "--db", f"sqlite:///{tmp_path / 'a.sqlite'}"])
    assert res.exit_code == 2


def test_channel_urls():
    assert channel_ref("https://t.me/s/agency").channel == "agency"
    assert channel_ref("https://t.me/agency").channel == "agency"
    assert channel_ref("https://t.me/s/agency?before=120").before == 120
    assert channel_ref("https://t.me/agency/12") is None  # a post
    assert channel_ref("https://t.me/s/agency/12") is None
    assert channel_ref("https://example.org/agency") is None  # t.me/<name> only on t.me
    assert channel_ref("http://127.0.0.1:8000/s/agency").base == "http://127.0.0.1:8000"
    assert channel_ref("https://t.me/joinchat") is None


def test_fake_channel_parses_like_the_saved_real_page(channel):
    import gzip

    from osintkit.fetch import parse_channel_page

    real = parse_channel_page(gzip.decompress(
        (ROOT / "tests/data/pages/tg-channel-a.html.gz").read_bytes()), "https://t.me/s/tchantest")
    video = next(p for p in channel.posts if p.media and p.media[0].kind == "video"
                 and p.number > channel.posts[40].number)
    fake = parse_channel_page(channel.page(video.number + 1, "http://127.0.0.1:1"),
                              "https://t.me/s/x")
    assert real.before is not None and fake.before is not None
    for page in (real, fake):
        assert {m.source for p in page.posts for m in p.media} >= {"telegram:photo",
                                                                  "telegram:video"}
        assert any(len(p.media) > 1 for p in page.posts)  # an album
        assert all(p.published_at and p.url for p in page.posts)
    assert fake.posts[0].published_at < fake.posts[-1].published_at
    assert datetime.fromisoformat(fake.posts[-1].published_at) - datetime.fromisoformat(
        fake.posts[0].published_at) > timedelta(days=1)


def test_report_links_the_archived_post_with_its_time_and_text(channel, walked, tmp_path):
    from osintkit.claim import Claim, parse_claimed_at
    from osintkit.verify import VerifyOptions, verify_claim

    post = next(p for p in channel.posts if len(p.media) == 1 and p.media[0].kind == "image"
                and not p.forwarded_from and p.number > 100)
    copy = tmp_path / "claim.jpg"
    copy.write_bytes(post.media[0].data)
    claim = Claim(id="c", media=[copy], claimed_at=parse_claimed_at("2026-04-18"))
    report = verify_claim(claim, tmp_path / "out", db_url=walked["url"],
                          options=VerifyOptions(formats=("json", "html")))
    d = report.to_dict()
    match = d["media"][0]["matches"][0]
    assert (match["source_url"], match["posted_at"]) == (post.url, post.iso)
    assert match["post_text"] == post.text and match["first_seen"] == post.iso
    finding = next(f for f in d["findings"] if f["code"] == "ARCHIVE_MATCH_PREDATES_CLAIM")
    assert finding["evidence"]["source_url"] == post.url
    assert finding["evidence"]["posted_at"] == post.iso
    html = (tmp_path / "out" / "report.html").read_text()
    assert f'href="{post.url}"' in html and post.iso in html
    assert "report from the front &lt;b&gt;" in html and "<b>#" not in html  # escaped text
