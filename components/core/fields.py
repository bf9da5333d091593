"""Choosing what to show: a variable at one run, member, depth level and time step.

One rule for the map, the probes, the comparisons, the embeds and the command line:

- **run**: a scenario label of the source (``None``: its first run, the baseline); a source
  without a ``scenario`` dimension has one run, ``baseline``; ``"all"`` keeps every run;
- **member**: the first ensemble member unless every member is asked for;
- **depth**: metres, positive down, the nearest level; on model levels that carry each cell's
  depth (s-coordinates: :data:`data_adapters.vertical.DEPTH_M`), the value at that depth,
  interpolated in each column; on other axes (pressure, height, levels) the nearest value in
  the axis' own units (``850`` hPa, level ``3``); ``None``: the top level;
- **time**: a step index, or an ISO time whose nearest step is used
  (:func:`components.core.timeaxis.nearest_step`); ``None``: the first step.

:func:`select` chooses run, member, level and period (probes keep the time axis);
:func:`field` chooses a :class:`Choice`'s 2-D map and says what was chosen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from data_adapters import vertical
from data_adapters.contract import BASELINE, scenario_labels
from data_adapters.errors import SourceError, did_you_mean

from .timeaxis import iso_times, nearest_step, time_label

#: The ``scenario`` value that asks for every run side by side.
ALL_SCENARIOS = "all"


def quantity_label(
    da: xr.DataArray | Mapping[str, Any], name: str | None = None, *, short: bool = False
) -> str:
    """``long name [units]`` of a variable (or of its attributes): titles, colour bars and
    captions. ``name`` stands in for a missing long name; ``short=True`` gives
    ``name [units]`` for axis labels. No brackets without units."""
    attrs = da.attrs if isinstance(da, xr.DataArray) else da
    own = str(getattr(da, "name", None) or name or "value")
    label = str(name or own) if short else str(attrs.get("long_name") or name or own)
    units = str(attrs.get("units") or "")
    return f"{label} [{units}]" if units else label


def variable(ds: xr.Dataset, name: str, where: str = "the source") -> xr.DataArray:
    """The lazy variable ``name`` of ``ds``, or a SourceError naming the variables it has."""
    names = [str(v) for v in ds.data_vars]
    if name not in names:
        raise SourceError(
            f"{where}: no variable '{name}'{did_you_mean(name, names)}; it has: {', '.join(names)}"
        )
    return ds[name]


def level_index(da: xr.DataArray, depth: float) -> int:
    """Index of the level of ``da`` nearest ``depth`` (metres positive down, or the axis'
    own units: hPa, level number).

    Raises
    ------
    SourceError
        For a negative depth (metres are positive down).
    """
    if not float(depth) >= 0:
        raise SourceError(f"depth {float(depth):g}: depth is in metres, positive down")
    levels = np.asarray(da["depth"].values, dtype=float)
    return int(np.argmin(np.abs(levels - float(depth))))


def select(
    da: xr.DataArray,
    depth: float | None = None,
    scenario: str | None = None,
    start: Any = None,
    end: Any = None,
    *,
    whole_column: bool = False,
    members: bool = False,
    strict_depth: bool = True,
    time_index: int | None = None,
) -> xr.DataArray:
    """``da`` (lazy) at one scenario, member and depth level, over ``start``..``end``.

    Parameters
    ----------
    depth
        Metres, positive down: the nearest level is used (interpolated in each column on
        s-coordinates; in the axis' own units on pressure or level axes). None: the top
        level, or every level with ``whole_column=True``.
    scenario
        A run's label; None: the baseline (the first run); ``"all"``: every run, on a
        ``scenario`` dim (a source with one run gives one, labelled ``baseline``).
    start, end
        Times (ISO strings such as ``"2025-03"`` or ``"2025-03-10T12:00"``, or time values),
        both included; None: from the first or to the last step.
    members
        Keep every ensemble member (default: the first).
    strict_depth
        Refuse a depth for a variable without levels (a probe asked at a depth); False
        ignores it (the map's depth stays chosen while a surface variable is shown).
    time_index
        One time step to keep (the map's), chosen in the same indexing as the rest.

    Raises
    ------
    SourceError
        For an unknown scenario, a negative depth, a depth on a variable without levels
        (``strict_depth``), or a period with no time step.
    """
    name = da.name or "the variable"
    labels = scenario_labels(da)
    # one isel for every dim: slicing a dask cube dim by dim walks all its chunks once per dim
    index: dict[str, Any] = {}
    if scenario == ALL_SCENARIOS:
        if "scenario" not in da.dims:
            da = da.expand_dims(scenario=np.array([BASELINE], dtype=object))
    else:
        wanted = labels[0] if scenario is None else str(scenario)
        if wanted not in labels:
            raise SourceError(
                f"no scenario '{wanted}'{did_you_mean(wanted, labels)}; the runs are: "
                f"{', '.join(labels)}" + ("" if len(labels) > 1 else " (one run)")
            )
        if "scenario" in da.dims:
            index["scenario"] = labels.index(wanted)
    if "member" in da.dims and not members:
        index["member"] = 0
    interpolate = None
    if depth is not None:
        if "depth" in da.dims and vertical.has_true_depths(da):
            level_index(da, depth)  # refuses a negative depth
            interpolate = float(depth)
        elif "depth" in da.dims:
            index["depth"] = level_index(da, depth)
        elif strict_depth:
            raise SourceError(f"'{name}' has no depth levels; leave the depth out")
    elif "depth" in da.dims and not whole_column:
        index["depth"] = 0
    if time_index is not None and "time" in da.dims:
        index["time"] = time_index
    if index:
        da = da.isel(index)
    if interpolate is not None:
        da = vertical.at_depth(da, interpolate)
    if start is not None or end is not None:
        da = period(da, start, end)
    return da


def period(da: xr.DataArray, start: Any, end: Any) -> xr.DataArray:
    """``da`` over ``start``..``end`` (both included; None: open), in its own calendar.

    Raises
    ------
    SourceError
        For a bound that is not a time of the calendar, or a period with no step.
    """
    if "time" not in da.dims:
        raise SourceError(f"'{da.name}' has no time axis; leave start and end out")
    # each bound alone first, so that the message names the one that is wrong
    for what, bound, cut in (("start", start, slice(start, None)), ("end", end, slice(None, end))):
        if bound is None:
            continue
        try:
            da.sel(time=cut)  # reads the time index only
        except (KeyError, TypeError, ValueError) as exc:
            calendar = da["time"].dt.calendar
            calendar = "standard" if calendar in ("proleptic_gregorian", "gregorian") else calendar
            raise SourceError(
                f"{what} '{bound}' is not a time of this calendar ({calendar}); use an ISO "
                "date or time of it, such as 2025-03-10 or 2025-03-10T12:00"
            ) from exc
    out = da.sel(time=slice(start, end))
    if out.sizes["time"] == 0:
        first, last = iso_times(da["time"].values[[0, -1]])
        raise SourceError(
            f"no time step from {start or 'the start'} to {end or 'the end'}; "
            f"the data cover {first} .. {last}"
        )
    return out


@dataclass(frozen=True)
class Choice:
    """What a map shows: a variable at one run, member, depth level and time step."""

    #: The variable's name.
    variable: str
    #: A step index, or an ISO time (the nearest step); None: the first step.
    time: int | str | None = None
    #: Metres, positive down (the nearest level, or interpolated on s-coordinates); None:
    #: the top level.
    depth: float | None = None
    #: A run's label; None: the first run (the baseline).
    scenario: str | None = None
    #: Refuse a depth for a variable without levels (the command line); the map ignores it.
    strict_depth: bool = False


@dataclass(frozen=True)
class Field:
    """The 2-D slice a :class:`Choice` picks, and the labels of what was picked."""

    #: Lazy, on ``(lat, lon)`` or ``(y, x)``.
    data: xr.DataArray
    #: ``variable``, ``scenario``, and where present ``member``, ``time`` (ISO) and
    #: ``depth`` (``"50 m"``, ``"850 hPa"``, ``"level 0 (s-coordinate)"``): for titles and
    #: metadata.
    chosen: dict[str, str]


def field(
    ds: xr.Dataset, choice: Choice, where: str = "the source", time_option: str = "time"
) -> Field:
    """The 2-D map of ``choice`` in ``ds`` (lazy), by the rules of this module.

    Raises
    ------
    SourceError
        For an unknown variable or scenario, a time that is not ISO or not of the calendar,
        a negative depth, or a variable that is not a map once chosen (``where`` names the
        source in the message).
    """
    da = variable(ds, choice.variable, where)
    runs = scenario_labels(ds)
    run = runs[0] if choice.scenario is None else str(choice.scenario)
    if run not in runs:
        if len(runs) == 1:
            raise SourceError(f"{where}: has no scenarios (one run, 'baseline'); drop --scenario")
        raise SourceError(
            f"{where}: no scenario '{run}'{did_you_mean(run, runs)}; it has: {', '.join(runs)}"
        )
    # a variable stored once beside the runs (no scenario dim) is every run's
    scenario = run if "scenario" in da.dims else None
    step = None
    if "time" in da.dims:
        if isinstance(choice.time, int | np.integer):
            step = int(choice.time)
        elif choice.time is not None:
            step = nearest_step(da["time"].values, choice.time, time_option)
        else:
            step = 0
    da = select(da, choice.depth, scenario, strict_depth=choice.strict_depth, time_index=step)
    chosen = {"variable": choice.variable, "scenario": run}
    if "member" in da.coords and da["member"].ndim == 0:
        chosen["member"] = str(da["member"].values)
    if "time" in da.coords and da["time"].ndim == 0:
        chosen["time"] = time_label(da["time"].values[()])
    if "depth" in da.coords and da["depth"].ndim == 0:
        chosen["depth"] = vertical.label(da["depth"])
    if da.ndim != 2:
        raise SourceError(f"{where}: '{choice.variable}' is not a map (dims: {', '.join(da.dims)})")
    return Field(da, chosen)
