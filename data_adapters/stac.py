"""The STAC adapter: one item of a STAC API (EDITO's data lake) or of a static STAC catalog.

A source string names the item: ``stac:<root>#<collection>/<item>``, where ``<root>`` is a
STAC API's landing page (``https://api.dive.edito.eu/data/``) or a static catalog's
``catalog.json`` (a URL or a local path). The item's data asset is chosen by key and media
type, never by file extension (EDITO's Zarr hrefs often have no ``.zarr``):

1. the catalog's ``asset`` key, when given;
2. ``arco-geo-series`` (time-chunked, for maps), then ``arco-time-series`` (geo-chunked);
3. any asset whose media type (or key) says Zarr, then NetCDF.

As with Copernicus Marine, maps read ``arco-geo-series`` and point series read
``arco-time-series`` (:meth:`StacAdapter.open_series`) when the item has both. Zarr assets
open through :class:`~data_adapters.zarr_store.ZarrAdapter` (over HTTP with its bounded,
retried reads), NetCDF-4 assets lazily over HTTP by byte ranges (h5netcdf) or from disk.
Every STAC document is read with the transport's policy (bounded time, one-line errors).
"""

from __future__ import annotations

import json
import os
import pathlib
from typing import Any, ClassVar
from urllib.parse import quote

import param
import pystac
import xarray as xr
from pystac.utils import make_absolute_href

from .base import Adapter
from .errors import SourceError, short_reason
from .http_store import MissingChunks
from .netcdf import NetCDFAdapter
from .pyramid import MapPyramid
from .stac_sources import STAC_PREFIX as PREFIX
from .stac_sources import is_static, parse_source, source_for
from .transport import check_reachable, get_once, is_url, redact, timeout_or_default
from .zarr_store import ZarrAdapter

#: Asset keys of Copernicus Marine's and EDITO's ARCO layouts: maps, point series.
MAPS_ASSET, SERIES_ASSET = "arco-geo-series", "arco-time-series"
#: Words of media types (and, failing a media type, of asset keys) for each data format.
FORMAT_WORDS = {"zarr": ("zarr",), "netcdf": ("netcdf", "x-hdf5", "x-hdf")}


# -- reading STAC documents ---------------------------------------------------------------
def read_json(href: str, label: str, timeout: float) -> Any:
    """The JSON document at ``href`` (http(s) URL or local path), read within ``timeout``."""
    try:
        if is_url(href):
            text = check_reachable([href], label, timeout).text
        else:
            text = pathlib.Path(href).read_text(encoding="utf-8")
        return json.loads(text)
    except OSError as exc:
        raise SourceError(f"{label}: cannot be read ({short_reason(exc)}); check the path") from exc
    except ValueError as exc:
        raise SourceError(f"{label}: not a STAC JSON document ({short_reason(exc)})") from exc


class BoundedStacIO(pystac.StacIO):
    """pystac's reader of static catalogs, with every HTTP read bounded by ``timeout``."""

    def __init__(self, label: str, timeout: float) -> None:
        super().__init__()
        self.label, self.timeout = label, timeout

    def read_text(self, source: Any, *args: Any, **kwargs: Any) -> str:
        href = str(getattr(source, "href", source))
        if is_url(href):
            resp = get_once(href, self.timeout)
            if resp.status_code != 200:
                raise SourceError(f"{self.label}: HTTP {resp.status_code} reading '{href}'")
            return resp.text
        return pathlib.Path(href).read_text(encoding="utf-8")

    def write_text(self, dest: Any, txt: str, *args: Any, **kwargs: Any) -> None:
        raise SourceError(f"{self.label}: catalogues are read, never written")


def static_catalog(root: str, label: str, timeout: float) -> pystac.Catalog:
    """The static catalog at ``root`` (its children are read as they are walked)."""
    try:
        return pystac.Catalog.from_file(root, stac_io=BoundedStacIO(label, timeout))
    except SourceError:
        raise
    except (OSError, ValueError, KeyError, pystac.STACError) as exc:
        raise SourceError(
            f"{label}: not a readable STAC catalog ({short_reason(exc)}); check the path or URL"
        ) from exc


