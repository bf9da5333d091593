"""Server memory while a user uploads a 200 MB NetCDF file, and after the page closes.

``ocean-explorer serve`` runs on a small demo catalog with ``--upload-max-mb 250`` and a
short ``--session-expiry``. Headless Chromium opens the page, waits for the map, and hands a
200 MB NetCDF file (float32, uncompressed) to the "Add your data" control; the upload
arrives in 10 MB chunks, is checked in a separate process, and is shown on the map. The
page is then closed, and the server is watched until it has dropped the session. The server
process's resident memory (RSS, without the checking process) is sampled every 50 ms.

Targets: the upload raises the server's RSS by less than 300 MB at its peak, and the
session's end gives it back (within 50 MB of the RSS before the upload).

``--quick`` uploads 20 MB instead: a check that the run works, not of the target.
"""

from __future__ import annotations

import pathlib
import tempfile
import threading
import time

import numpy as np
import requests
import xarray as xr

from .browser import PAINT_DEADLINE_S, SERVE_DEADLINE_S, browser_page
from .harness import Options, Table, Target, fmt_bytes, progress

NAME = "upload_memory"
DESCRIPTION = "server RSS while a 200 MB NetCDF is uploaded, and after its session ends"

#: Size of the uploaded file (bytes of float32 values; ``--quick``: a tenth).
UPLOAD_BYTES, QUICK_UPLOAD_BYTES = 200e6, 20e6
#: Target: the peak increase of the server's RSS during the upload (bytes).
TARGET_INCREASE_BYTES = 300e6
#: Target: what the server may keep once the session has ended (bytes above the start).
TARGET_KEPT_BYTES = 50e6
#: Seconds after a page closes before the server drops its session (``--session-expiry``).
SESSION_EXPIRY_S = 2.0
#: Seconds between memory samples.
SAMPLE_S = 0.05


def upload_file(directory: pathlib.Path, size: float) -> pathlib.Path:
    """A NetCDF file of about ``size`` bytes: a global 1/4-degree float32 field, daily."""
    ny, nx = 720, 1440
    steps = max(1, round(size / (ny * nx * 4)))
    rng = np.random.default_rng(1)
    sst = (15 + rng.standard_normal((steps, ny, nx), dtype="float32")).astype("float32")
    ds = xr.Dataset(
        {"sst": (("time", "lat", "lon"), sst, {"units": "degC", "long_name": "SST"})},
        coords={
            "time": np.datetime64("2025-01-01") + np.arange(steps).astype("timedelta64[D]"),
            "lat": ("lat", -89.875 + 0.25 * np.arange(ny), {"units": "degrees_north"}),
            "lon": ("lon", -179.875 + 0.25 * np.arange(nx), {"units": "degrees_east"}),
        },
    )
    path = directory / "big-upload.nc"
    ds.to_netcdf(path)
    return path


class Sampler:
    """The RSS of one process (its children left out), sampled in a thread."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def rss(self) -> int:
        return self.process.memory_info().rss

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_S):  # the sampling period, not a synchronisation
            try:
                self.peak = max(self.peak, self.rss())
            except Exception:  # the server has gone: the last sample stands
                return

    def reset_peak(self) -> None:
        self.peak = self.rss()

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def wait_for(check, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout_s:g} s")
        time.sleep(0.2)  # polling interval, not a synchronisation


def run(options: Options) -> Table:
    """Serve, upload, close, and report the server's RSS against the targets."""
    from tests.ui.conftest import serve_process
    from tests.ui.pages import wait_for_map, wait_for_title

    size = QUICK_UPLOAD_BYTES if options.quick else UPLOAD_BYTES
    with tempfile.TemporaryDirectory(prefix="oe-upload-bench-") as tmp:
        root = pathlib.Path(tmp)
        path = upload_file(root, size)
        file_bytes = path.stat().st_size
        progress(f"uploading {path.name} ({fmt_bytes(file_bytes)})")
        catalog = root / "catalog.yaml"
        catalog.write_text(
            "datasets:\n  - id: demo\n    adapter: demo\n    resolution: 1.0\n    days: 10\n"
        )
        args = ("--catalog", str(catalog), "--upload-max-mb", "250")
        args += ("--session-expiry", str(SESSION_EXPIRY_S))
        log = root / "serve.log"
        with (
            serve_process(*args, log=log, deadline_s=SERVE_DEADLINE_S) as (url, server),
            Sampler(server.pid) as memory,
            browser_page() as page,
        ):
            page.goto(url)
            wait_for_map(page, timeout_s=PAINT_DEADLINE_S)
            before = memory.rss()
            memory.reset_peak()
            started = time.monotonic()
            page.get_by_text("Add your data").first.click()
            page.locator(".add-data input[type=file]").set_input_files(str(path))
            wait_for_title(page, path.name, timeout_s=600)
            upload_s = time.monotonic() - started
            peak, shown = memory.peak, memory.rss()
            page.context.close()

            def sessions() -> int:
                return requests.get(f"{url}health", timeout=30).json()["sessions"]

            wait_for(lambda: sessions() == 0, 120, "the session's end")
            after = memory.rss()
    increase, kept = peak - before, after - before
    table = Table(
        title=(
            f"Upload memory: a {fmt_bytes(file_bytes)} NetCDF uploaded in headless "
            "Chromium (10 MB chunks); RSS of the server process"
        ),
        columns=["moment", "RSS", "above the start"],
        rows=[
            ["page painted, before the upload", fmt_bytes(before), "0"],
            ["peak during the upload (50 ms samples)", fmt_bytes(peak), fmt_bytes(increase)],
            ["upload shown on the map", fmt_bytes(shown), fmt_bytes(shown - before)],
            ["session ended", fmt_bytes(after), fmt_bytes(max(kept, 0))],
        ],
    )
    real = size >= UPLOAD_BYTES
    table.targets += [
        Target(
            f"RSS increase uploading {fmt_bytes(size)}",
            fmt_bytes(increase),
            f"< {fmt_bytes(TARGET_INCREASE_BYTES)}",
            increase < TARGET_INCREASE_BYTES,
            tested=real,
        ),
        Target(
            "RSS kept after the session ends",
            fmt_bytes(max(kept, 0)),
            f"< {fmt_bytes(TARGET_KEPT_BYTES)}",
            kept < TARGET_KEPT_BYTES,
            tested=real,
        ),
    ]
    table.notes.append(f"upload to map: {upload_s:.1f} s")
    if not real:
        table.notes.append("--quick: a smaller file; the targets are not tested by this run")
    return table
