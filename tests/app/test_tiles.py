"""XYZ tiles and TileJSON from a real server: the render command's pixels, ETags, limits."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image

from app.cli import main
from components.core.colours import CATEGORY_COLOURS
from components.core.tiles import tile_bbox
from data_adapters import SourceError

pytestmark = [pytest.mark.slow]

COLOURS = {"cmap": "thermal", "clim": "2,28"}


def get(url: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    """Status, headers and body of a GET (errors included)."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def render(
    catalog: str,
    tmp_path,
    z: int,
    x: int,
    y: int,
    *extra: str,
    var: str = "thetao",
    dataset: str = "small-demo",
) -> np.ndarray:
    west, south, east, north = tile_bbox(z, x, y)
    out = tmp_path / f"render-{z}-{x}-{y}.png"
    argv = [
        "render", dataset, "--catalog", catalog, "--var", var, "--bare",
        "--crs", "EPSG:3857", "--bbox", f"{west!r},{south!r},{east!r},{north!r}",
        "--width", "256", "--height", "256", "-o", str(out), *extra,
    ]  # fmt: skip
    assert main(argv) == 0
    return np.asarray(Image.open(out).convert("RGBA"))


@pytest.mark.parametrize("z,x,y", [(1, 0, 0), (3, 4, 2)])
def test_a_tile_has_the_pixels_of_render_bare_for_its_box(map_server, tmp_path, z, x, y):
    url, catalog = map_server
    status, headers, body = get(
        f"{url}tiles/small-demo/thetao/{z}/{x}/{y}.png?time=2025-01-04&cmap=thermal&clim=2,28"
    )
    assert status == 200 and headers["Content-Type"] == "image/png"
    tile = pixels(body)
    assert tile.shape == (256, 256, 4)
    expected = render(catalog, tmp_path, z, x, y, "--time", "2025-01-04", "--cmap", "thermal",
                      "--clim", "2,28")  # fmt: skip
    assert (tile == expected).all()
    # sea has colour, land and no data are transparent
    alpha = tile[..., 3]
    assert (alpha == 255).any() and (alpha == 0).any()


def test_a_log_scale_tile_has_the_pixels_of_render_log(map_server, tmp_path):
    url, catalog = map_server
    colours = "cmap=algae&clim=0.05,5"
    status, _, body = get(f"{url}tiles/small-demo/chl/2/1/1.png?{colours}&log=true")
    assert status == 200
    expected = render(catalog, tmp_path, 2, 1, 1, "--cmap", "algae", "--clim", "0.05,5", "--log",
                      var="chl")  # fmt: skip
    assert (pixels(body) == expected).all()
    _, _, linear = get(f"{url}tiles/small-demo/chl/2/1/1.png?{colours}&log=false")
    assert not (pixels(linear) == expected).all()


def test_a_derived_variable_the_app_offers_is_served_as_tiles_too(map_server, tmp_path):
    # the dashboard lists the current speed beside the file's own variables: its map over
    # tiles needs /tiles to draw it, as render does
    url, catalog = map_server
    colours = "cmap=speed&clim=0,1"
    status, _, body = get(f"{url}tiles/small-demo/speed/2/1/1.png?time=2025-01-04&{colours}")
    assert status == 200, body
    expected = render(catalog, tmp_path, 2, 1, 1, "--time", "2025-01-04", "--cmap", "speed",
                      "--clim", "0,1", var="speed")  # fmt: skip
    assert (pixels(body) == expected).all()
    assert (pixels(body)[..., 3] == 255).any()  # the sea is drawn


@pytest.mark.parametrize(
    "show,cmap,clim", [("anomaly", "balance", "-3,3"), ("mhw-category", "mhw_category", "-0.5,4.5")]
)
def test_anomaly_and_heatwave_tiles_have_the_pixels_of_render_show(
    map_server, tmp_path, show, cmap, clim
):
    url, catalog = map_server
    z, x, y = 2, 0, 1  # the north-east Pacific, where the heatwave of 2024 is
    query = f"time=2024-07-25&scenario=heatwave&show={show}&ref=2021/2023&cmap={cmap}&clim={clim}"
    status, _, body = get(f"{url}tiles/past-demo/thetao/{z}/{x}/{y}.png?{query}")
    assert status == 200, body
    expected = render(catalog, tmp_path, z, x, y, "--time", "2024-07-25", "--scenario",
                      "heatwave", "--show", show, "--reference", "2021/2023", "--cmap", cmap,
                      "--clim", clim, dataset="past-demo")  # fmt: skip
    tile = pixels(body)
    assert (tile == expected).all()
    value_query = f"time=2024-07-25&scenario=heatwave&cmap={cmap}&clim={clim}"
    _, _, value = get(f"{url}tiles/past-demo/thetao/{z}/{x}/{y}.png?{value_query}")
    assert not (pixels(value) == tile).all()
    if show == "mhw-category":  # a strong heatwave or worse at its centre
        hot = [tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)) for c in CATEGORY_COLOURS[2:]]
        rgb = tile[..., :3].reshape(-1, 3)
        assert any((rgb == colour).all(axis=1).any() for colour in hot)


