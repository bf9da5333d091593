"""Geography: the map's coordinate systems, conversions between them, and the viewport.

Maps are drawn in Web Mercator (EPSG:3857, metres) or plain longitude/latitude
(EPSG:4326, degrees). A :class:`Viewport` is what is on screen: ranges in one of them and a
size in pixels; a box ``[W, S, E, N]`` in degrees with W > E crosses the dateline.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
from pyproj import Transformer

LONLAT = "EPSG:4326"
WEB_MERCATOR = "EPSG:3857"
CRSES = (LONLAT, WEB_MERCATOR)
#: Web Mercator stops here (degrees): the square world of web maps.
MERCATOR_MAX_LAT = 85.051129
#: Half the Web Mercator world width in metres.
MERCATOR_HALF_WORLD = 20037508.342789244


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
        """A viewport over [W, S, E, N] in degrees; W > E crosses the dateline. A view given
        with W < E stays where it is, past the dateline too (-190 to -100: the view of a
        plot panned there), rather than move a world round."""
        box = BBox.of(*bbox, view=True)
        west, south, east, north = box.west, box.south, box.east_unwrapped, box.north
        if bbox[0] < bbox[2] < bbox[0] + 360.0:
            west, east = float(bbox[0]), float(bbox[2])
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

    @property
    def units_per_pixel(self) -> tuple[float, float]:
        """(across, down): ``crs`` units (metres or degrees) one pixel spans each way."""
        return (
            (self.x_range[1] - self.x_range[0]) / self.width,
            (self.y_range[1] - self.y_range[0]) / self.height,
        )

    def true_shape(self) -> Viewport:
        """This view drawn with one ``crs`` unit per pixel across and down (shapes kept).

        The box is extended about its centre along the short side, as the dashboard's map
        does, so it still shows all it showed; where that would pass the world (one turn of
        longitude, the poles or Web Mercator's ±85°), the image is made smaller on that side
        instead. Unchanged when already true to within a tenth of a pixel.
        """
        across, down = self.units_per_pixel
        if (
            abs(self.width * (across / down - 1)) < 0.1
            and abs(self.height * (down / across - 1)) < 0.1
        ):
            return self
        (x0, x1), (y0, y1) = self.x_range, self.y_range
        y_limit = MERCATOR_HALF_WORLD if self.crs == WEB_MERCATOR else 90.0
        x_world = 2 * (MERCATOR_HALF_WORLD if self.crs == WEB_MERCATOR else 180.0)
        width, height = self.width, self.height
        if across > down:  # extend the box north and south
            span = across * height
            if span <= 2 * y_limit:
                centre = min(max((y0 + y1) / 2, -y_limit + span / 2), y_limit - span / 2)
                y0, y1 = centre - span / 2, centre + span / 2
            else:
                height = max(1, round((y1 - y0) / across))
        else:  # extend it east and west
            span = down * width
            if span <= x_world:
                centre = (x0 + x1) / 2
                x0, x1 = centre - span / 2, centre + span / 2
            else:
                width = max(1, round((x1 - x0) / down))
        return Viewport((x0, x1), (y0, y1), width, height, self.crs)

    def pixel_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """x (width,) and y (height,) of pixel centres, in ``crs`` units, y ascending."""
        (x0, x1), (y0, y1) = self.x_range, self.y_range
        dx, dy = (x1 - x0) / self.width, (y1 - y0) / self.height
        return x0 + dx * (np.arange(self.width) + 0.5), y0 + dy * (np.arange(self.height) + 0.5)


def wrap_lon(lon: Any) -> Any:
    """Longitudes wrapped into [-180, 180)."""
    return (np.asarray(lon, dtype="float64") + 180.0) % 360.0 - 180.0


@dataclass(frozen=True)
class BBox:
    """A box ``[W, S, E, N]`` in degrees: W and E in [-180, 180], S < N in [-90, 90]; W > E
    is a box across the dateline (``170,-10,-170,10`` is 20° wide)."""

    west: float
    south: float
    east: float
    north: float

    #: Longitudes a view may carry before wrapping: panned once round the globe either way.
    VIEW_LON_LIMIT = 540.0

    @classmethod
    def of(
        cls, west: float, south: float, east: float, north: float, *, view: bool = False
    ) -> BBox:
        """The box with these edges; a box as wide as the globe or wider is the whole globe,
        -180 to 180. Typed boxes take longitudes in [-180, 180]; a map's view (``view=True``)
        may run past them (170 to 190 after panning east) and is wrapped.

        Raises
        ------
        ValueError
            One line naming the edge that is wrong and why.
        """
        values = (west, south, east, north)
        if not all(np.isfinite(v) for v in values):
            raise ValueError("W,S,E,N must be finite numbers")
        limit = cls.VIEW_LON_LIMIT if view else 180.0
        for name, value in (("W", west), ("E", east)):
            if not -limit <= value <= limit:
                raise ValueError(f"{name}={value:g} is not a longitude in [-180, 180]")
        for name, value in (("S", south), ("N", north)):
            if not -90.0 <= value <= 90.0:
                raise ValueError(f"{name}={value:g} is not a latitude in [-90, 90]")
        if south >= north:
            raise ValueError(f"S must be below N (got S={south:g}, N={north:g})")
        if east - west >= 360.0:
            return cls(-180.0, float(south), 180.0, float(north))
        wrapped_west, wrapped_east = (float(v) for v in wrap_lon([west, east]))
        if east == 180.0 or (wrapped_east == -180.0 and east > west):
            wrapped_east = 180.0  # the box ends at the dateline, not at its far side
        if wrapped_west == wrapped_east:
            raise ValueError(f"W and E must differ (got {west:g}, {east:g})")
        return cls(wrapped_west, float(south), wrapped_east, float(north))

    @classmethod
    def parse(cls, text: str) -> BBox:
        """``W,S,E,N`` in degrees, as the command line's ``--bbox`` and the URL's ``bbox=``
        take it.

        Raises
        ------
        ValueError
            For text that is not four numbers, or edges :meth:`of` refuses.
        """
        parts = [p.strip() for p in str(text).split(",")]
        try:
            numbers = [float(p) for p in parts]
        except ValueError:
            numbers = []
        if len(numbers) != 4:
            raise ValueError(f"expected W,S,E,N in degrees, e.g. -70,25,-10,65, got '{text}'")
        return cls.of(*numbers)

    @property
    def crosses_dateline(self) -> bool:
        """True when the box runs east from W across 180° to E."""
        return self.east <= self.west

    @property
    def east_unwrapped(self) -> float:
        """E, plus 360 for a box across the dateline: W < E always, for continuous maps."""
        return self.east + 360.0 if self.crosses_dateline else self.east

    def as_tuple(self) -> tuple[float, float, float, float]:
        """``(W, S, E, N)``."""
        return (self.west, self.south, self.east, self.north)
