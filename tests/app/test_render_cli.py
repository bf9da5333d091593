"""``ocean-explorer render``: PNG maps written through the dashboard's renderer.

Most tests call ``app.cli.main(argv)`` in this process (the renderer's imports and
Datashader's first compile cost seconds per process); one runs the command as a user does,
in a subprocess. The source is a small NetCDF file written in ``tmp_path`` whose sea
temperature is a pattern that tells neighbouring cells apart (:func:`thetao`), with land.
"""

from __future__ import annotations

import math
import pathlib
from dataclasses import dataclass

import numpy as np
import pytest
import xarray as xr
from PIL import Image

from app.cli import main
from components.core.coastlines import LAND_COLOR
from components.core.png import (
    MARGIN_BOTTOM,
    MARGIN_LEFT,
    MARGIN_RIGHT,
    MARGIN_TOP,
    ColourScale,
)
from components.core.timeaxis import nearest_step, time_label
from tests import synthetic
from tests.app.test_cli import run_cli

#: Cell size of the synthetic grid (degrees): centres at -175, -165, ... and -85, ..., 85.
CELL = 10.0
#: Land cells (NaN) of the synthetic file: centres 55°W and 45°W at 35°N and 45°N.
LAND_LON, LAND_LAT = (-55.0, -45.0), (35.0, 45.0)
#: thetao rises by this much per time step and per depth level, so a picture tells them apart.
STEP_OFFSET, LEVEL_OFFSET = 2.0, 4.0
#: Colour range in which every cell of the first step and level has a colour of its own
#: among its neighbours (see :func:`thetao`).
CLIM = (0.0, 36.0)
#: Earth radius of Web Mercator (m).
MERCATOR_RADIUS = 6378137.0


def thetao(lon: np.ndarray, lat: np.ndarray, step: int = 0, level: int = 0) -> np.ndarray:
    """Sea temperature (°C, float32) of the synthetic file in the cells holding (lon, lat).

    A 6 x 6 pattern of whole degrees, 0-35 °C: neighbours east-west differ by 6 °C, north-south
    by 1 °C, so a pixel drawn from the wrong cell has the wrong colour in :data:`CLIM`.
    """
    column = np.floor((np.asarray(lon) + 180.0) / CELL) % 6
    row = np.floor((np.asarray(lat) + 90.0) / CELL) % 6
    value = 6 * column + row + STEP_OFFSET * step + LEVEL_OFFSET * level
    return np.asarray(value, dtype="float32")


