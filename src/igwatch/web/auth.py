"""Who may see the web pages: users with argon2 password hashes, a signed session cookie, CSRF.

The pages are open on a loopback address (only this machine can reach them). Bound to any other
address, every page needs a login with a user from ``--users FILE``:

```toml
[[user]]
name = "nurse"
password_hash = "$argon2id$v=19$m=65536,t=3,p=4$..."   # from `igwatch hash-password`
```

The session cookie is signed with the server's secret (itsdangerous, the signer Starlette's
SessionMiddleware uses); it holds the per-session CSRF token and, once logged in, a random token
naming a server-side session (``igwatch.store.sessions``): logout and expiry end that session on
the server, whatever copies of the cookie exist. Nothing about patients is in it. Every POST must
carry the CSRF token (form field ``csrf_token`` or header ``X-CSRF-Token``). Failed logins back off
per account and per address (:class:`LoginThrottle`); password checks run at most two at a time.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import threading
import time
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


class HashingBusy(Exception):
    """Too many password checks at once (each takes 64 MiB and a core): try again shortly."""


#: At most this many argon2 checks at once; more wait up to HASH_WAIT_S, then get HashingBusy.
MAX_CONCURRENT_HASHES = 2
HASH_WAIT_S = 5.0
_hash_slots = threading.BoundedSemaphore(MAX_CONCURRENT_HASHES)


def verify_password(user: User | None, password: str) -> bool:
    """Check a password; an unknown user costs a hash too, so timing does not reveal names.
    Raises :class:`HashingBusy` when the hash slots stay taken (a flood of logins)."""
    if not _hash_slots.acquire(timeout=HASH_WAIT_S):
        raise HashingBusy
    try:
        if user is None:
            _hasher.verify(_DUMMY_HASH, password)
            return False
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    finally:
        _hash_slots.release()


class LoginThrottle:
    """Back-off after failed logins, per account and per address: after ``free`` failures in a
    row, each further failure doubles the wait (1 s, 2 s, 4 s … up to ``max_wait_s``); a login
    asked during the wait is refused without checking the password. A success clears the
    account's count. Failures older than ``window_s`` are forgotten."""

    def __init__(
        self,
        free_per_account: int = 5,
        free_per_address: int = 20,
        max_wait_s: int = 900,
        window_s: int = 900,
    ) -> None:
        self.free = {"account": free_per_account, "address": free_per_address}
        self.max_wait_s = max_wait_s
        self.window_s = window_s
        self._lock = threading.Lock()
        self._failures: dict[tuple[str, str], tuple[int, float]] = {}

    def _wait(self, kind: str, key: str, now: float) -> float:
        count, last = self._failures.get((kind, key), (0, 0.0))
        if now - last > self.window_s:
            return 0.0
        over = count - self.free[kind]
        if over < 0:
            return 0.0
        return max(0.0, last + min(self.max_wait_s, 2.0**over) - now)

    def wait_s(self, account: str, address: str) -> int:
        """Seconds before another attempt is allowed (0: now)."""
        now = time.monotonic()
        with self._lock:
            wait = max(self._wait("account", account, now), self._wait("address", address, now))
        return int(wait + 0.999)

    def failed(self, account: str, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._failures) > 100_000:  # a flood of made-up names: forget the oldest half
                for oldest in sorted(self._failures, key=lambda k: self._failures[k][1])[:50_000]:
                    del self._failures[oldest]
            for kind, key in (("account", account), ("address", address)):
                count, last = self._failures.get((kind, key), (0, 0.0))
                count = count + 1 if now - last <= self.window_s else 1
                self._failures[(kind, key)] = (count, now)

    def succeeded(self, account: str) -> None:
        with self._lock:
            self._failures.pop(("account", account), None)


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
