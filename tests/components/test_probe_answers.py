"""The probe answers without widgets: the data at the session's points and region, and the
files the dashboard downloads (the one-point series CSV is what ``ocean-explorer timeseries``
prints)."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

from components import ExplorerState
from components.probe_answers import ProbeAnswers
from data_adapters import Catalog
from tests import synthetic


@pytest.fixture(scope="module")
def catalog():
    return Catalog.from_dict(
        {"datasets": [{"id": "demo-1deg", "adapter": "demo", "resolution": 1.0, "days": 40}]}
    )


@pytest.fixture
def answers(catalog) -> ProbeAnswers:
    return ProbeAnswers(ExplorerState(catalog))


def test_the_series_is_at_the_nearest_cell(answers):
    answers.state.points = [(-30.2, 20.3)]
    series = answers.series()
    point = series["point1"]
    # the 1-degree demo's cell centres are at half degrees: the nearest one to the point
    assert (point.attrs["cell_lon"], point.attrs["cell_lat"]) == (-30.5, 20.5)
    assert point.attrs["cell"] == "lon=-30.5, lat=20.5, depth=0.5 m"
    expected = answers.state.dataset["thetao"].sel(scenario="baseline", depth=0.5)
    expected = expected.sel(lon=-30.5, lat=20.5)
    np.testing.assert_allclose(point.values, expected.values)
    assert series.sizes["time"] == 40


def test_the_series_follows_depth_and_scenario(answers):
    answers.state.points = [(-30.2, 20.3)]
    answers.state.param.update(depth=100.0, scenario="warming_3")
    point = answers.series()["point1"]
    expected = answers.state.dataset["thetao"].sel(scenario="warming_3", depth=100.0)
    np.testing.assert_allclose(point.values, expected.sel(lon=-30.5, lat=20.5).values)
    assert point.attrs["cell"].endswith("depth=100 m")


def test_profile_and_hovmoller_at_the_point(answers):
    answers.state.points = [(-30.2, 20.3)]
    answers.state.time = "2025-01-10"
    profile = answers.profiles()["point1"]
    column = answers.state.dataset["thetao"].sel(scenario="baseline", lon=-30.5, lat=20.5)
    np.testing.assert_allclose(profile.values, column.isel(time=9).values)
    assert list(profile["depth"].values) == list(column["depth"].values)
    section = answers.section()
    assert section.dims == ("time", "depth")
    np.testing.assert_allclose(section.values, column.transpose("time", "depth").values)
    # both span the water column: their cell names no depth (the map's is 0.5 m)
    assert profile.attrs["cell"] == section.attrs["cell"] == "lon=-30.5, lat=20.5"


def test_a_variable_without_depth_has_no_profile(answers):
    answers.state.points = [(-30.2, 20.3)]
    answers.state.variable = "zos"
    assert answers.profiles() is None and answers.section() is None
    assert answers.series()["point1"].attrs["cell"] == "lon=-30.5, lat=20.5"


def test_a_box_across_the_dateline_gives_its_area_statistics(answers):
    answers.state.region = (170.0, -10.0, -170.0, 10.0)
    series, stats = answers.area()
    # the cells inside: centres 170.5..179.5 and -179.5..-170.5, lat -9.5..9.5, all sea
    field = answers.state.field()
    inside = field.sel(lat=slice(-10, 10))
    inside = inside.where((inside["lon"] >= 170) | (inside["lon"] <= -170), drop=True)
    weights = np.cos(np.deg2rad(inside["lat"])) * xr.ones_like(inside)
    assert stats["cells"] == int(np.isfinite(inside).sum()) == 400
    assert stats["mean"] == pytest.approx(float(inside.weighted(weights).mean()), rel=1e-3)
    assert stats["min"] == pytest.approx(float(inside.min()))
    # ocean area of 20 x 20 degrees at the equator: R^2 * (20 deg in rad) * 2 sin(10 deg)
    r = 6371.0088
    assert stats["ocean_area_km2"] == pytest.approx(
        r**2 * np.deg2rad(20.0) * 2 * np.sin(np.deg2rad(10.0)), rel=1e-6
    )
    assert series.sizes["time"] == 40
    assert float(series["min"].min()) <= float(series["mean"].min())
    assert float(series["mean"].max()) <= float(series["max"].max())


def test_a_polygon_gives_its_area_statistics(answers):
    answers.state.polygon = [(-40.0, 10.0), (-20.0, 10.0), (-30.0, 30.0)]
    assert answers.region_label() == "polygon of 3 vertices"
    _, stats = answers.area()
    # a triangle has half the cells of its bounding box (20 x 20 one-degree cells)
    assert 150 <= stats["cells"] <= 250


def test_downloads_name_the_cells_and_units(answers):
    answers.state.points = [(-30.2, 20.3), (-40.2, 25.3)]
    text = answers.series_csv().getvalue().splitlines()
    assert text[0] == (
        "# thetao [degC], scenario baseline; point1: lon=-30.5, lat=20.5, depth=0.5 m; "
        "point2: lon=-40.5, lat=25.5, depth=0.5 m"
    )
    assert text[1] == "time,point1,point2"
    assert text[2].startswith("2025-01-01,") and len(text) == 2 + 40
    nc = xr.open_dataset(io.BytesIO(answers.netcdf("series").getvalue()))
    assert nc["point2"].attrs["units"] == "degC"
    assert nc["point2"].attrs["cell"] == "lon=-40.5, lat=25.5, depth=0.5 m"
    np.testing.assert_allclose(nc["point1"].values, answers.series()["point1"].values)
    assert nc.attrs["Conventions"] == "CF-1.8" and "dashboard download" in nc.attrs["history"]
    section = answers.section_csv().getvalue().splitlines()
    assert section[1].split(",")[:3] == ["time", "0.5", "10"]
    profile = answers.profiles_csv().getvalue().splitlines()
    assert profile[1] == "depth,point1,point2" and profile[2].startswith("0.5,")


def test_area_downloads(answers):
    answers.state.region = (-40.0, 10.0, -20.0, 30.0)
    series = answers.area_csv().getvalue().splitlines()
    assert series[0].startswith("# thetao [degC], scenario baseline over the box W -40.00")
    assert series[1] == "time,mean,min,max" and len(series) == 2 + 40
    stats = answers.stats_csv().getvalue().splitlines()
    assert stats[1] == "statistic,value"
    assert [row.split(",")[0] for row in stats[2:]] == list(answers.area()[1])
    nc = xr.open_dataset(io.BytesIO(answers.netcdf("area").getvalue()))
    assert nc.attrs["region"] == answers.region_label() and nc.sizes["time"] == 40


def test_comparing_runs_downloads_one_column_per_run_and_change(answers):
    s = answers.state
    s.param.update(points=[(-30.2, 20.3)], mode="difference", baseline="baseline")
    s.scenarios = [s.param.scenarios.objects[1]]
    run = s.scenarios[0]
    text = answers.series_csv().getvalue().splitlines()
    assert text[0] == "# thetao [degC] at lon=-30.5, lat=20.5, depth=0.5 m"
    assert text[1] == f"time,baseline,{run},{run} - baseline" and len(text) == 2 + 40
    nc = xr.open_dataset(io.BytesIO(answers.netcdf("series").getvalue()))
    change = nc[f"{run} - baseline"].values
    np.testing.assert_allclose(change, nc[run].values - nc["baseline"].values)


def test_no_point_no_answer(answers):
    assert answers.series() is None and answers.profiles() is None and answers.area() is None
    assert answers.series_csv().getvalue() == ""
    assert answers.netcdf("series").getvalue() == b""


@pytest.mark.parametrize("depth", [None, 100.0])
def test_one_point_series_csv_is_what_the_cli_prints(tmp_path, depth):
    """The dashboard's series CSV for one point is, byte for byte, ``ocean-explorer
    timeseries`` at that point: one writer, one cell line, one value format."""
    path = synthetic.write_netcdf(synthetic.probe_ocean(), tmp_path / "ocean.nc")
    catalog = Catalog.from_dict({"datasets": [{"id": "ocean", "adapter": "netcdf", "path": path}]})
    answers = ProbeAnswers(ExplorerState(catalog))
    lon, lat = -61.3, 12.4
    answers.state.points = [(lon, lat)]
    if depth is not None:
        answers.state.depth = depth
    dashboard = answers.series_csv().getvalue()

    args = ["timeseries", path, "--var", "thetao", "--lon", str(lon), "--lat", str(lat)]
    if depth is not None:
        args += ["--depth", str(depth)]
    cli = subprocess.run(
        [sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, check=True
    )
    assert dashboard == cli.stdout
    level = "0.5" if depth is None else "100"
    assert dashboard.splitlines()[:2] == [f"# lon=-62.5,lat=10,depth={level}", "time,value"]


def test_on_s_coordinates_the_app_s_depth_is_metres_interpolated_in_each_column(tmp_path):
    from tests.data_adapters.test_vertical import ETA, at_50m, expected_depths, s_coordinate_file

    path = synthetic.write_netcdf(s_coordinate_file(), tmp_path / "roms.nc")
    catalog = Catalog.from_dict({"datasets": [{"id": "roms", "adapter": "netcdf", "path": path}]})
    answers = ProbeAnswers(ExplorerState(catalog))
    state = answers.state
    assert 50.0 in state.param.depth.objects  # metres to choose, not level numbers
    state.depth = 50.0
    state.points = [(0.0, 10.0)]  # a column 73 m deep
    point = answers.series()["point1"]
    np.testing.assert_allclose(point.values, [at_50m(73.0, eta) for eta in ETA], rtol=1e-12)
    assert point.attrs["cell"].endswith("depth=50 m")
    state.time = state.param.time.objects[1]
    profile = answers.profiles()["point1"]
    np.testing.assert_allclose(profile.dropna("depth")["depth"], expected_depths(73.0, ETA[1]))


def test_a_pressure_level_is_said_in_hpa_in_labels_and_csv(tmp_path):
    from tests.data_adapters.test_vertical import grid_with_axis

    ds = grid_with_axis(np.array([850.0, 500.0]), "level", {"units": "hPa", "axis": "Z"})
    path = synthetic.write_netcdf(ds, tmp_path / "air.nc")
    catalog = Catalog.from_dict({"datasets": [{"id": "air", "adapter": "netcdf", "path": path}]})
    answers = ProbeAnswers(ExplorerState(catalog))
    answers.state.depth = 850.0
    answers.state.points = [(1.0, 10.0)]
    assert answers.series()["point1"].attrs["cell"] == "lon=1, lat=10, 850 hPa"
    assert answers.series_csv().getvalue().splitlines()[0] == "# lon=1,lat=10,pressure_hPa=850"


def test_in_difference_mode_the_area_is_of_the_change(answers):
    """The map shows scenario - baseline: the Area tab's series, statistics and files too."""
    s = answers.state
    s.region = (-40.0, 10.0, -20.0, 30.0)
    absolute, _ = answers.area()
    s.param.update(mode="difference", baseline="baseline", scenarios=["warming_3"])
    series, stats = answers.area()
    # the demo's +3 °C run: the change is 3 °C everywhere, not a sea temperature of ~25 °C
    np.testing.assert_allclose(series["mean"].values, 3.0, atol=1e-4)
    np.testing.assert_allclose(series["max"].values, 3.0, atol=1e-4)
    assert stats["mean"] == pytest.approx(3.0, abs=1e-4)
    assert float(absolute["mean"].mean()) > 10.0
    header = answers.area_csv().getvalue().splitlines()[0]
    assert header.startswith("# change in thetao [degC], scenario warming_3 - baseline over")
    s.mode = "map"  # one run again: its absolute values
    np.testing.assert_allclose(answers.area()[0]["mean"].values, absolute["mean"].values)


def test_a_moved_region_gives_a_new_area_answer(answers):
    s = answers.state
    s.region = (-40.0, 10.0, -20.0, 30.0)
    first, _ = answers.area()
    s.region = (-40.0, -30.0, -20.0, -10.0)  # the same size, in the southern hemisphere
    second, _ = answers.area()
    assert not np.allclose(first["mean"].values, second["mean"].values)
    s.region = (-40.0, 10.0, -20.0, 30.0)
    np.testing.assert_allclose(answers.area()[0]["mean"].values, first["mean"].values)
