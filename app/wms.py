"""WMS 1.3.0 at ``/wms``: GetCapabilities and GetMap over the tiles' renderer, for GIS clients.

Every catalog dataset's map variables are layers named ``{dataset}/{variable}``, with the
``time`` and ``elevation`` dimensions (elevation: depth in metres, positive down, the
nearest level; a negative value, as clients that count height upwards send, is read as its
depth), a ``scenario`` sample dimension (``DIM_SCENARIO``) where the source has several
runs, and one style per cmocean colormap (the variable's own first). GetMap takes
``CRS=EPSG:3857``, ``EPSG:4326`` (axis order latitude, longitude, as WMS 1.3.0 says) or
``CRS:84``, ``BBOX``, ``WIDTH``/``HEIGHT`` up to :data:`MAX_SIZE`, ``TIME``, ``ELEVATION``,
``STYLES``, ``FORMAT=image/png``, ``TRANSPARENT`` and ``BGCOLOR``, and ncWMS's
``COLORSCALERANGE=LO,HI`` and ``LOGSCALE``. Errors are a ``ServiceExceptionReport`` with
status 400 (404 would hide the report from clients). Reference: OGC 06-042, the OpenGIS Web
Map Service Implementation Specification 1.3.0.
"""

from __future__ import annotations

import logging
import math
from xml.sax.saxutils import escape, quoteattr

import tornado.web

from components.core.colours import CMAP_NAMES
from components.core.frames import full_extent
from components.core.geography import LONLAT, MERCATOR_HALF_WORLD, WEB_MERCATOR, Viewport
from components.core.timeaxis import iso_times

from .map_requests import NotFoundError
from .tile_server import MapHandler, MapServing
from .urlstate import UrlValueError

log = logging.getLogger(__name__)

#: Largest WIDTH and HEIGHT of a GetMap (pixels).
MAX_SIZE = 4096
#: Coordinate systems of GetMap: name -> (the renderer's CRS, BBOX in latitude-first order).
CRS_OPTIONS = {"EPSG:3857": (WEB_MERCATOR, False), "EPSG:4326": (LONLAT, True),
               "CRS:84": (LONLAT, False)}  # fmt: skip
#: Longitudes a BBOX may span, and Web Mercator metres (a world either side of the map).
LON_LIMIT = 540.0
MERCATOR_LIMIT = 3 * MERCATOR_HALF_WORLD
HORIZONTAL = ("lat", "lon", "y", "x")


