"""The CDS Hooks service against a real uvicorn server on loopback (contract §4).

Every response body a test reads is validated against the pydantic models of the CDS Hooks
objects (:mod:`igwatch.cdshooks.models`).
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from igwatch.cdshooks.cards import PREFETCH_KEYS, RECOMMENDATION_ID, SUMMARISED_IDS
from igwatch.cdshooks.models import CdsResponse, Discovery, FeedbackResponse, OperationOutcome
from igwatch.cli import app as cli
from igwatch.knowledge.profile import load_profile
from tests.cdshooks.conftest import AS_OF
from tests.support.servers import dev_settings, start_server

REQUESTS = Path(__file__).parent / "requests"
SHARED_P07 = Path(__file__).parents[1] / "vignettes" / "shared" / "p07-hook-live-zoster.json"
SERVICES = {
    "igwatch-patient-view": "patient-view",
    "igwatch-order-select": "order-select",
    "igwatch-order-sign": "order-sign",
}

# request file -> the cards expected: (recommendation id, indicator, suggestion action types)
ORDER_CASES: dict[str, list[tuple[str, str, list[str]]]] = {
    "order-select-live-mmr-by-cvx": [("vaccine.live-avoid", "critical", ["delete"])],
    "order-sign-live-varicella-by-name": [("vaccine.live-avoid", "critical", ["delete"])],
    "order-sign-live-zoster-while-starting": [("vaccine.live-avoid", "warning", ["delete"])],
    "order-sign-ofatumumab-active-infection": [("anti-cd20.delay-dose", "warning", [])],
    "order-select-ofatumumab-first-without-baseline": [("monitor.ig-baseline", "warning", ["create"])],
    "order-sign-viral-serology": [("serology.false-negative-risk", "info", [])],
    "order-sign-ivig-dose-too-high": [("igrt.order-dose", "warning", ["update"])],
    "order-sign-ivig-dose-too-low": [("igrt.order-dose", "warning", ["update"])],
    "order-sign-ivig-dose-computed": [],
    "order-sign-scig-weekly-computed": [],
    "order-sign-scig-weekly-too-high": [("igrt.order-dose", "warning", ["update"])],
    "order-sign-ivig-without-weight": [("igrt.order-dose", "info", [])],
    "order-sign-ivig-without-indication": [("igrt.order-indication", "warning", [])],
    "order-sign-unrelated-order": [],
}


def load_request(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((REQUESTS / f"{name}.json").read_text(encoding="utf-8"))
    return data


def p07_request() -> dict[str, Any]:
    request: dict[str, Any] = json.loads(SHARED_P07.read_text(encoding="utf-8"))["hook_request"]
    return request


def call(base_url: str, service: str, body: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(
        f"{base_url}/cds-services/{service}",
        content=content,
        headers={"content-type": "application/json"},
        timeout=30,
    )


def cards_of(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    CdsResponse.model_validate(response.json())
    cards: list[dict[str, Any]] = response.json()["cards"]
    return cards


def assert_outcome(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert "Traceback" not in response.text
    outcome = OperationOutcome.model_validate(response.json())
    diagnostics = outcome.issue[0].diagnostics
    assert "\n" not in diagnostics and diagnostics
    return diagnostics


def assert_card_to_the_letter(card: dict[str, Any], base_url: str) -> None:
    assert 0 < len(card["summary"]) < 140
    assert card["indicator"] in ("info", "warning", "critical")
    assert card["uuid"]
    assert card["source"]["label"]
    rec_id = card["extension"][RECOMMENDATION_ID]
    if rec_id == "summary":
        return
    statement = card["source"]["url"].rsplit("/", 1)[1]
    assert card["source"]["url"] == f"{base_url}/knowledge/statements/{statement}"
    assert f"**{statement}**" in card["detail"]
    assert "**Statements:**" in card["detail"]
    assert [r["code"] for r in card["overrideReasons"]]
    assert card["links"] == [
        {
            "label": "igwatch: this recommendation and its sources",
            "url": f"{base_url}/knowledge/recommendations/{rec_id}",
            "type": "absolute",
        }
    ]
    if card.get("suggestions"):
        assert card["selectionBehavior"] in ("at-most-one", "any")
        assert all(s["uuid"] and s["actions"] for s in card["suggestions"])


# --------------------------------------------------------------------------- discovery


def test_discovery_lists_the_three_services_with_their_prefetch(cds_server: str) -> None:
    response = httpx.get(f"{cds_server}/cds-services", timeout=10)
    assert response.status_code == 200
    discovery = Discovery.model_validate(response.json())
    assert {s.id: s.hook for s in discovery.services} == SERVICES
    for service in discovery.services:
        assert service.prefetch is not None
        assert set(service.prefetch) == set(PREFETCH_KEYS)
        assert all("{{context.patientId}}" in query for query in service.prefetch.values())


def test_openapi_documents_every_status(cds_server: str) -> None:
    spec = httpx.get(f"{cds_server}/openapi.json", timeout=10).json()
    for service, hook_name in SERVICES.items():
        hook = spec["paths"][f"/cds-services/{service}"]["post"]
        assert {"200", "400", "401", "412", "422"} <= set(hook["responses"])
        body = hook["requestBody"]["content"]["application/json"]["schema"]
        assert hook["requestBody"]["required"] is True
        assert body["properties"]["hook"]["enum"] == [hook_name]
        assert set(body["required"]) == {"hook", "hookInstance", "context"}
        feedback = spec["paths"][f"/cds-services/{service}/feedback"]["post"]
        assert {"200", "400", "401", "422"} <= set(feedback["responses"])
    assert "401" in spec["paths"]["/cds-services"]["get"]["responses"]
    assert "securitySchemes" not in spec.get("components", {})  # this server is in dev mode


# --------------------------------------------------------------------------- hooks


def test_shared_vignette_p07_live_zoster_order_is_critical(cds_server: str) -> None:
    cards = cards_of(call(cds_server, "igwatch-order-sign", p07_request()))
    assert [c["extension"][RECOMMENDATION_ID] for c in cards] == ["vaccine.live-avoid"]
    card = cards[0]
    assert card["indicator"] == "critical"
    assert card["selectionBehavior"] == "at-most-one"
    action = card["suggestions"][0]["actions"][0]
    assert action == {
        "type": "delete",
        "description": action["description"],
        "resourceId": "MedicationRequest/zos-1",
    }
    assert card["source"]["url"] == f"{cds_server}/knowledge/statements/K-14"
    assert_card_to_the_letter(card, cds_server)
    # The statement and recommendation pages the card links to are served by the same server.
    for url in (card["source"]["url"], card["links"][0]["url"]):
        assert httpx.get(url, timeout=30).status_code == 200, url


def test_shared_vignette_p07_as_order_select(cds_server: str) -> None:
    request = p07_request() | {"hook": "order-select"}
    request["context"] = request["context"] | {"selections": ["MedicationRequest/zos-1"]}
    cards = cards_of(call(cds_server, "igwatch-order-select", request))
    assert [(c["extension"][RECOMMENDATION_ID], c["indicator"]) for c in cards] == [
        ("vaccine.live-avoid", "critical")
    ]


def test_shared_vignette_p07_patient_view(cds_server: str) -> None:
    request = p07_request() | {"hook": "patient-view"}
    request["context"] = {k: v for k, v in request["context"].items() if k != "draftOrders"}
    cards = cards_of(call(cds_server, "igwatch-patient-view", request))
    assert 1 <= len(cards) <= load_profile("default").max_patient_view_cards
    summary = cards[-1]
    assert summary["indicator"] == "info"
    assert summary["extension"][RECOMMENDATION_ID] == "summary"
    page = f"{cds_server}/patients/pat-p07-hook-live-zoster"
    assert summary["links"] == [{"label": "igwatch patient page", "url": page, "type": "absolute"}]
    # patient-view is about the patient, not the draft order: the live-vaccine advice is info.
    assert "vaccine.live-avoid" in summary["extension"][SUMMARISED_IDS]
    for card in cards:
        assert_card_to_the_letter(card, cds_server)


@pytest.mark.parametrize("name", sorted(ORDER_CASES))
def test_order_cases(cds_server: str, name: str) -> None:
    request = load_request(name)
    service = f"igwatch-{request['hook']}"
    cards = cards_of(call(cds_server, service, request))
    got = [
        (
            c["extension"][RECOMMENDATION_ID],
            c["indicator"],
            [a["type"] for s in c.get("suggestions", []) for a in s["actions"]],
        )
        for c in cards
    ]
    assert got == ORDER_CASES[name]
    for card in cards:
        assert_card_to_the_letter(card, cds_server)


def test_ivig_dose_card_gives_values_and_the_computed_dose(cds_server: str) -> None:
    card = cards_of(call(cds_server, "igwatch-order-sign", load_request("order-sign-ivig-dose-too-high")))[0]
    assert "ordered immune globulin intravenous (human) 10% (IVIG) 50 g every 28 days" in card["detail"]
    assert "computed 28 g" in card["detail"]
    assert "weight 70 kg on 2026-09-20" in card["detail"]
    assert "tolerance 10%" in card["detail"]
    update = card["suggestions"][0]["actions"][0]
    dose = update["resource"]["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
    assert dose["value"] == 30  # 28 g exact, rounded to the 5 g vial (within 10%)
    assert update["resource"]["id"] == "ivig-order"


def test_dose_tolerance_comes_from_the_profile(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text("order_dose_tolerance_pct = 100\n", encoding="utf-8")
    settings = dev_settings(tmp_path, as_of=AS_OF, profile=load_profile(str(site)))
    with start_server(settings) as base_url:
        cards = cards_of(call(base_url, "igwatch-order-sign", load_request("order-sign-ivig-dose-too-high")))
    assert cards == []


def test_order_select_judges_only_the_selected_orders(cds_server: str) -> None:
    request = load_request("order-select-live-mmr-by-cvx")
    request["context"]["draftOrders"]["entry"].append(
        {
            "resource": load_request("order-sign-viral-serology")["context"]["draftOrders"]["entry"][0][
                "resource"
            ]
            | {"subject": {"reference": "Patient/k1"}}
        }
    )
    request["context"]["selections"] = ["ServiceRequest/hbsab"]
    cards = cards_of(call(cds_server, "igwatch-order-select", request))
    assert [c["extension"][RECOMMENDATION_ID] for c in cards] == ["serology.false-negative-risk"]
    request["context"]["selections"] = ["MedicationRequest/mmr", "ServiceRequest/hbsab"]
    cards = cards_of(call(cds_server, "igwatch-order-select", request))
    assert [c["extension"][RECOMMENDATION_ID] for c in cards] == [
        "vaccine.live-avoid",
        "serology.false-negative-risk",
    ]


def test_order_hooks_answer_only_about_draft_orders(cds_server: str) -> None:
    # The patient of the live-vaccine case has plenty of patient-level advice; none shows here.
    request = load_request("order-select-live-mmr-by-cvx")
    request["context"]["draftOrders"]["entry"] = []
    assert cards_of(call(cds_server, "igwatch-order-select", request)) == []


def test_prefetch_present_is_used_without_a_fhir_server(cds_server: str) -> None:
    request = load_request("order-sign-ofatumumab-active-infection")
    assert "fhirServer" not in request
    assert cards_of(call(cds_server, "igwatch-order-sign", request))


# --------------------------------------------------------------------------- alert fatigue


def test_patient_view_caps_the_cards(cds_server: str) -> None:
    cards = cards_of(call(cds_server, "igwatch-patient-view", load_request("patient-view-many-urgent")))
    limit = load_profile("default").max_patient_view_cards
    assert len(cards) == limit
    assert [c["indicator"] for c in cards[:-1]] == ["warning"] * (limit - 1)
    summary = cards[-1]
    assert summary["indicator"] == "info"
    hidden = summary["extension"][SUMMARISED_IDS]
    assert any(rec_id in hidden for rec_id in ("vaccine.live-avoid", "monitor.ig-due"))
    assert "education.infection-warning-signs" in hidden
    # k4 is not in igwatch's store: no link to a page that would be a 404 (contract §4)
    assert "links" not in summary and "url" not in summary["source"]
    assert "to act on" in summary["summary"]


def test_patient_view_cap_follows_the_profile(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text("max_patient_view_cards = 2\n", encoding="utf-8")
    settings = dev_settings(tmp_path, as_of=AS_OF, profile=load_profile(str(site)))
    with start_server(settings) as base_url:
        cards = cards_of(call(base_url, "igwatch-patient-view", load_request("patient-view-many-urgent")))
    assert [c["indicator"] for c in cards] == ["warning", "info"]
    assert cards[-1]["extension"][RECOMMENDATION_ID] == "summary"


# --------------------------------------------------------------------------- bad requests


def test_unknown_service_is_404(cds_server: str) -> None:
    assert_outcome(call(cds_server, "igwatch-nothing", p07_request()), 404)


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"", 400, "not valid JSON"),
        (b"\xff\xfe", 400, "not valid JSON"),
        (b"[1, 2]", 400, "expected a JSON object"),
        (b'{"hook": "order-sign"}', 422, "hookInstance"),
        (b'{"hook": "order-sign", "hookInstance": "x", "context": {}}', 422, "context.patientId"),
        (b'{"hook": "order-sign", "hookInstance": "x", "context": {"patientId": 7}}', 422, "patientId"),
        (
            b'{"hook": "patient-view", "hookInstance": "x", "context": {"patientId": "p"}}',
            400,
            "patient-view",
        ),
    ],
)
def test_bad_requests_get_a_one_line_operation_outcome(
    cds_server: str, body: bytes, status: int, says: str
) -> None:
    diagnostics = assert_outcome(call(cds_server, "igwatch-order-sign", body), status)
    assert says in diagnostics


def test_bad_fhir_in_prefetch_is_422_not_500(cds_server: str) -> None:
    request = p07_request()
    request["prefetch"]["observations"] = {"resourceType": "Bundle", "entry": "not a list"}
    request["prefetch"]["patient"] = {"resourceType": "Patient", "id": "another-patient"}
    response = call(cds_server, "igwatch-order-sign", request)
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert_outcome(response, 422)


def test_missing_prefetch_without_fhir_server_is_412(cds_server: str) -> None:
    request = p07_request()
    del request["prefetch"]["observations"]
    diagnostics = assert_outcome(call(cds_server, "igwatch-order-sign", request), 412)
    assert "observations" in diagnostics and "fhirServer" in diagnostics


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_unreachable_fhir_server_is_412_within_the_timeout(cds_server: str) -> None:
    request = p07_request()
    del request["prefetch"]["conditions"]
    request["fhirServer"] = f"http://127.0.0.1:{_closed_port()}/fhir"
    request["fhirAuthorization"] = {
        "access_token": "opaque",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "igwatch",
    }
    started = time.monotonic()
    response = call(cds_server, "igwatch-order-sign", request)
    elapsed = time.monotonic() - started
    assert_outcome(response, 412)
    assert elapsed < 2.0 + 1.0  # the server's fhir_timeout_s, and a margin
    assert "opaque" not in response.text


def test_silent_fhir_server_is_412_within_the_timeout(cds_server: str) -> None:
    # A loopback socket that accepts connections and never answers: the fallback must give up
    # after the server's fhir_timeout_s (2 s here), not hang the EHR.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        request = p07_request()
        del request["prefetch"]["encounters"]
        request["fhirServer"] = f"http://127.0.0.1:{silent.getsockname()[1]}/fhir"
        started = time.monotonic()
        response = call(cds_server, "igwatch-order-sign", request)
        elapsed = time.monotonic() - started
    assert_outcome(response, 412)
    assert 1.0 < elapsed < 2.0 + 1.5


def test_null_prefetch_means_no_data_not_missing(cds_server: str) -> None:
    request = p07_request()
    request["prefetch"] = dict.fromkeys(PREFETCH_KEYS) | {"patient": request["prefetch"]["patient"]}
    response = call(cds_server, "igwatch-order-sign", request)
    assert response.status_code == 200
    CdsResponse.model_validate(response.json())


# --------------------------------------------------------------------------- feedback


def test_feedback_is_stored_once(cds_server: str) -> None:
    body = {
        "feedback": [
            {
                "card": "0d5e6f7a-8b9c-4d0e-9f1a-2b3c4d5e6f70",
                "outcome": "overridden",
                "overrideReason": {
                    "reason": {
                        "code": "clinical-judgement",
                        "system": "https://igwatch.dev/fhir/CodeSystem/override-reason",
                    },
                    "userComment": "travel vaccine discussed with neurology",
                },
                "outcomeTimestamp": "2026-10-15T10:00:00Z",
            },
            {
                "card": "1d5e6f7a-8b9c-4d0e-9f1a-2b3c4d5e6f71",
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": "2d5e6f7a-8b9c-4d0e-9f1a-2b3c4d5e6f72"}],
                "outcomeTimestamp": "2026-10-15T10:01:00Z",
            },
        ]
    }
    url = f"{cds_server}/cds-services/igwatch-order-sign/feedback"
    first = httpx.post(url, json=body, timeout=10)
    second = httpx.post(url, json=body, timeout=10)
    assert first.status_code == 200, first.text
    assert FeedbackResponse.model_validate(first.json()) == FeedbackResponse(
        received=2, stored=2, duplicates=0
    )
    assert FeedbackResponse.model_validate(second.json()) == FeedbackResponse(
        received=2, stored=0, duplicates=2
    )


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"nope", 400),
        (b'{"feedback": []}', 422),
        (b'{"feedback": [{"card": "c", "outcome": "maybe", "outcomeTimestamp": "t"}]}', 422),
    ],
)
def test_bad_feedback(cds_server: str, body: bytes, status: int) -> None:
    response = httpx.post(
        f"{cds_server}/cds-services/igwatch-order-sign/feedback",
        content=body,
        headers={"content-type": "application/json"},
        timeout=10,
    )
    assert_outcome(response, status)


def test_feedback_for_unknown_service_is_404(cds_server: str) -> None:
    response = httpx.post(f"{cds_server}/cds-services/nope/feedback", json={"feedback": []}, timeout=10)
    assert_outcome(response, 404)


# --------------------------------------------------------------------------- one code path


@pytest.mark.parametrize("name", sorted(ORDER_CASES))
def test_igwatch_hook_offline_answers_as_the_service(cds_server: str, name: str) -> None:
    request = load_request(name)
    served = cards_of(call(cds_server, f"igwatch-{request['hook']}", request))
    result = CliRunner().invoke(cli, ["hook", str(REQUESTS / f"{name}.json"), "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 0, result.stderr
    offline = json.loads(result.stdout)
    CdsResponse.model_validate(offline)

    def shape(cards: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
        return [(c["extension"][RECOMMENDATION_ID], c["indicator"], c["summary"]) for c in cards]

    assert shape(offline["cards"]) == shape(served)


def test_igwatch_hook_offline_refuses_missing_prefetch(tmp_path: Path) -> None:
    request = p07_request()
    del request["prefetch"]["immunizations"]
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request), encoding="utf-8")
    result = CliRunner().invoke(cli, ["hook", str(path), "--as-of", "2026-10-15"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "immunizations" in result.stderr
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------- tokens (wiring)


def test_token_checked_on_every_call_with_the_url_called_as_audience(tmp_path: Path) -> None:
    from tests.support.jwt_keys import es384_client, write_clients_file

    ehr = es384_client()
    clients = write_clients_file(tmp_path / "clients", [ehr])
    settings = dev_settings(tmp_path, as_of=AS_OF, insecure_dev_no_auth=False, cds_clients=clients)
    with start_server(settings) as base_url:
        url = f"{base_url}/cds-services/igwatch-order-sign"
        body = json.dumps(p07_request()).encode()
        plain = {"content-type": "application/json"}
        refused = httpx.post(url, content=body, headers=plain, timeout=30)
        assert refused.status_code == 401
        assert refused.content == b""
        assert refused.headers["www-authenticate"] == "Bearer"
        # Not even malformed JSON or an unknown service is revealed without a token.
        assert httpx.post(url, content=b"{", headers=plain, timeout=30).status_code == 401
        assert httpx.post(f"{base_url}/cds-services/nope", content=body, headers=plain).status_code == 401
        wrong_aud = {
            **plain,
            "authorization": f"Bearer {ehr.token(f'{base_url}/cds-services/igwatch-order-select')}",
        }
        assert httpx.post(url, content=body, headers=wrong_aud, timeout=30).status_code == 401
        signed = {**plain, "authorization": f"Bearer {ehr.token(url)}"}
        cards = cards_of(httpx.post(url, content=body, headers=signed, timeout=30))
        assert [c["extension"][RECOMMENDATION_ID] for c in cards] == ["vaccine.live-avoid"]
        discovery = httpx.get(
            f"{base_url}/cds-services",
            headers={"authorization": f"Bearer {ehr.token(f'{base_url}/cds-services')}"},
            timeout=30,
        )
        assert discovery.status_code == 200
        spec = httpx.get(f"{base_url}/openapi.json", timeout=30).json()
        assert spec["components"]["securitySchemes"]["cdsHooksJwt"]["scheme"] == "bearer"
        assert spec["paths"]["/cds-services/igwatch-order-sign"]["post"]["security"] == [{"cdsHooksJwt": []}]


def test_serve_refuses_to_start_without_trusted_clients() -> None:
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "--cds-clients" in result.stderr and "--insecure-dev-no-auth" in result.stderr
