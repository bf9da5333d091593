"""The scenario comparison core (``components.core.comparison``): runs, change, impact statistics.

Small hand-made arrays with values worked out by hand, then the demo ocean, whose scenarios
are known analytically: ``warming_1p5`` is the baseline plus 1.5 °C everywhere, and the
north-east Pacific heatwave is confined to its ellipse, its season and the top 150 m
(``data_adapters.demo.HEATWAVE``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from components.core import comparison
from components.core.regions import region_mask
from data_adapters import SourceError
from data_adapters.demo import HEATWAVE, DemoOceanAdapter

#: Earth radius (km) of the statistics' sphere (IUGG mean radius).
R_KM = 6371.0088

THETAO = {
    "standard_name": "sea_water_potential_temperature",
    "long_name": "Sea water potential temperature",
    "units": "degC",
}

#: A variable on a ratio scale (a true zero): relative changes mean something.
SALINITY = {
    "standard_name": "sea_water_salinity",
    "long_name": "Sea water salinity",
    "units": "PSU",
}


def field(values, lon=(0.0, 10.0), lat=(10.0, 20.0, 30.0), attrs=None, **dims) -> xr.DataArray:
    """A DataArray on (lat, lon) (or with leading ``dims``: name -> labels) of ``values``."""
    coords = {**{k: list(v) for k, v in dims.items()}, "lat": list(lat), "lon": list(lon)}
    return xr.DataArray(
        np.asarray(values, dtype="float64"),
        dims=tuple(coords),
        coords=coords,
        name="thetao",
        attrs=dict(THETAO if attrs is None else attrs),
    )


def with_runs(*maps, labels=("baseline", "warming", "heatwave")) -> xr.DataArray:
    return field(np.stack(maps), scenario=labels[: len(maps)])


# -- runs -----------------------------------------------------------------------------------
def test_runs_come_baseline_first_without_the_scenario_dim():
    da = with_runs(np.zeros((3, 2)), np.ones((3, 2)), np.full((3, 2), 2.0))

    picked = comparison.runs(da, None, ["heatwave", "warming", "baseline"])

    assert list(picked) == ["baseline", "heatwave", "warming"]  # listed baseline left out
    assert all("scenario" not in run.dims for run in picked.values())
    assert float(picked["heatwave"][0, 0]) == 2.0
    other = comparison.runs(da, "warming", ["baseline"])
    assert list(other) == ["warming", "baseline"]


def test_unknown_run_says_did_you_mean_and_lists_the_runs():
    da = with_runs(np.zeros((3, 2)), np.ones((3, 2)), np.ones((3, 2)))

    with pytest.raises(SourceError) as info:
        comparison.runs(da, None, ["heatwav"])

    assert str(info.value) == (
        "no scenario 'heatwav' (did you mean 'heatwave'?); the runs are: baseline, warming, "
        "heatwave"
    )


def test_a_baseline_alone_asks_for_a_what_if_run():
    da = with_runs(np.zeros((3, 2)), np.ones((3, 2)), np.ones((3, 2)))

    with pytest.raises(SourceError, match=r"choose a what-if scenario .*: warming, heatwave"):
        comparison.runs(da, None, [])


def test_a_single_run_source_has_nothing_to_compare_with():
    da = field(np.zeros((3, 2)))

    with pytest.raises(SourceError, match=r"\(this source has one run\)"):
        comparison.runs(da, None, ["baseline"])
    with pytest.raises(SourceError, match="no scenario 'warming'; the runs are: baseline"):
        comparison.runs(da, None, ["warming"])


# -- change ---------------------------------------------------------------------------------
BASE = [[10.0, 0.0], [-20.0, np.nan], [4.0, 8.0]]
SCEN = [[12.0, 5.0], [-15.0, np.nan], [3.0, 8.0]]


def test_difference_is_scenario_minus_baseline_and_says_so():
    delta = comparison.change(field(BASE), field(SCEN), "diff")

    np.testing.assert_array_equal(delta.values, [[2.0, 5.0], [5.0, np.nan], [-1.0, 0.0]])
    assert delta.attrs == {
        "long_name": "Change in sea water potential temperature",
        "units": "degC",
    }  # a change is not the temperature itself: no standard_name
    assert delta.name == "thetao_change"


def test_relative_change_is_in_percent_of_the_baseline_and_nan_where_it_is_zero():
    delta = comparison.change(field(BASE, attrs=SALINITY), field(SCEN, attrs=SALINITY), "pct")

    # 100 (s - b) / |b|: +20 %, undefined (b = 0), +25 % (from -20 to -15), -25 %, 0
    np.testing.assert_allclose(delta.values, [[20.0, np.nan], [25.0, np.nan], [-25.0, 0.0]])
    assert delta.attrs["units"] == "%"
    assert delta.attrs["long_name"] == "Relative change in sea water salinity"
    assert "standard_name" not in delta.attrs


@pytest.mark.parametrize(
    ("attrs", "why"),
    [
        (THETAO, "it is in °C, an interval scale"),
        ({"units": "degree_Celsius"}, "in °C"),
        ({"units": "Celsius"}, "in °C"),
        ({"units": "degF"}, "in °F"),
        ({"standard_name": "sea_surface_temperature_anomaly", "units": "K"}, "an anomaly"),
        ({"long_name": "Temperature anomaly", "units": "K"}, "an anomaly"),
        ({"standard_name": "sea_surface_height_above_geoid", "units": "m"}, "a height above"),
    ],
)
def test_relative_change_is_refused_off_a_ratio_scale(attrs, why):
    da = field(BASE, attrs=attrs)

    refusal = comparison.relative_change_refusal(da)

    assert refusal.startswith("relative change (%) is not offered for thetao: ")
    assert why in refusal and refusal.endswith("use the difference")
    with pytest.raises(SourceError, match="not offered"):
        comparison.change(da, field(SCEN, attrs=attrs), "pct")
    assert comparison.change(da, field(SCEN, attrs=attrs)).attrs["units"] == attrs.get("units", "")


@pytest.mark.parametrize(
    "attrs",
    [
        SALINITY,
        {"standard_name": "sea_water_temperature", "units": "K"},  # kelvin: a true zero
        {"standard_name": "mass_concentration_of_chlorophyll_a_in_sea_water", "units": "mg m-3"},
        {"standard_name": "sea_water_speed", "units": "m s-1"},
        {"long_name": "undeclared"},
    ],
)
def test_relative_change_is_offered_on_a_ratio_scale(attrs):
    assert comparison.relative_change_refusal(field(BASE, attrs=attrs)) is None


def test_an_acronym_long_name_keeps_its_capitals():
    attrs = {"long_name": "SST", "units": "degC"}
    delta = comparison.change(field(BASE, attrs=attrs), field(SCEN, attrs=attrs))

    assert delta.attrs["long_name"] == "Change in SST"


def test_runs_in_different_units_are_refused_naming_both():
    kelvin = field(np.asarray(SCEN) + 273.15, attrs={**THETAO, "units": "K"})

    with pytest.raises(SourceError) as info:
        comparison.change(field(BASE), kelvin)

    assert "units differ ('K' against the baseline's 'degC')" in str(info.value)


def test_the_same_unit_spelt_otherwise_is_the_same_unit():
    celsius = field(SCEN, attrs={**THETAO, "units": "degree_Celsius"})

    delta = comparison.change(field(BASE), celsius)

    assert delta.attrs["units"] == "degC"
    assert float(delta[0, 0]) == 2.0


def test_runs_on_other_cells_are_refused():
    other = field(SCEN, lon=(5.0, 15.0))

    with pytest.raises(SourceError, match="not on the same lon"):
        comparison.change(field(BASE), other)


def test_coordinates_equal_within_rounding_keep_every_cell():
    # float32 coordinates in one file, float64 in the other: 10.000000000001 is 10
    nudged = field(SCEN, lon=(0.0, 10.0 + 1e-12), lat=(10.0, 20.0 + 1e-12, 30.0))

    delta = comparison.change(field(BASE), nudged)

    assert delta.shape == (3, 2)
    assert np.isfinite(delta.values).sum() == 5  # all but the land cell


def test_change_stays_lazy():
    salinity = field(BASE, attrs=SALINITY).chunk(), field(SCEN, attrs=SALINITY).chunk()
    delta = comparison.change(*salinity, "pct")

    assert delta.chunks is not None


# -- ensemble members -----------------------------------------------------------------------
def test_members_change_of_the_ensemble_means_with_their_spread():
    # two cells (lat 10, lon 0 and 10); members m1, m2
    base = field([[[10.0, 1.0]], [[12.0, 3.0]]], lat=(10.0,), member=("m1", "m2"))
    scen = field([[[11.0, 1.0]], [[15.0, 5.0]]], lat=(10.0,), member=("m1", "m2"))

    delta = comparison.change(base, scen)

    # cell 1: means 11 -> 13, change 2; the members' changes 1 and 3: std (ddof 0) 1
    # cell 2: means 2 -> 3, change 1; the members' changes 0 and 2: std 1
    np.testing.assert_allclose(delta.values, [[2.0, 1.0]])
    np.testing.assert_allclose(delta["spread"].values, [[1.0, 1.0]])
    assert delta["spread"].attrs["units"] == "degC"
    assert "member" not in delta.dims


def test_members_against_a_single_baseline_run():
    base = field([[10.0, 2.0]], lat=(10.0,))
    scen = field([[[11.0, 2.0]], [[15.0, 6.0]]], lat=(10.0,), member=("m1", "m2"))

    delta = comparison.change(base, scen)

    # changes 1 and 5 (mean 3, std 2); 0 and 4 (mean 2, std 2)
    np.testing.assert_allclose(delta.values, [[3.0, 2.0]])
    np.testing.assert_allclose(delta["spread"].values, [[2.0, 2.0]])


def test_members_relative_change_has_a_spread_in_percent():
    one = {"lat": (10.0,), "lon": (0.0,), "member": ("m1", "m2"), "attrs": SALINITY}
    base = field([[[10.0]], [[10.0]]], **one)
    scen = field([[[11.0]], [[13.0]]], **one)

    delta = comparison.change(base, scen, "pct")

    # means 10 -> 12: +20 %; members +10 % and +30 %: std 10 %
    assert float(delta[0, 0]) == pytest.approx(20.0)
    assert float(delta["spread"][0, 0]) == pytest.approx(10.0)
    assert delta["spread"].attrs["units"] == "%"


# -- hiding small changes -------------------------------------------------------------------
def test_changes_below_the_threshold_show_as_no_change_and_land_stays_land():
    delta = comparison.change(field(BASE), field(SCEN))  # [[2, 5], [5, nan], [-1, 0]]

    shown = comparison.hide_small(delta, threshold=2.0)

    np.testing.assert_array_equal(shown.values, [[2.0, 5.0], [5.0, np.nan], [0.0, 0.0]])
    assert shown.attrs["units"] == "degC"


def test_changes_within_the_ensemble_spread_are_hidden():
    delta = field([[0.2, -0.5, 1.0, np.nan]], lat=(10.0,), lon=(0.0, 10.0, 20.0, 30.0))
    delta = delta.assign_coords(spread=(("lat", "lon"), [[0.3, 0.1, 2.0, np.nan]]))

    shown = comparison.hide_small(delta, spread=True)
    both = comparison.hide_small(delta, threshold=0.6, spread=True)

    np.testing.assert_array_equal(shown.values, [[0.0, -0.5, 0.0, np.nan]])
    np.testing.assert_array_equal(both.values, [[0.0, 0.0, 0.0, np.nan]])


# -- impact statistics ----------------------------------------------------------------------
def band_area_km2(south: float, north: float, width_deg: float) -> float:
    """Area of a lat-lon cell on the sphere: R² · Δλ · (sin φ2 - sin φ1)."""
    return (
        R_KM**2
        * math.radians(width_deg)
        * (math.sin(math.radians(north)) - math.sin(math.radians(south)))
    )


#: A change on 10° cells centred at lat 10, 20, 30 and lon 0, 10; NaN is land.
IMPACT = [[1.0, -2.0], [3.0, np.nan], [0.5, 4.0]]


def test_impact_is_area_weighted_over_the_sea_cells():
    # cell edges 5/15/25/35°N, each cell 10° wide
    areas = [band_area_km2(5, 15, 10), band_area_km2(15, 25, 10), band_area_km2(25, 35, 10)]
    sea = {(0, 0): 1.0, (0, 1): -2.0, (1, 0): 3.0, (2, 0): 0.5, (2, 1): 4.0}
    total = sum(areas[j] for j, _ in sea)
    mean = sum(v * areas[j] for (j, _), v in sea.items()) / total
    above = sum(areas[j] for (j, _), v in sea.items() if abs(v) > 1.0)  # -2, 3 and 4

    stats = comparison.impact(field(IMPACT), threshold=1.0)

    assert stats["mean_diff"] == pytest.approx(mean, rel=1e-12)
    assert (stats["min_diff"], stats["max_diff"], stats["max_abs_diff"]) == (-2.0, 4.0, 4.0)
    assert stats["area_km2"] == pytest.approx(total, rel=1e-12)
    assert stats["area_km2_exceeding"] == pytest.approx(above, rel=1e-12)
    assert stats["fraction_exceeding"] == pytest.approx(above / total, rel=1e-12)
    assert stats["cells"] == 5
    assert set(comparison.IMPACT_KEYS) <= set(stats)
    # the spherical cells shrink polewards: the 30°N row weighs less than the 10°N row
    assert areas[2] < areas[0]


def test_impact_over_a_region_counts_only_its_cells():
    delta = field(IMPACT)
    mask = region_mask(delta, bbox=(-5.0, 15.0, 15.0, 35.0))  # the 20°N and 30°N rows

    stats = comparison.impact(delta, mask, threshold=0.0)

    a20, a30 = band_area_km2(15, 25, 10), band_area_km2(25, 35, 10)
    total = a20 + 2 * a30
    assert stats["area_km2"] == pytest.approx(total, rel=1e-12)
    assert stats["mean_diff"] == pytest.approx((3.0 * a20 + (0.5 + 4.0) * a30) / total)
    assert stats["fraction_exceeding"] == 1.0  # every change is above 0
    assert (stats["min_diff"], stats["max_diff"]) == (0.5, 4.0)


def test_impact_of_a_region_of_land_is_refused():
    delta = field([[np.nan, np.nan], [1.0, 2.0], [1.0, 2.0]])
    mask = region_mask(delta, bbox=(-5.0, 5.0, 15.0, 15.0))

    with pytest.raises(SourceError, match="no sea cell"):
        comparison.impact(delta, mask)


def test_steps_above_counts_the_steps_over_a_value():
    series = xr.DataArray([1.0, 3.0, np.nan, 5.0, 2.0], dims="time")

    assert comparison.steps_above(series, 2.0) == 2  # 3 and 5; 2 is not above, NaN is not
    assert comparison.steps_above(series, 10.0) == 0


def test_describe_gives_signed_changes_with_units():
    stats = comparison.impact(field(IMPACT), threshold=1.0)

    text = comparison.describe(stats, "degC")

    assert text["min Δ"] == "-2 degC" and text["max Δ"] == "+4 degC"
    assert text["ocean area"].endswith(" km²")


def test_change_range_is_symmetric_about_zero():
    assert comparison.change_range(np.array([0.0, 0.5, -2.0, np.nan])) == (-2.0, 2.0)
    assert comparison.change_range(np.array([0.0, 3.0])) == (-3.0, 3.0)
    assert comparison.change_range(np.zeros(4)) == (-1.0, 1.0)  # nothing changes


# -- the demo ocean -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo() -> xr.Dataset:
    """The demo ocean at 1°, eight days around the heatwave's peak (24 July)."""
    return DemoOceanAdapter(resolution=1.0, start="2025-07-20", days=8).open()


