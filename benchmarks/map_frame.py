"""One 800 x 450 map frame of a global grid at 1/12° and 1/24°: this product against its peers.

Two views, both in Web Mercator as the map serves them: the full globe and a 10° x 10° zoom.
Every timed frame reads a time step that case has not read yet (the stores hold one chunk
per step and map tile, so no frame comes from a cache; steps are reused only beyond the
store's steps); an untimed first frame, on step 0, warms up imports and JIT compilation.

- ours: ``render_field(pyramid_for(field, pyramid), viewport)`` from ``components.core.frames``
  on the store as ``ocean-explorer prepare`` writes it (map tiles and the map pyramid: the level
  whose cells are about a pixel is read), as the map view does;
- ours, plain store: the same call on the time-chunked store itself (one chunk per step,
  no pyramid), for reference;
- (a) the hvPlot/GeoViews way: ``gv.Image`` in PlateCarree, ``gv.project`` to Web Mercator
  (what a GeoViews map on web tiles and hvPlot's ``geo=True, project=True`` do), then
  HoloViews' ``rasterize`` to the viewport. The projection covers the whole grid whatever
  the view, so it is timed once per time step and added to each view's rasterize;
- (b) xpublish-wms: a WMS ``GetMap`` for the same view (EPSG:3857 bbox, 800 x 450 PNG) from
  an xpublish server with the ``CfWmsPlugin`` on uvicorn on 127.0.0.1, serving the
  time-chunked store (each request names the time step);
- (c) matplotlib/cartopy: ``pcolormesh`` in a ``GOOGLE_MERCATOR`` axes of 800 x 450 px with
  ``transform=PlateCarree()``, saved to PNG: the whole grid for the globe; for the zoom only
  the cells of the view (the way a careful user subsets first, which favours the peer).

Payload: bytes of the arrays in the Bokeh plot's data sources, what the browser is sent,
for our frame (drawn as an ``hv.Image`` as the map view draws it) and for the full grid as
a plain ``hv.Image`` (what a HoloViews map without ``rasterize`` ships); the PNG bytes of
(b) and (c) for comparison (colours only: no values for hover or the colour bar).
"""

from __future__ import annotations

import contextlib
import io
import socket
import threading
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from components.core.frames import Frame, full_extent, grid_for, pyramid_for, render_field
from components.core.geography import WEB_MERCATOR, Viewport
from data_adapters.pyramid import MapPyramid

from .data import VARIABLE, open_global, open_prepared_global, prepared_global
from .harness import (
    Options,
    Table,
    Target,
    fmt_bytes,
    fmt_ms,
    fmt_ratio,
    median_ms,
    progress,
    timed,
)

if TYPE_CHECKING:
    import geoviews as gv
    import holoviews as hv
    from holoviews.plotting.bokeh import ElementPlot

NAME = "map_frame"
DESCRIPTION = (
    "one 800x450 frame of 1/12° and 1/24° global grids vs gv.Image+rasterize, xpublish-wms "
    "GetMap and cartopy pcolormesh; payload per frame"
)

#: Grid spacings (degrees) and daily steps of the stores: 2160 x 4320 (37 MB per float32
#: map; 24 steps, shared with ``browser_latency``) and 4320 x 8640 (149 MB per map).
STORES = {"1/12°": (1 / 12, 24), "1/24°": (1 / 24, 6)}
#: Timed time steps of the slow peers ((a) and (c)) at most, per store: at 1/24° one
#: gv.project takes about a minute and one cartopy frame longer; ``--quick`` skips (a) and
#: (c) at 1/24°.
PEER_REPEATS = {"1/12°": 5, "1/24°": 2}
#: Frame size in pixels.
WIDTH, HEIGHT = 800, 450
#: The zoom (W, S, E, N degrees): the Gulf Stream off Cape Hatteras, coast included.
ZOOM_BBOX = (-75.0, 30.0, -65.0, 40.0)
#: Target: the full-globe frame at least this many times faster than (a).
TARGET_SPEEDUP = 10.0
#: Target: the 1/24° frame at most this many times the 1/12° frame (same view).
TARGET_SCALING = 1.3
#: Target: a frame's payload no larger than the viewport in float32 (bytes).
TARGET_PAYLOAD = WIDTH * HEIGHT * 4
#: Colour range of the PNG peers (°C): fixed, so that no peer spends time on an auto range.
COLOUR_RANGE = (-2.0, 31.0)

GLOBE, ZOOM = "globe", "zoom 10°"
FieldOf = Callable[[int], xr.DataArray]


