"""Grids given by a CF ``grid_mapping``, and every CF spelling of degrees (grid_mapping.py).

The synthetic grids' longitudes and latitudes are known independently of the product: the
rotated pole's from the spherical rotation written out below, the projections' from pyproj
with a PROJ string (the product reads the CF attributes instead).
"""

from __future__ import annotations

import numpy as np
import pyproj
import pytest
import xarray as xr

from data_adapters import SourceError, normalize, validate_dataset
from data_adapters.grid_mapping import DEGREES_EAST, DEGREES_NORTH

#: The Met Office's usual European rotated pole (iris' rotated_pole.nc).
POLE_LON, POLE_LAT = 177.5, 37.5
SEA_TEMPERATURE = {"standard_name": "sea_surface_temperature", "units": "K"}


def rotated_to_geographic(rlon: np.ndarray, rlat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Longitude in [-180, 180) and latitude of rotated-pole coordinates (degrees)."""
    pp, r, p = (np.radians(v) for v in (POLE_LAT, rlon, rlat))
    lat = np.arcsin(np.sin(p) * np.sin(pp) + np.cos(p) * np.cos(r) * np.cos(pp))
    east = np.cos(p) * np.sin(r)
    north = np.sin(pp) * np.cos(p) * np.cos(r) - np.cos(pp) * np.sin(p)
    lon = POLE_LON - 180.0 + np.degrees(np.arctan2(east, north))
    return (lon + 180.0) % 360.0 - 180.0, np.degrees(lat)


def rotated_pole_grid() -> xr.Dataset:
    """A 6 x 8 rotated-pole grid over Europe; the value of each cell is its index."""
    rlat = np.linspace(-20.0, 25.0, 6)
    rlon = np.linspace(330.0, 400.0, 8)  # stored 0-360 and beyond, as the UM writes them
    return xr.Dataset(
        {
            "tos": (
                ("grid_latitude", "grid_longitude"),
                np.arange(48.0).reshape(6, 8),
                {**SEA_TEMPERATURE, "grid_mapping": "rotated_latitude_longitude"},
            ),
            "rotated_latitude_longitude": (
                (),
                0,
                {
                    "grid_mapping_name": "rotated_latitude_longitude",
                    "grid_north_pole_latitude": POLE_LAT,
                    "grid_north_pole_longitude": POLE_LON,
                    "north_pole_grid_longitude": 0.0,
                    "earth_radius": 6371229.0,
                },
            ),
        },
        coords={
            "grid_latitude": (
                "grid_latitude",
                rlat,
                {"standard_name": "grid_latitude", "units": "degrees"},
            ),
            "grid_longitude": (
                "grid_longitude",
                rlon,
                {"standard_name": "grid_longitude", "units": "degrees"},
            ),
        },
    )


def projected_grid(mapping: dict, x: np.ndarray, y: np.ndarray, units: str = "m") -> xr.Dataset:
    """A grid on projection coordinates ``x``, ``y`` (in ``units``) with ``mapping``."""
    return xr.Dataset(
        {
            "tos": (
                ("time", "Y", "X"),
                np.arange(2.0 * y.size * x.size).reshape(2, y.size, x.size),
                {**SEA_TEMPERATURE, "grid_mapping": "crs"},
            ),
            "crs": ((), 0, mapping),
        },
        coords={
            "time": ("time", np.array(["2020-01-01", "2020-01-02"], dtype="datetime64[ns]")),
            "X": ("X", x, {"standard_name": "projection_x_coordinate", "units": units}),
            "Y": ("Y", y, {"standard_name": "projection_y_coordinate", "units": units}),
        },
    )


def proj_lonlat(proj: str, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude on (y, x) of projection coordinates in metres, per PROJ."""
    crs = pyproj.CRS(proj)
    to_lonlat = pyproj.Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)
    xx, yy = np.meshgrid(x, y)
    return to_lonlat.transform(xx, yy)


def test_the_rotation_written_out_is_the_one_proj_knows():
    """The test's own reference, checked against PROJ's ob_tran (a different reading)."""
    rlon, rlat = np.meshgrid(np.linspace(-30, 40, 8), np.linspace(-20, 25, 6))
    proj = (
        f"+proj=ob_tran +o_proj=longlat +o_lon_p=0 +o_lat_p={POLE_LAT} "
        f"+lon_0={POLE_LON + 180.0} +R=6371229 +no_defs"
    )
    lon, lat = pyproj.Transformer.from_crs(
        pyproj.CRS(proj), pyproj.CRS("+proj=longlat +R=6371229 +no_defs"), always_xy=True
    ).transform(rlon, rlat)
    want_lon, want_lat = rotated_to_geographic(rlon, rlat)
    np.testing.assert_allclose(lon, want_lon, atol=1e-9)
    np.testing.assert_allclose(lat, want_lat, atol=1e-9)
    # the rotated origin is 90° from the grid's north pole, on the pole's meridian + 180°
    assert rotated_to_geographic(np.array(0.0), np.array(0.0)) == pytest.approx((-2.5, 52.5))


