"""Vertical axes of every kind onto the contract's ``depth`` dimension, labelled in their own units.

The contract's ``depth`` dimension (DESIGN.md §2) holds one of four kinds of axis, told
apart by the ``units`` of its coordinate:

- **metres** (``units: m``, positive down): depth levels; heights positive up that are all
  at or below the surface (ROMS' ``z``) become depths;
- **pressure** (``Pa``, ``hPa``; positive down): atmospheric levels, labelled ``850 hPa``;
- **height** (``units: m``, ``positive: up``, values above the surface): labelled
  ``1500 m height``;
- **levels** (``units: 1``): model levels counted from the top, ``level 0``. CF parametric
  ocean coordinates (s-coordinates, g1, g2; sigma) become levels with a ``depth_m``
  coordinate: each cell's depth in metres below the sea surface, computed lazily from the
  formula terms, varying with bathymetry and sea level. A vertical axis whose units say
  nothing known, or a dimension without attributes beside the horizontal ones, is kept as
  levels with a notice (logged, and in the coordinate's ``comment``) instead of dropping
  its variables.

The formulas are ours rather than cf_xarray's ``decode_vertical_coords`` (0.11.3): that
one needs ``standard_name`` on the ``eta`` and ``depth`` terms, which ROMS and CROCO files
lack, and its g1 form multiplies ``eta`` by ``1 + s/depth`` where CF says ``1 + S/depth``.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import xarray as xr

log = logging.getLogger(__name__)

#: Name of the coordinate holding each cell's depth (m, positive down) on a levels axis.
DEPTH_M = "depth_m"

#: Vertical length units converted to metres (factor).
LENGTH_UNITS = {
    "m": 1.0, "meter": 1.0, "meters": 1.0, "metre": 1.0, "metres": 1.0,
    "cm": 0.01, "centimeters": 0.01, "km": 1000.0, "kilometers": 1000.0,
    "dbar": 1.0,  # pressure in decibar is within ~1 % of depth in metres in the upper ocean
}  # fmt: skip
#: Atmospheric pressure units kept as they are (their spelling in labels).
PRESSURE_UNITS = {"pa": "Pa", "hpa": "hPa", "mbar": "hPa", "millibar": "hPa", "mb": "hPa"}
#: Units of an axis of level numbers.
LEVEL_UNITS = "1"

#: Parametric ocean coordinates we compute depths for, and the terms each needs.
_PARAMETRIC = {
    "ocean_s_coordinate_g1": ("s", "c", "depth", "depth_c"),
    "ocean_s_coordinate_g2": ("s", "c", "depth", "depth_c"),
    "ocean_sigma_coordinate": ("sigma", "depth"),
    "ocean_s_coordinate": ("s", "a", "b", "depth", "depth_c"),  # SCRUM's original form
}
#: Attributes the source's s-values lose once they are no longer the axis: without their
#: formula terms beside them, a parametric standard_name would be a claim nobody can use.
_PARAMETRIC_ATTRS = ("formula_terms", "axis", "standard_name")
#: What the levels of each kind of parametric coordinate are called in labels.
_LEVEL_NAMES = {
    "ocean_s_coordinate_g1": "s-coordinate",
    "ocean_s_coordinate_g2": "s-coordinate",
    "ocean_sigma_coordinate": "sigma coordinate",
    "ocean_s_coordinate": "s-coordinate",
}


def normalize_axis(ds: xr.Dataset, name: str | None, source: str) -> xr.Dataset:
    """``ds`` with its vertical axis ``name`` (None: look for one without attributes) as
    the ``depth`` dimension of one of the kinds of this module, levels from the top.

    Runs after the horizontal axes are ``lat``/``lon`` or ``y``/``x`` and time is ``time``.
    """
    if name is None or name not in ds.variables or ds[name].ndim != 1:
        return _unlabelled(ds, source)
    var = ds[name]
    std = str(var.attrs.get("standard_name", ""))
    if std in _PARAMETRIC:
        depths = _parametric_depths(ds, name, std, source)
        if depths is not None:
            return _as_levels(ds, name, _LEVEL_NAMES[std], depths=depths)
    units = str(var.attrs.get("units", "")).strip()
    key = units.lower()
    if key == LEVEL_UNITS or std == "model_level_number":
        # level numbers (a prepared store's s-levels, a UM model_level_number): as they are
        named = str(var.attrs.get("long_name", ""))
        return _as_levels(ds, name, named if named.startswith("level") else "level", own=True)
    if key in PRESSURE_UNITS:
        return _as_pressure(ds, name, PRESSURE_UNITS[key])
    if not units:
        return _without_units(ds, name)
    if key in LENGTH_UNITS:
        return _as_length(ds, name, LENGTH_UNITS[key])
    return _as_levels(ds, name, "level", notice=f"'{name}' has units '{units}'")


def _without_units(ds: xr.Dataset, name: str) -> xr.Dataset:
    """An axis without units: metres when its name says depth (NEMO's ``deptht`` stripped
    of attributes), else levels with a notice (HYCOM's ``lev`` 1..n, s-values)."""
    var = ds[name]
    values = np.asarray(var.values, dtype="float64")
    said = f"{name} {var.attrs.get('long_name', '')} {var.attrs.get('standard_name', '')}"
    fractions = values.size and np.all(np.abs(values) <= 1) and np.any(values % 1)
    if "dep" in said.lower() and not fractions:
        return _as_length(ds, name, 1.0)
    whole = bool(values.size) and not np.any(values % 1)
    return _as_levels(ds, name, "level", notice=f"'{name}' has no units", own=whole)


# -- the kinds of axis ----------------------------------------------------------------------
def _to_depth_dim(ds: xr.Dataset, name: str) -> xr.Dataset:
    dim = ds[name].dims[0]
    if name != dim:
        ds = ds.swap_dims({dim: name})
    if "depth" in ds.variables and name != "depth":
        ds = ds.drop_vars("depth")
    return ds.rename({name: "depth"}) if name != "depth" else ds


def _as_length(ds: xr.Dataset, name: str, factor: float) -> xr.Dataset:
    var = ds[name]
    values = np.asarray(var.values, dtype="float64") * factor
    positive = str(var.attrs.get("positive", "")).lower()
    height = positive == "up" and values.size and np.nanmax(values) > 0
    if not height and (positive == "up" or (positive != "down" and (values <= 0).all())):
        values = -values
    attrs = (
        {"units": "m", "positive": "up", "standard_name": "height", "long_name": "height"}
        if height
        else {
            "units": "m",
            "positive": "down",
            "standard_name": "depth",
            "long_name": "depth below sea surface",
        }
    )
    ds = _to_depth_dim(ds, name).assign_coords(depth=("depth", values, {**attrs, "axis": "Z"}))
    if values.size > 1 and not (np.diff(values) > 0).all():
        ds = ds.sortby("depth", ascending=not height)  # the top first
    return ds


def _as_pressure(ds: xr.Dataset, name: str, units: str) -> xr.Dataset:
    values = np.asarray(ds[name].values, dtype="float64")
    attrs = {
        "units": units,
        "positive": "down",
        "standard_name": "air_pressure",
        "long_name": "pressure level",
        "axis": "Z",
    }
    ds = _to_depth_dim(ds, name).assign_coords(depth=("depth", values, attrs))
    return ds.sortby("depth") if values.size > 1 else ds  # the top (lowest pressure) first


def _as_levels(
    ds: xr.Dataset,
    name: str,
    what: str,
    depths: xr.DataArray | None = None,
    notice: str | None = None,
    own: bool = False,
) -> xr.Dataset:
    """Levels ``0..n-1`` from the top (``own``: the axis' own level numbers); the source's
    values stay as a coordinate ``name``."""
    var = ds[name]
    values = np.asarray(var.values, dtype="float64") if var.dtype.kind in "fiu" else None
    dim = var.dims[0]
    if depths is not None and values is not None and values.size > 1:
        # s and sigma grow upwards (-1 at the bottom, 0 at the surface): the top first
        order = np.argsort(-values, kind="stable")
        ds, depths = ds.isel({dim: order}), depths.isel({dim: order})
    numbers = values if own and values is not None else np.arange(ds.sizes[dim])
    if name == dim and own:
        ds = ds.rename({dim: "depth"}).drop_vars("depth")
    elif name == dim:
        ds = ds.rename({dim: "depth"})
        kept = ds["depth"].variable.to_base_variable()
        kept.attrs = {k: v for k, v in kept.attrs.items() if k not in _PARAMETRIC_ATTRS}
        ds = ds.drop_vars("depth").assign_coords({_source_name(name): kept})
    else:
        ds = ds.rename({dim: "depth"})
    long_name = what if what.startswith("level") else f"level ({what})"
    attrs: dict[str, Any] = {
        "units": LEVEL_UNITS,
        "positive": "down",
        "standard_name": "model_level_number",
        "long_name": long_name,
        "axis": "Z",
    }
    if notice:
        text = f"{notice}: its {ds.sizes['depth']} values are shown as levels 0.. from the top"
        attrs["comment"] = text
        log.warning("%s", text)
    ds = ds.assign_coords(depth=("depth", numbers, attrs))
    if depths is not None:
        depths = depths.rename({dim: "depth"})
        variable = depths.transpose(*_contract_order(depths.dims)).variable
        ds = ds.assign_coords({DEPTH_M: variable.to_base_variable()})
    return ds


def _source_name(name: str) -> str:
    return name if name != "depth" else "depth_source"


def _contract_order(dims: tuple[Any, ...]) -> list[Any]:
    order = ("scenario", "member", "time", "depth", "lat", "lon", "y", "x")
    return [d for d in order if d in dims]


def _horizontal_dims(ds: xr.Dataset) -> tuple[str, str]:
    return ("lat", "lon") if "lon" in ds.dims else ("y", "x")


def _unlabelled(ds: xr.Dataset, source: str) -> xr.Dataset:
    """A dimension beside the horizontal ones that no attribute names: kept as levels."""
    known = {"scenario", "member", "time", "depth", *_horizontal_dims(ds)}
    # cell bounds (NEMO's bounds_nav_lon on nvertex) are not levels
    bounds = {str(v.attrs.get("bounds")) for v in ds.variables.values() if "bounds" in v.attrs}
    counts: dict[str, int] = {}
    for name, da in ds.data_vars.items():
        if name in bounds or "bounds" in str(name) or "bnds" in str(name):
            continue
        extra = [d for d in da.dims if d not in known and da.sizes[d] > 1]
        if set(_horizontal_dims(ds)) <= set(da.dims) and len(extra) == 1:
            counts[str(extra[0])] = counts.get(str(extra[0]), 0) + 1
    if "depth" in ds.dims:
        counts = {"depth": 1} if "depth" not in ds.variables else {}
    if not counts:
        return ds
    dim = max(counts, key=lambda d: counts[d])
    numbered = dim not in ds.variables
    if numbered:
        ds = ds.assign_coords({dim: np.arange(ds.sizes[dim])})
    notice = f"{source}: dimension '{dim}' has no attributes"
    return _as_levels(ds, dim, "level", notice=notice, own=numbered)


# -- parametric ocean coordinates -----------------------------------------------------------
def _formula_terms(text: str) -> dict[str, str]:
    words = str(text).split()
    return {k.rstrip(":").lower(): v for k, v in zip(words[::2], words[1::2], strict=False)}


def _parametric_depths(ds: xr.Dataset, name: str, std: str, source: str) -> xr.DataArray | None:
    """Depth (m, positive down, below the sea surface) of every cell, lazily; None (and a
    notice) when a formula term is missing."""
    terms = _formula_terms(ds[name].attrs.get("formula_terms", ""))
    first = "sigma" if std == "ocean_sigma_coordinate" else "s"
    values: dict[str, xr.DataArray] = {}
    for term in _PARAMETRIC[std]:
        var = terms.get(term)
        if term == first and (var is None or var not in ds.variables):
            var = name  # CROCO names a variable (sc_r) it does not write: the axis itself
        if var is None or var not in ds.variables:
            log.warning("%s: '%s' lacks formula term '%s'; shown as levels", source, name, term)
            return None
        values[term] = xr.DataArray(ds[var].variable.to_base_variable())  # no coordinates
    eta_name = terms.get("eta")
    eta = xr.DataArray(ds[eta_name].variable) if eta_name in ds.variables else 0.0
    if eta_name not in ds.variables:
        log.warning("%s: '%s' has no sea level term; depths from the mean sea level", source, name)
    depth = values["depth"]
    if std == "ocean_sigma_coordinate":
        z = eta + values["sigma"] * (depth + eta)
    elif std == "ocean_s_coordinate":
        s, a, b = values["s"], values["a"], values["b"]
        c = (1 - b) * np.sinh(a * s) / np.sinh(a) + b * (
            np.tanh(a * (s + 0.5)) / (2 * np.tanh(0.5 * a)) - 0.5
        )
        z = eta * (1 + s) + values["depth_c"] * s + (depth - values["depth_c"]) * c
    else:
        s, c, depth_c = values["s"], values["c"], values["depth_c"]
        if std == "ocean_s_coordinate_g1":
            stretched = depth_c * s + (depth - depth_c) * c
            z = stretched + eta * (1 + stretched / depth)
        else:
            stretched = (depth_c * s + depth * c) / (depth_c + depth)
            z = eta + (eta + depth) * stretched
    below = (eta - z).astype("float64")
    if below.chunks is None:
        below = below.chunk()
    below.attrs = {
        "units": "m",
        "positive": "down",
        "standard_name": "depth",
        "long_name": f"depth below sea surface (from {std})",
    }
    return below


# -- reading the axis -----------------------------------------------------------------------
def kind(coord: xr.DataArray) -> str:
    """``"metres"``, ``"height"``, ``"pressure"`` or ``"levels"`` for a ``depth`` coordinate."""
    units = str(coord.attrs.get("units", ""))
    if units == LEVEL_UNITS:
        return "levels"
    if units in PRESSURE_UNITS.values():
        return "pressure"
    return "height" if coord.attrs.get("positive") == "up" else "metres"


def label(coord: xr.DataArray, value: float | None = None) -> str:
    """How one value of a ``depth`` coordinate is shown: ``50 m``, ``850 hPa``,
    ``1500 m height``, ``level 3 (s-coordinate)``. ``value``: the coordinate's own (scalar)."""
    v = float(coord.values if value is None else value)
    which = kind(coord)
    if which == "levels":
        return str(coord.attrs.get("long_name", "level")).replace("level", f"level {v:g}", 1)
    if which == "height":
        return f"{v:g} m height"
    return f"{v:g} {coord.attrs.get('units', 'm')}"


def column(coord: xr.DataArray) -> str:
    """The name of a ``depth`` coordinate's values in CSV files: ``depth`` (metres),
    ``level``, ``height`` (metres, positive up) or ``pressure_hPa``."""
    which = kind(coord)
    if which == "pressure":
        return f"pressure_{coord.attrs['units']}"
    return {"levels": "level", "height": "height"}.get(which, "depth")


#: Depths (m) offered for a map on s-coordinates (the standard depths of World Ocean Atlas).
STANDARD_DEPTHS = (
    0, 5, 10, 20, 30, 50, 75, 100, 125, 150, 200, 250, 300, 400, 500, 600, 700, 800, 900,
    1000, 1250, 1500, 2000, 2500, 3000, 3500, 4000, 4500, 5000, 5500, 6000,
)  # fmt: skip


def choices(ds: xr.Dataset) -> list[float]:
    """The depths a user can choose for a map: the axis' values, or on s-coordinates the
    standard depths (m) down to the deepest cell (its deepest level read once)."""
    if DEPTH_M not in ds.coords:
        return [float(d) for d in ds["depth"].values]
    first = {d: 0 for d in ("scenario", "member", "time") if d in ds[DEPTH_M].dims}
    deepest = ds[DEPTH_M].isel(first)
    bottom = float(deepest.isel(depth=-1).max())
    return [float(d) for d in STANDARD_DEPTHS if d <= bottom]


def choice_label(ds: xr.Dataset, value: float) -> str:
    """How a chosen ``depth`` of ``ds`` is shown: metres on s-coordinates (interpolated),
    else as :func:`label` says."""
    return f"{value:g} m" if DEPTH_M in ds.coords else label(ds["depth"], value)


def cell_parts(coord: xr.DataArray, value: float | None = None) -> tuple[str, str] | None:
    """For a value of a ``depth`` coordinate (``value``: its own, scalar) not in metres: the
    ``key=value`` of CSV cell lines and the label (``("pressure_hPa=500", "500 hPa")``,
    ``("level=0", "level 0 (s-coordinate)")``); None for metres, said ``depth=50 m``."""
    if kind(coord) == "metres":
        return None
    v = float(coord.values if value is None else value)
    return f"{column(coord)}={v:g}", label(coord, v)


def choice_parts(ds: xr.Dataset, value: float) -> tuple[str, str] | None:
    """:func:`cell_parts` of a depth chosen for ``ds`` (metres on s-coordinates)."""
    return None if DEPTH_M in ds.coords else cell_parts(ds["depth"], value)


def has_true_depths(da: xr.DataArray) -> bool:
    """True when ``da``'s levels carry each cell's depth in metres (``depth_m``)."""
    return DEPTH_M in da.coords and "depth" in da[DEPTH_M].dims


def at_depth(da: xr.DataArray, depth: float) -> xr.DataArray:
    """``da`` at ``depth`` metres below the sea surface, interpolated linearly between the
    levels of each column (lazily); above the top level's centre, the top level's value;
    below the deepest level's centre (or where the sea is shallower), no data."""
    if "depth" in da.chunksizes:
        da = da.chunk({"depth": -1})
    depths = da[DEPTH_M]
    if depths.chunks is not None:
        depths = depths.chunk({"depth": -1})
    out = xr.apply_ufunc(
        _interpolate_columns,
        da.drop_vars(DEPTH_M),
        depths.reset_coords(drop=True),
        kwargs={"target": float(depth)},
        input_core_dims=[["depth"], ["depth"]],
        dask="parallelized",
        output_dtypes=[np.result_type(da.dtype, np.float32)],
        keep_attrs=True,
    )
    attrs = {"units": "m", "positive": "down", "standard_name": "depth", "axis": "Z"}
    return out.assign_coords(depth=((), float(depth), attrs))


def _interpolate_columns(values: np.ndarray, depths: np.ndarray, target: float) -> np.ndarray:
    values, depths = np.broadcast_arrays(values, depths)
    n = values.shape[-1]
    if n == 1:
        return np.where(depths[..., 0] >= target, values[..., 0], np.nan)
    deeper = depths >= target
    upper = np.clip(np.argmax(deeper, axis=-1), 1, n - 1)[..., None]
    d0 = np.take_along_axis(depths, upper - 1, -1)[..., 0]
    d1 = np.take_along_axis(depths, upper, -1)[..., 0]
    v0 = np.take_along_axis(values, upper - 1, -1)[..., 0]
    v1 = np.take_along_axis(values, upper, -1)[..., 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = v0 + (target - d0) / (d1 - d0) * (v1 - v0)
    out = np.where(target <= depths[..., 0], values[..., 0], out)
    return np.where(deeper.any(axis=-1), out, np.nan)


def summary(ds: xr.Dataset) -> dict[str, Any]:
    """The ``depths`` (the axis' values, in its units) and ``vertical`` (kind, units, labels
    and any notice) of ``inspect``; None for a dataset without levels."""
    if "depth" not in ds.coords or ds["depth"].ndim != 1:
        return {"depths": None, "vertical": None}
    coord = ds["depth"]
    return {
        "depths": [float(d) for d in coord.values],
        "vertical": {
            "kind": kind(coord),
            "units": str(coord.attrs.get("units", "")),
            "labels": [label(coord, d) for d in coord.values],
            "true_depths": DEPTH_M in ds.coords,
            "notice": coord.attrs.get("comment"),
        },
    }


def contract_problems(ds: xr.Dataset) -> list[str]:
    """What breaks the contract in the vertical axis of ``ds`` (empty when nothing does)."""
    if "depth" not in ds.coords:
        return []
    coord = ds["depth"]
    which = kind(coord)
    problems = []
    if which == "metres" and coord.attrs.get("positive") != "down":
        problems.append("depth must be in metres, positive down")
    if which == "metres" and coord.size and float(coord.min()) < 0:
        problems.append("depth must be positive down (found negative values)")
    if which != "metres" and coord.attrs.get("units") not in (
        "m",
        LEVEL_UNITS,
        *PRESSURE_UNITS.values(),
    ):
        problems.append("depth must be in metres, pressure or levels")
    if DEPTH_M in ds.coords and ds[DEPTH_M].attrs.get("units") != "m":
        problems.append(f"'{DEPTH_M}' must be in metres")
    return problems


__all__ = [
    "DEPTH_M",
    "at_depth",
    "cell_parts",
    "choice_label",
    "choice_parts",
    "choices",
    "column",
    "contract_problems",
    "has_true_depths",
    "kind",
    "label",
    "normalize_axis",
    "summary",
]
