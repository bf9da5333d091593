"""The map view: the current field rendered on the server with Datashader."""

from __future__ import annotations

import logging

import cartopy.crs as ccrs
import geoviews as gv
import holoviews as hv
import panel as pn
import param
from holoviews.operation.datashader import rasterize

from data_adapters import SourceError, grid_kind

from .basemap import LAND_COLOR, coastline
from .colors import default_cmap, is_diverging, palette, robust_range
from .state import ExplorerState

log = logging.getLogger(__name__)

hv.extension("bokeh", logo=False)

PLATE_CARREE = ccrs.PlateCarree()


def field_element(state: ExplorerState) -> hv.Element:
    """The current 2-D field as a GeoViews element (Image on regular, QuadMesh on curvilinear)."""
    da = state.field().load()
    name = state.variable
    long_name = da.attrs.get("long_name", name)
    units = da.attrs.get("units", "")
    vdim = hv.Dimension(name, label=long_name, unit=units)
    if grid_kind(state.dataset) == "curvilinear":
        return gv.QuadMesh(da, kdims=["lon", "lat"], vdims=[vdim], crs=PLATE_CARREE)
    return gv.Image(da, kdims=["lon", "lat"], vdims=[vdim], crs=PLATE_CARREE)


class MapView(pn.viewable.Viewer):
    """A map of ``state``'s field, rasterized to the viewport on the server."""

    state = param.ClassSelector(class_=ExplorerState, doc="The session state to show.")

    def __init__(self, **params) -> None:
        super().__init__(**params)
        self._pane = pn.pane.HoloViews(
            self._plot(), sizing_mode="stretch_both", min_height=420, linked_axes=False
        )

    @param.depends(
        "state.dataset_id",
        "state.variable",
        "state.time",
        "state.depth",
        "state.scenario",
        watch=True,
    )
    def _update(self) -> None:
        self._pane.object = self._plot()

    def _plot(self) -> hv.Overlay | hv.Element:
        try:
            element = field_element(self.state)
        except SourceError as exc:
            self.state.message = str(exc)
            return hv.Text(0, 0, str(exc))
        cmap = default_cmap(self.state.dataset[self.state.variable])
        values = element.dimension_values(2)
        clim = robust_range(values, symmetric=is_diverging(cmap))
        dim = element.vdims[0]
        raster = rasterize(element, precompute=True).opts(
            cmap=palette(cmap),
            clim=clim,
            colorbar=True,
            clabel=f"{dim.label} [{dim.unit}]" if dim.unit else dim.label,
            tools=["hover"],
            responsive=True,
            projection=PLATE_CARREE,
            global_extent=True,
            bgcolor=LAND_COLOR,  # NaN (land) is transparent over this fill
            title=self._title(),
        )
        return (raster * coastline()).opts(active_tools=["wheel_zoom"])

    def _title(self) -> str:
        s = self.state
        parts = [s.source.title if s.source else s.dataset_id, s.variable]
        if s.scenario and s.scenario != "baseline":
            parts.append(s.scenario)
        if s.time:
            parts.append(str(s.time))
        if s.depth is not None:
            parts.append(f"{s.depth:g} m")
        return " · ".join(str(p) for p in parts if p)

    def __panel__(self) -> pn.viewable.Viewable:
        return self._pane
