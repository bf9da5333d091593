"""Remote sources: OPeNDAP / THREDDS / ERDDAP griddap, and what every remote read shares.

Every request to a remote source, when it is opened and when a chunk is read later by dask
(a map frame, a point series), follows one policy:

- **Bounded time.** Each request gets the adapter's ``timeout`` (seconds) for the whole
  answer, first byte to last: a server that stalls, or trickles its answer, ends in a
  timeout, never in a hang. Timeouts are *not* retried: a server that does not answer in
  time is most often overloaded, and asking again would double the wait for the same
  message.
- **Retries where safe** (:class:`RetryPolicy`): every read is an idempotent GET, tried at
  most ``attempts`` times (3) when the failure may pass: HTTP 5xx, HTTP 429 (after the
  server's ``Retry-After``, when it asks for at most ``retry_after_cap_s``; longer, and the
  read fails at once saying how long to wait), a refused or reset connection, an answer
  cut short. Between tries: ``backoff_s`` (0.25 s), doubled each time. Other 4xx, HTML
  pages instead of data and timeouts are never retried. The worst case of one read is
  :meth:`RetryPolicy.bound` (``attempts x timeout`` plus the waits).
- **One-line errors.** A read that fails ends in a :class:`SourceError` that names the
  source (password replaced by ``***``), what happened (HTTP 503, too many requests, timed
  out after N s, an HTML page instead of data, cut short, a missing chunk) and what to do.
  Lazy reads raise it too, from inside dask: Zarr over HTTP through
  :class:`GuardedHTTPFileSystem` (the fsspec filesystem zarr reads chunks with), OPeNDAP
  through a netCDF4 data store whose arrays read with the same policy.
- **Structured logs.** Each retry logs ``event=retry`` (info) and each failure
  ``event=source_error`` (warning) on the ``data_adapters.remote`` logger, as ``key=value``
  fields: ``source`` (redacted), ``where``, ``reason`` (``http_503``, ``timeout``,
  ``refused``...), ``attempt=2/3``, ``elapsed_ms``, ``wait_ms``.
- **Recovery.** Nothing remembers a failure: the next read of the same dataset asks the
  server again, and a failed open is not cached by the catalog (``functools.lru_cache``
  keeps results only).

**Missing Zarr chunks.** Zarr reads a chunk the server answers 404 for as "never written"
and fills it with the fill value: a store written without its all-fill chunks (zarr's
default) is sparse on purpose, so a 404 alone cannot tell such a chunk from one the server
lost. Hence:

- a store written by ``ocean-explorer prepare`` says ``"complete": true`` in its layouts
  attribute (it writes every chunk): there a chunk 404 is an error (``SourceError``
  "chunk K is missing on the server");
- any other store reads it as fill (no data), and the key is recorded in the store's
  :class:`MissingChunks` (each data variable's ``encoding["missing_chunks"]``, kept by
  selections; :func:`missing_chunks` finds it) and logged once as ``event=chunk_missing``,
  so a view can tell the user that part of what it shows is no data because of the server;
- a chunk missing when the store is opened is always an error: an open reads coordinates
  only, and filled coordinates would put the data in the wrong place.

**OPeNDAP** reads go through netCDF-C, whose HTTP timeout is set from ``timeout`` and which
reports only the class of a failure ("Access failure", "I/O failure"): when that is
ambiguous, one GET of the dataset's ``.dds`` asks the server what is wrong (its status,
``Retry-After``, an HTML page). Small variables netCDF-C fetched whole at the open are read
from its memory afterwards, and cannot fail.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit, urlunsplit

import param
import requests
import urllib3
import xarray as xr
from xarray.backends.netCDF4_ import NetCDF4ArrayWrapper, NetCDF4DataStore
from xarray.core.indexing import LazilyIndexedArray

from .base import DEFAULT_TIMEOUT, Adapter
from .errors import (
    HTML_PAGE,
    Failure,
    SourceError,
    call_with_deadline,
    classify,
    failure_for_status,
    log_field,
    looks_like_html,
    read_errors,
    timeout_failure,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

#: File names of Zarr metadata documents (v2 and v3); every other key of a store is a chunk.
ZARR_METADATA = frozenset({"zarr.json", ".zarray", ".zgroup", ".zattrs", ".zmetadata"})
#: Key of a data variable's ``encoding`` that holds its store's :class:`MissingChunks`.
MISSING_CHUNKS_KEY = "missing_chunks"


def is_url(uri: str) -> bool:
    """True for http(s) URLs."""
    return urlsplit(uri).scheme in ("http", "https")


def redact(uri: str) -> str:
    """``uri`` with any password replaced by ``***``, for messages and logs."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


