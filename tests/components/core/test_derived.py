"""Derived variables: found by standard_name, lazy, equal to numpy and to gsw called directly,
and chosen like stored variables."""

from __future__ import annotations

import gsw
import numpy as np
import pytest
import xarray as xr

from components.core import derived, fields
from data_adapters import validate_dataset

DEPTHS = np.array([0.5, 5.0, 10.0, 20.0, 30.0, 50.0, 75.0, 100.0])
LAT = np.array([-40.0, 0.0, 45.0])
LON = np.array([-30.0, 10.0, 150.0, 170.0])


def _ocean(standard_names: bool = True) -> xr.Dataset:
    """Two times, eight levels, 3x4 cells: a warm salty mixed layer over a thermocline whose
    top is at 30 m in the first column and 60 m elsewhere; currents of known direction."""
    shape = (2, DEPTHS.size, LAT.size, LON.size)
    z = DEPTHS[None, :, None, None] * np.ones(shape)
    top = np.where(np.arange(LON.size) == 0, 30.0, 60.0)[None, None, None, :]
    theta = 20.0 - 0.1 * np.clip(z - top, 0, None) + np.arange(2)[:, None, None, None]
    salt = 35.0 + 0.001 * np.clip(z - top, 0, None)
    theta[:, :, 0, 3] = np.nan  # a land cell
    salt[:, :, 0, 3] = np.nan
    u = np.zeros(shape) + np.array([1.0, 0.0, -1.0, 0.0])
    v = np.zeros(shape) + np.array([0.0, 1.0, 0.0, -1.0])

    def var(values, name, std, units):
        attrs = {"long_name": name, "units": units}
        if standard_names:
            attrs["standard_name"] = std
        return (("time", "depth", "lat", "lon"), values, attrs)

    ds = xr.Dataset(
        {
            "temp": var(theta, "Potential temperature", "sea_water_potential_temperature", "degC"),
            "sal": var(salt, "Salinity", "sea_water_practical_salinity", "1e-3"),
            "u": var(u, "Eastward velocity", "eastward_sea_water_velocity", "m s-1"),
            "v": var(v, "Northward velocity", "northward_sea_water_velocity", "m s-1"),
        },
        coords={
            "time": ("time", np.array(["2025-01-01", "2025-01-02"], dtype="datetime64[ns]")),
            "depth": ("depth", DEPTHS, {"units": "m", "positive": "down", "axis": "Z"}),
            "lat": ("lat", LAT, {"units": "degrees_north", "standard_name": "latitude"}),
            "lon": ("lon", LON, {"units": "degrees_east", "standard_name": "longitude"}),
        },
    )
    return ds.chunk({"time": 1, "depth": 1})


def test_derived_variables_are_offered_beside_the_stored_ones_lazily():
    ds = derived.with_derived(_ocean())
    assert list(ds.data_vars) == ["temp", "sal", "u", "v", *derived.NAMES]
    validate_dataset(ds)  # units and long_name on each: the data contract holds
    for name in derived.NAMES:
        assert ds[name].chunks is not None, name  # dask: nothing read yet
    assert ds["speed"].attrs["standard_name"] == "sea_water_speed"
    assert ds["sigma_theta"].attrs["units"] == "kg m-3"
    assert ds["mixed_layer_depth"].dims == ("time", "lat", "lon")


def test_speed_is_hypot_and_direction_is_towards_clockwise_from_north():
    ds = derived.with_derived(_ocean())
    # chosen as a stored variable is: one time step, one level
    speed = fields.field(ds, fields.Choice("speed", time=1, depth=20)).data
    raw = _ocean().isel(time=1).sel(depth=20.0)
    np.testing.assert_allclose(speed.values, np.hypot(raw["u"], raw["v"]))
    towards = fields.field(ds, fields.Choice("direction", time=0, depth=0)).data.values
    # flowing east, north, west, south
    np.testing.assert_allclose(towards[1], [90.0, 0.0, 270.0, 180.0])


