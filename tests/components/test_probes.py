"""The probe core (``components.core.probes``, ``regions``, ``fields``, ``tables``) against
values known by construction.

Every field here is a known function of where and when it is stored (:func:`f`), so a
series that reads the wrong cell, level, run or step shows the wrong number. Expected areas
and means are integrals done by hand on a sphere of radius ``R``; expected cells are found
by a brute-force search written here, not by the code under test.
"""

from __future__ import annotations

import io
import math
import threading

import cftime
import dask
import dask.array
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from components.core import fields, probes, regions, tables, timeaxis
from data_adapters import SourceError

R = probes.EARTH_RADIUS_KM
#: Depth levels (m) of the fields built here.
DEPTHS = np.array([0.5, 10.0, 100.0])


# -- fields with known values ---------------------------------------------------------------
def f(lon, lat, step=0, depth=0.5, offset=0.0):
    """The value stored at a cell: ``1000·step + (lon mod 360) + lat/100 + depth/10⁵``.

    Every cell of the grids used here (cells of 1° or more, |lat| < 90), step and level has
    its own value, so a value read from a neighbour is never right by chance.
    """
    return (
        1000.0 * np.asarray(step, float)
        + np.asarray(lon, float) % 360.0
        + np.asarray(lat, float) / 100.0
        + np.asarray(depth, float) / 1e5
        + offset
    )


def regular(
    lon: np.ndarray,
    lat: np.ndarray,
    times: int = 4,
    land: np.ndarray | None = None,
    depths: np.ndarray | None = DEPTHS,
) -> xr.DataArray:
    """``f`` on a regular grid: (time, depth, lat, lon), daily from 2025-01-01, NaN on land."""
    step = np.arange(times)[:, None, None, None]
    depth = (DEPTHS if depths is None else depths)[None, :, None, None]
    values = f(lon[None, None, None, :], lat[None, None, :, None], step, depth)
    if land is not None:
        values = np.where(land[None, None], np.nan, values)
    da = xr.DataArray(
        values,
        dims=("time", "depth", "lat", "lon"),
        coords={
            "time": pd.date_range("2025-01-01", periods=times, freq="D"),
            "depth": DEPTHS if depths is None else depths,
            "lat": lat,
            "lon": lon,
        },
        name="thetao",
        attrs={"units": "degC", "long_name": "Sea water potential temperature"},
    )
    return da.isel(depth=0, drop=True) if depths is None else da


def global_grid(step: float) -> tuple[np.ndarray, np.ndarray]:
    """Cell centres of a global grid of ``step``° cells (edges on whole multiples)."""
    return (
        np.arange(-180.0 + step / 2, 180.0, step),
        np.arange(-90.0 + step / 2, 90.0, step),
    )


def rotate(lon_r, lat_r, tilt: float, turn: float) -> tuple[np.ndarray, np.ndarray]:
    """Geographic lon, lat of points given in a rotated frame.

    The frame's (0, 0) moves to latitude ``tilt`` and longitude ``turn``: a rotation of the
    sphere, so the grid keeps its shape and its cells their area.
    """
    lam, phi = np.radians(lon_r), np.radians(lat_r)
    v = np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)], axis=-1)
    a, b = math.radians(tilt), math.radians(turn)
    about_y = np.array([[math.cos(a), 0, -math.sin(a)], [0, 1, 0], [math.sin(a), 0, math.cos(a)]])
    about_z = np.array([[math.cos(b), -math.sin(b), 0], [math.sin(b), math.cos(b), 0], [0, 0, 1]])
    w = v @ (about_z @ about_y).T
    lon = np.degrees(np.arctan2(w[..., 1], w[..., 0]))
    lat = np.degrees(np.arcsin(np.clip(w[..., 2], -1.0, 1.0)))
    return (lon + 180.0) % 360.0 - 180.0, lat


#: The rotated grid: 1° cells in its own frame, centres -10..10 by -8..8, tilted to 50°N and
#: turned to 175°E, so that it crosses the dateline.
ROTATED_LON = np.arange(-10.0, 10.5, 1.0)
ROTATED_LAT = np.arange(-8.0, 8.5, 1.0)


def rotated(times: int = 3) -> xr.DataArray:
    """``f`` on the rotated (curvilinear) grid: (time, depth, y, x) with 2-D lon/lat."""
    lat_r, lon_r = np.meshgrid(ROTATED_LAT, ROTATED_LON, indexing="ij")
    lon, lat = rotate(lon_r, lat_r, tilt=50.0, turn=175.0)
    step = np.arange(times)[:, None, None, None]
    values = f(lon[None, None], lat[None, None], step, DEPTHS[None, :, None, None])
    return xr.DataArray(
        values,
        dims=("time", "depth", "y", "x"),
        coords={
            "time": pd.date_range("2025-01-01", periods=times, freq="D"),
            "depth": DEPTHS,
            "lon": (("y", "x"), lon),
            "lat": (("y", "x"), lat),
        },
        name="thetao",
        attrs={"units": "degC"},
    )


