"""The per-session state every view shares: what is shown, with no widgets.

Panel's store/view pattern: views depend on these parameters; the app builds widgets from
them (``pn.widgets.Select.from_param(state.param.variable)``) and syncs them to the URL.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import param
import xarray as xr

from data_adapters import Catalog, OpenedSource, SourceError

log = logging.getLogger(__name__)


def time_label(value: Any) -> str:
    """ISO label of a time value (datetime64 or cftime), to the second when needed."""
    if hasattr(value, "isoformat"):  # cftime and datetime
        text = value.isoformat()
    else:
        text = np.datetime_as_string(np.datetime64(value, "s"), unit="s")
    return text.replace("T00:00:00", "")


class ExplorerState(param.Parameterized):
    """What a session is looking at: dataset, variable, time, depth and scenario."""

    dataset_id = param.Selector(default=None, objects=[], label="Dataset", doc="Catalog id.")
    variable = param.Selector(default=None, objects=[], label="Variable", doc="Data variable.")
    time = param.Selector(
        default=None, objects=[], label="Time", doc="Time step (ISO label), when the data has time."
    )
    depth = param.Selector(
        default=None, objects=[], label="Depth (m)", doc="Depth level in metres, positive down."
    )
    scenario = param.Selector(
        default=None, objects=[], label="Scenario", doc="Scenario run; 'baseline' for one run."
    )
    points = param.List(
        default=[],
        doc="Probe points as (lon, lat) in degrees, oldest first: where the user clicked or "
        "pinned; each shows a time series (the nearest ocean cell is used).",
    )
    region = param.Tuple(
        default=None,
        length=4,
        allow_None=True,
        doc="Box (W, S, E, N) in degrees drawn for area statistics; W > E crosses the dateline.",
    )
    polygon = param.List(
        default=None,
        allow_None=True,
        doc="Polygon vertices (lon, lat) in degrees drawn for area statistics (instead of a box).",
    )
    message = param.String(default="", doc="Last problem to tell the user about (one line).")
    loading = param.Boolean(
        default=False, doc="A frame was asked for and is being computed (shows a spinner)."
    )

    def __init__(self, catalog: Catalog, **params: Any) -> None:
        self.catalog = catalog
        self._opened: OpenedSource | None = None
        ids = list(catalog.datasets)
        super().__init__(**{k: v for k, v in params.items() if k != "dataset_id"})
        self.param.dataset_id.objects = ids
        self.dataset_id = params.get("dataset_id") or (ids[0] if ids else None)
        if self._opened is None and self.dataset_id:
            self._load()

    # -- loading ----------------------------------------------------------------------------
    @param.depends("dataset_id", watch=True)
    def _load(self) -> None:
        try:
            opened = self.catalog.open(self.dataset_id)
        except SourceError as exc:
            log.warning("dataset %s refused: %s", self.dataset_id, exc)
            self.message = str(exc)
            return
        self._opened = opened
        ds = opened.dataset
        times = [time_label(t) for t in ds["time"].values] if "time" in ds.coords else [None]
        depths = [float(d) for d in ds["depth"].values] if "depth" in ds.coords else [None]
        scenarios = (
            [str(s) for s in ds["scenario"].values] if "scenario" in ds.dims else ["baseline"]
        )
        variables = list(map(str, ds.data_vars))

        def keep(current: Any, options: list) -> Any:
            return current if current in options else options[0]

        with param.parameterized.batch_call_watchers(self):
            self.param.variable.objects = variables
            self.param.time.objects = times
            self.param.depth.objects = depths
            self.param.scenario.objects = scenarios
            self.param.update(
                variable=keep(self.variable, variables),
                time=keep(self.time, times),
                depth=keep(self.depth, depths),
                scenario=keep(self.scenario, scenarios),
                message="",
            )

    def report(self, text: str) -> None:
        """Tell the user about a problem (one line), even when it is the same as the last."""
        self.message = ""
        self.message = text

    # -- what views read --------------------------------------------------------------------
    @property
    def source(self) -> OpenedSource | None:
        """The opened dataset with its title and attribution (None if opening failed)."""
        return self._opened

    @property
    def series_dataset(self) -> xr.Dataset:
        """The current dataset laid out for reading point series (geo-chunked when the
        source offers that layout; else the same as :attr:`dataset`)."""
        pick = getattr(self._opened, "for_series", None)
        return pick() if pick is not None else self.dataset

    @property
    def dataset(self) -> xr.Dataset:
        """The current dataset, normalised to the data contract."""
        if self._opened is None:
            raise SourceError(self.message or "no dataset is open")
        return self._opened.dataset

    def field(self) -> xr.DataArray:
        """The lazy 2-D (lat, lon) or (y, x) slice of the current choices."""
        da = self.dataset[self.variable]
        sel: dict[str, Any] = {}
        if "scenario" in da.dims:
            sel["scenario"] = self.scenario
        if "time" in da.dims:
            sel["time"] = self.param.time.objects.index(self.time)
        if "depth" in da.dims:
            sel["depth"] = self.param.depth.objects.index(self.depth)
        if "member" in da.dims:
            sel["member"] = 0
        scenario = sel.pop("scenario", None)
        if scenario is not None:
            da = da.sel(scenario=scenario)
        return da.isel(sel)
