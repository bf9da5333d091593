"""What the browser benchmarks share: ``ocean-explorer serve`` in a subprocess on a catalog
of one store, and headless Chromium (Debian's, through Playwright) on its page.

The launch flags are those of the real-browser tests (DESIGN.md §8): nothing outside
127.0.0.1 is tried, so no request waits on a network that is not there.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# Chromium as the browser tests launch it (DESIGN.md §8): nothing outside 127.0.0.1 is tried
from tests.ui.conftest import CHROMIUM, CHROMIUM_ARGS, serve_process

#: The browser window (CSS pixels): a laptop screen.
WINDOW = {"width": 1280, "height": 800}
#: Seconds the server gets to start and answer its first page (a bound, not a delay).
SERVE_DEADLINE_S = 180.0
#: Seconds the page gets to paint its first map (a bound, not a delay).
PAINT_DEADLINE_S = 120.0


@dataclass(frozen=True)
class Server:
    """A running ``ocean-explorer serve``: its page and its process id (for its memory)."""

    url: str
    pid: int
    log: pathlib.Path


@contextlib.contextmanager
def serving(store: pathlib.Path, dataset_id: str = "store", *serve_args: str) -> Iterator[Server]:
    """``ocean-explorer serve [serve_args]`` on a catalog of ``store`` alone, until the block
    ends."""
    with tempfile.TemporaryDirectory(prefix="oe-bench-") as tmp:
        catalog = pathlib.Path(tmp) / "catalog.yaml"
        catalog.write_text(
            f"datasets:\n  - id: {dataset_id}\n    adapter: zarr\n    path: {store}\n"
        )
        log = pathlib.Path(tmp) / "serve.log"
        args = ("--catalog", str(catalog), *serve_args)
        with serve_process(*args, log=log, deadline_s=SERVE_DEADLINE_S) as (url, process):
            yield Server(url, process.pid, log)


@contextlib.contextmanager
def browser_page() -> Iterator[Any]:
    """A page of headless Chromium in a laptop-sized window."""
    if not os.path.exists(CHROMIUM):
        raise RuntimeError(f"{CHROMIUM} is missing: run `make chromium` (Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_context(viewport=WINDOW).new_page()
            page.add_init_script(MESSAGES_JS)
            yield page
        finally:
            browser.close()


#: Rows of the map sampled for its checksum: evenly spaced across its height. The whole
#: field changes from one time step to the next, so sampled rows see any new image, and a
#: sample costs well under a millisecond: a checksum of every pixel (two layers of 1.8 MB)
#: would keep the page's only thread busy on every animation frame and delay the very
#: paint it waits for.
SAMPLED_ROWS = 24

#: A checksum of :data:`SAMPLED_ROWS` rows of the map's canvas layers (Bokeh draws a plot on
#: a few).
CHECKSUM_JS = (
    """
(layers) => {
    let hash = 0;
    for (const canvas of layers) {
        const context = canvas.getContext('2d');
        for (let r = 0; r < """
    + str(SAMPLED_ROWS)
    + """; r++) {
            const y = Math.floor((r + 0.5) * canvas.height / """
    + str(SAMPLED_ROWS)
    + """);
            const row = new Uint32Array(context.getImageData(0, y, canvas.width, 1).data.buffer);
            for (let i = 0; i < row.length; i++) hash = (Math.imul(hash, 31) + row[i]) | 0;
        }
    }
    return hash;
}
"""
)

#: Records when each websocket message arrives and how large it is (``window.__oeMessages``),
#: so a step can be split into the server's part and the browser's.
MESSAGES_JS = """
(() => {
    window.__oeMessages = [];
    const Native = window.WebSocket;
    function Recording(...args) {
        const socket = new Native(...args);
        socket.addEventListener('message', (event) => {
            const data = event.data;
            const size = (data && (data.byteLength || data.size || data.length)) || 0;
            window.__oeMessages.push([performance.now(), size]);
        });
        return socket;
    }
    Recording.prototype = Native.prototype;
    Object.assign(Recording, Native);
    window.WebSocket = Recording;
})();
"""
#: A websocket message at least this large (bytes) carries the new image.
IMAGE_MESSAGE_BYTES = 100_000

#: The URL of the map's field tiles (``components.map_tiles``): it changes when a step's
#: tiles are swapped in.
FIELD_TILES_URL_JS = """() => {
    for (const doc of window.Bokeh.documents)
        for (const m of doc.all_models)
            if (m.constructor.__name__ === "WMTSTileSource" && m.url.includes("tiles/"))
                return m.url;
    return null;
}"""

#: Click ``button``, then check the map's pixels on every animation frame until they
#: change. Returns [milliseconds from the click to the first frame painted with the new
#: image (-1 after ``timeout`` ms), milliseconds from the click to the arrival of the
#: message carrying the image (-1 if none was seen)]. The browser's own clock, so no round
#: trip to Python counts.
STEP_JS = (
    """
