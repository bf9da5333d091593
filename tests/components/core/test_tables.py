"""The NetCDF writer keeps what the source's CF attributes say (issue 17, item 8).

A small packed file, written the way models write them (int16 with ``scale_factor``,
``add_offset`` and ``_FillValue``; time in ``days since`` a reference date of its own
calendar, with bounds; latitude and longitude bounds; a grid mapping; ``actual_range``), is
opened through the real adapter, cut, and exported: the export is read back without
decoding and compared with the source's own bytes.
"""

from __future__ import annotations

import pathlib

import netCDF4
import numpy as np
import pytest
import xarray as xr

from components.core import tables
from data_adapters import open_source
from data_adapters.cf_export import CF_REFERENCES, netcdf_ready, referenced_names
from tests import synthetic

LON = np.array([10.0, 30.0, 50.0, 190.0, 210.0, 350.0])  # 0-360: the contract wraps them
LAT = np.array([40.0, 20.0, 0.0, -20.0])  # descending: the contract sorts them
SCALE, OFFSET, FILL = np.float32(0.01), np.float32(10.0), np.int16(-32767)


def _packed_file(path: pathlib.Path, calendar: str) -> pathlib.Path:
    """temp(time, lat, lon) as int16 (``counts``), every CF reference a model writes."""
    with netCDF4.Dataset(path, "w") as nc:
        nc.Conventions = "CF-1.8"
        nc.title = "packed test ocean"
        nc.history = "made by the test"
        for name, size in (("time", 5), ("lat", LAT.size), ("lon", LON.size), ("nv", 2)):
            nc.createDimension(name, size)
        time = nc.createVariable("time", "f8", ("time",))
        time.setncatts(
            {"standard_name": "time", "axis": "T", "bounds": "time_bnds", "calendar": calendar}
        )
        time.units = "days since 1990-01-01 00:00:00"
        time[:] = np.arange(5) * 30.0 + 15.0
        bounds = nc.createVariable("time_bnds", "f8", ("time", "nv"))
        bounds[:] = np.stack([np.arange(5) * 30.0, np.arange(5) * 30.0 + 30.0], axis=1)
        for name, values, units in (("lat", LAT, "degrees_north"), ("lon", LON, "degrees_east")):
            var = nc.createVariable(name, "f4", (name,))
            var.setncatts(
                {
                    "standard_name": "latitude" if name == "lat" else "longitude",
                    "units": units,
                    "bounds": f"{name}_bnds",
                    "actual_range": np.array([values.min(), values.max()], "f4"),
                    "valid_range": np.array([-90, 90] if name == "lat" else [0, 360], "f4"),
                }
            )
            var[:] = values
            step = 10.0 if name == "lat" else 5.0
            nc.createVariable(f"{name}_bnds", "f4", (name, "nv"))[:] = np.stack(
                [values - step, values + step], axis=1
            )
        area = nc.createVariable("cell_area", "f4", ("lat", "lon"))
        area.setncatts({"standard_name": "cell_area", "units": "m2"})
        area[:] = np.cos(np.deg2rad(LAT))[:, None] * np.arange(1, LON.size + 1)[None, :]
        crs = nc.createVariable("crs", "i4", ())
        crs.setncatts({"grid_mapping_name": "latitude_longitude", "semi_major_axis": 6371229.0})
        temp = nc.createVariable("temp", "i2", ("time", "lat", "lon"), fill_value=FILL)
        temp.setncatts(
            {
                "standard_name": "sea_water_potential_temperature",
                "long_name": "temperature",
                "units": "degC",
                "scale_factor": SCALE,
                "add_offset": OFFSET,
                "grid_mapping": "crs",
                "cell_measures": "area: cell_area",  # a gridded variable of its own
                "actual_range": np.array([-5.0, 25.0], "f4"),
                "time": "ocean_time",  # ROMS's, naming a variable that is not there
            }
        )
        temp.set_auto_maskandscale(False)
        counts = np.arange(5 * LAT.size * LON.size, dtype="i2").reshape(5, LAT.size, LON.size)
        counts = counts * 37 - 1000
        counts[:, 1, 1] = FILL  # land, at 20 N 30 E
        temp[:] = counts
    return path


