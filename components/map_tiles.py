"""The map's field drawn from the server's ``/tiles`` while stepping through time.

With tiles on (the default; ``ocean-explorer serve --no-map-tiles`` turns them off), the
picture of a map showing one run is a Bokeh WMTS tile layer of
``/tiles/{dataset}/{variable}/{Z}/{X}/{Y}.png`` whose URL carries the time step, depth, run,
colormap and colour range. A time step only changes that URL: the browser fetches the tiles
in view (a step seen before comes from the browser's HTTP cache: the tiles are cacheable,
with strong ETags), decodes them, and swaps them in at once, so the map never shows a
half-drawn or empty step. A newer step asked for while one is loading wins (the older one is
dropped, as the image path keeps the latest step only).

Under the tiles lies an image of no values: it carries the colour bar and the gestures the
probes listen to, and the server reads no frame for a time step (a new view reads one, for
its colour range; an export or probe reads the step's frame when it asks). The hover reads
the value under the pointer from the server's ``/tiles/.../value.json`` (the step of the
tiles shown, cacheable as they are) and shows it in a label beside the pointer. Where tiles
stop (zoomed in past the data's finest tiles) the image is the field again, with its own
hover. The colour range is computed once per view (extent, size, variable, depth, run,
colours, show), not per step, and is the tiles' ``clim``: colour bar and tiles agree, and an
animation keeps its colours.

Not on tiles (they stay on the rendered image): the swipe, whose picture joins two runs at
a divider the user drags; change maps, which hide changes within the threshold or the
ensemble spread, which tiles do not do; and a session's own maps (an upload, a catalogue
hit, a comparison, an expression), which the server's ``/tiles`` do not have.
"""

from __future__ import annotations

import math
import time
import urllib.parse

import holoviews as hv
import numpy as np
import panel as pn
from bokeh.core.properties import Bool, Dict, Int, String
from bokeh.model import DataModel
from bokeh.models import CustomJS, HoverTool, Label
from panel.io.document import unlocked

from .core.frames import cell_degrees
from .core.geography import MERCATOR_HALF_WORLD, Viewport
from .core.tiles import TILE_SIZE, max_zoom
from .plot_lifetime import weak_hook

#: Whether maps in a server draw from ``/tiles`` (``app.main.serve`` sets it: only a server
#: with the tile routes can).
SETTINGS = {"enabled": False}


#: The values of the image under tiles that draw the field (colour bar, gestures, no pixels).
NO_VALUES = np.full((2, 2), np.nan, dtype="float32")
#: The name of the label that shows the value under the pointer over tiles.
HOVER_LABEL = "tile-hover"


class TileStep(DataModel):
    """What the tile layer should show: its URL template (the step in it) and whether tiles
    are drawn at all. Changed by the server; the browser loads the tiles, then swaps."""

    url = String(default="")
    visible = Bool(default=False)
    #: the URL template of the step likely shown next, loaded ahead ("" for none)
    ahead = String(default="")
    #: the URL templates of the steps next to the one shown, by time index: a player step
    #: to one of them is drawn by the page at once (:data:`PLAYER_JS`)
    near = Dict(Int, String, default={})


