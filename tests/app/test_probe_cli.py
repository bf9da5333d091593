"""``ocean-explorer timeseries`` and ``export`` on NetCDF files whose values are known.

The files are :func:`tests.synthetic.probe_ocean`: a global 5° ocean (centres -177.5..177.5,
-60..60) whose sea temperature at every cell, step and level is
:func:`tests.synthetic.probe_value`, with an island and a continent of NaN. The commands run
in this process through ``app.cli.main`` (as a user's shell would call them, stdout and
stderr captured); two run the installed ``ocean-explorer`` in a subprocess.
"""

from __future__ import annotations

import math
import pathlib
import subprocess
import sys
from dataclasses import dataclass

import dask.array
import numpy as np
import pytest
import xarray as xr

from app.cli import EXPORT_LIMIT_ENV, main
from app.cli import common as cli
from data_adapters import open_source
from tests import synthetic
from tests.synthetic import PROBE_DEPTHS, RUN_OFFSETS, probe_value

#: The probe ocean's daily steps, as the CSV writes them.
DAYS = [f"2025-01-0{d}" for d in range(1, 7)]
#: Mean Earth radius (km), as the probes use it.
R = 6371.0088


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()


@pytest.fixture
def cli_run(capsys, monkeypatch):
    """Run ``ocean-explorer ARGS`` in this process: exit status, stdout, stderr."""
    monkeypatch.delenv(EXPORT_LIMIT_ENV, raising=False)

    def run(*args: str) -> Result:
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's own errors
            code = exc.code
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    """The probe ocean as one run, with three runs, on a noleap calendar, and NEMO's grid."""
    folder = tmp_path_factory.mktemp("probes")
    return {
        "ocean": synthetic.write_netcdf(synthetic.probe_ocean(), folder / "ocean.nc"),
        "runs": synthetic.write_netcdf(synthetic.probe_ocean(runs=True), folder / "runs.nc"),
        "noleap": synthetic.write_netcdf(
            synthetic.probe_ocean(calendar="noleap"), folder / "noleap.nc"
        ),
        "nemo": synthetic.write_netcdf(synthetic.nemo_curvilinear(), folder / "nemo.nc"),
    }


def haversine_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * R * math.asin(math.sqrt(h))


def rows(result: Result) -> list[list[str]]:
    """The CSV rows after the cell line and the header."""
    return [line.split(",") for line in result.lines[2:]]


def assert_one_line_error(result: Result, expected: str) -> None:
    assert result.code == 2, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert expected in lines[0]
    assert "Traceback" not in result.err
    assert result.out == ""  # no half CSV on stdout


# -- timeseries -----------------------------------------------------------------------------
def test_timeseries_names_the_cell_and_prints_its_values(cli_run, files):
    result = cli_run("timeseries", files["ocean"], "--var", "thetao", "--lon", "-100.2",
                     "--lat", "-31.4")  # fmt: skip

    assert result.code == 0, result.err
    # nearest centres: -102.5 (2.3° away, -97.5 is 2.7°) and -30; the top level, 0.5 m
    assert result.lines[0] == "# lon=-102.5,lat=-30,depth=0.5"
    assert result.lines[1] == "time,value"
    assert [row[0] for row in rows(result)] == DAYS
    values = [float(row[1]) for row in rows(result)]
    assert values == list(probe_value(-102.5, -30.0, np.arange(6), 0.5))
    assert result.err == ""


@pytest.mark.parametrize(("lon", "cell"), [("257.5", "-102.5"), ("179.9", "177.5"),
                                           ("-179.9", "-177.5"), ("-180", "-177.5")])  # fmt: skip
def test_timeseries_longitudes_wrap(cli_run, files, lon, cell):
    result = cli_run("timeseries", files["ocean"], "--var", "zos", "--lon", lon, "--lat", "-30")

    assert result.code == 0, result.err
    assert result.lines[0] == f"# lon={cell},lat=-30"  # zos has no depth


