"""Local and HTTP file adapters: NetCDF/HDF5 files, globs and directories; Zarr stores."""

from __future__ import annotations

import functools
import glob
import json
import os
import pathlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import param
import xarray as xr

from .base import DEFAULT_TIMEOUT, Adapter
from .errors import SourceError, short_reason
from .layouts import (
    COMPLETE_KEY,
    MAPS_GROUP,
    SERIES_GROUP,
    PyramidLevel,
    layouts_in,
    level_groups,
    read_layouts,
)
from .remote import (
    GuardedHTTPFileSystem,
    check_reachable,
    http_zarr_filesystem,
    is_url,
    redact,
)

#: File name endings tried when a directory is given.
NETCDF_SUFFIXES = (".nc", ".nc4", ".netcdf", ".cdf", ".h5", ".hdf5", ".he5")
_GLOB_CHARS = set("*?[")
#: The units xarray quotes when it cannot decode a time axis.
_TIME_UNITS = re.compile(r"time units ('[^']*')")


def _is_zarr_path(uri: str) -> bool:
    stripped = uri.rstrip("/")
    if stripped.endswith(".zarr") or ".zarr/" in uri:
        return True
    if is_url(uri):
        return False
    p = pathlib.Path(uri)
    return p.is_dir() and any((p / m).exists() for m in ("zarr.json", ".zgroup", ".zmetadata"))


class NetCDFAdapter(Adapter):
    """One NetCDF/HDF5 file, a glob of files, or a directory of files combined along time."""

    adapter_type: ClassVar[str] = "netcdf"
    priority: ClassVar[int] = 90  # the fallback for any local path

    path = param.String(doc="A file, a glob such as 'runs/*.nc', or a directory of files.")
    engine = param.Selector(
        default=None,
        objects=[None, "netcdf4", "h5netcdf", "scipy"],
        allow_None=True,
        doc="xarray engine; None lets xarray choose from the file's signature.",
    )

    @classmethod
    def guess_can_open(cls, uri: str) -> bool:
        return (not is_url(uri) and ":" not in uri.split("/")[0]) or os.path.exists(uri)

    @classmethod
    def from_uri(cls, uri: str) -> NetCDFAdapter:
        return cls(path=uri)

    @property
    def label(self) -> str:
        return redact(self.path)

    def files(self) -> list[str]:
        """The files this source combines, sorted; raises SourceError when there are none."""
        path = os.path.expanduser(self.path)
        if _GLOB_CHARS & set(path):
            files = sorted(glob.glob(path))
            if not files:
                raise SourceError(f"{self.path}: the glob matched no files; check the pattern")
            return files
        if os.path.isdir(path):
            files = sorted(
                str(p)
                for p in pathlib.Path(path).iterdir()
                if p.is_file() and p.suffix.lower() in NETCDF_SUFFIXES
            )
            if not files:
                raise SourceError(
                    f"{self.path}: the directory holds no NetCDF files "
                    f"({', '.join(NETCDF_SUFFIXES)})"
                )
            return files
        if not os.path.exists(path):
            raise SourceError(
                f"{self.path}: no such file, directory or catalog id; check the path "
                "(or run 'ocean-explorer datasets' for catalog ids)"
            )
        return [path]

    def _open(self) -> xr.Dataset:
        files = self.files()
        for f in files:
            _check_signature(f)
        try:
            if len(files) == 1:
                opener = functools.partial(xr.open_dataset, files[0], chunks={}, engine=self.engine)
            else:
                opener = functools.partial(self._open_many, files)
            return _opened_once(files, self.engine, opener)
        except ValueError as exc:
            if "decode time" in str(exc):  # the file is fine; its time units are not
                units = _TIME_UNITS.search(str(exc))
                raise SourceError(
                    f"{self.path}: the time axis cannot be decoded"
                    f"{f' (units {units.group(1)})' if units else ''}; give it CF time "
                    "units such as 'days since 2000-01-01' and a calendar"
                ) from exc
            raise self._unreadable(exc) from exc
        except (OSError, RuntimeError, KeyError) as exc:
            raise self._unreadable(exc) from exc

    def _unreadable(self, exc: BaseException) -> SourceError:
        return SourceError(
            f"{self.path}: cannot be read as NetCDF/HDF5 ({short_reason(exc)}); "
            "the file may be truncated or of another format"
        )

    def _open_many(self, files: list[str]) -> xr.Dataset:
        """Files combined along time, in time order whatever their names."""
        options = {
            "chunks": {},
            "engine": self.engine,
            "data_vars": "minimal",
            "coords": "minimal",
            "compat": "override",
            "join": "outer",
        }
        try:
            return xr.open_mfdataset(files, combine="by_coords", **options)
        except ValueError:
            # Files whose times overlap (forecast archives repeat days) cannot be ordered by
            # their coordinates: stack them in name order; normalize() then sorts the steps
            # and keeps the first of each repeated one.
            time_dim = _time_dim(files[0], self.engine)
            if time_dim is None:
                raise
            return xr.open_mfdataset(files, combine="nested", concat_dim=time_dim, **options)