#: Runs in the browser when the server names a new step: fetch and decode the tiles in view
#: at the new URL, then set the tile source's URL (which empties Bokeh's tile cache) and put
#: the decoded tiles in that cache before the next paint. A newer step drops this one. Once
#: a step shows, the tiles in view of the step likely next (``ahead``: the next one in the
#: direction of the last step) are loaded at low priority into the browser's cache, so
#: stepping on, or an animation, finds them there.
STEP_JS = """
for (const h of hovers) h.active = !step.visible;  // over tiles the image has no values
const ts = renderer.tile_source;
if (!ts._oe_patched) {
    ts._oe_patched = true;
    const proto = Object.getPrototypeOf(ts);
    // no prefetching of the next zoom's tiles after each paint (40 renders a step)
    ts.children_by_tile_xyz = () => [];
    // the tiles in view only, as web maps load them: Bokeh adds a border of one tile all
    // round (12 more tiles than the 4 of a small view, rendered by the server each step);
    // none at all while tiles are off (the image shows: zoomed past the finest tiles)
    ts.get_tiles_by_extent = (extent, level) =>
        ts._oe_off ? [] : proto.get_tiles_by_extent.call(ts, extent, level, 0);
}
const off = !step.visible;
if (ts._oe_off !== off) {
    ts._oe_off = off;
    renderer.change.emit();
}
const url = step.url;
const w = fig.inner_width, h = fig.inner_height;
const shown = w > 0 && h > 0 && step.visible;
let wanted = [];
if (shown) {
    const extent = [fig.x_range.start, fig.y_range.start, fig.x_range.end, fig.y_range.end];
    const z = Math.max(ts.min_zoom, Math.min(ts.max_zoom, ts.get_level_by_extent(extent, h, w)));
    wanted = ts.get_tiles_by_extent(extent, z);  // in view only, as the layer's own
}
const src = (template, [x, y, zz]) => {  // as the tile source's own get_image_url
    const [nx, ny, nz] = ts.tms_to_wmts(...ts.normalize_xyz(x, y, zz));
    return template.replace("{X}", nx).replace("{Y}", ny).replace("{Z}", nz);
};
const loadAhead = () => {  // kept on the step: an image dropped may stop loading
    const next = step.ahead;
    if (!next || next === ts.url || !shown) return;
    step._oe_ahead = [...new Set(wanted.map((t) => src(next, t)))].map((s) => {
        const img = new Image();
        img.fetchPriority = "low";
        img.src = s;
        return img;
    });
};
if (ahead_only) {  // a new step to load ahead: now if its step shows, else after the swap
    if (url === ts.url) loadAhead();
    return;
}
if (!url || url === ts.url) { loadAhead(); return; }
const gen = (step._oe_gen = (step._oe_gen || 0) + 1);
if (!shown) { ts.url = url; return; }
const load = ([x, y, zz, bounds]) => {
    const img = new Image();
    img.src = src(url, [x, y, zz]);
    return img.decode().then(() => [x, y, zz, bounds, img], () => null);
};
Promise.all(wanted.map(load)).then((tiles) => {
    if (step._oe_gen !== gen) return;  // a newer step was asked for meanwhile
    ts.url = url;
    for (const tile of tiles) {
        if (tile === null) continue;  // fetched again by the renderer, as any missing tile
        const [x, y, zz, bounds, img] = tile;
        const key = ts.tile_xyz_to_key(x, y, zz);
        ts.tiles.set(key, {
            img, tile_coords: [x, y, zz], normalized_coords: ts.normalize_xyz(x, y, zz),
            quadkey: ts.tile_xyz_to_quadkey(x, y, zz), cache_key: key, bounds,
            loaded: true, finished: false, x_coord: bounds[0], y_coord: bounds[3],
        });
    }
    renderer.change.emit();
    loadAhead();
});
"""


#: Runs in the browser when the time player's step changes (its buttons or its animation):
#: when the new step is next to the one a map's tiles show, the page draws it at once from
#: the URL it knows (loaded ahead, or seen just before), without waiting for the server,
#: whose answer then names the same URL. Other steps wait for the server.
PLAYER_JS = """
for (const m of cb_obj.document.all_models) {
    // a TileStep (a data model: its class has no name of its own in the page)
    if (!(m.near instanceof Map) || typeof m.ahead !== "string" || !m.visible) continue;
    const url = m.near.get(cb_obj.value);
    if (url) m.url = url;
}
"""


#: Runs in the browser as the pointer moves over the map (and leaves it): over tiles, the
#: value under the pointer from the value endpoint (the URL of the tiles shown, so the same
#: step, run and show), in a label beside it; the image's own hover tool (of an image with no
#: values) is off meanwhile. A newer position drops an older answer. A new step (the URL
#: changes) asks again for the value under a pointer that has not moved.
HOVER_JS = """
const over = step.visible && step.url && !step.url.startsWith("data:");
for (const h of hovers) h.active = !over;
const gen = (tip._oe_gen = (tip._oe_gen || 0) + 1);
clearTimeout(tip._oe_timer);
const moved = cb_obj.event_name === "mousemove" && Number.isFinite(cb_obj.x);
if (cb_obj.event_name !== undefined) tip._oe_at = moved ? [cb_obj.x, cb_obj.y] : null;
const at = tip._oe_at;
tip.visible = tip.visible && moved;  // a new step's value is not the old one's
if (!over || !at) {
    tip.visible = false;
    return;
}
const [x, y] = at, half = 20037508.342789244;
const lon = (((x / half) * 180 + 540) % 360) - 180;
const lat = Math.atan(Math.sinh((y / half) * Math.PI)) * 180 / Math.PI;
const url = step.url.replace("/{Z}/{X}/{Y}.png?", "/value.json?")
    + "&lon=" + lon.toFixed(4) + "&lat=" + lat.toFixed(4);
tip._oe_timer = setTimeout(() => {
    fetch(url).then((r) => (r.ok ? r.json() : null)).then((v) => {
        if (tip._oe_gen !== gen || v === null) return;
        let text = "NaN";
        if (v.value !== null) {
            const a = Math.abs(v.value);
            text = (a !== 0 && (a < 0.01 || a >= 1e5)) ? v.value.toExponential(3)
                : v.value.toFixed(3);
            if (v.units) text += " " + v.units;
        }
        tip.text = "lon " + lon.toFixed(3) + "°   lat " + lat.toFixed(3) + "°\\n"
            + v.name + ": " + text;
        tip.x = x;
        tip.y = y;
        tip.visible = true;
    }, () => {});
}, 50);
"""


