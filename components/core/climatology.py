"""Day-of-year climatologies and anomalies against a reference period (Hobday et al. 2016).

The method is the one of Hobday et al. (2016), as its reference implementation
(E. C. J. Oliver's ``marineHeatWaves.detect``) computes it, so that events found here are
the events found there:

- every time step gets a day of year on a 366-day year: the day's month and day looked up
  in a leap year, so 1 March is day 61 in every year and day 60 (29 February) exists only
  in leap years;
- for each day of year, the values of the reference period's steps on that day and the
  five steps either side (an 11-day window, by position on the daily axis, reaching past
  the period's ends where the data does) are pooled over the years: their mean is the
  climatology and their 90th percentile the threshold;
- 29 February gets the mean of 28 February and 1 March; both curves are then smoothed
  with a 31-day moving average around the (periodic) year.

Monthly data gets monthly means (and the 90th percentile of each month) over the
reference period, without smoothing. The default reference period is the first 30 full
years of the data, or all its full years when there are fewer.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from data_adapters.errors import SourceError

#: Half-width (days) of the window pooled around each day of year (11 days in all).
WINDOW_HALF_WIDTH = 5
#: Width (days) of the moving average that smooths climatology and threshold.
SMOOTH_WIDTH = 31
#: Percentile of the pooled window that is the marine-heatwave threshold.
PERCENTILE = 90.0
#: Length (years) of the default reference period.
REFERENCE_YEARS = 30
#: Day of year of 29 February on the 366-day year.
FEB29 = 60
#: Days in each month of a leap year: the 366-day year of the day-of-year index.
_LEAP_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_MONTH_START = np.concatenate([[0], np.cumsum(_LEAP_MONTH_DAYS)[:-1]])

_REFERENCE = re.compile(r"^\s*(\d{4})(-\d{2}-\d{2})?\s*/\s*(\d{4})(-\d{2}-\d{2})?\s*$")


@dataclass(frozen=True)
class Reference:
    """A reference period: whole days from ``start`` to ``end`` (both included)."""

    start: str
    end: str

    @property
    def label(self) -> str:
        """``1993/2022`` for whole years, else ``1993-03-01/2022-02-28``."""
        if self.start.endswith("-01-01") and self.end.endswith("-12-31"):
            return f"{self.start[:4]}/{self.end[:4]}"
        return f"{self.start}/{self.end}"


def parse_reference(text: str) -> Reference:
    """The reference period of ``START/END``: years (``1993/2022``) or ISO dates.

    Raises
    ------
    SourceError
        When the text is not two years or dates separated by ``/``, or ends before it starts.
    """
    match = _REFERENCE.match(str(text))
    if not match:
        raise SourceError(
            f"reference period '{text}' is not START/END; give years such as 1993/2022 "
            "or dates such as 1993-01-01/2022-12-31"
        )
    start = match.group(1) + (match.group(2) or "-01-01")
    end = match.group(3) + (match.group(4) or "-12-31")
    if end < start:
        raise SourceError(f"reference period '{text}' ends before it starts; give START/END")
    return Reference(start, end)


def _month_day(times: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month and day of each time (datetime64 or cftime)."""
    values = np.asarray(times).ravel()
    if values.dtype.kind == "M":
        index = pd.DatetimeIndex(values)
        return np.asarray(index.year), np.asarray(index.month), np.asarray(index.day)
    year = np.array([t.year for t in values])
    return year, np.array([t.month for t in values]), np.array([t.day for t in values])


def day_of_year(times: Any) -> np.ndarray:
    """Day of year (1..366) of each time on the 366-day year: 1 March is always day 61.

    Raises
    ------
    SourceError
        For a day that no leap year has (30 February of a 360-day calendar).
    """
    _, month, day = _month_day(times)
    bad = day > np.asarray(_LEAP_MONTH_DAYS)[month - 1]
    if bad.any():
        raise SourceError(
            "a day-of-year climatology needs real calendar days; this axis has "
            f"{int(bad.sum())} days such as 30 February (a 360-day calendar)"
        )
    return (_MONTH_START[month - 1] + day).astype(int)


def step_kind(times: Any) -> str:
    """``daily``, ``monthly`` or ``sub-daily``: the spacing of a time axis (by its median step)."""
    values = np.asarray(times).ravel()
    if values.size < 2:
        return "daily"
    if values.dtype.kind == "M":
        days = np.diff(values.astype("datetime64[s]").astype(np.int64)) / 86400.0
    else:
        days = np.array([(b - a).total_seconds() / 86400.0 for a, b in itertools.pairwise(values)])
    step = float(np.median(days))
    if step < 0.99:
        return "sub-daily"
    if step > 25:
        return "monthly"
    return "daily"


