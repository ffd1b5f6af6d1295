"""FHIR input → Timeline (contract §1 and §2 input detection; clinical-spec §7 data issues)."""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from igwatch.errors import InputRefused
from igwatch.fhir.ingest import (
    FULL_URL_KEY,
    build_timeline,
    load_timeline,
    parse_date,
    parse_input,
    read_path,
)
from igwatch.timeline import Timeline

PID = "pat-1"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CVX = "http://hl7.org/fhir/sid/cvx"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"
SUBJECT = {"reference": f"Patient/{PID}"}


def patient(pid: str = PID, **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "gender": "female", "birthDate": "1984-05-12", **extra}


def qty(value: Any, unit: str | None = "mg/dL", **extra: Any) -> dict[str, Any]:
    q: dict[str, Any] = {"value": value, **extra}
    if unit is not None:
        q.update(unit=unit, system=UCUM, code=unit)
    return q


def obs(oid: str, code: str, value: Any = None, unit: str | None = "mg/dL", **extra: Any) -> dict[str, Any]:
    o: dict[str, Any] = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "subject": SUBJECT,
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "effectiveDateTime": "2026-08-20",
    }
    if value is not None:
        o["valueQuantity"] = qty(value, unit)
    o.update(extra)
    return o


def cond(cid: str, system: str, code: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": cid,
        "subject": SUBJECT,
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "verificationStatus": {"coding": [{"code": "confirmed"}]},
        "code": {"coding": [{"system": system, "code": code}]},
        "onsetDateTime": "2026-02-14",
        **extra,
    }


def med(rtype: str, mid: str, concept: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": rtype,
        "id": mid,
        "subject": SUBJECT,
        "medicationCodeableConcept": concept,
        "status": "active",
        **extra,
    }


def rx(code: str, display: str | None = None) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": RXNORM, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def bundle(*resources: dict[str, Any], full_urls: bool = True) -> dict[str, Any]:
    entries = []
    for r in resources:
        entry: dict[str, Any] = {"resource": r}
        if full_urls and "id" in r:
            entry["fullUrl"] = f"https://ehr.example.org/fhir/{r['resourceType']}/{r['id']}"
        entries.append(entry)
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def timeline(*resources: dict[str, Any], patient_id: str | None = None) -> Timeline:
    data = json.dumps(bundle(patient(), *resources)).encode()
    return build_timeline(parse_input(data, "test.json"), patient_id)


def codes(t: Timeline) -> list[tuple[str, str, str | None]]:
    return [(i.severity, i.code, i.resource) for i in t.data_issues]


# ----------------------------------------------------------------------------- parse_input


def test_bundle_entries_keep_full_urls() -> None:
    resources = parse_input(json.dumps(bundle(patient(), obs("o1", "2465-3", 900))).encode(), "b.json")
    assert [r["resourceType"] for r in resources] == ["Patient", "Observation"]
    assert resources[1][FULL_URL_KEY] == "https://ehr.example.org/fhir/Observation/o1"


def test_single_resource() -> None:
    assert parse_input(json.dumps(patient()).encode(), "p.json") == [patient()]


def test_nested_bundles_and_any_bundle_type() -> None:
    inner = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": obs("o1", "2465-3", 900)}]}
    outer = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": patient()}, {"resource": inner}, {"request": {"method": "GET"}}, 5],
    }
    resources = parse_input(json.dumps(outer).encode(), "b.json")
    assert [r["resourceType"] for r in resources] == ["Patient", "Observation"]


def test_ndjson_with_blank_lines() -> None:
    lines = [
        json.dumps(patient()),
        "",
        json.dumps(obs("o1", "2465-3", 900)),
        "   ",
        json.dumps(obs("o2", "2472-9", 30)),
    ]
    resources = parse_input("\n".join(lines).encode(), "p.ndjson")
    assert [r.get("id") for r in resources] == [PID, "o1", "o2"]


def test_gzip_by_magic_bytes() -> None:
    lines = "\n".join([json.dumps(patient()), json.dumps(obs("o1", "2465-3", 900))])
    assert len(parse_input(gzip.compress(lines.encode()), "p.ndjson.gz")) == 2
    assert len(parse_input(gzip.compress(json.dumps(bundle(patient())).encode()), "b.json.gz")) == 1


def test_utf8_bom_is_accepted() -> None:
    assert parse_input(b"\xef\xbb\xbf" + json.dumps(patient()).encode(), "p.json")[0]["id"] == PID


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "test.json: empty input, not FHIR JSON"),
        (b"hello world", "test.json: not valid JSON"),
        (b"[1, 2]", "test.json: not FHIR JSON (expected a JSON object, a Bundle or a resource)"),
        (b'{"id": "x"}', "test.json: not FHIR JSON (no resourceType)"),
        (b'{"resourceType": "Bundle", "entry": []}', "test.json: a Bundle with no resources"),
        (b'{"resourceType": "Bundle", "entry": [{"fullUrl": "x"}]}', "test.json: a Bundle with no resources"),
        (b"\xff\xfe\x00garbage", "test.json: not FHIR JSON (not UTF-8 text)"),
        (b"\x1f\x8bnot really gzip", "test.json: not a valid gzip file"),
    ],
)
def test_refusals(data: bytes, message: str) -> None:
    with pytest.raises(InputRefused) as info:
        parse_input(data, "test.json")
    assert str(info.value) == message
    assert "\n" not in str(info.value)


