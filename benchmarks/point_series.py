"""A ten-year daily point series: a time-chunked store against the prepared layouts.

The store is a daily (3650, 720, 1440) float32 cube (1/4° globe, 15.1 GB before
compression) with one chunk per time step, as map-optimised ARCO products are chunked.
``ocean-explorer prepare`` (``data_adapters.write_prepared``) copies it into one store with
a ``maps`` group (time-chunked) and a ``series`` group (geo-chunked: the whole time axis of
a 16 x 16 tile per chunk).

Both are read through the product's own path: ``open_source(path).for_series()`` (the
time-chunked store has no series layout, so it gives its one dataset) and
``components.core.probes.point_series(...).compute()`` at one sea cell. Each timed series is at
a cell in another tile, after one untimed warm-up. A map read of both stores shows that the
prepared store keeps maps as fast.

``--quick`` uses a one-year cube (365 steps) instead. Both cubes are written once into the
cache (``bench/``); the ten-year build is resumable, so an interrupted run goes on where it
stopped.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import pathlib
import resource
import shutil
import time

import numpy as np
import pandas as pd
import xarray as xr

from components.core.probes import Cell, nearest_ocean_cell, point_series
from data_adapters import open_source, write_prepared
from data_adapters.cache import cache_dir
from data_adapters.layouts import (
    DEFAULT_MEMORY_MB,
    MAPS_GROUP,
    SERIES_GROUP,
    disk_bytes,
)

from .data import (
    START,
    STORE_VERSION,
    TIME_ENCODING,
    VARIABLE,
    VARIABLE_ATTRS,
    field,
    grid,
    grid_coords,
    land_mask,
    prepared_beside,
    store_attrs,
)
from .harness import (
    Options,
    Table,
    Target,
    fmt_bytes,
    fmt_ms,
    fmt_ratio,
    median_ms,
    progress,
    timed,
)

NAME = "point_series"
DESCRIPTION = "10-year daily point series of a (3650, 720, 1440) store: time-chunked vs prepared"

#: Grid spacing of the cube (degrees): 720 x 1440 cells, 4.1 MB per float32 map.
RESOLUTION_DEG = 0.25
#: Daily steps of the cube: ten years, and one year for ``--quick``.
STEPS, QUICK_STEPS = 3650, 365
#: Target: the prepared store's point series at least this many times faster.
TARGET_SPEEDUP = 50.0
#: Free disk needed before writing the ten-year cube and its prepared copy (GB, 10**9
#: bytes): about 7.6 GB for the cube, 15 GB for the prepared store and 7.6 GB for the copy it
#: rechunks through, with room to spare. A shorter cube needs proportionally less.
REQUIRED_FREE_GB = 40.0
#: Time steps computed and written per call while building the cube (130 MB of float32).
BUILD_BLOCK_STEPS = 32
#: Open-ocean points (lon, lat; degrees), each in another series tile: the first is the
#: warm-up, the others are timed in turn (cycled when there are more repeats).
POINTS = [
    (-30.0, 30.0),  # North Atlantic: warm-up
    (-150.0, 10.0),  # tropical North Pacific
    (75.0, -20.0),  # Indian Ocean
    (-25.0, -35.0),  # South Atlantic
    (165.0, 35.0),  # north-west Pacific
    (-130.0, -50.0),  # Southern Ocean, Pacific sector
    (60.0, 15.0),  # Arabian Sea
    (-60.0, 40.0),  # Gulf Stream
]
#: Time steps whose maps are read (one each; the first is the warm-up).
MAP_STEPS = (0, 100, 200, 300, 50, 150, 250)


# -- the stores -----------------------------------------------------------------------------
def _build_record(path: pathlib.Path) -> pathlib.Path:
    """The JSON file beside a store that says how far its build got and how long it took."""
    return path.with_name(path.name + ".build.json")


def _read_record(path: pathlib.Path) -> dict:
    try:
        return json.loads(_build_record(path).read_text())
    except (OSError, ValueError):
        return {}


def _write_record(path: pathlib.Path, **record: float | int | bool) -> None:
    target = _build_record(path)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(record))
    os.replace(tmp, target)


def _check_free_disk(where: pathlib.Path, steps: int) -> None:
    """Refuse to start writing without room for the cube, its prepared copy and the copy's
    temporary rechunking data."""
    need = REQUIRED_FREE_GB * 1e9 * steps / STEPS
    free = shutil.disk_usage(where).free
    if free < need:
        raise RuntimeError(
            f"point_series: needs {need / 1e9:.0f} GB free in {where} to write the "
            f"{steps}-day cube and its prepared copy, but {free / 1e9:.1f} GB are free; free "
            "space, point OCEAN_EXPLORER_CACHE at a larger disk, or run with --quick"
        )


def cube_path(steps: int) -> pathlib.Path:
    """Where the daily cube of ``steps`` steps is kept in the cache."""
    lat, lon = grid(RESOLUTION_DEG)
    return cache_dir("bench") / f"daily_{lat.size}x{lon.size}_t{steps}_v{STORE_VERSION}.zarr"


def prepared_path(source: pathlib.Path) -> pathlib.Path:
    """Where the prepared copy of the cube ``source`` is kept."""
    return prepared_beside(source)


def time_chunked_store(steps: int) -> pathlib.Path:
    """The daily cube of ``steps`` steps, one Zarr chunk per step, built once in the cache.

    Resumable: blocks of :data:`BUILD_BLOCK_STEPS` steps are written into ``NAME.part``
    and counted in ``NAME.build.json``; a new run goes on from the last complete block.
    """
    lat, lon = grid(RESOLUTION_DEG)
    path = cube_path(steps)
    name = path.name
    if path.exists():
        return path
    _check_free_disk(path.parent, steps)
    part = path.with_name(name + ".part")
    record = _read_record(part)
    done = int(record.get("steps_written", 0)) if part.exists() else 0
    land, land_source = land_mask(lat, lon)
    if done == 0:
        _create_cube(part, lat, lon, steps, land_source)
    import zarr

    array = zarr.open_array(part, path=VARIABLE, mode="r+")
    seconds = float(record.get("seconds", 0.0)) if done else 0.0
    started = time.perf_counter()

    def block(first: int) -> np.ndarray:
        days = range(first, min(first + BUILD_BLOCK_STEPS, steps))
        return np.stack([field(lat, lon, float(day), land) for day in days])

    # The next block is computed while zarr compresses and writes this one (both cores).
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pending = pool.submit(block, done) if done < steps else None
        for first in range(done, steps, BUILD_BLOCK_STEPS):
            values = pending.result()
            last = first + values.shape[0]
            pending = pool.submit(block, last) if last < steps else None
            array[first:last] = values
            elapsed = seconds + time.perf_counter() - started
            _write_record(part, steps_written=last, seconds=elapsed)
            if last == steps or (last // BUILD_BLOCK_STEPS) % 16 == 0:
                progress(f"time-chunked cube: {last}/{steps} days written ({elapsed:.0f} s)")
    _write_record(part, steps_written=steps, seconds=seconds + time.perf_counter() - started)
    os.replace(_build_record(part), _build_record(path))
    os.replace(part, path)  # whole or not at all: a store in place is a complete one
    return path


def _create_cube(
    part: pathlib.Path, lat: np.ndarray, lon: np.ndarray, steps: int, land_source: str
) -> None:
    """The cube's metadata and coordinates, its values still to be written."""
    import dask.array

    shutil.rmtree(part, ignore_errors=True)
    shape = (steps, lat.size, lon.size)
    empty = dask.array.zeros(shape, dtype=np.float32, chunks=(1, lat.size, lon.size))
    cube = xr.Dataset(
        {VARIABLE: (("time", "lat", "lon"), empty, VARIABLE_ATTRS)},
        coords={
            "time": ("time", pd.date_range(START, periods=steps, freq="D")),
            **grid_coords(lat, lon),
        },
        attrs=store_attrs(land_source),
    )
    encoding = {VARIABLE: {"chunks": (1, lat.size, lon.size)}, "time": TIME_ENCODING}
    cube.to_zarr(part, mode="w", encoding=encoding, consolidated=False, compute=False)
    _write_record(part, steps_written=0, seconds=0.0)


