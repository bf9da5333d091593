"""Remote sources: OPeNDAP / THREDDS / ERDDAP griddap, and the reachability check they share."""

from __future__ import annotations

import math
from typing import ClassVar
from urllib.parse import urlsplit, urlunsplit

import param
import requests
import xarray as xr

from .base import DEFAULT_TIMEOUT, Adapter
from .errors import SourceError, call_with_deadline, short_reason


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


def check_reachable(urls: list[str], label: str, timeout: float) -> requests.Response:
    """GET the first of ``urls`` that answers 200, within ``timeout`` seconds per try.

    A refused connection, a silent server or an HTTP error becomes a one-line SourceError,
    so a bad URL never hangs the caller beyond the timeout.
    """
    last = None
    for url in urls:
        try:
            resp = requests.get(url, timeout=(timeout, timeout))
        except requests.Timeout as exc:
            raise SourceError(
                f"{label}: no answer within {timeout:g} s; the server may be down "
                "(raise 'timeout' or OCEAN_EXPLORER_TIMEOUT for slow servers)"
            ) from exc
        except requests.ConnectionError as exc:
            raise SourceError(
                f"{label}: cannot connect ({_connection_reason(exc)}); check the URL and network"
            ) from exc
        if resp.status_code == 200:
            return resp
        last = resp
    assert last is not None
    raise SourceError(f"{label}: the server answered HTTP {last.status_code}; check the URL")


def _connection_reason(exc: requests.ConnectionError) -> str:
    """Why a connection failed, in words: requests buries it under urllib3's retry wrapper."""
    text = str(exc)
    if "refused" in text.lower():
        return "connection refused: nothing listens at that host and port"
    if "Name or service not known" in text or "getaddrinfo" in text or "resolve" in text:
        return "unknown host name"
    if "reset" in text.lower():
        return "connection reset by the server"
    return short_reason(exc, 100)


class OpendapAdapter(Adapter):
    """An OPeNDAP (DAP2) endpoint: THREDDS ``dodsC`` URLs, ERDDAP ``griddap`` URLs, Hyrax."""

    adapter_type: ClassVar[str] = "opendap"
    priority: ClassVar[int] = 30

    url = param.String(doc="The dataset's OPeNDAP URL (without .dds/.das/.html suffix).")
    timeout = param.Number(
        default=DEFAULT_TIMEOUT, bounds=(0.1, None), doc="Seconds to wait for the server."
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
        dds = check_reachable([url + ".dds"], self.label, self.timeout)
        if not dds.text.lstrip().startswith("Dataset"):
            raise SourceError(
                f"{self.label}: the server did not answer with an OPeNDAP description; "
                "check that the URL is an OPeNDAP endpoint"
            )
        _set_dap_timeout(self.timeout)
        # netCDF-C retries each timed-out request and xarray retries failed reads with
        # back-off (about a minute in all): the whole open gets one deadline instead.
        try:
            return call_with_deadline(
                lambda: xr.open_dataset(url, engine="netcdf4", chunks={}),
                2 * self.timeout + 1,
                f"{self.label}: the server described the dataset, then stopped answering "
                f"(nothing within {2 * self.timeout + 1:g} s); it may be overloaded: try "
                "later, or raise 'timeout'",
                name="opendap-open",
            )
        except OSError as exc:
            raise SourceError(f"{self.label}: OPeNDAP open failed ({short_reason(exc)})") from exc


def _set_dap_timeout(seconds: float) -> None:
    """Bound netCDF-C's HTTP requests (libcurl waits forever by default).

    The setting is process-wide: each open sets its adapter's timeout, and later reads of
    the opened data keep the latest one.
    """
    import netCDF4

    whole = str(max(1, math.ceil(seconds)))
    netCDF4.rc_set("HTTP.TIMEOUT", whole)
    netCDF4.rc_set("HTTP.CONNECTTIMEOUT", whole)
