"""The OAuth 2 / OpenID Connect side of igwatch's logins: discovery, the authorization request
(PKCE S256, state, nonce), the code exchange, refresh, and the ID token check.

authlib does the protocol (client authentication with ``client_secret_basic`` or a private-key
JWT, PKCE, the token requests) and joserfc (authlib's JOSE library) checks ID token signatures
against the server's JWKS; igwatch adds only the SMART App Launch choices: which scopes to ask
for, what a token response must hold, and one-line errors that name no patient.
"""

from __future__ import annotations

import logging
import secrets
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import authlib.deprecate  # noqa: F401  (sets its own warning filter on import; ours must come after)
import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

with warnings.catch_warnings():
    # authlib prefers its httpx2 fork and warns when it falls back to httpx, which igwatch uses
    # everywhere else; the fallback is the supported client of this authlib release.
    warnings.simplefilter("ignore")
    from authlib.integrations.httpx_client import AsyncOAuth2Client
    from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.common.errors import AuthlibBaseError

from igwatch.config_files import OAuthClient

log = logging.getLogger("igwatch.smart")

HTTP_TIMEOUT_S = 10.0
DISCOVERY_TTL_S = 300.0
ID_TOKEN_LEEWAY_S = 60
#: The resources igwatch reads for a patient (the CDS Hooks prefetch searches).
READ_TYPES = (
    "Patient",
    "Observation",
    "Condition",
    "Encounter",
    "MedicationStatement",
    "MedicationRequest",
    "MedicationAdministration",
    "Immunization",
    "Medication",
)


class OAuthProblem(Exception):
    """A login or launch step failed. The message is one line for the page and the log; it
    never holds a token, a code or patient data."""


@dataclass(frozen=True)
class ServerConfiguration:
    """What igwatch needs of an authorization server's discovery document."""

    issuer: str | None
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str | None
    capabilities: frozenset[str] = frozenset()
    scopes_supported: frozenset[str] = frozenset()


def _http() -> httpx.AsyncClient:
    # trust_env=False: the EHR's servers are reached directly; no redirects carry a secret away.
    return httpx.AsyncClient(timeout=HTTP_TIMEOUT_S, follow_redirects=False, trust_env=False)


_discovery_cache: dict[str, tuple[float, ServerConfiguration]] = {}


