"""One request never stalls another (security finding 1): the CPU work of a CDS Hooks request —
JSON parsing and the assessment — runs in a bounded worker pool under a deadline, off the event
loop. A valid 25 MB request used to hold every other request (a discovery, a static file) until
it was done."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.servers import dev_settings, start_server

SERVICE = "/cds-services/igwatch-patient-view"


def _heavy_request(observations: int) -> dict[str, Any]:
    pid = "heavy"
    entries = [
        {
            "resource": {
                "resourceType": "Observation",
                "id": f"o{i}",
                "status": "final",
                "subject": {"reference": f"Patient/{pid}"},
                "code": {"coding": [{"system": "http://loinc.org", "code": "2472-9"}]},
                "effectiveDateTime": f"20{10 + i % 15:02d}-0{1 + i % 9}-1{i % 9}",
                "valueQuantity": {
                    "value": 20 + i % 50,
                    "unit": "mg/dL",
                    "system": "http://unitsofmeasure.org",
                    "code": "mg/dL",
                },
            }
        }
        for i in range(observations)
    ]
    statement = {
        "resourceType": "MedicationStatement",
        "id": "ofa",
        "status": "active",
        "subject": {"reference": f"Patient/{pid}"},
        "medicationCodeableConcept": {
            "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "712566"}]
        },
        "effectivePeriod": {"start": "2023-01-01"},
    }
    searchset = {"resourceType": "Bundle", "type": "searchset"}
    return {
        "hook": "patient-view",
        "hookInstance": "heavy-1",
        "context": {"userId": "Practitioner/1", "patientId": pid},
        "prefetch": {
            "patient": {"resourceType": "Patient", "id": pid, "birthDate": "1980-01-01"},
            "observations": {**searchset, "entry": entries},
            "conditions": None,
            "encounters": None,
            "medicationStatements": {**searchset, "entry": [{"resource": statement}]},
            "medicationRequests": None,
            "medicationAdministrations": None,
            "immunizations": None,
            "medications": None,
        },
    }


def test_a_heavy_request_does_not_hold_up_a_small_one(tmp_path: Path) -> None:
    body = json.dumps(_heavy_request(60_000)).encode()
    assert len(body) > 15 * 2**20
    times: dict[str, float] = {}
    with start_server(dev_settings(tmp_path)) as base_url:
        with httpx.Client() as client:
            normal = []
            for _ in range(5):
                started = time.perf_counter()
                assert client.get(base_url + "/cds-services").status_code == 200
                normal.append(time.perf_counter() - started)

        def heavy() -> None:
            times["heavy_sent"] = time.perf_counter()
            response = httpx.post(
                base_url + SERVICE, content=body, headers={"Content-Type": "application/json"}, timeout=120
            )
            times["heavy_done"] = time.perf_counter()
            times["heavy_status"] = response.status_code

        thread = threading.Thread(target=heavy)
        thread.start()
        time.sleep(1.0)  # the heavy request is uploaded and being worked on
        started = time.perf_counter()
        small = httpx.get(base_url + "/cds-services", timeout=120)
        times["small_done"] = time.perf_counter()
        loaded = times["small_done"] - started
        thread.join(timeout=120)
    assert small.status_code == 200 and times["heavy_status"] == 200
    # the small request was answered while the heavy one was still being worked on
    assert times["small_done"] < times["heavy_done"], times
    print(
        f"discovery alone {1000 * min(normal):.1f} ms; during the heavy request {1000 * loaded:.1f} ms; "
        f"heavy request {times['heavy_done'] - times['heavy_sent']:.1f} s"
    )


def test_a_request_past_its_deadline_is_a_503_and_the_server_goes_on(tmp_path: Path) -> None:
    body = json.dumps(_heavy_request(60_000)).encode()
    with start_server(dev_settings(tmp_path, assess_timeout_s=0.3)) as base_url:
        response = httpx.post(
            base_url + SERVICE, content=body, headers={"Content-Type": "application/json"}, timeout=120
        )
        assert response.status_code == 503
        assert response.json()["issue"][0]["diagnostics"] == "the request took longer than 0.3 s to assess"
        assert httpx.get(base_url + "/cds-services", timeout=30).status_code == 200


def test_json_nested_too_deeply_is_a_400_not_a_500(tmp_path: Path) -> None:
    with start_server(dev_settings(tmp_path)) as base_url:
        deep = b"[" * 100_000 + b"]" * 100_000
        response = httpx.post(
            base_url + SERVICE, content=deep, headers={"Content-Type": "application/json"}, timeout=60
        )
        assert response.status_code == 400
        assert response.json()["issue"][0]["diagnostics"] == "request body: JSON nested too deeply"
        # the connection is still good for the next request
        assert httpx.get(base_url + "/cds-services", timeout=30).status_code == 200
