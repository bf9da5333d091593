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

from components.core import comparison, fields, probes, regions, tables
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
    p.add_argument(
        "--prefix", metavar="P", help="serve under /P/ (behind a reverse proxy at that path)"
    )
    p.add_argument(
        "--num-procs", type=int, default=1, metavar="N", help="server processes (0: one per core)"
    )
    p.add_argument(
        "--num-threads",
        type=int,
        default=4,
        metavar="N",
        help="threads that handle browser events (default 4; 0: all on the event loop)",
    )
    p.add_argument(
        "--session-expiry",
        type=float,
        default=15.0,
        metavar="S",
        help="seconds after a page closes before its session is dropped (default 15)",
    )
    p.add_argument(
        "--basic-auth",
        metavar="FILE",
        help="require a password: FILE holds it, or user:password lines (Panel's basic auth)",
    )
    p.add_argument(
        "--dask-scheduler",
        metavar="ADDR",
        help="send dask work to this distributed scheduler (tcp://host:8786), or 'local' "
        "for a cluster of worker processes here",
    )
    p.add_argument(
        "--use-xheaders",
        action="store_true",
        help="trust X-Forwarded-* headers from a reverse proxy (the client's address, https)",
    )
    oauth = p.add_argument_group("OAuth (passed to Panel; see its authentication docs)")
    oauth.add_argument("--oauth-provider", metavar="NAME", help="e.g. github, google, azure")
    oauth.add_argument("--oauth-key", metavar="KEY", help="client id (or $PANEL_OAUTH_KEY)")
    oauth.add_argument("--oauth-secret", metavar="S", help="client secret ($PANEL_OAUTH_SECRET)")
    oauth.add_argument("--oauth-redirect-uri", metavar="URI", help="the app's callback URL")
    oauth.add_argument(
        "--oauth-extra-params", metavar="JSON", help="provider parameters as a JSON object"
    )
    oauth.add_argument(
        "--oauth-encryption-key", metavar="KEY", help="key that encrypts the OAuth cookies"
    )
    oauth.add_argument("--cookie-secret", metavar="S", help="secret that signs the cookies")

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
    _add_map_options(
        p, cmap="by variable", clim="robust range of the map; symmetric for diverging maps"
    )
    p.add_argument("-o", "--output", required=True, metavar="OUT.png", help="PNG file to write")

    _add_compare_parser(sub, common)

    p = sub.add_parser(
        "timeseries",
        parents=[common],
        help="write the time series at a point as CSV",
        description="Print (or write) the time series of one variable at the grid cell nearest "
        "a point, as CSV; a point on land moves to the nearest sea cell. The first line names "
        "the cell used.",
    )
    p.add_argument("source", metavar="SOURCE", help="catalog id, path or URL")
    p.add_argument("--var", required=True, metavar="V", help="data variable, e.g. thetao")
    p.add_argument("--lon", required=True, type=_lon_arg, metavar="X", help="longitude, degrees")
    p.add_argument("--lat", required=True, type=_lat_arg, metavar="Y", help="latitude, degrees")
    p.add_argument(
        "--depth",
        type=float,
        metavar="M",
        help="depth in metres, positive down; the nearest level is used (default: the top)",
    )
    p.add_argument(
        "--scenario",
        metavar="S|all",
        help="scenario run (default: the baseline); 'all': one column per run",
    )
    p.add_argument("--start", metavar="ISO", help="first time, e.g. 2025-03-01 (included)")
    p.add_argument("--end", metavar="ISO", help="last time, e.g. 2025-03-31 (included)")
    p.add_argument("-o", "--output", metavar="OUT.csv", help="CSV file to write (default: stdout)")

    p = sub.add_parser(
        "export",
        parents=[common],
        help="write a subset of one variable as NetCDF or CSV",
        description="Write a subset (box, period, depth, scenario) of one variable as NetCDF "
        "(with its attributes and CF coordinates) or as long-format CSV "
        "(time,[depth,]lat,lon,value; land left out). Requests above --max-mb are refused "
        "before anything is read.",
    )
    p.add_argument("source", metavar="SOURCE", help="catalog id, path or URL")
    p.add_argument("--var", required=True, metavar="V", help="data variable, e.g. thetao")
    p.add_argument(
        "--bbox",
        type=_bbox_arg,
        metavar="W,S,E,N",
        help="box in degrees; W > E crosses the dateline (default: the whole grid)",
    )
    p.add_argument("--start", metavar="ISO", help="first time, e.g. 2025-03-01 (included)")
    p.add_argument("--end", metavar="ISO", help="last time, e.g. 2025-03-31 (included)")
    p.add_argument(
        "--depth",
        type=float,
        metavar="M",
        help="depth in metres, positive down; the nearest level (default: every level)",
    )
    p.add_argument("--scenario", metavar="S", help="scenario run (default: the baseline)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.nc|OUT.csv", help="file to write")
    p.add_argument(
        "--max-mb",
        type=_megabytes_arg,
        metavar="MB",
        help=f"largest export in MB (default: ${EXPORT_LIMIT_ENV} or {DEFAULT_EXPORT_LIMIT_MB:g})",
    )
    _add_prepare_parser(sub, common)
    return parser


