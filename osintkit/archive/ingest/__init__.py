"""Archive stage, intake: build the archive from where known material lives (issue 17).

    add_target(archive, "https://t.me/s/agency", opts)     # a channel's history (walk.py)
    add_target(archive, "https://t.me/agency/1234", opts)  # one post: fetch, then archive
    add_target(archive, "https://news.example/story", opts)  # an article: the same
    add_target(archive, "evidence-1/", opts)                # an evidence folder (evidence.py)

Every archived item keeps when it was first seen (the post's own time, or the best time
the evidence recorded), where (source_url: the post or page) and by whom (source: the
channel or the site). `read_url_list(path)` reads `--urls FILE`.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from osintkit import errors
from osintkit.archive.core import Archive
from osintkit.archive.ingest.evidence import add_evidence, evidence_dirs, is_evidence_dir
from osintkit.archive.ingest.model import (
    IngestOptions,
    IngestResult,
    Progress,
    parse_bound,
    trim_title,
)
from osintkit.archive.ingest.walk import ChannelRef, channel_ref, walk_channel
from osintkit.errors import ErrorInfo, InputError

_URL = re.compile(r"^https?://", re.IGNORECASE)

__all__ = ["ChannelRef", "IngestOptions", "IngestResult", "add_evidence", "add_target",
           "channel_ref", "default_evidence", "evidence_dirs", "is_evidence_dir", "is_url",
           "parse_bound",
           "read_url_list", "trim_title", "walk_channel"]


def is_url(target: str) -> bool:
    return bool(_URL.match(str(target)))


def _slug(url: str) -> str:
    parts = urlsplit(url)
    text = f"{parts.hostname or 'url'}{parts.path}"
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:80] or "url"


def default_evidence(url: str, base: Path | None = None) -> Path:
    """Where a URL's evidence goes: <--evidence DIR or ./archive-evidence>/<host-path>/
    (a channel: <host>-<channel>, the same folder on every run of its walk)."""
    ref = channel_ref(url)
    name = f"{urlsplit(ref.base).hostname}-{ref.channel}" if ref else _slug(url)
    return (base or Path("archive-evidence")) / name


def read_url_list(path: str | Path) -> list[str]:
    """`--urls FILE`: one URL per line; blank lines and `#` comments ignored."""
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise InputError(f"{p}: not UTF-8 text", code=errors.UNSUPPORTED) from None
    urls = []
    for n, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip() if line.lstrip().startswith("#") else line.strip()
        if not text:
            continue
        if not is_url(text):
            raise InputError(f"{p}: line {n}: not an http(s) URL: {text[:80]!r}",
                             code=errors.UNSUPPORTED)
        urls.append(text)
    return urls


def add_url(archive: Archive, url: str, opts: IngestOptions,
            progress: Progress | None = None) -> IngestResult:
    """A channel is walked; any other URL (a post, an article, a file) is fetched with the
    fetch stage into the evidence folder, whose claim media are then archived."""
    ref = channel_ref(url)
    evidence = default_evidence(url, opts.evidence)
    if ref is not None:
        from dataclasses import replace

        return walk_channel(archive, ref, replace(opts, evidence=evidence), progress)
    from osintkit.fetch import fetch

    cap = fetch(url, evidence, allow_private=opts.allow_private, max_bytes=opts.max_bytes,
                timeout=opts.timeout, proxy=opts.proxy, allow_networks=opts.allow_networks)
    kind = "post" if cap.page is not None and cap.page.kind == "telegram" else "page"
    if not any(i.ok for i in cap.claim_items):
        err = cap.error or next((i.error for i in cap.claim_items if i.error), None)
        return IngestResult(url, kind, ok=False, evidence=str(evidence), error=err or
                            ErrorInfo(errors.NOT_MEDIA, f"{url}: no media to archive"))
    res = add_evidence(archive, evidence, opts)
    res.target, res.kind = url, kind
    res.failed += sum(1 for i in cap.claim_items if not i.ok)
    res.errors += [i.error for i in cap.claim_items if i.error]
    res.ok = res.failed == 0
    return res


def _merged(target: str, parts: list[IngestResult]) -> IngestResult:
    out = IngestResult(target, "evidence", evidence=target)
    for part in parts:
        for name in ("added", "updated", "unchanged", "failed"):
            setattr(out, name, getattr(out, name) + getattr(part, name))
        out.notes += part.notes
        out.errors += part.errors
        out.saw_post(part.first_post)
        out.saw_post(part.last_post)
    out.ok = all(p.ok for p in parts)
    return out


def add_target(archive: Archive, target: str, opts: IngestOptions,
               progress: Progress | None = None) -> IngestResult:
    """One URL or evidence folder; never raises for the target's own failures."""
    try:
        if is_url(target):
            return add_url(archive, target, opts, progress)
        folders = evidence_dirs(target)
        if len(folders) == 1:
            return add_evidence(archive, folders[0], opts)
        if folders:  # a verify report: each URL's evidence folder
            return _merged(target, [add_evidence(archive, f, opts) for f in folders])
        return IngestResult(target, "evidence", ok=False, error=ErrorInfo(
            errors.NOT_FOUND, f"{target}: not a URL or an evidence folder (no manifest.json)"))
    except InputError as exc:
        return IngestResult(target, "evidence", ok=False, error=exc.info())
