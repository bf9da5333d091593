"""Peak server memory while a user browses a store of more than 5 GB for a minute.

``ocean-explorer serve`` runs on a catalog of the prepared ten-year daily 1/4° store of
``point_series`` ((3650, 720, 1440) float32: 15 GB of maps uncompressed, 16 GB on disk with
both layouts). Headless Chromium opens the page and, for :data:`BROWSE_S` seconds, steps
the player, pans, zooms in and out with the wheel, jumps to dates across the ten years and
clicks probes (each reads a ten-year point series), waiting after each action for the map
to settle. The server process's resident memory (RSS, children included) is sampled every
50 ms throughout, from its start.

``--quick`` browses the one-year store (1.6 GB) for 20 s instead: a check that the run
works, not of the target.
"""

from __future__ import annotations

import contextlib
import itertools
import random
import threading
import time

from data_adapters.layouts import disk_bytes

from .browser import browser_page, map_layers, serving, settle
from .harness import Options, Table, Target, fmt_bytes, progress
from .point_series import QUICK_STEPS, STEPS, prepared_store, time_chunked_store

NAME = "server_memory"
DESCRIPTION = "peak server RSS while browsing the ten-year 16 GB prepared store for a minute"

#: Seconds of browsing (``--quick``: fewer).
BROWSE_S, QUICK_BROWSE_S = 60.0, 20.0
#: Target: peak resident memory of the server process (bytes; GB = 10**9).
TARGET_PEAK_BYTES = 1.5e9
#: The target applies to stores of at least this size on disk (bytes).
TARGET_STORE_BYTES = 5e9
#: Seconds between memory samples.
SAMPLE_S = 0.05
#: A fixed seed: the same dates and probe points on every run.
SEED = 20261201


class MemorySampler:
    """The peak RSS of a process and its children, sampled in a thread until stopped."""

    def __init__(self, pid: int) -> None:
        import psutil

        self._process = psutil.Process(pid)
        self.peak = 0
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def rss(self) -> int:
        """Resident bytes of the process and its children now."""
        import psutil

        total = self._process.memory_info().rss
        for child in self._process.children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):  # a child that just ended
                total += child.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_S):  # the sampling period, not a synchronisation
            try:
                rss = self.rss()
            except Exception:  # the server has gone: the last sample stands
                return
            self.samples.append((time.monotonic(), rss))
            self.peak = max(self.peak, rss)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def browse(page, layers, seconds: float, years: int) -> dict[str, int]:
    """Step, pan, zoom, jump and probe for ``seconds``; how many of each were done."""
    rng = random.Random(SEED)
    canvas = page.locator(".bk-Canvas").first
    box = canvas.bounding_box()
    centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    forward = page.locator("button.next").first
    date = page.locator("input[placeholder^='YYYY-MM-DD']").first

    def step() -> None:
        forward.click()

    def pan() -> None:
        dx, dy = rng.uniform(-200, 200), rng.uniform(-80, 80)
        page.mouse.move(*centre)
        page.mouse.down()
        page.mouse.move(centre[0] + dx, centre[1] + dy, steps=6)
        page.mouse.up()

    def zoom_in() -> None:
        page.mouse.move(centre[0] + rng.uniform(-150, 150), centre[1] + rng.uniform(-80, 80))
        page.mouse.wheel(0, -400)

    def zoom_out() -> None:
        page.mouse.move(*centre)
        page.mouse.wheel(0, 500)

    def jump() -> None:
        day = rng.randrange(365 * years)
        stamp = time.strftime("%Y-%m-%d", time.gmtime(1735689600 + 86400 * day))  # 2025-01-01
        date.fill(stamp)
        date.press("Enter")

    def probe() -> None:
        page.mouse.click(
            box["x"] + box["width"] * rng.uniform(0.2, 0.8),
            box["y"] + box["height"] * rng.uniform(0.2, 0.8),
        )

    actions = {
        "step": step,
        "pan": pan,
        "zoom in": zoom_in,
        "zoom out": zoom_out,
        "jump to a date": jump,
        "probe": probe,
    }
    plan = ["step", "step", "pan", "zoom in", "step", "probe", "jump to a date", "zoom in"]
    plan += ["step", "pan", "zoom out", "zoom out", "jump to a date", "step", "probe"]
    done = dict.fromkeys(actions, 0)
    deadline = time.monotonic() + seconds
    for name in itertools.cycle(plan):
        if time.monotonic() > deadline:
            break
        actions[name]()
        done[name] += 1
        settle(page, layers, quiet_ms=300.0)
    return done


def run(options: Options) -> Table:
    """Serve the store, browse it, report the peak RSS against the target."""
    steps = QUICK_STEPS if options.quick else STEPS
    seconds = QUICK_BROWSE_S if options.quick else BROWSE_S
    store = prepared_store(time_chunked_store(steps))
    size = disk_bytes(store)
    progress(f"serving {store.name} ({fmt_bytes(size)}); browsing for {seconds:g} s")
    with serving(store, "ten-years") as server, MemorySampler(server.pid) as memory:
        started_rss = memory.rss()
        with browser_page() as page:
            page.goto(server.url)
            layers = map_layers(page)
            settle(page, layers, quiet_ms=1000.0)
            first_page = memory.rss()
            done = browse(page, layers, seconds, max(1, steps // 365))
            after = memory.rss()
    table = Table(
        title=(
            f"Server memory: {seconds:g} s of browsing a {fmt_bytes(size)} store "
            f"({steps} daily 720 x 1440 maps, prepared) in headless Chromium; RSS of the "
            "server process"
        ),
        columns=["moment", "RSS"],
        rows=[
            ["served, before any page", fmt_bytes(started_rss)],
            ["first page painted", fmt_bytes(first_page)],
            ["after browsing", fmt_bytes(after)],
            ["peak (50 ms samples)", fmt_bytes(memory.peak)],
        ],
    )
    big_enough = size >= TARGET_STORE_BYTES
    table.targets.append(
        Target(
            f"peak server memory browsing a {fmt_bytes(size)} store",
            fmt_bytes(memory.peak),
            f"<= {fmt_bytes(TARGET_PEAK_BYTES)}",
            memory.peak <= TARGET_PEAK_BYTES,
            tested=big_enough,
        )
    )
    table.notes += [
        "actions: " + ", ".join(f"{n} {name}" for name, n in done.items() if n),
        f"{len(memory.samples)} samples; the frame cache may hold up to 256 MB of frames",
    ]
    if not big_enough:
        table.notes.append(
            f"the store is smaller than {fmt_bytes(TARGET_STORE_BYTES)} (--quick): the "
            "target is not tested by this run"
        )
    return table
