"""The frame renderer and PNG colouring without a browser: pixels show the source's values.

The fields say where their values were stored (:func:`tests.synthetic.marker`: longitude
east 0-360 plus latitude / 100), so a pixel that shows the wrong cell shows the wrong value.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr
from matplotlib.colors import ListedColormap, Normalize

from components.core.colours import palette
from components.core.frames import Frame, full_extent, render_field
from components.core.geography import (
    LONLAT,
    MERCATOR_HALF_WORLD,
    MERCATOR_MAX_LAT,
    WEB_MERCATOR,
    Viewport,
)
from components.core.png import LUT_SIZE, ColourScale, frame_rgba
from tests import synthetic

#: Earth radius of Web Mercator (m).
MERCATOR_RADIUS = 6378137.0


def regular_field(step: float = 10.0) -> xr.DataArray:
    """marker(lon, lat) on a global regular grid with ``step``° cells."""
    lon = np.arange(-180.0 + step / 2, 180.0, step)
    lat = np.arange(-90.0 + step / 2, 90.0, step)
    values = synthetic.marker(lon[None, :], lat[:, None]).astype("float32")
    return xr.DataArray(values, coords=[("lat", lat), ("lon", lon)], name="thetao")


def rotated_field(lon0: float, lat0: float, ny: int = 12, nx: int = 16) -> xr.DataArray:
    """marker(lon, lat) on a rotated grid (2-D lon/lat on y, x): 2° cells turned by ~14°.

    Cell (y, x) lies at lon0 + 2x + 0.5y, lat0 + 2y - 0.5x, longitudes wrapped to [-180, 180).
    """
    y, x = np.meshgrid(np.arange(float(ny)), np.arange(float(nx)), indexing="ij")
    lon = (lon0 + 2.0 * x + 0.5 * y + 180.0) % 360.0 - 180.0
    lat = lat0 + 2.0 * y - 0.5 * x
    values = synthetic.marker(lon, lat).astype("float32")
    return xr.DataArray(
        values, dims=("y", "x"), coords={"lon": (("y", "x"), lon), "lat": (("y", "x"), lat)}
    )


def mercator_lat(y: np.ndarray) -> np.ndarray:
    """Latitude (degrees) of Web Mercator y (m), from the sphere's formula."""
    return np.degrees(np.arctan(np.sinh(np.asarray(y) / MERCATOR_RADIUS)))


def mercator_y(lat: float) -> float:
    return MERCATOR_RADIUS * math.asinh(math.tan(math.radians(lat)))


def pixel_lon_lat(viewport: Viewport) -> tuple[np.ndarray, np.ndarray]:
    """Longitude (width,) and latitude (height,) of pixel centres, y ascending."""
    (x0, x1), (y0, y1) = viewport.x_range, viewport.y_range
    x = x0 + (np.arange(viewport.width) + 0.5) * (x1 - x0) / viewport.width
    y = y0 + (np.arange(viewport.height) + 0.5) * (y1 - y0) / viewport.height
    if viewport.crs == WEB_MERCATOR:
        return x * 180.0 / MERCATOR_HALF_WORLD, mercator_lat(y)
    return x, y


# -- regular grids --------------------------------------------------------------------------
@pytest.mark.parametrize("crs", [LONLAT, WEB_MERCATOR])
def test_regular_grid_pixel_is_the_source_value_at_a_known_point(crs):
    field = regular_field()
    # a view inside the cell at 25°E 45°N: every pixel shows that cell
    viewport = Viewport.from_bbox((21.0, 41.0, 29.0, 49.0), 16, 12, crs)
    frame = render_field(field, viewport)
    assert frame.values.shape == (12, 16)
    assert frame.values == pytest.approx(np.full((12, 16), 25.45), rel=1e-6)


@pytest.mark.parametrize("crs", [LONLAT, WEB_MERCATOR])
def test_regular_grid_every_pixel_shows_its_cell(crs):
    field = regular_field()
    viewport = Viewport.from_bbox((-70.0, -60.0, 50.0, 60.0), 240, 180, crs)
    frame = render_field(field, viewport)
    lon, lat = pixel_lon_lat(viewport)
    expected = field.sel(lon=lon, lat=lat, method="nearest").transpose("lat", "lon").values
    # pixels straddling a cell edge may show either cell (or their mean); in Mercator the edge
    # sits at the midpoint of the projected centres, within 0.5° of the true one
    half_x = (lon[1] - lon[0]) / 2
    half_y = np.maximum(np.abs(np.gradient(lat)) / 2, 0.5 if crs == WEB_MERCATOR else 0.0)
    near_lon = np.minimum(lon % 10.0, 10.0 - lon % 10.0) < half_x
    near_lat = np.minimum(lat % 10.0, 10.0 - lat % 10.0) < half_y
    checked = ~(near_lon[None, :] | near_lat[:, None])
    assert checked.mean() > 0.8
    np.testing.assert_allclose(frame.values[checked], expected[checked], rtol=1e-6)


