"""Panel views and the per-session state they share."""

from .colors import ColorSettings
from .controls import TimeControls
from .map import LayerSettings, MapView
from .state import ExplorerState

__all__ = ["ColorSettings", "ExplorerState", "LayerSettings", "MapView", "TimeControls"]
