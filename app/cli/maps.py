"""The map commands: ``render`` and ``compare`` write PNG maps through the dashboard's renderer.

``render`` draws one field; ``compare`` a scenario's change from a baseline (and, with
``--stats``, its impact statistics).

Each is arguments -> the core's field choice (:mod:`components.core.fields`) -> its frames
(:mod:`components.core.frames`) -> its PNG writers (:mod:`components.core.png`).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
from typing import Any

import numpy as np
import xarray as xr

from components.core import comparison, fields, processing, regions, shown_maps, timeaxis
from components.core.colours import default_cmap, fixed_range, is_diverging, robust_range
from components.core.frames import Frame, full_extent, pyramid_for, render_field
from components.core.geography import MERCATOR_MAX_LAT, WEB_MERCATOR, Viewport
from components.core.png import ColourScale, colormap_names, write_bare_png, write_map_png
from data_adapters import Catalog, OpenedSource, SourceError, align_runs, vertical
from data_adapters.errors import did_you_mean

from .common import cannot_write, every_run, opened_source, output_file, source_credit
from .common import catalog as load_catalog

#: The minus sign (U+2212) of change titles: "warming_1p5 MINUS baseline".
MINUS = "\u2212"


def cmd_render(args: argparse.Namespace) -> int:
    """Write a PNG map of one variable at one run, time step and depth level."""
    output = _png_output(args)
    opened = opened_source(args)
    choice = fields.Choice(args.var, time=args.time, depth=args.depth, scenario=args.scenario)
    shown = processing.Processing.parse(args.show, args.reference, args.baseline)
    chosen_field = shown_maps.shown_field(
        opened.dataset,
        choice,
        shown,
        where=opened.id,
        source_key=processing.source_stamp(opened.id),
        time_option="--time",
    )
    field, chosen = chosen_field.data, chosen_field.chosen
    frame = _map_frame(field, args, opened.pyramid)
    _say_if_extended(frame, args)
    cmap = args.cmap or default_cmap(field)
    if args.log and args.clim is not None and args.clim[0] <= 0:
        raise SourceError("--clim: a log scale (--log) needs a positive range (LO > 0)")
    values = frame.values[frame.values > 0] if args.log else frame.values
    # "balance_r" is as diverging as "balance"; a log scale is never centred on zero
    symmetric = is_diverging(cmap.split("_")[0]) and not args.log
    clim = args.clim or fixed_range(field) or robust_range(values, symmetric=symmetric)
    if args.log and clim[0] <= 0:
        clim = (clim[1] / 1000 if clim[1] > 0 else 1e-3, max(clim[1], 1e-3))
    label = fields.quantity_label(field, args.var)
    parts = ("scenario", "member", "time", "depth", "show")
    details = [label, *(chosen[k] for k in parts if k in chosen)]
    metadata = {
        "Title": f"{opened.title}: " + ", ".join(details),
        "Source": source_credit(opened),
        "Software": "ocean-explorer render",
    }
    title = f"{opened.title}\n" + ", ".join(details)
    credit = source_credit(opened)
    box = full_extent(field, frame.viewport.crs)
    scale = ColourScale(cmap, clim, args.log)
    _write_png(frame, output, scale, title, label, metadata, args.bare, credit, box)
    used = [chosen[k] for k in ("variable", "time", "depth", "scenario", "member") if k in chosen]
    print(f"wrote {output} ({', '.join(used)})")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Write a PNG map of the change from ``--baseline`` to ``--scenario`` (and, with
    ``--stats``, its impact statistics as JSON)."""
    output = _png_output(args)
    stats_file = output_file(args.stats, (".json",), "JSON") if args.stats else None
    catalog = load_catalog(args)
    opened = opened_source(args, catalog_=catalog)
    da, baseline, scenario, regridded = _compare_pair(opened, args, catalog)
    shown = processing.Processing.parse(args.show, args.reference)
    if shown.needs_climate and args.mode == "pct":
        raise SourceError(
            f"--mode pct: a relative change of the {processing.SHOW_LABELS[shown.show]} has no "
            "meaning (it is measured from the climatology, not from zero); use --mode diff"
        )
    try:
        if shown.needs_climate:
            pair, chosen = _shown_runs(da, baseline, scenario, shown, args, opened, regridded)
        else:
            da, chosen = _both_runs_at(da, args.time, args.depth)
            pair = comparison.runs(da, baseline, [scenario])
        delta = comparison.change(pair[baseline], pair[scenario], args.mode)
        if delta.ndim != 2:
            raise SourceError(
                f"'{args.var}' is not a map (dims: {', '.join(map(str, delta.dims))})"
            )
        stats = None
        if stats_file is not None:
            mask = regions.region_mask(delta, bbox=args.bbox) if args.bbox is not None else None
            stats = comparison.impact(delta, mask, args.threshold)
    except SourceError as exc:
        raise SourceError(f"{opened.id}: {exc}") from exc
    members = pair[scenario].sizes.get("member")
    if members:
        chosen["members"] = f"ensemble mean of {members} members"
    frame = _map_frame(delta, args)
    _say_if_extended(frame, args)
    cmap = args.cmap or comparison.CHANGE_CMAPS[args.mode]
    clim = args.clim or comparison.change_range(frame.values)
    label = fields.quantity_label(delta, args.var)
    change = f"{scenario} {MINUS} {baseline}"
    parts = ("time", "depth", "members", "show")
    details = [label, *(chosen[k] for k in parts if k in chosen)]
    metadata = {
        "Title": f"{opened.title}: {change}, " + ", ".join(details),
        "Source": source_credit(opened),
        "Software": "ocean-explorer compare",
    }
    if regridded:
        metadata["Comment"] = f"regridded onto the baseline's grid: {regridded}"
    title = f"{opened.title}: {change}\n" + ", ".join(details)
    credit = source_credit(opened)
    _write_png(frame, output, ColourScale(cmap, clim), title, label, metadata, args.bare, credit)
    written = [str(output)]
    if stats is not None and stats_file is not None:
        _write_stats(stats_file, stats, args, delta, baseline, scenario, chosen)
        written.append(str(stats_file))
    used = [args.var, change + (" (%)" if args.mode == "pct" else "")]
    used += [chosen[k] for k in ("time", "depth") if k in chosen]
    note = f"; regridded: {regridded}" if regridded else ""
    print(f"wrote {' and '.join(written)} ({', '.join(used)}{note})")
    return 0


