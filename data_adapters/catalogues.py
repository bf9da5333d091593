"""Which catalogues a server searches and opens from: the catalog YAML's ``catalogues`` key.

Format (README "Finding data")::

    catalogues:
      stac:                                  # STAC API roots or static catalog.json files
        - url: https://api.dive.edito.eu/data/
          title: EDITO data lake
      cmems: true                            # search the Copernicus Marine catalogue

Without the key, EDITO's data lake and Copernicus Marine are searched (:data:`DEFAULT`);
``catalogues: {stac: [], cmems: false}`` turns searching off.

The list is also the server's allow-list: a ``stac:`` or ``cmems:`` source named in a link
(``?dataset=stac:...``) is opened only when it lies under a configured catalogue
(:meth:`CatalogueSettings.allows`), so a URL in a query never makes the server fetch an
arbitrary address. :func:`search_catalogues` searches every configured catalogue at once,
each failure a one-line notice beside the others' hits.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import SourceError, check_known_keys
from .opened import OpenedSource, join_scenarios
from .registry import adapter_for_uri
from .stac_sources import STAC_PREFIX, parse_source
from .transport import is_url, redact, timeout_or_default

if TYPE_CHECKING:
    from .search import Hit, Query

EDITO_ROOT = "https://api.dive.edito.eu/data/"
CMEMS_PREFIX = "cmems:"
KEYS = ("stac", "cmems")
#: Joins the two sources of a comparison's id: ``<dataset id> vs <hit source>``.
VS = " vs "


def same_root(a: str, b: str) -> bool:
    """True when two catalogue roots name the same place (a trailing slash aside)."""
    return a.rstrip("/") == b.rstrip("/")


@dataclass(frozen=True)
class StacRoot:
    """A configured STAC catalogue: its root (API landing page or catalog.json) and title."""

    url: str
    title: str = ""


@dataclass(frozen=True)
class CatalogueSettings:
    """The catalogues searched by "Find data", and from which links may open sources."""

    stac: tuple[StacRoot, ...] = ()
    cmems: bool = False

    def names(self) -> list[str]:
        """The catalogues' names as the panel lists them."""
        names = [r.title or redact(r.url) for r in self.stac]
        return names + (["Copernicus Marine"] if self.cmems else [])

    def allows(self, source: str) -> bool:
        """True when ``source`` is a ``stac:`` item under a configured root, or a ``cmems:``
        dataset while Copernicus Marine is configured."""
        if source.startswith(CMEMS_PREFIX):
            return self.cmems
        if source.startswith(STAC_PREFIX):
            try:
                root, _, _ = parse_source(source)
            except SourceError:
                return False
            return any(same_root(root, r.url) for r in self.stac)
        return False

    @classmethod
    def parse(cls, doc: Any, where: str) -> CatalogueSettings:
        """Settings from the YAML's ``catalogues`` value (None: :data:`DEFAULT`)."""
        if doc is None:
            return DEFAULT
        if not isinstance(doc, dict):
            raise SourceError(f"{where}: 'catalogues' must be a mapping with 'stac' and 'cmems'")
        check_known_keys(doc, KEYS, where, prefix="catalogues.")
        roots = []
        for item in doc.get("stac") or []:
            if isinstance(item, str):
                item = {"url": item}
            if not isinstance(item, dict) or not isinstance(item.get("url"), str):
                raise SourceError(f"{where}: each 'catalogues.stac' item needs a 'url'")
            if not is_url(item["url"]):  # a link names its root: never a server path
                raise SourceError(
                    f"{where}: catalogues.stac '{item['url']}' must be an http(s) URL (serve a "
                    "static catalog over HTTP)"
                )
            roots.append(StacRoot(item["url"], str(item.get("title") or "")))
        cmems = doc.get("cmems", False)
        if not isinstance(cmems, bool):
            raise SourceError(f"{where}: 'catalogues.cmems' must be true or false")
        return cls(tuple(roots), cmems)