async ([layers, button, timeout, imageBytes, overTiles, typed]) => {
    const checksum = """
    + CHECKSUM_JS
    + """;
    const tileUrl = """
    + FIELD_TILES_URL_JS
    + """;
    const before = checksum(layers);
    const urlBefore = tileUrl();
    window.__oeMessages = [];
    const start = performance.now();
    if (typed === null) button.click();
    else {  // a text input: the text typed, then Enter (Bokeh reads it on "change")
        button.value = typed;
        button.dispatchEvent(new Event("change", {bubbles: true}));
    }
    const painted = await new Promise((resolve) => {
        const poll = () => {
            const elapsed = performance.now() - start;
            // over tiles: the new step's tiles, not the title that comes with the image
            const swapped = !overTiles || tileUrl() !== urlBefore;
            if (swapped && checksum(layers) !== before) resolve(elapsed);
            else if (elapsed > timeout) resolve(-1);
            else requestAnimationFrame(poll);
        };
        requestAnimationFrame(poll);
    });
    const image = (window.__oeMessages || []).find(([, size]) => size >= imageBytes);
    return [painted, image ? image[0] - start : -1];
}
"""
)


def map_layers(page: Any) -> list[Any]:
    """The canvas layers of the map (the first Bokeh plot), once it shows a colour field."""
    layers = page.locator(".bk-Canvas").first.locator("canvas")
    layers.first.wait_for(state="attached", timeout=PAINT_DEADLINE_S * 1000)
    handles = [layers.nth(i).element_handle() for i in range(layers.count())]
    deadline = time.monotonic() + PAINT_DEADLINE_S
    while time.monotonic() < deadline:
        colours = page.evaluate(
            """(canvas) => {
                const d = canvas.getContext('2d').getImageData(
                    0, 0, canvas.width, canvas.height).data;
                const seen = new Set();
                for (let i = 0; i < d.length; i += 4 * 97) {
                    seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
                }
                return seen.size;
            }""",
            handles[0],
        )
        if colours >= 100:
            return handles
        page.wait_for_timeout(200)  # polling the page while the first map paints
    raise TimeoutError("the map never showed a colour field")


@dataclass(frozen=True)
class Step:
    """One timed step: from the click to the new map painted, and to the image's arrival."""

    #: milliseconds from the click to the first animation frame with the new map
    painted_ms: float
    #: milliseconds from the click to the websocket message with the image (NaN: not seen,
    #: e.g. a page opened without :data:`MESSAGES_JS`)
    arrived_ms: float


def step(
    page: Any,
    layers: list[Any],
    button: Any,
    timeout_ms: float = 30_000,
    tiles: bool = False,
    typed: str | None = None,
) -> Step:
    """Click ``button`` (or type ``typed`` into it, a text input, and press Enter) and time
    the new map (see :data:`STEP_JS`); ``tiles``: the map's field is drawn from tiles, the new
    map is the new step's tiles painted."""
    painted, arrived = page.evaluate(
        STEP_JS, [layers, button, timeout_ms, IMAGE_MESSAGE_BYTES, tiles, typed]
    )
    if painted < 0:
        raise TimeoutError(f"the map did not change within {timeout_ms:g} ms of the click")
    return Step(float(painted), float(arrived) if arrived >= 0 else float("nan"))


def settle(page: Any, layers: list[Any], quiet_ms: float = 400.0) -> None:
    """Wait until the map's pixels have not changed for ``quiet_ms`` (late patches of the
    previous step, such as the colour bar, are drawn before the next step is timed)."""
    page.evaluate(
        """async ([layers, quiet]) => {
            const checksum = """
        + CHECKSUM_JS
        + """;
            let last = checksum(layers), since = performance.now();
            while (performance.now() - since < quiet) {
                await new Promise((r) => requestAnimationFrame(r));
                const now = checksum(layers);
                if (now !== last) { last = now; since = performance.now(); }
            }
        }""",
        [layers, quiet_ms],
    )
