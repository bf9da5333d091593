"""Share and embed: the link to this view, snippets for stakeholder sites, static exports.

- the link: this page's URL, which holds every visible choice (:mod:`app.urlstate`);
- an ``<iframe>`` of the minimal-chrome embed route (``/embed/map``, ``/embed/timeseries``,
  ``/embed/compare``) with the same query;
- a ``<script>`` tag from Bokeh's ``server_document`` for pages that embed Bokeh apps;
- static exports for sites that cannot reach a live server: a PNG of the map (the same
  pixels through ``ocean-explorer render``'s writer) and a standalone HTML page (Bokeh
  resources inline: it opens offline).
"""

from __future__ import annotations

import base64
import io
import mimetypes
import pathlib
import re
import urllib.parse

import holoviews as hv
import panel as pn

from components import CompareView, MapView
from components.core import animation, fields
from components.core.fields import quantity_label
from components.core.frames import pyramid_for, render_field
from components.core.png import ColourScale, write_map_png
from components.core.timeaxis import time_label
from components.map_layers import coast_layer
from components.probe_view import pin_marks
from components.state import ExplorerState
from components.text import escape
from data_adapters import SourceError

from .uploads import UPLOAD_TTL_S

#: Size of the iframe the snippet proposes (pixels).
IFRAME_SIZE = (900, 560)


def page_origin(location) -> str:
    """``scheme://host[:port]`` of the page, from Panel's ``pn.state.location``."""
    if location is None or not location.hostname:
        return "http://localhost:5006"
    port = f":{location.port}" if location.port else ""
    return f"{location.protocol}//{location.hostname}{port}"


#: The minimal-chrome embed routes beside the app (paths under its root).
MAP_EMBED, SERIES_EMBED, COMPARE_EMBED = "embed/map", "embed/timeseries", "embed/compare"
EMBED_ROUTES = (MAP_EMBED, SERIES_EMBED, COMPARE_EMBED)
#: The map embed without a server session (``app.light_embed``): tiles and a time slider.
LIGHT_MAP_EMBED = "embed/light/map"


def embed_route(state: ExplorerState) -> str:
    """The embed route that shows what the page shows."""
    if state.comparing:
        return COMPARE_EMBED
    return SERIES_EMBED if state.points else MAP_EMBED


def app_root(location) -> str:
    """The app's root path (``/`` or ``/PREFIX/``), from the page's path."""
    path = location.pathname if location is not None and location.pathname else "/"
    for route in EMBED_ROUTES:
        if path.rstrip("/").endswith(route):
            path = path.rstrip("/")[: -len(route)]
    return path if path.endswith("/") else path + "/"


def snippets(
    state: ExplorerState, location, route: str | None = None, height: int | None = None
) -> dict[str, str]:
    """The link, the iframe and the script snippet for the current view; ``height``: the
    iframe's (pixels) when the embed needs more than :data:`IFRAME_SIZE`'s."""
    from bokeh.embed import server_document

    origin = page_origin(location)
    root = app_root(location)
    search = location.search if location is not None else ""
    route = route or embed_route(state)
    link = f"{origin}{root}{search}"
    embed = f"{origin}{root}{route}"
    width, height = IFRAME_SIZE[0], max(IFRAME_SIZE[1], height or 0)
    title = escape(f"Ocean Explorer: {state.source.title if state.source else state.dataset_id}")
    iframe = (
        f'<iframe src="{escape(embed + search)}" width="{width}" height="{height}" '
        f'style="border:0" loading="lazy" title="{title}"></iframe>'
    )
    arguments = dict(urllib.parse.parse_qsl(search.lstrip("?")))
    script = server_document(url=embed, arguments=arguments)
    # the session-free embed (tiles, no websocket): the one for public pages with many viewers
    light = iframe.replace(
        escape(embed + search), escape(f"{origin}{root}{LIGHT_MAP_EMBED}{search}")
    )
    return {"link": link, "iframe": iframe, "script": script, "light": light}


