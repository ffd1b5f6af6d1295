#!/usr/bin/env python3
"""Builds the igwatch clinical vignettes (tests/vignettes/cases/v-*.json).

Every expectation is derived from the clinical specification (design/clinical-spec.md) and the
contract (design/contract.md), not from the engine. Each case states in its description the clause
it tests and, where a date matters, the arithmetic. Boundary cases come in twins that differ only
at the boundary.

Run:   python tests/vignettes/build_cases.py          (writes cases/, validates)
Check: python3 /work/shared/tools/check_vignettes.py --igwatch igwatch tests/vignettes/cases
"""

from __future__ import annotations

import json
import os
import re
import sys
import uuid
from datetime import date, timedelta

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "cases")
AS_OF = "2026-10-15"

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CVX = "http://hl7.org/fhir/sid/cvx"
UCUM = "http://unitsofmeasure.org"
V3ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
OBS_CAT = "http://terminology.hl7.org/CodeSystem/observation-category"
COND_CLIN = "http://terminology.hl7.org/CodeSystem/condition-clinical"
COND_VER = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
COND_CAT = "http://terminology.hl7.org/CodeSystem/condition-category"
ABX_EXT = "https://igwatch.dev/fhir/StructureDefinition/antibiotic-response"
BASE_URL = "https://ehr.example.org/fhir"

# --------------------------------------------------------------------------------------------
# The catalog (clinical-spec §5), used to validate every case. Cross-checked against the spec
# file when it is reachable.
# --------------------------------------------------------------------------------------------
CATALOG = [
    "monitor.ig-baseline",
    "monitor.ig-due",
    "monitor.check-igg",
    "monitor.igg-trough",
    "monitor.bcells",
    "monitor.infections",
    "igrt.start",
    "igrt.not-for-labs-alone",
    "igrt.trough-below-target",
    "igrt.trough-on-target",
    "igrt.breakthrough-infections",
    "igrt.review-continuation",
    "igrt.mucosal-residual-risk",
    "prophylaxis.consider",
    "prophylaxis.not-routine",
    "anti-cd20.continue",
    "anti-cd20.consider-discontinuation",
    "anti-cd20.delay-dose",
    "vaccine.live-avoid",
    "serology.false-negative-risk",
    "serology.passive-antibodies",
    "education.infection-warning-signs",
    "evaluate.igm-deficiency",
    "risk.encapsulated-bacteria",
    "risk.normal-igg-not-protective",
    "risk.autoimmunity-persistent-infection",
]
# Reason codes igwatch adds where §5 asks for wording but names no code: igrt.start's "draw the
# titres first" (D, response not assessed) and igrt.trough-below-target's "at the titration ceiling"
# (§6), and the trough-below reason itself.
BEYOND_SPEC_REASONS = {
    "titres-first",
    "at-ceiling",
    "trough-below-target",
    "specific-antibodies",
    "specific-antibodies-deferred",
}
REASONS = {
    "igrt.start": {
        "encapsulated-recurrent",
        "igg-below-threshold",
        "life-threatening-infection",
        "antibiotic-refractory",
        "recurrent-bacterial",
        "impaired-specific-antibodies",
        "prophylaxis-failed",
        "titres-first",
    },
    "anti-cd20.consider-discontinuation": {
        "opportunistic-infection",
        "recurrent-despite-igrt",
        "severe-igg-with-severe-infection",
    },
    "prophylaxis.consider": {"recurrent-infections", "mild-presentation", "alternative-first-line"},
    "monitor.ig-due": {"scheduled", "overdue", "never-measured", "trend"},
    "monitor.igg-trough": {"scheduled", "overdue", "never-measured", "trend"},
    "vaccine.live-avoid": {
        "on-therapy",
        "starting",
        "not-repleted",
        "live-vaccine-given",
        "live-vaccine-recent",
    },
    "igrt.trough-below-target": {"trough-below-target", "at-ceiling"},
    # the missing items evaluate.igm-deficiency lists (revision 2: none asked for that cannot be judged)
    "evaluate.igm-deficiency": {"specific-antibodies", "specific-antibodies-deferred"},
}
DATA_ISSUE_CODES = {
    "unit-missing": "error",
    "unit-unconvertible": "error",
    "value-implausible": "error",
    "date-missing": "error",
    "date-future": "warning",
    "weight-missing": "warning",
    "height-or-sex-missing": "warning",
    "therapy-undated": "warning",
    "infection-unresolved-stale": "warning",
    "pediatric-no-reference-range": "warning",
    "pneumococcal-not-assessable": "info",
    "recognised-by-name": "info",
}
MONITORING_TESTS = {"ig-panel", "igg-trough", "cd19", "specific-antibodies", "lymphocyte-subsets"}

# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------


def d(s: str) -> date:
    return date.fromisoformat(s[:10])


def days_between(a: str, b: str) -> int:
    """b - a in days."""
    return (d(b) - d(a)).days


def plus_days(a: str, n: int) -> str:
    return (d(a) + timedelta(days=n)).isoformat()


def plus_months(a: str, n: int) -> str:
    x = d(a)
    m = x.month - 1 + n
    y, m = x.year + m // 12, m % 12 + 1
    last = [
        31,
        29 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 28,
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ][m - 1]
    return date(y, m, min(x.day, last)).isoformat()


def gap(a: str, b: str, n: int) -> None:
    """Asserts the hand-worked arithmetic stated in a description: b - a == n days."""
    assert days_between(a, b) == n, (a, b, n, days_between(a, b))


def mgap(a: str, months: int, b: str) -> None:
    assert plus_months(a, months) == b, (a, months, b, plus_months(a, months))


# --------------------------------------------------------------------------------------------
# Codes
# --------------------------------------------------------------------------------------------
IGG = ("2465-3", "IgG [Mass/volume] in Serum or Plasma")
IGM = ("2472-9", "IgM [Mass/volume] in Serum or Plasma")
IGA = ("2458-8", "IgA [Mass/volume] in Serum or Plasma")
CD19 = ("8116-6", "CD19 cells [#/volume] in Blood")
CD19_PCT = ("8117-4", "CD19 cells/100 cells in Blood")
WEIGHT = ("29463-7", "Body weight")
HEIGHT = ("8302-2", "Body height")

# infections: (system, code, display)
PNEUMOCOCCAL_PNEUMONIA = (SNOMED, "233607000", "Pneumococcal pneumonia")
PNEUMONIA = (SNOMED, "233604007", "Pneumonia")
SINUSITIS = (SNOMED, "36971009", "Sinusitis")
UTI = (SNOMED, "68566005", "Urinary tract infectious disease")
BRONCHITIS = (SNOMED, "32398004", "Bronchitis")
OTITIS = (SNOMED, "65363002", "Otitis media")
SEPSIS = (SNOMED, "91302008", "Sepsis")
HIB_INFECTION = (SNOMED, "91428005", "Haemophilus influenzae infection")
PML = (SNOMED, "22255007", "Progressive multifocal leukoencephalopathy")
J13 = (ICD10, "J13", "Pneumonia due to Streptococcus pneumoniae")
J18_9 = (ICD10, "J18.9", "Pneumonia, unspecified organism")
J01_90 = (ICD10, "J01.90", "Acute sinusitis, unspecified")
A41_9 = (ICD10, "A41.9", "Sepsis, unspecified organism")
A81_2 = (ICD10, "A81.2", "Progressive multifocal leukoencephalopathy")
B59 = (ICD10, "B59", "Pneumocystosis")
# diagnoses
IGMD = (SNOMED, "190980000", "Selective deficiency of immunoglobulin M")
IGMD_ICD = (ICD10, "D80.4", "Selective deficiency of immunoglobulin M [IgM]")
SAD_ICD = (ICD10, "D80.6", "Antibody deficiency with near-normal immunoglobulins")
MS = (ICD10, "G35", "Multiple sclerosis")
SLE = (ICD10, "M32.9", "Systemic lupus erythematosus, unspecified")
HASHIMOTO = (ICD10, "E06.3", "Autoimmune thyroiditis")

SEVERITY = {
    "mild": ("255604002", "Mild"),
    "moderate": ("6736007", "Moderate"),
    "severe": ("24484000", "Severe"),
    "life-threatening": ("442452003", "Life threatening severity"),
}
ORGANISM = {
    "spn": ("9861002", "Streptococcus pneumoniae"),
    "hib": ("44470000", "Haemophilus influenzae"),
    "nme": ("17872004", "Neisseria meningitidis"),
}
ROUTE = {"iv": ("47625008", "Intravenous route"), "sc": ("34206005", "Subcutaneous route")}

DRUG = {
    "ofa": {
        "coding": [{"system": RXNORM, "code": "712566", "display": "ofatumumab"}],
        "text": "Kesimpta 20 MG in 0.4 ML Auto-Injector",
    },
    "ofa-name": {"text": "Kesimpta (ofatumumab) 20 mg/0.4 mL Sensoready pen"},
    "ocr": {
        "coding": [{"system": RXNORM, "code": "1876366", "display": "ocrelizumab"}],
        "text": "Ocrevus 300 MG in 10 ML Injection",
    },
    "rtx": {
        "coding": [{"system": RXNORM, "code": "121191", "display": "rituximab"}],
        "text": "rituximab 10 MG/ML Injection",
    },
    "ubl": {"text": "Briumvi (ublituximab-xiiy) 150 mg/6 mL injection"},
    "obi": {"text": "Gazyva (obinutuzumab) 1000 mg/40 mL injection"},
    "ine": {"text": "Uplizna (inebilizumab-cdon) 100 mg/10 mL injection"},
    "ivig": {"text": "Privigen (immune globulin intravenous, human) 10% liquid"},
    "scig": {"text": "Hizentra (immune globulin subcutaneous, human) 20% liquid"},
    "amox": {
        "coding": [{"system": RXNORM, "code": "723", "display": "amoxicillin"}],
        "text": "amoxicillin 500 MG Oral Capsule",
    },
    "azi": {
        "coding": [{"system": RXNORM, "code": "18631", "display": "azithromycin"}],
        "text": "azithromycin 250 MG Oral Tablet",
    },
    "sxt": {
        "coding": [{"system": RXNORM, "code": "10831", "display": "sulfamethoxazole / trimethoprim"}],
        "text": "sulfamethoxazole 800 MG / trimethoprim 160 MG Oral Tablet",
    },
}
VACCINE = {
    "03": "measles, mumps and rubella virus vaccine (MMR), live",
    "21": "varicella virus vaccine, live",
    "121": "zoster vaccine, live",
    "187": "zoster vaccine recombinant, adjuvanted",
    "33": "pneumococcal polysaccharide vaccine, 23 valent",
    "133": "pneumococcal conjugate vaccine, 13 valent",
    "141": "influenza, seasonal, injectable",
}
SEROTYPES = ["1", "3", "4", "5", "6B", "7F", "9V", "14", "18C", "19F"]

# --------------------------------------------------------------------------------------------
# Resource helpers (subject/patient references are filled in when the bundle is assembled)
# --------------------------------------------------------------------------------------------


def cc(system, code, display):
    return {"coding": [{"system": system, "code": code, "display": display}]}


def qty(value, unit, comparator=None):
    out = {"value": value, "unit": unit, "system": UCUM, "code": unit}
    if comparator:
        out["comparator"] = comparator
    return out


def lab(
    code,
    day,
    value,
    unit,
    comparator=None,
    ref_low=None,
    status="final",
    rid=None,
    no_unit=False,
    date_field="effectiveDateTime",
    text=None,
):
    r = {
        "resourceType": "Observation",
        "status": status,
        "category": [{"coding": [{"system": OBS_CAT, "code": "laboratory"}]}],
    }
    if rid:
        r["id"] = rid
    if text and code is None:
        r["code"] = {"text": text}
    else:
        r["code"] = cc(LOINC, code[0], code[1])
    if day is not None:
        if date_field == "effectivePeriod":
            r["effectivePeriod"] = {"start": day}
        else:
            r[date_field] = day
    if no_unit:
        r["valueQuantity"] = {"value": value}
    else:
        r["valueQuantity"] = qty(value, unit, comparator)
    if ref_low is not None:
        low_value, low_unit = ref_low if isinstance(ref_low, tuple) else (ref_low, unit)
        r["referenceRange"] = [{"low": qty(low_value, low_unit)}]
    return r


def igg(day, v, unit="mg/dL", **kw):
    return lab(IGG, day, v, unit, **kw)


def igm(day, v, unit="mg/dL", **kw):
    return lab(IGM, day, v, unit, **kw)


def iga(day, v, unit="mg/dL", **kw):
    return lab(IGA, day, v, unit, **kw)


def ig_panel(day, g, m, a, unit="mg/dL"):
    out = []
    if g is not None:
        out.append(igg(day, g, unit))
    if m is not None:
        out.append(igm(day, m, unit))
    if a is not None:
        out.append(iga(day, a, unit))
    return out


def weight(day, v, unit="kg"):
    r = lab(WEIGHT, day, v, unit)
    r["category"] = [{"coding": [{"system": OBS_CAT, "code": "vital-signs"}]}]
    return r


def height(day, v, unit="cm"):
    r = lab(HEIGHT, day, v, unit)
    r["category"] = [{"coding": [{"system": OBS_CAT, "code": "vital-signs"}]}]
    return r


def cd19(day, v, unit="/uL", ref_low=None):
    return lab(CD19, day, v, unit, ref_low=ref_low)


def serotypes(day, values, unit="ug/mL"):
    assert len(values) <= len(SEROTYPES)
    return [
        lab(
            None,
            day,
            v,
            unit,
            text=f"Streptococcus pneumoniae Danish serotype {s} IgG Ab [Mass/volume] in Serum",
        )
        for s, v in zip(SEROTYPES, values, strict=False)
    ]


def encounter(rid, start, end, cls="IMP"):
    names = {
        "IMP": "inpatient encounter",
        "AMB": "ambulatory",
        "EMER": "emergency",
        "ACUTE": "inpatient acute",
        "NONAC": "inpatient non-acute",
    }
    return {
        "resourceType": "Encounter",
        "id": rid,
        "status": "finished",
        "class": {"system": V3ACT, "code": cls, "display": names[cls]},
        "period": {"start": start, "end": end},
    }


def culture(rid, day, organism):
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "category": [{"coding": [{"system": OBS_CAT, "code": "laboratory"}]}],
        "code": cc(LOINC, "600-7", "Bacteria identified in Blood by Culture"),
        "effectiveDateTime": day,
        "valueCodeableConcept": cc(SNOMED, *ORGANISM[organism]),
    }


AUTO = object()


def infection(
    onset,
    code=PNEUMONIA,
    severity=None,
    organism=None,
    culture_ref=None,
    enc=None,
    clinical="resolved",
    abatement=AUTO,
    verification="confirmed",
    insufficient=False,
    rid=None,
    recorded=None,
):
    r = {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"system": COND_CLIN, "code": clinical}]},
        "verificationStatus": {"coding": [{"system": COND_VER, "code": verification}]},
        "category": [{"coding": [{"system": COND_CAT, "code": "encounter-diagnosis"}]}],
        "code": cc(*code),
    }
    if rid:
        r["id"] = rid
    if onset is not None:
        r["onsetDateTime"] = onset
    if recorded is not None:
        r["recordedDate"] = recorded
    if abatement is AUTO:
        abatement = plus_days(onset or recorded, 10) if clinical == "resolved" else None
    if abatement:
        r["abatementDateTime"] = abatement
    if severity:
        r["severity"] = cc(SNOMED, *SEVERITY[severity])
    evidence = {}
    if organism:
        evidence["code"] = [cc(SNOMED, *ORGANISM[organism])]
    if culture_ref:
        evidence["detail"] = [{"reference": f"Observation/{culture_ref}"}]
    if evidence:
        r["evidence"] = [evidence]
    if enc:
        r["encounter"] = {"reference": f"Encounter/{enc}"}
    if insufficient:
        r["extension"] = [{"url": ABX_EXT, "valueCode": "insufficient"}]
    return r


def diagnosis(code, onset, clinical="active", rid=None):
    r = {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"system": COND_CLIN, "code": clinical}]},
        "verificationStatus": {"coding": [{"system": COND_VER, "code": "confirmed"}]},
        "category": [{"coding": [{"system": COND_CAT, "code": "problem-list-item"}]}],
        "code": cc(*code),
        "onsetDateTime": onset,
    }
    if rid:
        r["id"] = rid
    return r


def _dosage(route, dose_g, every_weeks):
    dose = {}
    if route:
        dose["route"] = cc(SNOMED, *ROUTE[route])
    if dose_g is not None:
        dose["doseAndRate"] = [{"doseQuantity": qty(dose_g, "g")}]
    if every_weeks is not None:
        dose["timing"] = {"repeat": {"frequency": 1, "period": every_weeks, "periodUnit": "wk"}}
    return dose


def statement(
    drug,
    start=None,
    end=None,
    status="active",
    route=None,
    dose_g=None,
    every_weeks=None,
    reason_ref=None,
    reason_text=None,
    rid=None,
    med_ref=None,
):
    r = {"resourceType": "MedicationStatement", "status": status}
    if rid:
        r["id"] = rid
    if med_ref:
        r["medicationReference"] = {"reference": med_ref}
    else:
        r["medicationCodeableConcept"] = DRUG[drug]
    if start or end:
        r["effectivePeriod"] = {k: v for k, v in (("start", start), ("end", end)) if v}
    dose = _dosage(route, dose_g, every_weeks)
    if dose:
        r["dosage"] = [dose]
    if reason_ref:
        r["reasonReference"] = [{"reference": f"Condition/{reason_ref}"}]
    if reason_text:
        r["reasonCode"] = [{"text": reason_text}]
    return r


def request(
    drug,
    status="active",
    intent="order",
    start=None,
    end=None,
    authored=None,
    route=None,
    dose_g=None,
    every_weeks=None,
):
    r = {
        "resourceType": "MedicationRequest",
        "status": status,
        "intent": intent,
        "medicationCodeableConcept": DRUG[drug],
    }
    if authored:
        r["authoredOn"] = authored
    dose = _dosage(route, dose_g, every_weeks)
    if start or end:
        dose.setdefault("timing", {}).setdefault("repeat", {})["boundsPeriod"] = {
            k: v for k, v in (("start", start), ("end", end)) if v
        }
    if dose:
        r["dosageInstruction"] = [dose]
    return r


def admin(drug, day, route=None, dose_g=None, status="completed"):
    r = {
        "resourceType": "MedicationAdministration",
        "status": status,
        "medicationCodeableConcept": DRUG[drug],
        "effectiveDateTime": day,
    }
    dose = {}
    if route:
        dose["route"] = cc(SNOMED, *ROUTE[route])
    if dose_g is not None:
        dose["dose"] = qty(dose_g, "g")
    if dose:
        r["dosage"] = dose
    return r


def immunization(day, cvx, text_only=None):
    r = {"resourceType": "Immunization", "status": "completed", "occurrenceDateTime": day}
    r["vaccineCode"] = {"text": text_only} if text_only else cc(CVX, cvx, VACCINE[cvx])
    return r


# --------------------------------------------------------------------------------------------
# Case assembly
# --------------------------------------------------------------------------------------------
CASES: list[dict] = []
PREFIX = {
    "Observation": "obs",
    "Condition": "cond",
    "MedicationStatement": "ms",
    "MedicationRequest": "mr",
    "MedicationAdministration": "ma",
    "Immunization": "imm",
    "Encounter": "enc",
    "Medication": "med",
}


def flatten(items):
    for it in items:
        if isinstance(it, (list, tuple)):
            yield from flatten(it)
        elif it is not None:
            yield it


def make_patient(pid, gender="female", birth="1984-05-12"):
    p = {
        "resourceType": "Patient",
        "id": pid,
        "birthDate": birth,
        "name": [{"family": "Vignette", "given": ["Sam"]}],
    }
    if gender:
        p["gender"] = gender
    return p


def bundle(
    slug,
    resources,
    gender="female",
    birth="1984-05-12",
    with_patient=True,
    urn=False,
    extra_patient=False,
    patient_extra=None,
):
    pid = f"pat-{slug}"
    entries = []
    res = [json.loads(json.dumps(r)) for r in flatten(resources)]
    counters: dict[str, int] = {}
    for r in res:
        if "id" not in r:
            pre = PREFIX[r["resourceType"]]
            counters[pre] = counters.get(pre, 0) + 1
            r["id"] = f"{pre}-{counters[pre]}"
        if r["resourceType"] == "Immunization":
            r["patient"] = {"reference": f"Patient/{pid}"}
        elif r["resourceType"] not in ("Medication",):
            r["subject"] = {"reference": f"Patient/{pid}"}
    ids = [(r["resourceType"], r["id"]) for r in res]
    assert len(ids) == len(set(ids)), f"duplicate ids in {slug}"
    if with_patient:
        res.insert(0, {**make_patient(pid, gender, birth), **(patient_extra or {})})
    if extra_patient:
        res.insert(1, make_patient(pid + "-2", "male", "1979-02-03"))
    url = {}
    for r in res:
        key = f"{r['resourceType']}/{r['id']}"
        url[key] = (
            f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, slug + '/' + key)}" if urn else f"{BASE_URL}/{key}"
        )
    if urn:

        def rewrite(o):
            if isinstance(o, dict):
                return {k: (url.get(v, v) if k == "reference" else rewrite(v)) for k, v in o.items()}
            if isinstance(o, list):
                return [rewrite(x) for x in o]
            return o

        res = [rewrite(r) for r in res]
    for r in res:
        entries.append({"fullUrl": url[f"{r['resourceType']}/{r['id']}"], "resource": r})
    return {"resourceType": "Bundle", "id": f"bundle-{slug}", "type": "collection", "entry": entries}


def E(
    present=(),
    absent=(),
    reasons=None,
    priority=None,
    monitoring=None,
    dosing=None,
    dosing_null=False,
    applicable=None,
    populations=None,
    data_issue=None,
):
    e = {}
    if present:
        e["present"] = list(present)
    if absent:
        e["absent"] = list(absent)
    if reasons:
        e["reasons"] = reasons
    if priority:
        e["priority"] = priority
    if monitoring:
        e["monitoring"] = monitoring
    if dosing:
        e["dosing"] = dosing
    if dosing_null:
        e["dosing_null"] = True
    if applicable is not None:
        e["applicable"] = applicable
    if populations is not None:
        e["populations"] = populations
    if data_issue:
        e["data_issue"] = data_issue
    return e


def case(slug, description, expect, resources, as_of=AS_OF, profile="default", **bkw):
    name = f"v-{slug}"
    CASES.append(
        {
            "name": name,
            "as_of": as_of,
            "profile": profile,
            "description": description,
            "expect": expect,
            "bundle": bundle(name, resources, **bkw),
        }
    )


def raw_case(slug, description, raw, as_of=AS_OF):
    CASES.append(
        {
            "name": f"v-{slug}",
            "as_of": as_of,
            "profile": "default",
            "description": description,
            "expect": {"exit": 2},
            "raw": raw,
        }
    )


# --------------------------------------------------------------------------------------------
# Common contexts
# --------------------------------------------------------------------------------------------
NORMAL = (910, 80, 130)


def ofa_active(start="2023-09-01", **kw):
    return statement("ofa", start=start, status="active", **kw)


def k_base(agent="ofa", panel_date="2026-08-20", ig=NORMAL, wt=75, wt_date="2026-08-20", start="2023-09-01"):
    """An MS patient on an anti-CD20 agent since 2023 with a recent complete panel and weight."""
    out = [statement(agent, start=start, status="active")]
    if ig:
        out += ig_panel(panel_date, *ig)
    if wt:
        out.append(weight(wt_date, wt))
    return out


def d_base(
    dx=IGMD, dx_date="2020-03-01", panel_date="2026-08-20", ig=(900, 20, 120), wt=66, wt_date="2026-09-10"
):
    """Confirmed primary selective IgM deficiency (diagnosis 2020), never on an anti-CD20 agent."""
    out = [diagnosis(dx, dx_date)]
    if ig:
        out += ig_panel(panel_date, *ig)
    if wt:
        out.append(weight(wt_date, wt))
    return out


def severe_pnc(onset, **kw):
    return infection(onset, PNEUMOCOCCAL_PNEUMONIA, severity="severe", **kw)


ALWAYS = ["monitor.infections", "education.infection-warning-signs"]


