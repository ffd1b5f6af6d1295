"""Single sign-on for the web pages: OpenID Connect authorization code + PKCE against the
hospital's identity provider, beside (or instead of) the local users file.

```toml
[sso]
name = "Hospital login"                     # the button says "Log in with Hospital login"
issuer = "https://idp.example.org"          # OpenID discovery at {issuer}/.well-known/openid-configuration
client_id = "igwatch"
client_secret = "…"                         # or private_key_file (+ key_id): private-key JWT
allowed_groups = ["igwatch-clinicians"]     # the ID token's groups claim must hold one of them
groups_claim = "groups"                     # default "groups" (Entra ID, Okta, Keycloak: "groups" or "roles")
```

The identity provider must put the groups claim in the ID token: igwatch trusts only what the
signed ID token says. A login whose groups hold none of ``allowed_groups`` is refused.
"""

from __future__ import annotations

import secrets
import threading
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from igwatch.errors import IgwatchError

PENDING_TTL_S = 600.0
MAX_PENDING = 10_000


class SsoConfigError(IgwatchError):
    """The single sign-on file cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class SsoProvider:
    name: str
    issuer: str
    client_id: str
    allowed_groups: tuple[str, ...]
    groups_claim: str = "groups"
    client_secret: str | None = None
    private_key_pem: str | None = None
    key_id: str | None = None
    key_algorithm: str = "RS384"

    @property
    def auth_method(self) -> str:
        if self.private_key_pem:
            return "private_key_jwt"
        return "client_secret_basic" if self.client_secret else "none"

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def groups_of(self, claims: dict[str, Any]) -> list[str]:
        value = claims.get(self.groups_claim)
        if isinstance(value, str):
            return [value]
        return [g for g in value if isinstance(g, str)] if isinstance(value, list) else []

    def admits(self, claims: dict[str, Any]) -> bool:
        return bool(set(self.groups_of(claims)) & set(self.allowed_groups))


def load_sso(path: Path) -> SsoProvider:
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        raise SsoConfigError(f"{path}: single sign-on file not found") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SsoConfigError(f"{path}: not a readable TOML file ({exc})") from None
    entry = raw.get("sso")
    if not isinstance(entry, dict):
        raise SsoConfigError(f"{path}: no [sso] table")

    def text(key: str, required: bool = True) -> str | None:
        value = entry.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            raise SsoConfigError(f"{path}: [sso] {key} must be a non-empty string")
        return value.strip()

    issuer = (text("issuer") or "").rstrip("/")
    if not issuer.startswith(("https://", "http://")):
        raise SsoConfigError(f"{path}: [sso] issuer must be an http(s) URL")
    groups = entry.get("allowed_groups")
    if not isinstance(groups, list) or not groups or not all(isinstance(g, str) and g for g in groups):
        raise SsoConfigError(f"{path}: [sso] allowed_groups must list at least one group")
    secret = text("client_secret", required=False)
    key_file = text("private_key_file", required=False)
    if secret and key_file:
        raise SsoConfigError(f"{path}: [sso] give client_secret or private_key_file, not both")
    pem = None
    if key_file:
        key_path = Path(key_file) if Path(key_file).is_absolute() else path.parent / key_file
        try:
            pem = key_path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError):
            raise SsoConfigError(f"{path}: [sso] private_key_file {key_file} cannot be read") from None
    return SsoProvider(
        name=text("name") or "",
        issuer=issuer,
        client_id=text("client_id") or "",
        allowed_groups=tuple(groups),
        groups_claim=text("groups_claim", required=False) or "groups",
        client_secret=secret,
        private_key_pem=pem,
        key_id=text("key_id", required=False),
    )


@dataclass
class PendingLogin:
    state: str
    code_verifier: str
    nonce: str
    next: str
    created: float = field(default_factory=time.monotonic)


class PendingLogins:
    """Logins sent to the identity provider, by state: taken once, within ten minutes. The
    session cookie holds the state too, so an answer counts only in the browser that asked."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, PendingLogin] = {}

    def add(self, pending: PendingLogin) -> None:
        now = time.monotonic()
        with self._lock:
            for state in [s for s, p in self._pending.items() if now - p.created > PENDING_TTL_S]:
                del self._pending[state]
            if len(self._pending) >= MAX_PENDING:
                self._pending.pop(next(iter(self._pending)))
            self._pending[pending.state] = pending

    def take(self, state: str, expected: object) -> PendingLogin | None:
        if not isinstance(expected, str) or not secrets.compare_digest(state, expected):
            return None
        with self._lock:
            pending = self._pending.pop(state, None)
        if pending is None or time.monotonic() - pending.created > PENDING_TTL_S:
            return None
        return pending
