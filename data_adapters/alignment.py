"""Runs of one comparison put on one grid: checked, regridded if need be, and stacked.

A scenario group whose runs are stored apart, and ``ocean-explorer compare`` given another
source as its baseline or scenario, both go through :func:`align_runs`: the runs must share
units, calendar and part of their time axis, and lie on the baseline's grid. A run on another
*regular* (1-D lat/lon) grid that covers the baseline's cells is interpolated bilinearly onto
it (lazily; the global longitude seam is handled); anything else is refused with a one-line
:class:`SourceError` that names the run and what differs. Nothing is ever silently misaligned.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import xarray as xr

from .contract import calendar
from .errors import SourceError

log = logging.getLogger(__name__)

#: Coordinates closer than this (degrees, metres) are the same grid.
COORD_ATOL = 1e-6
#: How a run on another regular grid is put on the baseline's (xarray ``interp`` method).
REGRID_METHOD = "linear"
#: Dimension order of a stacked dataset (the data contract's).
DIM_ORDER = ("scenario", "member", "time", "depth", "lat", "lon", "y", "x")

#: Spellings of one unit that mean the same (lower case, single spaces) -> one name.
_UNIT_SPELLINGS = {
    **dict.fromkeys(
        ("degc", "deg_c", "deg c", "°c", "celsius", "degree_celsius", "degrees_celsius",
         "degree celsius", "degrees celsius", "degrees_c"),
        "degC",
    ),
    **dict.fromkeys(
        ("degf", "deg_f", "°f", "fahrenheit", "degree_fahrenheit", "degrees_fahrenheit"), "degF"
    ),
    **dict.fromkeys(("m", "meter", "meters", "metre", "metres"), "m"),
    **dict.fromkeys(("m s-1", "m/s", "m s**-1", "m.s-1", "m s^-1"), "m s-1"),
}  # fmt: skip


def unit_name(units: Any) -> str:
    """One name for the spellings of a unit: ``degree_Celsius`` -> ``degC``, ``m/s`` -> ``m s-1``
    (other texts come back with their spaces collapsed)."""
    text = " ".join(str(units if units is not None else "").split())
    return _UNIT_SPELLINGS.get(text.lower(), text)


def same_units(a: Any, b: Any) -> bool:
    """True when two ``units`` attributes name the same unit (``degC`` = ``degree_Celsius``)."""
    return unit_name(a) == unit_name(b)


def grid_difference(
    a: xr.Dataset | xr.DataArray,
    b: xr.Dataset | xr.DataArray,
    coords: tuple[str, ...] = ("lon", "lat", "depth"),
) -> str | None:
    """The first of ``coords`` on which two grids differ (one lacks it, or other values)."""
    for coord in coords:
        x, y = a.coords.get(coord), b.coords.get(coord)
        if (x is None) != (y is None) or (
            x is not None
            and (x.shape != y.shape or not np.allclose(x.values, y.values, atol=COORD_ATOL))
        ):
            return coord
    return None


def align_runs(runs: dict[str, xr.Dataset], label: str) -> xr.Dataset:
    """Stack runs along a new ``scenario`` dimension on the first run's (the baseline's) grid.

    Parameters
    ----------
    runs
        Run name -> its dataset (data contract, no ``scenario`` dim), baseline first.
    label
        What the runs are compared for (a scenario group's id, a source), for messages.

    Returns
    -------
    xr.Dataset
        The variables every run has, on ``scenario`` (labelled by the names), the
        baseline's grid and the time steps common to all runs; lazy. Runs regridded onto the
        baseline's grid are listed in ``attrs["regridded_scenarios"]``, e.g.
        ``"windfarm (0.5° → baseline grid, bilinear)"``.

    Raises
    ------
    SourceError
        When a run already has scenarios, the runs share no variable, a variable's units
        differ between runs, the calendars differ or the time axes do not overlap, or a run
        is on another grid that cannot be regridded (curvilinear, other depth levels, or not
        covering the baseline's cells).
    """
    names = list(runs)
    if not names:
        raise SourceError(f"{label}: no run to compare")
    for name, ds in runs.items():
        if "scenario" in ds.dims:
            raise SourceError(f"{label}: run '{name}' already has a scenario dimension")
    base_name = names[0]
    base = runs[base_name]
    common = [v for v in base.data_vars if all(v in ds.data_vars for ds in runs.values())]
    if not common:
        raise SourceError(f"{label}: the runs share no variable")
    runs = {name: ds[common] for name, ds in runs.items()}
    _check_units(runs, common, label)
    runs = _check_times(runs, label)
    aligned: dict[str, xr.Dataset] = {}
    notes: list[str] = []
    for name, ds in runs.items():
        if name == base_name:
            aligned[name] = ds
            continue
        aligned[name], note = _onto_grid(ds, runs[base_name], name, base_name, label)
        if note:
            notes.append(note)
            log.info("%s: regridded %s", label, note)
    stacked = xr.concat(
        list(aligned.values()), dim="scenario", join="inner", combine_attrs="override"
    )
    stacked = stacked.assign_coords(scenario=("scenario", np.array(names, dtype=object)))
    stacked = stacked.transpose(*[d for d in DIM_ORDER if d in stacked.dims])
    if notes:
        stacked.attrs["regridded_scenarios"] = "; ".join(notes)
    return stacked


# -- units and time -------------------------------------------------------------------------
def _check_units(runs: dict[str, xr.Dataset], variables: list[str], label: str) -> None:
    base_name, base = next(iter(runs.items()))
    for var in variables:
        want = base[var].attrs.get("units", "")
        for name, ds in runs.items():
            have = ds[var].attrs.get("units", "")
            if not same_units(want, have):
                raise SourceError(
                    f"{label}: '{var}' is in '{have}' in run '{name}' but in '{want}' in "
                    f"'{base_name}'; convert one so that both runs use the same units"
                )


def _time_text(value: Any) -> str:
    if hasattr(value, "isoformat"):
        text = str(value.isoformat())
    else:
        text = str(np.datetime_as_string(np.datetime64(value, "s"), unit="s"))
    return text.split(".")[0].replace("T00:00:00", "")


def _period_text(index: Any) -> str:
    return f"{_time_text(index[0])}..{_time_text(index[-1])}" if len(index) else "no steps"


def _check_times(runs: dict[str, xr.Dataset], label: str) -> dict[str, xr.Dataset]:
    """``runs`` with one kind of time values; refused for other calendars or no overlap."""
    base_name, base = next(iter(runs.items()))
    timed = {name: "time" in ds.dims for name, ds in runs.items()}
    if not any(timed.values()):
        return runs
    for name, has in timed.items():
        if not has:
            other = base_name if name != base_name else next(n for n, t in timed.items() if t)
            raise SourceError(
                f"{label}: run '{name}' has no time axis but '{other}' has one; "
                "compare runs with the same kind of time axis"
            )
    want = calendar(base)
    for name, ds in runs.items():
        have = calendar(ds)
        if have != want:
            raise SourceError(
                f"{label}: run '{name}' uses the {have} calendar and '{base_name}' the {want} "
                "calendar; convert one (e.g. xarray's convert_calendar) so both use one calendar"
            )
    # one calendar, but decoded as datetime64 in one file and as cftime in another
    if base["time"].dtype.kind == "M":
        runs = {name: _as_datetime64(ds, name, label) for name, ds in runs.items()}
    else:
        kind = str(base["time"].dt.calendar)
        runs = {
            name: ds.convert_calendar(kind, use_cftime=True) if ds["time"].dtype.kind == "M" else ds
            for name, ds in runs.items()
        }
    shared = runs[base_name].indexes["time"]
    for name, ds in runs.items():
        index = ds.indexes["time"]
        overlap = shared.intersection(index)
        if len(overlap) == 0:
            raise SourceError(
                f"{label}: run '{name}' ({_period_text(index)}) has no time step in common with "
                f"'{base_name}' ({_period_text(runs[base_name].indexes['time'])}); compare runs "
                "over one period"
            )
        shared = overlap
    return runs


def _as_datetime64(ds: xr.Dataset, name: str, label: str) -> xr.Dataset:
    if ds["time"].dtype.kind == "M":
        return ds
    try:
        index = ds.indexes["time"].to_datetimeindex(time_unit="ns")
    except (ValueError, TypeError, OverflowError) as exc:
        raise SourceError(
            f"{label}: run '{name}' has times that cannot be compared with the baseline's "
            f"({exc}); decode both runs' times the same way"
        ) from exc
    return ds.assign_coords(time=("time", index, ds["time"].attrs))


# -- the grid -------------------------------------------------------------------------------
def _onto_grid(
    ds: xr.Dataset, base: xr.Dataset, name: str, base_name: str, label: str
) -> tuple[xr.Dataset, str | None]:
    """``ds`` on the baseline's cells, and a note when it was regridded."""
    # levels are never interpolated: check them whatever else differs
    coord = grid_difference(base, ds, ("depth",)) or grid_difference(base, ds)
    if coord is None:  # the same cells: take the baseline's coordinates exactly
        same = {c: base[c] for c in ("lon", "lat", "depth") if c in base.coords}
        if "y" in base.dims:
            same.update({d: base[d] for d in ("y", "x") if d in base.coords})
        return ds.assign_coords(same), None
    what = f"{label}: run '{name}' is on a different grid than '{base_name}' ({coord} differs)"
    if coord == "depth":
        raise SourceError(
            f"{what}: its depth levels are not the baseline's; compare runs on the same levels"
        )
    if ds["lon"].ndim == 2 or base["lon"].ndim == 2:
        raise SourceError(
            f"{what}: only regular (1-D lat/lon) grids are regridded here, not curvilinear "
            "ones; regrid the run onto the baseline's grid first (e.g. with xESMF)"
        )
    return _regrid_regular(ds, base, name, base_name, label)


def _step(values: np.ndarray) -> float:
    return float(np.median(np.abs(np.diff(values)))) if values.size > 1 else np.nan


def _cell_edges(centres: np.ndarray) -> tuple[float, float]:
    """(first, last) cell edge of 1-D ascending centres, half a step beyond each end."""
    half = _step(centres) / 2
    return float(centres[0] - half), float(centres[-1] + half)


def _span(values: np.ndarray) -> str:
    return f"{float(np.min(values)):g}..{float(np.max(values)):g}"


def _spans(values: np.ndarray, step: float) -> str:
    """Cell centres ``step`` apart as their contiguous stretches: ``-175..-65 and 5..175``."""
    values = np.sort(np.asarray(values, dtype=float))
    breaks = np.flatnonzero(np.diff(values) > 1.5 * step + COORD_ATOL) + 1
    parts = [f"{part[0]:g}" if part.size == 1 else _span(part) for part in np.split(values, breaks)]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _regrid_regular(
    ds: xr.Dataset, base: xr.Dataset, name: str, base_name: str, label: str
) -> tuple[xr.Dataset, str]:
    """``ds`` interpolated bilinearly onto the baseline's regular grid (lazy)."""
    lon_r = np.asarray(ds["lon"].values, dtype=float)
    lat_r = np.asarray(ds["lat"].values, dtype=float)
    lon_b = np.asarray(base["lon"].values, dtype=float)
    lat_b = np.asarray(base["lat"].values, dtype=float)
    if lon_r.size < 2 or lat_r.size < 2:
        raise SourceError(
            f"{label}: run '{name}' is on a different grid than '{base_name}' and has too few "
            f"cells ({lat_r.size} x {lon_r.size}) to interpolate from"
        )
    # the baseline's cells must lie inside the run's (its outer half cells take the values
    # of its edge rows and columns: no extrapolation beyond them)
    half_lon = _step(lon_b) / 2 if lon_b.size > 1 else 0.0
    half_lat = _step(lat_b) / 2 if lat_b.size > 1 else 0.0
    south, north = _cell_edges(lat_r)
    lat_out = lat_b[_outside(lat_b, half_lat, south, north)]
    lat_target = np.clip(lat_b, lat_r[0], lat_r[-1])
    # longitude: the run's columns as one continuous run eastward (padded with one column
    # each side round a global grid), and the baseline's longitudes in that frame
    order = np.argsort(lon_r)
    lon_s = lon_r[order]
    step = _step(lon_s)
    gaps = np.diff(np.concatenate([lon_s, lon_s[:1] + 360.0]))
    widest = int(np.argmax(gaps))
    if gaps[widest] <= 1.5 * step + COORD_ATOL:  # all round the globe: periodic
        columns = np.concatenate([order[-1:], order, order[:1]])
        lon_c = np.concatenate([lon_s[-1:] - 360.0, lon_s, lon_s[:1] + 360.0])
        lon_target = lon_s[0] + (lon_b - lon_s[0]) % 360.0
        lon_out = lon_b[:0]
    else:  # a region, perhaps across the dateline: it starts east of its widest gap
        first = (widest + 1) % lon_s.size
        columns = np.roll(order, -first)
        lon_c = np.concatenate([lon_s[first:], lon_s[:first] + 360.0])
        west, east = lon_c[0] - step / 2, lon_c[-1] + step / 2
        lon_target = west + (lon_b - west + COORD_ATOL) % 360.0 - COORD_ATOL
        lon_out = lon_b[_outside(lon_target, half_lon, west, east)]
        lon_target = np.clip(lon_target, lon_c[0], lon_c[-1])
    if lat_out.size or lon_out.size:
        where = []
        if lat_out.size:
            where.append(f"latitudes {_spans(lat_out, 2 * half_lat)} ({lat_out.size} rows)")
        if lon_out.size:
            where.append(f"longitudes {_spans(lon_out, 2 * half_lon)} ({lon_out.size} columns)")
        raise SourceError(
            f"{label}: run '{name}' is on a different grid than '{base_name}' that does not "
            f"cover the baseline's cells at {' and at '.join(where)} (the run's cells are "
            f"centred at lon {_spans(lon_r, step)}, lat {_span(lat_r)}); give the run a grid "
            "that covers the "
            "baseline's, or compare over the run's area with a baseline on its grid"
        )
    picked = ds.isel(lon=columns).assign_coords(lon=("lon", lon_c))
    regridded = picked.interp(lat=lat_target, lon=lon_target, method=REGRID_METHOD)
    regridded = regridded.assign_coords(lon=base["lon"], lat=base["lat"])
    if "depth" in base.coords and "depth" in regridded.coords:
        regridded = regridded.assign_coords(depth=base["depth"])
    for var in regridded.data_vars:  # interp keeps values, not always their description
        regridded[var].attrs = dict(ds[var].attrs)
    dlon, dlat = _step(lon_s), _step(lat_r)
    size = f"{dlon:g}°" if np.isclose(dlon, dlat) else f"{dlon:g}° x {dlat:g}°"
    return regridded, f"{name} ({size} → baseline grid, bilinear)"


def _outside(centres: np.ndarray, half: float, low: float, high: float) -> np.ndarray:
    """Which cells (``centres`` +- ``half``) reach outside [low, high]."""
    return (centres - half < low - COORD_ATOL) | (centres + half > high + COORD_ATOL)
