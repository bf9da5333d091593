"""Local adapters: NetCDF/HDF5 files, globs and directories of files; Zarr v2 and v3 stores."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from data_adapters import SourceError, adapter_for_uri, validate_dataset
from data_adapters.netcdf import NetCDFAdapter
from data_adapters.zarr_store import ZarrAdapter
from tests import synthetic
from tests.synthetic import marker, write_netcdf


def assert_regular_source(ds: xr.Dataset, days: int) -> None:
    """``ds`` is :func:`synthetic.regular` with ``days`` steps, on the contract and lazy."""
    validate_dataset(ds)
    assert ds.sizes == {"time": days, "depth": 3, "lat": 18, "lon": 36}
    assert ds["thetao"].chunks is not None
    assert float(ds["thetao"].isel(time=-1, depth=2).sel(lon=55.0, lat=-25.0)) == pytest.approx(
        marker(55.0, -25.0), abs=1e-3
    )
    np.testing.assert_array_equal(ds["zos"].isel(lat=0, lon=0).values, np.arange(days))


@pytest.fixture
def daily_files(tmp_path):
    """Nine days of :func:`synthetic.regular` split over three files in ``runs/``.

    The file names do not sort in time order, as with files named by run id.
    """
    runs = tmp_path / "runs"
    runs.mkdir()
    ds = synthetic.regular(times=9)
    for name, days in (("c.nc", slice(0, 3)), ("a.nc", slice(3, 6)), ("b.nc", slice(6, 9))):
        write_netcdf(ds.isel(time=days), runs / name)
    return runs


# -- NetCDF ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("file_format", "engine", "suffix"),
    [
        ("NETCDF4", "netcdf4", ".nc"),
        ("NETCDF4", "h5netcdf", ".h5"),
        ("NETCDF4_CLASSIC", "netcdf4", ".nc4"),
        ("NETCDF3_CLASSIC", "netcdf4", ".nc"),
        ("NETCDF3_64BIT", "scipy", ".cdf"),
    ],
)
def test_one_file_of_each_netcdf_format(tmp_path, file_format, engine, suffix):
    path = write_netcdf(
        synthetic.regular(), tmp_path / f"one{suffix}", format=file_format, engine=engine
    )

    assert_regular_source(NetCDFAdapter(path=path).open(), days=4)


@pytest.mark.parametrize("engine", ["netcdf4", "h5netcdf"])
def test_reading_engine_can_be_chosen(tmp_path, engine):
    path = write_netcdf(synthetic.regular(), tmp_path / "one.nc")

    assert_regular_source(NetCDFAdapter(path=path, engine=engine).open(), days=4)


def test_a_bare_file_path_picks_the_netcdf_adapter(tmp_path):
    path = write_netcdf(synthetic.regular(), tmp_path / "one.nc")

    adapter = adapter_for_uri(path)

    assert isinstance(adapter, NetCDFAdapter)
    assert_regular_source(adapter.open(), days=4)


def test_glob_of_files_is_combined_along_time(daily_files):
    adapter = NetCDFAdapter(path=str(daily_files / "*.nc"))

    ds = adapter.open()

    assert len(adapter.files()) == 3
    assert_regular_source(ds, days=9)
    # continuous across files: one step a day, no gap or repeat at the seams
    steps = np.diff(ds["time"].values).astype("timedelta64[h]").astype(int)
    assert (steps == 24).all()


def test_directory_of_files_is_combined_and_other_files_ignored(daily_files):
    (daily_files / "README.txt").write_text("model run notes\n")

    ds = NetCDFAdapter(path=str(daily_files)).open()

    assert_regular_source(ds, days=9)


def test_overlapping_files_are_refused_naming_both(tmp_path):
    """Files whose periods overlap (forecast archives repeat days) would lose or merge steps
    silently: the run is refused, naming the two files."""
    ds = synthetic.regular(times=6)
    write_netcdf(ds.isel(time=slice(0, 4)), tmp_path / "run1.nc")
    write_netcdf(ds.isel(time=slice(2, 6)), tmp_path / "run2.nc")

    with pytest.raises(SourceError, match="overlap in time") as refused:
        NetCDFAdapter(path=str(tmp_path / "run*.nc")).open()

    message = str(refused.value)
    assert "run1.nc" in message and "run2.nc" in message
    assert "2025-01-03" in message  # the first step held twice
    assert "\n" not in message


def test_glob_of_quirky_files_is_normalised(tmp_path):
    ds = synthetic.lon_0_360()
    write_netcdf(ds.isel(time=[0]), tmp_path / "d1.nc")
    write_netcdf(ds.isel(time=[1]), tmp_path / "d2.nc")

    out = validate_dataset(NetCDFAdapter(path=str(tmp_path / "d*.nc")).open())

    assert out.sizes["time"] == 2
    assert float(out["thetao"].isel(time=1, depth=0).sel(lon=-10.0, lat=5.0)) == pytest.approx(
        marker(350.0, 5.0), abs=1e-3
    )


# -- Zarr -----------------------------------------------------------------------------------
@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("consolidated", [True, False])
def test_local_zarr_store(tmp_path, zarr_format, consolidated):
    store = tmp_path / "ocean.zarr"
    synthetic.regular().to_zarr(store, zarr_format=zarr_format, consolidated=consolidated)

    adapter = adapter_for_uri(str(store))

    assert isinstance(adapter, ZarrAdapter)
    assert_regular_source(adapter.open(), days=4)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_zarr_store_without_zarr_suffix_is_recognised(tmp_path, zarr_format):
    store = tmp_path / "ocean_store"
    synthetic.regular().to_zarr(store, zarr_format=zarr_format)

    adapter = adapter_for_uri(str(store))

    assert isinstance(adapter, ZarrAdapter)
    assert_regular_source(adapter.open(), days=4)


def test_zarr_store_is_normalised(tmp_path):
    store = tmp_path / "nemo.zarr"
    synthetic.nemo_curvilinear().to_zarr(store, zarr_format=3)

    ds = validate_dataset(ZarrAdapter(path=str(store)).open())

    assert ds["thetao"].dims == ("time", "depth", "y", "x")


def test_variables_selects_what_is_kept(tmp_path):
    path = write_netcdf(synthetic.regular(), tmp_path / "one.nc")

    ds = NetCDFAdapter(path=path, variables=["zos"]).open()

    assert list(ds.data_vars) == ["zos"]
