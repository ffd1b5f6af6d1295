"""What every resource reader shares: the chosen patient, the index, the terminology, the
timeline being built and its data issues, and whether a resource is about the patient.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from igwatch.fhir import terminology as tx
from igwatch.fhir.ingest.index import ResourceIndex, record_key, resource_key
from igwatch.fhir.ingest.patients import choose_patient, patient_name, patients_in
from igwatch.fhir.ingest.values import as_str, parse_date
from igwatch.fhir.reader import CLINICAL_TYPES, FULL_URL_KEY, reference_text
from igwatch.timeline import DataIssue, IssueSeverity, Patient, Sex, Timeline


class BuilderCore:
    """The state of one ingest, and the checks every resource type makes."""

    def __init__(self, resources: list[dict[str, Any]], patient_id: str | None) -> None:
        self.resources = [r for r in resources if type(r) is dict or isinstance(r, Mapping)]
        # One pass reads each resource's type, id and fullUrl, for the index and for its key
        # (made only for the records a reader reads, in :meth:`record_key_of`).
        self.index = ResourceIndex()
        self._names: list[tuple[str | None, str | None, str | None]] = []
        for resource in self.resources:
            names = (
                as_str(resource.get("resourceType")),
                as_str(resource.get("id")),
                as_str(resource.get(FULL_URL_KEY)),
            )
            self.index.add(resource, *names)
            self._names.append(names)
        patients = patients_in(self.resources)
        self.patient_resource = choose_patient(patients, patient_id)
        self.single_patient = len(patients) == 1
        self.patient_keys = {resource_key(self.patient_resource)}
        url = as_str(self.patient_resource.get(FULL_URL_KEY))
        if url:
            self.patient_keys.add(url)
        self.terminology = tx.get_terminology()
        self.timeline = Timeline(patient=self._patient())
        self._seen: set[str] = set()
        self._ref_cache: dict[str, bool] = {}

    def record_key_of(self, position: int) -> str:
        """The key of the record at ``position`` (0-based) of :attr:`resources`."""
        return record_key(*self._names[position], position + 1)

    def issue(self, severity: IssueSeverity, code: str, message: str, resource: str | None) -> None:
        self.timeline.data_issues.append(DataIssue(severity, code, message, resource))

    def by_name(self, key: str, what: str, text: str) -> None:
        self.issue("info", "recognised-by-name", f"{what} recognised by its name only: {text!r}", key)

    def about_patient(self, resource: Mapping[str, Any]) -> bool:
        """Whether a clinical resource is about the chosen patient.

        Its ``subject`` / ``patient`` reference must resolve to the chosen Patient. A
        ``Patient/<id>`` reference to a patient not in the input is another patient. A reference
        that cannot be checked at all (an unknown ``urn:uuid:``, an identifier only) counts as this
        patient only in a one-patient input; a clinical resource with no subject likewise.
        """
        subject, patient = resource.get("subject"), resource.get("patient")
        if subject is None and patient is None:
            return self.single_patient or resource.get("resourceType") not in CLINICAL_TYPES
        for ref in (subject, patient):
            if ref is None:
                continue
            text = reference_text(ref)
            cache_key = text if text is not None and not text.startswith("#") else None
            ours = self._ref_cache.get(cache_key) if cache_key is not None else None
            if ours is None:
                ours = self._reference_is_ours(ref, text, resource)
                if cache_key is not None:
                    self._ref_cache[cache_key] = ours
            if ours:
                return True
        return False

    def _reference_is_ours(self, ref: object, text: str | None, resource: Mapping[str, Any]) -> bool:
        target = self.index.resolve(ref, resource)
        if target is None:
            names_a_patient = text is not None and "Patient/" in text and not text.startswith("urn:")
            return self.single_patient and not names_a_patient
        return target is self.patient_resource or (
            target.get("resourceType") == "Patient" and resource_key(target) in self.patient_keys
        )

    def match(self, concept: object, within: frozenset[str]) -> tuple[tx.ConceptMatch, ...]:
        return self.terminology.match(concept, within)

    def _patient(self) -> Patient:
        p = self.patient_resource
        gender = as_str(p.get("gender"))
        sex: Sex | None = "male" if gender == "male" else "female" if gender == "female" else None
        died = p.get("deceasedDateTime")
        died_on = parse_date(died)
        if died is not None and died_on is None:
            self.issue(
                "warning",
                "date-missing",
                "Patient.deceasedDateTime cannot be read as a date: the patient is taken as deceased",
                resource_key(p),
            )
        return Patient(
            id=as_str(p.get("id")) or resource_key(p),
            birth_date=parse_date(p.get("birthDate")),
            sex=sex,
            name=patient_name(p),
            deceased=p.get("deceasedBoolean") is True or died is not None,
            deceased_date=died_on,
        )
