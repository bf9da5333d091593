"""Grids and frames: the server-side renderer shared by the map view and ``ocean-explorer render``.

A frame is the field resampled by Datashader to exactly the viewport's pixels: the browser
(or the PNG) never gets the whole grid. Map cost follows the viewport: only the cells in
view are read, coordinates are projected as 1-D arrays on regular grids, and a field with
coarser copies (:class:`FieldPyramid`, from a prepared store's map pyramid) is read from the
coarsest copy whose cells are still no larger than a pixel.

Grid kinds recognise themselves (``grid_for``) and say how they render:

- ``RegularGrid``: 1-D lon/lat; rectilinear quadmesh (in Web Mercator the rows are simply
  unevenly spaced), windows that wrap across the dateline are stitched from both ends;
- ``CurvilinearGrid``: 2-D lon/lat on (y, x); curvilinear quadmesh, with the cells that
  straddle the dateline after wrapping masked so they never smear across the map.
"""

from __future__ import annotations

import functools
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import datashader as dsh
import numpy as np
import xarray as xr

from data_adapters.pyramid import MapPyramid

from .geography import (
    LONLAT,
    MERCATOR_MAX_LAT,
    WEB_MERCATOR,
    Viewport,
    lat_to_y,
    lon_to_x,
    to_crs,
    x_to_lon,
    y_to_lat,
)

#: Cells read beyond the viewport on each side, so edge pixels get whole cells.
MARGIN_CELLS = 2


@dataclass
class Frame:
    """A rendered field: one value per pixel (NaN: no data or land), y ascending."""

    values: np.ndarray
    viewport: Viewport
    #: cells of the source grid that were read for this frame
    cells_read: int
    #: the pyramid level read: cells this many times larger than the full grid's (1: the
    #: full grid itself)
    factor: int = 1

    def to_xarray(self, name: str = "value") -> xr.DataArray:
        """The frame as a DataArray on (y, x) pixel centres, plus lon/lat of each pixel."""
        x, y = self.viewport.pixel_centres()
        da = xr.DataArray(self.values, coords=[("y", y), ("x", x)], name=name)
        if self.viewport.crs == WEB_MERCATOR:
            lon = ((x_to_lon(x) + 180.0) % 360.0) - 180.0
            lat = y_to_lat(y)
        else:
            lon, lat = ((x + 180.0) % 360.0) - 180.0, y
        return da.assign_coords(lon=("x", lon), lat=("y", lat))


# -- grid kinds -----------------------------------------------------------------------------
class RegularGrid:
    """1-D ascending ``lon`` in [-180, 180) and ``lat``: windows by label, wrap by stitching."""

    @staticmethod
    def recognises(da: xr.DataArray) -> bool:
        return da["lon"].ndim == 1 and da["lat"].ndim == 1

    def window(self, da: xr.DataArray, viewport: Viewport) -> xr.DataArray:
        """The cells in view (lazy), lon unwrapped to run continuously across the view.

        The window is cut from ``da``'s variable and given bare lon/lat coordinates (no
        index, no scalar coordinates): what a frame reads is its values and their positions,
        and xarray's coordinate alignment would cost a map tile more than its pixels do.
        """
        lon0, lat0, lon1, lat1 = viewport.lon_lat_bounds()
        lat, lon = da["lat"].values, da["lon"].values
        step_lat = float(np.median(np.diff(lat))) if lat.size > 1 else 1.0
        rows = (lat >= lat0 - MARGIN_CELLS * step_lat) & (lat <= lat1 + MARGIN_CELLS * step_lat)
        row_index = _as_slice(np.flatnonzero(rows)) if not rows.all() else slice(None)
        step = float(np.median(np.diff(lon))) if lon.size > 1 else 1.0
        lo, hi = lon0 - MARGIN_CELLS * step, lon1 + MARGIN_CELLS * step
        if hi - lo >= 360.0:
            lo, hi = lo, lo + 360.0 + 2 * MARGIN_CELLS * step
        pieces = []
        # Each copy of the globe (k * 360° away) that overlaps [lo, hi] contributes its columns
        for k in range(math.floor((lo + 180.0) / 360.0), math.floor((hi + 180.0) / 360.0) + 1):
            shifted = lon + 360.0 * k
            cols = np.flatnonzero((shifted >= lo) & (shifted <= hi))
            if cols.size:
                pieces.append((_as_slice(cols), shifted[cols]))
        pieces = pieces or [(slice(0, 0), lon[:0])]
        parts = [da.variable.isel(lat=row_index, lon=cols) for cols, _ in pieces]
        values = parts[0] if len(parts) == 1 else xr.Variable.concat(parts, dim="lon")
        window_lon = np.concatenate([shifted for _, shifted in pieces])
        coords = {"lat": ("lat", lat[row_index]), "lon": ("lon", window_lon)}
        return xr.DataArray(values, coords=xr.Coordinates(coords, indexes={}), name=da.name)

    def rasterize(self, window: xr.DataArray, viewport: Viewport) -> np.ndarray:
        values = np.asarray(window.values, dtype="float32")
        x, y = to_crs(window["lon"].values, window["lat"].values, viewport.crs)
        if viewport.crs == WEB_MERCATOR:
            keep = np.abs(window["lat"].values) <= MERCATOR_MAX_LAT
            values, y = values[keep], y[keep]
        return _quadmesh(values, ("y", y), ("x", x), viewport)


