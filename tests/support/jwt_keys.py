"""Test keys and CDS Hooks client tokens: good ones as an EHR mints them, and forged ones.

Keys are made once per process (RSA generation is slow). A :class:`TestClient` is one trusted
EHR: its issuer, private key, ``kid`` and public JWK Set; :func:`write_clients_file` writes the
TOML the server reads.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from igwatch.cdshooks.devkeys import PrivateKey, mint_token, public_jwk


@functools.cache
def es384_key(name: str = "ehr") -> ec.EllipticCurvePrivateKey:
    """A P-384 key per name, made once per process."""
    return ec.generate_private_key(ec.SECP384R1())


@functools.cache
def rs384_key(name: str = "ehr") -> rsa.RSAPrivateKey:
    """A 2048-bit RSA key per name (smaller than keygen's 3072 bits, to keep tests fast)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class TestClient:
    """One trusted EHR as the tests see it."""

    __test__ = False  # not a pytest test class

    iss: str
    key: PrivateKey
    kid: str
    tenant: str | None = None
    extra_keys: list[tuple[PrivateKey, str]] = field(default_factory=list)

    @property
    def jwks(self) -> dict[str, Any]:
        keys = [public_jwk(self.key, kid=self.kid)]
        keys += [public_jwk(k, kid=kid) for k, kid in self.extra_keys]
        return {"keys": keys}

    def token(self, aud: str | list[str], **kwargs: Any) -> str:
        kwargs.setdefault("kid", self.kid)
        if self.tenant is not None:
            kwargs.setdefault("tenant", self.tenant)
        return mint_token(self.key, iss=self.iss, aud=aud, **kwargs)


def es384_client(iss: str = "https://ehr.example.org", kid: str = "es-1", **kwargs: Any) -> TestClient:
    return TestClient(iss=iss, key=es384_key(iss), kid=kid, **kwargs)


def rs384_client(iss: str = "https://rsa-ehr.example.org", kid: str = "rs-1", **kwargs: Any) -> TestClient:
    return TestClient(iss=iss, key=rs384_key(iss), kid=kid, **kwargs)


def write_clients_file(
    directory: Path,
    clients: Iterable[TestClient],
    *,
    jwks_urls: Mapping[str, str] | None = None,
    algorithms: Mapping[str, list[str]] | None = None,
    client_ids: Mapping[str, str] | None = None,
    fhir_servers: Mapping[str, list[str]] | None = None,
    origins: Mapping[str, list[str]] | None = None,
) -> Path:
    """Write each client's JWK Set (or use ``jwks_urls[iss]``) and a ``clients.toml`` naming them;
    ``algorithms``, ``client_ids``, ``fhir_servers`` and ``origins`` (by issuer) add those keys."""
    directory.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    for index, client in enumerate(clients):
        location = (jwks_urls or {}).get(client.iss)
        if location is None:
            location = f"jwks-{index}.json"
            (directory / location).write_text(json.dumps(client.jwks), encoding="utf-8")
        lines += ["[[client]]", f"iss = {json.dumps(client.iss)}", f"jwks = {json.dumps(location)}"]
        if client.tenant is not None:
            lines.append(f"tenant = {json.dumps(client.tenant)}")
        if algorithms and client.iss in algorithms:
            lines.append(f"algorithms = {json.dumps(algorithms[client.iss])}")
        if client_ids and client.iss in client_ids:
            lines.append(f"client_id = {json.dumps(client_ids[client.iss])}")
        if fhir_servers and client.iss in fhir_servers:
            lines.append(f"fhir_servers = {json.dumps(fhir_servers[client.iss])}")
        if origins and client.iss in origins:
            lines.append(f"origins = {json.dumps(origins[client.iss])}")
        lines.append("")
    path = directory / "clients.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# Forged tokens
# --------------------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def claims_for(
    iss: str, aud: str, *, ttl_s: int = 300, now: float | None = None, **extra: Any
) -> dict[str, Any]:
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "iss": iss,
        "sub": iss,
        "aud": aud,
        "iat": issued,
        "exp": issued + ttl_s,
        "jti": str(uuid.uuid4()),
    }
    claims.update(extra)
    return claims


def unsigned_token(claims: Mapping[str, Any], *, kid: str = "es-1", alg: str = "none") -> str:
    """``alg: none`` with an empty signature, as the classic attack sends it."""
    return f"{b64url_json({'alg': alg, 'typ': 'JWT', 'kid': kid})}.{b64url_json(dict(claims))}."


def hmac_token(claims: Mapping[str, Any], secret: bytes, *, kid: str = "es-1", alg: str = "HS256") -> str:
    """An HMAC-signed token, built by hand so any secret works (also a public key's PEM bytes:
    the key-confusion attack, where a verifier trusting the header's alg would use the public
    key as the HMAC secret)."""
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    signing_input = f"{b64url_json({'alg': alg, 'typ': 'JWT', 'kid': kid})}.{b64url_json(dict(claims))}"
    signature = hmac.new(secret, signing_input.encode("ascii"), digest).digest()
    return f"{signing_input}.{b64url(signature)}"


def public_pem(key: PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def tampered(token: str, **changes: Any) -> str:
    """The same header and signature over a payload with ``changes`` applied."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    return f"{header}.{b64url_json(claims)}.{signature}"
