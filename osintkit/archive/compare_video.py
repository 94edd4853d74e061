"""Media stage, comparison of two videos (or a video and a photo) beyond their frame
hashes: the archive's robust video match (videomatch.py, archive/videosearch.py) run on
two files, B standing for the archived item and A for the query (the video, when only
one side is). B goes through exactly what `archive add` keeps of it (shots, strip,
features packed as the database holds them), so `compare A B` and `verify A` against an
archive holding B give the same segment times: one sampling, one answer.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from osintkit.archive import videomatch as vmod
from osintkit.archive import videosearch as vsearch

CompareResult = Any  # compare.CompareResult (compare.py calls this module: no import back)

ITEM = "B"  # the item id B stands under


class FileSource(vsearch.Source):
    """One file as the archive: a video's shots and strip, or a photo's features."""

    def __init__(self, entries: list[Any], pixels: Any = None, picture: Any = None) -> None:
        from osintkit.archive.bow import WordIndex
        from osintkit.archive.videostore import extract
        from osintkit.match.localfeat import pack, unpack, vocabulary

        self.photo = None
        self.item: vmod.ItemVideo | None = None
        nwords = len(vocabulary())
        if pixels is not None:
            vl = extract(pixels)
            shots = {}
            for k, row in enumerate(vl.shots, 1):  # as stored: packed points, float32 times
                lp = row.picture
                row.picture = unpack(pack(lp), lp.thumb) if len(lp.descriptors) else lp
                row.id, row.item_id = k, ITEM
                shots[k] = row
            strip = vl.strip
            if strip is not None:
                strip.times = strip.times.astype(np.float32)
            frames = [(float(np.float32(e.t)), e.hashes.get("pdq"), e.hashes.get("pdq_quality"))
                      for e in entries]
            self.item = vmod.ItemVideo(ITEM, frames, strip, shots)
            ids = [k for k, r in shots.items() if r.words]
            self.index = WordIndex.build(ids, [np.frombuffer(shots[k].words, "<u2")
                                               for k in ids], nwords)
        else:  # decoded as `archive add` decodes a photo for its features
            from osintkit.archive.local import extract_file

            local = extract_file(picture)
            self.photo = unpack(pack(local.picture), local.picture.thumb) \
                if local.status == "ok" else None
            self.index = WordIndex.build([0], [np.frombuffer(local.words, "<u2")], nwords) \
                if local.words else None

    def image_candidates(self, words: list[Any], k: int, exclude: set[int]) -> list[Any]:
        if self.photo is None or self.index is None or ITEM in exclude:
            return []
        got = self.index.query(words, k)
        for c in got:
            c.item_id = ITEM
        return got

    def shot_candidates(self, words: list[Any], k: int, exclude: set[int]) -> list[Any]:
        if self.item is None:
            return []
        return self.index.query(words, k, exclude=exclude)

    def images(self, ids: list[Any]) -> dict[Any, Any]:
        return {ITEM: self.photo} if ITEM in ids and self.photo is not None else {}

    def shots(self, ids: list[int]) -> dict[int, Any]:
        return {i: self.item.shots[i] for i in ids if self.item and i in self.item.shots}

    def item_video(self, item_id: Any) -> vmod.ItemVideo:
        assert self.item is not None
        return self.item


def robust_pair(res: CompareResult, sa: Any, sb: Any) -> None:
    """Segments of the robust match of the video side(s), into `res` (A is the query,
    or the video when only one side is one). Sides carry `pixels` (compare._load_side)."""
    from osintkit.match.views import archive_view_hashes

    query, other = (sa, sb) if sa.kind == "video" else (sb, sa)
    q = vmod.QueryVideo.of(SimpleNamespace(frames=query.entries, pixels=query.pixels))
    if q is None:
        return
    if other.kind == "video":
        source = FileSource(other.entries, pixels=other.pixels)
        pairs, _ = vmod.pdq_pairs(q, source.item, vmod.PDQ_SEED)
        found, _ = vsearch.run(source, q, [ITEM] if pairs else [], {})
    else:
        source = FileSource([], picture=other.path)
        targets = [other.entries[0].hashes["pdq"]] + \
            [v.pdq["none"] for v in archive_view_hashes(other.image)]
        hits = _photo_hits(q, targets)
        found, _ = vsearch.run(source, q, [], {ITEM: hits} if hits else {})
    if not found:
        return
    vm = found[0].match
    res.segments = vm.segments
    if other.kind == "video":
        res.transform = vm.transform
    if vm.geometry and not res.geometry:
        res.geometry = vm.geometry
    if vm.shot and not res.shot:
        res.shot = vm.shot
    _verdict(res, vm, other.kind == "video")


def _photo_hits(q: vmod.QueryVideo, targets: list[str]) -> dict[int, int]:
    """{frame index: PDQ distance} of query frames (whole or box, plain or mirrored)
    within 31 bits of the photo or one of its sub-views."""
    from osintkit.match.segments import distance_matrix

    out: dict[int, int] = {}
    for i, f in enumerate(q.frames):
        hexes = [h for k, h in (getattr(f, "variants", None) or {}).items()
                 if k in ("none", "mirror")] or [f.hashes.get("pdq")]
        hexes += [h for v in (q.box_pdq[i] if q.box_pdq else []) for h in v.values()]
        hexes = [h for h in hexes if h]
        if not hexes or int(f.hashes.get("pdq_quality") or 0) < vmod.MIN_QUALITY:
            continue
        d = int(distance_matrix(hexes, targets).min())
        if d <= vmod.PDQ_SEED:
            out[i] = d
    return out


def _verdict(res: CompareResult, vm: vmod.VideoMatch, videos: bool) -> None:
    """The verdict and headline when the robust match says more than the hashes."""
    spans = ", ".join(f"{s.query_start:.1f}–{s.query_end:.1f} s" +
                      (f" ↔ {s.item_start:.1f}–{s.item_end:.1f} s"
                       if s.item_start is not None else "") for s in vm.segments[:3])
    what = "footage" if videos else "the photo"
    if vm.kind == "scene":
        if res.verdict != "identical":
            res.verdict, res.decided_by = "same-scene", "geometry"
            res.headline = f"another shot of the same scene: {spans}"
        return
    if vm.kind != "near":
        return
    if res.verdict in ("similar", "different"):
        res.verdict, res.decided_by = "near-duplicate", vm.basis.split("+")[-1]
        if res.decided_by == "hashes":
            res.decided_by = "views"
        geo = (vm.geometry or {}).get("explanation")
        res.headline = f"{what} matched at {spans}" + (f" ({geo})" if geo else "")
        res.notes.append(f"matched by the robust video match: {res.headline}")
    elif res.headline and spans:
        res.headline += f"; {what} at {spans}"
