"""PNG files of rendered frames: the bare map raster, or a map with title, colour bar and coast.

Both kinds colour the frame's pixels through one lookup table (:func:`frame_rgba`), so a
thumbnail, a decorated PNG and the dashboard (same palette, same range) show the same
colours. The decorated map is drawn with matplotlib's Agg canvas (no pyplot, no display)
with the map area exactly ``width`` x ``height`` pixels: one frame pixel, one PNG pixel.
"""

from __future__ import annotations

import io
import math
import os
import pathlib
from dataclasses import dataclass

import numpy as np

from .coastlines import (
    LAND_COLOR,
    OUTSIDE_SEA_COLOR,
    coastline_vertices,
    outside_sea,
    scale_for_span,
)
from .colours import palette
from .frames import Frame
from .geography import LONLAT, to_crs

#: Colours in the lookup table (the dashboard's palettes have as many).
LUT_SIZE = 256
#: Dots per inch of the decorated PNG: 1 point = 100/72 px; sizes below are in pixels.
DPI = 100
#: Space around the map for tick labels (left), tick labels and the attribution line
#: (bottom), colour bar (right) and title (top).
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_BOTTOM, MARGIN_TOP = 62, 118, 56, 62
#: Credit for the coastline and land drawn on every decorated map.
COASTLINE_CREDIT = "Coastline: GSHHG (Wessel & Smith)"
#: Colour bar width and its gap from the map, in pixels.
COLORBAR_WIDTH, COLORBAR_GAP = 16, 14
COASTLINE_COLOR = "#3b3b3b"
#: Coastline width in points.
COASTLINE_WIDTH = 0.7
#: Map width (px) at which ``basemap.scale_for_span`` picks its coastline scale; wider
#: images get finer coastlines for the same extent.
SCALE_REFERENCE_WIDTH = 800


def colormap_names() -> list[str]:
    """Every cmocean colormap name, reversed (``_r``) and other variants included."""
    from .colours import cmocean

    return sorted(cmocean.cm.cmap_d)


@dataclass(frozen=True)
class ColourScale:
    """How values become colours: a cmocean colormap name, the (low, high) range, and
    whether the scale is logarithmic (then values at or below zero take the low colour)."""

    cmap: str
    clim: tuple[float, float]
    log: bool = False

    def lut(self) -> np.ndarray:
        """(LUT_SIZE, 4) uint8 RGBA colours of the palette, low to high."""
        from matplotlib.colors import to_rgba_array

        return np.round(to_rgba_array(palette(self.cmap, LUT_SIZE)) * 255).astype(np.uint8)

    def index(self, values: np.ndarray) -> np.ndarray:
        """Palette index of each value: values outside the range take the end colours.

        The same binning as matplotlib's ``Normalize`` + ``ListedColormap``, so the colour
        bar agrees with the pixels.
        """
        lo, hi = self.clim
        values = np.asarray(values, dtype="float64")
        with np.errstate(invalid="ignore", divide="ignore"):
            if self.log:  # matplotlib's LogNorm: equal ratios, equal steps
                values = np.log10(np.where(values > 0, values, lo))
                lo, hi = math.log10(lo), math.log10(hi)
            scaled = (values - lo) / (hi - lo)
            idx = np.floor(np.nan_to_num(scaled, nan=0.0) * LUT_SIZE)
        return np.clip(idx, 0, LUT_SIZE - 1).astype(np.intp)


def frame_rgba(frame: Frame, scale: ColourScale) -> np.ndarray:
    """The frame as a (height, width, 4) uint8 RGBA image, row 0 north; NaN is transparent."""
    values = frame.values[::-1]  # frames are y ascending, images start at the top
    rgba = scale.lut()[scale.index(values)]
    rgba[~np.isfinite(values)] = 0
    return rgba


def bare_png(
    frame: Frame,
    scale: ColourScale,
    compress_level: int = 6,
    background: tuple[int, int, int] | None = None,
) -> bytes:
    """The bare map raster as PNG bytes (a tile, a WMS map): RGBA, the viewport's pixels;
    with ``background`` (RGB), opaque, that colour where there is no data or land.

    ``compress_level`` (0-9) trades size for time: 1 encodes a 256 px tile about 3x faster
    than 6 for files about a third larger; the pixels are the same.
    """
    from PIL import Image

    rgba = frame_rgba(frame, scale)
    if background is not None:
        rgba[rgba[..., 3] == 0] = (*background, 255)
    out = io.BytesIO()
    Image.fromarray(rgba).save(out, format="PNG", compress_level=compress_level)
    return out.getvalue()