# -- the policy -----------------------------------------------------------------------------
@dataclass(frozen=True)
class RetryPolicy:
    """How often, and after how long, a failed remote read is tried again.

    Only failures that :class:`~data_adapters.errors.Failure` marks ``retriable`` are (all
    reads are idempotent GETs): HTTP 5xx, 429, refused or reset connections, cut-short
    answers.
    """

    #: Tries in all, the first included.
    attempts: int = 3
    #: Seconds before the second try; doubled before each further one.
    backoff_s: float = 0.25
    #: Longest ``Retry-After`` (seconds) honoured; a server asking for more fails the read
    #: at once (a map must not wait minutes), with the wait in the message.
    retry_after_cap_s: float = 5.0

    def wait(self, failure: Failure, attempt: int) -> float | None:
        """Seconds to wait before trying again after ``attempt`` failed, or None to stop."""
        if not failure.retriable or attempt >= self.attempts:
            return None
        if failure.retry_after is not None:
            return None if failure.retry_after > self.retry_after_cap_s else failure.retry_after
        return self.backoff_s * 2 ** (attempt - 1)

    def bound(self, timeout: float) -> float:
        """The longest one read can take (seconds) with requests of ``timeout`` seconds."""
        longest_wait = max(self.retry_after_cap_s, self.backoff_s * 2 ** (self.attempts - 2))
        return self.attempts * timeout + (self.attempts - 1) * longest_wait


#: The policy of every remote adapter.
POLICY = RetryPolicy()


def log_event(event: str, level: int = logging.WARNING, **fields: object) -> None:
    """Log one ``event=NAME key=value ...`` line on ``data_adapters.remote``."""
    text = " ".join(f"{key}={log_field(value)}" for key, value in fields.items())
    log.log(level, "event=%s %s", event, text)


def _give_up(
    exc: BaseException,
    failure: Failure,
    attempt: int,
    policy: RetryPolicy,
    label: str,
    where: str,
    started: float,
) -> SourceError:
    if failure.retriable and failure.retry_after is not None and attempt < policy.attempts:
        # retriable, but the server asks for a longer wait than a view can afford
        failure = dataclasses.replace(
            failure,
            fix=f"the server asks to wait {failure.retry_after:.0f} s: try again after that",
        )
    log_event(
        "source_error",
        logging.WARNING,
        source=label,
        where=where,
        reason=failure.reason,
        attempt=f"{attempt}/{policy.attempts}",
        elapsed_ms=round(1000 * (time.monotonic() - started)),
    )
    error = SourceError(failure.message(label, where, attempt))
    error.__cause__ = exc
    return error


def _log_retry(
    failure: Failure, attempt: int, wait: float, policy: RetryPolicy, label: str, where: str
) -> None:
    log_event(
        "retry",
        logging.INFO,  # routine on a busy server; the failure, if it comes, is a warning
        source=label,
        where=where,
        reason=failure.reason,
        attempt=f"{attempt}/{policy.attempts}",
        wait_ms=round(1000 * wait),
    )


