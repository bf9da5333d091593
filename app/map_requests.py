"""Maps asked by URL (tiles, WMS, light embeds): the query checked, the field, colours and ETag.

One request names a catalog dataset and variable, and by query the same choices a page's URL
holds (:mod:`app.urlstate`, the same rules): ``time`` (ISO, the nearest step), ``depth``
(metres, the nearest level), ``scenario``, ``cmap``, ``clim=LO,HI``, ``log=true``, and
``mode=difference|relative`` with ``baseline`` (the change from the baseline to ``scenario``),
and ``show=anomaly|mhw-intensity|mhw-category|dhw`` with ``ref=START/END`` and
``climate=fixed|shifted`` (the day's map against the climatology, as the dashboard shows it).
Everything here is cheap (no data is read) except :meth:`MapService.render`, so an ETag is
known, and a ``304 Not Modified`` answered, before any pixel is computed.
"""

from __future__ import annotations

import glob
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from components.core import comparison, derived, fields, shown_maps, timeaxis
from components.core.colours import (
    CATEGORY_RANGE,
    CMAP_BY_SHOW,
    CMAP_NAMES,
    LOG_BY_STANDARD_NAME,
    default_cmap,
    is_diverging,
    robust_range,
)
from components.core.frames import (
    FieldPyramid,
    Frame,
    FrameCache,
    cell_degrees,
    full_extent,
    pyramid_for,
    render_field,
)
from components.core.geography import LONLAT, Viewport
from components.core.png import ColourScale, bare_png
from components.core.processing import BASELINES, SHOWS, Processing
from components.core.recent import Recent
from components.core.tiles import etag, max_zoom
from data_adapters import Catalog, OpenedSource, SourceError

from .urlstate import MAX_VALUE_CHARS, UrlValueError, choice, numbers

#: Query keys a map request reads; others are ignored (links carry others).
QUERY_KEYS = (
    "time", "depth", "scenario", "baseline", "mode", "cmap", "clim", "log", "show", "ref",
    "climate",
)  # fmt: skip
#: Shown maps (anomalies, heatwaves) kept computed, for the other tiles of the same step.
SHOWN_MAPS = 16
#: Comparison modes of the URL (as ``mode=`` on pages) and the core's name of each change.
CHANGE_MODES = {"difference": "diff", "relative": "pct"}
#: Size (px) of the whole-extent frame an automatic colour range is taken from.
OVERVIEW_SIZE = (512, 256)
#: Seconds a source's version (file times and sizes) is trusted before it is looked at again.
VERSION_TTL_S = 2.0
#: Memory for encoded PNGs kept by ETag (bytes): about 2000 tiles of 32 kB.
PNG_CACHE_BYTES = 64 * 10**6
#: Width (degrees) of the box a point's value is read in: inside one cell of any grid.
VALUE_BOX_DEGREES = 1e-4
#: PNG compression of tiles and maps: the fast end (see ``components.core.png.bare_png``).
PNG_COMPRESSION = 1
#: Lazy fields (a step's selection and its pyramid levels) kept by request: every tile of a
#: step selects the same slice of each level, once.
FIELDS = 64
#: Time texts of URLs kept with the step each names; automatic colour scales kept.
STEPS, CLIMS = 4096, 1024


class NotFoundError(LookupError):
    """A dataset or variable that the catalog does not have (HTTP 404)."""


@dataclass(frozen=True)
class MapRequest:
    """What a map shows, checked: every part that changes its pixels, resolved."""

    dataset: str
    variable: str
    #: The time step's index and ISO label (None: the variable has no time axis).
    step: int | None
    time: str | None
    #: True when the step is the axis' last (a forecast's newest step may still change).
    latest: bool
    depth: float | None
    scenario: str | None
    #: "map", "difference" or "relative".
    mode: str
    baseline: str | None
    cmap: str
    #: The fixed colour range, or None for the automatic one (the whole field's).
    clim: tuple[float, float] | None
    log: bool
    #: The source's version (file times and sizes; see :func:`source_version`).
    version: str
    #: What is shown of the value, and against which climate
    #: (:class:`components.core.processing.Processing`).
    processing: Processing = field(default_factory=Processing)

    def key(self) -> tuple:
        """What the pixels depend on, apart from the view: for the frame cache and ETags."""
        p = self.processing
        shown = () if not p.needs_climate else (p.show, p.reference, p.baseline)
        return (
            "url-map", self.version, self.dataset, self.variable, self.step, self.depth,
            self.scenario, self.mode, self.baseline, *shown,
        )  # fmt: skip

    def etag(self, *view: object) -> str:
        """The strong ETag of this map in ``view`` (tile z/x/y, or a WMS box and size)."""
        return etag((*self.key(), self.cmap, self.clim, self.log, *view))


