"""Guards around the whole server, against the real server: bodies refused before they are read,
and an unexpected error answered with a 500 and one masked log line, the connection kept."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from igwatch.server_guards import mask_path
from igwatch.store import Database, load_path
from tests.support.servers import dev_settings, start_server

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ofatumumab-recurrent-hib.json"
PATIENT_ID = "example-ofatumumab-hib"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = dev_settings(tmp_path_factory.mktemp("guards"))
    with Database(settings.db_url) as db:
        db.migrate()
        load_path(db, EXAMPLE)
    with start_server(settings) as url:
        yield url


def raw_request(url: str, head: str, body_chunks: Iterator[bytes] | None = None) -> bytes:
    """Send a request by hand (a declared length that never comes, or a chunked body)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as conn:
        conn.sendall(head.encode())
        for chunk in body_chunks or ():
            try:
                conn.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            except (BrokenPipeError, ConnectionResetError):
                break
        answer = b""
        while b"\r\n\r\n" not in answer:
            data = conn.recv(65536)
            if not data:
                break
            answer += data
        return answer


def test_a_declared_1_gib_login_is_refused_before_a_byte_is_read(server: str) -> None:
    head = (
        "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {2**30}\r\n\r\n"
    )
    answer = raw_request(server, head)  # no body is sent at all: the answer cannot wait for it
    assert answer.startswith(b"HTTP/1.1 413")


def test_a_chunked_body_is_cut_off_at_the_limit(server: str) -> None:
    head = (
        "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    chunks = (b"a=" + b"x" * 65536 for _ in range(16 * 1024))  # 1 GiB if it were all read
    assert raw_request(server, head, chunks).startswith(b"HTTP/1.1 413")


def test_a_cds_hooks_body_over_its_limit_is_an_operation_outcome(server: str) -> None:
    response = httpx.post(
        f"{server}/cds-services/igwatch-patient-view",
        content=b"{" + b" " * (33 * 2**20) + b"}",
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    assert response.status_code == 413
    assert response.json()["resourceType"] == "OperationOutcome"


def test_an_unexpected_error_is_one_masked_line_and_the_connection_stays(
    server: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from igwatch.web import views

    def broken(*_: Any) -> Any:
        raise RuntimeError(f"secret detail about {PATIENT_ID}")

    monkeypatch.setattr(views, "header", broken)
    caplog.set_level(logging.INFO)
    with httpx.Client(base_url=server, timeout=20) as client:
        failed = client.get(f"/patients/{PATIENT_ID}?as_of=2026-07-07")
        assert failed.status_code == 500
        assert "ref " in failed.text and PATIENT_ID not in failed.text
        assert client.get("/knowledge").status_code == 200  # the same keep-alive connection
    lines = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(lines) == 1
    message = lines[0].getMessage()
    assert "/patients/…" in message and "RuntimeError" in message
    assert PATIENT_ID not in message and "secret" not in message
    assert lines[0].exc_info is None  # no stack trace unless IGWATCH_DEBUG


def test_paths_are_masked() -> None:
    assert mask_path("/patients/p-1/summary.pdf") == "/patients/…/summary.pdf"
    assert mask_path("/smart/app/abc/leaflet") == "/smart/app/…/leaflet"
    assert mask_path("/knowledge/recommendations/igrt.start") == "/knowledge/recommendations/igrt.start"


def test_the_log_budget_counts_what_it_leaves_out() -> None:
    from igwatch.server_guards import LogBudget

    budget = LogBudget(lines=2, window_s=60)
    assert [budget.take(now=t) for t in (0, 1, 2, 3)] == [(True, 0), (True, 0), (False, 0), (False, 0)]
    assert budget.take(now=61) == (True, 2)  # the next window's first line says 2 were left out
