"""Observations matched with a model on analytic cases: known bias and RMSE, counted misses."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from components.core import collocate, tables
from data_adapters.observations import Observations

LEVELS = np.array([0.0, 10.0, 20.0])
TIMES = pd.date_range("2025-01-01", periods=5, freq="D")


def model(runs: bool = False) -> xr.DataArray:
    """value = lon + 0.1 * depth + 1 per day (+ 1 in the 'warm' run); land east of 7.5°E."""
    lon, lat = np.arange(15.0), np.arange(5.0)
    t = np.arange(TIMES.size)[:, None, None, None]
    values = lon[None, None, None, :] + 0.1 * LEVELS[None, :, None, None] + t + 0 * lat[:, None]
    values = np.broadcast_to(values, (5, 3, 5, 15)).copy()
    values[..., 8:] = np.nan
    da = xr.DataArray(
        values,
        dims=("time", "depth", "lat", "lon"),
        coords={"time": TIMES, "depth": LEVELS, "lat": lat, "lon": lon},
        name="thetao",
        attrs={"units": "degC"},
    )
    da["depth"].attrs.update(units="m", positive="down")
    if runs:
        da = xr.concat([da, da + 1], dim=pd.Index(["baseline", "warm"], name="scenario"))
        da.name, da.attrs = "thetao", {"units": "degC"}
    return da.chunk({"time": 1})


def observations(rows: list[tuple]) -> Observations:
    table = pd.DataFrame(rows, columns=["time", "lon", "lat", "depth", "temp"])
    table["time"] = pd.to_datetime(table["time"])
    return Observations(table, {"temp": "degC"}, "obs.csv")


#: At cell centres, step times and levels: the model there is lon + 0.1 depth + day.
EXACT = [
    ("2025-01-01", 1.0, 1.0, 0.0, 1.0 - 1.0),  # model 1, obs 0   -> +1
    ("2025-01-02", 2.0, 2.0, 10.0, 4.0 - 2.0),  # model 4, obs 2  -> +2
    ("2025-01-03", 3.0, 3.0, 20.0, 7.0 - 3.0),  # model 7, obs 4  -> +3
    ("2025-01-04", 4.0, 0.0, 5.0, 7.5 + 2.0),  # model 4 + 0.5 + 3 = 7.5 -> -2
]


def test_exact_matches_give_the_known_bias_rmse_and_mae():
    pairs = collocate.collocate(observations(EXACT), model(), "temp")
    assert list(pairs["status"]) == ["matched"] * 4
    np.testing.assert_allclose(pairs["model"], [1.0, 4.0, 7.0, 7.5])
    stats = collocate.statistics(pairs).as_dict()
    assert list(stats) == ["n", "n_outside", "bias", "rmse", "mae", "correlation"]
    assert stats["n"] == 4 and stats["n_outside"] == 0
    assert stats["bias"] == pytest.approx(1.0)  # (1 + 2 + 3 - 2) / 4
    assert stats["rmse"] == pytest.approx(math.sqrt((1 + 4 + 9 + 4) / 4))
    assert stats["mae"] == pytest.approx(2.0)
    expected_r = np.corrcoef([1.0, 4.0, 7.0, 7.5], [0.0, 2.0, 4.0, 9.5])[0, 1]
    assert stats["correlation"] == pytest.approx(expected_r)


def test_points_on_land_outside_the_grid_or_its_period_are_counted_apart():
    rows = [
        *EXACT,
        ("2025-01-02", 13.0, 2.0, 0.0, 5.0),  # land: 5 cells from the sea
        ("2025-01-02", 40.0, 2.0, 0.0, 5.0),  # outside the grid
        ("2025-03-01", 1.0, 1.0, 0.0, 5.0),  # after the model's last day
        ("2025-01-02", 1.0, 1.0, 35.0, 5.0),  # below the deepest level
        ("2025-01-02", 8.0, 2.0, 0.0, 5.0 - 1.0),  # on land next to the sea: 7°E is used
    ]
    pairs = collocate.collocate(observations(rows), model(), "temp")
    assert list(pairs["status"][4:]) == ["land", "outside", "no time", "below", "matched"]
    assert pairs["cell_lon"].iloc[-1] == 7.0 and pairs["model"].iloc[-1] == 8.0
    stats = collocate.statistics(pairs)
    assert (stats.n, stats.n_outside) == (5, 4)
    assert stats.bias == pytest.approx((1 + 2 + 3 - 2 + 4) / 5)


def test_linear_time_takes_the_steps_around_the_observation():
    rows = [("2025-01-02T12:00", 1.0, 1.0, 0.0, 2.5), ("2025-01-02T18:00", 1.0, 1.0, 0.0, 0.0)]
    nearest = collocate.collocate(observations(rows), model(), "temp")
    linear = collocate.collocate(observations(rows), model(), "temp", time_match="linear")
    np.testing.assert_allclose(linear["model"], [2.5, 2.75])
    np.testing.assert_allclose(nearest["model"], [2.0, 3.0])  # the nearest day (half: first)


def test_every_run_is_compared_with_its_own_statistics():
    pairs = collocate.collocate(observations(EXACT), model(runs=True), "temp", scenario="all")
    by_run = {
        run: collocate.statistics(pairs[pairs["scenario"] == run]).bias
        for run in ("baseline", "warm")
    }
    assert by_run == {"baseline": pytest.approx(1.0), "warm": pytest.approx(2.0)}


def test_the_pairs_csv_has_iso_times_and_empty_missing_values():
    rows = [EXACT[0], ("2025-01-02", 40.0, 2.0, 0.0, 5.0)]
    pairs = collocate.collocate(observations(rows), model(), "temp")
    buffer = io.StringIO()
    tables.write_pairs_csv(pairs, buffer)
    lines = buffer.getvalue().splitlines()
    assert lines[0] == (
        "time,lon,lat,depth,observed,model,model_minus_observed,status,cell_lon,cell_lat,"
        "distance_km"
    )
    assert lines[1].startswith("2025-01-01,1.0,1.0,0.0,0.0,1.0,1.0,matched,1.0,1.0,")
    assert lines[2] == "2025-01-02,40.0,2.0,0.0,5.0,,,outside,,,"


def test_a_series_layout_with_its_map_layout_gives_the_same_pairs():
    # the app and the CLI read values from the point-series layout (whole series per small
    # tile) and the sea mask from one map of the map layout: one map of the series layout
    # would read every cell's whole series
    maps = model(runs=True)
    series = maps.chunk({"time": -1, "lat": 1, "lon": 1})
    rows = [*EXACT, ("2025-01-02", 13.0, 2.0, 0.0, 5.0)]  # and one point on land
    expected = collocate.collocate(observations(rows), maps, "temp", "all")
    pairs = collocate.collocate(observations(rows), series, "temp", "all", maps=maps)
    pd.testing.assert_frame_equal(pairs, expected)
    assert (pairs["status"] == "land").sum() == 2  # once per run
