"""The entries used latest: the bounded caches of the server and of sessions."""

from __future__ import annotations

import threading
from collections import OrderedDict


class Recent:
    """The entries used latest, dropped least recently used first past ``count`` entries or
    past ``size`` in all (each weighed by ``weigh``); safe across threads."""

    def __init__(self, count: int | None = None, size: int | None = None, weigh=None) -> None:
        self.count, self.size, self.weigh = count, size, weigh
        self._entries: OrderedDict = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key):
        """The entry of ``key`` (now the latest used), or None."""
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key, value) -> list:
        """Keep ``value`` for ``key`` (a key kept already keeps its first value); the keys
        dropped to make room."""
        with self._lock:
            if key not in self._entries:
                self._entries[key] = value
                self._total += self.weigh(value) if self.weigh else 1
            dropped = []
            while (self.count is not None and len(self._entries) > self.count) or (
                self.size is not None and self._total > self.size
            ):
                old, gone = self._entries.popitem(last=False)
                self._total -= self.weigh(gone) if self.weigh else 1
                dropped.append(old)
            return dropped