def test_a_tile_of_a_heatwave_without_a_full_year_is_refused_in_one_line(map_server):
    url, _ = map_server
    status, _, body = get(f"{url}tiles/small-demo/thetao/2/0/1.png?show=mhw-category")
    assert status == 400
    assert b"full year" in body and body.count(b"\n") == 1


def test_difference_tiles_show_the_change_that_compare_draws(map_server, tmp_path):
    url, catalog = map_server
    z, x, y = 2, 1, 1
    query = "mode=difference&baseline=baseline&scenario=warming_3&cmap=balance&clim=-4,4"
    status, _, body = get(f"{url}tiles/small-demo/thetao/{z}/{x}/{y}.png?{query}")
    assert status == 200
    west, south, east, north = tile_bbox(z, x, y)
    out = tmp_path / "compare.png"
    argv = [
        "compare", "small-demo", "--catalog", catalog, "--var", "thetao", "--baseline",
        "baseline", "--scenario", "warming_3", "--bare", "--crs", "EPSG:3857", "--bbox",
        f"{west!r},{south!r},{east!r},{north!r}", "--width", "256", "--height", "256",
        "--cmap", "balance", "--clim", "-4,4", "-o", str(out),
    ]  # fmt: skip
    assert main(argv) == 0
    assert (pixels(body) == np.asarray(Image.open(out).convert("RGBA"))).all()
    _, _, plain = get(f"{url}tiles/small-demo/thetao/{z}/{x}/{y}.png?cmap=balance&clim=-4,4")
    assert not (pixels(plain) == pixels(body)).all()


def test_etag_answers_304_before_rendering_and_changes_with_the_pixels(map_server):
    url, _ = map_server
    tile = f"{url}tiles/small-demo/thetao/2/2/1.png"
    status, headers, body = get(f"{tile}?time=2025-01-02")
    assert status == 200 and body
    tag = headers["Etag"]
    assert tag.startswith('"') and not tag.startswith("W/")
    assert "public" in headers["Cache-Control"] and "max-age=" in headers["Cache-Control"]
    status, again, body = get(f"{tile}?time=2025-01-02", {"If-None-Match": tag})
    assert status == 304 and body == b"" and again["Etag"] == tag
    # every choice that changes the pixels changes the tag
    for other in ("time=2025-01-03", "time=2025-01-02&cmap=haline", "time=2025-01-02&clim=0,9",
                  "time=2025-01-02&depth=500", "time=2025-01-02&scenario=warming_3"):  # fmt: skip
        status, headers, _ = get(f"{tile}?{other}", {"If-None-Match": tag})
        assert status == 200 and headers["Etag"] != tag, other
    # a past step is cached for long, the newest step of the source briefly
    _, past, _ = get(f"{tile}?time=2025-01-02")
    _, latest, _ = get(f"{tile}?time=2025-01-10")
    age = lambda h: int(h["Cache-Control"].split("max-age=")[1])  # noqa: E731
    assert age(past) > age(latest)


def test_tilejson_describes_the_tiles_and_their_template_works(map_server):
    url, _ = map_server
    status, _, body = get(f"{url}tiles/small-demo/thetao/tilejson.json?time=2025-01-03")
    assert status == 200
    doc = json.loads(body)
    assert doc["tilejson"] == "3.0.0"
    assert doc["bounds"][0] == -180 and doc["bounds"][2] == 180
    assert doc["minzoom"] == 0 and doc["maxzoom"] >= 3
    assert len(doc["times"]) == 10 and doc["time"] == "2025-01-03"
    template = doc["tiles"][0]
    assert "time=2025-01-03" in template and "clim=" in template
    status, headers, _ = get(template.format(z=1, x=1, y=0))
    assert status == 200 and headers["Content-Type"] == "image/png"
    next_step = doc["tiles_by_time"].replace("{time}", doc["times"][4])
    assert get(next_step.format(z=1, x=1, y=0))[0] == 200
    # past the finest zoom: refused
    top = doc["maxzoom"]
    assert get(template.format(z=top, x=0, y=0))[0] == 200
    assert get(template.format(z=top + 1, x=0, y=0))[0] == 400


