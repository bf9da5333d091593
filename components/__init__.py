"""Panel views and the per-session state they share."""

from .colors import ColorSettings
from .compare_view import CompareView
from .controls import TimeControls
from .map import LayerSettings, MapView
from .probe_view import ProbeView
from .state import ExplorerState

__all__ = [
    "ColorSettings",
    "CompareView",
    "ExplorerState",
    "LayerSettings",
    "MapView",
    "ProbeView",
    "TimeControls",
]
