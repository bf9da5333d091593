"""A pane for a slow answer that says at once that it computes and marks the old answer stale.

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
:host(:not(.stale)) .stale-note { display: none; }
.answer-computing-banner .ring { width: 14px; height: 14px; border-radius: 50%;
  border: 2px solid #9cc2dc; border-top-color: #0b5d8c; animation: spin 0.8s linear infinite; }
@keyframes spin { to { transform: rotate(360deg); } }
"""


class AnswerPane(pn.viewable.Viewer):
    """The answer of ``compute`` for the current values of ``depends``, computed off the event
    loop, with a "Computing …" banner and the previous answer marked stale meanwhile.

    ``what`` names the answer in the banner ("the time series"); ``errors`` raised by
    ``compute`` go to ``on_error``, whose return value is shown instead. While ``active()``
    is false (a hidden tab) nothing is computed: :meth:`refresh` answers when it is shown.
    """

    computing = param.Boolean(default=False, doc="The banner says an answer is computed.")
    asked = param.Integer(default=0, precedence=-1, doc="Counts the questions asked again.")

    def __init__(
        self,
        compute: Callable[[], Any],
        depends: Sequence[param.Parameter],
        what: str = "the answer",
        errors: tuple[type[BaseException], ...] = (),
        on_error: Callable[[BaseException], Any] | None = None,
        active: Callable[[], bool] | None = None,
        banner_class: str = "",
        **params: Any,
    ) -> None:
        super().__init__(**params)
        self.what = what
        self.active = active or (lambda: True)
        self._pending = True  # the question asked has no answer on screen yet
        self._shown = False  # an answer is on screen (which a new question makes stale)
        self._classes = ["answer-computing", *([banner_class] if banner_class else [])]
        # written once: a question only shows or hides it (a new text would cost a redraw)
        self.banner = pn.pane.HTML(
            "<div class='answer-computing-banner' role='status'><span class='ring'></span>"
            f"<span>Computing {what}…<span class='stale-note'> What is shown below is for "
            "the previous choice.</span></span></div>",
            visible=False,
            css_classes=self._classes,
            stylesheets=[BANNER_CSS],
            sizing_mode="stretch_width",
            margin=(0, 10),
        )

        def answer() -> Any:  # a pane out of sight (a hidden tab) answers when shown
            return compute() if self.active() else param.Skip

        latest = off_the_loop(answer, errors, on_error, on_latest=self._answered)
        self.body: pn.Column | None = None  # the first answer may come at once
        # the stale look is on a column around the answer: styles set on the answer itself
        # would be passed on to its plot, which Bokeh refuses (Panel 1.9)
        self.body = pn.Column(
            # the first answer once the page has loaded: an answer that came while the page
            # was still connecting could be lost on its way, and the pane stayed empty
            pn.panel(
                pn.bind(latest, *depends, self.param.asked),
                sizing_mode="stretch_width",
                defer_load=True,
            ),
            sizing_mode="stretch_width",
        )
        for dependency in depends:
            dependency.owner.param.watch(self._asked, dependency.name)

    def _asked(self, *_: Any) -> None:
        """A new question: say so now, and mark what is on screen as the previous answer."""
        self._pending = True
        self.announce()

    def announce(self) -> None:
        """Say that an answer is on its way (a gesture about to ask a new question)."""
        if self._shown and self.body is not None:
            self.body.styles = STALE_STYLE
            self.banner.css_classes = [*self._classes, "stale"]
        self.banner.visible = True
        self.computing = True

    def withdraw(self) -> None:
        """Take back :meth:`announce` when no question followed (the answer on screen is
        still the answer)."""
        if not self._pending:
            self._answered()

    def refresh(self) -> None:
        """Answer the question now if it has no answer on screen (call when it comes in
        sight: ``active`` is then true)."""
        if self._pending:
            self.asked += 1

    def _answered(self) -> None:
        """The latest question's answer (or error) is the one now shown."""
        self._shown = True
        self._pending = False
        self.banner.visible = False
        self.banner.css_classes = self._classes
        if self.body is not None:
            self.body.styles = {"opacity": "1"}
        self.computing = False

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(self.banner, self.body, sizing_mode="stretch_width")
