"""Trusting CDS clients (CDS Hooks 2.0.1): every call carries a JWT signed by a trusted EHR.

The trusted clients are a TOML file of ``[[client]]`` tables (``iss``, ``jwks``, optional
``tenant``, ``algorithms``, ``client_id`` and ``fhir_servers``). :class:`TokenVerifier` checks the
``Authorization: Bearer`` JWT: the issuer is one of them, the signature verifies with the key
named by ``kid`` in that issuer's JWK Set under an asymmetric algorithm the client allows
(``none`` and every HMAC are refused whatever the configuration), ``aud`` is the URL called,
``sub`` is the configured ``client_id`` (when one is), ``exp``/``iat`` are within a bounded clock
skew and lifetime, and the ``jti`` has not been seen before. ``fhir_servers`` are the FHIR bases
the client may send the prefetch fallback to (none: the fallback is not used for it).

Every refusal is an :class:`AuthError` whose message is a reason for the server log: it never
holds the token, its claims or patient data, only fixed words and values from the configuration.
"""

from __future__ import annotations

import heapq
import ipaddress
import json
import logging
import os
import re
import threading
import time
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.exceptions import PyJWKError, PyJWTError

from igwatch.cdshooks.fhir_bases import FhirBaseError, normalise_base
from igwatch.errors import IgwatchError

log = logging.getLogger("igwatch.cdshooks.auth")

DEFAULT_ALGORITHMS: tuple[str, ...] = ("ES384", "RS384")

# Asymmetric JWS algorithms a client may be configured with, by the JWK key type they need.
# Anything else (none, HS256/384/512, unknown names) is refused at load time and at verify time.
_KEY_TYPE_BY_ALGORITHM = {
    "ES256": "EC",
    "ES384": "EC",
    "ES512": "EC",
    "RS256": "RSA",
    "RS384": "RSA",
    "RS512": "RSA",
    "PS256": "RSA",
    "PS384": "RSA",
    "PS512": "RSA",
}
_CURVE_BY_ALGORITHM = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}

# At most one JWK Set fetch per client in this many seconds, whatever kids tokens name: enough to
# follow a key rotation quickly, too rare for forged tokens to turn us against the EHR's server.
JWKS_MIN_REFRESH_S = 5.0
# A JWK Set file is looked at (stat) at most this often, and read again only when it changed, so a
# rotated key file takes effect without a restart and without a read per request.
JWKS_FILE_RECHECK_S = 1.0
MIN_RSA_BITS = 2048
MAX_TOKEN_CHARS = 16_384
MAX_JWKS_BYTES = 1_048_576
MAX_JTI_CHARS = 256
_BEARER = re.compile(r"[ \t]*bearer[ \t]+([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*)[ \t]*", re.I)
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}
# The version of a JWK Set file that is not there (stat failed).
_NO_FILE = (-1, -1, -1)


class AuthError(Exception):
    """A request is not authenticated. The message is for the log only, never the response."""


class TrustedClientsError(IgwatchError):
    """The trusted-clients file does not validate; the message names the file and the key."""


@dataclass(frozen=True)
class TrustedClient:
    """One EHR allowed to call the service. ``jwks`` is an http(s) URL or an absolute file path;
    ``client_id``, when set, is the ``sub`` its tokens must carry; ``fhir_servers`` are the
    normalised FHIR bases its requests may name as ``fhirServer``."""

    iss: str
    jwks: str
    tenant: str | None = None
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    client_id: str | None = None
    fhir_servers: tuple[str, ...] = ()
    origins: tuple[str, ...] = ()  # browser origins that may call the service (CORS)


@dataclass(frozen=True)
class VerifiedClient:
    """Who called: the issuer, its tenant (token claim or configured), the token id and subject,
    and the FHIR bases it may name as ``fhirServer``."""

    iss: str
    tenant: str | None
    jti: str
    sub: str | None
    fhir_servers: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------------
# The trusted-clients file
# --------------------------------------------------------------------------------------------


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _jwks_location(value: str, base_dir: Path, where: str) -> str:
    if "://" in value:
        parts = urlsplit(value)
        if parts.scheme == "https" and parts.hostname:
            return value
        if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
            return value
        raise TrustedClientsError(
            f"{where}: {value!r} must be an https URL (http only for 127.0.0.1/localhost) or a file path"
        )
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = base_dir / path
    path = path.resolve()
    # A file JWK Set is checked now, so a typo stops the server at start, not at the first call.
    _read_jwks_file(path, where)
    return str(path)


