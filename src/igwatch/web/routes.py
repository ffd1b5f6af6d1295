"""The clinician web app: worklist, patient page, printable summary, leaflet, knowledge pages.

Server-rendered Jinja2 (autoescaped) with a little htmx; one chart (Chart.js) fed from a JSON
script tag. Every page is computed by :func:`igwatch.engine.assess` on the stored patient, so it
says what the CLI and the CDS Hooks service say.

``build_web_router(settings, db)`` returns a router whose routes all pass through
:class:`_WebRoute`-style handling: session cookie, login when the server is not on loopback,
HTML error pages, and the security headers (a Content-Security-Policy allowing only this origin).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import logging
import re
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from igwatch import __version__, clock
from igwatch.assessment import Assessment
from igwatch.dosing import dose_block
from igwatch.engine import assess
from igwatch.errors import IgwatchError, InputRefused
from igwatch.knowledge.catalog import Knowledge, knowledge
from igwatch.knowledge.profile import Profile, load_profile, shipped_profiles
from igwatch.oauth import OAuthProblem, authorization_request, discover, exchange_code, verified_id_token
from igwatch.render.html import assessment_html
from igwatch.render.words import (
    WEIGHT_BASIS_LABEL,
    dose_lines,
    one_line,
    parameter_value,
    statement_source,
)
from igwatch.server_guards import mask_path
from igwatch.settings import ServerSettings
from igwatch.store import Database, list_patients, load_path, patient_timeline, record_audit
from igwatch.store.sessions import SessionUser, end_session, session_user, start_session
from igwatch.timeline import Timeline
from igwatch.web import views
from igwatch.web.auth import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    SESSION_MAX_AGE_S,
    HashingBusy,
    LoginThrottle,
    Sessions,
    User,
    UsersFileError,
    csrf_token,
    csrf_valid,
    is_loopback,
    load_users,
    verify_password,
)
from igwatch.web.demo import DEMO_AS_OF
from igwatch.web.sso import PendingLogin, PendingLogins, load_sso

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
    env.globals["flag_columns"] = views.WORKLIST_FLAGS
    return env


def render(template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = _environment().get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code)


def _security_headers(response: Response, csp: str = CSP) -> None:
    response.headers["Content-Security-Policy"] = csp
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers.setdefault("Cache-Control", "no-store")


def _inline_style_csp(html: str) -> str:
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


def _install_log_filter() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _RedactPatientPaths) for f in access.filters):
        access.addFilter(_RedactPatientPaths())


def _parse_as_of(value: str | None) -> date | None:
    if value is None or not value.strip():
        return None
    try:
        return clock.parse_date(one_line(value), "as_of")
    except InputRefused as refused:
        raise HTTPException(400, str(refused)) from None


def _today() -> date:
    return clock.today()


class _Assessor:
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
        assessment = assess(timeline, as_of, profile, today=_today())
        with self._lock:
            if len(self._cache) > 5000:
                self._cache.clear()
            self._cache[key] = (now, timeline, assessment)
        return timeline, assessment


def build_web_router(settings: ServerSettings, db: Database) -> APIRouter:
    """The web pages for ``create_app``; refuses a non-loopback host without a users file."""
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
    login_required = users is not None or sso is not None
    pending_logins = PendingLogins()
    throttle = LoginThrottle()
    sessions = Sessions(settings.secret_key or secrets.token_urlsafe(32))
    secure_cookie = (settings.public_url or "").startswith("https://")
    assessor = _Assessor(db)
    kb = knowledge()
    _install_log_filter()

    if settings.demo:
        from igwatch.web.demo import load_demo

        if not list_patients(db):
            load_demo(db)

    profiles = {name: load_profile(name) for name in shipped_profiles()}

    def profile_for(request: Request) -> Profile:
        name = request.query_params.get("profile")
        if not name or name == settings.profile.name:
            return settings.profile
        if name not in profiles:
            raise HTTPException(400, f"profile: {one_line(name)[:40]!r} is not a shipped profile")
        return profiles[name]

    def default_as_of() -> date:
        if settings.as_of is not None:
            return settings.as_of
        return DEMO_AS_OF if settings.demo else _today()

    def as_of_for(request: Request) -> date:
        return _parse_as_of(request.query_params.get("as_of")) or default_as_of()

    def audit(
        request: Request, action: str, patient_id: str | None = None, detail: str | None = None
    ) -> None:
        """One entry in the audit trail: who (the session's identity) saw which record."""
        who: SessionUser | None = request.state.who
        record_audit(
            db,
            actor=who.identity if who else "no login (loopback)",
            actor_source=who.source if who else "local",
            action=action,
            patient_id=patient_id,
            detail=detail,
        )

    def base_context(request: Request) -> dict[str, Any]:
        session: dict[str, Any] = request.state.session
        return {
            "request_path": request.url.path,
            "csrf": csrf_token(session),
            "user": request.state.who.user if request.state.who else None,
            "login_required": login_required,
            "demo": settings.demo,
            "smart": False,
        }

    class WebRoute(APIRoute):
        """Session, login, CSRF, error pages and security headers around every web route."""

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
                    login_required
                    and who is None
                    and not any(path == p or path.startswith(p) for p in PUBLIC_PATHS)
                ):
                    if request.method == "GET":
                        response = RedirectResponse("/login?" + urlencode({"next": path}), status_code=303)
                    else:
                        response = _error(request, 401, "Log in first.")
                elif request.method == "POST" and not await _csrf_ok(request, session):
                    response = _error(
                        request, 403, "The form's security token is missing or stale: reload the page."
                    )
                else:
                    try:
                        response = await inner(request)
                    except HTTPException as exc:
                        response = _error(request, exc.status_code, str(exc.detail))
                    except RequestValidationError as exc:
                        first = exc.errors()[0] if exc.errors() else {}
                        where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
                        response = _error(request, 422, f"{where}: {first.get('msg', 'invalid')}")
                if session != before:
                    response.set_cookie(
                        SESSION_COOKIE,
                        sessions.dump(session),
                        max_age=SESSION_MAX_AGE_S,
                        httponly=True,
                        samesite="lax",
                        secure=secure_cookie,
                    )
                if "Content-Security-Policy" not in response.headers:
                    _security_headers(response)
                if secure_cookie:  # served over HTTPS (--public-url https://…): keep browsers on it
                    response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
                return response

            return handler

    async def _csrf_ok(request: Request, session: dict[str, Any]) -> bool:
        presented = request.headers.get(CSRF_HEADER)
        if not presented and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            form = await request.form(max_part_size=MAX_UPLOAD_BYTES)
            value = form.get(CSRF_FIELD)
            presented = value if isinstance(value, str) else None
        return csrf_valid(session, presented)

    def _error(request: Request, status: int, message: str) -> Response:
        if request.headers.get("HX-Request"):
            return HTMLResponse(
                f'<p class="error" role="alert">{Markup.escape(message)}</p>', status_code=status
            )
        context = base_context(request)
        return render("error.html", status, status=status, message=message, **context)

    router = APIRouter(route_class=WebRoute, include_in_schema=False)

    # ---------------------------------------------------------------- worklist and upload

    def worklist_rows(as_of_value: date | None, profile: Profile) -> list[views.WorklistRow]:
        rows = []
        for patient_id in assessor.patient_ids():
            timeline, assessment = assessor.get(patient_id, as_of_value or default_as_of(), profile)
            rows.append(views.worklist_row(assessment, timeline.patient.name))
        return rows

    def filtered(
        request: Request, rows: list[views.WorklistRow]
    ) -> tuple[list[views.WorklistRow], dict[str, Any]]:
        params = request.query_params
        active = [key for key, _ in views.WORKLIST_FLAGS if params.get(key) in ("1", "true", "on", "yes")]
        query = (params.get("q") or "").strip().lower()
        shown = [
            r
            for r in rows
            if all(r.flags[key] for key in active)
            and (not query or query in r.patient_id.lower() or query in r.name.lower())
            and (params.get("all") or r.applicable or active)
            and (params.get("deceased") or not r.deceased)
        ]
        sort = params.get("sort") or "priority"
        descending = params.get("dir") == "desc"
        rank = {"critical": 0, "warning": 1, "info": 2, "": 3}

        def by_flag(flag: str) -> Callable[[views.WorklistRow], Any]:
            return lambda r: (not r.flags[flag], r.patient_id)

        keys: dict[str, Callable[[views.WorklistRow], Any]] = {
            "patient": lambda r: r.patient_id,
            "priority": lambda r: (rank.get(r.top_priority, 3), r.patient_id),
            **{key: by_flag(key) for key, _ in views.WORKLIST_FLAGS},
        }
        if sort not in keys:
            sort = "priority"
        shown.sort(key=keys[sort], reverse=descending)
        state = {
            "active": active,
            "q": params.get("q") or "",
            "sort": sort,
            "dir": "desc" if descending else "asc",
            "all": bool(params.get("all")),
            "deceased": bool(params.get("deceased")),
        }
        return shown, state

    def worklist_page(request: Request, status: int = 200, message: str = "", error: str = "") -> Response:
        as_of_value = as_of_for(request)
        profile = profile_for(request)
        rows = worklist_rows(as_of_value, profile)
        shown, state = filtered(request, rows)
        counts = {key: sum(1 for r in rows if r.flags[key]) for key, _ in views.WORKLIST_FLAGS}
        keep = {k: v for k, v in request.query_params.items() if k not in ("sort", "dir")}

        def sort_link(column: str) -> str:
            direction = "desc" if state["sort"] == column and state["dir"] == "asc" else "asc"
            return "/?" + urlencode({**keep, "sort": column, "dir": direction})

        def patient_link(patient_id: str) -> str:
            extra = {k: v for k, v in request.query_params.items() if k in ("as_of", "profile")}
            return f"/patients/{_quote(patient_id)}" + ("?" + urlencode(extra) if extra else "")

        csv_query = urlencode(list(request.query_params.items()))
        context = {
            **base_context(request),
            "rows": shown,
            "total": len(rows),
            "in_scope": sum(1 for r in rows if r.applicable),
            "counts": counts,
            "state": state,
            "as_of": as_of_value.isoformat(),
            "profile": profile.name,
            "profiles": list(profiles),
            "sort_link": sort_link,
            "patient_link": patient_link,
            "csv_link": "/worklist.csv" + (f"?{csv_query}" if csv_query else ""),
            "message": message,
            "error": error,
        }
        template = "_worklist_table.html" if request.headers.get("HX-Request") else "worklist.html"
        return render(template, status, **context)

    @router.get("/", response_class=HTMLResponse)
    def worklist(request: Request) -> Response:
        return worklist_page(request)

    @router.get("/worklist.csv")
    def worklist_csv(request: Request) -> Response:
        rows, _ = filtered(request, worklist_rows(as_of_for(request), profile_for(request)))
        audit(request, "worklist-export", detail=f"{len(rows)} patient(s)")
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=views.CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(row.csv_row())
        return Response(
            out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="worklist.csv"'},
        )

    @router.post("/upload", response_class=HTMLResponse)
    def upload(request: Request, file: UploadFile) -> Response:
        name = Path(file.filename or "upload").name
        suffix = "".join(Path(name).suffixes)[-16:] or ".json"
        with tempfile.TemporaryDirectory(prefix="igwatch-upload-") as tmp:
            path = Path(tmp) / f"upload{suffix}"
            with path.open("wb") as out:
                size = 0
                while chunk := file.file.read(1 << 20):
                    size += len(chunk)
                    if size > MAX_UPLOAD_BYTES:
                        return worklist_page(
                            request, 413, error=f"{name}: larger than {MAX_UPLOAD_BYTES // 2**20} MB"
                        )
                    out.write(chunk)
            try:
                report = load_path(db, path)
            except IgwatchError as exc:
                message = one_line(str(exc)).replace(str(path), name).replace(tmp, "")
                log.info("upload refused")
                return worklist_page(request, 422, error=message)
        assessor.bump()
        audit(request, "upload", detail=f"{_report_text(report)} from an upload")
        return worklist_page(request, 200, message=f"{name}: {_report_text(report)}")

    # ---------------------------------------------------------------- patient page

    @router.get("/patients/{patient_id}", response_class=HTMLResponse)
    def patient_page(request: Request, patient_id: str) -> Response:
        profile = profile_for(request)
        timeline, assessment = assessor.get(patient_id, as_of_for(request), profile)
        audit(request, "patient-view", assessment.patient_id)
        context = {
            **base_context(request),
            **patient_page_context(
                timeline, assessment, profile, list(profiles), page_base=f"/patients/{_quote(patient_id)}"
            ),
        }
        return render("patient.html", **context)

    @router.get("/dose", response_class=HTMLResponse)
    def dose(
        request: Request,
        weight_kg: str = "",
        height_cm: str = "",
        sex: str = "",
        profile: str = "",
    ) -> Response:
        chosen = profile_for(request)
        weight = _number(weight_kg, "weight_kg", 1, 400)
        height = _number(height_cm, "height_cm", 40, 250)
        if sex not in ("", "male", "female"):
            raise HTTPException(422, "sex: choose male or female")
        block, issues = dose_block(weight, height, sex or None, chosen)
        context = {
            **base_context(request),
            "rows": dose_lines(block),
            "basis": WEIGHT_BASIS_LABEL.get(block.weight_basis, block.weight_basis),
            "issues": [one_line(i.message) for i in issues],
            "profile": chosen.name,
            "dose": block.to_dict(),
        }
        template = "_dose_result.html" if request.headers.get("HX-Request") else "dose.html"
        return render(template, **context)

    # ---------------------------------------------------------------- printable pages

    @router.get("/patients/{patient_id}/summary", response_class=HTMLResponse)
    def summary(request: Request, patient_id: str) -> Response:
        _, assessment = assessor.get(patient_id, as_of_for(request), profile_for(request))
        audit(request, "summary", assessment.patient_id)
        return summary_response(assessment)

    @router.get("/patients/{patient_id}/summary.pdf")
    def summary_pdf(request: Request, patient_id: str) -> Response:
        _, assessment = assessor.get(patient_id, as_of_for(request), profile_for(request))
        audit(request, "summary-pdf", assessment.patient_id)
        return summary_pdf_response(assessment)

    @router.get("/patients/{patient_id}/leaflet", response_class=HTMLResponse)
    def leaflet(request: Request, patient_id: str) -> Response:
        timeline, assessment = assessor.get(patient_id, as_of_for(request), profile_for(request))
        audit(request, "leaflet", assessment.patient_id)
        return render("leaflet.html", **base_context(request), **leaflet_context(timeline, assessment))

    # ---------------------------------------------------------------- knowledge

    @router.get("/knowledge", response_class=HTMLResponse)
    def knowledge_index(request: Request) -> Response:
        return render(
            "knowledge_index.html",
            **base_context(request),
            catalog=list(kb.catalog.values()),
            statements=list(kb.statements.values()),
            documents=list(kb.documents.values()),
        )

    @router.get("/knowledge/recommendations/{rec_id}", response_class=HTMLResponse)
    def knowledge_recommendation(request: Request, rec_id: str) -> Response:
        entry = kb.catalog.get(rec_id)
        if entry is None:
            raise HTTPException(404, "No recommendation with this id in the catalog.")
        profile = profile_for(request)
        return render(
            "knowledge_recommendation.html",
            **base_context(request),
            entry=entry,
            statements=[kb.statements[s] for s in entry.statements],
            parameters=[
                (key, parameter_value(profile, key), profile.provenance.get(key, ""))
                for key in entry.parameters
            ],
            profile=profile.name,
            profiles=list(profiles),
        )

    @router.get("/knowledge/statements/{statement_id}", response_class=HTMLResponse)
    def knowledge_statement(request: Request, statement_id: str) -> Response:
        statement = kb.statements.get(statement_id)
        if statement is None:
            raise HTTPException(404, "No statement with this id.")
        used_by = [e for e in kb.catalog.values() if statement_id in e.statements]
        return render(
            "knowledge_statement.html",
            **base_context(request),
            statement=statement,
            document=kb.documents[statement.document],
            source=statement_source(statement, kb),
            used_by=used_by,
        )

    @router.get("/knowledge/documents/{key}", response_class=HTMLResponse)
    def knowledge_document(request: Request, key: str) -> Response:
        document = kb.documents.get(key)
        if document is None:
            raise HTTPException(404, "No source document with this key (K or D).")
        return render(
            "knowledge_document.html",
            **base_context(request),
            document=document,
            blocks=document_blocks(kb, key),
        )

    # ---------------------------------------------------------------- login

    def login_page(request: Request, next: str, error: str = "", status: int = 200) -> Response:
        return render(
            "login.html",
            status,
            **base_context(request),
            next=_safe_next(next),
            error=error,
            passwords=users is not None,
            sso_name=sso.name if sso else None,
        )

    @router.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/") -> Response:
        return login_page(request, next)

    @router.post("/login", response_class=HTMLResponse)
    def login(
        request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/")
    ) -> Response:
        address = request.client.host if request.client else "?"
        wait = throttle.wait_s(username, address)
        if wait > 0:
            log.warning("login: throttled after repeated failures")
            record_audit(
                db,
                actor=username[:200],
                actor_source="local",
                action="login",
                outcome="refused",
                detail="throttled",
            )
            response = login_page(request, next, f"Too many failed logins: try again in {wait} s.", 429)
            response.headers["Retry-After"] = str(wait)
            return response
        user = (users or {}).get(username)
        try:
            verified = users is not None and verify_password(user, password)
        except HashingBusy:
            response = login_page(request, next, "The server is busy: try again in a moment.", 503)
            response.headers["Retry-After"] = "2"
            return response
        if not verified:
            throttle.failed(username, address)
            record_audit(db, actor=username[:200], actor_source="local", action="login", outcome="refused")
            return login_page(request, next, "Unknown user or wrong password.", 401)
        throttle.succeeded(username)
        sign_in(request, SessionUser(username, username, "local"))
        record_audit(db, actor=username, actor_source="local", action="login")
        return RedirectResponse(_safe_next(next), status_code=303)

    @router.get("/login/sso")
    async def login_sso(request: Request, next: str = "/") -> Response:
        if sso is None:
            raise HTTPException(404, "Single sign-on is not configured.")
        try:
            config = await discover(sso.discovery_url, f"{sso.name}: OpenID configuration")
            authorization = await authorization_request(
                config, sso, f"{settings.base_url}/login/sso/callback", ["openid", "profile"]
            )
        except OAuthProblem as problem:
            log.warning("sso: %s", problem)
            return login_page(request, next, f"{sso.name} cannot be reached: {problem}", 502)
        pending_logins.add(
            PendingLogin(
                authorization.state, authorization.code_verifier, authorization.nonce, _safe_next(next)
            )
        )
        request.state.session["sso_state"] = authorization.state
        return RedirectResponse(authorization.url, status_code=303)

    @router.get("/login/sso/callback")
    async def login_sso_callback(
        request: Request, state: str = "", code: str = "", error: str = "", iss: str = ""
    ) -> Response:
        if sso is None:
            raise HTTPException(404, "Single sign-on is not configured.")
        session: dict[str, Any] = request.state.session
        pending = pending_logins.take(state, session.pop("sso_state", None)) if state else None

        async def refuse(message: str, status: int = 403) -> Response:
            log.warning("sso: login refused: %s", message)
            await run_in_threadpool(
                record_audit,
                db,
                actor=f"{sso.issuer} (unknown)",
                actor_source="sso",
                action="login",
                outcome="refused",
                detail=message,
            )
            return login_page(request, pending.next if pending else "/", message, status)

        if pending is None:
            return await refuse(
                "This sign-in answer does not belong to a login started in this browser (state); log in again.",
                400,
            )
        if error:
            return await refuse(f"{sso.name} did not sign you in ({one_line(error)[:60]}).")
        try:
            config = await discover(sso.discovery_url, f"{sso.name}: OpenID configuration")
            if iss and config.issuer and iss.rstrip("/") != config.issuer.rstrip("/"):
                raise OAuthProblem("the answer comes from another authorization server (iss)")
            token = await exchange_code(
                config, sso, f"{settings.base_url}/login/sso/callback", code, pending.code_verifier
            )
            id_token = token.get("id_token")
            if not isinstance(id_token, str):
                raise OAuthProblem("no ID token in the answer")
            claims = await verified_id_token(id_token, config, sso.client_id, pending.nonce)
        except OAuthProblem as problem:
            return await refuse(f"{sso.name}: {problem}")
        identity = f"{sso.issuer} {claims['sub']}"
        if not sso.admits(claims):
            log.warning("sso: login refused: not in an allowed group")
            await run_in_threadpool(
                record_audit,
                db,
                actor=identity,
                actor_source="sso",
                action="login",
                outcome="refused",
                detail="not in an allowed group",
            )
            return login_page(
                request,
                pending.next,
                f"Your {sso.name} account is not in a group allowed to use igwatch.",
                403,
            )
        name = one_line(str(claims.get("name") or claims.get("preferred_username") or claims["sub"]))[:80]
        await run_in_threadpool(sign_in, request, SessionUser(name, identity, "sso"))
        await run_in_threadpool(record_audit, db, actor=identity, actor_source="sso", action="login")
        return RedirectResponse(pending.next, status_code=303)

    def sign_in(request: Request, who: SessionUser) -> None:
        """A new server-side session (never the one the browser came with: no fixation)."""
        session: dict[str, Any] = request.state.session
        session.clear()
        session["token"] = start_session(db, who)
        csrf_token(session)

    @router.post("/logout")
    def logout(request: Request) -> Response:
        token = request.state.session.get("token")
        if isinstance(token, str):
            end_session(db, token)  # the cookie, wherever a copy of it is, no longer signs anyone in
        if request.state.who is not None:
            record_audit(
                db, actor=request.state.who.identity, actor_source=request.state.who.source, action="logout"
            )
        request.state.session.clear()
        return RedirectResponse("/login" if login_required else "/", status_code=303)

    # ---------------------------------------------------------------- static files

    @router.get("/favicon.ico")
    def favicon() -> Response:
        return Response(status_code=204)

    @router.get("/static/{name}")
    def static(name: str) -> Response:
        path = STATIC_DIR / name
        if "/" in name or name.startswith(".") or path.suffix not in STATIC_TYPES or not path.is_file():
            raise HTTPException(404, "Not found.")
        response = FileResponse(path, media_type=STATIC_TYPES[path.suffix])
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    return router