def demo_change(demo: xr.Dataset, scenario: str, time: int, depth: float) -> xr.DataArray:
    da = demo["thetao"].isel(time=time).sel(depth=depth)
    pair = comparison.runs(da, "baseline", [scenario])
    return comparison.change(pair["baseline"], pair[scenario])


@pytest.mark.parametrize(("time", "depth"), [(0, 0.5), (3, 100.0), (7, 1000.0)])
def test_demo_warming_is_plus_1p5_on_every_ocean_cell(demo, time, depth):
    base = demo["thetao"].sel(scenario="baseline").isel(time=time).sel(depth=depth).values
    warm = demo["thetao"].sel(scenario="warming_1p5").isel(time=time).sel(depth=depth).values

    delta = demo_change(demo, "warming_1p5", time, depth).values

    sea = np.isfinite(base)
    np.testing.assert_array_equal(np.isfinite(warm), sea)  # the same land in both runs
    assert 0.05 < (~sea).mean() < 0.9  # there is land, and there is sea
    np.testing.assert_array_equal(np.isnan(delta), ~sea)  # NaN on land
    np.testing.assert_allclose(delta[sea], 1.5, atol=1e-5)  # float32 values near 30 °C


def test_demo_warming_impact_is_1p5_everywhere(demo):
    stats = comparison.impact(demo_change(demo, "warming_1p5", 0, 0.5), threshold=1.0)

    assert stats["mean_diff"] == pytest.approx(1.5, abs=1e-5)
    assert stats["min_diff"] == pytest.approx(1.5, abs=1e-5)
    assert stats["max_diff"] == pytest.approx(1.5, abs=1e-5)
    assert stats["fraction_exceeding"] == 1.0
    # the sea is about 71 % of the Earth's surface (4π R²)
    assert 0.6 < stats["area_km2"] / (4 * math.pi * R_KM**2) < 0.8


