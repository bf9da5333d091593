"""The prepared store's format: its layout groups and the root attribute that names them.

A store written by :func:`data_adapters.layouts.write_prepared` holds one dataset twice, in
groups ``maps`` (time-chunked) and ``series`` (geo-chunked), plus a map pyramid
(``maps_1``, ``maps_2``...). Its root attribute :data:`LAYOUTS_ATTR`, written last, names
the groups and their chunks; readers (``ZarrAdapter``) recognise a prepared store from it
with one small metadata read, and open any other store as plain Zarr.
"""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Mapping
from typing import Any

#: Root attribute of a prepared store: ``{"version": 1, "maps": {var: {dim: chunk}},
#: "series": {var: {dim: chunk}}, "levels": [{"group": "maps_1", "factor": 2, "variables":
#: {var: {dim: chunk}}}, ...]}``. Written last, so a store without it is not complete.
#: ``levels`` (the pyramid, finest first) is optional: stores written before it have none,
#: and readers that do not know it ignore it, so the version stays 1.
LAYOUTS_ATTR = "ocean_explorer_layouts"
#: Version of the layout; a reader that does not know a version opens the store as plain Zarr.
LAYOUT_VERSION = 1
#: Group names of the two layouts.
MAPS_GROUP, SERIES_GROUP = "maps", "series"
#: Key of the pyramid in :data:`LAYOUTS_ATTR`, and the prefix of its groups (``maps_1``...).
LEVELS_KEY = "levels"
#: Key of :data:`LAYOUTS_ATTR` saying every chunk was written, all-fill ones too: a reader
#: may then take a chunk that is not there for a lost one, not an empty one.
COMPLETE_KEY = "complete"


def layouts_in(metadata: str | Mapping[str, Any]) -> dict[str, Any] | None:
    """The layouts named by a store's root ``zarr.json`` (its text or parsed), or None.

    None for plain stores, Zarr 2 stores, unreadable metadata and layout versions this code
    does not know (such a store is still opened as a plain store).
    """
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except ValueError:
            return None
    if not isinstance(metadata, Mapping):
        return None
    attrs = metadata.get("attributes")
    layouts = attrs.get(LAYOUTS_ATTR) if isinstance(attrs, Mapping) else None
    if not isinstance(layouts, Mapping) or layouts.get("version") != LAYOUT_VERSION:
        return None
    if not all(isinstance(layouts.get(g), Mapping) for g in (MAPS_GROUP, SERIES_GROUP)):
        return None
    layouts = dict(layouts)
    if LEVELS_KEY in layouts and not _valid_levels(layouts[LEVELS_KEY]):
        # the pyramid only makes maps cheaper: a store with a garbled one still opens
        del layouts[LEVELS_KEY]
    return layouts


def _valid_levels(levels: Any) -> bool:
    """Whether ``levels`` is a list of ``{"group": str, "factor": int > 1, "variables": {}}``
    with factors increasing (finest first)."""
    if not isinstance(levels, list):
        return False
    factors = []
    for level in levels:
        if not isinstance(level, Mapping) or not isinstance(level.get("group"), str):
            return False
        factor = level.get("factor")
        if (
            not isinstance(factor, int)
            or factor < 2
            or not isinstance(level.get("variables"), Mapping)
        ):
            return False
        factors.append(factor)
    return factors == sorted(set(factors))


def level_groups(layouts: Mapping[str, Any] | None) -> list[tuple[str, int]]:
    """(group, factor) of each pyramid level named by ``layouts`` (finest first); empty for
    stores without a pyramid."""
    if not layouts:
        return []
    return [(level["group"], level["factor"]) for level in layouts.get(LEVELS_KEY, [])]


def read_layouts(path: str | os.PathLike) -> dict[str, Any] | None:
    """The layouts of the local store at ``path`` (one small file read), or None."""
    meta = pathlib.Path(path) / "zarr.json"
    try:
        text = meta.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return layouts_in(text)
