"""Archive stage, the robust search of a query video (the default for videos): every
archived video and photo it shows, as segments with times, copy or another shot.

    hash index (frames, their video box) ──► archived videos and photos found by PDQ
    each shot not yet explained: its representative frame ──► robust.QueryPicture
        ──► candidates: photos (archive/bow.py) and shots (videostore.shot_words)
        ──► fits on the stored features
    every video or photo found ──► videomatch.match_video / videophoto.match_photo: segments

Shots already explained by a match are not searched again, so a plain re-upload costs
little more than its hashes. `Source` is where candidates and stored features come
from: the archive here, a single file for `compare` (compare_video.py), so both give the
same segments for the same pair.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from osintkit.archive import videomatch as vmod
from osintkit.archive.videokind import Fit
from osintkit.archive.videophoto import match_photo

CANDIDATES = 4  # proposed per index (photos, shots) for each representative frame
MAX_FITS = 160  # fits per query video at most; the result's notes say when cut
OTHER_SIDE = 0.7  # as robust.OTHER_SIDE: the other orientation too when its vote is close


class Source:
    """Where candidates and stored features come from (the archive: `ArchiveSource`)."""

    def image_candidates(self, words: list[Any], k: int, exclude: set[int]) -> list[Any]:
        return []

    def shot_candidates(self, words: list[Any], k: int, exclude: set[int]) -> list[Any]:
        return []

    def images(self, ids: list[int]) -> dict[int, Any]:
        return {}

    def shots(self, ids: list[int]) -> dict[int, Any]:
        return {}

    def item_video(self, item_id: Any) -> vmod.ItemVideo:
        raise NotImplementedError


class ArchiveSource(Source):
    """Candidates from the archive's word indexes, features from its tables."""

    def __init__(self, archive: Any) -> None:
        self.archive = archive
        self._items: dict[Any, vmod.ItemVideo] = {}

    def image_candidates(self, words: list[Any], k: int, exclude: set[int]) -> list[Any]:
        return self.archive.words().query(words, k, exclude=exclude)

    def shot_candidates(self, words: list[Any], k: int, exclude: set[int]) -> list[Any]:
        from osintkit.archive.videostore import shot_words

        return shot_words(self.archive).query(words, k, exclude=exclude)

    def images(self, ids: list[int]) -> dict[int, Any]:
        from osintkit.archive import local

        return local.load(self.archive.db, ids)

    def shots(self, ids: list[int]) -> dict[int, Any]:
        from osintkit.archive.videostore import load_shots

        return load_shots(self.archive.db, shot_ids=ids)

    def item_video(self, item_id: Any) -> vmod.ItemVideo:
        from osintkit.archive.videostore import load_shots, load_strip

        if item_id not in self._items:
            db = self.archive.db
            frames = [(float(f["t"]), f["hashes"].get("pdq"), f["hashes"].get("pdq_quality"))
                      for f in self.archive.frames_of([item_id]).get(item_id, [])]
            self._items[item_id] = vmod.ItemVideo(item_id, frames, load_strip(db, item_id),
                                                  load_shots(db, item_ids=[item_id]))
        return self._items[item_id]


@dataclass
class Found:
    """The robust search's result for one archived item."""

    item_id: Any
    kind: str  # "video" | "image"
    match: vmod.VideoMatch
    thumb: bytes | None = None  # a stored picture of what matched (report)
    shot_thumbs: list[tuple[float, float, bytes]] = field(default_factory=list)


@dataclass
class _State:
    found: dict[Any, Found] = field(default_factory=dict)
    fits: int = 0
    cut: int = 0
    explained: set[int] = field(default_factory=set)  # query frame indexes

    def explain(self, q: vmod.QueryVideo, vm: vmod.VideoMatch) -> None:
        for s in vm.segments:
            self.explained |= {i for i, t in enumerate(q.times)
                               if s.query_start <= t < s.query_end}


