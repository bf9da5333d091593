"""Real parts for browser tests: a Panel server in a subprocess and headless Chromium."""

from __future__ import annotations

import contextlib
import os
import pathlib
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import pytest
import requests

CHROMIUM = "/usr/bin/chromium"
#: Launch flags for Debian's Chromium offline (DESIGN.md §8): nothing external is tried.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1, EXCLUDE localhost",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_serving(
    url: str, proc: subprocess.Popen, log: pathlib.Path, deadline_s: float = 120.0
) -> None:
    """Poll ``url`` until it answers 200; fail early if the server process died."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {log.read_text()}")
        try:
            # the first page builds a session (opening the data): give it time
            if requests.get(url, timeout=60).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.2)  # polling interval while the server starts, not a synchronisation
    raise TimeoutError(f"{url} did not answer within {deadline_s} s")


@contextlib.contextmanager
def serve_process(
    *args: str, log: pathlib.Path, deadline_s: float = 120.0
) -> Iterator[tuple[str, subprocess.Popen]]:
    """Run ``ocean-explorer serve ARGS`` on a free port until the block ends; yields its URL
    and process once it answers (within ``deadline_s``)."""
    port = free_port()
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        url = f"http://localhost:{port}/"
        try:
            wait_until_serving(url, proc, log, deadline_s)
            yield url, proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextlib.contextmanager
def serving(*args: str, log: pathlib.Path, deadline_s: float = 120.0) -> Iterator[str]:
    """:func:`serve_process`, yielding the URL alone."""
    with serve_process(*args, log=log, deadline_s=deadline_s) as (url, _):
        yield url


@pytest.fixture(scope="session")
def app_server(tmp_path_factory) -> Iterator[str]:
    """The app with the default catalog (the demo ocean), as ``make run`` serves it."""
    with serving(log=tmp_path_factory.mktemp("server") / "serve.log") as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (Debian package chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    yield page
    context.close()


#: The small demo ocean most browser tests serve: quick to open and to probe.
DEMO_HALF_CATALOG = """
datasets:
  - id: demo-half
    title: Demo ocean, half degree
    adapter: demo
    resolution: 0.5
    days: 30
"""


@contextlib.contextmanager
def serving_catalog(root: pathlib.Path, catalog: str, *args: str) -> Iterator[str]:
    """:func:`serving` the catalog ``catalog`` (YAML, written into ``root``) with ``args``;
    the server's log is ``root / "serve.log"``."""
    path = root / "catalog.yaml"
    path.write_text(textwrap.dedent(catalog))
    with serving("--catalog", str(path), *args, log=root / "serve.log") as url:
        yield url


@pytest.fixture(scope="session")
def small_demo_server(tmp_path_factory) -> Iterator[str]:
    """The app on a small demo ocean (1/2 degree, 30 days): quick to open and to probe."""
    with serving_catalog(tmp_path_factory.mktemp("map-ui"), DEMO_HALF_CATALOG) as url:
        yield url
