"""Real codes, recognised (contract §1, clinical-spec F4 revision 2): with ofatumumab added to
copies of the Synthea patients, every infection Condition they have is an episode classified as
the spec says, nothing else is, and every live vaccine they received gives `live-vaccine-given`."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from igwatch import assess, load_profile
from igwatch.fhir.ingest import build_timeline
from tests.realdata.conftest import export_resources, patients

SNOMED = "http://snomed.info/sct"
#: The infection codes of the sample, with (bacterial, life-threatening) per F4 (revision 2).
INFECTIONS = {
    "195662009": (False, False),  # acute viral pharyngitis
    "444814009": (False, False),  # viral sinusitis
    "10509002": (False, False),  # acute bronchitis
    "301011002": (True, False),  # E. coli urinary tract infection
    "91302008": (True, True),  # sepsis (not viral or fungal: bacterial by nature)
    "43878008": (True, False),  # streptococcal sore throat
    "840539006": (False, False),  # COVID-19
    "40055000": (False, False),  # chronic sinusitis
    "197927001": (True, False),  # recurrent urinary tract infection
    "65363002": (False, False),  # otitis media
    "75498004": (True, False),  # acute bacterial sinusitis
}
LIVE_CVX = {"03", "21", "121"}  # MMR, varicella, zoster live in the sample


def _conditions(resources: list[dict[str, Any]], patient_id: str) -> list[dict[str, Any]]:
    return [
        r
        for r in resources
        if r["resourceType"] == "Condition" and r["subject"]["reference"] == f"Patient/{patient_id}"
    ]


def _code(condition: dict[str, Any]) -> str:
    return next(c["code"] for c in condition["code"]["coding"] if c["system"] == SNOMED)


@pytest.fixture(scope="module")
def resources(export_on_ofatumumab_always: Path) -> list[dict[str, Any]]:
    return export_resources(export_on_ofatumumab_always)


def test_every_infection_condition_is_an_episode_and_nothing_else_is(
    export_on_ofatumumab_always: Path, resources: list[dict[str, Any]]
) -> None:
    profile = load_profile("default")
    checked = 0
    for patient in patients(export_on_ofatumumab_always):
        pid = str(patient["id"])
        timeline = build_timeline(resources, patient_id=pid)
        conditions = _conditions(resources, pid)
        expected = {f"Condition/{c['id']}" for c in conditions if _code(c) in INFECTIONS}
        assert {i.id for i in timeline.infections} == expected, pid
        for condition in conditions:
            code = _code(condition)
            if code not in INFECTIONS:
                continue
            onset = date.fromisoformat(condition["onsetDateTime"][:10])
            facts = assess(timeline, onset, profile).to_dict()["facts"]
            episode = next(
                e for e in facts["infection_episodes"] if f"Condition/{condition['id']}" in e["records"]
            )
            if len(episode["records"]) == 1:  # a merged episode carries the worst of its records
                assert (episode["bacterial"], episode["life_threatening"]) == INFECTIONS[code], code
            checked += 1
    assert checked >= 30


def test_every_live_vaccine_given_on_therapy_is_flagged(
    export_on_ofatumumab_always: Path, resources: list[dict[str, Any]]
) -> None:
    profile = load_profile("default")
    flagged = 0
    for patient in patients(export_on_ofatumumab_always):
        pid = str(patient["id"])
        live = [
            r
            for r in resources
            if r["resourceType"] == "Immunization"
            and r["patient"]["reference"] == f"Patient/{pid}"
            and {c["code"] for c in r["vaccineCode"]["coding"]} & LIVE_CVX
        ]
        if not live or "deceasedDateTime" in patient:
            continue
        assessment = assess(build_timeline(resources, patient_id=pid), date(2026, 10, 15), profile)
        avoid = assessment.recommendation("vaccine.live-avoid")
        assert avoid is not None and "live-vaccine-given" in {r.code for r in avoid.reasons}, pid
        given = {v["id"] for v in assessment.to_dict()["facts"]["live_vaccines_given"]}
        assert given == {f"Immunization/{r['id']}" for r in live}
        flagged += 1
    assert flagged >= 2
