"""Map pyramids: ``prepare`` writes coarser map levels, and maps read the level that suits
the view, so that a frame's cost follows the screen and not the grid.

The test ocean is a 1° globe (180 x 360 cells) with a land block, prepared with map tiles of
30 x 60 cells (36 per map) and three levels (2°, 4°, 8°). Chunk reads are counted where zarr
reads them from disk (every key goes through ``LocalStore.get``).
"""

from __future__ import annotations

import pathlib
import textwrap

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import zarr
import zarr.storage

from components import ExplorerState, MapView
from components.core.frames import (
    PROJECTED_Y,
    FrameCache,
    full_extent,
    pixel_degrees,
    pyramid_for,
    render_field,
)
from components.core.geography import LONLAT, WEB_MERCATOR, Viewport, to_crs
from components.map_layers import lonlat_extent_to_mercator
from data_adapters import (
    Catalog,
    OpenedSource,
    normalize,
    open_source,
    validate_dataset,
    write_prepared,
)
from data_adapters.chunking import PYRAMID_MIN_SIDE, plan_pyramid
from data_adapters.pyramid import block_centres, block_mean
from data_adapters.store_format import LAYOUTS_ATTR, read_layouts
from tests import synthetic
from tests.components.test_render import rotated_field

#: Map tiles of the test store (cells): a 1° globe is 6 x 6 tiles.
MAP_TILE = (30, 60)
#: Levels written for the test store: 2°, 4° and 8° cells.
LEVELS = 3
#: The land block (degrees): NaN in every layout.
LAND = {"lon": slice(0.0, 20.0), "lat": slice(-10.0, 10.0)}