def test_a_rotated_pole_grid_gets_its_true_longitudes_and_latitudes():
    source = rotated_pole_grid()

    ds = validate_dataset(normalize(source, "rotated.nc"))

    assert ds["tos"].dims == ("y", "x")
    assert ds["lon"].dims == ("y", "x")
    rlon, rlat = np.meshgrid(source["grid_longitude"].values, source["grid_latitude"].values)
    want_lon, want_lat = rotated_to_geographic(rlon, rlat)
    np.testing.assert_allclose(ds["lon"].values, want_lon, atol=1e-9)
    np.testing.assert_allclose(ds["lat"].values, want_lat, atol=1e-9)
    # the values stay on their cells, and the rotated coordinates stay as the grid's y and x
    np.testing.assert_array_equal(ds["tos"].values, source["tos"].values)
    np.testing.assert_array_equal(ds["y"].values, source["grid_latitude"].values)
    np.testing.assert_array_equal(ds["x"].values, source["grid_longitude"].values)
    assert ds["x"].attrs["standard_name"] == "grid_longitude"


def test_the_grid_mapping_is_kept_for_exports():
    ds = normalize(rotated_pole_grid(), "rotated.nc")

    assert "rotated_latitude_longitude" in ds.coords
    mapping = ds["rotated_latitude_longitude"].attrs
    assert mapping["grid_north_pole_latitude"] == POLE_LAT
    assert ds["tos"].attrs["grid_mapping"] == "rotated_latitude_longitude"


def test_the_callers_dataset_is_left_as_it_was():
    source = rotated_pole_grid()
    before = source.copy(deep=True)

    normalize(source, "rotated.nc")

    xr.testing.assert_identical(source, before)


POLAR_STEREOGRAPHIC = {
    "grid_mapping_name": "polar_stereographic",
    "straight_vertical_longitude_from_pole": 70.0,
    "latitude_of_projection_origin": 90.0,
    "standard_parallel": 60.0,
    "earth_radius": 6371000.0,
}
LAMBERT = {
    "grid_mapping_name": "lambert_conformal_conic",
    "standard_parallel": [30.0, 60.0],
    "longitude_of_central_meridian": -30.0,
    "latitude_of_projection_origin": 45.0,
    "semi_major_axis": 6378137.0,
    "inverse_flattening": 298.257223563,
}
TRANSVERSE_MERCATOR = {
    "grid_mapping_name": "transverse_mercator",
    "longitude_of_central_meridian": 9.0,
    "latitude_of_projection_origin": 0.0,
    "scale_factor_at_central_meridian": 0.9996,
    "false_easting": 500000.0,
    "false_northing": 0.0,
    "semi_major_axis": 6378137.0,
    "inverse_flattening": 298.257223563,
}


@pytest.mark.parametrize(
    ("mapping", "proj", "x", "y"),
    [
        pytest.param(
            POLAR_STEREOGRAPHIC,
            "+proj=stere +lat_0=90 +lon_0=70 +lat_ts=60 +R=6371000 +units=m +no_defs",
            np.linspace(-2.95e6, -2.71e6, 7),
            np.linspace(-1.38e6, -1.22e6, 5),
            id="polar-stereographic (NorKyst800)",
        ),
        pytest.param(
            LAMBERT,
            "+proj=lcc +lat_1=30 +lat_2=60 +lat_0=45 +lon_0=-30 +ellps=WGS84 +units=m +no_defs",
            np.linspace(-5e5, 5e5, 6),
            np.linspace(-3e5, 4e5, 4),
            id="lambert-conformal-conic",
        ),
        pytest.param(
            TRANSVERSE_MERCATOR,
            "+proj=utm +zone=32 +ellps=WGS84 +units=m +no_defs",
            np.linspace(3e5, 7e5, 5),
            np.linspace(6.0e6, 6.6e6, 4),
            id="transverse-mercator (UTM 32)",
        ),
    ],
)
def test_a_projected_grid_gets_the_longitudes_and_latitudes_of_its_projection(mapping, proj, x, y):
    ds = validate_dataset(normalize(projected_grid(mapping, x, y), "projected.nc"))

    want_lon, want_lat = proj_lonlat(proj, x, y)
    assert ds["tos"].dims == ("time", "y", "x")
    assert ds.sizes["y"] == y.size and ds.sizes["x"] == x.size  # y stays the projection's Y
    np.testing.assert_allclose(ds["lon"].values, want_lon, atol=1e-7)
    np.testing.assert_allclose(ds["lat"].values, want_lat, atol=1e-7)
    np.testing.assert_array_equal(ds["x"].values, x)
    assert "crs" in ds.coords