def test_mercator_rows_follow_mercator_not_latitude():
    field = regular_field(step=1.0)
    viewport = Viewport.from_bbox((0.0, 0.0, 10.0, 80.0), 10, 80, WEB_MERCATOR)
    frame = render_field(field, viewport)
    # the middle of a 0-80°N Mercator view lies at 57°N, not 40°N
    middle_lat = mercator_lat((mercator_y(0.0) + mercator_y(80.0)) / 2)
    assert middle_lat == pytest.approx(57.045, abs=1e-3)
    # the two rows either side of it show the cells within a degree of 57°N (marker at 5.5°E:
    # 5.5 + 0.56 .. 5.5 + 0.58), where rows linear in latitude would show 40°N (5.5 + 0.40)
    for value in frame.values[39:41, 5]:
        assert 5.5 + 0.555 <= value <= 5.5 + 0.585


def test_frame_is_the_viewport_size_and_reads_only_the_window():
    field = regular_field(step=1.0)  # 360 x 180 cells
    frame = render_field(field, Viewport.from_bbox((-10.0, 40.0, 0.0, 50.0), 50, 40))
    assert frame.values.shape == (40, 50)
    assert frame.cells_read < 0.01 * field.size


def test_dateline_view_stitches_both_ends_of_the_grid():
    field = regular_field()  # columns at 175°E and 175°W are the first and last
    viewport = Viewport.from_bbox((170.0, -10.0, -170.0, 10.0), 20, 10)
    assert viewport.x_range == (170.0, 190.0)
    frame = render_field(field, viewport)
    assert np.isfinite(frame.values).all()
    west, east = frame.values[:, :10], frame.values[:, 10:]
    # south of the equator the -5° row, north of it the +5° row
    assert west[:5] == pytest.approx(np.full((5, 10), 175.0 - 0.05), rel=1e-6)
    assert west[5:] == pytest.approx(np.full((5, 10), 175.0 + 0.05), rel=1e-6)
    assert east[:5] == pytest.approx(np.full((5, 10), 185.0 - 0.05), rel=1e-6)
    assert east[5:] == pytest.approx(np.full((5, 10), 185.0 + 0.05), rel=1e-6)


def test_a_view_panned_round_the_globe_shows_the_same_sea():
    field = regular_field()
    here = render_field(field, Viewport((20.0, 60.0), (0.0, 30.0), 40, 30))
    round_once = render_field(field, Viewport((380.0, 420.0), (0.0, 30.0), 40, 30))
    np.testing.assert_array_equal(round_once.values, here.values)


def test_nan_stays_nan_and_is_transparent():
    field = regular_field()
    field = field.where(~(field["lon"].isin([-55.0, -45.0]) & field["lat"].isin([35.0, 45.0])))
    viewport = Viewport.from_bbox((-60.0, 30.0, -40.0, 50.0), 20, 20)
    frame = render_field(field, viewport)
    # the four land cells fill the view exactly: nothing but NaN, never a smeared mean
    assert np.isnan(frame.values).all()
    wider = render_field(field, Viewport.from_bbox((-70.0, 30.0, -30.0, 50.0), 40, 20))
    land = np.isnan(wider.values)
    assert land[:, 10:30].all() and not land[:, :10].any() and not land[:, 30:].any()
    rgba = frame_rgba(wider, ColourScale("thermal", (0.0, 360.0)))
    assert (rgba[..., 3] == 0).sum() == land.sum()
    assert (rgba[..., 3][::-1][~land] == 255).all()


# -- curvilinear grids ----------------------------------------------------------------------
@pytest.mark.parametrize("crs", [LONLAT, WEB_MERCATOR])
def test_curvilinear_grid_pixel_is_the_source_value(crs):
    field = rotated_field(lon0=-30.0, lat0=30.0)
    lon, lat = float(field["lon"][5, 7]), float(field["lat"][5, 7])
    assert (lon, lat) == (-13.5, 36.5)
    # a view well inside the cell at (y=5, x=7): a quarter of a cell wide
    viewport = Viewport.from_bbox((lon - 0.25, lat - 0.25, lon + 0.25, lat + 0.25), 8, 8, crs)
    frame = render_field(field, viewport)
    assert frame.values == pytest.approx(np.full((8, 8), float(field[5, 7])), rel=1e-6)
    assert float(field[5, 7]) == pytest.approx(346.5 + 0.365)


