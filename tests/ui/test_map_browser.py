"""The map explorer in a real headless browser: paint, time slider, hover, curvilinear grids."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from data_adapters.demo import DemoOceanAdapter

from .conftest import serving
from .pages import (
    distinct_colours,
    hover_readout,
    in_frame,
    shown_box,
    wait_for_change,
    wait_for_map,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


#: Records, in ``window.loadingSeen``, each time an element (shadow DOMs included) gets
#: Panel's loading class.
WATCH_LOADING_JS = """() => {
    window.loadingSeen = [];
    const observer = new MutationObserver(changes => {
        for (const change of changes) {
            const cls = String(change.target.className || "");
            if (cls.includes("pn-loading")) window.loadingSeen.push(cls);
        }
    });
    const watch = root => {
        observer.observe(root, {attributes: true, subtree: true, attributeFilter: ["class"]});
        root.querySelectorAll("*").forEach(e => { if (e.shadowRoot) watch(e.shadowRoot); });
    };
    watch(document);
}"""


@pytest.fixture(scope="module")
def curvilinear_server(tmp_path_factory):
    """A rotated, curvilinear grid across the dateline, served from a NetCDF file."""
    root = tmp_path_factory.mktemp("curvilinear")
    ny, nx = 120, 160
    j, i = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
    angle = np.deg2rad(25.0)
    lon = 150.0 + 0.5 * (i * np.cos(angle) - j * np.sin(angle)) + 20.0
    lat = -20.0 + 0.5 * (i * np.sin(angle) + j * np.cos(angle))
    lon = (lon + 180.0) % 360.0 - 180.0 + 180.0  # stored as 0..360 like many models
    sst = 20 + 5 * np.sin(np.deg2rad(lon) * 6) * np.cos(np.deg2rad(lat) * 4)
    xr.Dataset(
        {"sst": (("y", "x"), sst.astype("f4"), {"units": "degC", "long_name": "SST"})},
        coords={
            "nav_lon": (("y", "x"), lon, {"units": "degrees_east"}),
            "nav_lat": (("y", "x"), lat, {"units": "degrees_north"}),
        },
    ).to_netcdf(root / "curvi.nc")
    catalog = root / "catalog.yaml"
    catalog.write_text(
        "datasets:\n  - id: curvi\n    title: Rotated grid\n    adapter: netcdf\n"
        "    path: curvi.nc\n"
    )
    with serving("--catalog", str(catalog), log=root / "serve.log") as url:
        yield url


def test_moving_the_time_slider_repaints_the_map(small_demo_server, page):
    page.goto(small_demo_server, wait_until="domcontentloaded")
    canvas, before = wait_for_map(page)
    # record every loading state the map shows from now on
    page.evaluate(WATCH_LOADING_JS)
    handle = page.locator(".noUi-handle").first
    box = handle.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + 180, box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()
    wait_for_change(page, canvas, before)
    # a spinner covered the map while the frame computed, and is gone with the new frame
    assert page.evaluate("window.loadingSeen.length") > 0
    page.locator(".bk-Figure.pn-loading").wait_for(state="detached", timeout=30_000)
    # the slider's label names the new date
    label = page.locator(".bk-slider-title, .bk-input-group").first.inner_text()
    assert "2025-01-01" not in label


def test_hover_shows_longitude_latitude_and_the_value_with_units(small_demo_server, page):
    page.goto(small_demo_server, wait_until="domcontentloaded")
    canvas, _ = wait_for_map(page)
    # left of the middle at mid-height: the open Pacific near the equator
    lon_text, lat_text, value_text = hover_readout(page, canvas, 0.1, 0.5)
    assert lon_text.endswith("°") and lat_text.endswith("°")
    assert value_text.endswith(" degC")
    lon, lat = float(lon_text[:-1]), float(lat_text[:-1])
    value = float(value_text.split()[0])
    # the readout is the demo's temperature there: a pixel of the whole-globe view spans
    # about 0.5 degree of longitude and 0.75 of latitude here, and shows the mean of the cells
    # it covers, so the value lies within those of the cells up to a pixel away
    ds = DemoOceanAdapter(resolution=0.5, days=30).open()
    near = (
        ds["thetao"]
        .sel(scenario="baseline")
        .isel(time=0, depth=0)
        .sel(lon=slice(lon - 1.0, lon + 1.0), lat=slice(lat - 1.25, lat + 1.25))
    )
    assert float(near.min()) - 1e-3 <= value <= float(near.max()) + 1e-3


def test_hover_over_land_says_so(small_demo_server, page):
    page.goto(small_demo_server, wait_until="domcontentloaded")
    canvas, _ = wait_for_map(page)
    # the bottom rows of the whole-globe view are Antarctica's interior
    x, y = in_frame(page, canvas, 0.5, 0.98)
    box = shown_box(canvas)
    *_, value_text = hover_readout(
        page, canvas, (x - box["x"]) / box["width"], (y - box["y"]) / box["height"]
    )
    assert value_text == "NaN"  # land has no value: no number, no units


def test_curvilinear_grid_renders(curvilinear_server, page):
    page.goto(curvilinear_server, wait_until="domcontentloaded")
    _, rgb = wait_for_map(page, min_colours=100)
    assert distinct_colours(rgb) >= 100
