"""Probes in a real headless browser: a click gives the series of its cell, a box its area."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .pages import hover_readout, in_frame, shown_box, wait_for_map, wait_for_title

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_click_on_the_sea_shows_its_time_series(small_demo_server, page):
    page.goto(small_demo_server, wait_until="domcontentloaded")
    canvas, _ = wait_for_map(page)
    lon_text, lat_text, _ = hover_readout(page, canvas, 0.1, 0.5)
    box = shown_box(canvas)
    page.mouse.click(box["x"] + box["width"] * 0.1, box["y"] + box["height"] * 0.5)
    title = wait_for_title(page, " at lon=")
    # the title names the grid cell used, next to where the click was (0.5-degree grid)
    cell = dict(part.split("=") for part in title.split(" at ")[1].replace(" ", "").split(","))
    assert abs(float(cell["lon"]) - float(lon_text[:-1])) <= 0.5
    assert abs(float(cell["lat"]) - float(lat_text[:-1])) <= 0.5
    assert "Sea water potential temperature" in title


def test_drawing_a_box_shows_the_area_mean_series(small_demo_server, page):
    page.goto(small_demo_server, wait_until="domcontentloaded")
    canvas, _ = wait_for_map(page)
    page.locator(".bk-tool-icon-box-select").first.click()
    box = shown_box(canvas)
    x0, y0 = box["x"] + box["width"] * 0.05, box["y"] + box["height"] * 0.45
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x0 + box["width"] * 0.15, y0 + box["height"] * 0.1, steps=6)
    page.mouse.up()
    title = wait_for_title(page, "Area-weighted mean of")
    west = float(title.split("W ")[1].split(",")[0])
    lon_text, *_ = hover_readout(page, canvas, 0.05, 0.45)
    assert abs(west - float(lon_text[:-1])) < 1.0
    # the region's statistics at the current time sit under the plot, with its ocean area
    table = page.get_by_text("ocean area").first
    table.wait_for(state="visible", timeout=30_000)
    assert "km²" in page.locator("table").last.inner_text()


def test_pinned_points_get_a_line_each_and_can_be_removed(small_demo_server, page):
    page.goto(small_demo_server, wait_until="domcontentloaded")
    canvas, _ = wait_for_map(page)
    page.locator(".pin-points input[type=checkbox]").check()
    box = shown_box(canvas)
    for fx in (0.1, 0.15):  # two places in the open Pacific
        page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * 0.5)
        page.locator("button", has_text="✕").nth(int(fx > 0.1)).wait_for(timeout=30_000)
    wait_for_title(page, " at 2 points")
    remove = page.locator("button", has_text="✕")
    remove.first.click()
    expect(remove).to_have_count(1, timeout=30_000)
    title = wait_for_title(page, " at lon=")
    assert "Sea water potential temperature" in title


def test_a_click_on_land_says_so(small_demo_server, page):
    page.goto(small_demo_server, wait_until="domcontentloaded")
    canvas, _ = wait_for_map(page)
    # the bottom rows of the whole-globe view are Antarctica's interior
    page.mouse.click(*in_frame(page, canvas, 0.5, 0.98))
    notice = page.locator(".notyf__message").first
    notice.wait_for(state="visible", timeout=30_000)
    assert "is on land" in notice.inner_text()
    assert page.locator("button", has_text="✕").count() == 0  # no point was added
