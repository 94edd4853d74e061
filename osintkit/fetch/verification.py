"""Fetch stage, afterwards: is an evidence directory still what was captured?

`check_evidence(dir)` recomputes every hash of the manifest, reports changed, missing and
added files and manifest entries that point outside the folder, walks the custody chain
and verifies the latest RFC 3161 seal (seal.py). It sits above evidence.py and seal.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from osintkit import errors
from osintkit.errors import ErrorInfo, InputError
from osintkit.fetch.evidence import BOOK_KEEPING, CUSTODY, MANIFEST, WARC, EvidenceDir
from osintkit.fetch.seal import SEAL, SEAL_FILE, check_seal
from osintkit.fileio import file_hashes
from osintkit.safeload import load_json


@dataclass
class EvidenceCheck:
    """The result of re-verifying an evidence directory."""

    path: Path
    ok: bool = True
    checked: int = 0
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    custody: list[str] = field(default_factory=list)  # problems with custody.log
    unsafe: list[str] = field(default_factory=list)  # manifest names outside the folder
    seal: dict[str, Any] | None = None  # the latest RFC 3161 seal, verified (None: unsealed)
    error: ErrorInfo | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"] = str(self.path)
        d["error"] = self.error.to_dict() if self.error else None
        return d


def _sealed_files(root: Path) -> set[str]:
    """seal.json and the token files it names (book-keeping of `evidence seal`)."""
    out = {SEAL} if (root / SEAL).exists() else set()
    try:
        data = json.loads((root / SEAL).read_text(encoding="utf-8")) if out else {}
        for seal in data.get("seals") or []:
            token = str(seal.get("token") or "") if isinstance(seal, dict) else ""
            if SEAL_FILE.match(token):
                out.add(token)
    except (OSError, ValueError, AttributeError):
        pass
    return out


def _custody_problems(root: Path, manifest_sha: str) -> list[str]:
    path = root / CUSTODY
    if not path.exists():
        return [f"{CUSTODY} is missing"]
    problems, prev, last_manifest = [], None, None
    for n, line in enumerate(path.read_bytes().splitlines(), 1):
        try:
            entry = load_json(line.decode("utf-8"))
            if not isinstance(entry, dict):
                raise ValueError("not an object")
        except ValueError:
            problems.append(f"{CUSTODY} line {n} is not JSON")
            prev = hashlib.sha256(line).hexdigest()
            continue
        if entry.get("prev") != prev:
            problems.append(f"{CUSTODY} line {n} does not follow line {n - 1} "
                            "(a line was edited, removed or inserted)")
        prev = hashlib.sha256(line).hexdigest()
        last_manifest = entry.get("manifest_sha256") or last_manifest
    if last_manifest != manifest_sha:
        problems.append(f"{MANIFEST} differs from the one recorded in {CUSTODY}")
    return problems


def _unsafe_name(name: str) -> bool:
    """A manifest file name that is not a plain file in the folder ("../x", "/etc/x")."""
    return (not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name
            or os.path.isabs(name) or name != os.path.basename(name))


def _check_files(root: Path, manifest: dict[str, Any],
                 result: EvidenceCheck) -> dict[str, dict[str, Any]]:
    """Hash every file the manifest lists (never one outside the folder); the safe ones."""
    files: dict[str, dict[str, Any]] = manifest.get("files") or {}
    if not isinstance(files, dict):
        files = {}
    for name in sorted(files):
        if _unsafe_name(str(name)):
            result.unsafe.append(str(name))
    files = {k: v if isinstance(v, dict) else {} for k, v in files.items()
             if str(k) not in result.unsafe}
    for name, rec in sorted(files.items()):
        path = root / name
        if not path.is_file():
            result.missing.append(name)
            continue
        result.checked += 1
        actual = file_hashes(path)
        stem = name.split(".", 1)[0]
        named_by_hash = len(stem) == 64 and name != WARC
        if actual["sha256"] != rec.get("sha256") or (named_by_hash and stem != actual["sha256"]):
            result.changed.append(name)
    return files


def check_evidence(root: str | os.PathLike[str], tsa_ca: str | None = None) -> EvidenceCheck:
    """Recompute every hash in an evidence directory; report changed/missing/added files,
    manifest entries pointing outside the folder (never opened), and verify the seal.

    Raises InputError when the directory holds no manifest.json.
    """
    root = Path(root)
    if not (root / MANIFEST).is_file():
        raise InputError(f"{root}: not an evidence directory (no {MANIFEST})",
                         code=errors.NOT_FOUND)
    manifest = EvidenceDir(root).load_manifest() or {}
    result = EvidenceCheck(root)
    files = _check_files(root, manifest, result)
    sealed = _sealed_files(root)
    for path in sorted(root.iterdir()):  # dot-files and leftovers included
        name = path.name
        if name in files or name in BOOK_KEEPING or name in sealed:
            continue
        result.added.append(name)
    manifest_sha = hashlib.sha256((root / MANIFEST).read_bytes()).hexdigest()
    result.custody = _custody_problems(root, manifest_sha)
    result.seal = check_seal(root, tsa_ca)
    seal_bad = result.seal is not None and not result.seal.get("ok")
    result.ok = not (result.changed or result.missing or result.added or result.custody
                     or result.unsafe or seal_bad)
    if not result.ok:
        parts = [f"{len(v)} {k}" for k, v in (("changed", result.changed),
                                              ("missing", result.missing),
                                              ("added", result.added)) if v]
        parts += [f"manifest entry {n!r} points outside the folder (not opened)"
                  for n in result.unsafe]
        parts += result.custody
        if seal_bad and result.seal is not None:
            parts += [f"seal: {p}" for p in result.seal.get("problems") or []]
        result.error = ErrorInfo(errors.CORRUPT, f"{root}: evidence does not match its "
                                                 f"manifest: {'; '.join(parts)}")
    with contextlib.suppress(OSError):  # a read-only copy can still be checked
        EvidenceDir(root).append_custody(
            "check", {"dir": str(root)}, {"ok": result.ok, "changed": result.changed,
                                          "missing": result.missing, "added": result.added})
    return result
