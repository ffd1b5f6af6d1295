"""igwatch as a SMART on FHIR app (App Launch 2.x): EHR launch and standalone launch.

    GET /smart/launch?iss=…&launch=…   EHR launch (the EHR opens this with the patient in context)
    GET /smart/launch?iss=…            standalone launch (the user picks the patient at the EHR)
    GET /smart/callback?code=…&state=… the authorization server's answer
    GET /smart/app/{handle}            the patient page; …/summary, …/summary.pdf, …/leaflet

The launch is checked at each step: ``iss`` must be a registered EHR, ``state`` must be the one
this browser was sent away with (once), the token must come with a patient and the read scopes
igwatch needs. The patient's record is then read live from the EHR's FHIR server with the access
token (the same bounded reader as the CDS Hooks prefetch fallback, every page), refreshed when it
has expired or is refused, and assessed by the same engine; the pages are the web app's own
templates. Nothing is stored: the record stays in memory for a minute for the same visit's
summary, PDF and leaflet. Every refusal is a page that says what went wrong and a log line
without patient data.
"""

from __future__ import annotations

import functools
import logging
import secrets
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from igwatch import clock
from igwatch.assessment import Assessment
from igwatch.cdshooks.fhir_fallback import PREFETCH_TEMPLATES, FhirUnavailable, fetch_prefetch
from igwatch.cdshooks.routes import off_the_loop
from igwatch.engine import assess
from igwatch.errors import IgwatchError, InputRefused
from igwatch.fhir.ingest import build_timeline, resources_from_json
from igwatch.oauth import (
    READ_TYPES,
    OAuthProblem,
    ServerConfiguration,
    authorization_request,
    discover,
    exchange_code,
    read_scopes,
    refresh,
    verified_id_token,
)
from igwatch.render.words import one_line
from igwatch.settings import ServerSettings
from igwatch.smart.launches import Launch, LaunchStore, PendingLaunch
from igwatch.smart.registrations import EhrRegistration, Registrations
from igwatch.store import Database, record_audit
from igwatch.timeline import Timeline
from igwatch.web.patient_pages import (
    leaflet_context,
    patient_page_context,
    summary_pdf_response,
    summary_response,
)
from igwatch.web.site import CSP, render

log = logging.getLogger("igwatch.smart")

BROWSER_COOKIE = "igwatch_smart"
RECORD_CACHE_S = 60.0
FHIR_TIMEOUT_S = 20.0
_FHIR_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.")


class LaunchRefused(Exception):
    """A step of the launch failed: ``status`` and a one-line message for page and log."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class SmartPages:
    settings: ServerSettings
    registrations: Registrations
    store: LaunchStore

    @property
    def redirect_uri(self) -> str:
        return f"{self.settings.base_url}/smart/callback"

    @property
    def csp(self) -> str:
        """The web pages' policy, except that the registered EHRs may frame these pages."""
        ancestors = " ".join(self.registrations.frame_origins) or "'none'"
        return CSP.replace("frame-ancestors 'none'", f"frame-ancestors {ancestors}")

    @property
    def secure(self) -> bool:
        return self.settings.base_url.startswith("https://")


def _smart_configuration_url(issuer: str) -> str:
    return f"{issuer}/.well-known/smart-configuration"


def _scopes(ehr: EhrRegistration, config: ServerConfiguration, kind: str) -> list[str]:
    wanted = ["openid", "fhirUser", "launch" if kind == "ehr" else "launch/patient"]
    if "permission-online" in config.capabilities:
        wanted.append("online_access")
    wanted += read_scopes(config)
    return [scope for scope in wanted if ehr.allows(scope)]


def _granted_types(scopes: frozenset[str]) -> set[str]:
    """The resource types the granted scopes let igwatch read whole for the patient. A v2 scope
    narrowed by a query (``patient/Observation.rs?category=laboratory``) does not count: igwatch
    reads every Observation (weights are filed under more than one category) and must not take a
    filtered search for the whole record."""
    types: set[str] = set()
    for scope in scopes:
        level, _, rest = scope.partition("/")
        kind, _, suffix = rest.partition(".")
        if level not in ("patient", "user") or not suffix or "?" in suffix:
            continue
        v1_read = suffix in ("read", "*")
        v2_read = set(suffix) <= set("cruds") and bool({"r", "s"} & set(suffix))
        if v1_read or v2_read:
            types.update(READ_TYPES if kind == "*" else {kind})
    return types


