"""Fetch stage: get a claim's media from a URL and keep the evidence (see capture.py).

Flow: claim -> **fetch** -> media -> archive -> checks -> report.
"""

from osintkit.fetch.capture import Capture, FetchedItem, fetch
from osintkit.fetch.evidence import EvidenceCheck, check_evidence
from osintkit.fetch.pages import MediaRef, PageRecord, TelegramPost, find_media, parse_page

__all__ = ["Capture", "EvidenceCheck", "FetchedItem", "MediaRef", "PageRecord", "TelegramPost",
           "check_evidence", "fetch", "find_media", "parse_page"]
