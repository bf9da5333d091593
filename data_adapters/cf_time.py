"""CF time axes and scalar coordinates: the true time of a source on a ``time`` axis.

A source's time is found by its CF attributes and decoded values, not by its name: NEMO/XIOS
files carry a unit-less ``time_counter`` index beside the real time, ``time_centered``; a
profile climatology or a model snapshot stores its one time (and depth) as a scalar. Each
becomes the contract's ``time`` (and ``depth``) axis, of length 1 for a scalar, and the steps of
a multi-file run are put in time order or refused when they repeat or overlap, never merged
silently (DESIGN.md §2).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import xarray as xr

from .errors import SourceError

log = logging.getLogger(__name__)

#: Standard names of a time that is not the time of the data (kept as they are).
_OTHER_TIMES = ("forecast_reference_time", "forecast_period")


def is_decoded(values: Any) -> bool:
    """True for decoded times: ``datetime64`` values or cftime dates (any calendar)."""
    values = np.asarray(values)
    if values.dtype.kind == "M":
        return True
    return values.dtype == object and values.size > 0 and hasattr(values.flat[0], "calendar")


def _cf_identified(var: xr.Variable) -> bool:
    return var.attrs.get("standard_name") == "time" or var.attrs.get("axis") == "T"


def _bounds_names(ds: xr.Dataset) -> set[str]:
    return {str(v.attrs["bounds"]) for v in ds.variables.values() if "bounds" in v.attrs}


def _holds_dates(var: xr.Variable) -> bool:
    """True when ``var`` is decoded; reads at most one value (xarray decodes lazily)."""
    if var.dtype.kind == "M":
        return True
    return var.dtype == object and is_decoded(var.values if var.ndim == 0 else var[:1].values)


def _candidates(ds: xr.Dataset) -> list[str]:
    """Variables that may be the data's time, best first."""
    skip = _bounds_names(ds)
    found = []
    for name, var in ds.variables.items():
        if name in skip or var.ndim > 1 or var.attrs.get("standard_name") in _OTHER_TIMES:
            continue
        cf = _cf_identified(var)
        if var.ndim == 0 and not cf:
            continue  # a scalar counts only when CF says it is the time (not ROMS' 'dstart')
        decoded = _holds_dates(var)
        if cf or decoded:
            dated = decoded or "since" in str(var.attrs.get("units", ""))
            rank = (not decoded, not dated, not cf, var.ndim == 0, name not in ds.dims)
            found.append((*rank, name not in ds.coords, str(name)))
    return [key[-1] for key in sorted(found)]


def _undated(ds: xr.Dataset, name: str, source: str) -> xr.Dataset:
    """Leave out a time that cannot be dated (units 'second' with no reference date)."""
    var = ds[name]
    units = var.attrs.get("units")
    fix = "give it CF units such as 'seconds since 2000-01-01 00:00:00' and a calendar"
    if "since" in str(units):  # xarray read the file without decoding its times
        raise SourceError(f"{source}: the time '{name}' (units '{units}') is not decoded; {fix}")
    if var.ndim == 1 and var.size > 1:
        raise SourceError(
            f"{source}: the time '{name}' has units '{units}' with no reference date, so its "
            f"{var.size} steps cannot be dated; {fix}"
        )
    log.warning("%s: the time '%s' (units '%s') has no reference date and is not shown; %s",
                source, name, units, fix)  # fmt: skip
    dim = var.dims[0] if var.ndim else None
    ds = ds.drop_vars(name)
    return ds.isel({dim: 0}, drop=True) if dim in ds.dims else ds


def time_axis(ds: xr.Dataset, source: str = "dataset") -> xr.Dataset:
    """``ds`` with its CF time as the coordinate ``time`` on the dimension ``time``.

    The time is the decoded one that CF names (``standard_name: time`` or ``axis: T``),
    preferring the dimension's own coordinate; a unit-less index such as NEMO's
    ``time_counter`` gives way to ``time_centered`` and is dropped. A scalar time becomes a
    length-1 axis. A dataset without a time is returned unchanged.

    Raises
    ------
    SourceError
        When the only time has several steps and no reference date (units ``second``).
    """
    names = _candidates(ds)
    if not names:
        return ds
    name = names[0]
    var = ds[name]
    if not _holds_dates(var):
        return _undated(ds, name, source)
    if var.ndim == 1:
        dim = var.dims[0]
        if dim != name:
            ds = ds.swap_dims({dim: name})
            if dim in ds.variables and not is_decoded(ds[dim].values):
                ds = ds.drop_vars(dim)  # the unit-less counter the real time replaces
    if name != "time":
        ds = ds.drop_vars([v for v in ("time",) if v in ds.variables]).rename({name: "time"})
        ds["time"].encoding["source_name"] = name  # an export names it so in cell_methods
    if ds["time"].ndim == 0:
        ds = as_axis(ds, "time")
    ds["time"].attrs.update(standard_name="time", axis="T")
    return ds


