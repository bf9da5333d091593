"""Number boxes that read what is typed and say so when it is not a number, never dropping it.

Bokeh's numeric input filters keystrokes in the browser: ``1,5`` (a decimal comma) arrives as
15, and ``-1`` or ``1e`` stay in the box while nothing applies. A :func:`number_box` is a
text box bound to a number parameter: what is typed is parsed on the server; a number within
the parameter's bounds applies, anything else gives a one-line notice naming the box and the
fix, and the box shows again the value that applies.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import panel as pn
import param

from .text import escape

#: How long a notice about a typed number stays (milliseconds).
NOTICE_MS = 8000


def parse_number(text: str, allow_none: bool = False) -> float | None:
    """The finite number ``text`` means; None for an empty text when ``allow_none``.

    Raises
    ------
    ValueError
        With the reason and the fix (a decimal comma, words, infinities...).
    """
    text = text.strip()
    if not text:
        if allow_none:
            return None
        raise ValueError("is empty: type a number")
    try:
        value = float(text)
    except ValueError:
        if "," in text and text.replace(",", ".", 1).replace(".", "", 1).lstrip("+-").isdigit():
            raise ValueError(
                f"is not a number: decimals take a point ({text.replace(',', '.', 1)})"
            ) from None
        raise ValueError("is not a number (e.g. 1.5 or -0.2)") from None
    if not math.isfinite(value):
        raise ValueError("is not a finite number")
    return value


def _text(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _warn(text: str) -> None:
    if pn.state.notifications is not None:
        pn.state.notifications.warning(escape(text), duration=NOTICE_MS)


def _check_bounds(p: param.Number, value: float) -> None:
    low, high = p.bounds or (None, None)
    if low is not None and value < low:
        raise ValueError(f"is below {low:g}: type {low:g} or more")
    if high is not None and value > high:
        raise ValueError(f"is above {high:g}: type {high:g} or less")


def number_box(
    target: param.Parameterized,
    name: str,
    label: str | None = None,
    notify: Callable[[str], None] = _warn,
    check: Callable[[float], None] | None = None,
    **kwargs: Any,
) -> pn.widgets.TextInput:
    """A text box for ``target``'s number parameter ``name``, both ways: typing applies a
    number (within the parameter's bounds, and passing ``check``, which raises ValueError
    saying why not; empty is None where None is allowed), the box follows the parameter, and
    anything that is not such a number goes to ``notify`` as ``"<label>: '<text>' <why and
    fix>"`` while the box shows the value that applies."""
    p = target.param[name]
    label = label or p.label
    box = pn.widgets.TextInput(label=label, value=_text(getattr(target, name)), **kwargs)
    refused: dict[str, Any] = {"text": None, "at": -math.inf}

    def typed(event: param.parameterized.Event) -> None:
        try:
            value = parse_number(event.new, allow_none=p.allow_None)
            if value is not None:
                _check_bounds(p, value)
                if check is not None:
                    check(value)
        except ValueError as exc:
            shown = event.new.strip()
            shown = shown if len(shown) <= 30 else shown[:27] + "..."
            # the browser may send one typed text twice (Enter, then leaving the box, before
            # the box is reset): one notice for it while the first is still on screen
            now = time.monotonic()
            if event.new != refused["text"] or now - refused["at"] > NOTICE_MS / 1000:
                notify(f"{label}: '{shown}' {exc}")
            refused.update(text=event.new, at=now)
            box.value = _text(getattr(target, name))
            return
        setattr(target, name, value)

    box.param.watch(typed, "value")
    target.param.watch(lambda event: setattr(box, "value", _text(event.new)), name)
    return box
