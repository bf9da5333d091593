"""The server-side frame renderer shared by the map view and ``ocean-explorer render``.

A frame is the field resampled by Datashader to exactly the viewport's pixels: the browser
(or the PNG) never gets the whole grid. Map cost follows the viewport: only the cells in
view are read, and coordinates are projected as 1-D arrays on regular grids.

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
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import datashader as dsh
import numpy as np
import xarray as xr
from pyproj import Transformer

LONLAT = "EPSG:4326"
WEB_MERCATOR = "EPSG:3857"
CRSES = (LONLAT, WEB_MERCATOR)
#: Web Mercator stops here (degrees): the square world of web maps.
MERCATOR_MAX_LAT = 85.051129
#: Half the Web Mercator world width in metres.
MERCATOR_HALF_WORLD = 20037508.342789244
#: Cells read beyond the viewport on each side, so edge pixels get whole cells.
MARGIN_CELLS = 2


@functools.cache
def _transformer(forward: bool) -> Transformer:
    src, dst = (LONLAT, WEB_MERCATOR) if forward else (WEB_MERCATOR, LONLAT)
    return Transformer.from_crs(src, dst, always_xy=True)


def lon_to_x(lon: np.ndarray) -> np.ndarray:
    """Web Mercator x (m) of longitudes (degrees); linear, so unwrapped longitudes stay so."""
    return np.asarray(lon, dtype="float64") * (MERCATOR_HALF_WORLD / 180.0)


def lat_to_y(lat: np.ndarray) -> np.ndarray:
    """Web Mercator y (m) of latitudes (degrees), clipped to the Mercator limit."""
    lat = np.clip(np.asarray(lat, dtype="float64"), -MERCATOR_MAX_LAT, MERCATOR_MAX_LAT)
    return _transformer(True).transform(np.zeros_like(lat), lat)[1]


def x_to_lon(x: np.ndarray) -> np.ndarray:
    """Longitude (degrees, not wrapped) of Web Mercator x (m)."""
    return np.asarray(x, dtype="float64") * (180.0 / MERCATOR_HALF_WORLD)


def y_to_lat(y: np.ndarray) -> np.ndarray:
    """Latitude (degrees) of Web Mercator y (m)."""
    y = np.asarray(y, dtype="float64")
    return _transformer(False).transform(np.zeros_like(y), y)[1]


def to_crs(lon: np.ndarray, lat: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of lon/lat in ``crs`` (arrays of any matching shapes)."""
    if crs == LONLAT:
        return np.asarray(lon, dtype="float64"), np.asarray(lat, dtype="float64")
    return lon_to_x(lon), lat_to_y(lat)


@dataclass(frozen=True)
class Viewport:
    """What is on screen: ranges in ``crs`` units and the size in pixels."""

    x_range: tuple[float, float]
    y_range: tuple[float, float]
    width: int = 800
    height: int = 450
    crs: str = LONLAT

    def __post_init__(self) -> None:
        if self.crs not in CRSES:
            raise ValueError(f"crs must be one of {CRSES}, not {self.crs!r}")
        if not (1 <= self.width <= 8192 and 1 <= self.height <= 8192):
            raise ValueError("width and height must be between 1 and 8192 pixels")
        if not (self.x_range[1] > self.x_range[0] and self.y_range[1] > self.y_range[0]):
            raise ValueError("ranges must be increasing (use x1 > x0; a dateline box wraps)")

    @classmethod
    def from_bbox(
        cls, bbox: tuple[float, float, float, float], width: int, height: int, crs: str = LONLAT
    ) -> Viewport:
        """A viewport over [W, S, E, N] in degrees; W > E crosses the dateline."""
        west, south, east, north = bbox
        if east <= west:
            east += 360.0
        x0, y0 = to_crs(np.array(west), np.array(south), crs)
        x1, y1 = to_crs(np.array(east), np.array(north), crs)
        return cls((float(x0), float(x1)), (float(y0), float(y1)), width, height, crs)

    def lon_lat_bounds(self) -> tuple[float, float, float, float]:
        """(lon0, lat0, lon1, lat1) in degrees; lon may run past ±180 when panned round."""
        if self.crs == LONLAT:
            return self.x_range[0], self.y_range[0], self.x_range[1], self.y_range[1]
        lon0, lon1 = x_to_lon(np.array(self.x_range))
        lat0, lat1 = y_to_lat(np.array(self.y_range))
        return float(lon0), float(lat0), float(lon1), float(lat1)

    def pixel_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """x (width,) and y (height,) of pixel centres, in ``crs`` units, y ascending."""
        (x0, x1), (y0, y1) = self.x_range, self.y_range
        dx, dy = (x1 - x0) / self.width, (y1 - y0) / self.height
        return x0 + dx * (np.arange(self.width) + 0.5), y0 + dy * (np.arange(self.height) + 0.5)