def _add_map_options(p: argparse.ArgumentParser, cmap: str, clim: str) -> None:
    """The PNG options ``render`` and ``compare`` share (size, colour, bare, projection)."""
    p.add_argument("--width", type=_pixels_arg, default=800, help="map width, px (default 800)")
    p.add_argument("--height", type=_pixels_arg, default=450, help="map height, px (default 450)")
    p.add_argument("--cmap", metavar="NAME", help=f"cmocean colormap (default: {cmap})")
    p.add_argument(
        "--clim", type=_clim_arg, metavar="LO,HI", help=f"colour range (default: {clim})"
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


def _add_compare_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """The ``compare`` command's arguments."""
    p = sub.add_parser(
        "compare",
        parents=[common],
        help="write a PNG map (and statistics) of a scenario's change from a baseline",
        description="Write a PNG of the change from a baseline run to a what-if run (scenario "
        "minus baseline, or the relative change in percent) through the renderer the "
        "dashboard uses, on a diverging colormap centred on zero; with --stats, its "
        "area-weighted statistics over the sea cells of the box as JSON. A (--baseline) "
        "and B (--scenario) are runs of SOURCE, or paths, URLs or catalog ids of other "
        "sources with one run (regridded onto the baseline's grid when on another regular "
        "grid).",
    )
    p.add_argument("source", metavar="SOURCE", help="catalog id, path or URL")
    p.add_argument("--var", required=True, metavar="V", help="data variable, e.g. thetao")
    p.add_argument(
        "--baseline",
        metavar="A",
        help="baseline: a run of SOURCE, or another source (default: SOURCE's first run)",
    )
    p.add_argument(
        "--scenario",
        required=True,
        metavar="B",
        help="what-if run: a run of SOURCE, or another source's path, URL or catalog id",
    )
    p.add_argument(
        "--time", metavar="ISO", help="time, e.g. 2025-07-24; the nearest step (default: the first)"
    )
    p.add_argument(
        "--depth",
        type=float,
        metavar="M",
        help="depth in metres, positive down; the nearest level is used (default: the top)",
    )
    p.add_argument(
        "--bbox",
        type=_bbox_arg,
        metavar="W,S,E,N",
        help="box in degrees for the map and the statistics; W > E crosses the dateline "
        "(default: the whole grid)",
    )
    p.add_argument(
        "--mode",
        choices=CHANGE_MODES,
        default=CHANGE_MODES[0],
        help="diff: scenario minus baseline, in the variable's units (default); pct: relative "
        "change in percent of the baseline",
    )
    p.add_argument(
        "--threshold",
        type=_threshold_arg,
        default=0.0,
        metavar="T",
        help="changes of magnitude above T count as exceeding in the statistics (units of the "
        "change; default 0)",
    )
    _add_map_options(
        p, cmap="balance for diff, diff for pct", clim="symmetric about zero, ±max |change| in view"
    )
    p.add_argument("-o", "--output", required=True, metavar="OUT.png", help="PNG file to write")
    p.add_argument("--stats", metavar="OUT.json", help="also write the statistics as JSON")


#: --crs choices: components.render's LONLAT and WEB_MERCATOR (not imported here: the
#: renderer's imports are slow and only ``render`` needs them).
RENDER_CRSES = ("EPSG:4326", "EPSG:3857")
#: ``compare --mode`` choices: components.compare's CHANGE_MODES (not imported here either).
CHANGE_MODES = ("diff", "pct")
#: The minus sign (U+2212) of change titles: "warming_1p5 MINUS baseline".
MINUS = "\u2212"
#: Largest image side (px) the renderer accepts.
MAX_PIXELS = 8192
#: Largest ``export`` (MB = 10**6 bytes of values, before compression) unless told otherwise.
DEFAULT_EXPORT_LIMIT_MB = 500.0
#: Environment variable that sets the export limit (MB) for every run.
EXPORT_LIMIT_ENV = "OCEAN_EXPLORER_EXPORT_LIMIT_MB"


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


def _lon_arg(text: str) -> float:
    (lon,) = _numbers(text, 1, "a longitude in degrees, e.g. -30.5")
    if not -180.0 <= lon <= 360.0:
        raise argparse.ArgumentTypeError(f"{lon:g} is not a longitude in [-180, 360]")
    return (lon + 180.0) % 360.0 - 180.0


def _lat_arg(text: str) -> float:
    (lat,) = _numbers(text, 1, "a latitude in degrees, e.g. 20.25")
    if not -90.0 <= lat <= 90.0:
        raise argparse.ArgumentTypeError(f"{lat:g} is not a latitude in [-90, 90]")
    return lat


def _megabytes_arg(text: str) -> float:
    (mb,) = _numbers(text, 1, "megabytes, e.g. 500")
    if mb <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive size in MB, got '{text}'")
    return mb


def _clim_arg(text: str) -> tuple[float, float]:
    low, high = _numbers(text, 2, "LO,HI, e.g. -2,2")
    if low >= high:
        raise argparse.ArgumentTypeError(f"LO must be below HI (got {low:g}, {high:g})")
    return low, high


def _threshold_arg(text: str) -> float:
    (value,) = _numbers(text, 1, "a threshold, e.g. 0.5")
    if value < 0:
        raise argparse.ArgumentTypeError(f"the threshold is a magnitude: 0 or more, got '{text}'")
    return value


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
    import faulthandler
    import signal

    from .main import serve

    # `kill -USR1 <pid>` prints every thread's stack to the log: what a stuck server waits on
    faulthandler.register(signal.SIGUSR1, all_threads=True)

    catalog = _catalog(args)
    for source in args.sources:
        entry = catalog.add_source(source)
        catalog.open(entry.id)  # refuse a bad SOURCE now, not in the first session
    logins = None
    if args.basic_auth:
        from .main import read_basic_auth

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


def _variable(opened: Any, name: str) -> Any:
    """The lazy variable ``name`` of an opened source, or a SourceError naming its variables."""
    from data_adapters.errors import did_you_mean

    names = [str(v) for v in opened.dataset.data_vars]
    if name not in names:
        raise SourceError(
            f"{opened.id}: no variable '{name}'{did_you_mean(name, names)}; "
            f"it has: {', '.join(names)}"
        )
    return opened.dataset[name]


def _at_time_and_depth(
    da: Any, time: str | None, depth: float | None, where: str, chosen: dict[str, str]
) -> tuple[Any, dict[str, str]]:
    """``da`` (lazy) at the step nearest ``time`` (default: the first) and the level nearest
    ``depth`` (default: the top), and ``chosen`` with the labels of both added."""
    import numpy as np

    from components.core.timeaxis import time_label

    chosen = dict(chosen)
    if "time" in da.dims:
        index = _nearest_time(da["time"], time, where) if time else 0
        da = da.isel(time=index)
    if "time" in da.coords:
        chosen["time"] = time_label(da["time"].values[()])  # a scalar: cftime or datetime64
    if "depth" in da.dims:
        if depth is not None and depth < 0:
            raise SourceError(f"--depth {depth:g}: depth is in metres, positive down")
        depths = np.asarray(da["depth"].values, dtype=float)
        index = int(np.argmin(np.abs(depths - depth))) if depth is not None else 0
        da = da.isel(depth=index)
    if "depth" in da.coords:
        chosen["depth"] = f"{float(da['depth']):g} m"
    return da, chosen


def _render_choice(opened: Any, args: argparse.Namespace) -> tuple[Any, dict[str, str]]:
    """The lazy 2-D field of SOURCE for the options, and the labels of what was chosen."""
    from data_adapters.errors import did_you_mean

    ds = opened.dataset
    da = _variable(opened, args.var)
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
    da, chosen = _at_time_and_depth(da, args.time, args.depth, opened.id, chosen)
    chosen["scenario"] = scenario
    if "member" in da.dims:
        chosen["member"] = str(da["member"].values[0])
        da = da.isel(member=0)
    if da.ndim != 2:
        raise SourceError(f"{opened.id}: '{args.var}' is not a map (dims: {', '.join(da.dims)})")
    return da, chosen


def _png_output(args: argparse.Namespace) -> pathlib.Path:
    """The PNG to write, and ``--cmap`` checked, before any source is opened."""
    from components.core.png import colormap_names
    from data_adapters.errors import did_you_mean

    output = _output_file(args.output, (".png",), "a PNG")
    if args.cmap is not None:
        names = colormap_names()
        if args.cmap not in names:
            raise SourceError(
                f"--cmap '{args.cmap}' is not a cmocean colormap{did_you_mean(args.cmap, names)}; "
                "e.g. thermal, haline, balance, algae, deep (reversed: add _r)"
            )
    return output


def _map_frame(field: Any, args: argparse.Namespace, pyramid: Any = None) -> Any:
    """``field`` rendered into the viewport of ``--bbox`` (default: the data's extent),
    ``--width``, ``--height`` and ``--crs``: the frame a PNG shows. With the ``pyramid`` of
    the source it is a slice of, through that pyramid's levels, as the dashboard renders it."""
    import numpy as np

    from components.core.frames import full_extent, pyramid_for, render_field
    from components.core.geography import MERCATOR_MAX_LAT, WEB_MERCATOR, Viewport

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
    frame = render_field(pyramid_for(field, pyramid), viewport)
    if not np.isfinite(frame.values).any():
        warning = "ocean-explorer: warning: no data in this extent (land, or outside the data)"
        print(warning, file=sys.stderr)
    return frame


def _write_png(
    frame: Any,
    output: pathlib.Path,
    scale: Any,
    title: str,
    label: str,
    metadata: dict[str, str],
    bare: bool,
) -> None:
    """Write ``frame`` as the bare raster or as the decorated map (title, colour bar)."""
    from components.core.png import write_bare_png, write_map_png

    try:
        if bare:
            write_bare_png(frame, output, scale, metadata)
        else:
            write_map_png(frame, output, scale, title, label, metadata)
    except OSError as exc:
        raise SourceError(f"-o {output}: cannot write ({exc.strerror or exc})") from exc


def _source_credit(opened: Any) -> str:
    return opened.id + (f" ({opened.attribution})" if opened.attribution else "")


def cmd_render(args: argparse.Namespace) -> int:
    from components.core.colours import default_cmap, is_diverging, robust_range
    from components.core.png import ColourScale

    output = _png_output(args)
    opened = open_source(args.source, _catalog(args))
    field, chosen = _render_choice(opened, args)
    frame = _map_frame(field, args, opened.pyramid)
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
        "Source": _source_credit(opened),
        "Software": "ocean-explorer render",
    }
    title = f"{opened.title}\n" + ", ".join(details)
    _write_png(frame, output, scale, title, label, metadata, args.bare)
    used = [chosen[k] for k in ("variable", "time", "depth", "scenario", "member") if k in chosen]
    print(f"wrote {output} ({', '.join(used)})")
    return 0


