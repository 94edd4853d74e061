"""Fetch stage: get a claim's media from a URL and keep the evidence (see capture.py).

Flow: claim -> **fetch** -> media -> match -> archive -> checks -> report.

The package is also the stage's main call: `osintkit.fetch(url, out_dir, ...)` is
`osintkit.fetch.fetch(url, out_dir, ...)`, so `from osintkit import fetch` gives the same
callable whichever of the package or the function a caller has in mind.
"""

import sys
import types
from typing import Any

from osintkit.fetch.capture import Capture, FetchedItem, fetch
from osintkit.fetch.pages import MediaRef, PageRecord
from osintkit.fetch.sources import find_media, parse_page
from osintkit.fetch.sources.telegram import ChannelPage, TelegramPost, parse_channel_page
from osintkit.fetch.verification import EvidenceCheck, check_evidence


class _CallableStage(types.ModuleType):
    """This package, callable as its main function `fetch`."""

    def __call__(self, *args: Any, **kwargs: Any) -> Capture:
        return fetch(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableStage

__all__ = [
           "Capture",
           "ChannelPage",
           "EvidenceCheck",
           "FetchedItem",
           "MediaRef",
           "PageRecord",
           "TelegramPost",
           "check_evidence",
           "fetch",
           "find_media",
           "parse_channel_page",
           "parse_page",
]
