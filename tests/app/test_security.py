"""Security defaults on a real server: websocket origins, what goes into a page, logins,
and no secrets in logs or messages."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys

import pytest
import requests
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from tests.servers import refused_port
from tests.ui.conftest import serving

pytestmark = [pytest.mark.slow]

CATALOG = (
    "datasets:\n  - id: demo-1deg\n    title: Demo ocean, one degree\n"
    "    adapter: demo\n    resolution: 1.0\n    days: 3\n"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app allowing one extra origin, ``allowed.example``, besides localhost."""
    root = tmp_path_factory.mktemp("security")
    (root / "catalog.yaml").write_text(CATALOG)
    log = root / "serve.log"
    with serving(
        "--catalog",
        str(root / "catalog.yaml"),
        "--allow-websocket-origin",
        "allowed.example",
        log=log,
    ) as url:
        yield url, log


def session_token(url: str, **kwargs) -> str:
    """The session token a page carries (what its websocket presents)."""
    with requests.Session() as client:
        html = client.get(url, timeout=60, **kwargs).text
    match = re.search(r'"token":\s*"([^"]+)"', html)
    assert match, "the page carries no session token"
    return match.group(1)


def token_payload(token: str) -> dict:
    """What a session token carries (Bokeh's own decoder: headers and cookies included)."""
    from bokeh.util.token import get_token_payload

    return get_token_payload(token)


def open_websocket(url: str, origin: str) -> str | int:
    """'open' when the server accepts a session's websocket from ``origin``, else the HTTP
    status it refused the handshake with."""
    port = url.split(":")[2].split("/")[0]
    token = session_token(url)

    async def attempt() -> str | int:
        request = HTTPRequest(f"ws://127.0.0.1:{port}/ws", headers={"Origin": origin})
        try:
            connection = await websocket_connect(request, subprotocols=["bokeh", token])
        except HTTPClientError as exc:
            return exc.code
        message = await connection.read_message()  # the server's first protocol message
        connection.close()
        while await connection.read_message() is not None:  # until the close completes
            pass
        return "open" if message is not None else "closed"

    return asyncio.run(asyncio.wait_for(attempt(), 60))


def test_localhost_and_configured_origins_open_a_session(server):
    url, _ = server
    port = url.split(":")[2].split("/")[0]
    assert open_websocket(url, f"http://localhost:{port}") == "open"
    assert open_websocket(url, "http://allowed.example") == "open"


@pytest.mark.parametrize(
    "origin",
    [
        "http://allowed.example.attacker.test",  # the suffix trick
        "http://attacker.test",
        "http://localhost.attacker.test",
        "null",
    ],
)
def test_other_origins_are_refused(server, origin):
    url, log = server
    assert open_websocket(url, origin) == 403
    assert "Refusing websocket connection from Origin" in log.read_text()


def test_request_headers_and_cookies_stay_out_of_the_page(server):
    url, _ = server
    secret_headers = {"X-Api-Key": "s3cr3t-header", "Authorization": "Bearer s3cr3t-bearer"}
    cookies = {"sessionid": "s3cr3t-cookie"}
    with requests.Session() as client:
        html = client.get(url, headers=secret_headers, cookies=cookies, timeout=60).text
    token = re.search(r'"token":\s*"([^"]+)"', html).group(1)
    carried = json.dumps(token_payload(token)) + html
    for secret in ("s3cr3t-header", "s3cr3t-bearer", "s3cr3t-cookie"):
        assert secret not in carried
    assert "X-Api-Key" not in carried and "sessionid" not in carried


def test_a_password_guards_the_app(tmp_path):
    (tmp_path / "catalog.yaml").write_text(CATALOG)
    secret = tmp_path / "password.txt"
    secret.write_text("reader:n0t-in-logs-7")
    log = tmp_path / "serve.log"
    args = ["--catalog", str(tmp_path / "catalog.yaml"), "--basic-auth", str(secret)]
    with serving(*args, log=log) as url:
        with requests.Session() as client:
            page = client.get(url, timeout=60)
        assert "/login" in page.url  # sent to the login page
        assert '"token"' not in page.text  # no session of the app before logging in
        # the session-free maps are guarded as well: no tile, map or embed before logging in
        guarded = ["tiles/demo-1deg/thetao/0/0/0.png", "tiles/demo-1deg/thetao/tilejson.json",
                   "wms?SERVICE=WMS&REQUEST=GetCapabilities", "embed/light/map"]  # fmt: skip
        for path in guarded:
            answer = requests.get(f"{url}{path}", timeout=60)
            assert "/login" in answer.url and answer.headers["Content-Type"].startswith(
                "text/html"
            ), path
        with requests.Session() as client:
            wrong = client.post(
                f"{url}login", data={"username": "reader", "password": "guess"}, timeout=60
            )
            assert "Invalid username or password" in wrong.text
            right = client.post(
                f"{url}login", data={"username": "reader", "password": "n0t-in-logs-7"}, timeout=60
            )
            assert right.status_code == 200 and "bokeh" in right.text.lower()
            assert '"token"' in right.text  # the app itself, with its session
            tile = client.get(f"{url}{guarded[0]}", timeout=60)
            assert tile.status_code == 200 and tile.content.startswith(b"\x89PNG")
    text = log.read_text()
    assert "n0t-in-logs-7" not in text, text[-3000:]


def test_passwords_in_source_urls_never_reach_messages_or_logs(tmp_path):
    with refused_port() as port:
        url = f"http://reader:t0p-s3cret@127.0.0.1:{port}/thredds/dodsC/ocean.nc"
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", "inspect", url],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 2
    assert "t0p-s3cret" not in done.stderr + done.stdout
    assert "reader:***@127.0.0.1" in done.stderr
