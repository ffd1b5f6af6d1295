"""The worklist (filter, sort, CSV export) and the upload of FHIR files."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from igwatch.errors import IgwatchError
from igwatch.knowledge.profile import Profile
from igwatch.render.words import one_line
from igwatch.store import load_path
from igwatch.web import views
from igwatch.web.patient_pages import quote_path
from igwatch.web.site import MAX_UPLOAD_BYTES, WebSite, log, render
from igwatch.worklist import WORKLIST_FLAGS


def worklist_router(site: WebSite) -> APIRouter:
    router = APIRouter(route_class=site.route_class, include_in_schema=False)

    def worklist_rows(as_of_value: date | None, profile: Profile) -> list[views.WorklistRow]:
        rows = []
        for patient_id in site.assessments.patient_ids():
            timeline, assessment = site.assessments.get(
                patient_id, as_of_value or site.default_as_of(), profile
            )
            rows.append(views.worklist_row(assessment, timeline.patient.name))
        return rows

    def filtered(
        request: Request, rows: list[views.WorklistRow]
    ) -> tuple[list[views.WorklistRow], dict[str, Any]]:
        params = request.query_params
        active = [key for key, _ in WORKLIST_FLAGS if params.get(key) in ("1", "true", "on", "yes")]
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
            **{key: by_flag(key) for key, _ in WORKLIST_FLAGS},
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
        as_of_value = site.as_of_for(request)
        profile = site.profile_for(request)
        rows = worklist_rows(as_of_value, profile)
        shown, state = filtered(request, rows)
        counts = {key: sum(1 for r in rows if r.flags[key]) for key, _ in WORKLIST_FLAGS}
        keep = {k: v for k, v in request.query_params.items() if k not in ("sort", "dir")}

        def sort_link(column: str) -> str:
            direction = "desc" if state["sort"] == column and state["dir"] == "asc" else "asc"
            return "/?" + urlencode({**keep, "sort": column, "dir": direction})

        def patient_link(patient_id: str) -> str:
            extra = {k: v for k, v in request.query_params.items() if k in ("as_of", "profile")}
            return f"/patients/{quote_path(patient_id)}" + ("?" + urlencode(extra) if extra else "")

        csv_query = urlencode(list(request.query_params.items()))
        context = {
            **site.base_context(request),
            "rows": shown,
            "total": len(rows),
            "in_scope": sum(1 for r in rows if r.applicable),
            "counts": counts,
            "state": state,
            "as_of": as_of_value.isoformat(),
            "profile": profile.name,
            "profiles": list(site.profiles),
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
        rows, _ = filtered(request, worklist_rows(site.as_of_for(request), site.profile_for(request)))
        site.audit(request, "worklist-export", detail=f"{len(rows)} patient(s)")
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
                report = load_path(site.db, path)
            except IgwatchError as exc:
                message = one_line(str(exc)).replace(str(path), name).replace(tmp, "")
                log.info("upload refused")
                return worklist_page(request, 422, error=message)
        site.assessments.bump()
        site.audit(request, "upload", detail=f"{report_text(report)} from an upload")
        return worklist_page(request, 200, message=f"{name}: {report_text(report)}")

    return router


def report_text(report: Any) -> str:
    """A one-line account of a load (the store's report, whatever fields it offers)."""
    parts = []
    for field_name, label in (("patients", "patients"), ("resources", "resources"), ("files", "files")):
        value = getattr(report, field_name, None)
        if isinstance(value, int):
            parts.append(f"{value} {label}")
        elif isinstance(value, list | tuple | set):
            parts.append(f"{len(value)} {label}")
    return "loaded " + (", ".join(parts) if parts else "")
