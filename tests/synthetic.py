"""A registry of small synthetic ocean datasets, one per quirk of real files.

Like xpublish-tiles' test datasets: each builder returns a tiny in-memory ``xarray.Dataset``
that looks like what some model or archive really writes (NEMO's ``nav_lon``, 0-360
longitudes, packed integers with a ``valid_range``...). Tests write them to ``tmp_path``
with :func:`write_netcdf` and open them through the real adapters, so xarray's decoding
runs exactly as it would on a user's file.

Values are chosen so that a test can tell where they ended up: the sea temperature of the
plain builders is :func:`marker` of the cell's position, and sea level counts days since
the first time step.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable

import cftime
import numpy as np
import pandas as pd
import xarray as xr

#: Builders by name; ``SYNTHETIC[name]()`` returns a fresh dataset.
SYNTHETIC: dict[str, Callable[..., xr.Dataset]] = {}

#: Model levels (m, positive down) of the builders that have a depth axis.
DEPTHS = np.array([0.5, 10.0, 100.0])

THETAO_ATTRS = {
    "standard_name": "sea_water_potential_temperature",
    "long_name": "Sea water potential temperature",
    "units": "degC",
}
ZOS_ATTRS = {
    "standard_name": "sea_surface_height_above_geoid",
    "long_name": "Sea surface height above geoid",
    "units": "m",
}
LON_ATTRS = {"standard_name": "longitude", "units": "degrees_east", "axis": "X"}
LAT_ATTRS = {"standard_name": "latitude", "units": "degrees_north", "axis": "Y"}
DEPTH_ATTRS = {"standard_name": "depth", "units": "m", "positive": "down", "axis": "Z"}


def synthetic(builder: Callable[..., xr.Dataset]) -> Callable[..., xr.Dataset]:
    """Register ``builder`` under its function name."""
    SYNTHETIC[builder.__name__] = builder
    return builder


def marker(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """A value that says where it was stored: longitude east (0-360) + latitude / 100.

    Latitude / 100 stays below ±0.9, less than any longitude step used here, so the value at
    350°E 20°N is 350.2 however the grid is later wrapped, flipped or renamed.
    """
    return np.asarray(lon, dtype="float64") % 360.0 + np.asarray(lat, dtype="float64") / 100.0


def write_netcdf(ds: xr.Dataset, path: str | pathlib.Path, **kwargs) -> str:
    """Write ``ds`` to ``path`` (NetCDF-4 unless ``format=`` says otherwise); return the path."""
    ds.to_netcdf(path, **kwargs)
    return str(path)


def _grid_dataset(
    lon: np.ndarray,
    lat: np.ndarray,
    times: int,
    start: str,
    lon_name: str = "lon",
    lat_name: str = "lat",
    lon_attrs: dict | None = None,
    lat_attrs: dict | None = None,
) -> xr.Dataset:
    """thetao(time, depth, lat, lon) = marker, zos(time, lat, lon) = days since ``start``."""
    time = pd.date_range(start, periods=times, freq="D")
    first = pd.Timestamp("2025-01-01")
    days = np.asarray((time - first) / pd.Timedelta(days=1), dtype="float32")
    field = marker(lon[None, :], lat[:, None]).astype("float32")
    thetao = np.broadcast_to(field, (times, DEPTHS.size, lat.size, lon.size)).copy()
    zos = np.broadcast_to(days[:, None, None], (times, lat.size, lon.size)).copy()
    return xr.Dataset(
        {
            "thetao": (("time", "depth", lat_name, lon_name), thetao, THETAO_ATTRS),
            "zos": (("time", lat_name, lon_name), zos, ZOS_ATTRS),
        },
        coords={
            "time": ("time", time),
            "depth": ("depth", DEPTHS, DEPTH_ATTRS),
            lat_name: (lat_name, lat, LAT_ATTRS if lat_attrs is None else lat_attrs),
            lon_name: (lon_name, lon, LON_ATTRS if lon_attrs is None else lon_attrs),
        },
        attrs={"title": "Synthetic ocean", "Conventions": "CF-1.8"},
    )


# -- well-formed ----------------------------------------------------------------------------
@synthetic
def regular(times: int = 4, start: str = "2025-01-01") -> xr.Dataset:
    """A well-formed CF grid: 10° cells, lon -175..175, lat -85..85, 3 depths, daily steps."""
    return _grid_dataset(np.arange(-175.0, 180.0, 10.0), np.arange(-85.0, 90.0, 10.0), times, start)


# -- horizontal quirks ----------------------------------------------------------------------
@synthetic
def lon_0_360() -> xr.Dataset:
    """Longitudes 0, 10, ..., 350 (global models, ERA-style archives)."""
    return _grid_dataset(np.arange(0.0, 360.0, 10.0), np.arange(-85.0, 90.0, 10.0), 2, "2025-01-01")


@synthetic
def lat_descending() -> xr.Dataset:
    """Latitude from north to south (85..-85), as image-like archives store it."""
    return _grid_dataset(
        np.arange(-175.0, 180.0, 10.0), np.arange(85.0, -90.0, -10.0), 2, "2025-01-01"
    )


@synthetic
def latitude_longitude_names() -> xr.Dataset:
    """Copernicus Marine style names: ``latitude``/``longitude``."""
    return _grid_dataset(
        np.arange(-175.0, 180.0, 10.0),
        np.arange(-85.0, 90.0, 10.0),
        2,
        "2025-01-01",
        lon_name="longitude",
        lat_name="latitude",
    )


@synthetic
def xy_degrees() -> xr.Dataset:
    """1-D coordinates named ``x``/``y`` known only by their units degrees_east/north."""
    return _grid_dataset(
        np.arange(-175.0, 180.0, 10.0),
        np.arange(-85.0, 90.0, 10.0),
        2,
        "2025-01-01",
        lon_name="x",
        lat_name="y",
        lon_attrs={"units": "degrees_east"},
        lat_attrs={"units": "degrees_north"},
    )


@synthetic
def dateline_box() -> xr.Dataset:
    """A regional grid 170°E..170°W (stored 170..190, 0-360 style) and 10..30°N."""
    return _grid_dataset(np.arange(170.0, 190.5, 1.0), np.arange(10.0, 30.5, 1.0), 2, "2025-01-01")


def _nemo(lon2d: np.ndarray, lat2d: np.ndarray) -> xr.Dataset:
    """NEMO/XIOS output layout: nav_lon/nav_lat on (y, x), time_counter with time_centered
    beside it, deptht, and their cell bounds."""
    ny, nx = lon2d.shape
    time = pd.date_range("2025-01-01", periods=2, freq="D").values
    field = marker(lon2d, lat2d).astype("float32")
    ds = xr.Dataset(
        {
            "thetao": (
                ("time_counter", "deptht", "y", "x"),
                np.broadcast_to(field, (2, DEPTHS.size, ny, nx)).copy(),
                {**THETAO_ATTRS, "coordinates": "time_centered nav_lat nav_lon"},
            ),
            "nav_lon": (("y", "x"), lon2d, {"units": "degrees_east", "long_name": "Longitude"}),
            "nav_lat": (("y", "x"), lat2d, {"units": "degrees_north", "long_name": "Latitude"}),
            "time_counter_bounds": (
                ("time_counter", "axis_nbounds"),
                np.stack([time, time + np.timedelta64(1, "D")], axis=1),
            ),
            "deptht_bounds": (
                ("deptht", "axis_nbounds"),
                np.stack([DEPTHS - 0.5, DEPTHS + 0.5], axis=1),
            ),
        },
        coords={
            "time_counter": (
                "time_counter",
                time,
                {"axis": "T", "standard_name": "time", "bounds": "time_counter_bounds"},
            ),
            # the middle of each averaging period: a second time coordinate on the same axis
            "time_centered": (
                "time_counter",
                time + np.timedelta64(12, "h"),
                {"standard_name": "time", "long_name": "Time axis"},
            ),
            "deptht": (
                "deptht",
                DEPTHS,
                {
                    "units": "m",
                    "positive": "down",
                    "long_name": "Vertical T levels",
                    "bounds": "deptht_bounds",
                },
            ),
        },
    )
    # XIOS writes seconds since 1900 for the time axis and its bounds alike
    for name in ("time_counter", "time_centered", "time_counter_bounds"):
        ds[name].encoding["units"] = "seconds since 1900-01-01 00:00:00"
    return ds


@synthetic
def nemo_curvilinear() -> xr.Dataset:
    """A rotated (truly curvilinear) NEMO grid: lon and lat both vary along y and x."""
    y, x = np.meshgrid(np.arange(6.0), np.arange(8.0), indexing="ij")
    lon2d = -20.0 + 2.0 * x + 0.5 * y
    lat2d = 40.0 + 1.5 * y + 0.3 * x
    return _nemo(lon2d, lat2d)


@synthetic
def nemo_separable() -> xr.Dataset:
    """A NEMO file on a regular grid stored 2-D: lon varies only along x, lat only along y."""
    lat2d, lon2d = np.meshgrid(np.arange(40.0, 46.0), np.arange(-20.0, -12.0), indexing="ij")
    return _nemo(lon2d, lat2d)


# -- vertical quirks ------------------------------------------------------------------------
@synthetic
def depth_height_up() -> xr.Dataset:
    """Heights -100, -10, -0.5 m (deepest first) with ``positive: up``, as ROMS stores them.

    thetao = 20 + height / 10: 10 °C at 100 m, 19.95 °C at 0.5 m.
    """
    ds = regular(times=2).isel(depth=slice(None, None, -1))
    heights = -ds["depth"].values
    thetao = (20.0 + heights / 10.0)[None, :, None, None] + 0 * ds["thetao"].values
    return (
        ds.assign(thetao=(ds["thetao"].dims, thetao.astype("float32"), THETAO_ATTRS))
        .assign_coords(
            depth=(
                "depth",
                heights,
                {"units": "m", "positive": "up", "axis": "Z", "long_name": "z"},
            )
        )
        .rename(depth="z")
    )


@synthetic
def depth_cm() -> xr.Dataset:
    """Depths in centimetres (50, 1000, 10000 cm)."""
    ds = regular(times=2)
    return ds.assign_coords(depth=("depth", DEPTHS * 100, {**DEPTH_ATTRS, "units": "cm"}))


# -- time quirks ----------------------------------------------------------------------------
def _with_calendar(calendar: str) -> xr.Dataset:
    ds = regular(times=4)
    times = [cftime.datetime(2001, 2, 27 + i, calendar=calendar) for i in range(2)]
    if calendar == "360_day":  # 360-day months have a 30 February
        times += [cftime.datetime(2001, 2, 29, calendar=calendar)]
        times += [cftime.datetime(2001, 2, 30, calendar=calendar)]
    else:  # noleap: 28 February is followed by 1 March
        times += [cftime.datetime(2001, 3, 1, calendar=calendar)]
        times += [cftime.datetime(2001, 3, 2, calendar=calendar)]
    return ds.assign_coords(time=("time", np.array(times, dtype=object)))


@synthetic
def calendar_noleap() -> xr.Dataset:
    """Climate-model ``noleap`` calendar (no 29 February)."""
    return _with_calendar("noleap")


@synthetic
def calendar_360_day() -> xr.Dataset:
    """``360_day`` calendar (twelve 30-day months: 30 February exists)."""
    return _with_calendar("360_day")


# -- value quirks ---------------------------------------------------------------------------
@synthetic
def fill_and_valid_range() -> xr.Dataset:
    """Land stored as _FillValue -999 and a bad value 99 outside valid_range [-2, 40].

    Cell (lat 0, lon 0) is land, cell (lat 0, lon 1) holds the out-of-range 99; the rest is
    15 °C. Write with :data:`FILL_ENCODING`.
    """
    lon = np.arange(0.0, 40.0, 10.0)
    lat = np.arange(-10.0, 20.0, 10.0)
    values = np.full((1, lat.size, lon.size), 15.0, dtype="float32")
    values[0, 0, 0] = np.nan  # written as the fill value
    values[0, 0, 1] = 99.0
    return xr.Dataset(
        {"thetao": (("time", "lat", "lon"), values, {**THETAO_ATTRS, "valid_range": [-2.0, 40.0]})},
        coords={
            "time": ("time", pd.date_range("2025-01-01", periods=1)),
            "lat": ("lat", lat, LAT_ATTRS),
            "lon": ("lon", lon, LON_ATTRS),
        },
    )


#: Encoding for :func:`fill_and_valid_range`: land is stored as -999.
FILL_ENCODING = {"thetao": {"_FillValue": np.float32(-999.0)}}


@synthetic
def packed_valid_range() -> xr.Dataset:
    """int16 packed with scale_factor 0.01 and add_offset 20; valid_range in packed units.

    Packed -2000..2000 unpacks to 0..40 °C. Cell (lat 0, lon 0) is packed 3000 (50 °C,
    outside the valid range), cell (lat 0, lon 1) is the fill value -32767; the rest is
    packed 500 (25 °C). Written as raw integers and decoded by the reader, like a real file.
    """
    lon = np.arange(0.0, 40.0, 10.0)
    lat = np.arange(-10.0, 20.0, 10.0)
    packed = np.full((1, lat.size, lon.size), 500, dtype="int16")
    packed[0, 0, 0] = 3000
    packed[0, 0, 1] = -32767
    attrs = {
        **THETAO_ATTRS,
        "scale_factor": np.float32(0.01),
        "add_offset": np.float32(20.0),
        "_FillValue": np.int16(-32767),
        "valid_range": np.array([-2000, 2000], dtype="int16"),
    }
    return xr.Dataset(
        {"thetao": (("time", "lat", "lon"), packed, attrs)},
        coords={
            "time": ("time", pd.date_range("2025-01-01", periods=1)),
            "lat": ("lat", lat, LAT_ATTRS),
            "lon": ("lon", lon, LON_ATTRS),
        },
    )


@synthetic
def undescribed() -> xr.Dataset:
    """Data variables without ``long_name`` or ``units`` (one has a standard_name)."""
    ds = regular(times=2)
    ds["thetao"].attrs = {"standard_name": "sea_water_potential_temperature"}
    ds["zos"].attrs = {}
    return ds


@synthetic
def with_bounds() -> xr.Dataset:
    """CF cell bounds ``lat_bnds``/``lon_bnds`` on (lat, nv) and (lon, nv)."""
    ds = regular(times=2)
    ds["lat"].attrs["bounds"] = "lat_bnds"
    ds["lon"].attrs["bounds"] = "lon_bnds"
    return ds.assign(
        lat_bnds=(("lat", "nv"), np.stack([ds.lat.values - 5, ds.lat.values + 5], axis=1)),
        lon_bnds=(("lon", "nv"), np.stack([ds.lon.values - 5, ds.lon.values + 5], axis=1)),
    )


# -- runs and members -----------------------------------------------------------------------
#: Scenario labels of :func:`scenarios_members`, baseline first.
SCENARIO_LABELS = ["baseline", "warming_1p5", "heatwave"]


@synthetic
def scenarios_members() -> xr.Dataset:
    """One file holding a ``scenario`` dimension (labelled) and a ``realization`` dimension.

    thetao = marker + scenario index + realization index / 10.
    """
    ds = regular(times=2)
    scen = xr.DataArray(np.arange(3.0), dims="scenario")
    real = xr.DataArray(np.arange(2.0) / 10, dims="realization")
    thetao = (ds["thetao"] + scen + real).transpose("scenario", "realization", ...)
    thetao.attrs = THETAO_ATTRS
    return ds.assign(thetao=thetao.astype("float32")).assign_coords(
        scenario=("scenario", SCENARIO_LABELS), realization=("realization", [1, 2])
    )


#: Sea temperature offsets (°C) of the runs of :func:`scenario_runs`, by label.
RUN_OFFSETS = {"baseline": 0.0, "warming_1p5": 1.5, "heatwave": 3.0}


@synthetic
def scenario_runs() -> xr.Dataset:
    """Runs stored in one file: thetao on a labelled ``scenario`` dimension, raised by
    :data:`RUN_OFFSETS`; sea level stored once, without the scenario dimension.

    The same runs as :func:`run` writes one per file.
    """
    ds = regular(times=2)
    offsets = xr.DataArray(
        np.array(list(RUN_OFFSETS.values()), "float32"),
        dims="scenario",
        coords={"scenario": list(RUN_OFFSETS)},
    )
    thetao = (ds["thetao"] + offsets).transpose("scenario", ...)
    thetao.attrs = THETAO_ATTRS
    return ds.assign(thetao=thetao)


def run(offset: float, lon: np.ndarray | None = None) -> xr.Dataset:
    """One scenario run stored on its own: :func:`regular` with thetao raised by ``offset``.

    ``lon`` puts the run on another grid.
    """
    ds = regular(times=2)
    if lon is not None:
        ds = _grid_dataset(lon, ds.lat.values, 2, "2025-01-01")
    thetao = ds["thetao"] + np.float32(offset)
    thetao.attrs = THETAO_ATTRS
    return ds.assign(thetao=thetao)


def run_variant(
    offset: float = 0.0,
    lon: np.ndarray | None = None,
    lat: np.ndarray | None = None,
    start: str = "2025-01-01",
    calendar: str = "standard",
    units: str = "degC",
) -> xr.Dataset:
    """A run stored on its own like :func:`run` (thetao = :func:`marker` + ``offset``), on
    another grid (``lon``, ``lat``), period (``start``), calendar or with other ``units``.

    With a non-standard ``calendar`` the two daily steps are cftime dates from ``start``.
    """
    base = regular(times=2)
    lon = base["lon"].values if lon is None else np.asarray(lon, dtype="float64")
    lat = base["lat"].values if lat is None else np.asarray(lat, dtype="float64")
    ds = _grid_dataset(lon, lat, 2, start)
    if calendar != "standard":
        times = xr.date_range(start, periods=2, freq="D", calendar=calendar, use_cftime=True)
        ds = ds.assign_coords(time=("time", times.values))
    thetao = ds["thetao"] + np.float32(offset)
    thetao.attrs = {**THETAO_ATTRS, "units": units}
    return ds.assign(thetao=thetao)


# -- broken beyond repair -------------------------------------------------------------------
@synthetic
def no_horizontal() -> xr.Dataset:
    """Gridded values on dims (row, col) with no longitude/latitude anywhere."""
    return xr.Dataset(
        {"thetao": (("time", "row", "col"), np.zeros((2, 3, 4), "float32"), THETAO_ATTRS)},
        coords={"time": ("time", pd.date_range("2025-01-01", periods=2))},
    )


# -- probes: values known at every cell -------------------------------------------------------
#: Cell size (degrees) of :func:`probe_ocean`: centres at lon -177.5, -172.5, ..., 177.5
#: (all the way round) and lat -60, -55, ..., 60.
PROBE_STEP = 5.0
#: Depth levels (m) of :func:`probe_ocean`.
PROBE_DEPTHS = np.array([0.5, 10.0, 100.0, 500.0])
#: Land of :func:`probe_ocean` as (west, south, east, north) boxes of cell centres: an island
#: of 4 x 4 cells in the Atlantic, and a continent of 8 x 9 cells wider than the snapping reach.
PROBE_LAND = ((-37.5, 20.0, -22.5, 35.0), (102.5, -20.0, 137.5, 20.0))


def probe_value(lon, lat, step, depth, offset: float = 0.0):
    """Sea temperature of :func:`probe_ocean` at a cell centre: every cell, step and level differ.

    ``1000·step + (lon mod 360) + lat/100 + depth/10⁵ + offset`` (float64): longitude east
    whole-ish degrees, latitude in hundredths (below half a cell), depth in the fifth decimal.
    """
    return (
        1000.0 * np.asarray(step, "float64")
        + np.asarray(lon, "float64") % 360.0
        + np.asarray(lat, "float64") / 100.0
        + np.asarray(depth, "float64") / 1e5
        + offset
    )


def probe_is_land(lon, lat):
    """True on the land cells of :func:`probe_ocean` (:data:`PROBE_LAND`)."""
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    land = np.zeros(np.broadcast(lon, lat).shape, dtype=bool)
    for west, south, east, north in PROBE_LAND:
        land |= (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)
    return land


@synthetic
def probe_ocean(times: int = 6, calendar: str = "standard", runs: bool = False) -> xr.Dataset:
    """A global 5° ocean whose values are :func:`probe_value`, NaN on :data:`PROBE_LAND`.

    Daily steps from 2025-01-01 (``calendar="noleap"``: cftime from 2001-02-26, across the
    missing 29 February). ``thetao`` on (time, depth, lat, lon), stored as float64 so that
    CSV and NetCDF values can be compared exactly; ``zos`` = the step number. With ``runs``,
    ``thetao`` has a ``scenario`` dim raised by :data:`RUN_OFFSETS` and ``zos`` is stored once
    beside it.
    """
    lon = np.arange(-180.0 + PROBE_STEP / 2, 180.0, PROBE_STEP)
    lat = np.arange(-60.0, 60.0 + PROBE_STEP / 2, PROBE_STEP)
    if calendar == "standard":
        time = pd.date_range("2025-01-01", periods=times, freq="D").values
    else:
        time = xr.date_range(
            "2001-02-26", periods=times, freq="D", calendar=calendar, use_cftime=True
        ).values
    step = np.arange(times)[:, None, None, None]
    depth = PROBE_DEPTHS[None, :, None, None]
    sea = ~probe_is_land(lon[None, None, None, :], lat[None, None, :, None])
    offsets = list(RUN_OFFSETS.values()) if runs else [0.0]
    thetao = np.stack(
        [
            np.where(sea, probe_value(lon, lat[:, None], step, depth, offset), np.nan)
            for offset in offsets
        ]
    )
    zos = np.where(sea[:, 0], np.broadcast_to(step[:, 0], (times, lat.size, lon.size)), np.nan)
    thetao_dims = ("scenario", "time", "depth", "lat", "lon")
    if not runs:
        thetao, thetao_dims = thetao[0], thetao_dims[1:]
    coords = {
        "time": ("time", time),
        "depth": ("depth", PROBE_DEPTHS, DEPTH_ATTRS),
        "lat": ("lat", lat, LAT_ATTRS),
        "lon": ("lon", lon, LON_ATTRS),
    }
    if runs:
        coords["scenario"] = ("scenario", list(RUN_OFFSETS))
    return xr.Dataset(
        {
            "thetao": (thetao_dims, thetao, THETAO_ATTRS),
            "zos": (("time", "lat", "lon"), zos, ZOS_ATTRS),
        },
        coords=coords,
        attrs={"title": "Probe ocean", "institution": "Ocean Explorer tests"},
    )
