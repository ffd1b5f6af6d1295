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


# --------------------------------------------------------------------------- real clients (contract §4)


def _nulls(value: Any, where: str = "$") -> list[str]:
    if value is None:
        return [where]
    if isinstance(value, dict):
        return [n for k, v in value.items() for n in _nulls(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [n for i, v in enumerate(value) for n in _nulls(v, f"{where}[{i}]")]
    return []


def test_cards_carry_no_nulls() -> None:
    for name, hook, drafts in (
        ("v-kcd-pml-ocrelizumab", "patient-view", []),
        ("v-r2-switch-cd19-79", "order-sign", [MMR_ORDER]),
    ):
        body, as_of = _request(name, hook, drafts)
        assert _nulls(answer(body, as_of, load_profile("default"))) == []


def test_a_draft_order_without_an_id_still_gets_its_card() -> None:
    unnamed = {k: v for k, v in MMR_ORDER.items() if k != "id"}
    card = _cards("v-r2-switch-cd19-79", "order-sign", [unnamed])["vaccine.live-avoid"]
    assert card["indicator"] == "critical"
    assert "suggestions" not in card  # a delete needs the id
    assert "sent without an id" in card["detail"]


def test_a_dstu2_draft_order_is_refused_with_one_line() -> None:
    import pytest

    from igwatch.errors import InputRefused

    order = {"resourceType": "MedicationOrder", "id": "mo-1", "status": "draft"}
    body, as_of = _request("v-r2-switch-cd19-79", "order-sign", [order])
    with pytest.raises(InputRefused, match="MedicationOrder is FHIR DSTU2; igwatch reads FHIR R4"):
        answer(body, as_of, load_profile("default"))


EVIL = "Pneumonia [click](javascript:alert(1)) ![x](https://evil.example/x.png) <b>bold</b> **loud**"


def test_record_text_cannot_add_links_images_html_or_emphasis_to_a_card() -> None:
    body, as_of = _request("v-kcd-pml-ocrelizumab", "patient-view")
    for entry in body["prefetch"]["conditions"]["entry"]:
        entry["resource"]["code"]["text"] = EVIL
        for coding in entry["resource"]["code"].get("coding", []):
            coding["display"] = EVIL
    cards = answer(body, as_of, load_profile("default"))["cards"]
    details = " ".join(card["detail"] for card in cards)
    assert "alert(1)" in details  # the text is kept, made inert
    for live in ("[click](", "![x](", "<b>", "**loud**"):
        assert live not in details, live
    assert "\\[click\\]" in details and "&lt;b&gt;" in details


def test_a_suggestion_label_from_a_record_is_inert() -> None:
    order = {
        **MMR_ORDER,
        "medicationCodeableConcept": {**MMR_ORDER["medicationCodeableConcept"], "text": EVIL},
    }
    order["medicationCodeableConcept"]["coding"] = [
        {**MMR_ORDER["medicationCodeableConcept"]["coding"][0], "display": EVIL}
    ]
    card = _cards("v-r2-switch-cd19-79", "order-sign", [order])["vaccine.live-avoid"]
    label = card["suggestions"][0]["label"]
    assert "[click](" not in label and "<b>" not in label


def test_an_unusable_igm_is_shown_on_the_cards() -> None:
    body, as_of = _request("v-r2-switch-cd19-79", "patient-view")
    unusable = {
        "resourceType": "Observation",
        "id": "igm-bad-unit",
        "status": "final",
        "subject": {"reference": f"Patient/{body['context']['patientId']}"},
        "code": {"coding": [{"system": "http://loinc.org", "code": "2472-9"}]},
        "effectiveDateTime": "2026-10-01",
        "valueQuantity": {"value": 20, "unit": "furlongs"},
    }
    body["prefetch"]["observations"]["entry"].append({"resource": unusable})
    cards = answer(body, as_of, load_profile("default"))["cards"]
    urgent = [c for c in cards if c["extension"][RECOMMENDATION_ID] != "summary"]
    summary = [c for c in cards if c["extension"][RECOMMENDATION_ID] == "summary"]
    assert urgent and summary
    for card in urgent:  # the panel card must not read as if the IgM simply was not measured
        assert "Observation/igm-bad-unit" in card["detail"] and "furlongs" in card["detail"]
    assert "**Data issues:** 1 record(s) not used" in summary[0]["detail"]


def test_the_dose_card_words_the_computed_dose_once() -> None:
    """'computed 28 g' in the text and '30 g (computed dose)' in the suggestion read as two doses."""
    body = json.loads((Path(__file__).parent / "requests" / "order-sign-ivig-dose-too-high.json").read_text())
    cards = answer(body, date(2026, 10, 15), load_profile("default"))["cards"]
    card = next(c for c in cards if c["extension"][RECOMMENDATION_ID] == "igrt.order-dose")
    assert "computed 28 g (30 g rounded)" in card["detail"]
    assert (
        card["suggestions"][0]["label"] == "Change the order to 30 g every 28 days (computed 28 g, rounded)"
    )


# --------------------------------------------------------------------------- the same, against the real server


def _post(cds_server: str, service: str, body: dict[str, Any]) -> Any:
    import httpx

    return httpx.post(f"{cds_server}/cds-services/{service}", json=body, timeout=30)


def test_real_server_refuses_a_dstu2_draft_with_422(cds_server: str) -> None:
    body, _ = _request(
        "v-r2-switch-cd19-79", "order-sign", [{"resourceType": "MedicationOrder", "id": "mo-1"}]
    )
    response = _post(cds_server, "igwatch-order-sign", body)
    assert response.status_code == 422
    diagnostics = response.json()["issue"][0]["diagnostics"]
    assert "igwatch reads FHIR R4" in diagnostics and "\n" not in diagnostics


def test_real_server_answers_a_draft_without_an_id(cds_server: str) -> None:
    unnamed = {k: v for k, v in MMR_ORDER.items() if k != "id"}
    body, _ = _request("v-r2-switch-cd19-79", "order-sign", [unnamed])
    response = _post(cds_server, "igwatch-order-sign", body)
    assert response.status_code == 200
    cards = {c["extension"][RECOMMENDATION_ID]: c for c in response.json()["cards"]}
    assert "suggestions" not in cards["vaccine.live-avoid"] and _nulls(response.json()) == []


def test_real_server_makes_record_text_inert(cds_server: str) -> None:
    body, _ = _request("v-kcd-pml-ocrelizumab", "patient-view")
    for entry in body["prefetch"]["conditions"]["entry"]:
        entry["resource"]["code"]["text"] = EVIL
        for coding in entry["resource"]["code"].get("coding", []):
            coding["display"] = EVIL
    response = _post(cds_server, "igwatch-patient-view", body)
    assert response.status_code == 200
    details = " ".join(card["detail"] for card in response.json()["cards"])
    assert "[click](" not in details and "<b>" not in details and "alert(1)" in details


def test_real_server_discovery_has_no_nulls(cds_server: str) -> None:
    import httpx

    discovery = httpx.get(f"{cds_server}/cds-services", timeout=30).json()
    assert _nulls(discovery) == [] and len(discovery["services"]) == 3
