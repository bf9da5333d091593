"""The Copernicus Marine catalogue, searchable: ``copernicusmarine.describe()`` cached on disk.

``describe()`` walks the whole catalogue (products -> datasets -> versions -> parts ->
services -> variables): thousands of requests, about a minute. Its answer, reduced to one
:class:`~data_adapters.search.Hit` per dataset (``cmems:DATASET_ID`` sources, opened by the
``cmems`` adapter with ``arco-geo-series`` for maps and ``arco-time-series`` for series), is
kept in ``<cache>/catalogues/copernicus-marine.json`` and reused for ``ttl`` seconds
(default :data:`DEFAULT_TTL_S`, or ``$OCEAN_EXPLORER_CMEMS_TTL`` seconds); after that the
next search walks the catalogue again.

A walk runs in one background thread per process: a caller waits at most ``timeout``
seconds for it, and when that is not enough the walk goes on and fills the cache for the
next search (the message says so). The toolbox reads ``COPERNICUSMARINE_CONFIG_URL`` (where
its catalogue is described) when it is first imported.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
from typing import Any

from .cache import atomic_write_bytes, cache_dir
from .errors import SourceError, short_reason
from .search import Hit, Query, check_query, matches, overlaps_box, overlaps_time
from .transport import timeout_or_default

#: Seconds a walk of the catalogue is reused (a day: the catalogue changes a few times a week).
DEFAULT_TTL_S = 24 * 3600.0
#: Environment variable overriding :data:`DEFAULT_TTL_S` (seconds).
TTL_ENV = "OCEAN_EXPLORER_CMEMS_TTL"
CACHE_NAME = "copernicus-marine.json"
#: Every Copernicus Marine product is under this licence (the service's own terms).
LICENCE = "Copernicus Marine Service licence"
CATALOGUE = "cmems"


def ttl_seconds(ttl: float | None = None) -> float:
    """``ttl``, else ``$OCEAN_EXPLORER_CMEMS_TTL``, else :data:`DEFAULT_TTL_S` (seconds)."""
    if ttl is not None:
        return float(ttl)
    return float(os.environ.get(TTL_ENV) or DEFAULT_TTL_S)


def _iso(value: Any) -> str | None:
    """A describe() time bound (milliseconds since 1970, or ISO text) as ISO text."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def hits_of(catalogue: Any) -> list[Hit]:
    """One hit per dataset of a ``CopernicusMarineCatalogue`` (its default version and
    part; variables and extents from its ARCO services)."""
    hits = []
    for product in catalogue.products:
        for dataset in product.datasets:
            if not dataset.versions or not dataset.versions[0].parts:
                continue
            part = dataset.versions[0].parts[0]
            services = {s.service_name: s for s in part.services}
            service = services.get("arco-geo-series") or next(iter(services.values()), None)
            if service is None:
                continue
            variables = [
                {"name": v.short_name, "standard_name": v.standard_name or ""}
                for v in service.variables
            ]
            bbox, time_range = None, None
            for v in service.variables:
                bbox = bbox or (list(v.bbox) if v.bbox else None)
                for c in v.coordinates:
                    if c.coordinate_id == "time" and time_range is None:
                        time_range = [_iso(c.minimum_value), _iso(c.maximum_value)]
            hits.append(
                Hit(
                    id=dataset.dataset_id,
                    title=dataset.dataset_name or product.title,
                    source=f"cmems:{dataset.dataset_id}",
                    bbox=bbox,
                    time_range=time_range,
                    variables=variables,
                    provider=product.production_center or "Copernicus Marine Service",
                    license=LICENCE,
                    collection=product.product_id,
                    catalogue=CATALOGUE,
                    description=(product.description or "")[:500],
                    keywords=[*(product.keywords or []), product.title, *sorted(services)],
                )
            )
    return hits


def _describe() -> Any:
    """The toolbox's catalogue (the real call; importing the toolbox makes no request)."""
    os.environ.setdefault("COPERNICUSMARINE_HTTPS_RETRIES", "0")  # fail fast when offline
    try:
        import copernicusmarine
    except ImportError as exc:
        raise SourceError(
            "searching Copernicus Marine needs the optional extra: "
            "pip install 'ocean-explorer[cmems]'"
        ) from exc
    return copernicusmarine.describe(disable_progress_bar=True)


class CatalogueCache:
    """The reduced catalogue on disk, fetched again after ``ttl`` seconds; one walk at a
    time per process."""

    def __init__(self, path: Any = None, describe: Any = _describe) -> None:
        self.path = path
        self.describe = describe
        self._lock = threading.Lock()
        self._walk: threading.Thread | None = None
        self._walked = threading.Event()
        self._error: BaseException | None = None

    def _file(self) -> Any:
        return self.path if self.path is not None else cache_dir("catalogues") / CACHE_NAME

    def cached(self, ttl: float) -> list[Hit] | None:
        """The cached hits when younger than ``ttl`` seconds, else None."""
        try:
            doc = json.loads(self._file().read_text(encoding="utf-8"))
            if time.time() - float(doc["fetched"]) > ttl:
                return None
            return [Hit(**h) for h in doc["hits"]]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _run(self) -> None:
        try:
            hits = hits_of(self.describe())
            doc = {"fetched": time.time(), "hits": [h.as_dict() for h in hits]}
            atomic_write_bytes(self._file(), json.dumps(doc).encode())
            self._error = None
        except BaseException as exc:  # kept for the waiting caller, in its thread
            self._error = exc
        finally:
            self._walked.set()

    def hits(self, ttl: float | None = None, timeout: float | None = None) -> list[Hit]:
        """Every dataset of the catalogue: from the cache within ``ttl``, else walked anew.

        Raises
        ------
        SourceError
            When the catalogue cannot be read, or the walk takes longer than ``timeout``
            seconds (it then goes on, and fills the cache for the next search).
        """
        ttl = ttl_seconds(ttl)
        found = self.cached(ttl)
        if found is not None:
            return found
        with self._lock:
            if self._walk is None or not self._walk.is_alive():
                self._walked.clear()
                self._walk = threading.Thread(target=self._run, name="cmems-describe", daemon=True)
                self._walk.start()
            walked = self._walked
        seconds = max(timeout_or_default(timeout), 1.0)
        if not walked.wait(seconds):
            raise SourceError(
                f"Copernicus Marine catalogue: still being read after {seconds:g} s (a full "
                "walk takes about a minute); search again shortly"
            )
        if self._error is not None:
            raise SourceError(
                f"Copernicus Marine catalogue: cannot be read ({short_reason(self._error)}); "
                "check the network"
            ) from self._error
        found = self.cached(float("inf"))
        if found is None:
            raise SourceError("Copernicus Marine catalogue: the cache could not be written")
        return found


#: The process's cache of the catalogue.
CACHE = CatalogueCache()


def search_cmems(
    query: Query,
    ttl: float | None = None,
    timeout: float | None = None,
    cache: CatalogueCache | None = None,
) -> list[Hit]:
    """Datasets of the Copernicus Marine catalogue matching ``query`` (text, box, time)."""
    check_query(query)
    words = query.words()
    hits = []
    for hit in (cache or CACHE).hits(ttl, timeout):
        if query.collections and hit.collection not in query.collections:
            continue
        if (
            overlaps_box(hit.bbox, query.bbox)
            and overlaps_time(hit.time_range, query.start, query.end)
            and matches(words, hit.text())
        ):
            hits.append(hit)
            if len(hits) >= query.limit:
                break
    return hits
