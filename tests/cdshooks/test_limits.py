"""Limits on what a CDS Hooks request may hold (security findings 10 and 11), against the real
server: each is a 422 with one line, before any work or any write."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from igwatch.cdshooks.models import MAX_CARD_ID, MAX_COMMENT, MAX_FEEDBACK_ITEMS

REQUESTS = Path(__file__).parent / "requests"
FEEDBACK = "/cds-services/igwatch-patient-view/feedback"


def _item(**changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "card": "9b8f9c3e-4f3a-4d7e-8a51-8a7c3f0b1d22",
        "outcome": "overridden",
        "overrideReason": {"reason": {"code": "clinical-judgement"}, "userComment": "ok"},
        "outcomeTimestamp": "2026-10-15T10:00:00Z",
    }
    item.update(changes)
    return item


@pytest.mark.parametrize(
    "body",
    [
        {"feedback": [_item(card=f"c{i}") for i in range(MAX_FEEDBACK_ITEMS + 1)]},
        {"feedback": [_item(card="x" * (MAX_CARD_ID + 1))]},
        {"feedback": [_item(overrideReason={"userComment": "y" * (MAX_COMMENT + 1)})]},
    ],
    ids=["too-many-items", "card-id-too-long", "comment-too-long"],
)
def test_feedback_past_its_limits_is_a_422(cds_server: str, body: dict[str, Any]) -> None:
    response = httpx.post(cds_server + FEEDBACK, json=body, timeout=60)
    assert response.status_code == 422
    assert "\n" not in response.json()["issue"][0]["diagnostics"]


def test_feedback_within_its_limits_is_stored(cds_server: str) -> None:
    body = {"feedback": [_item(card="a" * MAX_CARD_ID, overrideReason={"userComment": "z" * MAX_COMMENT})]}
    response = httpx.post(cds_server + FEEDBACK, json=body, timeout=60)
    assert response.status_code == 200 and response.json()["received"] == 1


@pytest.mark.parametrize("patient_id", [".", "..", "..."])
def test_a_patient_id_of_only_dots_is_a_422(cds_server: str, patient_id: str) -> None:
    body = json.loads((REQUESTS / "patient-view-many-urgent.json").read_text())
    body["context"]["patientId"] = patient_id
    response = httpx.post(cds_server + "/cds-services/igwatch-patient-view", json=body, timeout=60)
    assert response.status_code == 422
    assert "patient id cannot be only dots" in response.json()["issue"][0]["diagnostics"]