def source_version(catalog: Catalog, dataset_id: str) -> str:
    """A text that changes when the data behind ``dataset_id`` change: the modification
    time and size of its files (every file of a glob; a directory's own entries, such as a
    Zarr store's metadata), with its adapter's parameters. A remote source (a URL) is
    versioned by the process: a restarted server revalidates."""
    entries = []
    ids = [dataset_id]
    group = catalog.groups.get(dataset_id)
    if group is not None:
        ids = [group.dataset] if group.dataset else list(
            {group.baseline, *(group.scenarios.values() if isinstance(group.scenarios, dict)
                               else [])}
        )  # fmt: skip
    for source in ids:
        entry = catalog.datasets.get(source)
        if entry is None:
            continue
        entries.append(f"{entry.adapter}:{sorted(entry.params.items())}")
        for name, value in sorted(entry.params.items()):
            if isinstance(value, str) and name == "path":
                entries.extend(_file_stamps(value))
    entries.append(str(_STARTED if any("://" in e for e in entries) else ""))
    return etag(entries).strip('"')


_STARTED = time.time()


def _file_stamps(pattern: str) -> list[str]:
    """``path:mtime:size`` of every file a path or glob names (directories: their entries)."""
    stamps = []
    for path in sorted(glob.glob(pattern))[:10000]:
        paths = [path]
        if os.path.isdir(path):
            paths += [os.path.join(path, n) for n in sorted(os.listdir(path))[:1000]]
        for p in paths:
            try:
                st = os.stat(p)
            except OSError:
                continue
            stamps.append(f"{p}:{st.st_mtime_ns}:{st.st_size}")
    return stamps


