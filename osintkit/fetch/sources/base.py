"""Where claim media come from, the registry: a registry of sources, in the style of auto-archiver's
extractors. Each source answers two questions:

  handles(url) -> bool        is this URL obviously mine (t.me/..., a known video site)?
  resolve(ctx, url) -> Resolution | None
                              read it: the page record and its media, each with a role
                              ("claim" or "furniture") and, where known, its post time;
                              None when the content turns out not to be this source's.

`fetch()` tries the sources that handle the URL first, then the generic ones in order
(telegram by content, direct media, article). `--source NAME` forces one. Sources reach
the network only through `ctx` (the SSRF-guarded, WARC-recording client).
To add one: subclass `Source`, decorate with `@register`, import it in __init__.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from osintkit.errors import FetchError
from osintkit.fetch.http import HttpClient, Response
from osintkit.fetch.pages import PAGE_CAP, MediaRef, PageRecord, decode_html, is_html


@dataclass
class Resolution:
    """What a source read: the page (or post) and its media with roles."""

    page: PageRecord
    refs: list[MediaRef] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    direct: Response | None = None  # the URL itself was the media file (already downloaded)


@dataclass
class Landing:
    """The claim URL's first response, decoded when it is a page."""

    resp: Response
    html: str | None  # None for non-HTML bodies
    stored: str | None = None  # the page's file name in the evidence folder


class Context:
    """What a source may use: the safe client, the evidence store and the options."""

    def __init__(self, client: HttpClient, store: Any, *, options: dict[str, Any],
                 keep_file: Callable[[Response, str], str]) -> None:
        self.client, self.store, self.options = client, store, options
        self._keep_file = keep_file
        self._landing: dict[str, Landing] = {}

    def get(self, url: str, *, max_bytes: int | None = None) -> Response:
        """GET through the guarded client (WARC-recorded); FetchError on failure."""
        return self.client.get(url, Path(self.store.root), max_bytes=max_bytes)

    def keep_page(self, resp: Response) -> str:
        """Store a fetched page as `<sha256>.html` in the evidence; returns the file name."""
        return self._keep_file(resp, "html")

    def landed(self, url: str) -> Landing | None:
        """The claim URL's landing if a source fetched it, else None (nothing fetched)."""
        return self._landing.get(url)

    def landing(self, url: str) -> Landing:
        """The claim URL fetched once, shared by every source that looks at it."""
        if url not in self._landing:
            from osintkit.media.probe import sniff_bytes

            resp = self.get(url)
            html = None
            if sniff_bytes(resp.head) is None and is_html(resp):
                if resp.size > PAGE_CAP:
                    resp.path.unlink()
                    raise FetchError(f"{url}: page of {resp.size} bytes is too big to look "
                                     "for media in", code="too_large")
                html = decode_html(resp)
            self._landing[url] = Landing(resp, html)
        return self._landing[url]


class Source:
    """A kind of place claim media come from. Subclasses set `name` and override."""

    name: ClassVar[str] = ""
    generic: ClassVar[bool] = False  # tried on any URL (declines by content)

    def handles(self, url: str) -> bool:
        """True when the URL alone says it is this source's (no network)."""
        return False

    def resolve(self, ctx: Context, url: str) -> Resolution | None:
        """Read the URL; None when its content is not this source's."""
        raise NotImplementedError


SOURCES: dict[str, Source] = {}


def register(cls: type[Source]) -> type[Source]:
    """Class decorator: add a source to the registry (order of registration = order tried)."""
    SOURCES[cls.name] = cls()
    return cls


def candidates(url: str, forced: str | None = None) -> list[Source]:
    """The sources to try for `url`, in order (only `forced` when given)."""
    if forced:
        if forced not in SOURCES:
            raise ValueError(f"unknown source {forced!r} (known: {', '.join(SOURCES)})")
        return [SOURCES[forced]]
    specific = [s for s in SOURCES.values() if s.handles(url)]
    return specific + [s for s in SOURCES.values() if s.generic and s not in specific]
