"""The report: schema validation, escaping of untrusted text, self-contained HTML,
Markdown, JUnit, and the HTML rendered by a real headless Chromium."""

from __future__ import annotations

import json
import re
import subprocess
import xml.etree.ElementTree as ET

import jsonschema
import pytest
from fixtures_verify import HOSTILE

from osintkit.report.model import SCHEMA_VERSION, load_schema
from osintkit.report.render import md_escape, render_html, render_junit, safe_url
from osintkit.verify import VerifyOptions, verify_target

VALIDATOR = jsonschema.Draft202012Validator(load_schema(),
                                            format_checker=jsonschema.FormatChecker())


def test_schema_is_valid_and_shipped():
    jsonschema.Draft202012Validator.check_schema(load_schema())
    assert SCHEMA_VERSION.startswith("1.")


def test_every_sample_report_validates_against_the_schema(sample_reports):
    for name, rep in sample_reports.items():
        data = json.loads((rep.out_dir / "report.json").read_text())
        errors = sorted(VALIDATOR.iter_errors(data), key=str)
        assert not errors, f"{name}: {errors[0].message} at {list(errors[0].absolute_path)}"
        assert data["schema_version"] == SCHEMA_VERSION


def test_schema_rejects_a_broken_report(sample_reports):
    data = sample_reports["corroborated"].to_dict()
    data["verdict"]["level"] = "true"
    assert not VALIDATOR.is_valid(data)


@pytest.fixture
def hostile_report(hostile_picture, tmp_path):
    return verify_target([str(hostile_picture)], tmp_path / "out",
                         options=VerifyOptions(search_archive=False, formats=("json", "html",
                                                                              "md", "junit")),
                         claim_place="37.2242,67.2783", place_name=HOSTILE,
                         claim_date="2026-04-18", tz="+05:00")


def test_script_in_exif_and_file_name_is_escaped_everywhere(hostile_report):
    out = hostile_report.out_dir
    html = (out / "report.html").read_text()
    md = (out / "report.md").read_text()
    data = json.loads((out / "report.json").read_text())
    summary = data["media"][0]["summary"]
    assert summary["make"] == HOSTILE and HOSTILE in summary["software"]  # data kept as is
    assert data["media"][0]["name"] == "<script>evil.jpg"
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html  # the Make field
    assert "&lt;script&gt;evil.jpg" in html  # the file name
    assert "<script" not in md.lower() and "&lt;script&gt;evil.jpg" in md
    ET.fromstring((out / "report.junit.xml").read_text().split("?>", 1)[1])  # well formed
    assert {f["code"] for f in data["findings"]} >= {"EDITING_SOFTWARE"}


def test_links_only_for_http_urls():
    assert safe_url("https://example.org/a?b=1") == "https://example.org/a?b=1"
    assert safe_url("javascript:alert(1)") == "#"
    assert safe_url(" JaVaScRiPt:alert(1)") == "#"
    assert safe_url("data:text/html,<b>") == "#"


def test_markdown_escape_neutralises_markup():
    text = md_escape("<img src=x onerror=alert(1)> [link](javascript:x) | *b*\nnext")
    assert "<" not in text and "\n" not in text
    assert "\\[link\\](javascript:x)" in text and "\\|" in text and "\\*b\\*" in text


def test_html_is_self_contained(sample_reports):
    html = (sample_reports["contradicted_recycled"].out_dir / "report.html").read_text()
    srcs = re.findall(r'<img src="([^"]*)"', html)
    assert len(srcs) >= 12  # 4 media + a query and an archived picture per match
    assert all(s.startswith("data:image/jpeg;base64,") for s in srcs)
    assert not re.search(r"""(src|href)=["']?(//|https?://(?!www\.openstreetmap\.org))""", html)
    assert "<link" not in html and "<script" not in html


def test_html_shows_verdict_matches_timeline_map_and_hashes(sample_reports):
    rep = sample_reports["contradicted_recycled"]
    html = render_html(rep)
    assert html.index("Verdict: contradicted") < html.index("<h2>Claim</h2>")
    assert html.count('class="pair"') == 4  # one side-by-side per archive match
    assert "archive: 2021_convoy.jpg" in html and "transform mirror" in html
    assert re.search(r"claim 3\.0–6\.0 s ↔ archive 0\.0–3\.0 s", html)  # the recycled shot
    for sha in (m.hashes.sha256 for m in rep.media):
        assert sha in html
    near = render_html(sample_reports["corroborated"])
    assert "https://www.openstreetmap.org/directions?route=37.240000%2C67.300000" in near
    events = [e["what"] for e in rep.to_dict()["timeline"]]
    assert events[:3] == ["first_seen"] * 3 and "claimed_start" in events