def one_degree_ocean(times: int = 3) -> xr.Dataset:
    """thetao(time, depth, lat, lon) = marker + step / 10 + depth / 1000 on a 1° globe, NaN
    over a 20° x 20° land block; zos(time, lat, lon) without depth."""
    lon = np.arange(-179.5, 180.0, 1.0)
    lat = np.arange(-89.5, 90.0, 1.0)
    depth = np.array([0.5, 100.0])
    base = synthetic.marker(lon[None, :], lat[:, None])
    steps = np.arange(times)[:, None, None, None] / 10.0
    thetao = (base[None, None] + steps + depth[None, :, None, None] / 1000.0).astype("float32")
    land = (lon[None, :] >= 0.0) & (lon[None, :] < 20.0) & (np.abs(lat[:, None]) < 10.0)
    thetao[..., land] = np.nan
    zos = np.where(land, np.nan, np.cos(np.radians(lat))[:, None] + 0 * lon)[None] * np.ones(
        (times, 1, 1)
    )
    return xr.Dataset(
        {
            "thetao": (("time", "depth", "lat", "lon"), thetao, synthetic.THETAO_ATTRS),
            "zos": (("time", "lat", "lon"), zos.astype("float32"), synthetic.ZOS_ATTRS),
        },
        coords={
            "time": ("time", pd.date_range("2025-01-01", periods=times, freq="D")),
            "depth": ("depth", depth, synthetic.DEPTH_ATTRS),
            "lat": ("lat", lat, synthetic.LAT_ATTRS),
            "lon": ("lon", lon, synthetic.LON_ATTRS),
        },
        attrs={"title": "One-degree ocean"},
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> pathlib.Path:
    path = tmp_path_factory.mktemp("pyramid") / "ocean.zarr"
    write_prepared(
        normalize(one_degree_ocean()),
        path,
        map_chunks=MAP_TILE,
        series_chunks=(30, 30),
        pyramid_levels=LEVELS,
    )
    return path


@pytest.fixture(scope="module")
def plain_store(tmp_path_factory) -> pathlib.Path:
    """The same ocean in a plain Zarr store with the same map tiles (no pyramid)."""
    path = tmp_path_factory.mktemp("plain") / "ocean.zarr"
    ds = normalize(one_degree_ocean())
    encoding = {name: {"chunks": (1,) * (da.ndim - 2) + MAP_TILE} for name, da in ds.items()}
    ds.to_zarr(path, encoding=encoding, consolidated=False, zarr_format=3)
    return path


@pytest.fixture
def chunk_reads(monkeypatch) -> list[str]:
    """Keys of the data chunks read from local Zarr stores while the test runs."""
    reads: list[str] = []
    original = zarr.storage.LocalStore.get

    async def counting_get(self, key, prototype=None, byte_range=None):
        if "/c/" in f"/{key}":  # chunk keys: '<group>/<array>/c/0/1/2'; metadata: zarr.json
            reads.append(key)
        return await original(self, key, prototype, byte_range)

    monkeypatch.setattr(zarr.storage.LocalStore, "get", counting_get)
    return reads


def globe(width: int, height: int, crs: str = WEB_MERCATOR) -> Viewport:
    """The whole 1° globe (its Web Mercator square, or the lon/lat rectangle)."""
    lat, lon = np.arange(-89.5, 90.0, 1.0), np.arange(-179.5, 180.0, 1.0)
    field = xr.DataArray(np.zeros((lat.size, lon.size)), coords=[("lat", lat), ("lon", lon)])
    x0, y0, x1, y1 = full_extent(field, crs)
    return Viewport((x0, x1), (y0, y1), width, height, crs)


# -- coarsening -----------------------------------------------------------------------------
def test_block_mean_ignores_land_and_keeps_odd_edges():
    values = np.array(
        [
            [1.0, 3.0, np.nan, np.nan, 7.0],
            [5.0, 7.0, np.nan, 2.0, 9.0],
            [np.nan, np.nan, 4.0, 6.0, 11.0],
        ],
        dtype="float32",
    )
    coarse = block_mean(values)
    assert coarse.dtype == np.float32 and coarse.shape == (2, 3)
    # a sea block: its mean; a coastal block: the mean of its sea cells only (land is not 0)
    assert coarse[0].tolist() == [4.0, 2.0, 8.0]
    # the odd last row is a block of its own; a block of land only stays land
    assert coarse[1].tolist()[1:] == [5.0, 11.0] and np.isnan(coarse[1, 0])
    assert block_centres(np.array([0.5, 1.5, 2.5, 3.5, 4.5])).tolist() == [1.0, 3.0, 4.5]


def test_default_pyramid_halves_the_grid_down_to_a_screen():
    import dask.array

    def levels(nlat: int, nlon: int) -> list[tuple[int, tuple[int, int]]]:
        ds = xr.Dataset(
            {"sst": (("time", "lat", "lon"), dask.array.zeros((2, nlat, nlon), "float32"))}
        )
        plans = {"sst": type("P", (), {"maps": {"time": 1, "lat": 720, "lon": 864}})()}
        return [(lv.factor, lv.shape) for lv in plan_pyramid(ds, ("lat", "lon"), plans, None, None)]

    # 1/12°: 1/6°, 1/3°, 2/3°; the last one still wider than PYRAMID_MIN_SIDE
    assert levels(2160, 4320) == [(2, (1080, 2160)), (4, (540, 1080)), (8, (270, 540))]
    assert levels(4320, 8640)[-1] == (16, (270, 540))
    assert levels(720, 1440) == [(2, (360, 720))]  # 1/4°: one level of 1/2°
    assert levels(200, 400) == []  # already smaller than a screen
    assert max(levels(2160, 4320)[-1][1]) >= PYRAMID_MIN_SIDE


# -- prepare writes it, adapters open it ----------------------------------------------------
def test_prepare_writes_each_level_from_the_one_before(store):
    root = zarr.open_group(store, mode="r")
    layouts = read_layouts(store)
    assert layouts == root.attrs[LAYOUTS_ATTR]
    levels = layouts["levels"]
    assert [(lv["group"], lv["factor"]) for lv in levels] == [
        ("maps_1", 2), ("maps_2", 4), ("maps_3", 8)
    ]  # fmt: skip
    # chunked like the maps: one step and depth per chunk, map tiles of at most 30 x 60
    assert root["maps_1/thetao"].shape == (3, 2, 90, 180)
    assert root["maps_1/thetao"].chunks == (1, 1, 30, 60)
    assert root["maps_3/zos"].shape == (3, 23, 45) and root["maps_3/zos"].chunks == (1, 23, 45)
    assert levels[0]["variables"]["zos"] == {"time": 1, "lat": 30, "lon": 60}
    previous = root["maps/thetao"][...]
    for level in levels:
        values = root[f"{level['group']}/thetao"][...]
        np.testing.assert_array_equal(values, block_mean(previous))
        previous = values
    # land stays land where a whole block is land, and coasts keep their sea values
    level1 = root["maps_1/thetao"][0, 0]
    assert np.isnan(level1[40:50, 90:100]).all()
    assert np.isfinite(level1).sum() == (90 * 180) - 100


def test_opening_a_prepared_store_gives_its_levels(store, plain_store):
    opened = open_source(str(store))
    ds = opened.dataset
    levels = opened.pyramid.levels
    assert [level.factor for level in levels] == [2, 4, 8]
    for level in levels:
        validate_dataset(level.dataset)  # every level is on the data contract
        assert list(level.dataset.data_vars) == ["thetao", "zos"]
        assert level.dataset.sizes["time"] == ds.sizes["time"]
        assert (level.dataset["time"].values == ds["time"].values).all()
    np.testing.assert_allclose(levels[0].dataset["lon"][:3], [-179.0, -177.0, -175.0])
    # a plain store, or a selection of a prepared one, has no pyramid: maps read the grid
    assert open_source(str(plain_store)).pyramid.levels == ()
    assert not hasattr(ds[["thetao"]], "pyramid")  # the source has levels, no dataset does


def test_curvilinear_grids_get_no_pyramid(tmp_path):
    ds = open_source(synthetic.write_netcdf(synthetic.nemo_curvilinear(), tmp_path / "n.nc"))
    ds = ds.dataset
    result = write_prepared(ds, tmp_path / "nemo.zarr", pyramid_levels=2)
    assert result.layouts["levels"] == []
    assert open_source(str(tmp_path / "nemo.zarr")).pyramid.levels == ()


# -- rendering picks the level --------------------------------------------------------------
def test_pixel_size_is_measured_at_the_centre_of_the_view():
    assert pixel_degrees(globe(360, 360)) == pytest.approx(1.0, rel=1e-3)
    assert pixel_degrees(globe(360, 180, LONLAT)) == pytest.approx(1.0, rel=1e-3)
    arctic = Viewport.from_bbox((-40.0, 55.0, 40.0, 65.0), 80, 40, WEB_MERCATOR)
    assert pixel_degrees(arctic) == pytest.approx(np.cos(np.radians(60.0)), rel=0.02)


@pytest.mark.parametrize(
    ("width", "factor"),
    [(45, 8), (90, 4), (91, 2), (180, 2), (181, 1), (360, 1), (1200, 1)],
)
def test_the_coarsest_level_whose_cells_fit_in_a_pixel_is_read(store, width, factor):
    opened = open_source(str(store))
    field = opened.dataset["thetao"].isel(time=1, depth=1)
    frame = render_field(pyramid_for(field, opened.pyramid), globe(width, width))
    assert frame.factor == factor
    # about one cell per pixel: never more cells than four per pixel from a level
    if factor > 1:
        assert frame.cells_read <= 4 * width * width * 1.2


def test_a_level_shows_the_same_step_depth_and_run(store):
    opened = open_source(str(store))
    ds = opened.dataset
    field = ds["thetao"].isel(time=2, depth=1)
    pyramid = pyramid_for(field, opened.pyramid)
    assert [factor for factor, _ in pyramid.coarser] == [2, 4, 8]
    viewport = globe(90, 45, LONLAT)  # 4° pixels
    frame = render_field(pyramid, viewport)
    assert frame.factor == 4
    full = render_field(field, viewport)
    # the same field either way (block means against quadmesh means of the same cells)
    sea = np.isfinite(frame.values) & np.isfinite(full.values)
    assert sea.mean() > 0.9
    np.testing.assert_allclose(frame.values[sea], full.values[sea], atol=0.05)
    # and not another step or depth: those differ by 0.1 and 0.0995 from this one
    other = render_field(ds["thetao"].isel(time=1, depth=1), viewport)
    assert np.nanmedian(np.abs(frame.values - other.values)) == pytest.approx(0.1, abs=1e-3)


def test_a_field_the_pyramid_does_not_match_reads_the_full_grid(store):
    opened = open_source(str(store))
    ds = opened.dataset
    field = ds["thetao"].isel(time=0, depth=0).reset_coords(drop=True)  # no time/depth
    assert pyramid_for(field, opened.pyramid).coarser == ()
    assert pyramid_for(ds["zos"].isel(time=0), opened.pyramid).coarser != ()
    assert pyramid_for(ds["zos"].isel(time=0), None).coarser == ()
    curvilinear = rotated_field(lon0=-30.0, lat0=30.0)
    assert pyramid_for(curvilinear, opened.pyramid).coarser == ()


# -- only the chunks in view ----------------------------------------------------------------
def test_only_the_chunks_in_view_are_read(store, plain_store, chunk_reads):
    zoom = Viewport.from_bbox((-45.0, 12.0, -35.0, 22.0), 400, 400, WEB_MERCATOR)
    whole = globe(90, 90)
    plain, prepared = open_source(str(plain_store)), open_source(str(store))
    prepared.pyramid.levels  # noqa: B018  (opened now: opening reads coordinates)

    def reads_for(source: OpenedSource, viewport: Viewport) -> list[str]:
        field = source.dataset["thetao"].isel(time=1, depth=0)
        chunk_reads.clear()
        render_field(pyramid_for(field, source.pyramid), viewport)
        return sorted(chunk_reads)

    # a plain store: the globe reads every tile of the map, a 10° zoom one tile
    assert len(reads_for(plain, whole)) == 36
    assert reads_for(plain, zoom) == ["thetao/c/1/0/3/2"]  # rows 90-119 (0-30°N), cols 120-179
    # a prepared store: the globe reads its 4° level (45 x 90 cells: 4 tiles), the zoom the
    # same one tile of the full grid
    level_tiles = [f"maps_2/thetao/c/1/0/{row}/{col}" for row in (0, 1) for col in (0, 1)]
    assert reads_for(prepared, whole) == level_tiles
    assert reads_for(prepared, zoom) == ["maps/thetao/c/1/0/3/2"]


# -- the map view ---------------------------------------------------------------------------
@pytest.fixture
def map_view(store, tmp_path, monkeypatch) -> MapView:
    catalog_file = tmp_path / "catalog.yaml"
    catalog_file.write_text(
        textwrap.dedent(
            f"""
            datasets:
              - id: prepared
                adapter: zarr
                path: {store}
            """
        )
    )
    state = ExplorerState(Catalog.load(catalog_file))
    state.param.update(variable="thetao", time=state.param.time.objects[1], depth=100.0)
    return MapView(state=state, frames=FrameCache())  # a cache of its own


def draw(view: MapView, bbox, width: int, height: int) -> None:
    x0, y0, x1, y1 = lonlat_extent_to_mercator(bbox)
    view._field(x_range=(x0, x1), y_range=(y0, y1), width=width, height=height)


def test_the_map_reads_a_coarse_level_zoomed_out_and_full_values_zoomed_in(map_view):
    draw(map_view, (-180.0, -80.0, 180.0, 80.0), 90, 60)
    assert map_view.frame.factor == 4
    # zoomed in, every pixel (and so every hover value) is a full-resolution cell's value
    bbox = (-41.0, 29.0, -39.0, 31.0)
    draw(map_view, bbox, 200, 200)
    frame = map_view.frame
    assert frame.factor == 1
    full = render_field(map_view.state.field(), frame.viewport)
    np.testing.assert_array_equal(frame.values, full.values)
    pixel = frame.to_xarray().isel(x=50, y=50)
    cell = map_view.state.field().sel(lon=float(pixel.lon), lat=float(pixel.lat), method="nearest")
    assert float(pixel) == pytest.approx(float(cell), rel=1e-6)


# -- projection once per grid ---------------------------------------------------------------
def test_a_curvilinear_grid_is_projected_once_not_per_frame():
    field = rotated_field(lon0=-30.0, lat0=30.0, ny=40, nx=60)
    steps = xr.concat([field + step for step in range(3)], dim="time")
    PROJECTED_Y.clear()
    misses = PROJECTED_Y.misses
    views = [
        Viewport.from_bbox((-30.0, 20.0, 60.0, 90.0), 64, 48, WEB_MERCATOR),
        Viewport.from_bbox((0.0, 40.0, 20.0, 60.0), 64, 48, WEB_MERCATOR),
    ]
    frames = [render_field(steps.isel(time=t), vp) for t in range(3) for vp in views]
    assert PROJECTED_Y.misses == misses + 1  # six frames, one projection
    # the same pixels as projecting the window afresh
    window = field.isel(y=slice(0, 40), x=slice(0, 60))
    x, y = to_crs(window["lon"].values, window["lat"].values, WEB_MERCATOR)
    assert np.allclose(PROJECTED_Y.get(field["lat"].values), y)
    assert np.isfinite(frames[0].values).any() and np.isfinite(frames[1].values).any()
    assert x.shape == y.shape
