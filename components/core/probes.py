"""Probes: what the data say at a grid cell (the computation core).

Pure xarray/numpy on arrays that follow the data contract (``data_adapters.contract``):
dimensions from ``(scenario, member, time, depth, lat, lon)``, or ``(…, y, x)`` with 2-D
``lat``/``lon`` on curvilinear grids, longitudes in [-180, 180). Everything stays lazy until
asked: a point series indexes the one cell before anything is read, so dask reads only the
chunks that hold it.

The map's probes (``components.probe_view``) and the command line (``ocean-explorer
timeseries``) both call these functions.

- :func:`nearest_ocean_cell` turns a clicked (lon, lat) into a :class:`Cell`, snapping a
  click on land to the nearest sea cell;
- :func:`point_series`, :func:`profile` and :func:`section` read at a cell.

Areas and regions are in :mod:`components.core.regions`; choosing the run, level and period
in :mod:`components.core.fields`; CSV in :mod:`components.core.tables`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from data_adapters import vertical
from data_adapters.contract import bbox as grid_bbox
from data_adapters.errors import SourceError

from .fields import select
from .geography import wrap_lon

#: Mean Earth radius (km, IUGG): areas and distances use a sphere of this radius.
EARTH_RADIUS_KM = 6371.0088
#: Cells a click on land may move to reach the sea (in grid cells, each way).
SNAP_CELLS = 3


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


def _step(values: np.ndarray) -> float:
    """Typical spacing of 1-D centres (degrees)."""
    return float(np.median(np.abs(np.diff(values)))) if values.size > 1 else np.nan


def _point_text(lon: float, lat: float) -> str:
    return f"({lon:g}, {lat:g})"


class OutsideGridError(SourceError):
    """A point farther than one grid cell from every cell of the grid."""


def _outside(lon: float, lat: float, da: xr.DataArray) -> SourceError:
    west, south, east, north = grid_bbox(da)  # type: ignore[arg-type]  # reads lon/lat only
    return OutsideGridError(
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
        When the point is more than one grid cell from every cell (outside the grid: an
        :class:`OutsideGridError`), or on land with no sea cell within ``snap_cells`` cells.
    """
    lon, lat = float(lon), float(lat)
    if not (np.isfinite(lon) and np.isfinite(lat)) or abs(lat) > 90:
        raise SourceError(f"{_point_text(lon, lat)} is not a longitude/latitude in degrees")
    lon = float(wrap_lon(lon))
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
    dlon = np.abs(wrap_lon(lons - lon))
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
    col_idx = cols[np.abs(wrap_lon(lons[cols] - lons[i])) <= reach]
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
    if vertical.has_true_depths(point):
        # s-coordinates: the column's own depths in metres, not the level numbers
        point = point.assign_coords(depth=point[vertical.DEPTH_M]).drop_vars(vertical.DEPTH_M)
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
