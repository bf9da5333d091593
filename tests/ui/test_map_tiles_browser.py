"""Time steps of the app's map over the server's tiles, in real Chromium: a step asks for
``/tiles`` at the new time, and a step back to a time seen before is drawn from the
browser's cache, with no request reaching the server."""

from __future__ import annotations

import time
import urllib.parse

import numpy as np
import pytest

from .conftest import DEMO_HALF_CATALOG, serving_catalog
from .pages import pixels, wait_for_change, wait_for_map

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: The browser's record of every tile it loaded: [URL, bytes over the network]. A response
#: from the HTTP cache moves no bytes (a revalidation would move its headers).
TILE_LOADS_JS = """() => performance.getEntriesByType("resource")
    .filter(e => e.name.includes("/tiles/"))
    .map(e => [e.name, e.transferSize])"""


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


def test_time_steps_draw_tiles_and_a_step_back_comes_from_the_browser_cache(tiles_server, page):
    page.goto(tiles_server, wait_until="domcontentloaded")
    first = wait_for_tiles(page, "2025-01-01")
    canvas, before = wait_for_map(page)
    # the tiles carry the map's colours: colormap and the range of the colour bar
    query = urllib.parse.parse_qs(urllib.parse.urlparse(first[0][0]).query)
    assert query["cmap"] == ["thermal"] and len(query["clim"][0].split(",")) == 2

    seen = len(page.evaluate(TILE_LOADS_JS))
    page.locator("button.next").first.click()
    stepped = wait_for_tiles(page, "2025-01-02", after=seen)
    assert set(tile_times(stepped)) == {"2025-01-02"}
    assert all(size > 0 for _, size in stepped[:1])  # a new step is fetched
    # the new step keeps the colour range: an animation keeps its colours
    step_query = urllib.parse.parse_qs(urllib.parse.urlparse(stepped[0][0]).query)
    assert step_query["clim"] == query["clim"]
    after_step = wait_for_change(page, canvas, before)

    seen = len(page.evaluate(TILE_LOADS_JS))
    page.locator("button.previous").first.click()
    back = wait_for_tiles(page, "2025-01-01", after=seen)
    # every tile of the step back came from the browser's cache (no byte moved: not even a
    # revalidation reached the server), and the map shows the first picture again
    assert back and all(size == 0 for _, size in back), back
    wait_for_change(page, canvas, after_step)
    deadline = time.monotonic() + 30
    while np.mean((pixels(canvas.screenshot()) != before).any(axis=2)) > 0.01:
        assert time.monotonic() < deadline, "the step back did not show the first picture"
        page.wait_for_timeout(200)  # polling the painted map
