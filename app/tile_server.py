"""XYZ tiles and TileJSON beside the app: Tornado handlers added to ``pn.serve`` as ``/health`` is.

- ``GET /tiles/{dataset}/{variable}/{z}/{x}/{y}.png``: a 256 px Web Mercator tile (PNG, RGBA;
  land and no data transparent), the query as :mod:`app.map_requests` reads it;
- ``GET /tiles/{dataset}/{variable}/tilejson.json``: TileJSON 3.0.0 (bounds, zooms, the tile
  URL template with the time step and the colours fixed, and the steps as ``times``);
- ``GET /tiles/{dataset}/{variable}/value.json?lon=X&lat=Y&...``: the value in the cell at a
  point (JSON: ``value``, null on land or no data, ``name``, ``units``, ``lon``, ``lat``,
  ``time``), with the tiles' query: what the dashboard's hover over tiles shows.

Every answer carries a strong ``ETag`` known before rendering (``If-None-Match`` gets a
``304`` with no pixel computed) and ``Cache-Control: public``: long for a fixed past step,
short for the newest step of a source that may still grow. Renders run on a small pool of
threads, never on the event loop; a client with :data:`PER_CLIENT_RENDERS` renders running, or
a server with :data:`MAX_PENDING_RENDERS` queued (or :data:`MAX_PIXELS_IN_FLIGHT`), is
answered ``429`` with ``Retry-After``
(ERDDAP's way), so the queue never grows.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import tornado.web
from bokeh.server.views.auth_request_handler import AuthRequestHandler

from components.core.geography import MERCATOR_MAX_LAT, Viewport, wrap_lon
from components.core.tiles import tile_viewport

from .map_requests import MapRequest, MapService, NotFoundError
from .urlstate import UrlValueError

log = logging.getLogger(__name__)

#: Threads rendering tiles and WMS maps (Datashader and PNG encoding release the GIL in part).
RENDER_THREADS = 4
#: Renders one client (IP address) may have running or queued; more answer 429.
PER_CLIENT_RENDERS = 8
#: Renders the whole server may have running or queued; more answer 429.
MAX_PENDING_RENDERS = 64
#: Pixels the renders in flight may hold together: two of the largest WMS maps (4096 px
#: square, about 270 MB of values and colours), or 512 tiles.
MAX_PIXELS_IN_FLIGHT = 2 * 4096 * 4096
#: Seconds a client refused with 429 is asked to wait.
RETRY_AFTER_S = 1
#: Cache lifetimes (s): a fixed past step; the newest step (a forecast may still change it).
MAX_AGE_PAST_S = 7 * 24 * 3600
MAX_AGE_LATEST_S = 300
#: Route pieces: a dataset or variable name (no slash, bounded), a tile number.
NAME = r"([^/]{1,200})"
NUMBER = r"([0-9]{1,9})"


class RenderLimits:
    """Renders in flight per client and in all, and their pixels; :meth:`admit` refuses past
    the limits (a render of ``pixels`` holds about 8 bytes a pixel until it is sent)."""

    def __init__(
        self,
        per_client: int = PER_CLIENT_RENDERS,
        total: int = MAX_PENDING_RENDERS,
        max_pixels: int = MAX_PIXELS_IN_FLIGHT,
    ):
        self.per_client = per_client
        self.total = total
        self.max_pixels = max_pixels
        self._clients: dict[str, int] = {}
        self._pending = 0
        self._pixels = 0
        self._lock = threading.Lock()
        #: requests refused, for logs and tests
        self.refused = 0

    def admit(self, client: str, pixels: int = 0) -> bool:
        """True (and counted) when ``client`` may start a render of ``pixels`` now; then call
        :meth:`done` with the same arguments."""
        with self._lock:
            busy = self._pending >= self.total or self._clients.get(client, 0) >= self.per_client
            # one map larger than the budget still runs alone
            if busy or (self._pixels and self._pixels + pixels > self.max_pixels):
                self.refused += 1
                return False
            self._pending += 1
            self._pixels += pixels
            self._clients[client] = self._clients.get(client, 0) + 1
            return True

    def done(self, client: str, pixels: int = 0) -> None:
        with self._lock:
            self._pending -= 1
            self._pixels -= pixels
            left = self._clients.get(client, 1) - 1
            if left:
                self._clients[client] = left
            else:
                self._clients.pop(client, None)


class MapServing:
    """What the map handlers share: the service, the render threads and the limits."""

    def __init__(self, service: MapService, limits: RenderLimits | None = None) -> None:
        self.service = service
        self.limits = limits or RenderLimits()
        self.pool = ThreadPoolExecutor(RENDER_THREADS, thread_name_prefix="tile-render")


class MapHandler(AuthRequestHandler):
    """Shared answers of the tile, TileJSON and WMS handlers: errors, caching, rendering.

    Logins apply as on the app's pages (Bokeh's authentication hooks: ``--basic-auth``,
    OAuth): a server with logins serves no map to a visitor who has not logged in.
    """

    serving: MapServing

    def initialize(self, serving: MapServing) -> None:
        self.serving = serving

    def set_default_headers(self) -> None:
        # public, read-only images and documents: web maps on other sites may fetch them
        # (MapLibre and OpenLayers fetch tiles; a page fetches TileJSON); no credentials
        self.set_header("Access-Control-Allow-Origin", "*")

    def _auth(self):
        return getattr(self.application, "auth_provider", None)  # None: a plain Tornado app

    def get_current_user(self):
        provider = self._auth()
        return "default_user" if provider is None else super().get_current_user()

    def get_login_url(self) -> str:
        return super().get_login_url() if self._auth() is not None else "/"

    async def prepare(self) -> None:
        if self._auth() is not None:
            await super().prepare()

    def query(self) -> dict[str, str]:
        """The query's last value of each key, as text."""
        args = self.request.query_arguments
        return {k: v[-1].decode("utf-8", errors="replace") for k, v in args.items() if v}

    def refuse(self, status: int, message: str) -> None:
        """Answer ``status`` with one line of text saying what is wrong and how to fix it."""
        self.clear()
        if status == 429:
            self.set_header("Retry-After", str(RETRY_AFTER_S))
        self.set_status(status)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.set_header("X-Content-Type-Options", "nosniff")  # echoed text is never a page
        self.set_header("Cache-Control", "no-store")
        self.finish(message + "\n")

    def origin_root(self) -> str:
        """``scheme://host/prefix/`` of this server, from the request (links in answers)."""
        path = self.request.path
        for marker in ("/tiles/", "/wms", "/embed/light/"):
            if marker in path:
                path = path[: path.index(marker)]
                break
        return f"{self.request.protocol}://{self.request.host}{path}/"

    def cache_headers(self, req: MapRequest, tag: str) -> bool:
        """Set ETag and Cache-Control; True (and the 304 sent) when the client has it."""
        self.set_header("ETag", tag)
        past = req.step is not None and not req.latest
        age = MAX_AGE_PAST_S if past or req.step is None else MAX_AGE_LATEST_S
        self.set_header("Cache-Control", f"public, max-age={age}")
        asked = self.request.headers.get("If-None-Match", "")
        if tag in [t.strip().removeprefix("W/") for t in asked.split(",")] or asked == "*":
            self.set_status(304)
            self.finish()
            return True
        return False

    async def send_png(
        self,
        req: MapRequest,
        viewport: Viewport,
        tag: str,
        background: tuple[int, int, int] | None = None,
    ) -> None:
        """Render (or take from the PNG cache) and send the map, within the limits."""
        service = self.serving.service
        png = service.cached_png(tag)
        if png is None:
            pixels = viewport.width * viewport.height
            png = await self.limited(pixels, service.render, req, viewport, tag, background)
            if png is None:
                return
        self.set_header("Content-Type", "image/png")
        self.finish(png)

    async def limited(self, pixels: int, fn, *args):
        """``fn(*args)`` on the render threads within the client's and server's limits; None
        when refused or failed (the refusal sent: 429, 400 or 502, in one line)."""
        client = self.request.remote_ip or "?"
        limits = self.serving.limits
        if not limits.admit(client, pixels):
            self.map_error(429, f"too many maps at once; retry after {RETRY_AFTER_S} s")
            return None
        try:
            return await self.off_loop(fn, *args)
        except UrlValueError as exc:
            self.map_error(400, str(exc))
        except Exception as exc:  # a source that fails: say so, keep serving
            log.warning("event=map_failed path=%s reason=%r", self.request.path, str(exc))
            self.map_error(502, f"the data could not be read: {str(exc).splitlines()[0]}")
        finally:
            limits.done(client, pixels)
        return None

    async def off_loop(self, fn, *args):
        """``fn(*args)`` on the render threads: the event loop keeps serving meanwhile."""
        return await asyncio.get_running_loop().run_in_executor(self.serving.pool, fn, *args)

    def map_error(self, status: int, message: str) -> None:
        """How this handler reports a refusal (WMS overrides it with its XML report)."""
        self.refuse(status, message)

    def refuse_request(self, exc: Exception) -> None:
        """Refuse a request that names what this server does not have (404) or has a wrong
        parameter (400), saying which."""
        self.map_error(404 if isinstance(exc, NotFoundError) else 400, str(exc))

    def send_document(self, content_type: str, body: str) -> None:
        """Send a page or document made for the newest data (cached as long as a tile of it)."""
        self.set_header("Content-Type", content_type)
        self.set_header("Cache-Control", f"public, max-age={MAX_AGE_LATEST_S}")
        self.finish(body)


