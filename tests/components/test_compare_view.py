"""The comparison views without a browser: which maps each mode shows, what they draw,
the swipe composite, the shared colour scale and the impact table."""

from __future__ import annotations

import numpy as np
import pytest

from components import CompareView, ExplorerState, MapView
from components.core.frames import FRAMES
from components.core.geography import WEB_MERCATOR, Viewport
from components.map_layers import lonlat_extent_to_mercator
from data_adapters import Catalog


@pytest.fixture(scope="module")
def catalog():
    return Catalog.from_dict(
        {"datasets": [{"id": "demo-1deg", "adapter": "demo", "resolution": 1.0, "days": 10}]}
    )


@pytest.fixture
def state(catalog):
    return ExplorerState(catalog)


def viewport(bbox, width=120, height=80) -> Viewport:
    x0, y0, x1, y1 = lonlat_extent_to_mercator(bbox)
    return Viewport((x0, x1), (y0, y1), width, height, WEB_MERCATOR)


def render(view: MapView, bbox, width=120, height=80):
    vp = viewport(bbox, width, height)
    return view._field(x_range=vp.x_range, y_range=vp.y_range, width=width, height=height)


def test_each_mode_shows_its_maps(state):
    view = CompareView(state=state)
    assert view.maps == []  # one run: the comparison shows nothing
    state.param.update(mode="side-by-side", scenarios=["warming_1p5", "warming_3"])
    assert [(m.run, m.change, m.swipe) for m in view.maps] == [
        ("baseline", None, False), ("warming_1p5", None, False), ("warming_3", None, False)
    ]  # fmt: skip
    state.mode = "difference"
    assert [(m.run, m.change) for m in view.maps] == [
        ("warming_1p5", "diff"),
        ("warming_3", "diff"),
    ]
    state.variable = "uo"  # a velocity has a true zero: relative change means something
    state.mode = "relative"
    assert [m.change for m in view.maps] == ["pct", "pct"]
    state.mode = "swipe"
    assert [(m.run, m.swipe) for m in view.maps] == [("warming_1p5", True)]
    assert "warming_1p5 right" in view.note.object
    assert "first chosen" in view.note.object  # two scenarios chosen, one swiped


def test_a_difference_map_shows_the_change_on_a_diverging_scale(state):
    view = CompareView(state=state)
    state.param.update(mode="difference", scenarios=["warming_1p5"])
    (diff,) = view.maps
    image = render(diff, (-60.0, -30.0, 0.0, 30.0))
    values = diff.frame.values
    sea = np.isfinite(values)
    assert sea.mean() > 0.5
    np.testing.assert_allclose(values[sea], 1.5, atol=1e-5)  # warming_1p5 is +1.5 degC
    lo, hi = diff.clim
    assert lo == -hi  # centred on zero
    assert diff.colors.cmap == "balance"
    assert "warming_1p5 - baseline" in image.opts.get().kwargs["title"]
    assert image.vdims[0].unit == "degC"


def test_the_threshold_hides_small_changes(state):
    view = CompareView(state=state)
    state.param.update(mode="difference", scenarios=["warming_1p5"], threshold=2.0)
    (diff,) = view.maps
    render(diff, (-60.0, -30.0, 0.0, 30.0))
    values = diff.frame.values
    assert (values[np.isfinite(values)] == 0).all()  # every change is below 2 degC


def _run_frame(state, run, bbox):
    return FRAMES.get(
        (state.dataset_id, state.variable, state.time, state.depth, run),
        lambda: state.field(scenario=run),
        viewport(bbox),
    ).values


def test_relative_change_is_in_percent(state):
    view = CompareView(state=state)
    # the wind farm slows the eastward current in its wake on the Dogger Bank
    state.param.update(variable="uo", mode="relative", scenarios=["windfarm"])
    (pct,) = view.maps
    bbox = (-2.0, 52.0, 6.0, 58.0)
    image = render(pct, bbox)
    base, farm = _run_frame(state, "baseline", bbox), _run_frame(state, "windfarm", bbox)
    sea = np.isfinite(base) & (np.abs(base) > 1e-6)
    np.testing.assert_allclose(
        pct.frame.values[sea], 100.0 * (farm[sea] - base[sea]) / np.abs(base[sea]), rtol=1e-3
    )
    assert pct.frame.values[sea].min() < -10.0  # up to 30 % slower in the wake
    assert image.vdims[0].unit == "%"


