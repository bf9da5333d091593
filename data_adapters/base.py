"""The adapter interface: what every data source class provides and gets.

An adapter is one small param class, like xarray's ``BackendEntrypoint``: a type name, a
cheap ``guess_can_open(uri)``, and ``open()`` returning a lazy dataset normalised to the
data contract. Its params are the catalog's YAML keys, so a typo is rejected by name.

Adapters register by subclassing (``adapter_type = "name"``) or, from other packages,
through the entry-point group ``ocean_explorer.adapters``: ``data_adapters.registry`` finds
them. This module knows no adapter and no registry.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, ClassVar

import param
import xarray as xr

from .contract import normalize
from .errors import SourceError, did_you_mean, short_reason
from .pyramid import MapPyramid

if TYPE_CHECKING:
    from .http_store import MissingChunks

log = logging.getLogger(__name__)


class Adapter(param.Parameterized):
    """Base class of every data adapter.

    Subclasses set ``adapter_type`` and implement ``_open`` (return the raw dataset) and,
    when they can be chosen from a bare path or URL, ``guess_can_open`` and ``from_uri``.
    """

    #: Type name used in catalogs (``adapter: netcdf``); None for abstract classes.
    adapter_type: ClassVar[str | None] = None
    #: Order in which ``guess_can_open`` is asked: lower first.
    priority: ClassVar[int] = 50

    variables = param.List(
        default=None,
        allow_None=True,
        item_type=str,
        doc="Variables to keep (default: every gridded variable of the source).",
    )

    # -- what subclasses provide ------------------------------------------------------------
    @classmethod
    def guess_can_open(cls, uri: str) -> bool:
        """Cheap check (no I/O beyond a stat) whether ``uri`` looks like this adapter's."""
        return False

    @classmethod
    def from_uri(cls, uri: str) -> Adapter:
        """An adapter instance for a bare path or URL given on the command line."""
        raise SourceError(f"adapter '{cls.adapter_type}' cannot open a bare path or URL")

    def _open(self) -> xr.Dataset:
        raise NotImplementedError

    def _open_series(self) -> xr.Dataset | None:
        """The raw dataset laid out for point series, or None when the source has no such
        layout (the default)."""
        return None

    def map_pyramid(self) -> MapPyramid:
        """Coarser copies of the maps of the dataset the last :meth:`open` returned, opened on
        first use; empty (the default) for sources without them."""
        return MapPyramid()

    def missing_chunks(self) -> MissingChunks | None:
        """The record of chunks of the last opened dataset that its server answered 404 for
        (read as no data), or None (the default) for sources that cannot lose chunks."""
        return None

    @property
    def label(self) -> str:
        """How this source is named in messages (its path, URL or dataset id)."""
        return self.adapter_type or type(self).__name__

    # -- what everybody gets ----------------------------------------------------------------
    def open(self) -> xr.Dataset:
        """Open the source lazily, normalised to the data contract.

        Raises
        ------
        SourceError
            With a one-line message naming the source and the fix.
        """
        try:
            raw = self._open()
        except SourceError:
            raise
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
            raise SourceError(f"{self.label}: cannot be opened ({short_reason(exc)})") from exc
        return self._normalised(raw)

    def open_series(self) -> xr.Dataset | None:
        """The same data laid out for point series, normalised the same way, or None.

        A source may keep a second copy of its data chunked for reading long series at a
        point (the whole time axis of a small tile per chunk: a store written by
        ``ocean-explorer prepare``, Copernicus Marine's ``arco-time-series``). Point series,
        profiles and sections read it; maps read :meth:`open`. It has the same variables,
        grid and contract as :meth:`open`'s dataset.

        Never raises: that copy only makes reads faster, so when it cannot be opened the
        reason is logged and None returned (the caller reads :meth:`open`'s dataset).
        """
        try:
            raw = self._open_series()
            return None if raw is None else self._normalised(raw)
        except (SourceError, OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
            log.warning("%s: the point-series layout cannot be opened (%s)", self.label, exc)
            return None

    def _normalised(self, raw: xr.Dataset) -> xr.Dataset:
        """``raw`` on the data contract, with only the chosen ``variables``."""
        ds = normalize(raw, source=self.label)
        if self.variables:
            missing = [v for v in self.variables if v not in ds.data_vars]
            if missing:
                raise SourceError(
                    f"{self.label}: unknown variable '{missing[0]}'"
                    f"{did_you_mean(missing[0], ds.data_vars)}; "
                    f"available: {', '.join(map(str, ds.data_vars))}"
                )
            ds = ds[self.variables]
        return ds
