"""Uploads on the server: chunks counted against the limit, files private, lifetime bounded."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

from app.uploads import UploadReceiver, shared_upload
from components.state import ExplorerState
from data_adapters import Catalog
from data_adapters.session_catalog import SessionCatalog
from tests.synthetic import SYNTHETIC, run, run_variant, write_netcdf


class Outcome:
    def __init__(self) -> None:
        self.ready, self.refused = [], []


@pytest.fixture
def outcome():
    return Outcome()


def receiver_for(outcome: Outcome, max_mb: float = 1.0, **kwargs) -> UploadReceiver:
    return UploadReceiver(max_mb, outcome.ready.append, outcome.refused.append, **kwargs)


def chunks(data: bytes, size: int, name: str) -> list[dict]:
    parts = [data[i : i + size] for i in range(0, max(len(data), 1), size)]
    return [
        {"name": name, "chunk": k + 1, "total_chunks": len(parts), "data": part, "type": ""}
        for k, part in enumerate(parts)
    ]


def test_chunks_arriving_out_of_order_make_the_file_sent(outcome, tmp_path):
    data = pathlib.Path(write_netcdf(SYNTHETIC["regular"](), tmp_path / "m.nc")).read_bytes()
    receiver = receiver_for(outcome, chunk_bytes=4096)
    events = chunks(data, 4096, "../../etc/m.nc")
    for event in reversed(events):  # event threads need not keep the order sent
        receiver.receive(event)
    (upload,) = outcome.ready
    assert not outcome.refused
    assert upload.summary.startswith("m.nc: regular grid")
    assert upload.directory.parent == receiver.directory  # named by the server, not the client
    assert (upload.directory / "data.nc").read_bytes() == data
    assert shared_upload(upload.id) is upload
    gone = []
    receiver.on_gone.append(gone.append)  # e.g. the frame cache drops the upload's frames
    receiver.close()
    assert not receiver.directory.exists() and shared_upload(upload.id) is None
    assert gone == [upload.id]


def test_an_upload_stops_at_the_limit_while_its_chunks_arrive(outcome, tmp_path):
    receiver = receiver_for(outcome, max_mb=0.01, chunk_bytes=4096)
    # the browser announces one chunk but sends more bytes than the limit in it
    receiver.receive({"name": "a.nc", "chunk": 1, "total_chunks": 1, "data": bytes(20_000)})
    events = chunks(b"CDF\x01" + bytes(9_000), 4096, "b.nc")  # three chunks, 9 kB: fits
    assert [r.split(":")[0] for r in outcome.refused] == ["a.nc"]
    assert not list(receiver.directory.iterdir())  # its file is gone
    receiver.receive(events[0])
    receiver.receive(events[1])
    assert not outcome.ready and len(outcome.refused) == 1  # b.nc is still arriving
    receiver.close()
    announced = receiver_for(outcome, max_mb=0.01, chunk_bytes=4096)
    for event in chunks(bytes(40_000), 4096, "big.nc"):
        announced.receive(event)  # refused at the first chunk: 10 chunks of 4 kB announced
    announced.close()
    assert not outcome.ready and [r.split(":")[0] for r in outcome.refused] == ["a.nc", "big.nc"]


def test_the_limit_notice_names_it(outcome):
    receiver = receiver_for(outcome, max_mb=0.01)
    assert receiver.too_large("big.nc") == (
        "big.nc: larger than the upload limit of 0.01 MB; upload a smaller file, or a subset "
        "(ocean-explorer export)"
    )
    receiver.close()


def test_uploads_expire_after_their_time_to_live(outcome, tmp_path):
    now = [1000.0]
    receiver = receiver_for(outcome, ttl_s=60, clock=lambda: now[0])
    data = pathlib.Path(write_netcdf(SYNTHETIC["regular"](), tmp_path / "m.nc")).read_bytes()
    receiver.max_mb = 10
    for event in chunks(data, 10_000_000, "m.nc"):
        receiver.receive(event)
    (upload,) = outcome.ready
    assert receiver.expire() == []
    now[0] += 61
    assert receiver.expire() == [upload]
    assert not upload.directory.exists() and shared_upload(upload.id) is None
    receiver.close()


def test_a_session_catalog_keeps_its_uploads_to_itself(outcome, tmp_path):
    shared = Catalog.from_dict({"datasets": [{"id": "demo", "title": "D", "adapter": "demo"}]})
    mine, theirs = SessionCatalog(shared), SessionCatalog(shared)
    receiver = receiver_for(outcome, max_mb=10)
    data = pathlib.Path(write_netcdf(SYNTHETIC["regular"](), tmp_path / "m.nc")).read_bytes()
    for event in chunks(data, 10_000_000, "m.nc"):
        receiver.receive(event)
    (upload,) = outcome.ready
    mine.add(upload.opened)
    assert upload.id in mine and mine.open(upload.id) is upload.opened
    assert upload.id not in theirs and upload.id not in shared
    assert list(theirs.datasets) == ["demo"]
    receiver.close()


def test_a_session_catalog_searches_and_opens_only_the_servers_catalogues():
    shared = Catalog.from_dict(
        {
            "datasets": [{"id": "demo", "title": "D", "adapter": "demo"}],
            "catalogues": {"stac": ["http://127.0.0.1:9/stac/"], "cmems": False},
        }
    )
    session = SessionCatalog(shared)
    assert session.catalogues == shared.catalogues
    # a link to the default data lake is refused where the server does not search it
    assert not session.catalogues.allows("stac:https://api.dive.edito.eu/data/#c/i")
    assert session.catalogues.allows("stac:http://127.0.0.1:9/stac/#c/i")


def base_run_session(tmp_path) -> tuple[SessionCatalog, ExplorerState]:
    """A session's catalog over a server catalog of one NetCDF run ("base"), and its state."""
    base = write_netcdf(run(0.0), tmp_path / "base.nc")
    shared = Catalog.from_dict(
        {"datasets": [{"id": "base", "title": "Base run", "adapter": "netcdf", "path": base}]}
    )
    catalog = SessionCatalog(shared)
    return catalog, ExplorerState(catalog)