def test_relative_change_of_a_celsius_temperature_falls_back_to_the_difference(state):
    view = CompareView(state=state)
    state.param.update(mode="relative", scenarios=["warming_3"])  # thetao is in degC
    assert state.mode == "difference"
    assert [m.change for m in view.maps] == ["diff"]
    assert "relative change (%) is not offered for thetao: it is in °C" in state.message
    # choosing a temperature while in relative mode does the same
    state.param.update(variable="so", mode="relative")
    assert state.mode == "relative"  # salinity has a true zero
    state.variable = "thetao"
    assert state.mode == "difference"


def test_a_local_relative_change_sets_the_colour_range(state):
    # the wind farm slows the currents of a patch of the North Sea: the scale spans that
    # change, not the zeros of the unchanged sea around it (their percentiles are all 0)
    view = CompareView(state=state)
    state.param.update(variable="uo", mode="relative", scenarios=["windfarm"])
    (pct,) = view.maps
    render(pct, (-20.0, 45.0, 20.0, 65.0))
    change = np.abs(pct.frame.values[np.isfinite(pct.frame.values)])
    assert 0 < (change > 1e-3).mean() < 0.5  # a local change
    assert pct.clim == pytest.approx((-change.max(), change.max()))
    assert change.max() > 5.0  # up to 30 % slower


def test_swipe_shows_the_baseline_left_of_the_divider(state):
    view = CompareView(state=state)
    state.param.update(mode="swipe", scenarios=["warming_3"])
    (swipe,) = view.maps
    bbox = (-40.0, -10.0, -20.0, 10.0)
    render(swipe, bbox)
    values = swipe.frame.values
    vp = viewport(bbox)
    base = FRAMES.get(
        (state.dataset_id, state.variable, state.time, state.depth, "baseline"),
        lambda: state.field(scenario="baseline"),
        vp,
    ).values
    # the divider starts in the middle: baseline on the left half, +3 degC on the right
    half = values.shape[1] // 2
    np.testing.assert_allclose(values[:, :half], base[:, :half])
    np.testing.assert_allclose(values[:, half:], base[:, half:] + 3.0, rtol=1e-6)
    # moved a quarter of the way: the baseline shows on the first quarter only
    x0, x1 = vp.x_range
    swipe.divider = x0 + (x1 - x0) / 4
    render(swipe, bbox)
    quarter = values.shape[1] // 4
    np.testing.assert_allclose(swipe.frame.values[:, quarter:], base[:, quarter:] + 3.0, rtol=1e-6)
    np.testing.assert_allclose(swipe.frame.values[:, :quarter], base[:, :quarter])


def test_side_by_side_maps_share_one_colour_scale_unless_unlocked(state):
    view = CompareView(state=state)
    state.param.update(mode="side-by-side", scenarios=["warming_3"])
    baseline, warm = view.maps
    bbox = (-60.0, -30.0, 0.0, 30.0)
    render(baseline, bbox)
    render(warm, bbox)
    assert baseline.clim == warm.clim
    state.lock_colours = False
    render(baseline, bbox)
    render(warm, bbox)
    assert warm.clim[0] > baseline.clim[0] + 2.0  # each its own: the warm run reads higher


def test_switching_mode_keeps_the_view(state):
    view = CompareView(state=state)
    single = MapView(state=state)
    render(single, (-20.0, 40.0, 10.0, 60.0))
    extent = state.extent
    state.param.update(mode="difference", scenarios=["warming_3"])
    (diff,) = view.maps
    # a new map's first frame (before the browser reports ranges) is where the view was
    diff._field()
    assert diff.frame.viewport.lon_lat_bounds() == pytest.approx(extent, abs=1e-3)


