"""The skip before parsing changes nothing (issue 15, item 1).

The screen passes over a record before any JSON work when no view reads its type, or when its raw
line holds none of the value sets' codes (ICD-10 by prefix) and name words: the prefilter, one
regex per type built from the whole loaded vocabulary. Ingest, for its part, reads every record
and drops the ones it cannot use after a cached look-up. The two must agree: on every vignette
(as written, and with a real patient's records of the shared Synthea export mixed in, since the
vignettes hold few records igwatch does not read), on each Synthea patient, and on 10,000
synthetic patients, a patient's records without the ones the prefilter skips give the same
timeline (data issues included) and the same assessment as all of them.
"""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import pytest

from igwatch.cdshooks.cards import parse_request, request_resources
from igwatch.engine import assess
from igwatch.fhir.ingest import FULL_URL_KEY, build_timeline, resources_from_json
from igwatch.knowledge.profile import Profile, load_profile
from igwatch.population.extract import VIEW_FILES, prefilter_regex, vocabulary
from igwatch.synth.cohort import generate_patient
from tests.realdata.conftest import REAL_EXPORT, RXNORM, export_resources

VIGNETTES = Path(__file__).parents[1] / "vignettes"
CASES = sorted([*(VIGNETTES / "cases").glob("*.json"), *(VIGNETTES / "shared").glob("*.json")])
#: The cases with records to skip: not the ones whose input is refused before any record is read.
CASES_WITH_RECORDS = [p for p in CASES if "raw" not in json.loads(p.read_text(encoding="utf-8"))]
SYNTHETIC_PATIENTS = 10_000
CHUNKS = 8
AS_OF = date(2026, 10, 15)


@cache
def prefilters() -> dict[str, str | None]:
    vocab = vocabulary()
    return {rtype: prefilter_regex(rtype, vocab) for rtype in VIEW_FILES}


@cache
def duckdb_connection() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


def screen_reads(resources: list[dict[str, Any]]) -> list[bool]:
    """For each record, whether the screen parses it: a type a view reads, and a line its
    prefilter keeps, matched by DuckDB's RE2 as in the screen. The line is written as an export
    writes it: compact UTF-8 JSON, without ingest's own fullUrl key."""
    reads = [r.get("resourceType") in VIEW_FILES for r in resources]
    by_type: dict[str, list[int]] = {}
    for position, resource in enumerate(resources):
        if reads[position] and prefilters()[resource["resourceType"]] is not None:
            by_type.setdefault(resource["resourceType"], []).append(position)
    for rtype, positions in by_type.items():
        lines = [
            json.dumps(
                {k: v for k, v in resources[p].items() if k != FULL_URL_KEY},
                ensure_ascii=False,
                separators=(",", ":"),
            )
            for p in positions
        ]
        found = duckdb_connection().execute(
            "SELECT list_transform(?::VARCHAR[], lambda line: regexp_matches(line, ?))",
            [lines, prefilters()[rtype]],
        )
        row = found.fetchall()[0][0]
        for position, kept in zip(positions, row, strict=True):
            reads[position] = kept
    return reads


def outcome(resources: list[dict[str, Any]], as_of: date, profile: Profile) -> tuple[Any, dict[str, Any]]:
    timeline = build_timeline(resources)
    return timeline, assess(timeline, as_of, profile).to_dict()


def assert_skip_changes_nothing(
    resources: list[dict[str, Any]],
    as_of: date,
    profile: Profile,
    label: str,
    reads: list[bool] | None = None,
) -> int:
    """Asserts the outcome is the same without the skipped records; returns how many were skipped.
    ``reads`` is :func:`screen_reads` of ``resources`` when already known."""
    reads = screen_reads(resources) if reads is None else reads
    kept = [r for r, read in zip(resources, reads, strict=True) if read]
    full_timeline, full_answer = outcome(resources, as_of, profile)
    kept_timeline, kept_answer = outcome(kept, as_of, profile)
    assert kept_timeline.data_issues == full_timeline.data_issues, label
    assert kept_timeline == full_timeline, label
    assert kept_answer == full_answer, label
    return len(resources) - len(kept)