def haversine_km(lon1, lat1, lon2, lat2):
    """Great-circle distance on the sphere of radius R (the test's own formula)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * R * np.arcsin(np.sqrt(h))


def nearest_by_search(lon2d, lat2d, lon, lat, sea=None) -> tuple[int, int]:
    """(j, i) of the nearest centre (of the sea cells, if given), by trying every cell."""
    d = haversine_km(lon2d, lat2d, lon, lat)
    if sea is not None:
        d = np.where(sea, d, np.inf)
    j, i = np.unravel_index(int(np.argmin(d)), d.shape)
    return int(j), int(i)


# -- the cell at a point --------------------------------------------------------------------
def test_point_series_is_f_at_the_cell_holding_the_point():
    da = regular(np.arange(-30.0, 31.0, 2.0), np.arange(-20.0, 21.0, 2.0))

    cell = probes.nearest_ocean_cell(da, -13.2, 6.9)

    assert (cell.lon, cell.lat) == (-14.0, 6.0)  # the centres nearest -13.2 and 6.9
    assert cell.index == {"lat": 13, "lon": 8}
    assert not cell.snapped
    assert cell.distance_km == pytest.approx(haversine_km(-13.2, 6.9, -14.0, 6.0), rel=1e-9)
    series = probes.point_series(da, cell)
    assert series.dims == ("time",)
    np.testing.assert_allclose(series.values, f(-14.0, 6.0, np.arange(4), 0.5), rtol=1e-14)
    assert float(series["lon"]) == -14.0 and float(series["lat"]) == 6.0
    assert series.attrs["units"] == "degC"


def test_point_series_on_a_rotated_grid_reads_the_nearest_centre():
    da = rotated()
    lon2d, lat2d = da["lon"].values, da["lat"].values
    # a point between centres, near the middle of the grid (east of the dateline)
    lon, lat = float(lon2d[8, 14]) + 0.3, float(lat2d[8, 14]) - 0.2
    j, i = nearest_by_search(lon2d, lat2d, lon, lat)

    cell = probes.nearest_ocean_cell(da, lon, lat)

    assert cell.index == {"y": j, "x": i}
    assert (cell.lon, cell.lat) == (lon2d[j, i], lat2d[j, i])
    series = probes.point_series(da, cell, depth=100.0)
    np.testing.assert_allclose(series.values, f(cell.lon, cell.lat, np.arange(3), 100.0))


@pytest.mark.parametrize("lon", [179.6, -179.6, 180.4, -180.4 + 360.0])
def test_rotated_grid_across_the_dateline_is_one_grid(lon):
    """179.6°E and 179.6°W are 90 km apart, not 359°: both are inside the rotated grid."""
    da = rotated()
    lon2d, lat2d = da["lon"].values, da["lat"].values
    lat = 52.0
    j, i = nearest_by_search(lon2d, lat2d, lon, lat)

    cell = probes.nearest_ocean_cell(da, lon, lat)

    assert cell.index == {"y": j, "x": i}
    assert cell.distance_km < 100.0  # within one 1° cell of a centre


def test_cell_names_its_centre_in_the_csv_header_and_label():
    cell = probes.Cell(index={"lat": 0, "lon": 0}, lon=-179.958333333, lat=20.125)

    assert cell.header() == "lon=-179.958333,lat=20.125"
    assert cell.header(10.0) == "lon=-179.958333,lat=20.125,depth=10"
    assert cell.label(0.5) == "lon=-179.958333, lat=20.125, depth=0.5 m"
    assert probes.Cell(index={}, lon=-0.0, lat=0.0).header() == "lon=0,lat=0"


# -- land -----------------------------------------------------------------------------------
def island_grid() -> tuple[xr.DataArray, np.ndarray]:
    """1° cells, lon 0..20, lat 0..20, with land on lon 8..12 x lat 8..12 (centres)."""
    lon = lat = np.arange(0.0, 21.0, 1.0)
    land = (np.abs(lat[:, None] - 10) <= 2) & (np.abs(lon[None, :] - 10) <= 2)
    return regular(lon, lat, land=land), land


def test_a_point_on_land_moves_to_the_nearest_sea_cell():
    da, _ = island_grid()
    # on the island's east coast cell (12, 10): sea is one cell east, at 13°E
    cell = probes.nearest_ocean_cell(da, 12.3, 10.1)

    assert cell.snapped
    assert (cell.lon, cell.lat) == (13.0, 10.0)
    assert cell.distance_km == pytest.approx(haversine_km(12.3, 10.1, 13.0, 10.0), rel=1e-9)
    np.testing.assert_allclose(probes.point_series(da, cell).values, f(13, 10, np.arange(4)))


def test_snapping_picks_the_nearest_sea_cell_by_great_circle_distance():
    """At 60°N a step east is half as long as a step north: the sea cell two columns east
    is nearer than the one two rows north (an index count would call them a tie)."""
    lon, lat = np.arange(0.0, 11.0, 1.0), np.arange(55.0, 66.0, 1.0)
    land = np.zeros((lat.size, lon.size), dtype=bool)
    land[4:7, 4:7] = True  # lon 4..6, lat 59..61; the point's cell is (5, 60)
    da = regular(lon, lat, land=land)
    mesh_lon, mesh_lat = np.meshgrid(lon, lat)
    j, i = nearest_by_search(mesh_lon, mesh_lat, 5.0, 60.0, sea=~land)

    cell = probes.nearest_ocean_cell(da, 5.0, 60.0)

    assert (cell.lon, cell.lat) == (lon[i], lat[j])
    assert cell.lat == 60.0 and cell.lon in (3.0, 7.0)  # east or west, never north or south


def test_a_point_on_land_of_a_rotated_grid_moves_to_the_nearest_sea_cell():
    da = rotated()
    lon2d, lat2d = da["lon"].values, da["lat"].values
    land = np.zeros(lon2d.shape, dtype=bool)
    land[6:11, 12:17] = True  # 5 x 5 cells straddling the dateline
    da = da.where(~xr.DataArray(land, dims=("y", "x")))
    lon, lat = float(lon2d[8, 15]) + 0.2, float(lat2d[8, 15]) + 0.1  # near the patch's east
    j, i = nearest_by_search(lon2d, lat2d, lon, lat, sea=~land)

    cell = probes.nearest_ocean_cell(da, lon, lat)

    assert cell.snapped
    assert cell.index == {"y": j, "x": i}
    np.testing.assert_allclose(
        probes.point_series(da, cell).values, f(lon2d[j, i], lat2d[j, i], np.arange(3))
    )


def test_land_with_no_sea_within_snap_cells_is_refused():
    lon = lat = np.arange(0.0, 21.0, 1.0)
    land = (np.abs(lat[:, None] - 10) <= probes.SNAP_CELLS) & (
        np.abs(lon[None, :] - 10) <= probes.SNAP_CELLS
    )
    da = regular(lon, lat, land=land)

    with pytest.raises(SourceError, match=r"on land.*more than 3 cells"):
        probes.nearest_ocean_cell(da, 10.2, 9.8)
    # one more cell of reach finds the sea
    assert probes.nearest_ocean_cell(da, 10.2, 9.8, snap_cells=4).snapped


def test_snapping_goes_across_the_dateline_on_a_global_grid():
    lon, lat = global_grid(5.0)
    land = (lon[None, :] > 160) & (np.abs(lat[:, None]) < 20)  # 162.5..177.5 E, near the equator
    da = regular(lon, lat, land=land, depths=None)

    cell = probes.nearest_ocean_cell(da, 179.9, 2.0)

    # 177.5 E is land; the nearest sea is the first column west of the dateline's other side
    assert (cell.lon, cell.lat) == (-177.5, 2.5)
    assert cell.distance_km == pytest.approx(haversine_km(179.9, 2.0, -177.5, 2.5), rel=1e-9)


def dateline_region() -> tuple[np.ndarray, np.ndarray]:
    """A regional grid 170°E..170°W, 1° cells, stored ascending as the contract has it:
    -180..-170 then 170..179 (a 340° jump between two neighbouring columns)."""
    lon = np.concatenate([np.arange(-180.0, -169.5, 1.0), np.arange(170.0, 179.5, 1.0)])
    return lon, np.arange(10.0, 15.0, 1.0)


def test_snapping_on_a_regional_dateline_grid_never_jumps_its_gap():
    """Columns -170 and 170 sit side by side in the array but 20° apart on the map."""
    lon, lat = dateline_region()
    land = np.broadcast_to((lon >= -176.0) & (lon <= -170.0), (lat.size, lon.size))
    da = regular(lon, lat, land=land, depths=None)

    with pytest.raises(SourceError, match="on land"):
        probes.nearest_ocean_cell(da, -170.4, 12.0)  # sea only at 170..179 E, 1900 km away


def test_snapping_on_a_regional_dateline_grid_reaches_over_the_dateline():
    lon, lat = dateline_region()
    land = np.broadcast_to((lon >= -180.0) & (lon <= -175.0), (lat.size, lon.size))
    da = regular(lon, lat, land=land, depths=None)

    cell = probes.nearest_ocean_cell(da, -179.6, 12.0)

    assert (cell.lon, cell.lat) == (179.0, 12.0)  # 1.4° west, across the dateline


# -- outside the grid -----------------------------------------------------------------------
def test_a_point_more_than_one_cell_off_the_grid_is_outside():
    da = regular(np.arange(0.0, 21.0, 2.0), np.arange(40.0, 51.0, 2.0))  # 2° cells

    with pytest.raises(SourceError, match=r"\(23\.5, 45\) is outside the grid"):
        probes.nearest_ocean_cell(da, 23.5, 45.0)  # 3.5° east of the last centre
    with pytest.raises(SourceError, match="outside the grid"):
        probes.nearest_ocean_cell(da, 10.0, 37.0)
    with pytest.raises(SourceError, match="outside the grid"):
        probes.nearest_ocean_cell(da, -170.0, 45.0)
    # within one cell of the edge cells: still the grid (the edge cell's own half and more)
    assert probes.nearest_ocean_cell(da, 21.5, 45.0).lon == 20.0
    assert probes.nearest_ocean_cell(da, 10.0, 38.5).lat == 40.0


def test_the_dateline_is_no_edge_of_a_global_grid():
    lon, lat = global_grid(5.0)
    da = regular(lon, lat, depths=None)

    east = probes.nearest_ocean_cell(da, 179.9, 0.0)
    west = probes.nearest_ocean_cell(da, -179.9, 0.0)

    assert (east.lon, west.lon) == (177.5, -177.5)
    assert east.index["lon"] == lon.size - 1 and west.index["lon"] == 0
    # neighbours: one cell apart on the map
    assert haversine_km(east.lon, 0, west.lon, 0) == pytest.approx(haversine_km(0, 0, 5, 0))


def test_a_global_grid_starting_at_the_dateline_takes_points_just_west_of_it():
    lon = np.arange(-180.0, 180.0, 10.0)  # -180, -170, ..., 170
    da = regular(lon, np.arange(-80.0, 81.0, 10.0), depths=None)

    assert probes.nearest_ocean_cell(da, 179.9, 0.0).lon == -180.0
    assert probes.nearest_ocean_cell(da, 176.0, 0.0).lon == -180.0
    assert probes.nearest_ocean_cell(da, 174.0, 0.0).lon == 170.0


def test_a_regional_dateline_grid_has_its_gap_outside():
    lon, lat = dateline_region()
    da = regular(lon, lat, depths=None)

    assert probes.nearest_ocean_cell(da, 169.3, 12.0).lon == 170.0
    assert probes.nearest_ocean_cell(da, -169.3, 12.0).lon == -170.0
    with pytest.raises(SourceError, match="outside the grid"):
        probes.nearest_ocean_cell(da, 0.0, 12.0)
    with pytest.raises(SourceError, match="outside the grid"):
        probes.nearest_ocean_cell(da, 168.5, 12.0)


def test_a_point_off_a_rotated_grid_is_outside():
    da = rotated()

    with pytest.raises(SourceError, match="outside the grid"):
        probes.nearest_ocean_cell(da, 175.0, 30.0)  # 12° south of the grid's southern edge
    with pytest.raises(SourceError, match="outside the grid"):
        probes.nearest_ocean_cell(da, -5.0, 50.0)


@pytest.mark.parametrize(("lon", "lat"), [(0.0, 91.0), (float("nan"), 0.0), (0.0, float("inf"))])
def test_a_point_that_is_no_place_is_refused(lon, lat):
    with pytest.raises(SourceError, match="not a longitude/latitude"):
        probes.nearest_ocean_cell(regular(*global_grid(10.0), depths=None), lon, lat)


# -- cell areas -----------------------------------------------------------------------------
@pytest.mark.parametrize("step", [10.0, 1.0, 0.25])
def test_cell_areas_of_a_global_grid_sum_to_the_sphere(step):
    area = regions.cell_area_km2(regular(*global_grid(step), times=1, depths=None))

    assert area.attrs["units"] == "km2"
    assert area.dims == ("lat", "lon")
    assert float(area.sum()) == pytest.approx(4 * math.pi * R**2, rel=1e-12)


def test_cell_areas_with_centres_on_the_poles_sum_to_the_sphere():
    lon = np.arange(-180.0, 180.0, 2.0)
    lat = np.arange(-90.0, 90.5, 2.0)  # rows centred on the poles: half rows there
    area = regions.cell_area_km2(regular(lon, lat, times=1, depths=None))

    assert float(area.sum()) == pytest.approx(4 * math.pi * R**2, rel=1e-12)


def test_a_band_of_rows_has_the_area_of_its_zone():
    lon, lat = global_grid(5.0)
    area = regions.cell_area_km2(regular(lon, lat, times=1, depths=None))

    band = area.sel(lat=slice(12.0, 28.0))  # rows 12.5..27.5: edges 10 and 30°N
    zone = 2 * math.pi * R**2 * (math.sin(math.radians(30)) - math.sin(math.radians(10)))
    assert float(band.sum()) == pytest.approx(zone, rel=1e-12)
    # one cell: its share of the zone
    assert float(band.isel(lat=0, lon=0)) == pytest.approx(
        R**2 * math.radians(5) * (math.sin(math.radians(15)) - math.sin(math.radians(10))),
        rel=1e-12,
    )


def test_a_regional_grid_has_the_area_of_its_box():
    """1° cells centred 0.5..9.5 by 0.5..9.5: the box 0..10°E, 0..10°N."""
    centres = np.arange(0.5, 10.0, 1.0)
    area = regions.cell_area_km2(regular(centres, centres, times=1, depths=None))

    box = R**2 * math.radians(10) * math.sin(math.radians(10))
    assert float(area.sum()) == pytest.approx(box, rel=1e-12)


def test_a_regional_dateline_grid_has_the_area_of_its_box():
    lon, lat = dateline_region()  # centres 170..180..190 (= -170), lat 10..14
    area = regions.cell_area_km2(regular(lon, lat, times=1, depths=None))

    edges = math.sin(math.radians(14.5)) - math.sin(math.radians(9.5))
    assert float(area.sum()) == pytest.approx(R**2 * math.radians(21) * edges, rel=1e-12)


def test_rotated_grid_areas_match_the_same_grid_unrotated():
    """Rotating the sphere keeps areas, so each cell has the area of a 1° x 1° regular cell
    at its latitude in the rotated frame: ``R² · 1° · (sin φ2 - sin φ1)``. The corners are
    estimated from the centres (the contract keeps no bounds): within 0.05 % per cell."""
    area = regions.cell_area_km2(rotated()).values
    lat_r = np.radians(ROTATED_LAT)[:, None] + 0 * ROTATED_LON[None, :]
    half = math.radians(0.5)
    exact = R**2 * math.radians(1.0) * (np.sin(lat_r + half) - np.sin(lat_r - half))

    np.testing.assert_allclose(area, exact, rtol=5e-4)
    assert area.sum() == pytest.approx(exact.sum(), rel=1e-4)


def test_a_regular_grid_stored_2d_has_the_regular_areas():
    lon, lat = np.arange(-20.0, -9.5, 0.5), np.arange(40.0, 50.5, 0.5)
    lat2d, lon2d = np.meshgrid(lat, lon, indexing="ij")
    curvilinear = xr.DataArray(
        np.ones(lon2d.shape),
        dims=("y", "x"),
        coords={"lon": (("y", "x"), lon2d), "lat": (("y", "x"), lat2d)},
    )
    box = (
        R**2 * math.radians(10.5) * (math.sin(math.radians(50.25)) - math.sin(math.radians(39.75)))
    )

    assert float(regions.cell_area_km2(curvilinear).sum()) == pytest.approx(box, rel=1e-4)


# -- regions --------------------------------------------------------------------------------
def test_dateline_box_selects_both_sides_and_nothing_between():
    lon, lat = global_grid(5.0)
    da = regular(lon, lat, depths=None)

    mask = regions.region_mask(da, bbox=(170.0, -12.0, -165.0, 12.0))

    columns = set(lon[mask.any("lat").values])
    assert columns == {172.5, 177.5, -177.5, -172.5, -167.5}
    rows = set(lat[mask.any("lon").values])
    assert rows == {-7.5, -2.5, 2.5, 7.5}
    assert int(mask.sum()) == 5 * 4  # the whole block, nothing else


def test_a_box_past_the_dateline_is_the_same_box():
    """A map panned east of 180° gives 170..195: the same box as 170..-165."""
    lon, lat = global_grid(5.0)
    da = regular(lon, lat, depths=None)
    wrapped = regions.region_mask(da, bbox=(170.0, -12.0, -165.0, 12.0))

    for box in [(170.0, -12.0, 195.0, 12.0), (-190.0, -12.0, -165.0, 12.0)]:
        assert (regions.region_mask(da, bbox=box).values == wrapped.values).all(), box
    assert bool(regions.region_mask(da, bbox=(-180.0, -90.0, 180.0, 90.0)).all())
    assert bool(regions.region_mask(da, bbox=(10.0, -90.0, 370.0, 90.0)).all())


def test_box_edges_are_inclusive():
    da = regular(np.arange(0.0, 11.0, 1.0), np.arange(0.0, 11.0, 1.0), depths=None)

    mask = regions.region_mask(da, bbox=(2.0, 3.0, 4.0, 5.0))

    assert int(mask.sum()) == 9  # centres 2, 3, 4 by 3, 4, 5


def test_a_region_with_no_cell_centre_is_refused():
    da = regular(np.arange(0.0, 11.0, 1.0), np.arange(0.0, 11.0, 1.0), depths=None)

    with pytest.raises(SourceError, match="no cell centre"):
        regions.region_mask(da, bbox=(2.2, 3.2, 2.8, 3.8))
    with pytest.raises(SourceError, match="no cell centre"):
        regions.region_mask(da, bbox=(50.0, 0.0, 60.0, 10.0))


def test_polygon_selects_the_cells_inside_it():
    lon = lat = np.arange(0.5, 20.0, 1.0)
    da = regular(lon, lat, depths=None)
    # centres are at half degrees, so none lies on an edge: x + y is a whole number
    triangle = [(2.0, 2.0), (18.3, 2.0), (2.0, 18.3)]

    mask = regions.region_mask(da, polygon=triangle)

    mesh_lon, mesh_lat = np.meshgrid(lon, lat)
    expected = (mesh_lon > 2) & (mesh_lat > 2) & (mesh_lon + mesh_lat < 20.3)
    assert (mask.values == expected).all()


@pytest.mark.parametrize(
    "square",
    [
        [(170.0, -12.0), (-165.0, -12.0), (-165.0, 12.0), (170.0, 12.0)],
        [(170.0, -12.0), (195.0, -12.0), (195.0, 12.0), (170.0, 12.0), (170.0, -12.0)],
    ],
)
def test_polygon_across_the_dateline(square):
    lon, lat = global_grid(5.0)
    da = regular(lon, lat, depths=None)

    mask = regions.region_mask(da, polygon=square)

    box = regions.region_mask(da, bbox=(170.0, -12.0, -165.0, 12.0))
    assert (mask.values == box.values).all()


def test_box_and_polygon_together_take_the_cells_in_both():
    lon = lat = np.arange(0.5, 20.0, 1.0)
    da = regular(lon, lat, depths=None)

    mask = regions.region_mask(
        da, bbox=(0.0, 0.0, 10.0, 20.0), polygon=[(5, 0), (20, 0), (20, 20), (5, 20)]
    )

    assert set(lon[mask.any("lat").values]) == {5.5, 6.5, 7.5, 8.5, 9.5}


def test_region_on_a_rotated_grid_uses_its_2d_centres():
    da = rotated()
    lon2d, lat2d = da["lon"].values, da["lat"].values

    mask = regions.region_mask(da, bbox=(175.0, 45.0, -175.0, 55.0))

    expected = ((lon2d >= 175) | (lon2d <= -175)) & (lat2d >= 45) & (lat2d <= 55)
    assert expected.any() and not expected.all()
    assert mask.dims == ("y", "x")
    assert (mask.values == expected).all()


def test_area_mean_of_a_constant_field_is_that_constant():
    lon, lat = global_grid(2.0)
    land = (lon[None, :] > 0) & (lon[None, :] < 20) & (lat[:, None] > 30)
    da = regular(lon, lat, land=land, depths=None) * 0 + 7.25
    mask = regions.region_mask(da, bbox=(-30.0, -60.0, 40.0, 70.0))  # over the land too

    out = regions.area_series(da, mask).compute()

    assert out["mean"].dims == ("time",)
    np.testing.assert_allclose(out["mean"].values, 7.25, rtol=1e-14)
    np.testing.assert_allclose(out["min"].values, 7.25)
    np.testing.assert_allclose(out["max"].values, 7.25)


def band_mean(g_integral, lat1: float, lat2: float) -> float:
    """Area-weighted mean over the zone lat1..lat2 of a field of latitude, by hand:
    ∫ g cos φ dφ / ∫ cos φ dφ, with ``g_integral(φ)`` an antiderivative of g(φ)·cos φ."""
    a, b = math.radians(lat1), math.radians(lat2)
    return (g_integral(b) - g_integral(a)) / (math.sin(b) - math.sin(a))


def zonal_field(lon: np.ndarray, lat: np.ndarray, g) -> xr.DataArray:
    """g(latitude in degrees) on a regular grid, 2 daily steps, no depth."""
    values = np.broadcast_to(g(lat)[None, :, None], (2, lat.size, lon.size))
    return xr.DataArray(
        values,
        dims=("time", "lat", "lon"),
        coords={"time": pd.date_range("2025-01-01", periods=2), "lat": lat, "lon": lon},
        name="g",
    )


def test_area_mean_of_latitude_weights_cells_by_their_area():
    """Mean latitude over 0..60°N, by area: 26.92°, where the unweighted mean is 30°."""
    lon, lat = np.arange(-29.75, 30.0, 0.5), np.arange(0.25, 60.0, 0.5)
    da = zonal_field(lon, lat, lambda phi: phi)
    mask = regions.region_mask(da, bbox=(-30.0, 0.0, 30.0, 60.0))

    mean = regions.area_series(da, mask)["mean"].values

    # ∫ φ cos φ dφ = φ sin φ + cos φ (radians)
    expected = math.degrees(band_mean(lambda p: p * math.sin(p) + math.cos(p), 0.0, 60.0))
    np.testing.assert_allclose(mean, expected, atol=0.005)
    assert abs(expected - 30.0) > 3  # what an unweighted mean would give is far off


def test_area_mean_of_cos_latitude_over_a_band():
    lon, lat = global_grid(1.0)
    da = zonal_field(lon, lat, lambda phi: np.cos(np.radians(phi)))
    mask = regions.region_mask(da, bbox=(-180.0, -20.0, 180.0, 70.0))

    mean = regions.area_series(da, mask)["mean"].values

    # rows 19.5°S..69.5°N: edges -20 and 70; ∫ cos² φ dφ = φ/2 + sin 2φ / 4
    expected = band_mean(lambda p: p / 2 + math.sin(2 * p) / 4, -20.0, 70.0)
    np.testing.assert_allclose(mean, expected, rtol=1e-4)


def test_area_mean_is_exact_for_cell_means():
    """Rows holding the area mean of sin φ over themselves, (sin φ1 + sin φ2) / 2, add up to
    the zone's mean (sin a + sin b) / 2 exactly: the weights are the cells' true areas."""
    lat = np.arange(-9.0, 40.0, 2.0)  # rows 2° tall: edges -10, -8, ..., 40
    edges = np.radians(np.arange(-10.0, 41.0, 2.0))
    cell_means = (np.sin(edges[:-1]) + np.sin(edges[1:])) / 2
    da = zonal_field(np.arange(100.5, 110.0, 1.0), lat, lambda _: cell_means)
    mask = regions.region_mask(da, bbox=(100.0, -10.0, 110.0, 40.0))

    mean = regions.area_series(da, mask)["mean"].values

    expected = (math.sin(math.radians(-10.0)) + math.sin(math.radians(40.0))) / 2
    np.testing.assert_allclose(mean, expected, rtol=1e-12)


def test_area_series_over_a_dateline_box():
    """Equal areas east and west of the dateline, values 1 and 3: mean 2, band 1..3."""
    lon, lat = global_grid(5.0)
    values = np.where(lon > 0, 1.0, 3.0)
    da = zonal_field(lon, lat, lambda phi: phi * 0).copy(data=np.broadcast_to(values, (2, 36, 72)))
    mask = regions.region_mask(da, bbox=(170.0, -10.0, -170.0, 10.0))

    out = regions.area_series(da, mask).compute()

    np.testing.assert_allclose(out["mean"].values, 2.0, rtol=1e-14)
    np.testing.assert_allclose(out["min"].values, 1.0)
    np.testing.assert_allclose(out["max"].values, 3.0)


def test_area_series_leaves_out_land_and_gives_nan_with_no_sea():
    lon = lat = np.arange(0.5, 4.0, 1.0)
    da = regular(lon, lat, times=2, depths=None)
    da[0] = np.nan  # the first step: no data anywhere
    da[1, :, :2] = np.nan  # the second: land on the first two columns
    mask = regions.region_mask(da, bbox=(0.0, 0.0, 4.0, 4.0))

    out = regions.area_series(da, mask).compute()

    assert np.isnan(out["mean"].values[0]) and np.isnan(out["min"].values[0])
    sea = f(lon[None, 2:], lat[:, None], 1)
    area = np.diff(np.sin(np.radians(np.arange(0.0, 5.0, 1.0))))[:, None]  # per row, same widths
    expected = float((sea * area).sum() / (area.sum() * 2))
    assert float(out["mean"].values[1]) == pytest.approx(expected, rel=1e-12)
    assert float(out["min"].values[1]) == pytest.approx(sea.min())
    assert float(out["max"].values[1]) == pytest.approx(sea.max())


def test_area_series_of_every_run_and_its_csv():
    da = regular(np.arange(0.5, 4.0, 1.0), np.arange(0.5, 4.0, 1.0), times=2, depths=None)
    runs = xr.concat([da, da + 1.5], dim=pd.Index(["baseline", "warming"], name="scenario"))
    mask = regions.region_mask(da, bbox=(0.0, 0.0, 2.0, 2.0))

    out = regions.area_series(runs, mask, scenario="all").compute()
    buffer = io.StringIO()
    tables.to_csv(out, buffer, "region W 0, S 0, E 2, N 2")

    np.testing.assert_allclose(
        out["mean"].sel(scenario="warming") - out["mean"].sel(scenario="baseline"), 1.5
    )
    lines = buffer.getvalue().splitlines()
    assert lines[0] == "# region W 0, S 0, E 2, N 2"
    assert lines[1] == (
        "time,mean_baseline,mean_warming,min_baseline,min_warming,max_baseline,max_warming"
    )
    assert len(lines) == 2 + 2


def test_region_stats_by_hand_on_a_tiny_grid():
    """Two rows (0..10°N, 10..20°N) of three 10° cells, one cell land."""
    lon, lat = np.array([5.0, 15.0, 25.0]), np.array([5.0, 15.0])
    values = np.array([[1.0, 2.0, np.nan], [4.0, 5.0, 6.0]])
    da = xr.DataArray(values, dims=("lat", "lon"), coords={"lat": lat, "lon": lon})
    mask = regions.region_mask(da, bbox=(0.0, 0.0, 30.0, 20.0))

    stats = regions.region_stats(da, mask)

    s0, s10, s20 = (math.sin(math.radians(x)) for x in (0, 10, 20))
    low, high = R**2 * math.radians(10) * (s10 - s0), R**2 * math.radians(10) * (s20 - s10)
    weights = np.array([low, low, high, high, high])
    v = np.array([1.0, 2.0, 4.0, 5.0, 6.0])
    mean = (v * weights).sum() / weights.sum()
    assert stats["cells"] == 5
    assert stats["ocean_area_km2"] == pytest.approx(2 * low + 3 * high, rel=1e-12)
    assert stats["mean"] == pytest.approx(mean, rel=1e-12)
    assert (stats["min"], stats["max"]) == (1.0, 6.0)
    std = math.sqrt((weights * (v - mean) ** 2).sum() / weights.sum())
    assert stats["std"] == pytest.approx(std, rel=1e-12)
    # a box over the land cell alone holds no sea
    with pytest.raises(SourceError, match="no sea cell"):
        regions.region_stats(da, regions.region_mask(da, bbox=(20.0, 0.0, 30.0, 10.0)))


def test_region_stats_on_a_rotated_grid():
    """A constant field: its mean, no spread, and the grid's area (rotating keeps areas)."""
    da = rotated().isel(time=0, depth=0) * 0 + 4.5

    stats = regions.region_stats(da, regions.region_mask(da))

    assert (stats["mean"], stats["min"], stats["max"]) == pytest.approx((4.5, 4.5, 4.5))
    assert stats["std"] == pytest.approx(0.0, abs=1e-12)
    assert stats["cells"] == ROTATED_LON.size * ROTATED_LAT.size
    zone = math.sin(math.radians(8.5)) - math.sin(math.radians(-8.5))
    assert stats["ocean_area_km2"] == pytest.approx(R**2 * math.radians(21) * zone, rel=1e-4)


