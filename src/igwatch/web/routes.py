"""The clinician web app: worklist, patient page, printable summary, leaflet, knowledge pages.

Server-rendered Jinja2 (autoescaped) with a little htmx; one chart (Chart.js) fed from a JSON
script tag. Every page is computed by :func:`igwatch.engine.assess` on the stored patient, so it
says what the CLI and the CDS Hooks service say.

One router an area (:mod:`.worklist_pages`, :mod:`.patient_pages`, :mod:`.knowledge_pages`,
:mod:`.login_pages`, :mod:`.static_files`), all built on one :class:`~igwatch.web.site.WebSite`
whose route class gives every page its session cookie, login when the server is not on loopback,
HTML error pages and security headers (a Content-Security-Policy allowing only this origin).
"""

from __future__ import annotations

from fastapi import APIRouter

from igwatch.settings import ServerSettings
from igwatch.store import Database, list_patients
from igwatch.web.knowledge_pages import knowledge_router
from igwatch.web.login_pages import login_router
from igwatch.web.patient_pages import patient_router
from igwatch.web.site import WebSite, install_log_filter
from igwatch.web.static_files import static_router
from igwatch.web.worklist_pages import worklist_router


def build_web_router(settings: ServerSettings, db: Database) -> APIRouter:
    """The web pages for ``create_app``; refuses a non-loopback host without a users file."""
    site = WebSite(settings, db)
    install_log_filter()
    if settings.demo:
        from igwatch.web.demo import load_demo

        if not list_patients(db):
            load_demo(db)
    router = APIRouter(include_in_schema=False)
    for area in (worklist_router, patient_router, knowledge_router, login_router, static_router):
        router.include_router(area(site))
    return router
