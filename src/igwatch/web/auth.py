"""Who may see the web pages: users with argon2 password hashes, a signed session cookie, CSRF.

The pages are open on a loopback address (only this machine can reach them). Bound to any other
address, every page needs a login with a user from ``--users FILE``:

```toml
[[user]]
name = "nurse"
password_hash = "$argon2id$v=19$m=65536,t=3,p=4$..."   # from `igwatch hash-password`
```

The session is a cookie signed with the server's secret (itsdangerous, the signer Starlette's
SessionMiddleware uses); it holds the user's name and the per-session CSRF token, nothing about
patients. Every POST must carry that token (form field ``csrf_token`` or header ``X-CSRF-Token``).
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer

from igwatch.config_files import read_toml
from igwatch.errors import IgwatchError

SESSION_COOKIE = "igwatch_session"
SESSION_MAX_AGE_S = 12 * 3600
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"

_hasher = PasswordHasher()


class UsersFileError(IgwatchError):
    """The users file cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class User:
    name: str
    password_hash: str


def hash_password(password: str) -> str:
    """An argon2id hash for a users file."""
    return _hasher.hash(password)


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``: only this machine can connect."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def load_users(path: Path) -> dict[str, User]:
    """Read a users TOML file (``[[user]]`` with ``name`` and ``password_hash``)."""
    entries = read_toml(path, "users file", UsersFileError).get("user")
    if not isinstance(entries, list) or not entries:
        raise UsersFileError(f"{path}: no [[user]] entries")
    users: dict[str, User] = {}
    for index, entry in enumerate(entries, start=1):
        name = entry.get("name") if isinstance(entry, dict) else None
        hashed = entry.get("password_hash") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise UsersFileError(f"{path}: user #{index} has no name")
        if not isinstance(hashed, str) or not hashed.startswith("$argon2"):
            raise UsersFileError(f"{path}: user {name!r} has no argon2 password_hash")
        users[name] = User(name, hashed)
    return users


def verify_password(user: User | None, password: str) -> bool:
    """Check a password; an unknown user costs a hash too, so timing does not reveal names."""
    try:
        if user is None:
            _hasher.verify(_DUMMY_HASH, password)
            return False
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class Sessions:
    """Signed, timed session cookies holding a small dict."""

    def __init__(self, secret_key: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="igwatch-web-session")

    def load(self, cookie: str | None) -> dict[str, Any]:
        if not cookie:
            return {}
        try:
            data = self._serializer.loads(cookie, max_age=SESSION_MAX_AGE_S)
        except BadSignature:
            return {}
        return data if isinstance(data, dict) else {}

    def dump(self, session: dict[str, Any]) -> str:
        return self._serializer.dumps(session)


def csrf_token(session: dict[str, Any]) -> str:
    """The session's CSRF token, made on first use."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_valid(session: dict[str, Any], presented: str | None) -> bool:
    expected = session.get("csrf")
    return isinstance(expected, str) and bool(presented) and hmac.compare_digest(expected, presented or "")
