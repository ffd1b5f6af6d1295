"""Schemathesis over the service's OpenAPI document, against the real server on loopback.

Every documented operation gets generated requests, valid ones (positive) and invalid ones
(negative); the default checks run on each response: no 5xx, only documented statuses, bodies
and content types matching the document, invalid data rejected. Valid data must be answered 200,
or 412 when a prefetch key is absent (CDS Hooks lets a client omit prefetch; this server, given
no fhirServer, must refuse): that replaces schemathesis' generic "valid data accepted" check,
which does not know 412. Kept small (a few examples per operation and mode).

``fhirServer`` is removed from generated requests: the service would call it, and tests talk to
loopback only (the fallback client has its own tests against a real FHIR server).

The schema is loaded from the live server inside the test (schemathesis' lazy pytest loader
does not run under this pytest) and each operation is driven through its Hypothesis strategy.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from igwatch.cdshooks.cards import PREFETCH_KEYS
from tests.cdshooks.test_service import SERVICES

EXAMPLES = 10


def _without_fhir_server(case: schemathesis.Case) -> schemathesis.Case:
    if isinstance(case.body, dict):
        case.body.pop("fhirServer", None)
    return case


def _with_every_prefetch_key(case: schemathesis.Case) -> schemathesis.Case:
    """Absent prefetch keys become ``null`` (no data), so the request reaches the engine."""
    if isinstance(case.body, dict):
        prefetch = case.body.get("prefetch")
        prefetch = prefetch if isinstance(prefetch, dict) else {}
        case.body["prefetch"] = dict.fromkeys(PREFETCH_KEYS) | prefetch
    return case


def _prefetch_complete(body: Any) -> bool:
    prefetch = body.get("prefetch") if isinstance(body, dict) else None
    return isinstance(prefetch, dict) and all(key in prefetch for key in PREFETCH_KEYS)


@pytest.mark.parametrize(
    ("mode", "complete_prefetch"),
    [(GenerationMode.POSITIVE, False), (GenerationMode.POSITIVE, True), (GenerationMode.NEGATIVE, False)],
    ids=["positive", "positive-full-prefetch", "negative"],
)
def test_openapi_conformance(cds_server: str, mode: GenerationMode, complete_prefetch: bool) -> None:
    schema = schemathesis.openapi.from_url(f"{cds_server}/openapi.json")
    operations = [
        op
        for op in (result.ok() for result in schema.get_all_operations())
        if op.path.startswith("/cds-services")
    ]
    expected = {("GET", "/cds-services")}
    expected |= {("POST", f"/cds-services/{service}") for service in SERVICES}
    expected |= {("POST", f"/cds-services/{service}/feedback") for service in SERVICES}
    assert expected <= {(op.method.upper(), op.path) for op in operations}
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and operation.method.upper() == "GET":
            continue  # discovery takes no input: there is nothing invalid to send
        if complete_prefetch and not operation.path.endswith(tuple(SERVICES)):
            continue
        strategy = operation.as_strategy(generation_mode=mode).map(_without_fhir_server)
        if complete_prefetch:
            strategy = strategy.map(_with_every_prefetch_key)

        @given(case=strategy)
        @settings(
            max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
        )
        def conforms(case: schemathesis.Case) -> None:
            response = case.call_and_validate(
                base_url=cds_server, timeout=30, excluded_checks=[positive_data_acceptance]
            )
            if mode is GenerationMode.POSITIVE:
                hook_call = not case.path.endswith(("/feedback", "/cds-services"))
                allowed = {200} if not hook_call or _prefetch_complete(case.body) else {412}
                assert response.status_code in allowed, (case.path, response.status_code, response.text)

        conforms()
