"""The two layouts of a prepared store (``data_adapters.layouts``) and how sources pick them.

Small synthetic datasets are prepared in ``tmp_path`` with tiles far smaller than their
grids, so that "only the chunks of one cell" and "the whole cube" are different numbers.
Chunk reads are counted at the store: every key zarr reads from local disk goes through
``LocalStore.get``.
"""

from __future__ import annotations

import json
import logging
import pathlib
from typing import Any

import dask.array
import numpy as np
import pytest
import xarray as xr
import zarr
import zarr.storage

from components.core.probes import nearest_ocean_cell, point_series
from data_adapters import (
    Catalog,
    SourceError,
    chunking,
    normalize,
    open_source,
    validate_dataset,
    write_prepared,
)
from data_adapters import layouts as layouts_module
from data_adapters.cmems import CopernicusMarineAdapter
from data_adapters.layouts import check_output
from data_adapters.store_format import LAYOUTS_ATTR, layouts_in, read_layouts
from data_adapters.zarr_store import ZarrAdapter
from tests import synthetic
from tests.data_adapters.test_cmems import DATASET_ID, cmems_dataset
from tests.servers import serve_directory

#: Tiles of the test stores: the 18 x 36 grid of ``synthetic.regular`` is 2 x 2 map tiles
#: and 5 x 9 series tiles.
MAP_TILE, SERIES_TILE = (9, 18), (4, 4)


def prepare(ds: xr.Dataset, path: pathlib.Path, **kwargs: Any) -> pathlib.Path:
    """``ds`` (normalised first, as adapters give it) prepared at ``path`` with test tiles."""
    kwargs = {"map_chunks": MAP_TILE, "series_chunks": SERIES_TILE, **kwargs}
    write_prepared(normalize(ds), path, **kwargs)
    return path


def scenario_depth_dataset(times: int = 6) -> xr.Dataset:
    """thetao on (scenario, time, depth, lat, lon), different at every step and cell; zos on
    (time, lat, lon), stored once for all runs."""
    ds = synthetic.scenario_runs()
    ds = xr.concat(
        [ds.assign_coords(time=ds.time + np.timedelta64(2 * i, "D")) for i in range(3)], "time"
    )
    steps = xr.DataArray(np.arange(times, dtype="float32") / 100, dims="time")
    thetao = (ds["thetao"] + steps).assign_attrs(synthetic.THETAO_ATTRS)
    return ds.assign(thetao=thetao.transpose("scenario", "time", ...))


@pytest.fixture
def chunk_reads(monkeypatch) -> list[str]:
    """Keys of the data chunks read from local Zarr stores while the test runs."""
    reads: list[str] = []
    original = zarr.storage.LocalStore.get

    async def counting_get(self, key, prototype=None, byte_range=None):
        if "/c/" in f"/{key}":  # chunk keys: '<array>/c/0/1/2'; metadata is 'zarr.json'
            reads.append(key)
        return await original(self, key, prototype, byte_range)

    monkeypatch.setattr(zarr.storage.LocalStore, "get", counting_get)
    return reads


# -- writing --------------------------------------------------------------------------------
def test_prepare_writes_both_layouts_with_the_promised_chunks(tmp_path):
    ds = scenario_depth_dataset()
    store = prepare(ds, tmp_path / "ocean.zarr")
    root = zarr.open_group(store, mode="r")
    # maps: one step, one run, one level per chunk; the grid in 9 x 18 tiles
    assert root["maps/thetao"].chunks == (1, 1, 1, 9, 18)
    assert root["maps/zos"].chunks == (1, 9, 18)
    # series: the whole time axis of a 4 x 4 tile per chunk
    assert root["series/thetao"].chunks == (1, 6, 1, 4, 4)
    assert root["series/zos"].chunks == (6, 4, 4)
    layouts = root.attrs[LAYOUTS_ATTR]
    assert layouts["series"]["thetao"] == {"scenario": 1, "time": 6, "depth": 1, "lat": 4, "lon": 4}
    assert layouts["maps"]["zos"] == {"time": 1, "lat": 9, "lon": 18}
    assert read_layouts(store) == layouts
    # nothing of the work is left: no temporary copy, no partial store beside it
    assert sorted(p.name for p in store.iterdir()) == ["maps", "series", "zarr.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ocean.zarr"]


