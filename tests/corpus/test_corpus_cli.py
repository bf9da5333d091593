"""The command line on real model and observation files (the corpus of tests/corpus).

Each command runs in a subprocess as a user runs it (``python -m app.cli ...``) and what it
prints or writes is compared with the raw file read by plain xarray
(``xarray.open_dataset(..., decode_cf=True)``) at the same cell and times: the cell the
command says it used (time series) or the raw grid's nearest sea cell to the entry's sea
point (exports, prepared stores). A command may also refuse a file: exit status 2 and
exactly one line on stderr, never a traceback.

``COVERED`` lists, per command, the corpus entries checked here; the other combinations do
not work yet (issue 17) and join the lists as they are fixed. The s-coordinate files (ROMS
Nordic), whose levels are not depths, are checked in ``test_corpus_vertical``. ``MAY_REFUSE``
names the entries a command may refuse with one
line instead of showing them; a refusal of any other entry fails.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from tests.corpus import BY_NAME, CorpusFile

pytestmark = pytest.mark.slow

ROOT = pathlib.Path(__file__).resolve().parents[2]

#: A variable without units in the file carries "unknown" in the contract (DESIGN.md §2).
NO_UNITS = "unknown"

_WORKS = ("ostia-sst", "hadisst", "cmip-a1b", "pressure-levels")
#: NEMO/XIOS time in time_centered, a three-file run, scalar time and depth (ORCA2, profiles)
_CF_TIME = ("nemo-grid-t", "nemo-run", "nemo-orca2", "atlantic-profiles")
#: Polar stereographic with lon/lat, projected X/Y only, HYCOM's lon/lat in degree_east.
_GRIDS = ("arctic20", "norkyst800", "hycom")
_ALL = (*_WORKS, *_CF_TIME, *_GRIDS)

#: Per command, the corpus entries it shows with their true values (exit 0, checked).
COVERED: dict[str, tuple[str, ...]] = {
    "inspect": (*_ALL, "rotated-pole"),
    "render": (*_ALL, "rotated-pole"),
    "timeseries": _ALL,
    "export-nc": (*_ALL, "rotated-pole"),
    "export-csv": (*_ALL, "rotated-pole"),
    "prepare": (*_ALL, "rotated-pole"),
}
#: Per command, entries it may refuse (exit 2, one line) until it can show them; when it
#: shows them, their values are checked like those of ``COVERED``.
MAY_REFUSE: dict[str, tuple[str, ...]] = {
    "inspect": ("hybrid-height",),
    "render": ("hybrid-height",),
    # rotated-pole: one time step
    "timeseries": ("hybrid-height", "rotated-pole"),
    "export-nc": ("hybrid-height",),
    "export-csv": ("hybrid-height",),
    "prepare": ("hybrid-height",),
}
#: Curvilinear entries whose ``export --bbox`` is checked cell by cell (one per grid kind).
BOXED = ("arctic20", "norkyst800", "rotated-pole")

#: Degrees within which a cell's coordinates count as the same cell.
SAME_CELL_DEG = 1e-3


def _cases(command: str) -> list[str]:
    return [*COVERED[command], *MAY_REFUSE[command]]


# --- running the command line -------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        check=False,
    )


def outcome(done: subprocess.CompletedProcess[str], name: str, command: str) -> bool:
    """True when the command did its work (exit 0); False for an allowed one-line refusal."""
    assert "Traceback" not in done.stderr, done.stderr
    if done.returncode == 2 and name in MAY_REFUSE[command]:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith("ocean-explorer: error: "), lines[0]
        return False
    assert done.returncode == 0, done.stderr
    return True


# --- the raw file, read with plain xarray -------------------------------------------------


def raw_dataset(entry: CorpusFile, source: pathlib.Path) -> xr.Dataset:
    """The file (or the run's files, in name order, along their record dimension), with its
    longitudes and latitudes as coordinates (:func:`true_lonlat` where only a grid mapping
    gives them)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. HadISST's unpadded reference year
        if not entry.multi_file:
            return true_lonlat(xr.open_dataset(source, decode_cf=True).load(), entry.var)
        parts = [xr.open_dataset(p, decode_cf=True).load() for p in sorted(source.glob("*.nc"))]
    record = next(d for d in parts[0][entry.var].dims if d.startswith(("time", "ocean_time")))
    joined = xr.concat(parts, dim=record, data_vars="minimal", coords="minimal", compat="override")
    return true_lonlat(joined, entry.var)


def true_lonlat(ds: xr.Dataset, var: str) -> xr.Dataset:
    """``ds`` with longitude/latitude as coordinates: data variables in degrees east/north
    (HYCOM's) promoted; where only projection coordinates and a grid mapping give them,
    computed here from the mapping's PROJ string (NorKyst800's ``proj4`` attribute) or, for
    a rotated pole, PROJ's ``ob_tran`` with the pole's parameters: not the CF reading the
    product uses."""
    import pyproj

    ds = ds.set_coords([n for n in ds.data_vars if _axis_kind(ds[n]) and ds[n].ndim == 2])
    if any(_axis_kind(c) for c in ds[var].coords.values() if c.ndim >= 1):
        return ds
    mapping = ds[str(ds[var].attrs["grid_mapping"])].attrs
    if mapping["grid_mapping_name"] == "rotated_latitude_longitude":
        sphere = f"+R={mapping['semi_major_axis']} +no_defs"
        crs = pyproj.CRS(
            f"+proj=ob_tran +o_proj=longlat +o_lat_p={mapping['grid_north_pole_latitude']} "
            f"+o_lon_p={mapping.get('north_pole_grid_longitude', 0.0)} "
            f"+lon_0={mapping['grid_north_pole_longitude'] + 180.0} {sphere}"
        )
        base = pyproj.CRS(f"+proj=longlat {sphere}")
    else:  # NorKyst800: X/Y in metres, as its proj4 string says
        crs = pyproj.CRS(mapping["proj4"])
        base = crs.geodetic_crs
    ydim, xdim = (next(d for d in ds[var].dims if ds[d].attrs.get("axis") == a) for a in "YX")
    xx, yy = np.meshgrid(ds[xdim].values, ds[ydim].values)
    lon, lat = pyproj.Transformer.from_crs(crs, base, always_xy=True).transform(xx, yy)
    return ds.assign_coords(
        true_lon=((ydim, xdim), lon, {"standard_name": "longitude", "units": "degrees_east"}),
        true_lat=((ydim, xdim), lat, {"standard_name": "latitude", "units": "degrees_north"}),
    )


def _is_time(values: Any) -> bool:
    values = np.asarray(values)
    if np.issubdtype(values.dtype, np.datetime64):
        return True
    return values.dtype == object and values.size > 0 and hasattr(values.ravel()[0], "calendar")


def iso(values: Any) -> list[str]:
    """Times as ``YYYY-MM-DDTHH:MM:SS`` (numpy datetimes or cftime dates)."""
    out = []
    for value in np.atleast_1d(np.asarray(values)).ravel():
        if isinstance(value, np.datetime64):
            out.append(str(np.datetime_as_string(value, unit="s")))
        else:
            date = f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
            out.append(f"{date}T{value.hour:02d}:{value.minute:02d}:{value.second:02d}")
    return out


def cli_iso(labels: Any) -> list[str]:
    """The command line's ISO labels (dates alone at midnight) in the form of :func:`iso`."""
    return [label if "T" in label else f"{label}T00:00:00" for label in map(str, labels)]


def _axis_kind(coord: xr.DataArray) -> str | None:
    name = str(coord.name).lower()
    std = str(coord.attrs.get("standard_name", "")).lower()
    units = str(coord.attrs.get("units", "")).lower().replace(" ", "")
    if std == "longitude" or units in ("degrees_east", "degree_east"):
        return "lon"
    if std == "latitude" or units in ("degrees_north", "degree_north"):
        return "lat"
    if name in ("lon", "longitude", "nav_lon"):
        return "lon"
    if name in ("lat", "latitude", "nav_lat"):
        return "lat"
    return None


def raw_lonlat(da: xr.DataArray) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """2-D longitude (in [-180, 180)) and latitude of ``da``'s cells, and their dims."""
    found: dict[str, xr.DataArray] = {}
    for coord in da.coords.values():
        kind = _axis_kind(coord)
        if kind and coord.ndim >= 1 and kind not in found:
            found[kind] = coord
    lon, lat = found["lon"], found["lat"]
    if lon.ndim == 2:
        dims = tuple(str(d) for d in lon.dims)
        lon2, lat2 = lon.values, lat.transpose(*dims).values
    else:
        dims = (str(lat.dims[0]), str(lon.dims[0]))
        lon2, lat2 = np.meshgrid(lon.values, lat.values)
    lon2 = (np.asarray(lon2, float) + 180.0) % 360.0 - 180.0
    return lon2, np.asarray(lat2, float), dims


def _lon_gap(a: Any, b: Any) -> np.ndarray:
    return np.abs((np.asarray(a, float) - np.asarray(b, float) + 180.0) % 360.0 - 180.0)


def cell_index(lon2: np.ndarray, lat2: np.ndarray, lon: float, lat: float) -> tuple[int, int]:
    """The cell whose centre is at (lon, lat)."""
    gap = np.maximum(_lon_gap(lon2, lon), np.abs(lat2 - lat))
    j, i = np.unravel_index(int(np.nanargmin(gap)), gap.shape)
    assert gap[j, i] < SAME_CELL_DEG, f"no cell at ({lon}, {lat}); nearest is {gap[j, i]} deg off"
    return int(j), int(i)


def vertical(da: xr.DataArray) -> str | None:
    """``da``'s vertical dim, if it has one (any dim that is neither time nor horizontal)."""
    horizontal = {d for c in da.coords.values() if _axis_kind(c) and c.ndim >= 1 for d in c.dims}
    skip = horizontal | set(_time_dims(da))
    others = [str(d) for d in da.dims if d not in skip]
    return others[0] if others else None


def _is_depth(coord: xr.DataArray) -> bool:
    return coord.attrs.get("standard_name") == "depth" or coord.attrs.get("positive") == "down"


def _time_dims(da: xr.DataArray) -> list[str]:
    dims = []
    for dim in da.dims:
        coords = [c for c in da.coords.values() if c.dims == (dim,)]
        if any(_is_time(c.values) for c in coords) or str(dim).startswith("time"):
            dims.append(str(dim))
    return dims


def raw_times(da: xr.DataArray) -> list[str] | None:
    """The true times of ``da`` (a time dim's CF time coordinate, or a scalar time), as ISO:
    a coordinate whose standard_name is time before others (forecast_reference_time...)."""
    found = [
        c
        for c in da.coords.values()
        if (c.ndim == 0 or (c.ndim == 1 and c.dims[0] in da.dims)) and _is_time(c.values)
    ]
    found.sort(key=lambda c: (c.attrs.get("standard_name") != "time", c.ndim == 0))
    return iso(found[0].values) if found else None


def raw_column(da: xr.DataArray, j: int, i: int) -> xr.DataArray:
    """``da`` at one cell: what is left is its time and vertical dims."""
    _, _, (ydim, xdim) = raw_lonlat(da)
    return da.isel({ydim: j, xdim: i})


def top_index(da: xr.DataArray, zdim: str) -> int:
    """The surface level: the smallest depth, the largest value of an ocean axis pointing up
    (z <= 0), or the lowest of heights or levels above the surface (the first one up)."""
    if zdim not in da.coords:
        return 0
    coord = da[zdim]
    values = np.asarray(coord.values, float)
    up = str(coord.attrs.get("positive", "down")).lower() == "up"
    return int(np.nanargmax(values) if up and np.nanmax(values) <= 0 else np.nanargmin(values))


def nearest_sea_cell(da: xr.DataArray, lon: float, lat: float) -> tuple[int, int]:
    """The raw cell nearest (lon, lat) with a value at the first time and the top level."""
    lon2, lat2, _ = raw_lonlat(da)
    first = da
    for dim in _time_dims(da):
        first = first.isel({dim: 0})
    zdim = vertical(first)
    if zdim is not None:
        first = first.isel({zdim: top_index(first, zdim)})
    _, _, dims = raw_lonlat(da)
    values = np.asarray(first.transpose(*dims).values, float)
    phi, lam = np.radians(lat2), np.radians(lon2)
    p0, l0 = np.radians(lat), np.radians(lon)
    cos = np.sin(phi) * np.sin(p0) + np.cos(phi) * np.cos(p0) * np.cos(lam - l0)
    cos = np.where(np.isfinite(values), cos, -2.0)
    j, i = np.unravel_index(int(np.argmax(cos)), cos.shape)
    return int(j), int(i)


# --- the checks -----------------------------------------------------------------------------


def check_column(got: xr.DataArray, raw: xr.DataArray, what: str) -> None:
    """A cell's values written by the command (``got``: dims time and/or depth, or none)
    equal the raw file's (``raw``: the same cell), times and depths included."""
    want_times = raw_times(raw)
    if want_times is not None:
        assert "time" in got.coords, f"{what}: the time is lost (raw: {want_times[:3]})"
        assert _is_time(got["time"].values), f"{what}: time is not a CF time: {got['time']}"
        assert iso(got["time"].values) == want_times, f"{what}: times differ"
    zdim = vertical(raw)
    raw_values = np.asarray(raw.values, float)
    got_values = np.asarray(got.values, float)
    if zdim is not None:
        raw_z = np.asarray(raw[zdim].values, float)
        assert "depth" in got.coords, f"{what}: the vertical axis is lost"
        assert np.allclose(np.sort(got["depth"].values), np.sort(raw_z)), f"{what}: depths"
        order_raw = np.argsort(raw_z)
        order_got = np.argsort(np.asarray(got["depth"].values, float))
        raw_values = np.take(raw.transpose(..., zdim).values, order_raw, axis=-1)
        got_values = np.take(got.transpose(..., "depth").values, order_got, axis=-1)
    assert got_values.size == raw_values.size, f"{what}: {got.sizes} vs raw {raw.sizes}"
    np.testing.assert_allclose(
        got_values.ravel(), raw_values.ravel(), rtol=1e-6, equal_nan=True, err_msg=what
    )


def check_gridded(got_ds: xr.Dataset, entry: CorpusFile, raw_ds: xr.Dataset, what: str) -> None:
    """A written grid (NetCDF export, prepared store) holds the raw values at the sea cell."""
    raw = raw_ds[entry.var]
    assert entry.var in got_ds, f"{what}: no variable {entry.var!r}"
    got = got_ds[entry.var]
    assert got.attrs.get("units") == raw.attrs.get("units", NO_UNITS), f"{what}: units"
    j, i = nearest_sea_cell(raw, entry.lon, entry.lat)
    lon2, lat2, _ = raw_lonlat(raw)
    glon = np.asarray(got["lon"].values, float)
    glat = np.asarray(got["lat"].values, float)
    if glon.ndim == 1:
        gx = int(np.argmin(_lon_gap(glon, lon2[j, i])))
        gy = int(np.argmin(np.abs(glat - lat2[j, i])))
        assert _lon_gap(glon[gx], lon2[j, i]) < SAME_CELL_DEG, f"{what}: cell's lon lost"
        assert abs(glat[gy] - lat2[j, i]) < SAME_CELL_DEG, f"{what}: cell's lat lost"
        column = got.isel(lat=gy, lon=gx)
    else:
        gy, gx = cell_index(glon, glat, lon2[j, i], lat2[j, i])
        ydim, xdim = got["lon"].dims
        column = got.isel({ydim: gy, xdim: gx})
    check_column(column.load(), raw_column(raw, j, i), what)


# --- the tests ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", _cases("inspect"))
def test_inspect(corpus: dict[str, pathlib.Path], name: str) -> None:
    entry = BY_NAME[name]
    done = run_cli("inspect", str(corpus[name]), "--json")
    if not outcome(done, name, "inspect"):
        return
    summary = json.loads(done.stdout)
    raw = raw_dataset(entry, corpus[name])[entry.var]
    variables = {v["name"]: v for v in summary["variables"]}
    assert entry.var in variables, sorted(variables)
    assert variables[entry.var]["units"] == raw.attrs.get("units", NO_UNITS)
    times = raw_times(raw)
    if times is None:
        assert summary["time_range"] is None
    else:
        assert summary["time_range"] == [min(times), max(times)]
    _, s, _, n = summary["bbox"]
    _, lat2, _ = raw_lonlat(raw)
    assert s == pytest.approx(np.nanmin(lat2), abs=1e-4)
    assert n == pytest.approx(np.nanmax(lat2), abs=1e-4)
    assert s <= entry.lat <= n
    zdim = vertical(raw)
    scalar = [c for c in raw.coords.values() if c.ndim == 0 and _is_depth(c)]
    if scalar:  # a model level of one map (ORCA2's deptht): a length-1 axis
        assert summary["depths"] == pytest.approx([float(scalar[0])])
    elif zdim is None:
        assert not summary["depths"]
    else:
        assert sorted(summary["depths"]) == pytest.approx(sorted(raw[zdim].values.tolist()))


@pytest.mark.parametrize("name", _cases("render"))
def test_render(corpus: dict[str, pathlib.Path], name: str, tmp_path: pathlib.Path) -> None:
    from PIL import Image

    entry = BY_NAME[name]
    png = tmp_path / "map.png"
    done = run_cli(
        "render", str(corpus[name]), "--var", entry.var, "--bare", "--width", "240",
        "--height", "120", "-o", str(png),
    )  # fmt: skip
    if not outcome(done, name, "render"):
        assert not png.exists()
        return
    with Image.open(png) as image:
        assert image.format == "PNG"
        assert image.size == (240, 120)
        alpha = np.asarray(image.convert("RGBA"))[..., 3]
    # the field is drawn: a good share of the map's pixels are opaque (data, not no-data)
    assert (alpha > 0).mean() > 0.05


@pytest.mark.parametrize("name", _cases("timeseries"))
def test_timeseries(corpus: dict[str, pathlib.Path], name: str, tmp_path: pathlib.Path) -> None:
    entry = BY_NAME[name]
    out = tmp_path / "series.csv"
    done = run_cli(
        "timeseries", str(corpus[name]), "--var", entry.var, "--lon", f"{entry.lon}",
        "--lat", f"{entry.lat}", "-o", str(out),
    )  # fmt: skip
    if not outcome(done, name, "timeseries"):
        return
    lines = out.read_text().splitlines()
    cell = dict(part.split("=") for part in lines[0].lstrip("# ").split(","))
    series = pd.read_csv(out, skiprows=1)
    assert list(series.columns) == ["time", "value"]
    raw = raw_dataset(entry, corpus[name])[entry.var]
    lon2, lat2, _ = raw_lonlat(raw)
    j, i = cell_index(lon2, lat2, float(cell["lon"]), float(cell["lat"]))
    column = raw_column(raw, j, i)
    zdim = vertical(column)
    if zdim is not None:
        # depth=10 (metres), pressure_hPa=500...: the level in the axis' own units
        zkey = next((k for k in cell if k not in ("lon", "lat")), None)
        assert zkey, "the series does not say at which depth it is"
        z = np.asarray(column[zdim].values, float)
        column = column.isel({zdim: int(np.argmin(np.abs(z - float(cell[zkey]))))})
        assert column[zdim].item() == pytest.approx(float(cell[zkey]), abs=1e-3)
        assert column[zdim].item() == pytest.approx(z[top_index(raw, zdim)])
    assert cli_iso(series["time"]) == raw_times(column)
    np.testing.assert_allclose(
        series["value"].to_numpy(float), np.asarray(column.values, float).ravel(), rtol=1e-6
    )


@pytest.mark.parametrize("name", _cases("export-nc"))
def test_export_netcdf(corpus: dict[str, pathlib.Path], name: str, tmp_path: pathlib.Path) -> None:
    entry = BY_NAME[name]
    out = tmp_path / "subset.nc"
    done = run_cli("export", str(corpus[name]), "--var", entry.var, "-o", str(out))
    if not outcome(done, name, "export-nc"):
        assert not out.exists()
        return
    raw_ds = raw_dataset(entry, corpus[name])
    with xr.open_dataset(out, decode_cf=True) as got:
        check_gridded(got.load(), entry, raw_ds, f"{name}: export to NetCDF")


@pytest.mark.parametrize("name", _cases("export-csv"))
def test_export_csv(corpus: dict[str, pathlib.Path], name: str, tmp_path: pathlib.Path) -> None:
    entry = BY_NAME[name]
    out = tmp_path / "subset.csv"
    done = run_cli("export", str(corpus[name]), "--var", entry.var, "-o", str(out))
    if not outcome(done, name, "export-csv"):
        assert not out.exists()
        return
    raw = raw_dataset(entry, corpus[name])[entry.var]
    j, i = nearest_sea_cell(raw, entry.lon, entry.lat)
    lon2, lat2, _ = raw_lonlat(raw)
    rows = pd.read_csv(out)
    # the rows of the one cell nearest the raw cell (a 1.5 km grid has others within 0.001°)
    gap = np.hypot(_lon_gap(rows["lon"], lon2[j, i]), np.abs(rows["lat"] - lat2[j, i]))
    at = rows[(gap < SAME_CELL_DEG) & (gap == gap.min())]
    column = raw_column(raw, j, i)
    times = raw_times(column)
    zdim = vertical(column)
    want = column.to_series().dropna() if column.ndim else pd.Series([column.item()])
    assert len(at) == len(want), f"{len(at)} rows at the cell, raw has {len(want)} values"
    if times is not None:
        assert "time" in at.columns, f"the time is lost (raw: {times[:3]})"
        assert sorted(set(cli_iso(at["time"]))) == sorted(set(times))
    if zdim is not None:
        # depth (metres), pressure_hPa...: the column between time and lat
        zcol = next((c for c in at.columns if c not in ("time", "lat", "lon", "value")), None)
        assert zcol, "the vertical axis is lost"
        got = at.sort_values([c for c in ("time", zcol) if c in at.columns])
        raw_z = np.asarray(column[zdim].values, float)
        wet = np.isfinite(column.transpose(..., zdim).values).reshape(-1, raw_z.size).any(axis=0)
        assert np.allclose(np.unique(got[zcol]), np.unique(raw_z[wet]))
        want = column.sortby(zdim).transpose(..., zdim).values.ravel()
        want = want[np.isfinite(want)]
    else:
        got = at.sort_values("time") if "time" in at.columns else at
        want = np.asarray(column.values, float).ravel()
    np.testing.assert_allclose(got["value"].to_numpy(float), np.asarray(want, float), rtol=1e-6)


@pytest.mark.parametrize("name", _cases("prepare"))
def test_prepare(corpus: dict[str, pathlib.Path], name: str, tmp_path: pathlib.Path) -> None:
    entry = BY_NAME[name]
    store = tmp_path / "store.zarr"
    done = run_cli("prepare", str(corpus[name]), "--var", entry.var, "--out", str(store))
    if not outcome(done, name, "prepare"):
        assert not store.exists()
        return
    raw_ds = raw_dataset(entry, corpus[name])
    for group in ("maps", "series"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = xr.open_zarr(store, group=group).load()
        check_gridded(got, entry, raw_ds, f"{name}: prepared store, {group}")


# -- times (issue 17): runs keep every step, undated times are not invented ---------------------


def test_a_three_file_nemo_run_keeps_its_three_steps_through_export_and_prepare(
    corpus: dict[str, pathlib.Path], tmp_path: pathlib.Path
) -> None:
    months = ["2015-01-16T00:00:00", "2015-02-16T00:00:00", "2015-03-16T00:00:00"]
    exported, store = tmp_path / "run.nc", tmp_path / "run.zarr"
    for args in (("export", "-o", str(exported)), ("prepare", "--out", str(store))):
        done = run_cli(args[0], str(corpus["nemo-run"]), "--var", "tos", *args[1:])
        assert done.returncode == 0, done.stderr
    with xr.open_dataset(exported) as got:
        assert iso(got["time"].values) == months
        assert got["time"].encoding["calendar"] == "360_day"
    done = run_cli("inspect", str(store), "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["dims"]["time"] == 3
    assert summary["time_range"] == [months[0], months[-1]]
    assert summary["calendar"] == "360_day"


def test_a_run_whose_files_repeat_a_month_is_refused_naming_them(
    corpus: dict[str, pathlib.Path], tmp_path: pathlib.Path
) -> None:
    january = sorted(corpus["nemo-run"].glob("*.nc"))[0]
    run = tmp_path / "run"
    run.mkdir()
    for name in ("first.nc", "again.nc"):
        (run / name).symlink_to(january)

    done = run_cli("inspect", str(run))

    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    assert "first.nc" in line and "again.nc" in line and "overlap in time" in line


def test_a_time_without_reference_date_is_not_invented(corpus: dict[str, pathlib.Path]) -> None:
    """CROCO's one step is 'second' since an unknown start: shown without a date; a time
    series of it is refused in one line."""
    done = run_cli("inspect", str(corpus["croco"]), "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["time_range"] is None and summary["calendar"] is None
    assert "time" not in summary["dims"]
    entry = BY_NAME["croco"]
    done = run_cli(
        "timeseries", str(corpus["croco"]), "--var", entry.var, "--lon", f"{entry.lon}",
        "--lat", f"{entry.lat}",
    )  # fmt: skip
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) == 1


@pytest.mark.parametrize("command", ["inspect", "export"])
def test_hadisst_unpadded_reference_year_leaves_stderr_clean(
    corpus: dict[str, pathlib.Path], tmp_path: pathlib.Path, command: str
) -> None:
    extra = ("--var", "sst", "-o", str(tmp_path / "sst.nc")) if command == "export" else ()
    done = run_cli(command, str(corpus["hadisst"]), *extra)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


@pytest.mark.parametrize("name", BOXED)
def test_export_csv_of_a_box_on_a_curvilinear_grid(
    corpus: dict[str, pathlib.Path], name: str, tmp_path: pathlib.Path
) -> None:
    """Every row lies in the box, and every raw sea value whose cell centre does is a row."""
    entry = BY_NAME[name]
    west, south, east, north = entry.lon - 1.5, entry.lat - 1.0, entry.lon + 1.5, entry.lat + 1.0
    out = tmp_path / "box.csv"
    done = run_cli(
        "export", str(corpus[name]), "--var", entry.var, "--bbox",
        f"{west},{south},{east},{north}", "-o", str(out),
    )  # fmt: skip
    assert outcome(done, name, "export-csv")
    rows = pd.read_csv(out)
    assert rows["lon"].between(west, east).all() and rows["lat"].between(south, north).all()
    raw = raw_dataset(entry, corpus[name])[entry.var]
    lon2, lat2, dims = raw_lonlat(raw)
    inside = (lon2 >= west) & (lon2 <= east) & (lat2 >= south) & (lat2 <= north)
    assert inside.any() and not inside.all()
    mask = xr.DataArray(inside, dims=dims)
    sea = raw.where(mask).notnull()
    assert len(rows) == int(sea.sum())
    np.testing.assert_allclose(
        np.sort(rows["value"].to_numpy(float)),
        np.sort(np.asarray(raw.values, float)[np.asarray(sea.transpose(*raw.dims).values)]),
        rtol=1e-6,
    )