def test_over_long_integer_is_refused_with_its_line() -> None:
    # json.loads raises a plain ValueError (not JSONDecodeError) past Python's integer digit limit.
    huge = '{"resourceType": "Observation", "id": "o1", "valueInteger": ' + "9" * 5000 + "}"
    with pytest.raises(InputRefused, match=r"^p\.ndjson line 2: not valid JSON$"):
        parse_input(f"{json.dumps(patient())}\n{huge}".encode(), "p.ndjson")


def test_ndjson_refusal_names_the_line() -> None:
    text = "\n".join([json.dumps(patient()), "", "{broken", json.dumps(obs("o1", "2465-3", 1))])
    with pytest.raises(InputRefused, match=r"^patient\.ndjson line 3: not valid JSON$"):
        parse_input(text.encode(), "patient.ndjson")
    with pytest.raises(InputRefused, match=r"^p\.ndjson line 2: no resourceType$"):
        parse_input(f'{json.dumps(patient())}\n{{"id": 1}}'.encode(), "p.ndjson")
    with pytest.raises(InputRefused, match=r"^p\.ndjson line 2: not a JSON object$"):
        parse_input(f"{json.dumps(patient())}\n[1]".encode(), "p.ndjson")


def test_read_path_and_load_timeline(tmp_path: Path) -> None:
    with pytest.raises(InputRefused, match=r"nothing\.json: no such file"):
        read_path(tmp_path / "nothing.json")
    with pytest.raises(InputRefused, match="is a directory"):
        read_path(tmp_path)
    file = tmp_path / "p.json.gz"
    file.write_bytes(gzip.compress(json.dumps(bundle(patient(), obs("o1", "2465-3", 900))).encode()))
    t = load_timeline(file)
    assert t.patient.id == PID and [lab.value for lab in t.labs] == [900.0]
    with pytest.raises(InputRefused, match=r"nothing\.json: no such file"):
        load_timeline(tmp_path / "nothing.json")


# ----------------------------------------------------------------------------- patient selection


def _resources(*res: dict[str, Any]) -> list[dict[str, Any]]:
    return parse_input(json.dumps(bundle(*res)).encode(), "b.json")


def test_patient_demographics() -> None:
    t = build_timeline(_resources(patient(name=[{"given": ["Alex", "J"], "family": "Example"}])))
    assert (t.patient.id, t.patient.birth_date, t.patient.sex, t.patient.name) == (
        PID,
        date(1984, 5, 12),
        "female",
        "Alex J Example",
    )


def test_no_patient_refused() -> None:
    with pytest.raises(InputRefused, match=r"^no Patient in the input$"):
        build_timeline(_resources(obs("o1", "2465-3", 900)))


def test_several_patients_refused_then_chosen() -> None:
    res = _resources(
        patient("pat-a"),
        patient("pat-b"),
        obs("o1", "2465-3", 900, subject={"reference": "Patient/pat-a"}),
        obs("o2", "2465-3", 500, subject={"reference": "Patient/pat-b"}),
    )
    with pytest.raises(InputRefused) as info:
        build_timeline(res)
    assert str(info.value) == "2 patients in the input (pat-a, pat-b); choose one with --patient"
    t = build_timeline(res, "pat-b")
    assert t.patient.id == "pat-b"
    assert [lab.id for lab in t.labs] == ["Observation/o2"]  # the other patient's record is left out


def test_unknown_patient_refused() -> None:
    with pytest.raises(InputRefused) as info:
        build_timeline(_resources(patient("pat-a"), patient("pat-b")), "pat-z")
    assert str(info.value) == "patient pat-z is not in the input (patients: pat-a, pat-b)"


def test_same_patient_twice_is_one_patient() -> None:
    t = build_timeline([*_resources(patient(), obs("o1", "2465-3", 900)), patient()])
    assert t.patient.id == PID


# ----------------------------------------------------------------------------- references


def test_subject_by_urn_uuid_full_url() -> None:
    data = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:1111", "resource": patient()},
            {
                "fullUrl": "urn:uuid:2222",
                "resource": obs("o1", "2465-3", 900, subject={"reference": "urn:uuid:1111"}),
            },
            {"fullUrl": "urn:uuid:3333", "resource": patient("other")},
            {
                "fullUrl": "urn:uuid:4444",
                "resource": obs("o2", "2465-3", 100, subject={"reference": "urn:uuid:3333"}),
            },
        ],
    }
    t = build_timeline(parse_input(json.dumps(data).encode(), "b.json"), PID)
    assert [lab.id for lab in t.labs] == ["Observation/o1"]


def test_subject_by_absolute_url() -> None:
    t = timeline(
        obs("o1", "2465-3", 900, subject={"reference": f"https://ehr.example.org/fhir/Patient/{PID}"})
    )
    assert len(t.labs) == 1


