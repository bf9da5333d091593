"""The ocean-explorer command line, run as a user runs it (a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

INSPECT_KEYS = {
    "id", "title", "grid", "dims", "bbox", "time_range", "calendar", "depths", "vertical",
    "scenarios", "variables",
}  # fmt: skip


def run_cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def small_catalog(tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text(
        textwrap.dedent(
            """
            datasets:
              - id: small-demo
                title: Small demo
                adapter: demo
                resolution: 1.0
                days: 10
                license: CC0-1.0
            """
        )
    )
    return path


@pytest.mark.slow
def test_datasets_json_lists_the_default_demo():
    result = run_cli("datasets", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    demo = next(r for r in rows if r["id"] == "demo")
    assert demo["adapter"] == "demo"
    assert demo["title"]
    assert {"thetao", "so", "uo", "vo", "zos", "chl"} <= set(demo["variables"])


@pytest.mark.slow
def test_datasets_honours_catalog_option(small_catalog):
    result = run_cli("datasets", "--catalog", str(small_catalog), "--json")
    assert result.returncode == 0, result.stderr
    assert [r["id"] for r in json.loads(result.stdout)] == ["small-demo"]


@pytest.mark.slow
def test_inspect_json_is_the_documented_summary(small_catalog):
    result = run_cli("inspect", "small-demo", "--catalog", str(small_catalog), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert set(summary) == INSPECT_KEYS
    assert summary["grid"] == "regular"
    assert summary["dims"] == {"time": 10, "lat": 180, "lon": 360, "depth": 8, "scenario": 5}
    assert summary["bbox"] == [-179.5, -89.5, 179.5, 89.5]
    assert summary["time_range"] == ["2025-01-01T00:00:00", "2025-01-10T00:00:00"]
    assert summary["calendar"] == "standard"
    assert summary["depths"][0] == 0.5
    assert summary["scenarios"][0] == "baseline" and "heatwave" in summary["scenarios"]
    thetao = next(v for v in summary["variables"] if v["name"] == "thetao")
    assert thetao["units"] == "degC"
    assert thetao["standard_name"] == "sea_water_potential_temperature"
    assert thetao["dims"] == ["scenario", "time", "depth", "lat", "lon"]


@pytest.mark.slow
def test_a_reader_that_stops_early_gets_no_traceback(small_catalog):
    # `ocean-explorer inspect ... --json | head -c 1`: the pipe closes before the summary is out
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "inspect", "small-demo", "--catalog", str(small_catalog),
         "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    proc.stdout.close()
    _, err = proc.communicate(timeout=180)
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert proc.returncode == 0


def test_inspect_text_output_names_variables(small_catalog):
    result = run_cli("inspect", "small-demo", "--catalog", str(small_catalog))
    assert result.returncode == 0, result.stderr
    assert "Sea water potential temperature [degC]" in result.stdout
    assert "scenarios baseline, warming_1p5" in result.stdout


@pytest.mark.slow
def test_inspect_a_netcdf_file_path(tmp_path):
    import numpy as np
    import xarray as xr

    path = tmp_path / "sst.nc"
    xr.Dataset(
        {"sst": (("lat", "lon"), np.ones((3, 4)), {"units": "degC"})},
        coords={
            "lat": ("lat", [10.0, 0.0, -10.0], {"units": "degrees_north"}),
            "lon": ("lon", [0.0, 90.0, 180.0, 270.0], {"units": "degrees_east"}),
        },
    ).to_netcdf(path)
    result = run_cli("inspect", str(path), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["bbox"] == [-180.0, -10.0, 90.0, 10.0]
    assert summary["time_range"] is None and summary["depths"] is None
    assert summary["scenarios"] == ["baseline"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("inspect", "/no/such/file.nc"), "no such file"),
        (("inspect", "demo", "--catalog", "/no/such/catalog.yaml"), "catalog"),
        (("inspect", "dmeo"), "no such file"),
        (("datasets", "--bogus"), "unrecognized arguments"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, expected):
    result = run_cli(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_bad_catalog_exits_2_naming_dataset_and_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("datasets:\n  - id: mine\n    adapter: netcdf\n    pth: x.nc\n")
    result = run_cli("datasets", "--catalog", str(path))
    assert result.returncode == 2
    message = result.stderr.strip()
    assert "'mine'" in message and "'pth'" in message and "did you mean 'path'" in message
