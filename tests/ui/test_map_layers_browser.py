"""What the map draws around the field, as a user sees it (real Chromium, every outside host
unreachable): a basemap whose tiles fail gives one notice; a regional dataset opens on its
extent, with the sea beyond its grid drawn apart from land."""

from __future__ import annotations

import time

import numpy as np
import pytest

from components.core.coastlines import OUTSIDE_SEA_COLOR
from components.core.geography import lat_to_y, lon_to_x
from tests import synthetic

from .conftest import serving
from .pages import pixels, shown_box, wait_for_map
from .test_map_navigation_browser import settled_view

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: Counts, from now on, the notices shown whose text holds ``text`` (they fade after seconds).
COUNT_NOTICES_JS = """(text) => {
    window.noticesSeen = 0;
    new MutationObserver(records => {
        for (const r of records)
            for (const node of r.addedNodes)
                if (node.querySelector && [...node.querySelectorAll(".notyf__message")]
                        .some(m => m.textContent.includes(text)))
                    window.noticesSeen += 1;
    }).observe(document.body, {childList: true, subtree: true});
}"""


def test_unreachable_tiles_give_one_notice(small_demo_server, page):
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(small_demo_server, wait_until="domcontentloaded")
    canvas, _ = wait_for_map(page)
    page.evaluate(COUNT_NOTICES_JS, "tiles could not be loaded")
    page.get_by_text("Layers").click()
    page.locator("select").filter(has_text="OpenStreetMap").select_option("CARTO light")
    notice = page.locator(".notyf__message").filter(has_text="basemap's tiles could not be loaded")
    notice.first.wait_for(state="visible", timeout=30_000)
    assert "CARTO light" in notice.first.inner_text()
    # the map keeps asking for tiles as it is drawn (dozens fail): still one notice
    wait_for_map(page)
    box = shown_box(canvas)
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -300)  # zoom in: a new set of tiles, all failing
    wait_for_map(page)
    assert page.evaluate("window.noticesSeen") == 1


def test_a_link_with_an_unreachable_basemap_gives_its_notice(small_demo_server, page):
    # the basemap chosen by the link: no choice is changed in the page, the probe runs on load
    page.goto(f"{small_demo_server}?basemap=CARTO+dark", wait_until="domcontentloaded")
    wait_for_map(page)
    notice = page.locator(".notyf__message").filter(has_text="basemap's tiles could not be loaded")
    notice.first.wait_for(state="visible", timeout=30_000)
    assert "CARTO dark" in notice.first.inner_text()


# -- a regional dataset ---------------------------------------------------------------------
#: The regional grid's cells: 1/4° from 10°W to 10°E and 48°N to 62°N (a North Sea box).
REGION_LON, REGION_LAT = np.arange(-10.0, 10.01, 0.25), np.arange(48.0, 62.01, 0.25)


def regional_catalog(root) -> str:
    """A catalog of the demo (global, first) and a regional NetCDF file, written in ``root``."""
    path = synthetic.write_netcdf(
        synthetic._grid_dataset(REGION_LON, REGION_LAT, 3, "2025-01-01"), root / "north_sea.nc"
    )
    (root / "catalog.yaml").write_text(
        "datasets:\n  - id: demo-half\n    title: Demo ocean, half degree\n    adapter: demo\n"
        "    resolution: 0.5\n    days: 5\n"
        f"  - id: north-sea\n    title: North Sea box\n    adapter: netcdf\n    path: {path}\n"
    )
    return str(root / "catalog.yaml")


@pytest.fixture(scope="module")
def regional_server(tmp_path_factory):
    """The demo and a regional NetCDF file in one catalog (:func:`regional_catalog`)."""
    root = tmp_path_factory.mktemp("regional")
    with serving("--catalog", regional_catalog(root), log=root / "serve.log") as url:
        yield url


@pytest.fixture(scope="module")
def regional_image_server(tmp_path_factory):
    """The same catalog served with each map one rendered image (``--no-map-tiles``)."""
    root = tmp_path_factory.mktemp("regional-image")
    with serving(
        "--catalog", regional_catalog(root), "--no-map-tiles", log=root / "serve.log"
    ) as url:
        yield url


def region_box() -> tuple[float, float, float, float]:
    """The grid's cells' extent in Web Mercator metres (x0, x1, y0, y1)."""
    half = 0.125
    x = lon_to_x(np.array([REGION_LON[0] - half, REGION_LON[-1] + half]))
    y = lat_to_y(np.array([REGION_LAT[0] - half, REGION_LAT[-1] + half]))
    return float(x[0]), float(x[1]), float(y[0]), float(y[1])


def wait_for_region_view(page, timeout_s: float = 60.0) -> tuple[float, ...]:
    """The view once it frames the regional grid: all of it, filling one side within 10 %."""
    bx0, bx1, by0, by1 = region_box()
    deadline = time.monotonic() + timeout_s
    view = None
    while time.monotonic() < deadline:
        view = settled_view(page)
        x0, x1, y0, y1, _, _ = view
        whole = x0 <= bx0 + 1 and x1 >= bx1 - 1 and y0 <= by0 + 1 and y1 >= by1 - 1
        tight = (x1 - x0) <= 1.1 * (bx1 - bx0) or (y1 - y0) <= 1.1 * (by1 - by0)
        if whole and tight:
            return view
        page.wait_for_timeout(300)
    raise AssertionError(f"the map never framed the region {region_box()}: {view}")


def share_of(rgb: np.ndarray, colour: str) -> float:
    wanted = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
    return float((np.abs(rgb.astype(int) - wanted).max(axis=-1) <= 2).mean())


@pytest.mark.parametrize("how", ["link", "embed", "catalogue", "image"])
def test_a_regional_dataset_opens_on_its_extent(regional_server, page, how, request):
    # over tiles (the default), HoloViews padded the tile layer's view by a tenth a side and the
    # tile layer refitted it by halves unknown to the server (map_tiles.KEEP_VIEW_JS); "image"
    # is the same link served with every map one rendered image
    if how == "image":
        regional_server = request.getfixturevalue("regional_image_server")
    page.set_viewport_size({"width": 1400, "height": 900})
    url = {
        "image": f"{regional_server}?dataset=north-sea",
        "link": f"{regional_server}?dataset=north-sea",
        "embed": f"{regional_server}embed/map?dataset=north-sea",
        "catalogue": regional_server,
    }[how]
    page.goto(url, wait_until="domcontentloaded")
    wait_for_map(page, min_colours=40)
    if how == "catalogue":  # from the whole globe of the demo, once it is shown
        settled_view(page)
        page.get_by_role("button", name="North Sea box").click()
    wait_for_region_view(page)
    # beyond the grid the sea is drawn apart from land (the layer follows the framed view):
    # the strips beside the grid are 3-6 % of the map, as the plot's width leaves them
    canvas = page.locator(".bk-Canvas canvas").first
    deadline = time.monotonic() + 60
    while (share := share_of(pixels(canvas.screenshot()), OUTSIDE_SEA_COLOR)) < 0.03:
        assert time.monotonic() < deadline, f"outside sea colour on {share:.1%} of the map"
        page.wait_for_timeout(300)
