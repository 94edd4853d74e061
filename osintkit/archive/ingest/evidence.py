"""`archive add EVIDENCE_DIR`: archive what `osintkit fetch`/`verify` (or a walk) preserved.

Each claim item of the folder's manifest.json is archived with the best time the evidence
recorded for it, in this order:
  1. `posted_at`: the time of the post that carried it (Telegram, a walk's items);
  2. the page's publication time (`page.published_at`: article metadata, the post);
  3. the server's `Last-Modified` for the file;
  4. `fetched_at`: when we saw it (the latest it can have been first seen).
The source URL is the post (Telegram), else the page the file was found on, else the file's
own URL. A file whose bytes no longer match the manifest is refused, never archived.
"""

from __future__ import annotations

import json
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from osintkit import errors
from osintkit.archive.core import Archive
from osintkit.archive.ingest.model import IngestOptions, IngestResult, trim_title, utc_iso
from osintkit.archive.ingest.writer import write_media
from osintkit.errors import ErrorInfo
from osintkit.fetch.evidence import MANIFEST
from osintkit.fileio import file_hashes


def is_evidence_dir(path: str | Path) -> bool:
    """A folder holding a manifest.json (from fetch, verify or a channel walk), or a verify
    report folder (report.json beside its evidence/, evidence-2/... folders)."""
    return bool(evidence_dirs(path))


def evidence_dirs(path: str | Path) -> list[Path]:
    """The evidence folders of `path`: itself, or a report folder's evidence*/ folders."""
    p = Path(path)
    if not p.is_dir():
        return []
    if (p / MANIFEST).is_file():
        return [p]
    if not (p / "report.json").is_file():
        return []
    found = [d for d in p.glob("evidence*") if d.is_dir() and (d / MANIFEST).is_file()]
    return sorted(found, key=lambda d: (len(d.name), d.name))  # evidence, evidence-2, ...


def _server_time(headers: dict[str, Any] | None) -> str | None:
    value = next((v for k, v in (headers or {}).items() if k.lower() == "last-modified"), None)
    if not value:
        return None
    try:
        return utc_iso(parsedate_to_datetime(str(value)).isoformat())
    except (TypeError, ValueError):
        return None


def _posts(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """post_id -> the Telegram post record of the manifest's page."""
    page = manifest.get("page") or {}
    return {str(p.get("post_id")): p for p in page.get("posts") or []
            if isinstance(p, dict) and p.get("post_id")}


def item_time(item: dict[str, Any], manifest: dict[str, Any]) -> tuple[str | None, str]:
    """(UTC time, which one) for an evidence item: post, page, server or fetch time."""
    page = manifest.get("page") or {}
    for value, what in ((item.get("posted_at"), "post time"),
                        (page.get("published_at"), "page publication time"),
                        (_server_time(item.get("headers")), "server Last-Modified"),
                        (item.get("fetched_at"), "time fetched")):
        when = utc_iso(value) if what != "server Last-Modified" else value
        if when:
            return when, what
    return None, "unknown"


def _provenance(item: dict[str, Any], manifest: dict[str, Any],
                opts: IngestOptions) -> dict[str, Any]:
    """source, source_url and title of one evidence item."""
    page = manifest.get("page") or {}
    post = _posts(manifest).get(str(item.get("post_id"))) or {}
    url = (item.get("post_url") or post.get("url")
           or (page.get("url") if page.get("kind") == "telegram" and not page.get("posts")
               else None)
           or item.get("found_on") or item.get("url"))
    channel = str(item.get("post_id") or "").split("/")[0]
    host = urlsplit(str(url or "")).hostname or None
    source = opts.source or (f"@{channel}" if channel else host)
    title = item.get("title") or trim_title(post.get("text") or page.get("text")
                                            or page.get("title"))
    return {"source": source, "source_url": url, "title": title}


def _items(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Every claim item with a file (once per post), from the manifest and its earlier
    captures."""
    seen, out = set(), []
    groups = [manifest.get("items") or []] + [c.get("items") or [] for c in
                                              manifest.get("captures") or []
                                              if isinstance(c, dict)]
    for group in groups:
        for item in group:
            if not isinstance(item, dict) or not item.get("file") or item.get("error"):
                continue
            key = (item["file"], item.get("post_url") or item.get("post_id") or item.get("url"))
            if (item.get("role") or "claim") != "claim" or key in seen:
                continue  # the same file in another post is another sighting: kept
            seen.add(key)
            out.append(item)
    return out


def add_evidence(archive: Archive, folder: str | Path, opts: IngestOptions) -> IngestResult:
    """Archive every claim item of an evidence folder (see the module docstring)."""
    root = Path(folder)
    result = IngestResult(str(root), "evidence", evidence=str(root))
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        result.ok = False
        result.error = ErrorInfo(errors.CORRUPT, f"{root / MANIFEST}: unreadable manifest "
                                                 f"({exc})")
        return result
    files = manifest.get("files") or {}
    for item in _items(manifest):
        name = str(item["file"])
        path = root / name
        if "/" in name or "\\" in name or not path.is_file():
            result.count("failed")
            result.errors.append(ErrorInfo(errors.NOT_FOUND, f"{path}: listed in the "
                                           "manifest but missing"))
            continue
        want = (files.get(name) or {}).get("sha256") or item.get("sha256")
        if want and file_hashes(path)["sha256"] != want:
            result.count("failed")
            result.errors.append(ErrorInfo(errors.CORRUPT, f"{path}: changed since it was "
                                           "captured (sha256 differs from the manifest)"))
            continue
        when, what = item_time(item, manifest)
        meta = {**_provenance(item, manifest, opts), "first_seen": when,
                "tags": list(opts.tags)}
        if write_media(archive, [(path, want, _display_name(item, name))], meta, result):
            result.saw_post(when)
            result.notes.append(f"{name}: first seen {when or '?'} ({what})")
    result.ok = result.failed == 0
    return result


def _display_name(item: dict[str, Any], name: str) -> str:
    url = str(item.get("final_url") or item.get("url") or "")
    tail = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1] if url else ""
    return tail if tail and "." in tail and len(tail) <= 120 else name
