"""The igwatch web application: the CDS Hooks service (and the dashboard pages when present).

``create_app(settings)`` opens the database, brings it to the latest migration, and mounts the
routers. ``igwatch serve`` runs it with uvicorn; tests start it the same way on loopback.
"""

from __future__ import annotations

import base64
import logging
import os
import pickle
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any, Final
from urllib.parse import urlsplit

import anyio
from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from igwatch import __version__
from igwatch.cdshooks.routes import build_router, install_error_handlers
from igwatch.fhir.terminology import get_terminology
from igwatch.gc_tuning import tune_for_server
from igwatch.knowledge.catalog import knowledge
from igwatch.server_guards import ErrorBarrier, LogBudget, RequestBodyLimit
from igwatch.settings import ServerSettings
from igwatch.store import AuditQueue, Database

log = logging.getLogger("igwatch.server")

BEARER_SCHEME = "cdsHooksJwt"


def _token_verifier(settings: ServerSettings, db: Database) -> Any:
    """The JWT verifier for the trusted clients, or None (dev mode, or no clients configured:
    then every CDS Hooks call is refused). Token ids are remembered in the database, so that a
    token is accepted once across worker processes and restarts."""
    if settings.insecure_dev_no_auth or settings.cds_clients is None:
        return None
    from igwatch.cdshooks.auth import TokenVerifier, load_trusted_clients
    from igwatch.cdshooks.replay import DatabaseReplayCache

    return TokenVerifier(load_trusted_clients(settings.cds_clients), replay_store=DatabaseReplayCache(db))


