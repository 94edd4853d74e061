"""Batch stage, step 4: what became of each claim; summary.json and JUnit XML."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from osintkit import __version__
from osintkit.checks.verdict import LEVELS, at_or_above
from osintkit.errors import INTERNAL, ErrorInfo

SUMMARY_VERSION = 1


@dataclass
class ClaimResult:
    """What became of one claim: a verdict, or the reason it has none."""

    id: str
    line: int
    status: str  # "done" | "error" | "timeout" | "invalid"
    verdict: str | None = None
    reasons: list[str] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    error: ErrorInfo | None = None
    duration_s: float = 0.0
    report: str | None = None  # report.json, relative to the batch folder
    resumed: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "done"

    def fails(self, fail_on: str) -> bool:
        """True when the claim could not run, or its verdict is at or above `fail_on`."""
        return not self.ok or level_at_least(self.verdict, fail_on)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "line": self.line, "ok": self.ok, "status": self.status,
                "verdict": self.verdict, "reasons": self.reasons, "findings": self.findings,
                "error": self.error.to_dict() if self.error else None,
                "duration_s": self.duration_s, "report": self.report,
                "resumed": self.resumed}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ClaimResult:
        err = d.get("error")
        return cls(d["id"], d["line"], d["status"], d.get("verdict"), d.get("reasons") or [],
                   d.get("findings") or [], ErrorInfo(**err) if err else None,
                   d.get("duration_s", 0.0), d.get("report"), d.get("resumed", False))


def level_at_least(level: str | None, threshold: str) -> bool:
    """Is verdict `level` at or above `threshold` in LEVELS order? ("never": no.)"""
    return level in LEVELS and threshold in LEVELS and at_or_above(level, threshold)


def make_summary(manifest: Path, out_dir: Path, fail_on: str, results: list[ClaimResult],
                 started: str, finished: str | None) -> dict[str, Any]:
    """summary.json: counts per verdict and status, the most frequent findings, all claims."""
    verdicts = Counter(r.verdict for r in results if r.ok)
    statuses = Counter(r.status for r in results)
    return {
        "schema_version": SUMMARY_VERSION, "osintkit_version": __version__,
        "manifest": str(manifest), "out_dir": str(out_dir),
        "started_at": started, "finished_at": finished, "complete": finished is not None,
        "fail_on": fail_on,
        "counts": {"claims": len(results), "done": statuses["done"],
                   "resumed": sum(r.resumed for r in results), "error": statuses["error"],
                   "timeout": statuses["timeout"], "invalid": statuses["invalid"],
                   "failing": sum(r.fails(fail_on) for r in results)},
        "verdicts": {level: verdicts[level] for level in reversed(LEVELS)},
        "top_findings": top_findings(results),
        "claims": [r.to_dict() for r in results],
    }


SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2, "info": 3}


def top_findings(results: Iterable[ClaimResult], limit: int = 10) -> list[dict[str, Any]]:
    """Finding codes, most severe first, then by the number of claims they occur in:
    a frequent info code never pushes a rare high one out of the list."""
    claims: Counter[str] = Counter()
    severity: dict[str, str] = {}
    for res in results:
        for code in {f["code"] for f in res.findings}:
            claims[code] += 1
        for f in res.findings:  # a code's worst severity (VIDEO_SEGMENT_... is high or info)
            sev = f.get("severity") or "info"
            if SEVERITY_ORDER.get(sev, 9) < SEVERITY_ORDER.get(severity.get(f["code"], ""), 9):
                severity[f["code"]] = sev
    ranked = sorted(claims.items(), key=lambda kv: (SEVERITY_ORDER.get(severity[kv[0]], 9),
                                                    -kv[1], kv[0]))[:limit]
    return [{"code": c, "severity": severity[c], "claims": n} for c, n in ranked]


def deciding_findings(findings: list[dict[str, Any]], verdict: str | None
                      ) -> list[dict[str, Any]]:
    """The findings that decided the verdict (checks/verdict.py rules): the high ones for
    contradicted, the medium and low ones for suspicious, none otherwise."""
    keep = {"contradicted": ("high",), "suspicious": ("medium", "low")}.get(verdict or "", ())
    return [f for f in findings if f.get("severity") in keep]


_XML_BAD = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: Any) -> str:
    """Text XML 1.0 can hold: EXIF fields and page titles may carry control bytes."""
    return _XML_BAD.sub("\ufffd", str(text))


def junit_xml(results: list[ClaimResult], fail_on: str, name: str = "osintkit batch") -> bytes:
    """JUnit XML: one testcase per claim; failure at/above `fail_on`, error if it never ran.

    `name` (the batch's name) names <testsuites> and <testsuite>; a failure's message
    lists only the findings that decided the verdict."""
    suite = ET.Element("testsuite", name=_xml_text(name), tests=str(len(results)), skipped="0",
                       failures=str(sum(r.ok and r.fails(fail_on) for r in results)),
                       errors=str(sum(not r.ok for r in results)),
                       time=f"{sum(r.duration_s for r in results):.3f}")
    for res in results:
        case_name = res.id if res.status != "invalid" else f"line {res.line}: {res.id}"
        case = ET.SubElement(suite, "testcase", classname="osintkit.claims",
                             name=_xml_text(case_name), time=f"{res.duration_s:.3f}")
        if not res.ok:
            err = res.error or ErrorInfo(INTERNAL, "no result")
            node = ET.SubElement(case, "error", type=err.code, message=_xml_text(err.message))
            node.text = _xml_text(err.message)
        elif res.fails(fail_on):
            deciding = deciding_findings(res.findings, res.verdict)
            codes = ", ".join(dict.fromkeys(f["code"] for f in deciding)) or \
                "no deciding finding"
            node = ET.SubElement(case, "failure", type=res.verdict or "",
                                 message=_xml_text(f"{res.verdict}: {codes}"))
            node.text = _xml_text("\n".join(
                [f"[{f.get('severity')}] {f['code']}: {f.get('message')}" for f in deciding]
                or res.reasons))
        if res.report:
            ET.SubElement(case, "system-out").text = _xml_text(f"report: {res.report}")
    root = ET.Element("testsuites", name=_xml_text(name))
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def write_junit(path: Path, results: list[ClaimResult], fail_on: str,
                name: str = "osintkit batch") -> None:
    """Write the JUnit XML file (its folder is created); `name` is the batch's name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(junit_xml(results, fail_on, name))




def render_table(summary: dict[str, Any], limit: int = 5) -> str:
    """The terminal summary: claims per verdict and status, then the top findings."""
    counts = summary["counts"]
    rows = [(level, n) for level, n in summary["verdicts"].items()]
    rows += [(status, counts[status]) for status in ("error", "timeout", "invalid")
             if counts[status]]
    width = max(len(name) for name, _ in rows)
    lines = [f"{'verdict':<{width}}  claims"]
    lines += [f"{name:<{width}}  {n:>6}" for name, n in rows]
    extra = f", {counts['resumed']} resumed" if counts["resumed"] else ""
    lines.append(f"{'total':<{width}}  {counts['claims']:>6}{extra}")
    top = summary["top_findings"][:limit]
    if top:
        code_w = max(len(f["code"]) for f in top)
        lines += ["", f"{'top findings':<{code_w}}  {'severity':<8}  claims"]
        lines += [f"{f['code']:<{code_w}}  {f['severity']:<8}  {f['claims']:>6}" for f in top]
    failing = [c for c in summary["claims"]
               if c["ok"] and level_at_least(c["verdict"], summary["fail_on"])]
    if failing:
        lines += ["", f"at or above {summary['fail_on']}:"]
        out = Path(summary["out_dir"])
        lines += [f"  {printable(c['id'])}  {c['verdict']}  "
                  f"{printable(out / Path(c['report']).parent) if c['report'] else ''}"
                  for c in failing[:limit * 2]]
        if len(failing) > limit * 2:
            lines.append(f"  ... and {len(failing) - limit * 2} more (summary.json)")
    return "\n".join(lines)


def printable(text: Any) -> str:
    """Untrusted text for a terminal: one line, control characters (ANSI escapes) shown
    as escapes instead of acting on the terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in " ".join(str(text).split()))


def render_markdown(summary: dict[str, Any]) -> str:
    """summary.md: counts, top findings and one row per claim, untrusted text escaped
    (for a CI job summary such as GitHub's $GITHUB_STEP_SUMMARY)."""
    from osintkit.report.render import md_escape

    counts = summary["counts"]
    lines = [f"# osintkit batch: {counts['claims']} claims", "",
             "| verdict | claims |", "|---|---:|"]
    lines += [f"| {level} | {n} |" for level, n in summary["verdicts"].items()]
    lines += [f"| {status} | {counts[status]} |" for status in ("error", "timeout", "invalid")
              if counts[status]]
    if summary["top_findings"]:
        lines += ["", "| finding | severity | claims |", "|---|---|---:|"]
        lines += [f"| {f['code']} | {f['severity']} | {f['claims']} |"
                  for f in summary["top_findings"]]
    lines += ["", "| line | claim | verdict | findings | report |", "|---:|---|---|---|---|"]
    for c in summary["claims"]:
        verdict = c["verdict"] if c["ok"] else f"{c['status']}: {md_escape(c['error']['message'])}"
        codes = ", ".join(dict.fromkeys(f["code"] for f in c["findings"]))
        report = md_escape(c["report"]) if c["report"] else ""
        lines.append(f"| {c['line']} | {md_escape(c['id'])} | {verdict} | {codes} | {report} |")
    return "\n".join(lines) + "\n"