def _static_map(view: MapView) -> tuple[hv.Overlay, str]:
    """The last frame as a static Bokeh plot, and its caption."""
    frame = view.frame
    if frame is None:
        raise ValueError("the map has not been drawn yet")
    vp = frame.viewport
    x, y = vp.pixel_centres()
    da = view.field()
    units = str(da.attrs.get("units", ""))
    long_name = str(da.attrs.get("long_name", da.name))
    image = hv.Image(
        (x, y, frame.values),
        kdims=["x", "y"],
        vdims=[hv.Dimension("value", label=long_name, unit=units)],
        bounds=(vp.x_range[0], vp.y_range[0], vp.x_range[1], vp.y_range[1]),
    ).opts(
        cmap=view.colors.palette(),
        clim=view.clim,
        colorbar=True,
        clabel=quantity_label(da),
        width=vp.width,
        height=vp.height,
        xaxis=None,
        yaxis=None,
        tools=["hover"],
        bgcolor="#d9d2c5",
        clipping_colors={"NaN": (0, 0, 0, 0)},
        title=view.title(),
    )
    return image, view.title()


#: Panel's own files, which a saved page links from Panel's CDN (themes, loading spinner,
#: icons) even with its resources inline.
PANEL_DIST = pathlib.Path(pn.__file__).parent / "dist"
_PANEL_CDN = re.compile(
    r"https://cdn\.holoviz\.org/panel/[^/\"']+/dist/([^\"'?#\s)]+)(\?v=[\w.]+)?"
)
_CSS_URL = re.compile(r"url\(\s*['\"]?(?!data:|https?:|#)([^'\")]+)['\"]?\s*\)")


def _data_uri(path: pathlib.Path) -> str:
    """``path`` as a ``data:`` URI (CSS with the files it names inlined as well)."""
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    data = path.read_bytes()
    if path.suffix == ".css":

        def inline(match: re.Match) -> str:
            named = (path.parent / match.group(1)).resolve()
            inside = named.is_file() and named.is_relative_to(PANEL_DIST.resolve())
            return f"url('{_data_uri(named)}')" if inside else match.group(0)

        data = _CSS_URL.sub(inline, data.decode("utf-8")).encode("utf-8")
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


#: ``<script src>`` and ``<link href>`` tags naming another host: Panel adds one for every
#: extension loaded anywhere in the process (Vizzu, MathJax...), used by the page or not.
_EXTERNAL_TAG = re.compile(
    r"<script\b[^>]*\bsrc=[\"']https?://[^>]*>\s*</script>"
    r"|<link\b[^>]*\bhref=[\"']https?://[^>]*>"
    # ES modules Panel imports from a CDN: ``import Vizzu from "https://..."; window.Vizzu = ...``
    r"|<script type=\"module\">\s*import \w+ from \"https?://[^\"]+\";?\s*"
    r"(?:window\.\w+ = \w+;?\s*)*</script>",
    re.IGNORECASE,
)


def standalone(html: str) -> str:
    """``html`` with every file it links from Panel's CDN inlined as a ``data:`` URI, and the
    tags of extensions it does not use (scripts and styles of other hosts) left out, so the
    page asks no other host for anything and looks the same offline."""

    def inline(match: re.Match) -> str:
        path = (PANEL_DIST / match.group(1)).resolve()
        if path.suffix in (".js", ".mjs"):  # an extension's module: dropped below, unused here
            return match.group(0)
        if not (path.is_file() and path.is_relative_to(PANEL_DIST.resolve())):
            return match.group(0)
        return _data_uri(path)

    return _EXTERNAL_TAG.sub("", _PANEL_CDN.sub(inline, html))


def data_credit(state: ExplorerState) -> str:
    """The dataset's title and attribution, for a map's attribution line."""
    if state.source is None:
        return state.dataset_id or ""
    credit = state.source.attribution
    return state.source.title + (f" ({credit})" if credit else "")


def html_page(view: MapView, state: ExplorerState) -> io.BytesIO:
    """A standalone HTML page of the current map: field, coastline, probe points, colour
    bar and caption, with every resource inline (no server, no other host: opens offline)."""
    image, caption = _static_map(view)
    plot = image * coast_layer(view.frame.viewport) * pin_marks(state.points)
    credit = state.source.attribution if state.source else ""
    page = pn.Column(
        pn.pane.HoloViews(plot),
        pn.pane.HTML(
            f"<p style='font:12px sans-serif;color:#444'>{escape(caption)}"
            + (f"<br>Data: {escape(credit)}" if credit else "")
            + "<br>Made with Ocean Explorer</p>"
        ),
    )
    text = io.StringIO()
    page.save(text, resources="inline", title=caption, embed=True)
    return io.BytesIO(standalone(text.getvalue()).encode("utf-8"))