# -- ours -----------------------------------------------------------------------------------
def ours(ds: xr.Dataset, pyramid: MapPyramid | None, t: int, viewport: Viewport) -> Frame:
    """This product's frame: the pyramid level and cells in view, resampled to the pixels."""
    da = ds[VARIABLE].isel(time=t)
    return render_field(pyramid_for(da, pyramid), viewport)


def _ours_split(
    ds: xr.Dataset, pyramid: MapPyramid | None, t: int, viewport: Viewport
) -> tuple[float, float]:
    """Seconds our renderer spends reading the cells in view, and rasterizing them."""
    _, da = pyramid_for(ds[VARIABLE].isel(time=t), pyramid).level_for(viewport)
    grid = grid_for(da)
    window, read_s = timed(lambda: grid.window(da, viewport).load())
    _, rasterize_s = timed(grid.rasterize, window, viewport)
    return read_s, rasterize_s


# -- (a) gv.Image + rasterize ---------------------------------------------------------------
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


# -- (b) xpublish-wms -----------------------------------------------------------------------
@contextlib.contextmanager
def wms_server(datasets: dict[str, xr.Dataset]) -> Iterator[str]:
    """xpublish with the WMS plugin on uvicorn, in a thread on 127.0.0.1; yields its URL.

    Dataset ``<id>`` answers ``GetMap`` at ``{url}/datasets/<id>/wms``.
    """
    import uvicorn
    import xpublish
    from xpublish_wms import CfWmsPlugin

    rest = xpublish.Rest(datasets, plugins={"wms": CfWmsPlugin()})
    config = uvicorn.Config(
        rest.app, log_level="warning", access_log=False, lifespan="off", ws="none"
    )
    server = uvicorn.Server(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # bound here, so the port is ours before the thread starts
    thread = threading.Thread(target=lambda: server.run(sockets=[sock]), daemon=True)
    thread.start()
    started = threading.Event()
    while not (server.started or not thread.is_alive()):
        started.wait(0.05)  # polling the server's own flag while it starts
    try:
        if not server.started:
            raise RuntimeError("the xpublish-wms server did not start")
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def for_wms(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with the CF attributes xpublish-wms finds time by (the data is the same)."""
    return ds.assign_coords(time=ds["time"].assign_attrs(standard_name="time", axis="T"))


def wms_getmap(base: str, dataset_id: str, time: str, viewport: Viewport) -> bytes:
    """(b): the PNG of a WMS GetMap of ``viewport`` at ``time``."""
    (x0, x1), (y0, y1) = viewport.x_range, viewport.y_range
    query = "&".join(
        [
            "service=WMS",
            "version=1.3.0",
            "request=GetMap",
            f"layers={VARIABLE}",
            "styles=raster/default",
            "crs=EPSG:3857",
            f"bbox={x0},{y0},{x1},{y1}",
            f"width={viewport.width}",
            f"height={viewport.height}",
            "format=image/png",
            f"time={time}",
            f"colorscalerange={COLOUR_RANGE[0]},{COLOUR_RANGE[1]}",
            "autoscale=false",
        ]
    )
    url = f"{base}/datasets/{dataset_id}/wms?{query}"
    with urllib.request.urlopen(url, timeout=600) as response:
        body = response.read()
    if not body.startswith(b"\x89PNG"):
        raise RuntimeError(f"xpublish-wms answered no PNG: {body[:200]!r}")
    return body


# -- (c) matplotlib/cartopy -----------------------------------------------------------------
def cartopy_png(da: xr.DataArray, viewport: Viewport) -> bytes:
    """(c): ``pcolormesh`` of ``da`` in a Web Mercator axes of the viewport's size, as PNG."""
    import cartopy.crs as ccrs
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dpi = 100
    figure = Figure(figsize=(viewport.width / dpi, viewport.height / dpi), dpi=dpi)
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0.0, 0.0, 1.0, 1.0), projection=ccrs.GOOGLE_MERCATOR)
    (x0, x1), (y0, y1) = viewport.x_range, viewport.y_range
    axes.set_extent((x0, x1, y0, y1), crs=ccrs.GOOGLE_MERCATOR)
    axes.pcolormesh(
        da["lon"].values,
        da["lat"].values,
        np.asarray(da.values),
        transform=ccrs.PlateCarree(),
        shading="auto",
        vmin=COLOUR_RANGE[0],
        vmax=COLOUR_RANGE[1],
    )
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=dpi)
    return out.getvalue()


