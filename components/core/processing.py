"""What a view shows of a variable: its value, anomaly, marine-heatwave state or DHW.

One choice, ``show``, serves every view, embed, export and command: ``value`` (the data),
``anomaly`` (value minus the day-of-year climatology of the reference period),
``mhw-intensity`` (value minus the climatology on marine-heatwave days, 0 on others),
``mhw-category`` (0 none, 1 Moderate ... 4 Extreme) and ``dhw`` (NOAA Coral Reef Watch
degree heating weeks).

The climatology of a scenario run is, by default, the baseline run's (a *fixed* baseline:
a warmer world reads as a permanent heatwave); a *shifted* baseline takes the shown run's
own climatology over the same period (the warming is removed, heatwaves are departures
from the new normal). Climatologies are cached on disk per (source, variable, depth,
period, baseline, cells) under the cache directory's ``climatology`` folder.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from data_adapters.cache import atomic_write_bytes, cache_dir
from data_adapters.contract import scenario_labels
from data_adapters.errors import SourceError, did_you_mean

from . import climatology as clim
from . import dhw, mhw

SHOWS = ("value", "anomaly", "mhw-intensity", "mhw-category", "dhw")
BASELINES = ("fixed", "shifted")
#: How each choice is named in titles and legends.
SHOW_LABELS = {
    "value": "value",
    "anomaly": "anomaly",
    "mhw-intensity": "marine heatwave intensity",
    "mhw-category": "marine heatwave category",
    "dhw": "degree heating weeks",
}


def source_stamp(source_id: str) -> str:
    """A source as the climatology cache knows it: its id, and a local file's modification
    time (a rewritten file is not read from the cache)."""
    import os

    stamp = os.stat(source_id).st_mtime_ns if os.path.exists(source_id) else ""
    return f"{source_id}@{stamp}"


def parse_show(text: str | None) -> str:
    """A ``show`` choice by name (None: ``value``), refused in one line when unknown."""
    if text is None:
        return "value"
    if text not in SHOWS:
        raise SourceError(
            f"show '{text}' is not one of {', '.join(SHOWS)}{did_you_mean(text, SHOWS)}"
        )
    return text


@dataclass(frozen=True)
class Processing:
    """What to show and against which climate."""

    show: str = "value"
    #: None: the default period (the first 30 full years, or all full years).
    reference: clim.Reference | None = None
    #: ``fixed``: the baseline run's climatology; ``shifted``: the shown run's own.
    baseline: str = "fixed"

    @property
    def needs_climate(self) -> bool:
        return self.show != "value"

    def query(self) -> dict[str, str]:
        """The words of a page's URL (and of a tile's) for this: ``show``, ``ref`` and
        ``climate``; none for the value itself or what is the default."""
        if not self.needs_climate:
            return {}
        query = {"show": self.show}
        if self.reference is not None:
            query["ref"] = self.reference.label
        if self.baseline != "fixed":
            query["climate"] = self.baseline
        return query

    @classmethod
    def parse(
        cls, show: str | None, reference: str | None = None, baseline: str | None = None
    ) -> Processing:
        """From the words of a command line or a URL; each refused in one line when wrong."""
        if baseline is not None and baseline not in BASELINES:
            raise SourceError(f"baseline '{baseline}' is not one of {', '.join(BASELINES)}")
        return cls(
            parse_show(show),
            clim.parse_reference(reference) if reference else None,
            baseline or "fixed",
        )


def climate_run(da: xr.DataArray, scenario: str | None, baseline: str = "fixed") -> xr.DataArray:
    """The run whose climatology the shown ``scenario`` is measured against (lazy)."""
    if "scenario" not in da.dims:
        return da
    runs = scenario_labels(da)
    run = runs[0] if baseline == "fixed" or scenario in (None, "all") else scenario
    return da.sel(scenario=run)


def climate_label(da: xr.DataArray, scenario: str | None, baseline: str = "fixed") -> str:
    """The label of the run whose climatology ``scenario`` is measured against."""
    if "scenario" not in da.dims:
        return scenario or scenario_labels(da)[0]
    return str(climate_run(da, scenario, baseline)["scenario"].values)


@dataclass
class Climate:
    """A climatology and threshold on the steps of a series or block (time first)."""

    reference: clim.Reference
    seas: np.ndarray
    thresh: np.ndarray
    kind: str = "daily"
    extra: dict[str, Any] = field(default_factory=dict)


def _curves(values: np.ndarray, times: np.ndarray, reference: clim.Reference, kind: str):
    if kind == "monthly":
        return clim.monthly_climatology(values, times, reference)
    return clim.daily_climatology(values, times, reference)


def climate_of(
    values: np.ndarray, times: np.ndarray, reference: clim.Reference | None, key: str | None = None
) -> tuple[clim.Reference, np.ndarray, np.ndarray, np.ndarray]:
    """(reference, seas curve, threshold curve, MMM) of ``values`` (time first, consecutive
    days or months), read from the cache under ``key`` when it was computed before."""
    reference = reference or clim.default_reference(times)
    kind = clim.step_kind(times)
    path = cache_dir("climatology") / f"{clim.cache_key(key, reference.label, kind)}.npz"
    if key is not None and path.exists():
        with np.load(path) as stored:
            return reference, stored["seas"], stored["thresh"], stored["mmm"]
    seas, thresh = _curves(values, times, reference, kind)
    if kind == "monthly":
        mmm = np.nanmax(seas, axis=0)
    else:
        mmm = dhw.maximum_monthly_mean(values, times, reference)
    if key is not None:
        buffer = io.BytesIO()
        np.savez(buffer, seas=seas, thresh=thresh, mmm=mmm)
        atomic_write_bytes(path, buffer.getvalue())
    return reference, seas, thresh, mmm


def climate_on_steps(
    climate_values: np.ndarray,
    climate_times: np.ndarray,
    times: np.ndarray,
    reference: clim.Reference | None,
    key: str | None = None,
) -> Climate:
    """The climatology of ``climate_values`` over the reference period, on ``times``."""
    reference, seas, thresh, mmm = climate_of(climate_values, climate_times, reference, key)
    kind = clim.step_kind(climate_times)
    if kind == "monthly":
        _, month, _ = clim._month_day(times)
        index = month - 1
    else:
        index = clim.day_of_year(times) - 1
    return Climate(reference, seas[index], thresh[index], kind, {"mmm": mmm})


def shown(values: np.ndarray, climate: Climate, show: str) -> np.ndarray:
    """What ``show`` makes of ``values`` (time first) against ``climate`` on the same steps."""
    values = np.asarray(values, dtype=np.float64)
    if show == "value":
        return values
    if show == "anomaly":
        return values - climate.seas
    if show == "dhw":
        if climate.kind != "daily":
            raise SourceError("degree heating weeks need daily data; this variable is monthly")
        return dhw.degree_heating_weeks(values, climate.extra["mmm"])
    if climate.kind != "daily":
        raise SourceError("marine heatwaves need daily data; show the anomaly of monthly data")
    state = mhw.daily_state(values, climate.seas, climate.thresh)
    out = state.intensity if show == "mhw-intensity" else state.category.astype(np.float64)
    return np.where(np.isnan(values) & np.isnan(climate.seas), np.nan, out)


def shown_attrs(attrs: dict[str, Any], show: str, reference: clim.Reference) -> dict[str, Any]:
    """The attributes of a shown quantity (units, long_name, the reference period)."""
    name = attrs.get("long_name") or "value"
    units = attrs.get("units", "")
    out = {k: v for k, v in attrs.items() if k not in ("standard_name", "valid_range")}
    if show == "value":
        return dict(attrs)
    if show == "mhw-category":
        units = "1"
        out["flag_values"] = "0 1 2 3 4"
        out["flag_meanings"] = "none moderate strong severe extreme"
    elif show == "dhw":
        units = dhw.UNITS
    out.update(
        show=show,
        long_name=f"{name}: {SHOW_LABELS[show]}",
        units=units,
        reference_period=reference.label,
    )
    return out


def shown_series(
    series: xr.DataArray, climate_series: xr.DataArray, processing: Processing, key: str
) -> xr.DataArray:
    """A point series (on ``time``) as ``processing`` shows it; ``climate_series`` is the
    run whose climatology it is measured against (both read here)."""
    if clim.step_kind(series["time"].values) != "monthly":
        series = clim.on_whole_days(series)
    if processing.show == "value":
        return series
    base = clim.on_whole_days(climate_series)
    times = series["time"].values
    climate = climate_on_steps(
        np.asarray(base.values, dtype=float), base["time"].values, times, processing.reference, key
    )
    values = shown(np.asarray(series.values, dtype=float), climate, processing.show)
    return series.copy(data=values.astype(np.float64)).assign_attrs(
        shown_attrs(series.attrs, processing.show, climate.reference)
    )


def event_table(
    series: xr.DataArray,
    climate_series: xr.DataArray,
    reference: clim.Reference | None,
    key: str | None = None,
) -> tuple[pd.DataFrame, Climate, xr.DataArray]:
    """The marine heatwaves of a daily point series: (events, climate on its days, series on
    every day)."""
    if clim.step_kind(series["time"].values) != "daily":
        raise SourceError("marine heatwaves need daily data; this variable is not daily")
    series = clim.on_whole_days(series)
    base = clim.on_whole_days(climate_series)
    times = series["time"].values
    climate = climate_on_steps(
        np.asarray(base.values, dtype=float), base["time"].values, times, reference, key
    )
    table = mhw.events(times, np.asarray(series.values, dtype=float), climate.seas, climate.thresh)
    return table, climate, series


def category_areas(
    values: np.ndarray, times: np.ndarray, climate: Climate, area_km2: np.ndarray
) -> pd.DataFrame:
    """Daily area (km²) in each marine-heatwave category of a block (time, cells...)."""
    state = mhw.daily_state(values, climate.seas, climate.thresh)
    area = np.where(np.isnan(area_km2), 0.0, area_km2)
    flat = state.category.reshape(state.category.shape[0], -1)
    weights = area.reshape(-1)
    columns = {
        f"area_{name.lower()}_km2": (flat == number).astype(float) @ weights
        for number, name in mhw.CATEGORIES.items()
    }
    return pd.DataFrame({"date": _iso(times), **columns})


def _iso(times: np.ndarray) -> list[str]:
    from .timeaxis import iso_times

    return iso_times(times)