# -- the PNG ---------------------------------------------------------------------------------
def _png_output(args: argparse.Namespace) -> pathlib.Path:
    """The PNG to write, and ``--cmap`` checked, before any source is opened."""
    output = output_file(args.output, (".png",), "a PNG")
    check_cmap(args.cmap)
    return output


def check_cmap(cmap: str | None) -> None:
    """Refuse a ``--cmap`` that is not a cmocean colormap (one line, with a suggestion)."""
    if cmap is not None:
        names = colormap_names()
        if cmap not in names:
            raise SourceError(
                f"--cmap '{cmap}' is not a cmocean colormap{did_you_mean(cmap, names)}; "
                "e.g. thermal, haline, balance, algae, deep (reversed: add _r)"
            )


def _map_frame(field: xr.DataArray, args: argparse.Namespace, pyramid: Any = None) -> Frame:
    """``field`` rendered into :func:`map_viewport`: the frame a PNG shows. With the
    ``pyramid`` of the source it is a slice of, through that pyramid's levels, as the
    dashboard renders it."""
    frame = render_field(pyramid_for(field, pyramid), map_viewport(field, args))
    if not np.isfinite(frame.values).any():
        warning = "ocean-explorer: warning: no data in this extent (land, or outside the data)"
        print(warning, file=sys.stderr)
    return frame


def map_viewport(field: xr.DataArray, args: argparse.Namespace) -> Viewport:
    """The viewport of ``--bbox`` (default: the data's extent), ``--width``, ``--height`` and
    ``--crs``. A decorated map is true to shape (one CRS unit per pixel across and down): a
    box of another shape than the size asked is extended about its centre, or the image made
    smaller where the box would pass the world; ``--bare`` keeps the box and size as given
    (an overlay or tile placed by its corners)."""
    if args.bbox is not None and args.crs == WEB_MERCATOR:
        _, south, _, north = args.bbox
        if south >= MERCATOR_MAX_LAT or north <= -MERCATOR_MAX_LAT:
            raise SourceError(
                f"--bbox: Web Mercator stops at ±{MERCATOR_MAX_LAT:.2f}° latitude; "
                "use --crs EPSG:4326 for polar maps"
            )
    try:
        if args.bbox is not None:
            viewport = Viewport.from_bbox(args.bbox, args.width, args.height, args.crs)
        else:
            x0, y0, x1, y1 = full_extent(field, args.crs)
            viewport = Viewport((x0, x1), (y0, y1), args.width, args.height, args.crs)
    except ValueError as exc:
        raise SourceError(f"--bbox: cannot make a map of this extent ({exc})") from exc
    return viewport if getattr(args, "bare", False) else viewport.true_shape()