def _as_slice(index: np.ndarray) -> slice | np.ndarray:
    """``index`` as a slice when it is a run of consecutive positions (it always is for a
    window of an ascending axis): dask then slices chunks instead of gathering cells."""
    if index.size and index[-1] - index[0] == index.size - 1:
        return slice(int(index[0]), int(index[-1]) + 1)
    return index


class CurvilinearGrid:
    """2-D ``lon``/``lat`` on (y, x): the bounding index box of the cells in view."""

    @staticmethod
    def recognises(da: xr.DataArray) -> bool:
        return da["lon"].ndim == 2

    def window(self, da: xr.DataArray, viewport: Viewport) -> xr.DataArray:
        lon0, lat0, lon1, lat1 = viewport.lon_lat_bounds()
        lon = da["lon"].values
        lat = da["lat"].values
        # widen the view by a few cells, so that a view inside one cell still finds it
        pad = MARGIN_CELLS * _cell_size(lon, lat)
        lon0, lat0, lon1, lat1 = lon0 - pad, lat0 - pad, lon1 + pad, lat1 + pad
        if lon1 - lon0 >= 360.0:
            in_lon = np.isfinite(lon)
        else:
            rel = (lon - lon0) % 360.0
            in_lon = rel <= (lon1 - lon0)
        inside = in_lon & (lat >= lat0) & (lat <= lat1)
        if not inside.any():
            return da.isel(y=slice(0, 0), x=slice(0, 0))
        rows, cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
        ny, nx = lon.shape
        y0, y1 = max(rows[0] - MARGIN_CELLS, 0), min(rows[-1] + MARGIN_CELLS + 1, ny)
        x0, x1 = max(cols[0] - MARGIN_CELLS, 0), min(cols[-1] + MARGIN_CELLS + 1, nx)
        window = da.isel(y=slice(y0, y1), x=slice(x0, x1))
        if viewport.crs == WEB_MERCATOR:
            # the grid's Mercator y, projected once per grid (not per frame), for this window
            y_merc = PROJECTED_Y.get(lat)[y0:y1, x0:x1]
            window = window.assign_coords({_MERCATOR_Y: (("y", "x"), y_merc)})
        return window

    def rasterize(self, window: xr.DataArray, viewport: Viewport) -> np.ndarray:
        if min(window.shape) < 2:  # no cells in view (or one row): nothing to draw
            return np.full((viewport.height, viewport.width), np.nan, dtype="float32")
        values = np.asarray(window.values, dtype="float32").copy()
        lon = window["lon"].values.astype("float64")
        lat = window["lat"].values.astype("float64")
        lon0, _, lon1, _ = viewport.lon_lat_bounds()
        # longitudes continuous across the view: within half a globe of the view's centre,
        # so the seam where they wrap lies opposite the view (at its edges for the globe)
        start = (lon0 + lon1) / 2.0 - 180.0
        lon = start + (lon - start) % 360.0
        # A cell whose neighbours, diagonal ones included, sit more than half the globe away
        # straddles the seam: Datashader puts each quad corner at the mean of the four cells
        # around it, so such a cell (or its neighbour) would be drawn across the whole map.
        seam = _neighbourhood_span(lon) > 180.0
        values[seam] = np.nan
        if viewport.crs == WEB_MERCATOR:
            values[np.abs(lat) > MERCATOR_MAX_LAT] = np.nan
            x = lon_to_x(lon)
            has_y = _MERCATOR_Y in window.coords
            y = window[_MERCATOR_Y].values if has_y else lat_to_y(lat)
        else:
            x, y = to_crs(lon, lat, viewport.crs)
        return _quadmesh(values, (("y", "x"), y), (("y", "x"), x), viewport)


