"""Writes a prepared store: one dataset twice in one Zarr store, for maps and for series.

A map reads one time step of the whole grid; a point series reads every time step of one
cell. No single chunking serves both: on a store with one chunk per time step, a ten-year
daily series decompresses 3650 whole maps to keep one value of each. Copernicus Marine
answers with two copies of each product (ARCO ``arco-geo-series``, time-chunked, and
``arco-time-series``, geo-chunked); :func:`write_prepared` does the same for any source,
into one Zarr (format 3) store with two groups:

- ``maps``: one time step per chunk (every other dim, such as depth or scenario, one per
  chunk too), the grid in tiles of at most :data:`MAP_TILE` cells;
- ``series``: the whole time axis per chunk, the grid in small tiles (64 x 64 cells at
  most, fewer for long time axes) so that a chunk is a few MB.

On a regular grid, the maps are also written as a pyramid: groups ``maps_1``, ``maps_2``
… each two times coarser than the one before (the mean of 2 x 2 cells, ignoring NaN: land
does not darken the coast), chunked like ``maps``, until the longer side of the grid would
drop below :data:`PYRAMID_MIN_SIDE` cells. A zoomed-out map reads a coarse level: its cost
follows the screen, not the grid (``components.core.frames`` picks the level per viewport).

The root group's attribute :data:`LAYOUTS_ATTR` names the groups and their chunk shapes;
``ZarrAdapter`` recognises a prepared store from it (one small metadata read) and opens
``maps`` as the dataset, ``series`` for point series, profiles and sections, and the
pyramid's levels as the opened source's ``pyramid`` (``data_adapters.pyramid.MapPyramid``,
opened on first use).

Turning one-step chunks into whole-time-axis chunks cannot be done a chunk at a time, and
the whole cube may not fit in memory, so the data go through a temporary copy chunked in
bands of rows. Memory stays near ``memory_mb``: pass 1 holds at most half of it in whole
time steps (at least one step of a variable, every level and run), pass 2 at most half of
it in a band of series tiles over the whole time axis (at least one tile); zarr encodes up
to 10 chunks of at most 16 MB at a time on top, and the pyramid's levels of the block being
copied (a third of it). On disk the temporary copy takes about as much as one layout, until
the end; the pyramid takes a third of ``maps``.

I/O only, like the rest of ``data_adapters``.
"""

from __future__ import annotations

import math
import os
import pathlib
import shutil
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from .chunking import (
    MAP_TILE,
    PYRAMID_MIN_SIDE,
    SERIES_CHUNK_BYTES,
    Level,
    Plan,
    horizontal_dims,
    plan_pyramid,
    plan_variable,
)
from .errors import SourceError, short_reason
from .pyramid import block_centres, block_mean
from .store_format import (
    COMPLETE_KEY,
    LAYOUT_VERSION,
    LAYOUTS_ATTR,
    LEVELS_KEY,
    MAPS_GROUP,
    SERIES_GROUP,
)

__all__ = [
    "COMPLETE_KEY",
    "DEFAULT_MEMORY_MB",
    "LAYOUTS_ATTR",
    "LAYOUT_VERSION",
    "MAPS_GROUP",
    "MAP_TILE",
    "PYRAMID_MIN_SIDE",
    "SERIES_CHUNK_BYTES",
    "SERIES_GROUP",
    "WRITER_REVISION",
    "PreparedStore",
    "check_output",
    "disk_bytes",
    "write_prepared",
]

#: What :func:`write_prepared` writes within the layout's version (its codecs...): a cache of
#: prepared stores (the benchmarks') names it, so that a store of an older writer is rewritten.
WRITER_REVISION = 2
#: Memory (MB = 10**6 bytes) that :func:`write_prepared` aims to stay within by default.
DEFAULT_MEMORY_MB = 1000.0
#: Group of the temporary copy (removed before the store is complete).
_RECHUNK_GROUP = "_rechunk"
#: Seconds between progress lines of one variable.
_PROGRESS_EVERY_S = 2.0


def _compressors() -> tuple[Any, ...]:
    # Blosc's LZ4 over byte-shuffled floats: a core Zarr 3 codec every reader decodes. On the
    # 1/12° benchmark field (float32 with land as NaN) it writes a map chunk (720 x 864) in
    # 0.77 of zstd-3's bytes and decodes it 2.3x faster (2.4 vs 5.5 ms on 2 shared cores);
    # a map tile decodes the up to four chunks under it, so decoding is most of its read.
    from zarr.codecs import BloscCodec

    return (BloscCodec(cname="lz4", clevel=5, shuffle="shuffle"),)