def _raw(path: pathlib.Path, name: str) -> tuple[np.ndarray, dict]:
    """A variable's stored values and attributes, undecoded."""
    with netCDF4.Dataset(path) as nc:
        var = nc[name]
        var.set_auto_maskandscale(False)
        return np.asarray(var[:]), {k: var.getncattr(k) for k in var.ncattrs()}


def _subset(path: pathlib.Path) -> xr.DataArray:
    """temp at time steps 1..2, 0..20 N, 30..210 E (lon 30, 50, -170, -150), as an export."""
    temp = open_source(str(path)).dataset["temp"]
    box = temp.sel(lat=slice(0.0, 20.0), lon=[-170.0, -150.0, 30.0, 50.0])
    return box.isel(time=slice(1, 3))


@pytest.mark.parametrize("calendar", ["360_day", "gregorian"])
def test_export_keeps_packing_calendar_and_bounds(tmp_path: pathlib.Path, calendar: str) -> None:
    source = _packed_file(tmp_path / "packed.nc", calendar)
    out = tmp_path / "export.nc"
    described = open_source(str(source)).dataset.attrs  # as ocean-explorer export gives them
    tables.write_netcdf(_subset(source), out, attrs=described, history="test export")

    stored, attrs = _raw(out, "temp")
    raw, raw_attrs = _raw(source, "temp")
    assert stored.dtype == np.int16
    for key in ("scale_factor", "add_offset", "_FillValue"):
        assert attrs[key] == raw_attrs[key] and attrs[key].dtype == raw_attrs[key].dtype
    lat_rows = [2, 1]  # 0 and 20 N, ascending in the export
    lon_cols = [3, 4, 1, 2]  # 190 (-170), 210 (-150), 30, 50 E
    want = raw[1:3][:, lat_rows][:, :, lon_cols]
    np.testing.assert_array_equal(stored, want)  # the source's integers, bit for bit

    times, time_attrs = _raw(out, "time")
    raw_times, _ = _raw(source, "time")
    assert time_attrs["units"] == "days since 1990-01-01"  # the source's (xarray writes the
    # reference date without 00:00:00); "gregorian" by the name CF prefers, never proleptic
    assert time_attrs["calendar"] == {"gregorian": "standard"}.get(calendar, calendar)
    assert times.dtype == np.float64
    np.testing.assert_array_equal(times, raw_times[1:3])
    bounds, bounds_attrs = _raw(out, "time_bnds")
    np.testing.assert_array_equal(bounds, _raw(source, "time_bnds")[0][1:3])
    assert "units" not in bounds_attrs  # CF 7.1: the bounds take their parent's

    lat_bnds, _ = _raw(out, "lat_bnds")
    np.testing.assert_array_equal(lat_bnds, _raw(source, "lat_bnds")[0][lat_rows])
    lon, _ = _raw(out, "lon")
    lon_bnds, _ = _raw(out, "lon_bnds")
    assert lon_bnds.shape == (4, 2)
    assert ((lon_bnds[:, 0] < lon) & (lon < lon_bnds[:, 1])).all()  # wrapped with lon

    area, _ = _raw(out, "cell_area")
    np.testing.assert_array_equal(area, _raw(source, "cell_area")[0][lat_rows][:, lon_cols])
    assert attrs["cell_measures"] == "area: cell_area"
    assert "valid_range" not in _raw(out, "lon")[1]  # 0..360, and -170 is exported
    np.testing.assert_array_equal(_raw(out, "lat")[1]["valid_range"], [-90, 90])
    _, crs = _raw(out, "crs")
    assert crs["grid_mapping_name"] == "latitude_longitude"
    assert attrs["grid_mapping"] == "crs"
    with netCDF4.Dataset(out) as nc:
        for name, var in nc.variables.items():
            assert "actual_range" not in var.ncattrs(), name
        assert "time" not in nc["temp"].ncattrs()  # ROMS's stale time="ocean_time"
        assert nc.Conventions == "CF-1.8"
        assert nc.history.splitlines()[0].endswith("test export")
        assert nc.history.splitlines()[1] == "made by the test"


