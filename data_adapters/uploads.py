"""Checks of a file a user hands in (an upload, ``ocean-explorer validate``) before it is used.

A handed-in file is untrusted: its name may lie about its content, a zip may try to write
outside its directory or unpack to terabytes, and NetCDF/HDF5 parsing is C code that a
crafted or truncated file can crash or send into a loop. So:

1. the content type is told by the first bytes (magic numbers), never by the name:
   NetCDF classic (``CDF\\x01``, ``CDF\\x02``, ``CDF\\x05``), HDF5 (NetCDF-4 included,
   ``\\x89HDF\\r\\n\\x1a\\n``), zip (``PK\\x03\\x04``, a zipped Zarr store) or CSV text;
2. a zip's entries are checked before anything is unpacked: no absolute path, no ``..``,
   no symbolic link, no name twice, at most :attr:`Limits.max_entries` entries and
   :attr:`Limits.max_unpacked_mb` unpacked (counted again while unpacking, since sizes in
   the zip's directory can lie);
3. the file is opened through the data contract, and a value at each end of every
   variable read, in a separate process with a time limit and an address-space limit
   (``RLIMIT_AS``): a crash, a hang or a memory blow-up ends that process, not the caller.

Every refusal is a :class:`SourceError` with one line naming the file and the fix.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import signal
import stat
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from typing import Any

from .errors import SourceError, short_reason

#: Content kinds by their first bytes.
MAGIC = {
    b"CDF\x01": "netcdf",  # classic
    b"CDF\x02": "netcdf",  # 64-bit offset
    b"CDF\x05": "netcdf",  # 64-bit data (CDF-5)
    b"\x89HDF\r\n\x1a\n": "hdf5",  # HDF5, NetCDF-4
    b"PK\x03\x04": "zip",
}
#: What the checks accept, in messages.
ACCEPTED = "NetCDF/HDF5, a zipped Zarr store, or CSV of point observations"
#: Files that mark the root of a Zarr store (v2 and v3).
ZARR_MARKERS = (".zgroup", ".zmetadata", "zarr.json")
#: How much of a text file is looked at to tell CSV from other bytes.
SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True)
class Limits:
    """What a handed-in file may cost to check (defaults suit a server's uploads)."""

    #: Largest total size of a zip's files once unpacked (MB = 10**6 bytes).
    max_unpacked_mb: float = 2000.0
    #: Most entries (files and directories) a zip may hold.
    max_entries: int = 20_000
    #: Seconds the checking process may run before it is stopped.
    timeout_s: float = 60.0
    #: Address space of the checking process (MB): the libraries take ~1 GB of it before
    #: any file is read.
    memory_mb: int = 3000


@dataclass
class Checked:
    """A file that passed the checks.

    Attributes
    ----------
    kind
        ``"grid"`` (opens through the adapters) or ``"observations"`` (point CSV).
    path
        What to open: the file itself, or the Zarr store unpacked from a zip.
    summary
        A JSON-ready description: ``inspect``'s summary for grids, rows, variables with
        units, period and extent for observations.
    """

    kind: str
    path: pathlib.Path
    summary: dict[str, Any] = field(default_factory=dict)

    def line(self, name: str) -> str:
        """One line saying what the file holds."""
        s = self.summary
        if self.kind == "observations":
            names = ", ".join(f"{v} ({u})" if u else v for v, u in s["variables"].items())
            period = " to ".join(s["time_range"])
            return f"{name}: {s['rows']} point observations of {names}, {period}"
        variables = ", ".join(v["name"] for v in s["variables"])
        dims = " x ".join(f"{v} {k}" for k, v in s["dims"].items())
        return f"{name}: {s['grid']} grid ({dims}) of {variables}"


def display_name(name: str | None, path: pathlib.Path) -> str:
    """A file name fit for messages: the last part of what the client called it, short."""
    text = (name or path.name).replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(c for c in text if c.isprintable()).strip() or "the file"
    return text if len(text) <= 80 else text[:79] + "…"


def sniff(path: pathlib.Path, name: str) -> str:
    """The content kind of ``path`` by its first bytes: netcdf, hdf5, zip or csv.

    Raises
    ------
    SourceError
        For any other content (a name ending in ``.nc`` changes nothing).
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError as exc:
        raise SourceError(f"{name}: cannot be read ({exc.strerror})") from exc
    if not head:
        raise SourceError(f"{name}: the file is empty; upload {ACCEPTED}")
    for magic, kind in MAGIC.items():
        if head.startswith(magic):
            return kind
    if b"\x00" not in head:
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError as exc:  # a cut multi-byte character at the end is fine
            text = head[: exc.start].decode("utf-8") if exc.start > len(head) - 4 else ""
        lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
        if lines and "," in lines[0]:
            return "csv"
    said = f" though named {pathlib.PurePath(name).suffix}" if pathlib.PurePath(name).suffix else ""
    raise SourceError(
        f"{name}: not {ACCEPTED}{said} (it starts with {head[:8]!r}); upload one of those"
    )


# -- zips ------------------------------------------------------------------------------------
def _entry_problem(info: zipfile.ZipInfo) -> str | None:
    """Why one zip entry may not be unpacked, or None."""
    raw = info.filename
    parts = pathlib.PurePosixPath(raw.replace("\\", "/")).parts
    if raw.startswith(("/", "\\")) or (len(raw) > 1 and raw[1] == ":"):
        return f"the entry '{raw[:60]}' has an absolute path"
    if ".." in parts:
        return f"the entry '{raw[:60]}' leaves the archive's directory (..)"
    if stat.S_ISLNK(info.external_attr >> 16):
        return f"the entry '{raw[:60]}' is a symbolic link"
    return None


def check_zip(path: pathlib.Path, name: str, limits: Limits) -> list[zipfile.ZipInfo]:
    """The entries of a zip once each is checked (see the module's description)."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise SourceError(f"{name}: not a readable zip ({short_reason(exc)})") from exc
    if len(entries) > limits.max_entries:
        raise SourceError(
            f"{name}: {len(entries):,} entries, above the limit of {limits.max_entries:,}; "
            "zip a store with fewer, larger chunks"
        )
    seen: set[str] = set()
    for info in entries:
        problem = _entry_problem(info)
        if problem:
            raise SourceError(f"{name}: {problem}; zip the store with relative paths only")
        key = info.filename.replace("\\", "/").rstrip("/")
        if key in seen:
            raise SourceError(f"{name}: the entry '{key[:60]}' appears twice; zip it once")
        seen.add(key)
    total = sum(info.file_size for info in entries)
    if total > limits.max_unpacked_mb * 1e6:
        raise SourceError(
            f"{name}: unpacks to {total / 1e6:,.0f} MB, above the limit of "
            f"{limits.max_unpacked_mb:g} MB; upload a smaller store"
        )
    return entries


def unpack_zarr(path: pathlib.Path, name: str, into: pathlib.Path, limits: Limits) -> pathlib.Path:
    """Unpack a checked zip of a Zarr store into ``into``; returns the store's directory.

    Bytes are counted while they are written: past the limit the unpacking stops and the
    partial copy is removed.
    """
    entries = check_zip(path, name, limits)
    files = [e for e in entries if not e.is_dir()]
    roots = [
        pathlib.PurePosixPath(e.filename).parent
        for e in files
        if pathlib.PurePosixPath(e.filename).name in ZARR_MARKERS
    ]
    if not roots:
        raise SourceError(
            f"{name}: a zip but no Zarr store in it (no {', '.join(ZARR_MARKERS)}); zip a "
            "store directory"
        )
    root = min(roots, key=lambda p: len(p.parts))
    store = into / "upload.zarr"
    budget = int(limits.max_unpacked_mb * 1e6)
    store.mkdir(parents=True)
    try:
        with zipfile.ZipFile(path) as archive:
            for info in files:
                inner = pathlib.PurePosixPath(info.filename.replace("\\", "/"))
                if root.parts and inner.parts[: len(root.parts)] != root.parts:
                    continue  # beside the store: not needed
                target = store.joinpath(*inner.parts[len(root.parts) :])
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as src, open(target, "wb") as dst:
                    while chunk := src.read(1 << 20):
                        budget -= len(chunk)
                        if budget < 0:
                            raise SourceError(
                                f"{name}: unpacks to more than {limits.max_unpacked_mb:g} MB "
                                "(the limit); upload a smaller store"
                            )
                        dst.write(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        shutil.rmtree(store, ignore_errors=True)
        raise SourceError(f"{name}: the zip is damaged ({short_reason(exc)})") from exc
    except SourceError:
        shutil.rmtree(store, ignore_errors=True)
        raise
    return store


# -- the checking process --------------------------------------------------------------------
def _child_environment() -> dict[str, str]:
    """The checking process' environment: this package importable, few malloc arenas (each
    thread's arena reserves address space that ``RLIMIT_AS`` counts)."""
    env = dict(os.environ)
    root = str(pathlib.Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    env["MALLOC_ARENA_MAX"] = "2"
    env["OMP_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"] = "1"
    return env


def open_in_process(kind: str, path: pathlib.Path, name: str, limits: Limits) -> dict[str, Any]:
    """Open ``path`` as ``kind`` (``grid`` or ``observations``) in a separate, limited
    process; returns its summary or raises the one-line reason it failed."""
    command = [sys.executable, "-m", "data_adapters.uploads", kind, str(path), name]
    command += [str(limits.memory_mb)]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=limits.timeout_s,
            env=_child_environment(),
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise SourceError(
            f"{name}: opening it took more than {limits.timeout_s:g} s (the limit); check the "
            "file is not damaged, or upload a smaller one"
        ) from exc
    lines = done.stdout.strip().splitlines()
    if done.returncode == 0 and lines:
        answer = json.loads(lines[-1])
        if answer.get("error"):
            raise SourceError(answer["error"])
        return answer["summary"]
    if done.returncode < 0:
        why = signal.Signals(-done.returncode).name
        raise SourceError(
            f"{name}: the reader stopped on it ({why}); the file is damaged or needs more than "
            f"{limits.memory_mb} MB to open"
        )
    tail = (done.stderr.strip().splitlines() or ["no answer"])[-1]
    raise SourceError(f"{name}: the reader failed on it ({tail[:160]}); check the file")


def check_file(
    path: str | os.PathLike,
    name: str | None = None,
    workdir: str | os.PathLike | None = None,
    limits: Limits = Limits(),
) -> Checked:
    """Check a handed-in file and open it through the data contract (see the module).

    Parameters
    ----------
    path
        The file as received.
    name
        What its owner called it (only its last part is used, in messages).
    workdir
        A private directory into which a zipped store is unpacked (default: beside ``path``).
    limits
        What the checks may cost.
    """
    path = pathlib.Path(path)
    label = display_name(name, path)
    kind = sniff(path, label)
    if kind == "csv":
        return Checked("observations", path, open_in_process("observations", path, label, limits))
    if kind == "zip":
        into = pathlib.Path(workdir) if workdir is not None else path.parent
        path = unpack_zarr(path, label, into, limits)
    return Checked("grid", path, open_in_process("grid", path, label, limits))


def _open_here(kind: str, path: str, name: str) -> dict[str, Any]:
    """The check the separate process runs: open, read each variable's ends, summarise."""
    if kind == "observations":
        from .observations import read_observations

        return read_observations(path, name).summary()
    import dask

    from .contract import summarize
    from .opened import OpenedSource
    from .registry import adapter_for_uri

    dask.config.set(scheduler="synchronous")  # no thread pool in a limited process
    try:
        opened = OpenedSource.from_adapter(adapter_for_uri(path), name, name)
    except SourceError as exc:
        text = str(exc).replace(path, name)
        raise SourceError(text if text.startswith(name) else f"{name}: {text}") from exc
    for var, da in opened.dataset.data_vars.items():
        if da.ndim:  # the first and the last value: a truncated file fails on its end
            try:
                da[(0,) * da.ndim].values, da[(-1,) * da.ndim].values
            except Exception as exc:  # whatever the C library raises: one line
                raise SourceError(
                    f"{name}: '{var}' cannot be read ({short_reason(exc)}); the file is "
                    "damaged or incomplete"
                ) from exc
    return summarize(opened.dataset, name, opened.title)


#: How the loader and the C libraries say the address-space limit was reached.
_OUT_OF_ADDRESS_SPACE = ("failed to map segment", "annot allocate memory")


def _child(argv: list[str]) -> int:
    """Entry of the checking process: ``KIND PATH NAME MEMORY_MB``; one JSON line out."""
    import resource

    kind, path, name, memory_mb = argv
    limit = int(memory_mb) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        answer: dict[str, Any] = {"summary": _open_here(kind, path, name)}
    except SourceError as exc:
        answer = {"error": str(exc)}
    except MemoryError:
        answer = {"error": f"{name}: opening it needs more than {memory_mb} MB (the limit)"}
    except Exception as exc:  # any library's error, in one line
        if any(sign in str(exc) for sign in _OUT_OF_ADDRESS_SPACE):
            # a library loaded for this file found no room under the limit
            answer = {"error": f"{name}: opening it needs more than {memory_mb} MB (the limit)"}
        else:
            answer = {"error": f"{name}: cannot be opened ({short_reason(exc)}); check the file"}
    print(json.dumps(answer, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