# ============================================================================================
# igrt.start — K-8a: >= 2 severe episodes with encapsulated bacteria in 12 months
# ============================================================================================
def cases_k8a():
    dose82 = {
        "weight_basis": "actual",
        "weight_kg": 82,
        "ivig.g_per_kg": 0.4,
        "ivig.dose_g_exact": 32.8,
        "ivig.dose_g": 35,
        "ivig.interval_weeks": 4,
        "ivig.alternative_interval_weeks": 3,
        "scig.conversion_factor": 1.0,
        "scig.weekly_g": 8,
        "scig.biweekly_g": 16,
        "trough_target_mg_dl": [600, 800],
        "titration": None,
    }
    case(
        "k8a-two-severe-pneumococcal",
        "§5 igrt.start K-8a: 2 severe pneumococcal pneumonias (2026-02-03, 2026-08-19) in 12 months on "
        "ofatumumab, IgG/IgM normal ('whatever the level'); §6 82 kg: 32.8 g -> 35 g (6.7%), SCIG 8.2->8 / 16.4->16",
        E(
            present=["igrt.start", "anti-cd20.continue", *ALWAYS],
            absent=[
                "prophylaxis.consider",
                "igrt.not-for-labs-alone",
                "igrt.mucosal-residual-risk",
                "anti-cd20.consider-discontinuation",
            ],
            reasons={"igrt.start": ["encapsulated-recurrent"]},
            priority={"igrt.start": "warning"},
            dosing=dose82,
            populations=["K"],
            applicable=True,
        ),
        [k_base(wt=82, wt_date="2026-09-30"), severe_pnc("2026-02-03"), severe_pnc("2026-08-19")],
    )
    case(
        "k8a-one-severe-pneumococcal",
        "§5 igrt.start K-8a twin: only 1 severe pneumococcal pneumonia (2026-08-19) -> no K-8a, no "
        "recurrence (prophylaxis.consider needs >= 2 episodes), no dose block",
        E(
            present=["anti-cd20.continue", *ALWAYS],
            absent=["igrt.start", "prophylaxis.consider"],
            dosing_null=True,
        ),
        [k_base(wt=82, wt_date="2026-09-30"), severe_pnc("2026-08-19")],
    )
    case(
        "k8a-second-not-encapsulated",
        "§5 K-8a needs both episodes encapsulated: severe pneumococcal pneumonia + severe UTI (no organism) "
        "-> no igrt.start; 2 episodes, no igrt.start -> prophylaxis.consider recurrent-infections (K-17)",
        E(
            present=["prophylaxis.consider"],
            absent=["igrt.start", "prophylaxis.not-routine"],
            reasons={"prophylaxis.consider": ["recurrent-infections"]},
        ),
        [k_base(), severe_pnc("2026-02-03"), infection("2026-08-19", UTI, severity="severe")],
    )
    case(
        "k8a-second-not-severe",
        "§5 K-8a needs both episodes severe: severe + moderate pneumococcal pneumonia -> no igrt.start; "
        "prophylaxis.consider (K: 2 episodes, no igrt.start)",
        E(
            present=["prophylaxis.consider"],
            absent=["igrt.start"],
            reasons={"prophylaxis.consider": ["recurrent-infections"]},
        ),
        [
            k_base(),
            severe_pnc("2026-02-03"),
            infection("2026-08-19", PNEUMOCOCCAL_PNEUMONIA, severity="moderate"),
        ],
    )
    case(
        "k8a-organism-evidence-code",
        "F4 encapsulated from Condition.evidence.code (S. pneumoniae 9861002, H. influenzae 44470000) on "
        "2 severe pneumonias 233604007 -> igrt.start encapsulated-recurrent",
        E(present=["igrt.start"], reasons={"igrt.start": ["encapsulated-recurrent"]}),
        [
            k_base(),
            infection("2026-01-20", PNEUMONIA, severity="severe", organism="spn"),
            infection("2026-07-02", PNEUMONIA, severity="severe", organism="hib"),
        ],
    )
    case(
        "k8a-organism-culture-observation",
        "F4 encapsulated from a culture Observation in Condition.evidence.detail (N. meningitidis "
        "17872004, §8 list) on 2 severe J18.9 pneumonias -> igrt.start encapsulated-recurrent",
        E(present=["igrt.start"], reasons={"igrt.start": ["encapsulated-recurrent"]}),
        [
            k_base(),
            culture("cult-1", "2026-01-21", "nme"),
            culture("cult-2", "2026-07-03", "nme"),
            infection("2026-01-20", J18_9, severity="severe", culture_ref="cult-1"),
            infection("2026-07-02", J18_9, severity="severe", culture_ref="cult-2"),
        ],
    )
    case(
        "k8a-no-organism",
        "F4 twin: the same 2 severe pneumonias 233604007 with no organism are not encapsulated -> no "
        "igrt.start; prophylaxis.consider recurrent-infections",
        E(
            present=["prophylaxis.consider"],
            absent=["igrt.start"],
            reasons={"prophylaxis.consider": ["recurrent-infections"]},
        ),
        [
            k_base(),
            infection("2026-01-20", PNEUMONIA, severity="severe"),
            infection("2026-07-02", PNEUMONIA, severity="severe"),
        ],
    )
    case(
        "k8a-severe-by-inpatient-stay",
        "F4 severe = led to an inpatient encounter (class IMP): 2 pneumococcal pneumonias without "
        "coded severity, each with its own admission -> igrt.start encapsulated-recurrent",
        E(present=["igrt.start"], reasons={"igrt.start": ["encapsulated-recurrent"]}),
        [
            k_base(),
            encounter("enc-a", "2026-01-20", "2026-01-27"),
            encounter("enc-b", "2026-07-02", "2026-07-08"),
            infection("2026-01-20", PNEUMOCOCCAL_PNEUMONIA, enc="enc-a"),
            infection("2026-07-02", PNEUMOCOCCAL_PNEUMONIA, enc="enc-b"),
        ],
    )
    case(
        "k8a-outpatient-not-severe",
        "F4 twin: same 2 pneumococcal pneumonias seen in ambulatory encounters (AMB) are not severe -> no "
        "igrt.start; prophylaxis.consider",
        E(present=["prophylaxis.consider"], absent=["igrt.start"]),
        [
            k_base(),
            encounter("enc-a", "2026-01-20", "2026-01-20", "AMB"),
            encounter("enc-b", "2026-07-02", "2026-07-02", "AMB"),
            infection("2026-01-20", PNEUMOCOCCAL_PNEUMONIA, enc="enc-a"),
            infection("2026-07-02", PNEUMOCOCCAL_PNEUMONIA, enc="enc-b"),
        ],
    )
    case(
        "k8a-ocrelizumab-class-extension",
        "§1/§9.10 K rules apply to every anti-CD20: ocrelizumab + 2 severe pneumococcal pneumonias -> "
        "igrt.start encapsulated-recurrent; revision 2: anti-cd20.continue too (no K-13 reason)",
        E(
            present=["igrt.start", "anti-cd20.continue"],
            absent=["anti-cd20.consider-discontinuation"],
            reasons={"igrt.start": ["encapsulated-recurrent"]},
            populations=["K"],
        ),
        [k_base(agent="ocr", start="2024-02-01"), severe_pnc("2026-02-03"), severe_pnc("2026-08-19")],
    )
    case(
        "k8a-refuted-record",
        "F4 excludes verificationStatus refuted: 2nd severe pneumococcal pneumonia refuted -> 1 episode, "
        "no igrt.start",
        E(absent=["igrt.start", "prophylaxis.consider"]),
        [k_base(), severe_pnc("2026-02-03"), severe_pnc("2026-08-19", verification="refuted")],
    )
    case(
        "k8a-entered-in-error-record",
        "F4 excludes verificationStatus entered-in-error: 2nd episode ignored -> no igrt.start",
        E(absent=["igrt.start", "prophylaxis.consider"]),
        [k_base(), severe_pnc("2026-02-03"), severe_pnc("2026-08-19", verification="entered-in-error")],
    )
    case(
        "k8a-recorded-date",
        "F4 an infection without onset is dated by recordedDate (2026-08-19) -> 2 severe pneumococcal "
        "episodes -> igrt.start encapsulated-recurrent",
        E(present=["igrt.start"], reasons={"igrt.start": ["encapsulated-recurrent"]}),
        [k_base(), severe_pnc("2026-02-03"), severe_pnc(None, recorded="2026-08-19")],
    )
    case(
        "k8a-hib-codes",
        "F4 organism from the code itself: 2 severe H. influenzae infections 91428005 -> igrt.start "
        "encapsulated-recurrent",
        E(present=["igrt.start"], reasons={"igrt.start": ["encapsulated-recurrent"]}),
        [
            k_base(),
            infection("2026-02-14", HIB_INFECTION, severity="severe"),
            infection("2026-06-30", HIB_INFECTION, severity="severe"),
        ],
    )
    case(
        "k8a-severe-by-nature-meningitis",
        "F4 severe by nature: 2 meningitis 7180009 (no severity coded, outpatient data only) with S. pneumoniae "
        "evidence -> severe + encapsulated -> igrt.start encapsulated-recurrent",
        E(present=["igrt.start"], reasons={"igrt.start": ["encapsulated-recurrent"]}),
        [
            k_base(),
            infection("2026-01-20", (SNOMED, "7180009", "Meningitis"), organism="spn"),
            infection("2026-07-02", (SNOMED, "7180009", "Meningitis"), organism="spn"),
        ],
    )
    case(
        "k8a-severe-by-acute-encounters",
        "Contract §1 inpatient = class IMP, ACUTE or NONAC: 2 pneumococcal pneumonias with ACUTE and NONAC "
        "encounters -> severe -> igrt.start encapsulated-recurrent",
        E(present=["igrt.start"], reasons={"igrt.start": ["encapsulated-recurrent"]}),
        [
            k_base(),
            encounter("enc-a", "2026-01-20", "2026-01-27", "ACUTE"),
            encounter("enc-b", "2026-07-02", "2026-07-20", "NONAC"),
            infection("2026-01-20", PNEUMOCOCCAL_PNEUMONIA, enc="enc-a"),
            infection("2026-07-02", PNEUMOCOCCAL_PNEUMONIA, enc="enc-b"),
        ],
    )
    case(
        "k8a-emergency-not-inpatient",
        "Contract §1 twin: EMER encounters are not inpatient -> not severe -> no igrt.start",
        E(absent=["igrt.start"], present=["prophylaxis.consider"]),
        [
            k_base(),
            encounter("enc-a", "2026-01-20", "2026-01-20", "EMER"),
            encounter("enc-b", "2026-07-02", "2026-07-02", "EMER"),
            infection("2026-01-20", PNEUMOCOCCAL_PNEUMONIA, enc="enc-a"),
            infection("2026-07-02", PNEUMOCOCCAL_PNEUMONIA, enc="enc-b"),
        ],
    )
    case(
        "k8a-igm-low-suppresses-labs-only",
        "§5 with IgM 24 low and 2 severe pneumococcal episodes: igrt.start has a reason -> no "
        "not-for-labs-alone; >= 2 episodes -> no prophylaxis.not-routine; IgM low + igrt.start -> mucosal risk",
        E(
            present=["igrt.start", "igrt.mucosal-residual-risk", "risk.encapsulated-bacteria"],
            absent=["igrt.not-for-labs-alone", "prophylaxis.not-routine", "prophylaxis.consider"],
        ),
        [k_base(ig=(720, 24, 110)), severe_pnc("2026-02-14"), severe_pnc("2026-06-30")],
    )
    case(
        "k8a-and-d8a-both-populations",
        "§1/§5 both populations: IgM deficiency diagnosed 2018 before ofatumumab 2023; 2 severe pneumococcal "
        "pneumonias -> igrt.start with K-8a encapsulated-recurrent and D-8a recurrent-bacterial",
        E(
            populations=["D", "K"],
            present=["igrt.start"],
            reasons={"igrt.start": ["encapsulated-recurrent", "recurrent-bacterial"]},
        ),
        [d_base(dx_date="2018-05-01"), ofa_active(), severe_pnc("2026-02-14"), severe_pnc("2026-06-30")],
    )
    case(
        "k8a-icd10-j13",
        "Contract §1 ICD-10: 2 severe J13 (pneumonia due to S. pneumoniae) -> igrt.start encapsulated-recurrent",
        E(present=["igrt.start"], reasons={"igrt.start": ["encapsulated-recurrent"]}),
        [
            k_base(),
            infection("2026-02-14", J13, severity="severe"),
            infection("2026-06-30", J13, severity="severe"),
        ],
    )


# ============================================================================================
# F4 window (12 calendar months, boundary date included) and episode merging
# ============================================================================================
def cases_window_merge():
    mgap("2025-10-15", 12, "2026-10-15")
    case(
        "window-12m-boundary-inside",
        "F4 window includes its boundary date: as_of 2026-10-15 - 12 months = 2025-10-15; severe "
        "pneumococcal episodes 2025-10-15 and 2026-06-01 both count -> igrt.start encapsulated-recurrent",
        E(present=["igrt.start"], reasons={"igrt.start": ["encapsulated-recurrent"]}),
        [k_base(), severe_pnc("2025-10-15"), severe_pnc("2026-06-01")],
    )
    case(
        "window-12m-boundary-outside",
        "F4 window twin: onset 2025-10-14 is 1 day outside 12 months -> 1 episode in window, no igrt.start",
        E(absent=["igrt.start", "prophylaxis.consider"]),
        [k_base(), severe_pnc("2025-10-14"), severe_pnc("2026-06-01")],
    )
    gap("2026-03-01", "2026-03-15", 14)
    case(
        "merge-14-days-two-episodes",
        "F4 merge: onsets 2026-03-01 and 2026-03-15 are 14 days apart (not < 14) -> 2 severe "
        "pneumococcal episodes -> igrt.start encapsulated-recurrent",
        E(present=["igrt.start"], reasons={"igrt.start": ["encapsulated-recurrent"]}),
        [k_base(), severe_pnc("2026-03-01", abatement="2026-03-10"), severe_pnc("2026-03-15")],
    )
    gap("2026-03-01", "2026-03-14", 13)
    case(
        "merge-13-days-one-episode",
        "F4 merge: onsets 2026-03-01 and 2026-03-14 are 13 days apart (< 14) -> one episode -> no "
        "igrt.start and no recurrence",
        E(absent=["igrt.start", "prophylaxis.consider"]),
        [k_base(), severe_pnc("2026-03-01", abatement="2026-03-10"), severe_pnc("2026-03-14")],
    )
    case(
        "merge-shared-encounter",
        "F4 merge: 2 severe pneumococcal records 2026-03-01 and 2026-05-01 (61 days apart) sharing one "
        "inpatient encounter are one episode -> no igrt.start, no recurrence",
        E(absent=["igrt.start", "prophylaxis.consider"]),
        [
            k_base(),
            encounter("enc-long", "2026-03-01", "2026-05-20"),
            severe_pnc("2026-03-01", enc="enc-long"),
            severe_pnc("2026-05-01", enc="enc-long"),
        ],
    )
    case(
        "merge-separate-encounters",
        "F4 merge twin: same 2 records (2026-03-01, 2026-05-01) in separate admissions are 2 episodes -> "
        "igrt.start encapsulated-recurrent",
        E(present=["igrt.start"], reasons={"igrt.start": ["encapsulated-recurrent"]}),
        [
            k_base(),
            encounter("enc-a", "2026-03-01", "2026-03-09"),
            encounter("enc-b", "2026-05-01", "2026-05-09"),
            severe_pnc("2026-03-01", enc="enc-a"),
            severe_pnc("2026-05-01", enc="enc-b"),
        ],
    )
    gap("2026-03-01", "2026-03-11", 10)
    gap("2026-03-11", "2026-03-21", 10)
    case(
        "merge-chain-one-episode",
        "F4 chained merge: onsets 2026-03-01, 03-11, 03-21 (10 days each, 20 first-to-last) are one "
        "episode -> no igrt.start",
        E(absent=["igrt.start", "prophylaxis.consider"]),
        [
            k_base(),
            severe_pnc("2026-03-01", abatement="2026-03-08"),
            severe_pnc("2026-03-11", abatement="2026-03-18"),
            severe_pnc("2026-03-21"),
        ],
    )
    gap("2026-03-11", "2026-03-25", 14)
    case(
        "merge-chain-broken",
        "F4 chain twin: onsets 2026-03-01, 03-11, 03-25 (last is 14 days after 03-11) -> 2 episodes -> "
        "igrt.start encapsulated-recurrent",
        E(present=["igrt.start"], reasons={"igrt.start": ["encapsulated-recurrent"]}),
        [
            k_base(),
            severe_pnc("2026-03-01", abatement="2026-03-08"),
            severe_pnc("2026-03-11", abatement="2026-03-18"),
            severe_pnc("2026-03-25"),
        ],
    )
    case(
        "merge-worst-attributes",
        "F4 a merged episode carries the worst attributes: severe pneumonia (no organism) 2026-03-01 + "
        "moderate pneumococcal pneumonia 2026-03-05 = one severe encapsulated episode; + severe "
        "pneumococcal 2026-07-01 -> 2 -> igrt.start encapsulated-recurrent",
        E(present=["igrt.start"], reasons={"igrt.start": ["encapsulated-recurrent"]}),
        [
            k_base(),
            infection("2026-03-01", PNEUMONIA, severity="severe"),
            infection("2026-03-05", PNEUMOCOCCAL_PNEUMONIA, severity="moderate"),
            severe_pnc("2026-07-01"),
        ],
    )


# ============================================================================================
# igrt.start — K-8b: IgG < 400 mg/dL
# ============================================================================================
def cases_k8b():
    case(
        "k8b-igg-399",
        "§5 igrt.start K-8b: IgG 399 mg/dL < 400 (IgM 80, IgA 130 normal, no infections) -> igrt.start "
        "igg-below-threshold, warning; not-for-labs-alone needs IgG not severe; §6 75 kg: 30.0 g -> 30 g",
        E(
            present=["igrt.start", "anti-cd20.continue"],
            absent=[
                "igrt.not-for-labs-alone",
                "igrt.mucosal-residual-risk",
                "prophylaxis.consider",
                "anti-cd20.consider-discontinuation",
                "risk.normal-igg-not-protective",
            ],
            reasons={"igrt.start": ["igg-below-threshold"]},
            priority={"igrt.start": "warning"},
            dosing={"ivig.dose_g_exact": 30.0, "ivig.dose_g": 30, "scig.weekly_g": 8, "scig.biweekly_g": 15},
        ),
        [k_base(ig=(399, 80, 130))],
    )
    case(
        "k8b-igg-400",
        "§5 K-8b twin: IgG 400 is not < 400 -> no igrt.start; IgG 400 < 700 is low -> "
        "igrt.not-for-labs-alone (K-20); no dose block",
        E(present=["igrt.not-for-labs-alone"], absent=["igrt.start"], dosing_null=True),
        [k_base(ig=(400, 80, 130))],
    )
    case(
        "k8b-igg-399-g-per-l",
        "K-8b with contract §1 units: IgG 3.99 g/L = 399 mg/dL -> igrt.start igg-below-threshold",
        E(present=["igrt.start"], reasons={"igrt.start": ["igg-below-threshold"]}),
        [ofa_active(), ig_panel("2026-08-20", 3.99, 0.80, 1.30, unit="g/L"), weight("2026-08-20", 75)],
    )
    case(
        "k8b-igg-400-g-per-l",
        "K-8b twin with units: IgG 4.00 g/L = 400 mg/dL -> no igrt.start",
        E(present=["igrt.not-for-labs-alone"], absent=["igrt.start"]),
        [ofa_active(), ig_panel("2026-08-20", 4.00, 0.80, 1.30, unit="g/L"), weight("2026-08-20", 75)],
    )
    mgap("2025-10-15", 12, AS_OF)
    case(
        "k8b-igg-age-12-months-inside",
        "F3 result age, inclusive boundary: IgG 350 dated 2025-10-15 = as_of - 12 months still counts -> "
        "igrt.start igg-below-threshold",
        E(present=["igrt.start"], reasons={"igrt.start": ["igg-below-threshold"]}),
        [ofa_active(), ig_panel("2025-10-15", 350, 80, 130), weight("2026-09-01", 75)],
    )
    case(
        "k8b-igg-age-12-months-outside",
        "F3 result age twin: IgG 350 dated 2025-10-14 is older than 12 months -> unknown for triggers -> "
        "no igrt.start",
        E(absent=["igrt.start"]),
        [ofa_active(), ig_panel("2025-10-14", 350, 80, 130), weight("2026-09-01", 75)],
    )
    case(
        "k8b-latest-igg-counts",
        "F3 latest IgG: 350 (2026-02-01) then 720 (2026-08-20) -> latest not severe -> no igrt.start",
        E(absent=["igrt.start"]),
        [
            ofa_active(),
            ig_panel("2026-02-01", 350, 80, 130),
            ig_panel("2026-08-20", 720, 80, 130),
            weight("2026-08-20", 75),
        ],
    )
    case(
        "k8b-same-date-lowest",
        "F3 several results on one date: the lowest (IgG 420 and 390 on 2026-08-20 -> 390) -> igrt.start "
        "igg-below-threshold",
        E(present=["igrt.start"], reasons={"igrt.start": ["igg-below-threshold"]}),
        [k_base(ig=(420, 80, 130)), igg("2026-08-20", 390)],
    )
    case(
        "k8b-ocrelizumab",
        "K-8b for any anti-CD20 (§9.10): ocrelizumab + IgG 380 -> igrt.start igg-below-threshold; "
        "revision 2: anti-cd20.continue (no severe infection)",
        E(
            present=["igrt.start", "anti-cd20.continue"],
            reasons={"igrt.start": ["igg-below-threshold"]},
        ),
        [k_base(agent="ocr", ig=(380, 80, 130), start="2024-02-01")],
    )
    case(
        "mucosal-igrt-start-igm-low",
        "§5 igrt.mucosal-residual-risk: igrt.start fires (IgG 399) with IgM 20 low -> IgG products do not "
        "replace IgM (D-14)",
        E(present=["igrt.start", "igrt.mucosal-residual-risk"]),
        [k_base(ig=(399, 20, 130))],
    )
    case(
        "mucosal-igrt-start-iga-low",
        "§5 igrt.mucosal-residual-risk: igrt.start fires (IgG 350) with IgA 50 low (< 70) -> present",
        E(present=["igrt.start", "igrt.mucosal-residual-risk"]),
        [k_base(ig=(350, 80, 50))],
    )


# ============================================================================================
# igrt.start — K-8c life-threatening (critical within 30 days or while active), K-8d refractory
# ============================================================================================
def cases_k8c_k8d():
    gap("2026-09-15", AS_OF, 30)
    case(
        "k8c-sepsis-30-days-critical",
        "§5 igrt.start K-8c: sepsis 91302008 (life-threatening set) onset 2026-09-15 = as_of - 30 days, "
        "resolved -> life-threatening-infection, critical (began within critical_recent_days 30)",
        E(
            present=["igrt.start"],
            reasons={"igrt.start": ["life-threatening-infection"]},
            priority={"igrt.start": "critical"},
        ),
        [k_base(), infection("2026-09-15", SEPSIS, abatement="2026-09-29")],
    )
    gap("2026-09-14", AS_OF, 31)
    case(
        "k8c-sepsis-31-days-warning",
        "§5 K-8c twin: sepsis onset 2026-09-14 = 31 days before as_of, resolved -> igrt.start still fires "
        "(episode in window) but warning, not critical (§9.13)",
        E(
            present=["igrt.start"],
            reasons={"igrt.start": ["life-threatening-infection"]},
            priority={"igrt.start": "warning"},
        ),
        [k_base(), infection("2026-09-14", SEPSIS, abatement="2026-09-28")],
    )
    gap("2026-08-01", AS_OF, 75)
    case(
        "k8c-active-life-threatening-critical",
        "§5 K-8c: pneumonia coded life-threatening 442452003, onset 2026-08-01 (75 days), still active -> "
        "critical while active; active infection -> anti-cd20.delay-dose",
        E(
            present=["igrt.start", "anti-cd20.delay-dose"],
            reasons={"igrt.start": ["life-threatening-infection"]},
            priority={"igrt.start": "critical", "anti-cd20.delay-dose": "warning"},
        ),
        [k_base(), infection("2026-08-01", PNEUMONIA, severity="life-threatening", clinical="active")],
    )
    gap("2026-07-16", AS_OF, 91)
    case(
        "k8c-stale-life-threatening-warning",
        "§5 K-8c twin: same record with onset 2026-07-16 (91 days): not active (F4 90 days) and > 30 days -> "
        "igrt.start warning, no delay-dose",
        E(
            present=["igrt.start"],
            absent=["anti-cd20.delay-dose"],
            reasons={"igrt.start": ["life-threatening-infection"]},
            priority={"igrt.start": "warning"},
        ),
        [k_base(), infection("2026-07-16", PNEUMONIA, severity="life-threatening", clinical="active")],
    )
    case(
        "k8c-icd10-sepsis",
        "F4 life-threatening set via ICD-10 A41.9 (sepsis), onset 2026-04-01 resolved -> igrt.start "
        "life-threatening-infection, warning",
        E(
            present=["igrt.start"],
            reasons={"igrt.start": ["life-threatening-infection"]},
            priority={"igrt.start": "warning"},
        ),
        [k_base(), infection("2026-04-01", A41_9)],
    )
    case(
        "k8c-outside-window",
        "F4 window: sepsis onset 2025-10-14 (outside 12 months) -> no igrt.start",
        E(absent=["igrt.start"]),
        [k_base(), infection("2025-10-14", SEPSIS, abatement="2025-10-30")],
    )
    case(
        "k8d-extension-insufficient",
        "§5 igrt.start K-8d: documented bacterial episode (J13, bacterial code) flagged insufficient by the "
        "antibiotic-response extension -> antibiotic-refractory",
        E(
            present=["igrt.start"],
            reasons={"igrt.start": ["antibiotic-refractory"]},
            priority={"igrt.start": "warning"},
        ),
        [k_base(), infection("2026-08-01", J13, severity="moderate", insufficient=True)],
    )
    case(
        "k8d-no-extension",
        "§5 K-8d twin: the same moderate J13 episode without the insufficient flag -> no igrt.start",
        E(absent=["igrt.start"]),
        [k_base(), infection("2026-08-01", J13, severity="moderate")],
    )
    case(
        "k8d-not-documented-bacterial",
        "F4 antibiotic-refractory needs a documented bacterial episode: sinusitis 36971009 (no organism, "
        "not a bacterial code) flagged insufficient -> no igrt.start",
        E(absent=["igrt.start"]),
        [k_base(), infection("2026-08-01", SINUSITIS, severity="moderate", insufficient=True)],
    )
    case(
        "k8d-second-course-different-drug",
        "F4 antibiotic-refractory inferred: pneumonia with H. influenzae evidence, amoxicillin then "
        "azithromycin both naming it (reasonReference) -> igrt.start antibiotic-refractory",
        E(present=["igrt.start"], reasons={"igrt.start": ["antibiotic-refractory"]}),
        [
            k_base(),
            infection(
                "2026-08-01",
                PNEUMONIA,
                severity="moderate",
                organism="hib",
                rid="inf-1",
                abatement="2026-08-25",
            ),
            statement("amox", "2026-08-01", "2026-08-08", status="completed", reason_ref="inf-1"),
            statement("azi", "2026-08-09", "2026-08-13", status="completed", reason_ref="inf-1"),
        ],
    )
    case(
        "k8d-second-course-same-drug",
        "F4 twin: two amoxicillin courses naming the same pneumonia (same drug) -> not refractory, no igrt.start",
        E(absent=["igrt.start"]),
        [
            k_base(),
            infection(
                "2026-08-01",
                PNEUMONIA,
                severity="moderate",
                organism="hib",
                rid="inf-1",
                abatement="2026-08-25",
            ),
            statement("amox", "2026-08-01", "2026-08-08", status="completed", reason_ref="inf-1"),
            statement("amox", "2026-08-09", "2026-08-16", status="completed", reason_ref="inf-1"),
        ],
    )


# ============================================================================================
# anti-cd20.consider-discontinuation / anti-cd20.continue / anti-cd20.delay-dose
# ============================================================================================
def igrt_statement(start="2026-01-10", dose=30, every=4, route="iv", status="active", end=None):
    drug = "ivig" if route == "iv" else "scig"
    return statement(drug, start=start, end=end, status=status, route=route, dose_g=dose, every_weeks=every)


