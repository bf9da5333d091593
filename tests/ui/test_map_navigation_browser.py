"""The map as people move it (real Chromium): true shapes at every size, a view that stays
inside the world, and the URL following what is shown."""

from __future__ import annotations

import math
import time
import urllib.parse

import pytest
from playwright.sync_api import expect

from components.core.geography import MERCATOR_HALF_WORLD

from .pages import shown_box, wait_for_map

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WORLD = 2 * MERCATOR_HALF_WORLD
#: The Web Mercator sphere's radius (EPSG:3857), m.
EARTH_RADIUS_M = 6378137.0
#: The map figure's ranges and inner size (px) as the browser has them (the newest figure:
#: a rebuilt map replaces the old one).
VIEW_JS = """() => {
    let newest = null;
    for (const doc of window.Bokeh.documents)
        for (const m of doc.all_models)
            if (m.constructor.__name__ === "Figure" && m.tags && m.tags.includes("true-shape"))
                if (!newest || Number(m.id.slice(1)) > Number(newest.id.slice(1))) newest = m;
    if (!newest) return null;
    return [newest.x_range.start, newest.x_range.end, newest.y_range.start, newest.y_range.end,
            newest.inner_width, newest.inner_height];
}"""


#: True once the map has a tile layer of a basemap (another site's tiles) under the data.
TILES_JS = """() => window.Bokeh.documents.some(doc => [...doc.all_models].some(
    m => m.constructor.__name__.endsWith("TileSource") && m.url.startsWith("https:")))"""


