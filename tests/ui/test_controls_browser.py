"""Sidebar controls and sharing in a real headless browser: the exceedance count on screen,
checkbox labels, relative change offered only on a ratio scale, and the Share dialog's Copy."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: A comparison on the equatorial Atlantic (about 27 degC), counting days above 2 (degC).
COUNT_LINK = "?mode=difference&scenario=warming_1p5&region=-30,-2,-28,2&count_above=2&exceed=change"


#: Left, top and bottom (pixels in the page) of every plot canvas taller than 150 pixels
#: (the maps; Bokeh draws each in shadow roots).
MAP_BOXES_JS = """() => {
    const out = [];
    function walk(root) {
        for (const el of root.querySelectorAll("*")) {
            if (el.shadowRoot) walk(el.shadowRoot);
            if (el.tagName === "CANVAS") {
                const box = el.getBoundingClientRect();
                if (box.height > 150 && box.width > 150) out.push([box.left, box.top, box.bottom]);
            }
        }
    }
    walk(document);
    return out;
}"""


def wait_for_url(page, part: str, timeout_s: float = 30.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        search = page.evaluate("() => window.location.search")
        if part in search:
            return search
        page.wait_for_timeout(200)
    raise AssertionError(f"{part!r} never came into the URL: {search}")


def test_the_exceedance_count_says_what_it_counts(small_demo_server, page):
    page.goto(small_demo_server + COUNT_LINK, wait_until="domcontentloaded")
    impact = page.locator("table", has_text="mean Δ").first
    # warming_1p5 is the baseline + 1.5 degC: its change is above +2 on none of the 30 days
    expect(impact).to_contain_text("days with change > +2 degC", timeout=60_000)
    row = impact.locator("tr", has_text="warming_1p5")
    expect(row.locator("td").last).to_have_text("0")
    # a decimal comma is refused with a notice, not read as 25
    count = page.get_by_label("Count steps where the regional mean exceeds")
    count.fill("2,5")
    count.press("Enter")
    expect(page.get_by_text("'2,5' is not a number: decimals take a point (2.5)")).to_be_visible()
    expect(count).to_have_value("2")
    # the same number as a value: both runs, about 27 degC, are above 2 degC every day
    page.get_by_role("button", name="its value", exact=True).click()
    expect(impact).to_contain_text("days with value > 2 degC", timeout=30_000)
    expect(row.locator("td").last).to_have_text("30 (baseline 30)", timeout=30_000)
    assert "count_above=2&exceed=value" in wait_for_url(page, "exceed=value")


def test_clicking_a_checkbox_label_toggles_it(small_demo_server, page):
    page.goto(small_demo_server, wait_until="domcontentloaded")
    checkbox = page.locator(".bk-Checkbox", has_text="Log scale")
    box = checkbox.locator("input[type=checkbox]")
    box.wait_for(state="attached", timeout=60_000)
    assert not box.is_checked()
    checkbox.get_by_text("Log scale", exact=True).click()
    expect(box).to_be_checked()
    wait_for_url(page, "log=1")  # the server heard it: the link says so
    checkbox.get_by_text("Log scale", exact=True).click()
    expect(box).not_to_be_checked()


def test_relative_change_is_not_offered_for_a_celsius_temperature(small_demo_server, page):
    page.goto(small_demo_server + "?mode=difference", wait_until="domcontentloaded")
    note = page.get_by_text("Relative change (%) is not offered for thetao: it is in °C")
    expect(note).to_be_visible(timeout=60_000)
    expect(page.get_by_role("button", name="Relative change (%)", exact=True)).to_have_count(0)
    page.locator("select").filter(has_text="thetao").first.select_option("uo")
    expect(page.get_by_role("button", name="Relative change (%)", exact=True)).to_be_visible(
        timeout=30_000
    )
    expect(note).to_have_count(0)


def test_the_share_dialog_copies_the_link(small_demo_server, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=small_demo_server)
    page = context.new_page()
    try:
        page.goto(
            small_demo_server + "?mode=difference&threshold=0.5", wait_until="domcontentloaded"
        )
        page.get_by_role("button", name="Share / embed").click()
        copy = page.get_by_role("button", name="Copy link")
        copy.click()
        expect(page.get_by_role("button", name="Copied")).to_be_visible(timeout=10_000)
        copied = page.evaluate("() => navigator.clipboard.readText()")
        assert copied.startswith(small_demo_server + "?dataset=demo-half&")
        assert "mode=difference" in copied and "threshold=0.5" in copied
    finally:
        context.close()


def test_an_embedded_comparison_of_three_runs_shows_every_map(small_demo_server, page):
    page.goto(
        small_demo_server + "?mode=difference&scenario=warming_1p5,warming_3,heatwave",
        wait_until="domcontentloaded",
    )
    page.get_by_role("button", name="Share / embed").click()
    snippet = page.get_by_label("Embed in a web page (iframe, minimal chrome)")
    expect(snippet).to_have_value(re.compile("embed/compare"), timeout=30_000)
    iframe = snippet.input_value()
    height = int(re.search(r'height="(\d+)"', iframe).group(1))
    # a stakeholder's page holding the snippet as it is
    page.set_content(f"<html><body style='margin:0'>{iframe}</body></html>")
    embedded = page.frames[1]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        maps = {tuple(box) for box in embedded.evaluate(MAP_BOXES_JS)}  # one per map
        if len(maps) >= 3:
            break
        page.wait_for_timeout(300)
    assert len(maps) == 3, maps
    for _, top, bottom in maps:  # each map whole inside the frame, no scrolling
        assert top >= 0 and bottom <= height, (maps, height)


#: Class names of the colour mappers of the page's plots.
MAPPERS_JS = """() => {
    const out = [];
    for (const doc of window.Bokeh.documents)
        for (const m of doc.all_models)
            if (m.constructor.__name__.endsWith("ColorMapper")) out.push(m.constructor.__name__);
    return out;
}"""


def wait_for_mappers(page, timeout_s: float = 60.0) -> list[str]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = page.evaluate("() => window.Bokeh ? window.Bokeh.documents.length : 0")
        mappers = page.evaluate(MAPPERS_JS) if found else []
        if mappers:
            return mappers
        page.wait_for_timeout(300)
    raise AssertionError("no colour mapper on the page")


def test_the_embedded_map_keeps_the_colour_scale_of_the_link(small_demo_server, page):
    # chlorophyll: log by default, as in the app; a link that turned it off stays linear
    page.goto(small_demo_server + "embed/map?variable=chl", wait_until="domcontentloaded")
    assert wait_for_mappers(page) == ["LogColorMapper"]
    page.goto(small_demo_server + "embed/map?variable=chl&log=0", wait_until="domcontentloaded")
    assert wait_for_mappers(page) == ["LinearColorMapper"]