#: Name of the window coordinate holding a curvilinear grid's Web Mercator y (m).
_MERCATOR_Y = "_mercator_y"
#: Curvilinear grids whose projected coordinates are kept (a grid of 1500 x 1000 cells
#: takes 12 MB).
PROJECTED_GRIDS = 8


class ProjectedY:
    """Web Mercator y of the 2-D latitudes of curvilinear grids, computed once per grid.

    Projecting 1.5 million cells costs about 90 ms (2 cores): every frame of such a grid
    would pay it again. Grids are known by the identity of their latitude array (kept here,
    so that its identity cannot pass to another array while cached): the slices of one
    dataset share their coordinate arrays. A bounded LRU of :data:`PROJECTED_GRIDS`.
    """

    def __init__(self, max_grids: int = PROJECTED_GRIDS) -> None:
        self.max_grids = max_grids
        self._grids: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()
        #: grids projected (misses), for tests
        self.misses = 0

    def get(self, lat: np.ndarray) -> np.ndarray:
        """Web Mercator y (m) of ``lat`` (degrees, clipped to the Mercator limit)."""
        with self._lock:
            entry = self._grids.get(id(lat))
            if entry is not None and entry[0] is lat:
                self._grids.move_to_end(id(lat))
                return entry[1]
        y = lat_to_y(lat)  # outside the lock: another grid's frame need not wait
        y.flags.writeable = False  # shared by every frame of the grid
        with self._lock:
            self.misses += 1
            self._grids[id(lat)] = (lat, y)
            while len(self._grids) > self.max_grids:
                self._grids.popitem(last=False)
        return y

    def clear(self) -> None:
        with self._lock:
            self._grids.clear()


#: The process's projected curvilinear grids.
PROJECTED_Y = ProjectedY()


def _cell_size(lon: np.ndarray, lat: np.ndarray, samples: int = 64) -> float:
    """Typical spacing (degrees) between neighbouring cells of 2-D lon/lat, from a sample."""
    steps = []
    for axis in (0, 1):
        if lon.shape[axis] < 2:
            continue
        other = lon.shape[1 - axis]
        pick = np.unique(np.linspace(0, other - 1, min(samples, other)).astype(int))
        sub_lon = np.take(lon, pick, axis=1 - axis)
        sub_lat = np.take(lat, pick, axis=1 - axis)
        d_lon = (np.diff(sub_lon, axis=axis) + 180.0) % 360.0 - 180.0
        d_lat = np.diff(sub_lat, axis=axis)
        step = np.hypot(d_lon, d_lat)
        if np.isfinite(step).any():
            steps.append(float(np.nanmedian(step)))
    return max(steps) if steps else 1.0


def _neighbourhood_span(lon: np.ndarray) -> np.ndarray:
    """Max minus min of ``lon`` over each cell's 3 x 3 neighbourhood (edges repeated)."""
    padded = np.pad(lon, 1, mode="edge")
    # separable: over the 3 columns, then over the 3 rows (four passes instead of a 9-deep
    # stack of shifted copies)
    rows_max = np.maximum(np.maximum(padded[:, :-2], padded[:, 1:-1]), padded[:, 2:])
    rows_min = np.minimum(np.minimum(padded[:, :-2], padded[:, 1:-1]), padded[:, 2:])
    top = np.maximum(np.maximum(rows_max[:-2], rows_max[1:-1]), rows_max[2:])
    bottom = np.minimum(np.minimum(rows_min[:-2], rows_min[1:-1]), rows_min[2:])
    return top - bottom


GRID_KINDS = (RegularGrid, CurvilinearGrid)


def grid_for(da: xr.DataArray) -> RegularGrid | CurvilinearGrid:
    """The grid kind that recognises ``da``."""
    for kind in GRID_KINDS:
        if kind.recognises(da):
            return kind()
    raise ValueError("field has neither 1-D nor 2-D lon/lat coordinates")


