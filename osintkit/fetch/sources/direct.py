"""Source `direct`: the URL is a media file itself (recognised by its bytes)."""

from __future__ import annotations

from urllib.parse import urlsplit

from osintkit.fetch.pages import PageRecord, kind_from_suffix
from osintkit.fetch.sources.base import Context, Resolution, Source, register


@register
class DirectSource(Source):
    """A direct link to an image or a video, whatever its Content-Type says."""

    name = "direct"
    generic = True

    def handles(self, url: str) -> bool:
        try:
            return kind_from_suffix(url) is not None and bool(urlsplit(url).hostname)
        except ValueError:
            return False

    def resolve(self, ctx: Context, url: str) -> Resolution | None:
        from osintkit.media.probe import sniff_bytes

        land = ctx.landing(url)
        resp = land.resp
        if sniff_bytes(resp.head) is None:
            return None
        page = PageRecord(url=url, final_url=resp.final_url, kind="direct", status=resp.status,
                          headers=resp.selected_headers(), fetched_at=resp.fetched_at,
                          ip=resp.ip, source=self.name)
        return Resolution(page, direct=resp)
