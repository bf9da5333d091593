"""What the commands share: the catalog, output files, sizes in MB, the runs of a source.

Everything here runs before or after the one core call a command makes; none of it reads
data values.
"""

from __future__ import annotations

import argparse
import pathlib

import xarray as xr

from components.core import derived, expressions, fields, probes
from data_adapters import Catalog, OpenedSource, SourceError, open_source


def catalog(args: argparse.Namespace) -> Catalog:
    """The catalog of ``--catalog`` (default: the built-in demo catalog)."""
    return Catalog.load(args.catalog)


def output_file(text: str, suffixes: tuple[str, ...], what: str) -> pathlib.Path:
    """The file ``-o`` names, checked before any source is opened: one of ``suffixes``, in a
    directory that exists."""
    output = pathlib.Path(text)
    if output.suffix.lower() not in suffixes:
        names = " or ".join(f"something{s}" for s in suffixes)
        raise SourceError(f"-o {output}: the output is {what}; name it {names}")
    if not output.parent.is_dir():
        raise SourceError(f"-o {output}: no directory {output.parent}; create it first")
    return output


def cannot_write(path: pathlib.Path, exc: OSError, option: str = "-o") -> SourceError:
    """The one-line error of an output that could not be written."""
    return SourceError(f"{option} {path}: cannot write ({exc.strerror or exc})")


def megabytes(size: float) -> str:
    """A size in bytes as MB, precise enough to compare with any limit: 1,234 / 2.5 / 0.012."""
    mb = size / 1e6
    if mb >= 10:
        return f"{mb:,.0f} MB"
    return f"{mb:.1f} MB" if mb >= 0.1 else f"{mb:.2g} MB"


def source_credit(opened: OpenedSource) -> str:
    """The source's id and attribution, for a file's metadata."""
    return opened.id + (f" ({opened.attribution})" if opened.attribution else "")


def every_run(opened: OpenedSource, da: xr.DataArray, scenario: str | None) -> xr.DataArray:
    """``da`` on the source's ``scenario`` dim when it is stored once beside the runs.

    A variable without the dim in a source with runs (sea level beside per-run temperature)
    is every run's, as ``render`` reads it: ``--scenario heatwave`` is valid for it, and
    ``--scenario all`` gives one column per run. Broadcast lazily; nothing is read.
    """
    ds = opened.dataset
    if scenario is None or "scenario" in da.dims or "scenario" not in ds.dims:
        return da
    return da.expand_dims(scenario=ds["scenario"].values).assign_attrs(da.attrs)


def nearest_sea_cell(
    opened: OpenedSource,
    var: str,
    lon: float,
    lat: float,
    depth: float | None = None,
    scenario: str | None = None,
) -> probes.Cell:
    """The sea cell nearest (lon, lat) at ``depth``, found on the first map of the source's
    map layout (one chunk; a step of its series layout would read, or for the demo compute,
    the whole series of the cells around the point)."""
    maps = every_run(opened, opened.dataset[var], scenario)
    runs = None if scenario == fields.ALL_SCENARIOS else scenario
    return probes.nearest_ocean_cell(fields.select(maps, depth=depth, scenario=runs), lon, lat)


def opened_source(
    args: argparse.Namespace, text: str | None = None, catalog_: Catalog | None = None
) -> OpenedSource:
    """SOURCE (or ``text``) opened with its derived variables and the command's expressions:
    ``--expr`` texts, and ``--var`` when it is an expression rather than a variable's name
    (``--var 'speed2=sqrt(uo**2+vo**2)'``; ``args.var`` becomes its name).

    Raises
    ------
    SourceError
        For a source that cannot be opened or an expression that is refused.
    """
    opened = open_source(args.source if text is None else text, catalog_ or catalog(args))
    user = list(getattr(args, "expr", None) or [])
    var = getattr(args, "var", None)
    if isinstance(var, str) and var not in opened.dataset.data_vars and _is_expression(var):
        name = expressions.split(var)[0]
        if name not in [expressions.split(u)[0] for u in user]:
            user.append(var)
        args.var = name
        args.expr = user  # another source of the same command gets it too
    return derived.opened_with(opened, user)


def _is_expression(text: str) -> bool:
    """True for a ``--var`` that is an expression (it has an operator, a call or ``=``)."""
    return any(c in text for c in "=()+*/<>") or text.lstrip().startswith("-")