def prepared_store(source: pathlib.Path) -> pathlib.Path:
    """``source`` prepared by ``write_prepared`` (both layouts), built once in the cache."""
    path = prepared_path(source)
    if path.exists():
        return path
    steps = xr.open_zarr(source, consolidated=False).sizes["time"]
    _check_free_disk(path.parent, steps)
    progress(f"preparing {path.name} (both layouts)")
    result = write_prepared(open_source(str(source)).dataset, path, progress=progress)
    _write_record(path, seconds=result.seconds, peak_rss_bytes=peak_rss())
    return path


def peak_rss() -> int:
    """The largest resident memory of this process so far (bytes; Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# -- the reads ------------------------------------------------------------------------------
def cells(ds: xr.Dataset) -> list[Cell]:
    """The sea cells nearest :data:`POINTS` (the first one is the warm-up)."""
    surface = ds[VARIABLE].isel(time=0)
    return [nearest_ocean_cell(surface, lon, lat) for lon, lat in POINTS]


def series_at(ds: xr.Dataset, cell: Cell) -> np.ndarray:
    """The whole time series at ``cell``, read as the product reads it."""
    return np.asarray(point_series(ds[VARIABLE], cell).compute().values)


def time_series(ds: xr.Dataset, picked: list[Cell], repeats: int):
    """Seconds per timed series (after the warm-up at ``picked[0]``) and the values read."""
    series_at(ds, picked[0])
    timed_cells = [picked[1 + i % (len(picked) - 1)] for i in range(repeats)]
    runs = [timed(series_at, ds, cell) for cell in timed_cells]
    return [s for _, s in runs], [values for values, _ in runs]


def time_maps(ds: xr.Dataset, repeats: int) -> list[float]:
    """Seconds per whole-map read (one time step), after one warm-up."""

    def map_at(step: int) -> np.ndarray:
        return np.asarray(ds[VARIABLE].isel(time=step).values)

    map_at(MAP_STEPS[0])
    return [timed(map_at, MAP_STEPS[1 + i % (len(MAP_STEPS) - 1)])[1] for i in range(repeats)]


def chunks_read(da: xr.DataArray, dims: tuple[str, ...]) -> int:
    """Chunks of ``da`` that a read of one index along every dim but ``dims`` touches."""
    return int(np.prod([len(c) for d, c in zip(da.dims, da.chunks, strict=True) if d in dims]))


def chunk_shape(da: xr.DataArray) -> str:
    """``da``'s (first) chunk: ``1 x 720 x 720 (time, lat, lon)``."""
    sizes = [str(c[0]) for c in da.chunks]
    return f"{' x '.join(sizes)} ({', '.join(map(str, da.dims))})"


