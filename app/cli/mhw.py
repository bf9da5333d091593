"""The ``mhw`` command, and ``--show`` on point series: marine heatwaves and anomalies.

``mhw`` writes the events at the sea cell nearest a point, or the daily area of each
category in a box, as CSV; the work is the core's (:mod:`components.core.processing`).
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import xarray as xr

from components.core import fields, probes, processing, regions, tables
from components.core.climatology import cache_key
from data_adapters import SourceError, open_source

from .common import cannot_write, every_run, nearest_sea_cell, output_file
from .common import catalog as load_catalog

#: Most values (cells x days, with the baseline's when it is another run) the box form of
#: ``mhw`` reads at once: 50 million, about 0.4 GB a run as float64 (a 20° x 20° box at 1/4°
#: over 20 years), so that its climatology stays within 2 GB.
MAX_BOX_VALUES = 5 * 10**7


def climate_key(source_id: str, var: str, depth: float | None, where: str, base_run: str) -> str:
    """What identifies a cached point or box climatology: source, variable, depth, cells and
    the run it is of (the period is added by the core)."""
    return cache_key(processing.source_stamp(source_id), var, depth, where, base_run)


def processed_point(
    da: xr.DataArray,
    cell: probes.Cell,
    args: argparse.Namespace,
    source_id: str,
    start: str | None = None,
    end: str | None = None,
) -> xr.DataArray:
    """The series at ``cell`` as ``--show`` asks (read here), for one run or every run.

    The climatology comes from the whole series (its reference period), then the period
    ``start``..``end`` is cut.
    """
    choice = processing.Processing.parse(args.show, args.reference, args.baseline)
    if not choice.needs_climate:
        return probes.point_series(
            da, cell, depth=args.depth, scenario=args.scenario, start=start, end=end
        ).compute()
    every = args.scenario == fields.ALL_SCENARIOS
    runs = fields.scenario_labels(da) if every else [args.scenario or fields.scenario_labels(da)[0]]
    shown = []
    for run in runs:
        series = probes.point_series(da, cell, depth=args.depth, scenario=run).compute()
        base_label = processing.climate_label(da, run, choice.baseline)
        base = series
        if base_label != run:
            base = probes.point_series(da, cell, depth=args.depth, scenario=base_label).compute()
        key = climate_key(source_id, str(da.name), args.depth, cell.label(), base_label)
        one = processing.shown_series(series, base, choice, key)
        if start is not None or end is not None:
            one = fields.period(one, start, end)
        shown.append(one.drop_vars("scenario", errors="ignore"))
    if not every:
        return shown[0]
    joined = xr.concat(shown, dim="scenario").assign_coords(scenario=runs)
    return joined.transpose("time", ...).assign_attrs(shown[0].attrs)


def processed_block(
    da: xr.DataArray,
    subset: xr.DataArray,
    choice: processing.Processing,
    args: argparse.Namespace,
    source_id: str,
    start: str | None = None,
    end: str | None = None,
) -> xr.DataArray:
    """The box of ``subset`` (one run of ``da``, on time) as ``--show`` asks, on its period.

    The box is read over the whole series (the climatology's reference period, and the days
    around the period that start or end its heatwaves), then the period is cut; the values
    carry the shown quantity's units and long_name.
    """
    if "member" in subset.dims:
        raise SourceError("--show of an ensemble: export one member's value instead")
    run = args.scenario or fields.scenario_labels(da)[0]
    base_label = processing.climate_label(da, run, choice.baseline)

    def box(label: str) -> xr.DataArray:
        one = fields.select(da, depth=args.depth, scenario=label, whole_column=True)
        one = regions.in_box(one, args.bbox) if args.bbox is not None else one
        return one.transpose("time", ...)

    block = box(run).compute()
    base = block if base_label == run else box(base_label).compute()
    where = ",".join(f"{x:g}" for x in args.bbox) if args.bbox is not None else "grid"
    key = climate_key(source_id, str(da.name), args.depth, where, base_label)
    out = processing.shown_series(block, base, choice, key)
    if start is not None or end is not None:
        out = fields.period(out, start, end)
    return out.transpose(*subset.dims).rename(subset.name)


def cmd_mhw(args: argparse.Namespace) -> int:
    """Write marine heatwaves: the events at a point, or the daily area per category in a box."""
    output = output_file(args.output, (".csv",), "CSV") if args.output else None
    if args.lon is not None and args.lat is None:
        raise SourceError("--lon needs --lat: give the point as --lon X --lat Y")
    choice = processing.Processing.parse("mhw-category", args.reference, args.baseline)
    opened = open_source(args.source, load_catalog(args))
    fields.variable(opened.dataset, args.var, opened.id)
    # both read long series of few cells: the source's series layout when it has one
    da = every_run(opened, opened.for_series()[args.var], args.scenario)
    run = args.scenario or fields.scenario_labels(da)[0]
    base_label = processing.climate_label(da, run, choice.baseline)
    try:
        if args.bbox is None:
            cell = nearest_sea_cell(opened, args.var, args.lon, args.lat, args.depth, args.scenario)
            series = probes.point_series(da, cell, depth=args.depth, scenario=run).compute()
            base = series
            if base_label != run:
                base = probes.point_series(
                    da, cell, depth=args.depth, scenario=base_label
                ).compute()
            key = climate_key(opened.id, args.var, args.depth, cell.label(), base_label)
            table, _, _ = processing.event_table(series, base, choice.reference, key)
            what = f"{len(table)} marine heatwaves at {cell.label()}"
        else:
            block = regions.in_box(
                fields.select(da, depth=args.depth, scenario=run, strict_depth=True), args.bbox
            )
            base = block
            if base_label != run:
                base = regions.in_box(
                    fields.select(da, depth=args.depth, scenario=base_label), args.bbox
                )
            values = block.size * (1 if base is block else 2)
            if values > MAX_BOX_VALUES:
                raise SourceError(
                    f"the box holds {block.size // block.sizes['time']:,} cells x "
                    f"{block.sizes['time']:,} days ({values:,} values"
                    + (" with the baseline's" if base is not block else "")
                    + f"); mhw "
                    f"reads at most {MAX_BOX_VALUES:,} at once: choose a smaller box"
                )
            table = _box_areas(block, base, choice, opened.id, args, base_label)
            what = f"daily area per marine-heatwave category in {len(table)} days"
    except SourceError as exc:
        raise SourceError(f"{opened.id}: {exc}") from exc
    if output is None:
        try:
            tables.write_table(table, sys.stdout)
            sys.stdout.flush()
        except BrokenPipeError:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    try:
        tables.write_table(table, output)
    except OSError as exc:
        raise cannot_write(output, exc) from exc
    print(f"wrote {output} ({what})")
    return 0


def _box_areas(
    block: xr.DataArray,
    base: xr.DataArray,
    choice: processing.Processing,
    source_id: str,
    args: argparse.Namespace,
    base_label: str,
):
    """The daily area (km²) of each category in a box (the box is read here)."""
    from components.core import climatology

    if climatology.step_kind(block["time"].values) != "daily":
        raise SourceError(f"marine heatwaves need daily data; '{args.var}' is not daily")
    block = climatology.on_whole_days(block).transpose("time", ...)
    base = climatology.on_whole_days(base).transpose("time", ...)
    times = block["time"].values
    where = ",".join(f"{x:g}" for x in args.bbox)
    key = climate_key(source_id, args.var, args.depth, where, base_label)
    values = np.asarray(block.values, dtype=float)
    base_values = values if base is block else np.asarray(base.values, dtype=float)
    climate = processing.climate_on_steps(base_values, times, times, choice.reference, key)
    area = np.asarray(regions.cell_area_km2(block).values, dtype=float)
    area = np.where(np.isnan(values).all(axis=0), np.nan, area)
    return processing.category_areas(values, times, climate, area)
