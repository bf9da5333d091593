"""Derived variables: ocean quantities computed lazily from the stored ones, offered beside them.

Inputs are found by their CF ``standard_name`` (never by a variable's name alone), and each
derived variable is added only where its inputs exist and the source does not already store
the quantity:

- ``speed`` (``sea_water_speed``, the inputs' units): ``hypot(u, v)`` of the eastward and
  northward sea water velocity, or of the grid's x/y components (speed does not depend on
  the grid's orientation);
- ``direction`` (``direction_of_sea_water_velocity``, degrees): where the current flows
  *towards*, clockwise from true north (oceanographic convention), from eastward and
  northward velocity only (x/y components are grid-relative: no direction from them);
- ``conservative_temperature`` (``sea_water_conservative_temperature``, °C) and
  ``sigma_theta`` (``sea_water_sigma_theta``, potential density anomaly referenced to the
  surface, kg m-3): TEOS-10 (the ``gsw`` package) from potential, in-situ or conservative
  temperature and practical (or absolute) salinity; pressure from depth and latitude
  (``gsw.p_from_z``), the surface (0 dbar) for a source without levels;
- ``mixed_layer_depth`` (``ocean_mixed_layer_thickness_defined_by_sigma_theta``, m): the
  depth where σθ first exceeds its value at 10 m by 0.03 kg m-3 (de Boyer Montégut et al.
  2004), interpolated linearly between levels; the deepest valid level where it never does.
  Needs a depth axis in metres.

Everything is dask-lazy (``xarray.apply_ufunc``): a map of a derived variable reads only the
chunks of its inputs that the map needs. :func:`with_derived` adds them to a dataset;
:func:`opened_with` gives an opened source whose dataset and point-series layout both carry
them (and user expressions, :mod:`components.core.expressions`), so every view, embed and
command sees one list of variables.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import warnings
from collections.abc import Callable, Sequence

import dask.array
import dask.array.core
import gsw
import numpy as np
import xarray as xr

from data_adapters import OpenedSource, SourceError, vertical

from . import expressions

log = logging.getLogger(__name__)

#: Reference depth (m) and σθ step (kg m-3) of the mixed-layer depth (de Boyer Montégut
#: et al. 2004, density criterion).
MLD_REFERENCE_DEPTH_M = 10.0
MLD_SIGMA_STEP = 0.03

#: True eastward/northward velocity: the CF names and their variants (``..._assuming_no_tide``,
#: ``surface_...``).
EASTWARD = ("eastward_sea_water_velocity", "surface_eastward_sea_water_velocity")
NORTHWARD = ("northward_sea_water_velocity", "surface_northward_sea_water_velocity")
GRID_X = ("x_sea_water_velocity",)
GRID_Y = ("y_sea_water_velocity",)
POTENTIAL_TEMPERATURE = ("sea_water_potential_temperature",)
INSITU_TEMPERATURE = ("sea_water_temperature",)
CONSERVATIVE_TEMPERATURE = ("sea_water_conservative_temperature",)
PRACTICAL_SALINITY = ("sea_water_practical_salinity", "sea_water_salinity")
ABSOLUTE_SALINITY = ("sea_water_absolute_salinity",)

#: Temperature units read as degrees Celsius, and as kelvin.
CELSIUS = {"degc", "celsius", "degree_c", "degree_celsius", "degrees_c", "deg_c", "°c", "c"}
KELVIN = {"k", "kelvin", "degk", "degree_k", "degrees_k"}
ZERO_CELSIUS_K = 273.15


def _find(ds: xr.Dataset, standard_names: Sequence[str]) -> xr.DataArray | None:
    """The first data variable of ``ds`` whose standard_name is one of ``standard_names`` (or,
    for velocities, one of their variants: ``eastward_sea_water_velocity_assuming_no_tide``)."""
    velocity = standard_names in (EASTWARD, NORTHWARD)
    for da in ds.data_vars.values():
        std = str(da.attrs.get("standard_name", ""))
        if std in standard_names or (velocity and std.startswith(standard_names[0])):
            return da
    return None


def velocity_names(ds: xr.Dataset) -> tuple[str, str] | None:
    """The names of the eastward and northward sea water velocity of ``ds`` (found by
    standard_name), or None without both."""
    east, north = _find(ds, EASTWARD), _find(ds, NORTHWARD)
    return None if east is None or north is None else (str(east.name), str(north.name))


def _stores(ds: xr.Dataset, standard_name: str) -> bool:
    return _find(ds, (standard_name,)) is not None


def _quiet(func: Callable) -> Callable:
    """``func`` with NaN over land and invalid arithmetic giving NaN silently."""

    @functools.wraps(func)
    def run(*args, **kwargs):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.asarray(func(*args, **kwargs), dtype=np.float64)

    return run


def _lazy(func: Callable, *args: xr.DataArray | float, like: xr.DataArray) -> xr.DataArray:
    """``func`` applied per chunk to ``args`` (broadcast by dimension), in ``like``'s dim order
    first."""
    # each input in a layer of its own first: with two stored arrays straight into one
    # blockwise call, dask spends seconds on the graph of a 1/4-degree map (2.2 s a frame of
    # speed on the demo, 0.7 s so)
    args = tuple(_own_layer(a) if isinstance(a, xr.DataArray) else a for a in args)
    out = xr.apply_ufunc(_elementwise(func), *args, dask="allowed", keep_attrs=False)
    return out.transpose(*like.dims, ...)


def _elementwise(func: Callable) -> Callable:
    """``func`` (NumPy broadcasting) on NumPy arrays, or as one lazy blockwise layer of dask
    arrays.

    Not ``apply_ufunc(dask="parallelized")``: dask's ``apply_gufunc`` builds a task per chunk
    up front, and a source of 30 daily years has hundreds of thousands of chunks (30 s to
    add the derived variables of the demo with its past, and as long on every switch to it).
    A blockwise layer stays one line in the graph until a map asks for a few of its chunks.
    """
    quiet = _quiet(func)

    def run(*arrays):
        if not any(isinstance(a, dask.array.Array) for a in arrays):
            return quiet(*arrays)
        return dask.array.core.elemwise(quiet, *arrays, dtype=np.float64)

    return run


def _own_layer(da: xr.DataArray) -> xr.DataArray:
    if da.chunks is None:
        return da
    return da.copy(data=da.data.map_blocks(np.asarray, dtype=da.dtype))


# -- currents -------------------------------------------------------------------------------
def _velocity_pair(
    ds: xr.Dataset, first: Sequence[str], second: Sequence[str]
) -> tuple[xr.DataArray, xr.DataArray] | None:
    u, v = _find(ds, first), _find(ds, second)
    if u is None or v is None or u.dims != v.dims:
        return None
    if u.attrs.get("units") != v.attrs.get("units"):
        return None
    return u, v


def speed(ds: xr.Dataset) -> xr.DataArray | None:
    """Current speed (``sea_water_speed``) from east/north or grid x/y velocity; None without."""
    pair = _velocity_pair(ds, EASTWARD, NORTHWARD)
    if pair is None:
        pair = _velocity_pair(ds, GRID_X, GRID_Y)
    if pair is None:
        return None
    u, v = pair
    out = _lazy(np.hypot, u, v, like=u)
    return out.assign_attrs(
        units=u.attrs.get("units", "m s-1"),
        long_name="Sea water speed",
        standard_name="sea_water_speed",
        derived_from=f"hypot({u.name}, {v.name})",
    )


def _towards_degrees(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.mod(np.degrees(np.arctan2(u, v)), 360.0)


def direction(ds: xr.Dataset) -> xr.DataArray | None:
    """Direction the current flows towards, degrees clockwise from north; None without
    eastward and northward velocity."""
    pair = _velocity_pair(ds, EASTWARD, NORTHWARD)
    if pair is None:
        return None
    u, v = pair
    out = _lazy(_towards_degrees, u, v, like=u)
    return out.assign_attrs(
        units="degree",
        long_name="Direction of sea water velocity (towards, clockwise from north)",
        standard_name="direction_of_sea_water_velocity",
        derived_from=f"atan2({u.name}, {v.name})",
    )


# -- TEOS-10 --------------------------------------------------------------------------------
def _celsius(da: xr.DataArray) -> xr.DataArray | None:
    """``da`` in degrees Celsius (from kelvin when it is in kelvin); None for other units."""
    units = str(da.attrs.get("units", "")).strip().lower().replace(" ", "_")
    if units in CELSIUS:
        return da
    if units in KELVIN:
        return da - ZERO_CELSIUS_K
    return None


def _pressure(ds: xr.Dataset, like: xr.DataArray) -> xr.DataArray | float | None:
    """Sea pressure (dbar) at ``like``'s cells from depth and latitude; 0 at the surface
    (no levels); None when the levels are not depths (pressure, height, level numbers)."""
    if "depth" not in like.dims:
        return 0.0
    if vertical.has_true_depths(like):
        depth = like[vertical.DEPTH_M].reset_coords(drop=True)
    elif vertical.kind(ds["depth"]) == "metres":
        depth = ds["depth"].reset_coords(drop=True)
    else:
        return None
    lat = ds["lat"].reset_coords(drop=True)
    return xr.apply_ufunc(_elementwise(gsw.p_from_z), -depth, lat, dask="allowed")


@dataclasses.dataclass(frozen=True)
class Teos10:
    """Absolute salinity and conservative temperature of a source, lazily."""

    absolute_salinity: xr.DataArray
    conservative_temperature: xr.DataArray
    inputs: str


def teos10(ds: xr.Dataset) -> Teos10 | None:
    """TEOS-10 absolute salinity and conservative temperature from the source's temperature
    and salinity (found by standard_name); None without both, or without depths in metres."""
    salinity = _find(ds, PRACTICAL_SALINITY)
    if salinity is None:  # (never `or`: the truth of an array reads it)
        salinity = _find(ds, ABSOLUTE_SALINITY)
    temperature = next(
        (
            (kind, da)
            for kind, names in (
                ("conservative", CONSERVATIVE_TEMPERATURE),
                ("potential", POTENTIAL_TEMPERATURE),
                ("in-situ", INSITU_TEMPERATURE),
            )
            if (da := _find(ds, names)) is not None
        ),
        None,
    )
    if salinity is None or temperature is None:
        return None
    kind, t = temperature
    celsius = _celsius(t)
    if celsius is None or salinity.dims != t.dims:
        return None
    pressure = _pressure(ds, salinity)
    if pressure is None:
        return None
    if salinity.attrs.get("standard_name") in ABSOLUTE_SALINITY:
        sa = salinity
    else:
        sa = _lazy(gsw.SA_from_SP, salinity, pressure, ds["lon"], ds["lat"], like=salinity)
    if kind == "conservative":
        ct = celsius
    elif kind == "potential":
        ct = _lazy(gsw.CT_from_pt, sa, celsius, like=salinity)
    else:
        ct = _lazy(gsw.CT_from_t, sa, celsius, pressure, like=salinity)
    return Teos10(sa, ct, f"{t.name} ({kind} temperature), {salinity.name}")


def conservative_temperature(ds: xr.Dataset, state: Teos10 | None) -> xr.DataArray | None:
    """TEOS-10 conservative temperature (°C); None without temperature and salinity."""
    if state is None or _stores(ds, CONSERVATIVE_TEMPERATURE[0]):
        return None
    return state.conservative_temperature.assign_attrs(
        units="degC",
        long_name="Sea water conservative temperature (TEOS-10)",
        standard_name="sea_water_conservative_temperature",
        derived_from=f"gsw.CT from {state.inputs}",
    )


def sigma_theta(state: Teos10 | None) -> xr.DataArray | None:
    """Potential density anomaly σθ (kg m-3, referenced to 0 dbar, TEOS-10 ``sigma0``)."""
    if state is None:
        return None
    sa, ct = state.absolute_salinity, state.conservative_temperature
    out = _lazy(gsw.sigma0, sa, ct, like=sa)
    return out.assign_attrs(
        units="kg m-3",
        long_name="Sea water potential density anomaly σθ (TEOS-10)",
        standard_name="sea_water_sigma_theta",
        derived_from=f"gsw.sigma0 from {state.inputs}",
    )


# -- mixed layer ----------------------------------------------------------------------------
def mld_columns(sigma: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Mixed-layer depth (m) of each column of ``sigma`` (σθ, last axis on ``depth``, metres
    ascending): where σθ first exceeds σθ(10 m) + 0.03 kg m-3 below 10 m, interpolated
    between the levels around it; the deepest valid level where it never does; NaN where the
    column has no valid σθ at 10 m (land, or a column shallower than 10 m).

    σθ at 10 m is interpolated between the levels around it (the top level's value when the
    top level is deeper than 10 m).
    """
    sigma = np.asarray(sigma, dtype=float)
    depth = np.asarray(depth, dtype=float)
    n = depth.size
    below = int(np.searchsorted(depth, MLD_REFERENCE_DEPTH_M))
    if below == 0:
        reference = sigma[..., 0]
    elif below >= n:
        return np.full(sigma.shape[:-1], np.nan)
    else:
        d0, d1 = depth[below - 1], depth[below]
        w = (MLD_REFERENCE_DEPTH_M - d0) / (d1 - d0)
        reference = sigma[..., below - 1] * (1 - w) + sigma[..., below] * w
    target = reference[..., None] + MLD_SIGMA_STEP
    valid = np.isfinite(sigma)
    # the column ends at its first missing level (the sea floor)
    in_column = np.cumprod(valid, axis=-1).astype(bool)
    exceeds = in_column & (sigma >= target) & (depth > MLD_REFERENCE_DEPTH_M)
    crossed = exceeds.any(axis=-1)
    j = np.clip(np.argmax(exceeds, axis=-1), 1, n - 1)[..., None]
    s0 = np.take_along_axis(sigma, j - 1, -1)[..., 0]
    s1 = np.take_along_axis(sigma, j, -1)[..., 0]
    z0, z1 = depth[j[..., 0] - 1], depth[j[..., 0]]
    with np.errstate(divide="ignore", invalid="ignore"):  # NaN columns: no data
        crossing = z0 + (target[..., 0] - s0) / (s1 - s0) * (z1 - z0)
    crossing = np.clip(crossing, np.maximum(z0, MLD_REFERENCE_DEPTH_M), z1)
    deepest = depth[np.clip(in_column.sum(axis=-1) - 1, 0, n - 1)]
    out = np.where(crossed, crossing, deepest)
    return np.where(np.isfinite(reference), out, np.nan)


