"""`osintkit evidence seal DIR [--tsa URL]`: an RFC 3161 timestamp over the evidence.

The statement sealed is the sha256 of manifest.json and of custody.log as it stands
(its first N lines: later lines, such as `evidence check` entries, are allowed and
reported as unsealed). A timestamp authority (TSA) signs the statement's digest with
its time; the token goes into the folder (`seal-<n>.tsr`) and `seal.json` records the
statement, the TSA, its time and its certificate's fingerprint. `evidence check` then
recomputes the statement and verifies the token (openssl ts -verify), so rewriting a
media file, the manifest and the whole hash chain, or deleting the last custody line,
is caught: a forger would need a new token, which carries a later time.

The token's signature is checked against the TSA certificate it carries; with
`--tsa-ca FILE` (check) the chain is verified to that trusted CA as well.
Requests and replies use the openssl command-line tool (openssl 3).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from osintkit import errors
from osintkit.errors import FetchError, InputError
from osintkit.fetch.evidence import CUSTODY, MANIFEST, EvidenceDir
from osintkit.fetch.http import HttpClient, now_utc
from osintkit.fileio import atomic_write

SEAL = "seal.json"
DEFAULT_TSA = "https://freetsa.org/tsr"
SEAL_FILE = re.compile(r"^seal(-\d+\.tsr)?(\.json)?$")


def _openssl() -> str:
    found = shutil.which("openssl")
    if not found:
        raise InputError("openssl is needed to seal and verify evidence (install openssl)",
                         code=errors.UNSUPPORTED)
    return found


def statement(root: Path, custody_lines: int | None = None) -> dict[str, Any]:
    """The digests a seal covers: manifest.json, and custody.log's first N lines."""
    lines = (root / CUSTODY).read_bytes().splitlines(keepends=True) \
        if (root / CUSTODY).exists() else []
    n = len(lines) if custody_lines is None else custody_lines
    return {"manifest.json": hashlib.sha256((root / MANIFEST).read_bytes()).hexdigest(),
            "custody.log": {"lines": n,
                            "sha256": hashlib.sha256(b"".join(lines[:n])).hexdigest()}}


def statement_digest(stmt: dict[str, Any]) -> str:
    """sha256 of the statement's canonical JSON: what the TSA signs."""
    data = json.dumps(stmt, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(data).hexdigest()


def _run(args: list[str], what: str) -> str:
    proc = subprocess.run(args, capture_output=True, timeout=60, check=False)
    if proc.returncode != 0:
        detail = " ".join((proc.stderr or proc.stdout).decode("utf-8", "replace").split())
        raise FetchError(f"{what}: {detail[:300] or 'openssl failed'}", code=errors.CORRUPT)
    return proc.stdout.decode("utf-8", "replace")


def _token_info(tsr: Path) -> dict[str, str | None]:
    text = _run([_openssl(), "ts", "-reply", "-in", str(tsr), "-text"], f"{tsr.name}: unreadable")
    status = re.search(r"Status:\s*(.+)", text)
    when = re.search(r"Time stamp:\s*(.+)", text)
    return {"status": status.group(1).strip() if status else None,
            "time": when.group(1).strip() if when else None}


def seal_evidence(directory: str | os.PathLike[str], tsa: str = DEFAULT_TSA, *,
                  allow_private: bool = False, timeout: float = 30.0,
                  proxy: str | None = None) -> dict[str, Any]:
    """Timestamp the evidence folder's statement at `tsa`; returns the seal record.

    Raises InputError (not evidence, no openssl) or FetchError (the TSA failed).
    """
    root = Path(directory)
    if not (root / MANIFEST).is_file():
        raise InputError(f"{root}: not an evidence directory (no {MANIFEST})",
                         code=errors.NOT_FOUND)
    stmt = statement(root)
    digest = statement_digest(stmt)
    with tempfile.TemporaryDirectory(prefix="osintkit-seal-") as tmp:
        tsq = Path(tmp) / "req.tsq"
        _run([_openssl(), "ts", "-query", "-digest", digest, "-sha256", "-cert",
              "-out", str(tsq)], "timestamp request")
        with HttpClient(allow_private=allow_private, timeout=timeout, proxy=proxy,
                        retries=0) as client:
            status, _headers, body = client.post(tsa, tsq.read_bytes(),
                                                "application/timestamp-query")
        if status != 200 or not body:
            raise FetchError(f"{tsa}: the timestamp authority answered HTTP {status}",
                             code=errors.NETWORK)
        seals = _load(root).get("seals", [])
        token = f"seal-{len(seals) + 1}.tsr"
        tsr = Path(tmp) / token
        tsr.write_bytes(body)
        info = _token_info(tsr)
        if not (info["status"] or "").lower().startswith("granted"):
            raise FetchError(f"{tsa}: timestamp not granted ({info['status'] or 'no status'})",
                             code=errors.NETWORK)
        _verify_token(tsr, digest, None)  # it covers our digest and its signature holds
        shutil.move(str(tsr), root / token)
    record = {"token": token, "tsa": tsa, "sealed_at": now_utc(), "tsa_time": info["time"],
              "statement": stmt, "digest": digest, "algorithm": "sha256"}
    seals.append(record)
    atomic_write(root / SEAL, (json.dumps({"seals": seals}, indent=2) + "\n").encode())
    EvidenceDir(root).append_custody("seal", {"dir": str(root), "tsa": tsa},
                                     {"token": token, "digest": digest,
                                      "tsa_time": info["time"]})
    return record


def _load(root: Path) -> dict[str, Any]:
    path = root / SEAL
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"broken": True}
    return data if isinstance(data, dict) else {"broken": True}


