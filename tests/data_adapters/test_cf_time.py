"""CF time and scalar coordinates (issue 17): the true time of real model files on ``time``.

Small files shaped like what NEMO/XIOS, CROCO, HadISST and profile climatologies write are
made in ``tmp_path`` with raw (encoded) time numbers and attributes, and opened through the
NetCDF adapter, so xarray's own decoding runs first as on a user's file.
"""

from __future__ import annotations

import warnings

import cftime
import numpy as np
import pytest
import xarray as xr

from components.core.timeaxis import iso_times, nearest_step, time_label
from data_adapters import SourceError, summarize, validate_dataset
from data_adapters.cf_time import time_axis, time_text
from data_adapters.netcdf import NetCDFAdapter
from tests.synthetic import DEPTH_ATTRS, LAT_ATTRS, LON_ATTRS, THETAO_ATTRS, marker, write_netcdf

#: Seconds in a day.
DAY = 86400.0


def xios(months: list[int], counter_units: bool = False) -> xr.Dataset:
    """A NEMO/XIOS monthly file of 2015 on the 360-day calendar: ``tos`` on
    (time_counter, y, x) with 2-D nav_lon/nav_lat; ``time_counter`` a unit-less index (0.0)
    and the true time in ``time_centered`` (seconds since 1900, the 16th of each month) with
    its bounds. ``tos`` = :func:`marker` of the cell + the month number."""
    y, x = np.meshgrid(np.arange(4.0), np.arange(6.0), indexing="ij")
    lon2d, lat2d = -32.0 + 2.0 * x + 0.5 * y, -2.0 + 1.0 * y + 0.3 * x  # truly curvilinear
    months_ = np.asarray(months, dtype=float)
    start = (2015 - 1900) * 360 * DAY + (months_ - 1) * 30 * DAY
    field = marker(lon2d, lat2d)[None] + months_[:, None, None]
    counter = {"axis": "T", "standard_name": "time", "units": "days since 2015-01-01"}
    return xr.Dataset(
        {
            "tos": (
                ("time_counter", "y", "x"),
                field.astype("float32"),
                {**THETAO_ATTRS, "coordinates": "time_centered nav_lat nav_lon"},
            ),
            "time_centered_bounds": (
                ("time_counter", "axis_nbounds"),
                np.stack([start, start + 30 * DAY], axis=1),
            ),
        },
        coords={
            "nav_lon": (("y", "x"), lon2d, {"units": "degrees_east"}),
            "nav_lat": (("y", "x"), lat2d, {"units": "degrees_north"}),
            "time_counter": (
                "time_counter",
                (months_ - 1) * 30 if counter_units else np.zeros(len(months)),
                counter if counter_units else {"axis": "T"},
            ),
            "time_centered": (
                "time_counter",
                start + 15 * DAY,
                {
                    "standard_name": "time",
                    "units": "seconds since 1900-01-01 00:00:00",
                    "calendar": "360_day",
                    "bounds": "time_centered_bounds",
                },
            ),
        },
    )


def snapshot(time: dict | None = None, depth: bool = True, profile: bool = False) -> xr.Dataset:
    """One map (or one column of profiles) with a scalar time and, unless a profile, a scalar
    depth: a model snapshot such as ORCA2's, or a climatology's one month."""
    lon, lat = np.arange(-30.0, -20.0, 2.0), np.arange(-6.0, 0.0, 2.0)
    field = marker(lon[None, :], lat[:, None]).astype("float32")
    coords: dict = {"lon": ("lon", lon, LON_ATTRS), "lat": ("lat", lat, LAT_ATTRS)}
    time = time or {
        "units": "days since 1800-01-01 00:00:0.0",
        "calendar": "gregorian",
        "standard_name": "time",
    }
    coords["time"] = ((), 67539.0, time)
    if profile:
        depths = np.array([5.0, 15.0, 25.0])
        data = ("depth", "lat", "lon"), field[None] + depths[:, None, None]
        coords["depth"] = ("depth", depths, DEPTH_ATTRS)
    else:
        data = ("lat", "lon"), field
        if depth:
            coords["deptht"] = ((), np.float32(5.0), DEPTH_ATTRS)
    return xr.Dataset({"theta": (*data, THETAO_ATTRS)}, coords=coords)


def open_file(ds: xr.Dataset, path) -> xr.Dataset:
    return validate_dataset(NetCDFAdapter(path=write_netcdf(ds, path)).open())


