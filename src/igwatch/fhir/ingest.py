"""FHIR R4 JSON → :class:`~igwatch.timeline.Timeline` (contract §1, clinical-spec §3 and §7).

Two steps:

- :func:`parse_input` turns bytes (a Bundle, a single resource or NDJSON, gzip or not; detected by
  content) into a flat list of resource dicts. Nested Bundles are flattened. Each resource that
  came from a Bundle entry with a ``fullUrl`` carries it under :data:`FULL_URL_KEY`, so
  ``urn:uuid:`` references can be resolved later from the list alone.
- :func:`build_timeline` picks the patient, keeps the resources about them, resolves references
  (``Type/id``, ``urn:uuid:`` through ``fullUrl``, contained ``#id``) and maps each resource to a
  typed item, converting units (:mod:`igwatch.fhir.units`) and classifying codes
  (:mod:`igwatch.fhir.terminology`).

Malformed input never raises anything but :class:`~igwatch.errors.InputRefused`, and that only for
the whole-input cases (not FHIR, no patient or several without a choice, an unknown patient, a
missing file). Everything else becomes a data issue or is skipped. The walk is plain dict access
with defensive accessors; no model validation on this path.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Final, TypeGuard

from igwatch.errors import InputRefused
from igwatch.fhir import terminology as tx
from igwatch.fhir.inflate import inflate_document
from igwatch.fhir.units import UnitError, UnitKind, quantity_value
from igwatch.timeline import (
    DataIssue,
    Diagnosis,
    Infection,
    IssueSeverity,
    LabKind,
    LabResult,
    MedicationCategory,
    MedicationRecord,
    MedicationResource,
    Patient,
    Route,
    SerologyOrder,
    Severity,
    Sex,
    Timeline,
    Vaccination,
)

#: Key under which :func:`parse_input` keeps a resource's Bundle ``entry.fullUrl``.
FULL_URL_KEY: Final = "__igwatch_fullUrl"

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
_ACT_CODE_SYSTEMS: Final = frozenset(
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
_SKIP_RESULT_STATUSES: Final = frozenset({"entered-in-error", "cancelled"})

_MEDICATION_TYPES: Final[frozenset[str]] = frozenset(
    {"MedicationStatement", "MedicationRequest", "MedicationAdministration"}
)


# --------------------------------------------------------------------------- parsing the input


def read_path(path: str | Path) -> bytes:
    """The bytes of an input file; a missing or unreadable file is refused, naming the path."""
    p = Path(path)
    try:
        return p.read_bytes()
    except FileNotFoundError:
        raise InputRefused(f"{p}: no such file") from None
    except IsADirectoryError:
        raise InputRefused(f"{p}: is a directory, not a FHIR file") from None
    except OSError as exc:
        raise InputRefused(f"{p}: cannot be read ({exc.strerror or exc})") from None


def parse_input(data: bytes, source: str) -> list[dict[str, Any]]:
    """The resources in ``data`` (a Bundle, one resource, or NDJSON; gzip allowed), flattened.

    ``source`` names the input in refusal messages (e.g. the file name). Resources from Bundle
    entries keep their ``fullUrl`` under :data:`FULL_URL_KEY`.
    """
    if data[:2] == b"\x1f\x8b":
        data = inflate_document(data, source)  # within a limit: a small file cannot exhaust memory
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputRefused(f"{source}: not FHIR JSON (not UTF-8 text)") from None
    if not text.strip():
        raise InputRefused(f"{source}: empty input, not FHIR JSON")
    try:
        whole = json.loads(text)
    except (ValueError, RecursionError):  # ValueError covers JSONDecodeError and over-long integers
        whole = None
        lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
        if len(lines) <= 1:
            raise InputRefused(f"{source}: not valid JSON") from None
        return _parse_ndjson(lines, source)
    if not isinstance(whole, dict):
        raise InputRefused(f"{source}: not FHIR JSON (expected a JSON object, a Bundle or a resource)")
    if not isinstance(whole.get("resourceType"), str):
        raise InputRefused(f"{source}: not FHIR JSON (no resourceType)")
    resources = resources_from_json(whole)
    if not resources:
        raise InputRefused(f"{source}: a Bundle with no resources")
    return resources


def _parse_ndjson(lines: list[tuple[int, str]], source: str) -> list[dict[str, Any]]:
    resources: list[dict[str, Any]] = []
    for number, line in lines:
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError):  # ValueError covers JSONDecodeError and over-long integers
            raise InputRefused(f"{source} line {number}: not valid JSON") from None
        if not isinstance(obj, dict):
            raise InputRefused(f"{source} line {number}: not a JSON object")
        if not isinstance(obj.get("resourceType"), str):
            raise InputRefused(f"{source} line {number}: no resourceType")
        resources.extend(resources_from_json(obj))
    if not resources:
        raise InputRefused(f"{source}: no resources")
    return resources


def resources_from_json(obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Flatten one parsed JSON object: a Bundle's entries (nested Bundles too), or the resource."""
    out: list[dict[str, Any]] = []
    _flatten(obj, None, out, depth=0)
    return out


