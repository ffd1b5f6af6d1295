"""A real igwatch CDS Hooks server for the tests of this folder (one per xdist worker).

``cds_server`` is the base URL of a server in ``--insecure-dev-no-auth`` mode answering as of
``AS_OF``, with its own SQLite file; tests that need other settings start their own server
with :func:`tests.support.servers.start_server`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from igwatch.store import Database, load_path
from tests.support.servers import dev_settings, start_server

AS_OF = date(2026, 10, 15)


#: The one patient the test server's store holds: the summary card links only a page that exists.
STORED_PATIENT = "pat-p07-hook-live-zoster"


@pytest.fixture(scope="session")
def cds_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("cds-server")
    settings = dev_settings(directory, as_of=AS_OF, fhir_timeout_s=2.0)
    with start_server(settings) as base_url:
        stored = directory / "stored.json"
        stored.write_text(json.dumps({"resourceType": "Patient", "id": STORED_PATIENT}), encoding="utf-8")
        assert settings.db_url is not None
        db = Database(settings.db_url)
        try:
            load_path(db, stored)
        finally:
            db.close()
        yield base_url


@dataclass
class KeyServer:
    """What the loopback JWKS server answers, and how many times it was asked."""

    url: str = ""
    jwks: dict[str, Any] = field(default_factory=dict)
    status: int = 200
    body: bytes | None = None
    delay_s: float = 0.0
    hits: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def key_server() -> Iterator[KeyServer]:
    state = KeyServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with state.lock:
                state.hits += 1
            time.sleep(state.delay_s)
            body = state.body if state.body is not None else json.dumps(state.jwks).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
