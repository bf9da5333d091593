"""What the map draws around the field: basemaps, coastline, current arrows, hover read-out.

Tile basemaps, the offline coastline, current arrows and the hover read-out, as HoloViews
elements in Web Mercator metres.
"""

from __future__ import annotations

from collections.abc import Callable

import holoviews as hv
import numpy as np
import panel as pn
import param
import xarray as xr
from bokeh.models import BoxZoomTool, CustomJS, CustomJSHover, HoverTool

from .core.coastlines import OUTSIDE_SEA_COLOR, outside_sea, render_coastline
from .core.fields import quantity_label
from .core.frames import cell_degrees
from .core.geography import MERCATOR_HALF_WORLD, WEB_MERCATOR, Viewport

#: Tile basemaps offered (offline they simply stay blank).
BASEMAPS = {
    "none": None,
    "OpenStreetMap": "https://tile.openstreetmap.org/{Z}/{X}/{Y}.png",
    "CARTO light": "https://cartodb-basemaps-4.global.ssl.fastly.net/light_all/{Z}/{X}/{Y}.png",
    "CARTO dark": "https://cartodb-basemaps-4.global.ssl.fastly.net/dark_all/{Z}/{X}/{Y}.png",
    "Esri Ocean": (
        "https://server.arcgisonline.com/ArcGIS/rest/services/Ocean/World_Ocean_Base/"
        "MapServer/tile/{Z}/{Y}/{X}"
    ),
}
#: The coastline's colour (RGB).
COAST_COLOR = (40, 40, 40)
#: Arrows across the view's width for the currents overlay.
ARROWS_ACROSS = 32

# Hover shows longitude/latitude, converted from Web Mercator in the browser.
_LON_JS = (
    "const lon = special_vars.x / 20037508.342789244 * 180;"
    "return (((lon + 540) % 360) - 180).toFixed(3) + '°'"
)
_LAT_JS = (
    "const y = special_vars.y / 20037508.342789244 * Math.PI;"
    "return (Math.atan(Math.sinh(y)) * 180 / Math.PI).toFixed(3) + '°'"
)
#: The hovered value with its units (Bokeh shows NaN, land or no data, as "NaN" itself).
_VALUE_JS = (
    "const a = Math.abs(value);"
    "const text = (a !== 0 && (a < 0.01 || a >= 1e5)) ? value.toExponential(3) : value.toFixed(3);"
    "return units ? text + ' ' + units : text"
)


class LayerSettings(pn.viewable.Viewer):
    """What is drawn around the field: basemap, coastline, current arrows."""

    basemap = param.Selector(default="none", objects=list(BASEMAPS), doc="Tile basemap.")
    coastline = param.Boolean(default=True, doc="Draw the coastline (offline GSHHS).")
    currents = param.Boolean(
        default=False, doc="Arrows of the eastward/northward velocity, thinned to the view."
    )
    graticule = param.Boolean(
        default=False, doc="Lines at the labelled degrees of longitude/latitude."
    )

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            pn.widgets.Select.from_param(self.param.basemap, label="Basemap"),
            pn.widgets.Checkbox.from_param(self.param.coastline, label="Coastline"),
            pn.widgets.Checkbox.from_param(self.param.currents, label="Current arrows"),
            pn.widgets.Checkbox.from_param(self.param.graticule, label="Graticule"),
        )


def value_hover(long_name: str, units: str) -> HoverTool:
    """The map's hover: longitude, latitude and the value with its units."""
    return HoverTool(
        tooltips=[("lon", "$x{custom}"), ("lat", "$y{custom}"), (long_name, "@image{custom}")],
        formatters={
            "$x": CustomJSHover(code=_LON_JS),
            "$y": CustomJSHover(code=_LAT_JS),
            "@image": CustomJSHover(code=_VALUE_JS, args={"units": units}),
        },
    )