def test_a_region_drawn_on_another_grid_is_refused():
    coarse = regular(*global_grid(10.0), depths=None)
    fine = regular(*global_grid(5.0), depths=None)
    mask = regions.region_mask(coarse, bbox=(0.0, 0.0, 30.0, 30.0))

    with pytest.raises(SourceError, match="another grid"):
        regions.area_series(fine, mask)
    with pytest.raises(SourceError, match="another grid"):
        regions.region_stats(fine.isel(time=0), mask)


def test_region_stats_needs_one_map():
    da = regular(np.arange(0.5, 4.0, 1.0), np.arange(0.5, 4.0, 1.0), depths=None)

    with pytest.raises(SourceError, match="one map"):
        regions.region_stats(da, regions.region_mask(da))


# -- profiles and sections ------------------------------------------------------------------
def test_profile_is_f_against_depth_at_the_cell_and_step():
    da = regular(np.arange(0.0, 11.0, 1.0), np.arange(0.0, 11.0, 1.0), times=3)
    cell = probes.nearest_ocean_cell(da, 4.2, 7.7)

    profile = probes.profile(da, cell, time_index=2)

    assert profile.dims == ("depth",)
    np.testing.assert_allclose(profile["depth"].values, DEPTHS)
    np.testing.assert_allclose(profile.values, f(4.0, 8.0, 2, DEPTHS))
    np.testing.assert_allclose(probes.profile(da, cell, -1).values, profile.values)
    with pytest.raises(SourceError, match=r"outside 0\.\.2"):
        probes.profile(da, cell, time_index=3)
    with pytest.raises(SourceError, match="no depth levels"):
        probes.profile(da.isel(depth=0), cell, 0)