def true_frame(view: MapView):
    """The map's last frame, drawn again true to shape (one metre per pixel across and down)
    when the plot's size and view disagree (a plot still resizing)."""
    frame = view.frame
    if frame is None:
        raise ValueError("the map has not been drawn yet")
    viewport = frame.viewport.true_shape()
    if viewport is frame.viewport:
        return frame
    return view.frames.get(view.field_key(), view.shown, viewport)


def png_image(view: MapView) -> io.BytesIO:
    """The current map as a PNG: title, colour bar with units, coastline, graticule, true to
    shape, with an attribution line."""
    frame = true_frame(view)
    da = view.field()
    scale = ColourScale(view.colors.cmap, tuple(float(v) for v in view.clim))
    buffer = io.BytesIO()
    write_map_png(
        frame,
        buffer,
        scale,
        title=view.title(),
        label=quantity_label(da),
        metadata={"Title": view.title(), "Software": "Ocean Explorer"},
        credit=data_credit(view.state),
        data_box=view.home_extent(),
    )
    buffer.seek(0)
    return buffer


#: The Copy button's click, in the browser: the link onto the clipboard (the Clipboard API on
#: secure pages, localhost included; else a selected hidden text area), then "Copied".
COPY_JS = """
const text = link.value;
const done = () => { source.label = "Copied"; };
const fallback = () => {
  const area = document.createElement("textarea");
  area.value = text;
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  document.execCommand("copy");
  area.remove();
  done();
};
if (navigator.clipboard && window.isSecureContext) {
  navigator.clipboard.writeText(text).then(done, fallback);
} else {
  fallback();
}
"""
#: The Copy button's label before a click.
COPY_LABEL = "Copy link"
#: Time steps the dialog's animation covers by default (from the map's date on).
GIF_DEFAULT_STEPS = 24


def gif_animation(view: MapView, start: str, end: str) -> io.BytesIO:
    """The current map's run, view and colours from ``start`` to ``end`` (time labels) as an
    animated GIF: each frame the PNG's decorated map titled with its date (capped as
    :mod:`components.core.animation` says)."""
    if view.change is not None or view.swipe:
        raise ValueError("an animation shows one run: switch the map to a single run first")
    viewport = true_frame(view).viewport
    animation.check_frame_size(viewport.width, viewport.height)
    s = view.state
    series = s.dataset[s.variable]
    steps = animation.animation_steps(series, start, end)
    run = view.run or s.scenario
    label = quantity_label(series)
    frames, titles = [], []
    for step in steps:
        da = fields.select(
            series, s.depth, run if "scenario" in series.dims else None, strict_depth=False,
            time_index=step,
        )  # fmt: skip
        frames.append(render_field(pyramid_for(da, s.source.pyramid), viewport))
        when = time_label(da["time"].values[()])
        titles.append(f"{s.source.title}\n" + " · ".join(p for p in (run, when) if p))
    clim = animation.shared_range(frames, view.colors.limits)
    buffer = io.BytesIO()
    animation.write_gif(
        frames, titles, buffer, ColourScale(view.colors.cmap, clim), label, data_credit(s),
        data_box=view.home_extent(),
    )  # fmt: skip
    buffer.seek(0)
    return buffer


