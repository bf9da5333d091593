"""The Zarr adapter: stores (v2 or v3) on local disk or over http(s), prepared or plain.

A store written by ``ocean-explorer prepare`` (``data_adapters.layouts``) is recognised from
one small metadata read and opened with its layouts: maps, point series and map pyramid.
"""

from __future__ import annotations

import functools
import json
import os
import pathlib
from dataclasses import dataclass
from typing import ClassVar

import param
import xarray as xr

from .base import Adapter
from .errors import SourceError, short_reason
from .http_store import GuardedHTTPFileSystem, MissingChunks, http_zarr_filesystem
from .pyramid import MapPyramid, PyramidLevel
from .store_format import (
    COMPLETE_KEY,
    MAPS_GROUP,
    SERIES_GROUP,
    layouts_in,
    level_groups,
    read_layouts,
)
from .transport import check_reachable, is_url, redact, timeout_or_default


def _is_zarr_path(uri: str) -> bool:
    stripped = uri.rstrip("/")
    if stripped.endswith(".zarr") or ".zarr/" in uri:
        return True
    if is_url(uri):
        return False
    p = pathlib.Path(uri)
    return p.is_dir() and any((p / m).exists() for m in ("zarr.json", ".zgroup", ".zmetadata"))


class ZarrAdapter(Adapter):
    """A Zarr store (v2 or v3), on local disk or over http(s).

    A store written by ``ocean-explorer prepare`` (``data_adapters.layouts``) holds the data
    twice: its ``maps`` group (time-chunked) is opened as the dataset and its ``series``
    group (geo-chunked) by :meth:`open_series`. Its map pyramid (``maps_1``, ``maps_2``...)
    is :meth:`map_pyramid` (``OpenedSource.pyramid``), opened on first use.

    Over http(s), every read (at the open and each chunk read later by dask) is bounded by
    ``timeout``, retried where safe and ends in a one-line ``SourceError``; a chunk the
    server answers 404 for is no data, counted in :meth:`missing_chunks`
    (``OpenedSource.missing_chunks``), except in a prepared store, which holds every chunk:
    there it is an error (``data_adapters.http_store``).
    """

    adapter_type: ClassVar[str] = "zarr"
    priority: ClassVar[int] = 20

    path = param.String(doc="A local '.zarr' directory or an http(s) URL of one.")
    timeout = param.Number(
        default=None,
        allow_None=True,
        bounds=(0.1, None),
        doc="Seconds to wait for each request to a remote store (a read is tried up to 3 "
        "times); None: $OCEAN_EXPLORER_TIMEOUT, else 20, read when the store is opened.",
    )

    #: What the last :meth:`_open` learnt about the store (its pyramid's levels are opened
    #: from it later, without reading the metadata again).
    _opened_store: _ZarrStore | None = None

    @classmethod
    def guess_can_open(cls, uri: str) -> bool:
        return _is_zarr_path(uri)

    @classmethod
    def from_uri(cls, uri: str) -> ZarrAdapter:
        return cls(path=uri)

    @property
    def label(self) -> str:
        return redact(self.path)

    def map_pyramid(self) -> MapPyramid:
        """A prepared store's coarser map levels (opened on first use); empty for others."""
        store = self._opened_store
        if store is None or not level_groups(store.layouts):
            return MapPyramid()
        return MapPyramid(functools.partial(self._open_levels, store))

    def missing_chunks(self) -> MissingChunks | None:
        """The chunks of the maps a remote store's server answered 404 for (none in a prepared
        store: there a missing chunk is an error); None for local stores."""
        store = self._opened_store
        return store.http.missing if store is not None and store.http is not None else None

    def _open(self) -> xr.Dataset:
        store = self._locate()
        self._opened_store = store
        return self._open_group(store, MAPS_GROUP if store.layouts else None)

    def _open_levels(self, store: _ZarrStore) -> list[PyramidLevel]:
        """The pyramid's levels, each normalised as the maps are (finest first)."""
        return [
            PyramidLevel(factor, self._normalised(self._open_group(store, group)))
            for group, factor in level_groups(store.layouts)
        ]

    def _open_series(self) -> xr.Dataset | None:
        store = self._locate()
        return self._open_group(store, SERIES_GROUP) if store.layouts else None

    def _locate(self) -> _ZarrStore:
        """How to open the store: consolidated or not, HTTP options, and its layouts when
        it is a prepared store; from one small metadata read (a file, or one request)."""
        if is_url(self.path):
            timeout = timeout_or_default(self.timeout)
            base = self.path.rstrip("/")
            first = check_reachable(
                [f"{base}/zarr.json", f"{base}/.zmetadata", f"{base}/.zgroup"],
                self.label,
                timeout,
            )
            name = first.url.rsplit("/", 1)[-1]
            layouts = layouts_in(first.text) if name == "zarr.json" else None
            # Every later request (metadata, chunks read by dask long after the open) is
            # bounded, retried and explained by the guarded filesystem (data_adapters.http_store);
            # a prepared store has every chunk, so there a chunk 404 is an error.
            http = http_zarr_filesystem(
                base, self.label, timeout, missing_is_error=_written_complete(layouts)
            )
            return _ZarrStore(_consolidated(name, first.text), None, layouts, http)
        if not os.path.exists(self.path):
            raise SourceError(f"{self.path}: no such Zarr store; check the path")
        path = pathlib.Path(self.path)
        return _ZarrStore(_local_consolidated(path), None, read_layouts(path))

    def _open_group(self, store: _ZarrStore, group: str | None) -> xr.Dataset:
        known = set(store.http.missing.keys()) if store.http is not None else set()
        try:
            # Saying whether metadata are consolidated spares a failed read and xarray's
            # warning about it on every open of a store written without them.
            ds = xr.open_zarr(
                self.path if store.http is None else store.http.zarr_store(),
                group=group,
                chunks={},
                consolidated=store.consolidated,
                storage_options=store.storage_options,
            )
        except (OSError, ValueError, KeyError) as exc:
            where = f" (group '{group}')" if group else ""
            raise SourceError(
                f"{self.label}: not a readable Zarr store{where} ({short_reason(exc)})"
            ) from exc
        return ds if store.http is None else store.http.opened(ds, known)


