"""The state and map view without a browser: parameter changes give the expected data."""

from __future__ import annotations

import numpy as np
import pytest
from holoviews.operation.datashader import rasterize

from components import ExplorerState, MapView
from components.colors import default_cmap, palette, robust_range
from components.map import field_element
from data_adapters import Catalog


@pytest.fixture(scope="module")
def catalog():
    return Catalog.from_dict(
        {
            "datasets": [
                {"id": "demo-1deg", "adapter": "demo", "resolution": 1.0, "days": 40},
                {"id": "broken", "adapter": "netcdf", "path": "/no/such/file.nc"},
            ]
        }
    )


def test_state_offers_the_dataset_choices(catalog):
    state = ExplorerState(catalog)
    assert state.dataset_id == "demo-1deg"
    assert state.variable == "thetao"
    assert state.time == "2025-01-01"
    assert state.depth == 0.5
    assert state.scenario == "baseline"
    assert state.param.scenario.objects == [
        "baseline", "warming_1p5", "warming_3", "heatwave", "windfarm"
    ]  # fmt: skip
    assert len(state.param.time.objects) == 40


def test_field_follows_the_choices(catalog):
    state = ExplorerState(catalog)
    state.param.update(variable="thetao", time="2025-01-20", depth=100.0, scenario="warming_3")
    field = state.field()
    assert field.dims == ("lat", "lon")
    expected = state.dataset["thetao"].sel(scenario="warming_3", depth=100.0)
    expected = expected.isel(time=19).sel(lon=-30.5, lat=20.5)
    assert float(field.sel(lon=-30.5, lat=20.5)) == pytest.approx(float(expected))


def test_surface_only_variable_ignores_depth(catalog):
    state = ExplorerState(catalog)
    state.param.update(variable="zos", depth=1000.0)
    assert state.field().dims == ("lat", "lon")


def test_map_element_holds_source_values(catalog):
    state = ExplorerState(catalog)
    state.param.update(variable="so", time="2025-02-01")
    element = field_element(state)
    # rasterized at the grid's own resolution, the pixel at a point is that cell's value
    raster = rasterize(
        element, width=360, height=180, x_range=(-180, 180), y_range=(-90, 90), dynamic=False
    )
    value = raster.data["so"].sel(lon=-40.5, lat=30.5, method="nearest")
    source = state.dataset["so"].isel(scenario=0, time=31, depth=0).sel(lon=-40.5, lat=30.5)
    assert float(value) == pytest.approx(float(source), rel=1e-6)


def test_map_view_rerenders_on_time_change(catalog):
    state = ExplorerState(catalog)
    view = MapView(state=state)
    before = view._pane.object
    state.time = "2025-01-15"
    assert view._pane.object is not before
    assert "2025-01-15" in view._title()


def test_broken_dataset_is_a_message_not_a_crash(catalog):
    state = ExplorerState(catalog)
    state.dataset_id = "broken"
    assert "no such file" in state.message
    # the last good dataset is still shown
    assert state.field().dims == ("lat", "lon")


def test_colour_defaults_follow_the_variable(catalog):
    ds = ExplorerState(catalog).dataset
    assert default_cmap(ds["thetao"]) == "thermal"
    assert default_cmap(ds["so"]) == "haline"
    assert default_cmap(ds["chl"]) == "algae"
    assert default_cmap(ds["uo"]) == "balance"
    assert len(palette("thermal")) == 256
    values = np.r_[np.arange(100.0), np.nan, 1e6]
    lo, hi = robust_range(values)
    assert 0 < lo < 5 and 95 < hi < 100  # the outlier does not stretch the range
    assert (
        robust_range(np.array([-1.0, 3.0]), symmetric=True)[0]
        == -robust_range(np.array([-1.0, 3.0]), symmetric=True)[1]
    )
