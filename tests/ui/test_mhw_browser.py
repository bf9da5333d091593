"""Show in a real headless browser: the anomaly and the marine-heatwave category of the
heatwave scenario, a click for the point's heatwaves and their table, the choice in the URL."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from .conftest import serving_catalog
from .pages import hover_readout, shown_box, wait_for_change, wait_for_map, wait_for_title

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def past_server(tmp_path_factory):
    """A 1-degree demo ocean with a past (2020-2025) and its heatwave scenario."""
    catalog = """
    datasets:
      - id: demo-past-small
        title: Demo ocean with a past
        adapter: demo
        resolution: 1.0
        start: "2020-01-01"
        days: 2192
        variability: true
        scenarios: [baseline, heatwave]
    """
    with serving_catalog(tmp_path_factory.mktemp("mhw-ui"), catalog) as url:
        yield url


#: The map's colour bar: its title and its range (of the newest map figure: one replaced
#: may stay among the document's models).
COLOUR_BAR_JS = """() => {
    let found = null;
    for (const doc of window.Bokeh.documents)
        for (const m of doc.all_models)
            if (m.constructor.__name__ === "Figure" && m.tags && m.tags.includes("true-shape"))
                for (const bar of m.right)
                    if (bar.constructor.__name__ === "ColorBar")
                        found = [bar.title, bar.color_mapper.low, bar.color_mapper.high];
    return found;
}"""


def _value_at_centre(page, canvas, wanted, timeout_s: float = 120.0) -> float:
    """The tooltip's value at the view's centre once it satisfies ``wanted`` (the map may
    still show the previous choice while the new one is computed)."""
    deadline = time.monotonic() + timeout_s
    value = float("nan")
    while time.monotonic() < deadline:
        for fx in (0.49, 0.5):  # a move, so that the tooltip follows the new frame
            try:
                texts = hover_readout(page, canvas, fx, 0.5)
            except PlaywrightTimeout:
                continue
            if not texts:  # the tooltip went as the frame was redrawn: hover again
                continue
            value = float(texts[-1].split()[0])
            if wanted(value):
                return value
        page.wait_for_timeout(500)
    raise AssertionError(f"the value at the centre stayed {value}")


@pytest.mark.timeout(600)  # three climatologies of a 6-year global ocean on a busy machine
def test_show_anomaly_then_category_and_a_click_gives_the_event_table(past_server, page):
    query = "?scenario=heatwave&time=2025-07-25&bbox=-180,25,-110,65"
    page.goto(past_server + query, wait_until="domcontentloaded")
    canvas, before = wait_for_map(page)
    show = page.locator("select").filter(has_text="mhw-category")
    show.select_option("anomaly")
    after = wait_for_change(page, canvas, before, timeout_s=120)
    # the anomaly at the heatwave's centre (-145, 45: the middle of this view) is warm,
    # where the sea is at about 17 °C
    _value_at_centre(page, canvas, lambda v: 2.0 < v < 6.0)
    show.select_option("mhw-category")
    wait_for_change(page, canvas, after, timeout_s=120)
    _value_at_centre(page, canvas, lambda v: v in (3.0, 4.0))  # Severe or Extreme
    expect(page).to_have_url(re.compile(r"[?&]show=mhw-category"), timeout=30_000)
    box = shown_box(canvas)
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    title = wait_for_title(page, "marine heatwaves against the 2020/2025", timeout_s=240)
    assert " at lon=" in title
    table = page.locator(".mhw-events table").first
    table.wait_for(state="visible", timeout=60_000)
    text = table.inner_text()
    assert "date_start" in text and "intensity_cumulative" in text
    rows = [r.split("\t") for r in page.locator(".mhw-events tbody tr").all_inner_texts()]
    # the day shown is in a Severe or Extreme event of the point's table
    assert any(
        r[0] <= "2025-07-25" <= r[2] and r[-1].strip() in ("Severe", "Extreme") for r in rows
    ), rows[:5]


def test_a_new_show_is_drawn_under_its_own_colour_bar_and_takes_a_click_at_once(past_server, page):
    # the map of another "show" comes with its own colour bar; before, the plot being
    # replaced was first drawn in the new colours under the old colour bar (categories
    # 0-4 as temperatures), and a click on it was lost
    page.goto(past_server + "?scenario=heatwave&time=2025-07-25&bbox=-180,25,-110,65")
    wait_for_map(page)
    page.locator("select").filter(has_text="mhw-category").select_option("mhw-category")
    seen = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        bar = page.evaluate(COLOUR_BAR_JS)
        if bar is not None and bar not in seen:
            seen.append(bar)
        if bar is not None and "marine heatwave category" in bar[0]:
            break
        page.wait_for_timeout(50)
    assert seen and "marine heatwave category" in seen[-1][0], seen
    assert seen[-1][1:] == [-0.5, 4.5]
    # every colour bar seen in between had its own title and range
    assert all(("category" in title) == ([lo, hi] == [-0.5, 4.5]) for title, lo, hi in seen)
    canvas, _ = wait_for_map(page)  # the category map, drawn
    box = shown_box(canvas)
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    wait_for_title(page, "marine heatwaves against the 2020/2025", timeout_s=120)
