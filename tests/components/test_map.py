"""The state, map view and controls without a browser: choices give the expected data."""

from __future__ import annotations

import urllib.parse

import holoviews as hv
import numpy as np
import pytest

from components import ColorSettings, ExplorerState, MapView, TimeControls
from components.controls import LatestOnly
from components.core.colours import default_cmap, palette, robust_range
from components.core.derived import velocity_names
from components.map_layers import log_ticks, lonlat_extent_to_mercator, reference_speed
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


@pytest.fixture
def state(catalog):
    return ExplorerState(catalog)


def frame_at(view: MapView, bbox, width=200, height=200) -> hv.Image:
    x0, y0, x1, y1 = lonlat_extent_to_mercator(bbox)
    return view._field(x_range=(x0, x1), y_range=(y0, y1), width=width, height=height)


def test_state_offers_the_dataset_choices(state):
    assert state.dataset_id == "demo-1deg"
    assert state.variable == "thetao"
    assert state.time == "2025-01-01"
    assert state.depth == 0.5
    assert state.scenario == "baseline"
    assert state.param.scenario.objects == [
        "baseline", "warming_1p5", "warming_3", "heatwave", "windfarm"
    ]  # fmt: skip
    assert len(state.param.time.objects) == 40


def test_field_follows_the_choices(state):
    state.param.update(variable="thetao", time="2025-01-20", depth=100.0, scenario="warming_3")
    field = state.field()
    assert field.dims == ("lat", "lon")
    expected = state.dataset["thetao"].sel(scenario="warming_3", depth=100.0)
    expected = expected.isel(time=19).sel(lon=-30.5, lat=20.5)
    assert float(field.sel(lon=-30.5, lat=20.5)) == pytest.approx(float(expected))


def test_surface_only_variable_ignores_depth(state):
    state.param.update(variable="zos", depth=1000.0)
    assert state.field().dims == ("lat", "lon")


def test_map_frame_value_at_a_point_is_the_source_value(state):
    state.param.update(variable="so", time="2025-02-01")
    view = MapView(state=state)
    # a 2°-wide view at 200 px: each 1° cell covers ~100 pixels, the pixel shows the cell
    image = frame_at(view, (-41.0, 29.0, -39.0, 31.0))
    assert image.dimension_values(state.variable, flat=False).shape == (200, 200)
    x, y = (image.dimension_values(d, expanded=False) for d in ("x", "y"))
    pixel = view.frame.to_xarray().sel(x=x[50], y=y[50])
    source = state.dataset["so"].isel(scenario=0, time=31, depth=0)
    expected = source.sel(lon=float(pixel.lon), lat=float(pixel.lat), method="nearest")
    assert float(pixel) == pytest.approx(float(expected), rel=1e-6)


def test_map_frame_is_the_viewport_size_not_the_grid(state):
    view = MapView(state=state)
    image = frame_at(view, (-180.0, -80.0, 180.0, 80.0), width=640, height=300)
    assert image.dimension_values(state.variable, flat=False).shape == (300, 640)


def test_time_change_changes_the_picture(state):
    view = MapView(state=state)
    before = frame_at(view, (-60.0, -30.0, 0.0, 30.0)).dimension_values("thetao", flat=False)
    state.time = "2025-02-09"
    after = frame_at(view, (-60.0, -30.0, 0.0, 30.0)).dimension_values("thetao", flat=False)
    changed = np.isfinite(before) & np.isfinite(after) & (before != after)
    assert changed.mean() > 0.5


def test_broken_dataset_is_a_message_not_a_crash(state):
    state.dataset_id = "broken"
    assert "no such file" in state.message
    assert state.field().dims == ("lat", "lon")  # the last good dataset is still shown


def test_colour_defaults_follow_the_variable(state):
    ds = state.dataset
    assert default_cmap(ds["thetao"]) == "thermal"
    assert default_cmap(ds["so"]) == "haline"
    assert default_cmap(ds["chl"]) == "algae"
    assert default_cmap(ds["uo"]) == "balance"
    assert len(palette("thermal")) == 256
    view = MapView(state=state)
    assert view.colors.cmap == "thermal" and not view.colors.log_scale
    state.variable = "chl"
    assert view.colors.cmap == "algae" and view.colors.log_scale  # chlorophyll is skewed


def test_robust_range_ignores_outliers():
    values = np.r_[np.arange(100.0), np.nan, 1e6]
    lo, hi = robust_range(values)
    assert 0 < lo < 5 and 95 < hi < 100
    lo, hi = robust_range(np.array([-1.0, 3.0]), symmetric=True)
    assert lo == -hi


