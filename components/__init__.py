"""Panel views and the per-session state they share; the pure core is ``components.core``.

The views are imported on first use (``from components import MapView``), so that
``import components.core`` loads no Panel, HoloViews or Bokeh.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public name -> the module that defines it.
_VIEWS = {
    "ColorSettings": ".colors",
    "CompareView": ".compare_view",
    "ExplorerState": ".state",
    "LayerSettings": ".map_layers",
    "MapView": ".map",
    "ProbeView": ".probe_view",
    "TimeControls": ".controls",
}

__all__ = sorted(_VIEWS)


def __getattr__(name: str) -> Any:
    if name not in _VIEWS:
        raise AttributeError(f"module 'components' has no attribute '{name}'")
    return getattr(importlib.import_module(_VIEWS[name], __name__), name)
