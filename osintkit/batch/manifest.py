"""Batch stage, step 1: read a manifest of claims (YAML list, JSON array, JSON Lines, CSV),
or claim files themselves (`osintkit batch claims/*.yaml`).

Every entry becomes a `Row`: a Claim built by `claim.claim_from_dict`, or the one-line
reason (with the line number) why it could not be. An entry may also be the path of a
claim file (a YAML/JSON string, a CSV `claim_file` cell, a line of a .txt list), relative
to the manifest: its media are then relative to the claim file. Only an unusable file
raises.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from osintkit.batch.formats import READERS, manifest_format
from osintkit.claim import claim_from_dict
from osintkit.errors import ErrorInfo, InputError, one_line

INVALID_ROW = "invalid_row"
MAX_MANIFEST_BYTES = 100_000_000


@dataclass
class Row:
    """One manifest entry: a claim record that parsed, or the reason it did not."""

    line: int
    id: str
    record: dict[str, Any] | None = None
    claim: Any = None  # osintkit.claim.Claim
    error: ErrorInfo | None = None
    source: Path | None = None  # the claim file the record came from (media relative to it)


@dataclass
class Manifest:
    """A parsed manifest: its rows in file order."""

    path: Path
    format: str  # "yaml" | "json" (an array) | "jsonl" | "csv" | "txt" | "claims"
    rows: list[Row]
    name: str = ""  # the batch's name (JUnit <testsuites name>): the manifest's stem

    @property
    def good(self) -> list[Row]:
        return [r for r in self.rows if r.error is None]

    @property
    def bad(self) -> list[Row]:
        return [r for r in self.rows if r.error is not None]


def read_manifest(path: str | Path) -> Manifest:
    """Parse a YAML list, JSON array, JSON Lines or CSV manifest; bad rows keep their error.

    Raises InputError (exit 2) only when the file as a whole is unusable.
    """
    path = Path(path)
    text = _read_text(path)
    fmt = manifest_format(path, text)
    rows = [_row(path, line, rec) for line, rec in READERS[fmt](path, text)]
    _mark_duplicates(path, rows)
    if not rows:
        raise InputError(f"{path}: manifest holds no claims", code="empty")
    return Manifest(path, fmt, rows, path.stem)


def read_sources(paths: list[str | Path]) -> Manifest:
    """What `osintkit batch` was given: one manifest, or claim files (and manifests).

    A claim file (a YAML/JSON mapping, not a list) is one row, numbered by its position
    on the command line; a manifest among several paths adds its rows.
    Raises InputError when nothing usable was given.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise InputError("nothing to run: give a manifest or claim files", code="empty")
    if len(paths) == 1 and not is_claim_path(paths[0]):
        return read_manifest(paths[0])
    rows: list[Row] = []
    for n, p in enumerate(paths, 1):
        if is_claim_path(p):
            rows.append(_claim_file_row(p, n, p))
        else:
            rows.extend(read_manifest(p).rows)
    base = Path(os.path.commonpath([str(p.resolve().parent) for p in paths]))
    _mark_duplicates(base, rows)
    return Manifest(base, "claims", rows, base.name or "claims")


def is_claim_path(path: Path) -> bool:
    """A claim file (one mapping) rather than a manifest (a list of claims)?"""
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".json") or not path.is_file():
        return False
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as fh:
            head = fh.read(65536)
    except OSError:
        return False
    body = "\n".join(line for line in head.splitlines()
                     if line.strip() and not line.lstrip().startswith("#"))
    if suffix == ".json":
        return body.lstrip().startswith("{") and "\n{" not in body.strip()[1:] and \
            _json_mapping(path)
    first = body.lstrip()[:1]
    return bool(body) and first not in ("-", "[") and not re.search(r"^claims\s*:", body,
                                                                     re.MULTILINE)


def _json_mapping(path: Path) -> bool:
    try:
        return isinstance(json.loads(path.read_text(encoding="utf-8-sig")), dict)
    except (OSError, ValueError, RecursionError):
        return False


def _claim_file_row(claim_path: Path, line: int, where: Path) -> Row:
    """A row from a claim file: the record is its mapping, media relative to it."""
    from osintkit.claim import read_mapping

    default_id = claim_path.stem
    try:
        rec = read_mapping(claim_path)
        claim_id = str(rec.get("id") or default_id)
        claim = claim_from_dict(rec, base_dir=claim_path.parent, default_id=claim_id,
                                source=claim_path)
        if not claim.urls and not claim.media:
            raise ValueError("nothing to verify: give urls or media")
        json.dumps(rec)
    except InputError as exc:
        return Row(line, default_id, error=ErrorInfo(INVALID_ROW, exc.message),
                   source=claim_path)
    except Exception as exc:
        return Row(line, default_id, error=ErrorInfo(INVALID_ROW, f"{claim_path}: "
                                                     f"{one_line(exc)}"), source=claim_path)
    rec = {**rec, "id": claim_id}
    return Row(line, claim_id, rec, claim, source=claim_path)


def _read_text(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise InputError(f"{path}: manifest is larger than {MAX_MANIFEST_BYTES} bytes "
                             "(split it)", code="too_large")
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: manifest not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read manifest: {exc.strerror or exc}",
                         code="unreadable") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: manifest is not UTF-8 text (byte {exc.start})",
                         code="invalid_manifest") from None


def _row(path: Path, line: int, rec: Any) -> Row:
    default_id = f"line-{line}"
    if isinstance(rec, Exception):
        return Row(line, default_id, error=_row_error(path, line, rec))
    if isinstance(rec, str):  # the path of a claim file, relative to the manifest
        target = Path(rec).expanduser()
        row = _claim_file_row(target if target.is_absolute() else path.parent / target,
                              line, path)
        if row.error is not None:
            row.error = ErrorInfo(INVALID_ROW, f"{path}: line {line}: {row.error.message}")
        return row
    if not isinstance(rec, dict):
        err = ValueError("a claim is a mapping (id, claimed_at, place, urls, media, ...) "
                         "or the path of a claim file")
        return Row(line, default_id, error=_row_error(path, line, err))
    claim_id = str(rec.get("id") or default_id)
    try:
        claim = claim_from_dict(rec, base_dir=path.parent, default_id=claim_id, source=path)
        if not claim.urls and not claim.media:
            raise ValueError("nothing to verify: give urls or media")
        json.dumps(rec)  # tasks travel as JSON: no YAML sets, binaries or odd keys

    except Exception as exc:  # any bad value is this row's error; the others still run
        return Row(line, claim_id, rec, error=_row_error(path, line, exc))
    return Row(line, claim_id, rec, claim)


def _row_error(path: Path, line: int, exc: Exception) -> ErrorInfo:
    return ErrorInfo(INVALID_ROW, f"{path}: line {line}: {one_line(exc)}")


def _mark_duplicates(path: Path, rows: list[Row]) -> None:
    seen: dict[str, int] = {}
    for row in rows:
        if row.error:
            continue
        folder = folder_name(row.id).lower()  # case-insensitive file systems
        if folder in seen:
            row.error = ErrorInfo(INVALID_ROW, f"{path}: line {row.line}: duplicate id "
                                  f"{row.id!r} (first at line {seen[folder]})")
        else:
            seen[folder] = row.line


def folder_name(claim_id: str) -> str:
    """A safe folder name for a claim id (ids come from untrusted manifests)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", claim_id).strip("._")[:120]
    return name or "claim"