# -- compare --------------------------------------------------------------------------------
def _looks_like_source(text: str) -> bool:
    """True for what names a path, glob or URL rather than a run's label."""
    import os

    return os.path.exists(text) or any(c in text for c in "/\\:.*?[")


def _run_label(text: str, taken: set[str]) -> str:
    """A short name for a run from another source: its file name (or the text as given)."""
    name = pathlib.PurePosixPath(text.rstrip("/")).name or text
    return name if name not in taken else text


def _other_run(text: str, option: str, opened: Any, labels: list[str], catalog: Catalog) -> Any:
    """The one run of another source (a Dataset without a ``scenario`` dim, lazy)."""
    from data_adapters.errors import did_you_mean

    if text not in catalog and not _looks_like_source(text):
        raise SourceError(
            f"{opened.id}: no scenario '{text}'{did_you_mean(text, labels)}; the runs are: "
            f"{', '.join(labels)} (or give {option} the path, URL or catalog id of another source)"
        )
    other = open_source(text, catalog)
    ds = other.dataset
    if "scenario" in ds.dims:
        runs = [str(s) for s in ds["scenario"].values]
        if len(runs) > 1:
            raise SourceError(
                f"{option} {text}: that source has several runs ({', '.join(runs)}); give a "
                "source with one run, or compare the runs of one source by name"
            )
        ds = ds.isel(scenario=0, drop=True)
    return other, ds


