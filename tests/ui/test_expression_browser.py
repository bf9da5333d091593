"""Typing an expression in the sidebar shows it on the map, with its units, and puts it in
the page's URL (a real server and headless Chromium)."""

from __future__ import annotations

import time
import urllib.parse

import pytest

from .pages import hover_readout, shown_box, shown_hover, wait_for_change, wait_for_map

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_an_expression_typed_in_the_sidebar_is_shown_on_the_map(small_demo_server, page):
    page.goto(small_demo_server, wait_until="domcontentloaded")
    canvas, before = wait_for_map(page)
    *_, celsius = hover_readout(page, canvas, 0.1, 0.5)  # the open Pacific
    assert celsius.endswith(" degC")
    box = page.get_by_placeholder("speed2 = sqrt(uo**2 + vo**2)")
    box.fill("kelvin [K] = thetao + 273.15")
    box.press("Enter")
    page.mouse.move(0, 0)  # off the map: the next hover opens a fresh tooltip
    wait_for_change(page, canvas, before)
    # the new map's hover (an old map's tooltip stays in the page, hidden)
    canvas = page.locator(".bk-Canvas canvas").first
    deadline = time.monotonic() + 60
    value = ""
    while not value.endswith(" K") and time.monotonic() < deadline:
        box = shown_box(canvas)  # the new map may still be laid out
        page.mouse.move(0, 0)
        page.mouse.move(box["x"] + box["width"] * 0.1, box["y"] + box["height"] * 0.5)
        page.wait_for_timeout(300)
        texts = shown_hover(page)
        value = texts[-1] if texts else ""
    assert value.endswith(" K")
    # the same place in kelvin (a pixel's width away at most: the new map may be laid out anew)
    assert float(value.split()[0]) == pytest.approx(float(celsius.split()[0]) + 273.15, abs=0.5)
    query = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)
    assert query["expr"] == ["kelvin [K] = thetao + 273.15"]
    assert query["variable"] == ["kelvin"]
