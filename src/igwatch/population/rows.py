"""Extracted view rows of one patient → the minimal FHIR resources ingest reads → :class:`Timeline`.

One code path: the rows of the igwatch ViewDefinitions (:mod:`igwatch.population.extract`) are put
back into FHIR-shaped JSON holding exactly the elements :mod:`igwatch.fhir.ingest` reads, and the
timeline is built by the same :func:`igwatch.fhir.ingest.build_timeline` that ``igwatch assess``
uses. Recognition, unit conversion, dates, references and data issues are therefore decided in
one place, and the population screen gives the same answer as ``assess`` on the patient's bundle.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Final

from igwatch.assessment import Assessment
from igwatch.engine import assess
from igwatch.fhir.ingest import ANTIBIOTIC_RESPONSE_URL, build_timeline
from igwatch.knowledge.profile import Profile
from igwatch.timeline import Timeline

Row = Mapping[str, Any]
Resource = dict[str, Any]


def _plain(value: Any) -> Any:
    """Engines hand decimals back as Decimal; ingest reads JSON numbers (int / float)."""
    if type(value) is Decimal:
        return int(value) if value == value.to_integral_value() and "." not in str(value) else float(value)
    return value


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        target[key] = _plain(value) if type(value) is Decimal else value


_EMPTY_TYPES: Final = (dict, list)


def _sub(**fields: Any) -> dict[str, Any] | None:
    """An object of the non-null fields, or None when all are null."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if value is None or (type(value) in _EMPTY_TYPES and not value):
            continue
        out[key] = _plain(value) if type(value) is Decimal else value
    return out or None


def _row_sub(row: Row, columns: tuple[tuple[str, str], ...]) -> dict[str, Any] | None:
    """:func:`_sub` of the row's ``(column, field)`` pairs, without building keyword arguments
    (this runs for every coding of every resource)."""
    out: dict[str, Any] = {}
    for column, key in columns:
        value = row.get(column)
        if value is None or (type(value) in _EMPTY_TYPES and not value):
            continue
        out[key] = _plain(value) if type(value) is Decimal else value
    return out or None


_CODING_COLUMNS: Final = (("system", "system"), ("code", "code"), ("display", "display"))
_REFERENCE_COLUMNS: Final = (("code", "reference"), ("system", "type"), ("display", "display"))


def _order(row: Row) -> tuple[int, int]:
    item = row.get("item")
    coding = row.get("coding_item")
    return (item if isinstance(item, int) else -1, coding if isinstance(coding, int) else -1)


class _Rows:
    """One resource's rows, split by ``element`` once (each element's rows in list order)."""

    __slots__ = ("by_element", "first")

    def __init__(self, rows: Sequence[Row]) -> None:
        self.first = rows[0]
        if len(rows) == 1:  # most resources: nothing to split or sort
            self.by_element = {self.first.get("element"): [self.first]}
            return
        by_element: dict[Any, list[Row]] = {}
        for row in rows:
            element = row.get("element")
            element_rows = by_element.get(element)
            if element_rows is None:
                by_element[element] = [row]
            else:
                element_rows.append(row)
        for element_rows in by_element.values():
            if len(element_rows) > 1:
                element_rows.sort(key=_order)
        self.by_element = by_element

    def of(self, element: str) -> Sequence[Row]:
        return self.by_element.get(element, _NO_ROWS)


_NO_ROWS: Final[tuple[Row, ...]] = ()


def _element_rows(rows: _Rows, element: str) -> Sequence[Row]:
    return rows.of(element)


def _concepts_of(element_rows: Iterable[Row]) -> list[dict[str, Any]]:
    """The CodeableConcepts of one element, in list order, each with its codings in order."""
    concepts: dict[int, dict[str, Any]] = {}
    for row in element_rows:
        item = row.get("item")
        index = item if isinstance(item, int) else 0
        concept = concepts.get(index)
        if concept is None:
            concept = concepts[index] = {}
        text = row.get("text")
        if text is not None:
            concept["text"] = text
        coding = _row_sub(row, _CODING_COLUMNS)
        if coding is not None:
            concept.setdefault("coding", []).append(coding)
    return [c for c in concepts.values() if c]


def _concepts(rows: _Rows, element: str) -> list[dict[str, Any]]:
    return _concepts_of(rows.of(element))


def _concept(rows: _Rows, element: str) -> dict[str, Any] | None:
    element_rows = rows.of(element)
    if not element_rows:  # the usual case for most optional elements
        return None
    found = _concepts_of(element_rows)
    return found[0] if found else None


def _references(rows: _Rows, element: str) -> list[dict[str, Any]]:
    out = []
    for row in _element_rows(rows, element):
        ref = _row_sub(row, _REFERENCE_COLUMNS)
        if ref is not None:
            out.append(ref)
    return out


