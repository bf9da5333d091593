"""Processing: anomaly and marine-heatwave maps, a point's event table, the first climatology.

On the demo ocean with its past (1993-2025, daily; 1° in ``--quick`` runs, 1/4° otherwise),
in a fresh cache folder: the first climatology of a map day (time and peak traced memory),
then, with it cached, an anomaly frame against a plain frame, a marine-heatwave category
map of one day, and the event table of one point over the 30-year reference period: read
from the demo's point-series layout (computed on the fly), and from a prepared Zarr store of
the cells around that point (``prepare``'s layout, as a real deployment reads it).
"""

from __future__ import annotations

import os
import tempfile
import time
import tracemalloc

from .harness import Options, Table, Target, progress

NAME = "processing"
DESCRIPTION = "anomaly / MHW maps, event table, first climatology"


def _median(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def run(options: Options) -> Table:
    resolution = 1.0 if options.quick else 0.25
    previous = os.environ.get("OCEAN_EXPLORER_CACHE")
    with tempfile.TemporaryDirectory(prefix="bench-processing-") as cache:
        # the demo's land mask is kept where it was: only climatologies start cold
        os.environ["OCEAN_EXPLORER_CACHE"] = cache
        if previous or os.path.isdir(os.path.expanduser("~/.cache/ocean-explorer/demo")):
            src = os.path.join(previous or os.path.expanduser("~/.cache/ocean-explorer"), "demo")
            if os.path.isdir(src):
                os.symlink(src, os.path.join(cache, "demo"))
        try:
            return _run(options, resolution)
        finally:
            if previous is None:
                os.environ.pop("OCEAN_EXPLORER_CACHE", None)
            else:
                os.environ["OCEAN_EXPLORER_CACHE"] = previous


def _run(options: Options, resolution: float) -> Table:
    from components.core import fields, processing, shown_maps
    from components.core.frames import render_field
    from components.core.geography import WEB_MERCATOR, Viewport
    from data_adapters.demo import DemoOceanAdapter

    adapter = DemoOceanAdapter(
        resolution=resolution, start="1993-01-01", days=12053, variability=True,
        scenarios=["baseline", "heatwave"],
    )  # fmt: skip
    ds, series_ds = adapter.open(), adapter.open_series()
    da = ds["thetao"]
    run_da = fields.select(da, None, "heatwave")
    base = fields.select(da, None, "baseline")
    step = int(run_da.get_index("time").get_loc("2025-07-25"))
    viewport = Viewport.from_bbox((-180.0, -80.0, 180.0, 80.0), 800, 450, WEB_MERCATOR)
    anomaly = processing.Processing.parse("anomaly")
    category = processing.Processing.parse("mhw-category")
    key = f"bench-{resolution}"

    progress("first climatology of one map day (cold cache)")
    tracemalloc.start()
    start = time.perf_counter()
    shown_maps.shown_map(run_da, base, step, anomaly, key)
    first_s = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    progress("anomaly frame vs plain frame (climatology cached)")
    plain_s = _median(lambda: render_field(run_da.isel(time=step), viewport), options.repeats)
    anomaly_s = _median(
        lambda: render_field(shown_maps.shown_map(run_da, base, step, anomaly, key), viewport),
        options.repeats,
    )
    progress("MHW category map of one day")
    shown_maps.shown_map(run_da, base, step, category, key)  # its 15 days' climatology
    category_s = _median(
        lambda: shown_maps.shown_map(run_da, base, step, category, key), options.repeats
    )
    progress("event table at a point over 30 years")
    point = series_ds["thetao"].isel(depth=0).sel(lon=-145, lat=45, method="nearest")

    def table():
        values = point.sel(scenario="heatwave").compute()
        reference = point.sel(scenario="baseline").compute()
        return processing.event_table(values, reference, None, key + "-point")

    events_s = _median(table, options.repeats)
    events, climate, _ = table()
    progress("event table at a point of a prepared store")
    stored_s, stored_events = _prepared_event_table(series_ds, key, options.repeats)
    progress("on a local dask cluster (serve --dask-scheduler local): first climatology, map")
    winter = int(run_da.get_index("time").get_loc("2025-01-25"))
    cluster_first_s, cluster_category_s = _on_cluster(
        lambda: shown_maps.shown_map(run_da, base, winter, anomaly, key),
        lambda: shown_maps.shown_map(run_da, base, winter, category, key),
        options.repeats,
    )
    ratio = anomaly_s / plain_s
    grid = f"1/{round(1 / resolution)}°" if resolution < 1 else "1°"
    out = Table(
        title=f"Processing on the demo ocean with a past ({grid}, 1993-2025 daily)",
        columns=["case", "time", "note"],
    )
    out.rows += [
        ["first climatology of a map day", f"{first_s:.1f} s",
         f"peak traced memory {peak / 1e6:.0f} MB; reference {climate.reference.label}"],
        ["plain frame", f"{plain_s * 1000:.0f} ms", "800 x 450 px, globe"],
        ["anomaly frame, climatology cached", f"{anomaly_s * 1000:.0f} ms", f"{ratio:.2f}x plain"],
        ["MHW category map of one day", f"{category_s * 1000:.0f} ms", "15 days read"],
        ["event table at a point, 33 years", f"{events_s * 1000:.0f} ms",
         f"{len(events)} events, the demo's series layout (computed on the fly)"],
        ["event table at a point, 33 years, prepared store", f"{stored_s * 1000:.0f} ms",
         f"{stored_events} events: nearest cell, two series read, detection"],
        ["first climatology of another map day, dask cluster", f"{cluster_first_s:.1f} s",
         f"{CLUSTER_WORKERS} worker processes of 1 thread (serve --dask-scheduler local)"],
        ["MHW category map of that day, dask cluster", f"{cluster_category_s * 1000:.0f} ms",
         "its climatology cached"],
    ]  # fmt: skip
    out.targets += [
        Target("anomaly frame vs plain frame", f"{ratio:.2f}x", "<= 1.5x", ratio <= 1.5),
        Target(
            f"MHW category map, one day ({grid})",
            f"{category_s:.2f} s",
            "<= 2 s",
            category_s <= 2.0,
            tested=resolution == 0.25,
        ),
        Target(
            "event table over 30 years (prepared store)",
            f"{stored_s:.2f} s",
            "<= 1 s",
            stored_s <= 1.0,
        ),
        Target("first climatology peak memory", f"{peak / 1e9:.2f} GB", "<= 2 GB", peak <= 2e9),
    ]
    return out


#: Worker processes of the local cluster timed (one thread each: the machine's 2 cores).
CLUSTER_WORKERS = 2


def _on_cluster(first, again, repeats: int) -> tuple[float, float]:
    """Seconds of ``first()`` once and the median of ``again()``, with a local cluster of
    worker processes as dask's scheduler (as ``serve --dask-scheduler local`` makes it)."""
    from dask.distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=CLUSTER_WORKERS, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster),
    ):  # the default scheduler while open
        start = time.perf_counter()
        first()
        first_s = time.perf_counter() - start
        return first_s, _median(again, repeats)


def _prepared_event_table(series_ds, key: str, repeats: int) -> tuple[float, int]:
    """The event table of the heatwave's centre from a prepared store of the 3 x 3 cells
    around it (both runs, 1993-2025): median seconds and the number of events."""
    from components.core import fields, probes, processing
    from data_adapters import normalize, open_source, write_prepared

    box = series_ds[["thetao"]].isel(depth=[0])
    box = box.sel(lon=slice(-146.6, -143.4), lat=slice(43.4, 46.6)).compute()
    with tempfile.TemporaryDirectory(prefix="bench-prepared-") as folder:
        store = os.path.join(folder, "box.zarr")
        write_prepared(normalize(box), store, pyramid_levels=0)
        opened = open_source(store)
        counted = 0

        def table():
            nonlocal counted
            maps = fields.select(opened.dataset["thetao"], None, "heatwave")
            cell = probes.nearest_ocean_cell(maps, -145.0, 45.0)
            series = opened.for_series()["thetao"]
            values = probes.point_series(series, cell, scenario="heatwave").compute()
            reference = probes.point_series(series, cell, scenario="baseline").compute()
            events, _, _ = processing.event_table(values, reference, None, key + "-stored")
            counted = len(events)

        return _median(table, repeats), counted
