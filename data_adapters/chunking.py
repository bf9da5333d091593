"""Chunk shapes of a prepared store: map tiles, series tiles, rechunking bands, pyramid levels.

The sizes are chosen so that a map reads a few chunks of one time step, a point series one
chunk of a few MB per level and run, and the writer (``data_adapters.layouts``) stays near
its memory budget while it turns time steps into whole-time-axis chunks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import xarray as xr

from .contract import grid_kind
from .errors import SourceError
from .store_format import MAPS_GROUP

#: Largest map tile (rows, columns; cells) of the maps layout. A grid is split into equal
#: tiles no larger than this: 720 x 1440 (1/4°) gives 720 x 720 tiles (2 MB of float32),
#: 2160 x 4320 (1/12°) 720 x 864 tiles, so that a zoomed-in map reads a few chunks.
MAP_TILE = (1024, 1024)
#: Largest and smallest side (cells) of a series tile.
SERIES_TILE_MAX, SERIES_TILE_MIN = 64, 8
#: Target size (bytes, uncompressed) of one series chunk: a point series reads one chunk per
#: level and run, so its cost is decompressing this much. 64 x 64 cells of a year of daily
#: float32 is 6 MB; ten years get 16 x 16 tiles (3.7 MB).
SERIES_CHUNK_BYTES = 8_000_000
#: Largest chunk (bytes, uncompressed) of the temporary copy used for rechunking: zarr
#: encodes up to 10 chunks at once (its ``async.concurrency``), so chunks are kept small.
RECHUNK_CHUNK_BYTES = 16_000_000
#: The pyramid stops before a level whose longer side would be shorter than this (cells): a
#: 1/12° globe (2160 x 4320) gets levels of 1/6°, 1/3° and 2/3° (the last 270 x 540), enough
#: for a whole-globe map of 400 px or more; a 1/4° globe one level of 1/2°.
PYRAMID_MIN_SIDE = 512


def even_tile(n: int, most: int) -> int:
    """The length of the fewest equal pieces of ``n`` no longer than ``most``."""
    pieces = math.ceil(n / max(1, most))
    return math.ceil(n / pieces)


def series_side(steps: int, itemsize: int) -> int:
    """Side of the largest power-of-two square tile whose whole-time chunk fits the target."""
    cells = SERIES_CHUNK_BYTES / max(1, steps * itemsize)
    side = SERIES_TILE_MAX
    while side > SERIES_TILE_MIN and side * side > cells:
        side //= 2
    return side


def horizontal_dims(ds: xr.Dataset) -> tuple[str, str]:
    if "lon" not in ds.coords or "lat" not in ds.coords:
        raise SourceError(
            "the dataset has no lon/lat coordinates; open it through a catalog or open_source"
        )
    return ("y", "x") if grid_kind(ds) == "curvilinear" else ("lat", "lon")


@dataclass(frozen=True)
class Plan:
    """How one variable is written: chunks of both layouts and the sizes of the passes."""

    maps: dict[str, int]
    series: dict[str, int]
    #: Time steps per block read from the source (pass 1); 0 for variables without time.
    block_steps: int
    #: Chunks of the temporary copy; empty when the variable has no time axis.
    rechunk: dict[str, int]


def plan_variable(
    da: xr.DataArray,
    hdims: tuple[str, str],
    map_chunks: tuple[int, int] | None,
    series_chunks: tuple[int, int] | None,
    memory_bytes: float,
) -> Plan:
    rows, cols = hdims
    nrows, ncols = da.sizes[rows], da.sizes[cols]
    itemsize = da.dtype.itemsize
    steps = da.sizes.get("time", 1)
    if map_chunks is None:
        map_tile = (even_tile(nrows, MAP_TILE[0]), even_tile(ncols, MAP_TILE[1]))
    else:
        map_tile = (min(map_chunks[0], nrows), min(map_chunks[1], ncols))
    if series_chunks is None:
        side = series_side(steps, itemsize)
        series_tile = (min(side, nrows), min(side, ncols))
    else:
        series_tile = (min(series_chunks[0], nrows), min(series_chunks[1], ncols))
    if min(*map_tile, *series_tile) < 1:
        raise SourceError("chunk sizes must be at least 1 cell")
    # every dim other than time and the grid: one index per chunk in both layouts
    maps = {d: 1 for d in da.dims}
    series = {d: 1 for d in da.dims}
    maps.update({rows: map_tile[0], cols: map_tile[1]})
    series.update({rows: series_tile[0], cols: series_tile[1]})
    if "time" in da.dims:
        series["time"] = steps
    # Pass 1 holds a block of whole time steps (all levels and runs), pass 2 a band of rows
    # over the whole time axis; each gets half of the memory, the rest is for zarr's buffers.
    half = memory_bytes / 2
    step_bytes = itemsize * math.prod(n for d, n in da.sizes.items() if d != "time")
    block_steps = max(1, min(steps, int(half // step_bytes))) if "time" in da.dims else 0
    rechunk: dict[str, int] = {}
    if "time" in da.dims:
        band_rows, band_cols = band(steps * itemsize, nrows, ncols, series_tile, half)
        # time steps per chunk of the temporary copy: small chunks, aligned with the blocks
        per_step = band_rows * band_cols * itemsize
        chunk_steps = max(1, min(block_steps, int(RECHUNK_CHUNK_BYTES // per_step)))
        block_steps = max(chunk_steps, block_steps // chunk_steps * chunk_steps)
        rechunk = {d: 1 for d in da.dims}
        rechunk.update({"time": chunk_steps, rows: band_rows, cols: band_cols})
    return Plan(maps, series, block_steps, rechunk)


def band(
    cell_bytes: int, nrows: int, ncols: int, tile: tuple[int, int], budget: float
) -> tuple[int, int]:
    """Rows and columns of a pass-2 band: whole series tiles, at most ``budget`` bytes when
    a single tile allows (``cell_bytes`` is one cell's whole time series)."""
    cells = budget / cell_bytes
    ty, tx = tile
    if cells >= ty * ncols:  # whole-width bands of several tile rows
        rows = min(nrows, max(ty, int(cells // ncols) // ty * ty))
        return rows, ncols
    cols = min(ncols, max(tx, int(cells // ty) // tx * tx))
    return ty, cols


@dataclass(frozen=True)
class Level:
    """One pyramid level to write: its group, factor, grid size and chunks per variable."""

    group: str
    factor: int
    #: rows, columns (cells) of the level's grid
    shape: tuple[int, int]
    #: variable -> dim -> chunk length
    chunks: dict[str, dict[str, int]]


def plan_pyramid(
    ds: xr.Dataset,
    hdims: tuple[str, str],
    plans: Mapping[str, Plan],
    levels: int | None,
    map_chunks: tuple[int, int] | None,
) -> list[Level]:
    """The levels to write: for the floating-point variables of a regular grid, each level
    two times coarser than the previous one, chunked like ``maps`` (see
    :data:`PYRAMID_MIN_SIDE`; ``levels`` asks for that many, as far as the grid allows)."""
    if hdims != ("lat", "lon") or levels == 0:
        return []  # curvilinear grids: their 2-D coordinates do not coarsen by blocks
    names = [name for name, da in ds.data_vars.items() if da.dtype.kind == "f"]
    if not names:
        return []  # means of integer codes (masks, classes) mean nothing
    rows, cols = hdims
    shape = (ds.sizes[rows], ds.sizes[cols])
    out: list[Level] = []
    while min(shape) > 1:
        coarser = ((shape[0] + 1) // 2, (shape[1] + 1) // 2)
        if levels is None and max(coarser) < PYRAMID_MIN_SIDE:
            break
        if levels is not None and len(out) == levels:
            break
        shape = coarser
        if map_chunks is None:
            tile = (even_tile(shape[0], MAP_TILE[0]), even_tile(shape[1], MAP_TILE[1]))
        else:
            tile = (min(map_chunks[0], shape[0]), min(map_chunks[1], shape[1]))
        chunks = {}
        for name in names:
            chunks[str(name)] = {**plans[str(name)].maps, rows: tile[0], cols: tile[1]}
        out.append(Level(f"{MAPS_GROUP}_{len(out) + 1}", 2 ** (len(out) + 1), shape, chunks))
    return out
