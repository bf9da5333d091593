"""Assembly: the template, the sidebar built from the state, the views, and serving."""

from __future__ import annotations

import json
import logging
import pathlib
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import dask
import panel as pn
import psutil
import tornado.web

from components import CompareView, ExplorerState, MapView, ProbeView, TimeControls
from components.answers import off_the_loop
from components.catalog_view import CatalogView
from components.controls import processing_controls
from components.core.fields import quantity_label
from components.core.frames import FrameCache
from components.find_view import FindView
from components.map_overlays import BasemapProbe
from components.map_tiles import SETTINGS as MAP_TILES
from components.observations_view import ObservationsView
from components.probe_view import MAX_PINS
from components.text import escape
from data_adapters import Catalog, SourceError
from data_adapters.catalogues import VS
from data_adapters.session_catalog import SessionCatalog

from . import panel_fixes, urlstate
from .add_data import AddData
from .light_embed import light_patterns
from .map_requests import MapService
from .share import COMPARE_EMBED, MAP_EMBED, SERIES_EMBED, ShareDialog
from .sidebar import comparison_controls, expression_input
from .tile_server import MapServing, tile_patterns
from .uploads import DEFAULT_UPLOAD_MAX_MB, shared_upload
from .wms import wms_patterns

log = logging.getLogger(__name__)

ASSETS = pathlib.Path(__file__).resolve().parents[1] / "assets"
TITLE = "Ocean Explorer"
#: Threads of dask's scheduler in a server (reads wait on I/O far more than they compute).
DASK_THREADS = 32
#: Request headers a session may read (the phone layout reads the user agent).
SESSION_HEADERS = ("User-Agent", "Accept-Language")
#: Cookies a session may read when logins are on: Panel's own authentication cookies. Not
#: ``is_guest``: the product has no guest pages, and that unsigned cookie would replace the
#: logged-in user's identity in the session (GHSA-gfgq-cv3v-p4wc).
AUTH_COOKIES = ("user", "id_token", "access_token", "refresh_token", "oauth_expiry")
#: On narrow screens the sidebar floats over the map instead of squeezing it.
PHONE_CSS = """
@media (max-width: 720px) {
  #sidebar { position: fixed; z-index: 50; top: 56px; bottom: 0; left: 0; overflow-y: auto;
             background: #ffffff; box-shadow: 2px 0 8px rgba(0, 0, 0, 0.3); }
  #sidebar.hidden { box-shadow: none; }
  .app-header .title { display: none; }  /* the logo says it; room for Share and busy */
}
/* a tap leaves the menu button's "Toggle the Sidebar" tooltip standing over the header */
@media (hover: none), (max-width: 720px) {
  fast-tooltip[anchor="sidebar-button"] { display: none !important; }
}
"""


#: The maps take two thirds of the room beside the probes' column, which wraps below them
#: under 900 px.
MAPS_FLEX = {"flex": "2 1 560px", "min-width": "0"}
PROBES_FLEX = {"flex": "1 1 340px", "max-width": "480px", "min-width": "0"}


