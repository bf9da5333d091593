"""The data contract (DESIGN.md §2): each quirk of real files is normalised, and
``validate_dataset`` refuses datasets that break a rule.

Every quirky dataset is written to NetCDF in ``tmp_path`` and opened through
``NetCDFAdapter``, so xarray's real decoding (fill values, packing, calendars) runs first.
"""

from __future__ import annotations

import json

import cftime
import dask.array as dsa
import numpy as np
import pandas as pd
import pytest
import xarray as xr
import zarr.storage

from data_adapters import (
    ContractError,
    bbox,
    grid_kind,
    normalize,
    summarize,
    validate_dataset,
)
from data_adapters.netcdf import NetCDFAdapter
from data_adapters.zarr_store import ZarrAdapter
from tests import synthetic
from tests.synthetic import marker, write_netcdf

SUMMARY_KEYS = {
    "id",
    "title",
    "grid",
    "dims",
    "bbox",
    "time_range",
    "calendar",
    "depths",
    "vertical",
    "scenarios",
    "variables",
}


def open_written(ds: xr.Dataset, tmp_path, name: str = "source.nc", **to_netcdf) -> xr.Dataset:
    """Write ``ds`` to NetCDF, open it with the NetCDF adapter and check the contract."""
    path = write_netcdf(ds, tmp_path / name, **to_netcdf)
    return validate_dataset(NetCDFAdapter(path=path).open())


def at(da: xr.DataArray, **where) -> float:
    """The value of ``da`` at a position (first time, depth, scenario and member)."""
    first = {d: 0 for d in ("scenario", "member", "time", "depth") if d in da.dims}
    return float(da.isel(first).sel(where).values)


# -- horizontal -----------------------------------------------------------------------------
def test_longitudes_0_360_are_wrapped_and_sorted_keeping_values_in_place(tmp_path):
    ds = open_written(synthetic.lon_0_360(), tmp_path)

    lon = ds["lon"].values
    assert lon.min() >= -180 and lon.max() < 180
    assert (np.diff(lon) > 0).all()
    # what was stored at 350°E, 25°N is now at 10°W, 25°N
    assert at(ds["thetao"], lon=-10.0, lat=25.0) == pytest.approx(marker(350.0, 25.0), abs=1e-3)
    assert at(ds["thetao"], lon=10.0, lat=25.0) == pytest.approx(marker(10.0, 25.0), abs=1e-3)


def test_a_grid_holding_both_0_and_360_keeps_one_column_at_the_dateline(tmp_path):
    raw = synthetic.lon_0_360()
    seam = raw.isel(lon=[0]).assign_coords(lon=[360.0])
    ds = open_written(xr.concat([raw, seam], dim="lon", data_vars="all"), tmp_path)

    assert ds.sizes["lon"] == 36
    assert (np.diff(ds["lon"].values) > 0).all()


def test_descending_latitude_becomes_ascending_and_values_follow(tmp_path):
    ds = open_written(synthetic.lat_descending(), tmp_path)

    assert (np.diff(ds["lat"].values) > 0).all()
    assert at(ds["thetao"], lon=5.0, lat=-85.0) == pytest.approx(marker(5.0, -85.0), abs=1e-3)
    assert float(ds["thetao"].isel(time=0, depth=0, lon=0, lat=0)) == pytest.approx(
        marker(-175.0, -85.0), abs=1e-3
    )


def test_nemo_curvilinear_grid_maps_onto_y_x_with_2d_lat_lon(tmp_path):
    raw = synthetic.nemo_curvilinear()
    ds = open_written(raw, tmp_path)

    assert grid_kind(ds) == "curvilinear"
    assert ds["thetao"].dims == ("time", "depth", "y", "x")
    assert ds["lon"].dims == ("y", "x") and ds["lat"].dims == ("y", "x")
    np.testing.assert_allclose(ds["lon"].values, raw["nav_lon"].values)
    # values stay with their cell: the marker of each cell's own position
    np.testing.assert_allclose(
        ds["thetao"].isel(time=0, depth=0).values,
        marker(ds["lon"].values, ds["lat"].values),
        atol=1e-3,
    )
    # time_counter is the time axis (time_centered stays an extra coordinate), deptht depth
    np.testing.assert_array_equal(ds["time"].values, raw["time_counter"].values)
    np.testing.assert_array_equal(ds["depth"].values, synthetic.DEPTHS)
    # cell bounds are not maps
    assert set(ds.data_vars) == {"thetao"}


