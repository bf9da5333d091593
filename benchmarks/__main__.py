"""Run the benchmarks: ``python -m benchmarks [--quick] [--only NAME] [--repeats N]``.

Prints each benchmark's tables, then one summary of every target (measured against the
target, pass or miss). Exits 0 when every benchmark ran (a missed target is reported, not an
error), 1 when one of them failed to run.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
import warnings

from .harness import Options, Table, Target, summary, timed

#: Benchmark name (for ``--only``) -> module with ``NAME``, ``DESCRIPTION`` and ``run``.
BENCHMARKS = {
    "map_frame": "benchmarks.map_frame",
    "point_series": "benchmarks.point_series",
    "probe_latency": "benchmarks.probe_latency",
    "browser_latency": "benchmarks.browser_latency",
    "server_memory": "benchmarks.server_memory",
    "tiles": "benchmarks.tiles",
    "upload_memory": "benchmarks.upload_memory",
    "processing": "benchmarks.processing",
}
#: Timed repeats per case: normal and ``--quick`` runs.
REPEATS, QUICK_REPEATS = 5, 2


def quiet_warnings() -> None:
    """Keep the peers' warnings out of the tables: they say nothing about speed.

    GeoViews, Cartopy and friends may warn about projection edge cases and deprecations
    (none do with the pinned versions, but a frame a second of them would bury the table);
    zarr 3 warns that consolidated metadata is not in the v3 spec. Our own warnings show.
    """
    for module in ("geoviews", "cartopy", "shapely", "holoviews", "bokeh", "pyproj"):
        warnings.filterwarnings("ignore", category=UserWarning, module=module)
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=module)
        warnings.filterwarnings("ignore", category=FutureWarning, module=module)
    warnings.filterwarnings("ignore", message="Consolidated metadata", category=UserWarning)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Side-by-side performance runs of Ocean Explorer against its peers.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_REPEATS} timed repeats instead of {REPEATS}, smaller stores and shorter "
        "browser sessions (targets are still reported)",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(BENCHMARKS),
        metavar="NAME",
        help=f"run only this benchmark (repeatable): {', '.join(sorted(BENCHMARKS))}",
    )
    parser.add_argument(
        "--repeats", type=int, default=None, help="timed repeats per case (after one warm-up)"
    )
    args = parser.parse_args(argv)
    repeats = args.repeats or (QUICK_REPEATS if args.quick else REPEATS)
    if repeats < 1:
        parser.error("--repeats must be at least 1")
    options = Options(repeats=repeats, quick=args.quick)
    quiet_warnings()

    failed = []
    targets: list[Target] = []
    started = time.perf_counter()
    for name in args.only or list(BENCHMARKS):
        print(f"== {name}", flush=True)
        try:
            module = importlib.import_module(BENCHMARKS[name])
            result, seconds = timed(module.run, options)
        except Exception:  # report it and go on: one broken benchmark must not hide the rest
            traceback.print_exc()
            failed.append(name)
            continue
        tables: list[Table] = result if isinstance(result, list) else [result]
        for table in tables:
            print(table.render() + "\n")
            targets += table.targets
        print(f"({seconds:.0f} s)\n", flush=True)
    total = time.perf_counter() - started
    if targets:
        print(f"== summary\n{summary(targets).render()}\n", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)} ({total:.0f} s in all)", file=sys.stderr)
        return 1
    print(f"all benchmarks ran in {total:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
