"""Assembly: the template, the sidebar built from the state, the views, and serving."""

from __future__ import annotations

import logging
import pathlib
from collections.abc import Callable

import panel as pn

from components import ExplorerState, MapView
from data_adapters import Catalog

log = logging.getLogger(__name__)

ASSETS = pathlib.Path(__file__).resolve().parents[1] / "assets"
TITLE = "Ocean Explorer"


def create_app(catalog: Catalog) -> pn.template.BaseTemplate:
    """One session's page: sidebar controls and the map, in Panel's FastList template."""
    state = ExplorerState(catalog)
    sidebar = [
        pn.widgets.Select.from_param(state.param.dataset_id, name="Dataset"),
        pn.widgets.Select.from_param(state.param.variable, name="Variable"),
        pn.widgets.DiscreteSlider.from_param(state.param.time, name="Time"),
        pn.widgets.Select.from_param(state.param.depth, name="Depth (m)"),
        pn.widgets.Select.from_param(state.param.scenario, name="Scenario"),
    ]
    template = pn.template.FastListTemplate(
        title=TITLE,
        sidebar=sidebar,
        main=[MapView(state=state)],
        accent="#0b5d8c",
        header_background="#0b3954",
        theme_toggle=False,
    )

    def notify(event) -> None:
        if event.new and pn.state.notifications is not None:
            pn.state.notifications.error(event.new, duration=8000)

    state.param.watch(notify, "message")
    return template


def app_factory(catalog: Catalog) -> Callable[[], pn.template.BaseTemplate]:
    """A function Panel calls once per session."""
    return lambda: create_app(catalog)


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