def run(source: Source,  # noqa: C901  (the module doc's steps, in order)
        q: vmod.QueryVideo, hash_videos: list[Any],
        hash_images: dict[Any, dict[int, int]], exclude: set[int] = frozenset(),
        k: int = CANDIDATES, max_fits: int = MAX_FITS) -> tuple[list[Found], list[str]]:
    """Every archived video and photo the query shows (see the module doc).

    `hash_videos`: archived videos the hash index found; `hash_images`: archived photos
    it found, with {query frame index: PDQ distance}; `exclude`: items not to propose
    (exact matches). Returns (found, notes)."""
    st = _State()
    for item_id in hash_videos:
        _accept_video(st, q, source, item_id, [])
    if hash_images:
        stored = source.images(list(hash_images))
        for item_id, frames in hash_images.items():
            _accept_photo(st, q, item_id, stored.get(item_id), [], frames, [max_fits])
    photo_fits: dict[Any, list[Fit]] = {}
    shot_fits: dict[Any, list[Fit]] = {}
    budget = [max_fits]
    for span in q.shots:
        if span.rep in st.explained or q.frames[span.rep].hashes.get("pdq_quality", 0) < \
                vmod.MIN_QUALITY:
            continue
        if budget[0] <= 0:
            st.cut += 1
            continue
        new = _fit_rep(st, q, source, span.rep, exclude, k, budget, photo_fits, shot_fits)
        for item_id in new["video"]:
            _accept_video(st, q, source, item_id, shot_fits[item_id])
        if new["image"]:
            stored = source.images(new["image"])
            for item_id in new["image"]:
                _accept_photo(st, q, item_id, stored.get(item_id), photo_fits[item_id],
                              hash_images.get(item_id, {}), budget)
    notes = []
    if st.cut:
        notes.append(f"{st.cut} shot(s) of the video not searched by local features "
                     f"(at most {max_fits} fits per video)")
    ranked = sorted(st.found.values(), key=lambda f: (
        f.match.kind != "near", -f.match.seconds,
        f.match.best_pdq if f.match.best_pdq is not None else 256, str(f.item_id)))
    return ranked, notes


def _accept_video(st: _State, q: vmod.QueryVideo, source: Source, item_id: Any,
                  fits: list[Fit]) -> None:
    item = source.item_video(item_id)
    vm = vmod.match_video(q, item, fits)
    if vm.kind is None or not vm.segments:
        return
    old = st.found.get(item_id)
    if old is not None and (old.match.kind == "near", old.match.seconds) >= \
            (vm.kind == "near", vm.seconds):
        return  # found again with another fit: keep the better explanation
    covered = [(r.t0, r.t1, r.picture.thumb) for r in item.shots.values() if r.picture.thumb
               and any(s.item_start is not None and r.t0 < (s.item_end or 0) and
                       r.t1 > s.item_start for s in vm.segments)]
    st.found[item_id] = Found(item_id, "video", vm, _shot_thumb(item, vm), covered)
    st.explain(q, vm)


def _accept_photo(st: _State, q: vmod.QueryVideo, item_id: Any, lp: Any,
                  fits: list[Fit], frames: dict[int, int], budget: list[int]) -> None:
    if lp is None:  # no stored features: the PDQ-matched frames only
        strong = {i: d for i, d in frames.items() if d <= vmod.PDQ_SEED}
        if not strong:
            return
        vm = match_photo(q, None, [], strong, [0])
    else:
        vm = match_photo(q, lp, fits, {i: d for i, d in frames.items()
                                             if d <= vmod.PDQ_SEED}, budget)
    if vm.kind is None or not vm.segments:
        return
    st.found[item_id] = Found(item_id, "image", vm, lp.thumb if lp is not None else None)
    st.explain(q, vm)


def _fit_rep(st: _State, q: vmod.QueryVideo, source: Source, rep: int, exclude: set[int],
             k: int, budget: list[int], photo_fits: dict[Any, list[Fit]],
             shot_fits: dict[Any, list[Fit]]) -> dict[str, list[Any]]:
    """Candidates of one representative frame fitted; the items newly confirmed."""
    from osintkit.archive.robust import confirm, kind_of
    from osintkit.match.geometry import match_features

    qp = q.picture(rep)
    found_images = {i for i, f in st.found.items() if f.kind == "image"}
    new: dict[str, list[Any]] = {"video": [], "image": []}
    cands = source.image_candidates(qp.words, k, set(exclude) | found_images)
    stored = source.images([c.item_id for c in cands])
    for c in cands:
        lp = stored.get(c.item_id)
        if lp is None or budget[0] <= 0:
            continue
        budget[0] -= 1
        geo, shot = confirm(qp, lp, *_hint(c))
        if kind_of(geo, shot) is not None:
            photo_fits.setdefault(c.item_id, []).append(Fit(rep, None, geo, shot))
            if c.item_id not in new["image"]:
                new["image"].append(c.item_id)
    # Shots of videos already found stay candidates: a query shot their segments do not
    # explain yet may fit one of them, and its mapping may align the whole copy where
    # the first fit could not (match_video tries each fitted shot's mapping).
    scands = source.shot_candidates(qp.words, k, set())
    rows = source.shots([c.item_id for c in scands])
    for c in scands:
        row = rows.get(c.item_id)
        if row is None or row.item_id in new["video"] or row.item_id in exclude or \
                budget[0] <= 0:
            continue
        budget[0] -= 1
        side, either = _hint(c)
        geo = match_features(qp.features, qp.mirrored, row.picture.features(),
                             mirrored_only=side)
        if side is not None and either and not geo.confirmed:
            other = match_features(qp.features, qp.mirrored, row.picture.features(),
                                   mirrored_only=not side)
            geo = other if other.inliers > geo.inliers else geo
        if geo.confirmed:
            shot_fits.setdefault(row.item_id, []).append(Fit(rep, row.id, geo))
            new["video"].append(row.item_id)
    return new


