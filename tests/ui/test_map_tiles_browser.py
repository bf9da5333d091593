"""Time steps of the app's map over the server's tiles, in real Chromium: the next step's
``/tiles`` are loaded ahead, so a step on and a step back to a time seen before are drawn
from the browser's cache, with no request reaching the server."""

from __future__ import annotations

import math
import re
import time
import urllib.parse

import numpy as np
import pytest

from components.core.geography import MERCATOR_HALF_WORLD, lat_to_y, lon_to_x
from components.core.tiles import tile_bbox
from components.map_tiles import HOVER_LABEL

from .conftest import DEMO_HALF_CATALOG, serving_catalog
from .pages import pixels, shown_box, wait_for_change, wait_for_map
from .test_map_navigation_browser import settled_view, switching_the_basemap_keeps_the_view

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: The browser's record of every tile it loaded: [URL, bytes over the network]. A response
#: from the HTTP cache moves no bytes (a revalidation would move its headers).
TILE_LOADS_JS = """() => performance.getEntriesByType("resource")
    .filter(e => e.name.includes("/tiles/"))
    .map(e => [e.name, e.transferSize])"""


#: The step in the URL of the map's field tiles (the tile source's template).
FIELD_TIME_JS = """() => {
    for (const doc of window.Bokeh.documents)
        for (const m of doc.all_models)
            if (m.constructor.__name__ === "WMTSTileSource" && m.url.includes("/tiles/"))
                return new URLSearchParams(m.url.split("?")[1]).get("time");
    return null;
}"""


def tile_times(loads) -> list[str]:
    """The ``time`` of each tile URL in ``loads`` (in order)."""
    times = []
    for url, _ in loads:
        query = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
        times.append(query["time"][0])
    return times


def wait_for_tiles(page, time: str, after: int = 0) -> list:
    """The tile loads after the first ``after``, once the tiles of ``time`` were loaded."""
    page.wait_for_function(
        f"""() => ({TILE_LOADS_JS})().slice({after}).some(
            ([url]) => url.includes("time={time}"))""",
        timeout=60_000,
    )
    return page.evaluate(TILE_LOADS_JS)[after:]


@pytest.fixture(scope="module")
def tiles_server(tmp_path_factory):
    """The app on a small demo ocean, its maps stepping over tiles (``--map-tiles``)."""
    root = tmp_path_factory.mktemp("map-tiles")
    with serving_catalog(root, DEMO_HALF_CATALOG, "--map-tiles") as url:
        yield url


def test_time_steps_draw_tiles_loaded_ahead_and_a_step_back_comes_from_the_browser_cache(
    tiles_server, page
):
    received: list[int] = []  # the size of every message the server sends the page
    page.on("websocket", lambda ws: ws.on("framereceived", lambda m: received.append(len(m))))
    page.goto(tiles_server, wait_until="domcontentloaded")
    first = wait_for_tiles(page, "2025-01-01")
    assert all(size > 0 for _, size in first[:1])  # the first step is fetched
    canvas, before = wait_for_map(page)
    # the tiles carry the map's colours: colormap and the range of the colour bar
    query = urllib.parse.parse_qs(urllib.parse.urlparse(first[0][0]).query)
    assert query["cmap"] == ["thermal"] and len(query["clim"][0].split(",")) == 2
    # with no click yet, the next step's tiles are loaded ahead, over the network
    ahead = [t for t in wait_for_tiles(page, "2025-01-02") if "time=2025-01-02" in t[0]]
    assert ahead and all(size > 0 for _, size in ahead), ahead

    seen = len(page.evaluate(TILE_LOADS_JS))
    sent = len(received)
    page.locator("button.next").first.click()
    # the step draws the tiles loaded ahead, then loads the tiles of the step after it:
    # meanwhile no tile of the step moved a byte (the browser had them; an image it holds
    # is not even listed again)
    stepped = wait_for_tiles(page, "2025-01-03", after=seen)
    assert page.evaluate(FIELD_TIME_JS) == "2025-01-02"
    assert set(tile_times(stepped)) <= {"2025-01-02", "2025-01-03"}, stepped
    assert all(size == 0 for url, size in stepped if "time=2025-01-02" in url), stepped
    # the new step keeps the colour range: an animation keeps its colours
    step_query = urllib.parse.parse_qs(urllib.parse.urlparse(stepped[-1][0]).query)
    assert step_query["clim"] == query["clim"]
    after_step = wait_for_change(page, canvas, before)
    # the step's picture came as tiles only: no image of the map's values followed them
    # (800 x 450 float32 values are 1.4 MB; the step's own messages are a few kB)
    assert max(received[sent:]) < 50_000, received[sent:]

    seen = len(page.evaluate(TILE_LOADS_JS))
    page.locator("button.previous").first.click()
    page.wait_for_function(f"() => ({FIELD_TIME_JS})() === '2025-01-01'", timeout=30_000)
    # every tile of the step back came from the browser (fetched before the swap, had any
    # been missing): no byte moved, not even a revalidation reached the server; and the map
    # shows the first picture again
    back = page.evaluate(TILE_LOADS_JS)[seen:]
    assert all(size == 0 for url, size in back if "time=2025-01-01" in url), back
    wait_for_change(page, canvas, after_step)
    deadline = time.monotonic() + 30
    while np.mean((pixels(canvas.screenshot()) != before).any(axis=2)) > 0.01:
        assert time.monotonic() < deadline, "the step back did not show the first picture"
        page.wait_for_timeout(200)  # polling the painted map


