"""Slow answers in a real browser at a laptop's 1400 x 900: a drawn box says at once that
its answer is computing, and the answers sit beside the map, seen without scrolling."""

from __future__ import annotations

import time

import pytest

from .pages import in_frame, shown_box, wait_for_map, wait_for_title

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LAPTOP = {"width": 1400, "height": 900}

#: In the page: from the mouse button's release (the end of a drag or click) to the first
#: animation frame that shows the "Computing …" banner, and to the first one that no longer
#: shows it (performance.now() milliseconds). The banner lives in shadow roots (Panel's
#: components), so it is looked for through them.
WATCH_BANNER_JS = """() => {
    const found = (root) => {
        const hit = root.querySelector('.answer-computing-banner');
        if (hit && hit.checkVisibility()) return hit;
        for (const el of root.querySelectorAll('*'))
            if (el.shadowRoot) { const inner = found(el.shadowRoot); if (inner) return inner; }
        return null;
    };
    const watch = window.__banner = {released: null, shown: null, gone: null};
    window.addEventListener('pointerup', () => {
        watch.released = performance.now();
        const look = () => {
            const visible = found(document) !== null;
            if (visible && watch.shown === null) watch.shown = performance.now();
            if (!visible && watch.shown !== null) { watch.gone = performance.now(); return; }
            requestAnimationFrame(look);
        };
        look();
    }, {capture: true, once: true});
}"""


def wait_for(page, script: str, timeout_s: float = 60.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = page.evaluate(script)
        if value:
            return value
        page.wait_for_timeout(100)
    raise AssertionError(f"never true in the page: {script}")


def test_a_drawn_box_says_at_once_that_it_computes(small_demo_server, browser, capsys):
    page = browser.new_context(viewport=LAPTOP).new_page()
    page.goto(small_demo_server, wait_until="domcontentloaded")
    canvas, _ = wait_for_map(page)
    page.get_by_text("frame ").first.wait_for(timeout=60_000)  # the server drew the map
    page.locator(".bk-tool-icon-box-select").first.click()
    page.evaluate(WATCH_BANNER_JS)
    x0, y0 = in_frame(page, canvas, 0.05, 0.45)  # inside the map's axes
    x1, y1 = in_frame(page, canvas, 0.20, 0.55)
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=6)
    page.mouse.up()
    shown = wait_for(page, "() => window.__banner.shown !== null && window.__banner")
    with capsys.disabled():  # how soon is measured, not asserted (a busy machine is slower)
        print(f"\nbanner shown {shown['shown'] - shown['released']:.0f} ms after the release")
    # it goes when the answer is there: the area series is drawn under it. Seen in frames of
    # its own before that: a banner sent with the answer would never be on screen
    done = wait_for(page, "() => window.__banner.gone !== null && window.__banner")
    wait_for_title(page, "Area-weighted mean of")
    assert done["gone"] > done["shown"]
    page.context.close()


def test_a_click_shows_its_series_beside_the_map_without_scrolling(small_demo_server, browser):
    page = browser.new_context(viewport=LAPTOP).new_page()
    page.goto(small_demo_server, wait_until="domcontentloaded")
    canvas, _ = wait_for_map(page)
    box = shown_box(canvas)
    page.mouse.click(box["x"] + box["width"] * 0.1, box["y"] + box["height"] * 0.5)
    wait_for_title(page, " at lon=")
    plot = page.locator(".probes .bk-Canvas").first  # the series' plot
    plot.wait_for(state="visible", timeout=30_000)
    where = plot.bounding_box()
    assert page.evaluate("() => [window.scrollX, window.scrollY]") == [0, 0]
    # the whole plot is inside the window, beside (right of) the map
    assert where["x"] >= box["x"] + box["width"] - 1
    assert where["x"] + where["width"] <= LAPTOP["width"]
    assert where["y"] + where["height"] <= LAPTOP["height"], where
    page.context.close()