class MapService:
    """Maps of the catalog's datasets by URL: checks queries, renders through the server's
    frame cache (``frames``) and keeps the encoded PNGs of the latest requests by ETag."""

    def __init__(self, catalog: Catalog, frames: FrameCache | None = None) -> None:
        self.catalog = catalog
        self.frames = frames or FrameCache()
        self._versions: dict[str, tuple[float, str]] = {}
        self._steps = Recent(STEPS)  # (dataset, variable, time text): step index
        self._pngs = Recent(size=PNG_CACHE_BYTES, weigh=len)  # by ETag
        self._clims = Recent(CLIMS)  # automatic colour scales by field
        self._grids: dict[tuple, tuple[int, tuple[float, float, float, float]]] = {}
        self._fields = Recent(FIELDS)  # lazy fields (and pyramids) by field
        self._shown_maps = Recent(SHOWN_MAPS)  # computed maps of a show by field
        self._shown_locks: dict[tuple, threading.Lock] = {}
        self._derived: dict[str, tuple[OpenedSource, OpenedSource]] = {}
        self._lock = threading.Lock()

    # -- checking ---------------------------------------------------------------------------
    def opened(self, dataset: str) -> OpenedSource:
        """The catalog's source ``dataset`` with the derived variables (current speed, σθ,
        mixed-layer depth...) that the dashboard offers beside its own: tiles and WMS serve
        every variable a page can show (a session's own expressions and uploads excepted)."""
        source = self.catalog.open(dataset)  # the catalog keeps it (and opens it again anew)
        with self._lock:
            known = self._derived.get(dataset)
        if known is None or known[0] is not source:
            known = (source, derived.opened_with(source))
            with self._lock:
                self._derived[dataset] = known
        return known[1]

    def open(self, dataset: str, variable: str) -> tuple[OpenedSource, xr.DataArray]:
        """The opened source and its lazy variable; :class:`NotFoundError` for unknown names."""
        if dataset not in self.catalog:
            raise NotFoundError(f"no dataset '{dataset[:80]}' in this server's catalog")
        try:
            opened = self.opened(dataset)
        except SourceError as exc:
            raise NotFoundError(f"dataset '{dataset}' cannot be opened: {exc}") from exc
        if variable not in opened.dataset.data_vars:
            names = ", ".join(str(v) for v in opened.dataset.data_vars)
            raise NotFoundError(
                f"dataset '{dataset}' has no variable '{variable[:80]}' (it has {names})"
            )
        return opened, opened.dataset[variable]

    def version(self, dataset: str) -> str:
        """:func:`source_version`, looked at again at most every :data:`VERSION_TTL_S`."""
        now = time.monotonic()
        with self._lock:
            known = self._versions.get(dataset)
        if known is not None and now - known[0] < VERSION_TTL_S:
            return known[1]
        version = source_version(self.catalog, dataset)
        with self._lock:
            self._versions[dataset] = (now, version)
        return version

    def request(self, dataset: str, variable: str, query: Mapping[str, str]) -> MapRequest:
        """The checked request; :class:`NotFoundError` or :class:`UrlValueError` (one line)."""
        opened, da = self.open(dataset, variable)
        for key, value in query.items():
            if len(value) > MAX_VALUE_CHARS:
                raise UrlValueError(f"{key}: longer than {MAX_VALUE_CHARS} characters")
        q = {k: query[k].strip() for k in QUERY_KEYS if query.get(k, "").strip()}
        runs = fields.scenario_labels(opened.dataset)
        mode = _checked(q, "mode", lambda v: choice(v, ["map", *CHANGE_MODES], "mode"), "map")
        scenario = _checked(q, "scenario", lambda v: choice(v, runs, "scenario"), runs[0])
        baseline = None
        if mode != "map":
            baseline = _checked(q, "baseline", lambda v: choice(v, runs, "scenario"), runs[0])
            if scenario == baseline:
                others = [r for r in runs if r != baseline]
                raise UrlValueError(
                    "scenario: choose a what-if run to compare with the baseline"
                    + (f" ({', '.join(others)})" if others else " (this dataset has one run)")
                )
        step, label, latest = self._step(dataset, da, q.get("time"))
        shown = _processing(q, mode, da)
        depth = _checked(q, "depth", lambda v: _depth(v, da), None)
        change = CHANGE_MODES.get(mode)
        default = comparison.CHANGE_CMAPS[change] if change else default_cmap(da)
        default = CMAP_BY_SHOW.get(shown.show, default)
        cmap = _checked(q, "cmap", lambda v: choice(v, CMAP_NAMES, "colormap"), default)
        clim = _checked(q, "clim", _clim, None)
        std = str(da.attrs.get("standard_name", "")).lower()
        log_default = change is None and any(key in std for key in LOG_BY_STANDARD_NAME)
        log = _checked(q, "log", _boolean, log_default)
        if log and clim is not None and clim[0] <= 0:
            raise UrlValueError("clim: a log scale needs a positive range (LO > 0)")
        return MapRequest(
            dataset, variable, step, label, latest, depth, scenario, mode, baseline, cmap,
            clim, bool(log and change is None and not shown.needs_climate),
            self.version(dataset), shown,
        )  # fmt: skip

    def _step(self, dataset: str, da: xr.DataArray, text: str | None):
        """(index, ISO label, is the last) of the step nearest ``text`` (None: the first)."""
        if "time" not in da.dims:
            if text is not None:
                raise UrlValueError("time: this variable has no time axis; leave time out")
            return None, None, False
        times = da["time"].values
        if text is None:
            step = 0
        else:
            key = (dataset, str(da.name), text)
            step = self._steps.get(key)
            if step is None:
                try:
                    step = timeaxis.nearest_step(times, text)
                except SourceError as exc:
                    raise UrlValueError(str(exc)) from exc
                self._steps.put(key, step)
        return step, timeaxis.time_label(times[step]), step == len(times) - 1

    def max_zoom(self, dataset: str, variable: str) -> int:
        """The finest tile zoom served for the variable (its cells' zoom plus overzoom)."""
        return self._grid(dataset, variable)[0]

    def extent(self, dataset: str, variable: str) -> tuple[float, float, float, float]:
        """(W, S, E, N) in degrees of the variable's cells (E past 180 across the dateline)."""
        return self._grid(dataset, variable)[1]

    def _grid(self, dataset: str, variable: str) -> tuple[int, tuple[float, float, float, float]]:
        """The zoom limit and extent of a variable's grid, computed once per source version
        (every tile request checks its zoom: this keeps a 304 free of grid arithmetic)."""
        key = (dataset, variable, self.version(dataset))
        with self._lock:
            known = self._grids.get(key)
        if known is None:
            _, da = self.open(dataset, variable)
            flat = da.isel({d: 0 for d in da.dims if d not in _HORIZONTAL})
            known = (max_zoom(cell_degrees(flat)), full_extent(flat))
            with self._lock:
                self._grids[key] = known
        return known

    # -- rendering --------------------------------------------------------------------------
    def field(self, req: MapRequest) -> xr.DataArray | FieldPyramid:
        """The lazy 2-D field of ``req``, with its pyramid levels (one run) or as the change
        from the baseline (comparison modes, as the dashboard's difference maps); selected
        once for all the tiles of a step (:data:`FIELDS` kept)."""
        key = req.key()
        known = self._fields.get(key)
        if known is None:
            known = self._select(req)
            self._fields.put(key, known)
        return known

    def _select(self, req: MapRequest) -> xr.DataArray | FieldPyramid:
        opened = self.opened(req.dataset)
        ds = opened.dataset

        def run(name: str | None, members: bool = False) -> xr.DataArray:
            da = ds[req.variable]
            return fields.select(
                da, req.depth, name if "scenario" in da.dims else None, members=members,
                strict_depth=False, time_index=req.step,
            )  # fmt: skip

        if req.processing.needs_climate:
            return self._shown(req, ds[req.variable])
        if req.mode == "map":
            return pyramid_for(run(req.scenario), opened.pyramid)
        delta = comparison.change(
            run(req.baseline, True), run(req.scenario, True), CHANGE_MODES[req.mode]
        )
        return delta.reset_coords(drop=True)

    def _shown(self, req: MapRequest, da: xr.DataArray) -> xr.DataArray:
        """The day's map of ``req`` as its ``show`` asks (computed once for all its tiles)."""
        key = req.key()
        with self._lock:
            lock = self._shown_locks.setdefault(key, threading.Lock())
        with lock:  # the other tiles of a new step wait for the one computing it
            known = self._shown_maps.get(key)
            if known is None:
                try:
                    series, base, climate_key = shown_maps.climate_inputs(
                        da, req.dataset, req.depth, req.scenario, req.processing.baseline
                    )
                    known = shown_maps.shown_map(
                        series, base, req.step, req.processing, climate_key
                    )
                finally:
                    # refused or failed: its lock is not kept either; nor those of maps dropped
                    dropped = [key] if known is None else self._shown_maps.put(key, known)
                    with self._lock:
                        for old in dropped:
                            self._shown_locks.pop(old, None)
        return known

    def frame(self, req: MapRequest, viewport: Viewport) -> Frame:
        """The frame of ``req`` in ``viewport`` (from the server's frame cache)."""
        try:
            return self.frames.get(req.key(), lambda: self.field(req), viewport)
        except SourceError as exc:
            raise UrlValueError(str(exc)) from exc

    def scale(self, req: MapRequest) -> ColourScale:
        """The colours of ``req``: its colormap and its range, or the automatic range of the
        whole field at this step (the same for every tile, so tiles join without seams)."""
        if req.clim is not None:
            return ColourScale(req.cmap, req.clim, req.log)
        key = (req.key(), req.cmap, req.log)
        known = self._clims.get(key)
        if known is None:
            known = ColourScale(req.cmap, self._auto_range(req), req.log)
            self._clims.put(key, known)
        return known

    def _auto_range(self, req: MapRequest) -> tuple[float, float]:
        if req.processing.show == "mhw-category":
            return CATEGORY_RANGE  # the categories' own colours, whatever the day
        values = self.field_sample(req).values
        if req.mode != "map":
            clim = comparison.change_range(values)
        else:
            if req.log:
                values = values[np.isfinite(values) & (values > 0)]
            clim = robust_range(values, symmetric=is_diverging(req.cmap.split("_")[0]))
            if req.log and clim[0] <= 0:
                clim = (clim[1] / 1000 if clim[1] > 0 else 1e-3, max(clim[1], 1e-3))
        return clim

    def field_sample(self, req: MapRequest) -> Frame:
        """The field over its whole extent at :data:`OVERVIEW_SIZE` (automatic ranges)."""
        x0, y0, x1, y1 = self.extent(req.dataset, req.variable)
        return self.frame(req, Viewport((x0, x1), (y0, y1), *OVERVIEW_SIZE, LONLAT))

    def render(
        self,
        req: MapRequest,
        viewport: Viewport,
        tag: str,
        background: tuple[int, int, int] | None = None,
    ) -> bytes:
        """The PNG of ``req`` in ``viewport`` (kept by its ETag ``tag``); ``background``
        (RGB) fills no data and land (default: transparent)."""
        png = self.cached_png(tag)
        if png is not None:
            return png
        frame = self.frame(req, viewport)
        png = bare_png(frame, self.scale(req), PNG_COMPRESSION, background)
        self._pngs.put(tag, png)
        return png

    def value(self, req: MapRequest, lon: float, lat: float) -> dict:
        """The value of ``req``'s map in the cell at (``lon``, ``lat``), as its tiles draw
        it (the finest level; None on land, no data, or outside the grid), with its name
        and units: what the dashboard's hover over tiles shows."""
        half = VALUE_BOX_DEGREES / 2
        viewport = Viewport((lon - half, lon + half), (lat - half, lat + half), 1, 1, LONLAT)
        try:
            field = self.field(req)
            frame = render_field(field, viewport)
        except SourceError as exc:
            raise UrlValueError(str(exc)) from exc
        value = float(frame.values[0, 0])
        attrs = (field.full if isinstance(field, FieldPyramid) else field).attrs
        return {
            "value": value if np.isfinite(value) else None,
            "name": str(attrs.get("long_name") or req.variable),
            "units": str(attrs.get("units") or ""),
            "lon": lon,
            "lat": lat,
            "time": req.time,
        }

    def cached_png(self, tag: str) -> bytes | None:
        """The PNG already encoded for ETag ``tag``, or None."""
        return self._pngs.get(tag)