def test_medication_reference_by_type_and_id_and_contained() -> None:
    medication = {"resourceType": "Medication", "id": "m1", "code": rx("1876366", "ocrelizumab")}
    by_id = med("MedicationStatement", "s1", {}, medicationReference={"reference": "Medication/m1"})
    del by_id["medicationCodeableConcept"]
    contained = med(
        "MedicationRequest",
        "r1",
        {},
        intent="order",
        contained=[{"resourceType": "Medication", "id": "c1", "code": rx("121191")}],
        medicationReference={"reference": "#c1"},
    )
    del contained["medicationCodeableConcept"]
    t = timeline(medication, by_id, contained)
    assert [(m.id, m.agent, m.category) for m in t.medications] == [
        ("MedicationStatement/s1", "ocrelizumab", "anti-cd20"),
        ("MedicationRequest/r1", "rituximab", "anti-cd20"),
    ]


def test_medication_reference_by_urn_uuid() -> None:
    data = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:p", "resource": patient()},
            {"fullUrl": "urn:uuid:m", "resource": {"resourceType": "Medication", "code": rx("712566")}},
            {
                "fullUrl": "urn:uuid:s",
                "resource": {
                    "resourceType": "MedicationStatement",
                    "status": "active",
                    "subject": {"reference": "urn:uuid:p"},
                    "medicationReference": {"reference": "urn:uuid:m"},
                },
            },
        ],
    }
    t = build_timeline(parse_input(json.dumps(data).encode(), "b.json"))
    assert [(m.id, m.agent) for m in t.medications] == [("urn:uuid:s", "ofatumumab")]


# ----------------------------------------------------------------------------- Observations


@pytest.mark.parametrize(
    ("code", "value", "unit", "kind", "expected"),
    [
        ("2465-3", 9.1, "g/L", "igg", 910.0),
        ("2472-9", 250, "mg/L", "igm", 25.0),
        ("2458-8", 1.3, "g/L", "iga", 130.0),
        ("8116-6", 0.08, "10*9/L", "cd19-absolute", 80.0),
        ("8116-6", 25, "/uL", "cd19-absolute", 25.0),
        ("8117-4", 3.5, "%", "cd19-percent", 3.5),
        ("29463-7", 165, "[lb_av]", "weight", 74.842741),
        ("8302-2", 1.7, "m", "height", 170.0),
    ],
)
def test_labs_converted(code: str, value: float, unit: str, kind: str, expected: float) -> None:
    t = timeline(obs("o1", code, value, unit))
    assert [(lab.kind, lab.date) for lab in t.labs] == [(kind, date(2026, 8, 20))]
    assert t.labs[0].value == pytest.approx(expected, rel=1e-6)
    assert t.data_issues == []


def test_unit_from_human_string_only() -> None:
    o = obs("o1", "2465-3")
    o["valueQuantity"] = {"value": 9.1, "unit": "g/L"}
    assert timeline(o).labs[0].value == pytest.approx(910.0)


def test_serotype_label_and_name_issue() -> None:
    o = obs("o1", "x", 1.9, "ug/mL")
    o["code"] = {"text": "Streptococcus pneumoniae Danish serotype 6B IgG Ab [Mass/volume] in Serum"}
    us = obs("o2", "x", 2.0, "mg/L")
    us["code"] = {
        "coding": [
            {"system": "http://lab.local", "code": "PN26", "display": "S. pneumoniae type 26 (6B) IgG"}
        ]
    }
    t = timeline(o, us)
    assert [(lab.kind, lab.label, lab.value, lab.recognised_by_name) for lab in t.labs] == [
        ("pneumococcal-serotype", "6B", 1.9, True),
        ("pneumococcal-serotype", "6B", 2.0, True),
    ]
    assert codes(t) == [
        ("info", "recognised-by-name", "Observation/o1"),
        ("info", "recognised-by-name", "Observation/o2"),
    ]


def test_observation_date_fallbacks() -> None:
    period = obs("o1", "2465-3", 900)
    del period["effectiveDateTime"]
    period["effectivePeriod"] = {"start": "2026-03-04T08:00:00+02:00", "end": "2026-03-05"}
    issued = obs("o2", "2465-3", 900)
    del issued["effectiveDateTime"]
    issued["issued"] = "2026-03-06T23:59:59.123Z"
    timed = obs(
        "o3", "2465-3", 900, effectiveDateTime="2026-03-07T23:30:00-05:00"
    )  # counts by its calendar date
    t = timeline(period, issued, timed)
    assert [lab.date for lab in t.labs] == [date(2026, 3, 4), date(2026, 3, 6), date(2026, 3, 7)]


@pytest.mark.parametrize(
    "bad", [None, "", "yesterday", "2026-13-45", "2026-02-30", 20260101, {"start": 1}, ["2026"]]
)
def test_lab_without_usable_date(bad: Any) -> None:
    o = obs("o1", "2465-3", 900)
    if bad is None:
        del o["effectiveDateTime"]
    else:
        o["effectiveDateTime"] = bad
    t = timeline(o)
    assert t.labs == []
    assert codes(t) == [("error", "date-missing", "Observation/o1")]


