"""The adapter registry: type names, plugins by entry point, dotted paths, URI guessing."""

from __future__ import annotations

import param
import pytest
import xarray as xr

from data_adapters import Adapter, SourceError, adapter_class, adapter_for_uri, base, make_adapter


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
def plugins(monkeypatch):
    """Install fake entry points; restores the registry afterwards."""
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))

    def install(*eps):
        monkeypatch.setattr(base, "entry_points", lambda group: list(eps))
        base._load_entry_points.cache_clear()

    yield install
    base._load_entry_points.cache_clear()


def test_builtin_adapters_are_registered():
    names = set(base.registered_adapters())
    assert {"netcdf", "zarr", "opendap", "cmems", "demo"} <= names


def test_plugin_registers_through_entry_point(plugins):
    plugins(_EntryPoint("toy", ToyAdapter))
    assert adapter_class("toy") is ToyAdapter
    ds = make_adapter("toy", {"size": 4}).open()
    assert ds["t"].shape == (4, 4)


def test_broken_plugin_warns_and_the_rest_still_work(plugins):
    plugins(_EntryPoint("broken", ImportError("no module named nowhere")))
    with pytest.warns(UserWarning, match="adapter plugin 'broken' failed to load"):
        registry = base.registered_adapters()
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
