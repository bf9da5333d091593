"""Every change the product makes to Panel's, Bokeh's and Tornado's behaviour, in one place.

The package registry serves Panel 1.9.4, which has advisories fixed only in Panel 1.9.5 and
1.9.6, and two defects of its own that cost users answers or privacy. Each correction here is
a :class:`Fix`: what it is for (an advisory id or the defect), the versions of the package it
corrects, and a function that applies it. :func:`install` applies the fixes meant for the
installed versions and skips the others with a log line, so that upgrading Panel retires a
fix by itself. ``serve`` calls :func:`install` before it makes a server; in a notebook call
it once before showing a view (``from app import panel_fixes; panel_fixes.install()``).

The README's "Security" table lists each advisory, whether the product uses the feature,
and the test that sends its exploit. Options whose fix cannot be carried here are refused
while an affected Panel is installed (:func:`refusal`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from urllib.parse import urlparse

import bokeh.server.views.autoload_js_handler as _autoload
import bokeh.server.views.multi_root_static_handler as _multi_root
import bokeh.server.views.static_handler as _bokeh_static
import panel as pn
import panel.auth as _auth
import panel.io.document as _document
import panel.io.server as _server
from bokeh.document import Document
from bokeh.server.util import check_allowlist
from packaging.specifiers import SpecifierSet
from packaging.version import Version
from tornado.web import HTTPError, RequestHandler

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Fix:
    """One correction of a library's behaviour and the versions it is for."""

    #: Short name, used in log lines and tests.
    name: str
    #: The advisory id, or what goes wrong without the fix.
    why: str
    #: The package whose behaviour it corrects ("panel", "bokeh").
    package: str
    #: The versions that need it, as a PEP 440 specifier ("<1.9.5"); "" for every version
    #: (a policy of ours rather than an upstream defect).
    affected: str
    #: Applies the fix (idempotent: applying twice changes nothing more).
    apply: Callable[[], None]

    def needed(self) -> bool:
        """True when the installed version of :attr:`package` is one the fix is for."""
        return Version(version(self.package)) in SpecifierSet(self.affected)


# -- GHSA-wfhv-r23p-8x9w: /components/<module>/... imported any module --------------------

#: Top-level packages whose components a page may load resources of (``/components/...``):
#: what the app's pages really request (Panel's templates and themes) and the HoloViz and
#: Bokeh packages its views are made of, and our own.
COMPONENT_PACKAGES = ("panel", "bokeh", "holoviews", "geoviews", "app", "components")
_MODULE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")
_panel_parse_url_path = _server.ComponentResourceHandler.parse_url_path


def component_module(name: str) -> bool:
    """True when ``/components/<name>/...`` may be served: a module of an allowed package
    that is already imported (so answering imports nothing). Names such as
    ``unittest.__main__``, ``this``, ``os`` or ``http.server`` are refused."""
    if not _MODULE_NAME.match(name):  # also refuses dunder parts such as __main__
        return False
    return name.split(".")[0] in COMPONENT_PACKAGES and name in sys.modules


def _parse_component_path(self, path: str) -> str:
    module = path.split("/", 1)[0]
    if not component_module(module):
        raise HTTPError(404, "no such component")  # nothing imported, nothing said of why
    return _panel_parse_url_path(self, path)


def _allow_listed_components() -> None:
    _server.ComponentResourceHandler.parse_url_path = _parse_component_path


# -- Path tricks under /components/, /static/ and our static folders -----------------------

#: Encoded separators, dots and NUL, backslashes and empty or dot segments: a static path
#: never needs them, and some file systems or proxies resolve them differently from Tornado.
_PATH_TRICK = re.compile(r"%2f|%5c|%2e|%00|\\|//|(^|/)\.\.?(/|$)", re.IGNORECASE)
_STATIC_HANDLERS = (
    _server.ComponentResourceHandler,
    _server.AuthenticatedStaticFileHandler,
    _bokeh_static.StaticHandler,
    _multi_root.MultiRootStaticHandler,
)