class Session:
    """One browser session's state and views, shared by the page and the embed routes."""

    def __init__(self, catalog: Catalog, frames: FrameCache | None = None) -> None:
        # the server's catalog plus what this session adds (its uploads), seen by no other
        self.catalog = SessionCatalog(catalog)
        self.state = ExplorerState(self.catalog)
        self.map = MapView(state=self.state, frames=frames)
        self.compare = CompareView(
            state=self.state, colors=self.map.colors, layers=self.map.layers, frames=frames
        )
        self.probes = ProbeView(state=self.state, map_view=self.map)
        self.compare.on_new_map(self.probes.listen_to)
        self.observations = ObservationsView(state=self.state, map_view=self.map)
        # in every page with a map: says when the chosen basemap's tiles cannot be loaded
        self.basemap_probe = BasemapProbe(self.map.layers, self.state.report)
        self.state.param.watch(self._notify, "message")

    def colors_for(self, mode: str):
        """The colour settings of what a mode shows: runs, or changes."""
        return _colour_settings(mode, self.map, self.compare)

    def front_map(self) -> MapView:
        """The map in front: the one-run map, or the first comparison map."""
        return self.compare.maps[0] if self.state.comparing and self.compare.maps else self.map

    def apply_url(self) -> None:
        """Apply the page's query (a link) and keep the URL following the state."""
        args = pn.state.session_args if pn.state.curdoc is not None else {}
        query = urlstate.read_query(args or {})
        # a link to a live upload, or to a comparison with one
        for part in query.get("dataset", "").split(VS):
            shared = shared_upload(part.strip()) if part.strip() else None
            if shared is not None and shared.opened is not None:
                self.catalog.add(shared.opened, description=shared.summary)
                self.state.datasets_changed()
        notices = urlstate.apply_query(query, self.state, self.colors_for, self.map.layers)
        if notices:
            pn.state.onload(lambda: [self._warn(n) for n in notices])
        self.url = urlstate.UrlSync(self.state, self.colors_for, pn.state.location, self.map.layers)

    @staticmethod
    def _warn(text: str) -> None:
        if pn.state.notifications is not None:
            pn.state.notifications.warning(escape(text), duration=10000)

    def _notify(self, event) -> None:
        if event.new and pn.state.notifications is not None:
            pn.state.notifications.error(escape(event.new), duration=8000)

    def caption(self) -> pn.viewable.Viewable:
        """Title, time, depth and the data's attribution, for embeds (escaped)."""

        def text(*_):
            s = self.state
            if s.source is None:
                return f"<div style='font:13px sans-serif'>{escape(s.dataset_id)}</div>"
            quantity = quantity_label(s.dataset[s.variable], s.variable)
            credit = s.source.attribution
            return (
                f"<div style='font:13px sans-serif'><b>{escape(s.source.title)}</b> · "
                f"{escape(quantity)}</div>"
                f"<div style='font:11px sans-serif;color:#555'>"
                + (f"Data: {escape(credit)} · " if credit else "")
                + "Ocean Explorer</div>"
            )

        s = self.state.param
        return pn.pane.HTML(
            pn.bind(text, s.dataset_id, s.variable, s.time, s.depth, s.scenario, s.mode),
            sizing_mode="stretch_width",
            margin=(2, 8),
        )


def create_app(
    catalog: Catalog,
    frames: FrameCache | None = None,
    upload_max_mb: float = DEFAULT_UPLOAD_MAX_MB,
) -> pn.template.BaseTemplate:
    """One session's page: catalogue, controls, map or comparison, probes, and the user's
    own data (uploads of at most ``upload_max_mb`` MB)."""
    session = Session(catalog, frames)
    session.apply_url()  # before the views are laid out: they open on the linked view
    state, view, compare_view = session.state, session.map, session.compare
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
    s = state.param
    add_data = _add_data_card(state, session.observations, upload_max_mb, frames)
    sidebar = [
        CatalogView(state=state),
        pn.Card(
            FindView(state=state),
            title="Find data",
            collapsed=True,
            sizing_mode="stretch_width",
            css_classes=["find-data"],
        ),
        add_data,
        pn.widgets.Select.from_param(state.param.variable, label="Variable"),
        expression_input(state),
        time_controls,
        pn.widgets.Select.from_param(
            state.param.depth,
            label="Depth (m)",
            # a surface variable has no levels to choose; a dataset without any hides it
            disabled=pn.bind(lambda *_: not state.has_levels(), s.dataset_id, s.variable),
            visible=pn.bind(lambda *_: None not in state.param.depth.objects, s.dataset_id),
        ),
        pn.widgets.Select.from_param(
            state.param.scenario, label="Scenario", visible=state.param.mode.rx() == "map"
        ),
        *processing_controls(state),
        pn.Card(
            comparison_controls(state),
            title="Compare scenarios",
            collapsed=False,
            sizing_mode="stretch_width",
        ),
        pn.Card(
            pn.bind(session.colors_for, state.param.mode),
            title="Colour",
            collapsed=False,
            sizing_mode="stretch_width",
        ),
        pn.Card(view.layers, title="Layers", collapsed=True, sizing_mode="stretch_width"),
        status,
    ]
    single = pn.Column(view, visible=state.param.mode.rx() == "map", sizing_mode="stretch_width")
    compared = pn.Column(compare_view, visible=comparing, sizing_mode="stretch_width")
    # phones: the sidebar starts closed (the hamburger opens it over the map)
    agent = (pn.state.headers or {}).get("User-Agent", "") if pn.state.curdoc else ""
    template = pn.template.FastListTemplate(
        title=TITLE,
        meta_viewport="width=device-width, initial-scale=1",
        collapsed_sidebar="Mobi" in agent,
        raw_css=[PHONE_CSS],
        logo="assets/logo.svg",
        favicon="assets/logo.svg",
        sidebar=sidebar,
        main=[
            _beside(
                pn.Column(
                    single,
                    compared,
                    session.observations,
                    session.basemap_probe,
                    sizing_mode="stretch_width",
                ),
                session.probes,
            )
        ],
        accent="#0b5d8c",
        header_background="#0b3954",
        theme_toggle=False,
        sidebar_width=330,
    )
    share = ShareDialog(state, session.front_map, template, compare_view)
    template.header.append(pn.Row(pn.layout.HSpacer(), share.button, align="center"))
    return template


