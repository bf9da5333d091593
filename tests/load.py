"""Real websocket sessions for load and leak tests, driven the way a browser drives them.

Each :class:`Visitor` opens a session with Bokeh's own client (``bokeh.client.pull_session``,
the websocket protocol a browser speaks), keeps it connected on its own IO loop, and acts on
the session's document as the page would: it sets the time player's value (a step of the
animation), reports the map's range (as a browser does once it has laid the plot out) and
sends a tap event on the map (a click). It measures from the action to the server's answer
arriving (the map's new title; the probe plot's title).

Used by ``tests/app/test_load.py`` at a reduced size, and at full size by ``make loadtest``.
"""

from __future__ import annotations

import importlib
import pkgutil
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: Seconds an action may take before it counts as an error (a bound, not a speed target).
ACTION_DEADLINE = 60.0
#: The whole-world Web Mercator view a browser reports for the map (metres).
WORLD_X = (-20037508.34, 20037508.34)
WORLD_Y = (-15000000.0, 15000000.0)


def register_models() -> None:
    """Import every Bokeh model the app uses, so the client can read the documents."""
    import holoviews.plotting.bokeh  # noqa: F401
    import panel.models

    import components.map_overlays  # the basemap probe's data model
    import components.map_tiles  # noqa: F401  (the app's own: the step of a map over tiles)

    for module in pkgutil.iter_modules(panel.models.__path__):
        try:
            importlib.import_module(f"panel.models.{module.name}")
        except ImportError:  # optional models (e.g. needing extra packages) are not used here
            continue


