"""A pane for a slow answer: it says at once that it computes, and marks the answer on screen
as stale until the new one replaces it.

A probe's series, an area's statistics or an impact table can take a second or more to
compute. Without a sign the user cannot tell a slow answer from none, and the plot still on
screen reads as the answer to the new question. :class:`AnswerPane` shows, in the same
event-loop turn as the question changes (so in the browser's next paint), a banner
"Computing …" and greys the previous answer with a note that it is for the previous choice;
both go when the latest question's answer arrives (older answers are dropped, see
:func:`components.answers.off_the_loop`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import panel as pn
import param

from .answers import off_the_loop

#: How the answer on screen looks while a newer one computes (CSS).
STALE_STYLE = {"opacity": "0.4", "filter": "grayscale(60%)", "transition": "opacity 0.1s"}
#: The banner: a spinning ring and what is computed, above the stale answer.
BANNER_CSS = """
:host { width: 100%; }
.answer-computing-banner { display: flex; align-items: center; gap: 8px; padding: 6px 10px;
  margin: 4px 0; border-radius: 4px; background: #e8f1f8; color: #0b3954; font-size: 13px; }
.answer-computing-banner .ring { width: 14px; height: 14px; border-radius: 50%;
  border: 2px solid #9cc2dc; border-top-color: #0b5d8c; animation: spin 0.8s linear infinite; }
@keyframes spin { to { transform: rotate(360deg); } }
"""


class AnswerPane(pn.viewable.Viewer):
    """The answer of ``compute`` for the current values of ``depends``, computed off the event
    loop, with a "Computing …" banner and the previous answer marked stale meanwhile.

    ``what`` names the answer in the banner ("the time series"); ``errors`` raised by
    ``compute`` go to ``on_error``, whose return value is shown instead.
    """

    computing = param.Boolean(default=False, doc="An answer is being computed for the question.")

    def __init__(
        self,
        compute: Callable[[], Any],
        depends: Sequence[param.Parameter],
        what: str = "the answer",
        errors: tuple[type[BaseException], ...] = (),
        on_error: Callable[[BaseException], Any] | None = None,
        **params: Any,
    ) -> None:
        super().__init__(**params)
        self.what = what
        self._shown = False  # an answer is on screen (which a new question makes stale)
        self.banner = pn.pane.HTML(
            "",
            visible=False,
            css_classes=["answer-computing"],
            stylesheets=[BANNER_CSS],
            sizing_mode="stretch_width",
            margin=(0, 10),
        )
        latest = off_the_loop(compute, errors, on_error, on_latest=self._answered)
        self.body: pn.viewable.Viewable | None = None  # the first answer may come at once
        self.body = pn.panel(pn.bind(latest, *depends), sizing_mode="stretch_width")
        for dependency in depends:
            dependency.owner.param.watch(self._asked, dependency.name)

    def _asked(self, *_: Any) -> None:
        """A new question: say so now, and mark what is on screen as the previous answer."""
        stale = " What is shown below is for the previous choice." if self._shown else ""
        self.banner.object = (
            "<div class='answer-computing-banner' role='status'><span class='ring'></span>"
            f"<span>Computing {self.what}…{stale}</span></div>"
        )
        self.banner.visible = True
        if self._shown and self.body is not None:
            self.body.styles = STALE_STYLE
        self.computing = True

    def _answered(self) -> None:
        """The latest question's answer (or error) is the one now shown."""
        self._shown = True
        self.banner.visible = False
        if self.body is not None:
            self.body.styles = {"opacity": "1"}
        self.computing = False

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(self.banner, self.body, sizing_mode="stretch_width")
