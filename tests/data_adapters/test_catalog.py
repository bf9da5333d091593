"""The YAML catalog: the default catalog, scenario groups, relative paths, added sources.

Catalog validation errors are in test_bad_input.py with the rest of the bad-input corpus.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
import xarray as xr

from data_adapters import Catalog, SourceError, align_runs, open_source, validate_dataset
from data_adapters.catalog import DEFAULT_CATALOG
from tests import synthetic
from tests.synthetic import marker, write_netcdf

#: Cell centres of a global 10° grid half a cell east of :func:`synthetic.regular`'s.
SHIFTED_LON = np.arange(-180.0, 180.0, 10.0)


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
    # a global 10° grid shifted by half a cell: centres -180, -170, ..., 170
    write_netcdf(synthetic.run_variant(1.0, lon=SHIFTED_LON), data / "shifted.nc")
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
            path: data/shifted.nc
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
              shifted: other-grid-run
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


def test_group_with_a_run_on_another_regular_grid_regrids_it_onto_the_baselines(runs_catalog):
    ds = runs_catalog.open("mixed-grids").dataset
    base = runs_catalog.open("baseline-run").dataset

    assert list(ds["scenario"].values) == ["baseline", "shifted"]
    assert ds["thetao"].dims == ("scenario", "time", "depth", "lat", "lon")
    np.testing.assert_array_equal(ds["lon"].values, base["lon"].values)
    np.testing.assert_array_equal(ds["lat"].values, base["lat"].values)
    # said where users see it (the comparison view shows this attribute)
    assert ds.attrs["regridded_scenarios"] == "shifted (10° → baseline grid, bilinear)"
    assert ds["thetao"].chunks is not None  # regridded lazily
    shifted = ds["thetao"].sel(scenario="shifted").isel(time=0, depth=0)
    # every baseline centre lies halfway between two of the run's columns on the same row:
    # bilinear is their mean, here of the run's values marker + 1
    for lon in (-175.0, -5.0, 35.0, 175.0):
        west, east = lon - 5.0, lon + 5.0  # 175°E: between 170°E and 180°
        expected = 1.0 + (marker(west, 45.0) + marker(east, 45.0)) / 2
        assert float(shifted.sel(lon=lon, lat=45.0)) == pytest.approx(expected, abs=1e-4), lon
    assert np.isfinite(shifted.values).all()  # the seam at the dateline is interpolated too
    validate_dataset(ds)


def test_group_regrids_a_finer_run_bilinearly_in_lat_and_lon(tmp_path):
    # 5° cells: each 10° baseline centre is the middle of four of them
    fine = synthetic.run_variant(
        2.0, lon=np.arange(-177.5, 180.0, 5.0), lat=np.arange(-87.5, 90.0, 5.0)
    )
    write_netcdf(synthetic.run(0.0), tmp_path / "base.nc")
    write_netcdf(fine, tmp_path / "fine.nc")
    catalog = Catalog.load(
        write_catalog(
            tmp_path,
            """
            datasets:
              - {id: base, adapter: netcdf, path: base.nc}
              - {id: fine, adapter: netcdf, path: fine.nc}
            scenario_groups:
              - {id: g, baseline: base, scenarios: {fine: fine}}
            """,
        )
    )

    ds = catalog.open("g").dataset

    assert ds.attrs["regridded_scenarios"] == "fine (5° → baseline grid, bilinear)"
    change = (ds["thetao"].sel(scenario="fine") - ds["thetao"].sel(scenario="baseline")).isel(
        time=0, depth=0
    )
    # the marker is linear in latitude, and in longitude east of 0°E and west of it: no
    # baseline centre has fine cells on both sides of 0°E, so each is its four's mean
    assert np.isfinite(change.values).all()
    np.testing.assert_allclose(change.values, 2.0, atol=1e-4)


def _group_of(tmp_path, run: xr.Dataset) -> Catalog:
    """A catalog with a scenario group of the plain baseline and ``run`` ('other')."""
    write_netcdf(synthetic.run(0.0), tmp_path / "base.nc")
    write_netcdf(run, tmp_path / "other.nc")
    return Catalog.load(
        write_catalog(
            tmp_path,
            """
            datasets:
              - {id: base, adapter: netcdf, path: base.nc}
              - {id: other, adapter: netcdf, path: other.nc}
            scenario_groups:
              - {id: what-if, baseline: base, scenarios: {other: other}}
            """,
        )
    )


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        # a region 60°W..0°: the baseline's cells elsewhere would be empty
        (
            synthetic.run_variant(lon=np.arange(-60.0, 1.0, 10.0)),
            "does not cover the baseline's cells at longitudes -175..-65 and 5..175 (30 columns)",
        ),
        # 35 columns 10° apart: no column at 180°, so no cell around the baseline's ±175°
        (
            synthetic.run_variant(lon=np.arange(-170.0, 180.0, 10.0)),
            "does not cover the baseline's cells at longitudes -175 and 175 (2 columns)",
        ),
        (
            synthetic.run_variant(lat=np.arange(-45.0, 50.0, 10.0)),
            "does not cover the baseline's cells at latitudes -85..-55 and 55..85 (8 rows)",
        ),
    ],
)
def test_group_with_a_run_not_covering_the_baseline_is_refused(tmp_path, run, expected):
    catalog = _group_of(tmp_path, run)

    with pytest.raises(SourceError) as info:
        catalog.open("what-if")

    message = str(info.value)
    assert message.startswith("what-if: run 'other' is on a different grid than 'baseline'")
    assert expected in message


def test_group_with_a_run_on_a_curvilinear_grid_is_refused(tmp_path):
    catalog = _group_of(tmp_path, synthetic.nemo_curvilinear())

    with pytest.raises(SourceError, match="what-if: run 'other' is on a different grid") as info:
        catalog.open("what-if")

    assert "not curvilinear ones" in str(info.value)


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        (
            synthetic.run_variant(units="K"),
            "what-if: 'thetao' is in 'K' in run 'other' but in 'degC' in 'baseline'",
        ),
        (
            synthetic.run_variant(calendar="noleap"),
            "what-if: run 'other' uses the noleap calendar and 'baseline' the standard calendar",
        ),
        (
            synthetic.run_variant(start="2026-03-01"),
            "what-if: run 'other' (2026-03-01..2026-03-02) has no time step in common with "
            "'baseline' (2025-01-01..2025-01-02)",
        ),
    ],
)
def test_group_of_runs_in_other_units_or_times_is_refused(tmp_path, run, expected):
    catalog = _group_of(tmp_path, run)

    with pytest.raises(SourceError) as info:
        catalog.open("what-if")

    assert expected in str(info.value)


def test_group_accepts_another_spelling_of_the_same_units(tmp_path):
    catalog = _group_of(tmp_path, synthetic.run_variant(1.0, units="degree_Celsius"))

    ds = catalog.open("what-if").dataset

    assert ds["thetao"].attrs["units"] == "degC"  # the baseline's
    assert "regridded_scenarios" not in ds.attrs
    change = ds["thetao"].sel(scenario="other") - ds["thetao"].sel(scenario="baseline")
    np.testing.assert_allclose(change.values, 1.0, atol=1e-4)


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


def test_group_keeps_the_time_steps_common_to_its_runs(tmp_path):
    catalog = _group_of(tmp_path, synthetic.run_variant(1.0, start="2025-01-02"))

    ds = catalog.open("what-if").dataset

    assert [str(t)[:10] for t in ds["time"].values] == ["2025-01-02"]
    change = ds["thetao"].sel(scenario="other") - ds["thetao"].sel(scenario="baseline")
    np.testing.assert_allclose(change.values, 1.0, atol=1e-4)


def test_runs_on_one_calendar_decoded_as_cftime_and_datetime64_are_joined():
    base = synthetic.run(0.0)
    other = synthetic.run_variant(2.0, calendar="proleptic_gregorian")  # cftime dates
    assert other["time"].dtype == object

    ds = align_runs({"baseline": base, "other": other}, label="g")

    assert ds["time"].dtype.kind == "M"
    assert ds.sizes["time"] == 2
    change = ds["thetao"].sel(scenario="other") - ds["thetao"].sel(scenario="baseline")
    np.testing.assert_allclose(change.values, 2.0, atol=1e-4)
