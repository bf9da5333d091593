"""What opening a source gives: its dataset, point-series layout, map pyramid and lost chunks.

:class:`OpenedSource` is the one object the catalog, the CLI and the views get for a dataset
or a scenario group. Everything a reader may use besides the dataset itself is an explicit
field of it: the geo-chunked copy for point series (``series``, opened on first use), the
map pyramid of a prepared store (``pyramid``: :class:`~data_adapters.pyramid.MapPyramid`)
and the record of chunks a remote Zarr server lost (``missing_chunks``). A dataset derived
from the source (a selection, a computed field) carries none of them.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import xarray as xr

from .alignment import align_runs
from .alignment import grid_difference as _grid_difference
from .base import Adapter
from .errors import SourceError
from .pyramid import MapPyramid

if TYPE_CHECKING:
    from .http_store import MissingChunks

log = logging.getLogger(__name__)


@dataclass
class OpenedSource:
    """What ``Catalog.open`` returns: the dataset plus how to name and credit it.

    ``dataset`` serves maps. A source that also keeps its data geo-chunked (a store written
    by ``ocean-explorer prepare``, Copernicus Marine's ``arco-time-series``) has that copy
    as ``series``; point series, profiles and sections read :meth:`for_series`, which picks
    it when there is one. ``series`` may be opened lazily: ``series_opener`` is called on the
    first :meth:`for_series` (opening it may cost a request to a remote service). When that
    open fails (a remote fault), the failure is not kept: point reads use ``dataset``
    meanwhile, and the opener is tried again after :data:`SERIES_RETRY_S` seconds.

    A prepared store's maps come with coarser copies for zoomed-out views: ``pyramid``
    (empty for other sources). A remote Zarr store records the chunks its server answered
    404 for in ``missing_chunks``, so a view can say that part of what it shows is no data.
    """

    id: str
    title: str
    dataset: xr.Dataset
    description: str = ""
    attribution: str = ""
    license: str = ""
    #: The same data laid out for point series (geo-chunked), or None.
    series: xr.Dataset | None = None
    #: Opens ``series`` on first use (returns None when there is no such layout).
    series_opener: Callable[[], xr.Dataset | None] | None = field(
        default=None, repr=False, compare=False
    )
    _series_lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )
    #: Coarser copies of ``dataset``'s maps (a prepared store's), opened on first use.
    pyramid: MapPyramid = field(default_factory=MapPyramid, repr=False, compare=False)
    #: Chunks of ``dataset`` its remote Zarr server answered 404 for (read as no data), or
    #: None for sources that cannot lose chunks.
    missing_chunks: MissingChunks | None = field(default=None, repr=False, compare=False)
    #: When opening ``series`` last failed (time.monotonic()), or None.
    _series_failed_at: float | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def from_adapter(
        cls, adapter: Adapter, id: str, title: str | None = None, **described: str
    ) -> OpenedSource:
        """Open ``adapter``'s source with everything it offers besides the dataset.

        ``title`` defaults to the dataset's ``title`` attribute, else ``id``; ``described``
        are the other descriptive fields (description, attribution, license).
        """
        ds = adapter.open()
        return cls(
            id,
            title if title is not None else str(ds.attrs.get("title") or id),
            ds,
            **described,
            series_opener=functools.partial(open_series_layout, adapter),
            pyramid=adapter.map_pyramid(),
            missing_chunks=adapter.missing_chunks(),
        )

    def series_layout(self) -> xr.Dataset | None:
        """``series``, opened on the first call when it is opened lazily; None when the
        source has no point-series layout, or one that does not match ``dataset``, or while
        it cannot be opened (tried again later)."""
        try:
            return self._series_or_raise()
        except _SERIES_OPEN_ERRORS as exc:
            log.warning(
                "%s: the point-series layout cannot be opened now (%s); point reads use the "
                "maps layout, and it is tried again in %g s",
                self.id,
                exc,
                SERIES_RETRY_S,
            )
            return None

    def _series_or_raise(self) -> xr.Dataset | None:
        """:meth:`series_layout`, raising when opening the layout failed; the opener is then
        kept, to be tried again once :data:`SERIES_RETRY_S` have passed (a failed open is
        never taken for "no such layout")."""
        if self.series_opener is None:
            return self.series
        with self._series_lock:  # one opening, however many views ask at once
            if self.series_opener is not None:
                failed = self._series_failed_at
                if failed is not None and time.monotonic() - failed < SERIES_RETRY_S:
                    return None  # failed a moment ago: not every point read pays for it
                try:
                    series = self.series if self.series is not None else self.series_opener()
                except _SERIES_OPEN_ERRORS:
                    self._series_failed_at = time.monotonic()
                    raise
                problem = _series_mismatch(self.dataset, series) if series is not None else None
                if problem:
                    log.warning("%s: the point-series layout is not used (%s)", self.id, problem)
                    series = None
                self.series, self.series_opener = series, None
        return self.series

    def for_series(self) -> xr.Dataset:
        """The dataset to read point series, profiles and sections from: ``series`` when the
        source has it, else ``dataset`` (same variables and grid, so a cell picked on one is
        the same cell on the other)."""
        series = self.series_layout()
        return series if series is not None else self.dataset


#: Seconds before a point-series layout that failed to open is tried again.
SERIES_RETRY_S = 30.0
#: What opening a point-series layout may raise (a remote fault, a damaged store).
_SERIES_OPEN_ERRORS = (SourceError, OSError, ValueError, KeyError, TypeError, RuntimeError)


def open_series_layout(adapter: Adapter) -> xr.Dataset | None:
    """``adapter.open_series()``, but raising when the layout exists and cannot be opened
    (``Adapter.open_series`` logs that and returns None, which would read as "no layout")."""
    raw = adapter._open_series()
    return None if raw is None else adapter._normalised(raw)


def _series_mismatch(dataset: xr.Dataset, series: xr.Dataset) -> str | None:
    """Why ``series`` cannot stand in for ``dataset`` in point reads, or None when it can.

    Cells are picked on ``dataset`` by position, so the grid and every dimension must match.
    """
    missing = [str(v) for v in dataset.data_vars if v not in series.data_vars]
    if missing:
        return f"it lacks '{missing[0]}'"
    for name, size in dataset.sizes.items():
        if series.sizes.get(name) != size:
            return f"its '{name}' has {series.sizes.get(name, 0)} steps, not {size}"
    coord = _grid_difference(dataset, series)
    return f"its {coord} differs" if coord else None


def series_of_runs(source: OpenedSource, names: list[str], label: str) -> xr.Dataset | None:
    """The runs ``names`` of a scenario group, in that order, from the point-series layout
    of the one ``source`` that holds them; None (logged) when it has none or not them."""
    series = source._series_or_raise()  # a failed open fails the group's open too
    if series is None:
        return None
    labels = [str(s) for s in series["scenario"].values] if "scenario" in series.dims else []
    if any(n not in labels for n in names):
        log.warning("%s: the point-series layout lacks runs of the group; not used", label)
        return None
    return with_scenario_dim(series if names == labels else series.sel(scenario=names))


def joined_series(runs: dict[str, OpenedSource], label: str) -> xr.Dataset | None:
    """The point-series layouts of runs stored apart, joined as their datasets are; None
    unless every run has one (logged when they cannot be joined)."""
    layouts = {name: source._series_or_raise() for name, source in runs.items()}
    if any(series is None for series in layouts.values()):
        return None
    try:
        return join_scenarios(layouts, label=label)  # type: ignore[arg-type]
    except SourceError as exc:
        log.warning("%s: the point-series layouts cannot be joined (%s)", label, exc)
        return None


def with_scenario_dim(ds: xr.Dataset) -> xr.Dataset:
    """Give every variable the ``scenario`` dimension, as runs joined from separate sources
    have it: a field that one file stores once for all runs is the same in each."""
    same = {
        name: da.expand_dims(scenario=ds["scenario"].values).transpose("scenario", ...)
        for name, da in ds.data_vars.items()
        if "scenario" not in da.dims
    }
    return ds.assign(same) if same else ds


def join_scenarios(runs: dict[str, xr.Dataset], label: str) -> xr.Dataset:
    """Stack runs stored apart along a new ``scenario`` dimension (first = baseline).

    A run on another regular grid that covers the baseline's cells is regridded onto it
    (bilinear, noted in ``attrs["regridded_scenarios"]``); see
    :func:`data_adapters.alignment.align_runs`, which does the checks.

    Raises
    ------
    SourceError
        When a run already has scenarios, units or calendars differ, the time axes do not
        overlap, or a run's grid cannot be put on the baseline's.
    """
    return align_runs(runs, label)