_QUANTITY_FIELDS: Final = ("value", "unit", "system", "code")
_QUANTITY_COLUMNS: Final = {
    prefix: tuple((f"{prefix}_{name}", name) for name in _QUANTITY_FIELDS)
    for prefix in ("value", "range_low", "range_high", "dose")
}


def _quantity(row: Row, prefix: str, comparator: Any = None) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    for column, name in _QUANTITY_COLUMNS[prefix]:
        value = row.get(column)
        if value is not None:
            out[name] = _plain(value) if type(value) is Decimal else value
    if comparator is not None:
        out["comparator"] = comparator
    return out or None


def _base(rtype: str, row: Row, patient_field: str = "subject") -> Resource:
    resource: Resource = {"resourceType": rtype}
    _put(resource, "id", row.get("id"))
    ref = row.get("patient_ref")
    if ref is not None:
        resource[patient_field] = {"reference": ref}
    _put(resource, "status", row.get("status"))
    return resource


def _period(start: Any, end: Any = None) -> dict[str, Any] | None:
    if start is None and end is None:  # the usual case
        return None
    return _sub(start=start, end=end)


def _patient(row: Row) -> Resource:
    resource: Resource = {"resourceType": "Patient"}
    _put(resource, "id", row.get("id"))
    _put(resource, "gender", row.get("gender"))
    _put(resource, "birthDate", row.get("birth_date"))
    _put(resource, "deceasedBoolean", row.get("deceased_boolean"))
    _put(resource, "deceasedDateTime", row.get("deceased_date_time"))
    given = row.get("name_given")
    name = _sub(text=row.get("name_text"), family=row.get("name_family"), given=[given] if given else None)
    if name is not None:
        resource["name"] = [name]
    return resource


def _observation(rows: _Rows) -> Resource:
    row = rows.first
    obs = _base("Observation", row)
    _put(obs, "code", _concept(rows, "code"))
    _put(obs, "effectiveDateTime", row.get("effective_date_time"))
    _put(obs, "effectivePeriod", _period(row.get("effective_period_start")))
    _put(obs, "issued", row.get("issued"))
    _put(obs, "valueQuantity", _quantity(row, "value", comparator=row.get("value_comparator")))
    _put(obs, "valueCodeableConcept", _concept(rows, "value"))
    low, high = _quantity(row, "range_low"), _quantity(row, "range_high")
    if low is not None or high is not None:
        obs["referenceRange"] = [_sub(low=low, high=high)]
    return obs


def _status_concept(code: Any) -> dict[str, Any] | None:
    return {"coding": [{"code": code}]} if code is not None else None


def _condition(rows: _Rows) -> Resource:
    row = rows.first
    cond = _base("Condition", row)
    _put(cond, "code", _concept(rows, "code"))
    _put(cond, "clinicalStatus", _status_concept(row.get("clinical_status")))
    _put(cond, "verificationStatus", _status_concept(row.get("verification_status")))
    _put(cond, "onsetDateTime", row.get("onset_date_time"))
    _put(cond, "onsetPeriod", _period(row.get("onset_period_start")))
    _put(cond, "recordedDate", row.get("recorded_date"))
    _put(cond, "abatementDateTime", row.get("abatement_date_time"))
    _put(cond, "abatementPeriod", _period(row.get("abatement_period_start")))
    _put(cond, "severity", _concept(rows, "severity"))
    evidence = _sub(code=_concepts(rows, "evidence_code"), detail=_references(rows, "evidence_detail"))
    if evidence is not None:
        cond["evidence"] = [evidence]
    encounter = row.get("encounter_ref")
    if encounter is not None:
        cond["encounter"] = {"reference": encounter}
    extensions = [
        {"url": ANTIBIOTIC_RESPONSE_URL, "valueCode": r.get("code")}
        for r in _element_rows(rows, "antibiotic_response")
        if r.get("code") is not None
    ]
    if extensions:
        cond["extension"] = extensions
    return cond


def _encounter(rows: _Rows) -> Resource:
    enc = _base("Encounter", rows.first)
    codings = [
        c
        for r in _element_rows(rows, "class")
        if (c := _sub(system=r.get("system"), code=r.get("code"), display=r.get("display"))) is not None
    ]
    if codings:
        enc["class"] = codings[0] if len(codings) == 1 else codings
    return enc


def _medication(rows: _Rows) -> Resource:
    med: Resource = {"resourceType": "Medication"}
    _put(med, "id", rows.first.get("id"))
    _put(med, "code", _concept(rows, "code"))
    return med


