"""The official SQL on FHIR v2 test suite (134 tests) on the DuckDB and the Spark engine.

Each suite test is one pytest item per engine; a file's tests share one source relation or
DataFrame. ``test_report`` writes the suite's ``test_report.json`` for each engine to
tests/population/sof/reports/<engine>/ and prints how many of the 134 pass. Tests of features
the engine does not implement (listed in UNSUPPORTED) are reported as not passed and xfail.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import duckdb
import pytest

from igwatch.population.sof import DuckDBViewRunner, load_view
from tests.population.sof.suite_runner import (
    REPORTS_DIR,
    UNSUPPORTED,
    Case,
    evaluate,
    load_suite,
    write_report,
)

SUITE = load_suite()
TOTAL = sum(len(cases) for cases in SUITE.values())
Outcome = tuple[bool, str | None]


# -- DuckDB ---------------------------------------------------------------------------------------
@functools.cache
def duckdb_results(file: str) -> dict[str, Outcome]:
    """Every test of one suite file, on one DuckDB connection (cached per worker)."""
    con = duckdb.connect()
    con.execute("CREATE TABLE resources (resource JSON)")
    con.executemany("INSERT INTO resources VALUES (?)", [[json.dumps(r)] for r in SUITE[file][0].resources])
    runner = DuckDBViewRunner(con)

    def execute(case: Case) -> tuple[list[dict[str, Any]], list[str]]:
        relation = runner.run(load_view(case.view), "resources")
        columns = [str(c) for c in relation.columns]
        return [dict(zip(columns, row, strict=True)) for row in relation.fetchall()], columns

    results = {case.title: evaluate(case, execute) for case in SUITE[file]}
    con.close()
    return results


# -- Spark ----------------------------------------------------------------------------------------
@functools.cache
def spark_session() -> Any:
    """One local Spark session per worker; suite queries get their own SQL settings."""
    from pyspark.sql import SparkSession

    base = (
        SparkSession.builder.master("local[1]")
        .appName("igwatch-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .getOrCreate()
    )
    base.sparkContext.setLogLevel("OFF")
    session = base.newSession()
    # The suite's resources are a handful of rows: interpreting beats compiling each plan.
    session.conf.set("spark.sql.codegen.wholeStage", "false")
    session.conf.set("spark.sql.codegen.factoryMode", "NO_CODEGEN")
    session.conf.set("spark.sql.adaptive.enabled", "false")
    return session


@functools.cache
def spark_results(file: str) -> dict[str, Outcome]:
    """Every test of one suite file over one cached DataFrame of its resources."""
    from igwatch.population.sof.spark_views import SparkViewRunner

    spark = spark_session()
    source = spark.createDataFrame(
        [(json.dumps(r),) for r in SUITE[file][0].resources], "value string"
    ).cache()
    runner = SparkViewRunner(spark)

    def execute(case: Case) -> tuple[list[dict[str, Any]], list[str]]:
        frame = runner.run(load_view(case.view), source)
        columns = list(frame.columns)
        return [row.asDict(recursive=True) for row in frame.collect()], columns

    results = {case.title: evaluate(case, execute) for case in SUITE[file]}
    source.unpersist()
    return results


ENGINES = {"duckdb": duckdb_results, "spark": spark_results}


def _params(engine: str) -> list[Any]:
    params = []
    for cases in SUITE.values():
        for case in cases:
            marks: list[Any] = [pytest.mark.spark] if engine == "spark" else []
            reason = UNSUPPORTED.get((case.file, case.title))
            if reason:
                marks.append(pytest.mark.xfail(reason=reason, strict=True))
            params.append(pytest.param(case, id=f"{engine}:{case.id}", marks=marks))
    return params


@pytest.mark.parametrize("case", _params("duckdb"))
def test_suite_duckdb(case: Case) -> None:
    passed, reason = duckdb_results(case.file)[case.title]
    assert passed, reason


@pytest.mark.parametrize("case", _params("spark"))
def test_suite_spark(case: Case) -> None:
    passed, reason = spark_results(case.file)[case.title]
    assert passed, reason


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def test_report(engine: str, request: pytest.FixtureRequest) -> None:
    """Writes test_report.json for the engine; every test of a supported feature passes."""
    results = {
        file: [(title, *outcome) for title, outcome in ENGINES[engine](file).items()] for file in SUITE
    }
    passed = write_report(results, REPORTS_DIR / engine / "test_report.json")
    line = f"SQL on FHIR v2 suite on {engine}: {passed} of {TOTAL} tests pass"
    reporter = request.config.pluginmanager.getplugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(line)
    print(line)
    failing = [
        f"{file}::{title}: {reason}"
        for file, tests in results.items()
        for title, ok, reason in tests
        if not ok and (file, title) not in UNSUPPORTED
    ]
    assert not failing, failing
    assert passed == TOTAL - len(UNSUPPORTED)