def view_cells(da: xr.DataArray, bbox: tuple[float, float, float, float]) -> xr.DataArray:
    """The cells of ``da`` in the lon/lat box (with a cell to spare on each side)."""
    west, south, east, north = bbox
    step = float(da["lon"][1] - da["lon"][0])
    return da.sel(lon=slice(west - step, east + step), lat=slice(south - step, north + step))


# -- payload --------------------------------------------------------------------------------
def holoviews_plot(element: hv.Element) -> ElementPlot:
    """The Bokeh plot of a HoloViews element, as a notebook or Panel would build it."""
    import holoviews as hv

    return hv.renderer("bokeh").get_plot(element)


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


def full_grid_payload(da: xr.DataArray) -> int:
    """Payload of the whole grid as a plain ``hv.Image`` (no rasterize)."""
    import holoviews as hv

    image = hv.Image(da, kdims=["lon", "lat"], vdims=[VARIABLE])
    return payload_bytes(holoviews_plot(image))


# -- the runs -------------------------------------------------------------------------------
@dataclass
class StoreRun:
    """Seconds per frame of every way, per view, on one store."""

    label: str
    shape: tuple[int, int]
    ours: dict[str, list[float]] = field(default_factory=dict)
    plain: dict[str, list[float]] = field(default_factory=dict)
    project: list[float] = field(default_factory=list)
    rasterize: dict[str, list[float]] = field(default_factory=dict)
    wms: dict[str, list[float]] = field(default_factory=dict)
    cartopy: dict[str, list[float]] = field(default_factory=dict)
    frames: dict[str, Frame] = field(default_factory=dict)
    split: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    payload: dict[str, int] = field(default_factory=dict)
    grid_payload: int = 0
    png_bytes: dict[str, dict[str, int]] = field(default_factory=dict)
    agreement: tuple[float, float] = (float("nan"), float("nan"))
    #: our globe frame from the pyramid against the same frame from the full grid
    pyramid_agreement: tuple[float, float] = (float("nan"), float("nan"))

    def gv_ms(self, view: str) -> float:
        if not self.project:
            return float("nan")
        pairs = zip(self.project, self.rasterize[view], strict=True)
        return median_ms([p + r for p, r in pairs])


def cases(da: xr.DataArray) -> dict[str, Viewport]:
    """The viewports: the whole Web Mercator world of the grid, and the zoom."""
    x0, y0, x1, y1 = full_extent(da, WEB_MERCATOR)
    return {
        GLOBE: Viewport((x0, x1), (y0, y1), WIDTH, HEIGHT, WEB_MERCATOR),
        ZOOM: Viewport.from_bbox(ZOOM_BBOX, WIDTH, HEIGHT, WEB_MERCATOR),
    }


def cold_steps(repeats: int, ntime: int) -> list[int]:
    """Time steps for the timed frames: 1, 2, … (step 0 is the warm-up), cycled if needed."""
    return [1 + i % (ntime - 1) for i in range(repeats)]


