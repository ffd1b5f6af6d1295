"""Real igwatch servers for tests: uvicorn on a free loopback port.

Usage::

    from tests.support.servers import dev_settings, start_server

    with start_server(dev_settings(tmp_path)) as base_url:   # e.g. "http://127.0.0.1:41234"
        httpx.get(f"{base_url}/cds-services")

``start_server(settings)`` binds a free port on 127.0.0.1 (``settings.host`` and ``settings.port``
are replaced by it), builds ``create_app(settings)``, serves it from a background thread, and
yields the base URL once the server accepts requests; the server stops when the block ends.
``settings.public_url`` is kept when given; when it is None the yielded base URL is also what
the service uses for card links and as the JWT ``aud`` prefix (``aud = base_url + path``).

``dev_settings(tmp_path, **changes)`` gives settings for a test: a fresh SQLite file under
``tmp_path`` and ``--insecure-dev-no-auth`` (pass ``insecure_dev_no_auth=False`` and
``cds_clients=PATH`` for the token-checking server).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import uvicorn

from igwatch.app import create_app
from igwatch.settings import ServerSettings

STARTUP_TIMEOUT_S = 20.0


def dev_settings(tmp_path: Path, **changes: Any) -> ServerSettings:
    """Settings for a test server: its own SQLite file, no token check unless changed."""
    base: dict[str, Any] = {
        "db_url": f"sqlite:///{tmp_path / 'igwatch-test.db'}",
        "insecure_dev_no_auth": True,
    }
    base.update(changes)
    return ServerSettings(**base)


def free_port() -> int:
    """A loopback port free now (for a server whose URL must be known before it starts)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def start_server(settings: ServerSettings, port: int = 0) -> Iterator[str]:
    """Serve ``create_app(settings)`` on a loopback port (0: a free one); yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    port = sock.getsockname()[1]
    settings = replace(settings, host="127.0.0.1", port=port)
    app = create_app(settings)
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
