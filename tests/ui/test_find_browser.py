"""Find data in a real browser: search a real STAC API on 127.0.0.1, open a hit on the map,
reopen it from its link; a link naming a catalogue the server does not search is refused."""

from __future__ import annotations

import urllib.parse

import pytest
from playwright.sync_api import expect

from data_adapters.stac import source_for
from tests.stac_servers import GLOBAL_THETAO, THETAO_COLLECTION, running_lake, serve_files

from .conftest import serving
from .pages import wait_for_map, wait_for_title

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HIT_TITLE = "Global ocean temperature analysis"


@pytest.fixture(scope="module")
def lake_app(tmp_path_factory):
    """The app searching the test lake (and nothing else), beside a local demo dataset."""
    root = tmp_path_factory.mktemp("find-ui")
    (root / "lake").mkdir()
    with running_lake(root / "lake") as lake:
        catalog = root / "catalog.yaml"
        catalog.write_text(
            "datasets:\n"
            "  - id: demo-half\n    title: Demo ocean, half degree\n    adapter: demo\n"
            "    resolution: 0.5\n    days: 30\n"
            f"catalogues:\n  stac:\n    - url: {lake.root}\n      title: Test lake\n"
            "  cmems: false\n"
        )
        with serving("--catalog", str(catalog), log=root / "serve.log") as url:
            yield url, lake


def test_find_data_opens_a_hit_and_its_link_reopens_it(lake_app, page):
    url, lake = lake_app
    page.goto(url, wait_until="domcontentloaded")
    wait_for_map(page)
    page.locator(".find-data").get_by_text("Find data").first.click()
    page.get_by_placeholder("e.g. sea water temperature").fill("global temperature")
    page.locator(".find-search button").click()
    hit = page.locator(".find-hit").filter(has_text=HIT_TITLE)
    hit.first.wait_for(state="visible", timeout=30_000)
    expect(hit.first.get_by_text("Test Marine Service")).to_be_visible()
    expect(hit.first.get_by_text("sea_water_potential_temperature")).to_be_visible()
    hit.first.locator(".find-open button").click()
    wait_for_title(page, HIT_TITLE)
    source = source_for(lake.root, THETAO_COLLECTION, GLOBAL_THETAO)
    page.wait_for_function(
        "s => new URLSearchParams(location.search).get('dataset') === s", arg=source
    )
    other = page.context.new_page()
    other.goto(page.url, wait_until="domcontentloaded")
    wait_for_title(other, HIT_TITLE)
    wait_for_map(other, min_colours=20)
    other.close()


def test_a_link_to_an_unconfigured_catalogue_is_refused_without_a_request(lake_app, page, tmp_path):
    url, _ = lake_app
    (tmp_path / "other").mkdir()
    with serve_files(tmp_path / "other") as other:
        source = source_for(f"{other.url}/stac/", THETAO_COLLECTION, GLOBAL_THETAO)
        page.goto(f"{url}?{urllib.parse.urlencode({'dataset': source})}")
        notice = page.locator(".notyf__message").filter(has_text="dataset=")
        notice.first.wait_for(state="visible", timeout=60_000)
        assert "not a dataset of a catalogue this server searches" in notice.first.inner_text()
        wait_for_title(page, "Demo ocean, half degree")  # the default view instead
        assert other.count() == 0
