"""CORS for browser-based CDS Hooks clients (contract §4), against the real server.

The CDS Hooks sandbox calls the service from a page of another origin with ``fetch()`` and a
bearer token: the preflight ``OPTIONS`` must be answered and ``Access-Control-Allow-Origin`` sent
for the trusted clients' origins, and for those only; the clinician pages never answer another
origin. The browser test drives Debian's chromium through Playwright: a page served from a second
loopback origin calls the service exactly as the sandbox does.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.jwt_keys import es384_client, write_clients_file
from tests.support.servers import dev_settings, start_server

SERVICE = "/cds-services/igwatch-patient-view"
REQUESTS = Path(__file__).parent / "requests"
CLIENT = es384_client(iss="https://browser-ehr.example", kid="cors-1")
SANDBOX_ORIGIN = "http://localhost:{port}"  # the page's origin: another port, another origin


@pytest.fixture(scope="module")
def page_server() -> Iterator[tuple[int, dict[str, str]]]:
    """A tiny page host on its own loopback port; ``pages`` maps paths to HTML."""
    pages: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path, "").encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1], pages
    httpd.shutdown()


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, page_server: tuple[int, dict[str, str]]
) -> Iterator[str]:
    port, _ = page_server
    directory = tmp_path_factory.mktemp("cors")
    clients = write_clients_file(
        directory, [CLIENT], origins={CLIENT.iss: [SANDBOX_ORIGIN.format(port=port)]}
    )
    settings = dev_settings(directory, insecure_dev_no_auth=False, cds_clients=clients)
    with start_server(settings) as base_url:
        yield base_url


def _preflight(base_url: str, origin: str, path: str = SERVICE) -> httpx.Response:
    return httpx.options(
        base_url + path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )


def test_preflight_is_answered_for_a_trusted_origin(
    service: str, page_server: tuple[int, dict[str, str]]
) -> None:
    origin = SANDBOX_ORIGIN.format(port=page_server[0])
    response = _preflight(service, origin)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == origin
    allowed = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed


def test_an_untrusted_origin_gets_no_cors_grant(service: str) -> None:
    response = _preflight(service, "https://evil.example")
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


def test_the_clinician_pages_never_answer_another_origin(
    service: str, page_server: tuple[int, dict[str, str]]
) -> None:
    origin = SANDBOX_ORIGIN.format(port=page_server[0])
    response = httpx.get(service + "/", headers={"Origin": origin})
    assert "access-control-allow-origin" not in response.headers


def test_dev_mode_allows_any_origin(tmp_path: Path) -> None:
    with start_server(dev_settings(tmp_path)) as base_url:
        response = _preflight(base_url, "https://sandbox.cds-hooks.org")
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "*"


def test_an_origin_with_a_path_is_refused_in_the_clients_file(tmp_path: Path) -> None:
    from igwatch.cdshooks.auth import TrustedClientsError, load_trusted_clients

    path = write_clients_file(tmp_path, [CLIENT], origins={CLIENT.iss: ["https://ehr.example/app"]})
    with pytest.raises(TrustedClientsError, match=r"origins\[0\].*is not an origin"):
        load_trusted_clients(path)


CHROMIUM = "/usr/bin/chromium"


@pytest.mark.browser
@pytest.mark.timeout(180)
def test_a_page_of_another_origin_calls_the_service_with_fetch(
    service: str, page_server: tuple[int, dict[str, str]]
) -> None:
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: scripts/setup installs Debian's chromium")
        pytest.skip("Debian chromium is not installed")
    port, pages = page_server
    body = json.loads((REQUESTS / "patient-view-many-urgent.json").read_text())
    token = CLIENT.token(service + SERVICE)
    pages["/sandbox.html"] = f"""<!doctype html><meta charset="utf-8"><title>sandbox</title>
<script>
window.result = fetch({json.dumps(service + SERVICE)}, {{
  method: "POST",
  headers: {{"Authorization": "Bearer {token}", "Content-Type": "application/json"}},
  body: {json.dumps(json.dumps(body))}
}}).then(r => r.json().then(j => ({{status: r.status, cards: j.cards.length}})))
  .catch(e => ({{error: String(e)}}));
</script>"""
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            tab = browser.new_page()
            tab.goto(f"{SANDBOX_ORIGIN.format(port=port)}/sandbox.html")
            outcome = tab.evaluate("window.result")
        finally:
            browser.close()
    assert outcome.get("status") == 200, outcome
    assert outcome["cards"] >= 1