def _quadmesh(values: np.ndarray, y: tuple, x: tuple, viewport: Viewport) -> np.ndarray:
    """Mean of the cells falling in each pixel (many cells per pixel) or the cell under it."""
    out_shape = (viewport.height, viewport.width)
    if values.size == 0 or min(values.shape) < 2:
        return np.full(out_shape, np.nan, dtype="float32")
    source = xr.DataArray(values, dims=("y", "x"), coords={"y": y, "x": x}, name="value")
    canvas = dsh.Canvas(
        plot_width=viewport.width,
        plot_height=viewport.height,
        x_range=viewport.x_range,
        y_range=viewport.y_range,
    )
    agg = canvas.quadmesh(source, x="x", y="y", agg=dsh.mean("value"))
    return np.asarray(agg.values, dtype="float32")


# -- pyramids -------------------------------------------------------------------------------
@dataclass(frozen=True)
class FieldPyramid:
    """A 2-D field and coarser copies of it: the same slice of a map pyramid's levels.

    :meth:`level_for` picks, per viewport, the coarsest copy whose cells are still no larger
    than a pixel, so a zoomed-out map reads about one cell per pixel instead of the whole
    grid, and a zoomed-in one reads the full grid's own values (hover shows them).
    """

    full: xr.DataArray
    #: (factor, field): the field in cells ``factor`` times larger along each axis (block
    #: means that ignore NaN), factor ascending
    coarser: tuple[tuple[int, xr.DataArray], ...] = ()

    def level_for(self, viewport: Viewport) -> tuple[int, xr.DataArray]:
        """(factor, field) to read for ``viewport``: (1, :attr:`full`) unless a coarser copy's
        cells are at most one pixel wide (regular grids only)."""
        if not self._coarser_cells:
            return 1, self.full
        pixel = pixel_degrees(viewport)
        chosen: tuple[int, xr.DataArray] = (1, self.full)
        for (factor, da), cell in zip(self.coarser, self._coarser_cells, strict=True):
            # 1e-9: a level exactly one pixel wide qualifies despite rounding
            if cell <= pixel * (1 + 1e-9):
                chosen = (factor, da)
        return chosen

    @functools.cached_property
    def _coarser_cells(self) -> tuple[float, ...]:
        """The cell size (degrees) of each coarser copy; none for curvilinear grids (every
        tile of a map asks, so it is worked out once)."""
        if not self.coarser or not RegularGrid.recognises(self.full):
            return ()
        return tuple(_cell_degrees(da["lon"].values) for _, da in self.coarser)


def cell_degrees(da: xr.DataArray) -> float:
    """The typical cell size (degrees) of a field's grid, regular or curvilinear."""
    lon, lat = np.asarray(da["lon"].values, "float64"), np.asarray(da["lat"].values, "float64")
    if lon.ndim == 2:
        return _cell_size(lon, lat)
    return min(_cell_degrees(lon), _cell_degrees(lat))


def _cell_degrees(lon: np.ndarray) -> float:
    """Spacing (degrees) of a regular grid's 1-D longitudes."""
    lon = np.asarray(lon, dtype="float64")
    return float(np.median(np.abs(np.diff(lon)))) if lon.size > 1 else 360.0


def pixel_degrees(viewport: Viewport) -> float:
    """The size of a pixel in degrees at the centre of ``viewport``: the smaller of its width
    (degrees of longitude) and its height (degrees of latitude).

    Web Mercator pixels are square on the ground, so their height in degrees of latitude is
    their width times cos(latitude): measured at the centre, a whole-globe view (centred on
    the equator) takes its pixel width, and a view of the Arctic smaller pixels.
    """
    lon0, lat0, lon1, lat1 = viewport.lon_lat_bounds()
    width = (lon1 - lon0) / viewport.width
    if viewport.crs == LONLAT:
        return min(width, (lat1 - lat0) / viewport.height)
    centre = float(y_to_lat(np.array(sum(viewport.y_range) / 2.0)))
    return width * math.cos(math.radians(centre))


