"""Signing keys and tokens for trying the CDS Hooks service: what an EHR does on its side.

``igwatch cds-keygen`` writes a private key (PEM, mode 0600) and the matching public JWK Set;
``igwatch cds-token`` signs a CDS Hooks client JWT (header ``alg``, ``kid``, ``typ: JWT``; claims
``iss``, ``sub``, ``aud``, ``exp``, ``iat``, ``jti``, optional ``tenant``) with such a key. The
service itself only ever reads public keys.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from igwatch.errors import IgwatchError

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey

SIGNING_ALGORITHMS = ("ES384", "RS384")
RSA_KEY_BITS = 3072
DEFAULT_TTL_S = 300

# The curve fixes the ECDSA algorithm (RFC 7518 §3.4); an RSA key signs RS384 by default.
_EC_ALGORITHM_BY_CURVE = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}


class KeyFileError(IgwatchError):
    """A key file cannot be read or written; the message names the file."""


def generate_private_key(alg: str = "ES384", *, rsa_bits: int = RSA_KEY_BITS) -> PrivateKey:
    """A new private key for ``alg`` (ES384: P-384; RS384: RSA of ``rsa_bits``)."""
    if alg == "ES384":
        return ec.generate_private_key(ec.SECP384R1())
    if alg == "RS384":
        return rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
    raise IgwatchError(f"--alg {alg!r}: choose one of {', '.join(SIGNING_ALGORITHMS)}")


def algorithm_for_key(key: PrivateKey | PublicKey) -> str:
    """The JWS ``alg`` a key signs with: ES256/384/512 by curve, RS384 for RSA."""
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        alg = _EC_ALGORITHM_BY_CURVE.get(key.curve.name)
        if alg is None:
            raise IgwatchError(f"EC curve {key.curve.name} is not usable for JWS (P-256, P-384, P-521)")
        return alg
    return "RS384"


def private_key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 thumbprint (SHA-256, base64url): a stable ``kid`` derived from the public key."""
    members = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n")}[str(jwk["kty"])]
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def public_jwk(key: PrivateKey | PublicKey, *, kid: str | None = None) -> dict[str, Any]:
    """The public JWK of ``key`` with ``kid`` (default: its thumbprint), ``alg`` and ``use: sig``."""
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) else key
    if isinstance(public, ec.EllipticCurvePublicKey):
        jwk = ECAlgorithm.to_jwk(public, as_dict=True)
    else:
        jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
    jwk = {k: v for k, v in jwk.items() if k in ("kty", "crv", "x", "y", "n", "e")}
    jwk["kid"] = kid or jwk_thumbprint(jwk)
    jwk["alg"] = algorithm_for_key(public)
    jwk["use"] = "sig"
    return jwk


def load_private_key(path: str | Path) -> PrivateKey:
    """Read an unencrypted PEM private key (EC or RSA); refused with the file named otherwise."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise KeyFileError(f"{path}: cannot read the key ({error.strerror or error})") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise KeyFileError(f"{path}: not an unencrypted PEM private key (EC or RSA)") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise KeyFileError(f"{path}: only EC (P-256/384/521) and RSA keys sign CDS Hooks tokens")
    algorithm_for_key(key)
    return key


def mint_token(
    key: PrivateKey,
    *,
    iss: str,
    aud: str | list[str],
    kid: str | None = None,
    ttl_s: int = DEFAULT_TTL_S,
    tenant: str | None = None,
    sub: str | None = None,
    jti: str | None = None,
    now: float | None = None,
    alg: str | None = None,
    extra_claims: Mapping[str, Any] | None = None,
    extra_headers: Mapping[str, Any] | None = None,
) -> str:
    """A signed CDS Hooks client JWT. ``kid`` defaults to the key's JWK thumbprint (as keygen)."""
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "iss": iss,
        "sub": sub or iss,
        "aud": aud,
        "iat": issued,
        "exp": issued + int(ttl_s),
        "jti": jti or str(uuid.uuid4()),
    }
    if tenant is not None:
        claims["tenant"] = tenant
    claims.update(extra_claims or {})
    headers: dict[str, Any] = {"kid": kid or public_jwk(key)["kid"], "typ": "JWT"}
    headers.update(extra_headers or {})
    return jwt.encode(claims, key, algorithm=alg or algorithm_for_key(key), headers=headers)


def _write_new(path: Path, data: bytes, mode: int) -> None:
    # O_EXCL: never overwrite a key; the mode is set at creation so the key is never world-readable.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise KeyFileError(f"{path}: already exists; choose another --out directory") from None
    except OSError as error:
        raise KeyFileError(f"{path}: cannot write ({error.strerror or error})") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def write_key_pair(
    out_dir: str | Path, *, alg: str = "ES384", kid: str | None = None
) -> tuple[Path, Path, str]:
    """Write ``private-key.pem`` (0600) and ``jwks.json`` (public only) into ``out_dir``.

    Returns the two paths and the ``kid``. Existing files are never overwritten.
    """
    directory = Path(out_dir)
    key = generate_private_key(alg)
    jwk = public_jwk(key, kid=kid)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise KeyFileError(f"{directory}: cannot create the directory ({error.strerror or error})") from None
    private_path = directory / "private-key.pem"
    jwks_path = directory / "jwks.json"
    for path in (private_path, jwks_path):
        if path.exists():
            raise KeyFileError(f"{path}: already exists; choose another --out directory")
    _write_new(private_path, private_key_pem(key), 0o600)
    _write_new(jwks_path, (json.dumps({"keys": [jwk]}, indent=2) + "\n").encode("utf-8"), 0o644)
    return private_path, jwks_path, str(jwk["kid"])
