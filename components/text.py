"""Text from data sources shown in the page: escaped, so a title or attribute is text only.

Catalog titles, dataset attributes, variable names, units and error messages that quote
them can hold anything, ``<img src=x onerror=...>`` included. Every pane that renders HTML
or Markdown (which passes HTML through) gets such text through :func:`escape`.
"""

from __future__ import annotations

import html


def escape(text: object) -> str:
    """``text`` with ``& < > " '`` escaped: shown as typed, never run as markup."""
    return html.escape(str(text), quote=True)
