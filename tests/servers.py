"""Real servers for tests, started by the tests themselves on 127.0.0.1 (DESIGN.md §7, §8).

Everything here runs in background threads of the test process and is stopped cleanly when
its ``with`` block (or fixture) ends: no thread keeps running, no port stays bound.

- ``xpublish_server``: a real OPeNDAP (DAP2) server, xpublish + xpublish-opendap on uvicorn,
  serving xarray datasets at ``http://127.0.0.1:PORT/datasets/<id>/opendap``;
- ``serve_directory``: a plain ``http.server`` over a directory (Zarr over HTTP);
- ``serve_html``: answers every GET with 200 and an HTML page (a portal, not a data server);
- ``serve_stalling``: answers a few paths, holds every other request unanswered;
- ``silent_server``: accepts TCP connections and never answers;
- ``refused_port``: a port with nothing listening (connections are refused).

Waiting is always on a condition with a deadline (``wait_until``), never a bare sleep.
"""

from __future__ import annotations

import contextlib
import http.server
import importlib.metadata
import socket
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pytest
import xarray as xr

HOST = "127.0.0.1"
#: Seconds a server gets to start or stop before the test fails (a bound, not a delay).
START_DEADLINE = 15.0


# -- waiting --------------------------------------------------------------------------------
def wait_until(
    condition: Callable[[], bool], timeout: float = START_DEADLINE, what: str = ""
) -> None:
    """Return as soon as ``condition()`` is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    idle = threading.Event()  # never set: its wait() is an interruptible pause between polls
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout:g} s waiting for {what or condition}")
        idle.wait(0.01)


def port_accepts(port: int, host: str = HOST) -> bool:
    """True when a TCP connection to ``host:port`` is accepted."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _bound_socket() -> socket.socket:
    """A TCP socket bound to a free port on 127.0.0.1 (not yet listening)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((HOST, 0))
    return sock


@contextlib.contextmanager
def _running(target: Callable[[], Any], name: str) -> Iterator[threading.Thread]:
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        thread.join(timeout=START_DEADLINE)
        assert not thread.is_alive(), f"{name} did not stop"


# -- bad servers ----------------------------------------------------------------------------
@contextlib.contextmanager
def refused_port() -> Iterator[int]:
    """A port on 127.0.0.1 with nothing listening; kept bound so nobody else takes it."""
    sock = _bound_socket()  # bound but not listening: the kernel refuses connections
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A port whose server accepts TCP connections, reads nothing and never answers."""
    listener = _bound_socket()
    listener.listen(16)
    listener.settimeout(0.05)  # so the accept loop notices the stop flag
    stop = threading.Event()
    held: list[socket.socket] = []

    def accept_and_hold() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)

    with _running(accept_and_hold, "test-server-silent"):
        try:
            yield listener.getsockname()[1]
        finally:
            stop.set()
    for conn in held:
        conn.close()
    listener.close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files from ``directory`` without logging every request to stderr."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _HtmlHandler(http.server.BaseHTTPRequestHandler):
    """Answers every GET with 200 and an HTML page, like a portal or a login page."""

    PAGE = b"<!DOCTYPE html>\n<html><head><title>Portal</title></head><body>Hi</body></html>\n"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.PAGE)))
        self.end_headers()
        self.wfile.write(self.PAGE)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def _http_server(handler: Callable[..., http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer((HOST, 0), handler)
    server.daemon_threads = True
    try:
        with _running(server.serve_forever, "test-server-http"):
            try:
                yield f"http://{HOST}:{server.server_address[1]}"
            finally:
                server.shutdown()  # returns once serve_forever has stopped
    finally:
        server.server_close()


@contextlib.contextmanager
def serve_stalling(answers: dict[str, bytes]) -> Iterator[str]:
    """A server that answers GETs of the paths in ``answers`` and holds any other request
    unanswered (until the server stops); yields its base URL.

    It mimics an overloaded server that still describes a dataset but never sends data.
    """
    release = threading.Event()

    class StallingHandler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = answers.get(urlsplit(self.path).path)
            if body is None:
                release.wait()  # hold the request open, say nothing
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with _http_server(StallingHandler) as url:
        try:
            yield url
        finally:
            release.set()


@contextlib.contextmanager
def serve_directory(directory: str) -> Iterator[str]:
    """Serve ``directory`` over plain HTTP; yields the base URL (no trailing slash)."""

    def handler(*args: Any, **kwargs: Any) -> _QuietHandler:
        return _QuietHandler(*args, directory=str(directory), **kwargs)

    with _http_server(handler) as url:
        yield url


@contextlib.contextmanager
def serve_html() -> Iterator[str]:
    """A server answering 200 with an HTML page for every path; yields its base URL."""
    with _http_server(_HtmlHandler) as url:
        yield url


# -- the OPeNDAP server ---------------------------------------------------------------------
def _pkg_resources_shim() -> None:
    """Let ``opendap_protocol`` import on setuptools without ``pkg_resources``.

    opendap-protocol 1.1.1 (xpublish-opendap's DAP encoder) does
    ``from pkg_resources import get_distribution`` only to read its own version; setuptools
    >= 81 no longer ships ``pkg_resources`` (and older ones warn on importing it). A minimal
    stand-in backed by importlib.metadata is enough, and only tests ever import it.
    """
    if "pkg_resources" in sys.modules:
        return

    class DistributionNotFound(Exception):  # noqa: N818 (the name pkg_resources uses)
        pass

    def get_distribution(name: str) -> types.SimpleNamespace:
        try:
            return types.SimpleNamespace(version=importlib.metadata.version(name))
        except importlib.metadata.PackageNotFoundError as exc:
            raise DistributionNotFound(name) from exc

    shim = types.ModuleType("pkg_resources")
    shim.DistributionNotFound = DistributionNotFound  # type: ignore[attr-defined]
    shim.get_distribution = get_distribution  # type: ignore[attr-defined]
    sys.modules["pkg_resources"] = shim


@contextlib.contextmanager
def xpublish_server(datasets: dict[str, xr.Dataset]) -> Iterator[str]:
    """Serve ``datasets`` over OPeNDAP with xpublish on uvicorn; yields the base URL.

    Dataset ``<id>`` is at ``{base}/datasets/<id>/opendap``.
    """
    _pkg_resources_shim()
    import uvicorn
    import xpublish
    from xpublish_opendap import OpenDapPlugin

    rest = xpublish.Rest(datasets, plugins={"opendap": OpenDapPlugin()})
    config = uvicorn.Config(
        rest.app, log_level="warning", access_log=False, lifespan="off", ws="none"
    )
    server = uvicorn.Server(config)
    sock = _bound_socket()  # bound here, so the port is ours before the thread starts
    port = sock.getsockname()[1]
    try:
        with _running(lambda: server.run(sockets=[sock]), "test-server-opendap") as thread:
            try:
                wait_until(lambda: server.started or not thread.is_alive(), what="uvicorn to start")
                assert server.started, "the OPeNDAP server failed to start (see its log)"
                yield f"http://{HOST}:{port}"
            finally:
                server.should_exit = True
    finally:
        sock.close()


# -- a model-style dataset with the quirks adapters must fix -------------------------------
FILL = np.float32(-999.0)


def quirky_model_dataset() -> xr.Dataset:
    """A small gridded model output, stored the way model servers often store it.

    Quirks: ``latitude`` descending, ``longitude`` 0..360, time as float64 "days since
    2000-01-01" (DAP2 has no int64), a ``depth`` axis, a ``_FillValue`` over "land",
    CF units/long_name. The arrays are raw (not CF-decoded), exactly as served.
    """
    times = np.array([0.5, 1.5, 2.5, 3.5], dtype="float64")
    depth = np.array([0.5, 10.0, 100.0], dtype="float64")
    lat = np.arange(60.0, -61.0, -20.0)  # 60 .. -60, descending
    lon = np.arange(0.0, 360.0, 30.0)  # 0 .. 330
    t, z, y, x = np.meshgrid(times, depth, lat, lon, indexing="ij")
    # Every value is unique and tells where it came from.
    thetao = (20.0 - z / 10.0 + y / 100.0 + x / 1000.0 + t * 0.01).astype("float32")
    so = (35.0 + x / 10000.0 + y / 1000.0 + z / 100.0).astype("float32")
    land = (slice(None), slice(None), 1, slice(2, 4))  # lat 40N, lon 60E and 90E
    thetao[land] = FILL
    so[land] = FILL
    dims = ("time", "depth", "latitude", "longitude")
    return xr.Dataset(
        {
            "thetao": (
                dims,
                thetao,
                {
                    "units": "degrees_C",
                    "long_name": "Sea water potential temperature",
                    "standard_name": "sea_water_potential_temperature",
                    "_FillValue": FILL,
                },
            ),
            "so": (
                dims,
                so,
                {
                    "units": "1e-3",
                    "long_name": "Salinity",
                    "standard_name": "sea_water_salinity",
                    "_FillValue": FILL,
                },
            ),
        },
        coords={
            "time": (
                "time",
                times,
                {"units": "days since 2000-01-01", "calendar": "standard", "axis": "T"},
            ),
            "depth": ("depth", depth, {"units": "m", "positive": "down", "axis": "Z"}),
            "latitude": ("latitude", lat, {"units": "degrees_north", "axis": "Y"}),
            "longitude": ("longitude", lon, {"units": "degrees_east", "axis": "X"}),
        },
        attrs={"title": "Quirky model output", "Conventions": "CF-1.8"},
    )


@dataclass(frozen=True)
class OpendapServer:
    """A running OPeNDAP server and what it serves."""

    base: str
    dataset_id: str
    source: xr.Dataset  # raw, as served (not CF-decoded)

    @property
    def url(self) -> str:
        """The dataset's OPeNDAP URL."""
        return f"{self.base}/datasets/{self.dataset_id}/opendap"


@pytest.fixture(scope="session")
def opendap_server() -> Iterator[OpendapServer]:
    """A real OPeNDAP server for the whole session, serving ``quirky_model_dataset``."""
    source = quirky_model_dataset()
    with xpublish_server({"model": source}) as base:
        yield OpendapServer(base=base, dataset_id="model", source=source)
