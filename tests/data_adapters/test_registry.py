"""The adapter registry: type names, plugins by entry point, dotted paths, URI guessing."""

from __future__ import annotations

import subprocess
import sys

import param
import pytest
import xarray as xr

from data_adapters import (
    Adapter,
    AdapterRegistry,
    SourceError,
    adapter_class,
    adapter_for_uri,
    make_adapter,
    registered_adapters,
)


class ToyAdapter(Adapter):
    """Not registered by type name (no adapter_type): reachable by dotted path or plugin."""

    size = param.Integer(default=3, doc="cells per side")

    def _open(self) -> xr.Dataset:
        import numpy as np

        n = self.size
        return xr.Dataset(
            {"t": (("lat", "lon"), np.arange(n * n, dtype="f4").reshape(n, n), {"units": "K"})},
            coords={
                "lat": ("lat", np.linspace(-10, 10, n), {"units": "degrees_north"}),
                "lon": ("lon", np.linspace(0, 20, n), {"units": "degrees_east"}),
            },
        )


class _EntryPoint:
    def __init__(self, name, target):
        self.name, self._target = name, target

    def load(self):
        if isinstance(self._target, Exception):
            raise self._target
        return self._target


@pytest.fixture
def plugins():
    """A fresh registry that sees only the given fake entry points (the product's is untouched)."""

    def install(*eps):
        return AdapterRegistry(entry_points=lambda group: list(eps))

    return install


def test_builtin_adapters_are_registered():
    names = set(registered_adapters())
    assert {"netcdf", "zarr", "opendap", "cmems", "demo"} <= names


def test_plugin_registers_through_entry_point(plugins):
    registry = plugins(_EntryPoint("toy", ToyAdapter))
    assert registry.adapter_class("toy") is ToyAdapter
    ds = registry.make_adapter("toy", {"size": 4}).open()
    assert ds["t"].shape == (4, 4)


def test_broken_plugin_warns_and_the_rest_still_work(plugins):
    plugins_registry = plugins(_EntryPoint("broken", ImportError("no module named nowhere")))
    with pytest.warns(UserWarning, match="adapter plugin 'broken' failed to load"):
        registry = plugins_registry.registered_adapters()
    assert "netcdf" in registry and "broken" not in registry


def test_dotted_path_names_an_adapter_class():
    cls = adapter_class(f"{__name__}.ToyAdapter")
    assert cls is ToyAdapter
    assert adapter_class(f"{__name__}:ToyAdapter") is ToyAdapter


def test_dotted_path_to_something_else_is_refused():
    with pytest.raises(SourceError, match="not an ocean-explorer Adapter"):
        adapter_class("os.path.join")
    with pytest.raises(SourceError, match="cannot be imported"):
        adapter_class("no_such_package.Adapter")


def test_unknown_type_says_did_you_mean():
    with pytest.raises(SourceError, match="did you mean 'netcdf'"):
        adapter_class("netcfd")


def test_unknown_parameter_says_did_you_mean():
    with pytest.raises(SourceError, match=r"unknown key 'pth'.*did you mean 'path'"):
        make_adapter("netcdf", {"pth": "x.nc"})


def test_bad_parameter_value_is_a_source_error():
    with pytest.raises(SourceError, match="bad value"):
        make_adapter("demo", {"resolution": 0.3})


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("cmems:cmems_mod_glo_phy-thetao_anfc_0.083deg_P1D-m", "cmems"),
        ("demo:", "demo"),
        ("https://example.org/store.zarr", "zarr"),
        ("/data/run.zarr/", "zarr"),
        ("https://example.org/thredds/dodsC/run.nc", "opendap"),
        ("/data/run.nc", "netcdf"),
        ("runs/*.nc", "netcdf"),
    ],
)
def test_uri_picks_the_adapter(uri, expected):
    assert adapter_for_uri(uri).adapter_type == expected


def test_unknown_scheme_is_refused():
    with pytest.raises(SourceError, match="no such file, directory, catalog id or supported URL"):
        adapter_for_uri("ftp://example.org/x.nc")


def test_the_registry_imports_no_adapter_until_asked():
    code = (
        "import sys, data_adapters.registry as r; "
        "mods = ('cmems', 'demo', 'netcdf', 'zarr_store', 'opendap', 'http_store'); "
        "print(sorted(m for m in mods if f'data_adapters.{m}' in sys.modules)); "
        "r.AdapterRegistry().adapter_class('demo'); "
        "print('data_adapters.demo' in sys.modules, 'data_adapters.cmems' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout.splitlines()
    assert out == ["[]", "True False"]


def test_a_fresh_registry_scans_its_plugins_once(plugins):
    calls = []

    def entry_points(group):
        calls.append(group)
        return [_EntryPoint("toy", ToyAdapter)]

    registry = AdapterRegistry(entry_points=entry_points)
    assert registry.adapter_class("toy") is ToyAdapter
    assert "toy" in registry.registered_adapters()
    assert calls == ["ocean_explorer.adapters"]
    assert "toy" not in registered_adapters()  # the product's registry never saw it