def test_colour_range_modes(state):
    view = MapView(state=state)
    frame_at(view, (-60.0, -30.0, 0.0, 30.0))
    auto = view.clim
    finite = view.frame.values[np.isfinite(view.frame.values)]
    assert auto == pytest.approx(tuple(np.percentile(finite, [2, 98])))
    # auto follows what is in view: a cold, high-latitude view has a lower range
    frame_at(view, (-60.0, 50.0, 0.0, 70.0))
    assert view.clim[1] < auto[1]
    view.colors.mode = "fixed"
    frame_at(view, (-60.0, -30.0, 0.0, 30.0))
    fixed = view.clim
    state.time = "2025-02-09"  # fixed stays fixed while animating
    frame_at(view, (-60.0, -30.0, 0.0, 30.0))
    assert view.clim == fixed
    view.colors.param.update(vmin=5.0, vmax=25.0)
    frame_at(view, (-60.0, -30.0, 0.0, 30.0))
    assert view.clim == (5.0, 25.0)
    view.colors.mode = "symmetric"
    frame_at(view, (-60.0, -30.0, 0.0, 30.0))
    assert view.clim[0] == -view.clim[1]


def test_fixing_the_range_prefills_rounded_numbers():
    # a float32 sea-ice temperature reads -1.89999997 in full: the boxes show -1.9
    values = np.r_[np.full(10, np.float32(-1.9)), np.linspace(0.0, 31.2345, 100)]
    colors = ColorSettings(mode="fixed")
    lo, hi = colors.limits(values)
    assert (colors.vmin, colors.vmax) == (lo, hi)
    assert str(colors.vmin) == "-1.9" and len(str(colors.vmax)) <= 5
    auto = ColorSettings().limits(values)
    assert lo <= auto[0] and hi >= auto[1]  # widened, never narrowed


def test_log_scale_range_is_positive():
    colors = ColorSettings(log_scale=True)
    lo, hi = colors.limits(np.array([0.0, 0.01, 0.1, 1.0, 10.0, np.nan]))
    assert 0 < lo < hi


def test_current_arrows_follow_the_velocity_variables(state):
    assert velocity_names(state.dataset) == ("uo", "vo")
    view = MapView(state=state)
    x0, y0, x1, y1 = lonlat_extent_to_mercator((-80.0, -60.0, 40.0, 60.0))
    off = view._arrows(x_range=(x0, x1), y_range=(y0, y1), width=600, height=600)
    assert len(off.get(0)) == 0
    on = view._arrows(x_range=(x0, x1), y_range=(y0, y1), width=600, height=600, currents=True)
    arrows, key = on.get(0), on.get(1)
    assert 100 < len(arrows) <= 32 * 32 + 1  # thinned to the view, not one arrow per cell
    # the reference arrow (the last) says its speed: a round speed up to the fastest in view
    fastest = float(np.nanmax(np.hypot(*(view._component(n).values for n in ("uo", "vo")))))
    ref = float(key.text.split()[0])
    assert key.text.endswith(" m s-1") and ref <= fastest * 1.05  # the data's units
    assert ref / fastest >= 0.2
    speeds = arrows.dimension_values("speed")
    assert speeds[:-1].max() == pytest.approx(1.0)  # lengths relative to the fastest
    assert 0.2 <= speeds[-1] <= 1.0  # the key: its speed relative to the same fastest


def test_log_colour_bar_has_ticks_below_half():
    assert log_ticks((0.01, 5.0)) == [0.01, 0.1, 1.0]
    assert log_ticks((0.03, 0.9)) == [0.05, 0.1, 0.2, 0.5]
    assert reference_speed(0.73) == 0.5 and reference_speed(1.9) == 1.0


def test_coastline_is_drawn_where_the_coast_is(state):
    view = MapView(state=state)
    x0, y0, x1, y1 = lonlat_extent_to_mercator((-10.0, 35.0, 30.0, 60.0))  # Europe
    coast = view._coast(x_range=(x0, x1), y_range=(y0, y1), width=400, height=300)
    alpha = (
        coast.data[..., 3]
        if isinstance(coast.data, np.ndarray)
        else coast.dimension_values("A", flat=False)
    )
    assert 0.005 < (np.asarray(alpha) > 0).mean() < 0.2
    off = view._coast(x_range=(x0, x1), y_range=(y0, y1), width=400, height=300, coastline=False)
    assert not np.asarray(off.dimension_values("A")).any()


def test_latest_only_applies_the_newest_value():
    applied, queue = [], []
    latest = LatestOnly(applied.append, queue.append)
    for value in range(10):  # ten slider events arrive while a frame renders
        latest.submit(value)
    assert len(queue) == 1  # one apply scheduled, not ten
    queue.pop()()
    assert applied == [9]
    latest.submit(3)
    queue.pop()()
    assert applied == [9, 3]


