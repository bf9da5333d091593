"""A correction to Panel's queue of websocket writes, so that no update is left unsent.

Panel (1.9.4) writes a session's changes to its websocket at once where it can, and where
it cannot (Bokeh is writing to that socket, or earlier changes are still queued) it queues
the messages (``panel.io.document._WRITE_MSGS``), marks the document blocked
(``_WRITE_BLOCK``) and starts a task, ``_dispatch_msgs``, that sends the queue. Each task
takes the queue, writes it, waits for the writes, and then unblocks the document, even when
more messages were queued while it waited. The task started for those messages finds the
document unblocked and returns without sending them. They stay queued until the session
changes something else, and a page that waits for its answer (a step's new map, a click's
time series) waits for ever. Under 25 concurrent sessions 8 runs in 67 lost an
answer this way.

:func:`install` puts in a ``_dispatch_msgs`` that sends whatever is queued and unblocks the
document only when nothing is left in its queue. Everything else (what is queued, when, in
which order, the check of Bokeh's write lock) is Panel's own. ``tests/app/test_write_queue``
shows the loss with Panel's version and its absence with this one.
"""

from __future__ import annotations

import asyncio

import panel.io.document as _document
from bokeh.document import Document

#: Seconds between tries while Bokeh holds a socket's write lock (Panel's figure).
RETRY_S = 0.01


async def dispatch_queued(doc: Document) -> None:
    """Send the messages queued for ``doc``; unblock it once its queue is empty."""
    from tornado.websocket import WebSocketHandler

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
        for msg in msgs:
            futures += send(conn, msg=msg)
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


def install() -> None:
    """Make Panel send its queued websocket messages with :func:`dispatch_queued`."""
    _document._dispatch_msgs = dispatch_queued