@pytest.fixture(scope="module")
def ocean_file(tmp_path_factory) -> str:
    """10° global grid, 4 daily steps from 2025-01-01, depths 0.5/10/100 m, land block."""
    ds = synthetic.regular(times=4)
    field = (
        xr.DataArray(
            thetao(ds["lon"].values[None, :], ds["lat"].values[:, None]), dims=("lat", "lon")
        )
        + xr.DataArray(STEP_OFFSET * np.arange(ds.sizes["time"]), dims="time")
        + xr.DataArray(LEVEL_OFFSET * np.arange(ds.sizes["depth"]), dims="depth")
    )
    land = ds["lon"].isin(LAND_LON) & ds["lat"].isin(LAND_LAT)
    field = field.where(~land).astype("float32").transpose(*ds["thetao"].dims)
    field.attrs = synthetic.THETAO_ATTRS
    path = tmp_path_factory.mktemp("render") / "ocean.nc"
    return synthetic.write_netcdf(ds.assign(thetao=field), path)


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def render(capsys):
    """Run ``ocean-explorer render ARGS`` in this process: exit code, stdout, stderr."""

    def run(*args: str) -> Result:
        try:
            code = main(["render", *args])
        except SystemExit as exc:  # argparse's own errors
            code = exc.code
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def expected_image(
    bbox: tuple[float, float, float, float],
    width: int,
    height: int,
    scale: ColourScale,
    mercator: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """(RGBA the bare PNG must show, which pixels to check) for the synthetic field.

    Pixel columns are linear in longitude; rows linear in latitude, or in Web Mercator y.
    Pixels that straddle a cell edge are not checked: either neighbour is right there. In
    Mercator neither are pixels within 0.5° of an edge: Datashader puts the edge between two
    cells at the midpoint of their projected centres, a little off the true edge.
    """
    west, south, east, north = bbox
    if east <= west:
        east += 360.0
    lon = west + (np.arange(width) + 0.5) * (east - west) / width
    if mercator:
        y0, y1 = (MERCATOR_RADIUS * math.asinh(math.tan(math.radians(v))) for v in (south, north))
        y = y1 - (np.arange(height) + 0.5) * (y1 - y0) / height
        lat = np.degrees(np.arctan(np.sinh(y / MERCATOR_RADIUS)))
        lat_margin = np.maximum(np.abs(np.gradient(lat)) / 2, 0.5)
    else:
        lat = north - (np.arange(height) + 0.5) * (north - south) / height
        lat_margin = np.full(height, (north - south) / height / 2)
    lon_margin = (east - west) / width / 2
    wrapped = (lon + 180.0) % 360.0 - 180.0
    centre_lon = np.floor(wrapped / CELL) * CELL + CELL / 2
    centre_lat = np.floor(lat / CELL) * CELL + CELL / 2
    near_lon = np.abs(np.abs(wrapped - centre_lon) - CELL / 2) < lon_margin
    near_lat = np.abs(np.abs(lat - centre_lat) - CELL / 2) < lat_margin
    values = thetao(centre_lon[None, :], centre_lat[:, None])
    land = np.isin(centre_lon[None, :], LAND_LON) & np.isin(centre_lat[:, None], LAND_LAT)
    rgba = scale.lut()[scale.index(values)]
    rgba[land] = 0
    return rgba, ~(near_lon[None, :] | near_lat[:, None])


def read_png(path: pathlib.Path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.mode == "RGBA"
        return np.asarray(image)


def assert_shows(png: np.ndarray, expected: np.ndarray, checked: np.ndarray) -> None:
    assert checked.mean() > 0.7, "too few pixels away from cell edges to check"
    wrong = np.argwhere(checked & np.any(png != expected, axis=-1))
    assert wrong.size == 0, (
        f"{len(wrong)} pixels with the wrong colour, first (row, col) {wrong[0]}"
    )


# -- the bare raster: size, transparency, geometry ------------------------------------------
def test_bare_png_is_the_map_raster_pixel_for_pixel(render, ocean_file, tmp_path):
    out = tmp_path / "map.png"
    bbox = (-70.0, 0.0, 30.0, 80.0)
    result = render(
        ocean_file, "--var", "thetao", "--bbox", "-70,0,30,80", "--clim", "0,36",
        "--width", "200", "--height", "160", "--bare", "-o", str(out),
    )  # fmt: skip
    assert result.code == 0, result.err
    with Image.open(out) as image:
        assert image.size == (200, 160)
    png = read_png(out)
    # columns and rows are linear in longitude and latitude over the bbox
    expected, checked = expected_image(bbox, 200, 160, ColourScale("thermal", CLIM))
    assert_shows(png, expected, checked)
    # land is transparent, the sea opaque
    alpha = png[..., 3]
    assert set(np.unique(alpha)) == {0, 255}
    assert alpha[checked & (expected[..., 3] == 0)].size > 100
    assert (alpha[checked] == expected[..., 3][checked]).all()


def test_bare_png_pixel_has_the_colour_of_the_value_there(render, ocean_file, tmp_path):
    out = tmp_path / "pixel.png"
    result = render(
        ocean_file, "--var", "thetao", "--bbox", "0,-40,60,40", "--clim", "0,36",
        "--cmap", "haline", "--width", "120", "--height", "80", "--bare", "-o", str(out),
    )  # fmt: skip
    assert result.code == 0, result.err
    png = read_png(out)
    # column 75 spans 37.5..38°E, row 10 (from the top) spans 30..29°N: the cell at 35°E 25°N
    column, row = 75, 10
    lon = 0.0 + (column + 0.5) * 60.0 / 120
    lat = 40.0 - (row + 0.5) * 80.0 / 80
    assert (lon, lat) == (37.75, 29.5)
    scale = ColourScale("haline", CLIM)
    colour = scale.lut()[scale.index(thetao(np.array(35.0), np.array(25.0)))]
    assert tuple(png[row, column]) == tuple(colour)
    # the neighbouring cells east and north have other colours: the position matters
    assert tuple(png[row, column + 10]) != tuple(colour)
    assert tuple(png[row - 10, column]) != tuple(colour)


def test_without_bbox_the_extent_is_the_datas(render, ocean_file, tmp_path):
    out = tmp_path / "globe.png"
    result = render(
        ocean_file, "--var", "thetao", "--clim", "0,36", "--width", "72", "--height", "36",
        "--bare", "-o", str(out),
    )  # fmt: skip
    assert result.code == 0, result.err
    png = read_png(out)
    expected, checked = expected_image(
        (-180.0, -90.0, 180.0, 90.0), 72, 36, ColourScale("thermal", CLIM)
    )
    assert checked.all()  # 5° pixels never straddle a 10° cell
    assert_shows(png, expected, checked)


def test_dateline_box_renders_both_sides(render, ocean_file, tmp_path):
    out = tmp_path / "dateline.png"
    result = render(
        ocean_file, "--var", "thetao", "--bbox", "170,-10,-170,10", "--clim", "0,36",
        "--width", "40", "--height", "20", "--bare", "-o", str(out),
    )  # fmt: skip
    assert result.code == 0, result.err
    png = read_png(out)
    assert png.shape == (20, 40, 4)
    scale = ColourScale("thermal", CLIM)
    expected, checked = expected_image((170.0, -10.0, -170.0, 10.0), 40, 20, scale)
    assert_shows(png, expected, checked)
    # west of the dateline the 175°E cells, east of it the 175°W cells (185 in 0-360)
    west = scale.lut()[scale.index(thetao(np.array(175.0), np.array(5.0)))]
    east = scale.lut()[scale.index(thetao(np.array(-175.0), np.array(5.0)))]
    assert tuple(png[5, 5]) == tuple(west)
    assert tuple(png[5, 35]) == tuple(east)
    assert tuple(west) != tuple(east)


def test_web_mercator_rows_are_linear_in_mercator_y(render, ocean_file, tmp_path):
    lonlat, mercator = tmp_path / "lonlat.png", tmp_path / "mercator.png"
    args = (
        ocean_file, "--var", "thetao", "--bbox", "-70,-50,30,70", "--clim", "0,36",
        "--width", "100", "--height", "150", "--bare",
    )  # fmt: skip
    assert render(*args, "-o", str(lonlat)).code == 0
    result = render(*args, "--crs", "epsg:3857", "-o", str(mercator))
    assert result.code == 0, result.err
    png = read_png(mercator)
    assert png.shape == (150, 100, 4)
    expected, checked = expected_image(
        (-70.0, -50.0, 30.0, 70.0), 100, 150, ColourScale("thermal", CLIM), mercator=True
    )
    assert_shows(png, expected, checked)
    assert (png != read_png(lonlat)).any(axis=-1).mean() > 0.1  # a different projection


# -- choices: nearest time and depth, what the title says -----------------------------------
def test_nearest_time_and_depth_are_used_and_named(render, ocean_file, tmp_path):
    out = tmp_path / "chosen.png"
    result = render(
        ocean_file, "--var", "thetao", "--time", "2025-01-03T10:00", "--depth", "30",
        "--bbox", "0,0,10,10", "--clim", "0,20", "--width", "8", "--height", "8", "--bare",
        "-o", str(out),
    )  # fmt: skip
    assert result.code == 0, result.err
    # 10:00 on 3 January is nearest the step of 3 January 00:00; 30 m nearest the 10 m level
    assert result.out.strip() == f"wrote {out} (thetao, 2025-01-03, 10 m, baseline)"
    with Image.open(out) as image:
        title = image.text["Title"]
    assert "2025-01-03" in title and "10 m" in title and "baseline" in title
    assert "Sea water potential temperature [degC]" in title
    # every pixel shows the cell at 5°E 5°N of that step and level
    scale = ColourScale("thermal", (0.0, 20.0))
    png = read_png(out)
    chosen = scale.lut()[scale.index(thetao(np.array(5.0), np.array(5.0), step=2, level=1))]
    first = scale.lut()[scale.index(thetao(np.array(5.0), np.array(5.0)))]
    assert (png == chosen).all()
    assert tuple(chosen) != tuple(first)


@pytest.mark.parametrize(
    ("when", "shown"),
    [
        ("2400-01-01", "2025-01-04"),
        ("1200-06-01T12:00Z", "2025-01-01"),
        ("2025-01-02", "2025-01-02"),
    ],
)
def test_times_beyond_the_data_pick_the_nearest_end(render, ocean_file, tmp_path, when, shown):
    out = tmp_path / "when.png"
    result = render(
        ocean_file, "--var", "thetao", "--time", when, "--width", "36", "--height", "18",
        "--bare", "-o", str(out),
    )  # fmt: skip
    assert result.code == 0, result.err
    assert f"(thetao, {shown}, 0.5 m, baseline)" in result.out


def test_scenario_runs_in_one_file(render, tmp_path):
    path = synthetic.write_netcdf(synthetic.scenario_runs(), tmp_path / "runs.nc")
    pictures = {}
    for scenario in ("baseline", "heatwave"):
        out = tmp_path / f"{scenario}.png"
        result = render(
            path, "--var", "thetao", "--scenario", scenario, "--bbox", "0,0,10,10",
            "--clim", "0,10", "--width", "4", "--height", "4", "--bare", "-o", str(out),
        )  # fmt: skip
        assert result.code == 0, result.err
        assert result.out.strip().endswith(f"(thetao, 2025-01-01, 0.5 m, {scenario})")
        pictures[scenario] = read_png(out)
    # the heatwave run is 3 °C warmer: 5.05 °C in the baseline, 8.05 °C in the heatwave
    scale = ColourScale("thermal", (0.0, 10.0))
    assert (pictures["baseline"] == scale.lut()[scale.index(5.05)]).all()
    assert (pictures["heatwave"] == scale.lut()[scale.index(8.05)]).all()
    # sea level is stored once for every run: any run shows it, and says which was asked for
    out = tmp_path / "zos.png"
    result = render(path, "--var", "zos", "--scenario", "heatwave", "--bare", "-o", str(out))
    assert result.code == 0, result.err
    assert result.out.strip() == f"wrote {out} (zos, 2025-01-01, heatwave)"
    result = render(path, "--var", "zos", "--scenario", "heatwav", "-o", str(out))
    assert result.code == 2
    assert "no scenario 'heatwav' (did you mean 'heatwave'?)" in result.err


def test_time_on_a_noleap_calendar(render, tmp_path):
    path = synthetic.write_netcdf(synthetic.calendar_noleap(), tmp_path / "noleap.nc")
    out = tmp_path / "noleap.png"
    result = render(
        path, "--var", "thetao", "--time", "2001-03-01T20:00", "--width", "36",
        "--height", "18", "--bare", "-o", str(out),
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "(thetao, 2001-03-02, 0.5 m, baseline)" in result.out
    with Image.open(out) as image:
        assert "2001-03-02" in image.text["Title"]


@pytest.mark.parametrize(
    ("calendar", "text", "label"),
    [
        ("360_day", "2001-02-30", "2001-02-30"),  # a date of this calendar only
        ("360_day", "2001-02-29T13:00", "2001-02-30"),
        ("noleap", "2001-02-28T20:00", "2001-03-01"),
    ],
)
def test_time_picks_the_core_step_on_model_calendars(render, tmp_path, calendar, text, label):
    """``--time`` lands on the step the core's nearest_step picks (the dashboard's rule)."""
    ds = getattr(synthetic, f"calendar_{calendar}")()
    path = synthetic.write_netcdf(ds, tmp_path / f"{calendar}.nc")
    out = tmp_path / f"{calendar}.png"
    result = render(
        path, "--var", "thetao", "--time", text, "--width", "36", "--height", "18", "--bare",
        "-o", str(out),
    )  # fmt: skip
    assert result.code == 0, result.err
    step = nearest_step(ds["time"].values, text)
    assert time_label(ds["time"].values[step]) == label
    assert f"(thetao, {label}, " in result.out


def test_decorated_png_has_margins_title_and_land_colour(render, ocean_file, tmp_path):
    out = tmp_path / "decorated.png"
    result = render(
        ocean_file, "--var", "thetao", "--bbox", "-70,0,30,80", "--clim", "0,36",
        "--width", "200", "--height", "160", "-o", str(out),
    )  # fmt: skip
    assert result.code == 0, result.err
    with Image.open(out) as image:
        assert image.size == (200 + MARGIN_LEFT + MARGIN_RIGHT, 160 + MARGIN_TOP + MARGIN_BOTTOM)
        title = image.text["Title"]
        png = np.asarray(image.convert("RGBA"))
    assert title.startswith("Synthetic ocean: Sea water potential temperature [degC]")
    assert "2025-01-01" in title and "0.5 m" in title
    assert (png[..., 3] == 255).all()  # a picture to look at: nothing transparent
    # the map area starts MARGIN_LEFT, MARGIN_TOP in; land (the 55°W 35°N cell) in land colour
    land_row = MARGIN_TOP + int((80 - 33) / 80 * 160)
    land_column = MARGIN_LEFT + int((-57 + 70) / 100 * 200)
    land = tuple(int(LAND_COLOR[i : i + 2], 16) for i in (1, 3, 5))
    assert tuple(png[land_row, land_column, :3]) == land
    # and the open sea shows the value's colour: the cell at 25°W 55°N
    sea_row = MARGIN_TOP + int((80 - 53) / 80 * 160)
    sea_column = MARGIN_LEFT + int((-27 + 70) / 100 * 200)
    scale = ColourScale("thermal", CLIM)
    colour = scale.lut()[scale.index(thetao(np.array(-25.0), np.array(55.0)))]
    assert tuple(png[sea_row, sea_column]) == tuple(colour)


# -- the built-in demo ocean ----------------------------------------------------------------
def test_demo_bbox_with_minus_signs_as_typed(render, tmp_path):
    out = tmp_path / "atlantic.png"
    result = render(
        "demo", "--var", "thetao", "--bbox", "-70,25,-10,65", "--time", "2025-03-10T13:00",
        "--depth", "12", "--width", "120", "--height", "80", "--bare", "-o", str(out),
    )  # fmt: skip
    assert result.code == 0, result.err
    assert result.out.strip() == f"wrote {out} (thetao, 2025-03-11, 10 m, baseline)"
    png = read_png(out)
    assert png.shape == (80, 120, 4)
    # 2 px per degree from 70°W, 65°N: Newfoundland (56°W 48.5°N) is land, 40°W 35°N is sea
    assert png[33, 28, 3] == 0
    assert png[60, 60, 3] == 255
    assert 0.02 < (png[..., 3] == 0).mean() < 0.5


def test_demo_pixel_is_the_demo_value_there(render, tmp_path):
    from data_adapters import open_source

    out = tmp_path / "cells.png"
    # 8 px per degree: every pixel lies inside one 1/4° cell of the demo grid
    result = render(
        "demo", "--var", "so", "--bbox", "-41,29,-39,31", "--clim", "34,38", "--width", "16",
        "--height", "16", "--bare", "-o", str(out),
    )  # fmt: skip
    assert result.code == 0, result.err
    png = read_png(out)
    so = open_source("demo").dataset["so"].isel(scenario=0, time=0, depth=0)
    column, row = 5, 12
    lon, lat = -41.0 + (column + 0.5) / 8, 31.0 - (row + 0.5) / 8
    value = so.sel(lon=lon, lat=lat, method="nearest").values
    scale = ColourScale("haline", (34.0, 38.0))
    assert tuple(png[row, column]) == tuple(scale.lut()[scale.index(value)])


def test_demo_scenario_is_chosen_and_named(render, tmp_path):
    baseline, heatwave = tmp_path / "baseline.png", tmp_path / "heatwave.png"
    args = (
        "demo", "--var", "thetao", "--bbox", "-150,35,-130,50", "--time", "2025-08-01",
        "--clim", "5,30", "--width", "40", "--height", "30", "--bare",
    )  # fmt: skip
    assert render(*args, "-o", str(baseline)).code == 0
    result = render(*args, "--scenario", "heatwave", "-o", str(heatwave))
    assert result.code == 0, result.err
    assert result.out.strip().endswith("(thetao, 2025-08-01, 0.5 m, heatwave)")
    with Image.open(heatwave) as image:
        assert "heatwave" in image.text["Title"]
    assert (read_png(heatwave) != read_png(baseline)).any()  # the heatwave shows


@pytest.mark.slow
def test_render_as_typed_in_a_shell(tmp_path):
    out = tmp_path / "shell.png"
    result = run_cli(
        "render", "demo", "--var", "thetao", "--bbox", "-70,25,-10,65", "--clim", "-2,30",
        "--width", "60", "--height", "40", "--bare", "-o", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"wrote {out} (thetao, 2025-01-01, 0.5 m, baseline)")
    with Image.open(out) as image:
        assert image.size == (60, 40)


# -- bad input: one line on stderr, exit status 2 -------------------------------------------
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--var", "thetoa"), "did you mean 'thetao'"),
        (("--var", "thetao", "--scenario", "warming"), "has no scenarios"),
        (("--var", "thetao", "--bbox", "-70,25,-10"), "expected W,S,E,N"),
        (("--var", "thetao", "--bbox", "-70,65,-10,25"), "S must be below N"),
        (("--var", "thetao", "--bbox", "-200,25,-10,65"), "W=-200 is not a longitude"),
        (("--var", "thetao", "--bbox", "10,0,10,5"), "W and E must differ"),
        (("--var", "thetao", "--cmap", "thremal"), "did you mean 'thermal'"),
        (("--var", "thetao", "--clim", "5,5"), "LO must be below HI"),
        (("--var", "thetao", "--clim", "30,-2"), "LO must be below HI"),
        (("--var", "thetao", "--clim", "nan,1"), "expected LO,HI"),
        (("--var", "thetao", "--width", "0"), "expected pixels from 1 to 8192"),
        (("--var", "thetao", "--time", "yesterday"), "is not an ISO time"),
        (("--var", "thetao", "--time", "2025-02-30"), "is not a date"),
        (("--var", "thetao", "--depth", "-10"), "positive down"),
        (("--var", "thetao", "--crs", "EPSG:2154"), "invalid choice"),
        (("--var", "thetao", "--bbox", "0,86,10,89", "--crs", "EPSG:3857"), "Mercator stops at"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(render, ocean_file, tmp_path, args, expected):
    out = tmp_path / "never.png"
    result = render(ocean_file, *args, "-o", str(out))
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert expected in lines[0]
    assert not out.exists()


@pytest.mark.parametrize(
    ("output", "expected"),
    [("map.jpg", "the output is a PNG"), ("no/such/dir/map.png", "create it first")],
)
def test_bad_output_is_one_line_and_exit_2(render, ocean_file, tmp_path, output, expected):
    result = render(ocean_file, "--var", "thetao", "-o", str(tmp_path / output))
    assert result.code == 2
    assert len(result.err.strip().splitlines()) == 1
    assert expected in result.err
    assert not list(tmp_path.rglob("map.*"))


def test_unknown_demo_scenario_suggests_one(render, tmp_path):
    result = render(
        "demo", "--var", "thetao", "--scenario", "heatwav", "-o", str(tmp_path / "x.png")
    )
    assert result.code == 2
    assert "no scenario 'heatwav' (did you mean 'heatwave'?)" in result.err
    assert "baseline, warming_1p5" in result.err
