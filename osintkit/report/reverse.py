"""Reverse image search links for the report: Google Lens, Bing, Yandex and TinEye, by the
picture's public URL. osintkit never uploads anything: a link is only offered when the
picture (or, for a video, a keyframe such as its poster) already has an http(s) URL that a
search engine can reach; local files and private addresses get none.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import quote, urlsplit

ENGINES = {
    "google_lens": "https://lens.google.com/uploadbyurl?url={u}",
    "bing": "https://www.bing.com/images/search?view=detailv2&iss=sbi&q=imgurl:{u}",
    "yandex": "https://yandex.com/images/search?rpt=imageview&url={u}",
    "tineye": "https://tineye.com/search?url={u}",
}
NAMES = {"google_lens": "Google Lens", "bing": "Bing", "yandex": "Yandex", "tineye": "TinEye"}
_LOCAL_SUFFIXES = (".local", ".localhost", ".internal", ".lan", ".home.arpa", ".invalid")


def is_public_url(url: Any) -> bool:
    """An http(s) URL whose host is not a private, loopback or link-local address (names
    are taken as public: nothing is resolved here)."""
    try:
        parts = urlsplit(str(url or ""))
        host = (parts.hostname or "").lower()
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not host or host == "localhost" \
            or host.endswith(_LOCAL_SUFFIXES):
        return False
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return "." in host
    return ip.is_global


def links(image_url: str) -> dict[str, str]:
    """engine -> search URL for a picture at `image_url` (the URL itself is the query)."""
    quoted = quote(image_url, safe="")
    return {name: pattern.format(u=quoted) for name, pattern in ENGINES.items()}


def reverse_search(item: Any) -> dict[str, Any] | None:
    """{"image_url", "links"} for a picture, {"keyframes": [{"t", "image_url", "links"}]}
    for a video with keyframes that have URLs; None when nothing public can be searched."""
    fetched = getattr(item, "fetched", None)
    if getattr(item, "kind", None) == "video":
        frames = []
        poster = getattr(fetched, "poster", None)
        if is_public_url(poster):
            frames.append({"t": None, "what": "poster", "image_url": poster,
                           "links": links(poster)})
        return {"keyframes": frames} if frames else None
    url = getattr(fetched, "final_url", None) or getattr(fetched, "url", None) or \
        getattr(item, "source_url", None)
    if not is_public_url(url):
        return None
    return {"image_url": url, "links": links(url)}
