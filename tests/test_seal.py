"""`evidence seal` with a real local RFC 3161 TSA (openssl ts), and what `evidence check`
catches afterwards: a deleted last custody line, a media file swapped with the manifest
and the whole hash chain rewritten, entries outside the folder, unexpected files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from osintkit.cli import cli
from osintkit.errors import FetchError
from osintkit.fetch import check_evidence, fetch
from osintkit.fetch.evidence import CUSTODY, MANIFEST
from osintkit.fetch.seal import SEAL, seal_evidence


@pytest.fixture
def sealed(http_server, fetch_media, tsa_server, tmp_path) -> Path:
    http_server.route("/a.jpg", body=fetch_media["jpeg_a"], content_type="image/jpeg")
    html = '<html><head><meta property="og:image" content="/a.jpg"></head><body></body></html>'
    url = http_server.route("/claim", body=html, content_type="text/html")
    out = tmp_path / "ev"
    assert fetch(url, out, allow_private=True).exit_code == 0
    assert check_evidence(out).ok  # custody: fetch, check (then the seal's own line)
    rec = seal_evidence(out, tsa_server.url, allow_private=True)
    assert rec["token"] == "seal-1.tsr" and rec["tsa_time"]
    return out


def test_sealed_evidence_checks_out(sealed, tsa_server):
    res = check_evidence(sealed, tsa_ca=str(tsa_server.ca))
    assert res.ok, res.error
    assert res.seal["ok"] and res.seal["tsa"] == tsa_server.url and res.seal["time"]
    # The seal line and this check's line come after the seal: allowed, counted.
    again = check_evidence(sealed)
    assert again.ok and again.seal["unsealed_custody_lines"] == 2


def rewrite_chain(root: Path) -> None:
    """Recompute every custody line's `prev` and the manifest digest: a careful forger."""
    lines = (root / CUSTODY).read_bytes().splitlines()
    manifest_sha = hashlib.sha256((root / MANIFEST).read_bytes()).hexdigest()
    out, prev = [], None
    for line in lines:
        entry = json.loads(line)
        entry["prev"] = prev
        if "manifest_sha256" in entry:
            entry["manifest_sha256"] = manifest_sha
        text = json.dumps(entry, ensure_ascii=False, sort_keys=True).encode()
        out.append(text)
        prev = hashlib.sha256(text).hexdigest()
    (root / CUSTODY).write_bytes(b"\n".join(out) + b"\n")


def test_swapped_media_with_manifest_and_chain_rewritten_is_caught(sealed, fetch_media):
    manifest = json.loads((sealed / MANIFEST).read_text())
    item = manifest["items"][0]
    old = sealed / item["file"]
    data = fetch_media["jpeg_b"]
    sha = hashlib.sha256(data).hexdigest()
    old.unlink()
    (sealed / f"{sha}.jpg").write_bytes(data)
    manifest["files"].pop(item["file"])
    manifest["files"][f"{sha}.jpg"] = {"sha256": sha, "md5": hashlib.md5(data).hexdigest(),
                                       "size": len(data)}
    item.update(file=f"{sha}.jpg", sha256=sha)
    (sealed / MANIFEST).write_text(json.dumps(manifest, indent=2))
    rewrite_chain(sealed)
    res = check_evidence(sealed)
    # Without the seal everything would look intact: the files match the forged manifest.
    assert not (res.changed or res.missing or res.added or res.custody)
    assert not res.ok and not res.seal["ok"]
    assert "manifest.json changed since it was sealed" in res.seal["problems"]
    assert "seal: manifest.json changed since it was sealed" in res.error.message


def test_deleted_last_custody_line_is_caught(sealed):
    lines = (sealed / CUSTODY).read_bytes().splitlines(keepends=True)
    # Drop the seal's line and the last sealed line (a check): the chain still links up.
    (sealed / CUSTODY).write_bytes(b"".join(lines[:-2]))
    res = check_evidence(sealed)
    assert not res.custody  # the remaining chain is intact: only the seal can tell
    assert not res.ok
    assert any("custody.log changed since it was sealed" in p for p in res.seal["problems"])


