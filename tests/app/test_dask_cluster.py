"""The distributed path: frames and statistics run as tasks on a real ``dask.distributed``
cluster, with the same numbers as dask's threads, and ``serve --dask-scheduler`` connects.

The cluster is a real ``LocalCluster`` started here: two worker processes of one thread and
1 GiB each (processes, as a real cluster has: everything sent to them must pickle, the demo
ocean's chunk functions included). Which tasks ran where is read from the scheduler's task
stream.
"""

from __future__ import annotations

import pathlib
import textwrap
import time
from collections.abc import Iterator

import dask
import dask.array
import numpy as np
import pytest
import xarray as xr

from app.main import connect_dask
from components.core import regions
from components.core.frames import pyramid_for, render_field
from components.core.geography import WEB_MERCATOR, Viewport
from data_adapters import Catalog, SourceError, normalize, open_source, write_prepared
from tests.components.test_pyramids import one_degree_ocean
from tests.servers import refused_port
from tests.ui.conftest import serving

pytestmark = pytest.mark.slow

#: Seconds a server subprocess gets to import, warm up and answer (a bound, not a delay).
SERVE_DEADLINE_S = 180.0


# -- before the module's cluster starts ------------------------------------------------------
def test_a_scheduler_that_does_not_answer_is_one_line(monkeypatch):
    monkeypatch.setattr("app.main.DASK_CONNECT_TIMEOUT_S", 2.0)
    with refused_port() as port:
        address = f"tcp://127.0.0.1:{port}"
        with pytest.raises(SourceError, match=f"--dask-scheduler {address}: cannot connect"):
            connect_dask(address)
    assert connect_dask(None) is None


def test_a_local_cluster_of_processes_runs_the_frames(monkeypatch):
    from dask.distributed import Client

    local = connect_dask("local")
    try:
        assert isinstance(local, Client)
        assert local.cluster is not None and local.cluster.processes
        field = xr.DataArray(
            dask.array.ones((90, 180), chunks=(45, 90), dtype="float32"),
            coords=[("lat", np.arange(-89.0, 90.0, 2.0)), ("lon", np.arange(-179.0, 180.0, 2.0))],
        )
        seen = len(local.get_task_stream())
        frame = render_field(field, Viewport((-180.0, 180.0), (-80.0, 80.0), 36, 16))
        assert np.nanmin(frame.values) == 1.0
        assert tasks_since(local, seen)
    finally:
        cluster = local.cluster
        local.close()
        cluster.close()


# -- on the module's cluster -----------------------------------------------------------------
@pytest.fixture(scope="module")
def cluster() -> Iterator:
    from dask.distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        memory_limit="1GiB",
        dashboard_address=None,
    ) as local:
        yield local


@pytest.fixture(scope="module")
def client(cluster) -> Iterator:
    """The product's own connection (``connect_dask``): dask's default while the tests run."""
    connected = connect_dask(cluster.scheduler_address)
    connected.get_task_stream()  # records tasks from now on (the scheduler's task stream)
    try:
        yield connected
    finally:
        connected.close()
    assert dask.config.get("scheduler", None) != "dask.distributed"  # threads again


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> pathlib.Path:
    path = tmp_path_factory.mktemp("cluster") / "ocean.zarr"
    write_prepared(normalize(one_degree_ocean()), path, map_chunks=(30, 60), pyramid_levels=2)
    return path


def tasks_since(client, index: int) -> list[dict]:
    """The task records of the scheduler's stream after the first ``index`` ones."""
    return client.get_task_stream()[index:]


def on_threads(compute):
    with dask.config.set(scheduler="threads"):
        return compute()


def test_a_map_frame_of_a_zarr_store_renders_on_the_cluster(client, cluster, store):
    opened = open_source(str(store))
    field = opened.dataset["thetao"].isel(time=2, depth=1)
    views = [
        Viewport.from_bbox((-180.0, -80.0, 180.0, 80.0), 90, 60, WEB_MERCATOR),  # a level
        Viewport.from_bbox((-60.0, 0.0, -20.0, 40.0), 200, 200, WEB_MERCATOR),  # full grid
    ]
    for viewport in views:
        seen = len(client.get_task_stream())
        frame = render_field(pyramid_for(field, opened.pyramid), viewport)
        tasks = tasks_since(client, seen)
        assert tasks, "no task ran on the cluster"
        assert {task["worker"] for task in tasks} <= set(cluster.scheduler.workers)
        threaded = on_threads(
            lambda vp=viewport: render_field(pyramid_for(field, opened.pyramid), vp)
        )
        np.testing.assert_array_equal(frame.values, threaded.values)
        assert frame.factor == threaded.factor
        assert np.isfinite(frame.values).mean() > 0.5


