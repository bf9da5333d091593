"""The catalog commands: ``datasets``, ``inspect`` and ``serve``.

``datasets`` lists the catalog, ``inspect`` summarises a source, ``serve`` starts the web app
over the catalog.

The app (Panel, Bokeh) is imported inside ``serve`` alone: the other commands never load it.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import pathlib
import signal
from typing import Any

from components.core import derived, fields
from data_adapters import SourceError, summarize

from .common import catalog as load_catalog
from .common import opened_source


def cmd_datasets(args: argparse.Namespace) -> int:
    """Print the catalog's datasets (and scenario groups), their variables and runs."""
    catalog = load_catalog(args)
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
            ds = derived.with_derived(catalog.open(entry.id).dataset)
            row["variables"] = [str(v) for v in ds.data_vars]
            row["scenarios"] = fields.scenario_labels(ds)
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
    """Print the normalised summary of a source: grid, extent, times, depths, runs, variables."""
    opened = opened_source(args)
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
    if summary["vertical"]:
        print("  depths    " + _depths_text(summary["vertical"]))
    print("  scenarios " + ", ".join(summary["scenarios"]))
    print("  variables")
    for v in summary["variables"]:
        print(f"    {v['name']:<10} {v['long_name']} [{v['units']}]  ({', '.join(v['dims'])})")
    return 0


def _depths_text(vertical: dict[str, Any]) -> str:
    """``0.5, 10, 100 m``; ``level 0 (s-coordinate) .. level 34 (each cell's depth in m
    computed)``; then the notice of an axis kept as levels."""
    labels = vertical["labels"]
    if vertical["kind"] == "levels":
        text = labels[0] + (f" .. {labels[-1].split(' (')[0]}" if len(labels) > 1 else "")
        if vertical["true_depths"]:
            text += "; each cell's depth in m computed (--depth in metres interpolates)"
    else:
        units = labels[0].split(" ", 1)[1]
        text = ", ".join(label.split(" ", 1)[0] for label in labels) + f" {units}"
    return text + (f"  [note: {vertical['notice']}]" if vertical["notice"] else "")


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the web app over the catalog (and the SOURCEs added for this run)."""
    from app.main import read_basic_auth, serve  # Panel and Bokeh: only a server loads them

    # `kill -USR1 <pid>` prints every thread's stack to the log: what a stuck server waits on
    faulthandler.register(signal.SIGUSR1, all_threads=True)

    catalog = load_catalog(args)
    for source in args.sources:
        entry = catalog.add_source(source)
        catalog.open(entry.id)  # refuse a bad SOURCE now, not in the first session
    logins = None
    if args.basic_auth:
        if not pathlib.Path(args.basic_auth).is_file():
            raise SourceError(f"--basic-auth {args.basic_auth}: no such file; create it first")
        try:
            logins = read_basic_auth(args.basic_auth)
        except (ValueError, UnicodeDecodeError) as exc:
            raise SourceError(f"--basic-auth {args.basic_auth}: {exc}") from exc
    if args.num_procs < 0:
        raise SourceError(f"--num-procs {args.num_procs}: give 0 (one per core) or more")
    extra = None
    if args.oauth_extra_params:
        try:
            extra = json.loads(args.oauth_extra_params)
        except ValueError as exc:
            raise SourceError(f"--oauth-extra-params is not a JSON object ({exc})") from exc
    serve(
        catalog,
        port=args.port,
        address=args.address,
        allow_websocket_origin=args.allow_websocket_origin,
        show=args.show,
        prefix=args.prefix,
        num_procs=args.num_procs,
        num_threads=args.num_threads,
        session_expiry_s=args.session_expiry,
        basic_auth=logins,
        dask_scheduler=args.dask_scheduler,
        upload_max_mb=args.upload_max_mb,
        map_tiles=args.map_tiles,
        use_xheaders=args.use_xheaders or None,
        oauth_provider=args.oauth_provider,
        oauth_key=args.oauth_key,
        oauth_secret=args.oauth_secret,
        oauth_redirect_uri=args.oauth_redirect_uri,
        oauth_extra_params=extra,
        oauth_encryption_key=args.oauth_encryption_key,
        cookie_secret=args.cookie_secret,
    )
    return 0