def _flatten(obj: Mapping[str, Any], full_url: str | None, out: list[dict[str, Any]], depth: int) -> None:
    if depth > 32:  # absurdly nested bundles: stop rather than recurse without end
        return
    if obj.get("resourceType") == "Bundle":
        for entry in _list(obj.get("entry")):
            entry_obj = _obj(entry)
            if entry_obj is None:
                continue
            resource = _obj(entry_obj.get("resource"))
            if resource is None or not isinstance(resource.get("resourceType"), str):
                continue
            _flatten(resource, _str(entry_obj.get("fullUrl")), out, depth + 1)
        return
    resource = dict(obj)
    if full_url:
        resource[FULL_URL_KEY] = full_url
    out.append(resource)


# --------------------------------------------------------------------------- small accessors


# JSON values that are never objects: they skip the Mapping ABC check, which is slow for them.
_NOT_OBJECT_TYPES: Final = frozenset({type(None), str, int, float, bool, list})


def _is_obj(value: object) -> TypeGuard[Mapping[str, Any]]:
    # JSON objects are dicts; anything else that is not a plain JSON value takes the ABC check.
    if type(value) is dict:
        return True
    if type(value) in _NOT_OBJECT_TYPES:
        return False
    return isinstance(value, Mapping)


def _obj(value: object) -> Mapping[str, Any] | None:
    return value if _is_obj(value) else None


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _objs(value: object) -> Iterator[Mapping[str, Any]]:
    """The objects of a list (or a lone object), skipping anything else."""
    if _is_obj(value):
        yield value
        return
    for item in _list(value):
        if _is_obj(item):
            yield item


def _str(value: object) -> str | None:
    if isinstance(value, str):
        stripped = value.strip()
        return stripped or None
    return None


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _get(obj: object, *path: str | int) -> Any:
    """Walk ``obj`` by keys and list indices; None as soon as a step does not fit."""
    current: Any = obj
    for step in path:
        if isinstance(step, int):
            if not isinstance(current, list) or not -len(current) <= step < len(current):
                return None
            current = current[step]
        elif type(current) is dict or _is_obj(current):  # dict first: no call in the usual case
            current = current.get(step)
        else:
            return None
    return current


_DATE_RE: Final = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(?:T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)?$")
#: The time part of a dateTime (after the ``T``), as :data:`_DATE_RE` allows it.
_TIME_RE: Final = re.compile(r"[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?")


@lru_cache(maxsize=16_384)
def _parse_date_text(text: str) -> date | None:
    match = _DATE_RE.match(text.strip())
    if match is None:
        return None
    year, month, day = match.group(1), match.group(2), match.group(3)
    if "T" in text and day is None:  # a time needs a full date
        return None
    try:
        return date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        return None


def parse_date(value: object) -> date | None:
    """A FHIR date / dateTime / instant as its calendar date (the date as written, no timezone
    shift); partial dates count from their first day; anything else is None."""
    text = _str(value)
    if text is None:
        return None
    if len(text) > 11 and text[10] == "T":
        # A full dateTime: check its time here and cache only its date, since nearly every
        # instant is distinct and would crowd the cache.
        return _parse_date_text(text[:10]) if _TIME_RE.fullmatch(text, 11) else None
    return _parse_date_text(text)


def _codings(concept: object) -> list[Mapping[str, Any]]:
    """The coding objects of a CodeableConcept (a lone object counts as a list of one)."""
    codings = concept.get("coding") if _is_obj(concept) else None
    if _is_obj(codings):
        return [codings]
    return [c for c in codings if _is_obj(c)] if isinstance(codings, list) else []


