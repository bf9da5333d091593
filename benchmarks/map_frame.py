"""One 800 x 450 map frame of a 1/12° global grid: this product's renderer against its peers.

Two cases, both in Web Mercator as the map serves them: the full globe and a 10° x 10° zoom.
Every timed frame reads a time step that case has not read yet (the store holds one chunk
per step, so no frame comes from a cache; steps are reused only beyond ``NTIME - 1``
repeats); an untimed first frame, on step 0, warms up JIT compilation.

- ours: ``render_field(ds[var].isel(time=t), viewport)`` from ``components.render``;
- (a) the hvPlot/GeoViews way: ``gv.Image`` in PlateCarree, ``gv.project`` to Web Mercator
  (what a GeoViews map on web tiles and hvPlot's ``geo=True, project=True`` do), then
  HoloViews' ``rasterize`` to the viewport. The projection covers the whole grid whatever
  the viewport, so it is timed once per time step and added to each case's rasterize;
- (b) plain HoloViews without rasterize: ``hv.Image`` of the whole grid made into a Bokeh
  plot, which ships the whole grid to the browser.

Payload: bytes of the arrays in the Bokeh plot's data sources, that is what the browser is
sent, for our frame (drawn as an ``hv.Image`` as the map view draws it) and for (b).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from components.render import (
    WEB_MERCATOR,
    Frame,
    Viewport,
    full_extent,
    grid_for,
    render_field,
)

from .data import VARIABLE, open_global
from .harness import Options, Table, fmt_bytes, fmt_ms, fmt_ratio, median_ms, progress, timed

if TYPE_CHECKING:
    import geoviews as gv
    import holoviews as hv
    from holoviews.plotting.bokeh import ElementPlot

NAME = "map_frame"
DESCRIPTION = "one 800x450 frame of a 1/12° global grid vs gv.Image+rasterize and hv.Image"

#: Grid spacing of the store (degrees): 2160 x 4320 cells, 37 MB per float32 map.
RESOLUTION_DEG = 1 / 12
#: Time steps in the store: step 0 warms up, the others are read cold (cycled if needed).
NTIME = 6
#: Frame size in pixels.
WIDTH, HEIGHT = 800, 450
#: The zoom (W, S, E, N degrees): the Gulf Stream off Cape Hatteras, coast included.
ZOOM_BBOX = (-75.0, 30.0, -65.0, 40.0)
#: Target: the full-globe frame at least this many times faster than (a).
TARGET_SPEEDUP = 5.0
#: Target: a frame's payload no larger than the viewport in float32 (bytes).
TARGET_PAYLOAD = WIDTH * HEIGHT * 4

GLOBE, ZOOM = "globe 800x450", "zoom 10x10 deg 800x450"
FieldOf = Callable[[int], xr.DataArray]


# -- the three ways of drawing a frame ------------------------------------------------------
def ours(da: xr.DataArray, viewport: Viewport) -> Frame:
    """This product's frame: only the cells in view, resampled to the viewport's pixels."""
    return render_field(da, viewport)


def geoviews_project(da: xr.DataArray) -> gv.Image:
    """(a), first step: the whole grid as a ``gv.Image`` projected to Web Mercator."""
    import cartopy.crs as ccrs
    import geoviews as gv

    image = gv.Image(da, kdims=["lon", "lat"], vdims=[VARIABLE], crs=ccrs.PlateCarree())
    return gv.project(image, projection=ccrs.GOOGLE_MERCATOR)


def geoviews_rasterize(projected: gv.Image, viewport: Viewport) -> np.ndarray:
    """(a), second step: HoloViews' ``rasterize`` of the projected image to the viewport."""
    from holoviews.operation.datashader import rasterize

    frame = rasterize(
        projected,
        dynamic=False,
        width=viewport.width,
        height=viewport.height,
        x_range=viewport.x_range,
        y_range=viewport.y_range,
    )
    return np.asarray(frame.data[VARIABLE].values)


def holoviews_plot(element: hv.Element) -> ElementPlot:
    """The Bokeh plot of a HoloViews element, as a notebook or Panel would build it."""
    import holoviews as hv

    return hv.renderer("bokeh").get_plot(element)


def holoviews_image(da: xr.DataArray) -> hv.Image:
    """(b): the whole grid as a plain ``hv.Image``, no rasterize."""
    import holoviews as hv

    return hv.Image(da, kdims=["lon", "lat"], vdims=[VARIABLE])