def log_ticks(clim: tuple[float, float], most: int = 8) -> list[float]:
    """Ticks of a log colour bar over ``clim``: 1, 2, 5 times each power of ten in it (only
    the powers of ten when those are too many), e.g. 0.01, 0.1, 1 for chlorophyll."""
    lo, hi = (float(v) for v in clim)
    if not (lo > 0 and hi > lo):
        return []
    powers = range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1)
    for mantissas in ((1, 2, 5), (1,)):
        ticks = [m * 10.0**k for k in powers for m in mantissas if lo <= m * 10.0**k <= hi]
        if len(ticks) <= most:
            break
    if len(ticks) < 2:  # a range inside one 1-2-5 step: its ends
        ticks = [lo, hi]
    return [float(f"{t:.3g}") for t in ticks]


def log_colorbar_ticks(clim: tuple[float, float]) -> dict:
    """Colour bar options that label a log scale at :func:`log_ticks` (plain numbers)."""
    from bokeh.models import CustomJSTickFormatter, FixedTicker

    return {
        "ticker": FixedTicker(ticks=log_ticks(clim)),
        "formatter": CustomJSTickFormatter(code="return String(Number(tick.toPrecision(3)))"),
    }


def field_image(
    values: np.ndarray,
    viewport: Viewport,
    name: str,
    attrs: dict,
    *,
    palette: list[str],
    clim: tuple[float, float],
    log: bool,
    title: str,
    land: str,
    hooks: list,
) -> hv.Image:
    """One frame's values (rows south to north) as the map's image: colours, colour bar with
    the quantity, hover, and the gestures the probes listen to."""
    long_name = str(attrs.get("long_name", name))
    units = str(attrs.get("units", ""))
    vdim = hv.Dimension(name, label=long_name, unit=units)
    # an array and its bounds (rows top down, as hv.Image takes them): no coordinate arrays
    # for HoloViews to check for regular spacing on every frame
    return hv.Image(
        values[::-1], kdims=["x", "y"], vdims=[vdim], bounds=image_bounds(viewport)
    ).opts(
        cmap=palette,
        clim=clim,
        logz=log,
        colorbar=True,
        colorbar_position="right",
        clabel=quantity_label(attrs, name),
        colorbar_opts=log_colorbar_ticks(clim) if log else {},
        # gestures the probes listen to: click, box, freehand and clicked polygons
        tools=[value_hover(long_name, units), "tap", "box_select", "lasso_select", "poly_select"],
        hooks=hooks,
        responsive=True,
        min_height=420,
        # degrees on both axes (ticks and labels by :func:`axes_hook`)
        xaxis="bottom",
        yaxis="left",
        xlabel="",
        ylabel="",
        title=title,
        bgcolor=land,
        clipping_colors={"NaN": (0, 0, 0, 0)},
        nodata=None,
    )


#: Most screen pixels one grid cell may span: zooming in stops there (a few pixels per cell
#: show the data as they are; more would only enlarge them).
MAX_PIXELS_PER_CELL = 24
#: Plot width (px) the zoom-in limit is computed for (about a laptop map's).
NAVIGATION_WIDTH_PX = 1000


#: Keeps one Web Mercator metre per pixel across and down, in the browser: after any zoom,
#: pan or resize, the spans are set so the view contains what it showed, then clamped to one
#: world across and the ±85° of latitude Web Mercator has (a wide plot shows every longitude
#: and the latitudes that fit).
_TRUE_SHAPE_JS = """
const w = fig.inner_width, h = fig.inner_height;
if (!(w > 0 && h > 0)) return;
let xs = xr.end - xr.start, ys = yr.end - yr.start;
xs = Math.max(xs, ys * w / h);
xs = Math.min(xs, world, world * w / h);
ys = xs * h / w;
let cx = (xr.start + xr.end) / 2, cy = (yr.start + yr.end) / 2;
cy = Math.max(-half + ys / 2, Math.min(half - ys / 2, cy));
const near = (a, b) => Math.abs(a - b) <= 1e-4 * Math.max(Math.abs(b), 1);
let moved = false;
if (!near(xr.start, cx - xs / 2) || !near(xr.end, cx + xs / 2)) {
    xr.setv({start: cx - xs / 2, end: cx + xs / 2});
    moved = true;
}
if (!near(yr.start, cy - ys / 2) || !near(yr.end, cy + ys / 2)) {
    yr.setv({start: cy - ys / 2, end: cy + ys / 2});
    moved = true;
}
// the server draws what the ranges say once told (a plain range change sends no event)
const index = window.Bokeh && window.Bokeh.index;
const view = moved && index && index.find_one ? index.find_one(fig) : null;
if (view && view.trigger_ranges_update_event) view.trigger_ranges_update_event();
"""


