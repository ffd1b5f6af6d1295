"""One FHIR reader for every door: ingest, the store and the screen read a file with the same
code, so a broken line is refused in the same words wherever it is read."""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

import pytest

from igwatch.errors import InputRefused
from igwatch.fhir.reader import FULL_URL_KEY, first_bad_line, parse_input, patient_of
from igwatch.knowledge.profile import load_profile
from igwatch.population.screen import ScreenOptions, screen
from igwatch.store import Database, load_path

PATIENT = {"resourceType": "Patient", "id": "p1"}
OBSERVATION = {"resourceType": "Observation", "id": "o1", "subject": {"reference": "Patient/p1"}}


def _ndjson(path: Path, lines: list[str], compressed: bool = False) -> Path:
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if compressed else data)
    return path


@pytest.mark.parametrize("compressed", [False, True])
def test_first_bad_line_names_the_file_and_the_line(tmp_path: Path, compressed: bool) -> None:
    name = "Observation.ndjson" + (".gz" if compressed else "")
    good = _ndjson(tmp_path / "Patient.ndjson", [json.dumps(PATIENT)])
    bad = _ndjson(tmp_path / name, [json.dumps(OBSERVATION), "", "{not json"], compressed)
    assert first_bad_line([good]) is None
    assert first_bad_line([good, bad]) == f"{name} line 3: not valid JSON"


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"resourceType": "Obs', "not valid JSON"),
        ('["an array"]', "not a JSON object"),
        ('{"id": "o2", "subject": {"reference": "Patient/p1"}}', "no resourceType"),
    ],
)
def test_ingest_the_store_and_the_screen_refuse_a_line_that_is_not_a_resource_alike(
    tmp_path: Path, line: str, problem: str
) -> None:
    """Valid JSON that is no FHIR resource is refused too: the screen used to pass over it."""
    export = tmp_path / "export"
    export.mkdir()
    _ndjson(export / "Patient.ndjson", [json.dumps(PATIENT)])
    bad = _ndjson(export / "Observation.ndjson", [json.dumps(OBSERVATION), line])
    expected = f"Observation.ndjson line 2: {problem}"

    with pytest.raises(InputRefused) as ingest_refusal:
        parse_input(bad.read_bytes(), bad.name)
    with pytest.raises(InputRefused) as store_refusal:
        load_path(Database(f"sqlite:///{tmp_path / 'store.db'}"), export)
    with pytest.raises(InputRefused) as screen_refusal:
        screen(export, ScreenOptions(date(2026, 11, 21), load_profile(), tmp_path / "out"))

    assert str(ingest_refusal.value) == expected
    assert expected in str(store_refusal.value)
    assert expected in str(screen_refusal.value)


def test_which_patient_a_record_is_about() -> None:
    full_urls = {"urn:uuid:abc": ("Patient", "p9")}
    assert patient_of(OBSERVATION, {}) == ("p1", False)
    assert patient_of({**OBSERVATION, "subject": {"reference": "urn:uuid:abc"}}, full_urls) == ("p9", False)
    # unresolvable: the input's only patient, if it has one
    assert patient_of({**OBSERVATION, "subject": {"reference": "urn:uuid:zzz"}}, full_urls) == (None, True)
    # names another patient that is not in the input: never the only patient's
    assert patient_of({**OBSERVATION, "subject": {"reference": "Group/g1/Patient/"}}, {}) == (None, False)
    # no subject: a clinical record may be the only patient's, a Patient is nobody's record
    assert patient_of({"resourceType": "Observation"}, {}) == (None, True)
    assert patient_of(PATIENT, {}) == (None, False)


def test_bundle_entries_keep_their_full_url() -> None:
    bundle = {
        "resourceType": "Bundle",
        "entry": [
            {"fullUrl": " urn:uuid:abc ", "resource": PATIENT},
            {"resource": {"resourceType": "Bundle", "entry": [{"resource": OBSERVATION}]}},
            "not an entry",
        ],
    }
    resources = parse_input(json.dumps(bundle).encode(), "bundle.json")
    assert [r["id"] for r in resources] == ["p1", "o1"]
    assert resources[0][FULL_URL_KEY] == "urn:uuid:abc"
    assert FULL_URL_KEY not in resources[1]
