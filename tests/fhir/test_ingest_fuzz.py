"""Fuzzing: mutated FHIR bundles never crash ingest (clinical-spec §7: bad data never crashes igwatch).

Random mutations of the shared vignette bundles (and of a built-in bundle that exercises every
mapping): keys deleted, values replaced with values of the wrong type, garbage dates, random unit
strings. ``parse_input`` + ``build_timeline`` must return a Timeline or raise InputRefused —
nothing else.
"""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from igwatch.errors import InputRefused
from igwatch.fhir.ingest import build_timeline, parse_input
from igwatch.timeline import Timeline

ROOT = Path(__file__).resolve().parents[2]
VIGNETTE_DIRS = [ROOT.parent / "shared" / "vignettes", ROOT / "tests" / "vignettes" / "cases"]

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
S = {"reference": "Patient/p"}

BUILTIN: dict[str, Any] = {
    "resourceType": "Bundle",
    "type": "collection",
    "entry": [
        {
            "fullUrl": "urn:uuid:p",
            "resource": {
                "resourceType": "Patient",
                "id": "p",
                "birthDate": "1990-01-01",
                "gender": "male",
                "name": [{"given": ["A"], "family": "B"}],
            },
        },
        {
            "resource": {
                "resourceType": "Observation",
                "id": "o1",
                "status": "final",
                "subject": {"reference": "urn:uuid:p"},
                "code": {"coding": [{"system": LOINC, "code": "2472-9"}]},
                "effectiveDateTime": "2026-01-02",
                "valueQuantity": {
                    "value": 0.3,
                    "unit": "g/L",
                    "system": UCUM,
                    "code": "g/L",
                    "comparator": "<",
                },
                "referenceRange": [{"low": {"value": 0.4, "code": "g/L", "system": UCUM}}],
            }
        },
        {
            "resource": {
                "resourceType": "Observation",
                "id": "o2",
                "status": "final",
                "subject": S,
                "code": {"text": "Streptococcus pneumoniae serotype 14 IgG"},
                "issued": "2026-01-02T10:00:00Z",
                "valueQuantity": {"value": 1.1, "unit": "ug/mL"},
            }
        },
        {
            "resource": {
                "resourceType": "Observation",
                "id": "cult",
                "status": "final",
                "subject": S,
                "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": "9861002"}]},
            }
        },
        {"resource": {"resourceType": "Encounter", "id": "e1", "class": {"code": "IMP"}}},
        {
            "resource": {
                "resourceType": "Condition",
                "id": "c1",
                "subject": S,
                "code": {"coding": [{"system": SNOMED, "code": "233604007"}]},
                "onsetPeriod": {"start": "2026-02-01"},
                "severity": {"coding": [{"system": SNOMED, "code": "24484000"}]},
                "encounter": {"reference": "Encounter/e1"},
                "evidence": [
                    {
                        "detail": [{"reference": "Observation/cult"}],
                        "code": [{"coding": [{"system": SNOMED, "code": "44470000"}]}],
                    }
                ],
                "extension": [
                    {
                        "url": "https://igwatch.dev/fhir/StructureDefinition/antibiotic-response",
                        "valueCode": "insufficient",
                    }
                ],
            }
        },
        {
            "resource": {
                "resourceType": "Condition",
                "id": "c2",
                "subject": S,
                "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "D80.4"}]},
                "recordedDate": "2025-01-01",
            }
        },
        {
            "resource": {
                "resourceType": "MedicationRequest",
                "id": "m1",
                "status": "active",
                "intent": "order",
                "subject": S,
                "contained": [{"resourceType": "Medication", "id": "med", "code": {"text": "Hizentra"}}],
                "medicationReference": {"reference": "#med"},
                "authoredOn": "2026-01-01",
                "reasonReference": [{"reference": "Condition/c1"}],
                "reasonCode": [{"text": "replacement"}],
                "dosageInstruction": [
                    {
                        "route": {"coding": [{"system": SNOMED, "code": "34206005"}]},
                        "doseAndRate": [{"doseQuantity": {"value": 10, "code": "g", "system": UCUM}}],
                        "timing": {
                            "repeat": {
                                "boundsPeriod": {"start": "2026-01-05"},
                                "frequency": 1,
                                "period": 1,
                                "periodUnit": "wk",
                            }
                        },
                    }
                ],
            }
        },
        {
            "resource": {
                "resourceType": "MedicationAdministration",
                "id": "m2",
                "status": "completed",
                "subject": S,
                "medicationCodeableConcept": {"text": "Kesimpta"},
                "effectivePeriod": {"start": "2026-01-03"},
                "dosage": {"dose": {"value": 20, "unit": "mg"}},
            }
        },
        {
            "resource": {
                "resourceType": "Immunization",
                "id": "i1",
                "status": "completed",
                "patient": S,
                "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "33"}]},
                "occurrenceDateTime": "2025-11-01",
            }
        },
        {
            "resource": {
                "resourceType": "ServiceRequest",
                "id": "s1",
                "status": "active",
                "subject": S,
                "code": {"text": "VZV IgG antibody"},
                "authoredOn": "2026-01-01",
            }
        },
    ],
}


