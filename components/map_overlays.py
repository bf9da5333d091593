"""The map view's layers over its field: coastline, sea beyond a regional grid, arrows.

Also the probe that tells a session when its basemap's tiles cannot be loaded.
"""

from __future__ import annotations

from collections.abc import Callable

import param
import xarray as xr
from panel.custom import JSComponent

from data_adapters import SourceError

from .core.derived import velocity_names
from .core.frames import render_field
from .map_layers import (
    BASEMAPS,
    LayerSettings,
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


class BasemapProbe(JSComponent):
    """Loads, in the browser, one tile of the basemap chosen in ``layers`` (the whole world at
    zoom 0) each time the choice changes, the page's first choice included; when it fails
    (offline, blocked, server down) it says so with ``report`` on the server: one notice for the
    basemap, not one a tile. It shows nothing.

    It is a page element of its own, not a callback on the map's figure: BokehJS runs no
    model's "document ready" callbacks, and when a new figure's view equals the one the last
    figure reported it changes no range either, so a probe on the figure never ran (another
    basemap chosen just after the page had come up). Choices reach the page as messages, and
    failures come back as messages: a parameter synced to the page was at times not sent."""

    url = param.String(default="", doc="The basemap's tile URL template when the page opens.")

    _esm = """
export function render({ model }) {
  const probe = (url) => {
    if (!url) return;
    const img = new Image();
    img.onerror = () => model.send_msg({ failed: url });
    img.src = url.replace(/{Z}/i, "0").replace(/{X}/i, "0").replace(/{Y}/i, "0");
  };
  model.on("msg:custom", (msg) => probe(msg.url));
  probe(model.url);
}
"""

    def __init__(self, layers: LayerSettings, report: Callable[[str], None]) -> None:
        super().__init__(visible=False, margin=0, url=BASEMAPS.get(layers.basemap) or "")
        self._layers, self._report = layers, report
        self._reported = ""  # the URL of the last notice, until another basemap is chosen
        layers.param.watch(self._chosen, "basemap")

    def _chosen(self, event) -> None:
        self.url, self._reported = BASEMAPS.get(event.new) or "", ""
        self._send_msg({"url": self.url})

    def _handle_msg(self, data) -> None:
        failed = data.get("failed") if isinstance(data, dict) else None
        if failed and failed == self.url and failed != self._reported:
            self._reported = failed
            self._report(
                f"The {self._layers.basemap} basemap's tiles could not be loaded (offline, or "
                "the tile server did not answer): the map is drawn without it"
            )
