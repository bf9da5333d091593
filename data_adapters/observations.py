"""Point observations from CSV: ``time,lon,lat[,depth],<variable>...`` with their units.

A user's in-situ measurements (Argo floats, moorings, ship casts, drifters) as one table of
rows: an ISO time, a longitude and latitude in degrees, an optional depth in metres
(positive down) and one column per measured variable. Units come from a second header row
(``ISO8601,degrees_east,degrees_north,m,degC``) or from a ``# units:`` comment line
(``# units: temperature=degC, salinity=1e-3``, or one unit per column in order). Other
``#`` lines are comments.
"""

from __future__ import annotations

import csv
import io
import pathlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import SourceError

#: The columns every observation row has, in this order; ``depth`` may follow them.
PLACE_COLUMNS = ("time", "lon", "lat")
#: Most rows an observation file may hold (a million rows is ~40 MB of CSV).
MAX_ROWS = 1_000_000
#: Column names accepted for the place columns (lower-case), mapped onto the contract's.
ALIASES = {
    "longitude": "lon",
    "long": "lon",
    "latitude": "lat",
    "date": "time",
    "datetime": "time",
    "pres": "depth",
    "depth_m": "depth",
}


@dataclass
class Observations:
    """Point observations: one row per measurement, units per column.

    Attributes
    ----------
    table
        Columns ``time`` (datetime64), ``lon`` (wrapped to [-180, 180)), ``lat``, optional
        ``depth`` (m, positive down) and one float column per variable.
    units
        Column name -> units text ("" when the file gives none).
    name
        What the observations are called in messages (the file's name).
    """

    table: pd.DataFrame
    units: dict[str, str] = field(default_factory=dict)
    name: str = "observations"

    @property
    def variables(self) -> list[str]:
        """The measured variables' column names."""
        return [c for c in self.table.columns if c not in (*PLACE_COLUMNS, "depth")]

    @property
    def has_depth(self) -> bool:
        """True when the rows carry a depth."""
        return "depth" in self.table.columns

    def summary(self) -> dict[str, object]:
        """A JSON-ready summary: rows, variables with units, period and extent."""
        t = self.table
        return {
            "kind": "observations",
            "rows": len(t),
            "variables": {v: self.units.get(v, "") for v in self.variables},
            "time_range": [t["time"].min().isoformat(), t["time"].max().isoformat()],
            "bbox": [float(t[c].agg(f)) for f in ("min", "max") for c in ("lon", "lat")],
            "depth": self.has_depth,
        }


def _unit_line(text: str, names: list[str]) -> dict[str, str]:
    """Units of a ``# units:`` line: ``name=unit`` pairs, or one unit per column in order."""
    parts = [p.strip() for p in text.split(",")]
    if all("=" in p for p in parts if p):
        pairs = (p.split("=", 1) for p in parts if p)
        return {k.strip().lower(): v.strip() for k, v in pairs}
    return dict(zip(names, parts, strict=False))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_observations(path: str | pathlib.Path, name: str | None = None) -> Observations:
    """Read a CSV of point observations (see the module's description of the format).

    Raises
    ------
    SourceError
        One line naming the file and what to fix: a missing place column, no variable
        column, a time or number that does not parse, a latitude beyond ±90, too many rows.
    """
    path = pathlib.Path(path)
    label = name or path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{label}: not UTF-8 text; save the CSV as UTF-8") from exc
    except OSError as exc:
        raise SourceError(f"{label}: cannot be read ({exc.strerror})") from exc
    comments = [ln[1:].strip() for ln in text.splitlines() if ln.lstrip().startswith("#")]
    body = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not body:
        raise SourceError(f"{label}: no header row; the first line is time,lon,lat,<variable>")
    if len(body) > MAX_ROWS + 2:
        raise SourceError(f"{label}: more than {MAX_ROWS:,} rows; split the file")
    rows = list(csv.reader(io.StringIO("\n".join(body))))
    names = [ALIASES.get(h.strip().lower(), h.strip().lower()) for h in rows[0]]
    names = [
        n if n in (*PLACE_COLUMNS, "depth") else h.strip()
        for n, h in zip(names, rows[0], strict=True)
    ]
    missing = [c for c in PLACE_COLUMNS if c not in names]
    if missing:
        raise SourceError(
            f"{label}: no column {', '.join(missing)}; the header is time,lon,lat[,depth],"
            "<variable>... (got " + ",".join(rows[0])[:80] + ")"
        )
    if len(set(names)) != len(names):
        raise SourceError(f"{label}: a column name appears twice in the header; rename one")
    variables = [n for n in names if n not in (*PLACE_COLUMNS, "depth")]
    if not variables:
        raise SourceError(f"{label}: no variable column after time,lon,lat[,depth]; add one")
    units: dict[str, str] = {}
    data = rows[1:]
    # a second header row holds units: its longitude is no number
    if data and len(data[0]) == len(names) and not _is_number(data[0][names.index("lon")]):
        units = {n: u.strip() for n, u in zip(names, data[0], strict=True)}
        data = data[1:]
    for line in comments:
        key, sep, rest = line.partition(":")
        if sep and key.strip().lower() == "units":
            given = _unit_line(rest, names)
            units.update({n: given[n.lower()] for n in names if n.lower() in given})
            units.update({n: given[n] for n in names if n in given})
    for number, row in enumerate(data, start=1):
        if len(row) != len(names):
            raise SourceError(
                f"{label}: data row {number} has {len(row)} fields, the header {len(names)}"
            )
    return Observations(_table(label, names, data), units, label)


def _table(label: str, names: list[str], data: list[list[str]]) -> pd.DataFrame:
    """The rows as typed columns, checked."""
    if not data:
        raise SourceError(f"{label}: no data rows under the header")
    columns = {n: [r[k].strip() for r in data] for k, n in enumerate(names)}
    table = pd.DataFrame(index=range(len(data)))
    try:
        times = pd.to_datetime(pd.Series(columns["time"]), utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise SourceError(
            f"{label}: a time does not parse ({str(exc).splitlines()[0][:80]}); write ISO "
            "times such as 2025-03-10T12:00Z"
        ) from exc
    table["time"] = times.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    for name in names:
        if name == "time":
            continue
        values = pd.to_numeric(pd.Series(columns[name]).replace("", np.nan), errors="coerce")
        bad = values.isna() & (pd.Series(columns[name]) != "")
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
            raise SourceError(
                f"{label}: column '{name}' row {row} is not a number "
                f"('{columns[name][row - 1][:20]}'); leave a missing value empty"
            )
        table[name] = values.astype(float).to_numpy()
    for place in ("lon", "lat"):
        if table[place].isna().any():
            raise SourceError(f"{label}: a row has no {place}; every row needs lon and lat")
    if (table["lat"].abs() > 90).any():
        raise SourceError(f"{label}: a latitude is beyond ±90; check the lon,lat order")
    table["lon"] = (table["lon"] + 180.0) % 360.0 - 180.0
    if "depth" in table and (table["depth"] < 0).any():
        raise SourceError(f"{label}: a depth is negative; depths are metres, positive down")
    return table
