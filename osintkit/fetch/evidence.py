"""Fetch stage, last step: the evidence directory, kept so it stands up later.

Layout of an evidence directory:
  <sha256>.<ext>     every media file (and the page as <sha256>.html), named by content
  capture.warc.gz    every request and response (warcio), appended on each re-fetch
  manifest.json      what was fetched, from where, when; sizes and hashes of every file
  custody.log        JSON Lines, append-only: who did what when, with which tool version,
                     the hashes in and out; each line carries the sha256 of the line before
                     (`prev`), so an edited or removed line breaks the chain.
`check_evidence(dir)` (verification.py) recomputes every hash and reports changed, missing
and added files.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import os
import socket
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from osintkit import __version__, errors
from osintkit.errors import InputError
from osintkit.fetch.http import Exchange, now_utc
from osintkit.fileio import atomic_write
from osintkit.redact import redact_obj
from osintkit.safeload import load_json

MANIFEST = "manifest.json"
WARC = "capture.warc.gz"
CUSTODY = "custody.log"
SCHEMA_VERSION = 1
TOOL = f"osintkit {__version__}"
BOOK_KEEPING = frozenset({MANIFEST, CUSTODY})

EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "TIFF": "tif",
              "BMP": "bmp", "HEIF": "heic", "AVIF": "avif", "MP4": "mp4", "MOV": "mov",
              "3GP": "3gp", "MKV": "mkv", "WEBM": "webm", "AVI": "avi", "FLV": "flv"}




# ------------------------------------------------------------------ WARC
class WarcRecorder:
    """Writes each Exchange as WARC request/response records (gzip members, appended)."""

    def __init__(self, path: Path, capture_url: str) -> None:
        from warcio.warcwriter import WARCWriter

        self.path = path
        self._fh: BinaryIO = path.open("ab")
        self._writer = WARCWriter(self._fh, gzip=True, warc_version="1.1")
        info = self._writer.create_warcinfo_record(path.name, {
            "software": TOOL, "format": "WARC File Format 1.1",
            "description": f"osintkit fetch {capture_url}",
            "isPartOf": capture_url})
        self._writer.write_record(info)

    def __call__(self, ex: Exchange) -> None:
        from warcio.statusandheaders import StatusAndHeaders

        date = {"WARC-Date": ex.started_at.replace(".000000Z", "Z")}
        parts = urlsplit(ex.url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        req_headers = StatusAndHeaders(f"{ex.method} {target} {ex.http_version}",
                                       [("Host", parts.netloc), *ex.request_headers],
                                       is_http_request=True)
        req = self._writer.create_warc_record(ex.url, "request", http_headers=req_headers,
                                              warc_headers_dict=dict(date))
        if ex.status is None:
            self._writer.write_record(req)
            self._metadata(ex, req, date)
            return
        self._response(ex, req, date)

    def _response(self, ex: Exchange, req: Any, date: dict[str, str]) -> None:
        from warcio.statusandheaders import StatusAndHeaders

        size = ex.body_path.stat().st_size if ex.body_path and ex.body_path.exists() else 0
        # The payload is stored de-chunked, so the transfer encoding no longer applies.
        headers = [(k, v) for k, v in ex.response_headers if k.lower() != "transfer-encoding"]
        if not any(k.lower() == "content-length" for k, _ in headers):
            headers.append(("Content-Length", str(size)))
        http = StatusAndHeaders(f"{ex.status} {ex.reason}".rstrip(), headers,
                                protocol=ex.http_version)
        extra = dict(date)
        if ex.peer:
            extra["WARC-IP-Address"] = ex.peer
        if ex.error:
            extra["WARC-Truncated"] = "time" if "time" in ex.error else "length"
        with contextlib.ExitStack() as stack:
            payload = stack.enter_context(ex.body_path.open("rb")) if size else None
            resp = self._writer.create_warc_record(ex.url, "response", payload=payload,
                                                   length=size if size else None,
                                                   http_headers=http, warc_headers_dict=extra)
            self._writer.write_record(resp)
        req.rec_headers.add_header("WARC-Concurrent-To",
                                   resp.rec_headers.get_header("WARC-Record-ID"))
        self._writer.write_record(req)
        if ex.error:
            self._metadata(ex, resp, date)

    def _metadata(self, ex: Exchange, about: Any, date: dict[str, str]) -> None:
        from io import BytesIO

        body = json.dumps({"error": ex.error}).encode()
        rec = self._writer.create_warc_record(
            ex.url, "metadata", payload=BytesIO(body), length=len(body),
            warc_content_type="application/json",
            warc_headers_dict={**date, "WARC-Concurrent-To":
                               about.rec_headers.get_header("WARC-Record-ID")})
        self._writer.write_record(rec)

    def close(self) -> None:
        """Flush and close the WARC file."""
        self._fh.close()

    def __enter__(self) -> WarcRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ------------------------------------------------------------------ the directory
class EvidenceDir:
    """A content-addressed evidence directory (created if missing)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"{self.root}: cannot create the evidence directory "
                             f"({exc.strerror or exc})", code=errors.UNREADABLE) from None
        if not self.root.is_dir():
            raise InputError(f"{self.root}: not a directory", code=errors.UNREADABLE)

    @property
    def warc_path(self) -> Path:
        return self.root / WARC

    def store(self, tmp: Path, sha256: str, ext: str) -> Path:
        """Move a completed temp file to `<sha256>.<ext>`; an existing copy is kept as is."""
        dest = self.root / f"{sha256}.{ext}"
        if dest.exists():
            tmp.unlink()  # idempotent re-fetch: same content, same name
        else:
            os.replace(tmp, dest)
        return dest

    def load_manifest(self) -> dict[str, Any] | None:
        """The manifest of an earlier capture, or None."""
        path = self.root / MANIFEST
        if not path.exists():
            return None
        try:
            data = load_json(path.read_text(encoding="utf-8"))  # deep nesting, dup keys refused
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: unreadable manifest ({exc})",
                             code=errors.CORRUPT) from None
        return data if isinstance(data, dict) else None

    def write_manifest(self, manifest: dict[str, Any]) -> str:
        """Write manifest.json atomically; return its sha256."""
        data = (json.dumps(redact_obj(manifest), indent=2, ensure_ascii=False, default=str)
                + "\n").encode()
        atomic_write(self.root / MANIFEST, data)
        return hashlib.sha256(data).hexdigest()

    def append_custody(self, action: str, inputs: dict[str, Any],
                       outputs: dict[str, Any], **extra: Any) -> dict[str, Any]:
        """Append one line to custody.log, chained to the line before by its sha256."""
        path = self.root / CUSTODY
        prev = None
        if path.exists():
            lines = path.read_bytes().splitlines()
            prev = hashlib.sha256(lines[-1]).hexdigest() if lines else None
        entry = {"time": now_utc(), "action": action, "tool": TOOL, "user": account(),
                 "host": socket.gethostname(), "input": redact_obj(inputs), "output": outputs,
                 **extra, "prev": prev}
        line = json.dumps(entry, ensure_ascii=False, sort_keys=True, default=str)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
        return entry


def account() -> str:
    """The account osintkit runs as (custody records), its uid when it has no name."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"
