"""`archive add https://t.me/s/<channel>`: walk a public channel's history into the archive.

The walk reads the channel's t.me/s/ pages newest first and follows each page's own link
to older posts (`?before=<id>`, `ChannelPage.before`), as a browser scrolling back would.
Every post's photos and videos are downloaded (through the fetch stage's guarded client,
every exchange into a WARC), hashed and archived with the post's own time as first_seen,
the post URL as source_url, the channel as source and the trimmed post text as title.

Polite: `delay` seconds between pages; a 429/503 is retried after its Retry-After (up to
`max_wait`). Resumable: a post is marked archived (table `posts`) in the transaction that
writes its media, so a second run skips it; the stretch of post numbers a run covered is
kept (table `walks`), so the next run reads the new pages on top, then jumps straight to
where the last one stopped. A killed run loses at most the post it was writing.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from osintkit import errors
from osintkit.archive import provenance
from osintkit.archive.core import Archive
from osintkit.archive.ingest.model import (
    IngestOptions,
    IngestResult,
    Progress,
    trim_title,
    utc_iso,
)
from osintkit.archive.ingest.session import WalkEvidence, media_ext
from osintkit.archive.ingest.writer import write_media
from osintkit.errors import ErrorInfo, FetchError
from osintkit.fetch.http import HttpClient
from osintkit.fetch.sources.telegram import (
    HOSTS,
    ChannelPage,
    TelegramPost,
    channel_page_url,
    parse_channel_page,
)

_CHANNEL = re.compile(r"^/(s/)?([A-Za-z0-9_]{3,64})/?$")
_NOT_CHANNELS = frozenset({"s", "joinchat", "addstickers", "addemoji", "share", "proxy",
                           "socks", "iv", "login", "contact", "setlanguage"})
_TRANSIENT = (errors.NETWORK, errors.TIMEOUT)  # worth trying again on the next run


@dataclass(frozen=True)
class ChannelRef:
    """A channel page URL: where it is served, the channel, an optional starting cursor."""

    base: str  # scheme://host[:port]
    channel: str
    before: int | None = None

    @property
    def key(self) -> str:
        """The channel's identity in the `walks` table."""
        return f"{urlsplit(self.base).hostname}/{self.channel.lower()}"

    @property
    def url(self) -> str:
        return channel_page_url(self.channel, before=self.before, base=self.base)


