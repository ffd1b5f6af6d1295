"""The CDS client token verifier and the trusted-clients file, without a server (fast).

A fake clock drives time; the keys come from tests/support/jwt_keys.py. Every refusal must be an
AuthError whose message carries a reason but nothing from the token.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from igwatch.cdshooks.auth import (
    AuthError,
    ReplayCache,
    TokenVerifier,
    TrustedClient,
    TrustedClientsError,
    VerifiedClient,
    load_trusted_clients,
)
from igwatch.errors import IgwatchError
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

AUD = "http://127.0.0.1:8080/cds-services/igwatch-patient-view"
T0 = 1_800_000_000.0


class Clock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def es() -> TestClient:
    return es384_client()


@pytest.fixture
def rs() -> TestClient:
    return rs384_client()


@pytest.fixture
def verifier(tmp_path: Path, es: TestClient, rs: TestClient, clock: Clock) -> TokenVerifier:
    clients = load_trusted_clients(write_clients_file(tmp_path, [es, rs]))
    return TokenVerifier(clients, clock_skew_s=60, max_lifetime_s=300, now=clock)


def refused(verifier: TokenVerifier, header: str | None, match: str, aud: str = AUD) -> AuthError:
    with pytest.raises(AuthError, match=match) as info:
        verifier.verify(header, aud)
    return info.value


# --------------------------------------------------------------------------------------------
# Accepted
# --------------------------------------------------------------------------------------------


def test_es384_and_rs384_tokens_are_accepted(verifier: TokenVerifier, es: TestClient, rs: TestClient) -> None:
    got = verifier.verify(f"Bearer {es.token(AUD, now=T0, jti='j-1', sub='client-a')}", AUD)
    assert got == VerifiedClient(iss=es.iss, tenant=None, jti="j-1", sub="client-a")
    got = verifier.verify(f"bearer  {rs.token(AUD, now=T0)}", AUD)
    assert got.iss == rs.iss


def test_aud_may_be_a_list_containing_the_url_and_a_trailing_slash_is_ignored(
    verifier: TokenVerifier, es: TestClient
) -> None:
    verifier.verify(f"Bearer {es.token(['https://other.example/x', AUD], now=T0)}", AUD)
    verifier.verify(f"Bearer {es.token(AUD + '/', now=T0)}", AUD)


def test_clock_skew_is_tolerated(verifier: TokenVerifier, es: TestClient, clock: Clock) -> None:
    # Expired 59 s ago, and issued 59 s in the future: both within the 60 s skew.
    verifier.verify(f"Bearer {es.token(AUD, now=T0 - 300 - 59, ttl_s=300)}", AUD)
    verifier.verify(f"Bearer {es.token(AUD, now=T0 + 59)}", AUD)


def test_tenant_comes_from_the_token_or_the_configuration(tmp_path: Path, clock: Clock) -> None:
    client = es384_client(iss="https://tenant-ehr.example.org", tenant="hospital-a")
    verifier = TokenVerifier(load_trusted_clients(write_clients_file(tmp_path, [client])), now=clock)
    assert verifier.verify(f"Bearer {client.token(AUD, now=T0)}", AUD).tenant == "hospital-a"
    bare = TestClient(iss=client.iss, key=client.key, kid=client.kid)
    assert verifier.verify(f"Bearer {bare.token(AUD, now=T0)}", AUD).tenant == "hospital-a"
    refused(verifier, f"Bearer {bare.token(AUD, now=T0, tenant='hospital-b')}", "tenant")


# --------------------------------------------------------------------------------------------
# Refused
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "   ",
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer ",
        "Bearer a.b",
        "Token x.y.z",
        "Bearer x.y.z extra",
    ],
)
def test_missing_or_malformed_header_is_refused(verifier: TokenVerifier, header: str | None) -> None:
    refused(verifier, header, "Authorization|JWT")


def test_alg_none_is_refused(verifier: TokenVerifier, es: TestClient) -> None:
    refused(verifier, f"Bearer {unsigned_token(claims_for(es.iss, AUD, now=T0))}", "none or HMAC")
    refused(verifier, f"Bearer {unsigned_token(claims_for(es.iss, AUD, now=T0), alg='None')}", "none or HMAC")


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_hmac_is_refused_even_with_the_public_key_as_secret(
    verifier: TokenVerifier, es: TestClient, alg: str
) -> None:
    claims = claims_for(es.iss, AUD, now=T0)
    refused(verifier, f"Bearer {hmac_token(claims, b'secret', alg=alg)}", "none or HMAC")
    # Key confusion: HMAC "signed" with the PEM of the client's own public key.
    refused(verifier, f"Bearer {hmac_token(claims, public_pem(es.key), alg=alg)}", "none or HMAC")


def test_hmac_cannot_be_configured(tmp_path: Path, es: TestClient) -> None:
    for algorithms, why in ((["HS256"], "HMAC"), (["none"], "HMAC"), (["ES384", "XX1"], "not a supported")):
        path = write_clients_file(tmp_path, [es], algorithms={es.iss: algorithms})
        with pytest.raises(TrustedClientsError, match=rf"clients.toml: client\[0\]\.algorithms: .*{why}"):
            load_trusted_clients(path)
    with pytest.raises(ValueError):
        TokenVerifier([TrustedClient(iss="x", jwks=str(tmp_path / "jwks-0.json"), algorithms=("HS256",))])


def test_wrong_key_is_refused(verifier: TokenVerifier, es: TestClient) -> None:
    impostor = TestClient(iss=es.iss, key=es384_key("impostor"), kid=es.kid)
    refused(verifier, f"Bearer {impostor.token(AUD, now=T0)}", "signature does not verify")


def test_unknown_kid_is_refused(verifier: TokenVerifier, es: TestClient) -> None:
    refused(verifier, f"Bearer {es.token(AUD, now=T0, kid='not-there')}", "no key with this kid")


def test_unknown_issuer_is_refused(verifier: TokenVerifier, es: TestClient) -> None:
    stranger = TestClient(iss="https://evil.example", key=es.key, kid=es.kid)
    refused(verifier, f"Bearer {stranger.token(AUD, now=T0)}", "issuer is not a trusted client")


def test_wrong_audience_is_refused(verifier: TokenVerifier, es: TestClient) -> None:
    other = "http://127.0.0.1:8080/cds-services/igwatch-order-sign"
    refused(verifier, f"Bearer {es.token(other, now=T0)}", "aud is not the URL called")
    refused(verifier, f"Bearer {es.token([], now=T0)}", "aud missing")


def test_expired_is_refused(verifier: TokenVerifier, es: TestClient) -> None:
    refused(verifier, f"Bearer {es.token(AUD, now=T0 - 300 - 61, ttl_s=300)}", "expired")


def test_future_iat_is_refused(verifier: TokenVerifier, es: TestClient) -> None:
    refused(verifier, f"Bearer {es.token(AUD, now=T0 + 61)}", "iat is in the future")


def test_too_long_a_lifetime_is_refused(verifier: TokenVerifier, es: TestClient) -> None:
    refused(verifier, f"Bearer {es.token(AUD, now=T0, ttl_s=301)}", "lifetime")
    refused(verifier, f"Bearer {es.token(AUD, now=T0, ttl_s=-5)}", "exp is before its iat")


@pytest.mark.parametrize("claim", ["exp", "iat", "jti", "aud"])
def test_required_claims(verifier: TokenVerifier, es: TestClient, claim: str) -> None:
    token = es.token(AUD, now=T0, extra_claims={claim: None})
    refused(verifier, f"Bearer {token}", f"{claim} missing")


@pytest.mark.parametrize("value", ["soon", True, 1e400, [1]])
def test_times_must_be_finite_numbers(verifier: TokenVerifier, es: TestClient, value: object) -> None:
    refused(verifier, f"Bearer {es.token(AUD, now=T0, extra_claims={'exp': value})}", "exp|verify")


def test_replayed_jti_is_refused(verifier: TokenVerifier, es: TestClient) -> None:
    token = es.token(AUD, now=T0, jti="once")
    verifier.verify(f"Bearer {token}", AUD)
    refused(verifier, f"Bearer {token}", "replay")
    # The same jti in a fresh token is a replay too; another issuer's jti space is separate.
    refused(verifier, f"Bearer {es.token(AUD, now=T0, jti='once')}", "replay")
    verifier.verify(f"Bearer {rs384_client().token(AUD, now=T0, jti='once')}", AUD)


def test_tampered_payload_is_refused(verifier: TokenVerifier, es: TestClient) -> None:
    token = es.token(AUD, now=T0)
    refused(verifier, f"Bearer {tampered(token, sub='admin')}", "signature does not verify")
    refused(verifier, f"Bearer {tampered(token, exp=T0 + 200)}", "signature does not verify")


def test_alg_must_be_allowed_for_the_client_and_fit_its_key(tmp_path: Path, clock: Clock) -> None:
    es, rs = es384_client(iss="https://only-es.example"), rs384_client(iss="https://only-rs.example")
    path = write_clients_file(tmp_path, [es, rs], algorithms={es.iss: ["ES384"], rs.iss: ["RS384", "PS384"]})
    verifier = TokenVerifier(load_trusted_clients(path), now=clock)
    p256 = TestClient(iss=es.iss, key=ec.generate_private_key(ec.SECP256R1()), kid=es.kid)
    refused(verifier, f"Bearer {p256.token(AUD, now=T0)}", "ES256 not allowed for client")
    # PS384 is allowed but the key's JWK says RS384.
    refused(verifier, f"Bearer {rs.token(AUD, now=T0, alg='PS384')}", "not the key's alg")


def test_header_checks(verifier: TokenVerifier, es: TestClient) -> None:
    refused(verifier, f"Bearer {es.token(AUD, now=T0, extra_headers={'typ': 'at+jwt'})}", "typ")
    refused(verifier, f"Bearer {es.token(AUD, now=T0, extra_headers={'jku': 'https://evil/jwks'})}", "jku")
    refused(verifier, f"Bearer {es.token(AUD, now=T0, extra_headers={'crit': ['exp']})}", "crit|JWT")


def test_reasons_never_hold_token_contents(verifier: TokenVerifier, es: TestClient) -> None:
    secret_jti, secret_sub = "jti-PATIENT-Jane-Doe", "sub-MRN-0042"
    token = es.token(AUD, now=T0, jti=secret_jti, sub=secret_sub)
    verifier.verify(f"Bearer {token}", AUD)
    forged = [
        token,  # replay
        tampered(token, jti="x-" + secret_jti),
        es.token("https://elsewhere.example", now=T0, jti=secret_jti + "2", sub=secret_sub),
        es.token(AUD, now=T0 - 9999, jti=secret_jti + "3", sub=secret_sub),
        TestClient(iss="https://Jane-Doe.example", key=es.key, kid=es.kid).token(AUD, now=T0),
        hmac_token(claims_for(es.iss, AUD, now=T0, jti=secret_jti), public_pem(es.key)),
    ]
    for bad in forged:
        error = refused(verifier, f"Bearer {bad}", ".")
        text = str(error)
        for leak in (bad, bad.split(".")[1], secret_jti, secret_sub, "Jane-Doe"):
            assert leak not in text


# --------------------------------------------------------------------------------------------
# Replay cache: bounded, never forgets a live jti
# --------------------------------------------------------------------------------------------


def test_replay_cache_refuses_when_full_of_live_entries_and_recovers_when_they_expire() -> None:
    cache = ReplayCache(2)
    cache.add("iss", "a", keep_until=T0 + 100, now=T0)
    cache.add("iss", "b", keep_until=T0 + 200, now=T0)
    with pytest.raises(AuthError, match="full"):
        cache.add("iss", "c", keep_until=T0 + 100, now=T0 + 50)
    with pytest.raises(AuthError, match="replay"):
        cache.add("iss", "a", keep_until=T0 + 100, now=T0 + 50)
    cache.add("iss", "c", keep_until=T0 + 300, now=T0 + 101)  # "a" expired and was dropped
    assert len(cache) == 2
    with pytest.raises(AuthError, match="replay"):
        cache.add("iss", "b", keep_until=T0 + 300, now=T0 + 150)


def test_replay_cache_full_refuses_through_the_verifier(tmp_path: Path, clock: Clock, es: TestClient) -> None:
    verifier = TokenVerifier(
        load_trusted_clients(write_clients_file(tmp_path, [es])), replay_cache_size=3, now=clock
    )
    for _ in range(3):
        verifier.verify(f"Bearer {es.token(AUD, now=T0)}", AUD)
    refused(verifier, f"Bearer {es.token(AUD, now=T0)}", "full")
    clock.t = T0 + 300 + 61  # every recorded token is now past exp + skew
    verifier.verify(f"Bearer {es.token(AUD, now=clock.t)}", AUD)


def test_one_token_is_accepted_once_under_concurrency(verifier: TokenVerifier, es: TestClient) -> None:
    token = es.token(AUD, now=T0)
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def attempt() -> None:
        barrier.wait()
        try:
            verifier.verify(f"Bearer {token}", AUD)
            outcomes.append("ok")
        except AuthError:
            outcomes.append("refused")

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok"] + ["refused"] * 7


# --------------------------------------------------------------------------------------------
# The trusted-clients file
# --------------------------------------------------------------------------------------------


def test_clients_file_resolves_relative_jwks_and_defaults(tmp_path: Path, es: TestClient) -> None:
    path = write_clients_file(tmp_path / "conf", [es])
    (client,) = load_trusted_clients(path)
    assert client.iss == es.iss
    assert client.jwks == str((tmp_path / "conf" / "jwks-0.json").resolve())
    assert client.algorithms == ("ES384", "RS384")
    assert client.tenant is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", r"no \[\[client\]\] table"),
        ("[[client]\n", "not valid TOML"),
        ('[[client]]\niss = "a"\n', r"client\[0\]\.jwks: required"),
        ('[[client]]\njwks = "jwks.json"\n', r"client\[0\]\.iss: required"),
        ('[[client]]\niss = "a"\njwks = "jwks.json"\nkeys = 1\n', r"client\[0\]\.keys: unknown key"),
        ("[server]\nport = 1\n", "server: unknown key"),
        ('[[client]]\niss = "a"\njwks = "http://ehr.example/jwks"\n', r"client\[0\]\.jwks: .*https URL"),
        ('[[client]]\niss = "a"\njwks = "ftp://127.0.0.1/jwks"\n', r"client\[0\]\.jwks: .*https URL"),
        ('[[client]]\niss = "a"\njwks = "missing.json"\n', r"client\[0\]\.jwks: cannot read"),
        ('[[client]]\niss = "a"\njwks = "notjwks.json"\n', r"client\[0\]\.jwks: .*not a JWK Set"),
        ('[[client]]\niss = "a"\njwks = "jwks.json"\ntenant = 3\n', r"client\[0\]\.tenant"),
        ('[[client]]\niss = "a"\njwks = "jwks.json"\nalgorithms = []\n', r"client\[0\]\.algorithms"),
        ('[[client]]\niss = "a"\njwks = "jwks.json"\nclient_id = ""\n', r"client\[0\]\.client_id"),
        (
            '[[client]]\niss = "a"\njwks = "jwks.json"\nfhir_servers = "https://ehr.example/fhir"\n',
            r"client\[0\]\.fhir_servers: must be a list",
        ),
        (
            '[[client]]\niss = "a"\njwks = "jwks.json"\nfhir_servers = ["https://ehr.example/fhir", 3]\n',
            r"client\[0\]\.fhir_servers: must be a list",
        ),
        (
            '[[client]]\niss = "a"\njwks = "jwks.json"\nfhir_servers = ["https://ehr.example/fhir", "ehr/fhir"]\n',
            r"client\[0\]\.fhir_servers\[1\]: 'ehr/fhir' is not an absolute http\(s\) URL",
        ),
        (
            '[[client]]\niss = "a"\njwks = "jwks.json"\nfhir_servers = ["ftp://ehr.example/fhir"]\n',
            r"client\[0\]\.fhir_servers\[0\]: .*not an absolute http\(s\) URL",
        ),
        (
            '[[client]]\niss = "a"\njwks = "jwks.json"\nfhir_servers = ["https://u:p@ehr.example/fhir"]\n',
            r"client\[0\]\.fhir_servers\[0\]: .*user info",
        ),
        (
            '[[client]]\niss = "a"\njwks = "jwks.json"\nfhir_servers = ["https://ehr.example/fhir?x=1"]\n',
            r"client\[0\]\.fhir_servers\[0\]: .*query or fragment",
        ),
        (
            '[[client]]\niss = "a"\njwks = "jwks.json"\nfhir_server = ["https://ehr.example/fhir"]\n',
            r"client\[0\]\.fhir_server: unknown key \(iss, jwks, tenant, algorithms, client_id, fhir_servers, origins\)",
        ),
        (
            '[[client]]\niss = "a"\njwks = "jwks.json"\n[[client]]\niss = "a"\njwks = "jwks.json"\n',
            r"client\[1\]\.iss: 'a' is named twice",
        ),
    ],
)
def test_bad_clients_files_are_refused_naming_file_and_key(tmp_path: Path, body: str, message: str) -> None:
    (tmp_path / "jwks.json").write_text(json.dumps(es384_client().jwks))
    (tmp_path / "notjwks.json").write_text("[1, 2]")
    path = tmp_path / "clients.toml"
    path.write_text(body)
    with pytest.raises(IgwatchError, match=message) as info:
        load_trusted_clients(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_jwks_urls_https_or_loopback_http(tmp_path: Path) -> None:
    path = tmp_path / "clients.toml"
    path.write_text(
        '[[client]]\niss = "a"\njwks = "https://ehr.example/jwks.json"\n'
        '[[client]]\niss = "b"\njwks = "http://127.0.0.1:9/jwks.json"\n'
        '[[client]]\niss = "c"\njwks = "http://localhost:9/jwks.json"\n'
        '[[client]]\niss = "d"\njwks = "http://[::1]:9/jwks.json"\n'
    )
    assert [c.jwks for c in load_trusted_clients(path)] == [
        "https://ehr.example/jwks.json",
        "http://127.0.0.1:9/jwks.json",
        "http://localhost:9/jwks.json",
        "http://[::1]:9/jwks.json",
    ]
    with pytest.raises(TrustedClientsError, match="cannot read"):
        load_trusted_clients(tmp_path / "absent.toml")


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # the weak key is the point
def test_unfit_keys_in_the_jwks_are_never_used(tmp_path: Path, clock: Clock) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    from igwatch.cdshooks.devkeys import public_jwk

    weak = TestClient(
        iss="https://weak.example",
        key=rsa.generate_private_key(public_exponent=65537, key_size=1024),
        kid="w",
    )
    enc = es384_client(iss="https://enc.example", kid="e")
    leaky = es384_client(iss="https://leaky.example", kid="l")
    path = write_clients_file(tmp_path, [weak, enc, leaky])
    enc_jwk = dict(public_jwk(enc.key, kid="e"), use="enc")
    (tmp_path / "jwks-1.json").write_text(json.dumps({"keys": [enc_jwk]}))
    # A JWK Set that (wrongly) publishes the private part: the key is not trusted.
    private_jwk = dict(public_jwk(leaky.key, kid="l"), d="AAAA")
    (tmp_path / "jwks-2.json").write_text(
        json.dumps({"keys": [private_jwk, {"kty": "oct", "kid": "o", "k": "c2VjcmV0"}]})
    )
    verifier = TokenVerifier(load_trusted_clients(path), now=clock)
    for client in (weak, enc, leaky):
        refused(verifier, f"Bearer {client.token(AUD, now=T0)}", "no key with this kid")


def test_fhir_servers_are_read_normalised_and_carried_to_the_caller(tmp_path: Path, clock: Clock) -> None:
    client = es384_client(iss="https://fhir-listed.example", kid="f-1")
    listed = ["HTTPS://EHR.example.org:443/fhir/", "https://ehr.example.org/fhir", "http://127.0.0.1:8081/r4"]
    path = write_clients_file(tmp_path, [client, es384_client()], fhir_servers={client.iss: listed})
    with_list, without = load_trusted_clients(path)
    assert with_list.fhir_servers == ("https://ehr.example.org/fhir", "http://127.0.0.1:8081/r4")
    assert without.fhir_servers == ()
    verifier = TokenVerifier([with_list], now=clock)
    assert verifier.verify(f"Bearer {client.token(AUD, now=T0)}", AUD).fhir_servers == with_list.fhir_servers


# --------------------------------------------------------------------------------------------
# sub is the client_id
# --------------------------------------------------------------------------------------------


def _token_without_sub(client: TestClient) -> str:
    claims = claims_for(client.iss, AUD, now=T0)
    del claims["sub"]
    return jwt.encode(claims, client.key, algorithm="ES384", headers={"kid": client.kid, "typ": "JWT"})


def test_sub_must_be_the_configured_client_id(tmp_path: Path, clock: Clock) -> None:
    client = es384_client(iss="https://client-id.example", kid="c-1")
    path = write_clients_file(tmp_path, [client], client_ids={client.iss: "igwatch-at-site-7"})
    (loaded,) = load_trusted_clients(path)
    assert loaded.client_id == "igwatch-at-site-7"
    verifier = TokenVerifier([loaded], now=clock)

    got = verifier.verify(f"Bearer {client.token(AUD, now=T0, sub='igwatch-at-site-7')}", AUD)
    assert got.sub == "igwatch-at-site-7"
    error = refused(verifier, f"Bearer {client.token(AUD, now=T0, sub='igwatch-at-site-8')}", "client_id")
    assert "igwatch-at-site-8" not in str(error)
    refused(verifier, f"Bearer {client.token(AUD, now=T0)}", "sub is not the configured client_id")
    refused(verifier, f"Bearer {_token_without_sub(client)}", "claim sub missing")
    refused(verifier, f"Bearer {client.token(AUD, now=T0, extra_claims={'sub': None})}", "claim sub missing")


def test_without_a_client_id_any_sub_or_none_is_accepted(verifier: TokenVerifier, es: TestClient) -> None:
    assert verifier.verify(f"Bearer {es.token(AUD, now=T0, sub='anything')}", AUD).sub == "anything"
    assert verifier.verify(f"Bearer {_token_without_sub(es)}", AUD).sub is None


# --------------------------------------------------------------------------------------------
# A JWK Set file is read again when it changes
# --------------------------------------------------------------------------------------------


def replace_file(path: Path, data: bytes | dict[str, Any]) -> None:
    """Write ``path`` as a key rotation should: a new file renamed over the old one."""
    staged = path.with_suffix(".new")
    staged.write_bytes(data if isinstance(data, bytes) else json.dumps(data).encode())
    os.replace(staged, path)


@pytest.fixture
def rotating(tmp_path: Path, clock: Clock) -> tuple[TokenVerifier, TestClient, TestClient, Path]:
    """A verifier trusting one file-based client, its first key and the key it rotates to."""
    old = es384_client(iss="https://file-rotation.example", kid="old")
    new = TestClient(iss=old.iss, key=es384_key("file-rotation-new"), kid="new")
    path = write_clients_file(tmp_path, [old])
    return TokenVerifier(load_trusted_clients(path), now=clock), old, new, tmp_path / "jwks-0.json"


def test_a_rotated_jwks_file_is_used_without_a_restart(
    rotating: tuple[TokenVerifier, TestClient, TestClient, Path], clock: Clock
) -> None:
    verifier, old, new, jwks_file = rotating
    verifier.verify(f"Bearer {old.token(AUD, now=clock.t)}", AUD)
    refused(verifier, f"Bearer {new.token(AUD, now=clock.t)}", "no key with this kid")

    replace_file(jwks_file, new.jwks)
    # An unknown kid looks at the file at once.
    verifier.verify(f"Bearer {new.token(AUD, now=clock.t)}", AUD)
    refused(verifier, f"Bearer {old.token(AUD, now=clock.t)}", "no key with this kid")


def test_a_known_kid_sees_a_changed_file_within_a_second(
    rotating: tuple[TokenVerifier, TestClient, TestClient, Path], clock: Clock
) -> None:
    verifier, old, new, jwks_file = rotating
    verifier.verify(f"Bearer {old.token(AUD, now=clock.t)}", AUD)
    replace_file(jwks_file, new.jwks)  # the old key is withdrawn
    clock.t += 0.5
    verifier.verify(f"Bearer {old.token(AUD, now=clock.t)}", AUD)  # not looked at again yet
    clock.t += 0.5
    refused(verifier, f"Bearer {old.token(AUD, now=clock.t)}", "no key with this kid")


@pytest.mark.parametrize(
    "broken", [b"{not json", b'{"keys": 3}', None], ids=["not-json", "not-jwks", "deleted"]
)
def test_an_unreadable_new_jwks_file_keeps_the_last_good_keys(
    rotating: tuple[TokenVerifier, TestClient, TestClient, Path],
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
    broken: bytes | None,
) -> None:
    verifier, old, new, jwks_file = rotating
    verifier.verify(f"Bearer {old.token(AUD, now=clock.t)}", AUD)
    if broken is None:
        jwks_file.unlink()
    else:
        replace_file(jwks_file, broken)
    with caplog.at_level(logging.WARNING, logger="igwatch.cdshooks.auth"):
        for _ in range(3):
            clock.t += 1.0
            verifier.verify(f"Bearer {old.token(AUD, now=clock.t)}", AUD)
        refused(verifier, f"Bearer {new.token(AUD, now=clock.t)}", "no key with this kid")
    warnings = [r.getMessage() for r in caplog.records if "keeping the keys read before" in r.getMessage()]
    assert len(warnings) == 1, warnings  # once per change, not once a second
    assert str(jwks_file) in warnings[0]

    replace_file(jwks_file, new.jwks)  # fixed: read again
    verifier.verify(f"Bearer {new.token(AUD, now=clock.t)}", AUD)
