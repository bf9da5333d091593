"""The YAML catalog: the default catalog, scenario groups, relative paths, added sources.

Catalog validation errors are in test_bad_input.py with the rest of the bad-input corpus.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from data_adapters import Catalog, SourceError, open_source, validate_dataset
from data_adapters.catalog import DEFAULT_CATALOG
from tests import synthetic
from tests.synthetic import marker, write_netcdf


def write_catalog(directory, text: str) -> str:
    """Write a catalog file into ``directory`` and return its path."""
    path = directory / "catalog.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


@pytest.fixture
def runs_catalog(tmp_path):
    """Three runs, one NetCDF file each, and one file holding the same runs on a scenario
    dimension; a catalog beside them naming the files by relative paths."""
    data = tmp_path / "data"
    data.mkdir()
    for label, offset in synthetic.RUN_OFFSETS.items():
        write_netcdf(synthetic.run(offset), data / f"{label}.nc")
    write_netcdf(synthetic.scenario_runs(), data / "all_runs.nc")
    write_netcdf(synthetic.run(0.0, lon=np.arange(-170.0, 180.0, 10.0)), data / "coarse.nc")
    path = write_catalog(
        tmp_path,
        """
        datasets:
          - id: baseline-run
            title: Baseline run
            adapter: netcdf
            path: data/baseline.nc
            attribution: Synthetic ocean lab
          - id: warming-run
            adapter: netcdf
            path: data/warming_1p5.nc
          - id: heatwave-run
            adapter: netcdf
            path: data/heatwave.nc
          - id: other-grid-run
            adapter: netcdf
            path: data/coarse.nc
          - id: all-runs
            adapter: netcdf
            path: data/all_runs.nc
        scenario_groups:
          - id: separate
            title: Runs from separate files
            baseline: baseline-run
            scenarios:
              warming_1p5: warming-run
              heatwave: heatwave-run
          - id: together
            title: Runs from one file
            dataset: all-runs
            baseline: baseline
            scenarios: [warming_1p5, heatwave]
          - id: heatwave-only
            dataset: all-runs
            baseline: baseline
            scenarios: [heatwave]
          - id: mixed-grids
            baseline: baseline-run
            scenarios:
              coarse: other-grid-run
        """,
    )
    return Catalog.load(path)


# -- the default catalog --------------------------------------------------------------------
def test_default_catalog_serves_the_demo_and_its_scenario_groups():
    catalog = Catalog.load()

    assert catalog.path == DEFAULT_CATALOG
    assert catalog.datasets["demo"].adapter == "demo"
    assert catalog.datasets["demo"].title.startswith("Demo digital ocean")
    assert {"demo-warming", "demo-heatwave", "demo-windfarm"} <= set(catalog.groups)
    assert catalog.groups["demo-warming"].names == ["baseline", "warming_1p5", "warming_3"]
    assert all(g.dataset == "demo" and g.names[0] == "baseline" for g in catalog.groups.values())


def test_default_catalog_group_opens_only_its_runs():
    opened = Catalog.load().open("demo-heatwave")

    assert list(opened.dataset["scenario"].values) == ["baseline", "heatwave"]
    assert opened.dataset["thetao"].dims[0] == "scenario"
    assert opened.attribution  # the demo's credit line follows its groups
    validate_dataset(opened.dataset)


# -- scenario groups ------------------------------------------------------------------------
def test_group_of_separate_sources_has_the_shape_of_one_source_with_scenarios(runs_catalog):
    separate = runs_catalog.open("separate").dataset
    together = runs_catalog.open("together").dataset

    labels = ["baseline", "warming_1p5", "heatwave"]
    assert list(separate["scenario"].values) == labels
    assert list(together["scenario"].values) == labels
    assert dict(separate.sizes) == dict(together.sizes)
    assert {n: v.dims for n, v in separate.data_vars.items()} == {
        n: v.dims for n, v in together.data_vars.items()
    }
    assert separate["thetao"].dims == ("scenario", "time", "depth", "lat", "lon")
    np.testing.assert_allclose(separate["thetao"].values, together["thetao"].values)
    np.testing.assert_allclose(separate["zos"].values, together["zos"].values)
    validate_dataset(separate)
    validate_dataset(together)


def test_group_difference_against_baseline_is_the_run_offset(runs_catalog):
    ds = runs_catalog.open("separate").dataset
    cell = ds["thetao"].isel(time=0, depth=0).sel(lon=35.0, lat=45.0)

    assert float(cell.sel(scenario="baseline")) == pytest.approx(marker(35.0, 45.0), abs=1e-3)
    assert float(cell.sel(scenario="heatwave") - cell.sel(scenario="baseline")) == pytest.approx(
        3.0, abs=1e-4
    )


def test_group_of_one_dataset_picks_its_runs_in_order(runs_catalog):
    ds = runs_catalog.open("heatwave-only").dataset

    assert list(ds["scenario"].values) == ["baseline", "heatwave"]
    assert float(
        ds["thetao"].isel(time=0, depth=0).sel(lon=35.0, lat=45.0, scenario="heatwave")
    ) == pytest.approx(marker(35.0, 45.0) + 3.0, abs=1e-3)


def test_group_with_a_run_on_another_grid_is_refused(runs_catalog):
    with pytest.raises(SourceError) as info:
        runs_catalog.open("mixed-grids")

    message = str(info.value)
    assert "mixed-grids" in message and "coarse" in message and "different grid" in message


def test_group_naming_a_scenario_the_dataset_lacks_says_did_you_mean(tmp_path):
    write_netcdf(synthetic.scenario_runs(), tmp_path / "all.nc")
    catalog = Catalog.load(
        write_catalog(
            tmp_path,
            """
            datasets:
              - {id: all, adapter: netcdf, path: all.nc}
            scenario_groups:
              - {id: g, dataset: all, baseline: baseline, scenarios: [heatwav]}
            """,
        )
    )

    with pytest.raises(SourceError, match="has no scenario 'heatwav' \\(did you mean 'heatwave'"):
        catalog.open("g")


# -- paths and sources ----------------------------------------------------------------------
def test_relative_paths_resolve_against_the_catalog_directory(runs_catalog, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    opened = runs_catalog.open("baseline-run")

    assert runs_catalog.datasets["baseline-run"].params["path"] == str(
        tmp_path / "data" / "baseline.nc"
    )
    assert opened.title == "Baseline run"
    assert opened.attribution == "Synthetic ocean lab"
    validate_dataset(opened.dataset)


def test_catalog_loaded_by_a_relative_path_survives_a_change_of_directory(
    runs_catalog, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    catalog = Catalog.load("catalog.yaml")
    monkeypatch.chdir(tmp_path / "data")  # e.g. a server that changes directory

    validate_dataset(catalog.open("warming-run").dataset)


def test_catalog_keys_are_passed_to_the_adapter(tmp_path):
    write_netcdf(synthetic.regular(), tmp_path / "one.nc")
    catalog = Catalog.load(
        write_catalog(
            tmp_path,
            """
            datasets:
              - {id: sea-level, adapter: netcdf, path: one.nc, variables: [zos]}
            """,
        )
    )

    assert list(catalog.open("sea-level").dataset.data_vars) == ["zos"]


def test_add_source_makes_a_path_openable_by_id(tmp_path):
    path = write_netcdf(synthetic.regular(), tmp_path / "surface.nc")
    store = tmp_path / "ocean.zarr"
    synthetic.regular().to_zarr(store)
    catalog = Catalog.load()

    entry = catalog.add_source(path)
    again = catalog.add_source(path)
    zarr_entry = catalog.add_source(str(store))

    assert entry.id == "surface.nc" and again.id == "surface.nc-2"
    assert entry.id in catalog and "demo" in catalog
    assert entry.adapter == "netcdf" and zarr_entry.adapter == "zarr"
    for source_id in (entry.id, zarr_entry.id):
        assert float(catalog.open(source_id).dataset["zos"].isel(time=3, lat=0, lon=0)) == 3.0


def test_opening_twice_reuses_the_opened_dataset(runs_catalog):
    assert runs_catalog.open("separate") is runs_catalog.open("separate")


def test_open_source_takes_a_catalog_id_or_a_path(runs_catalog, tmp_path):
    by_id = open_source("warming-run", runs_catalog)
    by_path = open_source(str(tmp_path / "data" / "warming_1p5.nc"), runs_catalog)

    assert by_id.id == "warming-run"
    assert by_path.title == "Synthetic ocean"  # the file's own title attribute
    np.testing.assert_allclose(by_id.dataset["thetao"].values, by_path.dataset["thetao"].values)


def test_unknown_id_says_did_you_mean(runs_catalog):
    with pytest.raises(
        SourceError, match="unknown dataset id 'separat' \\(did you mean 'separate'"
    ):
        runs_catalog.open("separat")
