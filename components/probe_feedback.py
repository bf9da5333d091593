"""The browser's own first sign that a map gesture asked a probe question.

A click or a drawn region goes to the server, whose answer takes a second or more; the
server's "Computing …" banner (:class:`components.answer_pane.AnswerPane`) reaches the page
only after the server has handled the gesture, which on a busy machine is itself slow. So the
map shows the sign in the browser, in the same event: a drawn box, lasso or polygon brings
the Area tab to the front and shows its banner; a click shows the banner of the point tab in
front (the time series when the Area tab was). The server then confirms (or takes back) the
banner and hides it when the answer is there.
"""

from __future__ import annotations

import itertools

from bokeh.models import CustomJS

#: Tabs of the probe view, in order (the Area tab is the last).
AREA_TAB = 3
_COUNTER = itertools.count(1)

#: Find the probe tabs and banners of one view by their CSS classes in every document of the
#: page, then show the banner of the tab that answers the gesture.
SHOW_JS = """
const tabsClass = `probe-tabs-${uid}`;
if (kind === "selection" && !cb_obj.final) return;  // a lasso still being drawn
let tabs = null;
const banners = {};
for (const doc of Bokeh.documents)
  for (const model of doc.all_models) {
    const classes = model.css_classes || [];
    if (classes.includes(tabsClass)) tabs = model;
    for (const c of classes)
      if (c.startsWith(`answer-computing-${uid}-`)) banners[Number(c.split("-").pop())] = model;
  }
if (tabs === null) return;
let tab = tabs.active;
if (kind === "selection") tab = area;
else if (tab === area) tab = 0;
if (tabs.active !== tab) tabs.active = tab;
if (banners[tab] !== undefined) banners[tab].visible = true;
"""


class GestureFeedback:
    """Hooks for the map's plots that show a probe view's banner in the browser at once.

    ``feedback.tabs_class`` goes on the view's tabs and ``feedback.banner_class(i)`` on the
    banner of tab ``i``; ``feedback.hook`` on an element drawn on the map (its figure is the
    map's).
    """

    def __init__(self) -> None:
        self.uid = next(_COUNTER)
        self.tabs_class = f"probe-tabs-{self.uid}"

    def banner_class(self, tab: int) -> str:
        return f"answer-computing-{self.uid}-{tab}"

    def hook(self, plot, element) -> None:
        """Listen, on the map's figure, for drawn regions and clicks (once per figure)."""
        figure = plot.state
        tag = f"probe-feedback-{self.uid}"
        if tag in figure.tags:
            return
        figure.tags = [*figure.tags, tag]
        for event, kind in (("selectiongeometry", "selection"), ("tap", "tap")):
            args = {"uid": self.uid, "kind": kind, "area": AREA_TAB}
            figure.js_on_event(event, CustomJS(args=args, code=SHOW_JS))
