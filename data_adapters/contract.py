"""The data contract: one normalised shape for every source (DESIGN.md §2).

``normalize`` turns whatever an adapter opened into the contract; ``validate_dataset``
checks it. Nothing downstream re-implements these fixes.
"""

from __future__ import annotations

import warnings
from typing import Any, Literal

import cf_xarray  # noqa: F401  (registers the .cf accessor)
import numpy as np
import xarray as xr

from . import cf_export, cf_time, vertical
from .errors import ContractError, SourceError
from .grid_mapping import geographic

#: Dimension order of every data variable on a regular grid.
REGULAR_DIMS = ("scenario", "member", "time", "depth", "lat", "lon")
#: Dimension order on a curvilinear grid, with 2-D ``lat``/``lon`` coordinates on (y, x).
CURVILINEAR_DIMS = ("scenario", "member", "time", "depth", "y", "x")

#: Names under which sources store runs of one experiment and ensemble members.
SCENARIO_NAMES = ("scenario", "experiment", "experiment_id")
MEMBER_NAMES = ("member", "member_id", "ensemble", "ensemble_member", "realization", "number")

GridKind = Literal["regular", "curvilinear"]


def grid_kind(ds: xr.Dataset) -> GridKind:
    """``"curvilinear"`` when lat/lon are 2-D coordinates on (y, x), else ``"regular"``."""
    return "curvilinear" if ds["lon"].ndim == 2 else "regular"


def _first(names: list[str] | None) -> str | None:
    return names[0] if names else None


def _users(ds: xr.Dataset, name: str) -> int:
    """How many data variables lie on every dimension of the coordinate ``name``."""
    return sum(set(ds[name].dims) <= set(da.dims) for da in ds.data_vars.values())


def _find_axes(ds: xr.Dataset) -> dict[str, str | None]:
    """Locate lon/lat/time/vertical by CF attributes first, then by cf_xarray's name guess."""
    found: dict[str, str | None] = {}
    for attempt in (ds, None):
        if attempt is None:
            # Attributes were not enough: let cf_xarray guess from names such as nav_lon,
            # time_counter or deptht. The guess only adds attributes to a copy.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                attempt = ds.copy().cf.guess_coord_axis()
        coords = attempt.cf.coordinates
        axes = attempt.cf.axes
        for key, names in (
            ("lon", coords.get("longitude")),
            ("lat", coords.get("latitude")),
            ("time", coords.get("time") or axes.get("T")),
            ("depth", coords.get("vertical") or axes.get("Z")),
        ):
            if found.get(key) is None:
                usable = [n for n in (names or []) if n in ds.variables and ds[n].ndim <= 2]
                # Prefer the axis itself to auxiliary coordinates along it: NEMO's
                # time_counter over time_centered, whatever their alphabetical order; then
                # the grid most variables use (ROMS' rho points over its psi points).
                usable.sort(key=lambda n: (n not in ds.dims, -_users(ds, n)))
                found[key] = _first(usable)
    return found


def _rename_dim_coord(ds: xr.Dataset, name: str, target: str) -> xr.Dataset:
    """Make the 1-D coordinate ``name`` the index of dimension ``target``."""
    var = ds[name]
    if var.ndim != 1:
        raise SourceError(f"coordinate '{name}' should be 1-D, it has dims {var.dims}")
    dim = var.dims[0]
    if name != dim:
        ds = ds.swap_dims({dim: name})
    if name != target:
        if target in ds.variables and target != name:
            ds = ds.drop_vars(target)
        ds = ds.rename({name: target})
    return ds


def _is_separable(lon: xr.DataArray, lat: xr.DataArray) -> bool:
    """True when 2-D lon varies only along x and lat only along y (a regular grid in disguise)."""
    lon_v, lat_v = np.asarray(lon.values), np.asarray(lat.values)
    if lon_v.shape != lat_v.shape or lon_v.ndim != 2 or not np.isfinite(lon_v).all():
        return False
    return bool(
        np.allclose(lon_v, lon_v[:1, :], atol=1e-6) and np.allclose(lat_v, lat_v[:, :1], atol=1e-6)
    )


