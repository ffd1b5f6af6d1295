"""The same answer everywhere (issue 4, item 4): 2,000 synthetic patients screened by DuckDB and by
Spark, and each patient's own records assessed by ``assess``, give identical recommendation ids,
priorities, reasons and due dates for every patient.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from igwatch.engine import assess
from igwatch.fhir.ingest import build_timeline
from igwatch.knowledge.profile import load_profile
from tests.population.exports import patient_bundles

AS_OF = date(2026, 10, 15)
PATIENTS = 2000
IGWATCH = str(Path(sys.executable).with_name("igwatch"))
NOTHING: dict[str, Any] = {"recommendations": [], "monitoring": []}

pytestmark = [pytest.mark.slow, pytest.mark.spark, pytest.mark.timeout(900)]


def run(*args: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("IGWATCH_DEBUG", "FORCE_COLOR")}
    env["IGWATCH_TODAY"] = AS_OF.isoformat()
    result = subprocess.run([IGWATCH, *args], capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]


def details(out: Path) -> dict[str, Any]:
    rows = pq.read_table(out / "worklist.parquet").to_pylist()
    return {r["patient_id"]: json.loads(r["details"]) for r in rows}


def test_duckdb_spark_and_assess_agree_on_2000_synthetic_patients(tmp_path: Path) -> None:
    cohort = tmp_path / "cohort"
    run(
        "synth",
        str(cohort),
        "--patients",
        str(PATIENTS),
        "--seed",
        "1",
        "--as-of",
        AS_OF.isoformat(),
        "--quiet",
    )
    common = ["--as-of", AS_OF.isoformat(), "--quiet"]
    run("screen", str(cohort), "--engine", "duckdb", "--out", str(tmp_path / "duckdb"), *common)
    run(
        "screen",
        str(cohort),
        "--engine",
        "spark",
        "--spark-master",
        "local[2]",
        "--out",
        str(tmp_path / "spark"),
        *common,
    )
    by_duckdb, by_spark = details(tmp_path / "duckdb"), details(tmp_path / "spark")
    assert by_duckdb == by_spark
    duck_table = pq.read_table(tmp_path / "duckdb" / "worklist.parquet")
    assert duck_table.equals(pq.read_table(tmp_path / "spark" / "worklist.parquet"))

    bundles = patient_bundles(cohort)
    assert len(bundles) == PATIENTS
    profile = load_profile("default")
    differ = []
    in_scope = 0
    for pid, resources in bundles.items():
        result = assess(build_timeline(resources, pid), AS_OF, profile, today=AS_OF)
        want = {
            "recommendations": [
                {"id": r.id, "priority": r.priority, "reasons": [x.to_dict() for x in r.reasons]}
                for r in result.recommendations
            ],
            "monitoring": [m.to_dict() for m in result.monitoring],
        }
        in_scope += bool(result.populations)
        if by_duckdb.get(pid, NOTHING) != want:
            differ.append(pid)
    assert differ == []
    assert len(by_duckdb) == in_scope > PATIENTS // 10  # a real share of the cohort is on the worklist
