"""Archive stage: known material (earlier propaganda, news photos, stock footage) and the
search that tells whether a claim's media was seen before.

    archive = open_archive("sqlite:///known.sqlite")     # or postgresql://..., None = default
    archive.add(["old/"], source="agency", first_seen="2024-05-01")
    for m in archive.search(hash_file("claim.jpg")):
        print(m.first_seen, m.transform, m.distance)
"""

from osintkit.archive.core import Archive, open_archive
from osintkit.archive.models import AddResult, FrameMatch, Item, Match, SearchResult
from osintkit.errors import ArchiveError

__all__ = ["AddResult", "Archive", "ArchiveError", "FrameMatch", "Item", "Match",
           "SearchResult", "open_archive"]