@pytest.mark.parametrize(("asked", "level"), [("40", 10.0), ("0", 0.5), ("400", 500.0)])
def test_timeseries_depth_takes_the_nearest_level(cli_run, files, asked, level):
    result = cli_run("timeseries", files["ocean"], "--var", "thetao", "--lon", "1", "--lat", "0",
                     "--depth", asked)  # fmt: skip

    assert result.code == 0, result.err
    assert result.lines[0] == f"# lon=2.5,lat=0,depth={level:g}"
    values = [float(row[1]) for row in rows(result)]
    assert values == list(probe_value(2.5, 0.0, np.arange(6), level))


def test_timeseries_period_includes_start_and_end(cli_run, files):
    result = cli_run("timeseries", files["ocean"], "--var", "zos", "--lon", "0", "--lat", "0",
                     "--start", "2025-01-02", "--end", "2025-01-04")  # fmt: skip

    assert result.code == 0, result.err
    assert rows(result) == [["2025-01-02", "1.0"], ["2025-01-03", "2.0"], ["2025-01-04", "3.0"]]


def test_timeseries_period_as_typed_loosely(cli_run, files):
    result = cli_run("timeseries", files["ocean"], "--var", "zos", "--lon", "0", "--lat", "0",
                     "--start", "2025-1-5T00", "--end", "2025-01-06T00:00:00Z")  # fmt: skip

    assert result.code == 0, result.err
    assert [row[0] for row in rows(result)] == ["2025-01-05", "2025-01-06"]


def test_timeseries_writes_a_csv_file(cli_run, files, tmp_path):
    out = tmp_path / "series.csv"

    result = cli_run("timeseries", files["ocean"], "--var", "thetao", "--lon", "-100.2",
                     "--lat", "-31.4", "-o", str(out))  # fmt: skip

    assert result.code == 0, result.err
    assert f"wrote {out}" in result.out and "6 steps" in result.out
    lines = out.read_text().splitlines()
    assert lines[0] == "# lon=-102.5,lat=-30,depth=0.5"
    assert lines[1] == "time,value"
    assert len(lines) == 2 + 6


def test_timeseries_of_every_run(cli_run, files):
    result = cli_run("timeseries", files["runs"], "--var", "thetao", "--lon", "-100",
                     "--lat", "-30", "--scenario", "all")  # fmt: skip

    assert result.code == 0, result.err
    assert result.lines[1] == "time," + ",".join(RUN_OFFSETS)
    for k, row in enumerate(rows(result)):
        expected = [probe_value(-102.5, -30.0, k, 0.5, offset) for offset in RUN_OFFSETS.values()]
        assert [float(v) for v in row[1:]] == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize(("scenario", "offset"), [(None, 0.0), ("heatwave", 3.0)])
def test_timeseries_of_one_run(cli_run, files, scenario, offset):
    extra = ("--scenario", scenario) if scenario else ()
    result = cli_run("timeseries", files["runs"], "--var", "thetao", "--lon", "-100",
                     "--lat", "-30", *extra)  # fmt: skip

    assert result.code == 0, result.err
    assert result.lines[1] == "time,value"
    values = [float(row[1]) for row in rows(result)]
    assert values == pytest.approx(probe_value(-102.5, -30.0, np.arange(6), 0.5, offset))


def test_timeseries_of_every_run_of_a_single_run_source(cli_run, files):
    result = cli_run("timeseries", files["ocean"], "--var", "zos", "--lon", "0", "--lat", "0",
                     "--scenario", "all")  # fmt: skip

    assert result.code == 0, result.err
    assert result.lines[1] == "time,baseline"
    assert [row[1] for row in rows(result)] == [f"{k:.1f}" for k in range(6)]


def test_timeseries_of_a_variable_stored_once_beside_the_runs(cli_run, files):
    """Sea level is stored once in the runs file: it is every run's."""
    every = cli_run("timeseries", files["runs"], "--var", "zos", "--lon", "0", "--lat", "0",
                    "--scenario", "all")  # fmt: skip
    heatwave = cli_run("timeseries", files["runs"], "--var", "zos", "--lon", "0", "--lat", "0",
                       "--scenario", "heatwave")  # fmt: skip

    assert every.code == 0, every.err
    assert every.lines[1] == "time," + ",".join(RUN_OFFSETS)
    assert [row[1:] for row in rows(every)] == [[f"{k:.1f}"] * 3 for k in range(6)]
    assert heatwave.code == 0, heatwave.err
    assert [row[1] for row in rows(heatwave)] == [f"{k:.1f}" for k in range(6)]


