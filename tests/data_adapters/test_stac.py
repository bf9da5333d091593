"""The STAC adapter and ``ocean-explorer search`` against a real STAC API (``rustac serve``)
over an EDITO-shaped data lake, and against a static catalog written by pystac."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest
from PIL import Image

from app.cli import main
from data_adapters import SourceError, open_source, validate_dataset
from data_adapters.stac import StacAdapter, source_for
from tests import synthetic
from tests.stac_servers import (
    GLOBAL_THETAO,
    GLOBAL_ZOS,
    NORTH_SEA_THETAO,
    THETAO_COLLECTION,
    ZOS_COLLECTION,
    running_lake,
)


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    with running_lake(tmp_path_factory.mktemp("lake")) as running:
        yield running


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys):
    def run(*args: str) -> Result:
        try:
            code = main(list(args))
        except SystemExit as exc:
            code = exc.code
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def search_ids(cli, *args: str) -> list[str]:
    result = cli("search", *args, "--json")
    assert result.code == 0, result.err
    return [hit["id"] for hit in json.loads(result.out)]


# -- opening ----------------------------------------------------------------------------------
def test_an_edito_item_opens_its_geo_series_for_maps_and_time_series_for_points(lake):
    opened = open_source(source_for(lake.root, THETAO_COLLECTION, GLOBAL_THETAO))
    ds = opened.dataset
    validate_dataset(ds)
    expected = synthetic.regular(times=4)
    assert ds["thetao"].chunks[0] == (1, 1, 1, 1)  # time-chunked: arco-geo-series
    np.testing.assert_allclose(
        ds["thetao"].isel(time=2, depth=0).values, expected["thetao"].isel(time=2, depth=0)
    )
    series = opened.for_series()
    assert series["thetao"].sizes["time"] == 4 and series["thetao"].chunks[0] == (4,)
    lake.data.reset_counts()
    np.testing.assert_allclose(
        series["thetao"].isel(lat=3, lon=4, depth=0).values,
        expected["thetao"].isel(lat=3, lon=4, depth=0).values,
    )
    assert lake.data.count("thetao-ts/thetao/c/") == 1  # one geo chunk, all times
    assert lake.data.count("thetao-geo/thetao/c/") == 0


def test_a_netcdf_asset_opens_lazily_over_http(lake):
    ds = open_source(source_for(lake.root, ZOS_COLLECTION, GLOBAL_ZOS)).dataset
    validate_dataset(ds)
    assert ds["zos"].chunks is not None  # lazy
    np.testing.assert_allclose(ds["zos"].isel(time=3).values, 3.0)


def test_a_static_catalog_item_opens(lake):
    ds = open_source(source_for(lake.static, THETAO_COLLECTION, GLOBAL_THETAO)).dataset
    validate_dataset(ds)
    assert float(ds["zos"].isel(time=1).mean()) == 1.0


def test_asset_can_be_chosen_and_a_non_data_asset_is_refused(lake):
    adapter = StacAdapter(
        url=lake.root, collections=[THETAO_COLLECTION], item=GLOBAL_THETAO, asset="wmts"
    )
    with pytest.raises(SourceError, match="asset 'wmts' is neither Zarr nor NetCDF"):
        adapter.open()
    ts = StacAdapter(
        url=lake.root,
        collections=[THETAO_COLLECTION],
        item=GLOBAL_THETAO,
        asset="arco-time-series",
    ).open()
    assert ts["thetao"].chunks[0] == (4,)


def test_an_unknown_item_is_one_line_naming_it(lake, cli):
    result = cli("inspect", source_for(lake.root, THETAO_COLLECTION, "no-such-item"))
    assert result.code == 2
    assert "no-such-item" in result.err and "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1


# -- searching --------------------------------------------------------------------------------
def test_text_matches_standard_names_titles_and_keywords(lake, cli):
    assert sorted(search_ids(cli, "potential temperature", "--stac", lake.root)) == [
        GLOBAL_THETAO,
        NORTH_SEA_THETAO,
    ]
    assert search_ids(cli, "sea level", "--stac", lake.root) == [GLOBAL_ZOS]  # a keyword
    assert search_ids(cli, "shelf reanalysis", "--stac", lake.root) == [NORTH_SEA_THETAO]
    assert search_ids(cli, "chlorophyll", "--stac", lake.root) == []


def test_box_and_time_filter_the_hits(lake, cli):
    pacific = search_ids(cli, "--stac", lake.root, "--bbox", "150,-10,170,10")
    assert sorted(pacific) == [GLOBAL_THETAO, GLOBAL_ZOS]
    year_2020 = search_ids(cli, "--stac", lake.root, "--start", "2020-03-01", "--end", "2020-04-01")
    assert year_2020 == [NORTH_SEA_THETAO]
    one = search_ids(cli, "--stac", lake.root, "--collection", ZOS_COLLECTION, "--limit", "5")
    assert one == [GLOBAL_ZOS]


def test_a_hit_lists_what_a_user_chooses_by(lake, cli):
    result = cli("search", "temperature", "--stac", lake.root, "--bbox", "0,0,10,10", "--json")
    (hit,) = json.loads(result.out)
    assert hit["source"] == source_for(lake.root, THETAO_COLLECTION, GLOBAL_THETAO)
    assert hit["title"] == "Global ocean temperature analysis"
    assert hit["bbox"] == [-180, -90, 180, 90]
    assert hit["time_range"][0].startswith("2025-01-01")
    assert hit["variables"] == [
        {"name": "thetao", "standard_name": "sea_water_potential_temperature"}
    ]
    assert hit["provider"] == "Test Marine Service" and hit["license"] == "CC-BY-4.0"
    text = cli("search", "temperature", "--stac", lake.root, "--bbox", "0,0,10,10")
    assert GLOBAL_THETAO in text.out and "sea_water_potential_temperature" in text.out


def test_a_static_catalog_is_searched_the_same_way(lake, cli):
    assert search_ids(cli, "sea level", "--stac", lake.static) == [GLOBAL_ZOS]
    assert search_ids(
        cli, "--stac", lake.static, "--start", "2020-06-01", "--end", "2020-06-02"
    ) == [NORTH_SEA_THETAO]


def test_a_static_catalog_over_http_is_searched_and_opened(lake, cli):
    url = f"{lake.data.url}/static/catalog.json"
    (hit,) = json.loads(cli("search", "sea level", "--stac", url, "--json").out)
    assert hit["source"] == source_for(url, ZOS_COLLECTION, GLOBAL_ZOS)
    ds = open_source(hit["source"]).dataset
    np.testing.assert_allclose(ds["zos"].isel(time=2).values, 2.0)


def test_an_unreachable_catalogue_is_one_line(cli, tmp_path):
    result = cli("search", "--stac", "http://127.0.0.1:9/stac/")
    assert result.code == 2 and "Traceback" not in result.err
    assert "127.0.0.1:9" in result.err and len(result.err.strip().splitlines()) == 1


# -- every command takes a hit's source -------------------------------------------------------
def test_render_timeseries_and_compare_take_a_hit_as_source(lake, cli, tmp_path):
    (hit,) = json.loads(cli("search", "global temperature", "--stac", lake.root, "--json").out)
    stac, local = hit["source"], lake.local
    for name, source in (("stac", stac), ("local", local)):
        out = tmp_path / f"{name}.png"
        result = cli("render", source, "--var", "thetao", "--time", "2025-01-03", "--bare",
                     "-o", str(out))  # fmt: skip
        assert result.code == 0, result.err
    same = (
        np.asarray(Image.open(tmp_path / "stac.png")),
        np.asarray(Image.open(tmp_path / "local.png")),
    )
    assert same[0].shape == same[1].shape and (same[0] == same[1]).all()
    assert len(np.unique(same[0].reshape(-1, same[0].shape[-1]), axis=0)) > 3

    series = [
        cli("timeseries", s, "--var", "thetao", "--lon", "-135", "--lat", "-45").out
        for s in (stac, local)
    ]
    assert series[0].splitlines()[1:] == series[1].splitlines()[1:]
    assert len(series[0].splitlines()) >= 5  # a header, the columns, four days

    stats = tmp_path / "stats.json"
    shifted = synthetic.regular(times=4)
    shifted["thetao"] = shifted["thetao"] + 1.5
    shifted["thetao"].attrs = synthetic.THETAO_ATTRS
    warmer = synthetic.write_netcdf(shifted, tmp_path / "warmer.nc")
    result = cli("compare", stac, "--var", "thetao", "--scenario", warmer, "-o",
                 str(tmp_path / "diff.png"), "--stats", str(stats))  # fmt: skip
    assert result.code == 0, result.err
    assert abs(json.loads(stats.read_text())["mean_diff"] - 1.5) < 1e-4


def test_bad_search_input_exits_2(cli, lake):
    assert cli("search", "--stac", lake.root, "--start", "yesterday").code == 2
    assert cli("search", "x").code == 2  # neither --stac nor --cmems
    assert cli("search", "--stac", lake.root, "--limit", "0").code == 2
