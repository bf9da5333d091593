"""The Share dialog: its light embed snippet (the session-free page of the same view), and a
dialog that goes with its session."""

from __future__ import annotations

import gc
import textwrap
import weakref
from types import SimpleNamespace

from app.share import ShareDialog, snippets
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


def test_a_share_dialog_is_freed_with_its_session(tmp_path):
    # the Copy button's browser callback must not keep the button (and through it the
    # session's template) alive once the session is gone: one dialog per session served
    path = tmp_path / "catalog.yaml"
    path.write_text(textwrap.dedent(MAP_CATALOG))
    template = SimpleNamespace(modal=[])  # a template's modal holds the dialog
    dialog = ShareDialog(ExplorerState(Catalog.load(path)), lambda: None, template)
    button, link = weakref.ref(dialog.copy), weakref.ref(dialog.link)
    del dialog, template
    while gc.collect():  # the registry lets go of a callback once its button is gone
        pass
    assert button() is None
    assert link() is None
