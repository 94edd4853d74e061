"""Fetch stage: `fetch(url, out_dir)` gets a claim's media and keeps the evidence.

Steps: 1. GET the URL (safe client, every exchange into the WARC); 2. direct media is
recognised by its bytes, a web page is parsed for media (generic HTML or Telegram
posts; a t.me post landing page is followed to its `?embed=1` widget); 3. each media
reference is downloaded, checked by magic bytes and stored as `<sha256>.<ext>`;
4. manifest.json and a custody.log line are written. One failed item never stops the
others, and items already fetched stay in the manifest whatever fails later.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from osintkit import __version__, errors
from osintkit.errors import EXIT_FAIL, EXIT_OK, EXIT_USAGE, ErrorInfo, FetchError, error_info
from osintkit.fetch.evidence import (
    EXTENSIONS,
    SCHEMA_VERSION,
    WARC,
    EvidenceDir,
    WarcRecorder,
)
from osintkit.fetch.http import HttpClient, Response, now_utc, redact_url
from osintkit.fetch.pages import MediaRef, PageRecord
from osintkit.fetch.sources import Context, Resolution, candidates
from osintkit.fileio import file_hashes
from osintkit.media.probe import sniff_bytes

Progress = Callable[[int, int, str], None]  # (done, total, url)


@dataclass
class FetchedItem:
    """One media file of the claim: where it came from, what was served, its hashes."""

    url: str
    found_on: str | None = None  # the page URL (None for a direct link)
    final_url: str | None = None
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    fetched_at: str | None = None
    sha256: str | None = None
    md5: str | None = None
    size: int | None = None
    mime: str | None = None  # from the bytes, never from the server's word
    kind: str | None = None  # "image" | "video"
    format: str | None = None
    declared_type: str | None = None  # the Content-Type the server sent
    ip: str | None = None  # the address that served it (the proxy's through a proxy)
    path: Path | None = None
    post_id: str | None = None
    source: str | None = None  # the finder that saw it ("og:image", "telegram:photo"...)
    redirects: list[str] = field(default_factory=list)
    poster: str | None = None
    duration: str | None = None
    error: ErrorInfo | None = None
    role: str = "claim"  # "claim" | "furniture" (the page's, not the claim's)
    why: str | None = None  # the rule that decided the role
    posted_at: str | None = None  # when the post carrying it was published, if known
    skipped: str | None = None  # why it was not downloaded (furniture by default)

    @property
    def ok(self) -> bool:
        return self.error is None and self.path is not None

    def to_dict(self) -> dict[str, Any]:
        """The manifest entry (`file` is the name inside the evidence directory)."""
        return {
            "url": self.url, "final_url": self.final_url, "found_on": self.found_on,
            "ok": self.ok, "status": self.status, "headers": self.headers,
            "fetched_at": self.fetched_at, "sha256": self.sha256, "md5": self.md5,
            "size": self.size, "mime": self.mime, "kind": self.kind, "format": self.format,
            "declared_type": self.declared_type, "ip": self.ip,
            "file": self.path.name if self.path else None, "post_id": self.post_id,
            "source": self.source, "redirects": self.redirects, "poster": self.poster,
            "duration": self.duration, "role": self.role, "why": self.why,
            "posted_at": self.posted_at, "skipped": self.skipped,
            "error": self.error.to_dict() if self.error else None,
        }


@dataclass
class Capture:
    """Everything one `fetch` produced; `manifest()` is what manifest.json holds."""

    url: str
    out_dir: Path
    page: PageRecord | None = None
    items: list[FetchedItem] = field(default_factory=list)
    error: ErrorInfo | None = None  # why nothing usable came out (page-level failure)
    started_at: str = field(default_factory=now_utc)
    finished_at: str | None = None
    skipped: int = 0  # media references left out by max_items
    notes: list[str] = field(default_factory=list)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    screenshot: dict[str, Any] | None = None  # {"file", "url", "sha256", ...}

    @property
    def claim_items(self) -> list[FetchedItem]:
        """The claim's own media (furniture left out)."""
        return [i for i in self.items if i.role == "claim"]

    @property
    def ok(self) -> bool:
        """True when claim media were found and every one of them was fetched."""
        claim = self.claim_items
        return self.error is None and bool(claim) and all(i.ok for i in claim)

    @property
    def exit_code(self) -> int:
        """0 all claim media fetched, 1 some failed, 2 nothing usable."""
        if not any(i.ok for i in self.claim_items):
            return EXIT_USAGE
        return EXIT_OK if self.ok else EXIT_FAIL

    @property
    def failures(self) -> list[ErrorInfo]:
        """The page error (if any) and every failed claim item's error."""
        errs = [self.error] if self.error else []
        return errs + [i.error for i in self.claim_items if i.error]

    def manifest(self) -> dict[str, Any]:
        """The content of manifest.json."""
        return {
            "schema_version": SCHEMA_VERSION, "tool": f"osintkit {__version__}",
            "url": self.url, "ok": self.ok, "started_at": self.started_at,
            "finished_at": self.finished_at,
            "error": self.error.to_dict() if self.error else None,
            "page": self.page.to_dict() if self.page else None,
            "items": [i.to_dict() for i in self.items], "skipped": self.skipped,
            "notes": self.notes, "warc": WARC, "files": self.files,
            "screenshot": self.screenshot,
            "captures": self.history,
        }

    def to_dict(self) -> dict[str, Any]:
        """The manifest plus where it lives (the `--json` output of `osintkit fetch`)."""
        return {**self.manifest(), "out_dir": str(self.out_dir)}


