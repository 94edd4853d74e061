"""The library face (issue 19): the main calls at `osintkit`'s top level, imported on first
use; checks from installed packages (entry-point group `osintkit.checks`, with a real
distribution installed into the venv); VerifyOptions selecting and skipping checks."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT

import osintkit
from osintkit.checks import load_checks, select_checks
from osintkit.errors import InputError

HEAVY = ("cv2", "numpy", "av", "psycopg", "faiss", "PIL", "yt_dlp", "trafilatura")
PLUGIN_DIST = "osintkit-test-our-rules"
API_DOC = (ROOT / "docs" / "python-api.md").read_text(encoding="utf-8")


def _python(code: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


# ---------------------------------------------------------------- lazy top level
def test_importing_the_main_calls_loads_nothing_heavy():
    proc = _python(textwrap.dedent(f"""
        import json, sys
        from osintkit import verify_claim, open_archive, load_claim, VerifyOptions
        print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))
        from osintkit import claim_from_dict, hash_file, read_metadata  # Pillow: light
        import osintkit.fetch
        print(json.dumps([m for m in ("cv2", "numpy", "av", "psycopg") if m in sys.modules]))
    """))
    assert proc.returncode == 0, proc.stderr
    first, second = proc.stdout.splitlines()
    assert json.loads(first) == [] and json.loads(second) == []


def test_import_osintkit_imports_no_stage():
    proc = _python("import sys, osintkit; print(sorted(m for m in sys.modules "
                   "if m.startswith('osintkit.')))")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_the_top_level_names_are_the_stages_functions():
    from osintkit.archive import open_archive
    from osintkit.claim import claim_from_dict, load_claim
    from osintkit.match.hashfile import hash_file
    from osintkit.media.metadata import read_metadata
    from osintkit.verify import VerifyOptions, verify_claim

    assert osintkit.verify_claim is verify_claim and osintkit.VerifyOptions is VerifyOptions
    assert osintkit.load_claim is load_claim and osintkit.claim_from_dict is claim_from_dict
    assert osintkit.open_archive is open_archive and osintkit.hash_file is hash_file
    assert osintkit.read_metadata is read_metadata
    assert {"verify_claim", "fetch", "open_archive"} <= set(dir(osintkit))
    with pytest.raises(AttributeError, match="no_such_call"):
        osintkit.no_such_call  # noqa: B018


def test_fetch_is_the_package_and_its_main_call(http_server, tmp_path, photos):
    import osintkit.fetch.http  # the package is imported: `osintkit.fetch` stays callable
    from osintkit import fetch

    assert fetch is osintkit.fetch and callable(fetch)
    url = http_server.route("/claim.jpg", file=photos[0], content_type="image/jpeg")
    capture = fetch(url, tmp_path / "ev", allow_private=True)
    assert capture.ok and capture.claim_items[0].sha256 == osintkit.hash_file(photos[0]).sha256
    assert fetch.check_evidence(tmp_path / "ev").ok


# ---------------------------------------------------------------- selecting checks
def _claim(tmp_path: Path):
    from osintkit import claim_from_dict

    return claim_from_dict({"id": "far", "claimed_at": "2026-04-18",
                            "place": {"lat": 37.2242, "lon": 67.2783, "radius_km": 25},
                            "media": [str(ROOT / "samples" / "media" / "strike_far.jpg")]},
                           base_dir=tmp_path)


def test_skipping_a_check_removes_its_finding_and_the_verdict_says_so(tmp_path):
    from osintkit import VerifyOptions, verify_claim

    full = verify_claim(_claim(tmp_path), tmp_path / "a",
                        options=VerifyOptions(search_archive=False, formats=("json",)))
    assert full.level == "contradicted"
    assert "GPS_FAR_FROM_CLAIMED_PLACE" in {f.code for f in full.findings}
    skip = VerifyOptions(search_archive=False, formats=("json",),
                         skip_checks=("GPS_FAR_FROM_CLAIMED_PLACE",))
    partial = verify_claim(_claim(tmp_path), tmp_path / "b", options=skip)
    assert "GPS_FAR_FROM_CLAIMED_PLACE" not in {f.code for f in partial.findings}
    assert partial.level != "contradicted"
    assert any("except GPS_FAR_FROM_CLAIMED_PLACE" in r for r in partial.verdict.reasons)
    saved = json.loads((tmp_path / "b" / "report.json").read_text())
    assert saved["options"]["skip_checks"] == ["GPS_FAR_FROM_CLAIMED_PLACE"]


def test_selecting_checks_runs_only_those(tmp_path):
    from osintkit import VerifyOptions, verify_claim

    only = VerifyOptions(search_archive=False, formats=("json",),
                         checks=("GPS_NEAR_CLAIMED_PLACE", "GPS_FAR_FROM_CLAIMED_PLACE"))
    report = verify_claim(_claim(tmp_path), tmp_path / "c", options=only)
    assert {f.code for f in report.findings} == {"GPS_FAR_FROM_CLAIMED_PLACE"}
    assert [c.code for c in select_checks(["gps_near_claimed_place"])] == \
        ["GPS_NEAR_CLAIMED_PLACE"]  # codes are matched whatever their case


def test_an_unknown_check_code_is_refused_before_any_work(tmp_path, runner):
    from osintkit import VerifyOptions, verify_claim
    from osintkit.cli import cli

    with pytest.raises(InputError, match="GPS_FAR_FROM_CLAIMED_PLAEC"):
        verify_claim(_claim(tmp_path), tmp_path / "d",
                     options=VerifyOptions(skip_checks=("GPS_FAR_FROM_CLAIMED_PLAEC",)))
    assert not (tmp_path / "d").exists()
    result = runner.invoke(cli, ["verify", str(ROOT / "samples" / "media" / "edited.jpg"),
                                 "--no-archive", "--check", "NOPE", "-o", str(tmp_path / "e")])
    assert result.exit_code == 2 and "unknown check code(s): NOPE" in result.stderr


# ---------------------------------------------------------------- checks from packages
def _doc_block(after: str, lang: str) -> str:
    """The first `lang` block of docs/python-api.md after the text `after`."""
    start = API_DOC.index(after)
    return re.search(rf"```{lang}\n(.*?)```", API_DOC[start:], re.S).group(1)


@pytest.fixture(scope="module")
def plugin_installed(tmp_path_factory):
    """A real distribution built from docs/python-api.md's example (its entry point and
    its module), plus a second entry point whose module fails to import, installed into
    this venv with pip, uninstalled afterwards. The tests use it in subprocesses only; this
    process's registry is loaded first, so that it never holds the package's checks."""
    load_checks()
    src = tmp_path_factory.mktemp("plugin")
    entry = _doc_block("In the package's `pyproject.toml`", "toml")
    (src / "pyproject.toml").write_text(textwrap.dedent(f"""
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{PLUGIN_DIST}"
        version = "0.0.1"

        [tool.setuptools]
        packages = ["our_rules"]
        py-modules = ["our_rules_broken"]
    """) + "\n" + entry + 'broken = "our_rules_broken"\n')
    (src / "our_rules").mkdir()
    (src / "our_rules" / "__init__.py").write_text("")
    (src / "our_rules" / "checks.py").write_text(_doc_block("and in `our_rules/checks.py`",
                                                            "python"))
    (src / "our_rules_broken.py").write_text("raise ImportError('no such watermark model')\n")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--no-deps", "--no-build-isolation", "--no-index",
                    str(src)], check=True, capture_output=True, timeout=300)
    try:
        yield src
    finally:
        subprocess.run([*pip, "uninstall", "-y", PLUGIN_DIST], check=True,
                       capture_output=True, timeout=300)


def _verify_json(tmp_path: Path, *extra: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "osintkit", "-q", "verify",
                           str(ROOT / "samples" / "claims" / "suspicious.yaml"), "--no-archive",
                           "--format", "json", "-o", str(tmp_path), "--json", *extra],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_checks_of_an_installed_package_run_beside_ours(plugin_installed, tmp_path):
    report = _verify_json(tmp_path / "a")
    found = [f for f in report["findings"] if f["code"] == "OUR_WATCHED_EDITOR"]
    assert len(found) == 1 and found[0]["severity"] == "low"
    assert found[0]["message"] == "Saved by Photoshop, an editor we follow."
    assert "EDITING_SOFTWARE" in {f["code"] for f in report["findings"]}
    broken = [e for e in report["check_errors"] if "our_rules_broken" in e["message"]]
    assert len(broken) == 1 and "no such watermark model" in broken[0]["message"]
    assert report["verdict"]["level"] == "suspicious"  # one broken package stops nothing


def test_a_packages_check_can_be_skipped_by_code(plugin_installed, tmp_path):
    report = _verify_json(tmp_path / "b", "--skip-check", "OUR_WATCHED_EDITOR")
    assert "OUR_WATCHED_EDITOR" not in {f["code"] for f in report["findings"]}


def test_without_the_package_its_code_is_unknown():
    """This process loaded its checks before the package was installed (the fixture sees
    to it): the registry holds our own checks only."""
    assert all(c.func.__module__.startswith("osintkit.") for c in load_checks().values())
