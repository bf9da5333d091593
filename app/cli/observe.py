"""The commands for a user's own data: ``validate`` a file, ``collocate`` observations with a model.

``validate`` runs the checks an upload to the app passes (content by magic bytes, zip
entries, opening in a separate limited process); ``collocate`` matches point observations
with a model and writes the pairs and their statistics.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import tempfile

from data_adapters.uploads import check_file, display_name


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
    """Match observations with a model; print the statistics, write pairs and JSON."""
    raise NotImplementedError
