"""Degree heating weeks, as NOAA Coral Reef Watch defines them, from daily sea temperature.

The maximum of the monthly mean climatology (MMM) is the warmest month's mean over the
reference period. A day's HotSpot is its temperature above the MMM; HotSpots of at least
1 °C are summed over the 12 weeks (84 days) up to and including the day and divided by 7:
degree heating weeks, in °C-weeks. NOAA CRW's alerts: 4 °C-weeks, significant bleaching
likely; 8 °C-weeks, severe bleaching and significant mortality likely.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .climatology import Reference, monthly_climatology

#: HotSpots below this (°C above the MMM) do not accumulate.
HOTSPOT_MIN = 1.0
#: Days summed: the 12-week window.
WINDOW_DAYS = 84
#: Units of the result.
UNITS = "degC week"


def maximum_monthly_mean(values: np.ndarray, times: Any, reference: Reference) -> np.ndarray:
    """The warmest month's mean over the reference period, per cell (time is axis 0)."""
    seas, _ = monthly_climatology(values, times, reference)
    return np.nanmax(seas, axis=0)


def degree_heating_weeks(values: np.ndarray, mmm: np.ndarray) -> np.ndarray:
    """Degree heating weeks of each day (axis 0) of daily ``values`` against ``mmm``.

    The first 83 days, which lack 12 weeks of history, are NaN; a missing day adds no
    HotSpot (its own DHW is NaN).
    """
    values = np.asarray(values, dtype=np.float64)
    hotspot = values - np.asarray(mmm, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        counted = np.where(hotspot >= HOTSPOT_MIN, hotspot, 0.0)
    total = np.cumsum(counted, axis=0)
    out = np.full(values.shape, np.nan)
    if values.shape[0] >= WINDOW_DAYS:
        window = total[WINDOW_DAYS - 1 :].copy()
        window[1:] -= total[: values.shape[0] - WINDOW_DAYS]
        out[WINDOW_DAYS - 1 :] = window / 7.0
    out[np.isnan(values)] = np.nan
    return out