def pyramid_for(field: xr.DataArray, pyramid: MapPyramid | None) -> FieldPyramid:
    """``field`` (a 2-D slice of an opened source's dataset) and the same slice of each of
    that source's map pyramid levels (``OpenedSource.pyramid``: a prepared store's; none for
    others).

    The slice is found by the field's scalar coordinates (time, depth, scenario...), so each
    copy shows the same step, level and run. A level that lacks the variable, or where the
    slice cannot be found, is left out; curvilinear grids have no pyramid.
    """
    if isinstance(pyramid, xr.Dataset):  # the levels are the source's, not the dataset's
        raise TypeError("pyramid_for takes the source's pyramid (OpenedSource.pyramid)")
    if pyramid is None or field.name is None or not RegularGrid.recognises(field):
        return FieldPyramid(field)
    coarser = []
    for level in pyramid.levels:
        if field.name not in level.dataset.data_vars:
            continue
        da = level.dataset[field.name]
        at = {}
        for dim in da.dims:
            if dim in field.dims:
                continue
            coord = field.coords.get(dim)
            if coord is None or coord.ndim != 0:
                break  # the field does not say which index of ``dim`` it is
            if coord.attrs.get("units") != da[dim].attrs.get("units"):
                break  # 50 m interpolated on s-coordinates is not level 50 of the pyramid
            at[dim] = coord.values[()]
        else:
            try:
                da = da.sel(at)
            except (KeyError, ValueError, TypeError):
                continue
            if da.dims == field.dims:
                coarser.append((level.factor, da))
    return FieldPyramid(field, tuple(coarser))


def render_field(field: xr.DataArray | FieldPyramid, viewport: Viewport) -> Frame:
    """Render a 2-D field (lazy is fine: only the window is read) into ``viewport``.

    With a :class:`FieldPyramid`, the level that suits the viewport is read (see
    :meth:`FieldPyramid.level_for`).
    """
    pyramid = field if isinstance(field, FieldPyramid) else FieldPyramid(field)
    factor, da = pyramid.level_for(viewport)
    grid = grid_for(da)
    window = grid.window(da, viewport)
    values = grid.rasterize(window, viewport)
    return Frame(values, viewport, int(window.size), factor)


#: Memory the frame cache may hold (MB): about 160 frames of 800 x 500 float32 pixels.
FRAME_CACHE_MB = 256


#: Seconds a failed render's error answers those who asked for the same frame meanwhile (a
#: source that fails is read once for them all, not once each); later requests read again.
FAILURE_KEPT_S = 2.0


