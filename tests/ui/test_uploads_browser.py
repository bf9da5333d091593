"""Users' own data in a real browser: uploads through the "Add your data" control.

The server runs with a small ``--upload-max-mb`` so that the limit is reached with a small
file; the files are handed to the FileDropper's own file input (Playwright's
``set_input_files``), as a user's drop or file choice hands them.
"""

from __future__ import annotations

import pathlib
import re
import time
import zipfile

import pytest
import requests
from playwright.sync_api import expect

from data_adapters import Catalog
from tests.synthetic import SYNTHETIC, write_netcdf

from .conftest import DEMO_HALF_CATALOG, serving_catalog
from .pages import wait_for_map, wait_for_title

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: The server's upload limit in these tests (MB).
LIMIT_MB = 2

#: The values of points coloured by a number (HoloViews names the mapped column "color"):
#: the observations' model minus observation on the map.
POINTS_JS = """() => {
    for (const doc of window.Bokeh.documents)
        for (const model of doc.all_models)
            if (model.constructor.__name__ === "ColumnDataSource" && model.data.color
                && model.data.color.length && typeof model.data.color[0] === "number")
                return Array.from(model.data.color);
    return [];
}"""
#: How many dots the scatter plot of model against observation shows.
SCATTER_JS = """() => {
    for (const doc of window.Bokeh.documents)
        for (const model of doc.all_models)
            if (model.constructor.__name__ === "ColumnDataSource"
                && "observed (degC)" in model.data)
                return model.data["observed (degC)"].length;
    return -1;
}"""


@pytest.fixture(scope="module")
def upload_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("uploads-ui")
    with serving_catalog(root, DEMO_HALF_CATALOG, "--upload-max-mb", str(LIMIT_MB)) as url:
        yield url


def open_add_data(page, url: str):
    """The page with its "Add your data" card open; returns the dropper's file input."""
    page.goto(url)
    wait_for_map(page)
    page.get_by_text("Add your data").first.click()
    chooser = page.locator(".add-data input[type=file]")
    chooser.wait_for(state="attached", timeout=30_000)
    return chooser


def wait_for_text(page, text: str, timeout_s: float = 60.0) -> str:
    """The first element's text containing ``text`` (notifications, the upload status)."""
    found = page.get_by_text(text).first
    found.wait_for(state="visible", timeout=timeout_s * 1000)
    return found.inner_text()


def wait_for_js(page, script: str, done, timeout_s: float = 60.0):
    """``script``'s answer once ``done(answer)`` holds (its last answer at the deadline)."""
    deadline = time.monotonic() + timeout_s
    answer = page.evaluate(script)
    while not done(answer) and time.monotonic() < deadline:
        page.wait_for_timeout(300)
        answer = page.evaluate(script)
    return answer


def catalogue_titles(page) -> list[str]:
    return page.locator(".catalog-entry button").all_inner_texts()


def test_an_uploaded_netcdf_is_mapped_for_that_session_only(upload_server, browser, tmp_path):
    path = pathlib.Path(write_netcdf(SYNTHETIC["regular"](), tmp_path / "my-model.nc"))
    first = browser.new_page(viewport={"width": 1280, "height": 800})
    chooser = open_add_data(first, upload_server)
    chooser.set_input_files(str(path))
    # the map now shows the upload: its title names the file, its field is painted
    wait_for_title(first, "my-model.nc")
    wait_for_map(first, min_colours=20)
    # the session's catalogue lists it too (its list is redrawn after the map)
    entries = first.locator(".catalog-entry button")
    expect(entries.filter(has_text="my-model.nc")).not_to_have_count(0, timeout=30_000)
    # another session (another browser context) lists nothing of it
    other = browser.new_context(viewport={"width": 1280, "height": 800})
    second = other.new_page()
    second.goto(upload_server)
    wait_for_map(second)
    expect(second.locator(".catalog-entry button")).not_to_have_count(0, timeout=30_000)
    titles = catalogue_titles(second)
    assert titles and not any("my-model" in t for t in titles)
    # the first page's link (its URL names the upload) opens it while that session lives
    link = wait_for_js(first, "() => window.location.href", lambda u: "dataset=upload-" in u)
    assert "dataset=upload-" in link
    second.goto(link)
    wait_for_title(second, "my-model.nc")
    other.close()
    first.close()


def test_observations_are_compared_with_the_model(upload_server, browser, tmp_path):
    obs = tmp_path / "argo.csv"
    obs.write_text(
        "time,lon,lat,depth,thetao\n"
        "ISO8601,degrees_east,degrees_north,m,degC\n"
        "2025-01-05T00:00Z,-30.1,20.2,5,21.5\n"
        "2025-01-06T00:00Z,-40.3,30.1,50,18.0\n"
        "2025-01-07T00:00Z,-150.2,0.3,0,27.0\n"
        "2025-01-07T00:00Z,15.0,22.0,0,30.0\n"  # the Sahara: on land
    )
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    chooser = open_add_data(page, upload_server)
    chooser.set_input_files(str(obs))
    wait_for_text(page, "Compare with model")
    differences = wait_for_js(page, POINTS_JS, lambda v: len(v) >= 3)
    assert len(differences) == 3  # the three sea points on the map, coloured by the difference
    assert wait_for_js(page, SCATTER_JS, lambda n: n >= 3) == 3
    table = page.locator(".stats table").first
    table.wait_for(state="attached", timeout=30_000)
    text = table.inner_text()
    assert "rmse" in text and "n_outside" in text
    assert "\t3\t1\t" in text  # n = 3 matched, 1 on land
    page.close()