class TileHandler(MapHandler):
    """``/tiles/{dataset}/{variable}/{z}/{x}/{y}.png``."""

    @tornado.web.authenticated
    async def get(self, dataset: str, variable: str, z: str, x: str, y: str) -> None:
        service = self.serving.service
        try:
            req = service.request(dataset, variable, self.query())
            top = service.max_zoom(dataset, variable)
            if int(z) > top:
                raise UrlValueError(
                    f"zoom {int(z)} is past this variable's finest tiles (zoom {top}: its cells "
                    "are then several pixels wide); zoom out"
                )
            viewport = tile_viewport(int(z), int(x), int(y))
        except (NotFoundError, ValueError) as exc:  # UrlValueError is a ValueError
            self.refuse_request(exc)
            return
        tag = req.etag("tile", int(z), int(x), int(y))
        if not self.cache_headers(req, tag):
            await self.send_png(req, viewport, tag)


class TileJsonHandler(MapHandler):
    """``/tiles/{dataset}/{variable}/tilejson.json``: TileJSON 3.0.0 of the query's map."""

    @tornado.web.authenticated
    async def get(self, dataset: str, variable: str) -> None:
        service = self.serving.service
        try:
            req = service.request(dataset, variable, self.query())
            # the automatic colour range may render an overview: off the event loop
            doc = await self.off_loop(tilejson, service, req, self.origin_root())
        except (NotFoundError, UrlValueError) as exc:
            self.refuse_request(exc)
            return
        self.send_document("application/json", json.dumps(doc))


