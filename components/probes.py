"""Probes: what the data say at a point and over a region (the computation core).

Pure xarray/numpy on arrays that follow the data contract (``data_adapters.contract``):
dimensions from ``(scenario, member, time, depth, lat, lon)``, or ``(…, y, x)`` with 2-D
``lat``/``lon`` on curvilinear grids, longitudes in [-180, 180). Everything stays lazy until
asked: a point series indexes the one cell before anything is read, so dask reads only the
chunks that hold it; an area series reads only the rows and columns that touch the region.

The map (``components.probe_view``) and the command line (``ocean-explorer timeseries`` and
``export``) both call these functions.

- :func:`nearest_ocean_cell` turns a clicked (lon, lat) into a :class:`Cell`, snapping a
  click on land to the nearest sea cell;
- :func:`point_series`, :func:`profile` and :func:`section` read at a cell;
- :func:`cell_area_km2`, :func:`region_mask`, :func:`area_series` and :func:`region_stats`
  give area-weighted statistics over a box or a polygon;
- :func:`to_csv` writes a series as CSV with a first comment line naming the cell.
"""

from __future__ import annotations

import csv
import os
import pathlib
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np
import xarray as xr

from data_adapters.contract import bbox as grid_bbox
from data_adapters.errors import SourceError, did_you_mean

#: Mean Earth radius (km, IUGG): areas use a sphere of this radius.
EARTH_RADIUS_KM = 6371.0088
#: Cells a click on land may move to reach the sea (in grid cells, each way).
SNAP_CELLS = 3
#: The ``scenario`` value that asks for every run side by side.
ALL_SCENARIOS = "all"
#: Name of the one run of a source without a ``scenario`` dimension.
BASELINE = "baseline"


# -- cells ----------------------------------------------------------------------------------
def _number(value: float) -> str:
    """Up to 6 decimals, without trailing zeros: -30.125, 20, -179.958333."""
    text = f"{float(value) + 0.0:.6f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


@dataclass(frozen=True)
class Cell:
    """One grid cell picked for a probe.

    Attributes
    ----------
    index
        Integer position on the horizontal dims: ``{"lat": j, "lon": i}`` on regular grids,
        ``{"y": j, "x": i}`` on curvilinear ones (``da.isel(cell.index)`` reads it).
    lon, lat
        The cell centre in degrees (lon in [-180, 180)).
    snapped
        True when the point asked for was on land and this is the nearest sea cell.
    distance_km
        Great-circle distance from the point asked for to the cell centre (km).
    """

    index: dict[str, int] = field(hash=False)
    lon: float
    lat: float
    snapped: bool = False
    distance_km: float = 0.0

    def header(self, depth: float | None = None) -> str:
        """The machine-readable cell line of CSV files: ``lon=-30.125,lat=20.125[,depth=10]``."""
        text = f"lon={_number(self.lon)},lat={_number(self.lat)}"
        return text if depth is None else f"{text},depth={_number(depth)}"

    def label(self, depth: float | None = None, units: str = "m") -> str:
        """A human label: ``"lon=-30.125, lat=20.125, depth=10 m"`` (depth when given)."""
        text = f"lon={_number(self.lon)}, lat={_number(self.lat)}"
        if depth is not None:
            text += f", depth={_number(depth)} {units}".rstrip()
        return text


def _horizontal_dims(da: xr.DataArray | xr.Dataset) -> tuple[str, str]:
    """(row dim, column dim): ("lat", "lon") or ("y", "x")."""
    if "lon" not in da.coords or "lat" not in da.coords:
        raise SourceError("the data have no lon/lat coordinates; open them through a catalog")
    return ("y", "x") if da["lon"].ndim == 2 else ("lat", "lon")


def _unit_vectors(lon: Any, lat: Any) -> np.ndarray:
    """3-D unit vectors (…, 3) of points on the sphere; the dateline is no seam here."""
    lam, phi = np.radians(np.asarray(lon, float)), np.radians(np.asarray(lat, float))
    cos_phi = np.cos(phi)
    return np.stack([cos_phi * np.cos(lam), cos_phi * np.sin(lam), np.sin(phi)], axis=-1)


