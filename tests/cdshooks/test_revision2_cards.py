"""Clinical spec revision 2 in the CDS Hooks cards: the same engine answers every door, so the
order hooks and patient-view agree with `igwatch assess` on switching, every agent and the class
note. Requests are built from the project's vignette bundles."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

from igwatch.cdshooks.cards import PREFETCH_KEYS, RECOMMENDATION_ID, answer
from igwatch.fhir.ingest import FULL_URL_KEY, resources_from_json
from igwatch.knowledge.profile import load_profile

CASES = Path(__file__).parents[1] / "vignettes" / "cases"
PREFETCH_OF = {
    "Observation": "observations",
    "Condition": "conditions",
    "MedicationStatement": "medicationStatements",
    "MedicationRequest": "medicationRequests",
    "MedicationAdministration": "medicationAdministrations",
    "Immunization": "immunizations",
    "Encounter": "encounters",
    "Medication": "medications",
}
MMR_ORDER = {
    "resourceType": "MedicationRequest",
    "id": "mmr-order",
    "status": "draft",
    "intent": "order",
    "medicationCodeableConcept": {
        "coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "03", "display": "MMR"}],
        "text": "MMR vaccine, live",
    },
}


def _request(case_name: str, hook: str, drafts: list[dict[str, Any]] = ()) -> tuple[dict[str, Any], date]:  # type: ignore[assignment]
    case = json.loads((CASES / f"{case_name}.json").read_text())
    by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
    patient: dict[str, Any] = {}
    for resource in resources_from_json(case["bundle"]):
        resource.pop(FULL_URL_KEY, None)
        if resource["resourceType"] == "Patient":
            patient = resource
        else:
            by_key[PREFETCH_OF[resource["resourceType"]]].append(resource)
    prefetch: dict[str, Any] = dict.fromkeys(PREFETCH_KEYS)
    prefetch["patient"] = patient
    for key, resources in by_key.items():
        prefetch[key] = {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [{"resource": r} for r in resources],
        }
    context: dict[str, Any] = {"userId": "Practitioner/1", "patientId": patient["id"]}
    if hook != "patient-view":
        orders = [{**d, "subject": {"reference": f"Patient/{patient['id']}"}} for d in drafts]
        context["draftOrders"] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": r} for r in orders],
        }
    body = {"hookInstance": "r2", "hook": hook, "context": context, "prefetch": prefetch}
    return body, date.fromisoformat(case["as_of"])


def _cards(case_name: str, hook: str, drafts: list[dict[str, Any]] = ()) -> dict[str, dict[str, Any]]:  # type: ignore[assignment]
    body, as_of = _request(case_name, hook, drafts)
    cards = answer(body, as_of, load_profile("default"))["cards"]
    return {card["extension"][RECOMMENDATION_ID]: card for card in cards}


def test_a_live_vaccine_order_while_switching_agents_is_critical() -> None:
    card = _cards("v-r2-switch-cd19-79", "order-sign", [MMR_ORDER])["vaccine.live-avoid"]
    assert card["indicator"] == "critical"


def test_a_live_vaccine_order_before_a_first_agent_is_a_warning() -> None:
    card = _cards("v-r2-live-vaccine-28-days-before-first-dose", "order-sign", [MMR_ORDER])[
        "vaccine.live-avoid"
    ]
    assert card["indicator"] == "warning"


def test_pml_on_ocrelizumab_gets_a_critical_card_with_the_class_note() -> None:
    card = _cards("v-kcd-pml-ocrelizumab", "patient-view")["anti-cd20.consider-discontinuation"]
    assert card["indicator"] == "critical"
    assert card["summary"].startswith("Consider discontinuing ocrelizumab")
    assert "Guide K is written for ofatumumab" in card["detail"] and "ocrelizumab" in card["detail"]


def test_the_deceased_get_no_cards() -> None:
    assert _cards("v-r2-deceased-boolean", "patient-view") == {}