_HORIZONTAL = ("lat", "lon", "y", "x")


def _checked(query: Mapping[str, str], key: str, parse, default):
    """``parse(query[key])`` or ``default`` when absent; a refusal names the key."""
    if key not in query:
        return default
    try:
        return parse(query[key])
    except (UrlValueError, ValueError) as exc:
        shown = query[key] if len(query[key]) <= 40 else query[key][:37] + "..."
        raise UrlValueError(f"{key}='{shown}': {exc}") from exc


def _processing(query: Mapping[str, str], mode: str, da: xr.DataArray) -> Processing:
    """``show``, ``ref`` and ``climate`` of a map request, checked as a page's URL is."""
    show = _checked(query, "show", lambda v: choice(v, list(SHOWS), "show"), "value")
    if show == "value":
        return Processing()
    if mode != "map":
        raise UrlValueError(f"show: a {mode} map shows the change of values; leave show out")
    if "time" not in da.dims:
        raise UrlValueError(f"show: '{da.name}' has no time axis to show {show} of")
    climate = _checked(query, "climate", lambda v: choice(v, list(BASELINES), "climate"), None)
    try:
        return Processing.parse(show, query.get("ref"), climate)
    except SourceError as exc:
        raise UrlValueError(f"ref: {exc}") from exc


def _depth(text: str, da: xr.DataArray) -> float | None:
    (metres,) = numbers(text, 1)
    if metres < 0:
        raise UrlValueError("depth is in metres, positive down")
    if "depth" not in da.dims:
        return None  # a surface variable: the depth of the page stays chosen, as on the map
    levels = np.asarray(da["depth"].values, dtype=float)
    if levels.ndim == 1 and not _true_depths(da):
        return float(levels[int(np.argmin(np.abs(levels - metres)))])  # one key per level
    return metres


def _true_depths(da: xr.DataArray) -> bool:
    from data_adapters import vertical

    return vertical.has_true_depths(da)


def _clim(text: str) -> tuple[float, float]:
    low, high = numbers(text, 2)
    if low >= high:
        raise UrlValueError("expected LO,HI with LO < HI")
    return (low, high)


def _boolean(text: str) -> bool:
    value = text.lower()
    if value not in ("true", "false", "1", "0", "yes", "no"):
        raise UrlValueError("expected true or false")
    return value in ("true", "1", "yes")