def view_of(page, timeout_s: float = 30.0) -> tuple[float, ...]:
    """(x0, x1, y0, y1, width px, height px) once the map has been laid out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = page.evaluate(VIEW_JS)
        if found and found[4] and found[5]:
            return tuple(found)
        page.wait_for_timeout(200)
    raise AssertionError("the map never reported its view")


def metres_per_pixel(view) -> tuple[float, float]:
    x0, x1, y0, y1, width, height = view
    return (x1 - x0) / width, (y1 - y0) / height


def settled_view(page) -> tuple[float, ...]:
    """The view once two reads 300 ms apart agree (the browser has applied every change)."""
    before = view_of(page)
    while True:
        page.wait_for_timeout(300)
        now = view_of(page)
        if now == before:
            return now
        before = now


@pytest.mark.parametrize("size", [(1400, 900), (390, 844)], ids=["desktop", "phone"])
def test_one_metre_per_pixel_across_and_down(small_demo_server, browser, size):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    page.goto(small_demo_server, wait_until="domcontentloaded")
    wait_for_map(page)
    across, down = metres_per_pixel(settled_view(page))
    context.close()
    assert abs(across / down - 1) < 0.02, (across, down)


def test_wheel_zoom_out_stops_at_the_world_and_the_url_follows(small_demo_server, page):
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{small_demo_server}?bbox=-40,20,0,50", wait_until="domcontentloaded")
    canvas, _ = wait_for_map(page)
    box = shown_box(canvas)
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(12):  # twelve notches out: far more than a world
        page.mouse.wheel(0, 400)
        page.wait_for_timeout(100)
    x0, x1, y0, y1, width, height = settled_view(page)
    assert x1 - x0 <= WORLD * 1.001  # never more than one world across
    assert y0 >= -MERCATOR_HALF_WORLD * 1.001 and y1 <= MERCATOR_HALF_WORLD * 1.001
    # ... and out as far as the map's shape allows: the world across, or ±85° down
    assert x1 - x0 >= WORLD * 0.999 or y1 - y0 >= 2 * MERCATOR_HALF_WORLD * 0.999
    across, down = metres_per_pixel((x0, x1, y0, y1, width, height))
    assert abs(across / down - 1) < 0.02
    # the URL says what is shown: the same longitudes (across the dateline if need be) and
    # latitudes
    shown_span = (x1 - x0) / WORLD * 360
    shown_lats = [math.degrees(math.atan(math.sinh(y / EARTH_RADIUS_M))) for y in (y0, y1)]
    deadline = time.monotonic() + 30
    while True:
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(page.url).query))
        west, south, east, north = (float(v) for v in query.get("bbox", "0,0,0,0").split(","))
        span = 360.0 if (west, east) == (-180.0, 180.0) else (east - west) % 360
        if abs(span - shown_span) < 0.01 or time.monotonic() > deadline:
            break
        page.wait_for_timeout(300)
    assert abs(span - shown_span) < 0.01, (page.url, shown_span)
    assert [south, north] == pytest.approx(shown_lats, abs=0.01), page.url


@pytest.fixture(scope="module")
def server_with_a_missing_file(tmp_path_factory):
    """The demo and a catalog entry whose file is gone."""
    from .conftest import serving

    root = tmp_path_factory.mktemp("missing")
    (root / "catalog.yaml").write_text(
        "datasets:\n  - id: demo-half\n    title: Demo ocean, half degree\n    adapter: demo\n"
        "    resolution: 0.5\n    days: 5\n"
        f"  - id: gone\n    title: Gone run\n    adapter: netcdf\n    path: {root / 'gone.nc'}\n"
    )
    with serving("--catalog", str(root / "catalog.yaml"), log=root / "serve.log") as url:
        yield url


def query_of(page) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(page.url).query))


def chosen_entry(page) -> str:
    """The catalogue entry shown as chosen (its button is solid)."""
    return page.locator(".catalog-entry .bk-btn-primary").first.inner_text()


@pytest.mark.parametrize("how", ["click", "link"])
def test_a_dataset_that_cannot_open_leaves_the_page_true(server_with_a_missing_file, page, how):
    url = server_with_a_missing_file
    page.goto(url + ("?dataset=gone" if how == "link" else ""), wait_until="domcontentloaded")
    wait_for_map(page)
    if how == "click":
        page.get_by_role("button", name="Gone run").click()
    notice = page.locator(".notyf__message").filter(has_text="gone")
    notice.first.wait_for(state="visible", timeout=30_000)
    assert "cannot" in notice.first.inner_text() or "no such" in notice.first.inner_text()
    deadline = time.monotonic() + 30
    while query_of(page).get("dataset") != "demo-half" and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert query_of(page).get("dataset") == "demo-half", page.url  # the URL says what is shown
    # the catalogue, listed anew after the failure (a search, then none), shows what is shown
    search = page.get_by_placeholder("Search datasets, variables, scenarios…")
    search.fill("gone")
    search.press("Enter")
    expect(page.locator(".catalog-entry")).to_have_count(1)
    search.fill("")
    search.press("Enter")
    expect(page.locator(".catalog-entry")).to_have_count(2)
    assert chosen_entry(page) == "Demo ocean, half degree"


def switching_the_basemap_keeps_the_view(server: str, page) -> None:
    """Open ``server`` on the North Atlantic, switch the basemap: the rebuilt map keeps the
    view (its centre within 2 % of the width, its width within 5 %)."""
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{server}?bbox=-40,20,0,50", wait_until="domcontentloaded")
    wait_for_map(page)
    before = settled_view(page)
    page.get_by_text("Layers").click()
    page.locator("select").filter(has_text="OpenStreetMap").select_option("CARTO light")
    page.wait_for_function(TILES_JS, timeout=30_000)  # the rebuilt map, tiles under the data
    after = settled_view(page)
    width = before[1] - before[0]
    assert abs((after[0] + after[1]) - (before[0] + before[1])) / 2 < 0.02 * width, (before, after)
    assert abs((after[1] - after[0]) / width - 1) < 0.05, (before, after)


def test_switching_the_basemap_keeps_the_view(small_demo_server, page):
    switching_the_basemap_keeps_the_view(small_demo_server, page)