def test_timeseries_on_land_uses_the_nearest_sea_cell_and_says_so(cli_run, files):
    # in the island's cell (-22.5, 25); the sea is one cell east, at (-17.5, 25)
    result = cli_run("timeseries", files["ocean"], "--var", "thetao", "--lon", "-24",
                     "--lat", "27")  # fmt: skip

    assert result.code == 0, result.err
    assert result.lines[0] == "# lon=-17.5,lat=25,depth=0.5"
    values = [float(row[1]) for row in rows(result)]
    assert values == list(probe_value(-17.5, 25.0, np.arange(6), 0.5))
    note = result.err.strip().splitlines()
    assert len(note) == 1
    km = haversine_km(-24.0, 27.0, -17.5, 25.0)
    assert "(-24, 27) is on land" in note[0]
    assert f"lon=-17.5, lat=25, depth=0.5 m ({km:.0f} km away)" in note[0]


def test_timeseries_on_a_noleap_calendar(cli_run, files):
    result = cli_run("timeseries", files["noleap"], "--var", "zos", "--lon", "0", "--lat", "0",
                     "--start", "2001-02-28", "--end", "2001-3-1")  # fmt: skip

    assert result.code == 0, result.err
    # from 2001-02-26: the 28th is step 2, and 1 March follows it (no 29 February)
    assert rows(result) == [["2001-02-28", "2.0"], ["2001-03-01", "3.0"]]


def test_timeseries_on_a_curvilinear_nemo_grid(cli_run, files):
    ds = synthetic.nemo_curvilinear()
    lon2d, lat2d = ds["nav_lon"].values, ds["nav_lat"].values
    distance = np.vectorize(haversine_km)(lon2d, lat2d, -15.0, 43.0)
    j, i = np.unravel_index(int(np.argmin(distance)), distance.shape)

    result = cli_run("timeseries", files["nemo"], "--var", "thetao", "--lon", "-15", "--lat", "43")

    assert result.code == 0, result.err
    lon, lat = float(lon2d[j, i]), float(lat2d[j, i])
    assert result.lines[0] == f"# lon={lon:g},lat={lat:g},depth=0.5"
    expected = np.float32(synthetic.marker(lon, lat))
    assert [np.float32(row[1]) for row in rows(result)] == [expected, expected]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--lon", "0", "--lat", "70"), "(0, 70) is outside the grid"),
        (("--lon", "120", "--lat", "0"), "(120, 0) is on land"),
        (("--lon", "0", "--lat", "0", "--var", "thetaa"), "did you mean 'thetao'?"),
        (("--lon", "0", "--lat", "0", "--start", "2025-02-30"), "start '2025-02-30' is not a"),
        (("--lon", "0", "--lat", "0", "--end", "03/01/2025"), "--end '03/01/2025' is not an ISO"),
        (("--lon", "0", "--lat", "0", "--start", "2026-01-01"), "no time step from 2026-01-01"),
        (("--lon", "400", "--lat", "0"), "400 is not a longitude"),
        (("--lon", "0", "--lat", "-91"), "-91 is not a latitude"),
        (("--lon", "0", "--lat", "0", "--depth", "-5"), "positive down"),
        (("--lon", "0", "--lat", "0", "--scenario", "heatwave"), "no scenario 'heatwave'"),
        (("--lon", "0", "--lat", "0", "-o", "series.txt"), "name it something.csv"),
        (("--lon", "0", "--lat", "0", "-o", "/no/such/dir/s.csv"), "no directory /no/such/dir"),
    ],
)
def test_timeseries_bad_input_is_one_line_and_status_2(cli_run, files, args, expected):
    if "--var" not in args:
        args = ("--var", "thetao", *args)

    result = cli_run("timeseries", files["ocean"], *args)

    assert_one_line_error(result, expected)


def test_timeseries_depth_of_a_surface_variable_is_refused(cli_run, files):
    result = cli_run("timeseries", files["ocean"], "--var", "zos", "--lon", "0", "--lat", "0",
                     "--depth", "10")  # fmt: skip

    assert_one_line_error(result, "'zos' has no depth levels; leave the depth out")


