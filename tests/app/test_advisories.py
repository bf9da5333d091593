"""The advisories of the installed Panel, Bokeh and Tornado: each exploit sent to a real
``ocean-explorer serve`` fails, and the server keeps serving (``app/panel_fixes.py``; the
README's "Security" table lists them)."""

from __future__ import annotations

import ast
import http.client
import json
import pathlib
import re
import subprocess
import sys
import urllib.parse

import pytest
import requests

from app import panel_fixes
from tests.servers import refused_port
from tests.ui.conftest import serving

pytestmark = [pytest.mark.slow]

ROOT = pathlib.Path(__file__).resolve().parents[2]
CATALOG = (
    "datasets:\n  - id: demo-1deg\n    title: Demo ocean, one degree\n"
    "    adapter: demo\n    resolution: 1.0\n    days: 3\n"
)
#: What ``import this`` prints: in the server's log only if a request imported it.
ZEN = "Beautiful is better than ugly"


def raw_get(url: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """GET ``path`` exactly as written (no client normalises ``..`` or ``%2f`` away)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request("GET", path, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, answer.read().decode("utf-8", errors="replace")
    finally:
        connection.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app with one extra websocket origin, ``allowed.example``."""
    root = tmp_path_factory.mktemp("advisories")
    (root / "catalog.yaml").write_text(CATALOG)
    log = root / "serve.log"
    args = ["--catalog", str(root / "catalog.yaml"), "--allow-websocket-origin", "allowed.example"]
    with serving(*args, log=log) as url:
        yield url, log


@pytest.fixture(scope="module")
def password_server(tmp_path_factory):
    """The app behind ``--basic-auth`` (one login: reader)."""
    root = tmp_path_factory.mktemp("advisories-auth")
    (root / "catalog.yaml").write_text(CATALOG)
    (root / "password.txt").write_text("reader:n0t-in-logs-7")
    log = root / "serve.log"
    args = ["--catalog", str(root / "catalog.yaml"), "--basic-auth", str(root / "password.txt")]
    with serving(*args, log=log) as url:
        yield url, log


def logged_in(url: str, **cookies: str) -> requests.Session:
    client = requests.Session()
    for name, value in cookies.items():
        client.cookies.set(name, value)
    client.post(f"{url}login", data={"username": "reader", "password": "n0t-in-logs-7"}, timeout=60)
    return client


# -- GHSA-wfhv-r23p-8x9w and path tricks --------------------------------------------------

HOSTILE_PATHS = [
    "/components/unittest.__main__/a/b/c",  # stops the server on Panel 1.9.4
    "/components/this/a/b/c",  # prints the Zen of Python when imported
    "/components/http.server/a/b/c",
    "/components/os/a/b/c",
    "/components/subprocess/a/b/c",
    "/components/antigravity/a/b/c",
    "/components/panel.__main__/a/b/c",
    "/components/panel.io.jupyter_server_extension/a/b/c",
    "/components/panel/../../../etc/passwd",
    "/components/panel%2f..%2f..%2fetc/a/b/c",
    "/components//etc/passwd/a/b",
    "/components/%2fetc%2fpasswd/a/b/c",
    "/static/../../../etc/passwd",
    "/static/..%2f..%2f..%2fetc%2fpasswd",
    "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/static//etc/passwd",
    "/static/js/..%5c..%5c..%5cetc%5cpasswd",
    "/static/extensions/panel/..%2f..%2f..%2fsetup.cfg",
    "/assets/..%2f..%2fpyproject.toml",
    "/assets/../pyproject.toml",
    "/assets//etc/passwd",
]


def test_hostile_paths_get_4xx_and_the_server_keeps_serving(server):
    url, log = server
    for path in HOSTILE_PATHS:
        status, body = raw_get(url, path)
        assert 400 <= status < 500, f"{path}: HTTP {status}"
        assert "root:" not in body and "[project]" not in body, path
    health = requests.get(f"{url}health", timeout=60)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    page = requests.get(url, timeout=60)
    assert page.status_code == 200 and '"token"' in page.text
    assert ZEN not in log.read_text()  # `this` was never imported


def test_panel_alone_imports_the_module_a_url_names():
    """The defect the fix is for: Panel's own handler imports ``this`` (when this fails, the
    installed Panel no longer does, and the fix "component-modules" can go)."""
    code = (
        "from panel.io.server import ComponentResourceHandler as H\n"
        "try:\n    H.parse_url_path(None, 'this/a/b/c')\nexcept Exception:\n    pass\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert ZEN in done.stdout


def test_the_allow_list_imports_nothing():
    assert panel_fixes.component_module("panel.template.fast.list")
    for name in ("this", "os", "unittest.__main__", "panel.__main__", "http.server", "../x"):
        assert not panel_fixes.component_module(name), name
    assert "antigravity" not in sys.modules


# -- autoload.js only for allowed embedders -------------------------------------------------


def autoload(url: str, **headers: str) -> int:
    """The status ``/autoload.js`` answers a page with these headers (and a login cookie)."""
    query = urllib.parse.urlencode(
        {"bokeh-autoload-element": "p1", "bokeh-app-path": "/", "bokeh-absolute-url": url}
    )
    headers = {"Cookie": "user=someone", **{k.replace("_", "-"): v for k, v in headers.items()}}
    return raw_get(url, f"/autoload.js?{query}", headers)[0]


def test_autoload_js_goes_only_to_allowed_embedders(server):
    url, _ = server
    assert autoload(url, Origin="http://attacker.test") == 403
    assert autoload(url, Origin="http://allowed.example.attacker.test") == 403
    assert autoload(url, Referer="http://attacker.test/page.html") == 403  # a <script> tag
    assert autoload(url, Sec_Fetch_Site="cross-site") == 403  # ... with no-referrer
    assert autoload(url, Origin="http://allowed.example") == 200
    assert autoload(url, Referer="http://allowed.example/story.html") == 200
    assert autoload(url) == 200  # a same-site page or a direct request


# -- logins: SameSite cookies, the is_guest cookie, OAuth -----------------------------------


def test_login_cookies_are_samesite_lax(password_server):
    url, _ = password_server
    answer = requests.post(
        f"{url}login",
        data={"username": "reader", "password": "n0t-in-logs-7"},
        allow_redirects=False,
        timeout=60,
    )
    cookies = answer.raw.headers.getlist("Set-Cookie")
    user = [c for c in cookies if c.startswith("user=")]
    assert user, cookies
    assert all("samesite=lax" in c.lower() for c in cookies), cookies


def test_an_is_guest_cookie_does_not_reach_a_logged_in_session(password_server):
    """GHSA-gfgq-cv3v-p4wc: the unsigned is_guest cookie replaced the logged-in user."""
    from bokeh.util.token import get_token_payload

    url, _ = password_server
    with logged_in(url, is_guest="1") as client:
        html = client.get(url, timeout=60).text
    token = re.search(r'"token":\s*"([^"]+)"', html).group(1)
    cookies = get_token_payload(token).get("cookies", {})
    assert "user" in cookies  # the signed login travels
    assert "is_guest" not in cookies


OAUTH = ("--oauth-provider", "github", "--oauth-key", "k", "--oauth-secret", "s")


def test_oauth_is_refused_while_panel_has_open_oauth_advisories(tmp_path):
    if panel_fixes.refusal("--oauth-provider") is None:
        pytest.fail("the installed Panel has the OAuth fixes: allow --oauth-* again")
    with refused_port() as port:
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port), *OAUTH],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "GHSA-3349-j265-r4mf" in lines[0], done.stderr
    assert "Traceback" not in done.stderr


