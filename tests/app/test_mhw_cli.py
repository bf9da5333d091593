"""``ocean-explorer mhw`` and ``--show`` on a daily NetCDF file whose heatwave is known.

The file is 30 years (1991-2020) of daily sea temperature on a 3 x 4 cell grid: a seasonal
cycle, day-to-day noise and, at one cell in summer 2020, a 20-day heatwave 4 °C above the
seasonal cycle. The commands run in this process through ``app.cli.main``.
"""

from __future__ import annotations

import csv
import io
import pathlib

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from app.cli import main
from components.core import climatology, mhw, regions

COLUMNS = (
    "date_start,date_peak,date_end,duration,intensity_max,intensity_mean,"
    "intensity_cumulative,category"
)
TIMES = pd.date_range("1991-01-01", "2020-12-31", freq="D")
HOT = (TIMES >= "2020-07-01") & (TIMES <= "2020-07-20")
LAT, LON = np.array([40.5, 41.5, 42.5]), np.array([-150.5, -149.5, -148.5, -147.5])


def _sst() -> np.ndarray:
    rng = np.random.default_rng(7)
    doy = TIMES.day_of_year.to_numpy()
    season = 15 + 4 * np.sin(2 * np.pi * (doy - 120) / 365.25)
    values = season[:, None, None] + 0.4 * rng.standard_normal((TIMES.size, 3, 4))
    values[HOT, 1, 2] = season[HOT] + 4.0
    return values


@pytest.fixture(scope="module")
def sst_file(tmp_path_factory) -> pathlib.Path:
    path = tmp_path_factory.mktemp("mhw") / "sst.nc"
    ds = xr.Dataset(
        {"sst": (("time", "lat", "lon"), _sst(), {"units": "degC", "long_name": "SST"})},
        coords={
            "time": TIMES,
            "lat": ("lat", LAT, {"units": "degrees_north"}),
            "lon": ("lon", LON, {"units": "degrees_east"}),
        },
    )
    ds.to_netcdf(path)
    return path


def run(capsys, *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_mhw_at_a_point_writes_exactly_the_event_columns_and_finds_the_heatwave(sst_file, capsys):
    code, out, err = run(
        capsys, "mhw", str(sst_file), "--var", "sst", "--lon=-148.6", "--lat", "41.6"
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == COLUMNS
    rows = list(csv.DictReader(io.StringIO(out)))
    heat = [r for r in rows if r["date_start"].startswith("2020-07")]
    assert len(heat) == 1
    assert (heat[0]["date_start"], heat[0]["date_end"]) == ("2020-07-01", "2020-07-20")
    assert heat[0]["duration"] == "20" and heat[0]["category"] == "Extreme"
    assert 3.0 < float(heat[0]["intensity_mean"]) < 5.0
    # the same events as the core finds on the same series and reference period
    values = _sst()[:, 1, 2]
    seas, thresh = climatology.daily_climatology(
        values, TIMES.to_numpy(), climatology.parse_reference("1991/2020")
    )
    doy = climatology.day_of_year(TIMES.to_numpy()) - 1
    expected = mhw.events(TIMES.to_numpy(), values, seas[doy], thresh[doy])
    assert [r["date_start"] for r in rows] == list(expected["date_start"])


def test_mhw_reference_period_changes_the_climatology(sst_file, capsys, tmp_path):
    out = tmp_path / "events.csv"
    code, said, err = run(
        capsys, "mhw", str(sst_file), "--var", "sst", "--lon=-148.6", "--lat=41.6",
        "--reference", "1991/2000", "-o", str(out),
    )  # fmt: skip
    assert code == 0, err
    assert "marine heatwaves at" in said
    assert out.read_text().splitlines()[0] == COLUMNS
    code, whole, _ = run(capsys, "mhw", str(sst_file), "--var", "sst", "--lon=-148.6", "--lat=41.6")
    assert out.read_text() != whole  # a different period, different thresholds and events


def test_mhw_in_a_box_gives_the_daily_area_in_each_category(sst_file, capsys):
    code, out, err = run(capsys, "mhw", str(sst_file), "--var", "sst", "--bbox=-151,40,-147,43")
    assert code == 0, err
    frame = pd.read_csv(io.StringIO(out))
    assert list(frame.columns) == [
        "date", "area_moderate_km2", "area_strong_km2", "area_severe_km2", "area_extreme_km2",
    ]  # fmt: skip
    assert len(frame) == TIMES.size
    cell = regions.cell_area_km2(xr.Dataset(coords={"lat": LAT, "lon": LON}))
    one_cell = float(cell.isel(lat=1, lon=2))
    day = frame.set_index("date").loc["2020-07-10"]
    assert day.sum() == pytest.approx(one_cell, rel=1e-6)


def test_mhw_refuses_a_box_too_large_to_read_at_once(capsys):
    # the whole 1-degree globe over 33 years: 780 million values, refused before any read
    code, out, err = run(capsys, "mhw", "demo-past", "--var", "thetao", "--bbox=-180,-80,180,80")
    assert code == 2 and out == ""
    assert "days" in err and "choose a smaller box" in err and len(err.strip().splitlines()) == 1


def test_timeseries_shows_the_anomaly_and_the_category(sst_file, capsys):
    args = ["timeseries", str(sst_file), "--var", "sst", "--lon=-148.6", "--lat=41.6"]
    window = ["--start", "2020-07-09", "--end", "2020-07-10"]
    code, out, err = run(capsys, *args, *window, "--show", "anomaly")
    assert code == 0, err
    anomalies = [float(line.split(",")[1]) for line in out.splitlines()[2:]]
    assert len(anomalies) == 2 and all(3.0 < a < 5.5 for a in anomalies)
    code, out, _ = run(capsys, *args, *window, "--show", "mhw-category")
    assert [line.split(",")[1] for line in out.splitlines()[2:]] == ["4.0", "4.0"]
    code, out, _ = run(capsys, *args, "--start", "2020-08-10", "--end", "2020-08-10",
                       "--show", "mhw-category")  # fmt: skip
    assert out.splitlines()[2].split(",")[1] == "0.0"


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--lon=-148.6", "--lat=41", "--reference", "1991"], "reference period '1991'"),
        (["--lon=-148.6"], "--lon needs --lat"),
        (["--lon=-148.6", "--lat=41", "--reference", "1950/1960"], "holds no time step"),
    ],
)
def test_bad_mhw_input_is_one_line_and_status_2(sst_file, capsys, extra, says):
    code, _, err = run(capsys, "mhw", str(sst_file), "--var", "sst", *extra)
    assert code == 2 and says in err and len(err.strip().splitlines()) == 1