def _reference_text(reference: object) -> str | None:
    """The target of a Reference object, or of a reference given as a bare string."""
    if isinstance(reference, str):
        return _str(reference)
    return _str(reference.get("reference")) if _is_obj(reference) else None


def _has_code(concept: object, system: str, codes: Collection[str]) -> str | None:
    for coding in _codings(concept):
        code = _str(coding.get("code"))
        if code in codes and tx.canonical_system(coding.get("system")) == system:
            return code
    return None


def _cvx_code(concept: object) -> str | None:
    for coding in _codings(concept):
        if tx.canonical_system(coding.get("system")) == tx.CVX:
            code = _str(coding.get("code"))
            if code:
                return code
    return None


def _first_code(concept: object) -> str | None:
    for coding in _codings(concept):
        code = _str(coding.get("code"))
        if code is not None:
            return code
    return None


def _concept_text(concept: object, matches: Iterable[tx.ConceptMatch] = ()) -> str:
    """The record's own text or display; else the display a value set gives its code; else the code."""
    obj = _obj(concept)
    if obj is not None:
        text = tx.concept_text(obj)
        if text is not None:
            return text
    for m in matches:
        if not m.by_name and m.display:
            return m.display
    return tx.concept_label(concept)


def _first_lab(matches: tuple[tx.ConceptMatch, ...]) -> tx.ConceptMatch | None:
    """The first match that makes an Observation a lab result (rather than viral serology)."""
    for m in matches:
        if m.valueset in LAB_VALUESETS:
            return m
    return None


def _range_bound(quantity: object, unit_kind: UnitKind) -> float | None:
    """A reference range bound in igwatch units; a bound we cannot read is left out, never guessed."""
    if not _is_obj(quantity):
        return None
    try:
        return quantity_value(quantity, unit_kind)
    except (UnitError, ValueError):
        return None


# --------------------------------------------------------------------------- the input index


@dataclass
class _Index:
    """Every resource of the input, by ``Type/id`` and by ``fullUrl``."""

    by_key: dict[tuple[str, str], Mapping[str, Any]] = field(default_factory=dict)
    by_url: dict[str, Mapping[str, Any]] = field(default_factory=dict)

    def add(self, resource: Mapping[str, Any], rtype: str | None, rid: str | None, url: str | None) -> None:
        """Index ``resource`` under its (already read) type, id and ``fullUrl``; first one wins."""
        if rtype and rid:
            self.by_key.setdefault((rtype, rid), resource)
        if url:
            self.by_url.setdefault(url, resource)

    def resolve(
        self, reference: object, container: Mapping[str, Any] | None = None
    ) -> Mapping[str, Any] | None:
        """The resource a Reference (object or string) points to, or None."""
        ref = _reference_text(reference)
        if ref is None:
            return None
        if ref.startswith("#"):
            if container is None:
                return None
            wanted = ref[1:]
            for contained in _objs(container.get("contained")):
                if _str(contained.get("id")) == wanted:
                    return contained
            return None
        found = self.by_url.get(ref)
        if found is not None:
            return found
        if ref.startswith(("urn:uuid:", "urn:oid:")):
            return None
        parts = ref.split("/_history/")[0].rstrip("/").split("/")
        if len(parts) >= 2:
            return self.by_key.get((parts[-2], parts[-1]))
        return None


def _key(resource: Mapping[str, Any]) -> str:
    return _record_key(
        _str(resource.get("resourceType")), _str(resource.get("id")), _str(resource.get(FULL_URL_KEY))
    )


def _record_key(rtype: str | None, rid: str | None, url: str | None, position: int | None = None) -> str:
    """A record's key: ``Type/id``, else its ``fullUrl``, else ``Type/(no id)``. Given the
    record's ``position`` in the input, a record with neither id nor ``fullUrl`` is keyed by it, so
    that two of them are not taken for one."""
    if rid:
        return f"{rtype or 'Resource'}/{rid}"
    if url:
        return url
    return f"{rtype or 'Resource'}/(no id{'' if position is None else f', record {position}'})"


# --------------------------------------------------------------------------- patient selection


