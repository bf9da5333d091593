"""The OPeNDAP adapter: THREDDS ``dodsC``, ERDDAP ``griddap`` and Hyrax endpoints (DAP2).

Reads follow the transport's policy (``data_adapters.transport``). They go through
netCDF-C, whose HTTP timeout is set from ``timeout`` and which reports only the class of a
failure ("Access failure", "I/O failure"): when that is ambiguous, one GET of the dataset's
``.dds`` asks the server what is wrong (its status, ``Retry-After``, an HTML page). Small
variables netCDF-C fetched whole at the open are read from its memory afterwards, and
cannot fail.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import param
import xarray as xr
from xarray.backends.netCDF4_ import NetCDF4ArrayWrapper, NetCDF4DataStore
from xarray.core.indexing import LazilyIndexedArray

from .base import Adapter
from .errors import (
    HTML_PAGE,
    Failure,
    SourceError,
    call_with_deadline,
    classify,
    failure_for_status,
    looks_like_html,
    read_errors,
    timeout_failure,
)
from .transport import (
    POLICY,
    RetryPolicy,
    TooSlowError,
    check_reachable,
    get_once,
    is_url,
    redact,
    timeout_or_default,
    with_retries,
)

T = TypeVar("T")


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
            resp = get_once(self.url + ".dds", self.timeout)
        except TooSlowError:
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
        default=None,
        allow_None=True,
        bounds=(0.1, None),
        doc="Seconds to wait for each request to the server (a read is tried up to 3 times); "
        "None: $OCEAN_EXPLORER_TIMEOUT, else 20, read when the source is opened.",
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
        timeout = timeout_or_default(self.timeout)
        for suffix in (".html", ".dds", ".das", ".dmr"):
            if url.endswith(suffix):
                url = url[: -len(suffix)]
        # The DAP2 structure document: cheap, and proves it is an OPeNDAP server at all.
        dds = check_reachable(
            [url + ".dds"],
            self.label,
            timeout,
            html_fix="check that the URL is an OPeNDAP endpoint (not a catalogue or form page)",
        )
        if not dds.text.lstrip().startswith("Dataset"):
            raise SourceError(
                f"{self.label}: the server did not answer with an OPeNDAP description; "
                "check that the URL is an OPeNDAP endpoint"
            )
        _set_dap_timeout(timeout)
        guard = _DapGuard(url, self.label, timeout)

        def open_store() -> _GuardedDapStore:
            store = _GuardedDapStore.open(url)
            store.guard = guard
            return store

        store = guard.read("opening", open_store)
        # Decoding reads the coordinates (guarded reads, each bounded); the whole open gets
        # one more deadline in case netCDF-C blocks somewhere else.
        bound = 2 * POLICY.bound(timeout) + 1  # the open's reads, then the coordinates'
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
