"""Catalogue search: find datasets in STAC catalogues by text, box and time.

A search returns :class:`Hit` rows (id, title, a SOURCE string every command accepts, box,
time range, variables with their standard names, provider, licence), the same from a STAC
API (``pystac-client``'s item search), a static STAC catalog (walked) or the Copernicus
Marine catalogue (``data_adapters.cmems_catalogue``).

Box and time filter on the server where the API can (STAC item search), else here. Text is
matched here, always: STAC APIs seldom offer free-text search (EDITO's does not), so every
word of the text must appear in the item's id, title or keywords, its variables' names and
standard names, or its collection's id, title and keywords (``_`` and ``-`` count as
spaces, so "potential temperature" finds ``sea_water_potential_temperature``). With text
and no collection named, the API is asked only for the collections whose own id, title or
keywords match (EDITO's collections are CF standard names), when there are any.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import pystac

from .errors import SourceError, call_with_deadline, short_reason
from .stac import is_static, source_for, static_catalog, static_items
from .transport import redact, timeout_or_default

#: Hits listed when the caller does not say.
DEFAULT_LIMIT = 20
#: Items read from an API at most for one search (text is matched here, after reading).
SCAN_LIMIT = 500
#: Collection ids of EDITO that name a CF standard name: ``climate_forecast-<name>``.
CF_COLLECTION = "climate_forecast-"


@dataclass(frozen=True)
class Query:
    """What to look for; every field optional.

    ``bbox`` is (W, S, E, N) in degrees; ``start``/``end`` ISO dates or times (a hit must
    overlap the period); ``collections`` restrict a STAC search; ``limit`` caps the hits.
    """

    text: str = ""
    bbox: tuple[float, float, float, float] | None = None
    start: str | None = None
    end: str | None = None
    collections: tuple[str, ...] = ()
    limit: int = DEFAULT_LIMIT

    def words(self) -> list[str]:
        """The text's words, lower case, ``_``/``-`` as spaces."""
        return searchable(self.text).split()


@dataclass
class Hit:
    """One dataset found in a catalogue."""

    id: str
    title: str
    #: A SOURCE string every command (and the app) opens: ``stac:ROOT#COLL/ITEM``, ``cmems:ID``.
    source: str
    bbox: list[float] | None = None
    #: ISO start and end (either may be None: open-ended).
    time_range: list[str | None] | None = None
    #: ``{"name": ..., "standard_name": ...}`` per variable.
    variables: list[dict[str, str]] = field(default_factory=list)
    provider: str = ""
    license: str = ""
    collection: str = ""
    #: The catalogue root it was found in (a STAC root, or ``cmems``).
    catalogue: str = ""
    description: str = ""
    keywords: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The hit as plain JSON-ready data."""
        return asdict(self)

    def text(self) -> str:
        """Everything text search looks at, lower case."""
        names = [v.get(k, "") for v in self.variables for k in ("name", "standard_name")]
        return searchable(" ".join([self.id, self.title, self.collection, *self.keywords, *names]))


def searchable(text: str) -> str:
    """``text`` lower case, with ``_`` and ``-`` as spaces (CF standard names read as words)."""
    return re.sub(r"[_\-]+", " ", text.lower())


def matches(words: list[str], text: str) -> bool:
    """True when every word is in ``text`` (see :func:`searchable`)."""
    return all(w in text for w in words)


# -- filters applied here -----------------------------------------------------------------
def _boxes(bbox: tuple[float, float, float, float]) -> list[tuple[float, float, float, float]]:
    west, south, east, north = bbox
    if west > east:  # crosses the dateline
        return [(west, south, 180.0, north), (-180.0, south, east, north)]
    return [(west, south, east, north)]


def overlaps_box(hit_box: Iterable[float] | None, bbox: tuple | None) -> bool:
    """True when a hit's box meets ``bbox`` (either may cross the dateline); a hit with no
    box is kept."""
    if bbox is None or hit_box is None:
        return True
    hw, hs, he, hn = list(hit_box)[:4]
    return any(
        w <= b_e and b_w <= e and s <= b_n and b_s <= n
        for w, s, e, n in _boxes((hw, hs, he, hn))
        for b_w, b_s, b_e, b_n in _boxes(tuple(bbox))
    )


def _day(text: str | None, end: bool = False) -> str | None:
    """An ISO date or time as a comparable ``YYYY-MM-DDTHH:MM:SS`` (a bare end date is the
    end of that day)."""
    if not text:
        return None
    text = text.strip().rstrip("Z").replace(" ", "T")
    if len(text) == 10:
        text += "T23:59:59" if end else "T00:00:00"
    return text[:19]


def overlaps_time(time_range: list[str | None] | None, start: str | None, end: str | None) -> bool:
    """True when a hit's time range meets ``[start, end]`` (open ends allowed)."""
    if not time_range or (start is None and end is None):
        return True
    first, last = _day(time_range[0]), _day(time_range[1], end=True)
    if end is not None and first is not None and first > _day(end, end=True):
        return False
    return not (start is not None and last is not None and last < _day(start))


def check_query(query: Query) -> None:
    """Refuse a query whose box or dates cannot be read, with a one-line fix."""
    if query.bbox is not None:
        west, south, east, north = query.bbox
        if not (-90 <= south < north <= 90) or not all(-360 <= x <= 360 for x in (west, east)):
            raise SourceError(f"bad box {query.bbox}: give W,S,E,N in degrees with S < N")
    for name, value in (("start", query.start), ("end", query.end)):
        if value:
            try:
                dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError as exc:
                raise SourceError(
                    f"bad {name} '{value}': give an ISO date such as 2025-01-31"
                ) from exc
    if query.limit < 1:
        raise SourceError(f"bad limit {query.limit}: give a positive number of hits")


