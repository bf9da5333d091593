"""The bad-input corpus: every source or catalog that cannot be used gives one SourceError
whose one-line message names the source (and, for catalogs, the dataset, key and line)."""

from __future__ import annotations

import os
import textwrap

import numpy as np
import pytest

from data_adapters import Catalog, SourceError, open_source
from data_adapters.netcdf import NetCDFAdapter
from tests import synthetic
from tests.synthetic import write_netcdf

#: A catalog with no entries: every source below is a path, never a catalog id.
NO_CATALOG = Catalog({})

#: A PNG header: a real-world wrong file, e.g. a map saved under a .nc name.
PNG_BYTES = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)


def refused(source: str, catalog: Catalog = NO_CATALOG) -> str:
    """The message ``open_source`` refuses ``source`` with; checks it is one line."""
    with pytest.raises(SourceError) as info:
        open_source(source, catalog).dataset.load()
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def truncate(path: str, keep: float) -> str:
    """Cut the file at ``path`` to a fraction ``keep`` of its size, as an interrupted copy."""
    size = os.path.getsize(path)
    with open(path, "r+b") as fh:
        fh.truncate(int(size * keep))
    return path


# -- sources --------------------------------------------------------------------------------
@pytest.mark.parametrize("keep", [0.9, 0.3])
@pytest.mark.parametrize(
    ("file_format", "engine"),
    [("NETCDF4", "netcdf4"), ("NETCDF4", "h5netcdf"), ("NETCDF3_CLASSIC", "netcdf4")],
)
def test_truncated_file(tmp_path, file_format, engine, keep):
    path = write_netcdf(
        synthetic.regular(times=30), tmp_path / "cut.nc", format=file_format, engine=engine
    )
    truncate(path, keep)

    message = refused(path)

    assert path in message and "truncated" in message


def test_classic_file_cut_inside_its_header(tmp_path):
    path = truncate(
        write_netcdf(synthetic.regular(), tmp_path / "cut.nc", format="NETCDF3_CLASSIC"), 0.02
    )

    message = refused(path)

    assert path in message and "truncated" in message


@pytest.mark.parametrize(
    ("name", "content"),
    [("map.nc", PNG_BYTES), ("notes.nc", b"sea temperature, 12.5\n"), ("empty.nc", b"")],
)
def test_file_that_is_not_netcdf(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)

    message = refused(str(path))

    assert str(path) in message and "not a NetCDF or HDF5 file" in message


def test_file_without_horizontal_coordinates(tmp_path):
    path = write_netcdf(synthetic.no_horizontal(), tmp_path / "table.nc")

    message = refused(path)

    assert path in message and "no longitude/latitude coordinates" in message


def test_file_with_no_gridded_variable(tmp_path):
    ds = synthetic.regular()[["lon", "lat"]].assign(scale=((), 1.0))
    path = write_netcdf(ds, tmp_path / "grid_only.nc")

    message = refused(path)

    assert path in message and "no data variable lies on the longitude/latitude grid" in message


def test_time_axis_that_cannot_be_decoded(tmp_path):
    ds = synthetic.regular().assign_coords(
        time=("time", np.arange(4.0), {"units": "months since 2000-01-01", "calendar": "standard"})
    )
    path = write_netcdf(ds, tmp_path / "monthly.nc")

    message = refused(path)

    assert path in message and "time axis cannot be decoded" in message
    assert "'months since 2000-01-01'" in message and "truncated" not in message


def test_zarr_store_with_corrupt_metadata(tmp_path):
    store = tmp_path / "broken.zarr"
    synthetic.regular().to_zarr(store, zarr_format=3)
    (store / "zarr.json").write_text('{"zarr_format": 3, "node_type": ')

    message = refused(str(store))

    assert str(store) in message and "not a readable Zarr store" in message


def test_missing_zarr_store(tmp_path):
    store = str(tmp_path / "never_written.zarr")

    message = refused(store)

    assert store in message and "no such Zarr store" in message


def test_unknown_variable_says_did_you_mean(tmp_path):
    path = write_netcdf(synthetic.regular(), tmp_path / "ocean.nc")

    with pytest.raises(SourceError) as info:
        NetCDFAdapter(path=path, variables=["thetaoo"]).open()

    message = str(info.value)
    assert path in message
    assert "unknown variable 'thetaoo' (did you mean 'thetao'?)" in message
    assert "available: thetao, zos" in message


def test_unknown_variable_far_from_any_lists_what_there_is(tmp_path):
    path = write_netcdf(synthetic.regular(), tmp_path / "ocean.nc")

    with pytest.raises(SourceError) as info:
        NetCDFAdapter(path=path, variables=["nope"]).open()

    assert "did you mean" not in str(info.value)
    assert "unknown variable 'nope'" in str(info.value)


def test_unknown_variable_through_a_catalog(tmp_path):
    write_netcdf(synthetic.regular(), tmp_path / "ocean.nc")
    catalog_path = tmp_path / "catalog.yaml"
    catalog_path.write_text(
        "datasets:\n  - {id: ocean, adapter: netcdf, path: ocean.nc, variables: [so]}\n"
    )

    message = refused("ocean", Catalog.load(catalog_path))

    assert "ocean.nc" in message and "unknown variable 'so'" in message


def test_empty_glob(tmp_path):
    pattern = str(tmp_path / "runs" / "*.nc")

    message = refused(pattern)

    assert pattern in message and "matched no files" in message


def test_missing_path(tmp_path):
    path = str(tmp_path / "no_such_run.nc")

    message = refused(path)

    assert path in message and "no such file" in message