# -- NEMO/XIOS: the true time is time_centered ---------------------------------------------
def test_xios_time_centered_is_the_time_axis_and_the_unitless_counter_is_dropped(tmp_path):
    ds = open_file(xios([1]), tmp_path / "grid_T.nc")

    assert ds["tos"].dims == ("time", "y", "x")
    assert list(ds["time"].values) == [cftime.Datetime360Day(2015, 1, 16)]
    assert "time_counter" not in ds.variables
    summary = summarize(ds, "nemo")
    assert summary["time_range"] == ["2015-01-16T00:00:00", "2015-01-16T00:00:00"]
    assert summary["calendar"] == "360_day"
    np.testing.assert_allclose(
        ds["tos"].isel(time=0).values, marker(ds["lon"].values, ds["lat"].values) + 1, atol=1e-4
    )


def test_xios_time_bounds_follow_the_time_axis(tmp_path):
    raw = xr.open_dataset(write_netcdf(xios([1, 2]), tmp_path / "grid_T.nc"), chunks={})

    ds = time_axis(raw)

    assert ds["time"].attrs["bounds"] == "time_centered_bounds"
    bounds = ds["time_centered_bounds"]
    assert bounds.dims == ("time", "axis_nbounds")
    assert list(bounds.values[1]) == [
        cftime.Datetime360Day(2015, 2, 1),
        cftime.Datetime360Day(2015, 3, 1),
    ]


def test_a_decoded_time_counter_stays_the_axis(tmp_path):
    """When time_counter has units it is the axis (time_centered stays beside it)."""
    ds = open_file(xios([1, 2], counter_units=True), tmp_path / "grid_T.nc")

    assert [time_label(t) for t in ds["time"].values] == ["2015-01-01", "2015-01-31"]


def test_int64_microseconds_on_a_noleap_calendar(tmp_path):
    ds = xios([1, 2])
    micro = np.array([1_000_000 * 86400 * 365 * 45, 1_000_000 * 86400 * (365 * 45 + 31)])
    ds["time_centered"] = (
        "time_counter",
        micro.astype("int64"),
        {"standard_name": "time", "units": "microseconds since 1970-01-01", "calendar": "noleap"},
    )
    ds = ds.drop_vars("time_centered_bounds")

    opened = open_file(ds, tmp_path / "noleap.nc")

    assert summarize(opened, "x")["time_range"] == ["2015-01-01T00:00:00", "2015-02-01T00:00:00"]
    assert summarize(opened, "x")["calendar"] == "noleap"


# -- scalar coordinates ----------------------------------------------------------------------
def test_scalar_time_and_depth_become_length_one_axes(tmp_path):
    ds = open_file(snapshot(), tmp_path / "snapshot.nc")

    assert ds["theta"].dims == ("time", "depth", "lat", "lon")
    assert ds.sizes["time"] == ds.sizes["depth"] == 1
    summary = summarize(ds, "snapshot")
    assert summary["time_range"] == ["1984-12-01T00:00:00", "1984-12-01T00:00:00"]
    assert summary["calendar"] == "standard"
    assert summary["depths"] == [5.0]
    assert float(ds["theta"].sel(lon=-24.0, lat=-2.0).squeeze()) == pytest.approx(
        marker(-24.0, -2.0), abs=1e-4
    )


def test_a_profile_with_a_scalar_time_keeps_it(tmp_path):
    ds = open_file(snapshot(profile=True), tmp_path / "profiles.nc")

    assert ds["theta"].dims == ("time", "depth", "lat", "lon")
    assert summarize(ds, "p")["depths"] == [5.0, 15.0, 25.0]
    column = ds["theta"].sel(lon=-24.0, lat=-2.0).isel(time=0).values
    np.testing.assert_allclose(column, marker(-24.0, -2.0) + np.array([5.0, 15.0, 25.0]))


def test_a_scalar_height_above_the_sea_is_not_a_depth(tmp_path):
    """Air temperature at 1.5 m (CMIP's scalar ``height``, positive up) has no depth axis."""
    raw = snapshot(depth=False).assign_coords(
        height=((), 1.5, {"standard_name": "height", "units": "m", "positive": "up"})
    )

    ds = open_file(raw, tmp_path / "tas.nc")

    assert "depth" not in ds.dims


# -- times without a reference date (CROCO: units "second") ---------------------------------
def undated(steps: int) -> xr.Dataset:
    ds = snapshot(depth=False).drop_vars("time").expand_dims(time=steps)
    return ds.assign_coords(
        time=(
            "time",
            2592000.0 * np.arange(1, steps + 1),
            {"standard_name": "time", "axis": "T", "units": "second"},
        )
    )


def test_one_step_without_a_reference_date_is_shown_undated(tmp_path):
    ds = open_file(undated(1), tmp_path / "croco.nc")

    assert "time" not in ds.dims and "time" not in ds.coords
    assert summarize(ds, "croco")["time_range"] is None
    assert float(ds["theta"].sel(lon=-24.0, lat=-2.0)) == pytest.approx(marker(-24.0, -2.0), 1e-6)