def test_mhw_refuses_monthly_data_in_one_line(tmp_path, capsys):
    times = pd.date_range("2000-01-01", periods=36, freq="MS")
    path = tmp_path / "monthly.nc"
    xr.Dataset(
        {"sst": (("time", "lat", "lon"), np.ones((36, 3, 4)), {"units": "degC"})},
        coords={"time": times, "lat": LAT, "lon": LON},
    ).to_netcdf(path)
    code, _, err = run(capsys, "mhw", str(path), "--var", "sst", "--lon=-148.6", "--lat=41")
    assert code == 2 and "need daily data" in err


def _colours(png: pathlib.Path) -> set[str]:
    from PIL import Image

    rgb = np.asarray(Image.open(png).convert("RGB")).reshape(-1, 3)
    return {"#{:02x}{:02x}{:02x}".format(*(int(c) for c in px)) for px in np.unique(rgb, axis=0)}


def test_render_shows_the_category_map_in_the_standard_colours(sst_file, capsys, tmp_path):
    """The heatwave cell is Extreme (#2d0000) on its 10th day; the others are in no event."""
    out = tmp_path / "category.png"
    code, _, err = run(
        capsys, "render", str(sst_file), "--var", "sst", "--time", "2020-07-10",
        "--show", "mhw-category", "--bare", "--width", "40", "--height", "30",
        "--bbox=-151,40,-147,43", "-o", str(out),
    )  # fmt: skip
    assert code == 0, err
    colours = _colours(out)
    assert "#2d0000" in colours
    assert not colours & {"#ffc866", "#ff6900", "#9e0000"}
    # a day later in the year, outside the event: no category colour at all
    code, _, err = run(
        capsys, "render", str(sst_file), "--var", "sst", "--time", "2020-09-10",
        "--show", "mhw-category", "--bare", "--width", "40", "--height", "30",
        "--bbox=-151,40,-147,43", "-o", str(out),
    )  # fmt: skip
    colours = _colours(out)
    assert code == 0 and "#2d0000" not in colours


def test_render_anomaly_matches_the_series_anomaly(sst_file, tmp_path):
    """The map's anomaly at a cell is the point series' anomaly there (one climatology)."""
    from components.core import fields, processing, shown_maps

    ds = xr.open_dataset(sst_file)
    choice = fields.Choice("sst", time="2020-07-10")
    shown = processing.Processing.parse("anomaly")
    field = shown_maps.shown_field(ds, choice, shown)
    series = ds["sst"].isel(lat=1, lon=2)
    point = processing.shown_series(series, series, shown, key=None)
    assert float(field.data.isel(lat=1, lon=2)) == pytest.approx(
        float(point.sel(time="2020-07-10")), abs=1e-5
    )
    assert field.chosen["show"].startswith("anomaly 1991/2020")