def _horizontal(ds: xr.Dataset, lon: str, lat: str, source: str) -> xr.Dataset:
    lon_v, lat_v = ds[lon], ds[lat]
    if lon_v.ndim == 1 and lat_v.ndim == 1:
        ds = _rename_dim_coord(ds, lon, "lon")
        return _rename_dim_coord(ds, lat, "lat")
    if lon_v.ndim != 2 or lat_v.ndim != 2 or set(lon_v.dims) != set(lat_v.dims):
        raise SourceError(
            f"{source}: longitude '{lon}' and latitude '{lat}' are neither both 1-D nor 2-D on "
            "the same dimensions; provide CF coordinates"
        )
    # Which of the two dims runs north-south: the one along which latitude changes most.
    lat_np = np.asarray(lat_v.transpose(*lon_v.dims).values, dtype=float)
    d0, d1 = lon_v.dims
    along0 = np.nanmean(np.abs(np.diff(lat_np, axis=0))) if lat_np.shape[0] > 1 else 0.0
    along1 = np.nanmean(np.abs(np.diff(lat_np, axis=1))) if lat_np.shape[1] > 1 else 0.0
    ydim, xdim = (d0, d1) if along0 >= along1 else (d1, d0)
    # ...unless CF says which is which (a projection's axes need not follow the meridians)
    axis = {str(ds[d].attrs.get("axis", "")).upper(): d for d in (d0, d1) if d in ds.coords}
    ydim, xdim = (axis["Y"], axis["X"]) if {"X", "Y"} <= set(axis) else (ydim, xdim)
    lon_v, lat_v = lon_v.transpose(ydim, xdim), lat_v.transpose(ydim, xdim)
    if _is_separable(lon_v, lat_v):
        ds = ds.drop_vars([lon, lat])
        ds = ds.assign_coords(
            {
                ydim: (ydim, lat_v.values[:, 0], lat_v.attrs),
                xdim: (xdim, lon_v.values[0, :], lon_v.attrs),
            }
        )
        return ds.rename({ydim: "lat", xdim: "lon"})
    # 2-D coordinates are small next to the data and every map needs them: read them once
    ds = ds.assign_coords(
        {
            lon: ((ydim, xdim), np.asarray(lon_v.values), lon_v.attrs),
            lat: ((ydim, xdim), np.asarray(lat_v.values), lat_v.attrs),
        }
    )
    rename = {ydim: "y", xdim: "x", lon: "lon", lat: "lat"}
    ds = ds.drop_vars([v for v in ("y", "x") if v in ds.variables and v not in (ydim, xdim)])
    ds = ds.rename({k: v for k, v in rename.items() if k != v})
    return ds.set_coords(["lon", "lat"])


def _wrap_longitudes(ds: xr.Dataset) -> xr.Dataset:
    lon = ds["lon"]
    attrs = dict(lon.attrs)
    values = np.asarray(lon.values, dtype="float64")
    wrapped = (values + 180.0) % 360.0 - 180.0
    if ds["lon"].ndim == 2:
        if not np.array_equal(wrapped, values, equal_nan=True):
            ds = ds.assign_coords(lon=(lon.dims, wrapped, attrs))
        return ds
    if not np.array_equal(wrapped, values):
        ds = ds.assign_coords(lon=("lon", wrapped, attrs))
    if wrapped.size > 1 and not (np.diff(wrapped) > 0).all():
        ds = ds.sortby("lon")
        # 0 and 360 both present become -180 twice: keep the first
        _, keep = np.unique(ds["lon"].values, return_index=True)
        if keep.size != ds.sizes["lon"]:
            ds = ds.isel(lon=np.sort(keep))
    return ds


def _rename_run_dims(ds: xr.Dataset) -> xr.Dataset:
    for target, names in (("scenario", SCENARIO_NAMES), ("member", MEMBER_NAMES)):
        for name in names:
            if name in ds.dims:
                if name != target:
                    ds = ds.rename({name: target})
                break
        if target in ds.dims:
            if target not in ds.coords:
                ds = ds.assign_coords({target: np.arange(ds.sizes[target])})
            labels = [str(v) for v in ds[target].values]
            ds = ds.assign_coords({target: (target, np.array(labels, dtype=object))})
    return ds


def _apply_valid_range(da: xr.DataArray) -> xr.DataArray:
    """Mask values outside ``valid_range``/``valid_min``/``valid_max`` (xarray does not)."""
    attrs = dict(da.attrs)
    lo = hi = None
    kinds = set()
    if "valid_range" in attrs:
        raw = np.ravel(attrs.pop("valid_range"))
        lo, hi = (float(v) for v in raw[:2])
        kinds.add(raw.dtype.kind)
    if "valid_min" in attrs:
        raw = np.ravel(attrs.pop("valid_min"))
        lo = float(raw[0])
        kinds.add(raw.dtype.kind)
    if "valid_max" in attrs:
        raw = np.ravel(attrs.pop("valid_max"))
        hi = float(raw[0])
        kinds.add(raw.dtype.kind)
    if lo is None and hi is None:
        return da
    # CF 8.1: the valid range is in packed (stored) units when it has the packed type;
    # a floating-point range beside integer packing is already in physical units.
    scale = float(da.encoding.get("scale_factor", 1.0))
    offset = float(da.encoding.get("add_offset", 0.0))
    stored = np.dtype(da.encoding.get("dtype", da.dtype)).kind
    if stored in "iu" and kinds <= {"f"}:
        scale, offset = 1.0, 0.0
    keep = xr.ones_like(da, dtype=bool)
    if lo is not None:
        keep &= da >= lo * scale + offset
    if hi is not None:
        keep &= da <= hi * scale + offset
    out = da.where(keep)
    out.attrs = attrs
    out.encoding = da.encoding
    return out