def cases_kesimpta():
    case(
        "kcd-pml-critical",
        "§5 anti-cd20.consider-discontinuation opportunistic-infection (K-13): PML 22255007 onset 2026-08-01 "
        "on ofatumumab -> critical; anti-cd20.continue needs no discontinuation reason",
        E(
            present=["anti-cd20.consider-discontinuation"],
            absent=["anti-cd20.continue"],
            reasons={"anti-cd20.consider-discontinuation": ["opportunistic-infection"]},
            priority={"anti-cd20.consider-discontinuation": "critical"},
        ),
        [k_base(), infection("2026-08-01", PML, clinical="active")],
    )
    case(
        "kcd-pml-coded-mild",
        "F4 (revision 2) opportunistic is always serious: PML coded mild -> consider-discontinuation "
        "opportunistic-infection, critical; no continue",
        E(
            present=["anti-cd20.consider-discontinuation", "anti-cd20.delay-dose"],
            absent=["anti-cd20.continue"],
            reasons={"anti-cd20.consider-discontinuation": ["opportunistic-infection"]},
            priority={"anti-cd20.consider-discontinuation": "critical"},
        ),
        [k_base(), infection("2026-08-01", PML, severity="mild", clinical="active")],
    )
    case(
        "kcd-pml-icd10",
        "F4 opportunistic set via ICD-10 A81.2 (PML), onset 2026-05-01 resolved -> consider-discontinuation "
        "opportunistic-infection, critical",
        E(
            present=["anti-cd20.consider-discontinuation"],
            absent=["anti-cd20.continue"],
            reasons={"anti-cd20.consider-discontinuation": ["opportunistic-infection"]},
            priority={"anti-cd20.consider-discontinuation": "critical"},
        ),
        [k_base(), infection("2026-05-01", A81_2, abatement="2026-07-01")],
    )
    case(
        "kcd-pneumocystis",
        "F4 opportunistic set: pneumocystosis ICD-10 B59, onset 2026-06-10 resolved -> "
        "consider-discontinuation opportunistic-infection",
        E(
            present=["anti-cd20.consider-discontinuation"],
            reasons={"anti-cd20.consider-discontinuation": ["opportunistic-infection"]},
        ),
        [k_base(), infection("2026-06-10", B59, abatement="2026-07-05")],
    )
    case(
        "kcd-pml-outside-window",
        "§5 serious opportunistic episode 'in the window': PML onset 2025-10-14 (outside 12 months), resolved -> "
        "no consider-discontinuation",
        E(present=["anti-cd20.continue"], absent=["anti-cd20.consider-discontinuation"]),
        [k_base(), infection("2025-10-14", PML, abatement="2026-01-10")],
    )
    case(
        "kcd-pml-ocrelizumab",
        "§1/§5 (revision 2) the therapy rules apply to every agent: active PML on ocrelizumab -> "
        "consider-discontinuation critical, delay-dose; never silence",
        E(
            present=["anti-cd20.consider-discontinuation", "anti-cd20.delay-dose"],
            absent=["anti-cd20.continue"],
            reasons={"anti-cd20.consider-discontinuation": ["opportunistic-infection"]},
            priority={"anti-cd20.consider-discontinuation": "critical"},
        ),
        [k_base(agent="ocr", start="2024-02-01"), infection("2026-08-01", PML, clinical="active")],
    )
    gap("2026-01-10", "2026-02-07", 28)
    case(
        "kcd-recurrent-despite-igrt-28-days",
        "§5 recurrent-despite-igrt (§9.7): IVIG from 2026-01-10; sinusitis 2026-02-07 (= start + 28 days) "
        "and 2026-06-01 -> 2 episodes on IgRT; trough 700 on target -> also igrt.breakthrough-infections",
        E(
            present=[
                "anti-cd20.consider-discontinuation",
                "igrt.breakthrough-infections",
                "igrt.trough-on-target",
            ],
            absent=["anti-cd20.continue", "igrt.start"],
            reasons={"anti-cd20.consider-discontinuation": ["recurrent-despite-igrt"]},
            priority={
                "anti-cd20.consider-discontinuation": "warning",
                "igrt.breakthrough-infections": "warning",
            },
        ),
        [
            k_base(ig=None),
            igrt_statement(),
            ig_panel("2026-09-01", 700, 60, 120),
            infection("2026-02-07", SINUSITIS, severity="moderate"),
            infection("2026-06-01", SINUSITIS, severity="moderate"),
        ],
    )
    gap("2026-01-10", "2026-02-06", 27)
    case(
        "kcd-recurrent-despite-igrt-27-days",
        "§5 twin: first sinusitis 2026-02-06 = start + 27 days is before the IgRT effect -> 1 episode on IgRT "
        "-> no consider-discontinuation, no breakthrough; on IgRT so no prophylaxis.consider",
        E(
            present=["anti-cd20.continue", "igrt.trough-on-target"],
            absent=[
                "anti-cd20.consider-discontinuation",
                "igrt.breakthrough-infections",
                "prophylaxis.consider",
            ],
        ),
        [
            k_base(ig=None),
            igrt_statement(),
            ig_panel("2026-09-01", 700, 60, 120),
            infection("2026-02-06", SINUSITIS, severity="moderate"),
            infection("2026-06-01", SINUSITIS, severity="moderate"),
        ],
    )
    case(
        "kcd-severe-igg-severe-infection",
        "§5 severe-igg-with-severe-infection (§9.7): IgG 350 < 400 and a severe pneumonia 2026-05-01 -> "
        "consider-discontinuation warning; igrt.start igg-below-threshold",
        E(
            present=["anti-cd20.consider-discontinuation", "igrt.start"],
            absent=["anti-cd20.continue"],
            reasons={
                "anti-cd20.consider-discontinuation": ["severe-igg-with-severe-infection"],
                "igrt.start": ["igg-below-threshold"],
            },
            priority={"anti-cd20.consider-discontinuation": "warning"},
        ),
        [k_base(ig=(350, 80, 130)), infection("2026-05-01", PNEUMONIA, severity="severe")],
    )
    case(
        "kcd-severe-infection-outside-window",
        "§5 twin: IgG 350 with a severe pneumonia 2025-10-14 (outside the 12-month window) -> no "
        "consider-discontinuation",
        E(present=["igrt.start"], absent=["anti-cd20.consider-discontinuation"]),
        [k_base(ig=(350, 80, 130)), infection("2025-10-14", PNEUMONIA, severity="severe")],
    )
    case(
        "kcd-igg-400-severe-infection",
        "§5 twin: IgG 400 is not severe -> no consider-discontinuation; anti-cd20.continue",
        E(present=["anti-cd20.continue"], absent=["anti-cd20.consider-discontinuation", "igrt.start"]),
        [k_base(ig=(400, 80, 130)), infection("2026-05-01", PNEUMONIA, severity="severe")],
    )
    case(
        "kcd-severe-igg-moderate-infection",
        "§5 twin: IgG 350 with a moderate pneumonia (not severe) -> no consider-discontinuation",
        E(present=["anti-cd20.continue", "igrt.start"], absent=["anti-cd20.consider-discontinuation"]),
        [k_base(ig=(350, 80, 130)), infection("2026-05-01", PNEUMONIA, severity="moderate")],
    )
    case(
        "kesimpta-continue-low-igm",
        "§5 anti-cd20.continue (K-6, K-22): ofatumumab current, IgM 28 low, no infections -> continue; "
        "not-for-labs-alone; prophylaxis.not-routine; no delay-dose without active infection",
        E(
            present=[
                "anti-cd20.continue",
                "igrt.not-for-labs-alone",
                "prophylaxis.not-routine",
                "risk.encapsulated-bacteria",
                "vaccine.live-avoid",
                "serology.false-negative-risk",
                *ALWAYS,
            ],
            absent=[
                "anti-cd20.delay-dose",
                "anti-cd20.consider-discontinuation",
                "igrt.start",
                "monitor.bcells",
                "monitor.ig-baseline",
            ],
            reasons={"vaccine.live-avoid": ["on-therapy"]},
            priority={"anti-cd20.continue": "info", "vaccine.live-avoid": "info"},
            populations=["K"],
        ),
        [k_base(ig=(910, 28, 130))],
    )
    case(
        "kesimpta-continue-on-igrt",
        "§5 anti-cd20.continue during IgRT (K-12): ofatumumab + IVIG, no discontinuation reason -> continue",
        E(
            present=["anti-cd20.continue", "monitor.igg-trough"],
            absent=["anti-cd20.consider-discontinuation"],
        ),
        [k_base(ig=None), igrt_statement(), ig_panel("2026-09-25", 650, 21, 90)],
    )

    # delay-dose: active infection (F4: active/recurrence/relapse, no abatement, onset within 90 days)
    case(
        "delay-active-uti",
        "§5 anti-cd20.delay-dose (K-15): active UTI onset 2026-09-20, no abatement -> delay the dose; continue "
        "may fire with it",
        E(
            present=["anti-cd20.delay-dose", "anti-cd20.continue"],
            priority={"anti-cd20.delay-dose": "warning"},
        ),
        [k_base(), infection("2026-09-20", UTI, severity="moderate", clinical="active")],
    )
    case(
        "delay-resolved-infection",
        "F4 twin: UTI onset 2026-09-20 resolved with abatement 2026-10-01 -> not active, no delay-dose",
        E(present=["anti-cd20.continue"], absent=["anti-cd20.delay-dose"]),
        [k_base(), infection("2026-09-20", UTI, severity="moderate", abatement="2026-10-01")],
    )
    gap("2026-07-17", AS_OF, 90)
    case(
        "delay-active-90-days",
        "F4 active_infection_max_days: unresolved UTI onset 2026-07-17 = as_of - 90 days -> still active -> "
        "delay-dose",
        E(present=["anti-cd20.delay-dose"]),
        [k_base(), infection("2026-07-17", UTI, severity="moderate", clinical="active")],
    )
    case(
        "delay-stale-91-days",
        "F4 twin: unresolved UTI onset 2026-07-16 = 91 days -> not active (no delay-dose) and a data issue "
        "infection-unresolved-stale (§7 warning)",
        E(
            absent=["anti-cd20.delay-dose"],
            data_issue={
                "severity": "warning",
                "resource_type": "Condition",
                "match": "infection-unresolved-stale",
            },
        ),
        [k_base(), infection("2026-07-16", UTI, severity="moderate", clinical="active")],
    )
    case(
        "delay-recurrence-status",
        "F4 active includes clinicalStatus recurrence: sinusitis recurrence onset 2026-10-01 -> delay-dose",
        E(present=["anti-cd20.delay-dose"]),
        [k_base(), infection("2026-10-01", SINUSITIS, severity="moderate", clinical="recurrence")],
    )
    case(
        "delay-refuted-not-active",
        "F4 refuted infections are not episodes: active UTI marked refuted -> no delay-dose",
        E(absent=["anti-cd20.delay-dose"]),
        [k_base(), infection("2026-09-20", UTI, clinical="active", verification="refuted")],
    )
    case(
        "delay-starting",
        "§5 delay-dose fires for ofatumumab starting too: plan request (start 2026-10-15) + active UTI -> "
        "delay-dose; not current -> no anti-cd20.continue",
        E(present=["anti-cd20.delay-dose"], absent=["anti-cd20.continue"]),
        [
            request("ofa", intent="plan", start="2026-10-15", authored="2026-10-01"),
            ig_panel("2026-09-01", *NORMAL),
            infection("2026-10-05", UTI, severity="moderate", clinical="active"),
        ],
    )
    case(
        "delay-ocrelizumab",
        "§5 (revision 2) delay-dose for every agent: ocrelizumab + active UTI -> delay-dose",
        E(
            present=["anti-cd20.delay-dose", "anti-cd20.continue"],
            priority={"anti-cd20.delay-dose": "warning"},
        ),
        [k_base(agent="ocr", start="2024-02-01"), infection("2026-09-20", UTI, clinical="active")],
    )
    case(
        "delay-discontinued",
        "§5 delay-dose needs ofatumumab current or starting: stopped 2026-04-01 + active UTI -> none",
        E(absent=["anti-cd20.delay-dose", "anti-cd20.continue"]),
        [
            statement("ofa", "2023-09-01", "2026-04-01", status="stopped"),
            ig_panel("2026-08-20", *NORMAL),
            infection("2026-09-20", UTI, clinical="active"),
        ],
    )


# ============================================================================================
# F3 limits, reference ranges, comparators, latest/lowest, ignored results
# ============================================================================================
def cases_limits():
    low_igm = ["risk.encapsulated-bacteria", "prophylaxis.not-routine", "igrt.not-for-labs-alone"]
    case(
        "igm-33-low",
        "F3 IgM limit 34 mg/dL (K-7): IgM 33 is low -> risk.encapsulated-bacteria, prophylaxis.not-routine, "
        "igrt.not-for-labs-alone",
        E(
            present=low_igm,
            absent=["igrt.start", "prophylaxis.consider"],
            priority={
                "risk.encapsulated-bacteria": "info",
                "prophylaxis.not-routine": "info",
                "igrt.not-for-labs-alone": "info",
            },
        ),
        [k_base(ig=(910, 33, 130))],
    )
    case(
        "igm-34-not-low",
        "F3 twin: IgM 34 is not below 34 -> not low; IgG/IgA normal -> none of the low-IgM recommendations",
        E(present=["anti-cd20.continue"], absent=[*low_igm, "monitor.check-igg"]),
        [k_base(ig=(910, 34, 130))],
    )
    case(
        "igg-699-low",
        "F3 IgG limit 700 (§8): IgG 699 low (not severe) -> igrt.not-for-labs-alone; "
        "risk.normal-igg-not-protective needs IgG not low",
        E(present=["igrt.not-for-labs-alone"], absent=["igrt.start", "risk.normal-igg-not-protective"]),
        [k_base(ig=(699, 80, 130))],
    )
    case(
        "igg-700-not-low",
        "F3 twin: IgG 700 is not low -> risk.normal-igg-not-protective (K-21); no not-for-labs-alone",
        E(present=["risk.normal-igg-not-protective"], absent=["igrt.not-for-labs-alone", "igrt.start"]),
        [k_base(ig=(700, 80, 130))],
    )
    case(
        "iga-69-low",
        "F3 IgA limit 70 (§8): IgA 69 low -> igrt.not-for-labs-alone",
        E(present=["igrt.not-for-labs-alone"], absent=["igrt.start", "risk.encapsulated-bacteria"]),
        [k_base(ig=(910, 80, 69))],
    )
    case(
        "iga-70-not-low",
        "F3 twin: IgA 70 is not low; IgG/IgM normal -> no igrt.not-for-labs-alone",
        E(absent=["igrt.not-for-labs-alone", "igrt.start"]),
        [k_base(ig=(910, 80, 70))],
    )
    case(
        "igm-reference-range-low-wins",
        "F3/§9.5 the lab's own range wins: IgM 40 with referenceRange.low 45 mg/dL -> low -> "
        "risk.encapsulated-bacteria",
        E(present=["risk.encapsulated-bacteria", "prophylaxis.not-routine"]),
        [ofa_active(), igg("2026-08-20", 910), igm("2026-08-20", 40, ref_low=45), iga("2026-08-20", 130)],
    )
    case(
        "igm-reference-range-not-low",
        "F3 twin: IgM 30 with referenceRange.low 25 mg/dL -> not low (range beats the 34 default)",
        E(absent=["risk.encapsulated-bacteria", "prophylaxis.not-routine", "igrt.not-for-labs-alone"]),
        [ofa_active(), igg("2026-08-20", 910), igm("2026-08-20", 30, ref_low=25), iga("2026-08-20", 130)],
    )
    case(
        "igg-reference-range-g-per-l",
        "F3 range in g/L: IgG 6.5 g/L (650 mg/dL) with referenceRange.low 6.0 g/L -> not low -> "
        "risk.normal-igg-not-protective; no not-for-labs-alone",
        E(present=["risk.normal-igg-not-protective"], absent=["igrt.not-for-labs-alone"]),
        [
            ofa_active(),
            igg("2026-08-20", 6.5, "g/L", ref_low=6.0),
            igm("2026-08-20", 0.8, "g/L"),
            iga("2026-08-20", 1.3, "g/L"),
        ],
    )
    case(
        "igm-comparator-lt5",
        "F3 comparator decides: IgM '<5' mg/dL, 5 <= 34 -> low -> risk.encapsulated-bacteria",
        E(present=["risk.encapsulated-bacteria"]),
        [ofa_active(), igg("2026-08-20", 910), igm("2026-08-20", 5, comparator="<"), iga("2026-08-20", 130)],
    )
    case(
        "igm-comparator-lt34",
        "F3 comparator boundary: IgM '<34', 34 <= 34 -> every possible value is below the limit -> low",
        E(present=["risk.encapsulated-bacteria"]),
        [ofa_active(), igg("2026-08-20", 910), igm("2026-08-20", 34, comparator="<"), iga("2026-08-20", 130)],
    )
    case(
        "igm-comparator-lt35-unknown",
        "F3 comparator twin: IgM '<35', 35 > 34 -> undecided -> unknown (not low)",
        E(absent=["risk.encapsulated-bacteria", "prophylaxis.not-routine"]),
        [ofa_active(), igg("2026-08-20", 910), igm("2026-08-20", 35, comparator="<"), iga("2026-08-20", 130)],
    )
    case(
        "igg-comparator-gt900",
        "F3 comparator: IgG '>900', 900 >= 700 -> not low -> risk.normal-igg-not-protective",
        E(present=["risk.normal-igg-not-protective"], absent=["igrt.not-for-labs-alone"]),
        [ofa_active(), igg("2026-08-20", 900, comparator=">"), igm("2026-08-20", 80), iga("2026-08-20", 130)],
    )
    case(
        "igg-comparator-gt700",
        "F3 comparator boundary: IgG '>700', 700 >= 700 -> not low",
        E(present=["risk.normal-igg-not-protective"]),
        [ofa_active(), igg("2026-08-20", 700, comparator=">"), igm("2026-08-20", 80), iga("2026-08-20", 130)],
    )
    case(
        "igg-comparator-gt600-unknown",
        "F3 comparator twin: IgG '>600', 600 < 700 -> undecided -> unknown: no normal-IgG card, not severe",
        E(absent=["risk.normal-igg-not-protective", "igrt.start", "igrt.not-for-labs-alone"]),
        [ofa_active(), igg("2026-08-20", 600, comparator=">"), igm("2026-08-20", 80), iga("2026-08-20", 130)],
    )
    case(
        "igm-latest-counts",
        "F3 latest IgM: 20 (2026-02-01) then 50 (2026-08-20) -> not low",
        E(absent=["risk.encapsulated-bacteria", "prophylaxis.not-routine"]),
        [ofa_active(), ig_panel("2026-02-01", 900, 20, 130), ig_panel("2026-08-20", 910, 50, 130)],
    )
    case(
        "igm-same-date-lowest",
        "F3 several results on one date: IgM 40 and 30 on 2026-08-20 -> the lowest, 30, is low",
        E(present=["risk.encapsulated-bacteria"]),
        [k_base(ig=(910, 40, 130)), igm("2026-08-20", 30)],
    )
    case(
        "igm-after-as-of-ignored",
        "§3 records after as_of are left out: IgM 20 dated 2026-11-01 > as_of 2026-10-15 ignored; latest "
        "IgM 80 -> not low",
        E(absent=["risk.encapsulated-bacteria"]),
        [k_base(), igm("2026-11-01", 20)],
    )
    case(
        "igm-entered-in-error-ignored",
        "§7 results entered-in-error are ignored without an issue: IgM 20 (2026-09-10, entered-in-error) -> "
        "latest usable IgM 80 -> not low",
        E(absent=["risk.encapsulated-bacteria"]),
        [k_base(), igm("2026-09-10", 20, status="entered-in-error")],
    )
    case(
        "igm-cancelled-ignored",
        "§7 cancelled results are ignored: IgM 20 (2026-09-10, cancelled) -> not low",
        E(absent=["risk.encapsulated-bacteria"]),
        [k_base(), igm("2026-09-10", 20, status="cancelled")],
    )
    case(
        "igm-issued-date",
        "Contract §1 dates: an IgM with only 'issued' is dated by it -> IgM 20 (issued 2026-09-10) low",
        E(present=["risk.encapsulated-bacteria"]),
        [k_base(), igm("2026-09-10T09:30:00Z", 20, date_field="issued")],
    )
    case(
        "igm-effective-period",
        "Contract §1 dates: effectivePeriod.start when no effectiveDateTime -> IgM 20 on 2026-09-10 low",
        E(present=["risk.encapsulated-bacteria"]),
        [k_base(), igm("2026-09-10", 20, date_field="effectivePeriod")],
    )

    # monitor.check-igg
    case(
        "check-igg-never-measured",
        "§5 monitor.check-igg (K-8b): IgM 20 low and IgG never measured -> check IgG, warning",
        E(present=["monitor.check-igg"], priority={"monitor.check-igg": "warning"}),
        [ofa_active(), igm("2026-08-20", 20), iga("2026-08-20", 130)],
    )
    case(
        "check-igg-measured",
        "§5 twin: IgM 20 low with IgG 910 measured -> no check-igg",
        E(absent=["monitor.check-igg"]),
        [k_base(ig=(910, 20, 130))],
    )
    case(
        "check-igg-old-igg-inside",
        "F3 inclusive 12-month age: IgG 910 dated 2025-10-15 (= as_of - 12 months) still known -> no check-igg",
        E(absent=["monitor.check-igg"]),
        [ofa_active(), igg("2025-10-15", 910), igm("2026-08-20", 20), iga("2026-08-20", 130)],
    )
    case(
        "check-igg-old-igg-outside",
        "F3 twin: IgG dated 2025-10-14 is older than 12 months -> unknown -> check-igg",
        E(present=["monitor.check-igg"]),
        [ofa_active(), igg("2025-10-14", 910), igm("2026-08-20", 20), iga("2026-08-20", 130)],
    )
    case(
        "check-igg-igm-normal",
        "§5 check-igg needs IgM low: IgM 80, IgG never measured -> no check-igg",
        E(absent=["monitor.check-igg"]),
        [ofa_active(), igm("2026-08-20", 80), iga("2026-08-20", 130)],
    )


# ============================================================================================
# Units (contract §1): values chosen so that a unit read as mg/dL would flip the result
# ============================================================================================
def cases_units():
    case(
        "unit-ig-g-per-l",
        "Units: IgG 9.1 g/L = 910, IgM 0.8 g/L = 80, IgA 1.3 g/L = 130 mg/dL -> all normal (read as mg/dL "
        "IgG would be severe)",
        E(
            present=["risk.normal-igg-not-protective"],
            absent=["igrt.start", "igrt.not-for-labs-alone", "risk.encapsulated-bacteria"],
        ),
        [ofa_active(), ig_panel("2026-08-20", 9.1, 0.8, 1.3, unit="g/L")],
    )
    case(
        "unit-igg-mg-per-l",
        "Units: IgG 3500 mg/L = 350 mg/dL -> severe -> igrt.start igg-below-threshold",
        E(present=["igrt.start"], reasons={"igrt.start": ["igg-below-threshold"]}),
        [
            ofa_active(),
            igg("2026-08-20", 3500, "mg/L"),
            igm("2026-08-20", 800, "mg/L"),
            iga("2026-08-20", 1300, "mg/L"),
            weight("2026-08-20", 75),
        ],
    )
    case(
        "unit-igm-mg-per-l",
        "Units: IgM 250 mg/L = 25 mg/dL -> low -> risk.encapsulated-bacteria",
        E(present=["risk.encapsulated-bacteria"]),
        [
            ofa_active(),
            igg("2026-08-20", 9100, "mg/L"),
            igm("2026-08-20", 250, "mg/L"),
            iga("2026-08-20", 1300, "mg/L"),
        ],
    )
    case(
        "unit-ig-g-per-dl",
        "Units: IgG 0.91 g/dL = 910, IgM 0.06 g/dL = 60, IgA 0.13 g/dL = 130 mg/dL -> all normal",
        E(
            present=["risk.normal-igg-not-protective"],
            absent=["igrt.start", "igrt.not-for-labs-alone", "risk.encapsulated-bacteria"],
        ),
        [ofa_active(), ig_panel("2026-08-20", 0.91, 0.06, 0.13, unit="g/dL")],
    )
    case(
        "unit-ig-mg-per-ml",
        "Units: IgG 9.1 mg/mL = 910, IgM 0.8 mg/mL = 80, IgA 1.3 mg/mL = 130 mg/dL -> all normal",
        E(
            present=["risk.normal-igg-not-protective"],
            absent=["igrt.start", "igrt.not-for-labs-alone", "risk.encapsulated-bacteria"],
        ),
        [ofa_active(), ig_panel("2026-08-20", 9.1, 0.8, 1.3, unit="mg/mL")],
    )
    case(
        "unit-igm-g-per-l-low",
        "Units: IgM 0.25 g/L = 25 mg/dL low with IgG 9.1 g/L normal -> risk.encapsulated-bacteria",
        E(present=["risk.encapsulated-bacteria"], absent=["igrt.start"]),
        [ofa_active(), ig_panel("2026-08-20", 9.1, 0.25, 1.3, unit="g/L")],
    )


# ============================================================================================
# F1 exposure status, F2 B cells after stopping, vaccines, serology
# ============================================================================================
def stopped_ofa(end="2026-04-01"):
    return statement("ofa", "2023-09-01", end, status="stopped")