@pytest.mark.parametrize("status", ["entered-in-error", "cancelled"])
def test_cancelled_results_skipped_silently(status: str) -> None:
    t = timeline(obs("o1", "2465-3", 900, status=status))
    assert t.labs == [] and t.data_issues == []


@pytest.mark.parametrize(
    ("code", "value", "unit", "ok"),
    [
        ("2465-3", 10_000, "mg/dL", True),
        ("2465-3", 10_001, "mg/dL", False),
        ("2465-3", -1, "mg/dL", False),
        ("2465-3", 101, "g/L", False),  # 10 100 mg/dL
        ("2472-9", 5_000, "mg/dL", True),
        ("2472-9", 5_001, "mg/dL", False),
        ("2458-8", 51, "g/L", False),
        ("29463-7", 2, "kg", True),
        ("29463-7", 1.9, "kg", False),
        ("29463-7", 400, "kg", True),
        ("29463-7", 401, "kg", False),
        ("29463-7", 75_000, "g", True),
    ],
)
def test_plausibility(code: str, value: float, unit: str, ok: bool) -> None:
    t = timeline(obs("o1", code, value, unit))
    assert bool(t.labs) is ok
    assert codes(t) == ([] if ok else [("error", "value-implausible", "Observation/o1")])


def test_unit_missing_and_unconvertible() -> None:
    missing = obs("o1", "2472-9")
    missing["valueQuantity"] = {"value": 30}
    wrong = obs("o2", "2472-9", 0.2, "mmol/L")
    garbage = obs("o3", "2472-9", 30, "bananas")
    t = timeline(missing, wrong, garbage)
    assert t.labs == []
    assert codes(t) == [
        ("error", "unit-missing", "Observation/o1"),
        ("error", "unit-unconvertible", "Observation/o2"),
        ("error", "unit-unconvertible", "Observation/o3"),
    ]


def test_comparator_kept() -> None:
    o = obs("o1", "2472-9")
    o["valueQuantity"] = qty(5, "mg/dL", comparator="<")
    odd = obs("o2", "2472-9")
    odd["valueQuantity"] = qty(5, "mg/dL", comparator="ad")
    t = timeline(o, odd)
    assert [(lab.comparator, lab.value) for lab in t.labs] == [("<", 5.0), (None, 5.0)]


def test_reference_range_converted() -> None:
    o = obs(
        "o1",
        "2472-9",
        0.25,
        "g/L",
        referenceRange=[{"low": qty(0.4, "g/L"), "high": qty(2.3, "g/L")}, {"low": qty(1, "g/L")}],
    )
    only_low = obs("o2", "8116-6", 50, "/uL", referenceRange=[{"low": qty(0.08, "10*9/L")}])
    bad_range = obs(
        "o3", "2472-9", 25, "mg/dL", referenceRange=[{"low": {"value": 40}, "high": qty(230, "mmol/L")}]
    )
    t = timeline(o, only_low, bad_range)
    assert [(lab.value, lab.reference_low, lab.reference_high) for lab in t.labs] == [
        (pytest.approx(25.0), pytest.approx(40.0), pytest.approx(230.0)),
        (50.0, pytest.approx(80.0), None),
        (25.0, None, None),  # a bound without a usable unit is left out, never guessed
    ]


def test_observation_without_numeric_value_is_skipped() -> None:
    o = obs("o1", "2465-3", valueString="pending")
    t = timeline(o, obs("o2", "2465-3", "900"))
    assert t.labs == [] and t.data_issues == []


def test_unknown_observations_are_other_data() -> None:
    t = timeline(obs("o1", "718-7", 13.5, "g/dL"))
    assert t.labs == [] and t.serology == [] and t.data_issues == []


def test_viral_serology_observation() -> None:
    coded = obs("o1", "19162-7", valueCodeableConcept={"text": "positive"})
    named = obs("o2", "x", valueCodeableConcept={"text": "negative"})
    named["code"] = {"text": "HIV 1/2 antibody screen"}
    t = timeline(coded, named)
    assert [(s.id, s.date, s.recognised_by_name) for s in t.serology] == [
        ("Observation/o1", date(2026, 8, 20), False),
        ("Observation/o2", date(2026, 8, 20), True),
    ]
    assert codes(t) == [("info", "recognised-by-name", "Observation/o2")]


# ----------------------------------------------------------------------------- Conditions


