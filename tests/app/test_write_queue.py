"""Every update queued for a page's websocket reaches the page (fix "write-queue" in
``app/panel_fixes.py``).

Panel queues a session's messages when it cannot write them at once. The page here is
Panel's own extension point for sockets (``extra_socket_handlers``), with writes that end
when the test says, as a busy page's do. The race: a message is queued just as the task
sending the previous one finishes its write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import panel.io.document as pdoc
import pytest
from bokeh.document import Document
from bokeh.document.events import ModelChangedEvent
from bokeh.models import Div
from bokeh.protocol import Protocol
from tornado.locks import Lock

from app import panel_fixes


class Socket:
    """A page's websocket: Bokeh's write lock, and writes that end when told to."""

    def __init__(self) -> None:
        self.write_lock = Lock()
        self.received: list[str] = []
        self.writing: list[asyncio.Future] = []
        self.slow = True

    def write(self, conn, events=None, msg=None) -> list[asyncio.Future]:
        self.received += [event["new"] for event in msg.content["events"]]
        done = asyncio.get_running_loop().create_future()
        if self.slow:
            self.writing.append(done)
        else:
            done.set_result(None)
        return [done]

    def finish_writes(self) -> None:
        """The page has read what was sent; later writes end at once."""
        self.slow = False
        for done in self.writing:
            done.set_result(None)


class Connection:
    """What Panel's queue reads of a Bokeh server connection."""

    def __init__(self) -> None:
        self._socket = Socket()
        self.protocol = Protocol()


@pytest.fixture
def page(monkeypatch):
    def send(conn, *args, **kwargs):
        return conn._socket.write(conn, *args, **kwargs)

    monkeypatch.setitem(pdoc.extra_socket_handlers, Socket, send)
    return Connection()


@pytest.fixture
def fixed(monkeypatch):
    monkeypatch.setattr(pdoc, "_dispatch_msgs", panel_fixes.dispatch_queued)


def session() -> tuple[Document, Callable[[str], list[ModelChangedEvent]]]:
    doc = Document()
    div = Div(text="")
    doc.add_root(div)

    def change(text: str) -> list[ModelChangedEvent]:
        div.text = text
        return [ModelChangedEvent(doc, div, "text", text)]

    return doc, change


async def settle(doc: Document) -> None:
    """Wait for every task that sends ``doc``'s queue, including those they start."""
    while tasks := list(pdoc._write_tasks.get(doc, [])):
        await asyncio.gather(*tasks)


async def message_queued_as_a_write_ends(page: Connection) -> Document:
    doc, change = session()
    pdoc.schedule_write_events(doc, [page], change("2025-01-02"))
    await asyncio.sleep(0)  # the first message goes out; its write has not ended
    assert page._socket.received == ["2025-01-02"]
    page._socket.finish_writes()  # the write ends: its task goes on at the next turn
    pdoc.schedule_write_events(doc, [page], change("2025-01-03"))  # queued in this turn
    await settle(doc)
    return doc


def test_panel_alone_leaves_the_second_message_queued(page, monkeypatch):
    """The cause: with Panel's own queue the second update never reaches the page (when
    this fails, Panel sends it itself, and the fix can go)."""
    monkeypatch.setattr(pdoc, "_dispatch_msgs", panel_fixes.PANEL_DISPATCH)
    doc = asyncio.run(message_queued_as_a_write_ends(page))
    assert page._socket.received == ["2025-01-02"]
    assert len(pdoc._WRITE_MSGS[doc][page]) == 1  # still queued, with nothing to send it


def test_every_queued_message_reaches_the_page_in_order(page, fixed):
    doc = asyncio.run(message_queued_as_a_write_ends(page))
    assert page._socket.received == ["2025-01-02", "2025-01-03"]
    assert doc not in pdoc._WRITE_MSGS  # nothing left behind
    assert doc not in pdoc._WRITE_BLOCK  # later changes go straight out again


def test_queue_waits_for_bokehs_own_write_then_sends(page, fixed):
    """While Bokeh writes to the socket the queue waits, then sends in the order queued."""

    async def run() -> list[str]:
        doc, change = session()
        await page._socket.write_lock.acquire()  # Bokeh is sending a message of its own
        page._socket.finish_writes()
        pdoc.schedule_write_events(doc, [page], change("a"))
        pdoc.schedule_write_events(doc, [page], change("b"))
        await asyncio.sleep(2 * panel_fixes.RETRY_S)  # time for two tries while it is held
        sent_while_locked = list(page._socket.received)
        page._socket.write_lock.release()
        await settle(doc)
        return sent_while_locked

    assert asyncio.run(run()) == []
    assert page._socket.received == ["a", "b"]


class ClosedSocket(Socket):
    """A page that went away: its socket refuses every write."""

    def write(self, conn, events=None, msg=None) -> list[asyncio.Future]:
        from tornado.websocket import WebSocketClosedError

        raise WebSocketClosedError()


def test_a_page_gone_away_leaves_the_others_served(page, fixed, monkeypatch):
    gone = Connection()
    gone._socket = ClosedSocket()
    monkeypatch.setitem(
        pdoc.extra_socket_handlers, ClosedSocket, lambda c, **kw: c._socket.write(c, **kw)
    )

    async def run() -> None:
        doc, change = session()
        page._socket.finish_writes()
        await page._socket.write_lock.acquire()  # both queued: the queue's sender sends
        pdoc.schedule_write_events(doc, [gone, page], change("a"))
        page._socket.write_lock.release()
        await settle(doc)  # a sender that failed would raise here

    asyncio.run(run())
    assert page._socket.received == ["a"]
