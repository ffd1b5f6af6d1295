"""CDS Hooks 2.0.1 answers from the one engine (contract §4): request in, cards out.

Used unchanged by ``igwatch hook REQUEST.json`` (offline) and by the service. patient-view
returns the critical and warning recommendations as cards plus one info card summarising the
rest, never more than ``max_patient_view_cards``; order-select / order-sign answer only about
the draft orders, which count as the patient's records (status draft) when the facts are derived.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from igwatch.assessment import Assessment, Recommendation
from igwatch.engine import assess
from igwatch.errors import InputRefused
from igwatch.fhir.ingest import build_timeline, resources_from_json
from igwatch.knowledge.catalog import knowledge
from igwatch.knowledge.profile import Profile
from igwatch.timeline import Timeline

RECOMMENDATION_ID = "org.igwatch.recommendation-id"
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
OVERRIDE_REASONS = [
    {
        "code": "not-applicable",
        "system": "https://igwatch.dev/fhir/CodeSystem/override-reason",
        "display": "Does not apply to this patient",
    },
    {
        "code": "already-addressed",
        "system": "https://igwatch.dev/fhir/CodeSystem/override-reason",
        "display": "Already addressed",
    },
    {
        "code": "clinical-judgement",
        "system": "https://igwatch.dev/fhir/CodeSystem/override-reason",
        "display": "Clinical judgement: benefit outweighs risk",
    },
]


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputRefused(f"{where}: expected a JSON object")
    return value


def request_resources(request: dict[str, Any]) -> tuple[list[dict[str, Any]], set[str]]:
    """The patient's resources from the prefetch, plus the draft orders (and their ``Type/id`` keys)."""
    prefetch = request.get("prefetch") or {}
    context = _object(request.get("context") or {}, "context")
    resources: list[dict[str, Any]] = []
    for key in PREFETCH_KEYS:
        value = prefetch.get(key) if isinstance(prefetch, dict) else None
        if isinstance(value, dict):  # null means the EHR has no such data
            resources.extend(resources_from_json(value))
    drafts: set[str] = set()
    draft_orders = context.get("draftOrders")
    if isinstance(draft_orders, dict):
        for resource in resources_from_json(draft_orders):
            resources.append(resource)
            drafts.add(f"{resource.get('resourceType')}/{resource.get('id')}")
    patient_id = context.get("patientId")
    if isinstance(patient_id, str) and not any(
        r.get("resourceType") == "Patient" and r.get("id") == patient_id for r in resources
    ):
        resources.append({"resourceType": "Patient", "id": patient_id})
    return resources, drafts


def _card(
    rec: Recommendation,
    *,
    indicator: str | None = None,
    summary: str | None = None,
    suggestions: list[dict[str, Any]] | None = None,
    link: str | None = None,
) -> dict[str, Any]:
    statements = knowledge().statements
    cited = "\n".join(
        f"- **{s}** ({statements[s].document} [{statements[s].citation_label}]): {statements[s].summary}"
        for s in rec.statements
        if s in statements
    )
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": (summary or rec.summary)[:139],
        "indicator": indicator or rec.priority,
        "detail": f"{rec.detail}\n\n**Statements:**\n{cited}",
        "source": {"label": "igwatch: " + ", ".join(rec.statements[:3])},
        "overrideReasons": OVERRIDE_REASONS,
        "extension": {RECOMMENDATION_ID: rec.id},
    }
    if suggestions:
        card["suggestions"] = suggestions
        card["selectionBehavior"] = "at-most-one"
    if link:
        card["links"] = [{"label": "igwatch patient page", "url": link, "type": "absolute"}]
    return card


def _suggestion(label: str, actions: list[dict[str, Any]]) -> dict[str, Any]:
    return {"label": label, "uuid": str(uuid.uuid4()), "actions": actions}


def patient_view_cards(
    assessment: Assessment, profile: Profile, link: str | None = None
) -> list[dict[str, Any]]:
    urgent = [r for r in assessment.recommendations if r.priority != "info"]
    rest = [r for r in assessment.recommendations if r.priority == "info"]
    limit = profile.max_patient_view_cards
    cards = [
        _card(r, suggestions=[_suggestion(a["description"], [a]) for a in r.actions] or None)
        for r in urgent[: limit - 1 if rest else limit]
    ]
    hidden = rest + urgent[len(cards) :]
    if hidden:
        lines = "\n".join(f"- {r.summary} (`{r.id}`)" for r in hidden)
        cards.append(
            {
                "uuid": str(uuid.uuid4()),
                "summary": f"igwatch: {len(hidden)} more recommendation(s) for this patient"[:139],
                "indicator": "info",
                "detail": f"{assessment.bottom_line}\n\n{lines}",
                "source": {"label": "igwatch"},
                "extension": {RECOMMENDATION_ID: "summary"},
                **(
                    {"links": [{"label": "igwatch patient page", "url": link, "type": "absolute"}]}
                    if link
                    else {}
                ),
            }
        )
    return cards


def order_cards(assessment: Assessment, timeline: Timeline, drafts: set[str]) -> list[dict[str, Any]]:
    """Cards about the draft orders only."""
    cards: list[dict[str, Any]] = []
    live_orders = [v for v in timeline.vaccinations if v.id in drafts and v.live]
    live = assessment.recommendation("vaccine.live-avoid")
    if live_orders and live is not None:
        starting_only = {r.code for r in live.reasons} <= {"starting"}
        for order in live_orders:
            cards.append(
                _card(
                    live,
                    indicator="warning" if starting_only else "critical",
                    summary=knowledge()
                    .entry("vaccine.live-avoid")
                    .summary_for("order-starting" if starting_only else "order"),
                    suggestions=[
                        _suggestion(
                            f"Remove the order for {order.display or 'the live vaccine'}",
                            [
                                {
                                    "type": "delete",
                                    "description": "Remove the live vaccine order",
                                    "resourceId": order.id,
                                }
                            ],
                        )
                    ],
                )
            )
    ofatumumab_orders = [m for m in timeline.medications if m.id in drafts and m.agent == "ofatumumab"]
    if ofatumumab_orders:
        for rec_id in ("kesimpta.delay-dose", "monitor.ig-baseline"):
            rec = assessment.recommendation(rec_id)
            if rec is not None:
                cards.append(
                    _card(rec, suggestions=[_suggestion(a["description"], [a]) for a in rec.actions] or None)
                )
    if any(s.id in drafts for s in timeline.serology):
        for rec_id in ("serology.false-negative-risk", "serology.passive-antibodies"):
            rec = assessment.recommendation(rec_id)
            if rec is not None:
                cards.append(_card(rec))
    return cards


def answer(
    request: dict[str, Any], as_of: date, profile: Profile, today: date | None = None, link: str | None = None
) -> dict[str, Any]:
    """The CDS Hooks response (``{"cards": [...]}``) to one request."""
    request = _object(request, "request")
    hook = request.get("hook")
    if hook not in HOOKS:
        raise InputRefused(f"hook {hook!r}: igwatch answers {', '.join(HOOKS)}")
    context = _object(request.get("context") or {}, "context")
    resources, drafts = request_resources(request)
    patient_id = context.get("patientId") if isinstance(context.get("patientId"), str) else None
    timeline = build_timeline(resources, patient_id=patient_id)
    assessment = assess(timeline, as_of, profile, today=today)
    if hook == "patient-view":
        return {"cards": patient_view_cards(assessment, profile, link)}
    return {"cards": order_cards(assessment, timeline, drafts)}
