"""The "Find data" panel without a browser: search the configured catalogues (a real STAC
API on 127.0.0.1), open a hit in the session, refuse sources of other catalogues."""

from __future__ import annotations

import time

import numpy as np
import pytest

from app.urlstate import apply_query, query_of
from components import ColorSettings
from components.catalog_view import CatalogView
from components.find_view import FindView, view_box
from components.state import ExplorerState
from data_adapters import Catalog, SourceError
from data_adapters.catalogues import DEFAULT, CatalogueSettings, StacRoot
from data_adapters.stac import source_for
from tests import synthetic
from tests.servers import silent_server
from tests.stac_servers import GLOBAL_THETAO, NORTH_SEA_THETAO, THETAO_COLLECTION, running_lake


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    with running_lake(tmp_path_factory.mktemp("lake")) as running:
        yield running


def catalog_for(tmp_path, catalogues: str) -> Catalog:
    path = tmp_path / "catalog.yaml"
    local = synthetic.write_netcdf(synthetic.regular(times=4), tmp_path / "local.nc")
    path.write_text(
        f"datasets:\n  - id: local\n    title: Local file\n    adapter: netcdf\n"
        f"    path: {local}\n{catalogues}"
    )
    return Catalog.load(path)


def test_the_catalog_file_says_which_catalogues_are_searched(tmp_path):
    catalog = catalog_for(
        tmp_path,
        "catalogues:\n  stac:\n    - url: http://127.0.0.1:1/stac/\n      title: Lake\n"
        "  cmems: false\n",
    )
    assert catalog.catalogues == CatalogueSettings((StacRoot("http://127.0.0.1:1/stac/", "Lake"),))
    assert catalog_for(tmp_path, "").catalogues == DEFAULT  # EDITO and Copernicus Marine
    assert DEFAULT.names() == ["EDITO data lake", "Copernicus Marine"]
    with pytest.raises(SourceError, match=r"unknown key 'catalogues.stack'.*did you mean 'stac'"):
        catalog_for(tmp_path, "catalogues:\n  stack: []\n")
    with pytest.raises(SourceError, match="must be an http"):  # links would show the path
        catalog_for(tmp_path, "catalogues:\n  stac: [/srv/lake/catalog.json]\n")


def test_search_lists_hits_in_the_view_and_open_shows_one(lake, tmp_path):
    catalog = catalog_for(tmp_path, f"catalogues:\n  stac: [{lake.root}]\n")
    state = ExplorerState(catalog)
    view = FindView(state=state, text="temperature")
    state.extent = (100.0, -20.0, 140.0, 20.0)  # the North Sea item is out of view
    view.search()
    assert [h.id for h in view.hits] == [GLOBAL_THETAO]
    hit = view.hits[0]
    assert hit.provider == "Test Marine Service" and hit.license == "CC-BY-4.0"
    view.in_view = False
    view.search()
    assert sorted(h.id for h in view.hits) == [GLOBAL_THETAO, NORTH_SEA_THETAO]
    view.open(hit)
    assert state.dataset_id == source_for(lake.root, THETAO_COLLECTION, GLOBAL_THETAO)
    assert state.source.title == "Global ocean temperature analysis"
    about = CatalogView(state=state).metadata()
    assert about["Source"] == state.dataset_id and about["Licence"] == "CC-BY-4.0"
    assert about["Attribution"] == "Test Marine Service"
    np.testing.assert_allclose(
        state.field().values, synthetic.regular(times=4)["thetao"].isel(time=0, depth=0)
    )


def test_a_source_of_an_unconfigured_catalogue_is_refused_without_a_request(lake, tmp_path):
    catalog = catalog_for(tmp_path, "catalogues:\n  stac: [http://127.0.0.1:1/other/]\n")
    state = ExplorerState(catalog)
    lake.data.reset_counts()
    with pytest.raises(SourceError, match="not a dataset of a catalogue this server searches"):
        state.open_found(source_for(lake.root, THETAO_COLLECTION, GLOBAL_THETAO))
    assert state.dataset_id == "local" and lake.data.count() == 0


def test_an_unreachable_catalogue_is_one_notice_within_the_timeout(tmp_path, monkeypatch):
    monkeypatch.setenv("OCEAN_EXPLORER_TIMEOUT", "1")
    with silent_server() as port:
        catalog = catalog_for(
            tmp_path, f"catalogues:\n  stac: [http://127.0.0.1:{port}/stac/]\n  cmems: false\n"
        )
        state = ExplorerState(catalog)
        view = FindView(state=state, text="temperature")
        started = time.monotonic()
        view.search()
        took = time.monotonic() - started
    assert took < 3.0
    assert view.hits == [] and len(view.notice.splitlines()) == 1
    assert f"127.0.0.1:{port}" in view.notice
    assert state.dataset_id == "local" and state.source is not None  # the app goes on


def test_view_box_wraps_the_map_view():
    assert view_box(None) is None
    assert view_box((-180.0, -90.0, 180.0, 90.0)) is None
    assert view_box((170.0, -10.0, 200.0, 10.0)) == (170.0, -10.0, -160.0, 10.0)


def test_compare_with_puts_a_hit_against_the_dataset_shown_and_its_link_keeps_it(lake, tmp_path):
    warm = synthetic.regular(times=4)
    warm["thetao"] = (warm["thetao"] + 1.5).assign_attrs(synthetic.THETAO_ATTRS)
    path = synthetic.write_netcdf(warm, tmp_path / "warm.nc")
    (tmp_path / "catalog.yaml").write_text(
        f"datasets:\n  - id: warm\n    title: Warm run\n    adapter: netcdf\n    path: {path}\n"
        f"catalogues:\n  stac: [{lake.root}]\n"
    )
    catalog = Catalog.load(tmp_path / "catalog.yaml")
    state = ExplorerState(catalog)
    view = FindView(state=state, text="global temperature")
    view.search()
    (hit,) = view.hits
    view.compare(hit)
    assert state.message == ""
    assert state.dataset_id == f"warm vs {hit.source}" and state.mode == "difference"
    assert state.baseline == "warm" and state.scenarios == [GLOBAL_THETAO]
    change = state.field(scenario=GLOBAL_THETAO) - state.field(scenario="warm")
    np.testing.assert_allclose(
        change.values[np.isfinite(change.values)], -1.5, atol=1e-4
    )  # float32

    colours = {"map": ColorSettings(), "change": ColorSettings(cmap="balance")}

    def colors_for(mode):
        return colours["change" if mode in ("difference", "relative") else "map"]

    link = query_of(state, colors_for(state.mode))
    again = ExplorerState(catalog)
    assert apply_query(link, again, colors_for) == []
    assert again.dataset_id == state.dataset_id and again.mode == "difference"
    other = ExplorerState(catalog)
    lake.data.reset_counts()
    bad = {"dataset": f"warm vs {source_for('http://127.0.0.1:1/x/', 'c', 'i')}"}
    (notice,) = apply_query(bad, other, colors_for)
    assert "not a dataset of a catalogue this server searches" in notice
    assert other.dataset_id == "warm" and lake.data.count() == 0
