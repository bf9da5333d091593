"""Compare with model: a user's point observations against the dataset on show.

The observations (a CSV the user added) are matched with the current dataset's variable by
:func:`components.core.collocate.collocate` (time, depth, nearest sea cell), every run of
the dataset at once; the view shows the points on the map coloured by model - observation
(of the run on the map), a scatter plot of model against observation, the statistics table
per run, and a CSV download of the matched pairs.
"""

from __future__ import annotations

import io
import logging

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param
from holoviews.streams import Params

from data_adapters import SourceError
from data_adapters.observations import Observations

from .core import collocate, tables
from .core.colours import DIVERGING_CMAP, palette, robust_range
from .core.fields import ALL_SCENARIOS, quantity_label
from .core.geography import WEB_MERCATOR, to_crs
from .state import ExplorerState
from .text import escape

log = logging.getLogger(__name__)

#: Height of the scatter plot (pixels).
SCATTER_HEIGHT = 320


class ObservationsView(pn.viewable.Viewer):
    """Point observations matched with the dataset on show: map points, scatter, table."""

    state = param.ClassSelector(class_=ExplorerState, doc="The session compared with.")
    observations = param.ClassSelector(
        class_=Observations, allow_None=True, doc="The user's point observations (or None)."
    )
    column = param.Selector(
        default=None, objects=[], label="Observed variable", doc="Observations' column."
    )
    time_match = param.Selector(
        default=collocate.TIME_MATCHES[0],
        objects=list(collocate.TIME_MATCHES),
        label="Model time",
        doc="nearest: the nearest model step; linear: between the two steps around it.",
    )
    pairs = param.DataFrame(default=None, allow_None=True, doc="Matched pairs (every run).")

    def __init__(self, map_view=None, **params) -> None:
        super().__init__(**params)
        self.param.watch(self._on_observations, "observations")
        self.param.watch(self._match, ["column", "time_match"])
        self.state.param.watch(self._match, ["dataset_id", "variable"])
        if map_view is not None:
            streams = [Params(self, ["pairs"]), Params(self.state, ["scenario"])]
            map_view.add_layer(hv.DynamicMap(self._points, streams=streams))

    # -- matching ---------------------------------------------------------------------------
    def _on_observations(self, *_) -> None:
        obs = self.observations
        names = obs.variables if obs is not None else []
        with param.parameterized.batch_call_watchers(self):
            self.param.column.objects = names
            guess = self.state.variable if self.state.variable in names else None
            self.column = guess or (names[0] if names else None)
        self._match()

    def _match(self, *_) -> None:
        """Match the observations with the current variable (every run)."""
        obs, s = self.observations, self.state
        if obs is None or self.column is None or s.source is None:
            self.pairs = None
            return
        try:
            da = s.series_dataset[s.variable]
            runs = ALL_SCENARIOS if "scenario" in da.dims else None
            maps = s.dataset[s.variable]  # the sea mask's map: one step of the map layout
            pairs = collocate.collocate(obs, da, self.column, runs, self.time_match, maps)
        except SourceError as exc:
            self.pairs = None
            s.report(f"Compare with model: {exc}")
            return
        if "scenario" not in pairs:
            pairs["scenario"] = s.param.scenario.objects[0] if s.param.scenario.objects else ""
        self.pairs = pairs

    def _run_pairs(self, run: str | None = None) -> pd.DataFrame | None:
        if self.pairs is None:
            return None
        runs = list(dict.fromkeys(self.pairs["scenario"]))
        run = run if run in runs else runs[0] if runs else None
        return self.pairs[self.pairs["scenario"] == run]

    def statistics(self) -> pd.DataFrame:
        """One row per run: n, n_outside, bias, rmse, mae, correlation."""
        if self.pairs is None:
            return pd.DataFrame(columns=["run", *collocate.STAT_KEYS])
        rows = [
            {"run": run, **collocate.statistics(part).as_dict()}
            for run, part in self.pairs.groupby("scenario", sort=False)
        ]
        return pd.DataFrame(rows)

    def pairs_csv(self) -> io.StringIO:
        """The matched pairs as CSV (every run), as the download sends them."""
        buffer = io.StringIO()
        if self.pairs is not None:
            tables.write_pairs_csv(self.pairs, buffer)
        buffer.seek(0)
        return buffer

    # -- what is drawn ----------------------------------------------------------------------
    def _points(self, pairs=None, scenario=None, **_) -> hv.Points:
        part = self._run_pairs(scenario)
        columns = ["x", "y", "model_minus_observed", "observed", "model"]
        if part is None or part.empty:
            return hv.Points(pd.DataFrame(columns=columns), ["x", "y"], columns[2:])
        part = part[part["status"] == collocate.MATCHED]
        x, y = to_crs(part["lon"].to_numpy(), part["lat"].to_numpy(), WEB_MERCATOR)
        frame = pd.DataFrame(
            {"x": x, "y": y, **{c: part[c].to_numpy() for c in columns[2:]}},
        )
        low, high = robust_range(frame["model_minus_observed"].to_numpy(), symmetric=True)
        return hv.Points(frame, ["x", "y"], columns[2:]).opts(
            color="model_minus_observed",
            cmap=palette(DIVERGING_CMAP),
            clim=(low, high),
            size=9,
            line_color="black",
            tools=["hover"],
        )

    def _scatter(self, pairs=None, scenario=None, **_) -> hv.Overlay:
        part = self._run_pairs(scenario)
        units = ""
        if self.state.source is not None and self.state.variable in self.state.dataset:
            units = self.state.dataset[self.state.variable].attrs.get("units", "")
        if part is None:
            part = pd.DataFrame({"observed": [], "model": []})
        part = part[part.get("status", pd.Series(dtype=object)) == collocate.MATCHED]
        obs, model = part["observed"].to_numpy(float), part["model"].to_numpy(float)
        both = np.concatenate([obs, model]) if obs.size else np.array([0.0, 1.0])
        ends = [float(np.nanmin(both)), float(np.nanmax(both))]
        label = f" ({units})" if units else ""
        dots = hv.Scatter((obs, model), f"observed{label}", f"model{label}").opts(
            size=6, color="#0b5d8c", tools=["hover"]
        )
        line = hv.Curve((ends, ends)).opts(color="#888", line_dash="dashed")
        return (dots * line).opts(
            responsive=True, height=SCATTER_HEIGHT, title="Model against observation (1:1 line)"
        )

    def _table(self, *_) -> pd.DataFrame:
        return self.statistics().round(4)

    def _heading(self, observations=None, column=None, pairs=None) -> str:
        obs, s = self.observations, self.state
        if obs is None:
            return ""
        quantity = s.variable
        if s.source is not None and s.variable in s.dataset:
            quantity = quantity_label(s.dataset[s.variable], s.variable)
        return (
            f"**{escape(obs.name)}**: {len(obs.table)} observations of "
            f"`{escape(str(column))}` against {escape(quantity)} of "
            f"{escape(s.source.title if s.source else s.dataset_id)}. Points on the map: "
            "model minus observation. Unmatched (outside the grid or its period, on land, below "
            "the deepest level) are counted in n_outside."
        )

    def __panel__(self) -> pn.viewable.Viewable:
        p = self.param
        download = pn.widgets.FileDownload(
            callback=self.pairs_csv, filename="pairs.csv", label="Download pairs (CSV)"
        )
        body = pn.Column(
            pn.pane.Markdown(pn.bind(self._heading, p.observations, p.column, p.pairs)),
            pn.Row(
                pn.widgets.Select.from_param(p.column),
                pn.widgets.RadioButtonGroup.from_param(p.time_match),
            ),
            pn.pane.DataFrame(pn.bind(self._table, p.pairs), index=False, css_classes=["stats"]),
            pn.pane.HoloViews(
                hv.DynamicMap(
                    self._scatter,
                    streams=[Params(self, ["pairs"]), Params(self.state, ["scenario"])],
                ),
                sizing_mode="stretch_width",
                height=SCATTER_HEIGHT,
            ),
            download,
            sizing_mode="stretch_width",
        )
        return pn.Card(
            body,
            title="Compare with model",
            visible=p.observations.rx.is_not(None),
            sizing_mode="stretch_width",
            css_classes=["compare-with-model"],
        )