def test_default_chunks_follow_the_grid_and_the_time_axis():
    def plan(steps: int) -> Any:
        cube = xr.DataArray(
            dask.array.zeros((steps, 720, 1440), dtype="float32", chunks=(1, 720, 1440)),
            dims=("time", "lat", "lon"),
        )
        return chunking.plan_variable(cube, ("lat", "lon"), None, None, 1e9)

    ten_years, one_year = plan(3650), plan(365)
    assert ten_years.maps == {"time": 1, "lat": 720, "lon": 720}  # 2 MB map tiles
    assert ten_years.series == {"time": 3650, "lat": 16, "lon": 16}  # 3.7 MB
    assert one_year.series == {"time": 365, "lat": 64, "lon": 64}  # 6 MB
    # memory: a block of at most half of it, in whole steps (4.1 MB each)
    assert ten_years.block_steps * 720 * 1440 * 4 <= 0.5e9


def test_a_small_memory_budget_streams_in_many_blocks_and_bands(tmp_path, monkeypatch):
    reads: list[tuple[int, ...]] = []
    original = layouts_module._read

    def recording_read(da: xr.DataArray) -> np.ndarray:
        reads.append(da.shape)
        return original(da)

    monkeypatch.setattr(layouts_module, "_read", recording_read)
    ds = scenario_depth_dataset()
    # 2.5 kB for a block: one time step at a time, and bands of 4 x 24 cells for the series
    store = prepare(ds, tmp_path / "ocean.zarr", memory_mb=0.005)
    # every read from the source was one whole time step (all runs and levels), never more
    assert [shape for shape in reads if len(shape) == 5] == [(3, 1, 3, 18, 36)] * 6
    assert [shape for shape in reads if len(shape) == 3] == [(1, 18, 36)] * 6
    opened = open_source(str(store))
    xr.testing.assert_identical(opened.for_series().compute(), normalize(ds).compute())


@pytest.mark.parametrize(
    "builder", [scenario_depth_dataset, synthetic.calendar_noleap, synthetic.scenarios_members]
)
def test_both_layouts_hold_the_same_values_and_metadata(tmp_path, builder):
    ds = normalize(builder())
    store = prepare(ds, tmp_path / "ocean.zarr")
    opened = open_source(str(store))
    maps, series = opened.dataset, opened.for_series()
    assert series is not maps and series is opened.series
    for layout in (maps, series):
        validate_dataset(layout)
        xr.testing.assert_identical(layout.compute(), ds.compute())  # values, coords and attrs


def test_curvilinear_grids_and_fields_without_time_are_prepared_too(tmp_path):
    nemo = open_source(synthetic.write_netcdf(synthetic.nemo_curvilinear(), tmp_path / "n.nc"))
    ds = nemo.dataset.assign(
        deptho=(
            ("y", "x"),
            np.full((6, 8), 4000.0, "float32"),
            {"units": "m", "long_name": "depth"},
        )
    )
    store = prepare(ds, tmp_path / "nemo.zarr", map_chunks=(3, 4))
    opened = open_source(str(store))
    assert opened.for_series()["thetao"].dims == ("time", "depth", "y", "x")
    assert opened.for_series()["deptho"].chunks == ((4, 2), (4, 4))  # tiles, no time
    for layout in (opened.dataset, opened.for_series()):
        validate_dataset(layout)
        xr.testing.assert_identical(layout.compute(), ds.compute())


def test_a_noleap_calendar_survives_in_both_layouts(tmp_path):
    store = prepare(synthetic.calendar_noleap(), tmp_path / "noleap.zarr")
    opened = open_source(str(store))
    for layout in (opened.dataset, opened.for_series()):
        assert layout["time"].dt.calendar == "noleap"
        assert [t.isoformat()[:10] for t in layout["time"].values] == [
            "2001-02-27", "2001-02-28", "2001-03-01", "2001-03-02"
        ]  # fmt: skip
    # stored as integers in exact units, with the calendar
    time_attrs = zarr.open_group(store, mode="r")["series/time"]
    assert time_attrs.dtype == np.int64
    assert time_attrs.attrs["calendar"] == "noleap"


