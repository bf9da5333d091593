"""Text from data sources shown in the page: escaped, and without the server's directories.

Catalog titles, dataset attributes, variable names, units and error messages that quote
them can hold anything, ``<img src=x onerror=...>`` included. Every pane that renders HTML
or Markdown (which passes HTML through) gets such text through :func:`escape`.

A source given as a path (``ocean-explorer serve /data/runs/x.nc``) is named in the page by
its file name: :func:`without_server_paths` drops the directories of absolute paths from
any text (messages from the adapters name the file they could not read), and
:func:`public_source` says where a catalog entry's data come from without them. Logs keep
the full paths.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

from data_adapters.transport import redact

#: The directories of an absolute POSIX or Windows path: a separator not preceded by a
#: word character, a colon, a dot or another separator (so ``m/s``, ``1/4°`` and the path
#: of a URL stay), then the ``name/`` segments before the last name.
_SERVER_DIRECTORIES = re.compile(
    r"(?<![\w:./\\~-])(?:~|[A-Za-z]:)?[/\\](?:[^\s/\\'\"<>`]+[/\\](?=[^\s/\\'\"<>`]))+"
)


def without_server_paths(text: object) -> str:
    """``text`` with the directories of absolute paths dropped: ``'/data/runs/x.nc'``
    becomes ``'x.nc'``; URLs, units such as ``m/s`` and fractions stay as they are."""
    return _SERVER_DIRECTORIES.sub("", str(text))


def escape(text: object) -> str:
    """``text`` as the page shows it: server directories dropped, then ``& < > " '``
    escaped (shown as typed, never run as markup)."""
    return html.escape(without_server_paths(text), quote=True)


def public_source(where: str) -> str:
    """Where data come from, as a visitor may see it: a URL with any password as ``***``,
    a path by its file (or last folder) name."""
    parts = urlsplit(where)
    if parts.scheme and parts.netloc:
        return redact(where)
    if ":" in where and not re.match(r"^[A-Za-z]:[/\\]", where):
        return where  # cmems:ID and other scheme-like names are not paths
    return re.split(r"[/\\]", where.rstrip("/\\"))[-1] or where
