"""Report stage: the archive a verification searched, described for the case file.

Every report states which archive it searched, so "no match" can be weighed: an empty
archive, an archive from last year, or none at all cannot show that media is recycled.
`describe(archive)` reads what identifies the archive's content; `reasons(info)` gives
the verdict's notes when the archive was not searched or holds nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def describe(archive: Any, robust: bool) -> dict[str, Any]:
    """Identity and content of an open `Archive`: what the report's archive block shows.

    Keys: identity (file path, or the URL without its password), name, engine, items,
    kinds, first_seen {min, max}, schema_version, archive_id, generation (the change
    counter), modified_at (SQLite: the file's last change), subviews (images whose crops
    can be found), robust (the robust path was used: local-feature candidates, geometric
    confirmation, copy or scene; False with --fast).
    """
    target = archive.db.target
    stats = archive.stats()
    meta = archive.db.meta()
    subviews = archive.db.query("SELECT COUNT(DISTINCT item_id) FROM views")[0][0]
    return {
        "identity": target.display,
        "name": target.path.name if target.path is not None else _pg_name(target.url),
        "engine": stats.get("engine"),
        "items": int(stats.get("items") or 0),
        "kinds": {k: int(v) for k, v in sorted((stats.get("kinds") or {}).items())},
        "first_seen": {"min": stats.get("first_seen_min"), "max": stats.get("first_seen_max")},
        "schema_version": stats.get("schema_version"),
        "archive_id": meta.get("archive_id"),
        "generation": _int(meta.get("generation")),
        "modified_at": _modified(target.path),
        "subviews": int(subviews or 0),
        "robust": bool(robust),
    }


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _pg_name(url: str) -> str:
    tail = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return tail or url


def _modified(path: Path | None) -> str | None:
    """Last change of an SQLite archive: its file or its write-ahead log, whichever is later."""
    if path is None:
        return None
    times = []
    for p in (path, path.with_name(path.name + "-wal")):
        try:
            times.append(p.stat().st_mtime)
        except OSError:
            continue
    if not times:
        return None
    return datetime.fromtimestamp(max(times), UTC).isoformat(timespec="seconds")


def reasons(info: dict[str, Any], media_checked: int) -> list[str]:
    """Verdict notes: the archive was not searched, or was empty (nothing could match)."""
    if not media_checked:
        return []
    if not info.get("searched"):
        why = info.get("error") or info.get("skipped") or "no archive given"
        return [f"Archive not searched: {why}. Recycled media could not be detected."]
    if not info.get("items"):
        return [f"Archive searched but empty ({info.get('identity')}): recycled media could "
                "not be detected."]
    return []


def summary_line(info: dict[str, Any]) -> str:
    """One line for terminals and Markdown: which archive, how big, how recent."""
    if not info.get("searched"):
        why = info.get("error") or info.get("skipped") or "not searched"
        return f"archive: not searched ({why})"
    kinds = ", ".join(f"{n} {k}" for k, n in (info.get("kinds") or {}).items()) or "empty"
    seen = info.get("first_seen") or {}
    span = f", first seen {seen.get('min')} to {seen.get('max')}" if seen.get("min") else ""
    mode = ("robust (views, local features, copy or scene)" if info.get("robust")
            else "fast (hash views only)")
    return (f"archive: {info.get('identity')} ({info.get('items', 0)} items: {kinds}{span}; "
            f"schema v{info.get('schema_version')}, change {info.get('generation')}; "
            f"search {mode})")