def _read_jwks_file(path: Path, where: str) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise TrustedClientsError(f"{where}: cannot read {path} ({error.strerror or error})") from None
    try:
        return _parse_jwks(data)
    except ValueError as error:
        raise TrustedClientsError(f"{where}: {path} {error}") from None


def _parse_jwks(data: bytes) -> dict[str, Any]:
    if len(data) > MAX_JWKS_BYTES:
        raise ValueError("is larger than 1 MiB")
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise ValueError("is not JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError('is not a JWK Set (an object with a "keys" list)')
    return document


def _algorithms(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return DEFAULT_ALGORITHMS
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise TrustedClientsError(f"{where}: must be a non-empty list of algorithm names")
    for name in value:
        if name not in _KEY_TYPE_BY_ALGORITHM:
            why = (
                "symmetric (HMAC) and unsigned tokens are never accepted"
                if name.lower() == "none" or name.upper().startswith("HS")
                else "not a supported asymmetric JWS algorithm"
            )
            allowed = ", ".join(_KEY_TYPE_BY_ALGORITHM)
            raise TrustedClientsError(f"{where}: {name!r} refused: {why} (allowed: {allowed})")
    return tuple(dict.fromkeys(value))


def _fhir_servers(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TrustedClientsError(f"{where}: must be a list of http(s) FHIR base URLs")
    bases: list[str] = []
    for index, entry in enumerate(value):
        try:
            bases.append(normalise_base(entry))
        except FhirBaseError as error:
            raise TrustedClientsError(f"{where}[{index}]: {entry!r} {error}") from None
    return tuple(dict.fromkeys(bases))


_CLIENT_KEYS = ("iss", "jwks", "tenant", "algorithms", "client_id", "fhir_servers", "origins")


def _origins(value: Any, where: str) -> tuple[str, ...]:
    """Browser origins (``https://host[:port]``, no path) allowed to call the service (CORS)."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TrustedClientsError(f"{where}: must be a list of origins such as 'https://ehr.example.org'")
    origins: list[str] = []
    for index, entry in enumerate(value):
        parts = urlsplit(entry.strip())
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.path not in ("", "/")
            or parts.query
            or parts.fragment
            or parts.username
        ):
            raise TrustedClientsError(
                f"{where}[{index}]: {entry!r} is not an origin (scheme://host[:port], nothing after)"
            )
        origins.append(f"{parts.scheme}://{parts.netloc.lower()}")
    return tuple(dict.fromkeys(origins))


def load_trusted_clients(path: str | Path) -> list[TrustedClient]:
    """Read the ``[[client]]`` tables of a TOML file; refused with the file and the key named."""
    file = Path(path)
    try:
        text = file.read_bytes().decode("utf-8")
    except OSError as error:
        raise TrustedClientsError(f"{file}: cannot read ({error.strerror or error})") from None
    except UnicodeDecodeError:
        raise TrustedClientsError(f"{file}: not UTF-8 text") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise TrustedClientsError(f"{file}: not valid TOML ({error})") from None
    unknown = sorted(set(document) - {"client"})
    if unknown:
        raise TrustedClientsError(f"{file}: {unknown[0]}: unknown key (expected [[client]] tables)")
    tables = document.get("client")
    if not isinstance(tables, list) or not tables:
        raise TrustedClientsError(f"{file}: no [[client]] table: name at least one trusted EHR")
    clients: list[TrustedClient] = []
    seen: set[str] = set()
    for index, table in enumerate(tables):
        where = f"{file}: client[{index}]"
        if not isinstance(table, dict):
            raise TrustedClientsError(f"{where}: must be a table")
        extra = sorted(set(table) - set(_CLIENT_KEYS))
        if extra:
            raise TrustedClientsError(f"{where}.{extra[0]}: unknown key ({', '.join(_CLIENT_KEYS)})")
        for key in ("iss", "jwks"):
            if not isinstance(table.get(key), str) or not table[key].strip():
                raise TrustedClientsError(f"{where}.{key}: required, a non-empty string")
        iss = table["iss"]
        if iss in seen:
            raise TrustedClientsError(f"{where}.iss: {iss!r} is named twice")
        seen.add(iss)
        tenant = table.get("tenant")
        if tenant is not None and (not isinstance(tenant, str) or not tenant):
            raise TrustedClientsError(f"{where}.tenant: must be a non-empty string")
        client_id = table.get("client_id")
        if client_id is not None and (not isinstance(client_id, str) or not client_id):
            raise TrustedClientsError(f"{where}.client_id: must be a non-empty string")
        clients.append(
            TrustedClient(
                iss=iss,
                jwks=_jwks_location(table["jwks"].strip(), file.parent, f"{where}.jwks"),
                tenant=tenant,
                algorithms=_algorithms(table.get("algorithms"), f"{where}.algorithms"),
                client_id=client_id,
                fhir_servers=_fhir_servers(table.get("fhir_servers"), f"{where}.fhir_servers"),
                origins=_origins(table.get("origins"), f"{where}.origins"),
            )
        )
    return clients


# --------------------------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Key:
    jwk: Mapping[str, Any]
    key: Any


def _usable_keys(document: Mapping[str, Any]) -> dict[str, _Key]:
    """The signing keys of a JWK Set by ``kid``; keys without a kid, private or symmetric keys,
    keys for encryption and keys PyJWT cannot read are left out."""
    keys: dict[str, _Key] = {}
    for entry in document.get("keys", []):
        if not isinstance(entry, dict):
            continue
        kid = entry.get("kid")
        if not isinstance(kid, str) or entry.get("kty") not in ("EC", "RSA"):
            continue
        if entry.get("use", "sig") != "sig" or "d" in entry:
            continue
        try:
            key = jwt.PyJWK(entry).key
        except (PyJWKError, PyJWTError, ValueError, TypeError, KeyError):
            continue
        if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
            continue
        keys[kid] = _Key(jwk=dict(entry), key=key)
    return keys


class _KeySet:
    """One client's JWK Set: a file read again when it changes, or a URL fetched, cached and refreshed.

    A file is read at first use and again when its modification time, size or inode changed,
    which is looked at no more than once every :data:`JWKS_FILE_RECHECK_S` (and whenever a token
    names an unknown ``kid``); a changed file that cannot be read as a JWK Set is logged and the
    keys read before stay in use. A URL is fetched at first use, again when older than
    ``max_age_s``, and again when a token names an unknown ``kid`` (key rotation), but never twice
    within ``min_refresh_s`` so tokens with made-up kids cannot make us hammer the EHR.
    """

    def __init__(
        self,
        location: str,
        *,
        timeout_s: float,
        min_refresh_s: float,
        max_age_s: float,
        now: Callable[[], float],
    ) -> None:
        self.location = location
        self.is_url = "://" in location
        self._timeout_s = timeout_s
        self._min_refresh_s = min_refresh_s
        self._max_age_s = max_age_s
        self._now = now
        self._lock = threading.Lock()
        self._keys: dict[str, _Key] | None = None
        self._fetched_at = 0.0
        self._attempted_at: float | None = None
        self._file_checked_at = 0.0
        self._file_version: tuple[int, int, int] | None = None
        self._file_refused: tuple[int, int, int] | None = None

    def key(self, kid: str) -> _Key:
        with self._lock:
            now = self._now()
            if not self.is_url:
                self._reload_file(now, unknown_kid=kid not in (self._keys or {}))
            elif self._keys is None:
                self._load(now)
            elif now - self._fetched_at >= self._max_age_s:
                self._refresh(now)
            keys = self._keys or {}
            if kid not in keys and self.is_url:
                self._refresh(now)
                keys = self._keys or {}
            found = keys.get(kid)
        if found is None:
            raise AuthError("no key with this kid in the client's JWK Set")
        return found

    def _reload_file(self, now: float, *, unknown_kid: bool) -> None:
        if self._keys is not None and not unknown_kid and now - self._file_checked_at < JWKS_FILE_RECHECK_S:
            return
        self._file_checked_at = now
        try:
            stat = os.stat(self.location)
        except OSError as error:
            version, failure = _NO_FILE, f"cannot be read ({error.strerror or error})"
        else:
            version, failure = (stat.st_mtime_ns, stat.st_size, stat.st_ino), ""
            if self._keys is not None and version == self._file_version:
                return
            try:
                document = _parse_jwks(Path(self.location).read_bytes())
            except OSError as error:
                failure = f"cannot be read ({error.strerror or error})"
            except ValueError as error:
                failure = str(error)
            else:
                first = self._keys is None
                self._keys = _usable_keys(document)
                self._file_version, self._file_refused = version, None
                if not first:
                    log.info("JWK Set file %s read again (%d signing keys)", self.location, len(self._keys))
                return
        if self._keys is None:
            raise AuthError(f"JWK Set file {self.location} unreadable: {failure}")
        if version != self._file_refused:
            # Once per change of the file: the keys read before stay in use until it is fixed.
            log.warning(
                "JWK Set file %s changed and %s; keeping the keys read before", self.location, failure
            )
            self._file_refused = version

    def _load(self, now: float) -> None:
        self._refresh(now)
        if self._keys is None:
            raise AuthError(f"JWK Set {self.location} not available")

    def _refresh(self, now: float) -> None:
        if self._attempted_at is not None and now - self._attempted_at < self._min_refresh_s:
            return
        self._attempted_at = now
        try:
            document = self._fetch()
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, OSError, ValueError) as error:
            # Keep the keys we have: an unreachable EHR key server must not lock everyone out.
            log.warning("JWK Set %s: fetch failed (%s: %s)", self.location, type(error).__name__, error)
            return
        self._keys = _usable_keys(document)
        self._fetched_at = now

    def _fetch(self) -> dict[str, Any]:
        # httpx's timeout bounds each read; the deadline bounds a server that drips bytes.
        deadline = time.monotonic() + 2 * self._timeout_s
        with (
            httpx.Client(timeout=self._timeout_s, follow_redirects=False) as client,
            client.stream("GET", self.location, headers={"Accept": "application/json"}) as response,
        ):
            if response.status_code != 200:
                raise ValueError(f"HTTP {response.status_code}")
            body = bytearray()
            for chunk in response.iter_bytes():
                body.extend(chunk)
                if len(body) > MAX_JWKS_BYTES:
                    raise ValueError("JWK Set larger than 1 MiB")
                if time.monotonic() > deadline:
                    raise ValueError("JWK Set download too slow")
        return _parse_jwks(bytes(body))


# --------------------------------------------------------------------------------------------
# Replay cache
# --------------------------------------------------------------------------------------------


class ReplayStore(Protocol):
    """Where token ids are remembered: this process (:class:`ReplayCache`) or the database,
    shared by every worker process (:class:`igwatch.store.replay.DatabaseReplayCache`)."""

    def add(self, iss: str, jti: str, keep_until: float, now: float) -> None: ...


class ReplayCache:
    """Token ids seen, each kept until its token can no longer be accepted (``exp`` + skew).

    Partitioned per client and bounded per client (``capacity`` ids each): expired entries are
    dropped as new ones arrive; if a client's partition is full of live entries its new token is
    refused rather than an entry forgotten, since forgetting a live ``jti`` would let that token be
    replayed. One busy client therefore never locks another out. Only tokens that passed every
    other check are recorded, so only a trusted client can fill its partition, and the lifetime
    bound keeps entries short-lived.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("replay cache capacity must be at least 1")
        self.capacity = capacity
        self._expiry: dict[tuple[str, str], float] = {}
        self._by_expiry: list[tuple[float, tuple[str, str]]] = []
        self._per_client: dict[str, int] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._expiry)

    def _purge(self, now: float) -> None:
        while self._by_expiry and self._by_expiry[0][0] < now:
            expiry, key = heapq.heappop(self._by_expiry)
            if self._expiry.get(key) == expiry:
                del self._expiry[key]
                self._per_client[key[0]] -= 1

    def add(self, iss: str, jti: str, keep_until: float, now: float) -> None:
        """Record a token id, or raise AuthError if it was seen before (or the client's
        partition is full)."""
        key = (iss, jti)
        with self._lock:
            seen_until = self._expiry.get(key)
            if seen_until is not None and seen_until >= now:
                raise AuthError("jti already used (replay)")
            self._purge(now)
            if self._per_client.get(iss, 0) >= self.capacity:
                raise AuthError("replay cache full of this client's live token ids; refusing its new tokens")
            self._expiry[key] = keep_until
            self._per_client[iss] = self._per_client.get(iss, 0) + 1
            heapq.heappush(self._by_expiry, (keep_until, key))


# --------------------------------------------------------------------------------------------
# The verifier
# --------------------------------------------------------------------------------------------


def _number(claims: Mapping[str, Any], name: str) -> float:
    value = claims.get(name)
    if value is None:
        raise AuthError(f"claim {name} missing")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AuthError(f"claim {name} is not a number")
    try:
        number = float(value)
    except OverflowError:
        raise AuthError(f"claim {name} is out of range") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise AuthError(f"claim {name} is not a finite number")
    return number


def _same_url(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


class TokenVerifier:
    """Checks CDS Hooks client JWTs against the trusted clients. Thread-safe.

    ``clock_skew_s`` bounds how far the EHR's clock may be off (``exp`` in the past and ``iat``
    in the future are tolerated that much); ``max_lifetime_s`` refuses tokens with
    ``exp - iat`` longer (CDS Hooks recommends 5 minutes); ``replay_cache_size`` bounds the
    ``jti`` memory per client (see :class:`ReplayCache`), kept in this process unless
    ``replay_store`` names a shared one; ``http_timeout_s`` bounds a JWK Set fetch;
    ``jwks_min_refresh_s`` is the least time between two fetches of one JWK Set (default
    :data:`JWKS_MIN_REFRESH_S`) and ``jwks_max_age_s`` how long fetched keys are used before
    they are fetched again.
    """

    def __init__(
        self,
        clients: Iterable[TrustedClient],
        *,
        clock_skew_s: float = 60.0,
        max_lifetime_s: float = 300.0,
        replay_cache_size: int = 100_000,
        http_timeout_s: float = 5.0,
        jwks_min_refresh_s: float | None = None,
        jwks_max_age_s: float = 3600.0,
        now: Callable[[], float] = time.time,
        replay_store: ReplayStore | None = None,
    ) -> None:
        self._clients = {client.iss: client for client in clients}
        self._skew = float(clock_skew_s)
        self._max_lifetime = float(max_lifetime_s)
        self._now = now
        self.replay_cache: ReplayStore = replay_store or ReplayCache(replay_cache_size)
        self._key_sets = {
            client.iss: _KeySet(
                client.jwks,
                timeout_s=http_timeout_s,
                min_refresh_s=JWKS_MIN_REFRESH_S if jwks_min_refresh_s is None else jwks_min_refresh_s,
                max_age_s=jwks_max_age_s,
                now=now,
            )
            for client in self._clients.values()
        }
        for client in self._clients.values():
            bad = [a for a in client.algorithms if a not in _KEY_TYPE_BY_ALGORITHM]
            if bad:
                raise ValueError(f"client {client.iss!r}: algorithm {bad[0]!r} is not allowed")

    @property
    def origins(self) -> tuple[str, ...]:
        """Every trusted client's browser origins (CORS), once each."""
        return tuple(dict.fromkeys(o for client in self._clients.values() for o in client.origins))

    def verify(self, authorization_header: str | None, audience: str) -> VerifiedClient:
        """The caller, if ``authorization_header`` holds a valid token for ``audience``."""
        token = self._bearer_token(authorization_header)
        try:
            parts = jwt.decode_complete(token, options={"verify_signature": False})
            header, unverified = parts["header"], parts["payload"]
        except (PyJWTError, ValueError, TypeError, KeyError, UnicodeError):
            raise AuthError("token is not a well-formed JWT") from None
        alg = header.get("alg")
        if not isinstance(alg, str):
            raise AuthError("token header has no alg")
        if alg.lower() == "none" or alg.upper().startswith("HS"):
            raise AuthError("token alg is none or HMAC: never accepted")
        if alg not in _KEY_TYPE_BY_ALGORITHM:
            raise AuthError("token alg is not a supported asymmetric algorithm")
        typ = header.get("typ")
        if typ is not None and (not isinstance(typ, str) or typ.upper() != "JWT"):
            raise AuthError("token header typ is not JWT")
        if header.get("crit") is not None:
            raise AuthError("token header has crit extensions, none understood")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError("token header has no kid")

        # The unverified issuer only selects the client; everything is checked after the signature.
        iss = unverified.get("iss")
        client = self._clients.get(iss) if isinstance(iss, str) else None
        if client is None:
            raise AuthError("issuer is not a trusted client")
        if alg not in client.algorithms:
            raise AuthError(f"token alg {alg} not allowed for client {client.iss!r}")
        key_set = self._key_sets[client.iss]
        jku = header.get("jku")
        if jku is not None and not (isinstance(jku, str) and key_set.is_url and jku == key_set.location):
            raise AuthError(f"token jku is not the configured JWK Set of client {client.iss!r}")

        key = key_set.key(kid)
        self._check_key_fits(key, alg, client)
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=[alg],
                # Times, audience and issuer are checked below against our own clock.
                options={
                    "verify_signature": True,
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "verify_aud": False,
                    "verify_iss": False,
                    "verify_sub": False,
                    "verify_jti": False,
                },
            )
        except jwt.InvalidSignatureError:
            raise AuthError(f"signature does not verify (client {client.iss!r})") from None
        except (PyJWTError, ValueError, TypeError, KeyError, UnicodeError):
            raise AuthError(f"token does not verify (client {client.iss!r})") from None
        return self._check_claims(claims, client, audience)

    @staticmethod
    def _bearer_token(authorization_header: str | None) -> str:
        if authorization_header is None or not authorization_header.strip():
            raise AuthError("no Authorization header")
        if len(authorization_header) > MAX_TOKEN_CHARS:
            raise AuthError("Authorization header too long")
        match = _BEARER.fullmatch(authorization_header)
        if match is None:
            raise AuthError("Authorization header is not 'Bearer <JWT>'")
        return match.group(1)

    @staticmethod
    def _check_key_fits(key: _Key, alg: str, client: TrustedClient) -> None:
        jwk = key.jwk
        if jwk.get("kty") != _KEY_TYPE_BY_ALGORITHM[alg]:
            raise AuthError(f"token alg {alg} does not fit the key type (client {client.iss!r})")
        if alg in _CURVE_BY_ALGORITHM and jwk.get("crv") != _CURVE_BY_ALGORITHM[alg]:
            raise AuthError(f"token alg {alg} does not fit the key curve (client {client.iss!r})")
        if "alg" in jwk and jwk["alg"] != alg:
            raise AuthError(f"token alg {alg} is not the key's alg (client {client.iss!r})")

    def _check_claims(
        self, claims: Mapping[str, Any], client: TrustedClient, audience: str
    ) -> VerifiedClient:
        who = f"client {client.iss!r}"
        if claims.get("iss") != client.iss:
            raise AuthError(f"iss changed between selection and verification ({who})")
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else None
        if not audiences:
            raise AuthError(f"claim aud missing ({who})")
        if not any(isinstance(a, str) and _same_url(a, audience) for a in audiences):
            raise AuthError(f"aud is not the URL called {audience} ({who})")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise AuthError(f"claim jti missing ({who})")
        if len(jti) > MAX_JTI_CHARS:
            raise AuthError(f"claim jti longer than {MAX_JTI_CHARS} characters ({who})")
        sub = claims.get("sub")
        if sub is not None and not isinstance(sub, str):
            raise AuthError(f"claim sub is not a string ({who})")
        tenant = claims.get("tenant")
        if tenant is not None and not isinstance(tenant, str):
            raise AuthError(f"claim tenant is not a string ({who})")
        if client.tenant is not None and tenant is not None and tenant != client.tenant:
            raise AuthError(f"tenant is not the configured tenant ({who})")
        # CDS Hooks: sub is the client_id. Checked only where the site configured one.
        if client.client_id is not None and sub is None:
            raise AuthError(f"claim sub missing, client_id configured ({who})")
        if client.client_id is not None and sub != client.client_id:
            raise AuthError(f"sub is not the configured client_id ({who})")

        now = self._now()
        try:
            exp = _number(claims, "exp")
            iat = _number(claims, "iat")
            nbf = _number(claims, "nbf") if "nbf" in claims else None
        except AuthError as error:
            raise AuthError(f"{error} ({who})") from None
        if exp < now - self._skew:
            raise AuthError(f"token expired ({who})")
        if iat > now + self._skew:
            raise AuthError(f"token iat is in the future beyond the allowed clock skew ({who})")
        if nbf is not None and nbf > now + self._skew:
            raise AuthError(f"token not valid yet (nbf) ({who})")
        if exp < iat:
            raise AuthError(f"token exp is before its iat ({who})")
        if exp - iat > self._max_lifetime:
            raise AuthError(f"token lifetime exp - iat exceeds {self._max_lifetime:g} s ({who})")

        try:
            self.replay_cache.add(client.iss, jti, exp + self._skew, now)
        except AuthError as error:
            raise AuthError(f"{error} ({who})") from None
        return VerifiedClient(
            iss=client.iss,
            tenant=tenant or client.tenant,
            jti=jti,
            sub=sub,
            fhir_servers=client.fhir_servers,
        )