#: Datasets opened from unchanged files, by (file, mtime, size)s and engine; bounded.
_OPENED: OrderedDict[tuple, xr.Dataset] = OrderedDict()
_OPENED_KEPT = 32
_OPENED_LOCK = threading.Lock()


def _opened_once(
    files: list[str], engine: str | None, opener: Callable[[], xr.Dataset]
) -> xr.Dataset:
    """``opener()``, shared by every open of the same unchanged files in this process.

    Besides sparing the work, this keeps one HDF5 handle per file: with the HDF5 2.x bundled
    in the netCDF4 wheels, opening a file again while an earlier handle to it is closed by
    the garbage collector can crash the process when the file holds variable-length strings
    (such as a ``scenario`` coordinate).
    """
    stats = []
    for f in files:
        st = os.stat(f)
        stats.append((os.path.abspath(f), st.st_mtime_ns, st.st_size))
    key = (tuple(stats), engine)
    with _OPENED_LOCK:
        if key in _OPENED:
            _OPENED.move_to_end(key)
            return _OPENED[key]
        ds = opener()
        _OPENED[key] = ds
        while len(_OPENED) > _OPENED_KEPT:
            _OPENED.popitem(last=False)
        return ds


def _time_dim(path: str, engine: str | None) -> str | None:
    """The dimension of a file's time axis (found as the contract finds it), or None."""
    from .contract import _find_axes

    with xr.open_dataset(path, engine=engine, decode_times=False) as ds:
        name = _find_axes(ds)["time"]
        if name is None or ds[name].ndim != 1:
            return None
        return str(ds[name].dims[0])


#: Leading bytes of the formats we read: netCDF classic/64-bit/CDF5, and HDF5 (netCDF-4).
_SIGNATURES = (b"CDF\x01", b"CDF\x02", b"CDF\x05", b"\x89HDF\r\n\x1a\n")


def _check_signature(path: str) -> None:
    """Refuse non-NetCDF files and truncated ones before the C libraries see them."""
    with open(path, "rb") as fh:
        head = fh.read(8)
    if not any(head.startswith(sig) for sig in _SIGNATURES):
        raise SourceError(f"{path}: not a NetCDF or HDF5 file (unrecognised file signature)")
    size = os.path.getsize(path)
    if head.startswith(b"CDF"):
        expected = _classic_netcdf_size(path)
        if expected is not None and size < expected:
            raise SourceError(
                f"{path}: the file is truncated ({size} of {expected} bytes); copy it again"
            )
    else:
        expected = _hdf5_eof(path)
        if expected is not None and size < expected:
            raise SourceError(
                f"{path}: the file is truncated ({size} of {expected} bytes); copy it again"
            )


