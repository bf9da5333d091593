"""The URL state without a browser: a link gives the same view; bad values are refused one
by one, saying why, and never open anything outside the catalog."""

from __future__ import annotations

import pytest

from app.urlstate import apply_query, encode, query_of, read_query
from components import ColorSettings, ExplorerState
from components.map_layers import LayerSettings
from data_adapters import Catalog


@pytest.fixture(scope="module")
def catalog():
    return Catalog.from_dict(
        {
            "datasets": [
                {"id": "demo-1deg", "adapter": "demo", "resolution": 1.0, "days": 20},
                {"id": "other", "adapter": "demo", "resolution": 1.0, "days": 3},
            ],
            "scenario_groups": [
                {
                    "id": "warming",
                    "dataset": "demo-1deg",
                    "baseline": "baseline",
                    "scenarios": ["warming_1p5", "warming_3"],
                }
            ],
        }
    )


@pytest.fixture
def session(catalog):
    state = ExplorerState(catalog)
    colours = {"map": ColorSettings(), "change": ColorSettings(cmap="balance")}

    def colors_for(mode):
        return colours["change" if mode in ("difference", "relative") else "map"]

    return state, colors_for


def test_a_link_gives_the_same_view(session):
    state, colors_for = session
    query = {
        "dataset": "other", "variable": "so", "time": "2025-01-03", "depth": "95",
        "scenario": "heatwave", "bbox": "-70,25,-10,65", "points": "-30.5,20.25;-40,10",
        "cmap": "haline", "clim": "30,38",
    }  # fmt: skip
    assert apply_query(query, state, colors_for) == []
    assert state.dataset_id == "other" and state.variable == "so"
    assert state.time == "2025-01-03"
    assert state.depth == 100.0  # the nearest level to 95 m
    assert state.scenario == "heatwave"
    assert state.extent == (-70.0, 25.0, -10.0, 65.0)
    assert state.points == [(-30.5, 20.25), (-40.0, 10.0)]
    colours = colors_for("map")
    assert (colours.cmap, colours.mode, colours.vmin, colours.vmax) == ("haline", "fixed", 30, 38)
    # and back: the state written as a query reads as the same view in a new session
    written = query_of(state, colours)
    assert written["bbox"] == "-70,25,-10,65" and written["clim"] == "30,38"
    assert written["points"] == "-30.5,20.25;-40,10"
    again = ExplorerState(state.catalog)
    assert apply_query(written, again, colors_for) == []
    for name in ("dataset_id", "variable", "time", "depth", "scenario", "extent", "points"):
        assert getattr(again, name) == getattr(state, name)


def test_a_comparison_link(session):
    state, colors_for = session
    query = {"dataset": "warming", "mode": "difference", "scenario": "warming_3,warming_1p5"}
    assert apply_query(query, state, colors_for) == []
    assert state.mode == "difference" and state.baseline == "baseline"
    assert state.scenarios == ["warming_3", "warming_1p5"]
    written = query_of(state, colors_for(state.mode))
    assert written["scenario"] == "warming_3,warming_1p5" and written["cmap"] == "balance"
    assert encode(written).startswith("?dataset=warming&variable=thetao&")


def test_a_shared_comparison_keeps_its_threshold_count_region_and_layers(session):
    state, colors_for = session
    layers = LayerSettings()
    query = {
        "dataset": "warming", "variable": "chl", "mode": "difference", "scenario": "warming_3",
        "region": "-40,20,-20,35", "threshold": "0.25", "count_above": "1", "exceed": "value",
        "log": "0", "basemap": "Esri Ocean", "arrows": "1",
    }  # fmt: skip
    assert apply_query(query, state, colors_for, layers) == []
    assert state.region == (-40.0, 20.0, -20.0, 35.0) and state.polygon is None
    assert (state.threshold, state.event_value, state.exceed) == (0.25, 1.0, "value")
    assert colors_for("difference").log_scale is False
    assert (layers.basemap, layers.currents) == ("Esri Ocean", True)
    written = query_of(state, colors_for(state.mode), layers)
    assert {k: written[k] for k in query if k not in ("variable",)} == {
        k: v for k, v in query.items() if k != "variable"
    }
    again, layers_again = ExplorerState(state.catalog), LayerSettings()
    assert apply_query(written, again, colors_for, layers_again) == []
    for name in ("region", "threshold", "event_value", "exceed", "mode", "scenarios"):
        assert getattr(again, name) == getattr(state, name)
    assert (layers_again.basemap, layers_again.currents) == ("Esri Ocean", True)


def test_a_drawn_polygon_and_a_log_scale_travel_in_the_link(session):
    state, colors_for = session
    query = {"variable": "chl", "polygon": "170,-10;190,-10;180,5", "log": "1"}  # over 180°
    assert apply_query(query, state, colors_for) == []
    assert state.polygon == [(170.0, -10.0), (190.0, -10.0), (180.0, 5.0)]
    assert colors_for("map").log_scale
    written = query_of(state, colors_for("map"))
    assert written["polygon"] == "170,-10;190,-10;180,5" and written["log"] == "1"
    colors_for("map").log_scale = False
    assert query_of(state, colors_for("map"))["log"] == "0"  # off where the default is on
    state.variable = "so"
    assert "log" not in query_of(state, colors_for("map"))  # plainly off


