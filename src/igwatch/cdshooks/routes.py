"""The CDS Hooks 2.0.1 HTTP service (contract §4): discovery, the three hooks, feedback.

Every ``/cds-services`` call passes :func:`require_client` first (a bearer JWT from a trusted
client, or the loud ``--insecure-dev-no-auth`` mode), so an unauthenticated caller learns nothing,
not even whether its JSON was well formed. The request body is read by hand, after that check,
and its schema is published in the OpenAPI document through ``openapi_extra``.

Statuses: 200 cards; 400 not JSON, not a JSON object, or a hook sent to the wrong service;
401 no valid token (empty body, ``WWW-Authenticate: Bearer``); 404 unknown service; 412 prefetch
missing and not readable from ``fhirServer`` (absent, unreachable, or not among the FHIR bases the
caller may name); 413 a body over ``MAX_BODY_BYTES``; 422 a CDS Hooks request igwatch cannot use.
Errors carry an OperationOutcome with one line of diagnostics; never a stack trace. Logs never
carry patient data: only the service, the status and the reason.
"""

from __future__ import annotations

import functools
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import anyio
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import SQLAlchemyError

from igwatch import clock
from igwatch.cdshooks.cards import (
    PrefetchUnavailable,
    answer_request,
    complete_prefetch,
    missing_prefetch,
    parse_request,
)
from igwatch.cdshooks.fhir_bases import FhirServerAllowlist
from igwatch.cdshooks.fhir_fallback import PREFETCH_TEMPLATES
from igwatch.cdshooks.models import (
    CdsResponse,
    Discovery,
    FeedbackRequest,
    FeedbackResponse,
    HookRequest,
    OperationOutcome,
    Service,
)
from igwatch.errors import IgwatchError, InputRefused
from igwatch.fhir.reader import parse_json
from igwatch.server_guards import LogBudget
from igwatch.settings import ServerSettings
from igwatch.store import has_patient

log = logging.getLogger("igwatch.cdshooks")

#: A request larger than this is refused (413) before it is parsed: a patient's prefetch is
#: typically well under 1 MiB.
MAX_BODY_BYTES = 32 * 2**20


@dataclass(frozen=True)
class ServiceInfo:
    id: str
    hook: str
    title: str
    description: str


SERVICES: dict[str, ServiceInfo] = {
    s.id: s
    for s in (
        ServiceInfo(
            "igwatch-patient-view",
            "patient-view",
            "igwatch: immunoglobulin monitoring",
            "Immunoglobulin monitoring and replacement for people on anti-CD20 therapy (such as "
            "ofatumumab) and with primary IgM deficiency: the urgent recommendations as cards, "
            "the rest summarised with a link to the patient page.",
        ),
        ServiceInfo(
            "igwatch-order-select",
            "order-select",
            "igwatch: order checks (select)",
            "Checks the draft orders: live vaccines during B-cell depletion, ofatumumab during an "
            "active infection or without a baseline panel, viral serology caveats, immune globulin "
            "dose and indication.",
        ),
        ServiceInfo(
            "igwatch-order-sign",
            "order-sign",
            "igwatch: order checks (sign)",
            "The order checks of igwatch-order-select, at signing.",
        ),
    )
}


# --------------------------------------------------------------------------- responses


def outcome(status: int, code: str, diagnostics: str) -> JSONResponse:
    return JSONResponse(
        OperationOutcome.error(code, diagnostics).model_dump(exclude_none=True), status_code=status
    )


class Unauthorized(Exception):
    """Raised by :func:`require_client`; answered 401 with no body (the reason is only logged)."""


def unauthorized_response() -> Response:
    return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})


def _outcome_doc(description: str) -> dict[str, Any]:
    return {"model": OperationOutcome, "description": description}


UNAUTHORIZED_DOC: dict[int | str, dict[str, Any]] = {
    401: {
        "description": "No valid bearer token from a trusted client (empty body).",
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}},
        "content": {},
    }
}


