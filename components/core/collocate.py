"""Point observations against a model: each observation matched with the model ("class 4").

The comparison Ocean Navigator and the GODAE/OceanPredict class-4 metrics make: every
observation is paired with the model value at the same time, depth and place, and the
pairs are summarised by their differences (model minus observation).

Matching one observation (lon, lat, time, depth, value):

- **place**: the grid cell nearest (lon, lat), a point on land moved to the nearest sea cell
  within :data:`~components.core.probes.SNAP_CELLS` cells (:func:`probes.nearest_ocean_cell`,
  the probes' rule); a point farther than one cell from the grid is ``outside``, one on land
  with no sea near is ``land``;
- **time**: the nearest model step (``nearest``; an observation more than half a step
  before the first or after the last step is ``no time``), or linear between the two steps
  around it (``linear``; only inside the model's period). A model without time matches any;
- **depth**: linear between the two model levels around it; above the top level the top
  level's value; below the deepest level, or below the sea floor there, ``below``. Rows
  without depth take the top level.

Only ``matched`` pairs enter the statistics; the others are counted apart (``n_outside``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from data_adapters.contract import scenario_labels
from data_adapters.errors import SourceError, did_you_mean
from data_adapters.observations import Observations

from . import probes
from .fields import ALL_SCENARIOS, select

#: How a model time is chosen for an observation.
TIME_MATCHES = ("nearest", "linear")
#: The status of a pair that enters the statistics.
MATCHED = "matched"
#: The keys of :func:`statistics`, in order.
STAT_KEYS = ("n", "n_outside", "bias", "rmse", "mae", "correlation")


@dataclass(frozen=True)
class Statistics:
    """The summary of matched pairs (model minus observation, in the variable's units).

    ``n`` pairs matched; ``n_outside`` observations not matched (outside the grid or its
    period, on land, below the deepest level); ``bias`` the mean of model - observation;
    ``rmse`` the root of its mean square; ``mae`` the mean of its absolute value;
    ``correlation`` Pearson's r of model and observation (None below 2 pairs or when
    either does not vary).
    """

    n: int
    n_outside: int
    bias: float | None
    rmse: float | None
    mae: float | None
    correlation: float | None

    def as_dict(self) -> dict[str, Any]:
        """The statistics as a JSON-ready mapping with exactly :data:`STAT_KEYS`."""
        return {k: getattr(self, k) for k in STAT_KEYS}


def statistics(pairs: pd.DataFrame) -> Statistics:
    """The statistics of one run's pairs (see :class:`Statistics`)."""
    matched = pairs[pairs["status"] == MATCHED]
    model = matched["model"].to_numpy(float)
    observed = matched["observed"].to_numpy(float)
    diff = model - observed
    n = int(diff.size)
    if n == 0:
        return Statistics(0, len(pairs), None, None, None, None)
    correlation = None
    if n >= 2 and np.std(model) > 0 and np.std(observed) > 0:
        correlation = float(np.corrcoef(model, observed)[0, 1])
    return Statistics(
        n=n,
        n_outside=len(pairs) - n,
        bias=float(diff.mean()),
        rmse=float(np.sqrt(np.mean(diff**2))),
        mae=float(np.abs(diff).mean()),
        correlation=correlation,
    )


def observed_variable(obs: Observations, model_var: str, column: str | None = None) -> str:
    """The observations' column to compare with ``model_var``: ``column`` if given, else the
    column of the same name, else the only variable column."""
    names = obs.variables
    wanted = column or (model_var if model_var in names else None)
    if wanted is None and len(names) == 1:
        wanted = names[0]
    if wanted is None:
        raise SourceError(
            f"{obs.name}: which column is '{model_var}'? the columns are {', '.join(names)}; "
            "name one (--obs-var)"
        )
    if wanted not in names:
        raise SourceError(
            f"{obs.name}: no column '{wanted}'{did_you_mean(wanted, names)}; the columns "
            f"are {', '.join(names)}"
        )
    return wanted


