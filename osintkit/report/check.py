"""Report stage: re-verify a report folder (`osintkit evidence check REPORT_DIR`).

A report folder holds report.json (and .html, .md), `report.sha256` with every report
file's sha256 (written by `render.write_report`), the evidence folders of fetched URLs
and the custody block inside report.json. The check:

1. recomputes each file listed in report.sha256: changed or missing files fail;
2. re-verifies every evidence folder (`evidence/`, `evidence-2/`...) with the fetch
   stage's own check (manifest, custody.log chain);
3. re-hashes the local originals named in report.json's custody block: an original whose
   bytes changed since intake fails; one that moved away is only noted.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from osintkit import errors
from osintkit.errors import ErrorInfo, InputError
from osintkit.fileio import sha256_file
from osintkit.report.render import SHA256_FILE

_LINE = re.compile(r"^([0-9a-f]{64}) [ *](.+)$")


@dataclass
class ReportCheck:
    """The result of re-verifying a report folder."""

    path: Path
    ok: bool = True
    checked: int = 0  # report files whose sha256 matches
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    evidence: dict[str, dict[str, Any]] = field(default_factory=dict)  # folder -> result
    originals: list[dict[str, Any]] = field(default_factory=list)  # media, path, status
    problems: list[str] = field(default_factory=list)
    report_sha256: str | None = None
    error: ErrorInfo | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"] = str(self.path)
        d["kind"] = "report"
        d["error"] = self.error.to_dict() if self.error else None
        return d


def is_report_folder(path: str | Path) -> bool:
    """True for a folder written by `osintkit verify` (it holds report.sha256)."""
    return (Path(path) / SHA256_FILE).is_file()


def _listed(root: Path) -> list[tuple[str, str]]:
    try:
        text = (root / SHA256_FILE).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{root / SHA256_FILE}: unreadable ({exc})",
                         code=errors.CORRUPT) from None
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        m = _LINE.match(line.strip())
        if not m:
            raise InputError(f"{root / SHA256_FILE}: line {n} is not `<sha256>  <file>`",
                             code=errors.CORRUPT)
        name = m.group(2)
        if "/" in name or "\\" in name or name in (".", ".."):
            raise InputError(f"{root / SHA256_FILE}: line {n} names a file outside the folder",
                             code=errors.CORRUPT)
        out.append((m.group(1), name))
    return out


def check_report_folder(root: str | Path) -> ReportCheck:
    """Re-verify a report folder (see the module docstring). Raises InputError when the
    folder holds no report.sha256 or it cannot be read."""
    root = Path(root)
    if not is_report_folder(root):
        raise InputError(f"{root}: not a report folder (no {SHA256_FILE})",
                         code=errors.NOT_FOUND)
    res = ReportCheck(root)
    for digest, name in _listed(root):
        path = root / name
        if not path.is_file():
            res.missing.append(name)
        elif sha256_file(path) != digest:
            res.changed.append(name)
        else:
            res.checked += 1
        if name == "report.json":
            res.report_sha256 = digest
    if res.report_sha256 is None:
        res.problems.append(f"{SHA256_FILE} does not list report.json")
    _check_evidence(root, res)
    _check_originals(root, res)
    res.ok = not (res.changed or res.missing or res.problems)
    if not res.ok:
        parts = [f"{len(v)} {k}" for k, v in (("changed", res.changed),
                                              ("missing", res.missing)) if v]
        res.error = ErrorInfo(errors.CORRUPT, f"{root}: report folder does not match "
                                              f"{SHA256_FILE}: {'; '.join(parts + res.problems)}")
    return res


def _check_evidence(root: Path, res: ReportCheck) -> None:
    from osintkit.fetch import check_evidence

    for folder in sorted(p for p in root.iterdir() if p.is_dir() and
                         re.fullmatch(r"evidence(-\d+)?", p.name)):
        if not (folder / "manifest.json").is_file():
            continue
        try:
            got = check_evidence(folder)
        except InputError as exc:
            res.problems.append(f"{folder.name}: {exc.message}")
            continue
        res.evidence[folder.name] = got.to_dict()
        if not got.ok:
            res.problems.append(f"{folder.name}: "
                                f"{got.error.message if got.error else 'does not match'}")


def _check_originals(root: Path, res: ReportCheck) -> None:
    """Local originals named in report.json's custody block, re-hashed."""
    if "report.json" in res.changed or "report.json" in res.missing:
        return  # a report that changed cannot vouch for anything
    try:
        data = json.loads((root / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    for entry in (data.get("custody") or {}).get("media") or []:
        path, want = entry.get("original_path"), entry.get("sha256")
        if entry.get("origin") != "local" or not path or not want:
            continue
        p = Path(path)
        if not p.is_file():
            status = "moved or deleted (not checked)"
        elif sha256_file(p) == want:
            status = "unchanged"
        else:
            status = "changed since intake"
            res.problems.append(f"{entry.get('media')}: original {path} changed since intake")
        res.originals.append({"media": entry.get("media"), "path": path, "status": status})


def render_check(res: ReportCheck) -> str:
    """Terminal lines: intact (stdout) or each problem (the caller exits 1)."""
    import click

    if res.ok:
        lines = [f"{res.path}: intact ({res.checked} report files match {SHA256_FILE}; "
                 f"report.json sha256 {res.report_sha256})"]
        lines += [f"  evidence {name}: intact ({got.get('checked')} files)"
                  for name, got in res.evidence.items()]
        lines += [f"  original {o['media']}: {o['status']} ({o['path']})"
                  for o in res.originals]
        return "\n".join(lines) + "\n"
    for kind in ("changed", "missing"):
        for name in getattr(res, kind):
            click.echo(f"Error: {res.path}/{name}: {kind} since the report was written",
                       err=True)
    for problem in res.problems:
        click.echo(f"Error: {res.path}: {problem}", err=True)
    return ""
