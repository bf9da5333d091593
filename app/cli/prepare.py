"""The ``prepare`` command: a source written as a Zarr store for both maps and series.

The store holds the data time-chunked and geo-chunked (``data_adapters.layouts``).
"""

from __future__ import annotations

import argparse
import sys

from components.core import fields
from components.core.climatology import parse_reference
from components.core.processing import source_stamp
from components.core.shown_maps import write_climatology
from data_adapters import SourceError, open_source
from data_adapters.layouts import MAPS_GROUP, SERIES_GROUP, check_output, write_prepared

from .common import catalog as load_catalog
from .common import megabytes


def cmd_prepare(args: argparse.Namespace) -> int:
    """Write SOURCE (or its ``--var`` variables) as a prepared Zarr store; progress on stderr,
    the store's layouts and sizes on stdout."""
    if args.out is None and args.climatology is None:
        raise SourceError("prepare needs --out STORE, --climatology START/END, or both")
    reference = parse_reference(args.climatology) if args.climatology else None
    out = check_output(args.out, args.overwrite) if args.out else None  # before any read
    opened = open_source(args.source, load_catalog(args))
    ds = opened.dataset
    if args.variables:
        names = list(dict.fromkeys(args.variables))
        for name in names:
            fields.variable(ds, name, opened.id)  # an unknown name is refused with the known ones
        ds = ds[names]

    def say(line: str) -> None:
        print(f"ocean-explorer: {line}", file=sys.stderr, flush=True)

    if reference is not None:
        for name in args.variables or list(ds.data_vars):
            if "time" not in ds[name].dims:
                continue
            try:
                write_climatology(ds, name, reference, source_stamp(opened.id), progress=say)
            except SourceError as exc:  # a monthly variable beside daily ones
                say(f"{name}: no climatology written ({exc})")
                continue
            print(f"wrote the {reference.label} climatology of {name} to the cache")
    if out is None:
        return 0
    result = write_prepared(
        ds, out, overwrite=args.overwrite, memory_mb=args.memory_mb, progress=say
    )
    total = sum(result.bytes_on_disk.values())
    print(f"wrote {result.path} ({megabytes(total)} on disk) in {result.seconds:.1f} s")
    for layout in (MAPS_GROUP, SERIES_GROUP):
        print(f"  {layout:<6} {megabytes(result.bytes_on_disk[layout])}")
        for name, chunks in result.layouts[layout].items():
            shape = " x ".join(f"{n} {d}" for d, n in chunks.items())
            print(f"    {name:<10} chunks of {shape}")
    return 0
