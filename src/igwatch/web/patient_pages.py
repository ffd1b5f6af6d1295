"""One stored patient's pages: the patient page, the printable summary and PDF, the leaflet,
and the dose calculator. Their contexts are shared with the SMART app's pages.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from igwatch.assessment import Assessment
from igwatch.dosing import dose_block
from igwatch.facts import shown_number
from igwatch.knowledge.catalog import knowledge
from igwatch.knowledge.profile import Profile
from igwatch.render.html import assessment_html
from igwatch.render.words import WEIGHT_BASIS_LABEL, dose_lines, one_line, statement_source
from igwatch.timeline import Timeline
from igwatch.web import views
from igwatch.web.site import WebSite, inline_style_csp, render, security_headers


def patient_router(site: WebSite) -> APIRouter:
    router = APIRouter(route_class=site.route_class, include_in_schema=False)

    @router.get("/patients/{patient_id}", response_class=HTMLResponse)
    def patient_page(request: Request, patient_id: str) -> Response:
        profile = site.profile_for(request)
        timeline, assessment = site.assessments.get(patient_id, site.as_of_for(request), profile)
        site.audit(request, "patient-view", assessment.patient_id)
        context = {
            **site.base_context(request),
            **patient_page_context(
                timeline,
                assessment,
                profile,
                list(site.profiles),
                page_base=f"/patients/{quote_path(patient_id)}",
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
        chosen = site.profile_for(request)
        weight = number_field(weight_kg, "weight_kg", 1, 400)
        height = number_field(height_cm, "height_cm", 40, 250)
        if sex not in ("", "male", "female"):
            raise HTTPException(422, "sex: choose male or female")
        block, issues = dose_block(weight, height, sex or None, chosen)
        context = {
            **site.base_context(request),
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
        _, assessment = site.assessments.get(patient_id, site.as_of_for(request), site.profile_for(request))
        site.audit(request, "summary", assessment.patient_id)
        return summary_response(assessment)

    @router.get("/patients/{patient_id}/summary.pdf")
    def summary_pdf(request: Request, patient_id: str) -> Response:
        _, assessment = site.assessments.get(patient_id, site.as_of_for(request), site.profile_for(request))
        site.audit(request, "summary-pdf", assessment.patient_id)
        return summary_pdf_response(assessment)

    @router.get("/patients/{patient_id}/leaflet", response_class=HTMLResponse)
    def leaflet(request: Request, patient_id: str) -> Response:
        timeline, assessment = site.assessments.get(
            patient_id, site.as_of_for(request), site.profile_for(request)
        )
        site.audit(request, "leaflet", assessment.patient_id)
        return render("leaflet.html", **site.base_context(request), **leaflet_context(timeline, assessment))

    return router


def patient_page_context(
    timeline: Timeline, assessment: Assessment, profile: Profile, profiles: list[str], *, page_base: str
) -> dict[str, Any]:
    """What ``patient.html`` shows of one assessment; ``page_base`` is the path its summary, PDF
    and leaflet links hang under (the stored patient's page, or a SMART launch's)."""
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
            "weight_kg": shown_number(body.weight_kg) if body.weight_kg else "",
            "height_cm": shown_number(body.height_cm) if body.height_cm else "",
            "sex": body.sex or "",
        },
        "data_issues": assessment.data_issues,
        "chart": views.chart_data(assessment, timeline, profile),
        "assessment_json": assessment.to_dict(),  # the contract JSON, shown on the page as it is
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
    security_headers(response, inline_style_csp(html))
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


def quote_path(value: str) -> str:
    """A value as one URL path segment."""
    return quote(value, safe="")


def number_field(text: str, name: str, low: float, high: float) -> float | None:
    if not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise HTTPException(422, f"{name}: {one_line(text)[:20]!r} is not a number") from None
    if not low <= value <= high:
        raise HTTPException(422, f"{name}: {value:g} is outside {low:g}–{high:g}")
    return value