def test_an_upload_over_the_limit_stops_with_a_notice(upload_server, browser, tmp_path):
    big = tmp_path / "big.nc"
    with big.open("wb") as out:  # three 10 MB chunks: refused at the first one
        out.write(b"CDF\x01")
        out.truncate(25_000_000)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    chooser = open_add_data(page, upload_server)
    chooser.set_input_files(str(big))
    notice = wait_for_text(page, "larger than the upload limit")
    assert f"limit of {LIMIT_MB} MB" in notice and "big.nc" in notice
    # the chunks the browser still sends are dropped: the next file arrives whole and shows
    small = write_netcdf(SYNTHETIC["regular"](), tmp_path / "small.nc")
    page.locator(".add-data input[type=file]").set_input_files(small)
    # after the rest of the refused file's chunks, which the browser still sends (25 MB)
    wait_for_title(page, "small.nc", timeout_s=180.0)
    page.close()


def test_a_bad_file_gets_one_line_and_the_server_keeps_serving(upload_server, browser, tmp_path):
    fake = tmp_path / "model.nc"
    fake.write_text("<html>404 not found</html>")
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    chooser = open_add_data(page, upload_server)
    chooser.set_input_files(str(fake))
    notice = wait_for_text(page, "not NetCDF/HDF5")
    assert "model.nc" in notice and "\n" not in notice.strip()
    assert requests.get(upload_server, timeout=60).status_code == 200
    page.close()


def test_a_zipped_zarr_store_is_mapped(upload_server, browser, tmp_path):
    store = tmp_path / "run.zarr"
    SYNTHETIC["regular"]().to_zarr(store, zarr_format=2, consolidated=False)
    zipped = tmp_path / "my-store.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        for file in sorted(store.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(tmp_path).as_posix())
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    chooser = open_add_data(page, upload_server)
    chooser.set_input_files(str(zipped))
    wait_for_title(page, "my-store.zip")
    wait_for_map(page, min_colours=20)
    page.close()


def test_an_uploaded_run_is_compared_with_the_dataset_shown(upload_server, browser, tmp_path):
    # a user's run: the catalog's first days a degree warmer, on a coarser (2°) grid
    demo = Catalog.from_dict(
        {"datasets": [{"id": "d", "title": "D", "adapter": "demo", "resolution": 0.5, "days": 30}]}
    )
    baseline = demo.open("d").dataset[["thetao"]].sel(scenario="baseline", drop=True)
    mine = baseline.isel(time=slice(0, 2)).coarsen(lat=4, lon=4).mean()
    mine["thetao"] = (mine["thetao"] + 1.0).assign_attrs(baseline["thetao"].attrs)
    path = write_netcdf(mine.load(), tmp_path / "my-run.nc")
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    chooser = open_add_data(page, upload_server)
    chooser.set_input_files(path)
    wait_for_title(page, "my-run.nc")
    page.get_by_role("button", name="Compare with the dataset shown").click()
    # the map shows the difference, the upload minus the catalog's dataset, saying so
    wait_for_title(page, "my-run - demo-half")
    assert "Regridded onto the baseline's grid: my-run (2°" in wait_for_text(
        page, "Regridded onto the baseline's grid"
    )
    impact = page.locator("table", has_text="mean Δ").first
    expect(impact).to_contain_text("my-run", timeout=60_000)
    # its mean change over the view: the degree added (bilinear regridding aside)
    mean_change = re.search(r"my-run\s+([+-][0-9.]+) degC", impact.inner_text())
    assert mean_change and float(mean_change.group(1)) == pytest.approx(1.0, abs=0.01)
    # the link names the comparison, and opens it elsewhere while this session lives
    link = wait_for_js(page, "() => window.location.href", lambda u: "+vs+upload-" in u)
    other = browser.new_context(viewport={"width": 1280, "height": 800})
    second = other.new_page()
    second.goto(link)
    wait_for_title(second, "my-run - demo-half")
    other.close()
    page.close()


def test_an_escaping_zip_then_a_truncated_file_each_get_one_line(upload_server, browser, tmp_path):
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("store.zarr/.zgroup", '{"zarr_format": 2}')
        archive.writestr("../../escaped.txt", "x")
    whole = pathlib.Path(write_netcdf(SYNTHETIC["regular"](), tmp_path / "whole.nc")).read_bytes()
    cut = tmp_path / "cut.nc"
    cut.write_bytes(whole[: len(whole) * 2 // 3])  # HDF5 (NetCDF-4) cut short
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    chooser = open_add_data(page, upload_server)
    chooser.set_input_files(str(evil))
    notice = wait_for_text(page, "leaves the archive's directory")
    assert "evil.zip" in notice and "\n" not in notice.strip()
    # the same page takes the next file: a fresh dropper replaced the refused one
    page.locator(".add-data input[type=file]").set_input_files(str(cut))
    notice = wait_for_text(page, "truncated")
    assert notice.strip().startswith("cut.nc: ") and "\n" not in notice.strip()
    assert requests.get(upload_server, timeout=60).status_code == 200
    page.close()