def _columns(sigma, depth: np.ndarray):
    """:func:`mld_columns` of ``sigma`` (depth last): NumPy, or a lazy layer whose tasks each
    join a block's levels (no rechunk: its graph would be built whole, a task per chunk)."""
    quiet = _quiet(mld_columns)
    if not isinstance(sigma, dask.array.Array):
        return quiet(sigma, depth)
    loop = tuple(range(sigma.ndim - 1))
    return dask.array.blockwise(
        quiet, loop, sigma, (*loop, sigma.ndim - 1), depth=depth, concatenate=True,
        dtype=np.float64,
    )  # fmt: skip


def mixed_layer_depth(ds: xr.Dataset, sigma: xr.DataArray | None) -> xr.DataArray | None:
    """Mixed-layer depth (m) from σθ, on a depth axis in metres reaching below 10 m."""
    if sigma is None or "depth" not in sigma.dims or vertical.has_true_depths(sigma):
        return None
    if _stores(ds, "ocean_mixed_layer_thickness_defined_by_sigma_theta"):
        return None
    depth = ds["depth"]
    if vertical.kind(depth) != "metres" or depth.size < 2:
        return None
    if float(depth.max()) <= MLD_REFERENCE_DEPTH_M:
        return None
    out = xr.apply_ufunc(
        _columns,
        sigma,
        kwargs={"depth": np.asarray(depth.values, dtype=float)},
        input_core_dims=[["depth"]],
        dask="allowed",
    )
    return out.assign_attrs(
        units="m",
        long_name="Mixed-layer depth (σθ threshold 0.03 kg m-3 from 10 m)",
        standard_name="ocean_mixed_layer_thickness_defined_by_sigma_theta",
        derived_from="sigma_theta, de Boyer Montégut et al. (2004)",
    )


