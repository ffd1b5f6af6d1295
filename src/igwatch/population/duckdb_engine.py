"""The embedded engine: DuckDB runs the igwatch ViewDefinitions and the relevance filter, then the
screened patients' rows stream out in Arrow batches ordered by patient and are assessed in
Python (optionally by a pool of worker processes). Memory is bounded by DuckDB's own limit plus
one batch, not by the cohort.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from igwatch.errors import InputRefused
from igwatch.population import extract
from igwatch.population.assessor import Assessor, group_rows
from igwatch.population.export import Export, locate_bad_line
from igwatch.population.progress import Steps
from igwatch.population.result import EngineOutput
from igwatch.population.results_cache import ResultCache, settings_key
from igwatch.population.sof.duckdb_engine import DuckDBViewRunner

BATCH_ROWS = 50_000
CHUNK_PATIENTS = 200
AUTO_POOL_PATIENTS = 2_000
MEMORY_LIMIT = "2GB"
ORDER = "patient, resource_type, id, element, item, coding_item"


def _sql_list(paths: list[Path]) -> str:
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"


def _cache_manifest(cache: Path) -> dict[str, Any]:
    try:
        data = json.loads((cache / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def view_key(resource_type: str) -> str:
    """Changes when the view definition or the prefilter (value sets) change, so a cache built
    by other views or value sets is not reused."""
    vocab = extract.vocabulary()
    return json.dumps(
        [extract.load_view(resource_type), extract.prefilter_regex(resource_type, vocab)], sort_keys=True
    )


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def extract_views(
    con: duckdb.DuckDBPyConnection, export: Export, steps: Steps, cache: Path | None
) -> frozenset[str]:
    """Create one table per view (``igw_v_*``) from the export, or from the Parquet cache."""
    runner = DuckDBViewRunner(con)
    vocab = extract.vocabulary()
    manifest = _cache_manifest(cache) if cache is not None else {}
    entries: dict[str, Any] = dict(manifest.get("views", {})) if manifest else {}
    present: set[str] = set()
    types = [t for t in extract.VIEW_FILES if export.of(t)]
    total = sum(p.stat().st_size for t in types for p in export.of(t))
    with steps.step("extract (views)", total=total, unit="bytes") as advance:
        for rtype in types:
            paths = export.of(rtype)
            size = sum(p.stat().st_size for p in paths)
            table = extract.table_name(rtype)
            signature = export.signature(rtype)
            entry = entries.get(rtype)
            parquet = cache / f"{extract.VIEW_FILES[rtype][1]}.parquet" if cache is not None else None
            if (
                parquet is not None
                and parquet.exists()
                and isinstance(entry, dict)
                and entry.get("signature") == signature
                and entry.get("view") == view_key(rtype)
            ):
                con.execute(
                    f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT * FROM read_parquet({_quote(str(parquet))})"
                )
            else:
                try:
                    _extract_one(con, runner, rtype, paths, vocab, parquet, table)
                except duckdb.Error as exc:
                    problem = locate_bad_line(paths)
                    raise InputRefused(problem or f"{paths[0].name}: cannot be read ({exc})") from None
                if parquet is not None:
                    entries[rtype] = {"signature": signature, "view": view_key(rtype)}
            present.add(rtype)
            advance(size)
    if cache is not None:
        (cache / "manifest.json").write_text(json.dumps({"views": entries}, indent=2), encoding="utf-8")
    return frozenset(present)


def _extract_one(
    con: duckdb.DuckDBPyConnection,
    runner: DuckDBViewRunner,
    rtype: str,
    paths: list[Path],
    vocab: extract.Vocabulary,
    parquet: Path | None,
    table: str,
) -> None:
    """Run one resource type's view over its files (prefiltered) into a table or a Parquet file."""
    pattern = extract.prefilter_regex(rtype, vocab)
    where = f" WHERE regexp_matches(json::VARCHAR, {_quote(pattern)})" if pattern else ""
    source = con.sql(
        f"SELECT json AS resource FROM read_ndjson_objects({_sql_list(paths)}, compression = 'auto_detect'){where}"
    )
    relation = runner.run(extract.load_view(rtype), source)
    if parquet is not None:
        # COPY streams to the file; relation.write_parquet can hold the whole result in memory
        con.execute(f"COPY ({relation.sql_query()}) TO {_quote(str(parquet))} (FORMAT parquet)")
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT * FROM read_parquet({_quote(str(parquet))})"
        )
    else:
        con.execute(f"CREATE OR REPLACE TABLE {table} AS {relation.sql_query()}")


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(con.sql(sql).fetchall()[0][0])


def _batches(reader: Any) -> Iterator[list[dict[str, Any]]]:
    for batch in reader:
        yield batch.to_pylist()


