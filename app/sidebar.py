"""The sidebar's composite controls, built from the session's state.

The "Add expression" box and the comparison's settings.
"""

from __future__ import annotations

import panel as pn

from components.core import expressions
from components.number_box import number_box
from components.state import MODES, ExplorerState
from components.text import escape

#: What the impact table's step count compares with its value (the state's ``exceed``).
EXCEED_CHOICES = {"change": "its change from baseline", "value": "its value"}


def expression_input(state: ExplorerState) -> pn.widgets.TextInput:
    """ "Add expression": a variable computed from others, added and shown on Enter."""
    box = pn.widgets.TextInput(
        name="Add expression",
        placeholder="speed2 = sqrt(uo**2 + vo**2)",
        description="NAME [UNITS] = EXPRESSION over the variables: + - * / ** (a number "
        "exponent), comparisons, where(c, a, b), sqrt, abs, log, log10, exp, sin, cos, "
        "minimum, maximum, clip. Enter adds it to the variables and shows it.",
        max_length=expressions.MAX_CHARS,
        sizing_mode="stretch_width",
    )

    def add(event) -> None:
        if event.new and state.add_expression(event.new) is not None:
            box.value = ""  # added: the box is ready for the next one

    box.param.watch(add, "value")
    return box


def comparison_controls(state: ExplorerState) -> pn.Column:
    """Mode, baseline, what-if runs and the comparison's thresholds, from the state."""
    mode = state.param.mode.rx()
    has_members = pn.bind(
        lambda *_: state.source is not None and "member" in state.dataset.dims,
        state.param.dataset_id,
    )

    def offered(*_) -> dict[str, str]:  # relative change only for a ratio scale
        refused = state.relative_refusal()
        return {label: key for key, label in MODES.items() if not (key == "relative" and refused)}

    def why_not_relative(*_) -> str:
        refused = state.relative_refusal()
        if not refused:
            return ""
        text = escape(refused[0].upper() + refused[1:] + ".")
        return f"<div class='mode-note' title='{text}'>{text}</div>"

    return pn.Column(
        pn.widgets.RadioButtonGroup.from_param(
            state.param.mode,
            options=pn.bind(offered, state.param.dataset_id, state.param.variable),
            orientation="vertical",
            color="primary",
            variant="outline",
            sizing_mode="stretch_width",
        ),
        pn.pane.HTML(
            pn.bind(why_not_relative, state.param.dataset_id, state.param.variable),
            styles={"font-size": "12px", "color": "#555"},
            margin=(0, 10),
            sizing_mode="stretch_width",
        ),
        pn.widgets.Select.from_param(state.param.baseline, visible=mode != "map"),
        pn.widgets.MultiChoice.from_param(state.param.scenarios, visible=mode != "map"),
        number_box(
            state, "threshold", placeholder="0", visible=mode.rx.in_(["difference", "relative"])
        ),
        pn.widgets.Checkbox.from_param(state.param.within_spread, visible=has_members),
        pn.widgets.Checkbox.from_param(state.param.lock_colours, visible=mode == "side-by-side"),
        number_box(
            state, "event_value", visible=mode != "map", placeholder="e.g. 1 (empty: no count)"
        ),
        pn.widgets.RadioButtonGroup.from_param(
            state.param.exceed,
            options={label: key for key, label in EXCEED_CHOICES.items()},
            visible=mode != "map",
            color="primary",
            variant="outline",
            sizing_mode="stretch_width",
            css_classes=["exceed-choice"],
        ),
        sizing_mode="stretch_width",
    )
