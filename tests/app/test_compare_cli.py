"""``ocean-explorer compare``: a PNG of a scenario's change and its impact statistics.

Most tests call ``app.cli.main(argv)`` in this process (the renderer's imports cost seconds
per process); one runs the command as a user types it. Sources: small NetCDF files written in
``tmp_path`` (the probe ocean of ``tests.synthetic``: a global 5° grid with land, whose runs
differ by known offsets) and a small demo catalog (the demo ocean at 1°, eight days around
the heatwave's peak on 24 July).
"""

from __future__ import annotations

import json
import math
import pathlib
import subprocess
import sys
import textwrap
from dataclasses import dataclass

import numpy as np
import pytest
import xarray as xr
from PIL import Image

from app.cli import main
from components.core.png import LUT_SIZE, ColourScale
from data_adapters.demo import HEATWAVE, DemoOceanAdapter
from tests import synthetic

#: Earth radius (km) of the statistics' sphere (IUGG mean radius).
R_KM = 6371.0088
#: The statistics every ``--stats`` file holds.
STATS_KEYS = {
    "mean_diff",
    "min_diff",
    "max_diff",
    "max_abs_diff",
    "area_km2",
    "area_km2_exceeding",
    "fraction_exceeding",
}


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def compare(capsys):
    """Run ``ocean-explorer compare ARGS`` in this process: exit code, stdout, stderr."""

    def run(*args: str) -> Result:
        try:
            code = main(["compare", *args])
        except SystemExit as exc:  # argparse's own errors
            code = exc.code
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def with_thetao(ds: xr.Dataset, offset: float) -> xr.Dataset:
    thetao = ds["thetao"] + offset
    thetao.attrs = dict(ds["thetao"].attrs)
    return ds.assign(thetao=thetao)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    """Probe-ocean files (runs in one file, and runs one per file), and plain 10° runs."""
    folder = tmp_path_factory.mktemp("compare")
    probe = synthetic.probe_ocean(times=2)
    built = {
        "runs": synthetic.probe_ocean(times=2, runs=True),
        "base": probe,
        "warm": with_thetao(probe, 1.5),
        "plain": synthetic.run(0.0),
        "shifted": synthetic.run_variant(1.0, lon=np.arange(-180.0, 180.0, 10.0)),
        "kelvin": synthetic.run_variant(units="K"),
        "noleap": synthetic.run_variant(calendar="noleap"),
        "curvilinear": synthetic.nemo_curvilinear(),
    }
    return {name: synthetic.write_netcdf(ds, folder / f"{name}.nc") for name, ds in built.items()}


