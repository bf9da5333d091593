"""Every page loads all it needs, and the standalone HTML export draws with the network cut off
(real Chromium)."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from .pages import pixels, wait_for_map, wait_for_title

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: The app and every embed, with what each shows once it is loaded.
ROUTES = {
    "": "Demo ocean, half degree",
    "embed/map": "Demo ocean, half degree",
    "embed/compare": "warming_1p5 - baseline",
    "embed/timeseries?points=-40,40": "at lon=",
}


def watch(page) -> list[str]:
    """Collects the page's failed requests, HTTP errors and console errors."""
    problems: list[str] = []
    page.on("requestfailed", lambda r: problems.append(f"failed {r.url} {r.failure}"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"{r.status} {r.url}"))
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    return problems


@pytest.mark.parametrize("route", list(ROUTES))
def test_the_app_and_every_embed_load_all_their_resources(small_demo_server, page, route):
    problems = watch(page)
    page.goto(small_demo_server + route, wait_until="domcontentloaded")
    wait_for_title(page, ROUTES[route], timeout_s=90)
    if "timeseries" not in route:
        wait_for_map(page)
    page.wait_for_load_state("networkidle")
    assert not problems, problems


def test_every_timeseries_embed_shows_its_series(small_demo_server, browser):
    # a series computed while the page was still connecting could be lost on its way: about
    # one embed in three stayed empty under its caption
    for _ in range(4):
        page = browser.new_page()
        page.goto(small_demo_server + "embed/timeseries?points=-40,40")
        wait_for_title(page, "at lon=", timeout_s=60)
        page.close()


def test_the_standalone_html_page_draws_offline(tmp_path, browser):
    """The Share dialog's HTML page: field, coastline, probe point and colour bar drawn with
    every request to another host refused (it makes none)."""
    import importlib
    import pkgutil

    import panel.models

    # every extension loaded, as in a busy server (Panel links the files of each, from CDNs
    # or its own dist: Vizzu, Perspective's modules...)
    for module in pkgutil.iter_modules(panel.models.__path__):
        try:
            importlib.import_module(f"panel.models.{module.name}")
        except ImportError:  # an extension whose Python library is not installed
            continue

    from app.share import html_page
    from components import ExplorerState, MapView
    from components.map_layers import COAST_COLOR
    from components.probe_view import PIN_COLORS
    from data_adapters import Catalog

    (tmp_path / "catalog.yaml").write_text(
        textwrap.dedent(
            """
            datasets:
              - id: demo-1deg
                title: Demo ocean, one degree
                adapter: demo
                resolution: 1.0
                days: 3
            """
        )
    )
    state = ExplorerState(Catalog.load(tmp_path / "catalog.yaml"))
    state.points = [(-40.0, 40.0)]
    view = MapView(state=state)
    view._field()  # the frame the page shows (a session draws it on its first render)
    page_file = tmp_path / "ocean-explorer.html"
    page_file.write_bytes(html_page(view, state).getvalue())

    context = browser.new_context(viewport={"width": 1100, "height": 800})
    asked: list[str] = []

    def offline(route) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:")):
            route.continue_()
        else:
            asked.append(url)
            route.abort()

    context.route("**/*", offline)
    page = context.new_page()
    problems = watch(page)
    page.goto(page_file.as_uri(), wait_until="load")
    _, rgb = wait_for_map(page, min_colours=100)
    shot = pixels(page.screenshot())
    context.close()
    assert not asked, f"the page asked other hosts: {asked}"
    assert not [p for p in problems if not p.startswith("failed file")], problems

    def present(colour) -> bool:
        return bool((np.abs(shot.astype(int) - np.array(colour)).sum(axis=2) <= 12).any())

    assert present(COAST_COLOR), "no coastline"
    pin = tuple(int(PIN_COLORS[0][i : i + 2], 16) for i in (1, 3, 5))
    assert present(pin), "no probe point marker"
    assert rgb.shape[0] > 200  # the map itself, with its colour bar beside it
