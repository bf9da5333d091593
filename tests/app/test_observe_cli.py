"""``ocean-explorer validate`` and ``collocate``, run as a user runs them (a subprocess)."""

from __future__ import annotations

import json
import zipfile

from tests.app.test_cli import run_cli
from tests.synthetic import SYNTHETIC, write_netcdf


def test_validate_prints_what_a_good_file_holds(tmp_path):
    path = write_netcdf(SYNTHETIC["regular"](), tmp_path / "grid.nc")
    done = run_cli("validate", path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("grid.nc: regular grid (4 time x 18 lat x 36 lon x 3 depth)")
    done = run_cli("validate", path, "--json")
    assert json.loads(done.stdout)["kind"] == "grid"


def test_validate_refuses_bad_files_in_one_line_with_status_2(tmp_path):
    fake = tmp_path / "model.nc"
    fake.write_text("this is not a model")
    evil = tmp_path / "store.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("../outside", "x")
    for path, words in ((fake, "not NetCDF/HDF5"), (evil, "leaves the archive's directory")):
        done = run_cli("validate", str(path))
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.count("\n") == 1 and words in done.stderr, done.stderr
        assert "Traceback" not in done.stderr


def test_collocate_writes_the_pairs_and_the_statistics(tmp_path):
    from tests.components.core.test_collocate import model

    source = tmp_path / "model.nc"
    model().to_dataset().to_netcdf(source)
    obs = tmp_path / "obs.csv"
    obs.write_text(
        "time,lon,lat,depth,thetao\n"
        "ISO8601,degrees_east,degrees_north,m,degC\n"
        "2025-01-01,1,1,0,0\n"  # model 1: +1
        "2025-01-03,3,3,20,4\n"  # model 7: +3
        "2025-01-02,13,2,0,5\n"  # on land
        "2025-01-02,40,2,0,5\n"  # outside the grid
    )
    pairs, stats = tmp_path / "pairs.csv", tmp_path / "stats.json"
    done = run_cli(
        "collocate", str(obs), str(source), "--var", "thetao", "-o", str(pairs),
        "--stats", str(stats),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    values = json.loads(stats.read_text())
    assert list(values) == ["n", "n_outside", "bias", "rmse", "mae", "correlation"]
    assert values["n"] == 2 and values["n_outside"] == 2
    assert values["bias"] == 2.0 and values["mae"] == 2.0
    assert abs(values["rmse"] - (5**0.5)) < 1e-12
    assert len(pairs.read_text().splitlines()) == 5
    done = run_cli("collocate", str(obs), str(source), "--var", "salinity")
    assert done.returncode == 2 and "salinity" in done.stderr and "Traceback" not in done.stderr