def run(
    export: Export, assessor: Assessor, steps: Steps, cache: Path | None, workers: int = 0
) -> EngineOutput:
    """Screen the export with DuckDB; returns every assessed patient's worklist row. ``workers``:
    processes assessing patients (0: two when at least 2,000 patients are screened, else one)."""
    scratch = Path(tempfile.mkdtemp(prefix="igwatch-screen-"))
    # A database file and a memory limit: DuckDB spills its tables and sorts to disk instead of
    # growing with the cohort.
    con = duckdb.connect(str(scratch / "screen.duckdb"))
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.execute(f"SET temp_directory = {_quote(str(scratch / 'spill'))}")
    con.execute("SET preserve_insertion_order = false")  # every read that needs an order sorts
    try:
        if cache is not None:
            cache.mkdir(parents=True, exist_ok=True)
        present = extract_views(con, export, steps, cache)
        plan = extract.filter_plan(extract.DUCKDB, extract.vocabulary(), present)
        with steps.step("filter (relevant records)", total=len(plan.statements)) as advance:
            for name, select in plan.statements:
                con.execute(f"CREATE OR REPLACE TABLE {name} AS {select}")
                advance(1)
        patients_read = (
            _count(con, f"SELECT count(DISTINCT id) FROM {extract.table_name('Patient')}")
            if "Patient" in present
            else 0
        )
        screened = _count(con, "SELECT count(*) FROM igw_screened")
        rows: list[dict[str, Any]] = []
        results = (
            ResultCache.open(cache, settings_key(assessor.as_of, assessor.today, assessor.profile))
            if cache is not None
            else None
        )
        if plan.kept:
            union = " UNION ALL BY NAME ".join(f"({part})" for part in plan.kept)
            con.execute(f"CREATE OR REPLACE TABLE igw_kept AS {union}")
            changed = "TRUE"
            digest_of: dict[str, str] = {}
            if results is not None:
                # A digest per patient, in SQL, so unchanged patients never leave DuckDB. It is a
                # digest of the multiset of rows (the rows are sorted again before use), built
                # from order-free aggregates so it streams and spills like any GROUP BY.
                con.execute(
                    "CREATE OR REPLACE TABLE igw_digest AS SELECT patient, md5(concat_ws(':', "
                    "count(*), sum(hash(j)), bit_xor(hash(j || '#')), sum(hash('#' || j)))) AS digest "
                    "FROM (SELECT patient, to_json(k)::VARCHAR AS j FROM igw_kept k) GROUP BY patient"
                )
                digests = con.sql("SELECT patient, digest FROM igw_digest").fetchall()
                unchanged: set[str] = set()
                for patient, digest in digests:
                    found, row = results.get(patient, digest)
                    if found:
                        results.put(patient, digest, row)
                        unchanged.add(patient)
                        if row is not None:
                            rows.append(row)
                con.register("igw_unchanged", pa.table({"patient": pa.array(sorted(unchanged), pa.string())}))
                changed = "patient NOT IN (SELECT patient FROM igw_unchanged)"
                digest_of = dict(digests)
            reader = con.sql(f"SELECT * FROM igw_kept WHERE {changed} ORDER BY {ORDER}").to_arrow_reader(
                BATCH_ROWS
            )
            with steps.step("assess (per patient)", total=screened, unit="patients") as advance:
                if results is not None:
                    advance(results.hits)
                groups = group_rows(_batches(reader))
                if workers <= 0:  # auto: a pool pays for its start-up only on larger cohorts
                    workers = (
                        min(2, os.cpu_count() or 1)
                        if screened - (results.hits if results else 0) >= AUTO_POOL_PATIENTS
                        else 1
                    )
                assessed = (
                    _serial(groups, assessor, advance)
                    if workers <= 1
                    else _pooled(groups, assessor, workers, advance)
                )
                for patient, row in assessed:
                    if results is not None:
                        results.put(patient, digest_of[patient], row)
                    if row is not None:
                        rows.append(row)
        if results is not None:
            results.save()
        return EngineOutput(rows=rows, patients_read=patients_read, patients_screened=screened)
    finally:
        con.close()
        shutil.rmtree(scratch, ignore_errors=True)


Group = tuple[str, list[dict[str, Any]]]
Assessed = tuple[str, dict[str, Any] | None]


def _serial(groups: Iterator[Group], assessor: Assessor, advance: Any) -> Iterator[Assessed]:
    for patient, patient_rows in groups:
        yield patient, assessor(patient, patient_rows)
        advance(1)


def _pooled(groups: Iterator[Group], assessor: Assessor, workers: int, advance: Any) -> Iterator[Assessed]:
    """Assess chunks of patients in worker processes, keeping at most ``2 × workers`` chunks in
    flight so the stream, not the cohort, sets the memory."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        in_flight: list[tuple[Future[list[dict[str, Any] | None]], list[str]]] = []

        def drain(limit: int) -> Iterator[Assessed]:
            while len(in_flight) > limit:
                future, patients = in_flight.pop(0)
                yield from zip(patients, future.result(), strict=True)
                advance(len(patients))

        chunk: list[Group] = []
        for group in groups:
            chunk.append(group)
            if len(chunk) >= CHUNK_PATIENTS:
                in_flight.append((pool.submit(assessor.many, chunk), [pid for pid, _ in chunk]))
                chunk = []
                yield from drain(2 * workers)
        if chunk:
            in_flight.append((pool.submit(assessor.many, chunk), [pid for pid, _ in chunk]))
        yield from drain(0)