def navigation_hook(da: xr.DataArray | None) -> Callable:
    """A plot hook that keeps the map true to shape and inside the world.

    One Web Mercator metre per pixel across and down at every plot size (so continents keep
    their shape; :data:`_TRUE_SHAPE_JS`); the view never wider than one world (it may be
    centred anywhere, across the dateline too) nor beyond ±85° of latitude; and no closer
    than :data:`MAX_PIXELS_PER_CELL` pixels per grid cell of the field ``da`` (one degree
    when there is none).
    """
    try:
        cell = cell_degrees(da) if da is not None else 1.0
    except (KeyError, ValueError):
        cell = 1.0
    world = 2 * MERCATOR_HALF_WORLD
    closest = cell * (world / 360.0) * NAVIGATION_WIDTH_PX / MAX_PIXELS_PER_CELL

    def hook(plot, element) -> None:
        figure = plot.state
        figure.x_range.bounds = (-world, world)  # a view across the dateline runs past 180°
        # no bounds north and south: Bokeh refuses a whole wheel step that would pass one,
        # so a tall map would stop zooming out short of the world; the script keeps the view
        # within ±85° instead
        figure.y_range.bounds = None
        for axis in (figure.x_range, figure.y_range):
            axis.max_interval = world
            axis.min_interval = min(closest, world / 4)
        if "true-shape" in figure.tags:
            return
        figure.tags = [*figure.tags, "true-shape"]
        keep = CustomJS(
            args={"fig": figure, "xr": figure.x_range, "yr": figure.y_range, "world": world,
                  "half": MERCATOR_HALF_WORLD},
            code=_TRUE_SHAPE_JS,
        )  # fmt: skip
        for model, attr in (
            (figure.x_range, "end"), (figure.y_range, "end"),
            (figure, "inner_width"), (figure, "inner_height"),
        ):  # fmt: skip
            model.js_on_change(attr, keep)
        figure.js_on_event("document_ready", keep)
        for tool in figure.select(type=BoxZoomTool):
            tool.match_aspect = True

    return hook


def tile_view_hook(ranges: hv.streams.RangeXY) -> Callable:
    """A plot hook for a tile layer: the view BokehJS gives the map when the layer is first
    drawn reaches ``ranges`` (the map's range stream).

    BokehJS fits a tile layer's first view to a zoom level (``TileRenderer._map_data``: a
    view about a fifth wider) by setting the ranges, with no ranges event: the server kept
    the view it asked for, so the extent in the URL and a map rebuilt (another basemap)
    were not the view shown."""

    def hook(plot, element) -> None:
        figure, doc = plot.state, pn.state.curdoc
        if doc is None or "tile-view" in figure.tags:
            return
        figure.tags = [*figure.tags, "tile-view"]
        sides = [(r, a) for r in (figure.x_range, figure.y_range) for a in ("start", "end")]
        pending: list[bool] = []

        def settle() -> None:  # once the four sides of one change have all arrived
            for model, attr in sides:
                model.remove_on_change(attr, changed)
            x = (figure.x_range.start, figure.x_range.end)
            y = (figure.y_range.start, figure.y_range.end)
            if None not in (*x, *y) and (ranges.x_range, ranges.y_range) != (x, y):
                ranges.event(x_range=x, y_range=y)

        def changed(attr, old, new) -> None:
            if not pending:
                pending.append(True)
                doc.add_next_tick_callback(settle)

        for model, attr in sides:
            model.on_change(attr, changed)

    return hook


