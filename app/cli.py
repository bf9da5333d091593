"""The ``ocean-explorer`` command line.

Every command takes ``--catalog FILE`` (default: the built-in demo catalog). SOURCE is a
catalog id, a NetCDF file/glob/directory, a Zarr store, an http(s) OPeNDAP or Zarr URL, or
``cmems:DATASET_ID``. Bad input: exit status 2 and one line on stderr, no traceback.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import pathlib
import re
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

    p = sub.add_parser(
        "render",
        parents=[common],
        help="write a PNG map of one field, through the app's renderer",
        description="Write a PNG of one field (title, colour bar and coastline; or, with "
        "--bare, only the map raster) through the renderer the dashboard uses.",
    )
    # Values such as "-70,25,-10,65" are values, not options: newer Pythons (3.13+) read any
    # "-<digit>..." word so; this parser does on every Python (e.g. --bbox -70,25,-10,65).
    p._negative_number_matcher = re.compile(r"^-\.?\d")
    p.add_argument("source", metavar="SOURCE", help="catalog id, path or URL")
    p.add_argument("--var", required=True, metavar="V", help="data variable, e.g. thetao")
    p.add_argument(
        "--time", metavar="ISO", help="time, e.g. 2025-03-10T12:00; the nearest step is used"
    )
    p.add_argument(
        "--depth",
        type=float,
        metavar="M",
        help="depth in metres, positive down; the nearest level is used (default: the top)",
    )
    p.add_argument("--scenario", metavar="S", help="scenario run (default: the baseline)")
    p.add_argument(
        "--bbox",
        type=_bbox_arg,
        metavar="W,S,E,N",
        help="extent in degrees; W > E crosses the dateline (default: the data's extent)",
    )
    p.add_argument("--width", type=_pixels_arg, default=800, help="map width, px (default 800)")
    p.add_argument("--height", type=_pixels_arg, default=450, help="map height, px (default 450)")
    p.add_argument("--cmap", metavar="NAME", help="cmocean colormap (default: by variable)")
    p.add_argument(
        "--clim",
        type=_clim_arg,
        metavar="LO,HI",
        help="colour range (default: robust range of the map; symmetric for diverging maps)",
    )
    p.add_argument(
        "--bare",
        action="store_true",
        help="only the map raster: exactly WIDTH x HEIGHT, RGBA, land and no-data transparent",
    )
    p.add_argument(
        "--crs",
        type=str.upper,
        choices=RENDER_CRSES,
        default=RENDER_CRSES[0],
        help="map projection: EPSG:4326 (longitude/latitude, default) or EPSG:3857",
    )
    p.add_argument("-o", "--output", required=True, metavar="OUT.png", help="PNG file to write")
    return parser


#: --crs choices: components.render's LONLAT and WEB_MERCATOR (not imported here: the
#: renderer's imports are slow and only ``render`` needs them).
RENDER_CRSES = ("EPSG:4326", "EPSG:3857")
#: Largest image side (px) the renderer accepts.
MAX_PIXELS = 8192


def _numbers(text: str, count: int, what: str) -> list[float]:
    parts = [p.strip() for p in text.split(",")]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != count or not all(map(_finite, values)):
        raise argparse.ArgumentTypeError(f"expected {what}, got '{text}'")
    return values


def _finite(value: float) -> bool:
    return value - value == 0.0  # False for inf and nan


def _bbox_arg(text: str) -> tuple[float, float, float, float]:
    west, south, east, north = _numbers(text, 4, "W,S,E,N in degrees, e.g. -70,25,-10,65")
    for name, value in (("W", west), ("E", east)):
        if not -180.0 <= value <= 180.0:
            raise argparse.ArgumentTypeError(f"{name}={value:g} is not a longitude in [-180, 180]")
    for name, value in (("S", south), ("N", north)):
        if not -90.0 <= value <= 90.0:
            raise argparse.ArgumentTypeError(f"{name}={value:g} is not a latitude in [-90, 90]")
    if south >= north:
        raise argparse.ArgumentTypeError(f"S must be below N (got S={south:g}, N={north:g})")
    if west == east or (west, east) == (180.0, -180.0):
        raise argparse.ArgumentTypeError(f"W and E must differ (got {west:g}, {east:g})")
    return west, south, east, north


def _clim_arg(text: str) -> tuple[float, float]:
    low, high = _numbers(text, 2, "LO,HI, e.g. -2,2")
    if low >= high:
        raise argparse.ArgumentTypeError(f"LO must be below HI (got {low:g}, {high:g})")
    return low, high


def _pixels_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_PIXELS:
        raise argparse.ArgumentTypeError(f"expected pixels from 1 to {MAX_PIXELS}, got '{text}'")
    return value


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


#: ISO 8601 date and time, to the second at most ("2025-03-10", "2025-03-10T13:00", "...Z").
_ISO_TIME = re.compile(
    r"^(\d{4})-(\d{1,2})(?:-(\d{1,2})(?:[T ](\d{1,2})(?::(\d{2})(?::(\d{2})(?:\.\d*)?)?)?)?)?Z?$"
)


def _nearest_time(times: Any, text: str, where: str) -> int:
    """Index of the time step nearest ``text`` (datetime64 or cftime axis)."""
    match = _ISO_TIME.match(text.strip())
    if not match:
        raise SourceError(f"--time '{text}' is not an ISO time; use e.g. 2025-03-10T12:00")
    parts = [int(p) if p else d for p, d in zip(match.groups(), (0, 1, 1, 0, 0, 0), strict=True)]
    values = times.values
    try:
        if values.dtype.kind == "M":
            import numpy as np

            # in seconds: nanoseconds overflow outside 1678-2262 and pick a wrong step
            wanted = np.datetime64(datetime.datetime(*parts), "s")
            return int(np.argmin(np.abs(values.astype("datetime64[s]") - wanted)))
        import cftime

        wanted = cftime.datetime(*parts, calendar=values[0].calendar)
        return min(range(len(values)), key=lambda i: abs(values[i] - wanted))
    except (ValueError, OverflowError) as exc:
        raise SourceError(f"--time '{text}' is not a date of {where}'s calendar ({exc})") from exc


def _render_choice(opened: Any, args: argparse.Namespace) -> tuple[Any, dict[str, str]]:
    """The lazy 2-D field of SOURCE for the options, and the labels of what was chosen."""
    import numpy as np

    from components.state import time_label
    from data_adapters.errors import did_you_mean

    ds = opened.dataset
    names = [str(v) for v in ds.data_vars]
    if args.var not in names:
        raise SourceError(
            f"{opened.id}: no variable '{args.var}'{did_you_mean(args.var, names)}; "
            f"it has: {', '.join(names)}"
        )
    da = ds[args.var]
    chosen = {"variable": args.var}
    # the source's runs; a variable stored once beside them (no scenario dim) is every run's
    scenarios = [str(s) for s in ds["scenario"].values] if "scenario" in ds.dims else []
    if scenarios:
        scenario = args.scenario or scenarios[0]
        if scenario not in scenarios:
            raise SourceError(
                f"{opened.id}: no scenario '{scenario}'{did_you_mean(scenario, scenarios)}; "
                f"it has: {', '.join(scenarios)}"
            )
        if "scenario" in da.dims:
            da = da.isel(scenario=scenarios.index(scenario))
    elif args.scenario not in (None, "baseline"):
        raise SourceError(f"{opened.id}: has no scenarios (one run, 'baseline'); drop --scenario")
    else:
        scenario = "baseline"
    if "time" in da.dims:
        index = _nearest_time(da["time"], args.time, opened.id) if args.time else 0
        da = da.isel(time=index)
    if "time" in da.coords:
        chosen["time"] = time_label(da["time"].values[()])  # a scalar: cftime or datetime64
    if "depth" in da.dims:
        if args.depth is not None and args.depth < 0:
            raise SourceError(f"--depth {args.depth:g}: depth is in metres, positive down")
        depths = np.asarray(da["depth"].values, dtype=float)
        index = int(np.argmin(np.abs(depths - args.depth))) if args.depth is not None else 0
        da = da.isel(depth=index)
    if "depth" in da.coords:
        chosen["depth"] = f"{float(da['depth']):g} m"
    chosen["scenario"] = scenario
    if "member" in da.dims:
        chosen["member"] = str(da["member"].values[0])
        da = da.isel(member=0)
    if da.ndim != 2:
        raise SourceError(f"{opened.id}: '{args.var}' is not a map (dims: {', '.join(da.dims)})")
    return da, chosen


def cmd_render(args: argparse.Namespace) -> int:
    import numpy as np

    from components.colors import default_cmap, is_diverging, robust_range
    from components.export import ColourScale, colormap_names, write_bare_png, write_map_png
    from components.render import (
        MERCATOR_MAX_LAT,
        WEB_MERCATOR,
        Viewport,
        full_extent,
        render_field,
    )
    from data_adapters.errors import did_you_mean

    output = pathlib.Path(args.output)
    if output.suffix.lower() != ".png":
        raise SourceError(f"-o {output}: the output is a PNG; name it something.png")
    if not output.parent.is_dir():
        raise SourceError(f"-o {output}: no directory {output.parent}; create it first")
    if args.cmap is not None:
        names = colormap_names()
        if args.cmap not in names:
            raise SourceError(
                f"--cmap '{args.cmap}' is not a cmocean colormap{did_you_mean(args.cmap, names)}; "
                "e.g. thermal, haline, balance, algae, deep (reversed: add _r)"
            )
    opened = open_source(args.source, _catalog(args))
    field, chosen = _render_choice(opened, args)
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
    frame = render_field(field, viewport)
    if not np.isfinite(frame.values).any():
        warning = "ocean-explorer: warning: no data in this extent (land, or outside the data)"
        print(warning, file=sys.stderr)
    cmap = args.cmap or default_cmap(field)
    # "balance_r" is as diverging as "balance"
    clim = args.clim or robust_range(frame.values, symmetric=is_diverging(cmap.split("_")[0]))
    scale = ColourScale(cmap, clim)
    long_name = str(field.attrs.get("long_name") or args.var)
    units = str(field.attrs.get("units") or "")
    label = f"{long_name} [{units}]" if units else long_name
    details = [label, *(chosen[k] for k in ("scenario", "member", "time", "depth") if k in chosen)]
    metadata = {
        "Title": f"{opened.title}: " + ", ".join(details),
        "Source": opened.id + (f" ({opened.attribution})" if opened.attribution else ""),
        "Software": "ocean-explorer render",
    }
    try:
        if args.bare:
            write_bare_png(frame, output, scale, metadata)
        else:
            title = f"{opened.title}\n" + ", ".join(details)
            write_map_png(frame, output, scale, title, label, metadata)
    except OSError as exc:
        raise SourceError(f"-o {output}: cannot write ({exc.strerror or exc})") from exc
    used = [chosen[k] for k in ("variable", "time", "depth", "scenario", "member") if k in chosen]
    print(f"wrote {output} ({', '.join(used)})")
    return 0


COMMANDS = {
    "serve": cmd_serve,
    "datasets": cmd_datasets,
    "inspect": cmd_inspect,
    "render": cmd_render,
}


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