def write_bare_png(
    frame: Frame, path: str | os.PathLike, scale: ColourScale, metadata: dict | None = None
) -> pathlib.Path:
    """Write only the map raster: RGBA, exactly the viewport's width x height pixels.

    Pixel columns and rows are linear in the viewport's CRS (longitude/latitude, or Web
    Mercator metres), so the PNG can be placed as an image overlay or a tile.
    """
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    for key, value in (metadata or {}).items():
        info.add_text(key, str(value))
    path = pathlib.Path(path)
    Image.fromarray(frame_rgba(frame, scale)).save(path, format="PNG", pnginfo=info)
    return path


def write_map_png(
    frame: Frame,
    path: str | os.PathLike,
    scale: ColourScale,
    title: str,
    label: str,
    metadata: dict | None = None,
    credit: str = "",
    data_box: tuple[float, float, float, float] | None = None,
) -> pathlib.Path:
    """Write the map with a title, a colour bar labelled ``label``, coastline, graticule and
    an attribution line (``credit``, the data's source, then the coastline's).

    The map area is the frame itself, pixel for pixel, on the land colour of the dashboard;
    the PNG is ``MARGIN_*`` pixels larger than the frame on each side. Give a frame whose
    viewport is :meth:`~.geography.Viewport.true_shape` for a map true to shape.
    """
    fig = map_figure(frame, scale, title, label, credit, data_box)
    if isinstance(path, str | os.PathLike):  # else a binary file object (a download)
        path = pathlib.Path(path)
    fig.savefig(
        path, format="png", dpi=DPI, metadata={**extent_metadata(frame), **(metadata or {})}
    )
    return path


def extent_metadata(frame: Frame) -> dict[str, str]:
    """The PNG text saying where the map area is: ``x0,y0,x1,y1`` in its CRS, and the CRS."""
    (x0, x1), (y0, y1) = frame.viewport.x_range, frame.viewport.y_range
    return {"Extent": f"{x0:.6g},{y0:.6g},{x1:.6g},{y1:.6g}", "CRS": frame.viewport.crs}


def attribution(credit: str) -> str:
    """The attribution line of a map: the data's credit, then the coastline's."""
    return " · ".join(p for p in (f"Data: {credit}" if credit else "", COASTLINE_CREDIT) if p)


