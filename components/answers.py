"""Answers computed off the event loop, of which a pane shows the latest question's only.

A pane bound to an ``async`` function (``pn.bind``) computes in a thread
(``asyncio.to_thread``), so a slow read for one session never stalls the others. When the
question changes while an answer is being computed (quick clicks, an animation's steps),
several answers are in flight and come back in any order; Panel alone (1.9.4) shows whichever
comes back last, so the second of three quick clicks could stay on screen while the map's pin
is at the third. :func:`off_the_loop` drops every answer to a question older than the latest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import param


def off_the_loop(
    compute: Callable[[], Any],
    errors: tuple[type[BaseException], ...] = (),
    on_error: Callable[[BaseException], Any] | None = None,
    on_latest: Callable[[], None] | None = None,
) -> Callable[..., Awaitable[Any]]:
    """``compute`` as an ``async`` function for ``pn.bind``: run in a thread at each call,
    its answer shown only if no later call came meanwhile (otherwise ``param.Skip``).

    ``errors`` raised by ``compute`` go to ``on_error`` (on the event loop, for the latest
    call only), whose return value is shown instead. ``on_latest`` is called (on the event
    loop) when the latest call's answer or error comes back.
    """
    asked = 0

    async def answer(*_: Any) -> Any:
        nonlocal asked
        asked += 1
        question = asked
        try:
            result = await asyncio.to_thread(compute)
        except errors as exc:
            if question != asked:
                return param.Skip
            result = on_error(exc)
        except BaseException:
            if question == asked and on_latest is not None:
                on_latest()
            raise
        if question != asked:
            return param.Skip
        if on_latest is not None and result is not param.Skip:  # Skip: no answer given
            on_latest()
        return result

    return answer
