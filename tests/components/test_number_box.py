"""Number boxes (``components.number_box``): what is typed applies as a number, or is refused
with a notice that names the box and the fix, the box showing again what applies."""

from __future__ import annotations

import panel as pn
import pytest

from components import ColorSettings, ExplorerState
from components.number_box import number_box, parse_number
from data_adapters import Catalog


@pytest.fixture(scope="module")
def catalog():
    return Catalog.from_dict(
        {"datasets": [{"id": "demo-1deg", "adapter": "demo", "resolution": 1.0, "days": 3}]}
    )


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("1,5", "decimals take a point (1.5)"),
        ("abc", "is not a number (e.g. 1.5"),
        ("1e", "is not a number"),
        ("inf", "not a finite number"),
        ("", "is empty"),
    ],
)
def test_text_that_is_not_a_number_says_why(text, why):
    with pytest.raises(ValueError, match=why.replace("(", r"\(").replace(")", r"\)")):
        parse_number(text)


def test_numbers_parse_as_typed():
    assert parse_number(" -0.25 ") == -0.25
    assert parse_number("1e3") == 1000.0
    assert parse_number("", allow_none=True) is None


def test_the_threshold_box_applies_numbers_and_refuses_the_rest(catalog):
    state = ExplorerState(catalog)
    notices: list[str] = []
    box = number_box(state, "threshold", notify=notices.append)
    box.value = "1.5"
    assert state.threshold == 1.5 and notices == []
    box.value = "1,5"  # a decimal comma used to arrive as 15
    assert state.threshold == 1.5 and box.value == "1.5"
    assert notices == ["Hide |Δ| below: '1,5' is not a number: decimals take a point (1.5)"]
    box.value = "-1"  # used to stay in the box while nothing applied
    assert state.threshold == 1.5 and box.value == "1.5"
    assert notices[-1] == "Hide |Δ| below: '-1' is below 0: type 0 or more"
    state.threshold = 0.25  # the box follows the state (a link, another view)
    assert box.value == "0.25"


def test_a_text_the_browser_sends_twice_gives_one_notice(catalog):
    # Enter, then leaving the box before its reset arrives: the same text comes twice
    state = ExplorerState(catalog)
    notices: list[str] = []
    box = number_box(state, "threshold", notify=notices.append)
    box.value = "1,5"
    box.value = "1,5"
    assert len(notices) == 1 and box.value == "0"
    box.value = "abc"  # another wrong text is another notice
    assert len(notices) == 2


def test_an_empty_count_box_counts_nothing(catalog):
    state = ExplorerState(catalog)
    notices: list[str] = []
    box = number_box(state, "event_value", notify=notices.append)
    box.value = "16"
    assert state.event_value == 16.0
    box.value = ""
    assert state.event_value is None and notices == []


def test_the_colour_range_boxes_refuse_words():
    colors = ColorSettings(mode="fixed", vmin=0.0, vmax=10.0)
    notices: list[str] = []
    low = number_box(colors, "vmin", label="min", notify=notices.append)
    low.value = "zero"
    assert colors.vmin == 0.0 and low.value == "0"
    assert notices == ["min: 'zero' is not a number (e.g. 1.5 or -0.2)"]


def test_a_colour_range_with_min_above_max_is_refused():
    # min above max would silently turn the colour bar upside down
    colors = ColorSettings(mode="fixed", vmin=0.0, vmax=10.0)
    low, high = (
        w for w in colors.__panel__().select(pn.widgets.TextInput) if w.label in ("min", "max")
    )
    low.value = "12"
    assert (colors.vmin, low.value) == (0.0, "0")
    high.value = "-1"
    assert (colors.vmax, high.value) == (10.0, "10")
    high.value = "20"  # raise max first, then min may follow
    low.value = "12"
    assert (colors.vmin, colors.vmax) == (12.0, 20.0)
