"""A JWK Set served over HTTP on loopback: fetched once, cached, refreshed once on an unknown
``kid`` (key rotation), never more often than the minimum interval, and a dead or misbehaving
key server yields AuthError within the timeout, never a crash."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from igwatch.cdshooks.auth import AuthError, TokenVerifier, load_trusted_clients
from tests.cdshooks.conftest import KeyServer
from tests.support.jwt_keys import TestClient, es384_client, es384_key, write_clients_file

AUD = "http://127.0.0.1:8080/cds-services/igwatch-order-sign"
T0 = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> float:
        return self.t


def make_verifier(tmp_path: Path, client: TestClient, url: str, clock: Clock, **kwargs: Any) -> TokenVerifier:
    path = write_clients_file(tmp_path, [client], jwks_urls={client.iss: url})
    kwargs.setdefault("jwks_min_refresh_s", 30)
    kwargs.setdefault("http_timeout_s", 2.0)
    return TokenVerifier(load_trusted_clients(path), now=clock, **kwargs)


def bearer(client: TestClient, clock: Clock, **kwargs: Any) -> str:
    return f"Bearer {client.token(AUD, now=clock.t, **kwargs)}"


def test_fetched_once_cached_and_refreshed_once_on_rotation(tmp_path: Path, key_server: KeyServer) -> None:
    old = es384_client(kid="2026-old")
    new = TestClient(iss=old.iss, key=es384_key("rotated"), kid="2026-new")
    key_server.jwks = old.jwks
    clock = Clock()
    verifier = make_verifier(tmp_path, old, key_server.url, clock)

    for _ in range(3):
        verifier.verify(bearer(old, clock), AUD)
    assert key_server.hits == 1  # cached after the first fetch

    # The EHR rotates: the new key appears, the old one goes. An unknown kid forces one refresh.
    clock.t += 31
    key_server.jwks = new.jwks
    verifier.verify(bearer(new, clock), AUD)
    assert key_server.hits == 2
    verifier.verify(bearer(new, clock), AUD)
    assert key_server.hits == 2
    with pytest.raises(AuthError, match="no key with this kid"):
        verifier.verify(bearer(old, clock), AUD)  # the old key is gone; refresh too recent to retry
    assert key_server.hits == 2


def test_made_up_kids_cannot_make_us_hammer_the_key_server(tmp_path: Path, key_server: KeyServer) -> None:
    client = es384_client()
    key_server.jwks = client.jwks
    clock = Clock()
    verifier = make_verifier(tmp_path, client, key_server.url, clock, jwks_min_refresh_s=30)
    verifier.verify(bearer(client, clock), AUD)
    for n in range(50):
        with pytest.raises(AuthError, match="no key with this kid"):
            verifier.verify(bearer(client, clock, kid=f"made-up-{n}"), AUD)
    assert key_server.hits == 1
    clock.t += 30
    with pytest.raises(AuthError):
        verifier.verify(bearer(client, clock, kid="made-up-again"), AUD)
    assert key_server.hits == 2  # at most one fetch per interval


def test_keys_are_fetched_again_when_old(tmp_path: Path, key_server: KeyServer) -> None:
    client = es384_client()
    key_server.jwks = client.jwks
    clock = Clock()
    verifier = make_verifier(tmp_path, client, key_server.url, clock, jwks_max_age_s=600)
    verifier.verify(bearer(client, clock), AUD)
    clock.t += 601
    key_server.jwks = {"keys": []}  # the EHR revoked the key
    with pytest.raises(AuthError, match="no key with this kid"):
        verifier.verify(bearer(client, clock), AUD)
    assert key_server.hits == 2


@pytest.mark.parametrize(
    ("status", "body"),
    [(500, b"{}"), (200, b"not json"), (200, b'{"keys": 3}'), (200, b"x" * 1_100_000), (302, b"")],
)
def test_a_misbehaving_key_server_is_an_auth_error(
    tmp_path: Path, key_server: KeyServer, status: int, body: bytes
) -> None:
    client = es384_client()
    key_server.status, key_server.body = status, body
    verifier = make_verifier(tmp_path, client, key_server.url, Clock())
    with pytest.raises(AuthError, match="not available"):
        verifier.verify(bearer(client, Clock()), AUD)


def test_a_slow_key_server_is_bounded_by_the_timeout(tmp_path: Path, key_server: KeyServer) -> None:
    client = es384_client()
    key_server.jwks, key_server.delay_s = client.jwks, 3.0
    verifier = make_verifier(tmp_path, client, key_server.url, Clock(), http_timeout_s=0.3)
    started = time.monotonic()
    with pytest.raises(AuthError, match="not available"):
        verifier.verify(bearer(client, Clock()), AUD)
    assert time.monotonic() - started < 2.0


def test_a_dead_key_server_keeps_the_keys_already_fetched(tmp_path: Path, key_server: KeyServer) -> None:
    client = es384_client()
    key_server.jwks = client.jwks
    clock = Clock()
    verifier = make_verifier(tmp_path, client, key_server.url, clock, jwks_max_age_s=60)
    verifier.verify(bearer(client, clock), AUD)
    clock.t += 61
    key_server.status = 503
    verifier.verify(bearer(client, clock), AUD)  # stale but known keys still verify
    assert key_server.hits == 2


def test_token_jku_must_be_the_configured_url(tmp_path: Path, key_server: KeyServer) -> None:
    client = es384_client()
    key_server.jwks = client.jwks
    clock = Clock()
    verifier = make_verifier(tmp_path, client, key_server.url, clock)
    verifier.verify(bearer(client, clock, extra_headers={"jku": key_server.url}), AUD)
    with pytest.raises(AuthError, match="jku"):
        verifier.verify(bearer(client, clock, extra_headers={"jku": key_server.url + "?evil"}), AUD)
