"""Assembly: the template, the sidebar built from the state, the views, and serving."""

from __future__ import annotations

import logging
import pathlib
from collections.abc import Callable

import panel as pn

from components import ExplorerState, MapView, ProbeView, TimeControls
from data_adapters import Catalog

log = logging.getLogger(__name__)

ASSETS = pathlib.Path(__file__).resolve().parents[1] / "assets"
TITLE = "Ocean Explorer"


def create_app(catalog: Catalog) -> pn.template.BaseTemplate:
    """One session's page: sidebar controls and the map, in Panel's FastList template."""
    state = ExplorerState(catalog)
    view = MapView(state=state)
    probe_view = ProbeView(state=state, map_view=view)
    time_controls = TimeControls(state=state)
    status = pn.pane.Markdown(
        pn.bind(
            lambda ms, clim: f"frame {ms:.0f} ms · range {clim[0]:.3g} … {clim[1]:.3g}",
            view.param.render_ms,
            view.param.clim,
        ),
        styles={"font-size": "12px", "color": "#555"},
    )
    sidebar = [
        pn.widgets.Select.from_param(state.param.dataset_id, label="Dataset"),
        pn.widgets.Select.from_param(state.param.variable, label="Variable"),
        time_controls,
        pn.widgets.Select.from_param(state.param.depth, label="Depth (m)"),
        pn.widgets.Select.from_param(state.param.scenario, label="Scenario"),
        pn.Card(view.colors, title="Colour", collapsed=False, sizing_mode="stretch_width"),
        pn.Card(view.layers, title="Layers", collapsed=True, sizing_mode="stretch_width"),
        status,
    ]
    template = pn.template.FastListTemplate(
        title=TITLE,
        sidebar=sidebar,
        main=[pn.Column(view, probe_view, sizing_mode="stretch_width")],
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
