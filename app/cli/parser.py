"""The argument parser: every command's options and the types that check them.

Bad input found here exits with status 2 and one line on stderr, like every other bad input.
Choices that name a concept of the core (map projections, change modes) are the core's own.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from typing import Any

from components.core.comparison import CHANGE_MODES
from components.core.geography import CRSES, LONLAT, WEB_MERCATOR, BBox
from data_adapters.layouts import DEFAULT_MEMORY_MB

#: Exit status of every bad input (argparse's own, kept for the commands' errors too).
EXIT_BAD_INPUT = 2
#: Largest image side (px) the renderer accepts.
MAX_PIXELS = 8192
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
        p, cmap="by variable", clim="robust range of the map; symmetric for diverging maps"
    )
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
    p.add_argument("--var", required=True, metavar="V", help="data variable, e.g. thetao")
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
    _add_prepare_parser(sub, common)
    return parser


def _add_map_options(p: argparse.ArgumentParser, cmap: str, clim: str) -> None:
    """The PNG options ``render`` and ``compare`` share (size, colour, bare, projection)."""
    p.add_argument("--width", type=pixels_arg, default=800, help="map width, px (default 800)")
    p.add_argument("--height", type=pixels_arg, default=450, help="map height, px (default 450)")
    p.add_argument("--cmap", metavar="NAME", help=f"cmocean colormap (default: {cmap})")
    p.add_argument("--clim", type=clim_arg, metavar="LO,HI", help=f"colour range (default: {clim})")
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
        help="diff: scenario minus baseline, in the variable's units (default); pct: relative "
        "change in percent of the baseline",
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
    p.add_argument("-o", "--output", required=True, metavar="OUT.png", help="PNG file to write")
    p.add_argument("--stats", metavar="OUT.json", help="also write the statistics as JSON")


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
        type=megabytes_arg,
        default=DEFAULT_MEMORY_MB,
        metavar="MB",
        help=f"memory to stay within while copying, MB (default {DEFAULT_MEMORY_MB:g})",
    )


def _numbers(text: str, count: int, what: str) -> list[float]:
    """``count`` finite numbers separated by commas, or an error that says ``what`` they are."""
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


def bbox_arg(text: str) -> tuple[float, float, float, float]:
    """``W,S,E,N`` in degrees (:class:`components.core.geography.BBox`); W > E crosses the
    dateline."""
    try:
        return BBox.parse(text).as_tuple()
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def lon_arg(text: str) -> float:
    """A longitude in [-180, 360] degrees, wrapped into [-180, 180)."""
    (lon,) = _numbers(text, 1, "a longitude in degrees, e.g. -30.5")
    if not -180.0 <= lon <= 360.0:
        raise argparse.ArgumentTypeError(f"{lon:g} is not a longitude in [-180, 360]")
    return (lon + 180.0) % 360.0 - 180.0


def lat_arg(text: str) -> float:
    """A latitude in [-90, 90] degrees."""
    (lat,) = _numbers(text, 1, "a latitude in degrees, e.g. 20.25")
    if not -90.0 <= lat <= 90.0:
        raise argparse.ArgumentTypeError(f"{lat:g} is not a latitude in [-90, 90]")
    return lat


def megabytes_arg(text: str) -> float:
    """A positive size in MB (10**6 bytes)."""
    (mb,) = _numbers(text, 1, "megabytes, e.g. 500")
    if mb <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive size in MB, got '{text}'")
    return mb


def clim_arg(text: str) -> tuple[float, float]:
    """A colour range ``LO,HI`` with LO below HI."""
    low, high = _numbers(text, 2, "LO,HI, e.g. -2,2")
    if low >= high:
        raise argparse.ArgumentTypeError(f"LO must be below HI (got {low:g}, {high:g})")
    return low, high


def threshold_arg(text: str) -> float:
    """A magnitude of change: 0 or more."""
    (value,) = _numbers(text, 1, "a threshold, e.g. 0.5")
    if value < 0:
        raise argparse.ArgumentTypeError(f"the threshold is a magnitude: 0 or more, got '{text}'")
    return value


def pixels_arg(text: str) -> int:
    """An image side in pixels, 1 to MAX_PIXELS."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_PIXELS:
        raise argparse.ArgumentTypeError(f"expected pixels from 1 to {MAX_PIXELS}, got '{text}'")
    return value


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