def test_section_is_time_by_depth_at_the_cell():
    da = regular(np.arange(0.0, 11.0, 1.0), np.arange(0.0, 11.0, 1.0), times=4)
    cell = probes.nearest_ocean_cell(da, 4.2, 7.7)

    section = probes.section(da, cell, start="2025-01-02", end="2025-01-03")

    assert section.dims == ("time", "depth")
    assert section.shape == (2, DEPTHS.size)
    np.testing.assert_allclose(section.values, f(4.0, 8.0, np.arange(1, 3)[:, None], DEPTHS))
    with pytest.raises(SourceError, match="needs time and depth"):
        probes.section(da.isel(time=0), cell)


def test_section_of_every_run():
    da = regular(np.arange(0.0, 11.0, 1.0), np.arange(0.0, 11.0, 1.0), times=2)
    runs = xr.concat([da, da + 3.0], dim=pd.Index(["baseline", "heatwave"], name="scenario"))
    cell = probes.nearest_ocean_cell(da, 4.2, 7.7)

    section = probes.section(runs, cell, scenario="all")

    assert section.dims == ("time", "depth", "scenario")
    np.testing.assert_allclose(
        section.sel(scenario="heatwave") - section.sel(scenario="baseline"), 3
    )


def test_profile_writes_as_depth_value_csv():
    da = regular(np.arange(0.0, 11.0, 1.0), np.arange(0.0, 11.0, 1.0), times=1)
    cell = probes.nearest_ocean_cell(da, 4.0, 8.0)
    buffer = io.StringIO()

    tables.to_csv(probes.profile(da, cell, 0), buffer, cell.header())

    lines = buffer.getvalue().splitlines()
    assert lines[:2] == ["# lon=4,lat=8", "depth,value"]
    assert [line.split(",")[0] for line in lines[2:]] == ["0.5", "10", "100"]
    np.testing.assert_allclose(
        [float(line.split(",")[1]) for line in lines[2:]], f(4, 8, 0, DEPTHS)
    )


