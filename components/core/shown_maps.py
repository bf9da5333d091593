"""Maps of one day as ``show`` asks: anomaly, marine-heatwave intensity or category, DHW.

A map reads only the days it needs: the climatology of its day of year comes from the
pooled windows of the 31 days around it over the reference period (cached per day of year
in the cache directory's ``climatology`` folder, so the next map of that day reads one
file), a marine-heatwave state from the 7 days either side, degree heating weeks from the
12 weeks before it and the reference period's monthly means (cached too).
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import xarray as xr

from data_adapters.cache import atomic_write_bytes, cache_dir
from data_adapters.errors import SourceError

from . import climatology as clim
from . import dhw, fields, mhw, regions
from .processing import (
    Climate,
    Processing,
    category_areas,
    climate_label,
    climate_run,
    shown_attrs,
    source_stamp,
)
from .timeaxis import nearest_step


def map_key(source_key: str, variable: str, depth: Any, base_run: str) -> str:
    """What identifies a map climatology in the cache: the source, variable, depth and the
    run it is of (the reference period is added per period)."""
    return clim.cache_key(source_key, variable, depth, base_run, "grid")


def climate_inputs(
    da: xr.DataArray,
    source_id: str,
    depth: Any,
    run: str | None,
    baseline: str = "fixed",
    members: bool = False,
) -> tuple[xr.DataArray, xr.DataArray, str]:
    """The run ``run`` of ``da`` (a variable of source ``source_id``) at level ``depth`` on
    every step, the run its climatology comes from (``baseline``: fixed or shifted), and
    that climatology's cache key (all lazy): what :func:`shown_map` and its kin take."""
    from data_adapters import vertical

    series = fields.select(
        da, depth, run if "scenario" in da.dims else None, members=members, strict_depth=False
    )
    base = fields.select(
        climate_run(da, run, baseline), depth, None, members=members, strict_depth=False
    )
    depth_label = vertical.label(series["depth"]) if "depth" in series.coords else None
    base_run = climate_label(da, run, baseline)
    return series, base, map_key(source_stamp(source_id), str(da.name), depth_label, base_run)


def _folder(key: str | None, reference: clim.Reference):
    return None if key is None else cache_dir("climatology", clim.cache_key(key, reference.label))


#: Bytes of the values one climatology pass reads at a time (float32): a map's pooled years
#: are read a band of rows at a time, so that the first climatology of a 1/4° global variable
#: stays within 2 GB (its 41 days x 30 years are 5 GB at once); bands as tall as that
#: allows, as each read of a band costs some per step (a chunk decoded, or computed, again).
POOL_BYTES = 512e6