def test_a_token_from_another_tsa_does_not_verify(sealed, tsa_server, tmp_path):
    from fixtures_tsa import make_tsa

    other = tmp_path / "other"
    other.mkdir()
    make_tsa(other, "Other TSA")
    res = check_evidence(sealed, tsa_ca=str(other / "ca.crt"))
    assert not res.ok and any("does not verify" in p for p in res.seal["problems"])


def test_edited_seal_statement_is_caught(sealed):
    seal = json.loads((sealed / SEAL).read_text())
    seal["seals"][-1]["statement"]["custody.log"]["lines"] -= 1
    (sealed / SEAL).write_text(json.dumps(seal))
    assert not check_evidence(sealed).ok


def test_tsa_refusal_is_an_error(tmp_path, http_server, fetch_media):
    http_server.route("/a.jpg", body=fetch_media["jpeg_a"], content_type="image/jpeg")
    fetch(http_server.url("/a.jpg"), tmp_path, allow_private=True)
    with pytest.raises(FetchError, match="answered HTTP 501"):
        seal_evidence(tmp_path, http_server.url("/no-tsa"), allow_private=True)
    with pytest.raises(FetchError, match="refused"):  # the SSRF rule holds for the TSA too
        seal_evidence(tmp_path, http_server.url("/no-tsa"))


def test_manifest_entries_outside_the_folder_are_errors_not_opened(sealed, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("do not read")
    manifest = json.loads((sealed / MANIFEST).read_text())
    manifest["files"]["../secret.txt"] = {"sha256": "0" * 64}
    manifest["files"][str(secret)] = {"sha256": "0" * 64}
    (sealed / MANIFEST).write_text(json.dumps(manifest))
    res = check_evidence(sealed)
    assert sorted(res.unsafe) == sorted(["../secret.txt", str(secret)])
    assert "'../secret.txt' points outside the folder (not opened)" in res.error.message
    assert res.checked == len(manifest["files"]) - 2  # the two were never opened


def test_unexpected_files_and_dot_files_are_reported(sealed):
    (sealed / ".hidden").write_text("x")
    (sealed / ".part-leftover").write_bytes(b"x")
    (sealed / "notes.txt").write_text("x")
    res = check_evidence(sealed)
    assert sorted(res.added) == [".hidden", ".part-leftover", "notes.txt"] and not res.ok


def test_cli_seal_and_check(runner, sealed, tsa_server):
    out = runner.invoke(cli, ["evidence", "seal", str(sealed), "--tsa", tsa_server.url,
                              "--allow-private"])
    assert out.exit_code == 0, out.output
    assert "sealed" in out.output and "seal-2.tsr" in out.output
    ok = runner.invoke(cli, ["evidence", "check", str(sealed), "--tsa-ca", str(tsa_server.ca)])
    assert ok.exit_code == 0 and "sealed by" in ok.output
    (sealed / CUSTODY).write_bytes(b"".join(
        (sealed / CUSTODY).read_bytes().splitlines(keepends=True)[:-3]))
    bad = runner.invoke(cli, ["evidence", "check", str(sealed), "--json"])
    assert bad.exit_code == 1
    assert json.loads(bad.stdout.splitlines()[0])["seal"]["ok"] is False


def test_proxy_password_never_reaches_custody_or_output(runner, http_server, fetch_media,
                                                        tmp_path):
    http_server.route("/a.jpg", body=fetch_media["jpeg_a"], content_type="image/jpeg")
    proxy = http_server.url().replace("http://", "http://agent:s3cr3t-pw@")
    out = runner.invoke(cli, ["fetch", "http://claims.example/a.jpg", "-o", str(tmp_path),
                              "--proxy", proxy, "--json"])
    assert out.exit_code == 0, out.output
    for name in ("custody.log", "manifest.json"):
        assert "s3cr3t-pw" not in (tmp_path / name).read_text()
    assert "s3cr3t-pw" not in out.output
    import base64

    from warcio.archiveiterator import ArchiveIterator

    basic = base64.b64encode(b"agent:s3cr3t-pw").decode()
    with (tmp_path / "capture.warc.gz").open("rb") as fh:
        for rec in ArchiveIterator(fh):
            text = str(rec.rec_headers) + str(rec.http_headers or "")
            assert b"s3cr3t-pw" not in rec.content_stream().read()
            assert "s3cr3t-pw" not in text and basic not in text
