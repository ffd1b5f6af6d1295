"""Server-side state of SMART launches: the authorization requests under way and the launches
signed in. Tokens live here, in the server's memory, never in a cookie or a page; the browser
holds only a random id (its cookie) and the launch's random handle (in the page's URL), and a
launch answers only to the browser that started it.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from igwatch.assessment import Assessment
from igwatch.timeline import Timeline

PENDING_TTL_S = 600.0  # an authorization request must come back within 10 minutes
LAUNCH_TTL_S = 12 * 3600.0
MAX_PENDING = 10_000
MAX_LAUNCHES = 10_000


@dataclass
class PendingLaunch:
    browser: str
    issuer: str
    state: str
    code_verifier: str
    nonce: str
    scope: str
    kind: str  # "ehr" or "standalone"
    created: float = field(default_factory=time.monotonic)


@dataclass
class Launch:
    handle: str
    browser: str
    issuer: str
    patient: str
    access_token: str
    refresh_token: str | None
    expires_at: float | None
    scopes: frozenset[str]
    user: str | None
    app_context: str | None = None
    created: float = field(default_factory=time.monotonic)
    # One refresh at a time: servers rotate refresh tokens, so a second refresh with the old one
    # would fail (and may revoke the grant).
    refresh_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    # The last reading of the patient's record, kept briefly so that the summary, PDF and leaflet
    # of one visit do not read the EHR again.
    cached: tuple[float, date, str, Timeline, Assessment] | None = field(default=None, repr=False)

    def expired(self, now: float, margin_s: float = 30.0) -> bool:
        return self.expires_at is not None and now >= self.expires_at - margin_s

    def take_token(self, token: dict[str, Any], now: float) -> None:
        """Keep a (refreshed) token response."""
        self.access_token = str(token["access_token"])
        if isinstance(token.get("refresh_token"), str):
            self.refresh_token = token["refresh_token"]
        expires_in = token.get("expires_in")
        self.expires_at = now + float(expires_in) if isinstance(expires_in, int | float) else None


class LaunchStore:
    """Pending authorizations (by state) and launches (by handle), each bounded in number and age."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, PendingLaunch] = {}
        self._launches: dict[str, Launch] = {}

    def add_pending(self, pending: PendingLaunch) -> None:
        with self._lock:
            self._prune(time.monotonic())
            if len(self._pending) >= MAX_PENDING:
                self._pending.pop(next(iter(self._pending)))
            self._pending[pending.state] = pending

    def take_pending(self, state: str, browser: str) -> PendingLaunch | None:
        """The pending authorization for ``state``, once only, and only for its own browser."""
        with self._lock:
            pending = self._pending.get(state)
            if pending is None or not secrets.compare_digest(pending.browser, browser):
                return None
            del self._pending[state]
        if time.monotonic() - pending.created > PENDING_TTL_S:
            return None
        return pending

    def add_launch(self, launch: Launch) -> None:
        with self._lock:
            self._prune(time.monotonic())
            if len(self._launches) >= MAX_LAUNCHES:
                self._launches.pop(next(iter(self._launches)))
            self._launches[launch.handle] = launch

    def launch(self, handle: str, browser: str) -> Launch | None:
        with self._lock:
            launch = self._launches.get(handle)
        if launch is None or not secrets.compare_digest(launch.browser, browser):
            return None
        if time.monotonic() - launch.created > LAUNCH_TTL_S:
            return None
        return launch

    def end(self, handle: str) -> None:
        with self._lock:
            self._launches.pop(handle, None)

    def _prune(self, now: float) -> None:
        for state in [s for s, p in self._pending.items() if now - p.created > PENDING_TTL_S]:
            del self._pending[state]
        for handle in [h for h, x in self._launches.items() if now - x.created > LAUNCH_TTL_S]:
            del self._launches[handle]
