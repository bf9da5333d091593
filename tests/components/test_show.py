"""The session's "Show" choice: the map's field, the probe's event table and the URL."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from app.urlstate import apply_query, query_of
from components import ExplorerState
from components.colors import ColorSettings
from components.probe_answers import ProbeAnswers
from data_adapters import Catalog


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    path = tmp_path_factory.mktemp("show") / "catalog.yaml"
    path.write_text(
        textwrap.dedent(
            """
            datasets:
              - id: past
                title: Demo ocean with a past
                adapter: demo
                resolution: 1.0
                start: "2021-01-01"
                days: 1826
                variability: true
                scenarios: [baseline, warming_1p5, heatwave]
            """
        )
    )
    return Catalog.load(str(path))


def _at(field, lon: float, lat: float) -> float:
    return float(field.sel(lon=lon, lat=lat, method="nearest"))


@pytest.mark.slow
def test_the_map_shows_the_category_of_the_heatwave_and_the_permanent_heatwave_of_warming(
    catalog,
):
    state = ExplorerState(catalog, dataset_id="past")
    state.param.update(variable="thetao", time="2025-07-25", scenario="heatwave")
    value = state.field()
    state.show = "mhw-category"
    category = state.field()
    assert _at(category, -145, 45) >= 3 and _at(category, -30, -30) == 0
    assert category.attrs["show"] == "mhw-category"
    assert np.isnan(_at(category, 20, 0)) and np.isnan(_at(value, 20, 0))  # Africa: land
    # a warmer run against the baseline's climatology is in a heatwave almost everywhere;
    # against its own (shifted) climatology it is not
    state.scenario = "warming_1p5"
    fixed = state.field().values
    state.climate_baseline = "shifted"
    shifted = state.field().values
    sea = np.isfinite(fixed)
    assert (fixed[sea] > 0).mean() > 0.8 and (shifted[sea] > 0).mean() < 0.2


@pytest.mark.slow
def test_the_map_shows_degree_heating_weeks_where_the_heatwave_is(catalog):
    # NOAA Coral Reef Watch's alert level 2 is 8 degC-weeks: the heatwave passes it at its
    # centre by late July; the open sea elsewhere and the baseline run gather none
    state = ExplorerState(catalog, dataset_id="past")
    state.param.update(variable="thetao", time="2025-07-25", scenario="heatwave", show="dhw")
    dhw = state.field()
    assert dhw.attrs["units"] == "degC week" and "degree heating weeks" in dhw.attrs["long_name"]
    assert _at(dhw, -145, 45) > 8 and _at(dhw, -30, -30) == 0
    assert np.isnan(_at(dhw, 20, 0))  # Africa: land
    state.scenario = "baseline"
    assert _at(state.field(), -145, 45) == 0


def test_a_point_gets_its_event_table_and_the_url_keeps_the_choice(catalog):
    state = ExplorerState(catalog, dataset_id="past")
    state.param.update(variable="thetao", time="2025-07-25", scenario="heatwave")
    colors = ColorSettings()
    notices = apply_query({"show": "mhw-category", "ref": "2021/2024"}, state, lambda _: colors)
    assert notices == [] and state.show == "mhw-category" and state.reference == "2021/2024"
    assert query_of(state, colors)["show"] == "mhw-category"
    assert query_of(state, colors)["ref"] == "2021/2024"
    state.points = [(-145.0, 45.0)]
    _, table, climate, _ = ProbeAnswers(state).events()
    assert climate.reference.label == "2021/2024"
    heat = table[table["date_start"].str.startswith("2025")]
    assert heat["duration"].max() > 60 and set(heat["category"]) & {"Severe", "Extreme"}
    bad = apply_query({"ref": "2024"}, state, lambda _: colors)
    assert "START/END" in bad[0] and state.reference == "2021/2024"
