"""Zarr over HTTP: the guarded fsspec filesystem zarr reads remote stores through.

Every metadata document and chunk of a remote store is read with the transport's policy
(``data_adapters.transport``: bounded, retried where safe, one-line errors).

**Missing Zarr chunks.** Zarr reads a chunk the server answers 404 for as "never written"
and fills it with the fill value: a store written without its all-fill chunks (zarr's
default) is sparse on purpose, so a 404 alone cannot tell such a chunk from one the server
lost. Hence:

- a store written by ``ocean-explorer prepare`` says ``"complete": true`` in its layouts
  attribute (it writes every chunk): there a chunk 404 is an error (``SourceError``
  "chunk K is missing on the server");
- any other store reads it as fill (no data), and the key is recorded in the store's
  :class:`MissingChunks` (``ZarrAdapter.missing_chunks()``, and the opened source's
  ``OpenedSource.missing_chunks``) and logged once as ``event=chunk_missing``, so a view can
  tell the user that part of what it shows is no data because of the server;
- a chunk missing when the store is opened is always an error: an open reads coordinates
  only, and filled coordinates would put the data in the wrong place.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import xarray as xr

from .errors import HTML_PAGE, SourceError, looks_like_html
from .transport import POLICY, RetryPolicy, log_event, with_retries_async

#: File names of Zarr metadata documents (v2 and v3); every other key of a store is a chunk.
ZARR_METADATA = frozenset({"zarr.json", ".zarray", ".zgroup", ".zattrs", ".zmetadata"})


def is_chunk_key(key: str) -> bool:
    """True for a Zarr key that names a chunk (anything but a metadata document)."""
    return key.rsplit("/", 1)[-1] not in ZARR_METADATA


class MissingChunks:
    """The chunk keys of one remote Zarr store that its server answered 404 for.

    Zarr reads them as fill values (no data). A view reads ``len()`` before and after it
    reads its data and tells the user when it grew (:meth:`note`). Thread-safe; a copy sent
    to a dask worker starts empty and counts what that worker reads.
    """

    def __init__(self, label: str) -> None:
        self.label = label
        self._keys: set[str] = set()
        self._lock = threading.Lock()

    def add(self, key: str) -> bool:
        """Record ``key``; True when it was not known yet."""
        with self._lock:
            new = key not in self._keys
            self._keys.add(key)
        return new

    def keys(self) -> list[str]:
        """The missing chunk keys found so far, sorted."""
        with self._lock:
            return sorted(self._keys)

    def __len__(self) -> int:
        with self._lock:
            return len(self._keys)

    def note(self, count: int) -> str:
        """The message for ``count`` chunks found missing by one read."""
        chunks = "1 chunk" if count == 1 else f"{count} chunks"
        verb = "is" if count == 1 else "are"
        return (
            f"{self.label}: {chunks} of this view {verb} missing on the server (shown as no "
            "data); the store may be incomplete: tell its provider"
        )

    def __getstate__(self) -> dict[str, Any]:
        return {"label": self.label}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["label"])  # type: ignore[misc]


class GuardedHTTPFileSystem:
    """An fsspec HTTP filesystem whose reads follow the module's policy.

    zarr's ``FsspecStore`` reads every metadata document and chunk with ``_cat_file`` (or
    ``_cat_ranges``): here each read is bounded by ``timeout`` seconds, retried as
    :data:`POLICY` allows and ends in a one-line SourceError; an HTML page instead of data is
    an error; a chunk answered 404 is recorded in ``missing`` (read as fill), or is an error
    when ``missing_is_error`` (a store known to be complete). Everything else is the wrapped
    filesystem's (this object stands in for it, attribute for attribute).

    Parameters
    ----------
    fs
        The asynchronous ``fsspec`` HTTP filesystem.
    root
        The store's URL (keys are the paths below it).
    label
        The store as messages name it (redacted).
    timeout
        Seconds for each request.
    """

    def __init__(
        self,
        fs: Any,
        root: str,
        label: str,
        timeout: float,
        missing_is_error: bool = False,
        policy: RetryPolicy = POLICY,
    ) -> None:
        self._fs = fs
        self.root = root.rstrip("/")
        self.label = label
        self.timeout = timeout
        self.missing_is_error = missing_is_error
        self.policy = policy
        self.missing = MissingChunks(label)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_fs":  # not there yet while unpickling
            raise AttributeError(name)
        return getattr(self._fs, name)

    def zarr_store(self) -> Any:
        """A read-only zarr store over this filesystem, rooted at the store's URL."""
        from zarr.storage import FsspecStore

        return FsspecStore(fs=self, path=self.root, read_only=True)

    def opened(self, ds: xr.Dataset, known: set[str]) -> xr.Dataset:
        """``ds``, just opened from this store, once its coordinates are known to be whole.

        ``known`` are the chunks known missing before the open. An open reads coordinates
        only, and a coordinate filled with fill values would put the data in the wrong place:
        a chunk found missing by the open is an error.
        """
        lost = sorted(set(self.missing.keys()) - known)
        if lost:
            raise SourceError(
                f"{self.label}: coordinate chunk '{lost[0]}' is missing on the server (HTTP "
                "404); the store is incomplete: tell its provider"
            )
        return ds

    def _key(self, path: str) -> str:
        return path[len(self.root) + 1 :] if path.startswith(self.root + "/") else path

    async def _cat_file(
        self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any
    ) -> bytes:
        key = self._key(path)

        async def once() -> bytes:
            try:
                async with asyncio.timeout(self.timeout):
                    data = await self._fs._cat_file(path, start=start, end=end, **kwargs)
            except FileNotFoundError:
                if is_chunk_key(key):
                    self._chunk_missing(key)
                raise  # zarr: a metadata document or chunk that is not there
            if start is None and looks_like_html(data):
                log_event(
                    "source_error", logging.WARNING, source=self.label, where=key, reason="html"
                )
                raise SourceError(HTML_PAGE.message(self.label, f"reading '{key}'"))
            return data

        return await with_retries_async(
            once,
            label=self.label,
            timeout=self.timeout,
            where=f"reading '{key}'",
            policy=self.policy,
        )

    async def _cat_ranges(
        self,
        paths: list[str],
        starts: list[int | None],
        ends: list[int | None],
        max_gap: int | None = None,
        on_error: str = "return",
        **kwargs: Any,
    ) -> list[Any]:
        # byte ranges of sharded stores: each one a guarded read, all at once
        results = await asyncio.gather(
            *(
                self._cat_file(p, s, e, **kwargs)
                for p, s, e in zip(paths, starts, ends, strict=True)
            ),
            return_exceptions=True,
        )
        if on_error != "return":
            for result in results:
                if isinstance(result, BaseException):
                    raise result
        return results

    def _chunk_missing(self, key: str) -> None:
        if self.missing_is_error:
            log_event(
                "source_error",
                logging.WARNING,
                source=self.label,
                where=key,
                reason="missing_chunk",
            )
            raise SourceError(
                f"{self.label}: chunk '{key}' is missing on the server (HTTP 404), although the "
                "store was written complete; the copy on the server is damaged: tell its "
                "provider, or publish the store again"
            )
        if self.missing.add(key):
            log_event("chunk_missing", source=self.label, where=key, reason="http_404")


def http_zarr_filesystem(
    url: str, label: str, timeout: float, missing_is_error: bool = False
) -> GuardedHTTPFileSystem:
    """The guarded filesystem for the Zarr store at ``url`` (http or https)."""
    import aiohttp
    from fsspec import url_to_fs

    # aiohttp's own limit for the whole request, as a second guard under asyncio's
    options = {"client_kwargs": {"timeout": aiohttp.ClientTimeout(total=timeout)}}
    fs, _ = url_to_fs(url, asynchronous=True, **options)  # as zarr makes it for a URL
    return GuardedHTTPFileSystem(fs, url, label, timeout, missing_is_error)
