"""Sidebar controls built from the state's parameters: time (slider, date, player)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import panel as pn
import param

from data_adapters import SourceError

from . import map_tiles
from .state import ExplorerState

#: Animation speeds offered: label -> milliseconds between frames (1x: 4 frames a second,
#: which a cached frame keeps up with; faster speeds skip steps the map cannot draw in time).
SPEEDS = {"0.5x": 500, "1x": 250, "2x": 125, "4x": 62}


class LatestOnly:
    """Coalesce bursts of requests: only the newest value is applied.

    A slider scrubbed or a player running faster than frames render sends many values; each
    is recorded, and one apply is scheduled for the next tick of the event loop, where only
    the newest value is used. Stale values never render.
    """

    def __init__(self, apply: Callable[[Any], None], schedule: Callable[[Callable], None]):
        self._apply = apply
        self._schedule = schedule
        self._pending: Any = None
        self._scheduled = False

    def submit(self, value: Any) -> None:
        """Record ``value``; schedule an apply unless one is already waiting."""
        self._pending = value
        if not self._scheduled:
            self._scheduled = True
            self._schedule(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        self._apply(self._pending)


def next_tick(callback: Callable) -> None:
    doc = pn.state.curdoc
    if doc is not None and doc.session_context is not None:
        doc.add_next_tick_callback(callback)
    else:  # outside a server (notebook, tests): apply at once
        callback()


class TimeControls(pn.viewable.Viewer):
    """Time slider, date entry and play/pause animation with speed and loop."""

    state = param.ClassSelector(class_=ExplorerState)
    speed = param.Selector(default="1x", objects=list(SPEEDS), doc="Animation speed.")

    def __init__(self, **params) -> None:
        super().__init__(**params)
        self._latest = LatestOnly(self._apply_index, next_tick)
        self.slider = pn.widgets.DiscreteSlider(
            label="Time", options=[""], sizing_mode="stretch_width"
        )
        self.date = pn.widgets.TextInput(
            label="Go to date", placeholder="YYYY-MM-DD[Thh:mm]", sizing_mode="stretch_width"
        )
        self.player = pn.widgets.Player(
            start=0,
            end=1,
            value=0,
            interval=SPEEDS[self.speed],
            loop_policy="loop",
            show_loop_controls=False,
            show_value=False,
            visible_buttons=["previous", "play", "pause", "next"],
            sizing_mode="stretch_width",
            height=40,
            # the time slider above is the scrubber; the player's own one would duplicate it
            stylesheets=["input[type='range'] { display: none; }"],
        )
        self.repeat = pn.widgets.Select(
            label="Repeat", options=["loop", "once", "reflect"], value="loop", width=90
        )
        self.repeat.link(self.player, value="loop_policy")
        if map_tiles.SETTINGS["enabled"]:  # maps over tiles draw a near step in the page
            map_tiles.follow_player(self.player)
        self._syncing = False
        self.slider.param.watch(self._on_slider, "value_throttled")
        self.player.param.watch(self._on_player, "value")
        self.date.param.watch(self._on_date, "value")
        self.state.param.watch(self._from_state, ["time", "dataset_id"])
        self._from_state()

    @property
    def times(self) -> list:
        return [t for t in self.state.param.time.objects if t is not None]

    def _from_state(self, *_) -> None:
        times = self.times
        self._syncing = True
        try:
            self.slider.options = times or [""]
            self.slider.disabled = len(times) < 2
            self.player.disabled = len(times) < 2
            self.player.end = max(len(times) - 1, 1)
            if self.state.time in times:
                index = times.index(self.state.time)
                self.slider.value = self.state.time
                self.player.value = index
        finally:
            self._syncing = False

    def _apply_index(self, index: int) -> None:
        times = self.times
        wanted = times[max(0, min(int(index), len(times) - 1))] if times else None
        if wanted is None or wanted == self.state.time:
            self.state.loading = False  # nothing new to draw
            return
        self.state.time = wanted

    def _submit(self, index: int, spinner: bool = True) -> None:
        """Ask for a time step: the spinner shows now, the newest step renders next tick.

        An animation asks without the spinner: its frames follow each other, and a spinner
        flashing over every one would hide them.
        """
        if spinner:
            self.state.loading = True
        self._latest.submit(index)

    def _on_slider(self, event) -> None:
        if not self._syncing and event.new in self.times:
            self._submit(self.times.index(event.new))

    def _on_player(self, event) -> None:
        if not self._syncing:
            self._submit(event.new, spinner=False)

    @param.depends("speed", watch=True)
    def _on_speed(self) -> None:
        self.player.interval = SPEEDS[self.speed]

    def _on_date(self, event) -> None:
        text = (event.new or "").strip()
        if not text:
            return
        try:
            index = self.state.time_step(text)
        except SourceError as exc:
            self.state.report(f"Go to date: {exc}")
            return
        self._apply_index(index)

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            self.slider,
            self.player,
            pn.Row(
                pn.widgets.Select.from_param(self.param.speed, label="Speed", width=80),
                self.repeat,
            ),
            self.date,
            sizing_mode="stretch_width",
        )


def processing_controls(state: ExplorerState) -> list:
    """The "Show" choice, and (when it needs a climatology) the reference period and the
    baseline of a scenario's climatology."""
    needs = state.param.show.rx() != "value"
    return [
        pn.widgets.Select.from_param(state.param.show, label="Show", name="Show"),
        pn.widgets.TextInput.from_param(
            state.param.reference,
            label="Reference period",
            placeholder="default: first 30 full years",
            visible=needs,
        ),
        pn.widgets.RadioButtonGroup.from_param(
            state.param.climate_baseline, visible=needs, button_type="light"
        ),
    ]
