"""Assembly: the template, the sidebar built from the state, the views, and serving."""

from __future__ import annotations

import logging
import pathlib
from collections.abc import Callable

import panel as pn

from components import CompareView, ExplorerState, MapView, ProbeView, TimeControls
from components.state import MODES
from data_adapters import Catalog

log = logging.getLogger(__name__)

ASSETS = pathlib.Path(__file__).resolve().parents[1] / "assets"
TITLE = "Ocean Explorer"


def create_app(catalog: Catalog) -> pn.template.BaseTemplate:
    """One session's page: sidebar controls and the map, in Panel's FastList template."""
    state = ExplorerState(catalog)
    view = MapView(state=state)
    compare_view = CompareView(state=state, colors=view.colors, layers=view.layers)
    probe_view = ProbeView(state=state, map_view=view)
    compare_view.on_new_map(probe_view.listen_to)
    time_controls = TimeControls(state=state)
    status = pn.pane.Markdown(
        pn.bind(
            lambda ms, clim: f"frame {ms:.0f} ms · range {clim[0]:.3g} … {clim[1]:.3g}",
            view.param.render_ms,
            view.param.clim,
        ),
        styles={"font-size": "12px", "color": "#555"},
    )
    comparing = state.param.mode.rx() != "map"
    sidebar = [
        pn.widgets.Select.from_param(state.param.dataset_id, label="Dataset"),
        pn.widgets.Select.from_param(state.param.variable, label="Variable"),
        time_controls,
        pn.widgets.Select.from_param(state.param.depth, label="Depth (m)"),
        pn.widgets.Select.from_param(
            state.param.scenario, label="Scenario", visible=state.param.mode.rx() == "map"
        ),
        pn.Card(
            _comparison_controls(state),
            title="Compare scenarios",
            collapsed=False,
            sizing_mode="stretch_width",
        ),
        pn.Card(
            pn.bind(lambda mode: _colour_settings(mode, view, compare_view), state.param.mode),
            title="Colour",
            collapsed=False,
            sizing_mode="stretch_width",
        ),
        pn.Card(view.layers, title="Layers", collapsed=True, sizing_mode="stretch_width"),
        status,
    ]
    single = pn.Column(view, visible=state.param.mode.rx() == "map", sizing_mode="stretch_width")
    compared = pn.Column(compare_view, visible=comparing, sizing_mode="stretch_width")
    template = pn.template.FastListTemplate(
        title=TITLE,
        sidebar=sidebar,
        main=[pn.Column(single, compared, probe_view, sizing_mode="stretch_width")],
        accent="#0b5d8c",
        header_background="#0b3954",
        theme_toggle=False,
        sidebar_width=330,
    )

    def notify(event) -> None:
        if event.new and pn.state.notifications is not None:
            pn.state.notifications.error(event.new, duration=8000)

    state.param.watch(notify, "message")
    return template


def _colour_settings(mode: str, view: MapView, compare_view: CompareView):
    """The colour settings of what the map shows: runs, or changes in comparison modes."""
    if mode == "difference":
        return compare_view.change_colors["diff"]
    if mode == "relative":
        return compare_view.change_colors["pct"]
    return view.colors


def _comparison_controls(state: ExplorerState) -> pn.Column:
    """Mode, baseline, what-if runs and the comparison's thresholds, from the state."""
    mode = state.param.mode.rx()
    has_members = pn.bind(
        lambda *_: state.source is not None and "member" in state.dataset.dims,
        state.param.dataset_id,
    )
    return pn.Column(
        pn.widgets.RadioButtonGroup.from_param(
            state.param.mode,
            options={label: key for key, label in MODES.items()},
            orientation="vertical",
            button_type="primary",
            button_style="outline",
            sizing_mode="stretch_width",
        ),
        pn.widgets.Select.from_param(state.param.baseline, visible=mode != "map"),
        pn.widgets.MultiChoice.from_param(state.param.scenarios, visible=mode != "map"),
        pn.widgets.FloatInput.from_param(
            state.param.threshold, step=0.1, visible=mode.rx.in_(["difference", "relative"])
        ),
        pn.widgets.Checkbox.from_param(state.param.within_spread, visible=has_members),
        pn.widgets.Checkbox.from_param(state.param.lock_colours, visible=mode == "side-by-side"),
        pn.widgets.FloatInput.from_param(state.param.event_value, visible=mode != "map"),
        sizing_mode="stretch_width",
    )


def app_factory(catalog: Catalog) -> Callable[[], pn.template.BaseTemplate]:
    """A function Panel calls once per session."""
    return lambda: create_app(catalog)


def warm_up(catalog: Catalog) -> float:
    """Compile and load what the first frame needs (Datashader's numba kernels, the
    coastlines, the default dataset), so that no user waits for it; returns seconds."""
    import time

    from components.basemap import render_coastline
    from components.render import WEB_MERCATOR, Viewport, full_extent, render_field

    started = time.perf_counter()
    try:
        state = ExplorerState(catalog)
        field = state.field()
        x0, y0, x1, y1 = full_extent(field, WEB_MERCATOR)
        viewport = Viewport((x0, x1), (y0, y1), 96, 54, WEB_MERCATOR)
        render_field(field, viewport)
        render_coastline(viewport)
    except Exception as exc:  # a warm-up failure must not stop the server; sessions report it
        log.warning("warm-up skipped: %s", exc)
    return time.perf_counter() - started


def serve(
    catalog: Catalog,
    port: int = 5006,
    address: str = "localhost",
    allow_websocket_origin: list[str] | None = None,
    show: bool = False,
    **kwargs,
) -> None:
    """Serve the app until interrupted (localhost origins only unless configured)."""
    origins = allow_websocket_origin or [f"localhost:{port}", f"127.0.0.1:{port}"]
    pn.config.notifications = True
    print(f"warmed up in {warm_up(catalog):.1f} s (first frames compile nothing)", flush=True)
    pn.serve(
        {"/": app_factory(catalog)},
        port=port,
        address=address,
        websocket_origin=origins,
        show=show,
        title=TITLE,
        static_dirs={"assets": str(ASSETS)},
        **kwargs,
    )