def case_resources(case: dict[str, Any]) -> list[dict[str, Any]]:
    if case.get("hook_request"):
        return request_resources(parse_request(case["hook_request"]))[0]
    return resources_from_json(case["bundle"])


@cache
def real_records() -> list[dict[str, Any]]:
    """The records of one patient of the Synthea export (its Patient left out): every kind a
    real EHR holds, most of which igwatch does not read."""
    by_owner: dict[str, list[dict[str, Any]]] = {}
    for resource in export_resources(REAL_EXPORT):
        reference = str((resource.get("subject") or resource.get("patient") or {}).get("reference", ""))
        if reference and resource.get("resourceType") != "Patient":
            by_owner.setdefault(reference, []).append(resource)
    return sorted(by_owner.values(), key=len)[len(by_owner) // 2]  # a middling record


def with_real_records(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The case's records with the real ones mixed in, each made about the case's patient."""
    patient = next(r for r in resources if r.get("resourceType") == "Patient")
    owner = {"reference": f"Patient/{patient['id']}"}
    mixed = list(resources)
    for number, record in enumerate(real_records()):
        record = {**record, "subject" if "subject" in record else "patient": owner}
        mixed.insert(number % (len(mixed) + 1), record)  # spread through the case's own records
    return mixed


def test_there_are_cases_and_a_prefilter_for_each_type() -> None:
    assert len(CASES_WITH_RECORDS) > 300
    assert prefilters()["Observation"] is not None  # the type where skipping pays


@pytest.mark.parametrize("path", CASES_WITH_RECORDS, ids=lambda p: p.stem)
def test_skipping_changes_no_vignette(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    resources = case_resources(case)
    profile = load_profile(case.get("profile") or "default")
    as_of = date.fromisoformat(case["as_of"])
    assert_skip_changes_nothing(resources, as_of, profile, path.stem)
    if sum(r.get("resourceType") == "Patient" for r in resources) == 1:
        skipped = assert_skip_changes_nothing(with_real_records(resources), as_of, profile, path.stem)
        assert skipped >= len(real_records()) // 2


def test_skipping_changes_no_real_patient() -> None:
    records = export_resources(REAL_EXPORT)
    profile = load_profile("default")
    skipped = 0
    for patient in (r for r in records if r.get("resourceType") == "Patient"):
        owner = f"Patient/{patient['id']}"
        own = [
            r
            for r in records
            if str((r.get("subject") or r.get("patient") or {}).get("reference", "")).endswith(patient["id"])
            or r is patient
        ]
        on_ofatumumab = {
            "resourceType": "MedicationStatement",
            "id": "ofa",
            "status": "active",
            "subject": {"reference": owner},
            "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "712566"}]},
            "effectivePeriod": {"start": "2020-01-01"},
        }
        skipped += assert_skip_changes_nothing(own, AS_OF, profile, owner)
        assert_skip_changes_nothing([*own, on_ofatumumab], AS_OF, profile, owner)
    assert skipped > len(records) // 2


@pytest.mark.slow
@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_skipping_changes_no_synthetic_patient(chunk: int) -> None:
    profile = load_profile("default")
    size = SYNTHETIC_PATIENTS // CHUNKS
    patients = [generate_patient(7, index, AS_OF) for index in range(chunk * size, (chunk + 1) * size)]
    every = [dict(r) for patient in patients for r in patient.resources]
    reads = screen_reads(every)  # one query per type for the whole chunk
    skipped = start = 0
    for patient in patients:
        stop = start + len(patient.resources)
        skipped += assert_skip_changes_nothing(
            every[start:stop], AS_OF, profile, patient.id, reads[start:stop]
        )
        start = stop
    total = sum(len(p.resources) for p in patients)
    assert skipped > total // 10, "the prefilter skipped almost nothing: the proof proves little"
