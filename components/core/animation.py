"""Animated maps: one field over a range of time steps as an animated GIF of decorated maps.

Every frame is the decorated map of :mod:`.png` (title with the step's date, colour bar with
units, coastline, graticule, attribution line) in one colour range, so frames compare. An
animation is size-limited: at most :data:`MAX_FRAMES` steps and :data:`MAX_FRAME_PIXELS`
map pixels a frame, refused with a one-line message naming the way out. MP4 is not written:
it needs an ffmpeg binary (``imageio-ffmpeg``), which the product does not ship.
"""

from __future__ import annotations

import io
import os
import pathlib
from collections.abc import Callable, Sequence

import numpy as np
import xarray as xr

from data_adapters import SourceError

from .fields import period
from .frames import Frame
from .png import ColourScale, map_figure
from .timeaxis import parse_time

#: Most frames (time steps) one animation holds.
MAX_FRAMES = 120
#: Most map pixels (width x height) in one frame: about 1000 x 1000.
MAX_FRAME_PIXELS = 1_000_000
#: How long each frame shows (milliseconds): 2.5 frames a second.
FRAME_MS = 400


def animation_steps(
    da: xr.DataArray, start: str | None, end: str | None, every: int = 1
) -> list[int]:
    """Indices on ``da``'s time axis of every ``every``-th step from ``start`` to ``end``
    (ISO times, both included; None: the data's first or last step).

    Raises
    ------
    SourceError
        One line: a bound that is not a time, an end before the start, a range with no step
        of the data, ``every`` below 1, or more than :data:`MAX_FRAMES` frames.
    """
    if every < 1:
        raise SourceError(f"--every {every}: give a whole number of steps, 1 or more")
    if "time" not in da.dims:
        raise SourceError(f"'{da.name}' has no time axis: nothing to animate")
    bounds = [
        parse_time(t, what) if t else None for t, what in ((start, "--start"), (end, "--end"))
    ]
    if bounds[0] is not None and bounds[1] is not None and bounds[0] > bounds[1]:
        raise SourceError(f"--end {end} is before --start {start}: give the earlier date first")
    chosen = period(da, start, end)
    first = int(np.flatnonzero(da["time"].values == chosen["time"].values[0])[0])
    steps = list(range(first, first + chosen.sizes["time"], every))
    if len(steps) > MAX_FRAMES:
        need = -(-chosen.sizes["time"] // MAX_FRAMES)
        raise SourceError(
            f"{len(steps)} frames from {start or 'the start'} to {end or 'the end'}: at most "
            f"{MAX_FRAMES}; choose a shorter range or one step in {need} (--every {need})"
        )
    return steps


def check_frame_size(width: int, height: int) -> None:
    """Refuse frames of more than :data:`MAX_FRAME_PIXELS` map pixels (one line)."""
    if width * height > MAX_FRAME_PIXELS:
        raise SourceError(
            f"frames of {width}x{height} px are too large for an animation (at most "
            f"{MAX_FRAME_PIXELS:,} map pixels a frame); give a smaller --width/--height"
        )


def shared_range(frames: Sequence[Frame], pick: Callable[[np.ndarray], tuple[float, float]]):
    """One colour range for every frame: ``pick`` (e.g. the robust range) over all their
    values, so a colour means the same value in every frame."""
    return pick(np.concatenate([f.values.ravel() for f in frames]))


def write_gif(
    frames: Sequence[Frame],
    titles: Sequence[str],
    path: str | os.PathLike | io.BufferedIOBase,
    scale: ColourScale,
    label: str,
    credit: str = "",
    frame_ms: int = FRAME_MS,
    data_box: tuple[float, float, float, float] | None = None,
) -> None:
    """Write ``frames`` as an animated GIF that loops: each the decorated map (:mod:`.png`)
    titled by ``titles`` (one per frame: what, and the step's date), in ``scale``; ``data_box``
    as :func:`.png.map_figure` takes it."""
    from PIL import Image

    if not frames:
        raise SourceError("no frames to animate")
    check_frame_size(frames[0].viewport.width, frames[0].viewport.height)
    images = []
    for frame, title in zip(frames, titles, strict=True):
        figure = map_figure(frame, scale, title, label, credit, data_box)
        figure.canvas.draw()
        rgba = np.asarray(figure.canvas.buffer_rgba())
        # one adaptive palette per frame: the colour bar's 256 colours and the text
        images.append(Image.fromarray(rgba[..., :3]).quantize(colors=256))
    if isinstance(path, str | os.PathLike):
        path = pathlib.Path(path)
    images[0].save(
        path,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=frame_ms,
        loop=0,
        disposal=1,
    )
