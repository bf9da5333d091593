"""How the map's plots live and go: hooks that do not keep a session, plots retired at once.

HoloViews keeps an element's plot hooks in its global options store until the element is
collected, and Panel replaces a pane's plot on a later turn of the event loop: a hook bound
to a session's map, or a redraw queued for a plot being replaced, outlives what it serves.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

import panel as pn


def weak_hook(method: Callable) -> Callable:
    """A plot hook calling ``method`` (a bound method of a session's map) while its object
    lives. HoloViews keeps an element's hooks in its global options store until the element
    is collected; a hook holding the map would keep the element, and with it the whole
    session, for good (each closed session over tiles left about 5 MB behind)."""
    ref = weakref.WeakMethod(method)

    def hook(*args) -> None:
        target = ref()
        if target is not None:
            target(*args)

    return hook


def retire_plots(pane: pn.pane.HoloViews) -> None:
    """Stop the plots ``pane`` shows now from redrawing, before it gets a new object. Its new
    plot is built on a later turn of the event loop; the streams' redraws of the old one,
    queued first, would draw its picture anew (a computed map: a third of a second each; in
    the new colours under the old colour bar), hold the new plot back, and a click meanwhile
    would go to a plot about to go (lost). HoloViews' own cleanup, done again by Panel when
    the plot is replaced."""
    for plot, _ in list(pane._plots.values()):
        # a redraw already queued (a stream's event waiting for the document's lock) finds
        # the plot retired and draws nothing: HoloViews would build all its layers anew on a
        # plot whose layers are gone (and fail on a tile layer, added to the overlay's hover)
        for retired in plot.traverse(lambda p: p):  # before the cleanup, which drops them
            retired._trigger_refresh = _retired
            retired.push = _retired
        plot.cleanup()


def _retired(*args, **kwargs) -> None:
    """What a retired plot's redraw and push do: nothing."""