def _compare_pair(
    opened: Any, args: argparse.Namespace, catalog: Catalog
) -> tuple[Any, str, str, str | None]:
    """The variable on a ``scenario`` dim holding the baseline and the scenario (lazy), their
    names, and what was regridded (None: nothing).

    Runs of SOURCE are taken as they are; a run of another source goes with them through
    ``data_adapters.align_runs``, the checks a scenario group of separate sources passes.
    """
    from data_adapters import align_runs

    ds = opened.dataset
    labels = fields.scenario_labels(ds)
    da = _every_run(opened, _variable(opened, args.var), labels[0])
    picks: dict[str, Any] = {}
    for option, text in (("--baseline", args.baseline), ("--scenario", args.scenario)):
        if text is None:
            picks[option] = labels[0]
        elif text in labels:
            picks[option] = text
        else:
            picks[option] = _other_run(text, option, opened, labels, catalog)
    if all(isinstance(p, str) for p in picks.values()):
        # a scenario group of runs stored apart may have regridded some: name those compared
        chosen = (picks["--baseline"], picks["--scenario"])
        notes = str(ds.attrs.get("regridded_scenarios") or "").split("; ")
        notes = [n for n in notes if n.split(" (")[0] in chosen]
        return da, picks["--baseline"], picks["--scenario"], "; ".join(notes) or None
    runs: dict[str, Any] = {}
    for pick in picks.values():
        if isinstance(pick, str):
            name = pick
            run = da.to_dataset(name=args.var)
            run = run.sel(scenario=pick, drop=True) if "scenario" in run.dims else run
        else:
            other, run = pick
            name = _run_label(other.id, set(runs))
            if args.var not in run.data_vars:
                _variable(other, args.var)  # the error that names its variables
        if name in runs:
            raise SourceError(f"{opened.id}: --baseline and --scenario are the same run '{name}'")
        runs[name] = run[[args.var]]
    joined = align_runs(runs, label=opened.id)
    baseline, scenario = runs
    return joined[args.var], baseline, scenario, joined.attrs.get("regridded_scenarios")