def with_retries(
    call: Callable[[], T],
    *,
    label: str,
    timeout: float,
    where: str = "",
    policy: RetryPolicy = POLICY,
    judge: Callable[[BaseException, float], Failure] | None = None,
) -> T:
    """``call()``, tried again as ``policy`` allows; a failure ends in a one-line SourceError.

    Parameters
    ----------
    call
        One request (it must bound its own time, e.g. by ``timeout``).
    label
        The source, as messages name it (redacted).
    timeout
        Seconds each request may take (for messages).
    where
        What is being read (``"reading 'sst/c/0/0'"``), for messages and logs.
    judge
        ``judge(exc, seconds_taken) -> Failure``; default :func:`~data_adapters.errors.classify`.

    Raises
    ------
    SourceError
        When the read failed and may not (or no longer) be tried again; a SourceError
        raised by ``call`` (an HTML page, a missing chunk) is final at once.
    """
    started = time.monotonic()
    for attempt in range(1, policy.attempts + 1):
        begun = time.monotonic()
        try:
            return call()
        except SourceError:
            raise
        except read_errors() as exc:
            failure = judge(exc, time.monotonic() - begun) if judge else classify(exc, timeout)
            wait = policy.wait(failure, attempt)
            if wait is None:
                raise _give_up(exc, failure, attempt, policy, label, where, started) from exc
            _log_retry(failure, attempt, wait, policy, label, where)
            time.sleep(wait)  # back-off before asking the server again
    raise AssertionError("unreachable: the last attempt returns or raises")


async def with_retries_async(
    call: Callable[[], Awaitable[T]],
    *,
    label: str,
    timeout: float,
    where: str = "",
    policy: RetryPolicy = POLICY,
) -> T:
    """:func:`with_retries` for coroutines (zarr reads chunks on an asyncio loop)."""
    started = time.monotonic()
    for attempt in range(1, policy.attempts + 1):
        try:
            return await call()
        except (SourceError, FileNotFoundError):
            raise  # final, or (404) zarr's to judge: a document or chunk that is not there
        except read_errors() as exc:
            failure = classify(exc, timeout)
            wait = policy.wait(failure, attempt)
            if wait is None:
                raise _give_up(exc, failure, attempt, policy, label, where, started) from exc
            _log_retry(failure, attempt, wait, policy, label, where)
            await asyncio.sleep(wait)  # other chunks go on being read meanwhile
    raise AssertionError("unreachable: the last attempt returns or raises")


# -- plain GETs (metadata documents) --------------------------------------------------------
class _TooSlowError(TimeoutError):
    """An answer still arriving when the request's time was up."""


def _get_once(url: str, timeout: float) -> requests.Response:
    """GET ``url`` within ``timeout`` seconds for the whole answer (requests' own timeout
    only bounds each wait for a byte: a trickling server would never hit it)."""
    started = time.monotonic()
    with requests.get(url, timeout=(timeout, timeout), stream=True) as resp:
        pieces = []
        while True:
            try:
                piece = resp.raw.read1(1 << 16, decode_content=True)
            except urllib3.exceptions.ReadTimeoutError as exc:
                raise requests.ReadTimeout(exc) from exc  # as resp.content would say
            except urllib3.exceptions.ProtocolError as exc:  # e.g. a body cut short
                raise requests.exceptions.ChunkedEncodingError(exc) from exc
            if not piece:
                break
            pieces.append(piece)
            if time.monotonic() - started > timeout:
                raise _TooSlowError(f"answer still arriving after {timeout:g} s")
        resp._content = b"".join(pieces)  # what resp.content would have read
        resp._content_consumed = True
    return resp


def _get_status(url: str, timeout: float) -> requests.Response:
    """:func:`_get_once`, raising for an HTTP error other than 404 (5xx and 429 are then
    retried, other 4xx not)."""
    resp = _get_once(url, timeout)
    if resp.status_code != 404:
        resp.raise_for_status()
    return resp


