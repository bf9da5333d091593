"""The Copernicus Marine adapter, with stand-ins for the toolbox.

The real ``copernicusmarine.open_dataset`` needs the network and an account, so these tests
replace the class attribute ``CopernicusMarineAdapter.opener`` (monkeypatch) with fakes that
behave as the toolbox does: a lazy dataset with CMEMS names (latitude/longitude/depth/time),
None when there are no credentials, its own exception classes, or a call that never
returns. The one test against the real service is marked ``live`` and skips unless
COPERNICUSMARINE_SERVICE_USERNAME is set and the toolbox imports.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from typing import Any

import numpy as np
import pytest
import xarray as xr

from data_adapters import (
    Catalog,
    SourceError,
    adapter_for_uri,
    open_source,
    validate_dataset,
)
from data_adapters.cmems import CopernicusMarineAdapter
from tests import synthetic

DATASET_ID = "cmems_mod_glo_phy-thetao_anfc_0.083deg_P1D-m"


def cmems_dataset() -> xr.Dataset:
    """What the toolbox returns: lazy, CMEMS names, longitudes 0-360 (some products)."""
    ds = synthetic.latitude_longitude_names()
    ds = ds.assign_coords(longitude=ds["longitude"] % 360.0).sortby("longitude")
    return ds.chunk()


@pytest.fixture
def toolbox(monkeypatch) -> list[dict[str, Any]]:
    """A stand-in toolbox that serves :func:`cmems_dataset`; returns the calls' arguments."""
    calls: list[dict[str, Any]] = []

    def open_dataset(**kwargs: Any) -> xr.Dataset:
        calls.append(kwargs)
        ds = cmems_dataset()
        return ds[kwargs["variables"]] if "variables" in kwargs else ds

    monkeypatch.setattr(CopernicusMarineAdapter, "opener", staticmethod(open_dataset))
    return calls


def use_opener(monkeypatch, opener) -> None:
    monkeypatch.setattr(CopernicusMarineAdapter, "opener", staticmethod(opener))


def test_passes_the_dataset_choices_to_the_toolbox(toolbox):
    adapter = CopernicusMarineAdapter(
        dataset_id=DATASET_ID,
        dataset_version="202406",
        service="arco-geo-series",
        variables=["thetao"],
    )
    ds = adapter.open()
    assert toolbox == [
        {
            "dataset_id": DATASET_ID,
            "dataset_version": "202406",
            "service": "arco-geo-series",
            "variables": ["thetao"],
        }
    ]
    assert list(ds.data_vars) == ["thetao"]


def test_leaves_unset_choices_to_the_toolbox(toolbox):
    CopernicusMarineAdapter(dataset_id=DATASET_ID).open()
    assert toolbox == [{"dataset_id": DATASET_ID}]  # the toolbox picks version and service


def test_returns_a_lazy_dataset_on_the_contract(toolbox):
    ds = validate_dataset(CopernicusMarineAdapter(dataset_id=DATASET_ID).open())
    assert {"lon", "lat", "depth", "time"} <= set(ds.dims)
    assert "longitude" not in ds.variables and "latitude" not in ds.variables
    lon = ds["lon"].values
    assert lon.min() >= -180.0 and lon.max() < 180.0 and (np.diff(lon) > 0).all()
    assert ds["thetao"].chunks is not None  # still lazy
    # the value the toolbox served at 355°E 15°N is found at 5°W 15°N
    value = ds["thetao"].isel(time=0, depth=0).sel(lon=-5.0, lat=15.0)
    assert float(value) == pytest.approx(synthetic.marker(355.0, 15.0))
    assert ds["thetao"].attrs["units"] == "degC"


def test_a_catalog_entry_passes_its_keys(toolbox):
    catalog = Catalog.from_dict(
        {
            "datasets": [
                {
                    "id": "glo-thetao",
                    "title": "Global ocean temperature",
                    "adapter": "cmems",
                    "dataset_id": DATASET_ID,
                    "service": "arco-time-series",
                    "timeout": 5,
                }
            ]
        }
    )
    opened = open_source("glo-thetao", catalog)
    assert opened.title == "Global ocean temperature"
    assert "thetao" in opened.dataset
    assert toolbox == [{"dataset_id": DATASET_ID, "service": "arco-time-series"}]


def test_a_misspelt_service_is_refused_by_name():
    with pytest.raises(SourceError, match="service"):
        Catalog.from_dict(
            {
                "datasets": [
                    {"id": "x", "adapter": "cmems", "dataset_id": DATASET_ID, "service": "geo"}
                ]
            }
        ).open("x")


def test_cmems_uri_resolves_to_the_adapter(toolbox):
    adapter = adapter_for_uri(f"cmems:{DATASET_ID}")
    assert isinstance(adapter, CopernicusMarineAdapter)
    assert adapter.dataset_id == DATASET_ID
    opened = open_source(f"cmems:{DATASET_ID}")
    assert opened.id == f"cmems:{DATASET_ID}"
    assert validate_dataset(opened.dataset)["thetao"].dims[-2:] == ("lat", "lon")
    assert toolbox[-1] == {"dataset_id": DATASET_ID}