def test_a_gridded_upload_compared_with_a_catalog_dataset_shows_upload_minus_it(outcome, tmp_path):
    catalog, state = base_run_session(tmp_path)
    # the upload lies on a finer grid (5°): regridded onto the baseline's 10° cells
    upload_ds = run_variant(offset=2.5, lon=np.arange(-180.0, 180.0, 5.0))
    data = pathlib.Path(write_netcdf(upload_ds, tmp_path / "mine.nc")).read_bytes()
    receiver = receiver_for(outcome, max_mb=10)
    for event in chunks(data, 10_000_000, "mine.nc"):
        receiver.receive(event)
    (upload,) = outcome.ready
    catalog.add(upload.opened)
    state.datasets_changed()

    state.compare_with(upload.id, "base")
    assert state.message == "" and state.mode == "difference"
    assert state.dataset_id == f"base vs {upload.id}"
    assert state.baseline == "base" and state.scenarios == ["mine"]
    assert "mine" in state.dataset.attrs["regridded_scenarios"]
    cell = {"lon": 25.0, "lat": 35.0}
    change = state.field(scenario="mine") - state.field(scenario="base")
    expected = upload_ds["thetao"].isel(time=0, depth=0).sel(cell) - run(0.0)["thetao"].isel(
        time=0, depth=0
    ).sel(cell)
    assert float(change.sel(cell)) == pytest.approx(float(expected), abs=1e-4)
    assert float(expected) == pytest.approx(2.5, abs=1e-4)

    # and the other way round: the upload as baseline, the catalog dataset as what-if run
    state.compare_with("base", upload.id)
    assert state.dataset_id == f"{upload.id} vs base" and state.baseline == "mine"
    back = state.field(scenario="base") - state.field(scenario="mine")
    assert float(back.sel(cell)) == pytest.approx(-2.5, abs=1e-4)
    receiver.close()


def test_only_the_servers_own_maps_are_drawn_from_its_tiles(outcome, tmp_path):
    # /tiles serves the server's catalog: a session's upload, comparison or expression is
    # not there (its tiles would be 404s, a blank map), so such maps stay on the session's
    # own rendered image (components.map_tiles.MapTiles.used)
    catalog, state = base_run_session(tmp_path)
    assert state.shared_map()
    assert state.add_expression("warmer [degC] = thetao + 1") == "warmer"
    assert state.variable == "warmer" and not state.shared_map()
    state.variable = "thetao"
    assert state.shared_map()
    receiver = receiver_for(outcome, max_mb=10)
    data = pathlib.Path(write_netcdf(run_variant(offset=2.5), tmp_path / "mine.nc")).read_bytes()
    for event in chunks(data, 10_000_000, "mine.nc"):
        receiver.receive(event)
    (upload,) = outcome.ready
    catalog.add(upload.opened)
    state.datasets_changed(upload.id)
    assert state.dataset_id == upload.id and not state.shared_map()
    state.compare_with(upload.id, "base")
    assert state.dataset_id == f"base vs {upload.id}" and not state.shared_map()
    state.dataset_id = "base"
    assert state.shared_map()
    receiver.close()
