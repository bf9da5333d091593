"""Searching the Copernicus Marine catalogue: the real toolbox's ``describe()`` reads a small
catalogue served on 127.0.0.1 (``COPERNICUSMARINE_CONFIG_URL``), cached on disk for a TTL."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from tests.stac_servers import serve_files

PHY = "GLOBAL_ANALYSISFORECAST_PHY_001_024"
BGC = "MEDSEA_MULTIYEAR_BGC_006_008"
THETAO_ID = "cmems_mod_glo_phy-thetao_anfc_0.083deg_P1D-m"
CHL_ID = "med-ogs-bio-rean-d"
DAY_MS = 86_400_000


def _product(pid: str, title: str, producer: str, datasets: list[str]) -> dict:
    return {
        "type": "Collection",
        "stac_version": "1.0.0",
        "id": pid,
        "title": title,
        "description": f"{title}.",
        "license": "proprietary",
        "keywords": ["oceanography"],
        "providers": [{"name": producer, "roles": ["producer"]}],
        "extent": {
            "spatial": {"bbox": [[-180, -90, 180, 90]]},
            "temporal": {"interval": [["2020-01-01T00:00:00Z", None]]},
        },
        "links": [{"rel": "item", "href": f"{d}/dataset.stac.json"} for d in datasets],
    }


def _dataset(full_id: str, var: str, standard: str, bbox: list[float], days: tuple) -> dict:
    west, south, east, north = bbox
    view = {
        "time": {
            "coords": {"min": days[0] * DAY_MS, "max": days[1] * DAY_MS, "step": DAY_MS},
            "units": "milliseconds since 1970-01-01 00:00:00Z",
        },
        "latitude": {"coords": {"min": south, "max": north, "step": 1}, "units": "degrees_north"},
        "longitude": {"coords": {"min": west, "max": east, "step": 1}, "units": "degrees_east"},
    }
    asset = {"type": "application/vnd+zarr", "roles": ["data"], "viewDims": view}
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": full_id,
        "bbox": bbox,
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [[west, south], [east, south], [east, north], [west, north], [west, south]]
            ],
        },
        "properties": {
            "title": f"daily {var}",
            "datetime": None,
            "start_datetime": "2020-01-01T00:00:00Z",
            "end_datetime": "2030-01-01T00:00:00Z",
            "cube:dimensions": {
                "time": {"type": "temporal"},
                "latitude": {"type": "spatial", "axis": "y"},
                "longitude": {"type": "spatial", "axis": "x"},
            },
            "cube:variables": {
                var: {
                    "id": var,
                    "standardName": standard,
                    "unit": "x",
                    "dimensions": ["time", "latitude", "longitude"],
                }
            },
        },
        "links": [],
        "assets": {
            "timeChunked": {**asset, "href": f"http://127.0.0.1:9/arco/{full_id}/geo.zarr"},
            "geoChunked": {**asset, "href": f"http://127.0.0.1:9/arco/{full_id}/ts.zarr"},
        },
    }


def write_catalogue(root: pathlib.Path, url: str) -> str:
    """A two-product Copernicus Marine catalogue under ``root``; returns the config's URL."""
    meta = root / "metadata"
    docs = {
        "clientsConfigV1.json": {
            "clientVersions": {
                k: ">=1.0.0"
                for k in (
                    "mds",
                    "mds/serverlessArco",
                    "mds/serverlessArco/meta",
                    "mds/serverlessNative",
                )
            },
            "catalogues": [
                {
                    "stac": f"{url}/metadata/catalog.stac.json",
                    "idMapping": f"{url}/metadata/dataset_product_id_mapping.json",
                    "stacRoot": f"{url}/metadata/",
                }
            ],
        },
        "metadata/catalog.stac.json": {
            "type": "Catalog",
            "stac_version": "1.0.0",
            "id": "copernicus-marine",
            "description": "test catalogue",
            "links": [{"rel": "child", "href": f"{p}/product.stac.json"} for p in (PHY, BGC)],
        },
        "metadata/dataset_product_id_mapping.json": {THETAO_ID: PHY, CHL_ID: BGC},
        f"metadata/{PHY}/product.stac.json": _product(
            PHY,
            "Global Ocean Physics Analysis and Forecast",
            "Mercator Ocean",
            [f"{THETAO_ID}_202406"],
        ),
        f"metadata/{BGC}/product.stac.json": _product(
            BGC, "Mediterranean Sea Biogeochemistry Reanalysis", "OGS", [f"{CHL_ID}_202105"]
        ),
        f"metadata/{PHY}/{THETAO_ID}_202406/dataset.stac.json": _dataset(
            f"{THETAO_ID}_202406",
            "thetao",
            "sea_water_potential_temperature",
            [-180, -80, 179.92, 90],
            (20089, 20454),  # 2025-01-01 .. 2026-01-01
        ),
        f"metadata/{BGC}/{CHL_ID}_202105/dataset.stac.json": _dataset(
            f"{CHL_ID}_202105",
            "chl",
            "mass_concentration_of_chlorophyll_a_in_sea_water",
            [-6, 30, 36.5, 46],
            (7305, 19723),  # 1990-01-01 .. 2023-12-31
        ),
    }
    for name, doc in docs.items():
        path = meta.parent / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc))
    return f"{url}/clientsConfigV1.json"


@pytest.fixture
def marine(tmp_path):
    (tmp_path / "www").mkdir()
    with serve_files(tmp_path / "www") as server:
        config = write_catalogue(tmp_path / "www", server.url)
        env = {
            **os.environ,
            "COPERNICUSMARINE_CONFIG_URL": config,
            "OCEAN_EXPLORER_CACHE": str(tmp_path / "cache"),
            "COPERNICUSMARINE_HTTPS_RETRIES": "0",
        }
        yield server, env


def search(env: dict, *args: str, ttl: str = "3600") -> list[dict]:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "search", "--cmems", "--json", *args],
        env={**env, "OCEAN_EXPLORER_CMEMS_TTL": ttl},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_describe_is_searched_and_its_hits_open_as_cmems_sources(marine):
    _, env = marine
    (hit,) = search(env, "potential temperature")
    assert hit["id"] == THETAO_ID and hit["source"] == f"cmems:{THETAO_ID}"
    assert hit["variables"] == [
        {"name": "thetao", "standard_name": "sea_water_potential_temperature"}
    ]
    assert hit["provider"] == "Mercator Ocean" and hit["collection"] == PHY
    assert hit["time_range"] == ["2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z"]
    assert hit["bbox"] == [-180, -80, 179.92, 90]
    med = search(env, "--bbox", "10,35,20,40", "--start", "2000-01-01", "--end", "2001-01-01")
    assert [h["id"] for h in med] == [CHL_ID]
    assert [h["id"] for h in search(env, "chlorophyll")] == [CHL_ID]


def test_the_catalogue_is_read_once_within_the_ttl_and_again_after_it(marine):
    server, env = marine
    assert len(search(env)) == 2
    first = server.count(r"dataset\.stac\.json")
    assert first == 2 and server.count(r"clientsConfigV1") == 1
    assert len(search(env, "temperature")) == 1  # within the TTL: from the disk cache
    assert server.count(r"dataset\.stac\.json") == first
    assert server.count() == first + 4  # config, catalog, two products: nothing more
    assert len(search(env, "temperature", ttl="0")) == 1  # TTL over: walked again
    assert server.count(r"dataset\.stac\.json") == 2 * first