#: The value requests the page made (URLs, in order).
VALUE_LOADS_JS = """() => performance.getEntriesByType("resource")
    .filter(e => e.name.includes("/value.json?")).map(e => e.name)"""


def hover_label(page) -> tuple[str, bool]:
    """The text and visibility of the label that shows the value under the pointer."""
    return page.evaluate(
        f"""() => {{
            const m = Bokeh.documents[0].get_model_by_name("{HOVER_LABEL}");
            return [m.text, m.visible];
        }}"""
    )


def test_hover_over_tiles_shows_the_value_of_the_step_shown(tiles_server, page):
    from data_adapters.demo import DemoOceanAdapter

    page.goto(tiles_server, wait_until="domcontentloaded")
    wait_for_tiles(page, "2025-01-01")
    canvas, _ = wait_for_map(page)
    ocean = DemoOceanAdapter(resolution=0.5, days=30).open()["thetao"]
    ocean = ocean.sel(scenario="baseline").isel(depth=0)

    def hover_value() -> tuple[float, float, float]:
        box = shown_box(canvas)
        x, y = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.45
        page.mouse.move(x - 4, y - 3)
        page.mouse.move(x, y)  # the tropical Atlantic
        return label_value()

    def label_value() -> tuple[float, float, float]:
        # the label of this position, once its value came (an older one may show first)
        page.wait_for_function(
            f"""() => {{
                const m = Bokeh.documents[0].get_model_by_name("{HOVER_LABEL}");
                return m.visible && m.text.includes("temperature: ");
            }}""",
            timeout=30_000,
        )
        text, _ = hover_label(page)
        found = re.match(r"lon (\S+)°\s+lat (\S+)°\n.*: (\S+) degC", text)
        assert found, text
        # the point asked for, to the 4 decimals of the request (the label rounds to 3)
        asked = page.evaluate(VALUE_LOADS_JS)[-1]
        query = urllib.parse.parse_qs(urllib.parse.urlparse(asked).query)
        lon, lat = float(query["lon"][0]), float(query["lat"][0])
        assert (round(lon, 3), round(lat, 3)) == (float(found[1]), float(found[2]))
        return lon, lat, float(found[3])

    lon, lat, value = hover_value()
    expected = float(ocean.isel(time=0).sel(lon=lon, lat=lat, method="nearest"))
    assert value == pytest.approx(expected, abs=0.0006)  # three decimals shown
    # the image under the tiles has no values: its own hover tool is off meanwhile
    hovers = page.evaluate(
        f"""() => {{
            const doc = Bokeh.documents[0];
            const tip = doc.get_model_by_name("{HOVER_LABEL}");
            const map = [...doc._all_models.values()].find((m) => (m.center || []).includes(tip));
            return map.toolbar.tools.filter((t) => t.constructor.__name__ === "HoverTool")
                .map((t) => t.active);
        }}"""
    )
    assert hovers == [False], hovers
    page.locator("button.next").first.dispatch_event("click")  # no pointer move (as Play)
    page.wait_for_function(f"() => ({FIELD_TIME_JS})() === '2025-01-02'", timeout=30_000)
    # the pointer has not moved: the label shows the value of the new step at the same point
    still = label_value()
    assert still[:2] == (lon, lat)
    expected2 = float(ocean.isel(time=1).sel(lon=lon, lat=lat, method="nearest"))
    assert still[2] == pytest.approx(expected2, abs=0.0006) and expected2 != expected
    page.mouse.move(0, 0)  # off the map: the label goes
    page.wait_for_function(
        f"""() => !Bokeh.documents[0].get_model_by_name("{HOVER_LABEL}").visible""",
        timeout=30_000,
    )
    lon2, lat2, value2 = hover_value()
    expected2 = float(ocean.isel(time=1).sel(lon=lon2, lat=lat2, method="nearest"))
    assert value2 == pytest.approx(expected2, abs=0.0006) and expected2 != expected


