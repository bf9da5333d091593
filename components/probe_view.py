"""Probe view: map gestures become probe points and regions; tabs show and download the answers.

Clicks, pins, boxes and polygons on the map become session state (Web Mercator metres to
longitude/latitude: :class:`~components.state.ExplorerState` ``points``, ``region``,
``polygon``), so other views and the URL see them too. The data at those points and regions
come from :class:`components.probe_answers.ProbeAnswers` (no widgets; its computations live in
:mod:`components.core.probes` and :mod:`components.core.regions`), drawn by
:mod:`components.probe_plots`, and its CSV and NetCDF files are the tabs' downloads.

Answers are computed off the event loop (``asyncio.to_thread``), only for the tab in front: a
slow read for one session never stalls the others, and the tab says it computes meanwhile,
the answer still on screen marked as the previous choice's (:mod:`components.answer_pane`;
the browser shows the sign itself as a gesture ends, :mod:`components.probe_feedback`); of
answers still in flight only the latest question's is shown (:mod:`components.answers`).
"""

from __future__ import annotations

from collections.abc import Callable

import holoviews as hv
import numpy as np
import panel as pn
import param
from holoviews.streams import BoundsXY, Lasso, Params, Tap

from data_adapters import SourceError
from data_adapters.errors import as_source_error, read_errors

from . import probe_plots as plots
from .answer_pane import AnswerPane
from .core.geography import (
    MERCATOR_HALF_WORLD,
    WEB_MERCATOR,
    BBox,
    to_crs,
    wrap_lon,
    x_to_lon,
    y_to_lat,
)
from .map import MapView
from .probe_answers import MAX_PINS, PIN_COLORS, Probe, ProbeAnswers
from .probe_feedback import GestureFeedback
from .probe_plots import PLOT_HEIGHT, plot_times
from .state import ExplorerState
from .text import escape

__all__ = [
    "MAX_PINS",
    "PIN_COLORS",
    "PLOT_HEIGHT",
    "Probe",
    "ProbeAnswers",
    "ProbeView",
    "pin_marks",
    "plot_times",
]

REGION_COLOR = "#111111"
TABS = ("Time series", "Profile", "Hovmöller", "Area")


def _wrap_lon(lon: float) -> float:
    return (float(lon) + 180.0) % 360.0 - 180.0


def pin_marks(points) -> hv.Points:
    """The probe points as coloured markers in Web Mercator, in the colours of their lines."""
    # always MAX_PINS rows (unused ones NaN, not drawn): the glyph keeps its columns
    lon = np.full(MAX_PINS, np.nan)
    lat = np.full(MAX_PINS, np.nan)
    for i, (a, b) in enumerate(list(points)[:MAX_PINS]):
        lon[i], lat[i] = a, b
    x, y = to_crs(lon, lat, WEB_MERCATOR)
    return hv.Points(
        {"x": x, "y": y, "color": PIN_COLORS[:MAX_PINS]}, kdims=["x", "y"], vdims=["color"]
    ).opts(color="color", size=12, line_color="white", line_width=2, tools=[], nonselection_alpha=1)


