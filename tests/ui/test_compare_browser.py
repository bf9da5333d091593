"""Scenario comparison in a real headless browser: modes, the swipe divider, linked maps."""

from __future__ import annotations

import time

import numpy as np
import pytest
from playwright.sync_api import expect

from .pages import FRAME_JS, pixels, shown_box, wait_for_map, wait_for_title

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: (title, x_range start, x_range end) of every Bokeh figure in the page.
FIGURES_JS = """() => {
    const out = [];
    for (const doc of window.Bokeh.documents)
        for (const m of doc.all_models)
            if (m.constructor.__name__ === "Figure" && m.title && m.title.text)
                out.push([m.title.text, m.x_range.start, m.x_range.end]);
    return out;
}"""
#: Locations of the page's Bokeh spans (the swipe divider), in Web Mercator metres.
SPANS_JS = """() => {
    const out = [];
    for (const doc of window.Bokeh.documents)
        for (const m of doc.all_models)
            if (m.constructor.__name__ === "Span" && m.editable) out.push(m.location);
    return out;
}"""


def choose_mode(page, label: str) -> None:
    page.get_by_role("button", name=label, exact=True).click()


def visible_map(page, min_height: float = 300):
    """The first visible map canvas (the one-run map is hidden while comparing)."""
    canvases = page.locator(".bk-Canvas canvas")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for i in range(canvases.count()):
            canvas = canvases.nth(i)
            box = canvas.bounding_box()  # None: a hidden map
            if canvas.is_visible() and box and box["height"] >= min_height:
                return canvas
        page.wait_for_timeout(300)
    raise AssertionError("no visible map")


def test_each_mode_shows_what_it_compares(small_demo_server, page):
    page.goto(small_demo_server, wait_until="domcontentloaded")
    wait_for_map(page)
    choose_mode(page, "Difference")
    wait_for_title(page, "warming_1p5 - baseline")
    choose_mode(page, "Side by side")
    wait_for_title(page, "baseline · 2025-01-01")
    wait_for_title(page, "warming_1p5 · 2025-01-01")
    choose_mode(page, "Swipe")
    wait_for_title(page, "baseline ◀ | ▶ warming_1p5")
    # the impact table sits under the comparison, per scenario
    page.get_by_text("Impact over the view").first.wait_for(state="visible", timeout=30_000)
    impact = page.locator("table", has_text="mean Δ").first
    expect(impact).to_contain_text("+1.5 degC", timeout=30_000)


def test_dragging_the_swipe_divider_moves_the_split(small_demo_server, page):
    page.goto(small_demo_server, wait_until="domcontentloaded")
    wait_for_map(page)
    choose_mode(page, "Swipe")
    wait_for_title(page, "▶ warming_1p5")
    canvas = visible_map(page)
    deadline = time.monotonic() + 60
    while not page.evaluate(SPANS_JS) and time.monotonic() < deadline:
        page.wait_for_timeout(300)
    (start,) = page.evaluate(SPANS_JS)
    rgb = pixels(canvas.screenshot())
    # the divider is the one white column across the middle of the map
    band = rgb[rgb.shape[0] // 4 : 3 * rgb.shape[0] // 4, : int(rgb.shape[1] * 0.8)].min(axis=2)
    white = np.flatnonzero(band.min(axis=0) > 225)
    left, _, width, _ = page.evaluate(FRAME_JS)  # inside the data area, not the axes
    white = white[(white > left + 5) & (white < left + width - 5)]
    assert white.size, "no divider line on the map"
    x_line = float(white.mean())
    box = shown_box(canvas)
    y = box["y"] + box["height"] * 0.5
    page.mouse.move(box["x"] + x_line, y)
    page.mouse.down()
    page.mouse.move(box["x"] + x_line - 150, y, steps=10)
    page.mouse.up()
    deadline = time.monotonic() + 30
    while page.evaluate(SPANS_JS)[0] == start and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert page.evaluate(SPANS_JS)[0] < start
    # the strip between the old and the new divider now shows the warmer scenario (+1.5 degC)
    lo, hi = int(x_line - 140), int(x_line - 10)
    before = rgb[:, lo:hi]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        after = pixels(canvas.screenshot())[:, lo:hi]
        if (after != before).any(axis=2).mean() > 0.2:
            break
        page.wait_for_timeout(300)
    assert (after != before).any(axis=2).mean() > 0.2


def test_side_by_side_maps_pan_and_zoom_together(small_demo_server, page):
    page.goto(small_demo_server, wait_until="domcontentloaded")
    wait_for_map(page)
    choose_mode(page, "Side by side")
    # two maps are built (the server shared by every browser test may be busy): a limit
    # against a hang, not a speed
    wait_for_title(page, "warming_1p5 · 2025-01-01", timeout_s=120.0)

    def ranges():
        return {
            t.split(" · ")[0]: (a, b)
            for t, a, b in page.evaluate(FIGURES_JS)
            if t.startswith(("baseline ·", "warming_1p5 ·"))
        }

    deadline = time.monotonic() + 30
    while len(ranges()) < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(300)
    before = ranges()
    assert before["baseline"] == before["warming_1p5"]
    canvas = visible_map(page, min_height=250)
    box = shown_box(canvas)
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.5)
    for _ in range(3):
        page.mouse.wheel(0, -240)  # zoom in on the left map
    deadline = time.monotonic() + 30
    while ranges()["baseline"] == before["baseline"] and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    after = ranges()
    width = after["baseline"][1] - after["baseline"][0]
    assert width < 0.9 * (before["baseline"][1] - before["baseline"][0])
    assert after["warming_1p5"] == pytest.approx(after["baseline"])


def test_every_compare_embed_shows_its_impact_table(small_demo_server, browser):
    # an answer computed while the page was still connecting could be lost on its way: about
    # one embed in three then showed its maps and never its impact table
    for _ in range(3):
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(
            small_demo_server + "embed/compare?scenario=warming_1p5,warming_3&mode=difference"
        )
        impact = page.locator("table", has_text="mean Δ").first
        expect(impact).to_contain_text("warming_3", timeout=60_000)
        page.close()
