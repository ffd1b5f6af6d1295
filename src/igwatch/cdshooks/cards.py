"""CDS Hooks 2.0.1 answers from the one engine (contract §4): request in, cards out.

Used unchanged by ``igwatch hook REQUEST.json`` (offline) and by the service. patient-view
returns the critical and warning recommendations as cards plus one info card summarising the
rest, never more than ``max_patient_view_cards``; order-select / order-sign answer only about
the draft orders, which count as the patient's records (status draft) when the facts are derived.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING, Any, Final

from pydantic import ValidationError

from igwatch.assessment import Assessment, Recommendation
from igwatch.cdshooks.models import SUMMARY_MAX, HookRequest
from igwatch.engine import assess
from igwatch.errors import IgwatchError, InputRefused
from igwatch.fhir.ingest import build_timeline, resources_from_json
from igwatch.knowledge.catalog import knowledge
from igwatch.knowledge.profile import Profile
from igwatch.rules.orders import UNNAMED_DRAFT, OrderContext, judge_orders
from igwatch.timeline import DataIssue, Timeline

if TYPE_CHECKING:
    from igwatch.cdshooks.fhir_bases import FhirServerAllowlist

RECOMMENDATION_ID = "org.igwatch.recommendation-id"
SUMMARISED_IDS = "org.igwatch.summarised-recommendation-ids"
SUMMARY_CARD_ID = "summary"
PREFETCH_KEYS = (
    "patient",
    "observations",
    "conditions",
    "encounters",
    "medicationStatements",
    "medicationRequests",
    "medicationAdministrations",
    "immunizations",
    "medications",
)
HOOKS = ("patient-view", "order-select", "order-sign")
#: Data issues a card shows (contract §4): records thrown away, or used with a caveat.
CARD_ISSUE_SEVERITIES = frozenset({"error", "warning"})
MAX_CARD_ISSUES = 5
#: Resource types of earlier FHIR versions an EHR may still send as draft orders.
NOT_R4 = {
    "MedicationOrder": "DSTU2",
    "DiagnosticOrder": "DSTU2",
    "DeviceUseRequest": "DSTU2",
    "Order": "DSTU2",
    "ProcedureRequest": "STU3",
    "ReferralRequest": "STU3",
}
OVERRIDE_SYSTEM = "https://igwatch.dev/fhir/CodeSystem/override-reason"
OVERRIDE_REASONS: list[dict[str, Any]] = [
    {"code": "not-applicable", "system": OVERRIDE_SYSTEM, "display": "Does not apply to this patient"},
    {"code": "already-addressed", "system": OVERRIDE_SYSTEM, "display": "Already addressed"},
    {
        "code": "clinical-judgement",
        "system": OVERRIDE_SYSTEM,
        "display": "Clinical judgement: benefit outweighs risk",
    },
]


class PrefetchUnavailable(IgwatchError):
    """Prefetch data is missing and could not be read from the FHIR server (the service: 412)."""


# --------------------------------------------------------------------------- request


def parse_request(request: Any) -> HookRequest:
    """The request validated as CDS Hooks; anything else is refused with where it went wrong."""
    if not isinstance(request, dict):
        raise InputRefused("request: expected a JSON object (a CDS Hooks request)")
    try:
        return HookRequest.model_validate(request)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "request"
        raise InputRefused(f"request {where}: {first['msg']}") from None


def missing_prefetch(request: HookRequest) -> list[str]:
    """The prefetch keys the EHR did not fetch completely (contract §4): absent, an
    ``OperationOutcome`` (the EHR's query failed), or a searchset with a ``next`` link (one page
    of several). ``null`` means the EHR has no such data: that is complete."""
    sent = request.prefetch or {}
    return [key for key in PREFETCH_KEYS if key not in sent or not _fetched_completely(sent[key])]


def _fetched_completely(value: object) -> bool:
    if not isinstance(value, dict):
        return True  # null (no data); anything else is refused when it is read
    if value.get("resourceType") == "OperationOutcome":
        return False
    links = value.get("link") if value.get("resourceType") == "Bundle" else None
    return not (
        isinstance(links, list)
        and any(isinstance(link, dict) and link.get("relation") == "next" for link in links)
    )


async def complete_prefetch(
    request: HookRequest, *, timeout_s: float, allowlist: FhirServerAllowlist | None = None
) -> HookRequest:
    """Read absent prefetch keys from ``fhirServer`` with ``fhirAuthorization``.

    With an ``allowlist`` (the service), ``fhirServer`` must lie under one of its bases, else no
    request is made; without one (``igwatch hook``, the user's own file) any server is read.
    Raises :class:`PrefetchUnavailable` when there is no usable FHIR server or it cannot answer
    in time.
    """
    missing = missing_prefetch(request)
    if not missing:
        return request
    if not request.fhirServer:
        raise PrefetchUnavailable(
            f"prefetch {', '.join(missing)} not sent or incomplete, and no fhirServer to read them from"
        )
    allowed_base = None
    if allowlist is not None:
        allowed_base = allowlist.allowed_base(request.fhirServer)
        if allowed_base is None:
            raise PrefetchUnavailable(
                f"prefetch {', '.join(missing)} not sent or incomplete, and {allowlist.refusal}"
            )
    try:
        from igwatch.cdshooks.fhir_fallback import FhirUnavailable, fetch_prefetch
    except ImportError:  # the fallback client is not installed in this build
        raise PrefetchUnavailable(f"prefetch {', '.join(missing)} not sent") from None
    authorization = request.fhirAuthorization.model_dump() if request.fhirAuthorization else None
    try:
        fetched = await asyncio.wait_for(
            fetch_prefetch(
                request.fhirServer,
                authorization,
                request.context.patientId,
                missing,
                timeout_s=timeout_s,
                allowed_base=allowed_base,
            ),
            timeout=timeout_s,
        )
    except FhirUnavailable as error:
        raise PrefetchUnavailable(f"prefetch {', '.join(missing)}: {error}") from None
    except TimeoutError:
        raise PrefetchUnavailable(
            f"prefetch {', '.join(missing)}: the FHIR server did not answer within {timeout_s:g} s"
        ) from None
    still = [key for key in missing if key not in fetched]
    if still:
        raise PrefetchUnavailable(f"prefetch {', '.join(still)}: not returned by the FHIR server")
    prefetch: dict[str, dict[str, Any] | None] = {**(request.prefetch or {}), **fetched}
    return request.model_copy(update={"prefetch": prefetch})


def request_resources(request: HookRequest) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """The patient's resources from the prefetch, plus the draft orders (also by ``Type/id``)."""
    resources: list[dict[str, Any]] = []
    for key in PREFETCH_KEYS:
        value = (request.prefetch or {}).get(key)
        if value is not None:  # null means the EHR has no such data
            resources.extend(resources_from_json(value))
    drafts: dict[str, dict[str, Any]] = {}
    if request.context.draftOrders is not None:
        for number, resource in enumerate(resources_from_json(request.context.draftOrders), start=1):
            rtype = resource.get("resourceType")
            if rtype in NOT_R4:
                raise InputRefused(
                    f"draftOrders: a {rtype} is FHIR {NOT_R4[rtype]}; igwatch reads FHIR R4 "
                    "(MedicationRequest, ServiceRequest, Immunization)"
                )
            if not isinstance(resource.get("id"), str) or not resource["id"]:
                # an order without an id is still judged; only a suggestion to delete it needs one
                resource = {**resource, "id": f"igwatch-unnamed-draft-{number}", UNNAMED_DRAFT: True}
            resources.append(resource)
            drafts[f"{rtype}/{resource['id']}"] = resource
    patient_id = request.context.patientId
    if not any(r.get("resourceType") == "Patient" and r.get("id") == patient_id for r in resources):
        resources.append({"resourceType": "Patient", "id": patient_id})
    return resources, drafts


# --------------------------------------------------------------------------- cards


_MARKDOWN_SPECIALS: Final = str.maketrans(
    {c: "\\" + c for c in "\\`*_[]!#|~"} | {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
)


def escape_markdown(text: str) -> str:
    """Text from a record, made inert in the markdown (and HTML) EHRs render: no link, image,
    emphasis, heading, table or tag can come from a record, and it stays on one line."""
    return " ".join(text.split()).translate(_MARKDOWN_SPECIALS)


def _summary(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1].rstrip() + "…"


def _statements_markdown(statement_ids: Iterable[str]) -> str:
    statements = knowledge().statements
    return "\n".join(
        f"- **{s}** ({statements[s].document} [{statements[s].citation_label}]): {statements[s].summary}"
        for s in statement_ids
        if s in statements
    )


def _source(statement_ids: list[str], public_url: str | None) -> dict[str, Any]:
    shown = ", ".join(statement_ids[:3]) + (" …" if len(statement_ids) > 3 else "")
    source: dict[str, Any] = {"label": f"igwatch · {shown}" if shown else "igwatch"}
    if public_url and statement_ids:
        source["url"] = f"{public_url}/knowledge/statements/{statement_ids[0]}"
    return source


def _card(
    rec: Recommendation,
    public_url: str | None,
    *,
    indicator: str | None = None,
    summary: str | None = None,
    suggestions: list[dict[str, Any]] | None = None,
    selection: str = "any",
    note: str | None = None,
    issues: Iterable[DataIssue] = (),
) -> dict[str, Any]:
    detail = _card_detail(rec, note, issues)
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": _summary(summary or rec.summary),
        "indicator": indicator or rec.priority,
        "detail": detail,
        "source": _source(rec.statements, public_url),
        "overrideReasons": OVERRIDE_REASONS,
        "extension": {RECOMMENDATION_ID: rec.id},
    }
    if suggestions:
        card["suggestions"] = suggestions
        card["selectionBehavior"] = selection
    if public_url:
        page = f"{public_url}/knowledge/recommendations/{rec.id}"
        card["links"] = [
            {"label": "igwatch: this recommendation and its sources", "url": page, "type": "absolute"}
        ]
    return card


def _card_detail(rec: Recommendation, note: str | None, issues: Iterable[DataIssue]) -> str:
    """The card's markdown: the catalog's text (igwatch's own markdown), then every piece that
    can carry text from a record escaped: the reasons, the data issues."""
    entry = knowledge().catalog.get(rec.id)
    parts = [entry.detail.strip()] if entry is not None and entry.detail.strip() else []
    if rec.reasons:
        parts.append("**Why:**\n" + "\n".join(f"- {escape_markdown(r.text)}" for r in rec.reasons))
    if rec.class_note:
        parts.append(f"_{escape_markdown(rec.class_note)}_")
    if note:
        parts.append(escape_markdown(note))
    shown = [i for i in issues if i.severity in CARD_ISSUE_SEVERITIES]
    if shown:
        lines = [
            f"- {i.severity}: {escape_markdown(i.message)}"
            + (f" ({escape_markdown(i.resource)})" if i.resource else "")
            for i in shown[:MAX_CARD_ISSUES]
        ]
        if len(shown) > MAX_CARD_ISSUES:
            lines.append(f"- and {len(shown) - MAX_CARD_ISSUES} more")
        parts.append("**Records not used or used with a caveat:**\n" + "\n".join(lines))
    cited = _statements_markdown(rec.statements)
    if cited:
        parts.append(f"**Statements:**\n{cited}")
    return "\n\n".join(parts)


def _suggestion(label: str, actions: list[dict[str, Any]], recommended: bool = True) -> dict[str, Any]:
    """A suggestion; its label may hold a record's text (a product name): made inert."""
    return {
        "label": escape_markdown(label),
        "uuid": str(uuid.uuid4()),
        "isRecommended": recommended,
        "actions": actions,
    }


def _action_suggestions(rec: Recommendation) -> list[dict[str, Any]] | None:
    return [_suggestion(a["description"], [a]) for a in rec.actions] or None


def patient_view_cards(
    assessment: Assessment,
    profile: Profile,
    public_url: str | None = None,
    patient_page: str | None = None,
    smart_launch: str | None = None,
) -> list[dict[str, Any]]:
    """Critical and warning recommendations as cards, then one info card for the rest (linking
    the SMART app at ``smart_launch`` when igwatch is registered with the calling EHR, else
    ``patient_page`` when the store holds the patient); never more than ``max_patient_view_cards``."""
    if not assessment.applicable or not assessment.recommendations:
        return []
    limit = profile.max_patient_view_cards
    urgent = [r for r in assessment.recommendations if r.priority != "info"]
    shown = urgent[: limit - 1]  # one place is kept for the summary card
    if len(urgent) == limit and len(urgent) == len(assessment.recommendations):
        shown = urgent  # nothing left to summarise: every place holds an urgent card
    cards = [
        _card(r, public_url, suggestions=_action_suggestions(r), issues=assessment.data_issues) for r in shown
    ]
    shown_ids = {r.id for r in shown}
    hidden = [r for r in assessment.recommendations if r.id not in shown_ids]
    if hidden:
        cards.append(_summary_card(assessment, hidden, patient_page, smart_launch))
    return cards


def _summary_card(
    assessment: Assessment,
    hidden: list[Recommendation],
    patient_page: str | None,
    smart_launch: str | None = None,
) -> dict[str, Any]:
    lines = "\n".join(f"- {r.priority}: {escape_markdown(r.summary)} (`{r.id}`)" for r in hidden)
    more_urgent = sum(1 for r in hidden if r.priority != "info")
    head = f"igwatch: {len(hidden)} more recommendation(s)"
    if more_urgent:
        head += f", {more_urgent} to act on"
    detail = f"{escape_markdown(assessment.bottom_line)}\n\n{lines}"
    flagged = [i for i in assessment.data_issues if i.severity in CARD_ISSUE_SEVERITIES]
    if flagged:
        errors = sum(1 for i in flagged if i.severity == "error")
        detail += (
            f"\n\n**Data issues:** {len(flagged)} record(s) not used or used with a caveat "
            f"({errors} not used); the cards above list them."
        )
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": _summary(
            head + (" — see the immunoglobulin summary" if patient_page or smart_launch else "")
        ),
        "indicator": "info",
        "detail": detail,
        "source": {"label": "igwatch"},
        "extension": {RECOMMENDATION_ID: SUMMARY_CARD_ID, SUMMARISED_IDS: [r.id for r in hidden]},
    }
    if smart_launch:  # the EHR launches the app with this patient in context (SMART App Launch)
        card["links"] = [
            {
                "label": "igwatch patient page",
                "url": smart_launch,
                "type": "smart",
                "appContext": json.dumps(
                    {"recommendations": [r.id for r in assessment.recommendations]}, separators=(",", ":")
                ),
            }
        ]
    elif patient_page:  # only a page that exists (the patient is in igwatch's store)
        card["source"]["url"] = patient_page
        card["links"] = [{"label": "igwatch patient page", "url": patient_page, "type": "absolute"}]
    return card