def test_cmems_uri_without_an_id_says_how(toolbox):
    with pytest.raises(SourceError, match="use cmems:DATASET_ID"):
        open_source("cmems:")
    assert toolbox == []


def test_no_credentials_names_the_login(monkeypatch):
    # without credentials and without a terminal the toolbox returns None
    use_opener(monkeypatch, lambda **kwargs: None)
    with pytest.raises(SourceError) as info:
        CopernicusMarineAdapter(dataset_id=DATASET_ID).open()
    message = str(info.value)
    assert message.startswith(f"cmems:{DATASET_ID}: no Copernicus Marine credentials")
    assert "copernicusmarine login" in message
    assert "COPERNICUSMARINE_SERVICE_USERNAME" in message


@pytest.mark.parametrize(
    ("exception", "fix"),
    [
        ("InvalidUsernameOrPassword", "copernicusmarine login"),
        ("DatasetNotFound", "check the dataset id in the Copernicus Marine catalogue"),
        ("VariableDoesNotExistInTheDataset", "check 'variables'"),
        ("ServiceNotAvailable", "leave 'service' out"),
        ("SomethingNew", "check the dataset id, the network and credentials"),
    ],
)
def test_toolbox_errors_become_one_line_with_the_fix(monkeypatch, exception, fix):
    toolbox_error = type(exception, (Exception,), {})

    def refuse(**kwargs: Any) -> None:
        raise toolbox_error(f"{exception} for {kwargs['dataset_id']}\n  details: line two")

    use_opener(monkeypatch, refuse)
    with pytest.raises(SourceError) as info:
        CopernicusMarineAdapter(dataset_id=DATASET_ID).open()
    message = str(info.value)
    assert "\n" not in message and "line two" not in message
    assert message.startswith(f"cmems:{DATASET_ID}: Copernicus Marine refused ({exception} for")
    assert fix in message.rpartition("); ")[2]  # after the toolbox's reason


def test_a_toolbox_that_returns_no_dataset_is_an_error(monkeypatch):
    use_opener(monkeypatch, lambda **kwargs: "a response")
    with pytest.raises(SourceError, match="returned str, not a dataset"):
        CopernicusMarineAdapter(dataset_id=DATASET_ID).open()


def test_a_silent_service_times_out_promptly(monkeypatch):
    released = threading.Event()
    started = threading.Event()

    def never_answers(**kwargs: Any) -> xr.Dataset:
        started.set()
        released.wait()  # until the test ends: the toolbox retrying with no network
        return cmems_dataset()

    use_opener(monkeypatch, never_answers)
    adapter = CopernicusMarineAdapter(dataset_id=DATASET_ID, timeout=0.5)
    try:
        begin = time.monotonic()
        with pytest.raises(SourceError) as info:
            adapter.open()
        waited = time.monotonic() - begin
        assert started.is_set()
        assert 0.5 <= waited < 3.0
        assert str(info.value) == (
            f"cmems:{DATASET_ID}: Copernicus Marine did not answer within 0.5 s; "
            "check the network or raise 'timeout'"
        )
    finally:
        released.set()


def test_an_answer_within_the_timeout_is_used(monkeypatch):
    answered = threading.Event()

    def answers(**kwargs: Any) -> xr.Dataset:
        answered.set()
        return cmems_dataset()

    use_opener(monkeypatch, answers)
    ds = CopernicusMarineAdapter(dataset_id=DATASET_ID, timeout=5).open()
    assert answered.is_set() and "thetao" in ds


def test_without_the_toolbox_installed_says_which_extra(monkeypatch):
    from data_adapters import cmems

    use_opener(monkeypatch, cmems._toolbox_open_dataset)  # the real opener
    monkeypatch.setitem(sys.modules, "copernicusmarine", None)  # import fails, as uninstalled
    monkeypatch.delenv("COPERNICUSMARINE_HTTPS_RETRIES", raising=False)
    with pytest.raises(SourceError, match=re.escape("pip install 'ocean-explorer[cmems]'")):
        CopernicusMarineAdapter(dataset_id=DATASET_ID).open()
    # and when it is there, it fails fast instead of retrying for 90 s with no network
    assert os.environ["COPERNICUSMARINE_HTTPS_RETRIES"] == "0"


@pytest.mark.live
def test_live_copernicus_marine_dataset():
    if not os.environ.get("COPERNICUSMARINE_SERVICE_USERNAME"):
        pytest.skip("set COPERNICUSMARINE_SERVICE_USERNAME/PASSWORD to run against the service")
    pytest.importorskip("copernicusmarine")
    adapter = CopernicusMarineAdapter(
        dataset_id=DATASET_ID, service="arco-geo-series", variables=["thetao"], timeout=120
    )
    ds = validate_dataset(adapter.open())
    assert {"time", "depth", "lat", "lon"} <= set(ds["thetao"].dims)
    assert ds["thetao"].attrs["units"]
    surface = ds["thetao"].isel(time=-1, depth=0).sel(lon=-30.0, lat=40.0, method="nearest")
    assert 5.0 < float(surface) < 35.0  # the mid-Atlantic, in °C
