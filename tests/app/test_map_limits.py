"""Render limits of the map routes: a client past its share is answered 429, never queued."""

from __future__ import annotations

import asyncio
import contextlib
import textwrap
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import tornado.httpserver
import tornado.netutil
import tornado.web

from app.map_requests import MapService
from app.tile_server import MapServing, RenderLimits, tile_patterns
from data_adapters import Catalog
from tests.app.conftest import MAP_CATALOG
from tests.servers import wait_until


class HeldService(MapService):
    """A map service whose renders wait until the test lets them go."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.release = threading.Event()
        self.entered = 0
        self._count = threading.Lock()

    def render(self, *args, **kwargs) -> bytes:
        with self._count:
            self.entered += 1
        self.release.wait(timeout=60)
        return super().render(*args, **kwargs)


@contextlib.contextmanager
def tile_server(service: MapService, limits: RenderLimits) -> Iterator[str]:
    """The tile routes alone on a Tornado server in a thread; yields its URL."""
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    port = sockets[0].getsockname()[1]
    ready, loop_box = threading.Event(), {}

    def run() -> None:
        async def main() -> None:
            app = tornado.web.Application(tile_patterns(MapServing(service, limits)))
            server = tornado.httpserver.HTTPServer(app)
            server.add_sockets(sockets)
            loop_box["stop"] = asyncio.Event()
            loop_box["loop"] = asyncio.get_running_loop()
            ready.set()
            await loop_box["stop"].wait()
            server.stop()

        asyncio.run(main())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(30)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        loop_box["loop"].call_soon_threadsafe(loop_box["stop"].set)
        thread.join(30)


def status_of(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)


@pytest.mark.slow
def test_a_client_past_its_renders_gets_429_with_retry_after_and_then_is_served(tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text(textwrap.dedent(MAP_CATALOG))
    service = HeldService(Catalog.load(path))
    limits = RenderLimits(per_client=2, total=64)
    with tile_server(service, limits) as url, ThreadPoolExecutor(2) as pool:
        tile = f"{url}tiles/small-demo/thetao/1/{{x}}/0.png?clim=0,30"
        held = [pool.submit(status_of, tile.format(x=x)) for x in (0, 1)]
        wait_until(lambda: service.entered == 2, what="two renders under way")
        status, headers = status_of(f"{url}tiles/small-demo/thetao/2/0/0.png?clim=0,30")
        assert status == 429 and headers["Retry-After"] == "1"
        assert limits.refused == 1
        service.release.set()
        assert [f.result()[0] for f in held] == [200, 200]
        assert status_of(f"{url}tiles/small-demo/thetao/2/0/0.png?clim=0,30")[0] == 200


def test_the_pixels_in_flight_are_bounded_and_a_large_map_runs_alone():
    limits = RenderLimits(per_client=8, total=64, max_pixels=100)
    assert limits.admit("a", 80)
    assert not limits.admit("b", 30)  # would hold more pixels than the budget
    assert limits.admit("b", 20)
    limits.done("a", 80)
    limits.done("b", 20)
    assert limits.admit("c", 1000)  # larger than the budget: runs when nothing else does
    assert not limits.admit("d", 1)
    limits.done("c", 1000)
    assert limits.admit("d", 1) and limits.refused == 2
