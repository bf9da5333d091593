"""Scenario comparison on the map: side by side, difference, relative change, swipe, impact.

Linked side-by-side maps, difference and relative-change maps, a swipe between baseline and
scenario, and the impact table.

The computations live in :mod:`components.core.comparison`; the maps are :class:`MapView` s
set to show one run, the change from the baseline, or the swipe. Time, depth, region, view
extent and colour settings are the session's (:class:`ExplorerState`), so they stay as they
are when the scenarios or the mode change.
"""

from __future__ import annotations

import io
import logging
from typing import Any

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param
import xarray as xr

from data_adapters import SourceError
from data_adapters.errors import as_source_error, read_errors

from .answer_pane import AnswerPane
from .colors import ColorSettings
from .core import comparison, mhw, regions, shown_maps, timeaxis
from .core.frames import FrameCache
from .map import MAP_HEIGHT, MapView
from .map_layers import LayerSettings
from .state import ExplorerState, climate_inputs
from .text import escape

log = logging.getLogger(__name__)

#: Most cells x time steps an impact table reads to count steps above a value (about 0.8 GB
#: of float32); above it the table asks for a smaller region.
MAX_STEP_CELLS = 2 * 10**8
#: Height of each of several side-by-side maps (pixels).
SMALL_MAP_HEIGHT = 420
#: Height of each map of a compact comparison (embeds: up to three maps in one row), pixels.
COMPACT_MAP_HEIGHT = 340
#: Most maps a compact comparison lays out in one row.
COMPACT_COLUMNS = 3
#: The shared toolbar above several maps (pixels).
TOOLBAR_HEIGHT = 40
#: Heights (pixels) around the maps of an embedded comparison: its caption, the note under
#: the maps, the impact table's title and header, and each of its rows.
EMBED_CAPTION_HEIGHT, NOTE_HEIGHT, TABLE_HEAD_HEIGHT, TABLE_ROW_HEIGHT = 60, 40, 110, 40