def static_items(catalog: pystac.Catalog) -> list[pystac.Item]:
    """Every item below a static catalog, with its collection id set."""
    items = []
    for item in catalog.get_items(recursive=True):
        if item.collection_id is None:
            parent = item.get_parent()
            item.collection_id = parent.id if parent is not None else ""
        items.append(item)
    return items


def fetch_item(root: str, collections: list[str], item_id: str, timeout: float) -> pystac.Item:
    """The item ``item_id`` of one of ``collections`` (the first that has it), from a STAC API
    root or a static catalog, with asset hrefs made absolute."""
    label = redact(source_for(root, ",".join(collections) or "*", item_id))
    if is_static(root):
        for item in static_items(static_catalog(root, label, timeout)):
            if item.id == item_id and (not collections or item.collection_id in collections):
                item.make_asset_hrefs_absolute()
                return item
        raise SourceError(f"{label}: no such item in the catalog; check the collection and item")
    base = root.rstrip("/")
    if collections:
        urls = [f"{base}/collections/{quote(c)}/items/{quote(item_id)}" for c in collections]
        resp = check_reachable(urls, label, timeout)
        doc, url = resp.json(), resp.url
    else:
        url = f"{base}/search?ids={quote(item_id)}"
        features = read_json(url, label, timeout).get("features") or []
        if not features:
            raise SourceError(f"{label}: no such item in the catalogue; check its id")
        doc = features[0]
    try:
        item = pystac.Item.from_dict(doc, preserve_dict=False)
    except (KeyError, ValueError, TypeError, pystac.STACError) as exc:
        raise SourceError(f"{label}: not a STAC item ({short_reason(exc)})") from exc
    for asset in item.assets.values():
        asset.href = make_absolute_href(asset.href, url)
    return item


# -- choosing and opening assets ------------------------------------------------------------
def asset_format(key: str, asset: pystac.Asset) -> str | None:
    """``"zarr"``, ``"netcdf"`` or None, from the asset's media type (else its key; the ARCO
    keys are Zarr stores), never from the href's extension."""
    kind = (asset.media_type or "").lower()
    for name, words in FORMAT_WORDS.items():
        if any(w in kind for w in words):
            return name
    if kind:
        return None  # a media type of another format (image/png, WMTS...)
    if key in (MAPS_ASSET, SERIES_ASSET):
        return "zarr"
    for name, words in FORMAT_WORDS.items():
        if any(w in key.lower() for w in words):
            return name
    return None


def data_assets(item: pystac.Item) -> dict[str, str]:
    """Key -> format of the item's assets that hold data, in the order they are preferred."""
    found = {k: f for k, a in item.assets.items() if (f := asset_format(k, a))}
    preferred = [k for k in (MAPS_ASSET, SERIES_ASSET) if k in found]
    rest = sorted((k for k in found if k not in preferred), key=lambda k: found[k] != "zarr")
    return {k: found[k] for k in [*preferred, *rest]}


def choose_asset(item: pystac.Item, key: str | None, label: str) -> tuple[str, str]:
    """``(key, format)`` of the asset that maps read: ``key`` when given, else the first of
    :func:`data_assets`."""
    found = data_assets(item)
    if key:
        if key not in item.assets:
            raise SourceError(
                f"{label}: the item has no asset '{key}'; its assets: {', '.join(item.assets)}"
            )
        fmt = asset_format(key, item.assets[key])
        if fmt is None:
            raise SourceError(
                f"{label}: asset '{key}' is neither Zarr nor NetCDF "
                f"({item.assets[key].media_type or 'no media type'}); choose another 'asset'"
            )
        return key, fmt
    if not found:
        raise SourceError(
            f"{label}: the item has no Zarr or NetCDF asset (assets: "
            f"{', '.join(item.assets) or 'none'}); it cannot be opened as a grid"
        )
    first = next(iter(found))
    return first, found[first]