def great_circle_km(lon1: Any, lat1: Any, lon2: Any, lat2: Any) -> np.ndarray:
    """Great-circle distance (km) between points in degrees (haversine; broadcasts)."""
    lam1, phi1, lam2, phi2 = (np.radians(np.asarray(v, float)) for v in (lon1, lat1, lon2, lat2))
    a = (
        np.sin((phi2 - phi1) / 2) ** 2
        + np.cos(phi1) * np.cos(phi2) * np.sin((lam2 - lam1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _wrap(lon: Any) -> Any:
    """Longitude difference or value wrapped into [-180, 180)."""
    return (np.asarray(lon, float) + 180.0) % 360.0 - 180.0


def _step(values: np.ndarray) -> float:
    """Typical spacing of 1-D centres (degrees)."""
    return float(np.median(np.abs(np.diff(values)))) if values.size > 1 else np.nan


def _point_text(lon: float, lat: float) -> str:
    return f"({lon:g}, {lat:g})"


def _outside(lon: float, lat: float, da: xr.DataArray) -> SourceError:
    west, south, east, north = grid_bbox(da)  # type: ignore[arg-type]  # reads lon/lat only
    return SourceError(
        f"{_point_text(lon, lat)} is outside the grid (W {west:g}, S {south:g}, E {east:g}, "
        f"N {north:g}); pick a point inside it"
    )


def _map(da: xr.DataArray) -> xr.DataArray:
    """The 2-D horizontal field of ``da`` (first index along any other dim)."""
    rows, cols = _horizontal_dims(da)
    extra = {d: 0 for d in da.dims if d not in (rows, cols)}
    return da.isel(extra) if extra else da


def nearest_ocean_cell(
    da: xr.DataArray, lon: float, lat: float, snap_cells: int = SNAP_CELLS
) -> Cell:
    """The grid cell of ``da`` at (lon, lat), moved to the nearest sea cell if on land.

    Parameters
    ----------
    da
        A 2-D field on (lat, lon) or (y, x) whose finite cells are sea (NaN is land or no
        data); any other dims are taken at their first index. Only the cells around the
        point are read.
    lon, lat
        The point in degrees (any longitude; it is wrapped).
    snap_cells
        How far (grid cells each way, along the grid's rows and columns) a point on land may
        move to reach the nearest sea cell, by great-circle distance.

    Raises
    ------
    SourceError
        When the point is more than one grid cell from every cell (outside the grid), or on
        land with no sea cell within ``snap_cells`` cells.
    """
    lon, lat = float(lon), float(lat)
    if not (np.isfinite(lon) and np.isfinite(lat)) or abs(lat) > 90:
        raise SourceError(f"{_point_text(lon, lat)} is not a longitude/latitude in degrees")
    lon = float(_wrap(lon))
    da = _map(da)
    rows, cols = _horizontal_dims(da)
    if da["lon"].ndim == 1:
        j, i, window = _regular_nearest(da, lon, lat, snap_cells)
    else:
        j, i, window = _curvilinear_nearest(da, lon, lat, snap_cells)
    row_idx, col_idx = window
    window = da.isel({rows: row_idx, cols: col_idx}).transpose(rows, cols)
    values = np.asarray(window.values, dtype=float)
    centre = (int(np.flatnonzero(row_idx == j)[0]), int(np.flatnonzero(col_idx == i)[0]))
    snapped = False
    if not np.isfinite(values[centre]):
        wet = np.argwhere(np.isfinite(values))
        if wet.size == 0:
            raise SourceError(
                f"{_point_text(lon, lat)} is on land; the nearest ocean cell is more than "
                f"{snap_cells} cells away; pick a point at sea"
            )
        wet_rows, wet_cols = row_idx[wet[:, 0]], col_idx[wet[:, 1]]
        lons, lats = _centres(da, wet_rows, wet_cols)
        best = int(np.argmin(great_circle_km(lon, lat, lons, lats)))
        j, i, snapped = int(wet_rows[best]), int(wet_cols[best]), True
    (cell_lon,), (cell_lat,) = _centres(da, np.array([j]), np.array([i]))
    return Cell(
        index={rows: j, cols: i},
        lon=float(cell_lon),
        lat=float(cell_lat),
        snapped=snapped,
        distance_km=float(great_circle_km(lon, lat, cell_lon, cell_lat)),
    )


def _centres(da: xr.DataArray, j: np.ndarray, i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """lon, lat of the cells (j[k], i[k])."""
    if da["lon"].ndim == 1:
        return np.asarray(da["lon"].values)[i], np.asarray(da["lat"].values)[j]
    return np.asarray(da["lon"].values)[j, i], np.asarray(da["lat"].values)[j, i]


def _regular_nearest(
    da: xr.DataArray, lon: float, lat: float, snap: int
) -> tuple[int, int, tuple[np.ndarray, np.ndarray]]:
    lons = np.asarray(da["lon"].values, dtype=float)
    lats = np.asarray(da["lat"].values, dtype=float)
    dlon = np.abs(_wrap(lons - lon))
    dlat = np.abs(lats - lat)
    i, j = int(np.argmin(dlon)), int(np.argmin(dlat))
    step_lon, step_lat = _step(lons), _step(lats)
    # a grid one cell wide or tall: its other axis' spacing is the best guess of the cell
    step_lon = step_lon if np.isfinite(step_lon) else step_lat
    step_lat = step_lat if np.isfinite(step_lat) else step_lon
    tolerance = 1e-9
    if not (
        dlon[i] <= (step_lon if np.isfinite(step_lon) else 0.0) + tolerance
        and dlat[j] <= (step_lat if np.isfinite(step_lat) else 0.0) + tolerance
    ):
        raise _outside(lon, lat, da)
    row_idx = np.arange(max(j - snap, 0), min(j + snap, lats.size - 1) + 1)
    # columns next to each other in the array need not be on the map: a regional grid
    # across the dateline, stored ascending, jumps from -170 to 170 between two columns
    # (and its last column neighbours the first). The window is the columns within
    # ``snap`` cells of the point's column in longitude, cyclically.
    cols = np.unique((i + np.arange(-snap, snap + 1)) % lons.size)
    reach = (snap + 0.5) * (step_lon if np.isfinite(step_lon) else 0.0) + tolerance
    col_idx = cols[np.abs(_wrap(lons[cols] - lons[i])) <= reach]
    return j, i, (row_idx, col_idx)


#: KD-trees of recent curvilinear grids, by a hash of their coordinates (a few MB each).
_TREES: OrderedDict[int, tuple[Any, np.ndarray]] = OrderedDict()
_TREES_KEPT = 4
_TREES_LOCK = threading.Lock()


def _tree_for(lon: np.ndarray, lat: np.ndarray) -> tuple[Any, np.ndarray]:
    """A KD-tree of the finite centres as 3-D unit vectors, and their flat indices.

    Unit vectors make the search correct across the dateline and near the poles.
    """
    from scipy.spatial import cKDTree

    key = hash((lon.shape, lon.tobytes(), lat.tobytes()))
    with _TREES_LOCK:  # sessions of the served app probe from several threads
        if key in _TREES:
            _TREES.move_to_end(key)
            return _TREES[key]
    flat = np.flatnonzero(np.isfinite(lon) & np.isfinite(lat))
    tree = cKDTree(_unit_vectors(lon.ravel()[flat], lat.ravel()[flat])) if flat.size else None
    with _TREES_LOCK:
        _TREES[key] = (tree, flat)
        while len(_TREES) > _TREES_KEPT:
            _TREES.popitem(last=False)
    return tree, flat


def _curvilinear_nearest(
    da: xr.DataArray, lon: float, lat: float, snap: int
) -> tuple[int, int, tuple[np.ndarray, np.ndarray]]:
    lons = np.asarray(da["lon"].transpose("y", "x").values, dtype=float)
    lats = np.asarray(da["lat"].transpose("y", "x").values, dtype=float)
    tree, flat = _tree_for(lons, lats)
    if flat.size == 0:
        raise SourceError("the grid has no finite longitude/latitude; check the source's coords")
    chord, k = tree.query(_unit_vectors(lon, lat))
    j, i = (int(v) for v in np.unravel_index(flat[int(k)], lons.shape))
    # the cell's size: the farthest of its neighbours along the grid's rows and columns
    ny, nx = lons.shape
    near = [(j + dj, i + di) for dj, di in ((-1, 0), (1, 0), (0, -1), (0, 1))]
    near = [(a, b) for a, b in near if 0 <= a < ny and 0 <= b < nx]
    spacing = max(
        (float(great_circle_km(lons[j, i], lats[j, i], lons[a, b], lats[a, b])) for a, b in near),
        default=0.0,
    )
    distance = 2 * EARTH_RADIUS_KM * np.arcsin(min(float(chord) / 2, 1.0))
    if not np.isfinite(spacing) or distance > spacing * (1 + 1e-9):
        raise _outside(lon, lat, da)
    row_idx = np.arange(max(j - snap, 0), min(j + snap, ny - 1) + 1)
    col_idx = np.arange(max(i - snap, 0), min(i + snap, nx - 1) + 1)
    return j, i, (row_idx, col_idx)


# -- choosing the run, level and period -----------------------------------------------------
def select(
    da: xr.DataArray,
    depth: float | None = None,
    scenario: str | None = None,
    start: Any = None,
    end: Any = None,
    *,
    whole_column: bool = False,
    members: bool = False,
) -> xr.DataArray:
    """``da`` (lazy) at one scenario, member and depth level, over ``start``..``end``.

    Parameters
    ----------
    depth
        Metres, positive down: the nearest level is used. None: the top level, or every
        level with ``whole_column=True``.
    scenario
        A run's label; None: the baseline (the first run); ``"all"``: every run, on a
        ``scenario`` dim (a source with one run gives one, labelled ``baseline``).
    start, end
        Times (ISO strings such as ``"2025-03"`` or ``"2025-03-10T12:00"``, or time values),
        both included; None: from the first or to the last step.
    members
        Keep every ensemble member (default: the first).

    Raises
    ------
    SourceError
        For an unknown scenario, a negative depth, a depth on a variable without levels, or
        a period with no time step.
    """
    name = da.name or "the variable"
    labels = [str(s) for s in da["scenario"].values] if "scenario" in da.dims else [BASELINE]
    if scenario == ALL_SCENARIOS:
        if "scenario" not in da.dims:
            da = da.expand_dims(scenario=np.array([BASELINE], dtype=object))
    else:
        wanted = labels[0] if scenario is None else str(scenario)
        if wanted not in labels:
            raise SourceError(
                f"no scenario '{wanted}'{did_you_mean(wanted, labels)}; the runs are: "
                f"{', '.join(labels)}" + ("" if len(labels) > 1 else " (one run)")
            )
        if "scenario" in da.dims:
            da = da.isel(scenario=labels.index(wanted))
    if "member" in da.dims and not members:
        da = da.isel(member=0)
    if depth is not None:
        if "depth" not in da.dims:
            raise SourceError(f"'{name}' has no depth levels; leave the depth out")
        if not float(depth) >= 0:
            raise SourceError(f"depth {float(depth):g}: depth is in metres, positive down")
        levels = np.asarray(da["depth"].values, dtype=float)
        da = da.isel(depth=int(np.argmin(np.abs(levels - float(depth)))))
    elif "depth" in da.dims and not whole_column:
        da = da.isel(depth=0)
    if start is not None or end is not None:
        da = _period(da, start, end)
    return da


def _period(da: xr.DataArray, start: Any, end: Any) -> xr.DataArray:
    if "time" not in da.dims:
        raise SourceError(f"'{da.name}' has no time axis; leave start and end out")
    # each bound alone first, so that the message names the one that is wrong
    for what, bound, cut in (("start", start, slice(start, None)), ("end", end, slice(None, end))):
        if bound is None:
            continue
        try:
            da.sel(time=cut)  # reads the time index only
        except (KeyError, TypeError, ValueError) as exc:
            calendar = da["time"].dt.calendar
            calendar = "standard" if calendar in ("proleptic_gregorian", "gregorian") else calendar
            raise SourceError(
                f"{what} '{bound}' is not a time of this calendar ({calendar}); use an ISO "
                "date or time of it, such as 2025-03-10 or 2025-03-10T12:00"
            ) from exc
    out = da.sel(time=slice(start, end))
    if out.sizes["time"] == 0:
        first, last = iso_times(da["time"].values[[0, -1]])
        raise SourceError(
            f"no time step from {start or 'the start'} to {end or 'the end'}; "
            f"the data cover {first} .. {last}"
        )
    return out


# -- at a cell ------------------------------------------------------------------------------
def _at(da: xr.DataArray, cell: Cell) -> xr.DataArray:
    missing = [d for d in cell.index if d not in da.dims]
    if missing:
        raise SourceError(
            f"the cell {cell.label()} is on dims {tuple(cell.index)}, the data on {da.dims}; "
            "pick the cell on the same grid"
        )
    # index first: nothing is read yet, and dask then reads only the chunks holding the cell
    return da.isel(cell.index)


def point_series(
    da: xr.DataArray,
    cell: Cell,
    depth: float | None = None,
    scenario: str | None = None,
    start: Any = None,
    end: Any = None,
    members: bool = False,
) -> xr.DataArray:
    """The time series of ``da`` at ``cell`` (lazy; only that cell's chunks are read).

    ``depth``, ``scenario``, ``start``, ``end`` and ``members`` are as in :func:`select`
    (default: top level, baseline, every step, first member). Returns a DataArray on
    ``time`` with the variable's attrs and the cell's ``lon``/``lat`` (and ``depth``) as
    scalar coordinates; on ``(time, scenario)`` when ``scenario="all"``.
    """
    point = _at(da, cell)
    if "time" not in point.dims:
        raise SourceError(f"'{da.name}' has no time axis, so it has no time series")
    point = select(point, depth=depth, scenario=scenario, start=start, end=end, members=members)
    order = [d for d in ("time", "scenario", "member") if d in point.dims]
    return point.transpose(*order, ...)


def profile(
    da: xr.DataArray, cell: Cell, time_index: int, scenario: str | None = None
) -> xr.DataArray:
    """Value against depth at ``cell`` and time step ``time_index`` (lazy, on ``depth``)."""
    point = _at(da, cell)
    if "depth" not in point.dims:
        raise SourceError(f"'{da.name}' has no depth levels, so it has no profile")
    point = select(point, scenario=scenario, whole_column=True)
    if "time" in point.dims:
        steps = point.sizes["time"]
        if not -steps <= int(time_index) < steps:
            raise SourceError(f"time step {time_index} is outside 0..{steps - 1}")
        point = point.isel(time=int(time_index))
    return point


def section(
    da: xr.DataArray,
    cell: Cell,
    scenario: str | None = None,
    start: Any = None,
    end: Any = None,
) -> xr.DataArray:
    """Time against depth at ``cell`` (a Hovmöller diagram at the point; lazy, (time, depth))."""
    point = _at(da, cell)
    if "depth" not in point.dims or "time" not in point.dims:
        raise SourceError(f"'{da.name}' needs time and depth for a section; it has {da.dims}")
    point = select(point, scenario=scenario, start=start, end=end, whole_column=True)
    return point.transpose("time", "depth", ...)  # then ``scenario`` with "all"


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


def _in_lon_range(lon: np.ndarray, west: float, east: float) -> np.ndarray:
    """Longitudes from ``west`` eastward to ``east`` (W > E crosses the dateline).

    Either bound may lie outside [-180, 180) (a map panned past the dateline gives 170..190);
    a range of 360 degrees or more is the whole circle.
    """
    lon = np.asarray(lon, float)
    if east - west >= 360.0:
        return np.ones(lon.shape, dtype=bool)
    # bounds inside the range are compared as given, so a centre on an edge stays inside
    west = west if -180.0 <= west < 180.0 else float(_wrap(west))
    east = east if -180.0 <= east <= 180.0 else float(_wrap(east))
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
    vertices[1:, 0] = vertices[0, 0] + np.cumsum(_wrap(np.diff(vertices[:, 0])))
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


def _masked_parts(
    da: xr.DataArray, mask: xr.DataArray
) -> tuple[xr.DataArray, xr.DataArray, tuple[str, str]]:
    """(values, areas NaN outside the region) over the rows and columns the region touches."""
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
    sub = da.isel(window)
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
) -> xr.Dataset:
    """Area-weighted mean, min and max of ``da`` over the sea cells inside ``mask``, per step.

    ``depth``, ``scenario``, ``start`` and ``end`` are as in :func:`select`. Only the rows and
    columns the region touches are read. Returns a lazy Dataset with variables ``mean``,
    ``min`` and ``max`` on ``time`` (and ``scenario`` when ``"all"``), NaN at steps with no
    sea cell inside.
    """
    da = select(da, depth=depth, scenario=scenario, start=start, end=end)
    sub, area, hdims = _masked_parts(da, mask)
    weight = area.where(sub.notnull())
    total = weight.sum(hdims)
    mean = (sub * weight).sum(hdims) / total.where(total > 0)
    inside = sub.where(area.notnull())
    attrs = {k: da.attrs[k] for k in ("units", "long_name", "standard_name") if k in da.attrs}
    out = xr.Dataset(
        {
            "mean": mean.assign_attrs(attrs, cell_methods="area: mean (area-weighted)"),
            "min": inside.min(hdims).assign_attrs(attrs, cell_methods="area: minimum"),
            "max": inside.max(hdims).assign_attrs(attrs, cell_methods="area: maximum"),
        }
    )
    return out.drop_vars([c for c in out.coords if c not in out.dims])


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


# -- CSV ------------------------------------------------------------------------------------
def _iso(value: Any) -> str:
    """ISO 8601 label of one time value (datetime64 or cftime), to the second."""
    if hasattr(value, "isoformat"):
        return str(value.isoformat()).split(".")[0]
    return str(np.datetime_as_string(np.datetime64(value, "s"), unit="s"))


def iso_times(values: Any) -> list[str]:
    """ISO labels of time values: dates alone when every step is at midnight."""
    labels = [_iso(v) for v in np.asarray(values).ravel()]
    if all(label.endswith("T00:00:00") for label in labels):
        labels = [label[: -len("T00:00:00")] for label in labels]
    return labels


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
