"""Tables: every CSV the app and the command line write (series, profiles, sections).

One writer per format: the dashboard's downloads and ``ocean-explorer timeseries`` write
the same text for the same series.
"""

from __future__ import annotations

import csv
import os
import pathlib
from typing import Any, TextIO

import numpy as np
import xarray as xr

from data_adapters.errors import SourceError

from .probes import _number
from .timeaxis import iso_times


def _value_text(value: Any) -> str:
    """Shortest text that reads back to the same value; empty for NaN (no data)."""
    return "" if not np.isfinite(value) else str(value)


def _label_text(value: Any) -> str:
    """A column or row label: numbers as :func:`_number` writes them, others as text."""
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        return _number(value)
    return str(value)


def _csv_columns(series: xr.DataArray | xr.Dataset, index: str) -> dict[str, np.ndarray]:
    """The columns of a CSV series: 1-D arrays along ``index``, by header."""
    named = (
        {str(k): v for k, v in series.data_vars.items()}
        if isinstance(series, xr.Dataset)
        else {"value": series}
    )
    columns: dict[str, np.ndarray] = {}
    for name, da in named.items():
        other = [d for d in da.dims if d != index]
        if index not in da.dims or len(other) > 1:
            raise SourceError(
                f"a CSV series is along {index} with at most one other dim; '{name}' has {da.dims}"
            )
        if not other:
            columns[name] = np.asarray(da.values)
            continue
        dim = other[0]
        # a DataArray's second dim (runs, depths) names the columns; a Dataset's variables
        # then carry it as a suffix: mean_baseline, mean_heatwave, ...
        for k, label in enumerate(da[dim].values):
            text = _label_text(label)
            key = text if isinstance(series, xr.DataArray) else f"{name}_{text}"
            columns[key] = np.asarray(da.isel({dim: k}).transpose(index).values)
    return columns


def to_csv(
    series: xr.DataArray | xr.Dataset,
    path_or_buffer: str | pathlib.Path | TextIO,
    header_line: str,
) -> None:
    """Write a series as CSV: ``# header_line``, then ``time,value`` rows.

    A DataArray on ``time`` gives one ``value`` column; one with a second dim (such as
    ``scenario``, or ``depth`` for a section) gives one column per label of that dim; a
    Dataset one column per variable (``<variable>_<label>`` with a second dim). Series
    without time, such as a :func:`profile`, are written along their one dim
    (``depth,value``). Times are ISO 8601 (dates alone for daily data); missing values are
    empty. The series is computed once, here.
    """
    dims = set(series.dims)
    if "time" in dims:
        index = "time"
    elif len(dims) == 1:
        (index,) = (str(d) for d in dims)
    else:
        raise SourceError(f"a CSV series needs a time axis or a single dim, got {tuple(dims)}")
    series = series.compute()
    columns = _csv_columns(series, index)
    labels = series[index].values
    rows = iso_times(labels) if index == "time" else [_label_text(v) for v in labels]
    line = header_line if header_line.startswith("#") else f"# {header_line}"
    own = isinstance(path_or_buffer, str | os.PathLike)
    handle = open(path_or_buffer, "w", newline="") if own else path_or_buffer  # noqa: SIM115
    try:
        handle.write(line.rstrip("\n") + "\n")
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([index, *columns])
        for k, row in enumerate(rows):
            writer.writerow([row, *(_value_text(v[k]) for v in columns.values())])
    finally:
        if own:
            handle.close()