def frame_image(frame: Frame) -> hv.Image:
    """Our frame as an ``hv.Image`` on its pixel centres, as the map view draws it."""
    import holoviews as hv

    x, y = frame.viewport.pixel_centres()
    return hv.Image((x, y, frame.values), kdims=["x", "y"], vdims=[VARIABLE])


def payload_bytes(plot: ElementPlot) -> int:
    """Bytes of the arrays in a Bokeh plot's data sources: what the browser is sent.

    Scalars (an image's position and size: 32 bytes) are left out; they are not the field.
    """
    from bokeh.models import ColumnDataSource

    total = 0
    for source in plot.state.select({"type": ColumnDataSource}):
        for column in source.data.values():
            items = column if isinstance(column, list) else [column]
            total += sum(item.nbytes for item in items if np.ndim(item) > 0)
    return total


# -- the runs -------------------------------------------------------------------------------
def cases(da: xr.DataArray) -> dict[str, Viewport]:
    """The viewports: the whole Web Mercator world of the grid, and the zoom."""
    x0, y0, x1, y1 = full_extent(da, WEB_MERCATOR)
    return {
        GLOBE: Viewport((x0, x1), (y0, y1), WIDTH, HEIGHT, WEB_MERCATOR),
        ZOOM: Viewport.from_bbox(ZOOM_BBOX, WIDTH, HEIGHT, WEB_MERCATOR),
    }


def cold_steps(repeats: int) -> list[int]:
    """Time steps for the timed frames: 1, 2, … (step 0 is the warm-up), cycled if needed."""
    return [1 + i % (NTIME - 1) for i in range(repeats)]


def _time_ours(field_of: FieldOf, viewport: Viewport, steps: list[int]):
    """Seconds per frame, the last frame, and each frame's (read, rasterize) seconds."""

    def frame_at(t: int) -> Frame:
        return ours(field_of(t), viewport)

    frame_at(0)  # warm-up: Datashader's JIT compilation
    runs = [timed(frame_at, t) for t in steps]
    # The same frames again, step by step: the window read (the chunk decompressed), then
    # the quadmesh. Not part of the timings above.
    split = [_ours_split(field_of(t), viewport) for t in steps]
    return [s for _, s in runs], runs[-1][0], split


def _ours_split(da: xr.DataArray, viewport: Viewport) -> tuple[float, float]:
    """Seconds our renderer spends reading the cells in view, and rasterizing them."""
    grid = grid_for(da)
    window, read_s = timed(lambda: grid.window(da, viewport).load())
    _, rasterize_s = timed(grid.rasterize, window, viewport)
    return read_s, rasterize_s


def _time_geoviews(field_of: FieldOf, viewports: dict[str, Viewport], steps: list[int]):
    """Seconds of gv.project per step, of rasterize per case and step; the last frames."""
    project_s: list[float] = []
    rasterize_s: dict[str, list[float]] = {label: [] for label in viewports}
    frames: dict[str, np.ndarray] = {}
    for i, t in enumerate([0, *steps]):  # the first is the warm-up
        projected, s = timed(geoviews_project, field_of(t))
        if i:
            project_s.append(s)
        for label, viewport in viewports.items():
            frames[label], s = timed(geoviews_rasterize, projected, viewport)
            if i:
                rasterize_s[label].append(s)
        del projected
    return project_s, rasterize_s, frames


def _time_holoviews(field_of: FieldOf, steps: list[int]):
    """Seconds to build the Bokeh plot of the whole grid per step; its payload in bytes."""

    def plot_at(t: int) -> ElementPlot:
        return holoviews_plot(holoviews_image(field_of(t)))

    plot_at(0)  # warm-up: imports, plotting classes
    seconds, payload = [], 0
    for t in steps:
        plot, s = timed(plot_at, t)
        seconds.append(s)
        payload = payload_bytes(plot)
        del plot
    return seconds, payload


