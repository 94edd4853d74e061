"""Renderers for the Report: JSON, Markdown, self-contained HTML, JUnit XML.

Every string that came from outside (EXIF fields, page text, file names, URLs) is
escaped: HTML through Jinja2 autoescape (and `safe_url` for links), Markdown through
`md_escape`, JUnit through the XML writer.
"""

from __future__ import annotations

import hashlib
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from osintkit.checks.place import osm_url
from osintkit.checks.verdict import at_or_above
from osintkit.fileio import atomic_write
from osintkit.report.model import Report
from osintkit.report.scene import image_uri, scene_pairs, stored_thumb_uri
from osintkit.report.videostrips import strips

FORMATS = ("json", "md", "html", "junit")
FILE_NAMES = {"json": "report.json", "md": "report.md", "html": "report.html",
              "junit": "report.junit.xml"}
THUMB_PX = 360


# ---------------------------------------------------------------- JSON
def render_json(report: Report, json_sha256: str | None = None) -> str:
    """report.json: the contract described by schema.json."""
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False, allow_nan=False,
                      default=str) + "\n"


# ---------------------------------------------------------------- Markdown
# Markdown's active characters. Text never starts a line here (it follows "- " or "| "),
# so "-", "+" and digits stay as they are; without "[" and "]" no link can form.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]#!|~>])")


