"""``igwatch serve --workers 2`` as users run it: a token is accepted exactly once across the
worker processes (the replay cache is in the database), a web session made by one worker holds
on the other, and one client filling its share of the cache never locks another client out."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from igwatch.cdshooks import replay
from igwatch.cdshooks.auth import AuthError
from igwatch.cdshooks.replay import DatabaseReplayCache
from igwatch.store import Database
from igwatch.web.auth import hash_password
from tests.support.jwt_keys import es384_client, write_clients_file
from tests.support.servers import free_port

IGWATCH = str(Path(sys.executable).with_name("igwatch"))
T0 = 1_800_000_000.0
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, object]]:
    folder = tmp_path_factory.mktemp("workers")
    client = es384_client()
    clients = write_clients_file(folder, [client])
    users = folder / "users.toml"
    users.write_text(f'[[user]]\nname = "nurse"\npassword_hash = "{hash_password(PASSWORD)}"\n')
    port = free_port()
    process = subprocess.Popen(
        [
            IGWATCH,
            "serve",
            "--workers",
            "2",
            "--port",
            str(port),
            "--cds-clients",
            str(clients),
            "--users",
            str(users),
            "--db",
            f"sqlite:///{folder / 'igwatch.db'}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "IGWATCH_TODAY": "2026-10-15"},
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/static/app.css", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            raise RuntimeError("igwatch serve --workers 2 did not start")
        yield base, client
    finally:
        process.terminate()
        process.wait(timeout=30)
        assert process.stderr is not None
        process.stderr.close()


def test_a_token_is_accepted_once_across_two_workers(two_workers: tuple[str, object]) -> None:
    base, client = two_workers
    url = f"{base}/cds-services"
    for _ in range(3):
        token = client.token(url)  # type: ignore[attr-defined]

        def call(token: str) -> int:
            # A new connection each time, so the kernel spreads them over both workers.
            with httpx.Client(timeout=30) as http:
                return http.get(url, headers={"Authorization": f"Bearer {token}"}).status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(call, [token] * 16))
        assert sorted(statuses) == [200] + [401] * 15


def test_a_login_holds_on_every_worker(two_workers: tuple[str, object]) -> None:
    base, _ = two_workers
    with httpx.Client(base_url=base, timeout=30) as http:
        form = http.get("/login").text
        csrf = form.split('name="csrf_token" value="')[1].split('"')[0]
        done = http.post("/login", data={"csrf_token": csrf, "username": "nurse", "password": PASSWORD})
        assert done.status_code == 303
        cookies = dict(http.cookies)
    for _ in range(12):  # new connections: both workers answer some of them
        with httpx.Client(base_url=base, timeout=30, cookies=cookies) as other:
            assert other.get("/knowledge").status_code == 200


def test_each_client_has_its_own_share_of_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replay, "CHECK_EVERY", 1)  # count on every call (the server counts every 64)
    with Database(f"sqlite:///{tmp_path / 'r.db'}") as db:
        db.migrate()
        cache = DatabaseReplayCache(db, capacity=3)
        for jti in ("a", "b", "c"):
            cache.add("https://busy.example", jti, keep_until=T0 + 360, now=T0)
        with pytest.raises(AuthError, match="full of this client's"):
            cache.add("https://busy.example", "d", keep_until=T0 + 360, now=T0 + 1)
        cache.add("https://quiet.example", "a", keep_until=T0 + 360, now=T0 + 1)  # not locked out
        with pytest.raises(AuthError, match="replay"):
            cache.add("https://quiet.example", "a", keep_until=T0 + 360, now=T0 + 2)
        cache.add("https://busy.example", "d", keep_until=T0 + 800, now=T0 + 361)  # the old ones expired
        cache.add("https://busy.example", "a", keep_until=T0 + 800, now=T0 + 361)  # an expired id reused