def check_seal(root: Path, tsa_ca: str | None = None) -> dict[str, Any] | None:
    """Verify the latest seal: statement vs the folder now, token vs statement and CA.

    None when the folder was never sealed; else {"ok", "problems", "time", "tsa", ...}.
    """
    data = _load(root)
    if not data:
        return None
    problems: list[str] = []
    seals = data.get("seals") if isinstance(data.get("seals"), list) else []
    if data.get("broken") or not seals or not isinstance(seals[-1], dict):
        return {"ok": False, "problems": [f"{SEAL} is unreadable"]}
    last = seals[-1]
    stmt = last.get("statement") or {}
    lines = (stmt.get("custody.log") or {}).get("lines")
    now = statement(root, lines if isinstance(lines, int) else None)
    if now["manifest.json"] != stmt.get("manifest.json"):
        problems.append(f"{MANIFEST} changed since it was sealed")
    if now["custody.log"] != stmt.get("custody.log"):
        problems.append(f"{CUSTODY} changed since it was sealed (a sealed line was edited "
                        "or removed)")
    token = str(last.get("token") or "")
    out: dict[str, Any] = {"ok": False, "tsa": last.get("tsa"), "time": last.get("tsa_time"),
                           "token": token, "seals": len(seals), "problems": problems}
    if not SEAL_FILE.match(token) or not (root / token).is_file():
        problems.append(f"the seal's token {token!r} is missing")
        return out
    digest = statement_digest(stmt)
    if digest != last.get("digest"):
        problems.append(f"{SEAL} was edited (its statement does not match its digest)")
    try:
        _verify_token(root / token, digest, tsa_ca)
    except FetchError as exc:
        problems.append(f"the timestamp token does not verify: {exc.message}")
    total = len((root / CUSTODY).read_bytes().splitlines()) if (root / CUSTODY).exists() else 0
    out["unsealed_custody_lines"] = max(0, total - (lines or 0))
    out["ok"] = not problems
    return out


def _verify_token(tsr: Path, digest: str, tsa_ca: str | None) -> None:
    """openssl ts -verify against `tsa_ca`, or against the TSA certificate in the token."""
    with tempfile.TemporaryDirectory(prefix="osintkit-verify-") as tmp:
        ca = tsa_ca
        if ca is None:  # the token's own certificates: signature and imprint, no trust anchor
            token = Path(tmp) / "token.der"
            certs = Path(tmp) / "certs.pem"
            _run([_openssl(), "ts", "-reply", "-in", str(tsr), "-token_out", "-out",
                  str(token)], "token")
            _run([_openssl(), "pkcs7", "-inform", "DER", "-in", str(token), "-print_certs",
                  "-out", str(certs)], "token certificates")
            if not certs.read_text().strip():
                raise FetchError("the token carries no TSA certificate (use --tsa-ca)",
                                 code=errors.CORRUPT)
            ca = str(certs)
        args = [_openssl(), "ts", "-verify", "-digest", digest, "-in", str(tsr),
                "-CAfile", ca]
        if tsa_ca is None:
            args.insert(-2, "-partial_chain")
        _run(args, "verification")
