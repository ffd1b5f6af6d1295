"""The patient-view summary card links igwatch's SMART app when igwatch is registered with the
calling EHR, and nothing when it is not; the EHR launching that link shows the same patient."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from igwatch.cdshooks.cards import RECOMMENDATION_ID, SUMMARY_CARD_ID
from igwatch.cdshooks.fhir_fallback import PREFETCH_TEMPLATES
from tests.smart.conftest import EXAMPLE, Igwatch, bundle_of, expected_ids, patient_id_of, sign_in_at_ehr
from tests.support.smart_sandbox import SmartSandbox

BUNDLE = bundle_of(EXAMPLE)
PATIENT_ID = patient_id_of(BUNDLE)
#: Each search key of the prefetch templates and the resource type it returns.
PREFETCH_TYPES = {
    key: template.split("?")[0] for key, template in PREFETCH_TEMPLATES.items() if "?" in template
}


def prefetch_of(bundle: dict[str, Any]) -> dict[str, Any]:
    resources = [e["resource"] for e in bundle["entry"]]
    prefetch: dict[str, Any] = {"patient": next(r for r in resources if r["resourceType"] == "Patient")}
    for key, rtype in PREFETCH_TYPES.items():
        entries = [{"resource": r} for r in resources if r["resourceType"] == rtype]
        prefetch[key] = {"resourceType": "Bundle", "type": "searchset", "entry": entries}
    return prefetch


def patient_view(igwatch: Igwatch, fhir_server: str, **extra: Any) -> list[dict[str, Any]]:
    request = {
        "hookInstance": str(uuid.uuid4()),
        "hook": "patient-view",
        "fhirServer": fhir_server,
        "context": {"userId": "Practitioner/drsmith", "patientId": PATIENT_ID},
        **extra,
    }
    response = httpx.post(f"{igwatch.base_url}/cds-services/igwatch-patient-view", json=request, timeout=30)
    assert response.status_code == 200, response.text
    cards: list[dict[str, Any]] = response.json()["cards"]
    return cards


def summary_card(cards: list[dict[str, Any]]) -> dict[str, Any]:
    return next(c for c in cards if c["extension"][RECOMMENDATION_ID] == SUMMARY_CARD_ID)


def test_the_summary_card_carries_a_smart_link_for_a_registered_ehr(
    sandbox: SmartSandbox, igwatch: Igwatch
) -> None:
    # No prefetch: the service reads the record from the sandbox's FHIR server with the EHR's token.
    cards = patient_view(
        igwatch,
        sandbox.fhir_base,
        fhirAuthorization={
            "access_token": sandbox.admin_token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "igwatch",
        },
    )
    links = summary_card(cards)["links"]
    assert len(links) == 1
    link = links[0]
    assert link["type"] == "smart"
    assert link["url"] == f"{igwatch.base_url}/smart/launch"
    assert json.loads(link["appContext"]) == {"recommendations": expected_ids(BUNDLE)}


def test_no_link_for_an_ehr_igwatch_is_not_registered_with(igwatch: Igwatch) -> None:
    cards = patient_view(igwatch, "http://127.0.0.1:9/fhir", prefetch=prefetch_of(BUNDLE))
    card = summary_card(cards)
    assert "links" not in card
    assert "url" not in card["source"]


@pytest.mark.browser
@pytest.mark.timeout(300)
def test_the_ehr_launches_the_card_link(page: Any, sandbox: SmartSandbox, igwatch: Igwatch) -> None:
    cards = patient_view(igwatch, sandbox.fhir_base, prefetch=prefetch_of(BUNDLE))
    link = summary_card(cards)["links"][0]
    page.goto(sandbox.ehr_launch_url(link["url"], PATIENT_ID))
    sign_in_at_ehr(page)
    shown = page.locator("article.card[data-rec-id]").evaluate_all("els => els.map(e => e.dataset.recId)")
    assert shown == json.loads(link["appContext"])["recommendations"]
