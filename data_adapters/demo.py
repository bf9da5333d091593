"""The built-in demo digital ocean: a deterministic global ocean computed lazily per chunk.

No download and no big binary: every chunk is an analytic function of (scenario, time,
depth, lat, lon) evaluated when dask asks for it, on a real land mask (the 1 km GLOBE mask
of the ``global-land-mask`` package, averaged once per resolution into the cache).

Fields are plausible, not observed: a latitudinal and seasonal sea temperature with a
thermocline, salinity with subtropical maxima and a salty Mediterranean, gyre, circumpolar
and equatorial currents with westward-drifting eddies, sea level, and chlorophyll that blooms
in spring at high latitudes and along coasts.

Scenarios on the same grid:

- ``baseline``
- ``warming_1p5`` / ``warming_3``: sea temperature +1.5 °C / +3 °C in every ocean cell;
- ``heatwave``: a marine heatwave in the north-east Pacific that grows from mid-May, peaks
  late July at +3.5 °C and has gone by mid-October; exactly zero far from the event;
- ``windfarm``: an offshore wind-farm cluster on the Dogger Bank (North Sea) slowing the
  currents in its wake and mixing the summer water column (cooler surface, warmer below).
"""

from __future__ import annotations

import functools
import io
import pathlib
import threading
from dataclasses import dataclass
from typing import ClassVar

import dask.array as dsa
import numpy as np
import pandas as pd
import param
import xarray as xr

from . import demo_weather
from .base import Adapter
from .cache import atomic_write_bytes, cache_dir

SCENARIOS = ("baseline", "warming_1p5", "warming_3", "heatwave", "windfarm")
#: Model levels in metres, positive down.
DEPTHS = (0.5, 10.0, 25.0, 50.0, 100.0, 200.0, 500.0, 1000.0)
EARTH_RADIUS_M = 6_371_000.0
#: Sea-temperature eddy amplitude (°C per unit streamfunction) in the demo with a past.
PAST_EDDY_AMPLITUDE = 0.45

#: Marine heatwave: centre (lon, lat) in degrees, half-widths in degrees, timing in day of
#: year (start of growth, peak, end of decay), peak anomaly in °C, e-folding depth in m.
HEATWAVE = {
    "lon": -145.0, "lat": 45.0, "half_width_lon": 18.0, "half_width_lat": 10.0,
    "start": 135, "peak": 205, "end": 285, "amplitude": 3.5, "max_depth": 150.0,
}  # fmt: skip
#: Wind-farm cluster on the Dogger Bank: centre, half-widths (degrees), current reduction
#: (fraction) in the wake, summer surface cooling and sub-surface warming (°C).
WINDFARM = {
    "lon": 2.0, "lat": 54.8, "half_width_lon": 1.6, "half_width_lat": 0.9,
    "current_reduction": 0.3, "surface_cooling": 0.6, "deep_warming": 0.4, "mixing_depth": 25.0,
}  # fmt: skip

VARIABLES = {
    "thetao": {
        "standard_name": "sea_water_potential_temperature",
        "long_name": "Sea water potential temperature",
        "units": "degC",
        "dims": ("scenario", "time", "depth", "lat", "lon"),
    },
    "so": {
        "standard_name": "sea_water_salinity",
        "long_name": "Sea water salinity",
        "units": "PSU",
        "dims": ("scenario", "time", "depth", "lat", "lon"),
    },
    "uo": {
        "standard_name": "eastward_sea_water_velocity",
        "long_name": "Eastward sea water velocity",
        "units": "m s-1",
        "dims": ("scenario", "time", "depth", "lat", "lon"),
    },
    "vo": {
        "standard_name": "northward_sea_water_velocity",
        "long_name": "Northward sea water velocity",
        "units": "m s-1",
        "dims": ("scenario", "time", "depth", "lat", "lon"),
    },
    "zos": {
        "standard_name": "sea_surface_height_above_geoid",
        "long_name": "Sea surface height above geoid",
        "units": "m",
        "dims": ("scenario", "time", "lat", "lon"),
    },
    "chl": {
        "standard_name": "mass_concentration_of_chlorophyll_a_in_sea_water",
        "long_name": "Chlorophyll-a concentration",
        "units": "mg m-3",
        "dims": ("scenario", "time", "lat", "lon"),
    },
}