def test_a_failed_prepare_leaves_no_store_and_keeps_the_old_one(tmp_path):
    ds = normalize(synthetic.regular())
    store = prepare(ds, tmp_path / "ocean.zarr")
    before = open_source(str(store)).dataset.compute()

    def broken(block: np.ndarray) -> np.ndarray:
        raise OSError("disk on fire")

    unreadable = ds["zos"].data.map_blocks(broken, dtype=ds["zos"].dtype)
    failing = ds.assign(zos=ds["zos"].copy(data=unreadable))
    with pytest.raises(SourceError, match=r"'zos': cannot be read from the source \(disk on fire"):
        write_prepared(failing, store, overwrite=True, series_chunks=SERIES_TILE)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ocean.zarr"]  # no .part left
    xr.testing.assert_identical(open_source(str(store)).dataset.compute(), before)


def test_a_store_without_the_layouts_attribute_is_not_taken_for_prepared(tmp_path):
    store = prepare(synthetic.regular(), tmp_path / "ocean.zarr")
    meta = json.loads((store / "zarr.json").read_text())
    assert layouts_in(meta) is not None
    del meta["attributes"][LAYOUTS_ATTR]
    assert layouts_in(meta) is None
    meta["attributes"][LAYOUTS_ATTR] = {"version": 99, "maps": {}, "series": {}}
    assert layouts_in(json.dumps(meta)) is None  # a later layout version: opened as plain
    assert layouts_in("not json") is None