# -- the dataset with them ------------------------------------------------------------------
#: Names of the derived variables, in the order they are listed.
NAMES = ("speed", "direction", "conservative_temperature", "sigma_theta", "mixed_layer_depth")


def derived_variables(ds: xr.Dataset) -> dict[str, xr.DataArray]:
    """The derived variables ``ds`` has inputs for (lazy), by name; none whose name is taken
    by a stored variable, nor a quantity the source already stores."""
    found: dict[str, xr.DataArray | None] = {}
    try:
        if not _stores(ds, "sea_water_speed"):
            found["speed"] = speed(ds)
        if not _stores(ds, "direction_of_sea_water_velocity"):
            found["direction"] = direction(ds)
        state = teos10(ds)
        found["conservative_temperature"] = conservative_temperature(ds, state)
        sigma = sigma_theta(state)
        if not _stores(ds, "sea_water_sigma_theta"):
            found["sigma_theta"] = sigma
        found["mixed_layer_depth"] = mixed_layer_depth(ds, sigma)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        # inputs laid out in a way not foreseen: the stored variables are still served
        log.warning("derived variables after %s are not offered: %s", list(found), exc)
    return {
        name: da.rename(name)
        for name, da in found.items()
        if da is not None and name not in ds.variables
    }


def with_derived(ds: xr.Dataset, user: Sequence[str] = ()) -> xr.Dataset:
    """``ds`` with its derived variables and the user expressions ``user`` (``name=expr``
    texts, :mod:`components.core.expressions`) added as lazy data variables.

    Raises
    ------
    SourceError
        For an expression that is refused (the message says which part and what is allowed).
    """
    extra = derived_variables(ds)
    out = _assign(ds, extra) if extra else ds
    for text in user:
        expression = expressions.parse(text, [str(v) for v in out.data_vars])
        out = _assign(out, {expression.name: expressions.evaluate(expression, out)})
    return out


