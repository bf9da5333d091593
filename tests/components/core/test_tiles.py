"""The XYZ tile scheme, zoom limits and ETags of web-map tiles; log colour scales."""

from __future__ import annotations

import numpy as np
import pytest

from components.core.geography import MERCATOR_MAX_LAT
from components.core.png import LUT_SIZE, ColourScale
from components.core.tiles import etag, max_zoom, native_zoom, tile_bbox, tile_viewport


def test_tile_boxes_follow_the_web_map_scheme():
    west, south, east, north = tile_bbox(0, 0, 0)
    assert (west, east) == pytest.approx((-180.0, 180.0))
    assert (south, north) == pytest.approx((-MERCATOR_MAX_LAT, MERCATOR_MAX_LAT), abs=1e-5)
    # y counts from the north; x from the antimeridian; neighbours share their edges
    assert tile_bbox(1, 0, 0) == pytest.approx((-180.0, 0.0, 0.0, MERCATOR_MAX_LAT), abs=1e-5)
    assert tile_bbox(3, 4, 2)[2] == pytest.approx(tile_bbox(3, 5, 2)[0])
    assert tile_bbox(3, 4, 2)[1] == pytest.approx(tile_bbox(3, 4, 3)[3])
    assert (tile_viewport(2, 1, 1).width, tile_viewport(2, 1, 1).height) == (256, 256)
    for z, x, y in ((1, 2, 0), (1, 0, -1), (-1, 0, 0)):
        with pytest.raises(ValueError, match="does not exist"):
            tile_bbox(z, x, y)


def test_zoom_limits_follow_the_grid_cells():
    # 1/4 degree: zoom 3 pixels (0.18 degrees) are the first no larger than a cell
    assert native_zoom(0.25) == 3 and max_zoom(0.25) == 6
    assert native_zoom(1 / 12) == 5 and max_zoom(1 / 12) == 8
    assert native_zoom(360.0) == 0 and max_zoom(1e-12) == 24


def test_etags_are_strong_and_name_every_part():
    tag = etag(["demo", "thetao", 3, (0.0, 1.0)])
    assert tag.startswith('"') and tag.endswith('"') and not tag.startswith("W/")
    assert tag == etag(["demo", "thetao", 3, (0.0, 1.0)])
    assert tag != etag(["demo", "thetao", 3, (0.0, 2.0)])


def test_a_log_scale_gives_equal_ratios_equal_steps():
    from matplotlib.colors import LogNorm

    scale = ColourScale("algae", (0.01, 10.0), log=True)
    values = np.array([0.01, 0.1, 1.0, 9.99, 20.0, 0.0, -1.0, np.nan])
    index = scale.index(values)
    expected = np.floor(LogNorm(0.01, 10.0)(values[:4]) * LUT_SIZE).clip(0, LUT_SIZE - 1)
    assert list(index[:4]) == list(expected.astype(int))
    assert index[4] == LUT_SIZE - 1 and index[5] == 0 and index[6] == 0  # ends; <= 0: low
    linear = ColourScale("algae", (0.01, 10.0)).index(values)
    assert index[2] > linear[2]  # 1.0 is two thirds up a log scale, a tenth up a linear one
