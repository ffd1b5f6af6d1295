"""Pieces of the Spark screen that the 2,000-patient parity test does not pin down by itself: the
prefilter (RE2 over Arrow batches) keeps exactly the lines DuckDB's ``regexp_matches`` keeps, and
the per-partition assessment hands each patient over once, with all their rows, wherever Spark
cuts the partition into batches.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from igwatch.population import extract
from igwatch.population.assessor import patient_groups
from igwatch.population.spark_executor import _assess_partitions, prefiltered
from igwatch.population.worklist import WORKLIST_SCHEMA

# Set at collection, before any test starts Spark: its Python workers need this interpreter.
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)


class CountingAssessor:
    """Stands in for :class:`Assessor`: one worklist row per patient, counting the rows it got."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def table(self, table: pa.Table, ordered: bool = False) -> list[tuple[str, dict[str, Any] | None]]:
        out: list[tuple[str, dict[str, Any] | None]] = []
        for patient, rows in patient_groups(table, ordered):
            self.seen.append(patient)
            out.append(
                (patient, None if patient == "p3" else {"patient_id": patient, "critical_count": len(rows)})
            )
        return out


def test_each_patient_is_assessed_once_with_all_rows_whatever_the_batches() -> None:
    counts = {"p1": 3, "p2": 25, "p3": 1, "p4": 7}
    patients = [p for p, n in counts.items() for _ in range(n)]
    table = pa.table(
        {
            "patient": patients,
            "resource_type": ["Observation"] * len(patients),
            "id": [f"o{i}" for i in range(len(patients))],
        }
    )
    # Batches of 4 rows (patients cut in two, p2 spread over seven batches), after an empty one.
    stream = [pa.RecordBatch.from_pylist([], schema=table.schema), *table.to_batches(max_chunksize=4)]
    assert len(stream) == 10
    assessor = CountingAssessor()
    out = pa.Table.from_batches(list(_assess_partitions(assessor)(iter(stream))), schema=WORKLIST_SCHEMA)
    assert sorted(
        zip(out.column("patient_id").to_pylist(), out.column("critical_count").to_pylist(), strict=True)
    ) == [
        ("p1", 3),
        ("p2", 25),
        ("p4", 7),
    ]
    assert sorted(assessor.seen) == ["p1", "p2", "p3", "p4"]


TRICKY_LINES = [
    '{"resourceType": "Observation", "code": {"coding": [{"code": "0016935-9"}]}}',  # leading zeros
    '{"resourceType": "Condition", "code": {"coding": [{"code": "d80.4"}]}}',  # ICD-10, lower case
    '{"resourceType": "Condition", "code": {"coding": [{"code": "D804"}]}}',  # ICD-10 without the dot
    '{"resourceType": "Observation", "code": {"text": "Serum IGM"}}',
    '{"resourceType": "Observation", "code": {"text": "Immunoglobulin M, serum"}}',
    '{"resourceType": "MedicationRequest", "medicationReference": {"reference": "Medication/m1"}}',
    '{"resourceType": "Observation", "code": {"text": "Bacillus Calmette-Guérin"}}',
    '{"resourceType": "Observation", "code": {"coding": [{"code": "169359"}]}}',  # not quoted whole
    '{"resourceType": "Observation", "code": {"text": "Glucose"}}',
    "",
]


@pytest.mark.spark
def test_prefilter_keeps_the_lines_duckdb_keeps(tmp_path: Path) -> None:
    from igwatch.population.spark_executor import session

    cohort = tmp_path / "cohort"
    subprocess.run(
        [str(Path(sys.executable).with_name("igwatch")), "synth", str(cohort), "--patients", "60", "--quiet"],
        check=True,
        capture_output=True,
    )
    lines = list(TRICKY_LINES)
    for path in sorted(cohort.glob("*.ndjson")):
        lines.extend(path.read_text(encoding="utf-8").splitlines())
    spark = session("local[1]")
    frame = spark.createDataFrame([(line,) for line in lines], "value string")
    con = duckdb.connect()
    con.execute("CREATE TABLE lines AS SELECT unnest($lines::VARCHAR[]) AS line", {"lines": lines})
    vocab = extract.vocabulary()
    for rtype in ("Observation", "Condition", "MedicationRequest", "Encounter"):
        pattern = extract.prefilter_regex(rtype, vocab)
        assert pattern is not None
        found = con.execute("SELECT line FROM lines WHERE regexp_matches(line, ?)", [pattern]).fetchall()
        by_duckdb = [line for (line,) in found]
        by_spark = [row[0] for row in prefiltered(frame, pattern).collect()]
        assert 0 < len(by_duckdb) < len(lines)
        assert sorted(by_spark) == sorted(by_duckdb), rtype


@pytest.mark.spark
def test_a_sites_spark_settings_override_igwatchs() -> None:
    from igwatch.population.spark_executor import session

    spark = session("local[1]", {"spark.sql.shuffle.partitions": "3", "spark.igwatch.site": "north"})
    assert spark.conf.get("spark.sql.shuffle.partitions") == "3"
    assert spark.conf.get("spark.igwatch.site") == "north"
