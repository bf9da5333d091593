"""The probe view without a browser: map gestures become points and regions, the plots show
the answers (the data themselves: ``test_probe_answers``), and a quick click's answer never
hides the last one's."""

from __future__ import annotations

import asyncio
import threading

import holoviews as hv
import numpy as np
import pytest

from components import ExplorerState, MapView, ProbeView
from components.core.geography import lat_to_y, lon_to_x
from components.probe_plots import plot_times
from components.probe_view import MAX_PINS
from data_adapters import Catalog
from tests.components.test_answer_pane import until


@pytest.fixture(scope="module")
def catalog():
    return Catalog.from_dict(
        {"datasets": [{"id": "demo-1deg", "adapter": "demo", "resolution": 1.0, "days": 40}]}
    )


@pytest.fixture
def view(catalog):
    state = ExplorerState(catalog)
    return ProbeView(state=state, map_view=MapView(state=state))


def tap(view: ProbeView, lon: float, lat: float) -> None:
    """A click on the map at (lon, lat), as the browser reports it (Web Mercator metres)."""
    view._on_tap(x=float(lon_to_x(np.array([lon]))[0]), y=float(lat_to_y(np.array([lat]))[0]))


def test_a_click_probes_the_nearest_cell(view):
    tap(view, -30.2, 20.3)
    (lon, lat), *_ = view.state.points
    assert (lon, lat) == pytest.approx((-30.2, 20.3))
    point = view.answers.series()["point1"]
    # the 1-degree demo's cell centres are at half degrees: the nearest one to the click
    assert (point.attrs["cell_lon"], point.attrs["cell_lat"]) == (-30.5, 20.5)


def test_profile_and_hovmoller_titles_name_what_they_show(view):
    view.state.param.update(depth=100.0, time="2025-01-10")
    tap(view, -30.2, 20.3)
    profile = view.profile_plot().object
    assert profile.opts.get().kwargs["title"] == (
        "Sea water potential temperature profile at lon=-30.5, lat=20.5, 2025-01-10"
    )
    assert next(layer.label for layer in profile) == "lon=-30.5, lat=20.5"  # no "depth=100 m"
    section = view.section_plot().object
    levels = view.state.param.depth.objects
    assert section.opts.get().kwargs["title"] == (
        "Sea water potential temperature at lon=-30.5, lat=20.5, "
        f"{levels[0]:g} to {levels[-1]:g} m (Hovmöller)"
    )


def test_the_hovmoller_is_one_seamless_image_of_every_day_and_level(view):
    tap(view, -30.2, 20.3)
    image = view.section_plot().object
    assert isinstance(image, hv.Image)  # pixels, not one quad per cell with seams between
    section = view.answers.section()
    # every pixel shows the value of the day and level whose cell holds it
    days = plot_times(section["time"].values)
    for day, depth in [(0, 0), (10, 3), (39, len(section["depth"]) - 1)]:
        level = float(section["depth"][depth])
        shown = image[days[day], level]
        assert shown == pytest.approx(float(section.isel(time=day, depth=depth)), rel=1e-6)
    values = image.dimension_values(2)
    assert np.isfinite(values).all()  # no gap between days or levels


def test_a_series_axis_has_few_short_date_labels(view):
    # a year of days read "Jan 2025 Mar 2025 ..." one over the other on a phone
    from bokeh.models import DatetimeAxis

    tap(view, -30.2, 20.3)
    figure = hv.renderer("bokeh").get_plot(view.series_plot().object).state
    (axis,) = (a for a in figure.xaxis if isinstance(a, DatetimeAxis))
    assert (axis.formatter.months, axis.formatter.days) == ("%b", "%d %b")
    assert axis.formatter.context.months == "%Y"  # the year once, under the first label
    assert axis.ticker.desired_num_ticks <= 5