async def discover(url: str, what: str) -> ServerConfiguration:
    """Read a discovery document (SMART ``.well-known/smart-configuration`` or OpenID
    ``.well-known/openid-configuration``), cached for a few minutes."""
    now = time.monotonic()
    cached = _discovery_cache.get(url)
    if cached and now - cached[0] < DISCOVERY_TTL_S:
        return cached[1]
    try:
        async with _http() as client:
            response = await client.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as error:
        raise OAuthProblem(f"{what}: could not be read ({type(error).__name__})") from None
    if response.status_code != 200:
        raise OAuthProblem(f"{what}: HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise OAuthProblem(f"{what}: not a JSON object")
    endpoints = {}
    for key in ("authorization_endpoint", "token_endpoint"):
        value = body.get(key)
        if not isinstance(value, str) or not value.startswith(("https://", "http://")):
            raise OAuthProblem(f"{what}: no {key}")
        endpoints[key] = value
    methods = body.get("code_challenge_methods_supported")
    if isinstance(methods, list) and "S256" not in methods:
        raise OAuthProblem(f"{what}: the server does not support PKCE S256")
    config = ServerConfiguration(
        issuer=body["issuer"] if isinstance(body.get("issuer"), str) else None,
        authorization_endpoint=endpoints["authorization_endpoint"],
        token_endpoint=endpoints["token_endpoint"],
        jwks_uri=body["jwks_uri"] if isinstance(body.get("jwks_uri"), str) else None,
        capabilities=frozenset(c for c in body.get("capabilities") or [] if isinstance(c, str)),
        scopes_supported=frozenset(s for s in body.get("scopes_supported") or [] if isinstance(s, str)),
    )
    _discovery_cache[url] = (now, config)
    return config


def read_scopes(config: ServerConfiguration) -> list[str]:
    """The narrowest read scopes for igwatch's searches: SMART v2 (``.rs``, ``Patient.r``) when
    the server supports them, else v1 (``.read``). Observations are asked for whole, not by
    category: EHRs file weights under ``laboratory`` as well as ``vital-signs``, and a condition's
    evidence can be any Observation."""
    if "permission-v2" in config.capabilities:
        return [f"patient/{t}.r" if t == "Patient" else f"patient/{t}.rs" for t in READ_TYPES]
    return [f"patient/{t}.read" for t in READ_TYPES]


@dataclass
class Authorization:
    """An authorization request under way: what the callback must find again."""

    url: str
    state: str
    code_verifier: str
    nonce: str
    scope: str
    created: float = field(default_factory=time.monotonic)


def _client(credentials: OAuthClient, redirect_uri: str, token_endpoint: str) -> AsyncOAuth2Client:
    secret = credentials.private_key_pem or credentials.client_secret
    client = AsyncOAuth2Client(
        client_id=credentials.client_id,
        client_secret=secret,
        token_endpoint_auth_method=credentials.auth_method,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        timeout=HTTP_TIMEOUT_S,
        follow_redirects=False,
        trust_env=False,
    )
    if credentials.auth_method == "private_key_jwt":
        headers = {"kid": credentials.key_id} if credentials.key_id else None
        client.register_client_auth_method(
            PrivateKeyJWT(token_endpoint, headers=headers, alg=credentials.key_algorithm)
        )
    return client


async def authorization_request(
    config: ServerConfiguration,
    credentials: OAuthClient,
    redirect_uri: str,
    scopes: list[str],
    **extra: str,
) -> Authorization:
    """The URL to send the browser to, with a fresh state, PKCE verifier and nonce."""
    state = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    nonce = secrets.token_urlsafe(24)
    scope = " ".join(dict.fromkeys(scopes))
    async with _client(credentials, redirect_uri, config.token_endpoint) as client:
        url, _ = client.create_authorization_url(
            config.authorization_endpoint,
            state=state,
            code_verifier=verifier,
            nonce=nonce,
            scope=scope,
            **extra,
        )
    return Authorization(url=url, state=state, code_verifier=verifier, nonce=nonce, scope=scope)


def _token_error(step: str, error: Exception) -> OAuthProblem:
    code = getattr(error, "error", None) or type(error).__name__
    return OAuthProblem(f"{step}: the authorization server refused ({str(code)[:60]})")


async def exchange_code(
    config: ServerConfiguration,
    credentials: OAuthClient,
    redirect_uri: str,
    code: str,
    code_verifier: str,
) -> dict[str, Any]:
    """Trade the authorization code for tokens."""
    try:
        async with _client(credentials, redirect_uri, config.token_endpoint) as client:
            token = await client.fetch_token(
                config.token_endpoint,
                grant_type="authorization_code",
                code=code,
                code_verifier=code_verifier,
            )
    except (AuthlibBaseError, httpx.HTTPError, ValueError) as error:
        raise _token_error("token request", error) from None
    if not isinstance(token, dict) or not isinstance(token.get("access_token"), str):
        raise OAuthProblem("token request: the answer holds no access token")
    if str(token.get("token_type", "")).lower() != "bearer":
        raise OAuthProblem("token request: the token is not a Bearer token")
    return dict(token)


async def refresh(
    config: ServerConfiguration, credentials: OAuthClient, redirect_uri: str, refresh_token: str
) -> dict[str, Any]:
    """A new access token from a refresh token."""
    try:
        async with _client(credentials, redirect_uri, config.token_endpoint) as client:
            token = await client.refresh_token(config.token_endpoint, refresh_token=refresh_token)
    except (AuthlibBaseError, httpx.HTTPError, ValueError) as error:
        raise _token_error("token refresh", error) from None
    if not isinstance(token, dict) or not isinstance(token.get("access_token"), str):
        raise OAuthProblem("token refresh: the answer holds no access token")
    return dict(token)


_jwks_cache: dict[str, tuple[float, KeySet]] = {}


async def _key_set(jwks_uri: str, *, fresh: bool = False) -> KeySet:
    now = time.monotonic()
    cached = _jwks_cache.get(jwks_uri)
    if cached and not fresh and now - cached[0] < DISCOVERY_TTL_S:
        return cached[1]
    try:
        async with _http() as client:
            response = await client.get(jwks_uri, headers={"Accept": "application/json"})
        keys = KeySet.import_key_set(response.json())
    except (httpx.HTTPError, ValueError, JoseError, TypeError):
        raise OAuthProblem("ID token: the server's signing keys (jwks_uri) cannot be read") from None
    _jwks_cache[jwks_uri] = (now, keys)
    return keys


async def verified_id_token(
    id_token: str, config: ServerConfiguration, client_id: str, nonce: str
) -> dict[str, Any]:
    """The claims of an ID token whose signature, issuer, audience, nonce and times hold."""
    if config.jwks_uri is None or config.issuer is None:
        raise OAuthProblem("ID token: the server publishes no issuer or jwks_uri to check it against")
    algorithms = ["RS256", "RS384", "ES256", "ES384", "PS256"]
    try:
        try:
            token = jwt.decode(id_token, await _key_set(config.jwks_uri), algorithms=algorithms)
        except JoseError:  # the keys may have rotated since they were read
            token = jwt.decode(id_token, await _key_set(config.jwks_uri, fresh=True), algorithms=algorithms)
        registry = jwt.JWTClaimsRegistry(
            leeway=ID_TOKEN_LEEWAY_S,
            iss={"essential": True, "value": config.issuer},
            aud={"essential": True, "value": client_id},
            nonce={"essential": True, "value": nonce},
            sub={"essential": True},
            exp={"essential": True},
        )
        registry.validate(token.claims)
    except (JoseError, ValueError) as error:
        raise OAuthProblem(f"ID token: not accepted ({type(error).__name__})") from None
    return dict(token.claims)
