"""Web map tiles: the XYZ scheme's boxes, the zoom levels a grid supports, and tile ETags.

Tiles follow the scheme of OpenStreetMap, Leaflet and OpenLayers ("slippy map" tiles): the
Web Mercator square world split into ``2**z`` x ``2**z`` tiles of :data:`TILE_SIZE` pixels,
x from the antimeridian eastwards, y from the north. A tile is rendered like any other frame
(:func:`components.core.frames.render_field`) in the viewport of its box, so a tile and
``ocean-explorer render --bare --crs EPSG:3857 --bbox <its box> --width 256 --height 256``
give the same pixels.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Iterable

from .geography import MERCATOR_HALF_WORLD, WEB_MERCATOR, Viewport, x_to_lon, y_to_lat

#: Tile side in pixels (the web-map standard).
TILE_SIZE = 256
#: Zoom levels served past the one whose pixels match the grid's cells: each doubles the
#: pixels per cell (3: 8 x 8 pixels per cell), enough to see single cells.
OVERZOOM = 3
#: The finest zoom any source gets (tiles of about 2.4 m at the equator).
ZOOM_CEILING = 24


def tile_bbox(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """``(W, S, E, N)`` in degrees of tile ``z/x/y``.

    Raises
    ------
    ValueError
        When ``x`` or ``y`` is outside ``0 .. 2**z - 1`` or ``z`` is negative.
    """
    if z < 0 or not (0 <= x < 2**z and 0 <= y < 2**z):
        raise ValueError(f"tile {z}/{x}/{y} does not exist: x and y run from 0 to 2**z - 1")
    size = 2.0 * MERCATOR_HALF_WORLD / 2**z
    x0 = -MERCATOR_HALF_WORLD + x * size
    y1 = MERCATOR_HALF_WORLD - y * size
    west, east = (float(v) for v in x_to_lon([x0, x0 + size]))
    south, north = (float(v) for v in y_to_lat([y1 - size, y1]))
    return west, south, east, north


@functools.lru_cache(maxsize=4096)
def tile_viewport(z: int, x: int, y: int) -> Viewport:
    """The Web Mercator viewport of tile ``z/x/y``: its box, :data:`TILE_SIZE` pixels square,
    built as ``render --bbox`` builds one (so both give the same pixels). Kept for the latest
    tiles asked: a tile's box is projected twice, and every request of a tile (a cached one
    too) needs it."""
    return Viewport.from_bbox(tile_bbox(z, x, y), TILE_SIZE, TILE_SIZE, WEB_MERCATOR)


def native_zoom(cell_degrees: float) -> int:
    """The first zoom whose tile pixels are no larger than a grid cell of ``cell_degrees``
    (at the equator): zoomed out past it, a pixel averages several cells."""
    cell = max(float(cell_degrees), 1e-9)
    return max(0, min(ZOOM_CEILING, math.ceil(math.log2(360.0 / (TILE_SIZE * cell)) - 1e-9)))


def max_zoom(cell_degrees: float) -> int:
    """The finest zoom served for a grid of ``cell_degrees`` cells: :func:`native_zoom` plus
    :data:`OVERZOOM`."""
    return min(ZOOM_CEILING, native_zoom(cell_degrees) + OVERZOOM)


def etag(parts: Iterable[object]) -> str:
    """A strong ETag (quoted) naming everything that changes a tile's pixels."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode("utf-8"), digest_size=16)
    return f'"{digest.hexdigest()}"'
