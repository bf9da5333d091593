"""The time axis: ISO labels of time values and the step nearest a time, on every calendar.

Time values follow the data contract: ``datetime64`` for the standard calendar, cftime
objects for the others (``noleap``, ``360_day``, ``all_leap``, …). The URL's ``time=``, the
time controls' "go to date", and the command line's ``--time`` all find their step with
:func:`nearest_step`, so one text picks one step everywhere, ``2001-02-30`` on a 360-day
calendar included.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

import numpy as np

from data_adapters.errors import SourceError

#: ISO 8601 date and time, to the second at most ("2025-03-10", "2025-03-10T13:00", "...Z").
ISO_TIME = re.compile(
    r"^(\d{4})-(\d{1,2})(?:-(\d{1,2})(?:[T ](\d{1,2})(?::(\d{2})(?::(\d{2})(?:\.\d*)?)?)?)?)?Z?$"
)
#: What a time is, in messages.
ISO_EXAMPLE = "2025-03-10 or 2025-03-10T12:00"


def time_label(value: Any) -> str:
    """ISO label of one time value (datetime64 or cftime): the date alone at midnight,
    else to the second."""
    if hasattr(value, "isoformat"):  # cftime and datetime
        text = str(value.isoformat()).split(".")[0]
    else:
        text = str(np.datetime_as_string(np.datetime64(value, "s"), unit="s"))
    return text.replace("T00:00:00", "")


def iso_times(values: Any) -> list[str]:
    """ISO labels of time values, to the second; dates alone when every step is at
    midnight (so that a column of dates reads as dates)."""
    labels = []
    for value in np.asarray(values).ravel():
        if hasattr(value, "isoformat"):
            labels.append(str(value.isoformat()).split(".")[0])
        else:
            labels.append(str(np.datetime_as_string(np.datetime64(value, "s"), unit="s")))
    if all(label.endswith("T00:00:00") for label in labels):
        labels = [label[: -len("T00:00:00")] for label in labels]
    return labels


#: Names of a time step by its length in hours (within 5 %): what a count of steps is called.
STEP_NAMES = {1.0: "hours", 24.0: "days", 168.0: "weeks"}


def step_name(times: Any) -> str:
    """What one time step is called, plural: ``days`` for daily data, ``hours``, ``weeks``,
    ``months`` (28 to 31 days), else ``steps``."""
    values = np.asarray(times).ravel()
    if values.size < 2:
        return "steps"
    try:
        first, second = values[0], values[1]
        if values.dtype.kind == "M":
            hours = float((second - first) / np.timedelta64(1, "h"))
        else:  # cftime: differences are datetime.timedelta
            hours = (second - first).total_seconds() / 3600.0
    except (TypeError, AttributeError, ValueError):
        return "steps"
    for length, name in STEP_NAMES.items():
        if abs(hours - length) <= 0.05 * length:
            return name
    return "months" if 28 * 24 <= hours <= 31 * 24 else "steps"


def calendar_of(times: Any) -> str:
    """The calendar of time values: ``standard`` for datetime64, else cftime's name."""
    values = np.asarray(times)
    if values.dtype.kind == "M" or values.size == 0:
        return "standard"
    calendar = getattr(values.ravel()[0], "calendar", "standard") or "standard"
    return "standard" if calendar in ("gregorian", "proleptic_gregorian") else calendar


def parse_time(text: str, what: str = "time") -> tuple[int, int, int, int, int, int]:
    """``(year, month, day, hour, minute, second)`` of an ISO ``text``.

    Raises
    ------
    SourceError
        When ``text`` is not an ISO date or time (``what`` names it in the message).
    """
    match = ISO_TIME.match(str(text).strip())
    if not match:
        raise SourceError(f"{what} '{text}' is not an ISO time; use e.g. {ISO_EXAMPLE}")
    parts = [int(p) if p else d for p, d in zip(match.groups(), (0, 1, 1, 0, 0, 0), strict=True)]
    return tuple(parts)  # type: ignore[return-value]


def nearest_step(times: Any, text: str, what: str = "time") -> int:
    """Index of the step of ``times`` (datetime64 or cftime values) nearest ISO ``text``.

    Raises
    ------
    SourceError
        When ``text`` is not an ISO time, or not a date of the calendar (``2025-02-30`` on
        the standard calendar); ``what`` names the value in the message (``--time``).
    """
    parts = parse_time(text, what)
    values = np.asarray(times).ravel()
    if values.size == 0:
        raise SourceError(f"{what} '{text}': the data have no time steps")
    try:
        if values.dtype.kind == "M":
            # in seconds: nanoseconds overflow outside 1678-2262 and pick a wrong step
            wanted = np.datetime64(datetime.datetime(*parts), "s")
            return int(np.argmin(np.abs(values.astype("datetime64[s]") - wanted)))
        import cftime

        wanted = cftime.datetime(*parts, calendar=values[0].calendar)
        seconds = np.array([(v - wanted).total_seconds() for v in values])
        return int(np.argmin(np.abs(seconds)))
    except (ValueError, OverflowError) as exc:
        raise SourceError(
            f"{what} '{text}' is not a date of the {calendar_of(values)} calendar ({exc})"
        ) from exc


def outside_note(times: Any, text: str) -> str | None:
    """A notice when ISO ``text`` lies before the first or after the last of ``times`` (its
    nearest step is then an end of the data), else None."""
    values = np.asarray(times).ravel()
    if values.size == 0:
        return None
    parts = parse_time(text)
    if values.dtype.kind == "M":
        wanted: Any = np.datetime64(datetime.datetime(*parts), "s")
        first, last = values[[0, -1]].astype("datetime64[s]")
    else:
        import cftime

        wanted = cftime.datetime(*parts, calendar=values[0].calendar)
        first, last = values[0], values[-1]
    if wanted < first:
        return f"{text} is before the data (from {time_label(first)}); showing {time_label(first)}"
    if wanted > last:
        return f"{text} is after the data (to {time_label(last)}); showing {time_label(last)}"
    return None