# ------------------------------------------------------------------ steps
class _Run:
    """One capture in progress: the client, the store and the growing Capture."""

    def __init__(self, cap: Capture, store: EvidenceDir, client: HttpClient,
                 options: dict[str, Any], progress: Progress | None) -> None:
        self.cap, self.store, self.client = cap, store, client
        self.options, self.progress = options, progress
        self.max_items = int(options.get("max_items") or 50)

    def keep(self, resp: Response, ext: str) -> str:
        """Store a downloaded file under its hash; list it in the manifest's files."""
        stored = self.store.store(resp.path, resp.sha256, ext)
        self.cap.files[stored.name] = {"sha256": resp.sha256, "md5": resp.md5, "size": resp.size}
        return stored.name

    def item_from(self, resp: Response, item: FetchedItem) -> FetchedItem:
        """Fill `item` from a download; store the file if its bytes are media."""
        item.final_url, item.status, item.fetched_at = resp.final_url, resp.status, resp.fetched_at
        item.headers, item.redirects = resp.selected_headers(), resp.redirects
        item.declared_type = resp.headers.get("Content-Type")
        item.size, item.sha256, item.md5, item.ip = resp.size, resp.sha256, resp.md5, resp.ip
        probe = sniff_bytes(resp.head)
        if probe is None:
            resp.path.unlink()
            what = f"served as {item.declared_type}" if item.declared_type else "served"
            reason = "empty body" if resp.size == 0 else "not an image or video we know"
            item.error = ErrorInfo(errors.EMPTY if resp.size == 0 else errors.NOT_MEDIA,
                                   f"{item.url}: {what} but the bytes are {reason}"
                                   if resp.size else f"{item.url}: {reason} (0 bytes)")
            return item
        item.kind, item.format, item.mime = probe.kind, probe.format, probe.mime
        item.path = self.store.root / self.keep(resp, EXTENSIONS.get(probe.format, "bin"))
        if item.declared_type and probe.mime.split("/")[0] not in item.declared_type:
            self.cap.notes.append(f"{item.url}: served as {item.declared_type}, "
                                  f"the bytes are {probe.format}")
        return item

    def fetch_ref(self, ref: MediaRef, page_url: str, download: bool = True) -> FetchedItem:
        """Download one media reference; failures go into the item."""
        item = FetchedItem(url=ref.url, found_on=page_url, post_id=ref.post_id,
                           source=ref.source, poster=ref.poster, duration=ref.duration,
                           kind=ref.kind, role=ref.role, why=ref.why, posted_at=ref.posted_at)
        if not download:
            item.skipped = "furniture: not downloaded (--with-furniture fetches it)"
            return item
        if not ref.fetchable:
            item.error = ErrorInfo(errors.UNSUPPORTED, f"{ref.url}: {ref.reason}")
            return item
        try:
            resp = self.client.get(ref.url, self.store.root)
            return self.item_from(resp, item)
        except FetchError as exc:
            item.error = exc.info()
        except Exception as exc:  # one bad item (disk full, a library bug) never stops the rest
            info = error_info(exc)
            item.error = ErrorInfo(info.code, f"{ref.url}: {info.message}")
        return item

    def _fetch_all(self, refs: list[MediaRef], page_url: str) -> None:
        claim = [r for r in refs if r.role == "claim"]
        rest = [r for r in refs if r.role != "claim"]
        self.cap.skipped = max(0, len(claim) - self.max_items)
        if self.cap.skipped:
            self.cap.notes.append(f"{self.cap.skipped} more media references left out "
                                  f"(--max-items {self.max_items})")
        with_furniture = bool(self.options.get("with_furniture"))
        todo = [(r, True) for r in claim[: self.max_items]]
        todo += [(r, with_furniture) for r in rest[: self.max_items * 4]]
        total = sum(1 for _, d in todo if d)
        done = 0
        for ref, download in todo:
            if download and self.progress:
                self.progress(done, total, ref.url)
            self.cap.items.append(self.fetch_ref(ref, page_url, download))
            done += int(download)
        if self.progress:
            self.progress(total, total, "")

    def _resolve(self, ctx: Context) -> Resolution | None:
        forced = self.options.get("source")
        last: FetchError | None = None
        for source in candidates(self.cap.url, forced):
            try:
                res = source.resolve(ctx, self.cap.url)
            except FetchError as exc:
                last = exc
                if forced or source.generic:
                    break  # the claim URL itself failed: no other source can do better
                continue
            if res is not None:
                return res
        if last is not None:
            self.cap.error = last.info()
        return None

    def start(self) -> None:
        """Steps 1-3: resolve the claim URL with the first source that takes it, fetch media."""
        ctx = Context(self.client, self.store, options=self.options, keep_file=self.keep)
        res = self._resolve(ctx)
        if res is None:
            if self.cap.error is None:
                self._no_source(ctx)
            return
        self.cap.notes += res.notes
        rec = res.page
        land = ctx.landed(self.cap.url)
        if res.direct is not None:
            self.cap.page = rec
            item = self.item_from(res.direct, FetchedItem(url=self.cap.url, why="the URL itself"))
            self.cap.items.append(item)
            return
        if land is not None and land.html is not None:
            resp = land.resp
            name = self.keep(resp, "html") if resp.path.exists() else \
                f"{resp.sha256}.html"
            rec.url, rec.final_url, rec.status = self.cap.url, resp.final_url, resp.status
            rec.sha256, rec.path = resp.sha256, name
            rec.headers, rec.fetched_at, rec.ip = (resp.selected_headers(), resp.fetched_at,
                                                   resp.ip)
        self.cap.page = rec
        if rec.kind == "telegram" and not rec.posts:
            self.cap.error = ErrorInfo(errors.NOT_FOUND, f"{self.cap.url}: the Telegram post is "
                                       "not on the page (deleted, or the channel is private)")
        elif not any(r.role == "claim" for r in res.refs):
            what = "media" if not res.refs else "claim media (only page furniture)"
            self.cap.error = ErrorInfo(errors.NOT_MEDIA, f"{self.cap.url}: no {what} found on "
                                       "the page")
        self._fetch_all(res.refs, rec.final_url)
        if self.options.get("screenshot") and land is not None and land.html is not None:
            self._screenshot(rec.final_url)

    def _screenshot(self, url: str) -> None:
        from osintkit.fetch.screenshot import take_screenshot

        try:
            shot = take_screenshot(url, self.store.root, policy=self.client.policy,
                                   proxy=self.options.get("proxy"),
                                   timeout=float(self.options.get("total_timeout") or 60))
        except FetchError as exc:
            self.cap.notes.append(f"screenshot not taken: {exc.message}")
            return
        self.cap.files[shot.name] = file_hashes(shot)
        self.cap.screenshot = {"file": shot.name, "url": url, **self.cap.files[shot.name]}

    def _no_source(self, ctx: Context) -> None:
        land = ctx.landed(self.cap.url)
        if land is None:
            self.cap.error = ErrorInfo(errors.UNSUPPORTED, f"{self.cap.url}: no source could "
                                       "read this URL")
            return
        resp = land.resp
        if resp.path.exists():
            resp.path.unlink()
        ctype = resp.headers.get("Content-Type") or "no Content-Type"
        self.cap.error = ErrorInfo(errors.NOT_MEDIA, f"{self.cap.url}: neither media nor a "
                                   f"web page ({ctype}, {resp.size} bytes)")

