"""The static files (styles, scripts, vendored htmx and Chart.js)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, Response

from igwatch.web.site import STATIC_DIR, STATIC_TYPES, WebSite


def static_router(site: WebSite) -> APIRouter:
    router = APIRouter(route_class=site.route_class, include_in_schema=False)

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
