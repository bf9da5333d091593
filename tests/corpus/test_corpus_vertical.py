"""The command line on real s-coordinate files (ROMS Nordic, CROCO): levels are levels, and a
depth in metres is each column's true depth, interpolated.

The expected values are computed here from the raw file read with plain xarray and the CF
``ocean_s_coordinate_g2`` formula written out: depth below the sea surface
``zeta - z``, ``z = zeta + (zeta + h) * (hc * s + h * C) / (hc + h)``; the value at 50 m is
``numpy.interp`` between the two levels around it.
"""

from __future__ import annotations

import json
import pathlib
import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from tests.corpus.test_corpus_cli import raw_dataset, run_cli

pytestmark = pytest.mark.slow

#: The sea floor depth (m) of the column the issue's acceptance asks about.
COLUMN_DEPTH_M = 73.0


def g2_depths(raw: xr.Dataset) -> np.ndarray:
    """Depth (m below the sea surface) of every rho cell, (time, s_rho, eta, xi), raw order."""
    s = raw["s_rho"].values[None, :, None, None]
    c = raw["Cs_r"].values[None, :, None, None]
    h = raw["h"].values[None, None]
    hc = float(raw["hc"])
    zeta = raw["zeta"].values[:, None]
    z = zeta + (zeta + h) * (hc * s + h * c) / (hc + h)
    return zeta - z


def column_73m(raw: xr.Dataset) -> tuple[int, int]:
    """The sea cell whose floor is nearest 73 m deep."""
    h = np.where(np.isfinite(raw["temp"].isel(ocean_time=0, s_rho=-1)), raw["h"].values, np.nan)
    j, i = np.unravel_index(int(np.nanargmin(np.abs(h - COLUMN_DEPTH_M))), h.shape)
    assert abs(h[j, i] - COLUMN_DEPTH_M) < 0.5
    return int(j), int(i)


def at_depth(raw: xr.Dataset, j: int, i: int, depth: float) -> np.ndarray:
    """The raw temperature of column (j, i) at ``depth`` m, one value per time step."""
    depths = g2_depths(raw)[:, :, j, i]
    values = raw["temp"].values[:, :, j, i]
    out = []
    for d, v in zip(depths, values, strict=True):
        order = np.argsort(d)
        out.append(np.interp(depth, d[order], v[order]))
    return np.array(out)


@pytest.fixture(scope="module")
def nordic(corpus: dict[str, pathlib.Path]) -> tuple[pathlib.Path, xr.Dataset]:
    from tests.corpus import BY_NAME

    source = corpus["roms-nordic"]
    return source, raw_dataset(BY_NAME["roms-nordic"], source)