# -- choosing run, level and period ---------------------------------------------------------
def with_runs(da: xr.DataArray) -> xr.DataArray:
    offsets = xr.DataArray([0.0, 1.5, 3.0], dims="scenario")
    out = (da + offsets).assign_coords(scenario=["baseline", "warming_1p5", "heatwave"])
    return out.transpose("scenario", ...).rename(da.name).assign_attrs(da.attrs)


def small() -> xr.DataArray:
    return regular(np.arange(0.0, 5.0, 1.0), np.arange(0.0, 5.0, 1.0), times=5)


def test_select_runs_by_name_default_baseline_and_all():
    da = with_runs(small())
    cell = probes.nearest_ocean_cell(da, 2.0, 3.0)
    top = f(2, 3, np.arange(5))

    np.testing.assert_allclose(probes.point_series(da, cell).values, top)
    np.testing.assert_allclose(probes.point_series(da, cell, scenario="heatwave").values, top + 3)
    every = probes.point_series(da, cell, scenario="all")
    assert every.dims == ("time", "scenario")
    assert list(every["scenario"].values) == ["baseline", "warming_1p5", "heatwave"]
    np.testing.assert_allclose(every.values, top[:, None] + [0.0, 1.5, 3.0])
    with pytest.raises(SourceError, match=r"no scenario 'heatwav' \(did you mean 'heatwave'\?\)"):
        fields.select(da, scenario="heatwav")


