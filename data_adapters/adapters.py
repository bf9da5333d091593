"""Imports the built-in adapters so that they register themselves."""

from .cmems import CopernicusMarineAdapter
from .demo import DemoOceanAdapter
from .local import NetCDFAdapter, ZarrAdapter
from .remote import OpendapAdapter

__all__ = [
    "CopernicusMarineAdapter",
    "DemoOceanAdapter",
    "NetCDFAdapter",
    "OpendapAdapter",
    "ZarrAdapter",
]
