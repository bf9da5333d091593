"""What the browser tests share: reading the painted map, plot titles and tooltips."""

from __future__ import annotations

import io
import re
import time

import numpy as np
from PIL import Image


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def distinct_colours(rgb: np.ndarray) -> int:
    return len(np.unique(rgb.reshape(-1, 3), axis=0))


def wait_for_map(page, min_colours: int = 150, timeout_s: float = 90.0):
    """The map canvas once it shows a colour field; returns (locator, pixels). A map rebuilt
    meanwhile (another dataset or variable) replaces its canvas: the new one is waited for."""
    from playwright.sync_api import Error as PlaywrightError

    canvas = page.locator(".bk-Canvas canvas").first
    canvas.wait_for(state="attached", timeout=timeout_s * 1000)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            rgb = pixels(canvas.screenshot())
        except PlaywrightError as exc:  # the canvas went with the old plot
            if "not attached" not in str(exc):
                raise
        else:
            if distinct_colours(rgb) >= min_colours:
                return canvas, rgb
        page.wait_for_timeout(300)
    raise AssertionError("the map never showed a colour field")


def wait_for_change(page, canvas, before: np.ndarray, timeout_s: float = 60.0) -> np.ndarray:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        rgb = pixels(canvas.screenshot())
        if rgb.shape == before.shape and (rgb != before).any(axis=2).mean() > 0.05:
            return rgb
        page.wait_for_timeout(300)
    raise AssertionError("the painted map did not change")


def shown_box(canvas, timeout_s: float = 30.0) -> dict:
    """The canvas' bounding box once it is shown (a map being rebuilt has none a moment)."""
    deadline = time.monotonic() + timeout_s
    while (box := canvas.bounding_box()) is None:
        if time.monotonic() > deadline:
            raise AssertionError("the map's canvas was not shown")
        canvas.page.wait_for_timeout(100)
    return box


#: The text of the hover label the map over tiles draws on its canvas
#: (:data:`components.map_tiles.HOVER_JS`), when one is shown; else null.
TILE_HOVER_JS = """() => {
    let text = null;
    for (const doc of window.Bokeh.documents)
        for (const model of doc.all_models)
            if (model.name === "tile-hover" && model.visible && model.text) text = model.text;
    return text;
}"""


def shown_hover(page) -> list[str]:
    """The values of the hover shown (lon, lat, value), as the user reads them: Bokeh's
    tooltip over a rendered image, or the label the map over tiles draws; [] for none."""
    texts = page.locator(".bk-Tooltip .bk-tooltip-row-value:visible").all_inner_texts()
    if texts:
        return texts
    label = page.evaluate(TILE_HOVER_JS)
    if not label:
        return []
    where, value = label.split("\n", 1)
    lon, lat = re.fullmatch(r"lon (\S+)\s+lat (\S+)", where.strip()).groups()
    return [lon, lat, value.rsplit(": ", 1)[-1]]


def hover_readout(page, canvas, fx: float, fy: float, timeout_s: float = 10.0) -> list[str]:
    """Hover at a fraction (fx, fy) of the map canvas; the hover's values (lon, lat, value).
    The pointer leaves the map first, so that the hover read is the new point's."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    box = shown_box(canvas)
    page.mouse.move(0, 0)
    page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
    deadline = time.monotonic() + timeout_s
    while not (texts := shown_hover(page)):
        if time.monotonic() > deadline:
            raise PlaywrightTimeout(f"no hover shown within {timeout_s:g} s")
        page.wait_for_timeout(100)
    return texts


#: Texts of every Bokeh plot title in the page (titles are painted on canvases, so they
#: are read from the documents' models).
TITLES_JS = """() => {
    const texts = [];
    for (const doc of window.Bokeh.documents)
        for (const model of doc.all_models)
            if (model.constructor.__name__ === "Title" && model.text) texts.push(model.text);
    return texts;
}"""


def wait_for_title(page, start: str, timeout_s: float = 60.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = [t for t in page.evaluate(TITLES_JS) if start in t]
        if found:
            return found[0]
        page.wait_for_timeout(300)
    raise AssertionError(f"no plot title with {start!r}: {page.evaluate(TITLES_JS)}")


#: The map's plot frame (the data area, inside the axes) in canvas pixels: left, top, width,
#: height (the figure with the map's tools).
FRAME_JS = """() => {
    for (const doc of window.Bokeh.documents)
        for (const m of doc.all_models)
            if (m.constructor.__name__ === "Figure" && m.tags && m.tags.includes("true-shape")) {
                const view = window.Bokeh.index.find_one(m);
                if (view && view.frame && view.frame.bbox.width > 0) {
                    const b = view.frame.bbox;
                    return [b.left, b.top, b.width, b.height];
                }
            }
    return null;
}"""


def in_frame(page, canvas, fx: float, fy: float) -> tuple[float, float]:
    """Page coordinates of the fraction (fx, fy) of the map's data area (inside its axes)."""
    box = shown_box(canvas)
    left, top, width, height = page.evaluate(FRAME_JS)
    return box["x"] + left + width * fx, box["y"] + top + height * fy
