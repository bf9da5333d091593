"""The ``ocean-explorer`` command line.

Every command takes ``--catalog FILE`` (default: the built-in demo catalog). SOURCE is a
catalog id, a NetCDF file/glob/directory, a Zarr store, an http(s) OPeNDAP or Zarr URL, or
``cmems:DATASET_ID``. Bad input: exit status 2 and one line on stderr, no traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from data_adapters import Catalog, SourceError, open_source, summarize

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, status 2, like every bad input
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--catalog", metavar="FILE", help="catalog YAML file (default: the built-in demo catalog)"
    )
    parser = _Parser(
        prog="ocean-explorer",
        description="Explore ocean model and observation grids and what-if scenarios.",
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("serve", parents=[common], help="serve the web app")
    p.add_argument("sources", nargs="*", metavar="SOURCE", help="paths/URLs to add for this run")
    p.add_argument("--port", type=int, default=5006, help="port (default 5006)")
    p.add_argument("--address", default="localhost", help="address to listen on")
    p.add_argument(
        "--allow-websocket-origin",
        action="append",
        metavar="HOST[:PORT]",
        help="extra origin allowed to open the app's websocket (default: localhost only)",
    )
    p.add_argument("--show", action="store_true", help="open a browser tab")

    p = sub.add_parser("datasets", parents=[common], help="list the catalog's datasets")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("inspect", parents=[common], help="summarise a source, normalised")
    p.add_argument("source", metavar="SOURCE")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def _catalog(args: argparse.Namespace) -> Catalog:
    return Catalog.load(args.catalog)


def cmd_datasets(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    rows: list[dict[str, Any]] = []
    for entry in catalog.datasets.values():
        row: dict[str, Any] = {
            "id": entry.id,
            "title": entry.title,
            "adapter": entry.adapter,
            "description": entry.description,
            "attribution": entry.attribution,
            "license": entry.license,
        }
        try:
            ds = catalog.open(entry.id).dataset
            row["variables"] = [str(v) for v in ds.data_vars]
            row["scenarios"] = (
                [str(s) for s in ds["scenario"].values] if "scenario" in ds.dims else ["baseline"]
            )
            row["error"] = None
        except SourceError as exc:  # one broken entry must not hide the others
            row.update(variables=[], scenarios=[], error=str(exc))
        rows.append(row)
    groups = [
        {"id": g.id, "title": g.title, "scenario_group": True, "scenarios": g.names}
        for g in catalog.groups.values()
    ]
    if args.json:
        print(json.dumps(rows + groups, indent=2))
        return 0
    for row in rows:
        state = f"ERROR: {row['error']}" if row["error"] else ", ".join(row["variables"])
        print(f"{row['id']:<24} {row['title']}")
        print(f"{'':<24} adapter={row['adapter']}  variables: {state}")
    for g in groups:
        print(f"{g['id']:<24} {g['title']}  (scenario group: {', '.join(g['scenarios'])})")
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    opened = open_source(args.source, catalog)
    summary = summarize(opened.dataset, opened.id, opened.title)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"{summary['title']}  [{summary['id']}]")
    print(f"  grid      {summary['grid']}")
    print("  dims      " + ", ".join(f"{k}={v}" for k, v in summary["dims"].items()))
    w, s, e, n = summary["bbox"]
    print(f"  bbox      W {w:g}  S {s:g}  E {e:g}  N {n:g}")
    if summary["time_range"]:
        print(f"  time      {summary['time_range'][0]} .. {summary['time_range'][1]}", end="")
        print(f"  ({summary['calendar']})")
    if summary["depths"]:
        print("  depths    " + ", ".join(f"{d:g}" for d in summary["depths"]) + " m")
    print("  scenarios " + ", ".join(summary["scenarios"]))
    print("  variables")
    for v in summary["variables"]:
        print(f"    {v['name']:<10} {v['long_name']} [{v['units']}]  ({', '.join(v['dims'])})")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .main import serve

    catalog = _catalog(args)
    for source in args.sources:
        entry = catalog.add_source(source)
        catalog.open(entry.id)  # refuse a bad SOURCE now, not in the first session
    serve(
        catalog,
        port=args.port,
        address=args.address,
        allow_websocket_origin=args.allow_websocket_origin,
        show=args.show,
    )
    return 0


COMMANDS = {"serve": cmd_serve, "datasets": cmd_datasets, "inspect": cmd_inspect}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except SourceError as exc:
        print(f"ocean-explorer: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
