"""CDS Hooks 2.0.1 answers from the one engine (contract §4): request in, cards out.

Used unchanged by ``igwatch hook REQUEST.json`` (offline) and by the service. patient-view
returns the critical and warning recommendations as cards plus one info card summarising the
rest, never more than ``max_patient_view_cards``; order-select / order-sign answer only about
the draft orders, which count as the patient's records (status draft) when the facts are derived.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from igwatch.assessment import Assessment, Recommendation
from igwatch.cdshooks.models import SUMMARY_MAX, HookRequest
from igwatch.engine import assess
from igwatch.errors import IgwatchError, InputRefused
from igwatch.fhir.ingest import build_timeline, resources_from_json
from igwatch.knowledge.catalog import knowledge
from igwatch.knowledge.profile import Profile
from igwatch.rules.orders import OrderContext, judge_orders
from igwatch.timeline import Timeline

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
    """The prefetch keys absent from the request (absent = not fetched; ``null`` = no data)."""
    sent = request.prefetch or {}
    return [key for key in PREFETCH_KEYS if key not in sent]


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
            f"prefetch {', '.join(missing)} not sent and no fhirServer to read them from"
        )
    allowed_base = None
    if allowlist is not None:
        allowed_base = allowlist.allowed_base(request.fhirServer)
        if allowed_base is None:
            raise PrefetchUnavailable(f"prefetch {', '.join(missing)} not sent and {allowlist.refusal}")
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
        for resource in resources_from_json(request.context.draftOrders):
            resources.append(resource)
            drafts[f"{resource.get('resourceType')}/{resource.get('id')}"] = resource
    patient_id = request.context.patientId
    if not any(r.get("resourceType") == "Patient" and r.get("id") == patient_id for r in resources):
        resources.append({"resourceType": "Patient", "id": patient_id})
    return resources, drafts


# --------------------------------------------------------------------------- cards


def _markdown_text(text: str) -> str:
    """FHIR strings go into markdown that EHRs render: no raw HTML from a record."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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
) -> dict[str, Any]:
    detail = _markdown_text(rec.detail)
    cited = _statements_markdown(rec.statements)
    if cited:
        detail += f"\n\n**Statements:**\n{cited}"
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


def _suggestion(label: str, actions: list[dict[str, Any]], recommended: bool = True) -> dict[str, Any]:
    return {"label": label, "uuid": str(uuid.uuid4()), "isRecommended": recommended, "actions": actions}


def _action_suggestions(rec: Recommendation) -> list[dict[str, Any]] | None:
    return [_suggestion(a["description"], [a]) for a in rec.actions] or None


def patient_view_cards(
    assessment: Assessment, profile: Profile, public_url: str | None = None
) -> list[dict[str, Any]]:
    """Critical and warning recommendations as cards, then one info card for the rest, linking
    the patient page; never more than ``max_patient_view_cards`` in all."""
    if not assessment.applicable or not assessment.recommendations:
        return []
    limit = profile.max_patient_view_cards
    urgent = [r for r in assessment.recommendations if r.priority != "info"]
    shown = urgent[: limit - 1]  # one place is kept for the summary card
    if len(urgent) == limit and len(urgent) == len(assessment.recommendations):
        shown = urgent  # nothing left to summarise: every place holds an urgent card
    cards = [_card(r, public_url, suggestions=_action_suggestions(r)) for r in shown]
    shown_ids = {r.id for r in shown}
    hidden = [r for r in assessment.recommendations if r.id not in shown_ids]
    if hidden:
        cards.append(_summary_card(assessment, hidden, public_url))
    return cards


def _summary_card(
    assessment: Assessment, hidden: list[Recommendation], public_url: str | None
) -> dict[str, Any]:
    lines = "\n".join(f"- {r.priority}: {_markdown_text(r.summary)} (`{r.id}`)" for r in hidden)
    more_urgent = sum(1 for r in hidden if r.priority != "info")
    head = f"igwatch: {len(hidden)} more recommendation(s)"
    if more_urgent:
        head += f", {more_urgent} to act on"
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": _summary(head + " — see the immunoglobulin summary"),
        "indicator": "info",
        "detail": f"{_markdown_text(assessment.bottom_line)}\n\n{lines}",
        "source": {"label": "igwatch"},
        "extension": {RECOMMENDATION_ID: SUMMARY_CARD_ID, SUMMARISED_IDS: [r.id for r in hidden]},
    }
    if public_url:
        page = f"{public_url}/patients/{assessment.patient_id}"
        card["source"]["url"] = page
        card["links"] = [{"label": "igwatch patient page", "url": page, "type": "absolute"}]
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
) -> dict[str, Any]:
    """The CDS Hooks response to a validated request whose prefetch is complete."""
    if request.hook not in HOOKS:
        raise InputRefused(f"hook {request.hook!r}: igwatch answers {', '.join(HOOKS)}")
    resources, drafts = request_resources(request)
    timeline = build_timeline(resources, patient_id=request.context.patientId)
    assessment = assess(timeline, as_of, profile, today=today)
    base = public_url.rstrip("/") if public_url else None
    if request.hook == "patient-view":
        return {"cards": patient_view_cards(assessment, profile, base)}
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