class ProbeView(pn.viewable.Viewer):
    """Time series at points, profiles, Hovmöller sections and area statistics.

    Use with the map it probes: ``ProbeView(state=state, map_view=map_view)`` listens to
    clicks (tap), boxes (box select) and polygons (lasso and polygon select) on that map and
    draws the points and region on it. ``view.answers`` (a :class:`ProbeAnswers`) holds the
    data shown and downloaded.
    """

    state = param.ClassSelector(class_=ExplorerState, doc="The session state to probe.")
    map_view = param.ClassSelector(class_=MapView, doc="The map whose gestures probe.")
    keep_pins = param.Boolean(
        default=False, label="Pin points", doc="A click adds a point instead of replacing it."
    )

    shown = param.Selector(default=TABS[0], objects=list(TABS), doc="The tab in front.")
    # the state's time, followed only while there is something to probe at it: a step of
    # the animation with no point (or no region) recomputes no profile (or area) tab
    point_time = param.Parameter(default=None, precedence=-1, doc="Time of the profiles.")
    region_time = param.Parameter(default=None, precedence=-1, doc="Time of the region's stats.")

    def __init__(self, **params) -> None:
        super().__init__(**params)
        self.state.param.watch(self._follow_time, "time")
        self.answers = ProbeAnswers(self.state)
        self._streams: list = []  # kept: a stream lives as long as its subscriber needs it
        self.feedback = GestureFeedback()  # the browser's own sign that a gesture asked
        # recent clicks (Web Mercator x, y) and the points before each; the last polygon's
        # vertices (a click on one is its closing double-click)
        self._taps: list[tuple[tuple[float, float], list]] = []
        self._polygon_xy = np.empty((0, 2))
        self.listen_to(self.map_view)
        # filled when first shown: the tabs' contents are computed by the event loop that
        # shows them (a server session or a notebook)
        self.tabs = pn.Tabs(sizing_mode="stretch_width", css_classes=[self.feedback.tabs_class])
        self.panes: list[AnswerPane] = []  # the tabs' answers, in the order of TABS

    def _follow_time(self, event) -> None:
        s = self.state
        if s.points:
            self.point_time = event.new
        if s.region is not None or s.polygon is not None:
            self.region_time = event.new

    def listen_to(self, map_view: MapView) -> None:
        """Probe with the gestures on ``map_view`` too, and draw the points and region there
        (comparison maps)."""
        field_map = map_view.field_map
        tap = Tap(source=field_map, x=None, y=None)
        tap.add_subscriber(self._on_tap)
        box = BoundsXY(source=field_map, bounds=None)
        box.add_subscriber(self._on_box)
        lasso = Lasso(source=field_map)
        lasso.add_subscriber(self._on_lasso)
        self._streams += [tap, box, lasso]
        map_view.add_layer(hv.DynamicMap(self._marks, streams=[Params(self.state, ["points"])]))
        map_view.add_layer(
            hv.DynamicMap(self._region_outline, streams=[Params(self.state, ["region", "polygon"])])
        )

    # -- gestures ---------------------------------------------------------------------------
    def _on_tap(self, x=None, y=None, **_) -> None:
        if x is None or y is None:
            return
        if _near_any((x, y), self._polygon_xy):
            return  # the double-click that closed a polygon, not a probe
        self._polygon_xy = np.empty((0, 2))
        # a polygon's vertices are clicks too: remember what each click replaced
        self._taps = [*self._taps[-(POLYGON_VERTICES_KEPT - 1) :], ((x, y), self.state.points)]
        lon = _wrap_lon(x_to_lon(np.array([x]))[0])
        lat = float(y_to_lat(np.array([y]))[0])
        tab = TABS[0] if self.shown == "Area" else self.shown

        def probe() -> bool:
            # the polygon this click was a vertex of may have come before this tick (the
            # double-click that closes it): then it probes nothing
            return not _near_any((x, y), self._polygon_xy) and self.add_point(lon, lat)

        self._announce(tab, probe)

    def add_point(self, lon: float, lat: float) -> bool:
        """Probe (lon, lat): replace the point, or add a pin when pinning; False (and a
        message) when there is no ocean cell there."""
        try:
            self.answers.cell(lon, lat)
        except SourceError as exc:
            self.state.report(str(exc))
            return False
        points = [*self.state.points, (lon, lat)] if self.keep_pins else [(lon, lat)]
        self.state.points = points[-MAX_PINS:]
        if self.shown == "Area":  # show what the click asked for
            self.shown = TABS[0]
        return True

    def remove_point(self, index: int) -> None:
        """Unpin the point at ``index`` (0 is the oldest)."""
        self.state.points = [p for i, p in enumerate(self.state.points) if i != index]

    def _on_box(self, bounds=None, **_) -> None:
        if bounds is None:
            return
        x0, y0, x1, y1 = bounds
        if x1 - x0 >= 2 * MERCATOR_HALF_WORLD:  # wider than the world: every longitude
            west, east = -180.0, 180.0
        else:
            west, east = (_wrap_lon(v) for v in x_to_lon(np.array([x0, x1])))
        south, north = (float(v) for v in y_to_lat(np.array([y0, y1])))
        box = (west, south, east, north)
        self._announce("Area", lambda: self.state.param.update(region=box, polygon=None))

    def _on_lasso(self, geometry=None, **_) -> None:
        if geometry is None or len(geometry) < 3:
            return
        xy = np.asarray(geometry, dtype=float)
        # the clicks that placed the vertices probed nothing: the points before them stay
        vertex_taps = [before for at, before in self._taps if _near_any(at, xy)]
        if vertex_taps:
            self.state.points = vertex_taps[0]
        self._taps, self._polygon_xy = [], xy
        lons = x_to_lon(xy[:, 0])  # not wrapped: a polygon across the dateline stays whole
        lats = y_to_lat(xy[:, 1])
        vertices = [(float(a), float(b)) for a, b in zip(lons, lats, strict=True)]
        self._announce("Area", lambda: self.state.param.update(polygon=vertices, region=None))

    def _announce(self, tab: str, gesture: Callable[[], object]) -> None:
        """Bring ``tab`` to the front saying it computes, then apply ``gesture`` on the next
        tick of the server's event loop: the browser sees the sign before the map redraws its
        marks (which takes a second on 2 cores); a gesture that asks nothing (a click on
        land) takes the sign back."""
        self.shown = tab
        pane = self.panes[TABS.index(tab)] if self.panes else None
        if pane is not None:
            pane.announce()

        def apply() -> None:
            if gesture() is False and pane is not None:
                pane.withdraw()

        doc = pn.state.curdoc
        if doc is not None and doc.session_context is not None:
            doc.add_next_tick_callback(apply)
        else:  # a notebook or a test: at once
            apply()

    def clear(self, *_) -> None:
        """Forget the points and the region."""
        self.state.param.update(points=[], region=None, polygon=None)

    # -- map layers -------------------------------------------------------------------------
    def _marks(self, points=(), **_) -> hv.Points:
        return pin_marks(points).opts(hooks=[self.feedback.hook])

    def _region_outline(self, region=None, polygon=None, **_) -> hv.Path:
        lon, lat = _outline(region, polygon)
        x, y = to_crs(lon, lat, WEB_MERCATOR)
        return hv.Path([{"x": x, "y": y}], kdims=["x", "y"]).opts(
            color=REGION_COLOR, line_width=2, line_dash="dashed"
        )

    # -- plots ------------------------------------------------------------------------------
    def _placeholder(self, text: str) -> pn.viewable.Viewable:
        return pn.pane.Markdown(f"*{text}*", margin=(10, 15), styles={"color": "#555"})

    @staticmethod
    def _pane(obj: hv.core.Element) -> pn.pane.HoloViews:
        return pn.pane.HoloViews(obj, sizing_mode="stretch_width", height=PLOT_HEIGHT)

    def series_plot(self) -> pn.viewable.Viewable:
        """The time series at the points (comparing runs: :meth:`comparison_plot`)."""
        if self.state.comparing:
            return self.comparison_plot()
        if self.state.show != "value":
            return self.events_plot()
        series = self.answers.series()
        if series is None:
            hint = "Click the sea on the map for a time series; tick *Pin points* to compare"
            if self.state.source is not None and not self.answers.has("time"):
                hint = "This variable has no time axis"
            return self._placeholder(hint)
        long_name, _, ylabel = self.answers.labels()
        return self._pane(plots.series_overlay(series, long_name, ylabel))

    def events_plot(self) -> pn.viewable.Viewable:
        """At the newest point: the series with its climatology, threshold and marine
        heatwaves shaded, and the table of the events."""
        try:
            answer = self.answers.events()
        except SourceError as exc:
            self.state.report(str(exc))
            return self._placeholder(escape(exc))
        if answer is None:
            return self._placeholder("Click the sea on the map for its marine heatwaves")
        point, table, climate, series = answer
        long_name, _, ylabel = self.answers.labels()
        title = (
            f"{long_name} at {point.cell.label()}: marine heatwaves against the "
            f"{climate.reference.label} climatology"
        )
        overlay = plots.events_overlay(series, climate, table, title, ylabel)
        count = f"**{len(table)} marine heatwaves** (Hobday et al. 2016; categories 2018)"
        events = pn.pane.DataFrame(
            table.iloc[::-1], index=False, float_format="{:.2f}".format, max_rows=200,
            sizing_mode="stretch_width", css_classes=["mhw-events"],
        )  # fmt: skip
        return pn.Column(
            self._pane(overlay), pn.pane.Markdown(count, margin=(0, 15)), events,
            sizing_mode="stretch_width",
        )  # fmt: skip

    def comparison_plot(self) -> pn.viewable.Viewable:
        """Every run's series at the newest point, and below it each scenario's change."""
        runs = self.answers.comparison_series()
        if runs is None:
            return self._placeholder(
                "Click the sea on a map for the series of the baseline and every scenario"
            )
        long_name, units, ylabel = self.answers.labels()
        change = f"Δ {self.state.variable} [{units}]"
        values, deltas = plots.comparison_overlays(runs, long_name, ylabel, change)
        return pn.Column(self._pane(values), self._pane(deltas), sizing_mode="stretch_width")

    def profile_plot(self) -> pn.viewable.Viewable:
        """Value against depth at the points, at the current time step."""
        profiles = self.answers.profiles()
        if profiles is None:
            return self._placeholder(
                "Click the sea on the map for a vertical profile"
                if self.answers.has("depth")
                else "This variable has no depth levels"
            )
        long_name, _, xlabel = self.answers.labels()
        return self._pane(plots.profile_overlay(profiles, long_name, xlabel, self.state.time))

    def section_plot(self) -> pn.viewable.Viewable:
        """Time against depth (Hovmöller) at the newest point."""
        section = self.answers.section()
        if section is None:
            return self._placeholder(
                "Click the sea on the map for a time x depth section (Hovmöller)"
                if self.answers.has("depth", "time")
                else "A Hovmöller section needs time and depth"
            )
        long_name, _, clabel = self.answers.labels()
        cmap = self.map_view.colors.cmap
        return self._pane(plots.section_image(section, long_name, clabel, cmap))

    def area_plot(self) -> pn.viewable.Viewable:
        """The region's area-weighted mean over time and its statistics now."""
        try:
            answer = self.answers.area()
        except SourceError as exc:
            self.state.report(str(exc))
            return self._placeholder(escape(exc))
        if answer is None:
            return self._placeholder(
                "Choose *Box Select*, *Lasso Select* or *Poly Select* in the map's toolbar and "
                "draw a region for its area-weighted mean and statistics"
            )
        series, stats = answer
        long_name, units, ylabel = self.answers.labels()
        change = self.answers.area_change()
        if change is not None:  # the map shows the difference: so does the region
            long_name = f"the change in {long_name} ({change[0]} - {change[1]})"
            ylabel = f"Δ {self.state.variable} [{units}]" if units else f"Δ {self.state.variable}"
        table = self._stats_table(stats, units)
        if series is None:
            return pn.Column(table, sizing_mode="stretch_width")
        region = self.answers.region_label()
        overlay = plots.area_overlay(series, long_name, ylabel, region)
        return pn.Column(self._pane(overlay), table, sizing_mode="stretch_width")

    def _stats_table(self, stats: dict[str, float], units: str) -> pn.pane.Markdown:
        u = f" {escape(units)}" if units else ""
        return pn.pane.Markdown(
            f"**{escape(self.answers.area_quantity())} over the "
            f"{self.answers.region_label()} at {self.state.time}** "
            f"({stats['cells']} ocean cells)\n\n"
            "| mean | min | max | std | ocean area |\n| --- | --- | --- | --- | --- |\n"
            f"| {stats['mean']:.4g}{u} | {stats['min']:.4g}{u} | {stats['max']:.4g}{u} | "
            f"{stats['std']:.3g}{u} | {stats['ocean_area_km2']:,.0f} km² |",
            margin=(0, 15),
        )

    # -- layout -----------------------------------------------------------------------------
    @staticmethod
    def _download(content: Callable, filename: str, label: str) -> pn.widgets.FileDownload:
        return pn.widgets.FileDownload(
            callback=content, filename=filename, label=label, color="light", height=32,
            embed=False,
        )  # fmt: skip

    def _netcdf(self, what: str, filename: str) -> pn.widgets.FileDownload:
        return self._download(lambda: self.answers.netcdf(what), filename, "NetCDF")

    def _tab(self, plot: Callable[[], pn.viewable.Viewable], what: str, *depends, downloads=()):
        """A tab whose content is computed off the event loop when what it shows changes
        (the latest question's answer only, see :mod:`components.answers`)."""

        def failed(exc: BaseException) -> pn.viewable.Viewable:  # a source failed while read
            error = as_source_error(exc, str(self.state.dataset_id))
            self.state.report(str(error))
            return self._placeholder(escape(error))

        index = len(self.panes)
        name = TABS[index]  # computed only while in front (2 cores: not 4 at once)
        body = AnswerPane(
            plot, depends, what, read_errors(), failed, active=lambda: self.shown == name,
            banner_class=self.feedback.banner_class(index),
        )  # fmt: skip
        self.panes.append(body)
        bar = pn.Row(pn.pane.Markdown("Download:", margin=(8, 4, 0, 10)), *downloads, align="end")
        return pn.Column(bar, body, sizing_mode="stretch_width")

    def _build_tabs(self) -> None:
        s, a, d = self.state.param, self.answers, self._download
        choice = (s.dataset_id, s.variable, s.depth, s.scenario)
        series = self._tab(
            self.series_plot, "the time series", s.points, *choice, s.mode, s.baseline, s.scenarios,
            s.show, s.reference, s.climate_baseline,
            downloads=[
                d(a.series_csv, "timeseries.csv", "CSV"), self._netcdf("series", "timeseries.nc")
            ],
        )  # fmt: skip
        profile = self._tab(
            self.profile_plot, "the profile", s.points, self.param.point_time, *choice,
            downloads=[
                d(a.profiles_csv, "profile.csv", "CSV"), self._netcdf("profiles", "profile.nc")
            ],
        )  # fmt: skip
        section = self._tab(
            self.section_plot, "the Hovmöller section", s.points, *choice,
            self.map_view.colors.param.cmap,
            downloads=[
                d(a.section_csv, "hovmoller.csv", "CSV"), self._netcdf("section", "hovmoller.nc")
            ],
        )  # fmt: skip
        area = self._tab(
            self.area_plot, "the area series and statistics", s.region, s.polygon,
            self.param.region_time, *choice,
            s.mode, s.baseline, s.scenarios,
            downloads=[
                d(a.area_csv, "area_series.csv", "Series CSV"),
                d(a.stats_csv, "area_stats.csv", "Statistics CSV"),
                self._netcdf("area", "area_series.nc"),
            ],
        )  # fmt: skip
        self.tabs[:] = list(zip(TABS, (series, profile, section, area), strict=True))

    def _points_list(self, points) -> pn.viewable.Viewable:
        rows = []
        for i, (lon, lat) in enumerate(points):
            remove = pn.widgets.Button(
                label="✕", color="light", width=34, height=30, margin=(0, 4),
                description=f"Remove point {i + 1}",
            )  # fmt: skip
            remove.on_click(lambda _, i=i: self.remove_point(i))
            swatch = (
                f"<span style='display:inline-block;width:12px;height:12px;border-radius:6px;"
                f"background:{PIN_COLORS[i % len(PIN_COLORS)]};margin-right:6px'></span>"
            )
            rows.append(
                pn.Row(pn.pane.HTML(f"{swatch}{lon:.3f}°, {lat:.3f}°", margin=(6, 4)), remove)
            )
        return pn.FlexBox(*rows)

    def __panel__(self) -> pn.viewable.Viewable:
        clear = pn.widgets.Button(label="Clear points and region", color="light")
        clear.on_click(self.clear)
        controls = pn.FlexBox(  # wraps in a narrow column beside the map
            pn.widgets.Checkbox.from_param(
                self.param.keep_pins, margin=(12, 10), css_classes=["pin-points"]
            ),
            clear,
            pn.bind(self._points_list, self.state.param.points),
            sizing_mode="stretch_width",
        )
        if not len(self.tabs):
            self._build_tabs()
            self.tabs.active = TABS.index(self.shown)
            self.tabs.param.watch(lambda e: setattr(self, "shown", TABS[e.new]), "active")
            self.param.watch(lambda e: setattr(self.tabs, "active", TABS.index(e.new)), "shown")
            self.param.watch(lambda e: self.panes[TABS.index(e.new)].refresh(), "shown")
        return pn.Column(controls, self.tabs, sizing_mode="stretch_width")