def path_trick(path: str) -> bool:
    """True for a request path (as sent, still percent-encoded) with a path trick."""
    return bool(_PATH_TRICK.search(path))


def _refusing_path_tricks(prepare: Callable) -> Callable:
    async def prepare_static(self: RequestHandler):
        if path_trick(self.request.path):
            raise HTTPError(400, "invalid path")
        result = prepare(self)
        if asyncio.iscoroutine(result):
            await result

    prepare_static.refuses_path_tricks = True
    return prepare_static


def _static_paths_checked() -> None:
    for handler in _STATIC_HANDLERS:
        if not getattr(handler.prepare, "refuses_path_tricks", False):
            handler.prepare = _refusing_path_tricks(handler.prepare)


# -- autoload.js gave any site the session token (and the cookies inside it) ---------------

#: The autoload handlers: Panel's (which serves ``/autoload.js``) and Bokeh's, its base.
_AUTOLOAD_HANDLERS = (_server.AutoloadJsHandler, _autoload.AutoloadJsHandler)


def embedder_allowed(handler: RequestHandler) -> bool:
    """True when the page asking for ``autoload.js`` may embed the app: its Origin or
    Referer names an allowed websocket origin, or the request says nothing of another site
    (a same-site page, a direct request). A ``<script>`` tag on another site sends no
    Origin, and with ``referrerpolicy="no-referrer"`` no Referer, but browsers mark it
    ``Sec-Fetch-Site: cross-site``."""
    headers = handler.request.headers
    page = headers.get("Origin") or headers.get("Referer")
    if page:
        host = urlparse(page).netloc.lower()
        return bool(host) and check_allowlist(host, handler.application.websocket_origins)
    return headers.get("Sec-Fetch-Site", "none") != "cross-site"


def _only_for_allowed_embedders(method: Callable) -> Callable:
    async def answer(self, *args, **kwargs):
        if not embedder_allowed(self):
            raise HTTPError(403, "this site may not embed the app")
        return await method(self, *args, **kwargs)

    answer.embedders_checked = True
    return answer


def _autoload_for_allowed_embedders() -> None:
    for handler in _AUTOLOAD_HANDLERS:
        for name in ("get", "options"):
            method = getattr(handler, name)
            if not getattr(method, "embedders_checked", False):
                setattr(handler, name, _only_for_allowed_embedders(method))


# -- Login cookies without SameSite --------------------------------------------------------


_tornado_set_cookie = RequestHandler.set_cookie


def _lax_set_cookie(self, name, value, *args, **kwargs):
    kwargs.setdefault("samesite", "Lax")  # sent on top-level navigation, never from embeds
    return _tornado_set_cookie(self, name, value, *args, **kwargs)


def _login_cookies_samesite() -> None:
    """Panel's login, logout and OAuth handlers (the classes its ``auth`` module defines)."""
    for handler in vars(_auth).values():
        if (
            isinstance(handler, type)
            and issubclass(handler, RequestHandler)
            and handler.__module__ == _auth.__name__
        ):
            handler.set_cookie = _lax_set_cookie


# -- Panel's write queue left messages unsent ----------------------------------------------

#: Seconds between tries while Bokeh holds a socket's write lock (Panel's figure).
RETRY_S = 0.01
#: Panel's own sender, kept to show the defect in tests.
PANEL_DISPATCH = _document._dispatch_msgs


