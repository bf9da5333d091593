"""The adapter interface and its registry.

An adapter is one small param class, like xarray's ``BackendEntrypoint``: a type name, a
cheap ``guess_can_open(uri)``, and ``open()`` returning a lazy dataset normalised to the
data contract. Its params are the catalog's YAML keys, so a typo is rejected by name.

Adapters register by subclassing (``adapter_type = "name"``) or, from other packages,
through the entry-point group ``ocean_explorer.adapters``. A dotted ``module.Class`` path
also works as a type name.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import warnings
from importlib.metadata import entry_points
from typing import Any, ClassVar

import param
import xarray as xr

from .contract import normalize
from .errors import SourceError, did_you_mean, short_reason

ENTRY_POINT_GROUP = "ocean_explorer.adapters"

#: Seconds to wait for a remote source before giving up (env OCEAN_EXPLORER_TIMEOUT).
DEFAULT_TIMEOUT = float(os.environ.get("OCEAN_EXPLORER_TIMEOUT", "20"))

_REGISTRY: dict[str, type[Adapter]] = {}

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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("adapter_type"):
            _REGISTRY[cls.adapter_type] = cls

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


@functools.cache
def _load_entry_points() -> None:
    """Import adapters advertised by other packages; warn (don't crash) on a broken one."""
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = ep.load()
        except Exception as exc:  # a third-party plugin must not take the app down
            warnings.warn(f"adapter plugin '{ep.name}' failed to load: {exc}", stacklevel=2)
            continue
        if isinstance(cls, type) and issubclass(cls, Adapter):
            _REGISTRY.setdefault(ep.name, cls)


def registered_adapters() -> dict[str, type[Adapter]]:
    """Type name -> adapter class, built-in and plugin adapters together."""
    from . import adapters  # noqa: F401  (registers the built-in adapters)

    _load_entry_points()
    return dict(_REGISTRY)


def adapter_class(type_name: str) -> type[Adapter]:
    """The adapter class for a catalog ``adapter:`` value (a type name or ``module.Class``)."""
    registry = registered_adapters()
    if type_name in registry:
        return registry[type_name]
    if "." in type_name or ":" in type_name:
        module_name, _, attr = type_name.replace(":", ".").rpartition(".")
        try:
            cls = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise SourceError(f"adapter '{type_name}' cannot be imported ({exc})") from exc
        if not (isinstance(cls, type) and issubclass(cls, Adapter)):
            raise SourceError(f"'{type_name}' is not an ocean-explorer Adapter subclass")
        return cls
    raise SourceError(
        f"unknown adapter type '{type_name}'{did_you_mean(type_name, registry)}; "
        f"known: {', '.join(sorted(registry))}"
    )


def make_adapter(type_name: str, params: dict[str, Any], where: str = "") -> Adapter:
    """Build an adapter from catalog parameters, rejecting unknown keys by name."""
    cls = adapter_class(type_name)
    known = [p for p in cls.param if p != "name"]
    for key in params:
        if key not in known:
            raise SourceError(
                f"{where}unknown key '{key}' for adapter '{type_name}'{did_you_mean(key, known)}; "
                f"allowed: {', '.join(known)}"
            )
    try:
        return cls(**params)
    except (ValueError, TypeError) as exc:
        raise SourceError(f"{where}bad value for adapter '{type_name}': {exc}") from exc


def adapter_for_uri(uri: str) -> Adapter:
    """Pick the adapter for a bare path or URL by asking each ``guess_can_open``."""
    candidates = sorted(registered_adapters().values(), key=lambda c: c.priority)
    for cls in candidates:
        if cls.guess_can_open(uri):
            return cls.from_uri(uri)
    raise SourceError(
        f"{uri}: no such file, directory, catalog id or supported URL; give a NetCDF/Zarr "
        "path, a glob, an http(s) OPeNDAP/Zarr URL, cmems:DATASET_ID or a catalog id"
    )