class FrameCache:
    """Frames by what they show (a bounded LRU, shared by the sessions of a process).

    A replayed animation, a second session on the same view or a comparison that needs the
    same run twice reads nothing again. Concurrent requests for a frame being rendered wait
    for it instead of rendering it again (one read upstream, however many sessions ask).
    """

    def __init__(self, max_bytes: int = FRAME_CACHE_MB * 10**6) -> None:
        self.max_bytes = max_bytes
        self._frames: OrderedDict[Hashable, Frame] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._pending: dict[Hashable, threading.Event] = {}
        # a render that just failed, for the requests that waited on it: (error, when)
        self._failed: dict[Hashable, tuple[BaseException, float]] = {}
        #: frames rendered (misses) and served from the cache (hits), for tests and logs
        self.misses = 0
        self.hits = 0

    def get(
        self,
        key: Hashable,
        field: Callable[[], xr.DataArray | FieldPyramid],
        viewport: Viewport,
    ) -> Frame:
        """The frame of ``field()`` in ``viewport``; ``key`` names the field (dataset,
        variable, time, depth, run...): the viewport (extent, size, CRS) is added to it here.
        ``field`` is called only when the frame is not cached."""
        full_key = (key, viewport)
        while True:
            with self._lock:
                if full_key in self._frames:
                    self._frames.move_to_end(full_key)
                    self.hits += 1
                    return self._frames[full_key]
                waiting = self._pending.get(full_key)
                if waiting is None:
                    self._pending[full_key] = threading.Event()
                    break
            waiting.wait()  # someone else renders it: take theirs
            with self._lock:
                failed = self._failed.get(full_key)
            if failed is not None and time.monotonic() - failed[1] < FAILURE_KEPT_S:
                raise failed[0]  # it failed just now: the same answer, no second read
        try:
            frame = render_field(field(), viewport)
        except Exception as exc:
            with self._lock:
                self._failed[full_key] = (exc, time.monotonic())
                self._failed = {
                    k: v for k, v in self._failed.items()
                    if time.monotonic() - v[1] < FAILURE_KEPT_S
                }  # fmt: skip
            raise
        else:
            with self._lock:
                self.misses += 1
                self._failed.pop(full_key, None)
                self._store(full_key, frame)
            return frame
        finally:
            with self._lock:
                self._pending.pop(full_key).set()

    def _store(self, key: Hashable, frame: Frame) -> None:
        size = frame.values.nbytes
        if size > self.max_bytes:
            return
        self._frames[key] = frame
        self._bytes += size
        while self._bytes > self.max_bytes:
            _, old = self._frames.popitem(last=False)
            self._bytes -= old.values.nbytes

    @property
    def nbytes(self) -> int:
        """Bytes of the frames held now (at most :attr:`max_bytes`)."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._frames)

    def clear(self) -> None:
        with self._lock:
            self._frames.clear()
            self._bytes = 0

    def forget(self, source_id: str) -> int:
        """Drop the frames of one source (a session's upload that is gone); returns how many.

        Keys name the source first (``map.MapView.field_key``)."""
        with self._lock:
            gone = [k for k in self._frames if isinstance(k[0], tuple) and k[0][:1] == (source_id,)]
            for key in gone:
                self._bytes -= self._frames.pop(key).values.nbytes
        return len(gone)


#: The process's frame cache.
FRAMES = FrameCache()


def full_extent(da: xr.DataArray, crs: str = LONLAT) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) of the data's cells in ``crs`` units, for a first view."""
    from data_adapters.contract import bbox

    west, south, east, north = bbox(da.to_dataset(name="value"))
    if da["lon"].ndim == 2:  # a curvilinear grid may cross the dateline: find its arc
        west, east = _lon_arc(da["lon"].values, da["lat"].values)
    if east < west:  # across the dateline: keep the view continuous
        east += 360.0
    for name in ("lon", "lat"):
        coord = np.asarray(da[name].values, dtype="float64")
        if coord.ndim == 1 and coord.size > 1:
            half = float(np.median(np.diff(coord))) / 2
            if name == "lon":
                west, east = west - half, east + half
            else:
                south, north = max(south - half, -90.0), min(north + half, 90.0)
    if crs == WEB_MERCATOR:
        south, north = max(south, -MERCATOR_MAX_LAT), min(north, MERCATOR_MAX_LAT)
    x0, y0 = to_crs(np.array(west), np.array(south), crs)
    x1, y1 = to_crs(np.array(east), np.array(north), crs)
    return float(x0), float(y0), float(x1), float(y1)


#: A grid narrower than this in longitude or latitude (degrees) is regional: a map of it
#: opens on its extent rather than keeping the view of the dataset before.
REGIONAL_LON_SPAN, REGIONAL_LAT_SPAN = 300.0, 100.0


def is_regional(da: xr.DataArray) -> bool:
    """True when ``da``'s grid covers a region rather than (nearly) the globe."""
    west, south, east, north = full_extent(da, LONLAT)
    return east - west < REGIONAL_LON_SPAN or north - south < REGIONAL_LAT_SPAN


def _lon_arc(lon: np.ndarray, lat: np.ndarray) -> tuple[float, float]:
    """(west, east) of the shortest arc of longitude holding all of 2-D ``lon``.

    East may exceed 180 when the arc crosses the dateline; a grid all round the globe gives
    (-180, 180).
    """
    lon = np.asarray(lon, dtype="float64")
    finite = lon[np.isfinite(lon)]
    if finite.size == 0:
        return -180.0, 180.0
    # bins wider than a cell, so a global grid leaves none empty
    n_bins = max(1, min(360, int(360.0 / (2.0 * _cell_size(lon, np.asarray(lat, "float64"))))))
    width = 360.0 / n_bins
    counts = np.bincount(((finite + 180.0) % 360.0 // width).astype(int) % n_bins, minlength=n_bins)
    empty = np.concatenate([counts == 0, counts == 0])
    if not empty.any():
        return -180.0, 180.0
    # the longest run of empty bins, going round the globe once
    best_len, best_end, run = 0, 0, 0
    for i, is_empty in enumerate(empty):
        run = run + 1 if is_empty else 0
        if run > best_len:
            best_len, best_end = min(run, n_bins), i
    start = -180.0 + ((best_end + 1) % n_bins) * width  # first bin after the gap
    rel = (finite - start) % 360.0
    return start + float(rel.min()), start + float(rel.max())