def test_infection_mapped() -> None:
    encounter = {
        "resourceType": "Encounter",
        "id": "e1",
        "status": "finished",
        "subject": SUBJECT,
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
    }
    c = cond(
        "c1",
        SNOMED,
        "233607000",
        abatementDateTime="2026-03-01",
        recordedDate="2026-02-15",
        severity={"coding": [{"system": SNOMED, "code": "24484000"}]},
        encounter={"reference": "Encounter/e1"},
        extension=[
            {
                "url": "https://igwatch.dev/fhir/StructureDefinition/antibiotic-response",
                "valueCode": "insufficient",
            }
        ],
    )
    t = timeline(encounter, c)
    (inf,) = t.infections
    assert inf.id == "Condition/c1"
    assert (inf.onset, inf.recorded, inf.abatement) == (
        date(2026, 2, 14),
        date(2026, 2, 15),
        date(2026, 3, 1),
    )
    assert (inf.clinical_status, inf.verification_status, inf.severity) == ("active", "confirmed", "severe")
    assert inf.concepts == {"bacterial-infection"}
    assert inf.organisms == {"streptococcus-pneumoniae"}
    assert inf.bacterial_organism
    assert (inf.encounter, inf.inpatient, inf.antibiotic_response_insufficient) == (
        "Encounter/e1",
        True,
        True,
    )
    assert inf.display == "Pneumococcal pneumonia"
    assert not inf.recognised_by_name


@pytest.mark.parametrize(
    ("klass", "inpatient"),
    [
        ({"code": "ACUTE"}, True),
        ({"code": "NONAC"}, True),
        ({"code": "AMB"}, False),
        ({"code": "EMER"}, False),
        ([{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"}]}], True),
        ({"system": "http://example.org/local", "code": "IMP"}, False),
        ("IMP", False),
    ],
)
def test_encounter_class(klass: Any, inpatient: bool) -> None:
    encounter = {"resourceType": "Encounter", "id": "e1", "class": klass}
    t = timeline(encounter, cond("c1", SNOMED, "91302008", encounter={"reference": "Encounter/e1"}))
    assert t.infections[0].inpatient is inpatient


def test_severity_codes() -> None:
    sev = {"255604002": "mild", "6736007": "moderate", "24484000": "severe", "442452003": "life-threatening"}
    conds = [
        cond(f"c{i}", SNOMED, "36971009", severity={"coding": [{"system": SNOMED, "code": code}]})
        for i, code in enumerate(sev)
    ]
    conds.append(cond("cx", SNOMED, "36971009", severity={"text": "severe"}))
    t = timeline(*conds)
    assert [i.severity for i in t.infections] == [*sev.values(), None]


def test_severe_and_life_threatening_by_nature() -> None:
    t = timeline(cond("c1", ICD10CM, "A40.3"), cond("c2", SNOMED, "22255007"), cond("c3", ICD10CM, "J01.90"))
    assert [i.concepts for i in t.infections] == [
        {"bacterial-infection", "severe-by-nature", "life-threatening-by-nature"},
        {"opportunistic-infection", "viral-or-fungal-infection"},  # PML: a virus
        frozenset(),
    ]
    assert t.infections[0].organisms == {"streptococcus-pneumoniae"}


def test_organism_from_evidence_code_and_culture_observation() -> None:
    culture = {
        "resourceType": "Observation",
        "id": "cult",
        "status": "final",
        "subject": SUBJECT,
        "code": {"coding": [{"system": LOINC, "code": "600-7"}]},
        "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": "44470000"}]},
    }
    by_detail = cond("c1", SNOMED, "233604007", evidence=[{"detail": [{"reference": "Observation/cult"}]}])
    by_code = cond(
        "c2", SNOMED, "36971009", evidence=[{"code": [{"coding": [{"system": SNOMED, "code": "17872004"}]}]}]
    )
    non_bacterial = cond("c3", SNOMED, "233604007")
    t = timeline(culture, by_detail, by_code, non_bacterial)
    assert [(i.organisms, i.bacterial_organism) for i in t.infections] == [
        ({"haemophilus-influenzae"}, True),
        ({"neisseria-meningitidis"}, True),
        (frozenset(), False),
    ]
    assert t.labs == []  # the culture is used only through the Condition


def test_condition_date_fallbacks() -> None:
    period = cond("c1", SNOMED, "36971009", abatementPeriod={"start": "2026-04-02"})
    del period["onsetDateTime"]
    period["onsetPeriod"] = {"start": "2026-03-01T10:00:00Z"}
    recorded = cond("c2", SNOMED, "36971009", recordedDate="2026-05-05")
    del recorded["onsetDateTime"]
    undated = cond("c3", SNOMED, "36971009", onsetString="last winter")
    del undated["onsetDateTime"]
    t = timeline(period, recorded, undated)
    assert [(i.id, i.onset, i.recorded, i.abatement, i.date) for i in t.infections] == [
        ("Condition/c1", date(2026, 3, 1), None, date(2026, 4, 2), date(2026, 3, 1)),
        ("Condition/c2", None, date(2026, 5, 5), None, date(2026, 5, 5)),
    ]
    assert codes(t) == [("error", "date-missing", "Condition/c3")]


def test_diagnoses() -> None:
    t = timeline(
        cond("d1", SNOMED, "190980000"),
        cond("d2", ICD10CM, "D80.6"),
        cond("d3", ICD10CM, "M32.14"),
        cond("d4", SNOMED, "24700007"),
        {**cond("d5", "http://local", "x"), "code": {"text": "Specific antibody deficiency"}},
        cond("d6", SNOMED, "38341003"),  # hypertension: other data
    )
    assert [(d.id, d.concept, d.recognised_by_name) for d in t.diagnoses] == [
        ("Condition/d1", "selective-igm-deficiency", False),
        ("Condition/d2", "specific-antibody-deficiency", False),
        ("Condition/d3", "autoimmune", False),
        ("Condition/d4", "multiple-sclerosis", False),
        ("Condition/d5", "specific-antibody-deficiency", True),
    ]
    assert codes(t) == [("info", "recognised-by-name", "Condition/d5")]