def test_select_all_on_a_single_run_gives_one_baseline_run():
    da = small()

    every = fields.select(da, scenario="all")

    assert list(every["scenario"].values) == ["baseline"]
    assert fields.select(da, scenario="baseline").dims == ("time", "lat", "lon")
    with pytest.raises(SourceError, match="one run"):
        fields.select(da, scenario="heatwave")


def test_select_first_member_unless_asked():
    da = small()
    members = xr.concat([da, da + 0.1], dim=pd.Index([1, 2], name="member"))

    assert "member" not in fields.select(members).dims
    np.testing.assert_allclose(fields.select(members).values, fields.select(da).values)
    assert fields.select(members, members=True).sizes["member"] == 2


@pytest.mark.parametrize(("asked", "level"), [(0.0, 0.5), (6.0, 10.0), (40.0, 10.0), (1e4, 100.0)])
def test_select_depth_takes_the_nearest_level(asked, level):
    out = fields.select(small(), depth=asked)

    assert float(out["depth"]) == level
    np.testing.assert_allclose(out.isel(time=0, lat=1, lon=2).values, f(2, 1, 0, level))


def test_select_depth_errors():
    with pytest.raises(SourceError, match="positive down"):
        fields.select(small(), depth=-5.0)
    with pytest.raises(SourceError, match="no depth levels"):
        fields.select(small().isel(depth=0), depth=5.0)