class CompareView(pn.viewable.Viewer):
    """The comparison of what-if runs with the baseline, in the state's ``mode``.

    ``colors`` are the run maps' colour settings (shared with the single map, so they stay
    when switching); change maps have their own diverging ones (:attr:`change_colors`).
    """

    state = param.ClassSelector(class_=ExplorerState, doc="The session state to show.")
    colors = param.ClassSelector(class_=ColorSettings, doc="Colour settings of run maps.")
    layers = param.ClassSelector(class_=LayerSettings, doc="Basemap and overlays (shared).")
    maps = param.List(default=[], doc="The maps of the current mode (MapView), baseline first.")
    compact = param.Boolean(
        default=False,
        doc="Lay out up to three maps in one row, lower (embeds: the whole comparison fits a "
        "page-sized frame).",
    )

    def __init__(self, frames: FrameCache | None = None, **params) -> None:
        """``frames``: the frame cache of its maps (default: the process's)."""
        params.setdefault("colors", ColorSettings())
        params.setdefault("layers", LayerSettings())
        super().__init__(**params)
        self._frames = frames
        self.change_colors = {
            mode: ColorSettings(cmap=comparison.CHANGE_CMAPS[mode], mode="symmetric")
            for mode in comparison.CHANGE_MODES
        }
        self._kept: dict[tuple, MapView] = {}
        self._listeners: list = []
        self._pane = pn.pane.HoloViews(
            None, sizing_mode="stretch_width", height=MAP_HEIGHT, linked_axes=True
        )
        self.note = pn.pane.Markdown("", margin=(0, 10), styles={"color": "#555"})
        self.state.param.watch(self._arrange, ["mode", "baseline", "scenarios", "dataset_id"])
        self.state.param.watch(self._relayout, ["variable"])
        self.layers.param.watch(self._relayout, ["basemap"])
        self.param.watch(self._relayout, ["compact"])
        self._arrange()

    # -- which maps -------------------------------------------------------------------------
    def on_new_map(self, callback) -> None:
        """Call ``callback(map_view)`` for every map this view makes (now and later): the
        probes listen to their gestures."""
        self._listeners.append(callback)
        for view in self._kept.values():
            callback(view)

    def _map(self, run: str, change: str | None = None, swipe: bool = False) -> MapView:
        """A map of ``run`` (kept, so a mode switched back keeps its divider)."""
        key = (run, change, swipe)
        if key not in self._kept:
            colors = self.change_colors[change] if change else self.colors
            view = MapView(
                state=self.state, colors=colors, layers=self.layers, run=run, change=change,
                swipe=swipe, frames=self._frames,
            )  # fmt: skip
            self._kept[key] = view
            for callback in self._listeners:
                callback(view)
        return self._kept[key]

    def _arrange(self, *_) -> None:
        s = self.state
        if not s.comparing or s.source is None:
            self.maps = []
            self._pane.object = None
            return
        scenarios = [x for x in s.scenarios if x != s.baseline]
        notes = []
        if not scenarios:
            self.maps = []
            self._pane.object = None
            self.note.object = (
                "*Choose one or more what-if scenarios to compare with the baseline "
                f"'{escape(s.baseline)}'.*"
            )
            return
        if s.mode == "side-by-side":
            maps = [self._map(s.baseline), *(self._map(x) for x in scenarios)]
        elif s.mode in ("difference", "relative"):
            change = "diff" if s.mode == "difference" else "pct"
            maps = [self._map(x, change=change) for x in scenarios]
            notes.append(
                "Changes are scenario minus baseline"
                + (" relative to the baseline, in %" if change == "pct" else "")
                + "; one colour scale, centred on zero."
            )
        else:  # swipe: one map, one scenario
            maps = [self._map(scenarios[0], swipe=True)]
            notes.append(f"Drag the white line: {s.baseline} left of it, {scenarios[0]} right.")
            if len(scenarios) > 1:
                notes.append(f"Swipe shows one scenario: {scenarios[0]} (first chosen).")
        for view in maps:
            view.clim_group = maps
        regridded = s.dataset.attrs.get("regridded_scenarios")
        if regridded:
            notes.append(f"Regridded onto the baseline's grid: {regridded}.")
        self.note.object = escape(" ".join(notes))
        self.maps = maps
        self._relayout()

    def _relayout(self, *_) -> None:
        if not self.maps:
            return
        overlays = [view.overlay() for view in self.maps]
        columns, row_height, self._pane.height = self.grid(len(overlays), self.compact)
        if len(overlays) == 1:
            self._pane.object = overlays[0]
            return
        # one Layout in one pane: the maps share their axes, so they pan and zoom together
        self._pane.object = (
            hv.Layout(overlays)
            .cols(columns)
            .opts(hv.opts.Image(min_height=row_height - 20), hv.opts.Layout(shared_axes=True))
        )

    @staticmethod
    def grid(count: int, compact: bool = False) -> tuple[int, int, int]:
        """How ``count`` maps are laid out: columns, the height of a row and of the whole
        pane with its toolbar (pixels)."""
        if count <= 1:
            return 1, MAP_HEIGHT, MAP_HEIGHT
        if compact and count <= COMPACT_COLUMNS:
            columns, row_height = count, COMPACT_MAP_HEIGHT
        else:
            columns, row_height = (2 if count <= 4 else 3), SMALL_MAP_HEIGHT
        rows = -(-count // columns)
        return columns, row_height, rows * row_height + TOOLBAR_HEIGHT

    def embed_height(self) -> int:
        """Height (pixels) of the embedded comparison of the state's runs (``compact``):
        caption, maps, note and impact table, so that a frame of it shows it whole."""
        s = self.state
        runs = len([x for x in s.scenarios if x != s.baseline])
        count = {"side-by-side": runs + 1, "swipe": 1}.get(s.mode, runs)
        _, _, maps = self.grid(count, compact=True)
        table = TABLE_HEAD_HEIGHT + TABLE_ROW_HEIGHT * runs
        return EMBED_CAPTION_HEIGHT + maps + NOTE_HEIGHT + table

    # -- the impact table -------------------------------------------------------------------
    def _region(self) -> tuple[xr.DataArray, str]:
        """The drawn region, else the view, as a mask on the grid, and its name."""
        s = self.state
        field = s.field(scenario=s.baseline)
        if s.region is not None or s.polygon is not None:
            name = "drawn polygon" if s.polygon is not None else "drawn box"
            return regions.region_mask(field, bbox=s.region, polygon=s.polygon), name
        if s.extent is None:
            return regions.region_mask(field), "whole grid"
        west, south, east, north = s.extent
        if east - west >= 360.0:
            west, east = -180.0, 180.0
        else:
            west, east = ((v + 180.0) % 360.0 - 180.0 for v in (west, east))
        return regions.region_mask(field, bbox=(west, south, east, north)), "view"

    def impact_table(self) -> pd.DataFrame:
        """Per scenario: the change's statistics over the region at the current time, and
        the time steps in which the region's mean exceeds the state's ``event_value``: its
        change from the baseline, or its value (the state's ``exceed``; the column
        ``steps_exceeding``, named in ``attrs["exceedance"]``).

        Raises
        ------
        SourceError
            When nothing can be compared (no scenario, no sea in the region...).
        """
        s = self.state
        da = s.dataset[s.variable]
        scenarios = [x for x in s.scenarios if x != s.baseline]
        comparison.run_names(da, s.baseline, scenarios)  # checks the labels
        mask, _ = self._region()
        change = "pct" if s.mode == "relative" else "diff"
        rows = []
        steps = self._steps_above(mask, [s.baseline, *scenarios])
        heatwaves = self._heatwaves(mask, [s.baseline, *scenarios])
        units = str(da.attrs.get("units", ""))
        for name in scenarios:
            delta = comparison.change(
                s.field(scenario=s.baseline, members=True),
                s.field(scenario=name, members=True),
                change,
            ).reset_coords(drop=True)
            stats = comparison.impact(delta, mask, s.threshold)
            row: dict[str, Any] = {
                "scenario": name,
                **{k: stats[k] for k in comparison.IMPACT_KEYS},
            }
            if heatwaves is not None:  # the baseline's beside each scenario's (CSV columns)
                row.update(heatwaves[name])
                row.update({f"baseline_{k}": v for k, v in heatwaves[s.baseline].items()})
            if steps is not None:  # what is counted travels with the count (CSV columns)
                row.update(exceed=s.exceed, exceed_value=s.event_value)
                row["steps_exceeding"] = steps[name]
                if s.exceed == "value":
                    row["baseline_steps_exceeding"] = steps[s.baseline]
            rows.append(row)
        table = pd.DataFrame(rows)
        shown_units = str(s.shown_attrs().get("units", ""))  # a category's change: "1"
        table.attrs.update(units=shown_units if change == "diff" else "%", value_units=units)
        if heatwaves is not None:
            table.attrs["baseline_heatwaves"] = heatwaves[s.baseline]
        if steps is not None:
            times = s.dataset[s.variable]["time"].values
            table.attrs["exceedance"] = comparison.exceedance_label(
                s.exceed, s.event_value, units, timeaxis.step_name(times)
            )
        return table

    def _heatwaves(
        self, mask: xr.DataArray, names: list[str]
    ) -> dict[str, dict[str, float]] | None:
        """Per run, when Show is a marine-heatwave choice: its heatwave days in the region
        and km² per category at the current time (:func:`shown_maps.heatwave_impact`)."""
        s = self.state
        chosen = s.processing()
        if not chosen.show.startswith("mhw") or "time" not in s.dataset[s.variable].dims:
            return None
        step = s.param.time.objects.index(s.time)
        out = {}
        for name in names:
            run, base, key = climate_inputs(s, name)
            out[name] = shown_maps.heatwave_impact(run, base, step, chosen, mask, key)
        return out

    def _steps_above(self, mask: xr.DataArray, names: list[str]) -> dict[str, int] | None:
        s = self.state
        da = s.series_dataset[s.variable]
        if s.event_value is None or "time" not in da.dims:
            return None
        cells = int(np.asarray(mask.values).sum()) * da.sizes["time"] * len(names)
        if cells > MAX_STEP_CELLS:
            raise SourceError(
                f"counting steps above {s.event_value:g} would read {cells:,} values; "
                "zoom in or draw a smaller region"
            )
        depth = s.depth if "depth" in da.dims else None
        series = {
            name: regions.area_series(da, mask, depth=depth, scenario=name)["mean"].compute()
            for name in names
        }
        return comparison.steps_exceeding(series, s.baseline, s.event_value, s.exceed)

    def table_csv(self) -> io.StringIO:
        """The impact table as CSV, with a first line saying over what and when."""
        buffer = io.StringIO()
        try:
            table = self.impact_table()
            _, where = self._region()
        except SourceError as exc:
            buffer.write(f"# {exc}\n")
            buffer.seek(0)
            return buffer
        s = self.state
        counted = table.attrs.get("exceedance")
        buffer.write(
            f"# {s.variable} change [{table.attrs['units']}] from {s.baseline} over the "
            f"{where} at {s.time}; threshold {s.threshold:g}"
            + (f"; steps_exceeding: {counted} (regional mean)" if counted else "")
            + "\n"
        )
        table.to_csv(buffer, index=False)
        buffer.seek(0)
        return buffer

    def _table_markdown(self) -> str:
        s = self.state
        if not s.comparing:
            return ""
        try:
            table = self.impact_table()
            _, where = self._region()
        except read_errors() as exc:  # SourceError included: no scenario, land, a failed read
            return f"*{escape(as_source_error(exc, str(s.dataset_id)))}*"
        units = escape(table.attrs["units"])
        head = ["scenario", *comparison.describe(table.iloc[0].to_dict(), units)]
        heat = table.attrs.get("baseline_heatwaves")
        if heat is not None:
            head += [
                f"heatwave days (mean of the last {shown_maps.HEATWAVE_WINDOW_DAYS} days)",
                *(f"km² {name}" for name in mhw.CATEGORIES.values()),
            ]
        if "exceedance" in table.attrs:
            head.append(f"{escape(table.attrs['exceedance'])} (regional mean)")
        lines = [
            f"**Impact over the {where} at {s.time}** (threshold: change above {s.threshold:g} "
            f"{units})",
            "",
            "| " + " | ".join(head) + " |",
            "|" + " --- |" * len(head),
        ]
        for row in table.to_dict("records"):
            cells = [escape(row["scenario"]), *comparison.describe(row, units).values()]
            if heat is not None:
                cells += _heatwave_cells(row, heat)
            if "steps_exceeding" in row:
                base = row.get("baseline_steps_exceeding")
                count = f"{row['steps_exceeding']}"
                cells.append(count + (f" (baseline {base})" if base is not None else ""))
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def __panel__(self) -> pn.viewable.Viewable:
        s = self.state.param

        body = AnswerPane(
            self._table_markdown,
            [
                s.mode, s.baseline, s.scenarios, s.time, s.depth, s.variable,
                s.threshold, s.within_spread, s.event_value, s.exceed, s.region, s.polygon,
                s.extent, s.show, s.reference, s.climate_baseline,
            ],
            what="the impact table",
        )  # fmt: skip
        download = pn.widgets.FileDownload(
            callback=self.table_csv, filename="impact.csv", label="Impact table CSV",
            color="light", embed=False, height=32,
        )  # fmt: skip
        return pn.Column(self._pane, self.note, pn.Row(body, download), sizing_mode="stretch_width")


def _heatwave_cells(row: dict[str, Any], baseline: dict[str, float]) -> list[str]:
    """A scenario's heatwave days and km² per category, each with the baseline's."""
    days = f"{row['heatwave_days']:.1f} (baseline {baseline['heatwave_days']:.1f})"
    areas = [
        f"{row[key]:,.0f} (baseline {baseline[key]:,.0f})"
        for key in (f"area_{name.lower()}_km2" for name in mhw.CATEGORIES.values())
    ]
    return [days, *areas]