@dataclass(frozen=True)
class PreparedStore:
    """What :func:`write_prepared` wrote.

    Attributes
    ----------
    path
        The store (a directory).
    layouts
        Layout (``"maps"``, ``"series"``) -> variable -> dimension -> chunk length, as in the
        root attribute :data:`LAYOUTS_ATTR`.
    bytes_on_disk
        Layout -> bytes its group takes on disk (compressed, coordinates included).
    seconds
        Wall-clock seconds the whole preparation took.
    """

    path: pathlib.Path
    layouts: dict[str, dict[str, dict[str, int]]]
    bytes_on_disk: dict[str, int]
    seconds: float


def _level_template(ds: xr.Dataset, level: Level) -> xr.Dataset:
    """Empty lazy variables and the coarsened coordinates of one pyramid level."""
    import dask.array

    coords: dict[str, xr.Variable] = {}
    for name, coord in ds.coords.items():
        if name in ("lat", "lon"):
            centres = np.asarray(coord.values)
            for _ in range(level.factor.bit_length() - 1):  # log2(factor) halvings
                centres = block_centres(centres)
            coords[name] = xr.Variable(coord.dims, centres, attrs=dict(coord.attrs))
        elif not {"lat", "lon"} & set(coord.dims):  # time, depth, scenario...
            coords[name] = xr.Variable(
                coord.dims, np.asarray(coord.values), attrs=dict(coord.attrs)
            )
    data = {}
    for name, chunks in level.chunks.items():
        da = ds[name]
        shape = tuple(
            dict(zip(("lat", "lon"), level.shape, strict=True)).get(d, n)
            for d, n in zip(da.dims, da.shape, strict=True)
        )
        empty = dask.array.zeros(shape, dtype=da.dtype, chunks=tuple(chunks[d] for d in da.dims))
        data[name] = xr.Variable(da.dims, empty, attrs=dict(da.attrs))
    return xr.Dataset(data, coords=coords, attrs=dict(ds.attrs))


# -- writing --------------------------------------------------------------------------------
def check_output(out: str | os.PathLike, overwrite: bool = False) -> pathlib.Path:
    """``out`` as a path if a prepared store may be written there, else a SourceError.

    A new path or an empty directory may be written; an existing Zarr store only with
    ``overwrite`` (the CLI's ``--overwrite``). Anything else is never replaced.
    """
    path = pathlib.Path(out).expanduser()
    if not path.parent.is_dir():
        raise SourceError(f"--out {path}: no directory {path.parent}; create it first")
    if not path.exists():
        return path
    if not path.is_dir():
        raise SourceError(f"--out {path}: a file is in the way; give a new store path")
    if not any(path.iterdir()):
        return path
    is_zarr = any((path / m).exists() for m in ("zarr.json", ".zgroup", ".zmetadata"))
    if not is_zarr:
        raise SourceError(
            f"--out {path}: the directory is not empty and is not a Zarr store; it is never "
            "replaced: give a new store path"
        )
    if not overwrite:
        raise SourceError(
            f"--out {path}: the store exists; give a new path or --overwrite to replace it"
        )
    return path


