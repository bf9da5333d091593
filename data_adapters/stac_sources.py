"""STAC source strings: ``stac:<API root or catalog.json>#<collection>/<item>``."""

from __future__ import annotations

from .errors import SourceError

STAC_PREFIX = "stac:"


def source_for(root: str, collection: str, item: str) -> str:
    """The SOURCE string of an item: ``stac:<root>#<collection>/<item>``."""
    return f"{STAC_PREFIX}{root}#{collection}/{item}"


def parse_source(uri: str) -> tuple[str, str, str]:
    """``(root, collection, item)`` of a ``stac:`` SOURCE string.

    Raises
    ------
    SourceError
        When the string does not have the form ``stac:<root>#<collection>/<item>``.
    """
    body = uri[len(STAC_PREFIX) :] if uri.startswith(STAC_PREFIX) else uri
    root, sep, rest = body.partition("#")
    collection, slash, item = rest.partition("/")
    if not (root and sep and slash and collection and item):
        raise SourceError(
            f"{uri}: not a STAC source; write stac:<API root or catalog.json>#<collection>/<item>"
        )
    return root, collection, item


def is_static(root: str) -> bool:
    """True when ``root`` is a static catalog file (``catalog.json``), not an API root."""
    return root.split("?", 1)[0].rstrip("/").endswith(".json")