def _add_data_card(state, observations, upload_max_mb: float, frames) -> pn.Card:
    """The "Add your data" card: its uploader (a file dropper, a private directory, an
    expiry timer) is made when the card is first opened, so a session that never uploads
    holds none of it."""
    card = pn.Card(title="Add your data", collapsed=True, sizing_mode="stretch_width")
    # the dropper comes after the page has loaded: its script must come with the page
    pn.extension("filedropper")

    def opened(event) -> None:
        if not event.new and not card.objects:
            add_data = AddData(state, observations, upload_max_mb, frames)
            add_data.start()
            card.objects = [add_data]

    card.param.watch(opened, "collapsed")
    return card


def _beside(maps: pn.viewable.Viewable, probes: pn.viewable.Viewable) -> pn.FlexBox:
    """The probes' answers beside the maps, where a click's series is seen without scrolling
    (a laptop's 1400 x 900 window); below them when the window is too narrow (phones)."""
    return pn.FlexBox(
        pn.Column(maps, sizing_mode="stretch_width", styles=MAPS_FLEX),
        pn.Column(probes, sizing_mode="stretch_width", styles=PROBES_FLEX, css_classes=["probes"]),
        flex_wrap="wrap",
        align_items="flex-start",
        sizing_mode="stretch_width",
    )


def _absolute_resources(route: str) -> None:
    """In a ``<script>`` embed (Bokeh's autoload.js) load every resource by absolute URL.

    Panel resolves its extension resources (notifications, ES module shims) relative to the
    request path (``pn.state.location`` sets that when first read), which on a
    stakeholder's page points at that site: the embed would never load. The autoload
    request names the app's absolute URL; resources go from its root.
    """
    args = pn.state.session_args if pn.state.curdoc is not None else {}
    absolute = (args or {}).get("bokeh-absolute-url")
    if not absolute:
        return
    url = absolute[-1].decode("utf-8", errors="replace").split("?")[0].rstrip("/")
    if url.endswith(route):
        pn.state.rel_path = url[: -len(route)]


def embed_map(catalog: Catalog, frames: FrameCache | None = None) -> pn.viewable.Viewable:
    """``/embed/map``: the map of the URL's view with its caption, no other chrome."""
    session = Session(catalog, frames)
    session.apply_url()
    _absolute_resources(f"/{MAP_EMBED}")  # after the URL: reading it resets the paths
    if session.state.comparing:
        session.state.mode = "map"
    return pn.Column(
        session.caption(), session.map, session.basemap_probe, sizing_mode="stretch_width"
    )


