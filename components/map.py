"""The map view: the current field rendered on the server at the viewport's resolution.

Each pan, zoom or change of choice asks ``components.core.frames`` for a frame exactly the size
of the plot; the browser receives that image (and hover reads its values), never the grid.
The map is in Web Mercator so that tile basemaps can sit underneath; with no basemap, NaN
(land) shows a land fill, and the coastline is drawn on the server at a scale fitting the zoom.
"""

from __future__ import annotations

import logging
import time as _time
import warnings

import holoviews as hv
import numpy as np
import panel as pn
import param
import xarray as xr
from holoviews.core.spaces import Callable
from holoviews.streams import Params, PlotSize, RangeXY

from data_adapters import SourceError, vertical
from data_adapters.errors import as_source_error, read_errors

from .colors import ColorSettings
from .controls import LatestOnly, next_tick
from .core import comparison
from .core.coastlines import LAND_COLOR
from .core.frames import (
    FRAMES,
    FieldPyramid,
    Frame,
    FrameCache,
    full_extent,
    pyramid_for,
)
from .core.geography import WEB_MERCATOR, Viewport
from .frame_reader import FrameReader
from .map_layers import (
    BASEMAPS,
    LayerSettings,
    axes_hook,
    close_polygon_hook,
    empty_image,
    field_image,
    lonlat_extent_to_mercator,
    navigation_hook,
    overlay_options,
    tile_view_hook,
)
from .map_overlays import MapOverlays
from .map_tiles import NO_VALUES, MapTiles
from .plot_lifetime import retire_plots, weak_hook
from .state import ExplorerState

log = logging.getLogger(__name__)

hv.extension("bokeh", logo=False)
# plots draw on a 2-D canvas, not WebGL: a browser without a GPU (virtual machines, remote
# desktops, headless) emulates WebGL and copying its canvas costs ~50 ms a map frame; a map is
# one image and a few lines, which a canvas draws as quickly anywhere
hv.renderer("bokeh").webgl = False

# A view of land only (or a map waiting for its first frame) is all NaN: nothing to warn of
warnings.filterwarnings(
    "ignore", "All-NaN slice encountered", RuntimeWarning, module="holoviews.core.data"
)
#: Land under change maps (their "no change" is near white, like the usual land fill).
CHANGE_LAND_COLOR = "#8f8f8f"
#: Height of the map (pixels): most of a laptop screen, leaving the probes' tabs in sight.
MAP_HEIGHT = 520
#: Plot size used before the browser reports the real one (pixels).
DEFAULT_SIZE = (900, 520)