def _document_bearer_auth(app: FastAPI) -> None:
    """Declare the bearer JWT in the OpenAPI document for every ``/cds-services`` operation."""
    plain_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = plain_openapi()
        schema.setdefault("components", {}).setdefault("securitySchemes", {})[BEARER_SCHEME] = {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "CDS Hooks client JWT (ES384 or RS384) with aud = the URL called",
        }
        for path, operations in schema.get("paths", {}).items():
            if path.startswith("/cds-services"):
                for operation in operations.values():
                    operation["security"] = [{BEARER_SCHEME: []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


class CdsHooksCors:
    """CORS for the CDS Hooks API only (contract §4): browser-based clients such as the CDS Hooks
    sandbox call ``/cds-services`` from another origin; the clinician pages never answer one."""

    def __init__(self, app: ASGIApp, origins: tuple[str, ...]) -> None:
        self.app = app
        self.origins = origins
        self.cors = CORSMiddleware(
            app,
            allow_origins=list(origins),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.origins and scope["type"] == "http" and scope["path"].startswith("/cds-services"):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


LOOPBACK_NAMES: Final = ("localhost", "127.0.0.1", "::1", "[::1]")
WILDCARD_HOSTS: Final = frozenset({"0.0.0.0", "::", "[::]", ""})


def trusted_hosts(settings: ServerSettings) -> list[str]:
    """The Host headers the server answers: the loopback names, the address it listens on and
    the ``--public-url`` host. A page that reaches a clinician's local server through DNS
    rebinding sends its own host name, and is refused. Listening on every address without a
    public URL, the login (required there) is what guards the pages."""
    hosts = list(LOOPBACK_NAMES)
    if settings.public_url:
        public = urlsplit(settings.public_url).hostname
        if public:
            hosts.append(public)
    if settings.host in WILDCARD_HOSTS:
        return ["*"] if not settings.public_url else hosts
    hosts.append(settings.host.strip("[]"))
    return list(dict.fromkeys(hosts))


def cors_origins(settings: ServerSettings, verifier: Any) -> tuple[str, ...]:
    """Any origin in dev mode (no token either); else the trusted clients' ``origins``."""
    if settings.insecure_dev_no_auth:
        return ("*",)
    return tuple(verifier.origins) if verifier is not None else ()


def create_app(settings: ServerSettings) -> FastAPI:
    """The ASGI application for these settings (database migrated, routers mounted)."""
    db = Database(settings.db_url)
    db.migrate()
    try:
        verifier = _token_verifier(settings, db)
    except Exception:
        db.close()
        raise
    audit = AuditQueue(db)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.insecure_dev_no_auth:
            log.warning("INSECURE: --insecure-dev-no-auth: CDS Hooks calls are answered without any token")
        elif verifier is None:
            log.warning("no trusted CDS clients configured (--cds-clients): every CDS Hooks call gets 401")
        # What every request reads is loaded now, then kept out of the collector's way.
        get_terminology()
        knowledge()
        tune_for_server()
        try:
            yield
        finally:
            audit.close()  # what is still queued is written before the database closes
            db.close()

    # With a login (the pages reachable from elsewhere), no interactive /docs: Swagger UI loads its
    # scripts from a CDN and would need its own CSP; the OpenAPI document stays for clients.
    login = settings.users_file is not None
    app = FastAPI(
        title="igwatch",
        version=__version__,
        description="CDS Hooks 2.0.1 service for immunoglobulin monitoring and replacement.",
        lifespan=lifespan,
        docs_url=None if login else "/docs",
        redoc_url=None if login else "/redoc",
    )
    app.state.settings = settings
    app.state.db = db
    app.state.audit = audit
    app.state.verifier = verifier
    app.state.unauthorized_log = LogBudget(lines=settings.unauthorized_log_lines_per_minute, window_s=60.0)
    app.state.assess_limiter = anyio.CapacityLimiter(max(1, settings.assess_workers))
    install_error_handlers(app)
    app.include_router(build_router())
    if not settings.insecure_dev_no_auth:
        _document_bearer_auth(app)
    # Web pages (dashboard): mounted here beside the CDS Hooks router.
    from igwatch.web.routes import build_web_router

    app.include_router(build_web_router(settings, db))
    app.state.smart_registrations = None
    if settings.smart_ehrs is not None:
        from igwatch.smart.registrations import load_registrations
        from igwatch.smart.routes import build_smart_router

        app.state.smart_registrations = load_registrations(settings.smart_ehrs)
        app.include_router(build_smart_router(settings, app.state.smart_registrations, db))
    app.add_middleware(CdsHooksCors, origins=cors_origins(settings, verifier))
    app.add_middleware(RequestBodyLimit, limits=settings.body_limits)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=trusted_hosts(settings))
    # Outermost of igwatch's own: whatever escapes the layers above ends here, not on stderr.
    app.add_middleware(ErrorBarrier)
    return app


#: How ``igwatch serve --workers N`` hands its settings to the worker processes it starts.
SETTINGS_VARIABLE: Final = "IGWATCH_SERVE_SETTINGS"


def settings_for_workers(settings: ServerSettings) -> str:
    """The settings for the workers, with one session-signing secret for all of them (each
    would otherwise make its own, and a cookie signed by one would be refused by another)."""
    shared = replace(settings, secret_key=settings.secret_key or secrets.token_urlsafe(32))
    return base64.b64encode(pickle.dumps(shared)).decode("ascii")


def prepare_database(settings: ServerSettings) -> None:
    """Migrate the database, and load the demo patients when asked, before workers start."""
    db = Database(settings.db_url)
    try:
        db.migrate()
        if settings.demo:
            from igwatch.store import list_patients
            from igwatch.web.demo import load_demo

            if not list_patients(db):
                load_demo(db)
    finally:
        db.close()


def create_app_from_environment() -> FastAPI:
    """The application of one worker process of ``igwatch serve --workers N``."""
    # The value was written by this worker's own parent process (settings_for_workers).
    settings = pickle.loads(base64.b64decode(os.environ[SETTINGS_VARIABLE]))
    if not isinstance(settings, ServerSettings):
        raise TypeError(f"{SETTINGS_VARIABLE} does not hold server settings")
    return create_app(settings)
