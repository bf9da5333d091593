"""The Copernicus Marine Toolbox adapter (optional extra ``ocean-explorer[cmems]``).

Wraps ``copernicusmarine.open_dataset``, which is lazy (ARCO Zarr over HTTPS). Credentials
come from the toolbox itself: ``copernicusmarine login``'s file, or the environment variables
COPERNICUSMARINE_SERVICE_USERNAME / COPERNICUSMARINE_SERVICE_PASSWORD.

Each product comes in two ARCO layouts: ``arco-geo-series`` (time-chunked: maps) and
``arco-time-series`` (geo-chunked: point series). Unless ``service`` pins another one, the
dataset is opened as the toolbox chooses and, on the first point series, the same dataset
from ``arco-time-series`` too (``open_series``).

Two traps of the toolbox are guarded here: without credentials and without a terminal it
*returns None* instead of raising, and with credentials but no network it retries for about
90 s. We bound the wait ourselves and turn both into a one-line SourceError.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, ClassVar

import param
import xarray as xr

from .base import Adapter
from .errors import SourceError, call_with_deadline, short_reason
from .transport import default_timeout

PREFIX = "cmems:"
#: The toolbox's ARCO services: time-chunked (for maps) and geo-chunked (for point series).
MAPS_SERVICE, SERIES_SERVICE = "arco-geo-series", "arco-time-series"
SERVICES = [None, MAPS_SERVICE, SERIES_SERVICE]

_LOGIN_HINT = (
    "run 'copernicusmarine login' or set COPERNICUSMARINE_SERVICE_USERNAME and "
    "COPERNICUSMARINE_SERVICE_PASSWORD"
)
#: The toolbox's exception class names -> the fix to suggest (matched by name: the toolbox is
#: an optional extra, and tests replace it).
_FIXES = {
    "InvalidUsernameOrPassword": _LOGIN_HINT,
    "CredentialsCannotBeNone": _LOGIN_HINT,
    "DatasetNotFound": "check the dataset id in the Copernicus Marine catalogue",
    "ProductNotFound": "check the dataset id in the Copernicus Marine catalogue",
    "DatasetVersionNotFound": "check 'dataset_version' or leave it out for the latest",
    "DatasetVersionPartNotFound": "check 'dataset_version' or leave it out for the latest",
    "VariableDoesNotExistInTheDataset": "check 'variables' against the dataset's variables",
    "ServiceNotAvailable": "leave 'service' out to let the toolbox choose",
    "ServiceDoesNotExistForCommand": "leave 'service' out to let the toolbox choose",
    "ServiceNotSupported": "leave 'service' out to let the toolbox choose",
    "CouldNotConnectToAuthenticationSystem": "check the network",
}


def _toolbox_open_dataset(**kwargs: Any) -> xr.Dataset | None:
    """The real opener; tests replace ``CopernicusMarineAdapter.opener``."""
    # Fail fast instead of 5 silent retries when the network is down (read at import time).
    os.environ.setdefault("COPERNICUSMARINE_HTTPS_RETRIES", "0")
    try:
        import copernicusmarine
    except ImportError as exc:
        raise SourceError(
            "the Copernicus Marine adapter needs the optional extra: "
            "pip install 'ocean-explorer[cmems]'"
        ) from exc
    return copernicusmarine.open_dataset(**kwargs)


class CopernicusMarineAdapter(Adapter):
    """A Copernicus Marine dataset, e.g. ``cmems_mod_glo_phy-thetao_anfc_0.083deg_P1D-m``."""

    adapter_type: ClassVar[str] = "cmems"
    priority: ClassVar[int] = 10
    #: The function that opens a dataset; a test may put a stand-in here.
    opener: ClassVar[Callable[..., xr.Dataset | None]] = staticmethod(_toolbox_open_dataset)

    dataset_id = param.String(doc="Copernicus Marine dataset id.")
    dataset_version = param.String(default=None, allow_None=True, doc="Version; None: latest.")
    service = param.Selector(
        default=None,
        objects=SERVICES,
        allow_None=True,
        doc="'arco-geo-series' (time-chunked: maps), 'arco-time-series' (geo-chunked: series); "
        "None lets the toolbox choose.",
    )
    timeout = param.Number(
        default=None,
        allow_None=True,
        bounds=(0.1, None),
        doc="Seconds to wait for the service to describe the dataset; None: "
        "$OCEAN_EXPLORER_TIMEOUT or 20, at least 30, read when the dataset is opened.",
    )

    @classmethod
    def guess_can_open(cls, uri: str) -> bool:
        return uri.startswith(PREFIX)

    @classmethod
    def from_uri(cls, uri: str) -> CopernicusMarineAdapter:
        return cls(dataset_id=uri[len(PREFIX) :])

    @property
    def label(self) -> str:
        return PREFIX + self.dataset_id

    def _open(self) -> xr.Dataset:
        return self._open_service(self.service)

    def _open_series(self) -> xr.Dataset | None:
        """The geo-chunked ``arco-time-series`` copy of the dataset, unless the dataset
        itself was asked for in another service than the time-chunked one (then it is
        already what the user chose for every read)."""
        if self.service not in (None, MAPS_SERVICE):
            return None
        return self._open_service(SERIES_SERVICE)

    def _open_service(self, service: str | None) -> xr.Dataset:
        """The dataset from ``service`` (None: the toolbox chooses), lazily."""
        if not self.dataset_id:
            raise SourceError("cmems: no dataset id given; use cmems:DATASET_ID")
        kwargs: dict[str, Any] = {"dataset_id": self.dataset_id}
        if self.dataset_version:
            kwargs["dataset_version"] = self.dataset_version
        if service:
            kwargs["service"] = service
        if self.variables:
            kwargs["variables"] = list(self.variables)
        ds = self._call_opener(kwargs)
        if ds is None:
            raise SourceError(f"{self.label}: no Copernicus Marine credentials; {_LOGIN_HINT}")
        if not isinstance(ds, xr.Dataset):
            raise SourceError(
                f"{self.label}: the Copernicus Marine Toolbox returned {type(ds).__name__}, "
                "not a dataset; check the installed copernicusmarine version (2.5 or later)"
            )
        return ds

    def _call_opener(self, kwargs: dict[str, Any]) -> xr.Dataset | None:
        """Run the opener with a deadline of ``timeout`` seconds (see call_with_deadline)."""
        opener = type(self).opener
        # the toolbox describes a dataset in several requests: never less than 30 s by default
        timeout = max(default_timeout(), 30.0) if self.timeout is None else self.timeout
        try:
            return call_with_deadline(
                lambda: opener(**kwargs),
                timeout,
                f"{self.label}: Copernicus Marine did not answer within {timeout:g} s; "
                "check the network or raise 'timeout'",
                name=f"cmems-open-{self.dataset_id}",
            )
        except SourceError:
            raise
        except Exception as exc:
            fix = _FIXES.get(
                type(exc).__name__, "check the dataset id, the network and credentials"
            )
            raise SourceError(
                f"{self.label}: Copernicus Marine refused ({short_reason(exc)}); {fix}"
            ) from exc