@pytest.fixture(scope="module")
def demo_catalog(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("demo") / "catalog.yaml"
    path.write_text(
        textwrap.dedent(
            """
            datasets:
              - id: small
                title: Small demo
                adapter: demo
                resolution: 1.0
                start: "2025-07-20"
                days: 8
            scenario_groups:
              - {id: small-warming, dataset: small, baseline: baseline, scenarios: [warming_1p5]}
              - {id: small-heatwave, dataset: small, baseline: baseline, scenarios: [heatwave]}
            """
        ),
        encoding="utf-8",
    )
    return str(path)


@pytest.fixture(scope="module")
def demo_surface() -> xr.DataArray:
    """The same demo's baseline sea temperature on 20 July at 0.5 m, read directly."""
    ds = DemoOceanAdapter(resolution=1.0, start="2025-07-20", days=8).open()
    return ds["thetao"].sel(scenario="baseline").isel(time=0, depth=0).compute()


def read_png(path: pathlib.Path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.mode == "RGBA"
        return np.asarray(image)


def band_area_km2(south: float, north: float, width_deg: float) -> float:
    """Area of a lat-lon cell on the sphere: R² · Δλ · (sin φ2 - sin φ1)."""
    return (
        R_KM**2
        * math.radians(width_deg)
        * (math.sin(math.radians(north)) - math.sin(math.radians(south)))
    )


def sea_area_km2(sea: np.ndarray, lat: np.ndarray, step: float) -> float:
    """Area of the sea cells (bool on lat x lon) of a grid of ``step``-degree cells."""
    rows = sea.sum(axis=1)
    return sum(
        n * band_area_km2(phi - step / 2, phi + step / 2, step)
        for n, phi in zip(rows, lat, strict=True)
    )


# -- statistics on the demo ocean -----------------------------------------------------------
@pytest.mark.parametrize(("threshold", "fraction"), [("1.0", 1.0), ("2.0", 0.0)])
def test_demo_warming_stats(compare, demo_catalog, demo_surface, tmp_path, threshold, fraction):
    png, stats_file = tmp_path / "warming.png", tmp_path / "warming.json"
    result = compare(
        "small-warming", "--catalog", demo_catalog, "--var", "thetao", "--scenario",
        "warming_1p5", "--bbox", "-70,25,-10,65", "--threshold", threshold,
        "--width", "120", "--height", "80", "-o", str(png), "--stats", str(stats_file),
    )  # fmt: skip
    assert result.code == 0, result.err
    assert result.out.strip() == (
        f"wrote {png} and {stats_file} (thetao, warming_1p5 \u2212 baseline, 2025-07-20, 0.5 m)"
    )
    stats = json.loads(stats_file.read_text())

    assert set(stats) >= STATS_KEYS
    for key in ("mean_diff", "min_diff", "max_diff", "max_abs_diff"):
        assert stats[key] == pytest.approx(1.5, abs=1e-5), key
    assert stats["fraction_exceeding"] == fraction
    # the sea cells whose centres lie in the box, 1° each
    box = demo_surface.sel(lon=slice(-70, -10), lat=slice(25, 65))
    sea = np.isfinite(box.values)
    area = sea_area_km2(sea, box["lat"].values, 1.0)
    assert stats["area_km2"] == pytest.approx(area, rel=1e-6)
    assert stats["area_km2_exceeding"] == pytest.approx(fraction * area, rel=1e-6)
    assert stats["cells"] == sea.sum()
    assert {k: stats[k] for k in ("baseline", "scenario", "units", "time", "depth", "bbox")} == {
        "baseline": "baseline",
        "scenario": "warming_1p5",
        "units": "degC",
        "time": "2025-07-20",
        "depth": 0.5,
        "bbox": [-70.0, 25.0, -10.0, 65.0],
    }
    assert stats["threshold"] == float(threshold)


def test_demo_heatwave_png_is_centred_on_zero(compare, demo_catalog, tmp_path):
    out = tmp_path / "heatwave.png"
    # 2 px per degree over the north-east Pacific
    result = compare(
        "small-heatwave", "--catalog", demo_catalog, "--var", "thetao", "--scenario",
        "heatwave", "--time", "2025-07-24", "--bbox", "-180,20,-100,60", "--width", "160",
        "--height", "80", "--bare", "-o", str(out),
    )  # fmt: skip
    assert result.code == 0, result.err
    png = read_png(out)
    lut = ColourScale("balance", (-1.0, 1.0)).lut()  # the colours, whatever the range
    zero = lut[LUT_SIZE // 2]  # the middle of a symmetric range is zero

    def pixel(lon: float, lat: float) -> np.ndarray:
        return png[int((60 - lat) * 2), int((lon + 180) * 2)]

    # far from the event (175°W 25°N is sea) the change is 0: the centre colour
    assert tuple(pixel(-175.2, 25.2)) == tuple(zero)
    assert tuple(pixel(-110.2, 22.2)) == tuple(zero)
    # at the centre the warmest change of the map: the top of balance, a dark red
    centre = pixel(HEATWAVE["lon"] + 0.2, HEATWAVE["lat"] + 0.2)
    assert tuple(centre) == tuple(lut[-1])
    assert centre[0] > centre[2]
    # a warming only: no sea pixel has a colour of the cold half
    sea = png[..., 3] == 255
    cold = {tuple(c) for c in lut[: LUT_SIZE // 2]}
    assert not any(tuple(c) in cold for c in png[sea])
    assert (png[..., 3] == 0).any()  # North America is land: transparent


def test_decorated_png_names_the_change_time_depth_and_units(compare, demo_catalog, tmp_path):
    out = tmp_path / "titled.png"
    result = compare(
        "small-heatwave", "--catalog", demo_catalog, "--var", "thetao", "--scenario",
        "heatwave", "--time", "2025-07-24", "--depth", "9", "--bbox", "-170,30,-120,60",
        "--width", "200", "--height", "120", "-o", str(out),
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "heatwave \u2212 baseline, 2025-07-24, 10 m" in result.out
    with Image.open(out) as image:
        title = image.text["Title"]
        assert image.size[0] > 200  # title, colour bar and margins around the map
    assert "heatwave \u2212 baseline" in title
    assert "Change in sea water potential temperature [degC]" in title
    assert "2025-07-24" in title and "10 m" in title


def test_relative_change_of_one_demo_cell(compare, demo_catalog, tmp_path):
    stats_file = tmp_path / "pct.json"
    # a box holding the centre of one cell only: 1.5°E 54.5°N, in the wind farm's wake
    result = compare(
        "small", "--catalog", demo_catalog, "--var", "uo", "--scenario", "windfarm",
        "--mode", "relative", "--bbox", "1.1,54.1,1.9,54.9",
        "-o", str(tmp_path / "pct.png"), "--stats", str(stats_file),
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "windfarm \u2212 baseline (%)" in result.out
    stats = json.loads(stats_file.read_text())

    ds = DemoOceanAdapter(resolution=1.0, start="2025-07-20", days=8).open()
    cell = ds["uo"].isel(time=0, depth=0).sel(lon=1.5, lat=54.5).compute()
    base, farm = (float(cell.sel(scenario=s)) for s in ("baseline", "windfarm"))
    assert stats["cells"] == 1
    assert stats["units"] == "%"
    assert stats["mean_diff"] == pytest.approx(100 * (farm - base) / abs(base), rel=1e-5)
    assert stats["mean_diff"] < -5.0  # the current slows in the wake


def test_relative_change_of_a_celsius_temperature_is_refused(compare, demo_catalog, tmp_path):
    result = compare(
        "small-warming", "--catalog", demo_catalog, "--var", "thetao", "--scenario",
        "warming_1p5", "--mode", "pct", "-o", str(tmp_path / "pct.png"),
    )  # fmt: skip
    assert result.code == 2
    assert result.err.count("\n") == 1 and "Traceback" not in result.err
    assert "relative change (%) is not offered for thetao: it is in °C" in result.err
    assert not (tmp_path / "pct.png").exists()


# -- runs as files --------------------------------------------------------------------------
def test_runs_of_one_file_by_name(compare, files, tmp_path):
    stats_file = tmp_path / "runs.json"
    box = (-60.0, -30.0, 60.0, 40.0)  # holds the Atlantic island of the probe ocean
    result = compare(
        files["runs"], "--var", "thetao", "--baseline", "warming_1p5", "--scenario", "heatwave",
        "--bbox", ",".join(map(str, box)), "--threshold", "1", "-o", str(tmp_path / "r.png"),
        "--stats", str(stats_file),
    )  # fmt: skip
    assert result.code == 0, result.err
    stats = json.loads(stats_file.read_text())

    # heatwave 3.0 minus warming 1.5, on the probe ocean's sea cells in the box
    assert stats["mean_diff"] == pytest.approx(1.5, abs=1e-9)
    assert stats["max_abs_diff"] == pytest.approx(1.5, abs=1e-9)
    assert stats["fraction_exceeding"] == 1.0
    step = synthetic.PROBE_STEP
    lon = np.arange(-180.0 + step / 2, 180.0, step)
    lat = np.arange(-60.0, 60.0 + step / 2, step)
    lon = lon[(lon >= box[0]) & (lon <= box[2])]
    lat = lat[(lat >= box[1]) & (lat <= box[3])]
    sea = ~synthetic.probe_is_land(lon[None, :], lat[:, None])
    assert (~sea).sum() == 16  # the island is inside: its cells do not count
    assert stats["area_km2"] == pytest.approx(sea_area_km2(sea, lat, step), rel=1e-9)


def test_scenario_from_another_file_on_the_same_grid(compare, files, tmp_path):
    stats_file = tmp_path / "files.json"
    result = compare(
        files["base"], "--var", "thetao", "--scenario", files["warm"], "--depth", "100",
        "--time", "2025-01-02", "-o", str(tmp_path / "f.png"), "--stats", str(stats_file),
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "warm.nc \u2212 baseline, 2025-01-02, 100 m" in result.out
    stats = json.loads(stats_file.read_text())

    assert stats["min_diff"] == pytest.approx(1.5, abs=1e-9)
    assert stats["max_diff"] == pytest.approx(1.5, abs=1e-9)
    assert (stats["scenario"], stats["depth"], stats["time"]) == ("warm.nc", 100.0, "2025-01-02")


def test_baseline_from_another_file(compare, files, tmp_path):
    stats_file = tmp_path / "other-baseline.json"
    result = compare(
        files["runs"], "--var", "thetao", "--baseline", files["warm"], "--scenario", "heatwave",
        "-o", str(tmp_path / "b.png"), "--stats", str(stats_file),
    )  # fmt: skip
    assert result.code == 0, result.err
    stats = json.loads(stats_file.read_text())

    assert stats["mean_diff"] == pytest.approx(3.0 - 1.5, abs=1e-9)
    assert stats["baseline"] == "warm.nc"


def test_scenario_on_another_regular_grid_is_regridded(compare, files, tmp_path):
    stats_file, png = tmp_path / "regrid.json", tmp_path / "regrid.png"
    # the shifted run's centres lie halfway between the baseline's; its values are the
    # marker + 1, which bilinear reproduces away from the 0° seam of lon mod 360
    result = compare(
        files["plain"], "--var", "thetao", "--scenario", files["shifted"],
        "--bbox", "20,-60,120,60", "-o", str(png), "--stats", str(stats_file),
    )  # fmt: skip
    assert result.code == 0, result.err
    assert result.out.rstrip().endswith("; regridded: shifted.nc (10° → baseline grid, bilinear))")
    stats = json.loads(stats_file.read_text())

    assert stats["min_diff"] == pytest.approx(1.0, abs=1e-4)
    assert stats["max_diff"] == pytest.approx(1.0, abs=1e-4)
    with Image.open(png) as image:
        assert "shifted.nc (10° → baseline grid, bilinear)" in image.text["Comment"]


def test_group_whose_scenario_was_regridded_says_so(compare, files, tmp_path):
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        textwrap.dedent(
            f"""
            datasets:
              - {{id: plain, adapter: netcdf, path: {files["plain"]}}}
              - {{id: shifted, adapter: netcdf, path: {files["shifted"]}}}
            scenario_groups:
              - {{id: what-if, baseline: plain, scenarios: {{shifted: shifted}}}}
            """
        ),
        encoding="utf-8",
    )
    png = tmp_path / "group.png"
    result = compare(
        "what-if", "--catalog", str(catalog), "--var", "thetao", "--scenario", "shifted",
        "--bbox", "20,-60,120,60", "--bare", "-o", str(png),
    )  # fmt: skip

    assert result.code == 0, result.err
    assert "; regridded: shifted (10° → baseline grid, bilinear))" in result.out
    with Image.open(png) as image:
        assert "shifted (10° → baseline grid, bilinear)" in image.text["Comment"]


@pytest.mark.parametrize(
    ("other", "expected"),
    [
        ("kelvin", "'thetao' is in 'K' in run 'kelvin.nc' but in 'degC' in 'baseline'"),
        ("noleap", "run 'noleap.nc' uses the noleap calendar and 'baseline' the standard"),
        ("curvilinear", "only regular (1-D lat/lon) grids are regridded here"),
        ("base", "run 'base.nc' is on a different grid than 'baseline' (depth differs)"),
    ],
)
def test_scenario_file_that_cannot_be_compared_is_refused(
    compare, files, tmp_path, other, expected
):
    out = tmp_path / "never.png"
    result = compare(files["plain"], "--var", "thetao", "--scenario", files[other], "-o", str(out))

    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert expected in lines[0]
    assert not out.exists()


# -- bad input: one line on stderr, exit status 2 -------------------------------------------
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--scenario", "heatwav"), "no scenario 'heatwav' (did you mean 'heatwave'?)"),
        (("--scenario", "heatwave", "--baseline", "heatwave"), "choose a what-if scenario"),
        (("--scenario", "heatwave", "--var", "thetoa"), "did you mean 'thetao'"),
        (("--scenario", "heatwave", "--mode", "ratio"), "invalid choice: 'ratio'"),
        (("--scenario", "heatwave", "--threshold", "-1"), "the threshold is a magnitude"),
        (("--scenario", "heatwave", "--bbox", "10,60,20,50"), "S must be below N"),
        (
            ("--scenario", "heatwave", "--bbox", "110,-10,120,10", "--stats", "stats.json"),
            "the region holds no sea cell",  # the probe ocean's continent
        ),
        (("--scenario", "heatwave", "--time", "yesterday"), "is not an ISO time"),
        (("--scenario", "heatwave", "--depth", "-5"), "positive down"),
        (("--scenario", "heatwave", "--stats", "stats.txt"), "the output is JSON"),
        (("--scenario", "heatwave", "--cmap", "balanse"), "did you mean 'balance'"),
        (("--scenario", "no/such/run.nc"), "no/such/run.nc"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(compare, files, tmp_path, args, expected):
    args = tuple(str(tmp_path / a) if a.startswith("stats.") else a for a in args)
    out = tmp_path / "never.png"
    result = compare(files["runs"], "--var", "thetao", *args, "-o", str(out))

    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert expected in lines[0]
    assert not out.exists()


def test_a_scenario_source_with_several_runs_is_refused(compare, files, tmp_path):
    result = compare(
        files["base"], "--var", "thetao", "--scenario", files["runs"], "-o", str(tmp_path / "x.png")
    )

    assert result.code == 2
    assert "that source has several runs (baseline, warming_1p5, heatwave)" in result.err


def test_compare_as_typed_in_a_shell(files, tmp_path):
    command = pathlib.Path(sys.executable).with_name("ocean-explorer")
    result = subprocess.run(
        [str(command), "compare", files["runs"], "--var", "thetao", "--scenario", "warming",
         "-o", str(tmp_path / "x.png")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith("ocean-explorer: error: ")
    assert "no scenario 'warming'" in lines[0] and "baseline, warming_1p5, heatwave" in lines[0]
