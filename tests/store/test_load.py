"""Loading FHIR files into the patient store and reading patients back, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from igwatch.engine import assess
from igwatch.errors import InputRefused
from igwatch.fhir.ingest import load_timeline
from igwatch.knowledge.profile import load_profile
from igwatch.store import (
    Database,
    LoadProgress,
    list_patients,
    load_path,
    patient_resources,
    patient_timeline,
)
from igwatch.store.patients import PatientNotFound
from tests.store.helpers import (
    EXAMPLE,
    bundle_vignettes,
    clear,
    renamed,
    resources,
    snapshot,
    vignette,
    write_bundle,
    write_ndjson,
)

P02 = "p02-k-two-severe-hib"
P02_ID = "pat-p02-k-two-severe-hib"


def _assessment(timeline: Any, case: dict[str, Any]) -> dict[str, Any]:
    when = date.fromisoformat(case["as_of"])
    result: dict[str, Any] = assess(timeline, when, load_profile(case["profile"]), today=when).to_dict()
    return result


def test_load_a_bundle(db: Database, tmp_path: Path) -> None:
    case = vignette(P02)
    events: list[LoadProgress] = []
    report = load_path(db, write_bundle(tmp_path / "p02.json", case["bundle"]), progress=events.append)
    assert (report.files, report.patients, report.resources, report.issues) == (
        1,
        1,
        len(case["bundle"]["entry"]),
        [],
    )
    assert events[-1].done and events[-1].resources == report.resources
    [row] = list_patients(db)
    assert (row.id, row.display_name, row.birth_date, row.gender) == (
        P02_ID,
        "Alex Example",
        date(1984, 5, 12),
        "female",
    )
    assert row.resources == len(case["bundle"]["entry"])
    assert row.loaded_at.tzinfo is not None
    stored = patient_resources(db, P02_ID)
    assert stored == resources(case["bundle"])  # the same JSON, in file order


def test_load_ndjson_plain_and_gzip(db: Database, tmp_path: Path) -> None:
    p02 = vignette(P02)["bundle"]
    p03 = vignette("p03-k-ivig-trough-low")["bundle"]
    report = load_path(db, write_ndjson(tmp_path / "a.ndjson", renamed(p02, "a-")))
    assert (report.files, report.patients, report.resources) == (1, 1, len(p02["entry"]))
    report = load_path(db, write_ndjson(tmp_path / "b.ndjson.gz", renamed(p03, "b-"), gz=True))
    assert (report.files, report.patients, report.resources) == (1, 1, len(p03["entry"]))
    assert [p.id for p in list_patients(db)] == [f"a-{P02_ID}", "b-pat-p03-k-ivig-trough-low"]
    assert len(patient_resources(db, "b-pat-p03-k-ivig-trough-low")) == len(p03["entry"])


def test_load_a_bulk_export_directory(db: Database, tmp_path: Path) -> None:
    # One file per resource type across patients, as a bulk $export writes them, plus its manifest.
    by_type: dict[str, list[dict[str, Any]]] = {}
    names = ["p01-k-low-igm-stable", P02, "p03-k-ivig-trough-low", "p05-d-suspected"]
    for n, name in enumerate(names):
        for resource in renamed(vignette(name)["bundle"], f"v{n}-"):
            by_type.setdefault(resource["resourceType"], []).append(resource)
    export = tmp_path / "export"
    export.mkdir()
    for rtype, items in by_type.items():
        write_ndjson(
            export / f"{rtype}.ndjson.gz" if rtype == "Observation" else export / f"{rtype}.ndjson", items
        )
    output = [
        {"type": rtype, "url": f"https://ehr.example/files/{path.name}"}
        for rtype in by_type
        for path in export.glob(f"{rtype}.ndjson*")
    ]
    (export / "manifest.json").write_text(
        json.dumps({"transactionTime": "2026-10-15T00:00:00Z", "output": output})
    )
    (export / "notes.txt").write_text("not read")
    report = load_path(db, export)
    assert report.files == len(by_type)
    assert report.patients == len(names)
    assert report.resources == sum(len(v) for v in by_type.values())
    assert report.issues == []
    patients = list_patients(db)
    assert len(patients) == len(names)
    # Each patient's records, gathered from several files, give the assessment of their own file.
    for n, name in enumerate(names):
        case = vignette(name)
        single = write_bundle(
            tmp_path / f"{name}.json",
            {**case["bundle"], "entry": [{"resource": r} for r in renamed(case["bundle"], f"v{n}-")]},
        )
        pid = next(r["id"] for r in renamed(case["bundle"], f"v{n}-") if r["resourceType"] == "Patient")
        assert _assessment(patient_timeline(db, pid), case) == _assessment(load_timeline(single), case)


def test_broken_ndjson_line_refuses_the_file_and_changes_nothing(db: Database, tmp_path: Path) -> None:
    load_path(db, write_bundle(tmp_path / "p02.json", vignette(P02)["bundle"]))
    before = snapshot(db)
    lines = [json.dumps(r) for r in renamed(vignette("p03-k-ivig-trough-low")["bundle"], "x-")]
    lines[2] = lines[2][:-7]  # line 3 cut short
    bad = tmp_path / "broken.ndjson"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputRefused) as caught:
        load_path(db, bad)
    assert str(caught.value) == f"{bad} line 3: not valid JSON"
    assert snapshot(db) == before


def test_bundle_with_a_non_object_entry_refuses_the_file(db: Database, tmp_path: Path) -> None:
    load_path(db, write_bundle(tmp_path / "p02.json", vignette(P02)["bundle"]))
    before = snapshot(db)
    bundle = copy.deepcopy(vignette("p03-k-ivig-trough-low")["bundle"])
    bundle["entry"].insert(1, "not an entry")
    bad = write_bundle(tmp_path / "bad-bundle.json", bundle)
    with pytest.raises(InputRefused) as caught:
        load_path(db, bad)
    assert str(caught.value) == f"{bad} entry 2: not a JSON object"
    assert snapshot(db) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty input, not FHIR JSON"),
        (b"[1, 2]", "not FHIR JSON (expected a JSON object, a Bundle or a resource)"),
        (
            b'{"resourceType": "Bundle", "entry": [{"resource": {"id": "x"}}]}',
            "entry 1: its resource is not a FHIR resource",
        ),
        (b'{"resourceType": "Bundle", "type": "collection"}', "a Bundle with no resources"),
        (
            b'{"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Bundle", "entry": [{}, 7]}}]}',
            "entry 1 > entry 2: not a JSON object",
        ),
        (
            b'{"resourceType": "Patient", "id": "p"}\n{"resourceType": "Observation", "id": "o"}\n"x"\n',
            "line 3: not a JSON object",
        ),
        (b"\x1f\x8b garbage", "not a valid gzip file"),
    ],
)
def test_other_refusals_name_the_file(db: Database, tmp_path: Path, content: bytes, message: str) -> None:
    bad = tmp_path / "input.json"
    bad.write_bytes(content)
    with pytest.raises(InputRefused) as caught:
        load_path(db, bad)
    assert str(caught.value).startswith(str(bad))
    assert message in str(caught.value)
    assert snapshot(db) == {"patients": [], "fhir_resources": []}


def test_a_refused_file_in_a_directory_stores_nothing_of_the_load(db: Database, tmp_path: Path) -> None:
    """A directory is one transaction: all of it or nothing (it used to keep the files before)."""
    export = tmp_path / "export"
    export.mkdir()
    write_ndjson(export / "a-Patient.ndjson", [resources(vignette(P02)["bundle"])[0]])
    (export / "b-Observation.ndjson").write_text('{"resourceType": "Observation", "id": "o1"}\n[]\n')
    with pytest.raises(InputRefused) as caught:
        load_path(db, export)
    assert str(caught.value) == (
        f"{export / 'b-Observation.ndjson'} line 2: not a JSON object (nothing of this load was stored)"
    )
    assert snapshot(db) == {"patients": [], "fhir_resources": []}


def test_files_that_are_not_fhir_are_skipped_with_a_note(db: Database, tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    write_ndjson(export / "Patient.ndjson", [resources(vignette(P02)["bundle"])[0]])
    (export / "log.ndjson").write_text('{"exportId": "e1", "eventId": "kickoff"}\n')
    report = load_path(db, export)
    assert report.files == 1 and [p.id for p in list_patients(db)] == [P02_ID]
    assert report.issues == [
        f"{export / 'log.ndjson'}: skipped: not FHIR (its first record has no resourceType)"
    ]


def test_the_manifest_decides_which_files_are_read(db: Database, tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    write_ndjson(export / "Patient.000.ndjson", [resources(vignette(P02)["bundle"])[0]])
    write_ndjson(export / "stale-Patient.ndjson", [{"resourceType": "Patient", "id": "not-in-the-export"}])
    (export / "err.ndjson").write_text('{"resourceType": "OperationOutcome", "issue": []}\n')
    manifest = {
        "transactionTime": "2026-10-01T00:00:00Z",
        "request": "https://ehr.example/fhir/$export",
        "requiresAccessToken": True,
        "output": [{"type": "Patient", "url": "https://ehr.example/files/Patient.000.ndjson"}],
        "error": [{"type": "OperationOutcome", "url": "https://ehr.example/files/err.ndjson"}],
    }
    (export / "manifest.json").write_text(json.dumps(manifest))
    report = load_path(db, export)
    assert [p.id for p in list_patients(db)] == [P02_ID]
    assert sorted(report.issues) == [
        f"{export / 'err.ndjson'}: skipped: an error file of the export (OperationOutcome), not patient data",
        f"{export / 'stale-Patient.ndjson'}: skipped: not listed in manifest.json output",
    ]


def test_a_manifest_naming_a_missing_file_is_refused(db: Database, tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    manifest = {
        "transactionTime": "t",
        "output": [{"type": "Patient", "url": "https://x/files/Patient.ndjson"}],
    }
    (export / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(InputRefused, match=r"output\[0\] names 'Patient.ndjson', which is not in"):
        load_path(db, export)


def test_reloading_replaces_each_resource(db: Database, tmp_path: Path) -> None:
    bundle = copy.deepcopy(vignette(P02)["bundle"])
    path = write_bundle(tmp_path / "p02.json", bundle)
    load_path(db, path)
    before = snapshot(db)
    bundle["entry"][0]["resource"]["name"] = [{"text": "Alex Renamed"}]
    bundle["entry"][1]["resource"]["status"] = "amended"
    load_path(db, write_bundle(path, bundle))
    after = snapshot(db)
    assert len(after["fhir_resources"]) == len(before["fhir_resources"])
    assert [p.display_name for p in list_patients(db)] == ["Alex Renamed"]
    assert patient_resources(db, P02_ID) == resources(bundle)


def test_bundle_with_urn_references_and_ids_from_full_urls(db: Database, tmp_path: Path) -> None:
    # A transaction Bundle: no ids, references by urn:uuid through each entry's fullUrl.
    bundle = copy.deepcopy(json.loads(EXAMPLE.read_text()))
    ids = {}
    for n, entry in enumerate(bundle["entry"]):
        resource = entry["resource"]
        urn = f"urn:uuid:00000000-0000-4000-8000-{n:012d}"
        ids[f"{resource['resourceType']}/{resource.pop('id')}"] = urn
        entry["fullUrl"] = urn
    text = json.dumps(bundle)
    for key, urn in ids.items():
        text = text.replace(f'"{key}"', f'"{urn}"')
    path = tmp_path / "transaction.json"
    path.write_text(text)
    report = load_path(db, path)
    assert report.issues == []
    [patient] = list_patients(db)
    assert patient.id == "00000000-0000-4000-8000-000000000000"
    assert patient.resources == len(bundle["entry"])
    case = {"as_of": "2026-10-15", "profile": "default"}
    assert _assessment(patient_timeline(db, patient.id), case) == _assessment(load_timeline(path), case)


def test_resources_without_an_id_are_noted_not_stored(db: Database, tmp_path: Path) -> None:
    items = [*resources(vignette(P02)["bundle"])[:2], {"resourceType": "Observation", "status": "final"}]
    report = load_path(db, write_ndjson(tmp_path / "x.ndjson", items))
    assert report.resources == 2
    assert report.issues == [
        f"{tmp_path / 'x.ndjson'} line 3: Observation without a valid type and id; not stored"
    ]


def test_unknown_patient(db: Database) -> None:
    assert patient_resources(db, "nobody") == []
    with pytest.raises(PatientNotFound, match="patient nobody: not in the database"):
        patient_timeline(db, "nobody")


def test_missing_path_and_empty_directory_are_refused(db: Database, tmp_path: Path) -> None:
    with pytest.raises(InputRefused, match="no such file or directory"):
        load_path(db, tmp_path / "absent.json")
    with pytest.raises(InputRefused, match=re.escape("no .ndjson, .ndjson.gz, .json, .json.gz FHIR files")):
        load_path(db, tmp_path)


_CASES = bundle_vignettes()


@pytest.mark.parametrize("kind", ["sqlite"])
def test_patient_timeline_assesses_like_the_file_for_vignettes(kind: str, tmp_path: Path) -> None:
    # Every shared vignette and a spread of the rule cases: the stored patient's assessment equals
    # the one of its own file, to the last field.
    sample = [c for c in _CASES if c["name"].startswith("p")] + _CASES[10::12]
    database = Database(f"sqlite:///{tmp_path / 'v.db'}")
    database.migrate()
    try:
        for case in sample:
            clear(database)
            path = write_bundle(tmp_path / "case.json", case["bundle"])
            load_path(database, path)
            [patient] = list_patients(database)
            assert _assessment(patient_timeline(database, patient.id), case) == _assessment(
                load_timeline(path), case
            ), case["name"]
    finally:
        database.close()
    assert len(sample) > 30
