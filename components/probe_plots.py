"""Probe plots: HoloViews elements of the probe answers (series, runs, profiles, sections, areas).

Each function takes an answer of :class:`components.probe_answers.ProbeAnswers` (plain
xarray) and the variable's labels, and returns an element; the probe view
(:mod:`components.probe_view`) puts them in panes and tabs.
"""

from __future__ import annotations

from typing import Any

import holoviews as hv
import numpy as np
import xarray as xr

from .core import comparison
from .core.colours import palette
from .probe_answers import PIN_COLORS

#: Height of each probe plot (pixels).
PLOT_HEIGHT = 300
#: Most date labels along a time axis: five short labels fit a phone's 220-pixel plot.
TIME_TICKS = 5
#: Date labels by tick spacing, short enough not to overlap ("Mar", "08 Mar"); the year (or
#: day) they belong to once, under the first.
TIME_LABELS = {"hours": "%H:%M", "days": "%d %b", "months": "%b", "years": "%Y"}
TIME_CONTEXT = {"hours": "%d %b %Y", "days": "%Y", "months": "%Y", "years": ""}


def _time_axis(plot: Any, element: Any) -> None:
    """Short, few date labels on a time axis (a year of days read 'Jan 2025 Mar 2025...'
    one over the other on a phone)."""
    from bokeh.models import DatetimeAxis, DatetimeTickFormatter

    for axis in plot.state.xaxis:
        if isinstance(axis, DatetimeAxis):
            context = DatetimeTickFormatter(**TIME_CONTEXT)
            axis.formatter = DatetimeTickFormatter(
                **TIME_LABELS, context=context, context_which="start"
            )
            axis.ticker.desired_num_ticks = TIME_TICKS


#: Options every probe plot shares.
PLOT_OPTS = {
    "responsive": True,
    "height": PLOT_HEIGHT,
    "tools": ["hover"],
    "fontsize": {"title": 10},
    "hooks": [_time_axis],
}


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


def series_overlay(series: xr.Dataset, long_name: str, ylabel: str) -> hv.Overlay:
    """One line per point, in the point's colour, titled by the cell (or the point count)."""
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
    return hv.Overlay(curves).opts(
        title=f"{long_name} at {where}",
        show_legend=len(curves) > 1,
        legend_position="top_left",
        **PLOT_OPTS,
    )


def events_overlay(series: Any, climate: Any, events: Any, title: str, ylabel: str) -> hv.Overlay:
    """A point's series with its climatology and 90th-percentile threshold, and its marine
    heatwaves shaded in the colour of their category."""
    from .core.colours import CATEGORY_COLOURS
    from .core.mhw import CATEGORIES

    times = plot_times(series["time"].values)
    number = {name: n for n, name in CATEGORIES.items()}
    spans = [
        hv.VSpan(
            np.datetime64(row.date_start), np.datetime64(row.date_end) + np.timedelta64(1, "D")
        ).opts(color=CATEGORY_COLOURS[number[row.category]], alpha=0.5)
        for row in events.itertuples()
    ]
    curves = [
        hv.Curve(
            (times, climate.thresh), "time", ("value", ylabel), label="threshold (90th pct)"
        ).opts(color="#d62728", line_dash="dashed", line_width=1),
        hv.Curve((times, climate.seas), "time", ("value", ylabel), label="climatology").opts(
            color="#555555", line_width=1
        ),
        hv.Curve((times, series.values), "time", ("value", ylabel), label="value").opts(
            color="#1f77b4", line_width=1.5
        ),
    ]
    return hv.Overlay([*spans, *curves]).opts(
        title=title, show_legend=True, legend_position="top_left", **PLOT_OPTS
    )


def comparison_overlays(
    runs: xr.Dataset, long_name: str, ylabel: str, change_label: str
) -> tuple[hv.Overlay, hv.Overlay]:
    """Every run's series at the point (the members' envelope shaded), and each scenario's
    change from the baseline."""
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
        ylabel=ylabel, legend_position="top_left", **PLOT_OPTS,
    )  # fmt: skip
    deltas = [
        hv.Curve(
            (t, runs[comparison.label(n, names[0], "diff")].values),
            "time", ("change", change_label),
            label=comparison.label(n, names[0], "diff"),
        ).opts(color=colours[n], line_width=2)
        for n in names[1:]
    ]  # fmt: skip
    zero = hv.HLine(0).opts(color="#888888", line_dash="dotted", line_width=1)
    change = hv.Overlay([*deltas, zero]).opts(
        title=f"Change from {names[0]}", legend_position="top_left", **PLOT_OPTS
    )
    return values, change


