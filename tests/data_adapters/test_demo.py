"""The built-in demo digital ocean: deterministic, on a real land mask, with scenarios whose
differences from the baseline are what their names promise."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

from data_adapters import validate_dataset
from data_adapters.demo import HEATWAVE, SCENARIOS, WINDFARM, DemoOceanAdapter

#: A day at the heatwave's peak (day of year 205 of 2025) and one before it starts.
PEAK_DAY = "2025-07-24"
WINTER_DAY = "2025-01-15"

UNITS = {
    "thetao": "degC",
    "so": "PSU",
    "uo": "m s-1",
    "vo": "m s-1",
    "zos": "m",
    "chl": "mg m-3",
}


@pytest.fixture(scope="module")
def demo() -> xr.Dataset:
    """A year of the demo ocean on its 1° grid (same fields, 16 times fewer cells)."""
    return DemoOceanAdapter(resolution=1.0).open()


@pytest.fixture(scope="module")
def peak() -> xr.Dataset:
    """The heatwave's peak day alone: a one-day demo has the same fields on that day and
    spares the dask graph of a whole year for each value read."""
    return DemoOceanAdapter(resolution=1.0, start=PEAK_DAY, days=1).open()


@pytest.fixture(scope="module")
def winter() -> xr.Dataset:
    """A winter day, before the heatwave."""
    return DemoOceanAdapter(resolution=1.0, start=WINTER_DAY, days=1).open()


def surface(ds: xr.Dataset, var: str, scenario: str) -> xr.DataArray:
    """``var`` at the surface on the dataset's first day."""
    da = ds[var].sel(scenario=scenario).isel(time=0)
    return da.isel(depth=0) if "depth" in da.dims else da


def surface_map(ds: xr.Dataset, var: str, scenario: str) -> np.ndarray:
    return surface(ds, var, scenario).values


def at(ds: xr.Dataset, var: str, scenario: str, lon: float, lat: float) -> float:
    return float(surface(ds, var, scenario).sel(lon=lon, lat=lat, method="nearest"))


def test_demo_is_on_the_contract_with_its_variables_and_scenarios(demo):
    validate_dataset(demo)

    assert list(demo["scenario"].values) == list(SCENARIOS) and len(SCENARIOS) == 5
    assert {name: da.attrs["units"] for name, da in demo.data_vars.items()} == UNITS
    assert all(da.attrs["long_name"] for da in demo.data_vars.values())
    assert demo.sizes["time"] >= 365
    steps = np.diff(demo["time"].values).astype("timedelta64[h]").astype(int)
    assert (steps == 24).all()


def equator_salinity() -> list[float]:
    """Sea salinity on 20 January at 25 m along the equator, every 10° of longitude."""
    ds = DemoOceanAdapter(resolution=1.0, start="2025-01-20", days=1).open()
    cells = ds["so"].isel(scenario=0, time=0, depth=2).sel(lat=0.5).isel(lon=slice(5, None, 10))
    return [float(v) for v in cells.values]


def test_demo_is_deterministic_across_processes():
    """Another process (a restarted server, another machine) shows the very same ocean."""
    script = (
        "import json; from tests.data_adapters.test_demo import equator_salinity; "
        "print(json.dumps(equator_salinity()))"
    )
    ran = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=pathlib.Path(__file__).parents[2],
        timeout=120,
    )

    there = json.loads(ran.stdout)
    here = equator_salinity()
    np.testing.assert_array_equal(here, there)
    assert len(here) == 36 and np.isfinite(here).sum() > 20  # mostly ocean along the equator


def test_land_is_nan_and_ocean_is_finite(winter):
    for lon, lat in ((20.0, 0.0), (134.0, -25.0)):  # the Congo basin, central Australia
        assert np.isnan(at(winter, "thetao", "baseline", lon, lat))
        assert np.isnan(at(winter, "chl", "baseline", lon, lat))
    for lon, lat in ((-150.0, 0.0), (-30.0, 40.0), (80.0, -20.0)):  # Pacific, Atlantic, Indian
        assert 0 < at(winter, "thetao", "baseline", lon, lat) < 35
        assert np.isfinite(at(winter, "zos", "baseline", lon, lat))


def test_warming_1p5_is_one_and_a_half_degrees_over_every_ocean_cell(peak):
    base = surface_map(peak, "thetao", "baseline")
    warm = surface_map(peak, "thetao", "warming_1p5")

    ocean = np.isfinite(base)
    np.testing.assert_array_equal(np.isfinite(warm), ocean)
    np.testing.assert_allclose(warm[ocean] - base[ocean], 1.5, atol=1e-4)
    assert ocean.mean() > 0.6


def test_heatwave_peaks_at_its_centre_and_is_zero_far_away(peak):
    change = surface_map(peak, "thetao", "heatwave") - surface_map(peak, "thetao", "baseline")
    lon, lat = peak["lon"].values, peak["lat"].values
    far = (np.abs(lon[None, :] - HEATWAVE["lon"]) > 30) | (
        np.abs(lat[:, None] - HEATWAVE["lat"]) > 15
    )
    centre = at(peak, "thetao", "heatwave", HEATWAVE["lon"], HEATWAVE["lat"]) - at(
        peak, "thetao", "baseline", HEATWAVE["lon"], HEATWAVE["lat"]
    )

    assert centre > 0.8 * HEATWAVE["amplitude"]
    assert np.nanmax(change) == pytest.approx(centre, abs=0.3)
    assert (change[far & np.isfinite(change)] == 0).all()


def test_heatwave_has_not_begun_in_winter(winter):
    change = surface_map(winter, "thetao", "heatwave") - surface_map(winter, "thetao", "baseline")

    assert (change[np.isfinite(change)] == 0).all()


def test_windfarm_slows_currents_in_its_wake_only(peak):
    def speed(scenario: str, lon: float, lat: float) -> float:
        return float(np.hypot(*(at(peak, v, scenario, lon, lat) for v in ("uo", "vo"))))

    near = (WINDFARM["lon"], WINDFARM["lat"])
    assert speed("baseline", *near) > 0
    assert speed("windfarm", *near) < 0.9 * speed("baseline", *near)
    far = (-30.0, 40.0)
    assert speed("windfarm", *far) == speed("baseline", *far)


def test_default_quarter_degree_map():
    """The catalog's 1/4° demo: one surface map, read alone."""
    ds = DemoOceanAdapter().open()

    assert ds.sizes["lat"] == 720 and ds.sizes["lon"] == 1440
    np.testing.assert_allclose(np.diff(ds["lon"].values), 0.25)
    surface = ds["thetao"].isel(scenario=0, time=0, depth=0).values
    assert 0.6 < np.isfinite(surface).mean() < 0.8  # about 70 % of the Earth is ocean
    assert np.nanmin(surface) >= -2.0 and np.nanmax(surface) <= 35.0