def collocate(
    obs: Observations,
    da: xr.DataArray,
    column: str,
    scenario: str | None = None,
    time_match: str = "nearest",
    maps: xr.DataArray | None = None,
) -> pd.DataFrame:
    """The pairs of observations (column ``column``) and model values of ``da``.

    Parameters
    ----------
    da
        The model variable on the data contract (lazy: only the cells of the observations
        are read, plus one map for the sea mask).
    maps
        The same variable in a map layout (a time step a chunk), where the sea mask's one
        map is read (default: ``da``). Give it when ``da`` is a point-series layout: one map
        of that reads every cell's whole series.
    scenario
        The run (None: the baseline); ``"all"`` pairs every run (rows repeated per run,
        with a ``scenario`` column).
    time_match
        ``nearest`` or ``linear`` (see the module).

    Returns
    -------
    One row per observation (and run): ``time, lon, lat[, depth], observed, model,
    model_minus_observed, status, cell_lon, cell_lat, distance_km[, scenario]``; ``status``
    is ``matched``, ``outside``, ``land``, ``no time`` or ``below``.
    """
    if time_match not in TIME_MATCHES:
        raise SourceError(f"time match '{time_match}': use one of {', '.join(TIME_MATCHES)}")
    if "depth" in da.dims and (
        probes.vertical.has_true_depths(da) or probes.vertical.kind(da["depth"]) != "metres"
    ):
        raise SourceError(
            f"'{da.name}' has no depths in metres (its vertical axis is levels, pressure or "
            "s-coordinates); compare with a surface variable or a model on depth levels"
        )
    if scenario == ALL_SCENARIOS:
        runs = scenario_labels(da)
        parts = [
            collocate(obs, da, column, run, time_match, maps).assign(scenario=run) for run in runs
        ]
        return pd.concat(parts, ignore_index=True)
    table = obs.table[obs.table[column].notna()].reset_index(drop=True)
    run = select(da, scenario=scenario, whole_column=True)
    pairs = pd.DataFrame({c: table[c] for c in ("time", "lon", "lat")})
    if obs.has_depth:
        pairs["depth"] = table["depth"]
    pairs["observed"] = table[column].to_numpy(float)
    status = np.full(len(table), MATCHED, dtype=object)
    sea = run if maps is None else select(maps, scenario=scenario, whole_column=True)
    rows, cols, cell_lon, cell_lat, distance = _places(sea, table, status)
    t0, t1, weight = _times(run, table["time"].to_numpy(), time_match, status)
    model = np.full(len(table), np.nan)
    ok = status == MATCHED
    if ok.any():
        model[ok] = _values(run, rows[ok], cols[ok], t0[ok], t1[ok], weight[ok], table, ok)
    status[ok & ~np.isfinite(model)] = "below"
    model[status != MATCHED] = np.nan
    pairs["model"] = model
    pairs["model_minus_observed"] = model - pairs["observed"].to_numpy()
    pairs["status"] = status
    pairs["cell_lon"], pairs["cell_lat"], pairs["distance_km"] = cell_lon, cell_lat, distance
    return pairs


def _places(sea: xr.DataArray, table: pd.DataFrame, status: np.ndarray) -> tuple[np.ndarray, ...]:
    """Grid row and column of each observation's nearest sea cell (the probes' rule) on the
    first map of ``sea``."""
    extra = {d: 0 for d in sea.dims if d not in ("lat", "lon", "y", "x")}
    sea = sea.isel(extra).load()  # the sea mask: one map, read once
    n = len(table)
    rows, cols = np.zeros(n, int), np.zeros(n, int)
    cell_lon, cell_lat, distance = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    found: dict[tuple[float, float], probes.Cell | str] = {}
    for k, (lon, lat) in enumerate(zip(table["lon"], table["lat"], strict=True)):
        key = (float(lon), float(lat))
        if key not in found:
            try:
                found[key] = probes.nearest_ocean_cell(sea, lon, lat)
            except probes.OutsideGridError:
                found[key] = "outside"
            except SourceError:
                found[key] = "land"
        cell = found[key]
        if isinstance(cell, str):
            status[k] = cell
            continue
        rows[k], cols[k] = cell.index.values()
        cell_lon[k], cell_lat[k], distance[k] = cell.lon, cell.lat, cell.distance_km
    return rows, cols, cell_lon, cell_lat, distance