def _describe_variable(name: str, da: xr.DataArray) -> xr.DataArray:
    attrs = dict(da.attrs)
    if not attrs.get("long_name"):
        std = attrs.get("standard_name")
        attrs["long_name"] = str(std).replace("_", " ") if std else name
    if attrs.get("units") is None or str(attrs.get("units")).strip() == "":
        attrs["units"] = "unknown"
    da.attrs = attrs
    return da


def normalize(ds: xr.Dataset, source: str = "dataset") -> xr.Dataset:
    """Return ``ds`` normalised to the data contract, lazily.

    Parameters
    ----------
    ds
        A dataset as opened (times decoded, fill values masked).
    source
        What to call the source in error messages (a path, URL or catalog id).

    Raises
    ------
    SourceError
        When the dataset has no usable horizontal coordinates or an unusable vertical axis.
    """
    ds = cf_time.axes(ds, source)
    axes = _find_axes(ds := geographic(ds, source))
    lon, lat = axes["lon"], axes["lat"]
    if lon is None or lat is None:
        raise SourceError(
            f"{source}: no longitude/latitude coordinates found (looked for CF standard_name, "
            "units degrees_east/degrees_north, axis X/Y and names such as lon, longitude, "
            "nav_lon); add CF attributes to the file"
        )
    ds = ds.set_coords([v for v in (lon, lat) if v in ds.data_vars])
    ds = _horizontal(ds, lon, lat, source)
    if axes["time"] and axes["time"] in ds.variables and ds[axes["time"]].ndim == 1:
        ds = _rename_dim_coord(ds, axes["time"], "time")
    ds = vertical.normalize_axis(ds, axes["depth"], source)
    ds = _rename_run_dims(ds)

    kind: GridKind = "curvilinear" if ds["lon"].ndim == 2 else "regular"
    order = CURVILINEAR_DIMS if kind == "curvilinear" else REGULAR_DIMS
    horizontal = set(order[-2:])
    keep = {}
    for name, da in ds.data_vars.items():
        if not horizontal <= set(da.dims):
            continue  # bounds, scalars, per-time tables: not a map
        extra = [d for d in da.dims if d not in order]
        if any(da.sizes[d] != 1 for d in extra):
            continue  # e.g. a variable on a staggered or spectral axis
        da = da.isel({d: 0 for d in extra}, drop=True) if extra else da
        da = _apply_valid_range(da)
        keep[str(name)] = _describe_variable(str(name), da).transpose(
            *[d for d in order if d in da.dims]
        )
    if not keep:
        raise SourceError(
            f"{source}: no data variable lies on the longitude/latitude grid; "
            "check that the file holds gridded fields"
        )
    coords = {
        name: c
        for name, c in ds.coords.items()
        if set(c.dims) <= set(order) and (c.ndim <= 1 or name in ("lon", "lat", vertical.DEPTH_M))
    }
    out = xr.Dataset(keep, coords=coords, attrs=dict(ds.attrs))
    out = cf_export.attach_references(ds, out)  # cut and sorted with the data below
    out = _wrap_longitudes(out)
    if kind == "regular" and out.sizes["lat"] > 1 and out["lat"].values[0] > out["lat"].values[-1]:
        out = out.sortby("lat")
    out = cf_time.ordered_steps(out, source)
    for name in ("lon", "lat"):
        out[name].attrs.update(
            units="degrees_east" if name == "lon" else "degrees_north",
            standard_name="longitude" if name == "lon" else "latitude",
            long_name="longitude" if name == "lon" else "latitude",
        )
    # Lazy everywhere: sources opened in memory become one dask chunk per variable
    lazy = {n: v.chunk() for n, v in out.data_vars.items() if v.chunks is None}
    return cf_export.detach_references(out.assign(lazy) if lazy else out)


