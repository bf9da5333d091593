"""Imports run one way: app -> components -> components.core -> data_adapters (DESIGN.md §1)."""

import json
import subprocess
import sys

import pytest

UI_LIBRARIES = ("panel", "holoviews", "geoviews", "bokeh")


def _loaded_after_import(module: str) -> set[str]:
    code = (
        f"import json, sys; import {module}; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.slow
def test_data_adapters_loads_no_ui_library():
    loaded = _loaded_after_import("data_adapters")
    assert not loaded & set(UI_LIBRARIES), sorted(loaded & set(UI_LIBRARIES))


@pytest.mark.slow
def test_components_do_not_import_the_app():
    loaded = _loaded_after_import("components")
    assert "app" not in loaded


@pytest.mark.slow
def test_the_core_loads_no_ui_library():
    """``components.core`` (and every module in it) is pure: the CLI's computations load no
    Panel, HoloViews, GeoViews or Bokeh."""
    import pathlib

    core = pathlib.Path(__file__).resolve().parents[1] / "components" / "core"
    modules = ["components.core"] + [
        f"components.core.{p.stem}" for p in sorted(core.glob("*.py")) if p.stem != "__init__"
    ]
    loaded = _loaded_after_import(", ".join(modules))
    assert not loaded & set(UI_LIBRARIES), sorted(loaded & set(UI_LIBRARIES))