def test_time_controls_drive_the_state(state):
    controls = TimeControls(state=state)
    controls.player.value = 5
    assert state.time == "2025-01-06"
    controls.date.value = "2025-01-20T20:00"
    assert state.time == "2025-01-21"  # the nearest step
    controls.date.value = "not a date"
    assert "not a date" in state.message
    state.time = "2025-01-30"
    assert controls.slider.value == "2025-01-30" and controls.player.value == 29


def shown_colour_bar(root):
    """The colour bar of the live Bokeh document the browser would show."""
    from bokeh.models import ColorBar

    (bar,) = root.select({"type": ColorBar})
    return bar


def test_colour_bar_names_the_variable_shown_after_a_switch(state):
    view = MapView(state=state)
    root = view._pane.get_root()  # a live document, updated as a session's would be
    assert shown_colour_bar(root).title == "Sea water potential temperature [degC]"
    state.variable = "chl"
    title = shown_colour_bar(root).title
    assert "chlorophyll" in title.lower() and "degC" not in title


def test_log_scale_gives_a_log_colour_bar(state):
    from bokeh.models import LinearColorMapper, LogColorMapper

    state.variable = "chl"
    view = MapView(state=state)
    root = view._pane.get_root()
    view.colors.log_scale = False
    assert type(shown_colour_bar(root).color_mapper) is LinearColorMapper
    view.colors.log_scale = True
    assert isinstance(shown_colour_bar(root).color_mapper, LogColorMapper)


def test_a_view_past_the_dateline_stays_where_it_is_when_the_map_is_rebuilt(state):
    # A plot panned west past the dateline reports -195..-165. A new variable rebuilds the
    # plot "in the same view": moved a world east instead, it showed none of its picture,
    # ticks labelled nonsense and the scale bar read "1 m".
    from bokeh.models import Plot, ScaleBar

    from components.core.geography import lon_to_x

    state.extent = (-195.0, 40.0, -165.0, 60.0)
    view = MapView(state=state)
    root = view._pane.get_root()
    state.variable = "chl"
    (plot,) = root.select({"type": Plot})
    assert (plot.x_range.start, plot.x_range.end) == pytest.approx(
        tuple(lon_to_x(np.array([-195.0, -165.0])))
    )
    # the scale bar measures the rebuilt view at once: 30° of longitude near 50°N
    (bar,) = root.select({"type": ScaleBar})
    assert bar.visible
    assert 1.9e6 < bar.range.end < 2.4e6


def test_after_a_step_drawn_by_tiles_the_frame_exported_is_the_new_steps(state):
    # over tiles a time step reads no frame; an export (Share: PNG, GeoTIFF) asks for it
    view = MapView(state=state)
    frame_at(view, (-60.0, -30.0, 0.0, 30.0))
    first = view.frame
    state.time = "2025-02-09"
    view._tiles.step_image(first.viewport)
    stepped = view.frame
    assert stepped.viewport == first.viewport
    expected = view.frames.get(view.field_key(), view.shown, first.viewport).values
    np.testing.assert_array_equal(stepped.values, expected)
    assert (np.isfinite(first.values) & (stepped.values != first.values)).mean() > 0.5


def test_over_tiles_the_step_loaded_ahead_follows_the_direction_of_the_last_step(state):
    # the page loads the tiles of the step likely next while a step shows (map_tiles.STEP_JS)
    view = MapView(state=state)
    view._tiles._clim = (0.0, 30.0)  # the colour range of the view, as its first frame sets

    def ahead() -> str | None:
        url = view._tiles.ahead(view._tiles.near())
        return urllib.parse.parse_qs(urllib.parse.urlparse(url).query)["time"][0] if url else None

    state.time = "2025-01-10"
    assert ahead() == "2025-01-11"  # forward by default
    state.time = "2025-01-11"
    assert ahead() == "2025-01-12"
    state.time = "2025-01-10"  # a step back: the page loads the step before it
    assert ahead() == "2025-01-09"
    state.time = "2025-02-09"  # a jump past half the axis is a loop's wrap: the way is kept
    assert ahead() == "2025-02-08"
    state.time = "2025-01-01"
    assert ahead() is None  # nothing before the first step
    # the URL loaded ahead is the shown one's but for the time (same colours, run, depth)
    shown = urllib.parse.parse_qs(urllib.parse.urlparse(view._tiles.url()).query)
    state.time = "2025-01-02"
    loaded = urllib.parse.parse_qs(
        urllib.parse.urlparse(view._tiles.ahead(view._tiles.near())).query
    )
    assert {k: v for k, v in loaded.items() if k != "time"} == {
        k: v for k, v in shown.items() if k != "time"
    }