def test_curvilinear_grid_across_the_dateline_does_not_smear():
    field = rotated_field(lon0=165.0, lat0=-10.0)  # 165°E .. 159.5°W, wrapped to [-180, 180)
    assert field["lon"].min() < -170.0 and field["lon"].max() > 170.0
    # either side of the dateline the cells are there, each with its own value
    for (y, x), (lon, lat) in {(4, 3): (173.0, -3.5), (4, 9): (-175.0, -6.5)}.items():
        assert (float(field["lon"][y, x]), float(field["lat"][y, x])) == (lon, lat)
        viewport = Viewport.from_bbox((lon - 0.25, lat - 0.25, lon + 0.25, lat + 0.25), 4, 4)
        value = float(synthetic.marker(np.array(lon), np.array(lat)))
        assert render_field(field, viewport).values == pytest.approx(np.full((4, 4), value))
    # on the whole globe the grid stays a patch by the dateline: no band across the map
    globe = render_field(field, Viewport((-180.0, 180.0), (-90.0, 90.0), 360, 180))
    filled = np.isfinite(globe.values)
    assert filled.sum() > 100
    west_edges = np.flatnonzero(filled.any(axis=0)) - 180.0  # of the pixel columns with data
    assert ((west_edges % 360.0 >= 162.0) & (west_edges % 360.0 <= 202.0)).all()


# -- colours --------------------------------------------------------------------------------
def test_frame_rgba_uses_the_colour_scale_and_north_is_up():
    scale = ColourScale("thermal", (10.0, 20.0))
    values = np.array([[10.0, 15.0, 20.0], [np.nan, 5.0, 25.0]], dtype="float32")  # y ascending
    frame = Frame(values, Viewport((0.0, 3.0), (0.0, 2.0), 3, 2), cells_read=6)
    rgba = frame_rgba(frame, scale)
    assert rgba.shape == (2, 3, 4) and rgba.dtype == np.uint8
    lut = scale.lut()
    assert lut.shape == (LUT_SIZE, 4)
    # row 0 of the image is the northern row of the frame
    assert rgba[1].tolist() == [lut[0].tolist(), lut[LUT_SIZE // 2].tolist(), lut[-1].tolist()]
    assert rgba[0, 0].tolist() == [0, 0, 0, 0]  # NaN: transparent
    assert rgba[0, 1].tolist() == lut[0].tolist()  # below the range: the low end colour
    assert rgba[0, 2].tolist() == lut[-1].tolist()  # above: the high end
    assert (rgba[..., 3] == np.array([[0, 255, 255], [255, 255, 255]])).all()


def test_colour_scale_agrees_with_the_colour_bar():
    scale = ColourScale("haline", (-2.0, 30.0))
    values = np.linspace(-5.0, 35.0, 2001)
    colour_bar = ListedColormap(palette("haline", LUT_SIZE))(Normalize(-2.0, 30.0)(values))
    expected = np.round(colour_bar * 255).astype(np.uint8)
    np.testing.assert_array_equal(scale.lut()[scale.index(values)], expected)


# -- the first view -------------------------------------------------------------------------
def test_full_extent_of_a_global_grid():
    field = regular_field()
    assert full_extent(field) == (-180.0, -90.0, 180.0, 90.0)
    x0, y0, x1, y1 = full_extent(field, WEB_MERCATOR)
    assert (x0, x1) == pytest.approx((-MERCATOR_HALF_WORLD, MERCATOR_HALF_WORLD))
    # Web Mercator stops at 85.05°N/S: the square world of web maps
    assert (y0, y1) == pytest.approx((-MERCATOR_HALF_WORLD, MERCATOR_HALF_WORLD), rel=1e-6)
    assert mercator_lat(y1) == pytest.approx(MERCATOR_MAX_LAT)


def test_full_extent_of_a_regional_grid_across_the_dateline():
    ds = synthetic.dateline_box()  # 1° cells 170°E..170°W stored 170..190, 10..30°N
    lon = (ds["lon"].values + 180.0) % 360.0 - 180.0
    order = np.argsort(lon)
    field = xr.DataArray(
        ds["thetao"].isel(time=0, depth=0).values[:, order],
        coords=[("lat", ds["lat"].values), ("lon", lon[order])],
    )
    assert full_extent(field) == (169.5, 9.5, 190.5, 30.5)
    frame = render_field(field, Viewport((169.5, 190.5), (9.5, 30.5), 21, 21))
    assert np.isfinite(frame.values).all()  # the whole first view is sea


def test_full_extent_of_a_curvilinear_grid_across_the_dateline():
    field = rotated_field(lon0=165.0, lat0=-10.0)
    x0, y0, x1, y1 = full_extent(field)
    lon = field["lon"].values % 360.0  # continuous east of 165°E
    assert (x0, x1) == pytest.approx((lon.min(), lon.max()))
    assert (y0, y1) == pytest.approx((float(field["lat"].min()), float(field["lat"].max())))
    assert x1 > 180.0  # one view across the dateline, not the whole globe
