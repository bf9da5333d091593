"""The adapter registry: which adapter class a catalog's ``adapter:`` type name opens.

Three kinds of adapters answer to a type name, first found first:

- the built-in ones, named in :data:`BUILTIN_ADAPTERS` as ``"module:Class"`` strings and
  imported on first use (this module imports no adapter, so no adapter module's import
  can come back here: no import circle);
- any subclass of :class:`~data_adapters.base.Adapter` that sets ``adapter_type`` (found
  among the subclasses when asked: defining the class registers it);
- adapters of other packages, advertised in the entry-point group
  ``ocean_explorer.adapters`` (scanned once per registry; a plugin that fails to load is
  warned about and left out, as xarray does with its backends).

A dotted ``module.Class`` (or ``module:Class``) path also works as a type name. An unknown
name answers with "did you mean ...".

:class:`AdapterRegistry` holds no global state beyond its own: tests make a fresh one (with
their own entry points) instead of clearing a module's globals. The module-level functions
ask :data:`REGISTRY`, the product's registry.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .base import Adapter
from .errors import SourceError, did_you_mean

#: The entry-point group through which other packages add adapters
#: (``name = "package.module:AdapterClass"``).
ENTRY_POINT_GROUP = "ocean_explorer.adapters"

#: Type name -> ``"module:Class"`` of each built-in adapter, imported on first use.
BUILTIN_ADAPTERS: Mapping[str, str] = {
    "netcdf": "data_adapters.netcdf:NetCDFAdapter",
    "zarr": "data_adapters.zarr_store:ZarrAdapter",
    "opendap": "data_adapters.opendap:OpendapAdapter",
    "cmems": "data_adapters.cmems:CopernicusMarineAdapter",
    "stac": "data_adapters.stac:StacAdapter",
    "demo": "data_adapters.demo:DemoOceanAdapter",
}


def _import_class(target: str) -> Any:
    """The object that ``"module:attr"`` (or ``"module.attr"``) names."""
    module_name, _, attr = target.replace(":", ".").rpartition(".")
    return getattr(importlib.import_module(module_name), attr)


def _subclasses(cls: type[Adapter]) -> Iterable[type[Adapter]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


class AdapterRegistry:
    """Type names -> adapter classes: built-in, subclassed and plugged in.

    Parameters
    ----------
    builtins
        Type name -> ``"module:Class"`` of the adapters that come with the product.
    entry_points
        ``entry_points(group=...)`` as :mod:`importlib.metadata` has it; a test passes its
        own list.
    group
        The entry-point group scanned for plugins.
    """

    def __init__(
        self,
        builtins: Mapping[str, str] = BUILTIN_ADAPTERS,
        entry_points: Callable[..., Iterable[Any]] = importlib.metadata.entry_points,
        group: str = ENTRY_POINT_GROUP,
    ) -> None:
        self.builtins = dict(builtins)
        self._entry_points = entry_points
        self.group = group
        self._plugins: dict[str, type[Adapter]] | None = None
        self._lock = threading.Lock()

    # -- finding classes ------------------------------------------------------------------
    def _subclassed(self) -> dict[str, type[Adapter]]:
        """Subclasses of Adapter that set ``adapter_type`` (the last defined wins a name)."""
        found: dict[str, type[Adapter]] = {}
        for cls in _subclasses(Adapter):
            name = cls.__dict__.get("adapter_type")
            if name:
                found[name] = cls
        return found

    def _builtin(self, type_name: str) -> None:
        """Import the built-in adapter ``type_name`` (its class then is a known subclass)."""
        _import_class(self.builtins[type_name])

    def plugins(self) -> dict[str, type[Adapter]]:
        """Adapters advertised by other packages; warns (doesn't crash) on a broken one."""
        with self._lock:  # one scan, however many sessions ask at once
            if self._plugins is None:
                plugins: dict[str, type[Adapter]] = {}
                for ep in self._entry_points(group=self.group):
                    try:
                        cls = ep.load()
                    except Exception as exc:  # a third-party plugin must not take the app down
                        warnings.warn(
                            f"adapter plugin '{ep.name}' failed to load: {exc}", stacklevel=3
                        )
                        continue
                    if isinstance(cls, type) and issubclass(cls, Adapter):
                        plugins[ep.name] = cls
                self._plugins = plugins
            return dict(self._plugins)

    def registered_adapters(self) -> dict[str, type[Adapter]]:
        """Type name -> adapter class, built-in and plugin adapters together."""
        for name in self.builtins:
            self._builtin(name)
        found = self._subclassed()
        for name, cls in self.plugins().items():
            found.setdefault(name, cls)
        return found

    def adapter_class(self, type_name: str) -> type[Adapter]:
        """The adapter class for a catalog ``adapter:`` value (a type name or
        ``module.Class``)."""
        if type_name in self.builtins:
            self._builtin(type_name)
        found = self._subclassed()
        if type_name in found:
            return found[type_name]
        plugins = self.plugins()
        if type_name in plugins:
            return plugins[type_name]
        if "." in type_name or ":" in type_name:
            try:
                cls = _import_class(type_name)
            except (ImportError, AttributeError) as exc:
                raise SourceError(f"adapter '{type_name}' cannot be imported ({exc})") from exc
            if not (isinstance(cls, type) and issubclass(cls, Adapter)):
                raise SourceError(f"'{type_name}' is not an ocean-explorer Adapter subclass")
            return cls
        known = sorted({*self.builtins, *found, *plugins})
        raise SourceError(
            f"unknown adapter type '{type_name}'{did_you_mean(type_name, known)}; "
            f"known: {', '.join(known)}"
        )

    # -- making adapters ------------------------------------------------------------------
    def make_adapter(self, type_name: str, params: dict[str, Any], where: str = "") -> Adapter:
        """Build an adapter from catalog parameters, rejecting unknown keys by name."""
        cls = self.adapter_class(type_name)
        known = [p for p in cls.param if p != "name"]
        for key in params:
            if key not in known:
                raise SourceError(
                    f"{where}unknown key '{key}' for adapter '{type_name}'"
                    f"{did_you_mean(key, known)}; allowed: {', '.join(known)}"
                )
        try:
            return cls(**params)
        except (ValueError, TypeError) as exc:
            raise SourceError(f"{where}bad value for adapter '{type_name}': {exc}") from exc

    def adapter_for_uri(self, uri: str) -> Adapter:
        """Pick the adapter for a bare path or URL by asking each ``guess_can_open``."""
        candidates = sorted(self.registered_adapters().values(), key=lambda c: c.priority)
        for cls in candidates:
            if cls.guess_can_open(uri):
                return cls.from_uri(uri)
        raise SourceError(
            f"{uri}: no such file, directory, catalog id or supported URL; give a NetCDF/Zarr "
            "path, a glob, an http(s) OPeNDAP/Zarr URL, cmems:DATASET_ID, "
            "stac:ROOT#COLLECTION/ITEM or a catalog id"
        )


#: The product's registry: the built-in adapters and the installed plugins.
REGISTRY = AdapterRegistry()


def registered_adapters() -> dict[str, type[Adapter]]:
    """Type name -> adapter class in :data:`REGISTRY`, built-in and plugin adapters together."""
    return REGISTRY.registered_adapters()


def adapter_class(type_name: str) -> type[Adapter]:
    """The adapter class for a catalog ``adapter:`` value (see
    :meth:`AdapterRegistry.adapter_class`)."""
    return REGISTRY.adapter_class(type_name)


def make_adapter(type_name: str, params: dict[str, Any], where: str = "") -> Adapter:
    """Build an adapter from catalog parameters, rejecting unknown keys by name."""
    return REGISTRY.make_adapter(type_name, params, where)


def adapter_for_uri(uri: str) -> Adapter:
    """Pick the adapter for a bare path or URL by asking each ``guess_can_open``."""
    return REGISTRY.adapter_for_uri(uri)