# Tick labels in degrees (30°W, 45°N) of Web Mercator ticks placed at round degrees.
_LON_TICK_JS = (
    "const lon = (((tick / 20037508.342789244 * 180) + 540) % 360) - 180;"
    "const a = Math.round(Math.abs(lon) * 100) / 100;"
    "return (a === 0 || a === 180) ? a + '°' : a + '°' + (lon > 0 ? 'E' : 'W')"
)
_LAT_TICK_JS = (
    "const lat = Math.atan(Math.sinh(tick / 20037508.342789244 * Math.PI)) * 180 / Math.PI;"
    "const a = Math.round(Math.abs(lat) * 100) / 100;"
    "return a === 0 ? '0°' : a + '°' + (lat > 0 ? 'N' : 'S')"
)
#: The scale bar's range: the view's width in metres on the ground at its centre latitude
#: (Web Mercator stretches distances by 1 / cos(latitude)).
_GROUND_JS = """
const cy = (yr.start + yr.end) / 2;
const lat = Math.atan(Math.sinh(cy / half * Math.PI));
ground.setv({start: 0, end: (xr.end - xr.start) * Math.cos(lat)});
// across more than 60° of longitude the scale changes too much with latitude for one bar
bar.visible = (xr.end - xr.start) < half / 3;
"""
#: Longitude tick steps (degrees) the x axis chooses from, as the view is zoomed.
LONGITUDE_STEPS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15, 20, 30, 45, 60, 90)
#: Colour of the graticule's lines.
GRATICULE_COLOR = "#5b6770"


def ground_metres(x_range: tuple[float, float], y_range: tuple[float, float]) -> float:
    """The width of a Web Mercator view in metres on the ground at its centre latitude (what
    the scale bar measures; the browser keeps it so with :data:`_GROUND_JS`)."""
    lat = np.arctan(np.sinh((y_range[0] + y_range[1]) / 2 / MERCATOR_HALF_WORLD * np.pi))
    return float((x_range[1] - x_range[0]) * np.cos(lat))


def longitude_ticker(desired: int = 6):
    """Ticks at round degrees of longitude on a Web Mercator x axis, however far the view is
    panned (Bokeh's MercatorTicker gives nonsense past the dateline, x beyond the world)."""
    from bokeh.models import CompositeTicker, SingleIntervalTicker

    metres = MERCATOR_HALF_WORLD / 180.0  # longitude is linear in x
    return CompositeTicker(
        tickers=[
            SingleIntervalTicker(interval=step * metres, num_minor_ticks=0)
            for step in LONGITUDE_STEPS
        ],
        desired_num_ticks=desired,
    )


#: The tag of the map's degree tick labels (:func:`degree_axes`).
DEGREE_LABELS = "degree-labels"


def degree_axes(plot, element=None) -> None:
    """A plot hook: the map's axes tick at round degrees, labelled 30°W and 45°N (once, and
    again where HoloViews has put its own back: it gives a plot with a tile layer Mercator
    axes at each update, and a map over tiles is one; so this hooks the overlay as well)."""
    from bokeh.models import CustomJSTickFormatter, MercatorTicker

    figure = plot.state
    for axes, grids, ticker, code in (
        (figure.xaxis, figure.xgrid, longitude_ticker, _LON_TICK_JS),
        (figure.yaxis, figure.ygrid, lambda: MercatorTicker(dimension="lat", desired_num_ticks=6),
         _LAT_TICK_JS),
    ):  # fmt: skip
        if all(DEGREE_LABELS in axis.formatter.tags for axis in axes):
            continue
        made = ticker()
        for axis in axes:
            axis.ticker = made
            axis.formatter = CustomJSTickFormatter(code=code, tags=[DEGREE_LABELS])
        for grid in grids:
            grid.ticker = made


