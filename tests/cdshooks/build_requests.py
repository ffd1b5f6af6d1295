"""Writes the CDS Hooks request cases in ``requests/`` (run it after changing a case).

Each case is a complete CDS Hooks 2.0.1 request as an EHR sends it, every prefetch key present
(``null`` where the EHR has no such data). The expected cards are in ``test_service.py``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from igwatch.cdshooks.cards import PREFETCH_KEYS

HERE = Path(__file__).parent / "requests"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CVX = "http://hl7.org/fhir/sid/cvx"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"


def patient(pid: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "gender": "female", "birthDate": "1984-05-12"}


def lab(pid: str, rid: str, loinc: str, display: str, value: float, unit: str, when: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": when,
        "code": {"coding": [{"system": LOINC, "code": loinc, "display": display}]},
        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
    }


def panel(
    pid: str, when: str, igg: float | None, igm: float | None, iga: float | None
) -> list[dict[str, Any]]:
    out = []
    for rid, code, name, value in (
        ("igg", "2465-3", "IgG [Mass/volume] in Serum or Plasma", igg),
        ("igm", "2472-9", "IgM [Mass/volume] in Serum or Plasma", igm),
        ("iga", "2458-8", "IgA [Mass/volume] in Serum or Plasma", iga),
    ):
        if value is not None:
            out.append(lab(pid, f"{rid}-{when}", code, name, value, "mg/dL", when))
    return out


def weight(pid: str, kg: float, when: str) -> dict[str, Any]:
    return lab(pid, f"weight-{when}", "29463-7", "Body weight", kg, "kg", when)


def ms(pid: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": "ms",
        "subject": {"reference": f"Patient/{pid}"},
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "code": {"coding": [{"system": ICD10, "code": "G35", "display": "Multiple sclerosis"}]},
        "onsetDateTime": "2019-03-01",
    }


def pneumonia(pid: str, onset: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": "pneumonia",
        "subject": {"reference": f"Patient/{pid}"},
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "code": {"coding": [{"system": SNOMED, "code": "233604007", "display": "Pneumonia"}]},
        "onsetDateTime": onset,
    }


def on_ofatumumab(pid: str, start: str = "2023-09-01") -> dict[str, Any]:
    return {
        "resourceType": "MedicationStatement",
        "id": "ofa",
        "status": "active",
        "subject": {"reference": f"Patient/{pid}"},
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": "712566", "display": "ofatumumab"}]
        },
        "effectivePeriod": {"start": start},
    }


def ofatumumab_order(pid: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": "ofa-order",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{pid}"},
        "authoredOn": "2026-10-15",
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": "712566", "display": "ofatumumab"}],
            "text": "Kesimpta 20 mg/0.4 mL pen",
        },
    }


def vaccine_order(pid: str, rid: str, cvx: str | None, text: str) -> dict[str, Any]:
    concept: dict[str, Any] = {"text": text}
    if cvx:
        concept["coding"] = [{"system": CVX, "code": cvx, "display": text}]
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{pid}"},
        "medicationCodeableConcept": concept,
    }


def scig_order(pid: str, grams: float, every_weeks: int = 1) -> dict[str, Any]:
    order = ivig_order(pid, grams, every_weeks)
    order["id"] = "scig-order"
    order["medicationCodeableConcept"] = {"text": "immune globulin subcutaneous (human) 20% (SCIG)"}
    order["dosageInstruction"][0]["route"] = {
        "coding": [{"system": SNOMED, "code": "34206005", "display": "Subcutaneous route"}]
    }
    return order


def ivig_order(pid: str, grams: float, every_weeks: int = 4) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": "ivig-order",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{pid}"},
        "medicationCodeableConcept": {"text": "immune globulin intravenous (human) 10% (IVIG)"},
        "dosageInstruction": [
            {
                "route": {"coding": [{"system": SNOMED, "code": "47625008", "display": "Intravenous route"}]},
                "timing": {"repeat": {"frequency": 1, "period": every_weeks, "periodUnit": "wk"}},
                "doseAndRate": [
                    {
                        "doseQuantity": {
                            "value": grams,
                            "unit": "g",
                            "system": "http://unitsofmeasure.org",
                            "code": "g",
                        }
                    }
                ],
            }
        ],
    }


def serology_order(pid: str) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "id": "hbsab",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{pid}"},
        "code": {"coding": [{"system": LOINC, "code": "16935-9", "display": "Hepatitis B virus surface Ab"}]},
    }


def searchset(resources: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not resources:
        return None
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


def request(
    name: str,
    hook: str,
    pid: str,
    *,
    observations: Sequence[dict[str, Any]] = (),
    conditions: Sequence[dict[str, Any]] = (),
    statements: Sequence[dict[str, Any]] = (),
    immunizations: Sequence[dict[str, Any]] = (),
    drafts: Sequence[dict[str, Any]] = (),
) -> None:
    context: dict[str, Any] = {"userId": "Practitioner/example", "patientId": pid}
    if hook != "patient-view":
        context["draftOrders"] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": r} for r in drafts],
        }
        if hook == "order-select":
            context["selections"] = [f"{r['resourceType']}/{r['id']}" for r in drafts]
    prefetch: dict[str, Any] = dict.fromkeys(PREFETCH_KEYS)
    prefetch.update(
        patient=patient(pid),
        observations=searchset(list(observations)),
        conditions=searchset(list(conditions)),
        medicationStatements=searchset(list(statements)),
        immunizations=searchset(list(immunizations)),
    )
    body = {
        "hookInstance": str(uuid.uuid5(uuid.NAMESPACE_URL, f"igwatch-test-request:{name}")),
        "hook": hook,
        "context": context,
        "prefetch": prefetch,
    }
    (HERE / f"{name}.json").write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")


def main() -> None:
    HERE.mkdir(exist_ok=True)
    on_k_labs = [*panel("k1", "2026-08-20", 910, 28, 130), weight("k1", 70, "2026-09-01")]
    request(
        "order-select-live-mmr-by-cvx",
        "order-select",
        "k1",
        observations=on_k_labs,
        statements=[on_ofatumumab("k1")],
        drafts=[vaccine_order("k1", "mmr", "03", "measles, mumps and rubella virus vaccine")],
    )
    request(
        "order-sign-live-varicella-by-name",
        "order-sign",
        "k1",
        observations=on_k_labs,
        statements=[on_ofatumumab("k1")],
        drafts=[vaccine_order("k1", "varivax", None, "Varivax (varicella vaccine live) 0.5 mL")],
    )
    request(
        "order-sign-live-zoster-while-starting",
        "order-sign",
        "s1",
        observations=[*panel("s1", "2026-09-20", 910, 80, 130)],
        conditions=[ms("s1")],
        drafts=[ofatumumab_order("s1"), vaccine_order("s1", "zos", "121", "zoster vaccine live")],
    )
    request(
        "order-sign-ofatumumab-active-infection",
        "order-sign",
        "k2",
        observations=[*panel("k2", "2026-08-20", 910, 28, 130)],
        conditions=[pneumonia("k2", "2026-10-10")],
        statements=[on_ofatumumab("k2")],
        drafts=[ofatumumab_order("k2")],
    )
    request(
        "order-select-ofatumumab-first-without-baseline",
        "order-select",
        "s2",
        conditions=[ms("s2")],
        drafts=[ofatumumab_order("s2")],
    )
    request(
        "order-sign-viral-serology",
        "order-sign",
        "k1",
        observations=on_k_labs,
        statements=[on_ofatumumab("k1")],
        drafts=[serology_order("k1")],
    )
    low_igg = [*panel("k3", "2026-09-20", 350, 20, 60), weight("k3", 70, "2026-09-20")]
    request(
        "order-sign-ivig-dose-too-high",
        "order-sign",
        "k3",
        observations=low_igg,
        statements=[on_ofatumumab("k3")],
        drafts=[ivig_order("k3", 50)],
    )
    request(
        "order-sign-ivig-dose-too-low",
        "order-sign",
        "k3",
        observations=low_igg,
        statements=[on_ofatumumab("k3")],
        drafts=[ivig_order("k3", 10)],
    )
    request(
        "order-sign-ivig-dose-computed",
        "order-sign",
        "k3",
        observations=low_igg,
        statements=[on_ofatumumab("k3")],
        drafts=[ivig_order("k3", 28)],
    )
    request(
        "order-sign-scig-weekly-computed",
        "order-sign",
        "k3",
        observations=low_igg,
        statements=[on_ofatumumab("k3")],
        drafts=[scig_order("k3", 7)],
    )
    request(
        "order-sign-scig-weekly-too-high",
        "order-sign",
        "k3",
        observations=low_igg,
        statements=[on_ofatumumab("k3")],
        drafts=[scig_order("k3", 12)],
    )
    request(
        "order-sign-ivig-without-weight",
        "order-sign",
        "k3",
        observations=panel("k3", "2026-09-20", 350, 20, 60),
        statements=[on_ofatumumab("k3")],
        drafts=[ivig_order("k3", 28)],
    )
    request(
        "order-sign-ivig-without-indication",
        "order-sign",
        "k1",
        observations=on_k_labs,
        statements=[on_ofatumumab("k1")],
        drafts=[ivig_order("k1", 28)],
    )
    request(
        "order-sign-unrelated-order",
        "order-sign",
        "k1",
        observations=on_k_labs,
        statements=[on_ofatumumab("k1")],
        drafts=[vaccine_order("k1", "shingrix", "187", "zoster vaccine recombinant (Shingrix)")],
    )
    request(
        "patient-view-many-urgent",
        "patient-view",
        "k4",
        observations=[
            lab("k4", "igm-only", "2472-9", "IgM [Mass/volume] in Serum or Plasma", 20, "mg/dL", "2026-09-01")
        ],
        conditions=[ms("k4"), pneumonia("k4", "2026-10-10")],
        statements=[on_ofatumumab("k4", start="2026-08-01")],
        immunizations=[
            {
                "resourceType": "Immunization",
                "id": "zostavax-given",
                "status": "completed",
                "patient": {"reference": "Patient/k4"},
                "vaccineCode": {"coding": [{"system": CVX, "code": "121", "display": "zoster vaccine live"}]},
                "occurrenceDateTime": "2026-09-10",
            }
        ],
    )


if __name__ == "__main__":
    main()
