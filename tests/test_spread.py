"""A claim's spread: four URLs on a local server (the agency's post, a cropped and mirrored
re-post, a re-post with a logo, a forward), verified as one claim."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import jsonschema
import pytest
from fixtures_channel import Media, Post, draw_scene, post_page
from fixtures_fetch import Reply
from PIL import Image, ImageDraw, ImageFont, ImageOps

from osintkit.claim import Claim, parse_claimed_at
from osintkit.edits import describe_edits
from osintkit.report.model import load_schema
from osintkit.report.reverse import is_public_url, links, reverse_search
from osintkit.verify import VerifyOptions, verify_claim

T0 = datetime(2026, 4, 18, 9, 0, tzinfo=UTC)


def _jpeg(img: Image.Image, quality: int = 90) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality)
    return out.getvalue()


def _copies() -> dict[str, bytes]:
    original = draw_scene(31)
    w, h = original.size
    crop = original.crop((int(w * 0.1), int(h * 0.08), int(w * 0.9), int(h * 0.95)))
    logo = original.copy()
    d = ImageDraw.Draw(logo)
    d.rectangle([w - 170, h - 64, w - 12, h - 12], fill=(245, 245, 245))
    d.text((w - 160, h - 54), "FRONT TV", fill=(200, 20, 20),
           font=ImageFont.load_default(size=26))
    return {"original": _jpeg(original), "other": _jpeg(draw_scene(77)),
            "cropped": _jpeg(ImageOps.mirror(crop).resize((512, 416)), 72),
            "logo": _jpeg(logo.resize((560, 420)), 75)}


def _serve(server, copies: dict[str, bytes], times: dict[str, datetime]) -> list[str]:
    posts = [
        Post(100, times["agency"], "Rockets fired at the post near Termez",
             [Media("orig.jpg", "image", copies["original"]),
              Media("other.jpg", "image", copies["other"])], channel="agency"),
        Post(5, times["repost1"], "Agency says rockets were fired (translated)",
             [Media("crop.jpg", "image", copies["cropped"])], channel="repost_one"),
        Post(9, times["repost2"], "BREAKING", [Media("logo.jpg", "image", copies["logo"])],
             channel="repost_two"),
        Post(3, times["forward"], "Rockets fired at the post near Termez",
             [Media("fwd.jpg", "image", copies["original"])], channel="forwarder",
             forwarded_from=("Agency", "https://t.me/agency/100")),
    ]
    base = server.url("")
    urls = []
    for post in posts:
        path = f"/s/{post.channel}/{post.number}"
        server.route(path, Reply(200, post_page(post, base), "text/html; charset=utf-8"))
        for m in post.media:
            server.route(f"/file/{m.name}", body=m.data, content_type="image/jpeg")
        urls.append(server.url(path))
    return urls


def _verify(tmp_path, urls, claimed="2026-04-18"):
    claim = Claim(id="spread", urls=urls, claimed_at=parse_claimed_at(claimed),
                  claimant="Agency")
    return verify_claim(claim, tmp_path / "out",
                        options=VerifyOptions(allow_private=True, search_archive=False))


@pytest.fixture(scope="module")
def copies() -> dict[str, bytes]:
    return _copies()


def test_four_urls_yield_the_spread_with_earliest_and_transforms(tmp_path, http_server,
                                                                 copies):
    times = {"agency": T0, "repost1": T0 + timedelta(hours=1),
             "repost2": T0 + timedelta(hours=2), "forward": T0 + timedelta(hours=3)}
    urls = _serve(http_server, copies, times)
    report = _verify(tmp_path, urls)
    d = json.loads((tmp_path / "out" / "report.json").read_text())
    jsonschema.validate(d, load_schema())
    assert len(report.media) == 5 and all(m.ok for m in report.media)
    big, single = d["spread"]
    assert len(big["appearances"]) == 4 and len(single["appearances"]) == 1
    apps = {a["url"]: a for a in big["appearances"]}
    agency, rep1, rep2, fwd = (apps[f"https://t.me/{c}"] for c in
                               ("agency/100", "repost_one/5", "repost_two/9", "forwarder/3"))
    assert big["appearances"][0] is not None and agency["earliest"]
    assert big["earliest"] == agency["media_id"]
    assert agency["posted_at"] == T0.isoformat() and agency["posted_from"] == "post time"
    assert {"mirrored", "cropped", "re-encoded"} <= set(rep1["edits"])
    assert "logo_added" in rep2["edits"] and "mirrored" not in rep2["edits"]
    assert fwd["edits"] == ["same_file"]
    assert fwd["forwarded_from"] == {"name": "Agency", "url": "https://t.me/agency/100"}
    assert [a["posted_at"] for a in big["appearances"]] == sorted(
        t.isoformat() for t in times.values())
    codes = [(f["code"], f["media"]) for f in d["findings"]]
    assert ("ALTERED_COPY_IN_SPREAD", rep1["media_id"]) in codes
    assert ("ALTERED_COPY_IN_SPREAD", rep2["media_id"]) in codes
    assert not any(c == "EARLIER_COPY_IN_CLAIM_SPREAD" for c, _ in codes)
    html = (tmp_path / "out" / "report.html").read_text()
    assert 'id="spread"' in html and "logo added" in html and "forwarded from" in html
    md = (tmp_path / "out" / "report.md").read_text()
    assert "## Spread" in md and "**earliest**" in md


def test_a_copy_posted_before_the_claimants_post_is_flagged(tmp_path, http_server, copies):
    times = {"agency": T0, "repost1": T0 - timedelta(hours=5),
             "repost2": T0 + timedelta(hours=2), "forward": T0 + timedelta(hours=3)}
    urls = _serve(http_server, copies, times)
    d = _verify(tmp_path, urls).to_dict()
    big = d["spread"][0]
    first = big["appearances"][0]
    assert first["url"] == "https://t.me/repost_one/5" and first["earliest"]
    early = [f for f in d["findings"] if f["code"] == "EARLIER_COPY_IN_CLAIM_SPREAD"]
    assert len(early) == 1 and early[0]["severity"] == "medium"
    assert early[0]["media"] == first["media_id"]
    assert early[0]["evidence"]["claimant_post"] == "https://t.me/agency/100"
    assert d["verdict"]["level"] == "suspicious"


def test_a_copy_posted_before_the_claimed_event_is_flagged(tmp_path, http_server, copies):
    times = {"agency": T0, "repost1": T0 - timedelta(days=30),
             "repost2": T0 + timedelta(hours=2), "forward": T0 + timedelta(hours=3)}
    urls = _serve(http_server, copies, times)
    d = _verify(tmp_path, urls).to_dict()
    early = [f for f in d["findings"] if f["code"] == "EARLIER_COPY_IN_CLAIM_SPREAD"]
    assert len(early) == 1 and "before the claimed event" in early[0]["message"]


def test_one_url_has_no_spread(tmp_path, http_server, copies):
    urls = _serve(http_server, copies, {"agency": T0, "repost1": T0, "repost2": T0,
                                        "forward": T0})
    assert _verify(tmp_path, urls[:1]).to_dict()["spread"] == []


def test_edits_unrelated_pictures_and_reverse_direction(tmp_path, copies):
    for name, data in copies.items():
        (tmp_path / f"{name}.jpg").write_bytes(data)
    back = describe_edits(tmp_path / "original.jpg", tmp_path / "logo.jpg")
    assert "logo_removed" in back.edits  # the earlier copy had the logo, this one has not
    plain = describe_edits(tmp_path / "original.jpg", tmp_path / "original.jpg")
    assert plain.edits == ["same_file"]


def test_reverse_search_links_only_for_public_urls():
    class Fetched:
        def __init__(self, url, poster=None):
            self.url = self.final_url = url
            self.poster = poster

    class Item:
        def __init__(self, kind, fetched):
            self.kind, self.fetched, self.source_url = kind, fetched, fetched.url

    pic = reverse_search(Item("image", Fetched("https://cdn.example.org/a b.jpg?x=1&y=2")))
    assert pic["image_url"] == "https://cdn.example.org/a b.jpg?x=1&y=2"
    assert set(pic["links"]) == {"google_lens", "bing", "yandex", "tineye"}
    assert pic["links"]["tineye"] == ("https://tineye.com/search?url=https%3A%2F%2Fcdn.example"
                                      ".org%2Fa%20b.jpg%3Fx%3D1%26y%3D2")
    assert reverse_search(Item("image", Fetched("http://127.0.0.1:8000/a.jpg"))) is None
    assert reverse_search(Item("image", Fetched("http://10.1.2.3/a.jpg"))) is None
    assert not is_public_url("javascript:alert(1)") and not is_public_url("http://printer.local/x")
    clip = reverse_search(Item("video", Fetched("https://cdn.example.org/v.mp4",
                                                "https://cdn.example.org/v-thumb.jpg")))
    assert clip["keyframes"][0]["links"] == links("https://cdn.example.org/v-thumb.jpg")
    assert reverse_search(Item("video", Fetched("https://cdn.example.org/v.mp4"))) is None


def test_demo_spread_sample_served_by_the_demo_server(tmp_path, samples_dir):
    from fixtures_verify import _script

    from osintkit.claim import load_claim

    spread = _script("sample_spread")
    root = samples_dir / "spread"
    with spread.serve(root) as base:
        claim = load_claim(spread.claim_for(root, base, tmp_path / "claim.yaml"))
        assert len(claim.urls) == 4 and claim.urls[0].startswith(base)
        d = verify_claim(claim, tmp_path / "out", options=VerifyOptions(
            allow_private=True, search_archive=False)).to_dict()
    big = d["spread"][0]
    assert [a["url"].rsplit("/", 2)[-2] for a in big["appearances"]] == [
        "sample_agency", "sample_repost_one", "sample_repost_two", "sample_forwarder"]
    edits = [set(a["edits"]) for a in big["appearances"]]
    assert edits[0] == set() and {"mirrored", "cropped"} <= edits[1]
    assert "logo_added" in edits[2] and edits[3] == {"same_file"}
    assert not any(f["code"] == "DUPLICATE_WITHIN_CLAIM" for f in d["findings"])


def test_reverse_search_links_in_html_and_markdown(tmp_path, http_server, copies):
    from osintkit.report.render import write_report

    times = {"agency": T0, "repost1": T0, "repost2": T0, "forward": T0}
    report = _verify(tmp_path, _serve(http_server, copies, times)[:1])
    item = report.media[0]
    assert report.to_dict()["media"][0]["reverse_search"] is None  # 127.0.0.1: not public
    item.fetched.final_url = "https://cdn.example.org/file/a.jpg?t=<x>"  # as a CDN serves it
    write_report(report, tmp_path / "again", ("json", "html", "md"))
    d = json.loads((tmp_path / "again" / "report.json").read_text())
    jsonschema.validate(d, load_schema())
    html = (tmp_path / "again" / "report.html").read_text()
    tineye = "https://tineye.com/search?url=https%3A%2F%2Fcdn.example.org%2Ffile%2Fa.jpg"
    assert f'href="{tineye}%3Ft%3D%3Cx%3E"' in html and ">Google Lens</a>" in html
    md = (tmp_path / "again" / "report.md").read_text()
    assert "## Reverse image search" in md and f"[TinEye](<{tineye}%3Ft%3D%3Cx%3E>)" in md


def test_a_verify_report_folder_is_archived_with_each_posts_time(tmp_path, http_server,
                                                                  copies):
    from osintkit.archive import open_archive
    from osintkit.archive.ingest import IngestOptions, add_target

    times = {"agency": T0, "repost1": T0 + timedelta(hours=1),
             "repost2": T0 + timedelta(hours=2), "forward": T0 + timedelta(hours=3)}
    _verify(tmp_path, _serve(http_server, copies, times))
    with open_archive(f"sqlite:///{tmp_path / 'a.sqlite'}") as arc:
        res = add_target(arc, str(tmp_path / "out"), IngestOptions())
        got = {i.source_url: i.first_seen for i in arc.list()}
    assert res.ok and res.kind == "evidence" and res.added == 4  # the forward: same file
    assert got == {"https://t.me/agency/100": T0.isoformat(),
                   "https://t.me/repost_one/5": times["repost1"].isoformat(),
                   "https://t.me/repost_two/9": times["repost2"].isoformat()}
    # (the forward is the agency's file: its later sighting moves nothing)