def test_a_player_step_next_to_the_shown_one_is_drawn_before_the_server_answers(tiles_server, page):
    # every message of the server to the page passes here; held ones wait in the queue
    relay = {"hold": False, "held": [], "page": None}

    def route(ws) -> None:
        server = ws.connect_to_server()
        relay["page"] = ws

        def to_page(message) -> None:
            if relay["hold"]:
                relay["held"].append(message)
            else:
                ws.send(message)

        server.on_message(to_page)
        ws.on_message(server.send)

    page.route_web_socket(lambda url: urllib.parse.urlparse(url).path.endswith("/ws"), route)
    page.goto(tiles_server, wait_until="domcontentloaded")
    wait_for_tiles(page, "2025-01-02")  # the next step's tiles, loaded ahead
    canvas, before = wait_for_map(page)
    assert page.evaluate(FIELD_TIME_JS) == "2025-01-01"

    relay["hold"] = True  # the server's answers to the click are held back
    page.locator("button.next").first.click()
    page.wait_for_function(f"() => ({FIELD_TIME_JS})() === '2025-01-02'", timeout=30_000)
    wait_for_change(page, canvas, before)  # the map shows the next step meanwhile

    seen = len(page.evaluate(TILE_LOADS_JS))
    relay["hold"] = False
    for message in relay["held"]:
        relay["page"].send(message)
    # the server's answer names the same step, and the step after it: loaded ahead in turn
    wait_for_tiles(page, "2025-01-03", after=seen)
    assert page.evaluate(FIELD_TIME_JS) == "2025-01-02"
    page.locator("button.previous").first.click()  # a step back is drawn at once too
    page.wait_for_function(f"() => ({FIELD_TIME_JS})() === '2025-01-01'", timeout=30_000)


def test_switching_the_basemap_over_tiles_keeps_the_view(tiles_server, page):
    # the map is rebuilt with the basemap's tile layer under the field's tiles: the view
    # the person had stays (the field's own tile layer must not frame the rebuilt map)
    switching_the_basemap_keeps_the_view(tiles_server, page)


def test_the_tiles_a_step_loads_are_those_of_the_view(tiles_server, page):
    # the page itself builds the URLs of a step's tiles (drawn on a swap, loaded ahead):
    # Bokeh numbers tiles from the south (TMS), /tiles from the north as every web map
    # does; a tile of the other hemisphere drew the South Atlantic over the North Atlantic.
    # Bokeh's own tile layer added a border of tiles out of view (12 to the view's 4 here),
    # each rendered by the server at every step
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{tiles_server}?bbox=-40,20,0,50", wait_until="domcontentloaded")
    wait_for_map(page)
    wait_for_tiles(page, "2025-01-02")  # the next step's, loaded ahead by the page
    x0, x1, y0, y1, _, _ = settled_view(page)
    loads = page.evaluate(TILE_LOADS_JS)  # those of the layer's renders meanwhile too
    west, east = (x / MERCATOR_HALF_WORLD * 180 for x in (x0, x1))
    south, north = (math.degrees(math.atan(math.sinh(y / MERCATOR_HALF_WORLD * math.pi)))
                    for y in (y0, y1))  # fmt: skip
    for url, _ in loads:
        z, x, y = (int(p) for p in re.search(r"/(\d+)/(\d+)/(\d+)\.png", url).groups())
        w, s, e, n = tile_bbox(z, x, y)
        assert w < east and e > west and s < north and n > south, (url, (west, south, east, north))


#: The labels the newest map's axes give the ticks at 10°W (x) and 50°N (y), as its canvas
#: draws them (the axes' own formatters).
AXIS_LABELS_JS = """([x, y]) => {
    let fig = null;
    for (const doc of window.Bokeh.documents)
        for (const m of doc.all_models)
            if (m.constructor.__name__ === "Figure" && m.tags.includes("true-shape")) fig = m;
    const label = (axes, tick) => axes.filter((a) => a.constructor.__name__.endsWith("Axis"))
        .map((a) => a.formatter.compute(tick, {loc: 0}))[0];
    return [label(fig.below, x), label(fig.left, y)];
}"""


def test_over_tiles_the_axes_stay_labelled_in_degrees_as_the_map_steps(tiles_server, page):
    # HoloViews gives a plot with a tile layer its own Mercator labels ("-10", "50") at each
    # update; the map's are "10°W" and "50°N"
    ticks = [float(lon_to_x(np.array(-10.0))), float(lat_to_y(np.array(50.0)))]
    page.goto(f"{tiles_server}?bbox=-40,20,0,60", wait_until="domcontentloaded")
    wait_for_tiles(page, "2025-01-01")
    wait_for_map(page)
    assert page.evaluate(AXIS_LABELS_JS, ticks) == ["10°W", "50°N"]
    page.locator("button.next").first.click()
    page.wait_for_function(f"() => ({FIELD_TIME_JS})() === '2025-01-02'", timeout=30_000)
    settled_view(page)
    assert page.evaluate(AXIS_LABELS_JS, ticks) == ["10°W", "50°N"]
