"""The per-session state every view shares: what is shown, with no widgets.

Panel's store/view pattern: views depend on these parameters; the app builds widgets from
them (``pn.widgets.Select.from_param(state.param.variable)``) and syncs them to the URL.
"""

from __future__ import annotations

import logging
from typing import Any

import param
import xarray as xr

from data_adapters import Catalog, OpenedSource, SourceError, vertical

from .core import (
    climatology,
    comparison,
    derived,
    expressions,
    fields,
    processing,
    shown_maps,
    timeaxis,
)
from .core.frames import is_regional
from .core.recent import Recent
from .core.timeaxis import time_label
from .session_sources import SessionSources

log = logging.getLogger(__name__)


#: Computed maps of a "show" a session keeps (a comparison's runs at one step).
SHOWN_MAPS = 4

#: Map modes: label -> meaning. The first shows one run; the others compare runs.
MODES = {
    "map": "One run",
    "side-by-side": "Side by side",
    "difference": "Difference",
    "relative": "Relative change (%)",
    "swipe": "Swipe",
}


class ExplorerState(SessionSources, param.Parameterized):
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
    show = param.Selector(
        default="value",
        objects=list(processing.SHOWS),
        label="Show",
        doc="What the map and probes show: the value, its anomaly from the climatology of the "
        "reference period, the marine-heatwave intensity or category (Hobday et al. "
        "2016/2018), or NOAA Coral Reef Watch degree heating weeks.",
    )
    reference = param.String(
        default="",
        label="Reference period",
        doc="Years (1993/2022) or dates of the climatology; empty: the first 30 full years of "
        "the data, or all its full years.",
    )
    climate_baseline = param.Selector(
        default="fixed",
        objects=list(processing.BASELINES),
        label="Climatology of a scenario",
        doc="fixed: the baseline run's (a warmer run reads as a permanent heatwave); shifted: "
        "the shown run's own over the same period.",
    )
    mode = param.Selector(
        default="map",
        objects=list(MODES),
        doc="What the map shows: one run (map), or a comparison of what-if runs with the "
        "baseline (side-by-side maps, difference, relative change in %, swipe).",
    )
    baseline = param.Selector(
        default=None, objects=[], label="Baseline", doc="The reference run of comparisons."
    )
    scenarios = param.ListSelector(
        default=[], objects=[], label="What-if scenarios", doc="Runs compared with the baseline."
    )
    threshold = param.Number(
        default=0.0,
        bounds=(0.0, None),
        label="Hide |Δ| below",
        doc="Changes smaller than this (the variable's units; % in relative mode) show as no "
        "change; impact tables count the area where |Δ| exceeds it.",
    )
    within_spread = param.Boolean(
        default=False,
        label="Hide changes within the ensemble spread",
        doc="With ensemble members: hide changes smaller than the members' spread.",
    )
    lock_colours = param.Boolean(
        default=True,
        label="One colour scale for all maps",
        doc="Side-by-side maps share one colour range (off: each map its own).",
    )
    event_value = param.Number(
        default=None,
        allow_None=True,
        label="Count steps where the regional mean exceeds",
        doc="Impact tables count the time steps in which the region's mean (its change from "
        "the baseline, or its value: see ``exceed``) exceeds this, in the variable's units: "
        "marine-heatwave days of more than +1 °C, or days above 16 °C.",
    )
    exceed = param.Selector(
        default="change",
        objects=["change", "value"],
        label="What exceeds it",
        doc="change: the scenario's regional mean minus the baseline's exceeds the value; "
        "value: the regional mean itself exceeds it (every run, the baseline included).",
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
    extent = param.Tuple(
        default=None,
        length=4,
        allow_None=True,
        doc="Map view (W, S, E, N) in degrees, W < E (E may pass 180 when panned round); "
        "None: the data's extent. Maps start here, so a new map keeps the view.",
    )
    expressions = param.List(
        default=[],
        item_type=str,
        doc="User expressions offered as variables, each 'NAME [UNITS] = EXPRESSION' over the "
        "dataset's variables (components.core.expressions); kept while the dataset has them.",
    )
    message = param.String(default="", doc="Last problem to tell the user about (one line).")
    loading = param.Boolean(
        default=False, doc="A frame was asked for and is being computed (shows a spinner)."
    )

    def __init__(self, catalog: Catalog, **params: Any) -> None:
        self.catalog = catalog
        self._opened: OpenedSource | None = None
        #: Datasets this session opened from catalogue search (their SOURCE strings).
        self._found: set[str] = set()
        #: Comparisons of two datasets: id -> (base dataset id, its run, compared source).
        self._compared: dict[str, tuple[str, str | None, str]] = {}
        #: The last maps computed for a "show" (a redraw asks for its map again), by choice.
        self._shown_maps = Recent(SHOWN_MAPS)  # (dataset, map) by choice; frame threads ask too
        # scenario groups open like datasets with a scenario dimension: offer both
        ids = [*catalog.datasets, *catalog.groups]
        super().__init__(**{k: v for k, v in params.items() if k != "dataset_id"})
        self.param.dataset_id.objects = ids
        self.dataset_id = params.get("dataset_id") or (ids[0] if ids else None)
        if self._opened is None and self.dataset_id:
            self._load()

    # -- loading ----------------------------------------------------------------------------
    @param.depends("dataset_id", "expressions", watch=True)
    def _load(self) -> None:
        try:
            opened = self._open(self.dataset_id)
            opened, refused = self._with_expressions(opened)
        except SourceError as exc:
            log.warning("dataset %s refused: %s", self.dataset_id, exc)
            previous = self._opened.id if self._opened is not None else None
            if previous is None or previous == self.dataset_id:
                self.report(str(exc))
                return
            # the page stays true: the previous dataset stays chosen, shown and in the URL
            self.dataset_id = previous  # reloads it (cached), which clears the message
            self.report(f"{exc} (still showing '{previous}')")
            return
        switched = self._opened is not None and self._opened.id != opened.id
        self._opened = opened
        ds = opened.dataset
        times = [time_label(t) for t in ds["time"].values] if "time" in ds.coords else [None]
        depths = vertical.choices(ds) if "depth" in ds.coords else [None]
        scenarios = fields.scenario_labels(ds)
        variables = list(map(str, ds.data_vars))

        def keep(current: Any, options: list) -> Any:
            return current if current in options else options[0]

        with param.parameterized.batch_call_watchers(self):
            self.param.variable.objects = variables
            self.param.time.objects = times
            self.param.depth.objects = depths
            self.param.scenario.objects = scenarios
            self.param.baseline.objects = scenarios
            self.param.scenarios.objects = scenarios
            baseline = keep(self.baseline, scenarios)
            kept = [s for s in self.scenarios if s in scenarios and s != baseline]
            others = [s for s in scenarios if s != baseline]
            self.param.update(
                variable=keep(self.variable, variables),
                time=keep(self.time, times),
                depth=keep(self.depth, depths),
                scenario=keep(self.scenario, scenarios),
                baseline=baseline,
                scenarios=kept or others[:1],
                message="",
            )
            if switched and self._regional():
                self.extent = None  # a regional dataset opens on its own extent
        if refused:
            self.report(refused)

    def _regional(self) -> bool:
        try:
            return is_regional(self.field())
        except (SourceError, ValueError, KeyError):
            return False

    def _with_expressions(self, opened: OpenedSource) -> tuple[OpenedSource, str]:
        """``opened`` with derived variables and those of the session's expressions that its
        variables allow, and why the others were dropped ("" when none was)."""
        kept, problems = [], []
        for text in self.expressions:
            try:
                derived.with_derived(opened.dataset, [*kept, text])
            except SourceError as exc:
                problems.append(f"{exc} (the expression is dropped)")
            else:
                kept.append(text)
        if kept != self.expressions:
            with param.parameterized.discard_events(self):
                self.expressions = kept
        return derived.opened_with(opened, kept), problems[0] if problems else ""

    def add_expression(self, text: str) -> str | None:
        """Check ``text`` (``NAME [UNITS] = EXPRESSION``) against the open dataset, add it to
        the variables and show it; returns its name, or None (refused: :attr:`message` says
        why). An expression of the same name replaces the one before."""
        text = text.strip()
        if not text or self._opened is None:
            return None
        problem = self.expression_problem(text)
        if problem:
            self.report(problem)
            return None
        name = expressions.split(text)[0]
        others = [e for e in self.expressions if expressions.split(e)[0] != name]
        self.expressions = [*others, text]
        if self.variable == name:
            self.param.trigger("variable")  # a new definition: the views read it again
        else:
            self.variable = name
        return name

    def expression_problem(self, text: str) -> str:
        """Why ``text`` cannot be added as an expression over the open dataset ("" when it
        can); nothing is read (the expression is checked and built lazily)."""
        if self._opened is None:
            return "no dataset is open"
        ds = self.dataset
        try:
            name = expressions.split(text)[0]
            if name in ds.data_vars and "expression" in ds[name].attrs:
                ds = ds.drop_vars(name)  # replaced by the new definition
            expressions.evaluate(expressions.parse(text, list(map(str, ds.data_vars))), ds)
        except SourceError as exc:
            return str(exc)
        return ""

    def report(self, text: str) -> None:
        """Tell the user about a problem (one line), even when it is the same as the last."""
        self.message = ""
        self.message = text

    # -- what views read --------------------------------------------------------------------
    def shared_map(self) -> bool:
        """Whether the variable shown is one the server's own map routes (``/tiles``, WMS)
        draw as well: of a dataset of the server's catalog (not this session's upload,
        catalogue hit or comparison) and not one of this session's expressions."""
        shared = getattr(self.catalog, "shared", self.catalog)  # a session's: the server's part
        sid = self.dataset_id
        own = {expressions.split(text)[0] for text in self.expressions}
        return (
            sid in shared and sid not in self._found and sid not in self._compared
            and self.variable not in own
        )  # fmt: skip

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

    @property
    def variable_key(self) -> str:
        """The current variable as a key of shared caches: its name, or for a user
        expression its definition (sessions may give different expressions one name)."""
        if self._opened is None or self.variable not in self.dataset.data_vars:
            return str(self.variable)
        return str(self.dataset[self.variable].attrs.get("expression") or self.variable)

    def has_levels(self) -> bool:
        """True when the current variable has depth levels to choose from."""
        if self._opened is None or self.variable not in self.dataset.data_vars:
            return False
        return "depth" in self.dataset[self.variable].dims

    def relative_refusal(self) -> str | None:
        """Why the current variable has no relative change (%), in one line; None when it
        has one (:func:`components.core.comparison.relative_change_refusal`)."""
        if self._opened is None or self.variable not in self.dataset.data_vars:
            return None
        return comparison.relative_change_refusal(self.dataset[self.variable])

    @param.depends("variable", "mode", watch=True)
    def _keep_relative_meaningful(self) -> None:
        """A variable without a ratio scale leaves relative mode for the difference, saying why."""
        if self.mode != "relative":
            return
        refusal = self.relative_refusal()
        if refusal:
            self.mode = "difference"
            self.report(f"{refusal} (showing the difference)")

    @property
    def comparing(self) -> bool:
        """True when the map compares runs rather than showing one."""
        return self.mode != "map"

    def field(
        self,
        scenario: str | None = None,
        members: bool = False,
        variable: str | None = None,
        shown: bool = True,
    ) -> xr.DataArray:
        """The lazy 2-D (lat, lon) or (y, x) slice of the current choices
        (:func:`components.core.fields.select`: nearest level, first member).

        ``scenario`` picks another run than the current one (comparisons); ``members=True``
        keeps an ensemble's ``member`` dim; ``variable`` another variable on the same slice
        (a current's components). The variable is shown as ``show`` asks (computed), unless
        ``shown=False`` (the value itself: where the sea is, for probes and regions).
        """
        da = self.dataset[variable or self.variable]
        step = self.param.time.objects.index(self.time) if "time" in da.dims else None
        run = (scenario or self.scenario) if "scenario" in da.dims else None
        chosen = self.processing()
        if shown and chosen.needs_climate and step is not None and variable is None:
            return self._shown_map(scenario or self.scenario, members, step, chosen)
        return fields.select(
            da, self.depth, run, members=members, strict_depth=False, time_index=step
        )

    def _shown_map(
        self, run: str, members: bool, step: int, chosen: processing.Processing
    ) -> xr.DataArray:
        """:meth:`field`'s computed map of a "show" (kept: the last :data:`SHOWN_MAPS`)."""
        # by the dataset's identity (one opened anew computes anew; kept with the map, so
        # that its id is not reused)
        key = (id(self.dataset), self.variable, self.depth, run, members, step, chosen)
        known = self._shown_maps.get(key)
        if known is None:
            series, base, climate_key = climate_inputs(self, run, members)
            known = (self.dataset, shown_maps.shown_map(series, base, step, chosen, climate_key))
            self._shown_maps.put(key, known)
        return known[1]

    def processing(self) -> processing.Processing:
        """The ``show`` choice with its reference period and baseline; an unreadable period
        is said once and the default used."""
        try:
            return processing.Processing.parse(
                self.show, self.reference or None, self.climate_baseline
            )
        except SourceError as exc:
            self.report(str(exc))
            return processing.Processing(self.show, None, self.climate_baseline)

    def shown_attrs(self) -> dict[str, Any]:
        """The attributes of what the map shows (the variable's, or the shown quantity's)."""
        attrs = dict(self.dataset[self.variable].attrs)
        chosen = self.processing()
        if not chosen.needs_climate:
            return attrs
        reference = chosen.reference or climatology.Reference("", "")
        return processing.shown_attrs(attrs, chosen.show, reference)

    def time_step(self, text: str) -> int:
        """Index of the time step nearest ISO ``text`` in the open dataset's calendar (the
        URL's ``time=`` and "go to date" pick as ``ocean-explorer --time`` does).

        Raises
        ------
        SourceError
            When ``text`` is not an ISO time or not a date of the calendar.
        """
        times = self.dataset["time"].values
        index = timeaxis.nearest_step(times, text)
        note = timeaxis.outside_note(times, text)
        if note:  # the nearest step is an end of the data: say so rather than jump silently
            self.report(note)
        return index


def climate_inputs(
    state: ExplorerState, scenario: str | None = None, members: bool = False
) -> tuple[xr.DataArray, xr.DataArray, str]:
    """The variable's run ``scenario`` of ``state`` (default: its current one) at the
    current level on every step, the run its climatology comes from, and that
    climatology's cache key (all lazy): what :func:`shown_maps.shown_map` and its kin take."""
    return shown_maps.climate_inputs(
        state.dataset[state.variable], state.dataset_id, state.depth,
        scenario or state.scenario, state.processing().baseline, members,
    )  # fmt: skip
