"""Markdown for the spread (osintkit/spread.py) and the reverse image search links
(reverse.py); every untrusted string goes through the renderer's `md_escape`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from osintkit.report.reverse import NAMES, is_public_url


def _link(text: str, url: str, esc: Callable[[Any], str]) -> str:
    """A Markdown link only for our own search URLs and public http(s) URLs; else text."""
    if is_public_url(url) and not any(c in url for c in " <>()[]\n"):
        return f"[{esc(text)}](<{url}>)"
    return esc(text)


def markdown_extras(d: dict[str, Any], esc: Callable[[Any], str]) -> list[str]:
    """The "Spread" and "Reverse image search" sections of report.md."""
    lines: list[str] = []
    if d.get("spread"):
        lines += ["", "## Spread", "",
                  "| media | url | posted | forwarded from | from the earliest copy |",
                  "|---|---|---|---|---|"]
        for g in d["spread"]:
            for a in g["appearances"]:
                fwd = (a.get("forwarded_from") or {}).get("url") or ""
                first = "**earliest** " if a["earliest"] else ""
                lines.append(f"| {esc(a['media_id'])} | {esc(a['url'] or '')} | "
                             f"{esc(a['posted_at'] or '?')} | {esc(fwd)} | "
                             f"{first}{esc(a['transform'])} |")
    rows = []
    for m in d.get("media") or []:
        rs = m.get("reverse_search") or {}
        groups = [("", rs.get("links"))] + [(f" ({f.get('what') or 'keyframe'})", f["links"])
                                            for f in rs.get("keyframes") or []]
        for what, found in groups:
            if found:
                links = " · ".join(_link(NAMES[k], u, esc) for k, u in found.items())
                rows.append(f"- {esc(m['id'])}{esc(what)}: {links}")
    if rows:
        lines += ["", "## Reverse image search", "",
                  "By the picture's public URL (osintkit uploads nothing):", "", *rows]
    return lines