def default_reference(times: Any) -> Reference:
    """The first 30 full years of a time axis, or all its full years when there are fewer.

    Raises
    ------
    SourceError
        When the data covers no full calendar year.
    """
    year, month, day = _month_day(times)
    kind = step_kind(times)
    full = []
    for y in np.unique(year):
        in_year = year == y
        if kind == "monthly":
            complete = set(month[in_year]) == set(range(1, 13))
        else:
            first = (month[in_year][0], day[in_year][0])
            last = (month[in_year][-1], day[in_year][-1])
            complete = first == (1, 1) and last[0] == 12 and last[1] >= 30
        if complete:
            full.append(int(y))
    if not full:
        raise SourceError(
            "the data covers no full year, so it has no default reference period; give one "
            "with --reference START/END (or the Reference period box)"
        )
    chosen = full[:REFERENCE_YEARS]
    return Reference(f"{chosen[0]:04d}-01-01", f"{chosen[-1]:04d}-12-31")


def _reference_steps(times: Any, reference: Reference) -> tuple[int, int]:
    """First and last step index inside the reference period."""
    year, month, day = _month_day(times)
    stamp = year * 10000 + month * 100 + day
    start = int(reference.start.replace("-", ""))
    end = int(reference.end.replace("-", ""))
    inside = np.nonzero((stamp >= start) & (stamp <= end))[0]
    if inside.size == 0:
        raise SourceError(
            f"reference period {reference.label} holds no time step of the data "
            f"({year[0]:04d}-{month[0]:02d}-{day[0]:02d} .. "
            f"{year[-1]:04d}-{month[-1]:02d}-{day[-1]:02d}); choose years inside it"
        )
    return int(inside[0]), int(inside[-1])


def running_mean(curve: np.ndarray, width: int = SMOOTH_WIDTH) -> np.ndarray:
    """Moving average of ``width`` days along axis 0 of a periodic year (the year wraps)."""
    if curve.ndim == 1:  # the same arithmetic, to the last bit, as the reference series code
        n = curve.size
        tripled = np.concatenate([curve, curve, curve])
        return np.convolve(tripled, np.ones(width) / width, mode="same")[n : 2 * n]
    from scipy import ndimage

    return ndimage.convolve1d(curve, np.ones(width) / width, axis=0, mode="wrap")


def nanpercentile_columns(pooled: np.ndarray, percentile: float) -> np.ndarray:
    """``np.nanpercentile(pooled, percentile, axis=0)`` (its linear method, to the last bit)
    for many columns at once: NumPy computes a column at a time when there are NaNs."""
    q = np.true_divide(percentile, 100)
    ordered = np.sort(pooled, axis=0)  # NaNs last
    n = np.sum(~np.isnan(pooled), axis=0)
    virtual = (n - 1) * q  # NumPy's virtual index of its linear method
    below = np.floor(virtual)
    gamma = virtual - below
    lower = np.clip(below, 0, np.maximum(n - 1, 0)).astype(np.intp)
    upper = np.clip(below + 1, 0, np.maximum(n - 1, 0)).astype(np.intp)
    a = np.take_along_axis(ordered, lower[None], axis=0)[0]
    b = np.take_along_axis(ordered, upper[None], axis=0)[0]
    diff = b - a
    out = a + diff * gamma
    np.subtract(b, diff * (1 - gamma), out=out, where=gamma >= 0.5)
    return np.where(n > 0, out, np.nan)


def _pooled_stats(pooled: np.ndarray, percentile: float) -> tuple[np.ndarray, np.ndarray]:
    with warnings.catch_warnings():
        # cells with no value in the window (land) give NaN, as they should
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(pooled, axis=0)
        if pooled.ndim == 1:
            return mean, np.nanpercentile(pooled, percentile)
        return mean, nanpercentile_columns(pooled, percentile)