@pytest.mark.parametrize(
    "path,status",
    [
        ("tiles/small-demo/thetao/40/0/0.png", 400),
        ("tiles/small-demo/thetao/1/2/0.png", 400),
        ("tiles/small-demo/thetao/999999999/0/0.png", 400),
        ("tiles/small-demo/..%2F..%2Fetc%2Fpasswd/0/0/0.png", 404),
        ("tiles/..%2Fsmall-demo/thetao/0/0/0.png", 404),
        ("tiles/small-demo/thetao/0/0/0.png?clim=nan,4", 400),
        ("tiles/small-demo/thetao/0/0/0.png?clim=4,1", 400),
        ("tiles/small-demo/thetao/0/0/0.png?time=yesterday", 400),
        ("tiles/small-demo/thetao/0/0/0.png?depth=-5", 400),
        ("tiles/small-demo/thetao/0/0/0.png?cmap=%3Cscript%3E", 400),
        ("tiles/small-demo/thetao/0/0/0.png?scenario=nope", 400),
        ("tiles/small-demo/thetao/0/0/0.png?mode=difference", 400),
        ("tiles/small-demo/thetao/0/0/0.png?time=" + "9" * 5000, 400),
        ("tiles/small-demo/thetao/tilejson.json?log=maybe", 400),
    ],
)
def test_hostile_tile_requests_get_4xx_and_the_server_keeps_serving(map_server, path, status):
    url, _ = map_server
    code, headers, body = get(f"{url}{path}")
    assert code == status
    assert headers["Content-Type"].startswith("text/plain") and b"Traceback" not in body
    assert headers["X-Content-Type-Options"] == "nosniff"  # echoed text is never a page
    assert len(body.decode().strip().splitlines()) == 1
    assert get(f"{url}health")[0] == 200


def test_the_value_at_a_point_is_its_cells_and_nothing_on_land(map_server):
    from data_adapters.demo import DemoOceanAdapter

    url, _ = map_server
    base = f"{url}tiles/small-demo/thetao/value.json?time=2025-01-04&scenario=warming_3"
    status, headers, body = get(f"{base}&lon=-145.3&lat=45.2")
    assert status == 200 and headers["Content-Type"] == "application/json"
    answer = json.loads(body)
    ocean = DemoOceanAdapter(resolution=1.0, days=10).open()["thetao"]
    cell = ocean.sel(scenario="warming_3").isel(time=3, depth=0)
    expected = float(cell.sel(lon=-145.3, lat=45.2, method="nearest"))
    assert answer["value"] == pytest.approx(expected, rel=1e-6)
    assert answer["units"] == ocean.attrs["units"] and answer["time"] == "2025-01-04"
    # the next day has another value; land has none
    _, _, other = get(f"{base.replace('01-04', '01-09')}&lon=-145.3&lat=45.2")
    assert json.loads(other)["value"] != answer["value"]
    _, _, land = get(f"{base}&lon=10&lat=50")
    assert json.loads(land)["value"] is None
    # cacheable as the tiles are
    again, _, _ = get(f"{base}&lon=-145.3&lat=45.2", {"If-None-Match": headers["Etag"]})
    assert again == 304


@pytest.mark.parametrize("point", ["lon=nan&lat=3", "lon=1e9&lat=3", "lat=3", "lon=2&lat=91",
                                   "lon=abc&lat=3"])  # fmt: skip
def test_a_value_at_a_hostile_point_is_refused_in_one_line(map_server, point):
    url, _ = map_server
    status, _, body = get(f"{url}tiles/small-demo/thetao/value.json?{point}")
    assert status == 400 and body.count(b"\n") == 1, body
    assert b"lon" in body or b"lat" in body


def test_refused_heatwave_maps_leave_nothing_behind_in_the_server():
    # each step of a dataset with no full year is refused: a hostile client asking for many
    # such steps must not grow the server's memory
    from app.map_requests import MapService
    from data_adapters import Catalog

    catalog = Catalog.from_dict(
        {"datasets": [{"id": "short", "adapter": "demo", "resolution": 1.0, "days": 10}]}
    )
    service = MapService(catalog)
    for day in range(1, 11):
        query = {"time": f"2025-01-{day:02d}", "show": "mhw-category"}
        req = service.request("short", "thetao", query)
        with pytest.raises(SourceError, match="full year"):
            service.field(req)
    assert not service._shown_locks and not service._shown_maps


def test_the_servers_kept_maps_stay_within_their_bounds_dropping_the_least_recent():
    # encoded tiles by ETag (bytes), fields and steps (counts): a crowd of new requests
    # must not grow the server, and what is in use stays
    from components.core.recent import Recent

    pngs = Recent(size=100, weigh=len)
    for n in range(10):
        pngs.put(f"tag{n}", b"x" * 30)
        assert pngs.get("tag0") is not None  # in use all along: never dropped
    assert len(pngs) == 3 and pngs.get("tag9") and pngs.get("tag8") and not pngs.get("tag1")
    steps = Recent(count=2)
    assert steps.put("a", 1) == [] and steps.put("b", 2) == []
    steps.get("a")
    assert steps.put("c", 3) == ["b"]  # the least recently used goes first
    assert steps.put("a", 9) == [] and steps.get("a") == 1  # the first value stays