# -- STAC -----------------------------------------------------------------------------------
def _standard_name(props: dict) -> str:
    return str(props.get("standard_name") or props.get("standardName") or "")


def _variables(item: pystac.Item, collection: str) -> list[dict[str, str]]:
    cube = item.properties.get("cube:variables") or {}
    from_collection = collection.removeprefix(CF_COLLECTION) if CF_COLLECTION in collection else ""
    found = [
        {"name": str(name), "standard_name": _standard_name(v) or from_collection}
        for name, v in cube.items()
        if isinstance(v, dict) and v.get("type", "data") == "data"
    ]
    if not found and from_collection:
        found = [{"name": from_collection, "standard_name": from_collection}]
    return found


def _provider(providers: Any) -> str:
    names = [p.get("name", "") for p in providers or [] if isinstance(p, dict)]
    return names[0] if names else ""


def _time_range(item: pystac.Item) -> list[str | None]:
    props = item.properties
    start = props.get("start_datetime") or props.get("datetime")
    end = props.get("end_datetime") or props.get("datetime")
    return [start, end]


def stac_hit(item: pystac.Item, root: str, collection: dict | None = None) -> Hit:
    """A hit from a STAC item (and its collection's document, for provider and licence)."""
    collection = collection or {}
    cid = item.collection_id or collection.get("id") or ""
    props = item.properties
    keywords = [*(props.get("keywords") or []), *(collection.get("keywords") or [])]
    return Hit(
        id=item.id,
        title=str(props.get("title") or collection.get("title") or item.id),
        source=source_for(root, cid, item.id),
        bbox=list(item.bbox) if item.bbox else None,
        time_range=_time_range(item),
        variables=_variables(item, cid),
        provider=_provider(props.get("providers")) or _provider(collection.get("providers")),
        license=str(props.get("license") or collection.get("license") or ""),
        collection=cid,
        catalogue=root,
        description=str(props.get("description") or collection.get("description") or ""),
        keywords=[str(k) for k in keywords],
    )


def _collection_text(doc: dict) -> str:
    return searchable(
        " ".join([doc.get("id", ""), doc.get("title", ""), *(doc.get("keywords") or [])])
    )


def _wanted(hit: Hit, query: Query, words: list[str], collection_doc: dict) -> bool:
    return (
        overlaps_box(hit.bbox, query.bbox)
        and overlaps_time(hit.time_range, query.start, query.end)
        and matches(words, f"{hit.text()} {_collection_text(collection_doc)}")
    )


def _search_api(root: str, query: Query, timeout: float) -> list[Hit]:
    from pystac_client import Client

    client = Client.open(root, timeout=timeout)
    collections = {c["id"]: c for c in _collection_docs(client)}
    words = query.words()
    chosen = list(query.collections)
    if not chosen and words:
        chosen = [cid for cid, doc in collections.items() if matches(words, _collection_text(doc))]
    search = client.search(
        collections=chosen or None,
        bbox=list(query.bbox) if query.bbox else None,
        datetime=_period(query),
        max_items=SCAN_LIMIT,
        method="GET",
    )
    hits = []
    for item in search.items():
        doc = collections.get(item.collection_id or "", {})
        hit = stac_hit(item, root, doc)
        if _wanted(hit, query, words, doc):
            hits.append(hit)
            if len(hits) >= query.limit:
                break
    return hits


def _collection_docs(client: Any) -> list[dict]:
    return [c.to_dict(transform_hrefs=False) for c in client.get_collections()]


def _period(query: Query) -> str | None:
    if not query.start and not query.end:
        return None
    start = _day(query.start) + "Z" if query.start else ".."
    end = _day(query.end, end=True) + "Z" if query.end else ".."
    return f"{start}/{end}"


def _search_static(root: str, query: Query, timeout: float) -> list[Hit]:
    label = redact(root)
    catalog = static_catalog(root, label, timeout)
    words = query.words()
    docs: dict[str, dict] = {}
    hits = []
    for item in static_items(catalog):
        cid = item.collection_id or ""
        if query.collections and cid not in query.collections:
            continue
        if cid not in docs:
            parent = item.get_collection() if item.collection_id else None
            docs[cid] = parent.to_dict(include_self_link=False) if parent is not None else {}
        item.make_asset_hrefs_absolute()
        hit = stac_hit(item, root, docs[cid])
        if _wanted(hit, query, words, docs[cid]):
            hits.append(hit)
            if len(hits) >= query.limit:
                break
    return hits


def search_stac(root: str, query: Query, timeout: float | None = None) -> list[Hit]:
    """Datasets of the STAC API or static catalog at ``root`` matching ``query``.

    Raises
    ------
    SourceError
        One line naming the catalogue, when it cannot be reached or read within
        ``timeout`` seconds (default: $OCEAN_EXPLORER_TIMEOUT, else 20) for the whole search.
    """
    check_query(query)
    seconds = timeout_or_default(timeout)
    label = redact(root)
    run = _search_static if is_static(root) else _search_api

    def call() -> list[Hit]:
        try:
            return run(root, query, seconds)
        except SourceError:
            raise
        except Exception as exc:  # pystac-client's and requests' errors, of many kinds
            raise SourceError(
                f"catalogue {label}: cannot be searched ({short_reason(exc)}); check the URL "
                "and the network"
            ) from exc

    return call_with_deadline(
        call,
        seconds,
        f"catalogue {label}: no answer within {seconds:g} s; check the network or raise "
        "OCEAN_EXPLORER_TIMEOUT",
        name="stac-search",
    )
