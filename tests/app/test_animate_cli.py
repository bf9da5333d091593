"""``ocean-explorer animate``: an animated GIF of decorated maps, one per time step, each
titled with its date, capped in frames and pixels."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from PIL import Image

from app.cli import main
from components.core.png import MARGIN_BOTTOM, MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP
from tests.app.test_render_cli import ocean_file  # noqa: F401


@pytest.fixture
def animate(capsys):
    """Run ``ocean-explorer animate ARGS`` in this process: (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        try:
            code = main(["animate", *args])
        except SystemExit as exc:  # argparse's own errors
            code = exc.code
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def frames_of(path) -> list[np.ndarray]:
    with Image.open(path) as gif:
        assert gif.format == "GIF"
        frames = []
        for i in range(gif.n_frames):
            gif.seek(i)
            frames.append(np.asarray(gif.convert("RGB")))
        return frames


def test_one_frame_per_step_of_the_range_each_titled_with_its_date(animate, ocean_file, tmp_path):  # noqa: F811
    out = tmp_path / "steps.gif"
    code, printed, err = animate(
        ocean_file, "--var", "thetao", "--start", "2025-01-02", "--end", "2025-01-04",
        "--bbox", "-70,0,30,80", "--width", "200", "--height", "160", "-o", str(out),
    )  # fmt: skip
    assert code == 0, err
    assert "3 frames, 2025-01-02 .. 2025-01-04" in printed
    frames = frames_of(out)
    assert len(frames) == 3
    assert frames[0].shape == (
        160 + MARGIN_TOP + MARGIN_BOTTOM,
        200 + MARGIN_LEFT + MARGIN_RIGHT,
        3,
    )
    # the title (its date) and the sea (2 °C warmer each step, one colour range) differ
    title = slice(0, MARGIN_TOP)
    for a, b in itertools.pairwise(frames):
        assert (a[title] != b[title]).any()
    assert (
        frames[0][MARGIN_TOP + 80, MARGIN_LEFT + 150]
        != frames[2][MARGIN_TOP + 80, MARGIN_LEFT + 150]
    ).any()


def test_every_nth_step(animate, ocean_file, tmp_path):  # noqa: F811
    out = tmp_path / "every.gif"
    code, printed, err = animate(
        ocean_file, "--var", "thetao", "--every", "2", "--width", "100", "--height", "50",
        "-o", str(out),
    )  # fmt: skip
    assert code == 0, err
    assert len(frames_of(out)) == 2  # steps 1 and 3 of 4
    assert "2025-01-01 .. 2025-01-03" in printed


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--start", "2025-01-04", "--end", "2025-01-02"), "--end 2025-01-02 is before --start"),
        (("--start", "2026-05-01", "--end", "2026-06-01"), "no time step from 2026-05-01"),
        (
            (
                "--start",
                "May 4",
            ),
            "--start 'May 4' is not an ISO time",
        ),
        (("--every", "0"), "--every 0: give a whole number of steps"),
        (("--width", "2000", "--height", "1000"), "too large for an animation"),
        (("-o", "out.mp4"), "the output is an animated GIF"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(animate, ocean_file, tmp_path, args, expected):  # noqa: F811
    args = ("-o", str(tmp_path / "bad.gif"), *args)
    code, _, err = animate(ocean_file, "--var", "thetao", *args)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and expected in err, err
    assert "Traceback" not in err


def test_too_many_frames_names_the_way_out(animate, tmp_path):
    code, _, err = animate(
        "demo", "--var", "thetao", "--start", "2025-01-01", "--end", "2025-12-31",
        "-o", str(tmp_path / "year.gif"),
    )  # fmt: skip
    assert code == 2
    assert "365 frames" in err and "at most 120" in err and "--every 4" in err