async def dispatch_queued(doc: Document) -> None:
    """Send the messages queued for ``doc``; unblock it once its queue is empty.

    Panel (1.9.4) writes a session's changes to its websocket at once where it can, and
    where it cannot (Bokeh is writing to that socket, or earlier changes are still queued)
    it queues them (``_WRITE_MSGS``), marks the document blocked (``_WRITE_BLOCK``) and
    starts a task, ``_dispatch_msgs``, that sends the queue. Panel's task takes the queue,
    writes it, waits, and then unblocks the document even when more messages were queued
    meanwhile; the task started for those finds the document unblocked and returns without
    sending them, so a page waiting for its answer (a step's new map, a click's series)
    waits for ever. Under 25 concurrent sessions 8 runs in 67 lost an answer so. This
    sender sends whatever is queued; everything else (what is queued, when, in which order,
    the check of Bokeh's write lock) is Panel's own.
    """
    from tornado.websocket import WebSocketClosedError, WebSocketHandler

    queued = _document._WRITE_MSGS.pop(doc, {})
    remaining, futures = {}, []
    for conn, msgs in queued.items():
        socket = conn._socket
        if hasattr(socket, "write_lock") and socket.write_lock._block._value == 0:
            remaining[conn] = msgs  # Bokeh is writing to this socket: try again shortly
            continue
        if isinstance(socket, WebSocketHandler):
            send = _document.dispatch_tornado
        else:
            send = _document.extra_socket_handlers.get(type(socket), _document.dispatch_django)
        try:
            for msg in msgs:
                futures += send(conn, msg=msg)
        except WebSocketClosedError:  # the page went away: the rest is for no one
            continue
    if futures:
        _document._WRITE_FUTURES.setdefault(doc, []).extend(futures)
        await _document._run_write_futures(doc)
    if remaining:
        later = _document._WRITE_MSGS.setdefault(doc, {})
        for conn, msgs in remaining.items():
            later[conn] = msgs + later.get(conn, [])
        await asyncio.sleep(RETRY_S)
        _document._dispatch_write_task(doc, dispatch_queued, doc)
    elif doc not in _document._WRITE_MSGS:
        # nothing was queued while the writes went out: later changes may go straight out
        _document._WRITE_BLOCK.pop(doc, None)


def _write_queue_sends_all() -> None:
    _document._dispatch_msgs = dispatch_queued


# -- The Fast design asked Google's servers for a font -------------------------------------


def _no_web_font() -> None:
    # Panel builds the design's file paths from its class name, so the design itself is
    # trimmed rather than subclassed; text falls back to the browser's sans-serif
    pn.theme.Fast._resources = {**pn.theme.Fast._resources, "font": {}}


# -- FileDropper kept whole uploads in memory, in arrival order, limited in the browser only --

_panel_process_event = pn.widgets.FileDropper._process_event


def _hand_over_chunks(self, event) -> None:
    """Give each chunk to the dropper's ``chunk_receiver`` as it arrives (nothing kept).

    Panel's own handling keeps every chunk of a file in memory and then joins them (twice the
    file's size at once), appends them in the order the event threads process them (which
    with ``--num-threads`` need not be the order sent), and leaves its size limits to the
    browser, where anyone can lift them. A dropper without a receiver keeps Panel's handling.
    """
    receiver = getattr(self, "chunk_receiver", None)
    if receiver is None:
        return _panel_process_event(self, event)
    data = dict(event.data)
    if event.event_name == "delete_event":
        data["deleted"] = True
    receiver(data)
    return None


def _file_dropper_streams() -> None:
    pn.widgets.FileDropper._process_event = _hand_over_chunks


def streaming_file_dropper(receiver: Callable[[dict], None], **params) -> pn.widgets.FileDropper:
    """A FileDropper whose chunks go to ``receiver`` as they arrive, checked on the server.

    ``receiver`` gets the event's data: ``name`` (as the browser names the file), ``chunk``
    (from 1), ``total_chunks``, ``data`` (bytes), ``type``; or ``deleted=True`` when the
    user removes a file.
    """
    _file_dropper_streams()  # whatever else is installed: an upload is never held whole
    dropper = pn.widgets.FileDropper(**params)
    dropper.chunk_receiver = receiver
    return dropper


# -- Bokeh 3.9's checkbox label is a plain <div>: clicking it did nothing -------------------

#: Runs once in each page: a click on a checkbox's label clicks its box (the box's own
#: "change" event then toggles the widget, so the server hears it as any other click).
CHECKBOX_LABELS_JS = """
if (!window.oceanExplorerCheckboxLabels) {
  window.oceanExplorerCheckboxLabels = true;
  document.addEventListener("click", (event) => {
    const label = event.composedPath()[0];
    if (!(label instanceof HTMLElement) || !label.classList.contains("bk-label")) return;
    const box = label.previousElementSibling;
    if (box instanceof HTMLInputElement && box.type === "checkbox" && !box.disabled) box.click();
  });
}
"""


