"""Tiles, WMS and light embeds from ``ocean-explorer serve`` on the prepared 1/12° store.

The server runs as a user runs it (a subprocess on a catalog of the store ``map_frame``
prepares: map tiles and the map pyramid), measured over HTTP on 127.0.0.1 by clients of this
process:

- a new tile: ``/tiles/.../{z}/{x}/{y}.png`` of a tile and time step not asked before (no
  frame or PNG cache can answer), colours fixed (``clim``), one keep-alive connection;
- a revalidation: the same tile again with ``If-None-Match`` (answered ``304``);
- our GetMap and xpublish-wms's (its ``CfWmsPlugin`` on uvicorn, on the time-chunked store,
  as ``map_frame`` runs it) for the same tile's box (256 x 256) and for the whole-globe
  800 x 450 view, each on a new time step;
- light-embed viewers: :data:`VIEWERS` simulated visitors (``--quick``: fewer, shorter),
  arriving over the first half of the run, each loading ``/embed/light/map`` once and then
  asking the 8 tiles of its view (zoom 2) at the next time step every :data:`STEP_S` seconds
  from the page's first step, as the page's play button does; a step already seen is in the
  visitor's browser cache and not asked again. Each visitor connects from its
  own loopback address (127.0.0.x), so the per-client render limit applies per visitor, as
  for real visitors. Reported: p50/p95 tile time, errors (any status but 200), the server's
  peak RSS, and the first paint of a light embed in headless Chromium (page and all its tiles).
"""

from __future__ import annotations

import http.client
import random
import statistics
import threading
import time
import urllib.parse

import numpy as np

from components.core.geography import MERCATOR_HALF_WORLD, WEB_MERCATOR, Viewport
from components.core.tiles import tile_viewport

from .browser import browser_page, serving
from .data import open_global, prepared_global
from .harness import Options, Table, Target, fmt_bytes, fmt_ms, fmt_ratio, progress
from .map_frame import COLOUR_RANGE, STORES, for_wms, wms_getmap, wms_server
from .server_memory import MemorySampler

NAME = "tiles"
DESCRIPTION = (
    "new tile, 304 revalidation and GetMap vs xpublish-wms on the prepared 1/12° store; "
    "light-embed viewers stepping time (p95, errors, RSS, first paint)"
)

STORE = "1/12°"
#: Tiles timed per case (``--quick``: fewer), each a new tile at a new step.
NEW_TILES, QUICK_NEW_TILES = 20, 8
#: Simulated light-embed viewers and seconds they browse (``--quick``: fewer, shorter).
VIEWERS, QUICK_VIEWERS = 200, 50
BROWSE_S, QUICK_BROWSE_S = 60.0, 20.0
#: Seconds between a viewer's time steps.
STEP_S = 2.0
#: The tiles of a light embed's view: zoom 2, the Atlantic and its coasts (8 tiles).
VIEW_TILES = [(2, x, y) for y in (0, 1) for x in (0, 1, 2, 3)]
#: Targets: new tile median, 304 median (ms); speed-up over xpublish-wms; viewers' p95 (ms),
#: server RSS (bytes), light embed first paint (ms).
TARGET_TILE_MS, TARGET_304_MS, TARGET_SPEEDUP = 30.0, 2.0, 3.0
TARGET_P95_MS, TARGET_RSS, TARGET_PAINT_MS = 300.0, 1.5e9, 1500.0
CLIM = f"{COLOUR_RANGE[0]:g},{COLOUR_RANGE[1]:g}"


def _get(conn: http.client.HTTPConnection, path: str, headers: dict | None = None):
    """(status, headers, body, seconds) of a GET on a keep-alive connection."""
    started = time.perf_counter()
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    body = response.read()
    return response.status, dict(response.getheaders()), body, time.perf_counter() - started


def _tile_path(z: int, x: int, y: int, time_label: str) -> str:
    return f"/tiles/ocean/sst/{z}/{x}/{y}.png?time={time_label}&cmap=thermal&clim={CLIM}"


def _ocean_tiles(count: int, part: int = 0) -> list[tuple[int, int, int]]:
    """``count`` tiles of zoom 3 and 4 away from the poles, fixed order; ``part`` 0 or 1
    gives two sets with no tile in common (tiles, then GetMaps: no frame is reused)."""
    tiles = [(3, x, y) for y in (2, 3, 4, 5) for x in range(8)]
    tiles += [(4, x, y) for y in (5, 6, 7, 8, 9, 10) for x in range(0, 16, 3)]
    return random.Random(20261206).sample(tiles, 2 * count)[part * count : (part + 1) * count]