def validate_dataset(ds: xr.Dataset) -> xr.Dataset:
    """Check ``ds`` against the data contract and return it unchanged.

    Raises
    ------
    ContractError
        Listing every broken rule on one line.
    """
    problems: list[str] = []
    if "lon" not in ds.coords or "lat" not in ds.coords:
        raise ContractError("dataset has no 'lon'/'lat' coordinates")
    kind = grid_kind(ds)
    order = CURVILINEAR_DIMS if kind == "curvilinear" else REGULAR_DIMS
    lon = np.asarray(ds["lon"].values, dtype=float)
    lat = np.asarray(ds["lat"].values, dtype=float)
    if kind == "regular":
        if ds["lon"].dims != ("lon",) or ds["lat"].dims != ("lat",):
            problems.append("regular grid lon/lat must be dimension coordinates")
        if lon.size > 1 and not (np.diff(lon) > 0).all():
            problems.append("lon must be strictly ascending")
        if lat.size > 1 and not (np.diff(lat) > 0).all():
            problems.append("lat must be strictly ascending")
    elif ds["lon"].dims != ("y", "x") or ds["lat"].dims != ("y", "x"):
        problems.append("curvilinear lon/lat must be 2-D on (y, x)")
    if np.nanmin(lon) < -180 or np.nanmax(lon) >= 180:
        problems.append("lon must lie in [-180, 180)")
    if np.nanmin(lat) < -90 or np.nanmax(lat) > 90:
        problems.append("lat must lie in [-90, 90]")
    problems += vertical.contract_problems(ds)
    if "time" in ds.coords:
        t = ds["time"]
        cftime_like = t.dtype == object and t.size and hasattr(t.values.flat[0], "calendar")
        if not (np.issubdtype(t.dtype, np.datetime64) or cftime_like):
            problems.append("time must be decoded (datetime64 or cftime)")
    if not ds.data_vars:
        problems.append("dataset has no data variables")
    for name, da in ds.data_vars.items():
        if any(d not in order for d in da.dims):
            problems.append(f"'{name}' has dims {da.dims} outside {order}")
        elif list(da.dims) != [d for d in order if d in da.dims]:
            problems.append(f"'{name}' dims {da.dims} are not in contract order")
        for key in ("units", "long_name"):
            if not da.attrs.get(key):
                problems.append(f"'{name}' lacks '{key}'")
        if da.chunks is None:
            problems.append(f"'{name}' is not lazy (not dask-backed)")
    if problems:
        raise ContractError("data contract broken: " + "; ".join(problems))
    return ds


def _iso(value: Any) -> str:
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(np.datetime_as_string(np.datetime64(value, "s"), unit="s"))


def bbox(ds: xr.Dataset) -> list[float]:
    """[W, S, E, N] in degrees; W > E when the data cross the dateline (not the globe)."""
    lon = np.asarray(ds["lon"].values, dtype=float)
    lat = np.asarray(ds["lat"].values, dtype=float)
    west, east = float(np.nanmin(lon)), float(np.nanmax(lon))
    if ds["lon"].ndim == 1 and lon.size > 2:
        # A regional grid across the dateline shows up as the widest gap between columns
        steps = np.diff(lon)
        gap = int(np.argmax(steps))
        typical = float(np.median(steps))
        wrap_gap = 360.0 - (east - west)
        if steps[gap] > 5 * typical and steps[gap] > wrap_gap:
            west, east = float(lon[gap + 1]), float(lon[gap])
    return [west, float(np.nanmin(lat)), east, float(np.nanmax(lat))]


def calendar(ds: xr.Dataset) -> str | None:
    """The time axis' calendar (``standard``, ``noleap``, ``360_day``…), or None."""
    if "time" not in ds.coords:
        return None
    cal = ds["time"].dt.calendar
    return "standard" if cal in ("proleptic_gregorian", "gregorian") else cal


#: Name of the one run of a source without a ``scenario`` dimension.
BASELINE = "baseline"


def scenario_labels(data: xr.DataArray | xr.Dataset) -> list[str]:
    """The runs of a variable or dataset: its ``scenario`` labels, or ``["baseline"]``."""
    if "scenario" in data.dims:
        return [str(s) for s in data["scenario"].values]
    return [BASELINE]


def summarize(ds: xr.Dataset, id: str, title: str | None = None) -> dict[str, Any]:
    """The stable, JSON-ready summary that ``ocean-explorer inspect --json`` prints.

    Keys: id, title, grid, dims, bbox, time_range, calendar, depths, vertical, scenarios,
    variables.
    """
    times = np.atleast_1d(ds["time"].values) if "time" in ds.coords and ds["time"].size else None
    return {
        "id": id,
        "title": title or str(ds.attrs.get("title") or id),
        "grid": grid_kind(ds),
        "dims": {str(k): int(v) for k, v in ds.sizes.items()},
        "bbox": bbox(ds),
        "time_range": None if times is None else [_iso(times[0]), _iso(times[-1])],
        "calendar": calendar(ds),
        **vertical.summary(ds),  # depths (in the axis' units) and how they are labelled
        "scenarios": scenario_labels(ds),
        "variables": [
            {
                "name": str(name),
                "long_name": str(da.attrs.get("long_name", name)),
                "standard_name": da.attrs.get("standard_name"),
                "units": str(da.attrs.get("units", "")),
                "dims": [str(d) for d in da.dims],
            }
            for name, da in ds.data_vars.items()
        ],
    }