def embed_timeseries(catalog: Catalog, frames: FrameCache | None = None) -> pn.viewable.Viewable:
    """``/embed/timeseries``: the time series at the URL's points (``points=lon,lat;...``)."""
    session = Session(catalog, frames)
    session.apply_url()
    _absolute_resources(f"/{SERIES_EMBED}")  # after the URL: reading it resets the paths
    if not session.state.points:  # an embed has no map to click: say what the link lacks
        body = pn.pane.HTML(
            "<i>No point to show: add <code>points=lon,lat</code> (up to "
            f"{MAX_PINS}, separated by <code>;</code>) to this embed's link.</i>",
            margin=(10, 10),
        )
        return pn.Column(session.caption(), body, sizing_mode="stretch_width")
    plot = off_the_loop(session.probes.series_plot)
    s = session.state.param
    # once the page has loaded (as answer panes): an answer that came while the page was still
    # connecting could be lost on its way, and the embed stayed empty (one load in three)
    body = pn.panel(
        pn.bind(plot, s.points, s.variable, s.depth, s.scenario, s.mode),
        loading_indicator=True,
        defer_load=True,
    )
    return pn.Column(session.caption(), body, sizing_mode="stretch_width")


def embed_compare(catalog: Catalog, frames: FrameCache | None = None) -> pn.viewable.Viewable:
    """``/embed/compare``: the URL's comparison (default: the difference map)."""
    session = Session(catalog, frames)
    session.apply_url()
    _absolute_resources(f"/{COMPARE_EMBED}")  # after the URL: reading it resets the paths
    if not session.state.comparing:
        session.state.mode = "difference"
    session.compare.compact = True  # up to three maps in one row: the frame shows them all
    return pn.Column(
        session.caption(), session.compare, session.basemap_probe, sizing_mode="stretch_width"
    )


#: Routes beside the app (``/``): minimal-chrome views for iframes and script embeds.
EMBEDS = {
    f"/{MAP_EMBED}": embed_map,
    f"/{SERIES_EMBED}": embed_timeseries,
    f"/{COMPARE_EMBED}": embed_compare,
}


def _colour_settings(mode: str, view: MapView, compare_view: CompareView):
    """The colour settings of what the map shows: runs, or changes in comparison modes."""
    if mode == "difference":
        return compare_view.change_colors["diff"]
    if mode == "relative":
        return compare_view.change_colors["pct"]
    return view.colors


def routes(
    catalog: Catalog,
    frames: FrameCache | None = None,
    upload_max_mb: float = DEFAULT_UPLOAD_MAX_MB,
) -> dict[str, Callable[[], pn.viewable.Viewable]]:
    """Every page the server serves: the app at ``/`` and the embed routes, their maps
    sharing ``frames`` (the server's frame cache)."""
    pages: dict[str, Callable[[], pn.viewable.Viewable]] = {
        "/": lambda: create_app(catalog, frames, upload_max_mb)
    }
    for route, build in EMBEDS.items():
        pages[route] = lambda build=build: build(catalog, frames)
    return pages


def warm_up(catalog: Catalog) -> float:
    """Compile and load what the first frames need, so that no user waits for it: Datashader's
    numba kernels for both grid kinds, the coastlines, the default dataset and its map
    pyramid; returns seconds.

    On 2 cores the first regular-grid frame of a process compiles for about 0.7 s and the
    first curvilinear one for about 2 s; both are compiled here on tiny grids.
    """
    import time

    import numpy as np
    import xarray as xr

    from components.core.coastlines import render_coastline
    from components.core.frames import full_extent, pyramid_for, render_field
    from components.core.geography import WEB_MERCATOR, Viewport

    started = time.perf_counter()
    try:
        # a rotated 4 x 4 grid (2-D lon/lat): the curvilinear quadmesh, whatever is served
        y, x = np.meshgrid(np.arange(4.0), np.arange(4.0), indexing="ij")
        curvilinear = xr.DataArray(
            np.ones((4, 4), dtype="float32"),
            dims=("y", "x"),
            coords={"lon": (("y", "x"), 2.0 * x + 0.5 * y), "lat": (("y", "x"), 2.0 * y - 0.5 * x)},
        )
        render_field(curvilinear, Viewport.from_bbox((-1.0, -2.0, 8.0, 7.0), 16, 16, WEB_MERCATOR))
        state = ExplorerState(catalog)
        field = state.field()
        x0, y0, x1, y1 = full_extent(field, WEB_MERCATOR)
        viewport = Viewport((x0, x1), (y0, y1), 96, 54, WEB_MERCATOR)
        # as the map renders it: through the dataset's pyramid (opening its levels now)
        render_field(pyramid_for(field, state.source.pyramid), viewport)
        render_coastline(viewport)
    except Exception as exc:  # a warm-up failure must not stop the server; sessions report it
        log.warning("warm-up skipped: %s", exc)
    return time.perf_counter() - started