def cases_exposure_bcells():
    gap("2026-08-20", AS_OF, 56)
    case(
        "ofa-admin-56-days-current",
        "F1 administration within ofatumumab 4 + 4 grace weeks: last dose 2026-08-20 = as_of - 56 days -> "
        "current -> anti-cd20.continue, live-avoid on-therapy",
        E(
            present=["anti-cd20.continue", "vaccine.live-avoid", "serology.false-negative-risk"],
            absent=["monitor.bcells"],
            reasons={"vaccine.live-avoid": ["on-therapy"]},
        ),
        [
            admin("ofa", "2026-06-25"),
            admin("ofa", "2026-07-23"),
            admin("ofa", "2026-08-20"),
            ig_panel("2026-08-20", *NORMAL),
        ],
    )
    gap("2026-08-19", AS_OF, 57)
    case(
        "ofa-admin-57-days-discontinued",
        "F1 twin: last ofatumumab dose 2026-08-19 = 57 days > 8 weeks -> discontinued (stop 2026-08-19), no "
        "CD19 after -> B cells unknown = not repleted -> monitor.bcells, live-avoid not-repleted",
        E(
            present=[
                "vaccine.live-avoid",
                "monitor.bcells",
                "serology.false-negative-risk",
                "monitor.ig-due",
            ],
            absent=["anti-cd20.continue", "risk.normal-igg-not-protective"],
            reasons={"vaccine.live-avoid": ["not-repleted"]},
        ),
        [
            admin("ofa", "2026-06-24"),
            admin("ofa", "2026-07-22"),
            admin("ofa", "2026-08-19"),
            ig_panel("2026-08-20", *NORMAL),
        ],
    )
    gap("2026-03-19", AS_OF, 210)
    case(
        "ocr-admin-210-days-current",
        "F1 ocrelizumab 26 + 4 weeks = 210 days: last infusion 2026-03-19 -> current -> live-avoid "
        "on-therapy, normal-IgG card; revision 2: anti-cd20.continue for ocrelizumab too",
        E(
            present=[
                "vaccine.live-avoid",
                "serology.false-negative-risk",
                "risk.normal-igg-not-protective",
                "monitor.ig-due",
                "anti-cd20.continue",
            ],
            absent=["monitor.bcells"],
            reasons={"vaccine.live-avoid": ["on-therapy"]},
        ),
        [admin("ocr", "2025-09-19"), admin("ocr", "2026-03-19"), ig_panel("2026-08-20", *NORMAL)],
    )
    gap("2026-03-18", AS_OF, 211)
    case(
        "ocr-admin-211-days-discontinued",
        "F1 twin: last ocrelizumab infusion 2026-03-18 = 211 days -> discontinued, B cells unknown -> "
        "monitor.bcells, live-avoid not-repleted; no normal-IgG card (needs current)",
        E(
            present=["vaccine.live-avoid", "monitor.bcells"],
            absent=["risk.normal-igg-not-protective"],
            reasons={"vaccine.live-avoid": ["not-repleted"]},
        ),
        [admin("ocr", "2025-09-18"), admin("ocr", "2026-03-18"), ig_panel("2026-08-20", *NORMAL)],
    )
    case(
        "ofa-request-active-current",
        "F1 an active MedicationRequest (intent order) is current -> anti-cd20.continue",
        E(
            present=["anti-cd20.continue", "vaccine.live-avoid"],
            reasons={"vaccine.live-avoid": ["on-therapy"]},
        ),
        [
            request("ofa", start="2023-09-01", authored="2023-08-20", every_weeks=4),
            ig_panel("2026-08-20", *NORMAL),
        ],
    )
    case(
        "ofa-on-hold-current",
        "F1 an on-hold statement is current -> anti-cd20.continue",
        E(present=["anti-cd20.continue", "vaccine.live-avoid"]),
        [statement("ofa", start="2023-09-01", status="on-hold"), ig_panel("2026-08-20", *NORMAL)],
    )
    case(
        "ofa-undated-active-current",
        "F1 a record with no dates that is not stopped is current -> anti-cd20.continue",
        E(present=["anti-cd20.continue"]),
        [statement("ofa", status="active"), ig_panel("2026-08-20", *NORMAL)],
    )
    case(
        "ofa-request-completed-discontinued",
        "F1 a completed request (boundsPeriod.end 2026-03-01) -> discontinued, no CD19 -> not repleted",
        E(
            present=["vaccine.live-avoid", "monitor.bcells"],
            absent=["anti-cd20.continue"],
            reasons={"vaccine.live-avoid": ["not-repleted"]},
        ),
        [
            request("ofa", status="completed", start="2023-09-01", end="2026-03-01", authored="2023-08-20"),
            ig_panel("2026-08-20", *NORMAL),
        ],
    )
    case(
        "ofa-not-taken-ignored",
        "F1 ignored: a not-taken statement is no exposure; normal Ig, no diagnosis -> not applicable",
        E(applicable=False, populations=[], absent=["anti-cd20.continue", "monitor.infections"]),
        [statement("ofa", start="2023-09-01", status="not-taken"), ig_panel("2026-08-20", *NORMAL)],
    )
    case(
        "ofa-entered-in-error-ignored",
        "F1 ignored: an entered-in-error statement is no exposure -> not applicable",
        E(applicable=False, populations=[]),
        [statement("ofa", start="2023-09-01", status="entered-in-error"), ig_panel("2026-08-20", *NORMAL)],
    )
    case(
        "ofa-cancelled-request-ignored",
        "F1 ignored: a cancelled request with no administration -> not applicable",
        E(applicable=False, populations=[]),
        [
            request("ofa", status="cancelled", start="2026-09-01", authored="2026-08-25"),
            ig_panel("2026-08-20", *NORMAL),
        ],
    )
    case(
        "ublituximab-by-name",
        "§1 ublituximab is an anti-CD20 (K), recognised by name 'Briumvi' -> live-avoid on-therapy; "
        "revision 2: anti-cd20.continue",
        E(
            present=["vaccine.live-avoid", "anti-cd20.continue"],
            populations=["K"],
            reasons={"vaccine.live-avoid": ["on-therapy"]},
        ),
        [statement("ubl", start="2025-03-01"), ig_panel("2026-08-20", *NORMAL)],
    )

    # B cells after stopping (F2)
    case(
        "cd19-79-not-repleted",
        "F2 after stopping (2026-04-01): latest CD19 79 cells/uL < 80 -> not repleted -> live-avoid "
        "not-repleted, monitor.bcells, serology.false-negative-risk, monitor.ig-due",
        E(
            present=[
                "vaccine.live-avoid",
                "monitor.bcells",
                "serology.false-negative-risk",
                "monitor.ig-due",
            ],
            absent=["anti-cd20.continue"],
            reasons={"vaccine.live-avoid": ["not-repleted"]},
            priority={"vaccine.live-avoid": "info", "monitor.bcells": "info"},
            monitoring={"cd19": {}, "ig-panel": {"due": "2027-03-01", "overdue": False}},
        ),
        [stopped_ofa(), cd19("2026-09-01", 79), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "cd19-80-repleted",
        "F2 twin: CD19 80 >= 80 -> repleted -> no live-avoid, no monitor.bcells, no false-negative card, no "
        "panel due (K only, not D); still population K",
        E(
            present=ALWAYS,
            absent=["vaccine.live-avoid", "monitor.bcells", "serology.false-negative-risk", "monitor.ig-due"],
            populations=["K"],
            applicable=True,
        ),
        [stopped_ofa(), cd19("2026-09-01", 80), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "cd19-lab-range-repleted",
        "F2 the lab's referenceRange.low wins: CD19 60 with low 55 cells/uL -> repleted (although < 80)",
        E(absent=["vaccine.live-avoid", "monitor.bcells"]),
        [stopped_ofa(), cd19("2026-09-01", 60, ref_low=55), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "cd19-lab-range-not-repleted",
        "F2 the lab's referenceRange.low wins: CD19 90 with low 100 cells/uL -> not repleted (although >= 80)",
        E(present=["vaccine.live-avoid", "monitor.bcells"], reasons={"vaccine.live-avoid": ["not-repleted"]}),
        [stopped_ofa(), cd19("2026-09-01", 90, ref_low=100), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "cd19-on-stop-date",
        "F2 only CD19 dated strictly after the stop date: CD19 150 on the stop date 2026-04-01 -> unknown -> "
        "not repleted",
        E(present=["vaccine.live-avoid", "monitor.bcells"], reasons={"vaccine.live-avoid": ["not-repleted"]}),
        [stopped_ofa(), cd19("2026-04-01", 150), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "cd19-day-after-stop",
        "F2 twin: CD19 150 on 2026-04-02, the day after stopping -> repleted",
        E(absent=["vaccine.live-avoid", "monitor.bcells"]),
        [stopped_ofa(), cd19("2026-04-02", 150), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "cd19-latest-low",
        "F2 the latest CD19 decides: 150 (2026-06-01) then 50 (2026-09-01) -> not repleted",
        E(present=["vaccine.live-avoid", "monitor.bcells"]),
        [stopped_ofa(), cd19("2026-06-01", 150), cd19("2026-09-01", 50), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "cd19-latest-high",
        "F2 the latest CD19 decides: 50 (2026-06-01) then 150 (2026-09-01) -> repleted",
        E(absent=["vaccine.live-avoid", "monitor.bcells"]),
        [stopped_ofa(), cd19("2026-06-01", 50), cd19("2026-09-01", 150), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "cd19-none-after-stop",
        "F2 no CD19 after stopping -> unknown, treated as not repleted -> live-avoid (§9.4 safe side)",
        E(present=["vaccine.live-avoid", "monitor.bcells"], reasons={"vaccine.live-avoid": ["not-repleted"]}),
        [stopped_ofa(), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "cd19-percent-only",
        "Contract §1: CD19 % (8117-4) is shown, not used for repletion: 15% after stopping -> unknown -> "
        "live-avoid",
        E(present=["vaccine.live-avoid", "monitor.bcells"]),
        [stopped_ofa(), lab(CD19_PCT, "2026-09-01", 15, "%"), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "cd19-10e9-per-l-repleted",
        "Units: CD19 0.12 x10*9/L = 120 cells/uL -> repleted (read as /uL it would be 0.12)",
        E(absent=["vaccine.live-avoid", "monitor.bcells"]),
        [stopped_ofa(), cd19("2026-09-01", 0.12, "10*9/L"), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "cd19-10e9-per-l-not-repleted",
        "Units twin: CD19 0.05 x10*9/L = 50 cells/uL -> not repleted",
        E(present=["vaccine.live-avoid", "monitor.bcells"]),
        [stopped_ofa(), cd19("2026-09-01", 0.05, "10*9/L"), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "cd19-10e6-per-l",
        "Units: CD19 120 x10*6/L = 120 cells/uL -> repleted",
        E(absent=["vaccine.live-avoid", "monitor.bcells"]),
        [stopped_ofa(), cd19("2026-09-01", 120, "10*6/L"), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "cd19-10e3-per-ul",
        "Units: CD19 0.12 x10*3/uL = 120 cells/uL -> repleted",
        E(absent=["vaccine.live-avoid", "monitor.bcells"]),
        [stopped_ofa(), cd19("2026-09-01", 0.12, "10*3/uL"), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "stop-date-latest-administration",
        "F1 stop date = latest of end dates and administrations: statement ended 2026-04-01 but a dose was "
        "given 2026-05-01 -> stop 2026-05-01; CD19 150 on 2026-04-15 is not after it -> not repleted",
        E(present=["vaccine.live-avoid", "monitor.bcells"], absent=["anti-cd20.continue"]),
        [stopped_ofa(), admin("ofa", "2026-05-01"), cd19("2026-04-15", 150), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "stop-date-latest-administration-repleted",
        "F1/F2 twin: same, CD19 150 on 2026-05-02 (after the last dose) -> repleted",
        E(absent=["vaccine.live-avoid", "monitor.bcells", "anti-cd20.continue"]),
        [stopped_ofa(), admin("ofa", "2026-05-01"), cd19("2026-05-02", 150), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "stopped-undated-therapy-issue",
        "F1 a stopped statement with no dates: discontinued, stop date unknown -> B cells unknown even with "
        "CD19 150 -> live-avoid, monitor.bcells; data issue therapy-undated (§7 warning)",
        E(
            present=["vaccine.live-avoid", "monitor.bcells"],
            absent=["anti-cd20.continue"],
            data_issue={
                "severity": "warning",
                "resource_type": "MedicationStatement",
                "match": "therapy-undated",
            },
        ),
        [statement("ofa", status="stopped"), cd19("2026-09-01", 150), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "rituximab-long-ago-is-k",
        "§1 population K includes having stopped an anti-CD20: rituximab completed 2019, IgM 20 -> K (not D: "
        "exposed); no CD19 -> live-avoid not-repleted",
        E(
            populations=["K"],
            present=["vaccine.live-avoid"],
            absent=["evaluate.igm-deficiency"],
            reasons={"vaccine.live-avoid": ["not-repleted"]},
        ),
        [
            statement("rtx", "2018-01-10", "2019-06-30", status="completed"),
            ig_panel("2026-08-20", 900, 20, 120),
        ],
    )

    # vaccines (K-14)
    case(
        "live-vaccine-after-stop",
        "§5 vaccine.live-avoid live-vaccine-given: MMR (CVX 03) on 2026-07-01 after stopping 2026-04-01, no "
        "documented repletion -> warning",
        E(
            present=["vaccine.live-avoid"],
            reasons={"vaccine.live-avoid": ["live-vaccine-given"]},
            priority={"vaccine.live-avoid": "warning"},
        ),
        [stopped_ofa(), immunization("2026-07-01", "03"), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "live-vaccine-on-therapy",
        "§5 live-vaccine-given while on therapy: zoster live (CVX 121) 2026-05-01 on ofatumumab -> warning",
        E(
            present=["vaccine.live-avoid"],
            reasons={"vaccine.live-avoid": ["live-vaccine-given"]},
            priority={"vaccine.live-avoid": "warning"},
        ),
        [k_base(), immunization("2026-05-01", "121")],
    )
    case(
        "live-vaccine-by-name",
        "Contract §1 live vaccine name fallback: 'Varivax' (no code) 2026-05-01 on ofatumumab -> "
        "live-vaccine-given, warning",
        E(
            present=["vaccine.live-avoid"],
            reasons={"vaccine.live-avoid": ["live-vaccine-given"]},
            priority={"vaccine.live-avoid": "warning"},
        ),
        [k_base(), immunization("2026-05-01", None, text_only="Varivax (varicella virus vaccine live)")],
    )
    case(
        "inactivated-vaccine-on-therapy",
        "§5 twin: recombinant zoster (CVX 187, not live) on ofatumumab -> live-avoid stays info",
        E(present=["vaccine.live-avoid"], priority={"vaccine.live-avoid": "info"}),
        [k_base(), immunization("2026-05-01", "187")],
    )
    case(
        "live-vaccine-before-therapy",
        "§5 twin: MMR 2023-01-10, before ofatumumab started 2023-09-01 -> not given on therapy -> info",
        E(present=["vaccine.live-avoid"], priority={"vaccine.live-avoid": "info"}),
        [k_base(), immunization("2023-01-10", "03")],
    )
    case(
        "live-vaccine-after-repletion",
        "§5 stopped 2026-04-01, CD19 150 on 2026-06-01 (repleted), MMR 2026-07-01 -> repleted: no live-avoid",
        E(absent=["vaccine.live-avoid"]),
        [
            stopped_ofa(),
            cd19("2026-06-01", 150),
            immunization("2026-07-01", "03"),
            ig_panel("2026-09-01", *NORMAL),
        ],
    )
    case(
        "live-avoid-not-for-d-only",
        "§5 vaccine.live-avoid and serology.false-negative-risk are K only: confirmed IgM deficiency, never "
        "on anti-CD20 -> absent",
        E(
            populations=["D"],
            absent=[
                "vaccine.live-avoid",
                "serology.false-negative-risk",
                "monitor.bcells",
                "anti-cd20.continue",
                "prophylaxis.not-routine",
                "risk.normal-igg-not-protective",
            ],
        ),
        [d_base()],
    )


# ============================================================================================
# monitor.ig-baseline (K-2, §9.12)
# ============================================================================================
def cases_baseline():
    gap("2026-07-17", AS_OF, 90)
    case(
        "baseline-started-90-days",
        "§5 monitor.ig-baseline: ofatumumab started 2026-07-17 = as_of - 90 days (<= 90) with no panel in the "
        "180 days before -> baseline, warning",
        E(present=["monitor.ig-baseline"], priority={"monitor.ig-baseline": "warning"}),
        [ofa_active(start="2026-07-17")],
    )
    gap("2026-07-16", AS_OF, 91)
    case(
        "baseline-started-91-days",
        "§5 twin: started 2026-07-16 = 91 days ago -> no baseline card",
        E(absent=["monitor.ig-baseline"]),
        [ofa_active(start="2026-07-16")],
    )
    case(
        "baseline-plan-request",
        "F1 starting: MedicationRequest intent plan (planned 2026-10-15), no prior exposure, no panel -> "
        "ig-baseline; live-avoid 'starting'; no current-only cards (continue, ig-due, false-negative, normal-IgG)",
        E(
            populations=["K"],
            present=["monitor.ig-baseline", "vaccine.live-avoid", *ALWAYS],
            absent=[
                "anti-cd20.continue",
                "monitor.ig-due",
                "serology.false-negative-risk",
                "risk.normal-igg-not-protective",
                "monitor.bcells",
            ],
            reasons={"vaccine.live-avoid": ["starting"]},
            priority={"vaccine.live-avoid": "info"},
        ),
        [request("ofa", intent="plan", start="2026-10-15", authored="2026-10-01", every_weeks=4)],
    )
    gap("2026-09-01", "2026-10-15", 44)
    case(
        "baseline-plan-with-panel",
        "§5 twin: plan request (first exposure 2026-10-15) with a complete panel 2026-09-01, 44 days before -> "
        "no baseline card",
        E(
            absent=["monitor.ig-baseline"],
            present=["vaccine.live-avoid"],
            reasons={"vaccine.live-avoid": ["starting"]},
        ),
        [
            request("ofa", intent="plan", start="2026-10-15", authored="2026-10-01", every_weeks=4),
            ig_panel("2026-09-01", *NORMAL),
        ],
    )
    case(
        "baseline-draft-request",
        "F1 starting: a draft MedicationRequest (first exposure 2026-10-15), no panel -> ig-baseline",
        E(present=["monitor.ig-baseline"], absent=["anti-cd20.continue"]),
        [request("ofa", status="draft", intent="order", start="2026-10-15", authored="2026-10-10")],
    )
    case(
        "baseline-intended-statement",
        "F1 starting: a MedicationStatement 'intended' (start 2026-10-15), no panel -> ig-baseline",
        E(present=["monitor.ig-baseline"], absent=["anti-cd20.continue"]),
        [statement("ofa", start="2026-10-15", status="intended")],
    )
    gap("2026-03-19", "2026-09-15", 180)
    case(
        "baseline-panel-180-days-before",
        "§9.12 baseline window: started 2026-09-15, complete panel 2026-03-19 = 180 days before -> baseline "
        "done, no card",
        E(absent=["monitor.ig-baseline"]),
        [ofa_active(start="2026-09-15"), ig_panel("2026-03-19", *NORMAL)],
    )
    gap("2026-03-18", "2026-09-15", 181)
    case(
        "baseline-panel-181-days-before",
        "§9.12 twin: complete panel 2026-03-18 = 181 days before the start 2026-09-15 -> no baseline -> card",
        E(present=["monitor.ig-baseline"]),
        [ofa_active(start="2026-09-15"), ig_panel("2026-03-18", *NORMAL)],
    )
    case(
        "baseline-incomplete-panel",
        "F3 complete panel needs IgG, IgM and IgA: only IgG and IgM before the start 2026-09-15 -> card",
        E(present=["monitor.ig-baseline"]),
        [ofa_active(start="2026-09-15"), ig_panel("2026-09-01", 910, 80, None)],
    )
    case(
        "baseline-panel-spread-7-days",
        "F3 complete panel = 3 results within 7 days: IgG 2026-08-25, IgA 08-28, IgM 09-01 before the start "
        "2026-09-15 -> baseline done",
        E(absent=["monitor.ig-baseline"]),
        [
            ofa_active(start="2026-09-15"),
            igg("2026-08-25", 910),
            iga("2026-08-28", 130),
            igm("2026-09-01", 80),
        ],
    )
    case(
        "baseline-panel-spread-8-days",
        "F3 twin: IgG 2026-08-24, IgA 08-28, IgM 09-01 span 8 days -> not a complete panel -> card",
        E(present=["monitor.ig-baseline"]),
        [
            ofa_active(start="2026-09-15"),
            igg("2026-08-24", 910),
            iga("2026-08-28", 130),
            igm("2026-09-01", 80),
        ],
    )
    case(
        "baseline-ocrelizumab-admin",
        "§5 baseline is K (any anti-CD20): first ocrelizumab infusion 2026-09-01 (44 days ago), no panel -> card",
        E(present=["monitor.ig-baseline"]),
        [admin("ocr", "2026-09-01")],
    )
    case(
        "baseline-plan-after-prior-course",
        "F1 a plan counts as starting only while there is no exposure yet: ofatumumab stopped 2024-06-01, "
        "repleted (CD19 150 on 2025-01-10), new plan -> discontinued+repleted: no baseline, no live-avoid",
        E(absent=["monitor.ig-baseline", "vaccine.live-avoid", "anti-cd20.continue"], populations=["K"]),
        [
            statement("ofa", "2022-01-10", "2024-06-01", status="stopped"),
            cd19("2025-01-10", 150),
            ig_panel("2026-08-20", *NORMAL),
            request("ofa", intent="plan", start="2026-10-15", authored="2026-10-01"),
        ],
    )


# ============================================================================================
# monitor.ig-due: last complete panel + 6 calendar months (clamped), overdue when past
# ============================================================================================
def cases_ig_due():
    mgap("2026-08-31", 6, "2027-02-28")
    case(
        "due-month-end-clamp",
        "F4 calendar months clamp: complete panel 2026-08-31 + 6 months = 2027-02-28 -> ig-panel due "
        "2027-02-28, not overdue, info, scheduled",
        E(
            present=["monitor.ig-due"],
            priority={"monitor.ig-due": "info"},
            reasons={"monitor.ig-due": ["scheduled"]},
            monitoring={"ig-panel": {"due": "2027-02-28", "overdue": False, "last_done": "2026-08-31"}},
        ),
        [k_base(panel_date="2026-08-31")],
    )
    mgap("2023-08-31", 6, "2024-02-29")
    case(
        "due-leap-year-clamp",
        "F4 clamp into a leap February: panel 2023-08-31 + 6 months = 2024-02-29 (as_of 2023-10-15, in the "
        "past so that no record is after the real today)",
        E(
            present=["monitor.ig-due"],
            monitoring={"ig-panel": {"due": "2024-02-29", "overdue": False, "last_done": "2023-08-31"}},
        ),
        [k_base(panel_date="2023-08-31", wt_date="2023-08-31", start="2021-09-01")],
        as_of="2023-10-15",
    )
    mgap("2026-09-15", 6, "2027-03-15")
    case(
        "due-plain-six-months",
        "§4 example: panel 2026-09-15 + 6 months = 2027-03-15",
        E(monitoring={"ig-panel": {"due": "2027-03-15", "overdue": False}}),
        [k_base(panel_date="2026-09-15")],
    )
    mgap("2026-04-14", 6, "2026-10-14")
    case(
        "due-overdue-by-one-day",
        "§5 ig-due overdue: panel 2026-04-14 + 6 months = 2026-10-14 < as_of 2026-10-15 -> overdue, warning",
        E(
            present=["monitor.ig-due"],
            priority={"monitor.ig-due": "warning"},
            reasons={"monitor.ig-due": ["overdue"]},
            monitoring={"ig-panel": {"due": "2026-10-14", "overdue": True, "last_done": "2026-04-14"}},
        ),
        [k_base(panel_date="2026-04-14")],
    )
    mgap("2026-04-15", 6, "2026-10-15")
    case(
        "due-on-as-of",
        "§5 twin: panel 2026-04-15 + 6 months = 2026-10-15 = as_of -> due today, not past -> not overdue, info",
        E(
            present=["monitor.ig-due"],
            priority={"monitor.ig-due": "info"},
            monitoring={"ig-panel": {"due": "2026-10-15", "overdue": False}},
        ),
        [k_base(panel_date="2026-04-15")],
    )
    case(
        "due-datetime-calendar-date",
        "Contract §1 a date-time counts by its calendar date: panel at 2026-04-15T08:00:00Z -> due 2026-10-15, "
        "not overdue",
        E(monitoring={"ig-panel": {"due": "2026-10-15", "overdue": False}}),
        [ofa_active(), ig_panel("2026-04-15T08:00:00Z", *NORMAL)],
    )
    case(
        "due-never-measured",
        "§5 ig-due never measured: ofatumumab since 2023, no Ig results -> due as_of 2026-10-15, not overdue, "
        "reason never-measured, last_done null",
        E(
            present=["monitor.ig-due"],
            reasons={"monitor.ig-due": ["never-measured"]},
            monitoring={"ig-panel": {"due": "2026-10-15", "overdue": False, "last_done": None}},
        ),
        [ofa_active()],
    )
    mgap("2026-05-08", 6, "2026-11-08")
    case(
        "due-panel-spread-7-days",
        "F3 complete panel within 7 days, dated by the latest: IgG 2026-05-01, IgA 05-05, IgM 05-08 -> panel "
        "2026-05-08 + 6 months = 2026-11-08",
        E(monitoring={"ig-panel": {"due": "2026-11-08", "overdue": False}}),
        [
            ofa_active(),
            ig_panel("2026-01-10", *NORMAL),
            igg("2026-05-01", 900),
            iga("2026-05-05", 125),
            igm("2026-05-08", 78),
        ],
    )
    mgap("2026-01-10", 6, "2026-07-10")
    case(
        "due-panel-spread-8-days",
        "F3 twin: IgG 2026-05-01, IgA 05-05, IgM 05-09 span 8 days -> not complete; last complete panel "
        "2026-01-10 + 6 months = 2026-07-10 -> overdue",
        E(
            present=["monitor.ig-due"],
            monitoring={"ig-panel": {"due": "2026-07-10", "overdue": True}},
            priority={"monitor.ig-due": "warning"},
            reasons={"monitor.ig-due": ["overdue"]},
        ),
        [
            ofa_active(),
            ig_panel("2026-01-10", *NORMAL),
            igg("2026-05-01", 900),
            iga("2026-05-05", 125),
            igm("2026-05-09", 78),
        ],
    )
    mgap("2026-03-10", 6, "2026-09-10")
    case(
        "due-incomplete-latest",
        "§5 due counts from the last complete panel: panel 2026-03-10, then IgM alone 2026-09-01 -> due "
        "2026-09-10, overdue",
        E(monitoring={"ig-panel": {"due": "2026-09-10", "overdue": True}}),
        [ofa_active(), ig_panel("2026-03-10", *NORMAL), igm("2026-09-01", 75)],
    )
    mgap("2026-08-01", 6, "2027-02-01")
    case(
        "due-discontinued-not-repleted",
        "§5 ig-due for discontinued + not repleted (K-2): stopped 2026-04-01, CD19 25, panel 2026-08-01 -> due "
        "2027-02-01",
        E(
            present=["monitor.ig-due", "monitor.bcells"],
            monitoring={"ig-panel": {"due": "2027-02-01", "overdue": False}},
        ),
        [stopped_ofa(), cd19("2026-08-01", 25), ig_panel("2026-08-01", 880, 45, 120)],
    )
    mgap("2026-06-30", 6, "2026-12-30")
    case(
        "due-d-not-on-igrt",
        "§5 ig-due for population D not on IgRT (D-17): confirmed IgM deficiency, panel 2026-06-30 -> due "
        "2026-12-30",
        E(
            populations=["D"],
            present=["monitor.ig-due"],
            monitoring={"ig-panel": {"due": "2026-12-30", "overdue": False}},
        ),
        [d_base(panel_date="2026-06-30")],
    )
    case(
        "due-d-on-igrt-absent",
        "§5 twin: population D only and on IgRT -> no ig-due (the trough schedule applies instead)",
        E(populations=["D"], present=["monitor.igg-trough"], absent=["monitor.ig-due"]),
        [d_base(panel_date="2026-06-30"), igrt_statement(start="2025-06-01", dose=25)],
    )
    gap("2026-02-20", "2026-05-22", 91)
    gap("2026-05-22", "2026-08-21", 91)
    case(
        "due-trend-igm-falling",
        "F11 trend: IgM 100, 70, 40 on 2026-02-20, 05-22, 08-21 (91 days apart, linear) projects 34 mg/dL "
        "~18 days after 08-21, before as_of -> due brought forward to as_of 2026-10-15 (never before as_of), "
        "reason trend; regular date would be 2027-02-21",
        E(
            present=["monitor.ig-due"],
            reasons={"monitor.ig-due": ["trend"]},
            monitoring={"ig-panel": {"due": "2026-10-15"}},
        ),
        [
            ofa_active(),
            ig_panel("2026-02-20", 900, 100, 130),
            ig_panel("2026-05-22", 900, 70, 130),
            ig_panel("2026-08-21", 900, 40, 130),
        ],
    )
    gap("2026-07-03", "2026-08-02", 30)
    gap("2026-08-02", "2026-09-01", 30)
    gap("2026-09-01", "2026-12-02", 92)
    case(
        "due-trend-igm-future-crossing",
        "F11 trend: IgM 110, 95, 80 on 2026-07-03, 08-02, 09-01 (-0.5 mg/dL per day) projects 34 mg/dL on "
        "~2026-12-02, between as_of and the regular date 2027-03-01 -> ig-due brought forward, reason trend",
        E(
            present=["monitor.ig-due"],
            reasons={"monitor.ig-due": ["trend"]},
            monitoring={"ig-panel": {"overdue": False}},
        ),
        [
            ofa_active(),
            ig_panel("2026-07-03", 900, 110, 130),
            ig_panel("2026-08-02", 900, 95, 130),
            ig_panel("2026-09-01", 900, 80, 130),
        ],
    )
    mgap("2026-08-21", 6, "2027-02-21")
    case(
        "due-trend-two-results-only",
        "F11 twin: only 2 IgM results (70, 40) < trend_min_results 3 -> no trend; due 2026-08-21 + 6 months = "
        "2027-02-21",
        E(monitoring={"ig-panel": {"due": "2027-02-21", "overdue": False}}),
        [ofa_active(), ig_panel("2026-05-22", 900, 70, 130), ig_panel("2026-08-21", 900, 40, 130)],
    )
    case(
        "due-trend-flat",
        "F11 twin: 3 IgM results 80, 80, 80 are not falling -> no trend; due 2027-02-21",
        E(monitoring={"ig-panel": {"due": "2027-02-21", "overdue": False}}),
        [
            ofa_active(),
            ig_panel("2026-02-20", 900, 80, 130),
            ig_panel("2026-05-22", 900, 80, 130),
            ig_panel("2026-08-21", 900, 80, 130),
        ],
    )
    case(
        "due-not-for-repleted-k",
        "§5 ig-due not for K discontinued + repleted (and not D): stopped 2025-06-01, CD19 150 2026-01-10",
        E(absent=["monitor.ig-due", "monitor.bcells"], populations=["K"]),
        [
            statement("ofa", "2022-01-10", "2025-06-01", status="stopped"),
            cd19("2026-01-10", 150),
            ig_panel("2026-03-01", *NORMAL),
        ],
    )


# ============================================================================================
# On IgRT: troughs (F5), titration (§6), monitoring, immunomodulatory dosing, passive antibodies
# ============================================================================================
def k_igrt(
    trough=None,
    trough_date="2026-09-25",
    wt=80,
    dose=30,
    every=4,
    route="iv",
    start="2026-01-10",
    igm_v=21,
    iga_v=90,
):
    """Ofatumumab since 2023 + Ig replacement since `start`; weight on 2026-09-01; a panel whose IgG is
    the trough."""
    out = [
        ofa_active(),
        statement(
            "ivig" if route == "iv" else "scig", start=start, route=route, dose_g=dose, every_weeks=every
        ),
    ]
    if trough is not None:
        out += ig_panel(trough_date, trough, igm_v, iga_v)
    if wt:
        out.append(weight("2026-09-01", wt))
    return out


def cases_igrt():
    case(
        "trough-599-below-target",
        "§5 igrt.trough-below-target: trough 599 < 600 (K-10); §6 titration 30 g + 0.1 g/kg x 80 kg = 38 g -> "
        "40 g (5.3%), or 30 g every 3 weeks; trough due 2026-09-25 + 30 days = 2026-10-25",
        E(
            present=["igrt.trough-below-target", "monitor.igg-trough", "serology.passive-antibodies"],
            absent=["igrt.trough-on-target", "igrt.start", "igrt.not-for-labs-alone"],
            priority={"igrt.trough-below-target": "warning", "monitor.igg-trough": "info"},
            reasons={"monitor.igg-trough": ["scheduled"]},
            monitoring={"igg-trough": {"due": "2026-10-25", "overdue": False, "last_done": "2026-09-25"}},
            dosing={
                "titration.increased_dose_g": 40,
                "titration.same_dose_interval_weeks": 3,
                "trough_target_mg_dl": [600, 800],
                "weight_kg": 80,
                "ivig.dose_g_exact": 32.0,
                "ivig.dose_g": 30,
            },
        ),
        [k_igrt(599)],
    )
    case(
        "trough-600-on-target",
        "§5 twin: trough 600 >= 600 -> igrt.trough-on-target (info), no titration block",
        E(
            present=["igrt.trough-on-target", "monitor.ig-due"],
            absent=["igrt.trough-below-target"],
            priority={"igrt.trough-on-target": "info"},
            dosing={"titration": None},
        ),
        [k_igrt(600)],
    )
    case(
        "trough-500-700-profile-499",
        "Profile trough-500-700 (K-10 alternative): trough 499 < 500 -> below target; target [500, 700]",
        E(
            present=["igrt.trough-below-target"],
            absent=["igrt.trough-on-target"],
            dosing={"trough_target_mg_dl": [500, 700]},
        ),
        [k_igrt(499)],
        profile="trough-500-700",
    )
    case(
        "trough-500-700-profile-500",
        "Profile trough-500-700 twin: trough 500 -> on target (would be below under the default 600)",
        E(
            present=["igrt.trough-on-target"],
            absent=["igrt.trough-below-target"],
            dosing={"trough_target_mg_dl": [500, 700]},
        ),
        [k_igrt(500)],
        profile="trough-500-700",
    )
    case(
        "trough-850-above-range",
        "§5 trough-on-target covers 'above the range' too: trough 850 > 800 -> on target, not below",
        E(present=["igrt.trough-on-target"], absent=["igrt.trough-below-target"]),
        [k_igrt(850)],
    )
    gap("2026-01-10", "2026-04-09", 89)
    case(
        "trough-89-days-not-a-trough",
        "F5 trough = IgG >= 90 days after the start: IgG 550 on 2026-04-09 = start 2026-01-10 + 89 days is not "
        "a trough -> neither trough recommendation",
        E(present=["monitor.igg-trough"], absent=["igrt.trough-below-target", "igrt.trough-on-target"]),
        [k_igrt(550, trough_date="2026-04-09")],
    )
    gap("2026-01-10", "2026-04-10", 90)
    case(
        "trough-90-days-is-a-trough",
        "F5 twin: IgG 550 on 2026-04-10 = start + 90 days is a trough -> below target",
        E(present=["igrt.trough-below-target"]),
        [k_igrt(550, trough_date="2026-04-10")],
    )
    gap("2026-09-18", "2026-09-25", 7)
    case(
        "trough-7-days-after-iv",
        "F5 trough not within 7 days after an IV dose: infusions 2026-08-21 and 09-18, IgG 550 on 09-25 "
        "(7 days after) -> not a trough -> neither trough recommendation",
        E(
            present=["monitor.igg-trough"],
            absent=["igrt.trough-below-target", "igrt.trough-on-target"],
            monitoring={"igg-trough": {"due": "2026-10-25"}},
        ),
        [
            k_igrt(550, trough_date="2026-09-25"),
            admin("ivig", "2026-08-21", "iv", 30),
            admin("ivig", "2026-09-18", "iv", 30),
        ],
    )
    gap("2026-09-18", "2026-09-26", 8)
    case(
        "trough-8-days-after-iv",
        "F5 (revision 2) mid-cycle: IgG 550 on 2026-09-26 = 8 days after the 09-18 infusion, 20 days before "
        "the next (due 10-16) -> a mid-cycle level, not a trough -> neither trough recommendation",
        E(present=["monitor.igg-trough"], absent=["igrt.trough-below-target", "igrt.trough-on-target"]),
        [
            k_igrt(550, trough_date="2026-09-26"),
            admin("ivig", "2026-08-21", "iv", 30),
            admin("ivig", "2026-09-18", "iv", 30),
        ],
    )
    # Revision 2 twins on trough timing: 4-weekly IVIG 2026-08-21 and 09-18, next dose due 10-16.
    gap("2026-09-18", "2026-10-16", 28)
    for days_before, day, is_trough in (
        (8, "2026-10-08", False),
        (7, "2026-10-09", True),
        (6, "2026-10-10", True),
    ):
        gap(day, "2026-10-16", days_before)
        case(
            f"trough-iv-{days_before}-days-before-next-dose",
            f"F5 (revision 2) IV trough = on a dose day or within 7 days before the next dose: IgG 550 on "
            f"{day}, {days_before} days before the dose due 2026-10-16 -> "
            + ("a trough -> below target" if is_trough else "mid-cycle, not a trough"),
            E(present=["igrt.trough-below-target"])
            if is_trough
            else E(
                present=["monitor.igg-trough"], absent=["igrt.trough-below-target", "igrt.trough-on-target"]
            ),
            [
                k_igrt(550, trough_date=day),
                admin("ivig", "2026-08-21", "iv", 30),
                admin("ivig", "2026-09-18", "iv", 30),
            ],
        )
    case(
        "trough-iv-on-the-dose-day",
        "F5 an IV trough drawn on a dose day (before the dose) counts: IgG 550 on 2026-09-18, the infusion "
        "day -> below target",
        E(present=["igrt.trough-below-target"]),
        [
            k_igrt(550, trough_date="2026-09-18"),
            admin("ivig", "2026-08-21", "iv", 30),
            admin("ivig", "2026-09-18", "iv", 30),
        ],
    )
    case(
        "trough-iv-statement-only-timing-unknown",
        "F5 (revision 2) IV course recorded by a statement only: the IgG counts as a trough, with a "
        "trough-timing-unknown info data issue",
        E(
            present=["igrt.trough-below-target"],
            data_issue={"severity": "info", "code": "trough-timing-unknown"},
        ),
        [k_igrt(550, trough_date="2026-09-25")],
    )
    gap("2026-09-14", "2026-10-14", 30)
    case(
        "trough-latest-trough-not-latest-igg",
        "F5 the latest *trough* decides: trough 550 on 2026-08-01, then IgG 900 on 2026-09-25, 7 days after an "
        "infusion (not a trough) -> below target",
        E(present=["igrt.trough-below-target"], absent=["igrt.trough-on-target"]),
        [
            k_igrt(550, trough_date="2026-08-01"),
            admin("ivig", "2026-09-18", "iv", 30),
            igg("2026-09-25", 900),
        ],
    )
    case(
        "trough-monitoring-overdue",
        "§5 monitor.igg-trough: latest IgG on/after start 2026-09-14 + 30 days = 2026-10-14 < as_of -> overdue, "
        "warning",
        E(
            present=["monitor.igg-trough"],
            priority={"monitor.igg-trough": "warning"},
            reasons={"monitor.igg-trough": ["overdue"]},
            monitoring={"igg-trough": {"due": "2026-10-14", "overdue": True, "last_done": "2026-09-14"}},
        ),
        [k_igrt(700, trough_date="2026-09-14")],
    )
    case(
        "trough-monitoring-due-today",
        "§5 twin: latest IgG 2026-09-15 + 30 = 2026-10-15 = as_of -> not overdue, info",
        E(
            present=["monitor.igg-trough"],
            priority={"monitor.igg-trough": "info"},
            monitoring={"igg-trough": {"due": "2026-10-15", "overdue": False}},
        ),
        [k_igrt(700, trough_date="2026-09-15")],
    )
    gap("2026-09-01", "2026-10-01", 30)
    case(
        "trough-monitoring-no-igg-since-start",
        "§5 monitor.igg-trough with no IgG since the start: IVIG from 2026-09-01 (IgG 380 on 2026-08-20 is "
        "before it) -> due start + 30 = 2026-10-01 -> overdue",
        E(
            present=["monitor.igg-trough"],
            absent=["igrt.start"],
            monitoring={"igg-trough": {"due": "2026-10-01", "overdue": True}},
        ),
        [k_igrt(None, start="2026-09-01"), ig_panel("2026-08-20", 380, 21, 90)],
    )
    gap("2026-10-08", "2026-11-07", 30)
    gap("2026-10-01", "2026-10-08", 7)
    case(
        "trough-monitoring-uses-any-igg",
        "§5 trough due counts from the latest IgG on/after the start, trough or not: IgG 2026-10-08 (7 days "
        "after an infusion on 10-01) -> due 2026-11-07",
        E(monitoring={"igg-trough": {"due": "2026-11-07", "overdue": False}}),
        [
            k_igrt(650, trough_date="2026-09-01"),
            admin("ivig", "2026-10-01", "iv", 30),
            igg("2026-10-08", 900),
        ],
    )

    # §6 titration arithmetic
    case(
        "titration-cap",
        "§6 titration cap 0.8 g/kg per 4 weeks: 75 kg, current 55 g q4w, trough 550 -> 55 + 7.5 = 62.5 g > "
        "cap 60 g -> 60 g",
        E(present=["igrt.trough-below-target"], dosing={"titration.increased_dose_g": 60}),
        [k_igrt(550, wt=75, dose=55)],
    )
    case(
        "titration-half-up-5g",
        "§6 titration rounded half-up like a starting dose: 75 kg, current 25 g q4w -> 25 + 7.5 = 32.5 g; "
        "nearest 5 g half-up = 35 (7.7%) (half-even would give 30)",
        E(
            present=["igrt.trough-below-target"],
            dosing={"titration.increased_dose_g": 35, "titration.same_dose_interval_weeks": 3},
        ),
        [k_igrt(550, wt=75, dose=25)],
    )
    case(
        "titration-no-recorded-dose",
        "§6 current dose = computed starting dose when none is recorded: 75 kg -> 30.0 g; + 7.5 = 37.5 g -> "
        "40 g (half-up, 6.7%)",
        E(present=["igrt.trough-below-target"], dosing={"titration.increased_dose_g": 40}),
        [
            ofa_active(),
            statement("ivig", start="2026-01-10", route="iv"),
            ig_panel("2026-09-25", 550, 21, 90),
            weight("2026-09-01", 75),
        ],
    )
    case(
        "titration-scig-weekly",
        "§6 titration scaled to the interval: SCIG 8 g weekly, 80 kg, trough 550 -> 8 + 0.1 x 80 x 1/4 = 10 g",
        E(present=["igrt.trough-below-target"], dosing={"titration.increased_dose_g": 10}),
        [k_igrt(550, dose=8, every=1, route="sc")],
    )
    case(
        "titration-iv-every-3-weeks",
        "§6 titration scaled to the interval: IVIG 20 g every 3 weeks, 80 kg -> 20 + 0.1 x 80 x 3/4 = 26 g -> "
        "nearest 5 = 25 g (3.8%)",
        E(present=["igrt.trough-below-target"], dosing={"titration.increased_dose_g": 25}),
        [k_igrt(550, dose=20, every=3)],
    )

    # F5 immunomodulatory dosing is not replacement
    case(
        "igrt-1-0-g-per-kg-replacement",
        "F5 IgRT limit 1.0 g/kg per 4 weeks: 80 g q4w at 80 kg = 1.0 (not above) -> replacement -> on IgRT",
        E(present=["monitor.igg-trough", "igrt.trough-on-target"]),
        [k_igrt(1200, dose=80)],
    )
    case(
        "igrt-1-0125-g-per-kg-immunomodulatory",
        "F5 twin: 81 g q4w at 80 kg = 1.0125 g/kg > 1.0 -> immunomodulatory, not replacement -> not on IgRT",
        E(
            absent=[
                "monitor.igg-trough",
                "igrt.trough-on-target",
                "igrt.trough-below-target",
                "igrt.review-continuation",
            ]
        ),
        [k_igrt(1200, dose=81)],
    )
    case(
        "igrt-scig-weekly-above-limit",
        "F5 (revision 2) SC ceiling 1.4: SCIG 21 g weekly at 80 kg = 84 g/4 weeks = 1.05 g/kg -> an ordinary "
        "SC replacement dose (the review found it told to *start* replacement) -> on IgRT, no igrt.start",
        E(present=["monitor.igg-trough", "igrt.trough-on-target"], absent=["igrt.start"]),
        [k_igrt(1200, dose=21, every=1, route="sc")],
    )
    case(
        "igrt-scig-weekly-at-sc-ceiling",
        "F5 (revision 2) twin: SCIG 28 g weekly at 80 kg = 112 g/4 weeks = 1.4 g/kg, not above the SC "
        "ceiling 1.4 -> replacement",
        E(present=["monitor.igg-trough", "igrt.trough-on-target"]),
        [k_igrt(1200, dose=28, every=1, route="sc")],
    )
    case(
        "igrt-scig-weekly-above-sc-ceiling",
        "F5 (revision 2) twin: SCIG 29 g weekly at 80 kg = 116 g/4 weeks = 1.45 g/kg > 1.4 -> "
        "immunomodulatory: shown with ig-immunomodulatory-dose, not replacement; serology.passive-antibodies",
        E(
            present=["serology.passive-antibodies"],
            absent=["monitor.igg-trough", "igrt.trough-on-target"],
            data_issue={"severity": "info", "code": "ig-immunomodulatory-dose"},
        ),
        [k_igrt(1200, dose=29, every=1, route="sc")],
    )
    case(
        "igrt-high-dose-without-weight",
        "F5 without a weight a recorded dose counts as replacement: 160 g q4w, no weight -> on IgRT; §6 gram "
        "fields null + weight-missing",
        E(
            present=["monitor.igg-trough"],
            dosing={
                "weight_kg": None,
                "weight_basis": "none",
                "ivig.dose_g": None,
                "ivig.dose_g_exact": None,
                "scig.weekly_g": None,
                "scig.biweekly_g": None,
                "ivig.g_per_kg": 0.4,
            },
            data_issue={"severity": "warning", "match": "weight-missing"},
        ),
        [k_igrt(1200, dose=160, wt=None)],
    )

    # F5 current by administrations (IV 4 weeks, SC 1 week, + 4 weeks grace)
    case(
        "igrt-iv-admin-56-days",
        "F5 current by administrations: last IVIG 2026-08-20 = 56 days <= 4 + 4 weeks -> on IgRT",
        E(present=["monitor.igg-trough", "serology.passive-antibodies"], absent=["igrt.start"]),
        [
            ofa_active(),
            ig_panel("2026-08-10", 450, 21, 90),
            weight("2026-09-01", 75),
            admin("ivig", "2026-06-25", "iv", 30),
            admin("ivig", "2026-07-23", "iv", 30),
            admin("ivig", "2026-08-20", "iv", 30),
        ],
    )
    case(
        "igrt-iv-admin-57-days",
        "F5 twin: last IVIG 2026-08-19 = 57 days -> not on IgRT (IgG 450 not severe); passive antibodies "
        "within 180 days",
        E(present=["serology.passive-antibodies"], absent=["monitor.igg-trough", "igrt.trough-below-target"]),
        [
            ofa_active(),
            ig_panel("2026-08-10", 450, 21, 90),
            weight("2026-09-01", 75),
            admin("ivig", "2026-06-24", "iv", 30),
            admin("ivig", "2026-07-22", "iv", 30),
            admin("ivig", "2026-08-19", "iv", 30),
        ],
    )
    gap("2026-09-10", AS_OF, 35)
    case(
        "igrt-sc-admin-35-days",
        "F5 SC default interval 1 week + 4 weeks grace = 35 days: last SCIG 2026-09-10 -> on IgRT",
        E(present=["monitor.igg-trough"]),
        [
            ofa_active(),
            ig_panel("2026-08-10", 650, 21, 90),
            weight("2026-09-01", 75),
            admin("scig", "2026-08-27", "sc", 8),
            admin("scig", "2026-09-03", "sc", 8),
            admin("scig", "2026-09-10", "sc", 8),
        ],
    )
    case(
        "igrt-sc-admin-36-days",
        "F5 twin: last SCIG 2026-09-09 = 36 days -> not on IgRT",
        E(absent=["monitor.igg-trough"], present=["serology.passive-antibodies"]),
        [
            ofa_active(),
            ig_panel("2026-08-10", 650, 21, 90),
            weight("2026-09-01", 75),
            admin("scig", "2026-08-26", "sc", 8),
            admin("scig", "2026-09-02", "sc", 8),
            admin("scig", "2026-09-09", "sc", 8),
        ],
    )
    case(
        "igrt-blocks-igrt-start",
        "§5 igrt.start is for patients not on IgRT: on IVIG with trough 380 (< 400) -> no igrt.start, trough "
        "below target",
        E(present=["igrt.trough-below-target"], absent=["igrt.start", "igrt.not-for-labs-alone"]),
        [k_igrt(380)],
    )

    # serology.passive-antibodies (K-19, §9.11: 180 days)
    gap("2026-04-18", AS_OF, 180)
    case(
        "passive-antibodies-180-days",
        "§5 serology.passive-antibodies: IVIG ended 2026-04-18 = as_of - 180 days -> within 180 -> present; "
        "not on IgRT",
        E(
            present=["serology.passive-antibodies"],
            absent=["monitor.igg-trough"],
            priority={"serology.passive-antibodies": "info"},
        ),
        [
            k_base(),
            statement(
                "ivig", "2025-06-01", "2026-04-18", status="completed", route="iv", dose_g=30, every_weeks=4
            ),
        ],
    )
    gap("2026-04-17", AS_OF, 181)
    case(
        "passive-antibodies-181-days",
        "§5 twin: IVIG ended 2026-04-17 = 181 days -> no passive-antibodies card",
        E(absent=["serology.passive-antibodies", "monitor.igg-trough"]),
        [
            k_base(),
            statement(
                "ivig", "2025-06-01", "2026-04-17", status="completed", route="iv", dose_g=30, every_weeks=4
            ),
        ],
    )
    case(
        "passive-antibodies-never",
        "§5 no Ig replacement ever -> no passive-antibodies card",
        E(absent=["serology.passive-antibodies"]),
        [k_base()],
    )

    # igrt.breakthrough-infections (D-only patient so kesimpta.* is out of the picture)
    case(
        "breakthrough-on-target",
        "§5 igrt.breakthrough-infections: IgM deficiency on IVIG from 2025-11-01; sinusitis 2026-03-01 and "
        "2026-07-01 (both >= start + 28 days), trough 700 on target -> warning",
        E(
            present=["igrt.breakthrough-infections", "igrt.trough-on-target"],
            absent=["anti-cd20.consider-discontinuation", "igrt.review-continuation", "prophylaxis.consider"],
            priority={"igrt.breakthrough-infections": "warning"},
        ),
        [
            d_base(ig=None),
            igrt_statement(start="2025-11-01", dose=25),
            ig_panel("2026-09-01", 700, 20, 120),
            infection("2026-03-01", SINUSITIS, severity="moderate"),
            infection("2026-07-01", SINUSITIS, severity="moderate"),
        ],
    )
    case(
        "breakthrough-below-target",
        "§5 twin: same 2 episodes with trough 550 (below target) -> no breakthrough card; trough-below-target",
        E(present=["igrt.trough-below-target"], absent=["igrt.breakthrough-infections"]),
        [
            d_base(ig=None),
            igrt_statement(start="2025-11-01", dose=25),
            ig_panel("2026-09-01", 550, 20, 120),
            infection("2026-03-01", SINUSITIS, severity="moderate"),
            infection("2026-07-01", SINUSITIS, severity="moderate"),
        ],
    )
    case(
        "breakthrough-one-episode",
        "§5 twin: 1 episode on IgRT (< 2) with trough on target -> no breakthrough card",
        E(present=["igrt.trough-on-target"], absent=["igrt.breakthrough-infections"]),
        [
            d_base(ig=None),
            igrt_statement(start="2025-11-01", dose=25),
            ig_panel("2026-09-01", 700, 20, 120),
            infection("2026-07-01", SINUSITIS, severity="moderate"),
        ],
    )
    case(
        "breakthrough-ocrelizumab",
        "§5 breakthrough for any population; revision 2: consider-discontinuation for every agent: "
        "ocrelizumab + IVIG, 2 episodes on IgRT, trough on target -> both, recurrent-despite-igrt",
        E(
            present=["igrt.breakthrough-infections", "anti-cd20.consider-discontinuation"],
            absent=["anti-cd20.continue"],
            reasons={"anti-cd20.consider-discontinuation": ["recurrent-despite-igrt"]},
        ),
        [
            statement("ocr", start="2024-02-01"),
            igrt_statement(start="2025-11-01"),
            weight("2026-09-01", 75),
            ig_panel("2026-09-01", 700, 60, 120),
            infection("2026-03-01", SINUSITIS, severity="moderate"),
            infection("2026-07-01", SINUSITIS, severity="moderate"),
        ],
    )


# ============================================================================================
# igrt.review-continuation (K-11, D-17) and igrt.mucosal-residual-risk
# ============================================================================================
def cases_review():
    def d_on_igrt(trough=700, start="2025-06-01", extra=()):
        return [
            d_base(ig=None),
            igrt_statement(start=start, dose=25),
            ig_panel("2026-09-01", trough, 20, 120),
            *extra,
        ]

    case(
        "review-d-on-target",
        "§5 igrt.review-continuation: IgM deficiency (D only) on IVIG since 2025-06-01 (>= 6 months), no "
        "episode in 6 months, trough 700 on target -> review; IgM low on IgRT -> mucosal-residual-risk",
        E(
            present=[
                "igrt.review-continuation",
                "igrt.trough-on-target",
                "igrt.mucosal-residual-risk",
                "monitor.igg-trough",
                "serology.passive-antibodies",
            ],
            absent=["igrt.start", "monitor.ig-due", "igrt.breakthrough-infections"],
            priority={"igrt.review-continuation": "info", "igrt.mucosal-residual-risk": "info"},
            populations=["D"],
        ),
        d_on_igrt(),
    )
    case(
        "review-d-below-target",
        "§5 twin: D requires the latest trough on target; trough 550 -> no review",
        E(present=["igrt.trough-below-target"], absent=["igrt.review-continuation"]),
        d_on_igrt(trough=550),
    )
    mgap("2026-04-15", 6, AS_OF)
    case(
        "review-episode-on-6-month-boundary",
        "§5 'no episode in 6 months' (boundary included): sinusitis on 2026-04-15 = as_of - 6 months -> "
        "counts -> no review",
        E(absent=["igrt.review-continuation"]),
        d_on_igrt(extra=[infection("2026-04-15", SINUSITIS, severity="moderate")]),
    )
    case(
        "review-episode-before-6-months",
        "§5 twin: sinusitis on 2026-04-14 is before the 6-month window -> review",
        E(present=["igrt.review-continuation"]),
        d_on_igrt(extra=[infection("2026-04-14", SINUSITIS, severity="moderate")]),
    )
    case(
        "review-igrt-exactly-6-months",
        "§5 on IgRT >= 6 months: IVIG since 2026-04-15, + 6 months = 2026-10-15 = as_of -> review "
        "(trough 700 on 2026-09-01 is 139 days after the start)",
        E(present=["igrt.review-continuation"]),
        d_on_igrt(start="2026-04-15"),
    )
    case(
        "review-igrt-under-6-months",
        "§5 twin: IVIG since 2026-04-16, + 6 months = 2026-10-16 > as_of -> no review yet",
        E(absent=["igrt.review-continuation"], present=["igrt.trough-on-target"]),
        d_on_igrt(start="2026-04-16"),
    )

    def k_repleted_on_igrt(igm_v=50, iga_v=100, cd19_v=150):
        return [
            statement("ofa", "2023-09-01", "2025-12-01", status="stopped"),
            cd19("2026-08-01", cd19_v),
            igrt_statement(start="2025-09-01"),
            weight("2026-09-01", 75),
            ig_panel("2026-09-01", 750, igm_v, iga_v),
        ]

    case(
        "review-k-repleted",
        "§5 review for K: ofatumumab stopped 2025-12-01, CD19 150 (repleted), IgM 50 and IgA 100 not low, IVIG "
        "since 2025-09-01, no episodes -> review; no mucosal risk (IgM, IgA not low)",
        E(
            populations=["K"],
            present=["igrt.review-continuation"],
            absent=["igrt.mucosal-residual-risk", "monitor.bcells", "vaccine.live-avoid", "monitor.ig-due"],
        ),
        k_repleted_on_igrt(),
    )
    case(
        "review-k-igm-low",
        "§5 twin: IgM 30 low -> K condition fails -> no review; IgM low on IgRT -> mucosal-residual-risk",
        E(present=["igrt.mucosal-residual-risk"], absent=["igrt.review-continuation"]),
        k_repleted_on_igrt(igm_v=30),
    )
    case(
        "review-k-iga-low",
        "§5 twin: IgA 60 low -> no review; mucosal-residual-risk",
        E(present=["igrt.mucosal-residual-risk"], absent=["igrt.review-continuation"]),
        k_repleted_on_igrt(iga_v=60),
    )
    case(
        "review-k-not-repleted",
        "§5 twin: CD19 50 after stopping -> not repleted -> no review; monitor.bcells",
        E(present=["monitor.bcells"], absent=["igrt.review-continuation"]),
        k_repleted_on_igrt(cd19_v=50),
    )
    case(
        "review-k-ofatumumab-current",
        "§5 twin: ofatumumab current -> B cells presumed depleted -> no review",
        E(absent=["igrt.review-continuation"], present=["anti-cd20.continue"]),
        [
            ofa_active(),
            igrt_statement(start="2025-09-01"),
            weight("2026-09-01", 75),
            ig_panel("2026-09-01", 750, 50, 100),
        ],
    )
    case(
        "mucosal-not-without-igrt",
        "§5 mucosal-residual-risk needs IgRT or igrt.start: IgM 20 low, no reason to start -> absent",
        E(present=["igrt.not-for-labs-alone"], absent=["igrt.mucosal-residual-risk", "igrt.start"]),
        [k_base(ig=(910, 20, 130))],
    )


# ============================================================================================
# Prophylaxis (K-17, D-6, D-8c, D-17) and prophylaxis.not-routine
# ============================================================================================
def proph(start="2026-01-01", drug="sxt", reason_text="prophylaxis", end=None, status="active"):
    return statement(drug, start=start, end=end, status=status, reason_text=reason_text)


def cases_prophylaxis():
    case(
        "proph-k-two-episodes",
        "§5 prophylaxis.consider K: 2 moderate sinusitis episodes (2026-01-10, 2026-06-01), no igrt.start -> "
        "recurrent-infections; consider fires so no not-routine (IgM 20 low)",
        E(
            present=["prophylaxis.consider"],
            absent=["igrt.start", "prophylaxis.not-routine"],
            reasons={"prophylaxis.consider": ["recurrent-infections"]},
            priority={"prophylaxis.consider": "info"},
        ),
        [
            k_base(ig=(910, 20, 130)),
            infection("2026-01-10", SINUSITIS, severity="moderate"),
            infection("2026-06-01", SINUSITIS, severity="moderate"),
        ],
    )
    case(
        "proph-k-two-episodes-with-igrt-start",
        "§5 K prophylaxis.consider needs no igrt.start: IgG 350 (K-8b) + 2 moderate sinusitis -> igrt.start, no "
        "prophylaxis.consider",
        E(
            present=["igrt.start"],
            absent=["prophylaxis.consider"],
            reasons={"igrt.start": ["igg-below-threshold"]},
        ),
        [
            k_base(ig=(350, 80, 130)),
            infection("2026-01-10", SINUSITIS, severity="moderate"),
            infection("2026-06-01", SINUSITIS, severity="moderate"),
        ],
    )
    case(
        "proph-k-one-episode",
        "§5 twin: 1 episode (< 2) with IgM 20 low -> prophylaxis.not-routine, no consider",
        E(present=["prophylaxis.not-routine"], absent=["prophylaxis.consider"]),
        [k_base(ig=(910, 20, 130)), infection("2026-06-01", SINUSITIS, severity="moderate")],
    )
    case(
        "proph-k-on-prophylaxis",
        "§5 not-routine and consider exclude patients on prophylaxis: co-trimoxazole 'prophylaxis' since "
        "2026-01-01, IgM 20, no episodes -> neither",
        E(absent=["prophylaxis.not-routine", "prophylaxis.consider"]),
        [k_base(ig=(910, 20, 130)), proph()],
    )
    case(
        "proph-k-long-course-no-reason",
        "F6 prophylaxis = a course lasting >= 28 days naming no infection: azithromycin active since "
        "2026-06-01 (136 days), no reason -> on prophylaxis -> no not-routine",
        E(absent=["prophylaxis.not-routine", "prophylaxis.consider"]),
        [k_base(ig=(910, 20, 130)), proph(start="2026-06-01", drug="azi", reason_text=None)],
    )
    case(
        "proph-k-short-course-not-prophylaxis",
        "F6 twin: a completed 10-day amoxicillin course without reason is not prophylaxis -> not-routine",
        E(present=["prophylaxis.not-routine"]),
        [
            k_base(ig=(910, 20, 130)),
            proph(start="2026-06-01", end="2026-06-10", drug="amox", reason_text=None, status="completed"),
        ],
    )
    case(
        "proph-k-igm-normal-no-not-routine",
        "§5 not-routine needs IgM low: IgM 80, no episodes -> absent",
        E(absent=["prophylaxis.not-routine", "prophylaxis.consider"]),
        [k_base()],
    )
    case(
        "proph-k-failure-no-igrt",
        "§5 D-8c prophylaxis-failed is D only: K patient (ofatumumab) on prophylaxis with 2 sinusitis episodes "
        "-> no igrt.start; on prophylaxis -> no consider",
        E(absent=["igrt.start", "prophylaxis.consider"]),
        [
            k_base(),
            proph(),
            infection("2026-03-01", SINUSITIS, severity="moderate"),
            infection("2026-07-01", SINUSITIS, severity="moderate"),
        ],
    )
    case(
        "proph-d-mild-presentation",
        "§5 prophylaxis.consider D (confirmed): 1 bacterial episode (moderate J13), no igrt.start -> "
        "mild-presentation (D-6)",
        E(
            populations=["D"],
            present=["prophylaxis.consider"],
            absent=["igrt.start", "prophylaxis.not-routine"],
            reasons={"prophylaxis.consider": ["mild-presentation"]},
        ),
        [d_base(), infection("2026-05-01", J13, severity="moderate")],
    )
    case(
        "proph-d-non-bacterial",
        "§5 twin: 1 sinusitis without organism or antibiotic (not bacterial) -> no consider",
        E(absent=["prophylaxis.consider", "igrt.start"]),
        [d_base(), infection("2026-05-01", SINUSITIS, severity="moderate")],
    )
    case(
        "proph-d-alternative-first-line",
        "§5 D-8a + alternative first line: 2 moderate J13 episodes (bacterial) -> igrt.start recurrent-bacterial "
        "(only reason, no severe episode) -> prophylaxis.consider alternative-first-line (D-6, D-7)",
        E(
            present=["igrt.start", "prophylaxis.consider"],
            reasons={
                "igrt.start": ["recurrent-bacterial"],
                "prophylaxis.consider": ["alternative-first-line"],
            },
        ),
        [
            d_base(),
            infection("2026-02-01", J13, severity="moderate"),
            infection("2026-07-01", J13, severity="moderate"),
        ],
    )
    case(
        "proph-d-recurrent-with-severe",
        "§5 twin: one of the 2 bacterial episodes severe -> igrt.start recurrent-bacterial, no alternative first "
        "line",
        E(
            present=["igrt.start"],
            absent=["prophylaxis.consider"],
            reasons={"igrt.start": ["recurrent-bacterial"]},
        ),
        [
            d_base(),
            infection("2026-02-01", J13, severity="severe"),
            infection("2026-07-01", J13, severity="moderate"),
        ],
    )
    case(
        "proph-d-failed-two-episodes",
        "§5 igrt.start D-8c prophylaxis-failed: co-trimoxazole prophylaxis since 2026-01-01, 2 sinusitis "
        "episodes during it (2026-03-01, 07-01) -> start IgRT",
        E(
            present=["igrt.start"],
            absent=["prophylaxis.consider"],
            reasons={"igrt.start": ["prophylaxis-failed"]},
        ),
        [
            d_base(),
            proph(),
            infection("2026-03-01", SINUSITIS, severity="moderate"),
            infection("2026-07-01", SINUSITIS, severity="moderate"),
        ],
    )
    case(
        "proph-d-failed-one-severe",
        "§5 D-8c (§9.8): 1 severe sinusitis during prophylaxis -> prophylaxis-failed",
        E(present=["igrt.start"], reasons={"igrt.start": ["prophylaxis-failed"]}),
        [d_base(), proph(), infection("2026-07-01", SINUSITIS, severity="severe")],
    )
    case(
        "proph-d-one-moderate-not-failed",
        "§5 twin: 1 moderate sinusitis during prophylaxis -> not failed, no igrt.start; on prophylaxis -> no "
        "consider",
        E(absent=["igrt.start", "prophylaxis.consider"]),
        [d_base(), proph(), infection("2026-07-01", SINUSITIS, severity="moderate")],
    )
    case(
        "proph-d-episode-before-prophylaxis",
        "F6 failure counts episodes with onset during prophylaxis: prophylaxis from 2026-05-01, sinusitis "
        "2026-03-01 (before) and 2026-07-01 (during) -> 1 -> not failed",
        E(absent=["igrt.start"]),
        [
            d_base(),
            proph(start="2026-05-01"),
            infection("2026-03-01", SINUSITIS, severity="moderate"),
            infection("2026-07-01", SINUSITIS, severity="moderate"),
        ],
    )


# ============================================================================================
# Population D: confirmed / suspected (§1, F8), evaluate.igm-deficiency, D-8 reasons
# ============================================================================================
def cases_population_d():
    mgap("2026-09-10", 6, "2027-03-10")
    case(
        "d-suspected",
        "§1 suspected IgM deficiency: IgM 22 low, IgG 1010 and IgA 180 not low, no diagnosis, never on a "
        "B-cell-depleting agent -> D; evaluate.igm-deficiency lists specific antibodies and lymphocyte subsets "
        "(due as_of); ig-due 2026-09-10 + 6 months = 2027-03-10",
        E(
            populations=["D"],
            applicable=True,
            present=["evaluate.igm-deficiency", "monitor.ig-due", "risk.encapsulated-bacteria", *ALWAYS],
            absent=[
                "igrt.start",
                "vaccine.live-avoid",
                "anti-cd20.continue",
                "prophylaxis.not-routine",
                "monitor.check-igg",
            ],
            priority={"evaluate.igm-deficiency": "warning"},
            monitoring={
                "specific-antibodies": {"due": AS_OF},
                "lymphocyte-subsets": {"due": AS_OF},
                "ig-panel": {"due": "2027-03-10", "overdue": False},
            },
        ),
        [ig_panel("2026-09-10", 1010, 22, 180)],
    )
    case(
        "d-suspected-igg-unknown",
        "§1 suspected: 'neither IgG nor IgA known to be low' holds with IgG never measured -> D; IgM low + IgG "
        "unknown -> monitor.check-igg",
        E(populations=["D"], present=["evaluate.igm-deficiency", "monitor.check-igg"]),
        [igm("2026-09-10", 22), iga("2026-09-10", 180)],
    )
    case(
        "d-not-suspected-igg-low",
        "§1 not suspected when IgG is low: IgM 22, IgG 650 (< 700), no anti-CD20, no diagnosis -> neither "
        "population -> not applicable, no recommendations",
        E(
            applicable=False,
            populations=[],
            absent=["evaluate.igm-deficiency", "monitor.infections", "education.infection-warning-signs"],
        ),
        [ig_panel("2026-09-10", 650, 22, 180)],
    )
    case(
        "d-not-suspected-iga-low",
        "§1 not suspected when IgA is low: IgM 22, IgA 60 (< 70) -> not applicable",
        E(applicable=False, populations=[]),
        [ig_panel("2026-09-10", 1010, 22, 60)],
    )
    case(
        "d-not-suspected-igm-34",
        "§1/F3 IgM 34 is not low -> not suspected -> not applicable",
        E(applicable=False, populations=[]),
        [ig_panel("2026-09-10", 1010, 34, 180)],
    )
    case(
        "d-not-suspected-obinutuzumab",
        "§1 (revision 2) obinutuzumab is a population K agent; its exposure excludes suspected IgM "
        "deficiency: IgM 22, stopped 2019 -> K only, monitor.bcells, no evaluate.igm-deficiency",
        E(
            populations=["K"],
            present=["monitor.bcells", "vaccine.live-avoid"],
            absent=["evaluate.igm-deficiency"],
            reasons={"vaccine.live-avoid": ["not-repleted"]},
        ),
        [
            statement("obi", "2019-01-10", "2019-06-30", status="completed"),
            ig_panel("2026-09-10", 1010, 22, 180),
        ],
    )
    case(
        "d-not-suspected-inebilizumab",
        "§1 (revision 2) inebilizumab (anti-CD19) is a population K agent: current -> K, continue, "
        "live-avoid on-therapy; no suspected IgM deficiency",
        E(
            populations=["K"],
            present=["anti-cd20.continue", "vaccine.live-avoid"],
            absent=["evaluate.igm-deficiency"],
            reasons={"vaccine.live-avoid": ["on-therapy"]},
        ),
        [statement("ine", "2022-03-01", status="active"), ig_panel("2026-09-10", 1010, 22, 180)],
    )
    case(
        "d-confirmed-snomed",
        "§1 confirmed: diagnosis SNOMED 190980000, never exposed -> D; response not assessed -> "
        "evaluate.igm-deficiency",
        E(
            populations=["D"],
            present=["evaluate.igm-deficiency", "monitor.ig-due"],
            monitoring={"specific-antibodies": {"due": AS_OF}},
        ),
        [d_base()],
    )
    case(
        "d-confirmed-icd10",
        "§1 confirmed via ICD-10 D80.4 -> D",
        E(populations=["D"], present=["evaluate.igm-deficiency"]),
        [d_base(dx=IGMD_ICD)],
    )
    case(
        "d-confirmed-no-labs",
        "§1 confirmed by diagnosis alone (no Ig results) -> D; ig-due never measured -> due as_of",
        E(
            populations=["D"],
            present=["monitor.ig-due"],
            reasons={"monitor.ig-due": ["never-measured"]},
            monitoring={"ig-panel": {"due": AS_OF, "overdue": False}},
        ),
        [diagnosis(IGMD, "2020-03-01")],
    )
    case(
        "d-confirmed-before-exposure-both",
        "§1 overlap: IgM deficiency diagnosed 2018-05-01, before the first ofatumumab 2023-09-01 -> "
        "populations D and K",
        E(
            populations=["D", "K"],
            present=["anti-cd20.continue", "evaluate.igm-deficiency", "vaccine.live-avoid"],
        ),
        [d_base(dx_date="2018-05-01"), ofa_active()],
    )
    case(
        "d-confirmed-after-exposure-k-only",
        "§1 in an exposed patient only a diagnosis dated before the first exposure counts: diagnosis "
        "2024-02-01 after ofatumumab 2023-09-01 -> K only; no D recommendations",
        E(populations=["K"], present=["anti-cd20.continue"], absent=["evaluate.igm-deficiency"]),
        [d_base(dx_date="2024-02-01"), ofa_active()],
    )
    case(
        "d-confirmed-after-exposure-no-d8",
        "§1 twin consequence: diagnosis after exposure, 2 moderate J13 episodes -> not D -> no D-8a "
        "recurrent-bacterial; K: 2 episodes -> prophylaxis.consider",
        E(
            populations=["K"],
            absent=["igrt.start"],
            present=["prophylaxis.consider"],
            reasons={"prophylaxis.consider": ["recurrent-infections"]},
        ),
        [
            d_base(dx_date="2024-02-01"),
            ofa_active(),
            infection("2026-02-01", J13, severity="moderate"),
            infection("2026-07-01", J13, severity="moderate"),
        ],
    )
    case(
        "d8a-recurrent-bacterial",
        "§5 igrt.start D-8a: confirmed, 2 bacterial episodes (pneumococcal pneumonia SNOMED 233607000, "
        "moderate) in 12 months -> recurrent-bacterial; dose 66 kg: 26.4 g -> 25 g (5.3%)",
        E(
            present=["igrt.start", "igrt.mucosal-residual-risk"],
            reasons={"igrt.start": ["recurrent-bacterial"]},
            dosing={"ivig.dose_g_exact": 26.4, "ivig.dose_g": 25, "scig.weekly_g": 7, "scig.biweekly_g": 13},
        ),
        [
            d_base(),
            infection("2026-01-15", PNEUMOCOCCAL_PNEUMONIA, severity="moderate"),
            infection("2026-06-20", PNEUMOCOCCAL_PNEUMONIA, severity="moderate"),
        ],
    )
    case(
        "d8a-one-bacterial",
        "§5 D-8a twin: 1 bacterial episode -> no igrt.start",
        E(absent=["igrt.start"]),
        [d_base(), infection("2026-06-20", PNEUMOCOCCAL_PNEUMONIA, severity="moderate")],
    )
    case(
        "d8a-bacterial-via-antibiotic",
        "F4 bacterial when an antibiotic course names the episode: 2 sinusitis episodes each treated with "
        "amoxicillin (reasonReference) -> 2 bacterial -> igrt.start recurrent-bacterial",
        E(present=["igrt.start"], reasons={"igrt.start": ["recurrent-bacterial"]}),
        [
            d_base(),
            infection("2026-02-01", SINUSITIS, severity="moderate", rid="sin-1"),
            infection("2026-07-01", SINUSITIS, severity="moderate", rid="sin-2"),
            statement("amox", "2026-02-01", "2026-02-10", status="completed", reason_ref="sin-1"),
            statement("amox", "2026-07-01", "2026-07-10", status="completed", reason_ref="sin-2"),
        ],
    )
    case(
        "d8a-not-bacterial",
        "F4 twin: the same 2 sinusitis episodes without antibiotics or organism are not bacterial -> no igrt.start",
        E(absent=["igrt.start"]),
        [
            d_base(),
            infection("2026-02-01", SINUSITIS, severity="moderate"),
            infection("2026-07-01", SINUSITIS, severity="moderate"),
        ],
    )
    case(
        "d8a-suspected-not-started",
        "§5 D reasons are for confirmed only: suspected IgM deficiency with 2 bacterial episodes -> no "
        "igrt.start; evaluate.igm-deficiency",
        E(populations=["D"], present=["evaluate.igm-deficiency"], absent=["igrt.start"]),
        [
            ig_panel("2026-09-10", 1010, 22, 180),
            weight("2026-09-10", 66),
            infection("2026-01-15", PNEUMOCOCCAL_PNEUMONIA, severity="moderate"),
            infection("2026-06-20", PNEUMOCOCCAL_PNEUMONIA, severity="moderate"),
        ],
    )
    case(
        "d8d-life-threatening",
        "§5 igrt.start D-8d: confirmed IgM deficiency, pneumococcal sepsis 448421008 onset 2026-06-01 resolved "
        "-> life-threatening-infection, warning (> 30 days)",
        E(
            present=["igrt.start"],
            reasons={"igrt.start": ["life-threatening-infection"]},
            priority={"igrt.start": "warning"},
        ),
        [
            d_base(),
            infection(
                "2026-06-01",
                (SNOMED, "448421008", "Sepsis due to Streptococcus pneumoniae"),
                abatement="2026-06-20",
            ),
        ],
    )
    case(
        "d8e-refractory",
        "§5 igrt.start D-8e: confirmed, J13 flagged antibiotic-response insufficient -> antibiotic-refractory",
        E(present=["igrt.start"], reasons={"igrt.start": ["antibiotic-refractory"]}),
        [d_base(), infection("2026-08-01", J13, severity="moderate", insufficient=True)],
    )
    case(
        "d-autoimmunity-sle",
        "§5 risk.autoimmunity-persistent-infection (D-13): confirmed IgM deficiency + active SLE M32.9 (under "
        "M32)",
        E(
            present=["risk.autoimmunity-persistent-infection"],
            priority={"risk.autoimmunity-persistent-infection": "info"},
        ),
        [d_base(), diagnosis(SLE, "2021-04-01")],
    )
    case(
        "d-autoimmunity-hashimoto",
        "§5 autoimmune set: Hashimoto thyroiditis E06.3 active -> risk.autoimmunity-persistent-infection",
        E(present=["risk.autoimmunity-persistent-infection"]),
        [d_base(), diagnosis(HASHIMOTO, "2019-01-01")],
    )
    case(
        "d-autoimmunity-resolved",
        "F9 needs an active condition: SLE with clinicalStatus resolved -> absent",
        E(absent=["risk.autoimmunity-persistent-infection"]),
        [d_base(), diagnosis(SLE, "2021-04-01", clinical="resolved")],
    )
    case(
        "d-autoimmunity-ms-excluded",
        "F9 multiple sclerosis itself is excluded: D+K patient whose only other condition is MS G35 -> absent",
        E(populations=["D", "K"], absent=["risk.autoimmunity-persistent-infection"]),
        [d_base(dx_date="2018-05-01"), ofa_active(), diagnosis(MS, "2023-06-01")],
    )
    case(
        "k-autoimmunity-not-d",
        "§5 risk.autoimmunity-persistent-infection is D only: K patient with active SLE -> absent",
        E(populations=["K"], absent=["risk.autoimmunity-persistent-infection"]),
        [k_base(), diagnosis(SLE, "2021-04-01")],
    )


# ============================================================================================
# F7 pneumococcal response (D-8b): < 70% of serotypes >= 1.3 ug/mL, 28-56 days after CVX 33
# ============================================================================================
IMPAIRED = [2.1, 1.9, 1.29, 3.0, 1.5, 2.2, 1.4, 0.4, 0.3, 0.9]  # 6 of 10 >= 1.3 -> 60%
NORMAL_RESP = [2.1, 1.9, 1.3, 3.0, 1.5, 2.2, 1.4, 0.4, 0.3, 0.9]  # 7 of 10 >= 1.3 -> 70%


def cases_pneumococcal():
    assert sum(v >= 1.3 for v in IMPAIRED) == 6 and sum(v >= 1.3 for v in NORMAL_RESP) == 7
    gap("2026-06-01", "2026-06-29", 28)
    case(
        "pnc-impaired-6-of-10",
        "F7 impaired: PPSV23 (CVX 33) 2026-06-01, titres 2026-06-29 (28 days) with 6/10 serotypes >= 1.3 ug/mL "
        "(60% < 70%) -> igrt.start impaired-specific-antibodies (D-8b); response assessed -> no evaluate",
        E(
            present=["igrt.start"],
            absent=["evaluate.igm-deficiency", "prophylaxis.consider"],
            reasons={"igrt.start": ["impaired-specific-antibodies"]},
            dosing={"ivig.dose_g": 25},
        ),
        [d_base(), immunization("2026-06-01", "33"), serotypes("2026-06-29", IMPAIRED)],
    )
    case(
        "pnc-normal-7-of-10",
        "F7 twin: 7/10 serotypes >= 1.3 (one exactly 1.3) = 70%, not fewer -> normal -> no igrt.start, no "
        "evaluate",
        E(absent=["igrt.start", "evaluate.igm-deficiency"]),
        [d_base(), immunization("2026-06-01", "33"), serotypes("2026-06-29", NORMAL_RESP)],
    )
    gap("2026-06-01", "2026-06-28", 27)
    case(
        "pnc-27-days-not-assessable",
        "F7 window 28-56 days: titres 2026-06-28 = 27 days after CVX 33 -> not assessable -> no igrt.start, "
        "evaluate.igm-deficiency; data issue pneumococcal-not-assessable",
        E(
            present=["evaluate.igm-deficiency"],
            absent=["igrt.start"],
            data_issue={"severity": "info", "match": "pneumococcal-not-assessable"},
        ),
        [d_base(), immunization("2026-06-01", "33"), serotypes("2026-06-28", IMPAIRED)],
    )
    gap("2026-06-01", "2026-07-27", 56)
    case(
        "pnc-56-days-impaired",
        "F7 window: titres 2026-07-27 = 56 days after CVX 33 -> in window -> impaired -> igrt.start",
        E(
            present=["igrt.start"],
            absent=["evaluate.igm-deficiency"],
            reasons={"igrt.start": ["impaired-specific-antibodies"]},
        ),
        [d_base(), immunization("2026-06-01", "33"), serotypes("2026-07-27", IMPAIRED)],
    )
    gap("2026-06-01", "2026-07-28", 57)
    case(
        "pnc-57-days-not-assessable",
        "F7 twin: titres 2026-07-28 = 57 days -> not assessable -> no igrt.start, evaluate; data issue",
        E(
            present=["evaluate.igm-deficiency"],
            absent=["igrt.start"],
            data_issue={"severity": "info", "match": "pneumococcal-not-assessable"},
        ),
        [d_base(), immunization("2026-06-01", "33"), serotypes("2026-07-28", IMPAIRED)],
    )
    case(
        "pnc-no-vaccination",
        "F7/§7 titres without any pneumococcal vaccination -> not assessable + data issue "
        "pneumococcal-not-assessable (info); evaluate.igm-deficiency",
        E(
            present=["evaluate.igm-deficiency"],
            absent=["igrt.start"],
            data_issue={
                "severity": "info",
                "resource_type": "Observation",
                "match": "pneumococcal-not-assessable",
            },
        ),
        [d_base(), serotypes("2026-06-29", IMPAIRED)],
    )
    case(
        "pnc-conjugate-vaccine-only",
        "F7 only a polysaccharide vaccine (CVX 33) qualifies: PCV13 (CVX 133) 2026-06-01 -> not assessable",
        E(present=["evaluate.igm-deficiency"], absent=["igrt.start"]),
        [d_base(), immunization("2026-06-01", "133"), serotypes("2026-06-29", IMPAIRED)],
    )
    case(
        "pnc-units-mg-per-l",
        "Contract §1 serotype IgG in mg/L = ug/mL: same impaired set in mg/L -> igrt.start",
        E(present=["igrt.start"], reasons={"igrt.start": ["impaired-specific-antibodies"]}),
        [d_base(), immunization("2026-06-01", "33"), serotypes("2026-06-29", IMPAIRED, unit="mg/L")],
    )
    case(
        "pnc-within-180-days-of-igrt",
        "F7 not assessable when drawn within 180 days of Ig replacement: IVIG ended 2026-03-01, titres "
        "2026-06-29 (120 days later) -> no igrt.start; evaluate",
        E(present=["evaluate.igm-deficiency"], absent=["igrt.start"]),
        [
            d_base(),
            statement(
                "ivig", "2025-09-01", "2026-03-01", status="completed", route="iv", dose_g=25, every_weeks=4
            ),
            immunization("2026-06-01", "33"),
            serotypes("2026-06-29", IMPAIRED),
        ],
    )
    case(
        "pnc-sad-diagnosis",
        "F7 impaired when a specific antibody deficiency diagnosis (ICD-10 D80.6) is recorded -> igrt.start "
        "impaired-specific-antibodies; no evaluate",
        E(
            present=["igrt.start"],
            absent=["evaluate.igm-deficiency"],
            reasons={"igrt.start": ["impaired-specific-antibodies"]},
        ),
        [d_base(), diagnosis(SAD_ICD, "2022-05-01")],
    )
    case(
        "pnc-k-only-impaired",
        "§5 D-8b is population D only: ofatumumab patient (K) with an impaired response -> no igrt.start",
        E(populations=["K"], absent=["igrt.start"]),
        [k_base(), immunization("2026-06-01", "33"), serotypes("2026-06-29", IMPAIRED)],
    )
    case(
        "pnc-suspected-impaired",
        "§5 D-8b for confirmed only: suspected IgM deficiency with impaired response -> no igrt.start; "
        "evaluate (suspected)",
        E(populations=["D"], present=["evaluate.igm-deficiency"], absent=["igrt.start"]),
        [
            ig_panel("2026-09-10", 1010, 22, 180),
            immunization("2026-06-01", "33"),
            serotypes("2026-06-29", IMPAIRED),
        ],
    )


# ============================================================================================
# §6 dosing arithmetic (trigger: IgG 350 < 400 on ofatumumab -> igrt.start)
# ============================================================================================
def dosing_case(slug, description, dosing, wt_obs, profile="default", gender="female", extra=(), **ekw):
    case(
        slug,
        description,
        E(present=["igrt.start"], dosing=dosing, **ekw),
        [ofa_active(), ig_panel("2026-09-01", 350, 80, 130), wt_obs, *extra],
        profile=profile,
        gender=gender,
    )


def cases_dosing():
    dosing_case(
        "dose-45-kg",
        "§6 45 kg: 18.0 g; 20 g would be 11.1% > 10% -> keep 18 g; SCIG weekly 4.5 -> 5 (half-up), "
        "biweekly 9.0 -> 9",
        {
            "weight_kg": 45,
            "ivig.dose_g_exact": 18.0,
            "ivig.dose_g": 18,
            "scig.weekly_g": 5,
            "scig.biweekly_g": 9,
        },
        weight("2026-09-01", 45),
    )
    dosing_case(
        "dose-56-25-kg-half-up-1g",
        "§6 half-up at 1 g: 56.25 kg -> 22.5 g; 5-g rounding (25 or 20) changes it 11.1% > 10% -> nearest "
        "1 g half-up = 23 (half-even: 22); SCIG 5.625 -> 6, biweekly 11.25 -> 11",
        {"ivig.dose_g_exact": 22.5, "ivig.dose_g": 23, "scig.weekly_g": 6, "scig.biweekly_g": 11},
        weight("2026-09-01", 56.25),
    )
    dosing_case(
        "dose-81-25-kg-half-up-5g",
        "§6 half-up at 5 g: 81.25 kg -> 32.5 g, halfway between 30 and 35 -> 35 (7.7% <= 10%) "
        "(half-even: 30); SCIG 8.125 -> 8, biweekly 16.25 -> 16",
        {"ivig.dose_g_exact": 32.5, "ivig.dose_g": 35, "scig.weekly_g": 8, "scig.biweekly_g": 16},
        weight("2026-09-01", 81.25),
    )
    dosing_case(
        "dose-83-kg-biweekly",
        "§6 SCIG every 2 weeks = twice the exact weekly amount, then rounded: 83 kg -> 33.2 g -> 35 g; "
        "weekly 8.3 -> 8; biweekly 16.6 -> 17 (not 2 x 8)",
        {"ivig.dose_g_exact": 33.2, "ivig.dose_g": 35, "scig.weekly_g": 8, "scig.biweekly_g": 17},
        weight("2026-09-01", 83),
    )
    dosing_case(
        "dose-70-kg",
        "§6 70 kg: 28.0 g -> 30 g (7.1%); SCIG weekly 7, biweekly 14; intervals 4 (alt 3) weeks",
        {
            "ivig.dose_g_exact": 28.0,
            "ivig.dose_g": 30,
            "ivig.interval_weeks": 4,
            "ivig.alternative_interval_weeks": 3,
            "scig.weekly_g": 7,
            "scig.biweekly_g": 14,
            "scig.conversion_factor": 1.0,
        },
        weight("2026-09-01", 70),
    )
    dosing_case(
        "dose-latest-weight",
        "F10 latest weight within 90 days: 90 kg (2026-07-20) then 75 kg (2026-09-01) -> 75 kg -> 30 g",
        {"weight_kg": 75, "ivig.dose_g": 30},
        [weight("2026-07-20", 90), weight("2026-09-01", 75)],
    )
    dosing_case(
        "dose-weight-90-days",
        "F10 weight_max_age_days 90: weight 75 kg on 2026-07-17 = as_of - 90 days still counts -> 30 g",
        {"weight_kg": 75, "ivig.dose_g": 30, "weight_basis": "actual"},
        weight("2026-07-17", 75),
    )
    dosing_case(
        "dose-weight-91-days",
        "F10 twin: weight on 2026-07-16 = 91 days is too old -> per-kg dose only, gram fields null, "
        "weight-missing (§7 warning)",
        {
            "weight_kg": None,
            "weight_basis": "none",
            "ivig.g_per_kg": 0.4,
            "ivig.dose_g": None,
            "ivig.dose_g_exact": None,
            "scig.weekly_g": None,
            "scig.biweekly_g": None,
        },
        weight("2026-07-16", 75),
        data_issue={"severity": "warning", "match": "weight-missing"},
    )
    dosing_case(
        "dose-no-weight",
        "§6 no weight at all -> weight_basis none, every gram field null, data issue weight-missing",
        {
            "weight_kg": None,
            "weight_basis": "none",
            "ivig.dose_g": None,
            "ivig.dose_g_exact": None,
            "scig.weekly_g": None,
        },
        None,
        data_issue={"severity": "warning", "match": "weight-missing"},
    )
    dosing_case(
        "dose-weight-pounds",
        "Units: weight 200 [lb_av] = 90.718474 kg -> 36.29 g -> 35 g (3.5%); SCIG 9.07 -> 9, 18.14 -> 18",
        {"ivig.dose_g": 35, "scig.weekly_g": 9, "scig.biweekly_g": 18},
        weight("2026-09-01", 200, "[lb_av]"),
    )
    dosing_case(
        "dose-weight-grams",
        "Units: weight 72500 g = 72.5 kg -> 29.0 g -> 30 g (3.4%)",
        {"weight_kg": 72.5, "ivig.dose_g_exact": 29.0, "ivig.dose_g": 30},
        weight("2026-09-01", 72500, "g"),
    )
    # stewardship profile: adjusted body weight when BMI >= 30 (Devine IBW)
    dosing_case(
        "stewardship-bmi-30-adjusted",
        "§6 stewardship: male 177.8 cm (70 in), 94.9 kg, BMI 30.02 >= 30 -> IBW 50 + 2.3 x 10 = 73; "
        "adjusted 73 + 0.4 x 21.9 = 81.76 kg -> 32.704 g -> 35 g (7.0%) (actual would give 37.96 -> 40)",
        {"weight_basis": "adjusted", "ivig.dose_g": 35},
        [weight("2026-09-01", 94.9), height("2026-09-01", 177.8)],
        profile="stewardship",
        gender="male",
    )
    dosing_case(
        "stewardship-bmi-under-30-actual",
        "§6 stewardship twin: male 177.8 cm, 94.8 kg, BMI 29.99 < 30 -> actual weight -> 37.92 g -> 40 g (5.5%)",
        {"weight_basis": "actual", "weight_kg": 94.8, "ivig.dose_g_exact": 37.92, "ivig.dose_g": 40},
        [weight("2026-09-01", 94.8), height("2026-09-01", 177.8)],
        profile="stewardship",
        gender="male",
    )
    dosing_case(
        "stewardship-adjusted-arithmetic",
        "§6 stewardship: male 177.8 cm (70 in), 95.5 kg, BMI 30.2 -> IBW 73; adjusted 73 + 0.4 x 22.5 = "
        "82.0 kg -> 32.8 g -> 35 g; SCIG 8.2 -> 8, 16.4 -> 16",
        {
            "weight_basis": "adjusted",
            "weight_kg": 82.0,
            "ivig.dose_g_exact": 32.8,
            "ivig.dose_g": 35,
            "scig.weekly_g": 8,
            "scig.biweekly_g": 16,
        },
        [weight("2026-09-01", 95.5), height("2026-09-01", 177.8)],
        profile="stewardship",
        gender="male",
    )
    dosing_case(
        "stewardship-female-inches",
        "§6 stewardship, height in [in_i]: female 64 in, 99.7 kg, BMI 37.7 -> IBW 45.5 + 2.3 x 4 = 54.7; "
        "adjusted 54.7 + 0.4 x 45 = 72.7 kg -> 29.08 g -> 30 g (3.2%); SCIG 7.27 -> 7",
        {
            "weight_basis": "adjusted",
            "weight_kg": 72.7,
            "ivig.dose_g_exact": 29.08,
            "ivig.dose_g": 30,
            "scig.weekly_g": 7,
        },
        [weight("2026-09-01", 99.7), height("2026-09-01", 64, "[in_i]")],
        profile="stewardship",
    )
    dosing_case(
        "stewardship-no-height",
        "§6 stewardship without height: actual weight 110 kg -> 44 g -> 45 g; data issue height-or-sex-missing",
        {"weight_basis": "actual", "weight_kg": 110, "ivig.dose_g": 45},
        weight("2026-09-01", 110),
        profile="stewardship",
        gender="male",
        data_issue={"severity": "warning", "match": "height-or-sex-missing"},
    )
    dosing_case(
        "stewardship-no-sex",
        "§6 stewardship without sex (Patient.gender absent): actual weight 110 kg -> 45 g; data issue",
        {"weight_basis": "actual", "ivig.dose_g": 45},
        [weight("2026-09-01", 110), height("2026-09-01", 177.8)],
        profile="stewardship",
        gender=None,
        data_issue={"severity": "warning", "match": "height-or-sex-missing"},
    )
    dosing_case(
        "default-profile-obese-actual",
        "§8 default dosing_weight = actual: male 177.8 cm, 110 kg (BMI 34.8) -> actual 110 kg -> 45 g",
        {"weight_basis": "actual", "weight_kg": 110, "ivig.dose_g": 45},
        [weight("2026-09-01", 110), height("2026-09-01", 177.8)],
        gender="male",
    )
    case(
        "dose-block-null-without-igrt",
        "§6 no dose block when igrt.start does not fire and the patient is not on IgRT",
        E(absent=["igrt.start"], dosing_null=True),
        [k_base()],
    )


# ============================================================================================
# §7 data issues
# ============================================================================================
def cases_data_issues():
    case(
        "di-unit-missing",
        "§7 unit-missing: IgM 20 with no unit -> error, value ignored -> not low",
        E(
            absent=["risk.encapsulated-bacteria"],
            data_issue={"severity": "error", "resource_type": "Observation", "match": "unit-missing"},
        ),
        [ofa_active(), igg("2026-08-20", 910), igm("2026-08-20", 20, no_unit=True), iga("2026-08-20", 130)],
    )
    case(
        "di-unit-unconvertible-igm",
        "§7 unit-unconvertible: IgM 0.2 mmol/L (not a mass concentration) -> error, ignored",
        E(
            absent=["risk.encapsulated-bacteria"],
            data_issue={"severity": "error", "resource_type": "Observation", "match": "unit-unconvertible"},
        ),
        [ofa_active(), igg("2026-08-20", 910), igm("2026-08-20", 0.2, "mmol/L"), iga("2026-08-20", 130)],
    )
    case(
        "di-unit-unconvertible-igg",
        "§7 unit-unconvertible: IgG 350 '%' -> error, ignored -> IgG unknown -> no igrt.start",
        E(
            absent=["igrt.start"],
            data_issue={"severity": "error", "resource_type": "Observation", "match": "unit-unconvertible"},
        ),
        [
            ofa_active(),
            igg("2026-08-20", 350, "%"),
            igm("2026-08-20", 80),
            iga("2026-08-20", 130),
            weight("2026-08-20", 75),
        ],
    )
    case(
        "di-unit-unconvertible-cd19",
        "§7 CD19 needs a count: CD19 150 mg/dL after stopping -> error, ignored -> B cells unknown -> live-avoid",
        E(
            present=["vaccine.live-avoid", "monitor.bcells"],
            data_issue={"severity": "error", "resource_type": "Observation", "match": "unit-unconvertible"},
        ),
        [stopped_ofa(), cd19("2026-09-01", 150, "mg/dL"), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "di-implausible-igg",
        "§7 value-implausible: IgG 12000 mg/dL > 10000 -> error, ignored -> IgG unknown -> no normal-IgG card",
        E(
            absent=["risk.normal-igg-not-protective"],
            data_issue={"severity": "error", "resource_type": "Observation", "match": "value-implausible"},
        ),
        [ofa_active(), igg("2026-08-20", 12000), igm("2026-08-20", 80), iga("2026-08-20", 130)],
    )
    case(
        "di-implausible-igg-after-conversion",
        "§7 plausibility after conversion: IgG 150 g/L = 15000 mg/dL -> value-implausible",
        E(
            absent=["risk.normal-igg-not-protective"],
            data_issue={"severity": "error", "resource_type": "Observation", "match": "value-implausible"},
        ),
        [
            ofa_active(),
            igg("2026-08-20", 150, "g/L"),
            igm("2026-08-20", 0.8, "g/L"),
            iga("2026-08-20", 1.3, "g/L"),
        ],
    )
    case(
        "di-implausible-igm-negative",
        "§7 value-implausible: IgM -5 mg/dL (< 0) -> error, ignored -> not low",
        E(
            absent=["risk.encapsulated-bacteria"],
            data_issue={"severity": "error", "resource_type": "Observation", "match": "value-implausible"},
        ),
        [ofa_active(), igg("2026-08-20", 910), igm("2026-08-20", -5), iga("2026-08-20", 130)],
    )
    case(
        "di-implausible-weight",
        "§7 value-implausible: weight 500 kg > 400 -> ignored -> no usable weight -> gram fields null",
        E(
            present=["igrt.start"],
            dosing={"ivig.dose_g": None},
            data_issue={"severity": "error", "resource_type": "Observation", "match": "value-implausible"},
        ),
        [ofa_active(), ig_panel("2026-09-01", 350, 80, 130), weight("2026-09-01", 500)],
    )
    case(
        "di-date-missing-lab",
        "§7 date-missing: IgM 20 with no effective date or issued -> error, ignored -> not low",
        E(
            absent=["risk.encapsulated-bacteria"],
            data_issue={"severity": "error", "resource_type": "Observation", "match": "date-missing"},
        ),
        [ofa_active(), igg("2026-08-20", 910), igm(None, 20), iga("2026-08-20", 130)],
    )
    case(
        "di-date-missing-infection",
        "§7 date-missing: a severe pneumococcal pneumonia without onset or recordedDate is ignored -> 1 dated "
        "episode -> no igrt.start",
        E(
            absent=["igrt.start"],
            data_issue={"severity": "error", "resource_type": "Condition", "match": "date-missing"},
        ),
        [k_base(), severe_pnc("2026-02-03"), severe_pnc(None, abatement=None)],
    )
    case(
        "di-date-future",
        "§7 date-future: IgM 20 dated 2099-01-01 (after the real today) -> warning, ignored (after as_of) -> not low",
        E(
            absent=["risk.encapsulated-bacteria"],
            data_issue={"severity": "warning", "resource_type": "Observation", "match": "date-future"},
        ),
        [k_base(), igm("2099-01-01", 20)],
    )
    case(
        "di-pediatric-no-range",
        "F3 patient under 18 (born 2012-03-01, 14 y) on rituximab: IgM 20 without a reference range -> "
        "unknown, data issue pediatric-no-reference-range (adult limits not applied)",
        E(
            absent=["risk.encapsulated-bacteria"],
            data_issue={
                "severity": "warning",
                "resource_type": "Observation",
                "match": "pediatric-no-reference-range",
            },
        ),
        [
            statement("rtx", start="2025-01-10"),
            igg("2026-08-20", 800, ref_low=600),
            igm("2026-08-20", 20),
            iga("2026-08-20", 100, ref_low=50),
        ],
        birth="2012-03-01",
    )
    case(
        "di-pediatric-with-range",
        "F3 twin: the child's IgM 20 with the lab's range low 30 -> low -> risk.encapsulated-bacteria",
        E(present=["risk.encapsulated-bacteria"]),
        [
            statement("rtx", start="2025-01-10"),
            igg("2026-08-20", 800, ref_low=600),
            igm("2026-08-20", 20, ref_low=30),
            iga("2026-08-20", 100, ref_low=50),
        ],
        birth="2012-03-01",
    )
    case(
        "di-age-17-no-range",
        "F3 under 18: born 2008-10-16 -> 17 on the result date and at as_of -> IgM 20 without range unknown",
        E(
            absent=["risk.encapsulated-bacteria"],
            data_issue={"severity": "warning", "match": "pediatric-no-reference-range"},
        ),
        [
            statement("rtx", start="2025-01-10"),
            igg("2026-08-20", 800, ref_low=600),
            igm("2026-08-20", 20),
            iga("2026-08-20", 100, ref_low=50),
        ],
        birth="2008-10-16",
    )
    case(
        "di-age-18-adult-limits",
        "F3 twin: born 2008-06-01 -> 18 -> adult limit 34 applies -> IgM 20 low",
        E(present=["risk.encapsulated-bacteria"]),
        [
            statement("rtx", start="2025-01-10"),
            igg("2026-08-20", 800, ref_low=600),
            igm("2026-08-20", 20),
            iga("2026-08-20", 100, ref_low=50),
        ],
        birth="2008-06-01",
    )
    case(
        "di-recognised-by-name",
        "Contract §1 name fallback: ofatumumab only as text 'Kesimpta (ofatumumab) ...' -> recognised, "
        "anti-cd20.continue; info issue recognised-by-name",
        E(
            present=["anti-cd20.continue"],
            data_issue={
                "severity": "info",
                "resource_type": "MedicationStatement",
                "match": "recognised-by-name",
            },
        ),
        [statement("ofa-name", start="2023-09-01"), ig_panel("2026-08-20", *NORMAL)],
    )
    case(
        "di-stale-infection-not-active",
        "§7 infection-unresolved-stale: sinusitis 'active' since 2026-05-01 (167 days) -> not active, warning",
        E(
            absent=["anti-cd20.delay-dose"],
            data_issue={
                "severity": "warning",
                "resource_type": "Condition",
                "match": "infection-unresolved-stale",
            },
        ),
        [k_base(), infection("2026-05-01", SINUSITIS, clinical="active")],
    )


# ============================================================================================
# References, not applicable, refused input
# ============================================================================================
def cases_misc():
    contained = statement("ofa", start="2023-09-01", med_ref="#kes")
    contained["contained"] = [{"resourceType": "Medication", "id": "kes", "code": DRUG["ofa"]}]
    case(
        "ref-contained-medication",
        "Contract §1 references: MedicationStatement -> contained Medication (#kes) coded RxNorm 712566 -> "
        "ofatumumab current -> anti-cd20.continue",
        E(present=["anti-cd20.continue"]),
        [contained, ig_panel("2026-08-20", *NORMAL)],
    )
    case(
        "ref-medication-reference",
        "Contract §1 references: medicationReference Medication/med-kes (RxNorm 712566) in the bundle -> "
        "anti-cd20.continue",
        E(present=["anti-cd20.continue"]),
        [
            {"resourceType": "Medication", "id": "med-kes", "code": DRUG["ofa"]},
            statement("ofa", start="2023-09-01", med_ref="Medication/med-kes"),
            ig_panel("2026-08-20", *NORMAL),
        ],
    )
    case(
        "ref-urn-uuid",
        "Contract §1 references resolve through urn:uuid fullUrls: 2 pneumococcal pneumonias with inpatient "
        "encounters referenced by urn:uuid -> severe -> igrt.start encapsulated-recurrent",
        E(present=["igrt.start"], reasons={"igrt.start": ["encapsulated-recurrent"]}),
        [
            k_base(),
            encounter("enc-a", "2026-01-20", "2026-01-27"),
            encounter("enc-b", "2026-07-02", "2026-07-08"),
            infection("2026-01-20", PNEUMOCOCCAL_PNEUMONIA, enc="enc-a"),
            infection("2026-07-02", PNEUMOCOCCAL_PNEUMONIA, enc="enc-b"),
        ],
        urn=True,
    )
    case(
        "not-applicable",
        "§1 neither population: normal immunoglobulins, no anti-CD20, no diagnosis -> applicable false, no "
        "recommendations at all",
        E(applicable=False, populations=[], absent=CATALOG, dosing_null=True),
        [ig_panel("2026-09-10", 1010, 95, 180), weight("2026-09-10", 70)],
    )
    case(
        "not-applicable-ms-only",
        "§1 an MS patient on no anti-CD20 agent with no Ig results -> not applicable",
        E(
            applicable=False,
            populations=[],
            absent=["monitor.infections", "education.infection-warning-signs"],
        ),
        [diagnosis(MS, "2020-01-01")],
    )
    case(
        "not-applicable-reports-data-issues",
        "§1 not applicable still reports the data issues: IgM with no unit -> unit-missing error",
        E(
            applicable=False,
            data_issue={"severity": "error", "resource_type": "Observation", "match": "unit-missing"},
        ),
        [igg("2026-09-10", 1010), igm("2026-09-10", 95, no_unit=True), iga("2026-09-10", 180)],
    )

    raw_case(
        "refuse-not-json",
        "§7/contract §2 refused input: not JSON -> exit 2, one message, no stack trace",
        "IgG 399 mg/dL, IgM 20 mg/dL, IgA 110 mg/dL -- lab printout, not FHIR\n",
    )
    raw_case(
        "refuse-no-resource-type",
        "§7 refused input: a JSON object without resourceType -> exit 2",
        json.dumps(
            {
                "patient": {"id": "x", "birthDate": "1984-05-12"},
                "labs": [{"test": "IgM", "value": 20, "unit": "mg/dL"}],
            },
            indent=1,
        ),
    )
    raw_case(
        "refuse-bundle-without-patient",
        "§7 refused input: a Bundle with no Patient -> exit 2",
        json.dumps(
            bundle(
                "v-refuse-bundle-without-patient", [ig_panel("2026-09-10", 1010, 22, 180)], with_patient=False
            ),
            indent=1,
            sort_keys=True,
        ),
    )
    raw_case(
        "refuse-two-patients",
        "§7/contract §2 refused input: a Bundle with two Patients and no --patient -> exit 2",
        json.dumps(
            bundle("v-refuse-two-patients", [ig_panel("2026-09-10", 1010, 22, 180)], extra_patient=True),
            indent=1,
            sort_keys=True,
        ),
    )
    raw_case("refuse-empty-file", "§7 refused input: an empty file is not FHIR -> exit 2", "")


# ============================================================================================
# Further subtle clauses (second pass over the spec)
# ============================================================================================
def cases_second_pass():
    # F3 comparators other than < and >
    case(
        "igm-comparator-le33-low",
        "F3 comparator decides: IgM '<=33' -> every possible value < 34 -> low",
        E(present=["risk.encapsulated-bacteria"]),
        [
            ofa_active(),
            igg("2026-08-20", 910),
            igm("2026-08-20", 33, comparator="<="),
            iga("2026-08-20", 130),
        ],
    )
    case(
        "igm-comparator-le34-unknown",
        "F3 comparator twin: IgM '<=34' could be 34 (not low) -> undecided -> unknown",
        E(absent=["risk.encapsulated-bacteria"]),
        [
            ofa_active(),
            igg("2026-08-20", 910),
            igm("2026-08-20", 34, comparator="<="),
            iga("2026-08-20", 130),
        ],
    )
    # F1 most active status
    case(
        "ofa-restart-current",
        "F1 most active status wins: an ofatumumab course stopped 2024-03-01 and a new active one since "
        "2026-01-05 -> current -> anti-cd20.continue, no monitor.bcells",
        E(
            present=["anti-cd20.continue"],
            absent=["monitor.bcells"],
            reasons={"vaccine.live-avoid": ["on-therapy"]},
        ),
        [
            statement("ofa", "2022-01-10", "2024-03-01", status="stopped"),
            ofa_active(start="2026-01-05"),
            ig_panel("2026-08-20", *NORMAL),
        ],
    )
    case(
        "ocr-stopped-ofa-current",
        "F1 patient status = most active agent: ocrelizumab stopped 2023-06-01 (never repleted), ofatumumab "
        "current -> current: anti-cd20.continue, no monitor.bcells",
        E(present=["anti-cd20.continue", "vaccine.live-avoid"], absent=["monitor.bcells"]),
        [
            statement("ocr", "2020-01-10", "2023-06-01", status="stopped"),
            ofa_active(start="2023-09-01"),
            ig_panel("2026-08-20", *NORMAL),
        ],
    )
    case(
        "starting-with-low-igm-both-populations",
        "§1 a plan is not an exposure: IgM 20 (IgG, IgA normal), no diagnosis, ofatumumab planned for "
        "2026-10-15 -> suspected IgM deficiency (D) and starting (K); panel 2026-09-10 is the baseline",
        E(
            populations=["D", "K"],
            present=["evaluate.igm-deficiency", "vaccine.live-avoid"],
            absent=["monitor.ig-baseline", "anti-cd20.continue"],
            reasons={"vaccine.live-avoid": ["starting"]},
        ),
        [
            ig_panel("2026-09-10", 1010, 20, 180),
            request("ofa", intent="plan", start="2026-10-15", authored="2026-10-01"),
        ],
    )
    # §3 records after as_of
    case(
        "cd19-after-as-of-ignored",
        "§3 records after as_of are left out: stopped 2026-04-01, CD19 150 dated 2026-11-01 -> no CD19 -> "
        "not repleted -> live-avoid",
        E(present=["vaccine.live-avoid", "monitor.bcells"]),
        [stopped_ofa(), cd19("2026-11-01", 150), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "infection-after-as-of-ignored",
        "§3 records after as_of are left out: severe pneumococcal pneumonias 2026-06-30 and 2026-11-02 (after "
        "as_of) -> 1 episode -> no igrt.start",
        E(absent=["igrt.start"]),
        [k_base(), severe_pnc("2026-06-30"), severe_pnc("2026-11-02", clinical="active")],
    )
    # Immunization must have been given
    case(
        "live-vaccine-not-done",
        "Contract §1 Immunization counts when given: MMR with status not-done on ofatumumab -> no "
        "live-vaccine-given -> info",
        E(present=["vaccine.live-avoid"], priority={"vaccine.live-avoid": "info"}),
        [
            k_base(),
            dict(
                immunization("2026-05-01", "03"),
                status="not-done",
                statusReason={"text": "patient on ofatumumab"},
            ),
        ],
    )
    # F4 merged episode active if any record is
    case(
        "delay-merged-episode-active",
        "F4 a merged episode is active if any record is: UTI 2026-09-20 resolved + UTI 2026-09-25 active "
        "(5 days apart, one episode) -> delay-dose",
        E(present=["anti-cd20.delay-dose"]),
        [
            k_base(),
            infection("2026-09-20", UTI, abatement="2026-09-24"),
            infection("2026-09-25", UTI, clinical="active"),
        ],
    )
    # F6 failed prophylaxis after the course ended
    case(
        "proph-d-completed-prophylaxis-failed",
        "F6 failure counts episodes during a prophylaxis course in the window, even if it has ended: "
        "co-trimoxazole 2025-11-01..2026-05-01 (completed), sinusitis 2026-01-10 and 2026-03-10 -> "
        "prophylaxis-failed",
        E(present=["igrt.start"], reasons={"igrt.start": ["prophylaxis-failed"]}),
        [
            d_base(),
            proph(start="2025-11-01", end="2026-05-01", status="completed"),
            infection("2026-01-10", SINUSITIS, severity="moderate"),
            infection("2026-03-10", SINUSITIS, severity="moderate"),
        ],
    )
    # review needs every population's condition
    case(
        "review-both-populations-ofa-current",
        "§5 review requires every population's condition: D+K, D part satisfied (trough 700 on target) but "
        "ofatumumab current (B cells presumed depleted) -> no review",
        E(populations=["D", "K"], present=["igrt.trough-on-target"], absent=["igrt.review-continuation"]),
        [
            d_base(ig=None, dx_date="2018-05-01"),
            ofa_active(),
            igrt_statement(start="2025-06-01", dose=25),
            ig_panel("2026-09-01", 700, 20, 120),
        ],
    )
    # IgRT record without dates
    case(
        "igrt-undated-active",
        "F1/F5 an IgRT record with no dates that is not stopped is current; data issue therapy-undated",
        E(
            present=["monitor.igg-trough"],
            absent=["igrt.start"],
            data_issue={
                "severity": "warning",
                "resource_type": "MedicationStatement",
                "match": "therapy-undated",
            },
        ),
        [
            ofa_active(),
            statement("ivig", status="active", route="iv", dose_g=30, every_weeks=4),
            ig_panel("2026-09-25", 380, 21, 90),
            weight("2026-09-01", 75),
        ],
    )
    # F10 latest height, any age
    dosing_case(
        "stewardship-old-height",
        "F10 the latest height has no age limit: height 177.8 cm from 2015, 95.5 kg male -> adjusted 82.0 kg "
        "-> 35 g",
        {"weight_basis": "adjusted", "weight_kg": 82.0, "ivig.dose_g": 35},
        [weight("2026-09-01", 95.5), height("2015-04-01", 177.8)],
        profile="stewardship",
        gender="male",
    )


# ============================================================================================
# Validation and output
# ============================================================================================
# ============================================================================================
# Revision 2 of the clinical spec: one twin pair (or more) per finding of the clinical review
# ============================================================================================
def cases_revision2():
    # Finding 1 (F1): a stopped record with a start and no end has an unknown stop date.
    case(
        "r2-stopped-start-no-end",
        "F1 (revision 2) rituximab stopped, period start 2021-03-01 and no end: the start is not a stop "
        "date -> stop unknown, a 2022 CD19 of 120 documents nothing -> B cells unknown: live-avoid "
        "not-repleted, monitor.bcells, serology caution, therapy-undated",
        E(
            present=["vaccine.live-avoid", "monitor.bcells", "serology.false-negative-risk"],
            reasons={"vaccine.live-avoid": ["not-repleted"]},
            data_issue={"severity": "warning", "code": "therapy-undated"},
        ),
        [
            statement("rtx", start="2021-03-01", status="stopped"),
            cd19("2022-06-01", 120),
            ig_panel("2026-08-20", *NORMAL),
        ],
    )
    case(
        "r2-stopped-with-end",
        "F1 twin: rituximab stopped 2021-03-01 to 2021-09-01 (an end date) -> stop known; CD19 120 on "
        "2022-06-01 after it >= 80 -> repleted: no live-vaccine restriction, no CD19 monitoring",
        E(absent=["vaccine.live-avoid", "monitor.bcells", "serology.false-negative-risk"]),
        [
            statement("rtx", start="2021-03-01", end="2021-09-01", status="stopped"),
            cd19("2022-06-01", 120),
            ig_panel("2026-08-20", *NORMAL),
        ],
    )
    case(
        "r2-stopped-start-no-end-bounded",
        "F1 a stopped record without an end is bounded by a later administration of the same agent: "
        "statement from 2021-03-01 (no end) + infusion 2021-09-01 -> stop 2021-09-01; CD19 120 on "
        "2022-06-01 -> repleted",
        E(absent=["vaccine.live-avoid", "monitor.bcells"]),
        [
            statement("rtx", start="2021-03-01", status="stopped"),
            admin("rtx", "2021-09-01"),
            cd19("2022-06-01", 120),
            ig_panel("2026-08-20", *NORMAL),
        ],
    )
    # Finding 2 (F2): switching agents keeps the earlier agent's B-cell status.
    for value, repleted in ((79, False), (80, True)):
        case(
            f"r2-switch-cd19-{value}",
            f"F2 (revision 2) switch: ocrelizumab 2024-05-01 to 2026-05-20, CD19 {value}/uL on 2026-09-01 "
            "(limit 80), ofatumumab planned 2026-11-01 -> "
            + (
                "repleted: the starting advice (live vaccines >= 4 weeks before the first dose), no "
                "serology caution"
                if repleted
                else "not repleted: live-avoid not-repleted (never 'starting'), serology caution, CD19 "
                "monitoring; baseline panel before the new agent"
            ),
            E(
                present=["vaccine.live-avoid", "monitor.ig-baseline"],
                absent=["serology.false-negative-risk", "monitor.bcells"],
                reasons={"vaccine.live-avoid": ["starting"]},
            )
            if repleted
            else E(
                present=[
                    "vaccine.live-avoid",
                    "serology.false-negative-risk",
                    "monitor.bcells",
                    "monitor.ig-baseline",
                ],
                reasons={"vaccine.live-avoid": ["not-repleted"]},
            ),
            [
                statement("ocr", start="2024-05-01", end="2026-05-20", status="completed"),
                cd19("2026-09-01", value),
                request("ofa", intent="plan", start="2026-11-01", authored="2026-10-01"),
                ig_panel("2026-02-20", *NORMAL),
            ],
        )
    # Finding 3 (§1, §5): every agent gets the therapy rules.
    for agent, name in (("rtx", "rituximab"), ("obi", "obinutuzumab"), ("ubl", "ublituximab")):
        case(
            f"r2-agent-{name}-active-infection",
            f"§1/§5 (revision 2) {name} current with an active UTI -> anti-cd20.delay-dose and "
            "anti-cd20.continue for this agent too",
            E(
                present=["anti-cd20.delay-dose", "anti-cd20.continue", "vaccine.live-avoid"],
                populations=["K"],
            ),
            [k_base(agent=agent, start="2025-02-01"), infection("2026-10-01", UTI, clinical="active")],
        )
    # Finding 5 (§6): never an "increase" at or above the titration ceiling.
    gap("2026-09-18", "2026-10-14", 26)
    for slug, dose, increased, at_ceiling in (
        ("above-ceiling", 60, None, True),
        ("at-ceiling", 56, None, True),
        ("one-step-below-ceiling", 49, 55, False),
    ):
        case(
            f"r2-titration-{slug}",
            f"§6 (revision 2) IVIG {dose} g every 4 weeks at 70 kg ({dose / 70:.2f} g/kg; ceiling 0.8), "
            "trough 520 below target -> "
            + (
                f"increase to {increased} g (above the current dose)"
                if increased
                else "no increase (increased_dose_g null), at the ceiling, no 3-weekly option"
            ),
            E(
                present=["igrt.trough-below-target"],
                reasons={
                    "igrt.trough-below-target": ["at-ceiling"] if at_ceiling else ["trough-below-target"]
                },
                dosing={
                    "titration.increased_dose_g": increased,
                    "titration.same_dose_interval_weeks": None,
                    "titration.at_ceiling": at_ceiling,
                    "current.dose_g": dose,
                },
            ),
            [
                ofa_active(),
                statement("ivig", start="2025-06-01", route="iv", dose_g=dose, every_weeks=4),
                admin("ivig", "2026-09-18", "iv", dose),
                ig_panel("2026-10-14", 520, 21, 90),
                weight("2026-09-01", 70),
            ],
        )
    # Finding 6 (F5): IV ceiling 1.0 g/kg per 4 weeks: a dose at it is replacement, above is not.
    for dose, replacement in ((80, True), (81, False)):
        case(
            f"r2-iv-ceiling-{dose}g",
            f"F5 IV ceiling: {dose} g every 4 weeks at 80 kg = {dose / 80:.4g} g/kg -> "
            + (
                "replacement (at the ceiling)" if replacement else "immunomodulatory, shown with a data issue"
            ),
            E(present=["monitor.igg-trough"])
            if replacement
            else E(
                absent=["monitor.igg-trough"],
                present=["serology.passive-antibodies"],
                data_issue={"severity": "info", "code": "ig-immunomodulatory-dose"},
            ),
            [k_igrt(900, dose=dose)],
        )
    # Finding 7 (F5): a restart after a gap longer than the interval + 4 weeks is a new course.
    as_of_restart = "2026-05-12"
    for restart, days, same in (("2026-04-15", 56, True), ("2026-04-16", 57, False)):
        gap("2026-02-18", restart, days)
        case(
            f"r2-restart-gap-{days}-days",
            f"F5 (revision 2) IVIG every 4 weeks 2025-10-01 .. 2026-02-18, then {restart} ({days} days "
            "later; interval 28 + 28 grace = 56) -> "
            + (
                "one course from 2025-10-01: IgG 550 on 2026-05-10 is a trough -> below target"
                if same
                else "a new course from the restart: IgG 550 on 2026-05-10 (24 days in) is no trough"
            ),
            E(present=["igrt.trough-below-target"])
            if same
            else E(
                present=["monitor.igg-trough"], absent=["igrt.trough-below-target", "igrt.trough-on-target"]
            ),
            [
                ofa_active(),
                [
                    admin("ivig", d, "iv", 30)
                    for d in (
                        "2025-10-01",
                        "2025-10-29",
                        "2025-11-26",
                        "2025-12-24",
                        "2026-01-21",
                        "2026-02-18",
                    )
                ],
                admin("ivig", restart, "iv", 30),
                ig_panel("2026-05-10", 550, 21, 90),
                weight("2026-04-01", 75),
            ],
            as_of=as_of_restart,
        )
    case(
        "r2-infection-in-gap-not-on-igrt",
        "F5 (revision 2) an infection during a two-year gap does not count on IgRT: IVIG course "
        "2024-01..2024-06, restart 2026-07-01; sinusitis 2026-03-01 and 2026-05-01 in the gap -> no "
        "recurrent-despite-igrt, no breakthrough",
        E(absent=["anti-cd20.consider-discontinuation", "igrt.breakthrough-infections"]),
        [
            ofa_active(),
            [admin("ivig", d, "iv", 30) for d in ("2024-01-10", "2024-02-07", "2024-03-06", "2024-06-01")],
            admin("ivig", "2026-07-01", "iv", 30),
            admin("ivig", "2026-07-29", "iv", 30),
            admin("ivig", "2026-08-26", "iv", 30),
            admin("ivig", "2026-09-23", "iv", 30),
            ig_panel("2026-10-14", 700, 21, 90),
            weight("2026-09-01", 75),
            infection("2026-03-01", SINUSITIS, severity="moderate"),
            infection("2026-05-01", SINUSITIS, severity="moderate"),
        ],
    )
    # Finding 9 (F7): titres after any immune globulin, even an immunomodulatory dose, are passive.
    for ivig_day, within in (("2026-03-01", True), ("2026-01-10", False)):
        gap(ivig_day, "2026-07-20", 141 if within else 191)
        case(
            f"r2-titres-after-high-dose-ivig-{'within' if within else 'beyond'}-180-days",
            f"F7 (revision 2) D patient, 140 g IVIG (2 g/kg at 70 kg, for ITP) on {ivig_day}; PPSV23 "
            "2026-06-15; all serotypes protective on 2026-07-20; as of 2026-08-01 -> "
            + (
                "within 180 days: not assessable, evaluate.igm-deficiency, serology.passive-antibodies"
                if within
                else "beyond 180 days: a normal response"
            ),
            E(
                present=["evaluate.igm-deficiency", "serology.passive-antibodies"],
                data_issue={"severity": "info", "code": "pneumococcal-not-assessable"},
            )
            if within
            else E(absent=["evaluate.igm-deficiency", "serology.passive-antibodies"]),
            [
                d_base(wt=70, wt_date="2026-02-20", panel_date="2026-07-20"),
                admin("ivig", ivig_day, "iv", 140),
                immunization("2026-06-15", "33"),
                serotypes("2026-07-20", [2.0] * 10),
                cd19("2026-07-20", 250),
            ],
            as_of="2026-08-01",
        )
    # Finding 11: a live vaccine shortly before the first dose.
    for days, day in ((27, "2026-10-05"), (28, "2026-10-04")):
        gap(day, "2026-11-01", days)
        case(
            f"r2-live-vaccine-{days}-days-before-first-dose",
            f"§5 (revision 2) MMR on {day}, ofatumumab planned 2026-11-01 ({days} days later) -> "
            + (
                "live-vaccine-recent: postpone the first dose, warning"
                if days < 28
                else "not recent (4 weeks): the starting advice only, info"
            ),
            E(
                present=["vaccine.live-avoid"],
                reasons={"vaccine.live-avoid": ["starting", "live-vaccine-recent"]},
                priority={"vaccine.live-avoid": "warning"},
            )
            if days < 28
            else E(
                present=["vaccine.live-avoid"],
                reasons={"vaccine.live-avoid": ["starting"]},
                priority={"vaccine.live-avoid": "info"},
            ),
            [
                request("ofa", intent="plan", start="2026-11-01", authored="2026-09-20"),
                immunization(day, "03"),
                ig_panel("2026-09-20", *NORMAL),
            ],
        )
    # Finding 11 (F11): a value already below its limit pulls no panel to today.
    case(
        "r2-trend-already-below-no-pull",
        "F11 (revision 2) IgM falling 60, 45, 30 (limit 34), last panel 2026-09-30: already below -> no "
        "crossing, the panel stays due 2027-03-30 (scheduled)",
        E(
            present=["monitor.ig-due"],
            reasons={"monitor.ig-due": ["scheduled"]},
            monitoring={"ig-panel": {"due": "2027-03-30"}},
        ),
        [
            ofa_active(),
            ig_panel("2025-10-01", 900, 60, 120),
            ig_panel("2026-04-01", 900, 45, 120),
            ig_panel("2026-09-30", 900, 30, 120),
        ],
    )
    # Finding 11: evaluate.igm-deficiency during Ig replacement asks for no vaccine response.
    case(
        "r2-evaluate-on-ivig-no-vaccine-response",
        "§5 (revision 2) confirmed IgM deficiency on IVIG, response never assessed -> evaluate with "
        "specific-antibodies-deferred, info; no specific-antibodies monitoring entry",
        E(
            present=["evaluate.igm-deficiency"],
            reasons={"evaluate.igm-deficiency": ["specific-antibodies-deferred"]},
            priority={"evaluate.igm-deficiency": "info"},
        ),
        [d_base(), igrt_statement(start="2026-01-10", dose=25), cd19("2026-08-20", 250)],
    )
    case(
        "r2-evaluate-off-ivig-asks-vaccine-response",
        "§5 twin: confirmed IgM deficiency, never on immune globulin, response never assessed -> "
        "evaluate asks for the pneumococcal response, warning",
        E(
            present=["evaluate.igm-deficiency"],
            reasons={"evaluate.igm-deficiency": ["specific-antibodies"]},
            priority={"evaluate.igm-deficiency": "warning"},
            monitoring={"specific-antibodies": {"due": AS_OF}},
        ),
        [d_base(), cd19("2026-08-20", 250)],
    )
    # Finding 11: a D patient told to start IVIG is told to draw the titres first.
    case(
        "r2-d-start-titres-first",
        "§5 (revision 2) confirmed D, 2 bacterial pneumonias, response not assessed -> igrt.start with "
        "titres-first (vaccinate and draw titres before the first dose)",
        E(present=["igrt.start"], reasons={"igrt.start": ["recurrent-bacterial", "titres-first"]}),
        [d_base(), infection("2026-02-01", J13), infection("2026-07-01", J13)],
    )
    case(
        "r2-d-start-life-threatening-no-titres-first",
        "§5 twin: confirmed D with a life-threatening sepsis -> igrt.start without titres-first",
        E(present=["igrt.start"], reasons={"igrt.start": ["life-threatening-infection"]}),
        [d_base(), infection("2026-09-20", SEPSIS, severity="life-threatening")],
    )
    # §7 (revision 2): a unit string over 64 characters is never parsed.
    for length, unreadable in ((64, False), (65, True)):
        unit = "mg/dL" + "{" + "x" * (length - 7) + "}"
        assert len(unit) == length
        case(
            f"r2-unit-{length}-characters",
            f"§7 (revision 2) IgM with a {length}-character unit string -> "
            + ("unit-unreadable (never parsed): IgM unknown" if unreadable else "read as UCUM (annotation)"),
            E(
                data_issue={"severity": "error", "code": "unit-unreadable"},
                absent=["risk.encapsulated-bacteria"],
            )
            if unreadable
            else E(present=["risk.encapsulated-bacteria"]),
            [ofa_active(), igg("2026-09-10", 900), iga("2026-09-10", 120), igm("2026-09-10", 20, unit=unit)],
        )
    # §1 (revision 2): deceased patients are not applicable.
    for slug, extra, applicable in (
        ("boolean", {"deceasedBoolean": True}, False),
        ("date-before-as-of", {"deceasedDateTime": "2026-10-14"}, False),
        ("date-on-as-of", {"deceasedDateTime": AS_OF}, False),
        ("date-after-as-of", {"deceasedDateTime": "2026-10-16"}, True),
        ("boolean-false", {"deceasedBoolean": False}, True),
    ):
        case(
            f"r2-deceased-{slug}",
            f"§1 (revision 2) deceased ({json.dumps(extra)}), as of {AS_OF}, on ofatumumab -> "
            + ("applicable (alive on as_of)" if applicable else "not applicable: deceased"),
            E(applicable=True, present=["vaccine.live-avoid"]) if applicable else E(applicable=False),
            [k_base()],
            patient_extra=extra,
        )


def spec_catalog():
    """Ids and reason codes as written in clinical-spec §5, when the design folder is reachable."""
    for path in (
        os.environ.get("IGWATCH_SPEC", ""),
        "/work/shared/design/clinical-spec.md",
        os.path.join(HERE, "..", "..", "docs", "clinical-spec.md"),
    ):
        if path and os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
            sec = text.split("## 5.")[1].split("## 6.")[0]
            return set(re.findall(r"^\| `([a-z0-9.\-]+)` \|", sec, re.M)), sec
    return None, None


def validate(cases):
    errors = []
    names = set()
    ids_in_spec, sec5 = spec_catalog()
    if ids_in_spec is not None:
        if ids_in_spec != set(CATALOG):
            errors.append(f"catalog differs from spec §5: {sorted(ids_in_spec ^ set(CATALOG))}")
        for codes in REASONS.values():
            for code in codes:
                if f"`{code}`" not in sec5 and code not in BEYOND_SPEC_REASONS:
                    errors.append(f"reason {code} not in spec §5")
    for c in cases:
        n = c["name"]
        if n in names:
            errors.append(f"duplicate name {n}")
        names.add(n)
        if not n.startswith("v-"):
            errors.append(f"{n}: name must start with v-")
        for key in ("name", "as_of", "profile", "description", "expect"):
            if key not in c:
                errors.append(f"{n}: missing {key}")
        if ("bundle" in c) == ("raw" in c):
            errors.append(f"{n}: needs exactly one of bundle / raw")
        if c["profile"] not in ("default", "trough-500-700", "stewardship"):
            errors.append(f"{n}: unknown profile")
        date.fromisoformat(c["as_of"])
        exp = c["expect"]
        allowed = {
            "present",
            "absent",
            "reasons",
            "priority",
            "monitoring",
            "dosing",
            "dosing_null",
            "applicable",
            "populations",
            "data_issue",
            "exit",
        }
        if set(exp) - allowed:
            errors.append(f"{n}: unknown expect keys {set(exp) - allowed}")
        if not exp:
            errors.append(f"{n}: empty expect")
        for rid in exp.get("present", []) + exp.get("absent", []):
            if rid not in CATALOG:
                errors.append(f"{n}: unknown recommendation {rid}")
        both = set(exp.get("present", [])) & set(exp.get("absent", []))
        if both:
            errors.append(f"{n}: both present and absent: {both}")
        for rid, codes in exp.get("reasons", {}).items():
            if rid not in REASONS:
                errors.append(f"{n}: reasons for {rid} which has no reason codes")
                continue
            for code in codes:
                if code not in REASONS[rid]:
                    errors.append(f"{n}: unknown reason {rid}/{code}")
            if rid in exp.get("absent", []):
                errors.append(f"{n}: reasons for an absent {rid}")
        for rid, prio in exp.get("priority", {}).items():
            if rid not in CATALOG or prio not in ("info", "warning", "critical"):
                errors.append(f"{n}: bad priority {rid}={prio}")
            if rid not in exp.get("present", []) and rid not in exp.get("reasons", {}):
                errors.append(f"{n}: priority for {rid} without asserting it is present")
        for test in exp.get("monitoring", {}):
            if test not in MONITORING_TESTS:
                errors.append(f"{n}: unknown monitoring test {test}")
        di = exp.get("data_issue")
        if di:
            if di.get("match") and di["match"] != di["match"].lower():
                errors.append(f"{n}: data_issue match must be lower case (checker lowercases)")
            if di.get("match") in DATA_ISSUE_CODES and di.get("severity") not in (
                None,
                DATA_ISSUE_CODES[di["match"]],
            ):
                errors.append(f"{n}: severity of {di['match']} is {DATA_ISSUE_CODES[di['match']]}")
        if exp.get("dosing_null") and exp.get("dosing"):
            errors.append(f"{n}: dosing_null with dosing")
        if "raw" in c:
            if exp != {"exit": 2}:
                errors.append(f"{n}: raw cases expect exit 2 only")
            continue
        b = c["bundle"]
        if b.get("resourceType") != "Bundle" or b.get("type") != "collection":
            errors.append(f"{n}: not a collection Bundle")
        res = [e["resource"] for e in b["entry"]]
        pats = [r for r in res if r["resourceType"] == "Patient"]
        if len(pats) != 1:
            errors.append(f"{n}: {len(pats)} patients")
        urls = {e["fullUrl"] for e in b["entry"]}
        keys = {f"{r['resourceType']}/{r['id']}" for r in res}

        def refs(o):
            if isinstance(o, dict):
                for k, v in o.items():
                    if k == "reference" and isinstance(v, str):
                        yield v
                    else:
                        yield from refs(v)
            elif isinstance(o, list):
                for x in o:
                    yield from refs(x)

        for r in res:
            for ref in refs(r):
                if ref.startswith("#"):
                    if not any(x.get("id") == ref[1:] for x in r.get("contained", [])):
                        errors.append(f"{n}: unresolved {ref}")
                elif ref not in keys and ref not in urls:
                    errors.append(f"{n}: unresolved reference {ref}")
            for fld in ("effectiveDateTime", "onsetDateTime", "occurrenceDateTime"):
                if (
                    fld in r
                    and not r[fld].startswith("2099")
                    and r[fld][:10] > c["as_of"]
                    and not n.endswith("after-as-of-ignored")
                ):
                    errors.append(f"{n}: {r['resourceType']}/{r['id']} dated after as_of")
        if "applicable" in exp and exp["applicable"] is False and exp.get("present"):
            errors.append(f"{n}: present recommendations in a not-applicable case")
    return errors


def coverage(cases):
    rows = []
    for rid in CATALOG:
        p = sum(rid in c["expect"].get("present", []) for c in cases)
        a = sum(rid in c["expect"].get("absent", []) for c in cases)
        rows.append((rid, p, a))
    return rows


def main(argv):
    for fn in (
        cases_k8a,
        cases_window_merge,
        cases_k8b,
        cases_k8c_k8d,
        cases_kesimpta,
        cases_limits,
        cases_units,
        cases_exposure_bcells,
        cases_baseline,
        cases_ig_due,
        cases_igrt,
        cases_review,
        cases_prophylaxis,
        cases_population_d,
        cases_pneumococcal,
        cases_dosing,
        cases_data_issues,
        cases_misc,
        cases_second_pass,
        cases_revision2,
    ):
        fn()
    errors = validate(CASES)
    rows = coverage(CASES)
    for rid, p, a in rows:
        if p == 0 or a == 0:
            errors.append(f"coverage: {rid} present in {p}, absent in {a}")
    if errors:
        print("\n".join(errors), file=sys.stderr)
        return 1
    os.makedirs(OUT, exist_ok=True)
    wanted = set()
    for c in CASES:
        fname = c["name"] + ".json"
        wanted.add(fname)
        with open(os.path.join(OUT, fname), "w", encoding="utf-8") as f:
            json.dump(c, f, indent=1, sort_keys=True, ensure_ascii=False)
            f.write("\n")
    for stale in sorted(set(os.listdir(OUT)) - wanted):
        if stale.startswith("v-") and stale.endswith(".json"):
            os.remove(os.path.join(OUT, stale))
    for fname in sorted(wanted):  # round-trip: every file is valid JSON
        with open(os.path.join(OUT, fname), encoding="utf-8") as f:
            json.load(f)
    print(f"wrote {len(CASES)} cases to {os.path.relpath(OUT)}")
    if "--coverage" in argv:
        print(f"{'recommendation':40} present absent")
        for rid, p, a in rows:
            print(f"{rid:40} {p:7} {a:6}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