def test_teos10_values_equal_gsw_called_on_the_raw_values():
    ds = derived.with_derived(_ocean())
    raw = _ocean().compute()
    for t, k, j, i in [(0, 0, 1, 0), (1, 4, 2, 2), (0, 7, 0, 1)]:
        sp = float(raw["sal"][t, k, j, i])
        pt = float(raw["temp"][t, k, j, i])
        p = gsw.p_from_z(-DEPTHS[k], LAT[j])
        sa = gsw.SA_from_SP(sp, p, LON[i], LAT[j])
        ct = gsw.CT_from_pt(sa, pt)
        got_ct = float(ds["conservative_temperature"][t, k, j, i])
        got_sigma = float(ds["sigma_theta"][t, k, j, i])
        assert got_ct == pytest.approx(float(ct), abs=1e-10)
        assert got_sigma == pytest.approx(float(gsw.sigma0(sa, ct)), abs=1e-10)
    assert np.isnan(ds["sigma_theta"][0, 0, 0, 3])  # land stays no data


def test_mixed_layer_depth_follows_the_thermocline():
    mld = derived.with_derived(_ocean())["mixed_layer_depth"].compute()
    first, other = mld.isel(time=0, lat=1).values[:2]
    # the thermocline's top: 30 m in the first column (a level), 60 m in the others (between
    # the levels at 50 and 75 m); sigma-theta then rises about 0.5 kg m-3 to the next level,
    # so the 0.03 step is crossed a little below the last mixed level
    assert 30.0 < first < 33.0
    assert 50.0 < other < 55.0
    assert np.isnan(mld.isel(time=0, lat=0, lon=3))  # land


def test_mixed_layer_depth_columns_by_the_definition():
    depth = np.array([0.0, 10.0, 20.0, 30.0, 40.0])
    sigma = np.array(
        [
            [25.0, 25.0, 25.0, 25.06, 25.1],  # crosses 25.03 half way from 20 to 30 m
            [25.0, 25.0, 25.01, 25.02, 25.02],  # never: the deepest level
            [25.0, 25.0, 25.0, np.nan, np.nan],  # sea floor first: its deepest level
            [np.nan] * 5,  # land
            [25.0, 24.9, 25.0, 25.2, 25.2],  # from 10 m (24.9), not the surface: 13 m
        ]
    )
    np.testing.assert_allclose(derived.mld_columns(sigma, depth), [25.0, 40.0, 20.0, np.nan, 13.0])


def test_inputs_are_found_by_standard_name_not_by_name():
    assert derived.derived_variables(_ocean(standard_names=False)) == {}
    grid = _ocean()
    grid["u"].attrs["standard_name"] = "x_sea_water_velocity"
    grid["v"].attrs["standard_name"] = "y_sea_water_velocity"
    found = derived.derived_variables(grid)
    # speed does not depend on the grid's orientation; direction does (not offered)
    assert "speed" in found and "direction" not in found


def test_kelvin_is_converted_and_unknown_temperature_units_are_not_guessed():
    ds = _ocean()
    kelvin = ds.assign(temp=(ds["temp"] + 273.15).assign_attrs(ds["temp"].attrs, units="K"))
    np.testing.assert_allclose(
        derived.with_derived(kelvin)["sigma_theta"].values,
        derived.with_derived(ds)["sigma_theta"].values,
    )
    ds["temp"].attrs["units"] = "degF"
    assert "sigma_theta" not in derived.derived_variables(ds)


def test_derived_variables_of_a_source_with_many_chunks_add_no_task_per_chunk():
    # 30 daily years at one chunk a map are hundreds of thousands of chunks: opening such a
    # source must not build a task per chunk for each derived variable (that took 30 s on
    # every switch to the demo with its past)
    ds = _ocean().isel(time=[0] * 2000).chunk({"time": 1, "depth": 1})
    stored = {key for da in ds.data_vars.values() for key in da.data.dask.layers}
    out = derived.with_derived(ds)
    for name in derived.NAMES:
        graph = out[name].data.dask
        added = [key for key in graph.layers if key not in stored]
        assert added, name
        # lazy layers, or small ones (a coordinate made an array): never one per chunk
        per_chunk = [
            key for key in added
            if graph.layers[key].is_materialized() and len(graph.layers[key]) >= 100
        ]  # fmt: skip
        assert not per_chunk, (name, per_chunk, ds["temp"].data.npartitions)
    # and still the numbers of the few chunks a map asks for
    expected = derived.with_derived(_ocean())["mixed_layer_depth"].isel(time=0).values
    np.testing.assert_allclose(out["mixed_layer_depth"].isel(time=1).values, expected)