def default_origins(port: int) -> list[str]:
    """The origins allowed to open a session's websocket when none are configured."""
    return [f"localhost:{port}", f"127.0.0.1:{port}"]


#: Seconds ``serve --dask-scheduler ADDR`` waits for the scheduler before giving up.
DASK_CONNECT_TIMEOUT_S = 20.0


def connect_dask(address: str | None):
    """Send dask work (reading, rendering inputs, statistics) to a distributed cluster.

    ``address`` is a scheduler (``tcp://host:8786``) or ``local`` for a cluster of worker
    processes on this machine; None keeps dask's threads in the server process. The client
    becomes dask's default scheduler, so every computation of the process (frames, probes,
    comparisons) runs as tasks on the cluster; the demo ocean's chunk functions pickle, so it
    runs on worker processes too. Returns the client (None without a cluster).

    Raises
    ------
    SourceError
        When the scheduler cannot be reached within :data:`DASK_CONNECT_TIMEOUT_S`, or the
        local cluster cannot start (one line; the CLI exits 2).
    """
    if not address:
        return None
    from dask.distributed import Client, LocalCluster

    from data_adapters import SourceError

    try:
        if address == "local":
            cluster = LocalCluster(processes=True, dashboard_address=None)
            client = Client(cluster, set_as_default=True)
        else:
            client = Client(address, set_as_default=True, timeout=f"{DASK_CONNECT_TIMEOUT_S}s")
    except (OSError, TimeoutError, ValueError) as exc:  # refused, unreachable, bad address
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SourceError(
            f"--dask-scheduler {address}: cannot connect ({reason}); start the scheduler "
            "or check the address (tcp://HOST:PORT, or 'local')"
        ) from exc
    workers = len(client.scheduler_info().get("workers", {}))
    log.warning("dask work goes to %s (%d workers)", client.scheduler.address, workers)
    return client


class HealthHandler(tornado.web.RequestHandler):
    """``GET /health``: ``{"status": "ok", "sessions": N, "rss_mb": M}`` for monitors and
    load tests: the live sessions of every route, and the server process's resident memory."""

    def get(self) -> None:
        app = self.application  # BokehTornado: its routes and their sessions
        sessions = sum(len(app.get_sessions(path)) for path in app.app_paths)
        rss = psutil.Process().memory_info().rss / 1e6
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.write(json.dumps({"status": "ok", "sessions": sessions, "rss_mb": round(rss, 1)}))


def map_patterns(catalog: Catalog, frames: FrameCache) -> list[tuple]:
    """The session-free routes: tiles and TileJSON, WMS, light embeds (one render pool)."""
    serving = MapServing(MapService(catalog, frames))
    return [*tile_patterns(serving), *wms_patterns(serving), *light_patterns(serving)]


def read_basic_auth(path: str) -> str | dict[str, str]:
    """The logins of a ``--basic-auth`` file: ``user:password`` lines (``#`` comments), a
    JSON object ``{"user": "password"}``, or one line with a single shared password.

    Raises
    ------
    ValueError
        For an empty file or a line that is not ``user:password``.
    """
    text = pathlib.Path(path).read_text(encoding="utf-8").strip()
    if text.startswith("{"):
        logins = json.loads(text)
        if not (isinstance(logins, dict) and all(isinstance(v, str) for v in logins.values())):
            raise ValueError("a JSON basic-auth file maps user names to passwords")
        return logins
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    if not lines:
        raise ValueError("the basic-auth file is empty; write a password or user:password lines")
    if len(lines) == 1 and ":" not in lines[0]:
        return lines[0]
    logins = {}
    for number, line in enumerate(lines, start=1):
        user, sep, password = line.partition(":")
        if not (sep and user.strip() and password):
            raise ValueError(f"line {number} of the basic-auth file is not user:password")
        logins[user.strip()] = password
    return logins