def time_server(url: str, times: list[str], count: int) -> dict[str, list[float]]:
    """Seconds of new tiles, 304s, and our GetMap (tile box; globe)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    out: dict[str, list[float]] = {"tile": [], "304": [], "getmap tile": [], "getmap globe": []}
    _get(conn, _tile_path(0, 0, 0, times[0]))  # warm-up: opening the store, first compile
    for i, (z, x, y) in enumerate(_ocean_tiles(count)):
        step = times[1 + i % (len(times) - 1)]
        status, headers, _, s = _get(conn, _tile_path(z, x, y, step))
        assert status == 200, status
        out["tile"].append(s)
        status, _, _, s = _get(conn, _tile_path(z, x, y, step), {"If-None-Match": headers["Etag"]})
        assert status == 304, status
        out["304"].append(s)
    for i, (view, viewport) in enumerate(_wms_views(count).items()):
        for j in range(count):
            step = times[1 + (j + i * count) % (len(times) - 1)]
            status, _, _, s = _get(conn, _our_getmap(viewport[j], step))
            assert status == 200, status
            out[view].append(s)
    conn.close()
    return out


def _wms_views(count: int) -> dict[str, list[Viewport]]:
    globe = Viewport(
        (-MERCATOR_HALF_WORLD, MERCATOR_HALF_WORLD), (-15e6, 15e6), 800, 450, WEB_MERCATOR
    )
    return {
        "getmap tile": [tile_viewport(*t) for t in _ocean_tiles(count, part=1)],
        "getmap globe": [globe] * count,
    }


def _our_getmap(viewport: Viewport, time_label: str) -> str:
    (x0, x1), (y0, y1) = viewport.x_range, viewport.y_range
    return (
        "/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=ocean/sst&STYLES=thermal"
        f"&CRS=EPSG:3857&BBOX={x0},{y0},{x1},{y1}&WIDTH={viewport.width}"
        f"&HEIGHT={viewport.height}&FORMAT=image/png&TRANSPARENT=TRUE&TIME={time_label}"
        f"&COLORSCALERANGE={CLIM}"
    )


def time_xpublish(times: list[str], count: int) -> dict[str, list[float]]:
    """Seconds of xpublish-wms GetMaps for the same views, each on a new step."""
    resolution, ntime = STORES[STORE]
    out: dict[str, list[float]] = {}
    with wms_server({"ocean": for_wms(open_global(resolution, ntime))}) as base:
        for i, (view, viewports) in enumerate(_wms_views(count).items()):
            wms_getmap(base, "ocean", times[0], viewports[0])  # warm-up
            out[view] = []
            for j, viewport in enumerate(viewports):
                step = times[1 + (j + i * count) % (len(times) - 1)]
                started = time.perf_counter()
                wms_getmap(base, "ocean", step, viewport)
                out[view].append(time.perf_counter() - started)
    return out


class Viewers:
    """Simulated light-embed visitors, each on its own thread and loopback address."""

    def __init__(self, url: str, times: list[str], count: int, seconds: float) -> None:
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.times, self.count, self.seconds = times, count, seconds
        self.tile_s: list[float] = []
        self.page_s: list[float] = []
        self.errors: list[str] = []
        self.cached = 0
        self._lock = threading.Lock()

    def visit(self, number: int, start: float) -> None:
        rng = random.Random(number)
        address = f"127.0.{1 + number // 250}.{1 + number % 250}"
        conn = http.client.HTTPConnection(
            self.host, self.port, timeout=60, source_address=(address, 0)
        )
        seen: set[str] = set()
        step = 0  # the page's step: every viewer opens the same embed link
        stop_at = start + self.seconds
        # viewers arrive over the first half of the run, so they are at different steps
        next_at = start + rng.uniform(0.0, self.seconds / 2)
        first = True
        while True:
            threading.Event().wait(max(0.0, next_at - time.monotonic()))  # the viewer's pace
            if time.monotonic() >= stop_at:
                break
            try:
                if first:
                    status, _, _, s = _get(conn, "/embed/light/map?dataset=ocean&variable=sst")
                    self._record(status, s, self.page_s, "page")
                    first = False
                label = self.times[step % len(self.times)]
                for z, x, y in VIEW_TILES:
                    path = _tile_path(z, x, y, label)
                    if path in seen:  # in this viewer's browser cache (max-age)
                        with self._lock:
                            self.cached += 1
                        continue
                    status, _, _, s = _get(conn, path)
                    self._record(status, s, self.tile_s, path)
                    seen.add(path)
            except (OSError, http.client.HTTPException) as exc:
                with self._lock:
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                conn.close()
            step += 1
            next_at += STEP_S
        conn.close()

    def _record(self, status: int, seconds: float, into: list[float], what: str) -> None:
        with self._lock:
            if status == 200:
                into.append(seconds)
            else:
                self.errors.append(f"{status} {what}")

    def run(self) -> None:
        start = time.monotonic()
        threads = [
            threading.Thread(target=self.visit, args=(n, start), daemon=True)
            for n in range(self.count)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(self.seconds + 120)


def first_paint(url: str) -> float:
    """Seconds from opening a light embed in Chromium to every tile of it drawn."""
    with browser_page() as page:
        started = time.perf_counter()
        page.goto(f"{url}embed/light/map?dataset=ocean&variable=sst&clim={CLIM}")
        page.wait_for_function(
            "() => { const t = [...document.querySelectorAll('#light-map img')];"
            " return t.length > 0 && t.every(i => i.complete && i.naturalWidth > 0); }",
            timeout=120_000,
        )
        return time.perf_counter() - started


def _p(values: list[float], q: float) -> float:
    return 1000.0 * float(np.percentile(values, q)) if values else float("nan")


def run(options: Options) -> Table:
    """Serve the store; time tiles, 304s, GetMaps and the viewers; report the targets."""
    resolution, ntime = STORES[STORE]
    store = prepared_global(resolution, ntime, progress)
    count = QUICK_NEW_TILES if options.quick else NEW_TILES
    viewers = QUICK_VIEWERS if options.quick else VIEWERS
    seconds = QUICK_BROWSE_S if options.quick else BROWSE_S
    times = [str(t)[:10] for t in open_global(resolution, ntime)["time"].values]
    with serving(store, "ocean") as server:
        progress(f"ours: {count} new tiles, 304s and GetMaps")
        ours = time_server(server.url, times, count)
        progress("light embed first paint in Chromium")
        paint_s = first_paint(server.url)
        progress(f"{viewers} light-embed viewers for {seconds:g} s")
        crowd = Viewers(server.url, times, viewers, seconds)
        with MemorySampler(server.pid) as memory:
            crowd.run()
    progress(f"xpublish-wms: {count} GetMaps per view")
    peer = time_xpublish(times, count)

    med = {k: 1000.0 * statistics.median(v) for k, v in ours.items()}
    peer_med = {k: 1000.0 * statistics.median(v) for k, v in peer.items()}
    table = Table(
        title=(
            f"Tiles and WMS from `ocean-explorer serve` on the prepared {STORE} store "
            "(2160 x 4320, Zarr); medians over HTTP on 127.0.0.1 (ms), each on a new step"
        ),
        columns=["case", "ours", "xpublish-wms", "xpublish / ours"],
        rows=[
            ["new tile 256 px (z3-z4)", fmt_ms(med["tile"]), "-", "-"],
            ["304 revalidation", fmt_ms(med["304"]), "-", "-"],
            *(
                [
                    label,
                    fmt_ms(med[view]),
                    fmt_ms(peer_med[view]),
                    fmt_ratio(peer_med[view] / med[view]),
                ]
                for label, view in (
                    ("GetMap 256 px, a tile's box", "getmap tile"),
                    ("GetMap 800 x 450, globe", "getmap globe"),
                )
            ),
        ],
    )
    p50, p95 = _p(crowd.tile_s, 50), _p(crowd.tile_s, 95)
    table.notes += [
        f"light-embed viewers: {viewers} for {seconds:g} s, a step every {STEP_S:g} s: "
        f"{len(crowd.tile_s)} tiles asked, p50 {fmt_ms(p50)} ms, p95 {fmt_ms(p95)} ms; "
        f"{crowd.cached} from the viewers' own caches; {len(crowd.errors)} errors"
        + (f" (first: {crowd.errors[0]})" if crowd.errors else "")
        + f"; page p50 {fmt_ms(_p(crowd.page_s, 50))} ms",
        f"server RSS peak while the viewers browsed: {fmt_bytes(memory.peak)}",
        f"light embed first paint (Chromium, page and every tile): {fmt_ms(paint_s * 1000)} ms",
        "viewers and server share the machine's cores; times include the clients' own work",
    ]
    speedup = peer_med["getmap tile"] / med["tile"]
    full = not options.quick
    table.targets += [
        Target("new tile median", f"{fmt_ms(med['tile'])} ms", f"<= {TARGET_TILE_MS:g} ms",
               med["tile"] <= TARGET_TILE_MS),
        Target("304 revalidation median", f"{fmt_ms(med['304'])} ms",
               f"<= {TARGET_304_MS:g} ms", med["304"] <= TARGET_304_MS),
        Target("new tile vs xpublish-wms GetMap of its box", f"{fmt_ratio(speedup)} faster",
               f">= {TARGET_SPEEDUP:g}x", speedup >= TARGET_SPEEDUP),
        Target(f"{viewers} light-embed viewers: p95 tile", f"{fmt_ms(p95)} ms",
               f"<= {TARGET_P95_MS:g} ms", p95 <= TARGET_P95_MS, tested=full),
        Target("light-embed viewers: errors", str(len(crowd.errors)), "0",
               not crowd.errors, tested=full),
        Target("light-embed viewers: server RSS", fmt_bytes(memory.peak),
               f"<= {fmt_bytes(TARGET_RSS)}", memory.peak <= TARGET_RSS, tested=full),
        Target("light embed first paint", f"{fmt_ms(paint_s * 1000)} ms",
               f"<= {TARGET_PAINT_MS:g} ms", paint_s * 1000 <= TARGET_PAINT_MS),
    ]  # fmt: skip
    if options.quick:
        table.notes.append(
            f"--quick: {viewers} viewers for {seconds:g} s (the target is {VIEWERS} for "
            f"{BROWSE_S:g} s): the viewer targets are not tested by this run"
        )
    return table
