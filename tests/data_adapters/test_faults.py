"""Remote faults between the adapters and real servers: a fault proxy (``tests/servers.py``)
sits in front of a plain HTTP server over a Zarr store and of a real OPeNDAP server, and
injects what remote servers do: refuse connections, answer late or slowly, answer HTTP 500,
403 or 429, send an HTML page, cut the answer short, lose a chunk.

For each fault, at the open and at a lazy read long after it (what a map frame or a point
series does): the read fails within a bound (``attempts x timeout`` plus the back-off, not a
speed target) with a one-line SourceError naming the source and what happened; the proxy
saw as many requests as the retry policy allows (500: 3, 403: 1...); once the fault clears,
the same dataset (or catalog id) reads the right values again. A chunk lost by the server is
reported, never silently shown as data, and is an error in a store known to be complete.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import numpy as np
import pytest
import xarray as xr

from components import ExplorerState, MapView
from components.core.frames import FRAMES
from components.core.geography import LONLAT, Viewport
from data_adapters import Catalog, SourceError, write_prepared
from data_adapters.errors import as_source_error
from data_adapters.opendap import OpendapAdapter
from data_adapters.transport import POLICY
from data_adapters.zarr_store import ZarrAdapter
from tests.data_adapters.test_remote import small_grid
from tests.servers import (
    FaultProxy,
    fault_proxy,
    quirky_model_dataset,
    serve_directory,
    wait_until,
    xpublish_server,
)

pytestmark = pytest.mark.slow  # every test starts real servers

#: Seconds each request may take: small, so that every case ends in a few seconds.
TIMEOUT = 1.0
#: Slack on every time bound: threads starting on a busy 2-core machine (not a speed target).
MARGIN = 3.0
#: Requests the policy makes for each fault: retried where safe, never a timeout or a 4xx.
TRIES = {
    "refuse": POLICY.attempts,
    "slow": 1,
    "trickle": 1,
    "500": POLICY.attempts,
    "403": 1,
    "429": POLICY.attempts,
    "html": 1,
    "truncate": POLICY.attempts,
}
FAULTS = list(TRIES)
#: Words the message must hold, per fault, when a metadata document fails (plain GETs) ...
AT_OPEN = {
    "refuse": "connection refused",
    "slow": "no answer within 1 s",
    "trickle": "timed out after 1 s",
    "500": "HTTP 500 (server error) (3 tries)",
    "403": "HTTP 403 (access denied)",
    "429": "HTTP 429 (too many requests) (3 tries)",
    "html": "HTML page instead of data",
    "truncate": "response was cut short",
}
#: ... and when a lazy read fails (the whole answer's timeout is all the client knows).
AT_READ = {**AT_OPEN, "slow": "timed out after 1 s"}

#: A data chunk of the Zarr store (time 0, depth 0, first tile) and a pattern for all of them.
CHUNK = r"/store\.zarr/sst/c/0/0/0/0$"
DATA_CHUNKS = r"/sst/c/"
#: Data answers of the OPeNDAP server for the variable read.
DAP_DATA = r"\.dods\?thetao"


def bound(fault: str) -> float:
    """The longest a read with ``fault`` may take: every try's timeout, the waits between."""
    tries = TRIES[fault]
    if fault == "429":
        waits = (tries - 1) * 1.0  # the proxy's Retry-After: 1
    else:
        waits = sum(POLICY.backoff_s * 2**i for i in range(tries - 1))
    return tries * TIMEOUT + waits + MARGIN


def fails(read: Callable[[], object], fault: str, words: str, source: str) -> str:
    """Run ``read``; check it raises a one-line SourceError naming ``source`` with ``words``
    within :func:`bound`, and, for 429, only after waiting as the server asked."""
    started = time.monotonic()
    with pytest.raises(SourceError) as info:
        read()
    elapsed = time.monotonic() - started
    message = str(info.value)
    assert elapsed < bound(fault), f"took {elapsed:.1f} s: {message}"
    if fault == "429":
        assert elapsed >= (TRIES[fault] - 1) * 1.0 - 0.05, "Retry-After was not honoured"
    assert "\n" not in message
    assert source in message, message
    assert words in message, message
    return message


# -- the servers ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def zarr_source() -> xr.Dataset:
    return small_grid()  # 3 x 2 x 7 x 9 cells, one land cell


