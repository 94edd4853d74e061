"""A claim's spread: the same picture or video as it travelled between the claim's URLs.

A claim rarely comes from one place: the agency posts, channels re-post, crop, translate
and forward. For a claim with several URLs, `build_spread(media)` groups the claim's media
by what they show -- perceptual match, not bytes: PDQ over the 8 dihedral transforms, then
`compare.compare_files` (views, local-feature geometry) for what the hashes miss -- and
lists every appearance of each group: the URL that carried it, its post time, Telegram's
forwarded-from, and the edits from the earliest appearance to this one (`edits.py`:
cropped, mirrored, re-encoded, logo added...). `origin_of` records, at fetch time, which
post or page carried a media item and when it was posted.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

MAX_COMPARED = 40  # media items; beyond, only the hashes group them (compare is ~0.2 s/pair)


# ---------------------------------------------------------------- where each item came from
def _utc(value: Any) -> str | None:
    if not value:
        return None
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(
            str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def _server_time(headers: dict[str, str] | None) -> str | None:
    value = next((v for k, v in (headers or {}).items() if k.lower() == "last-modified"), None)
    with contextlib.suppress(TypeError, ValueError):
        return _utc(parsedate_to_datetime(value)) if value else None
    return None


def origin_of(fetched: Any, page: Any, claim_url: str) -> dict[str, Any]:
    """The post or page that carried a fetched item: {url, posted_at (UTC), posted_from,
    forwarded_from, author, text, claim_url}. Telegram: the item's own post."""
    out: dict[str, Any] = {"url": claim_url, "posted_at": None, "posted_from": None,
                           "forwarded_from": None, "author": None, "text": None,
                           "claim_url": claim_url}
    post = None
    if page is not None and getattr(page, "kind", None) == "telegram":
        want = getattr(fetched, "post_id", None)
        post = next((p for p in getattr(page, "posts", None) or []
                     if getattr(p, "post_id", None) == want), None)
    if post is not None:
        out.update(url=post.url, posted_at=_utc(post.published_at), author=post.author,
                   forwarded_from=post.forwarded_from, text=post.text)
        out["posted_from"] = "post time" if out["posted_at"] else None
    elif page is not None and getattr(page, "kind", None) != "direct":
        out.update(url=getattr(page, "final_url", None) or claim_url,
                   posted_at=_utc(getattr(page, "published_at", None)),
                   author=getattr(page, "author", None),
                   forwarded_from=getattr(page, "forwarded_from", None))
        out["posted_from"] = "page publication time" if out["posted_at"] else None
    if out["posted_at"] is None:
        out["posted_at"] = _server_time(getattr(fetched, "headers", None))
        out["posted_from"] = "server Last-Modified" if out["posted_at"] else None
    return out


# ---------------------------------------------------------------- the spread
@dataclass
class Appearance:
    """One place a picture or video appeared."""

    media_id: str
    url: str | None  # the post or page (None: a local file)
    media_url: str | None  # the file itself
    posted_at: str | None
    posted_from: str | None  # "post time", "page publication time", "server Last-Modified"
    forwarded_from: dict[str, Any] | None
    author: str | None = None
    earliest: bool = False
    transform: str = ""  # from the earliest appearance to this one, for people
    edits: list[str] = field(default_factory=list)  # stable tags ("mirrored", "cropped"...)
    relation: dict[str, Any] | None = None  # edits.Edits.to_dict()

    def to_dict(self) -> dict[str, Any]:
        return {"media_id": self.media_id, "url": self.url, "media_url": self.media_url,
                "posted_at": self.posted_at, "posted_from": self.posted_from,
                "forwarded_from": self.forwarded_from, "author": self.author,
                "earliest": self.earliest, "transform": self.transform, "edits": self.edits,
                "relation": self.relation}


@dataclass
class SpreadGroup:
    """Every appearance of one picture or video, earliest first."""

    kind: str
    appearances: list[Appearance]

    @property
    def media_ids(self) -> list[str]:
        return [a.media_id for a in self.appearances]

    @property
    def earliest(self) -> Appearance | None:
        return next((a for a in self.appearances if a.earliest), None)

    def to_dict(self) -> dict[str, Any]:
        first = self.earliest
        return {"media_ids": self.media_ids, "kind": self.kind,
                "earliest": first.media_id if first else None,
                "appearances": [a.to_dict() for a in self.appearances]}