def check_reachable(
    urls: list[str],
    label: str,
    timeout: float,
    html_fix: str | None = None,
    policy: RetryPolicy = POLICY,
) -> requests.Response:
    """GET the first of ``urls`` that answers 200 (a 404 moves on to the next).

    Each GET follows the retry policy and gets ``timeout`` seconds for its whole answer; a
    refused connection, a silent or trickling server, an HTTP error or an HTML page becomes
    a one-line SourceError, so a bad URL never hangs the caller.

    Parameters
    ----------
    html_fix
        What to do when the server answers with an HTML page (default: check the URL).
    """

    def judge(exc: BaseException, took: float) -> Failure:
        if isinstance(exc, _TooSlowError):
            return timeout_failure(
                timeout, f"timed out after {timeout:g} s (the answer came too slowly)"
            )
        if isinstance(exc, requests.Timeout):
            return timeout_failure(timeout, f"no answer within {timeout:g} s (timed out)")
        return classify(exc, timeout)

    last: requests.Response | None = None
    for url in urls:
        resp = with_retries(
            functools.partial(_get_status, url, timeout),
            label=label,
            timeout=timeout,
            where=f"reading '{url.rsplit('/', 1)[-1]}'",
            policy=policy,
            judge=judge,
        )
        if resp.status_code == 200:
            if looks_like_html(resp.content):
                failure = HTML_PAGE
                if html_fix is not None:
                    failure = dataclasses.replace(HTML_PAGE, fix=html_fix)
                where = f"reading '{url.rsplit('/', 1)[-1]}'"
                log_event("source_error", logging.WARNING, source=label, where=where, reason="html")
                raise SourceError(failure.message(label, where))
            return resp
        last = resp
    assert last is not None
    failure = failure_for_status(last.status_code)
    log_event("source_error", logging.WARNING, source=label, reason=failure.reason)
    raise SourceError(failure.message(label))


# -- Zarr over HTTP -------------------------------------------------------------------------
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


def missing_chunks(obj: xr.DataArray | xr.Dataset) -> MissingChunks | None:
    """The :class:`MissingChunks` of the remote Zarr store ``obj`` was read from, or None
    (another kind of source, or a value computed from several)."""
    variables = [obj.variable] if isinstance(obj, xr.DataArray) else obj.data_vars.values()
    for var in variables:
        found = var.encoding.get(MISSING_CHUNKS_KEY)
        if isinstance(found, MissingChunks):
            return found
    return None


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
        """``ds``, just opened from this store, with each data variable given the store's
        :class:`MissingChunks`.

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
        for var in ds.data_vars.values():
            var.encoding[MISSING_CHUNKS_KEY] = self.missing
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


# -- OPeNDAP --------------------------------------------------------------------------------
@dataclass(frozen=True)
class _DapGuard:
    """Reads of one OPeNDAP dataset through netCDF-C, with the module's policy.

    netCDF-C says little about HTTP failures ("Access failure", "I/O failure"): when its
    words are ambiguous, one GET of the dataset's ``.dds`` asks the server what is wrong
    (the status, ``Retry-After``, an HTML page).
    """

    url: str
    label: str
    timeout: float
    policy: RetryPolicy = POLICY

    def read(self, what: str, call: Callable[[], T]) -> T:
        """``call()`` (one netCDF-C request), bounded, retried and explained."""
        # libcurl ends each request after `timeout` (see _set_dap_timeout); the deadline is a
        # backstop for whatever netCDF-C does around it
        deadline = 2 * self.timeout + 1
        return with_retries(
            lambda: call_with_deadline(
                call, deadline, self._stalled(deadline).message(self.label, what), "opendap-read"
            ),
            label=self.label,
            timeout=self.timeout,
            where=what,
            policy=self.policy,
            judge=self.judge,
        )

    def _stalled(self, seconds: float) -> Failure:
        return timeout_failure(
            seconds,
            f"timed out after {seconds:g} s: the server described the dataset, then stopped "
            "answering (or answered too slowly)",
        )

    def judge(self, exc: BaseException, took: float) -> Failure:
        """What a netCDF-C failure after ``took`` seconds means."""
        failure = classify(exc, self.timeout)
        if failure.reason in ("unreachable", "bad_answer") and took >= 0.8 * self.timeout:
            return self._stalled(self.timeout)  # libcurl gave up: a timeout, not retried
        if failure.reason in ("unreachable", "bad_answer", "http_4xx"):
            return self._probe() or failure
        return failure

    def _probe(self) -> Failure | None:
        """What the server says to a GET of the dataset's description; None when it answers
        with the description (the failure is in the data answer only)."""
        try:
            resp = _get_once(self.url + ".dds", self.timeout)
        except _TooSlowError:
            return None
        except read_errors() as exc:
            return classify(exc, self.timeout)
        if resp.status_code != 200:
            return failure_for_status(resp.status_code, resp.headers)
        return HTML_PAGE if looks_like_html(resp.content) else None


class _GuardedDapArray(NetCDF4ArrayWrapper):
    """A variable of an OPeNDAP dataset whose reads follow the module's policy (instead of
    xarray's six silent retries over a minute)."""

    __slots__ = ()

    def _getitem(self, key: Any) -> Any:
        guard: _DapGuard | None = getattr(self.datastore, "guard", None)
        if guard is None:
            return super()._getitem(key)

        def read() -> Any:
            with self.datastore.lock:
                return self.get_array(needs_lock=False)[key]

        return guard.read(f"reading '{self.variable_name}'", read)


