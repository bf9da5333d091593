"""Data adapters: I/O only. Open ocean data sources as lazy xarray datasets on one contract.

This package never imports panel, holoviews, geoviews or bokeh.
"""

import threadpoolctl

from .alignment import align_runs, same_units
from .base import Adapter
from .catalog import Catalog, DatasetEntry, OpenedSource, ScenarioGroup, open_source
from .contract import bbox, grid_kind, normalize, summarize, validate_dataset
from .errors import ContractError, SourceError
from .layouts import PreparedStore, write_prepared
from .registry import (
    AdapterRegistry,
    adapter_class,
    adapter_for_uri,
    make_adapter,
    registered_adapters,
)
from .slice_reads import install as _install_slice_reads

_install_slice_reads()  # a selection of a selection reads only its cells (see slice_reads)
# dask reads chunks on a pool of threads, as many as the cores or more: a BLAS pool of as many
# again under each (the demo ocean's matrix products) oversubscribes the cores (15 days of the
# 1/4° demo: 0.89 s with BLAS threads, 0.39 s without)
threadpoolctl.threadpool_limits(1, user_api="blas")

__all__ = [
    "Adapter",
    "AdapterRegistry",
    "Catalog",
    "ContractError",
    "DatasetEntry",
    "OpenedSource",
    "PreparedStore",
    "ScenarioGroup",
    "SourceError",
    "adapter_class",
    "adapter_for_uri",
    "align_runs",
    "bbox",
    "grid_kind",
    "make_adapter",
    "normalize",
    "open_source",
    "registered_adapters",
    "same_units",
    "summarize",
    "validate_dataset",
    "write_prepared",
]
