"""Faithful CF exports: the variables a source's attributes name travel with its subsets.

A CF variable names others in its attributes (``bounds``, ``grid_mapping``, ``cell_measures``,
``coordinates``, ``formula_terms``...). The data contract keeps only gridded variables, so
:func:`attach_references` and :func:`detach_references` (called by ``normalize``) carry
those named variables through the contract's reordering and store them in each data
variable's ``encoding`` under :data:`CF_REFERENCES`: they follow the variable through
``isel``/``sel`` and are lost by arithmetic (a derived field is not the source's).
:func:`netcdf_ready` then cuts them to the exported subset and restores the source's time
units, calendar, packing and fill values, dropping attributes that the subset made stale.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import numpy as np
import xarray as xr

#: Key of a data variable's ``encoding`` holding the variables its attributes name.
CF_REFERENCES = "cf_references"
#: Key of a dataset's ``encoding`` listing the names attached while it is normalised.
_ATTACHED = "cf_references_attached"
#: Attributes whose value names other variables of the file (CF 1.8).
REFERENCING = (
    "bounds",
    "climatology",
    "grid_mapping",
    "cell_measures",
    "coordinates",
    "formula_terms",
    "ancillary_variables",
)
#: Attributes true of the whole source only: a subset (or re-encoding) makes them wrong.
STALE = ("actual_range",)
#: Time units CF 1.8 (UDUNITS) reads; others (such as nanoseconds) are replaced.
_CF_TIME_UNITS = re.compile(
    r"^\s*(days?|d|hours?|hrs?|h|minutes?|mins?|seconds?|secs?|s)\s+since\s+", re.IGNORECASE
)
#: Time encoding when the source's is unknown or not CF: exact for any step of a minute or
#: more, and valid in every calendar.
DEFAULT_TIME_UNITS = "days since 1970-01-01 00:00:00"
#: The contract's dims along which a named variable is cut to the subset.
_CONTRACT_DIMS = ("scenario", "member", "time", "depth", "lat", "lon", "y", "x")


def referenced_names(attrs: dict[str, Any]) -> dict[str, list[str]]:
    """Names of variables each referencing attribute of ``attrs`` names, by attribute.

    ``grid_mapping = "crs: x y"`` and ``cell_measures = "area: cell_area"`` give the names
    before and after the colon respectively; ``formula_terms = "s: s_rho C: Cs_r"`` the
    names after each colon.
    """
    found: dict[str, list[str]] = {}
    for key in REFERENCING:
        value = attrs.get(key)
        if not isinstance(value, str) or not value.strip():
            continue
        words = value.split()
        if key in ("cell_measures", "formula_terms"):
            names = [w for k, w in itertools.pairwise(words) if k.endswith(":")]
        elif key == "grid_mapping" and ":" in value:
            names = [w.rstrip(":") for w in words if w.endswith(":")]
        else:
            names = words
        found[key] = names
    return found


def _names_of(var: xr.Variable | xr.DataArray) -> set[str]:
    merged = {**var.encoding, **var.attrs}
    return {n for names in referenced_names(merged).values() for n in names}


def attach_references(raw: xr.Dataset, out: xr.Dataset) -> xr.Dataset:
    """``out`` with the variables of ``raw`` that its variables name (recursively) as
    coordinates, so that the contract's sorting and cutting apply to them too."""
    wanted: dict[str, xr.Variable] = {}
    todo = [n for v in out.variables.values() for n in _names_of(v)]
    while todo:
        name = todo.pop()
        if name in wanted or name in out.variables or name not in raw.variables:
            continue
        wanted[name] = raw.variables[name]
        todo.extend(_names_of(raw.variables[name]))
    if not wanted:
        return out
    out = out.assign_coords(wanted)
    out.encoding[_ATTACHED] = list(wanted)
    return out


def detach_references(out: xr.Dataset) -> xr.Dataset:
    """``out`` without the variables :func:`attach_references` added; each data variable
    keeps those it names, attached ones or other data variables (ROMS's ``formula_terms``
    name ``zeta``), in ``encoding[CF_REFERENCES]`` (a small lazy Dataset)."""
    names = [n for n in out.encoding.pop(_ATTACHED, []) if n in out.variables]
    pool = out.reset_coords(names) if names else out
    out = out.drop_vars(names)
    for name in out.data_vars:
        da = out[name]
        needed: set[str] = set()
        todo = [n for v in (da, *da.coords.values()) for n in _names_of(v)]
        while todo:
            ref = todo.pop()
            if ref in pool.data_vars and ref != name and ref not in needed:
                needed.add(ref)
                todo.extend(_names_of(pool[ref]))
        if needed:
            da.encoding = {**da.encoding, CF_REFERENCES: pool[sorted(needed)]}
    return out