# --------------------------------------------------------------------------- order cards


def order_cards(
    assessment: Assessment,
    timeline: Timeline,
    drafts: dict[str, dict[str, Any]],
    profile: Profile,
    public_url: str | None = None,
) -> list[dict[str, Any]]:
    """Cards about the draft orders only: the order rules judge, the cards render."""
    if not drafts or not assessment.applicable:
        return []
    context = OrderContext(assessment, timeline, drafts, profile)
    return [
        _card(
            advice.recommendation,
            public_url,
            indicator=advice.indicator,
            summary=advice.summary,
            suggestions=[_suggestion(s.label, s.actions) for s in advice.suggestions] or None,
            selection=advice.selection,
            note=advice.note,
            issues=assessment.data_issues,
        )
        for advice in judge_orders(context)
    ]


# --------------------------------------------------------------------------- answer


def answer_request(
    request: HookRequest,
    as_of: date,
    profile: Profile,
    *,
    today: date | None = None,
    public_url: str | None = None,
    patient_page: str | None = None,
    smart_launch: str | None = None,
) -> dict[str, Any]:
    """The CDS Hooks response to a validated request whose prefetch is complete. ``patient_page``
    is the URL of the patient's page when one exists, ``smart_launch`` igwatch's SMART launch URL
    when igwatch is registered with the calling EHR (the summary card links one of them)."""
    if request.hook not in HOOKS:
        raise InputRefused(f"hook {request.hook!r}: igwatch answers {', '.join(HOOKS)}")
    resources, drafts = request_resources(request)
    timeline = build_timeline(resources, patient_id=request.context.patientId)
    assessment = assess(timeline, as_of, profile, today=today)
    base = public_url.rstrip("/") if public_url else None
    if request.hook == "patient-view":
        return {"cards": patient_view_cards(assessment, profile, base, patient_page, smart_launch)}
    if request.hook == "order-select" and request.context.selections:
        # order-select: every draft counts as a record, but only the newly selected are judged.
        selected = set(request.context.selections)
        drafts = {key: resource for key, resource in drafts.items() if key in selected}
    return {"cards": order_cards(assessment, timeline, drafts, profile, base)}


def answer(
    request: Any,
    as_of: date,
    profile: Profile,
    today: date | None = None,
    public_url: str | None = None,
    fhir_timeout_s: float = 10.0,
) -> dict[str, Any]:
    """The CDS Hooks response (``{"cards": [...]}``) to one request, as the service gives it
    (``igwatch hook``): absent prefetch keys are read from ``fhirServer``, else refused."""
    parsed = parse_request(request)
    if missing_prefetch(parsed):
        parsed = asyncio.run(complete_prefetch(parsed, timeout_s=fhir_timeout_s))
    return answer_request(parsed, as_of, profile, today=today, public_url=public_url)
