"""Areas and regions: cell areas on the sphere, boxes and polygons, area-weighted answers.

Cell areas on the sphere, boxes and polygons on the grid, and their area-weighted series and
statistics (the computation core).

A box is ``(west, south, east, north)`` in degrees; west > east crosses the dateline. An
area series reads only the rows and columns that touch the region.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import dask.array as dsa
import numpy as np
import xarray as xr

from data_adapters.errors import SourceError

from .fields import select
from .geography import wrap_lon
from .probes import EARTH_RADIUS_KM, _horizontal_dims, _unit_vectors


# -- areas and regions ----------------------------------------------------------------------
def _bounds_1d(centres: np.ndarray) -> np.ndarray:
    """Edges (n + 1) halfway between centres, the outer ones half a step out."""
    if centres.size == 1:
        return np.array([centres[0] - 0.5, centres[0] + 0.5])  # one cell: 1 degree, a guess
    mid = (centres[1:] + centres[:-1]) / 2
    return np.concatenate([[2 * centres[0] - mid[0]], mid, [2 * centres[-1] - mid[-1]]])


def _lon_widths(lon: np.ndarray) -> np.ndarray:
    """Widths (degrees) of 1-D longitude cells, also across the dateline and on global grids.

    Each width is the mean of the steps to the neighbouring columns (the last and first
    columns are neighbours on a global grid); a jump much larger than the usual step is a
    gap (the dateline of a regional grid stored ascending), not a cell.
    """
    if lon.size == 1:
        return np.array([1.0])
    steps = np.diff(lon)
    around = lon[0] + 360.0 - lon[-1]
    left = np.concatenate([[around], steps])
    right = np.concatenate([steps, [around]])
    usual = float(np.median(steps))
    left = np.where(left > 2 * usual, np.nan, left)
    right = np.where(right > 2 * usual, np.nan, right)
    width = np.nanmean(np.stack([left, right]), axis=0)
    return np.where(np.isfinite(width), width, usual)


def _regular_area_factors(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per row R·(sin φ2 - sin φ1) and per column R·Δlon (km): their product is the area."""
    edges = np.radians(np.clip(_bounds_1d(np.asarray(lat, float)), -90.0, 90.0))
    band = EARTH_RADIUS_KM * np.diff(np.sin(edges))
    widths = EARTH_RADIUS_KM * np.radians(_lon_widths(np.asarray(lon, float)))
    return band, widths


def cell_area_km2(ds_or_da: xr.Dataset | xr.DataArray) -> xr.DataArray:
    """Area (km²) of every grid cell on a sphere of radius :data:`EARTH_RADIUS_KM`.

    Regular grids: ``R² · Δlon · (sin φ2 - sin φ1)`` with the cell edges halfway between
    centres (the outer edges half a step out, latitudes clipped to ±90°). Curvilinear grids:
    corners are the normalised mean of the four surrounding centres on the unit sphere
    (the grid extrapolated by one row and column at the edges), and each cell is the
    spherical quadrilateral of its corners (two spherical triangles). The corner estimate is
    exact for grids whose corners lie halfway between centres and close (< 0.1 % for smooth
    grids) otherwise; CF cell bounds are not used, as the data contract does not keep them.

    Returns a DataArray on (lat, lon) or (y, x) with ``units: km2``.
    """
    rows, cols = _horizontal_dims(ds_or_da)
    lon, lat = ds_or_da["lon"], ds_or_da["lat"]
    if lon.ndim == 1:
        band, widths = _regular_area_factors(lon.values, lat.values)
        area = band[:, None] * widths[None, :]
        coords = {"lat": lat, "lon": lon}
    else:
        area = _curvilinear_areas(
            np.asarray(lon.transpose("y", "x").values, float),
            np.asarray(lat.transpose("y", "x").values, float),
        )
        coords = {"lon": lon.transpose("y", "x"), "lat": lat.transpose("y", "x")}
    return xr.DataArray(
        area,
        dims=(rows, cols),
        coords=coords,
        name="cell_area",
        attrs={"units": "km2", "long_name": "grid cell area", "standard_name": "cell_area"},
    )