def _label_toggles(session_context) -> None:
    from bokeh.models import CustomJS

    session_context._document.js_on_event("document_ready", CustomJS(code=CHECKBOX_LABELS_JS))


def _checkbox_labels_toggle() -> None:
    if _label_toggles not in pn.state._on_session_created:
        pn.state.on_session_created(_label_toggles)


#: Every fix, in the order applied.
FIXES: tuple[Fix, ...] = (
    Fix(
        "component-modules",
        "GHSA-wfhv-r23p-8x9w: GET /components/<module>/... imported any module (one request "
        "could stop the server)",
        "panel",
        "<1.9.5",
        _allow_listed_components,
    ),
    Fix(
        "static-path-tricks",
        "encoded separators and dot segments under /components/, /static/ and /assets/ "
        "answer 400 (defence in depth beside Tornado's own root check)",
        "panel",
        "",
        _static_paths_checked,
    ),
    Fix(
        "autoload-embedders",
        "autoload.js (the session token, with the login cookies inside it) answered any site "
        "that included it; only pages of the allowed websocket origins get it (Panel 1.9.6)",
        "panel",
        "<1.9.6",
        _autoload_for_allowed_embedders,
    ),
    Fix(
        "login-cookies-samesite",
        "login cookies carried no SameSite attribute; they are SameSite=Lax (Panel 1.9.6)",
        "panel",
        "<1.9.6",
        _login_cookies_samesite,
    ),
    Fix(
        "write-queue",
        "a websocket message queued as the previous write ended was never sent",
        "panel",
        "<1.10",
        _write_queue_sends_all,
    ),
    Fix(
        "no-web-font",
        "the Fast design linked Open Sans from Google's font server (offline: a failed "
        "request; online: a third party told of every page view)",
        "panel",
        "<1.10",
        _no_web_font,
    ),
    Fix(
        "file-dropper-streams",
        "FileDropper kept a whole upload in memory (twice while joining), joined chunks in the "
        "order event threads took them, and checked its size limits only in the browser; the "
        "app's dropper hands each chunk to a receiver that writes and counts it on the server",
        "panel",
        "",
        _file_dropper_streams,
    ),
    Fix(
        "checkbox-labels",
        "clicking a checkbox's label did not toggle it (Bokeh draws the label as a <div>, "
        "not a <label>)",
        "bokeh",
        "<3.10",
        _checkbox_labels_toggle,
    ),
)


def install() -> list[str]:
    """Apply every fix the installed versions need; returns the names applied.

    A fix not needed by the installed version is skipped with a log line naming it.
    """
    applied = []
    for fix in FIXES:
        if fix.needed():
            fix.apply()
            applied.append(fix.name)
        else:
            log.info(
                "event=panel_fix_skipped fix=%s %s=%s (fixed upstream)",
                fix.name,
                fix.package,
                version(fix.package),
            )
    return applied


#: Options refused while an affected Panel is installed: the advisories whose fixes live in
#: Panel's OAuth flow, which the product cannot carry safely. (option, versions, message)
REFUSED_OPTIONS = (
    (
        "--oauth-provider",
        "<1.9.6",
        "Panel {version}'s OAuth login has open advisories (GHSA-3349-j265-r4mf: a login "
        "with an empty state is accepted; GHSA-gfgq-cv3v-p4wc: the is_guest cookie replaces "
        "the logged-in user; OAuth logins not bound to the browser that started them); "
        "install Panel >= 1.9.6, or use --basic-auth or a login at the reverse proxy",
    ),
)


def refusal(option: str) -> str | None:
    """The one-line reason ``option`` is refused with the installed Panel, or None."""
    installed = version("panel")
    for name, affected, message in REFUSED_OPTIONS:
        if name == option and Version(installed) in SpecifierSet(affected):
            return f"{option}: " + message.format(version=installed)
    return None