class ValueHandler(MapHandler):
    """``/tiles/{dataset}/{variable}/value.json``: the value at ``lon``, ``lat``."""

    @tornado.web.authenticated
    async def get(self, dataset: str, variable: str) -> None:
        service = self.serving.service
        query = self.query()
        try:
            req = service.request(dataset, variable, query)
            lon, lat = (
                _coordinate(query, key, bound) for key, bound in (("lon", 540), ("lat", 90))
            )
        except (NotFoundError, ValueError) as exc:
            self.refuse_request(exc)
            return
        if not self.cache_headers(req, req.etag("value", lon, lat)):
            answer = await self.limited(0, service.value, req, lon, lat)
            if answer is not None:
                self.set_header("Content-Type", "application/json")
                self.finish(json.dumps(answer))


def _coordinate(query: dict[str, str], key: str, bound: float) -> float:
    """The number ``query[key]`` (degrees, within ±``bound``), or a one-line refusal."""
    text = query.get(key)
    if text is None:
        raise UrlValueError(f"{key}: give the point's {key} in degrees ({key}=...)")
    try:
        value = float(text)
    except ValueError:
        raise UrlValueError(f"{key}: '{text[:40]}' is not a number of degrees") from None
    if not -bound <= value <= bound:  # NaN fails too
        raise UrlValueError(f"{key}: {text[:40]} is outside -{bound}..{bound} degrees")
    return value


