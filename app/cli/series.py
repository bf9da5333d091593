"""The data commands: ``timeseries`` and ``export`` write series and subsets as files.

``timeseries`` writes the CSV series at a point, ``export`` a subset of one variable as
NetCDF or long CSV.

Each is arguments -> the core's choice of run, level and period (:func:`fields.select`) and
its probes or box -> its writers (:mod:`components.core.tables`).
"""

from __future__ import annotations

import argparse
import os
import sys

from components.core import fields, processing, regions, tables, timeaxis
from data_adapters import SourceError, vertical

from .arguments import megabytes_arg
from .common import (
    cannot_write,
    every_run,
    megabytes,
    nearest_sea_cell,
    opened_source,
    output_file,
)
from .mhw import processed_block, processed_point
from .parser import DEFAULT_EXPORT_LIMIT_MB, EXPORT_LIMIT_ENV


def cmd_timeseries(args: argparse.Namespace) -> int:
    """Write the series of one variable at the sea cell nearest a point, as CSV."""
    output = output_file(args.output, (".csv",), "CSV") if args.output else None
    start, end = period_bound(args.start, "--start"), period_bound(args.end, "--end")
    opened = opened_source(args)
    fields.variable(opened.dataset, args.var, opened.id)  # a clear error for an unknown one
    # a series reads the source's series layout when it has one (geo-chunked: one chunk)
    da = every_run(opened, opened.for_series()[args.var], args.scenario)
    try:
        # where the sea is: the chosen level of the baseline (or chosen) run, at its first step
        cell = nearest_sea_cell(opened, args.var, args.lon, args.lat, args.depth, args.scenario)
        series = processed_point(da, cell, args, opened.id, start, end)
    except SourceError as exc:
        raise SourceError(f"{opened.id}: {exc}") from exc
    depth = float(series["depth"]) if "depth" in series.coords else None
    place, header = cell.label(depth), cell.header(depth)
    said = None if depth is None else vertical.cell_parts(series["depth"])
    if said is not None:  # a level or pressure: said in its own units, never as metres
        place, header = f"{cell.label()}, {said[1]}", f"{cell.header()},{said[0]}"
    if cell.snapped:
        print(
            f"ocean-explorer: note: ({args.lon:g}, {args.lat:g}) is on land; using the nearest "
            f"sea cell {place} ({cell.distance_km:.0f} km away)",
            file=sys.stderr,
        )
    if output is None:
        try:
            tables.to_csv(series, sys.stdout, header)
            sys.stdout.flush()
        except BrokenPipeError:
            # the reader stopped early (``| head``): not an error, and nothing more to say;
            # stdout goes to devnull so that Python's flush at exit does not complain either
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    try:
        tables.to_csv(series, output, header)
    except OSError as exc:
        raise cannot_write(output, exc) from exc
    print(f"wrote {output} ({args.var} at {place}, {series.sizes['time']} steps)")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write a subset (box, period, level, run) of one variable as NetCDF or long CSV,
    refused from its size alone when above the export limit."""
    output = output_file(args.output, (".nc", ".csv"), "NetCDF or CSV")
    start, end = period_bound(args.start, "--start"), period_bound(args.end, "--end")
    limit_mb = export_limit_mb(args)
    opened = opened_source(args)
    da = every_run(opened, fields.variable(opened.dataset, args.var, opened.id), args.scenario)
    try:
        subset = fields.select(
            da,
            depth=args.depth,
            scenario=args.scenario,
            start=start,
            end=end,
            whole_column=True,
            members=True,
        )
        if args.bbox is not None:
            subset = regions.in_box(subset, args.bbox)
        shown = processing.Processing.parse(args.show, args.reference, args.baseline)
        if shown.needs_climate:
            # the whole series of the box: the source's series layout when it has one
            series = every_run(opened, opened.for_series()[args.var], args.scenario)
            subset = processed_block(series, subset, shown, args, opened.id, start, end)
    except SourceError as exc:
        raise SourceError(f"{opened.id}: {exc}") from exc
    as_csv = output.suffix.lower() == ".csv"
    # sizes are known before anything is read: refuse here, not after minutes of reading
    size = tables.long_csv_bytes(subset) if as_csv else subset.size * subset.dtype.itemsize
    shape = " x ".join(f"{subset.sizes[d]} {d}" for d in subset.dims)
    if size > limit_mb * 1e6:
        raise SourceError(
            f"{opened.id}: exporting '{args.var}' ({shape}) would write about "
            f"{megabytes(size)} as {'CSV' if as_csv else 'NetCDF'}, above the limit of "
            f"{limit_mb:g} MB; shrink it with --bbox, --start/--end or one --depth, or raise "
            f"--max-mb (or {EXPORT_LIMIT_ENV})"
        )
    note = ", ".join(
        f"{k}={v}"
        for k, v in (
            ("var", args.var),
            ("bbox", ",".join(f"{x:g}" for x in args.bbox) if args.bbox else None),
            ("start", args.start),
            ("end", args.end),
            ("depth", args.depth),
            ("scenario", args.scenario),
            ("show", None if args.show == "value" else args.show),
            ("reference", subset.attrs.get("reference_period")),
        )
        if v is not None
    )
    try:
        if as_csv:
            rows = tables.write_long_csv(subset, output)
            print(f"wrote {output} ({rows} rows of sea values; {shape})")
        else:
            credit = {"source_attribution": opened.attribution} if opened.attribution else {}
            tables.write_netcdf(
                subset,
                output,
                attrs={**credit, **opened.dataset.attrs},
                history=f"ocean-explorer export of {opened.id}: {note}",
            )
            print(f"wrote {output} ({args.var}: {shape})")
    except OSError as exc:
        raise cannot_write(output, exc) from exc
    return 0


def period_bound(text: str | None, option: str) -> str | None:
    """An ISO time of --start/--end as xarray's time selection reads it (checked here).

    Written back zero-padded and to the second at most ("2025-3-1" -> "2025-03-01"): the
    cftime calendars' parser takes nothing else. Its precision is kept, so "--end 2025-03"
    includes every step of March.
    """
    if text is None:
        return None
    timeaxis.parse_time(text, option)  # the core's one reading of an ISO time, and its error
    match = timeaxis.ISO_TIME.match(text.strip())
    assert match is not None  # parse_time accepted it
    year, *rest = (int(p) for p in match.groups() if p is not None)
    iso = f"{year:04d}" + "".join(
        f"{sep}{value:02d}" for sep, value in zip(("-", "-", "T", ":", ":"), rest, strict=False)
    )
    # an hour alone ("T12") is not ISO 8601 for every parser: read it as HH:00
    return iso + ":00" if len(rest) == 3 else iso


def export_limit_mb(args: argparse.Namespace) -> float:
    """The export limit in MB: ``--max-mb``, else $OCEAN_EXPLORER_EXPORT_LIMIT_MB, else the
    default."""
    if args.max_mb is not None:
        return float(args.max_mb)
    text = os.environ.get(EXPORT_LIMIT_ENV, "").strip()
    if not text:
        return DEFAULT_EXPORT_LIMIT_MB
    try:
        return megabytes_arg(text)
    except argparse.ArgumentTypeError as exc:
        raise SourceError(f"{EXPORT_LIMIT_ENV}='{text}': {exc}") from exc