# -- cutting the named variables to a subset -------------------------------------------------


def _yx_block(refs: xr.Dataset, data: xr.Dataset) -> dict[str, Any] | None:
    """Positions along (y, x) of ``refs`` of the subset's cells, found by their lat/lon."""
    if "lat" not in refs.coords or refs["lat"].dims != ("y", "x") or "lat" not in data.coords:
        return None
    lat, lon = np.asarray(refs["lat"].values), np.asarray(refs["lon"].values)
    sub_lat = data["lat"].transpose(*[d for d in ("y", "x") if d in data["lat"].dims])
    sub_lon = data["lon"].transpose(*sub_lat.dims)
    shape = [data.sizes[d] if d in data["lat"].dims else 1 for d in ("y", "x")]
    want_lat = np.asarray(sub_lat.values).reshape(shape)
    want_lon = np.asarray(sub_lon.values).reshape(shape)
    rows, cols = np.nonzero((lat == want_lat[0, 0]) & (lon == want_lon[0, 0]))
    for j, i in zip(rows, cols, strict=True):
        block = (slice(j, j + shape[0]), slice(i, i + shape[1]))
        same_lat = lat[block].shape == want_lat.shape and np.array_equal(
            lat[block], want_lat, equal_nan=True
        )
        if same_lat and np.array_equal(lon[block], want_lon, equal_nan=True):
            return {
                d: (np.arange(s.start, s.stop) if d in data["lat"].dims else s.start)
                for d, s in zip(("y", "x"), block, strict=True)
            }
    return None


def _positions(refs: xr.Dataset, data: xr.Dataset) -> dict[str, Any] | None:
    """Indexers taking ``refs`` (on the source's contract dims) to the subset ``data``."""
    index: dict[str, Any] = {}
    for dim in _CONTRACT_DIMS:
        if dim not in refs.dims:
            continue
        if dim in ("y", "x") and dim not in refs.indexes:
            continue  # found below from lat/lon
        if dim in data.dims or dim in data.coords:
            if dim not in refs.indexes or dim not in data.coords:
                if dim in data.dims and data.sizes[dim] == refs.sizes[dim]:
                    continue  # the whole axis
                return None
            wanted = np.atleast_1d(data[dim].values)
            found = refs.indexes[dim].get_indexer(wanted)
            if (found < 0).any():
                return None
            index[dim] = found if dim in data.dims else int(found[0])
        elif dim in ("scenario", "member"):
            index[dim] = 0
    if {"y", "x"} & set(refs.dims) - set(refs.indexes):
        block = _yx_block(refs, data)
        if block is None:
            return None
        index.update(block)
    return index


def references_for(data: xr.Dataset) -> tuple[dict[str, xr.Variable], set[str]]:
    """The variables the data variables of ``data`` name, cut to ``data``: (name -> variable,
    the names that ``coordinates`` attributes give)."""
    found: dict[str, xr.Variable] = {}
    as_coords: set[str] = set()
    for da in data.data_vars.values():
        refs = da.encoding.get(CF_REFERENCES)
        if not isinstance(refs, xr.Dataset):
            continue
        index = _positions(refs, data)
        if index is None:
            continue
        cut = refs.isel(index)
        for name, var in cut.data_vars.items():
            if name not in data.variables:
                found[str(name)] = var.variable
        for v in (da, *da.coords.values(), *cut.data_vars.values()):
            merged = {**v.encoding, **v.attrs}
            as_coords |= set(referenced_names(merged).get("coordinates", []))
    return found, as_coords


# -- encodings and attributes ----------------------------------------------------------------


def _is_time(var: xr.Variable) -> bool:
    if np.issubdtype(var.dtype, np.datetime64):
        return True
    return var.dtype == object and var.size > 0 and hasattr(var.values.flat[0], "calendar")


