"""The value sets, codes and record states ingest recognises, by resource type."""

from __future__ import annotations

from functools import lru_cache
from typing import Final

from igwatch.fhir import terminology as tx
from igwatch.fhir.units import UnitKind
from igwatch.timeline import LabKind, MedicationCategory, Route, Severity

ANTIBIOTIC_RESPONSE_URL: Final = "https://igwatch.dev/fhir/StructureDefinition/antibiotic-response"

# Value set ids (igwatch/knowledge/valuesets/<id>.json) → lab kind.
LAB_VALUESETS: Final[dict[str, LabKind]] = {
    "igg": "igg",
    "igm": "igm",
    "iga": "iga",
    "cd19-absolute": "cd19-absolute",
    "cd19-percent": "cd19-percent",
    "body-weight": "weight",
    "body-height": "height",
    "pneumococcal-serotype-igg": "pneumococcal-serotype",
}
LAB_UNIT_KINDS: Final[dict[LabKind, UnitKind]] = {
    "igg": "immunoglobulin",
    "igm": "immunoglobulin",
    "iga": "immunoglobulin",
    "cd19-absolute": "cd19-absolute",
    "cd19-percent": "cd19-percent",
    "weight": "weight",
    "height": "height",
    "pneumococcal-serotype": "serotype-igg",
}
#: Plausible ranges (inclusive) in igwatch units; outside → ``value-implausible`` (clinical-spec §7
#: for IgG, IgM, IgA and weight; the others only exclude impossible values).
PLAUSIBLE: Final[dict[LabKind, tuple[float, float]]] = {
    "igg": (0.0, 10_000.0),
    "igm": (0.0, 5_000.0),
    "iga": (0.0, 5_000.0),
    "weight": (2.0, 400.0),
    "height": (20.0, 300.0),
    "cd19-absolute": (0.0, 1_000_000.0),
    "cd19-percent": (0.0, 100.0),
    "pneumococcal-serotype": (0.0, 100_000.0),
}
SEROLOGY_VALUESET: Final = "viral-serology"
INFECTION_VALUESET: Final = "infection"
INFECTION_CONCEPTS: Final = frozenset(
    {
        "bacterial-infection",
        "viral-or-fungal-infection",
        "severe-by-nature",
        "life-threatening-by-nature",
        "opportunistic-infection",
    }
)
DIAGNOSIS_VALUESETS: Final = (
    "selective-igm-deficiency",
    "specific-antibody-deficiency",
    "autoimmune",
    "multiple-sclerosis",
)
ORGANISM_VALUESETS: Final = (
    "streptococcus-pneumoniae",
    "haemophilus-influenzae",
    "neisseria-meningitidis",
    "bacterial-organism",
)
MEDICATION_CATEGORIES: Final[frozenset[str]] = frozenset(
    {"anti-cd20", "other-b-cell-depleting", "immune-globulin", "antibiotic"}
)
LIVE_VACCINE_VALUESET: Final = "live-vaccine"
PPSV_VALUESET: Final = "pneumococcal-polysaccharide"

SEVERITY_CODES: Final[dict[str, Severity]] = {
    "255604002": "mild",
    "6736007": "moderate",
    "24484000": "severe",
    "442452003": "life-threatening",
}
ROUTE_CODES: Final[dict[str, Route]] = {"47625008": "IV", "34206005": "SC"}
INPATIENT_CLASSES: Final = frozenset({"IMP", "ACUTE", "NONAC"})
ACT_CODE_SYSTEMS: Final = frozenset(
    {"http://terminology.hl7.org/CodeSystem/v3-ActCode", "http://hl7.org/fhir/v3/ActCode"}
)
PERIOD_UNIT_DAYS: Final[dict[str, float]] = {
    "s": 1 / 86_400,
    "min": 1 / 1_440,
    "h": 1 / 24,
    "d": 1.0,
    "wk": 7.0,
    "mo": 30.4375,
    "a": 365.25,
}
COMPARATORS: Final = frozenset({"<", "<=", ">", ">="})
SKIP_RESULT_STATUSES: Final = frozenset({"entered-in-error", "cancelled"})


OBSERVATION_SETS: Final = frozenset({*LAB_VALUESETS, SEROLOGY_VALUESET})
CONDITION_SETS: Final = frozenset({INFECTION_VALUESET, *INFECTION_CONCEPTS, *DIAGNOSIS_VALUESETS})
ORGANISM_SETS: Final = frozenset(ORGANISM_VALUESETS)
VACCINE_SETS: Final = frozenset({LIVE_VACCINE_VALUESET, PPSV_VALUESET})
SEROLOGY_SETS: Final = frozenset({SEROLOGY_VALUESET})

CATEGORY: Final[dict[str, MedicationCategory]] = {
    "anti-cd20": "anti-cd20",
    # Revision 2: every B-cell-depleting agent is population K (a site value set may still say so).
    "other-b-cell-depleting": "anti-cd20",
    "immune-globulin": "immune-globulin",
    "antibiotic": "antibiotic",
}


@lru_cache(maxsize=8)
def _medication_sets_cached(terminology: tx.Terminology) -> frozenset[str]:
    return frozenset(
        name
        for name, info in terminology.valuesets.items()
        if info.properties.get("medication-category") in MEDICATION_CATEGORIES
    )


def medication_sets(terminology: tx.Terminology) -> frozenset[str]:
    """Every value set that names a medication category (a site may add agents)."""
    return _medication_sets_cached(terminology)
