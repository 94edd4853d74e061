"""Checks on place: GPS coordinates in the metadata against the claimed place."""

from __future__ import annotations

import math
from typing import Any

from osintkit.checks import CheckContext, Finding, check

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance in km. Hand-written: four lines, no dependency needed."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def osm_url(lat: float, lon: float, lat2: float | None = None, lon2: float | None = None) -> str:
    """OpenStreetMap link: one marker, or the route between two points (both shown)."""
    if lat2 is None or lon2 is None:
        return (f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}"
                f"#map=12/{lat:.5f}/{lon:.5f}")
    return (f"https://www.openstreetmap.org/directions?route="
            f"{lat:.6f}%2C{lon:.6f}%3B{lat2:.6f}%2C{lon2:.6f}")


def media_gps(ctx: CheckContext) -> tuple[float, float] | None:
    """The item's GPS position, None when absent (0,0 'null island' counts as absent)."""
    gps = ctx.item.summary.gps if ctx.item and ctx.item.summary else None
    if gps is None:
        return None
    lat, lon = gps.lat, gps.lon
    if lat is None or lon is None or (lat == 0 and lon == 0):
        return None
    return float(lat), float(lon)


def _evidence(ctx: CheckContext, pos: tuple[float, float], dist: float) -> dict[str, Any]:
    place = ctx.claim.place
    assert place is not None
    return {"media_lat": pos[0], "media_lon": pos[1], "claimed_lat": place.lat,
            "claimed_lon": place.lon, "place": place.name, "distance_km": round(dist, 2),
            "radius_km": place.radius_km,
            "map_url": osm_url(pos[0], pos[1], place.lat, place.lon)}


def _distance(ctx: CheckContext) -> tuple[tuple[float, float], float] | None:
    pos = media_gps(ctx)
    place = ctx.claim.place
    if pos is None or place is None:
        return None
    return pos, great_circle_km(pos[0], pos[1], place.lat, place.lon)


@check("GPS_FAR_FROM_CLAIMED_PLACE", severity="high")
def gps_far(ctx: CheckContext) -> Finding | None:
    """The GPS position in the metadata lies outside the claimed place's radius."""
    got = _distance(ctx)
    place = ctx.claim.place
    if got is None or place is None or got[1] <= place.radius_km:
        return None
    pos, dist = got
    ev = _evidence(ctx, pos, dist)
    swapped = swapped_hint(pos, place)
    if swapped:
        ev["swapped"] = swapped
    hint = f" {swapped['message']}" if swapped else ""
    return ctx.finding(f"GPS position is {dist:,.0f} km from the claimed place "
                       f"{place.name or ''} (radius {place.radius_km:g} km).{hint}"
                       .replace("  ", " "), ev)


def swapped_hint(pos: tuple[float, float], place: Any) -> dict[str, Any] | None:
    """When latitude and longitude swapped (in the claimed place, or in the file's GPS)
    would put the position inside the radius, say so: it is a common typing slip."""
    for which, (lat1, lon1, lat2, lon2) in (
            ("claimed place", (pos[0], pos[1], place.lon, place.lat)),
            ("GPS position", (pos[1], pos[0], place.lat, place.lon))):
        if not (-90 <= lat1 <= 90 and -90 <= lat2 <= 90):
            continue
        d = great_circle_km(lat1, lon1, lat2, lon2)
        if d <= place.radius_km:
            return {"which": which, "distance_km": round(d, 2), "message": (
                f"With latitude and longitude swapped in the {which} it would be "
                f"{d:,.1f} km away, inside the radius: check the order (lat,lon).")}
    return None


@check("GPS_NEAR_CLAIMED_PLACE", severity="info")
def gps_near(ctx: CheckContext) -> Finding | None:
    """The GPS position in the metadata lies within the claimed place's radius."""
    got = _distance(ctx)
    place = ctx.claim.place
    if got is None or place is None or got[1] > place.radius_km:
        return None
    pos, dist = got
    return ctx.finding(f"GPS position is {dist:,.1f} km from the claimed place, within "
                       f"{place.radius_km:g} km.", _evidence(ctx, pos, dist))