@pytest.fixture(scope="module")
def zarr_site(tmp_path_factory, zarr_source) -> Iterator[str]:
    """A plain HTTP server over a directory holding ``store.zarr`` (Zarr 3, consolidated,
    chunks of 1 step x 1 level x 4 x 3 cells: 6 chunks per map) and ``prepared.zarr``
    (written by ``ocean-explorer prepare``)."""
    root = tmp_path_factory.mktemp("zarr-site")
    zarr_source.chunk({"time": 1, "depth": 1, "lat": 4, "lon": 3}).to_zarr(
        root / "store.zarr", zarr_format=3, consolidated=True
    )
    write_prepared(zarr_source, root / "prepared.zarr", map_chunks=(4, 3), series_chunks=(8, 8))
    with serve_directory(root) as base:
        yield base


@pytest.fixture
def proxy(zarr_site) -> Iterator[FaultProxy]:
    with fault_proxy(zarr_site) as running:
        yield running


def dap_model() -> xr.Dataset:
    """The model output of ``quirky_model_dataset`` on a finer grid (70 x 120 cells): too big
    for netCDF-C to prefetch whole at the open, so later reads go to the server."""
    coarse = quirky_model_dataset()
    fine = coarse.isel(latitude=np.arange(7).repeat(10), longitude=np.arange(12).repeat(10))
    return fine.assign_coords(
        latitude=np.linspace(60.0, -60.0, 70), longitude=np.arange(0.0, 360.0, 3.0)
    )


@pytest.fixture(scope="module")
def dap_site() -> Iterator[str]:
    """A real OPeNDAP server (xpublish) serving :func:`dap_model` as ``model``."""
    with xpublish_server({"model": dap_model()}) as base:
        yield base


@pytest.fixture
def dap_proxy(dap_site) -> Iterator[FaultProxy]:
    with fault_proxy(dap_site) as running:
        yield running


def dap_url(base: str) -> str:
    return f"{base}/datasets/model/opendap"


@pytest.fixture(scope="module")
def dap_truth(dap_site) -> np.ndarray:
    """The first map of ``thetao`` read straight from the server (no proxy, no fault)."""
    ds = OpendapAdapter(url=dap_url(dap_site), timeout=10).open()
    return ds["thetao"].isel(time=0, depth=0).values


# -- Zarr over HTTP -------------------------------------------------------------------------
@pytest.mark.parametrize("fault", FAULTS)
def test_zarr_open_fault_fails_in_bounded_time_then_recovers(proxy, zarr_source, fault):
    url = f"{proxy.url}/store.zarr"
    entry = {"id": "remote", "adapter": "zarr", "path": url, "timeout": TIMEOUT}
    catalog = Catalog.from_dict({"datasets": [entry]})
    proxy.fault = fault

    fails(lambda: catalog.open("remote"), fault, AT_OPEN[fault], url)
    expected_tries = 0 if fault == "refuse" else TRIES[fault]
    assert proxy.count(r"/store\.zarr/zarr\.json$") == expected_tries

    proxy.fault = None  # the source comes back: the failed open was not cached
    ds = catalog.open("remote").dataset
    np.testing.assert_array_equal(ds["sst"].values, zarr_source["sst"].values)


@pytest.mark.parametrize("fault", FAULTS)
def test_zarr_chunk_read_fault_fails_in_bounded_time_then_recovers(proxy, zarr_source, fault):
    url = f"{proxy.url}/store.zarr"
    ds = ZarrAdapter(path=url, timeout=TIMEOUT).open()  # opened before the fault
    proxy.fault, proxy.fault_paths = fault, CHUNK
    proxy.reset_counts()

    message = fails(lambda: ds["sst"].isel(time=0).values, fault, AT_READ[fault], url)
    # which chunk (a refused connection fails every chunk of the read, not only that one)
    assert ("'sst/c/" if fault == "refuse" else "'sst/c/0/0/0/0'") in message
    assert proxy.count(CHUNK) == (0 if fault == "refuse" else TRIES[fault])

    proxy.fault = None  # the same dataset reads again, with the right values
    np.testing.assert_array_equal(
        ds["sst"].isel(time=0).values, zarr_source["sst"].isel(time=0).values
    )