def _time_encoding(var: xr.Variable, parent: xr.Variable | None) -> dict[str, Any]:
    """The source's units, calendar and type of a time variable, or a CF-valid one."""
    source = (parent if parent is not None else var).encoding
    units = source.get("units")
    if not isinstance(units, str) or not _CF_TIME_UNITS.match(units):
        units = DEFAULT_TIME_UNITS
    # the same reference date with its year padded (HadISST's "since 1-1-1"): xarray warns
    # on the short form every time it encodes
    units = re.sub(r"since (\d{1,3})-", lambda m: f"since {int(m.group(1)):04d}-", units)
    calendar = source.get("calendar")
    if calendar is None:
        values = var.values.flat[0] if var.size else None
        calendar = getattr(values, "calendar", "") or "standard"
    if calendar == "gregorian":  # the same calendar, by the name CF prefers (not proleptic)
        calendar = "standard"
    dtype = np.dtype(source.get("dtype", "float64"))
    if dtype.kind not in "fi" or dtype.itemsize > 8 or (dtype.kind == "i" and dtype.itemsize > 4):
        dtype = np.dtype("float64")  # CF 1.8 has no 64-bit integers
    return {"units": units, "calendar": calendar, "dtype": dtype, "_FillValue": None}


def _value_encoding(var: xr.Variable, compress: bool) -> dict[str, Any]:
    """The source's packing and fill values when the values are still the source's."""
    source = var.encoding
    stored = np.dtype(source.get("dtype", var.dtype))
    keys = ("scale_factor", "add_offset", "_FillValue", "missing_value")
    kept = {k: source[k] for k in keys if k in source}
    encoding: dict[str, Any] = {"zlib": True, "complevel": 4} if compress else {}
    if var.dtype.kind == "f" and stored.kind in "iu":
        masked = "_FillValue" in kept or "missing_value" in kept
        if "scale_factor" in kept or "add_offset" in kept or masked:
            if not masked:  # no data (a valid range applied) needs a fill value in integers
                from netCDF4 import default_fillvals

                kept["_FillValue"] = np.array(default_fillvals[stored.str[1:]], stored)[()]
            return {**encoding, "dtype": stored, **kept}
    if var.dtype.kind == "f":
        # a source with only missing_value (1e20) writes it as the fill value too: xarray
        # refuses two different ones
        fill = kept.get("_FillValue", kept.get("missing_value", np.nan)) if compress else None
        encoding["_FillValue"] = None if fill is None else np.array(fill, var.dtype)[()]
        if compress and "missing_value" in kept:
            encoding["missing_value"] = np.array(kept["missing_value"], var.dtype)[()]
    return encoding


def _fresh_attrs(ds: xr.Dataset, name: str) -> dict[str, Any]:
    """``name``'s attributes less those the subset made stale or that name absent
    variables."""
    var = ds[name]
    attrs = {k: v for k, v in var.attrs.items() if k not in STALE and k != "color"}
    if isinstance(attrs.get("time"), str):
        attrs.pop("time")  # ROMS's time="ocean_time": not CF, and names a renamed variable
    for key, names in referenced_names(attrs).items():
        if key == "coordinates" or any(n not in ds.variables for n in names):
            attrs.pop(key)  # xarray writes ``coordinates`` from the coordinates it has
    in_memory = var.chunks is None and var.size and var.dtype.kind in "fiu"
    values = np.asarray(var.values, dtype=float) if in_memory else None
    if values is not None and np.isfinite(values).any():
        low = attrs.get("valid_min", np.ravel(attrs.get("valid_range", [None]))[0])
        high = attrs.get("valid_max", np.ravel(attrs.get("valid_range", [None, None]))[-1])
        below = low is not None and np.nanmin(values) < float(np.ravel(low)[0])
        above = high is not None and np.nanmax(values) > float(np.ravel(high)[0])
        if below or above:
            for key in ("valid_min", "valid_max", "valid_range"):
                attrs.pop(key, None)
    return attrs


def _wrap_like(bounds: xr.Variable, centres: xr.Variable) -> xr.Variable:
    """Longitude bounds shifted by whole turns to surround their (wrapped) centres."""
    b = np.asarray(bounds.values, dtype=float)
    c = np.asarray(centres.values, dtype=float)[..., None]
    shifted = b + 360.0 * np.round((c - b.mean(axis=-1, keepdims=True)) / 360.0)
    return bounds.copy(data=shifted.astype(bounds.dtype))


