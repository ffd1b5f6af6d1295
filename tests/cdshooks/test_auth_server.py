"""The JWT rules of CDS Hooks against the real server (uvicorn on loopback).

Valid ES384 and RS384 tokens get answers; every bad token gets 401 with an empty body and
``WWW-Authenticate: Bearer``; the server log holds the reason and nothing from the token or the
patient.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from igwatch.cdshooks import auth
from tests.cdshooks.conftest import KeyServer
from tests.support.jwt_keys import (
    TestClient,
    claims_for,
    es384_client,
    es384_key,
    hmac_token,
    public_pem,
    rs384_client,
    tampered,
    unsigned_token,
    write_clients_file,
)
from tests.support.servers import dev_settings, start_server

SERVICE = "/cds-services/igwatch-patient-view"
REQUESTS = Path(__file__).parent / "requests"
ES = es384_client()
RS = rs384_client()
# A client configured with a client_id: its tokens must carry it as sub.
SUBBED = es384_client(iss="https://client-id-ehr.example", kid="sub-1")
SUBBED_CLIENT_ID = "igwatch-at-client-id-ehr"
PATIENT_MARKERS = ("1984-05-12",)  # from the request's prefetch: must never reach the log


@pytest.fixture(scope="module")
def patient_view_request() -> dict[str, Any]:
    request: dict[str, Any] = json.loads((REQUESTS / "patient-view-many-urgent.json").read_text())
    return request


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("auth-server")
    clients = write_clients_file(directory, [ES, RS, SUBBED], client_ids={SUBBED.iss: SUBBED_CLIENT_ID})
    # Every refusal's log line is checked here: no log budget (the default is tested below).
    settings = dev_settings(
        directory, insecure_dev_no_auth=False, cds_clients=clients, unauthorized_log_lines_per_minute=10**6
    )
    with start_server(settings) as base_url:
        yield base_url


def post(base_url: str, body: dict[str, Any], authorization: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    return httpx.post(f"{base_url}{SERVICE}", json=body, headers=headers, timeout=30)


def assert_401_without_detail(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.content == b""
    assert response.headers.get("www-authenticate") == "Bearer"


@pytest.mark.parametrize("client", [ES, RS], ids=["ES384", "RS384"])
def test_valid_tokens_are_answered(
    server: str, patient_view_request: dict[str, Any], client: TestClient
) -> None:
    response = post(server, patient_view_request, f"Bearer {client.token(server + SERVICE)}")
    assert response.status_code == 200, response.text
    assert isinstance(response.json()["cards"], list) and response.json()["cards"]
    discovery = httpx.get(
        f"{server}/cds-services",
        headers={"Authorization": f"Bearer {client.token(server + '/cds-services')}"},
        timeout=30,
    )
    assert discovery.status_code == 200
    assert {s["id"] for s in discovery.json()["services"]} >= {"igwatch-patient-view"}


def bad_tokens(aud: str) -> dict[str, str | None]:
    impostor = TestClient(iss=ES.iss, key=es384_key("impostor"), kid=ES.kid)
    stranger = TestClient(iss="https://unknown-ehr.example", key=ES.key, kid=ES.kid)
    claims = claims_for(ES.iss, aud)
    valid = ES.token(aud)
    return {
        "missing": None,
        "not bearer": f"Basic {ES.token(aud)}",
        "alg none": f"Bearer {unsigned_token(claims)}",
        "HS256": f"Bearer {hmac_token(claims, b'shared-secret')}",
        "HS256 with the public key": f"Bearer {hmac_token(claims, public_pem(ES.key))}",
        "wrong key": f"Bearer {impostor.token(aud)}",
        "unknown kid": f"Bearer {ES.token(aud, kid='nope')}",
        "unknown iss": f"Bearer {stranger.token(aud)}",
        "wrong aud": f"Bearer {ES.token(aud.replace('patient-view', 'order-sign'))}",
        "expired": f"Bearer {ES.token(aud, now=claims['iat'] - 3600)}",
        "future iat": f"Bearer {ES.token(aud, now=claims['iat'] + 3600)}",
        "too long lived": f"Bearer {ES.token(aud, ttl_s=3600)}",
        "tampered payload": f"Bearer {tampered(valid, iss=RS.iss)}",
        "tampered claim": f"Bearer {tampered(ES.token(aud), sub='someone-else')}",
    }


@pytest.mark.parametrize("case", list(bad_tokens("http://x" + SERVICE)))
def test_bad_tokens_get_401_without_detail(
    server: str, patient_view_request: dict[str, Any], case: str, caplog: pytest.LogCaptureFixture
) -> None:
    authorization = bad_tokens(server + SERVICE)[case]
    with caplog.at_level(logging.WARNING):
        response = post(server, patient_view_request, authorization)
    assert_401_without_detail(response)
    # The log says why, and holds nothing from the token or the patient.
    messages = [r.getMessage() for r in caplog.records]
    refusals = [m for m in messages if "401" in m]
    assert refusals, messages
    log_text = "\n".join(messages)
    if authorization is not None:
        token = authorization.split()[-1]
        for part in token.split("."):
            if len(part) > 8:
                assert part not in log_text
    for marker in PATIENT_MARKERS:
        assert marker not in log_text


def test_replayed_jti_gets_401(server: str, patient_view_request: dict[str, Any]) -> None:
    token = ES.token(server + SERVICE)
    assert post(server, patient_view_request, f"Bearer {token}").status_code == 200
    assert_401_without_detail(post(server, patient_view_request, f"Bearer {token}"))


def test_a_token_sent_concurrently_is_accepted_once(server: str) -> None:
    token = ES.token(server + "/cds-services")

    def call(_: int) -> int:
        return httpx.get(
            f"{server}/cds-services", headers={"Authorization": f"Bearer {token}"}, timeout=30
        ).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(call, range(8)))
    assert statuses == [200] + [401] * 7


def test_feedback_needs_a_token_too(server: str) -> None:
    url = f"{server}{SERVICE}/feedback"
    assert_401_without_detail(httpx.post(url, json={"feedback": []}, timeout=30))
    response = httpx.post(
        url, json={"feedback": []}, headers={"Authorization": f"Bearer {ES.token(url)}"}, timeout=30
    )
    assert response.status_code != 401


def test_no_trusted_clients_configured_means_every_call_is_refused(tmp_path: Path) -> None:
    with start_server(dev_settings(tmp_path, insecure_dev_no_auth=False, cds_clients=None)) as base_url:
        response = httpx.get(
            f"{base_url}/cds-services",
            headers={"Authorization": f"Bearer {ES.token(base_url + '/cds-services')}"},
            timeout=30,
        )
    assert_401_without_detail(response)


def discovery_status(discovery: str, client: TestClient) -> int:
    """The status of ``GET /cds-services`` with a fresh token of ``client``."""
    headers = {"Authorization": f"Bearer {client.token(discovery)}"}
    return httpx.get(discovery, headers=headers, timeout=30).status_code


def test_jwks_served_over_loopback_http_with_rotation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key_server: KeyServer
) -> None:
    """The clients file names a JWK Set URL; the server fetches it and follows a key rotation
    (an unknown kid refreshes once, no sooner than the minimum interval after the last fetch)."""
    monkeypatch.setattr(auth, "JWKS_MIN_REFRESH_S", 0.5)
    old = es384_client(iss="https://rotating-ehr.example", kid="old")
    new = TestClient(iss=old.iss, key=es384_key("rotating-new"), kid="new")
    key_server.jwks = old.jwks
    clients = write_clients_file(tmp_path, [old], jwks_urls={old.iss: key_server.url})
    settings = dev_settings(tmp_path, insecure_dev_no_auth=False, cds_clients=clients)
    with start_server(settings) as base_url:
        discovery = f"{base_url}/cds-services"
        assert discovery_status(discovery, old) == 200
        assert discovery_status(discovery, old) == 200
        assert key_server.hits == 1
        key_server.jwks = new.jwks  # rotation: the first token with the new kid refreshes once
        time.sleep(0.55)
        assert discovery_status(discovery, new) == 200
        assert key_server.hits == 2
        assert discovery_status(discovery, new) == 200
        assert key_server.hits == 2


def test_sub_must_be_the_configured_client_id(
    server: str, patient_view_request: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    aud = server + SERVICE
    accepted = post(server, patient_view_request, f"Bearer {SUBBED.token(aud, sub=SUBBED_CLIENT_ID)}")
    assert accepted.status_code == 200, accepted.text

    no_sub = claims_for(SUBBED.iss, aud)
    del no_sub["sub"]
    missing = jwt.encode(no_sub, SUBBED.key, algorithm="ES384", headers={"kid": SUBBED.kid, "typ": "JWT"})
    with caplog.at_level(logging.WARNING):
        assert_401_without_detail(
            post(server, patient_view_request, f"Bearer {SUBBED.token(aud, sub='other')}")
        )
        assert_401_without_detail(post(server, patient_view_request, f"Bearer {SUBBED.token(aud)}"))
        assert_401_without_detail(post(server, patient_view_request, f"Bearer {missing}"))
    reasons = [r.getMessage() for r in caplog.records if "401" in r.getMessage()]
    assert sum("sub is not the configured client_id" in m for m in reasons) == 2, reasons
    assert sum("claim sub missing" in m for m in reasons) == 1, reasons


def test_a_rotated_jwks_file_is_used_without_a_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old = es384_client(iss="https://file-rotating-ehr.example", kid="old")
    new = TestClient(iss=old.iss, key=es384_key("file-rotating-new"), kid="new")
    clients = write_clients_file(tmp_path, [old])
    jwks_file = tmp_path / "jwks-0.json"

    def replace_jwks(data: bytes) -> None:
        staged = tmp_path / "jwks-0.json.new"
        staged.write_bytes(data)
        os.replace(staged, jwks_file)

    settings = dev_settings(tmp_path, insecure_dev_no_auth=False, cds_clients=clients)
    with start_server(settings) as base_url:
        discovery = f"{base_url}/cds-services"

        assert discovery_status(discovery, old) == 200
        assert discovery_status(discovery, new) == 401
        replace_jwks(json.dumps(new.jwks).encode())
        assert discovery_status(discovery, new) == 200  # an unknown kid looks at the file at once
        time.sleep(1.1)
        assert discovery_status(discovery, old) == 401  # withdrawn from the file

        replace_jwks(b'{"keys": [')  # a broken file: the keys read before stay in use
        time.sleep(1.1)
        with caplog.at_level(logging.WARNING, logger="igwatch.cdshooks.auth"):
            assert discovery_status(discovery, new) == 200
            assert discovery_status(discovery, new) == 200
        warnings = [
            r.getMessage() for r in caplog.records if "keeping the keys read before" in r.getMessage()
        ]
        assert len(warnings) == 1 and str(jwks_file) in warnings[0], warnings


def test_a_flood_of_forged_tokens_writes_a_bounded_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clients = write_clients_file(tmp_path, [ES])
    settings = dev_settings(tmp_path, insecure_dev_no_auth=False, cds_clients=clients)
    with (
        start_server(settings) as base,
        httpx.Client(base_url=base, timeout=30) as client,
        caplog.at_level(logging.WARNING),
    ):
        for n in range(200):
            forged = ES.token(base + "/cds-services", kid=f"forged-{n}")
            assert (
                client.get("/cds-services", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
            )
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("401")]
    assert len(lines) == 20  # the default: 20 a minute