def test_timeseries_to_an_unwritable_file(cli_run, files, tmp_path):
    taken = tmp_path / "series.csv"
    taken.mkdir()  # a directory where the file should go: no one, root included, can write it

    result = cli_run("timeseries", files["ocean"], "--var", "zos", "--lon", "0", "--lat", "0",
                     "-o", str(taken))  # fmt: skip

    assert_one_line_error(result, f"-o {taken}: cannot write")


def test_noleap_calendar_has_no_29_february(cli_run, files):
    result = cli_run("timeseries", files["noleap"], "--var", "zos", "--lon", "0", "--lat", "0",
                     "--start", "2001-02-29")  # fmt: skip

    assert_one_line_error(result, "start '2001-02-29' is not a time of this calendar (noleap)")


@pytest.mark.slow
def test_the_installed_command_fails_with_one_line(files):
    command = pathlib.Path(sys.executable).with_name("ocean-explorer")
    result = subprocess.run(
        [str(command), "timeseries", files["ocean"], "--var", "thetao", "--lon", "0",
         "--lat", "75"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "(0, 75) is outside the grid" in lines[0] and "pick a point inside it" in lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.slow
def test_the_installed_command_stops_quietly_when_the_reader_does(files):
    """``ocean-explorer timeseries ... | head -1``: the pipe closes before the CSV is written."""
    command = pathlib.Path(sys.executable).with_name("ocean-explorer")
    process = subprocess.Popen(
        [str(command), "timeseries", files["ocean"], "--var", "thetao", "--lon", "0",
         "--lat", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    process.stdout.close()  # long before the command has imported what it needs

    _, err = process.communicate(timeout=120)

    assert process.returncode == 0
    assert err == ""


# -- export ---------------------------------------------------------------------------------
def expected_block(lon: np.ndarray, lat: np.ndarray, steps, depths) -> np.ndarray:
    """probe_value on (time, depth, lat, lon), NaN on the probe ocean's land."""
    steps, depths = np.asarray(steps), np.asarray(depths)
    values = probe_value(
        lon[None, None, None, :], lat[None, None, :, None], steps[:, None, None, None],
        depths[None, :, None, None],
    )  # fmt: skip
    land = synthetic.probe_is_land(lon[None, :], lat[:, None])
    return np.where(land[None, None], np.nan, values)


def test_export_netcdf_of_a_box_and_period_round_trips(cli_run, files, tmp_path):
    out = tmp_path / "box.nc"

    result = cli_run("export", files["ocean"], "--var", "thetao", "--bbox", "-50,-12,-30,12",
                     "--start", "2025-01-02", "--end", "2025-01-03", "-o", str(out))  # fmt: skip

    assert result.code == 0, result.err
    assert f"wrote {out}" in result.out
    with xr.open_dataset(out) as ds:
        thetao = ds["thetao"].load()
        assert thetao.dims == ("time", "depth", "lat", "lon")
        np.testing.assert_array_equal(ds["lon"], [-47.5, -42.5, -37.5, -32.5])
        np.testing.assert_array_equal(ds["lat"], [-10.0, -5.0, 0.0, 5.0, 10.0])
        np.testing.assert_array_equal(ds["depth"], PROBE_DEPTHS)
        assert [str(t)[:10] for t in ds["time"].values] == ["2025-01-02", "2025-01-03"]
        expected = expected_block(ds["lon"].values, ds["lat"].values, [1, 2], PROBE_DEPTHS)
        np.testing.assert_array_equal(thetao.values, expected)
        for key, value in synthetic.THETAO_ATTRS.items():
            assert thetao.attrs[key] == value
        assert ds["lon"].attrs["units"] == "degrees_east"
        assert ds["lat"].attrs["units"] == "degrees_north"
        assert ds["depth"].attrs["units"] == "m" and ds["depth"].attrs["positive"] == "down"
        assert ds.attrs["title"] == "Probe ocean"
        assert ds.attrs["institution"] == "Ocean Explorer tests"
        assert "ocean-explorer export of" in ds.attrs["history"]
        assert "bbox=-50,-12,-30,12" in ds.attrs["history"]
    assert not list(tmp_path.glob("*.part"))


def test_export_netcdf_of_a_box_across_the_dateline(cli_run, files, tmp_path):
    out = tmp_path / "dateline.nc"

    result = cli_run("export", files["ocean"], "--var", "thetao", "--bbox", "170,-12,-165,12",
                     "--depth", "0", "-o", str(out))  # fmt: skip

    assert result.code == 0, result.err
    with xr.open_dataset(out) as ds:
        assert set(ds["lon"].values) == {172.5, 177.5, -177.5, -172.5, -167.5}
        assert float(ds["depth"]) == 0.5 and "depth" not in ds["thetao"].dims
        expected = expected_block(ds["lon"].values, ds["lat"].values, np.arange(6), [0.5])[:, 0]
        np.testing.assert_array_equal(ds["thetao"].values, expected)


def test_export_one_level_of_one_run(cli_run, files, tmp_path):
    out = tmp_path / "level.nc"

    result = cli_run("export", files["runs"], "--var", "thetao", "--bbox", "0,0,10,10",
                     "--depth", "40", "--scenario", "warming_1p5", "-o", str(out))  # fmt: skip

    assert result.code == 0, result.err
    with xr.open_dataset(out) as ds:
        assert float(ds["depth"]) == 10.0
        assert str(ds["scenario"].values) == "warming_1p5"
        lon, lat = ds["lon"].values, ds["lat"].values
        np.testing.assert_array_equal(lon, [2.5, 7.5])
        np.testing.assert_array_equal(lat, [0.0, 5.0, 10.0])
        expected = expected_block(lon, lat, np.arange(6), [10.0])[:, 0] + 1.5
        np.testing.assert_allclose(ds["thetao"].values, expected, rtol=1e-15)


def test_export_keeps_a_noleap_calendar(cli_run, files, tmp_path):
    out = tmp_path / "noleap.nc"

    result = cli_run("export", files["noleap"], "--var", "zos", "--bbox", "0,0,10,10",
                     "--start", "2001-02-28", "-o", str(out))  # fmt: skip

    assert result.code == 0, result.err
    with xr.open_dataset(out) as ds:
        times = ds["time"].values
        assert times[0].calendar == "noleap"
        assert [t.strftime("%Y-%m-%d") for t in times] == [
            "2001-02-28",
            "2001-03-01",
            "2001-03-02",
            "2001-03-03",
        ]
        np.testing.assert_array_equal(ds["zos"].isel(lat=0, lon=0).values, [2.0, 3.0, 4.0, 5.0])


def test_export_csv_has_a_row_per_sea_value(cli_run, files, tmp_path):
    """The box holds 5 x 3 cells, 12 of them the island's: 3 sea cells, 2 steps, 1 level."""
    out = tmp_path / "box.csv"

    result = cli_run("export", files["ocean"], "--var", "thetao", "--bbox", "-45,18,-20,32",
                     "--depth", "100", "--end", "2025-01-02", "-o", str(out))  # fmt: skip

    assert result.code == 0, result.err
    assert "6 rows" in result.out
    lines = out.read_text().splitlines()
    assert lines[0] == "time,depth,lat,lon,value"
    body = [line.split(",") for line in lines[1:]]
    assert len(body) == 6
    step = {day: k for k, day in enumerate(DAYS)}
    for time, depth, lat, lon, value in body:
        assert float(lon) == -42.5 and float(depth) == 100.0
        assert float(value) == probe_value(float(lon), float(lat), step[time], 100.0)
    assert {(row[0], float(row[2])) for row in body} == {
        (day, lat) for day in DAYS[:2] for lat in (20.0, 25.0, 30.0)
    }


def test_export_csv_of_every_level(cli_run, files, tmp_path):
    out = tmp_path / "column.csv"

    result = cli_run("export", files["ocean"], "--var", "thetao", "--bbox", "0,0,10,10",
                     "--start", "2025-01-06", "-o", str(out))  # fmt: skip

    assert result.code == 0, result.err
    body = [line.split(",") for line in out.read_text().splitlines()[1:]]
    assert len(body) == 2 * 3 * PROBE_DEPTHS.size  # lon 2.5, 7.5 by lat 0, 5, 10
    assert {float(row[1]) for row in body} == set(PROBE_DEPTHS)
    for _, depth, lat, lon, value in body:
        assert float(value) == probe_value(float(lon), float(lat), 5, float(depth))


def test_export_csv_of_every_run(cli_run, files, tmp_path):
    out = tmp_path / "runs.csv"

    result = cli_run("export", files["runs"], "--var", "thetao", "--bbox", "0,0,5,5",
                     "--depth", "0", "--end", "2025-01-01", "--scenario", "all",
                     "-o", str(out))  # fmt: skip

    assert result.code == 0, result.err
    lines = out.read_text().splitlines()
    assert lines[0] == "scenario,time,depth,lat,lon,value"
    body = [line.split(",") for line in lines[1:]]
    assert len(body) == len(RUN_OFFSETS) * 2  # cells (2.5, 0) and (2.5, 5)
    for scenario, time, depth, lat, lon, value in body:
        assert (time, depth, lon) == ("2025-01-01", "0.5", "2.5")
        expected = probe_value(2.5, float(lat), 0, 0.5, RUN_OFFSETS[scenario])
        assert float(value) == pytest.approx(expected, rel=1e-15)


#: Size of the whole probe ocean's sea temperature: 6 steps x 4 levels x 25 x 72 float64.
WHOLE_MB = 6 * 4 * 25 * 72 * 8 / 1e6


def test_export_above_the_limit_is_refused_with_size_and_limit(cli_run, files, tmp_path):
    out = tmp_path / "all.nc"

    result = cli_run("export", files["ocean"], "--var", "thetao", "--max-mb", "0.1", "-o", str(out))

    assert_one_line_error(result, f"would write about {WHOLE_MB:.1f} MB as NetCDF")
    assert "above the limit of 0.1 MB" in result.err
    assert "--bbox" in result.err and "--max-mb" in result.err  # how to fix it
    assert not out.exists()


def test_export_limit_from_the_environment(cli_run, files, tmp_path, monkeypatch):
    out = tmp_path / "all.nc"
    monkeypatch.setenv(EXPORT_LIMIT_ENV, "0.2")

    refused = cli_run("export", files["ocean"], "--var", "thetao", "-o", str(out))
    allowed = cli_run("export", files["ocean"], "--var", "thetao", "--max-mb", "1", "-o", str(out))

    assert_one_line_error(refused, "above the limit of 0.2 MB")
    assert allowed.code == 0, allowed.err  # --max-mb wins over the environment
    assert out.exists()


def test_export_limit_in_the_environment_must_be_a_size(cli_run, files, tmp_path, monkeypatch):
    monkeypatch.setenv(EXPORT_LIMIT_ENV, "lots")

    result = cli_run("export", files["ocean"], "--var", "zos", "-o", str(tmp_path / "z.nc"))

    assert_one_line_error(result, f"{EXPORT_LIMIT_ENV}='lots'")


def test_export_csv_limit_counts_the_text(cli_run, files, tmp_path):
    """A CSV row holds depth, lat, lon and value as text: far more than 8 bytes a value."""
    result = cli_run("export", files["ocean"], "--var", "thetao", "--max-mb",
                     f"{WHOLE_MB * 2:.3f}", "-o", str(tmp_path / "all.csv"))  # fmt: skip

    assert_one_line_error(result, "as CSV, above the limit")


def test_export_refuses_before_reading_any_value(cli_run, files, tmp_path, monkeypatch):
    """The source's values raise when read: a refusal must come from the sizes alone."""
    opened = open_source(files["ocean"])
    poisoned = opened.dataset.copy()

    def unreadable(block_info=None):
        raise AssertionError("a value was read")

    shape = poisoned["thetao"].shape
    poisoned["thetao"] = poisoned["thetao"].copy(
        data=dask.array.map_blocks(unreadable, chunks=tuple((n,) for n in shape), dtype=float)
    )
    opened = type(opened)(opened.id, opened.title, poisoned)
    monkeypatch.setattr(cli, "open_source", lambda source, catalog=None: opened)

    result = cli_run("export", "poisoned", "--var", "thetao", "--max-mb", "0.1",
                     "-o", str(tmp_path / "x.nc"))  # fmt: skip

    assert_one_line_error(result, "above the limit of 0.1 MB")
    with pytest.raises(AssertionError, match="a value was read"):  # the poison works
        cli_run("export", "poisoned", "--var", "thetao", "-o", str(tmp_path / "y.nc"))


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--bbox", "1,1,2,2"), "no cell centre of the grid lies inside the box"),
        (("--bbox", "0,10,20,5"), "S must be below N"),
        (("--var", "thetaoo"), "did you mean 'thetao'?"),
        (("--start", "2025-01-09"), "no time step from 2025-01-09"),
        (("--end", "tomorrow"), "--end 'tomorrow' is not an ISO time"),
        (("--depth", "-1"), "positive down"),
        (("--max-mb", "0"), "expected a positive size in MB"),
    ],
)
def test_export_bad_input_is_one_line_and_status_2(cli_run, files, tmp_path, args, expected):
    if "--var" not in args:
        args = ("--var", "thetao", *args)

    result = cli_run("export", files["ocean"], *args, "-o", str(tmp_path / "x.nc"))

    assert_one_line_error(result, expected)
    assert not (tmp_path / "x.nc").exists()


@pytest.mark.parametrize("suffix", [".nc", ".csv"])
def test_export_to_an_unwritable_file(cli_run, files, tmp_path, suffix):
    taken = tmp_path / f"subset{suffix}"
    taken.mkdir()

    result = cli_run("export", files["ocean"], "--var", "zos", "-o", str(taken))

    assert_one_line_error(result, f"-o {taken}: cannot write")
    assert taken.is_dir() and not list(tmp_path.glob("*.part"))


@pytest.mark.parametrize(
    ("output", "expected"),
    [("/no/such/dir/x.nc", "no directory /no/such/dir"), ("x.png", "the output is NetCDF or CSV")],
)
def test_export_output_name_is_checked_first(cli_run, files, output, expected):
    result = cli_run("export", files["ocean"], "--var", "zos", "-o", output)

    assert_one_line_error(result, expected)


def test_export_csv_of_a_box_on_a_curvilinear_grid_has_only_the_cells_inside(
    cli_run, files, tmp_path
):
    """The sheared NEMO grid's rows and columns cross the box: rows outside it are left out."""
    out = tmp_path / "box.csv"
    west, south, east, north = -13.0, 42.0, -8.0, 45.0

    result = cli_run("export", files["nemo"], "--var", "thetao", "--bbox", "-13,42,-8,45",
                     "-o", str(out))  # fmt: skip

    assert result.code == 0, result.err
    rows = np.genfromtxt(out, delimiter=",", names=True, dtype=None, encoding=None)
    inside = (rows["lon"] >= west) & (rows["lon"] <= east)
    inside &= (rows["lat"] >= south) & (rows["lat"] <= north)
    assert inside.all()
    ds = synthetic.nemo_curvilinear()
    lon, lat = ds["nav_lon"].values, ds["nav_lat"].values
    cells = (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)
    assert rows.size == cells.sum() * ds.sizes["time_counter"] * ds.sizes["deptht"]
    want = {(round(a, 6), round(b, 6)) for a, b in zip(lon[cells], lat[cells], strict=True)}
    assert {
        (round(a, 6), round(b, 6)) for a, b in zip(rows["lon"], rows["lat"], strict=True)
    } == want


def test_export_netcdf_of_a_curvilinear_box_masks_the_cells_outside(cli_run, files, tmp_path):
    out = tmp_path / "box.nc"

    result = cli_run("export", files["nemo"], "--var", "thetao", "--bbox", "-13,42,-8,45",
                     "--depth", "0", "-o", str(out))  # fmt: skip

    assert result.code == 0, result.err
    with xr.open_dataset(out) as ds:
        thetao = ds["thetao"].isel(time=0).load()
        lon, lat = ds["lon"].values, ds["lat"].values
        inside = (lon >= -13) & (lon <= -8) & (lat >= 42) & (lat <= 45)
        assert thetao.shape == (2, 3) and not inside.all()
        assert np.isfinite(thetao.values[inside]).all()
        assert np.isnan(thetao.values[~inside]).all()
        assert "cells whose centre lies outside the box" in thetao.attrs["comment"]