def test_impact_table_for_the_view_and_for_a_region(state):
    view = CompareView(state=state)
    state.param.update(mode="difference", scenarios=["warming_1p5", "heatwave"], threshold=1.0)
    state.extent = (-60.0, -30.0, 0.0, 30.0)
    table = view.impact_table().set_index("scenario")
    warm = table.loc["warming_1p5"]
    assert warm["mean_diff"] == pytest.approx(1.5) and warm["max_abs_diff"] == pytest.approx(1.5)
    assert warm["fraction_exceeding"] == pytest.approx(1.0)
    heat = table.loc["heatwave"]  # in January the heatwave has not started, in the Atlantic
    assert heat["max_abs_diff"] == 0 and heat["area_km2_exceeding"] == 0
    assert heat["area_km2"] == pytest.approx(warm["area_km2"])
    # a drawn box wins over the view
    state.region = (-40.0, -10.0, -20.0, 10.0)
    boxed = view.impact_table().set_index("scenario").loc["warming_1p5"]
    assert boxed["area_km2"] < warm["area_km2"] / 4
    csv = view.table_csv().getvalue().splitlines()
    assert csv[0].startswith("# thetao change [degC] from baseline over the drawn box")
    assert csv[1].split(",")[:3] == ["scenario", "mean_diff", "min_diff"]


def test_impact_table_counts_steps_above_a_value(state):
    view = CompareView(state=state)
    state.param.update(mode="difference", scenarios=["warming_3"], exceed="value")
    state.region = (-30.0, -2.0, -28.0, 2.0)  # the equatorial Atlantic: about 26-28 degC
    field = state.field(scenario="baseline").sel(lon=slice(-30, -28), lat=slice(-2, 2))
    state.event_value = float(field.mean()) + 1.5
    row = view.impact_table().iloc[0]
    assert row["baseline_steps_exceeding"] < 10  # the baseline stays below it
    assert row["steps_exceeding"] == 10  # 3 degC warmer: every one of the 10 days is above it


def test_the_count_says_whether_it_counts_the_change_or_the_value(state):
    # warming_1p5 is the baseline + 1.5 degC on each of the 10 days, at about 27 degC
    view = CompareView(state=state)
    state.param.update(mode="difference", scenarios=["warming_1p5"], event_value=1.0)
    state.region = (-30.0, -2.0, -28.0, 2.0)
    table = view.impact_table()
    assert table.attrs["exceedance"] == "days with change > +1 degC"
    assert table.iloc[0]["steps_exceeding"] == 10  # +1.5 > +1 every day
    assert "baseline_steps_exceeding" not in table  # the baseline's change is 0 by definition
    state.event_value = 2.0
    assert view.impact_table().iloc[0]["steps_exceeding"] == 0  # +1.5 is not above +2
    markdown = view._table_markdown()
    assert "days with change &gt; +2 degC (regional mean)" in markdown
    # the same number as a value: every day of both runs is warmer than 2 degC
    state.exceed = "value"
    table = view.impact_table()
    assert table.attrs["exceedance"] == "days with value > 2 degC"
    row = table.iloc[0]
    assert (row["steps_exceeding"], row["baseline_steps_exceeding"]) == (10, 10)
    csv = view.table_csv().getvalue().splitlines()
    assert "steps_exceeding: days with value > 2 degC (regional mean)" in csv[0]
    header = csv[1].split(",")
    values = dict(zip(header, csv[2].split(","), strict=True))
    assert (values["exceed"], values["exceed_value"], values["steps_exceeding"]) == (
        "value", "2.0", "10"
    )  # fmt: skip


def test_a_source_with_one_run_has_nothing_to_compare(catalog):
    one = Catalog.from_dict(
        {
            "datasets": [
                {
                    "id": "one",
                    "adapter": "demo",
                    "resolution": 1.0,
                    "days": 3,
                    "scenarios": ["baseline"],
                }
            ]
        }
    )
    state = ExplorerState(one)
    view = CompareView(state=state)
    state.mode = "difference"
    assert view.maps == []
    assert "Choose one or more what-if scenarios" in view.note.object
