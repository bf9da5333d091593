"""The command line's shape: a thin package over the core that loads no UI library."""

import ast
import json
import pathlib
import subprocess
import sys

import pytest

CLI = pathlib.Path(__file__).resolve().parents[2] / "app" / "cli"
UI_LIBRARIES = ("panel", "holoviews", "geoviews", "bokeh")
#: Most lines of one module (DESIGN: no module over 600 lines).
MAX_LINES = 600


@pytest.mark.slow
def test_the_command_line_loads_no_ui_library():
    """``ocean-explorer render`` and friends start without Panel or Bokeh: only ``serve``
    imports the app."""
    code = (
        "import json, sys; import app.cli; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert not loaded & set(UI_LIBRARIES), sorted(loaded & set(UI_LIBRARIES))


@pytest.mark.parametrize("path", sorted(CLI.glob("*.py")), ids=lambda p: p.name)
def test_each_module_is_small_and_says_what_it_is_for(path):
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MAX_LINES
    doc = ast.get_docstring(ast.parse(text))
    assert doc, f"{path.name} has no module docstring"
    first = doc.splitlines()[0]
    assert first.endswith("."), f"{path.name}: the docstring's first line is not a sentence"