def test_nemo_curvilinear_names_alone_are_enough(tmp_path):
    """A NEMO file stripped of CF attributes still opens by its names nav_lon, deptht..."""
    raw = synthetic.nemo_curvilinear().drop_vars(["time_centered"])
    for name in ("nav_lon", "nav_lat", "time_counter", "deptht"):
        raw[name].attrs = {}
    ds = open_written(raw, tmp_path)

    assert grid_kind(ds) == "curvilinear"
    assert ds["thetao"].dims == ("time", "depth", "y", "x")
    assert ds["depth"].attrs["units"] == "m"


def test_curvilinear_lat_lon_are_held_in_memory(tmp_path):
    """2-D coordinates are read once, not again from the file each time a view asks."""
    ds = open_written(synthetic.nemo_curvilinear(), tmp_path)

    assert ds["lon"].chunks is None and ds["lat"].chunks is None


def test_nemo_grid_stored_2d_but_separable_becomes_regular(tmp_path):
    raw = synthetic.nemo_separable()
    ds = open_written(raw, tmp_path)

    assert grid_kind(ds) == "regular"
    assert ds["thetao"].dims == ("time", "depth", "lat", "lon")
    np.testing.assert_allclose(ds["lon"].values, raw["nav_lon"].values[0])
    np.testing.assert_allclose(ds["lat"].values, raw["nav_lat"].values[:, 0])
    assert at(ds["thetao"], lon=-15.0, lat=43.0) == pytest.approx(marker(-15.0, 43.0), abs=1e-3)


def test_latitude_longitude_names_become_lat_lon(tmp_path):
    ds = open_written(synthetic.latitude_longitude_names(), tmp_path)

    assert ds["thetao"].dims == ("time", "depth", "lat", "lon")
    assert "latitude" not in ds.variables and "longitude" not in ds.variables
    assert at(ds["thetao"], lon=45.0, lat=-5.0) == pytest.approx(marker(45.0, -5.0), abs=1e-3)


def test_x_y_coordinates_in_degrees_are_found_by_their_units(tmp_path):
    ds = open_written(synthetic.xy_degrees(), tmp_path)

    assert grid_kind(ds) == "regular"
    assert ds["zos"].dims == ("time", "lat", "lon")
    assert ds["lon"].attrs["units"] == "degrees_east"
    assert at(ds["thetao"], lon=-95.0, lat=35.0) == pytest.approx(marker(-95.0, 35.0), abs=1e-3)


def test_regional_box_across_the_dateline_has_west_greater_than_east(tmp_path):
    ds = open_written(synthetic.dateline_box(), tmp_path)

    assert bbox(ds) == [170.0, 10.0, -170.0, 30.0]
    assert summarize(ds, "box")["bbox"] == [170.0, 10.0, -170.0, 30.0]
    # the cell stored at 185°E is at 175°W
    assert at(ds["thetao"], lon=-175.0, lat=20.0) == pytest.approx(marker(185.0, 20.0), abs=1e-3)


def test_global_grid_bbox_does_not_cross_the_dateline(tmp_path):
    ds = open_written(synthetic.regular(), tmp_path)

    assert bbox(ds) == [-175.0, -85.0, 175.0, 85.0]


# -- vertical -------------------------------------------------------------------------------
def test_heights_positive_up_become_depths_positive_down(tmp_path):
    ds = open_written(synthetic.depth_height_up(), tmp_path)

    np.testing.assert_allclose(ds["depth"].values, [0.5, 10.0, 100.0])
    assert ds["depth"].attrs["positive"] == "down" and ds["depth"].attrs["units"] == "m"
    assert at(ds["thetao"], lon=5.0, lat=5.0) == pytest.approx(19.95, abs=1e-4)
    assert float(ds["thetao"].sel(depth=100.0, lon=5.0, lat=5.0).isel(time=0)) == pytest.approx(
        10.0
    )


def test_depth_in_centimetres_becomes_metres(tmp_path):
    ds = open_written(synthetic.depth_cm(), tmp_path)

    np.testing.assert_allclose(ds["depth"].values, synthetic.DEPTHS)
    assert ds["depth"].attrs["units"] == "m"


# -- time -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("builder", "calendar", "last_day"),
    [("calendar_noleap", "noleap", "2001-03-02"), ("calendar_360_day", "360_day", "2001-02-30")],
)
def test_cftime_calendars_are_kept_and_reported(tmp_path, builder, calendar, last_day):
    ds = open_written(synthetic.SYNTHETIC[builder](), tmp_path)

    assert ds.sizes["time"] == 4
    assert isinstance(ds["time"].values[0], cftime.datetime)
    assert ds["time"].values[0].calendar == calendar
    summary = summarize(ds, builder)
    assert summary["calendar"] == calendar
    assert summary["time_range"] == ["2001-02-27T00:00:00", f"{last_day}T00:00:00"]