# -- the land mask --------------------------------------------------------------------------
def _globe_mask_file() -> pathlib.Path:
    import importlib.util

    spec = importlib.util.find_spec("global_land_mask")
    assert spec is not None and spec.origin is not None
    return pathlib.Path(spec.origin).with_name("globe_combined_mask_compressed.npz")


_LOCK = threading.RLock()  # dask computes chunks in threads; build each cache file once


def land_fraction(nlat: int, nlon: int) -> np.ndarray:
    """Land fraction (0..1, float32) of each cell of an (nlat, nlon) global grid, lat ascending.

    Averaged from the 1 km GLOBE mask once and cached on disk (about 1 s per MB of result);
    the 1 GB source mask is loaded only when no cached grid exists.
    """
    with _LOCK:
        return _land_fraction(nlat, nlon)


@functools.cache
def _land_fraction(nlat: int, nlon: int) -> np.ndarray:
    path = cache_dir("demo") / f"land_fraction_{nlat}x{nlon}.npy"
    if path.exists():
        return np.load(path)
    with np.load(_globe_mask_file()) as npz:
        mask = npz["mask"]  # (21600, 43200) bool, True over the ocean, row 0 at 90°N
    fy, fx = mask.shape[0] // nlat, mask.shape[1] // nlon
    if fy * nlat != mask.shape[0] or fx * nlon != mask.shape[1]:
        raise ValueError(f"demo grid {nlat}x{nlon} must divide the 21600x43200 GLOBE mask")
    counts = np.zeros((nlat, nlon), dtype=np.float32)
    step = max(1, 4096 // fy)  # rows of output cells per pass keeps temporaries ~ 100 MB
    for i in range(0, nlat, step):
        block = mask[i * fy : (i + step) * fy].reshape(-1, fy, nlon, fx)
        counts[i : i + step] = block.sum(axis=(1, 3), dtype=np.uint32)
    del mask
    fraction = (1.0 - counts / (fy * fx))[::-1].copy()
    buf = io.BytesIO()
    np.save(buf, fraction)
    atomic_write_bytes(path, buf.getvalue())
    return fraction


def _static_fields(nlat: int, nlon: int) -> dict[str, np.ndarray]:
    """Land mask, distance to the coast (km) and sea-floor depth (m) on the demo grid."""
    with _LOCK:
        return _static_fields_once(nlat, nlon)


@functools.cache
def _static_fields_once(nlat: int, nlon: int) -> dict[str, np.ndarray]:
    from scipy import ndimage

    land = land_fraction(nlat, nlon) >= 0.5
    dlat = 180.0 / nlat
    # distance in cells (east-west wraps round the globe), converted to km at each latitude
    padded = np.concatenate([land[:, -nlon // 4 :], land, land[:, : nlon // 4]], axis=1)
    lat = -90 + dlat * (np.arange(nlat) + 0.5)
    km_per_cell_y = dlat * 111.2
    km_per_cell_x = km_per_cell_y * np.maximum(np.cos(np.deg2rad(lat)), 0.05)
    dist_y = ndimage.distance_transform_edt(~padded, sampling=(1.0, 1.0))[:, nlon // 4 : -nlon // 4]
    # an isotropic approximation scaled by the mean of the two cell sizes is plenty here
    dist_km = dist_y * 0.5 * (km_per_cell_y + km_per_cell_x[:, None])
    # a shelf deepening to 180 m over 150 km, then a slope down to a 4 km deep abyssal plain
    floor = 30.0 + 150.0 * np.minimum(dist_km / 150.0, 1.0)
    floor += 4000.0 * (1.0 - np.exp(-np.maximum(dist_km - 150.0, 0.0) / 150.0))
    return {"land": land, "coast_km": dist_km.astype(np.float32), "floor": floor.astype(np.float32)}


# -- analytic building blocks ---------------------------------------------------------------
#: Eddy modes: zonal and meridional wavenumbers, phase, amplitude, westward drift (rad/day).
_rng = np.random.default_rng(20251124)  # PCG64 with a fixed seed: identical on every machine
_MODES = [
    (int(kx), int(ky), float(p), float(a), float(c))
    for kx, ky, p, a, c in zip(
        _rng.integers(6, 40, 14),
        _rng.integers(4, 30, 14),
        _rng.uniform(0, 2 * np.pi, 14),
        _rng.uniform(0.4, 1.0, 14),
        _rng.uniform(0.004, 0.02, 14),
        strict=True,
    )
]
_MODE_NORM = float(np.sqrt(sum(a * a for *_, a, _c in _MODES) / 2))


def _eddies(
    lon_r: np.ndarray, lat_r: np.ndarray, day: float, gradients: bool
) -> tuple[np.ndarray, ...]:
    """Eddy streamfunction psi (unit rms) and, if asked, its gradient on the grid lat x lon.

    Separable sinusoids: one matrix product per field instead of a sine per cell and mode.
    """
    amp = np.array([m[3] for m in _MODES]) / _MODE_NORM
    kx = np.array([m[0] for m in _MODES], dtype=float)
    ky = np.array([m[1] for m in _MODES], dtype=float)
    phase = np.array([m[2] for m in _MODES])
    drift = np.array([m[4] for m in _MODES])
    ax = np.outer(kx, lon_r) + (drift * day * kx)[:, None]  # (mode, lon)
    ay = np.outer(ky, lat_r) + phase[:, None]  # (mode, lat)
    sx, sy = np.sin(ax), np.sin(ay)
    psi = (sy * amp[:, None]).T @ sx
    if not gradients:
        return (psi,)
    dpsi_dlon = (sy * (amp * kx)[:, None]).T @ np.cos(ax)
    dpsi_dlat = (np.cos(ay) * (amp * ky)[:, None]).T @ sx
    return psi, dpsi_dlon, dpsi_dlat


def _bump(x: np.ndarray) -> np.ndarray:
    """A smooth bump (1 - x²)² on |x| < 1 and exactly 0 outside."""
    return np.where(np.abs(x) < 1, (1 - x**2) ** 2, 0.0)


def _ellipse(lon: np.ndarray, lat: np.ndarray, spec: dict) -> np.ndarray:
    dx = (lon[None, :] - spec["lon"]) / spec["half_width_lon"]
    dy = (lat[:, None] - spec["lat"]) / spec["half_width_lat"]
    return _bump(np.sqrt(dx**2 + dy**2))


def heatwave_anomaly(lon: np.ndarray, lat: np.ndarray, day: float, depth: float) -> np.ndarray:
    """Heatwave temperature anomaly (°C) on the lat x lon grid for a day of year and depth."""
    hw = HEATWAVE
    if not hw["start"] < day < hw["end"] or depth >= hw["max_depth"]:
        return np.zeros((lat.size, lon.size))
    half = (hw["peak"] - hw["start"]) if day <= hw["peak"] else (hw["end"] - hw["peak"])
    timing = float(_bump(np.array((day - hw["peak"]) / half)))
    vertical = 1.0 - depth / hw["max_depth"]
    return hw["amplitude"] * timing * vertical * _ellipse(lon, lat, hw)


def _summer(day: float, lat: np.ndarray) -> np.ndarray:
    """Seasonal factor: +1 at each hemisphere's late summer, -1 at late winter."""
    return -np.cos(2 * np.pi * (day - 35.0) / 365.0) * np.sign(lat)


# -- one chunk of one variable --------------------------------------------------------------
def _compute_block(
    var: str,
    scenario: str,
    days: np.ndarray,
    depths: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    static: dict[str, np.ndarray],
    past: _Past | None = None,
) -> np.ndarray:
    """The values of ``var`` for one scenario on (time, [depth,] lat, lon).

    ``past`` (the demo with variability) gives each step's day number, and whether the
    heatwave happens that year; without it every year is the same year.
    """
    lat_r, lon_r = np.deg2rad(lat), np.deg2rad(lon)
    land = static["land"]
    has_depth = "depth" in VARIABLES[var]["dims"]
    levels = depths if has_depth else np.array([0.0])
    out = np.empty((days.size, levels.size, lat.size, lon.size), dtype=np.float32)
    coslat = np.cos(lat_r)[:, None]
    absl = np.abs(lat)[:, None]
    near_coast = np.exp(-static["coast_km"] / 250.0)
    windfarm = _ellipse(lon, lat, WINDFARM) if scenario == "windfarm" else None
    for i, day in enumerate(days):
        # with a past, eddies drift on through the years instead of repeating each year
        eddy_day = float(day) if past is None else float(past.day_number[i])
        psi, *gradient = _eddies(lon_r, lat_r, eddy_day, gradients=var in ("uo", "vo"))
        weather = None
        if past is not None and var == "thetao":
            weather = demo_weather.variability(lon, lat, float(past.day_number[i]))
        heatwave_on = past is None or bool(past.heatwave_year[i])
        season = _summer(float(day), lat)[:, None]
        for k, z in enumerate(levels):
            if var == "thetao":
                surface = 29.0 * coslat**2 - 1.5 + 4.0 * np.abs(np.sin(lat_r))[:, None] * season
                if weather is None:
                    surface = surface + 0.8 * psi
                else:  # eddies weaker: weather and years share the variability
                    surface = surface + PAST_EDDY_AMPLITUDE * psi + weather
                deep = 1.5 + 2.0 * coslat
                mixed_layer = 40.0 - 25.0 * season  # deeper in winter
                below = np.maximum(z - mixed_layer, 0.0)
                value = deep + (surface - deep) * np.exp(-below / 350.0)
                value = np.maximum(value, -1.9)
                if scenario == "warming_1p5":
                    value = value + 1.5
                elif scenario == "warming_3":
                    value = value + 3.0
                elif scenario == "heatwave" and heatwave_on:
                    value = value + heatwave_anomaly(lon, lat, float(day), float(z))
                elif scenario == "windfarm":
                    strat = np.clip(season, 0.0, None)  # mixing matters when stratified
                    wf = WINDFARM
                    change = (
                        -wf["surface_cooling"] if z < wf["mixing_depth"] else wf["deep_warming"]
                    )
                    value = value + change * strat * windfarm
            elif var == "so":
                surface = (
                    34.4
                    + 1.8 * np.exp(-(((absl - 24.0) / 12.0) ** 2))
                    - 0.7 * np.exp(-((lat[:, None] / 7.0) ** 2))
                    - 1.2 * near_coast
                    + 0.25 * psi
                )
                med = np.exp(
                    -(((lon[None, :] - 18.0) / 16.0) ** 2) - ((lat[:, None] - 37.5) / 5.0) ** 2
                )
                surface = surface + 3.5 * med
                value = 34.7 + (surface - 34.7) * np.exp(-z / 600.0)
            elif var in ("uo", "vo"):
                decay = np.exp(-z / 800.0)
                dpsi_dlon, dpsi_dlat = gradient
                eddy_u = -0.25 * dpsi_dlat / 20.0
                eddy_v = 0.25 * dpsi_dlon / 20.0
                if var == "uo":
                    acc = 0.35 * np.exp(-(((lat[:, None] + 55.0) / 6.0) ** 2))
                    equatorial = -0.45 * np.exp(-((lat[:, None] / 3.0) ** 2)) * np.exp(-z / 80.0)
                    undercurrent = (
                        0.6
                        * np.exp(-((lat[:, None] / 2.0) ** 2))
                        * _bump(np.array((z - 120.0) / 80.0))
                    )
                    gyre = -0.12 * np.sin(np.deg2rad(lat[:, None]) * 6.0) * (absl < 60)
                    value = (acc + gyre + eddy_u) * decay + equatorial + undercurrent
                else:
                    value = eddy_v * decay
                if windfarm is not None:
                    value = value * (1.0 - WINDFARM["current_reduction"] * windfarm)
            elif var == "zos":
                # gyres fade out towards 70 degrees: no step in the sea surface
                gyre = (
                    0.5
                    * np.cos(np.deg2rad(lat[:, None]) * 3.0)
                    * np.clip((70.0 - absl) / 20.0, 0.0, 1.0)
                )
                acc = -0.8 * (1 + np.tanh((-lat[:, None] - 55.0) / 6.0)) / 2
                value = gyre + acc + 0.12 * psi + 0.04 * season * np.abs(np.sin(lat_r))[:, None]
                if scenario == "warming_1p5":
                    value = value + 0.1
                elif scenario == "warming_3":
                    value = value + 0.2
            elif var == "chl":
                bloom = np.exp(-(((float(day) - 120.0) / 30.0) ** 2)) * (
                    lat[:, None] > 35
                ) + np.exp(-(((float(day) - 300.0) / 30.0) ** 2)) * (lat[:, None] < -35)
                log_chl = (
                    np.log(0.06)
                    + 1.3 * (absl / 60.0).clip(0, 1.2) ** 2
                    + 1.0 * np.exp(-((lat[:, None] / 4.0) ** 2))
                    + 2.0 * near_coast
                    + 1.4 * bloom
                    + 0.35 * psi
                )
                value = np.exp(log_chl)
            else:  # pragma: no cover - VARIABLES is the list
                raise KeyError(var)
            value = np.broadcast_to(value, (lat.size, lon.size)).astype(np.float32)
            dry = land | (static["floor"] < z) if has_depth else land
            out[i, k] = np.where(dry, np.float32(np.nan), value)
    return out if has_depth else out[:, 0]


class DemoOceanAdapter(Adapter):
    """The built-in demo digital ocean: global, deterministic, computed lazily per chunk."""

    adapter_type: ClassVar[str] = "demo"
    priority: ClassVar[int] = 5

    resolution = param.Selector(
        default=0.25,
        objects=[1.0, 0.5, 0.25, 0.125],
        doc="Grid spacing in degrees (0.25 = 720 x 1440 cells).",
    )
    start = param.String(default="2025-01-01", doc="First day (ISO date).")
    days = param.Integer(default=365, bounds=(1, 20000), doc="Number of daily time steps.")
    variability = param.Boolean(
        default=False,
        doc="Year-to-year and weather-like variability of sea temperature, eddies that drift "
        "on through the years, and the heatwave in the last year only (the demo with a past).",
    )
    scenarios = param.List(
        default=list(SCENARIOS), item_type=str, doc="Scenarios to include, baseline first."
    )

    @classmethod
    def guess_can_open(cls, uri: str) -> bool:
        return uri == "demo:" or uri.startswith("demo:")

    @classmethod
    def from_uri(cls, uri: str) -> DemoOceanAdapter:
        return cls()

    @property
    def label(self) -> str:
        return "demo digital ocean"

    def _open(self) -> xr.Dataset:
        unknown = [s for s in self.scenarios if s not in SCENARIOS]
        if unknown:
            from .errors import SourceError, did_you_mean

            raise SourceError(
                f"demo: unknown scenario '{unknown[0]}'{did_you_mean(unknown[0], SCENARIOS)}; "
                f"available: {', '.join(SCENARIOS)}"
            )
        return self._build("maps")

    def _open_series(self) -> xr.Dataset | None:
        # the same ocean, chunked for long series at a point: a small tile over every day
        return self._build("series")

    def _build(self, layout: str) -> xr.Dataset:
        return build_demo_ocean(
            float(self.resolution),
            pd.Timestamp(self.start),
            self.days,
            tuple(self.scenarios),
            variability=self.variability,
            layout=layout,
        )


class DemoArray:
    """One demo variable as a lazily indexed array: values are computed for the cells asked for.

    dask calls ``__getitem__`` with the chunk's (or a point's) indices, so a map computes
    one map and a point series one cell per day.
    """

    def __init__(
        self,
        var: str,
        scenarios: tuple[str, ...],
        day_of_year: np.ndarray,
        depths: np.ndarray,
        lat: np.ndarray,
        lon: np.ndarray,
        past: _Past | None = None,
    ) -> None:
        self.var = var
        self.past = past
        self.scenarios = scenarios
        self.day_of_year = day_of_year
        self.depths = depths
        self.lat = lat
        self.lon = lon
        self.has_depth = "depth" in VARIABLES[var]["dims"]
        sizes = [len(scenarios), day_of_year.size]
        sizes += [depths.size] if self.has_depth else []
        self.shape = (*sizes, lat.size, lon.size)
        self.ndim = len(self.shape)
        self.dtype = np.dtype(np.float32)

    def __getitem__(self, key: tuple) -> np.ndarray:
        key = (key if isinstance(key, tuple) else (key,)) + (slice(None),) * self.ndim
        index = [np.arange(n)[k] for k, n in zip(key, self.shape, strict=False)]
        scalar = [np.ndim(i) == 0 for i in index]
        index = [np.atleast_1d(i) for i in index]
        s_idx, t_idx = index[0], index[1]
        z_idx = index[2] if self.has_depth else np.array([], dtype=int)
        y_idx, x_idx = index[-2], index[-1]
        window = (_as_slice(y_idx), _as_slice(x_idx))
        static = {k: v[window] for k, v in _static_fields(*self.shape[-2:]).items()}
        out = np.stack(
            [
                _compute_block(
                    self.var,
                    self.scenarios[s],
                    self.day_of_year[t_idx],
                    self.depths[z_idx],
                    self.lat[y_idx],
                    self.lon[x_idx],
                    static,
                    None if self.past is None else self.past.at(t_idx),
                )
                for s in s_idx
            ]
        )
        return out[tuple(0 if sc else slice(None) for sc in scalar)]


def _as_slice(index: np.ndarray) -> slice | np.ndarray:
    """A contiguous run of indices as a slice (a view, not a copy); other indices as they are."""
    if index.size and np.array_equal(index, np.arange(index[0], index[0] + index.size)):
        return slice(int(index[0]), int(index[0]) + index.size)
    return index


@dataclass(frozen=True)
class _Past:
    """Per step of the demo with variability: the day number (days since 1970-01-01) and
    whether the heatwave happens (its last year only)."""

    day_number: np.ndarray
    heatwave_year: np.ndarray

    def at(self, steps: np.ndarray) -> _Past:
        return _Past(self.day_number[steps], self.heatwave_year[steps])


#: Tile (cells a side) of the point-series layout: a point series computes one cell of it.
SERIES_TILE = 60


def build_demo_ocean(
    resolution: float,
    start: pd.Timestamp,
    days: int,
    scenarios: tuple[str, ...],
    variability: bool = False,
    layout: str = "maps",
) -> xr.Dataset:
    """The demo ocean as a lazy dataset; each chunk is one (scenario, time, depth) map
    (``layout="maps"``) or a small tile over every day (``"series"``)."""
    nlat, nlon = round(180 / resolution), round(360 / resolution)
    lat = -90 + resolution * (np.arange(nlat) + 0.5)
    lon = -180 + resolution * (np.arange(nlon) + 0.5)
    time = pd.date_range(start, periods=days, freq="D")
    day_of_year = np.asarray(time.day_of_year, dtype=float) - 0.5
    depths = np.asarray(DEPTHS)
    past = None
    if variability:
        number = (time - pd.Timestamp("1970-01-01")).days.to_numpy(dtype=float) + 0.5
        past = _Past(number, np.asarray(time.year == time[-1].year))
    data_vars = {}
    for var, meta in VARIABLES.items():
        array = DemoArray(var, scenarios, day_of_year, depths, lat, lon, past)
        # one chunk per map: a graph of few chunks (dask's per-compute graph work grows with
        # the chunk count: 100 ms a frame at 16 tiles a map, 33 ms at one); a zoomed map or a
        # point series still computes only the cells asked for (dask fuses the slice into
        # DemoArray.__getitem__)
        chunks = (1,) * (array.ndim - 2) + (nlat, nlon)
        if layout == "series":
            chunks = (1, days) + (1,) * (array.ndim - 4) + (SERIES_TILE, SERIES_TILE)
        name = (
            f"demo-{var}-{resolution}-{start.date()}-{days}-{'.'.join(scenarios)}"
            f"-{'past' if variability else 'year'}-{layout}"
        )
        lazy = dsa.from_array(
            array,
            chunks=chunks,
            name=name,
            asarray=False,
            meta=np.empty((0,) * array.ndim, np.float32),
        )
        attrs = {k: v for k, v in meta.items() if k != "dims"}
        data_vars[var] = (meta["dims"], lazy, attrs)
    return xr.Dataset(
        data_vars,
        coords={
            "scenario": ("scenario", np.array(scenarios, dtype=object)),
            "time": ("time", time.values),
            "depth": ("depth", depths, {"units": "m", "positive": "down", "axis": "Z"}),
            "lat": ("lat", lat, {"units": "degrees_north", "standard_name": "latitude"}),
            "lon": ("lon", lon, {"units": "degrees_east", "standard_name": "longitude"}),
        },
        attrs={
            "title": "Demo digital ocean",
            "institution": "Ocean Explorer",
            "source": "Analytic fields on the GLOBE 1 km land mask, computed on demand",
            "license": "CC0-1.0",
            "comment": "Plausible, not observed: for trying the product without data.",
        },
    )
