"""MedicationStatement, MedicationRequest and MedicationAdministration: anti-CD20 agents, immune
globulin and antibiotics, with dose, route, interval and dates (clinical-spec §3).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from typing import Any, Final

from igwatch.fhir import terminology as tx
from igwatch.fhir.ingest.immunizations import VaccineReader
from igwatch.fhir.ingest.index import resource_key
from igwatch.fhir.ingest.values import (
    as_number,
    as_object,
    as_str,
    concept_label,
    get_path,
    has_code,
    objects_in,
    parse_date,
)
from igwatch.fhir.ingest.vocabulary import (
    CATEGORY,
    MEDICATION_CATEGORIES,
    PERIOD_UNIT_DAYS,
    ROUTE_CODES,
    medication_sets,
)
from igwatch.fhir.reader import MEDICATION_TYPES, is_object
from igwatch.fhir.units import UnitError, quantity_value
from igwatch.timeline import MedicationCategory, MedicationRecord, MedicationResource, Route


class MedicationReader(VaccineReader):
    """A medication resource → a medication record (or a vaccination recorded as a medication)."""

    def _drug(self, resource: Mapping[str, Any]) -> object:
        concept = resource.get("medicationCodeableConcept")
        if concept is not None:
            return concept
        ref = resource.get("medicationReference")
        medication = get_path(resource, "medication")
        if ref is None and isinstance(medication, Mapping):  # R5 CodeableReference
            if medication.get("concept") is not None:
                return medication.get("concept")
            ref = medication.get("reference")
        if ref is None:
            return None
        target = self.index.resolve(ref, resource)
        if target is not None and target.get("resourceType") == "Medication":
            return target.get("code")
        display = as_str(get_path(ref, "display"))
        return {"text": display} if display else None

    def medication(self, med: Mapping[str, Any], key: str) -> None:
        rtype = med.get("resourceType")
        if rtype not in MEDICATION_TYPES:
            return
        status = as_str(med.get("status"))
        if status == "entered-in-error":
            return
        drug = self._drug(med)
        if drug is None:
            return
        if self._vaccine(drug, med, key, ordered=rtype == "MedicationRequest"):
            return
        matches = self.match(drug, self._medication_sets())
        chosen = next((m for m in matches if not m.by_name and m.get("medication-category")), None)
        chosen = chosen or next((m for m in matches if m.get("medication-category")), None)
        if chosen is None:
            return
        category = chosen.get("medication-category")
        agent = chosen.get("agent")
        if category not in MEDICATION_CATEGORIES or not agent:
            return
        resource_type: MedicationResource = (
            "MedicationStatement"
            if rtype == "MedicationStatement"
            else "MedicationRequest"
            if rtype == "MedicationRequest"
            else "MedicationAdministration"
        )
        med_category: MedicationCategory = CATEGORY[category]
        dosage = self._dosage(med, resource_type)
        start, end, authored = self._med_dates(med, resource_type, dosage)
        dose_g: float | None = None
        if med_category == "immune-globulin":
            dose_g = self._dose_g(dosage, resource_type, key)
        route = _route(get_path(dosage, "route")) or _route_from_text(concept_label(drug))
        if route is None and med_category == "immune-globulin":
            product_route = chosen.get("route") or next(
                (m.get("route") for m in matches if m.get("route")), None
            )
            route = "IV" if product_route == "IV" else "SC" if product_route == "SC" else None
        display = concept_label(drug, matches)
        record = MedicationRecord(
            id=key,
            resource_type=resource_type,
            category=med_category,
            agent=agent,
            display=display,
            status=status,
            intent=as_str(med.get("intent")) if resource_type == "MedicationRequest" else None,
            start=start,
            end=end,
            authored=authored,
            dose_g=dose_g,
            interval_days=_interval_days(get_path(dosage, "timing", "repeat")),
            route=route,
            reason_references=self._reason_references(med),
            reason_texts=_reason_texts(med),
            recognised_by_name=chosen.by_name,
            # F1: a statement's effectiveDateTime is a dose date, so it can date a stop.
            start_is_dose_date=resource_type == "MedicationStatement"
            and parse_date(med.get("effectiveDateTime")) is not None,
        )
        self.timeline.medications.append(record)
        if chosen.by_name:
            self.by_name(key, f"{med_category} medication", display)

    def _medication_sets(self) -> frozenset[str]:
        return medication_sets(self.terminology)

    @staticmethod
    def _dosage(med: Mapping[str, Any], rtype: MedicationResource) -> Mapping[str, Any] | None:
        if rtype == "MedicationAdministration":
            return as_object(med.get("dosage"))
        if rtype == "MedicationRequest":
            return next(objects_in(med.get("dosageInstruction")), None)
        return next(objects_in(med.get("dosage")), None)

    @staticmethod
    def _med_dates(
        med: Mapping[str, Any], rtype: MedicationResource, dosage: Mapping[str, Any] | None
    ) -> tuple[date | None, date | None, date | None]:
        if rtype == "MedicationRequest":
            bounds = get_path(dosage, "timing", "repeat", "boundsPeriod")
            return (
                parse_date(get_path(bounds, "start")),
                parse_date(get_path(bounds, "end")),
                parse_date(med.get("authoredOn")),
            )
        if rtype == "MedicationAdministration":
            start = parse_date(med.get("effectiveDateTime")) or parse_date(
                get_path(med, "effectivePeriod", "start")
            )
            start = (
                start or parse_date(med.get("occurenceDateTime")) or parse_date(med.get("occurrenceDateTime"))
            )
            return start, None, None
        start = parse_date(med.get("effectiveDateTime")) or parse_date(
            get_path(med, "effectivePeriod", "start")
        )
        return start, parse_date(get_path(med, "effectivePeriod", "end")), None

    def _dose_g(self, dosage: Mapping[str, Any] | None, rtype: MedicationResource, key: str) -> float | None:
        if dosage is None:
            return None
        quantity = dosage.get("dose") if rtype == "MedicationAdministration" else None
        if quantity is None:
            quantity = get_path(dosage, "doseAndRate", 0, "doseQuantity")
        if as_object(quantity) is None or as_number(get_path(quantity, "value")) is None:
            return None
        try:
            dose_g = quantity_value(quantity, "ig-dose")
        except UnitError as exc:
            self.issue("warning", exc.issue_code, f"immune globulin dose: {exc}; dose ignored", key)
            return None
        except ValueError:
            return None
        if dose_g <= 0:
            self.issue(
                "warning", "value-implausible", "immune globulin dose is not positive; dose ignored", key
            )
            return None
        return dose_g

    def _reason_references(self, med: Mapping[str, Any]) -> tuple[str, ...]:
        out: list[str] = []
        for ref in objects_in(med.get("reasonReference")):
            target = self.index.resolve(ref, med)
            if target is not None:
                if target.get("resourceType") == "Condition":
                    out.append(resource_key(target))
                continue
            text = as_str(ref.get("reference"))
            if text and "Condition/" in text:
                out.append("Condition/" + text.split("Condition/", 1)[1].split("/_history/")[0])
        return tuple(dict.fromkeys(out))


def _route(concept: object) -> Route | None:
    code = has_code(concept, tx.SNOMED, ROUTE_CODES)
    if code is not None:
        return ROUTE_CODES[code]
    obj = as_object(concept)
    if obj is None:
        return None
    return _route_from_text(" ".join(tx.concept_texts(obj)))


_IV_RE: Final = re.compile(r"(?<![a-z])(intravenous|intravenously|ivig|igiv)(?![a-z])")
_SC_RE: Final = re.compile(r"(?<![a-z])(subcutaneous|subcutaneously|scig|igsc)(?![a-z])")


@lru_cache(maxsize=4096)  # product names repeat across a population
def _route_from_text(text: str) -> Route | None:
    folded = text.casefold()
    iv = bool(_IV_RE.search(folded))
    sc = bool(_SC_RE.search(folded))
    if iv and not sc:
        return "IV"
    if sc and not iv:
        return "SC"
    return None


def _interval_days(repeat: object) -> float | None:
    if not is_object(repeat):
        return None
    period = as_number(repeat.get("period"))
    unit = as_str(repeat.get("periodUnit"))
    if period is None or period <= 0 or unit not in PERIOD_UNIT_DAYS:
        return None
    frequency = as_number(repeat.get("frequency"))
    if frequency is None:
        frequency = 1.0
    if frequency <= 0:
        return None
    return period * PERIOD_UNIT_DAYS[unit] / frequency


def _reason_texts(med: Mapping[str, Any]) -> tuple[str, ...]:
    texts: list[str] = []
    for concept in objects_in(med.get("reasonCode")):
        texts.extend(tx.concept_texts(concept))
    return tuple(dict.fromkeys(texts))