def test_a_map_frame_of_the_demo_ocean_renders_on_worker_processes(client):
    catalog = Catalog.from_dict(
        {"datasets": [{"id": "demo", "adapter": "demo", "resolution": 1.0, "days": 4}]}
    )
    ds = catalog.open("demo").dataset
    field = ds["thetao"].sel(scenario="heatwave").isel(time=3, depth=0)
    viewport = Viewport.from_bbox((-60.0, 10.0, -10.0, 50.0), 120, 90, WEB_MERCATOR)
    seen = len(client.get_task_stream())
    frame = render_field(field, viewport)  # the demo's chunk functions pickle
    assert tasks_since(client, seen)
    threaded = on_threads(lambda: render_field(field, viewport))
    np.testing.assert_array_equal(frame.values, threaded.values)


def test_prepare_under_a_cluster_client_writes_the_source_values(client, tmp_path):
    source = normalize(one_degree_ocean())
    seen = len(client.get_task_stream())
    write_prepared(source, tmp_path / "ocean.zarr", map_chunks=(30, 60), pyramid_levels=1)
    assert tasks_since(client, seen)  # the source was read on the cluster
    opened = open_source(str(tmp_path / "ocean.zarr"))
    expected = on_threads(lambda: source["thetao"].values)
    for ds in (opened.dataset, opened.for_series()):
        np.testing.assert_array_equal(on_threads(lambda ds=ds: ds["thetao"].values), expected)


def test_a_region_statistic_runs_on_the_cluster(client, store):
    opened = open_source(str(store))
    da = opened.for_series()["thetao"]
    mask = regions.region_mask(da.isel(time=0, depth=0), bbox=(-40.0, -20.0, 30.0, 20.0))
    seen = len(client.get_task_stream())
    stats = regions.area_series(da, mask, depth=100.0).compute()
    assert tasks_since(client, seen)
    threaded = on_threads(lambda: regions.area_series(da, mask, depth=100.0).compute())
    for name in ("mean", "min", "max"):
        np.testing.assert_allclose(stats[name].values, threaded[name].values, rtol=1e-6)
    # the land block inside the box is left out, and each day is 0.1 warmer
    assert np.diff(stats["mean"].values) == pytest.approx([0.1, 0.1], abs=1e-4)


def test_an_anomaly_and_a_points_heatwaves_compute_on_the_cluster(client, tmp_path, monkeypatch):
    from components import ExplorerState
    from components.core import probes, processing

    past = {
        "id": "past", "adapter": "demo", "resolution": 1.0, "start": "2021-01-01",
        "days": 1096, "variability": True, "scenarios": ["baseline", "heatwave"],
    }  # fmt: skip
    catalog = Catalog.from_dict({"datasets": [past]})

    def answers(cache: str) -> tuple[np.ndarray, list]:
        monkeypatch.setenv("OCEAN_EXPLORER_CACHE", str(tmp_path / cache))  # computed afresh
        state = ExplorerState(catalog, dataset_id="past")
        state.param.update(variable="thetao", time="2023-07-25", scenario="heatwave")
        state.show = "anomaly"
        anomaly = np.asarray(state.field().values)
        da = state.series_dataset["thetao"]
        cell = probes.nearest_ocean_cell(state.field(shown=False), -145.0, 45.0)
        run, base = (
            probes.point_series(da, cell, scenario=name).compute()
            for name in ("heatwave", "baseline")
        )
        reference = processing.Processing.parse("mhw-category", None, "fixed").reference
        table, _, _ = processing.event_table(run, base, reference, (cache, cell.label()))
        return anomaly, table.to_dict("records")

    seen = len(client.get_task_stream())
    anomaly, events = answers("cluster")
    assert tasks_since(client, seen)  # the climatology's reads ran as the cluster's tasks
    threaded_anomaly, threaded_events = on_threads(lambda: answers("threads"))
    np.testing.assert_allclose(anomaly, threaded_anomaly, rtol=1e-6, equal_nan=True)
    assert events == threaded_events and events  # the heatwave, found the same way
    assert np.isfinite(anomaly).mean() > 0.5 and np.nanmax(anomaly) > 1.0  # the sea; warm


def test_serve_sends_its_work_to_the_cluster(client, cluster, store, tmp_path):
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        textwrap.dedent(
            f"""
            datasets:
              - id: prepared
                adapter: zarr
                path: {store}
            """
        )
    )
    address = cluster.scheduler_address
    clients_before = set(cluster.scheduler.clients)
    seen = len(client.get_task_stream())
    log = tmp_path / "serve.log"
    started = time.monotonic()
    args = ("--catalog", str(catalog), "--dask-scheduler", address)
    with serving(*args, log=log, deadline_s=SERVE_DEADLINE_S):
        text = log.read_text()
        assert f"dask work goes to {address} (2 workers)" in text
        # the server is a client of the cluster, and its frames (the warm-up, the first
        # page's map) ran there as tasks reading the store
        assert set(cluster.scheduler.clients) - clients_before
        tasks = tasks_since(client, seen)
        assert any("open_dataset" in str(task["key"]) for task in tasks), tasks[:3]
        assert time.monotonic() - started < SERVE_DEADLINE_S