# -- features the product does not use ------------------------------------------------------


def test_the_product_uses_none_of_the_unfixed_features():
    """Str pane, FileSelector, location.sync, authorize_callback: advisories of Panel 1.9.4
    in features no module of the product calls (the README's table says so)."""
    unused = {"Str", "FileSelector", "sync", "authorize_callback"}
    for package in ("app", "components", "data_adapters"):
        for module in (ROOT / package).rglob("*.py"):
            tree = ast.parse(module.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                name = node.attr if isinstance(node, ast.Attribute) else None
                name = node.arg if isinstance(node, ast.keyword) else name
                assert name not in unused, f"{module}:{node.lineno} uses {name}"


def test_the_venv_keeps_panels_jupyter_preview_extension_off():
    """GHSA-4jp4-79rh-q63h: a Jupyter server run from this environment loads no Panel
    preview extension (the last file of its config folder wins)."""
    folder = pathlib.Path(sys.prefix) / "etc" / "jupyter" / "jupyter_server_config.d"
    merged: dict = {}
    for path in sorted(folder.glob("*.json")):
        extensions = json.loads(path.read_text()).get("ServerApp", {}).get("jpserver_extensions")
        merged.update(extensions or {})
    assert merged.get("panel.io.jupyter_server_extension") is False


# -- server paths stay private ------------------------------------------------------------


def strings_of(document) -> list[str]:
    """Every text a session's document holds: the values of every model's properties."""
    found: list[str] = []

    def collect(value) -> None:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                collect(key)
                collect(item)
        elif isinstance(value, list | tuple):
            for item in value:
                collect(item)

    for model in document.models:
        for name in model.properties_with_values(include_defaults=False):
            collect(getattr(model, name))
    return found


def test_no_server_directory_reaches_a_session(tmp_path):
    """A SOURCE given by absolute path, and a catalog entry whose file is gone, are named by
    file name in the catalogue, the About panel, the titles and the notices a session
    receives over its websocket."""
    from bokeh.client import pull_session

    from tests.load import register_models
    from tests.synthetic import regular, write_netcdf

    register_models()  # the client needs the class of every model of the page (the uploader's)

    private = tmp_path / "private-runs-7q" / "cycle-2025"
    private.mkdir(parents=True)
    untitled = regular()
    untitled.attrs.pop("title", None)
    source = write_netcdf(untitled, private / "ocean_run.nc")
    (tmp_path / "catalog.yaml").write_text(
        CATALOG + f"  - id: gone\n    title: Gone run\n    adapter: netcdf\n"
        f"    path: {private / 'missing.nc'}\n"
    )
    log = tmp_path / "serve.log"
    with serving("--catalog", str(tmp_path / "catalog.yaml"), source, log=log) as url:
        for dataset in ("ocean_run.nc", "gone"):
            with pull_session(url=url, arguments={"dataset": dataset}) as session:
                texts = strings_of(session.document)
            assert any("ocean_run.nc" in text for text in texts), dataset  # named by its file
            leaked = [text for text in texts if "private-runs-7q" in text]
            assert not leaked, f"{dataset}: {leaked[:3]}"
            if dataset == "gone":
                assert any("missing.nc" in text for text in texts), "no notice of the failure"
    assert "private-runs-7q" in log.read_text()  # the log keeps the full path
