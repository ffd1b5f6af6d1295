"""The FHIR fallback against a real FHIR server (Medplum's router and memory repository on Node).

The server holds two patients, loaded by transaction Bundles: the ofatumumab example enriched so
that every prefetch key has data (an inpatient Encounter, Medications reached by
``medicationReference``, a MedicationRequest and a MedicationAdministration), and a second
patient whose records must never come back. Searches are paged three entries at a time, so every
key with more than three records takes several pages.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import re
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from igwatch.cdshooks.cards import PREFETCH_KEYS, RECOMMENDATION_ID
from igwatch.cdshooks.fhir_fallback import PREFETCH_TEMPLATES, FhirUnavailable, _Fetcher, fetch_prefetch
from igwatch.engine import assess
from igwatch.fhir.ingest import build_timeline, resources_from_json
from tests.support.fhir_server import FhirTestServer, load_bundle, start_fhir_server, to_transaction
from tests.support.jwt_keys import TestClient, es384_client, write_clients_file
from tests.support.servers import dev_settings, start_server

ROOT = Path(__file__).resolve().parents[2]
AS_OF = date(2026, 10, 15)
PATIENT_ID = "example-ofatumumab-hib"
OTHER_PATIENT_ID = "pat-p02-k-two-severe-hib"
TOKEN = "test-token-3f9a"  # the server refuses any other
PAGE_SIZE = 3
TIMEOUT_S = 2.0
SEARCH_TYPES = {
    "observations": "Observation",
    "conditions": "Condition",
    "encounters": "Encounter",
    "medicationStatements": "MedicationStatement",
    "medicationRequests": "MedicationRequest",
    "medicationAdministrations": "MedicationAdministration",
    "immunizations": "Immunization",
    "medications": "Medication",
}
AUTH = {
    "access_token": TOKEN,
    "token_type": "Bearer",
    "expires_in": 300,
    "scope": "patient/*.read",
    "subject": "igwatch",
}


def _patient_bundle() -> dict[str, Any]:
    """The example patient with data under every prefetch key."""
    bundle: dict[str, Any] = json.loads((ROOT / "examples" / "ofatumumab-recurrent-hib.json").read_text())
    bundle = copy.deepcopy(bundle)
    patient_ref = {"reference": f"Patient/{PATIENT_ID}"}
    for entry in bundle["entry"]:
        if entry["resource"]["id"] == "cond-6":
            entry["resource"]["encounter"] = {"reference": "Encounter/enc-hib-2"}
    extra = [
        {
            "resourceType": "Encounter",
            "id": "enc-hib-2",
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "subject": patient_ref,
            "period": {"start": "2026-06-30", "end": "2026-07-06"},
        },
        {
            "resourceType": "Medication",
            "id": "med-amox",
            "code": {
                "coding": [
                    {
                        "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                        "code": "723",
                        "display": "amoxicillin",
                    }
                ]
            },
        },
        {
            "resourceType": "Medication",
            "id": "med-kes",
            "code": {
                "coding": [
                    {
                        "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                        "code": "712566",
                        "display": "ofatumumab",
                    }
                ],
                "text": "Kesimpta 20 MG in 0.4 ML Auto-Injector",
            },
        },
        {
            "resourceType": "MedicationRequest",
            "id": "mr-amox",
            "status": "completed",
            "intent": "order",
            "subject": patient_ref,
            "medicationReference": {"reference": "Medication/med-amox"},
            "authoredOn": "2026-06-30",
            "dispenseRequest": {"validityPeriod": {"start": "2026-06-30", "end": "2026-07-09"}},
            "reasonReference": [{"reference": "Condition/cond-6"}],
        },
        {
            "resourceType": "MedicationAdministration",
            "id": "ma-kes-1",
            "status": "completed",
            "subject": patient_ref,
            "medicationReference": {"reference": "Medication/med-kes"},
            "effectiveDateTime": "2026-09-01",
        },
    ]
    bundle["entry"].extend({"resource": resource} for resource in extra)
    return bundle


def _other_patient_bundle() -> dict[str, Any]:
    shared = ROOT / "tests" / "vignettes" / "shared" / "p02-k-two-severe-hib.json"
    bundle: dict[str, Any] = json.loads(shared.read_text())["bundle"]
    # Its record ids repeat the example's (obs-1 …): give them their own, as one server needs.
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] != "Patient":
            resource["id"] = f"p02-{resource['id']}"
    return bundle


PATIENT_BUNDLE = _patient_bundle()


@pytest.fixture(scope="module")
def fhir() -> Iterator[FhirTestServer]:
    with start_fhir_server(token=TOKEN, page_size=PAGE_SIZE) as server:
        load_bundle(server.base_url, to_transaction(PATIENT_BUNDLE), token=TOKEN)
        load_bundle(server.base_url, to_transaction(_other_patient_bundle()), token=TOKEN)
        yield server


def _fetch(fhir_server: str, keys: Any = PREFETCH_KEYS, **kwargs: Any) -> dict[str, dict[str, Any]]:
    options: dict[str, Any] = {"timeout_s": TIMEOUT_S} | kwargs
    authorization = options.pop("authorization", AUTH)
    patient_id = options.pop("patient_id", PATIENT_ID)
    return asyncio.run(fetch_prefetch(fhir_server, authorization, patient_id, keys, **options))


def _types(bundle: dict[str, Any]) -> Counter[str]:
    return Counter(entry["resource"]["resourceType"] for entry in bundle.get("entry", []))


def _assessment(resources: list[dict[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = assess(build_timeline(resources, PATIENT_ID), AS_OF).to_dict()
    return result


# --------------------------------------------------------------------------- the main path


def test_every_key_is_read_with_every_page_and_gives_the_same_assessment(fhir: FhirTestServer) -> None:
    fhir.clear_requests()
    fetched = _fetch(fhir.base_url)

    assert set(fetched) == set(PREFETCH_KEYS)
    assert fetched["patient"]["resourceType"] == "Patient"
    assert fetched["patient"]["id"] == PATIENT_ID
    original = Counter(e["resource"]["resourceType"] for e in PATIENT_BUNDLE["entry"])
    for key, resource_type in SEARCH_TYPES.items():
        bundle = fetched[key]
        assert bundle["resourceType"] == "Bundle"
        assert bundle["type"] == "searchset"
        assert bundle["total"] == len(bundle["entry"])
        assert _types(bundle) == Counter({resource_type: original[resource_type]}), key
    # Nothing of the other patient came back.
    ids = {e["resource"]["id"] for key in SEARCH_TYPES for e in fetched[key]["entry"]}
    assert not any(i.startswith("p02-") for i in ids)
    assert {e["resource"]["id"] for e in fetched["medications"]["entry"]} == {"med-amox", "med-kes"}

    # 13 Observations at 3 a page: 5 pages, each sent with the token.
    log = fhir.requests()
    observation_pages = [r for r in log if r["path"] == "/fhir/Observation"]
    assert len(observation_pages) == 5
    assert all(r["authorization"] for r in log)
    # The Medications this server did not include were read by id.
    assert any(r["path"] == "/fhir/Medication" for r in log)

    from_server = [r for value in fetched.values() for r in resources_from_json(value)]
    original_resources = resources_from_json(PATIENT_BUNDLE)
    assert _assessment(from_server) == _assessment(original_resources)
    assert _assessment(from_server)["recommendations"]  # a patient with something to say


def test_logs_carry_neither_the_patient_nor_the_token(
    fhir: FhirTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _fetch(fhir.base_url)
    with pytest.raises(FhirUnavailable):
        _fetch(fhir.base_url, authorization=AUTH | {"access_token": "wrong-token-77"})

    assert any(r.name == "igwatch.cdshooks.fhir" for r in caplog.records)
    for record in caplog.records:
        message = record.getMessage()
        for secret in (PATIENT_ID, TOKEN, "wrong-token-77", "Robin", "obs-1"):
            assert secret not in message, record.name


def test_only_the_keys_asked_for_are_read(fhir: FhirTestServer) -> None:
    fhir.clear_requests()
    fetched = _fetch(fhir.base_url, ["conditions", "medications"])

    assert set(fetched) == {"conditions", "medications"}
    assert _types(fetched["conditions"]) == Counter({"Condition": 2})
    assert _types(fetched["medications"]) == Counter({"Medication": 2})
    paths = {r["path"] for r in fhir.requests()}
    assert "/fhir/Observation" not in paths
    assert "/fhir/Patient/example-ofatumumab-hib" not in paths


def test_templates_name_every_prefetch_key_with_the_patient_token() -> None:
    assert set(PREFETCH_TEMPLATES) == set(PREFETCH_KEYS)
    assert PREFETCH_TEMPLATES["patient"] == "Patient/{{context.patientId}}"
    assert PREFETCH_TEMPLATES["observations"] == "Observation?patient={{context.patientId}}"
    assert all("{{context.patientId}}" in template for template in PREFETCH_TEMPLATES.values())


def test_medications_a_server_included_are_kept_and_not_read_again() -> None:
    # A server that honours _include: its Medications come in the medication Bundles.
    base = "http://127.0.0.1:9/fhir"  # never called: nothing is missing
    included = {"resourceType": "Medication", "id": "med-a"}
    source = {
        "resourceType": "Bundle",
        "entry": [
            {
                "resource": {
                    "resourceType": "MedicationRequest",
                    "id": "mr-1",
                    "medicationReference": {"reference": "Medication/med-a"},
                }
            },
            {
                "resource": {
                    "resourceType": "MedicationStatement",
                    "id": "ms-1",
                    "medicationReference": {"reference": f"{base}/Medication/med-a"},
                }
            },
            {
                "resource": {
                    "resourceType": "MedicationStatement",
                    "id": "ms-2",
                    "medicationReference": {"reference": "#contained"},
                }
            },
            {
                "resource": {
                    "resourceType": "MedicationStatement",
                    "id": "ms-3",
                    "medicationReference": {"reference": "https://elsewhere.example/fhir/Medication/x"},
                }
            },
            {"resource": included, "search": {"mode": "include"}},
        ],
    }

    async def run() -> dict[str, Any]:
        async with httpx.AsyncClient() as client:
            fetcher = _Fetcher(client, base, {}, patient_id="p", timeout=httpx.Timeout(1.0), max_pages=1)
            return await fetcher.medications([source])

    medications = asyncio.run(run())  # no request: everything referenced on this server is here
    assert [e["resource"] for e in medications["entry"]] == [included]


# --------------------------------------------------------------------------- refusals


def test_a_wrong_token_is_refused(fhir: FhirTestServer) -> None:
    with pytest.raises(FhirUnavailable, match=r"HTTP 401") as caught:
        _fetch(fhir.base_url, authorization=AUTH | {"access_token": "not-the-token"})
    assert "not-the-token" not in str(caught.value)


def test_no_token_is_refused_by_a_server_that_needs_one(fhir: FhirTestServer) -> None:
    with pytest.raises(FhirUnavailable, match=r"HTTP 401"):
        _fetch(fhir.base_url, ["observations"], authorization=None)


def test_an_unknown_patient_is_unavailable(fhir: FhirTestServer) -> None:
    with pytest.raises(FhirUnavailable, match=r"patient: Patient not found \(HTTP 404\)") as caught:
        _fetch(fhir.base_url, ["patient", "observations"], patient_id="no-such-patient")
    assert "no-such-patient" not in str(caught.value)


def test_a_result_longer_than_the_page_cap_is_unavailable(fhir: FhirTestServer) -> None:
    with pytest.raises(FhirUnavailable, match=r"observations: more than 2 pages"):
        _fetch(fhir.base_url, ["observations"], max_pages=2)


def test_a_next_link_to_another_origin_is_not_followed(fhir: FhirTestServer) -> None:
    # The same server under another name is another origin: the token must not go there.
    other_origin = fhir.base_url.replace("127.0.0.1", "localhost")
    fhir.set_link_base(other_origin)
    fhir.clear_requests()
    try:
        with pytest.raises(FhirUnavailable, match=r"observations: a link points outside fhirServer"):
            _fetch(fhir.base_url, ["observations"])
        assert len([r for r in fhir.requests() if r["path"] == "/fhir/Observation"]) == 1
    finally:
        fhir.set_link_base(None)


def test_a_server_path_that_is_not_fhir_is_unavailable(fhir: FhirTestServer) -> None:
    with pytest.raises(FhirUnavailable, match=r"observations: HTTP 404"):
        _fetch(fhir.origin + "/not-fhir", ["observations"])


@pytest.mark.parametrize(
    "url",
    ["ftp://127.0.0.1/fhir", "file:///etc/passwd", "127.0.0.1:8080/fhir", "", "http://127.0.0.1:99999/fhir"],
)
def test_a_server_url_that_is_not_http_is_refused(url: str) -> None:
    with pytest.raises(FhirUnavailable, match="not an http"):
        _fetch(url)


def test_an_authorization_that_is_not_bearer_is_refused(fhir: FhirTestServer) -> None:
    with pytest.raises(FhirUnavailable, match="not Bearer"):
        _fetch(fhir.base_url, authorization=AUTH | {"token_type": "MAC"})


def _answer_with(respond: Any) -> tuple[httpx.AsyncClient, list[str]]:
    """A client whose every request gets ``respond(request)``; the URLs asked are recorded."""
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        response: httpx.Response = respond(request)
        return response

    return httpx.AsyncClient(transport=httpx.MockTransport(handler)), asked


def _outcome(text: str) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "exception", "diagnostics": text}],
    }


def _page(next_url: str | None) -> dict[str, Any]:
    links = [{"relation": "next", "url": next_url}] if next_url else []
    return {"resourceType": "Bundle", "type": "searchset", "link": links, "entry": []}


# Answers no real server gave in the tests above, each with the message it must produce.
BROKEN_ANSWERS = {
    "not-json": (lambda r: httpx.Response(200, text="<html>login</html>"), r"observations: .*not JSON"),
    "not-a-bundle": (
        lambda r: httpx.Response(200, json=_outcome("ok")),
        r"observations: .*OperationOutcome.*not a Bundle",
    ),
    "server-error": (
        # the upstream diagnostics (which can name the patient) never come through: only the code
        lambda r: httpx.Response(500, json=_outcome(f"database down while reading {PATIENT_ID}")),
        r"observations: HTTP 500: issue exception$",
    ),
    "redirect": (
        lambda r: httpx.Response(302, headers={"Location": "https://elsewhere.example/fhir/Observation"}),
        r"observations: HTTP 302",
    ),
    # Not followed even under the same base: a redirect is never followed.
    "redirect-same-base": (
        lambda r: httpx.Response(307, headers={"Location": "https://fhir.example/fhir/Observation?p=2"}),
        r"observations: HTTP 307",
    ),
    "page-loop": (
        lambda r: httpx.Response(200, json=_page("https://fhir.example/fhir/Observation?page=2")),
        r"observations: the pages link back",
    ),
    "entry-not-a-list": (  # was a 500 of the service
        lambda r: httpx.Response(200, json={"resourceType": "Bundle", "type": "searchset", "entry": 5}),
        r"observations: the FHIR server's Bundle.entry is not a list$",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN_ANSWERS))
def test_a_broken_answer_is_unavailable_with_a_one_line_reason(case: str) -> None:
    respond, message = BROKEN_ANSWERS[case]
    client, asked = _answer_with(respond)

    async def run() -> None:
        async with client:
            await fetch_prefetch(
                "https://fhir.example/fhir",
                AUTH,
                PATIENT_ID,
                ["observations"],
                timeout_s=TIMEOUT_S,
                client=client,
            )

    with pytest.raises(FhirUnavailable, match=message) as caught:
        asyncio.run(run())
    assert "\n" not in str(caught.value)
    assert PATIENT_ID not in str(caught.value)
    assert all(url.startswith("https://fhir.example/fhir/Observation") for url in asked)


# --------------------------------------------------------------------------- unreachable servers


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A loopback port that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/fhir"


def test_a_closed_port_is_unavailable_at_once() -> None:
    started = time.monotonic()
    with pytest.raises(FhirUnavailable, match="could not connect"):
        _fetch(f"http://127.0.0.1:{_closed_port()}/fhir")
    assert time.monotonic() - started < 3 * TIMEOUT_S


def test_a_server_that_never_answers_is_unavailable_within_the_timeout(silent_server: str) -> None:
    timeout_s = 0.5
    started = time.monotonic()
    with pytest.raises(FhirUnavailable, match=r"timed out|did not answer within"):
        _fetch(silent_server, timeout_s=timeout_s)
    assert time.monotonic() - started < 3 * timeout_s


# --------------------------------------------------------------------------- through the service


def _patient_view(prefetch: dict[str, Any], fhir_server: str | None) -> dict[str, Any]:
    request: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": "5b1b5f0e-8f63-4c39-9a4e-0d9f4a0b2c11",
        "context": {"userId": "Practitioner/dr-1", "patientId": PATIENT_ID},
        "prefetch": prefetch,
    }
    if fhir_server is not None:
        request["fhirServer"] = fhir_server
        request["fhirAuthorization"] = AUTH
    return request


def _full_prefetch() -> dict[str, Any]:
    by_type: dict[str, list[dict[str, Any]]] = {}
    for entry in PATIENT_BUNDLE["entry"]:
        by_type.setdefault(entry["resource"]["resourceType"], []).append({"resource": entry["resource"]})
    prefetch: dict[str, Any] = {"patient": by_type["Patient"][0]["resource"]}
    for key, resource_type in SEARCH_TYPES.items():
        entries = by_type.get(resource_type, [])
        prefetch[key] = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(entries),
            "entry": entries,
        }
    return prefetch


def _recommendation_ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [card["extension"][RECOMMENDATION_ID] for card in response.json()["cards"]]


def _card_texts(response: httpx.Response) -> list[tuple[str, str, str, str]]:
    """Each card by recommendation id, with what it says (uuids differ from call to call)."""
    return [
        (card["extension"][RECOMMENDATION_ID], card["indicator"], card["summary"], card["detail"])
        for card in response.json()["cards"]
    ]


def test_patient_view_with_partial_prefetch_reads_the_rest_from_fhir(
    fhir: FhirTestServer, cds_server: str
) -> None:
    url = f"{cds_server}/cds-services/igwatch-patient-view"
    full = httpx.post(url, json=_patient_view(_full_prefetch(), None), timeout=30)
    partial_prefetch = {k: v for k, v in _full_prefetch().items() if k in ("patient", "conditions")}
    fhir.clear_requests()
    partial = httpx.post(url, json=_patient_view(partial_prefetch, fhir.base_url), timeout=30)

    assert _recommendation_ids(partial) == _recommendation_ids(full)
    assert len(_recommendation_ids(full)) >= 2
    # The same reasons too (dates, values): the fallback read all the data, not a first page.
    assert _card_texts(partial) == _card_texts(full)
    paths = {r["path"] for r in fhir.requests()}
    assert "/fhir/Observation" in paths
    assert "/fhir/Condition" not in paths  # sent in the prefetch: not read again


def _first_page_only(bundle: dict[str, Any], fhir_server: str) -> dict[str, Any]:
    """A searchset as an EHR sends its first page: the first entry and a ``next`` link."""
    return {
        **bundle,
        "entry": bundle["entry"][:1],
        "link": [{"relation": "next", "url": f"{fhir_server}/Observation?patient={PATIENT_ID}&_page=2"}],
    }


def test_a_paginated_prefetch_is_completed_from_the_fhir_server(
    fhir: FhirTestServer, cds_server: str
) -> None:
    """Contract §4: a searchset with a next link is one page of several: never read as all."""
    url = f"{cds_server}/cds-services/igwatch-patient-view"
    full = httpx.post(url, json=_patient_view(_full_prefetch(), None), timeout=30)
    paged = _full_prefetch()
    paged["observations"] = _first_page_only(paged["observations"], fhir.base_url)
    fhir.clear_requests()
    response = httpx.post(url, json=_patient_view(paged, fhir.base_url), timeout=30)
    assert _card_texts(response) == _card_texts(full)
    assert "/fhir/Observation" in {r["path"] for r in fhir.requests()}


def test_a_paginated_prefetch_without_a_fhir_server_is_412(cds_server: str) -> None:
    url = f"{cds_server}/cds-services/igwatch-patient-view"
    paged = _full_prefetch()
    paged["observations"] = _first_page_only(paged["observations"], "https://ehr.example/fhir")
    response = httpx.post(url, json=_patient_view(paged, None), timeout=30)
    assert response.status_code == 412, response.text
    diagnostics = response.json()["issue"][0]["diagnostics"]
    assert "observations not sent or incomplete" in diagnostics
    assert re.search(r"\(ref [0-9a-f]{12}\)$", diagnostics)  # the same reference is in the server log


def test_an_operation_outcome_prefetch_is_not_fetched_never_no_data(
    fhir: FhirTestServer, cds_server: str
) -> None:
    """The EHR's query failed: with a FHIR server the key is read again, without one it is 412 —
    never 'no complete immunoglobulin panel on record'."""
    url = f"{cds_server}/cds-services/igwatch-patient-view"
    failed = _full_prefetch()
    failed["observations"] = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "timeout", "diagnostics": "search timed out"}],
    }
    assert httpx.post(url, json=_patient_view(failed, None), timeout=30).status_code == 412
    full = httpx.post(url, json=_patient_view(_full_prefetch(), None), timeout=30)
    read_again = httpx.post(url, json=_patient_view(failed, fhir.base_url), timeout=30)
    assert _card_texts(read_again) == _card_texts(full)


def test_patient_view_with_an_unreachable_fhir_server_is_412_within_the_timeout(
    cds_server: str, silent_server: str
) -> None:
    # cds_server reads FHIR with a 2 s deadline (tests/cdshooks/conftest.py).
    url = f"{cds_server}/cds-services/igwatch-patient-view"
    started = time.monotonic()
    response = httpx.post(
        url, json=_patient_view({"patient": _full_prefetch()["patient"]}, silent_server), timeout=30
    )
    elapsed = time.monotonic() - started

    assert response.status_code == 412, response.text
    assert response.json()["resourceType"] == "OperationOutcome"
    assert elapsed < 3 * 2.0


# --------------------------------------------------------------------------- the bases a client may name


def _mock_fetch(fhir_server: str, allowed_base: str | None, respond: Any) -> tuple[Any, list[str]]:
    """``fetch_prefetch`` of observations against a mock server; the outcome and the URLs asked."""
    client, asked = _answer_with(respond)

    async def run() -> Any:
        async with client:
            return await fetch_prefetch(
                fhir_server,
                AUTH,
                PATIENT_ID,
                ["observations"],
                timeout_s=TIMEOUT_S,
                client=client,
                allowed_base=allowed_base,
            )

    try:
        return asyncio.run(run()), asked
    except FhirUnavailable as error:
        return error, asked


def test_paging_links_may_go_anywhere_under_the_allowed_base_and_nowhere_else() -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/fhir/r4/Observation":
            return httpx.Response(200, json=_page("https://fhir.example/fhir/paging?id=7"))
        return httpx.Response(200, json=_page(None))

    result, asked = _mock_fetch("https://fhir.example/fhir/r4", "https://fhir.example/fhir", respond)
    assert result["observations"]["resourceType"] == "Bundle"
    assert asked[-1] == "https://fhir.example/fhir/paging?id=7"

    # Without a wider base, fhirServer itself is the limit.
    result, asked = _mock_fetch("https://fhir.example/fhir/r4", None, respond)
    assert isinstance(result, FhirUnavailable) and "a link points outside" in str(result)
    assert len(asked) == 1


def test_a_fhir_server_outside_the_allowed_base_is_never_asked() -> None:
    result, asked = _mock_fetch(
        "https://fhir.example/fhirx",
        "https://fhir.example/fhir",
        lambda r: httpx.Response(200, json=_page(None)),
    )
    assert isinstance(result, FhirUnavailable) and "not under the allowed" in str(result)
    assert asked == []


LISTED = es384_client(iss="https://listed-ehr.example", kid="listed-1")
UNLISTED = es384_client(iss="https://unlisted-ehr.example", kid="unlisted-1")
WHOLE_ORIGIN = es384_client(iss="https://origin-ehr.example", kid="origin-1")
SERVICE = "/cds-services/igwatch-patient-view"


@pytest.fixture(scope="module")
def trusted_cds_server(fhir: FhirTestServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A token-checking service: LISTED may name the FHIR server's base, WHOLE_ORIGIN anything on
    its origin, UNLISTED no FHIR server at all."""
    directory = tmp_path_factory.mktemp("fallback-clients")
    clients = write_clients_file(
        directory,
        [LISTED, UNLISTED, WHOLE_ORIGIN],
        fhir_servers={LISTED.iss: [fhir.base_url], WHOLE_ORIGIN.iss: [fhir.origin + "/"]},
    )
    settings = dev_settings(
        directory, insecure_dev_no_auth=False, cds_clients=clients, as_of=AS_OF, fhir_timeout_s=TIMEOUT_S
    )
    with start_server(settings) as base_url:
        yield base_url