def test_decoded_values_equal_the_source(tmp_path: pathlib.Path) -> None:
    source = _packed_file(tmp_path / "packed.nc", "360_day")
    subset = _subset(source)
    out = tmp_path / "export.nc"
    tables.write_netcdf(subset, out)
    with xr.open_dataset(out) as got:
        # the grid mapping is a variable of the file, named by the attribute, not a coordinate
        xr.testing.assert_equal(got["temp"].load(), subset.compute().drop_vars("crs"))
        assert got["time"].dt.calendar == "360_day"
        assert bool(np.isnan(got["temp"]).any())  # land stays no data


def test_a_derived_field_names_no_absent_variable(tmp_path: pathlib.Path) -> None:
    """Arithmetic loses the source's encoding: the export is then plain float, and keeps no
    attribute that names a variable it does not hold."""
    source = _packed_file(tmp_path / "packed.nc", "360_day")
    subset = _subset(source)
    derived = (subset * 2.0).assign_attrs(subset.attrs)
    assert CF_REFERENCES not in derived.encoding
    out = tmp_path / "derived.nc"
    tables.write_netcdf(derived.rename("doubled"), out)
    stored, attrs = _raw(out, "doubled")
    assert stored.dtype == np.float32
    assert "scale_factor" not in attrs
    with netCDF4.Dataset(out) as nc:
        # the grid mapping is a coordinate of the opened data, so a derived field keeps it
        assert attrs.get("grid_mapping") in (None, *nc.variables)
        for name, var in nc.variables.items():
            for names in referenced_names({k: var.getncattr(k) for k in var.ncattrs()}).values():
                assert set(names) <= set(nc.variables), (name, names)


def test_opening_keeps_the_named_variables_lazily(tmp_path: pathlib.Path) -> None:
    source = _packed_file(tmp_path / "packed.nc", "360_day")
    ds = open_source(str(source)).dataset
    assert set(ds.data_vars) == {"temp", "cell_area"}  # the gridded variables only
    assert "nv" not in ds.dims
    assert "crs" in ds.coords  # the grid mapping travels as a coordinate (grid_mapping)
    refs = ds["temp"].encoding[CF_REFERENCES]
    assert set(refs.data_vars) >= {"time_bnds", "lat_bnds", "lon_bnds", "cell_area"}
    assert refs["time_bnds"].chunks is not None  # nothing read yet
    # sorted and wrapped with the data: row k of lat_bnds belongs to lat[k]
    np.testing.assert_array_equal(refs["lat_bnds"].values.mean(axis=1), ds["lat"].values)


def test_referenced_names_reads_every_cf_form() -> None:
    assert referenced_names(
        {
            "grid_mapping": "crs: x y crs_wgs84: lat lon",
            "cell_measures": "area: cell_area volume: cell_volume",
            "formula_terms": "s: s_rho C: Cs_r eta: zeta depth: h depth_c: hc",
            "coordinates": "nav_lon nav_lat",
            "bounds": "time_bnds",
            "units": "m",
        }
    ) == {
        "grid_mapping": ["crs", "crs_wgs84"],
        "cell_measures": ["cell_area", "cell_volume"],
        "formula_terms": ["s_rho", "Cs_r", "zeta", "h", "hc"],
        "coordinates": ["nav_lon", "nav_lat"],
        "bounds": ["time_bnds"],
    }


