"""The command line's shape: a thin package over the core that loads no UI library."""

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