def _hdf5_eof(path: str) -> int | None:
    """End-of-file address recorded in an HDF5 superblock (versions 0-3), or None."""
    with open(path, "rb") as fh:
        sb = fh.read(64)
    version = sb[8]
    if version in (0, 1):
        size_offsets = sb[13]
        # v0: fixed fields (24 bytes incl. signature) then base, freespace, eof addresses
        start = 24 + (4 if version == 1 else 0)
        pos = start + 2 * size_offsets
    elif version in (2, 3):
        size_offsets = sb[9]
        pos = 12 + 2 * size_offsets
    else:
        return None
    raw = sb[pos : pos + size_offsets]
    return int.from_bytes(raw, "little") if len(raw) == size_offsets else None


def _classic_netcdf_size(path: str) -> int | None:
    """Minimum size of a classic netCDF file: the end of its last fixed-size variable."""
    try:
        import netCDF4
    except ImportError:  # pragma: no cover - netCDF4 is a dependency
        return None
    try:
        with netCDF4.Dataset(path) as nc:
            # netCDF-C refuses a truncated header itself; data sections are checked here
            sizes = {
                name: (len(d) if not d.isunlimited() else 0) for name, d in nc.dimensions.items()
            }
            nrec = max((len(d) for d in nc.dimensions.values() if d.isunlimited()), default=0)
            fixed = 0
            record = 0
            for var in nc.variables.values():
                n = var.dtype.itemsize
                for dim in var.dimensions:
                    n *= sizes[dim] or 1
                if var.dimensions and nc.dimensions[var.dimensions[0]].isunlimited():
                    record += n
                else:
                    fixed += n
    except OSError as exc:
        raise SourceError(
            f"{path}: not a readable NetCDF file ({short_reason(exc)}); it may be truncated"
        ) from exc
    # A lower bound that ignores the header and padding: enough to spot a cut-off copy.
    return fixed + record * nrec


class ZarrAdapter(Adapter):
    """A Zarr store (v2 or v3), on local disk or over http(s).

    A store written by ``ocean-explorer prepare`` (``data_adapters.layouts``) holds the data
    twice: its ``maps`` group (time-chunked) is opened as the dataset and its ``series``
    group (geo-chunked) by :meth:`open_series`. Its map pyramid (``maps_1``, ``maps_2``...)
    comes with the dataset as ``ds.pyramid.levels``, opened on first use.

    Over http(s), every read (at the open and each chunk read later by dask) is bounded by
    ``timeout``, retried where safe and ends in a one-line ``SourceError``; a chunk the
    server answers 404 for is no data, counted in ``missing_chunks(ds[var])``, except in a
    prepared store, which holds every chunk: there it is an error (``data_adapters.remote``).
    """

    adapter_type: ClassVar[str] = "zarr"
    priority: ClassVar[int] = 20

    path = param.String(doc="A local '.zarr' directory or an http(s) URL of one.")
    timeout = param.Number(
        default=DEFAULT_TIMEOUT,
        bounds=(0.1, None),
        doc="Seconds to wait for each request to a remote store (a read is tried up to 3 times).",
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

    def open(self) -> xr.Dataset:
        """Open the store lazily on the data contract; a prepared store's dataset also has
        its coarser map levels (``ds.pyramid.levels``: opened when first read)."""
        ds = super().open()
        store = self._opened_store
        if store is not None and level_groups(store.layouts):
            ds.pyramid.attach(functools.partial(self._open_levels, store))
        return ds

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
            base = self.path.rstrip("/")
            first = check_reachable(
                [f"{base}/zarr.json", f"{base}/.zmetadata", f"{base}/.zgroup"],
                self.label,
                self.timeout,
            )
            name = first.url.rsplit("/", 1)[-1]
            layouts = layouts_in(first.text) if name == "zarr.json" else None
            # Every later request (metadata, chunks read by dask long after the open) is
            # bounded, retried and explained by the guarded filesystem (data_adapters.remote);
            # a prepared store has every chunk, so there a chunk 404 is an error.
            http = http_zarr_filesystem(
                base, self.label, self.timeout, missing_is_error=_written_complete(layouts)
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