def test_select_top_level_or_whole_column():
    assert float(fields.select(small())["depth"]) == 0.5
    assert fields.select(small(), whole_column=True).sizes["depth"] == DEPTHS.size


def test_select_period_includes_both_ends():
    out = fields.select(small(), start="2025-01-02", end="2025-01-04")

    assert timeaxis.iso_times(out["time"].values) == ["2025-01-02", "2025-01-03", "2025-01-04"]
    assert fields.select(small(), end="2025-01-01").sizes["time"] == 1
    assert fields.select(small(), start="2025-01-05").sizes["time"] == 1
    assert fields.select(small(), start="2025-01").sizes["time"] == 5  # a month: all of it


def test_select_period_errors_name_the_bad_bound():
    with pytest.raises(SourceError, match=r"^end '2025-02-30' is not a time of this calendar"):
        fields.select(small(), start="2025-01-01", end="2025-02-30")
    with pytest.raises(SourceError, match=r"no time step from 2026-01-01 to the end; .*2025-01-05"):
        fields.select(small(), start="2026-01-01")
    with pytest.raises(SourceError, match="no time axis"):
        fields.select(small().isel(time=0), start="2025-01-01")


def noleap_series() -> xr.DataArray:
    """f at one cell on a noleap calendar: 2001-02-27, 02-28, 03-01, 03-02."""
    times = [cftime.DatetimeNoLeap(2001, 2, 27) + pd.Timedelta(days=k) for k in range(4)]
    da = small().isel(time=slice(0, 4)).assign_coords(time=np.array(times, dtype=object))
    return da


