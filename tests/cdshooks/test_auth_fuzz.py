"""Garbage in the Authorization header, or JWT-shaped garbage, only ever raises AuthError."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from igwatch.cdshooks.auth import AuthError, TokenVerifier, load_trusted_clients
from tests.support.jwt_keys import b64url, b64url_json, es384_client, rs384_client, write_clients_file

AUD = "http://127.0.0.1:8080/cds-services/igwatch-patient-view"
ES = es384_client()
RS = rs384_client()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
header_objects = st.fixed_dictionaries(
    {},
    optional={
        "alg": st.sampled_from(["ES384", "RS384", "none", "HS256", "PS384", "ES256", ""]) | json_values,
        "kid": st.sampled_from([ES.kid, RS.kid]) | json_values,
        "typ": st.sampled_from(["JWT", "jwt"]) | json_values,
        "jku": json_values,
        "crit": json_values,
    },
)
claim_objects = st.fixed_dictionaries(
    {},
    optional={
        "iss": st.sampled_from([ES.iss, RS.iss]) | json_values,
        "aud": st.just(AUD) | json_values,
        "exp": json_values,
        "iat": json_values,
        "nbf": json_values,
        "jti": json_values,
        "sub": json_values,
        "tenant": json_values,
    },
)


@pytest.fixture(scope="module")
def verifier(tmp_path_factory: pytest.TempPathFactory) -> TokenVerifier:
    directory: Path = tmp_path_factory.mktemp("fuzz-clients")
    return TokenVerifier(load_trusted_clients(write_clients_file(directory, [ES, RS])))


def only_auth_errors(verifier: TokenVerifier, header: str | None) -> None:
    try:
        verifier.verify(header, AUD)
    except AuthError:
        return
    pytest.fail("a garbage header was accepted")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.none() | st.text(max_size=300) | st.text(max_size=40).map(lambda t: "Bearer " + t))
def test_any_text_is_refused_with_auth_error(verifier: TokenVerifier, header: str | None) -> None:
    only_auth_errors(verifier, header)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    head=header_objects | json_values,
    claims=claim_objects | json_values,
    signature=st.binary(max_size=120),
    raw_segment=st.one_of(st.none(), st.binary(max_size=40)),
)
def test_jwt_shaped_garbage_is_refused_with_auth_error(
    verifier: TokenVerifier, head: object, claims: object, signature: bytes, raw_segment: bytes | None
) -> None:
    first = b64url_json(head)
    second = b64url(raw_segment) if raw_segment is not None else b64url(json.dumps(claims).encode())
    only_auth_errors(verifier, f"Bearer {first}.{second}.{b64url(signature)}")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(min_value=0), replacement=st.characters(codec="ascii"))
def test_a_valid_token_with_any_one_character_changed_is_refused(
    verifier: TokenVerifier, position: int, replacement: str
) -> None:
    token = ES.token(AUD)
    index = position % len(token)
    if token[index] == replacement:
        return
    only_auth_errors(verifier, f"Bearer {token[:index]}{replacement}{token[index + 1 :]}")