def test_demo_heatwave_is_zero_far_from_the_event_and_warm_at_its_centre(demo):
    delta = demo_change(demo, "heatwave", 4, 0.5)  # 24 July, around the peak

    atlantic = delta.sel(lon=slice(-60, -10), lat=slice(0, 50)).values
    southern = delta.sel(lat=slice(-70, -50)).values
    for region in (atlantic, southern):
        sea = np.isfinite(region)
        assert sea.sum() > 100
        assert (region[sea] == 0.0).all()  # exactly: the runs are the same there
    centre = float(delta.sel(lon=HEATWAVE["lon"], lat=HEATWAVE["lat"], method="nearest"))
    assert centre > 3.0  # peak anomaly 3.5 °C, at the surface, at the centre


def test_demo_heatwave_stays_above_150_m(demo):
    delta = demo_change(demo, "heatwave", 4, 200.0).values

    assert np.isfinite(delta).sum() > 1000
    assert (delta[np.isfinite(delta)] == 0.0).all()


# -- counting the steps above a value -------------------------------------------------------
def series(*values: float) -> xr.DataArray:
    return xr.DataArray(np.asarray(values, dtype=float), dims=("time",))


def test_steps_count_the_change_or_the_value_as_chosen():
    runs = {
        "baseline": series(16.0, 16.5, 17.0, np.nan),
        "heatwave": series(16.5, 17.8, 19.0, 18.0),
    }

    # changes +0.5, +1.3, +2.0, NaN: two above +1 (the baseline, whose change is 0, is left out)
    assert comparison.steps_exceeding(runs, "baseline", 1.0, "change") == {"heatwave": 2}
    # values: every step of both runs is above 1 (NaN is not)
    assert comparison.steps_exceeding(runs, "baseline", 1.0, "value") == {
        "baseline": 3, "heatwave": 4
    }  # fmt: skip
    assert comparison.steps_exceeding(runs, "baseline", 17.5, "value") == {
        "baseline": 0, "heatwave": 3
    }  # fmt: skip
    with pytest.raises(SourceError, match="count the change or the value"):
        comparison.steps_exceeding(runs, "baseline", 1.0, "anomaly")


def test_the_count_is_named_by_what_it_counts():
    assert comparison.exceedance_label("change", 1, "degC", "days") == "days with change > +1 degC"
    assert comparison.exceedance_label("change", -0.5, "m") == "steps with change > -0.5 m"
    assert comparison.exceedance_label("value", 16, "degC", "days") == "days with value > 16 degC"
