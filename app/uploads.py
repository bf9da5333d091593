"""A session's own data: uploads received in chunks, capped and checked on the server.

The "Add your data" control (Panel's FileDropper, which sends 10 MB chunks) hands each chunk
to an :class:`UploadReceiver` as it arrives (``panel_fixes.streaming_file_dropper``): the
chunk is written at its place in a file of the session's private temporary directory
(mode 0700; the file is named by the server, never by the client), and the bytes are counted
against ``serve --upload-max-mb``: past the limit the upload stops there and the user is told
the limit. A complete file is checked by :func:`data_adapters.uploads.check_file` (content by
magic bytes, zip entries, opened through the data contract in a separate process with time
and memory limits), then becomes a dataset of that session only.

An upload lives as long as its session, and at most :data:`UPLOAD_TTL_S`: then its dataset
is closed and its files removed. While it lives, its id (unguessable) opens it from a shared
link (:func:`shared_upload`); no other session lists it.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import os
import pathlib
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from data_adapters import OpenedSource, SourceError, adapter_for_uri
from data_adapters.observations import Observations, read_observations
from data_adapters.uploads import Limits, check_file, display_name, sniff

log = logging.getLogger(__name__)

#: Largest upload (MB = 10**6 bytes) unless ``serve --upload-max-mb`` says otherwise.
DEFAULT_UPLOAD_MAX_MB = 200.0
#: Seconds an upload lives at most, even while its session does (4 hours).
UPLOAD_TTL_S = 4 * 3600.0
#: How often a session looks for uploads past their time to live (ms).
EXPIRY_CHECK_MS = 60_000
#: Uploads a session keeps at once; a further one replaces the oldest.
MAX_UPLOADS = 4
#: Bytes per chunk the browser sends (Panel's FileDropper default).
CHUNK_BYTES = 10_000_000
#: What the server names a checked file, by content kind (the adapters pick by suffix).
STORED_NAMES = {"netcdf": "data.nc", "hdf5": "data.nc", "zip": "data.zip", "csv": "data.csv"}


@dataclass
class Upload:
    """One checked upload of a session: a gridded dataset or point observations."""

    id: str
    name: str
    directory: pathlib.Path
    created: float
    opened: OpenedSource | None = None
    observations: Observations | None = None
    summary: str = ""

    def close(self) -> None:
        """Close its dataset and remove its files."""
        if self.opened is not None:
            self.opened.dataset.close()
        shutil.rmtree(self.directory, ignore_errors=True)


@dataclass
class _Arriving:
    """A file whose chunks are arriving."""

    name: str
    directory: pathlib.Path
    fd: int
    total_chunks: int
    received: int = 0
    chunks: set[int] = field(default_factory=set)
    stopped: bool = False


#: Uploads of every live session by id: a shared link opens them while they live.
_LIVE: dict[str, Upload] = {}
_LIVE_LOCK = threading.Lock()


def shared_upload(upload_id: str) -> Upload | None:
    """The live upload with this id (from a shared link), or None."""
    with _LIVE_LOCK:
        return _LIVE.get(upload_id)


class UploadReceiver:
    """One session's uploads: chunks in, counted, written, checked, kept, and removed.

    Parameters
    ----------
    max_mb
        Largest upload (MB); counted while the chunks arrive.
    on_ready
        Called with each :class:`Upload` that passed the checks.
    on_refused
        Called with the one-line reason an upload was stopped or refused.
    """

    def __init__(
        self,
        max_mb: float,
        on_ready: Callable[[Upload], None],
        on_refused: Callable[[str], None],
        ttl_s: float = UPLOAD_TTL_S,
        chunk_bytes: int = CHUNK_BYTES,
        limits: Limits | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_mb = max_mb
        self.on_ready, self.on_refused = on_ready, on_refused
        self.ttl_s, self.chunk_bytes, self.clock = ttl_s, chunk_bytes, clock
        self.limits = limits or Limits()
        self.directory = pathlib.Path(tempfile.mkdtemp(prefix="ocean-explorer-uploads-"))
        self.uploads: dict[str, Upload] = {}
        self._arriving: dict[str, _Arriving] = {}
        self._lock = threading.Lock()
        self._closed = False
        #: Called with the id of each upload that is gone (caches drop what they hold of it).
        self.on_gone: list[Callable[[str], None]] = []

    # -- chunks -----------------------------------------------------------------------------
    def receive(self, data: dict) -> None:
        """Take one chunk event of the dropper (see ``panel_fixes.streaming_file_dropper``)."""
        if data.get("deleted"):
            return  # the browser forgets its list item; the dataset stays until the session ends
        key = str(data.get("name", ""))
        name = display_name(key, pathlib.Path("upload"))
        payload = data.get("data") or b""
        chunk, total = int(data.get("chunk", 1)), int(data.get("total_chunks", 1))
        refusal = None
        with self._lock:
            if self._closed:
                return
            arriving = self._arriving.get(key)
            if arriving is None or (chunk == 1 and arriving.stopped):
                arriving = self._start(key, name, total)
                if arriving.stopped:
                    refusal = self.too_large(name)
            if refusal is None and not (
                arriving.stopped or chunk in arriving.chunks or not 1 <= chunk <= total
            ):
                arriving.received += len(payload)
                if arriving.received > self.max_mb * 1e6:
                    self._stop(arriving)
                    refusal = self.too_large(name)
                else:
                    os.pwrite(arriving.fd, payload, (chunk - 1) * self.chunk_bytes)
                    arriving.chunks.add(chunk)
            complete = not arriving.stopped and len(arriving.chunks) == arriving.total_chunks
            if complete:
                del self._arriving[key]
                os.close(arriving.fd)
        if refusal is not None:  # told outside the lock: the notice updates the page
            log.warning("event=upload_refused reason=%r", refusal)
            self.on_refused(refusal)
        elif complete:
            self._finish(arriving)

    def _start(self, key: str, name: str, total: int) -> _Arriving:
        """A new arriving file (stopped at once when its announced size is over the limit)."""
        directory = pathlib.Path(tempfile.mkdtemp(dir=self.directory))
        fd = os.open(directory / "received", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        arriving = _Arriving(name, directory, fd, max(total, 1))
        self._arriving[key] = arriving
        if (total - 1) * self.chunk_bytes > self.max_mb * 1e6:
            self._stop(arriving)
        return arriving

    def too_large(self, name: str) -> str:
        """The notice of an upload stopped at the limit."""
        return (
            f"{name}: larger than the upload limit of {self.max_mb:g} MB; upload a smaller "
            "file, or a subset (ocean-explorer export)"
        )

    def _stop(self, arriving: _Arriving) -> None:
        """Stop an upload: its file is removed, its later chunks dropped."""
        arriving.stopped = True
        os.close(arriving.fd)
        shutil.rmtree(arriving.directory, ignore_errors=True)

    # -- checking ---------------------------------------------------------------------------
    def _finish(self, arriving: _Arriving) -> None:
        """Check a complete file and make it the session's dataset or observations."""
        received = arriving.directory / "received"
        try:
            stored = arriving.directory / STORED_NAMES[sniff(received, arriving.name)]
            received.rename(stored)
            checked = check_file(stored, arriving.name, arriving.directory, self.limits)
            upload = Upload(
                f"upload-{secrets.token_hex(8)}", arriving.name, arriving.directory, self.clock()
            )
            if checked.kind == "observations":
                upload.observations = read_observations(checked.path, arriving.name)
            else:
                adapter = adapter_for_uri(str(checked.path))
                upload.opened = OpenedSource.from_adapter(adapter, upload.id, arriving.name)
            upload.summary = checked.line(arriving.name)
        except SourceError as exc:
            shutil.rmtree(arriving.directory, ignore_errors=True)
            log.warning("event=upload_refused reason=%r", str(exc))
            self.on_refused(str(exc))
            return
        with self._lock:
            if self._closed:
                upload.close()
                return
            self.uploads[upload.id] = upload
            oldest = sorted(self.uploads.values(), key=lambda u: u.created)
            dropped = oldest[: max(len(oldest) - MAX_UPLOADS, 0)]
            for old in dropped:
                del self.uploads[old.id]
        with _LIVE_LOCK:
            _LIVE[upload.id] = upload
            for old in dropped:
                _LIVE.pop(old.id, None)
        for old in dropped:
            old.close()
        log.info("event=upload_ready id=%s bytes=%d", upload.id, arriving.received)
        self.on_ready(upload)

    # -- lifetime ---------------------------------------------------------------------------
    def expire(self) -> list[Upload]:
        """Remove the uploads older than the TTL; returns them (already closed)."""
        now = self.clock()
        with self._lock:
            old = [u for u in self.uploads.values() if now - u.created > self.ttl_s]
            for upload in old:
                del self.uploads[upload.id]
        self._forget(old)
        return old

    def close(self) -> None:
        """The session ended: every upload closed, every file removed."""
        with self._lock:
            self._closed = True
            old = list(self.uploads.values())
            self.uploads.clear()
            for arriving in self._arriving.values():
                if not arriving.stopped:
                    os.close(arriving.fd)
            self._arriving.clear()
        self._forget(old)
        shutil.rmtree(self.directory, ignore_errors=True)

    def _forget(self, uploads: list[Upload]) -> None:
        with _LIVE_LOCK:
            for upload in uploads:
                _LIVE.pop(upload.id, None)
        for upload in uploads:
            upload.close()
            for forget in self.on_gone:
                forget(upload.id)
        if uploads:
            release_memory()


def release_memory() -> None:
    """Give the memory an upload's chunks and data used back to the system.

    Chunks arrive as 10 MB buffers; once freed, glibc keeps such blocks in the heap for
    later use (its threshold for returning them grows with the sizes freed), so a server's
    RSS would stay up after the upload is gone. ``malloc_trim`` returns the free heap.
    """
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)
