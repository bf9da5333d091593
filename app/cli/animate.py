"""The ``animate`` command: an animated GIF of one field over a range of time steps.

Arguments -> the core's field choice for each step (:mod:`components.core.fields`) -> frames
in one true-to-shape viewport (:func:`.maps.map_viewport`) -> one colour range over all of
them -> :func:`components.core.animation.write_gif`.
"""

from __future__ import annotations

import argparse

from components.core import animation, fields
from components.core.colours import default_cmap, is_diverging, robust_range
from components.core.frames import full_extent, pyramid_for, render_field
from components.core.png import ColourScale
from data_adapters import open_source

from .common import cannot_write, output_file, source_credit
from .common import catalog as load_catalog
from .maps import check_cmap, map_viewport


def cmd_animate(args: argparse.Namespace) -> int:
    """Write an animated GIF of one variable from ``--start`` to ``--end``."""
    output = output_file(args.output, (".gif",), "an animated GIF (.gif; MP4 is not written)")
    check_cmap(args.cmap)
    opened = open_source(args.source, load_catalog(args))
    choice = fields.Choice(args.var, depth=args.depth, scenario=args.scenario)
    first = fields.field(opened.dataset, choice, where=opened.id)
    series = fields.variable(opened.dataset, args.var, opened.id)
    steps = animation.animation_steps(series, args.start, args.end, args.every)
    viewport = map_viewport(first.data, args)
    animation.check_frame_size(viewport.width, viewport.height)
    frames, titles, dates = [], [], []
    label = fields.quantity_label(first.data, args.var)
    for step in steps:
        chosen = fields.field(
            opened.dataset,
            fields.Choice(args.var, time=step, depth=args.depth, scenario=args.scenario),
            where=opened.id,
        )
        frames.append(render_field(pyramid_for(chosen.data, opened.pyramid), viewport))
        details = [chosen.chosen[k] for k in ("scenario", "member", "depth") if k in chosen.chosen]
        dates.append(chosen.chosen["time"])
        titles.append(f"{opened.title}: {label}\n" + ", ".join([dates[-1], *details]))
    cmap = args.cmap or default_cmap(first.data)
    clim = args.clim or animation.shared_range(
        frames, lambda v: robust_range(v, symmetric=is_diverging(cmap.split("_")[0]))
    )
    try:
        animation.write_gif(
            frames, titles, output, ColourScale(cmap, clim), label, source_credit(opened),
            data_box=full_extent(first.data, viewport.crs),
        )  # fmt: skip
    except OSError as exc:
        raise cannot_write(output, exc) from exc
    size = f"{frames[0].viewport.width}x{frames[0].viewport.height} px map"
    print(f"wrote {output} ({args.var}, {len(frames)} frames, {dates[0]} .. {dates[-1]}, {size})")
    return 0
