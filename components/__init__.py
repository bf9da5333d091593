"""Panel views and the per-session state they share."""

from .map import MapView
from .state import ExplorerState

__all__ = ["ExplorerState", "MapView"]
