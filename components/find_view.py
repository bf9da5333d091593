"""The "Find data" panel: search the configured catalogues and open a hit in this session.

The catalogues are the catalog file's ``catalogues`` (EDITO's data lake and Copernicus
Marine by default, :mod:`data_adapters.catalogues`). Filters: the words typed, and on demand
the map's box and the shown day. Each hit shows its title, provider, extent, variables and
licence; "Open" makes it a dataset of this session (its SOURCE string is its id, so the URL
keeps it as a link), and "Compare with…" compares it with the dataset shown (a what-if run
against it, regridded onto its grid as scenario groups are). A catalogue that cannot be
reached is one line of notice, within the remote timeout; the others' hits still show.
Every text from a catalogue is escaped.
"""

from __future__ import annotations

import asyncio

import panel as pn
import param

from data_adapters import SourceError
from data_adapters.catalogues import Found, search_catalogues
from data_adapters.search import Hit, Query

from .state import ExplorerState
from .text import escape

#: Hits listed per catalogue.
HITS_PER_CATALOGUE = 10


def view_box(extent: tuple | None) -> tuple[float, float, float, float] | None:
    """The map view (W, S, E, N; E may pass 180) as a search box in [-180, 180) (W > E
    crosses the dateline); None for a whole-globe view or no view."""
    if extent is None:
        return None
    west, south, east, north = extent
    if east - west >= 360.0:
        return None if south <= -90 and north >= 90 else (-180.0, south, 180.0, north)
    west, east = ((v + 180.0) % 360.0 - 180.0 for v in (west, east))
    return (west, max(south, -90.0), east, min(north, 90.0))


def _extent(hit: Hit) -> str:
    parts = []
    if hit.bbox:
        west, south, east, north = hit.bbox[:4]
        parts.append(f"W {west:g}, S {south:g}, E {east:g}, N {north:g}")
    if hit.time_range:
        start, end = (t[:10] if t else "…" for t in hit.time_range)
        parts.append(f"{start} to {end}")
    return " · ".join(parts)


def _variables(hit: Hit) -> str:
    return ", ".join(
        v["name"]
        + (f" ({v['standard_name']})" if v["standard_name"] not in ("", v["name"]) else "")
        for v in hit.variables[:8]
    )


class FindView(pn.viewable.Viewer):
    """Search the configured catalogues; open a hit as a dataset of this session."""

    state = param.ClassSelector(class_=ExplorerState, doc="The session a hit opens in.")
    text = param.String(default="", doc="Words to find (all must match).")
    in_view = param.Boolean(default=True, label="Only in the map's box")
    at_time = param.Boolean(default=False, label="Only with data on the shown day")
    hits = param.List(default=[], item_type=Hit, doc="The last search's hits.")
    notice = param.String(default="", doc="What the last search has to say (one line each).")

    def query(self) -> Query:
        """The search the panel's filters describe."""
        day = str(self.state.time)[:10] if self.at_time and self.state.time else None
        return Query(
            text=self.text,
            bbox=view_box(self.state.extent) if self.in_view else None,
            start=day,
            end=day,
            limit=HITS_PER_CATALOGUE,
        )

    def _find(self, query: Query) -> Found:
        """The hits and notices of ``query`` over every configured catalogue (slow: remote)."""
        settings = self.state.catalog.catalogues
        if not settings.names():
            return Found(notices=["No catalogue is configured for searching."])
        try:
            found = search_catalogues(settings, query)
        except SourceError as exc:  # a bad filter: nothing was asked
            return Found(notices=[str(exc)])
        if not found.hits and not found.notices:
            found.notices.append("No dataset matches.")
        return found

    def _show(self, found: Found) -> None:
        self.param.update(hits=found.hits, notice="\n".join(found.notices))

    def search(self, *_) -> Found:
        """Search every configured catalogue; the hits and notices show in the panel."""
        found = self._find(self.query())
        self._show(found)
        return found

    async def _search_clicked(self, *_) -> None:
        """The search, off the event loop: other sessions go on while catalogues answer."""
        self.param.update(hits=[], notice="Searching…")
        found = await asyncio.to_thread(self._find, self.query())
        self._show(found)

    def open(self, hit: Hit) -> None:
        """Show ``hit`` as this session's dataset."""
        try:
            self.state.open_found(hit.source)
        except SourceError as exc:
            self.state.report(str(exc))

    def compare(self, hit: Hit) -> None:
        """Compare ``hit`` with the dataset shown (in its shown run): the map shows the hit
        minus it, the hit regridded onto its grid when needed."""
        try:
            self.state.compare_with(hit.source)
        except SourceError as exc:
            self.state.report(str(exc))

    # -- layout -------------------------------------------------------------------------------
    def _hit_card(self, hit: Hit) -> pn.viewable.Viewable:
        rows = [
            ("Provider", hit.provider),
            ("Extent", _extent(hit)),
            ("Variables", _variables(hit)),
            ("Licence", hit.license),
        ]
        html = f"<b>{escape(hit.title)}</b>" + "".join(
            f"<div><span style='color:#555'>{k}:</span> {escape(v)}</div>" for k, v in rows if v
        )
        button = pn.widgets.Button(
            name="Open", button_type="primary", width=70, css_classes=["find-open"]
        )
        button.on_click(lambda _: self.open(hit))
        compare = pn.widgets.Button(
            name="Compare with…",
            description="The hit minus the dataset shown now (regridded onto its grid)",
            width=120,
            css_classes=["find-compare"],
        )
        compare.on_click(lambda _: self.compare(hit))
        return pn.Column(
            pn.pane.HTML(html, styles={"font-size": "12px"}, sizing_mode="stretch_width"),
            pn.Row(button, compare),
            sizing_mode="stretch_width",
            css_classes=["find-hit"],
            styles={"border-bottom": "1px solid #ddd"},
        )

    def _results(self, hits: list[Hit], notice: str) -> pn.viewable.Viewable:
        items: list[pn.viewable.Viewable] = [
            pn.pane.HTML(
                "".join(f"<div>{escape(line)}</div>" for line in notice.splitlines()),
                styles={"font-size": "12px", "color": "#8a4b00"},
                css_classes=["find-notice"],
                sizing_mode="stretch_width",
            )
        ]
        items += [self._hit_card(h) for h in hits]
        return pn.Column(*items, sizing_mode="stretch_width", max_height=420, scroll=True)

    def __panel__(self) -> pn.viewable.Viewable:
        box = pn.widgets.TextInput.from_param(
            self.param.text,
            placeholder="e.g. sea water temperature",
            name="",
            sizing_mode="stretch_width",
        )
        go = pn.widgets.Button(label="Search", button_type="primary", css_classes=["find-search"])
        go.on_click(self._search_clicked)
        box.param.watch(self._search_clicked, "enter_pressed")
        names = ", ".join(self.state.catalog.catalogues.names()) or "none"
        return pn.Column(
            pn.Row(box, go, sizing_mode="stretch_width"),
            pn.widgets.Checkbox.from_param(self.param.in_view),
            pn.widgets.Checkbox.from_param(self.param.at_time),
            pn.pane.HTML(
                f"<span style='font-size:11px;color:#555'>Searches: {escape(names)}</span>"
            ),
            pn.bind(self._results, self.param.hits, self.param.notice),
            sizing_mode="stretch_width",
        )
