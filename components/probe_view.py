"""Probes on the map: click for a time series, pin points, draw a box or polygon for areas.

The computations live in :mod:`components.core.probes` and :mod:`components.core.regions`;
this module turns map gestures into state (Web Mercator metres to longitude/latitude), asks
for the answers and shows them as plots, tables and downloads. What the user picked lives in
the session state (:class:`~components.state.ExplorerState` ``points``, ``region``,
``polygon``), so other views and the URL see it too.

Answers are computed off the event loop (``asyncio.to_thread``): a slow read for one session
never stalls the others, and the tab shows a spinner meanwhile; of answers still in flight
only the latest question's is shown (:mod:`components.answers`). Each answer is kept (by what
it depends on), so an animation or a tab switch does not recompute it.
"""

from __future__ import annotations

import io
import logging
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param
import xarray as xr
from holoviews.streams import BoundsXY, Lasso, Params, Tap

from data_adapters import SourceError
from data_adapters.errors import as_source_error, read_errors

from .answers import off_the_loop
from .core import comparison, probes, regions, timeaxis
from .core.colours import palette
from .core.geography import MERCATOR_HALF_WORLD, WEB_MERCATOR, to_crs, x_to_lon, y_to_lat
from .map import MapView
from .state import ExplorerState
from .text import escape

log = logging.getLogger(__name__)

#: Colours of probe points, in order (markers and their lines share them).
PIN_COLORS = ["#d62728", "#2ca02c", "#1f77b4", "#ff7f0e", "#9467bd", "#17becf", "#e377c2"]
#: Most points pinned at once (the oldest is dropped).
MAX_PINS = len(PIN_COLORS)
#: Height of each probe plot (pixels).
PLOT_HEIGHT = 300
#: Answers kept per session (series, profiles, sections, areas).
ANSWERS_KEPT = 16
REGION_COLOR = "#111111"
TABS = ("Time series", "Profile", "Hovmöller", "Area")


def _wrap_lon(lon: float) -> float:
    return (float(lon) + 180.0) % 360.0 - 180.0


def plot_times(values: Any) -> np.ndarray:
    """Time values Bokeh can draw: datetime64 as they are; cftime dates by their calendar
    fields on the proleptic Gregorian calendar (a 360-day 30 February is drawn as 2 March)."""
    values = np.asarray(values)
    if values.dtype.kind == "M" or values.size == 0:
        return values.astype("datetime64[ns]")
    flat = values.ravel()
    months = np.array([f"{d.year:04d}-{d.month:02d}" for d in flat], dtype="datetime64[M]")
    offset = np.array(
        [((d.day - 1) * 24 + d.hour) * 3600 + d.minute * 60 + d.second for d in flat],
        dtype="timedelta64[s]",
    )
    return (months.astype("datetime64[s]") + offset).astype("datetime64[ns]").reshape(values.shape)


