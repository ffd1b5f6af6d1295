"""A real FHIR R4 server for tests: Medplum's FHIR router with its in-memory repository.

``tests/fhirserver/server.mjs`` runs under Node on a free loopback port (its npm packages come
from ``bash scripts/setup``, which runs ``npm ci`` there). Usage::

    from tests.support.fhir_server import start_fhir_server, load_bundle, to_transaction

    with start_fhir_server(token="secret", page_size=3) as fhir:
        load_bundle(fhir.base_url, to_transaction(bundle), token="secret")
        httpx.get(f"{fhir.base_url}/Patient/p1", headers=fhir.auth_headers)

``fhir.base_url`` is the FHIR base (``http://127.0.0.1:PORT/fhir``). With ``token`` set, the
server answers 401 unless ``Authorization: Bearer <token>`` comes. Searches without ``_count``
return ``page_size`` entries a page with a ``next`` link. ``fhir.requests()`` lists the requests
the server received (method, path, whether an Authorization header came);
``fhir.set_link_base(url)`` makes the server write its paging links under another base URL.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

SERVER_DIR = Path(__file__).resolve().parents[1] / "fhirserver"
STARTUP_TIMEOUT_S = 60.0  # Node indexes the FHIR definitions at start; slow on a busy machine


@dataclass
class FhirTestServer:
    base_url: str
    token: str | None
    process: subprocess.Popen[bytes] = field(repr=False)

    @property
    def origin(self) -> str:
        return self.base_url.rsplit("/fhir", 1)[0]

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def requests(self) -> list[dict[str, Any]]:
        """The requests received so far: ``{"method", "path", "authorization": bool}``."""
        log: list[dict[str, Any]] = httpx.get(f"{self.origin}/_test/requests", timeout=10).json()
        return [r for r in log if not r["path"].startswith("/_test/")]

    def clear_requests(self) -> None:
        httpx.delete(f"{self.origin}/_test/requests", timeout=10).raise_for_status()

    def set_link_base(self, url: str | None) -> None:
        """Write paging links under ``url`` (None: this server's own base again)."""
        if url is None:
            httpx.delete(f"{self.origin}/_test/link-base", timeout=10).raise_for_status()
        else:
            httpx.put(f"{self.origin}/_test/link-base", json={"url": url}, timeout=10).raise_for_status()


def _node_ready() -> None:
    if shutil.which("node") is None:
        pytest.fail("node is not installed: run bash scripts/setup", pytrace=False)
    if not (SERVER_DIR / "node_modules" / "@medplum" / "fhir-router").is_dir():
        pytest.fail(
            f"the test FHIR server's npm packages are missing in {SERVER_DIR}: run bash scripts/setup",
            pytrace=False,
        )


@contextmanager
def run_node_server(script: str, env: dict[str, str], *, port: int = 0) -> Iterator[dict[str, Any]]:
    """Run ``tests/fhirserver/<script>`` on a loopback port (0: a free one); yield the JSON line
    it prints once it listens; stop it when the block ends."""
    _node_ready()
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            ["node", script, "--port", str(port)],
            cwd=SERVER_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
        try:
            yield {**_wait_ready(process, stderr, script), "process": process}
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            if process.stdout is not None:
                process.stdout.close()


def _wait_ready(process: subprocess.Popen[bytes], stderr: Any, script: str) -> dict[str, Any]:
    """The JSON line the server prints once it listens; a clear failure if it does not."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if selector.select(timeout=0.2):
                line = process.stdout.readline()
                if line:
                    ready: dict[str, Any] = json.loads(line)
                    return ready
            if process.poll() is not None:
                break
    stderr.seek(0)
    tail = stderr.read().decode("utf-8", "replace").strip().splitlines()[-5:]
    raise RuntimeError(f"{script} did not start: " + (" | ".join(tail) or "no output"))


@contextmanager
def start_fhir_server(*, token: str | None = None, page_size: int = 20) -> Iterator[FhirTestServer]:
    """Start ``server.mjs`` on a free loopback port; stop it when the block ends."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FHIR_")}
    env["FHIR_PAGE_SIZE"] = str(page_size)
    if token:
        env["FHIR_BEARER_TOKEN"] = token
    with run_node_server("server.mjs", env) as ready:
        yield FhirTestServer(base_url=str(ready["base"]), token=token, process=ready["process"])


def to_transaction(bundle: dict[str, Any]) -> dict[str, Any]:
    """A transaction Bundle that stores each resource of ``bundle`` under its own id (PUT)."""
    entries = []
    for entry in bundle.get("entry", []):
        resource = entry["resource"]
        entries.append(
            {
                "resource": resource,
                "request": {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"},
            }
        )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def load_bundle(
    base_url: str, transaction_bundle: dict[str, Any], *, token: str | None = None
) -> dict[str, Any]:
    """POST a transaction Bundle to the server; every entry must succeed. Returns the response."""
    headers = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = httpx.post(base_url, json=transaction_bundle, headers=headers, timeout=30)
    if response.status_code != 200:
        raise RuntimeError(f"transaction refused: HTTP {response.status_code}: {response.text[:300]}")
    result: dict[str, Any] = response.json()
    failed = [
        e.get("response", {}).get("status")
        for e in result.get("entry", [])
        if not str(e.get("response", {}).get("status", "")).startswith("2")
    ]
    if result.get("type") != "transaction-response" or failed:
        raise RuntimeError(f"transaction not stored: {result.get('type')}, failed statuses {failed}")
    return result
