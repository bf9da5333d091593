"""The offline coastline builder (``data_adapters.coastlines``): GSHHS to Natural Earth files."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import shapely

from data_adapters import coastlines

bc = coastlines


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The crude and low scales, built once for the module."""
    out = tmp_path_factory.mktemp("cartopy-data")
    result = bc.build_coastlines(out, "c,l")
    assert result.built == ["c", "l"]
    return out


def _no_network(*args: object, **kwargs: object) -> None:
    raise AssertionError(f"network access attempted: {args!r}")


@pytest.fixture
def offline_cartopy(built: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Cartopy pointed at ``built``, with no network and an empty geometry cache."""
    import cartopy
    import cartopy.feature
    import cartopy.io

    for key in ("data_dir", "pre_existing_data_dir"):
        monkeypatch.setitem(cartopy.config, key, cartopy.config[key])
    # Natural Earth geometries are cached per process by (name, category, scale).
    monkeypatch.setattr(cartopy.feature, "_NATURAL_EARTH_GEOM_CACHE", {})
    monkeypatch.setattr(urllib.request, "urlopen", _no_network)
    monkeypatch.setattr(cartopy.io, "urlopen", _no_network)
    # Every cartopy downloader (Natural Earth, GSHHS, ...) fetches through this.
    monkeypatch.setattr(cartopy.io.Downloader, "_urlopen", _no_network)
    bc.configure_cartopy(built)
    assert cartopy.config["data_dir"] == built.resolve()
    assert cartopy.config["pre_existing_data_dir"] == built.resolve()
    return built


def _natural_earth(name: str, scale: str) -> list[shapely.Geometry]:
    import cartopy.feature

    return list(cartopy.feature.NaturalEarthFeature("physical", name, scale).geometries())


def test_layout_matches_cartopy(built: Path) -> None:
    physical = built / "shapefiles" / "natural_earth" / "physical"
    for scale in ("110m", "50m"):
        for name in ("coastline", "land", "lakes"):
            for ext in (".shp", ".shx", ".dbf", ".prj"):
                assert (physical / f"ne_{scale}_{name}{ext}").stat().st_size > 0
    assert not list(physical.glob("ne_10m_*"))
    stamp = json.loads((built / bc.STAMP_NAME).read_text())
    assert set(stamp["scales"]) == {"c", "l"}


@pytest.mark.parametrize(("scale", "minimum"), [("110m", 500), ("50m", 4000)])
def test_coastline_geometries_within_globe(offline_cartopy: Path, scale: str, minimum: int) -> None:
    geoms = _natural_earth("coastline", scale)
    assert len(geoms) >= minimum
    assert {g.geom_type for g in geoms} <= {"LineString", "MultiLineString"}
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    assert -180 <= xmin < -179 and 179 < xmax <= 180
    assert ymin >= -90 and ymax <= 90


@pytest.mark.parametrize("scale", ["110m", "50m"])
def test_coastline_has_no_cut_edges(offline_cartopy: Path, scale: str) -> None:
    """No segment runs along the antimeridian, the pole or Antarctica's lon=0 split."""
    for geom in _natural_earth("coastline", scale):
        for line in shapely.get_parts(geom):
            xy = shapely.get_coordinates(line)
            a, b = xy[:-1], xy[1:]
            same_lon = a[:, 0] == b[:, 0]
            assert not (same_lon & (np.abs(a[:, 0]) == 180)).any()
            assert not (same_lon & (a[:, 0] == 0) & (np.minimum(a[:, 1], b[:, 1]) < -60)).any()
            assert not ((a[:, 1] <= -90) & (b[:, 1] <= -90)).any()
            # no edge jumps across the map
            assert np.abs(np.diff(xy[:, 0])).max(initial=0) < 180


@pytest.mark.parametrize("scale", ["110m", "50m"])
@pytest.mark.parametrize(
    ("lon", "lat", "is_land"),
    [
        (-3.7, 40.4, True),  # Madrid
        (-30.0, 30.0, False),  # mid-Atlantic
        (134.0, -25.0, True),  # central Australia
        (-140.0, 0.0, False),  # equatorial Pacific
        (-175.0, 66.5, True),  # Chukotka, east of the antimeridian
        (30.0, -89.5, True),  # Antarctica near the pole
        (-40.0, 72.0, True),  # Greenland
        (-150.0, -60.0, False),  # Southern Ocean
    ],
)
def test_land_polygons(
    offline_cartopy: Path, scale: str, lon: float, lat: float, is_land: bool
) -> None:
    land = _natural_earth("land", scale)
    assert all(g.is_valid for g in land)
    hits = shapely.STRtree(land).query(shapely.Point(lon, lat), predicate="intersects")
    assert (len(hits) > 0) is is_land


def test_loads_offline_and_download_would_fail(offline_cartopy: Path) -> None:
    assert _natural_earth("coastline", "110m")
    # The network guard is effective: a layer we do not provide would download.
    with pytest.raises(AssertionError, match="network access attempted"):
        _natural_earth("ocean", "110m")


def test_geoviews_features_load_offline(offline_cartopy: Path) -> None:
    import geoviews.feature as gf

    assert len(list(gf.coastline.data.geometries())) > 500
    assert len(list(gf.land.data.geometries())) > 500


def test_second_build_is_a_noop(built: Path) -> None:
    files = sorted((built / "shapefiles").rglob("*"))
    before = {p: p.stat().st_mtime_ns for p in files}
    stamp_before = (built / bc.STAMP_NAME).read_bytes()
    result = bc.build_coastlines(built, ["c", "l"])
    assert result.built == []
    assert {p: p.stat().st_mtime_ns for p in files} == before
    assert (built / bc.STAMP_NAME).read_bytes() == stamp_before
    assert sorted(result.files) == sorted(p for p in files if p.is_file())
    assert bc.ensure_coastlines(built, "c") == built


def test_rebuilds_only_what_is_missing(tmp_path: Path) -> None:
    assert bc.build_coastlines(tmp_path, "c").built == ["c"]
    (tmp_path / "shapefiles/natural_earth/physical/ne_110m_land.shp").unlink()
    assert bc.build_coastlines(tmp_path, "c").built == ["c"]
    assert bc.build_coastlines(tmp_path, "c").built == []
    assert bc.build_coastlines(tmp_path, "c", force=True).built == ["c"]
    assert not list(tmp_path.rglob(".build-*"))


def test_normalise_ring_splits_at_antimeridian() -> None:
    # An island stored in 0..360 longitudes, straddling 180.
    ring = np.array([[170, 0], [190, 0], [190, 10], [170, 10], [170, 0]], float)
    polygons, lines = bc.normalise_ring(ring)
    assert sorted(p.bounds for p in polygons) == [(-180, 0, -170, 10), (170, 0, 180, 10)]
    assert sum(p.area for p in polygons) == pytest.approx(200)
    for line in lines:
        assert np.abs(line[:, 0]).max() <= 180
        assert np.abs(np.diff(line[:, 0])).max() < 180


def test_normalise_ring_closes_polar_ring() -> None:
    # A ring going once around the South Pole, as Antarctica would if unsplit.
    lon = np.append(np.arange(0.0, 360.0, 10.0), 0.0)
    ring = np.column_stack([lon, np.full_like(lon, -70.0)])
    polygons, lines = bc.normalise_ring(ring)
    assert all(p.is_valid for p in polygons)
    assert sum(p.area for p in polygons) == pytest.approx(360 * 20)
    assert shapely.total_bounds(polygons).tolist() == [-180, -90, 180, -70]
    assert all((line[:, 1] == -70).all() for line in lines)


def test_rejects_unknown_scale(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown GSHHS scale"):
        bc.build_coastlines(tmp_path, "c,h")
