"""Report block "Matched segments": for each segment of a video that matches archived
footage or shows an archived photo, a strip of paired frames -- the claim's frame and
the archived frame at the matching moment, with both times -- so a reader sees the
match for themselves. Rendered by the self-contained `_video_strips.html.j2`, included
in each video's card of report.html.j2.

The claim's frames are decoded from its file (one pass per video). The archived frames
come from the archived file when the archive records a readable one, else from the
thumbnails the archive keeps of the matched shots (schema v7; labelled "stored shot"),
or the archived photo's stored thumbnail.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

STRIP_FRAMES = 5  # pairs per segment
MAX_SEGMENTS = 4  # strips per match
THUMB = 200  # longer side of each picture in a strip


def _uri(img: Any) -> str:
    from osintkit.report.scene import image_uri

    return image_uri(img, THUMB, 78)


def _jpeg_uri(data: bytes) -> str | None:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            return _uri(im)
    except Exception:
        return None


def frames_at(path: Any, times: list[float]) -> dict[float, str]:
    """{t: data URI} of a video's frames nearest each time (one decoding pass, frames
    sampled twice a second); {} when the file cannot be read."""
    from osintkit.media.frames import sample_frames

    want = sorted(set(times))
    if not want or not path or not Path(path).is_file():
        return {}
    out: dict[float, str] = {}
    best: dict[float, tuple[float, Any]] = {}
    try:
        for fr in sample_frames(path, every=0.5, scenes=False):
            for t in want:
                d = abs(fr.t - t)
                if t not in best or d < best[t][0]:
                    best[t] = (d, fr.image)
            if fr.t > want[-1] + 1.0:
                break
    except Exception:  # a truncated file: what was decoded
        pass
    for t, (_, img) in best.items():
        out[t] = _uri(img)
    return out


def _spread(a: float, b: float, n: int = STRIP_FRAMES) -> list[float]:
    if b - a <= 0.5:
        return [round(a, 3)]
    n = max(2, min(n, int((b - a) / 0.5) + 1))
    return [round(a + (b - a) * (k + 0.5) / n, 3) for k in range(n)]


def strips(item: Any) -> list[dict[str, Any]]:
    """The strips of one media item (a video with archive matches carrying segments)."""
    if getattr(item, "kind", None) != "video" or not getattr(item, "matches", None):
        return []
    plans = []
    for m in item.matches:
        for seg in (getattr(m, "segments", None) or [])[:MAX_SEGMENTS]:
            qs = _spread(float(seg["query_start"]), float(seg["query_end"]))
            plans.append((m, seg, [(qt, _item_t(seg, qt)) for qt in qs]))
    if not plans:
        return []
    claim = frames_at(item.path, [qt for _, _, ts in plans for qt, _ in ts])
    wanted: dict[Any, list[float]] = {}
    for m, _, ts in plans:
        wanted.setdefault(m.item_id, []).extend(at for _, at in ts if at is not None)
    archived = {i: frames_at(_origin(item, m), wanted[i]) for i, m in
                {m.item_id: m for m, _, _ in plans}.items() if wanted.get(i)}
    out = []
    for m, seg, ts in plans:
        pairs = []
        for qt, at in ts:
            src, label = _archived(m, at, item, archived.get(m.item_id, {}))
            pairs.append({"q_t": qt, "q_src": claim.get(qt), "a_t": at, "a_src": src,
                          "a_label": label})
        out.append({"name": m.name, "match": m.match, "kind": m.kind,
                    "item_id": m.item_id, "segment": seg, "pairs": pairs})
    return out


def _item_t(seg: dict[str, Any], qt: float) -> float | None:
    """The archived moment shown at query time qt (None: an archived photo)."""
    if seg.get("item_start") is None:
        return None
    speed = float(seg.get("speed") or 1.0)
    return round(float(seg["item_start"]) + (qt - float(seg["query_start"])) * speed, 3)


def _archived(m: Any, at: float | None, item: Any,
              decoded: dict[float, str]) -> tuple[str | None, str]:
    """(picture, label) of the archived side at archive time `at`."""
    if at is None:  # a photo: the photo itself
        origin = _origin(item, m)
        if origin is not None:
            from osintkit.match.hashing import load_image

            try:
                return _uri(load_image(origin, size=THUMB * 2)), "archived photo"
            except Exception:
                pass
        jpeg = getattr(m, "thumb_jpeg", None)
        return (_jpeg_uri(jpeg) if jpeg else None), "archived photo (stored thumbnail)"
    if decoded.get(at):
        return decoded[at], f"{at:.1f} s"
    for t0, t1, jpeg in getattr(m, "shot_thumbs", None) or []:
        if t0 <= at < t1:
            return _jpeg_uri(jpeg), f"{at:.1f} s (stored shot {t0:.1f}–{t1:.1f} s)"
    return None, f"{at:.1f} s"


def _origin(item: Any, m: Any) -> Path | None:
    archived = (getattr(item, "archived", None) or {}).get(m.item_id)
    origin = getattr(archived, "origin", None)
    if not origin or "://" in str(origin):
        return None
    p = Path(origin)
    return p if p.is_file() else None
