"""The case builder: dates, codes, FHIR resource helpers and twin-case assembly, shared by every
area's cases (``tests/rules/<area>/cases.py``).

Every expectation is derived from the clinical specification (design/clinical-spec.md) and the
contract (design/contract.md), not from the engine. Each case states in its description the clause
it tests and, where a date matters, the arithmetic. Boundary cases come in twins that differ only
at the boundary. ``python -m tests.rules.build_cases`` writes them all to tests/vignettes/cases/.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import date, timedelta

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "vignettes", "cases")
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