class _GuardedDapStore(NetCDF4DataStore):
    """xarray's netCDF4 store for an OPeNDAP URL; its variables read through
    :class:`_GuardedDapArray`."""

    guard: _DapGuard | None = None

    def open_store_variable(self, name: str, var: Any) -> xr.Variable:
        variable = super().open_store_variable(name, var)
        if self.guard is None:
            return variable
        lazy = LazilyIndexedArray(_GuardedDapArray(name, self))
        return xr.Variable(variable.dims, lazy, variable.attrs, variable.encoding)


class OpendapAdapter(Adapter):
    """An OPeNDAP (DAP2) endpoint: THREDDS ``dodsC`` URLs, ERDDAP ``griddap`` URLs, Hyrax."""

    adapter_type: ClassVar[str] = "opendap"
    priority: ClassVar[int] = 30

    url = param.String(doc="The dataset's OPeNDAP URL (without .dds/.das/.html suffix).")
    timeout = param.Number(
        default=DEFAULT_TIMEOUT,
        bounds=(0.1, None),
        doc="Seconds to wait for each request to the server (a read is tried up to 3 times).",
    )

    @classmethod
    def guess_can_open(cls, uri: str) -> bool:
        return is_url(uri)

    @classmethod
    def from_uri(cls, uri: str) -> OpendapAdapter:
        return cls(url=uri)

    @property
    def label(self) -> str:
        return redact(self.url)

    def _open(self) -> xr.Dataset:
        url = self.url
        for suffix in (".html", ".dds", ".das", ".dmr"):
            if url.endswith(suffix):
                url = url[: -len(suffix)]
        # The DAP2 structure document: cheap, and proves it is an OPeNDAP server at all.
        dds = check_reachable(
            [url + ".dds"],
            self.label,
            self.timeout,
            html_fix="check that the URL is an OPeNDAP endpoint (not a catalogue or form page)",
        )
        if not dds.text.lstrip().startswith("Dataset"):
            raise SourceError(
                f"{self.label}: the server did not answer with an OPeNDAP description; "
                "check that the URL is an OPeNDAP endpoint"
            )
        _set_dap_timeout(self.timeout)
        guard = _DapGuard(url, self.label, self.timeout)

        def open_store() -> _GuardedDapStore:
            store = _GuardedDapStore.open(url)
            store.guard = guard
            return store

        store = guard.read("opening", open_store)
        # Decoding reads the coordinates (guarded reads, each bounded); the whole open gets
        # one more deadline in case netCDF-C blocks somewhere else.
        bound = 2 * POLICY.bound(self.timeout) + 1  # the open's reads, then the coordinates'
        return call_with_deadline(
            lambda: xr.open_dataset(store, chunks={}),
            bound,
            f"{self.label}: the server described the dataset, then stopped answering "
            f"(nothing within {bound:g} s); it may be overloaded: try later, or raise 'timeout'",
            name="opendap-open",
        )


def _set_dap_timeout(seconds: float) -> None:
    """Bound netCDF-C's HTTP requests (libcurl waits forever by default).

    The setting is process-wide: each open sets its adapter's timeout, and later reads of
    the opened data keep the latest one.
    """
    import netCDF4

    whole = str(max(1, math.ceil(seconds)))
    netCDF4.rc_set("HTTP.TIMEOUT", whole)
    netCDF4.rc_set("HTTP.CONNECTTIMEOUT", whole)
