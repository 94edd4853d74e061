"""Batch stage, step 2: resume keys. A claim's key hashes what its report depends on (its
record, its media bytes, the archive's version, the options, osintkit's version), so
`--resume` skips exactly the claims whose report would come out the same.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from osintkit import __version__
from osintkit.batch.manifest import Manifest, Row
from osintkit.fileio import sha256_file


def file_sha256(path: Path) -> str:
    """sha256 of a file, streamed; 'missing' when it cannot be read."""
    try:
        return sha256_file(path)
    except OSError:
        return "missing"


def media_digest(path: Path) -> str:
    """sha256 of a media file; of a folder, over its files' names and digests (recursive)."""
    if not path.is_dir():
        return file_sha256(path)
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(path):  # symlinked folders are not followed
        dirs.sort()
        for name in sorted(files):
            child = Path(root) / name
            digest.update(f"{child.relative_to(path).as_posix()}\0{file_sha256(child)}\n"
                          .encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def archive_version(db_url: str | None) -> dict[str, Any]:
    """What identifies the archive's content for --resume.

    The archive's own change counter (`meta.generation`, bumped by every write) and
    `archive_id`, for SQLite and PostgreSQL alike. Without them (an old or unreadable
    archive), an SQLite file's size and mtime; the WAL is left out on purpose: SQLite
    removes it when the last reader closes, which would make every claim look changed.
    """
    from osintkit.archive.store import connect, redact

    stamp: dict[str, Any] = {"url": redact(db_url) if db_url else None}
    path = sqlite_path(db_url)
    if path is not None and not path.exists():
        return stamp  # do not create an archive just to ask its version
    meta: dict[str, str] = {}
    with contextlib.suppress(Exception):  # unreachable or broken: each claim will say so
        store = connect(db_url, create=False)
        try:
            meta = store.meta()
        finally:
            store.close()
    if meta.get("generation") is not None:
        stamp.update(archive_id=meta.get("archive_id"), generation=meta["generation"])
    elif path is not None:
        st = path.stat()
        stamp.update(size=st.st_size, mtime_ns=st.st_mtime_ns)
    return stamp


def sqlite_path(db_url: str | None) -> Path | None:
    """The SQLite file behind `db_url` (None: the default archive); None for PostgreSQL."""
    from osintkit.archive.store import parse_url

    target = parse_url(db_url)
    return target.path.resolve() if target.path is not None else None


def resume_key(manifest: Manifest, row: Row, archive: dict[str, Any],
               verify: dict[str, Any]) -> str:
    """Hash of what a claim's report depends on: record, media bytes, archive, options."""
    media = [[str(p), media_digest(Path(p))] for p in row.claim.media]
    payload = {"record": row.record, "base": str(row_source(manifest, row).parent.resolve()),
               "media": media, "archive": archive, "verify": verify, "osintkit": __version__}
    blob = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def row_source(manifest: Manifest, row: Row) -> Path:
    """The file a row's claim came from: its claim file, else the manifest (media paths
    are relative to its folder)."""
    return row.source or manifest.path


def report_files(verify: dict[str, Any]) -> list[str]:
    """The report file names `verify` writes with these options."""
    from osintkit.report.render import FILE_NAMES
    from osintkit.verify import VerifyOptions

    formats = verify.get("formats") or VerifyOptions().formats
    return [FILE_NAMES[f] for f in formats]
