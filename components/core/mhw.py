"""Marine heatwaves (Hobday et al. 2016) and their categories (Hobday et al. 2018).

A day exceeds when its value is above the threshold (strictly); a missing value counts as
the climatology, so it never exceeds. Runs of at least 5 exceeding days are events, and
events separated by at most 2 days are joined, gap included. Per event: start, peak (the
day of largest intensity), end, duration, and the maximum, mean and cumulative intensity
relative to the climatology; its category is that of the day with the largest intensity
in multiples of (threshold - climatology): below 2 Moderate (I), 2-3 Strong (II), 3-4
Severe (III), 4 and above Extreme (IV). This is the reference implementation's rule
(E. C. J. Oliver's ``marineHeatWaves.detect``) and gives its events to the day.

Per day and cell, :func:`daily_state` says whether the day is in an event, its intensity
and its category (0 outside events and on the below-threshold days of a joined gap). The
state of one day depends only on the 7 days either side (:data:`CONTEXT_DAYS`), so a map
of one day reads 15 days.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .timeaxis import iso_times

#: Shortest run of exceeding days that is an event.
MIN_DURATION = 5
#: Longest gap (days) across which two events are joined into one.
MAX_GAP = 2
#: Days either side of a day that decide its state (a gap day between a 5-day run and
#: another, at most MAX_GAP + MIN_DURATION away).
CONTEXT_DAYS = MAX_GAP + MIN_DURATION
#: Category names by number (Hobday et al. 2018), and their standard colours.
CATEGORIES = {1: "Moderate", 2: "Strong", 3: "Severe", 4: "Extreme"}
CATEGORY_COLOURS = {
    0: "#ffffff00",
    1: "#ffc866",
    2: "#ff6900",
    3: "#9e0000",
    4: "#2d0000",
}
#: The columns of an event table, in order (the ``mhw`` command's CSV).
EVENT_COLUMNS = (
    "date_start",
    "date_peak",
    "date_end",
    "duration",
    "intensity_max",
    "intensity_mean",
    "intensity_cumulative",
    "category",
)


def _run_lengths(mask: np.ndarray, cap: int, before: int = 0) -> np.ndarray:
    """Length, up to each step (axis 0), of the run of True ending there, counted up to
    ``cap`` (0 where False); ``before``: the run's length before the first step. On the
    negated mask, with ``before=cap``: the steps since the last True."""
    out = np.full(mask.shape, min(before + 1, cap), dtype=np.uint8)
    for t in range(mask.shape[0]):  # slices of one step: arrays also for a 1-D series
        now = out[t : t + 1]
        if t:
            np.minimum(out[t - 1 : t] + 1, cap, out=now)
        now *= mask[t : t + 1]
    return out


def in_event(exceed: np.ndarray) -> np.ndarray:
    """Whether each step (axis 0) is in an event, from the steps above the threshold.

    Counts stop where they decide nothing (a run at :data:`MIN_DURATION`, a gap past
    :data:`MAX_GAP`), so they fit a byte per cell whatever the series' length.
    """
    exceed = np.asarray(exceed, dtype=bool)
    forward = _run_lengths(exceed, MIN_DURATION)
    backward = _run_lengths(exceed[::-1], MIN_DURATION)[::-1]
    kept = exceed & (forward + backward > MIN_DURATION)  # a run of MIN_DURATION or more
    since = _run_lengths(~kept, MAX_GAP + 1, before=MAX_GAP + 1)  # steps since kept
    until = _run_lengths(~kept[::-1], MAX_GAP + 1, before=MAX_GAP + 1)[::-1]
    gap = (~kept) & (since >= 1) & (until >= 1) & (since + until <= MAX_GAP + 1)
    return kept | gap


@dataclass(frozen=True)
class DailyState:
    """Per step and cell: in an event, intensity (value - climatology, 0 outside events),
    category (0 outside events, else 1-4), and the filled values the intensity is of."""

    in_event: np.ndarray
    intensity: np.ndarray
    category: np.ndarray
    relative: np.ndarray


def daily_state(
    values: np.ndarray, seas: np.ndarray, thresh: np.ndarray, day: int | None = None
) -> DailyState:
    """The marine-heatwave state of each step (axis 0) of ``values``, or with ``day`` of
    that step alone (its neighbours still decide whether it is in an event).

    A missing value counts as the climatology (never above the threshold); cells with no
    climatology (land) are never in an event.
    """
    values, seas, thresh = np.asarray(values), np.asarray(seas), np.asarray(thresh)
    with np.errstate(invalid="ignore"):  # values of any float type: compared exactly
        exceed = np.where(np.isnan(values), seas > thresh, values > thresh)
    event = in_event(exceed)
    if day is not None:  # the arithmetic of one step only (a map of 15 days shows one)
        values, seas, thresh, event = values[day], seas[day], thresh[day], event[day]
    values = np.asarray(values, dtype=np.float64)
    seas = np.asarray(seas, dtype=np.float64)
    thresh = np.asarray(thresh, dtype=np.float64)
    filled = np.where(np.isnan(values), seas, values)
    relative = filled - seas
    with np.errstate(invalid="ignore", divide="ignore"):
        multiples = (filled - thresh) / (thresh - seas)
        category = np.floor(1.0 + multiples)
    category = np.where(event & (category >= 1), np.minimum(category, 4), 0).astype(np.int8)
    intensity = np.where(event, relative, 0.0)
    return DailyState(event, intensity, category, relative)


def event_bounds(event: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) step of each run of True in a 1-D mask."""
    edges = np.diff(np.concatenate([[0], event.astype(np.int8), [0]]))
    starts = np.nonzero(edges == 1)[0]
    ends = np.nonzero(edges == -1)[0] - 1
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def events(
    times: np.ndarray, values: np.ndarray, seas: np.ndarray, thresh: np.ndarray
) -> pd.DataFrame:
    """The events of one daily series as a table with :data:`EVENT_COLUMNS` (dates ISO,
    intensities in the series' units, cumulative in units x days, category by name)."""
    values = np.asarray(values, dtype=np.float64).ravel()
    state = daily_state(values, np.asarray(seas).ravel(), np.asarray(thresh).ravel())
    labels = iso_times(times) if len(times) else []
    seas = np.asarray(seas, dtype=np.float64).ravel()
    thresh = np.asarray(thresh, dtype=np.float64).ravel()
    filled = np.where(np.isnan(values), seas, values)
    rows = []
    for first, last in event_bounds(state.in_event):
        relative = state.relative[first : last + 1]
        peak = int(np.argmax(relative))
        with np.errstate(divide="ignore", invalid="ignore"):  # a threshold on the climatology
            norm = (filled[first : last + 1] - thresh[first : last + 1]) / (
                thresh[first : last + 1] - seas[first : last + 1]
            )
        category = int(min(np.floor(1.0 + norm[int(np.argmax(norm))]), 4))
        rows.append(
            {
                "date_start": labels[first],
                "date_peak": labels[first + peak],
                "date_end": labels[last],
                "duration": last - first + 1,
                "intensity_max": float(relative[peak]),
                "intensity_mean": float(relative.mean()),
                "intensity_cumulative": float(relative.sum()),
                "category": CATEGORIES[max(category, 1)],
            }
        )
    return pd.DataFrame(rows, columns=list(EVENT_COLUMNS))
