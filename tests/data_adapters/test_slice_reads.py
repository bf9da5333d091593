"""A selection of a selection reads only the cells asked for (``data_adapters.slice_reads``):
a run and depth, then a band of rows or a window, of the demo ocean and of a NetCDF file
(importing ``data_adapters`` installs it, as any use of the adapters does)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from data_adapters import make_adapter
from data_adapters.demo import DemoArray, build_demo_ocean


@pytest.fixture
def asked(monkeypatch) -> list[tuple]:
    """The indices each demo read asks the demo ocean to compute."""
    calls: list[tuple] = []
    compute = DemoArray.__getitem__

    def spy(self, key):
        calls.append(key)
        return compute(self, key)

    monkeypatch.setattr(DemoArray, "__getitem__", spy)
    return calls


def test_a_band_of_rows_of_one_run_and_depth_computes_only_the_band(asked):
    ds = build_demo_ocean(1.0, pd.Timestamp("2020-01-01"), 40, ("baseline", "heatwave"), True)
    run = ds["thetao"].isel(scenario=1, depth=0)  # whole chunks: dask aliases them
    band = run.isel(time=[3, 4, 20], lat=slice(100, 118)).values
    # each step's chunk computed the 18 rows of the band, not the 180 of the map
    assert len(asked) == 3
    assert all(key[3] == slice(100, 118) for key in asked), asked
    asked.clear()
    whole = run.isel(time=[3, 4, 20]).values
    np.testing.assert_array_equal(band, whole[:, 100:118])
    assert all(key[3] == slice(0, 180) for key in asked)


def test_a_window_of_a_netcdf_map_reads_only_the_window(tmp_path, monkeypatch):
    from xarray.backends import netCDF4_

    read: list[tuple] = []  # the indices asked of the file
    get = netCDF4_.NetCDF4ArrayWrapper._getitem
    monkeypatch.setattr(
        netCDF4_.NetCDF4ArrayWrapper,
        "_getitem",
        lambda self, key: read.append(key) or get(self, key),
    )
    values = np.random.default_rng(0).normal(size=(4, 2, 60, 120)).astype("float32")
    xr.Dataset(
        {"thetao": (("time", "depth", "lat", "lon"), values)},
        coords={
            "time": pd.date_range("2020-01-01", periods=4),
            "depth": [0.5, 10.0],
            "lat": np.linspace(-89.25, 89.25, 60),
            "lon": np.linspace(-178.5, 178.5, 120),
        },
    ).to_netcdf(tmp_path / "m.nc", encoding={"thetao": {"chunksizes": (1, 1, 60, 120)}})
    ds = make_adapter("netcdf", {"path": str(tmp_path / "m.nc"), "engine": "netcdf4"}).open()
    # a map's step and depth, then the window of a zoomed view (as the map reads it)
    window = ds["thetao"].isel(time=2, depth=1).isel(lat=slice(10, 20), lon=slice(5, 50))
    np.testing.assert_array_equal(window.values, values[2, 1, 10:20, 5:50])
    # the variable's one read: the window, not the whole 60 x 120 map
    assert [key for key in read if len(key) == 4] == [(2, 1, slice(10, 20, 1), slice(5, 50, 1))]


def test_a_read_of_one_map_culls_without_listing_every_chunk(monkeypatch, tmp_path):
    # dask lists every chunk of every layer to cull a graph with a bare source in it (as
    # from_array leaves the demo's array, or a file's variable): 0.2 s a read of the
    # 482,000 chunks of the demo with a past. The source is data instead, so a read of one
    # map culls to the chunks it asks for.
    from dask.highlevelgraph import HighLevelGraph

    listed: list[int] = []
    every = HighLevelGraph.get_all_external_keys
    monkeypatch.setattr(
        HighLevelGraph,
        "get_all_external_keys",
        lambda self: listed.append(len(self.layers)) or every(self),
    )
    ds = build_demo_ocean(1.0, pd.Timestamp("2020-01-01"), 400, ("baseline", "heatwave"), True)
    xr.Dataset({"sst": ds["thetao"].isel(depth=0).isel(time=slice(0, 30))}).to_netcdf(
        tmp_path / "sst.nc", encoding={"sst": {"chunksizes": (1, 1, 180, 360)}}
    )
    nc = make_adapter("netcdf", {"path": str(tmp_path / "sst.nc"), "engine": "netcdf4"}).open()
    demo_map = ds["thetao"].isel(scenario=1, time=390, depth=0).values
    one = ds["thetao"].isel(scenario=1, time=390, depth=0)
    # a window across the antimeridian: two pieces joined (dask's concatenate)
    across = xr.concat([one.isel(lon=slice(300, 360)), one.isel(lon=slice(0, 60))], "lon")
    np.testing.assert_array_equal(across.values[:, 60:], demo_map[:, :60])
    file_map = nc["sst"].isel(scenario=1, time=20).squeeze().values
    assert listed == []
    assert demo_map.shape == file_map.shape == (180, 360) and np.isfinite(demo_map).any()
    # the file holds the demo's values: the same map read both ways
    np.testing.assert_array_equal(file_map, ds["thetao"].isel(scenario=1, time=20, depth=0))
