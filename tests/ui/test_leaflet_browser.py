"""A Leaflet page on another site shows the server's tiles from its TileJSON (real Chromium)."""

from __future__ import annotations

import io
import pathlib
import shutil
import urllib.request

import numpy as np
import pytest
from PIL import Image

from tests.app.conftest import map_server  # noqa: F401  (the server of the map routes)
from tests.servers import serve_directory

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LEAFLET = pathlib.Path(__file__).parent / "vendor" / "leaflet-1.9.4"

PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="leaflet.css"><script src="leaflet.js"></script></head>
<body style="margin:0"><div id="map" style="width:768px;height:512px"></div><script>
  const map = L.map("map", {zoomControl: false}).setView([30, -40], 2);
  fetch("TILEJSON").then((r) => r.json()).then((tj) => {
    window.tilejson = tj;
    L.tileLayer(tj.tiles[0], {maxZoom: tj.maxzoom, attribution: tj.attribution}).addTo(map);
  });
</script></body></html>
"""


def test_a_leaflet_page_on_another_site_shows_the_tiles(map_server, page, tmp_path):  # noqa: F811
    url, _ = map_server
    site = tmp_path / "site"
    shutil.copytree(LEAFLET, site)
    tilejson = f"{url}tiles/small-demo/thetao/tilejson.json?time=2025-01-05"
    (site / "index.html").write_text(PAGE.replace("TILEJSON", tilejson))
    with serve_directory(str(site)) as site_url:  # another origin: TileJSON is read by CORS
        page.goto(f"{site_url}/index.html", wait_until="load")
        page.wait_for_function(
            "() => { const t = [...document.querySelectorAll('img.leaflet-tile')];"
            " return t.length >= 6 && t.every(i => i.complete && i.naturalWidth === 256); }",
            timeout=60_000,
        )
        sources = page.eval_on_selector_all("img.leaflet-tile", "ts => ts.map(t => t.src)")
        assert all("/tiles/small-demo/thetao/2/" in s and "time=2025-01-05" in s for s in sources)
        assert "Demo ocean attribution" in page.inner_text(".leaflet-control-attribution")
        # Leaflet's z/x/y scheme is ours: its tile 2/2/1 (0-90°E, 0-67°N) holds sea and land
        src = next(s for s in sources if "/2/2/1.png" in s)
        with urllib.request.urlopen(src, timeout=60) as response:
            tile = np.asarray(Image.open(io.BytesIO(response.read())).convert("RGBA"))
        assert (tile[..., 3] == 255).any() and (tile[..., 3] == 0).any()
