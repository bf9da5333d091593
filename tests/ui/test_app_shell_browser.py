"""The app shell in a real headless browser: links, the URL, embedding, origins, escaping."""

from __future__ import annotations

import html
import pathlib
import re
import textwrap
import time
import urllib.parse

import numpy as np
import pytest
import xarray as xr
from playwright.sync_api import expect

from components.core.geography import lon_to_x
from tests.servers import serve_directory

from .conftest import serving
from .pages import distinct_colours, pixels, shown_box, wait_for_map, wait_for_title

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HOSTILE = "<img src=x onerror=alert(1)>"
#: (title, x_range start, x_range end) of every Bokeh figure with a title.
FIGURES_JS = """() => {
    const out = [];
    for (const doc of window.Bokeh.documents)
        for (const m of doc.all_models)
            if (m.constructor.__name__ === "Figure" && m.title && m.title.text)
                out.push([m.title.text, m.x_range.start, m.x_range.end]);
    return out;
}"""


def query(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def wait_for_url(page, key: str, value: str, timeout_s: float = 30.0) -> dict[str, str]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = query(page.url)
        if found.get(key) == value:
            return found
        page.wait_for_timeout(200)
    raise AssertionError(f"the URL never got {key}={value}: {page.url}")


def test_a_link_opens_that_view(small_demo_server, page):
    link = (
        f"{small_demo_server}?dataset=demo-half&variable=so&time=2025-01-10&depth=100"
        "&bbox=-70,25,-10,65&points=-40,40"
    )
    page.goto(link, wait_until="domcontentloaded")
    wait_for_map(page)
    title = wait_for_title(page, "2025-01-10 · 100 m")
    assert title.startswith("Demo ocean, half degree")
    # the map shows the linked box: centred on it and holding all of it (true to shape, the
    # plot's other dimension may show more), in Web Mercator metres
    deadline = time.monotonic() + 60
    west, east = lon_to_x(np.array([-70.0, -10.0]))

    def shows_the_box(a: float, b: float) -> bool:
        return abs((a + b) / 2 - (west + east) / 2) < 2e4 and a <= west + 2e4 and b >= east - 2e4

    while time.monotonic() < deadline:
        ranges = [(a, b) for t, a, b in page.evaluate(FIGURES_JS) if t == title]
        if ranges and shows_the_box(*ranges[-1]):
            break
        page.wait_for_timeout(300)
    assert ranges and shows_the_box(*ranges[-1]), ranges
    # the variable chosen, and the probe point's series (salinity, at the linked point)
    expect(page.locator("select").filter(has_text="thetao").first).to_have_value("so")
    wait_for_title(page, "Sea water salinity at lon=-40")


def test_pages_ask_nothing_of_other_hosts(small_demo_server, page):
    """The app and its embeds load everything from the server itself: they work offline
    and tell no third party (a font or script host) who opened them."""
    asked = []
    page.on("request", lambda request: asked.append(request.url))
    origin = urllib.parse.urlsplit(small_demo_server).netloc
    page.goto(f"{small_demo_server}?points=-40,40", wait_until="domcontentloaded")
    wait_for_map(page)
    wait_for_title(page, "at lon=")
    page.goto(f"{small_demo_server}embed/timeseries?points=-40,40", wait_until="domcontentloaded")
    wait_for_title(page, "at lon=")
    hosts = {urllib.parse.urlsplit(url).netloc for url in asked if not url.startswith("blob:")}
    assert len(asked) > 20  # the pages, their scripts and styles were all seen
    assert hosts == {origin}, f"requests to other hosts: {sorted(hosts - {origin})}"


def test_changing_a_control_changes_the_url(small_demo_server, page):
    page.goto(small_demo_server, wait_until="domcontentloaded")
    wait_for_map(page)
    before = wait_for_url(page, "dataset", "demo-half")
    assert before["mode"] == "map" and before["time"] == "2025-01-01"
    page.get_by_role("button", name="Difference", exact=True).click()
    after = wait_for_url(page, "mode", "difference")
    assert after["baseline"] == "baseline" and after["scenario"] == "warming_1p5"
    # the new URL opened elsewhere gives the same view
    other = page.context.new_page()
    other.goto(page.url, wait_until="domcontentloaded")
    wait_for_title(other, "warming_1p5 - baseline · 2025-01-01")
    other.close()


def test_bad_url_values_are_ignored_with_a_notice(small_demo_server, page):
    page.goto(
        f"{small_demo_server}?dataset=../../etc/passwd&time=2025-99-99",
        wait_until="domcontentloaded",
    )
    wait_for_map(page)
    notice = page.locator(".notyf__message").filter(has_text="dataset=")
    notice.first.wait_for(state="visible", timeout=30_000)
    assert "ignored: no dataset '../../etc/passwd'" in notice.first.inner_text()
    wait_for_title(page, "Demo ocean, half degree · 2025-01-01")  # the default view instead


@pytest.fixture(scope="module")
def embedding_site(tmp_path_factory):
    """A page server on another localhost port, and the app allowing that origin."""
    site = tmp_path_factory.mktemp("site")
    with serve_directory(str(site)) as site_url:
        origin = urllib.parse.urlsplit(site_url).netloc
        catalog = site / "catalog.yaml"
        catalog.write_text(
            "datasets:\n  - id: demo-half\n    title: Demo ocean, half degree\n"
            "    adapter: demo\n    resolution: 0.5\n    days: 5\n"
        )
        log = site / "serve.log"
        with serving(
            "--catalog", str(catalog), "--allow-websocket-origin", origin, log=log
        ) as app_url:
            yield site, site_url, app_url, log


def test_a_page_on_another_port_embeds_the_map_in_an_iframe(embedding_site, page):
    site, site_url, app_url, _ = embedding_site
    src = f"{app_url}embed/map?dataset=demo-half&time=2025-01-03&bbox=-70,25,-10,65"
    (site / "iframe.html").write_text(
        f"<!DOCTYPE html><html><body><h1>Stakeholder page</h1>"
        f'<iframe src="{html.escape(src)}" width="900" height="560"></iframe></body></html>'
    )
    page.goto(f"{site_url}/iframe.html", wait_until="domcontentloaded")
    frame = page.frame_locator("iframe")
    canvas = frame.locator(".bk-Canvas canvas").first
    canvas.wait_for(state="attached", timeout=90_000)
    deadline = time.monotonic() + 90
    while distinct_colours(pixels(canvas.screenshot())) < 150 and time.monotonic() < deadline:
        page.wait_for_timeout(300)
    assert distinct_colours(pixels(canvas.screenshot())) >= 150
    # minimal chrome: the caption and attribution, no sidebar or catalogue
    expect(frame.get_by_text("Demo ocean, half degree").first).to_be_visible()
    assert frame.locator("input[placeholder^='Search datasets']").count() == 0


def script_page(site: pathlib.Path, name: str, app_url: str) -> str:
    from bokeh.embed import server_document

    script = server_document(url=f"{app_url}embed/map", arguments={"dataset": "demo-half"})
    (site / name).write_text(f"<!DOCTYPE html><html><body><h1>Site</h1>{script}</body></html>")
    return name


def test_an_allowed_origin_embeds_with_the_script_tag(embedding_site, page):
    site, site_url, app_url, _ = embedding_site
    page.goto(f"{site_url}/{script_page(site, 'allowed.html', app_url)}")
    wait_for_map(page)


def test_a_page_from_an_origin_not_allowed_cannot_embed_the_app(small_demo_server, page, tmp_path):
    """The same script tag on a site the server was not told about: its autoload.js (the
    session token, with any login cookies inside) is refused, so no session and no websocket
    opens (the allowed site above, same tag, draws the map)."""
    answers = []
    page.on("response", lambda r: answers.append(r.status) if "autoload.js" in r.url else None)
    with serve_directory(str(tmp_path)) as site_url:
        page.goto(f"{site_url}/{script_page(tmp_path, 'blocked.html', small_demo_server)}")
        deadline = time.monotonic() + 30
        while not answers and time.monotonic() < deadline:
            page.wait_for_timeout(200)
        assert answers == [403], answers
        page.wait_for_load_state("networkidle")
        assert page.locator(".bk-Canvas canvas").count() == 0  # nothing was drawn


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    """A catalog and a file whose texts are HTML with a script in an attribute."""
    root = tmp_path_factory.mktemp("hostile")
    lat = np.linspace(-60, 60, 25)
    lon = np.linspace(-170, 170, 35)
    sst = 20 + 5 * np.cos(np.deg2rad(lat))[:, None] * np.ones(lon.size)
    xr.Dataset(
        {"sst": (("lat", "lon"), sst.astype("f4"), {"units": HOSTILE, "long_name": HOSTILE})},
        coords={
            "lat": ("lat", lat, {"units": "degrees_north"}),
            "lon": ("lon", lon, {"units": "degrees_east"}),
        },
        attrs={"institution": HOSTILE, "title": HOSTILE},
    ).to_netcdf(root / "hostile.nc")
    (root / "catalog.yaml").write_text(
        textwrap.dedent(
            f"""
            datasets:
              - id: hostile
                title: "{HOSTILE}"
                adapter: netcdf
                path: hostile.nc
                attribution: "{HOSTILE}"
                description: "<script>window.pwned = 1</script>"
            """
        )
    )
    with serving("--catalog", str(root / "catalog.yaml"), log=root / "serve.log") as url:
        yield url


def test_a_hostile_title_shows_as_text_and_runs_nothing(hostile_server, page):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(hostile_server, wait_until="domcontentloaded")
    wait_for_map(page, min_colours=20)
    page.get_by_text("About this dataset").click()
    # the title and the attributes show as typed, in the catalogue and the metadata
    expect(page.get_by_text(HOSTILE, exact=True).first).to_be_visible(timeout=30_000)
    assert page.get_by_text(re.compile(re.escape(HOSTILE))).count() >= 3
    assert page.evaluate("() => window.pwned === undefined")
    assert page.locator("img[src='x']").count() == 0
    assert dialogs == []


#: Whether the menu button's tooltip was asked for (FAST's own state after a tap), and
#: whether it is drawn (the page's CSS may keep it from being displayed).
TOOLTIP_ASKED_JS = """() => {
    const tip = document.querySelector('fast-tooltip[anchor="sidebar-button"]');
    return Boolean(tip && tip.tooltipVisible);
}"""
TOOLTIP_SHOWN_JS = """() => {
    const tip = document.querySelector('fast-tooltip[anchor="sidebar-button"]');
    const drawn = [...tip.shadowRoot.querySelectorAll("*")].some(
        (el) => el.getBoundingClientRect().width > 0
    );
    return Boolean(tip.tooltipVisible && drawn);
}"""


def test_the_layout_fits_a_phone(small_demo_server, browser):
    from playwright.sync_api import sync_playwright  # noqa: F401  (devices come with it)

    phone = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
    phone["user_agent"] = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
    )
    context = browser.new_context(**phone)
    page = context.new_page()
    try:
        page.goto(small_demo_server, wait_until="domcontentloaded")
        canvas, _ = wait_for_map(page)
        # the map is on the screen, not pushed off it by the sidebar, and nothing scrolls sideways
        box = shown_box(canvas)
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390 + 1
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390 + 1
        # the sidebar opens over the map from the menu button
        page.locator("#sidebar-button").click()
        expect(page.get_by_placeholder("Search datasets, variables, scenarios…")).to_be_visible()
        # closed again by a tap, the menu leaves the header clear: no "Toggle the Sidebar"
        # tooltip standing over the logo
        page.locator("#sidebar-button").tap()
        page.locator("#sidebar-button").tap()
        page.wait_for_function(TOOLTIP_ASKED_JS, timeout=10_000)  # FAST shows it after a delay
        assert page.evaluate(TOOLTIP_SHOWN_JS) is False
    finally:
        context.close()
