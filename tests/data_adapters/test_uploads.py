"""Checks of handed-in files: content by magic bytes, zip entries, opening in a limited process."""

from __future__ import annotations

import os
import pathlib
import stat
import warnings
import zipfile

import pytest

from data_adapters import SourceError
from data_adapters.observations import read_observations
from data_adapters.uploads import Limits, check_file
from tests.synthetic import SYNTHETIC, write_netcdf


@pytest.fixture
def grid_file(tmp_path):
    return write_netcdf(SYNTHETIC["regular"](), tmp_path / "grid.nc")


def one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text and "Traceback" not in text
    return text


def test_a_netcdf_file_opens_and_says_what_it_holds(grid_file):
    checked = check_file(grid_file)
    assert checked.kind == "grid"
    assert [v["name"] for v in checked.summary["variables"]] == ["thetao", "zos"]
    assert checked.line("grid.nc").startswith("grid.nc: regular grid (4 time x 18 lat")


def test_a_text_file_named_nc_is_refused_by_its_content(tmp_path):
    fake = tmp_path / "data.nc"
    fake.write_bytes(b"<html>not found</html>")
    with pytest.raises(SourceError) as exc:
        check_file(fake)
    assert "data.nc: not NetCDF/HDF5" in one_line(exc) and "though named .nc" in str(exc.value)


def test_a_truncated_hdf5_file_is_refused_in_one_line(grid_file, tmp_path):
    raw = pathlib.Path(grid_file).read_bytes()
    assert raw.startswith(b"\x89HDF\r\n\x1a\n")
    cut = tmp_path / "cut.nc"
    cut.write_bytes(raw[: len(raw) * 2 // 3])
    with pytest.raises(SourceError) as exc:
        check_file(cut)
    assert one_line(exc).startswith("cut.nc: ") and "truncated" in str(exc.value)


def test_a_zip_leaving_its_directory_is_refused_before_unpacking(tmp_path):
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("store.zarr/.zgroup", '{"zarr_format": 2}')
        archive.writestr("../../escaped.txt", "x")
    with pytest.raises(SourceError) as exc:
        check_file(evil, workdir=tmp_path / "work")
    assert "'../../escaped.txt' leaves the archive's directory" in one_line(exc)
    assert not (tmp_path / "work").exists() and not (tmp_path.parent / "escaped.txt").exists()


def test_zip_symlinks_duplicates_and_absolute_paths_are_refused(tmp_path):
    link = zipfile.ZipInfo("store.zarr/link")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    cases = {
        "link.zip": [(link, "/etc/passwd")],
        "twice.zip": [("store.zarr/.zgroup", "{}"), ("store.zarr/.zgroup", "{}")],
        "absolute.zip": [("/tmp/store.zarr/.zgroup", "{}")],
    }
    expected = {"link.zip": "symbolic link", "twice.zip": "twice", "absolute.zip": "absolute"}
    for name, entries in cases.items():
        with zipfile.ZipFile(tmp_path / name, "w") as archive, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # zipfile's "Duplicate name" warning
            for entry, data in entries:
                archive.writestr(entry, data)
        with pytest.raises(SourceError) as exc:
            check_file(tmp_path / name, workdir=tmp_path / "work")
        assert expected[name] in one_line(exc), name


def test_a_zip_bomb_is_refused_by_its_unpacked_size(tmp_path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("store.zarr/.zgroup", '{"zarr_format": 2}')
        archive.writestr("store.zarr/t/0", b"\0" * 30_000_000)
    assert bomb.stat().st_size < 100_000
    with pytest.raises(SourceError) as exc:
        check_file(bomb, workdir=tmp_path / "work", limits=Limits(max_unpacked_mb=20))
    assert "unpacks to 30 MB, above the limit of 20 MB" in one_line(exc)


def test_a_zip_whose_directory_lies_stops_unpacking_at_the_limit(tmp_path):
    bomb = tmp_path / "liar.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("s.zarr/.zgroup", '{"zarr_format": 2}')
        archive.writestr("s.zarr/t/0", b"\0" * 30_000_000)
    raw = bytearray(bomb.read_bytes())
    # the central directory's uncompressed size of the big entry says 1 KB
    at = raw.rfind(b"PK\x01\x02")
    raw[at + 24 : at + 28] = (1000).to_bytes(4, "little")
    bomb.write_bytes(bytes(raw))
    work = tmp_path / "work"
    with pytest.raises(SourceError) as exc:
        check_file(bomb, workdir=work, limits=Limits(max_unpacked_mb=20))
    assert "liar.zip: " in one_line(exc)
    assert not (work / "upload.zarr").exists()  # the partial copy is removed


def test_a_zipped_zarr_store_unpacks_into_the_private_directory_and_opens(tmp_path):
    store = tmp_path / "src.zarr"
    SYNTHETIC["regular"]().to_zarr(store, zarr_format=2, consolidated=False)
    zipped = tmp_path / "upload.bin"
    with zipfile.ZipFile(zipped, "w") as archive:
        for root, _, files in os.walk(store):
            for f in files:
                full = os.path.join(root, f)
                archive.write(full, os.path.relpath(full, tmp_path))
    checked = check_file(zipped, name="../../my store.zip", workdir=tmp_path / "private")
    assert checked.kind == "grid" and checked.path == tmp_path / "private" / "upload.zarr"
    assert checked.summary["dims"]["lon"] == 36


def test_the_checking_process_is_limited_in_memory_and_time(grid_file):
    with pytest.raises(SourceError) as exc:
        check_file(grid_file, limits=Limits(memory_mb=150))
    assert "150 MB" in one_line(exc)
    with pytest.raises(SourceError) as exc:
        check_file(grid_file, limits=Limits(timeout_s=0.05))
    assert "took more than 0.05 s (the limit)" in one_line(exc)


def test_observations_take_units_from_a_second_header_row(tmp_path):
    path = tmp_path / "argo.csv"
    path.write_text(
        "time,longitude,latitude,depth,temperature\n"
        "ISO8601,degrees_east,degrees_north,m,degC\n"
        "2025-01-01T00:00Z,350,20,5,12.5\n"
        "2025-01-02,10,-20,,13\n"
    )
    obs = read_observations(path)
    assert obs.units["temperature"] == "degC" and obs.variables == ["temperature"]
    assert list(obs.table["lon"]) == [-10.0, 10.0]
    checked = check_file(path)
    assert checked.line("argo.csv") == (
        "argo.csv: 2 point observations of temperature (degC), 2025-01-01T00:00:00 to "
        "2025-01-02T00:00:00"
    )


def test_observations_take_units_from_a_units_comment(tmp_path):
    path = tmp_path / "ship.csv"
    path.write_text(
        "# cruise 42\n# units: sal=1e-3, temp=degC\ntime,lon,lat,temp,sal\n2025-01-01,1,2,3,35\n"
    )
    obs = read_observations(path)
    assert obs.units == {"temp": "degC", "sal": "1e-3"} and not obs.has_depth


def test_bad_observation_rows_name_the_column_and_row(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("time,lon,lat,temp\n2025-01-01,1,2,3\n2025-01-02,1,2,warm\n")
    with pytest.raises(SourceError) as exc:
        check_file(path)
    assert one_line(exc) == (
        "bad.csv: column 'temp' row 2 is not a number ('warm'); leave a missing value empty"
    )
    path.write_text("when,x,y\n1,2,3\n")
    with pytest.raises(SourceError, match="no column time, lon, lat"):
        read_observations(path)
