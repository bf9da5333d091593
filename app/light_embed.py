"""``/embed/light/map``: an embed with no server session and no websocket, drawn from ``/tiles``.

The page is the map of the same query as ``/embed/map`` (:mod:`app.urlstate`'s keys:
``dataset``, ``variable``, ``time``, ``depth``, ``scenario``, ``mode``, ``baseline``, ``bbox``,
``cmap``, ``clim``) as ``<img>`` tiles, a time slider (and play button) that swaps the tiles'
time, a colour bar, the caption and the data's attribution; its script
(``assets/light-map.js``, about 3 kB) is inlined. The colours are fixed for the whole
animation (the range of the first step shown, unless ``clim`` is given), so a step revisited
is a browser-cache hit and any proxy can serve every viewer the same tiles.
"""

from __future__ import annotations

import html
import json
import pathlib

import tornado.web

from components.core.colours import palette
from components.core.fields import quantity_label
from components.core.geography import BBox
from components.state import ExplorerState

from .map_requests import NotFoundError
from .tile_server import MapHandler, MapServing, tilejson
from .urlstate import MAX_VALUE_CHARS, UrlValueError, numbers

SCRIPT = (pathlib.Path(__file__).resolve().parents[1] / "assets" / "light-map.js").read_text(
    encoding="utf-8"
)
#: Background of the map: the land colour of the dashboard (land is transparent in tiles).
LAND_BACKGROUND = "#d9d4c7"
#: Colours in the page's colour bar (a CSS gradient).
COLOURBAR_STOPS = 16

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ margin: 0; font: 13px sans-serif; color: #222; }}
#light-caption, #light-credit {{ margin: 4px 8px; }}
#light-credit {{ font-size: 11px; color: #555; }}
#light-map {{ position: relative; overflow: hidden; height: calc(100vh - 104px);
  min-height: 160px; background: {land}; }}
#light-controls {{ display: flex; align-items: center; gap: 8px; margin: 4px 8px; }}
#light-time {{ flex: 1; }}
#light-bar {{ display: flex; align-items: center; gap: 6px; margin: 2px 8px; font-size: 11px; }}
#light-bar i {{ flex: 0 0 160px; height: 10px; background: linear-gradient(to right, {stops}); }}
</style></head><body>
<div id="light-caption"><b>{source}</b> · {quantity}</div>
<div id="light-map" role="img" aria-label="{title}"></div>
<div id="light-controls"><button id="light-play" type="button" aria-label="play">&#9654;</button>
<input id="light-time" type="range" min="0" max="0" value="0" aria-label="time step">
<span id="light-when">{when}</span></div>
<div id="light-bar"><span>{low}</span><i></i><span>{high} {units}</span></div>
<div id="light-credit">{credit}</div>
<script type="application/json" id="light-config">{config}</script>
<script>{script}</script>
</body></html>
"""


class LightMapHandler(MapHandler):
    """``/embed/light/map?dataset=...&variable=...``: the session-free embed page."""

    @tornado.web.authenticated
    async def get(self) -> None:
        service = self.serving.service
        query = self.query()
        try:
            for key, value in query.items():
                if len(value) > MAX_VALUE_CHARS:
                    raise UrlValueError(f"{key}: longer than {MAX_VALUE_CHARS} characters")
            ids = [*service.catalog.datasets, *service.catalog.groups]
            dataset = query.get("dataset") or (ids[0] if ids else "")
            opened_variables = self._variables(dataset)
            default_variable = ExplorerState.param.variable.default
            variable = query.get("variable") or (
                default_variable if default_variable in opened_variables else opened_variables[0]
            )
            map_query = dict(query)
            if "scenario" in map_query:  # a comparison's link lists runs: the first is shown
                map_query["scenario"] = map_query["scenario"].split(",")[0]
            if map_query.get("mode") not in ("difference", "relative"):
                map_query.pop("mode", None)
                map_query.pop("baseline", None)
            req = service.request(dataset, variable, map_query)
            # the automatic colour range may render an overview: off the event loop
            doc = await self.off_loop(tilejson, service, req, self.origin_root())
            bbox = doc["bounds"]
            if query.get("bbox"):
                numbers(query["bbox"], 4)
                try:
                    bbox = list(BBox.parse(query["bbox"]).as_tuple())
                except ValueError as exc:
                    raise UrlValueError(f"bbox: {exc}") from exc
        except (NotFoundError, UrlValueError) as exc:
            self.refuse_request(exc)
            return
        self.send_document("text/html; charset=utf-8", page(service, req, doc, bbox))

    def _variables(self, dataset: str) -> list[str]:
        service = self.serving.service
        if dataset not in service.catalog:
            raise NotFoundError(f"no dataset '{dataset[:80]}' in this server's catalog")
        ds = service.opened(dataset).dataset
        return [str(v) for v in ds.data_vars]


def page(service, req, doc: dict, bbox: list[float]) -> str:
    """The light embed's HTML for request ``req`` and its TileJSON ``doc``."""
    opened, da = service.open(req.dataset, req.variable)
    times = doc["times"]
    step = req.step or 0
    config = {
        "template": doc["tiles_by_time"],
        "times": times,
        "step": step,
        "bbox": bbox,
        "maxzoom": doc["maxzoom"],
    }
    # JSON inside a script element: "<" escaped so that no value can close the element
    config_text = json.dumps(config).replace("<", "\\u003c")
    colours = palette(doc["colormap"], COLOURBAR_STOPS)
    quantity = quantity_label(da, req.variable)
    if req.mode != "map":
        quantity = f"{req.mode} {req.scenario} \u2212 {req.baseline}: {quantity}"
    elif req.scenario:
        quantity = f"{quantity} · {req.scenario}"
    credit = (f"Data: {opened.attribution} · " if opened.attribution else "") + "Ocean Explorer"
    low, high = doc["clim"]
    units = "%" if req.mode == "relative" else doc["units"]
    return PAGE.format(
        title=html.escape(f"{opened.title}: {quantity}"),
        source=html.escape(opened.title),
        quantity=html.escape(quantity),
        land=LAND_BACKGROUND,
        stops=", ".join(colours),
        when=html.escape(times[step] if times else ""),
        low=html.escape(f"{low:.4g}"),
        high=html.escape(f"{high:.4g}"),
        units=html.escape(units),
        credit=html.escape(credit),
        config=config_text,
        script=SCRIPT,
    )


def light_patterns(serving: MapServing) -> list[tuple]:
    """The light embed's route for ``pn.serve(extra_patterns=...)``."""
    return [(r"/embed/light/map", LightMapHandler, {"serving": serving})]
