"""Server time of the answers a user waits for on the demo ocean, now and before.

On the built-in demo (1/4° globe, one year daily, the default catalog's ``demo``), in one
process, through the calls the dashboard makes:

- **area**: a drawn 20° x 20° box: ``ProbeAnswers.area()`` (its mean, min and max for every
  day of the year, and its statistics now), a box not asked before each time;
- **point series**: a click: ``ProbeView.add_point`` (the nearest sea cell checked) and
  ``ProbeAnswers.series()`` (the year's series there), at a cell not asked before;
- **dataset switch**: ``state.dataset_id`` to another catalogue entry, then the map's first
  frame of it (``MapView._render_image`` of the whole globe, 843 x 483 px);
- **animation**: one time step of a replay: ``state.time`` to the next step and the map's
  frame, already in the frame cache; shown as frames per second.

"Before" is the same script run on the code of commit :data:`BEFORE` (``git archive`` of
that commit into a temporary folder, first on ``PYTHONPATH``), in a fresh process; "now" on
this checkout, in another. Both share the demo's land-mask cache. Browser time (the
websocket, Bokeh's drawing) comes on top: ``browser_latency`` measures that.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import tarfile
import tempfile

from .harness import Options, Table, Target, fmt_ms, progress

NAME = "probe_latency"
DESCRIPTION = "area, point series, dataset switch and animation step on the demo, before/after"

#: The code measured as "before": the commit before the probe-latency work.
BEFORE = "e1af3e1"
ROOT = pathlib.Path(__file__).resolve().parents[1]
#: Targets (seconds; frames per second for the animation).
TARGETS = {"area": 1.5, "point series": 0.5, "dataset switch": 1.0}
TARGET_FPS = 4.0

#: The measurement, run with ``python -c`` in a fresh process; prints one JSON line of
#: seconds per case. Only APIs that the "before" commit has too.
MEASURE = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
from data_adapters import Catalog
from components import ExplorerState, MapView, ProbeView
from components.core.frames import FrameCache
from components.probe_answers import ProbeAnswers

repeats = int(sys.argv[1])
HALF = 20037508.342789244
VIEW = ((-HALF, HALF), (-15e6, 15e6), 843, 483)
state = ExplorerState(Catalog.load(), dataset_id="demo")
out = {"area": [], "point series": [], "dataset switch": [], "animation": []}
answers = ProbeAnswers(state)
state.region = (-61.0, 40.0, -41.0, 60.0)  # warm-up: numba, the land mask, dask
answers.area()
for i in range(repeats):
    answers = ProbeAnswers(state)
    state.region = (-40.0 + 3 * i, 10.0, -20.0 + 3 * i, 30.0)
    t = time.perf_counter(); answers.area(); out["area"].append(time.perf_counter() - t)
view = MapView(state=state, frames=FrameCache())
view._render_image(*VIEW)
probe = ProbeView(state=state, map_view=view)
for i in range(repeats):  # a click: the cell checked, then the series
    t = time.perf_counter()
    probe.add_point(-150.2 + 7 * i, 20.3)
    probe.answers.series()
    out["point series"].append(time.perf_counter() - t)
groups = [g for g in state.param.dataset_id.objects if g != "demo"]
for target in (groups * repeats)[:repeats]:
    t = time.perf_counter()
    state.dataset_id = target
    view._render_image(*VIEW)
    out["dataset switch"].append(time.perf_counter() - t)
state.dataset_id = "demo"
times = state.param.time.objects[:repeats + 1]
for step in times:  # into the frame cache
    state.time = step
    view._render_image(*VIEW)
for step in times[1:]:  # the replay
    state.time = times[0]
    view._render_image(*VIEW)
    t = time.perf_counter()
    state.time = step
    view._render_image(*VIEW)
    out["animation"].append(time.perf_counter() - t)
print("RESULT " + json.dumps(out))
"""


def _measure(code_root: pathlib.Path, repeats: int) -> dict[str, list[float]]:
    """The seconds of each case, measured in a fresh process on the code in ``code_root``."""
    env = {**os.environ, "PYTHONPATH": str(code_root), "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(repeats)],
        cwd=code_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"measuring {code_root} failed: {done.stderr[-2000:]}")
    return json.loads(lines[-1].removeprefix("RESULT "))


def _checkout(commit: str, into: pathlib.Path) -> pathlib.Path:
    """The files of ``commit`` (``git archive``) in ``into``."""
    archive = into / "before.tar"
    with open(archive, "wb") as out:
        subprocess.run(["git", "archive", commit], cwd=ROOT, stdout=out, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into / "code", filter="data")
    return into / "code"


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def run(options: Options) -> Table:
    """Each case before and now; medians, and the targets against now."""
    repeats = options.repeats
    progress(f"now: {repeats} repeats per case on the demo (1/4°, one year daily)")
    now = _measure(ROOT, repeats)
    with tempfile.TemporaryDirectory(prefix="oe-before-") as tmp:
        try:
            code = _checkout(BEFORE, pathlib.Path(tmp))
        except (OSError, subprocess.CalledProcessError) as exc:
            progress(f"commit {BEFORE} not available ({exc}): before not measured")
            before = None
        else:
            progress(f"before: commit {BEFORE}, the same script")
            before = _measure(code, repeats)
    table = Table(
        title="Probe and map answers on the demo ocean (server time, median)",
        columns=["case", f"before ({BEFORE})", "now", "speed-up"],
    )
    for case in ("area", "point series", "dataset switch", "animation"):
        new = _median(now[case])
        old = _median(before[case]) if before else float("nan")
        if case == "animation":
            cells = [f"{1 / old:.1f} frames/s", f"{1 / new:.1f} frames/s"]
        else:
            cells = [f"{fmt_ms(1000 * old)} ms", f"{fmt_ms(1000 * new)} ms"]
        table.rows.append([case, *cells, f"{old / new:.1f}x" if before else "-"])
        if case == "animation":
            table.targets.append(
                Target(
                    "animation on cached frames (server)",
                    f"{1 / new:.1f} frames/s",
                    f">= {TARGET_FPS:g} frames/s",
                    1 / new >= TARGET_FPS,
                )
            )
        else:
            limit = TARGETS[case]
            table.targets.append(
                Target(
                    f"{case} (server)", f"{fmt_ms(1000 * new)} ms", f"<= {limit:g} s", new <= limit
                )
            )
    table.notes += [
        f"{repeats} timed repeats per case after one warm-up, each in a fresh process per "
        "code version; 2 cores shared with whatever else runs",
        "area: a 20° x 20° box (6 400 cells) over 365 days, series and statistics; point "
        "series: 365 days at one sea cell; switch: open the entry and draw its first frame",
    ]
    return table
