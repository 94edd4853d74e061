"""Source `ytdlp`: video platforms through the yt-dlp library (it knows hundreds of sites).

Used automatically for the big video platforms (YouTube, Vimeo, TikTok, X...), and for any
page with `--source ytdlp` (its generic extractor finds players and <video> tags).
Every request yt-dlp makes goes through our guarded client (`_GuardedYDL.urlopen`): the
SSRF rules, the caps, the WARC. yt-dlp only reads pages and picks the format; the media
file itself is then downloaded by `fetch()` like any other item, so it is hashed and
checked by its bytes. Formats that need merging (separate video and audio streams) are
avoided: the best single file is taken.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from osintkit.errors import FetchError
from osintkit.fetch.furniture import host_matches
from osintkit.fetch.pages import MediaRef, PageRecord
from osintkit.fetch.sources.base import Context, Resolution, Source, register

PLATFORMS = ("youtube.com", "youtu.be", "vimeo.com", "dailymotion.com", "tiktok.com",
             "twitter.com", "x.com", "instagram.com", "facebook.com", "fb.watch", "rumble.com",
             "bitchute.com", "odysee.com", "vk.com", "vkvideo.ru", "ok.ru", "streamable.com",
             "twitch.tv", "reddit.com", "v.redd.it", "bilibili.com", "rutube.ru", "kick.com")


def _ydl_class() -> type:
    import yt_dlp
    from yt_dlp.networking import Response as YResponse
    from yt_dlp.networking.exceptions import HTTPError, TransportError

    class _GuardedYDL(yt_dlp.YoutubeDL):
        """YoutubeDL whose every request is a GET through osintkit's guarded client."""

        ctx: Context

        def urlopen(self, req: Any) -> Any:
            url = req if isinstance(req, str) else req.url
            method = "GET" if isinstance(req, str) else (req.method or "GET")
            if method not in ("GET", "HEAD"):
                raise TransportError(f"osintkit lets yt-dlp send GET only, not {method}")
            try:  # HEAD probes get the page's first bytes: a media file is not pulled here
                resp = self.ctx.get(url, max_bytes=None if method == "GET" else 8_000_000)
            except FetchError as exc:
                if exc.code == "not_found":
                    raise HTTPError(YResponse(io.BytesIO(b""), url, {}, 404, "Not Found")) from None
                raise TransportError(exc.message) from None
            data = resp.path.read_bytes()
            resp.path.unlink()
            headers = {k: v for k, v in resp.headers.items()
                       if k.lower() not in ("content-encoding", "transfer-encoding")}
            return YResponse(io.BytesIO(data), resp.final_url, headers, resp.status)

    return _GuardedYDL


def _iso(info: dict[str, Any]) -> str | None:
    ts = info.get("timestamp") or info.get("release_timestamp")
    if isinstance(ts, int | float):
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    day = info.get("upload_date") or info.get("release_date")
    if isinstance(day, str) and len(day) == 8 and day.isdigit():
        return f"{day[:4]}-{day[4:6]}-{day[6:]}"
    return None


def _refs(info: dict[str, Any], max_items: int) -> list[MediaRef]:
    entries = info.get("entries")
    if entries is not None:
        out: list[MediaRef] = []
        for entry in list(entries)[:max_items]:
            if isinstance(entry, dict):
                out += _refs(entry, max_items)
        return out
    when, ident = _iso(info), str(info.get("id") or "") or None
    url = info.get("url")
    refs = []
    if isinstance(url, str) and url.startswith(("http://", "https://")):
        refs.append(MediaRef(url, "video", f"ytdlp:{info.get('extractor_key') or 'video'}",
                             post_id=ident, posted_at=when,
                             duration=str(info.get("duration_string") or "") or None,
                             poster=info.get("thumbnail"), why="the video yt-dlp extracted"))
    thumb = info.get("thumbnail")
    if isinstance(thumb, str) and thumb.startswith(("http://", "https://")):
        refs.append(MediaRef(thumb, "image", "ytdlp:thumbnail", post_id=ident, posted_at=when,
                             why="the platform's still of the video"))
    return refs


@register
class YtDlpSource(Source):
    """Videos of the sites yt-dlp knows; forced with --source ytdlp for any page."""

    name = "ytdlp"

    def handles(self, url: str) -> bool:
        try:
            return host_matches(urlsplit(url).hostname or "", PLATFORMS)
        except ValueError:
            return False

    def resolve(self, ctx: Context, url: str) -> Resolution | None:
        import yt_dlp.utils

        opts = {"quiet": True, "no_warnings": True, "noprogress": True, "skip_download": True,
                "format": "best[vcodec!=none][acodec!=none]/best", "noplaylist": False,
                "playlistend": int(ctx.options.get("max_items") or 50), "cachedir": False,
                "socket_timeout": ctx.client.timeout, "logger": _Quiet()}
        ydl = _ydl_class()(opts)
        ydl.ctx = ctx
        try:
            with ydl:
                info = ydl.extract_info(url, download=False)
        except (yt_dlp.utils.DownloadError, yt_dlp.utils.ExtractorError) as exc:
            msg = " ".join(str(exc).removeprefix("ERROR: ").split())[:300]
            if ctx.options.get("source") == self.name:
                raise FetchError(f"{url}: yt-dlp found no video ({msg})",
                                 code="not_media") from None
            return None
        if not isinstance(info, dict):
            return None
        refs = _refs(info, int(ctx.options.get("max_items") or 50))
        page = PageRecord(url=url, final_url=str(info.get("webpage_url") or url), kind="video",
                          title=info.get("title"), published_at=_iso(info),
                          author=info.get("uploader") or info.get("channel"),
                          text=info.get("description"), source=self.name)
        return Resolution(page, refs, [f"read with yt-dlp ({info.get('extractor_key')})"])


class _Quiet:
    def debug(self, msg: str) -> None: ...

    def info(self, msg: str) -> None: ...

    def warning(self, msg: str) -> None: ...

    def error(self, msg: str) -> None: ...