def write_prepared(
    ds: xr.Dataset,
    out: str | os.PathLike,
    *,
    map_chunks: tuple[int, int] | None = None,
    series_chunks: tuple[int, int] | None = None,
    memory_mb: float = DEFAULT_MEMORY_MB,
    overwrite: bool = False,
    pyramid_levels: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> PreparedStore:
    """Write ``ds`` as one Zarr store with a map layout (and its pyramid) and a point-series
    layout.

    The data stream through memory: pass 1 reads blocks of whole time steps from ``ds``
    and writes the ``maps`` group, the pyramid's levels (each block coarsened from the
    previous level in memory) and a temporary copy chunked in bands of rows; pass 2 reads
    each band's whole time axis from that copy and writes the ``series`` group. The store is
    written to ``OUT.part`` and renamed to ``out`` only when complete, with the layouts
    attribute last, so an interrupted run never leaves a store that looks whole.

    Parameters
    ----------
    ds
        A dataset on the data contract (as ``open_source`` or an adapter opens it): every
        variable ends with the grid's dims (``lat, lon`` or ``y, x``).
    out
        The store to write (a directory, e.g. ``ocean.zarr``).
    map_chunks
        Map tile (rows, columns; cells). Default: the grid in equal tiles of at most
        :data:`MAP_TILE`.
    series_chunks
        Series tile (rows, columns; cells), each chunk holding the whole time axis. Default:
        the largest power-of-two square from 8 to 64 cells whose chunk stays within
        :data:`SERIES_CHUNK_BYTES`.
    memory_mb
        Memory to stay within (MB): half for the block being copied, the rest for zarr's
        encoding buffers. One time step of a variable (every level and run) and one series
        tile's whole time axis are always held, even if larger.
    overwrite
        Replace an existing Zarr store at ``out`` (anything else is never replaced).
    pyramid_levels
        Coarser map levels to write (regular grids, floating-point variables): None (the
        default) halves the grid until its longer side would drop below
        :data:`PYRAMID_MIN_SIDE` cells; 0 writes none; a number asks for that many, as far as
        the grid can be halved.
    progress
        Called with a short line now and then (about every 2 s per variable).

    Returns
    -------
    PreparedStore
        Path, chunk shapes, bytes on disk and seconds.

    Raises
    ------
    SourceError
        When ``out`` cannot be written (exists, no room on disk, no such directory) or a
        variable cannot be stored; nothing is left behind.
    """
    started = time.perf_counter()
    path = check_output(out, overwrite)
    say = progress or (lambda line: None)
    hdims = horizontal_dims(ds)
    if not ds.data_vars:
        raise SourceError("the dataset has no data variables to prepare")
    plans: dict[str, Plan] = {}
    for name, da in ds.data_vars.items():
        if tuple(da.dims[-2:]) != hdims:
            raise SourceError(
                f"variable '{name}' has dims {da.dims}, not ending with {hdims}; open the "
                "source through a catalog or open_source so that it is normalised"
            )
        if da.dtype.kind not in "fiub":
            raise SourceError(f"variable '{name}' has dtype {da.dtype}; only numbers can be stored")
        plans[str(name)] = plan_variable(da, hdims, map_chunks, series_chunks, memory_mb * 1e6)
    if pyramid_levels is not None and pyramid_levels < 0:
        raise SourceError(f"pyramid_levels={pyramid_levels}: give 0 (none) or more levels")
    levels = plan_pyramid(ds, hdims, plans, pyramid_levels, map_chunks)
    _check_room(path, ds, pyramid=bool(levels))
    part = path.with_name(path.name + ".part")
    shutil.rmtree(part, ignore_errors=True)  # left by an interrupted run: ours by its name
    try:
        import zarr

        # every chunk, all-fill ones too (zarr skips them by default): see COMPLETE_KEY
        with zarr.config.set({"array.write_empty_chunks": True}):
            _write_templates(ds, part, plans, levels)
            for name, plan in plans.items():
                _copy_variable(ds[name], name, part, plan, levels, say)
        shutil.rmtree(part / _RECHUNK_GROUP, ignore_errors=True)
        layouts = {
            "version": LAYOUT_VERSION,
            COMPLETE_KEY: True,
            MAPS_GROUP: {name: plan.maps for name, plan in plans.items()},
            SERIES_GROUP: {name: plan.series for name, plan in plans.items()},
            LEVELS_KEY: [
                {"group": level.group, "factor": level.factor, "variables": level.chunks}
                for level in levels
            ],
        }
        _mark_complete(part, layouts)
        _publish(part, path)
    except OSError as exc:
        shutil.rmtree(part, ignore_errors=True)
        raise SourceError(f"--out {path}: cannot be written ({short_reason(exc)})") from exc
    except BaseException:
        shutil.rmtree(part, ignore_errors=True)  # an interrupted run leaves nothing behind
        raise
    groups = [MAPS_GROUP, SERIES_GROUP, *(level.group for level in levels)]
    sizes = {group: disk_bytes(path / group) for group in groups}
    return PreparedStore(path, layouts, sizes, time.perf_counter() - started)


def _check_room(path: pathlib.Path, ds: xr.Dataset, pyramid: bool = False) -> None:
    """Refuse before writing when the disk cannot hold the layouts uncompressed.

    zstd usually halves ocean fields, and the temporary copy (about as large as one layout
    compressed) is freed at the end, so this is the room a run needs at worst. A pyramid
    adds a third of the maps (1/4 + 1/16 + ...).
    """
    need = (2 + (1 / 3 if pyramid else 0)) * sum(da.nbytes for da in ds.data_vars.values())
    free = shutil.disk_usage(path.parent).free
    if free < need:
        raise SourceError(
            f"--out {path}: needs up to {need / 1e9:.1f} GB free for both layouts, "
            f"{free / 1e9:.1f} GB are free; free some space or write elsewhere"
        )


def _template(ds: xr.Dataset, chunks: Mapping[str, dict[str, int]]) -> xr.Dataset:
    """``ds`` with empty lazy data of the layout's chunks: writing it writes metadata and
    coordinates only."""
    import dask.array

    data = {}
    for name, da in ds.data_vars.items():
        shape = tuple(chunks[str(name)][d] for d in da.dims)
        empty = dask.array.zeros(da.shape, dtype=da.dtype, chunks=shape)
        data[name] = xr.Variable(da.dims, empty, attrs=dict(da.attrs))
    coords = {}
    for name, coord in ds.coords.items():
        # Small (1-D, or the 2-D lon/lat of curvilinear grids): read now so they are written.
        # No encoding is carried over: a source's packing or chunking would not fit, and
        # xarray then encodes times as int64 in the coarsest units that are exact (days
        # since the first step for daily data), with the calendar of the values, so
        # cftime calendars such as noleap survive.
        coords[name] = xr.Variable(coord.dims, np.asarray(coord.values), attrs=dict(coord.attrs))
    return xr.Dataset(data, coords=coords, attrs=dict(ds.attrs))


def _write_templates(
    ds: xr.Dataset, part: pathlib.Path, plans: Mapping[str, Plan], levels: list[Level]
) -> None:
    import zarr

    zarr.open_group(part, mode="w", zarr_format=3)
    for level in levels:
        encoding = {
            name: {
                "chunks": tuple(chunks[d] for d in ds[name].dims),
                "compressors": _compressors(),
            }
            for name, chunks in level.chunks.items()
        }
        _level_template(ds, level).to_zarr(
            part,
            group=level.group,
            mode="a",
            zarr_format=3,
            consolidated=False,
            compute=False,
            encoding=encoding,
        )
    for group in (MAPS_GROUP, SERIES_GROUP):
        chunks = {name: getattr(plan, group) for name, plan in plans.items()}
        encoding = {
            name: {
                "chunks": tuple(chunks[name][d] for d in ds[name].dims),
                "compressors": _compressors(),
            }
            for name in plans
        }
        template = _template(ds, chunks)
        template.to_zarr(
            part,
            group=group,
            mode="a",
            zarr_format=3,
            consolidated=False,
            compute=False,
            encoding=encoding,
        )
    root = zarr.open_group(part, mode="r+")
    for name, plan in plans.items():
        if plan.rechunk:
            da = ds[name]
            root.create_array(
                f"{_RECHUNK_GROUP}/{name}",
                shape=da.shape,
                chunks=tuple(plan.rechunk[d] for d in da.dims),
                dtype=da.dtype,
                fill_value=np.nan if da.dtype.kind == "f" else 0,
                compressors=_compressors(),
            )


class _Progress:
    """Progress lines for one variable, at most one every few seconds (and the last)."""

    def __init__(self, say: Callable[[str], None], name: str, what: str, total: int) -> None:
        self.say, self.name, self.what, self.total = say, name, what, total
        self.last = -math.inf

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if done >= self.total or now - self.last >= _PROGRESS_EVERY_S:
            self.last = now
            percent = 100 * done / max(1, self.total)
            self.say(f"{self.name}: {self.what} {done}/{self.total} ({percent:.0f}%)")


def _computes_here() -> bool:
    """Whether dask's current scheduler runs tasks in this process (threads, or one by one).

    Storing into a local buffer only works then: a distributed client (``serve
    --dask-scheduler``, a notebook's ``Client()``) or the processes scheduler would fill a
    copy of the buffer on a worker and leave this one uninitialised.
    """
    import dask.base
    import dask.local
    import dask.threaded

    scheduler = dask.base.get_scheduler()
    return scheduler is None or scheduler in (dask.threaded.get, dask.local.get_sync)


def _read(da: xr.DataArray) -> np.ndarray:
    """The values of a lazy block, copied chunk by chunk into one buffer (no second copy
    from concatenating the chunks) when dask computes in this process."""
    import dask.array

    try:
        if isinstance(da.data, dask.array.Array) and _computes_here():
            buffer = np.empty(da.shape, dtype=da.dtype)
            dask.array.store(da.data, buffer, lock=False)
            return buffer
        return np.asarray(da.values)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise SourceError(
            f"'{da.name}': cannot be read from the source ({short_reason(exc)})"
        ) from exc


def _copy_variable(
    da: xr.DataArray,
    name: str,
    part: pathlib.Path,
    plan: Plan,
    levels: list[Level],
    say: Callable[[str], None],
) -> None:
    import zarr

    root = zarr.open_group(part, mode="r+")
    maps = root[f"{MAPS_GROUP}/{name}"]
    series = root[f"{SERIES_GROUP}/{name}"]
    pyramid = [root[f"{level.group}/{name}"] for level in levels if name in level.chunks]

    def write_maps(region: tuple[slice, ...], values: np.ndarray) -> None:
        maps[region] = values
        for level in pyramid:  # each level from the one before: a quarter of its cells
            values = block_mean(values)
            level[region] = values

    if "time" not in da.dims:  # nothing to rechunk: both layouts from the same values
        values = _read(da)
        write_maps((slice(None),) * da.ndim, values)
        series[...] = values
        say(f"{name}: written (no time axis)")
        return
    rechunk = root[f"{_RECHUNK_GROUP}/{name}"]
    axis = da.dims.index("time")
    steps = da.sizes["time"]
    # pass 1: whole time steps -> maps, and the temporary copy in bands of rows
    shown = _Progress(say, name, "maps: time steps", steps)
    for first in range(0, steps, plan.block_steps):
        window = slice(first, min(first + plan.block_steps, steps))
        values = _read(da.isel(time=window))
        region = tuple(window if i == axis else slice(None) for i in range(da.ndim))
        rechunk[region] = values
        write_maps(region, values)
        del values
        shown(window.stop)
    # pass 2: each band's whole time axis -> series
    rows, cols = da.dims[-2:]
    band_rows, band_cols = plan.rechunk[rows], plan.rechunk[cols]
    others = [d for d in da.dims[:-2] if d != "time"]
    bands = [
        (r, c)
        for r in range(0, da.sizes[rows], band_rows)
        for c in range(0, da.sizes[cols], band_cols)
    ]
    runs = list(np.ndindex(*(da.sizes[d] for d in others)))
    shown = _Progress(say, name, "series: bands", len(bands) * len(runs))
    done = 0
    for index in runs:
        at: dict[str, int | slice] = dict(zip(others, index, strict=True))
        for r, c in bands:
            at[rows], at[cols] = slice(r, r + band_rows), slice(c, c + band_cols)
            region = tuple(at.get(d, slice(None)) for d in da.dims)  # the whole time axis
            series[region] = rechunk[region]
            done += 1
            shown(done)


def _mark_complete(part: pathlib.Path, layouts: dict[str, Any]) -> None:
    """Name the layouts in the root group and consolidate the metadata (one read opens the
    store, also over HTTP)."""
    import zarr

    root = zarr.open_group(part, mode="r+")
    root.attrs[LAYOUTS_ATTR] = layouts
    with warnings.catch_warnings():
        # zarr 3 warns that consolidated metadata is not in the v3 spec yet; zarr-python and
        # xarray read it, and other readers fall back to the per-node metadata
        warnings.filterwarnings("ignore", message="Consolidated metadata", category=UserWarning)
        zarr.consolidate_metadata(part)


def _publish(part: pathlib.Path, path: pathlib.Path) -> None:
    """Rename the finished ``part`` to ``path``, replacing an old store only now."""
    old = None
    if path.exists():
        old = path.with_name(f".{path.name}.old-{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(path, old)
    os.replace(part, path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def disk_bytes(path: str | os.PathLike) -> int:
    """Bytes the files under ``path`` take (their sizes; a directory such as a store)."""
    return sum(f.stat().st_size for f in _files(pathlib.Path(path)))


def _files(path: pathlib.Path) -> Iterator[pathlib.Path]:
    for entry in os.scandir(path):
        if entry.is_dir(follow_symlinks=False):
            yield from _files(pathlib.Path(entry.path))
        elif entry.is_file(follow_symlinks=False):
            yield pathlib.Path(entry.path)
