"""``ocean-explorer prepare``: a store with both layouts, and its refusals of bad input.

Most tests call ``app.cli.main(argv)`` in this process; one runs the command as a user
does, in a subprocess, to see that a refusal is one line and no traceback.
"""

from __future__ import annotations

import pathlib

import pytest
import zarr

from app.cli import EXIT_BAD_INPUT, main
from data_adapters import open_source
from tests import synthetic
from tests.app.test_cli import run_cli


@pytest.fixture
def source(tmp_path) -> pathlib.Path:
    """A small NetCDF file: thetao on (scenario, time, depth, lat, lon) and zos."""
    return pathlib.Path(synthetic.write_netcdf(synthetic.scenario_runs(), tmp_path / "runs.nc"))


def refusal(capsys, *argv: str) -> str:
    """The one line on stderr of a refused ``prepare`` (exit status 2)."""
    assert main(["prepare", *argv]) == EXIT_BAD_INPUT
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("ocean-explorer: error: ")
    return lines[0]


def test_prepare_writes_a_store_that_opens_with_both_layouts(tmp_path, source, capsys):
    out = tmp_path / "runs.zarr"
    assert main(["prepare", str(source), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"wrote {out} (") and " MB on disk) in " in printed
    # every variable's chunks, in each layout
    assert "thetao     chunks of 1 scenario x 1 time x 1 depth x 18 lat x 36 lon" in printed
    assert "thetao     chunks of 1 scenario x 2 time x 1 depth x 18 lat x 36 lon" in printed
    assert "zos        chunks of 1 time x 18 lat x 36 lon" in printed
    opened = open_source(str(out))
    assert opened.for_series() is not opened.dataset
    assert opened.for_series()["thetao"].chunks[1] == (2,)
    assert opened.dataset["thetao"].chunks[1] == (1, 1)
    assert sorted(opened.dataset.data_vars) == ["thetao", "zos"]


def test_var_keeps_only_the_variables_named(tmp_path, source, capsys):
    out = tmp_path / "zos.zarr"
    assert main(["prepare", str(source), "--out", str(out), "--var", "zos"]) == 0
    capsys.readouterr()
    assert list(zarr.open_group(out, mode="r")["maps"].array_keys()).count("thetao") == 0
    assert list(open_source(str(out)).for_series().data_vars) == ["zos"]


def test_overwrite_replaces_an_existing_store(tmp_path, source, capsys):
    out = tmp_path / "runs.zarr"
    assert main(["prepare", str(source), "--out", str(out), "--var", "zos"]) == 0
    capsys.readouterr()
    line = refusal(capsys, str(source), "--out", str(out))
    assert line.endswith("the store exists; give a new path or --overwrite to replace it")
    assert main(["prepare", str(source), "--out", str(out), "--overwrite"]) == 0
    capsys.readouterr()
    assert sorted(open_source(str(out)).dataset.data_vars) == ["thetao", "zos"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.nc", "runs.zarr"]


def test_bad_input_is_refused_with_one_line(tmp_path, source, capsys):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "keep.txt").write_text("mine")
    line = refusal(capsys, str(source), "--out", str(tmp_path / "x.zarr"), "--var", "thetaoo")
    assert "no variable 'thetaoo' (did you mean 'thetao'?)" in line
    line = refusal(capsys, str(source), "--out", str(notes), "--overwrite")
    assert "is not a Zarr store; it is never replaced" in line
    line = refusal(capsys, str(source), "--out", str(tmp_path / "missing" / "x.zarr"))
    assert "no directory" in line
    (tmp_path / "broken.nc").write_bytes(b"CDF\x01 but cut short")
    line = refusal(capsys, str(tmp_path / "broken.nc"), "--out", str(tmp_path / "x.zarr"))
    assert "broken.nc" in line
    assert not (tmp_path / "x.zarr").exists() and (notes / "keep.txt").read_text() == "mine"


@pytest.mark.slow
def test_a_refusal_in_a_real_run_is_one_line_without_traceback(tmp_path):
    result = run_cli("prepare", str(tmp_path / "nothing.nc"), "--out", str(tmp_path / "x.zarr"))
    assert result.returncode == EXIT_BAD_INPUT
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("ocean-explorer: error: ")
    assert result.stdout == ""