#: Runs in the browser at the map's first layout: the field's tile layer leaves the view
#: alone. BokehJS fits a tile layer's view to the plot's aspect at its first paint and at
#: each new size (``TileRendererView._map_data`` and ``_enforce_aspect_ratio``, through the
#: tile source's ``snap_to_zoom_level``) by setting each side on its own, with no ranges
#: event: the server heard half a view (its outside-sea layer then covered part of the map).
#: The map's own true-shape script fits the view and tells the server
#: (``map_layers.navigation_hook``). The layer is sent hidden and shown once this ran.
KEEP_VIEW_JS = """
const ts = renderer.tile_source;
if (!ts._oe_keep_view) {
    ts._oe_keep_view = true;
    ts.snap_to_zoom_level = (extent) => extent;
}
if (!renderer.visible) renderer.visible = true;
"""


#: The tile URL before the first colour range: an empty image, no request.
NO_TILE = (
    "data:image/svg+xml,%3Csvg%20xmlns='http://www.w3.org/2000/svg'%20width='1'%20height='1'"
    "%20id='t{Z}-{X}-{Y}'/%3E"
)


def follow_player(player: pn.widgets.Player) -> None:
    """Let the page draw a player's step next to the shown one at once (:data:`PLAYER_JS`)."""
    player.jscallback(value=PLAYER_JS)


def tile_zoom(viewport: Viewport) -> int:
    """The tile zoom a Web Mercator ``viewport`` shows (as Bokeh's tile layer picks it)."""
    world = 2 * MERCATOR_HALF_WORLD
    metres_per_pixel = max(
        (viewport.x_range[1] - viewport.x_range[0]) / viewport.width,
        (viewport.y_range[1] - viewport.y_range[0]) / viewport.height,
    )
    return max(0, math.floor(math.log2(world / TILE_SIZE / max(metres_per_pixel, 1e-9))))