def test_inspect_shows_levels_and_the_packed_variables(nordic) -> None:
    source, _ = nordic
    done = run_cli("inspect", str(source), "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    variables = {v["name"]: v for v in summary["variables"]}
    for name in ("temp", "salt", "zeta"):
        assert name in variables, sorted(variables)
    assert variables["temp"]["dims"] == ["time", "depth", "y", "x"]
    vertical = summary["vertical"]
    assert vertical["kind"] == "levels" and vertical["true_depths"]
    assert summary["depths"] == list(range(35))
    assert vertical["labels"][0] == "level 0 (s-coordinate)"
    assert not any(label.endswith(" m") for label in vertical["labels"])
    text = run_cli("inspect", str(source))
    assert "level 0 (s-coordinate) .. level 34" in text.stdout


def test_timeseries_at_50_m_in_a_73_m_column_is_interpolated(nordic, tmp_path) -> None:
    source, raw = nordic
    j, i = column_73m(raw)
    lon, lat = float(raw["lon_rho"][j, i]), float(raw["lat_rho"][j, i])
    out = tmp_path / "series.csv"
    done = run_cli(
        "timeseries", str(source), "--var", "temp", "--lon", f"{lon}", "--lat", f"{lat}",
        "--depth", "50", "-o", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    header = out.read_text().splitlines()[0]
    assert header.endswith(",depth=50"), header
    series = pd.read_csv(out, skiprows=1)
    np.testing.assert_allclose(series["value"], at_depth(raw, j, i, 50.0), rtol=1e-6)
    # without a depth: the top level, said as a level
    done = run_cli(
        "timeseries", str(source), "--var", "temp", "--lon", f"{lon}", "--lat", f"{lat}",
        "-o", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert out.read_text().splitlines()[0].endswith(",level=0")
    assert "level 0 (s-coordinate)" in done.stdout
    top = raw["temp"].isel(eta_rho=j, xi_rho=i).sel(s_rho=raw["s_rho"].max())
    np.testing.assert_allclose(pd.read_csv(out, skiprows=1)["value"], top.values, rtol=1e-6)


def test_render_titles_say_metres_only_for_metres(nordic, tmp_path) -> None:
    source, _ = nordic
    png = str(tmp_path / "a.png")
    done = run_cli("render", str(source), "--var", "temp", "--depth", "50", "-o", png)
    assert done.returncode == 0, done.stderr
    assert ", 50 m," in done.stdout
    done = run_cli("render", str(source), "--var", "temp", "-o", str(tmp_path / "b.png"))
    assert done.returncode == 0, done.stderr
    assert "level 0 (s-coordinate)" in done.stdout and " m," not in done.stdout


def test_export_netcdf_keeps_levels_and_each_cell_s_depth(nordic, tmp_path) -> None:
    source, raw = nordic
    j, i = column_73m(raw)
    out = tmp_path / "subset.nc"
    done = run_cli("export", str(source), "--var", "temp", "-o", str(out))
    assert done.returncode == 0, done.stderr
    with xr.open_dataset(out) as got:
        assert got["depth"].attrs["units"] == "1"
        assert got["depth"].attrs["standard_name"] == "model_level_number"
        assert got["depth_m"].attrs["units"] == "m"
        assert got["depth_m"].attrs["standard_name"] == "depth"
        column = got.isel(y=j, x=i)  # the export of the whole grid keeps its indices
        assert float(column["lon"]) == pytest.approx(float(raw["lon_rho"][j, i]))
        top_first = np.argsort(-raw["s_rho"].values)
        want = g2_depths(raw)[:, :, j, i][:, top_first]
        np.testing.assert_allclose(column["depth_m"].values, want, rtol=1e-6)
        raw_temp = raw["temp"].values[:, :, j, i][:, top_first]
        np.testing.assert_allclose(column["temp"].values, raw_temp, rtol=1e-6)


def test_export_at_50_m_writes_metres_and_the_interpolated_values(nordic, tmp_path) -> None:
    source, raw = nordic
    j, i = column_73m(raw)
    out = tmp_path / "at50.nc"
    done = run_cli("export", str(source), "--var", "temp", "--depth", "50", "-o", str(out))
    assert done.returncode == 0, done.stderr
    with xr.open_dataset(out) as got:
        assert float(got["depth"]) == 50.0 and got["depth"].attrs["units"] == "m"
        np.testing.assert_allclose(
            got["temp"].isel(y=j, x=i).values, at_depth(raw, j, i, 50.0), rtol=1e-6
        )
    csv = tmp_path / "at50.csv"
    done = run_cli("export", str(source), "--var", "temp", "--depth", "50", "-o", str(csv))
    assert done.returncode == 0, done.stderr
    rows = pd.read_csv(csv)
    assert list(rows.columns) == ["time", "depth", "lat", "lon", "value"]
    assert (rows["depth"] == 50.0).all()


def test_prepare_keeps_the_levels_and_their_depths(nordic, tmp_path) -> None:
    source, raw = nordic
    store = tmp_path / "store.zarr"
    done = run_cli("prepare", str(source), "--var", "temp", "--out", str(store))
    assert done.returncode == 0, done.stderr
    done = run_cli("inspect", str(store), "--json")
    assert done.returncode == 0, done.stderr
    vertical = json.loads(done.stdout)["vertical"]
    assert vertical["labels"][0] == "level 0 (s-coordinate)" and vertical["true_depths"]
    assert vertical["notice"] is None
    j, i = column_73m(raw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = xr.open_zarr(store, group="maps").isel(y=j, x=i).load()
    top_first = np.argsort(-raw["s_rho"].values)
    want = g2_depths(raw)[:, :, j, i][:, top_first]
    np.testing.assert_allclose(got["depth_m"].values, want, rtol=1e-6)


def test_the_three_day_run_at_50_m(corpus: dict[str, pathlib.Path], tmp_path) -> None:
    from tests.corpus import BY_NAME

    source = corpus["roms-nordic-run"]
    raw = raw_dataset(BY_NAME["roms-nordic-run"], source)
    j, i = np.unravel_index(int(np.nanargmax(raw["h"].values)), raw["h"].shape)  # deepest
    lon, lat = float(raw["lon_rho"][j, i]), float(raw["lat_rho"][j, i])
    out = tmp_path / "series.csv"
    done = run_cli(
        "timeseries", str(source), "--var", "temp", "--lon", f"{lon}", "--lat", f"{lat}",
        "--depth", "50", "-o", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    series = pd.read_csv(out, skiprows=1)
    assert len(series) == 3
    np.testing.assert_allclose(series["value"], at_depth(raw, int(j), int(i), 50.0), rtol=1e-6)


def test_croco_depths_come_from_its_formula_terms(corpus: dict[str, pathlib.Path]) -> None:
    """CROCO's s_rho (g2) through the contract; its time (seconds without a reference date)
    is set by hand here, as the vertical axis is what is checked."""
    from data_adapters import normalize, validate_dataset

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = xr.open_dataset(corpus["croco"], decode_times=False)
    dated = raw.assign_coords(time=("time", pd.to_datetime(["2000-01-01"]), {"axis": "T"}))
    ds = validate_dataset(normalize(dated, "croco"))
    h = raw["h"].values
    j, i = np.unravel_index(int(np.argmax(h)), h.shape)
    s = raw["s_rho"].values
    top_first = np.argsort(-s)
    zeta = float(raw["zeta"][0, j, i])
    stretched = (float(raw["hc"]) * s + h[j, i] * raw["Cs_r"].values) / (float(raw["hc"]) + h[j, i])
    want = -(zeta + h[j, i]) * stretched
    got = ds["depth_m"].isel(time=0, lat=j, lon=i).values
    np.testing.assert_allclose(got, want[top_first], rtol=1e-6)
    assert got[-1] > 4000.0  # the s-values 0.02..0.98 are no longer taken for metres
    assert ds["depth"].attrs["units"] == "1"
