"""The catalogue browser and the metadata of what is shown.

A searchable list of the catalog's datasets and scenario groups (by id, title, description,
adapter and, once opened, variable names) that chooses the session's dataset, and a panel of
the open dataset's metadata: title, source, institution, time range, resolution, licence.
Every text from the catalog or the data is escaped (:mod:`components.text`).
"""

from __future__ import annotations

import numpy as np
import panel as pn
import param

from data_adapters import Catalog, bbox
from data_adapters.errors import scrub_passwords

from .state import ExplorerState
from .text import escape, public_source, without_server_paths

#: Entries listed at once (a search narrows a longer catalog).
MAX_LISTED = 40
#: Adapter parameters that say where the data come from (shown without passwords or the
#: server's directories).
SOURCE_PARAMS = ("path", "url", "dataset_id")


def entries(catalog: Catalog) -> list[dict[str, str]]:
    """The catalog's datasets and scenario groups as rows: id, kind, title, words to search."""
    rows = []
    for entry in catalog.datasets.values():
        where = next((str(entry.params[k]) for k in SOURCE_PARAMS if k in entry.params), "")
        rows.append(
            {
                "id": entry.id,
                "kind": "dataset",
                "title": entry.title or entry.id,
                "text": " ".join(
                    [entry.id, entry.title, entry.description, entry.adapter, public_source(where)]
                ),
            }
        )
    for group in catalog.groups.values():
        rows.append(
            {
                "id": group.id,
                "kind": "scenario group",
                "title": group.title or group.id,
                "text": " ".join([group.id, group.title, group.description, *group.names]),
            }
        )
    return rows


def matches(row: dict[str, str], query: str, variables: str = "") -> bool:
    """True when every word of ``query`` is in the row's text (case-insensitive)."""
    text = f"{row['text']} {variables}".lower()
    return all(word in text for word in query.lower().split())


class CatalogView(pn.viewable.Viewer):
    """Search the catalogue and choose a dataset or scenario group; see its metadata."""

    state = param.ClassSelector(class_=ExplorerState, doc="The session whose dataset it picks.")
    query = param.String(default="", doc="Words to search for (all must match).")

    def __init__(self, **params) -> None:
        super().__init__(**params)
        self._rows = entries(self.state.catalog)

    def _variables_of(self, source_id: str) -> str:
        """Variable names and long names of the open source (others are not opened to
        search them: a remote catalog would be slow)."""
        if source_id != self.state.dataset_id or self.state.source is None:
            return ""
        ds = self.state.source.dataset
        return " ".join(f"{n} {da.attrs.get('long_name', '')}" for n, da in ds.data_vars.items())

    def listed(self) -> list[dict[str, str]]:
        """The rows matching the query, at most :data:`MAX_LISTED`."""
        self._rows = entries(self.state.catalog)  # a session may add datasets (uploads)
        rows = [r for r in self._rows if matches(r, self.query, self._variables_of(r["id"]))]
        return rows[:MAX_LISTED]

    def _list(self, query: str, current: str) -> pn.viewable.Viewable:
        rows = self.listed()
        if not rows:
            return pn.pane.HTML(f"<i>No dataset matches '{escape(query)}'.</i>", margin=(4, 10))
        items = []
        for row in rows:
            chosen = row["id"] == current
            button = pn.widgets.Button(
                label=without_server_paths(row["title"])[:60],  # text, never markup
                description=f"{row['kind']} '{row['id']}'",
                color="primary" if chosen else "default",
                variant="solid" if chosen else "outline",
                sizing_mode="stretch_width",
                margin=(2, 5),
                css_classes=["catalog-entry"],
            )
            button.on_click(lambda _, i=row["id"]: setattr(self.state, "dataset_id", i))
            items.append(button)
        # a gap below the list: its last row, cut where it scrolls, is not lost under the cards
        return pn.Column(
            *items, sizing_mode="stretch_width", max_height=260, scroll=True, margin=(0, 0, 10, 0)
        )

    def metadata(self) -> dict[str, str]:
        """What is known of the open dataset: title, source, institution, time range,
        resolution, licence, attribution and description (plain text, not escaped)."""
        s = self.state
        source = s.source
        if source is None:
            return {}
        ds = source.dataset
        entry = s.catalog.datasets.get(s.dataset_id)
        where = ""
        if entry is not None:
            where = next((str(entry.params[k]) for k in SOURCE_PARAMS if k in entry.params), "")
            where = f"{entry.adapter}: {public_source(where)}" if where else entry.adapter
        elif s.dataset_id in s.catalog.groups:
            where = "scenario group of " + ", ".join(s.catalog.groups[s.dataset_id].names)
        elif s.catalog.catalogues.allows(str(s.dataset_id)):  # opened from "Find data"
            where = scrub_passwords(str(s.dataset_id))
        info = {
            "Title": source.title,
            "Source": where or str(ds.attrs.get("source", "")),
            "Institution": str(ds.attrs.get("institution", "")),
            "Time range": _time_range(ds),
            "Resolution": _resolution(ds),
            "Area": _area(ds),
            "Licence": source.license or str(ds.attrs.get("license", "")),
            "Attribution": source.attribution,
            "Description": source.description or str(ds.attrs.get("summary", "")),
        }
        return {k: v for k, v in info.items() if v}

    def _metadata_html(self, *_) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left;vertical-align:top;padding-right:8px'>"
            f"{escape(k)}</th><td>{escape(v)}</td></tr>"
            for k, v in self.metadata().items()
        )
        return f"<table style='font-size:12px;width:100%'>{rows}</table>"

    def __panel__(self) -> pn.viewable.Viewable:
        search = pn.widgets.TextInput.from_param(
            self.param.query,
            placeholder="Search datasets, variables, scenarios…",
            label="Catalogue",
            sizing_mode="stretch_width",
        )
        listing = pn.bind(self._list, self.param.query, self.state.param.dataset_id)
        details = pn.pane.HTML(
            pn.bind(self._metadata_html, self.state.param.dataset_id),
            sizing_mode="stretch_width",
            margin=(4, 10),
        )
        return pn.Column(
            search,
            listing,
            pn.Card(
                details, title="About this dataset", collapsed=True, sizing_mode="stretch_width"
            ),
            sizing_mode="stretch_width",
        )


def _time_range(ds) -> str:
    if "time" not in ds.coords or ds["time"].size == 0:
        return ""
    from .core.timeaxis import time_label

    values = ds["time"].values
    steps = f"{values.size} steps" if values.size != 1 else "1 step"
    return f"{time_label(values[0])} to {time_label(values[-1])} ({steps})"


def _resolution(ds) -> str:
    lon, lat = ds["lon"], ds["lat"]
    if lon.ndim == 1 and lon.size > 1 and lat.size > 1:
        dlon = float(np.median(np.abs(np.diff(lon.values))))
        dlat = float(np.median(np.abs(np.diff(lat.values))))
        text = f"{dlon:.4g}°" if abs(dlon - dlat) < 1e-9 else f"{dlon:.4g}° x {dlat:.4g}°"
        return f"{text} ({lat.size} x {lon.size} cells)"
    if lon.ndim == 2:
        return f"curvilinear, {lon.shape[0]} x {lon.shape[1]} cells"
    return ""


def _area(ds) -> str:
    try:
        west, south, east, north = bbox(ds)
    except (ValueError, KeyError):
        return ""
    return f"W {west:g}, S {south:g}, E {east:g}, N {north:g}"
