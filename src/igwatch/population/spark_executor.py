"""The screen executed on Spark: Spark SQL runs the same igwatch ViewDefinitions and the same relevance
filter, then ``mapInArrow`` runs ``assess`` on the executors over partitions of whole patients
(rows ordered by patient), so no patient data is collected to the driver. Spark writes the
per-patient results as Parquet; the driver reads back only those results (one row per screened
patient) to write the worklist CSV and the summary.

``--spark-master`` picks the cluster (default ``local[*]``). Locally the driver binds to
127.0.0.1 and the UI is off.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from igwatch.errors import InputRefused
from igwatch.fhir.reader import first_bad_line
from igwatch.population import extract
from igwatch.population.assessor import ROW_ORDER, Assessor, whole_patients
from igwatch.population.export import Export
from igwatch.population.progress import Steps
from igwatch.population.result import EngineOutput
from igwatch.population.worklist import WORKLIST_SCHEMA

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


#: The driver's JVM heap (in local mode the driver is also the executor).
DRIVER_MEMORY = "1g"


def session(master: str | None, settings: Mapping[str, str] | None = None) -> SparkSession:
    """A Spark session for the screen (reused if one is already active); ``settings`` (a site's
    ``--spark-conf``) override igwatch's own."""
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
        # A fixed heap instead of the JVM's default quarter of the machine: the screen caches
        # only small tables and Spark spills its sorts, so the heap need not grow with the cohort.
        .config("spark.driver.memory", DRIVER_MEMORY)
    )
    if master is None or master.startswith("local"):
        builder = builder.config("spark.driver.host", "127.0.0.1").config(
            "spark.driver.bindAddress", "127.0.0.1"
        )
    for key, value in (settings or {}).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _assess_partitions(assessor: Assessor) -> Any:
    """The function ``mapInArrow`` runs on each partition, on the executors. A partition holds
    whole patients with their rows in :data:`ROW_ORDER`, so each batch's complete patients are
    assessed together as one Arrow table, as the DuckDB engine does: handing Python one group
    per patient (applyInArrow) cost several times the assessment itself."""

    def assessed(table: pa.Table) -> Iterator[pa.RecordBatch]:
        rows = [row for _, row in assessor.table(table, ordered=True) if row is not None]
        if rows:
            yield from pa.Table.from_pylist(rows, schema=WORKLIST_SCHEMA).to_batches()

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for table, _ in whole_patients(batches):
            yield from assessed(table)

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
        problem = first_bad_line(paths)
        raise InputRefused(problem or f"{paths[0].name}: a line is not a JSON FHIR resource")


def extract_views(spark: SparkSession, export: Export, steps: Steps, cache: Path) -> frozenset[str]:
    """Write each view's output as Parquet under ``cache`` (reused while its files are unchanged)
    and register it as a temporary view ``igw_v_*``."""
    from igwatch.population.duckdb_executor import view_key
    from igwatch.population.sof.spark_views import SparkViewRunner

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
                lines = spark.read.text([str(p) for p in export.of(rtype)])
                pattern = extract.prefilter_regex(rtype, vocab)
                text = prefiltered(lines, pattern) if pattern else lines
                # shapes sampled from the plain lines: a sample behind the prefilter runs it again
                rows = runner.run(extract.load_view(rtype), text, sample=lines)
                rows.write.mode("overwrite").parquet(str(target))
                entries[rtype] = {"signature": export.signature(rtype), "view": view_key(rtype)}
            spark.read.parquet(str(target)).createOrReplaceTempView(extract.table_name(rtype))
            present.add(rtype)
            advance(1)
    manifest_path.write_text(json.dumps({"views": entries}, indent=2), encoding="utf-8")
    return frozenset(present)


def prefiltered(text: DataFrame, pattern: str) -> DataFrame:
    """The lines of ``text`` (one column of JSON lines) that the prefilter regex matches.

    Matched by RE2 in Arrow batches on the executors (pyarrow), the regex engine DuckDB uses too:
    linear in the line's length. Java's backtracking regex (RLIKE) tries each of the pattern's
    hundreds of alternatives at every position of every line, over ten times slower.
    """

    def keep(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield batch.filter(pc.match_substring_regex(batch.column(0), pattern))

    return text.mapInArrow(keep, text.schema)


def run(
    export: Export,
    assessor: Assessor,
    steps: Steps,
    cache: Path | None,
    emit: Callable[[dict[str, Any]], None],
    master: str | None = None,
    settings: Mapping[str, str] | None = None,
) -> EngineOutput:
    """Screen the export with Spark. The executors write every assessed patient's worklist row
    as Parquet; the driver streams them back to ``emit`` batch by batch."""
    spark = session(master, settings)
    # The executors write the assessed rows here and the driver reads them back: inside the
    # --since directory when there is one, so that on a cluster it can be storage all of them see.
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="igwatch-spark-", dir=cache))
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
                from pyspark.sql import functions as F

                ordered = kept.repartition("patient").sortWithinPartitions(
                    *(F.col(name).asc_nulls_last() for name in ROW_ORDER)
                )
                ordered.mapInArrow(_assess_partitions(assessor), _spark_schema()).write.mode(
                    "overwrite"
                ).parquet(str(results))
                advance(screened)
            for row in _read_results(results):
                emit(row)
        return EngineOutput(patients_read=patients_read, patients_screened=screened)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _read_results(path: Path) -> Iterator[dict[str, Any]]:
    import pyarrow.dataset as ds

    for batch in ds.dataset(path, format="parquet", schema=WORKLIST_SCHEMA).to_batches(batch_size=10_000):
        yield from batch.to_pylist()
