"""Browser interaction latency: a time step to the new map painted, in headless Chromium.

``ocean-explorer serve`` runs on a catalog of the prepared 1/12° global store (2160 x 4320
cells, 24 daily steps, map tiles and pyramid; the store of ``map_frame``). Chromium opens the
page at the whole globe; then the player's "next" button is pressed once per step. Each
step is timed in the browser, from the click to the first animation frame whose map pixels
differ from before (a checksum of every pixel of the map's canvas layers): the event, the
server's frame, the websocket, Bokeh's colour mapping and the paint. Every step of the first
pass is a frame the server has not rendered; the replay ("previous" back over the same
steps) shows the frame cache. Over tiles, the page loads the next step's tiles ahead while
a step shows, so a step forward finds them loaded; a third pass, on a fresh server, jumps to
dates typed into "Go to date" that no page loaded ahead (:data:`JUMPS`).
"""

from __future__ import annotations

import statistics

import numpy as np

from .browser import Step, browser_page, map_layers, serving, settle, step
from .data import prepared_global
from .harness import Options, Table, Target, fmt_ms, progress

NAME = "browser_latency"
DESCRIPTION = "time-slider step to the new map painted, headless Chromium, 1/12° store"

#: The store: the 1/12° global grid of ``map_frame`` (degrees, daily steps).
RESOLUTION_DEG, NTIME = 1 / 12, 24
#: Steps timed in each direction: all cold on the way forward (``--quick``: fewer).
STEPS, QUICK_STEPS = 20, 8
#: Target: median milliseconds from the step to the new image painted.
TARGET_MEDIAN_MS = 250.0


def _p95(values: list[float]) -> float:
    return float(np.percentile(values, 95))


#: The map's two ways of drawing a step, each served and timed in turn: the field's tiles
#: (``serve --map-tiles``, the default) and one rendered image (``serve --no-map-tiles``).
PATHS = (("tiles", ("--map-tiles",)), ("image", ("--no-map-tiles",)))
#: Steps jumped to by date (fresh server): none is next to the one before in the direction
#: of the move, so none was loaded ahead (the store has 24 steps).
JUMPS = (12, 4, 20, 8, 16, 2, 22, 6)
#: Targets over tiles: median milliseconds of a new step and of a step seen before.
TARGET_TILES_NEW_MS, TARGET_TILES_CACHED_MS = 200.0, 80.0


def _timed(store, serve_args, steps: int, over_tiles: bool):
    """Forward over new steps, then back over the same steps, on one served map."""
    with serving(store, "global-12", *serve_args) as server, browser_page() as page:
        page.goto(server.url)
        layers = map_layers(page)
        settle(page, layers, quiet_ms=1000.0)
        forward_button = page.locator("button.next").first.element_handle()
        back_button = page.locator("button.previous").first.element_handle()
        status = page.locator("text=/frame \\d+ ms/").first
        forward: list[Step] = []
        back: list[Step] = []
        frame_ms: list[float] = []
        for _ in range(steps):
            forward.append(step(page, layers, forward_button, tiles=over_tiles))
            settle(page, layers)
            frame_ms.append(float(status.inner_text().split()[1]))  # "frame 27 ms · ..."
        for _ in range(steps):
            back.append(step(page, layers, back_button, tiles=over_tiles))
            settle(page, layers)
        width, height = page.evaluate("(c) => [c.width, c.height]", layers[0])
    return forward, back, frame_ms, width, height


def _jumps(store, serve_args, over_tiles: bool) -> list[Step]:
    """Jumps to the dates of :data:`JUMPS` typed into "Go to date", on a fresh server."""
    from .data import open_global

    times = [str(t)[:10] for t in open_global(RESOLUTION_DEG, NTIME)["time"].values]
    with serving(store, "global-12", *serve_args) as server, browser_page() as page:
        page.goto(server.url)
        layers = map_layers(page)
        settle(page, layers, quiet_ms=1000.0)
        box = page.locator("input[placeholder^='YYYY-MM-DD']").first.element_handle()
        jumps = []
        for index in JUMPS:
            jumps.append(step(page, layers, box, tiles=over_tiles, typed=times[index]))
            settle(page, layers)
    return jumps


