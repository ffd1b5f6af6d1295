"""ofType() on resources (``contained.ofType(Medication)``) on DuckDB (typed and JSON mode) and Spark.

A resource's FHIRPath type is its ``resourceType``, so ofType(T) keeps the contained resources of
type T; ofType() of a data type still picks a choice element (``medication.ofType(Reference)``).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from igwatch.engine import assess
from igwatch.fhir.ingest import build_timeline
from igwatch.knowledge.profile import load_profile
from igwatch.population.rows import resources_from_rows
from igwatch.population.sof import DuckDBViewRunner, UnsupportedFeatureError, load_view

VIEWS = Path(__file__).resolve().parents[3] / "src" / "igwatch" / "population" / "views"
KESIMPTA = {
    "resourceType": "Medication",
    "id": "kes",
    "code": {
        "text": "Kesimpta 20 MG",
        "coding": [
            {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "712566"},
            {"system": "http://example.org/local", "code": "K20"},
        ],
    },
}
RESOURCES: list[dict[str, Any]] = [
    {
        "resourceType": "MedicationStatement",
        "id": "both",
        "contained": [{"resourceType": "Organization", "id": "org", "name": "Pharmacy"}, KESIMPTA],
        "medicationReference": {"reference": "#kes"},
    },
    {"resourceType": "MedicationStatement", "id": "none", "medicationCodeableConcept": {"text": "aspirin"}},
    {
        "resourceType": "MedicationStatement",
        "id": "two",
        "contained": [
            {"resourceType": "Medication", "id": "a"},
            {"resourceType": "Practitioner", "id": "p"},
            {"resourceType": "Medication", "id": "b", "code": {"text": "B"}},
        ],
    },
]


def view(*selects: dict[str, Any]) -> dict[str, Any]:
    return {
        "resource": "MedicationStatement",
        "select": [{"column": [{"name": "id", "path": "id"}]}, *selects],
    }


MEDICATION_IDS = view(
    {
        "forEach": "contained.ofType(Medication)",
        "column": [
            {"name": "medication_id", "path": "id"},
            {"name": "item", "path": "%rowIndex", "type": "integer"},
        ],
    }
)
CODINGS = view(
    {
        "forEach": "contained.ofType(Medication).code.coding",
        "column": [{"name": "system", "path": "system"}, {"name": "code", "path": "code"}],
    }
)
COLUMNS = {
    "resource": "MedicationStatement",
    "select": [
        {
            "column": [
                {"name": "id", "path": "id"},
                {"name": "medications", "path": "contained.ofType(Medication).count()", "type": "integer"},
                {
                    "name": "has_organization",
                    "path": "contained.ofType(Organization).exists()",
                    "type": "boolean",
                },
                {"name": "texts", "path": "contained.ofType(Medication).code.text", "collection": True},
                {"name": "reference", "path": "medication.ofType(Reference).reference"},
            ]
        }
    ],
}


def duckdb_rows(view_json: dict[str, Any], typed: bool) -> list[dict[str, Any]]:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE resources AS SELECT unnest($texts::VARCHAR[])::JSON AS resource",
        {"texts": [json.dumps(r) for r in RESOURCES]},
    )
    relation = DuckDBViewRunner(con, typed=typed).run(load_view(view_json), "resources")
    columns = [str(c) for c in relation.columns]
    rows = [dict(zip(columns, row, strict=True)) for row in relation.fetchall()]
    con.close()
    return rows


def spark_rows(view_json: dict[str, Any], typed: bool) -> list[dict[str, Any]]:
    from igwatch.population.sof import SparkViewRunner
    from tests.population.test_sql_on_fhir import spark_session

    spark = spark_session()
    source = spark.createDataFrame([(json.dumps(r),) for r in RESOURCES], "value string")
    frame = SparkViewRunner(spark, typed=typed).run(load_view(view_json), source)
    return [row.asDict(recursive=True) for row in frame.collect()]


ENGINES = [
    pytest.param(duckdb_rows, True, id="duckdb-typed"),
    pytest.param(duckdb_rows, False, id="duckdb-json"),
    pytest.param(spark_rows, True, id="spark-typed", marks=pytest.mark.spark),
    pytest.param(spark_rows, False, id="spark-json", marks=pytest.mark.spark),
]


def _sorted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True))


@pytest.mark.parametrize(("rows_of", "typed"), ENGINES)
def test_only_contained_medications_give_rows(rows_of: Any, typed: bool) -> None:
    rows = rows_of(MEDICATION_IDS, typed)
    # "none" has no contained resource: forEach yields no row for it
    assert _sorted(rows) == _sorted(
        [
            {"id": "both", "medication_id": "kes", "item": 0},
            {"id": "two", "medication_id": "a", "item": 0},
            {"id": "two", "medication_id": "b", "item": 1},
        ]
    )


@pytest.mark.parametrize(("rows_of", "typed"), ENGINES)
def test_codings_of_contained_medications(rows_of: Any, typed: bool) -> None:
    rows = rows_of(CODINGS, typed)
    assert _sorted(rows) == _sorted(
        [
            {"id": "both", "system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "712566"},
            {"id": "both", "system": "http://example.org/local", "code": "K20"},
        ]
    )


@pytest.mark.parametrize(("rows_of", "typed"), ENGINES)
def test_functions_on_contained_resources_and_choice_elements(rows_of: Any, typed: bool) -> None:
    rows = {r["id"]: r for r in rows_of(COLUMNS, typed)}
    assert rows["both"] == {
        "id": "both",
        "medications": 1,
        "has_organization": True,
        "texts": ["Kesimpta 20 MG"],
        "reference": "#kes",
    }
    assert rows["none"] == {
        "id": "none",
        "medications": 0,
        "has_organization": False,
        "texts": [],
        "reference": None,
    }
    assert (rows["two"]["medications"], rows["two"]["has_organization"], rows["two"]["texts"]) == (
        2,
        False,
        ["B"],
    )


def test_an_abstract_resource_type_is_refused() -> None:
    abstract = view({"forEach": "contained.ofType(DomainResource)", "column": [{"name": "c", "path": "id"}]})
    with pytest.raises(UnsupportedFeatureError, match="DomainResource"):
        duckdb_rows(abstract, typed=False)


def test_assess_on_rows_rebuilt_from_the_shipped_view_finds_the_contained_drug() -> None:
    """The shipped MedicationStatement view carries the contained Medication, and the resources
    rebuilt from its rows let ``assess`` recognise the drug behind ``#kes``."""
    patient = {"resourceType": "Patient", "id": "p1", "birthDate": "1984-05-12", "gender": "female"}
    statement = {
        "resourceType": "MedicationStatement",
        "id": "ms-1",
        "status": "active",
        "subject": {"reference": "Patient/p1"},
        "effectivePeriod": {"start": "2023-09-01"},
        "medicationReference": {"reference": "#kes"},
        "contained": [{"resourceType": "Organization", "id": "org"}, KESIMPTA],
    }
    con = duckdb.connect()
    con.execute("CREATE TABLE resources AS SELECT $text::JSON AS resource", {"text": json.dumps(statement)})
    plan = load_view(VIEWS / "medication-statement.json")
    relation = DuckDBViewRunner(con).run(plan, "resources")
    columns = [str(c) for c in relation.columns]
    rows = [
        {**dict(zip(columns, row, strict=True)), "resource_type": "MedicationStatement"}
        for row in relation.fetchall()
    ]
    con.close()

    rebuilt = next(r for r in resources_from_rows(rows) if r["resourceType"] == "MedicationStatement")
    assert rebuilt["contained"] == [{"resourceType": "Medication", "id": "kes", "code": KESIMPTA["code"]}]
    assert [m.agent for m in build_timeline([patient, rebuilt], "p1").medications] == ["ofatumumab"]
    as_of = date(2026, 10, 15)

    def recommendations(resources: list[dict[str, Any]]) -> list[str]:
        result = assess(
            build_timeline([patient, *resources], "p1"), as_of, load_profile("default"), today=as_of
        )
        return [r.id for r in result.recommendations]

    assert "anti-cd20.continue" in recommendations([rebuilt])
    assert recommendations([rebuilt]) == recommendations([statement])
