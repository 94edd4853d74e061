"""Fetch stage: get a claim's media from a URL and keep the evidence (see capture.py).

Flow: claim -> **fetch** -> media -> archive -> checks -> report.
"""

from osintkit.fetch.capture import Capture, FetchedItem, fetch
from osintkit.fetch.pages import MediaRef, PageRecord
from osintkit.fetch.sources import find_media, parse_page
from osintkit.fetch.sources.telegram import ChannelPage, TelegramPost, parse_channel_page
from osintkit.fetch.verification import EvidenceCheck, check_evidence

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