def _agreement(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Median |a - b| where both have values, and the fraction of pixels where one is NaN."""
    both = np.isfinite(a) & np.isfinite(b)
    median = float(np.median(np.abs(a[both] - b[both]))) if both.any() else float("nan")
    return median, float(np.mean(np.isfinite(a) != np.isfinite(b)))


def run_store(label: str, options: Options) -> StoreRun:
    """Every way of drawing a frame, on one store."""
    resolution, ntime = STORES[label]
    plain_ds = open_global(resolution, ntime)
    prepared_global(resolution, ntime, progress)
    prepared = open_prepared_global(resolution, ntime)
    prepared_ds, pyramid = prepared.dataset, prepared.pyramid
    views = cases(plain_ds[VARIABLE].isel(time=0))
    steps = cold_steps(options.repeats, ntime)
    shape = plain_ds[VARIABLE].shape[-2:]
    result = StoreRun(label, (int(shape[0]), int(shape[1])))
    times = [str(t)[:10] for t in plain_ds["time"].values]

    for view, viewport in views.items():
        progress(f"{label} ours: {view}")
        ours(prepared_ds, pyramid, 0, viewport)  # warm-up: JIT compilation, opening the levels
        runs = [timed(ours, prepared_ds, pyramid, t, viewport) for t in steps]
        result.ours[view] = [s for _, s in runs]
        result.frames[view] = runs[-1][0]
        # the same frames again, step by step: the window read, then the quadmesh
        result.split[view] = [_ours_split(prepared_ds, pyramid, t, viewport) for t in steps]
        ours(plain_ds, None, 0, viewport)
        plain_runs = [timed(ours, plain_ds, None, t, viewport) for t in steps]
        result.plain[view] = [s for _, s in plain_runs]
        if view == GLOBE:  # what the pyramid changes: block means instead of the cells
            full = plain_runs[-1][0].values
            result.pyramid_agreement = _agreement(result.frames[view].values, full)
        result.payload[view] = payload_bytes(holoviews_plot(frame_image(result.frames[view])))

    progress(f"{label} xpublish-wms GetMap on 127.0.0.1")
    with wms_server({"ocean": for_wms(plain_ds)}) as base:
        for view, viewport in views.items():
            wms_getmap(base, "ocean", times[0], viewport)  # warm-up
            runs = [timed(wms_getmap, base, "ocean", times[t], viewport) for t in steps]
            result.wms[view] = [s for _, s in runs]
            result.png_bytes.setdefault(view, {})["wms"] = len(runs[-1][0])

    slow_steps = steps[: PEER_REPEATS[label]]
    if options.quick and label != "1/12°":
        slow_steps = []  # a quick run: (a) and (c) at 1/12° only
    if slow_steps:
        progress(f"{label} gv.Image + rasterize: {len(slow_steps) + 1} time steps")
        result.rasterize = {view: [] for view in views}
        gv_globe = None
        for i, t in enumerate([0, *slow_steps]):  # the first is the warm-up
            projected, s = timed(geoviews_project, plain_ds[VARIABLE].isel(time=t))
            if i:
                result.project.append(s)
            for view, viewport in views.items():
                raster, s = timed(geoviews_rasterize, projected, viewport)
                if i:
                    result.rasterize[view].append(s)
                if view == GLOBE:
                    gv_globe = raster
            del projected
        result.agreement = _agreement(result.frames[GLOBE].values, gv_globe)

        progress(f"{label} matplotlib/cartopy pcolormesh: {len(slow_steps) + 1} time steps")
        for view, viewport in views.items():

            def draw(t: int, view: str = view, viewport: Viewport = viewport) -> bytes:
                da = plain_ds[VARIABLE].isel(time=t)
                return cartopy_png(da if view == GLOBE else view_cells(da, ZOOM_BBOX), viewport)

            draw(0)  # warm-up: imports, cartopy's first transform
            runs = [timed(draw, t) for t in slow_steps]
            result.cartopy[view] = [s for _, s in runs]
            result.png_bytes[view]["cartopy"] = len(runs[-1][0])

    progress(f"{label} payload of the whole grid as hv.Image")
    result.grid_payload = full_grid_payload(plain_ds[VARIABLE].isel(time=0))
    return result


def _ms(seconds: list[float]) -> str:
    return fmt_ms(median_ms(seconds)) if seconds else "-"


def _ratio(peer: list[float] | float, mine: list[float]) -> str:
    peer_ms = peer if isinstance(peer, float) else (median_ms(peer) if peer else float("nan"))
    return fmt_ratio(peer_ms / median_ms(mine)) if np.isfinite(peer_ms) else "-"


def run(options: Options) -> list[Table]:
    """Time every way on both stores; payloads; say whether the targets are met."""
    runs = [run_store(label, options) for label in STORES]
    times = Table(
        title=(
            f"Map frame: {WIDTH} x {HEIGHT} px in Web Mercator from a global grid "
            "(float32, Zarr); median of frames each on a new time step (ms), and how many "
            "times slower each peer is"
        ),
        columns=[
            "grid, view",
            "ours",
            "level",
            "ours, plain store",
            "(a) gv+rasterize",
            "(b) xpublish-wms",
            "(c) cartopy",
            "(a)/ours",
            "(b)/ours",
            "(c)/ours",
        ],
    )
    payload = Table(
        title="Payload per frame: what the browser is sent",
        columns=[
            "grid, view",
            "ours (float32 values)",
            "full grid as hv.Image",
            "full grid / ours",
            "(b) WMS PNG",
            "(c) cartopy PNG",
        ],
    )
    for result in runs:
        ny, nx = result.shape
        for view in (GLOBE, ZOOM):
            frame = result.frames[view]
            level = f"1/{frame.factor}" if frame.factor > 1 else "full"
            times.rows.append(
                [
                    f"{result.label} ({ny} x {nx}), {view}",
                    _ms(result.ours[view]),
                    level,
                    _ms(result.plain[view]),
                    fmt_ms(result.gv_ms(view)) if result.project else "-",
                    _ms(result.wms[view]),
                    _ms(result.cartopy.get(view, [])),
                    _ratio(result.gv_ms(view), result.ours[view]),
                    _ratio(result.wms[view], result.ours[view]),
                    _ratio(result.cartopy.get(view, []), result.ours[view]),
                ]
            )
            pngs = result.png_bytes.get(view, {})
            payload.rows.append(
                [
                    f"{result.label}, {view}",
                    fmt_bytes(result.payload[view]),
                    fmt_bytes(result.grid_payload),
                    fmt_ratio(result.grid_payload / result.payload[view]),
                    fmt_bytes(pngs["wms"]) if "wms" in pngs else "-",
                    fmt_bytes(pngs["cartopy"]) if "cartopy" in pngs else "-",
                ]
            )

    fine, finer = runs
    for result in runs:
        if result.project:
            speedup = result.gv_ms(GLOBE) / median_ms(result.ours[GLOBE])
            times.targets.append(
                Target(
                    f"map frame {result.label} globe vs gv.Image+rasterize",
                    fmt_ratio(speedup) + " faster",
                    f">= {TARGET_SPEEDUP:g}x",
                    speedup >= TARGET_SPEEDUP,
                )
            )
    for view in (GLOBE, ZOOM):
        scaling = median_ms(finer.ours[view]) / median_ms(fine.ours[view])
        times.targets.append(
            Target(
                f"map frame 1/24° vs 1/12°, {view}",
                fmt_ratio(scaling),
                f"<= {TARGET_SCALING:g}x",
                scaling <= TARGET_SCALING,
            )
        )
    largest = max(max(r.payload.values()) for r in runs)
    payload.targets.append(
        Target(
            "payload per frame",
            fmt_bytes(largest),
            f"<= viewport in float32 ({fmt_bytes(TARGET_PAYLOAD)})",
            largest <= TARGET_PAYLOAD,
        )
    )

    for result in runs:
        ny, nx = result.shape
        split = result.split
        times.notes.append(
            f"{result.label}: ours reads the cells in view "
            f"{_split_ms(split[GLOBE], 0)} ms / {_split_ms(split[ZOOM], 0)} ms (globe / zoom) "
            f"and rasterizes them {_split_ms(split[GLOBE], 1)} / {_split_ms(split[ZOOM], 1)} ms; "
            f"cells read: {result.frames[GLOBE].cells_read:,} (globe, pyramid level 1/"
            f"{result.frames[GLOBE].factor}) and {result.frames[ZOOM].cells_read:,} (zoom) of "
            f"{ny * nx:,}"
        )
        diff, mismatch = result.pyramid_agreement
        times.notes.append(
            f"{result.label}: our globe frame from the pyramid agrees with the same frame "
            f"from the full grid to a median |diff| of {diff:.3f} °C; {100 * mismatch:.1f}% of "
            "pixels have a value in one only (coasts)"
        )
        if result.project:
            diff, mismatch = result.agreement
            times.notes.append(
                f"{result.label}: (a) is gv.project of the whole grid "
                f"{fmt_ms(median_ms(result.project))} ms (every time step, whatever the view) + "
                f"rasterize {fmt_ms(median_ms(result.rasterize[GLOBE]))} / "
                f"{fmt_ms(median_ms(result.rasterize[ZOOM]))} ms; our globe frame agrees with "
                f"it to a median |diff| of {diff:.3f} °C, {100 * mismatch:.1f}% of pixels "
                "have a value in one only (coasts)"
            )
        repeats = len(result.project)
        if repeats and repeats < len(result.ours[GLOBE]):
            times.notes.append(
                f"{result.label}: (a) and (c) are the median of {repeats} frames (they take "
                "a minute or more each); the others of "
                f"{len(result.ours[GLOBE])}"
            )
    times.notes += [
        "(b) and (c) include colouring and PNG encoding, (b) also HTTP on 127.0.0.1; ours "
        "sends float32 values (hover, colour bar) that the browser colours",
        "(c) draws the whole grid for the globe and only the view's cells for the zoom",
        "2 cores, shared with other processes: absolute times vary from run to run",
    ]
    payload.notes.append(
        "ours is exactly the viewport (800 x 450 float32) whatever the grid; the PNGs are "
        "smaller but carry colours only"
    )
    return [times, payload]


def _split_ms(split: list[tuple[float, float]], part: int) -> str:
    return fmt_ms(median_ms([parts[part] for parts in split]))
