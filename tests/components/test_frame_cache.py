"""The frame cache: a replayed animation reads nothing again, the cache keeps to its memory
bound, and many sessions asking for one frame at once cause one render and one read.

Frames are keyed by what they show: dataset, variable, time, depth, scenario (the map's
``field_key``) and the viewport (extent, size, CRS), added by the cache itself.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import dask.array
import numpy as np
import pytest
import xarray as xr

from components import ExplorerState, MapView
from components.core.frames import FrameCache
from components.core.geography import WEB_MERCATOR, Viewport
from components.map_layers import lonlat_extent_to_mercator
from data_adapters import Catalog

#: The view every frame is drawn in unless a test moves it: the North Atlantic.
BBOX, SIZE = (-60.0, 10.0, -10.0, 50.0), (120, 90)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.from_dict(
        {
            "datasets": [
                {"id": "demo-1deg", "adapter": "demo", "resolution": 1.0, "days": 8},
                {"id": "demo-half", "adapter": "demo", "resolution": 0.5, "days": 8},
            ]
        }
    )


@pytest.fixture
def frames() -> FrameCache:
    """A frame cache of the test's own, given to every map view it makes."""
    return FrameCache()


@pytest.fixture
def view(catalog, frames) -> MapView:
    return MapView(state=ExplorerState(catalog), frames=frames)


def draw(view: MapView, bbox=BBOX, size=SIZE) -> np.ndarray:
    x0, y0, x1, y1 = lonlat_extent_to_mercator(bbox)
    view._field(x_range=(x0, x1), y_range=(y0, y1), width=size[0], height=size[1])
    return view.frame.values


def test_replaying_an_animation_renders_nothing_again(view, frames):
    times = view.state.param.time.objects[:6]
    first = []
    for time in times:
        view.state.time = time
        first.append(draw(view))
    assert frames.misses == len(times)
    for time in times:  # the same steps on the same view again
        view.state.time = time
        assert draw(view) is first[times.index(time)]
    assert frames.misses == len(times) and frames.hits == len(times)


@pytest.mark.parametrize(
    "change",
    [
        {"dataset_id": "demo-half"},
        {"variable": "so"},
        {"time": "2025-01-03"},
        {"depth": 100.0},
        {"scenario": "warming_3"},
        {"bbox": (-50.0, 10.0, 0.0, 50.0)},
        {"size": (121, 90)},
    ],
    ids=lambda change: next(iter(change)),
)
def test_every_choice_and_the_view_are_part_of_the_key(view, frames, change):
    before = draw(view)
    bbox, size = change.pop("bbox", BBOX), change.pop("size", SIZE)
    view.state.param.update(**change)
    after = draw(view, bbox, size)
    assert frames.misses == 2  # a new frame, never the old one shown again
    assert after.shape == (size[1], size[0])
    assert not np.array_equal(before, after, equal_nan=True)
    draw(view, bbox, size)
    assert frames.misses == 2 and frames.hits == 1


def lazy_field(offset: float = 0.0, reads: list | None = None) -> xr.DataArray:
    """A 1° global field read lazily in one chunk; ``reads`` records each read of it."""
    lat, lon = np.arange(-89.5, 90.0), np.arange(-179.5, 180.0)

    def read(block: np.ndarray) -> np.ndarray:
        if reads is not None:
            reads.append(1)
        return block + np.float32(offset)

    source = dask.array.from_array(np.zeros((lat.size, lon.size), "float32"), chunks=-1)
    # meta given: dask then never calls ``read`` to learn the result's type
    values = source.map_blocks(read, meta=np.array((), dtype="float32"))
    return xr.DataArray(values, coords=[("lat", lat), ("lon", lon)], name="t")


def globe(width: int = 100, height: int = 50) -> Viewport:
    return Viewport.from_bbox((-180.0, -80.0, 180.0, 80.0), width, height, WEB_MERCATOR)


def test_the_cache_stays_under_its_byte_bound_and_drops_the_oldest():
    frame_bytes = 100 * 50 * 4
    cache = FrameCache(max_bytes=5 * frame_bytes)
    for step in range(12):
        cache.get(("sst", step), lambda step=step: lazy_field(step), globe())
        assert cache.nbytes <= cache.max_bytes
    assert len(cache) == 5 and cache.nbytes == 5 * frame_bytes
    cache.get(("sst", 11), lambda: lazy_field(11), globe())  # the newest: still there
    assert (cache.misses, cache.hits) == (12, 1)
    cache.get(("sst", 0), lambda: lazy_field(0), globe())  # the oldest: rendered again
    assert cache.misses == 13
    # a frame larger than the whole bound is served but never kept
    big = cache.get(("sst", "big"), lambda: lazy_field(), globe(2000, 1000))
    assert big.values.shape == (1000, 2000) and len(cache) == 5


def test_twenty_sessions_asking_for_one_frame_render_it_once():
    cache = FrameCache()
    reads: list[int] = []
    sessions = 20
    asked = threading.Condition()
    waiting = 0
    opened = []

    def field() -> xr.DataArray:
        opened.append(1)
        # the render is under way: hold it until every session has asked for the frame
        with asked:
            assert asked.wait_for(lambda: waiting == sessions, timeout=30)
        return lazy_field(reads=reads)

    def session(_: int):
        nonlocal waiting
        with asked:
            waiting += 1
            asked.notify_all()
        return cache.get(("sst", "2025-01-01"), field, globe())

    with ThreadPoolExecutor(sessions) as pool:
        got = list(pool.map(session, range(sessions)))
    assert len(opened) == 1 and len(reads) == 1  # one render, one read upstream
    assert (cache.misses, cache.hits) == (1, sessions - 1)
    assert all(frame is got[0] for frame in got)
