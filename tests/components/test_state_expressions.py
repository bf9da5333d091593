"""A session's expressions: added from the sidebar's text, shown at once, refused with the
reason, replaced by name, and followed by the probes' cache keys."""

from __future__ import annotations

import numpy as np

from components import ExplorerState
from data_adapters import Catalog


def _state() -> ExplorerState:
    catalog = Catalog.from_dict(
        {"datasets": [{"id": "demo-1deg", "adapter": "demo", "resolution": 1.0, "days": 3}]}
    )
    return ExplorerState(catalog)


def test_an_added_expression_is_shown_and_a_refused_one_says_why():
    state = _state()
    assert state.add_expression("hot [degC] = thetao - 25") == "hot"
    assert state.variable == "hot" and state.expressions == ["hot [degC] = thetao - 25"]
    shown = state.field().values
    np.testing.assert_allclose(shown, state.field(variable="thetao").values - 25, equal_nan=True)
    key = state.variable_key
    assert state.add_expression("hot = uo.__class__") is None
    assert "Attribute" in state.message and state.variable == "hot"
    # the same name again: the new definition replaces the old, and caches tell them apart
    assert state.add_expression("hot [degC] = thetao - 20") == "hot"
    assert state.expressions == ["hot [degC] = thetao - 20"]
    assert state.variable_key != key
    np.testing.assert_allclose(state.field().values, shown + 5, equal_nan=True)
