"""Conditions: infections (with their organisms, severity and setting) and the diagnoses igwatch
reads (clinical-spec §3).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from igwatch.fhir import terminology as tx
from igwatch.fhir.ingest.core import BuilderCore
from igwatch.fhir.ingest.index import resource_key
from igwatch.fhir.ingest.values import (
    as_str,
    codings_of,
    concept_label,
    first_code,
    get_path,
    objects_in,
    parse_date,
)
from igwatch.fhir.ingest.vocabulary import (
    ACT_CODE_SYSTEMS,
    ANTIBIOTIC_RESPONSE_URL,
    CONDITION_SETS,
    DIAGNOSIS_VALUESETS,
    INFECTION_CONCEPTS,
    INFECTION_VALUESET,
    INPATIENT_CLASSES,
    ORGANISM_SETS,
    SEVERITY_CODES,
    SKIP_RESULT_STATUSES,
)
from igwatch.timeline import Diagnosis, Infection, Severity


class ConditionReader(BuilderCore):
    """Condition → an infection, a diagnosis, or nothing igwatch reads."""

    def condition(self, cond: Mapping[str, Any], key: str) -> None:
        verification = first_code(cond.get("verificationStatus"))
        if verification == "entered-in-error":
            return
        code = cond.get("code")
        matches = self.match(code, CONDITION_SETS)
        if not matches:
            return
        sets = {m.valueset for m in matches}
        onset = parse_date(cond.get("onsetDateTime")) or parse_date(get_path(cond, "onsetPeriod", "start"))
        recorded = parse_date(cond.get("recordedDate"))
        abatement = parse_date(cond.get("abatementDateTime")) or parse_date(
            get_path(cond, "abatementPeriod", "start")
        )
        clinical = first_code(cond.get("clinicalStatus"))
        display = concept_label(code, matches)
        if INFECTION_VALUESET in sets:
            if onset is None and recorded is None:
                self.issue(
                    "error", "date-missing", "infection has no onset and no recorded date; ignored", key
                )
            else:
                self._infection(
                    cond, key, matches, onset, recorded, abatement, clinical, verification, display
                )
        for concept in DIAGNOSIS_VALUESETS:
            if concept not in sets:
                continue
            by_name = all(m.by_name for m in matches if m.valueset == concept)
            self.timeline.diagnoses.append(
                Diagnosis(
                    id=key,
                    concept=concept,
                    display=display,
                    onset=onset,
                    recorded=recorded,
                    abatement=abatement,
                    clinical_status=clinical,
                    verification_status=verification,
                    recognised_by_name=by_name,
                )
            )
            if by_name:
                self.by_name(key, concept.replace("-", " "), display)

    def _infection(
        self,
        cond: Mapping[str, Any],
        key: str,
        matches: tuple[tx.ConceptMatch, ...],
        onset: date | None,
        recorded: date | None,
        abatement: date | None,
        clinical: str | None,
        verification: str | None,
        display: str,
    ) -> None:
        concepts = frozenset(m.valueset for m in matches if m.valueset in INFECTION_CONCEPTS)
        organisms: set[str] = set()
        bacterial = False
        sources: list[object] = [cond.get("code")]
        for evidence in objects_in(cond.get("evidence")):
            sources.extend(objects_in(evidence.get("code")))
            for detail in objects_in(evidence.get("detail")):
                target = self.index.resolve(detail, cond)
                if target is not None and target.get("resourceType") == "Observation":
                    if as_str(target.get("status")) in SKIP_RESULT_STATUSES:
                        continue
                    sources.append(target.get("valueCodeableConcept"))
        for source in sources:
            for m in self.match(source, ORGANISM_SETS):
                organism = m.get("organism")
                if organism:
                    organisms.add(organism)
                if m.get("bacterial") == "true":
                    bacterial = True
        severity: Severity | None = None
        for coding in codings_of(cond.get("severity")):
            code = as_str(coding.get("code"))
            system = tx.canonical_system(coding.get("system"))
            if code in SEVERITY_CODES and system in (None, tx.SNOMED):
                severity = SEVERITY_CODES[code]
                break
        encounter_key: str | None = None
        inpatient = False
        encounter_ref = cond.get("encounter")
        if encounter_ref is not None:
            target = self.index.resolve(encounter_ref, cond)
            if target is not None and target.get("resourceType") == "Encounter":
                encounter_key = resource_key(target)
                inpatient = _is_inpatient(target)
            else:
                encounter_key = as_str(get_path(encounter_ref, "reference"))
        insufficient = any(
            ext.get("url") == ANTIBIOTIC_RESPONSE_URL and as_str(ext.get("valueCode")) == "insufficient"
            for ext in objects_in(cond.get("extension"))
        )
        self.timeline.infections.append(
            Infection(
                id=key,
                display=display,
                onset=onset,
                recorded=recorded,
                abatement=abatement,
                clinical_status=clinical,
                verification_status=verification,
                severity=severity,
                concepts=concepts,
                organisms=frozenset(organisms),
                bacterial_organism=bacterial,
                encounter=encounter_key,
                inpatient=inpatient,
                antibiotic_response_insufficient=insufficient,
                recognised_by_name=False,
            )
        )


def _is_inpatient(encounter: Mapping[str, Any]) -> bool:
    klass = encounter.get("class")
    candidates: list[Mapping[str, Any]] = []
    for item in objects_in(klass):  # R4: a Coding; R5: a list of CodeableConcepts
        if "coding" in item:
            candidates.extend(codings_of(item))
        else:
            candidates.append(item)
    for coding in candidates:
        code = as_str(coding.get("code"))
        system = as_str(coding.get("system"))
        if code in INPATIENT_CLASSES and (system is None or system in ACT_CODE_SYSTEMS):
            return True
    return False