def test_prepare_climatology_writes_it_ahead_and_render_reads_it(
    sst_file, capsys, tmp_path, monkeypatch
):
    monkeypatch.setenv("OCEAN_EXPLORER_CACHE", str(tmp_path / "cache"))
    code, said, err = run(capsys, "prepare", str(sst_file), "--climatology", "1991/2020")
    assert code == 0, err
    assert "wrote the 1991/2020 climatology of sst" in said
    written = list((tmp_path / "cache" / "climatology").rglob("doy*.npz"))
    assert len(written) == 366
    before = {p: p.stat().st_mtime_ns for p in written}
    out = tmp_path / "anomaly.png"
    code, _, err = run(
        capsys, "render", str(sst_file), "--var", "sst", "--time", "2020-07-10",
        "--show", "anomaly", "--reference", "1991/2020", "-o", str(out),
    )  # fmt: skip
    assert code == 0, err and out.exists()
    after = list((tmp_path / "cache" / "climatology").rglob("doy*.npz"))
    assert {p: p.stat().st_mtime_ns for p in after} == before  # read, not computed again


@pytest.fixture(scope="module")
def runs_file(tmp_path_factory) -> pathlib.Path:
    """Ten years (2011-2020) of two runs: a baseline, and a heatwave run whose one cell is
    4 °C above the baseline on 1-20 July 2020."""
    path = tmp_path_factory.mktemp("runs") / "runs.nc"
    recent = TIMES >= "2011-01-01"
    base = _sst()[recent]
    base[HOT[recent], 1, 2] -= 4.0  # the baseline run has no heatwave
    hot = base.copy()
    hot[HOT[recent], 1, 2] += 4.0
    xr.Dataset(
        {
            "sst": (
                ("scenario", "time", "lat", "lon"),
                np.stack([base, hot]),
                {"units": "degC", "long_name": "SST"},
            )
        },
        coords={
            "scenario": ["baseline", "heatwave"],
            "time": TIMES[recent],
            "lat": ("lat", LAT, {"units": "degrees_north"}),
            "lon": ("lon", LON, {"units": "degrees_east"}),
        },
    ).to_netcdf(path)
    return path


def test_compare_shows_the_change_of_the_category(runs_file, capsys, tmp_path):
    """Heatwave minus baseline of the category: +4 (Extreme) at the hot cell, 0 elsewhere."""
    out, stats = tmp_path / "change.png", tmp_path / "change.json"
    code, _, err = run(
        capsys, "compare", str(runs_file), "--var", "sst", "--scenario", "heatwave",
        "--time", "2020-07-10", "--show", "mhw-category", "--reference", "2011/2020",
        "--stats", str(stats), "-o", str(out),
    )  # fmt: skip
    assert code == 0, err
    import json

    doc = json.loads(stats.read_text())
    assert doc["max_diff"] == pytest.approx(4.0) and doc["min_diff"] == pytest.approx(0.0)
    assert doc["units"] == "1" and doc["show"] == "mhw-category"
    assert doc["area_km2_exceeding"] == pytest.approx(doc["area_km2"] / 12, rel=0.01)
    # the value's change over the same day is the 4 °C of the heatwave, not a category
    code, _, err = run(
        capsys, "compare", str(runs_file), "--var", "sst", "--scenario", "heatwave",
        "--time", "2020-07-10", "--stats", str(stats), "-o", str(out),
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(stats.read_text())["units"] == "degC"
    code, _, err = run(
        capsys, "compare", str(runs_file), "--var", "sst", "--scenario", "heatwave",
        "--show", "anomaly", "--mode", "pct", "-o", str(out),
    )  # fmt: skip
    assert code == 2 and "use --mode diff" in err and len(err.strip().splitlines()) == 1


def test_export_writes_the_shown_quantity_with_its_units(runs_file, capsys, tmp_path):
    out = tmp_path / "category.nc"
    code, _, err = run(
        capsys, "export", str(runs_file), "--var", "sst", "--scenario", "heatwave",
        "--start", "2020-07-09", "--end", "2020-07-10", "--show", "mhw-category",
        "-o", str(out),
    )  # fmt: skip
    assert code == 0, err
    with xr.open_dataset(out) as ds:
        written = ds["sst"].load()
    assert written.sizes["time"] == 2
    assert written.attrs["units"] == "1"
    assert "marine heatwave category" in written.attrs["long_name"]
    assert written.attrs["reference_period"] == "2011/2020"
    assert (written.isel(lat=1, lon=2).values == 4).all()
    assert float(written.sum()) == 8.0  # no other cell is in a heatwave
    csv_out = tmp_path / "anomaly.csv"
    code, _, err = run(
        capsys, "export", str(runs_file), "--var", "sst", "--scenario", "heatwave",
        "--start", "2020-07-10", "--end", "2020-07-10", "--show", "anomaly",
        "--bbox=-149,41,-148,42", "-o", str(csv_out),
    )  # fmt: skip
    assert code == 0, err
    rows = pd.read_csv(csv_out, comment="#")
    assert len(rows) == 1 and 3.0 < float(rows.iloc[0, -1]) < 5.5