def daily_climatology(
    values: np.ndarray,
    times: Any,
    reference: Reference,
    percentile: float = PERCENTILE,
    smooth: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Climatology and threshold (each ``(366, ...)``) of daily ``values`` (time first).

    ``values`` hold consecutive days (a missing day is a NaN, not a missing step).
    """
    values = np.asarray(values, dtype=np.float64)
    doy = day_of_year(times)
    first, last = _reference_steps(times, reference)
    n = values.shape[0]
    seas = np.full((366, *values.shape[1:]), np.nan)
    thresh = np.full_like(seas, np.nan)
    offsets = np.arange(-WINDOW_HALF_WIDTH, WINDOW_HALF_WIDTH + 1)
    period_doy = doy[first : last + 1]
    for d in range(1, 367):
        if d == FEB29:
            continue
        centres = first + np.nonzero(period_doy == d)[0]
        if centres.size == 0:
            continue
        steps = (offsets[:, None] + centres[None, :]).ravel()  # window-major, as the reference
        steps = steps[(steps >= 0) & (steps < n)]
        seas[d - 1], thresh[d - 1] = _pooled_stats(values[steps], percentile)
    seas[FEB29 - 1] = 0.5 * seas[FEB29 - 2] + 0.5 * seas[FEB29]
    thresh[FEB29 - 1] = 0.5 * thresh[FEB29 - 2] + 0.5 * thresh[FEB29]
    if smooth:
        seas, thresh = running_mean(seas), running_mean(thresh)
    return seas, thresh


def window_steps(
    times: Any, reference: Reference, targets: np.ndarray, known: Any = ()
) -> tuple[dict[int, np.ndarray], np.ndarray]:
    """The steps the climatology on the days of year ``targets`` pools: per day of year its
    window's step positions in the reference period, and every step needed (sorted); none
    for the days of year in ``known`` (their window's statistics are known already)."""
    doy = day_of_year(times)
    first, last = _reference_steps(times, reference)
    n = len(doy)
    half = SMOOTH_WIDTH // 2
    needed = {
        (int(t) - 1 + k) % 366 + 1 for t in np.atleast_1d(targets) for k in range(-half, half + 1)
    }
    if FEB29 in needed:
        needed |= {FEB29 - 1, FEB29 + 1}
    offsets = np.arange(-WINDOW_HALF_WIDTH, WINDOW_HALF_WIDTH + 1)
    period_doy = doy[first : last + 1]
    windows: dict[int, np.ndarray] = {}
    for d in sorted(needed - {FEB29} - set(known)):
        centres = first + np.nonzero(period_doy == d)[0]
        steps = (offsets[:, None] + centres[None, :]).ravel()
        windows[d] = steps[(steps >= 0) & (steps < n)]
    every = np.unique(np.concatenate([w for w in windows.values()] or [np.array([], int)]))
    return windows, every


def daily_climatology_at(
    read: Any,
    times: Any,
    reference: Reference,
    targets: np.ndarray,
    percentile: float = PERCENTILE,
    raw: dict[int, tuple[np.ndarray, np.ndarray]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Climatology and threshold on the days of year ``targets`` only, reading only the steps
    they need: ``read(steps)`` returns the values at those step positions (time first;
    float32 values are kept as they are, and pooled in float64 a day of year at a time).

    The same numbers as :func:`daily_climatology` at those days (its moving average of the
    31 days around each, computed here from those 31 days' pooled windows).

    ``raw`` holds the pooled windows' statistics (mean, percentile) by day of year, before the
    moving average: those given are not read again, those computed are added to it (a map
    of the next day needs one new window of its 31).
    """
    half = SMOOTH_WIDTH // 2
    raw = {} if raw is None else raw
    windows, every = window_steps(times, reference, targets, known=raw)
    block = read(every) if every.size else None
    if block is not None and np.asarray(block).dtype != np.float32:
        block = np.asarray(block, dtype=np.float64)
    for d, steps in windows.items():
        if steps.size and block is not None:
            # float64 per window (a float32 block holds 41 days x 30 years in half the
            # memory; the numbers are the same, float32 to float64 being exact)
            pooled = np.asarray(block[np.searchsorted(every, steps)], dtype=np.float64)
            raw[d] = _pooled_stats(pooled, percentile)
    if FEB29 - 1 in raw and FEB29 + 1 in raw:
        before, after = raw[FEB29 - 1], raw[FEB29 + 1]
        raw[FEB29] = (0.5 * before[0] + 0.5 * after[0], 0.5 * before[1] + 0.5 * after[1])
    if block is not None:
        shape = block.shape[1:]
    else:  # every window known (or none in the data)
        shape = np.shape(next(iter(raw.values()))[0]) if raw else ()
    missing = (np.full(shape, np.nan), np.full(shape, np.nan))
    seas, thresh = [], []
    for t in np.atleast_1d(targets):
        days = [(int(t) - 1 + k) % 366 + 1 for k in range(-half, half + 1)]
        seas.append(np.mean([raw.get(d, missing)[0] for d in days], axis=0))
        thresh.append(np.mean([raw.get(d, missing)[1] for d in days], axis=0))
    return np.asarray(seas), np.asarray(thresh)


def monthly_climatology(
    values: np.ndarray, times: Any, reference: Reference, percentile: float = PERCENTILE
) -> tuple[np.ndarray, np.ndarray]:
    """Monthly means and the ``percentile`` of each month (each ``(12, ...)``) over the period."""
    values = np.asarray(values, dtype=np.float64)
    _, month, _ = _month_day(times)
    first, last = _reference_steps(times, reference)
    seas = np.full((12, *values.shape[1:]), np.nan)
    thresh = np.full_like(seas, np.nan)
    for m in range(1, 13):
        steps = first + np.nonzero(month[first : last + 1] == m)[0]
        if steps.size:
            seas[m - 1], thresh[m - 1] = _pooled_stats(values[steps], percentile)
    return seas, thresh


def climatology(
    da: xr.DataArray, reference: Reference | None = None, percentile: float = PERCENTILE
) -> xr.Dataset:
    """The climatology (``seas``) and threshold (``thresh``) of ``da``, lazily per space chunk.

    Daily (and sub-daily, as daily means) data gives curves on ``dayofyear`` (1..366),
    monthly data on ``month`` (1..12). ``da`` has ``time`` and any other dimensions; with
    dask each chunk of the other dimensions is one task over the whole time axis.
    """
    if "time" not in da.dims:
        raise SourceError(f"'{da.name}' has no time axis, so it has no climatology")
    kind = step_kind(da["time"].values)
    if kind == "sub-daily":
        da = da.resample(time="1D").mean()
    if kind != "monthly":
        da = on_whole_days(da)
    reference = reference or default_reference(da["time"].values)
    times = da["time"].values
    axis = "month" if kind == "monthly" else "dayofyear"
    size = 12 if kind == "monthly" else 366

    def both(block: np.ndarray) -> np.ndarray:
        block = np.moveaxis(block, -1, 0)
        if kind == "monthly":
            seas, thresh = monthly_climatology(block, times, reference, percentile)
        else:
            seas, thresh = daily_climatology(block, times, reference, percentile)
        return np.moveaxis(np.stack([seas, thresh]), 1, -1)

    if da.chunks is not None:
        da = da.chunk({"time": -1})
    stacked = xr.apply_ufunc(
        both,
        da,
        input_core_dims=[["time"]],
        output_core_dims=[["curve", axis]],
        dask="parallelized",
        output_dtypes=[np.float64],
        dask_gufunc_kwargs={"output_sizes": {"curve": 2, axis: size}},
    )
    stacked = stacked.transpose("curve", axis, ...)
    out = xr.Dataset(
        {
            "seas": stacked.isel(curve=0, drop=True),
            "thresh": stacked.isel(curve=1, drop=True),
        },
        coords={axis: np.arange(1, size + 1)},
    )
    out.attrs.update(reference=reference.label, percentile=percentile, units=da.attrs.get("units"))
    return out


def on_whole_days(da: xr.DataArray) -> xr.DataArray:
    """``da`` on every day from its first to its last (missing days as NaN), as the method
    counts days by position on the axis."""
    times = da["time"].values
    if times.dtype.kind != "M" or times.size < 2:
        return da
    days = pd.DatetimeIndex(times).normalize()
    full = pd.date_range(days[0], days[-1], freq="D")
    if len(full) == len(days):
        return da
    return da.assign_coords(time=days).reindex(time=full)


def on_times(clim: xr.Dataset, times: Any) -> xr.Dataset:
    """``seas`` and ``thresh`` of a climatology at each of ``times`` (a ``time`` axis)."""
    if "month" in clim.dims:
        _, month, _ = _month_day(times)
        index = xr.DataArray(month, dims="time")
        picked = clim.sel(month=index)
    else:
        picked = clim.sel(dayofyear=xr.DataArray(day_of_year(times), dims="time"))
    picked = picked.drop_vars(["month", "dayofyear"], errors="ignore")
    return picked.assign_coords(time=("time", np.asarray(times).ravel()))


def anomaly(da: xr.DataArray, clim: xr.Dataset) -> xr.DataArray:
    """``da`` minus its climatology, on ``da``'s own time steps (a time axis or one step)."""
    times = da["time"].values
    expanded = on_times(clim, np.atleast_1d(times))["seas"]
    if da["time"].ndim == 0:
        expanded = expanded.isel(time=0, drop=True)
    out = da - expanded.astype(da.dtype)
    out.attrs = {
        **da.attrs,
        "long_name": f"{da.attrs.get('long_name') or da.name or 'value'} anomaly",
        "comment": f"relative to the {clim.attrs.get('reference')} climatology",
    }
    return out.rename(da.name)


def cache_key(*parts: Any) -> str:
    """A file name for one cached climatology: a digest of what identifies it."""
    text = "|".join(str(p) for p in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:24]
