"""Every visible choice in the URL, both ways: a view is a link.

Query keys are the plain names a user reads: ``dataset``, ``variable``, ``time``, ``depth``,
``scenario``, ``baseline``, ``mode``, ``bbox``, ``cmap``, ``clim``, ``points``. Values::

    dataset=demo-warming          a catalog id (never a path or URL)
    variable=thetao
    time=2025-07-20               ISO; the nearest step is used
    depth=100                     metres; the nearest level is used
    mode=difference               map, side-by-side, difference, relative, swipe
    baseline=baseline
    scenario=warming_3            comparing: several, comma-separated
    bbox=-70,25,-10,65            W,S,E,N in degrees; W > E crosses the dateline
    cmap=thermal                  a cmocean colormap
    clim=0,25                     a fixed colour range
    points=-30.5,20.25;-40,10     probe points lon,lat; up to 7
    show=mhw-category             value, anomaly, mhw-intensity, mhw-category, dhw
    ref=1993/2022                 reference period of the climatology (years or dates)
    climate=shifted               the climatology of a scenario: fixed (baseline) or shifted

A session's URL is read once when it opens (:func:`apply_query`, in dependency order:
dataset first); a value that is not valid is ignored and said so (:func:`apply_query` returns
the notices), and the rest still applies. From then on the URL follows the state
(:class:`UrlSync`) through Panel's ``pn.state.location``.
"""

from __future__ import annotations

import logging
import math
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

import panel as pn
import param

from components.colors import ColorSettings
from components.core.climatology import parse_reference
from components.core.geography import BBox
from components.probe_view import MAX_PINS
from components.state import MODES, ExplorerState
from data_adapters import SourceError

log = logging.getLogger(__name__)

KEYS = (
    "dataset", "variable", "mode", "baseline", "scenario", "time", "depth", "bbox", "points",
    "cmap", "clim", "show", "ref", "climate",
)  # fmt: skip
#: Longest query value read (characters); longer ones are refused unread.
MAX_VALUE_CHARS = 1000
#: Largest magnitude accepted for a number in the URL (degrees, metres, colour limits).
MAX_NUMBER = 1e12
#: Decimals written for coordinates (about 10 m) and colour limits.
DECIMALS = 4


class UrlValueError(ValueError):
    """A URL value that cannot be applied; the message says why."""


def read_query(args: Mapping[str, Any]) -> dict[str, str]:
    """The known keys of a query as text: from ``pn.state.session_args`` (lists of bytes)
    or a plain mapping of strings. Unknown keys are left out (links carry others)."""
    out = {}
    for key in KEYS:
        if key not in args:
            continue
        value = args[key]
        if isinstance(value, list | tuple):
            value = value[-1] if value else ""
        if isinstance(value, bytes):
            value = value.decode("utf-8", errors="replace")
        out[key] = str(value)
    return out


def _numbers(text: str, count: int | None = None) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError as exc:
        raise UrlValueError("not a number") from exc
    if count is not None and len(values) != count:
        raise UrlValueError(f"expected {count} numbers separated by commas")
    if not all(math.isfinite(v) and abs(v) <= MAX_NUMBER for v in values):
        raise UrlValueError("numbers must be finite and not huge")
    return values


def _choice(value: str, options: list, what: str) -> Any:
    if value not in [str(o) for o in options]:
        shown = ", ".join(str(o) for o in options[:8])
        raise UrlValueError(f"no {what} '{value}' here (choose from {shown})")
    return next(o for o in options if str(o) == value)


def _bbox(text: str) -> tuple[float, float, float, float]:
    """The view of ``bbox=W,S,E,N`` (:class:`components.core.geography.BBox`), continuous
    across the dateline (E past 180 degrees)."""
    _numbers(text, 4)  # finite, not huge: the URL's own rules first
    try:
        box = BBox.parse(text)
    except ValueError as exc:
        raise UrlValueError(str(exc)) from exc
    return (box.west, box.south, box.east_unwrapped, box.north)


def _points(text: str) -> list[tuple[float, float]]:
    points = []
    for part in filter(None, text.split(";")):
        lon, lat = _numbers(part, 2)
        if not (-90 <= lat <= 90 and -540 <= lon <= 540):
            raise UrlValueError(f"({lon:g}, {lat:g}) is not a longitude, latitude")
        points.append(((lon + 180.0) % 360.0 - 180.0, lat))
    if len(points) > MAX_PINS:
        raise UrlValueError(f"at most {MAX_PINS} points")
    return points


