"""Every visible choice in the URL, both ways: a view is a link.

Query keys are the plain names a user reads (:data:`KEYS`). Values::

    dataset=demo-warming          a catalog id (never a path or URL), or a hit of
                                  "Find data" (stac:ROOT#COLLECTION/ITEM, cmems:ID) of a
                                  catalogue the server searches; any other is refused;
                                  or 'ID vs HIT': the hit compared with dataset ID
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
    expr=warm [degC]=thetao-20    user expressions, ';'-separated; up to 5 (see
                                  components.core.expressions for what is allowed)
    region=-40,20,-20,35          a drawn box W,S,E,N for area statistics
    polygon=-40,20;-20,20;-30,35  a drawn polygon's vertices lon,lat (instead of a box)
    threshold=0.5                 comparing: hide changes below 0.5 (the variable's units)
    count_above=1                 comparing: count the steps whose regional mean's...
    exceed=change                 ...change from the baseline (or value) exceeds 1
    log=1                         log colour scale on (log=0: off where the default is on)
    basemap=osm                   a tile basemap
    arrows=1                      current arrows drawn
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
from components.core.colours import default_log_scale
from components.core.geography import BBox
from components.map_layers import LayerSettings
from components.probe_view import MAX_PINS
from components.state import MODES, ExplorerState
from data_adapters import SourceError
from data_adapters.catalogues import VS

log = logging.getLogger(__name__)

KEYS = (
    "dataset", "variable", "mode", "baseline", "scenario", "time", "depth", "bbox", "points",
    "region", "polygon", "threshold", "count_above", "exceed", "cmap", "clim", "log", "basemap",
    "arrows", "expr", "show", "ref", "climate",
)  # fmt: skip
#: Most polygon vertices read from a URL.
MAX_VERTICES = 100
#: How a URL writes a yes/no choice, and the spellings it reads.
_FLAGS = {"1": True, "0": False, "true": True, "false": False, "on": True, "off": False}
#: Most user expressions read from a URL.
MAX_EXPRESSIONS = 5
#: Longest query value read (characters); longer ones are refused unread.
MAX_VALUE_CHARS = 1000
#: ``dataset=`` values that name a catalogue hit (``stac:ROOT#COLLECTION/ITEM``,
#: ``cmems:ID``), opened only from the catalogues the server is configured to search.
FOUND_PREFIXES = ("stac:", "cmems:")
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


def numbers(text: str, count: int | None = None) -> list[float]:
    """The comma-separated numbers of a URL value: finite, not huge, ``count`` of them."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError as exc:
        raise UrlValueError("not a number") from exc
    if count is not None and len(values) != count:
        raise UrlValueError(f"expected {count} numbers separated by commas")
    if not all(math.isfinite(v) and abs(v) <= MAX_NUMBER for v in values):
        raise UrlValueError("numbers must be finite and not huge")
    return values


def choice(value: str, options: list, what: str) -> Any:
    """The option whose text is ``value``, or a refusal naming a few of the options."""
    if value not in [str(o) for o in options]:
        shown = ", ".join(str(o) for o in options[:8])
        raise UrlValueError(f"no {what} '{value}' here (choose from {shown})")
    return next(o for o in options if str(o) == value)


def _bbox(text: str) -> tuple[float, float, float, float]:
    """The view of ``bbox=W,S,E,N`` (:class:`components.core.geography.BBox`), continuous
    across the dateline (E past 180 degrees)."""
    numbers(text, 4)  # finite, not huge: the URL's own rules first
    try:
        box = BBox.parse(text)
    except ValueError as exc:
        raise UrlValueError(str(exc)) from exc
    return (box.west, box.south, box.east_unwrapped, box.north)


def _points(text: str) -> list[tuple[float, float]]:
    points = []
    for part in filter(None, text.split(";")):
        lon, lat = numbers(part, 2)
        if not (-90 <= lat <= 90 and -540 <= lon <= 540):
            raise UrlValueError(f"({lon:g}, {lat:g}) is not a longitude, latitude")
        points.append(((lon + 180.0) % 360.0 - 180.0, lat))
    if len(points) > MAX_PINS:
        raise UrlValueError(f"at most {MAX_PINS} points")
    return points