def channel_ref(url: str) -> ChannelRef | None:
    """The channel of a t.me/s/<name> URL (any host serving that path; t.me/<name> on
    Telegram's own hosts); None for a post URL or anything else."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    m = _CHANNEL.match(parts.path)
    if not m or parts.scheme not in ("http", "https") or m.group(2).lower() in _NOT_CHANNELS:
        return None
    if not m.group(1) and host not in HOSTS:
        return None
    before = parse_qs(parts.query).get("before", [None])[0]
    return ChannelRef(f"{parts.scheme}://{parts.netloc}", m.group(2),
                      int(before) if before and before.isdigit() else None)


def _when(post: TelegramPost) -> datetime | None:
    iso = utc_iso(post.published_at)
    return datetime.fromisoformat(iso) if iso else None


class ChannelWalk:
    """One run of a walk (see the module docstring). `run()` fills `self.result`."""

    def __init__(self, archive: Archive, ref: ChannelRef, opts: IngestOptions,
                 session: WalkEvidence, client: HttpClient,
                 progress: Progress | None = None) -> None:
        self.archive, self.ref, self.opts = archive, ref, opts
        self.session, self.client, self.progress = session, client, progress
        self.result = IngestResult(ref.url, "channel", evidence=str(session.root))
        self.source = opts.source or f"@{ref.channel}"
        # coverage of this run: post numbers [low, high] all handled, contiguous from the top
        self.low: int | None = None
        self.high: int | None = None
        self.hole = False  # a post failed for a passing reason: coverage stops above it
        self.tracking = ref.before is None  # a walk from the newest page
        self.covered = provenance.walk_range(archive.db, ref.key) if self.tracking else None
        self.joined = self.covered is None  # this run's stretch reaches the covered one

    # ---------------------------------------------------------------- the loop
    def run(self) -> IngestResult:
        cursor = self.ref.before
        while True:
            page = self._read(cursor)
            if page is None:
                return self.result
            posts = sorted((p for p in page.posts if p.number is not None),
                           key=lambda p: p.number or 0, reverse=True)
            stop = self._handle_page(posts)
            self._save_coverage()
            self.session.checkpoint()
            self._tell({"event": "page", "page": self.result.pages, "url": self.ref.base,
                        "posts": len(posts), "archived": self.result.posts,
                        "oldest": posts[-1].published_at if posts else None})
            if stop:
                self.result.stopped = stop
                return self.result
            nxt = page.before  # the page's own "older posts" link; none on the first page
            if nxt is None or not posts or (cursor is not None and nxt >= cursor):
                self.result.stopped = "reached the channel's first post"
                return self.result
            cursor = self._jump(nxt)

    def _read(self, cursor: int | None) -> ChannelPage | None:
        url = channel_page_url(self.ref.channel, before=cursor, base=self.ref.base)
        if self.result.pages:
            time.sleep(self.opts.delay)  # politeness between pages
        try:
            resp = self.client.get(url, self.session.root)
        except FetchError as exc:
            return self._fail(exc.info())
        from osintkit.fetch.pages import decode_html

        html = decode_html(resp)
        page = parse_channel_page(html, resp.final_url)
        numbers = [p.number for p in page.posts if p.number is not None]
        self.session.page(resp, (min(numbers), max(numbers)) if numbers else None,
                          page.before)
        self.result.pages += 1
        if not page.posts and self.result.pages == 1:
            return self._fail(ErrorInfo(errors.NOT_FOUND, f"{url}: no public Telegram posts "
                                        "on this page (not a channel, private, or empty)"))
        return page

    def _fail(self, info: ErrorInfo) -> None:
        self.result.ok, self.result.error, self.result.stopped = False, info, "error"
        return None

    def _handle_page(self, posts: list[TelegramPost]) -> str | None:
        """Archive the new posts of one page, newest first; a reason to stop, or None."""
        known = provenance.known_posts(self.archive.db, [p.url for p in posts])
        since, until, stop = self.opts.since, self.opts.until, None
        for post in posts:
            when = _when(post)
            if until is not None and when is not None and when > until:
                continue  # newer than wanted: passed over, not covered
            if since is not None and when is not None and when < since:
                stop = f"reached --since {since.isoformat()}"
                continue  # older than wanted (this page is the last one read)
            if post.url in known:
                self.result.known_posts += 1
                self._covered(post.number, True)
                continue
            self._covered(post.number, self._archive_post(post, when))
            if self.opts.max_posts and self.result.posts >= self.opts.max_posts:
                return f"--max-posts {self.opts.max_posts}"
        return stop

    # ---------------------------------------------------------------- one post
    def _archive_post(self, post: TelegramPost, when: datetime | None) -> bool:
        """Download and archive a post's photos and videos; True when it is done."""
        posted = utc_iso(post.published_at)
        files, passing = [], False
        refs = [r for r in post.media if r.role == "claim"]
        for k, ref in enumerate(refs, 1):
            entry = {"url": ref.url, "post_url": post.url, "post_id": post.post_id,
                     "posted_at": posted, "kind": ref.kind, "role": "claim",
                     "source": ref.source, "title": trim_title(post.text),
                     "forwarded_from": post.forwarded_from, "edited": post.edited}
            got = self._download(ref, entry)
            self.session.item(entry)
            if got is None:
                passing = passing or (entry["error"] or {}).get("code") in _TRANSIENT
                continue
            files.append((got, entry["sha256"], f"{self.ref.channel}-{post.number}-{k}."
                                                f"{got.suffix.lstrip('.')}"))
        meta = {"source": self.source, "first_seen": posted, "title": trim_title(post.text),
                "tags": list(self.opts.tags), "source_url": post.url}
        row = None if passing else {
            "url": post.url, "channel": self.ref.channel, "number": post.number,
            "posted_at": posted, "text": post.text, "forwarded_from": post.forwarded_from,
            "edited": post.edited, "views": post.views, "media": len(files)}
        ok = write_media(self.archive, files, meta, self.result, post=row) and not passing
        if ok:
            self.result.posts += 1
            self.result.saw_post(posted)
        self._tell({"event": "post", "post": post.url, "posted_at": posted,
                    "media": len(files), "ok": ok})
        return ok

    def _download(self, ref: Any, entry: dict[str, Any]) -> Any:
        """Fetch one media file into the evidence folder; its path, or None (entry says why)."""
        from osintkit.media.probe import sniff_bytes

        entry["ok"], entry["error"] = False, None
        if not ref.fetchable:
            entry["skipped"] = ref.reason
            self.result.notes.append(f"{entry['post_url']}: {ref.reason}")
            return None
        try:
            resp = self.client.get(ref.url, self.session.root, max_bytes=self.opts.max_bytes)
        except FetchError as exc:
            return self._item_error(entry, exc.info())
        probe = sniff_bytes(resp.head)
        entry.update({"final_url": resp.final_url, "status": resp.status,
                      "fetched_at": resp.fetched_at, "headers": resp.selected_headers(),
                      "sha256": resp.sha256, "md5": resp.md5, "size": resp.size,
                      "ip": resp.ip})
        if probe is None:
            resp.path.unlink()
            return self._item_error(entry, ErrorInfo(errors.NOT_MEDIA, f"{ref.url}: the "
                                                     "bytes are not an image or video we know"))
        path = self.session.keep(resp, media_ext(probe.format))
        entry.update({"ok": True, "file": path.name, "kind": probe.kind, "mime": probe.mime})
        return path

    def _item_error(self, entry: dict[str, Any], info: ErrorInfo) -> None:
        entry["error"] = info.to_dict()
        self.result.count("failed")
        self.result.errors.append(info)
        return None

    # ---------------------------------------------------------------- resuming
    def _covered(self, number: int | None, done: bool) -> None:
        if number is None:
            return
        if not done:
            self.hole = True
            return
        if self.hole:
            return
        self.high = number if self.high is None else max(self.high, number)
        self.low = number if self.low is None else min(self.low, number)

    def _jump(self, nxt: int) -> int:
        """Skip the stretch an earlier run covered once this run has reached it."""
        cov = self.covered
        if not self.tracking or cov is None or self.joined or nxt > cov[1] + 1 or nxt <= cov[0]:
            return nxt
        self.joined = not self.hole
        if self.joined:
            self.low = cov[0] if self.low is None else min(self.low, cov[0])
            self.high = cov[1] if self.high is None else max(self.high, cov[1])
        self.result.notes.append(f"posts {cov[0]}-{cov[1]} were walked before: "
                                 f"continued below {cov[0]}")
        return cov[0]

    def _save_coverage(self) -> None:
        if self.tracking and self.joined and self.low is not None and self.high is not None:
            provenance.save_walk_range(self.archive.db, self.ref.key, self.low, self.high)

    def _tell(self, event: dict[str, Any]) -> None:
        if self.progress is not None:
            self.progress(event)


def walk_channel(archive: Archive, ref: ChannelRef, opts: IngestOptions,
                 progress: Progress | None = None) -> IngestResult:
    """Run one walk of `ref` into `archive`, its evidence in `opts.evidence`."""
    from osintkit.fetch.http import redact_url

    folder = opts.evidence
    assert folder is not None
    options = {"since": opts.since, "until": opts.until, "max_posts": opts.max_posts,
               "delay": opts.delay, "max_wait": opts.max_wait, "source": opts.source,
               "allow_private": opts.allow_private, "proxy": redact_url(opts.proxy)}
    with WalkEvidence(folder, ref.url, options) as session, HttpClient(
            allow_private=opts.allow_private, allow_networks=opts.allow_networks,
            proxy=opts.proxy, timeout=opts.timeout,
            total_timeout=max(600.0, opts.max_wait * (opts.retries + 1) + 60),
            max_bytes=opts.max_bytes, retries=opts.retries, backoff=1.0,
            max_retry_after=opts.max_wait, recorder=session.warc) as client:
        walk = ChannelWalk(archive, ref, opts, session, client, progress)
        try:
            walk.run()
        finally:
            session.close(walk.result.to_dict())
    return walk.result