def test_cftime_noleap_series_and_csv():
    da = noleap_series()
    cell = probes.nearest_ocean_cell(da, 1.0, 2.0)

    series = probes.point_series(da, cell, start="2001-02-28", end="2001-03-01")
    buffer = io.StringIO()
    tables.to_csv(series, buffer, cell.header(0.5))

    assert buffer.getvalue().splitlines() == [
        "# lon=1,lat=2,depth=0.5",
        "time,value",
        f"2001-02-28,{f(1, 2, 1)}",
        f"2001-03-01,{f(1, 2, 2)}",
    ]
    with pytest.raises(SourceError, match=r"start '2001-02-29' .*\(noleap\)"):
        probes.point_series(da, cell, start="2001-02-29")


# -- CSV ------------------------------------------------------------------------------------
def test_to_csv_format():
    da = small()
    cell = probes.nearest_ocean_cell(da, 3.0, 1.0)
    series = probes.point_series(da, cell).copy()
    series[2] = np.nan  # no data that day
    buffer = io.StringIO()

    tables.to_csv(series, buffer, cell.header(0.5))

    lines = buffer.getvalue().splitlines()
    assert lines[0] == "# lon=3,lat=1,depth=0.5"
    assert lines[1] == "time,value"
    assert [line.split(",")[0] for line in lines[2:]] == [f"2025-01-0{d}" for d in range(1, 6)]
    assert lines[4] == "2025-01-03,"
    values = [float(line.split(",")[1]) for k, line in enumerate(lines[2:]) if k != 2]
    assert values == [f(3, 1, k) for k in (0, 1, 3, 4)]  # read back exactly


def test_to_csv_writes_files_and_full_times_for_sub_daily_steps(tmp_path):
    times = pd.date_range("2025-01-01T00:00", periods=3, freq="6h")
    series = xr.DataArray([1.0, 2.0, 3.0], dims="time", coords={"time": times})
    path = tmp_path / "series.csv"

    tables.to_csv(series, path, "# lon=0,lat=0")

    assert path.read_text().splitlines() == [
        "# lon=0,lat=0",
        "time,value",
        "2025-01-01T00:00:00,1.0",
        "2025-01-01T06:00:00,2.0",
        "2025-01-01T12:00:00,3.0",
    ]


def test_to_csv_of_every_run_has_a_column_per_run():
    da = small()
    cell = probes.nearest_ocean_cell(da, 3.0, 1.0)
    buffer = io.StringIO()

    tables.to_csv(probes.point_series(da, cell, scenario="all"), buffer, cell.header())

    assert buffer.getvalue().splitlines()[1] == "time,baseline"


# -- laziness -------------------------------------------------------------------------------
class Chunks:
    """A dask array of known values that records which of its chunks are computed."""

    def __init__(self, values: np.ndarray, chunks: tuple[int, ...]) -> None:
        self.values = values
        self.read: set[tuple[int, ...]] = set()
        self._lock = threading.Lock()
        self.array = dask.array.map_blocks(
            self._block,
            chunks=tuple(_chunks(n, c) for n, c in zip(values.shape, chunks, strict=True)),
            dtype=values.dtype,
            meta=np.array((), dtype=values.dtype),
        )

    @property
    def count(self) -> int:
        return math.prod(len(c) for c in self.array.chunks)

    def _block(self, block_info=None) -> np.ndarray:
        info = block_info[None]
        with self._lock:
            self.read.add(tuple(info["chunk-location"]))
        return self.values[tuple(slice(a, b) for a, b in info["array-location"])]


def _chunks(size: int, chunk: int) -> tuple[int, ...]:
    return (chunk,) * (size // chunk) + ((size % chunk,) if size % chunk else ())


def test_point_series_reads_only_the_chunks_of_its_cell():
    eager = regular(*global_grid(2.0), times=12)  # (12, 3, 90, 180)
    cube = Chunks(eager.values, (12, 1, 10, 20))  # map-chunked: 3 x 9 x 9 chunks
    da = eager.copy(data=cube.array)

    cell = probes.nearest_ocean_cell(da, 45.1, -33.3)
    # the cell is row 28 (-33°), column 112 (45°); the snapping window is rows 25..31 and
    # columns 109..115 of the top level: row chunks 2 and 3, column chunk 5
    assert cell.index == {"lat": 28, "lon": 112}
    assert cube.read == {(0, 0, 2, 5), (0, 0, 3, 5)}, f"read {len(cube.read)} of {cube.count}"
    cube.read.clear()

    series = probes.point_series(da, cell).compute()

    np.testing.assert_allclose(series.values, f(45.0, -33.0, np.arange(12), 0.5))
    assert cube.read == {(0, 0, 2, 5)}, f"read {len(cube.read)} of {cube.count} chunks"


def test_area_series_reads_only_the_chunks_under_the_region():
    eager = regular(*global_grid(2.0), times=4, depths=None)  # (4, 90, 180)
    cube = Chunks(eager.values, (4, 10, 20))
    da = eager.copy(data=cube.array)
    mask = regions.region_mask(da, bbox=(172.0, 2.0, -172.0, 18.0))  # rows 46..53, across 180

    out = regions.area_series(da, mask).compute()

    assert np.isfinite(out["mean"].values).all()
    assert {loc[1:] for loc in cube.read} == {(4, 0), (4, 8), (5, 0), (5, 8)}


def test_lazy_and_eager_area_series_agree():
    eager = regular(*global_grid(2.0), times=4, depths=None)
    lazy = eager.chunk({"lat": 15, "lon": 30})
    mask = regions.region_mask(eager, polygon=[(-20, -20), (30, -10), (10, 40)])

    with dask.config.set(scheduler="synchronous"):
        lazy_out = regions.area_series(lazy, mask)
        assert isinstance(lazy_out["mean"].data, dask.array.Array)  # nothing read yet
        lazy_out = lazy_out.compute()
    eager_out = regions.area_series(eager, mask)

    xr.testing.assert_allclose(lazy_out, eager_out.compute())
