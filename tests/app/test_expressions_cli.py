"""Derived variables and expressions on the command line: render, compare and export take
them as --var; a refused expression exits 2 with one line and runs nothing."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest
import xarray as xr

from tests.app.test_cli import run_cli

pytestmark = pytest.mark.slow


@pytest.fixture
def catalog(tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text(
        textwrap.dedent(
            """
            datasets:
              - id: small-demo
                adapter: demo
                resolution: 1.0
                days: 3
            """
        )
    )
    return str(path)


def test_an_expression_exports_what_numpy_computes_from_the_stored_variables(catalog, tmp_path):
    out = tmp_path / "speed2.nc"
    done = run_cli(
        "export", "small-demo", "--catalog", catalog, "--var", "speed2=sqrt(uo**2+vo**2)",
        "--bbox", "-40,10,-20,30", "--depth", "0", "-o", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    for var in ("uo", "vo"):
        done = run_cli(
            "export", "small-demo", "--catalog", catalog, "--var", var,
            "--bbox", "-40,10,-20,30", "--depth", "0", "-o", str(tmp_path / f"{var}.nc"),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    with (
        xr.open_dataset(out) as got,
        xr.open_dataset(tmp_path / "uo.nc") as u,
        xr.open_dataset(tmp_path / "vo.nc") as v,
    ):
        assert got["speed2"].attrs["expression"] == "speed2 = sqrt(uo**2+vo**2)"
        np.testing.assert_allclose(got["speed2"], np.hypot(u["uo"], v["vo"]), rtol=1e-6)


def test_render_and_compare_take_derived_variables_and_expressions(catalog, tmp_path):
    done = run_cli(
        "render", "small-demo", "--catalog", catalog, "--var", "mixed_layer_depth",
        "-o", str(tmp_path / "mld.png"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "mixed_layer_depth" in done.stdout
    done = run_cli(
        "compare", "small-demo", "--catalog", catalog, "--var", "warm",
        "--expr", "warm [degC]=thetao-20", "--scenario", "warming_3",
        "-o", str(tmp_path / "d.png"), "--stats", str(tmp_path / "d.json"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    stats = json.loads((tmp_path / "d.json").read_text())
    assert stats["units"] == "degC"
    assert stats["mean_diff"] == pytest.approx(3.0, abs=1e-3)  # +3 °C everywhere


@pytest.mark.parametrize(
    ("var", "why"),
    [
        ("x=__import__('os').system('touch hacked')", "the call"),
        ("x=uo.__class__", "Attribute"),
        ("x=uo**vo", "exponent"),
    ],
)
def test_a_refused_expression_exits_2_in_one_line(catalog, tmp_path, var, why):
    out = tmp_path / "x.png"
    done = run_cli("render", "small-demo", "--catalog", catalog, "--var", var, "-o", str(out))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and why in done.stderr and "Traceback" not in done.stderr
    assert not out.exists() and not (tmp_path / "hacked").exists()