def _finish(cap: Capture, store: EvidenceDir, options: dict[str, Any]) -> None:
    """Step 4: manifest.json (with every file's hashes) and a custody.log line."""
    cap.finished_at = now_utc()
    if store.warc_path.exists():
        cap.files[WARC] = file_hashes(store.warc_path)
    # Every capture stays in the manifest, so a failed re-fetch never hides earlier items.
    cap.history.append({"url": cap.url, "started_at": cap.started_at,
                        "finished_at": cap.finished_at, "ok": cap.ok,
                        "error": cap.error.to_dict() if cap.error else None,
                        "page": cap.page.to_dict() if cap.page else None,
                        "items": [i.to_dict() for i in cap.items]})
    manifest_sha = store.write_manifest(cap.manifest())
    store.append_custody("fetch", {"url": cap.url, "options": options},
                         {name: rec["sha256"] for name, rec in sorted(cap.files.items())},
                         manifest_sha256=manifest_sha)


def _previous(store: EvidenceDir, cap: Capture) -> None:
    """Carry over earlier captures' files and history (re-fetch into the same directory).

    Files of earlier captures stay listed even if gone, so `evidence check` reports them.
    """
    old = store.load_manifest()
    if old:
        cap.files.update({k: v for k, v in (old.get("files") or {}).items()
                          if isinstance(v, dict)})
        cap.history.extend(h for h in old.get("captures") or [] if isinstance(h, dict))