def test_a_click_replaces_the_point_unless_pinning(view):
    tap(view, -30.0, 20.0)
    tap(view, -40.0, 25.0)
    assert view.state.points == [pytest.approx((-40.0, 25.0))]
    view.keep_pins = True
    for k in range(MAX_PINS + 2):
        tap(view, -40.0 + k, 10.0)
    assert len(view.state.points) == MAX_PINS  # the oldest ones are dropped
    assert view.state.points[-1] == pytest.approx((-40.0 + MAX_PINS + 1, 10.0))
    series = view.answers.series()
    assert list(series.data_vars) == [f"point{n}" for n in range(1, MAX_PINS + 1)]
    view.remove_point(0)
    assert len(view.state.points) == MAX_PINS - 1


def test_a_click_on_land_is_refused_with_a_message(view):
    tap(view, 20.0, 5.0)  # central Africa: no sea within a few cells
    assert view.state.points == []
    assert "is on land" in view.state.message


def test_a_click_on_the_coast_snaps_to_the_sea(view):
    # the land cell nearest the sea: a land cell with a sea cell next to it
    field = view.state.field()
    sea = np.isfinite(field.values)
    land_next_to_sea = ~sea & np.roll(sea, 1, axis=1)
    j, i = (int(v[len(v) // 2]) for v in np.nonzero(land_next_to_sea[40:140]))
    lon, lat = float(field["lon"][i]), float(field["lat"][j + 40])
    tap(view, lon, lat)
    point = view.answers.series()["point1"]
    assert np.isfinite(point.values).all()
    # the cell used is a sea cell next to the one clicked
    assert abs(point.attrs["cell_lon"] - lon) <= 1.0 and abs(point.attrs["cell_lat"] - lat) <= 1.0


def test_a_variable_without_depth_has_no_profile(view):
    tap(view, -30.2, 20.3)
    view.state.variable = "zos"
    assert "no depth levels" in view.profile_plot().object
    assert "needs time and depth" in view.section_plot().object


def test_a_box_across_the_dateline_becomes_the_region(view):
    x = lon_to_x(np.array([170.0, 190.0]))  # the browser's x runs on past 180 degrees
    y = lat_to_y(np.array([-10.0, 10.0]))
    view._on_box(bounds=(x[0], y[0], x[1], y[1]))
    assert view.state.region == pytest.approx((170.0, -10.0, -170.0, 10.0))
    assert view.shown == "Area"
    assert view.answers.area()[1]["cells"] == 400  # statistics: test_probe_answers


def test_a_lasso_polygon_replaces_the_box(view):
    view.state.region = (-40.0, 10.0, -20.0, 30.0)
    corners = [(-40.0, 10.0), (-20.0, 10.0), (-30.0, 30.0)]
    x = lon_to_x(np.array([c[0] for c in corners]))
    y = lat_to_y(np.array([c[1] for c in corners]))
    view._on_lasso(geometry=np.column_stack([x, y]))
    assert view.state.region is None
    np.testing.assert_allclose(view.state.polygon, corners)
    assert view.answers.region_label() == "polygon of 3 vertices"


def test_no_point_no_answer(view):
    assert "Click the sea" in view.series_plot().object
    assert "Click the sea" in view.profile_plot().object
    assert "draw a region" in view.area_plot().object


def test_cftime_times_are_drawn_as_dates():
    import cftime

    times = np.array([cftime.DatetimeNoLeap(2001, 2, 28), cftime.Datetime360Day(2001, 2, 30)])
    drawn = plot_times(times[:1])
    assert drawn.dtype.kind == "M" and str(drawn[0])[:10] == "2001-02-28"
    assert str(plot_times(times[1:])[0])[:10] == "2001-03-02"


def test_quick_clicks_show_the_answer_to_the_last(view, monkeypatch):
    """Three quick clicks whose answers come back out of order (the second after the third):
    the time series shown is the third point's, where the map's pin is."""
    computing = {}  # per point: its answer is computed, its answer may come back
    plot = view.series_plot

    def series_plot():
        point = view.state.points[-1] if view.state.points else None
        started, finish = computing.setdefault(point, (threading.Event(), threading.Event()))
        answer = plot()
        started.set()
        finish.wait(30)  # the answer is ready; it comes back when the test says
        return answer

    monkeypatch.setattr(view, "series_plot", series_plot)

    async def run():
        view.__panel__().get_root()  # shown: a pane answers once it is on a page
        pane = view.panes[0]  # the time series tab's answer
        shown = pane.body[0]._inner_layout
        points = [None]
        for lon, lat in [(-30.2, 20.3), (-40.2, 10.3), (-25.2, 35.3)]:
            await until(lambda: points[-1] in computing and computing[points[-1]][0].is_set())
            computing[None][1].set()  # the empty tab before the first click
            tap(view, lon, lat)
            points.append(view.state.points[-1])
        await until(lambda: points[-1] in computing and computing[points[-1]][0].is_set())
        # meanwhile the tab says it computes
        assert pane.banner.visible and "Computing the time series" in pane.banner.object
        computing[points[3]][1].set()  # the third click's answer comes back first
        await until(lambda: "lat=35.5" in title(shown[0].object))
        assert not pane.banner.visible and pane.body.styles.get("opacity") == "1"
        computing[points[2]][1].set()  # then the second's, and the first's
        computing[points[1]][1].set()
        await until(lambda: len(asyncio.all_tasks()) == 1)  # every answer handed to Panel
        assert not pane.banner.visible  # older answers neither show nor bring the banner back
        return title(shown[0].object)

    assert "at lon=-25.5, lat=35.5" in asyncio.run(run())


def title(obj) -> str:
    if not isinstance(obj, hv.core.Dimensioned):
        return ""
    return obj.opts.get().kwargs.get("title", "")


def test_the_area_plot_names_its_axis_by_the_quantity(view):
    view.state.region = (-40.0, 10.0, -20.0, 30.0)
    plot = view.area_plot()[0].object  # the area series above its statistics
    figure = hv.render(plot, backend="bokeh")
    assert figure.yaxis[0].axis_label == "thetao [degC]"  # was "min", the band's name


def test_only_the_tab_in_front_computes_and_the_others_when_shown(view):
    """A click computes the time series in front; the profile waits until its tab is shown."""

    def computed(kind: str) -> bool:
        return any(key[0] == kind for key in view.answers._answers)

    async def run():
        view.__panel__().get_root()  # shown: a pane answers once it is on a page
        tap(view, -30.2, 20.3)
        await until(lambda: computed("series") and not view.panes[0].computing)
        await until(lambda: len(asyncio.all_tasks()) == 1)  # every tab's call came back
        assert not computed("profile") and not computed("section")
        view.shown = "Profile"
        await until(lambda: computed("profile") and not view.panes[1].computing)
        assert "lat=20.5" in title(view.panes[1].body[0]._inner_layout[0].object)

    asyncio.run(run())


def test_a_click_whose_polygon_closed_before_its_probe_ran_probes_nothing(view, monkeypatch):
    # in a server a click probes on the next tick: the polygon its double-click closed may
    # come first, and the click must not then drop a point on the polygon's last vertex
    pending = []
    monkeypatch.setattr(view, "_announce", lambda tab, gesture: pending.append(gesture))
    corners = [(-40.0, 10.0), (-20.0, 10.0), (-30.0, 30.0)]
    x = lon_to_x(np.array([c[0] for c in corners]))
    y = lat_to_y(np.array([c[1] for c in corners]))
    for vx, vy in zip(x, y, strict=True):
        view._on_tap(x=float(vx), y=float(vy))
    view._on_lasso(geometry=np.column_stack([x, y]))
    # each in the order the server runs them: the three clicks, then the polygon
    assert [gesture() for gesture in pending[:3]] == [False, False, False]
    for gesture in pending[3:]:
        gesture()
    assert view.state.points == []
    np.testing.assert_allclose(view.state.polygon, corners)