def axes_hook(graticule: bool) -> Callable:
    """A plot hook that labels the map's axes in degrees (ticks at round degrees), draws the
    graticule when asked, and a scale bar true at the view's centre latitude."""
    from bokeh.models import MetricLength, Range1d, ScaleBar

    def hook(plot, element) -> None:
        figure = plot.state
        degree_axes(plot, element)
        if "degree-axes" in figure.tags:
            return
        figure.tags = [*figure.tags, "degree-axes"]
        for axis, grid in ((figure.xaxis, figure.xgrid), (figure.yaxis, figure.ygrid)):
            axis.major_label_text_font_size = "10px"
            axis.axis_label = None
            grid.grid_line_color = GRATICULE_COLOR if graticule else None
            grid.grid_line_alpha = 0.5
            grid.grid_line_dash = "dashed"
            grid.level = "overlay"
        # the scale bar measures the view as it is now (a plot rebuilt in a page that is
        # already open gets no document_ready event), and follows the ranges from then on
        x_range = (figure.x_range.start, figure.x_range.end)
        y_range = (figure.y_range.start, figure.y_range.end)
        known = all(isinstance(v, int | float) for v in (*x_range, *y_range))
        ground = Range1d(0, ground_metres(x_range, y_range) if known else 1)
        bar = ScaleBar(
            range=ground, unit="m", dimensional=MetricLength(include=["m", "km"]),
            location="bottom_left", bar_length=0.18, label_text_font_size="11px",
            background_fill_alpha=0.7, border_line_color=None, tags=["scale-bar"],
            visible=not known or x_range[1] - x_range[0] < MERCATOR_HALF_WORLD / 3,
        )  # fmt: skip
        update = CustomJS(
            args={"xr": figure.x_range, "yr": figure.y_range, "ground": ground, "bar": bar,
                  "half": MERCATOR_HALF_WORLD},
            code=_GROUND_JS,
        )  # fmt: skip
        for model in (figure.x_range, figure.y_range):
            model.js_on_change("end", update)
        figure.js_on_event("document_ready", update)
        figure.add_layout(bar)

    return hook


#: A double-click closes the polygon being drawn with Poly Select (Bokeh closes it on a long
#: press or Enter only; a double-click would add two more vertices and go on drawing).
_CLOSE_POLYGON_JS = """
const index = window.Bokeh && window.Bokeh.index;
const plot = index && index.find_one ? index.find_one(fig) : null;
if (!plot || !plot.tool_views) return;
for (const [tool, view] of plot.tool_views) {
    if (tool.constructor.__name__ !== "PolySelectTool" || !view._is_selecting) continue;
    if (tool.overlay.xs.length >= 3) {
        view._finish_selection({});
        fig._polygon_closed_at = Date.now();
    } else if (Date.now() - (fig._polygon_closed_at || 0) < 1000) {
        // the double-click's second click began a new polygon: drop it
        view._is_selecting = false;
        view._clear_overlay();
    }
}
"""


def close_polygon_hook(plot, element) -> None:
    """A plot hook: a double-click closes the polygon being drawn (:data:`_CLOSE_POLYGON_JS`)."""
    figure = plot.state
    if "close-polygon" in figure.tags:
        return
    figure.tags = [*figure.tags, "close-polygon"]
    figure.js_on_event("doubletap", CustomJS(args={"fig": figure}, code=_CLOSE_POLYGON_JS))


