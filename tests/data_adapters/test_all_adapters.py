"""One contract test over every registered adapter type (DESIGN.md §2, §7).

Each adapter opens a small source of its own kind; what comes out must honour the data
contract. Registering an adapter without adding a case here fails this test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import xarray as xr

from data_adapters import Adapter, make_adapter, registered_adapters, summarize, validate_dataset
from data_adapters.cmems import CopernicusMarineAdapter
from tests import synthetic
from tests.synthetic import write_netcdf

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

#: The Copernicus Marine dataset id the stand-in toolbox serves.
CMEMS_DATASET_ID = "cmems_mod_glo_phy-thetao_anfc_0.083deg_P1D-m"


@pytest.fixture
def cmems_stub(monkeypatch) -> str:
    """A stand-in for ``copernicusmarine.open_dataset``; returns the dataset id it serves.

    Like the toolbox it returns a lazy dataset with ``latitude``/``longitude`` names and
    honours ``variables``; other ids fail as the toolbox does.
    """

    def open_dataset(dataset_id: str, variables: list[str] | None = None, **_: Any) -> xr.Dataset:
        if dataset_id != CMEMS_DATASET_ID:
            raise ValueError(f"Dataset {dataset_id} not found")
        ds = synthetic.latitude_longitude_names().chunk()
        return ds[variables] if variables else ds

    monkeypatch.setattr(CopernicusMarineAdapter, "opener", staticmethod(open_dataset))
    return CMEMS_DATASET_ID


def _demo(request, tmp_path) -> Adapter:
    return make_adapter("demo", {"resolution": 1.0, "days": 3})


def _netcdf(request, tmp_path) -> Adapter:
    path = write_netcdf(synthetic.lon_0_360(), tmp_path / "ocean.nc")
    return make_adapter("netcdf", {"path": path})


def _zarr(request, tmp_path) -> Adapter:
    store = tmp_path / "ocean.zarr"
    synthetic.lat_descending().to_zarr(store, zarr_format=3)
    return make_adapter("zarr", {"path": str(store)})


def _opendap(request, tmp_path) -> Adapter:
    # the real OPeNDAP server of tests/servers.py (session fixture in conftest.py)
    return make_adapter("opendap", {"url": request.getfixturevalue("opendap_server").url})


def _cmems(request, tmp_path) -> Adapter:
    return make_adapter("cmems", {"dataset_id": request.getfixturevalue("cmems_stub")})


def _stac(request, tmp_path) -> Adapter:
    # an EDITO-shaped item of a static catalog (the STAC API case: test_stac.py)
    from tests.stac_servers import GLOBAL_THETAO, THETAO_COLLECTION, write_static_catalog

    catalog = write_static_catalog(tmp_path, str(tmp_path))
    params = {"url": str(catalog), "collections": [THETAO_COLLECTION], "item": GLOBAL_THETAO}
    return make_adapter("stac", params)


#: Adapter type -> a function (request, tmp_path) -> an adapter on a small source of its kind.
CASES: dict[str, Callable[[pytest.FixtureRequest, Any], Adapter]] = {
    "demo": _demo,
    "netcdf": _netcdf,
    "zarr": _zarr,
    "opendap": _opendap,
    "cmems": _cmems,
    "stac": _stac,
}


@pytest.mark.parametrize("adapter_type", sorted(set(registered_adapters()) | set(CASES)))
def test_adapter_output_honours_the_contract(adapter_type, request, tmp_path):
    assert set(CASES) == set(registered_adapters()), (
        "every registered adapter needs a case in CASES (and every case an adapter)"
    )
    adapter = CASES[adapter_type](request, tmp_path)
    assert adapter.adapter_type == adapter_type

    ds = validate_dataset(adapter.open())

    for name, da in ds.data_vars.items():
        assert da.attrs.get("units") and da.attrs.get("long_name"), name
        assert da.chunks is not None, f"{name} is not lazy"
    summary = summarize(ds, adapter_type)
    assert set(summary) == SUMMARY_KEYS
    assert summary["variables"] and summary["grid"] in ("regular", "curvilinear")
    west, south, east, north = summary["bbox"]
    assert min(west, east) >= -180 and max(west, east) < 180 and -90 <= south < north <= 90