def row_bands(base: xr.DataArray, steps: int) -> list[dict[str, slice]]:
    """The bands of rows (of ``base``'s first dimension after time) whose ``steps`` time steps
    fit in :data:`POOL_BYTES` as float32, on whole chunks of the source where it is chunked
    (a band never splits a chunk it could hold whole); one band for a point or a small map."""
    spatial = [d for d in base.dims if d != "time"]
    if not spatial or steps == 0:
        return [{}]
    rows = spatial[0]
    nrows = base.sizes[rows]
    row_values = steps * int(np.prod([base.sizes[d] for d in spatial[1:]], dtype=np.int64))
    band = max(1, int(POOL_BYTES // (4 * max(row_values, 1))))
    if band >= nrows:
        return [{}]
    chunks = base.chunksizes.get(rows) if base.chunks is not None else None
    if chunks and band >= chunks[0]:
        band -= band % chunks[0]
    return [{rows: slice(start, start + band)} for start in range(0, nrows, band)]


def curves_at(
    base: xr.DataArray, reference: clim.Reference, targets: np.ndarray, key: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Climatology and threshold of ``base`` (time first, lazy) on the days of year
    ``targets``, from the cache where computed before.

    Two kinds of files per day of year: ``doy`` (the curves, smoothed over 31 days) and
    ``raw`` (the statistics of the day's own 11-day window over the period): a day next to
    one computed before reads only its one new window.
    """
    folder = _folder(key, reference)
    found = _stored(folder, "doy", (int(t) for t in targets), ("seas", "thresh"))
    todo = np.array(sorted(set(int(t) for t in targets) - set(found)), dtype=int)
    if todo.size:
        times = base["time"].values
        windows, _ = clim.window_steps(times, reference, todo)
        known = _stored(folder, "raw", [*windows, clim.FEB29], ("mean", "percentile"))
        _, every = clim.window_steps(times, reference, todo, known=known)
        parts, computed = [], {}
        for band in row_bands(base, every.size):

            def read(steps: np.ndarray, band: dict = band) -> np.ndarray:
                return np.asarray(base.isel({**band, "time": steps}).values, dtype=np.float32)

            rows = next(iter(band.values()), slice(None))
            raw = {d: (m[rows], p[rows]) for d, (m, p) in known.items()}
            parts.append(clim.daily_climatology_at(read, times, reference, todo, raw=raw))
            for d in set(raw) - set(known):
                computed.setdefault(d, []).append(raw[d])
        seas = np.concatenate([p[0] for p in parts], axis=1) if len(parts) > 1 else parts[0][0]
        thresh = np.concatenate([p[1] for p in parts], axis=1) if len(parts) > 1 else parts[0][1]
        for d, s, t in zip(todo, seas, thresh, strict=True):
            found[int(d)] = (s, t)
            _store(folder, f"doy{int(d):03d}.npz", seas=s, thresh=t)
        for d, pieces in computed.items():
            _store(
                folder, f"raw{d:03d}.npz",
                mean=np.concatenate([m for m, _ in pieces]),
                percentile=np.concatenate([p for _, p in pieces]),
            )  # fmt: skip
    return (
        np.stack([found[int(t)][0] for t in targets]),
        np.stack([found[int(t)][1] for t in targets]),
    )


def _stored(folder, kind: str, days, names: tuple[str, str]) -> dict:
    """The pairs of arrays ``names`` of the days of year ``days`` cached as ``kind`` files."""
    found: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for d in set(days) if folder is not None else ():
        path = folder / f"{kind}{d:03d}.npz"
        if path.exists():
            with np.load(path) as stored:
                found[d] = (stored[names[0]], stored[names[1]])
    return found


def _store(folder, name: str, **arrays: np.ndarray) -> None:
    if folder is not None:
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        atomic_write_bytes(folder / name, buffer.getvalue())


def maximum_monthly_mean(
    base: xr.DataArray, reference: clim.Reference, key: str | None = None
) -> np.ndarray:
    """The MMM of ``base`` over the reference period (reads the period once; cached)."""
    folder = _folder(key, reference)
    path = None if folder is None else folder / "mmm.npy"
    if path is not None and path.exists():
        return np.load(path)
    period = base.sel(time=slice(reference.start, reference.end))
    monthly = period.groupby("time.month").mean("time")
    mmm = np.asarray(monthly.max("month").values, dtype=np.float64)
    if path is not None:
        buffer = io.BytesIO()
        np.save(buffer, mmm)
        atomic_write_bytes(path, buffer.getvalue())
    return mmm


def shown_map(
    run: xr.DataArray,
    base: xr.DataArray,
    step: int,
    processing: Processing,
    key: str | None = None,
) -> xr.DataArray:
    """The 2-D map of step ``step`` of ``run`` (on time and two horizontal dims, lazy) as
    ``processing`` shows it, against the climatology of ``base`` (the same run, or the
    baseline run). Returns a computed DataArray with the shown quantity's attributes."""
    one = run.isel(time=step)
    if not processing.needs_climate:
        return one
    times = run["time"].values
    reference = processing.reference or clim.default_reference(times)
    kind = clim.step_kind(times)
    if kind != "daily" and processing.show != "anomaly":
        raise SourceError(f"'{processing.show}' needs daily data; this variable is {kind}")
    if kind == "monthly":
        values = _monthly_anomaly(run, base, step, reference)
    elif processing.show == "anomaly":
        seas, _ = curves_at(base, reference, clim.day_of_year(times[[step]]), key)
        values = np.asarray(one.values, dtype=np.float64) - seas[0]
    elif processing.show == "dhw":
        mmm = maximum_monthly_mean(base, reference, key)
        first = max(step - dhw.WINDOW_DAYS + 1, 0)
        window = np.asarray(run.isel(time=slice(first, step + 1)).values, dtype=np.float64)
        padded = np.concatenate(
            [np.full((dhw.WINDOW_DAYS - window.shape[0], *window.shape[1:]), np.nan), window]
        )
        values = dhw.degree_heating_weeks(padded, mmm)[-1]  # missing days add no HotSpot
    else:
        first = max(step - mhw.CONTEXT_DAYS, 0)
        last = min(step + mhw.CONTEXT_DAYS, len(times) - 1)
        seas, thresh = curves_at(base, reference, clim.day_of_year(times[first : last + 1]), key)
        window = run.isel(time=slice(first, last + 1)).values
        state = mhw.daily_state(window, seas, thresh, day=step - first)
        chosen = state.intensity if processing.show == "mhw-intensity" else state.category
        values = np.where(np.isnan(window[step - first]), np.nan, chosen)
    return one.copy(data=values.astype(np.float32)).assign_attrs(
        shown_attrs(run.attrs, processing.show, reference)
    )


#: Days up to the shown one over which a region's heatwave days are counted.
HEATWAVE_WINDOW_DAYS = 30


def heatwave_impact(
    run: xr.DataArray,
    base: xr.DataArray,
    step: int,
    processing: Processing,
    mask: xr.DataArray,
    key: str | None = None,
) -> dict[str, float]:
    """Marine heatwaves in the cells of ``mask`` (a region of ``run``'s grid, daily, lazy)
    against the climatology of ``base``: ``heatwave_days``, the days of the
    :data:`HEATWAVE_WINDOW_DAYS` up to step ``step`` that the region's sea spent in a
    heatwave (the area-weighted mean over its cells), and on step ``step`` the area in each
    category (``area_moderate_km2`` ... ``area_extreme_km2``, the columns of
    :func:`processing.category_areas`)."""
    times = run["time"].values
    if clim.step_kind(times) != "daily":
        raise SourceError("marine heatwaves need daily data; show the anomaly of monthly data")
    reference = processing.reference or clim.default_reference(times)
    lo = max(step - HEATWAVE_WINDOW_DAYS + 1, 0)
    first, last = max(lo - mhw.CONTEXT_DAYS, 0), min(step + mhw.CONTEXT_DAYS, len(times) - 1)
    seas, thresh = curves_at(base, reference, clim.day_of_year(times[first : last + 1]), key)
    window = np.asarray(run.isel(time=slice(first, last + 1)).values, dtype=np.float64)
    area = np.asarray(regions.cell_area_km2(run).values, dtype=np.float64)
    sea = np.asarray(mask.values, dtype=bool) & np.isfinite(window[step - first])
    area = np.where(sea, area, np.nan)
    if not sea.any():
        raise SourceError("no sea in the region to count marine heatwaves in")
    climate = Climate(reference, seas, thresh)
    days = category_areas(window, times[first : last + 1], climate, area).drop(columns="date")
    counted = days.iloc[lo - first : step - first + 1]
    return {
        "heatwave_days": float(counted.to_numpy().sum() / np.nansum(area)),
        **{k: float(v) for k, v in days.iloc[step - first].items()},
    }


def _monthly_anomaly(
    run: xr.DataArray, base: xr.DataArray, step: int, reference: clim.Reference
) -> np.ndarray:
    """A monthly map minus the mean of its month over the reference period."""
    times = run["time"].values
    _, month, _ = clim._month_day(times)
    first, last = clim._reference_steps(base["time"].values, reference)
    same = np.nonzero(month[first : last + 1] == month[step])[0] + first
    mean: Any = base.isel(time=same).mean("time").values
    return np.asarray(run.isel(time=step).values, dtype=np.float64) - mean


def shown_field(
    ds: xr.Dataset,
    choice: fields.Choice,
    processing: Processing,
    where: str = "the source",
    source_key: str | None = None,
    time_option: str = "time",
) -> fields.Field:
    """:func:`fields.field` as ``processing`` shows it: the same choice and labels, the
    shown quantity's values (computed) and a ``show`` label ("anomaly 1993/2022")."""
    chosen = fields.field(ds, choice, where, time_option)
    if not processing.needs_climate:
        return chosen
    da = fields.variable(ds, choice.variable, where)
    if "time" not in da.dims:
        raise SourceError(f"{where}: '{choice.variable}' has no time axis to show an anomaly of")
    run = chosen.chosen["scenario"]
    scenario = run if "scenario" in da.dims else None
    series = fields.select(da, choice.depth, scenario, strict_depth=choice.strict_depth)
    base = fields.select(
        climate_run(da, run, processing.baseline), choice.depth, None, strict_depth=False
    )
    key = None
    if source_key is not None:
        base_run = climate_label(da, run, processing.baseline)
        key = map_key(source_key, choice.variable, chosen.chosen.get("depth"), base_run)
    if isinstance(choice.time, int | np.integer):
        step = int(choice.time)
    elif choice.time is None:
        step = 0
    else:
        step = nearest_step(da["time"].values, choice.time, time_option)
    data = shown_map(series, base, step, processing, key)
    reference = data.attrs.get("reference_period", "")
    label = f"{processing.show} {reference} ({processing.baseline} baseline)"
    return fields.Field(data, {**chosen.chosen, "show": label})


#: Days of year computed together when a whole climatology is written ahead.
DAYS_PER_PASS = 30


def write_climatology(
    ds: xr.Dataset,
    variable: str,
    reference: clim.Reference,
    source_key: str,
    depth: float | None = None,
    progress: Any = None,
) -> int:
    """Compute and cache the map climatology of ``variable`` (the baseline run, one level)
    on every day of year, :data:`DAYS_PER_PASS` days a pass (each pass reads the reference
    period's steps around its days); returns the number of days of year written."""
    da = fields.variable(ds, variable)
    if "time" not in da.dims or clim.step_kind(da["time"].values) != "daily":
        raise SourceError(f"'{variable}': a day-of-year climatology needs a daily time axis")
    base = fields.select(da, depth, None, strict_depth=False)
    depth_label = None
    if "depth" in base.coords and base["depth"].ndim == 0:
        from data_adapters import vertical

        depth_label = vertical.label(base["depth"])
    base_run = climate_label(da, None, "fixed")
    key = map_key(source_key, variable, depth_label, base_run)
    for first in range(1, 367, DAYS_PER_PASS):
        days = np.arange(first, min(first + DAYS_PER_PASS, 367))
        curves_at(base, reference, days, key)
        if progress is not None:
            progress(f"{variable}: days of year {days[0]}-{days[-1]} of 366")
    return 366
