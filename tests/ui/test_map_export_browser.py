"""The map's downloads as a user takes them (real Chromium): the Share dialog's PNG is true
to shape, and its animated GIF covers the range chosen, one frame per date."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from components.core.png import MARGIN_BOTTOM, MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP

from .pages import wait_for_map

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def open_share_dialog(page, url: str) -> None:
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(url, wait_until="domcontentloaded")
    wait_for_map(page)
    page.get_by_role("button", name="Share / embed").click()
    page.get_by_role("button", name="PNG of this map").wait_for(state="visible", timeout=30_000)


def download(page, label: str, timeout_s: float = 120.0) -> bytes:
    with page.expect_download(timeout=timeout_s * 1000) as info:
        page.get_by_role("button", name=label).click()
    path = info.value.path()
    with open(path, "rb") as f:
        return f.read()


def test_share_png_is_true_to_shape(small_demo_server, page):
    # a box twice as wide as tall, on a plot of another shape: the PNG shows more, not stretched
    open_share_dialog(page, f"{small_demo_server}?bbox=-60,20,20,60")
    png = Image.open(io.BytesIO(download(page, "PNG of this map")))
    width = png.size[0] - MARGIN_LEFT - MARGIN_RIGHT
    height = png.size[1] - MARGIN_TOP - MARGIN_BOTTOM
    x0, y0, x1, y1 = (float(v) for v in png.text["Extent"].split(","))
    across, down = (x1 - x0) / width, (y1 - y0) / height
    assert abs(across / down - 1) < 0.02, (across, down, png.size)
    assert png.text["CRS"] == "EPSG:3857"


def test_share_gif_has_one_frame_per_date_of_the_range(small_demo_server, page):
    open_share_dialog(page, f"{small_demo_server}?time=2025-01-03")
    dialog = page.locator(".share-dialog")
    dialog.locator("select").nth(0).select_option("2025-01-03")
    dialog.locator("select").nth(1).select_option("2025-01-07")
    gif = Image.open(io.BytesIO(download(page, "Animated GIF of this map")))
    assert gif.format == "GIF" and gif.n_frames == 5
    titles = []
    for i in range(gif.n_frames):
        gif.seek(i)
        titles.append(gif.convert("RGB").crop((0, 0, gif.size[0], MARGIN_TOP)).tobytes())
    assert len(set(titles)) == 5  # each frame's title names its own date
