"""The Share dialog's light embed snippet: the session-free page of the same view."""

from __future__ import annotations

import textwrap
from types import SimpleNamespace

from app.share import snippets
from components.state import ExplorerState
from data_adapters import Catalog
from tests.app.conftest import MAP_CATALOG


def test_share_offers_the_light_embed_of_the_same_view(tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text(textwrap.dedent(MAP_CATALOG))
    state = ExplorerState(Catalog.load(path))
    search = "?dataset=small-demo&variable=thetao&time=2025-01-03"
    location = SimpleNamespace(
        hostname="maps.example", port="8443", protocol="https:", pathname="/ocean/",
        search=search,
    )  # fmt: skip
    light = snippets(state, location)["light"]
    assert light.startswith("<iframe ")
    src = "https://maps.example:8443/ocean/embed/light/map?dataset=small-demo&amp;variable=thetao"
    assert f'src="{src}&amp;time=2025-01-03"' in light