class MapTiles:
    """The tile layer of one :class:`components.map.MapView`: its URL, colour range, model."""

    def __init__(self, view) -> None:
        self.view = view
        self._steps: list[tuple] = []  # (TileStep, document) of the plots drawn
        self._clim_key: tuple | None = None
        self._clim: tuple[float, float] | None = None
        self._viewport: Viewport | None = None
        self._root = "."  # the server's root, relative to the page (set with the layer)
        self._direction = 1  # of the last time step: +1 forward, -1 back
        # made before the map's streams, so called before them: the new URL leaves for the
        # browser ahead of the image under the tiles (a step already read renders at once)
        view.state.param.watch(self._on_choice, ["time", "depth", "scenario"])

    # -- when tiles are used ----------------------------------------------------------------
    def used(self) -> bool:
        """True when this map draws from tiles: in a server with tile routes, one run shown.

        The swipe joins two runs at a divider the user drags (a per-view composite tiles do
        not have) and change maps hide changes within the threshold or ensemble spread
        (tiles show the plain change): both stay on the rendered image. So do a session's
        own maps (an upload, a catalogue hit, a comparison, an expression): the server's
        ``/tiles`` serve its catalog, which does not have them.
        """
        view = self.view
        doc = pn.state.curdoc
        in_server = doc is not None and doc.session_context is not None
        return bool(
            SETTINGS["enabled"] and in_server and not view.swipe and view.change is None
            and view.state.source is not None and view.state.shared_map()
        )  # fmt: skip

    # -- the colour range, once per view ----------------------------------------------------
    def _key(self, viewport: Viewport) -> tuple:
        view, s, c = self.view, self.view.state, self.view.colors
        return (
            viewport.x_range, viewport.y_range, viewport.width, viewport.height, s.dataset_id,
            s.variable, s.depth, view._run(), c.cmap, c.mode, c.vmin, c.vmax, c.log_scale,
            s.lock_colours, len(view.clim_group), s.show, s.reference, s.climate_baseline,
        )  # fmt: skip

    def limits(self, viewport: Viewport, compute) -> tuple[float, float]:
        """The colour range in ``viewport``: ``compute()`` on a new view, else the one the
        tiles already carry (a time step keeps it)."""
        if not self.used():
            return compute()
        key = self._key(viewport)
        if key != self._clim_key or self._clim is None:
            self._clim, self._clim_key = tuple(compute()), key
        return self._clim

    # -- the URL ----------------------------------------------------------------------------
    def url(self, time: str | None = None) -> str | None:
        """The tile URL template of what the map shows now, or at step ``time`` (None
        before a colour range)."""
        if self._clim is None:
            return None
        s, c = self.view.state, self.view.colors
        query = {}
        if time or s.time:
            query["time"] = str(time or s.time)
        field = s.dataset[s.variable]
        if s.depth is not None and "depth" in field.dims:
            query["depth"] = f"{float(s.depth):g}"
        if "scenario" in field.dims:
            query["scenario"] = self.view._run()
        query.update(s.processing().query())  # anomaly, heatwaves: against which climate
        low, high = self._clim
        query.update(cmap=c.cmap, clim=f"{low!r},{high!r}")
        if c.log_scale:
            query["log"] = "true"
        quote = urllib.parse.quote
        path = f"tiles/{quote(s.dataset_id, safe='')}/{quote(s.variable, safe='')}"
        tiles = f"{self._root}/{path}/{{Z}}/{{X}}/{{Y}}.png?"
        return tiles + urllib.parse.urlencode(query, safe=",:")

    def near(self) -> dict[int, str]:
        """The tile URL templates of the steps before and after the one shown, by index."""
        s = self.view.state
        times = s.param.time.objects
        if not s.time or s.time not in times:
            return {}
        index = times.index(s.time)
        around = (i for i in (index - 1, index + 1) if 0 <= i < len(times))
        return {i: url for i in around if (url := self.url(times[i]))}

    def ahead(self, near: dict[int, str]) -> str:
        """Of the ``near`` steps, the URL template of the one likely shown next: the next in
        the direction of the last step ("" at either end, or without time steps)."""
        s = self.view.state
        if not near:
            return ""
        return near.get(s.param.time.objects.index(s.time) + self._direction, "")

    def draws(self, viewport: Viewport) -> bool:
        """True when tiles draw the field in ``viewport`` (the image under them is empty)."""
        return self.used() and self._visible(viewport)

    def knows(self, viewport: Viewport) -> bool:
        """True when tiles draw ``viewport`` with a colour range already set for this view:
        a time step (or depth, run) needs no frame read on the server."""
        return (
            self._clim is not None and self._key(viewport) == self._clim_key
            and self.draws(viewport)
        )  # fmt: skip

    def step_image(self, viewport: Viewport) -> hv.Image:
        """The map's image for a new time step (or depth, run) in a view whose colour range
        the tiles already carry: no values, and no frame read (the map reads the step's frame
        if an export or probe asks for it: ``MapView.frame``)."""
        view = self.view
        started = time.perf_counter()
        view._frame, view._unread = None, viewport
        view.state.extent = tuple(round(v, 4) for v in viewport.lon_lat_bounds())
        clim = self.limits(viewport, lambda: view.clim)
        image = self.under(view._image(NO_VALUES, viewport, view._drawn_field, clim), viewport)
        view.render_ms = 1000 * (time.perf_counter() - started)
        return image

    def under(self, image: hv.Image, viewport: Viewport) -> hv.Image:
        """``image`` (the map's picture of ``viewport``, just rendered) made invisible where
        tiles draw the field (hover, colour bar and gestures stay); the tiles follow the
        view and colours it was rendered with."""
        self.shown(viewport)
        if self.used() and self._visible(viewport):
            return image.opts(alpha=0.0)
        return image

    def _visible(self, viewport: Viewport | None) -> bool:
        """Tiles are drawn unless the view is past the data's finest tiles."""
        if viewport is None or self._clim is None:
            return False
        view = self.view
        try:  # the grid's cells: the value's slice (an anomaly would be computed for it)
            top = max_zoom(cell_degrees(view.state.field(scenario=view._run(), shown=False)))
        except (KeyError, ValueError):
            return True
        return tile_zoom(viewport) <= top

    # -- the layer --------------------------------------------------------------------------
    def over(self, layers: hv.Overlay) -> hv.Overlay:
        """``layers`` over the field's tiles when this map uses them."""
        tiles = self.layer()
        return layers if tiles is None else tiles * layers

    def layer(self) -> hv.Tiles | None:
        """The tile layer for a new plot (None when this map does not use tiles)."""
        if not self.used():
            return None
        self._find_root()
        url = self.url()
        # before the first colour range: no URL yet, nothing drawn (the push brings both)
        # a group of its own: HoloViews matches an overlay's layers to its plots by type,
        # group and label, and two plain Tiles (this and a basemap) could swap or go unmatched
        tiles = hv.Tiles(url or NO_TILE, group="FieldTiles", name="field tiles")
        # no padding: HoloViews pads a Tiles layer's ranges by a tenth on each side, so the
        # map opened a fifth wider than the view asked for (a regional grid not framed)
        return tiles.opts(hooks=[weak_hook(self._hook)], padding=0)

    def _find_root(self) -> None:
        # relative to the page ("." or ".." for /embed/map), or the absolute URL that a
        # <script> embed on another site set (app.main) once the map was made
        self._root = (pn.state.rel_path or ".").rstrip("/") or "."

    def _hook(self, plot, element) -> None:
        renderer, figure = plot.handles["glyph_renderer"], plot.state
        self._find_root()
        if any(isinstance(t, TileStep) for t in renderer.tags):
            return
        near = self.near()
        step = TileStep(
            url=renderer.tile_source.url, visible=self._visible(self._viewport),
            ahead=self.ahead(near), near=near,
        )  # fmt: skip
        renderer.tags = [*renderer.tags, step]  # keeps the step in the document
        renderer.visible = False  # shown by KEEP_VIEW_JS, before its first paint
        keep = CustomJS(args={"renderer": renderer}, code=KEEP_VIEW_JS)
        for attr in ("inner_width", "inner_height"):  # a map rebuilt in an open page too
            figure.js_on_change(attr, keep)
        figure.js_on_event("document_ready", keep)
        hovers = [t for t in figure.tools if isinstance(t, HoverTool)]
        args = {"step": step, "renderer": renderer, "fig": figure, "hovers": hovers}
        follow = CustomJS(args={**args, "ahead_only": False}, code=STEP_JS)
        step.js_on_change("url", follow)
        step.js_on_change("visible", follow)
        # after a step the page drew itself, the server names the next one to load ahead
        step.js_on_change("ahead", CustomJS(args={**args, "ahead_only": True}, code=STEP_JS))
        figure.js_on_event("document_ready", follow)
        tip = Label(
            x=0, y=0, text="", visible=False, name=HOVER_LABEL, x_offset=14, y_offset=-14,
            anchor="top_left", text_font_size="12px", text_color="#222",
            background_fill_color="#ffffff", background_fill_alpha=0.92,
            border_line_color="#999999", padding=5, border_radius=3, level="overlay",
        )  # fmt: skip
        figure.add_layout(tip)
        hover = CustomJS(args={"step": step, "tip": tip, "hovers": hovers}, code=HOVER_JS)
        figure.js_on_event("mousemove", hover)
        figure.js_on_event("mouseleave", hover)
        step.js_on_change("url", hover)  # a new step: the label of the old one goes
        self._steps = [*self._steps[-3:], (step, pn.state.curdoc)]

    def shown(self, viewport: Viewport) -> None:
        """The image of ``viewport`` was rendered: the tiles follow (a new view, colours)."""
        self._viewport = viewport
        self._push()

    def _on_choice(self, *events) -> None:
        times = self.view.state.param.time.objects
        for event in events:
            if event.name == "time" and event.old in times and event.new in times:
                moved = times.index(event.new) - times.index(event.old)
                if moved and abs(moved) <= len(times) // 2:  # a larger jump: a loop's wrap
                    self._direction = 1 if moved > 0 else -1
        # a time step (or depth, run) in the same view keeps the colour range: the tiles'
        # URL changes at once, without waiting for the image under them
        if self._viewport is not None and self._key(self._viewport) == self._clim_key:
            self._push()

    def _push(self) -> None:
        view = self.view
        if not self._steps or view.swipe or view.change is not None:
            return
        url, visible = self.url(), self._visible(self._viewport)
        if url is None:
            return
        near = self.near()
        ahead = self.ahead(near)
        # on the session's event loop (a time step is applied in a next-tick callback, with
        # the document locked): now, so the URL leaves before the image made in the same
        # turn; from another thread: on the next tick
        here = pn.state.curdoc is not None and pn.state._current_thread == pn.state._thread_id
        for step, doc in self._steps:
            if doc is None:
                continue

            def update(step=step) -> None:
                # the step's own tiles are asked for before those of the next one
                step.update(url=url, visible=visible, near=near, ahead=ahead)

            if here and doc is pn.state.curdoc:
                with unlocked():  # sent now, not when this turn's callback returns
                    update()
            else:
                doc.add_next_tick_callback(update)
