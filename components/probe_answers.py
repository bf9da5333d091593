"""Probe answers: the data at the session's points and region, and every probe download's content.

The data half of the probe view (:mod:`components.probe_view`): given the session's
:class:`~components.state.ExplorerState` (its ``points``, ``region``, ``polygon`` and current
choices), :class:`ProbeAnswers` resolves the points on the grid and computes time series,
profiles, Hovmöller sections, area statistics and the scenario comparison at a point, and
writes them as CSV and NetCDF through the one writer per format in
:mod:`components.core.tables`. No widgets and no plots: usable in a notebook or a test
without a browser.

Each answer is kept (by what it depends on), so an animation or a tab switch does not
recompute it.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from data_adapters import SourceError, vertical

from .core import climatology, comparison, probes, processing, regions, tables
from .core.fields import quantity_label
from .state import ExplorerState

#: Colours of probe points, in order (markers and their lines share them).
PIN_COLORS = ["#d62728", "#2ca02c", "#1f77b4", "#ff7f0e", "#9467bd", "#17becf", "#e377c2"]
#: Most points pinned at once (the oldest is dropped).
MAX_PINS = len(PIN_COLORS)
#: Answers kept per session (cells, series, profiles, sections, areas).
ANSWERS_KEPT = 16
#: What the dashboard's NetCDF downloads add to their ``history`` attribute.
HISTORY = "ocean-explorer dashboard download of {source}: {what}"


@dataclass(frozen=True)
class Probe:
    """A probe point resolved on the current grid: what was asked and the cell used."""

    number: int
    asked: tuple[float, float]
    cell: probes.Cell
    depth: float | None
    #: The CSV ``key=value`` and label of a depth that is not in metres (pressure, level).
    said: tuple[str, str] | None = None

    @property
    def color(self) -> str:
        return PIN_COLORS[(self.number - 1) % len(PIN_COLORS)]

    @property
    def label(self) -> str:
        if self.said is not None:
            return f"{self.cell.label()}, {self.said[1]}"
        return self.cell.label(self.depth)

    @property
    def header(self) -> str:
        """The cell line of CSV files, as ``ocean-explorer timeseries`` writes it."""
        if self.said is not None:
            return f"{self.cell.header()},{self.said[0]}"
        return self.cell.header(self.depth)


class ProbeAnswers:
    """Time series, profiles, sections and area statistics of what a session picked.

    ``ProbeAnswers(state)`` reads the points and region from ``state`` whenever asked, so
    the answers always follow the session's current dataset, variable, depth, time and
    scenario. Answers are plain xarray objects (``None`` when there is nothing to answer);
    downloads are file contents (``io.StringIO`` for CSV, ``io.BytesIO`` for NetCDF).
    """

    def __init__(self, state: ExplorerState, kept: int = ANSWERS_KEPT) -> None:
        self.state = state
        self.kept = kept  # answers kept, the least recently used dropped first
        self._answers: OrderedDict[Hashable, Any] = OrderedDict()

    # -- the cache and the current choice ---------------------------------------------------
    def _remember(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        if key in self._answers:
            self._answers.move_to_end(key)
            return self._answers[key]
        answer = compute()
        self._answers[key] = answer
        while len(self._answers) > self.kept:
            self._answers.popitem(last=False)
        return answer

    def _choice(self) -> tuple:
        s = self.state
        return (s.dataset_id, s.variable_key, s.depth, s.scenario)

    def variable(self, layout: str = "series") -> xr.DataArray:
        """The current variable, laid out for point series (``"series"``) or maps."""
        s = self.state
        ds = s.series_dataset if layout == "series" else s.dataset
        return ds[s.variable]

    def has(self, *dims: str) -> bool:
        """True when a dataset is open and its current variable has all of ``dims``."""
        return self.state.source is not None and set(dims) <= set(self.variable("maps").dims)

    def _depth(self) -> float | None:
        return self.state.depth if "depth" in self.variable("maps").dims else None

    def _scenario(self) -> str | None:
        return self.state.scenario if "scenario" in self.variable("maps").dims else None

    def time_index(self) -> int | None:
        """Position of the state's time step on the time axis (None without time)."""
        s = self.state
        times = s.param.time.objects
        return times.index(s.time) if s.time in times else None

    def labels(self) -> tuple[str, str, str]:
        """(long name, units, axis label): the axis names the variable short, with units."""
        da = self.variable("maps")
        long_name = str(da.attrs.get("long_name", self.state.variable))
        units = str(da.attrs.get("units", ""))
        name = str(self.state.variable)
        return long_name, units, quantity_label(da, name, short=True)

    # -- what the user picked, resolved on the grid -----------------------------------------
    def resolved_points(self) -> list[Probe]:
        """The points on the current grid (nearest ocean cells); an unusable point is left
        out and reported."""
        s = self.state
        if s.source is None:
            return []
        out = []
        for n, (lon, lat) in enumerate(s.points, start=1):
            try:
                cell = self.cell(lon, lat)
            except SourceError as exc:
                s.report(f"point {n}: {exc}")
                continue
            depth = self._depth()
            said = None if depth is None else vertical.choice_parts(s.dataset, depth)
            out.append(Probe(n, (lon, lat), cell, depth, said))
        return out

    def cell(self, lon: float, lat: float) -> probes.Cell:
        """The nearest ocean cell to (lon, lat) on the current grid (kept: a click checks it,
        then its answers use it)."""
        s = self.state
        return self._remember(
            ("cell", s.dataset_id, s.variable_key, s.depth, lon, lat),
            lambda: probes.nearest_ocean_cell(s.field(shown=False), lon, lat),
        )

    def region_mask(self) -> xr.DataArray | None:
        """The cells inside the drawn box or polygon (None when nothing is drawn)."""
        s = self.state
        if s.source is None or (s.region is None and s.polygon is None):
            return None
        return regions.region_mask(s.field(shown=False), bbox=s.region, polygon=s.polygon)

    def region_label(self) -> str:
        """The drawn region in words: ``box W .., S .., E .., N ..`` or ``polygon of n
        vertices`` (empty when nothing is drawn)."""
        s = self.state
        if s.region is not None:
            w, so, e, n = s.region
            return f"box W {w:.2f}, S {so:.2f}, E {e:.2f}, N {n:.2f}"
        if s.polygon is not None:
            return f"polygon of {len(s.polygon)} vertices"
        return ""

    # -- answers ----------------------------------------------------------------------------
    def series(self) -> xr.Dataset | None:
        """Time series at each point: variables ``point1``, ``point2``… (attrs: the cell)."""
        points = self.resolved_points()
        if not points or "time" not in self.variable("maps").dims:
            return None
        out = {}
        for p in points:
            series = self._remember(
                ("series", *self._choice(), p.cell),
                lambda p=p: probes.point_series(
                    self.variable(), p.cell, depth=p.depth, scenario=self._scenario()
                ).compute(),
            )
            out[f"point{p.number}"] = _described(series, p)
        return xr.Dataset(out)

    def events(self) -> tuple[Probe, pd.DataFrame, Any, xr.DataArray] | None:
        """At the newest point: its marine heatwaves against the climatology the state
        chooses (event table, climate on its days, the series on every day)."""
        points = self.resolved_points()
        if not points or "time" not in self.variable("maps").dims:
            return None
        p, s = points[-1], self.state
        chosen = s.processing()

        def compute() -> tuple:
            da, run = self.variable(), self._scenario()
            series = probes.point_series(da, p.cell, depth=p.depth, scenario=run).compute()
            base_run = processing.climate_label(da, run, chosen.baseline)
            base = series
            if "scenario" in da.dims and base_run != (run or base_run):
                base = probes.point_series(da, p.cell, depth=p.depth, scenario=base_run).compute()
            key = climatology.cache_key(s.dataset_id, s.variable, p.depth, p.cell.label(), base_run)
            return processing.event_table(series, base, chosen.reference, key)

        key = ("events", *self._choice(), s.reference, s.climate_baseline, p.cell)
        return (p, *self._remember(key, compute))

    def comparison_series(self) -> xr.Dataset | None:
        """At the newest point: the series of the baseline and of every compared scenario
        (variables named by run; with ensemble members their mean, and ``<run>_min`` /
        ``<run>_max`` the members' envelope), and each scenario's change from the baseline
        (``<run> - <baseline>``)."""
        s = self.state
        points = self.resolved_points()
        da = self.variable()
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
        if not points or "depth" not in self.variable("maps").dims:
            return None
        step = self.time_index()
        out = {}
        for p in points:
            profile = self._remember(
                ("profile", *self._choice(), step, p.cell),
                lambda p=p: probes.profile(
                    self.variable(), p.cell, step if step is not None else 0, self._scenario()
                ).compute(),
            )
            out[f"point{p.number}"] = _described(profile, p, column=True)
        return xr.Dataset(out)

    def section(self) -> xr.DataArray | None:
        """Time against depth (Hovmöller) at the newest point."""
        points = self.resolved_points()
        if not points or not {"depth", "time"} <= set(self.variable("maps").dims):
            return None
        p = points[-1]
        section = self._remember(
            ("section", *self._choice(), p.cell),
            lambda: probes.section(self.variable(), p.cell, self._scenario()).compute(),
        )
        return _described(section, p, column=True)

    def area_change(self) -> tuple[str, str] | None:
        """(scenario, baseline) when the map shows the difference between two runs: the
        area answers are then of the change, scenario - baseline (None otherwise)."""
        s = self.state
        if s.mode != "difference" or self._scenario() is None:
            return None
        scenario = next((x for x in s.scenarios if x != s.baseline), None)
        return None if scenario is None else (scenario, s.baseline)

    def area(self) -> tuple[xr.Dataset | None, dict[str, float]] | None:
        """Area-weighted mean, min and max over the region per time step, and the region's
        statistics at the current time step; in difference mode, of the change from the
        baseline (:meth:`area_change`)."""
        s = self.state
        mask = self.region_mask()
        if mask is None:
            return None
        region_key = (s.region, tuple(map(tuple, s.polygon or ())))
        change = self.area_change()
        scenario, minus = change if change is not None else (self._scenario(), None)
        key = (*self._choice(), change, region_key)
        series = None
        if "time" in self.variable("maps").dims:
            series = self._remember(
                ("area", *key),
                lambda: regions.area_series(
                    self.variable(), mask, depth=self._depth(), scenario=scenario, minus=minus
                ).compute(),
            )

        def stats() -> dict[str, float]:
            if change is None:
                return regions.region_stats(s.field(), mask)
            delta = comparison.change(s.field(scenario=minus), s.field(scenario=scenario))
            return regions.region_stats(delta.reset_coords(drop=True), mask)

        return series, self._remember(("stats", *key, s.time), stats)

    # -- downloads: CSV and NetCDF through the core's writers -------------------------------
    def series_csv(self) -> io.StringIO:
        """The time series at the points as CSV.

        One point: exactly what ``ocean-explorer timeseries`` writes for its cell (the
        ``# lon=..,lat=..[,depth=..]`` line, then ``time,value``). Several points: one column
        per point; comparing runs: one per run and per change, at the newest point.
        """
        if self.state.comparing:
            runs = self.comparison_series()
            header = f"{self.quantity()} at {runs.attrs['cell']}" if runs is not None else ""
            return _csv(runs, header)
        series = self.series()
        if series is not None and len(series.data_vars) == 1:
            (p,) = self.resolved_points()
            return _csv(series[f"point{p.number}"], p.header)
        return _csv(series, self._csv_header(series))

    def profiles_csv(self) -> io.StringIO:
        """Value against depth at the points, at the current time: ``depth`` and one column
        per point."""
        profiles = self.profiles()
        return _csv(profiles, self._csv_header(profiles, at_time=True))

    def section_csv(self) -> io.StringIO:
        """The Hovmöller section: ``time`` and one column per depth level (metres)."""
        section = self.section()
        header = "" if section is None else f"{self.quantity()} at {section.attrs['cell']}"
        if section is None or vertical.kind(section["depth"]) == "metres":
            return _csv(section, f"{header}; columns: depth in m")
        return _csv(section, f"{header}; columns: {vertical.column(section['depth'])}")

    def area_csv(self) -> io.StringIO:
        """The region's area-weighted mean, min and max per time step."""
        answer = self.area()
        series = answer[0] if answer is not None else None
        if series is not None:
            series = series[["mean", "min", "max"]]
        header = f"{self.area_quantity()} over the {self.region_label()} (area-weighted)"
        return _csv(series, header)

    def stats_csv(self) -> io.StringIO:
        """The region's statistics at the current time: one ``statistic,value`` row each."""
        answer = self.area()
        if answer is None:
            return io.StringIO("")
        _, stats = answer
        table = xr.DataArray(
            np.array([float(v) for v in stats.values()]),
            dims="statistic",
            coords={"statistic": list(stats)},
        )
        header = f"{self.area_quantity()} over the {self.region_label()} at {self.state.time}"
        return _csv(table, header)

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
        s = self.state
        attrs = {"title": f"{self.quantity()} from {s.source.title}", "source": str(s.dataset_id)}
        if what == "area":
            attrs["region"] = self.region_label()
        history = HISTORY.format(source=s.dataset_id, what=what)
        return io.BytesIO(tables.write_netcdf(data, attrs=attrs, history=history))

    def quantity(self) -> str:
        """The variable, its units and (showing one run) the scenario, for file headers."""
        _, units, _ = self.labels()
        scenario = None if self.state.comparing else self._scenario()
        text = quantity_label({"units": units}, str(self.state.variable), short=True)
        return f"{text}, scenario {scenario}" if scenario else text

    def area_quantity(self) -> str:
        """What the area answers are of: :meth:`quantity`, or its change between two runs."""
        change = self.area_change()
        if change is None:
            return self.quantity()
        _, units, _ = self.labels()
        text = quantity_label({"units": units}, str(self.state.variable), short=True)
        return f"change in {text}, scenario {change[0]} - {change[1]}"

    def _csv_header(self, data: xr.Dataset | None, at_time: bool = False) -> str:
        if data is None:
            return ""
        cells = "; ".join(f"{k}: {v.attrs['cell']}" for k, v in data.data_vars.items())
        when = f" at {self.state.time}" if at_time else ""
        return f"{self.quantity()}{when}; {cells}"


def _described(da: xr.DataArray, probe: Probe, column: bool = False) -> xr.DataArray:
    """``da`` with the probe's cell (label, lon, lat) and colour in its attributes;
    ``column``: ``da`` spans the water column (profiles, sections), so its label names
    no depth."""
    da = da.reset_coords(drop=True)
    label = probe.cell.label() if column else probe.label
    return da.assign_attrs(
        cell=label, cell_lon=probe.cell.lon, cell_lat=probe.cell.lat, color=probe.color
    )


def _csv(data: xr.DataArray | xr.Dataset | None, header: str) -> io.StringIO:
    """``data`` as CSV text by :func:`components.core.tables.to_csv` (empty for None)."""
    buffer = io.StringIO()
    if data is not None:
        tables.to_csv(data, buffer, header)
        buffer.seek(0)
    return buffer