@dataclass(frozen=True)
class _ZarrStore:
    """What :meth:`ZarrAdapter._locate` learnt about a store."""

    consolidated: bool
    storage_options: dict | None
    #: The layouts of a prepared store (``data_adapters.layouts``), else None.
    layouts: dict | None
    #: A remote store's filesystem (every read bounded and retried), else None.
    http: GuardedHTTPFileSystem | None = None


def _written_complete(layouts: dict | None) -> bool:
    """Whether a prepared store says it holds every chunk (``"complete": true``, written by
    ``ocean-explorer prepare``): a chunk the server does not have is then lost, not empty."""
    return bool(layouts and layouts.get(COMPLETE_KEY) is True)


def _consolidated(name: str, text: str) -> bool:
    """Whether a store has consolidated metadata, from its first metadata document.

    ``name`` is the document's file name (``zarr.json``, ``.zmetadata`` or ``.zgroup``).
    """
    if name == ".zmetadata":
        return True
    if name == "zarr.json":
        try:
            return bool(json.loads(text).get("consolidated_metadata"))
        except (ValueError, AttributeError):
            return False
    return False


def _local_consolidated(path: pathlib.Path) -> bool:
    """Whether the local store at ``path`` has consolidated metadata (Zarr v2 or v3)."""
    if (path / ".zmetadata").is_file():
        return True
    meta = path / "zarr.json"
    if meta.is_file():
        return _consolidated("zarr.json", meta.read_text(encoding="utf-8", errors="replace"))
    return False