class ShareDialog:
    """The "Share / embed" button and the dialog it opens in a template's modal."""

    def __init__(
        self, state: ExplorerState, current_map, template, compare: CompareView | None = None
    ) -> None:
        self.state = state
        self.current_map = current_map  # () -> the MapView in front
        self.compare = compare  # sizes the frame of an embedded comparison
        self.template = template
        self.link = pn.widgets.TextInput(label="Link to this view", sizing_mode="stretch_width")
        self.light = pn.widgets.TextAreaInput(
            label="Embed in a public page (light: map tiles and a time slider, no live "
            "session; scales to many viewers)", height=90, sizing_mode="stretch_width",
        )  # fmt: skip
        self.copy = pn.widgets.Button(
            label=COPY_LABEL, color="primary", width=110, align="end", css_classes=["copy-link"]
        )
        # the button is the callback's ``source``: Panel keeps callbacks in a registry keyed
        # weakly by the button, so an argument that is the button itself would never let go
        # of it, nor of the session's template and design
        self.copy.js_on_click(args={"link": self.link}, code=COPY_JS)
        self.iframe = pn.widgets.TextAreaInput(
            label="Embed in a web page (iframe, minimal chrome)", height=90,
            sizing_mode="stretch_width",
        )  # fmt: skip
        self.script = pn.widgets.TextAreaInput(
            label="Embed as a Bokeh server document (script tag)", height=110,
            sizing_mode="stretch_width",
        )  # fmt: skip
        self.png = pn.widgets.FileDownload(
            callback=lambda: png_image(self.current_map()), filename="ocean-explorer.png",
            label="PNG of this map", embed=False, color="light",
        )  # fmt: skip
        self.html = pn.widgets.FileDownload(
            callback=lambda: html_page(self.current_map(), self.state),
            filename="ocean-explorer.html", label="Standalone HTML page", embed=False,
            color="light",
        )  # fmt: skip
        self.upload_note = pn.pane.HTML(
            "", css_classes=["upload-link-note"], sizing_mode="stretch_width", visible=False
        )
        self.gif_start = pn.widgets.Select(label="Animation from", width=130)
        self.gif_end = pn.widgets.Select(label="to", width=130)
        self.gif = pn.widgets.FileDownload(
            callback=self._gif, filename="ocean-explorer.gif", label="Animated GIF of this map",
            embed=False, color="light", css_classes=["gif-download"],
        )  # fmt: skip
        self.button = pn.widgets.Button(
            label="Share / embed", color="light", css_classes=["share-button"], width=130
        )
        self.button.on_click(self.open)
        template.modal.append(
            pn.Column(
                pn.pane.HTML("<h3 style='margin:0'>Share or embed this view</h3>"),
                self.upload_note,
                pn.Row(self.link, self.copy, sizing_mode="stretch_width"),
                self.light,
                self.iframe,
                self.script,
                pn.pane.HTML(
                    "<p style='font-size:12px;color:#555'>The embedding site's origin must be "
                    "allowed: <code>ocean-explorer serve --allow-websocket-origin "
                    "site.example</code>. For sites without a live server:</p>"
                ),
                pn.Row(self.png, self.html),
                pn.Row(self.gif_start, self.gif_end, self.gif, align="end"),
                pn.pane.HTML(
                    "<p style='font-size:12px;color:#555'>The animation shows this view and "
                    f"run, at most {animation.MAX_FRAMES} time steps.</p>"
                ),
                sizing_mode="stretch_width",
                css_classes=["share-dialog"],
            )
        )

    def refresh(self) -> None:
        """Fill the snippets for the view as it is now."""
        height = None
        if self.compare is not None and embed_route(self.state) == COMPARE_EMBED:
            height = self.compare.embed_height()
        texts = snippets(self.state, pn.state.location, height=height)
        self.link.value = texts["link"]
        self.light.value = texts["light"]
        self.copy.label = COPY_LABEL
        self.iframe.value = texts["iframe"]
        self.script.value = texts["script"]
        uploaded = self.state.dataset_id in getattr(self.state.catalog, "added", {})
        self.upload_note.object = (
            "<p style='font-size:13px;color:#a00'>This dataset was uploaded in this session: "
            f"its link and embeds work only while this page stays open (and at most "
            f"{UPLOAD_TTL_S / 3600:g} h). The PNG and HTML exports keep working.</p>"
            if uploaded
            else ""
        )
        self.upload_note.visible = uploaded
        times = [t for t in self.state.param.time.objects if t is not None]
        self.gif_start.options = self.gif_end.options = times
        if times:
            first = times.index(self.state.time) if self.state.time in times else 0
            self.gif_start.value = times[first]
            self.gif_end.value = times[min(first + GIF_DEFAULT_STEPS - 1, len(times) - 1)]

    def _gif(self) -> io.BytesIO:
        """The animation the dialog's range asks for; a problem is told as a notice."""
        try:
            return gif_animation(self.current_map(), self.gif_start.value, self.gif_end.value)
        except (SourceError, ValueError) as exc:
            self.state.report(f"Animation: {exc}")
            raise

    def open(self, *_) -> None:
        self.refresh()
        self.template.open_modal()
