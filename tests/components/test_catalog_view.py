"""The catalogue browser without a browser: search, choice, metadata, escaping."""

from __future__ import annotations

import pytest

from components import ExplorerState
from components.catalog_view import CatalogView
from data_adapters import Catalog

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def catalog():
    return Catalog.from_dict(
        {
            "datasets": [
                {
                    "id": "demo-1deg",
                    "title": "Demo ocean, one degree",
                    "adapter": "demo",
                    "resolution": 1.0,
                    "days": 5,
                    "license": "CC0-1.0",
                    "attribution": "Demo makers",
                },
                {
                    "id": "hostile",
                    "title": HOSTILE,
                    "adapter": "demo",
                    "resolution": 1.0,
                    "days": 2,
                    "description": "a shelf sea run",
                },
            ],
            "scenario_groups": [
                {
                    "id": "heat",
                    "title": "Marine heatwave",
                    "dataset": "demo-1deg",
                    "baseline": "baseline",
                    "scenarios": ["heatwave"],
                }
            ],
        }
    )


def test_search_narrows_the_list_and_a_choice_opens_the_dataset(catalog):
    state = ExplorerState(catalog)
    view = CatalogView(state=state)
    assert [r["id"] for r in view.listed()] == ["demo-1deg", "hostile", "heat"]
    view.query = "heatwave"
    assert [r["id"] for r in view.listed()] == ["heat"]
    assert view.listed()[0]["kind"] == "scenario group"
    view.query = "SHELF sea"
    assert [r["id"] for r in view.listed()] == ["hostile"]
    view.query = "salinity"  # a variable's long name of the open dataset
    assert [r["id"] for r in view.listed()] == ["demo-1deg"]
    state.dataset_id = "heat"
    assert state.source.title == "Marine heatwave"


def test_metadata_names_the_source_time_resolution_and_licence(catalog):
    state = ExplorerState(catalog)
    info = CatalogView(state=state).metadata()
    assert info["Title"] == "Demo ocean, one degree"
    assert info["Source"] == "demo"
    assert info["Time range"] == "2025-01-01 to 2025-01-05 (5 steps)"
    assert info["Resolution"] == "1° (180 x 360 cells)"
    assert info["Licence"] == "CC0-1.0" and info["Attribution"] == "Demo makers"


def test_text_from_the_catalog_is_escaped(catalog):
    state = ExplorerState(catalog, dataset_id="hostile")
    view = CatalogView(state=state)
    html = view._metadata_html()
    assert HOSTILE not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    view.query = "<img"
    listing = view._list(view.query, state.dataset_id)
    assert listing.objects[0].label == HOSTILE  # a button label: shown as text
    view.query = "<b>nothing"
    assert "&lt;b&gt;nothing" in view._list(view.query, state.dataset_id).object
