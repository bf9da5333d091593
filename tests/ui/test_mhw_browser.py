"""Show in a real headless browser: the anomaly and the marine-heatwave category of the
heatwave scenario, a click for the point's heatwaves and their table, the choice in the URL."""

from __future__ import annotations

import textwrap

import pytest

from .conftest import serving
from .pages import hover_readout, wait_for_change, wait_for_map, wait_for_title

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def past_server(tmp_path_factory):
    """A 1-degree demo ocean with a past (2020-2025) and its heatwave scenario."""
    root = tmp_path_factory.mktemp("mhw-ui")
    catalog = root / "catalog.yaml"
    catalog.write_text(
        textwrap.dedent(
            """
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
        )
    )
    with serving("--catalog", str(catalog), log=root / "serve.log") as url:
        yield url


def test_show_anomaly_then_category_and_a_click_gives_the_event_table(past_server, page):
    query = "?scenario=heatwave&time=2025-07-25&bbox=-180,25,-110,65"
    page.goto(past_server + query, wait_until="domcontentloaded")
    canvas, before = wait_for_map(page)
    show = page.locator("select").filter(has_text="mhw-category")
    show.select_option("anomaly")
    after = wait_for_change(page, canvas, before, timeout_s=120)
    # the anomaly at the heatwave's centre (-145, 45: the middle of this view) is warm
    *_, value = hover_readout(page, canvas, 0.5, 0.5)
    assert float(value.split()[0]) > 2.0
    show.select_option("mhw-category")
    wait_for_change(page, canvas, after, timeout_s=120)
    *_, category = hover_readout(page, canvas, 0.5, 0.5)
    assert float(category.split()[0]) >= 3  # Severe or Extreme
    assert "show=mhw-category" in page.url
    box = canvas.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    title = wait_for_title(page, "marine heatwaves against the 2020/2025", timeout_s=120)
    assert " at lon=" in title
    table = page.locator(".mhw-events table").first
    table.wait_for(state="visible", timeout=60_000)
    text = table.inner_text()
    assert "date_start" in text and "intensity_cumulative" in text
    first_row = page.locator(".mhw-events tbody tr").first.inner_text()
    assert first_row.startswith("2025-") and ("Extreme" in first_row or "Severe" in first_row)
