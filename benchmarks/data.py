"""Synthetic stores the benchmarks read, written once into the cache and reused between runs.

A store looks like a global model or reanalysis product on a regular grid: one variable on
(time, lat, lon), lat ascending, lon in [-180, 180), float32, NaN over land, one Zarr chunk
per time step (a whole global map, as ARCO products are often chunked for maps). Its
prepared copy (``prepared_global``) is what ``ocean-explorer prepare`` makes of it: map
tiles, the map pyramid and the series layout.

The field is smooth and plausible (a sea surface temperature with drifting eddies), not
observed; land comes from the demo ocean's land fraction (the GLOBE 1 km mask, no download),
or from an analytic mask if that cannot be built.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import xarray as xr

from data_adapters import OpenedSource, make_adapter
from data_adapters.cache import cache_dir

#: Bump when the field, the grid or the layout changes, so that cached stores are rebuilt.
STORE_VERSION = 2
#: The variable of every benchmark store.
VARIABLE = "sst"
VARIABLE_ATTRS = {
    "standard_name": "sea_surface_temperature",
    "long_name": "Sea surface temperature",
    "units": "degC",
}
#: First day of the daily time axis.
START = "2025-01-01"

# Eddy modes: zonal and meridional wavenumbers, phase (rad), amplitude (°C) and westward
# drift (rad/day). A fixed seed: the same field on every machine.
_rng = np.random.default_rng(20251125)
_MODES = np.stack(
    [
        _rng.integers(4, 48, 16).astype(float),
        _rng.integers(3, 36, 16).astype(float),
        _rng.uniform(0.0, 2.0 * np.pi, 16),
        _rng.uniform(0.2, 0.7, 16),
        _rng.uniform(0.005, 0.03, 16),
    ]
)


def grid(resolution_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Cell-centre (lat, lon) in degrees of a global grid: lat ascending, lon in [-180, 180)."""
    nlat, nlon = round(180.0 / resolution_deg), round(360.0 / resolution_deg)
    lat = -90.0 + resolution_deg * (np.arange(nlat) + 0.5)
    lon = -180.0 + resolution_deg * (np.arange(nlon) + 0.5)
    return lat, lon


def land_mask(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, str]:
    """True over land on the (lat, lon) grid, and where the mask comes from.

    The demo ocean's land fraction (GLOBE 1 km mask, cached), else an analytic mask.
    """
    from data_adapters.demo import land_fraction

    reason: Exception | None = None
    for _attempt in range(2):
        try:
            return land_fraction(lat.size, lon.size) >= 0.5, "GLOBE 1 km land mask"
        except OSError as exc:  # the shared cache may be cleared while we write into it
            reason = exc
        except (ImportError, ValueError) as exc:  # no GLOBE mask, or a grid it cannot divide
            reason = exc
            break
    warnings.warn(f"demo land mask unavailable ({reason}); using an analytic one", stacklevel=2)
    return _analytic_land(lat, lon), "analytic blob continents"