def open_netcdf_http(href: str, label: str, timeout: float) -> xr.Dataset:
    """A NetCDF-4 (HDF5) file over http(s), lazily: h5netcdf reads byte ranges of it."""
    import aiohttp
    import fsspec

    fs = fsspec.filesystem("http", client_kwargs={"timeout": aiohttp.ClientTimeout(total=timeout)})
    try:
        handle = fs.open(href, mode="rb", block_size=1 << 20)
        return xr.open_dataset(handle, engine="h5netcdf", chunks={})
    except (OSError, ValueError) as exc:
        raise SourceError(
            f"{label}: the NetCDF asset cannot be read over HTTP ({short_reason(exc)}); only "
            "NetCDF-4/HDF5 files are read lazily by byte ranges"
        ) from exc


class StacAdapter(Adapter):
    """One item of a STAC API or static catalog, opened from its Zarr or NetCDF asset."""

    adapter_type: ClassVar[str] = "stac"
    priority: ClassVar[int] = 10

    url = param.String(doc="A STAC API root (landing page) or a static catalog's catalog.json.")
    collections = param.List(
        default=[], item_type=str, doc="Collections the item is looked up in, in order."
    )
    item = param.String(doc="The item's id.")
    asset = param.String(
        default=None,
        allow_None=True,
        doc="Asset key to open; None: arco-geo-series, arco-time-series, then any Zarr or "
        "NetCDF asset (by key and media type).",
    )
    timeout = param.Number(
        default=None,
        allow_None=True,
        bounds=(0.1, None),
        doc="Seconds for each request; None: $OCEAN_EXPLORER_TIMEOUT, else 20.",
    )

    _inner: Adapter | None = None
    _item: pystac.Item | None = None

    @classmethod
    def guess_can_open(cls, uri: str) -> bool:
        return uri.startswith(PREFIX)

    @classmethod
    def from_uri(cls, uri: str) -> StacAdapter:
        root, collection, item = parse_source(uri)
        return cls(url=root, collections=[collection], item=item)

    @property
    def label(self) -> str:
        return redact(source_for(self.url, ",".join(self.collections) or "*", self.item))

    def stac_item(self) -> pystac.Item:
        """The item (read once per adapter)."""
        if self._item is None:
            if not self.url or not self.item:
                raise SourceError(f"{self.label}: give 'url' and 'item' of the STAC item")
            self._item = fetch_item(
                self.url, list(self.collections), self.item, timeout_or_default(self.timeout)
            )
        return self._item

    def _asset_adapter(self, key: str, fmt: str) -> Adapter:
        href = self.stac_item().assets[key].href
        if fmt == "zarr":
            return ZarrAdapter(path=href, timeout=self.timeout)
        if is_url(href):
            return _HttpNetCDF(href=href, shown=f"{self.label} ({key})", timeout=self.timeout)
        return NetCDFAdapter(path=os.path.expanduser(href))

    def _open(self) -> xr.Dataset:
        key, fmt = choose_asset(self.stac_item(), self.asset, self.label)
        self._inner = self._asset_adapter(key, fmt)
        return self._inner._open()

    def _open_series(self) -> xr.Dataset | None:
        """The item's ``arco-time-series`` store, when maps read its ``arco-geo-series``."""
        item = self.stac_item()
        key, _ = choose_asset(item, self.asset, self.label)
        series = item.assets.get(SERIES_ASSET)
        if key != MAPS_ASSET or series is None or asset_format(SERIES_ASSET, series) != "zarr":
            return None
        return self._asset_adapter(SERIES_ASSET, "zarr")._open()

    def map_pyramid(self) -> MapPyramid:
        return self._inner.map_pyramid() if self._inner is not None else MapPyramid()

    def missing_chunks(self) -> MissingChunks | None:
        return self._inner.missing_chunks() if self._inner is not None else None


class _HttpNetCDF(Adapter):
    """A NetCDF-4 asset read over http(s) by byte ranges (opened by :class:`StacAdapter`)."""

    href = param.String(doc="The file's URL.")
    shown = param.String(default="", doc="How messages name it.")
    timeout = param.Number(default=None, allow_None=True, doc="Seconds for each request.")

    @property
    def label(self) -> str:
        return self.shown or redact(self.href)

    def _open(self) -> xr.Dataset:
        return open_netcdf_http(self.href, self.label, timeout_or_default(self.timeout))
