"""The ``ocean-explorer`` command line: parse the arguments and run one command.

Any bad input exits with status 2 and one line on stderr, no traceback.

Every command takes ``--catalog FILE`` (default: the built-in demo catalog). SOURCE is a
catalog id, a NetCDF file/glob/directory, a Zarr store, an http(s) OPeNDAP or Zarr URL,
``cmems:DATASET_ID`` or ``stac:ROOT#COLLECTION/ITEM``. Each command is a thin function over
the core (``components.core``) and the adapters (``data_adapters``): the parser lives in
:mod:`.parser`, the commands in :mod:`.catalog_cmds` (datasets, inspect, serve), :mod:`.maps`
(render, compare), :mod:`.animate`, :mod:`.series` (timeseries, export), :mod:`.mhw` (mhw, and
``--show`` on series), :mod:`.search`, :mod:`.prepare` and :mod:`.observe` (validate,
collocate).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from data_adapters import SourceError

from .animate import cmd_animate
from .arguments import negative_values_attached
from .catalog_cmds import cmd_datasets, cmd_inspect, cmd_serve
from .maps import cmd_compare, cmd_render
from .mhw import cmd_mhw
from .observe import cmd_collocate, cmd_validate
from .parser import EXIT_BAD_INPUT, EXPORT_LIMIT_ENV, build_parser
from .prepare import cmd_prepare
from .search import cmd_search
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
    "search": cmd_search,
    "validate": cmd_validate,
    "collocate": cmd_collocate,
    "mhw": cmd_mhw,
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
        status = COMMANDS[args.command](args)
        sys.stdout.flush()
        return status
    except SourceError as exc:
        print(f"ocean-explorer: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader stopped early (``| head``): its choice, not an error to report; stdout
        # goes to /dev/null so that the interpreter's final flush stays quiet
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        adapters_log.setLevel(level)