def test_zarr_429_read_succeeds_once_the_server_lets_it(proxy, zarr_source):
    ds = ZarrAdapter(path=f"{proxy.url}/store.zarr", timeout=TIMEOUT).open()
    proxy.fault, proxy.fault_paths = "429", CHUNK
    proxy.reset_counts()
    result: dict[str, object] = {}

    def read() -> None:
        started = time.monotonic()
        result["values"] = ds["sst"].isel(time=0).values
        result["elapsed"] = time.monotonic() - started

    reader = threading.Thread(target=read)
    reader.start()
    wait_until(lambda: proxy.count(CHUNK) >= 1, what="the first request of the chunk")
    proxy.fault = None  # the server's limit lifts before the retry (Retry-After: 1 s)
    reader.join(timeout=bound("429"))

    assert not reader.is_alive()
    np.testing.assert_array_equal(result["values"], zarr_source["sst"].isel(time=0).values)
    assert proxy.count(CHUNK) == 2
    assert result["elapsed"] >= 1.0 - 0.05  # it waited as the server asked


def test_zarr_429_asking_for_a_long_wait_fails_at_once(proxy):
    url = f"{proxy.url}/store.zarr"
    ds = ZarrAdapter(path=url, timeout=TIMEOUT).open()
    proxy.fault, proxy.fault_paths, proxy.retry_after = "429", CHUNK, 600
    proxy.reset_counts()
    started = time.monotonic()
    with pytest.raises(SourceError, match="asks to wait 600 s"):
        ds["sst"].isel(time=0).load()
    assert time.monotonic() - started < TIMEOUT + MARGIN
    assert proxy.count(CHUNK) == 1


def test_missing_chunk_is_reported_not_silently_shown(proxy, zarr_source, caplog):
    caplog.set_level(logging.WARNING, logger="data_adapters")
    adapter = ZarrAdapter(path=f"{proxy.url}/store.zarr", timeout=TIMEOUT)
    ds = adapter.open()
    proxy.fault, proxy.fault_paths = "missing", CHUNK

    values = ds["sst"].isel(time=0, depth=0).values

    # zarr fills the lost chunk (the store may be sparse on purpose) ...
    assert np.isnan(values[:4, :3]).all()
    np.testing.assert_array_equal(values[4:], zarr_source["sst"].isel(time=0, depth=0)[4:])
    # ... and the store says which chunk its server did not have, for the view to tell
    missing = adapter.missing_chunks()
    assert missing is not None and missing.keys() == ["sst/c/0/0/0/0"]
    assert "1 chunk of this view is missing on the server" in missing.note(1)
    assert any("event=chunk_missing" in r.message for r in caplog.records)


def test_missing_coordinate_chunk_fails_the_open(proxy):
    url = f"{proxy.url}/store.zarr"
    proxy.fault, proxy.fault_paths = "missing", r"/store\.zarr/lon/c/"
    with pytest.raises(SourceError, match=r"coordinate chunk 'lon/c/0' is missing on the server"):
        ZarrAdapter(path=url, timeout=TIMEOUT).open()


def test_missing_chunk_of_a_prepared_store_is_an_error(proxy, zarr_source):
    url = f"{proxy.url}/prepared.zarr"
    ds = ZarrAdapter(path=url, timeout=TIMEOUT).open()
    proxy.fault, proxy.fault_paths = "missing", r"/prepared\.zarr/maps/sst/c/0/0/0/0$"

    with pytest.raises(SourceError) as info:
        ds["sst"].isel(time=0).load()

    message = str(info.value)
    assert url in message and "maps/sst/c/0/0/0/0" in message
    assert "missing on the server" in message and "complete" in message
    proxy.fault = None
    np.testing.assert_array_equal(
        ds["sst"].isel(time=0).values, zarr_source["sst"].isel(time=0).values
    )


