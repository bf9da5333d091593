"""Scenario comparison: what-if runs against a baseline (the computation core).

Pure xarray/numpy on arrays that follow the data contract, like :mod:`components.core.probes`:
a comparison reads the same selection (time, depth, region) of two runs of one grid and
derives the change. Everything stays lazy until asked, so a map of the change reads only the
cells in view of both runs.

- :func:`runs` checks and orders the runs to compare (baseline first);
- :func:`change` is the scenario minus the baseline (``"diff"``) or the relative change in
  percent (``"pct"``), with ensemble members reduced to their mean and spread;
- :func:`relative_change_refusal` says why a variable has no meaningful relative change;
- :func:`hide_small` hides changes below a threshold (or below the ensemble spread);
- :func:`impact` gives the area-weighted statistics of a change over the sea cells of a
  region, and :func:`steps_exceeding` counts the time steps in which a regional series (or
  its change from the baseline) exceeds a value.

The map (``components.compare_view``) and the command line (``ocean-explorer compare``) call
these functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from data_adapters.alignment import same_units, unit_name
from data_adapters.errors import SourceError, did_you_mean

from . import fields, regions

#: Comparison modes of the change itself: scenario minus baseline, or relative change.
CHANGE_MODES = ("diff", "pct")
#: The app's names of the change modes (its ``mode=``), also read by the command line.
CHANGE_MODE_NAMES = {"difference": "diff", "relative": "pct"}
#: cmocean colormaps of change maps: both diverging, centred on zero.
CHANGE_CMAPS = {"diff": "balance", "pct": "curl"}
#: Relative change is undefined where the baseline is this close to zero (its units).
PCT_MIN_BASELINE = 1e-9
#: Keys of the impact statistics, in the order tables show them.
IMPACT_KEYS = (
    "mean_diff",
    "min_diff",
    "max_diff",
    "max_abs_diff",
    "area_km2",
    "area_km2_exceeding",
    "fraction_exceeding",
)


#: Units of an interval scale: their zero is a convention, so a ratio of two values means
#: nothing (20 °C is not twice 10 °C); kelvin, concentrations and speeds have a true zero.
INTERVAL_UNITS = {"degC": "°C", "degF": "°F"}
#: Words of standard names (or long names) of quantities measured from a chosen reference.
INTERVAL_NAMES = {
    "anomaly": "an anomaly (a departure from a reference)",
    "sea_surface_height": "a height above a reference surface",
    "height_above": "a height above a reference surface",
    "elevation": "a height above a reference surface",
}
#: What exceedance counting compares with its value, as tables and files name it.
EXCEED_KINDS = {"change": "change", "value": "value"}


def relative_change_refusal(da: xr.DataArray) -> str | None:
    """Why a relative change (%) of ``da`` means nothing, in one line; None when it does.

    A relative change needs a ratio scale, whose zero means "none of it" (concentrations,
    salinity, speeds, kelvin). Temperatures in °C or °F, anomalies and heights above a
    chosen surface are on interval scales: their percentages change with the reference
    (a warming of 1 °C is 10 % at 10 °C, and 0.3 % in kelvin). Decided by ``units``, then
    ``standard_name``/``long_name``; an undeclared unit is not refused.
    """
    name = str(da.name or "the variable")
    units = unit_name(da.attrs.get("units"))
    why = None
    if units in INTERVAL_UNITS:
        why = f"in {INTERVAL_UNITS[units]}, an interval scale whose zero is a convention"
    else:
        words = " ".join(
            str(da.attrs.get(key, "")).lower().replace(" ", "_")
            for key in ("standard_name", "long_name")
        )
        words = f"{words} {name.lower()}"
        found = next((w for w in INTERVAL_NAMES if w in words), None)
        if found:
            why = f"{INTERVAL_NAMES[found]}, whose zero is a convention"
    if why is None:
        return None
    return f"relative change (%) is not offered for {name}: it is {why}; use the difference"


def run_names(da: xr.DataArray, baseline: str | None, scenarios: Sequence[str]) -> list[str]:
    """The labels of the runs to compare, baseline first, checked against ``da``'s runs.

    Parameters
    ----------
    baseline
        The reference run's label (None: the source's first run).
    scenarios
        What-if runs' labels; the baseline itself is left out if listed.

    Raises
    ------
    SourceError
        For an unknown label, or no what-if run to compare.
    """
    labels = fields.scenario_labels(da)
    baseline = labels[0] if baseline is None else str(baseline)
    wanted = [baseline, *(str(s) for s in scenarios if str(s) != baseline)]
    for name in wanted:
        if name not in labels:
            raise SourceError(
                f"no scenario '{name}'{did_you_mean(name, labels)}; the runs are: "
                f"{', '.join(labels)}"
            )
    if len(wanted) < 2:
        others = [s for s in labels if s != baseline]
        raise SourceError(
            "choose a what-if scenario to compare with the baseline"
            + (f": {', '.join(others)}" if others else " (this source has one run)")
        )
    return wanted


def runs(
    da: xr.DataArray, baseline: str | None, scenarios: Sequence[str]
) -> dict[str, xr.DataArray]:
    """The runs to compare (see :func:`run_names`), baseline first, each without the
    ``scenario`` dim (lazy)."""
    wanted = run_names(da, baseline, scenarios)
    if "scenario" not in da.dims:
        return {wanted[0]: da}
    index = da.get_index("scenario")
    return {name: da.isel(scenario=index.get_loc(name), drop=True) for name in wanted}


def _ensemble(da: xr.DataArray) -> xr.DataArray:
    return da.mean("member") if "member" in da.dims else da


def change(baseline: xr.DataArray, scenario: xr.DataArray, mode: str = "diff") -> xr.DataArray:
    """The change from ``baseline`` to ``scenario`` on the same cells (lazy).

    ``"diff"``: scenario minus baseline, in the variable's units. ``"pct"``: the relative
    change ``100 (scenario - baseline) / |baseline|`` in percent, NaN where the baseline is
    zero. With ensemble ``member``s the change is that of the ensemble means, and the result
    carries the spread of the members' changes as the coordinate ``spread`` (same units): the
    standard deviation over the members (``ddof=0``) of each member's change, against the
    same member of the baseline when the baseline has members, else against its one run.

    Raises
    ------
    SourceError
        When the two runs differ in units or are not on the same cells, or for ``"pct"`` of
        a variable without a ratio scale (:func:`relative_change_refusal`).
    """
    if mode not in CHANGE_MODES:
        raise SourceError(f"unknown comparison mode '{mode}'; use one of {', '.join(CHANGE_MODES)}")
    if mode == "pct":
        refusal = relative_change_refusal(baseline)
        if refusal:
            raise SourceError(refusal)
    units = str(baseline.attrs.get("units", ""))
    other = str(scenario.attrs.get("units", ""))
    if not same_units(units, other):
        raise SourceError(
            f"the runs' units differ ('{other}' against the baseline's '{units}'); "
            "convert one of them so both use the same units"
        )
    _check_same_cells(baseline, scenario)
    # the same cells within rounding: the baseline's coordinates for both, so that the
    # arithmetic below never drops cells whose coordinates differ in the last digit
    shared = [d for d in _CELL_COORDS if d in baseline.indexes and d in scenario.indexes]
    if shared:
        scenario = scenario.assign_coords({d: baseline[d] for d in shared})
    if "member" in scenario.dims:
        per_member = scenario - (baseline if "member" in baseline.dims else _ensemble(baseline))
        spread = (per_member if mode == "diff" else _pct(per_member, _ensemble(baseline))).std(
            "member"
        )
    else:
        spread = None
    base, scen = _ensemble(baseline), _ensemble(scenario)
    delta = scen - base
    if mode == "pct":
        delta = _pct(delta, base)
    name = str(baseline.name or "value")
    long_name = _lower_first(str(baseline.attrs.get("long_name") or name))
    attrs = {
        "long_name": f"Change in {long_name}"
        if mode == "diff"
        else f"Relative change in {long_name}",
        "units": units if mode == "diff" else "%",
    }
    delta = delta.rename(f"{name}_change")
    delta.attrs = attrs  # a change is not the quantity itself: no standard_name
    if spread is not None:
        delta = delta.assign_coords(spread=spread.assign_attrs(units=attrs["units"]))
    return delta


def _lower_first(text: str) -> str:
    """``Sea water temperature`` -> ``sea water temperature``; ``SST`` stays ``SST``."""
    if not text or text[:2].isupper():
        return text
    return text[0].lower() + text[1:]


def _pct(delta: xr.DataArray, base: xr.DataArray) -> xr.DataArray:
    return 100.0 * delta / abs(base).where(abs(base) > PCT_MIN_BASELINE)


#: Coordinates on which two runs must agree to be compared cell by cell.
_CELL_COORDS = ("lon", "lat", "time", "depth")


def _check_same_cells(a: xr.DataArray, b: xr.DataArray) -> None:
    for name in _CELL_COORDS:
        if name in a.coords and name in b.coords:
            ca, cb = np.asarray(a[name].values), np.asarray(b[name].values)
            same = ca.shape == cb.shape and (
                np.allclose(ca, cb, equal_nan=True) if ca.dtype.kind == "f" else (ca == cb).all()
            )
            if not same:
                raise SourceError(
                    f"the runs are not on the same {name} ({name} values differ); compare runs "
                    "of one grid, or let the catalog regrid them onto the baseline's"
                )


def change_range(values: np.ndarray) -> tuple[float, float]:
    """The default colour range of a change map: symmetric about zero, ±max |change|.

    Not a percentile range: a local change (a heatwave, a wind farm) covers a few per cent
    of the map at most, and must not vanish into the range of the unchanged sea. (-1, 1)
    when nothing changes.
    """
    finite = np.abs(np.asarray(values, dtype=float))
    finite = finite[np.isfinite(finite)]
    top = float(finite.max()) if finite.size else 0.0
    return (-top, top) if top > 0 else (-1.0, 1.0)


def hide_small(delta: xr.DataArray, threshold: float = 0.0, spread: bool = False) -> xr.DataArray:
    """``delta`` with changes smaller than ``threshold`` (absolute) set to 0, and with
    ``spread=True`` also those smaller than the ensemble spread (lazy).

    Zero, not NaN: a hidden change shows as "no change" (the centre of a diverging colour
    scale), while NaN stays land or no data.
    """
    keep = abs(delta) >= float(threshold) if threshold > 0 else xr.ones_like(delta, dtype=bool)
    if spread and "spread" in delta.coords:
        keep = keep & (abs(delta) >= delta["spread"])
    return delta.where(keep | delta.isnull(), 0.0)


def impact(
    delta2d: xr.DataArray, mask: xr.DataArray | None = None, threshold: float = 0.0
) -> dict[str, float]:
    """Area-weighted statistics of one map of change over the sea cells of a region.

    Parameters
    ----------
    delta2d
        A map of change on (lat, lon) or (y, x) (see :func:`change`); NaN is land.
    mask
        The region (:func:`components.core.regions.region_mask`); None: every cell.
    threshold
        Changes of magnitude above this count as exceeding (same units as the change).

    Returns
    -------
    dict
        ``mean_diff`` (area-weighted), ``min_diff``, ``max_diff``, ``max_abs_diff``,
        ``area_km2`` (sea area with a value), ``area_km2_exceeding`` (where
        ``|change| > threshold``), ``fraction_exceeding`` and ``cells``.

    Raises
    ------
    SourceError
        When no sea cell with a value lies in the region.
    """
    if mask is None:
        mask = regions.region_mask(delta2d)
    values, weights = regions.region_cells(delta2d, mask)
    if values.size == 0:
        raise SourceError("the region holds no sea cell with data (land, or no data there)")
    area = float(weights.sum())
    exceeding = float(weights[np.abs(values) > float(threshold)].sum())
    return {
        "mean_diff": float(np.sum(values * weights) / area),
        "min_diff": float(values.min()),
        "max_diff": float(values.max()),
        "max_abs_diff": float(np.abs(values).max()),
        "area_km2": area,
        "area_km2_exceeding": exceeding,
        "fraction_exceeding": exceeding / area,
        "cells": int(values.size),
    }


def steps_above(series: xr.DataArray, value: float) -> int:
    """How many time steps of ``series`` exceed ``value`` (NaN steps do not)."""
    return int((np.asarray(series.values, dtype=float) > float(value)).sum())


def steps_exceeding(
    series: dict[str, xr.DataArray], baseline: str, value: float, exceed: str = "change"
) -> dict[str, int]:
    """Per run, the time steps in which its regional series exceeds ``value``.

    Parameters
    ----------
    series
        Each run's regional mean series on one time axis, the baseline's included.
    exceed
        ``"change"``: the run's series minus the baseline's exceeds ``value`` (a heatwave
        of "+1 °C"); the baseline, whose change is zero, is left out. ``"value"``: the
        series itself exceeds ``value`` (days above 16 °C), for every run.

    Raises
    ------
    SourceError
        For an unknown ``exceed``.
    """
    if exceed not in EXCEED_KINDS:
        raise SourceError(
            f"unknown exceedance '{exceed}'; count the {' or the '.join(EXCEED_KINDS)}"
        )
    if exceed == "value":
        return {name: steps_above(s, value) for name, s in series.items()}
    base = np.asarray(series[baseline].values, dtype=float)
    return {
        name: int((np.asarray(s.values, dtype=float) - base > float(value)).sum())
        for name, s in series.items()
        if name != baseline
    }


def exceedance_label(exceed: str, value: float, units: str = "", steps: str = "steps") -> str:
    """What a count counts, as a column header: ``days with change > +1 degC`` or
    ``days with value > 16 degC`` (``steps``: the name of one time step, plural)."""
    shown = f"{value:+g}" if exceed == "change" else f"{value:g}"
    return f"{steps} with {EXCEED_KINDS[exceed]} > {shown}{f' {units}' if units else ''}"


def label(name: str, baseline: str, mode: str) -> str:
    """How a change is named: ``warming_3 - baseline`` or ``warming_3 vs baseline (%)``."""
    return f"{name} - {baseline}" if mode == "diff" else f"{name} vs {baseline} (%)"


def describe(stats: dict[str, Any], units: str) -> dict[str, str]:
    """The impact statistics as display texts with units."""
    u = f" {units}" if units else ""
    return {
        "mean Δ": f"{stats['mean_diff']:+.3g}{u}",
        "min Δ": f"{stats['min_diff']:+.3g}{u}",
        "max Δ": f"{stats['max_diff']:+.3g}{u}",
        "max abs Δ": f"{stats['max_abs_diff']:.3g}{u}",
        "ocean area": f"{stats['area_km2']:,.0f} km²",
        "area above threshold": f"{stats['area_km2_exceeding']:,.0f} km²",
        "fraction": f"{100 * stats['fraction_exceeding']:.1f} %",
    }