def test_standard_calendar_is_reported_as_standard(tmp_path):
    ds = open_written(synthetic.regular(), tmp_path)

    assert summarize(ds, "r")["calendar"] == "standard"
    assert summarize(ds, "r")["time_range"] == ["2025-01-01T00:00:00", "2025-01-04T00:00:00"]


# -- values ---------------------------------------------------------------------------------
def test_fill_value_and_valid_range_become_nan(tmp_path):
    ds = open_written(synthetic.fill_and_valid_range(), tmp_path, encoding=synthetic.FILL_ENCODING)

    values = ds["thetao"].isel(time=0).values
    assert np.isnan(values[0, 0])  # land, stored as _FillValue -999
    assert np.isnan(values[0, 1])  # 99 °C, outside valid_range
    assert np.nanmin(values) == np.nanmax(values) == 15.0
    assert np.isfinite(values).sum() == values.size - 2


def test_packed_data_with_valid_range_in_packed_units(tmp_path):
    ds = open_written(synthetic.packed_valid_range(), tmp_path)

    values = ds["thetao"].isel(time=0).values
    assert np.isnan(values[0, 0])  # packed 3000 = 50 °C, outside packed valid_range
    assert np.isnan(values[0, 1])  # the packed fill value
    np.testing.assert_allclose(values[1:], 25.0, atol=1e-4)


def test_packed_data_with_valid_range_in_physical_units(tmp_path):
    """A float valid_range beside integer packing is in unpacked units (CF 8.1)."""
    raw = synthetic.packed_valid_range()
    raw["thetao"].attrs["valid_range"] = np.array([-2.0, 40.0], dtype="float32")
    ds = open_written(raw, tmp_path)

    values = ds["thetao"].isel(time=0).values
    assert np.isnan(values[0, 0]) and np.isnan(values[0, 1])
    np.testing.assert_allclose(values[1:], 25.0, atol=1e-4)


def test_variables_without_long_name_or_units_get_them(tmp_path):
    ds = open_written(synthetic.undescribed(), tmp_path)

    assert ds["thetao"].attrs["long_name"] == "sea water potential temperature"
    assert ds["zos"].attrs["long_name"] == "zos"
    assert ds["thetao"].attrs["units"] and ds["zos"].attrs["units"]


def test_bounds_variables_are_dropped(tmp_path):
    ds = open_written(synthetic.with_bounds(), tmp_path)

    assert set(ds.data_vars) == {"thetao", "zos"}
    assert "lat_bnds" not in ds.variables and "nv" not in ds.dims


# -- runs and members -----------------------------------------------------------------------
def test_scenario_dimension_keeps_labels_and_realization_becomes_member(tmp_path):
    ds = open_written(synthetic.scenarios_members(), tmp_path)

    assert ds["thetao"].dims == ("scenario", "member", "time", "depth", "lat", "lon")
    assert list(ds["scenario"].values) == synthetic.SCENARIO_LABELS
    assert ds.sizes["member"] == 2 and "realization" not in ds.dims
    assert summarize(ds, "runs")["scenarios"] == synthetic.SCENARIO_LABELS
    cell = ds["thetao"].isel(time=0, depth=0).sel(lon=5.0, lat=5.0)
    assert float(cell.sel(scenario="heatwave").isel(member=1)) == pytest.approx(
        marker(5.0, 5.0) + 2.1, abs=1e-3
    )


# -- laziness -------------------------------------------------------------------------------
def test_huge_zarr_store_opens_reading_metadata_only(tmp_path, monkeypatch):
    """A 75 GB store opens at once: only metadata and coordinates are read, never data."""
    shape = (365, 50, 720, 1440)
    store = tmp_path / "huge.zarr"
    xr.Dataset(
        {
            "thetao": (
                ("time", "depth", "lat", "lon"),
                dsa.zeros(shape, chunks=(73, 10, 360, 720), dtype="float32"),
                synthetic.THETAO_ATTRS,
            )
        },
        coords={
            "time": pd.date_range("2025-01-01", periods=365),
            "depth": ("depth", np.arange(50) * 10.0 + 0.5, synthetic.DEPTH_ATTRS),
            "lat": ("lat", -89.875 + 0.25 * np.arange(720), synthetic.LAT_ATTRS),
            "lon": ("lon", -179.875 + 0.25 * np.arange(1440), synthetic.LON_ATTRS),
        },
    ).to_zarr(store, compute=False, zarr_format=3)
    files_before = sorted(p for p in store.rglob("*") if p.is_file())

    requested: list[str] = []
    real_get = zarr.storage.LocalStore.get

    async def spying_get(self, key, *args, **kwargs):
        requested.append(key)
        return await real_get(self, key, *args, **kwargs)

    monkeypatch.setattr(zarr.storage.LocalStore, "get", spying_get)
    ds = validate_dataset(ZarrAdapter(path=str(store)).open())

    assert ds["thetao"].nbytes > 10e9
    assert ds["thetao"].shape == shape
    assert "lat/c/0" in requested  # the spy sees reads: coordinates are read, data is not
    assert not [k for k in requested if k.startswith("thetao/") and k != "thetao/zarr.json"]
    assert sorted(p for p in store.rglob("*") if p.is_file()) == files_before
    assert not any(p.parts[-3:-1] == ("thetao", "c") for p in files_before)