def test_point_series_layout_that_failed_to_open_is_tried_again(proxy, zarr_source, monkeypatch):
    monkeypatch.setattr("data_adapters.opened.SERIES_RETRY_S", 0.0)  # no wait between tries
    url = f"{proxy.url}/prepared.zarr"
    entry = {"id": "prepared", "adapter": "zarr", "path": url, "timeout": TIMEOUT}
    opened = Catalog.from_dict({"datasets": [entry]}).open("prepared")
    proxy.fault, proxy.fault_paths = "500", r"/prepared\.zarr/series/"

    assert opened.for_series() is opened.dataset  # meanwhile, point reads use the maps

    proxy.fault = None  # back: the geo-chunked copy is used, not "no such layout" forever
    series = opened.for_series()
    assert series is not opened.dataset
    assert proxy.count(r"/prepared\.zarr/series/") > 0
    np.testing.assert_array_equal(series["sst"].values, zarr_source["sst"].values)


def test_prepared_store_writes_every_chunk_and_says_so(tmp_path, zarr_source):
    import zarr

    land = zarr_source.copy(deep=True)
    land["sst"][:, :, :4, :3] = np.nan  # a whole tile of land: zarr skips such chunks
    write_prepared(land, tmp_path / "p.zarr", map_chunks=(4, 3), series_chunks=(8, 8))

    root = zarr.open_group(tmp_path / "p.zarr", mode="r")
    assert root.attrs["ocean_explorer_layouts"]["complete"] is True
    for group in ("maps", "series"):
        for name, array in root[group].arrays():
            assert array.nchunks_initialized == array.nchunks, f"{group}/{name}"


def test_retries_and_failures_are_logged_as_key_values_without_passwords(zarr_site, caplog):
    caplog.set_level(logging.INFO, logger="data_adapters")
    with fault_proxy(zarr_site) as proxy:
        url = proxy.url.replace("http://", "http://alice:s3cret@") + "/store.zarr"
        ds = ZarrAdapter(path=url, timeout=TIMEOUT).open()
        proxy.fault, proxy.fault_paths = "500", CHUNK
        with pytest.raises(SourceError) as info:
            ds["sst"].isel(time=0).load()

    assert "s3cret" not in str(info.value) and "alice:***@" in str(info.value)
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("data_adapters")]
    assert not any("s3cret" in line for line in lines)
    retries = [line for line in lines if line.startswith("event=retry")]
    failures = [line for line in lines if line.startswith("event=source_error")]
    assert len(retries) == POLICY.attempts - 1 and len(failures) == 1
    assert {r.levelno for r in caplog.records if "event=retry" in r.getMessage()} == {logging.INFO}
    assert {r.levelno for r in caplog.records if "event=source_error" in r.getMessage()} == {
        logging.WARNING
    }
    assert "reason=http_500" in failures[0] and f"attempt=3/{POLICY.attempts}" in failures[0]
    assert re.search(r"elapsed_ms=\d+", failures[0])
    assert "source=http://alice:***@" in failures[0]
    assert "attempt=1/3" in retries[0] and "wait_ms=250" in retries[0]


# -- OPeNDAP --------------------------------------------------------------------------------
@pytest.mark.parametrize("fault", FAULTS)
def test_opendap_open_fault_fails_in_bounded_time_then_recovers(dap_proxy, dap_truth, fault):
    url = dap_url(dap_proxy.url)
    entry = {"id": "dap", "adapter": "opendap", "url": url, "timeout": TIMEOUT}
    catalog = Catalog.from_dict({"datasets": [entry]})
    dap_proxy.fault = fault

    fails(lambda: catalog.open("dap"), fault, AT_OPEN[fault], url)
    expected_tries = 0 if fault == "refuse" else TRIES[fault]
    assert dap_proxy.count(r"/opendap\.dds$") == expected_tries

    dap_proxy.fault = None
    ds = catalog.open("dap").dataset
    np.testing.assert_array_equal(ds["thetao"].isel(time=0, depth=0).values, dap_truth)


@pytest.mark.parametrize("fault", FAULTS)
def test_opendap_lazy_read_fault_fails_in_bounded_time_then_recovers(dap_proxy, dap_truth, fault):
    url = dap_url(dap_proxy.url)
    ds = OpendapAdapter(url=url, timeout=TIMEOUT).open()  # opened before the server fails
    dap_proxy.fault = fault  # every request, as when a server goes down
    dap_proxy.reset_counts()

    message = fails(lambda: ds["thetao"].isel(time=0, depth=0).values, fault, AT_READ[fault], url)
    assert "reading 'thetao'" in message
    assert dap_proxy.count(DAP_DATA) == (0 if fault == "refuse" else TRIES[fault])

    dap_proxy.fault = None
    np.testing.assert_array_equal(ds["thetao"].isel(time=0, depth=0).values, dap_truth)


