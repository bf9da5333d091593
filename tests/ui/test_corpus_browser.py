"""The app opens a real file of each grid kind (``ocean-explorer serve FILE``) and maps it.

One server serves the four corpus files (tests/corpus): a regular grid (OSTIA SST), a
curvilinear one with 2-D lon/lat (Arctic20), a CF rotated pole (Met Office UM) and a
projected grid given by its X/Y and polar-stereographic mapping alone (NorKyst800). Each
page asks for its file by URL, shows a colour field, and its hover readout places the map
where the file's cells truly are (longitude/latitude from the raw file, not the rotated or
projected coordinates).
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import numpy as np
import pytest

from tests.corpus import BY_NAME, fetch
from tests.corpus.test_corpus_cli import raw_dataset, raw_lonlat

from .conftest import serving
from .pages import distinct_colours, hover_readout, wait_for_map

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: One corpus entry per grid kind.
GRID_KINDS = {
    "regular": "ostia-sst",
    "curvilinear": "arctic20",
    "rotated-pole": "rotated-pole",
    "projected": "norkyst800",
}


@pytest.fixture(scope="module")
def corpus_server(tmp_path_factory) -> Iterator[tuple[str, dict[str, pathlib.Path]]]:
    """``ocean-explorer serve`` with the four files added for the run; its URL and the files."""
    paths = fetch()
    files = [str(paths[name]) for name in GRID_KINDS.values()]
    with serving(*files, log=tmp_path_factory.mktemp("corpus-ui") / "serve.log") as url:
        yield url, paths


@pytest.mark.parametrize("kind", list(GRID_KINDS))
def test_the_app_maps_each_grid_kind_where_it_is(corpus_server, page, kind):
    url, paths = corpus_server
    entry = BY_NAME[GRID_KINDS[kind]]
    path = paths[entry.name]
    # ``serve FILE`` lists the file under its name; the URL state picks it and its variable
    page.goto(f"{url}?dataset={path.name}&variable={entry.var}", wait_until="domcontentloaded")

    canvas, rgb = wait_for_map(page, min_colours=100)

    assert distinct_colours(rgb) >= 100
    lon_text, lat_text, _ = hover_readout(page, canvas, 0.5, 0.5)
    lon, lat = float(lon_text.rstrip("°")), float(lat_text.rstrip("°"))
    lon2, lat2, _ = raw_lonlat(raw_dataset(entry, path)[entry.var])
    # the middle of the first view lies among the file's true cells
    assert np.nanmin(lat2) <= lat <= np.nanmax(lat2), (lat, np.nanmin(lat2), np.nanmax(lat2))
    assert np.nanmin(lon2) <= lon <= np.nanmax(lon2), (lon, np.nanmin(lon2), np.nanmax(lon2))