def test_entered_in_error_condition_skipped() -> None:
    c = cond("c1", SNOMED, "233604007", verificationStatus={"coding": [{"code": "entered-in-error"}]})
    refuted = cond("c2", SNOMED, "233604007", verificationStatus={"coding": [{"code": "refuted"}]})
    t = timeline(c, refuted)
    assert [(i.id, i.verification_status) for i in t.infections] == [("Condition/c2", "refuted")]


# ----------------------------------------------------------------------------- medications


def test_anti_cd20_agents_by_code_and_name() -> None:
    t = timeline(
        med("MedicationStatement", "m1", rx("712566", "ofatumumab"), effectivePeriod={"start": "2023-09-01"}),
        med(
            "MedicationStatement",
            "m2",
            {"text": "Ocrevus 300 mg"},
            status="completed",
            effectivePeriod={"start": "2020-01-01", "end": "2022-06-30"},
        ),
        med(
            "MedicationAdministration",
            "m3",
            {"text": "Gazyva 1000 mg"},
            status="completed",
            effectiveDateTime="2021-03-04T10:00:00Z",
        ),
        med("MedicationStatement", "m4", rx("6809", "metformin")),
    )
    assert [
        (m.id, m.resource_type, m.category, m.agent, m.start, m.end, m.recognised_by_name)
        for m in t.medications
    ] == [
        (
            "MedicationStatement/m1",
            "MedicationStatement",
            "anti-cd20",
            "ofatumumab",
            date(2023, 9, 1),
            None,
            False,
        ),
        (
            "MedicationStatement/m2",
            "MedicationStatement",
            "anti-cd20",
            "ocrelizumab",
            date(2020, 1, 1),
            date(2022, 6, 30),
            True,
        ),
        (
            "MedicationAdministration/m3",
            "MedicationAdministration",
            "anti-cd20",  # revision 2: every B-cell-depleting agent is population K
            "obinutuzumab",
            date(2021, 3, 4),
            None,
            True,
        ),
    ]
    assert codes(t) == [
        ("info", "recognised-by-name", "MedicationStatement/m2"),
        ("info", "recognised-by-name", "MedicationAdministration/m3"),
    ]


def test_request_dates_intent_and_draft() -> None:
    r = med(
        "MedicationRequest",
        "r1",
        rx("712566"),
        status="draft",
        intent="plan",
        authoredOn="2026-09-01T12:00:00Z",
        dosageInstruction=[
            {
                "timing": {
                    "repeat": {
                        "boundsPeriod": {"start": "2026-10-01", "end": "2027-10-01"},
                        "frequency": 1,
                        "period": 4,
                        "periodUnit": "wk",
                    }
                }
            }
        ],
    )
    (m,) = timeline(r).medications
    assert (m.status, m.intent, m.start, m.end, m.authored, m.interval_days) == (
        "draft",
        "plan",
        date(2026, 10, 1),
        date(2027, 10, 1),
        date(2026, 9, 1),
        28.0,
    )


def test_immune_globulin_dose_interval_route() -> None:
    privigen = med(
        "MedicationStatement",
        "ig1",
        {"text": "Privigen (immune globulin intravenous, human) 10% liquid"},
        effectivePeriod={"start": "2026-01-10"},
        dosage=[
            {
                "doseAndRate": [{"doseQuantity": {"value": 30, "unit": "g", "system": UCUM, "code": "g"}}],
                "timing": {"repeat": {"frequency": 1, "period": 4, "periodUnit": "wk"}},
            }
        ],
    )
    admin = med(
        "MedicationAdministration",
        "ig2",
        {"text": "Gamunex-C"},
        status="completed",
        effectiveDateTime="2026-02-07",
        dosage={
            "dose": {"value": 35000, "unit": "mg", "system": UCUM, "code": "mg"},
            "route": {"coding": [{"system": SNOMED, "code": "34206005"}]},
        },
    )
    monthly = med(
        "MedicationRequest",
        "ig3",
        {"text": "Hizentra 20%"},
        intent="order",
        dosageInstruction=[
            {
                "doseAndRate": [{"doseQuantity": qty(8, "g")}],
                "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "mo"}},
            }
        ],
    )
    ml = med(
        "MedicationStatement",
        "ig4",
        {"text": "IVIG"},
        dosage=[{"doseAndRate": [{"doseQuantity": {"value": 300, "unit": "mL"}}]}],
    )
    t = timeline(privigen, admin, monthly, ml)
    assert [(m.agent, m.category, m.dose_g, m.interval_days, m.route) for m in t.medications] == [
        ("immune-globulin", "immune-globulin", 30.0, 28.0, "IV"),
        ("immune-globulin", "immune-globulin", 35.0, None, "SC"),
        ("immune-globulin", "immune-globulin", 8.0, pytest.approx(15.21875), "SC"),
        ("immune-globulin", "immune-globulin", None, None, "IV"),
    ]
    assert ("warning", "unit-unconvertible", "MedicationStatement/ig4") in codes(t)


