"""`igwatch terminology-report` on the shared Synthea export: every Condition, medication and
vaccine code it uses, counted, with how igwatch recognises it (contract §1)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from igwatch.fhir.coverage import coverage_report

IGWATCH = str(Path(sys.executable).parent / "igwatch")


def test_the_report_counts_and_classes_every_code(real_export: Path) -> None:
    report = coverage_report(real_export)
    by_code = {(line.kind, line.code): line for line in report.lines}
    assert by_code[("condition", "195662009")].status == "code"  # acute viral pharyngitis
    assert by_code[("condition", "195662009")].count == 10
    assert by_code[("condition", "160903007")].status == "missed"  # full-time employment
    assert by_code[("vaccine", "121")].valuesets == ("live-vaccine",)
    assert by_code[("medication", "308192")].valuesets == ("antibiotic",)  # amoxicillin 500 mg
    conditions = sum(line.count for line in report.lines if line.kind == "condition")
    assert conditions == sum(1 for _ in (real_export / "Condition.000.ndjson").open())
    assert report.notes == ["log.ndjson: skipped: not FHIR (its first record has no resourceType)"]


def test_the_command_writes_json_csv_and_text(real_export: Path) -> None:
    def run(*args: str) -> str:
        done = subprocess.run(
            [IGWATCH, "terminology-report", str(real_export), *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    data = json.loads(run("--format", "json"))
    assert data["totals"]["condition"]["codes_code"] >= 11
    assert run("--format", "csv").splitlines()[0] == "kind,system,code,display,records,recognised,valuesets"
    assert "not recognised" in run("--missed-only")