def _patients(resources: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    seen: dict[str, Mapping[str, Any]] = {}
    anonymous: list[Mapping[str, Any]] = []
    for resource in resources:
        if resource.get("resourceType") != "Patient":
            continue
        pid = _str(resource.get("id"))
        if pid is None:
            anonymous.append(resource)
        else:
            seen.setdefault(pid, resource)
    return list(seen.values()) + anonymous


def _choose_patient(patients: list[Mapping[str, Any]], patient_id: str | None) -> Mapping[str, Any]:
    ids = [_str(p.get("id")) or "(no id)" for p in patients]
    if patient_id is not None:
        for patient, pid in zip(patients, ids, strict=True):
            if pid == patient_id:
                return patient
        if not patients:
            raise InputRefused(f"patient {patient_id} is not in the input (it has no Patient)")
        raise InputRefused(f"patient {patient_id} is not in the input (patients: {_id_list(ids)})")
    if not patients:
        raise InputRefused("no Patient in the input")
    if len(patients) > 1:
        raise InputRefused(
            f"{len(patients)} patients in the input ({_id_list(ids)}); choose one with --patient"
        )
    return patients[0]


def _id_list(ids: list[str], limit: int = 10) -> str:
    shown = ", ".join(ids[:limit])
    return shown if len(ids) <= limit else f"{shown}, … {len(ids) - limit} more"


# --------------------------------------------------------------------------- the builder


class _Builder:
    def __init__(self, resources: list[dict[str, Any]], patient_id: str | None) -> None:
        self.resources = [r for r in resources if type(r) is dict or isinstance(r, Mapping)]
        # One pass reads each resource's type, id and fullUrl for both the index and its key.
        self.index = _Index()
        self._keys: list[str] = []
        for position, resource in enumerate(self.resources, start=1):
            rtype = _str(resource.get("resourceType"))
            rid = _str(resource.get("id"))
            url = _str(resource.get(FULL_URL_KEY))
            self.index.add(resource, rtype, rid, url)
            self._keys.append(_record_key(rtype, rid, url, position))
        patients = _patients(self.resources)
        self.patient_resource = _choose_patient(patients, patient_id)
        self.single_patient = len(patients) == 1
        self.patient_keys = {_key(self.patient_resource)}
        url = _str(self.patient_resource.get(FULL_URL_KEY))
        if url:
            self.patient_keys.add(url)
        self.terminology = tx.get_terminology()
        self.timeline = Timeline(patient=self._patient())
        self._seen: set[str] = set()
        self._ref_cache: dict[str, bool] = {}

    # -- helpers -----------------------------------------------------------------------------

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
            return self.single_patient or resource.get("resourceType") not in _CLINICAL_TYPES
        for ref in (subject, patient):
            if ref is None:
                continue
            text = _reference_text(ref)
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
            target.get("resourceType") == "Patient" and _key(target) in self.patient_keys
        )

    def match(self, concept: object, within: frozenset[str]) -> tuple[tx.ConceptMatch, ...]:
        return self.terminology.match(concept, within)

    # -- patient -----------------------------------------------------------------------------

    def _patient(self) -> Patient:
        p = self.patient_resource
        gender = _str(p.get("gender"))
        sex: Sex | None = "male" if gender == "male" else "female" if gender == "female" else None
        died = p.get("deceasedDateTime")
        died_on = parse_date(died)
        if died is not None and died_on is None:
            self.issue(
                "warning",
                "date-missing",
                "Patient.deceasedDateTime cannot be read as a date: the patient is taken as deceased",
                _key(p),
            )
        return Patient(
            id=_str(p.get("id")) or _key(p),
            birth_date=parse_date(p.get("birthDate")),
            sex=sex,
            name=_patient_name(p),
            deceased=p.get("deceasedBoolean") is True or died is not None,
            deceased_date=died_on,
        )

    # -- walk --------------------------------------------------------------------------------

    def build(self) -> Timeline:
        for resource, key in zip(self.resources, self._keys, strict=True):
            rtype = resource.get("resourceType")
            handler = _HANDLERS.get(rtype) if isinstance(rtype, str) else None
            if handler is None:
                continue
            if key in self._seen:
                continue
            if not self.about_patient(resource):
                continue
            self._seen.add(key)
            handler(self, resource, key)
        return self.timeline

    # -- Observation -------------------------------------------------------------------------

    def observation(self, obs: Mapping[str, Any], key: str) -> None:
        status = _str(obs.get("status"))
        if status in _SKIP_RESULT_STATUSES:
            return
        code = obs.get("code")
        matches = self.match(code, _OBSERVATION_SETS)
        if not matches:
            return
        when = parse_date(obs.get("effectiveDateTime")) or parse_date(_get(obs, "effectivePeriod", "start"))
        when = when or parse_date(obs.get("issued"))
        display = _concept_text(code, matches)
        lab = _first_lab(matches)
        if lab is None:
            by_name = all(m.by_name for m in matches)
            self.timeline.serology.append(
                SerologyOrder(
                    id=key,
                    date=when,
                    status=status,
                    display=display,
                    recognised_by_name=by_name,
                )
            )
            if by_name:
                self.by_name(key, "viral serology result", display)
            return
        kind = LAB_VALUESETS[lab.valueset]
        by_name = lab.by_name
        if when is None:
            self.issue("error", "date-missing", f"{kind} result has no usable date; ignored", key)
            self.timeline.unusable_labs.append((kind, key, None))
            return
        quantity = _obj(obs.get("valueQuantity"))
        if quantity is None or _num(quantity.get("value")) is None:
            return  # no numeric result (pending, text, data absent): not a usable value
        unit_kind = LAB_UNIT_KINDS[kind]
        try:
            value = quantity_value(quantity, unit_kind)
        except UnitError as exc:
            self.issue("error", exc.issue_code, f"{kind} result: {exc}; ignored", key)
            self.timeline.unusable_labs.append((kind, key, when))
            return
        except ValueError:
            return
        low, high = PLAUSIBLE[kind]
        if not low <= value <= high:
            self.issue(
                "error",
                "value-implausible",
                f"{kind} {value:g} outside the plausible range {low:g}–{high:g}; ignored",
                key,
            )
            self.timeline.unusable_labs.append((kind, key, when))
            return
        comparator = _str(quantity.get("comparator"))
        ref_low, ref_high = self._reference_range(obs, unit_kind)
        label = display
        if kind == "pneumococcal-serotype":
            label = lab.get("serotype") or _serotype_label(display)
        self.timeline.labs.append(
            LabResult(
                id=key,
                kind=kind,
                date=when,
                value=value,
                comparator=comparator if comparator in COMPARATORS else None,
                reference_low=ref_low,
                reference_high=ref_high,
                label=label,
                recognised_by_name=by_name,
            )
        )
        if by_name:
            self.by_name(key, f"{kind} result", display)

    @staticmethod
    def _reference_range(obs: Mapping[str, Any], unit_kind: UnitKind) -> tuple[float | None, float | None]:
        first = next(_objs(obs.get("referenceRange")), None)
        if first is None:
            return None, None
        return _range_bound(first.get("low"), unit_kind), _range_bound(first.get("high"), unit_kind)

    # -- Condition ---------------------------------------------------------------------------

    def condition(self, cond: Mapping[str, Any], key: str) -> None:
        verification = _first_code(cond.get("verificationStatus"))
        if verification == "entered-in-error":
            return
        code = cond.get("code")
        matches = self.match(code, CONDITION_SETS)
        if not matches:
            return
        sets = {m.valueset for m in matches}
        onset = parse_date(cond.get("onsetDateTime")) or parse_date(_get(cond, "onsetPeriod", "start"))
        recorded = parse_date(cond.get("recordedDate"))
        abatement = parse_date(cond.get("abatementDateTime")) or parse_date(
            _get(cond, "abatementPeriod", "start")
        )
        clinical = _first_code(cond.get("clinicalStatus"))
        display = _concept_text(code, matches)
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
        for evidence in _objs(cond.get("evidence")):
            sources.extend(_objs(evidence.get("code")))
            for detail in _objs(evidence.get("detail")):
                target = self.index.resolve(detail, cond)
                if target is not None and target.get("resourceType") == "Observation":
                    if _str(target.get("status")) in _SKIP_RESULT_STATUSES:
                        continue
                    sources.append(target.get("valueCodeableConcept"))
        for source in sources:
            for m in self.match(source, _ORGANISM_SETS):
                organism = m.get("organism")
                if organism:
                    organisms.add(organism)
                if m.get("bacterial") == "true":
                    bacterial = True
        severity: Severity | None = None
        for coding in _codings(cond.get("severity")):
            code = _str(coding.get("code"))
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
                encounter_key = _key(target)
                inpatient = _is_inpatient(target)
            else:
                encounter_key = _str(_get(encounter_ref, "reference"))
        insufficient = any(
            ext.get("url") == ANTIBIOTIC_RESPONSE_URL and _str(ext.get("valueCode")) == "insufficient"
            for ext in _objs(cond.get("extension"))
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

    # -- medications -------------------------------------------------------------------------

    def _drug(self, resource: Mapping[str, Any]) -> object:
        concept = resource.get("medicationCodeableConcept")
        if concept is not None:
            return concept
        ref = resource.get("medicationReference")
        medication = _get(resource, "medication")
        if ref is None and isinstance(medication, Mapping):  # R5 CodeableReference
            if medication.get("concept") is not None:
                return medication.get("concept")
            ref = medication.get("reference")
        if ref is None:
            return None
        target = self.index.resolve(ref, resource)
        if target is not None and target.get("resourceType") == "Medication":
            return target.get("code")
        display = _str(_get(ref, "display"))
        return {"text": display} if display else None

    def medication(self, med: Mapping[str, Any], key: str) -> None:
        rtype = med.get("resourceType")
        if rtype not in _MEDICATION_TYPES:
            return
        status = _str(med.get("status"))
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
        med_category: MedicationCategory = _CATEGORY[category]
        dosage = self._dosage(med, resource_type)
        start, end, authored = self._med_dates(med, resource_type, dosage)
        dose_g: float | None = None
        if med_category == "immune-globulin":
            dose_g = self._dose_g(dosage, resource_type, key)
        route = _route(_get(dosage, "route")) or _route_from_text(_concept_text(drug))
        if route is None and med_category == "immune-globulin":
            product_route = chosen.get("route") or next(
                (m.get("route") for m in matches if m.get("route")), None
            )
            route = "IV" if product_route == "IV" else "SC" if product_route == "SC" else None
        display = _concept_text(drug, matches)
        record = MedicationRecord(
            id=key,
            resource_type=resource_type,
            category=med_category,
            agent=agent,
            display=display,
            status=status,
            intent=_str(med.get("intent")) if resource_type == "MedicationRequest" else None,
            start=start,
            end=end,
            authored=authored,
            dose_g=dose_g,
            interval_days=_interval_days(_get(dosage, "timing", "repeat")),
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
            return _obj(med.get("dosage"))
        if rtype == "MedicationRequest":
            return next(_objs(med.get("dosageInstruction")), None)
        return next(_objs(med.get("dosage")), None)

    @staticmethod
    def _med_dates(
        med: Mapping[str, Any], rtype: MedicationResource, dosage: Mapping[str, Any] | None
    ) -> tuple[date | None, date | None, date | None]:
        if rtype == "MedicationRequest":
            bounds = _get(dosage, "timing", "repeat", "boundsPeriod")
            return (
                parse_date(_get(bounds, "start")),
                parse_date(_get(bounds, "end")),
                parse_date(med.get("authoredOn")),
            )
        if rtype == "MedicationAdministration":
            start = parse_date(med.get("effectiveDateTime")) or parse_date(
                _get(med, "effectivePeriod", "start")
            )
            start = (
                start or parse_date(med.get("occurenceDateTime")) or parse_date(med.get("occurrenceDateTime"))
            )
            return start, None, None
        start = parse_date(med.get("effectiveDateTime")) or parse_date(_get(med, "effectivePeriod", "start"))
        return start, parse_date(_get(med, "effectivePeriod", "end")), None

    def _dose_g(self, dosage: Mapping[str, Any] | None, rtype: MedicationResource, key: str) -> float | None:
        if dosage is None:
            return None
        quantity = dosage.get("dose") if rtype == "MedicationAdministration" else None
        if quantity is None:
            quantity = _get(dosage, "doseAndRate", 0, "doseQuantity")
        if _obj(quantity) is None or _num(_get(quantity, "value")) is None:
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
        for ref in _objs(med.get("reasonReference")):
            target = self.index.resolve(ref, med)
            if target is not None:
                if target.get("resourceType") == "Condition":
                    out.append(_key(target))
                continue
            text = _str(ref.get("reference"))
            if text and "Condition/" in text:
                out.append("Condition/" + text.split("Condition/", 1)[1].split("/_history/")[0])
        return tuple(dict.fromkeys(out))

    # -- vaccines ----------------------------------------------------------------------------

    def _vaccine(self, concept: object, resource: Mapping[str, Any], key: str, ordered: bool) -> bool:
        """If ``concept`` is a vaccine (a CVX code, or a live product's name), record it and say so."""
        cvx = _cvx_code(concept)
        matches = self.match(concept, VACCINE_SETS)
        if cvx is None and not matches:
            return False
        live = [m for m in matches if m.valueset == LIVE_VACCINE_VALUESET]
        by_name = bool(live) and all(m.by_name for m in live)
        rtype = resource.get("resourceType")
        if rtype == "Immunization":
            when = parse_date(resource.get("occurrenceDateTime"))
        elif rtype == "ServiceRequest":
            when = parse_date(resource.get("occurrenceDateTime")) or parse_date(
                _get(resource, "occurrencePeriod", "start")
            )
            when = when or parse_date(resource.get("authoredOn"))
        elif rtype == "MedicationRequest":
            when = parse_date(
                _get(resource, "dosageInstruction", 0, "timing", "repeat", "boundsPeriod", "start")
            )
            when = when or parse_date(resource.get("authoredOn"))
        else:
            when = parse_date(resource.get("effectiveDateTime")) or parse_date(
                _get(resource, "effectivePeriod", "start")
            )
        display = _concept_text(concept, matches)
        self.timeline.vaccinations.append(
            Vaccination(
                id=key,
                date=when,
                status=_str(resource.get("status")),
                display=display,
                cvx=cvx,
                live=bool(live),
                pneumococcal_polysaccharide=any(m.valueset == PPSV_VALUESET for m in matches),
                ordered=ordered,
                recognised_by_name=by_name,
            )
        )
        if by_name:
            self.by_name(key, "live vaccine", display)
        return True

    def immunization(self, imm: Mapping[str, Any], key: str) -> None:
        if _str(imm.get("status")) in ("not-done", "entered-in-error"):
            return
        concept = imm.get("vaccineCode")
        if not self._vaccine(concept, imm, key, ordered=False):
            # A vaccine with no CVX code and no live name: still a vaccination given.
            self.timeline.vaccinations.append(
                Vaccination(
                    id=key,
                    date=parse_date(imm.get("occurrenceDateTime")),
                    status=_str(imm.get("status")),
                    display=_concept_text(concept),
                    cvx=None,
                    live=False,
                )
            )

    # -- ServiceRequest ----------------------------------------------------------------------

    def service_request(self, req: Mapping[str, Any], key: str) -> None:
        if _str(req.get("status")) == "entered-in-error":
            return
        code = req.get("code")
        if self._vaccine(code, req, key, ordered=True):
            return
        matches = self.match(code, _SEROLOGY_SETS)
        if not matches:
            return
        by_name = all(m.by_name for m in matches)
        when = parse_date(req.get("occurrenceDateTime")) or parse_date(_get(req, "occurrencePeriod", "start"))
        when = when or parse_date(req.get("authoredOn"))
        display = _concept_text(code)
        self.timeline.serology.append(
            SerologyOrder(
                id=key, date=when, status=_str(req.get("status")), display=display, recognised_by_name=by_name
            )
        )
        if by_name:
            self.by_name(key, "viral serology order", display)


_OBSERVATION_SETS: Final = frozenset({*LAB_VALUESETS, SEROLOGY_VALUESET})
CONDITION_SETS: Final = frozenset({INFECTION_VALUESET, *INFECTION_CONCEPTS, *DIAGNOSIS_VALUESETS})
_ORGANISM_SETS: Final = frozenset(ORGANISM_VALUESETS)
VACCINE_SETS: Final = frozenset({LIVE_VACCINE_VALUESET, PPSV_VALUESET})
_SEROLOGY_SETS: Final = frozenset({SEROLOGY_VALUESET})

_CATEGORY: Final[dict[str, MedicationCategory]] = {
    "anti-cd20": "anti-cd20",
    # Revision 2: every B-cell-depleting agent is population K (a site value set may still say so).
    "other-b-cell-depleting": "anti-cd20",
    "immune-globulin": "immune-globulin",
    "antibiotic": "antibiotic",
}

_CLINICAL_TYPES: Final = frozenset(
    {"Observation", "Condition", "Immunization", "ServiceRequest", *_MEDICATION_TYPES}
)

_HANDLERS: Final = {
    "Observation": _Builder.observation,
    "Condition": _Builder.condition,
    "MedicationStatement": _Builder.medication,
    "MedicationRequest": _Builder.medication,
    "MedicationAdministration": _Builder.medication,
    "Immunization": _Builder.immunization,
    "ServiceRequest": _Builder.service_request,
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


#: A name longer than this is cut (with "…") wherever igwatch shows it: a worklist row must not
#: carry megabytes because one record's name field does.
MAX_NAME_CHARS = 200


def _patient_name(patient: Mapping[str, Any]) -> str:
    for name in _objs(patient.get("name")):
        text = _str(name.get("text"))
        if not text:
            given = [g for g in (_str(x) for x in _list(name.get("given"))) if g]
            family = _str(name.get("family"))
            text = " ".join([*given, family] if family else given)
        if text:
            return text if len(text) <= MAX_NAME_CHARS else text[: MAX_NAME_CHARS - 1] + "…"
    return ""


def _is_inpatient(encounter: Mapping[str, Any]) -> bool:
    klass = encounter.get("class")
    candidates: list[Mapping[str, Any]] = []
    for item in _objs(klass):  # R4: a Coding; R5: a list of CodeableConcepts
        if "coding" in item:
            candidates.extend(_codings(item))
        else:
            candidates.append(item)
    for coding in candidates:
        code = _str(coding.get("code"))
        system = _str(coding.get("system"))
        if code in INPATIENT_CLASSES and (system is None or system in _ACT_CODE_SYSTEMS):
            return True
    return False


def _route(concept: object) -> Route | None:
    code = _has_code(concept, tx.SNOMED, ROUTE_CODES)
    if code is not None:
        return ROUTE_CODES[code]
    obj = _obj(concept)
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
    if not _is_obj(repeat):
        return None
    period = _num(repeat.get("period"))
    unit = _str(repeat.get("periodUnit"))
    if period is None or period <= 0 or unit not in PERIOD_UNIT_DAYS:
        return None
    frequency = _num(repeat.get("frequency"))
    if frequency is None:
        frequency = 1.0
    if frequency <= 0:
        return None
    return period * PERIOD_UNIT_DAYS[unit] / frequency


def _reason_texts(med: Mapping[str, Any]) -> tuple[str, ...]:
    texts: list[str] = []
    for concept in _objs(med.get("reasonCode")):
        texts.extend(tx.concept_texts(concept))
    return tuple(dict.fromkeys(texts))


_SEROTYPE_PAREN_RE: Final = re.compile(r"\(\s*(\d{1,2}[A-Z]?)\s*\)")
_SEROTYPE_RE: Final = re.compile(r"(?i:serotype|sero-type|type)\s+(\d{1,2}[A-Za-z]?)\b")


def _serotype_label(text: str) -> str:
    """The Danish serotype label in a result name ("… Danish serotype 6B IgG …" → "6B"; US
    "type 26 (6B)" → "6B"); the text itself when none is found."""
    paren = _SEROTYPE_PAREN_RE.search(text)
    if paren is not None:
        return paren.group(1).upper()
    found = _SEROTYPE_RE.search(text)
    if found is not None:
        return found.group(1).upper()
    return text


# --------------------------------------------------------------------------- public API


def build_timeline(resources: list[dict[str, Any]], patient_id: str | None = None) -> Timeline:
    """The :class:`Timeline` of the one patient in ``resources`` (or the one ``patient_id`` names).

    Refuses (:class:`InputRefused`) when there is no Patient, several and none chosen, or the chosen
    one is absent. Records of other patients are left out; everything unreadable becomes a data
    issue or is skipped.
    """
    if not isinstance(resources, list):
        raise InputRefused("not FHIR: expected a list of resources")
    return _Builder(resources, patient_id).build()


def load_timeline(path: str | Path, patient_id: str | None = None) -> Timeline:
    """Read a file (Bundle, resource or NDJSON, gzip allowed) and build its patient's timeline."""
    p = Path(path)
    resources = parse_input(read_path(p), p.name)
    try:
        return build_timeline(resources, patient_id)
    except InputRefused as exc:
        raise InputRefused(f"{p.name}: {exc}") from None
