"""The evidence folder of a channel walk: pages, media, one WARC per run, manifest, custody.

Same layout and guarantees as `osintkit fetch`'s evidence (osintkit/fetch/evidence.py), so
`osintkit evidence check DIR` verifies it and `osintkit archive add DIR` re-reads it:

  <sha256>.html / .jpg / .mp4   every channel page and media file, named by content
  walk-<time>.warc.gz           every request and response of one run
  manifest.json                 "kind": "archive-walk"; runs, pages, items (each with its
                                post URL and post time), files (hashes of every file)
  custody.log                   one chained line per checkpoint (after each page)

The manifest is rewritten after every page, so a run killed half-way leaves a folder that
the next run (or `evidence check` after it) accounts for: its WARC is listed with a note.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from osintkit import __version__, errors
from osintkit.errors import InputError
from osintkit.fetch.evidence import EXTENSIONS, EvidenceDir, WarcRecorder
from osintkit.fetch.http import Response, now_utc
from osintkit.fileio import file_hashes

KIND = "archive-walk"


class WalkEvidence:
    """Use as a context manager around one run of a walk."""

    def __init__(self, root: Path, url: str, options: dict[str, Any]) -> None:
        self.store = EvidenceDir(root)
        self.root = self.store.root
        self.url, self.options = url, options
        old = self.store.load_manifest() or {}
        if old and old.get("kind") != KIND:
            raise InputError(f"{self.root}: holds the evidence of something else "
                             f"({old.get('url') or 'a fetch'}); give a folder of its own "
                             "with --evidence", code=errors.UNSUPPORTED)
        self.manifest: dict[str, Any] = {
            "schema_version": 1, "kind": KIND, "tool": f"osintkit {__version__}", "url": url,
            "runs": list(old.get("runs") or []), "pages": list(old.get("pages") or []),
            "items": list(old.get("items") or []), "files": dict(old.get("files") or {}),
            "notes": list(old.get("notes") or [])}
        self._items = {(i.get("url"), i.get("post_url")): n
                       for n, i in enumerate(self.manifest["items"])}
        self.started = now_utc()
        self.warc_name = f"walk-{self.started.replace(':', '').replace('.', '-')}.warc.gz"
        self.warc: WarcRecorder | None = None
        self.run: dict[str, Any] = {"started_at": self.started, "finished_at": None,
                                    "warc": self.warc_name, "options": options}

    # ---------------------------------------------------------------- lifecycle
    def __enter__(self) -> WalkEvidence:
        for leftover in self.root.glob(".part-*"):  # temp files of a killed download
            with contextlib.suppress(OSError):
                leftover.unlink()
        self._adopt_orphans()
        self.warc = WarcRecorder(self.root / self.warc_name, self.url)
        self.manifest["runs"].append(self.run)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _adopt_orphans(self) -> None:
        """List what a killed run wrote after its last checkpoint: its WARC, and pages and
        media whose names are their sha256 (checked), so the folder accounts for them."""
        files = self.manifest["files"]
        for path in sorted(self.root.iterdir()):
            name = path.name
            if name in files or not path.is_file():
                continue
            stem = name.split(".", 1)[0]
            named = len(stem) == 64 and all(c in "0123456789abcdef" for c in stem)
            if name.startswith("walk-") and name.endswith(".warc.gz"):
                files[name] = file_hashes(path)
                self.manifest["notes"].append(f"{name}: from a run that was interrupted")
            elif named and (h := file_hashes(path))["sha256"] == stem:
                files[name] = h

    def close(self, summary: dict[str, Any] | None = None) -> None:
        """Close the WARC, hash it, write the final manifest and a custody line."""
        if self.warc is None:
            return
        self.warc.close()
        self.warc = None
        self.manifest["files"][self.warc_name] = file_hashes(self.root / self.warc_name)
        self.run["finished_at"] = now_utc()
        if summary:
            self.run["result"] = summary
        self.checkpoint("archive-walk")

    def checkpoint(self, action: str = "archive-walk-page") -> None:
        """Manifest and custody line as they stand (after each page)."""
        sha = self.store.write_manifest(self.manifest)
        still_open = self.warc_name if self.warc is not None else None
        outputs = {k: v.get("sha256") for k, v in sorted(self.manifest["files"].items())
                   if isinstance(v, dict) and k != still_open}
        self.store.append_custody(action, {"url": self.url, "options": self.options},
                                  outputs, manifest_sha256=sha)

    # ---------------------------------------------------------------- contents
    def keep(self, resp: Response, ext: str) -> Path:
        """Store a downloaded body as `<sha256>.<ext>` and list it in files."""
        path = self.store.store(resp.path, resp.sha256, ext)
        self.manifest["files"][path.name] = {"sha256": resp.sha256, "md5": resp.md5,
                                             "size": resp.size}
        return path

    def page(self, resp: Response, number_range: tuple[int, int] | None,
             before: int | None) -> None:
        path = self.keep(resp, "html")
        self.manifest["pages"].append({
            "url": resp.url, "final_url": resp.final_url, "status": resp.status,
            "fetched_at": resp.fetched_at, "headers": resp.selected_headers(),
            "sha256": resp.sha256, "file": path.name, "ip": resp.ip,
            "posts": list(number_range) if number_range else None, "before": before})

    def item(self, entry: dict[str, Any]) -> None:
        """Record one media item (replaces the entry of the same URL and post)."""
        key = (entry.get("url"), entry.get("post_url"))
        if key in self._items:
            self.manifest["items"][self._items[key]] = entry
        else:
            self._items[key] = len(self.manifest["items"])
            self.manifest["items"].append(entry)


def media_ext(fmt: str | None) -> str:
    return EXTENSIONS.get(fmt or "", "bin")