def run(options: Options) -> Table:
    """Step forward over new steps, then back over seen ones, over tiles and over the
    rendered image; medians and p95."""
    steps = QUICK_STEPS if options.quick else STEPS
    store = prepared_global(RESOLUTION_DEG, NTIME, progress)
    runs = {}
    for name, serve_args in PATHS:
        progress(f"serving {store.name} ({name}); {steps} steps forward and back in Chromium")
        runs[name] = _timed(store, serve_args, steps, name == "tiles")
    progress(f"serving {store.name} (tiles); {len(JUMPS)} jumps to dates in Chromium")
    jumps = _jumps(store, PATHS[0][1], True)
    forward, _, frame_ms, width, height = runs["image"]
    median = statistics.median(s.painted_ms for s in forward)
    table = Table(
        title=(
            "Browser latency: player step to the new map painted (headless Chromium, "
            f"{width} x {height} px map of the whole globe, 1/12° prepared store)"
        ),
        columns=[
            "steps",
            "n",
            "median (ms)",
            "p95 (ms)",
            "first (ms)",
            "max (ms)",
            "image arrives (median ms)",
        ],
    )
    timed = [
        (f"{name}: {label}", steps_of)
        for name in runs
        for label, steps_of in (
            ("forward, new steps", runs[name][0]),
            ("back, steps seen", runs[name][1]),
        )
    ]
    timed.append(("tiles: jumps to new dates", jumps))
    for label, timed_steps in timed:
        painted = [s.painted_ms for s in timed_steps]
        arrived = [s.arrived_ms for s in timed_steps if np.isfinite(s.arrived_ms)]
        table.rows.append(
            [
                label,
                str(len(painted)),
                fmt_ms(statistics.median(painted)),
                fmt_ms(_p95(painted)),
                fmt_ms(painted[0]),
                fmt_ms(max(painted)),
                fmt_ms(statistics.median(arrived)) if arrived else "-",
            ]
        )
    table.targets.append(
        Target(
            "browser step over the image, median (1/12° store)",
            f"{fmt_ms(median)} ms",
            f"<= {TARGET_MEDIAN_MS:g} ms",
            median <= TARGET_MEDIAN_MS,
        )
    )
    tiles_new = statistics.median(s.painted_ms for s in runs["tiles"][0])
    tiles_seen = statistics.median(s.painted_ms for s in runs["tiles"][1])
    tiles_jump = statistics.median(s.painted_ms for s in jumps)
    table.targets += [
        Target(
            "browser step over tiles, new step median (loaded ahead)",
            f"{fmt_ms(tiles_new)} ms",
            f"<= {TARGET_TILES_NEW_MS:g} ms",
            tiles_new <= TARGET_TILES_NEW_MS,
        ),
        Target(
            "browser jump over tiles to a new date, median (nothing loaded ahead)",
            f"{fmt_ms(tiles_jump)} ms",
            f"<= {TARGET_TILES_NEW_MS:g} ms",
            tiles_jump <= TARGET_TILES_NEW_MS,
        ),
        Target(
            "browser step over tiles, step seen before median",
            f"{fmt_ms(tiles_seen)} ms",
            f"<= {TARGET_TILES_CACHED_MS:g} ms",
            tiles_seen <= TARGET_TILES_CACHED_MS,
        ),
    ]
    table.notes += [
        "tiles: the map as served (its field from /tiles, the image under it invisible); "
        "image: serve --no-map-tiles, one rendered image a step; each on its own server",
        "timed in the page: click -> first animation frame with changed map pixels (a "
        "checksum of sampled rows); adds up to one frame (~16 ms) of polling",
        "image arrives: click -> the websocket message with the new image; the rest of "
        "each step is the browser decoding, colouring and painting it",
        f"the server's own frame time (the status line, components.map render_ms) had a "
        f"median of {fmt_ms(statistics.median(frame_ms))} ms on the forward steps",
        "the first forward step is the server's first click after start: its warm-up "
        "compiled the renderer, so no step pays Datashader's JIT",
        "2 cores shared by the server, Chromium (software rendering) and other processes",
    ]
    return table
