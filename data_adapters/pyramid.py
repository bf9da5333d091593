"""Map pyramids: coarser copies of a dataset's maps, so a zoomed-out map reads few cells.

A prepared store (``data_adapters.layouts``) holds its levels as groups ``maps_1``,
``maps_2``..., each two times coarser than the one before (means of 2 x 2 cells that ignore
NaN: :func:`block_mean`). ``ZarrAdapter`` gives the opened source a :class:`MapPyramid` whose
levels are opened on first use; ``components.core.frames`` picks the level per viewport.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import xarray as xr

from .errors import SourceError, short_reason

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PyramidLevel:
    """One level of a map pyramid: the same maps in cells ``factor`` times larger along each
    axis (means of ``factor`` x ``factor`` cells that ignore NaN)."""

    factor: int
    dataset: xr.Dataset


class MapPyramid:
    """Coarser copies of one opened dataset's maps, for zoomed-out views.

    An opened source holds one (``OpenedSource.pyramid``): a prepared store's has levels,
    opened by ``opener()`` on the first read of :attr:`levels` (opening costs a metadata
    read per level: a request for a remote store); any other source's is empty, and its maps
    read the full grid. A dataset derived from the source (a selection, a subset of
    variables) is matched to the levels by its variable names and coordinates
    (``components.core.frames.pyramid_for``).

    Parameters
    ----------
    opener
        Returns the levels, finest first; None for a pyramid without levels.
    """

    def __init__(self, opener: Callable[[], list[PyramidLevel]] | None = None) -> None:
        self._opener = opener
        self._levels: tuple[PyramidLevel, ...] = ()
        self._lock = threading.Lock()

    @property
    def levels(self) -> tuple[PyramidLevel, ...]:
        """The levels, finest first; empty without a pyramid.

        Never raises: the pyramid only makes maps cheaper, so when its levels cannot be
        opened the reason is logged and the maps read the full grid.
        """
        if self._opener is None:
            return self._levels
        with self._lock:  # one opening, however many sessions ask at once
            if self._opener is not None:
                try:
                    levels = tuple(self._opener())
                except (SourceError, OSError, ValueError, KeyError, TypeError) as exc:
                    log.warning("the map pyramid is not used (%s)", short_reason(exc))
                    levels = ()
                self._levels, self._opener = levels, None
        return self._levels


def block_mean(values: np.ndarray) -> np.ndarray:
    """Means of the 2 x 2 blocks of cells of the last two axes, ignoring NaN.

    A block of land only (all NaN) stays NaN; a coastal block is the mean of its sea cells.
    With an odd number of rows (columns), the last block row (column) holds one cell's row.
    The result has the dtype of ``values``; maps are coarsened one at a time, so temporaries
    stay the size of one map.
    """
    *lead, ny, nx = values.shape
    out = np.empty((*lead, (ny + 1) // 2, (nx + 1) // 2), dtype=values.dtype)
    maps, coarse = values.reshape(-1, ny, nx), out.reshape(-1, *out.shape[-2:])
    for i, field in enumerate(maps):
        if ny % 2 or nx % 2:
            field = np.pad(field, ((0, ny % 2), (0, nx % 2)), constant_values=np.nan)
        blocks = field.reshape(field.shape[0] // 2, 2, field.shape[1] // 2, 2)
        finite = np.isfinite(blocks)
        total = np.where(finite, blocks, 0).sum(axis=(1, 3), dtype=values.dtype)
        count = finite.sum(axis=(1, 3))
        with np.errstate(invalid="ignore", divide="ignore"):  # 0 / 0: no value in the block
            coarse[i] = total / count
    return out


def block_centres(coord: np.ndarray) -> np.ndarray:
    """Centres of the 2-cell blocks of a 1-D axis of cell centres (see :func:`block_mean`).

    An odd last block holds one cell and keeps its centre, so that no centre leaves the
    grid (a latitude never passes the pole).
    """
    coord = np.asarray(coord, dtype="float64")
    pairs = coord[: coord.size // 2 * 2].reshape(-1, 2).mean(axis=1)
    return np.append(pairs, coord[-1:]) if coord.size % 2 else pairs