def patient_page_context(
    timeline: Timeline, assessment: Assessment, profile: Profile, profiles: list[str], *, page_base: str
) -> dict[str, Any]:
    """What ``patient.html`` shows of one assessment; ``page_base`` is the path its summary, PDF
    and leaflet links hang under (the stored patient's page, or a SMART launch's)."""
    result = assessment.to_dict()  # shown as JSON on the page, and its data issues listed
    block = assessment.dosing
    body = assessment.facts.body
    return {
        "patient_id": assessment.patient_id,
        "name": one_line(timeline.patient.name),
        "as_of": assessment.as_of.isoformat(),
        "profile": profile.name,
        "profiles": profiles,
        "applicable": assessment.applicable,
        "bottom_line": one_line(assessment.bottom_line),
        "header": views.header(assessment),
        "cards": views.recommendations(assessment, knowledge()),
        "monitoring": views.monitoring(assessment),
        "dose_rows": dose_lines(block) if block is not None else None,
        "dose_form": {
            "weight_kg": round(body.weight_kg, 3) if body.weight_kg else "",
            "height_cm": round(body.height_cm, 3) if body.height_cm else "",
            "sex": body.sex or "",
        },
        "data_issues": result["data_issues"],
        "chart": views.chart_data(assessment, timeline, profile),
        "assessment_json": result,
        "query": urlencode({"as_of": assessment.as_of.isoformat(), "profile": profile.name}),
        "page_base": page_base,
    }