def _schema_inline(model: type[BaseModel]) -> dict[str, Any]:
    """A model's JSON schema with its ``$defs`` inlined, for ``openapi_extra`` (the document root
    is the OpenAPI document, where ``#/$defs/…`` would not resolve)."""
    schema = model.model_json_schema()
    defs: dict[str, Any] = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return inline(defs[ref.removeprefix("#/$defs/")])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    result: dict[str, Any] = inline(schema)
    return result


def _json_body_doc(model: type[BaseModel], hook: str | None = None) -> dict[str, Any]:
    schema = _schema_inline(model)
    if hook is not None:
        schema["properties"]["hook"] = {"type": "string", "enum": [hook], "title": "Hook"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _bind(
    handler: Callable[[ServiceInfo, Request], Awaitable[Response]], service: ServiceInfo
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return await handler(service, request)

    return endpoint


# --------------------------------------------------------------------------- auth


async def require_client(request: Request) -> None:
    """Every ``/cds-services`` call: a bearer JWT whose ``aud`` is the URL called."""
    settings: ServerSettings = request.app.state.settings
    if settings.insecure_dev_no_auth:
        log.warning(
            "INSECURE: --insecure-dev-no-auth: %s %s answered without checking any token",
            request.method,
            request.url.path,
        )
        return
    verifier = getattr(request.app.state, "verifier", None)
    if verifier is None:
        log.warning("401 %s %s: no trusted CDS clients configured", request.method, request.url.path)
        raise Unauthorized
    audience = settings.base_url + request.url.path
    from igwatch.cdshooks.auth import AuthError

    try:
        # The verifier is synchronous (it may fetch a JWK Set): keep it off the event loop.
        client = await anyio.to_thread.run_sync(
            lambda: verifier.verify(request.headers.get("authorization"), audience=audience)
        )
    except AuthError as error:
        budget: LogBudget = request.app.state.unauthorized_log
        log_it, dropped = budget.take()
        if log_it:
            more = f" ({dropped} more 401s not logged)" if dropped else ""
            log.warning("401 %s %s: %s%s", request.method, request.url.path, error, more)
        raise Unauthorized from None
    request.state.cds_client = client


def fhir_server_allowlist(request: Request) -> FhirServerAllowlist:
    """The FHIR bases this caller may send the prefetch fallback to: the trusted client's
    ``fhir_servers``; in ``--insecure-dev-no-auth`` mode, loopback and ``--dev-fhir-server``."""
    caller = getattr(request.state, "cds_client", None)
    if caller is not None:
        return FhirServerAllowlist(bases=caller.fhir_servers)
    settings: ServerSettings = request.app.state.settings
    if settings.insecure_dev_no_auth:
        return FhirServerAllowlist(
            bases=settings.dev_fhir_servers,
            any_loopback=True,
            refusal="fhirServer is not allowed (--insecure-dev-no-auth reads only loopback "
            "servers and --dev-fhir-server URLs)",
        )
    return FhirServerAllowlist()


# --------------------------------------------------------------------------- helpers


T = TypeVar("T")


def _patient_page(request: Request, patient_id: str) -> str | None:
    """The patient's page in the web app, only when the store holds the patient (else a 404)."""
    settings: ServerSettings = request.app.state.settings
    if not settings.base_url:
        return None
    try:
        stored = has_patient(request.app.state.db, patient_id)
    except SQLAlchemyError:
        return None
    return f"{settings.base_url.rstrip('/')}/patients/{patient_id}" if stored else None


def _smart_launch(request: Request, fhir_server: str | None) -> str | None:
    """igwatch's SMART launch URL when it is registered with the EHR whose FHIR server this is."""
    registrations = getattr(request.app.state, "smart_registrations", None)
    if registrations is None or registrations.for_fhir_server(fhir_server) is None:
        return None
    settings: ServerSettings = request.app.state.settings
    return f"{settings.base_url}/smart/launch"


def _today() -> date:
    """The real today, or ``IGWATCH_TODAY`` (checked when the server starts: ``igwatch serve``)."""
    return clock.today()


async def off_the_loop(request: Request, function: Callable[..., T], *args: Any) -> T:
    """Run CPU work in the bounded worker pool under the per-request deadline, so that one
    request never holds up another (a slow one is abandoned with TimeoutError; its thread ends
    on its own)."""
    settings: ServerSettings = request.app.state.settings
    limiter: anyio.CapacityLimiter = request.app.state.assess_limiter
    with anyio.fail_after(settings.assess_timeout_s):
        return await anyio.to_thread.run_sync(
            functools.partial(function, *args), limiter=limiter, abandon_on_cancel=True
        )


def _too_slow(request: Request) -> JSONResponse:
    settings: ServerSettings = request.app.state.settings
    log.warning("503 the request's work took longer than %g s", settings.assess_timeout_s)
    return outcome(
        503, "too-costly", f"the request took longer than {settings.assess_timeout_s:g} s to assess"
    )


async def _json_object(request: Request) -> dict[str, Any] | JSONResponse:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return outcome(413, "too-costly", f"request body: larger than {MAX_BODY_BYTES // 2**20} MiB")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return outcome(413, "too-costly", f"request body: larger than {MAX_BODY_BYTES // 2**20} MiB")
        chunks.append(chunk)
    body = b"".join(chunks)
    try:
        data = await off_the_loop(request, parse_json, body)
    except (ValueError, UnicodeDecodeError) as error:
        where = (
            f" at line {error.lineno} column {error.colno}" if isinstance(error, json.JSONDecodeError) else ""
        )
        return outcome(400, "invalid", f"request body: not valid JSON{where}")
    except RecursionError:
        return outcome(400, "invalid", "request body: JSON nested too deeply")
    except TimeoutError:
        return _too_slow(request)
    if not isinstance(data, dict):
        return outcome(400, "invalid", "request body: expected a JSON object")
    return data


def build_router() -> APIRouter:
    router = APIRouter(prefix="/cds-services", tags=["CDS Hooks"], dependencies=[Depends(require_client)])

    @router.get(
        "",
        response_model=Discovery,
        response_model_exclude_none=True,  # CDS Hooks: optional fields are absent, never null
        summary="Discovery: the igwatch CDS services and their prefetch templates",
        responses=UNAUTHORIZED_DOC,
    )
    async def discovery() -> Discovery:
        templates = dict(PREFETCH_TEMPLATES)
        return Discovery(
            services=[
                Service(hook=s.hook, title=s.title, description=s.description, id=s.id, prefetch=templates)
                for s in SERVICES.values()
            ]
        )

    async def call_service(service: ServiceInfo, request: Request) -> Response:
        data = await _json_object(request)
        if isinstance(data, JSONResponse):
            return data
        settings: ServerSettings = request.app.state.settings
        try:
            # Validating a large prefetch is one long call that holds the interpreter: not on the loop.
            parsed = await off_the_loop(request, parse_request, data)
        except InputRefused as error:
            return outcome(422, "invalid", str(error))
        except TimeoutError:
            return _too_slow(request)
        if parsed.hook != service.hook:
            return outcome(
                400, "invalid", f"hook {parsed.hook!r} sent to {service.id}, which answers {service.hook!r}"
            )
        if missing_prefetch(parsed):
            try:
                parsed = await complete_prefetch(
                    parsed, timeout_s=settings.fhir_timeout_s, allowlist=fhir_server_allowlist(request)
                )
            except PrefetchUnavailable as error:
                reference = uuid.uuid4().hex[:12]  # the same reference in the answer and the log
                log.warning("412 %s [ref %s]: %s", service.id, reference, error)
                return outcome(412, "incomplete", f"{error} (ref {reference})")
        today = _today()
        page = _patient_page(request, parsed.context.patientId)
        answer_now = functools.partial(
            answer_request,
            parsed,
            settings.answer_date(today),
            settings.profile,
            today=today,
            public_url=settings.base_url,
            patient_page=page,
            smart_launch=_smart_launch(request, parsed.fhirServer),
        )
        try:
            response = await off_the_loop(request, answer_now)
        except TimeoutError:
            return _too_slow(request)
        except IgwatchError as error:
            return outcome(422, "processing", str(error))
        except Exception as error:  # never a stack trace to the client, never patient data in the log
            log.error("500 %s: %s", service.id, type(error).__name__)
            return outcome(500, "exception", "internal error; the server log has the error type")
        caller = getattr(request.state, "cds_client", None)
        # Queued, written in batches: the cards never wait for the audit trail.
        request.app.state.audit.record(
            actor=caller.iss if caller is not None else "no token (--insecure-dev-no-auth)",
            actor_source="cds-client",
            action="hook-call",
            patient_id=parsed.context.patientId,
            detail=f"{service.id}: {len(response['cards'])} card(s)",
        )
        return JSONResponse(response)

    async def feedback(service: ServiceInfo, request: Request) -> Response:
        data = await _json_object(request)
        if isinstance(data, JSONResponse):
            return data
        try:
            parsed = await off_the_loop(request, FeedbackRequest.model_validate, data)
        except TimeoutError:
            return _too_slow(request)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "request"
            return outcome(422, "invalid", f"feedback {where}: {first['msg']}")
        db = getattr(request.app.state, "db", None)
        if db is None:
            return outcome(503, "transient", "the feedback store is not available")
        from igwatch.store import record_feedback

        items = [item.model_dump(exclude_none=True) for item in parsed.feedback]
        caller = getattr(request.state, "cds_client", None)
        iss = getattr(caller, "iss", None)
        try:
            result = await anyio.to_thread.run_sync(lambda: record_feedback(db, service.id, items, iss))
        except InputRefused as error:
            return outcome(422, "invalid", str(error))
        return JSONResponse(
            FeedbackResponse(
                received=len(items), stored=result.stored, duplicates=result.duplicates
            ).model_dump()
        )

    # One documented operation per service, so the OpenAPI document names the hook each takes.
    for service in SERVICES.values():
        router.add_api_route(
            f"/{service.id}",
            _bind(call_service, service),
            methods=["POST"],
            name=f"call {service.id}",
            operation_id=f"call_{service.id.replace('-', '_')}",
            summary=f"{service.title}: cards for {service.hook}",
            response_model=CdsResponse,
            responses={
                400: _outcome_doc("Not JSON, not a JSON object, or another hook than this service's."),
                **UNAUTHORIZED_DOC,
                412: _outcome_doc("Prefetch data missing and not readable from fhirServer."),
                413: _outcome_doc("Request body too large."),
                422: _outcome_doc("A CDS Hooks request igwatch cannot use (the diagnostics say where)."),
            },
            openapi_extra=_json_body_doc(HookRequest, hook=service.hook),
        )
        router.add_api_route(
            f"/{service.id}/feedback",
            _bind(feedback, service),
            methods=["POST"],
            name=f"feedback {service.id}",
            operation_id=f"feedback_{service.id.replace('-', '_')}",
            summary=f"Feedback on {service.id} cards (accepted / overridden), stored once",
            response_model=FeedbackResponse,
            responses={
                400: _outcome_doc("Not JSON or not a JSON object."),
                **UNAUTHORIZED_DOC,
                413: _outcome_doc("Request body too large."),
                422: _outcome_doc("Not a CDS Hooks feedback request (the diagnostics say where)."),
                503: _outcome_doc("The feedback store is not available."),
            },
            openapi_extra=_json_body_doc(FeedbackRequest),
        )

    async def unknown_service(service_id: str) -> Response:
        return outcome(404, "not-found", f"service {service_id!r}: igwatch offers {', '.join(SERVICES)}")

    router.add_api_route("/{service_id}", unknown_service, methods=["POST"], include_in_schema=False)
    router.add_api_route("/{service_id}/feedback", unknown_service, methods=["POST"], include_in_schema=False)

    return router


def install_error_handlers(app: FastAPI) -> None:
    """401 without detail. Anything unexpected is the ErrorBarrier's (igwatch.server_guards): a
    500 with a reference and one log line, no trace."""

    @app.exception_handler(Unauthorized)
    async def _unauthorized(request: Request, exc: Unauthorized) -> Response:
        return unauthorized_response()