def _seconds(times: np.ndarray, calendar_like: Any) -> np.ndarray:
    """Seconds since 1970-01-01 of ``times`` in the model's calendar (NaN where a date is
    not one of that calendar)."""
    values = np.asarray(times)
    if values.dtype.kind == "M":
        return values.astype("datetime64[s]").astype(float)
    import cftime

    calendar = calendar_like.calendar
    out = np.full(values.size, np.nan)
    for k, v in enumerate(values):
        if not isinstance(v, cftime.datetime):
            v = pd.Timestamp(v)
            try:
                parts = (v.year, v.month, v.day, v.hour, v.minute, v.second)
                v = cftime.datetime(*parts, calendar=calendar)
            except ValueError:
                continue
        out[k] = cftime.date2num(v, "seconds since 1970-01-01", calendar=calendar)
    return out


def _times(
    run: xr.DataArray, obs_times: np.ndarray, how: str, status: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each observation's model steps (t0, t1) and the weight of t1 (0 for ``nearest``)."""
    n = obs_times.size
    zeros = np.zeros(n, int)
    if "time" not in run.dims:
        return zeros, zeros, np.zeros(n)
    model_times = np.asarray(run["time"].values)
    steps = _seconds(model_times, model_times[0])
    wanted = _seconds(obs_times, model_times[0])
    if steps.size == 1:
        bad = ~np.isfinite(wanted)
        status[bad & (status == MATCHED)] = "no time"
        return zeros, zeros, np.zeros(n)
    t0 = np.clip(np.searchsorted(steps, wanted, side="right") - 1, 0, steps.size - 2)
    weight = (wanted - steps[t0]) / (steps[t0 + 1] - steps[t0])
    if how == "nearest":
        half_first, half_last = (steps[1] - steps[0]) / 2, (steps[-1] - steps[-2]) / 2
        inside = (wanted >= steps[0] - half_first) & (wanted <= steps[-1] + half_last)
        nearest = np.where(weight > 0.5, t0 + 1, t0)
        nearest = np.where(wanted < steps[0], 0, nearest)
        status[~inside & (status == MATCHED)] = "no time"
        return nearest, nearest, np.zeros(n)
    inside = (wanted >= steps[0]) & (wanted <= steps[-1])
    status[~inside & (status == MATCHED)] = "no time"
    return t0, t0 + 1, np.where(inside, weight, 0.0)


def _values(
    run: xr.DataArray,
    rows: np.ndarray,
    cols: np.ndarray,
    t0: np.ndarray,
    t1: np.ndarray,
    weight: np.ndarray,
    table: pd.DataFrame,
    ok: np.ndarray,
) -> np.ndarray:
    """The model values at the matched observations (time, then depth interpolated)."""
    row_dim, col_dim = ("y", "x") if run["lon"].ndim == 2 else ("lat", "lon")
    at = {row_dim: xr.DataArray(rows, dims="obs"), col_dim: xr.DataArray(cols, dims="obs")}
    timed = "time" in run.dims

    def read(steps: np.ndarray) -> np.ndarray:
        index = {**at, **({"time": xr.DataArray(steps, dims="obs")} if timed else {})}
        picked = run.isel(index)
        order = ["obs", *(["depth"] if "depth" in picked.dims else [])]
        return np.asarray(picked.transpose(*order).values, dtype=float)

    values = read(t0)
    if (weight > 0).any():  # linear in time: the step after, weighted
        w = weight.reshape(-1, *([1] * (values.ndim - 1)))
        values = np.where(w > 0, values + w * (read(t1) - values), values)
    if "depth" not in run.dims:
        return values
    levels = np.asarray(run["depth"].values, dtype=float)
    depths = table["depth"].to_numpy(float)[ok] if "depth" in table else np.full(len(rows), np.nan)
    return _in_column(values, levels, depths)


def _in_column(columns: np.ndarray, levels: np.ndarray, depths: np.ndarray) -> np.ndarray:
    """Each column's value at its depth: linear between levels, the top level above it,
    NaN below the deepest level (or below the sea floor, where the levels are NaN)."""
    out = np.full(depths.size, np.nan)
    for k, depth in enumerate(depths):
        if not np.isfinite(depth) or depth <= levels[0]:
            out[k] = columns[k, 0]
            continue
        if depth > levels[-1]:
            continue
        upper = int(np.searchsorted(levels, depth, side="right") - 1)
        if levels[upper] == depth:
            out[k] = columns[k, upper]
            continue
        w = (depth - levels[upper]) / (levels[upper + 1] - levels[upper])
        out[k] = columns[k, upper] + w * (columns[k, upper + 1] - columns[k, upper])
    return out
