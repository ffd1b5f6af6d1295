"""What every web page shares: the site's state (settings, store, logins, profiles), the route
class that wraps each page (session, login, CSRF, error pages, security headers), templates, and
the cache of assessed stored patients.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Coroutine
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from igwatch import __version__, clock
from igwatch.assessment import Assessment
from igwatch.engine import assess
from igwatch.errors import IgwatchError, InputRefused
from igwatch.knowledge.catalog import knowledge
from igwatch.knowledge.profile import Profile, load_profile, shipped_profiles
from igwatch.render.words import one_line
from igwatch.server_guards import mask_path
from igwatch.settings import ServerSettings
from igwatch.store import Database, list_patients, patient_timeline, record_audit
from igwatch.store.sessions import SessionUser, session_user
from igwatch.timeline import Timeline
from igwatch.web.auth import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    SESSION_MAX_AGE_S,
    LoginThrottle,
    Sessions,
    User,
    UsersFileError,
    csrf_token,
    csrf_valid,
    is_loopback,
    load_users,
)
from igwatch.web.demo import DEMO_AS_OF
from igwatch.web.sso import PendingLogins, SsoProvider, load_sso
from igwatch.worklist import WORKLIST_FLAGS

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PUBLIC_PATHS = ("/login", "/static/")
CACHE_SECONDS = 60.0
MAX_UPLOAD_BYTES = 50 * 1024 * 1024

log = logging.getLogger("igwatch.web")


@cache
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(WEB_DIR / "templates"),
        autoescape=True,  # every template, whatever its name: FHIR strings are always escaped
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["version"] = __version__
    env.globals["flag_columns"] = WORKLIST_FLAGS
    return env


def render(template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = _environment().get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code)


def security_headers(response: Response, csp: str = CSP) -> None:
    response.headers["Content-Security-Policy"] = csp
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers.setdefault("Cache-Control", "no-store")


def inline_style_csp(html: str) -> str:
    """A CSP for a self-contained page: its own <style> blocks allowed by hash, nothing else."""
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(block.encode()).digest()).decode() + "'"
        for block in re.findall(r"<style>(.*?)</style>", html, flags=re.S)
    ]
    return CSP.replace("style-src 'self'", "style-src 'self' " + " ".join(hashes))


class _RedactPatientPaths(logging.Filter):
    """The access log keeps method and status but not patient ids or query strings."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], mask_path(args[2].split("?", 1)[0]), *args[3:])
        return True


def install_log_filter() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _RedactPatientPaths) for f in access.filters):
        access.addFilter(_RedactPatientPaths())


def parse_as_of(value: str | None) -> date | None:
    if value is None or not value.strip():
        return None
    try:
        return clock.parse_date(one_line(value), "as_of")
    except InputRefused as refused:
        raise HTTPException(400, str(refused)) from None


