"""Hostile input found by trying (issue 13): each reproduction is a test here.

Claim files, batch manifests and `archive import` files go through osintkit/safeload.py
(aliases that repeat a node, deep nesting and duplicate keys refused); every credential
form goes through osintkit/redact.py; claim values that crashed or were misread.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from osintkit.batch.manifest import read_manifest
from osintkit.claim import load_claim
from osintkit.cli import cli
from osintkit.errors import EXIT_USAGE, InputError, error_info

# The modules added by issue 13 are imported inside the tests that call them directly,
# so the behaviour tests of this file also run (and fail) against code without them.

ROOT = Path(__file__).resolve().parent.parent
PHOTO = ROOT / "samples" / "media" / "strike_near.jpg"


def laughs(levels: int = 9) -> str:
    """The 'billion laughs': each level an alias list of the one before (9**levels)."""
    lines = ["  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        lines.append(f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return "title:\n" + "\n".join(lines) + "\n"


def _claim(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    (tmp_path / "photo.jpg").write_bytes(PHOTO.read_bytes())
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _verify(runner, claim: Path, out: Path, *extra: str):
    return runner.invoke(cli, ["verify", str(claim), "--no-archive", "-o", str(out), *extra])


# ---------------------------------------------------------------- billion laughs
def test_billion_laughs_claim_is_refused_in_one_line_exit_2(runner, tmp_path):
    claim = _claim(tmp_path, "id: laughs\n" + laughs() + "media: [photo.jpg]\n")
    assert claim.stat().st_size < 700
    result = _verify(runner, claim, tmp_path / "out")
    assert result.exit_code == EXIT_USAGE
    err = result.stderr.strip()
    assert err.count("\n") == 0 and str(claim) in err and "alias" in err, err
    assert not (tmp_path / "out" / "report.json").exists()  # nothing expanded, nothing written


def test_billion_laughs_is_refused_by_every_yaml_and_json_reader(tmp_path):
    from osintkit.safeload import LoadError, load_yaml

    with pytest.raises(LoadError) as exc:
        load_yaml(laughs(4))
    assert exc.value.code == "yaml_alias"
    manifest = tmp_path / "m.yaml"
    manifest.write_text("- id: ok\n  media: [photo.jpg]\n- id: bad\n  " +
                        laughs(4).replace("\n", "\n  ") + "media: [photo.jpg]\n")
    rows = read_manifest(manifest).rows
    assert rows[0].error is None
    assert rows[1].error.code == "invalid_row" and "alias" in rows[1].error.message


def test_one_alias_to_an_earlier_manifest_entry_is_still_allowed(tmp_path):
    manifest = tmp_path / "m.yaml"
    manifest.write_text("- id: a\n  place: &p {lat: 1, lon: 2}\n  media: [x.jpg]\n"
                        "- id: b\n  place: *p\n  media: [y.jpg]\n")
    rows = read_manifest(manifest).rows
    assert [r.error for r in rows] == [None, None]
    assert rows[1].claim.place.lat == 1.0


# ---------------------------------------------------------------- nesting
@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_deep_nesting_is_a_one_line_error_not_a_recursion_error(runner, tmp_path, suffix):
    depth = 100_000
    body = "[" * depth + "]" * depth
    text = f'{{"id": "deep", "notes": {body}}}' if suffix == ".json" else f"notes: {body}\n"
    claim = _claim(tmp_path, text, "deep" + suffix)
    result = _verify(runner, claim, tmp_path / "out")
    assert result.exit_code == EXIT_USAGE, result.output
    err = result.stderr.strip()
    assert "\n" not in err and "internal" not in err and "deep" in err.lower(), err


def test_nesting_limit_is_the_same_for_yaml_and_json():
    from osintkit.safeload import MAX_DEPTH, LoadError, load_json, load_yaml

    ok = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert load_json(ok) is not None and load_yaml(ok) is not None
    too_deep = "[" + ok + "]"
    for load in (load_json, load_yaml):
        with pytest.raises(LoadError) as exc:
            load(too_deep)
        assert exc.value.code == "too_deep"


def test_deep_jsonl_manifest_row_fails_alone(tmp_path):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text('{"id": "ok", "media": ["a.jpg"]}\n'
                        '{"id": "deep", "notes": ' + "[" * 50_000 + "]" * 50_000 + "}\n")
    rows = read_manifest(manifest).rows
    assert rows[0].error is None and "nested deeper" in rows[1].error.message


# ---------------------------------------------------------------- duplicate keys
@pytest.mark.parametrize("text,name", [
    ("claimed_at: 2026-04-18\nmedia: [photo.jpg]\nclaimed_at: 2020-01-01\n", "c.yaml"),
    ('{"claimed_at": "2026-04-18", "media": ["photo.jpg"], "claimed_at": "2020-01-01"}',
     "c.json"),
])
def test_duplicate_key_is_refused_not_silently_overwritten(tmp_path, text, name):
    with pytest.raises(InputError) as exc:
        load_claim(_claim(tmp_path, text, name))
    assert exc.value.code == "invalid_claim"
    assert "duplicate key 'claimed_at'" in exc.value.message


def test_duplicate_keys_in_manifests_and_imports(tmp_path, runner):
    for name, text in (("m.yaml", "- id: a\n  id: b\n  media: [x.jpg]\n"),
                       ("m.jsonl", '{"id": "a", "id": "b", "media": ["x.jpg"]}\n'),
                       ("m.json", '[{"id": "a", "id": "b", "media": ["x.jpg"]}]')):
        (tmp_path / name).write_text(text)
        [row] = read_manifest(tmp_path / name).rows
        assert row.error and "duplicate key 'id'" in row.error.message, name
    sha = "ab" * 32
    (tmp_path / "i.jsonl").write_text(json.dumps({"sha256": sha, "kind": "hash"})[:-1]
                                      + f', "sha256": "{"cd" * 32}"}}\n')
    db = f"sqlite:///{tmp_path / 'a.sqlite'}"
    result = runner.invoke(cli, ["archive", "import", str(tmp_path / "i.jsonl"), "--db", db,
                                 "--json"])
    assert result.exit_code != 0 and "duplicate key 'sha256'" in result.output


# ---------------------------------------------------------------- secrets
@pytest.mark.parametrize("text,secret", [
    ("postgresql://u:S3cret@h:1/db", "S3cret"),
    ("postgresql://:S3cret@h:1/db", "S3cret"),  # empty user
    ("postgresql://u@h:1/db?password=S3cret", "S3cret"),
    ("postgresql://u@h:1/db?sslmode=disable&password=S3cret&application_name=x", "S3cret"),
    ("host=h port=1 user=u password=S3cret dbname=db", "S3cret"),
    ("host=h password='S3 cr\\'et' dbname=db", "cr\\'et"),
    ("http://u:pw0rd@proxy.example:3128/", "pw0rd"),
    ("socks5h://u:p@ss@proxy.example:1080", "p@ss"),
    ("https://example.org/a?token=T0ken#x", "T0ken"),
])
def test_redact_removes_each_credential_form(text, secret):
    from osintkit.redact import redact, redact_obj

    out = redact(text)
    assert secret not in out and "***" in out
    assert redact(out) == out  # idempotent
    assert redact_obj({"k": [text]}) == {"k": [out]}


@pytest.mark.parametrize("text", ["sqlite:///tmp/a.sqlite", "https://example.org/p/1?id=3",
                                  "/tmp/passport.jpg: truncated", "http://user@host/x"])
def test_redact_keeps_what_is_no_secret(text):
    from osintkit.redact import redact

    assert redact(text) == text


@pytest.mark.parametrize("url", ["postgresql://u@127.0.0.1:1/db?password=S3cret",
                                 "postgresql://:S3cret@127.0.0.1:1/db"])
def test_archive_password_never_reaches_stderr_or_reports(runner, tmp_path, url):
    claim = _claim(tmp_path, "id: s\nmedia: [photo.jpg]\n")
    out = tmp_path / "out"
    result = runner.invoke(cli, ["verify", str(claim), "-o", str(out)],
                           env={"OSINTKIT_DB": url, "OSINTKIT_DB_TIMEOUT": "2"})
    # An unusable archive is refused before any work (no silent all-clear): exit 2, one
    # line naming the archive with its password redacted, and no report to leak into.
    assert result.exit_code == 2, result.output
    assert "S3cret" not in result.output and "S3cret" not in result.stderr
    assert "***" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (out / "report.json").exists()
    # With --no-archive a report is written: OSINTKIT_DB's password must not reach it.
    result = runner.invoke(cli, ["verify", str(claim), "-o", str(out), "--no-archive"],
                           env={"OSINTKIT_DB": url})
    assert result.exit_code in (0, 1), result.output
    for name in ("report.json", "report.html", "report.md"):
        assert "S3cret" not in (out / name).read_text(encoding="utf-8"), name


def test_proxy_password_never_reaches_custody_log_or_manifest(runner, tmp_path):
    out = tmp_path / "ev"
    result = runner.invoke(cli, ["fetch", "http://127.0.0.1:9/x.jpg", "-o", str(out),
                                 "--proxy", "http://u:pr0xyPW@127.0.0.1:9/", "--timeout", "2",
                                 "--total-timeout", "5"])
    assert "pr0xyPW" not in result.output and "pr0xyPW" not in result.stderr
    custody = (out / "custody.log").read_text()
    assert "pr0xyPW" not in custody and "u:***@127.0.0.1:9" in custody
    assert "pr0xyPW" not in (out / "manifest.json").read_text()


def test_error_messages_are_redacted_at_the_source():
    assert "S3cret" not in InputError("postgresql://u:S3cret@h/db: refused").message
    assert "S3cret" not in error_info(RuntimeError("password=S3cret rejected")).message


# ---------------------------------------------------------------- crashes with no report
def test_symlink_loop_among_media_still_writes_the_report(runner, tmp_path):
    claim = _claim(tmp_path, "id: sl\nmedia: [photo.jpg, loop.jpg]\n")
    os.symlink(tmp_path / "loop2", tmp_path / "loop.jpg")
    os.symlink(tmp_path / "loop.jpg", tmp_path / "loop2")
    result = _verify(runner, claim, tmp_path / "out")
    assert "internal" not in result.output + result.stderr and result.exit_code in (0, 1)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    codes = {m["name"]: (m["error"] or {}).get("code") for m in report["media"]}
    assert codes == {"photo.jpg": None, "loop.jpg": "symlink_loop"}


@pytest.mark.parametrize("place,name", [
    ("{lat: 37.2, lon: 67.3, radius_km: .inf}", "c.yaml"),
    ("{lat: 37.2, lon: 67.3, radius_km: .nan}", "c.yaml"),
    ("{lat: .nan, lon: 67.3}", "c.yaml"),
    ("{lat: true, lon: 67.3}", "c.yaml"),
    ("{lat: 37.2, lon: 1e999}", "c.yaml"),
    ('{"lat": 37.2, "lon": 67.3, "radius_km": NaN}', "c.json"),
    ('{"lat": 37.2, "lon": 67.3, "radius_km": Infinity}', "c.json"),
])
def test_non_finite_or_boolean_place_values_are_one_line_errors(runner, tmp_path, place, name):
    text = (f'{{"id": "p", "place": {place}, "media": ["photo.jpg"]}}' if name.endswith(".json")
            else f"id: p\nplace: {place}\nmedia: [photo.jpg]\n")
    result = _verify(runner, _claim(tmp_path, text, name), tmp_path / "out")
    assert result.exit_code == EXIT_USAGE
    err = result.stderr.strip()
    assert "\n" not in err and "place:" in err and "internal" not in err, err
    assert "Out of range" not in err


@pytest.mark.parametrize("media", ["[null]", "[photo.jpg, null]", "[[a, b]]", "[{a: 1}]",
                                   "['']", "[true]"])
def test_media_entries_must_be_paths(tmp_path, media):
    with pytest.raises(InputError) as exc:
        load_claim(_claim(tmp_path, f"id: m\nmedia: {media}\n"))
    assert "media: item" in exc.value.message and "None" not in exc.value.message


def test_integer_date_is_that_whole_day(tmp_path):
    claim = load_claim(_claim(tmp_path, "claimed_at: 20260418\nmedia: [photo.jpg]\n"))
    win = claim.claimed_at
    assert win.precision == "date"
    assert (win.start.isoformat(), win.end.isoformat()) == ("2026-04-18T00:00:00+00:00",
                                                            "2026-04-19T00:00:00+00:00")


@pytest.mark.parametrize("value", ["9999-12-31", "true", "2026.04", "[2026, 4, 18]"])
def test_odd_dates_are_one_line_errors(tmp_path, value):
    with pytest.raises(InputError) as exc:
        load_claim(_claim(tmp_path, f"claimed_at: {value}\nmedia: [photo.jpg]\n"))
    assert exc.value.message.startswith(str(tmp_path / "c.yaml")) and "claimed_at" in \
        exc.value.message


def test_import_record_with_a_list_for_a_text_field_is_a_row_error(runner, tmp_path):
    """Found by `make fuzz`: `"name": [...]` reached the database as an internal binding error."""
    path = tmp_path / "i.jsonl"
    path.write_text(json.dumps({"md5": "cd" * 16, "name": [{"t": ""}]}) + "\n"
                    + json.dumps({"md5": "ab" * 16, "tags": [1, 2]}) + "\n")
    db = f"sqlite:///{tmp_path / 'a.sqlite'}"
    result = runner.invoke(cli, ["archive", "import", str(path), "--db", db])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"Error: {path}: line 1: name: expected a string",
        f"Error: {path}: line 2: tags: expected a list of strings or 'a;b'"]
