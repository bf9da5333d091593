"""The impact table's marine heatwaves per scenario, without a browser: heatwave days and
km² per category in the region when Show is a marine-heatwave choice."""

from __future__ import annotations

import pytest

from components import CompareView, ExplorerState
from data_adapters import Catalog


@pytest.fixture(scope="module")
def catalog():
    return Catalog.from_dict(
        {
            "datasets": [
                {
                    "id": "past",
                    "adapter": "demo",
                    "resolution": 1.0,
                    "start": "2021-01-01",
                    "days": 1826,
                    "variability": True,
                    "scenarios": ["baseline", "heatwave"],
                }
            ]
        }
    )


def test_the_heatwave_scenario_has_more_heatwave_days_and_area_than_the_baseline(
    catalog, tmp_path, monkeypatch
):
    monkeypatch.setenv("OCEAN_EXPLORER_CACHE", str(tmp_path))
    state = ExplorerState(catalog, dataset_id="past")
    state.param.update(variable="thetao", time="2025-07-25", reference="2021/2024")
    state.param.update(mode="difference", scenarios=["heatwave"])
    state.region = (-155.0, 38.0, -135.0, 52.0)  # the north-east Pacific heatwave
    view = CompareView(state=state)
    assert "heatwave_days" not in view.impact_table()  # Show: value
    state.show = "mhw-category"
    table = view.impact_table()
    heat, base = table.iloc[0], table.attrs["baseline_heatwaves"]
    assert heat["heatwave_days"] > 20 and heat["heatwave_days"] > 2 * base["heatwave_days"]
    severe = heat["area_severe_km2"] + heat["area_extreme_km2"]
    assert severe > 1e5 and severe > base["area_severe_km2"] + base["area_extreme_km2"]
    assert table.attrs["units"] == "1"  # the change of a category, not of degC
    csv = view.table_csv().getvalue().splitlines()[1].split(",")
    assert {"heatwave_days", "area_extreme_km2", "baseline_heatwave_days"} <= set(csv)
    markdown = view._table_markdown()
    assert "heatwave days (mean of the last 30 days)" in markdown and "km² Extreme" in markdown
