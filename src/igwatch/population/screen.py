"""``igwatch screen``: a bulk FHIR export in, a worklist and a summary out (contract §5).

Steps: find the NDJSON files; run the igwatch ViewDefinitions on them (DuckDB embedded, or Spark
SQL); keep only the records that can matter (:mod:`igwatch.population.extract`); per patient,
rebuild the resources ingest reads and run the same ``assess`` as ``igwatch assess``
(:mod:`igwatch.population.rows`); write ``worklist.parquet``, ``worklist.csv``, ``summary.json``
and ``summary.md``. ``--since CACHE_DIR`` keeps each view's output as Parquet, reused while the
files of its resource type are unchanged, so a re-screen skips the JSON scan; the DuckDB engine
also keeps each patient's result with a digest of their rows and reuses it while the rows and the
settings are unchanged (:mod:`igwatch.population.results_cache`).

Input policy (as ``igwatch assess``): a missing directory, a directory with no NDJSON, or a line
that is not a JSON resource is refused (exit 2) naming the file and the line; nothing is written.
Records that are readable but unusable (no unit, no date, …) become data issues of their patient.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from igwatch.errors import InputRefused
from igwatch.knowledge.profile import Profile
from igwatch.population.assessor import Assessor
from igwatch.population.export import find_export
from igwatch.population.extract import VIEW_FILES
from igwatch.population.progress import Steps
from igwatch.population.summary import SummaryCounts, write_summary
from igwatch.population.worklist import WorklistWriter, listed

Engine = Literal["duckdb", "spark"]


@dataclass
class ScreenOptions:
    as_of: date
    profile: Profile
    out_dir: Path
    engine: Engine = "duckdb"
    cache_dir: Path | None = None
    spark_master: str | None = None
    spark_conf: dict[str, str] = field(default_factory=dict)  # Spark settings, over igwatch's
    workers: int = 0  # DuckDB: assessing processes; 0 = automatic
    today: date | None = None
    show_progress: bool | None = None
    include_deceased: bool = False  # list deceased patients too (never in scope)


@dataclass
class ScreenReport:
    summary: dict[str, Any]
    files: list[Path] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def require_spark() -> None:
    """Refuse ``--engine spark`` in one line when its parts are missing (not an internal error)."""
    try:
        import pyspark  # noqa: F401  (imported to prove it imports, not only that it is there)
    except ImportError:
        raise InputRefused(
            "--engine spark needs PySpark, which this installation lacks: install igwatch[spark] "
            "(pip install 'igwatch[spark]'), or use the default engine"
        ) from None
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        raise InputRefused(
            "--engine spark needs a Java runtime (JDK 17 or 21) and none was found: install one "
            "(Debian: apt-get install default-jdk-headless) or set JAVA_HOME"
        )


def screen(export_dir: Path, options: ScreenOptions) -> ScreenReport:
    """Screen a bulk export; writes the worklist and summary into ``options.out_dir``.

    Each assessed patient's row is counted into the summary and, when listed, streamed to the
    worklist as soon as the engine hands it over, so memory does not grow with the cohort.
    """
    assessor = Assessor(options.as_of, options.profile, options.today)
    scratch = Path(tempfile.mkdtemp(prefix="igwatch-worklist-"))
    try:
        counts = SummaryCounts()
        worklist = WorklistWriter(options.out_dir, scratch)

        def emit(row: dict[str, Any]) -> None:
            counts.add(row)
            if listed(row, options.include_deceased):
                worklist.add(row)

        with Steps(options.show_progress) as steps:
            with steps.step("scan (find NDJSON files)", total=1) as advance:
                export = find_export(export_dir, set(VIEW_FILES))
                advance(1)
            if options.engine == "spark":
                require_spark()
                from igwatch.population import spark_executor

                output = spark_executor.run(
                    export, assessor, steps, options.cache_dir, emit, options.spark_master, options.spark_conf
                )
            else:
                from igwatch.population import duckdb_executor

                output = duckdb_executor.run(
                    export, assessor, steps, options.cache_dir, emit, options.workers
                )
            with steps.step("write (worklist and summary)", total=2) as advance:
                files = list(worklist.close())
                advance(1)
                summary = counts.summary(
                    patients_read=output.patients_read,
                    patients_screened=output.patients_screened,
                    profile=options.profile,
                    as_of=options.as_of.isoformat(),
                    engine=options.engine,
                )
                summary["timings_s"] = dict(steps.timings)
                summary["files_skipped"] = list(export.notes)  # nothing left out silently
                files.extend(write_summary(summary, options.out_dir))
                advance(1)
            timings = dict(steps.timings)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    summary["timings_s"] = timings
    write_summary(summary, options.out_dir)
    return ScreenReport(summary=summary, files=files, timings=timings)