@dataclass
class Results:
    """What a load run saw: latencies (ms) per action, errors and disconnects."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    disconnects: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, action: str, ms: float) -> None:
        with self.lock:
            self.latencies.setdefault(action, []).append(ms)

    def error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text)

    def disconnected(self) -> None:
        with self.lock:
            self.disconnects += 1

    def summary(self) -> dict[str, dict[str, float]]:
        """Per action: count, p50 and p95 latency (ms)."""
        out = {}
        for action, values in self.latencies.items():
            ordered = sorted(values)
            p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
            out[action] = {
                "count": len(values),
                "p50_ms": statistics.median(values),
                "p95_ms": p95,
            }
        return out


class Visitor:
    """One session of the app, kept open on its own IO loop thread."""

    def __init__(self, url: str, arguments: dict[str, str] | None = None) -> None:
        """Open the app at ``url`` with the query ``arguments`` (a link's choices)."""
        from bokeh.client import pull_session

        self.session = pull_session(url=url, arguments=arguments)
        self.doc = self.session.document
        self._changed = threading.Condition()
        self.doc.on_change(self._on_change)
        self._loop = self.session._connection._loop
        # Bokeh's client runs its loop only while waiting; keep it running for the session
        self._thread = threading.Thread(
            target=self.session._loop_until_closed, name="visitor-loop", daemon=True
        )
        self._thread.start()
        try:
            # a page says when it has rendered; the server holds some updates until it has
            from bokeh.events import DocumentReady

            self._on_loop(lambda: self.doc.callbacks.send_event(DocumentReady()))
            self.map = self._map_figure()
            self.player = self._model("Player")
        except BaseException:
            self.close()  # a page that did not come up still closes its connection
            raise

    # -- reading the page -------------------------------------------------------------------
    def _models(self, name: str) -> list:
        return [m for m in self.doc.models if type(m).__name__ == name]

    def _model(self, name: str):
        found = self._models(name)
        if not found:
            raise AssertionError(f"the page has no {name}")
        return found[0]

    def _map_figure(self):
        for figure in self._models("figure") + self._models("Figure"):
            tools = [type(t).__name__ for t in figure.toolbar.tools]
            if "TapTool" in tools:
                return figure
        raise AssertionError("the page has no map")

    def titles(self) -> list[str]:
        return [m.text for m in self._models("Title") if m.text]

    def loading(self) -> bool:
        """True while a pane of the page shows Panel's loading spinner."""
        return any("pn-loading" in (getattr(m, "css_classes", None) or []) for m in self.doc.models)

    @property
    def connected(self) -> bool:
        return self.session.connected

    def _on_change(self, event) -> None:
        with self._changed:
            self._changed.notify_all()

    def _on_loop(self, action: Callable[[], None]) -> None:
        """Run ``action`` on the session's loop, where document changes are synced."""
        self._loop.add_callback(action)

    def _wait(self, done: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + ACTION_DEADLINE
        with self._changed:
            while not done():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no answer to {what} within {ACTION_DEADLINE:g} s")
                self._changed.wait(min(left, 1.0))

    # -- acting as a browser ----------------------------------------------------------------
    def show_world(self) -> None:
        """Report the map's range, as a browser does once the plot is laid out."""

        def set_ranges() -> None:
            self.map.x_range.update(start=WORLD_X[0], end=WORLD_X[1])
            self.map.y_range.update(start=WORLD_Y[0], end=WORLD_Y[1])

        self._on_loop(set_ranges)
        self._wait(lambda: self.map.x_range.start == WORLD_X[0], "the map's range")

    def step_time(self) -> float:
        """Advance the animation one step; ms until the map's new frame arrives."""
        before = self.map.title.text
        step = (self.player.value + 1) % (self.player.end + 1)
        started = time.perf_counter()
        self._on_loop(lambda: setattr(self.player, "value", step))
        self._wait(lambda: self.map.title.text != before, "a time step")
        return 1000 * (time.perf_counter() - started)

    def click(self, x: float, y: float) -> float:
        """Tap the map at Web Mercator (x, y); ms until the probe's series plot arrives."""
        seen = {t for t in self.titles() if " at lon=" in t}
        started = time.perf_counter()
        event = _tap_event()(model=self.map, sx=100, sy=100, x=x, y=y)
        self._on_loop(lambda: self.doc.callbacks.send_event(event))
        self._wait(lambda: any(" at lon=" in t and t not in seen for t in self.titles()), "a click")
        return 1000 * (time.perf_counter() - started)

    def close(self) -> None:
        """Close the page: on the session's loop (the client is not thread-safe)."""
        self._on_loop(self.session.close)
        self._thread.join(timeout=30)


def _tap_event():
    """Bokeh's Tap event with its coordinates sent along: Python's event sends only the
    model (events usually travel from the browser to the server, not the other way)."""
    from bokeh.events import Tap

    class BrowserTap(Tap):
        def event_values(self) -> dict:
            point = {"sx": self.sx, "sy": self.sy, "x": self.x, "y": self.y, "modifiers": {}}
            return {**super().event_values(), **point}

    return BrowserTap


def visit(url: str, steps: int, clicks: list[tuple[float, float]], results: Results) -> None:
    """One visitor's session: open, step the time ``steps`` times, click, close."""
    try:
        visitor = Visitor(url)
    except Exception as exc:  # a refused or failed session is what the test counts
        results.error(f"open: {exc}")
        return
    try:
        visitor.show_world()
        for _ in range(steps):
            results.add("time step", visitor.step_time())
        for x, y in clicks:
            results.add("click", visitor.click(x, y))
        if not visitor.connected:
            results.disconnected()
    except Exception as exc:
        results.error(f"{type(exc).__name__}: {exc}")
        if not visitor.connected:
            results.disconnected()
    finally:
        visitor.close()


def run_load(url: str, sessions: int, steps: int, clicks: list[tuple[float, float]]) -> Results:
    """``sessions`` visitors at once, each stepping and clicking; their results."""
    register_models()
    results = Results()
    threads = [
        threading.Thread(target=visit, args=(url, steps, clicks, results), name=f"visitor-{i}")
        for i in range(sessions)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=ACTION_DEADLINE * (steps + len(clicks) + 2))
    return results