def cmd_compare(args: argparse.Namespace) -> int:
    from components.core.png import ColourScale

    output = _png_output(args)
    stats_file = _output_file(args.stats, (".json",), "JSON") if args.stats else None
    catalog = _catalog(args)
    opened = open_source(args.source, catalog)
    da, baseline, scenario, regridded = _compare_pair(opened, args, catalog)
    try:
        da, chosen = _at_time_and_depth(da, args.time, args.depth, opened.id, {})
        pair = comparison.runs(da, baseline, [scenario])
        delta = comparison.change(pair[baseline], pair[scenario], args.mode)
        if delta.ndim != 2:
            raise SourceError(
                f"'{args.var}' is not a map (dims: {', '.join(map(str, delta.dims))})"
            )
        stats = None
        if stats_file is not None:
            mask = regions.region_mask(delta, bbox=args.bbox) if args.bbox is not None else None
            stats = comparison.impact(delta, mask, args.threshold)
    except SourceError as exc:
        raise SourceError(f"{opened.id}: {exc}") from exc
    members = pair[scenario].sizes.get("member")
    if members:
        chosen["members"] = f"ensemble mean of {members} members"
    frame = _map_frame(delta, args)
    cmap = args.cmap or comparison.CHANGE_CMAPS[args.mode]
    clim = args.clim or comparison.change_range(frame.values)
    scale = ColourScale(cmap, clim)
    units = str(delta.attrs.get("units") or "")
    long_name = str(delta.attrs.get("long_name") or args.var)
    label = f"{long_name} [{units}]" if units else long_name
    change = f"{scenario} {MINUS} {baseline}"
    details = [label, *(chosen[k] for k in ("time", "depth", "members") if k in chosen)]
    metadata = {
        "Title": f"{opened.title}: {change}, " + ", ".join(details),
        "Source": _source_credit(opened),
        "Software": "ocean-explorer compare",
    }
    if regridded:
        metadata["Comment"] = f"regridded onto the baseline's grid: {regridded}"
    title = f"{opened.title}: {change}\n" + ", ".join(details)
    _write_png(frame, output, scale, title, label, metadata, args.bare)
    written = [str(output)]
    if stats is not None and stats_file is not None:
        _write_stats(stats_file, stats, args, delta, baseline, scenario, chosen)
        written.append(str(stats_file))
    used = [args.var, change + (" (%)" if args.mode == "pct" else "")]
    used += [chosen[k] for k in ("time", "depth") if k in chosen]
    note = f"; regridded: {regridded}" if regridded else ""
    print(f"wrote {' and '.join(written)} ({', '.join(used)}{note})")
    return 0


