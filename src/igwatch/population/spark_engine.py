"""The distributed engine: Spark SQL runs the same igwatch ViewDefinitions and the same relevance
filter, then ``groupBy(patient).applyInArrow`` runs ``assess`` on the executors, so no patient
data is collected to the driver. Spark writes the per-patient results as Parquet; the driver reads
back only those results (one row per screened patient) to write the worklist CSV and the summary.

``--spark-master`` picks the cluster (default ``local[*]``). Locally the driver binds to
127.0.0.1 and the UI is off.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from igwatch.errors import InputRefused
from igwatch.population import extract
from igwatch.population.assessor import Assessor
from igwatch.population.export import Export, locate_bad_line
from igwatch.population.progress import Steps
from igwatch.population.result import EngineOutput
from igwatch.population.worklist import WORKLIST_SCHEMA

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_SORT = ("resource_type", "id", "element", "item", "coding_item")


def session(master: str | None) -> SparkSession:
    """A Spark session for the screen (reused if one is already active)."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(master or "local[*]")
        .appName("igwatch-screen")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.showConsoleProgress", "false")
    )
    if master is None or master.startswith("local"):
        builder = builder.config("spark.driver.host", "127.0.0.1").config(
            "spark.driver.bindAddress", "127.0.0.1"
        )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _sort_key(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple((row.get(k) is None, row.get(k) if row.get(k) is not None else 0) for k in _SORT)


def _assess_groups(assessor: Assessor) -> Any:
    """The function ``applyInArrow`` runs per patient group, on the executors."""

    def run(table: pa.Table) -> pa.Table:
        rows = table.to_pylist()
        rows.sort(key=_sort_key)
        patient = rows[0]["patient"] if rows else ""
        result = assessor(patient, rows) if rows else None
        if result is None:
            return WORKLIST_SCHEMA.empty_table()
        return pa.Table.from_pylist([result], schema=WORKLIST_SCHEMA)

    return run


def _spark_schema() -> str:
    kinds = {
        pa.string(): "string",
        pa.bool_(): "boolean",
        pa.int32(): "int",
        pa.float64(): "double",
        pa.date32(): "date",
    }
    return ", ".join(f"`{f.name}` {kinds[f.type]}" for f in WORKLIST_SCHEMA)


def _check_lines(spark: SparkSession, paths: list[Path]) -> None:
    """Refuse the input when a line is not a JSON resource (same policy as the DuckDB engine);
    one pass over every file about to be extracted."""
    if not paths:
        return
    frame = spark.read.text([str(p) for p in paths])
    bad = (
        frame.where("trim(value) != '' AND get_json_object(value, '$.resourceType') IS NULL").limit(1).count()
    )
    if bad:
        problem = locate_bad_line(paths)
        raise InputRefused(problem or f"{paths[0].name}: a line is not a JSON FHIR resource")


def extract_views(spark: SparkSession, export: Export, steps: Steps, cache: Path) -> frozenset[str]:
    """Write each view's output as Parquet under ``cache`` (reused while its files are unchanged)
    and register it as a temporary view ``igw_v_*``."""
    from igwatch.population.duckdb_engine import view_key
    from igwatch.population.sof.spark_engine import SparkViewRunner

    runner = SparkViewRunner(spark)
    vocab = extract.vocabulary()
    manifest_path = cache / "manifest-spark.json"
    try:
        entries: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8")).get("views", {})
    except (OSError, ValueError, AttributeError):
        entries = {}
    present: set[str] = set()
    types = [t for t in extract.VIEW_FILES if export.of(t)]

    def fresh(rtype: str) -> bool:
        target = cache / f"{extract.VIEW_FILES[rtype][1]}.spark.parquet"
        entry = entries.get(rtype)
        return (
            target.exists()
            and isinstance(entry, dict)
            and entry.get("signature") == export.signature(rtype)
            and entry.get("view") == view_key(rtype)
        )

    with steps.step("extract (views, Spark)", total=len(types) + 1) as advance:
        _check_lines(spark, [p for t in types if not fresh(t) for p in export.of(t)])
        advance(1)
        for rtype in types:
            target = cache / f"{extract.VIEW_FILES[rtype][1]}.spark.parquet"
            if not fresh(rtype):
                text = spark.read.text([str(p) for p in export.of(rtype)])
                pattern = extract.prefilter_regex(rtype, vocab)
                if pattern:
                    text = text.where(f"value RLIKE {_quote(pattern)}")
                runner.run(extract.load_view(rtype), text).write.mode("overwrite").parquet(str(target))
                entries[rtype] = {"signature": export.signature(rtype), "view": view_key(rtype)}
            spark.read.parquet(str(target)).createOrReplaceTempView(extract.table_name(rtype))
            present.add(rtype)
            advance(1)
    manifest_path.write_text(json.dumps({"views": entries}, indent=2), encoding="utf-8")
    return frozenset(present)


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def run(
    export: Export, assessor: Assessor, steps: Steps, cache: Path | None, master: str | None = None
) -> EngineOutput:
    """Screen the export with Spark; returns every assessed patient's worklist row (read back
    from the Parquet results Spark wrote)."""
    spark = session(master)
    scratch = Path(tempfile.mkdtemp(prefix="igwatch-spark-"))
    try:
        views_dir = cache if cache is not None else scratch / "views"
        views_dir.mkdir(parents=True, exist_ok=True)
        present = extract_views(spark, export, steps, views_dir)
        plan = extract.filter_plan(extract.SPARK, extract.vocabulary(), present)
        with steps.step("filter (relevant records, Spark)", total=len(plan.statements)) as advance:
            for name, select in plan.statements:
                # small tables (ids and keys), each used by several later statements: cached
                spark.sql(select).cache().createOrReplaceTempView(name)
                advance(1)
        patients_read = (
            int(spark.sql(f"SELECT count(DISTINCT id) AS n FROM {extract.table_name('Patient')}").first()[0])  # type: ignore[index]
            if "Patient" in present
            else 0
        )
        screened = int(spark.sql("SELECT count(*) AS n FROM igw_screened").first()[0])  # type: ignore[index]
        rows: list[dict[str, Any]] = []
        if plan.kept and screened:
            kept: DataFrame | None = None
            for part in plan.kept:
                frame = spark.sql(part)
                kept = frame if kept is None else kept.unionByName(frame, allowMissingColumns=True)
            assert kept is not None
            results = scratch / "results.parquet"
            with steps.step(
                "assess (per patient, Spark executors)", total=screened, unit="patients"
            ) as advance:
                kept.groupBy("patient").applyInArrow(_assess_groups(assessor), _spark_schema()).write.mode(
                    "overwrite"
                ).parquet(str(results))
                advance(screened)
            rows = list(_read_results(results))
        return EngineOutput(rows=rows, patients_read=patients_read, patients_screened=screened)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _read_results(path: Path) -> Iterator[dict[str, Any]]:
    table = pq.read_table(path, schema=WORKLIST_SCHEMA)
    for batch in table.to_batches(max_chunksize=10_000):
        yield from batch.to_pylist()