class _Groups:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        self.parent[self.find(i)] = self.find(j)


def _same_by_hashes(a: Any, b: Any) -> bool:
    """Identical bytes, a PDQ within its near threshold (PDQ_NEAR) over the dihedral
    transforms, or (videos) a shared segment of frames."""
    ha, hb = a.hashes, b.hashes
    if ha.sha256 and ha.sha256 == hb.sha256:
        return True
    if a.kind == "video":
        from osintkit.match.segments import match_frame_lists

        return bool(match_frame_lists(ha.frames, hb.frames))
    from osintkit.match.hashing import PDQ_NEAR, hamming

    target = hb.hashes.get("pdq")
    variants = getattr(ha, "variants", None) or {"none": ha.hashes.get("pdq")}
    return bool(target) and any(v and hamming(v, target) <= PDQ_NEAR
                                for v in variants.values())


def _same_by_compare(a: Any, b: Any) -> bool:
    from osintkit.match.compare import compare_files

    res = compare_files(a.path, b.path, robust=a.kind == "image")
    return res.ok and res.verdict in ("identical", "near-duplicate")


def _group(items: list[Any]) -> list[list[Any]]:
    groups = _Groups(len(items))
    for i in range(len(items)):
        for j in range(i):
            if items[i].kind == items[j].kind and groups.find(i) != groups.find(j) and \
                    _same_by_hashes(items[i], items[j]):
                groups.union(i, j)
    if len(items) <= MAX_COMPARED:  # crops, logos: the geometry decides, once per group pair
        reps = sorted({groups.find(i) for i in range(len(items))})
        for x, i in enumerate(reps):
            for j in reps[:x]:
                if items[i].kind == items[j].kind and groups.find(i) != groups.find(j) and \
                        _same_by_compare(items[i], items[j]):
                    groups.union(i, j)
    out: dict[int, list[Any]] = {}
    for i, item in enumerate(items):
        out.setdefault(groups.find(i), []).append(item)
    return list(out.values())


def _appearance(item: Any) -> Appearance:
    origin = getattr(item, "origin", None) or {}
    fetched = getattr(item, "fetched", None)
    media_url = getattr(fetched, "url", None) or item.source_url
    return Appearance(item.id, origin.get("url") or item.source_url, media_url,
                      origin.get("posted_at"), origin.get("posted_from"),
                      origin.get("forwarded_from"), origin.get("author"))


def _when(app: Appearance) -> tuple[int, str]:
    return (0, app.posted_at) if app.posted_at else (1, "")


def build_spread(media: list[Any]) -> list[SpreadGroup]:
    """Groups of the claim's pictures and videos (by what they show), each with every
    appearance, the earliest first, and the edits from the earliest to each other copy."""
    from osintkit.edits import describe_edits

    items = [m for m in media if m.ok and m.path is not None and m.hashes is not None
             and getattr(m.hashes, "ok", False) and m.kind in ("image", "video")]
    out = []
    for members in _group(items):
        by_id = {m.id: m for m in members}
        apps = sorted((_appearance(m) for m in members), key=_when)
        first = apps[0]
        first.earliest = first.posted_at is not None or len(apps) == 1
        first.transform = "earliest" if first.earliest else "first listed (no post time)"
        for app in apps[1:]:
            try:
                rel = describe_edits(by_id[app.media_id].path, by_id[first.media_id].path,
                                     kind=by_id[app.media_id].kind)
            except Exception as exc:  # one unreadable pair never loses the spread
                app.transform = f"not compared ({type(exc).__name__})"
                continue
            app.transform, app.edits, app.relation = rel.label, rel.edits, rel.to_dict()
        out.append(SpreadGroup(members[0].kind, apps))
    out.sort(key=lambda g: (-len(g.appearances), g.media_ids[0]))
    return out