def test_a_relative_link_to_a_celsius_temperature_shows_the_difference(session):
    state, colors_for = session
    query = {"dataset": "warming", "variable": "thetao", "mode": "relative"}
    (notice,) = apply_query(query, state, colors_for)
    assert notice.startswith("URL mode='relative' ignored: relative change (%) is not offered")
    assert notice.endswith("(showing the difference)")
    assert state.mode == "difference"
    state2 = ExplorerState(state.catalog)
    assert apply_query({**query, "variable": "uo"}, state2, colors_for) == []
    assert state2.mode == "relative"


def test_a_view_across_the_dateline(session):
    state, colors_for = session
    assert apply_query({"bbox": "170,-10,-170,10"}, state, colors_for) == []
    assert state.extent == (170.0, -10.0, 190.0, 10.0)  # the map runs on past 180 degrees
    assert query_of(state, colors_for("map"))["bbox"] == "170,-10,-170,10"


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        ("dataset", "/etc/passwd", "no dataset '/etc/passwd'"),
        ("dataset", "https://evil.example/data.nc", "no dataset 'https://evil.example"),
        ("variable", "<script>alert(1)</script>", "no variable"),
        ("time", "2025-13-45", "not a date"),
        ("time", "yesterday", "not a date"),
        ("depth", "-5", "positive down"),
        ("depth", "nan", "finite"),
        ("scenario", "warming_9", "no scenario 'warming_9'"),
        ("scenario", "baseline,heatwave", "one scenario at a time"),
        ("mode", "explode", "no mode 'explode'"),
        ("bbox", "1e999,2,3,4", "finite"),
        ("bbox", "0,10,20", "4 numbers"),
        ("bbox", "0,50,20,10", "S must be below N"),
        ("points", "../../etc/passwd", "not a number"),
        ("points", "0,95", "not a longitude, latitude"),
        ("points", ";".join(["1,1"] * 9), "at most 7"),
        ("cmap", "jet", "no colormap 'jet'"),
        ("clim", "5,1", "LO < HI"),
        ("region", "0,50,20,10", "S must be below N"),
        ("polygon", "0,0;1,1", "3 to 100 vertices"),
        ("polygon", "0,0;1,95;2,2", "not a longitude, latitude"),
        ("threshold", "-1", "0 or more"),
        ("threshold", "abc", "not a number"),
        ("count_above", "1 degC", "not a number"),
        ("exceed", "anomaly", "no exceedance (change or value) 'anomaly'"),
        ("log", "maybe", "expected 1 or 0"),
        ("time", "2" * 5000, "longer than"),
    ],
)
def test_bad_values_are_refused_and_the_rest_applies(session, key, value, why):
    state, colors_for = session
    before = {n: getattr(state, n) for n in ("dataset_id", "variable", "time", "depth")}
    query = (
        {key: value, "variable": "so"} if key != "variable" else {key: value, "time": "2025-01-05"}
    )
    notices = apply_query(query, state, colors_for)
    assert len(notices) == 1
    assert notices[0].startswith(f"URL {key}=") and why in notices[0]
    assert len(notices[0]) < 200  # one line, the value shortened
    if key == "variable":
        assert state.variable == before["variable"] and state.time == "2025-01-05"
    else:
        assert state.variable == "so"  # the good value still applied
    assert state.dataset_id in ("demo-1deg",)  # nothing outside the catalog was opened


def test_session_args_are_read_as_text():
    args = {"dataset": [b"demo"], "time": [b"2025-01-02", b"2025-01-03"], "utm_source": [b"x"]}
    assert read_query(args) == {"dataset": "demo", "time": "2025-01-03"}


def test_an_expression_link_gives_the_same_variable(session):
    state, colors_for = session
    query = {
        "dataset": "demo-1deg",
        "expr": "speed2 [m s-1] = sqrt(uo**2 + vo**2);warm = thetao > 25",
        "variable": "speed2",
    }
    assert apply_query(query, state, colors_for) == []
    assert state.variable == "speed2"
    assert state.dataset["speed2"].attrs["units"] == "m s-1"
    assert "warm" in state.param.variable.objects and "sigma_theta" in state.param.variable.objects
    written = query_of(state, colors_for("map"))
    assert written["expr"] == query["expr"]
    assert "expr=speed2+%5Bm+s-1%5D+%3D+sqrt" in encode(written)
    again = ExplorerState(state.catalog)
    assert apply_query(written, again, colors_for) == []
    assert again.variable == "speed2" and again.expressions == state.expressions


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("x=__import__('os').system('true')", "call"),
        ("x=().__class__", "Attribute"),
        ("x=uo[0]", "Subscript"),
        ("x=9**9**9", "exponent"),
        ("x=nothing*2", "unknown name 'nothing'"),
        ("x=uo+" + "1+" * 300 + "1", "longer than"),
    ],
)
def test_a_hostile_expression_link_gives_a_notice_and_the_default_variable(session, value, why):
    state, colors_for = session
    default = state.variable
    notices = apply_query({"expr": value, "variable": "x"}, state, colors_for)
    assert notices[0].startswith("URL expr=") and why in notices[0]
    assert len(notices) == 2 and "no variable 'x'" in notices[1]
    assert state.variable == default and state.expressions == []