def test_timeline_of_the_edited_sample(sample_reports):
    events = [(e["when"], e["what"]) for e in sample_reports["suspicious"].to_dict()["timeline"]]
    assert events == [("2026-04-13T09:00:00+05:00", "captured"),
                      ("2026-04-18T00:00:00+05:00", "claimed_start"),
                      ("2026-04-18T15:10:00+05:00", "modified"),
                      ("2026-04-18T20:00:00+05:00", "posted"),
                      ("2026-04-19T00:00:00+05:00", "claimed_end")]


def test_timeline_is_sorted_across_zones(sample_reports):
    from datetime import UTC, datetime

    def ts(w: str) -> datetime:
        d = datetime.fromisoformat(w)
        return d if d.tzinfo else d.replace(tzinfo=UTC)

    for rep in sample_reports.values():
        whens = [ts(e["when"]) for e in rep.to_dict()["timeline"]]
        assert whens == sorted(whens)


def test_junit_fails_at_or_above_fail_on(sample_reports):
    reps = [sample_reports[k] for k in sorted(sample_reports)]
    root = ET.fromstring(render_junit(reps, "suspicious").split("?>", 1)[1])
    assert root.get("tests") == "5" and root.get("failures") == "3"
    failed = {c.get("name") for c in root.iter("testcase") if c.find("failure") is not None}
    assert failed == {"sample-contradicted-far", "sample-contradicted-recycled",
                      "sample-suspicious"}


# ---------------------------------------------------------------- headless Chromium
def _chromium(binary: str, tmp_path, *args: str) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}"]
    return subprocess.run([binary, *flags, *args], capture_output=True, text=True, timeout=120)


def _texture(png) -> float:
    """Share of pixels differing from their left neighbour by a small step (1-24): the
    grain of photographs; flat page backgrounds and crisp text have almost none."""
    import numpy as np
    from PIL import Image

    a = np.asarray(Image.open(png).convert("L")).astype(int)
    d = np.abs(np.diff(a, axis=1))
    return float(((d >= 1) & (d <= 24)).mean())


def test_report_renders_in_headless_chromium(chromium, sample_reports, tmp_path):
    if chromium is None:
        pytest.skip("chromium not installed (CI installs it and then this test must run)")
    rep = sample_reports["contradicted_recycled"]
    page = rep.out_dir / "report.html"
    dom = _chromium(chromium, tmp_path, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "Verdict: contradicted" in dom.stdout
    assert dom.stdout.count("data:image/jpeg;base64,") >= 12
    # Screenshot the report, and the same report with its pictures removed as a control.
    bare = tmp_path / "bare.html"
    bare.write_text(re.sub(r'src="data:image/jpeg;base64,[^"]*"', 'src=""', page.read_text()))
    shots = {}
    for name, url in (("report", page.as_uri()), ("bare", bare.as_uri())):
        shots[name] = tmp_path / f"{name}.png"
        proc = _chromium(chromium, tmp_path, f"--screenshot={shots[name]}",
                         "--window-size=1200,4200", "--hide-scrollbars", url)
        assert proc.returncode == 0 and shots[name].stat().st_size > 10_000, proc.stderr[-2000:]
    from PIL import Image

    img = Image.open(shots["report"]).convert("RGB")
    assert img.size == (1200, 4200)
    r, g, b = img.getpixel((600, 12))  # the verdict banner on top: contradicted is red
    assert r > 150 and g < 80 and b < 80
    assert img.convert("L").getextrema()[1] - img.convert("L").getextrema()[0] > 200
    assert _texture(shots["report"]) > 0.03  # the pictures are drawn...
    assert _texture(shots["report"]) > 3 * _texture(shots["bare"])  # ...and they make it


def test_pictures_left_by_checks_are_inlined(tmp_path):
    import io

    from conftest import EXIF_SAMPLES
    from PIL import Image

    # a real camera photo saved at quality 75, with an uncompressed piece of it pasted
    # in: ELA lights up on the patch (tests/test_forensics.py measures where)
    with Image.open(EXIF_SAMPLES / "jpg" / "gps" / "DSCN0010.jpg") as im:
        img = im.convert("RGB")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=75)
    base = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    base.paste(img.crop((0, 0, 200, 150)).resize((230, 170)), (283, 213))
    path = tmp_path / "patched.png"
    base.save(path)
    rep = verify_target([str(path)], tmp_path / "out",
                        options=VerifyOptions(search_archive=False))
    with_pictures = [f for f in rep.findings if f.evidence.get("images")]
    assert "ELA_HOTSPOT" in {f.code for f in with_pictures}
    for f in with_pictures:
        for pic in f.evidence["images"].values():
            assert (tmp_path / "out" / pic).is_file()  # relative to the report folder
    html = (tmp_path / "out" / "report.html").read_text()
    shown = re.findall(r'<img class="evpic" src="data:image/jpeg;base64,', html)
    assert len(shown) == sum(len(f.evidence["images"]) for f in with_pictures)
