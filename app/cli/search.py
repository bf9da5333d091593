"""The ``search`` command: datasets of a STAC catalogue or of Copernicus Marine, as a list.

Each hit's ``source`` is a SOURCE string that every other command accepts.
"""

from __future__ import annotations

import argparse
import json

from data_adapters.cmems_catalogue import search_cmems
from data_adapters.search import Hit, Query, search_stac


def _period(hit: Hit) -> str:
    if not hit.time_range:
        return ""
    start, end = (t[:10] if t else ".." for t in hit.time_range)
    return f"{start} to {end}"


def cmd_search(args: argparse.Namespace) -> int:
    """Print the hits of one search (``--json``: a list of objects)."""
    query = Query(
        text=args.text or "",
        bbox=args.bbox,
        start=args.start,
        end=args.end,
        collections=tuple(args.collection or ()),
        limit=args.limit,
    )
    hits = search_cmems(query) if args.cmems else search_stac(args.stac, query)
    if args.json:
        print(json.dumps([h.as_dict() for h in hits], indent=2))
        return 0
    if not hits:
        print("no dataset matches")
    for hit in hits:
        names = ", ".join(
            v["name"] + (f" ({v['standard_name']})" if v["standard_name"] != v["name"] else "")
            for v in hit.variables
        )
        box = ",".join(f"{x:g}" for x in hit.bbox) if hit.bbox else ""
        print(f"{hit.id}  {hit.title}")
        print(f"    source: {hit.source}")
        print(f"    box: {box}  time: {_period(hit)}  variables: {names}")
    return 0
