"""The argument parser: every command's options and the types that check them.

Bad input found here exits with status 2 and one line on stderr, like every other bad input.
Choices that name a concept of the core (map projections, change modes) are the core's own.
"""

from __future__ import annotations

import argparse
from typing import Any

from components.core.comparison import CHANGE_MODE_NAMES, CHANGE_MODES
from components.core.geography import CRSES, LONLAT, WEB_MERCATOR
from components.core.processing import BASELINES, SHOWS
from data_adapters.layouts import DEFAULT_MEMORY_MB

from .arguments import (
    bbox_arg,
    clim_arg,
    lat_arg,
    lon_arg,
    megabytes_arg,
    pixels_arg,
    threshold_arg,
)

#: Exit status of every bad input (argparse's own, kept for the commands' errors too).
EXIT_BAD_INPUT = 2
#: Largest ``export`` (MB = 10**6 bytes of values, before compression) unless told otherwise.
DEFAULT_EXPORT_LIMIT_MB = 500.0
#: Environment variable that sets the export limit (MB) for every run.
EXPORT_LIMIT_ENV = "OCEAN_EXPLORER_EXPORT_LIMIT_MB"
#: What --depth means, on every command that takes it.
DEPTH_HELP = (
    "depth in metres, positive down: the nearest level, or on s-coordinates the value at that "
    "depth interpolated in each column; on a pressure or level axis, in its units (500: 500 hPa)"
)


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
        "--upload-max-mb",
        type=megabytes_arg,
        default=200.0,
        metavar="MB",
        help="largest file a user may upload (MB, counted as it arrives; default 200)",
    )
    p.add_argument(
        "--map-tiles",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="maps step through time on the server's /tiles, cached by the browser "
        "(default: on; --no-map-tiles: one rendered image a step)",
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

    _add_search_parser(sub, common)

    p = sub.add_parser("inspect", parents=[common], help="summarise a source, normalised")
    p.add_argument("source", metavar="SOURCE")
    _add_expressions(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser(
        "render",
        parents=[common],
        help="write a PNG map of one field, through the app's renderer",
        description="Write a PNG of one field (title, colour bar and coastline; or, with "
        "--bare, only the map raster) through the renderer the dashboard uses.",
    )
    p.add_argument("source", metavar="SOURCE", help="catalog id, path or URL")
    p.add_argument(
        "--var",
        required=True,
        metavar="V",
        help="data variable, e.g. thetao, a derived one (speed, sigma_theta...), or an "
        "expression 'NAME=EXPR' such as 'speed2=sqrt(uo**2+vo**2)'",
    )
    _add_expressions(p)
    p.add_argument(
        "--time", metavar="ISO", help="time, e.g. 2025-03-10T12:00; the nearest step is used"
    )
    p.add_argument(
        "--depth",
        type=float,
        metavar="M",
        help=DEPTH_HELP + " (default: the top)",
    )
    p.add_argument("--scenario", metavar="S", help="scenario run (default: the baseline)")
    p.add_argument(
        "--bbox",
        type=bbox_arg,
        metavar="W,S,E,N",
        help="extent in degrees; W > E crosses the dateline (default: the data's extent)",
    )
    _add_map_options(
        p,
        cmap="by variable",
        clim="robust range of the map; symmetric for diverging maps",
        log=True,
    )
    add_processing_options(p)
    p.add_argument("-o", "--output", required=True, metavar="OUT.png", help="PNG file to write")

    _add_compare_parser(sub, common)
    _add_animate_parser(sub, common)

    p = sub.add_parser(
        "timeseries",
        parents=[common],
        help="write the time series at a point as CSV",
        description="Print (or write) the time series of one variable at the grid cell nearest "
        "a point, as CSV; a point on land moves to the nearest sea cell. The first line names "
        "the cell used.",
    )
    p.add_argument("source", metavar="SOURCE", help="catalog id, path or URL")
    p.add_argument(
        "--var",
        required=True,
        metavar="V",
        help="data variable, e.g. thetao, a derived one (speed, sigma_theta...), or an "
        "expression 'NAME=EXPR' such as 'speed2=sqrt(uo**2+vo**2)'",
    )
    _add_expressions(p)
    p.add_argument("--lon", required=True, type=lon_arg, metavar="X", help="longitude, degrees")
    p.add_argument("--lat", required=True, type=lat_arg, metavar="Y", help="latitude, degrees")
    p.add_argument(
        "--depth",
        type=float,
        metavar="M",
        help=DEPTH_HELP + " (default: the top)",
    )
    p.add_argument(
        "--scenario",
        metavar="S|all",
        help="scenario run (default: the baseline); 'all': one column per run",
    )
    p.add_argument("--start", metavar="ISO", help="first time, e.g. 2025-03-01 (included)")
    p.add_argument("--end", metavar="ISO", help="last time, e.g. 2025-03-31 (included)")
    p.add_argument("-o", "--output", metavar="OUT.csv", help="CSV file to write (default: stdout)")
    add_processing_options(p)
    _add_mhw_parser(sub, common)

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
    p.add_argument(
        "--var",
        required=True,
        metavar="V",
        help="data variable, e.g. thetao, a derived one (speed, sigma_theta...), or an "
        "expression 'NAME=EXPR' such as 'speed2=sqrt(uo**2+vo**2)'",
    )
    _add_expressions(p)
    p.add_argument(
        "--bbox",
        type=bbox_arg,
        metavar="W,S,E,N",
        help="box in degrees; W > E crosses the dateline (default: the whole grid)",
    )
    p.add_argument("--start", metavar="ISO", help="first time, e.g. 2025-03-01 (included)")
    p.add_argument("--end", metavar="ISO", help="last time, e.g. 2025-03-31 (included)")
    p.add_argument(
        "--depth",
        type=float,
        metavar="M",
        help=DEPTH_HELP + " (default: every level)",
    )
    p.add_argument("--scenario", metavar="S", help="scenario run (default: the baseline)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.nc|OUT.csv", help="file to write")
    p.add_argument(
        "--max-mb",
        type=megabytes_arg,
        metavar="MB",
        help=f"largest export in MB (default: ${EXPORT_LIMIT_ENV} or {DEFAULT_EXPORT_LIMIT_MB:g})",
    )
    add_processing_options(p)
    _add_prepare_parser(sub, common)
    _add_observation_parsers(sub, common)
    return parser


def _add_expressions(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--expr",
        action="append",
        default=[],
        metavar="'NAME [UNITS]=EXPR'",
        help="add a variable computed from others (repeat for more), e.g. "
        "'warm [degC]=thetao-20'; arithmetic, comparisons, where(), sqrt() and a few "
        "numpy functions (see the README)",
    )


def add_processing_options(p: argparse.ArgumentParser, baseline: bool = True) -> None:
    """``--show``, ``--reference`` and (unless ``baseline=False``: ``compare``, whose
    ``--baseline`` is a run) ``--baseline``: what is shown of the variable."""
    p.add_argument(
        "--show",
        choices=SHOWS,
        default="value",
        help="what to show: the value (default), its anomaly from the climatology, the marine "
        "heatwave intensity or category (Hobday et al. 2016/2018) or NOAA CRW degree heating "
        "weeks",
    )
    p.add_argument(
        "--reference",
        metavar="START/END",
        help="reference period of the climatology, years (1993/2022) or dates (default: the "
        "first 30 full years of the data, or all its full years)",
    )
    if not baseline:
        return
    p.add_argument(
        "--baseline",
        choices=BASELINES,
        default="fixed",
        help="climatology of a scenario run: the baseline run's (fixed, default) or the run's "
        "own over the same period (shifted)",
    )


def _add_mhw_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """The ``mhw`` command's arguments."""
    p = sub.add_parser(
        "mhw",
        parents=[common],
        help="write the marine heatwaves at a point (or daily areas in a box) as CSV",
        description="Detect marine heatwaves (Hobday et al. 2016; categories of Hobday et al. "
        "2018) in daily data against the climatology of a reference period. At a point: one "
        "row per event (date_start,date_peak,date_end,duration,intensity_max,intensity_mean,"
        "intensity_cumulative,category). In a box: the area (km2) in each category per day.",
    )
    p.add_argument("source", metavar="SOURCE", help="catalog id, path or URL")
    p.add_argument("--var", required=True, metavar="V", help="daily variable, e.g. thetao")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--lon", type=lon_arg, metavar="X", help="longitude of the point, degrees")
    where.add_argument(
        "--bbox", type=bbox_arg, metavar="W,S,E,N", help="box in degrees (daily areas)"
    )
    p.add_argument("--lat", type=lat_arg, metavar="Y", help="latitude of the point, degrees")
    p.add_argument("--depth", type=float, metavar="M", help=DEPTH_HELP + " (default: the top)")
    p.add_argument("--scenario", metavar="S", help="scenario run (default: the baseline)")
    p.add_argument(
        "--reference",
        metavar="START/END",
        help="reference period, years (1993/2022) or dates (default: the first 30 full years, "
        "or all full years)",
    )
    p.add_argument(
        "--baseline",
        choices=BASELINES,
        default="fixed",
        help="climatology of a scenario run: the baseline run's (fixed, default) or its own "
        "(shifted)",
    )
    p.add_argument("-o", "--output", metavar="OUT.csv", help="CSV file to write (default: stdout)")


def _add_map_options(p: argparse.ArgumentParser, cmap: str, clim: str, log: bool = False) -> None:
    """The PNG options ``render`` and ``compare`` share (size, colour, bare, projection)."""
    p.add_argument("--width", type=pixels_arg, default=800, help="map width, px (default 800)")
    p.add_argument("--height", type=pixels_arg, default=450, help="map height, px (default 450)")
    p.add_argument("--cmap", metavar="NAME", help=f"cmocean colormap (default: {cmap})")
    p.add_argument("--clim", type=clim_arg, metavar="LO,HI", help=f"colour range (default: {clim})")
    if log:
        p.add_argument(
            "--log",
            action="store_true",
            help="logarithmic colour scale (values at or below zero take the lowest colour)",
        )
    p.add_argument(
        "--bare",
        action="store_true",
        help="only the map raster: exactly WIDTH x HEIGHT, RGBA, land and no-data transparent",
    )
    p.add_argument(
        "--crs",
        type=str.upper,
        choices=CRSES,
        default=LONLAT,
        help=f"map projection: {LONLAT} (longitude/latitude, default) or {WEB_MERCATOR}",
    )


def _add_animate_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """The ``animate`` command's arguments."""
    p = sub.add_parser(
        "animate",
        parents=[common],
        help="write an animated GIF of one field over a time range",
        description="Write an animated GIF of one field from --start to --end: each frame the "
        "map render draws (title with its date, colour bar, coastline, attribution), in one "
        "colour range. At most 120 frames and 1,000,000 map pixels a frame.",
    )
    p.add_argument("source", metavar="SOURCE", help="catalog id, path or URL")
    p.add_argument("--var", required=True, metavar="V", help="data variable, e.g. thetao")
    p.add_argument("--start", metavar="ISO", help="first time, e.g. 2025-03-01 (default: first)")
    p.add_argument("--end", metavar="ISO", help="last time, e.g. 2025-03-31 (default: last)")
    p.add_argument(
        "--every", type=int, default=1, metavar="N", help="one time step in N (default 1)"
    )
    p.add_argument("--depth", type=float, metavar="M", help=DEPTH_HELP + " (default: the top)")
    p.add_argument("--scenario", metavar="S", help="scenario run (default: the baseline)")
    p.add_argument(
        "--bbox",
        type=bbox_arg,
        metavar="W,S,E,N",
        help="extent in degrees; W > E crosses the dateline (default: the data's extent)",
    )
    p.add_argument("--width", type=pixels_arg, default=640, help="map width, px (default 640)")
    p.add_argument("--height", type=pixels_arg, default=360, help="map height, px (default 360)")
    p.add_argument("--cmap", metavar="NAME", help="cmocean colormap (default: by variable)")
    p.add_argument(
        "--clim", type=clim_arg, metavar="LO,HI", help="colour range (default: robust, all frames)"
    )
    p.add_argument(
        "--crs",
        type=str.upper,
        choices=CRSES,
        default=LONLAT,
        help=f"map projection: {LONLAT} (longitude/latitude, default) or {WEB_MERCATOR}",
    )
    p.add_argument("-o", "--output", required=True, metavar="OUT.gif", help="GIF file to write")


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
    p.add_argument(
        "--var",
        required=True,
        metavar="V",
        help="data variable, e.g. thetao, a derived one (speed, sigma_theta...), or an "
        "expression 'NAME=EXPR' such as 'speed2=sqrt(uo**2+vo**2)'",
    )
    _add_expressions(p)
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
        help=DEPTH_HELP + " (default: the top)",
    )
    p.add_argument(
        "--bbox",
        type=bbox_arg,
        metavar="W,S,E,N",
        help="box in degrees for the map and the statistics; W > E crosses the dateline "
        "(default: the whole grid)",
    )
    p.add_argument(
        "--mode",
        choices=CHANGE_MODES,
        default=CHANGE_MODES[0],
        type=lambda text: CHANGE_MODE_NAMES.get(text, text),
        help="diff (or difference): scenario minus baseline, in the variable's units (default); "
        "pct (or relative): relative change in percent of the baseline, for variables on a "
        "ratio scale (not °C temperatures, anomalies or heights above a reference)",
    )
    p.add_argument(
        "--threshold",
        type=threshold_arg,
        default=0.0,
        metavar="T",
        help="changes of magnitude above T count as exceeding in the statistics (units of the "
        "change; default 0)",
    )
    _add_map_options(
        p, cmap="balance for diff, diff for pct", clim="symmetric about zero, ±max |change| in view"
    )
    add_processing_options(p, baseline=False)
    p.add_argument("-o", "--output", required=True, metavar="OUT.png", help="PNG file to write")
    p.add_argument("--stats", metavar="OUT.json", help="also write the statistics as JSON")


def _add_search_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """``search``: datasets of a STAC catalogue or of Copernicus Marine."""
    p = sub.add_parser(
        "search",
        parents=[common],
        help="find datasets in a STAC catalogue or the Copernicus Marine catalogue",
    )
    p.add_argument(
        "text", nargs="?", default="", metavar="TEXT", help="words to find (all must match)"
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--stac", metavar="URL", help="a STAC API root or a static catalog.json (URL or path)"
    )
    where.add_argument(
        "--cmems", action="store_true", help="the Copernicus Marine catalogue (cached a day)"
    )
    p.add_argument("--bbox", type=bbox_arg, metavar="W,S,E,N", help="hits meeting this box")
    p.add_argument("--start", metavar="ISO", help="hits with data on or after this date")
    p.add_argument("--end", metavar="ISO", help="hits with data on or before this date")
    p.add_argument(
        "--collection", action="append", metavar="ID", help="only this collection (repeatable)"
    )
    p.add_argument("--limit", type=int, default=20, metavar="N", help="hits at most (20)")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _add_prepare_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """The ``prepare`` command's arguments."""
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
    p.add_argument("--out", metavar="STORE", help="Zarr store to write, e.g. ocean.zarr")
    p.add_argument(
        "--climatology",
        metavar="START/END",
        help="also (or only, without --out) compute the map climatology of each daily "
        "variable's baseline at its top level over this reference period into the cache, "
        "so that anomaly and marine-heatwave maps read it",
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
        type=megabytes_arg,
        default=DEFAULT_MEMORY_MB,
        metavar="MB",
        help=f"memory to stay within while copying, MB (default {DEFAULT_MEMORY_MB:g})",
    )


def _add_observation_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """The ``validate`` and ``collocate`` commands' arguments."""
    p = sub.add_parser(
        "validate",
        parents=[common],
        help="check a file as the app checks an upload",
        description="Check FILE as an upload to the app is checked: its content type by its "
        "first bytes (NetCDF, HDF5, a zipped Zarr store or CSV of point observations), a "
        "zip's entries, and opening it through the data contract in a separate process with "
        "time and memory limits. Prints what it holds, or one line saying why not (exit 2).",
    )
    p.add_argument("file", metavar="FILE", help="the file to check")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser(
        "collocate",
        parents=[common],
        help="match point observations with a model: pairs and statistics",
        description="Match each observation of OBS.csv (time,lon,lat[,depth],<variable>...) "
        "with SOURCE at its time, depth and nearest sea cell, and report n, bias (mean of "
        "model minus observation), RMSE, MAE and correlation; observations outside the grid, "
        "its period or on land are counted apart (n_outside).",
    )
    p.add_argument("observations", metavar="OBS.csv", help="CSV of point observations")
    p.add_argument("source", metavar="SOURCE", help="catalog id, path or URL of the model")
    p.add_argument("--var", required=True, metavar="V", help="model variable, e.g. thetao")
    p.add_argument(
        "--obs-var",
        metavar="COLUMN",
        help="the observations' column to compare (default: V if present, else the only one)",
    )
    p.add_argument(
        "--scenario", metavar="S|all", help="model run (default: the baseline); 'all': every run"
    )
    p.add_argument(
        "--time-match",
        choices=("nearest", "linear"),
        default="nearest",
        help="model time step: the nearest (default), or linear between the two around it",
    )
    p.add_argument("-o", "--output", metavar="PAIRS.csv", help="write the matched pairs as CSV")
    p.add_argument("--stats", metavar="STATS.json", help="write the statistics as JSON")
