"""WMS 1.3.0 on a real server, read by a real WMS client (OWSLib) as GIS tools read it."""

from __future__ import annotations

import io
import urllib.error
import urllib.request

import numpy as np
import pytest
from owslib.wms import WebMapService
from PIL import Image

from app.cli import main

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def wms(map_server):
    url, _ = map_server
    return WebMapService(f"{url}wms", version="1.3.0", timeout=120)


def test_capabilities_list_each_variable_with_time_elevation_and_styles(wms):
    assert "small-demo/thetao" in wms.contents and "small-demo/zos" in wms.contents
    assert "small-demo/speed" in wms.contents  # derived, as the dashboard offers it
    layer = wms["small-demo/thetao"]
    assert len(layer.timepositions) == 10 and layer.timepositions[0] == "2025-01-01"
    assert layer.elevations and float(layer.elevations[0]) == pytest.approx(0.0, abs=10)
    assert "thermal" in layer.styles and "haline" in layer.styles
    assert "EPSG:3857" in layer.crsOptions and "EPSG:4326" in layer.crsOptions
    assert layer.boundingBoxWGS84 == pytest.approx((-180.0, -90.0, 180.0, 90.0), abs=1.0)


def test_getmap_in_lat_lon_order_draws_what_render_draws(wms, map_server, tmp_path):
    _, catalog = map_server
    # EPSG:4326 in WMS 1.3.0 is minlat,minlon,maxlat,maxlon: OWSLib takes the box lon first
    # and sends BBOX=20,-80,60,0 (the North Atlantic)
    response = wms.getmap(
        layers=["small-demo/thetao"], styles=["thermal"], srs="EPSG:4326",
        bbox=(-80.0, 20.0, 0.0, 60.0), size=(160, 80), format="image/png",
        transparent=True, time="2025-01-03", COLORSCALERANGE="0,30",
    )  # fmt: skip
    assert "bbox=20.0%2C-80.0%2C60.0%2C0.0" in response.geturl()
    got = np.asarray(Image.open(io.BytesIO(response.read())).convert("RGBA"))
    out = tmp_path / "render.png"
    argv = [
        "render", "small-demo", "--catalog", catalog, "--var", "thetao", "--bare",
        "--bbox", "-80,20,0,60", "--width", "160", "--height", "80", "--time", "2025-01-03",
        "--cmap", "thermal", "--clim", "0,30", "-o", str(out),
    ]  # fmt: skip
    assert main(argv) == 0
    assert got.shape == (80, 160, 4)
    assert (got == np.asarray(Image.open(out).convert("RGBA"))).all()


def test_getmap_web_mercator_with_elevation_and_opaque_background(wms):
    kwargs = dict(
        layers=["small-demo/thetao"], styles=[""], srs="EPSG:3857",
        bbox=(-20037508.34, -15000000.0, 20037508.34, 15000000.0), size=(256, 192),
        format="image/png", time="2025-01-02",
    )  # fmt: skip
    surface = Image.open(io.BytesIO(wms.getmap(transparent=True, **kwargs).read()))
    deep = Image.open(io.BytesIO(wms.getmap(transparent=True, elevation="1000", **kwargs).read()))
    opaque = Image.open(io.BytesIO(wms.getmap(transparent=False, bgcolor="#00FF00",
                                              **kwargs).read()))  # fmt: skip
    assert surface.size == (256, 192)
    assert np.asarray(surface).tobytes() != np.asarray(deep).tobytes()
    alpha = np.asarray(surface.convert("RGBA"))[..., 3]
    assert (alpha == 0).any()  # land is transparent
    flat = np.asarray(opaque.convert("RGBA"))
    assert (flat[..., 3] == 255).all()
    assert (flat[alpha == 0][:, :3] == (0, 255, 0)).all()  # ...or the background colour


@pytest.mark.parametrize(
    "query,code",
    [
        (
            "REQUEST=GetMap&LAYERS=small-demo/thetao&CRS=EPSG:4326&BBOX=nan,0,10,10"
            "&WIDTH=10&HEIGHT=10&FORMAT=image/png",
            "InvalidParameterValue",
        ),
        (
            "REQUEST=GetMap&LAYERS=small-demo/thetao&CRS=EPSG:4326&BBOX=0,0,10,10"
            "&WIDTH=100000&HEIGHT=100000&FORMAT=image/png",
            "InvalidParameterValue",
        ),
        (
            "REQUEST=GetMap&LAYERS=small-demo/thetao&CRS=EPSG:9999&BBOX=0,0,10,10"
            "&WIDTH=10&HEIGHT=10&FORMAT=image/png",
            "InvalidCRS",
        ),
        (
            "REQUEST=GetMap&LAYERS=../../etc/passwd&CRS=EPSG:4326&BBOX=0,0,10,10"
            "&WIDTH=10&HEIGHT=10&FORMAT=image/png",
            "LayerNotDefined",
        ),
        (
            "REQUEST=GetMap&LAYERS=small-demo/thetao&CRS=EPSG:4326&BBOX=0,0,10,10"
            "&WIDTH=10&HEIGHT=10&FORMAT=image/png&STYLES=nope",
            "StyleNotDefined",
        ),
        (
            "REQUEST=GetMap&LAYERS=small-demo/thetao&CRS=EPSG:4326&BBOX=0,0,10,10"
            "&WIDTH=10&HEIGHT=10&FORMAT=image/png&TIME=tomorrow",
            "InvalidDimensionValue",
        ),
        (
            "REQUEST=GetMap&LAYERS=small-demo/thetao&CRS=EPSG:4326&BBOX=0,0,10,10"
            "&WIDTH=10&HEIGHT=10&FORMAT=image/gif",
            "InvalidFormat",
        ),
        ("REQUEST=GetFeatureInfo", "OperationNotSupported"),
    ],
)
def test_bad_requests_get_a_service_exception_report_with_status_400(map_server, query, code):
    url, _ = map_server
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{url}wms?SERVICE=WMS&VERSION=1.3.0&{query}", timeout=60)
    assert caught.value.code == 400
    body = caught.value.read().decode()
    assert "<ServiceExceptionReport" in body and f'code="{code}"' in body
    with urllib.request.urlopen(f"{url}health", timeout=30) as health:
        assert health.status == 200