def test_in_memory_sources_become_lazy():
    ds = normalize(synthetic.regular())

    assert all(v.chunks is not None for v in ds.data_vars.values())
    validate_dataset(ds)


# -- summarize ------------------------------------------------------------------------------
def test_summary_has_the_documented_keys_and_is_json(tmp_path):
    ds = open_written(synthetic.regular(), tmp_path)
    summary = summarize(ds, "regular", title="Synthetic")

    assert set(summary) == SUMMARY_KEYS
    assert summary["grid"] == "regular"
    assert summary["depths"] == [0.5, 10.0, 100.0]
    assert summary["scenarios"] == ["baseline"]
    assert {v["name"]: v["units"] for v in summary["variables"]} == {"thetao": "degC", "zos": "m"}
    assert json.loads(json.dumps(summary)) == summary


# -- validate_dataset rejects what breaks the contract --------------------------------------
def valid() -> xr.Dataset:
    return normalize(synthetic.regular())


def _lon_0_360(ds):
    return ds.assign_coords(lon=ds["lon"] + 180.0)


def _lat_descending(ds):
    return ds.isel(lat=slice(None, None, -1))


def _wrong_dim_order(ds):
    return ds.assign(thetao=ds["thetao"].transpose("lon", "lat", "depth", "time"))


def _missing_units(ds):
    ds = ds.copy()
    ds["zos"].attrs = {"long_name": "sea level"}
    return ds


def _not_lazy(ds):
    return ds.assign(zos=ds["zos"].compute())


def _negative_depth(ds):
    return ds.assign_coords(depth=("depth", -ds["depth"].values, ds["depth"].attrs))


def _depth_in_cm(ds):
    return ds.assign_coords(depth=("depth", ds["depth"].values, {"units": "cm"}))


def _unknown_dim(ds):
    return ds.assign(extra=ds["zos"].expand_dims(band=2).transpose("band", ...))


def _undecoded_time(ds):
    return ds.assign_coords(time=("time", np.arange(ds.sizes["time"], dtype=float)))


def _curvilinear_on_wrong_dims(ds):
    lon2d, lat2d = np.meshgrid(ds["lon"].values, ds["lat"].values)
    return (
        ds.drop_vars(["lon", "lat"])
        .rename(lat="y", lon="x")
        .assign_coords(lon=(("x", "y"), lon2d.T), lat=(("x", "y"), lat2d.T))
    )


@pytest.mark.parametrize(
    ("breaker", "rule"),
    [
        (_lon_0_360, "lon must lie in [-180, 180)"),
        (_lat_descending, "lat must be strictly ascending"),
        (_wrong_dim_order, "'thetao' dims ('lon', 'lat', 'depth', 'time') are not in contract"),
        (_missing_units, "'zos' lacks 'units'"),
        (_not_lazy, "'zos' is not lazy"),
        (_negative_depth, "depth must be positive down (found negative values)"),
        (_depth_in_cm, "depth must be in metres, positive down"),
        (_unknown_dim, "'extra' has dims ('band', 'time', 'lat', 'lon') outside"),
        (_undecoded_time, "time must be decoded"),
        (_curvilinear_on_wrong_dims, "curvilinear lon/lat must be 2-D on (y, x)"),
    ],
    ids=lambda v: getattr(v, "__name__", "")[1:] if callable(v) else "",
)
def test_validate_dataset_rejects_a_broken_rule(breaker, rule):
    validate_dataset(valid())  # the unbroken dataset passes

    with pytest.raises(ContractError) as info:
        validate_dataset(breaker(valid()))

    message = str(info.value)
    assert rule in message
    assert "\n" not in message


def test_validate_dataset_lists_every_broken_rule_on_one_line():
    with pytest.raises(ContractError) as info:
        validate_dataset(_missing_units(_lat_descending(valid())))

    assert "lat must be strictly ascending" in str(info.value)
    assert "'zos' lacks 'units'" in str(info.value)


def test_validate_dataset_needs_lon_lat():
    with pytest.raises(ContractError, match="no 'lon'/'lat'"):
        validate_dataset(valid().rename(lon="longitude"))


def test_contract_error_is_a_source_error():
    from data_adapters import SourceError

    # the app and the CLI catch SourceError: a contract failure must reach the user the same way
    assert issubclass(ContractError, SourceError)