def profile_overlay(profiles: xr.Dataset, long_name: str, xlabel: str, time: Any) -> hv.Overlay:
    """Value along x, depth down the y axis (the oceanographer's profile), one per point."""
    layers = []
    for da in profiles.data_vars.values():
        # on s-coordinates each point has its own depths: the others' are gaps here
        da = da.dropna("depth", how="all") if da.ndim == 1 else da
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
    return hv.Overlay(layers).opts(
        title=f"{long_name} profile at {where}, {time}",
        show_legend=len(curves) > 1,
        legend_position="bottom_right",
        invert_yaxis=True,
        **PLOT_OPTS,
    )


#: Pixels of a Hovmöller image: rows down the depth axis, and at most this many columns.
SECTION_ROWS, SECTION_MAX_COLUMNS = 600, 2000


def section_image(section: xr.DataArray, long_name: str, clabel: str, cmap: Any) -> hv.Image:
    """Time along x, depth down the y axis, coloured by value with the map's colormap.

    An image on a regular pixel grid, each pixel taking the value of the time step and
    depth level whose cell holds it: one picture with no seams (quads drawn one per cell
    leave hairlines between days), true to the levels' thicknesses.
    """
    times = plot_times(section["time"].values).astype("datetime64[ns]").astype("int64")
    depths = np.asarray(section["depth"].values, dtype=float)
    values = section.transpose("depth", "time").values
    if times.size > 1:
        t_edges = level_edges(times.astype(float), floor=None)
    else:  # one step: a day wide
        t_edges = times[0] + np.array([-0.5, 0.5]) * 86400e9
    d_edges = level_edges(depths)
    columns = int(min(SECTION_MAX_COLUMNS, max(4 * times.size, 200)))
    xs = t_edges[0] + (np.arange(columns) + 0.5) * (t_edges[-1] - t_edges[0]) / columns
    ys = d_edges[0] + (np.arange(SECTION_ROWS) + 0.5) * (d_edges[-1] - d_edges[0]) / SECTION_ROWS
    col = np.clip(np.searchsorted(t_edges, xs, side="right") - 1, 0, times.size - 1)
    row = np.clip(np.searchsorted(d_edges, ys, side="right") - 1, 0, depths.size - 1)
    pixels = values[row][:, col]
    start, end = (np.datetime64(int(v), "ns") for v in (t_edges[0], t_edges[-1]))
    return hv.Image(
        pixels[::-1],  # an Image's first row is the top of its bounds: the deepest
        ["time", ("depth", "depth [m]")],
        (section.name or "value", clabel),
        bounds=(start, d_edges[0], end, d_edges[-1]),
    ).opts(
        cmap=palette(cmap),
        colorbar=True,
        clabel=clabel,
        invert_yaxis=True,
        title=section_title(section, long_name),
        **PLOT_OPTS,
    )


def section_title(section: xr.DataArray, long_name: str) -> str:
    """``Temperature at lon=-30.5, lat=20.5, 0.5 to 5000 m (Hovmöller)``: the cell and the
    depths the section holds values at (not the map's depth)."""
    depths = np.asarray(section["depth"].values, dtype=float)
    wet = np.isfinite(section.transpose("depth", "time").values).any(axis=1)
    shown = depths[wet] if wet.any() else depths
    cell = section.attrs["cell"].split(", depth")[0]
    return f"{long_name} at {cell}, {shown.min():g} to {shown.max():g} m (Hovmöller)"


def area_overlay(series: xr.Dataset, long_name: str, ylabel: str, region: str) -> hv.Overlay:
    """The region's area-weighted mean, with the band from its min to its max."""
    t = plot_times(series["time"].values)
    band = hv.Area(
        (t, series["min"].values, series["max"].values), "time", ["min", "max"],
        label="min to max",
    ).opts(alpha=0.25, color="#0b5d8c", line_alpha=0)  # fmt: skip
    mean = hv.Curve((t, series["mean"].values), "time", ("mean", ylabel), label="area mean")
    return (band * mean.opts(color="#0b3954", line_width=2)).opts(
        title=f"Area-weighted mean of {long_name} over the {region}",
        ylabel=ylabel,  # the band's first value dimension ("min") would name the axis
        legend_position="top_left",
        **PLOT_OPTS,
    )


def level_edges(depths: np.ndarray, floor: float | None = 0.0) -> np.ndarray:
    """Edges (n + 1) of cells centred on ``depths`` (or times as numbers): halfway between
    centres, no edge above ``floor`` (the surface at 0 m; None: no floor)."""
    if depths.size == 1:
        return np.array([0.0, 2 * depths[0] if depths[0] > 0 else 1.0])
    mid = (depths[1:] + depths[:-1]) / 2
    first = 2 * depths[0] - mid[0]
    first = first if floor is None else max(floor, first)
    return np.concatenate([[first], mid, [2 * depths[-1] - mid[-1]]])
