"""Vertical axes: CF s/sigma-coordinates get each cell's depth in metres and are cut at a
depth by interpolation in each column; pressure, height and unknown axes keep their units
or become levels, never silently dropped.

The s-coordinate files are built so that every cell's depth is known by construction: with
the stretching ``C = s``, the CF forms g1, g2 and sigma all put level ``s`` at
``-(h + eta) * s`` metres below the sea surface.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from components.core import fields, probes, tables
from data_adapters import open_source, summarize, validate_dataset, vertical
from tests.synthetic import write_netcdf

#: s of the levels as ROMS stores them: the bottom first.
S = np.array([-0.9, -0.7, -0.5, -0.3, -0.1])
LAT_ATTRS = {"units": "degrees_north", "standard_name": "latitude"}
LON_ATTRS = {"units": "degrees_east", "standard_name": "longitude"}
#: Sea floor depth (m) of each column, on (lat, lon): 73 m at (lon 0, lat 10).
H = np.array([[73.0, 40.0, 200.0], [100.0, 10.0, 73.0]])
#: Sea level (m) at each of the two time steps.
ETA = np.array([0.0, 1.0])
HC = 20.0

FORMULA_TERMS = {
    "ocean_s_coordinate_g1": "s: s_rho C: Cs_r eta: zeta depth: h depth_c: hc",
    "ocean_s_coordinate_g2": "s: s_rho C: Cs_r eta: zeta depth: h depth_c: hc",
    "ocean_sigma_coordinate": "sigma: s_rho eta: zeta depth: h",
}


def temperature(s: np.ndarray) -> np.ndarray:
    """The temperature of level ``s`` (the same in every column): not linear in depth."""
    return 4.0 + 10.0 * (1.0 + s) ** 2


def s_coordinate_file(standard_name: str = "ocean_s_coordinate_g2", stretch=None) -> xr.Dataset:
    """A ROMS-like history file: ``temp`` on (ocean_time, s_rho, eta_rho, xi_rho) with
    1-D lon/lat, ``h``, ``zeta``, ``hc`` and ``Cs_r`` (``stretch``; default ``s``)."""
    times = pd.date_range("2020-01-01", periods=ETA.size, freq="D")
    cs = S if stretch is None else np.asarray(stretch)
    temp = np.broadcast_to(temperature(S)[None, :, None, None], (ETA.size, S.size, *H.shape))
    zeta = np.broadcast_to(ETA[:, None, None], (ETA.size, *H.shape))
    s_attrs = {
        "long_name": "S-coordinate at RHO-points",
        "positive": "up",
        "axis": "Z",
        "standard_name": standard_name,
        "formula_terms": FORMULA_TERMS[standard_name],
    }
    return xr.Dataset(
        {
            "temp": (
                ("ocean_time", "s_rho", "lat", "lon"),
                temp.astype("float64"),
                {"units": "Celsius", "long_name": "potential temperature"},
            ),
            "zeta": (("ocean_time", "lat", "lon"), zeta.copy(), {"units": "m"}),
            "h": (("lat", "lon"), H, {"units": "meter", "long_name": "bathymetry"}),
            "hc": ((), HC, {"units": "meter"}),
            "Cs_r": (("s_rho",), cs, {"long_name": "S-coordinate stretching curve"}),
        },
        coords={
            "ocean_time": ("ocean_time", times, {"standard_name": "time"}),
            "s_rho": ("s_rho", S, s_attrs),
            "lat": ("lat", [10.0, 11.0], LAT_ATTRS),
            "lon": ("lon", [0.0, 1.0, 2.0], LON_ATTRS),
        },
    )


def opened(ds: xr.Dataset, tmp_path) -> xr.Dataset:
    return validate_dataset(open_source(write_netcdf(ds, tmp_path / "model.nc")).dataset)


def expected_depths(h: float, eta: float) -> np.ndarray:
    """Depths (m below the sea surface) of the levels, the top first, where C = s."""
    return -(h + eta) * S[::-1]


def at_50m(h: float, eta: float) -> float:
    """The temperature at 50 m, interpolated by hand between the two levels around it."""
    depths, values = expected_depths(h, eta), temperature(S[::-1])
    k = int(np.searchsorted(depths, 50.0))
    w = (50.0 - depths[k - 1]) / (depths[k] - depths[k - 1])
    return float(values[k - 1] + w * (values[k] - values[k - 1]))


@pytest.mark.parametrize("standard_name", sorted(FORMULA_TERMS))
def test_each_cell_gets_its_depth_in_metres_from_the_formula_terms(tmp_path, standard_name):
    ds = opened(s_coordinate_file(standard_name), tmp_path)
    assert ds["temp"].dims == ("time", "depth", "lat", "lon")
    # levels from the top, numbered, never presented as metres
    np.testing.assert_array_equal(ds["depth"].values, np.arange(S.size))
    assert ds["depth"].attrs["units"] == "1"
    np.testing.assert_allclose(ds["s_rho"].values, S[::-1])
    depth_m = ds[vertical.DEPTH_M]
    assert depth_m.attrs["units"] == "m" and depth_m.attrs["positive"] == "down"
    assert depth_m.chunks is not None  # computed lazily
    for t, eta in enumerate(ETA):
        for j in range(H.shape[0]):
            for i in range(H.shape[1]):
                got = depth_m.isel(time=t, lat=j, lon=i).values
                np.testing.assert_allclose(got, expected_depths(H[j, i], eta), rtol=1e-12)
    # the values follow their levels (reordered top first with the depths)
    np.testing.assert_allclose(ds["temp"].isel(time=0, lat=0, lon=0), temperature(S[::-1]))


def test_g2_with_a_stretching_curve_follows_the_cf_formula(tmp_path):
    stretch = np.array([-0.98, -0.85, -0.6, -0.3, -0.05])
    ds = opened(s_coordinate_file(stretch=stretch), tmp_path)
    h, eta = H[0, 2], ETA[1]
    stretched = (HC * S + h * stretch) / (HC + h)  # CF ocean_s_coordinate_g2
    z = eta + (eta + h) * stretched
    got = ds[vertical.DEPTH_M].isel(time=1, lat=0, lon=2).values
    np.testing.assert_allclose(got, (eta - z)[::-1], rtol=1e-12)


def test_the_original_s_coordinate_follows_the_cf_formula(tmp_path):
    theta, b, h, eta = 5.0, 0.4, H[0, 2], ETA[1]
    ds = s_coordinate_file().assign(theta_s=((), theta), theta_b=((), b))
    ds["s_rho"].attrs.update(
        standard_name="ocean_s_coordinate",
        formula_terms="s: s_rho eta: zeta depth: h a: theta_s b: theta_b depth_c: hc",
    )
    got = opened(ds, tmp_path)[vertical.DEPTH_M].isel(time=1, lat=0, lon=2).values
    c = (1 - b) * np.sinh(theta * S) / np.sinh(theta) + b * (
        np.tanh(theta * (S + 0.5)) / (2 * np.tanh(0.5 * theta)) - 0.5
    )
    z = eta * (1 + S) + HC * S + (h - HC) * c  # CF ocean_s_coordinate
    np.testing.assert_allclose(got, (eta - z)[::-1], rtol=1e-12)


@pytest.mark.parametrize("step", [0, 1])
def test_the_map_at_50_m_is_interpolated_in_each_column(tmp_path, step):
    ds = opened(s_coordinate_file(), tmp_path)
    chosen = fields.field(ds, fields.Choice("temp", time=step, depth=50.0))
    assert chosen.chosen["depth"] == "50 m"
    values = chosen.data.values
    # the 73 m column: between the levels at 36.5 and 51.1 m (51.8 m with the sea 1 m up)
    assert values[0, 0] == pytest.approx(at_50m(73.0, ETA[step]), rel=1e-12)
    assert values[1, 2] == pytest.approx(at_50m(73.0, ETA[step]), rel=1e-12)
    assert values[0, 2] == pytest.approx(at_50m(200.0, ETA[step]), rel=1e-12)
    # 40 m and 10 m deep: the sea is shallower than 50 m there, so no data
    assert np.isnan(values[0, 1]) and np.isnan(values[1, 1])
    assert chosen.data["depth"].attrs["units"] == "m"


def test_the_app_offers_standard_depths_down_to_the_deepest_cell(tmp_path):
    ds = opened(s_coordinate_file(), tmp_path)
    # the deepest level's centre: 0.9 * 200 m at the first step
    assert vertical.choices(ds) == [0, 5, 10, 20, 30, 50, 75, 100, 125, 150]
    assert vertical.choice_label(ds, 50.0) == "50 m"


def test_above_the_top_level_is_the_top_level_and_negative_depths_are_refused(tmp_path):
    ds = opened(s_coordinate_file(), tmp_path)
    top = fields.field(ds, fields.Choice("temp", depth=0.0)).data.values
    np.testing.assert_allclose(top, temperature(np.array([-0.1]))[0])
    with pytest.raises(fields.SourceError, match="positive down"):
        fields.field(ds, fields.Choice("temp", depth=-5.0))


def test_without_a_depth_the_top_level_is_labelled_as_a_level_not_metres(tmp_path):
    ds = opened(s_coordinate_file(), tmp_path)
    chosen = fields.field(ds, fields.Choice("temp"))
    assert chosen.chosen["depth"] == "level 0 (s-coordinate)"
    summary = summarize(ds, "roms")
    assert summary["depths"] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert summary["vertical"]["kind"] == "levels"
    assert summary["vertical"]["labels"][2] == "level 2 (s-coordinate)"
    assert summary["vertical"]["true_depths"] is True


def test_a_profile_uses_the_column_s_own_depths(tmp_path):
    ds = opened(s_coordinate_file(), tmp_path)
    cell = probes.nearest_ocean_cell(fields.select(ds["temp"]), 2.0, 10.0)
    profile = probes.profile(ds["temp"], cell, time_index=1)
    np.testing.assert_allclose(profile["depth"].values, expected_depths(200.0, 1.0))
    np.testing.assert_allclose(profile.values, temperature(S[::-1]))


def test_a_long_csv_gives_the_level_and_each_cell_s_depth(tmp_path):
    ds = opened(s_coordinate_file(), tmp_path)
    da = fields.select(ds["temp"], whole_column=True).isel(lat=[0], lon=[0])
    out = tmp_path / "rows.csv"
    tables.write_long_csv(da, out)
    rows = pd.read_csv(out)
    assert list(rows.columns) == ["time", "level", "depth", "lat", "lon", "value"]
    want = np.concatenate([expected_depths(73.0, eta) for eta in ETA])  # the sea 1 m up
    np.testing.assert_allclose(rows["depth"], want)
    np.testing.assert_array_equal(rows["level"], np.tile(np.arange(S.size), ETA.size))


def test_a_missing_formula_term_keeps_the_levels(tmp_path, caplog):
    ds = s_coordinate_file().drop_vars("hc")
    with caplog.at_level(logging.WARNING, logger="data_adapters.vertical"):
        got = opened(ds, tmp_path)
    assert "depth_c" in caplog.text
    assert vertical.DEPTH_M not in got.coords
    assert got["depth"].attrs["units"] == "1"
    assert "temp" in got.data_vars


# -- other axes --------------------------------------------------------------------------------
def grid_with_axis(z: np.ndarray, z_name: str, z_attrs: dict, with_coord: bool = True):
    """``field`` (K) on (time, ``z_name``, lat, lon), the vertical axis ``z`` with ``z_attrs``."""
    values = np.arange(z.size * 6, dtype="float64").reshape(1, z.size, 2, 3)
    coords = {
        "time": ("time", pd.date_range("2020-01-01", periods=1)),
        "lat": ("lat", [10.0, 11.0], LAT_ATTRS),
        "lon": ("lon", [0.0, 1.0, 2.0], LON_ATTRS),
    }
    if with_coord:
        coords[z_name] = (z_name, z, z_attrs)
    return xr.Dataset(
        {"field": (("time", z_name, "lat", "lon"), values, {"units": "K"})}, coords=coords
    )


def test_a_pressure_axis_is_kept_in_hpa_and_labelled_so(tmp_path):
    levels = np.array([1000.0, 850.0, 500.0])
    ds = opened(grid_with_axis(levels, "level", {"units": "hPa", "axis": "Z"}), tmp_path)
    np.testing.assert_array_equal(ds["depth"].values, [500.0, 850.0, 1000.0])  # the top first
    assert ds["depth"].attrs["units"] == "hPa"
    chosen = fields.field(ds, fields.Choice("field", depth=850.0))
    assert chosen.chosen["depth"] == "850 hPa"
    assert float(chosen.data.isel(lat=0, lon=0)) == 6.0  # 850 hPa is the file's second level
    assert summarize(ds, "p")["vertical"]["labels"] == ["500 hPa", "850 hPa", "1000 hPa"]


def test_pascals_stay_pascals(tmp_path):
    ds = opened(grid_with_axis(np.array([85000.0]), "plev", {"units": "Pa", "axis": "Z"}), tmp_path)
    assert vertical.label(ds["depth"].isel(depth=0)) == "85000 Pa"


def test_a_height_axis_above_the_surface_is_a_height(tmp_path):
    attrs = {"units": "m", "positive": "up", "axis": "Z", "standard_name": "height"}
    ds = opened(grid_with_axis(np.array([10.0, 100.0]), "height", attrs), tmp_path)
    assert vertical.kind(ds["depth"]) == "height"
    assert vertical.label(ds["depth"].isel(depth=0)) == "10 m height"


def test_an_axis_without_attributes_is_kept_as_levels_with_a_notice(tmp_path, caplog):
    ds = grid_with_axis(np.zeros(4), "nz", {}, with_coord=False)
    with caplog.at_level(logging.WARNING, logger="data_adapters.vertical"):
        got = opened(ds, tmp_path)
    assert "field" in got.data_vars and got["field"].dims == ("time", "depth", "lat", "lon")
    assert got["depth"].attrs["units"] == "1"
    notice = summarize(got, "x")["vertical"]["notice"]
    assert "'nz' has no attributes" in notice and "nz" in caplog.text
    assert fields.field(got, fields.Choice("field", depth=2.0)).chosen["depth"] == "level 2"


def test_a_dimension_named_depth_without_a_coordinate_is_levels(tmp_path):
    ds = grid_with_axis(np.zeros(3), "depth", {}, with_coord=False)
    got = opened(ds, tmp_path)
    np.testing.assert_array_equal(got["depth"].values, [0, 1, 2])
    assert got["depth"].attrs["units"] == "1" and "no attributes" in got["depth"].attrs["comment"]


@pytest.mark.parametrize(
    ("values", "attrs", "why"),
    [
        (np.array([-0.9, -0.5, -0.1]), {"axis": "Z"}, "has no units"),
        (np.array([1.0, 2.0, 3.0]), {"axis": "Z", "units": "sigma_level"}, "units 'sigma_level'"),
        (np.array([1, 2, 3]), {"long_name": "level", "positive": "down"}, "has no units"),
    ],
)
def test_a_vertical_axis_in_unknown_units_is_levels_with_a_notice(tmp_path, values, attrs, why):
    got = opened(grid_with_axis(values, "lev", attrs), tmp_path)
    assert "field" in got.data_vars
    assert got["depth"].attrs["units"] == "1"
    assert why in got["depth"].attrs["comment"]


def test_hycom_s_layer_numbers_without_units_stay_its_numbers(tmp_path):
    attrs = {"long_name": "level", "positive": "down"}
    got = opened(grid_with_axis(np.array([1, 2, 3], dtype="int32"), "lev", attrs), tmp_path)
    np.testing.assert_array_equal(got["depth"].values, [1, 2, 3])
    assert vertical.label(got["depth"].isel(depth=0)) == "level 1"


def test_a_depth_axis_named_so_without_units_is_in_metres(tmp_path):
    got = opened(grid_with_axis(np.array([0.5, 10.0]), "deptht", {"axis": "Z"}), tmp_path)
    assert got["depth"].attrs["units"] == "m" and "comment" not in got["depth"].attrs


def test_a_um_model_level_number_axis_keeps_its_numbers_and_level_heights(tmp_path):
    """The vertical of iris' hybrid_height.nc: model_level_number (units 1) with
    level_height (m) and sigma beside it on the same dimension."""
    attrs = {"units": "1", "standard_name": "model_level_number", "positive": "up", "axis": "Z"}
    ds = grid_with_axis(np.array([1, 2, 3], dtype="int32"), "model_level_number", attrs)
    ds = ds.assign_coords(
        level_height=("model_level_number", [5.0, 21.7, 45.0], {"units": "m"}),
    )
    got = opened(ds, tmp_path)
    np.testing.assert_array_equal(got["depth"].values, [1, 2, 3])
    np.testing.assert_allclose(got["level_height"].values, [5.0, 21.7, 45.0])
    assert "comment" not in got["depth"].attrs  # a known axis: no notice
    assert summarize(got, "um")["vertical"]["labels"] == ["level 1", "level 2", "level 3"]
