"""Clinical spec revision 2, §1: deceased patients of a real export are not applicable and stay off
the worklists unless asked (3 of the 13 Synthea patients carry ``deceasedDateTime``)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from igwatch import assess, load_profile
from igwatch.fhir.ingest import build_timeline
from igwatch.population.screen import ScreenOptions, screen
from tests.realdata.conftest import export_resources, patients

AS_OF = date(2026, 10, 15)


def test_the_deceased_are_not_applicable_and_the_living_are_assessed(export_on_ofatumumab: Path) -> None:
    everyone = patients(export_on_ofatumumab)
    deceased = {str(p["id"]) for p in everyone if "deceasedDateTime" in p or p.get("deceasedBoolean")}
    assert len(deceased) == 3
    resources = export_resources(export_on_ofatumumab)
    profile = load_profile("default")
    for patient in everyone:
        assessment = assess(build_timeline(resources, patient_id=str(patient["id"])), AS_OF, profile)
        if patient["id"] in deceased:
            assert not assessment.applicable and assessment.applicable_reason == "deceased"
            assert assessment.recommendations == []
        else:
            assert assessment.applicable and assessment.populations == ["K"]


def test_the_screen_leaves_the_deceased_out_unless_asked(export_on_ofatumumab: Path, tmp_path: Path) -> None:
    def worklist(include: bool) -> tuple[list[dict[str, str]], dict[str, object]]:
        out = tmp_path / f"out-{include}"
        options = ScreenOptions(
            as_of=AS_OF,
            profile=load_profile("default"),
            out_dir=out,
            show_progress=False,
            include_deceased=include,
        )
        report = screen(export_on_ofatumumab, options)
        with (out / "worklist.csv").open(encoding="utf-8") as rows:
            return list(csv.DictReader(rows)), report.summary

    rows, summary = worklist(False)
    assert len(rows) == 10 and all(r["deceased"] == "false" for r in rows)
    assert summary["patients_deceased"] == 3 and summary["patients_in_scope"] == 10
    rows, _ = worklist(True)
    assert len(rows) == 13
    assert {r["patient_id"] for r in rows if r["deceased"] == "true"} == {
        str(p["id"]) for p in patients(export_on_ofatumumab) if "deceasedDateTime" in p
    }
