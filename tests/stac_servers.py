"""A real STAC API for tests: ``rustac serve`` on 127.0.0.1 over an EDITO-shaped data lake.

EDITO's data lake (``https://api.dive.edito.eu/data/``) has one collection per CF standard
name (``climate_forecast-sea_water_potential_temperature``), one item per dataset variable,
and assets keyed ``arco-geo-series`` / ``arco-time-series`` (Zarr stores, hrefs without a
``.zarr``), ``wmts`` and sometimes ``netcdf``. :func:`write_lake` writes such a lake in a
directory: the data files and the STAC JSON documents, whose asset hrefs point at
``data_url`` (a plain HTTP server over the same directory). :func:`rustac_server` serves the
collections and items as a STAC API (item search included); :func:`write_static_catalog`
writes the same items as a static catalog with pystac.
"""

from __future__ import annotations

import collections
import contextlib
import http.server
import io
import json
import os
import pathlib
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pystac

from tests import synthetic
from tests.servers import HOST, wait_until

#: Collection ids of the lake (EDITO's names: ``climate_forecast-<CF standard name>``).
THETAO_COLLECTION = "climate_forecast-sea_water_potential_temperature"
ZOS_COLLECTION = "climate_forecast-sea_surface_height_above_geoid"
#: Items: a global temperature (Zarr, both layouts), a North Sea one of 2020 (to be filtered
#: out by box and time), and a sea level as a NetCDF file.
GLOBAL_THETAO, NORTH_SEA_THETAO, GLOBAL_ZOS = "glo-thetao", "nws-thetao-2020", "glo-zos"
ZARR_TYPE = "application/vnd+zarr"  # EDITO's spelling (xpystac knows only two others)
NETCDF_TYPE = "application/x-netcdf"
RUSTAC = pathlib.Path(sys.executable).with_name("rustac")


def write_data(directory: pathlib.Path) -> dict[str, str]:
    """The data files of the lake; name -> path below ``directory``."""
    data = directory / "data"
    data.mkdir(parents=True, exist_ok=True)
    ds = synthetic.regular(times=4)
    # hrefs without '.zarr', as many of EDITO's: found by key and media type only
    ds.chunk({"time": 1}).to_zarr(data / "thetao-geo", zarr_format=3, consolidated=False, mode="w")
    ds.chunk({"time": -1, "lat": 6, "lon": 6}).to_zarr(
        data / "thetao-ts", zarr_format=3, consolidated=False, mode="w"
    )
    synthetic.write_netcdf(ds[["zos"]], data / "zos-file")
    return {"geo": "data/thetao-geo", "ts": "data/thetao-ts", "nc": "data/zos-file"}


def _collection(cid: str, title: str, keywords: list[str]) -> dict:
    return {
        "type": "Collection",
        "stac_version": "1.0.0",
        "id": cid,
        "title": title,
        "description": f"{title} (test lake)",
        "keywords": keywords,
        "license": "CC-BY-4.0",
        "providers": [{"name": "Test Marine Service", "roles": ["producer"]}],
        "extent": {
            "spatial": {"bbox": [[-180, -90, 180, 90]]},
            "temporal": {"interval": [["2020-01-01T00:00:00Z", "2025-12-31T00:00:00Z"]]},
        },
        "links": [],
    }


def _item(
    iid: str,
    collection: str,
    title: str,
    bbox: list[float],
    start: str,
    end: str,
    variable: str,
    standard_name: str,
    assets: dict,
) -> dict:
    west, south, east, north = bbox
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [],
        "id": iid,
        "collection": collection,
        "bbox": bbox,
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [[west, south], [east, south], [east, north], [west, north], [west, south]]
            ],
        },
        "properties": {
            "title": title,
            "datetime": None,
            "start_datetime": start,
            "end_datetime": end,
            "keywords": ["ocean", "model"],
            "license": "CC-BY-4.0",
            "providers": [{"name": "Test Marine Service", "roles": ["producer"]}],
            "cube:variables": {
                variable: {"type": "data", "standard_name": standard_name, "unit": "x"}
            },
        },
        "links": [],
        "assets": assets,
    }


def lake_items(data_url: str, paths: dict[str, str]) -> tuple[list[dict], list[dict]]:
    """The lake's collections and items, asset hrefs under ``data_url``."""
    zarr = {"type": ZARR_TYPE, "roles": ["data"]}
    geo = {**zarr, "href": f"{data_url}/{paths['geo']}", "title": "Time-chunked"}
    ts = {**zarr, "href": f"{data_url}/{paths['ts']}", "title": "Geo-chunked"}
    wmts = {"href": f"{data_url}/wmts", "type": "image/png", "roles": ["visual"]}
    collections = [
        _collection(THETAO_COLLECTION, "Sea water potential temperature", ["temperature"]),
        _collection(ZOS_COLLECTION, "Sea surface height above geoid", ["sea level"]),
    ]
    year = ("2025-01-01T00:00:00Z", "2025-01-04T00:00:00Z")
    items = [
        _item(
            GLOBAL_THETAO,
            THETAO_COLLECTION,
            "Global ocean temperature analysis",
            [-180, -90, 180, 90],
            *year,
            "thetao",
            "sea_water_potential_temperature",
            {"arco-geo-series": geo, "arco-time-series": ts, "wmts": wmts},
        ),
        _item(
            NORTH_SEA_THETAO,
            THETAO_COLLECTION,
            "North-west shelf temperature reanalysis",
            [-20, 40, 13, 65],
            "2020-01-01T00:00:00Z",
            "2020-12-31T00:00:00Z",
            "thetao",
            "sea_water_potential_temperature",
            {"arco-geo-series": geo},
        ),
        _item(
            GLOBAL_ZOS,
            ZOS_COLLECTION,
            "Global sea level",
            [-180, -90, 180, 90],
            *year,
            "zos",
            "sea_surface_height_above_geoid",
            {
                "netcdf": {
                    "href": f"{data_url}/{paths['nc']}",
                    "type": NETCDF_TYPE,
                    "roles": ["data"],
                }
            },
        ),
    ]
    return collections, items


