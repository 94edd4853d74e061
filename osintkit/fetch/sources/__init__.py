"""Where claim media come from: the sources, registered in the order they are tried
(the registry and the `Source` interface are in base.py).

`parse_page(html, url)` reads a page already fetched with the source its content calls
for: a Telegram widget page with the telegram source's parser, anything else with the
article source's (main content, lead image, players and galleries vs page furniture).
"""

from __future__ import annotations

from osintkit.fetch.pages import MediaRef, PageRecord, parse_html

# Importing a source registers it; the order of these imports is the order they are tried.
# isort: off
from osintkit.fetch.sources import ytdlp, telegram, direct, article  # noqa: F401
# isort: on
from osintkit.fetch.sources.base import (
    SOURCES,
    Context,
    Landing,
    Resolution,
    Source,
    candidates,
    register,
)


def parse_page(html: str | bytes, url: str, *,
               all_posts: bool = False) -> tuple[PageRecord, list[MediaRef]]:
    """The page record and the media it references, each with its role (claim/furniture)."""
    if telegram.is_telegram_page(html) and parse_html(html).css_first(
            ".tgme_widget_message[data-post]") is not None:
        return telegram.parse_telegram(html, url, all_posts=all_posts)
    return article.parse_article(html, url)


def find_media(html: str | bytes, base_url: str) -> list[MediaRef]:
    """Media referenced by a page, best first, without duplicates."""
    return parse_page(html, base_url)[1]


__all__ = ["SOURCES", "Context", "Landing", "Resolution", "Source", "candidates",
           "find_media", "parse_page", "register"]