def _write_stats(
    path: pathlib.Path,
    stats: dict[str, Any],
    args: argparse.Namespace,
    delta: Any,
    baseline: str,
    scenario: str,
    chosen: dict[str, str],
) -> None:
    """The ``compare --stats`` JSON: the impact statistics of ``delta`` and what they are of."""
    from components.core.comparison import IMPACT_KEYS

    doc: dict[str, Any] = {key: stats[key] for key in IMPACT_KEYS}
    doc.update(
        cells=stats["cells"],
        variable=args.var,
        baseline=baseline,
        scenario=scenario,
        mode=args.mode,
        units=str(delta.attrs.get("units") or ""),
        threshold=args.threshold,
        time=chosen.get("time"),
        depth=float(delta["depth"]) if "depth" in delta.coords else None,
        bbox=list(args.bbox) if args.bbox is not None else None,
    )
    try:
        path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise SourceError(f"--stats {path}: cannot write ({exc.strerror or exc})") from exc


def _period_arg(text: str | None, option: str) -> str | None:
    """An ISO time of --start/--end as xarray's time selection reads it (checked here).

    Written back zero-padded and to the second at most ("2025-3-1" -> "2025-03-01"): the
    cftime calendars' parser takes nothing else. Its precision is kept, so "--end 2025-03"
    includes every step of March.
    """
    if text is None:
        return None
    match = _ISO_TIME.match(text.strip())
    if not match:
        raise SourceError(f"{option} '{text}' is not an ISO time; use e.g. 2025-03-10T12:00")
    year, *rest = (int(p) for p in match.groups() if p is not None)
    iso = f"{year:04d}" + "".join(
        f"{sep}{value:02d}" for sep, value in zip(("-", "-", "T", ":", ":"), rest, strict=False)
    )
    # an hour alone ("T12") is not ISO 8601 for every parser: read it as HH:00
    return iso + ":00" if len(rest) == 3 else iso


def _output_file(text: str, suffixes: tuple[str, ...], what: str) -> pathlib.Path:
    output = pathlib.Path(text)
    if output.suffix.lower() not in suffixes:
        names = " or ".join(f"something{s}" for s in suffixes)
        raise SourceError(f"-o {output}: the output is {what}; name it {names}")
    if not output.parent.is_dir():
        raise SourceError(f"-o {output}: no directory {output.parent}; create it first")
    return output


def _every_run(opened: Any, da: Any, scenario: str | None) -> Any:
    """``da`` on the source's ``scenario`` dim when it is stored once beside the runs.

    A variable without the dim in a source with runs (sea level beside per-run temperature)
    is every run's, as ``render`` reads it: ``--scenario heatwave`` is valid for it, and
    ``--scenario all`` gives one column per run. Broadcast lazily; nothing is read.
    """
    ds = opened.dataset
    if scenario is None or "scenario" in da.dims or "scenario" not in ds.dims:
        return da
    return da.expand_dims(scenario=ds["scenario"].values).assign_attrs(da.attrs)