@dataclass(frozen=True)
class Probe:
    """A probe point resolved on the current grid: what was asked and the cell used."""

    number: int
    asked: tuple[float, float]
    cell: probes.Cell
    depth: float | None

    @property
    def color(self) -> str:
        return PIN_COLORS[(self.number - 1) % len(PIN_COLORS)]

    @property
    def label(self) -> str:
        return self.cell.label(self.depth)


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
    draws the points and region on it.
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
        self._answers: OrderedDict[Hashable, Any] = OrderedDict()
        self._streams: list = []  # kept: a stream lives as long as its subscriber needs it
        self.listen_to(self.map_view)
        # filled when first shown: the tabs' contents are computed by the event loop that
        # shows them (a server session or a notebook)
        self.tabs = pn.Tabs(dynamic=True, sizing_mode="stretch_width")

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
        lon = _wrap_lon(x_to_lon(np.array([x]))[0])
        lat = float(y_to_lat(np.array([y]))[0])
        self.add_point(lon, lat)

    def add_point(self, lon: float, lat: float) -> bool:
        """Probe (lon, lat): replace the point, or add a pin when pinning; False (and a
        message) when there is no ocean cell there."""
        try:
            probes.nearest_ocean_cell(self.state.field(), lon, lat)
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
        self.state.param.update(region=(west, south, east, north), polygon=None)
        self.shown = "Area"

    def _on_lasso(self, geometry=None, **_) -> None:
        if geometry is None or len(geometry) < 3:
            return
        xy = np.asarray(geometry, dtype=float)
        lons = x_to_lon(xy[:, 0])  # not wrapped: a polygon across the dateline stays whole
        lats = y_to_lat(xy[:, 1])
        vertices = [(float(a), float(b)) for a, b in zip(lons, lats, strict=True)]
        self.state.param.update(polygon=vertices, region=None)
        self.shown = "Area"

    def clear(self, *_) -> None:
        """Forget the points and the region."""
        self.state.param.update(points=[], region=None, polygon=None)

    # -- map layers -------------------------------------------------------------------------
    def _marks(self, points=(), **_) -> hv.Points:
        return pin_marks(points)

    def _region_outline(self, region=None, polygon=None, **_) -> hv.Path:
        lon, lat = _outline(region, polygon)
        x, y = to_crs(lon, lat, WEB_MERCATOR)
        return hv.Path([{"x": x, "y": y}], kdims=["x", "y"]).opts(
            color=REGION_COLOR, line_width=2, line_dash="dashed"
        )

    # -- what the user picked, resolved on the grid -----------------------------------------
    def _remember(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        if key in self._answers:
            self._answers.move_to_end(key)
            return self._answers[key]
        answer = compute()
        self._answers[key] = answer
        while len(self._answers) > ANSWERS_KEPT:
            self._answers.popitem(last=False)
        return answer

    def _choice(self) -> tuple:
        s = self.state
        return (s.dataset_id, s.variable, s.depth, s.scenario)

    def _variable(self, layout: str = "series") -> xr.DataArray:
        s = self.state
        ds = s.series_dataset if layout == "series" else s.dataset
        return ds[s.variable]

    def _depth(self) -> float | None:
        return self.state.depth if "depth" in self._variable("maps").dims else None

    def resolved_points(self) -> list[Probe]:
        """The points on the current grid (nearest ocean cells); an unusable point is left
        out and reported."""
        s = self.state
        if s.source is None:
            return []
        out = []
        for n, (lon, lat) in enumerate(s.points, start=1):
            try:
                cell = self._remember(
                    ("cell", s.dataset_id, s.variable, s.depth, lon, lat),
                    lambda lon=lon, lat=lat: probes.nearest_ocean_cell(s.field(), lon, lat),
                )
            except SourceError as exc:
                s.report(f"point {n}: {exc}")
                continue
            out.append(Probe(n, (lon, lat), cell, self._depth()))
        return out

    def _scenario(self) -> str | None:
        da = self._variable("maps")
        return self.state.scenario if "scenario" in da.dims else None

    # -- answers (plain data; what the plots and downloads show) ----------------------------
    def series(self) -> xr.Dataset | None:
        """Time series at each point: variables ``point1``, ``point2``… (attrs: the cell)."""
        points = self.resolved_points()
        if not points or "time" not in self._variable("maps").dims:
            return None
        out = {}
        for p in points:
            series = self._remember(
                ("series", *self._choice(), p.cell),
                lambda p=p: probes.point_series(
                    self._variable(), p.cell, depth=p.depth, scenario=self._scenario()
                ).compute(),
            )
            out[f"point{p.number}"] = _described(series, p)
        return xr.Dataset(out)

    def comparison_series(self) -> xr.Dataset | None:
        """At the newest point: the series of the baseline and of every compared scenario
        (variables named by run; with ensemble members their mean, and ``<run>_min`` /
        ``<run>_max`` the members' envelope), and each scenario's change from the baseline
        (``<run> - <baseline>``)."""
        s = self.state
        points = self.resolved_points()
        da = self._variable()
        if not points or "time" not in da.dims:
            return None
        p = points[-1]
        names = [s.baseline, *(x for x in s.scenarios if x != s.baseline)]
        comparison.run_names(da, s.baseline, names[1:] or names)  # checks the labels
        out: dict[str, xr.DataArray] = {}
        for name in names:
            series = self._remember(
                ("run-series", *self._choice(), name, p.cell),
                lambda name=name: probes.point_series(
                    da,
                    p.cell,
                    depth=p.depth,
                    scenario=name if "scenario" in da.dims else None,
                    members=True,
                ).compute(),
            )
            if "member" in series.dims:
                out[f"{name}_min"] = series.min("member")
                out[f"{name}_max"] = series.max("member")
                series = series.mean("member")
            out[name] = series
        for name in names[1:]:
            out[comparison.label(name, s.baseline, "diff")] = out[name] - out[s.baseline]
        ds = xr.Dataset({k: v.reset_coords(drop=True) for k, v in out.items()})
        return ds.assign_attrs(cell=p.label, baseline=s.baseline, scenarios=names[1:])

    def profiles(self) -> xr.Dataset | None:
        """Value against depth at each point, at the current time step."""
        points = self.resolved_points()
        da = self._variable("maps")
        if not points or "depth" not in da.dims:
            return None
        step = self._time_index()
        out = {}
        for p in points:
            profile = self._remember(
                ("profile", *self._choice(), step, p.cell),
                lambda p=p: probes.profile(
                    self._variable(), p.cell, step if step is not None else 0, self._scenario()
                ).compute(),
            )
            out[f"point{p.number}"] = _described(profile, p)
        return xr.Dataset(out)

    def section(self) -> xr.DataArray | None:
        """Time against depth (Hovmöller) at the newest point."""
        points = self.resolved_points()
        da = self._variable("maps")
        if not points or "depth" not in da.dims or "time" not in da.dims:
            return None
        p = points[-1]
        section = self._remember(
            ("section", *self._choice(), p.cell),
            lambda: probes.section(self._variable(), p.cell, self._scenario()).compute(),
        )
        return _described(section, p)

    def region_mask(self) -> xr.DataArray | None:
        """The cells inside the drawn box or polygon (None when nothing is drawn)."""
        s = self.state
        if s.source is None or (s.region is None and s.polygon is None):
            return None
        return regions.region_mask(s.field(), bbox=s.region, polygon=s.polygon)

    def area(self) -> tuple[xr.Dataset | None, dict[str, float]] | None:
        """Area-weighted mean, min and max over the region per time step, and the region's
        statistics at the current time step."""
        s = self.state
        mask = self.region_mask()
        if mask is None:
            return None
        region_key = (s.region, tuple(map(tuple, s.polygon or ())))
        series = None
        if "time" in self._variable("maps").dims:
            series = self._remember(
                ("area", *self._choice(), region_key),
                lambda: regions.area_series(
                    self._variable(), mask, depth=self._depth(), scenario=self._scenario()
                ).compute(),
            )
        stats = self._remember(
            ("stats", *self._choice(), s.time, region_key),
            lambda: regions.region_stats(s.field(), mask),
        )
        return series, stats

    def region_label(self) -> str:
        s = self.state
        if s.region is not None:
            w, so, e, n = s.region
            return f"box W {w:.2f}, S {so:.2f}, E {e:.2f}, N {n:.2f}"
        if s.polygon is not None:
            return f"polygon of {len(s.polygon)} vertices"
        return ""

    def _time_index(self) -> int | None:
        s = self.state
        times = s.param.time.objects
        return times.index(s.time) if s.time in times else None

    def _labels(self) -> tuple[str, str, str]:
        """(long name, units, axis label): the axis names the variable short, with units."""
        da = self._variable("maps")
        long_name = str(da.attrs.get("long_name", self.state.variable))
        units = str(da.attrs.get("units", ""))
        name = str(self.state.variable)
        return long_name, units, f"{name} [{units}]" if units else name

    # -- plots ------------------------------------------------------------------------------
    def _placeholder(self, text: str) -> pn.viewable.Viewable:
        return pn.pane.Markdown(f"*{text}*", margin=(10, 15), styles={"color": "#555"})

    def series_plot(self) -> pn.viewable.Viewable:
        if self.state.comparing:
            return self.comparison_plot()
        series = self.series()
        if series is None:
            hint = "Click the sea on the map for a time series; tick *Pin points* to compare"
            if self.state.source is not None and "time" not in self._variable("maps").dims:
                hint = "This variable has no time axis"
            return self._placeholder(hint)
        long_name, _, ylabel = self._labels()
        curves = [
            hv.Curve(
                (plot_times(da["time"].values), da.values),
                "time",
                ("value", ylabel),
                label=da.attrs["cell"],
            ).opts(color=da.attrs["color"], line_width=2)
            for da in series.data_vars.values()
        ]
        first = next(iter(series.data_vars.values()))
        where = first.attrs["cell"] if len(curves) == 1 else f"{len(curves)} points"
        return self._pane(
            hv.Overlay(curves).opts(
                title=f"{long_name} at {where}",
                show_legend=len(curves) > 1,
                legend_position="top_left",
                **_PLOT_OPTS,
            )
        )

    def comparison_plot(self) -> pn.viewable.Viewable:
        """Every run's series at the newest point, and below it each scenario's change."""
        runs = self.comparison_series()
        if runs is None:
            return self._placeholder(
                "Click the sea on a map for the series of the baseline and every scenario"
            )
        long_name, units, ylabel = self._labels()
        t = plot_times(runs["time"].values)
        names = [runs.attrs["baseline"], *runs.attrs["scenarios"]]
        colours = {runs.attrs["baseline"]: "#222222"}
        colours.update(zip(runs.attrs["scenarios"], PIN_COLORS, strict=False))
        layers = []
        for name in names:
            if f"{name}_min" in runs:
                layers.append(
                    hv.Area(
                        (t, runs[f"{name}_min"].values, runs[f"{name}_max"].values),
                        "time", ["min", "max"], label=f"{name} members",
                    ).opts(color=colours[name], alpha=0.2, line_alpha=0)
                )  # fmt: skip
            layers.append(
                hv.Curve((t, runs[name].values), "time", ("value", ylabel), label=name).opts(
                    color=colours[name], line_width=2
                )
            )
        values = hv.Overlay(layers).opts(
            title=f"{long_name} at {runs.attrs['cell']}: baseline and scenarios",
            legend_position="top_left", **_PLOT_OPTS,
        )  # fmt: skip
        deltas = [
            hv.Curve(
                (t, runs[comparison.label(n, names[0], "diff")].values),
                "time", ("change", f"Δ {self.state.variable} [{units}]"),
                label=comparison.label(n, names[0], "diff"),
            ).opts(color=colours[n], line_width=2)
            for n in names[1:]
        ]  # fmt: skip
        zero = hv.HLine(0).opts(color="#888888", line_dash="dotted", line_width=1)
        change = hv.Overlay([*deltas, zero]).opts(
            title=f"Change from {names[0]}", legend_position="top_left", **_PLOT_OPTS
        )
        return pn.Column(self._pane(values), self._pane(change), sizing_mode="stretch_width")

    def profile_plot(self) -> pn.viewable.Viewable:
        profiles = self.profiles()
        if profiles is None:
            has_depth = self.state.source is not None and "depth" in self._variable("maps").dims
            return self._placeholder(
                "Click the sea on the map for a vertical profile"
                if has_depth
                else "This variable has no depth levels"
            )
        long_name, _, xlabel = self._labels()
        layers = []
        for da in profiles.data_vars.values():
            # value along x, depth down the y axis: the oceanographer's profile
            xy = (da.values, da["depth"].values)
            kdims, vdims = ("value", xlabel), ("depth", "depth [m]")
            layers.append(
                hv.Curve(xy, kdims, vdims, label=da.attrs["cell"]).opts(
                    color=da.attrs["color"], line_width=2
                )
            )
            layers.append(hv.Scatter(xy, kdims, vdims).opts(color=da.attrs["color"], size=6))
        curves = layers[::2]
        first = next(iter(profiles.data_vars.values()))
        where = first.attrs["cell"].split(", depth")[0] if len(curves) == 1 else "points"
        overlay = hv.Overlay(layers).opts(
            title=f"{long_name} profile at {where}, {self.state.time}",
            show_legend=len(curves) > 1,
            legend_position="bottom_right",
            invert_yaxis=True,
            **_PLOT_OPTS,
        )
        return self._pane(overlay)

    def section_plot(self) -> pn.viewable.Viewable:
        section = self.section()
        if section is None:
            has = self.state.source is not None and {"depth", "time"} <= set(
                self._variable("maps").dims
            )
            return self._placeholder(
                "Click the sea on the map for a time x depth section (Hovmöller)"
                if has
                else "A Hovmöller section needs time and depth"
            )
        long_name, _, clabel = self._labels()
        times = plot_times(section["time"].values)
        depths = np.asarray(section["depth"].values, dtype=float)
        mesh = hv.QuadMesh(
            (times, _level_edges(depths), section.transpose("depth", "time").values),
            ["time", ("depth", "depth [m]")],
            (section.name or "value", clabel),
        ).opts(
            cmap=palette(self.map_view.colors.cmap),
            colorbar=True,
            clabel=clabel,
            invert_yaxis=True,
            title=f"{long_name} at {section.attrs['cell'].split(', depth')[0]} (Hovmöller)",
            **_PLOT_OPTS,
        )
        return self._pane(mesh)

    def area_plot(self) -> pn.viewable.Viewable:
        try:
            answer = self.area()
        except SourceError as exc:
            self.state.report(str(exc))
            return self._placeholder(escape(exc))
        if answer is None:
            return self._placeholder(
                "Choose *Box Select*, *Lasso Select* or *Poly Select* in the map's toolbar and "
                "draw a region for its area-weighted mean and statistics"
            )
        series, stats = answer
        long_name, units, ylabel = self._labels()
        table = self._stats_table(stats, units)
        if series is None:
            return pn.Column(table, sizing_mode="stretch_width")
        t = plot_times(series["time"].values)
        band = hv.Area(
            (t, series["min"].values, series["max"].values), "time", ["min", "max"],
            label="min to max",
        ).opts(alpha=0.25, color="#0b5d8c", line_alpha=0)  # fmt: skip
        mean = hv.Curve((t, series["mean"].values), "time", ("mean", ylabel), label="area mean")
        overlay = (band * mean.opts(color="#0b3954", line_width=2)).opts(
            title=f"Area-weighted mean of {long_name} over the {self.region_label()}",
            legend_position="top_left",
            **_PLOT_OPTS,
        )
        return pn.Column(self._pane(overlay), table, sizing_mode="stretch_width")

    def _stats_table(self, stats: dict[str, float], units: str) -> pn.pane.Markdown:
        u = f" {escape(units)}" if units else ""
        return pn.pane.Markdown(
            f"**Over the {self.region_label()} at {self.state.time}** "
            f"({stats['cells']} ocean cells)\n\n"
            "| mean | min | max | std | ocean area |\n| --- | --- | --- | --- | --- |\n"
            f"| {stats['mean']:.4g}{u} | {stats['min']:.4g}{u} | {stats['max']:.4g}{u} | "
            f"{stats['std']:.3g}{u} | {stats['ocean_area_km2']:,.0f} km² |",
            margin=(0, 15),
        )

    @staticmethod
    def _pane(obj: hv.core.Element) -> pn.pane.HoloViews:
        return pn.pane.HoloViews(obj, sizing_mode="stretch_width", height=PLOT_HEIGHT)

    # -- downloads --------------------------------------------------------------------------
    def series_csv(self) -> io.StringIO:
        """The time series at the points: ``time`` and one column per point (comparing:
        one per run and per change, at the newest point)."""
        if self.state.comparing:
            runs = self.comparison_series()
            header = f"{self._quantity()} at {runs.attrs['cell']}" if runs is not None else ""
            return _csv(runs, header, index="time")
        series = self.series()
        return _csv(series, self._csv_header(series), index="time")

    def profiles_csv(self) -> io.StringIO:
        profiles = self.profiles()
        return _csv(profiles, self._csv_header(profiles, at_time=True), index="depth")

    def section_csv(self) -> io.StringIO:
        section = self.section()
        if section is None:
            return io.StringIO("")
        frame = section.to_pandas()
        frame.columns = [f"{d:g}" for d in section["depth"].values]
        frame.index = timeaxis.iso_times(section["time"].values)
        buffer = io.StringIO()
        buffer.write(f"# {self._quantity()} at {section.attrs['cell']}; columns: depth in m\n")
        frame.to_csv(buffer, index_label="time")
        buffer.seek(0)
        return buffer

    def area_csv(self) -> io.StringIO:
        answer = self.area()
        if answer is None or answer[0] is None:
            return io.StringIO("")
        series, _ = answer
        buffer = io.StringIO()
        buffer.write(f"# {self._quantity()} over the {self.region_label()} (area-weighted)\n")
        frame = series.to_dataframe()[["mean", "min", "max"]]
        frame.index = timeaxis.iso_times(series["time"].values)
        frame.to_csv(buffer, index_label="time")
        buffer.seek(0)
        return buffer

    def stats_csv(self) -> io.StringIO:
        answer = self.area()
        if answer is None:
            return io.StringIO("")
        _, stats = answer
        buffer = io.StringIO()
        buffer.write(f"# {self._quantity()} over the {self.region_label()} at {self.state.time}\n")
        pd.DataFrame([stats]).to_csv(buffer, index=False)
        buffer.seek(0)
        return buffer

    def netcdf(self, what: str) -> io.BytesIO:
        """The data behind a tab as NetCDF: ``series``, ``profiles``, ``section``, ``area``."""
        if what == "area":
            answer = self.area()
            data = answer[0] if answer else None
        elif what == "series" and self.state.comparing:
            data = self.comparison_series()
        else:
            data = getattr(self, what)()
        if data is None:
            return io.BytesIO(b"")
        ds = data.to_dataset() if isinstance(data, xr.DataArray) else data.copy()
        for name in ds.variables:
            ds[name].encoding = {}
            ds[name].attrs.pop("color", None)
        ds.attrs.update(
            title=f"{self._quantity()} from {self.state.source.title}",
            source=str(self.state.dataset_id),
            Conventions="CF-1.8",
        )
        if what == "area":
            ds.attrs["region"] = self.region_label()
        return io.BytesIO(ds.to_netcdf())

    def _quantity(self) -> str:
        _, units, _ = self._labels()
        scenario = None if self.state.comparing else self._scenario()
        text = f"{self.state.variable} [{units}]" if units else str(self.state.variable)
        return f"{text}, scenario {scenario}" if scenario else text

    def _csv_header(self, data: xr.Dataset | None, at_time: bool = False) -> str:
        if data is None:
            return ""
        cells = "; ".join(f"{k}: {v.attrs['cell']}" for k, v in data.data_vars.items())
        when = f" at {self.state.time}" if at_time else ""
        return f"{self._quantity()}{when}; {cells}"

    # -- layout -----------------------------------------------------------------------------
    def _download(self, callback: Callable, filename: str, label: str) -> pn.widgets.FileDownload:
        return pn.widgets.FileDownload(
            callback=callback, filename=filename, label=label, color="light", height=32,
            embed=False,
        )  # fmt: skip

    def _tab(self, plot: Callable[[], pn.viewable.Viewable], *depends, downloads=()):
        """A tab whose content is computed off the event loop when what it shows changes
        (the latest question's answer only, see :mod:`components.answers`)."""

        def failed(exc: BaseException) -> pn.viewable.Viewable:  # a source failed while read
            error = as_source_error(exc, str(self.state.dataset_id))
            self.state.report(str(error))
            return self._placeholder(escape(error))

        content = off_the_loop(plot, read_errors(), failed)
        body = pn.panel(pn.bind(content, *depends), loading_indicator=True)
        bar = pn.Row(pn.pane.Markdown("Download:", margin=(8, 4, 0, 10)), *downloads, align="end")
        return pn.Column(bar, body, sizing_mode="stretch_width")

    def _build_tabs(self) -> None:
        s = self.state.param
        choice = (s.dataset_id, s.variable, s.depth, s.scenario)
        self.tabs[:] = [
            (
                TABS[0],
                self._tab(
                    self.series_plot, s.points, *choice, s.mode, s.baseline, s.scenarios,
                    downloads=[
                        self._download(self.series_csv, "timeseries.csv", "CSV"),
                        self._download(lambda: self.netcdf("series"), "timeseries.nc", "NetCDF"),
                    ],
                ),
            ),
            (
                TABS[1],
                self._tab(
                    self.profile_plot, s.points, self.param.point_time, *choice,
                    downloads=[
                        self._download(self.profiles_csv, "profile.csv", "CSV"),
                        self._download(lambda: self.netcdf("profiles"), "profile.nc", "NetCDF"),
                    ],
                ),
            ),
            (
                TABS[2],
                self._tab(
                    self.section_plot, s.points, *choice, self.map_view.colors.param.cmap,
                    downloads=[
                        self._download(self.section_csv, "hovmoller.csv", "CSV"),
                        self._download(lambda: self.netcdf("section"), "hovmoller.nc", "NetCDF"),
                    ],
                ),
            ),
            (
                TABS[3],
                self._tab(
                    self.area_plot, s.region, s.polygon, self.param.region_time, *choice,
                    downloads=[
                        self._download(self.area_csv, "area_series.csv", "Series CSV"),
                        self._download(self.stats_csv, "area_stats.csv", "Statistics CSV"),
                        self._download(lambda: self.netcdf("area"), "area_series.nc", "NetCDF"),
                    ],
                ),
            ),
        ]  # fmt: skip

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
        return pn.Row(*rows, sizing_mode="stretch_width")

    def __panel__(self) -> pn.viewable.Viewable:
        clear = pn.widgets.Button(label="Clear points and region", color="light")
        clear.on_click(self.clear)
        controls = pn.Row(
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
        return pn.Column(controls, self.tabs, sizing_mode="stretch_width")


#: Options every probe plot shares.
_PLOT_OPTS = {
    "responsive": True,
    "height": PLOT_HEIGHT,
    "tools": ["hover"],
    "fontsize": {"title": 10},
}


def _described(da: xr.DataArray, probe: Probe) -> xr.DataArray:
    """``da`` with the probe's cell (label, lon, lat) and colour in its attributes."""
    da = da.reset_coords(drop=True)
    return da.assign_attrs(
        cell=probe.label, cell_lon=probe.cell.lon, cell_lat=probe.cell.lat, color=probe.color
    )


def _csv(data: xr.Dataset | None, header: str, index: str) -> io.StringIO:
    buffer = io.StringIO()
    if data is None:
        return buffer
    frame = data.to_dataframe()[list(data.data_vars)]
    if index == "time":
        frame.index = timeaxis.iso_times(data["time"].values)
    buffer.write(f"# {header}\n")
    frame.to_csv(buffer, index_label=index)
    buffer.seek(0)
    return buffer


def _level_edges(depths: np.ndarray) -> np.ndarray:
    """Edges (n + 1) of depth levels: halfway between centres, the surface at 0 m."""
    if depths.size == 1:
        return np.array([0.0, 2 * depths[0] if depths[0] > 0 else 1.0])
    mid = (depths[1:] + depths[:-1]) / 2
    return np.concatenate([[max(0.0, 2 * depths[0] - mid[0])], mid, [2 * depths[-1] - mid[-1]]])


def _outline(region, polygon) -> tuple[np.ndarray, np.ndarray]:
    """lon, lat of the drawn region's outline (NaN when none), lon continuous."""
    if region is not None:
        west, south, east, north = region
        if east <= west:
            east += 360.0
        lon = np.array([west, east, east, west, west])
        lat = np.array([south, south, north, north, south])
        # the box's sides follow parallels: dense enough that they stay straight in Mercator
        return lon, lat
    if polygon:
        vertices = np.asarray(polygon, dtype=float)
        lon = vertices[:, 0].copy()
        lon[1:] = lon[0] + np.cumsum((np.diff(lon) + 180.0) % 360.0 - 180.0)
        return np.append(lon, lon[0]), np.append(vertices[:, 1], vertices[0, 1])
    return np.array([np.nan, np.nan]), np.array([np.nan, np.nan])