def test_route_code_wins_over_product() -> None:
    r = med(
        "MedicationStatement",
        "ig1",
        {"text": "Privigen"},
        dosage=[{"route": {"coding": [{"system": SNOMED, "code": "34206005"}]}}],
    )
    assert timeline(r).medications[0].route == "SC"


def test_antibiotic_agents_and_reasons() -> None:
    infection = cond("c1", SNOMED, "233607000")
    amox = med(
        "MedicationRequest",
        "a1",
        rx("723", "amoxicillin"),
        intent="order",
        reasonReference=[
            {"reference": "Condition/c1"},
            {"reference": "Condition/elsewhere"},
            {"display": "x"},
        ],
    )
    augmentin = med(
        "MedicationStatement",
        "a2",
        {"text": "Augmentin 875"},
        reasonCode=[{"text": "prophylaxis", "coding": [{"display": "Prophylaxis"}]}],
    )
    t = timeline(infection, amox, augmentin)
    assert [(m.agent, m.reason_references, m.reason_texts) for m in t.medications] == [
        ("amoxicillin", ("Condition/c1", "Condition/elsewhere"), ()),
        ("amoxicillin-clavulanate", (), ("prophylaxis", "Prophylaxis")),
    ]


def test_entered_in_error_medication_skipped() -> None:
    assert (
        timeline(med("MedicationStatement", "m1", rx("712566"), status="entered-in-error")).medications == []
    )


# ----------------------------------------------------------------------------- vaccines and orders


def test_immunizations() -> None:
    def imm(iid: str, code: str | None, text: str | None = None, **extra: Any) -> dict[str, Any]:
        concept: dict[str, Any] = {}
        if code:
            concept["coding"] = [{"system": CVX, "code": code}]
        if text:
            concept["text"] = text
        return {
            "resourceType": "Immunization",
            "id": iid,
            "status": "completed",
            "patient": SUBJECT,
            "vaccineCode": concept,
            "occurrenceDateTime": "2026-05-20",
            **extra,
        }

    t = timeline(
        imm("i1", "33"),
        imm("i2", "121"),
        imm("i3", None, "Varivax"),
        imm("i4", "141"),
        imm("i5", "03", status="not-done"),
        imm("i6", "03", status="entered-in-error"),
        imm("i7", None, "Shingrix"),
    )
    assert [
        (v.id, v.cvx, v.live, v.pneumococcal_polysaccharide, v.ordered, v.date, v.recognised_by_name)
        for v in t.vaccinations
    ] == [
        ("Immunization/i1", "33", False, True, False, date(2026, 5, 20), False),
        ("Immunization/i2", "121", True, False, False, date(2026, 5, 20), False),
        ("Immunization/i3", None, True, False, False, date(2026, 5, 20), True),
        ("Immunization/i4", "141", False, False, False, date(2026, 5, 20), False),
        ("Immunization/i7", None, False, False, False, date(2026, 5, 20), False),
    ]
    assert codes(t) == [("info", "recognised-by-name", "Immunization/i3")]


def test_vaccine_orders() -> None:
    by_cvx = {
        "resourceType": "MedicationRequest",
        "id": "z1",
        "status": "draft",
        "intent": "order",
        "subject": SUBJECT,
        "medicationCodeableConcept": {
            "coding": [{"system": CVX, "code": "121", "display": "zoster vaccine live"}]
        },
    }
    by_name = {
        "resourceType": "ServiceRequest",
        "id": "z2",
        "status": "active",
        "intent": "order",
        "subject": SUBJECT,
        "code": {"text": "Yellow fever vaccine (YF-Vax)"},
        "authoredOn": "2026-09-01",
    }
    t = timeline(by_cvx, by_name)
    assert [(v.id, v.live, v.ordered, v.cvx, v.status, v.date) for v in t.vaccinations] == [
        ("MedicationRequest/z1", True, True, "121", "draft", None),
        ("ServiceRequest/z2", True, True, None, "active", date(2026, 9, 1)),
    ]
    assert t.medications == []


def test_serology_orders() -> None:
    coded = {
        "resourceType": "ServiceRequest",
        "id": "s1",
        "status": "active",
        "intent": "order",
        "subject": SUBJECT,
        "code": {"coding": [{"system": LOINC, "code": "16935-9"}]},
        "occurrenceDateTime": "2026-09-02",
    }
    named = {
        "resourceType": "ServiceRequest",
        "id": "s2",
        "status": "draft",
        "intent": "order",
        "subject": SUBJECT,
        "code": {"text": "CMV IgG"},
        "authoredOn": "2026-09-03",
    }
    other = {
        "resourceType": "ServiceRequest",
        "id": "s3",
        "status": "active",
        "subject": SUBJECT,
        "code": {"text": "Chest X-ray"},
    }
    t = timeline(coded, named, other)
    assert [(s.id, s.date, s.status, s.recognised_by_name) for s in t.serology] == [
        ("ServiceRequest/s1", date(2026, 9, 2), "active", False),
        ("ServiceRequest/s2", date(2026, 9, 3), "draft", True),
    ]