def map_figure(
    frame: Frame,
    scale: ColourScale,
    title: str,
    label: str,
    credit: str = "",
    data_box: tuple[float, float, float, float] | None = None,
):
    """The decorated map as a matplotlib ``Figure`` on an Agg canvas (see :func:`write_map_png`);
    ``figure.canvas.buffer_rgba()`` after ``figure.canvas.draw()`` gives its pixels. With the
    data's box ``data_box`` (x0, y0, x1, y1 in the frame's CRS), the sea beyond it is drawn
    apart from land (:func:`.coastlines.outside_sea`)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import ListedColormap, LogNorm, Normalize, to_rgba_array
    from matplotlib.figure import Figure

    vp = frame.viewport
    fig_w = vp.width + MARGIN_LEFT + MARGIN_RIGHT
    fig_h = vp.height + MARGIN_BOTTOM + MARGIN_TOP
    fig = Figure(figsize=(fig_w / DPI, fig_h / DPI), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_axes(
        (MARGIN_LEFT / fig_w, MARGIN_BOTTOM / fig_h, vp.width / fig_w, vp.height / fig_h)
    )
    (x0, x1), (y0, y1) = vp.x_range, vp.y_range
    ax.set_facecolor(LAND_COLOR)  # NaN pixels (land, no data) are transparent over it
    ax.imshow(
        frame_rgba(frame, scale),
        extent=(x0, x1, y0, y1),
        origin="upper",
        interpolation="none",
        aspect="auto",
    )
    if data_box is not None:
        outside = np.zeros((vp.height, vp.width, 4), dtype=np.uint8)
        outside[outside_sea(vp, data_box)[::-1]] = (
            *to_rgba_array(OUTSIDE_SEA_COLOR)[0, :3] * 255,
            255,
        )
        ax.imshow(
            outside, extent=(x0, x1, y0, y1), origin="upper", interpolation="none", aspect="auto"
        )
    ax.plot(*_coastline(frame), color=COASTLINE_COLOR, linewidth=COASTLINE_WIDTH)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    _graticule_ticks(ax, frame)

    fontsize = float(np.clip(fig_w / 85, 7, 11))
    first, _, rest = title.partition("\n")
    fig.text(
        0.5, 1 - 10 / fig_h, first, ha="center", va="top", fontsize=fontsize + 1, weight="bold"
    )
    if rest:
        fig.text(0.5, 1 - 32 / fig_h, rest, ha="center", va="top", fontsize=fontsize)

    cax = fig.add_axes(
        (
            (MARGIN_LEFT + vp.width + COLORBAR_GAP) / fig_w,
            MARGIN_BOTTOM / fig_h,
            COLORBAR_WIDTH / fig_w,
            vp.height / fig_h,
        )
    )
    norm = LogNorm(*scale.clim) if scale.log else Normalize(*scale.clim)
    mappable = ScalarMappable(norm=norm, cmap=ListedColormap(palette(scale.cmap, LUT_SIZE)))
    bar = fig.colorbar(mappable, cax=cax, extend=_extend(frame.values, scale.clim))
    bar.set_label(label, fontsize=fontsize)
    bar.ax.tick_params(labelsize=fontsize - 1)
    fig.text(
        4 / fig_w, 4 / fig_h, attribution(credit), ha="left", va="bottom",
        fontsize=max(fontsize - 3, 6), color="#555555",
    )  # fmt: skip
    return fig


def _extend(values: np.ndarray, clim: tuple[float, float]) -> str:
    """Colour bar arrows for the ends where values in view run past the range."""
    finite = values[np.isfinite(values)]
    below = bool(finite.size and finite.min() < clim[0])
    above = bool(finite.size and finite.max() > clim[1])
    return {(True, True): "both", (True, False): "min", (False, True): "max"}.get(
        (below, above), "neither"
    )


def _coastline(frame: Frame) -> tuple[np.ndarray, np.ndarray]:
    """Coastline vertices in the frame's CRS (NaN between lines), copies 360° apart included."""
    vp = frame.viewport
    lon0, _, lon1, _ = vp.lon_lat_bounds()
    lon, lat = coastline_vertices(scale_for_span((lon1 - lon0) * SCALE_REFERENCE_WIDTH / vp.width))
    xs, ys = [], []
    for k in range(int(np.floor((lon0 + 180) / 360)), int(np.floor((lon1 + 180) / 360)) + 1):
        x, y = to_crs(lon + 360.0 * k, lat, vp.crs)
        xs += [x, [np.nan]]
        ys += [y, [np.nan]]
    return np.concatenate(xs), np.concatenate(ys)


def _graticule_ticks(ax, frame: Frame) -> None:
    """Ticks at round degrees labelled 30°E / 10°S, in either CRS."""
    from matplotlib.ticker import MaxNLocator

    vp = frame.viewport
    lon0, lat0, lon1, lat1 = vp.lon_lat_bounds()
    steps = [1, 2, 2.5, 3, 5, 10]
    lons = MaxNLocator(nbins=max(2, vp.width // 110), steps=steps).tick_values(lon0, lon1)
    lats = MaxNLocator(nbins=max(2, vp.height // 70), steps=steps).tick_values(lat0, lat1)
    lons = lons[(lons >= lon0) & (lons <= lon1)]
    lats = lats[(lats >= lat0) & (lats <= lat1)]
    ax.set_xticks(to_crs(lons, np.zeros_like(lons), vp.crs)[0], [_lon_label(v) for v in lons])
    ax.set_yticks(to_crs(np.zeros_like(lats), lats, vp.crs)[1], [_lat_label(v) for v in lats])
    ax.tick_params(labelsize=8, length=3)
    if vp.crs != LONLAT:
        ax.set_xlabel("Web Mercator", fontsize=7, color="#666666", labelpad=1)


def _lon_label(lon: float) -> str:
    lon = (float(lon) + 180.0) % 360.0 - 180.0
    if np.isclose(abs(lon), 180.0) or np.isclose(lon, 0.0):
        return f"{abs(lon):g}°"
    return f"{abs(lon):g}°{'E' if lon > 0 else 'W'}"


def _lat_label(lat: float) -> str:
    lat = float(lat)
    return "0°" if np.isclose(lat, 0.0) else f"{abs(lat):g}°{'N' if lat > 0 else 'S'}"