#: What is searched when the catalog YAML does not say.
DEFAULT = CatalogueSettings((StacRoot(EDITO_ROOT, "EDITO data lake"),), cmems=True)


@dataclass
class Found:
    """The hits of one search over every catalogue, and a notice per catalogue that failed."""

    hits: list[Hit] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


def search_catalogues(
    settings: CatalogueSettings, query: Query, timeout: float | None = None
) -> Found:
    """Search every configured catalogue at once (each within ``timeout`` seconds); a
    catalogue that fails gives a one-line notice and the others' hits are kept."""
    from .cmems_catalogue import search_cmems
    from .search import search_stac

    seconds = timeout_or_default(timeout)
    calls: list[tuple[str, Any]] = [
        (r.title or redact(r.url), lambda r=r: search_stac(r.url, query, seconds))
        for r in settings.stac
    ]
    if settings.cmems:
        calls.append(("Copernicus Marine", lambda: search_cmems(query, timeout=seconds)))
    found = Found()
    if not calls:
        return found

    def one(name: str, call: Any) -> list[Hit] | str:
        try:
            return call()
        except SourceError as exc:
            return str(exc) if name in str(exc) else f"{name}: {exc}"

    with ThreadPoolExecutor(max_workers=len(calls), thread_name_prefix="catalogue") as pool:
        results = list(pool.map(lambda c: one(*c), calls))
    for result in results:  # in the order the catalogues are configured
        if isinstance(result, str):
            found.notices.append(result)
        else:
            found.hits.extend(result)
    return found


@functools.lru_cache(maxsize=32)
def open_found(source: str) -> OpenedSource:
    """A catalogue hit opened (once per process: sessions share it; failures are not kept),
    titled, licensed and credited as its STAC item says (else as its data say).

    The caller has checked that ``source`` is allowed (:meth:`CatalogueSettings.allows`).
    """
    from .search import stac_hit
    from .stac import StacAdapter

    adapter = adapter_for_uri(source)
    title, described = None, {}
    if isinstance(adapter, StacAdapter):
        hit = stac_hit(adapter.stac_item(), adapter.url)
        title = hit.title
        described = {"license": hit.license, "attribution": hit.provider}
    return OpenedSource.from_adapter(adapter, source, title, **described)


def run_label(source: str) -> str:
    """A hit's short name as a run of a comparison: its item id, or its dataset id."""
    return source.rsplit("/", 1)[-1] if source.startswith(STAC_PREFIX) else source.split(":", 1)[-1]


def compare_sources(
    base: OpenedSource,
    other: OpenedSource,
    run: str | None = None,
    names: tuple[str, str] | None = None,
) -> OpenedSource:
    """``other`` (a catalogue hit, a dataset of the catalog or an upload) as a what-if run
    against ``base`` (its run ``run``, else its first), joined as a scenario group is: common
    variables and times, ``other`` regridded onto ``base``'s grid when on another regular
    grid (:func:`~data_adapters.alignment.align_runs`, noted in
    ``attrs["regridded_scenarios"]``). Its id is ``<base id> vs <other id>``; its runs are
    named ``names`` (base, other), else the base's id and the other's :func:`run_label`.

    Raises
    ------
    SourceError
        When the two cannot be compared (no common variable, units, calendars, times or
        depth levels that differ...).
    """
    ds = base.dataset
    if "scenario" in ds.dims:
        chosen = run if run in [str(r) for r in ds["scenario"].values] else ds["scenario"][0]
        ds = ds.sel(scenario=chosen, drop=True)
    cid = f"{base.id}{VS}{other.id}"
    base_name, other_name = names or (base.id, run_label(other.id))
    runs = {base_name: ds, other_name: other.dataset}
    if len(runs) < 2:
        raise SourceError(f"{cid}: a dataset cannot be compared with itself")
    return OpenedSource(
        cid,
        f"{other.title} vs {base.title}",
        join_scenarios(runs, label=cid),
        attribution="; ".join(a for a in (base.attribution, other.attribution) if a),
        license="; ".join(x for x in (base.license, other.license) if x),
    )