def apply_query(
    query: Mapping[str, str],
    state: ExplorerState,
    colors_for: Callable[[str], ColorSettings],
) -> list[str]:
    """Apply the URL's choices to a new session's ``state``; returns one notice per value
    ignored (what and why), the rest applied.

    ``colors_for(mode)`` gives the colour settings of what a mode shows (``cmap``, ``clim``).
    """
    notices: list[str] = []

    def attempt(key: str, apply: Callable[[str], None]) -> None:
        if key not in query:
            return
        value = query[key]
        try:
            if len(value) > MAX_VALUE_CHARS:
                raise UrlValueError(f"longer than {MAX_VALUE_CHARS} characters")
            apply(value.strip())
        except (UrlValueError, ValueError, TypeError) as exc:
            shown = value if len(value) <= 60 else value[:57] + "..."
            notices.append(f"URL {key}='{shown}' ignored: {exc}")
            log.warning(
                "event=url_value_refused key=%s value=%r reason=%r", key, value[:200], str(exc)
            )

    def dataset(v: str) -> None:
        chosen = _choice(v, state.param.dataset_id.objects, "dataset")
        state.dataset_id = chosen
        if state.source is None or state.dataset_id != chosen:
            raise UrlValueError("it cannot be opened (the message says why)")

    def time(v: str) -> None:
        times = [t for t in state.param.time.objects if t is not None]
        if not times:
            raise UrlValueError("this dataset has no time axis")
        try:
            index = times.index(v) if v in times else state.time_step(v)
        except SourceError as exc:
            raise UrlValueError(f"not a date: {exc}") from exc
        state.time = times[index]

    def depth(v: str) -> None:
        levels = [d for d in state.param.depth.objects if d is not None]
        if not levels:
            raise UrlValueError("this dataset has no depth levels")
        (metres,) = _numbers(v, 1)
        if metres < 0:
            raise UrlValueError("depth is in metres, positive down")
        state.depth = min(levels, key=lambda d: abs(d - metres))

    def scenario(v: str) -> None:
        names = [x for x in v.split(",") if x]
        runs = state.param.scenario.objects
        chosen = [_choice(x, runs, "scenario") for x in names]
        if not chosen:
            raise UrlValueError("no scenario named")
        if state.comparing:
            state.scenarios = [x for x in chosen if x != state.baseline] or chosen
        else:
            if len(chosen) > 1:
                raise UrlValueError("one scenario at a time on a map (compare them with mode=)")
            state.scenario = chosen[0]

    def reference(v: str) -> None:
        try:
            parse_reference(v)
        except SourceError as exc:
            raise UrlValueError(str(exc)) from exc
        state.reference = v

    def clim(v: str) -> None:
        low, high = _numbers(v, 2)
        if low >= high:
            raise UrlValueError("expected LO,HI with LO < HI")
        colors_for(state.mode).param.update(mode="fixed", vmin=low, vmax=high)

    def pick(key: str, target: Any, name: str, what: str) -> None:
        """``key`` sets ``target.name`` to one of its options."""
        attempt(key, lambda v: setattr(target, name, _choice(v, target.param[name].objects, what)))

    attempt("dataset", dataset)
    if state.source is None:
        return notices  # nothing else can apply to a dataset that did not open
    pick("variable", state, "variable", "variable")
    attempt("mode", lambda v: setattr(state, "mode", _choice(v, list(MODES), "mode")))
    pick("baseline", state, "baseline", "scenario")
    attempt("scenario", scenario)
    attempt("time", time)
    attempt("depth", depth)
    pick("show", state, "show", "show")
    attempt("ref", reference)
    pick("climate", state, "climate_baseline", "climatology")
    attempt("bbox", lambda v: setattr(state, "extent", _bbox(v)))
    attempt("points", lambda v: setattr(state, "points", _points(v)))
    pick("cmap", colors_for(state.mode), "cmap", "colormap")
    attempt("clim", clim)
    return notices


def _number(value: float) -> str:
    text = f"{value:.{DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def query_of(state: ExplorerState, colors: ColorSettings) -> dict[str, str]:
    """The state's visible choices as query values (see the module's docstring)."""
    if state.source is None:
        return {"dataset": str(state.dataset_id)} if state.dataset_id else {}
    query = {"dataset": str(state.dataset_id), "variable": str(state.variable)}
    if state.time is not None:
        query["time"] = str(state.time)
    da = state.dataset[state.variable]
    if state.depth is not None and "depth" in da.dims:
        query["depth"] = _number(state.depth)
    query["mode"] = state.mode
    if state.comparing:
        query["baseline"] = str(state.baseline)
        query["scenario"] = ",".join(str(s) for s in state.scenarios)
    elif len(state.param.scenario.objects) > 1:
        query["scenario"] = str(state.scenario)
    if state.extent is not None:
        west, south, east, north = state.extent
        if east - west >= 360.0:
            west, east = -180.0, 180.0
        else:  # wrapped: a view across the dateline reads W > E, as --bbox does
            west, east = ((v + 180.0) % 360.0 - 180.0 for v in (west, east))
        query["bbox"] = ",".join(_number(v) for v in (west, south, east, north))
    if state.points:
        query["points"] = ";".join(f"{_number(a)},{_number(b)}" for a, b in state.points)
    if state.show != "value":
        query["show"] = state.show
        if state.reference:
            query["ref"] = state.reference
        if state.climate_baseline != "fixed":
            query["climate"] = state.climate_baseline
    query["cmap"] = colors.cmap
    if colors.mode == "fixed" and colors.vmin is not None and colors.vmax is not None:
        query["clim"] = f"{_number(colors.vmin)},{_number(colors.vmax)}"
    return query


def encode(query: Mapping[str, str]) -> str:
    """``?key=value&…`` with commas, semicolons and colons left readable."""
    return "?" + urllib.parse.urlencode(query, safe=",;:") if query else ""


class UrlSync(param.Parameterized):
    """Keeps a session's URL (``pn.state.location``) equal to its state's choices."""

    def __init__(
        self,
        state: ExplorerState,
        colors_for: Callable[[str], ColorSettings],
        location: Any,
        **params: Any,
    ) -> None:
        super().__init__(**params)
        self.state = state
        self.colors_for = colors_for
        self.location = location
        names = [
            "dataset_id", "variable", "time", "depth", "scenario", "baseline", "scenarios",
            "mode", "extent", "points", "show", "reference", "climate_baseline",
        ]  # fmt: skip
        state.param.watch(self.write, names)
        self._watched: set[int] = set()
        # the browser reports its own URL when the page connects: write ours after that
        if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
            pn.state.onload(self.write)
        else:
            self.write()

    def write(self, *_) -> None:
        colors = self.colors_for(self.state.mode)
        if id(colors) not in self._watched:
            colors.param.watch(self.write, ["cmap", "mode", "vmin", "vmax"])
            self._watched.add(id(colors))
        search = encode(query_of(self.state, colors))
        if self.location is not None and self.location.search != search:
            self.location.search = search