def test_opendap_data_answers_failing_alone_still_say_what_happened(dap_proxy, dap_truth):
    # the server describes the dataset but sends an error page for data requests only
    ds = OpendapAdapter(url=dap_url(dap_proxy.url), timeout=TIMEOUT).open()
    dap_proxy.fault, dap_proxy.fault_paths = "html", DAP_DATA
    with pytest.raises(SourceError, match="not OPeNDAP data"):
        ds["thetao"].isel(time=0, depth=0).load()
    dap_proxy.fault = None
    np.testing.assert_array_equal(ds["thetao"].isel(time=0, depth=0).values, dap_truth)


# -- what the user sees ---------------------------------------------------------------------
@pytest.fixture
def remote_state(proxy) -> ExplorerState:
    """A session over the Zarr store behind the proxy (an id of its own: frames of other
    tests are never taken for this one's)."""
    dataset_id = f"remote-{uuid.uuid4().hex[:8]}"
    entry = {"id": dataset_id, "adapter": "zarr", "path": f"{proxy.url}/store.zarr"}
    catalog = Catalog.from_dict({"datasets": [{**entry, "timeout": TIMEOUT}]})
    return ExplorerState(catalog)


def test_map_shows_the_reason_and_no_half_read_frame(proxy, remote_state, zarr_source):
    view = MapView(state=remote_state)
    proxy.fault, proxy.fault_paths = "500", CHUNK

    image = view._field()

    assert "HTTP 500 (server error) (3 tries)" in remote_state.message
    assert "sst/c/0/0/0/0" in remote_state.message
    assert np.isnan(image.dimension_values(2)).all()  # nothing drawn as data
    assert view._frame is None  # no frame was kept

    proxy.fault = None
    image = view._field()
    assert np.isfinite(view.frame.values).any()


def test_map_says_how_many_chunks_of_the_view_are_missing(proxy, remote_state):
    view = MapView(state=remote_state)
    proxy.fault, proxy.fault_paths = "missing", CHUNK

    view._field()

    assert "1 chunk of this view is missing on the server" in remote_state.message
    assert proxy.url in remote_state.message


def test_lazy_read_errors_become_one_line_source_errors():
    import aiohttp

    err = as_source_error(TimeoutError(), "dataset 'x'")
    assert str(err).startswith("dataset 'x': timed out")
    err = as_source_error(RuntimeError("NetCDF: DAP server error"), "dataset 'x'")
    assert "HTTP 500 (server error)" in str(err)
    err = as_source_error(aiohttp.ClientPayloadError("Response payload is not completed"), "s")
    assert "cut short" in str(err)
    err = as_source_error(ConnectionRefusedError(111, "Connection refused"), "s")
    assert "connection refused" in str(err)
    same = SourceError("already clear")
    assert as_source_error(same, "s") is same


# -- many sessions, one read ----------------------------------------------------------------
def test_twenty_sessions_asking_for_one_uncached_frame_read_each_chunk_once(proxy):
    ds = ZarrAdapter(path=f"{proxy.url}/store.zarr", timeout=TIMEOUT).open()
    field = ds["sst"].isel(time=1, depth=0)
    viewport = Viewport((-179.0, 159.0), (-50.0, 50.0), 96, 48, LONLAT)
    key = ("faults-frame-cache", uuid.uuid4().hex)  # never rendered before
    proxy.reset_counts()
    sessions = 20
    start = threading.Barrier(sessions)
    frames: list[object] = []

    def session() -> None:
        start.wait(timeout=10)
        frames.append(FRAMES.get(key, lambda: field, viewport))

    threads = [threading.Thread(target=session) for _ in range(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(frames) == sessions and all(frame is frames[0] for frame in frames)
    chunk_reads = {path: n for path, n in proxy.requests.items() if "/sst/c/" in path}
    # the view holds the whole grid: its 2 x 3 tiles of one step and level, each read once
    assert sorted(chunk_reads) == [
        f"/store.zarr/sst/c/1/0/{row}/{col}" for row in (0, 1) for col in (0, 1, 2)
    ]
    assert set(chunk_reads.values()) == {1}
