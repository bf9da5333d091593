"""Derived variables on real files: current speed and TEOS-10 σθ from the Arctic 20 km ocean
model (x/y velocity, potential temperature in °C, salinity on z-levels) and the Atlantic
profiles (potential temperature in kelvin), against numpy and gsw called on the raw values
read with plain xarray; the command line renders and samples them."""

from __future__ import annotations

import json

import gsw
import numpy as np
import pytest

from components.core import derived
from data_adapters import open_source
from tests.corpus import BY_NAME
from tests.corpus.test_corpus_cli import raw_dataset, run_cli

pytestmark = pytest.mark.slow


def _sea_points(raw_values: np.ndarray, count: int = 4) -> list[tuple[int, ...]]:
    """Indices of ``count`` sea cells spread over the array (finite values)."""
    sea = np.argwhere(np.isfinite(raw_values))
    return [tuple(sea[i]) for i in np.linspace(0, len(sea) - 1, count).astype(int)]


def _sigma_theta(sp: float, pt_celsius: float, depth: float, lon: float, lat: float) -> float:
    p = gsw.p_from_z(-depth, lat)
    sa = gsw.SA_from_SP(sp, p, lon, lat)
    return float(gsw.sigma0(sa, gsw.CT_from_pt(sa, pt_celsius)))


def test_arctic_speed_and_sigma_theta_equal_numpy_and_gsw(corpus):
    source = corpus["arctic20"]
    raw = raw_dataset(BY_NAME["arctic20"], source)
    ds = derived.with_derived(open_source(str(source)).dataset)
    assert {"speed", "sigma_theta", "conservative_temperature", "mixed_layer_depth"} <= set(
        ds.data_vars
    )
    assert "direction" not in ds  # x/y components are grid-relative: no true direction
    lat, lon = raw["latitude"].values, raw["longitude"].values
    for t, k, j, i in _sea_points(raw["salinity"].values):
        at = {"time": t, "depth": k, "y": j, "x": i}
        assert float(ds["lat"][j, i]) == pytest.approx(float(lat[j, i]))  # the same cell
        u, v = float(raw["u"][t, k, j, i]), float(raw["v"][t, k, j, i])
        assert float(ds["speed"][at]) == pytest.approx(np.hypot(u, v), rel=1e-6)
        expected = _sigma_theta(
            float(raw["salinity"][t, k, j, i]),
            float(raw["temperature"][t, k, j, i]),
            float(raw["depth"][k]),
            float(lon[j, i]),
            float(lat[j, i]),
        )
        assert float(ds["sigma_theta"][at]) == pytest.approx(expected, abs=1e-4)
    mld = ds["mixed_layer_depth"].isel(time=0).values
    sea = np.isfinite(mld)
    assert sea.any() and (mld[sea] >= 10.0).all() and (mld[sea] <= 3000.0).all()


def test_atlantic_profiles_in_kelvin_give_sigma_theta(corpus):
    source = corpus["atlantic-profiles"]
    raw = raw_dataset(BY_NAME["atlantic-profiles"], source)
    ds = derived.with_derived(open_source(str(source)).dataset)
    theta = raw["theta"]
    assert theta.attrs["units"] == "K"
    dims = theta.dims
    for index in _sea_points(theta.values):
        cell = dict(zip(dims, index, strict=True))
        lat, lon, depth = (
            float(raw[name][cell[name]])
            for name in (next(d for d in dims if key in d) for key in ("lat", "lon", "depth"))
        )
        expected = _sigma_theta(
            float(raw["salinity"][index]), float(theta[index]) - 273.15, depth, lon, lat
        )
        got = (
            ds["sigma_theta"]
            .sel(lat=lat, lon=(lon + 180) % 360 - 180, depth=depth, method="nearest")
            .isel(time=0)
        )
        assert float(got) == pytest.approx(expected, abs=1e-4)


def test_the_command_line_renders_and_samples_derived_variables(corpus, tmp_path):
    source = str(corpus["arctic20"])
    done = run_cli("render", source, "--var", "sigma_theta", "-o", str(tmp_path / "s.png"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "s.png").stat().st_size > 1000
    series = {}
    for var in ("spd=sqrt(u**2+v**2)", "speed"):
        out = tmp_path / "series.csv"
        done = run_cli(
            "timeseries", source, "--var", var, "--lon", "5", "--lat", "72", "--depth", "10",
            "-o", str(out),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        series[var] = out.read_text().splitlines()
    assert len(series["speed"]) == 2 + 5  # the cell's line, the header, five days
    # an expression (in float64) and the derived variable (float32 inputs) agree
    values = {k: [float(x.split(",")[1]) for x in lines[2:]] for k, lines in series.items()}
    np.testing.assert_allclose(values["spd=sqrt(u**2+v**2)"], values["speed"], rtol=1e-6)
    done = run_cli("inspect", source, "--json")
    names = [v["name"] for v in json.loads(done.stdout)["variables"]]
    assert {"speed", "sigma_theta", "mixed_layer_depth"} <= set(names)
