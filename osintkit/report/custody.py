"""Report stage: chain of custody, so a report can go into a case file.

For media given as local paths, `intake(path)` records what was received before anything
reads it: the original path, size, sha256 and md5, and the time. Media fetched from URLs
already have their custody in the evidence folder (`evidence/manifest.json`,
`custody.log`); the block points to it. `block(...)` adds who ran the verification
(`--analyst`, or the claim file's `analyst`), the case number (`--case` or `case`), the
machine's user and host, and the claim file's own sha256.
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from osintkit import __version__
from osintkit.fetch.evidence import account


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def intake(path: Path) -> dict[str, Any] | None:
    """Original path, size, sha256, md5 and time of a local file at intake (None: unreadable)."""
    from osintkit.match.hashfile import file_digests

    try:
        size = path.stat().st_size
        sha256, md5 = file_digests(path)
    except OSError:
        return None
    return {"original_path": os.path.abspath(path), "size": size, "sha256": sha256,
            "md5": md5, "intake_at": now_utc()}


def file_sha256(path: Path | None) -> str | None:
    """sha256 of a small file (the claim file), None when it cannot be read."""
    from osintkit.fileio import sha256_file

    if path is None:
        return None
    try:
        return sha256_file(path)
    except OSError:
        return None


def block(claim: Any, media: list[Any], intakes: dict[str, dict[str, Any]],
          analyst: str | None, case: str | None, started_at: str) -> dict[str, Any]:
    """The report's `custody` block: case, operator, claim file, and one entry per media item.

    `intakes` maps a media id to its `intake()` record (local files); fetched items point
    to their evidence file and URL instead.
    """
    items = []
    for m in media:
        if m.id in intakes:
            items.append({"media": m.id, "origin": "local", **intakes[m.id]})
        elif m.fetched is not None:
            fetched = m.fetched
            items.append({"media": m.id, "origin": "fetched", "url": m.source_url,
                          "evidence_file": str(m.path) if m.path else None,
                          "size": getattr(fetched, "size", None),
                          "sha256": getattr(fetched, "sha256", None),
                          "fetched_at": getattr(fetched, "fetched_at", None)})
        else:
            items.append({"media": m.id, "origin": "local",
                          "original_path": os.path.abspath(m.path) if m.path else None,
                          "error": m.error.message if m.error else "not read at intake"})
    source = getattr(claim, "source", None)
    return {
        "case": case or getattr(claim, "case", None),
        "analyst": analyst or getattr(claim, "analyst", None),
        "os_user": account(), "host": socket.gethostname(),
        "tool": f"osintkit {__version__}",
        "started_at": started_at,
        "claim_file": ({"path": os.path.abspath(source), "sha256": file_sha256(source)}
                       if source else None),
        "media": items,
    }