def _call_as(server: str, client: TestClient, fhir_server: str) -> httpx.Response:
    """patient-view with only the Patient sent: everything else must come from ``fhir_server``."""
    body = _patient_view({"patient": _full_prefetch()["patient"]}, fhir_server)
    url = server + SERVICE
    return httpx.post(url, json=body, headers={"Authorization": f"Bearer {client.token(url)}"}, timeout=30)


def _port(fhir: FhirTestServer) -> int:
    return int(fhir.origin.rsplit(":", 1)[1])


ALLOWED_FORMS: dict[str, Callable[[FhirTestServer], str]] = {
    "exact": lambda f: f.base_url,
    "trailing slash": lambda f: f.base_url + "/",
    "scheme in capitals": lambda f: f.base_url.replace("http://", "HTTP://"),
}


@pytest.mark.parametrize("form", list(ALLOWED_FORMS))
def test_a_listed_fhir_server_is_read(fhir: FhirTestServer, trusted_cds_server: str, form: str) -> None:
    fhir.clear_requests()
    response = _call_as(trusted_cds_server, LISTED, ALLOWED_FORMS[form](fhir))
    assert _recommendation_ids(response)
    paths = {r["path"] for r in fhir.requests()}
    assert "/fhir/Observation" in paths


def test_a_fhir_server_under_a_listed_base_is_read(fhir: FhirTestServer, trusted_cds_server: str) -> None:
    fhir.clear_requests()
    assert _recommendation_ids(_call_as(trusted_cds_server, WHOLE_ORIGIN, fhir.base_url))
    assert "/fhir/Observation" in {r["path"] for r in fhir.requests()}


