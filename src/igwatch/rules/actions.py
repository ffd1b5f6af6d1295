"""Suggested orders as FHIR resources, attached to recommendations."""

from __future__ import annotations

from typing import Any

LOINC = "http://loinc.org"
PANEL = (
    ("2465-3", "IgG [Mass/volume] in Serum or Plasma"),
    ("2472-9", "IgM [Mass/volume] in Serum or Plasma"),
    ("2458-8", "IgA [Mass/volume] in Serum or Plasma"),
)
IGG = (PANEL[0],)
CD19 = (("8116-6", "CD19 cells [#/volume] in Blood"),)


def order_tests(patient_id: str, description: str, codes: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """A ServiceRequest proposal for laboratory tests, as a 'create' action."""
    return {
        "type": "create",
        "description": description,
        "resource": {
            "resourceType": "ServiceRequest",
            "status": "draft",
            "intent": "proposal",
            "subject": {"reference": f"Patient/{patient_id}"},
            "code": {
                "coding": [{"system": LOINC, "code": c, "display": d} for c, d in codes],
                "text": description,
            },
        },
    }


def order_ivig(patient_id: str, dose_g: int, interval_weeks: int) -> dict[str, Any]:
    """A MedicationRequest proposal for IVIG at the computed dose."""
    return {
        "type": "create",
        "description": f"IVIG {dose_g} g every {interval_weeks} weeks",
        "resource": {
            "resourceType": "MedicationRequest",
            "status": "draft",
            "intent": "proposal",
            "subject": {"reference": f"Patient/{patient_id}"},
            "medicationCodeableConcept": {"text": "immune globulin intravenous (human)"},
            "dosageInstruction": [
                {
                    "text": f"{dose_g} g IV every {interval_weeks} weeks",
                    "route": {
                        "coding": [
                            {
                                "system": "http://snomed.info/sct",
                                "code": "47625008",
                                "display": "Intravenous route",
                            }
                        ]
                    },
                    "timing": {"repeat": {"frequency": 1, "period": interval_weeks, "periodUnit": "wk"}},
                    "doseAndRate": [
                        {
                            "doseQuantity": {
                                "value": dose_g,
                                "unit": "g",
                                "system": "http://unitsofmeasure.org",
                                "code": "g",
                            }
                        }
                    ],
                }
            ],
        },
    }
