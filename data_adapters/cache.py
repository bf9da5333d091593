"""Where the product keeps what it computes once per machine (land masks, coastlines)."""

from __future__ import annotations

import os
import pathlib
import threading


def cache_dir(*parts: str) -> pathlib.Path:
    """The cache directory (``$OCEAN_EXPLORER_CACHE``, else ``~/.cache/ocean-explorer``).

    Extra ``parts`` name a subdirectory, created on demand.
    """
    root = os.environ.get("OCEAN_EXPLORER_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "ocean-explorer"
    )
    path = pathlib.Path(root, *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def atomic_write_bytes(path: pathlib.Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a concurrent reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