def _assign(ds: xr.Dataset, new: dict[str, xr.DataArray]) -> xr.Dataset:
    """``ds`` with ``new`` variables, its coordinates kept as they are (computed arrays carry
    their coordinates without attributes: the axis' units must not be lost)."""
    out = ds.assign(new)
    for name, coord in ds.coords.items():
        out[name].attrs = dict(coord.attrs)
    return out


def opened_with(opened: OpenedSource, user: Sequence[str] = ()) -> OpenedSource:
    """``opened`` with derived variables and the expressions ``user`` in its dataset and in
    its point-series layout (so that probes read them as maps do).

    Raises
    ------
    SourceError
        For an expression that is refused.
    """
    dataset = with_derived(opened.dataset, user)
    series = None if opened.series is None else with_derived(opened.series, user)
    wrapped: Callable[[], xr.Dataset | None] | None = None
    if opened.series_opener is not None:

        def wrapped() -> xr.Dataset | None:
            # opened once, by the source itself (the catalog keeps it for every session)
            layout = opened._series_or_raise()
            if layout is None and opened.series_opener is not None:
                raise SourceError(f"{opened.id}: the point-series layout failed to open")
            return None if layout is None else with_derived(layout, user)

    return dataclasses.replace(opened, dataset=dataset, series=series, series_opener=wrapped)