def leaflet_context(timeline: Timeline, assessment: Assessment) -> dict[str, Any]:
    """What ``leaflet.html`` shows: the patient's name and the K-16 advice that fits them."""
    kb = knowledge()
    statement = kb.statements["K-16"]
    return {
        "name": one_line(timeline.patient.name),
        "patient_id": assessment.patient_id,
        "as_of": assessment.as_of.isoformat(),
        "statement": statement,
        "source": statement_source(statement, kb),
        "on_igrt": assessment.facts.igrt.status != "none",
        "on_anti_cd20": assessment.facts.exposure.status != "none",
    }


def summary_response(assessment: Assessment) -> Response:
    """The printable summary: a self-contained page, its own styles allowed by hash."""
    html = assessment_html(assessment)
    response = HTMLResponse(html)
    _security_headers(response, _inline_style_csp(html))
    return response


def summary_pdf_response(assessment: Assessment) -> Response:
    from weasyprint import HTML  # type: ignore[import-untyped]

    pdf = HTML(string=assessment_html(assessment)).write_pdf()
    filename = re.sub(r"[^A-Za-z0-9._-]", "_", assessment.patient_id)[:60] or "patient"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="igwatch-{filename}.pdf"'},
    )


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


def _safe_next(target: str) -> str:
    """Only a path on this site (never //host or a scheme) is a place to go after login."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _number(text: str, name: str, low: float, high: float) -> float | None:
    if not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise HTTPException(422, f"{name}: {one_line(text)[:20]!r} is not a number") from None
    if not low <= value <= high:
        raise HTTPException(422, f"{name}: {value:g} is outside {low:g}–{high:g}")
    return value


def _report_text(report: Any) -> str:
    """A one-line account of a load (the store's report, whatever fields it offers)."""
    parts = []
    for field_name, label in (("patients", "patients"), ("resources", "resources"), ("files", "files")):
        value = getattr(report, field_name, None)
        if isinstance(value, int):
            parts.append(f"{value} {label}")
        elif isinstance(value, list | tuple | set):
            parts.append(f"{len(value)} {label}")
    return "loaded " + (", ".join(parts) if parts else "")


def _without_citations(text: str) -> str:
    """A line without its bullet and bare citation numbers (" 4 ", " 3, 1"), spaces collapsed."""
    bare = re.sub(r"\s\d+(?:,\s*\d+)*(?=\s|$)", " ", f" {text} ")
    return " ".join(bare.split()).removeprefix("- ")


def document_blocks(kb: Knowledge, key: str) -> list[dict[str, Any]]:
    """The source document as blocks of lines; lines that are a statement carry its id as anchor."""
    lines = kb.documents[key].text().splitlines()
    starts: dict[int, tuple[str, int]] = {}
    normalised = [_without_citations(line) for line in lines]
    for statement in kb.statements.values():
        if statement.document != key:
            continue
        head = _without_citations(statement.text.split("\n")[0])[:50]
        for index, line in enumerate(normalised):
            if head and line.startswith(head) and index not in starts:
                starts[index] = (statement.id, max(1, len(statement.text.strip().splitlines())))
                break
    blocks: list[dict[str, Any]] = []
    index = 0
    while index < len(lines):
        if index in starts:
            statement_id, count = starts[index]
            blocks.append({"statement": statement_id, "lines": lines[index : index + count]})
            index += count
        else:
            blocks.append({"statement": None, "lines": [lines[index]]})
            index += 1
    return blocks
