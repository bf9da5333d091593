"""The commands for a user's own data: ``validate`` a file, ``collocate`` observations with a model.

``validate`` runs the checks an upload to the app passes (content by magic bytes, zip
entries, opening in a separate limited process); ``collocate`` matches point observations
with a model and writes the pairs and their statistics.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import tempfile

from components.core import collocate, fields, tables
from data_adapters import SourceError, open_source, same_units
from data_adapters.observations import read_observations
from data_adapters.uploads import check_file, display_name

from .common import cannot_write, every_run, output_file
from .common import catalog as load_catalog


def cmd_validate(args: argparse.Namespace) -> int:
    """Check a file as an upload is checked; print what it holds (exit 0) or why not (2)."""
    with tempfile.TemporaryDirectory(prefix="ocean-explorer-validate-") as workdir:
        checked = check_file(args.file, workdir=workdir)
    if args.json:
        print(json.dumps({"kind": checked.kind, **checked.summary}, default=str))
    else:
        print(checked.line(display_name(None, pathlib.Path(args.file))))
    return 0


def cmd_collocate(args: argparse.Namespace) -> int:
    """Match observations with a model; print the statistics, write the pairs and JSON."""
    output = output_file(args.output, (".csv",), "CSV") if args.output else None
    stats_file = output_file(args.stats, (".json",), "JSON") if args.stats else None
    obs = read_observations(args.observations)
    opened = open_source(args.source, load_catalog(args))
    fields.variable(opened.dataset, args.var, opened.id)  # a clear error for an unknown one
    da = every_run(opened, opened.for_series()[args.var], args.scenario)
    column = collocate.observed_variable(obs, args.var, args.obs_var)
    model_units, obs_units = da.attrs.get("units", ""), obs.units.get(column, "")
    if model_units and obs_units and not same_units(model_units, obs_units):
        print(
            f"ocean-explorer: note: the observations are in {obs_units}, '{args.var}' in "
            f"{model_units}; the differences mix them",
            file=sys.stderr,
        )
    try:
        maps = every_run(opened, opened.dataset[args.var], args.scenario)  # the sea mask's map
        pairs = collocate.collocate(obs, da, column, args.scenario, args.time_match, maps)
    except SourceError as exc:
        raise SourceError(f"{opened.id}: {exc}") from exc
    if args.scenario == fields.ALL_SCENARIOS:
        stats: dict = {
            run: collocate.statistics(pairs[pairs["scenario"] == run]).as_dict()
            for run in pairs["scenario"].unique()
        }
    else:
        stats = collocate.statistics(pairs).as_dict()
    for run, values in stats.items() if args.scenario == fields.ALL_SCENARIOS else [("", stats)]:
        text = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items()
        )
        print(f"{run + ': ' if run else ''}{column} vs {args.var} ({model_units}): {text}")
    try:
        if output is not None:
            tables.write_pairs_csv(pairs, output)
            print(f"wrote {output} ({len(pairs)} rows)")
        if stats_file is not None:
            stats_file.write_text(json.dumps(stats, indent=1) + "\n", encoding="utf-8")
            print(f"wrote {stats_file}")
    except OSError as exc:
        raise cannot_write(output if output is not None else stats_file, exc) from exc
    return 0