def tile_query(req: MapRequest, clim: tuple[float, float], time: str | None) -> dict[str, str]:
    """The query of ``req``'s tiles at step ``time`` with the colours fixed to ``clim``."""
    query = {}
    if time is not None:
        query["time"] = time
    if req.depth is not None:
        query["depth"] = f"{req.depth:g}"
    if req.mode != "map":
        query.update(mode=req.mode, baseline=str(req.baseline))
    if req.scenario is not None:
        query["scenario"] = str(req.scenario)
    query.update(req.processing.query())
    query.update(cmap=req.cmap, clim=f"{clim[0]:.6g},{clim[1]:.6g}")
    if req.log:
        query["log"] = "true"
    return query


def tilejson(service: MapService, req: MapRequest, root: str) -> dict:
    """The TileJSON 3.0.0 document of ``req``'s tiles; ``root`` is the server's URL.

    Beside the standard keys: ``times`` (ISO steps), ``time`` (this document's step),
    ``colormap``, ``clim`` and ``units``, and ``tiles_by_time``: the tile template with
    ``{time}`` where the step goes, for players that step through time.
    """
    opened, da = service.open(req.dataset, req.variable)
    scale = service.scale(req)
    quote = urllib.parse.quote
    base = f"{root}tiles/{quote(req.dataset, safe='')}/{quote(req.variable, safe='')}"
    query = tile_query(req, scale.clim, req.time)
    template = f"{base}/{{z}}/{{x}}/{{y}}.png?" + urllib.parse.urlencode(query, safe=",:")
    by_time = template
    if req.time is not None:
        by_time = template.replace(f"time={urllib.parse.quote(req.time, safe=':')}", "time={time}")
    west, south, east, north = service.extent(req.dataset, req.variable)
    if east - west >= 360.0:
        west, east = -180.0, 180.0
    else:
        west, east = (float(v) for v in wrap_lon([west, east]))
        east = 180.0 if east == -180.0 else east
    south, north = max(south, -MERCATOR_MAX_LAT), min(north, MERCATOR_MAX_LAT)
    times = []
    if "time" in da.dims:
        from components.core.timeaxis import iso_times

        times = iso_times(da["time"].values)
    centre_lon = (west + east) / 2 if west <= east else ((west + east + 360) / 2 + 180) % 360 - 180
    return {
        "tilejson": "3.0.0",
        "name": f"{opened.title}: {da.attrs.get('long_name') or req.variable}",
        "attribution": opened.attribution or opened.title,
        "scheme": "xyz",
        "tiles": [template],
        "minzoom": 0,
        "maxzoom": service.max_zoom(req.dataset, req.variable),
        "bounds": [round(v, 6) for v in (west, south, east, north)],
        "center": [round(centre_lon, 6), round((south + north) / 2, 6), 1],
        "tiles_by_time": by_time,
        "time": req.time,
        "times": times,
        "colormap": scale.cmap,
        "clim": list(scale.clim),
        "log": scale.log,
        "units": str(da.attrs.get("units") or ""),
    }


def tile_patterns(serving: MapServing) -> list[tuple]:
    """The tile routes for ``pn.serve(extra_patterns=...)``."""
    args = {"serving": serving}
    return [
        (rf"/tiles/{NAME}/{NAME}/tilejson\.json", TileJsonHandler, args),
        (rf"/tiles/{NAME}/{NAME}/value\.json", ValueHandler, args),
        (rf"/tiles/{NAME}/{NAME}/{NUMBER}/{NUMBER}/{NUMBER}\.png", TileHandler, args),
    ]