def fetch(url: str, out_dir: str | Path, *, allow_private: bool = False,
          max_bytes: int = 200_000_000, max_items: int = 50, timeout: float = 30.0,
          proxy: str | None = None, total_timeout: float = 600.0, retries: int = 2,
          backoff: float = 0.5, allow_networks: Iterable[str] = (),
          progress: Progress | None = None, with_furniture: bool = False,
          screenshot: bool = False, source: str | None = None,
          all_posts: bool = False) -> Capture:
    """Fetch a claim URL's media into the evidence directory `out_dir`.

    Each media item gets a role: "claim" (downloaded) or "furniture" (listed, downloaded
    only with `with_furniture`). `source` forces one source ("telegram", "article",
    "direct", "ytdlp"); `all_posts` makes every post of a Telegram channel page claim
    media; `screenshot` adds a PNG of the rendered page (headless Chromium).
    Never raises for network or content problems: they are in `Capture.error` (page level)
    and in each item's `error`. Raises InputError when `out_dir` cannot be created.
    """
    store = EvidenceDir(out_dir)
    cap = Capture(url=url, out_dir=store.root)
    _previous(store, cap)
    options = {"allow_private": allow_private, "max_bytes": max_bytes, "max_items": max_items,
               "timeout": timeout, "total_timeout": total_timeout, "proxy": redact_url(proxy),
               "allow_networks": list(allow_networks), "with_furniture": with_furniture,
               "screenshot": screenshot, "source": source, "all_posts": all_posts}
    try:
        with contextlib.ExitStack() as stack:
            recorder = stack.enter_context(WarcRecorder(store.warc_path, url))
            client = stack.enter_context(HttpClient(
                allow_private=allow_private, allow_networks=allow_networks, proxy=proxy,
                timeout=timeout, total_timeout=total_timeout, max_bytes=max_bytes,
                retries=retries, backoff=backoff, recorder=recorder))
            _Run(cap, store, client, {**options, "proxy": proxy}, progress).start()
    finally:  # whatever happened, what was fetched is written down
        _finish(cap, store, options)
    return cap