REFUSED_FORMS: dict[str, Callable[[FhirTestServer], str]] = {
    "prefix not on a segment boundary": lambda f: f.base_url + "x",
    "path in capitals": lambda f: f.base_url.replace("/fhir", "/FHIR"),
    "another port": lambda f: f.base_url.replace(f":{_port(f)}", f":{_port(f) + 1}"),
    "another scheme": lambda f: f.base_url.replace("http://", "https://"),
    "user info trick": lambda f: f"{f.origin}@evil.example/fhir",
    "dot segments": lambda f: f.base_url + "/../admin",
    "escaped dot segments": lambda f: f.base_url + "/%2e%2e/admin",
    "another loopback name": lambda f: f.base_url.replace("127.0.0.1", "localhost"),
}


@pytest.mark.parametrize("form", list(REFUSED_FORMS))
def test_a_fhir_server_not_listed_is_412_without_any_request(
    fhir: FhirTestServer, trusted_cds_server: str, form: str
) -> None:
    fhir.clear_requests()
    response = _call_as(trusted_cds_server, LISTED, REFUSED_FORMS[form](fhir))
    assert response.status_code == 412, response.text
    assert response.json()["resourceType"] == "OperationOutcome"
    assert "not allowed for this client" in response.json()["issue"][0]["diagnostics"]
    assert fhir.requests() == []


