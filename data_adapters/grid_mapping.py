"""Horizontal coordinates from CF: every spelling of degrees, and grid mappings as lon/lat.

Called by :func:`data_adapters.contract.normalize` before it looks for the axes:

- longitude/latitude stored as data variables (HYCOM's ``lon(Y, X)``) or with any CF
  spelling of their units (``degree_east``, ``degreesE``, ``Degrees_North``…) become
  coordinates with the canonical units, so the contract finds them;
- a source with no longitude/latitude but 1-D projection coordinates and a CF
  ``grid_mapping`` that pyproj understands (rotated pole, polar stereographic, Lambert
  conformal, Mercator, transverse Mercator…) gets 2-D ``lon``/``lat`` computed once from
  the mapping (numpy over the mesh: the size of one map, not of the data), and so goes
  through the curvilinear path;
- the grid-mapping variables the data name are kept, as scalar coordinates, for exports.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from .errors import SourceError

if TYPE_CHECKING:
    import pyproj

#: CF units of longitude and latitude (CF 4.1, 4.2), lowercased: all mean degrees.
DEGREES_EAST = frozenset(
    {"degrees_east", "degree_east", "degree_e", "degrees_e", "degreee", "degreese"}
)
DEGREES_NORTH = frozenset(
    {"degrees_north", "degree_north", "degree_n", "degrees_n", "degreen", "degreesn"}
)

#: Units of projection coordinates in metres (the unit pyproj's projections work in).
_PROJECTION_UNITS = {
    "m": 1.0, "meter": 1.0, "meters": 1.0, "metre": 1.0, "metres": 1.0,
    "km": 1000.0, "kilometer": 1000.0, "kilometers": 1000.0,
    "kilometre": 1000.0, "kilometres": 1000.0,
}  # fmt: skip
#: Units of rotated-pole coordinates (angles on the rotated sphere).
_ANGLE_UNITS = ("degree", "degrees")

_X_NAMES = ("projection_x_coordinate", "grid_longitude", "projection_x_angular_coordinate")
_Y_NAMES = ("projection_y_coordinate", "grid_latitude", "projection_y_angular_coordinate")


def geographic(ds: xr.Dataset, source: str = "dataset") -> xr.Dataset:
    """``ds`` with longitude/latitude coordinates the contract finds, where CF gives them.

    Raises
    ------
    SourceError
        When the data's only horizontal coordinates are projection coordinates whose
        ``grid_mapping`` pyproj cannot read, or whose units are not lengths or degrees.
    """
    ds = _degree_coordinates(ds)
    mappings = _grid_mappings(ds)
    if mappings:
        ds = ds.set_coords([m for m in mappings if m in ds.data_vars])
    projected = {m: axes for m, n in mappings.items() if (axes := _projection_axes(ds, n))}
    for x, y in projected.values():
        # say which is which: the contract's y then follows the projection's, not the meridians
        ds = ds.assign_coords({x: ds[x].assign_attrs(axis="X"), y: ds[y].assign_attrs(axis="Y")})
    if _has_lonlat(ds) or not projected:
        return ds
    mapping, (x, y) = next(iter(projected.items()))
    return _with_lonlat(ds, mapping, x, y, source)


def _canonical_units(units: object) -> str | None:
    text = re.sub(r"\s+", "", str(units)).lower()
    if text in DEGREES_EAST:
        return "degrees_east"
    if text in DEGREES_NORTH:
        return "degrees_north"
    return None


def _degree_coordinates(ds: xr.Dataset) -> xr.Dataset:
    """Variables in degrees east/north (any CF spelling) as coordinates in canonical units."""
    units = {}
    for name, var in ds.variables.items():
        canonical = _canonical_units(var.attrs.get("units", ""))
        if canonical is not None and var.ndim <= 2:
            units[name] = canonical
    if not units:
        return ds
    ds = ds.copy()  # new attribute dicts: the caller's dataset keeps its own
    for name, canonical in units.items():
        ds[name].attrs["units"] = canonical
    return ds.set_coords([n for n in units if n in ds.data_vars])


def _grid_mappings(ds: xr.Dataset) -> dict[str, list[str]]:
    """Grid-mapping variables named by the data, with the data variables naming them.

    Reads both CF forms of ``grid_mapping``: ``"crs"`` and ``"crs: x y crs_wgs84: lat lon"``.
    """
    found: dict[str, list[str]] = {}
    for name, var in ds.data_vars.items():
        text = str(var.attrs.get("grid_mapping", ""))
        for token in re.findall(r"([^\s:]+):?", text):
            if token in ds.variables and "grid_mapping_name" in ds[token].attrs:
                found.setdefault(token, []).append(str(name))
    return found


def _has_lonlat(ds: xr.Dataset) -> bool:
    coords = ds.cf.coordinates
    if coords.get("longitude") and coords.get("latitude"):
        return True
    names = {str(n).lower() for n in ds.variables}
    # cf_xarray's name guess (nav_lon, longitude…) is the contract's last resort: let it be
    return bool(names & {"lon", "longitude", "nav_lon"}) and bool(
        names & {"lat", "latitude", "nav_lat"}
    )


def _projection_axes(ds: xr.Dataset, names: list[str]) -> tuple[str, str] | None:
    """The 1-D x and y coordinates of the first data variable with both, or None."""
    for name in names:
        x = y = None
        for dim in ds[name].dims:
            if dim not in ds.coords or ds[dim].ndim != 1:
                continue
            attrs = ds[dim].attrs
            standard_name, axis = attrs.get("standard_name"), str(attrs.get("axis", "")).upper()
            if standard_name in _X_NAMES or (axis == "X" and standard_name is None):
                x = str(dim)
            elif standard_name in _Y_NAMES or (axis == "Y" and standard_name is None):
                y = str(dim)
        if x is not None and y is not None:
            return x, y
    return None


def _metres_or_degrees(ds: xr.Dataset, name: str, crs: pyproj.CRS, source: str) -> np.ndarray:
    """The coordinate's values in the mapping's own unit (metres, or rotated degrees)."""
    units = str(ds[name].attrs.get("units", "m" if crs.is_projected else "degrees"))
    text = units.strip().lower()
    values = np.asarray(ds[name].values, dtype="float64")
    if crs.is_projected and text in _PROJECTION_UNITS:
        return values * _PROJECTION_UNITS[text]
    if not crs.is_projected and text in _ANGLE_UNITS:
        return values
    expected = "a length (m, km)" if crs.is_projected else "degrees"
    raise SourceError(
        f"{source}: projection coordinate '{name}' has units '{units}', expected {expected}; "
        "fix its units attribute or add 2-D longitude/latitude variables"
    )


def _with_lonlat(ds: xr.Dataset, mapping: str, x: str, y: str, source: str) -> xr.Dataset:
    """``ds`` with 2-D ``lon``/``lat`` on (y, x) computed from the grid mapping."""
    import pyproj

    attrs = {k: v for k, v in ds[mapping].attrs.items() if k != "units"}
    try:
        crs = pyproj.CRS.from_cf(attrs)
        # the mapping's own datum (a derived CRS's base: a rotated pole's geodetic_crs is itself)
        base = crs.source_crs or crs.geodetic_crs
        to_lonlat = pyproj.Transformer.from_crs(crs, base, always_xy=True)
    except (pyproj.exceptions.CRSError, pyproj.exceptions.ProjError) as exc:
        raise SourceError(
            f"{source}: grid mapping '{mapping}' "
            f"({attrs.get('grid_mapping_name', 'unnamed')}) is not one pyproj can read "
            f"({str(exc).splitlines()[0]}); add 2-D longitude/latitude variables"
        ) from exc
    xx, yy = np.meshgrid(
        _metres_or_degrees(ds, x, crs, source), _metres_or_degrees(ds, y, crs, source)
    )
    lon, lat = to_lonlat.transform(xx, yy)
    lon, lat = np.asarray(lon, dtype="float64"), np.asarray(lat, dtype="float64")
    lon[~np.isfinite(lat)] = np.nan  # points outside the projection's domain
    lat[~np.isfinite(lon)] = np.nan
    if not np.isfinite(lon).any():
        raise SourceError(
            f"{source}: grid mapping '{mapping}' puts no point of '{x}'/'{y}' on the Earth; "
            "check the mapping's parameters or add 2-D longitude/latitude variables"
        )
    names = [_free_name(ds, "lon"), _free_name(ds, "lat")]
    note = f"computed from {x}, {y} and grid mapping {mapping}"
    return ds.assign_coords(
        {
            names[0]: ((y, x), lon, _lonlat_attrs("longitude", "degrees_east", note)),
            names[1]: ((y, x), lat, _lonlat_attrs("latitude", "degrees_north", note)),
        }
    )


def _lonlat_attrs(standard_name: str, units: str, note: str) -> dict[str, str]:
    return {"standard_name": standard_name, "units": units, "long_name": standard_name,
            "comment": note}  # fmt: skip


def _free_name(ds: xr.Dataset, name: str) -> str:
    while name in ds.variables or name in ds.dims:
        name = f"{name}_"
    return name