class WmsError(ValueError):
    """A request the service refuses; ``code`` is the WMS exception code."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


def exception_report(message: str, code: str = "") -> str:
    """A WMS 1.3.0 ``ServiceExceptionReport`` holding one exception."""
    attr = f" code={quoteattr(code)}" if code else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ServiceExceptionReport version="1.3.0" xmlns="http://www.opengis.net/ogc">\n'
        f"  <ServiceException{attr}>{escape(message)}</ServiceException>\n"
        "</ServiceExceptionReport>\n"
    )


class WmsHandler(MapHandler):
    """``/wms?SERVICE=WMS&REQUEST=GetCapabilities|GetMap&...``."""

    def map_error(self, status: int, message: str, code: str = "") -> None:
        if status == 429:  # a limit, not a fault of the request: said as the tiles say it
            self.refuse(status, message)
            return
        self.clear()
        self.set_status(400 if status < 500 else status)
        self.set_header("Content-Type", "text/xml; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(exception_report(message, code))

    @tornado.web.authenticated
    async def get(self) -> None:
        params = {k.upper(): v for k, v in self.query().items()}
        try:
            if params.get("SERVICE", "WMS").upper() != "WMS":
                raise WmsError("SERVICE must be WMS", "InvalidParameterValue")
            operation = params.get("REQUEST", "").lower()
            if operation == "getcapabilities":
                self.set_header("Content-Type", "text/xml; charset=utf-8")
                self.set_header("Cache-Control", "public, max-age=300")
                self.finish(self.capabilities())
                return
            if operation != "getmap":
                raise WmsError("REQUEST must be GetCapabilities or GetMap", "OperationNotSupported")
            await self.get_map(params)
        except WmsError as exc:
            self.map_error(400, str(exc), exc.code)
        except NotFoundError as exc:
            self.map_error(400, str(exc), "LayerNotDefined")
        except (UrlValueError, ValueError) as exc:
            self.map_error(400, str(exc), "InvalidParameterValue")

    # -- GetMap -----------------------------------------------------------------------------
    async def get_map(self, params: dict[str, str]) -> None:
        service = self.serving.service
        if params.get("VERSION", "1.3.0") != "1.3.0":
            raise WmsError("VERSION must be 1.3.0", "InvalidParameterValue")
        layer = params.get("LAYERS", "")
        if "," in layer or "/" not in layer:
            raise WmsError("LAYERS: one layer, named DATASET/VARIABLE", "LayerNotDefined")
        dataset, variable = layer.split("/", 1)
        if params.get("FORMAT", "image/png").lower() != "image/png":
            raise WmsError("FORMAT: only image/png is served", "InvalidFormat")
        crs_name = params.get("CRS", "").upper()
        if crs_name not in CRS_OPTIONS:
            raise WmsError(f"CRS: use one of {', '.join(CRS_OPTIONS)}", "InvalidCRS")
        crs, lat_first = CRS_OPTIONS[crs_name]
        width, height = (_size(params, key) for key in ("WIDTH", "HEIGHT"))
        viewport = _viewport(params.get("BBOX", ""), crs, lat_first, width, height)
        query = {}
        style = params.get("STYLES", "").strip()
        if style and style.lower() != "default":
            if style not in CMAP_NAMES:
                raise WmsError(f"STYLES: no style '{style[:40]}' (a cmocean colormap)",
                               "StyleNotDefined")  # fmt: skip
            query["cmap"] = style
        for wms_key, key in (("TIME", "time"), ("DIM_SCENARIO", "scenario"),
                             ("COLORSCALERANGE", "clim"), ("LOGSCALE", "log")):  # fmt: skip
            if params.get(wms_key):
                query[key] = params[wms_key]
        if params.get("ELEVATION"):
            try:
                query["depth"] = f"{abs(float(params['ELEVATION'])):.6g}"
            except ValueError as exc:
                raise WmsError("ELEVATION: not a number", "InvalidDimensionValue") from exc
        try:
            req = service.request(dataset, variable, query)
        except UrlValueError as exc:
            code = "InvalidDimensionValue" if str(exc).startswith(("time", "depth")) else ""
            raise WmsError(str(exc), code) from exc
        transparent = params.get("TRANSPARENT", "FALSE").upper() == "TRUE"
        background = None if transparent else _colour(params.get("BGCOLOR", "0xFFFFFF"))
        tag = req.etag("wms", crs, viewport.x_range, viewport.y_range, width, height, background)
        if not self.cache_headers(req, tag):
            await self.send_png(req, viewport, tag, background)

    # -- GetCapabilities --------------------------------------------------------------------
    def capabilities(self) -> str:
        """The capabilities document: every map variable of the catalog as a layer."""
        url = escape(self.origin_root() + "wms?")
        layers = []
        service = self.serving.service
        for source in [*service.catalog.datasets, *service.catalog.groups]:
            try:
                opened = service.opened(source)
            except Exception as exc:  # a source that cannot open is left out, said in the log
                log.warning("event=wms_layer_skipped dataset=%s reason=%r", source, str(exc))
                continue
            for name, da in opened.dataset.data_vars.items():
                if {"lat", "lon"} <= set(da.coords) and da.ndim >= 2:
                    layers.append(_layer(opened, str(name), da))
        request = "".join(
            f"<{op}><Format>{fmt}</Format><DCPType><HTTP><Get><OnlineResource "
            f'xlink:type="simple" xlink:href="{url}"/></Get></HTTP></DCPType></{op}>'
            for op, fmt in (("GetCapabilities", "text/xml"), ("GetMap", "image/png"))
        )
        crs = "".join(f"<CRS>{c}</CRS>" for c in CRS_OPTIONS)
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<WMS_Capabilities version="1.3.0" xmlns="http://www.opengis.net/wms" '
            'xmlns:xlink="http://www.w3.org/1999/xlink">\n'
            "<Service><Name>WMS</Name><Title>Ocean Explorer</Title>"
            f'<OnlineResource xlink:type="simple" xlink:href="{url}"/>'
            f"<MaxWidth>{MAX_SIZE}</MaxWidth><MaxHeight>{MAX_SIZE}</MaxHeight></Service>\n"
            f"<Capability><Request>{request}</Request>"
            "<Exception><Format>XML</Format></Exception>\n"
            f"<Layer><Title>Ocean Explorer</Title>{crs}"
            + _geographic_box((-180.0, -90.0, 180.0, 90.0))
            + "\n"
            + "\n".join(layers)
            + "\n</Layer></Capability></WMS_Capabilities>\n"
        )


def _layer(opened, name: str, da) -> str:
    """One ``<Layer>``: bounding boxes, dimensions and styles of a variable."""
    from components.core.colours import default_cmap

    flat = da.isel({d: 0 for d in da.dims if d not in HORIZONTAL})
    west, south, east, north = full_extent(flat)
    west, east = (max(west, -180.0), min(east, 180.0)) if east - west < 360 else (-180.0, 180.0)
    title = escape(f"{opened.title}: {da.attrs.get('long_name') or name}")
    parts = [
        f'<Layer queryable="0"><Name>{escape(opened.id)}/{escape(name)}</Name>'
        f"<Title>{title}</Title>",
        f"<Abstract>{escape(str(da.attrs.get('units') or ''))}</Abstract>",
        _geographic_box((west, south, east, north)),
        f'<BoundingBox CRS="EPSG:4326" minx="{south:g}" miny="{west:g}" maxx="{north:g}" '
        f'maxy="{east:g}"/>',
    ]
    if "time" in da.dims:
        times = iso_times(da["time"].values)
        parts.append(
            f'<Dimension name="time" units="ISO8601" default="{times[0]}" nearestValue="1">'
            f"{','.join(times)}</Dimension>"
        )
    if "depth" in da.dims and da["depth"].ndim == 1:
        levels = ",".join(f"{float(v):g}" for v in da["depth"].values)
        parts.append(
            '<Dimension name="elevation" units="m" unitSymbol="m" default="'
            f'{float(da["depth"].values[0]):g}" nearestValue="1">{levels}</Dimension>'
        )
    if "scenario" in da.dims:
        runs = [escape(str(s)) for s in da["scenario"].values]
        parts.append(f'<Dimension name="scenario" units="" default="{runs[0]}">'
                     f"{','.join(runs)}</Dimension>")  # fmt: skip
    own = default_cmap(da)
    for style in [own, *(c for c in CMAP_NAMES if c != own)]:
        parts.append(f"<Style><Name>{style}</Name><Title>cmocean {style}</Title></Style>")
    return "".join(parts) + "</Layer>"


def _geographic_box(box: tuple[float, float, float, float]) -> str:
    west, south, east, north = box
    return (
        f"<EX_GeographicBoundingBox><westBoundLongitude>{west:g}</westBoundLongitude>"
        f"<eastBoundLongitude>{east:g}</eastBoundLongitude>"
        f"<southBoundLatitude>{south:g}</southBoundLatitude>"
        f"<northBoundLatitude>{north:g}</northBoundLatitude></EX_GeographicBoundingBox>"
    )


def _size(params: dict[str, str], key: str) -> int:
    text = params.get(key, "")
    if not text.isdigit() or not 1 <= int(text) <= MAX_SIZE:
        raise WmsError(f"{key}: a whole number of pixels from 1 to {MAX_SIZE}",
                       "InvalidParameterValue")  # fmt: skip
    return int(text)


def _viewport(text: str, crs: str, lat_first: bool, width: int, height: int) -> Viewport:
    """The viewport of ``BBOX`` (four finite numbers, minimum before maximum, on the earth)."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise WmsError("BBOX: four finite numbers, minx,miny,maxx,maxy", "InvalidParameterValue")
    if lat_first:  # EPSG:4326 in WMS 1.3.0: latitude first
        values = [values[1], values[0], values[3], values[2]]
    x0, y0, x1, y1 = values
    if not (x1 > x0 and y1 > y0):
        raise WmsError("BBOX: each maximum must exceed its minimum", "InvalidParameterValue")
    x_limit, y_limit = (LON_LIMIT, 90.0) if crs == LONLAT else (MERCATOR_LIMIT, MERCATOR_LIMIT)
    if max(abs(x0), abs(x1)) > x_limit or max(abs(y0), abs(y1)) > y_limit:
        raise WmsError("BBOX: outside the earth in this CRS", "InvalidParameterValue")
    return Viewport((x0, x1), (y0, y1), width, height, crs)


def _colour(text: str) -> tuple[int, int, int]:
    value = text.strip().lower().removeprefix("0x").removeprefix("#")
    if len(value) != 6 or any(c not in "0123456789abcdef" for c in value):
        raise WmsError("BGCOLOR: a colour as 0xRRGGBB", "InvalidParameterValue")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def wms_patterns(serving: MapServing) -> list[tuple]:
    """The WMS route for ``pn.serve(extra_patterns=...)``."""
    return [(r"/wms", WmsHandler, {"serving": serving})]