def md_escape(value: Any) -> str:
    """Untrusted text → inert Markdown: one line, control characters shown as \\xNN
    (ESC, BEL... never reach a terminal that cats the file), HTML entities, punctuation
    escaped."""
    text = " ".join(str("" if value is None else value).split())
    text = "".join(c if c.isprintable() else _visible(c) for c in text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def _visible(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def render_markdown(report: Report, json_sha256: str | None = None) -> str:
    """report.md: verdict, claim, archive, findings, media (level, matches, map link),
    next steps, custody and timeline as Markdown."""
    d = report.to_dict()
    claim, verdict = d["claim"], d["verdict"]
    lines = [f"# Verification report: {md_escape(claim['title'] or claim['id'])}", "",
             f"**Verdict: {verdict['level']}**", ""]
    lines += [f"- {md_escape(r)}" for r in verdict["reasons"]]
    lines += ["", "## Claim", "", "| field | value |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in _md_claim_rows(claim)]
    lines += ["", "## Archive searched", "", f"- {md_escape(archive_line(d['archive']))}"]
    lines += ["", "## Findings", ""]
    if d["findings"]:
        lines += ["| severity | code | media | message |", "|---|---|---|---|"]
        lines += [f"| {f['severity']} | `{f['code']}` | {md_escape(f['media'] or '')} | "
                  f"{md_escape(f['message'])} |" for f in d["findings"]]
    else:
        lines.append("No findings.")
    lines += ["", "## Media", "", "| id | level | name | kind | captured | sha256 |",
              "|---|---|---|---|---|---|"]
    for m in d["media"]:
        captured = (m["summary"] or {}).get("captured_at")
        state = m["sha256"] or f"error: {md_escape((m['error'] or {}).get('message'))}"
        lines.append(f"| {m['id']} | {m.get('level', '')} | {md_escape(m['name'])} | "
                     f"{m['kind'] or ''} | {md_escape(captured or '')} | {state} |")
    lines += _md_matches(d)
    if d.get("map"):
        lines += ["", "## Map", "", f"- OpenStreetMap: <{md_url(d['map']['osm_url'])}>"]
        lines += [f"- {p['media']} ({md_escape(p['name'])}): GPS {p['lat']:.5f}, "
                  f"{p['lon']:.5f}, {p['distance_km']:,.1f} km from the claimed place"
                  for p in d["map"]["points"]]
    from osintkit.report.extras import markdown_extras

    lines += markdown_extras(d, md_escape)
    if d.get("next_steps"):
        lines += ["", "## What to check next", ""]
        lines += [f"{n}. {md_escape(s['action'])}" for n, s in enumerate(d["next_steps"], 1)]
    lines += _md_custody(d.get("custody") or {})
    lines += ["", "## Timeline", ""]
    lines += [f"- {md_escape(e['when'])}: {md_escape(e['label'])}" for e in d["timeline"]]
    digest = f", report.json sha256 {json_sha256}" if json_sha256 else ""
    lines += ["", f"_osintkit {md_escape(d['tool']['version'])}, schema "
              f"{d['schema_version']}, generated {d['generated_at']}{digest}_", ""]
    return "\n".join(lines)


def md_url(url: Any) -> str:
    """An http(s) URL for an autolink (<...>): no spaces or angle brackets can break out."""
    return re.sub(r"[\s<>]", lambda m: f"%{ord(m.group()):02X}", safe_url(url))


def md_link(url: Any) -> str:
    """An archived post's URL in report.md: a link only for an http(s) URL with a host,
    shown as escaped text; its target percent-encodes every character that could end the
    link or the table cell (`)`, `]`, `|`, `<`, `>`, spaces, backslashes, quotes, non-ASCII).
    Anything else (javascript:, data:, a bare word) is escaped text, never a link."""
    text = " ".join(str(url or "").split())
    if safe_url(text) == "#" or not _URL_HOST.match(text):
        return md_escape(text)
    target = re.sub(r"[^A-Za-z0-9\-._~:/?#@!$&+,;=%*']",
                    lambda m: "".join(f"%{b:02X}" for b in m.group().encode("utf-8")), text)
    return f"[{md_escape(text)}](<{target}>)"


_URL_HOST = re.compile(r"^https?://[^/?#\s\\]+", re.IGNORECASE)
POST_TEXT_CHARS = 200  # post text shown per archived post in report.md


def _md_matches(d: dict[str, Any]) -> list[str]:
    """The "Archive matches" table: each match's evidence and the post or page its
    archived copy came from (archive/provenance.py), then the archived posts' text."""
    rows, texts = [], []
    for m in d["media"]:
        for x in m["matches"]:
            dist = " ".join(f"{k}={v}" for k, v in (x.get("distance") or {}).items())
            at = (f" at {x['query_t']:.1f} s" if x.get("query_t") is not None else "")
            rows.append(f"| {m['id']}{at} | {md_escape(x.get('name'))} | {x.get('match')} | "
                        f"{md_escape(dist)} | {md_escape(x.get('transform'))} | "
                        f"{md_escape(x.get('source') or '')} | "
                        f"{md_escape(x.get('first_seen') or '')} | "
                        f"{md_link(x.get('source_url'))} | "
                        f"{md_escape(x.get('posted_at') or '')} |")
            post = " ".join(str(x.get("post_text") or "").split())
            if post:
                short = post if len(post) <= POST_TEXT_CHARS else \
                    post[:POST_TEXT_CHARS - 1] + "…"
                texts.append(f"- {m['id']}{at} → {md_escape(x.get('name'))}: "
                             f"“{md_escape(short)}”")
    if not rows:
        return []
    out = ["", "## Archive matches", "",
           "| media | archived | match | distance | transform | source | first seen | "
           "archived post | posted |", "|---|---|---|---|---|---|---|---|---|", *rows]
    if texts:
        out += ["", "Text of the archived posts:", "", *texts]
    return out


def _md_custody(c: dict[str, Any]) -> list[str]:
    if not c:
        return []
    out = ["", "## Custody", ""]
    out += [f"- {k}: {md_escape(v)}" for k, v in (
        ("case", c.get("case")), ("analyst", c.get("analyst")), ("operator account",
         f"{c.get('os_user')}@{c.get('host')}"), ("tool", c.get("tool")),
        ("started", c.get("started_at"))) if v]
    cf = c.get("claim_file")
    if cf:
        out.append(f"- claim file: {md_escape(cf['path'])} (sha256 {cf['sha256']})")
    for m in c.get("media") or []:
        if m.get("origin") == "fetched":
            out.append(f"- {m['media']}: fetched from {md_escape(m.get('url'))} at "
                       f"{m.get('fetched_at')}, sha256 {m.get('sha256')}")
        elif m.get("sha256"):
            out.append(f"- {m['media']}: {md_escape(m['original_path'])}, {m['size']} bytes, "
                       f"sha256 {m['sha256']}, md5 {m['md5']}, intake {m['intake_at']}")
        else:
            out.append(f"- {m['media']}: {md_escape(m.get('original_path'))}: "
                       f"{md_escape(m.get('error'))}")
    return out


def _md_claim_rows(claim: dict[str, Any]) -> list[tuple[str, str]]:
    """The claim table's rows (name, escaped value), empty ones left out."""
    win = claim.get("claimed_at")
    rows = [("id", md_escape(claim["id"])), ("title", md_escape(claim.get("title") or "")),
            ("claimant", md_escape(claim.get("claimant") or "")),
            ("claimed at", md_escape(win["raw"]) if win else ""),
            ("posted at", md_escape(claim.get("posted_at") or "")),
            ("place", _md_place(claim.get("place"))),
            ("urls", " ".join(md_escape(u) for u in claim.get("urls") or [])),
            ("notes", md_escape(claim.get("notes") or ""))]
    return [(k, v) for k, v in rows if v]


def archive_line(info: dict[str, Any]) -> str:
    from osintkit.report.archive_block import summary_line

    return summary_line(info)


def _md_place(place: dict[str, Any] | None) -> str:
    if not place:
        return ""
    return (f"{md_escape(place['name'] or '')} {place['lat']}, {place['lon']} "
            f"(radius {place['radius_km']} km)")


# ---------------------------------------------------------------- HTML
def safe_url(url: Any) -> str:
    """Only http(s) URLs become links; anything else (javascript:, data:) becomes '#'."""
    text = str(url or "").strip()
    return text if re.match(r"^https?://", text, re.IGNORECASE) else "#"


def _image_uri(img: Any) -> str:
    return image_uri(img, THUMB_PX, 80)


def thumbnail_uri(path: str | Path | None, kind: str | None = None,
                  t: float | None = None) -> str | None:
    """A small inline JPEG (data: URI) of a picture, or of a video frame at ~t seconds."""
    if not path or not Path(path).is_file():
        return None
    try:
        if kind == "video":
            from osintkit.media.frames import sample_frames

            frame = None
            for frame in sample_frames(path, every=1.0, scenes=False):
                if t is None or frame.t >= t - 0.5:
                    break
            return _image_uri(frame.image) if frame is not None else None
        from osintkit.match.hashing import load_image  # reduced decode, any mode, upright

        return _image_uri(load_image(path, size=THUMB_PX * 2))
    except Exception:  # a thumbnail is a nicety: a file we cannot draw is shown without one
        return None


def _match_thumb(match: dict[str, Any], archived: Any) -> str | None:
    """The archived picture when the archive knows a local file for it (`origin`)."""
    origin = getattr(archived, "origin", None)
    if not origin or re.match(r"^[a-z]+://", str(origin)):
        return None
    return thumbnail_uri(origin, match.get("kind"), match.get("item_t"))


def _html_context(report: Report) -> dict[str, Any]:
    d = report.to_dict()
    by_media: dict[str | None, list[dict[str, Any]]] = {}
    for f in d["findings"]:
        by_media.setdefault(f["media"], []).append(f)
    media = []
    for item, md in zip(report.media, d["media"], strict=True):
        md = dict(md)
        md["thumb"] = thumbnail_uri(item.path, item.kind) if item.ok else None
        md["findings"] = [{**f, "pictures": _finding_pictures(f, report.out_dir)}
                          for f in by_media.get(item.id, [])]
        segs = {f["evidence"].get("item_id"): f["evidence"].get("segments") or []
                for f in md["findings"] if f["evidence"].get("segments")}
        md["strips"] = strips(item) if item.ok else []  # videos: paired frames per segment
        md["matches"] = [
            {**m, "thumb": (_match_thumb(m, item.archived.get(obj.item_id))
                            or stored_thumb_uri(obj)),
             "segments": segs.get(m.get("item_id"), []),
             "query_thumb": (thumbnail_uri(item.path, item.kind, m.get("query_t"))
                             if item.kind == "video" else md["thumb"])}
            for m, obj in zip(md["matches"], item.matches, strict=True)]
        md["map_url"] = _map_url(md, d["claim"]["place"])
        media.append(md)
    from osintkit.report.mapsvg import render_svg
    from osintkit.report.reverse import NAMES

    return {"r": d, "media": media, "claim_findings": by_media.get(None, []),
            "spread": _spread_context(d, media), "engine_names": NAMES,
            "scene_pairs": scene_pairs(report, media),
            "timeline": _timeline_positions(d["timeline"]),
            "place_url": (osm_url(d["claim"]["place"]["lat"], d["claim"]["place"]["lon"])
                          if d["claim"]["place"] else None),
            "map_svg": render_svg(d.get("map")), "archive_line": archive_line(d["archive"])}


def _spread_context(d: dict[str, Any], media: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """report.json's spread with each appearance's thumbnail (from its media item)."""
    thumbs = {m["id"]: m.get("thumb") for m in media}
    return [{**g, "appearances": [{**a, "thumb": thumbs.get(a["media_id"])}
                                  for a in g["appearances"]]} for g in d.get("spread") or []]


def _finding_pictures(finding: dict[str, Any], base: Path | None) -> list[dict[str, str]]:
    """Pictures a check left as evidence (e.g. forensics' ELA map; paths relative to the
    report folder), inlined."""
    images = finding["evidence"].get("images")
    if not isinstance(images, dict):
        return []
    out = []
    for label, path in images.items():
        uri = thumbnail_uri(Path(base or ".") / path) if isinstance(path, str) else None
        if uri:
            out.append({"label": str(label), "src": uri})
    return out


def _map_url(media: dict[str, Any], place: dict[str, Any] | None) -> str | None:
    gps = (media.get("summary") or {}).get("gps")
    if not gps or gps.get("lat") is None or gps.get("lon") is None:
        return None
    if place:
        return osm_url(gps["lat"], gps["lon"], place["lat"], place["lon"])
    return osm_url(gps["lat"], gps["lon"])


def _timeline_positions(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each event with `pos` (0-100 %) along the span of all dates, for the HTML bar."""
    from datetime import UTC, datetime

    def ts(e: dict[str, Any]) -> float:
        moment = datetime.fromisoformat(e["when"])
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()

    if not events:
        return []
    lo, hi = ts(events[0]), ts(events[-1])
    span = (hi - lo) or 1.0
    return [{**e, "pos": round(100 * (ts(e) - lo) / span, 2)} for e in events]


def _jinja_env() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("osintkit.report", "templates"),
        autoescape=True, undefined=jinja2.ChainableUndefined,
        trim_blocks=True, lstrip_blocks=True)
    env.filters["safe_url"] = safe_url
    return env


def render_html(report: Report, json_sha256: str | None = None) -> str:
    """report.html: self-contained (inline CSS, base64 thumbnails, inline SVG map),
    untrusted text escaped; the footer shows report.json's sha256."""
    return _jinja_env().get_template("report.html.j2").render(
        **_html_context(report), json_sha256=json_sha256)


# ---------------------------------------------------------------- JUnit
def render_junit(reports: Iterable[Report], fail_on: str = "contradicted") -> str:
    """JUnit XML: one test case per claim, failed when its verdict is at/above `fail_on`."""
    reports = list(reports)
    suite = ET.Element("testsuite", name="osintkit.verify", tests=str(len(reports)))
    failures = 0
    for rep in reports:
        case = ET.SubElement(suite, "testcase", classname="osintkit.verify", name=rep.claim.id)
        if at_or_above(rep.level, fail_on):
            failures += 1
            fail = ET.SubElement(case, "failure", type=rep.level,
                                 message=f"verdict {rep.level}")
            fail.text = "\n".join(rep.verdict.reasons)
        out = ET.SubElement(case, "system-out")
        out.text = f"verdict: {rep.level}\n" + "\n".join(rep.verdict.reasons)
    suite.set("failures", str(failures))
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


RENDERERS: dict[str, Callable[..., str]] = {
    "json": render_json, "md": render_markdown, "html": render_html,
    "junit": lambda rep, json_sha256=None: render_junit([rep]),
}
SHA256_FILE = "report.sha256"  # sha256sum format: `sha256sum -c report.sha256` checks it


def write_report(report: Report, out_dir: str | Path,
                 formats: Iterable[str] = ("json", "html", "md")) -> dict[str, Path]:
    """Write the report in each format into out_dir, then `report.sha256` beside them.

    report.json is written first; its sha256 goes into the HTML footer and the Markdown,
    and `report.sha256` lists every written file's sha256 (report.json first), in the
    format `sha256sum -c` and `osintkit evidence check` read. Returns {format: path}.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    formats = list(dict.fromkeys(formats))
    for fmt in formats:
        if fmt not in RENDERERS:
            raise ValueError(f"unknown report format {fmt!r} (known: {', '.join(FORMATS)})")
        written[fmt] = out / FILE_NAMES[fmt]
    report.files = {fmt: str(path) for fmt, path in written.items()}
    if written:
        report.files["sha256"] = str(out / SHA256_FILE)
    digests: dict[str, str] = {}
    for fmt in sorted(written, key=lambda f: f != "json"):  # report.json first
        data = RENDERERS[fmt](report, **({} if fmt == "json" else
                                         {"json_sha256": digests.get(FILE_NAMES["json"])}))
        raw = data.encode("utf-8")
        atomic_write(written[fmt], raw)
        digests[FILE_NAMES[fmt]] = hashlib.sha256(raw).hexdigest()
    if digests:
        atomic_write(out / SHA256_FILE, "".join(
            f"{digest}  {name}\n" for name, digest in digests.items()).encode("ascii"))
    return written
