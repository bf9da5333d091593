"""Marine heatwaves, climatologies and degree heating weeks on series whose answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from components.core import climatology, dhw, mhw
from data_adapters import SourceError

DAYS = pd.date_range("2001-01-01", periods=120, freq="D").to_numpy()


def _events(anomaly: list[float] | np.ndarray, start: int = 10) -> pd.DataFrame:
    """Events of a series that is 0 (the climatology) but for ``anomaly`` from day ``start``;
    the threshold is 1 above the climatology."""
    values = np.zeros(DAYS.size)
    values[start : start + len(anomaly)] = anomaly
    return mhw.events(DAYS, values, np.zeros(DAYS.size), np.ones(DAYS.size))


def test_five_days_above_the_threshold_are_an_event_and_four_are_not():
    assert len(_events([1.5] * 4)) == 0
    five = _events([1.5] * 5)
    assert len(five) == 1
    assert five.iloc[0]["duration"] == 5
    assert (five.iloc[0]["date_start"], five.iloc[0]["date_end"]) == ("2001-01-11", "2001-01-15")


def test_a_value_equal_to_the_threshold_does_not_exceed_it():
    assert len(_events([1.5, 1.5, 1.0, 1.5, 1.5, 1.5])) == 0


def test_events_two_days_apart_are_joined_and_three_days_apart_are_not():
    joined = _events([1.5] * 5 + [0.0] * 2 + [1.5] * 5)
    assert list(joined["duration"]) == [12]
    # the gap days count in the mean and the cumulative intensity
    assert joined.iloc[0]["intensity_cumulative"] == pytest.approx(15.0)
    assert joined.iloc[0]["intensity_mean"] == pytest.approx(15.0 / 12)
    apart = _events([1.5] * 5 + [0.0] * 3 + [1.5] * 5)
    assert list(apart["duration"]) == [5, 5]


def test_a_short_run_is_not_joined_to_an_event():
    """Runs under 5 days are dropped before joining: 5 days, gap 1, 3 days is one 5-day event."""
    assert list(_events([1.5] * 5 + [0.0] + [1.5] * 3)["duration"]) == [5]


@pytest.mark.parametrize(
    ("peak", "category"),
    [(1.9, "Moderate"), (2.0, "Strong"), (3.5, "Severe"), (4.0, "Extreme"), (9.0, "Extreme")],
)
def test_categories_are_multiples_of_threshold_minus_climatology(peak, category):
    event = _events([1.5, 1.5, peak, 1.5, 1.5]).iloc[0]
    assert event["category"] == category
    assert event["intensity_max"] == pytest.approx(peak)
    assert event["date_peak"] == "2001-01-13"


def test_daily_categories_and_intensity_per_cell():
    values = np.zeros((20, 2))
    values[3:10, 0] = [1.5, 2.5, 3.5, 4.5, 1.5, 1.5, 1.5]
    state = mhw.daily_state(values, np.zeros_like(values), np.ones_like(values))
    assert list(state.category[3:10, 0]) == [1, 2, 3, 4, 1, 1, 1]
    assert not state.in_event[:, 1].any() and not state.in_event[2, 0]
    assert state.intensity[6, 0] == pytest.approx(4.5) and state.intensity[12, 0] == 0


def test_the_state_of_one_day_of_a_map_window_is_that_day_of_the_whole_window():
    # a map shows one day of a 15-day window: float32 values with missing days and a land
    # column (no climatology); runs, joined gaps and lone days all occur at this rate
    rng = np.random.default_rng(7)
    values = rng.normal(0.6, 1.0, (15, 40, 30)).astype(np.float32)
    values[rng.random(values.shape) < 0.08] = np.nan
    seas = rng.normal(0.0, 0.1, values.shape)
    thresh = seas + rng.uniform(0.2, 0.8, values.shape)
    seas[:, :, 0] = thresh[:, :, 0] = np.nan
    whole = mhw.daily_state(values, seas, thresh)
    assert whole.in_event.any() and (~whole.in_event).any() and (whole.category >= 2).any()
    for day in range(15):
        alone = mhw.daily_state(values, seas, thresh, day=day)
        assert np.array_equal(alone.in_event, whole.in_event[day])
        assert np.array_equal(alone.category, whole.category[day])
        assert np.array_equal(alone.intensity, whole.intensity[day], equal_nan=True)


def test_events_of_any_length_are_found_whatever_the_series_length():
    # counts stop at what decides (5 days, a gap of 2): a 300-day event in a 3000-day series
    values = np.zeros(3000)
    values[100:400] = 1.5
    values[401:406] = 1.5  # a 1-day gap, then an event of 5 days: joined
    values[2000:2006] = 1.5
    table = mhw.events(
        pd.date_range("2001-01-01", periods=3000, freq="D").to_numpy(),
        values,
        np.zeros(3000),
        np.ones(3000),
    )
    assert list(table["duration"]) == [306, 6]


def test_a_missing_day_counts_as_the_climatology_and_splits_a_run():
    values = [1.5] * 3 + [np.nan] + [1.5] * 3
    assert len(_events(values)) == 0
    # a gap of missing days inside a long event: joined when at most two days
    assert list(_events([1.5] * 5 + [np.nan, np.nan] + [1.5] * 5)["duration"]) == [12]


def test_missing_dates_become_missing_days_before_the_window_is_counted():
    """A series with dates left out is put on every day first: the windows count days."""
    import xarray as xr

    times = pd.date_range("2000-01-01", "2003-12-31", freq="D")
    kept = times[(times.month != 3) | (times.day > 10)]  # 1-10 March missing each year
    da = xr.DataArray(np.arange(kept.size, dtype=float), coords={"time": kept}, dims="time")
    whole = climatology.on_whole_days(da)
    assert whole.sizes["time"] == times.size
    assert int(whole.isnull().sum()) == times.size - kept.size


def _seasonal(years: range, noise: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    times = pd.date_range(f"{years[0]}-01-01", f"{years[-1]}-12-31", freq="D")
    doy = climatology.day_of_year(times.to_numpy())
    rng = np.random.default_rng(1)
    values = 15 + 5 * np.sin(2 * np.pi * (doy - 100) / 366) + noise * rng.standard_normal(doy.size)
    return times.to_numpy(), values


def test_leap_years_29_february_is_between_its_neighbours_and_1_march_is_one_day():
    times, values = _seasonal(range(1990, 2010))
    reference = climatology.parse_reference("1990/2009")
    seas, thresh = climatology.daily_climatology(values, times, reference, smooth=False)
    assert seas[59] == pytest.approx(0.5 * (seas[58] + seas[60]))
    assert thresh[59] == pytest.approx(0.5 * (thresh[58] + thresh[60]))
    # an event over 29 February of a leap year lasts one day longer than in another year
    # (on a flat climate: no day but the warmed ones is above the threshold)
    flat = np.full(values.size, 15.0)
    for year, duration in ((2004, 7), (2005, 6)):
        warm = flat.copy()
        span = (times >= np.datetime64(f"{year}-02-25")) & (times <= np.datetime64(f"{year}-03-02"))
        warm[span] += 3
        s, t = climatology.daily_climatology(flat, times, reference)
        doy = climatology.day_of_year(times) - 1
        found = mhw.events(times, warm, s[doy], t[doy])
        assert list(found["duration"]) == [duration]


def test_the_default_reference_is_the_first_30_full_years_or_all_full_years():
    times = pd.date_range("1992-07-01", "2030-12-31", freq="D").to_numpy()
    assert climatology.default_reference(times).label == "1993/2022"
    short = pd.date_range("2015-03-01", "2020-06-30", freq="D").to_numpy()
    assert climatology.default_reference(short).label == "2016/2019"
    with pytest.raises(SourceError, match="no full year"):
        climatology.default_reference(pd.date_range("2020-02-01", periods=300).to_numpy())


@pytest.mark.parametrize("text", ["1993", "1993-2022", "2022/1993", "1993/20x2"])
def test_a_reference_period_that_is_not_start_end_is_refused_in_one_line(text):
    with pytest.raises(SourceError, match="reference period") as caught:
        climatology.parse_reference(text)
    assert "\n" not in str(caught.value)


def test_monthly_data_gets_monthly_means_over_the_reference_period():
    import xarray as xr

    times = pd.date_range("2000-01-01", periods=48, freq="MS") + pd.Timedelta(days=14)
    values = np.tile(np.arange(12.0), 4) + np.repeat([0.0, 1.0, 2.0, 3.0], 12)
    da = xr.DataArray(values, coords={"time": times}, dims="time", name="sst")
    clim = climatology.climatology(da, climatology.parse_reference("2000/2001"))
    assert list(clim["seas"].values) == pytest.approx(np.arange(12.0) + 0.5)
    anomaly = climatology.anomaly(da, clim)
    assert float(anomaly.sel(time="2003-05").item()) == pytest.approx(2.5)


def test_anomaly_of_a_lazy_grid_is_value_minus_the_day_of_year_climatology():
    import xarray as xr

    times, values = _seasonal(range(1995, 2000))
    grid = np.stack([values, values + 10], axis=-1)[:, None, :]
    da = xr.DataArray(
        grid, coords={"time": times, "lat": [0.0], "lon": [1.0, 2.0]}, dims=("time", "lat", "lon")
    ).chunk({"time": 365, "lon": 1})
    clim = climatology.climatology(da, climatology.parse_reference("1995/1999"))
    anomaly = climatology.anomaly(da, clim).compute()
    assert float(abs(anomaly).max()) < 0.1  # the seasonal cycle, smoothed over 31 days
    assert float(clim["seas"].sel(lon=2.0).mean() - clim["seas"].sel(lon=1.0).mean()) == (
        pytest.approx(10.0)
    )


def test_degree_heating_weeks_sum_hotspots_of_one_degree_over_12_weeks():
    mmm = 28.0
    values = np.full(200, 28.5)  # a HotSpot of 0.5 °C never counts
    values[100:114] = 30.0  # two weeks at 2 °C above the MMM: 4 °C-weeks
    out = dhw.degree_heating_weeks(values, np.float64(mmm))
    assert np.isnan(out[82]) and out[83] == 0.0
    assert out[113] == pytest.approx(4.0)
    assert out[100 + 83] == pytest.approx(4.0) and out[114 + 83] == pytest.approx(0.0)


def test_the_maximum_monthly_mean_is_the_warmest_month_of_the_reference_period():
    times, values = _seasonal(range(2001, 2004))
    mmm = dhw.maximum_monthly_mean(values, times, climatology.parse_reference("2001/2003"))
    assert 19.5 < float(mmm) < 20.0  # the warmest month's mean, below the daily peak of 20


def test_a_map_threshold_is_numpys_nanpercentile_of_each_cell_to_the_last_bit():
    """Every cell's 90th percentile is NumPy's (the reference's), land (all NaN) stays NaN."""
    import warnings

    rng = np.random.default_rng(5)
    pooled = rng.standard_normal((330, 400))
    pooled[rng.random(pooled.shape) < 0.05] = np.nan
    pooled[:, :10] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.nanpercentile(pooled, 90, axis=0)
    got = climatology.nanpercentile_columns(pooled, 90)
    assert np.array_equal(got, expected, equal_nan=True)


def test_a_map_climatology_read_a_band_of_rows_at_a_time_equals_the_whole_maps(monkeypatch):
    import xarray as xr

    from components.core import shown_maps

    times, values = _seasonal(range(1995, 2000), noise=1.0)
    rng = np.random.default_rng(2)
    grid = values[:, None, None] + rng.standard_normal((values.size, 7, 3))
    grid[:, 0, 0] = np.nan  # a land cell
    da = xr.DataArray(
        grid, coords={"time": times, "lat": np.arange(7.0), "lon": np.arange(3.0)},
        dims=("time", "lat", "lon"),
    ).chunk({"time": 365, "lat": 2})  # fmt: skip
    reference = climatology.parse_reference("1995/1999")
    targets = np.array([1, 60, 200, 366])
    whole_seas, whole_thresh = shown_maps.curves_at(da, reference, targets)
    _, every = climatology.window_steps(times, reference, targets)
    # room for 5 rows of pooled values: bands of whole 2-row chunks, 4 rows each
    monkeypatch.setattr(shown_maps, "POOL_BYTES", 4 * every.size * 3 * 5)
    bands = shown_maps.row_bands(da, every.size)
    assert [b["lat"] for b in bands] == [slice(0, 4), slice(4, 8)]
    seas, thresh = shown_maps.curves_at(da, reference, targets)
    np.testing.assert_array_equal(seas, whole_seas)
    np.testing.assert_array_equal(thresh, whole_thresh)
    # and the numbers are the whole series' climatology of each cell
    s, t = climatology.daily_climatology(grid[:, 3, 2], times, reference)
    assert seas[:, 3, 2] == pytest.approx(s[targets - 1])
    assert thresh[:, 3, 2] == pytest.approx(t[targets - 1])
    assert np.isnan(seas[:, 0, 0]).all()


def test_the_map_of_the_next_day_reads_only_its_one_new_window(monkeypatch, tmp_path):
    import uuid

    import xarray as xr

    from components.core import shown_maps

    monkeypatch.setenv("OCEAN_EXPLORER_CACHE", str(tmp_path))
    times, values = _seasonal(range(1995, 2000), noise=1.0)
    rng = np.random.default_rng(3)
    grid = values[:, None, None] + rng.standard_normal((values.size, 4, 3))
    da = xr.DataArray(
        grid, coords={"time": times, "lat": np.arange(4.0), "lon": np.arange(3.0)},
        dims=("time", "lat", "lon"),
    ).chunk({"time": 365})  # fmt: skip
    reference = climatology.parse_reference("1995/1999")
    reads: list[int] = []
    original = climatology.daily_climatology_at

    def counted(read, *args, **kwargs):
        return original(lambda steps: reads.append(len(steps)) or read(steps), *args, **kwargs)

    monkeypatch.setattr(climatology, "daily_climatology_at", counted)
    key = f"test-{uuid.uuid4().hex}"
    shown_maps.curves_at(da, reference, np.array([200]), key)
    assert sum(reads) == 41 * 5  # the 41 days of 31 windows of 11 days, five years
    reads.clear()
    seas, thresh = shown_maps.curves_at(da, reference, np.array([201]), key)
    assert sum(reads) == 11 * 5  # day 216's window only
    # the same numbers as with nothing cached
    fresh_seas, fresh_thresh = shown_maps.curves_at(da, reference, np.array([201]))
    np.testing.assert_array_equal(seas, fresh_seas)
    np.testing.assert_array_equal(thresh, fresh_thresh)
