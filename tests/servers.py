"""Real servers for tests, started by the tests themselves on 127.0.0.1 (DESIGN.md §7, §8).

Everything here runs in background threads of the test process and is stopped cleanly when
its ``with`` block (or fixture) ends: no thread keeps running, no port stays bound.

- ``xpublish_server``: a real OPeNDAP (DAP2) server, xpublish + xpublish-opendap on uvicorn,
  serving xarray datasets at ``http://127.0.0.1:PORT/datasets/<id>/opendap``;
- ``serve_directory``: a plain ``http.server`` over a directory (Zarr over HTTP);
- ``serve_html``: answers every GET with 200 and an HTML page (a portal, not a data server);
- ``serve_stalling``: answers a few paths, holds every other request unanswered;
- ``silent_server``: accepts TCP connections and never answers;
- ``refused_port``: a port with nothing listening (connections are refused);
- ``fault_proxy``: an HTTP proxy in front of one of these servers that injects remote faults
  on demand (refused connections, slow or trickling answers, HTTP 500/403/429, an HTML page,
  a truncated body, missing Zarr chunks) and counts the requests of each path.

Waiting is always on a condition with a deadline (``wait_until``), never a bare sleep.
"""

from __future__ import annotations

import collections
import contextlib
import http.client
import http.server
import importlib.metadata
import re
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


# -- a fault-injecting proxy ----------------------------------------------------------------
#: The faults :func:`fault_proxy` can inject (``None``: forward every request as it is).
FAULTS = (None, "refuse", "slow", "trickle", "500", "403", "429", "html", "truncate", "missing")
#: File names of Zarr metadata documents (v2 and v3): every other key of a store is a chunk.
ZARR_METADATA = frozenset({"zarr.json", ".zarray", ".zgroup", ".zattrs", ".zmetadata"})
#: Headers that belong to one connection, not to the answer: never forwarded.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"}
)
_ERROR_PAGE = b"<!DOCTYPE html>\n<html><body><h1>Service unavailable</h1></body></html>\n"


def is_chunk_path(path: str) -> bool:
    """True for a path that names a Zarr chunk: not one of :data:`ZARR_METADATA`, nor a
    directory (a listing)."""
    name = urlsplit(path).path.rsplit("/", 1)[-1]
    return bool(name) and name not in ZARR_METADATA