def cmd_timeseries(args: argparse.Namespace) -> int:

    output = _output_file(args.output, (".csv",), "CSV") if args.output else None
    start, end = _period_arg(args.start, "--start"), _period_arg(args.end, "--end")
    opened = open_source(args.source, _catalog(args))
    _variable(opened, args.var)  # a clear error for an unknown variable
    # a series reads the source's series layout when it has one (geo-chunked: one chunk)
    da = _every_run(opened, opened.for_series()[args.var], args.scenario)
    try:
        # where the sea is: the chosen level of the baseline (or chosen) run, at its first step
        runs = None if args.scenario == fields.ALL_SCENARIOS else args.scenario
        sea = fields.select(da, depth=args.depth, scenario=runs)
        cell = probes.nearest_ocean_cell(sea, args.lon, args.lat)
        series = probes.point_series(
            da, cell, depth=args.depth, scenario=args.scenario, start=start, end=end
        ).compute()
    except SourceError as exc:
        raise SourceError(f"{opened.id}: {exc}") from exc
    depth = float(series["depth"]) if "depth" in series.coords else None
    if cell.snapped:
        print(
            f"ocean-explorer: note: ({args.lon:g}, {args.lat:g}) is on land; using the nearest "
            f"sea cell {cell.label(depth)} ({cell.distance_km:.0f} km away)",
            file=sys.stderr,
        )
    header = cell.header(depth)
    if output is None:
        try:
            tables.to_csv(series, sys.stdout, header)
            sys.stdout.flush()
        except BrokenPipeError:
            # the reader stopped early (``| head``): not an error, and nothing more to say;
            # stdout goes to devnull so that Python's flush at exit does not complain either
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    try:
        tables.to_csv(series, output, header)
    except OSError as exc:
        raise SourceError(f"-o {output}: cannot write ({exc.strerror or exc})") from exc
    print(f"wrote {output} ({args.var} at {cell.label(depth)}, {series.sizes['time']} steps)")
    return 0


def _export_limit_mb(args: argparse.Namespace) -> float:
    import os

    if args.max_mb is not None:
        return float(args.max_mb)
    text = os.environ.get(EXPORT_LIMIT_ENV, "").strip()
    if not text:
        return DEFAULT_EXPORT_LIMIT_MB
    try:
        return _megabytes_arg(text)
    except argparse.ArgumentTypeError as exc:
        raise SourceError(f"{EXPORT_LIMIT_ENV}='{text}': {exc}") from exc


def _in_box(da: Any, box: tuple[float, float, float, float]) -> Any:
    """The cells of ``da`` in the box (lazy): exactly on regular grids; on curvilinear grids
    the smallest block of rows and columns that holds every cell centre in the box."""
    import numpy as np

    mask = regions.region_mask(da, bbox=box)
    rows, cols = mask.dims
    inside = np.asarray(mask.values)
    row_idx = np.flatnonzero(inside.any(axis=1))
    col_idx = np.flatnonzero(inside.any(axis=0))
    if da["lon"].ndim == 2:
        row_idx = np.arange(row_idx[0], row_idx[-1] + 1)
        col_idx = np.arange(col_idx[0], col_idx[-1] + 1)
    return da.isel({rows: row_idx, cols: col_idx})