def _normalise(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _triangle_area(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Spherical excess (sr) of unit-sphere triangles (Van Oosterom & Strackee, 1983)."""
    triple = np.abs(np.einsum("...i,...i->...", a, np.cross(b, c)))
    dots = 1 + np.einsum("...i,...i", a, b) + np.einsum("...i,...i", b, c)
    dots += np.einsum("...i,...i", c, a)
    return 2 * np.arctan2(triple, dots)


def _curvilinear_areas(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    ny, nx = lon.shape
    if ny < 2 or nx < 2:
        raise SourceError(f"a {ny} x {nx} curvilinear grid is too small to estimate cell areas")
    centres = _unit_vectors(lon, lat)
    # one ghost row and column each side, extrapolated linearly on the sphere
    padded = np.concatenate(
        [2 * centres[:1] - centres[1:2], centres, 2 * centres[-1:] - centres[-2:-1]]
    )
    padded = np.concatenate(
        [2 * padded[:, :1] - padded[:, 1:2], padded, 2 * padded[:, -1:] - padded[:, -2:-1]], axis=1
    )
    corners = _normalise(padded[:-1, :-1] + padded[1:, :-1] + padded[:-1, 1:] + padded[1:, 1:])
    c00, c01, c10, c11 = corners[:-1, :-1], corners[:-1, 1:], corners[1:, :-1], corners[1:, 1:]
    steradians = _triangle_area(c00, c01, c11) + _triangle_area(c00, c11, c10)
    return EARTH_RADIUS_KM**2 * steradians


def region_mask(
    da: xr.DataArray | xr.Dataset,
    bbox: Sequence[float] | None = None,
    polygon: Iterable[Sequence[float]] | None = None,
) -> xr.DataArray:
    """Boolean mask of the cells whose centre lies inside a box and/or a polygon.

    Parameters
    ----------
    bbox
        [W, S, E, N] in degrees; W > E is a box across the dateline.
    polygon
        (lon, lat) vertices in degrees, in order (closing it is optional); a polygon across
        the dateline may use longitudes either side of it (170, -170 …) or beyond 180.

    With both, the cells inside both; with neither, every cell.

    Raises
    ------
    SourceError
        When no cell centre lies inside (a region smaller than the grid's cells, or off it).
    """
    rows, cols = _horizontal_dims(da)
    if da["lon"].ndim == 1:
        lon2, lat2 = np.meshgrid(da["lon"].values, da["lat"].values)
    else:
        lon2 = np.asarray(da["lon"].transpose(rows, cols).values, float)
        lat2 = np.asarray(da["lat"].transpose(rows, cols).values, float)
    inside = np.isfinite(lon2) & np.isfinite(lat2)
    described = ["region"] if bbox is None and polygon is None else []
    if bbox is not None:
        west, south, east, north = (float(v) for v in bbox)
        in_lat = (lat2 >= south) & (lat2 <= north)
        in_lon = _in_lon_range(lon2, west, east)
        inside &= in_lat & in_lon
        described.append(f"box W {west:g}, S {south:g}, E {east:g}, N {north:g}")
    if polygon is not None:
        inside &= _in_polygon(polygon, lon2, lat2)
        described.append("polygon")
    if not inside.any():
        raise SourceError(
            f"no cell centre of the grid lies inside the {' and '.join(described)}; "
            "draw a larger region over the data"
        )
    coords = {rows: da[rows], cols: da[cols]} if da["lon"].ndim == 1 else {}
    mask = xr.DataArray(inside, dims=(rows, cols), coords=coords, name="region")
    if da["lon"].ndim == 2:
        mask = mask.assign_coords(lon=((rows, cols), lon2), lat=((rows, cols), lat2))
    return mask


def in_box(da: xr.DataArray, bbox: Sequence[float]) -> xr.DataArray:
    """The cells of ``da`` whose centre lies in the box (:func:`region_mask`'s rule), lazily.

    Regular grids: exactly the rows and columns inside. Curvilinear grids: the smallest block
    of rows and columns that holds those cells, the block's cells whose centre lies outside
    masked (no data, NaN) and the variable's ``comment`` saying so; writers that leave out
    no-data cells (the long CSV) then write only the cells in the box.
    """
    mask = region_mask(da, bbox=bbox)
    window = _window(mask)
    if da["lon"].ndim == 1:
        return da.isel(window)
    window = {d: np.arange(idx[0], idx[-1] + 1) for d, idx in window.items()}
    rows, cols = mask.dims
    inside = np.asarray(mask.values)[np.ix_(window[rows], window[cols])]
    sub = da.isel(window)
    if inside.all():
        return sub
    west, south, east, north = (float(v) for v in bbox)
    note = (
        f"cells whose centre lies outside the box W {west:g}, S {south:g}, E {east:g}, "
        f"N {north:g} are masked (no data): the grid is curvilinear, so the subset is the "
        "smallest block of its rows and columns that holds the box"
    )
    previous = str(da.attrs.get("comment", "")).strip()
    out = sub.where(xr.DataArray(inside, dims=(rows, cols)))
    out.attrs = {**da.attrs, "comment": f"{previous}; {note}" if previous else note}
    out.encoding = dict(sub.encoding)
    return out


def _in_lon_range(lon: np.ndarray, west: float, east: float) -> np.ndarray:
    """Longitudes from ``west`` eastward to ``east`` (W > E crosses the dateline).

    Either bound may lie outside [-180, 180) (a map panned past the dateline gives 170..190);
    a range of 360 degrees or more is the whole circle.
    """
    lon = np.asarray(lon, float)
    if east - west >= 360.0:
        return np.ones(lon.shape, dtype=bool)
    # bounds inside the range are compared as given, so a centre on an edge stays inside
    west = west if -180.0 <= west < 180.0 else float(wrap_lon(west))
    east = east if -180.0 <= east <= 180.0 else float(wrap_lon(east))
    if west > east:  # across the dateline: east of W *or* west of E
        return (lon >= west) | (lon <= east)
    return (lon >= west) & (lon <= east)


def _in_polygon(
    polygon: Iterable[Sequence[float]], lon2: np.ndarray, lat2: np.ndarray
) -> np.ndarray:
    from matplotlib.path import Path

    vertices = np.asarray([(float(p[0]), float(p[1])) for p in polygon], dtype=float)
    if vertices.shape[0] < 3:
        raise SourceError(f"a polygon needs at least 3 vertices, got {vertices.shape[0]}")
    # continuous longitudes: each edge takes the short way round, across the dateline if so
    vertices[1:, 0] = vertices[0, 0] + np.cumsum(wrap_lon(np.diff(vertices[:, 0])))
    path = Path(vertices)
    points = np.column_stack([lon2.ravel(), lat2.ravel()])
    inside = np.zeros(points.shape[0], dtype=bool)
    for shift in (-360.0, 0.0, 360.0):
        inside |= path.contains_points(points + np.array([shift, 0.0]))
    return inside.reshape(lon2.shape)


def _window(mask: xr.DataArray) -> dict[str, np.ndarray]:
    """Row and column indices that hold any cell of ``mask`` (what needs reading)."""
    rows, cols = mask.dims
    values = np.asarray(mask.values, dtype=bool)
    return {rows: np.flatnonzero(values.any(axis=1)), cols: np.flatnonzero(values.any(axis=0))}


def _as_index(index: np.ndarray) -> slice | np.ndarray:
    """Contiguous indices as a slice: dask then reads only those cells of each chunk (a list
    of indices, or a slice taken after another selection, reads whole chunks first)."""
    if index.size and index[-1] - index[0] + 1 == index.size:
        return slice(int(index[0]), int(index[-1]) + 1)
    return index


def _masked_parts(
    da: xr.DataArray,
    mask: xr.DataArray,
    pick: Callable[[xr.DataArray], xr.DataArray] | None = None,
) -> tuple[xr.DataArray, xr.DataArray, tuple[str, str]]:
    """(values, areas NaN outside the region) over the rows and columns the region touches.

    ``pick`` selects from the window (a level, a run): the window is taken first, so that
    the read is of the region's cells only.
    """
    hdims = _horizontal_dims(da)
    if set(mask.dims) != set(hdims) or any(mask.sizes[d] != da.sizes[d] for d in hdims):
        drawn = " x ".join(f"{n} {d}" for d, n in mask.sizes.items())
        grid = " x ".join(f"{da.sizes[d]} {d}" for d in hdims)
        raise SourceError(
            f"the region was drawn on another grid ({drawn}; the data: {grid}); draw it again"
        )
    if tuple(mask.dims) != hdims:
        mask = mask.transpose(*hdims)
    window = _window(mask)
    sub = da.isel({d: _as_index(i) for d, i in window.items()})
    if pick is not None:
        sub = pick(sub)
    picked = np.ix_(window[hdims[0]], window[hdims[1]])
    inside = xr.DataArray(np.asarray(mask.values)[picked], dims=hdims)
    if da["lon"].ndim == 1:  # areas of the window only: an outer product of two vectors
        band, widths = _regular_area_factors(da["lon"].values, da["lat"].values)
        values = band[window[hdims[0]], None] * widths[None, window[hdims[1]]]
        area = xr.DataArray(values, dims=hdims)
    else:
        area = cell_area_km2(da).isel(window).drop_vars(["lat", "lon"])
    sub = sub.drop_vars([c for c in sub.coords if c in ("lat", "lon") and sub[c].ndim == 2])
    return sub, area.where(inside), hdims


def area_series(
    da: xr.DataArray,
    mask: xr.DataArray,
    depth: float | None = None,
    scenario: str | None = None,
    start: Any = None,
    end: Any = None,
    minus: str | None = None,
) -> xr.Dataset:
    """Area-weighted mean, min and max of ``da`` over the sea cells inside ``mask``, per step.

    ``depth``, ``scenario``, ``start`` and ``end`` are as in :func:`select`. ``minus``: a run
    to subtract cell by cell (the change ``scenario - minus``, in the variable's units). Only
    the rows and columns the region touches are read. Returns a lazy Dataset with variables
    ``mean``, ``min`` and ``max`` on ``time`` (and ``scenario`` when ``"all"``), NaN at steps
    with no sea cell inside.
    """

    def pick(window: xr.DataArray) -> xr.DataArray:
        values = select(window, depth=depth, scenario=scenario, start=start, end=end)
        if minus is None:
            return values
        base = select(window, depth=depth, scenario=minus, start=start, end=end)
        return values - base.assign_coords({d: values[d] for d in values.dims})

    sub, area, hdims = _masked_parts(da, mask, pick)
    sub = sub.transpose(..., *hdims)
    weights = np.asarray(area.values, dtype=float)  # NaN outside the region
    data = sub.data
    if isinstance(data, dsa.Array):
        # one task per map: each chunk is reduced where it is read (no graph of
        # intermediate arrays, which would cost more than the read itself)
        data = data.rechunk({data.ndim - 2: -1, data.ndim - 1: -1})
        reduced = data.map_blocks(
            _weighted_reduction,
            weights,
            drop_axis=data.ndim - 1,
            chunks=(*data.chunks[:-2], (3,)),
            dtype=float,
            meta=np.empty((0,) * (data.ndim - 1), float),
        )
    else:
        reduced = _weighted_reduction(np.asarray(data), weights)
    other = sub.dims[:-2]
    coords = {d: sub[d] for d in other if d in sub.coords}
    parts = xr.DataArray(reduced, dims=(*other, "statistic"), coords=coords)
    attrs = {k: da.attrs[k] for k in ("units", "long_name", "standard_name") if k in da.attrs}
    methods = ("area: mean (area-weighted)", "area: minimum", "area: maximum")
    out = xr.Dataset(
        {
            name: parts[..., i].assign_attrs(attrs, cell_methods=method)
            for i, (name, method) in enumerate(zip(("mean", "min", "max"), methods, strict=True))
        }
    )
    return out.drop_vars([c for c in out.coords if c not in out.dims])


def _weighted_reduction(values: np.ndarray, area: np.ndarray) -> np.ndarray:
    """(..., 3): area-weighted mean, min and max over the last two axes of ``values``, of the
    cells with data and a finite area (NaN where there is none)."""
    values = np.asarray(values, dtype=float)
    wet = np.isfinite(values) & np.isfinite(area)
    weight = np.where(wet, area, 0.0)
    total = weight.sum(axis=(-2, -1))
    weighted = np.where(wet, values * weight, 0.0).sum(axis=(-2, -1))
    some = total > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(some, weighted / np.where(some, total, 1.0), np.nan)
    low = np.where(wet, values, np.inf).min(axis=(-2, -1))
    high = np.where(wet, values, -np.inf).max(axis=(-2, -1))
    any_wet = wet.any(axis=(-2, -1))
    return np.stack(
        [mean, np.where(any_wet, low, np.nan), np.where(any_wet, high, np.nan)], axis=-1
    )


def region_cells(da2d: xr.DataArray, mask: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    """Values and areas (km²) of the sea cells with data inside ``mask``, for one map.

    Only the rows and columns the region touches are read. Returns two 1-D arrays of the
    same length (empty when the region holds no such cell).
    """
    hdims = _horizontal_dims(da2d)
    if set(da2d.dims) != set(hdims):
        raise SourceError(f"a region's cells need one map on {hdims}, got dims {da2d.dims}")
    sub, area, _ = _masked_parts(da2d.transpose(*hdims), mask)
    values = np.asarray(sub.values, dtype=float)
    weights = np.asarray(area.values, dtype=float)
    wet = np.isfinite(values) & np.isfinite(weights)
    return values[wet], weights[wet]


def region_stats(da2d: xr.DataArray, mask: xr.DataArray) -> dict[str, float]:
    """Statistics of one map over the sea cells inside ``mask`` (reads those cells).

    Returns ``mean``, ``min``, ``max``, ``std`` (mean and std area-weighted),
    ``ocean_area_km2`` (the area of the sea cells inside) and ``cells`` (their number).

    Raises
    ------
    SourceError
        When ``da2d`` is not a map, or no sea cell lies inside the region.
    """
    hdims = _horizontal_dims(da2d)
    if set(da2d.dims) != set(hdims):
        raise SourceError(f"region statistics need one map on {hdims}, got dims {da2d.dims}")
    sub, area, _ = _masked_parts(da2d.transpose(*hdims), mask)
    values = np.asarray(sub.values, dtype=float)
    weights = np.asarray(area.values, dtype=float)
    wet = np.isfinite(values) & np.isfinite(weights)
    if not wet.any():
        raise SourceError("the region holds no sea cell with data (land, or no data there)")
    v, w = values[wet], weights[wet]
    mean = float(np.sum(v * w) / np.sum(w))
    return {
        "mean": mean,
        "min": float(v.min()),
        "max": float(v.max()),
        "std": float(np.sqrt(np.sum(w * (v - mean) ** 2) / np.sum(w))),
        "ocean_area_km2": float(np.sum(w)),
        "cells": int(v.size),
    }
