"""Archive the media files of one post (or one evidence item) with their provenance.

One post = one transaction: its media and, for a channel walk, the `posts` row that marks
it done. A run killed in between leaves either both or neither, so a re-run archives the
post again from scratch, and sha256 keys make that idempotent (no duplicate, ever).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from osintkit.archive import provenance
from osintkit.archive.core import Archive
from osintkit.archive.ingest.model import IngestResult
from osintkit.archive.write import KnownFile
from osintkit.errors import ArchiveError, ErrorInfo


def _hashed(archive: Archive, path: Path, sha256: str | None) -> Any:
    """What write_records takes: a known item's sha256 only, or the file's full hashes."""
    from osintkit.match.hashfile import file_digests, hash_file

    sha = sha256 or file_digests(path)[0]
    if archive.knows(sha):  # re-archived copy: provenance merge only, no decoding
        return KnownFile(path, sha)
    return hash_file(path)


def write_media(archive: Archive, files: list[tuple[Path, str | None, str]],
                meta: dict[str, Any], result: IngestResult,
                post: dict[str, Any] | None = None) -> bool:
    """Archive `files` ([(path, sha256 or None, display name)]) with `meta` (source,
    first_seen, title, tags, source_url); mark `post` archived in the same transaction.

    Files that cannot be read are counted as failed (the source's fault: the post is still
    marked done). Returns False when the archive refused the write (nothing committed).
    """
    records = []
    for path, sha, name in files:
        res = _hashed(archive, path, sha)
        if not res.ok:
            result.count("failed")
            result.errors.append(res.error or ErrorInfo("corrupt", f"{path}: unreadable"))
            continue
        records.append((res, {**meta, "name": name, "origin": str(path.resolve())}))
    after = (lambda cur: provenance.record_post(archive.db, cur, post)) if post else None
    try:
        written = archive.write_records(records, after=after)
    except ArchiveError as exc:
        result.count("failed")
        result.errors.append(exc.info())
        return False
    for res in written:
        result.count(res.status)
    return True