def cmd_export(args: argparse.Namespace) -> int:

    output = _output_file(args.output, (".nc", ".csv"), "NetCDF or CSV")
    start, end = _period_arg(args.start, "--start"), _period_arg(args.end, "--end")
    limit_mb = _export_limit_mb(args)
    opened = open_source(args.source, _catalog(args))
    da = _every_run(opened, _variable(opened, args.var), args.scenario)
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
            subset = _in_box(subset, args.bbox)
    except SourceError as exc:
        raise SourceError(f"{opened.id}: {exc}") from exc
    as_csv = output.suffix.lower() == ".csv"
    # sizes are known before anything is read: refuse here, not after minutes of reading
    size = tables.long_csv_bytes(subset) if as_csv else subset.size * subset.dtype.itemsize
    shape = " x ".join(f"{subset.sizes[d]} {d}" for d in subset.dims)
    if size > limit_mb * 1e6:
        raise SourceError(
            f"{opened.id}: exporting '{args.var}' ({shape}) would write about "
            f"{_megabytes(size)} as {'CSV' if as_csv else 'NetCDF'}, above the limit of "
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
        raise SourceError(f"-o {output}: cannot write ({exc.strerror or exc})") from exc
    return 0


def _megabytes(size: float) -> str:
    """A size in bytes as MB, precise enough to compare with any limit: 1,234 / 2.5 / 0.012."""
    mb = size / 1e6
    if mb >= 10:
        return f"{mb:,.0f} MB"
    return f"{mb:.1f} MB" if mb >= 0.1 else f"{mb:.2g} MB"


def _add_prepare_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """The ``prepare`` command's arguments."""
    from data_adapters.layouts import DEFAULT_MEMORY_MB

    p = sub.add_parser(
        "prepare",
        parents=[common],
        help="write a Zarr store laid out for both maps and point series",
        description="Write SOURCE as one Zarr store holding the data twice: time-chunked "
        "(group 'maps', one time step per chunk) and geo-chunked (group 'series', the whole "
        "time axis of a small tile per chunk). Opened as a SOURCE, maps read the first and "
        "point series, profiles and sections the second.",
    )
    p.add_argument("source", metavar="SOURCE", help="catalog id, path or URL")
    p.add_argument(
        "--out", required=True, metavar="STORE", help="Zarr store to write, e.g. ocean.zarr"
    )
    p.add_argument(
        "--var",
        action="append",
        dest="variables",
        metavar="V",
        help="variable to keep (repeat for more; default: every variable)",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="replace an existing Zarr store at STORE"
    )
    p.add_argument(
        "--memory-mb",
        type=_megabytes_arg,
        default=DEFAULT_MEMORY_MB,
        metavar="MB",
        help=f"memory to stay within while copying, MB (default {DEFAULT_MEMORY_MB:g})",
    )


def cmd_prepare(args: argparse.Namespace) -> int:
    from data_adapters.layouts import MAPS_GROUP, SERIES_GROUP, check_output, write_prepared

    out = check_output(args.out, args.overwrite)  # refused before the source is read
    opened = open_source(args.source, _catalog(args))
    ds = opened.dataset
    if args.variables:
        names = list(dict.fromkeys(args.variables))
        for name in names:
            _variable(opened, name)  # an unknown name is refused with the known ones
        ds = ds[names]

    def say(line: str) -> None:
        print(f"ocean-explorer: {line}", file=sys.stderr, flush=True)

    result = write_prepared(
        ds, out, overwrite=args.overwrite, memory_mb=args.memory_mb, progress=say
    )
    total = sum(result.bytes_on_disk.values())
    print(f"wrote {result.path} ({_megabytes(total)} on disk) in {result.seconds:.1f} s")
    for layout in (MAPS_GROUP, SERIES_GROUP):
        print(f"  {layout:<6} {_megabytes(result.bytes_on_disk[layout])}")
        for name, chunks in result.layouts[layout].items():
            shape = " x ".join(f"{n} {d}" for d, n in chunks.items())
            print(f"    {name:<10} chunks of {shape}")
    return 0


COMMANDS = {
    "serve": cmd_serve,
    "datasets": cmd_datasets,
    "inspect": cmd_inspect,
    "render": cmd_render,
    "compare": cmd_compare,
    "timeseries": cmd_timeseries,
    "export": cmd_export,
    "prepare": cmd_prepare,
}


#: A word that is a value even though it starts with "-": a negative number or a list of
#: numbers (``-30``, ``-.5``, ``-70,25,-10,65``).
_NEGATIVE_VALUE = re.compile(r"^-\.?\d")


def negative_values_attached(argv: Sequence[str]) -> list[str]:
    """``argv`` with each option's negative value attached (``--bbox -70,25,-10,65`` becomes
    ``--bbox=-70,25,-10,65``), so that argparse reads it as the value it is rather than an
    unknown option (Python 3.13 does so itself; 3.11 and 3.12 do only for plain numbers)."""
    words = list(argv)
    out: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        following = words[i + 1] if i + 1 < len(words) else ""
        if word.startswith("--") and "=" not in word and _NEGATIVE_VALUE.match(following):
            out.append(f"{word}={following}")
            i += 2
        else:
            out.append(word)
            i += 1
    return out


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


if __name__ == "__main__":
    sys.exit(main())
