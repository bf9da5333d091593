"""Remote adapters against real servers the tests start on 127.0.0.1 (no network needed).

- OPeNDAP: xpublish + xpublish-opendap on uvicorn (``tests/servers.py``) serves a model-style
  dataset with the usual quirks; what the adapter returns must honour the data contract and
  hold the same numbers at the same place on Earth.
- Bad remote input (refused, silent, stalling, 404, an HTML page) must give one-line
  ``SourceError`` messages naming the URL, within a bounded time.
- Zarr over HTTP: a plain ``http.server`` over a directory holding v2 and v3 stores.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

import dask.array
import numpy as np
import pytest
import requests
import xarray as xr

from data_adapters import SourceError, adapter_for_uri, open_source, validate_dataset
from data_adapters.opendap import OpendapAdapter
from data_adapters.zarr_store import ZarrAdapter
from tests.servers import (
    OpendapServer,
    refused_port,
    serve_directory,
    serve_html,
    serve_stalling,
    silent_server,
)

#: A correctness bound for "fails instead of hanging", not a performance target.
HANG_BOUND_S = 10.0


def raises_source_error(open_: Callable[[], object], url: str) -> str:
    """Run ``open_``; return its SourceError message after checking it is one line naming
    ``url``. Fails when nothing is raised, or the call takes longer than ``HANG_BOUND_S``.
    """
    start = time.monotonic()
    with pytest.raises(SourceError) as info:
        open_()
    elapsed = time.monotonic() - start
    message = str(info.value)
    assert elapsed < HANG_BOUND_S, f"took {elapsed:.1f} s to fail: {message}"
    assert "\n" not in message
    assert url in message
    return message


# -- OPeNDAP: the round trip ----------------------------------------------------------------
OPENERS = {
    "OpendapAdapter": lambda url: OpendapAdapter(url=url).open(),
    "adapter_for_uri": lambda url: adapter_for_uri(url).open(),
    "open_source": lambda url: open_source(url).dataset,
}


@pytest.mark.slow
@pytest.mark.parametrize("how", list(OPENERS))
def test_opendap_dataset_arrives_on_the_contract(opendap_server: OpendapServer, how: str) -> None:
    ds = OPENERS[how](opendap_server.url)
    validate_dataset(ds)

    lon, lat = ds["lon"].values, ds["lat"].values
    assert lon.min() >= -180 and lon.max() < 180
    assert (np.diff(lon) > 0).all(), "lon must be ascending after wrapping 0..360"
    assert (np.diff(lat) > 0).all(), "lat must be ascending (the server's is descending)"
    assert lon.size == opendap_server.source.sizes["longitude"]
    assert list(ds["depth"].values) == [0.5, 10.0, 100.0]
    assert ds["depth"].attrs["units"] == "m"
    expected_times = np.array(
        ["2000-01-01T12", "2000-01-02T12", "2000-01-03T12", "2000-01-04T12"],
        dtype="datetime64[ns]",
    )
    np.testing.assert_array_equal(ds["time"].values, expected_times)
    assert ds["thetao"].attrs["units"] == "degrees_C"
    assert ds["thetao"].attrs["long_name"] == "Sea water potential temperature"
    assert ds.attrs["title"] == "Quirky model output"
    for name, var in ds.data_vars.items():
        assert isinstance(var.data, dask.array.Array), f"{name} was read eagerly"


@pytest.mark.slow
def test_opendap_values_are_the_servers_at_the_same_place(opendap_server: OpendapServer) -> None:
    ds = OpendapAdapter(url=opendap_server.url).open()
    raw = opendap_server.source  # as served: lon 0..360, lat descending, time in days

    # 90°W, 20°S, 10 m, 2000-01-03T12:00 is stored at longitude 270 and time 2.5 days.
    got = ds["thetao"].sel(time="2000-01-03T12:00", depth=10.0, lat=-20.0, lon=-90.0)
    want = raw["thetao"].sel(time=2.5, depth=10.0, latitude=-20.0, longitude=270.0)
    assert float(got) == float(want) == pytest.approx(20 - 1 - 0.2 + 0.27 + 0.025, abs=1e-5)

    # Every cell: the served grid, wrapped and flipped by hand, equals what the adapter gives.
    by_hand = raw.assign_coords(longitude=(raw["longitude"] + 180) % 360 - 180)
    by_hand = by_hand.sortby("longitude").sortby("latitude")
    for name in ("thetao", "so"):
        served = by_hand[name].values
        expected = np.where(served == raw[name].attrs["_FillValue"], np.nan, served)
        np.testing.assert_array_equal(ds[name].values, expected)


@pytest.mark.slow
def test_opendap_fill_values_become_nan(opendap_server: OpendapServer) -> None:
    ds = OpendapAdapter(url=opendap_server.url).open()
    land = ds["thetao"].sel(lat=40.0, lon=[60.0, 90.0])
    assert bool(land.isnull().all()), "the server's _FillValue cells must be NaN (land)"
    fill = float(opendap_server.source["thetao"].attrs["_FillValue"])
    assert not bool((ds["thetao"] == fill).any()), "a raw fill value leaked through"
    n_filled = int((opendap_server.source["thetao"].values == fill).sum())
    assert int(ds["thetao"].isnull().sum()) == n_filled
    assert float(ds["thetao"].min()) > 0  # nothing like -999 °C anywhere


@pytest.mark.slow
def test_opendap_url_with_a_dap_suffix_still_opens(opendap_server: OpendapServer) -> None:
    # Users paste the URL of the server's HTML form or of the .dds document.
    for suffix in (".html", ".dds"):
        ds = adapter_for_uri(opendap_server.url + suffix).open()
        assert set(ds.data_vars) == {"thetao", "so"}


# -- OPeNDAP: bad remote input --------------------------------------------------------------
@pytest.mark.slow
def test_connection_refused_is_a_one_line_error_naming_the_url() -> None:
    with refused_port() as port:
        url = f"http://127.0.0.1:{port}/thredds/dodsC/model.nc"
        message = raises_source_error(lambda: OpendapAdapter(url=url).open(), url)
    assert "refused" in message


@pytest.mark.slow
def test_silent_server_fails_within_the_timeout() -> None:
    with silent_server() as port:
        url = f"http://127.0.0.1:{port}/thredds/dodsC/model.nc"
        message = raises_source_error(lambda: OpendapAdapter(url=url, timeout=1.0).open(), url)
    assert "no answer within 1 s" in message


@pytest.mark.slow
def test_server_that_stalls_after_describing_the_dataset_fails_in_bounded_time(
    opendap_server: OpendapServer,
) -> None:
    # An overloaded server: it sends the dataset's description, then never sends any data.
    path = f"/datasets/{opendap_server.dataset_id}/opendap"
    answers = {
        path + doc: requests.get(opendap_server.url + doc, timeout=10).content
        for doc in (".dds", ".das")
    }
    with serve_stalling(answers) as base:
        url = base + path
        message = raises_source_error(lambda: OpendapAdapter(url=url, timeout=1.0).open(), url)
    assert "stopped answering" in message


@pytest.mark.slow
def test_http_404_names_the_url_and_the_status(opendap_server: OpendapServer) -> None:
    url = f"{opendap_server.base}/datasets/no-such-dataset/opendap"
    message = raises_source_error(lambda: adapter_for_uri(url).open(), url)
    assert "HTTP 404" in message


@pytest.mark.slow
def test_html_page_instead_of_opendap_is_refused() -> None:
    with serve_html() as base:
        url = f"{base}/thredds/catalog/model.html"
        message = raises_source_error(lambda: adapter_for_uri(url).open(), url)
    assert "OPeNDAP" in message


@pytest.mark.slow
def test_password_in_the_url_is_not_shown_in_messages() -> None:
    with refused_port() as port:
        url = f"http://alice:s3cret@127.0.0.1:{port}/dodsC/model.nc"
        shown = f"http://alice:***@127.0.0.1:{port}/dodsC/model.nc"
        message = raises_source_error(lambda: adapter_for_uri(url).open(), shown)
    assert "s3cret" not in message


# -- Zarr over HTTP -------------------------------------------------------------------------
def small_grid() -> xr.Dataset:
    """Contract-shaped synthetic data with a NaN land cell, as a Zarr store would hold it."""
    time_ = np.array(["2021-06-01", "2021-06-02", "2021-06-03"], dtype="datetime64[ns]")
    depth = np.array([0.0, 25.0])
    lat = np.arange(-45.0, 46.0, 15.0)
    lon = np.arange(-180.0, 180.0, 40.0)
    rng = np.random.default_rng(42)
    sst = rng.normal(15.0, 5.0, (time_.size, depth.size, lat.size, lon.size)).astype("float32")
    sst[:, :, 3, 4] = np.nan  # land
    return xr.Dataset(
        {
            "sst": (
                ("time", "depth", "lat", "lon"),
                sst,
                {"units": "degC", "long_name": "sea temperature"},
            )
        },
        coords={
            "time": time_,
            "depth": ("depth", depth, {"units": "m", "positive": "down"}),
            "lat": ("lat", lat, {"units": "degrees_north", "standard_name": "latitude"}),
            "lon": ("lon", lon, {"units": "degrees_east", "standard_name": "longitude"}),
        },
    )


ZARR_LAYOUTS = {
    "v2-consolidated": {"zarr_format": 2, "consolidated": True},
    "v3": {"zarr_format": 3, "consolidated": False},
    "v3-consolidated": {"zarr_format": 3, "consolidated": True},
}


@pytest.mark.slow
@pytest.mark.parametrize("layout", list(ZARR_LAYOUTS))
def test_zarr_over_http_round_trips(tmp_path, layout: str) -> None:
    source = small_grid()
    with warnings.catch_warnings():
        # zarr 3 warns that consolidated metadata is not in the v3 spec; it still works.
        warnings.filterwarnings("ignore", "Consolidated metadata", UserWarning)
        source.to_zarr(tmp_path / "store.zarr", mode="w", **ZARR_LAYOUTS[layout])

    with serve_directory(tmp_path) as base:
        url = f"{base}/store.zarr"
        adapter = adapter_for_uri(url)
        assert isinstance(adapter, ZarrAdapter)
        ds = adapter.open()
        validate_dataset(ds)
        assert isinstance(ds["sst"].data, dask.array.Array)
        np.testing.assert_array_equal(ds["time"].values, source["time"].values)
        np.testing.assert_array_equal(ds["lat"].values, source["lat"].values)
        np.testing.assert_array_equal(ds["sst"].values, source["sst"].values)  # NaN too
        assert ds["sst"].attrs["units"] == "degC"


@pytest.mark.slow
def test_zarr_url_with_nothing_listening_is_a_source_error() -> None:
    with refused_port() as port:
        url = f"http://127.0.0.1:{port}/store.zarr"
        message = raises_source_error(lambda: adapter_for_uri(url).open(), url)
    assert "refused" in message


@pytest.mark.slow
def test_zarr_url_that_is_not_a_store_names_the_url(tmp_path) -> None:
    (tmp_path / "empty.zarr").mkdir()
    with serve_directory(tmp_path) as base:
        url = f"{base}/empty.zarr"
        message = raises_source_error(lambda: adapter_for_uri(url).open(), url)
    assert "404" in message
