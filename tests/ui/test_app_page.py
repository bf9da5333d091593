"""The served app in a real headless browser."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def distinct_colours(png: bytes) -> int:
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3)
    return len(np.unique(rgb, axis=0))


def test_app_page_renders_a_map(app_server, page):
    page.goto(app_server, wait_until="domcontentloaded")
    # CSS selectors pierce Bokeh's shadow DOM; the map is a Bokeh canvas
    canvas = page.locator(".bk-Canvas canvas").first
    canvas.wait_for(state="attached", timeout=90_000)
    # The page is served before the map is painted: poll until the canvas shows a colour
    # field (a blank or grey canvas has a handful of colours, the thermal map hundreds).
    deadline = time.monotonic() + 90
    colours = 0
    while time.monotonic() < deadline:
        colours = distinct_colours(canvas.screenshot())
        if colours > 200:
            break
        page.wait_for_timeout(500)
    assert colours > 200, f"the map canvas shows only {colours} colours"
    assert page.title() == "Ocean Explorer"