def test_projection_coordinates_in_kilometres():
    x_km, y_km = np.linspace(-1971.0, -171.0, 10), np.linspace(-1757.0, -757.0, 6)
    ds = normalize(projected_grid(POLAR_STEREOGRAPHIC, x_km, y_km, units="km"), "arctic.nc")

    want_lon, want_lat = proj_lonlat(
        "+proj=stere +lat_0=90 +lon_0=70 +lat_ts=60 +R=6371000 +units=m +no_defs",
        x_km * 1000.0,
        y_km * 1000.0,
    )
    np.testing.assert_allclose(ds["lon"].values, want_lon, atol=1e-7)
    np.testing.assert_allclose(ds["lat"].values, want_lat, atol=1e-7)


def test_a_mercator_grid_is_regular_in_longitude_and_latitude():
    """Mercator's columns are meridians and its rows parallels: the regular path takes it."""
    mapping = {
        "grid_mapping_name": "mercator",
        "longitude_of_projection_origin": 0.0,
        "standard_parallel": 0.0,
        "earth_radius": 6371000.0,
    }
    x, y = np.linspace(-1e6, 1e6, 5), np.linspace(2e6, 4e6, 4)

    ds = validate_dataset(normalize(projected_grid(mapping, x, y), "mercator.nc"))

    want_lon, want_lat = proj_lonlat("+proj=merc +R=6371000 +units=m +no_defs", x, y)
    assert ds["tos"].dims == ("time", "lat", "lon")
    np.testing.assert_allclose(ds["lon"].values, want_lon[0], atol=1e-9)
    np.testing.assert_allclose(ds["lat"].values, want_lat[:, 0], atol=1e-9)


def test_longitudes_and_latitudes_in_the_file_are_used_as_they_are():
    """A projected grid that also stores lon/lat (Arctic20): the file's values win."""
    x, y = np.linspace(-5e5, 5e5, 6), np.linspace(-3e5, 4e5, 4)
    source = projected_grid(LAMBERT, x, y)
    lon, lat = proj_lonlat("+proj=lcc +lat_1=30 +lat_2=60 +lat_0=45 +lon_0=-30", x, y)
    source = source.assign_coords(
        longitude=(("Y", "X"), lon + 0.01, {"standard_name": "longitude", "units": "degrees_east"}),
        latitude=(("Y", "X"), lat, {"standard_name": "latitude", "units": "degrees_north"}),
    )

    ds = normalize(source, "both.nc")

    np.testing.assert_allclose(ds["lon"].values, lon + 0.01, atol=1e-12)
    assert "crs" in ds.coords


@pytest.mark.parametrize(
    ("east", "north"),
    [
        ("degree_east", "degree_north"),
        ("degree_E", "degree_N"),
        ("degreeE", "degreeN"),
        ("degrees_E", "degrees_N"),
        ("degreesE", "degreesN"),
        ("Degrees_East", "Degrees_North"),
    ],
)
def test_every_cf_spelling_of_degrees_east_and_north(east, north):
    """HYCOM's lon/lat are data variables in degree_east/degree_north, with no standard_name."""
    lat2, lon2 = np.meshgrid(np.linspace(44, 46, 3), np.linspace(-4, -2, 4), indexing="ij")
    source = xr.Dataset(
        {
            "plon": (("Y", "X"), lon2, {"long_name": "longitude", "units": east}),
            "plat": (("Y", "X"), lat2, {"long_name": "latitude", "units": north}),
            "u": (("Y", "X"), np.ones((3, 4)), {"units": "m/s"}),
        }
    )

    ds = validate_dataset(normalize(source, "hycom.nc"))

    np.testing.assert_allclose(ds["lon"].values, [-4.0, -10 / 3, -8 / 3, -2.0], atol=1e-12)
    np.testing.assert_allclose(ds["lat"].values, [44.0, 45.0, 46.0], atol=1e-12)
    assert source["plon"].attrs["units"] == east  # the source is not changed


def test_the_spellings_are_cf_s():
    assert {"degrees_east", "degree_east", "degree_e", "degrees_e", "degreee"} <= DEGREES_EAST
    assert {"degrees_north", "degree_north", "degree_n", "degrees_n", "degreen"} <= DEGREES_NORTH


def test_a_grid_mapping_pyproj_cannot_read_is_refused_in_one_line():
    source = projected_grid({"grid_mapping_name": "flat_earth"}, np.arange(3.0), np.arange(2.0))

    with pytest.raises(SourceError) as err:
        normalize(source, "flat.nc")

    message = str(err.value)
    assert message.startswith("flat.nc: grid mapping 'crs' (flat_earth)")
    assert "add 2-D longitude/latitude" in message and "\n" not in message


def test_projection_coordinates_in_unknown_units_are_refused():
    x, y = np.linspace(-5e5, 5e5, 6), np.linspace(-3e5, 4e5, 4)
    source = projected_grid(LAMBERT, x, y, units="furlong")

    with pytest.raises(SourceError, match="'X' has units 'furlong', expected a length"):
        normalize(source, "furlongs.nc")


def test_a_grid_without_a_mapping_is_still_refused():
    source = rotated_pole_grid()
    source["tos"].attrs.pop("grid_mapping")

    with pytest.raises(SourceError, match="no longitude/latitude coordinates found"):
        normalize(source, "nomapping.nc")
