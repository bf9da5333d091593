"""NetCDF exports of real files are as CF-compliant as the files (issue 17, item 8).

The IOOS compliance-checker's CF-1.8 checks run on each corpus file and on what
``ocean-explorer export FILE --var V -o out.nc`` writes, whole and cut with ``--bbox``: every
check the source passes, its export passes too. A check is a failure message of the
checker with the files' variable names masked (the contract renames ``latitude`` to ``lat``).

The checks run offline: the checker's CF standard-name table is the one its package ships
(it downloads another version only when a file's ``standard_name_vocabulary`` names one, and
that lookup is kept on the packaged table here), and every socket connection fails while
they run.
"""

from __future__ import annotations

import pathlib
import re
import socket
import subprocess
import sys

import netCDF4
import pytest

from tests.corpus import BY_NAME

pytestmark = pytest.mark.slow

ROOT = pathlib.Path(__file__).resolve().parents[2]

#: Entries whose exports are checked, with the box (W, S, E, N) of the cut export: adding a
#: file is one line.
CHECKED: dict[str, tuple[float, float, float, float]] = {
    "ostia-sst": (-40.0, -5.0, -20.0, 5.0),
    "hadisst": (-40.0, -10.0, 10.0, 30.0),
    "cmip-a1b": (-120.0, 30.0, -100.0, 45.0),
    "arctic20": (0.0, 70.0, 20.0, 75.0),  # polar stereographic, int16-packed
    "atlantic-profiles": (-25.0, -10.0, -15.0, 0.0),
    "nemo-orca2": (-40.0, -10.0, -20.0, 10.0),  # tripolar, 2-D bounds, scalar depth and time
}


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No network: a connection attempt fails the test."""

    def refuse(self: socket.socket, address: object) -> None:
        raise AssertionError(f"the CF check tried to reach {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    from compliance_checker.cf import cf_base

    # A file naming another table version makes the checker download it; the packaged
    # table (v93 with compliance-checker 6.1) is kept instead.
    monkeypatch.setattr(cf_base.CFBaseCheck, "_find_cf_standard_name_table", lambda self, ds: False)


def cf_failures(path: pathlib.Path) -> set[tuple[str, str]]:
    """The CF-1.8 checks ``path`` fails: (section, message with variable names masked)."""
    from compliance_checker.cf.cf_1_8 import CF1_8Check
    from compliance_checker.suite import CheckSuite

    suite = CheckSuite()
    suite.checkers = {"cf:1.8": CF1_8Check}  # only CF: the others load plugins that warn
    ds = suite.load_dataset(str(path))
    try:
        names = sorted(map(str, ds.variables), key=len, reverse=True)
        groups, errors = suite.run_all(ds, ["cf:1.8"], skip_checks=[])["cf:1.8"]
    finally:
        ds.close()
    assert not errors, f"{path.name}: the checker failed: {errors}"
    mask = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b") if names else None
    failed = set()
    for result in groups:
        passed, total = result.value if isinstance(result.value, tuple) else (result.value, 1)
        if passed == total:
            continue
        for message in result.msgs or [""]:
            failed.add((result.name, mask.sub("<var>", message) if mask else message))
    return failed


def export(source: pathlib.Path, var: str, out: pathlib.Path, *options: str) -> None:
    command = ["export", str(source), "--var", var, "-o", str(out), *options]
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", *command],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("cut", ["whole", "bbox"])
@pytest.mark.parametrize("name", list(CHECKED))
def test_export_passes_what_the_source_passes(
    corpus: dict[str, pathlib.Path], name: str, cut: str, tmp_path: pathlib.Path, offline: None
) -> None:
    entry = BY_NAME[name]
    out = tmp_path / f"{name}.nc"
    box = ["--bbox", ",".join(f"{v:g}" for v in CHECKED[name])] if cut == "bbox" else []
    export(corpus[name], entry.var, out, *box)
    new = cf_failures(out) - cf_failures(corpus[name])
    assert not new, f"{name} ({cut}): checks the source passes fail in its export: {new}"
    with netCDF4.Dataset(out) as nc:
        assert "CF-1.8" in nc.Conventions
        for var in nc.variables.values():
            assert var.dtype.str[1:] not in ("i8", "u8"), f"{var.name}: 64-bit ints are not CF"