def _resources(prefetch: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    resources: list[dict[str, Any]] = []
    for value in prefetch.values():
        resources.extend(resources_from_json(value))
    return resources


def build_smart_router(settings: ServerSettings, registrations: Registrations, db: Database) -> APIRouter:
    pages = SmartPages(settings, registrations, LaunchStore())

    async def audit(entry: Launch, action: str) -> None:
        """One entry in the audit trail, written off the event loop."""
        actor = f"{entry.user or 'unknown user'} via {entry.issuer}"
        await run_in_threadpool(
            functools.partial(
                record_audit, db, actor=actor, actor_source="smart", action=action, patient_id=entry.patient
            )
        )

    def page_context(request: Request, launch: Launch | None, ehr_name: str = "the EHR") -> dict[str, Any]:
        home = f"/smart/app/{launch.handle}" if launch else "/smart/launch"
        return {
            "request_path": request.url.path,
            "csrf": "",
            "user": (launch.user if launch else None),
            "login_required": False,
            "demo": False,
            "smart": {"ehr": ehr_name, "home": home},
        }

    async def refused(request: Request, status: int, message: str) -> Response:
        log.warning("smart: %d %s", status, message)
        if request.url.path in ("/smart/launch", "/smart/callback"):
            await run_in_threadpool(
                functools.partial(
                    record_audit,
                    db,
                    actor="unknown",
                    actor_source="smart",
                    action="smart-launch",
                    outcome="refused",
                    detail=message,
                )
            )
        return render("error.html", status, status=status, message=message, **page_context(request, None))

    class SmartRoute(APIRoute):
        """The browser cookie, refusals as pages, and the framing policy around every route."""

        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            inner = super().get_route_handler()

            async def handler(request: Request) -> Response:
                browser = request.cookies.get(BROWSER_COOKIE) or ""
                fresh = len(browser) < 32
                request.state.browser = secrets.token_urlsafe(32) if fresh else browser
                try:
                    response = await inner(request)
                except LaunchRefused as refusal:
                    response = await refused(request, refusal.status, str(refusal))
                except HTTPException as exc:
                    response = await refused(request, exc.status_code, str(exc.detail))
                if fresh:
                    # Framed by the EHR the page is a third-party context: over HTTPS the cookie
                    # must be SameSite=None to come back; on plain loopback, Lax (top-level use).
                    response.set_cookie(
                        BROWSER_COOKIE,
                        request.state.browser,
                        max_age=12 * 3600,
                        httponly=True,
                        secure=pages.secure,
                        samesite="none" if pages.secure else "lax",
                        path="/smart",
                    )
                response.headers.setdefault("Content-Security-Policy", pages.csp)
                response.headers["X-Content-Type-Options"] = "nosniff"
                response.headers["Referrer-Policy"] = "no-referrer"
                response.headers["Cache-Control"] = "no-store"
                return response

            return handler

    router = APIRouter(prefix="/smart", route_class=SmartRoute, include_in_schema=False)

    @router.get("/launch")
    async def launch(request: Request, iss: str = "", launch: str = "") -> Response:
        ehr = registrations.for_issuer(iss)
        if ehr is None:
            raise LaunchRefused(
                400,
                "This EHR is not registered with igwatch (the launch's iss is not a registered FHIR "
                "server); ask igwatch's administrator to add it to the SMART registration file.",
            )
        kind = "ehr" if launch else "standalone"
        try:
            config = await discover(_smart_configuration_url(ehr.issuer), f"{ehr.name}: SMART configuration")
        except OAuthProblem as problem:
            raise LaunchRefused(502, str(problem)) from None
        if f"launch-{kind}" not in config.capabilities and config.capabilities:
            raise LaunchRefused(400, f"{ehr.name} does not offer the {kind} launch")
        extra = {"aud": ehr.issuer}
        if launch:
            extra["launch"] = launch
        authorization = await authorization_request(
            config, ehr, pages.redirect_uri, _scopes(ehr, config, kind), **extra
        )
        pages.store.add_pending(
            PendingLaunch(
                browser=request.state.browser,
                issuer=ehr.issuer,
                state=authorization.state,
                code_verifier=authorization.code_verifier,
                nonce=authorization.nonce,
                scope=authorization.scope,
                kind=kind,
            )
        )
        log.info("smart: %s launch from %s sent to authorize", kind, ehr.name)
        return RedirectResponse(authorization.url, status_code=303)

    @router.get("/callback")
    async def callback(
        request: Request, state: str = "", code: str = "", error: str = "", iss: str = ""
    ) -> Response:
        pending = pages.store.take_pending(state, request.state.browser) if state else None
        if pending is None:
            raise LaunchRefused(
                400,
                "This sign-in answer does not belong to a launch started in this browser, or came "
                "back too late (state unknown or already used); launch igwatch again from the EHR.",
            )
        ehr = registrations.for_issuer(pending.issuer)
        if ehr is None:
            raise LaunchRefused(400, "The EHR of this launch is no longer registered.")
        if error:
            raise LaunchRefused(403, f"{ehr.name} did not authorize igwatch ({one_line(error)[:60]}).")
        if not code:
            raise LaunchRefused(400, "The sign-in answer holds no authorization code.")
        try:
            config = await discover(_smart_configuration_url(ehr.issuer), f"{ehr.name}: SMART configuration")
            if iss and config.issuer and iss.rstrip("/") != config.issuer.rstrip("/"):
                # RFC 9207: an answer from another authorization server (a mix-up attack).
                raise OAuthProblem("the answer comes from another authorization server (iss)")
            token = await exchange_code(config, ehr, pages.redirect_uri, code, pending.code_verifier)
            user = None
            if isinstance(token.get("id_token"), str):
                claims = await verified_id_token(token["id_token"], config, ehr.client_id, pending.nonce)
                user = str(claims.get("fhirUser") or claims.get("sub"))
        except OAuthProblem as problem:
            raise LaunchRefused(403, f"{ehr.name}: {problem}") from None
        patient = token.get("patient")
        if not isinstance(patient, str) or not patient or not set(patient) <= _FHIR_ID_CHARS:
            raise LaunchRefused(403, f"{ehr.name} launched igwatch without a patient in context.")
        granted = frozenset(str(token.get("scope") or pending.scope).split())
        missing = [t for t in READ_TYPES if t not in _granted_types(granted)]
        if missing:
            raise LaunchRefused(
                403,
                f"{ehr.name} did not grant igwatch read access to {', '.join(missing)} for the patient; "
                "igwatch needs it to assess the record.",
            )
        handle = secrets.token_urlsafe(24)
        app_context = token.get("appContext")
        entry = Launch(
            handle=handle,
            browser=request.state.browser,
            issuer=ehr.issuer,
            patient=patient,
            access_token="",
            refresh_token=None,
            expires_at=None,
            scopes=granted,
            user=user,
            app_context=app_context if isinstance(app_context, str) else None,
        )
        entry.take_token(token, time.monotonic())
        pages.store.add_launch(entry)
        await audit(entry, "smart-launch")
        log.info("smart: %s launch from %s signed in", pending.kind, ehr.name)
        return RedirectResponse(f"/smart/app/{handle}", status_code=303)

    async def fresh_token(ehr: EhrRegistration, entry: Launch, *, refused: str | None = None) -> None:
        """Refresh the access token when it is (nearly) expired, or when the FHIR server refused
        ``refused`` (the token then in use); once, whatever the number of requests waiting."""
        async with entry.refresh_lock:
            if refused is None and not entry.expired(time.monotonic()):
                return
            if refused is not None and entry.access_token != refused:
                return  # another request refreshed it meanwhile
            if not entry.refresh_token:
                raise LaunchRefused(
                    401, f"The access token from {ehr.name} has expired; launch igwatch again from the EHR."
                )
            try:
                config = await discover(
                    _smart_configuration_url(ehr.issuer), f"{ehr.name}: SMART configuration"
                )
                token = await refresh(config, ehr, pages.redirect_uri, entry.refresh_token)
            except OAuthProblem as problem:
                raise LaunchRefused(
                    401, f"{ehr.name}: {problem}; launch igwatch again from the EHR."
                ) from None
            entry.take_token(token, time.monotonic())
            entry.cached = None
            log.info("smart: access token refreshed")

    async def read_record(ehr: EhrRegistration, entry: Launch) -> dict[str, dict[str, Any]]:
        await fresh_token(ehr, entry)
        for attempt in (1, 2):
            token = entry.access_token
            authorization = {"access_token": token, "token_type": "Bearer"}
            try:
                return await fetch_prefetch(
                    ehr.issuer, authorization, entry.patient, PREFETCH_TEMPLATES, timeout_s=FHIR_TIMEOUT_S
                )
            except FhirUnavailable as problem:
                if problem.status == 401 and attempt == 1 and entry.refresh_token:
                    await fresh_token(ehr, entry, refused=token)
                    continue
                if problem.status in (401, 403):
                    raise LaunchRefused(
                        403,
                        f"{ehr.name}'s FHIR server refused igwatch's access token ({problem}); "
                        "launch igwatch again from the EHR.",
                    ) from None
                raise LaunchRefused(502, f"{ehr.name}'s FHIR server: {problem}") from None
        raise AssertionError("unreachable")

    def as_of_for(request: Request) -> date:
        text = request.query_params.get("as_of")
        if text and text.strip():
            try:
                return clock.parse_date(one_line(text), "as_of")
            except InputRefused as refusal:
                raise LaunchRefused(400, str(refusal)) from None
        return settings.as_of or clock.today()

    async def assessed(request: Request, handle: str) -> tuple[EhrRegistration, Launch, Timeline, Assessment]:
        entry = pages.store.launch(handle, request.state.browser)
        if entry is None:
            raise LaunchRefused(
                401, "This igwatch launch is unknown or has ended; launch igwatch again from the EHR."
            )
        ehr = registrations.for_issuer(entry.issuer)
        if ehr is None:
            raise LaunchRefused(401, "The EHR of this launch is no longer registered.")
        as_of = as_of_for(request)
        profile = settings.profile
        now = time.monotonic()
        cached = entry.cached
        if cached and now - cached[0] < RECORD_CACHE_S and cached[1] == as_of and cached[2] == profile.name:
            return ehr, entry, cached[3], cached[4]
        prefetch = await read_record(ehr, entry)

        def work() -> tuple[Timeline, Assessment]:
            timeline = build_timeline(_resources(prefetch), patient_id=entry.patient)
            return timeline, assess(timeline, as_of, profile, today=clock.today())

        try:
            timeline, assessment = await off_the_loop(request, work)
        except IgwatchError as problem:
            raise LaunchRefused(422, f"The record from {ehr.name} cannot be assessed: {problem}") from None
        except TimeoutError:
            raise LaunchRefused(503, "The record took too long to assess; try again.") from None
        entry.cached = (now, as_of, profile.name, timeline, assessment)
        return ehr, entry, timeline, assessment

    @router.get("/app/{handle}", response_class=HTMLResponse)
    async def patient_page(request: Request, handle: str) -> Response:
        ehr, entry, timeline, assessment = await assessed(request, handle)
        await audit(entry, "patient-view")
        base = f"/smart/app/{quote(handle, safe='')}"
        context = patient_page_context(
            timeline, assessment, settings.profile, [settings.profile.name], page_base=base
        )
        return render("patient.html", **page_context(request, entry, ehr.name), **context)

    @router.get("/app/{handle}/summary", response_class=HTMLResponse)
    async def summary(request: Request, handle: str) -> Response:
        _, entry, _, assessment = await assessed(request, handle)
        await audit(entry, "summary")
        response = summary_response(assessment)
        csp = response.headers["Content-Security-Policy"]
        response.headers["Content-Security-Policy"] = csp.replace(
            "frame-ancestors 'none'", pages.csp.rsplit("; ", 1)[-1]
        )
        return response

    @router.get("/app/{handle}/summary.pdf")
    async def summary_pdf(request: Request, handle: str) -> Response:
        _, entry, _, assessment = await assessed(request, handle)
        await audit(entry, "summary-pdf")
        return summary_pdf_response(assessment)

    @router.get("/app/{handle}/leaflet", response_class=HTMLResponse)
    async def leaflet(request: Request, handle: str) -> Response:
        ehr, entry, timeline, assessment = await assessed(request, handle)
        await audit(entry, "leaflet")
        return render(
            "leaflet.html", **page_context(request, entry, ehr.name), **leaflet_context(timeline, assessment)
        )

    return router