def serve(
    catalog: Catalog,
    port: int = 5006,
    address: str = "localhost",
    allow_websocket_origin: list[str] | None = None,
    show: bool = False,
    prefix: str | None = None,
    num_procs: int = 1,
    num_threads: int = 4,
    session_expiry_s: float = 15.0,
    basic_auth: str | dict[str, str] | None = None,
    dask_scheduler: str | None = None,
    upload_max_mb: float = DEFAULT_UPLOAD_MAX_MB,
    map_tiles: bool = True,
    **kwargs,
) -> None:
    """Serve the app and its embed routes until interrupted.

    Websocket origins: localhost on ``port``, plus ``allow_websocket_origin``. Uploads
    are refused past ``upload_max_mb`` MB (counted as they arrive). With ``map_tiles`` (the
    default) the maps step through time on the server's ``/tiles`` (see
    ``components.map_tiles``); without, every picture is a rendered image. Other keyword
    arguments (OAuth, cookie secret, ...) go to ``pn.serve``.
    """
    if kwargs.get("oauth_provider") or pn.config.oauth_provider:  # also $PANEL_OAUTH_PROVIDER
        reason = panel_fixes.refusal("--oauth-provider")
        if reason:
            raise SourceError(reason)
    origins = [*default_origins(port), *(allow_websocket_origin or [])]
    panel_fixes.install()  # advisories and defects of the installed Panel (app/panel_fixes.py)
    pn.config.notifications = True
    # events from the browser run in a pool of threads: one session's slow read does not
    # hold the event loop that every other session needs
    if num_threads > 0:
        pn.config.nthreads = num_threads
    # dask's threads mostly wait on reads (files, servers): more of them than cores, so that
    # one slow source's waits leave threads for every other session
    dask.config.set(pool=ThreadPoolExecutor(DASK_THREADS, thread_name_prefix="dask-read"))
    connect_dask(dask_scheduler)
    print(f"warmed up in {warm_up(catalog):.1f} s (first frames compile nothing)", flush=True)
    options = {k: v for k, v in kwargs.items() if v is not None}
    if prefix:
        options["prefix"] = prefix
    if num_procs != 1:
        options["num_procs"] = num_procs
    if basic_auth:
        options["basic_auth"] = basic_auth
    # Request headers and cookies travel into the page inside the session token: only the
    # few the app reads go (a proxy's or another app's cookies and credentials never do)
    authenticated = bool(basic_auth or kwargs.get("oauth_provider"))
    options.setdefault("include_headers", list(SESSION_HEADERS))
    options.setdefault("include_cookies", list(AUTH_COOKIES) if authenticated else [])
    if authenticated and not (kwargs.get("cookie_secret") or pn.config.cookie_secret):
        options["cookie_secret"] = secrets.token_urlsafe(32)  # logins last as long as the server
    # a closed page's session is dropped this long after its websocket goes
    expiry_ms = max(int(session_expiry_s * 1000), 100)
    options.setdefault("unused_session_lifetime_milliseconds", expiry_ms)
    options.setdefault("check_unused_sessions_milliseconds", max(expiry_ms // 2, 100))
    MAP_TILES["enabled"] = map_tiles
    frames = FrameCache()  # the server's frame cache, shared by its sessions and its tiles
    options.setdefault(
        "extra_patterns", [(r"/health", HealthHandler), *map_patterns(catalog, frames)]
    )
    pn.serve(
        routes(catalog, frames, upload_max_mb),
        port=port,
        address=address,
        websocket_origin=origins,
        show=show,
        title=TITLE,
        static_dirs={"assets": str(ASSETS)},
        **options,
    )