def _agreement(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Median |a - b| where both have values, and the fraction of pixels where one is NaN."""
    both = np.isfinite(a) & np.isfinite(b)
    median = float(np.median(np.abs(a[both] - b[both]))) if both.any() else float("nan")
    return median, float(np.mean(np.isfinite(a) != np.isfinite(b)))


def _split_ms(split: list[tuple[float, float]], part: int) -> str:
    return fmt_ms(median_ms([parts[part] for parts in split]))


def run(options: Options) -> Table:
    """Time every case three ways and say whether the targets are met."""
    ds = open_global(RESOLUTION_DEG, NTIME)
    variable = ds[VARIABLE]
    units = variable.attrs.get("units", "")

    def field_of(t: int) -> xr.DataArray:
        return ds[VARIABLE].isel(time=t)

    viewports = cases(field_of(0))
    steps = cold_steps(options.repeats)

    ours_s, ours_frames, ours_split = {}, {}, {}
    for label, viewport in viewports.items():
        progress(f"ours: {label}")
        ours_s[label], ours_frames[label], ours_split[label] = _time_ours(field_of, viewport, steps)
    progress(f"gv.Image + rasterize: {len(steps) + 1} time steps, ~15 s each on 2 cores")
    project_s, rasterize_s, gv_frames = _time_geoviews(field_of, viewports, steps)
    progress("hv.Image to a Bokeh plot")
    hv_s, hv_payload = _time_holoviews(field_of, steps)

    ny, nx = variable.shape[-2:]
    table = Table(
        title=(
            f"Map frame: global 1/{round(1 / RESOLUTION_DEG)}° grid ({ny} x {nx} float32, Zarr, "
            f"one chunk per time step) -> {WIDTH} x {HEIGHT} px in Web Mercator; "
            f"median of {len(steps)} frames, each on a new time step"
        ),
        columns=[
            "case",
            "ours (ms)",
            "gv.Image+rasterize (ms)",
            "ratio",
            "ours payload",
            "hv.Image payload",
            "ratio",
            "hv.Image plot (ms)",
        ],
    )
    payloads, speedups = {}, {}
    for label in viewports:
        ours_ms = median_ms(ours_s[label])
        peer_ms = median_ms([p + r for p, r in zip(project_s, rasterize_s[label], strict=True)])
        payloads[label] = payload_bytes(holoviews_plot(frame_image(ours_frames[label])))
        speedups[label] = peer_ms / ours_ms
        table.rows.append(
            [
                label,
                fmt_ms(ours_ms),
                fmt_ms(peer_ms),
                fmt_ratio(speedups[label]),
                fmt_bytes(payloads[label]),
                fmt_bytes(hv_payload),
                fmt_ratio(hv_payload / payloads[label]),
                fmt_ms(median_ms(hv_s)),
            ]
        )

    met = speedups[GLOBE] >= TARGET_SPEEDUP
    largest = max(payloads.values())
    zoom_shape = gv_frames[ZOOM].shape
    diff, mismatch = _agreement(ours_frames[GLOBE].values, gv_frames[GLOBE])
    table.notes += [
        f"target: full-globe frame >= {TARGET_SPEEDUP:g}x faster than gv.Image+rasterize: "
        f"{'MET' if met else 'NOT MET'} ({fmt_ratio(speedups[GLOBE])})",
        f"target: payload <= viewport in float32 ({fmt_bytes(TARGET_PAYLOAD)}): "
        f"{'MET' if largest <= TARGET_PAYLOAD else 'NOT MET'} (largest {fmt_bytes(largest)})",
        f"gv.Image+rasterize splits into gv.project of the whole grid "
        f"{fmt_ms(median_ms(project_s))} ms (every time step, whatever the view) and "
        f"rasterize {fmt_ms(median_ms(rasterize_s[GLOBE]))} ms (globe) / "
        f"{fmt_ms(median_ms(rasterize_s[ZOOM]))} ms (zoom)",
        "ours splits into reading the cells in view "
        f"{_split_ms(ours_split[GLOBE], 0)} ms / {_split_ms(ours_split[ZOOM], 0)} ms "
        f"(globe / zoom) and the quadmesh {_split_ms(ours_split[GLOBE], 1)} ms / "
        f"{_split_ms(ours_split[ZOOM], 1)} ms",
        f"rasterize does not upsample: (a)'s zoom frame is {zoom_shape[1]} x {zoom_shape[0]} "
        f"px of source cells, ours {WIDTH} x {HEIGHT}",
        f"ours read {ours_frames[GLOBE].cells_read:,} cells for the globe and "
        f"{ours_frames[ZOOM].cells_read:,} for the zoom (the zoom still decompresses the "
        "step's one chunk)",
        f"globe frames agree with (a): median |diff| {diff:.3f} {units} where both have a "
        f"value; {100 * mismatch:.1f}% of pixels have a value in one only (coasts)",
    ]
    return table