def _bundles() -> list[dict[str, Any]]:
    bundles = [BUILTIN]
    for directory in VIGNETTE_DIRS:
        for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
            try:
                case = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(case.get("bundle"), dict):
                bundles.append(case["bundle"])
            request = case.get("hook_request")
            if isinstance(request, dict):
                entries = [
                    {"resource": v} for v in (request.get("prefetch") or {}).values() if isinstance(v, dict)
                ]
                draft = (request.get("context") or {}).get("draftOrders")
                if isinstance(draft, dict):
                    entries.append({"resource": draft})
                bundles.append({"resourceType": "Bundle", "type": "collection", "entry": entries})
    return bundles


BUNDLES = _bundles()

GARBAGE_DATES = [
    "2026-13-45",
    "yesterday",
    "",
    "2026-02-30",
    "0000-00-00",
    "2026-1-1",
    "9999-99-99T99:99:99Z",
    "2026-08-20T",
    "２０２６-01-01",
    "2026-08-20T10:00:00+99:99",
]
UNITS = [
    "mg/dL",
    "g/L",
    "mmol/L",
    "",
    " ",
    "%",
    "/uL",
    "10*9/L",
    "{cells}",
    "MG/DL",
    "[lb_av]",
    "kg",
    "m",
    "cells/uL",
    "10^",
    "((",
    "1/0",
    "[iU]",
    "mg{",
    "\x00",
    "g.g.g/L/L",
    "10*999/L",
]

leaf_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(GARBAGE_DATES),
    st.sampled_from(UNITS),
    st.just([]),
    st.just({}),
    st.just([None, 1, "x"]),
    st.just({"reference": "Patient/nobody"}),
    st.just({"reference": "#missing"}),
    st.just({"coding": "not a list"}),
    st.just({"coding": [{"system": 1, "code": ["x"]}]}),
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = []
    if isinstance(node, dict):
        for key, value in node.items():
            out.append((*prefix, key))
            out.extend(_paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out.append((*prefix, index))
            out.extend(_paths(value, (*prefix, index)))
    return out


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path[:-1]:
        doc = doc[step]
    return doc


@st.composite
def mutated_bundles(draw: st.DrawFn) -> dict[str, Any]:
    doc = copy.deepcopy(draw(st.sampled_from(BUNDLES)))
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        paths = _paths(doc)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _parent(doc, path)
        op = draw(st.sampled_from(["delete", "replace", "date", "unit", "duplicate"]))
        key = path[-1]
        if op == "delete":
            del parent[key]
        elif op == "replace":
            parent[key] = copy.deepcopy(draw(leaf_values))
        elif op == "date":
            parent[key] = draw(st.sampled_from(GARBAGE_DATES))
        elif op == "unit":
            parent[key] = draw(st.sampled_from(UNITS))
        elif isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
    return doc


def _check(data: bytes, patient_id: str | None) -> None:
    try:
        result = build_timeline(parse_input(data, "fuzz.json"), patient_id)
    except InputRefused as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(result, Timeline)
    for item in [
        *result.labs,
        *result.infections,
        *result.medications,
        *result.vaccinations,
        *result.serology,
    ]:
        assert isinstance(item.id, str) and item.id
    for lab in result.labs:
        assert lab.value == lab.value  # never NaN


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(doc=mutated_bundles(), patient_id=st.one_of(st.none(), st.sampled_from(["p", "nobody"])))
def test_mutated_bundles_never_crash(doc: dict[str, Any], patient_id: str | None) -> None:
    _check(json.dumps(doc).encode(), patient_id)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(doc=mutated_bundles())
def test_mutated_ndjson_never_crashes(doc: dict[str, Any]) -> None:
    entries = doc.get("entry") if isinstance(doc.get("entry"), list) else []
    lines = [json.dumps(e.get("resource")) for e in entries if isinstance(e, dict)]
    _check(gzip.compress("\n".join(lines).encode()), None)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=200))
def test_random_bytes_are_refused_or_read(data: bytes) -> None:
    _check(data, None)


def test_builtin_bundle_is_fully_mapped() -> None:
    t = build_timeline(parse_input(json.dumps(BUILTIN).encode(), "builtin.json"))
    assert {lab.kind for lab in t.labs} == {"igm", "pneumococcal-serotype"}
    assert t.infections[0].organisms == {"haemophilus-influenzae", "streptococcus-pneumoniae"}
    assert t.infections[0].inpatient and t.infections[0].antibiotic_response_insufficient
    assert [d.concept for d in t.diagnoses] == ["selective-igm-deficiency"]
    assert [(m.agent, m.route, m.dose_g) for m in t.medications] == [
        ("immune-globulin", "SC", 10.0),
        ("ofatumumab", None, None),
    ]
    assert [v.pneumococcal_polysaccharide for v in t.vaccinations] == [True]
    assert len(t.serology) == 1


@pytest.mark.parametrize("index", range(len(BUNDLES)))
def test_unmutated_bundles_read(index: int) -> None:
    t = build_timeline(parse_input(json.dumps(BUNDLES[index]).encode(), "b.json"))
    assert t.patient.id
