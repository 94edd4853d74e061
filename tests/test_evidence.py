"""The evidence directory: WARC read back with warcio, idempotent re-fetch, custody chain,
`check_evidence`, and the `osintkit fetch` / `osintkit evidence check` commands."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from fixtures_fetch import Reply, TestServer

from osintkit.cli import cli
from osintkit.errors import InputError
from osintkit.fetch import check_evidence, fetch


def serve_article(server: TestServer, media: dict[str, bytes], extra: str = "") -> str:
    server.route("/a.jpg", body=media["jpeg_a"], content_type="image/jpeg")
    server.route("/v.mp4", body=media["mp4"], content_type="video/mp4")
    html = ('<html><head><title>Claim</title><meta property="og:image" content="/a.jpg">'
            f'</head><body><video src="/v.mp4"></video>{extra}</body></html>')
    return server.route("/claim", body=html, content_type="text/html")


def warc_records(path: Path) -> list[tuple[str, str, int | None, bytes]]:
    from warcio.archiveiterator import ArchiveIterator

    out = []
    with path.open("rb") as fh:
        for rec in ArchiveIterator(fh, check_digests=True):
            status = None
            if rec.rec_type == "response":
                status = int(rec.http_headers.get_statuscode())
                assert rec.rec_headers.get_header("WARC-IP-Address") == "127.0.0.1"
            body = rec.content_stream().read()
            # Block and payload digests written by warcio are checked while reading.
            assert rec.digest_checker.passed is not False, rec.digest_checker.problems
            if rec.rec_type == "response":
                assert rec.digest_checker.passed is True
            out.append((rec.rec_type, rec.rec_headers.get_header("WARC-Target-URI") or "",
                        status, body))
    return out


def test_warc_holds_every_request_and_response(http_server, fetch_media, tmp_path):
    url = serve_article(http_server, fetch_media, '<img src="/gone.jpg">')
    cap = fetch(url, tmp_path, allow_private=True)
    assert cap.exit_code == 1
    records = warc_records(tmp_path / "capture.warc.gz")
    assert records[0][0] == "warcinfo"
    responses = {u.rsplit("/", 1)[-1]: (status, body)
                 for kind, u, status, body in records if kind == "response"}
    requests_ = [u.rsplit("/", 1)[-1] for kind, u, _, _ in records if kind == "request"]
    assert sorted(requests_) == ["a.jpg", "claim", "gone.jpg", "v.mp4"]
    assert responses["a.jpg"] == (200, fetch_media["jpeg_a"])  # payload as served
    assert responses["v.mp4"] == (200, fetch_media["mp4"])
    assert responses["gone.jpg"] == (404, b"not found")  # failures are recorded too
    assert responses["claim"][1].startswith(b"<html>")


def test_warc_records_refused_and_failed_exchanges(http_server, fetch_media, tmp_path):
    http_server.route("/slow.jpg", Reply(200, fetch_media["jpeg_a"], "image/jpeg",
                                         trickle=0.05, chunk=50))
    cap = fetch(http_server.url("/slow.jpg"), tmp_path, allow_private=True, total_timeout=0.3)
    assert cap.error.code == "timeout"
    from warcio.archiveiterator import ArchiveIterator

    with (tmp_path / "capture.warc.gz").open("rb") as fh:
        recs = [(r.rec_type, r.rec_headers.get_header("WARC-Truncated")) for r in
                ArchiveIterator(fh)]
    assert ("response", "time") in recs and ("metadata", None) in recs


def test_refetch_is_idempotent_and_custody_is_chained(http_server, fetch_media, tmp_path):
    url = serve_article(http_server, fetch_media)
    first = fetch(url, tmp_path, allow_private=True)
    names = sorted(p.name for p in tmp_path.iterdir())
    second = fetch(url, tmp_path, allow_private=True)
    assert [i.sha256 for i in first.items] == [i.sha256 for i in second.items]
    assert sorted(p.name for p in tmp_path.iterdir()) == names  # no duplicates
    lines = (tmp_path / "custody.log").read_bytes().splitlines()
    entries = [json.loads(line) for line in lines]
    assert [e["action"] for e in entries] == ["fetch", "fetch"]
    assert entries[0]["prev"] is None
    assert entries[1]["prev"] == hashlib.sha256(lines[0]).hexdigest()
    for e in entries:
        assert e["tool"].startswith("osintkit ") and e["input"]["url"] == url
        assert e["output"][first.items[0].path.name] == first.items[0].sha256
    saved = json.loads((tmp_path / "manifest.json").read_text())
    assert len(saved["captures"]) == 2
    assert saved["files"]["capture.warc.gz"]["sha256"] == \
        hashlib.sha256((tmp_path / "capture.warc.gz").read_bytes()).hexdigest()
    assert check_evidence(tmp_path).ok


def test_failed_refetch_keeps_earlier_items_in_the_manifest(http_server, fetch_media, tmp_path):
    url = serve_article(http_server, fetch_media)
    first = fetch(url, tmp_path, allow_private=True)
    http_server.route("/claim", Reply(500))
    again = fetch(url, tmp_path, allow_private=True, retries=0)
    assert again.exit_code == 2
    saved = json.loads((tmp_path / "manifest.json").read_text())
    assert saved["captures"][0]["items"][0]["sha256"] == first.items[0].sha256
    assert first.items[0].path.name in saved["files"]
    assert check_evidence(tmp_path).ok


@pytest.fixture
def evidence(http_server, fetch_media, tmp_path) -> tuple[Path, list]:
    out = tmp_path / "ev"
    cap = fetch(serve_article(http_server, fetch_media), out, allow_private=True)
    assert cap.exit_code == 0
    return out, cap.items


def test_check_intact_evidence(evidence):
    out, _ = evidence
    res = check_evidence(out)
    assert res.ok and res.checked == 4  # two media, the page, the WARC
    assert res.changed == res.missing == res.added == res.custody == []


def test_check_reports_changed_missing_and_added_files(evidence):
    out, items = evidence
    items[0].path.write_bytes(items[0].path.read_bytes() + b"x")
    items[1].path.unlink()
    (out / "planted.jpg").write_bytes(b"\xff\xd8\xff")
    res = check_evidence(out)
    assert not res.ok
    assert res.changed == [items[0].path.name]
    assert res.missing == [items[1].path.name]
    assert res.added == ["planted.jpg"]
    assert "1 changed; 1 missing; 1 added" in res.error.message


def test_check_detects_a_manifest_rewritten_to_match(evidence):
    out, items = evidence
    # Someone swaps a file and updates the manifest's hash for it: the custody log
    # still holds the original manifest's hash, and the name no longer matches.
    items[0].path.write_bytes(b"\xff\xd8\xff forged")
    data = json.loads((out / "manifest.json").read_text())
    data["files"][items[0].path.name]["sha256"] = hashlib.sha256(b"\xff\xd8\xff forged").hexdigest()
    (out / "manifest.json").write_text(json.dumps(data))
    res = check_evidence(out)
    assert res.changed == [items[0].path.name]
    assert any("manifest.json differs" in p for p in res.custody)


def test_check_detects_an_edited_custody_line(http_server, evidence):
    out, _ = evidence
    fetch(http_server.url("/claim"), out, allow_private=True)  # a second line to follow
    log = out / "custody.log"
    lines = log.read_text().splitlines()
    lines[0] = lines[0].replace('"fetch"', '"fetched"')
    log.write_text("\n".join(lines) + "\n")
    res = check_evidence(out)
    assert any("line 2 does not follow line 1" in p for p in res.custody)


def test_check_of_a_directory_that_is_not_evidence(tmp_path):
    with pytest.raises(InputError, match="not an evidence directory"):
        check_evidence(tmp_path)


def test_refetch_does_not_hide_a_lost_file(http_server, fetch_media, evidence):
    out, items = evidence
    video = next(i for i in items if i.kind == "video")
    video.path.unlink()
    http_server.route("/v.mp4", Reply(404))  # the source is gone too
    fetch(http_server.url("/claim"), out, allow_private=True, retries=0)
    assert check_evidence(out).missing == [video.path.name]


def test_page_record_keeps_the_page_headers(evidence):
    out, _ = evidence
    page = json.loads((out / "manifest.json").read_text())["page"]
    assert page["headers"]["Content-Type"] == "text/html" and page["ip"] == "127.0.0.1"
    assert (out / page["path"]).read_bytes().startswith(b"<html>")


def test_check_is_logged_in_custody(evidence):
    out, _ = evidence
    check_evidence(out)
    last = json.loads((out / "custody.log").read_text().splitlines()[-1])
    assert last["action"] == "check" and last["output"]["ok"] is True


# ------------------------------------------------------------------ CLI
def test_cli_fetch_json_is_the_manifest(runner, http_server, fetch_media, tmp_path):
    out = tmp_path / "ev"
    url = serve_article(http_server, fetch_media)
    result = runner.invoke(cli, ["fetch", url, "-o", str(out), "--allow-private", "--json"])
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    data = json.loads(line)
    assert data["ok"] and len(data["items"]) == 2 and data["out_dir"] == str(out)
    on_disk = json.loads((out / "manifest.json").read_text())
    assert data["items"] == on_disk["items"]


def test_cli_fetch_partial_failure_exits_1(runner, http_server, fetch_media, tmp_path):
    url = serve_article(http_server, fetch_media, '<img src="/gone.jpg">')
    result = runner.invoke(cli, ["fetch", url, "-o", str(tmp_path), "--allow-private"])
    assert result.exit_code == 1
    assert f"Error: {http_server.url('/gone.jpg')}: HTTP 404 Not Found" in result.stderr
    assert "fetched 2 of 3 claim media" in result.stdout
    assert "Traceback" not in result.output


def test_cli_fetch_refuses_private_address_by_default(runner, http_server, tmp_path):
    url = http_server.url("/x.jpg")
    result = runner.invoke(cli, ["fetch", url, "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"Error: {url}: refused, 127.0.0.1 is a loopback "
                                     "address (use --allow-private to fetch it)")


def test_cli_fetch_bad_options(runner, tmp_path):
    result = runner.invoke(cli, ["fetch", "http://x.example/", "--max-bytes", "lots"])
    assert result.exit_code == 2 and "is not a size" in result.stderr


def test_cli_page_text_cannot_drive_the_terminal(runner, http_server, fetch_media, tmp_path):
    http_server.route("/a.jpg", body=fetch_media["jpeg_a"], content_type="image/jpeg")
    url = http_server.route("/p", body='<title>\x1b[2J\x1b]0;pwned\x07Title</title>'
                            '<img src="/a.jpg">', content_type="text/html")
    result = runner.invoke(cli, ["fetch", url, "-o", str(tmp_path), "--allow-private"])
    assert result.exit_code == 0 and "\x1b" not in result.stdout
    assert "Title" in result.stdout


def test_cli_evidence_check(runner, evidence):
    out, items = evidence
    ok = runner.invoke(cli, ["evidence", "check", str(out)])
    assert ok.exit_code == 0 and "intact (4 files" in ok.stdout
    items[0].path.unlink()
    bad = runner.invoke(cli, ["evidence", "check", str(out), "--json"])
    assert bad.exit_code == 1
    assert json.loads(bad.stdout)["missing"] == [items[0].path.name]
    assert f"Error: {out}/{items[0].path.name}: missing since capture" in bad.stderr
    none = runner.invoke(cli, ["evidence", "check", str(out / "nope")])
    assert none.exit_code == 2 and "not an evidence directory" in none.stderr


def test_python_m_osintkit_fetch(http_server, fetch_media, tmp_path):
    url = http_server.route("/v.mp4", body=fetch_media["mp4"], content_type="video/mp4")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "osintkit", "fetch", url, "-o",
                           str(tmp_path), "--allow-private", "--json"],
                          capture_output=True, text=True, timeout=60, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["items"][0]["kind"] == "video"