def test_the_output_is_checked_before_anything_is_written(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("keep me")
    (tmp_path / "file.zarr").write_text("")
    store = prepare(synthetic.regular(), tmp_path / "ocean.zarr")
    with pytest.raises(SourceError, match="the store exists; give a new path or --overwrite"):
        check_output(store)
    assert check_output(store, overwrite=True) == store
    with pytest.raises(SourceError, match="is not a Zarr store; it is never replaced"):
        check_output(tmp_path / "notes", overwrite=True)
    with pytest.raises(SourceError, match="a file is in the way"):
        check_output(tmp_path / "file.zarr", overwrite=True)
    with pytest.raises(SourceError, match="no directory"):
        check_output(tmp_path / "missing" / "ocean.zarr")
    assert (tmp_path / "notes" / "todo.txt").read_text() == "keep me"


# -- reading: the pick per request ----------------------------------------------------------
def test_a_point_series_reads_only_the_chunks_of_its_cell(tmp_path, chunk_reads):
    ds = scenario_depth_dataset()
    store = prepare(ds, tmp_path / "ocean.zarr")
    opened = open_source(str(store))
    da_maps, da_series = opened.dataset["thetao"], opened.for_series()["thetao"]
    cell = nearest_ocean_cell(da_maps.isel(scenario=0, time=0, depth=0), lon=-25.0, lat=15.0)
    assert cell.index == {"lat": 10, "lon": 15}

    del chunk_reads[:]
    from_series = point_series(da_series, cell, depth=10.0, scenario="heatwave").compute()
    # one chunk: the whole time axis of the cell's 4 x 4 tile, at that run (2) and level (1)
    assert chunk_reads == [f"series/thetao/c/2/0/1/{10 // 4}/{15 // 4}"]

    del chunk_reads[:]
    from_maps = point_series(da_maps, cell, depth=10.0, scenario="heatwave").compute()
    assert len(chunk_reads) == ds.sizes["time"]  # one chunk per time step
    assert all(key.startswith("maps/thetao/c/2/") for key in chunk_reads)
    xr.testing.assert_identical(from_series, from_maps)
    expected = synthetic.marker(-25.0, 15.0) + 3.0 + np.arange(6) / 100  # heatwave: +3 °C
    np.testing.assert_allclose(from_series.values, expected, rtol=1e-6)


def test_a_map_reads_the_maps_layout(tmp_path, chunk_reads):
    store = prepare(scenario_depth_dataset(), tmp_path / "ocean.zarr")
    opened = open_source(str(store))
    del chunk_reads[:]
    opened.dataset["zos"].isel(time=3).compute()
    assert sorted(chunk_reads) == [f"maps/zos/c/3/{r}/{c}" for r in (0, 1) for c in (0, 1)]


def test_a_plain_store_serves_series_from_its_one_dataset(tmp_path):
    synthetic.regular().to_zarr(tmp_path / "plain.zarr", zarr_format=3, consolidated=False)
    adapter = ZarrAdapter(path=str(tmp_path / "plain.zarr"))
    assert adapter.open_series() is None
    opened = open_source(str(tmp_path / "plain.zarr"))
    assert opened.for_series() is opened.dataset
    assert opened.series is None


def test_a_catalog_entry_opens_both_layouts_with_its_variables(tmp_path):
    store = prepare(scenario_depth_dataset(), tmp_path / "ocean.zarr")
    catalog = Catalog.from_dict(
        {"datasets": [{"id": "runs", "adapter": "zarr", "path": str(store), "variables": ["zos"]}]}
    )
    opened = catalog.open("runs")
    series = opened.for_series()
    assert list(series.data_vars) == list(opened.dataset.data_vars) == ["zos"]
    assert series["zos"].chunks[0] == (6,) and opened.dataset["zos"].chunks[0] == (1,) * 6
    assert catalog.open("runs").for_series() is series  # opened once


def test_a_scenario_group_of_one_store_selects_the_same_runs_from_both(tmp_path):
    store = prepare(scenario_depth_dataset(), tmp_path / "ocean.zarr")
    catalog = Catalog.from_dict(
        {
            "datasets": [{"id": "runs", "adapter": "zarr", "path": str(store)}],
            "scenario_groups": [
                {"id": "hot", "dataset": "runs", "baseline": "baseline", "scenarios": ["heatwave"]}
            ],
        }
    )
    opened = catalog.open("hot")
    series = opened.for_series()
    assert series is not opened.dataset
    assert list(series["scenario"].values) == ["baseline", "heatwave"]
    assert series["zos"].dims[0] == "scenario"  # stored once, given to every run
    assert series["thetao"].chunks[1] == (6,)
    xr.testing.assert_identical(series.compute(), opened.dataset.compute())


def test_runs_stored_apart_join_their_series_when_each_has_one(tmp_path):
    base = prepare(synthetic.run(0.0), tmp_path / "base.zarr")
    warm = prepare(synthetic.run(1.5), tmp_path / "warm.zarr")
    synthetic.run(3.0).to_zarr(tmp_path / "hot.zarr", zarr_format=3, consolidated=False)

    def catalog_of(what_if: str) -> Catalog:
        return Catalog.from_dict(
            {
                "datasets": [
                    {"id": "base", "adapter": "zarr", "path": str(base)},
                    {"id": "warm", "adapter": "zarr", "path": str(warm)},
                    {"id": "hot", "adapter": "zarr", "path": str(tmp_path / "hot.zarr")},
                ],
                "scenario_groups": [
                    {"id": "g", "baseline": "base", "scenarios": {"what_if": what_if}}
                ],
            }
        )

    joined = catalog_of("warm").open("g")
    series = joined.for_series()
    assert series is not joined.dataset and series["thetao"].chunks[1] == (2,)
    xr.testing.assert_identical(series.compute(), joined.dataset.compute())
    partly = catalog_of("hot").open("g")  # one run has no series layout: none for the group
    assert partly.for_series() is partly.dataset


def test_a_series_layout_on_another_grid_is_not_used(tmp_path, caplog):
    store = prepare(synthetic.regular(), tmp_path / "ocean.zarr")
    shorter = prepare(synthetic.regular(times=3), tmp_path / "shorter.zarr")
    # a store whose series group does not match its maps group (hand-edited, or stale)
    (store / "series").rename(tmp_path / "old-series")
    (shorter / "series").rename(store / "series")
    zarr.consolidate_metadata(store)
    opened = open_source(str(store))
    with caplog.at_level(logging.WARNING, logger="data_adapters.catalog"):
        assert opened.for_series() is opened.dataset
    assert "point-series layout is not used" in caplog.text and "'time'" in caplog.text


@pytest.mark.slow
def test_a_prepared_store_over_http_opens_both_layouts(tmp_path):
    ds = normalize(synthetic.regular())
    prepare(ds, tmp_path / "ocean.zarr")
    with serve_directory(tmp_path) as base:
        opened = open_source(f"{base}/ocean.zarr")
        series = opened.for_series()
        assert series is not opened.dataset
        assert series["zos"].chunks[0] == (4,) and opened.dataset["zos"].chunks[0] == (1,) * 4
        validate_dataset(series)
        xr.testing.assert_identical(series.compute(), ds.compute())


# -- Copernicus Marine: arco-time-series ----------------------------------------------------
@pytest.fixture
def toolbox(monkeypatch) -> list[dict[str, Any]]:
    """A stand-in toolbox (as in test_cmems) that records its calls; the time-series service
    serves the same data chunked by tile."""
    calls: list[dict[str, Any]] = []

    def open_dataset(**kwargs: Any) -> xr.Dataset:
        calls.append(kwargs)
        ds = cmems_dataset()
        if kwargs.get("service") == "arco-time-series":
            ds = ds.chunk({"time": -1, "latitude": 4, "longitude": 4})
        return ds[kwargs["variables"]] if "variables" in kwargs else ds

    monkeypatch.setattr(CopernicusMarineAdapter, "opener", staticmethod(open_dataset))
    return calls


def test_cmems_series_come_from_arco_time_series_opened_on_first_use(toolbox):
    catalog = Catalog.from_dict(
        {
            "datasets": [
                {"id": "glo", "adapter": "cmems", "dataset_id": DATASET_ID, "variables": ["zos"]}
            ]
        }
    )
    opened = catalog.open("glo")
    assert toolbox == [{"dataset_id": DATASET_ID, "variables": ["zos"]}]  # lazy: no 2nd call
    series = validate_dataset(opened.for_series())
    assert toolbox[1:] == [
        {"dataset_id": DATASET_ID, "service": "arco-time-series", "variables": ["zos"]}
    ]
    assert series["zos"].chunks[-2][0] == 4 and series["zos"].dims[-2:] == ("lat", "lon")
    xr.testing.assert_identical(series.compute(), opened.dataset.compute())  # normalised the same


@pytest.mark.parametrize(
    ("service", "series_call"),
    [("arco-geo-series", True), ("arco-time-series", False), (None, True)],
)
def test_cmems_asks_for_time_series_unless_another_service_is_pinned(toolbox, service, series_call):
    adapter = CopernicusMarineAdapter(dataset_id=DATASET_ID, service=service)
    adapter.open()
    series = adapter.open_series()
    asked = [call.get("service") for call in toolbox]
    if series_call:
        assert asked == [service, "arco-time-series"] and series is not None
    else:  # the dataset already is the geo-chunked one: it serves series itself
        assert asked == ["arco-time-series"] and series is None


def test_cmems_series_that_cannot_be_opened_leave_the_dataset_working(monkeypatch, caplog):
    def open_dataset(**kwargs: Any) -> xr.Dataset:
        if kwargs.get("service") == "arco-time-series":
            raise type("ServiceNotAvailable", (Exception,), {})("no time series for this one")
        return cmems_dataset()

    monkeypatch.setattr(CopernicusMarineAdapter, "opener", staticmethod(open_dataset))
    opened = open_source(f"cmems:{DATASET_ID}")
    with caplog.at_level(logging.WARNING, logger="data_adapters.base"):
        assert opened.for_series() is opened.dataset
    assert "point-series layout cannot be opened" in caplog.text
    assert "no time series for this one" in caplog.text
