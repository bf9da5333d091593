"""The NetCDF/HDF5 adapter: one file, a glob of files or a directory, combined along time.

Files are checked before the C libraries see them (signature, truncation), and every open
of the same unchanged files in a process shares one dataset (:class:`OpenedFiles`).
"""

from __future__ import annotations

import functools
import glob
import os
import pathlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import ClassVar

import param
import xarray as xr

from . import cf_time
from .base import Adapter
from .errors import SourceError, short_reason
from .transport import is_url, redact

#: File name endings tried when a directory is given.
NETCDF_SUFFIXES = (".nc", ".nc4", ".netcdf", ".cdf", ".h5", ".hdf5", ".he5")
_GLOB_CHARS = set("*?[")
#: The units xarray quotes when it cannot decode a time axis.
_TIME_UNITS = re.compile(r"time units ('[^']*')")


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
            with cf_time.unpadded_years_quietly():
                return OPENED_FILES.get(files, self.engine, opener)
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

    def _normalised(self, raw: xr.Dataset) -> xr.Dataset:
        with cf_time.unpadded_years_quietly():  # a scalar time is decoded here, on first read
            return super()._normalised(raw)

    def _unreadable(self, exc: BaseException) -> SourceError:
        return SourceError(
            f"{self.path}: cannot be read as NetCDF/HDF5 ({short_reason(exc)}); "
            "the file may be truncated or of another format"
        )

    def _open_many(self, files: list[str]) -> xr.Dataset:
        """Files combined along their true time, in time order whatever their names; files
        without a time are combined by their coordinates."""
        parts = [
            cf_time.time_axis(xr.open_dataset(f, chunks={}, engine=self.engine), f) for f in files
        ]
        if all("time" in part.dims for part in parts):
            return cf_time.concat_runs(parts, files, self.path)
        # tiles of one grid, say: the files already opened, never opened twice (see
        # OpenedFiles on HDF5 handles)
        return xr.combine_by_coords(
            parts, data_vars="minimal", coords="minimal", compat="override", join="outer"
        )


class OpenedFiles:
    """Datasets opened from unchanged files, by their (file, mtime, size)s and engine; the
    least recently used are forgotten beyond ``kept``.

    Besides sparing the work, this keeps one HDF5 handle per file: with the HDF5 2.x bundled
    in the netCDF4 wheels, opening a file again while an earlier handle to it is closed by
    the garbage collector can crash the process when the file holds variable-length strings
    (such as a ``scenario`` coordinate). So the product keeps one for the whole process
    (:data:`OPENED_FILES`); a test may make its own.
    """

    def __init__(self, kept: int = 32) -> None:
        self.kept = kept
        self._datasets: OrderedDict[tuple, xr.Dataset] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self, files: list[str], engine: str | None, opener: Callable[[], xr.Dataset]
    ) -> xr.Dataset:
        """``opener()``, shared by every open of the same unchanged files."""
        stats = []
        for f in files:
            st = os.stat(f)
            stats.append((os.path.abspath(f), st.st_mtime_ns, st.st_size))
        key = (tuple(stats), engine)
        with self._lock:
            if key in self._datasets:
                self._datasets.move_to_end(key)
                return self._datasets[key]
            ds = opener()
            self._datasets[key] = ds
            while len(self._datasets) > self.kept:
                self._datasets.popitem(last=False)
            return ds


#: The datasets of the process's opened files (see :class:`OpenedFiles`: one per process).
OPENED_FILES = OpenedFiles()


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