def _contained_medications(rows: _Rows) -> list[Resource]:
    ids = {r.get("item"): r.get("text") for r in _element_rows(rows, "contained_medication_id")}
    codes: dict[Any, list[Row]] = {}
    for row in _element_rows(rows, "contained_medication"):
        codes.setdefault(row.get("item"), []).append(row)
    out: list[Resource] = []
    for item, cid in ids.items():
        med: Resource = {"resourceType": "Medication"}
        _put(med, "id", cid)
        concept = next(iter(_concepts_of(codes.get(item, []))), None)
        _put(med, "code", concept)
        out.append(med)
    return out


def _medication_use(rtype: str, rows: _Rows) -> Resource:
    row = rows.first
    use = _base(rtype, row)
    drug = _concept(rows, "medication")
    if drug is not None:
        use["medicationCodeableConcept"] = drug
    else:
        _put(
            use,
            "medicationReference",
            _sub(reference=row.get("medication_ref"), display=row.get("medication_ref_display")),
        )
    repeat = _sub(
        period=row.get("timing_period"),
        periodUnit=row.get("timing_period_unit"),
        frequency=row.get("timing_frequency"),
        boundsPeriod=_period(row.get("bounds_start"), row.get("bounds_end")),
    )
    dose = _quantity(row, "dose")
    route = _concept(rows, "route")
    if rtype == "MedicationAdministration":
        _put(use, "dosage", _sub(route=route, dose=dose))
    else:
        dosage = _sub(
            route=route,
            timing={"repeat": repeat} if repeat else None,
            doseAndRate=[{"doseQuantity": dose}] if dose else None,
        )
        if dosage is not None:
            use["dosage" if rtype == "MedicationStatement" else "dosageInstruction"] = [dosage]
    _put(use, "effectiveDateTime", row.get("effective_date_time"))
    _put(use, "effectivePeriod", _period(row.get("effective_period_start"), row.get("effective_period_end")))
    _put(use, "intent", row.get("intent"))
    _put(use, "authoredOn", row.get("authored_on"))
    contained = _contained_medications(rows)
    if contained:
        use["contained"] = contained
    reason_codes = _concepts(rows, "reason_code")
    if reason_codes:
        use["reasonCode"] = reason_codes
    reason_refs = _references(rows, "reason_reference")
    if reason_refs:
        use["reasonReference"] = reason_refs
    return use


def _immunization(rows: _Rows) -> Resource:
    row = rows.first
    imm = _base("Immunization", row, patient_field="patient")
    _put(imm, "vaccineCode", _concept(rows, "vaccine"))
    _put(imm, "occurrenceDateTime", row.get("occurrence_date_time"))
    return imm


def _service_request(rows: _Rows) -> Resource:
    row = rows.first
    req = _base("ServiceRequest", row)
    _put(req, "code", _concept(rows, "code"))
    _put(req, "occurrenceDateTime", row.get("occurrence_date_time"))
    _put(req, "occurrencePeriod", _period(row.get("occurrence_period_start")))
    _put(req, "authoredOn", row.get("authored_on"))
    return req


def resources_from_rows(rows: Iterable[Row]) -> list[Resource]:
    """The FHIR resources (as ingest reads them) rebuilt from one patient's extracted rows.

    Rows of one resource are those with the same ``resource_type`` and ``id``; resources keep the
    order in which their first row arrives (the engines order by type, then id).
    """
    groups: dict[tuple[str, Any], list[Row]] = {}
    for row in rows:
        key = (row["resource_type"], row.get("id"))
        resource_rows = groups.get(key)
        if resource_rows is None:
            groups[key] = [row]
        else:
            resource_rows.append(row)
    out: list[Resource] = []
    for (rtype, _id), group_rows in groups.items():
        group = _Rows(group_rows)
        if rtype == "Patient":
            out.append(_patient(group.first))
        elif rtype == "Observation":
            out.append(_observation(group))
        elif rtype == "Condition":
            out.append(_condition(group))
        elif rtype == "Encounter":
            out.append(_encounter(group))
        elif rtype == "Medication":
            out.append(_medication(group))
        elif rtype in ("MedicationStatement", "MedicationRequest", "MedicationAdministration"):
            out.append(_medication_use(rtype, group))
        elif rtype == "Immunization":
            out.append(_immunization(group))
        elif rtype == "ServiceRequest":
            out.append(_service_request(group))
    return out


def timeline_from_rows(rows: Iterable[Row], patient_id: str) -> Timeline:
    """The patient's :class:`Timeline`, built by ingest's own :func:`build_timeline`."""
    return build_timeline(resources_from_rows(rows), patient_id)


def assess_rows(
    rows: Iterable[Row], patient_id: str, as_of: date, profile: Profile, today: date | None = None
) -> Assessment:
    """``assess`` on the timeline rebuilt from one patient's rows."""
    return assess(timeline_from_rows(rows, patient_id), as_of, profile, today=today)
