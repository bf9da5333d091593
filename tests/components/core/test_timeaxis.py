"""The time axis (``components.core.timeaxis``): one nearest step on every calendar, and the
URL's ``time=`` and the command line's ``--time`` picking the same step."""

from __future__ import annotations

import re
import subprocess
import sys

import cftime
import numpy as np
import pytest

from app.urlstate import apply_query
from components import ColorSettings, ExplorerState
from components.core.timeaxis import iso_times, nearest_step, outside_note, step_name, time_label
from data_adapters import Catalog, SourceError
from tests import synthetic


def test_nearest_step_on_the_standard_calendar():
    times = np.array(["2025-01-01", "2025-01-02", "2025-01-03"], dtype="datetime64[ns]")
    assert nearest_step(times, "2025-01-02T13:00") == 2
    assert nearest_step(times, "1990-01-01") == 0
    assert nearest_step(times, "2025-01-01T11:59") == 0


@pytest.mark.parametrize(
    ("times", "name"),
    [
        (np.array(["2025-01-01", "2025-01-02"], dtype="datetime64[ns]"), "days"),
        (np.array(["2025-01-01T00", "2025-01-01T01"], dtype="datetime64[ns]"), "hours"),
        (np.array(["2025-01-01", "2025-02-01"], dtype="datetime64[ns]"), "months"),
        (np.array(["2025-01-01T00", "2025-01-01T06"], dtype="datetime64[ns]"), "steps"),
        ([cftime.Datetime360Day(2001, 2, 30), cftime.Datetime360Day(2001, 3, 1)], "days"),
        (np.array(["2025-01-01"], dtype="datetime64[ns]"), "steps"),
    ],
)
def test_a_count_of_steps_is_named_by_the_step(times, name):
    assert step_name(times) == name


def test_nearest_step_far_outside_the_nanosecond_range():
    """Seconds, not nanoseconds: a paleo date still picks the first step."""
    times = np.array(["1850-01-01", "1850-02-01"], dtype="datetime64[ns]")
    assert nearest_step(times, "1000-06-01") == 0


@pytest.mark.parametrize(
    ("calendar", "text", "expected"),
    [("360_day", "2001-02-30T01:00", 3), ("360_day", "2001-02-29", 2), ("noleap", "2001-03-01", 2)],
)
def test_nearest_step_on_model_calendars(calendar, text, expected):
    days = (27, 28, 29, 30) if calendar == "360_day" else (27, 28)
    times = [cftime.datetime(2001, 2, d, calendar=calendar) for d in days]
    if calendar == "noleap":
        times += [cftime.datetime(2001, 3, d, calendar=calendar) for d in (1, 2)]
    assert nearest_step(np.array(times, dtype=object), text) == expected


@pytest.mark.parametrize("text", ["soon", "July 4", "2025-13-01", "2025-02-30"])
def test_what_is_not_a_time_of_the_calendar_is_refused(text):
    times = np.array(["2025-01-01", "2025-03-01"], dtype="datetime64[ns]")
    with pytest.raises(SourceError, match="time"):
        nearest_step(times, text)


def test_labels():
    assert time_label(np.datetime64("2025-03-10T00:00")) == "2025-03-10"
    assert time_label(np.datetime64("2025-03-10T12:30")) == "2025-03-10T12:30:00"
    assert time_label(cftime.datetime(2001, 2, 30, calendar="360_day")) == "2001-02-30"
    assert iso_times(np.array(["2025-01-01", "2025-01-02"], dtype="datetime64[ns]")) == [
        "2025-01-01",
        "2025-01-02",
    ]


@pytest.mark.slow
@pytest.mark.parametrize("calendar", ["360_day", "noleap"])
@pytest.mark.parametrize("text", ["2001-02-30T13:00", "2001-02-28T20:00", "2001-03-01"])
def test_the_url_and_the_cli_pick_the_same_step(tmp_path, calendar, text):
    builder = synthetic.calendar_360_day if calendar == "360_day" else synthetic.calendar_noleap
    path = synthetic.write_netcdf(builder(), tmp_path / f"{calendar}.nc")
    catalog = Catalog.load()
    entry = catalog.add_source(path)
    state = ExplorerState(catalog, dataset_id=entry.id)
    notices = apply_query({"time": text}, state, lambda mode: ColorSettings())
    png = str(tmp_path / "map.png")
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "render",
            path,
            "--var",
            "thetao",
            "--time",
            text,
            "-o",
            png,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if calendar == "noleap" and text.startswith("2001-02-30"):
        assert notices and cli.returncode == 2  # no 30 February: both refuse it
        return
    assert not notices, notices
    assert cli.returncode == 0, cli.stderr
    picked = re.search(r"thetao, (\S+)[,)]", cli.stdout).group(1)
    assert picked == state.time


def test_a_time_outside_the_data_is_said_to_be_so():
    times = np.array(["2025-01-01", "2025-01-02"], dtype="datetime64[ns]")
    assert outside_note(times, "2025-01-01T12:00") is None
    assert "after the data" in outside_note(times, "2030-07-04")
    assert "before the data" in outside_note(times, "1990-01-01")
    noleap = np.array([cftime.datetime(2001, 3, 1, calendar="noleap")], dtype=object)
    assert "after the data (to 2001-03-01)" in outside_note(noleap, "2001-03-05")


def test_go_to_date_outside_the_data_tells_the_user():
    catalog = Catalog.load()
    state = ExplorerState(catalog, dataset_id="demo")
    last = state.param.time.objects[-1]
    index = state.time_step("2099-07-04")
    assert state.param.time.objects[index] == last
    assert "after the data" in state.message and last in state.message


def test_depth_is_offered_only_for_variables_with_levels():
    state = ExplorerState(Catalog.load(), dataset_id="demo")
    state.variable = "thetao"
    assert state.has_levels()
    state.variable = "zos"  # sea surface height: a surface field
    assert not state.has_levels()