def test_several_steps_without_a_reference_date_are_refused_in_one_line(tmp_path):
    with pytest.raises(SourceError, match="no reference date") as refused:
        open_file(undated(3), tmp_path / "croco.nc")

    message = str(refused.value)
    assert "croco.nc" in message and "'second'" in message and "since" in message
    assert "\n" not in message


def test_a_time_left_undecoded_is_refused_not_taken_for_undated(tmp_path):
    raw = xr.open_dataset(write_netcdf(xios([1]), tmp_path / "grid_T.nc"), decode_times=False)

    with pytest.raises(SourceError, match=r"'seconds since 1900-01-01 00:00:00'\) is not decoded"):
        time_axis(raw, "grid_T.nc")


# -- multi-file runs -------------------------------------------------------------------------
def test_a_run_of_files_is_joined_along_the_true_time_whatever_their_names(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    for name, month in (("b.nc", 1), ("c.nc", 2), ("a.nc", 3)):
        write_netcdf(xios([month]), run / name)

    ds = validate_dataset(NetCDFAdapter(path=str(run)).open())

    assert [time_label(t) for t in ds["time"].values] == ["2015-01-16", "2015-02-16", "2015-03-16"]
    corner = ds["tos"].isel(y=0, x=0).values
    np.testing.assert_allclose(corner - corner[0], [0.0, 1.0, 2.0], atol=1e-4)


def test_two_files_with_the_same_step_are_refused_naming_both(tmp_path):
    write_netcdf(xios([1, 2]), tmp_path / "jan_feb.nc")
    write_netcdf(xios([2]), tmp_path / "feb.nc")

    with pytest.raises(SourceError, match="overlap in time") as refused:
        NetCDFAdapter(path=str(tmp_path / "*.nc")).open()

    message = str(refused.value)
    assert "jan_feb.nc" in message and "feb.nc" in message and "2015-02-16" in message


def test_a_step_repeated_in_one_file_is_refused(tmp_path):
    with pytest.raises(SourceError, match="2015-02-16T00:00:00 appears more than once"):
        open_file(xios([1, 2, 2]), tmp_path / "twice.nc")


def test_steps_out_of_order_in_one_file_are_sorted(tmp_path):
    ds = open_file(xios([3, 1, 2]), tmp_path / "shuffled.nc")

    assert [time_label(t) for t in ds["time"].values] == ["2015-01-16", "2015-02-16", "2015-03-16"]
    corner = ds["tos"].isel(y=0, x=0).values
    np.testing.assert_allclose(corner - corner[0], [0.0, 1.0, 2.0], atol=1e-4)


# -- every calendar is formatted ------------------------------------------------------------
CALENDARS = ["standard", "gregorian", "proleptic_gregorian", "noleap", "365_day", "all_leap",
             "366_day", "360_day", "julian"]  # fmt: skip


@pytest.mark.parametrize("calendar", CALENDARS)
def test_times_of_every_calendar_are_labelled(tmp_path, calendar):
    time = {"standard_name": "time", "units": "hours since 2001-02-28", "calendar": calendar}
    raw = snapshot(depth=False).drop_vars("time").expand_dims(time=2)
    raw = raw.assign_coords(time=("time", [0.0, 36.0], time))

    ds = open_file(raw, tmp_path / "cal.nc")

    leap = calendar in ("360_day", "all_leap", "366_day")  # 29 February 2001 exists
    later = f"{'2001-02-29' if leap else '2001-03-01'}T12:00:00"
    summary = summarize(ds, "c")
    assert summary["time_range"] == ["2001-02-28T00:00:00", later]
    standard = calendar in ("standard", "gregorian", "proleptic_gregorian")
    aliases = {"365_day": "noleap", "366_day": "all_leap"}  # cftime's names
    assert summary["calendar"] == ("standard" if standard else aliases.get(calendar, calendar))
    assert iso_times(ds["time"].values) == ["2001-02-28T00:00:00", later]
    assert [time_text(t) for t in ds["time"].values] == ["2001-02-28T00:00:00", later]
    assert time_label(ds["time"].values[0]) == "2001-02-28"
    assert nearest_step(ds["time"].values, later[:13]) == 1


def test_an_unpadded_reference_year_opens_without_a_warning(tmp_path):
    """HadISST's 'hours since 1-1-1 00:00:0.0' is read right; xarray's two-line warning
    about it is not shown."""
    time = {"standard_name": "time", "units": "hours since 1-1-1 00:00:0.0"}
    raw = snapshot(time=time, depth=False)
    raw["time"] = raw["time"].copy(data=17633208.0)
    path = write_netcdf(raw, tmp_path / "hadisst.nc")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = NetCDFAdapter(path=path).open()

    assert [str(w.message) for w in caught] == []
    assert summarize(ds, "h")["time_range"] == ["2012-08-01T00:00:00"] * 2
