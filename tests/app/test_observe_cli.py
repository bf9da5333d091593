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