class MapView(MapOverlays, pn.viewable.Viewer):
    """The map of ``state``'s field, with colour and layer settings as sub-objects.

    By default it shows the state's current run. Comparisons use the same view to show one
    run (``run``), the change from the baseline to a run (``change``: ``"diff"`` or
    ``"pct"``), or a swipe: the baseline left of a draggable divider and the run right of it.
    """

    state = param.ClassSelector(class_=ExplorerState, doc="The session state to show.")
    colors = param.ClassSelector(class_=ColorSettings, doc="Colour mapping settings.")
    layers = param.ClassSelector(class_=LayerSettings, doc="Basemap and overlays.")
    run = param.String(
        default=None, allow_None=True, doc="Show this run (None: the state's scenario)."
    )
    change = param.Selector(
        default=None,
        objects=[None, *comparison.CHANGE_MODES],
        doc="Show the change from the state's baseline to ``run``: diff or pct (None: the run).",
    )
    swipe = param.Boolean(
        default=False, doc="Baseline left of the divider, ``run`` right of it (one map)."
    )
    divider = param.Number(
        default=None, allow_None=True, doc="Swipe divider: Web Mercator x (m); None: mid-view."
    )
    frames_arrived = param.Integer(
        default=0, precedence=-1, doc="Counts frames read in the background (redraws the map)."
    )
    clim_group = param.List(
        default=[], doc="Maps sharing one colour range with this one (when the state locks it)."
    )
    clim = param.Tuple(default=(0.0, 1.0), length=2, doc="Colour range of the last frame.")
    render_ms = param.Number(default=0.0, doc="Server time of the last frame (ms).")

    def __init__(
        self, reader: FrameReader | None = None, frames: FrameCache | None = None, **params
    ) -> None:
        """``reader`` reads this map's frames in the background (default: the process's
        frame threads); ``frames`` caches them (default: the process's frame cache; a
        server passes the one it owns, a test a fresh one)."""
        params.setdefault("colors", ColorSettings())
        params.setdefault("layers", LayerSettings())
        super().__init__(**params)
        self._frame: Frame | None = None
        self._unread: Viewport | None = None  # the view of a step drawn by tiles, not read
        self._drawn_field: xr.DataArray | None = None  # the field of the last frame read
        self._follow_variable()
        # A new variable or colour scale type needs a new colour bar (title, units, log ticks)
        # Bokeh does not change in place: the plot is rebuilt (before the streams are made:
        # plot_lifetime.retire_plots)
        self.state.param.watch(self._new_variable, ["dataset_id", "variable", "show"])
        self.colors.param.watch(self._rebuild, "log_scale")
        self.param.watch(self._rebuild, ["change", "swipe"])
        self._tiles = MapTiles(self)  # the picture from /tiles where it can be (first: see it)
        self.range = RangeXY()
        self.size = PlotSize()
        choices = Params(
            self.state,
            [
                "dataset_id", "variable", "time", "depth", "scenario", "baseline",
                "threshold", "within_spread", "lock_colours", "show", "reference",
                "climate_baseline",
            ],
        )  # fmt: skip
        colours = Params(self.colors, ["cmap", "mode", "vmin", "vmax", "log_scale"])
        shown = Params(self, ["run", "change", "swipe", "divider", "frames_arrived"])
        # not memoized: a redraw with the same view must call again (the frame it waited for
        # has come); frames are cached by components.core.frames instead
        self._field_map = hv.DynamicMap(
            Callable(self._field, memoize=False),
            streams=[self.range, self.size, choices, colours, shown],
        )
        self._coast_map = hv.DynamicMap(
            self._coast,
            streams=[self.range, self.size, Params(self.layers, ["coastline", "basemap"])],
        )
        self._arrow_map = hv.DynamicMap(
            self._arrows,
            streams=[self.range, self.size, choices, shown, Params(self.layers, ["currents"])],
        )
        self._extra_layers: list[hv.DynamicMap] = []
        self._divider_span = None
        self._last_image: hv.Image | None = None
        self.reader = reader or FrameReader()
        self.frames = frames if frames is not None else FRAMES
        self._read_ms = 0.0  # the last frame read by a frame thread, not yet in render_ms
        self._divider_moves = LatestOnly(lambda x: setattr(self, "divider", float(x)), next_tick)
        self._pane = pn.pane.HoloViews(
            self.overlay(), sizing_mode="stretch_width", height=MAP_HEIGHT, linked_axes=False
        )
        self.layers.param.watch(self._rebuild, ["basemap", "graticule"])
        self.state.param.watch(self._on_loading, "loading")

    # -- what is shown ----------------------------------------------------------------------
    def _new_variable(self, *_) -> None:
        """Another dataset, variable or "show": new colours, in a new plot."""
        retire_plots(self._pane)
        self._follow_variable()
        self._last_image = None  # not kept while the first frame reads: another quantity
        self._rebuild()

    def _follow_variable(self, *_) -> None:
        if self.state.source is None:
            return
        if self.change is None:
            self.colors.follow(xr.DataArray(np.nan, attrs=self.state.shown_attrs()))
        else:  # a change: diverging, centred on zero, whatever the variable
            cmap = comparison.CHANGE_CMAPS[self.change]
            self.colors.param.update(cmap=cmap, mode="symmetric", log_scale=False)

    def _run(self) -> str:
        return self.run or self.state.scenario

    def field(self) -> xr.DataArray:
        """The lazy 2-D field this map shows (a run, or the change from the baseline)."""
        s = self.state
        if self.change is None or self.swipe:
            return s.field(scenario=self._run())
        delta = comparison.change(
            s.field(scenario=s.baseline, members=True),
            s.field(scenario=self._run(), members=True),
            self.change,
        )
        return comparison.hide_small(delta, s.threshold, s.within_spread).reset_coords(drop=True)

    def shown(self) -> xr.DataArray | FieldPyramid:
        """What :meth:`field` shows, ready to render: one run comes with the same slice of
        the dataset's map pyramid (a prepared store's coarser levels, read when zoomed out);
        a change is computed from the full grids."""
        da = self.field()
        if self.change is None or self.swipe:
            return pyramid_for(da, self.state.source.pyramid)
        return da

    def field_key(self) -> tuple:
        """What :meth:`field` shows, as a key of the frame cache (the cache adds the view's
        extent, size and CRS; the pyramid level follows from them)."""
        s = self.state
        shown = (self._run(),)
        if self.change is not None and not self.swipe:
            shown = (self._run(), self.change, s.baseline, s.threshold, s.within_spread)
        choice = (s.dataset_id, s.variable_key, s.time, s.depth, s.show, s.reference)
        return (*choice, s.climate_baseline, *shown)

    def _frame_for(self, viewport: Viewport) -> Frame:
        """The frame in ``viewport`` (swipe: baseline left of the divider, run right)."""
        frame = self.frames.get(self.field_key(), self.shown, viewport)
        if not self.swipe:
            return frame
        s = self.state
        base_key = (s.dataset_id, s.variable_key, s.time, s.depth, s.baseline)
        base = self.frames.get(
            base_key, lambda: pyramid_for(s.field(scenario=s.baseline), s.source.pyramid), viewport
        )
        x, _ = viewport.pixel_centres()
        left = x < self.divider_x(viewport)
        values = np.where(left[None, :], base.values, frame.values)
        return Frame(values, viewport, base.cells_read + frame.cells_read)

    def _divider_hook(self, plot, element) -> None:
        """Put the swipe divider on the map once: a line the user drags (Bokeh editable Span)."""
        from bokeh.models import Span

        figure = plot.state
        if self._divider_span is not None and self._divider_span in figure.center:
            return
        viewport = self._frame.viewport if self._frame is not None else self.viewport()
        span = Span(
            location=self.divider_x(viewport), dimension="height", line_color="#ffffff",
            line_width=4, line_alpha=0.9, editable=True, level="overlay",
        )  # fmt: skip
        figure.add_layout(span)
        span.on_change("location", self._on_divider)
        self._divider_span = span

    def _on_divider(self, attr, old, new) -> None:
        # a drag sends many locations: render only the newest, on the next tick
        self._divider_moves.submit(new)

    def divider_x(self, viewport: Viewport) -> float:
        """The swipe divider's x: where the user put it, else the middle of the view."""
        if self.divider is not None:
            return float(self.divider)
        return (viewport.x_range[0] + viewport.x_range[1]) / 2

    def _limits(self, frame: Frame, viewport: Viewport) -> tuple[float, float]:
        """The colour range: this frame's, or that of every map in the group when locked."""
        group = [m for m in self.clim_group if m is not self]
        if not group or not self.state.lock_colours:
            values = frame.values
        else:
            shown = [frame.values] + [
                self.frames.get(m.field_key(), m.shown, viewport).values for m in group
            ]
            values = np.concatenate([v.ravel() for v in shown])
        if self.change is not None and self.colors.mode in ("auto", "symmetric"):
            # ± the largest change (or relative change) in view, as `ocean-explorer compare`
            # colours it: a local change (a heatwave) must not vanish into the range of the
            # unchanged sea, whose percentiles are all zero
            return comparison.change_range(values)
        return self.colors.limits(values)

    def viewport(self, x_range=None, y_range=None, width=None, height=None) -> Viewport:
        """The viewport for these plot ranges/size; the data's extent before the first draw."""
        if x_range is None or y_range is None or None in (*x_range, *y_range):
            if self.state.extent is not None:
                x0, y0, x1, y1 = lonlat_extent_to_mercator(self.state.extent)
            else:
                x0, y0, x1, y1 = full_extent(self.state.field(), WEB_MERCATOR)
            x_range, y_range = (x0, x1), (y0, y1)
        width = int(width or DEFAULT_SIZE[0])
        height = int(height or DEFAULT_SIZE[1])
        return Viewport(tuple(x_range), tuple(y_range), max(width, 2), max(height, 2), WEB_MERCATOR)

    def title(self) -> str:
        """What the map shows, as its title says: run or change, time, depth."""
        return map_title(self.state, self._run(), self.change, self.swipe, self.run is not None)

    # -- layers -----------------------------------------------------------------------------
    def _field(self, x_range=None, y_range=None, width=None, height=None, **_) -> hv.Image:
        pending = False
        try:
            doc = pn.state.curdoc
            if doc is not None and doc.session_context is not None:
                # in a server: the frame is read by the frame threads; a slow source keeps
                # only its own map waiting (it shows the last picture and a spinner)
                try:
                    viewport = self.viewport(x_range, y_range, width, height)
                except (SourceError, ValueError) as exc:
                    self.state.report(str(exc))
                    return empty_image()
                if self._tiles.knows(viewport):  # a step over tiles: nothing to read here
                    self._last_image = self._tiles.step_image(viewport)
                    return self._last_image
                ready = self._frames_ready(doc, viewport)
                if ready is False:
                    pending = True
                    last = self._last_image
                    return last if last is not None else self.blank(viewport)
                if ready is not True:  # the read failed: say why, show nothing half-read
                    label = f"dataset '{self.state.dataset_id}'"
                    self.state.report(str(as_source_error(ready, label)))
                    return self.blank(viewport)
            image = self._render_image(x_range, y_range, width, height)
            self._last_image = image
            return image
        finally:
            self.state.loading = pending  # spinner while the frame asked for is on its way

    def _read_frames(self, viewport: Viewport) -> None:
        """Read what a frame in ``viewport`` needs into the frame cache (a frame thread)."""
        started = _time.perf_counter()
        self._frame_for(viewport)
        self._read_ms = 1000 * (_time.perf_counter() - started)
        if self.state.lock_colours:
            for other in self.clim_group:
                if other is not self:
                    self.frames.get(other.field_key(), other.shown, viewport)

    def _frames_ready(self, doc, viewport: Viewport) -> bool | BaseException:
        """True when the frames for ``viewport`` are read, False while they are on their way
        (the map redraws itself when they are there), or the error their read ended in."""
        return self.reader.ready(
            (self.field_key(), self.swipe, viewport),
            lambda: self._read_frames(viewport),
            lambda _: doc.add_next_tick_callback(self._redraw),
        )

    def _redraw(self) -> None:
        # a stream parameter that changes: the map calls again, now with its frame read
        self.frames_arrived += 1

    def _render_image(self, x_range, y_range, width, height) -> hv.Image:
        started = _time.perf_counter()
        try:
            viewport = self.viewport(x_range, y_range, width, height)
        except (SourceError, ValueError) as exc:
            self.state.report(str(exc))
            return empty_image()
        try:
            da = self.field()
            # chunks a remote Zarr server answered 404 for are read as no data: say so
            missing = self.state.source.missing_chunks if self.state.source else None
            known = len(missing) if missing is not None else 0
            frame = self._frame_for(viewport)
            clim = self._tiles.limits(viewport, lambda: self._limits(frame, viewport))
        except (SourceError, ValueError) as exc:
            self.state.report(str(exc))
            return self.blank(viewport)
        except read_errors() as exc:  # a lazy read failed (network, server, decoding)
            # nothing half-read is shown as data: an empty map, and the reason
            self.state.report(str(as_source_error(exc, f"dataset '{self.state.dataset_id}'")))
            return self.blank(viewport)
        else:
            if missing is not None and len(missing) > known:
                self.state.report(missing.note(len(missing) - known))
        self._frame, self._unread = frame, None
        self._drawn_field = da
        self.state.extent = tuple(round(v, 4) for v in viewport.lon_lat_bounds())
        self.clim = clim
        # under tiles, an image of no values: the tiles draw the field, the hover reads the
        # server's value endpoint (the frame's pixels never travel to the browser)
        values = NO_VALUES if self._tiles.draws(viewport) else frame.values
        image = self._tiles.under(self._image(values, viewport, da, clim), viewport)
        # the frame's whole server time: its read in a frame thread (when it had one) and this
        read_ms, self._read_ms = self._read_ms, 0.0
        self.render_ms = read_ms + 1000 * (_time.perf_counter() - started)
        return image

    def blank(self, viewport: Viewport) -> hv.Image:
        """The map with no data in ``viewport``: before the first frame, or when a read
        failed (the message says why)."""
        values = np.full((viewport.height, viewport.width), np.nan, dtype="float32")
        try:
            da = self._labelled_field()
        except (SourceError, ValueError, KeyError):
            da = None
        return self._image(values, viewport, da, self.clim)

    def _labelled_field(self) -> xr.DataArray:
        """:meth:`field`'s grid, name and attributes, not computed (a "show" reads days)."""
        if self.change is not None or not self.state.processing().needs_climate:
            return self.field()
        da = self.state.field(scenario=self._run(), shown=False)
        return da.copy(deep=False).assign_attrs(self.state.shown_attrs())

    def _image(self, values, viewport: Viewport, da: xr.DataArray | None, clim) -> hv.Image:
        """One frame's values as the map's image: colours, colour bar, hover, gestures."""
        name = str((da.name if da is not None else None) or self.state.variable or "value")
        return field_image(
            values,
            viewport,
            name,
            dict(da.attrs) if da is not None else {},
            palette=self.colors.palette(),
            clim=clim,
            log=self.colors.log_scale,
            title=self.title(),
            # land under a change map: a mid grey, apart from the white of "no change"
            land=CHANGE_LAND_COLOR if self.change else LAND_COLOR,
            hooks=[navigation_hook(da), axes_hook(self.layers.graticule), close_polygon_hook]
            + ([weak_hook(self._divider_hook)] if self.swipe else []),
        )

    def overlay(self) -> hv.Overlay:
        """Field, arrows and coastline, over a tile basemap when one is chosen."""
        layers = self._field_map * self._arrow_map * self._coast_map
        for layer in self._extra_layers:
            layers = layers * layer
        layers = self._tiles.over(layers)  # the field's tiles under the image, where used
        url = BASEMAPS.get(self.layers.basemap)
        if url:
            tiles = hv.Tiles(url, name=self.layers.basemap)
            tiles = tiles.opts(hooks=[tile_view_hook(self.range)], padding=0)  # as the field's
            layers = tiles * layers
        return layers.opts(overlay_options(self.state.extent))

    @property
    def field_map(self) -> hv.DynamicMap:
        """The field layer: the source of map gestures (taps, drawn boxes)."""
        return self._field_map

    def add_layer(self, layer: hv.DynamicMap) -> None:
        """Draw ``layer`` (in Web Mercator metres) above the field and coastline."""
        self._extra_layers.append(layer)
        self._rebuild()

    def _on_loading(self, event) -> None:
        # Set in one event-loop turn and cleared by the render in a later one (see
        # TimeControls), so the browser shows the spinner while the frame computes.
        self._pane.loading = event.new

    def _rebuild(self, *_) -> None:
        retire_plots(self._pane)
        # also for basemaps: Bokeh tile renderers cannot be switched off
        if self.state.extent is None:
            # a view to be framed on the data's extent (a regional dataset just chosen): the
            # ranges the last plot reported, and its picture kept while the first frame is
            # read, must not frame the new plot
            self.range.reset()
            self._last_image = None
        self._pane.object = self.overlay()

    # -- reading what is shown --------------------------------------------------------------
    @property
    def frame(self) -> Frame | None:
        """The last frame rendered (for probes, exports and tests); over tiles, the frame of
        the step shown, read when first asked for."""
        if self._frame is None and self._unread is not None:
            self._frame = self.frames.get(self.field_key(), self.shown, self._unread)
            self._unread = None
        return self._frame

    def home_extent(self) -> tuple[float, float, float, float]:
        """The data's extent in Web Mercator metres (x0, y0, x1, y1)."""
        return full_extent(self.state.field(), WEB_MERCATOR)

    def __panel__(self) -> pn.viewable.Viewable:
        return self._pane


def map_title(s: ExplorerState, run: str, change: str | None, swipe: bool, compared: bool) -> str:
    """A map's title: the dataset (unless ``compared``: maps side by side say what differs),
    the run or change, time, depth."""
    parts = [] if compared else [s.source.title if s.source else s.dataset_id]
    if swipe:
        parts.append(f"{s.baseline} ◀ | ▶ {run}")
    elif change is not None:
        parts.append(comparison.label(run, s.baseline, change))
    elif run and (run != "baseline" or compared):
        parts.append(run)
    if s.time:
        parts.append(str(s.time))
    if s.depth is not None and "depth" in s.dataset[s.variable].dims:
        parts.append(vertical.choice_label(s.dataset, s.depth))
    return " · ".join(str(p) for p in parts if p)