def _say_if_extended(frame: Frame, args: argparse.Namespace) -> None:
    """One line on stderr when the map shows more than the box, or is smaller than asked,
    to keep true shapes."""
    vp = frame.viewport
    if (vp.width, vp.height) != (args.width, args.height):
        print(
            f"ocean-explorer: note: map {vp.width}x{vp.height} px rather than "
            f"{args.width}x{args.height}, to keep true shapes (the box's own proportions)",
            file=sys.stderr,
        )
    elif args.bbox is not None and not args.bare:
        west, south, east, north = (round(v, 2) for v in vp.lon_lat_bounds())
        asked = Viewport.from_bbox(args.bbox, vp.width, vp.height, vp.crs)
        if asked.x_range != vp.x_range or asked.y_range != vp.y_range:
            print(
                f"ocean-explorer: note: box extended to {west:g},{south:g},{east:g},{north:g} "
                "to keep true shapes at this size (--bare keeps the box as given)",
                file=sys.stderr,
            )


def _write_png(
    frame: Frame,
    output: pathlib.Path,
    scale: ColourScale,
    title: str,
    label: str,
    metadata: dict[str, str],
    bare: bool,
    credit: str = "",
    data_box: tuple[float, float, float, float] | None = None,
) -> None:
    """Write ``frame`` as the bare raster or as the decorated map (title, colour bar,
    attribution line; the sea beyond ``data_box`` apart from land)."""
    try:
        if bare:
            write_bare_png(frame, output, scale, metadata)
        else:
            write_map_png(frame, output, scale, title, label, metadata, credit, data_box)
    except OSError as exc:
        raise cannot_write(output, exc) from exc


# -- the runs compared -----------------------------------------------------------------------
def _both_runs_at(
    da: xr.DataArray, time: str | None, depth: float | None
) -> tuple[xr.DataArray, dict[str, str]]:
    """Every run and member of ``da`` at the step nearest ``time`` (default: the first) and
    the level nearest ``depth`` (default: the top), by the core's field-choice rules, and the
    labels of that step and level."""
    step = 0
    if time is not None and "time" in da.dims:
        step = timeaxis.nearest_step(da["time"].values, time, "--time")
    da = fields.select(
        da, depth, fields.ALL_SCENARIOS, members=True, strict_depth=False, time_index=step
    )
    chosen = {}
    if "time" in da.coords and da["time"].ndim == 0:
        chosen["time"] = timeaxis.time_label(da["time"].values[()])
    if "depth" in da.coords and da["depth"].ndim == 0:
        chosen["depth"] = vertical.label(da["depth"])
    return da, chosen


def _shown_runs(
    da: xr.DataArray,
    baseline: str,
    scenario: str,
    shown: processing.Processing,
    args: argparse.Namespace,
    opened: OpenedSource,
    regridded: str | None,
) -> tuple[dict[str, xr.DataArray], dict[str, str]]:
    """The baseline and the scenario as ``--show`` shows them at ``--time`` and ``--depth``
    (the maps ``render`` draws, each against the first run's climatology), and the labels
    of that step, level and shown quantity."""
    ds = da.to_dataset(name=args.var)
    # runs read from other sources are not the source's: their climatology is not cached
    same_source = all(run in fields.scenario_labels(opened.dataset) for run in (baseline, scenario))
    key = processing.source_stamp(opened.id) if same_source and not regridded else None
    pair, chosen = {}, {}
    for run in (baseline, scenario):
        choice = fields.Choice(args.var, time=args.time, depth=args.depth, scenario=run)
        one = shown_maps.shown_field(ds, choice, shown, opened.id, key, "--time")
        pair[run] = one.data.drop_vars("scenario", errors="ignore")
        chosen = one.chosen
    return pair, chosen


def _looks_like_source(text: str) -> bool:
    """True for what names a path, glob or URL rather than a run's label."""
    return os.path.exists(text) or any(c in text for c in "/\\:.*?[")