@dataclass
class Frame:
    """A rendered field: one value per pixel (NaN: no data or land), y ascending."""

    values: np.ndarray
    viewport: Viewport
    #: cells of the source grid that were read for this frame
    cells_read: int

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
        """The cells in view (lazy), lon unwrapped to run continuously across the view."""
        lon0, lat0, lon1, lat1 = viewport.lon_lat_bounds()
        lat = da["lat"].values
        step_lat = float(np.median(np.diff(lat))) if lat.size > 1 else 1.0
        rows = (lat >= lat0 - MARGIN_CELLS * step_lat) & (lat <= lat1 + MARGIN_CELLS * step_lat)
        da = da.isel(lat=np.flatnonzero(rows)) if not rows.all() else da
        lon = da["lon"].values
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
                piece = da.isel(lon=cols)
                pieces.append(piece.assign_coords(lon=shifted[cols]))
        if not pieces:
            return da.isel(lon=slice(0, 0))
        return pieces[0] if len(pieces) == 1 else xr.concat(pieces, dim="lon")

    def rasterize(self, window: xr.DataArray, viewport: Viewport) -> np.ndarray:
        values = np.asarray(window.values, dtype="float32")
        x, y = to_crs(window["lon"].values, window["lat"].values, viewport.crs)
        if viewport.crs == WEB_MERCATOR:
            keep = np.abs(window["lat"].values) <= MERCATOR_MAX_LAT
            values, y = values[keep], y[keep]
        return _quadmesh(values, ("y", y), ("x", x), viewport)


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
        return da.isel(y=slice(y0, y1), x=slice(x0, x1))

    def rasterize(self, window: xr.DataArray, viewport: Viewport) -> np.ndarray:
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
        x, y = to_crs(lon, lat, viewport.crs)
        return _quadmesh(values, (("y", "x"), y), (("y", "x"), x), viewport)


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
    ny, nx = lon.shape
    shifted = [padded[i : i + ny, j : j + nx] for i in range(3) for j in range(3)]
    return np.max(shifted, axis=0) - np.min(shifted, axis=0)


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


def render_field(da: xr.DataArray, viewport: Viewport) -> Frame:
    """Render a 2-D field (lazy is fine: only the window is read) into ``viewport``."""
    grid = grid_for(da)
    window = grid.window(da, viewport)
    values = grid.rasterize(window, viewport)
    return Frame(values, viewport, int(window.size))


#: Memory the frame cache may hold (MB): about 160 frames of 800 x 500 float32 pixels.
FRAME_CACHE_MB = 256


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
        #: frames rendered (misses) and served from the cache (hits), for tests and logs
        self.misses = 0
        self.hits = 0

    def get(self, key: Hashable, field: Callable[[], xr.DataArray], viewport: Viewport) -> Frame:
        """The frame of ``field()`` in ``viewport``; ``key`` names the field (dataset,
        variable, time, depth, run...): the viewport is added to it here."""
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
            waiting.wait()  # someone else renders it: take theirs (or retry if it failed)
        try:
            frame = render_field(field(), viewport)
            with self._lock:
                self.misses += 1
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

    def clear(self) -> None:
        with self._lock:
            self._frames.clear()
            self._bytes = 0


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
