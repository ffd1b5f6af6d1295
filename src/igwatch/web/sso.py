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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from igwatch.config_files import OAuthClient, oauth_client, read_toml, text_value
from igwatch.errors import IgwatchError

PENDING_TTL_S = 600.0
MAX_PENDING = 10_000


class SsoConfigError(IgwatchError):
    """The single sign-on file cannot be used; the message names the file and the key."""


@dataclass(frozen=True, kw_only=True)
class SsoProvider(OAuthClient):
    name: str
    issuer: str
    allowed_groups: tuple[str, ...]
    groups_claim: str = "groups"

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
    entry = read_toml(path, "single sign-on file", SsoConfigError).get("sso")
    if not isinstance(entry, dict):
        raise SsoConfigError(f"{path}: no [sso] table")
    where = f"{path}: [sso]"
    issuer = (text_value(entry, "issuer", where, SsoConfigError) or "").rstrip("/")
    if not issuer.startswith(("https://", "http://")):
        raise SsoConfigError(f"{where} issuer must be an http(s) URL")
    groups = entry.get("allowed_groups")
    if not isinstance(groups, list) or not groups or not all(isinstance(g, str) and g for g in groups):
        raise SsoConfigError(f"{where} allowed_groups must list at least one group")
    return SsoProvider(
        name=text_value(entry, "name", where, SsoConfigError) or "",
        issuer=issuer,
        allowed_groups=tuple(groups),
        groups_claim=text_value(entry, "groups_claim", where, SsoConfigError, required=False) or "groups",
        **oauth_client(entry, path, where, SsoConfigError),
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