def test_a_client_without_fhir_servers_never_makes_an_outbound_request(
    fhir: FhirTestServer, trusted_cds_server: str
) -> None:
    fhir.clear_requests()
    response = _call_as(trusted_cds_server, UNLISTED, fhir.base_url)
    assert response.status_code == 412, response.text
    diagnostics = response.json()["issue"][0]["diagnostics"]
    assert "fhirServer is not allowed for this client" in diagnostics
    assert TOKEN not in response.text
    assert fhir.requests() == []


def test_a_paging_link_outside_the_listed_base_is_not_followed(
    fhir: FhirTestServer, trusted_cds_server: str
) -> None:
    # Same origin, another path: outside the base LISTED may name, so not followed with its token.
    fhir.set_link_base(f"{fhir.origin}/internal/fhir")
    fhir.clear_requests()
    try:
        response = _call_as(trusted_cds_server, LISTED, fhir.base_url)
        assert response.status_code == 412, response.text
        assert "a link points outside" in response.json()["issue"][0]["diagnostics"]
        assert all(r["path"].startswith("/fhir/") for r in fhir.requests())
    finally:
        fhir.set_link_base(None)


def test_trial_mode_reads_only_loopback_or_listed_servers(cds_server: str, tmp_path: Path) -> None:
    # cds_server runs with --insecure-dev-no-auth: a server elsewhere is refused without a request.
    url = f"{cds_server}{SERVICE}"
    started = time.monotonic()
    response = httpx.post(
        url,
        json=_patient_view({"patient": _full_prefetch()["patient"]}, "https://ehr.example.org/fhir"),
        timeout=30,
    )
    assert response.status_code == 412, response.text
    assert "--insecure-dev-no-auth" in response.json()["issue"][0]["diagnostics"]
    assert time.monotonic() - started < TIMEOUT_S

    # Named with --dev-fhir-server, the same kind of server is tried (and here cannot be reached).
    listed = "http://igwatch-test.invalid/fhir"
    settings = dev_settings(tmp_path, as_of=AS_OF, fhir_timeout_s=TIMEOUT_S, dev_fhir_servers=(listed,))
    with start_server(settings) as trial:
        response = httpx.post(
            f"{trial}{SERVICE}",
            json=_patient_view({"patient": _full_prefetch()["patient"]}, listed),
            timeout=30,
        )
    assert response.status_code == 412, response.text
    assert "not allowed" not in response.json()["issue"][0]["diagnostics"]
