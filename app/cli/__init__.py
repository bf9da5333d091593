"""The ``ocean-explorer`` command line: parse the arguments and run one command.

Any bad input exits with status 2 and one line on stderr, no traceback.

Every command takes ``--catalog FILE`` (default: the built-in demo catalog). SOURCE is a
catalog id, a NetCDF file/glob/directory, a Zarr store, an http(s) OPeNDAP or Zarr URL, or
``cmems:DATASET_ID``. Each command is a thin function over the core (``components.core``)
and the adapters (``data_adapters``): the parser lives in :mod:`.parser`, the commands in
:mod:`.catalog_cmds` (datasets, inspect, serve), :mod:`.maps` (render, compare), :mod:`.animate`,
:mod:`.series` (timeseries, export) and :mod:`.prepare`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from data_adapters import SourceError

from .animate import cmd_animate
from .catalog_cmds import cmd_datasets, cmd_inspect, cmd_serve
from .maps import cmd_compare, cmd_render
from .parser import EXIT_BAD_INPUT, EXPORT_LIMIT_ENV, build_parser, negative_values_attached
from .prepare import cmd_prepare
from .series import cmd_export, cmd_timeseries

__all__ = [
    "COMMANDS",
    "EXIT_BAD_INPUT",
    "EXPORT_LIMIT_ENV",
    "build_parser",
    "main",
    "negative_values_attached",
]

#: Each command's function: arguments in, exit status out.
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "serve": cmd_serve,
    "datasets": cmd_datasets,
    "inspect": cmd_inspect,
    "render": cmd_render,
    "compare": cmd_compare,
    "animate": cmd_animate,
    "timeseries": cmd_timeseries,
    "export": cmd_export,
    "prepare": cmd_prepare,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(
        negative_values_attached(sys.argv[1:] if argv is None else argv)
    )
    adapters_log = logging.getLogger("data_adapters")
    level = adapters_log.level
    if args.command != "serve":
        # a one-shot command says what went wrong in its one error line; the adapters'
        # structured log lines (retries, failures) are for a server's log
        adapters_log.setLevel(logging.ERROR)
    try:
        return COMMANDS[args.command](args)
    except SourceError as exc:
        print(f"ocean-explorer: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    finally:
        adapters_log.setLevel(level)
