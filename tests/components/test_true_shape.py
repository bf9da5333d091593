"""Maps true to shape: one CRS unit per pixel across and down, in the core's viewports and
the decorated PNG ``ocean-explorer render`` writes (box extended rather than stretched)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from components.core.geography import LONLAT, MERCATOR_HALF_WORLD, WEB_MERCATOR, Viewport
from components.core.png import (
    MARGIN_BOTTOM,
    MARGIN_LEFT,
    MARGIN_RIGHT,
    MARGIN_TOP,
    ColourScale,
    attribution,
)
from tests.app.test_render_cli import CLIM, ocean_file, render, thetao  # noqa: F401


def ratio(vp: Viewport) -> float:
    across, down = vp.units_per_pixel
    return across / down


def test_a_wide_box_in_a_square_image_is_extended_north_and_south():
    vp = Viewport.from_bbox((-40, 30, 0, 40), 500, 500, WEB_MERCATOR).true_shape()
    assert (vp.width, vp.height) == (500, 500)
    assert abs(ratio(vp) - 1) < 1e-9
    asked = Viewport.from_bbox((-40, 30, 0, 40), 500, 500, WEB_MERCATOR)
    assert vp.x_range == asked.x_range  # all it showed, and more north and south
    assert vp.y_range[0] < asked.y_range[0] and vp.y_range[1] > asked.y_range[1]
    assert np.isclose(sum(vp.y_range), sum(asked.y_range))  # about the same centre


def test_a_tall_box_in_a_wide_image_is_extended_east_and_west():
    vp = Viewport.from_bbox((-70, 0, 30, 80), 200, 100, LONLAT).true_shape()
    assert vp.x_range == pytest.approx((-100.0, 60.0))
    assert vp.y_range == (0.0, 80.0)


def test_the_world_is_never_passed_the_image_is_smaller_instead():
    # the Mercator world is square: 800 x 450 px would need more than one world across
    world = (-MERCATOR_HALF_WORLD, MERCATOR_HALF_WORLD)
    vp = Viewport(world, world, 800, 450, WEB_MERCATOR).true_shape()
    assert (vp.x_range, vp.y_range) == (world, world)
    assert (vp.width, vp.height) == (450, 450)
    # near the pole the box slides south rather than pass 85°
    vp = Viewport.from_bbox((0, 70, 10, 85), 900, 300, WEB_MERCATOR).true_shape()
    assert vp.y_range[1] <= MERCATOR_HALF_WORLD + 1e-6 and abs(ratio(vp) - 1) < 1e-9


def test_render_png_map_area_is_true_to_shape(render, ocean_file, tmp_path):  # noqa: F811
    out = tmp_path / "wide.png"
    result = render(
        ocean_file, "--var", "thetao", "--bbox", "-70,0,30,80", "--clim", "0,36",
        "--width", "200", "--height", "100", "-o", str(out),
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "box extended to -100,0,60,80" in result.err
    with Image.open(out) as image:
        size, extent = image.size, image.text["Extent"]
        png = np.asarray(image.convert("RGBA"))
    # the plot area is the size asked, and its box has the size's proportions
    assert size == (200 + MARGIN_LEFT + MARGIN_RIGHT, 100 + MARGIN_TOP + MARGIN_BOTTOM)
    x0, y0, x1, y1 = (float(v) for v in extent.split(","))
    assert abs(((x1 - x0) / 200) / ((y1 - y0) / 100) - 1) < 0.02
    # column 18 of the map is 85°W (beyond the box asked): the cell there, not a stretched one
    scale = ColourScale("thermal", CLIM)
    colour = scale.lut()[scale.index(thetao(np.array(-85.0), np.array(45.0)))]
    assert tuple(png[MARGIN_TOP + 43, MARGIN_LEFT + 18]) == tuple(colour)
    # the attribution line along the bottom: text under the tick labels
    assert (png[-14:, :150, :3] < 160).any()


def test_render_png_of_the_mercator_world_is_square(render, ocean_file, tmp_path):  # noqa: F811
    out = tmp_path / "world.png"
    result = render(ocean_file, "--var", "thetao", "--crs", "EPSG:3857", "-o", str(out))
    assert result.code == 0, result.err
    assert "map 450x450 px rather than 800x450" in result.err
    with Image.open(out) as image:
        assert image.size == (450 + MARGIN_LEFT + MARGIN_RIGHT, 450 + MARGIN_TOP + MARGIN_BOTTOM)


def test_attribution_names_the_data_and_the_coastline():
    assert attribution("demo (Ocean Explorer)") == (
        "Data: demo (Ocean Explorer) · Coastline: GSHHG (Wessel & Smith)"
    )