def test_bounds_that_no_longer_surround_their_coordinate_are_dropped() -> None:
    """Bounds left in a source's units after the contract converted the coordinate (depth in
    cm, now metres) would contradict it: they are left out, with the attribute naming them."""
    depth = xr.Variable("depth", [5.0, 15.0], {"units": "m", "bounds": "depth_bnds"})
    refs = xr.Dataset(
        {"depth_bnds": (("depth", "nv"), [[0.0, 1000.0], [1000.0, 2000.0]])},
        coords={"depth": depth},
    )
    temp = xr.DataArray([1.0, 2.0], coords={"depth": depth}, dims="depth", name="temp")
    temp.encoding[CF_REFERENCES] = refs
    out = netcdf_ready(temp.to_dataset())
    assert "depth_bnds" not in out.variables
    assert "bounds" not in out["depth"].attrs
    refs["depth_bnds"] = (("depth", "nv"), [[0.0, 10.0], [10.0, 20.0]])
    assert "depth_bnds" in netcdf_ready(temp.to_dataset()).variables


@pytest.mark.parametrize("with_fill", [True, False])
def test_values_outside_the_valid_range_are_exported_as_no_data(
    tmp_path: pathlib.Path, with_fill: bool
) -> None:
    """The contract masks packed values outside ``valid_range``; the export stores them as
    the fill value (the netCDF default for int16 when the source has none) and keeps the
    source's integers elsewhere."""
    ds = synthetic.packed_valid_range()
    if not with_fill:
        del ds["thetao"].attrs["_FillValue"]
    source = synthetic.write_netcdf(ds, tmp_path / "packed.nc")
    out = tmp_path / "export.nc"
    tables.write_netcdf(open_source(source).dataset["thetao"], out)
    stored, attrs = _raw(out, "thetao")
    assert stored.dtype == np.int16 and attrs["_FillValue"] == -32767
    want = np.full(stored.shape, 500, dtype="int16")
    want[0, 0, :2] = -32767  # 50 °C, outside the valid range, and the fill value
    np.testing.assert_array_equal(stored, want)


def test_curvilinear_cell_bounds_are_cut_with_the_cells(tmp_path: pathlib.Path) -> None:
    """NEMO's (y, x, nvertex) cell bounds follow a block of a curvilinear grid (found by its
    cells' lat/lon: y and x carry no coordinates), and the time bounds one chosen step."""
    ds = synthetic.nemo_curvilinear()
    corners = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]]) * 0.25
    for name, k in (("nav_lon", 0), ("nav_lat", 1)):
        ds[f"bounds_{name[4:]}"] = (
            ("y", "x", "nvertex"),
            ds[name].values[..., None] + corners[:, k],
        )
        ds[name].attrs["bounds"] = f"bounds_{name[4:]}"
    source = pathlib.Path(synthetic.write_netcdf(ds, tmp_path / "nemo.nc"))
    thetao = open_source(str(source)).dataset["thetao"]
    assert "y" not in thetao.indexes and "x" not in thetao.indexes
    out = tmp_path / "export.nc"
    tables.write_netcdf(thetao.isel(time=1, depth=1, y=slice(1, 4), x=slice(2, 6)), out)
    raw_lon, _ = _raw(source, "bounds_lon")
    got_lon, _ = _raw(out, "bounds_lon")
    np.testing.assert_array_equal(got_lon, raw_lon[1:4, 2:6])
    np.testing.assert_array_equal(
        _raw(out, "bounds_lat")[0], _raw(source, "bounds_lat")[0][1:4, 2:6]
    )
    assert _raw(out, "lon")[1]["bounds"] == "bounds_lon"
    time_bounds, attrs = _raw(out, "time_counter_bounds")
    np.testing.assert_array_equal(time_bounds, _raw(source, "time_counter_bounds")[0][1])
    assert "units" not in attrs
    assert _raw(out, "time")[1]["units"] == "seconds since 1900-01-01"
