"""The map view's layers over its field: coastline, sea beyond a regional grid, arrows.

Also the notice of a basemap whose tiles cannot be loaded.
"""

from __future__ import annotations

import xarray as xr

from data_adapters import SourceError

from .core.derived import velocity_names
from .core.frames import render_field
from .map_layers import (
    BASEMAPS,
    arrow_viewport,
    arrows_layer,
    coast_layer,
    no_arrows,
    no_coast,
)


class MapOverlays:
    """The layers :class:`~components.map.MapView` draws over its field (its ``state``,
    ``layers``, ``viewport()``, ``home_extent()`` and ``_run()`` are the map's)."""

    _box: tuple[float, float, float, float] | None = None
    _box_for: tuple | None = None

    def _coast(
        self, x_range=None, y_range=None, width=None, height=None, coastline=True, basemap=None,
        **_,
    ):  # fmt: skip
        # beyond a regional grid, the sea is drawn apart from land (with no basemap to show)
        try:
            data_box = self._data_box() if BASEMAPS.get(basemap) is None else None
        except (SourceError, ValueError, KeyError):
            data_box = None
        if not coastline and data_box is None:
            return no_coast()
        try:
            return coast_layer(self.viewport(x_range, y_range, width, height), data_box, coastline)
        except (SourceError, ValueError):
            return no_coast()

    def _data_box(self) -> tuple[float, float, float, float]:
        """The data's extent in Web Mercator metres, once per dataset and variable."""
        key = (self.state.dataset_id, self.state.variable)
        if self._box_for != key:
            self._box, self._box_for = self.home_extent(), key
        return self._box

    def _arrows(self, x_range=None, y_range=None, width=None, height=None, currents=False, **_):
        names = velocity_names(self.state.dataset) if currents else None
        if names is None:
            return no_arrows()
        try:
            small = arrow_viewport(self.viewport(x_range, y_range, width, height))
            u = render_field(self._component(names[0]), small).values
            v = render_field(self._component(names[1]), small).values
        except (SourceError, ValueError):
            return no_arrows()
        units = str(self.state.dataset[names[0]].attrs.get("units") or "m/s")
        return arrows_layer(u, v, small, units)

    def _component(self, name: str) -> xr.DataArray:
        """A velocity component on the same slice as the current field."""
        return self.state.field(scenario=self._run(), variable=name)

    def _tiles_failed(self) -> None:
        self.state.report(
            f"The {self.layers.basemap} basemap's tiles could not be loaded (offline, or the "
            "tile server did not answer): the map is drawn without it"
        )