#: Clicks remembered while a polygon may be being drawn (its most vertices).
POLYGON_VERTICES_KEPT = 64


def _near_any(xy: tuple[float, float], vertices: np.ndarray, tolerance_m: float = 1.0) -> bool:
    """True when ``xy`` is within ``tolerance_m`` Web Mercator metres of one of ``vertices``."""
    vertices = np.asarray(vertices, dtype=float).reshape(-1, 2)
    if not vertices.size:
        return False
    return bool((np.abs(vertices - np.asarray(xy, dtype=float)).max(axis=1) <= tolerance_m).any())


def _outline(region, polygon) -> tuple[np.ndarray, np.ndarray]:
    """lon, lat of the drawn region's outline (NaN when none), lon continuous."""
    if region is not None:
        box = BBox.of(*region, view=True)
        west, south, east, north = box.west, box.south, box.east_unwrapped, box.north
        lon = np.array([west, east, east, west, west])
        lat = np.array([south, south, north, north, south])
        # the box's sides follow parallels: dense enough that they stay straight in Mercator
        return lon, lat
    if polygon:
        vertices = np.asarray(polygon, dtype=float)
        lon = vertices[:, 0].copy()
        lon[1:] = lon[0] + np.cumsum(wrap_lon(np.diff(lon)))
        return np.append(lon, lon[0]), np.append(vertices[:, 1], vertices[0, 1])
    return np.array([np.nan, np.nan]), np.array([np.nan, np.nan])
