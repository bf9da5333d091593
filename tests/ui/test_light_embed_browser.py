"""The light embed in real Chromium: tiles and a time slider, no websocket, no server session."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.app.conftest import map_server  # noqa: F401  (the server of the map routes)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def sessions(url: str) -> int:
    with urllib.request.urlopen(f"{url}health", timeout=30) as response:
        return json.loads(response.read())["sessions"]


def test_light_embed_shows_tiles_steps_time_and_opens_no_websocket(map_server, page):  # noqa: F811
    url, _ = map_server
    sockets: list[str] = []
    problems: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"{r.status} {r.url}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    before = sessions(url)  # the server's own start-up check may have opened one
    query = "dataset=small-demo&variable=thetao&time=2025-01-03&bbox=-100,0,20,70"
    page.goto(f"{url}embed/light/map?{query}", wait_until="load")
    tiles = page.locator("#light-map img")
    page.wait_for_function(
        "() => { const t = [...document.querySelectorAll('#light-map img')];"
        " return t.length > 0 && t.every(i => i.complete && i.naturalWidth === 256); }",
        timeout=60_000,
    )
    first = tiles.first.get_attribute("src")
    assert "/tiles/small-demo/thetao/" in first and "time=2025-01-03" in first
    assert "Small demo" in page.inner_text("#light-caption")
    assert "Demo ocean attribution" in page.inner_text("#light-credit")
    assert page.inner_text("#light-when") == "2025-01-03"
    # the slider swaps the tiles' time; the colours stay fixed (same clim in every URL)
    page.locator("#light-time").fill("6")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#light-map img')].every("
        " i => i.src.includes('time=2025-01-07') && i.complete && i.naturalWidth === 256)",
        timeout=60_000,
    )
    stepped = tiles.first.get_attribute("src")
    assert stepped.split("clim=")[1] == first.split("clim=")[1]
    assert page.inner_text("#light-when") == "2025-01-07"
    assert sockets == [] and problems == []
    assert sessions(url) <= before  # no server session was made for the page