def test_empty_directory(tmp_path):
    empty = tmp_path / "runs"
    empty.mkdir()
    (empty / "README.txt").write_text("nothing yet\n")

    message = refused(str(empty))

    assert str(empty) in message and "holds no NetCDF files" in message


def test_one_bad_file_in_a_glob_is_named(tmp_path):
    write_netcdf(synthetic.regular(), tmp_path / "day1.nc")
    (tmp_path / "day2.nc").write_bytes(PNG_BYTES)

    message = refused(str(tmp_path / "day*.nc"))

    assert "day2.nc" in message and "not a NetCDF or HDF5 file" in message


# -- catalogs -------------------------------------------------------------------------------
def catalog_error(tmp_path, text: str) -> str:
    """The message ``Catalog.load`` refuses a catalog file with; checks it names the file."""
    path = tmp_path / "catalog.yaml"
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    with pytest.raises(SourceError) as info:
        Catalog.load(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    return message


def test_catalog_unknown_adapter_type_says_did_you_mean(tmp_path):
    message = catalog_error(
        tmp_path,
        """
        datasets:
          - id: demo
            adapter: demo
          - id: runs
            adapter: netcdff
            path: runs/*.nc
        """,
    )

    assert "dataset 'runs' (line 4)" in message and "key 'adapter'" in message
    assert "unknown adapter type 'netcdff' (did you mean 'netcdf'?)" in message


def test_catalog_misspelt_key_says_did_you_mean(tmp_path):
    message = catalog_error(
        tmp_path,
        """
        datasets:
          - id: runs
            adapter: netcdf
            pth: runs/*.nc
        """,
    )

    assert "dataset 'runs' (line 2)" in message
    assert "unknown key 'pth'" in message and "(did you mean 'path'?)" in message


def test_catalog_duplicate_id_names_both_lines(tmp_path):
    message = catalog_error(
        tmp_path,
        """
        datasets:
          - id: runs
            adapter: demo
          - id: other
            adapter: demo
          - id: runs
            adapter: demo
        """,
    )

    assert "duplicate dataset id 'runs'" in message
    assert "line 6" in message and "first at line 2" in message


def test_catalog_group_id_that_repeats_a_dataset_id(tmp_path):
    message = catalog_error(
        tmp_path,
        """
        datasets:
          - {id: demo, adapter: demo}
        scenario_groups:
          - {id: demo, dataset: demo, baseline: baseline, scenarios: [heatwave]}
        """,
    )

    assert "scenario group id 'demo' is already used (line 4, first at line 2)" in message


@pytest.mark.parametrize("key", ["id", "adapter"])
def test_catalog_missing_required_key(tmp_path, key):
    entry = {"id": "id: runs", "adapter": "adapter: demo"}
    del entry[key]
    message = catalog_error(tmp_path, "datasets:\n  - title: Runs\n    " + "".join(entry.values()))

    assert "(line 2)" in message and f"missing required key '{key}'" in message
    assert ("dataset 'runs'" if key == "adapter" else "dataset #1") in message


def test_catalog_group_referencing_an_unknown_dataset(tmp_path):
    message = catalog_error(
        tmp_path,
        """
        datasets:
          - {id: baseline-run, adapter: demo}
          - {id: warm-run, adapter: demo}
        scenario_groups:
          - id: warming
            baseline: baseline-run
            scenarios:
              warm: warm-rnu
        """,
    )

    assert "scenario group 'warming' (line 5)" in message
    assert "key 'scenarios: warm'" in message
    assert "unknown dataset id 'warm-rnu' (did you mean 'warm-run'?)" in message


def test_catalog_group_unknown_key(tmp_path):
    message = catalog_error(
        tmp_path,
        """
        datasets:
          - {id: demo, adapter: demo}
        scenario_groups:
          - {id: g, dataset: demo, baseline: baseline, scenario: [heatwave]}
        """,
    )

    assert "scenario group 'g' (line 4)" in message
    assert "unknown key 'scenario' (did you mean 'scenarios'?)" in message


def test_catalog_group_naming_a_run_baseline_twice(tmp_path):
    message = catalog_error(
        tmp_path,
        """
        datasets:
          - {id: a, adapter: demo}
          - {id: b, adapter: demo}
        scenario_groups:
          - {id: g, baseline: a, scenarios: {baseline: b}}
        """,
    )

    assert "scenario group 'g' (line 5)" in message
    assert "scenario name 'baseline' is given twice" in message


def test_catalog_bad_parameter_value(tmp_path):
    message = catalog_error(
        tmp_path,
        """
        datasets:
          - {id: demo, adapter: demo, resolution: 0.3}
        """,
    )

    assert "dataset 'demo' (line 2)" in message and "resolution" in message


def test_catalog_misspelt_top_level_key(tmp_path):
    message = catalog_error(tmp_path, "dataset:\n  - {id: demo, adapter: demo}\n")

    assert "unknown top-level key 'dataset' (did you mean 'datasets'?)" in message


def test_catalog_datasets_not_a_list(tmp_path):
    message = catalog_error(tmp_path, "datasets:\n  id: demo\n  adapter: demo\n")

    assert "'datasets' must be a list" in message


def test_catalog_that_is_not_yaml(tmp_path):
    message = catalog_error(tmp_path, "datasets:\n  - id: demo\n   adapter: demo\n")

    assert "not valid YAML at line 3" in message


def test_missing_catalog_file(tmp_path):
    with pytest.raises(SourceError, match="cannot be read"):
        Catalog.load(tmp_path / "nowhere.yaml")