class AssessmentCache:
    """Assesses stored patients, caching results per patient, as-of, profile and store version."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.version = 0
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, date, str, int], tuple[float, Timeline, Assessment]] = {}

    def bump(self) -> None:
        with self._lock:
            self.version += 1
            self._cache.clear()

    def patient_ids(self) -> list[str]:
        return [row.id for row in list_patients(self.db)]

    def get(self, patient_id: str, as_of: date, profile: Profile) -> tuple[Timeline, Assessment]:
        key = (patient_id, as_of, profile.name, self.version)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
        if hit and now - hit[0] < CACHE_SECONDS:
            return hit[1], hit[2]
        try:
            timeline = patient_timeline(self.db, patient_id)
        except (IgwatchError, KeyError, LookupError):
            raise HTTPException(404, "No stored patient with this id.") from None
        assessment = assess(timeline, as_of, profile, today=clock.today())
        with self._lock:
            if len(self._cache) > 5000:
                self._cache.clear()
            self._cache[key] = (now, timeline, assessment)
        return timeline, assessment


class WebSite:
    """The state every page reads, built once by :func:`igwatch.web.routes.build_web_router`.

    Refuses a non-loopback host, or a public URL, without a users file or single sign-on.
    """

    def __init__(self, settings: ServerSettings, db: Database) -> None:
        users: dict[str, User] | None = load_users(settings.users_file) if settings.users_file else None
        sso = load_sso(settings.sso_config) if settings.sso_config else None
        if users is None and sso is None and not is_loopback(settings.host):
            raise UsersFileError(
                f"--host {settings.host}: the web pages hold patient data and need a login off loopback; "
                "give --users FILE (make hashes with `igwatch hash-password`) or --sso FILE"
            )
        if users is None and sso is None and settings.public_url:
            # Behind a reverse proxy the server listens on loopback, yet anyone who reaches the proxy
            # reaches the pages: a public URL means the pages need a login as well.
            raise UsersFileError(
                f"--public-url {settings.public_url}: the pages are reached through it, so they need a "
                "login; give --users FILE (make hashes with `igwatch hash-password`) or --sso FILE"
            )
        self.settings = settings
        self.db = db
        self.users = users
        self.sso: SsoProvider | None = sso
        self.login_required = users is not None or sso is not None
        self.pending_logins = PendingLogins()
        self.throttle = LoginThrottle()
        self.sessions = Sessions(settings.secret_key or secrets.token_urlsafe(32))
        self.secure_cookie = (settings.public_url or "").startswith("https://")
        self.assessments = AssessmentCache(db)
        self.kb = knowledge()
        self.profiles = {name: load_profile(name) for name in shipped_profiles()}
        self.route_class = page_route_class(self)

    def profile_for(self, request: Request) -> Profile:
        name = request.query_params.get("profile")
        if not name or name == self.settings.profile.name:
            return self.settings.profile
        if name not in self.profiles:
            raise HTTPException(400, f"profile: {one_line(name)[:40]!r} is not a shipped profile")
        return self.profiles[name]

    def default_as_of(self) -> date:
        if self.settings.as_of is not None:
            return self.settings.as_of
        return DEMO_AS_OF if self.settings.demo else clock.today()

    def as_of_for(self, request: Request) -> date:
        return parse_as_of(request.query_params.get("as_of")) or self.default_as_of()

    def audit(
        self, request: Request, action: str, patient_id: str | None = None, detail: str | None = None
    ) -> None:
        """One entry in the audit trail: who (the session's identity) saw which record."""
        who: SessionUser | None = request.state.who
        record_audit(
            self.db,
            actor=who.identity if who else "no login (loopback)",
            actor_source=who.source if who else "local",
            action=action,
            patient_id=patient_id,
            detail=detail,
        )

    def base_context(self, request: Request) -> dict[str, Any]:
        session: dict[str, Any] = request.state.session
        return {
            "request_path": request.url.path,
            "csrf": csrf_token(session),
            "user": request.state.who.user if request.state.who else None,
            "login_required": self.login_required,
            "demo": self.settings.demo,
            "smart": False,
        }

    def error_page(self, request: Request, status: int, message: str) -> Response:
        if request.headers.get("HX-Request"):
            return HTMLResponse(
                f'<p class="error" role="alert">{Markup.escape(message)}</p>', status_code=status
            )
        return render("error.html", status, status=status, message=message, **self.base_context(request))


async def _csrf_ok(request: Request, session: dict[str, Any]) -> bool:
    presented = request.headers.get(CSRF_HEADER)
    if not presented and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form(max_part_size=MAX_UPLOAD_BYTES)
        value = form.get(CSRF_FIELD)
        presented = value if isinstance(value, str) else None
    return csrf_valid(session, presented)


def page_route_class(site: WebSite) -> type[APIRoute]:
    """The route class of every page: session, login, CSRF, error pages and security headers."""
    sessions, db = site.sessions, site.db

    class PageRoute(APIRoute):
        """Session, login, CSRF, error pages and security headers around a page."""

        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            inner = super().get_route_handler()

            async def handler(request: Request) -> Response:
                session = sessions.load(request.cookies.get(SESSION_COOKIE))
                before = dict(session)
                path = request.url.path
                # The cookie names a server-side session; the store says whether it still is one.
                # Static files need no identity: they are not worth a database read each.
                token = session.get("token")
                who = None
                if isinstance(token, str) and not path.startswith("/static/"):
                    who = await run_in_threadpool(session_user, db, token)
                    if who is None:
                        session.pop("token", None)
                request.state.session = session
                request.state.who = who
                response: Response
                if (
                    site.login_required
                    and who is None
                    and not any(path == p or path.startswith(p) for p in PUBLIC_PATHS)
                ):
                    if request.method == "GET":
                        response = RedirectResponse("/login?" + urlencode({"next": path}), status_code=303)
                    else:
                        response = site.error_page(request, 401, "Log in first.")
                elif request.method == "POST" and not await _csrf_ok(request, session):
                    response = site.error_page(
                        request, 403, "The form's security token is missing or stale: reload the page."
                    )
                else:
                    try:
                        response = await inner(request)
                    except HTTPException as exc:
                        response = site.error_page(request, exc.status_code, str(exc.detail))
                    except RequestValidationError as exc:
                        first = exc.errors()[0] if exc.errors() else {}
                        where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
                        response = site.error_page(request, 422, f"{where}: {first.get('msg', 'invalid')}")
                if session != before:
                    response.set_cookie(
                        SESSION_COOKIE,
                        sessions.dump(session),
                        max_age=SESSION_MAX_AGE_S,
                        httponly=True,
                        samesite="lax",
                        secure=site.secure_cookie,
                    )
                if "Content-Security-Policy" not in response.headers:
                    security_headers(response)
                if site.secure_cookie:  # served over HTTPS (--public-url https://…): keep browsers on it
                    response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
                return response

            return handler

    return PageRoute