def _analytic_land(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """A few blob continents and polar caps: enough coastline for a renderer to work on."""
    lat2, lon2 = lat[:, None], lon[None, :]
    land = np.broadcast_to((lat2 < -70.0) | (lat2 > 82.0), (lat.size, lon.size)).copy()
    for clon, clat, rlon, rlat in [(-100, 45, 30, 20), (-60, -15, 15, 25), (20, 5, 20, 30),
                                   (90, 50, 50, 20), (135, -25, 17, 12)]:  # fmt: skip
        land |= ((lon2 - clon) / rlon) ** 2 + ((lat2 - clat) / rlat) ** 2 < 1.0
    return land


def field(lat: np.ndarray, lon: np.ndarray, day: float, land: np.ndarray) -> np.ndarray:
    """Sea surface temperature (°C, float32) on the grid for a day since ``START``."""
    lat_r, lon_r = np.deg2rad(lat), np.deg2rad(lon)
    kx, ky, phase, amp, drift = _MODES
    # separable modes: one matrix product instead of a sine per cell and mode
    eddies = (np.sin(np.outer(ky, lat_r) + phase[:, None]) * amp[:, None]).T @ np.sin(
        np.outer(kx, lon_r) + (drift * day * kx)[:, None]
    )
    season = 2.0 * np.sin(2.0 * np.pi * (day - 100.0) / 365.0) * np.sin(lat_r)
    base = 29.0 * np.cos(lat_r) ** 2 - 1.8 + season
    sst = base[:, None] + eddies * np.cos(lat_r)[:, None]
    sst = np.maximum(sst, -1.8).astype(np.float32)
    sst[land] = np.nan
    return sst


def global_store(resolution_deg: float = 1 / 12, ntime: int = 6) -> pathlib.Path:
    """The path of a global Zarr store at ``resolution_deg``, with ``ntime`` daily steps.

    Written on first use under ``<cache>/bench`` (``$OCEAN_EXPLORER_CACHE`` or
    ``~/.cache/ocean-explorer``) and reused afterwards; a 1/12° store of 6 steps takes about
    15 s to write (2 cores) and ~110 MB of disk.
    """
    lat, lon = grid(resolution_deg)
    name = f"global_{lat.size}x{lon.size}_t{ntime}_v{STORE_VERSION}.zarr"
    path = cache_dir("bench") / name
    if path.exists():
        return path
    tmp = path.with_name(f".{name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        _write_store(tmp, lat, lon, ntime)
        try:
            os.replace(tmp, path)  # whole or not at all: a store in place is a complete one
        except OSError:
            if not path.exists():  # not another process winning the race: a real failure
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def grid_coords(lat: np.ndarray, lon: np.ndarray) -> dict[str, tuple]:
    """The lat/lon coordinates of a benchmark store, with their CF attributes."""
    return {
        "lat": ("lat", lat, {"units": "degrees_north", "standard_name": "latitude"}),
        "lon": ("lon", lon, {"units": "degrees_east", "standard_name": "longitude"}),
    }


def store_attrs(land_source: str) -> dict[str, str]:
    """The global attributes of a benchmark store whose land mask came from ``land_source``."""
    return {
        "title": "Ocean Explorer benchmark ocean",
        "comment": "Synthetic smooth field; plausible, not observed.",
        "land_mask": land_source,
    }


#: Encoding of the daily time axis of every benchmark store.
TIME_ENCODING = {"units": f"days since {START}", "dtype": "float64"}


def _write_store(path: pathlib.Path, lat: np.ndarray, lon: np.ndarray, ntime: int) -> None:
    land, land_source = land_mask(lat, lon)
    time = pd.date_range(START, periods=ntime, freq="D")
    coords = grid_coords(lat, lon)
    attrs = store_attrs(land_source)
    for t in range(ntime):
        step = xr.Dataset(
            {VARIABLE: (("time", "lat", "lon"), field(lat, lon, float(t), land)[None])},
            coords={"time": ("time", time[t : t + 1]), **coords},
            attrs=attrs,
        )
        step[VARIABLE].attrs.update(VARIABLE_ATTRS)
        if t == 0:
            encoding = {
                VARIABLE: {"chunks": (1, lat.size, lon.size)},
                "time": TIME_ENCODING,
            }
            step.to_zarr(path, mode="w", encoding=encoding, consolidated=False)
        else:
            step.to_zarr(path, append_dim="time", consolidated=False)


def open_global(resolution_deg: float = 1 / 12, ntime: int = 6) -> xr.Dataset:
    """The benchmark store, opened as the product opens any Zarr store (lazy, normalised)."""
    path = global_store(resolution_deg, ntime)
    return make_adapter("zarr", {"path": str(path)}).open()


def prepared_beside(source: pathlib.Path, suffix: str = "") -> pathlib.Path:
    """Where the prepared copy of the cached store ``source`` is kept: named by the layout's
    version and the writer's revision, so a copy an older writer wrote is written again."""
    from data_adapters.layouts import LAYOUT_VERSION, WRITER_REVISION

    revision = f"v{LAYOUT_VERSION}.{WRITER_REVISION}"
    return source.with_name(f"{source.stem}_prepared_{revision}{suffix}.zarr")


def prepared_global(
    resolution_deg: float = 1 / 12, ntime: int = 6, progress: Callable[[str], None] | None = None
) -> pathlib.Path:
    """The global store prepared by ``ocean-explorer prepare`` (``write_prepared``: maps,
    their pyramid and series), written once beside it in the cache.

    A 1/12° store of 24 steps takes about a minute to prepare on 2 cores.
    """
    from data_adapters.layouts import write_prepared

    source = global_store(resolution_deg, ntime)
    path = prepared_beside(source, "_levels")
    if path.exists():
        return path
    if progress is not None:
        progress(f"preparing {path.name} (maps, pyramid, series)")
    write_prepared(open_global(resolution_deg, ntime), path)  # written whole, then renamed
    return path


def open_prepared_global(resolution_deg: float = 1 / 12, ntime: int = 6) -> OpenedSource:
    """The prepared store, opened as the product does: its maps as ``.dataset``, with their
    pyramid as ``.pyramid``."""
    path = prepared_global(resolution_deg, ntime)
    return OpenedSource.from_adapter(make_adapter("zarr", {"path": str(path)}), path.name)