def _polygon(text: str) -> list[tuple[float, float]]:
    vertices = []
    for part in filter(None, text.split(";")):
        lon, lat = numbers(part, 2)
        if not (-90 <= lat <= 90 and -540 <= lon <= 540):
            raise UrlValueError(f"({lon:g}, {lat:g}) is not a longitude, latitude")
        vertices.append((lon, lat))  # not wrapped: a polygon across the dateline stays whole
    if not 3 <= len(vertices) <= MAX_VERTICES:
        raise UrlValueError(f"a polygon has 3 to {MAX_VERTICES} vertices lon,lat;lon,lat;...")
    return vertices


def _flag(text: str) -> bool:
    if text.lower() not in _FLAGS:
        raise UrlValueError("expected 1 or 0")
    return _FLAGS[text.lower()]


def apply_query(
    query: Mapping[str, str],
    state: ExplorerState,
    colors_for: Callable[[str], ColorSettings],
    layers: LayerSettings | None = None,
) -> list[str]:
    """Apply the URL's choices to a new session's ``state``; returns one notice per value
    ignored (what and why), the rest applied.

    ``colors_for(mode)`` gives the colour settings of what a mode shows (``cmap``, ``clim``,
    ``log``); ``layers`` the map's basemap and overlays (``basemap``, ``arrows``).
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
        base, vs, other = v.partition(VS)
        if v not in state.param.dataset_id.objects and (vs or v.startswith(FOUND_PREFIXES)):
            try:  # a catalogue hit: only from a configured catalogue (no request otherwise)
                state.compare_with(other, base) if vs else state.open_found(v)
            except SourceError as exc:
                raise UrlValueError(str(exc)) from exc
            chosen = v
        else:
            chosen = choice(v, state.param.dataset_id.objects, "dataset")
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
        (metres,) = numbers(v, 1)
        if metres < 0:
            raise UrlValueError("depth is in metres, positive down")
        state.depth = min(levels, key=lambda d: abs(d - metres))

    def scenario(v: str) -> None:
        names = [x for x in v.split(",") if x]
        runs = state.param.scenario.objects
        chosen = [choice(x, runs, "scenario") for x in names]
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
        low, high = numbers(v, 2)
        if low >= high:
            raise UrlValueError("expected LO,HI with LO < HI")
        colors_for(state.mode).param.update(mode="fixed", vmin=low, vmax=high)

    def expr(v: str) -> None:
        texts = [t.strip() for t in v.split(";") if t.strip()]
        if len(texts) > MAX_EXPRESSIONS:
            raise UrlValueError(f"at most {MAX_EXPRESSIONS} expressions")
        for text in texts:
            problem = state.expression_problem(text)
            if problem:  # the ones before it stay
                raise UrlValueError(f"'{text[:40]}': {problem}")
            state.expressions = [*state.expressions, text]

    def pick(key: str, target: Any, name: str, what: str) -> None:
        """``key`` sets ``target.name`` to one of its options."""
        attempt(key, lambda v: setattr(target, name, choice(v, target.param[name].objects, what)))

    def mode(v: str) -> None:
        chosen = choice(v, list(MODES), "mode")
        refusal = state.relative_refusal() if chosen == "relative" else None
        if refusal:  # still a comparison: the change itself
            state.mode = "difference"
            raise UrlValueError(f"{refusal} (showing the difference)")
        state.mode = chosen

    def threshold(v: str) -> None:
        (value,) = numbers(v, 1)
        if value < 0:
            raise UrlValueError("the threshold is a magnitude: 0 or more")
        state.threshold = value

    def count_above(v: str) -> None:
        (state.event_value,) = numbers(v, 1)

    attempt("dataset", dataset)
    if state.source is None:
        return notices  # nothing else can apply to a dataset that did not open
    attempt("expr", expr)
    pick("variable", state, "variable", "variable")
    attempt("mode", mode)
    pick("baseline", state, "baseline", "scenario")
    attempt("scenario", scenario)
    attempt("time", time)
    attempt("depth", depth)
    pick("show", state, "show", "show")
    attempt("ref", reference)
    pick("climate", state, "climate_baseline", "climatology")
    attempt("bbox", lambda v: setattr(state, "extent", _bbox(v)))
    attempt("points", lambda v: setattr(state, "points", _points(v)))
    attempt("region", lambda v: state.param.update(region=_bbox_wrapped(v), polygon=None))
    attempt("polygon", lambda v: state.param.update(polygon=_polygon(v), region=None))
    attempt("threshold", threshold)
    attempt("count_above", count_above)
    pick("exceed", state, "exceed", "exceedance (change or value)")
    pick("cmap", colors_for(state.mode), "cmap", "colormap")
    attempt("clim", clim)
    attempt("log", lambda v: setattr(colors_for(state.mode), "log_scale", _flag(v)))
    if layers is not None:
        pick("basemap", layers, "basemap", "basemap")
        attempt("arrows", lambda v: setattr(layers, "currents", _flag(v)))
    return notices


def _bbox_wrapped(text: str) -> tuple[float, float, float, float]:
    """A drawn box ``W,S,E,N`` as the state keeps it: longitudes in [-180, 180), W > E
    across the dateline."""
    west, south, east, north = _bbox(text)
    return (_wrap(west), south, _wrap(east), north)


def _wrap(lon: float) -> float:
    return (lon + 180.0) % 360.0 - 180.0 if lon != 180.0 else 180.0


def _number(value: float) -> str:
    text = f"{value:.{DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def query_of(
    state: ExplorerState, colors: ColorSettings, layers: LayerSettings | None = None
) -> dict[str, str]:
    """The state's visible choices as query values (see the module's docstring)."""
    if state.source is None:
        return {"dataset": str(state.dataset_id)} if state.dataset_id else {}
    query = {"dataset": str(state.dataset_id), "variable": str(state.variable)}
    if state.expressions:
        query["expr"] = ";".join(state.expressions)
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
    if state.region is not None:
        query["region"] = ",".join(_number(v) for v in state.region)
    elif state.polygon:
        query["polygon"] = ";".join(f"{_number(a)},{_number(b)}" for a, b in state.polygon)
    if state.comparing:
        if state.threshold:
            query["threshold"] = _number(state.threshold)
        if state.event_value is not None:
            query["count_above"] = _number(state.event_value)
            query["exceed"] = state.exceed
    if state.show != "value":
        query["show"] = state.show
        if state.reference:
            query["ref"] = state.reference
        if state.climate_baseline != "fixed":
            query["climate"] = state.climate_baseline
    query["cmap"] = colors.cmap
    if colors.mode == "fixed" and colors.vmin is not None and colors.vmax is not None:
        query["clim"] = f"{_number(colors.vmin)},{_number(colors.vmax)}"
    if colors.log_scale or default_log_scale(da):  # said whenever it is not plainly off
        query["log"] = "1" if colors.log_scale else "0"
    if layers is not None:
        if layers.basemap != layers.param.basemap.default:
            query["basemap"] = str(layers.basemap)
        if layers.currents:
            query["arrows"] = "1"
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
        layers: LayerSettings | None = None,
        **params: Any,
    ) -> None:
        super().__init__(**params)
        self.state = state
        self.colors_for = colors_for
        self.location = location
        self.layers = layers
        names = [
            "dataset_id", "variable", "time", "depth", "scenario", "baseline", "scenarios",
            "mode", "extent", "points", "expressions", "region", "polygon", "threshold",
            "event_value", "exceed", "show", "reference", "climate_baseline",
        ]  # fmt: skip
        state.param.watch(self.write, names)
        if layers is not None:
            layers.param.watch(self.write, ["basemap", "currents"])
        self._watched: set[int] = set()
        # the browser reports its own URL when the page connects: write ours after that
        if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
            pn.state.onload(self.write)
        else:
            self.write()

    def write(self, *_) -> None:
        colors = self.colors_for(self.state.mode)
        if id(colors) not in self._watched:
            colors.param.watch(self.write, ["cmap", "mode", "vmin", "vmax", "log_scale"])
            self._watched.add(id(colors))
        search = encode(query_of(self.state, colors, self.layers))
        if self.location is not None and self.location.search != search:
            self.location.search = search
