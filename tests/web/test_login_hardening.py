"""Logins against the real server: failed attempts back off per account and per address, a
flood of logins cannot run more password hashes at once than the cap, logout and expiry end the
session on the server (a copied cookie no longer works), and the login never fixes a session."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from igwatch.store import Database
from igwatch.store.models import WebSession
from igwatch.web import auth
from igwatch.web.auth import LoginThrottle, hash_password
from tests.support.servers import dev_settings, start_server

PASSWORD = "correct horse battery"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    users = tmp_path / "users.toml"
    users.write_text(f'[[user]]\nname = "nurse"\npassword_hash = "{hash_password(PASSWORD)}"\n')
    settings = dev_settings(tmp_path, users_file=users, secret_key="s3cret")
    with start_server(settings) as base:
        yield base, str(settings.db_url)


def csrf(client: httpx.Client) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert match
    return match.group(1)


def login(client: httpx.Client, password: str, username: str = "nurse") -> httpx.Response:
    return client.post(
        "/login", data={"csrf_token": csrf(client), "username": username, "password": password, "next": "/"}
    )


def test_sixty_wrong_passwords_then_the_right_one_is_still_refused(server: tuple[str, str]) -> None:
    base, _ = server
    with httpx.Client(base_url=base, timeout=60) as client:
        statuses = [login(client, f"guess-{n}").status_code for n in range(60)]
        assert statuses[:5] == [401] * 5 and statuses[5] == 429  # five free failures, then back-off
        assert 429 in statuses
        right = login(client, PASSWORD)
        assert right.status_code == 429 and int(right.headers["Retry-After"]) >= 1
        assert "Too many failed logins" in right.text


def test_the_throttle_backs_off_per_account_and_per_address() -> None:
    throttle = LoginThrottle(free_per_account=2, free_per_address=4)
    for _ in range(3):
        throttle.failed("nurse", "10.0.0.1")
    assert throttle.wait_s("nurse", "10.0.0.9") >= 1  # the account waits, from any address
    assert throttle.wait_s("doctor", "10.0.0.9") == 0
    for name in ("a", "b"):
        throttle.failed(name, "10.0.0.1")
    assert throttle.wait_s("someone-else", "10.0.0.1") >= 1  # the address waits, for any account
    throttle.succeeded("nurse")
    assert throttle.wait_s("nurse", "10.0.0.9") == 0


def test_concurrent_logins_hash_at_most_two_at_a_time(
    server: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, _ = server
    running = 0
    most = 0
    lock = threading.Lock()
    real = auth._hasher

    class Counting:
        def verify(self, hashed: str, password: str) -> bool:
            nonlocal running, most
            with lock:
                running += 1
                most = max(most, running)
            try:
                return bool(real.verify(hashed, password))
            finally:
                with lock:
                    running -= 1

    monkeypatch.setattr(auth, "_hasher", Counting())
    statuses: list[int] = []

    def attempt(n: int) -> None:
        with httpx.Client(base_url=base, timeout=120) as client:
            statuses.append(login(client, "wrong", username=f"user-{n}").status_code)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most <= auth.MAX_CONCURRENT_HASHES
    assert set(statuses) <= {401, 429, 503} and len(statuses) == 40


def test_logout_ends_the_session_on_the_server(server: tuple[str, str]) -> None:
    base, _ = server
    with httpx.Client(base_url=base, timeout=30) as client:
        before_login = client.cookies.get("igwatch_session")
        assert login(client, PASSWORD).status_code == 303
        cookie = client.cookies.get("igwatch_session")
        assert cookie and cookie != before_login  # a new session at login: no fixation
        assert client.get("/").status_code == 200
        page = client.get("/")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        assert client.post("/logout", data={"csrf_token": token.group(1)}).status_code == 303
    with httpx.Client(base_url=base, timeout=30, cookies={"igwatch_session": cookie}) as copy:
        replayed = copy.get("/")
        assert replayed.status_code == 303 and replayed.headers["location"].startswith("/login")


def test_an_expired_session_is_over_whatever_the_cookie_says(server: tuple[str, str]) -> None:
    base, db_url = server
    with httpx.Client(base_url=base, timeout=30) as client:
        assert login(client, PASSWORD).status_code == 303
        assert client.get("/").status_code == 200
        with Database(db_url) as db, db.session() as session, session.begin():
            session.execute(update(WebSession).values(expires=datetime.now(UTC) - timedelta(seconds=1)))
        assert client.get("/").status_code == 303