def as_axis(ds: xr.Dataset, name: str) -> xr.Dataset:
    """``ds`` with the scalar coordinate ``name`` as a length-1 axis of its data variables
    (and of the coordinate's own bounds); other coordinates' bounds keep their shape. The
    coordinate is marked ``encoding["source_scalar"]``: an export writes it as a scalar again,
    as the source did."""
    own = {name, ds[name].attrs.get("bounds")}
    keep = {n: ds[n] for n in _bounds_names(ds) - own if n in ds.variables}
    encoding = dict(ds[name].encoding)
    out = ds.expand_dims(name).assign(keep)
    out[name].encoding.update(encoding, source_scalar=True)
    return out


def _is_vertical(var: xr.Variable) -> bool:
    attrs = var.attrs
    if attrs.get("standard_name") == "depth" or str(attrs.get("positive", "")).lower() == "down":
        return True
    return attrs.get("axis") == "Z" and "positive" in attrs


def scalar_depth(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with a scalar depth coordinate (a model level of one map) as a length-1 axis,
    when no other vertical axis is present."""
    vertical = [str(n) for n, v in ds.variables.items() if _is_vertical(v)]
    if not vertical or any(ds[n].ndim == 1 and n in ds.dims for n in vertical):
        return ds
    scalars = [n for n in vertical if ds[n].ndim == 0 and n not in _bounds_names(ds)]
    return as_axis(ds, scalars[0]) if scalars else ds


def axes(ds: xr.Dataset, source: str = "dataset") -> xr.Dataset:
    """``ds`` with its time (:func:`time_axis`) and a scalar depth (:func:`scalar_depth`) as
    axes: what :func:`data_adapters.contract.normalize` asks of this module first."""
    return scalar_depth(time_axis(ds, source))


def ordered_steps(ds: xr.Dataset, source: str = "dataset") -> xr.Dataset:
    """``ds`` with its time steps in increasing order.

    Raises
    ------
    SourceError
        When a time step repeats: which one is right cannot be known.
    """
    if "time" not in ds.dims or ds.sizes["time"] < 2:
        return ds
    index = ds.indexes["time"]
    if index.has_duplicates:
        twice = index[index.duplicated()][0]
        raise SourceError(
            f"{source}: the time step {time_text(twice)} appears more than once; keep one "
            "copy of each step (split or cut the file)"
        )
    return ds if index.is_monotonic_increasing else ds.sortby("time")


def time_text(value: Any) -> str:
    """ISO text of one time value (datetime64 or cftime of any calendar), to the second."""
    if hasattr(value, "isoformat"):
        return str(value.isoformat()).split(".")[0]
    return str(np.datetime_as_string(np.datetime64(value, "s"), unit="s"))


def concat_runs(parts: Sequence[xr.Dataset], files: Sequence[str], source: str) -> xr.Dataset:
    """The files of a run (each already through :func:`time_axis`) joined along time, in
    time order whatever their names.

    Raises
    ------
    SourceError
        When two files hold the same time step or their periods overlap, naming both files.
    """
    spans = []
    for part, path in zip(parts, files, strict=True):
        values = part.indexes["time"]
        spans.append((values.min(), values.max(), path, part))
    spans.sort(key=lambda span: span[0])
    for (_, last, before, _), (first, _, after, _) in itertools.pairwise(spans):
        if first <= last:
            raise SourceError(
                f"{source}: the files {before} and {after} overlap in time ({time_text(first)} "
                f"is in both periods); a run's files must hold successive steps, so give "
                "the files of one run only"
            )
    options = {"data_vars": "minimal", "coords": "minimal", "compat": "override", "join": "outer"}
    return xr.concat([span[3] for span in spans], dim="time", **options)


@contextlib.contextmanager
def unpadded_years_quietly() -> Iterator[None]:
    """Silence xarray's two-line warning on reference dates such as HadISST's "hours since
    1-1-1": the year is read right (0001), and the warning is all a user would see. Times are
    decoded lazily, so reading (an export) needs it as much as opening."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", "Ambiguous reference date string", xr.SerializationWarning
        )
        yield
