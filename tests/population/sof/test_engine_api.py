"""The ViewDefinition engine's public API: validation messages, sources, typed output columns."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from igwatch.population.sof import DuckDBViewRunner, ViewDefinitionError, load_view

PATIENTS = [
    {
        "resourceType": "Patient",
        "id": "p1",
        "active": True,
        "name": [{"use": "official", "family": "Ng", "given": ["Ana", "Li"]}],
        "multipleBirthInteger": 2,
    },
    {"resourceType": "Patient", "id": "p2", "active": False},
    {"resourceType": "Observation", "id": "o1", "status": "final"},
]
VIEW = {
    "resource": "Patient",
    "select": [
        {
            "column": [
                {"name": "id", "path": "id", "type": "id"},
                {"name": "active", "path": "active", "type": "boolean"},
                {"name": "births", "path": "multipleBirth.ofType(integer)", "type": "integer"},
                {"name": "given", "path": "name.given", "type": "string", "collection": True},
            ]
        }
    ],
}


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute(
        "CREATE TABLE resources AS SELECT unnest($texts::VARCHAR[])::JSON AS resource",
        {"texts": [json.dumps(r) for r in PATIENTS]},
    )
    return connection


@pytest.mark.parametrize(
    ("view", "message"),
    [
        ({"select": [{"column": [{"name": "id", "path": "id"}]}]}, "needs 'resource'"),
        ({"resource": "Patient", "select": []}, "non-empty 'select'"),
        ({"resource": "Patient", "select": [{"forEach": "name.(", "column": []}]}, "select[0].forEach"),
        ({"resource": "Patient", "select": [{"column": [{"name": "1x", "path": "id"}]}]}, "column[0]"),
        (
            {
                "resource": "Patient",
                "constant": [{"name": "c"}],
                "select": [{"column": [{"name": "i", "path": "id"}]}],
            },
            "exactly one value[x]",
        ),
        (
            {
                "resource": "Patient",
                "select": [{"column": [{"name": "a", "path": "id"}, {"name": "a", "path": "id"}]}],
            },
            "used twice",
        ),
    ],
)
def test_invalid_views_are_refused_with_their_location(view: dict[str, object], message: str) -> None:
    with pytest.raises(ViewDefinitionError, match=re.escape(message)) as caught:
        load_view(view)
    assert "\n" not in str(caught.value)


def test_load_view_reads_a_file_and_names_it_when_broken(tmp_path: Path) -> None:
    good = tmp_path / "patient.json"
    good.write_text(json.dumps({**VIEW, "name": "patients"}))
    assert load_view(good).name == "patients"
    assert load_view(str(good)).resource == "Patient"
    bad = tmp_path / "bad.json"
    bad.write_text("{ not json")
    with pytest.raises(ViewDefinitionError, match=re.escape("bad.json: not JSON")):
        load_view(bad)


@pytest.mark.parametrize("typed", [True, False], ids=["typed", "json"])
def test_columns_are_typed_and_other_resource_types_are_skipped(
    con: duckdb.DuckDBPyConnection, typed: bool
) -> None:
    relation = DuckDBViewRunner(con, typed=typed).run(VIEW, "resources")
    assert [str(t) for t in relation.types] == ["VARCHAR", "BOOLEAN", "BIGINT", "VARCHAR[]"]
    rows = sorted(relation.fetchall())
    assert rows == [("p1", True, 2, ["Ana", "Li"]), ("p2", False, None, [])]


def test_source_can_be_a_relation_read_from_ndjson(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    export = tmp_path / "Patient.ndjson"
    export.write_text("".join(json.dumps(r) + "\n" for r in PATIENTS))
    source = con.sql(f"SELECT json FROM read_ndjson_objects('{export}')")
    table = DuckDBViewRunner(con).run(load_view(VIEW), source).to_arrow_table()
    assert table.column_names == ["id", "active", "births", "given"]
    assert sorted(table.column("id").to_pylist()) == ["p1", "p2"]


def test_several_values_in_a_single_column_is_an_error(con: duckdb.DuckDBPyConnection) -> None:
    view = {"resource": "Patient", "select": [{"column": [{"name": "g", "path": "name.given"}]}]}
    with pytest.raises(duckdb.Error, match="set collection: true"):
        DuckDBViewRunner(con).run(view, "resources").fetchall()


SPARSE_OBSERVATIONS = [
    {"resourceType": "Observation", "id": "o1", "status": "final"},
    {
        "resourceType": "Observation",
        "id": "o2",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2472-0"}, {"code": "x"}]},
        "valueQuantity": {"value": 0.3, "unit": "g/L"},
        "subject": {"reference": "Patient/p1"},
    },
]
SPARSE_VIEW = {
    "resource": "Observation",
    "select": [
        {
            "column": [
                {"name": "id", "path": "id"},
                {"name": "patient", "path": "subject.getReferenceKey(Patient)"},
                {"name": "value", "path": "value.ofType(Quantity).value", "type": "decimal"},
            ]
        },
        {"forEachOrNull": "code.coding", "column": [{"name": "code", "path": "code"}]},
    ],
}
SPARSE_ROWS = [("o1", None, None, None), ("o2", "p1", 0.3, "2472-0"), ("o2", "p1", 0.3, "x")]


def test_typed_mode_does_not_depend_on_the_sample() -> None:
    """Members the sample never saw are read generically: same rows as JSON mode."""
    resources, view, expected = SPARSE_OBSERVATIONS, SPARSE_VIEW, SPARSE_ROWS
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE resources AS SELECT unnest($texts::VARCHAR[])::JSON AS resource",
        {"texts": [json.dumps(r) for r in resources]},
    )
    for runner in (DuckDBViewRunner(con, sample_rows=1), DuckDBViewRunner(con, typed=False)):
        assert sorted(runner.run(view, "resources").fetchall(), key=str) == sorted(expected, key=str)


@pytest.mark.spark
def test_spark_typed_mode_does_not_depend_on_the_sample() -> None:
    from igwatch.population.sof import SparkViewRunner
    from tests.population.test_sql_on_fhir import spark_session

    spark = spark_session()
    source = spark.createDataFrame([(json.dumps(r),) for r in SPARSE_OBSERVATIONS], "value string")
    for runner in (SparkViewRunner(spark, sample_rows=1), SparkViewRunner(spark, typed=False)):
        rows = [tuple(row) for row in runner.run(SPARSE_VIEW, source).collect()]
        assert sorted(rows, key=str) == sorted(SPARSE_ROWS, key=str)


@pytest.mark.spark
def test_spark_shapes_can_be_learnt_from_other_lines() -> None:
    """``sample=``: typed mode learns the shapes from other lines (say, before a costly filter)
    and reads the rows from the source only."""
    from igwatch.population.sof import SparkViewRunner
    from tests.population.test_sql_on_fhir import spark_session

    spark = spark_session()
    every = spark.createDataFrame([(json.dumps(r),) for r in SPARSE_OBSERVATIONS], "value string")
    second = every.where("value LIKE '%\"o2\"%'")
    rows = [tuple(row) for row in SparkViewRunner(spark).run(SPARSE_VIEW, second, sample=every).collect()]
    assert sorted(rows, key=str) == sorted(SPARSE_ROWS[1:], key=str)


@pytest.mark.spark
def test_spark_where_skips_a_resource_before_its_columns_are_read() -> None:
    """A resource the view's where excludes is never an error, even when a column of it would be."""
    from igwatch.population.sof import SparkViewRunner
    from tests.population.test_sql_on_fhir import spark_session

    view = {
        "resource": "Observation",
        "where": [{"path": "status = 'final'"}],
        "select": [{"column": [{"name": "id", "path": "id"}, {"name": "code", "path": "code.coding.code"}]}],
    }
    resources = [
        {"resourceType": "Observation", "id": "o1", "status": "final", "code": {"coding": [{"code": "a"}]}},
        {"resourceType": "Observation", "id": "o2", "code": {"coding": [{"code": "b"}, {"code": "c"}]}},
    ]
    spark = spark_session()
    source = spark.createDataFrame([(json.dumps(r),) for r in resources], "value string")
    for runner in (SparkViewRunner(spark), SparkViewRunner(spark, typed=False)):
        assert [tuple(row) for row in runner.run(view, source).collect()] == [("o1", "a")]