def run(options: Options) -> Table:
    """Build (or reuse) both stores, time series and maps on each, report against the target."""
    steps = QUICK_STEPS if options.quick else STEPS
    cached = {"cube": cube_path(steps).exists()}
    source = time_chunked_store(steps)
    cached["prepared"] = prepared_path(source).exists()
    prepared = prepared_store(source)

    plain = open_source(str(source))
    ready = open_source(str(prepared))
    if ready.series_layout() is None:
        raise RuntimeError(f"{prepared} was not recognised as a prepared store")
    plain_ds, series_ds = plain.for_series(), ready.for_series()
    picked = cells(ready.dataset)

    progress(f"point series, time-chunked: {options.repeats + 1} cells x {steps} chunk reads")
    plain_s, plain_values = time_series(plain_ds, picked, options.repeats)
    progress("point series, prepared")
    ready_s, ready_values = time_series(series_ds, picked, options.repeats)
    progress("maps")
    plain_map_s = time_maps(plain.dataset, options.repeats)
    ready_map_s = time_maps(ready.dataset, options.repeats)

    nlat, nlon = plain_ds.sizes["lat"], plain_ds.sizes["lon"]
    series_ms, series_ready_ms = median_ms(plain_s), median_ms(ready_s)
    map_ms, map_ready_ms = median_ms(plain_map_s), median_ms(ready_map_s)
    speedup = series_ms / series_ready_ms
    maps_da, series_da = ready.dataset[VARIABLE], series_ds[VARIABLE]
    table = Table(
        title=(
            f"Point series: {steps} daily steps at one sea cell of a ({steps}, {nlat}, {nlon}) "
            f"float32 Zarr store, time-chunked vs prepared (ocean-explorer prepare); median "
            f"of {options.repeats} cells, each in another tile, after one warm-up"
        ),
        columns=[
            "read",
            "time-chunked (ms)",
            "prepared (ms)",
            "ratio",
            "chunks read: time-chunked / prepared",
        ],
    )
    table.rows.append(
        [
            f"point series, {steps} steps",
            fmt_ms(series_ms),
            fmt_ms(series_ready_ms),
            fmt_ratio(speedup),
            f"{chunks_read(plain_ds[VARIABLE], ('time',))} / {chunks_read(series_da, ('time',))}",
        ]
    )
    table.rows.append(
        [
            f"one map, {nlat} x {nlon}",
            fmt_ms(map_ms),
            fmt_ms(map_ready_ms),
            fmt_ratio(map_ms / map_ready_ms),
            f"{chunks_read(plain.dataset[VARIABLE], ('lat', 'lon'))} / "
            f"{chunks_read(maps_da, ('lat', 'lon'))}",
        ]
    )
    same = all(
        np.array_equal(a, b, equal_nan=True)
        for a, b in zip(plain_values, ready_values, strict=True)
    )
    cube_record, prepared_record = _read_record(source), _read_record(prepared)
    table.targets.append(
        Target(
            "point series, prepared vs time-chunked",
            fmt_ratio(speedup) + " faster",
            f">= {TARGET_SPEEDUP:g}x",
            speedup >= TARGET_SPEEDUP,
        )
    )
    table.notes += [
        f"the series are the same values from both stores: {'yes' if same else 'NO'}",
        f"build: the time-chunked cube took {cube_record.get('seconds', float('nan')):.0f} s "
        f"{'(cached)' if cached['cube'] else '(this run)'}; prepare took "
        f"{prepared_record.get('seconds', float('nan')):.0f} s "
        f"{'(cached)' if cached['prepared'] else '(this run)'}",
        f"on disk: time-chunked {fmt_bytes(disk_bytes(source))}; prepared "
        f"{fmt_bytes(disk_bytes(prepared))} (maps {fmt_bytes(disk_bytes(prepared / MAPS_GROUP))}"
        f", series {fmt_bytes(disk_bytes(prepared / SERIES_GROUP))}); "
        f"{fmt_bytes(steps * nlat * nlon * 4)} uncompressed",
        f"chunks: time-chunked {chunk_shape(plain_ds[VARIABLE])}; prepared maps "
        f"{chunk_shape(maps_da)}, series {chunk_shape(series_da)}",
        f"memory: the process peaked at {fmt_bytes(prepared_record.get('peak_rss_bytes', 0))}"
        f" while preparing (write_prepared's default budget: {DEFAULT_MEMORY_MB:g} MB); the "
        f"benchmark process, every benchmark before this one included, at {fmt_bytes(peak_rss())}",
        "2 cores, shared with other processes: absolute times vary from run to run",
    ]
    return table
