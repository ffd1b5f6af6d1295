"""The shared Synthea bulk export exactly as published (13 patients, a client's log beside the
data): `load`, `screen` (DuckDB and Spark) and `assess` run without error, the log is skipped with
a note, the deceased are recognised, and — nobody being on a B-cell-depleting agent — nothing is
flagged."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from igwatch import assess, load_profile
from igwatch.fhir.ingest import build_timeline
from igwatch.population.screen import ScreenOptions, screen
from igwatch.store import Database, list_patients, load_path
from tests.realdata.conftest import export_resources, patients

AS_OF = date(2026, 10, 15)
IGWATCH = str(Path(sys.executable).parent / "igwatch")
LOG_NOTE = "log.ndjson: skipped: not FHIR (its first record has no resourceType)"


def test_load_stores_every_patient_and_skips_the_log_with_a_note(real_export: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [IGWATCH, "load", str(real_export), "--db", f"sqlite:///{tmp_path / 'real.db'}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert LOG_NOTE in done.stderr
    assert "loaded 13 file(s): 13 patient(s)" in done.stdout
    db = Database(f"sqlite:///{tmp_path / 'real.db'}")
    try:
        assert len(list_patients(db)) == 13
    finally:
        db.close()


def test_a_directory_load_is_all_or_nothing(real_export: Path, tmp_path: Path) -> None:
    copy = tmp_path / "export"
    copy.mkdir()
    for item in real_export.iterdir():
        (copy / item.name).write_bytes(item.read_bytes())
    with (copy / "Procedure.000.ndjson").open("a", encoding="utf-8") as broken:
        broken.write("{not json\n")
    db = Database(f"sqlite:///{tmp_path / 'partial.db'}")
    db.migrate()
    try:
        with pytest.raises(Exception, match="nothing of this load was stored"):
            load_path(db, copy)
        assert list_patients(db) == []
    finally:
        db.close()


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def test_screen_flags_nobody_and_notes_the_log(real_export: Path, tmp_path: Path, engine: str) -> None:
    options = ScreenOptions(
        as_of=AS_OF,
        profile=load_profile("default"),
        out_dir=tmp_path / "out",
        engine=engine,  # type: ignore[arg-type]
        show_progress=False,
    )
    report = screen(real_export, options)
    summary = report.summary
    assert summary["patients_read"] == 13
    assert summary["patients_in_scope"] == 0 and summary["recommendation_counts"] == {}
    assert summary["files_skipped"] == [LOG_NOTE]


def test_assess_of_every_patient_runs_and_recognises_the_deceased(real_export: Path) -> None:
    resources = export_resources(real_export)
    profile = load_profile("default")
    reasons = []
    for patient in patients(real_export):
        assessment = assess(build_timeline(resources, patient_id=str(patient["id"])), AS_OF, profile)
        assert assessment.recommendations == []
        reasons.append(assessment.applicable_reason)
    assert reasons.count("deceased") == 3
    assert all(r is not None for r in reasons)


def test_the_spark_engine_without_pyspark_is_one_clear_line(real_export: Path, tmp_path: Path) -> None:
    """`screen --engine spark` without the Spark extra said 'internal error: ModuleNotFoundError'."""
    blocker = tmp_path / "no_pyspark"
    blocker.mkdir()
    (blocker / "pyspark.py").write_text("raise ImportError('hidden for this test')\n")  # found first
    done = subprocess.run(
        [IGWATCH, "screen", str(real_export), "--out", str(tmp_path / "out"), "--engine", "spark", "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(blocker), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 2, done.stderr
    assert "--engine spark needs PySpark" in done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
