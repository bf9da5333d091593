"""Tables: every CSV and NetCDF file the app and the command line write.

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

from data_adapters import cf_export, cf_time, vertical
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


def write_table(rows: Any, path_or_buffer: str | pathlib.Path | TextIO) -> int:
    """Write a table (a pandas DataFrame: an event table, daily areas) as plain CSV: its
    column names, then one line per row, numbers read back exactly, no comment line.
    Returns the number of rows."""
    own = isinstance(path_or_buffer, str | os.PathLike)
    handle = open(path_or_buffer, "w", newline="") if own else path_or_buffer  # noqa: SIM115
    try:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(list(rows.columns))
        for row in rows.itertuples(index=False):
            writer.writerow(
                [_value_text(v) if isinstance(v, float | np.floating) else v for v in row]
            )
    finally:
        if own:
            handle.close()
    return len(rows)


# -- long CSV of a subset (``ocean-explorer export``) ---------------------------------------

#: Characters per number in a long CSV row, separator included: the size estimate's unit.
CSV_NUMBER_CHARS = 12


def long_csv_columns(da: xr.DataArray) -> list[str]:
    """Columns of the long CSV: runs and members when kept, time, the vertical (``depth`` in
    metres; ``level`` and each cell's ``depth`` on s-coordinates; ``pressure_hPa``,
    ``height``), lat, lon, value."""
    leading = [d for d in ("scenario", "member", "time") if d in da.dims]
    return [*leading, *_vertical_columns(da), "lat", "lon", "value"]


def _vertical_columns(da: xr.DataArray) -> dict[str, str]:
    """The vertical columns of the long CSV and the coordinate each is read from."""
    if "depth" not in da.coords:
        return {}
    true = {"depth": vertical.DEPTH_M} if vertical.has_true_depths(da) else {}
    return {vertical.column(da["depth"]): "depth", **true}


def long_csv_bytes(da: xr.DataArray) -> int:
    """An upper bound of the long CSV's size in bytes (land rows are left out), known before
    anything is read."""
    numbers = [c for c in long_csv_columns(da) if c != "time"]
    row = CSV_NUMBER_CHARS * len(numbers)
    if "time" in da.dims:
        row += len(iso_times(da["time"].values[:1])[0]) + 1
    return da.size * row


def write_long_csv(da: xr.DataArray, output: pathlib.Path) -> int:
    """Long CSV, one row per sea value (land and no-data cells are left out), written a block
    of time steps at a time; returns the number of rows.

    Written beside ``output`` and renamed at the end, so a failed export leaves no
    half-written file under the name asked for.
    """
    partial = output.with_name(output.name + ".part")
    try:
        with open(partial, "w", newline="") as handle:
            rows = _write_long_rows(da, handle)
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)
    return rows


def _write_long_rows(da: xr.DataArray, handle: TextIO) -> int:
    import pandas as pd

    columns = long_csv_columns(da)
    sources = _vertical_columns(da)
    steps = da.sizes.get("time", 1)
    times = np.asarray(iso_times(da["time"].values), dtype=object) if "time" in da.dims else None
    block = max(1, 2_000_000 // max(da.size // steps, 1))  # values held in memory at once
    rows = 0
    handle.write(",".join(columns) + "\n")
    for first in range(0, steps, block):
        part = da.isel(time=slice(first, first + block)) if times is not None else da
        values = np.asarray(part.values)
        keep = np.isfinite(values)
        frame = {}
        for name in columns[:-1]:
            if name == "time":
                labels = times[first : first + part.sizes["time"]]
                frame[name] = _spread(labels, ("time",), part)[keep]
            else:
                coord = part[sources.get(name, name)]
                frame[name] = _spread(coord.values, coord.dims, part)[keep]
        frame["value"] = values[keep]
        pd.DataFrame(frame, columns=columns).to_csv(handle, header=False, index=False)
        rows += int(keep.sum())
    return rows


def _spread(values: Any, dims: tuple[str, ...], like: xr.DataArray) -> np.ndarray:
    """``values`` on ``dims`` broadcast to the shape and dim order of ``like``."""
    order = [d for d in like.dims if d in dims]
    arranged = np.transpose(np.asarray(values), [dims.index(d) for d in order])
    expand = tuple(slice(None) if d in dims else None for d in like.dims)
    return np.broadcast_to(arranged[expand], like.shape)


# -- NetCDF ---------------------------------------------------------------------------------


def write_netcdf(
    data: xr.DataArray | xr.Dataset,
    output: pathlib.Path | None = None,
    *,
    attrs: dict[str, Any] | None = None,
    history: str | None = None,
) -> bytes | None:
    """Write ``data`` as CF-1.8 NetCDF-4: the export's subset and every download's data.

    ``attrs`` (the source's own description: title, institution, references...) go under
    the data's; ``history`` is appended to the ``history`` attribute with a UTC time stamp.
    The variables the data's attributes name (``bounds``, ``grid_mapping``, ``cell_measures``,
    ``coordinates``, ``formula_terms``) travel with it, cut to it, and values still the
    source's keep its time units and calendar, packing and fill values
    (:func:`data_adapters.cf_export.netcdf_ready`); attributes the subset made stale
    (``actual_range``, references to absent variables) and display ones (``color``) are
    dropped. Coordinates get their CF ``axis`` attributes, other floats NaN as
    ``_FillValue`` (coordinates none), data variables are compressed.
    Written beside ``output`` and renamed at the end (a failed write leaves nothing under
    that name); with no ``output`` the file's bytes are returned.
    """
    import datetime
    import tempfile

    ds = data.to_dataset(name=str(data.name or "value")) if isinstance(data, xr.DataArray) else data
    # a new dataset: the attrs set below must not leak into the opened source
    with cf_time.unpadded_years_quietly():  # times are decoded lazily, some of them here
        ds = cf_export.netcdf_ready(ds)
    if "lon" in ds.coords and ds["lon"].ndim == 1:
        ds["lon"].attrs["axis"] = "X"
    if "lat" in ds.coords and ds["lat"].ndim == 1:
        ds["lat"].attrs["axis"] = "Y"
    if "time" in ds.coords:
        ds["time"].attrs.setdefault("standard_name", "time")
        if "time" in ds.dims:
            ds["time"].attrs.setdefault("axis", "T")
    ds.attrs = {**(attrs or {}), **ds.attrs}
    if history:
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        line = f"{stamp} {history}"
        previous = str(ds.attrs.get("history", "")).strip()
        ds.attrs["history"] = f"{line}\n{previous}" if previous else line
    ds.attrs["Conventions"] = "CF-1.8"
    if output is None:
        with tempfile.TemporaryDirectory() as folder, cf_time.unpadded_years_quietly():
            path = pathlib.Path(folder) / "data.nc"
            ds.to_netcdf(path)
            return path.read_bytes()
    partial = output.with_name(output.name + ".part")
    try:
        with cf_time.unpadded_years_quietly():
            ds.to_netcdf(partial)
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)
    return None


# -- matched pairs of observations and a model (``ocean-explorer collocate``) ---------------
def write_pairs_csv(pairs: Any, path_or_buffer: str | pathlib.Path | TextIO) -> int:
    """Write collocated pairs (a DataFrame of :func:`components.core.collocate.collocate`)
    as CSV: its columns in order, times ISO 8601, missing values empty; returns the rows."""
    own = isinstance(path_or_buffer, str | os.PathLike)
    handle = open(path_or_buffer, "w", newline="") if own else path_or_buffer  # noqa: SIM115
    try:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(list(pairs.columns))
        columns = []
        for name in pairs.columns:
            values = pairs[name].to_numpy()
            if values.dtype.kind == "M":
                columns.append(iso_times(values))
            elif values.dtype.kind == "f":
                columns.append([_value_text(v) for v in values])
            else:
                columns.append([str(v) for v in values])
        writer.writerows(zip(*columns, strict=True))
    finally:
        if own:
            handle.close()
    return len(pairs)