class FaultProxy:
    """A proxy in front of ``upstream`` that fails requests on demand (see :func:`fault_proxy`).

    Attributes
    ----------
    url
        The proxied base URL: ``upstream``'s URL with the proxy's host and port.
    fault
        One of :data:`FAULTS`; settable at any time (``"refuse"`` stops listening at once,
        any other value listens again on the same port).
    fault_paths
        None (every path may fail), a regular expression searched in the request's path and
        query, or a predicate of it: the fault applies only to the requests that match, so
        an open can succeed and a later chunk read fail.
    requests
        Requests received per path (with its query), faulted or not: what upstream read (or
        would have read).
    delay
        Seconds a ``"slow"`` answer waits before its first byte; ``"trickle"`` sends
        ``trickle_bytes`` every ``trickle_every`` seconds.
    retry_after
        The ``Retry-After`` header (seconds) of ``"429"`` answers.
    """

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or HOST, parts.port or 80)
        self._prefix = parts.path.rstrip("/")
        self.fault_paths: str | Callable[[str], bool] | None = None
        self.delay = 5.0
        self.trickle_bytes, self.trickle_every = 4, 0.25
        self.retry_after = 1
        self.requests: collections.Counter[str] = collections.Counter()
        self._fault: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()  # set on exit: releases held and trickling answers
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._listen(0)
        assert self._server is not None
        self.port: int = self._server.server_address[1]

    # -- what tests use ---------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}{self._prefix}"

    @property
    def fault(self) -> str | None:
        return self._fault

    @fault.setter
    def fault(self, fault: str | None) -> None:
        assert fault in FAULTS, f"unknown fault {fault!r}; known: {FAULTS}"
        with self._lock:
            was, self._fault = self._fault, fault
            if fault == "refuse" and was != "refuse":
                self._close()  # nothing listens: the kernel refuses connections
            elif fault != "refuse" and was == "refuse":
                self._listen(self.port)

    def count(self, match: str | Callable[[str], bool] | None = None) -> int:
        """Requests received whose path matches ``match`` (as :attr:`fault_paths`; None:
        all)."""
        with self._lock:
            return sum(n for path, n in self.requests.items() if _matches(match, path))

    def reset_counts(self) -> None:
        """Forget the requests counted so far."""
        with self._lock:
            self.requests.clear()

    # -- serving ----------------------------------------------------------------------------
    def _listen(self, port: int) -> None:
        server = http.server.ThreadingHTTPServer((HOST, port), self._handler_class())
        # Join the handlers on close: none keeps a socket open after the proxy has stopped.
        server.daemon_threads, server.block_on_close = False, True
        # a short poll: "refuse" and the end of a test stop it at once
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="test-fault-proxy"
        )
        thread.daemon = True
        thread.start()
        self._server, self._thread = server, thread

    def _close(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()  # joins the handler threads
        assert self._thread is not None
        self._thread.join(timeout=START_DEADLINE)
        assert not self._thread.is_alive(), "the fault proxy did not stop"
        self._server = self._thread = None

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            self._close()

    def _fault_for(self, path: str) -> str | None:
        with self._lock:
            self.requests[path] += 1
            fault = self._fault
        if fault is None or not _matches(self.fault_paths, path):
            return None
        if fault == "missing" and not is_chunk_path(path):
            return None
        return fault

    def _forward(self, method: str, path: str) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(*self._upstream, timeout=START_DEADLINE)
        try:
            conn.request(method, path)
            resp = conn.getresponse()
            body = resp.read()
            headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP_BY_HOP]
            return resp.status, headers, body
        finally:
            conn.close()

    def _handler_class(self) -> type[http.server.BaseHTTPRequestHandler]:
        proxy = self

        class FaultHandler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer("GET")

            def do_HEAD(self) -> None:
                self._answer("HEAD")

            def _answer(self, method: str) -> None:
                fault = proxy._fault_for(self.path)
                if fault == "refuse":  # asked before the listener closed: hang up at once
                    self.close_connection = True
                    return
                if fault in ("500", "403", "429"):
                    extra = [("Retry-After", str(proxy.retry_after))] if fault == "429" else []
                    self._send(int(fault), [("Content-Type", "text/plain"), *extra], b"fault\n")
                    return
                if fault == "missing":
                    self._send(404, [("Content-Type", "text/plain")], b"not found\n")
                    return
                if fault == "html":  # a portal's or a proxy's error page, with 200
                    self._send(200, [("Content-Type", "text/html")], _ERROR_PAGE)
                    return
                if fault == "slow" and proxy._stop.wait(proxy.delay):
                    return  # the proxy stops: nothing more to say
                status, headers, body = proxy._forward(method, self.path)
                if method == "HEAD":
                    self._send(status, headers, b"", length=len(body))
                elif fault == "truncate" and len(body) > 1:
                    self._send(status, headers, body[: len(body) // 2], length=len(body))
                    self.close_connection = True
                elif fault == "trickle":
                    self._send(status, headers, b"", length=len(body))
                    for at in range(0, len(body), proxy.trickle_bytes):
                        if proxy._stop.wait(proxy.trickle_every):
                            return
                        if proxy.fault != "trickle":  # the fault cleared: send the rest
                            self._write(body[at:])
                            return
                        if not self._write(body[at : at + proxy.trickle_bytes]):
                            return  # the client gave up (its timeout)
                else:
                    self._send(status, headers, body)

            def _send(
                self,
                status: int,
                headers: list[tuple[str, str]],
                body: bytes,
                length: int | None = None,
            ) -> None:
                try:
                    self.send_response(status)
                    for key, value in headers:
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(body) if length is None else length))
                    self.end_headers()
                except OSError:  # the client gave up (its timeout): nothing to tell it
                    self.close_connection = True
                    return
                self._write(body)

            def _write(self, data: bytes) -> bool:
                try:
                    self.wfile.write(data)
                    self.wfile.flush()
                except OSError:  # the client has gone
                    self.close_connection = True
                    return False
                return True

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return FaultHandler


def _matches(match: str | Callable[[str], bool] | None, path: str) -> bool:
    if match is None:
        return True
    if isinstance(match, str):
        return re.search(match, path) is not None
    return bool(match(path))


@contextlib.contextmanager
def fault_proxy(upstream_url: str) -> Iterator[FaultProxy]:
    """A :class:`FaultProxy` in front of ``upstream_url`` (a base URL, such as
    ``serve_directory``'s or ``xpublish_server``'s); stopped, with every connection closed,
    when the block ends.

    Example::

        with serve_directory(tmp_path) as base, fault_proxy(base) as proxy:
            proxy.fault, proxy.fault_paths = "500", r"/sst/c/"  # data chunks only
            ...
            assert proxy.count(r"/sst/c/0/0/0/0$") == 3
    """
    proxy = FaultProxy(upstream_url)
    try:
        yield proxy
    finally:
        proxy.stop()


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