# ----------------------------------------------------------------------------- the vignettes

VIGNETTES = Path("/work/shared/vignettes")


@pytest.mark.skipif(not VIGNETTES.is_dir(), reason="shared vignettes not present")
def test_vignette_units_and_bad_unit() -> None:
    p08 = json.loads((VIGNETTES / "p08-k-units-mg-per-l.json").read_text())["bundle"]
    t = build_timeline(parse_input(json.dumps(p08).encode(), "p08"))
    assert {lab.kind: lab.value for lab in t.labs} == {"igg": 910.0, "igm": 25.0, "iga": 130.0}
    p09 = json.loads((VIGNETTES / "p09-bad-unit.json").read_text())["bundle"]
    t = build_timeline(parse_input(json.dumps(p09).encode(), "p09"))
    assert {lab.kind for lab in t.labs} == {"igg", "iga"}
    assert codes(t) == [("error", "unit-unconvertible", "Observation/obs-2")]


# ----------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-08-20", date(2026, 8, 20)),
        ("2026-08-20T23:59:00+14:00", date(2026, 8, 20)),
        ("2026-08-20T00:00:00Z", date(2026, 8, 20)),
        ("2026-08", date(2026, 8, 1)),
        ("2026", date(2026, 1, 1)),
        ("2026-13-45", None),
        ("2026-02-29", None),
        ("yesterday", None),
        ("20260820", None),
        ("2026-08T10:00:00Z", None),
        (20260820, None),
        (None, None),
    ],
)
def test_parse_date(text: Any, expected: date | None) -> None:
    assert parse_date(text) == expected


def test_records_of_a_patient_not_in_the_input_are_left_out() -> None:
    elsewhere = obs("o1", "2465-3", 900, subject={"reference": "Patient/someone-else"})
    opaque = obs("o2", "2465-3", 800, subject={"reference": "urn:uuid:0000"})
    identifier_only = obs("o3", "2465-3", 700, subject={"identifier": {"value": "MRN1"}})
    no_subject = obs("o4", "2465-3", 600)
    del no_subject["subject"]
    t = timeline(elsewhere, opaque, identifier_only, no_subject)
    # one patient in the input: what cannot be checked is taken as theirs; another Patient/id is not
    assert [lab.id for lab in t.labs] == ["Observation/o2", "Observation/o3", "Observation/o4"]


def test_load_timeline_names_the_file_in_patient_refusals(tmp_path: Path) -> None:
    file = tmp_path / "two.json"
    file.write_text(json.dumps(bundle(patient("a"), patient("b"))))
    with pytest.raises(
        InputRefused, match=r"^two\.json: 2 patients in the input \(a, b\); choose one with --patient$"
    ):
        load_timeline(file)
    assert load_timeline(file, "b").patient.id == "b"


def test_records_without_ids_are_kept_apart() -> None:
    lines = [json.dumps(patient())]
    for value in (900, 800):
        o = obs("x", "2465-3", value)
        del o["id"]
        lines.append(json.dumps(o))
    t = build_timeline(parse_input("\n".join(lines).encode(), "p.ndjson"))
    assert [(lab.id, lab.value) for lab in t.labs] == [
        ("Observation/(no id, record 2)", 900.0),
        ("Observation/(no id, record 3)", 800.0),
    ]


def test_duplicate_records_are_read_once() -> None:
    o = obs("o1", "2465-3", 900)
    t = build_timeline([*_resources(patient(), o), dict(o)])
    assert [lab.id for lab in t.labs] == ["Observation/o1"]


def test_site_serotype_codes_carry_their_label(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from igwatch.fhir import terminology as tx

    site = {
        "resourceType": "ValueSet",
        "id": "pneumococcal-serotype-igg",
        "compose": {
            "include": [
                {
                    "system": "http://lab.example.org",
                    "concept": [
                        {
                            "code": "PN-14",
                            "extension": [
                                {"url": tx.IGWATCH_SD + "code-source", "valueString": "site lab catalogue"},
                                {"url": tx.IGWATCH_SD + "serotype", "valueString": "14"},
                            ],
                        }
                    ],
                }
            ]
        },
    }
    (tmp_path / "site.json").write_text(json.dumps(site))
    monkeypatch.setenv(tx.VALUESETS_ENV, str(tmp_path))
    tx.clear_cache()
    try:
        o = obs("o1", "x", 0.9, "ug/mL")
        o["code"] = {"coding": [{"system": "http://lab.example.org", "code": "PN-14", "display": "Pn IgG"}]}
        t = timeline(o)
        assert [(lab.kind, lab.label, lab.recognised_by_name) for lab in t.labs] == [
            ("pneumococcal-serotype", "14", False)
        ]
        assert t.data_issues == []
    finally:
        monkeypatch.delenv(tx.VALUESETS_ENV)
        tx.clear_cache()
