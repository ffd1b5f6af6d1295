"""igwatch's own ViewDefinitions give the same rows on every engine and mode.

Resources: a few synthetic patients, every vignette bundle and the shipped example. Each view
runs on DuckDB in typed mode (resources parsed once into STRUCTs shaped from a sample), on
DuckDB in JSON mode, and on Spark; the rows must be identical as multisets.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from igwatch.population.sof import DuckDBViewRunner, load_view
from igwatch.synth.cohort import generate_patient

ROOT = Path(__file__).resolve().parents[3]
VIEWS = sorted((ROOT / "src" / "igwatch" / "population" / "views").glob("*.json"))


def _resources() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for index in range(12):
        found.extend(generate_patient(7, index, date(2026, 10, 15)).resources)
    cases = [json.loads(p.read_text()) for p in sorted((ROOT / "tests/vignettes/cases").glob("*.json"))]
    bundles = [case["bundle"] for case in cases if isinstance(case.get("bundle"), dict)]
    bundles.append(json.loads((ROOT / "examples" / "ofatumumab-recurrent-hib.json").read_text()))
    for bundle in bundles:
        found.extend(e["resource"] for e in bundle.get("entry", []) if "resource" in e)
    return found


RESOURCES = _resources()
TEXTS = [json.dumps(r) for r in RESOURCES]


def _canonical(value: Any) -> Any:
    if isinstance(value, float) and math.isfinite(value):
        return round(value, 9)
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def _multiset(rows: list[dict[str, Any]]) -> Counter[str]:
    return Counter(json.dumps({k: _canonical(v) for k, v in r.items()}, sort_keys=True) for r in rows)


def _duckdb_rows(view_path: Path, typed: bool) -> tuple[list[str], list[dict[str, Any]]]:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE resources AS SELECT unnest($texts::VARCHAR[])::JSON AS resource",
        {"texts": TEXTS},
    )
    relation = DuckDBViewRunner(con, typed=typed).run(load_view(view_path), "resources")
    columns = [str(c) for c in relation.columns]
    rows = [dict(zip(columns, row, strict=True)) for row in relation.fetchall()]
    con.close()
    return columns, rows


@pytest.mark.parametrize("view_path", VIEWS, ids=[p.stem for p in VIEWS])
def test_typed_and_json_modes_agree(view_path: Path) -> None:
    columns, typed_rows = _duckdb_rows(view_path, typed=True)
    json_columns, json_rows = _duckdb_rows(view_path, typed=False)
    assert columns == json_columns
    if any(r.get("resourceType") == load_view(view_path).resource for r in RESOURCES):
        assert typed_rows, f"{view_path.name} yields no rows from the test resources"
    assert _multiset(typed_rows) == _multiset(json_rows)


@pytest.mark.spark
@pytest.mark.parametrize("view_path", VIEWS, ids=[p.stem for p in VIEWS])
def test_spark_agrees_with_duckdb(view_path: Path) -> None:
    from igwatch.population.sof.spark_views import SparkViewRunner
    from tests.population.test_sql_on_fhir import spark_session

    spark = spark_session()
    columns, duck_rows = _duckdb_rows(view_path, typed=True)
    source = spark.createDataFrame([(text,) for text in TEXTS], "value string")
    frame = SparkViewRunner(spark).run(load_view(view_path), source)
    assert list(frame.columns) == columns
    spark_rows = [row.asDict(recursive=True) for row in frame.collect()]
    assert _multiset(spark_rows) == _multiset(duck_rows)