def _as_in_source(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with the axes the source stored as scalars scalar again, and ``cell_methods``
    naming the source's names of renamed axes (NEMO's ``time_counter: mean``) by the names
    the file now has."""
    single = [str(d) for d in ("time", "depth") if d in ds.dims and ds.sizes[d] == 1]
    scalar = {d for d in single if ds[d].encoding.get("source_scalar")}
    for var in ds.data_vars.values():  # dims the source's variable did not have
        shape = var.encoding.get("original_shape")
        added = var.ndim - len(shape) if isinstance(shape, tuple) else 0
        if added > 0 and added == len([d for d in single if d in var.dims]):
            scalar.update(d for d in single if d in var.dims)
    out = ds.squeeze(sorted(scalar)) if scalar else ds
    renamed = {
        str(v.encoding["source_name"]): str(n)
        for n, v in out.coords.items()
        if v.encoding.get("source_name")
    }
    for var in out.variables.values():
        methods = var.attrs.get("cell_methods")
        if isinstance(methods, str):
            for old, new in renamed.items():
                methods = re.sub(rf"(?<![\w]){re.escape(old)}:", f"{new}:", methods)
            var.attrs["cell_methods"] = methods
    return out


def netcdf_ready(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with the variables its data variables name, each with the encoding that
    writes it as the source wrote it (``to_netcdf`` then needs no ``encoding``)."""
    ds = _as_in_source(ds)
    # a grid mapping is a variable of its own, not a coordinate the data list (CF 5.6)
    mappings = {str(v.attrs.get("grid_mapping")) for v in ds.data_vars.values()}
    ds = ds.reset_coords([n for n in mappings if n in ds.coords])
    refs, as_coords = references_for(ds)
    extra = {n: v for n, v in refs.items() if n not in as_coords}
    coords = {n: v for n, v in refs.items() if n in as_coords}
    out = ds.assign(extra).assign_coords(coords) if refs else ds.copy()
    parents = {}
    for name, var in out.variables.items():
        for key in ("bounds", "climatology"):
            target = var.attrs.get(key)
            if isinstance(target, str) and target in out.variables:
                parents[target] = name
    encoding: dict[str, dict[str, Any]] = {}
    for name in list(out.variables):
        var = out.variables[name]
        parent = out.variables[parents[name]] if name in parents else None
        if parent is not None and str(parents[name]) == "lon" and var.dtype.kind == "f":
            out[name] = _wrap_like(var, parent)  # cells across the dateline keep theirs
        elif parent is not None and not _brackets(var, parent):
            out = out.drop_vars(name)  # e.g. bounds in cm of a depth now in metres
            continue
        if _is_time(var) and parent is not None and _is_time(parent):
            # CF 7.1: bounds carry no units of their own; they are the parent's
            encoding[str(name)] = _time_encoding(var, parent)
            out[name] = _as_numbers(var, encoding[str(name)])
        elif _is_time(var):
            encoding[str(name)] = _time_encoding(var, None)
        else:
            encoding[str(name)] = _value_encoding(var, compress=name in ds.data_vars)
        if name in refs and name not in coords:
            encoding[str(name)]["coordinates"] = None  # bounds and grid mappings name none
        if name in refs and var.ndim == 0 and var.dtype.kind in "SUO":
            out[name] = var.copy(data=np.int32(0))  # a grid mapping's value is never read
    for name in list(out.variables):
        out[name].attrs = _fresh_attrs(out, str(name))
        out[name].encoding = encoding[str(name)]
    return out


def _brackets(bounds: xr.Variable, centres: xr.Variable) -> bool:
    """Whether numeric bounds of a 1-D coordinate still surround its values (others, such
    as times or the cells of a tripolar grid's fold, are not checked)."""
    if bounds.dtype.kind not in "fiu" or centres.dtype.kind not in "fiu" or centres.ndim > 1:
        return True
    if bounds.ndim != centres.ndim + 1 or bounds.shape[:-1] != centres.shape:
        return False
    b = np.asarray(bounds.values, dtype=float)
    c = np.asarray(centres.values, dtype=float)
    inside = (b.min(axis=-1) <= c) & (c <= b.max(axis=-1))
    return bool(inside[np.isfinite(c)].all())


def _as_numbers(var: xr.Variable, encoding: dict[str, Any]) -> xr.Variable:
    """Times as numbers in ``encoding``'s units and calendar (the encoding then keeps only
    their type)."""
    from xarray.coding.times import encode_cf_datetime

    numbers, _, _ = encode_cf_datetime(var.values, encoding.pop("units"), encoding.pop("calendar"))
    return xr.Variable(var.dims, np.asarray(numbers, dtype=encoding["dtype"]), var.attrs)