def _hint(c: Any) -> tuple[bool | None, bool]:
    """(orientation to fit first, try the other too) from a candidate's word votes."""
    if len(getattr(c, "scores", ())) == 2:
        side = c.best_set == 1
        return side, c.scores[int(not side)] >= OTHER_SIDE * c.score
    return None, True


def _shot_thumb(item: vmod.ItemVideo, vm: vmod.VideoMatch) -> bytes | None:
    """The stored thumbnail of the archived shot nearest the first matched moment."""
    if not item.shots or not vm.segments:
        return None
    t = vm.segments[0].item_start or 0.0
    row = min(item.shots.values(), key=lambda r: abs(r.t - t))
    return row.picture.thumb or None


# ---------------------------------------------------------------- the archive's search
def query(result: Any) -> vmod.QueryVideo | None:
    """The QueryVideo of a video HashResult hashed with its pixels (else None)."""
    if getattr(result, "kind", None) != "video":
        return None
    try:
        return vmod.QueryVideo.of(result)
    except Exception:  # undecodable kept pixels: the hashes alone are searched
        return None


def box_units(q: vmod.QueryVideo | None) -> list[Any]:
    """Hash-index units of each frame's video box (where a player or a blurred fill
    holds the video): searched beside the whole frames."""
    from osintkit.archive.search import QueryUnit

    if q is None or not q.boxes:
        return []
    return [QueryUnit(float(t), dict(h), None, view="content", region=q.boxes[b])
            for t, hs in zip(q.times, q.box_pdq, strict=True)
            for b, h in enumerate(hs) if h]


def search(archive: Any, result: Any, q: vmod.QueryVideo | None, near: list[Any],
           exact: list[Any], candidates: int | None = None) -> tuple[list[Any], list[str]]:
    """The matches of a query video, each with its segments: the robust search when its
    pixels were kept (`q`), else the hash index's frame pairs grouped into segments."""
    if q is None:
        return _hash_only(result, near), []
    if any(m.kind == "video" for m in exact):  # the very file: nothing else to look for
        return _hash_only(result, near), []
    times = {round(t, 3): i for i, t in enumerate(q.times)}
    hash_videos = [m.item_id for m in near if m.kind == "video"]
    hash_images: dict[Any, dict[int, int]] = {}
    for m in near:
        if m.kind == "video":
            continue
        frames = hash_images.setdefault(m.item_id, {})
        for fm in m.frame_matches or [m]:
            i = times.get(round(fm.query_t, 3)) if fm.query_t is not None else None
            d = (fm.distance or {}).get("pdq")
            if i is not None and d is not None:
                frames[i] = min(d, frames.get(i, 999))
    found, notes = run(ArchiveSource(archive), q, hash_videos, hash_images,
                       {m.item_id for m in exact}, candidates or CANDIDATES)
    return _matches(archive, near, found), notes


def _matches(archive: Any, near: list[Any], found: list[Found]) -> list[Any]:
    from osintkit.archive.models import FrameMatch, match_of

    by_id = {m.item_id: m for m in near}
    items = archive.items([f.item_id for f in found if f.item_id not in by_id])
    out = []
    for f in found:
        vm = f.match
        m = by_id.get(f.item_id)
        if m is None:
            item = items.get(f.item_id)
            if item is None:
                continue
            m = match_of(item, {}, vm.transform, vm.kind, None, None)
        best = min((x for s in vm.segments for x in s.matches), key=lambda x: x.distance)
        m.match, m.transform, m.basis = vm.kind, vm.transform, vm.basis
        m.query_t, m.item_t = best.query_t, best.item_t
        if vm.best_pdq is not None:
            m.distance = {**m.distance, "pdq": vm.best_pdq}
        m.geometry, m.shot = vm.geometry or m.geometry, vm.shot or m.shot
        m.frame_matches = [FrameMatch(x.query_t, x.item_t, {x.source: x.distance}, x.transform)
                           for x in vm.pairs]
        m.segments = [s.to_dict() for s in vm.segments]
        m.thumb_jpeg = f.thumb or m.thumb_jpeg
        m.shot_thumbs = f.shot_thumbs
        out.append(m)
    return out


def _hash_only(result: Any, near: list[Any]) -> list[Any]:
    """Hash matches of a video query with the segments their frame pairs make."""
    from osintkit.match.segments import group_matches

    frames = getattr(result, "frames", None) or []
    times = [f.t for f in frames] or None
    segs = group_matches(near, times)
    for m in near:
        m.segments = [s.to_dict() for s in segs.get(m.item_id, [])]
    return near
