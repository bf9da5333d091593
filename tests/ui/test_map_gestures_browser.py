"""Drawing regions on the map with the mouse (real Chromium, real gestures): the clicks and the
double-click that draw a polygon probe nothing, and a new region replaces the one before."""

from __future__ import annotations

import time
import urllib.parse

import pytest

from components.probe_view import REGION_COLOR

from .pages import shown_box, wait_for_map
from .test_map_navigation_browser import settled_view

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: (min x, max x, min y, max y) of every drawn region outline (the dashed path in the region
#: colour) in the page, newest documents' models included.
OUTLINES_JS = """(colour) => {
    const found = [];
    for (const doc of window.Bokeh.documents)
        for (const m of doc.all_models)
            if (m.constructor.__name__ === "GlyphRenderer" && m.glyph && m.visible
                    && m.glyph.constructor.__name__ === "MultiLine"
                    && String(m.glyph.line_color.value ?? m.glyph.line_color) === colour) {
                const xs = [...m.data_source.data.xs].flatMap(a => [...a]).filter(Number.isFinite);
                const ys = [...m.data_source.data.ys].flatMap(a => [...a]).filter(Number.isFinite);
                if (xs.length) found.push([Math.min(...xs), Math.max(...xs),
                                           Math.min(...ys), Math.max(...ys)]);
            }
    return found;
}"""


def query_of(page) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(page.url).query))


def wait_for_outlines(page, unlike: list | None = None, timeout_s: float = 30.0) -> list:
    """The region outlines once there are some, other than ``unlike``."""
    deadline = time.monotonic() + timeout_s
    while True:
        outlines = page.evaluate(OUTLINES_JS, REGION_COLOR)
        if outlines and outlines != unlike:
            return outlines
        assert time.monotonic() < deadline, f"no new outline: {outlines}"
        page.wait_for_timeout(300)


def test_a_polygon_drops_no_point_and_replaces_the_box(small_demo_server, page):
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{small_demo_server}?bbox=-40,20,0,50", wait_until="domcontentloaded")
    wait_for_map(page)
    settled_view(page)
    canvas = page.locator(".bk-Canvas canvas").first
    box = shown_box(canvas)
    # fractions of the canvas inside the map's frame (the colour bar is on the right)

    def at(fx: float, fy: float) -> tuple[float, float]:
        return box["x"] + box["width"] * fx, box["y"] + box["height"] * fy

    # a box first (Box Select, drag)
    page.locator(".bk-tool-icon-box-select").first.click()
    page.mouse.move(*at(0.25, 0.3))
    page.mouse.down()
    page.mouse.move(*at(0.4, 0.5), steps=6)
    page.mouse.up()
    (box_outline,) = wait_for_outlines(page)
    # then a polygon: three clicks and a double-click on the last vertex (Poly Select)
    page.locator(".bk-tool-icon-polygon-select").first.click()
    for fx, fy in ((0.55, 0.3), (0.7, 0.35), (0.65, 0.6)):
        page.mouse.click(*at(fx, fy))
        page.wait_for_timeout(500)  # a user's pace: two quick clicks would be a double-click
    page.mouse.dblclick(*at(0.55, 0.55))
    outlines = wait_for_outlines(page, unlike=[box_outline])
    # the polygon (right of the box) replaced the box: no outline left where the box was
    assert all(o[0] > box_outline[1] for o in outlines), (box_outline, outlines)
    # and neither its clicks nor its closing double-click probed a point
    assert "points" not in query_of(page), page.url
