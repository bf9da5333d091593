"""One session's catalog: the server's datasets plus the ones only that session added.

A user's upload is a dataset of the session that received it: listed and opened there, never
in the server's catalog, so another session neither lists it nor opens it by id. The
server's catalog is shared and never changed here; opening its datasets goes through it (and
its cache), so a session costs nothing until it adds something.
"""

from __future__ import annotations

import threading

from .catalog import Catalog, DatasetEntry
from .opened import OpenedSource

#: The adapter name shown for a session's own datasets ("About this dataset").
ADDED = "uploaded file (this session only)"


class SessionCatalog(Catalog):
    """The shared catalog's datasets and groups, plus this session's own datasets."""

    def __init__(self, shared: Catalog) -> None:
        # the server's catalogues too: Find data searches them, and links open only from them
        super().__init__(dict(shared.datasets), dict(shared.groups), shared.path, shared.catalogues)
        self.shared = shared
        self.added: dict[str, OpenedSource] = {}
        self._added_lock = threading.Lock()

    def add(self, opened: OpenedSource, description: str = "") -> DatasetEntry:
        """Add an opened source under its id (listed and opened in this session only)."""
        entry = DatasetEntry(opened.id, opened.title, ADDED, description=description)
        with self._added_lock:
            self.added[opened.id] = opened
            self.datasets[opened.id] = entry
        return entry

    def remove(self, source_id: str) -> OpenedSource | None:
        """Forget a dataset this session added (its files stay: their owner removes them)."""
        with self._added_lock:
            self.datasets.pop(source_id, None)
            return self.added.pop(source_id, None)

    def open(self, source_id: str) -> OpenedSource:
        """This session's own dataset, else the shared catalog's (cached there)."""
        with self._added_lock:
            opened = self.added.get(source_id)
        return opened if opened is not None else self.shared.open(source_id)
