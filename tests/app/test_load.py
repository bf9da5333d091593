"""Load and leaks on a real server: many websocket sessions at once, many opened and closed.

Sizes come from the environment so that ``make loadtest`` runs them at full size (25
sessions, 500 open/close cycles) and CI at a reduced one (the defaults here). The figures are
printed; the tests assert what a user would notice: no errors, no dropped connections, no
session left behind, memory that does not grow with the sessions served.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.request

import pytest

from tests import load
from tests.ui.conftest import DEMO_HALF_CATALOG, serving, serving_catalog

pytestmark = [pytest.mark.slow]

SESSIONS = int(os.environ.get("OCEAN_EXPLORER_LOAD_SESSIONS", "6"))
#: 24 in CI: a leak of 2.5 MB a session already fails it (plots kept after a session closed
#: came to 5 MB); a cycle takes CI 6-10 s on its 2 cores
CYCLES = int(os.environ.get("OCEAN_EXPLORER_LOAD_CYCLES", "24"))
#: Resident memory the server may gain over the open/close cycles (MB).
MAX_GROWTH_MB = 50.0


def health(url: str) -> dict:
    with urllib.request.urlopen(f"{url}health", timeout=30) as response:
        return json.loads(response.read())


def wait_for_sessions(url: str, count: int, timeout_s: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        status = health(url)
        if status["sessions"] == count or time.monotonic() > deadline:
            return status
        threading.Event().wait(0.25)  # polling interval, not a synchronisation


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("load")
    with serving_catalog(root, DEMO_HALF_CATALOG, "--session-expiry", "1") as url:
        load.register_models()
        yield url, root / "serve.log"


@pytest.mark.timeout(max(300, 40 * SESSIONS))
def test_concurrent_sessions_step_time_and_click_without_errors(server, capsys):
    url, log = server
    # a click in the open Pacific (Web Mercator metres), after three animation steps
    results = load.run_load(url, SESSIONS, steps=3, clicks=[(-15_000_000.0, 0.0)])
    with capsys.disabled():
        print(f"\n{SESSIONS} sessions at once: {json.dumps(results.summary())}")
    assert results.errors == []
    assert results.disconnects == 0
    summary = results.summary()
    assert summary["time step"]["count"] == 3 * SESSIONS
    assert summary["click"]["count"] == SESSIONS
    assert "Traceback" not in log.read_text()


def open_and_close(url: str, count: int, workers: int = 4) -> list[str]:
    """Open and close ``count`` sessions, ``workers`` at a time; the errors seen."""
    errors: list[str] = []

    def cycle(share: int) -> None:
        for _ in range(share):
            try:
                load.Visitor(url).close()
            except Exception as exc:  # counted: a refused session is a failure
                errors.append(repr(exc))

    threads = [threading.Thread(target=cycle, args=(count // workers,)) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


# a session takes 1 s (quiet 2-core machine) to 6 s (a slower or busier one) to build on the
# server's one event loop: the limit only stops a server that hangs
@pytest.mark.timeout(max(600, 12 * CYCLES))
def test_sessions_opened_and_closed_leave_nothing_behind(server, capsys):
    url, _ = server
    # The first sessions fill the caches (frames, coastlines) and bring the allocator to the
    # size four sessions at once take; they open and close the way the measured ones do, so
    # that what is measured is what serving more sessions costs, not what serving four at a
    # time instead of one costs
    warm = max(8, CYCLES // 10)
    assert open_and_close(url, warm) == []
    before = wait_for_sessions(url, 0)
    assert before["sessions"] == 0
    errors = open_and_close(url, CYCLES)
    after = wait_for_sessions(url, 0)
    growth = after["rss_mb"] - before["rss_mb"]
    with capsys.disabled():
        print(
            f"\n{4 * (CYCLES // 4)} sessions opened and closed (after {warm} to warm up): "
            f"server memory {before['rss_mb']:.0f} -> {after['rss_mb']:.0f} MB "
            f"({growth:+.1f} MB), {after['sessions']} sessions left"
        )
    assert errors == []
    assert after["sessions"] == 0
    assert growth < MAX_GROWTH_MB


@pytest.fixture(scope="module")
def slow_source(tmp_path_factory):
    """A Zarr store over HTTP behind a proxy whose data answers take their time."""
    from tests import synthetic
    from tests.servers import fault_proxy, serve_directory

    root = tmp_path_factory.mktemp("slow-site")
    ds = synthetic.regular(times=4)
    ds.chunk({"time": 1, "depth": 1}).to_zarr(root / "store.zarr", zarr_format=3, consolidated=True)
    with serve_directory(root) as base, fault_proxy(base) as proxy:
        yield proxy


def test_a_slow_source_keeps_only_its_own_session_waiting(slow_source, tmp_path):
    proxy = slow_source
    proxy.fault, proxy.fault_paths, proxy.delay = "slow", r"/thetao/c/", 120.0
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        "datasets:\n"
        "  - id: demo-half\n    title: Demo ocean, half degree\n    adapter: demo\n"
        "    resolution: 0.5\n    days: 30\n"
        f"  - id: slow\n    title: Slow model\n    adapter: zarr\n"
        f"    path: {proxy.url}/store.zarr\n    timeout: 300\n"
    )
    with serving("--catalog", str(catalog), log=tmp_path / "serve.log") as url:
        load.register_models()
        # a session on the slow source: its map's data take minutes to come
        waiting = load.Visitor(url, arguments={"dataset": "slow"})
        try:
            waiting.show_world()
            assert proxy.count(r"/thetao/c/") > 0  # its read is upstream, held
            # meanwhile the other sessions on the same server step and click as usual
            results = load.run_load(url, 3, steps=2, clicks=[(-15_000_000.0, 0.0)])
            assert results.errors == [] and results.disconnects == 0
            assert results.summary()["time step"]["count"] == 6
            # and the slow session is still waiting for its frame (its map shows the spinner),
            # still connected
            assert waiting.loading()
            assert waiting.connected
        finally:
            waiting.close()