def image_bounds(viewport: Viewport) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) of ``viewport``: the bounds an image of it is drawn at."""
    return (viewport.x_range[0], viewport.y_range[0], viewport.x_range[1], viewport.y_range[1])


def empty_image() -> hv.Image:
    """No picture: what the map shows before its first frame or when a read failed."""
    return hv.Image(np.full((2, 2), np.nan), kdims=["x", "y"])


def no_coast() -> hv.RGB:
    """A transparent layer in place of the coastline."""
    return hv.RGB(np.zeros((2, 2, 4), dtype=np.uint8), kdims=["x", "y"])


def coast_layer(
    viewport: Viewport,
    data_box: tuple[float, float, float, float] | None = None,
    coastline: bool = True,
) -> hv.RGB:
    """The offline coastline drawn for ``viewport`` (transparent elsewhere); with the data's
    box ``data_box`` (x0, y0, x1, y1, Web Mercator metres), the sea outside it in
    :data:`OUTSIDE_SEA_COLOR`, so that only land shows in the land colour beyond a regional
    grid."""
    rgba = np.zeros((viewport.height, viewport.width, 4), dtype=np.uint8)
    if data_box is not None:
        rgba[outside_sea(viewport, data_box)] = (*_rgb(OUTSIDE_SEA_COLOR), 255)
    if coastline:
        rgba[render_coastline(viewport)] = (*COAST_COLOR, 255)
    # RGB rows run north to south
    return hv.RGB(rgba[::-1], kdims=["x", "y"], bounds=image_bounds(viewport))


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def no_arrows() -> hv.Overlay:
    """An empty current-arrows layer (no arrows, no reference arrow)."""
    return hv.VectorField([], kdims=["x", "y"], vdims=["angle", "speed"]) * hv.Text(0, 0, "")


def arrow_viewport(viewport: Viewport) -> Viewport:
    """The coarse viewport the arrows are sampled at (:data:`ARROWS_ACROSS` wide)."""
    cols = ARROWS_ACROSS
    rows = max(2, round(cols * viewport.height / viewport.width))
    return Viewport(viewport.x_range, viewport.y_range, cols, rows, viewport.crs)


def reference_speed(top: float) -> float:
    """A round speed (1, 2 or 5 times a power of ten) at most ``top``, for the key arrow."""
    if not top > 0:
        return 0.0
    power = 10.0 ** np.floor(np.log10(top))
    return float(f"{max(m for m in (1, 2, 5) if m * power <= top) * power:.3g}")


def arrows_layer(u: np.ndarray, v: np.ndarray, small: Viewport, units: str = "m/s") -> hv.Overlay:
    """Current arrows from the eastward ``u`` and northward ``v`` rendered in ``small``,
    lengths scaled by the fastest in view, and a reference arrow in the lower right corner
    labelled with its speed ("0.5 m/s")."""
    x, y = small.pixel_centres()
    xx, yy = np.meshgrid(x, y)
    speed = np.hypot(u, v)
    ok = np.isfinite(speed)
    top = float(np.nanmax(speed[ok])) if ok.any() else 1.0
    top = top or 1.0
    ref = reference_speed(top)
    (x0, x1), (y0, y1) = small.x_range, small.y_range
    key_x, key_y = x1 - 0.14 * (x1 - x0), y0 + 0.1 * (y1 - y0)
    arrows = hv.VectorField(
        (
            np.append(xx[ok], key_x),
            np.append(yy[ok], key_y),
            np.append(np.arctan2(v, u)[ok], 0.0),
            np.append(speed[ok] / top, ref / top),
        ),
        kdims=["x", "y"],
        vdims=["angle", "speed"],
    ).opts(magnitude="speed", color="#202020", alpha=0.8, line_width=1.2, pivot="tail", scale=0.9)
    label = hv.Text(key_x, key_y + 0.04 * (y1 - y0), f"{ref:g} {units}", halign="left").opts(
        text_font_size="11px", text_color="#202020"
    )
    return arrows * label


def lonlat_extent_to_mercator(bbox: tuple[float, float, float, float]):
    """(x0, y0, x1, y1) in Web Mercator of a [W, S, E, N] box in degrees (a view: see
    :meth:`Viewport.from_bbox`)."""
    view = Viewport.from_bbox(bbox, 2, 2, WEB_MERCATOR)
    return view.x_range[0], view.y_range[0], view.x_range[1], view.y_range[1]


def overlay_options(extent: tuple[float, float, float, float] | None) -> hv.Options:
    """The map's overlay options: wheel zoom and pan active, labels in degrees (again after
    HoloViews' own axes of a plot with tile layers: :func:`degree_axes`), and ``extent`` (W,
    S, E, N in degrees) kept shown when the map is rebuilt for another basemap, variable or
    colour scale: the tiles' own extent, the whole world, would zoom it out."""
    view = {}
    if extent is not None:
        x0, y0, x1, y1 = lonlat_extent_to_mercator(extent)
        view = {"xlim": (x0, x1), "ylim": (y0, y1)}
    return hv.opts.Overlay(active_tools=["wheel_zoom", "pan"], hooks=[degree_axes], **view)