def _run_label(text: str, taken: set[str]) -> str:
    """A short name for a run from another source: its file name (or the text as given)."""
    name = pathlib.PurePosixPath(text.rstrip("/")).name or text
    return name if name not in taken else text


def _other_run(
    text: str,
    option: str,
    opened: OpenedSource,
    labels: list[str],
    catalog: Catalog,
    args: argparse.Namespace,
) -> tuple[OpenedSource, xr.Dataset]:
    """The one run of another source (a Dataset without a ``scenario`` dim, lazy)."""
    if text not in catalog and not _looks_like_source(text):
        raise SourceError(
            f"{opened.id}: no scenario '{text}'{did_you_mean(text, labels)}; the runs are: "
            f"{', '.join(labels)} (or give {option} the path, URL or catalog id of another source)"
        )
    other = opened_source(args, text, catalog)  # with the same derived variables
    ds = other.dataset
    if "scenario" in ds.dims:
        runs = fields.scenario_labels(ds)
        if len(runs) > 1:
            raise SourceError(
                f"{option} {text}: that source has several runs ({', '.join(runs)}); give a "
                "source with one run, or compare the runs of one source by name"
            )
        ds = ds.isel(scenario=0, drop=True)
    return other, ds


def _compare_pair(
    opened: OpenedSource, args: argparse.Namespace, catalog: Catalog
) -> tuple[xr.DataArray, str, str, str | None]:
    """The variable on a ``scenario`` dim holding the baseline and the scenario (lazy), their
    names, and what was regridded (None: nothing).

    Runs of SOURCE are taken as they are; a run of another source goes with them through
    ``data_adapters.align_runs``, the checks a scenario group of separate sources passes.
    """
    ds = opened.dataset
    labels = fields.scenario_labels(ds)
    da = every_run(opened, fields.variable(ds, args.var, opened.id), labels[0])
    picks: dict[str, Any] = {}
    for option, text in (("--baseline", args.baseline), ("--scenario", args.scenario)):
        if text is None:
            picks[option] = labels[0]
        elif text in labels:
            picks[option] = text
        else:
            picks[option] = _other_run(text, option, opened, labels, catalog, args)
    if all(isinstance(p, str) for p in picks.values()):
        # a scenario group of runs stored apart may have regridded some: name those compared
        chosen = (picks["--baseline"], picks["--scenario"])
        notes = str(ds.attrs.get("regridded_scenarios") or "").split("; ")
        notes = [n for n in notes if n.split(" (")[0] in chosen]
        return da, picks["--baseline"], picks["--scenario"], "; ".join(notes) or None
    runs: dict[str, Any] = {}
    for pick in picks.values():
        if isinstance(pick, str):
            name = pick
            run = da.to_dataset(name=args.var)
            run = run.sel(scenario=pick, drop=True) if "scenario" in run.dims else run
        else:
            other, run = pick
            name = _run_label(other.id, set(runs))
            if args.var not in run.data_vars:
                fields.variable(other.dataset, args.var, other.id)  # names its variables
        if name in runs:
            raise SourceError(f"{opened.id}: --baseline and --scenario are the same run '{name}'")
        runs[name] = run[[args.var]]
    joined = align_runs(runs, label=opened.id)
    baseline, scenario = runs
    return joined[args.var], baseline, scenario, joined.attrs.get("regridded_scenarios")


def _write_stats(
    path: pathlib.Path,
    stats: dict[str, Any],
    args: argparse.Namespace,
    delta: xr.DataArray,
    baseline: str,
    scenario: str,
    chosen: dict[str, str],
) -> None:
    """The ``compare --stats`` JSON: the impact statistics of ``delta`` and what they are of."""
    doc: dict[str, Any] = {key: stats[key] for key in comparison.IMPACT_KEYS}
    doc.update(
        cells=stats["cells"],
        variable=args.var,
        baseline=baseline,
        scenario=scenario,
        mode=args.mode,
        units=str(delta.attrs.get("units") or ""),
        threshold=args.threshold,
        show=args.show,
        time=chosen.get("time"),
        depth=float(delta["depth"]) if "depth" in delta.coords else None,
        bbox=list(args.bbox) if args.bbox is not None else None,
    )
    try:
        path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise cannot_write(path, exc, "--stats") from exc