def write_lake(directory: pathlib.Path, data_url: str) -> list[pathlib.Path]:
    """Write the lake's data and its STAC documents; returns the files ``rustac serve``
    loads (collections, then one item collection)."""
    paths = write_data(directory)
    collections, items = lake_items(data_url, paths)
    files = []
    for c in collections:
        path = directory / f"{c['id']}.json"
        path.write_text(json.dumps(c))
        files.append(path)
    path = directory / "items.json"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": items}))
    return [*files, path]


def write_static_catalog(directory: pathlib.Path, data_url: str) -> pathlib.Path:
    """The same collections and items as a static catalog written by pystac; returns the
    path of its ``catalog.json``."""
    paths = write_data(directory)
    collections, items = lake_items(data_url, paths)
    catalog = pystac.Catalog("test-lake", "A static copy of the test data lake")
    for c in collections:
        collection = pystac.Collection.from_dict(c)
        for item in items:
            if item["collection"] == c["id"]:
                collection.add_item(pystac.Item.from_dict(item))
        catalog.add_child(collection)
    root = directory / "static"
    catalog.normalize_hrefs(str(root))
    catalog.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    return root / "catalog.json"


class FileServer:
    """A plain HTTP server over a directory that answers byte ranges (as object stores and
    web servers do: NetCDF files are read by ranges) and counts the requests of each path."""

    def __init__(self, directory: pathlib.Path) -> None:
        self.requests: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, directory=str(directory), **kwargs)

            def send_head(self) -> Any:
                with server._lock:
                    server.requests[self.path] += 1
                ranged = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
                path = self.translate_path(self.path)
                if ranged is None or not os.path.isfile(path):
                    return super().send_head()
                size = os.path.getsize(path)
                start = int(ranged.group(1))
                end = min(int(ranged.group(2) or size - 1), size - 1)
                with open(path, "rb") as f:
                    f.seek(start)
                    body = f.read(max(end - start + 1, 0))
                self.send_response(206)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()

                return io.BytesIO(body)

            def end_headers(self) -> None:
                if self.command == "HEAD" or "Range" not in self.headers:
                    self.send_header("Accept-Ranges", "bytes")
                super().end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer((HOST, 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://{HOST}:{self.httpd.server_address[1]}"

    def count(self, pattern: str = "") -> int:
        """Requests whose path matches the regular expression ``pattern``."""
        with self._lock:
            return sum(n for p, n in self.requests.items() if re.search(pattern, p))

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()


@contextlib.contextmanager
def serve_files(directory: pathlib.Path) -> Iterator[FileServer]:
    """A :class:`FileServer` over ``directory``, stopped when the block ends."""
    server = FileServer(directory)
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
        thread.join(timeout=15)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def rustac_server(files: list[pathlib.Path]) -> Iterator[str]:
    """``rustac serve`` over ``files`` (collections and items, held in memory) on 127.0.0.1;
    yields the API root URL (with a trailing slash, as EDITO's)."""
    port = _free_port()
    proc = subprocess.Popen(
        [str(RUSTAC), "serve", "--addr", f"{HOST}:{port}", *map(str, files)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        import requests

        def ready() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"rustac serve stopped: {proc.stderr.read().decode()[-500:]}")
            try:
                return requests.get(f"http://{HOST}:{port}/collections", timeout=1).ok
            except requests.ConnectionError:
                return False

        wait_until(ready, what="rustac serve")
        yield f"http://{HOST}:{port}/"
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        if proc.stderr is not None:
            proc.stderr.close()


@dataclass
class Lake:
    """A running test lake."""

    root: str  # the STAC API root (rustac serve)
    static: str  # a static catalog.json of the same items
    data: FileServer  # the server of the data files: counts what is read
    local: str  # the same data as a local NetCDF file


@contextlib.contextmanager
def running_lake(directory: pathlib.Path) -> Iterator[Lake]:
    """The lake in ``directory``: data served over HTTP, a STAC API and a static catalog."""
    with serve_files(directory) as files:
        api_files = write_lake(directory, files.url)
        static = write_static_catalog(directory, files.url)
        local = synthetic.write_netcdf(synthetic.regular(times=4), directory / "local.nc")
        with rustac_server(api_files) as root:
            yield Lake(root, str(static), files, local)
