"""Show in a real headless browser: the anomaly and the marine-heatwave category of the
heatwave scenario, a click for the point's heatwaves and their table, the choice in the URL."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from .conftest import serving_catalog
from .pages import hover_readout, wait_for_change, wait_for_map, wait_for_title

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
    box = canvas.bounding_box()
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
