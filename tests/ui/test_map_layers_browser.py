"""What the map draws around the field, as a user sees it (real Chromium, every outside host
unreachable): a basemap whose tiles fail gives one notice."""

from __future__ import annotations

import pytest

from components.map_layers import TILES_FAILED

from .pages import wait_for_map

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: True once a map figure in the page carries the tag its failed tile probe sets.
TILES_FAILED_JS = """(tag) => window.Bokeh.documents.some(
    doc => [...doc.all_models].some(m => m.tags && m.tags.includes(tag)))"""


#: Counts, from now on, the notices shown whose text holds ``text`` (they fade after seconds).
COUNT_NOTICES_JS = """(text) => {
    window.noticesSeen = 0;
    new MutationObserver(records => {
        for (const r of records)
            for (const node of r.addedNodes)
                if (node.querySelector && [...node.querySelectorAll(".notyf__message")]
                        .some(m => m.textContent.includes(text)))
                    window.noticesSeen += 1;
    }).observe(document.body, {childList: true, subtree: true});
}"""


def test_unreachable_tiles_give_one_notice(small_demo_server, page):
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(small_demo_server, wait_until="domcontentloaded")
    canvas, _ = wait_for_map(page)
    page.evaluate(COUNT_NOTICES_JS, "tiles could not be loaded")
    page.get_by_text("Layers").click()
    page.locator("select").filter(has_text="OpenStreetMap").select_option("CARTO light")
    notice = page.locator(".notyf__message").filter(has_text="basemap's tiles could not be loaded")
    notice.first.wait_for(state="visible", timeout=30_000)
    assert "CARTO light" in notice.first.inner_text()
    page.wait_for_function(TILES_FAILED_JS, arg=TILES_FAILED, timeout=30_000)
    # the map keeps asking for tiles as it is drawn (dozens fail): still one notice
    wait_for_map(page)
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -300)  # zoom in: a new set of tiles, all failing
    wait_for_map(page)
    assert page.evaluate("window.noticesSeen") == 1
