"""Boxes on grids: :func:`components.core.regions.in_box` takes the cells whose centre is inside."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from components.core import regions
from data_adapters import SourceError, normalize
from tests import synthetic

BOX = (-13.0, 42.0, -8.0, 45.0)


def sheared() -> xr.DataArray:
    """thetao on the sheared NEMO grid: lon = -20 + 2x + 0.5y, lat = 40 + 1.5y + 0.3x."""
    return normalize(synthetic.nemo_curvilinear(), "nemo.nc")["thetao"]


def centres_inside(lon: np.ndarray, lat: np.ndarray, box=BOX) -> np.ndarray:
    west, south, east, north = box
    return (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)


def test_a_curvilinear_box_keeps_exactly_the_cells_whose_centre_is_inside():
    da = sheared()
    inside = centres_inside(da["lon"].values, da["lat"].values)
    assert 0 < inside.sum() < inside.size

    sub = regions.in_box(da, BOX)

    # the smallest block of rows and columns that holds every cell inside...
    rows, cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    assert sub.sizes["y"] == rows[-1] - rows[0] + 1 and sub.sizes["x"] == cols[-1] - cols[0] + 1
    block = inside[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    assert not block.all()  # the sheared grid's block holds cells outside the box
    # ...with values at the cells inside and none at the block's cells outside
    values = sub.isel(time=0, depth=0).values
    want = da.isel(time=0, depth=0).values[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    np.testing.assert_array_equal(values, np.where(block, want, np.nan))
    assert centres_inside(sub["lon"].values[block], sub["lat"].values[block]).all()
    assert "masked" in sub.attrs["comment"] and "W -13, S 42, E -8, N 45" in sub.attrs["comment"]
    assert sub.attrs["units"] == da.attrs["units"]
    assert sub.chunks is not None  # still lazy


def test_a_box_that_holds_whole_rows_and_columns_masks_nothing():
    da = sheared()
    lon, lat = da["lon"].values, da["lat"].values
    box = (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))

    sub = regions.in_box(da, box)

    assert sub.sizes == da.sizes and "comment" not in sub.attrs


def test_a_regular_box_is_exact():
    da = normalize(synthetic.probe_ocean(), "probe.nc")["thetao"]

    sub = regions.in_box(da, (-50.0, -12.0, -30.0, 12.0))

    np.testing.assert_array_equal(sub["lon"], [-47.5, -42.5, -37.5, -32.5])
    np.testing.assert_array_equal(sub["lat"], [-10.0, -5.0, 0.0, 5.0, 10.0])
    assert "comment" not in sub.attrs


def test_a_box_off_the_grid_is_refused():
    with pytest.raises(SourceError, match="no cell centre of the grid lies inside the box"):
        regions.in_box(sheared(), (100.0, 0.0, 110.0, 10.0))
