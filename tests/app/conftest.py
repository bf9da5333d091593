"""A real server for the session-free map routes (tiles, WMS, light embeds) on a small demo."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator

import pytest

from tests.ui.conftest import serving

#: The catalog the map-route tests serve: the demo ocean at 1°, ten days, every scenario; and
#: four years of it with a past (anomalies and heatwaves against 2021-2023, the heatwave in
#: 2024).
MAP_CATALOG = """
datasets:
  - id: small-demo
    title: Small demo
    adapter: demo
    resolution: 1.0
    days: 10
    attribution: Demo ocean attribution
  - id: past-demo
    title: Small demo with a past
    adapter: demo
    resolution: 1.0
    start: "2021-01-01"
    days: 1461
    variability: true
    scenarios: [baseline, heatwave]
"""


@pytest.fixture(scope="session")
def map_server(tmp_path_factory) -> Iterator[tuple[str, str]]:
    """``(url, catalog path)`` of a real ``ocean-explorer serve`` on the small demo."""
    root = tmp_path_factory.mktemp("map-routes")
    catalog = root / "catalog.yaml"
    catalog.write_text(textwrap.dedent(MAP_CATALOG))
    with serving("--catalog", str(catalog), log=root / "serve.log") as url:
        yield url, str(catalog)
